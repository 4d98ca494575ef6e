/* tests/unit/store_contract.h — the storage contract every implementation of
 * protocol/store.h must pass: store_contract_run(open, ctx) runs each case on a
 * fresh, empty store from open() and closes it afterwards. Include after
 * harness.h. Knows nothing about any implementation. */
#ifndef MOMEDO_STORE_CONTRACT_H
#define MOMEDO_STORE_CONTRACT_H

#include "harness.h"
#include "rng.h"
#include "store.h"

/* Open a fresh, empty store. 0 or a MOMEDO_E_* code. */
typedef int (*sc_open_fn)(void *ctx, struct store **out);

#define SC_RANDOM_OPS 10000
#define SC_RANDOM_SEED 0x5EED5702EC0DE001ull
#define SC_MODEL_KEYS_MAX 4096
#define SC_MODEL_KEY_MAX 6
#define SC_MODEL_VAL_MAX 64

static long sc_random_step_ = -1; /* last random op started, printed on failure */

/* ---- helpers ---- */

#define SC_PUT(s, k, kn, v, vn) CHECK_EQ(store_put1((s), (k), (kn), (v), (vn)), 0)

/* Expect key k to hold exactly (v, vn). */
#define SC_EXPECT(s, k, kn, val, valn)                                          \
  do {                                                                          \
    void *sc_v_ = NULL;                                                         \
    size_t sc_vn_ = 12345;                                                      \
    CHECK_EQ(store_get((s), (k), (kn), &sc_v_, &sc_vn_), 0);                    \
    CHECK(sc_v_ != NULL);                                                       \
    int sc_ok_ = sc_vn_ == (size_t)(valn) && memcmp(sc_v_, (val), (valn)) == 0; \
    free(sc_v_);                                                                \
    CHECK(sc_ok_);                                                              \
  } while (0)

#define SC_EXPECT_MISSING(s, k, kn)                                             \
  do {                                                                          \
    void *sc_v_ = (void *)&sc_random_step_;                                     \
    size_t sc_vn_ = 777;                                                        \
    CHECK_EQ(store_get((s), (k), (kn), &sc_v_, &sc_vn_), MOMEDO_E_NOTFOUND);    \
    CHECK(sc_v_ == (void *)&sc_random_step_);                                   \
  } while (0)

/* Collects up to SC_SEEN_MAX keys (and value lengths) seen by an iteration. */
#define SC_SEEN_MAX 64
struct sc_seen {
  size_t n;
  uint8_t k[SC_SEEN_MAX][16];
  size_t kn[SC_SEEN_MAX];
  size_t vn[SC_SEEN_MAX];
  size_t stop_after; /* return stop_rc after this many keys; 0 = never */
  int stop_rc;
};

static int sc_collect(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct sc_seen *s = ctx;
  (void)v;
  if (s->n >= SC_SEEN_MAX || kn > sizeof s->k[0]) return -9999;
  memcpy(s->k[s->n], k, kn);
  s->kn[s->n] = kn;
  s->vn[s->n] = vn;
  s->n++;
  if (s->stop_after && s->n == s->stop_after) return s->stop_rc;
  return 0;
}

static int sc_count(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  (void)k, (void)kn, (void)v, (void)vn;
  ++*(size_t *)ctx;
  return 0;
}

/* Keys as (bytes, length) pairs so that embedded NULs are explicit. */
struct sc_key {
  const char *k;
  size_t kn;
};
#define SC_K(lit) {lit, sizeof(lit) - 1}

/* The i-th key seen equals key. */
#define SC_SEEN_IS(seen, i, key)                                                \
  do {                                                                          \
    CHECK_EQ((seen).kn[(i)], (key).kn);                                         \
    CHECK_MEM((seen).k[(i)], (key).k, (key).kn);                                \
  } while (0)

/* ---- cases ---- */

static void sc_get_missing(struct store *s) {
  SC_EXPECT_MISSING(s, "nope", 4);
  SC_EXPECT_MISSING(s, "", 0);
  SC_PUT(s, "nope1", 5, "x", 1);
  SC_EXPECT_MISSING(s, "nope", 4); /* a longer key is not a match */
  SC_EXPECT_MISSING(s, "nope10", 6);
}

static void sc_round_trip(struct store *s) {
  static uint8_t big[4000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + 3);
  SC_PUT(s, "alpha", 5, "one", 3);
  SC_PUT(s, "beta", 4, big, sizeof big); /* past store.c's stack buffer */
  SC_EXPECT(s, "alpha", 5, "one", 3);
  SC_EXPECT(s, "beta", 4, big, sizeof big);
}

static void sc_overwrite(struct store *s) {
  SC_PUT(s, "k", 1, "first value", 11);
  SC_PUT(s, "k", 1, "2nd", 3);
  SC_EXPECT(s, "k", 1, "2nd", 3);
  SC_PUT(s, "k", 1, "a longer third value", 20);
  SC_EXPECT(s, "k", 1, "a longer third value", 20);
  struct sc_seen seen = {0};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_collect, &seen), 0);
  CHECK_EQ(seen.n, 1);
  CHECK_EQ(seen.vn[0], 20);
}

static void sc_delete(struct store *s) {
  SC_PUT(s, "a", 1, "1", 1);
  SC_PUT(s, "b", 1, "2", 1);
  CHECK_EQ(store_del1(s, "a", 1), 0);
  SC_EXPECT_MISSING(s, "a", 1);
  SC_EXPECT(s, "b", 1, "2", 1);
  SC_PUT(s, "a", 1, "3", 1); /* re-create after delete */
  SC_EXPECT(s, "a", 1, "3", 1);
}

static void sc_del_missing(struct store *s) {
  CHECK_EQ(store_del1(s, "ghost", 5), 0);
  struct store_batch *b = store_batch_new();
  CHECK(b != NULL);
  int rc = store_batch_del(b, "ghost2", 6);
  if (rc == 0) rc = store_write(s, b);
  store_batch_free(b);
  CHECK_EQ(rc, 0);
  SC_EXPECT_MISSING(s, "ghost", 5);
}

static void sc_empty_value_and_key(struct store *s) {
  SC_PUT(s, "e", 1, NULL, 0);
  SC_EXPECT(s, "e", 1, "", 0);
  SC_PUT(s, NULL, 0, "empty key", 9);
  SC_EXPECT(s, "", 0, "empty key", 9);
  struct sc_seen seen = {0};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_collect, &seen), 0);
  CHECK_EQ(seen.n, 2);
  CHECK_EQ(seen.kn[0], 0); /* the empty key sorts first */
  CHECK_EQ(seen.vn[0], 9);
  CHECK_EQ(seen.vn[1], 0);
  CHECK_EQ(store_del1(s, "", 0), 0);
  SC_EXPECT_MISSING(s, "", 0);
}

static void sc_binary_keys(struct store *s) {
  static const struct sc_key keys[] = {
      SC_K("\x00"), SC_K("\x00\x00"), SC_K("\xff"), SC_K("\xff\x00"),
      SC_K("\xff\xff"), SC_K("a\x00" "b"), SC_K("a\x00" "c"), SC_K("\x00\xff\x00"),
  };
  size_t n = sizeof keys / sizeof keys[0];
  for (size_t i = 0; i < n; i++) SC_PUT(s, keys[i].k, keys[i].kn, &i, sizeof i);
  for (size_t i = 0; i < n; i++) SC_EXPECT(s, keys[i].k, keys[i].kn, &i, sizeof i);
  SC_EXPECT_MISSING(s, "a", 1);
  SC_EXPECT_MISSING(s, "a\x00", 2);
}

/* Byte order, not strcmp: "a" < "a\0" < "a\0\0" < "a\1" < "aa" < "b" < "\xff". */
static const struct sc_key sc_sorted[] = {
    SC_K(""),     SC_K("\x00"), SC_K("\x00\xff"), SC_K("\x01"),     SC_K("a"),
    SC_K("a\x00"), SC_K("a\x00\x00"), SC_K("a\x01"), SC_K("aa"),    SC_K("b"),
    SC_K("\x7f"), SC_K("\x80"), SC_K("\xff"),     SC_K("\xff\xff"),
};
#define SC_SORTED_N (sizeof sc_sorted / sizeof sc_sorted[0])

static int sc_put_sorted_scrambled(struct store *s) {
  /* 5 is coprime with 14: visits every index once, out of order. */
  for (size_t j = 0; j < SC_SORTED_N; j++) {
    size_t i = (j * 5 + 3) % SC_SORTED_N;
    int rc = store_put1(s, sc_sorted[i].k, sc_sorted[i].kn, "v", 1);
    if (rc) return rc;
  }
  return 0;
}

static void sc_order(struct store *s) {
  CHECK_EQ(sc_put_sorted_scrambled(s), 0);
  struct sc_seen seen = {0};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_collect, &seen), 0);
  CHECK_EQ(seen.n, SC_SORTED_N);
  for (size_t i = 0; i < SC_SORTED_N; i++) SC_SEEN_IS(seen, i, sc_sorted[i]);
}

/* Iterate [lo, hi) and expect exactly sc_sorted[first .. first + n). */
#define SC_RANGE(s, lo, lon, hi, hin, first, count)                             \
  do {                                                                          \
    struct sc_seen sc_r_ = {0};                                                 \
    size_t sc_cnt_ = (count);                                                   \
    CHECK_EQ(store_iter((s), (lo), (lon), (hi), (hin), sc_collect, &sc_r_), 0); \
    CHECK_EQ(sc_r_.n, sc_cnt_);                                                 \
    for (size_t sc_i_ = 0; sc_i_ < sc_cnt_; sc_i_++)                            \
      SC_SEEN_IS(sc_r_, sc_i_, sc_sorted[(first) + sc_i_]);                     \
  } while (0)

static void sc_range(struct store *s) {
  CHECK_EQ(sc_put_sorted_scrambled(s), 0);
  /* lo included, hi excluded, both exact keys: ["a", "aa") */
  SC_RANGE(s, "a", 1, "aa", 2, 4, 4);
  /* bounds between keys: ["a\0\0\0", "a\1\0") */
  SC_RANGE(s, "a\x00\x00\x00", 4, "a\x01\x00", 3, 7, 1);
  /* hi NULL: unbounded */
  SC_RANGE(s, "b", 1, NULL, 0, 9, 5);
  SC_RANGE(s, NULL, 0, NULL, 0, 0, SC_SORTED_N);
  /* lo == "" includes the empty key */
  SC_RANGE(s, "", 0, "\x01", 1, 0, 3);
  /* empty ranges: lo == hi, lo > hi, hi == "", lo past every key */
  SC_RANGE(s, "a", 1, "a", 1, 0, 0);
  SC_RANGE(s, "b", 1, "a", 1, 0, 0);
  SC_RANGE(s, NULL, 0, "", 0, 0, 0);
  SC_RANGE(s, "\xff\xff\x00", 3, NULL, 0, 0, 0);
  /* hi just above the last key includes it */
  SC_RANGE(s, "\xff", 1, "\xff\xff\x00", 3, 12, 2);
}

static void sc_early_stop(struct store *s) {
  CHECK_EQ(sc_put_sorted_scrambled(s), 0);
  struct sc_seen seen = {.stop_after = 3, .stop_rc = 7};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_collect, &seen), 7);
  CHECK_EQ(seen.n, 3);
  SC_SEEN_IS(seen, 2, sc_sorted[2]);
  struct sc_seen neg = {.stop_after = 1, .stop_rc = MOMEDO_E_QUOTA};
  CHECK_EQ(store_iter(s, "b", 1, NULL, 0, sc_collect, &neg), MOMEDO_E_QUOTA);
  CHECK_EQ(neg.n, 1);
  SC_SEEN_IS(neg, 0, sc_sorted[9]);
}

static void sc_batch_atomic(struct store *s) {
  SC_PUT(s, "c", 1, "old", 3);
  SC_PUT(s, "a", 1, "old", 3);
  struct store_batch *b = store_batch_new();
  CHECK(b != NULL);
  int rc = 0;
  rc |= store_batch_put(b, "a", 1, "A1", 2);
  rc |= store_batch_put(b, "b", 1, "B", 1);
  rc |= store_batch_del(b, "c", 1);
  rc |= store_batch_put(b, "d", 1, "D", 1);
  rc |= store_batch_del(b, "d", 1);    /* later op on the same key wins */
  rc |= store_batch_put(b, "a", 1, "A2", 2);
  rc |= store_batch_put(b, "c2", 2, NULL, 0);
  size_t count = store_batch_count(b);
  int rc_empty = 0;
  if (rc == 0) rc = store_write(s, b);
  store_batch_clear(b);
  rc_empty = store_write(s, b); /* an empty batch is a no-op */
  store_batch_free(b);
  CHECK_EQ(rc, 0);
  CHECK_EQ(rc_empty, 0);
  CHECK_EQ(count, 7);
  SC_EXPECT(s, "a", 1, "A2", 2);
  SC_EXPECT(s, "b", 1, "B", 1);
  SC_EXPECT_MISSING(s, "c", 1);
  SC_EXPECT_MISSING(s, "d", 1);
  SC_EXPECT(s, "c2", 2, "", 0);
}

static void sc_batch_invalid(struct store *s) {
  static uint8_t bigkey[STORE_KEY_BYTES_MAX + 1];
  struct store_batch *b = store_batch_new();
  CHECK(b != NULL);
  int rc_a = store_batch_put(b, "a", 1, "1", 1);
  int rc_big = store_batch_put(b, bigkey, sizeof bigkey, "2", 1);
  int rc_b = store_batch_put(b, "b", 1, "3", 1); /* accepted, but the batch failed */
  size_t count = store_batch_count(b);
  int status = store_batch_status(b);
  int rc_w = store_write(s, b);
  store_batch_clear(b);
  int status2 = store_batch_status(b);
  int rc_c = store_batch_put(b, "c", 1, "4", 1);
  int rc_w2 = rc_c ? rc_c : store_write(s, b);
  store_batch_free(b);
  CHECK_EQ(rc_a, 0);
  CHECK_EQ(rc_big, MOMEDO_E_TOOBIG);
  CHECK_EQ(rc_b, 0);
  CHECK_EQ(count, 2);
  CHECK_EQ(status, MOMEDO_E_TOOBIG);
  CHECK_EQ(rc_w, MOMEDO_E_TOOBIG);
  SC_EXPECT_MISSING(s, "a", 1); /* nothing of the failed batch applied */
  SC_EXPECT_MISSING(s, "b", 1);
  CHECK_EQ(status2, 0);
  CHECK_EQ(rc_w2, 0);
  SC_EXPECT(s, "c", 1, "4", 1);
}

static void sc_limits(struct store *s) {
  static uint8_t key[STORE_KEY_BYTES_MAX + 1];
  memset(key, 0xAB, sizeof key);
  SC_PUT(s, key, STORE_KEY_BYTES_MAX, "max", 3);
  SC_EXPECT(s, key, STORE_KEY_BYTES_MAX, "max", 3);
  CHECK_EQ(store_put1(s, key, sizeof key, "x", 1), MOMEDO_E_TOOBIG);
  CHECK_EQ(store_del1(s, key, sizeof key), MOMEDO_E_TOOBIG);
  void *v = NULL;
  size_t vn = 0;
  CHECK_EQ(store_get(s, key, sizeof key, &v, &vn), MOMEDO_E_TOOBIG);
  CHECK(v == NULL);
  /* The size is checked before the value is read. */
  CHECK_EQ(store_put1(s, "k", 1, key, (size_t)STORE_VALUE_BYTES_MAX + 1), MOMEDO_E_TOOBIG);
  SC_EXPECT_MISSING(s, "k", 1);
  size_t keys = 0;
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_count, &keys), 0);
  CHECK_EQ(keys, 1);
}

/* A callback that deletes the key it is shown, and rewrites every key it sees
 * when ctx says so: iteration must still visit each original key exactly once. */
struct sc_writer {
  struct store *s;
  int rewrite;
  size_t visits;
  int rc;
};

static int sc_write_in_iter(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v,
                            size_t vn) {
  struct sc_writer *w = ctx;
  (void)v;
  (void)vn;
  w->visits++;
  int rc = w->rewrite ? store_put1(w->s, k, kn, "new", 3) : store_del1(w->s, k, kn);
  if (rc) w->rc = rc;
  return rc;
}

static void sc_iter_writes(struct store *s) {
  CHECK_EQ(sc_put_sorted_scrambled(s), 0);
  struct sc_writer w = {.s = s, .rewrite = 1};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_write_in_iter, &w), 0);
  CHECK_EQ(w.visits, SC_SORTED_N);
  SC_EXPECT(s, "a\x00", 2, "new", 3);
  struct sc_writer d = {.s = s};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_write_in_iter, &d), 0);
  CHECK_EQ(d.visits, SC_SORTED_N);
  struct sc_seen seen = {0};
  CHECK_EQ(store_iter(s, NULL, 0, NULL, 0, sc_collect, &seen), 0);
  CHECK_EQ(seen.n, 0);
}

/* ---- random operations against a reference model ---- */

struct sc_entry {
  uint8_t k[SC_MODEL_KEY_MAX];
  size_t kn;
  uint8_t v[SC_MODEL_VAL_MAX];
  size_t vn;
};

/* A sorted array: slow inserts, obviously right. */
struct sc_model {
  struct sc_entry e[SC_MODEL_KEYS_MAX];
  size_t n;
};

static int sc_keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  for (size_t i = 0; i < an && i < bn; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return an == bn ? 0 : an < bn ? -1 : 1;
}

/* Index of the first entry >= k; *found says whether it equals k. */
static size_t sc_model_find(const struct sc_model *m, const uint8_t *k, size_t kn, int *found) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sc_keycmp(m->e[mid].k, m->e[mid].kn, k, kn) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < m->n && sc_keycmp(m->e[lo].k, m->e[lo].kn, k, kn) == 0;
  return lo;
}

static void sc_model_put(struct sc_model *m, const uint8_t *k, size_t kn, const uint8_t *v,
                         size_t vn) {
  int found;
  size_t i = sc_model_find(m, k, kn, &found);
  if (!found) {
    if (m->n == SC_MODEL_KEYS_MAX) abort(); /* the key space is smaller */
    memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof m->e[0]);
    m->n++;
    memcpy(m->e[i].k, k, kn);
    m->e[i].kn = kn;
  }
  memcpy(m->e[i].v, v, vn);
  m->e[i].vn = vn;
}

static void sc_model_del(struct sc_model *m, const uint8_t *k, size_t kn) {
  int found;
  size_t i = sc_model_find(m, k, kn, &found);
  if (!found) return;
  memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof m->e[0]);
  m->n--;
}

/* Short keys over a 5-symbol alphabet with 0x00 and 0xFF: many collisions,
 * many prefixes. Length 0..5, mostly 2..4. */
static size_t sc_rand_key(uint64_t *st, uint8_t *k) {
  static const uint8_t sym[] = {0x00, 0x01, 'a', 0x7f, 0xff};
  static const uint8_t lens[] = {0, 1, 2, 2, 3, 3, 3, 4, 4, 5};
  size_t kn = lens[rng_splitmix64(st) % sizeof lens];
  for (size_t i = 0; i < kn; i++) k[i] = sym[rng_splitmix64(st) % sizeof sym];
  return kn;
}

static size_t sc_rand_val(uint64_t *st, uint8_t *v) {
  size_t vn = rng_splitmix64(st) % (SC_MODEL_VAL_MAX + 1);
  for (size_t i = 0; i < vn; i++) v[i] = (uint8_t)rng_splitmix64(st);
  return vn;
}

/* Walks the model alongside a store iteration. */
struct sc_walk {
  const struct sc_model *m;
  size_t i, end;
};

static int sc_walk_fn(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct sc_walk *w = ctx;
  if (w->i >= w->end) return 1;
  const struct sc_entry *e = &w->m->e[w->i++];
  if (sc_keycmp(e->k, e->kn, k, kn) != 0) return 2;
  if (e->vn != vn || (vn && memcmp(e->v, v, vn) != 0)) return 3;
  return 0;
}

/* Store iteration over [lo, hi) matches the model exactly. 0 when it does. */
static int sc_check_range(struct store *s, const struct sc_model *m, const uint8_t *lo,
                          size_t lon, const uint8_t *hi, size_t hin) {
  int found;
  struct sc_walk w = {.m = m};
  w.i = sc_model_find(m, lo, lon, &found);
  w.end = hi ? sc_model_find(m, hi, hin, &found) : m->n;
  if (w.end < w.i) w.end = w.i;
  int rc = store_iter(s, lo, lon, hi, hin, sc_walk_fn, &w);
  if (rc) return rc;
  return w.i == w.end ? 0 : 4;
}

/* One random batch of 1..8 operations, applied to the store, then the model. */
static int sc_random_batch(struct store *s, struct sc_model *m, uint64_t *st) {
  struct store_batch *b = store_batch_new();
  struct sc_entry ops[8];
  int dels[8];
  size_t n = 1 + rng_splitmix64(st) % 8;
  int rc = b ? 0 : MOMEDO_E_NOMEM;
  for (size_t i = 0; i < n && rc == 0; i++) {
    ops[i].kn = sc_rand_key(st, ops[i].k);
    dels[i] = rng_splitmix64(st) % 3 == 0;
    ops[i].vn = dels[i] ? 0 : sc_rand_val(st, ops[i].v);
    rc = dels[i] ? store_batch_del(b, ops[i].k, ops[i].kn)
                 : store_batch_put(b, ops[i].k, ops[i].kn, ops[i].v, ops[i].vn);
  }
  if (rc == 0) rc = store_write(s, b);
  store_batch_free(b);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (dels[i])
      sc_model_del(m, ops[i].k, ops[i].kn);
    else
      sc_model_put(m, ops[i].k, ops[i].kn, ops[i].v, ops[i].vn);
  }
  return rc;
}

/* One random get, compared with the model. 0 when they agree. */
static int sc_random_get(struct store *s, const struct sc_model *m, uint64_t *st) {
  uint8_t k[SC_MODEL_KEY_MAX];
  size_t kn = sc_rand_key(st, k);
  int found;
  size_t i = sc_model_find(m, k, kn, &found);
  void *v = NULL;
  size_t vn = 0;
  int rc = store_get(s, k, kn, &v, &vn);
  if (!found) return rc == MOMEDO_E_NOTFOUND ? 0 : 10;
  if (rc) return rc;
  int same = vn == m->e[i].vn && memcmp(v, m->e[i].v, vn) == 0;
  free(v);
  return same ? 0 : 11;
}

static int sc_random_range(struct store *s, const struct sc_model *m, uint64_t *st) {
  uint8_t lo[SC_MODEL_KEY_MAX], hi[SC_MODEL_KEY_MAX];
  size_t lon = sc_rand_key(st, lo), hin = sc_rand_key(st, hi);
  int unbounded = rng_splitmix64(st) % 4 == 0;
  return sc_check_range(s, m, lo, lon, unbounded ? NULL : hi, hin);
}

static void sc_random_model(struct store *s) {
  static struct sc_model m; /* 300 KiB: not on the stack */
  uint64_t st = SC_RANDOM_SEED;
  uint8_t k[SC_MODEL_KEY_MAX], v[SC_MODEL_VAL_MAX];
  m.n = 0;
  for (sc_random_step_ = 0; sc_random_step_ < SC_RANDOM_OPS; sc_random_step_++) {
    unsigned dice = (unsigned)(rng_splitmix64(&st) % 100);
    if (dice < 45) {
      size_t kn = sc_rand_key(&st, k), vn = sc_rand_val(&st, v);
      CHECK_EQ(store_put1(s, k, kn, v, vn), 0);
      sc_model_put(&m, k, kn, v, vn);
    } else if (dice < 65) {
      size_t kn = sc_rand_key(&st, k);
      CHECK_EQ(store_del1(s, k, kn), 0);
      sc_model_del(&m, k, kn);
    } else if (dice < 85) {
      CHECK_EQ(sc_random_get(s, &m, &st), 0);
    } else if (dice < 97) {
      CHECK_EQ(sc_random_batch(s, &m, &st), 0);
    } else {
      CHECK_EQ(sc_random_range(s, &m, &st), 0);
    }
  }
  sc_random_step_ = -1;
  CHECK(m.n > 100); /* the run did build a sizeable key set */
  CHECK_EQ(sc_check_range(s, &m, NULL, 0, NULL, 0), 0);
}

/* ---- runner ---- */

/* Like RUN, but hands each case a fresh store and closes it even on failure. */
#define SC_RUN(open, ctx, fn)                                                   \
  do {                                                                          \
    int sc_before_ = th_failed_;                                                \
    struct store *sc_s_ = NULL;                                                 \
    th_current_ = #fn;                                                          \
    int sc_rc_ = (open)((ctx), &sc_s_);                                         \
    if (sc_rc_) {                                                               \
      fprintf(stderr, "%s: open failed: %s\n", #fn, momedo_strerror(sc_rc_));   \
      th_failed_++;                                                             \
    } else {                                                                    \
      fn(sc_s_);                                                                \
      store_close(sc_s_);                                                       \
    }                                                                           \
    if (th_failed_ != sc_before_ && sc_random_step_ >= 0)                       \
      fprintf(stderr, "%s: at random op %ld, seed 0x%llx\n", #fn,               \
              sc_random_step_, (unsigned long long)SC_RANDOM_SEED);             \
    sc_random_step_ = -1;                                                       \
    printf("%s %s\n", th_failed_ == sc_before_ ? "ok  " : "FAIL", #fn);         \
  } while (0)

/* Run every contract case; each gets a fresh store from open(ctx). */
static inline void store_contract_run(sc_open_fn open, void *ctx) {
  SC_RUN(open, ctx, sc_get_missing);
  SC_RUN(open, ctx, sc_round_trip);
  SC_RUN(open, ctx, sc_overwrite);
  SC_RUN(open, ctx, sc_delete);
  SC_RUN(open, ctx, sc_del_missing);
  SC_RUN(open, ctx, sc_empty_value_and_key);
  SC_RUN(open, ctx, sc_binary_keys);
  SC_RUN(open, ctx, sc_order);
  SC_RUN(open, ctx, sc_range);
  SC_RUN(open, ctx, sc_early_stop);
  SC_RUN(open, ctx, sc_batch_atomic);
  SC_RUN(open, ctx, sc_batch_invalid);
  SC_RUN(open, ctx, sc_limits);
  SC_RUN(open, ctx, sc_iter_writes);
  SC_RUN(open, ctx, sc_random_model);
}

#endif
