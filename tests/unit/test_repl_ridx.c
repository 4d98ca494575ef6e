/* tests/unit/test_repl_ridx.c — the lazily built record index (repl_ridx.c): engines
 * sharing a record table keep only the sum of their live records and build the index
 * for a round whose fingerprints differ. The same network run with the index kept
 * always (record_index_eager) and built lazily sends exactly the same reconciliation
 * traffic and ends with the same records; the lazy run builds the index only when
 * the sets differ and drops it when a round finds them equal. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define NODES 5
#define DAY_MS 86400000ull

struct outcome {
  struct repl_stats st[NODES];
  struct repl_peer_stats ps[NODES][2];
  uint64_t seq0[NODES], seq4[NODES];
  uint64_t builds, built_at_end;
};

/* A line 0-1-2-3-4 over one shared table. Node 2 goes deaf (its sends are lost) while
 * nodes 0 and 4 gain links, so 0's and 4's new records reach 3 and 1 only through
 * reconciliation rounds once node 2 talks again. */
static void run(uint32_t eager, struct outcome *o) {
  struct repl_shared *sh = NULL;
  CHECK_EQ(repl_shared_new(7, &sh), 0);
  struct repl_config c;
  repl_config_default(&c);
  c.scope = REPL_SCOPE_SCOPED;
  c.recon_start_delay_ms_max = 0;
  c.recon_interval_ms = 5000;
  c.recon_jitter_ms = 0;
  c.route_holddown_ms = 0;
  c.record_pull_timeout_ms = 1000;
  c.recon_leaf_ids_max = 2; /* more records than a leaf: rounds split and list */
  c.shared = sh;
  c.record_index_eager = eager;
  struct tn t;
  tn_init(&t, NODES, &c);
  for (int i = 0; i + 1 < NODES; i++) tn_connect(&t, i, i + 1);
  tn_run_until(&t, t.now + 20000);
  t.n[2].hold = true;
  struct crypto_sign_keypair k7, k8;
  tn_node_key(&k7, 7);
  tn_node_key(&k8, 8);
  CHECK_EQ(repl_peer_up(t.n[0].r, 99, k7.pub, t.now), 0);
  CHECK_EQ(repl_peer_up(t.n[4].r, 98, k8.pub, t.now), 0);
  tn_run_until(&t, t.now + 12000);
  for (size_t i = 0; i < t.heldn; i++) free(t.held[i].bytes);
  t.heldn = 0;
  t.n[2].hold = false;
  tn_run_until(&t, t.now + 30000);
  memset(o, 0, sizeof *o);
  for (int i = 0; i < NODES; i++) {
    repl_stats(t.n[i].r, &o->st[i]);
    o->builds += o->st[i].record_index_builds;
    o->built_at_end += t.n[i].r->ridx_built;
    o->st[i].record_index_builds = 0; /* the one figure allowed to differ */
    if (i > 0) CHECK_EQ(repl_peer_stats(t.n[i].r, tn_pid(i - 1), &o->ps[i][0]), 0);
    if (i + 1 < NODES) CHECK_EQ(repl_peer_stats(t.n[i].r, tn_pid(i + 1), &o->ps[i][1]), 0);
    o->seq0[i] = tn_seq_at(&t, i, t.n[0].kp.pub);
    o->seq4[i] = tn_seq_at(&t, i, t.n[4].kp.pub);
  }
  tn_free(&t);
  repl_shared_free(sh);
}

static void test_lazy_same_as_eager(void) {
  static struct outcome e, l;
  run(1, &e);
  run(0, &l);
  for (int i = 0; i < NODES; i++) {
    CHECK_EQ(l.seq0[i], l.seq0[0]); /* everybody has 0's and 4's newest record */
    CHECK_EQ(l.seq4[i], l.seq4[4]);
    CHECK_EQ(l.seq0[i], e.seq0[i]);
    CHECK_EQ(l.seq4[i], e.seq4[i]);
    CHECK_EQ(l.st[i].records, e.st[i].records);
    CHECK(memcmp(&l.ps[i], &e.ps[i], sizeof l.ps[i]) == 0); /* same rounds, same bytes */
    CHECK(memcmp(&l.st[i], &e.st[i], sizeof l.st[i]) == 0);
  }
  CHECK(l.seq0[0] > 1 && l.seq4[0] > 1);
  CHECK(l.st[2].recon_bytes_recv > 0);
  CHECK_EQ(e.builds, 0);
  CHECK(l.builds > 0);                 /* the deaf spell made the sets differ */
  CHECK(l.built_at_end < NODES);       /* equal rounds dropped indexes again */
}

int main(void) {
  RUN(test_lazy_same_as_eager);
  TEST_MAIN_END();
}
