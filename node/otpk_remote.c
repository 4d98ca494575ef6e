/* node/otpk_remote.c — one-time prekey claims across nodes (docs/e2e.md "Claims across
 * nodes"). Asking side: a client's PrekeyClaimReq naming another home node becomes a
 * claim signed by this node's key, routed by the engine (repl_claim_start); the client
 * gets its answer when CLAIM_DONE arrives (reading from it pauses meanwhile, as for
 * lookups). Home side: a CLAIM_ASKED is checked (asking node known and its signature,
 * age, replay, limits per requester and device, per asking node, per asking node and
 * device, per device from all other nodes), the prekey is deleted from the store (synced) before the answer, which this
 * node signs over the client's nonce. Logs key prefixes and counts only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node_int.h"
#include "otpk.h"
#include "rate_keyed.h"

#define MIN_MS 60000ull
#define HOUR_MS (60 * MIN_MS)

/* A client's claim the engine is working on. */
struct node_claim {
  struct node_claim *next;
  uint64_t handle;
  struct conn *c;                /* NULL once the client is gone */
  uint64_t request_id;
  uint8_t home[OBJ_KEY_LEN];
};

struct seen_ent {
  uint8_t d[16];
  uint64_t ms;
};

/* Limits of the home side, made on first use. */
struct node_otpk_remote {
  uint8_t salt[32];              /* keys the slot hashes and requester tags */
  struct rate_keyed_slot per_node[NODE_OTPK_REMOTE_SLOTS];
  struct rate_keyed_slot per_node_dev[NODE_OTPK_REMOTE_SLOTS];
  struct rate_keyed_slot per_req_dev[NODE_OTPK_REMOTE_SLOTS];
  struct rate_keyed_slot per_dev[NODE_OTPK_REMOTE_SLOTS]; /* every asking node together */
  struct seen_ent seen[NODE_OTPK_SEEN_MAX]; /* claims taken, by (asker, nonce) */
  uint32_t seen_next;
};

static struct node_otpk_remote *orl(struct node *n) {
  if (n->otpk_remote) return n->otpk_remote;
  struct node_otpk_remote *o = calloc(1, sizeof *o);
  if (!o || crypto_random(o->salt, sizeof o->salt) != 0) {
    free(o);
    return NULL;
  }
  return n->otpk_remote = o;
}

/* SHA-256(salt || parts) cut to out_len (<= 32). */
static void digest(const struct node_otpk_remote *o, const uint8_t *a, size_t an, const uint8_t *b,
                   size_t bn, const uint8_t *c, size_t cn, uint8_t *out, size_t out_len) {
  uint8_t in[32 + 3 * OBJ_KEY_LEN], d[32];
  size_t k = 0;
  memcpy(in, o->salt, 32), k = 32;
  memcpy(in + k, a, an), k += an;
  if (b) memcpy(in + k, b, bn), k += bn;
  if (c) memcpy(in + k, c, cn), k += cn;
  if (crypto_sha256(d, in, k) != 0) memset(d, 0xff, sizeof d); /* all in one slot: stricter */
  memcpy(out, d, out_len);
}

/* ---- the asking side ------------------------------------------------------------- */

int node__c_claim_remote(struct conn *c, const Momedo__ClientRequest *rq, char *why,
                         size_t why_cap) {
  const Momedo__PrekeyClaimReq *r = rq->prekey_claim;
  struct node *n = c->n;
  struct node_otpk_remote *o = orl(n);
  struct repl_claim rc_;
  struct otpk_claim_q q;
  uint64_t handle = 0, now = node__now_ms();
  if (!o) return MOMEDO_E_NOMEM;
  if (r->nonce.len != OTPK_NONCE_LEN)
    return reason_fail(why, why_cap, MOMEDO_E_BOUNDS, "a claim from another node needs a "
                       "%u-byte nonce", OTPK_NONCE_LEN);
  if (n->cfg.repl.scope == REPL_SCOPE_FLOOD)
    return reason_fail(why, why_cap, MOMEDO_E_UNEXPECTED, "this federation floods: one-time "
                       "prekeys are claimed from the home node only");
  if (n->claims_pending >= NODE_CLAIMS_PENDING_MAX)
    return reason_fail(why, why_cap, MOMEDO_E_BUSY, "too many one-time prekey claims in "
                       "progress on this node; try again");
  memset(&q, 0, sizeof q);
  memcpy(q.home, r->home_node.data, OBJ_KEY_LEN);
  memcpy(q.device_key, r->device_key.data, OBJ_KEY_LEN);
  memcpy(q.nonce, r->nonce.data, OTPK_NONCE_LEN);
  digest(o, (const uint8_t *)"momedo/otpk-requester/v1", 24, c->device_key, OBJ_KEY_LEN, NULL, 0,
         q.requester, OTPK_REQUESTER_LEN);
  q.created_ms = now;
  memset(&rc_, 0, sizeof rc_);
  memcpy(rc_.node, q.home, OBJ_KEY_LEN);
  memcpy(rc_.device_key, q.device_key, OBJ_KEY_LEN);
  memcpy(rc_.nonce, q.nonce, OTPK_NONCE_LEN);
  memcpy(rc_.requester, q.requester, OTPK_REQUESTER_LEN);
  rc_.created_ms = now;
  int rc = otpk_claim_sign(rc_.sig, &q, &n->id.kp);
  struct node_claim *cl = rc ? NULL : calloc(1, sizeof *cl);
  if (!cl) return rc ? rc : MOMEDO_E_NOMEM;
  if ((rc = repl_claim_start(n->repl, &rc_, now, &handle)) != 0) {
    free(cl);
    return reason_fail(why, why_cap, rc, "cannot start a one-time prekey claim: %s",
                       momedo_strerror(rc));
  }
  cl->handle = handle;
  cl->c = c;
  cl->request_id = rq->request_id;
  memcpy(cl->home, q.home, OBJ_KEY_LEN);
  cl->next = n->claims;
  n->claims = cl;
  n->claims_pending++;
  c->lookups++;
  link_pause_read(c->l); /* one answer at a time, in order */
  node__drain(n);         /* no route: the engine answered at once */
  return NODE_DEFERRED;
}

static int fill_ok(struct arena *a, const struct repl_claim *k, Momedo__ClientResponse *rs) {
  Momedo__PrekeyClaimResp *out = arena_alloc(a, sizeof *out);
  Momedo__OneTimePrekey *p = arena_alloc(a, sizeof *p);
  uint8_t *b = arena_alloc(a, 32 + 64 + 64);
  if (!out || !p || !b) return MOMEDO_E_NOMEM;
  momedo__prekey_claim_resp__init(out);
  momedo__one_time_prekey__init(p);
  memcpy(b, k->opk_key, 32);
  memcpy(b + 32, k->opk_sig, 64);
  memcpy(b + 96, k->sig, 64);
  p->id = k->opk_id;
  p->key = (ProtobufCBinaryData){32, b};
  p->signature = (ProtobufCBinaryData){64, b + 32};
  out->prekey = p;
  out->home_signature = (ProtobufCBinaryData){64, b + 96};
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_CLAIM;
  rs->prekey_claim = out;
  return 0;
}

static void answer_client(struct node *n, struct node_claim *cl, const struct repl_action *a) {
  struct conn *c = cl->c;
  char why[FRAME_REASON_BYTES_MAX] = "", pre[NODE_KEY_PREFIX_LEN + 1];
  struct arena ar;
  Momedo__ClientResponse rs = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__PrekeyClaimResp none = MOMEDO__PREKEY_CLAIM_RESP__INIT;
  if (!c) return;
  c->lookups--;
  arena_init(&ar, NODE_ARENA_BYTES_MAX);
  rs.request_id = cl->request_id;
  node_key_prefix(cl->home, pre);
  int rc = a->status;
  if (rc == 0 && a->claim) rc = fill_ok(&ar, a->claim, &rs);
  else if (rc == MOMEDO_E_NOTFOUND) { /* none held there: as a local claim says it */
    rs.body_case = MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_CLAIM;
    rs.prekey_claim = &none;
    rc = 0;
  } else if (rc == MOMEDO_E_AGAIN)
    snprintf(why, sizeof why, "no route to the home node %s now", pre);
  else if (rc == MOMEDO_E_TIMEOUT)
    snprintf(why, sizeof why, "the home node %s did not answer within %llu ms", pre,
             (unsigned long long)n->cfg.repl.lookup_timeout_ms);
  else
    snprintf(why, sizeof why, "the home node %s refused the claim (%s)", pre,
             momedo_status_name(rc));
  node__deferred_respond(c, &rs, rc, why);
  arena_close(&ar);
}

void node__claim_done(struct node *n, const struct repl_action *a) {
  for (struct node_claim **pp = &n->claims; *pp; pp = &(*pp)->next) {
    struct node_claim *cl = *pp;
    if (cl->handle != a->handle) continue;
    *pp = cl->next;
    n->claims_pending--;
    answer_client(n, cl, a);
    free(cl);
    break;
  }
  free(a->claim);
}

void node__claims_conn_gone(struct conn *c) {
  for (struct node_claim *cl = c->n->claims; cl; cl = cl->next)
    if (cl->c == c) cl->c = NULL;
}

void node__claims_free(struct node *n) {
  while (n->claims) {
    struct node_claim *cl = n->claims;
    n->claims = cl->next;
    free(cl);
  }
  n->claims_pending = 0;
  free(n->otpk_remote);
  n->otpk_remote = NULL;
}

/* ---- the home side --------------------------------------------------------------- */

/* Replay: a (asker, nonce) taken within the skew window is refused. E_EXISTS, or E_BUSY
 * when the oldest remembered entry is still inside the window (fail closed). */
static int seen_take(struct node_otpk_remote *o, const struct repl_claim *k, uint64_t now) {
  uint8_t d[16];
  digest(o, k->node, OBJ_KEY_LEN, k->nonce, OTPK_NONCE_LEN, NULL, 0, d, sizeof d);
  for (size_t i = 0; i < NODE_OTPK_SEEN_MAX; i++)
    if (o->seen[i].ms && now - o->seen[i].ms <= 2 * NODE_OTPK_CLAIM_SKEW_MS &&
        memcmp(o->seen[i].d, d, sizeof d) == 0)
      return MOMEDO_E_EXISTS;
  struct seen_ent *e = &o->seen[o->seen_next];
  if (e->ms && now >= e->ms && now - e->ms <= 2 * NODE_OTPK_CLAIM_SKEW_MS) return MOMEDO_E_BUSY;
  memcpy(e->d, d, sizeof d);
  e->ms = now;
  o->seen_next = (o->seen_next + 1) % NODE_OTPK_SEEN_MAX;
  return 0;
}

/* Everything a claim must pass before a prekey is taken; 0 or the refusal (*what names
 * it for the log). */
static int claim_checks(struct node *n, struct node_otpk_remote *o, const struct repl_claim *k,
                        uint64_t now, const char **what) {
  struct otpk_claim_q q;
  memcpy(q.home, n->id.kp.pub, OBJ_KEY_LEN);
  memcpy(q.device_key, k->device_key, OBJ_KEY_LEN);
  memcpy(q.nonce, k->nonce, OTPK_NONCE_LEN);
  memcpy(q.requester, k->requester, OTPK_REQUESTER_LEN);
  q.created_ms = k->created_ms;
  *what = "the asking node's signature does not verify";
  if (otpk_claim_verify(k->sig, &q, k->node) != 0) return MOMEDO_E_AUTH;
  *what = "made too long ago";
  if (k->created_ms + NODE_OTPK_CLAIM_SKEW_MS < now) return MOMEDO_E_EXPIRED;
  *what = "made in the future";
  if (k->created_ms > now + NODE_OTPK_CLAIM_SKEW_MS) return MOMEDO_E_FUTURE;
  *what = "a replay, or too many claims at once";
  int rc = seen_take(o, k, now);
  if (rc) return rc;
  /* The requester's budget first: one device of an honest node using its own budget up
   * does not use up its node's. Last, whatever nodes do (they can mint keys, and records
   * linking them to themselves), the other nodes together take at most
   * NODE_OTPK_REMOTE_DEVICE_HOUR of a device's prekeys an hour: the rest stay for senders
   * on this node. Each limit is keyed by a salted hash of who and what it counts. */
  const struct {
    struct rate_keyed_slot *tab;
    const uint8_t *a, *b, *c;
    uint32_t limit;
    uint64_t window_ms;
    const char *what;
  } lim[] = {
    {o->per_req_dev, k->node, k->device_key, k->requester, NODE_OTPK_REMOTE_PER_REQUESTER_HOUR,
     HOUR_MS, "the limit per requesting device and device claimed"},
    {o->per_node, k->node, NULL, NULL, NODE_OTPK_REMOTE_PER_NODE_MINUTE, MIN_MS,
     "the limit per asking node"},
    {o->per_node_dev, k->node, k->device_key, NULL, NODE_OTPK_REMOTE_PER_DEVICE_HOUR, HOUR_MS,
     "the limit per asking node and device claimed"},
    {o->per_dev, k->device_key, NULL, NULL, NODE_OTPK_REMOTE_DEVICE_HOUR, HOUR_MS,
     "the limit of claims from other nodes per device claimed"},
  };
  for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
    uint8_t h[RATE_KEYED_HASH_LEN];
    digest(o, lim[i].a, OBJ_KEY_LEN, lim[i].b, OBJ_KEY_LEN, lim[i].c, OTPK_REQUESTER_LEN, h,
           sizeof h);
    int r = rate_keyed_take(lim[i].tab, NODE_OTPK_REMOTE_SLOTS, h, lim[i].limit,
                            lim[i].window_ms, now);
    if (r != RATE_KEYED_OK) {
      *what = r == RATE_KEYED_FULL ? "no room in the claim limits' table (too many claimants "
                                     "at once)" : lim[i].what;
      return MOMEDO_E_RATE;
    }
  }
  *what = "";
  return 0;
}

void node__claim_asked(struct node *n, const struct repl_action *a) {
  struct repl_claim *k = a->claim;
  struct node_otpk_remote *o = orl(n);
  struct otpk_pub p;
  uint32_t left = 0;
  uint64_t now = node__now_ms(), peer;
  uint32_t hops;
  char pre[NODE_KEY_PREFIX_LEN + 1], dpre[NODE_KEY_PREFIX_LEN + 1];
  const char *what = "";
  /* Only a node with a route back can be answered (and is known here). */
  if (!k || !o || repl_route(n->repl, k->node, now, &peer, &hops) != 0) goto out;
  node_key_prefix(k->node, pre);
  node_key_prefix(k->device_key, dpre);
  int rc = claim_checks(n, o, k, now, &what);
  if (rc == 0) rc = node__otpk_take(n, k->device_key, &p, &left);
  if (rc == 0) {
    k->opk_id = p.id;
    memcpy(k->opk_key, p.key, 32);
    memcpy(k->opk_sig, p.sig, 64);
    rc = otpk_claimed_sign(k->sig, k->nonce, k->device_key, &p, &n->id.kp);
    if (rc) rc = MOMEDO_E_INTERNAL; /* the prekey is gone: a lost one, never a repeat */
  }
  if (rc == 0)
    node_log(NODE_LOG_DEBUG, "one-time prekey of device %s handed to node %s (%u left)", dpre,
             pre, left);
  else if (rc != MOMEDO_E_NOTFOUND)
    node_log(NODE_LOG_INFO, "one-time prekey claim of node %s for device %s refused: %s (%s)",
             pre, dpre, momedo_status_name(rc), what[0] ? what : momedo_strerror(rc));
  if (momedo_status_kind(rc) == MOMEDO_KIND_STORE && rc != MOMEDO_E_NOTFOUND) goto out;
  if (repl_claim_answer(n->repl, k, rc, now) != 0)
    node_log(NODE_LOG_WARN, "cannot answer a one-time prekey claim of node %s", pre);
out:
  free(k);
}
