/* tests/unit/test_repl_lazy.c — lazy push of node records (record_push = lazy): a
 * record relayed by a neighbor is announced, pulled and arrives without a
 * reconciliation round; an announcer that never serves does not stall it (the next
 * announcer is asked after record_pull_timeout_ms); eager mode still pushes whole
 * records; malformed announcements are refused; a restart with the same links issues
 * no new record. */
#include "cursor.h"
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define RECORD MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD
#define DAY_MS 86400000ull

/* Scoped, lazy, and no reconciliation after the first rounds: what arrives came by
 * push, announcement or pull. */
static struct repl_config lazy_cfg(void) {
  struct repl_config c;
  repl_config_default(&c);
  c.scope = REPL_SCOPE_SCOPED;
  c.recon_start_delay_ms_max = 0;
  c.recon_interval_ms = DAY_MS;
  c.recon_jitter_ms = 0;
  c.route_holddown_ms = 0;
  c.record_pull_timeout_ms = 2000;
  return c;
}

static struct repl_stats stats(struct tn *t, int i) {
  struct repl_stats s;
  repl_stats(t->n[i].r, &s);
  return s;
}

static uint8_t *record(const struct crypto_sign_keypair *k, uint64_t seq, uint64_t now,
                       const uint8_t *nb_key, size_t *len) {
  ProtobufCBinaryData d = {OBJ_KEY_LEN, (uint8_t *)nb_key};
  Momedo__NodeRecord m = MOMEDO__NODE_RECORD__INIT;
  m.format = 1;
  m.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)k->pub};
  m.seq = seq;
  m.created_ms = now;
  m.expires_ms = now + DAY_MS;
  m.name = "lazy.test";
  m.n_neighbors = 1;
  m.neighbors = &d;
  uint8_t *out = NULL;
  if (obj_sign_encode(RECORD, &m.base, k, &out, len)) abort();
  return out;
}

/* A ReplMsg body to engine i as if from peer id `peer`. */
static int deliver(struct tn *t, int i, uint64_t peer, Momedo__ReplMsg *m) {
  size_t n = momedo__repl_msg__get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  momedo__repl_msg__pack(m, buf);
  int rc = repl_on_msg(t->n[i].r, peer, buf, n, t->now);
  free(buf);
  tn_pump(t);
  return rc;
}

static int push_raw(struct tn *t, int i, uint64_t peer, const uint8_t *o, size_t len) {
  Momedo__Object ob = MOMEDO__OBJECT__INIT, *op = &ob;
  ob.kind = RECORD;
  ob.data = (ProtobufCBinaryData){len, (uint8_t *)o};
  Momedo__ObjectPush p = MOMEDO__OBJECT_PUSH__INIT;
  p.n_objects = 1;
  p.objects = &op;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PUSH;
  m.push = &p;
  return deliver(t, i, peer, &m);
}

static int announce_raw(struct tn *t, int i, uint64_t peer, const uint8_t *ref, size_t len) {
  Momedo__RecordAnnounce a = MOMEDO__RECORD_ANNOUNCE__INIT;
  a.refs = (ProtobufCBinaryData){len, (uint8_t *)ref};
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_ANNOUNCE;
  m.announce = &a;
  return deliver(t, i, peer, &m);
}

/* A line 0-1-2: 0's new record is pushed to 1 (its own), announced by 1 to 2, pulled
 * by 2; no round ran meanwhile. Eager mode: pushed on whole, nothing pulled. */
static void run_relay(uint32_t mode) {
  struct repl_config cfg = lazy_cfg();
  cfg.record_push = mode;
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  tn_run_until(&t, t.now + 10000);
  uint64_t rounds = stats(&t, 2).recon_rounds_started + stats(&t, 1).recon_rounds_started;
  uint64_t pulled = stats(&t, 2).records_pulled, announced = stats(&t, 1).records_announced;
  uint64_t before = tn_seq_at(&t, 2, t.n[0].kp.pub);
  CHECK(before > 0);
  /* 0 gains a link to an outside node: a new own record. */
  struct crypto_sign_keypair k5;
  tn_node_key(&k5, 5);
  CHECK_EQ(repl_peer_up(t.n[0].r, 99, k5.pub, t.now), 0);
  tn_run_until(&t, t.now + 1000);
  uint64_t now0 = tn_seq_at(&t, 0, t.n[0].kp.pub);
  CHECK(now0 > before);
  CHECK_EQ(tn_seq_at(&t, 2, t.n[0].kp.pub), now0);
  CHECK_EQ(stats(&t, 2).recon_rounds_started + stats(&t, 1).recon_rounds_started, rounds);
  if (mode == REPL_RECORD_PUSH_LAZY) {
    CHECK(stats(&t, 1).records_announced > announced);
    CHECK(stats(&t, 2).records_pulled > pulled);
  } else {
    CHECK_EQ(stats(&t, 1).records_announced, 0);
    CHECK_EQ(stats(&t, 2).records_pulled, 0);
  }
  tn_free(&t);
}

static void test_announced_is_pulled(void) { run_relay(REPL_RECORD_PUSH_LAZY); }
static void test_eager_pushes(void) { run_relay(REPL_RECORD_PUSH_EAGER); }

/* Engine 0 hears of node 5's record first from peer 99, which never serves it, then
 * from engine 1: after record_pull_timeout_ms it pulls from 1, and routes to 5. */
static void test_silent_announcer(void) {
  struct repl_config cfg = lazy_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  tn_run_until(&t, t.now + 5000);
  struct crypto_sign_keypair k5, k7;
  tn_node_key(&k5, 5);
  tn_node_key(&k7, 7);
  CHECK_EQ(repl_peer_up(t.n[0].r, 99, k7.pub, t.now), 0); /* the silent one */
  CHECK_EQ(repl_peer_up(t.n[1].r, 98, k5.pub, t.now), 0);
  tn_run_until(&t, t.now + 1000);
  size_t len;
  uint8_t *rec = record(&k5, 10, t.now, t.n[1].kp.pub, &len), ref[72];
  memcpy(ref, k5.pub, OBJ_KEY_LEN);
  be64_put(ref + OBJ_KEY_LEN, 10);
  tn_id(RECORD, rec, len, ref + OBJ_KEY_LEN + 8);
  CHECK_EQ(announce_raw(&t, 0, 99, ref, sizeof ref), 0);
  CHECK_EQ(stats(&t, 0).records_pulled, 1); /* asked 99 */
  CHECK_EQ(push_raw(&t, 1, 98, rec, len), 0); /* 1 gets it, announces it to 0 */
  CHECK_EQ(tn_seq_at(&t, 1, k5.pub), 10);
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 0); /* still waiting for 99 */
  CHECK_EQ(stats(&t, 0).records_pulled, 1);
  tn_run_until(&t, t.now + cfg.record_pull_timeout_ms + 10);
  CHECK_EQ(stats(&t, 0).records_pulled, 2); /* then asked 1 */
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 10);
  uint64_t peer;
  uint32_t hops;
  t.now += cfg.route_spf_delay_ms; /* another node's record: searched after the delay */
  CHECK_EQ(repl_route(t.n[0].r, k5.pub, t.now, &peer, &hops), 0);
  CHECK_EQ(peer, tn_pid(1));
  CHECK_EQ(hops, 2);
  CHECK_EQ(stats(&t, 0).record_pulls_failed, 0);
  /* Announced again (a duplicate): nothing more to pull. */
  CHECK_EQ(announce_raw(&t, 0, 99, ref, sizeof ref), 0);
  CHECK_EQ(stats(&t, 0).records_pulled, 2);
  free(rec);
  tn_free(&t);
}

/* Bounds: a ref list that is not whole refs is a protocol error; a pull for anything
 * but a live record gets nothing. */
static void test_bad_announce(void) {
  struct repl_config cfg = lazy_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  tn_run_until(&t, t.now + 1000);
  uint8_t ref[73] = {0};
  CHECK_EQ(announce_raw(&t, 0, tn_pid(1), ref, sizeof ref), MOMEDO_E_BOUNDS);
  Momedo__RecordPull q = MOMEDO__RECORD_PULL__INIT;
  uint8_t ids[64];
  memset(ids, 0x42, sizeof ids);
  q.ids = (ProtobufCBinaryData){33, ids};
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PULL;
  m.pull = &q;
  CHECK_EQ(deliver(&t, 0, tn_pid(1), &m), MOMEDO_E_BOUNDS);
  q.ids.len = 64;
  uint64_t pushed = stats(&t, 0).push_bytes_sent;
  CHECK_EQ(deliver(&t, 0, tn_pid(1), &m), 0);
  CHECK_EQ(stats(&t, 0).push_bytes_sent, pushed);
  tn_free(&t);
}

/* A restart back within the hold-down with the same links signs no new record; one
 * whose link stays away is withdrawn when the hold-down ends. */
static void test_restart_same_links(void) {
  struct repl_config cfg = lazy_cfg();
  cfg.route_holddown_ms = 30000;
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 0, 2);
  tn_run_until(&t, t.now + 5000);
  uint64_t seq = tn_seq_at(&t, 1, t.n[0].kp.pub);
  CHECK(seq > 0);
  repl_free(t.n[0].r);
  t.n[0].r = NULL;
  t.link[0][1] = t.link[1][0] = t.link[0][2] = t.link[2][0] = false;
  repl_peer_down(t.n[1].r, tn_pid(0), t.now);
  repl_peer_down(t.n[2].r, tn_pid(0), t.now);
  tn_run_until(&t, t.now + 10000);
  tn_open(&t, 0, 55);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 0, 2);
  tn_run_until(&t, t.now + 60000);
  CHECK_EQ(stats(&t, 0).records_issued, 0);
  CHECK(stats(&t, 0).records_kept >= 1);
  CHECK_EQ(tn_seq_at(&t, 1, t.n[0].kp.pub), seq);
  /* Again, but 2 stays away: withdrawn after the hold-down. */
  repl_free(t.n[0].r);
  t.n[0].r = NULL;
  t.link[0][1] = t.link[1][0] = t.link[0][2] = t.link[2][0] = false;
  repl_peer_down(t.n[1].r, tn_pid(0), t.now);
  repl_peer_down(t.n[2].r, tn_pid(0), t.now);
  tn_open(&t, 0, 56);
  tn_connect(&t, 0, 1);
  tn_run_until(&t, t.now + 10000);
  CHECK_EQ(stats(&t, 0).records_issued, 0);
  tn_run_until(&t, t.now + 30000);
  CHECK_EQ(stats(&t, 0).records_issued, 1);
  CHECK(tn_seq_at(&t, 1, t.n[0].kp.pub) > seq);
  tn_free(&t);
}

int main(void) {
  RUN(test_announced_is_pulled);
  RUN(test_eager_pushes);
  RUN(test_silent_announcer);
  RUN(test_bad_announce);
  RUN(test_restart_same_links);
  TEST_MAIN_END();
}
