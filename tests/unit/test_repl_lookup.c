/* tests/unit/test_repl_lookup.c — the lookup indexes replication writes in the same
 * batch as their object (user ID -> bundle, alias -> alias object, identity -> alias,
 * device mailboxes), the alias collision rule (oldest identity keeps the string, on
 * every node whatever the arrival order), the layout upgrades of version-1 and -2 stores
 * (mailbox counters derived from the records, sequence numbers never reused), and
 * dead markers: an item killed by a tombstone that expires first is not resurrected
 * after the tombstone is gone. */
#include "cursor.h"
#include "harness.h"
#include "ids.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define TOMB MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE
#define BUNDLE MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE
#define ALIAS MOMEDO__OBJECT_KIND__OBJ_ALIAS
#define MIN_MS 60000ull
#define DAY_MS (24ull * 3600 * 1000)

static struct crypto_sign_keypair node_kp, dev_kp, ident_kp, ident2_kp, evil_kp;
static uint8_t dev_mbox[OBJ_MAILBOX_LEN];

/* ---- a store that counts writes (to show one object = one batch) ---- */

struct cstore {
  struct store base;
  struct store *in;
  int writes;
};

static int cs_get(struct store *s, const void *k, size_t kn, void **v, size_t *vn) {
  return store_get(((struct cstore *)s)->in, k, kn, v, vn);
}
static int cs_write(struct store *s, const struct store_batch *b) {
  ((struct cstore *)s)->writes++;
  return store_write(((struct cstore *)s)->in, b);
}
static int cs_iter(struct store *s, const void *lo, size_t lon, const void *hi, size_t hin,
                   store_iter_fn fn, void *ctx) {
  return store_iter(((struct cstore *)s)->in, lo, lon, hi, hin, fn, ctx);
}
static void cs_close(struct store *s) { (void)s; }
static const struct store_vtbl cs_vt = {cs_get, cs_write, cs_iter, cs_close};

static void test_user_id_index_same_batch(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct store *mem;
  struct repl *r;
  CHECK_EQ(store_mem_open(&mem), 0);
  struct cstore cs = {{&cs_vt}, mem, 0};
  uint64_t now = TN_T0;
  CHECK_EQ(repl_new(&cfg, &cs.base, 1, now, &r), 0);
  int w0 = cs.writes;
  size_t bl;
  uint8_t *b = tn_bundle(&ident_kp, &dev_kp, 1, now, 0, &bl), bits[IDS_USER_ID_BYTES];
  CHECK_EQ(repl_insert_local(r, BUNDLE, b, bl, now, NULL), 0);
  CHECK_EQ(cs.writes - w0, 1); /* the bundle, 'b', 'u' and 'v' in one batch */
  char uid[IDS_USER_ID_STR_MAX];
  CHECK_EQ(ids_user_id(uid, ident_kp.pub), 0);
  CHECK_EQ(ids_user_id_parse(bits, uid), 0);
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn = 0;
  CHECK_EQ(repl_bundle_lookup_user_id(r, bits, &info, &d, &dn), 0);
  CHECK_EQ(dn, bl);
  CHECK_MEM(d, b, bl);
  CHECK_MEM(info.key, ident_kp.pub, 32);
  free(d);
  CHECK_EQ(repl_is_device_mailbox(r, dev_mbox), 1);
  uint8_t other[OBJ_MAILBOX_LEN] = {9};
  CHECK_EQ(repl_is_device_mailbox(r, other), 0);
  bits[0] ^= 0x80;
  CHECK_EQ(repl_bundle_lookup_user_id(r, bits, &info, &d, &dn), MOMEDO_E_NOTFOUND);
  bits[0] ^= 0x80;
  /* A newer version is found through the same user ID, also after a restart. */
  free(b);
  b = tn_bundle(&ident_kp, &dev_kp, 2, now, 0, &bl);
  CHECK_EQ(repl_insert_local(r, BUNDLE, b, bl, now, NULL), 0);
  repl_free(r);
  CHECK_EQ(repl_new(&cfg, mem, 2, now, &r), 0);
  CHECK_EQ(repl_bundle_lookup_user_id(r, bits, &info, &d, &dn), 0);
  CHECK_EQ(info.version, 2);
  free(d);
  free(b);
  repl_free(r);
  store_close(mem);
}

static int count_keys(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  (void)k, (void)kn, (void)v, (void)vn;
  (*(int *)ctx)++;
  return 0;
}

static int table_keys(struct store *s, uint8_t tag) {
  uint8_t lo[1] = {tag}, hi[1] = {(uint8_t)(tag + 1)};
  int n = 0;
  if (store_iter(s, lo, 1, hi, 1, count_keys, &n) < 0) return -1;
  return n;
}

static int alias_lookup_id(struct repl *r, const char *alias, uint64_t now, uint8_t id[32]) {
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn = 0;
  int rc = repl_alias_lookup(r, alias, now, &info, &d, &dn);
  if (rc == 0) memcpy(id, info.id, 32);
  free(d);
  return rc;
}

static void test_alias_index_and_renewal(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 1, &cfg);
  struct repl *r = t.n[0].r;
  uint64_t now = t.now;
  size_t l1, l2;
  uint8_t *a1 = tn_alias(&node_kp, "49K492AB", ident_kp.pub, now, now + 30 * DAY_MS, &l1);
  uint8_t *a2 = tn_alias(&node_kp, "49K492AB", ident_kp.pub, now + MIN_MS, now + 31 * DAY_MS,
                         &l2);
  uint8_t id1[32], id2[32], got[32];
  tn_id(ALIAS, a1, l1, id1), tn_id(ALIAS, a2, l2, id2);
  CHECK_EQ(alias_lookup_id(r, "49K492AB", now, got), MOMEDO_E_NOTFOUND);
  CHECK_EQ(repl_insert_local(r, ALIAS, a1, l1, now, NULL), 0);
  CHECK_EQ(alias_lookup_id(r, "49K492AB", now, got), 0);
  CHECK_MEM(got, id1, 32);
  CHECK_EQ(alias_lookup_id(r, "49K492AC", now, got), MOMEDO_E_NOTFOUND);
  CHECK_EQ(alias_lookup_id(r, "much-too-long-alias", now, got), MOMEDO_E_NOTFOUND);
  /* The renewal by the same identity is served; the older one lives on. */
  CHECK_EQ(repl_insert_local(r, ALIAS, a2, l2, now + MIN_MS, NULL), 0);
  CHECK_EQ(alias_lookup_id(r, "49K492AB", now + MIN_MS, got), 0);
  CHECK_MEM(got, id2, 32);
  CHECK(repl_has(r, id1) && repl_has(r, id2));
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn = 0;
  CHECK_EQ(repl_alias_of(r, ident_kp.pub, now + MIN_MS, &info, &d, &dn), 0);
  CHECK_MEM(info.id, id2, 32);
  CHECK_STR(info.alias, "49K492AB");
  free(d);
  CHECK_EQ(repl_alias_of(r, ident2_kp.pub, now, &info, &d, &dn), MOMEDO_E_NOTFOUND);
  /* Expiry removes the index entries with the objects. */
  tn_run_until(&t, now + 30 * DAY_MS);
  CHECK(!repl_has(r, id1));
  CHECK_EQ(alias_lookup_id(r, "49K492AB", t.now, got), 0);
  CHECK_MEM(got, id2, 32);
  tn_run_until(&t, now + 31 * DAY_MS);
  CHECK_EQ(alias_lookup_id(r, "49K492AB", t.now, got), MOMEDO_E_NOTFOUND);
  CHECK_EQ(repl_alias_of(r, ident_kp.pub, t.now, &info, &d, &dn), MOMEDO_E_NOTFOUND);
  CHECK_EQ(table_keys(t.n[0].s, REPL_T_ALIAS), 0);
  CHECK_EQ(table_keys(t.n[0].s, REPL_T_ALIAS_OF), 0);
  free(a1), free(a2);
  tn_free(&t);
}

/* O1 (I, t), N (J, t + 1 min), O2 (I, t + 2 min): I keeps the string because its
 * first claim is older; N is removed wherever it was stored, in any arrival order. */
static void test_alias_collision_converges(void) {
  static const int orders[3][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 3, &cfg);
  uint64_t now = t.now;
  size_t len[3];
  uint8_t *obj[3], ids[3][32], got[32];
  obj[0] = tn_alias(&node_kp, "ZZ99AA77", ident_kp.pub, now, now + 30 * DAY_MS, &len[0]);
  obj[1] = tn_alias(&node_kp, "ZZ99AA77", ident2_kp.pub, now + MIN_MS, now + 30 * DAY_MS,
                    &len[1]);
  obj[2] = tn_alias(&node_kp, "ZZ99AA77", ident_kp.pub, now + 2 * MIN_MS, now + 30 * DAY_MS,
                    &len[2]);
  for (int i = 0; i < 3; i++) tn_id(ALIAS, obj[i], len[i], ids[i]);
  t.now = now + 2 * MIN_MS;
  int refused = 0;
  for (int n = 0; n < 3; n++)
    for (int j = 0; j < 3; j++) {
      int o = orders[n][j];
      int rc = repl_insert_local(t.n[n].r, ALIAS, obj[o], len[o], t.now, NULL);
      CHECK(rc == 0 || rc == MOMEDO_E_SUPERSEDED);
      refused += rc == MOMEDO_E_SUPERSEDED;
    }
  CHECK(refused > 0);
  tn_drain(&t);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  tn_run_until(&t, t.now + 5 * MIN_MS);
  for (int n = 0; n < 3; n++) {
    CHECK(repl_has(t.n[n].r, ids[0]));
    CHECK(!repl_has(t.n[n].r, ids[1]));
    CHECK_EQ(alias_lookup_id(t.n[n].r, "ZZ99AA77", t.now, got), 0);
    CHECK_MEM(got, ids[2], 32); /* I's newest */
    CHECK_EQ(table_keys(t.n[n].s, REPL_T_ALIAS), (int)repl_count(t.n[n].r));
  }
  CHECK(tn_same(&t, 0, 1) && tn_same(&t, 1, 2));
  /* The loser is refused from now on, not counted as invalid. */
  CHECK_EQ(repl_insert_local(t.n[0].r, ALIAS, obj[1], len[1], t.now, NULL),
           MOMEDO_E_SUPERSEDED);
  for (int i = 0; i < 3; i++) free(obj[i]);
  tn_free(&t);
}

/* Issue 11, finding 2: a federated node (evil_kp) signs the victim's alias string for its
 * own user, backdated by 55 days. Before, the oldest claim won everywhere: the victim's
 * object was deleted on every node and lookups named the attacker's user. Now objects of
 * different issuers never remove each other: the victim's stays, the string is contested
 * (names nobody, in every arrival order), and the victim's node draws a new string. */
static void test_alias_backdated_takeover(void) {
  static const int orders[3][2] = {{0, 1}, {1, 0}, {0, 1}};
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  struct obj_info info;
  uint8_t *d = NULL, ids[3][32], got[32];
  size_t dn = 0, len[3];
  tn_init(&t, 3, &cfg);
  uint64_t now = t.now;
  uint8_t *obj[3];
  obj[0] = tn_alias(&node_kp, "VV22WW33", ident_kp.pub, now, now + 30 * DAY_MS, &len[0]);
  obj[1] = tn_alias(&evil_kp, "VV22WW33", ident2_kp.pub, now - 55 * DAY_MS, now + 30 * DAY_MS,
                    &len[1]);
  obj[2] = tn_alias(&node_kp, "VV22WW44", ident_kp.pub, now + MIN_MS, now + 30 * DAY_MS,
                    &len[2]);
  for (int i = 0; i < 3; i++) tn_id(ALIAS, obj[i], len[i], ids[i]);
  /* Node 2 holds only the victim's alias when the forgery arrives by replication. */
  CHECK_EQ(repl_insert_local(t.n[2].r, ALIAS, obj[0], len[0], t.now, NULL), 0);
  CHECK_EQ(alias_lookup_id(t.n[2].r, "VV22WW33", t.now, got), 0);
  for (int n = 0; n < 2; n++)
    for (int j = 0; j < 2; j++) {
      int o = orders[n][j];
      CHECK_EQ(repl_insert_local(t.n[n].r, ALIAS, obj[o], len[o], t.now, NULL), 0);
    }
  tn_drain(&t);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 1, 2);
  tn_run_until(&t, t.now + 5 * MIN_MS);
  for (int n = 0; n < 3; n++) {
    CHECK(repl_has(t.n[n].r, ids[0])); /* never deleted by another node's object */
    CHECK(repl_has(t.n[n].r, ids[1]));
    CHECK_EQ(alias_lookup_id(t.n[n].r, "VV22WW33", t.now, got), MOMEDO_E_NOTFOUND);
    CHECK_EQ(repl_alias_of(t.n[n].r, ident2_kp.pub, t.now, &info, &d, &dn), MOMEDO_E_NOTFOUND);
    CHECK_EQ(repl_alias_of(t.n[n].r, ident_kp.pub, t.now, &info, &d, &dn), MOMEDO_E_NOTFOUND);
  }
  CHECK(tn_same(&t, 0, 1) && tn_same(&t, 1, 2));
  /* The victim's node issues a fresh string: it names the victim everywhere. */
  CHECK_EQ(repl_insert_local(t.n[0].r, ALIAS, obj[2], len[2], t.now, NULL), 0);
  tn_drain(&t);
  tn_run_until(&t, t.now + 5 * MIN_MS);
  for (int n = 0; n < 3; n++) {
    CHECK_EQ(alias_lookup_id(t.n[n].r, "VV22WW44", t.now, got), 0);
    CHECK_MEM(got, ids[2], 32);
    CHECK_EQ(repl_alias_of(t.n[n].r, ident_kp.pub, t.now, &info, &d, &dn), 0);
    CHECK_STR(info.alias, "VV22WW44");
    free(d);
    d = NULL;
  }
  for (int i = 0; i < 3; i++) free(obj[i]);
  tn_free(&t);
}

static int del_each(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  (void)v, (void)vn;
  return store_batch_del(ctx, k, kn);
}

/* Deletes every key of one table (to fake a store written before it existed). */
static void drop_table(struct store *s, uint8_t tag) {
  uint8_t lo[1] = {tag}, hi[1] = {(uint8_t)(tag + 1)};
  struct store_batch *b = store_batch_new();
  CHECK(b != NULL);
  CHECK_EQ(store_iter(s, lo, 1, hi, 1, del_each, b), 0);
  CHECK_EQ(store_write(s, b), 0);
  store_batch_free(b);
}

/* A store from layout 1 (no lookup tables, no layout key) is indexed on load. */
static void test_layout_upgrade(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct store *s;
  struct repl *r;
  uint64_t now = TN_T0;
  CHECK_EQ(store_mem_open(&s), 0);
  CHECK_EQ(repl_new(&cfg, s, 1, now, &r), 0);
  size_t bl, al;
  uint8_t *b = tn_bundle(&ident_kp, &dev_kp, 1, now, 0, &bl);
  uint8_t *a = tn_alias(&node_kp, "QQ11RR22", ident_kp.pub, now, now + DAY_MS, &al);
  CHECK_EQ(repl_insert_local(r, BUNDLE, b, bl, now, NULL), 0);
  CHECK_EQ(repl_insert_local(r, ALIAS, a, al, now, NULL), 0);
  repl_free(r);
  static const uint8_t layout_key[] = {REPL_T_META, 'l', 'a', 'y', 'o', 'u', 't'};
  CHECK_EQ(store_del1(s, layout_key, sizeof layout_key), 0);
  const uint8_t tags[] = {REPL_T_USERID, REPL_T_ALIAS, REPL_T_ALIAS_OF, REPL_T_DEVMBOX};
  for (size_t i = 0; i < sizeof tags; i++) drop_table(s, tags[i]);
  CHECK_EQ(table_keys(s, REPL_T_USERID), 0);
  CHECK_EQ(repl_new(&cfg, s, 2, now, &r), 0);
  for (size_t i = 0; i < sizeof tags; i++) CHECK_EQ(table_keys(s, tags[i]), 1);
  uint8_t bits[IDS_USER_ID_BYTES], got[32], aid[32];
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn = 0;
  CHECK_EQ(ids_user_id_bits(bits, ident_kp.pub), 0);
  CHECK_EQ(repl_bundle_lookup_user_id(r, bits, &info, &d, &dn), 0);
  free(d);
  tn_id(ALIAS, a, al, aid);
  CHECK_EQ(alias_lookup_id(r, "QQ11RR22", now, got), 0);
  CHECK_MEM(got, aid, 32);
  CHECK_EQ(repl_is_device_mailbox(r, dev_mbox), 1);
  repl_free(r);
  /* Now the current version; a version from the future is refused. */
  uint8_t cur[4] = {0}, *d4 = NULL;
  size_t d4n = 0;
  CHECK_EQ(store_get(s, layout_key, sizeof layout_key, (void **)&d4, &d4n), 0);
  be32_put(cur, REPL_LAYOUT_VERSION);
  CHECK_EQ(d4n, 4);
  CHECK_MEM(d4, cur, 4);
  free(d4);
  uint8_t v4[4] = {0, 0, 0, REPL_LAYOUT_VERSION + 1};
  CHECK_EQ(store_put1(s, layout_key, sizeof layout_key, v4, 4), 0);
  r = NULL;
  CHECK_EQ(repl_new(&cfg, s, 3, now, &r), MOMEDO_E_VERSION);
  CHECK(r == NULL);
  free(a), free(b);
  store_close(s);
}

/* A store from layout 2 kept mailbox counters in 'c' and rewrote 'z' "seq" with
 * every item. The upgrade drops the counters (they are derived from the records),
 * and sequence numbers continue after the largest one ever used, also when the
 * object holding it is gone. */
static void test_layout2_counters(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct store *s;
  struct repl *r;
  uint64_t now = TN_T0, items = 0, bytes = 0;
  static const uint8_t layout_key[] = {REPL_T_META, 'l', 'a', 'y', 'o', 'u', 't'};
  static const uint8_t seq_key[] = {REPL_T_META, 's', 'e', 'q'};
  uint8_t mbox2[OBJ_MAILBOX_LEN], ck[1 + OBJ_MAILBOX_LEN] = {REPL_T_MCOUNT}, cv[16] = {0, 9};
  memset(mbox2, 0x5a, sizeof mbox2);
  CHECK_EQ(store_mem_open(&s), 0);
  CHECK_EQ(repl_new(&cfg, s, 1, now, &r), 0);
  uint8_t *it[4];
  size_t len[4];
  for (uint32_t i = 0; i < 4; i++) {
    /* Items 0..2 (seq 1..3) to dev_mbox, 17 + i ciphertext bytes; item 3 (seq 4)
     * to mbox2, expiring first. */
    it[i] = tn_item(&node_kp, i < 3 ? dev_mbox : mbox2, now, now + (i < 3 ? DAY_MS : MIN_MS),
                    i, 17 + i, &len[i]);
    CHECK_EQ(repl_insert_local(r, ITEM, it[i], len[i], now, NULL), 0);
  }
  CHECK_EQ(repl_mailbox_count(r, dev_mbox, &items, &bytes), 0);
  CHECK_EQ(items, 3);
  CHECK_EQ(bytes, len[0] + len[1] + len[2]);
  CHECK_EQ(table_keys(s, REPL_T_MCOUNT), 0);
  CHECK_EQ(table_keys(s, REPL_T_META), 1); /* "layout"; "seq" only once something goes */
  /* Item 3, holding the largest seq, expires: its removal keeps the bound. */
  CHECK_EQ(repl_tick(r, now + MIN_MS), 0);
  CHECK_EQ(repl_count(r), 3);
  CHECK_EQ(repl_mailbox_count(r, mbox2, &items, &bytes), 0);
  CHECK_EQ(items, 0);
  CHECK_EQ(bytes, 0);
  repl_free(r);
  /* Fake layout 2: version 2 and a stale counter. */
  uint8_t v2[4] = {0, 0, 0, 2};
  CHECK_EQ(store_put1(s, layout_key, sizeof layout_key, v2, 4), 0);
  memcpy(ck + 1, dev_mbox, OBJ_MAILBOX_LEN);
  CHECK_EQ(store_put1(s, ck, sizeof ck, cv, sizeof cv), 0);
  CHECK_EQ(table_keys(s, REPL_T_MCOUNT), 1);
  CHECK_EQ(repl_new(&cfg, s, 2, now + MIN_MS, &r), 0);
  CHECK_EQ(table_keys(s, REPL_T_MCOUNT), 0);
  CHECK_EQ(repl_mailbox_count(r, dev_mbox, &items, &bytes), 0);
  CHECK_EQ(items, 3);
  CHECK_EQ(bytes, len[0] + len[1] + len[2]);
  struct repl_stats st;
  repl_stats(r, &st);
  CHECK_EQ(st.next_seq, 5);
  repl_free(r);
  /* Without the "seq" key the records alone give 4 (seq 4 is gone): the key is
   * what keeps it from being reused. */
  CHECK_EQ(store_del1(s, seq_key, sizeof seq_key), 0);
  CHECK_EQ(repl_new(&cfg, s, 3, now + MIN_MS, &r), 0);
  repl_stats(r, &st);
  CHECK_EQ(st.next_seq, 4);
  repl_free(r);
  for (int i = 0; i < 4; i++) free(it[i]);
  store_close(s);
}

/* Node 0 kills an item with a tombstone that expires after 10 minutes; the item
 * lives an hour. Node 1 held a copy while cut off and comes back after the
 * tombstone is gone: node 0 must not take the item back. Node 2 sees the tombstone
 * before the item: same. The markers go when the item would have expired. */
static void test_dead_marker(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  tn_init(&t, 3, &cfg);
  uint64_t t0 = t.now, item_exp = t0 + 60 * MIN_MS, tomb_exp = t0 + 10 * MIN_MS;
  size_t il, tl;
  uint8_t *item = tn_item(&node_kp, dev_mbox, t0, item_exp, 5, 40, &il), iid[32];
  tn_id(ITEM, item, il, iid);
  uint8_t *tomb = tn_tombstone(&dev_kp, iid, t0, tomb_exp, &tl);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, item, il, t0, NULL), 0);
  CHECK_EQ(repl_insert_local(t.n[1].r, ITEM, item, il, t0, NULL), 0);
  CHECK_EQ(repl_insert_local(t.n[0].r, TOMB, tomb, tl, t0, NULL), 0);
  CHECK_EQ(repl_insert_local(t.n[2].r, TOMB, tomb, tl, t0, NULL), 0);
  CHECK_EQ(repl_insert_local(t.n[2].r, ITEM, item, il, t0, NULL), MOMEDO_E_DEAD);
  tn_drain(&t);
  struct repl_stats st;
  repl_stats(t.n[0].r, &st);
  CHECK_EQ(st.dead_markers, 1);
  repl_stats(t.n[2].r, &st);
  CHECK_EQ(st.dead_markers, 1);
  tn_run_until(&t, tomb_exp + MIN_MS); /* the tombstone expires and is collected */
  CHECK_EQ(repl_count(t.n[0].r), 0);
  CHECK_EQ(table_keys(t.n[0].s, REPL_T_TOMB), 0);
  CHECK_EQ(table_keys(t.n[0].s, REPL_T_DEAD), 1);
  tn_connect(&t, 0, 1);
  tn_connect(&t, 2, 1);
  tn_run_until(&t, t.now + 5 * MIN_MS);
  CHECK(!repl_has(t.n[0].r, iid));
  CHECK(!repl_has(t.n[2].r, iid));
  CHECK(repl_has(t.n[1].r, iid)); /* it never heard of the tombstone */
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, item, il, t.now, NULL), MOMEDO_E_DEAD);
  struct repl_peer_stats ps;
  CHECK_EQ(repl_peer_stats(t.n[0].r, tn_pid(1), &ps), 0);
  CHECK(ps.objects_dropped >= 1);
  CHECK_EQ(ps.objects_invalid, 0);
  /* A restart keeps the marker. */
  repl_free(t.n[0].r);
  CHECK_EQ(repl_new(&cfg, t.n[0].s, 9, t.now, &t.n[0].r), 0);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, item, il, t.now, NULL), MOMEDO_E_DEAD);
  tn_run_until(&t, item_exp);
  CHECK_EQ(table_keys(t.n[0].s, REPL_T_DEAD), 0);
  CHECK_EQ(table_keys(t.n[2].s, REPL_T_DEAD), 0);
  CHECK_EQ(table_keys(t.n[0].s, REPL_T_EXP), 0);
  /* A tombstone that outlives its item needs no marker. */
  uint8_t *item2 = tn_item(&node_kp, dev_mbox, t.now, t.now + MIN_MS, 6, 40, &il), iid2[32];
  tn_id(ITEM, item2, il, iid2);
  uint8_t *tomb2 = tn_tombstone(&dev_kp, iid2, t.now, t.now + 2 * MIN_MS, &tl);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, item2, il, t.now, NULL), 0);
  CHECK_EQ(repl_insert_local(t.n[0].r, TOMB, tomb2, tl, t.now, NULL), 0);
  CHECK_EQ(table_keys(t.n[0].s, REPL_T_DEAD), 0);
  free(item), free(tomb), free(item2), free(tomb2);
  tn_free(&t);
}

int main(void) {
  tn_keypair(&node_kp, 0x01);
  tn_keypair(&dev_kp, 0x02);
  tn_keypair(&ident_kp, 0x03);
  tn_keypair(&ident2_kp, 0x04);
  tn_keypair(&evil_kp, 0x05);
  if (obj_device_mailbox(dev_mbox, dev_kp.pub)) return 1;
  RUN(test_user_id_index_same_batch);
  RUN(test_alias_index_and_renewal);
  RUN(test_alias_collision_converges);
  RUN(test_alias_backdated_takeover);
  RUN(test_layout_upgrade);
  RUN(test_layout2_counters);
  RUN(test_dead_marker);
  TEST_MAIN_END();
}
