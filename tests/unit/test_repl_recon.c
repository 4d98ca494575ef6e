/* tests/unit/test_repl_recon.c — anti-entropy with real signed objects: two nodes
 * that were apart converge, and 10,000 vs 10,000 objects with 100 differences
 * each way converge with far fewer reconciliation bytes than a full ID listing. */
#include "harness.h"
#include "test_repl_net.h"

static uint8_t mbox[OBJ_MAILBOX_LEN];

static void insert(struct tn *t, int node, uint8_t *obj, size_t len) {
  struct obj_info info;
  int rc = repl_insert_local(t->n[node].r, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, obj, len,
                             t->now, &info);
  if (rc) {
    fprintf(stderr, "insert: %s\n", momedo_status_name(rc));
    abort();
  }
}

static void test_converge_after_apart(void) {
  struct crypto_sign_keypair node;
  tn_keypair(&node, 1);
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.scope = REPL_SCOPE_FLOOD;
  struct tn t;
  tn_init(&t, 2, &cfg);
  uint64_t exp = t.now + 3600000;
  for (uint32_t i = 0; i < 40; i++) {
    size_t len;
    uint8_t *o = tn_item(&node, mbox, t.now, exp, i, 100, &len);
    insert(&t, i % 2, o, len);
    free(o);
  }
  tn_pump(&t); /* no links: nothing moves */
  CHECK_EQ(repl_count(t.n[0].r), 20);
  CHECK_EQ(repl_count(t.n[1].r), 20);
  CHECK(!tn_same(&t, 0, 1));
  tn_connect(&t, 0, 1);
  /* The first round starts within recon_start_delay_ms_max. */
  tn_run_until(&t, t.now + cfg.recon_start_delay_ms_max);
  CHECK_EQ(repl_count(t.n[0].r), 40);
  CHECK_EQ(repl_count(t.n[1].r), 40);
  CHECK(tn_same(&t, 0, 1));
  CHECK_EQ(t.n[0].stored, 40); /* 20 local + 20 from the peer */
  CHECK_EQ(t.n[1].stored, 40);
  /* Later rounds find nothing to do and move no objects. */
  struct repl_stats s0;
  repl_stats(t.n[0].r, &s0);
  uint64_t pushed = s0.push_bytes_sent;
  tn_run_until(&t, t.now + 5 * (cfg.recon_interval_ms + cfg.recon_jitter_ms));
  repl_stats(t.n[0].r, &s0);
  CHECK_EQ(s0.push_bytes_sent, pushed);
  CHECK(s0.recon_rounds_started >= 1);
  tn_free(&t);
}

static void test_recon_10k(void) {
  enum { SHARED = 9900, DIFF = 100 };
  struct crypto_sign_keypair node;
  tn_keypair(&node, 2);
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.scope = REPL_SCOPE_FLOOD;
  cfg.recon_start_delay_ms_max = 0; /* A starts inside repl_peer_up */
  struct repl_config cfg_b = cfg;
  cfg_b.recon_start_delay_ms_max = 3600000; /* B would start much later */
  struct tn t;
  memset(&t, 0, sizeof t);
  t.now = TN_T0;
  tn_add(&t, &cfg, 1);
  tn_add(&t, &cfg_b, 2);
  uint64_t exp = t.now + 3600000;
  for (uint32_t i = 0; i < SHARED + 2 * DIFF; i++) {
    size_t len;
    uint8_t *o = tn_item(&node, mbox, t.now, exp, i, 64, &len);
    if (i < SHARED + DIFF) insert(&t, 0, o, len);
    if (i < SHARED || i >= SHARED + DIFF) insert(&t, 1, o, len);
    free(o);
  }
  CHECK_EQ(repl_count(t.n[0].r), 10000);
  CHECK_EQ(repl_count(t.n[1].r), 10000);
  tn_drain(&t);
  t.link[0][1] = t.link[1][0] = true;
  CHECK(repl_peer_up(t.n[1].r, tn_pid(0), t.n[0].kp.pub, t.now) == 0);
  CHECK(repl_peer_up(t.n[0].r, tn_pid(1), t.n[1].kp.pub, t.now) == 0);
  tn_pump(&t);
  CHECK_EQ(repl_count(t.n[0].r), 10100);
  CHECK_EQ(repl_count(t.n[1].r), 10100);
  CHECK(tn_same(&t, 0, 1));
  struct repl_peer_stats a, b;
  CHECK(repl_peer_stats(t.n[0].r, tn_pid(1), &a) == 0);
  CHECK(repl_peer_stats(t.n[1].r, tn_pid(0), &b) == 0);
  uint64_t recon = a.recon_bytes_sent + b.recon_bytes_sent;
  uint64_t listing = 20000ull * OBJ_ID_LEN;
  printf("  recon 10k/10k, 100+100 differences: %llu recon bytes (A->B %llu, B->A %llu) "
         "in %u rounds, %llu push bytes; full listing %llu bytes (%.1f%%)\n",
         (unsigned long long)recon, (unsigned long long)a.recon_bytes_sent,
         (unsigned long long)b.recon_bytes_sent, a.recon_round_max + 1,
         (unsigned long long)(a.push_bytes_sent + b.push_bytes_sent),
         (unsigned long long)listing, 100.0 * (double)recon / (double)listing);
  CHECK(recon < listing / 10);
  CHECK_EQ(a.objects_stored, DIFF);
  CHECK_EQ(b.objects_stored, DIFF);
  CHECK_EQ(a.objects_duplicate + b.objects_duplicate, 0); /* nothing sent twice */
  CHECK_EQ(a.recon_rounds_started, 1);
  CHECK_EQ(b.recon_rounds_started, 0);
  tn_free(&t);
}

int main(void) {
  memset(mbox, 0x5a, sizeof mbox);
  RUN(test_converge_after_apart);
  RUN(test_recon_10k);
  TEST_MAIN_END();
}
