/* tests/bench/bench_repl_scoped.c — what scoped delivery saves, engine only: N engines
 * over store_mem on a ring with chords every sqrt(N) nodes, each node accepting 8
 * items of 1 KiB for one random other node; the same items in flood and scoped mode.
 * After one reconciliation round it prints bytes stored per node (mean, max), bytes
 * sent per node (pushes, grants, acks, reconciliation, records) and node-record bytes.
 * The clock is read here, in the benchmark, never in repl. */
#include <stdio.h>

#define TN_NODES_MAX 128
#include "os.h"
#include "repl_int.h"
#include "unit/test_repl_net.h"

#define ITEMS_PER_NODE 8u
#define ITEM_BYTES 1024u


static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

/* An item for node dest, signed by node `from` (its accepting node: only a node known to
 * the others may sign items, replication/repl_budget.c). */
static uint8_t *item_for(struct tn *t, int from, int dest, uint32_t tag, size_t *len) {
  uint8_t mbox[OBJ_MAILBOX_LEN];
  memset(mbox, 0x42, sizeof mbox);
  return tn_item_to(&t->n[from].kp, mbox, t->now, t->now + 86400000ull, tag, ITEM_BYTES,
                    (const uint8_t(*)[OBJ_KEY_LEN])t->n[dest].kp.pub, 1, len);
}

static void run(int n, uint32_t scope) {
  static struct tn t; /* large: not on the stack */
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.scope = scope;
  cfg.recon_start_delay_ms_max = 0;
  tn_init(&t, n, &cfg);
  int k = 1;
  while ((k + 1) * (k + 1) <= n) k++; /* floor(sqrt(n)) */
  for (int i = 0; i < n; i++) {
    tn_connect(&t, i, (i + 1) % n);
    if (i % k == 0 && (i + k) % n != (i + 1) % n) tn_connect(&t, i, (i + k) % n);
  }
  tn_run_until(&t, t.now + 1000);
  struct repl_stats s0[TN_NODES_MAX];
  for (int i = 0; i < n; i++) repl_stats(t.n[i].r, &s0[i]);
  rng_state = 0x9e3779b97f4a7c15ull;
  double t0 = os_mono_s();
  for (int i = 0; i < n; i++)
    for (uint32_t j = 0; j < ITEMS_PER_NODE; j++) {
      int d = (int)rnd((uint32_t)n - 1);
      d += d >= i;
      size_t len;
      uint8_t *o = item_for(&t, i, d, (uint32_t)i * 1000 + j, &len);
      if (repl_insert_local(t.n[i].r, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, o, len, t.now, NULL))
        abort();
      free(o);
    }
  tn_pump(&t);
  tn_run_until(&t, t.now + 80000); /* one reconciliation round everywhere */
  double wall = os_mono_s() - t0;
  double st_sum = 0, st_max = 0, tx_sum = 0, tx_max = 0, rec_sum = 0;
  uint64_t delivered = 0;
  for (int i = 0; i < n; i++) {
    struct repl_stats s;
    repl_stats(t.n[i].r, &s);
    double stored = (double)(s.dest_bytes + s.transit_bytes);
    double sent = (double)(s.push_bytes_sent + s.recon_bytes_sent - s0[i].push_bytes_sent -
                           s0[i].recon_bytes_sent);
    st_sum += stored, tx_sum += sent, rec_sum += (double)s.record_bytes_sent;
    if (stored > st_max) st_max = stored;
    if (sent > tx_max) tx_max = sent;
    delivered += s.dest_objects;
  }
  printf("%-6s N=%3d  items=%4u  stored/node mean %8.0f max %8.0f  sent/node mean %8.0f max "
         "%8.0f  records sent/node %6.0f  held as dest %6llu  %.2f s\n",
         scope == REPL_SCOPE_FLOOD ? "flood" : "scoped", n, n * ITEMS_PER_NODE, st_sum / n,
         st_max, tx_sum / n, tx_max, rec_sum / n, (unsigned long long)delivered, wall);
  tn_free(&t);
}

int main(void) {
  printf("bench_repl_scoped: ring + chords every sqrt(N), %u items of %u B per node, one "
         "random destination each\n", ITEMS_PER_NODE, ITEM_BYTES);
  for (int n = 16; n <= 128; n *= 2) {
    run(n, REPL_SCOPE_FLOOD);
    run(n, REPL_SCOPE_SCOPED);
  }
  return 0;
}
