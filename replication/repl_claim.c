/* replication/repl_claim.c — one-time prekey claims across nodes (docs/e2e.md "Claims
 * across nodes"): a claim travels as a Routed PrekeyClaimQuery from the asking node to
 * the device's home node along the routes lookups use, the home node's answer
 * (PrekeyClaimAnswer) back the same way. The engine only carries them: it checks
 * lengths, remembers the claims it waits for (bounded, with a timeout) and hands the
 * node a CLAIM_ASKED / CLAIM_DONE action; signatures, limits and the prekey store are
 * the node's (node/otpk_remote.c). No clock, no randomness, no sockets. */
#include <stdlib.h>
#include <string.h>

#include "repl_int.h"

void repl__claims_free(struct repl *r) {
  free(r->claims);
  r->claims = NULL;
  r->nclaims = r->claims_cap = 0;
}

/* A CLAIM_DONE action; claim (malloc'ed, may be NULL) passes to the caller. */
static int claim_done(struct repl *r, uint64_t handle, int status, struct repl_claim *c) {
  struct repl_action a;
  memset(&a, 0, sizeof a);
  a.kind = REPL_ACT_CLAIM_DONE;
  a.handle = handle;
  a.status = status;
  a.claim = c;
  if (status == 0) r->st.claims_found++;
  else r->st.claims_failed++;
  int rc = repl__act_push(r, &a);
  if (rc) free(c);
  return rc;
}

static Momedo__Routed routed_to(struct repl *r, const uint8_t *dst) {
  Momedo__Routed m = MOMEDO__ROUTED__INIT;
  m.src = (ProtobufCBinaryData){OBJ_KEY_LEN, r->cfg.self_key};
  m.dst = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)dst};
  m.hops_left = r->cfg.custody_hops_max;
  return m;
}

int repl_claim_start(struct repl *r, const struct repl_claim *c, uint64_t now_ms,
                     uint64_t *handle) {
  uint64_t peer, alt;
  bool has_alt;
  if (!c || !handle || !repl__scoped(r) || memcmp(c->node, r->cfg.self_key, OBJ_KEY_LEN) == 0)
    return MOMEDO_E_INVAL;
  repl__clock_note(r, now_ms);
  if (r->nclaims == REPL_CLAIMS_MAX) return MOMEDO_E_BUSY;
  int rc = repl__routes_fresh(r, now_ms);
  if (rc) return rc;
  *handle = ++r->next_handle;
  r->st.claims_started++;
  if (repl__next_hop(r, c->node, &peer, &alt, &has_alt) != 0)
    return claim_done(r, *handle, MOMEDO_E_AGAIN, NULL); /* no route: no traffic */
  if (r->nclaims == r->claims_cap) {
    size_t ncap = r->claims_cap ? r->claims_cap * 2 : 4;
    struct repl_claim_pend *nv = realloc(r->claims, ncap * sizeof *nv);
    if (!nv) return MOMEDO_E_NOMEM;
    r->claims = nv;
    r->claims_cap = ncap;
  }
  struct repl_claim_pend *p = &r->claims[r->nclaims++];
  p->handle = *handle;
  p->deadline_ms = now_ms + r->cfg.lookup_timeout_ms;
  memcpy(p->home, c->node, OBJ_KEY_LEN);
  if (p->deadline_ms < r->claim_next_ms) r->claim_next_ms = p->deadline_ms;
  Momedo__PrekeyClaimQuery q = MOMEDO__PREKEY_CLAIM_QUERY__INIT;
  q.qid = *handle;
  q.device_key = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)c->device_key};
  q.nonce = (ProtobufCBinaryData){REPL_CLAIM_NONCE_LEN, (uint8_t *)c->nonce};
  q.requester = (ProtobufCBinaryData){REPL_CLAIM_REQUESTER_LEN, (uint8_t *)c->requester};
  q.created_ms = c->created_ms;
  q.signature = (ProtobufCBinaryData){sizeof c->sig, (uint8_t *)c->sig};
  Momedo__Routed m = routed_to(r, c->node);
  m.body_case = MOMEDO__ROUTED__BODY_CLAIM;
  m.claim = &q;
  return repl__routed_send(r, c->node, &m);
}

int repl_claim_answer(struct repl *r, const struct repl_claim *c, int status, uint64_t now_ms) {
  if (!c || !repl__scoped(r)) return MOMEDO_E_INVAL;
  repl__clock_note(r, now_ms);
  int rc = repl__routes_fresh(r, now_ms);
  if (rc) return rc;
  Momedo__PrekeyClaimAnswer a = MOMEDO__PREKEY_CLAIM_ANSWER__INIT;
  a.qid = c->qid;
  a.status = status;
  if (status == 0) {
    a.id = c->opk_id;
    a.key = (ProtobufCBinaryData){sizeof c->opk_key, (uint8_t *)c->opk_key};
    a.signature = (ProtobufCBinaryData){sizeof c->opk_sig, (uint8_t *)c->opk_sig};
    a.home_signature = (ProtobufCBinaryData){sizeof c->sig, (uint8_t *)c->sig};
  }
  Momedo__Routed m = routed_to(r, c->node);
  m.body_case = MOMEDO__ROUTED__BODY_CLAIMED;
  m.claimed = &a;
  rc = repl__routed_send(r, c->node, &m);
  if (rc == 0) r->st.claims_answered++;
  return rc;
}

/* A claim for a device homed here: handed to the node (lengths checked by the caller). */
int repl__on_claim(struct repl *r, const Momedo__Routed *m, uint64_t now_ms) {
  const Momedo__PrekeyClaimQuery *q = m->claim;
  (void)now_ms;
  struct repl_claim *c = calloc(1, sizeof *c);
  if (!c) return MOMEDO_E_NOMEM;
  memcpy(c->node, m->src.data, OBJ_KEY_LEN);
  c->qid = q->qid;
  memcpy(c->device_key, q->device_key.data, OBJ_KEY_LEN);
  memcpy(c->nonce, q->nonce.data, REPL_CLAIM_NONCE_LEN);
  memcpy(c->requester, q->requester.data, REPL_CLAIM_REQUESTER_LEN);
  c->created_ms = q->created_ms;
  memcpy(c->sig, q->signature.data, sizeof c->sig);
  struct repl_action a;
  memset(&a, 0, sizeof a);
  a.kind = REPL_ACT_CLAIM_ASKED;
  a.claim = c;
  r->st.claims_asked++;
  int rc = repl__act_push(r, &a);
  if (rc) free(c);
  return rc;
}

/* An answer to one of our claims, from the node it was sent to; anything else ignored. */
int repl__on_claimed(struct repl *r, const Momedo__Routed *m) {
  const Momedo__PrekeyClaimAnswer *a = m->claimed;
  for (size_t i = 0; i < r->nclaims; i++) {
    struct repl_claim_pend *p = &r->claims[i];
    if (p->handle != a->qid) continue;
    if (memcmp(p->home, m->src.data, OBJ_KEY_LEN) != 0) return 0; /* not the node asked */
    uint64_t h = p->handle;
    r->claims[i] = r->claims[--r->nclaims];
    int status = a->status > 0 ? MOMEDO_E_PROTO : a->status;
    if (status == 0 && (a->id == 0 || a->key.len != 32 || a->signature.len != 64 ||
                        a->home_signature.len != 64))
      status = MOMEDO_E_BOUNDS;
    if (status) return claim_done(r, h, status, NULL);
    struct repl_claim *c = calloc(1, sizeof *c);
    if (!c) return MOMEDO_E_NOMEM;
    memcpy(c->node, m->src.data, OBJ_KEY_LEN);
    c->qid = h;
    c->opk_id = a->id;
    memcpy(c->opk_key, a->key.data, 32);
    memcpy(c->opk_sig, a->signature.data, 64);
    memcpy(c->sig, a->home_signature.data, 64);
    return claim_done(r, h, 0, c);
  }
  return 0; /* late or unknown */
}

int repl__claims_tick(struct repl *r, uint64_t now_ms) {
  int rc = 0;
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < r->nclaims && rc == 0;) {
    if (r->claims[i].deadline_ms <= now_ms) {
      uint64_t h = r->claims[i].handle;
      r->claims[i] = r->claims[--r->nclaims];
      rc = claim_done(r, h, MOMEDO_E_TIMEOUT, NULL);
      continue;
    }
    if (r->claims[i].deadline_ms < next) next = r->claims[i].deadline_ms;
    i++;
  }
  r->claim_next_ms = next;
  return rc;
}
