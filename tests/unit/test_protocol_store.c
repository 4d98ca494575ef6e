/* Unit tests for protocol/store.c and store_mem.c: the shared storage contract on
 * the in-memory store, the batch container on its own, and memory-store
 * accounting, determinism and scale. */
#include "harness.h"
#include "store.h"
#include "store_contract.h"

static int open_mem(void *ctx, struct store **out) {
  (void)ctx;
  return store_mem_open(out);
}

static void test_batch_ops(void) {
  struct store_batch *b = store_batch_new();
  CHECK(b != NULL);
  struct store_op op;
  int rc = store_batch_put(b, "key", 3, "value", 5);
  rc |= store_batch_del(b, "gone", 4);
  rc |= store_batch_put(b, NULL, 0, NULL, 0);
  size_t n = store_batch_count(b);
  store_batch_op(b, 0, &op);
  int ok0 = !op.is_delete && op.kn == 3 && !memcmp(op.k, "key", 3) && op.vn == 5 &&
            !memcmp(op.v, "value", 5);
  store_batch_op(b, 1, &op);
  int ok1 = op.is_delete && op.kn == 4 && !memcmp(op.k, "gone", 4) && op.v == NULL;
  store_batch_op(b, 2, &op);
  int ok2 = !op.is_delete && op.kn == 0 && op.vn == 0 && op.k != NULL && op.v != NULL;
  store_batch_clear(b);
  size_t n_after = store_batch_count(b);
  store_batch_free(b);
  CHECK_EQ(rc, 0);
  CHECK_EQ(n, 3);
  CHECK(ok0);
  CHECK(ok1);
  CHECK(ok2);
  CHECK_EQ(n_after, 0);
  store_batch_free(NULL);
}

/* Many operations: data moves on growth, offsets must stay right. */
static void test_batch_growth(void) {
  struct store_batch *b = store_batch_new();
  CHECK(b != NULL);
  int rc = 0, bad = 0;
  uint8_t v[9];
  for (uint32_t i = 0; i < 5000 && rc == 0; i++) {
    memset(v, (int)(i & 0xff), sizeof v);
    rc = store_batch_put(b, &i, sizeof i, v, i % 9);
  }
  for (uint32_t i = 0; i < 5000 && rc == 0; i++) {
    struct store_op op;
    uint32_t k;
    store_batch_op(b, i, &op);
    memcpy(&k, op.k, sizeof k);
    memset(v, (int)(i & 0xff), sizeof v);
    if (op.kn != 4 || k != i || op.vn != i % 9 || memcmp(op.v, v, op.vn)) bad++;
  }
  store_batch_free(b);
  CHECK_EQ(rc, 0);
  CHECK_EQ(bad, 0);
}

/* STORE_BATCH_BYTES_MAX: 7 values of 8 MiB fit in 64 MiB, the 8th does not. */
static void test_batch_bytes_max(void) {
  uint8_t *big = calloc(1, STORE_VALUE_BYTES_MAX);
  struct store_batch *b = store_batch_new();
  CHECK(big != NULL && b != NULL);
  int rc = 0;
  for (int i = 0; i < 7 && rc == 0; i++) rc = store_batch_put(b, "k", 1, big, STORE_VALUE_BYTES_MAX);
  int rc8 = store_batch_put(b, "k", 1, big, STORE_VALUE_BYTES_MAX);
  int rc_small = store_batch_put(b, "k", 1, big, 1000);
  size_t n = store_batch_count(b);
  store_batch_free(b);
  free(big);
  CHECK_EQ(rc, 0);
  CHECK_EQ(rc8, MOMEDO_E_TOOBIG);
  CHECK_EQ(rc_small, 0); /* still room for small ones */
  CHECK_EQ(n, 8);
}

/* Bytes and count return to empty after deletes; overwrites do not leak. */
static void test_mem_accounting(void) {
  struct store *s = NULL;
  CHECK_EQ(store_mem_open(&s), 0);
  size_t empty = store_mem_bytes(s);
  int rc = 0;
  for (uint32_t i = 0; i < 1000 && rc == 0; i++) rc = store_put1(s, &i, sizeof i, "abcdefgh", 8);
  size_t full = store_mem_bytes(s), count = store_mem_count(s);
  for (uint32_t i = 0; i < 1000 && rc == 0; i++) rc = store_put1(s, &i, sizeof i, "ABCDEFGH", 8);
  size_t count2 = store_mem_count(s);
  for (uint32_t i = 0; i < 1000 && rc == 0; i++) rc = store_del1(s, &i, sizeof i);
  size_t after = store_mem_bytes(s), count3 = store_mem_count(s);
  store_close(s);
  CHECK_EQ(rc, 0);
  CHECK(empty > 0);
  CHECK(full >= empty + 1000 * (4 + 8 + sizeof(void *)));
  CHECK_EQ(count, 1000);
  CHECK_EQ(count2, 1000);
  CHECK_EQ(after, empty);
  CHECK_EQ(count3, 0);
}

/* Same operations, same layout: the simulator's replays depend on it. */
static void test_mem_deterministic(void) {
  struct store *a = NULL, *b = NULL;
  CHECK_EQ(store_mem_open(&a), 0);
  CHECK_EQ(store_mem_open(&b), 0);
  int rc = 0;
  for (uint32_t i = 0; i < 3000 && rc == 0; i++) {
    uint32_t k = i * 2654435761u;
    rc = store_put1(a, &k, sizeof k, &i, i % 5);
    if (rc == 0) rc = store_put1(b, &k, sizeof k, &i, i % 5);
  }
  size_t ba = store_mem_bytes(a), bb = store_mem_bytes(b);
  store_close(a);
  store_close(b);
  CHECK_EQ(rc, 0);
  CHECK_EQ(ba, bb);
}

struct order_check {
  uint32_t next;
  int bad;
};

static int check_be_order(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct order_check *c = ctx;
  uint32_t got = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
  if (kn != 4 || vn != 4 || got != c->next || memcmp(v, k, 4)) c->bad++;
  c->next++;
  return 0;
}

/* 200k keys inserted in a scrambled order come back sorted. */
static void test_mem_scale(void) {
  enum { N = 200000 };
  struct store *s = NULL;
  CHECK_EQ(store_mem_open(&s), 0);
  int rc = 0;
  for (uint32_t i = 0; i < N && rc == 0; i++) {
    uint32_t x = (uint32_t)(((uint64_t)i * 48271u) % N); /* a permutation: N and 48271 coprime */
    uint8_t k[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};
    rc = store_put1(s, k, 4, k, 4);
  }
  size_t count = store_mem_count(s);
  struct order_check c = {0};
  int rc_it = store_iter(s, NULL, 0, NULL, 0, check_be_order, &c);
  store_close(s);
  CHECK_EQ(rc, 0);
  CHECK_EQ(count, N);
  CHECK_EQ(rc_it, 0);
  CHECK_EQ(c.next, N);
  CHECK_EQ(c.bad, 0);
}

int main(void) {
  store_contract_run(open_mem, NULL);
  RUN(test_batch_ops);
  RUN(test_batch_growth);
  RUN(test_batch_bytes_max);
  RUN(test_mem_accounting);
  RUN(test_mem_deterministic);
  RUN(test_mem_scale);
  TEST_MAIN_END();
}
