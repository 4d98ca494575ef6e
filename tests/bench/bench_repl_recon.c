/* tests/bench/bench_repl_recon.c — reconciliation cost at scale: two in-memory
 * nodes sharing 1,000,000 IDs, with 1,000 differences (500 on each side, then
 * 1,000 on one side). The shared IDs enter through the index-only test hook
 * (repl__test_index_add) so we need not sign a million objects; the differences
 * are real signed objects, and the reconciliation code is the production one.
 * Prints rounds, bytes per direction, a full ID listing for comparison, wall
 * time and peak RSS. The clock is read here, in the benchmark, never in repl. */
#include <stdio.h>
#include <sys/resource.h>

#include "os.h"
#include "repl_int.h"
#include "unit/test_repl_net.h"

#define SHARED 1000000u

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static void rnd_id(uint8_t id[32]) {
  for (int i = 0; i < 32; i += 8) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    memcpy(id + i, &rng, 8);
  }
}

static void run(const char *name, unsigned a_only, unsigned b_only, uint32_t branch,
                uint32_t leaf) {
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.scope = REPL_SCOPE_FLOOD;
  cfg.recon_branch = branch, cfg.recon_leaf_ids_max = leaf;
  cfg.recon_start_delay_ms_max = 0;
  struct repl_config cfg_b = cfg;
  cfg_b.recon_start_delay_ms_max = 3600000; /* one round, started by A */
  struct tn t;
  memset(&t, 0, sizeof t);
  t.now = TN_T0;
  tn_add(&t, &cfg, 1);
  tn_add(&t, &cfg_b, 2);
  double t0 = os_mono_s();
  for (unsigned i = 0; i < SHARED; i++) {
    uint8_t id[32];
    rnd_id(id);
    if (repl__test_index_add(t.n[0].r, id) || repl__test_index_add(t.n[1].r, id)) abort();
  }
  struct crypto_sign_keypair kp;
  uint8_t mbox[32];
  tn_keypair(&kp, 9);
  memset(mbox, 0x42, sizeof mbox);
  for (unsigned i = 0; i < a_only + b_only; i++) {
    size_t len;
    uint8_t *o = tn_item(&kp, mbox, t.now, t.now + 3600000, i, 200, &len);
    if (repl_insert_local(t.n[i < a_only ? 0 : 1].r, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, o,
                          len, t.now, NULL))
      abort();
    free(o);
  }
  tn_drain(&t); /* no links yet: only STORED actions */
  double t1 = os_mono_s();
  t.link[0][1] = t.link[1][0] = true;
  if (repl_peer_up(t.n[1].r, tn_pid(0), t.n[0].kp.pub, t.now) ||
      repl_peer_up(t.n[0].r, tn_pid(1), t.n[1].kp.pub, t.now))
    abort();
  tn_pump(&t);
  double t2 = os_mono_s();
  struct repl_peer_stats a, b;
  if (repl_peer_stats(t.n[0].r, tn_pid(1), &a) || repl_peer_stats(t.n[1].r, tn_pid(0), &b))
    abort();
  uint64_t listing = 2ull * SHARED * OBJ_ID_LEN;
  uint64_t recon = a.recon_bytes_sent + b.recon_bytes_sent;
  printf("%s (B=%u, leaf=%u): %u shared, %u + %u different; converged=%s\n", name, branch,
         leaf, SHARED, a_only, b_only, tn_same(&t, 0, 1) ? "yes" : "NO");
  printf("  rounds (messages in the longest chain): %u; recon messages A->B %llu, B->A %llu\n",
         a.recon_round_max + 1, (unsigned long long)a.recon_msgs_sent,
         (unsigned long long)b.recon_msgs_sent);
  printf("  recon bytes A->B %llu, B->A %llu, total %llu (%.2f%% of a full listing of "
         "%llu bytes; %.0f bytes per difference)\n",
         (unsigned long long)a.recon_bytes_sent, (unsigned long long)b.recon_bytes_sent,
         (unsigned long long)recon, 100.0 * (double)recon / (double)listing,
         (unsigned long long)listing, (double)recon / (double)(a_only + b_only));
  printf("  object push bytes A->B %llu, B->A %llu\n", (unsigned long long)a.push_bytes_sent,
         (unsigned long long)b.push_bytes_sent);
  printf("  wall: setup %.2f s, reconciliation %.3f s\n", t1 - t0, t2 - t1);
  tn_free(&t);
}

int main(void) {
  run("500 each side", 500, 500, 8, 8);
  run("1000 on one side", 1000, 0, 8, 8);
  run("500 each side", 500, 500, 16, 16);
  run("500 each side", 500, 500, 4, 4);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS: %.1f MiB (two nodes, 1M IDs each, plus the objects)\n",
         (double)ru.ru_maxrss / 1024.0);
  return 0;
}
