/* tests/unit/test_repl_signers.c — who may sign what a neighbor brings in (issue 11,
 * finding 7), scoped mode: an item signed by a node not known here is neither stored nor
 * acknowledged and no strike, and is taken once its signer is known (before: stored
 * whatever key signed it); a known signer flooding through an honest neighbor gets only
 * its own budget while another signer through the same neighbor still gets through
 * (before: the flood was stored whole, within the neighbor's budget only). Budgets that
 * held up honest federation (issue 12's A->B stall): a neighbor's own items are bounded by
 * its ingest budget only, not also by the signer budget meant for nodes behind it (before:
 * 250 items/s by default, the rest left to the next periodic round); what a budget
 * deferred is pulled again by a round within REPL_DEFER_ROUND_MS, still within budget. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define MIN_MS 60000ull
#define SIGNER_OBJS 40u     /* signer_ingest_objects_per_min in these tests */
#define FLOOD 300u          /* items the hostile signer sends */
#define HONEST 20u          /* items of the honest signer through the same neighbor */
#define DAY_MS 86400000ull
#define BUSY_OBJS 600u      /* signer_ingest_objects_per_min in the busy-neighbor tests */
#define POSTS 2000u         /* items posted at a busy node */

static uint8_t mbox[OBJ_MAILBOX_LEN];

static struct repl_config cfg_scoped(void) {
  struct repl_config c = tn_scoped_cfg();
  c.signer_ingest_objects_per_min = SIGNER_OBJS;
  return c;
}

/* An item for node `to` of t, signed by `signer`; *len, id set. */
static uint8_t *item_for(struct tn *t, const struct crypto_sign_keypair *signer, int to,
                         uint32_t tag, size_t *len, uint8_t id[OBJ_ID_LEN]) {
  uint8_t *out = tn_item_to(signer, mbox, t->now, t->now + 7 * 86400000ull, tag, 40,
                            (const uint8_t(*)[OBJ_KEY_LEN])t->n[to].kp.pub, 1, len);
  tn_id(ITEM, out, *len, id);
  return out;
}

/* Node `via` grants node `to` custody of one item (as a relay would); the network then
 * carries the answer. Returns repl_on_msg's status. */
static int grant(struct tn *t, int via, int to, const uint8_t *o, size_t len) {
  Momedo__Object ob = MOMEDO__OBJECT__INIT;
  ob.kind = ITEM;
  ob.data = (ProtobufCBinaryData){len, (uint8_t *)o};
  Momedo__Grant g = MOMEDO__GRANT__INIT, *gp = &g;
  g.object = &ob;
  g.dests = (ProtobufCBinaryData){32, t->n[to].kp.pub};
  g.hops_left = 4;
  Momedo__CustodyGrant cg = MOMEDO__CUSTODY_GRANT__INIT;
  cg.n_grants = 1;
  cg.grants = &gp;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_GRANT;
  m.grant = &cg;
  uint8_t buf[4096];
  size_t n = momedo__repl_msg__pack(&m, buf);
  int rc = repl_on_msg(t->n[to].r, tn_pid(via), buf, n, t->now);
  tn_pump(t);
  return rc;
}

/* 2 - 0 - 1 over cfg: node 2 sits behind node 0, node 1 knows it by its record. */
static void chain(struct tn *t, const struct repl_config *cfg) {
  tn_init(t, 3, cfg);
  tn_connect(t, 2, 0);
  tn_connect(t, 0, 1);
  tn_run_until(t, t->now + 1000);
}

static struct repl_peer_stats peer_stats(struct tn *t, int at, int peer) {
  struct repl_peer_stats s;
  if (repl_peer_stats(t->n[at].r, tn_pid(peer), &s)) abort();
  return s;
}

static void test_unknown_signer_waits(void) {
  struct repl_config cfg = cfg_scoped();
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1); /* node 2 is not linked to anyone: nobody knows its key */
  tn_run_until(&t, t.now + 1000);
  size_t len;
  uint8_t id[OBJ_ID_LEN];
  uint8_t *o = item_for(&t, &t.n[2].kp, 1, 1, &len, id);
  struct repl_peer_stats s0 = peer_stats(&t, 1, 0);
  CHECK_EQ(grant(&t, 0, 1, o, len), 0);
  struct repl_peer_stats s = peer_stats(&t, 1, 0);
  CHECK(!repl_has(t.n[1].r, id));                  /* before the rule: stored */
  CHECK_EQ(s.acks_sent, s0.acks_sent);             /* not acknowledged: the relay keeps it */
  CHECK_EQ(s.objects_invalid, s0.objects_invalid); /* no strike */
  CHECK_EQ(s.signer_deferred, s0.signer_deferred + 1);
  struct repl_stats rs;
  repl_stats(t.n[1].r, &rs);
  CHECK_EQ(rs.signer_unknown, 1);
  CHECK_EQ(t.n[1].dropped_peers, 0);
  /* Node 2 joins (linked to node 0): its record reaches node 1, which takes the item
   * when it is granted again. */
  tn_connect(&t, 0, 2);
  tn_run_until(&t, t.now + 1000);
  CHECK_EQ(grant(&t, 0, 1, o, len), 0);
  CHECK(repl_has(t.n[1].r, id));
  CHECK_EQ(peer_stats(&t, 1, 0).acks_sent, s0.acks_sent + 1);
  free(o);
  tn_free(&t);
}

static void test_signer_budget(void) {
  struct repl_config cfg = cfg_scoped();
  struct tn t;
  chain(&t, &cfg); /* node 2 (hostile) sits behind node 0 (honest) */
  uint64_t stored = 0, id_none = 0;
  for (uint32_t i = 0; i < FLOOD; i++) {
    size_t len;
    uint8_t id[OBJ_ID_LEN];
    uint8_t *o = item_for(&t, &t.n[2].kp, 1, 100 + i, &len, id);
    CHECK_EQ(grant(&t, 0, 1, o, len), 0);
    stored += repl_has(t.n[1].r, id);
    free(o);
  }
  struct repl_peer_stats s = peer_stats(&t, 1, 0);
  struct repl_stats rs;
  repl_stats(t.n[1].r, &rs);
  printf("  %u items of one signer through one neighbor: %llu stored, %llu deferred "
         "(signer budget %u a minute)\n", FLOOD, (unsigned long long)stored,
         (unsigned long long)s.signer_deferred, SIGNER_OBJS);
  CHECK_EQ(stored, SIGNER_OBJS); /* before the budget: all FLOOD */
  CHECK_EQ(rs.signer_over_budget, FLOOD - SIGNER_OBJS);
  CHECK_EQ(s.objects_invalid, 0);
  CHECK_EQ(t.n[1].dropped_peers, 0);
  CHECK_EQ(s.ingest_refused_msgs, 0); /* the neighbor's own budget is not what stopped it */
  /* Another signer (node 0 itself) through the same neighbor gets through whole. */
  for (uint32_t i = 0; i < HONEST; i++) {
    size_t len;
    uint8_t id[OBJ_ID_LEN];
    uint8_t *o = item_for(&t, &t.n[0].kp, 1, 5000 + i, &len, id);
    CHECK_EQ(grant(&t, 0, 1, o, len), 0);
    id_none += !repl_has(t.n[1].r, id);
    free(o);
  }
  CHECK_EQ(id_none, 0);
  /* A minute later the hostile signer's budget has refilled: one more is taken. */
  t.now += MIN_MS;
  size_t len;
  uint8_t id[OBJ_ID_LEN];
  uint8_t *o = item_for(&t, &t.n[2].kp, 1, 9999, &len, id);
  CHECK_EQ(grant(&t, 0, 1, o, len), 0);
  CHECK(repl_has(t.n[1].r, id));
  free(o);
  tn_free(&t);
}

/* More signers than REPL_SIGNERS_MAX: the least recently charged gives way (its budget
 * starts full again), a recently charged one keeps what it spent. The signers are made
 * known by hand (a live record slot each; no record is read). */
static void test_signer_table_cap(void) {
  struct repl_config cfg = cfg_scoped();
  struct tn t;
  tn_init(&t, 1, &cfg);
  struct repl *r = t.n[0].r;
  static struct repl_srec fake; /* never read: only "a live record" */
  const uint32_t n = REPL_SIGNERS_MAX + 50;
  uint8_t(*keys)[OBJ_KEY_LEN] = calloc(n, OBJ_KEY_LEN);
  for (uint32_t k = 0; k < n; k++) {
    keys[k][0] = 0xee, memcpy(keys[k] + 1, &k, sizeof k);
    uint32_t g = repl__node_of(r, keys[k]);
    CHECK(g != UINT32_MAX);
    r->nodes[g].rec = &fake, r->nodes[g].live = true;
  }
  struct obj_info oi;
  memset(&oi, 0, sizeof oi);
  oi.kind = ITEM;
  uint64_t now = t.now;
#define CHARGE(k) (memcpy(oi.signer, keys[k], OBJ_KEY_LEN), repl__signer_ok(r, NULL, &oi, 10, now))
  for (uint32_t j = 0; j < SIGNER_OBJS; j++) CHECK_EQ(CHARGE(0), 0);
  CHECK_EQ(CHARGE(0), MOMEDO_E_RATE); /* signer 0 spent its minute */
  for (uint32_t k = 1; k < REPL_SIGNERS_MAX; k++) CHECK_EQ(CHARGE(k), 0); /* the table is full */
  for (uint32_t j = 0; j < SIGNER_OBJS - 1; j++) CHECK_EQ(CHARGE(1), 0);
  CHECK_EQ(CHARGE(1), MOMEDO_E_RATE); /* signer 1 spent its minute too, and was charged last */
  CHECK_EQ(r->nsigners, REPL_SIGNERS_MAX);
  for (uint32_t k = REPL_SIGNERS_MAX; k < n; k++) CHECK_EQ(CHARGE(k), 0); /* 50 newcomers */
  CHECK_EQ(r->nsigners, REPL_SIGNERS_MAX);
  CHECK_EQ(CHARGE(0), 0);              /* least recently charged: forgotten, full again */
  CHECK_EQ(CHARGE(1), MOMEDO_E_RATE);  /* still known: still spent */
  for (uint32_t k = 2; k < 60; k++) CHECK_EQ(CHARGE(k), 0); /* 2..50 came back, full again */
#undef CHARGE
  for (uint32_t k = 0; k < n; k++) r->nodes[repl__node_of(r, keys[k])].rec = NULL;
  free(keys);
  tn_free(&t);
}

/* Node `at` accepts POSTS global items it signs itself, one input call each (as
 * momedod's posts), each pushed on at once. */
static void post_items(struct tn *t, int at) {
  for (uint32_t i = 0; i < POSTS; i++) {
    size_t len;
    uint8_t *o = tn_item(&t->n[at].kp, mbox, t->now, t->now + DAY_MS, 1 + i, 40, &len);
    if (repl_insert_local(t->n[at].r, ITEM, o, len, t->now, NULL)) abort();
    free(o);
    tn_pump(t);
  }
}

static uint64_t items_at(struct tn *t, int at) {
  struct repl_stats s;
  repl_stats(t->n[at].r, &s);
  return s.objects_by_kind[ITEM];
}

static uint64_t rounds_at(struct tn *t, int at) {
  struct repl_stats s;
  repl_stats(t->n[at].r, &s);
  return s.recon_rounds_started;
}

/* A -> B directly: all of A's own items are taken at once, none deferred. */
static void test_neighbor_own_items(void) {
  struct repl_config cfg = cfg_scoped();
  cfg.signer_ingest_objects_per_min = BUSY_OBJS;
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  tn_run_until(&t, t.now + 1000);
  uint64_t held0 = items_at(&t, 1);
  post_items(&t, 0);
  struct repl_stats rs;
  repl_stats(t.n[1].r, &rs);
  printf("  %u items of a neighbor pushed to it: %llu stored at once, %llu over the signer "
         "budget (%u a minute)\n", POSTS, (unsigned long long)(items_at(&t, 1) - held0),
         (unsigned long long)rs.signer_over_budget, BUSY_OBJS);
  CHECK_EQ(items_at(&t, 1) - held0, POSTS); /* before: BUSY_OBJS */
  CHECK_EQ(rs.signer_over_budget, 0);
  tn_free(&t);
}

/* 2 - 0 - 1: node 2's items reach node 1 through node 0, so node 2's signer budget at
 * node 1 applies. What it deferred is pulled again by a round within
 * REPL_DEFER_ROUND_MS (the periodic one is recon_interval_ms away), within the budget. */
static void test_deferred_pulled_soon(void) {
  struct repl_config cfg = cfg_scoped();
  cfg.signer_ingest_objects_per_min = BUSY_OBJS;
  struct tn t;
  chain(&t, &cfg);
  uint64_t held0 = items_at(&t, 1), t0 = t.now;
  post_items(&t, 2);
  CHECK_EQ(items_at(&t, 0) - held0, POSTS); /* node 0: node 2 is its neighbor */
  uint64_t burst = items_at(&t, 1) - held0;
  CHECK_EQ(burst, BUSY_OBJS); /* node 1: node 2's budget, the rest deferred */
  uint64_t rounds = rounds_at(&t, 1);
  tn_run_until(&t, t0 + REPL_DEFER_ROUND_MS + 1000);
  uint64_t soon = items_at(&t, 1) - held0;
  uint64_t bound = BUSY_OBJS + BUSY_OBJS * (t.now - t0) / MIN_MS + 1;
  printf("  %u items of a node behind a neighbor: %llu stored at once, %llu after %u ms "
         "(bound %llu), %llu rounds\n", POSTS, (unsigned long long)burst,
         (unsigned long long)soon, REPL_DEFER_ROUND_MS + 1000, (unsigned long long)bound,
         (unsigned long long)(rounds_at(&t, 1) - rounds));
  CHECK(rounds_at(&t, 1) > rounds); /* before: none until the periodic round */
  CHECK(soon > burst);
  CHECK(soon <= bound); /* the budget still holds */
  CHECK(cfg.recon_interval_ms > REPL_DEFER_ROUND_MS + 1000); /* what makes it "soon" */
  /* And so on, round after round, until node 1 holds them all. */
  tn_run_until(&t, t0 + (POSTS / BUSY_OBJS + 2) * MIN_MS);
  CHECK_EQ(items_at(&t, 1) - held0, POSTS);
  tn_free(&t);
}

int main(void) {
  memset(mbox, 0x5c, sizeof mbox);
  RUN(test_unknown_signer_waits);
  RUN(test_signer_budget);
  RUN(test_signer_table_cap);
  RUN(test_neighbor_own_items);
  RUN(test_deferred_pulled_soon);
  TEST_MAIN_END();
}
