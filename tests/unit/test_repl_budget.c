/* tests/unit/test_repl_budget.c — what a hostile neighbor can make the engine do (issue
 * 11 finding 7, issue 15): a flood of 3-byte "I hold nothing" Recon messages is answered
 * only within peer_recon_msgs_per_min and pushes only peer_recon_push_per_min_bytes_max
 * (before: every message answered with everything held); a flood of valid objects is
 * stored only within peer_ingest_objects_per_min (before: all of it); neither is a strike,
 * an honest neighbor's traffic is untouched meanwhile, and the budgets refill with time. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define DAY_MS 86400000ull
#define MIN_MS 60000ull
#define HOSTILE 99u         /* peer ID of the hostile neighbor at node 0 */
#define HELD 50u            /* items node 0 holds before the recon flood */
#define PAD 1000u           /* ciphertext bytes per item */
#define FLOOD 1000u         /* messages the hostile neighbor sends */
#define RECON_MSGS 60u      /* peer_recon_msgs_per_min in these tests */
#define INGEST_OBJS 100u    /* peer_ingest_objects_per_min in these tests */

static struct crypto_sign_keypair node_kp, x_kp;
static uint8_t mbox[OBJ_MAILBOX_LEN];

static struct repl_config budget_cfg(void) {
  struct repl_config c = tn_quiet_cfg();
  c.peer_recon_msgs_per_min = RECON_MSGS;
  c.peer_recon_push_per_min_bytes_max = REPL_PUSH_BYTES_MAX; /* the smallest allowed */
  c.peer_ingest_objects_per_min = INGEST_OBJS;
  return c;
}

/* A ReplMsg from the hostile neighbor to node 0; drained at once. */
static int x_send(struct tn *t, const Momedo__ReplMsg *m) {
  size_t n = momedo__repl_msg__get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) abort();
  momedo__repl_msg__pack(m, buf);
  int rc = repl_on_msg(t->n[0].r, HOSTILE, buf, n, t->now);
  free(buf);
  tn_pump(t); /* SENDs to the hostile peer are confirmed and freed: it reads everything */
  return rc;
}

static int x_recon_nothing(struct tn *t) {
  static uint8_t ranges[] = {0x80, 0x00, 0x00}; /* IDs, unbounded, 0 IDs: 3 bytes */
  Momedo__Recon rec = MOMEDO__RECON__INIT;
  rec.ranges.data = ranges, rec.ranges.len = sizeof ranges;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_RECON;
  m.recon = &rec;
  return x_send(t, &m);
}

static int x_push(struct tn *t, uint8_t *data, size_t len) {
  Momedo__Object o = MOMEDO__OBJECT__INIT, *op = &o;
  o.kind = ITEM;
  o.data.data = data, o.data.len = len;
  Momedo__ObjectPush p = MOMEDO__OBJECT_PUSH__INIT;
  p.n_objects = 1, p.objects = &op;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PUSH;
  m.push = &p;
  return x_send(t, &m);
}

static void insert_items(struct tn *t, int node, uint32_t tag0, uint32_t k) {
  for (uint32_t i = 0; i < k; i++) {
    size_t len;
    uint8_t *o = tn_item(&node_kp, mbox, t->now, t->now + DAY_MS, tag0 + i, PAD, &len);
    if (repl_insert_local(t->n[node].r, ITEM, o, len, t->now, NULL)) abort();
    free(o);
  }
  tn_pump(t);
}

static void test_recon_flood_bounded(void) {
  struct repl_config cfg = budget_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1); /* node 1: an honest neighbor */
  insert_items(&t, 0, 0, HELD);
  CHECK(repl_peer_up(t.n[0].r, HOSTILE, x_kp.pub, t.now) == 0);
  tn_pump(&t);
  struct repl_peer_stats s0, s;
  CHECK(repl_peer_stats(t.n[0].r, HOSTILE, &s0) == 0);
  for (uint32_t i = 0; i < FLOOD; i++) CHECK(x_recon_nothing(&t) == 0);
  CHECK(repl_peer_stats(t.n[0].r, HOSTILE, &s) == 0);
  /* An answer to "I hold nothing" is a push of what is held (the reply itself is all
   * skips and not sent). */
  uint64_t answered = FLOOD - s.recon_refused_msgs;
  uint64_t pushed = s.objects_pushed - s0.objects_pushed;
  printf("  %u 3-byte rounds: %llu answered, %llu refused, %llu objects pushed (%u held), "
         "%llu pushes cut\n", FLOOD, (unsigned long long)answered,
         (unsigned long long)s.recon_refused_msgs, (unsigned long long)pushed, HELD,
         (unsigned long long)s.recon_push_cut);
  /* Before the budgets: every one answered, HELD objects pushed each time. */
  CHECK(answered > 0 && answered <= RECON_MSGS);
  CHECK(pushed <= REPL_PUSH_BYTES_MAX / PAD + 1);
  CHECK(s.recon_push_cut > 0);
  CHECK_EQ(t.n[0].dropped_peers, 0); /* not a strike */
  /* The honest neighbor is untouched: its new items reach node 0 and node 0's reach it. */
  insert_items(&t, 1, 1000, 10);
  insert_items(&t, 0, 2000, 10);
  CHECK(tn_same(&t, 0, 1));
  CHECK_EQ(repl_count(t.n[0].r), HELD + 20);
  /* A minute later the hostile neighbor's budget has refilled: answered again. */
  t.now += MIN_MS;
  CHECK(repl_peer_stats(t.n[0].r, HOSTILE, &s0) == 0);
  CHECK(x_recon_nothing(&t) == 0);
  CHECK(repl_peer_stats(t.n[0].r, HOSTILE, &s) == 0);
  CHECK_EQ(s.recon_refused_msgs, s0.recon_refused_msgs);
  CHECK(s.objects_pushed > s0.objects_pushed);
  tn_free(&t);
}

static void test_ingest_flood_bounded(void) {
  struct repl_config cfg = budget_cfg();
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  CHECK(repl_peer_up(t.n[0].r, HOSTILE, x_kp.pub, t.now) == 0);
  tn_pump(&t);
  uint8_t **objs = calloc(FLOOD, sizeof *objs);
  size_t *lens = calloc(FLOOD, sizeof *lens);
  CHECK(objs && lens);
  for (uint32_t i = 0; i < FLOOD; i++)
    objs[i] = tn_item(&x_kp, mbox, t.now, t.now + DAY_MS, 5000 + i, 64, &lens[i]);
  for (uint32_t i = 0; i < FLOOD; i++) CHECK(x_push(&t, objs[i], lens[i]) == 0);
  struct repl_peer_stats s;
  CHECK(repl_peer_stats(t.n[0].r, HOSTILE, &s) == 0);
  printf("  %u pushed objects: %llu stored, %llu refused for the budget\n", FLOOD,
         (unsigned long long)s.objects_stored, (unsigned long long)s.ingest_refused_objects);
  /* Before the budgets: all FLOOD stored. */
  CHECK(s.objects_stored <= INGEST_OBJS);
  CHECK_EQ(s.objects_stored + s.ingest_refused_objects, FLOOD);
  CHECK_EQ(s.ingest_refused_msgs, s.ingest_refused_objects);
  CHECK_EQ(t.n[0].dropped_peers, 0);
  /* The honest neighbor's objects are stored meanwhile (its own budget). */
  uint64_t before = repl_count(t.n[0].r);
  insert_items(&t, 1, 3000, 20);
  CHECK_EQ(repl_count(t.n[0].r), before + 20);
  /* What was refused is taken when offered again after the budget refilled (the first
   * INGEST_OBJS were stored: the rest is offered). */
  t.now += MIN_MS;
  uint64_t stored0 = s.objects_stored;
  for (uint32_t i = INGEST_OBJS; i < FLOOD; i++) CHECK(x_push(&t, objs[i], lens[i]) == 0);
  CHECK(repl_peer_stats(t.n[0].r, HOSTILE, &s) == 0);
  CHECK_EQ(s.objects_stored, stored0 + INGEST_OBJS);
  for (uint32_t i = 0; i < FLOOD; i++) free(objs[i]);
  free(objs), free(lens);
  tn_free(&t);
}

static void test_bucket(void) {
  struct repl_bucket b = {0};
  uint64_t now = TN_T0;
  CHECK(repl__bucket_take(&b, 10, 10, now));  /* a full minute's worth at start */
  CHECK(!repl__bucket_take(&b, 10, 1, now));
  CHECK(!repl__bucket_take(&b, 10, 1, now + 5999));
  CHECK(repl__bucket_take(&b, 10, 1, now + 6000)); /* one per 6 s */
  CHECK(!repl__bucket_take(&b, 10, 1, now - 3600000)); /* the clock went back: no refill */
  CHECK(repl__bucket_take(&b, 10, 10, now + 3600000)); /* refilled, never past the burst */
  CHECK(!repl__bucket_take(&b, 10, 1, now + 3600000));
  CHECK(repl__bucket_take(&b, 10, 1000, now + 2 * 3600000)); /* larger than the burst: full */
  CHECK(!repl__bucket_take(&b, 10, 1, now + 2 * 3600000));
}

int main(void) {
  tn_keypair(&node_kp, 0x41);
  tn_keypair(&x_kp, 0x58);
  memset(mbox, 0x6d, sizeof mbox);
  RUN(test_bucket);
  RUN(test_recon_flood_bounded);
  RUN(test_ingest_flood_bounded);
  TEST_MAIN_END();
}
