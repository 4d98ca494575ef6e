/* node/lookup.c — key bundle lookups for clients (LookupReq): answered at once from what
 * this node holds; otherwise, in scoped delivery, the engine asks the user's home nodes
 * over the federation's routes (first the nodes the client's home hints name, else the
 * nodes whose user summary matches) and the answer goes out when its LOOKUP_DONE action
 * arrives — found, or E_NOTFOUND within the engine's lookup_timeout_ms. While a lookup
 * is out, reading from that client pauses, so its responses stay in request order.
 * Never logs which user was asked for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "log.h"
#include "node_int.h"

/* What a client asked for, kept while the engine looks. */
struct lookup_q {
  enum repl_lookup_kind kind;
  uint8_t key[OBJ_KEY_LEN];               /* IDENTITY */
  uint8_t bits[IDS_USER_ID_BYTES];        /* USER_ID */
  char alias[OBJ_ALIAS_CHARS_MAX + 1];    /* ALIAS, canonical */
};

struct node_lookup {
  struct node_lookup *next;
  uint64_t handle;
  struct conn *c;                         /* NULL once the client is gone */
  uint64_t request_id;
  struct lookup_q q;
};

/* The answer this node holds: the bundle (and for an alias the alias object), both
 * malloc'ed. E_NOTFOUND with why when none. */
static int answer_local(struct node *n, const struct lookup_q *q, uint8_t **bundle, size_t *blen,
                        uint8_t **alias, size_t *alen, char *why, size_t why_cap) {
  struct obj_info info, ainfo;
  int rc;
  *bundle = *alias = NULL;
  *blen = *alen = 0;
  if (q->kind == REPL_LOOKUP_IDENTITY)
    return repl_bundle_lookup(n->repl, q->key, &info, bundle, blen);
  if (q->kind == REPL_LOOKUP_USER_ID)
    return repl_bundle_lookup_user_id(n->repl, q->bits, &info, bundle, blen);
  rc = repl_alias_lookup(n->repl, q->alias, node__now_ms(), &ainfo, alias, alen);
  if (rc == 0) rc = repl_bundle_lookup(n->repl, ainfo.key, &info, bundle, blen);
  if (rc == 0 && node__alias_home_ok(*bundle, *blen, ainfo.signer) != 1) {
    reason_set(why, why_cap, "alias %s was not issued by a home node of its user, so it is not served", q->alias);
    rc = MOMEDO_E_NOTFOUND;
  }
  if (rc) {
    free(*bundle);
    free(*alias);
    *bundle = *alias = NULL;
  }
  return rc;
}

/* Parse the request into q; E_INVAL / E_BOUNDS / an ID parse error with why. */
static int parse_q(const Momedo__LookupReq *r, struct lookup_q *q, char *why, size_t why_cap) {
  int have_uid = r->user_id && *r->user_id, have_alias = r->alias && *r->alias;
  memset(q, 0, sizeof *q);
  if (have_uid + have_alias + (r->identity_key.len > 0) != 1) {
    reason_set(why, why_cap, "give exactly one of user_id, identity_key, alias");
    return MOMEDO_E_INVAL;
  }
  if (r->n_home_hints > REPL_LOOKUP_HINTS_MAX) {
    reason_set(why, why_cap, "at most %u home hints", REPL_LOOKUP_HINTS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  for (size_t i = 0; i < r->n_home_hints; i++)
    if (r->home_hints[i].len < IDS_CARD_HINT_LEN || r->home_hints[i].len > IDS_NODE_FP_LEN) {
      reason_set(why, why_cap, "a home hint is %d..%d bytes of a node fingerprint", IDS_CARD_HINT_LEN,
          IDS_NODE_FP_LEN);
      return MOMEDO_E_BOUNDS;
    }
  if (r->identity_key.len > 0) {
    if (r->identity_key.len != OBJ_KEY_LEN) return MOMEDO_E_BOUNDS;
    q->kind = REPL_LOOKUP_IDENTITY;
    memcpy(q->key, r->identity_key.data, OBJ_KEY_LEN);
    return 0;
  }
  if (have_uid) {
    int rc = ids_user_id_parse(q->bits, r->user_id);
    if (rc) reason_set(why, why_cap, "'%.40s' is not a valid user ID (%s)", r->user_id, momedo_strerror(rc));
    q->kind = REPL_LOOKUP_USER_ID;
    return rc;
  }
  int rc = node__alias_norm(q->alias, r->alias);
  if (rc)
    reason_set(why, why_cap, "'%.40s' is not an alias (%d..%d letters and digits)", r->alias, OBJ_ALIAS_CHARS_MIN,
        OBJ_ALIAS_CHARS_MAX);
  q->kind = REPL_LOOKUP_ALIAS;
  return rc;
}

/* Home hints (fingerprint prefixes) -> node keys of nodes this engine knows. */
struct hint_ctx {
  const Momedo__LookupReq *r;
  struct repl_lookup_req *out;
  const uint8_t *self;
};

static int hint_node(void *vctx, const struct repl_node_info *ni) {
  struct hint_ctx *h = vctx;
  uint8_t fp[IDS_NODE_FP_LEN];
  if (memcmp(ni->key, h->self, OBJ_KEY_LEN) == 0 || ids_node_fp_bytes(fp, ni->key) != 0) return 0;
  for (size_t i = 0; i < h->r->n_home_hints; i++)
    if (memcmp(fp, h->r->home_hints[i].data, h->r->home_hints[i].len) == 0 &&
        h->out->n_hints < REPL_LOOKUP_HINTS_MAX) {
      memcpy(h->out->hints[h->out->n_hints++], ni->key, OBJ_KEY_LEN);
      break;
    }
  return h->out->n_hints >= REPL_LOOKUP_HINTS_MAX;
}

static int start_engine_lookup(struct node *n, const Momedo__LookupReq *r,
                               const struct lookup_q *q, uint64_t *handle) {
  struct repl_lookup_req rq;
  memset(&rq, 0, sizeof rq);
  rq.kind = q->kind;
  memcpy(rq.identity_key, q->key, OBJ_KEY_LEN);
  memcpy(rq.user_id, q->bits, IDS_USER_ID_BYTES);
  memcpy(rq.alias, q->alias, sizeof rq.alias);
  if (r->n_home_hints) {
    struct hint_ctx h = {r, &rq, n->id.kp.pub};
    int rc = repl_nodes(n->repl, node__now_ms(), hint_node, &h);
    if (rc < 0) return rc;
  }
  return repl_lookup_start(n->repl, &rq, node__now_ms(), handle);
}

/* Fill rs with a LookupResp from the bytes (taken over) in arena memory. */
static int fill_resp(struct arena *a, uint8_t *bundle, size_t blen, uint8_t *alias, size_t alen,
                     Momedo__ClientResponse *rs) {
  Momedo__LookupResp *out = arena_alloc(a, sizeof *out);
  if (!out) {
    free(bundle);
    free(alias);
    return MOMEDO_E_NOMEM;
  }
  momedo__lookup_resp__init(out);
  out->alias = node__arena_object(a, MOMEDO__OBJECT_KIND__OBJ_ALIAS, alias, alen);
  out->bundle = node__arena_object(a, MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, bundle, blen);
  if (!out->bundle || (alen && !out->alias)) return MOMEDO_E_NOMEM;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_LOOKUP;
  rs->lookup = out;
  return 0;
}

int node__c_lookup(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                   char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__LookupReq *r = rq->lookup;
  struct lookup_q q;
  uint8_t *bundle = NULL, *alias = NULL;
  size_t blen = 0, alen = 0;
  uint64_t handle = 0;
  int rc = parse_q(r, &q, why, why_cap);
  if (rc) return rc;
  rc = answer_local(n, &q, &bundle, &blen, &alias, &alen, why, why_cap);
  if (rc == 0) return fill_resp(&n->arena, bundle, blen, alias, alen, rs);
  if (rc != MOMEDO_E_NOTFOUND || why[0]) return rc; /* e.g. an alias that is not served */
  if (n->cfg.repl.scope == REPL_SCOPE_FLOOD) { /* every node holds every bundle */
    reason_set(why, why_cap, "no key bundle known for this user");
    return rc;
  }
  if (n->lookups_pending >= NODE_LOOKUPS_PENDING_MAX) {
    reason_set(why, why_cap, "too many lookups in progress on this node; try again");
    return MOMEDO_E_BUSY;
  }
  struct node_lookup *lk = calloc(1, sizeof *lk);
  if (!lk) return MOMEDO_E_NOMEM;
  if ((rc = start_engine_lookup(n, r, &q, &handle)) != 0) {
    free(lk);
    reason_set(why, why_cap, "cannot start a lookup: %s", momedo_strerror(rc));
    return rc;
  }
  lk->handle = handle;
  lk->c = c;
  lk->request_id = rq->request_id;
  lk->q = q;
  lk->next = n->lookups;
  n->lookups = lk;
  n->lookups_pending++;
  c->lookups++;
  link_pause_read(c->l); /* one answer at a time, in order */
  node__drain(n);         /* the engine may have answered at once (no candidate) */
  return NODE_DEFERRED;
}

/* Answer the client of a finished lookup (unless it is gone). */
static void answer_deferred(struct node *n, struct node_lookup *lk, int status) {
  struct conn *c = lk->c;
  char why[FRAME_REASON_BYTES_MAX] = "";
  uint8_t *bundle = NULL, *alias = NULL;
  size_t blen = 0, alen = 0;
  struct arena a;
  Momedo__ClientResponse rs = MOMEDO__CLIENT_RESPONSE__INIT;
  if (!c) return;
  c->lookups--;
  arena_init(&a, NODE_ARENA_BYTES_MAX);
  rs.request_id = lk->request_id;
  int rc = status ? status : answer_local(n, &lk->q, &bundle, &blen, &alias, &alen, why, sizeof why);
  if (rc == 0) rc = fill_resp(&a, bundle, blen, alias, alen, &rs);
  if (rc) {
    if (rc == MOMEDO_E_NOTFOUND && !why[0])
      snprintf(why, sizeof why, "no key bundle found for this user: no home node of it "
               "answered within %llu ms, or none is known",
               (unsigned long long)n->cfg.repl.lookup_timeout_ms);
  }
  node__deferred_respond(c, &rs, rc, why);
  arena_close(&a);
}

void node__deferred_respond(struct conn *c, Momedo__ClientResponse *rs, int rc, char *why) {
  if (rc) {
    rs->status = rc;
    rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET;
    rs->reason = why[0] ? why : (char *)momedo_strerror(rc);
  }
  if (!c->closing) {
    node__client_respond(c, rs);
    if (!c->held && c->lookups == 0) link_resume_read(c->l);
  }
}

void node__lookup_done(struct node *n, const struct repl_action *a) {
  for (struct node_lookup **pp = &n->lookups; *pp; pp = &(*pp)->next) {
    struct node_lookup *lk = *pp;
    if (lk->handle != a->handle) continue;
    *pp = lk->next;
    n->lookups_pending--;
    answer_deferred(n, lk, a->status);
    free(lk);
    return;
  }
}

void node__lookups_conn_gone(struct conn *c) {
  for (struct node_lookup *lk = c->n->lookups; lk; lk = lk->next)
    if (lk->c == c) lk->c = NULL;
}

void node__lookups_free(struct node *n) {
  while (n->lookups) {
    struct node_lookup *lk = n->lookups;
    n->lookups = lk->next;
    free(lk);
  }
  n->lookups_pending = 0;
}
