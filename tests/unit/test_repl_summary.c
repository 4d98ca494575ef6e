/* tests/unit/test_repl_summary.c — when the users summary in a node record changes:
 * a user registered at its home is announced by that home alone, once, within
 * record_min_interval_ms (a partner's copy waits for the partner's next record); a
 * renewed bundle re-announces nothing; a far node finds the user by ID after the
 * summary and by a contact card's hint before it; a forged, replayed or stale record
 * cannot change what a node believes about another node's users. */
#include "harness.h"
#include "ids.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define RECORD MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD
#define BUNDLE MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE
#define MIN_INTERVAL_MS 60000

/* The second pass runs with engines sharing one table (the simulator's mode). */
static struct repl_shared *g_shared;

static struct repl_config cfg_of(void) {
  struct repl_config c = tn_scoped_cfg();
  c.shared = g_shared;
  c.record_min_interval_ms = MIN_INTERVAL_MS;
  return c;
}

static void settle(struct tn *t, uint64_t ms) { tn_run_until(t, t->now + ms); }

static struct repl_stats stats(struct tn *t, int i) {
  struct repl_stats s;
  repl_stats(t->n[i].r, &s);
  return s;
}

/* Look up u by user ID alone (hint < 0) or with node `hint` as a contact card's home
 * hint, from node `at`; the lookup's status (LOOKUP_BROKEN: it did not end, or not once,
 * within 100 ms). */
#define LOOKUP_BROKEN 1
static int lookup(struct tn *t, int at, const struct crypto_sign_keypair *u, int hint) {
  struct repl_lookup_req q;
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_USER_ID;
  if (ids_user_id_bits(q.user_id, u->pub)) abort();
  if (hint >= 0) {
    q.n_hints = 1;
    memcpy(q.hints[0], t->n[hint].kp.pub, OBJ_KEY_LEN);
  }
  uint64_t h = 0;
  size_t done = t->n[at].lookups_done;
  if (repl_lookup_start(t->n[at].r, &q, t->now, &h)) return LOOKUP_BROKEN;
  tn_pump(t);
  settle(t, 100);
  if (t->n[at].lookups_done != done + 1 || t->n[at].last_lookup_handle != h) return LOOKUP_BROKEN;
  return t->n[at].last_lookup_status;
}

/* Drop what node `at` cached from a lookup, so the next one asks again. */
static void cache_forget(struct tn *t, const struct repl_config *cfg) {
  settle(t, cfg->lookup_cache_ms + 1);
}

/* User u (key from seed byte `seed`) registers at node 3 of t, its partner 2: its bundle
 * (malloc'ed, returned) is stored at 3 from a client and handed to 2 by custody. */
static uint8_t *register_user(struct tn *t, struct crypto_sign_keypair *u, uint8_t seed) {
  int homes[] = {3, 2};
  size_t bl;
  tn_keypair(u, seed);
  uint8_t *b = tn_bundle_homed(t, u, 1, homes, 2, &bl);
  if (repl_insert_local(t->n[3].r, BUNDLE, b, bl, t->now, NULL)) abort();
  tn_pump(t);
  return b;
}

/* A line 0-1-2-3, user u homed on 3 with partner 2. The registration makes 3 (its home,
 * where u's client registered) announce one record within record_min_interval_ms and
 * 2 (the partner, which got its copy by custody) none; far node 0 finds u with a card
 * hint before that record and by user ID alone after it; a renewed bundle announces
 * nothing. */
static void test_registration_one_record(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  tn_init(&t, 4, &cfg);
  for (int i = 0; i < 3; i++) tn_connect(&t, i, i + 1);
  settle(&t, 1000); /* the first records: the next summary waits for the interval */
  struct repl_stats s2 = stats(&t, 2), s3 = stats(&t, 3);
  uint64_t seq3 = tn_seq_at(&t, 0, t.n[3].kp.pub);
  struct crypto_sign_keypair u;
  int homes[] = {3, 2};
  uint8_t *b = register_user(&t, &u, 0x61);
  settle(&t, 10); /* custody has brought the partner its copy */
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn = 0;
  CHECK_EQ(repl_bundle_lookup(t.n[2].r, u.pub, &info, &d, &dn), 0);
  free(d);
  /* Before the next summary: by user ID alone nothing matches (not found at once, no
   * traffic); a contact card's hint finds u at 3. */
  uint64_t msgs = t.delivered_msgs;
  CHECK_EQ(lookup(&t, 0, &u, -1), MOMEDO_E_NOTFOUND);
  CHECK_EQ(t.delivered_msgs, msgs);
  CHECK_EQ(lookup(&t, 0, &u, 3), 0);
  cache_forget(&t, &cfg);
  /* The summary (the cache's time covered the interval): 3 has announced once, 2
   * nothing; the far node finds u by ID alone. */
  CHECK_EQ(stats(&t, 3).records_issued, s3.records_issued + 1);
  CHECK_EQ(stats(&t, 2).records_issued, s2.records_issued);
  CHECK(tn_seq_at(&t, 0, t.n[3].kp.pub) > seq3);
  CHECK_EQ(lookup(&t, 0, &u, -1), 0);
  CHECK_EQ(stats(&t, 3).lookup_queries_answered >= 1, 1);
  /* A renewed bundle (version 2, same user): no summary bit changes, no record. */
  s3 = stats(&t, 3);
  size_t bl2;
  uint8_t *b2 = tn_bundle_homed(&t, &u, 2, homes, 2, &bl2);
  CHECK_EQ(repl_insert_local(t.n[3].r, BUNDLE, b2, bl2, t.now, NULL), 0);
  tn_pump(&t);
  settle(&t, MIN_INTERVAL_MS + 1000);
  CHECK_EQ(stats(&t, 3).records_issued, s3.records_issued);
  CHECK(stats(&t, 3).records_kept > s3.records_kept);
  CHECK_EQ(stats(&t, 2).records_issued, s2.records_issued);
  free(b), free(b2);
  tn_free(&t);
}

/* The partner's copy joins its summary at its next record (here a new link): then, with
 * the home cut off, the far node still finds the user by ID, at the partner. */
static void test_partner_next_record(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  tn_init(&t, 5, &cfg);
  for (int i = 0; i < 3; i++) tn_connect(&t, i, i + 1);
  settle(&t, MIN_INTERVAL_MS + 1000);
  struct crypto_sign_keypair u;
  uint8_t *b = register_user(&t, &u, 0x62);
  settle(&t, MIN_INTERVAL_MS + 1000);
  uint64_t issued2 = stats(&t, 2).records_issued;
  tn_connect(&t, 2, 4); /* a link change: 2 issues a record, with u in its summary */
  settle(&t, 1000);
  CHECK_EQ(stats(&t, 2).records_issued, issued2 + 1);
  tn_disconnect(&t, 2, 3);
  settle(&t, cfg.route_holddown_ms + 1000); /* 3 is gone from the routes */
  uint64_t peer;
  uint32_t hops;
  CHECK_EQ(repl_route(t.n[0].r, t.n[3].kp.pub, t.now, &peer, &hops), MOMEDO_E_NOTFOUND);
  uint64_t answered2 = stats(&t, 2).lookup_queries_answered;
  CHECK_EQ(lookup(&t, 0, &u, -1), 0);
  CHECK_EQ(stats(&t, 2).lookup_queries_answered, answered2 + 1);
  free(b);
  tn_free(&t);
}

/* A record of `key` (signed by `signer`: a forgery when it is not the key's own pair),
 * listing nb[0..n), whose summary matches every user (with_user) or none. */
static uint8_t *record_with_user(const struct crypto_sign_keypair *signer, const uint8_t *key,
                                 uint64_t seq, uint64_t now, const uint8_t (*nb)[OBJ_KEY_LEN],
                                 size_t n, int with_user, size_t *len) {
  static const uint8_t all[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  return tn_record(signer, key, seq, now, nb, n, all, with_user ? sizeof all : 0, len);
}

/* Node 0 receives one record pushed by neighbor 1. */
static void push_record(struct tn *t, const uint8_t *o, size_t len) {
  CHECK_EQ(tn_push_from(t, 1, 0, RECORD, o, len), 0);
}

/* Summaries come only in records: a forged record (another key's signature) adding a
 * user to node 5's summary, a replayed older one and a stale one (same seq, smaller ID)
 * are refused, so node 0 never asks 5 for the user; 5's own newer record is taken. */
static void test_summary_forged_replayed(void) {
  struct repl_config cfg = cfg_of();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  settle(&t, 1000);
  struct crypto_sign_keypair k5, k6, u;
  tn_node_key(&k5, 5);
  tn_node_key(&k6, 6);
  tn_keypair(&u, 0x63);
  CHECK_EQ(repl_peer_up(t.n[1].r, 99, k5.pub, t.now), 0); /* 1-5 is a mutual link */
  settle(&t, 1000);
  uint8_t nb[1][OBJ_KEY_LEN];
  memcpy(nb[0], t.n[1].kp.pub, OBJ_KEY_LEN);
  size_t l1, l2, l3, l4;
  uint8_t *with = record_with_user(&k5, k5.pub, 20, t.now, nb, 1, 1, &l1);
  uint8_t *without = record_with_user(&k5, k5.pub, 30, t.now, nb, 1, 0, &l2);
  uint8_t *forged = record_with_user(&k6, k5.pub, 40, t.now, nb, 1, 1, &l3);
  push_record(&t, without, l2); /* 5's newest: no user */
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 30);
  uint64_t refused = stats(&t, 0).records_refused;
  push_record(&t, forged, l3);
  push_record(&t, with, l1); /* replayed: older seq */
  CHECK_EQ(stats(&t, 0).records_refused, refused + 2);
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 30);
  /* A stale one: the same seq as the newest and a smaller ID (equal seqs: the larger ID
   * wins everywhere); created a few ms apart until its ID is the smaller one. */
  uint8_t id_new[OBJ_ID_LEN], id_same[OBJ_ID_LEN];
  tn_id(RECORD, without, l2, id_new);
  uint8_t *same = NULL;
  for (uint64_t dt = 1;; dt++) {
    free(same);
    same = record_with_user(&k5, k5.pub, 30, t.now + dt, nb, 1, 1, &l4);
    tn_id(RECORD, same, l4, id_same);
    if (memcmp(id_same, id_new, OBJ_ID_LEN) < 0) break;
  }
  push_record(&t, same, l4);
  CHECK_EQ(stats(&t, 0).records_refused, refused + 3);
  /* Nothing matches: not found at once, nobody asked. */
  uint64_t msgs = t.delivered_msgs;
  CHECK_EQ(lookup(&t, 0, &u, -1), MOMEDO_E_NOTFOUND);
  CHECK_EQ(t.delivered_msgs, msgs);
  /* 5's own newer record with the user is taken: 0 now asks 5 (through 1). */
  uint8_t *newer = record_with_user(&k5, k5.pub, 50, t.now, nb, 1, 1, &l1);
  push_record(&t, newer, l1);
  CHECK_EQ(tn_seq_at(&t, 0, k5.pub), 50);
  struct repl_lookup_req q;
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_USER_ID;
  CHECK_EQ(ids_user_id_bits(q.user_id, u.pub), 0);
  uint64_t h = 0;
  CHECK_EQ(repl_lookup_start(t.n[0].r, &q, t.now, &h), 0);
  tn_pump(&t);
  CHECK(t.delivered_msgs > msgs); /* 5 is no engine here: the query goes out unanswered */
  settle(&t, cfg.lookup_timeout_ms + 1);
  free(with), free(without), free(forged), free(same), free(newer);
  tn_free(&t);
}

int main(void) {
  RUN(test_registration_one_record);
  RUN(test_partner_next_record);
  RUN(test_summary_forged_replayed);
  /* Again with a shared table: records in the table only. */
  void (*again[])(void) = {test_registration_one_record, test_partner_next_record,
                           test_summary_forged_replayed};
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
    if (repl_shared_new(200 + i, &g_shared)) abort();
    th_current_ = "shared table pass";
    again[i]();
    repl_shared_free(g_shared);
    g_shared = NULL;
  }
  TEST_MAIN_END();
}
