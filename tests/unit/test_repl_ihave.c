/* tests/unit/test_repl_ihave.c — lazy item push (item_push = lazy, Plumtree): on a
 * stable complete graph the bodies after the first item travel a tree (RMR near 0,
 * eager ~4); a body lost after an announcement is grafted (from the next announcer when
 * the first stays silent); links going down and up keep every item at every node with
 * lazy push in use; malformed and over-budget announcements and grafts are refused. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define DAY_MS 86400000ull

static const uint8_t mbox[OBJ_MAILBOX_LEN] = {7, 7, 7};

/* Flooding, no reconciliation after the links' first (empty) rounds. */
static struct repl_config ihave_cfg(uint32_t mode) {
  struct repl_config c = tn_quiet_cfg();
  c.recon_interval_ms = DAY_MS;
  c.recon_jitter_ms = 0;
  c.item_push = mode;
  c.item_graft_timeout_ms = 1000;
  return c;
}

static uint8_t *item(uint32_t tag, uint64_t now, size_t *len) {
  struct crypto_sign_keypair k;
  tn_keypair(&k, 3);
  return tn_item(&k, mbox, now, now + DAY_MS, tag, 64, len);
}

static void insert(struct tn *t, int i, uint32_t tag, uint8_t id[OBJ_ID_LEN]) {
  size_t len;
  uint8_t *o = item(tag, t->now, &len);
  if (id) tn_id(ITEM, o, len, id);
  if (repl_insert_local(t->n[i].r, ITEM, o, len, t->now, NULL)) abort();
  free(o);
  tn_pump(t);
}

/* Bodies received over every link of the net. */
static uint64_t bodies(struct tn *t) {
  uint64_t n = 0;
  for (int i = 0; i < t->count; i++)
    for (int j = 0; j < t->count; j++) {
      struct repl_peer_stats ps;
      if (i != j && repl_peer_stats(t->n[i].r, tn_pid(j), &ps) == 0) n += ps.objects_received;
    }
  return n;
}

static struct repl_stats stats(struct tn *t, int i) {
  struct repl_stats s;
  repl_stats(t->n[i].r, &s);
  return s;
}

/* RMR of items 2..21 on a complete graph of 6: bodies / deliveries - 1. */
static double stable_rmr(uint32_t mode) {
  struct repl_config cfg = ihave_cfg(mode);
  struct tn t;
  tn_init(&t, 6, &cfg);
  for (int a = 0; a < 6; a++)
    for (int b = a + 1; b < 6; b++) tn_connect(&t, a, b);
  insert(&t, 0, 0, NULL); /* the first one prunes */
  uint64_t before = bodies(&t);
  for (uint32_t k = 1; k <= 20; k++) {
    insert(&t, (int)(k % 6), k, NULL);
    t.now += 100;
  }
  double rmr = (double)(bodies(&t) - before) / (20.0 * 5) - 1.0;
  for (int i = 0; i < 6; i++)
    if (repl_count(t.n[i].r) != 21) rmr = 99; /* every item everywhere */
  tn_free(&t);
  return rmr;
}

static void test_stable_rmr(void) {
  double eager = stable_rmr(REPL_ITEM_PUSH_EAGER), lazy = stable_rmr(REPL_ITEM_PUSH_LAZY);
  CHECK(eager > 3.5); /* 4: every node but the origin gets the body from all 5 peers */
  CHECK(lazy < 0.1);
}

/* Node 1 stores an item whose push to 0 is lost; 0 hears of it first from a peer that
 * never serves (99), then from 1: grafted from 99 after the timeout, from 1 after the
 * next, and the link 0-1 is eager. */
static void test_lost_body_grafted(void) {
  struct repl_config cfg = ihave_cfg(REPL_ITEM_PUSH_LAZY);
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  struct crypto_sign_keypair k9;
  tn_node_key(&k9, 9);
  CHECK_EQ(repl_peer_up(t.n[0].r, 99, k9.pub, t.now), 0);
  t.n[1].hold = true;
  uint8_t id[OBJ_ID_LEN];
  insert(&t, 1, 1, id);
  for (size_t i = 0; i < t.heldn; i++) free(t.held[i].bytes); /* lost */
  t.heldn = 0;
  t.n[1].hold = false;
  Momedo__ItemAnnounce a = MOMEDO__ITEM_ANNOUNCE__INIT;
  a.ids = (ProtobufCBinaryData){OBJ_ID_LEN, id};
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_IHAVE, m.ihave = &a;
  uint8_t buf[128];
  size_t n = momedo__repl_msg__pack(&m, buf);
  CHECK_EQ(repl_on_msg(t.n[0].r, 99, buf, n, t.now), 0);
  CHECK_EQ(repl_on_msg(t.n[0].r, tn_pid(1), buf, n, t.now), 0);
  tn_run_until(&t, t.now + 999);
  CHECK_EQ(stats(&t, 0).items_grafted, 0);
  tn_run_until(&t, t.now + 1);
  CHECK_EQ(stats(&t, 0).items_grafted, 1); /* asked 99 */
  CHECK(!repl_has(t.n[0].r, id));
  tn_run_until(&t, t.now + 1000);
  CHECK_EQ(stats(&t, 0).items_grafted, 2); /* then 1 */
  CHECK(repl_has(t.n[0].r, id));
  struct repl_peer_stats ps;
  CHECK_EQ(repl_peer_stats(t.n[1].r, tn_pid(0), &ps), 0);
  CHECK_EQ(ps.lazy_link, 0);
  tn_run_until(&t, t.now + 5000);
  CHECK_EQ(stats(&t, 0).items_grafted, 2);
  CHECK_EQ(stats(&t, 0).item_grafts_failed, 0);
  tn_free(&t);
}

/* Links of a 6-node mesh go down and come up while 60 items are posted; afterwards every
 * node holds every item, and lazy push was at work (prunes, announcements, grafts may
 * have happened; reconciliation repairs what a down link missed). */
static void test_churn_delivers(void) {
  struct repl_config cfg = ihave_cfg(REPL_ITEM_PUSH_LAZY);
  cfg.recon_interval_ms = 5000;
  cfg.recon_jitter_ms = 1000;
  struct tn t;
  tn_init(&t, 6, &cfg);
  static const int e[][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}, {0, 3}, {1, 4}, {2, 5}};
  enum { NE = sizeof e / sizeof e[0] };
  for (int i = 0; i < NE; i++) tn_connect(&t, e[i][0], e[i][1]);
  uint64_t x = 12345;
  for (uint32_t k = 0; k < 60; k++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    int l = (int)((x >> 33) % NE), a = e[l][0], b = e[l][1];
    if (t.link[a][b]) tn_disconnect(&t, a, b);
    else tn_connect(&t, a, b);
    insert(&t, (int)((x >> 40) % 6), k, NULL);
    tn_run_until(&t, t.now + 700);
  }
  for (int i = 0; i < NE; i++)
    if (!t.link[e[i][0]][e[i][1]]) tn_connect(&t, e[i][0], e[i][1]);
  tn_run_until(&t, t.now + 60000);
  uint64_t prunes = 0, announced = 0;
  for (int i = 0; i < 6; i++) {
    CHECK_EQ(repl_count(t.n[i].r), 60);
    prunes += stats(&t, i).prunes_sent, announced += stats(&t, i).items_announced;
  }
  CHECK(prunes > 0);
  CHECK(announced > 0);
  tn_free(&t);
}

static int send_ids(struct tn *t, int to, uint64_t peer, bool graft, const uint8_t *ids,
                    size_t len) {
  Momedo__ItemAnnounce a = MOMEDO__ITEM_ANNOUNCE__INIT;
  Momedo__ItemGraft g = MOMEDO__ITEM_GRAFT__INIT;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  if (graft) g.ids = (ProtobufCBinaryData){len, (uint8_t *)ids}, m.body_case = MOMEDO__REPL_MSG__BODY_GRAFT, m.graft = &g;
  else a.ids = (ProtobufCBinaryData){len, (uint8_t *)ids}, m.body_case = MOMEDO__REPL_MSG__BODY_IHAVE, m.ihave = &a;
  size_t n = momedo__repl_msg__get_packed_size(&m);
  uint8_t *buf = malloc(n);
  momedo__repl_msg__pack(&m, buf);
  int rc = repl_on_msg(t->n[to].r, peer, buf, n, t->now);
  free(buf);
  tn_pump(t);
  return rc;
}

/* Announcements and grafts of a length that is no multiple of 32 or names more than
 * REPL_IHAVE_IDS_MAX IDs are refused (E_BOUNDS, a strike); a graft for what the node
 * does not hold pushes nothing; beyond the peer's reconciliation budget nothing is
 * processed. */
static void test_malformed_refused(void) {
  struct repl_config cfg = ihave_cfg(REPL_ITEM_PUSH_LAZY);
  cfg.peer_recon_msgs_per_min = 10;
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  size_t big = (REPL_IHAVE_IDS_MAX + 1) * OBJ_ID_LEN;
  uint8_t *ids = calloc(1, big);
  CHECK_EQ(send_ids(&t, 0, tn_pid(1), false, ids, 33), MOMEDO_E_BOUNDS);
  CHECK_EQ(send_ids(&t, 0, tn_pid(1), true, ids, 31), MOMEDO_E_BOUNDS);
  CHECK_EQ(send_ids(&t, 0, tn_pid(1), false, ids, big), MOMEDO_E_BOUNDS);
  CHECK_EQ(send_ids(&t, 0, tn_pid(1), true, ids, big), MOMEDO_E_BOUNDS);
  struct repl_peer_stats ps;
  CHECK_EQ(repl_peer_stats(t.n[0].r, tn_pid(1), &ps), 0);
  CHECK_EQ(ps.msgs_malformed, 4);
  /* The most IDs one announcement may name are taken (here one ID, 4096 times). */
  CHECK_EQ(send_ids(&t, 0, tn_pid(1), false, ids, REPL_IHAVE_IDS_MAX * OBJ_ID_LEN), 0);
  CHECK_EQ(t.n[0].r->ngrafts, 1); /* 4096 times the same (zero) ID: one entry */
  uint64_t pushed = ps.objects_pushed;
  CHECK_EQ(send_ids(&t, 0, tn_pid(1), true, ids + OBJ_ID_LEN, OBJ_ID_LEN), 0);
  CHECK_EQ(repl_peer_stats(t.n[0].r, tn_pid(1), &ps), 0);
  CHECK_EQ(ps.objects_pushed, pushed);
  for (int i = 0; i < 20; i++) CHECK_EQ(send_ids(&t, 0, tn_pid(1), false, ids, OBJ_ID_LEN), 0);
  CHECK_EQ(repl_peer_stats(t.n[0].r, tn_pid(1), &ps), 0);
  CHECK(ps.recon_refused_msgs >= 10);
  free(ids);
  tn_free(&t);
}

int main(void) {
  RUN(test_stable_rmr);
  RUN(test_lost_body_grafted);
  RUN(test_churn_delivers);
  RUN(test_malformed_refused);
  TEST_MAIN_END();
}
