/* tests/unit/test_repl_scoped.c — scoped delivery in the engine over in-test networks:
 * node records (forged, replayed and one-sided links refused), link-state routes with an
 * alternative next hop, custody along a line (the middle keeps nothing), rerouting when
 * the next hop goes down, no loss across restarts between grant and ack, scope-1
 * reconciliation between destinations, and the layout-3 store upgrade. */
#include "cursor.h"
#include "harness.h"
#include "ids.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define RECORD MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD
#define BUNDLE MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE
#define ALIAS MOMEDO__OBJECT_KIND__OBJ_ALIAS

/* The second pass runs the tests with engines sharing one table (records held in the
 * table, not in the stores: the simulator's mode). */
static struct repl_shared *g_shared;
static uint8_t mbox[OBJ_MAILBOX_LEN];

static struct repl_config scoped_cfg(void) {
  struct repl_config c = tn_scoped_cfg();
  c.shared = g_shared;
  return c;
}

static void settle(struct tn *t, uint64_t ms) { tn_run_until(t, t->now + ms); }

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, OBJ_KEY_LEN); }

/* An item for mailbox `mbox` destined to the nodes idx[0..n) of t, signed by node 0 (the
 * accepting node; only a node known to the others may sign items, repl_budget.c). */
static uint8_t *item_to(struct tn *t, const int *idx, size_t n, uint32_t tag, size_t *len,
                        uint8_t id[OBJ_ID_LEN]) {
  uint8_t keys[8][OBJ_KEY_LEN];
  for (size_t i = 0; i < n; i++) memcpy(keys[i], t->n[idx[i]].kp.pub, OBJ_KEY_LEN);
  qsort(keys, n, OBJ_KEY_LEN, key_cmp);
  uint8_t *out = tn_item_to(&t->n[0].kp, mbox, t->now, t->now + 7 * 86400000ull, tag, 40,
                            (const uint8_t(*)[OBJ_KEY_LEN])keys, n, len);
  tn_id(ITEM, out, *len, id);
  return out;
}

/* A node record for `key` signed by `signer` (a forgery when they differ). */
static uint8_t *record(const struct crypto_sign_keypair *signer, const uint8_t *key, uint64_t seq,
                       uint64_t now, const uint8_t (*nb)[OBJ_KEY_LEN], size_t n, size_t *len) {
  return tn_record(signer, key, seq, now, nb, n, NULL, 0, len);
}

/* Node `to` receives one object pushed by neighbor `from`. */
static int push_from(struct tn *t, int from, int to, Momedo__ObjectKind kind, const uint8_t *o,
                     size_t len) {
  return tn_push_from(t, from, to, kind, o, len);
}

static struct repl_stats stats(struct tn *t, int i) {
  struct repl_stats s;
  repl_stats(t->n[i].r, &s);
  return s;
}

/* A line 0-1-2-3: routes through the records; an item for 3 accepted at 0 ends at 3
 * alone, every node before it handed it on and kept nothing. */
static void test_line_custody(void) {
  struct repl_config cfg = scoped_cfg();
  struct tn t;
  tn_init(&t, 4, &cfg);
  for (int i = 0; i < 3; i++) tn_connect(&t, i, i + 1);
  settle(&t, 1000);
  uint64_t peer = 0;
  uint32_t hops = 0;
  CHECK_EQ(repl_route(t.n[0].r, t.n[3].kp.pub, t.now, &peer, &hops), 0);
  CHECK_EQ(peer, tn_pid(1));
  CHECK_EQ(hops, 3);
  CHECK_EQ(repl_route(t.n[3].r, t.n[0].kp.pub, t.now, &peer, &hops), 0);
  CHECK_EQ(peer, tn_pid(2));
  CHECK_EQ(stats(&t, 2).records, 4);
  size_t len;
  uint8_t id[32];
  int d3[] = {3};
  uint8_t *o = item_to(&t, d3, 1, 1, &len, id);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), 0);
  CHECK_EQ(repl_role_of(t.n[0].r, id), REPL_ROLE_TRANSIT);
  CHECK_EQ(stats(&t, 0).pending_dests, 1);
  tn_pump(&t);
  settle(&t, 100);
  CHECK(repl_has(t.n[3].r, id));
  CHECK_EQ(repl_role_of(t.n[3].r, id), REPL_ROLE_DEST);
  uint64_t items = 0, bytes = 0;
  CHECK_EQ(repl_mailbox_count(t.n[3].r, mbox, &items, &bytes), 0);
  CHECK_EQ(items, 1);
  for (int i = 0; i < 3; i++) {
    struct repl_stats s = stats(&t, i);
    CHECK(!repl_has(t.n[i].r, id));
    CHECK_EQ(s.transit_objects, 0);
    CHECK_EQ(s.transit_bytes, 0);
    CHECK_EQ(s.pending_dests, 0);
    CHECK_EQ(s.transit_done, 1);
    CHECK_EQ(repl_mailbox_count(t.n[i].r, mbox, &items, &bytes), 0);
    CHECK_EQ(items, 0);
  }
  CHECK_EQ(stats(&t, 1).grants_recv, 1);
  CHECK_EQ(stats(&t, 3).dest_objects, 1);
  /* Reconciliation rounds later, nobody has fetched it back. */
  settle(&t, 200000);
  for (int i = 0; i < 3; i++) CHECK(!repl_has(t.n[i].r, id));
  /* A global-scope object still reaches everyone, and pushed without custody an item for
   * other nodes is not taken (and not held against the neighbor). */
  uint8_t gid[32], xid[32];
  size_t glen, xlen;
  uint8_t *g = item_to(&t, NULL, 0, 2, &glen, gid);
  CHECK_EQ(repl_insert_local(t.n[1].r, ITEM, g, glen, t.now, NULL), 0);
  tn_pump(&t);
  for (int i = 0; i < 4; i++) CHECK(repl_has(t.n[i].r, gid));
  uint8_t *x = item_to(&t, d3, 1, 3, &xlen, xid);
  CHECK_EQ(push_from(&t, 1, 0, ITEM, x, xlen), 0);
  CHECK(!repl_has(t.n[0].r, xid));
  struct repl_peer_stats ps;
  CHECK_EQ(repl_peer_stats(t.n[0].r, tn_pid(1), &ps), 0);
  CHECK_EQ(ps.objects_invalid, 0);
  free(o), free(g), free(x);
  tn_free(&t);
}

/* Records: forged, replayed (older seq) and one-sided links are refused. */
static void test_records_refused(void) {
  struct repl_config cfg = scoped_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  settle(&t, 1000);
  struct crypto_sign_keypair k5, k6;
  tn_node_key(&k5, 5);
  tn_node_key(&k6, 6);
  /* Node 5 has a link to node 1 (both list it) and claims one to node 6 (6 does not). */
  /* Peer ID 0 is custody's "granted to nobody": refused, not a re-grant storm. */
  CHECK_EQ(repl_peer_up(t.n[1].r, 0, k5.pub, t.now), MOMEDO_E_INVAL);
  CHECK_EQ(repl_peer_up(t.n[1].r, 99, k5.pub, t.now), 0);
  settle(&t, 1000);
  uint8_t nb[2][OBJ_KEY_LEN];
  memcpy(nb[0], t.n[1].kp.pub, OBJ_KEY_LEN);
  memcpy(nb[1], k6.pub, OBJ_KEY_LEN);
  qsort(nb, 2, OBJ_KEY_LEN, key_cmp);
  size_t l1, l2, l3, l4;
  uint8_t *forged = record(&k6, k5.pub, 10, t.now, nb, 2, &l1);
  uint64_t refused0 = stats(&t, 0).records_refused;
  CHECK_EQ(push_from(&t, 1, 0, RECORD, forged, l1), 0);
  CHECK_EQ(stats(&t, 0).records_refused, refused0 + 1);
  CHECK_EQ(stats(&t, 0).records, 2);
  uint8_t *newer = record(&k5, k5.pub, 10, t.now, nb, 2, &l2);
  uint8_t *older = record(&k5, k5.pub, 9, t.now, nb, 2, &l3);
  uint8_t *six = record(&k6, k6.pub, 3, t.now, NULL, 0, &l4);
  CHECK_EQ(push_from(&t, 1, 0, RECORD, newer, l2), 0);
  CHECK_EQ(stats(&t, 0).records, 3);
  CHECK_EQ(stats(&t, 0).record_bytes_recv > 0, 1);
  CHECK_EQ(push_from(&t, 1, 0, RECORD, older, l3), 0);
  CHECK_EQ(stats(&t, 0).records_refused, refused0 + 2);
  CHECK_EQ(push_from(&t, 1, 0, RECORD, newer, l2), 0); /* the same again: a duplicate */
  CHECK_EQ(stats(&t, 0).records_refused, refused0 + 2);
  CHECK_EQ(push_from(&t, 1, 0, RECORD, six, l4), 0);
  CHECK_EQ(stats(&t, 0).records, 4);
  /* 0-1-5 is mutual; 5-6 is claimed by 5 alone: no route over it. */
  uint64_t peer;
  uint32_t hops;
  CHECK_EQ(repl_route(t.n[0].r, k5.pub, t.now, &peer, &hops), 0);
  CHECK_EQ(hops, 2);
  CHECK_EQ(peer, tn_pid(1));
  CHECK_EQ(repl_route(t.n[0].r, k6.pub, t.now, &peer, &hops), MOMEDO_E_NOTFOUND);
  struct repl_peer_stats ps;
  CHECK_EQ(repl_peer_stats(t.n[0].r, tn_pid(1), &ps), 0);
  CHECK_EQ(ps.objects_invalid, 1); /* the forgery counts against the peer */
  /* After a restart the replayed record stays refused. */
  repl_free(t.n[0].r);
  tn_open(&t, 0, 77);
  if (repl_peer_up(t.n[0].r, tn_pid(1), t.n[1].kp.pub, t.now)) abort();
  tn_pump(&t);
  CHECK_EQ(stats(&t, 0).records, 4);
  CHECK_EQ(push_from(&t, 1, 0, RECORD, older, l3), 0);
  CHECK_EQ(stats(&t, 0).records_refused, 1);
  free(forged), free(newer), free(older), free(six);
  tn_free(&t);
}

struct alt_seen {
  const uint8_t *key;
  int has_alt;
  uint32_t hops;
};

static int find_node(void *ctx, const struct repl_node_info *n) {
  struct alt_seen *a = ctx;
  if (memcmp(n->key, a->key, OBJ_KEY_LEN) == 0) a->has_alt = n->has_alt, a->hops = n->hops;
  return 0;
}

/* A diamond 0-1-3, 0-2-3: 0 knows an alternative toward 3; its next hop goes down
 * holding an unacknowledged grant and the item goes the other way at once. The stuck
 * copy is handed on later as a duplicate; nothing stays behind anywhere. */
static void test_reroute(void) {
  struct repl_config cfg = scoped_cfg();
  struct tn t;
  tn_init(&t, 4, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 0, 2);
  tn_connect(&t, 1, 3);
  tn_connect(&t, 2, 3);
  settle(&t, 1000);
  struct alt_seen a = {.key = t.n[3].kp.pub};
  CHECK_EQ(repl_nodes(t.n[0].r, t.now, find_node, &a), 0);
  CHECK_EQ(a.hops, 2);
  CHECK(a.has_alt);
  uint64_t via;
  uint32_t hops;
  CHECK_EQ(repl_route(t.n[0].r, t.n[3].kp.pub, t.now, &via, &hops), 0);
  int p = (int)via - 1, q = p == 1 ? 2 : 1;
  t.n[p].hold = true; /* p takes the grant but neither acknowledges nor passes it on */
  size_t len;
  uint8_t id[32];
  int d3[] = {3};
  uint8_t *o = item_to(&t, d3, 1, 9, &len, id);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), 0);
  tn_pump(&t);
  CHECK(repl_has(t.n[p].r, id));
  CHECK(!repl_has(t.n[3].r, id));
  CHECK(repl_has(t.n[0].r, id)); /* not acknowledged: still ours */
  tn_disconnect(&t, 0, p);
  settle(&t, 10);
  CHECK(repl_has(t.n[3].r, id));
  CHECK(!repl_has(t.n[q].r, id));
  CHECK(!repl_has(t.n[0].r, id));
  /* p's held messages are lost; it comes back and retries: a duplicate at 3, released. */
  for (size_t i = 0; i < t.heldn; i++) free(t.held[i].bytes);
  t.heldn = 0;
  t.n[p].hold = false;
  settle(&t, 5000);
  CHECK(!repl_has(t.n[p].r, id));
  CHECK_EQ(stats(&t, p).transit_done, 1);
  CHECK_EQ(stats(&t, 3).dest_objects, 1);
  free(o);
  tn_free(&t);
}

/* Line 0-1-2, item for 2: the grant 0->1 is stored at 1 but its ack is lost; both 0 and
 * 1 restart over their stores before anything else. Nothing is lost: 0 grants again,
 * 1 (a duplicate) acknowledges, 1's own pending destination survives its restart. */
static void test_restart_between_grant_and_ack(void) {
  struct repl_config cfg = scoped_cfg();
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  t.n[1].hold = true;
  size_t len;
  uint8_t id[32];
  int d2[] = {2};
  uint8_t *o = item_to(&t, d2, 1, 5, &len, id);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), 0);
  tn_pump(&t);
  CHECK(repl_has(t.n[1].r, id));
  for (size_t i = 0; i < t.heldn; i++) free(t.held[i].bytes);
  t.heldn = 0;
  t.n[1].hold = false;
  for (int i = 0; i < 2; i++) {
    repl_free(t.n[i].r);
    t.n[i].r = NULL;
  }
  repl_peer_down(t.n[2].r, tn_pid(1), t.now);
  tn_open(&t, 0, 50);
  tn_open(&t, 1, 51);
  CHECK(repl_has(t.n[0].r, id));
  CHECK_EQ(stats(&t, 0).pending_dests, 1);
  CHECK_EQ(stats(&t, 1).pending_dests, 1);
  CHECK_EQ(repl_role_of(t.n[1].r, id), REPL_ROLE_TRANSIT);
  CHECK(!repl_has(t.n[2].r, id));
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  settle(&t, 5000);
  CHECK(repl_has(t.n[2].r, id));
  CHECK(!repl_has(t.n[0].r, id));
  CHECK(!repl_has(t.n[1].r, id));
  CHECK_EQ(stats(&t, 0).pending_dests, 0);
  CHECK_EQ(stats(&t, 1).pending_dests, 0);
  free(o);
  tn_free(&t);
}

/* Scope 1: destinations that are neighbors reconcile what they share, and only that.
 * Node 1 is reinstalled (empty store, same key) and gets back the item for {0, 1}, not
 * the one for {0, 2} it only carried. */
static void test_shared_recon(void) {
  struct repl_config cfg = scoped_cfg();
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  size_t l1, l2;
  uint8_t id1[32], id2[32];
  int d01[] = {0, 1}, d02[] = {0, 2};
  uint8_t *o1 = item_to(&t, d01, 2, 11, &l1, id1);
  uint8_t *o2 = item_to(&t, d02, 2, 12, &l2, id2);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o1, l1, t.now, NULL), 0);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o2, l2, t.now, NULL), 0);
  tn_pump(&t);
  settle(&t, 100);
  CHECK_EQ(repl_role_of(t.n[0].r, id1), REPL_ROLE_DEST);
  CHECK_EQ(repl_role_of(t.n[1].r, id1), REPL_ROLE_DEST);
  CHECK(repl_has(t.n[2].r, id2));
  CHECK(!repl_has(t.n[1].r, id2));
  tn_disconnect(&t, 0, 1);
  tn_disconnect(&t, 1, 2);
  repl_free(t.n[1].r);
  store_close(t.n[1].s);
  if (store_mem_open(&t.n[1].s)) abort();
  tn_open(&t, 1, 60);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  CHECK(repl_has(t.n[1].r, id1));
  CHECK_EQ(repl_role_of(t.n[1].r, id1), REPL_ROLE_DEST);
  CHECK(!repl_has(t.n[1].r, id2));
  settle(&t, 200000);
  CHECK(!repl_has(t.n[1].r, id2));
  free(o1), free(o2);
  tn_free(&t);
}

/* A store written by layout 3 (format-1 records, no scoped tables) opens in scoped mode:
 * its objects are global scope, held as a destination and reconciled (scope 0). */
static void test_layout3_upgrade(void) {
  struct repl_config cfg = scoped_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  repl_free(t.n[0].r);
  size_t len;
  uint8_t id[32];
  uint8_t *o = item_to(&t, NULL, 0, 21, &len, id);
  CHECK_EQ(repl__test_put_v1(t.n[0].s, ITEM, o, len, 1), 0);
  static const uint8_t layout_key[] = {REPL_T_META, 'l', 'a', 'y', 'o', 'u', 't'};
  uint8_t v3[4] = {0, 0, 0, 3}, *v = NULL;
  size_t vn = 0;
  CHECK_EQ(store_put1(t.n[0].s, layout_key, sizeof layout_key, v3, 4), 0);
  tn_open(&t, 0, 70);
  CHECK_EQ(store_get(t.n[0].s, layout_key, sizeof layout_key, (void **)&v, &vn), 0);
  CHECK_EQ(vn, 4);
  CHECK_EQ(v[3], REPL_LAYOUT_VERSION);
  free(v);
  CHECK_EQ(repl_role_of(t.n[0].r, id), REPL_ROLE_DEST);
  uint64_t items = 0, bytes = 0;
  CHECK_EQ(repl_mailbox_count(t.n[0].r, mbox, &items, &bytes), 0);
  CHECK_EQ(items, 1);
  tn_connect(&t, 0, 1);
  settle(&t, 1000);
  CHECK(repl_has(t.n[1].r, id));
  free(o);
  tn_free(&t);
}

/* Malformed custody messages are refused as a whole. */
static void test_bad_grant(void) {
  struct repl_config cfg = scoped_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  size_t len;
  uint8_t id[32];
  int d1[] = {1};
  uint8_t *o = item_to(&t, d1, 1, 31, &len, id);
  Momedo__Object ob = MOMEDO__OBJECT__INIT;
  ob.kind = ITEM;
  ob.data = (ProtobufCBinaryData){len, o};
  Momedo__Grant g = MOMEDO__GRANT__INIT, *gp = &g;
  g.object = &ob;
  g.dests = (ProtobufCBinaryData){31, t.n[0].kp.pub}; /* not a whole key */
  g.hops_left = 4;
  Momedo__CustodyGrant cg = MOMEDO__CUSTODY_GRANT__INIT;
  cg.n_grants = 1;
  cg.grants = &gp;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_GRANT;
  m.grant = &cg;
  uint8_t buf[4096];
  size_t n = momedo__repl_msg__pack(&m, buf);
  CHECK_EQ(repl_on_msg(t.n[0].r, tn_pid(1), buf, n, t.now), MOMEDO_E_BOUNDS);
  CHECK(!repl_has(t.n[0].r, id));
  /* The same grant well formed: stored as a destination and acknowledged. */
  g.dests = (ProtobufCBinaryData){32, t.n[1].kp.pub};
  n = momedo__repl_msg__pack(&m, buf);
  CHECK_EQ(repl_on_msg(t.n[1].r, tn_pid(0), buf, n, t.now), 0);
  CHECK_EQ(repl_role_of(t.n[1].r, id), REPL_ROLE_DEST);
  CHECK_EQ(stats(&t, 1).acks_sent, 1);
  free(o);
  tn_free(&t);
}

/* A key bundle of ident (one device) homed on node `home` of t. */
static uint8_t *bundle_at(struct tn *t, const struct crypto_sign_keypair *ident, int home,
                          size_t *len) {
  return tn_bundle_homed(t, ident, 1, &home, 1, len);
}

static uint8_t *alias_at(struct tn *t, const char *alias, const uint8_t *ikey, int home,
                         size_t *len) {
  ProtobufCBinaryData dn = {32, t->n[home].kp.pub};
  Momedo__Alias al = MOMEDO__ALIAS__INIT;
  al.format = 1;
  al.alias = (char *)alias;
  al.identity_key = (ProtobufCBinaryData){32, (uint8_t *)ikey};
  al.created_ms = t->now;
  al.expires_ms = t->now + 86400000ull;
  al.node_key = (ProtobufCBinaryData){32, t->n[home].kp.pub};
  al.n_dest_nodes = 1;
  al.dest_nodes = &dn;
  uint8_t *out = NULL;
  if (obj_sign_encode(ALIAS, &al.base, &t->n[home].kp, &out, len)) abort();
  return out;
}

/* Lookups on a line 0-1-2-3 for a user homed on 3: by user ID (summary match), by
 * alias, by identity with a hint; found and cached at 0 only; an unknown ID ends at once
 * without traffic; a silent candidate ends in the timeout. */
static void test_lookups(void) {
  struct repl_config cfg = scoped_cfg();
  cfg.record_min_interval_ms = 0;
  struct tn t;
  tn_init(&t, 4, &cfg);
  for (int i = 0; i < 3; i++) tn_connect(&t, i, i + 1);
  settle(&t, 1000);
  struct crypto_sign_keypair u;
  tn_keypair(&u, 0x61);
  size_t bl, al;
  uint8_t *b = bundle_at(&t, &u, 3, &bl), *a = alias_at(&t, "QQ11RR22", u.pub, 3, &al);
  CHECK_EQ(repl_insert_local(t.n[3].r, BUNDLE, b, bl, t.now, NULL), 0);
  CHECK_EQ(repl_insert_local(t.n[3].r, ALIAS, a, al, t.now, NULL), 0);
  tn_pump(&t);
  settle(&t, 1000); /* 3's record now carries the summary */
  for (int i = 0; i < 3; i++) CHECK_EQ(repl_count(t.n[i].r), 0);
  struct repl_lookup_req q;
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_USER_ID;
  CHECK_EQ(ids_user_id_bits(q.user_id, u.pub), 0);
  uint64_t h = 0;
  CHECK_EQ(repl_lookup_start(t.n[0].r, &q, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[0].lookups_done, 1);
  CHECK_EQ(t.n[0].last_lookup_handle, h);
  CHECK_EQ(t.n[0].last_lookup_status, 0);
  CHECK_MEM(t.n[0].last_lookup_info.key, u.pub, 32);
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn = 0;
  CHECK_EQ(repl_bundle_lookup_user_id(t.n[0].r, q.user_id, &info, &d, &dn), 0);
  CHECK_EQ(dn, bl);
  free(d);
  CHECK_EQ(stats(&t, 3).lookup_queries_answered, 1);
  CHECK_EQ(stats(&t, 0).cached_objects, 1);
  for (int i = 1; i < 3; i++) CHECK_EQ(repl_count(t.n[i].r), 0);
  CHECK_EQ(repl_bundle_lookup_user_id(t.n[1].r, q.user_id, &info, &d, &dn), MOMEDO_E_NOTFOUND);
  /* Node 1 asks by alias: the alias and the bundle come back. */
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_ALIAS;
  strcpy(q.alias, "QQ11RR22");
  CHECK_EQ(repl_lookup_start(t.n[1].r, &q, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[1].last_lookup_status, 0);
  CHECK_EQ(repl_alias_lookup(t.n[1].r, "QQ11RR22", t.now, &info, &d, &dn), 0);
  CHECK_EQ(dn, al);
  free(d);
  /* An unknown user: no summary matches, E_NOTFOUND at once, nothing sent. */
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_USER_ID;
  memset(q.user_id, 0xee, sizeof q.user_id);
  uint64_t before = t.delivered_msgs;
  CHECK_EQ(repl_lookup_start(t.n[0].r, &q, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.delivered_msgs, before);
  CHECK_EQ(t.n[0].last_lookup_handle, h);
  CHECK_EQ(t.n[0].last_lookup_status, MOMEDO_E_NOTFOUND);
  /* By identity with a hint, while the hinted node is silent: not found after the timeout. */
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_IDENTITY;
  memcpy(q.identity_key, u.pub, 32);
  q.n_hints = 1;
  memcpy(q.hints[0], t.n[3].kp.pub, 32);
  t.n[2].hold = true;
  CHECK_EQ(repl_lookup_start(t.n[2].r, &q, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[2].lookups_done, 0);
  settle(&t, cfg.lookup_timeout_ms + 1);
  CHECK_EQ(t.n[2].lookups_done, 1);
  CHECK_EQ(t.n[2].last_lookup_status, MOMEDO_E_NOTFOUND);
  for (size_t i = 0; i < t.heldn; i++) free(t.held[i].bytes);
  t.heldn = 0;
  t.n[2].hold = false;
  CHECK_EQ(repl_lookup_start(t.n[2].r, &q, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[2].last_lookup_status, 0);
  /* Cache time over: gone at 0. */
  settle(&t, cfg.lookup_cache_ms + 1);
  CHECK_EQ(repl_tick(t.n[0].r, t.now), 0);
  tn_pump(&t);
  memset(&q, 0, sizeof q);
  CHECK_EQ(ids_user_id_bits(q.user_id, u.pub), 0);
  CHECK_EQ(repl_bundle_lookup_user_id(t.n[0].r, q.user_id, &info, &d, &dn), MOMEDO_E_NOTFOUND);
  free(b), free(a);
  tn_free(&t);
}

/* Record refreshes with unchanged links cost no route search; a link going away does,
 * and after the hold-down the node's record withdraws it everywhere. */
static void test_refresh_and_holddown(void) {
  struct repl_config cfg = scoped_cfg();
  cfg.record_refresh_ms = 60000;
  cfg.route_holddown_ms = 10000;
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  settle(&t, 1000);
  uint64_t peer;
  uint32_t hops;
  CHECK_EQ(repl_route(t.n[0].r, t.n[2].kp.pub, t.now, &peer, &hops), 0);
  struct repl_stats a = stats(&t, 0);
  settle(&t, 65000);
  CHECK_EQ(repl_route(t.n[0].r, t.n[2].kp.pub, t.now, &peer, &hops), 0);
  struct repl_stats b = stats(&t, 0);
  CHECK(b.records_issued > a.records_issued);
  CHECK(b.route_incremental >= a.route_incremental + 2); /* 1's and 2's refreshes */
  CHECK_EQ(b.route_full + b.route_repairs, a.route_full + a.route_repairs); /* no search */
  /* 1-2 goes down: 1 stops routing to 2 at once (local knowledge); 0 still lists the
   * edge until 1's record withdraws it after the hold-down. */
  tn_disconnect(&t, 1, 2);
  CHECK_EQ(repl_route(t.n[1].r, t.n[2].kp.pub, t.now, &peer, &hops), MOMEDO_E_NOTFOUND);
  settle(&t, 1000);
  CHECK_EQ(repl_route(t.n[0].r, t.n[2].kp.pub, t.now, &peer, &hops), 0);
  settle(&t, 10000);
  CHECK_EQ(repl_route(t.n[0].r, t.n[2].kp.pub, t.now, &peer, &hops), MOMEDO_E_NOTFOUND);
  struct repl_stats c = stats(&t, 0);
  CHECK(c.route_full + c.route_repairs > b.route_full + b.route_repairs);
  tn_free(&t);
}

/* An item accepted before any route exists moves as soon as the records arrive, not a
 * retry interval later. */
static void test_waits_for_route(void) {
  struct repl_config cfg = scoped_cfg();
  cfg.custody_retry_ms = 60000;
  struct tn t;
  tn_init(&t, 3, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  size_t len;
  uint8_t id[32];
  int d2[] = {2};
  uint8_t *o = item_to(&t, d2, 1, 41, &len, id);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), 0);
  tn_pump(&t);
  CHECK(!repl_has(t.n[2].r, id));
  settle(&t, 1000);
  CHECK(repl_has(t.n[2].r, id));
  CHECK(!repl_has(t.n[0].r, id));
  free(o);
  tn_free(&t);
}

/* Hop budget 1: every holder must wait a retry interval before handing the item on. */
static void test_hop_budget(void) {
  struct repl_config cfg = scoped_cfg();
  cfg.custody_hops_max = 1;
  struct tn t;
  tn_init(&t, 4, &cfg);
  for (int i = 0; i < 3; i++) tn_connect(&t, i, i + 1);
  settle(&t, 1000);
  size_t len;
  uint8_t id[32];
  int d3[] = {3};
  uint8_t *o = item_to(&t, d3, 1, 51, &len, id);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), 0);
  tn_pump(&t);
  settle(&t, 100);
  CHECK(repl_has(t.n[1].r, id));
  CHECK(!repl_has(t.n[0].r, id)); /* acknowledged: released */
  CHECK(!repl_has(t.n[2].r, id));
  settle(&t, cfg.custody_retry_ms);
  CHECK(repl_has(t.n[2].r, id));
  CHECK(!repl_has(t.n[3].r, id));
  settle(&t, cfg.custody_retry_ms);
  CHECK(repl_has(t.n[3].r, id));
  for (int i = 0; i < 3; i++) CHECK(!repl_has(t.n[i].r, id));
  free(o);
  tn_free(&t);
}

/* Simulators: engines sharing a table start with each other's records (adopted, not
 * flooded) and route at once. */
static void test_records_adopt(void) {
  struct repl_config cfg = scoped_cfg();
  struct repl_shared *sh = NULL;
  CHECK_EQ(repl_shared_new(9, &sh), 0);
  cfg.shared = sh;
  struct tn t;
  tn_init(&t, 4, &cfg);
  for (int i = 0; i < 4; i++) t.n[i].hold = true;
  for (int i = 0; i < 3; i++) tn_connect(&t, i, i + 1);
  tn_run_until(&t, t.now); /* each signs its record (held: nobody receives it) */
  for (size_t i = 0; i < t.heldn; i++) free(t.held[i].bytes);
  t.heldn = 0;
  uint64_t peer;
  uint32_t hops;
  CHECK_EQ(repl_route(t.n[0].r, t.n[3].kp.pub, t.now, &peer, &hops), MOMEDO_E_NOTFOUND);
  for (int i = 0; i < 4; i++) CHECK_EQ(repl_records_adopt(t.n[i].r, t.now), 3);
  CHECK_EQ(repl_records_adopt(t.n[0].r, t.now), 0); /* nothing newer */
  tn_drain(&t);
  CHECK_EQ(t.heldn, 0); /* adopted records are not pushed on */
  CHECK_EQ(repl_route(t.n[0].r, t.n[3].kp.pub, t.now, &peer, &hops), 0);
  CHECK_EQ(hops, 3);
  CHECK_EQ(stats(&t, 2).records, 4);
  for (int i = 0; i < 4; i++) t.n[i].hold = false;
  size_t len;
  uint8_t id[32];
  int d3[] = {3};
  uint8_t *o = item_to(&t, d3, 1, 61, &len, id);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, o, len, t.now, NULL), 0);
  tn_pump(&t);
  CHECK(repl_has(t.n[3].r, id));
  CHECK(!repl_has(t.n[1].r, id));
  free(o);
  tn_free(&t);
  repl_shared_free(sh);
}

/* Engines sharing a table hold records once, but each decides for itself: what one
 * accepted is not known to another that never received it, a record one refused
 * (forged, stale) is not accepted anywhere by being in the table, and each keeps its
 * own newest seq. */
static void test_shared_table(void) {
  struct repl_config cfg = scoped_cfg();
  struct repl_shared *sh = NULL;
  CHECK_EQ(repl_shared_new(11, &sh), 0);
  cfg.shared = sh;
  struct tn t;
  tn_init(&t, 4, &cfg);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 2, 3); /* two separate nets */
  settle(&t, 1000);
  struct crypto_sign_keypair k5, k6;
  tn_node_key(&k5, 5);
  tn_node_key(&k6, 6);
  CHECK_EQ(repl_peer_up(t.n[1].r, 99, k5.pub, t.now), 0);
  CHECK_EQ(repl_peer_up(t.n[3].r, 99, k5.pub, t.now), 0);
  settle(&t, 1000);
  size_t l1, l2, l3;
  uint8_t nb1[1][OBJ_KEY_LEN], nb3[1][OBJ_KEY_LEN];
  memcpy(nb1[0], t.n[1].kp.pub, OBJ_KEY_LEN);
  memcpy(nb3[0], t.n[3].kp.pub, OBJ_KEY_LEN);
  uint8_t *newer = record(&k5, k5.pub, 10, t.now, nb1, 1, &l1);
  uint8_t *older = record(&k5, k5.pub, 9, t.now, nb3, 1, &l2);
  uint8_t *forged = record(&k6, k5.pub, 11, t.now, nb3, 1, &l3);
  CHECK_EQ(push_from(&t, 1, 0, RECORD, newer, l1), 0);
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 10);
  CHECK_EQ(tn_seq_at(&t, 2, k5.pub), 0); /* in the table, not known to engine 2 */
  uint64_t peer;
  uint32_t hops;
  CHECK_EQ(repl_route(t.n[2].r, k5.pub, t.now, &peer, &hops), MOMEDO_E_NOTFOUND);
  /* Engine 2 has not seen seq 10: the older record is new to it. */
  CHECK_EQ(push_from(&t, 3, 2, RECORD, older, l2), 0);
  CHECK_EQ(tn_seq_at(&t, 2, k5.pub), 9);
  t.now += cfg.route_spf_delay_ms; /* another node's record: searched after the delay */
  CHECK_EQ(repl_route(t.n[2].r, k5.pub, t.now, &peer, &hops), 0);
  CHECK_EQ(hops, 2);
  /* Engine 0 refuses it (stale for it), and keeps seq 10. */
  uint64_t ref0 = stats(&t, 0).records_refused, ref2 = stats(&t, 2).records_refused;
  CHECK_EQ(push_from(&t, 1, 0, RECORD, older, l2), 0);
  CHECK_EQ(stats(&t, 0).records_refused, ref0 + 1);
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 10);
  /* A forgery is refused by whoever gets it and moves nobody. */
  CHECK_EQ(push_from(&t, 3, 2, RECORD, forged, l3), 0);
  CHECK_EQ(stats(&t, 2).records_refused, ref2 + 1);
  CHECK_EQ(tn_seq_at(&t, 2, k5.pub), 9);
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 10);
  /* Served from the table by reconciliation: engine 2 learns seq 10 once linked to 0. */
  tn_connect(&t, 0, 2);
  settle(&t, 5000);
  CHECK_EQ(tn_seq_at(&t, 2, k5.pub), 10);
  CHECK_EQ(stats(&t, 2).records, 5);
  /* A restarted engine finds its records in the table (a kept store) ... */
  repl_free(t.n[2].r);
  tn_open(&t, 2, 78);
  CHECK_EQ(stats(&t, 2).records, 5);
  CHECK_EQ(tn_seq_at(&t, 2, k5.pub), 10);
  CHECK_EQ(repl_peer_up(t.n[2].r, tn_pid(3), t.n[3].kp.pub, t.now), 0);
  tn_pump(&t);
  ref2 = stats(&t, 2).records_refused;
  CHECK_EQ(push_from(&t, 3, 2, RECORD, older, l2), 0);
  CHECK_EQ(stats(&t, 2).records_refused, ref2 + 1); /* replay still refused */
  /* ... and none after its store was lost. */
  repl_free(t.n[2].r);
  repl_shared_forget(sh, t.n[2].kp.pub);
  tn_open(&t, 2, 79);
  CHECK_EQ(stats(&t, 2).records, 0);
  free(newer), free(older), free(forged);
  tn_free(&t);
  repl_shared_free(sh);
}

/* Scoped mode needs a signer and a name a record can carry. */
static void test_config(void) {
  struct repl_config cfg = scoped_cfg();
  struct store *s;
  struct repl *r = NULL;
  CHECK_EQ(store_mem_open(&s), 0);
  CHECK_EQ(repl_new(&cfg, s, 1, TN_T0, &r), MOMEDO_E_INVAL); /* no signer */
  struct crypto_sign_keypair kp;
  tn_node_key(&kp, 3);
  memcpy(cfg.self_key, kp.pub, 32);
  cfg.sign = tn_sign;
  cfg.sign_ctx = &kp;
  strcpy(cfg.name, "Rathaus Nord");
  CHECK_EQ(repl_new(&cfg, s, 1, TN_T0, &r), MOMEDO_E_INVAL);
  strcpy(cfg.name, "rathaus-nord.example");
  CHECK_EQ(repl_new(&cfg, s, 1, TN_T0, &r), 0);
  CHECK_EQ(repl_tick(r, TN_T0), 0);
  struct repl_stats st;
  repl_stats(r, &st);
  CHECK_EQ(st.records_issued, 1);
  CHECK_EQ(st.records, 1);
  repl_free(r);
  store_close(s);
}

int main(void) {
  memset(mbox, 0x5c, sizeof mbox);
  RUN(test_line_custody);
  RUN(test_records_refused);
  RUN(test_reroute);
  RUN(test_restart_between_grant_and_ack);
  RUN(test_shared_recon);
  RUN(test_layout3_upgrade);
  RUN(test_bad_grant);
  RUN(test_lookups);
  RUN(test_refresh_and_holddown);
  RUN(test_waits_for_route);
  RUN(test_hop_budget);
  RUN(test_records_adopt);
  RUN(test_config);
  RUN(test_shared_table);
  /* Again with a shared table: records in the table only. */
  void (*again[])(void) = {test_line_custody, test_records_refused, test_reroute,
                           test_restart_between_grant_and_ack, test_shared_recon,
                           test_lookups, test_refresh_and_holddown, test_waits_for_route,
                           test_hop_budget};
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
    if (repl_shared_new(100 + i, &g_shared)) abort();
    th_current_ = "shared table pass";
    again[i]();
    repl_shared_free(g_shared);
    g_shared = NULL;
  }
  TEST_MAIN_END();
}
