/* tests/unit/test_sim_store.c — the simulator's store (simulations/sim_store.c): the
 * storage contract every store passes, and its ways of keeping values small, each
 * of which must give back the exact bytes: a shared object tail, a head kept as a
 * diff against the first head stored before the same object, a value that is an
 * object's ID; plus the slab's reuse of freed space. */
#include "harness.h"
#include "sim_int.h"
#include "store_contract.h"

static struct sim empty_sim; /* no objects: every value is stored as it is */

static int open_sim(void *ctx, struct store **out) {
  (void)ctx;
  return sim_store_open(&empty_sim, out);
}

#define NOBJ 3
#define OBJ_BYTES 300
#define HEAD_BYTES 216

static void expect_value(struct store *s, const uint8_t *k, size_t kn, const uint8_t *v,
                         size_t vn) {
  void *got = NULL;
  size_t gn = 0;
  CHECK_EQ(store_get(s, k, kn, &got, &gn), 0);
  CHECK_EQ(gn, vn);
  CHECK(gn == vn && memcmp(got, v, vn) == 0);
  free(got);
}

/* Three "signed objects"; values = a 216-byte head + an object's bytes (as the
 * engine's records are), and 32-byte values equal to an object's ID. */
static void test_encodings(void) {
  struct sim sim;
  memset(&sim, 0, sizeof sim);
  CHECK_EQ(sim__objs_init(&sim, NOBJ, 1), 0);
  for (uint32_t o = 0; o < NOBJ; o++) {
    struct sim_obj *ob = &sim.objs[o];
    ob->bytes = malloc(OBJ_BYTES);
    CHECK(ob->bytes != NULL);
    for (int i = 0; i < OBJ_BYTES; i++) ob->bytes[i] = (uint8_t)(o * 31 + i * 7 + (i >> 3));
    ob->size = OBJ_BYTES;
    ob->info_ok = 1;
    for (int i = 0; i < OBJ_ID_LEN; i++) ob->info.id[i] = (uint8_t)(0xa0 + o * 3 + i);
    sim.nobjs++;
    sim__obj_bytes_known(&sim, o);
    sim__obj_id_known(&sim, o);
  }
  struct store *s[2];
  CHECK_EQ(sim_store_open(&sim, &s[0]), 0);
  CHECK_EQ(sim_store_open(&sim, &s[1]), 0);
  size_t empty = sim_store_bytes(s[0]);
  static uint8_t val[40][HEAD_BYTES + OBJ_BYTES];
  uint8_t key[40][33];
  for (int i = 0; i < 40; i++) {
    uint32_t o = (uint32_t)i % NOBJ;
    key[i][0] = 'o';
    for (int j = 1; j < 33; j++) key[i][j] = (uint8_t)(i * 13 + j);
    /* Heads: equal but for a sequence number (the common case), or for scattered
     * bytes and a long run (i % 5 == 4), or entirely different (i % 7 == 6). */
    for (int j = 0; j < HEAD_BYTES; j++) val[i][j] = (uint8_t)(o + j);
    val[i][9] = (uint8_t)i, val[i][8] = (uint8_t)(i >> 8);
    if (i % 5 == 4) {
      val[i][0] ^= 1, val[i][100] ^= 0x55, val[i][HEAD_BYTES - 1] ^= 0xff;
      memset(val[i] + 120, i, 40);
    }
    if (i % 7 == 6)
      for (int j = 0; j < HEAD_BYTES; j++) val[i][j] = (uint8_t)(i * j + 3);
    memcpy(val[i] + HEAD_BYTES, sim.objs[o].bytes, OBJ_BYTES);
    CHECK_EQ(store_put1(s[i & 1], key[i], 33, val[i], sizeof val[i]), 0);
  }
  uint8_t idk[5] = {'m', 1, 2, 3, 4}, other[32];
  CHECK_EQ(store_put1(s[0], idk, 5, sim.objs[1].info.id, OBJ_ID_LEN), 0);
  memcpy(other, sim.objs[1].info.id, 32);
  other[31] ^= 1; /* not an ID: kept as it is */
  CHECK_EQ(store_put1(s[1], idk, 5, other, 32), 0);
  for (int i = 0; i < 40; i++) expect_value(s[i & 1], key[i], 33, val[i], sizeof val[i]);
  expect_value(s[0], idk, 5, sim.objs[1].info.id, 32);
  expect_value(s[1], idk, 5, other, 32);
  /* A value that only ends like an object: the tail is shared, the rest kept. */
  uint8_t odd[OBJ_BYTES + 7];
  memset(odd, 0x77, 7);
  memcpy(odd + 7, sim.objs[2].bytes, OBJ_BYTES);
  CHECK_EQ(store_put1(s[0], "odd", 3, odd, sizeof odd), 0);
  expect_value(s[0], (const uint8_t *)"odd", 3, odd, sizeof odd);
  /* Sharing: 20 values of 516 bytes (3 of them with a head of their own) and two
   * small ones take less than 150 bytes each, entry and key included. */
  size_t b0 = sim_store_bytes(s[0]);
  CHECK(b0 - empty < 22 * 150);
  /* Freed space is reused: delete and put the same again, no growth. */
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 40; i += 2) CHECK_EQ(store_del1(s[0], key[i], 33), 0);
    for (int i = 0; i < 40; i += 2) CHECK_EQ(store_put1(s[0], key[i], 33, val[i], sizeof val[i]), 0);
  }
  CHECK_EQ(sim_store_bytes(s[0]), b0);
  for (int i = 0; i < 40; i += 2) expect_value(s[0], key[i], 33, val[i], sizeof val[i]);
  store_close(s[0]);
  store_close(s[1]);
  sim__work_free(&sim);
}

struct order_ck {
  uint8_t prev[80];
  size_t prev_n, seen;
  int bad;
};

static int order_cb(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct order_ck *o = ctx;
  size_t n = o->prev_n < kn ? o->prev_n : kn;
  int c = memcmp(o->prev, k, n);
  if (o->seen && (c > 0 || (c == 0 && o->prev_n >= kn))) o->bad++;
  /* every value is its key's length, then the key */
  if (vn != kn + 1 || v[0] != kn || memcmp(v + 1, k, kn) != 0) o->bad++;
  memcpy(o->prev, k, kn);
  o->prev_n = kn;
  o->seen++;
  return 0;
}

/* Keys around the 48 bytes kept in the leaf: equal there and different after, zero
 * bytes at the end, one a prefix of another. Order and values must be exact. */
static void test_long_keys(void) {
  struct store *s;
  CHECK_EQ(sim_store_open(&empty_sim, &s), 0);
  static const size_t lens[] = {15, 16, 17, 47, 48, 49, 50, 64, 70};
  uint8_t k[80], v[81];
  size_t puts = 0;
  for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
    for (int var = 0; var < 4; var++) {
      size_t kn = lens[li];
      memset(k, 'm', kn);
      if (var == 1) k[kn - 1] = 0;             /* trailing zero byte */
      if (var == 2 && kn > 48) k[48] = 'a';     /* differs just past the inline part */
      if (var == 3) k[kn / 2] = 'z';
      v[0] = (uint8_t)kn;
      memcpy(v + 1, k, kn);
      CHECK_EQ(store_put1(s, k, kn, v, kn + 1), 0);
      puts++;
    }
  }
  /* Some variants coincide (e.g. trailing zero vs 'a' at 48 for short keys): count
   * the distinct keys through iteration and check their order and values. */
  struct order_ck o = {{0}, 0, 0, 0};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, order_cb, &o), 0);
  CHECK_EQ(o.bad, 0);
  CHECK(o.seen >= 27 && o.seen <= puts);
  /* A range that starts and ends inside the long keys. */
  memset(k, 'm', 49);
  struct order_ck r = {{0}, 0, 0, 0};
  uint8_t hi[64];
  memset(hi, 'm', 64);
  CHECK_EQ(store_iter(s, k, 49, hi, 64, order_cb, &r), 0);
  CHECK_EQ(r.bad, 0);
  /* 'm' x 49, 'm' x 49 + 0, 'm' x 50 and 'm' x 63 + 0 */
  CHECK_EQ(r.seen, 4);
  store_close(s);
}

int main(void) {
  store_contract_run(open_sim, NULL);
  RUN(test_encodings);
  RUN(test_long_keys);
  TEST_MAIN_END();
}
