/* tests/unit/test_repl_net.c — the replication engine over a tiny in-test network
 * with real signed objects: eager push along a line (no echo), tombstones,
 * expiry, key bundle versions, cutting off a peer that sends invalid objects,
 * bounded per-peer queues, restart over the same store, mailbox queries. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define TOMB MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE
#define BUNDLE MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE

static struct crypto_sign_keypair node_kp, dev_kp, ident_kp;
static uint8_t dev_mbox[OBJ_MAILBOX_LEN];

static int peer_stat(struct tn *t, int node, int peer, struct repl_peer_stats *s) {
  return repl_peer_stats(t->n[node].r, tn_pid(peer), s);
}

static void test_line_push_no_echo(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  size_t len;
  uint8_t *o = tn_item(&node_kp, dev_mbox, t.now, t.now + 60000, 1, 50, &len), id[32];
  tn_id(ITEM, o, len, id);
  struct obj_info info;
  CHECK(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, &info) == 0);
  CHECK_MEM(info.id, id, 32);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), MOMEDO_E_EXISTS);
  tn_pump(&t); /* no timers: eager push alone */
  for (int i = 0; i < 3; i++) CHECK(repl_has(t.n[i].r, id));
  struct repl_peer_stats s;
  CHECK(peer_stat(&t, 1, 0, &s) == 0);
  CHECK_EQ(s.objects_received, 1);
  CHECK_EQ(s.objects_pushed, 0); /* B never echoed it to A */
  CHECK(peer_stat(&t, 1, 2, &s) == 0);
  CHECK_EQ(s.objects_pushed, 1);
  CHECK_EQ(s.objects_received, 0); /* C never sent it back */
  CHECK(peer_stat(&t, 0, 1, &s) == 0);
  CHECK_EQ(s.objects_received, 0);
  CHECK_EQ(t.n[2].stored, 1);
  /* The bytes arrive intact. */
  uint8_t *data = NULL;
  size_t dlen = 0;
  CHECK(repl_get_object(t.n[2].r, id, t.now, &info, &data, &dlen) == 0);
  CHECK_EQ(dlen, len);
  CHECK_MEM(data, o, len);
  CHECK_EQ(info.kind, ITEM);
  CHECK_EQ(info.expires_ms, t.now + 60000);
  free(data);
  free(o);
  tn_free(&t);
}

static void test_tombstone(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 4, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  size_t ilen, tlen;
  uint64_t exp = t.now + 3600000;
  uint8_t *item = tn_item(&node_kp, dev_mbox, t.now, exp, 7, 40, &ilen), id[32], tid[32];
  tn_id(ITEM, item, ilen, id);
  /* Node 3 keeps an old copy of the item while cut off. */
  CHECK(repl_insert_local(t.n[3].r, ITEM, item, ilen, t.now, NULL) == 0);
  CHECK(repl_insert_local(t.n[0].r, ITEM, item, ilen, t.now, NULL) == 0);
  tn_pump(&t);
  uint64_t items, bytes;
  CHECK(repl_mailbox_count(t.n[2].r, dev_mbox, &items, &bytes) == 0);
  CHECK_EQ(items, 1);
  CHECK_EQ(bytes, ilen);
  uint8_t *tomb = tn_tombstone(&dev_kp, id, t.now, exp, &tlen);
  tn_id(TOMB, tomb, tlen, tid);
  CHECK(repl_insert_local(t.n[2].r, TOMB, tomb, tlen, t.now, NULL) == 0);
  tn_pump(&t);
  for (int i = 0; i < 3; i++) {
    CHECK(!repl_has(t.n[i].r, id));
    CHECK(repl_has(t.n[i].r, tid));
    CHECK_EQ(t.n[i].removed, 1);
    uint8_t *d = NULL;
    size_t dn;
    CHECK_EQ(repl_get_object(t.n[i].r, id, t.now, NULL, &d, &dn), MOMEDO_E_NOTFOUND);
    CHECK(repl_mailbox_count(t.n[i].r, dev_mbox, &items, &bytes) == 0);
    CHECK_EQ(items, 0);
  }
  /* A late copy is not resurrected, locally or from a neighbor. */
  CHECK_EQ(repl_insert_local(t.n[1].r, ITEM, item, ilen, t.now, NULL), MOMEDO_E_DEAD);
  tn_connect(&t, 3, 0);
  tn_pump(&t);
  for (int i = 0; i < 4; i++) {
    CHECK(!repl_has(t.n[i].r, id));
    CHECK(repl_has(t.n[i].r, tid));
  }
  struct repl_peer_stats s;
  CHECK(peer_stat(&t, 0, 3, &s) == 0);
  CHECK_EQ(s.objects_invalid, 0);
  CHECK(tn_same(&t, 0, 3));
  /* A tombstone signed for another mailbox does not kill the item. */
  struct crypto_sign_keypair other;
  tn_keypair(&other, 0x77);
  uint8_t *item2 = tn_item(&node_kp, dev_mbox, t.now, exp, 8, 40, &ilen), id2[32];
  tn_id(ITEM, item2, ilen, id2);
  CHECK(repl_insert_local(t.n[0].r, ITEM, item2, ilen, t.now, NULL) == 0);
  uint8_t *tomb2 = tn_tombstone(&other, id2, t.now, exp, &tlen);
  CHECK(repl_insert_local(t.n[0].r, TOMB, tomb2, tlen, t.now, NULL) == 0);
  tn_pump(&t);
  CHECK(repl_has(t.n[2].r, id2));
  free(item), free(tomb), free(item2), free(tomb2);
  tn_free(&t);
}

static void test_expiry(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  uint64_t t0 = t.now;
  size_t len;
  uint8_t *a = tn_item(&node_kp, dev_mbox, t0, t0 + 5000, 1, 20, &len), ida[32], idb[32];
  tn_id(ITEM, a, len, ida);
  CHECK(repl_insert_local(t.n[0].r, ITEM, a, len, t.now, NULL) == 0);
  free(a);
  a = tn_item(&node_kp, dev_mbox, t0, t0 + 9000, 2, 20, &len);
  tn_id(ITEM, a, len, idb);
  CHECK(repl_insert_local(t.n[0].r, ITEM, a, len, t.now, NULL) == 0);
  free(a);
  tn_pump(&t);
  CHECK(repl_has(t.n[1].r, ida));
  CHECK_EQ(repl_next_deadline(t.n[1].r), t0 + 5000);
  tn_run_until(&t, t0 + 4999);
  CHECK(repl_has(t.n[0].r, ida) && repl_has(t.n[1].r, ida));
  tn_run_until(&t, t0 + 5000);
  CHECK(!repl_has(t.n[0].r, ida) && !repl_has(t.n[1].r, ida));
  CHECK(repl_has(t.n[0].r, idb) && repl_has(t.n[1].r, idb));
  CHECK_EQ(t.n[1].removed, 1);
  CHECK_EQ(repl_next_deadline(t.n[1].r) <= t0 + 9000, 1);
  tn_run_until(&t, t0 + 9000);
  CHECK_EQ(repl_count(t.n[0].r), 0);
  CHECK_EQ(repl_count(t.n[1].r), 0);
  struct repl_stats st;
  repl_stats(t.n[1].r, &st);
  CHECK_EQ(st.removed_expired, 2);
  CHECK_EQ(st.objects_by_kind[ITEM], 0);
  tn_free(&t);
}

static void test_bundle_versions(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  size_t l1, l2, l3;
  uint8_t *v1 = tn_bundle(&ident_kp, &dev_kp, 1, t.now, 0, &l1);
  uint8_t *v2 = tn_bundle(&ident_kp, &dev_kp, 2, t.now, 0, &l2);
  uint8_t *v3 = tn_bundle(&ident_kp, &dev_kp, 3, t.now, 1, &l3);
  uint8_t id1[32], id2[32], id3[32];
  tn_id(BUNDLE, v1, l1, id1), tn_id(BUNDLE, v2, l2, id2), tn_id(BUNDLE, v3, l3, id3);
  CHECK(repl_insert_local(t.n[0].r, BUNDLE, v1, l1, t.now, NULL) == 0);
  tn_pump(&t);
  CHECK(repl_has(t.n[1].r, id1));
  CHECK(repl_insert_local(t.n[1].r, BUNDLE, v2, l2, t.now, NULL) == 0);
  tn_pump(&t);
  for (int i = 0; i < 2; i++) {
    CHECK(!repl_has(t.n[i].r, id1));
    CHECK(repl_has(t.n[i].r, id2));
    struct obj_info info;
    uint8_t *d = NULL;
    size_t dn;
    CHECK(repl_bundle_lookup(t.n[i].r, ident_kp.pub, &info, &d, &dn) == 0);
    CHECK_EQ(info.version, 2);
    CHECK_EQ(dn, l2);
    CHECK_MEM(d, v2, l2);
    free(d);
  }
  CHECK_EQ(repl_insert_local(t.n[0].r, BUNDLE, v1, l1, t.now, NULL), MOMEDO_E_SUPERSEDED);
  /* A revocation replaces too. */
  CHECK(repl_insert_local(t.n[0].r, BUNDLE, v3, l3, t.now, NULL) == 0);
  tn_pump(&t);
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn;
  CHECK(repl_bundle_lookup(t.n[1].r, ident_kp.pub, &info, &d, &dn) == 0);
  CHECK_EQ(info.version, 3);
  CHECK_EQ(info.revoked, 1);
  free(d);
  CHECK_EQ(repl_count(t.n[1].r), 1);
  struct repl_stats st;
  repl_stats(t.n[1].r, &st);
  CHECK_EQ(st.removed_superseded, 2);
  CHECK_EQ(st.objects_by_kind[BUNDLE], 1);
  CHECK(tn_same(&t, 0, 1));
  free(v1), free(v2), free(v3);
  tn_free(&t);
}

/* Wrap one object into an encoded ReplMsg push. */
static uint8_t *push_msg(Momedo__ObjectKind kind, const uint8_t *data, size_t len, size_t *n) {
  Momedo__Object o = MOMEDO__OBJECT__INIT, *op = &o;
  o.kind = kind;
  o.data.data = (uint8_t *)data;
  o.data.len = len;
  Momedo__ObjectPush p = MOMEDO__OBJECT_PUSH__INIT;
  p.n_objects = 1;
  p.objects = &op;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PUSH;
  m.push = &p;
  *n = momedo__repl_msg__get_packed_size(&m);
  uint8_t *buf = malloc(*n);
  momedo__repl_msg__pack(&m, buf);
  return buf;
}

static void test_invalid_peer_cut_off(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  size_t len, n;
  uint8_t *o = tn_item(&node_kp, dev_mbox, t.now, t.now + 30 * 86400000ull, 3, 20, &len);
  o[len - 1] ^= 1; /* break the signature */
  uint8_t *msg = push_msg(ITEM, o, len, &n);
  for (unsigned i = 0; i < REPL_INVALID_MAX; i++) {
    CHECK(repl_on_msg(t.n[0].r, tn_pid(1), msg, n, t.now + i) == 0);
    tn_drain(&t);
  }
  CHECK_EQ(t.n[0].dropped_peers, 0);
  /* Garbage bytes count too and return a PROTO error. */
  static const uint8_t junk[] = {0x0a, 0xff, 0xff};
  int rc = repl_on_msg(t.n[0].r, tn_pid(1), junk, sizeof junk, t.now + 200);
  CHECK_EQ(momedo_status_kind(rc), MOMEDO_KIND_PROTO);
  tn_drain(&t);
  CHECK_EQ(t.n[0].dropped_peers, 1);
  CHECK_EQ(t.n[0].last_drop_status, MOMEDO_E_DECODE);
  CHECK(!t.link[0][1]);
  CHECK_EQ(repl_on_msg(t.n[0].r, tn_pid(1), msg, n, t.now), MOMEDO_E_UNEXPECTED);
  CHECK_EQ(repl_count(t.n[0].r), 0);
  /* Spread out over more than the window, the same number is tolerated. */
  tn_connect(&t, 0, 1);
  uint64_t step = REPL_INVALID_WINDOW_MS / REPL_INVALID_MAX + 1;
  for (unsigned i = 0; i < 3 * REPL_INVALID_MAX; i++) {
    CHECK(repl_on_msg(t.n[0].r, tn_pid(1), msg, n, t.now + 1000 + i * step) == 0);
    tn_drain(&t);
  }
  CHECK_EQ(t.n[0].dropped_peers, 1);
  struct repl_peer_stats s;
  CHECK(peer_stat(&t, 0, 1, &s) == 0);
  CHECK_EQ(s.objects_invalid, 3 * REPL_INVALID_MAX);
  free(o), free(msg);
  tn_free(&t);
}

static void test_bounded_queue(void) {
  struct repl_config cfg = tn_quiet_cfg();
  cfg.peer_queue_bytes_max = 64 * 1024;
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  t.n[0].no_ack = true; /* the node reports no progress */
  t.n[0].hold = true;   /* and nothing arrives */
  enum { N = 300 };
  for (uint32_t i = 0; i < N; i++) {
    size_t len;
    uint8_t *o = tn_item(&node_kp, dev_mbox, t.now, t.now + 3600000, 100 + i, 2000, &len);
    CHECK(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL) == 0);
    free(o);
    tn_drain(&t);
  }
  tn_run_until(&t, t.now + 10 * cfg.recon_interval_ms);
  struct repl_peer_stats s;
  CHECK(peer_stat(&t, 0, 1, &s) == 0);
  CHECK(s.queued_bytes <= cfg.peer_queue_bytes_max + REPL_PUSH_BYTES_MAX);
  CHECK(s.withheld > 0);
  CHECK(s.objects_pushed < N);
  size_t held = 0;
  for (size_t i = 0; i < t.heldn; i++) held += t.held[i].len;
  CHECK_EQ(held, s.queued_bytes);
  /* The link recovers: what was sent arrives, the node reports progress, and
   * reconciliation repairs everything that was withheld. */
  t.n[0].hold = false;
  t.n[0].no_ack = false;
  for (size_t i = 0; i < t.heldn; i++)
    tn_msg_add(&t.q, &t.qn, &t.qcap, t.held[i]);
  t.heldn = 0;
  repl_peer_sent(t.n[0].r, tn_pid(1), held, t.now);
  tn_pump(&t);
  tn_run_until(&t, t.now + 1);
  CHECK_EQ(repl_count(t.n[1].r), N);
  CHECK(tn_same(&t, 0, 1));
  tn_free(&t);
}

struct fetch_log {
  uint64_t seqs[16];
  size_t n;
};

static int fetch_cb(void *ctx, uint64_t seq, const struct obj_info *info, const uint8_t *data,
                    size_t len) {
  struct fetch_log *f = ctx;
  (void)info, (void)data, (void)len;
  f->seqs[f->n++] = seq;
  return 0;
}

static void test_restart_and_mailbox(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct store *s;
  struct repl *r;
  CHECK(store_mem_open(&s) == 0);
  uint64_t now = TN_T0;
  CHECK(repl_new(&cfg, s, 1, now, &r) == 0);
  uint8_t ids[5][32];
  for (uint32_t i = 0; i < 5; i++) {
    size_t len;
    uint8_t *o = tn_item(&node_kp, dev_mbox, now, now + 60000 + i, i, 30, &len);
    tn_id(ITEM, o, len, ids[i]);
    CHECK(repl_insert_local(r, ITEM, o, len, now, NULL) == 0);
    free(o);
  }
  size_t bl, tl;
  uint8_t *b = tn_bundle(&ident_kp, &dev_kp, 4, now, 0, &bl);
  CHECK(repl_insert_local(r, BUNDLE, b, bl, now, NULL) == 0);
  uint8_t *tb = tn_tombstone(&dev_kp, ids[1], now, now + 60000, &tl);
  CHECK(repl_insert_local(r, TOMB, tb, tl, now, NULL) == 0);
  struct fetch_log f = {{0}, 0};
  CHECK_EQ(repl_mailbox_fetch(r, dev_mbox, 1, 10, now, fetch_cb, &f), 4);
  CHECK_EQ(f.seqs[0], 1);
  CHECK_EQ(f.seqs[1], 3);
  CHECK_EQ(f.seqs[3], 5);
  uint8_t fp[16], fp2[16];
  repl_fingerprint(r, fp);
  uint64_t count = repl_count(r);
  struct repl_action a;
  while (repl_next_action(r, &a)) CHECK(a.kind != REPL_ACT_SEND);
  repl_free(r);
  /* Restart on the same store. */
  CHECK(repl_new(&cfg, s, 2, now, &r) == 0);
  CHECK_EQ(repl_count(r), count);
  repl_fingerprint(r, fp2);
  CHECK_MEM(fp, fp2, 16);
  struct repl_stats st;
  repl_stats(r, &st);
  CHECK_EQ(st.objects_by_kind[ITEM], 4);
  CHECK_EQ(st.objects_by_kind[BUNDLE], 1);
  CHECK_EQ(st.objects_by_kind[TOMB], 1);
  CHECK_EQ(st.next_seq, 6);
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn;
  CHECK(repl_bundle_lookup(r, ident_kp.pub, &info, &d, &dn) == 0);
  CHECK_EQ(info.version, 4);
  free(d);
  CHECK(repl_get_object(r, ids[3], now, &info, &d, &dn) == 0);
  CHECK_EQ(info.expires_ms, now + 60003);
  CHECK_MEM(info.signer, node_kp.pub, 32);
  free(d);
  /* Cursor semantics: from seq 4 on, and a limit. */
  f.n = 0;
  CHECK_EQ(repl_mailbox_fetch(r, dev_mbox, 4, 1, now, fetch_cb, &f), 1);
  CHECK_EQ(f.seqs[0], 4);
  /* Sequence numbers continue after a restart, never reused. */
  size_t len;
  uint8_t *o = tn_item(&node_kp, dev_mbox, now, now + 60000, 99, 30, &len);
  CHECK(repl_insert_local(r, ITEM, o, len, now, NULL) == 0);
  free(o);
  CHECK(repl_next_action(r, &a) == 1);
  CHECK_EQ(a.kind, REPL_ACT_STORED);
  CHECK_EQ(a.seq, 6);
  /* The tombstoned item stays dead after the restart. */
  CHECK(!repl_has(r, ids[1]));
  /* Expired but not yet collected: fetch and get skip them (seq 1, 3 and 6 have
   * expired at +60002, seq 2 was tombstoned). */
  f.n = 0;
  CHECK_EQ(repl_mailbox_fetch(r, dev_mbox, 1, 10, now + 60002, fetch_cb, &f), 2);
  CHECK_EQ(f.seqs[0], 4);
  CHECK_EQ(f.seqs[1], 5);
  CHECK_EQ(repl_get_object(r, ids[0], now + 60000, &info, &d, &dn), MOMEDO_E_NOTFOUND);
  uint64_t items, bytes;
  CHECK(repl_mailbox_count(r, dev_mbox, &items, &bytes) == 0);
  CHECK_EQ(items, 5);
  free(b), free(tb);
  repl_free(r);
  store_close(s);
}

static void test_malformed_recon(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  /* Bounds not increasing; an IDs range whose count runs past the end; a bad mode. */
  static const uint8_t bad1[] = {0x41, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                 0x41, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t bad2[] = {0x80, 0x00, 0x05, 1, 2, 3};
  static const uint8_t bad3[] = {0xc1, 0x10};
  const uint8_t *bads[] = {bad1, bad2, bad3};
  size_t lens[] = {sizeof bad1, sizeof bad2, sizeof bad3};
  for (int i = 0; i < 3; i++) {
    Momedo__Recon rc = MOMEDO__RECON__INIT;
    rc.ranges.data = (uint8_t *)bads[i];
    rc.ranges.len = lens[i];
    Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
    m.body_case = MOMEDO__REPL_MSG__BODY_RECON;
    m.recon = &rc;
    uint8_t buf[128];
    size_t n = momedo__repl_msg__pack(&m, buf);
    int r = repl_on_msg(t.n[0].r, tn_pid(1), buf, n, t.now);
    CHECK_EQ(momedo_status_kind(r), MOMEDO_KIND_PROTO);
  }
  struct repl_peer_stats s;
  CHECK(peer_stat(&t, 0, 1, &s) == 0);
  CHECK_EQ(s.msgs_malformed, 3);
  tn_drain(&t);
  CHECK_EQ(t.qn, 0); /* nothing answered */
  tn_free(&t);
}

int main(void) {
  tn_keypair(&node_kp, 0x01);
  tn_keypair(&dev_kp, 0x02);
  tn_keypair(&ident_kp, 0x03);
  if (obj_device_mailbox(dev_mbox, dev_kp.pub)) return 1;
  RUN(test_line_push_no_echo);
  RUN(test_tombstone);
  RUN(test_expiry);
  RUN(test_bundle_versions);
  RUN(test_invalid_peer_cut_off);
  RUN(test_bounded_queue);
  RUN(test_restart_and_mailbox);
  RUN(test_malformed_recon);
  TEST_MAIN_END();
}
