/* tests/unit/test_repl_idx.c — the live-ID index (rank, select, prefix sums,
 * fingerprints) against a plain sorted array, and the reconciliation core over
 * raw IDs: two engines holding index-only IDs must ask for exactly the IDs the
 * other side has and they lack. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return rng_state;
}
static void rnd_id(uint8_t id[32]) {
  for (int i = 0; i < 32; i += 8) {
    uint64_t v = rnd();
    memcpy(id + i, &v, 8);
  }
}
static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

static void test_u256(void) {
  struct repl_u256 a = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}}, one = {{1, 0, 0, 0}};
  repl__u256_add(&a, &one); /* wraps to zero */
  CHECK(a.w[0] == 0 && a.w[1] == 0 && a.w[2] == 0 && a.w[3] == 0);
  repl__u256_sub(&a, &one);
  CHECK(a.w[0] == UINT64_MAX && a.w[3] == UINT64_MAX);
  uint8_t id[32] = {0};
  id[0] = 1, id[8] = 2, id[31] = 0x80;
  repl__u256_from_id(&a, id);
  CHECK(a.w[0] == 1 && a.w[1] == 2 && a.w[2] == 0 && a.w[3] == 0x8000000000000000ull);
  /* Fingerprint of the empty set: SHA-256 of 32 zero bytes and varint(0). */
  struct repl_agg e = {0};
  uint8_t fp[16], h[32], buf[33] = {0};
  repl__fingerprint(&e, fp);
  CHECK(crypto_sha256(h, buf, 33) == 0);
  CHECK_MEM(fp, h, 16);
}

static void test_index_vs_array(void) {
  enum { N = 5000 };
  static uint8_t ids[N][32], sorted[N][32];
  struct repl_idx x;
  repl__idx_init(&x);
  size_t n = 0;
  for (int i = 0; i < N; i++) {
    rnd_id(ids[i]);
    CHECK_EQ(repl__idx_insert(&x, ids[i]), 1);
  }
  CHECK_EQ(repl__idx_insert(&x, ids[7]), 0);
  /* remove every third */
  for (int i = 0; i < N; i++) {
    if (i % 3 == 0) {
      CHECK_EQ(repl__idx_remove(&x, ids[i]), 1);
    } else {
      memcpy(sorted[n++], ids[i], 32);
    }
  }
  CHECK_EQ(repl__idx_remove(&x, ids[0]), 0);
  qsort(sorted, n, 32, cmp_id);
  CHECK_EQ(x.total, n);
  struct repl_agg run = {0}, got;
  for (size_t k = 0; k <= n; k++) {
    repl__idx_prefix(&x, k, &got);
    CHECK_EQ(got.count, run.count);
    CHECK_MEM(&got.sum, &run.sum, sizeof run.sum);
    if (k == n) break;
    CHECK_MEM(repl__idx_at(&x, k), sorted[k], 32);
    CHECK_EQ(repl__idx_rank(&x, sorted[k]), k);
    CHECK(repl__idx_has(&x, sorted[k]));
    struct repl_u256 v;
    repl__u256_from_id(&v, sorted[k]);
    repl__u256_add(&run.sum, &v);
    run.count++;
  }
  CHECK(!repl__idx_has(&x, ids[3]));
  /* iterate in order */
  struct repl_idx_it it;
  repl__idx_iter(&x, 10, &it);
  for (size_t k = 10; k < n; k++) CHECK_MEM(repl__idx_next(&it), sorted[k], 32);
  CHECK(repl__idx_next(&it) == NULL);
  struct repl_agg tot;
  repl__idx_total(&x, &tot);
  CHECK_EQ(tot.count, n);
  CHECK_MEM(&tot.sum, &run.sum, sizeof run.sum);
  /* remove all: index empties cleanly */
  for (size_t k = 0; k < n; k++) CHECK_EQ(repl__idx_remove(&x, sorted[k]), 1);
  CHECK_EQ(x.total, 0);
  CHECK_EQ(x.nchunks, 0);
  repl__idx_close(&x);
}

/* first[] and cnt[] beside the chunks agree with them. */
static int side_arrays_ok(const struct repl_idx *x) {
  for (size_t i = 0; i < x->nchunks; i++) {
    const uint8_t *id = x->chunks[i]->ids[0];
    uint64_t p = 0;
    for (int j = 0; j < 8; j++) p = p << 8 | id[j];
    if (x->cnt[i] != x->chunks[i]->n || x->first[i] != p) return 0;
  }
  return 1;
}

/* IDs that are not spread evenly (interpolation guesses wrong and must gallop):
 * a third share their first 8 bytes, a third sit in a narrow band of prefixes,
 * a third are random; half are removed again. has() and rank() must still be
 * exact at every position. */
static void test_index_skewed(void) {
  enum { N = 3000 };
  static uint8_t ids[N][32], live[N][32];
  static int gone[N];
  struct repl_idx x;
  repl__idx_init(&x);
  for (int i = 0; i < N; i++) {
    rnd_id(ids[i]);
    if (i % 3 == 0) memset(ids[i], 0x42, 8);
    if (i % 3 == 1) memset(ids[i], 0x90, 6), ids[i][6] = (uint8_t)(i >> 8), ids[i][7] = (uint8_t)i;
    CHECK_EQ(repl__idx_insert(&x, ids[i]), 1);
  }
  CHECK(side_arrays_ok(&x));
  size_t n = 0;
  for (int i = 0; i < N; i++) {
    gone[i] = rnd() % 2 == 0;
    if (gone[i]) CHECK_EQ(repl__idx_remove(&x, ids[i]), 1);
    else memcpy(live[n++], ids[i], 32);
  }
  CHECK(side_arrays_ok(&x));
  qsort(live, n, 32, cmp_id);
  CHECK_EQ(x.total, n);
  for (size_t k = 0; k < n; k++) {
    CHECK(repl__idx_has(&x, live[k]));
    CHECK_EQ(repl__idx_rank(&x, live[k]), k);
  }
  for (int i = 0; i < N; i++) {
    if (!gone[i]) continue;
    CHECK(!repl__idx_has(&x, ids[i]));
    /* rank of an absent ID: the number of live IDs below it */
    size_t below = 0;
    while (below < n && memcmp(live[below], ids[i], 32) < 0) below++;
    CHECK_EQ(repl__idx_rank(&x, ids[i]), below);
  }
  repl__idx_close(&x);
}

/* Two engines with index-only IDs: A has shared + a_only, B has shared + b_only.
 * Returns through *a_want / *b_want how many IDs each asked for and checks that
 * every ID asked for is one the asker lacks and the other has. */
struct want_log {
  uint8_t (*ids)[32];
  size_t n;
};

static void log_wants(struct tn *t, struct want_log *w) {
  for (size_t i = t->qhead; i < t->qn; i++) {
    Momedo__ReplMsg *m = momedo__repl_msg__unpack(NULL, t->q[i].len, t->q[i].bytes);
    if (!m) abort();
    if (m->body_case == MOMEDO__REPL_MSG__BODY_WANT) {
      struct want_log *l = &w[t->q[i].from];
      size_t k = m->want->ids.len / 32;
      l->ids = realloc(l->ids, (l->n + k) * 32);
      memcpy(l->ids[l->n], m->want->ids.data, k * 32);
      l->n += k;
    }
    momedo__repl_msg__free_unpacked(m, NULL);
  }
}

static bool in_range(uint8_t (*ids)[32], size_t lo, size_t hi, const uint8_t *id) {
  for (size_t k = lo; k < hi; k++)
    if (!memcmp(ids[k], id, 32)) return true;
  return false;
}

static void recon_raw(size_t shared, size_t a_only, size_t b_only, uint32_t branch,
                      uint32_t leaf) {
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.scope = REPL_SCOPE_FLOOD;
  cfg.recon_branch = branch, cfg.recon_leaf_ids_max = leaf;
  cfg.recon_start_delay_ms_max = 0;
  struct tn t;
  tn_init(&t, 2, &cfg);
  size_t total = shared + a_only + b_only;
  uint8_t(*ids)[32] = malloc((total ? total : 1) * 32);
  for (size_t i = 0; i < total; i++) {
    rnd_id(ids[i]);
    if (i < shared + a_only) CHECK(repl__test_index_add(t.n[0].r, ids[i]) == 0);
    if (i < shared || i >= shared + a_only) CHECK(repl__test_index_add(t.n[1].r, ids[i]) == 0);
  }
  struct want_log w[2] = {{0}};
  /* Only A starts; B's first round is far away. */
  t.link[0][1] = t.link[1][0] = true;
  CHECK(repl_peer_up(t.n[1].r, tn_pid(0), t.n[0].kp.pub, t.now) == 0);
  struct repl_action a;
  while (repl_next_action(t.n[1].r, &a)) free(a.bytes); /* B's start is delayed: none */
  CHECK(repl_peer_up(t.n[0].r, tn_pid(1), t.n[1].kp.pub, t.now) == 0);
  for (int iter = 0; iter < 1000; iter++) {
    tn_drain(&t);
    if (t.qhead == t.qn) break;
    log_wants(&t, w);
    while (t.qhead < t.qn) {
      struct tn_msg m = t.q[t.qhead++];
      if (repl_on_msg(t.n[m.to].r, tn_pid(m.from), m.bytes, m.len, t.now)) abort();
      free(m.bytes);
    }
    t.qhead = t.qn = 0;
  }
  CHECK(t.qhead == t.qn);
  /* Every difference is found exactly once: asked for by the side lacking it or
   * offered by the side holding it. */
  struct repl_peer_stats sa, sb;
  CHECK(repl_peer_stats(t.n[0].r, tn_pid(1), &sa) == 0);
  CHECK(repl_peer_stats(t.n[1].r, tn_pid(0), &sb) == 0);
  CHECK_EQ(w[0].n, sa.recon_ids_wanted);
  CHECK_EQ(w[1].n, sb.recon_ids_wanted);
  CHECK_EQ(sa.recon_ids_wanted + sb.recon_ids_offered, b_only);
  CHECK_EQ(sb.recon_ids_wanted + sa.recon_ids_offered, a_only);
  for (size_t i = 0; i < w[0].n; i++) CHECK(in_range(ids, shared + a_only, total, w[0].ids[i]));
  for (size_t i = 0; i < w[1].n; i++) CHECK(in_range(ids, shared, shared + a_only, w[1].ids[i]));
  free(w[0].ids);
  free(w[1].ids);
  free(ids);
  tn_free(&t);
}

static void test_recon_raw_small(void) {
  recon_raw(0, 0, 0, 16, 16);
  recon_raw(0, 5, 0, 16, 16);
  recon_raw(0, 0, 100, 16, 16);
  recon_raw(3000, 0, 0, 16, 16);
  recon_raw(1, 1, 1, 16, 16);
}

static void test_recon_raw_many(void) {
  recon_raw(20000, 100, 100, 16, 16);
  recon_raw(20000, 500, 0, 4, 8);
  recon_raw(5000, 3000, 2000, 16, 32);
  recon_raw(0, 2000, 2000, 2, 2);
}

int main(void) {
  RUN(test_u256);
  RUN(test_index_vs_array);
  RUN(test_index_skewed);
  RUN(test_recon_raw_small);
  RUN(test_recon_raw_many);
  TEST_MAIN_END();
}
