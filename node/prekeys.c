/* node/prekeys.c — what a home node keeps for its devices' end-to-end state: one-time
 * prekeys (PrekeyUploadReq / PrekeyClaimReq, docs/e2e.md) — signed X25519 public keys
 * (node-local records 'N' 'o', never replicated, at most OTPK_HELD_MAX per device), each
 * deleted in the store write that precedes handing it out, so none goes out twice, also
 * across a restart; claims a few a minute per device (a claim naming another home node
 * goes on to otpk_remote.c) — and each device's vault save
 * counter (StateCounterReq, 'N' 'c'), which only grows. Holds no secret; logs only key
 * prefixes and counts. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "log.h"
#include "node_int.h"
#include "otpk.h"

#define OTPK_KEY_BYTES (2 + OBJ_KEY_LEN + 4)

static void otpk_key(uint8_t k[static OTPK_KEY_BYTES], const uint8_t device[static 32],
                     uint32_t id) {
  node__key_tag(k, NODE_K_OTPK);
  memcpy(k + 2, device, OBJ_KEY_LEN);
  be32_put(k + 2 + OBJ_KEY_LEN, id);
}

/* The records of one device: count them, and keep the first (lowest id). */
struct otpk_scan {
  uint32_t n;
  int have_first;
  struct otpk_pub first;
  int bad;
  struct store_batch *del;      /* not NULL: delete every record seen */
};

static int scan_one(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct otpk_scan *s = vctx;
  if (kn != OTPK_KEY_BYTES) return 0;
  if (s->del && store_batch_del(s->del, k, kn) != 0) return MOMEDO_E_NOMEM;
  if (!s->have_first) {
    if (otpk_rec_get(&s->first, be32_get(k + 2 + OBJ_KEY_LEN), v, vn) != 0) {
      s->bad = 1;
      return 0;
    }
    s->have_first = 1;
  }
  s->n++;
  return 0;
}

static int scan_device(struct node *n, const uint8_t device[static 32], struct otpk_scan *s,
                       struct store_batch *del) {
  uint8_t lo[OTPK_KEY_BYTES], hi[OTPK_KEY_BYTES];
  memset(s, 0, sizeof *s);
  s->del = del;
  otpk_key(lo, device, 0);
  otpk_key(hi, device, UINT32_MAX);
  int rc = store_iter(n->store, lo, sizeof lo, hi, sizeof hi, scan_one, s);
  if (rc) return rc;
  /* hi itself (id 2^32-1) is past the range: look at it on its own. */
  void *v = NULL;
  size_t vn = 0;
  rc = store_get(n->store, hi, sizeof hi, &v, &vn);
  if (rc == 0) rc = scan_one(s, hi, sizeof hi, v, vn);
  s->del = NULL;
  free(v);
  if (rc == MOMEDO_E_NOTFOUND) rc = 0;
  return rc ? rc : s->bad ? MOMEDO_E_CORRUPT : 0;
}

/* New prekeys of the batch: those not held yet. An id held with another key: E_EXISTS. */
static int upload_new(struct node *n, const uint8_t device[static 32],
                      const struct otpk_pub *p, size_t np, int replace, struct store_batch *b,
                      uint32_t *added, char *why, size_t why_cap) {
  *added = 0;
  for (size_t i = 0; i < np; i++) {
    uint8_t k[OTPK_KEY_BYTES], rec[OTPK_REC_LEN];
    void *v = NULL;
    size_t vn = 0;
    otpk_key(k, device, p[i].id);
    otpk_rec_put(rec, &p[i]);
    int rc = replace ? MOMEDO_E_NOTFOUND : store_get(n->store, k, sizeof k, &v, &vn);
    int same = rc == 0 && vn == OTPK_REC_LEN && memcmp(v, rec, OTPK_KEY_LEN) == 0;
    free(v);
    if (rc == 0 && same) continue; /* a retried upload */
    if (rc == 0)
      return reason_fail(why, why_cap, MOMEDO_E_EXISTS,
                         "one-time prekey id %u is held here with another key",
                         (unsigned)p[i].id);
    if (rc != MOMEDO_E_NOTFOUND) return rc;
    if ((rc = store_batch_put(b, k, sizeof k, rec, sizeof rec)) != 0) return rc;
    (*added)++;
  }
  return 0;
}

static int c_prekey_upload(struct conn *c, const Momedo__ClientRequest *rq,
                           Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  struct otpk_pub p[OTPK_UPLOAD_MAX];
  size_t np = 0;
  struct otpk_scan s;
  uint32_t added = 0;
  if (!c->authed) return reason_fail(why, why_cap, MOMEDO_E_AUTH, "authenticate first");
  int rc = otpk_upload_check(rq->prekey_upload, c->device_key, p, &np, why, why_cap);
  if (rc) return rc;
  int replace = rq->prekey_upload->replace;
  struct store_batch *b = store_batch_new();
  if (!b) return MOMEDO_E_NOMEM;
  /* replace: the deletes first in the same batch, so the puts after them win */
  rc = scan_device(n, c->device_key, &s, replace ? b : NULL);
  if (rc == 0 && replace) s.n = 0;
  if (rc == 0) rc = upload_new(n, c->device_key, p, np, replace, b, &added, why, why_cap);
  if (rc == 0 && s.n + added > OTPK_HELD_MAX)
    rc = reason_fail(why, why_cap, MOMEDO_E_QUOTA,
                     "this node holds %u one-time prekeys of this device; %u more would pass "
                     "the limit of %u", s.n, added, OTPK_HELD_MAX);
  if (rc == 0 && store_batch_count(b)) rc = store_write(n->store, b);
  store_batch_free(b);
  if (rc == MOMEDO_E_DISKFULL) node__diskfull(n, (size_t)added * 100, why, why_cap);
  if (rc) return rc;
  Momedo__PrekeyUploadResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__prekey_upload_resp__init(out);
  out->held = s.n + added;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_UPLOAD;
  rs->prekey_upload = out;
  return 0;
}

static Momedo__OneTimePrekey *arena_otpk(struct arena *a, const struct otpk_pub *p) {
  Momedo__OneTimePrekey *o = arena_alloc(a, sizeof *o);
  uint8_t *kb = arena_alloc(a, OTPK_REC_LEN);
  if (!o || !kb) return NULL;
  momedo__one_time_prekey__init(o);
  otpk_rec_put(kb, p);
  o->id = p->id;
  o->key = (ProtobufCBinaryData){OTPK_KEY_LEN, kb};
  o->signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, kb + OTPK_KEY_LEN};
  return o;
}

int node__otpk_take(struct node *n, const uint8_t device[static 32], struct otpk_pub *out,
                    uint32_t *left) {
  struct otpk_scan s;
  uint8_t k[OTPK_KEY_BYTES];
  int rc = scan_device(n, device, &s, NULL);
  if (rc) return rc;
  if (!s.have_first) return MOMEDO_E_NOTFOUND;
  /* Gone from the store (durably, as every store write) before anyone sees it. */
  otpk_key(k, device, s.first.id);
  if ((rc = store_del1(n->store, k, sizeof k)) != 0) return rc;
  *out = s.first;
  *left = s.n - 1;
  return 0;
}

static int c_prekey_claim(struct conn *c, const Momedo__ClientRequest *rq,
                          Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__PrekeyClaimReq *r = rq->prekey_claim;
  const ProtobufCBinaryData *dk = &r->device_key;
  struct otpk_pub p;
  uint32_t left = 0;
  if (!c->authed) return reason_fail(why, why_cap, MOMEDO_E_AUTH, "authenticate first");
  if (dk->len != OBJ_KEY_LEN)
    return reason_fail(why, why_cap, MOMEDO_E_BOUNDS, "device_key must be 32 bytes");
  if (r->home_node.len != 0 && r->home_node.len != OBJ_KEY_LEN)
    return reason_fail(why, why_cap, MOMEDO_E_BOUNDS, "home_node must be 32 bytes or empty");
  uint32_t got;
  if (node__rate_take(n, NODE_RATE_CLAIMS, c->device_key, NODE_OTPK_CLAIMS_PER_MINUTE, 1,
                      node__now_ms(), &got) != RATE_KEYED_OK)
    return reason_fail(why, why_cap, MOMEDO_E_RATE,
                       "at most %u one-time prekey claims a minute per device (or this node "
                       "counts too many devices' claims at once)", NODE_OTPK_CLAIMS_PER_MINUTE);
  if (r->home_node.len && memcmp(r->home_node.data, n->id.kp.pub, OBJ_KEY_LEN) != 0)
    return node__c_claim_remote(c, rq, why, why_cap); /* otpk_remote.c */
  int rc = node__otpk_take(n, dk->data, &p, &left);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  Momedo__PrekeyClaimResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__prekey_claim_resp__init(out);
  if (rc == 0) {
    if (!(out->prekey = arena_otpk(&n->arena, &p))) return MOMEDO_E_NOMEM;
    char pre[NODE_KEY_PREFIX_LEN + 1];
    node_key_prefix(dk->data, pre);
    node_log(NODE_LOG_DEBUG, "one-time prekey of device %s handed out (%u left)", pre, left);
  }
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_CLAIM;
  rs->prekey_claim = out;
  return 0;
}

/* The device's save counter: keep the highest, answer with what was held before. */
static int c_state_counter(struct conn *c, const Momedo__ClientRequest *rq,
                           Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  uint8_t k[2 + OBJ_KEY_LEN], val[8];
  void *v = NULL;
  size_t vn = 0;
  uint64_t last = 0, now = rq->state_counter->counter;
  if (!c->authed) return reason_fail(why, why_cap, MOMEDO_E_AUTH, "authenticate first");
  node__key_tag(k, NODE_K_COUNTER);
  memcpy(k + 2, c->device_key, OBJ_KEY_LEN);
  int rc = store_get(n->store, k, sizeof k, &v, &vn);
  if (rc == 0 && vn == 8) last = be64_get(v);
  else if (rc == 0) rc = MOMEDO_E_CORRUPT;
  free(v);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  if (now > last) {
    be64_put(val, now);
    if ((rc = store_put1(n->store, k, sizeof k, val, sizeof val)) != 0) return rc;
  }
  Momedo__StateCounterResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__state_counter_resp__init(out);
  out->last = last;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_STATE_COUNTER;
  rs->state_counter = out;
  return 0;
}

int node__c_prekey(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                   char *why, size_t why_cap) {
  if (rq->body_case == MOMEDO__CLIENT_REQUEST__BODY_PREKEY_UPLOAD)
    return c_prekey_upload(c, rq, rs, why, why_cap);
  if (rq->body_case == MOMEDO__CLIENT_REQUEST__BODY_STATE_COUNTER)
    return c_state_counter(c, rq, rs, why, why_cap);
  return c_prekey_claim(c, rq, rs, why, why_cap);
}
