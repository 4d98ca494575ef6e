/* tests/unit/test_repl_claim.c — one-time prekey claims across nodes in the engine
 * (replication/repl_claim.c) over an in-test line 0-1-2-3: a claim from 0 reaches the home
 * node 3 through 1 and 2 with every field intact and 3's answer comes back to the claim
 * that asked; a refusal, a silent home node (timeout, and its late answer ignored), no
 * route (at once, no traffic), an answer from a node that was not asked, a malformed
 * claim or answer, the bound on claims in flight and the refusals of repl_claim_start. */
#include "cursor.h"
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

static void settle(struct tn *t, uint64_t ms) { tn_run_until(t, t->now + ms); }

static struct repl_stats stats(struct tn *t, int i) {
  struct repl_stats s;
  repl_stats(t->n[i].r, &s);
  return s;
}

static void line(struct tn *t) {
  struct repl_config cfg = tn_scoped_cfg();
  tn_init(t, 4, &cfg);
  for (int i = 0; i < 3; i++) tn_connect(t, i, i + 1);
  settle(t, 1000);
}

static struct repl_claim claim_for(struct tn *t, int home, uint8_t fill) {
  struct repl_claim c;
  memset(&c, 0, sizeof c);
  memcpy(c.node, t->n[home].kp.pub, OBJ_KEY_LEN);
  memset(c.device_key, fill, sizeof c.device_key);
  memset(c.nonce, fill + 1, sizeof c.nonce);
  memset(c.requester, fill + 2, sizeof c.requester);
  c.created_ms = t->now;
  memset(c.sig, fill + 3, sizeof c.sig);
  return c;
}

/* Found: the home node sees exactly what was sent and who asked; the asker gets the
 * home node's answer under its handle; the middle nodes only forwarded. */
static void test_claim_found(void) {
  struct tn t;
  line(&t);
  struct repl_claim c = claim_for(&t, 3, 0x10);
  uint64_t h = 0;
  t.n[3].claim_answer = 1;
  t.n[3].claim_status = 0;
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[3].claims_asked, 1);
  const struct repl_claim *q = &t.n[3].last_asked;
  CHECK_MEM(q->node, t.n[0].kp.pub, 32); /* the asker, from the Routed header */
  CHECK_MEM(q->device_key, c.device_key, 32);
  CHECK_MEM(q->nonce, c.nonce, sizeof c.nonce);
  CHECK_MEM(q->requester, c.requester, sizeof c.requester);
  CHECK_MEM(q->sig, c.sig, sizeof c.sig);
  CHECK_EQ(q->created_ms, c.created_ms);
  CHECK_EQ(t.n[0].claims_done, 1);
  CHECK_EQ(t.n[0].last_claim_handle, h);
  CHECK_EQ(t.n[0].last_claim_status, 0);
  const struct repl_claim *d = &t.n[0].last_done;
  CHECK_MEM(d->node, t.n[3].kp.pub, 32);
  CHECK_EQ(d->opk_id, 1);
  uint8_t k[32];
  memset(k, 0x41, sizeof k);
  CHECK_MEM(d->opk_key, k, 32);
  CHECK_MEM(d->sig, c.sig, sizeof c.sig); /* the harness answers with the claim's bytes */
  for (int i = 1; i < 3; i++) CHECK_EQ(t.n[i].claims_asked + t.n[i].claims_done, 0);
  CHECK_EQ(stats(&t, 0).claims_started, 1);
  CHECK_EQ(stats(&t, 0).claims_found, 1);
  CHECK_EQ(stats(&t, 3).claims_asked, 1);
  CHECK_EQ(stats(&t, 3).claims_answered, 1);
  CHECK_EQ(t.n[0].r->nclaims, 0);
  tn_free(&t);
}

/* The home node refuses (none held, a limit): the asker gets that status, no claim. */
static void test_claim_refused(void) {
  struct tn t;
  line(&t);
  struct repl_claim c = claim_for(&t, 3, 0x20);
  uint64_t h = 0;
  t.n[3].claim_answer = 1;
  t.n[3].claim_status = MOMEDO_E_RATE;
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[0].claims_done, 1);
  CHECK_EQ(t.n[0].last_claim_status, MOMEDO_E_RATE);
  CHECK_EQ(t.n[0].last_done.opk_id, 0);
  CHECK_EQ(stats(&t, 0).claims_failed, 1);
  tn_free(&t);
}

/* A silent home node: E_TIMEOUT after lookup_timeout_ms, not before; its late answer
 * and an answer from a node that was not asked are ignored. */
static void test_claim_timeout_and_strangers(void) {
  struct tn t;
  line(&t);
  struct repl_claim c = claim_for(&t, 3, 0x30);
  uint64_t h = 0;
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[3].claims_asked, 1);
  /* Node 2 (on the way) answers in 3's stead: not the node asked. */
  struct repl_claim fake = t.n[3].last_asked;
  fake.opk_id = 77;
  CHECK_EQ(repl_claim_answer(t.n[2].r, &fake, 0, t.now), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[0].claims_done, 0);
  uint64_t timeout = t.n[0].cfg.lookup_timeout_ms;
  settle(&t, timeout - 10);
  CHECK_EQ(t.n[0].claims_done, 0);
  settle(&t, 20);
  CHECK_EQ(t.n[0].claims_done, 1);
  CHECK_EQ(t.n[0].last_claim_handle, h);
  CHECK_EQ(t.n[0].last_claim_status, MOMEDO_E_TIMEOUT);
  /* 3 answers late: ignored. */
  fake = t.n[3].last_asked;
  fake.opk_id = 5;
  CHECK_EQ(repl_claim_answer(t.n[3].r, &fake, 0, t.now), 0);
  tn_pump(&t);
  CHECK_EQ(t.n[0].claims_done, 1);
  CHECK_EQ(repl_next_deadline(t.n[0].r) > t.now, 1);
  tn_free(&t);
}

/* No route: E_AGAIN at once and nothing sent. Own key and flood mode: E_INVAL. At most
 * REPL_CLAIMS_MAX in flight. */
static void test_claim_no_route_and_bounds(void) {
  struct tn t;
  line(&t);
  struct repl_claim c = claim_for(&t, 3, 0x40);
  memset(c.node, 0x99, sizeof c.node); /* a node nobody knows */
  uint64_t h = 0, sent = t.delivered_msgs;
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), 0);
  tn_pump(&t);
  CHECK_EQ(t.delivered_msgs, sent);
  CHECK_EQ(t.n[0].claims_done, 1);
  CHECK_EQ(t.n[0].last_claim_status, MOMEDO_E_AGAIN);
  memcpy(c.node, t.n[0].kp.pub, 32);
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), MOMEDO_E_INVAL);
  c = claim_for(&t, 3, 0x41);
  t.n[0].hold = true; /* keep the claims from going out */
  for (unsigned i = 0; i < REPL_CLAIMS_MAX; i++)
    CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), 0);
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), MOMEDO_E_BUSY);
  tn_drain(&t);
  settle(&t, t.n[0].cfg.lookup_timeout_ms + 1);
  CHECK_EQ(t.n[0].claims_done, 1 + REPL_CLAIMS_MAX);
  CHECK_EQ(t.n[0].last_claim_status, MOMEDO_E_TIMEOUT);
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), 0); /* room again */
  tn_free(&t);
  struct repl_config fl = tn_quiet_cfg();
  tn_init(&t, 2, &fl);
  tn_connect(&t, 0, 1);
  c = claim_for(&t, 1, 0x42);
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), MOMEDO_E_INVAL);
  CHECK_EQ(repl_claim_answer(t.n[0].r, &c, 0, t.now), MOMEDO_E_INVAL);
  tn_free(&t);
}

/* A Routed message from node src to node dst, encoded. */
static uint8_t *routed_bytes(struct tn *t, Momedo__Routed *m, int src, int dst, size_t *len) {
  Momedo__ReplMsg msg = MOMEDO__REPL_MSG__INIT;
  m->src = (ProtobufCBinaryData){32, t->n[src].kp.pub};
  m->dst = (ProtobufCBinaryData){32, t->n[dst].kp.pub};
  m->hops_left = 4;
  msg.body_case = MOMEDO__REPL_MSG__BODY_ROUTED;
  msg.routed = m;
  *len = momedo__repl_msg__get_packed_size(&msg);
  uint8_t *b = malloc(*len);
  if (!b) abort();
  momedo__repl_msg__pack(&msg, b);
  return b;
}

/* Malformed claims are refused before the node sees them; a malformed answer ends the
 * claim with E_BOUNDS, not with a prekey. */
static void test_claim_malformed(void) {
  struct tn t;
  line(&t);
  uint8_t k32[33] = {1}, n16[33] = {2}, s64[64] = {3}; /* room for one byte too many */
  size_t len;
  const size_t bad_len[4][4] = {{31, 16, 16, 64}, {32, 15, 16, 64}, {32, 16, 17, 64}, {32, 16, 16, 0}};
  for (int i = 0; i < 4; i++) {
    Momedo__PrekeyClaimQuery q = MOMEDO__PREKEY_CLAIM_QUERY__INIT;
    q.device_key = (ProtobufCBinaryData){bad_len[i][0], k32};
    q.nonce = (ProtobufCBinaryData){bad_len[i][1], n16};
    q.requester = (ProtobufCBinaryData){bad_len[i][2], n16};
    q.signature = (ProtobufCBinaryData){bad_len[i][3], s64};
    Momedo__Routed m = MOMEDO__ROUTED__INIT;
    m.body_case = MOMEDO__ROUTED__BODY_CLAIM;
    m.claim = &q;
    uint8_t *b = routed_bytes(&t, &m, 0, 3, &len);
    CHECK_EQ(repl_on_msg(t.n[3].r, tn_pid(2), b, len, t.now), MOMEDO_E_BOUNDS);
    free(b);
    tn_pump(&t);
  }
  CHECK_EQ(t.n[3].claims_asked, 0);
  /* An answer with a short key to a claim in flight. */
  struct repl_claim c = claim_for(&t, 3, 0x50);
  uint64_t h = 0;
  CHECK_EQ(repl_claim_start(t.n[0].r, &c, t.now, &h), 0);
  tn_pump(&t);
  Momedo__PrekeyClaimAnswer a = MOMEDO__PREKEY_CLAIM_ANSWER__INIT;
  a.qid = h;
  a.id = 4;
  a.key = (ProtobufCBinaryData){31, k32};
  a.signature = (ProtobufCBinaryData){64, s64};
  a.home_signature = (ProtobufCBinaryData){64, s64};
  Momedo__Routed m = MOMEDO__ROUTED__INIT;
  m.body_case = MOMEDO__ROUTED__BODY_CLAIMED;
  m.claimed = &a;
  uint8_t *b = routed_bytes(&t, &m, 3, 0, &len); /* from 3, arriving at 0 through 1 */
  CHECK_EQ(repl_on_msg(t.n[0].r, tn_pid(1), b, len, t.now), 0);
  free(b);
  tn_pump(&t);
  CHECK_EQ(t.n[0].claims_done, 1);
  CHECK_EQ(t.n[0].last_claim_status, MOMEDO_E_BOUNDS);
  CHECK_EQ(t.n[0].last_done.opk_id, 0);
  tn_free(&t);
}

int main(void) {
  RUN(test_claim_found);
  RUN(test_claim_refused);
  RUN(test_claim_timeout_and_strangers);
  RUN(test_claim_no_route_and_bounds);
  RUN(test_claim_malformed);
  TEST_MAIN_END();
}
