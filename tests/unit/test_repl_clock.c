/* tests/unit/test_repl_clock.c — the replication engine when a node's clock jumps:
 * rounds scheduled before the clock went back hours are not postponed by hours; objects
 * from a neighbor whose clock runs hours ahead (E_FUTURE here) are dropped without a
 * strike, so the neighbor is not cut off, and reach this node by reconciliation once
 * the clocks agree; an item dropped early by a clock running ahead comes back from a
 * neighbor when the clock is set right, and an acknowledged (tombstoned) one does not. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define TOMB MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE
#define HOUR_MS 3600000ull
#define DAY_MS (24 * HOUR_MS)
#define JUMP_MS (3 * HOUR_MS)
#define FUTURE_ITEMS (2 * REPL_INVALID_MAX)

static struct crypto_sign_keypair node_kp, dev_kp;
static uint8_t dev_mbox[OBJ_MAILBOX_LEN];

static uint64_t round_wait_max(const struct repl_config *c) {
  return c->recon_interval_ms + c->recon_jitter_ms;
}

static void test_clock_back_keeps_rounds(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  tn_run_until(&t, t.now + 3 * cfg.recon_interval_ms);
  uint64_t d = repl_next_deadline(t.n[0].r);
  CHECK(d <= t.now + round_wait_max(&cfg));
  /* The clock steps back three hours (nothing else happens meanwhile). */
  t.now -= JUMP_MS;
  CHECK(repl_tick(t.n[0].r, t.now) == 0);
  tn_pump(&t);
  d = repl_next_deadline(t.n[0].r);
  CHECK(d <= t.now + round_wait_max(&cfg));
  /* Node 0 starts its next round within one interval on the new clock. */
  struct repl_peer_stats before, after;
  CHECK(repl_peer_stats(t.n[0].r, tn_pid(1), &before) == 0);
  for (uint64_t end = t.now + round_wait_max(&cfg) + 1; t.now < end; t.now += 1000) {
    if (repl_next_deadline(t.n[0].r) <= t.now) CHECK(repl_tick(t.n[0].r, t.now) == 0);
    tn_pump(&t);
  }
  CHECK(repl_peer_stats(t.n[0].r, tn_pid(1), &after) == 0);
  CHECK(after.recon_rounds_started > before.recon_rounds_started);
  tn_free(&t);
}

static void test_future_objects_no_strike(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  /* Node 1's clock runs three hours ahead: every item it accepts is from the future. */
  for (uint32_t i = 0; i < FUTURE_ITEMS; i++) {
    size_t len;
    uint64_t ahead = t.now + JUMP_MS;
    uint8_t *o = tn_item(&node_kp, dev_mbox, ahead, ahead + DAY_MS, 100 + i, 20, &len);
    CHECK(repl_insert_local(t.n[1].r, ITEM, o, len, ahead, NULL) == 0);
    free(o);
    tn_pump(&t);
  }
  CHECK_EQ(t.n[0].dropped_peers, 0);
  CHECK(t.link[0][1]);
  struct repl_peer_stats s;
  CHECK(repl_peer_stats(t.n[0].r, tn_pid(1), &s) == 0);
  CHECK_EQ(s.objects_invalid, 0);
  CHECK_EQ(s.objects_dropped, FUTURE_ITEMS);
  CHECK_EQ(repl_count(t.n[0].r), 0);
  /* Node 0's clock catches up: reconciliation brings every item. */
  tn_run_until(&t, t.now + JUMP_MS + round_wait_max(&cfg) + 1);
  CHECK_EQ(repl_count(t.n[0].r), FUTURE_ITEMS);
  CHECK(tn_same(&t, 0, 1));
  CHECK_EQ(t.n[0].dropped_peers, 0);
  tn_free(&t);
}

static void test_clock_ahead_expiry(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  size_t len, tlen;
  uint64_t t0 = t.now;
  uint8_t *keep = tn_item(&node_kp, dev_mbox, t0, t0 + 2 * HOUR_MS, 1, 20, &len), kid[32];
  uint8_t *acked = tn_item(&node_kp, dev_mbox, t0, t0 + 2 * HOUR_MS, 2, 20, &len), aid[32];
  tn_id(ITEM, keep, len, kid);
  tn_id(ITEM, acked, len, aid);
  CHECK(repl_insert_local(t.n[0].r, ITEM, keep, len, t0, NULL) == 0);
  CHECK(repl_insert_local(t.n[0].r, ITEM, acked, len, t0, NULL) == 0);
  tn_pump(&t);
  uint8_t *tomb = tn_tombstone(&dev_kp, aid, t0, t0 + HOUR_MS, &tlen);
  CHECK(repl_insert_local(t.n[0].r, TOMB, tomb, tlen, t0, NULL) == 0);
  tn_pump(&t);
  CHECK(repl_has(t.n[1].r, kid) && !repl_has(t.n[1].r, aid));
  /* Node 0's clock jumps three hours ahead: past both items' and the tombstone's expiry. */
  CHECK(repl_tick(t.n[0].r, t0 + JUMP_MS) == 0);
  CHECK(!repl_has(t.n[0].r, kid));
  /* Node 1 (right clock) still offers the kept item: node 0 drops it as expired, no
   * strike. */
  CHECK(repl_tick(t.n[1].r, t0 + round_wait_max(&cfg)) == 0);
  t.now = t0 + JUMP_MS;
  tn_pump(&t);
  CHECK(!repl_has(t.n[0].r, kid));
  struct repl_peer_stats s;
  CHECK(repl_peer_stats(t.n[0].r, tn_pid(1), &s) == 0);
  CHECK_EQ(s.objects_invalid, 0);
  /* Node 0's clock is set right again: the kept item comes back from node 1, the
   * acknowledged one does not (its dead marker outlives the tombstone locally, and
   * node 1 holds the tombstone). */
  t.now = t0 + 10 * 60000;
  for (int i = 0; i < 2; i++) CHECK(repl_tick(t.n[i].r, t.now) == 0); /* momedod ticks */
  tn_pump(&t);                                          /* every NODE_REPL_TICK_MAX_MS */
  tn_run_until(&t, t.now + 2 * round_wait_max(&cfg));
  CHECK(repl_has(t.n[0].r, kid));
  CHECK(!repl_has(t.n[0].r, aid));
  CHECK(!repl_has(t.n[1].r, aid));
  free(keep), free(acked), free(tomb);
  tn_free(&t);
}

int main(void) {
  tn_keypair(&node_kp, 0x41);
  tn_keypair(&dev_kp, 0x42);
  if (obj_device_mailbox(dev_mbox, dev_kp.pub)) return 1;
  RUN(test_clock_back_keeps_rounds);
  RUN(test_future_objects_no_strike);
  RUN(test_clock_ahead_expiry);
  TEST_MAIN_END();
}
