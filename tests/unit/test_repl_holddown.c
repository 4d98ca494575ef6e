/* tests/unit/test_repl_holddown.c — links held down and damped: a link that goes down
 * stays in its node's record for route_holddown_ms, and each further down within
 * route_holddown_max_ms of the one before is held twice as long (a flapping neighbor
 * costs the federation no record version); a link down longer than its hold is
 * withdrawn and far routes move; a quiet link starts again at route_holddown_ms; forged
 * and replayed records of the damped node are refused as always; custody held at a
 * held-down link moves on as soon as the link is back; a lookup whose candidate sits
 * behind a held link is counted out at once, not after its timeout. */
#include "harness.h"
#include "ids.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define RECORD MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD
#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define BUNDLE MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE
#define HOLD_MS 10000
#define HOLD_MAX_MS 120000

/* The second pass runs with engines sharing one table (the simulator's mode). */
static struct repl_shared *g_shared;

static struct repl_config cfg_of(void) {
  struct repl_config c = tn_scoped_cfg();
  c.shared = g_shared;
  c.route_holddown_ms = HOLD_MS;
  c.route_holddown_max_ms = HOLD_MAX_MS;
  return c;
}

static void settle(struct tn *t, uint64_t ms) { tn_run_until(t, t->now + ms); }

/* Long enough for a far node's held route search to run (route_spf_max_ms). */
static void settle_routes(struct tn *t) { settle(t, tn_scoped_cfg().route_spf_max_ms + 1000); }

static uint64_t issued(struct tn *t, int i) {
  struct repl_stats s;
  repl_stats(t->n[i].r, &s);
  return s.records_issued;
}

static uint64_t refused(struct tn *t, int i) {
  struct repl_stats s;
  repl_stats(t->n[i].r, &s);
  return s.records_refused;
}

/* Node 0's next hop toward node 2 (0: no route). */
static uint64_t hop_0_to_2(struct tn *t, uint32_t *hops) {
  uint64_t peer = 0;
  if (repl_route(t->n[0].r, t->n[2].kp.pub, t->now, &peer, hops)) return 0;
  return peer;
}

/* 0-1-2 (two hops) and 0-3-4-2 (three): 0 reaches 2 through 1 while 1-2 is listed. */
static void net(struct tn *t, const struct repl_config *cfg) {
  tn_init(t, 5, cfg);
  tn_connect(t, 0, 1);
  tn_connect(t, 1, 2);
  tn_connect(t, 0, 3);
  tn_connect(t, 3, 4);
  tn_connect(t, 4, 2);
  settle(t, 1000);
}

/* Down for d ms, then up again; node 1's records issued meanwhile. */
static uint64_t flap(struct tn *t, uint64_t d) {
  uint64_t before = issued(t, 1) + issued(t, 2);
  tn_disconnect(t, 1, 2);
  settle(t, d);
  tn_connect(t, 1, 2);
  settle(t, 1000);
  return issued(t, 1) + issued(t, 2) - before;
}

/* A neighbor that keeps going down: each down within HOLD_MAX_MS of the one before is
 * held twice as long, so downs of 5, 15 and 35 s cost no record version at all (with a
 * fixed hold-down of 10 s the last two would cost four: a withdrawal and a listing by
 * each side). The route of a far node stays through the flapping link throughout. */
static void test_flap_damped(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  net(&t, &cfg);
  uint32_t hops = 0;
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(1));
  CHECK_EQ(hops, 2);
  CHECK_EQ(flap(&t, HOLD_MS / 2), 0);     /* within the first hold */
  CHECK_EQ(flap(&t, HOLD_MS * 3 / 2), 0); /* second down: held 2 x HOLD_MS */
  tn_disconnect(&t, 1, 2);                /* third down: held 4 x HOLD_MS */
  uint64_t before = issued(&t, 1) + issued(&t, 2);
  settle(&t, HOLD_MS * 7 / 2);
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(1)); /* still listed: 0's route is unchanged */
  CHECK_EQ(issued(&t, 1) + issued(&t, 2), before);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  CHECK_EQ(issued(&t, 1) + issued(&t, 2), before);
  tn_free(&t);
}

/* A down longer than its (damped) hold: withdrawn by both ends when the hold ends, and
 * node 0 routes around through 3 and 4; listed again when it comes back. */
static void test_long_down_withdrawn(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  net(&t, &cfg);
  uint32_t hops = 0;
  CHECK_EQ(flap(&t, HOLD_MS / 2), 0);
  tn_disconnect(&t, 1, 2); /* second down: held 2 x HOLD_MS */
  uint64_t before = issued(&t, 1) + issued(&t, 2);
  settle(&t, 2 * HOLD_MS - 2000);
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(1));
  settle(&t, 3000);
  CHECK_EQ(issued(&t, 1) + issued(&t, 2), before + 2); /* one withdrawal at each end */
  settle_routes(&t);
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(3));
  CHECK_EQ(hops, 3);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  CHECK_EQ(issued(&t, 1) + issued(&t, 2), before + 4);
  settle_routes(&t);
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(1));
  CHECK_EQ(hops, 2);
  tn_free(&t);
}

/* Quiet for HOLD_MAX_MS after its last down, a link starts again at HOLD_MS: a down of
 * 1.5 x HOLD_MS is then withdrawn (within HOLD_MAX_MS it would have been held). */
static void test_quiet_link_resets(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  net(&t, &cfg);
  uint32_t hops = 0;
  CHECK_EQ(flap(&t, HOLD_MS / 2), 0);
  settle(&t, HOLD_MAX_MS);
  tn_disconnect(&t, 1, 2);
  uint64_t before = issued(&t, 1) + issued(&t, 2);
  settle(&t, HOLD_MS * 3 / 2);
  CHECK_EQ(issued(&t, 1) + issued(&t, 2), before + 2);
  settle_routes(&t);
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(3));
  tn_free(&t);
}

/* After 1 withdrew 2, an older record of 1 (signed by 1, its seq below the newest: a
 * replay) and a forged newer one (signed by another key), both listing 2, are refused: 0 keeps
 * routing around, and 1's newest record is the one every node holds. */
static void test_forged_replayed_after_withdrawal(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  net(&t, &cfg);
  uint32_t hops = 0;
  tn_disconnect(&t, 1, 2);
  settle(&t, HOLD_MS + 1000);
  settle_routes(&t);
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(3));
  uint64_t seq = tn_seq_at(&t, 0, t.n[1].kp.pub);
  CHECK(seq > 1);
  uint8_t nb[2][OBJ_KEY_LEN];
  memcpy(nb[0], t.n[0].kp.pub, OBJ_KEY_LEN);
  memcpy(nb[1], t.n[2].kp.pub, OBJ_KEY_LEN);
  qsort(nb, 2, OBJ_KEY_LEN, tn_key_cmp);
  struct crypto_sign_keypair k6;
  tn_node_key(&k6, 6);
  size_t l1, l2;
  uint8_t *old = tn_record(&t.n[1].kp, t.n[1].kp.pub, seq - 1, t.now, nb, 2, NULL, 0, &l1);
  uint8_t *forged = tn_record(&k6, t.n[1].kp.pub, seq + 1000, t.now, nb, 2, NULL, 0, &l2);
  uint64_t r0 = refused(&t, 0);
  CHECK_EQ(tn_push_from(&t, 1, 0, RECORD, old, l1), 0);
  CHECK_EQ(tn_push_from(&t, 1, 0, RECORD, forged, l2), 0); /* refused, a strike */
  CHECK_EQ(refused(&t, 0), r0 + 2);
  CHECK_EQ(tn_seq_at(&t, 0, t.n[1].kp.pub), seq);
  settle_routes(&t);
  CHECK_EQ(hop_0_to_2(&t, &hops), tn_pid(3));
  free(old), free(forged);
  tn_free(&t);
}

/* Custody around a held-down link: 0 hands an item for 2 to 1 (0-1-2 and 0-3-2 are
 * equally short, 1 has the lower peer ID), but 1-2 is down (still listed). 1's only
 * route left leads back to 0, who just granted it: 1 keeps the item. When 1-2 comes
 * back the item goes to 2 at once, not a custody retry interval (60 s) after it came. */
static void test_custody_waits_for_held_link(void) {
  struct repl_config cfg = cfg_of();
  cfg.custody_retry_ms = 60000;
  struct tn t;
  tn_init(&t, 4, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  tn_connect(&t, 0, 3);
  tn_connect(&t, 3, 2);
  settle(&t, 1000);
  tn_disconnect(&t, 1, 2);
  settle(&t, 1000);
  static const uint8_t mbox[OBJ_MAILBOX_LEN] = {7};
  size_t len;
  uint8_t id[OBJ_ID_LEN];
  uint8_t *o = tn_item_to(&t.n[0].kp, mbox, t.now, t.now + 86400000ull, 1, 40,
                          (const uint8_t(*)[OBJ_KEY_LEN])t.n[2].kp.pub, 1, &len);
  tn_id(ITEM, o, len, id);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), 0);
  tn_pump(&t);
  settle(&t, 2000);
  CHECK(repl_has(t.n[1].r, id)); /* 1 holds it, waiting */
  CHECK(!repl_has(t.n[2].r, id));
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  CHECK(repl_has(t.n[2].r, id));
  free(o);
  tn_free(&t);
}

/* Look up u by user ID from node `at`: its status, or LOOKUP_BROKEN if it did not end
 * within 100 ms (the lookup timeout is 5 s). */
#define LOOKUP_BROKEN 1
static int lookup(struct tn *t, int at, const struct crypto_sign_keypair *u) {
  struct repl_lookup_req q;
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_USER_ID;
  if (ids_user_id_bits(q.user_id, u->pub)) abort();
  uint64_t h = 0;
  size_t done = t->n[at].lookups_done;
  if (repl_lookup_start(t->n[at].r, &q, t->now, &h)) return LOOKUP_BROKEN;
  tn_pump(t);
  settle(t, 100);
  if (t->n[at].lookups_done != done + 1 || t->n[at].last_lookup_handle != h) return LOOKUP_BROKEN;
  return t->n[at].last_lookup_status;
}

/* Line 0-1-2, user u homed on 2 alone (in 2's summary). 2 goes down: held in 1's record,
 * so 0 still routes to it and asks it. 1 cannot reach 2 and answers "not found" for it
 * at once (before, it dropped the query and 0 waited for the lookup's timeout); 1's own
 * lookup has no candidate with a route and ends at once, sending nothing. Once 2 is
 * back, 0 finds u. */
static void test_lookup_behind_held_link(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  struct crypto_sign_keypair u;
  tn_keypair(&u, 0x65);
  int homes[] = {2};
  size_t bl;
  uint8_t *b = tn_bundle_homed(&t, &u, 1, homes, 1, &bl);
  CHECK_EQ(repl_insert_local(t.n[2].r, BUNDLE, b, bl, t.now, NULL), 0);
  settle(&t, cfg.record_min_interval_ms + 1000); /* 2's summary names u */
  tn_disconnect(&t, 1, 2);
  settle(&t, 1000);
  struct repl_stats s1;
  repl_stats(t.n[1].r, &s1);
  uint64_t msgs = t.delivered_msgs;
  CHECK_EQ(lookup(&t, 0, &u), MOMEDO_E_NOTFOUND);
  CHECK_EQ(t.delivered_msgs, msgs + 2); /* the query to 1, 1's answer for 2 */
  CHECK_EQ(lookup(&t, 1, &u), MOMEDO_E_NOTFOUND);
  CHECK_EQ(t.delivered_msgs, msgs + 2);
  struct repl_stats s1b;
  repl_stats(t.n[1].r, &s1b);
  CHECK_EQ(s1b.lookup_queries_unreachable, s1.lookup_queries_unreachable + 1);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  CHECK_EQ(lookup(&t, 0, &u), 0);
  free(b);
  tn_free(&t);
}

int main(void) {
  RUN(test_flap_damped);
  RUN(test_long_down_withdrawn);
  RUN(test_quiet_link_resets);
  RUN(test_forged_replayed_after_withdrawal);
  RUN(test_custody_waits_for_held_link);
  RUN(test_lookup_behind_held_link);
  /* Again with a shared table: records in the table only. */
  void (*again[])(void) = {test_flap_damped, test_long_down_withdrawn, test_quiet_link_resets,
                           test_forged_replayed_after_withdrawal,
                           test_custody_waits_for_held_link, test_lookup_behind_held_link};
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
    if (repl_shared_new(300 + i, &g_shared)) abort();
    th_current_ = "shared table pass";
    again[i]();
    repl_shared_free(g_shared);
    g_shared = NULL;
  }
  TEST_MAIN_END();
}
