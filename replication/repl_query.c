/* replication/repl_query.c — lookups: answered from what this node holds, else (scoped
 * mode) routed to the nodes a contact card names or whose record's user summary (a
 * Bloom filter) matches, nearest first, with a timeout; answers are checked like any
 * object and kept in a bounded in-memory cache for lookup_cache_ms. Also the Routed
 * message: forwarding hop by hop along the routes, per-neighbor rate limit, answering. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "ids.h"
#include "repl_int.h"

#define BLOOM_DOMAIN "momedo/users-bloom/v1"
#define BLOOM_TAG_USER 1
#define BLOOM_TAG_ALIAS 2

/* ---- the users summary -------------------------------------------------------- */

/* The two hashes of one summary entry (user-ID bits, or an alias NUL-padded to 12). */
static int bloom_hash(uint8_t tag, const uint8_t *v, size_t n, uint32_t h[2]) {
  uint8_t in[sizeof BLOOM_DOMAIN + 1 + OBJ_ALIAS_CHARS_MAX + IDS_USER_ID_BYTES], d[32];
  size_t dl = sizeof BLOOM_DOMAIN - 1;
  memcpy(in, BLOOM_DOMAIN, dl);
  in[dl] = tag;
  memcpy(in + dl + 1, v, n);
  int rc = crypto_sha256(d, in, dl + 1 + n);
  h[0] = be32_get(d);
  h[1] = be32_get(d + 4) | 1;
  return rc;
}

static void bloom_bits(const uint32_t h[2], uint32_t nbits, uint32_t k, uint32_t *out) {
  for (uint32_t i = 0; i < k; i++) out[i] = (h[0] + i * h[1]) & (nbits - 1);
}

struct bloom_acc {
  uint32_t (*h)[2];
  size_t n, cap;
  uint8_t tag;
};

static int bloom_collect(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct bloom_acc *a = ctx;
  (void)v, (void)vn;
  size_t len = a->tag == BLOOM_TAG_USER ? IDS_USER_ID_BYTES : OBJ_ALIAS_CHARS_MAX;
  if (kn < 1 + len) return MOMEDO_E_CORRUPT;
  if (a->n == REPL_BLOOM_ENTRIES_MAX) return 1; /* full: a bigger filter would not fit */
  if (a->n == a->cap) {
    size_t ncap = a->cap ? a->cap * 2 : 64;
    uint32_t(*nh)[2] = realloc(a->h, ncap * sizeof *nh);
    if (!nh) return MOMEDO_E_NOMEM;
    a->h = nh;
    a->cap = ncap;
  }
  return bloom_hash(a->tag, k + 1, len, a->h[a->n++]);
}

int repl__bloom_build(struct repl *r, uint8_t **out, uint32_t *len, uint32_t *k) {
  struct bloom_acc a = {0};
  uint8_t tags[2] = {REPL_T_USERID, REPL_T_ALIAS};
  int rc = 0;
  *out = NULL, *len = 0, *k = 0;
  for (int t = 0; t < 2 && rc >= 0; t++) {
    uint8_t lo[1] = {tags[t]}, hi[1] = {(uint8_t)(tags[t] + 1)};
    a.tag = t == 0 ? BLOOM_TAG_USER : BLOOM_TAG_ALIAS;
    rc = store_iter(r->store, lo, 1, hi, 1, bloom_collect, &a);
  }
  if (rc < 0 || a.n == 0) goto out;
  uint32_t nbits = OBJ_RECORD_BLOOM_BYTES_MIN * 8;
  while (nbits < a.n * REPL_BLOOM_BITS_PER_ENTRY && nbits < OBJ_RECORD_BLOOM_BYTES_MAX * 8)
    nbits *= 2;
  uint8_t *f = calloc(nbits / 8, 1);
  if (!f) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  uint32_t bits[REPL_BLOOM_HASHES];
  for (size_t i = 0; i < a.n; i++) {
    bloom_bits(a.h[i], nbits, REPL_BLOOM_HASHES, bits);
    for (uint32_t j = 0; j < REPL_BLOOM_HASHES; j++) f[bits[j] / 8] |= (uint8_t)(1u << (bits[j] % 8));
  }
  *out = f, *len = nbits / 8, *k = REPL_BLOOM_HASHES;
  rc = 0;
out:
  free(a.h);
  return rc < 0 ? rc : 0;
}

/* Does node n's summary say it may be home to what q asks for? */
static bool bloom_match(const struct repl_srec *n, const uint32_t h[2]) {
  uint32_t bits[OBJ_RECORD_BLOOM_HASHES_MAX];
  if (!n->bloom_len || !n->bloom_k || n->bloom_k > OBJ_RECORD_BLOOM_HASHES_MAX) return false;
  bloom_bits(h, n->bloom_len * 8, n->bloom_k, bits);
  for (uint32_t j = 0; j < n->bloom_k; j++)
    if (!(n->bloom[bits[j] / 8] & (1u << (bits[j] % 8)))) return false;
  return true;
}

/* ---- requests ---------------------------------------------------------------- */

static int req_check(const struct repl_lookup_req *q) {
  if (q->n_hints > REPL_LOOKUP_HINTS_MAX) return MOMEDO_E_INVAL;
  switch (q->kind) {
  case REPL_LOOKUP_USER_ID:
  case REPL_LOOKUP_IDENTITY:
    return 0;
  case REPL_LOOKUP_ALIAS: {
    size_t n = strnlen(q->alias, sizeof q->alias);
    return n >= OBJ_ALIAS_CHARS_MIN && n <= OBJ_ALIAS_CHARS_MAX ? 0 : MOMEDO_E_INVAL;
  }
  default:
    return MOMEDO_E_INVAL;
  }
}

/* The summary hashes of a request. */
static int req_hash(const struct repl_lookup_req *q, uint32_t h[2]) {
  uint8_t bits[IDS_USER_ID_BYTES], pad[OBJ_ALIAS_CHARS_MAX];
  int rc;
  switch (q->kind) {
  case REPL_LOOKUP_ALIAS:
    memset(pad, 0, sizeof pad);
    memcpy(pad, q->alias, strnlen(q->alias, OBJ_ALIAS_CHARS_MAX));
    return bloom_hash(BLOOM_TAG_ALIAS, pad, sizeof pad, h);
  case REPL_LOOKUP_IDENTITY:
    if ((rc = ids_user_id_bits(bits, q->identity_key))) return rc;
    return bloom_hash(BLOOM_TAG_USER, bits, sizeof bits, h);
  default:
    return bloom_hash(BLOOM_TAG_USER, q->user_id, IDS_USER_ID_BYTES, h);
  }
}

/* The answer from what this node holds: 0 with *info (and, if wanted, the bundle and
 * alias bytes), E_NOTFOUND, or an error. store_only: not from the lookup cache. */
static int local_answer(struct repl *r, const struct repl_lookup_req *q, uint64_t now_ms,
                        struct obj_info *info, uint8_t **bundle, size_t *blen, uint8_t **al,
                        size_t *alen) {
  uint8_t *data = NULL, *adata = NULL;
  size_t len = 0, an = 0;
  struct obj_info ai;
  int rc;
  switch (q->kind) {
  case REPL_LOOKUP_USER_ID:
    rc = repl_bundle_lookup_user_id(r, q->user_id, info, &data, &len);
    break;
  case REPL_LOOKUP_IDENTITY:
    rc = repl_bundle_lookup(r, q->identity_key, info, &data, &len);
    break;
  default:
    rc = repl_alias_lookup(r, q->alias, now_ms, &ai, &adata, &an);
    if (rc == 0) rc = repl_bundle_lookup(r, ai.key, info, &data, &len);
    break;
  }
  if (rc == 0 && bundle) *bundle = data, *blen = len, data = NULL;
  if (rc == 0 && al) *al = adata, *alen = an, adata = NULL;
  free(data);
  free(adata);
  return rc;
}

/* ---- the cache of answers ------------------------------------------------------- */

static void cache_ent_free(struct repl_cache_ent *e) {
  free(e->bundle);
  free(e->alias_obj);
  memset(e, 0, sizeof *e);
}

void repl__cache_free(struct repl *r) {
  for (size_t i = 0; i < r->ncache; i++) cache_ent_free(&r->cache[i]);
  free(r->cache);
  r->cache = NULL;
  r->ncache = 0;
}

static void cache_count(struct repl *r) {
  r->st.cached_objects = r->st.cached_bytes = 0;
  for (size_t i = 0; i < r->ncache; i++) {
    r->st.cached_objects += 1 + (r->cache[i].alias_obj != NULL);
    r->st.cached_bytes += r->cache[i].blen + r->cache[i].alen;
  }
}

/* Take a checked answer (bytes owned from here on). The oldest entry makes room. */
static int cache_put(struct repl *r, uint8_t *b, size_t bl, const struct obj_info *bi,
                     uint8_t *a, size_t al, const struct obj_info *ai, uint64_t now_ms) {
  if (!r->cache && !(r->cache = calloc(REPL_LOOKUP_CACHE_MAX, sizeof *r->cache))) {
    free(b), free(a);
    return MOMEDO_E_NOMEM;
  }
  size_t slot = r->ncache;
  for (size_t i = 0; i < r->ncache; i++) /* the same identity: replaced */
    if (memcmp(r->cache[i].binfo.key, bi->key, OBJ_KEY_LEN) == 0) slot = i;
  if (slot == REPL_LOOKUP_CACHE_MAX) {
    slot = 0;
    for (size_t i = 1; i < r->ncache; i++)
      if (r->cache[i].until_ms < r->cache[slot].until_ms) slot = i;
  }
  if (slot == r->ncache) r->ncache++;
  struct repl_cache_ent *e = &r->cache[slot];
  cache_ent_free(e);
  e->bundle = b, e->blen = bl, e->binfo = *bi;
  e->alias_obj = a, e->alen = al;
  if (ai) e->ainfo = *ai;
  e->until_ms = now_ms + r->cfg.lookup_cache_ms;
  int rc = ids_user_id_bits(e->bits, bi->key);
  cache_count(r);
  return rc;
}

static int cache_copy(const uint8_t *src, size_t n, const struct obj_info *si,
                      struct obj_info *info, uint8_t **data, size_t *len) {
  uint8_t *d = malloc(n ? n : 1);
  if (!d) return MOMEDO_E_NOMEM;
  memcpy(d, src, n);
  if (info) *info = *si;
  *data = d, *len = n;
  return 0;
}

int repl__cache_find(struct repl *r, enum repl_lookup_kind kind, const void *key,
                     struct obj_info *info, uint8_t **data, size_t *len) {
  if (r->store_only) return MOMEDO_E_NOTFOUND;
  for (size_t i = 0; i < r->ncache; i++) {
    const struct repl_cache_ent *e = &r->cache[i];
    if (e->until_ms <= r->last_now_ms) continue;
    if (kind == REPL_LOOKUP_IDENTITY && memcmp(e->binfo.key, key, OBJ_KEY_LEN) == 0)
      return cache_copy(e->bundle, e->blen, &e->binfo, info, data, len);
    if (kind == REPL_LOOKUP_USER_ID && memcmp(e->bits, key, IDS_USER_ID_BYTES) == 0)
      return cache_copy(e->bundle, e->blen, &e->binfo, info, data, len);
    if (kind == REPL_LOOKUP_ALIAS && e->alias_obj && strcmp(e->ainfo.alias, key) == 0)
      return cache_copy(e->alias_obj, e->alen, &e->ainfo, info, data, len);
  }
  return MOMEDO_E_NOTFOUND;
}

/* ---- lookups in flight -------------------------------------------------------- */

static int lookup_end(struct repl *r, size_t i, int status, const struct obj_info *info) {
  uint64_t h = r->lookups[i].handle;
  r->lookups[i] = r->lookups[--r->nlookups];
  if (status == 0) r->st.lookups_found++;
  else r->st.lookups_notfound++;
  return repl__lookup_done(r, h, status, info);
}

/* A Routed message from this node to node dst along the routes. */
int repl__routed_send(struct repl *r, const uint8_t *dst, Momedo__Routed *m) {
  uint64_t peer, alt;
  bool has_alt;
  if (repl__next_hop(r, dst, &peer, &alt, &has_alt)) {
    r->st.routed_dropped++;
    return 0;
  }
  struct repl_peer *p = repl__peer(r, peer);
  if (!p || !p->up || !repl__can_send(r, p)) {
    r->st.routed_dropped++;
    return 0;
  }
  Momedo__ReplMsg msg = MOMEDO__REPL_MSG__INIT;
  msg.body_case = MOMEDO__REPL_MSG__BODY_ROUTED;
  msg.routed = m;
  int rc = repl__send(r, p, &msg, false);
  if (rc == 0) p->st.routed_sent++;
  return rc;
}

static void query_value(const struct repl_lookup_req *q, ProtobufCBinaryData *v) {
  if (q->kind == REPL_LOOKUP_USER_ID) *v = (ProtobufCBinaryData){IDS_USER_ID_BYTES, (uint8_t *)q->user_id};
  else if (q->kind == REPL_LOOKUP_IDENTITY) *v = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)q->identity_key};
  else *v = (ProtobufCBinaryData){strnlen(q->alias, OBJ_ALIAS_CHARS_MAX), (uint8_t *)q->alias};
}

/* A candidate this node cannot reach now: a neighbor whose link is down but still held in
 * the records (a restart, most likely: others still route to it through here), or no
 * route at all. A query for it would be dropped here or wander between its neighbors
 * until its hop budget ends, and the lookup would wait for its timeout. */
static bool unreachable(struct repl *r, const uint8_t *key) {
  uint64_t peer, alt;
  bool has_alt;
  return repl__link_held(r, key) || repl__next_hop(r, key, &peer, &alt, &has_alt) != 0;
}

/* Answer a relayed query for a candidate this node cannot reach with "not found" on its
 * behalf (src: the candidate, as the asker matches answers by it). Like any "no" it only
 * counts the candidate out: the asker ends the lookup now if it was the last one. A
 * relay could always drop the query instead, so this gives it no new power. */
static int answer_unreachable(struct repl *r, const Momedo__Routed *m) {
  Momedo__LookupAnswer la = MOMEDO__LOOKUP_ANSWER__INIT;
  la.qid = m->query->qid;
  la.status = MOMEDO_E_NOTFOUND;
  Momedo__Routed out = MOMEDO__ROUTED__INIT;
  out.src = m->dst;
  out.dst = m->src;
  out.hops_left = r->cfg.custody_hops_max;
  out.body_case = MOMEDO__ROUTED__BODY_ANSWER;
  out.answer = &la;
  r->st.lookup_queries_unreachable++;
  return repl__routed_send(r, m->src.data, &out);
}

/* Candidates: hints with a route, else matching summaries, nearest first. */
static size_t candidates(struct repl *r, const struct repl_lookup_req *q, const uint32_t h[2],
                         uint32_t *c) {
  size_t n = 0, max = r->cfg.lookup_candidates_max;
  uint64_t peer, alt;
  bool has_alt;
  for (uint32_t i = 0; i < q->n_hints && n < max; i++) {
    uint32_t idx = repl__node_of(r, q->hints[i]);
    if (idx != UINT32_MAX && repl__next_hop(r, q->hints[i], &peer, &alt, &has_alt) == 0) c[n++] = idx;
  }
  if (q->n_hints) return n;
  for (uint32_t d = 1; n < max; d++) { /* by distance: a few passes over the table */
    bool more = false;
    for (size_t i = 0; i < r->nnodes && n < max; i++) {
      const struct repl_node *nd = &r->nodes[i];
      if (nd->dist == UINT32_MAX || nd->dist < d) continue;
      if (nd->dist > d) {
        more = true;
        continue;
      }
      if (nd->rec && nd->live && nd->rec->expires_ms > r->last_now_ms && bloom_match(nd->rec, h)) c[n++] = (uint32_t)i;
    }
    if (!more) break;
  }
  return n;
}

static int lookup_route(struct repl *r, const struct repl_lookup_req *q, uint64_t handle,
                        uint64_t now_ms) {
  uint32_t h[2], c[REPL_LOOKUP_HINTS_MAX];
  int rc = repl__routes_fresh(r, now_ms);
  if (rc == 0) rc = req_hash(q, h);
  if (rc) return rc;
  size_t n = candidates(r, q, h, c);
  if (n == 0) {
    r->st.lookups_notfound++;
    return repl__lookup_done(r, handle, MOMEDO_E_NOTFOUND, NULL); /* no traffic at all */
  }
  if (r->nlookups == r->lookups_cap) {
    size_t ncap = r->lookups_cap ? r->lookups_cap * 2 : 4;
    struct repl_lookup *nl = realloc(r->lookups, ncap * sizeof *nl);
    if (!nl) return MOMEDO_E_NOMEM;
    r->lookups = nl;
    r->lookups_cap = ncap;
  }
  struct repl_lookup *l = &r->lookups[r->nlookups++];
  memset(l, 0, sizeof *l);
  l->handle = handle;
  l->deadline_ms = now_ms + r->cfg.lookup_timeout_ms;
  l->q = *q;
  l->ncand = (uint32_t)n;
  memcpy(l->cand, c, n * sizeof *c);
  Momedo__LookupQuery lq = MOMEDO__LOOKUP_QUERY__INIT;
  lq.qid = handle;
  lq.kind = (uint32_t)q->kind;
  query_value(q, &lq.value);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (unreachable(r, repl__key_of(r->shared, c[i]))) {
      l->nanswered++, r->st.lookup_queries_unreachable++;
      continue;
    }
    Momedo__Routed m = MOMEDO__ROUTED__INIT;
    m.src = (ProtobufCBinaryData){OBJ_KEY_LEN, r->cfg.self_key};
    m.dst = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)repl__key_of(r->shared, c[i])};
    m.hops_left = r->cfg.custody_hops_max;
    m.body_case = MOMEDO__ROUTED__BODY_QUERY;
    m.query = &lq;
    rc = repl__routed_send(r, repl__key_of(r->shared, c[i]), &m);
    if (rc == 0) r->st.lookup_queries_sent++;
  }
  if (rc == 0 && l->nanswered >= l->ncand) /* none could be asked */
    return lookup_end(r, r->nlookups - 1, MOMEDO_E_NOTFOUND, NULL);
  if (r->lookup_next_ms > l->deadline_ms) r->lookup_next_ms = l->deadline_ms;
  return rc;
}

int repl_lookup_start(struct repl *r, const struct repl_lookup_req *q, uint64_t now_ms,
                      uint64_t *handle) {
  struct obj_info info;
  if (!q || !handle || req_check(q)) return MOMEDO_E_INVAL;
  repl__clock_note(r, now_ms);
  int rc = local_answer(r, q, now_ms, &info, NULL, NULL, NULL, NULL);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  if (rc && repl__scoped(r) && r->nlookups == REPL_LOOKUPS_MAX) return MOMEDO_E_BUSY;
  *handle = ++r->next_handle;
  r->st.lookups_started++;
  if (rc == 0) {
    r->st.lookups_found++;
    return repl__lookup_done(r, *handle, 0, &info);
  }
  if (!repl__scoped(r)) {
    /* Flood mode: every node holds every bundle, so the local answer is the answer. */
    r->st.lookups_notfound++;
    return repl__lookup_done(r, *handle, rc, NULL);
  }
  return lookup_route(r, q, *handle, now_ms);
}

int repl__lookups_tick(struct repl *r, uint64_t now_ms) {
  int rc = 0;
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < r->nlookups && rc == 0;) {
    if (r->lookups[i].deadline_ms <= now_ms) {
      rc = lookup_end(r, i, MOMEDO_E_NOTFOUND, NULL);
      continue;
    }
    if (r->lookups[i].deadline_ms < next) next = r->lookups[i].deadline_ms;
    i++;
  }
  r->lookup_next_ms = next;
  return rc;
}

/* ---- routed messages -------------------------------------------------------------- */

/* Token bucket per neighbor: routed_per_peer_per_s, burst one second's worth. */
static bool rate_ok(struct repl *r, struct repl_peer *p, uint64_t now_ms) {
  uint64_t cap = (uint64_t)r->cfg.routed_per_peer_per_s * 1000;
  if (!p->rt_init) p->rt_tokens = cap, p->rt_init = true;
  uint64_t add = (now_ms - p->rt_last_ms) * r->cfg.routed_per_peer_per_s;
  if (now_ms < p->rt_last_ms) add = 0;
  p->rt_tokens = p->rt_tokens + add > cap ? cap : p->rt_tokens + add;
  p->rt_last_ms = now_ms;
  if (p->rt_tokens < 1000) return false;
  p->rt_tokens -= 1000;
  return true;
}

static int query_check(const Momedo__LookupQuery *q, struct repl_lookup_req *out) {
  memset(out, 0, sizeof *out);
  out->kind = (enum repl_lookup_kind)q->kind;
  if (q->kind == REPL_LOOKUP_USER_ID && q->value.len == IDS_USER_ID_BYTES)
    memcpy(out->user_id, q->value.data, IDS_USER_ID_BYTES);
  else if (q->kind == REPL_LOOKUP_IDENTITY && q->value.len == OBJ_KEY_LEN)
    memcpy(out->identity_key, q->value.data, OBJ_KEY_LEN);
  else if (q->kind == REPL_LOOKUP_ALIAS && q->value.len <= OBJ_ALIAS_CHARS_MAX &&
           !memchr(q->value.data, 0, q->value.len))
    memcpy(out->alias, q->value.data, q->value.len);
  else
    return MOMEDO_E_BOUNDS;
  return req_check(out) ? MOMEDO_E_BOUNDS : 0;
}

/* A query for this node: answered from what it holds (never from its cache). */
static int answer_query(struct repl *r, const Momedo__Routed *m, uint64_t now_ms) {
  struct repl_lookup_req q;
  struct obj_info info;
  uint8_t *b = NULL, *a = NULL;
  size_t bl = 0, al = 0;
  int rc = query_check(m->query, &q);
  if (rc) return rc;
  r->store_only = true;
  int st = local_answer(r, &q, now_ms, &info, &b, &bl, &a, &al);
  r->store_only = false;
  if (st && st != MOMEDO_E_NOTFOUND) return st;
  Momedo__Object ob[2], *obp[2] = {&ob[0], &ob[1]};
  Momedo__LookupAnswer la = MOMEDO__LOOKUP_ANSWER__INIT;
  la.qid = m->query->qid;
  la.status = st;
  if (st == 0) {
    momedo__object__init(&ob[0]);
    ob[0].kind = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
    ob[0].data = (ProtobufCBinaryData){bl, b};
    momedo__object__init(&ob[1]);
    ob[1].kind = MOMEDO__OBJECT_KIND__OBJ_ALIAS;
    ob[1].data = (ProtobufCBinaryData){al, a};
    la.n_objects = a ? 2 : 1;
    la.objects = obp;
  }
  Momedo__Routed out = MOMEDO__ROUTED__INIT;
  out.src = (ProtobufCBinaryData){OBJ_KEY_LEN, r->cfg.self_key};
  out.dst = m->src;
  out.hops_left = r->cfg.custody_hops_max;
  out.body_case = MOMEDO__ROUTED__BODY_ANSWER;
  out.answer = &la;
  rc = repl__routed_send(r, m->src.data, &out);
  if (rc == 0) r->st.lookup_queries_answered++;
  free(b), free(a);
  return rc;
}

/* Check an answer's objects against the request; 0 and the bytes (copied) or an error. */
static int answer_take(struct repl *r, const struct repl_lookup *l, const Momedo__LookupAnswer *a,
                       uint64_t now_ms) {
  struct obj_checked *ck = malloc(2 * sizeof *ck);
  uint8_t bits[IDS_USER_ID_BYTES], *b = NULL, *al = NULL;
  int rc = ck ? 0 : MOMEDO_E_NOMEM;
  int nb = -1, na = -1;
  for (size_t i = 0; i < a->n_objects && i < 2 && rc == 0; i++) {
    const Momedo__Object *o = a->objects[i];
    rc = obj_check(o->kind, o->data.data, o->data.len, now_ms, NULL, NULL, &ck[i]);
    if (rc == 0 && o->kind == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE && nb < 0) nb = (int)i;
    else if (rc == 0 && o->kind == MOMEDO__OBJECT_KIND__OBJ_ALIAS && na < 0) na = (int)i;
    else if (rc == 0) rc = MOMEDO_E_UNEXPECTED;
  }
  if (rc == 0 && nb < 0) rc = MOMEDO_E_UNEXPECTED;
  const struct obj_info *bi = rc == 0 ? &ck[nb].info : NULL;
  if (rc == 0 && l->q.kind == REPL_LOOKUP_IDENTITY && memcmp(bi->key, l->q.identity_key, 32))
    rc = MOMEDO_E_UNEXPECTED;
  if (rc == 0 && l->q.kind == REPL_LOOKUP_USER_ID &&
      (ids_user_id_bits(bits, bi->key) || memcmp(bits, l->q.user_id, sizeof bits)))
    rc = MOMEDO_E_UNEXPECTED;
  if (rc == 0 && l->q.kind == REPL_LOOKUP_ALIAS &&
      (na < 0 || strcmp(ck[na].info.alias, l->q.alias) || memcmp(ck[na].info.key, bi->key, 32)))
    rc = MOMEDO_E_UNEXPECTED;
  if (rc == 0) {
    const Momedo__Object *ob = a->objects[nb], *oa = na >= 0 ? a->objects[na] : NULL;
    b = malloc(ob->data.len);
    al = oa ? malloc(oa->data.len) : NULL;
    if (!b || (oa && !al)) rc = MOMEDO_E_NOMEM;
    if (rc == 0) {
      memcpy(b, ob->data.data, ob->data.len);
      if (oa) memcpy(al, oa->data.data, oa->data.len);
      rc = cache_put(r, b, ob->data.len, bi, al, oa ? oa->data.len : 0,
                     oa ? &ck[na].info : NULL, now_ms);
      b = al = NULL;
    }
  }
  if (rc == 0) r->last_answer = *bi;
  free(b), free(al), free(ck);
  return rc;
}

static int on_answer(struct repl *r, const Momedo__Routed *m, uint64_t now_ms) {
  const Momedo__LookupAnswer *a = m->answer;
  for (size_t i = 0; i < r->nlookups; i++) {
    struct repl_lookup *l = &r->lookups[i];
    if (l->handle != a->qid) continue;
    bool asked = false;
    for (uint32_t j = 0; j < l->ncand && !asked; j++)
      asked = memcmp(repl__key_of(r->shared, l->cand[j]), m->src.data, OBJ_KEY_LEN) == 0;
    if (!asked) return 0; /* not a node we asked: ignored */
    if (a->status == 0 && a->n_objects <= 2) {
      int rc = answer_take(r, l, a, now_ms);
      if (rc == 0) return lookup_end(r, i, 0, &r->last_answer);
      if (momedo_status_kind(rc) == MOMEDO_KIND_INTERNAL) return rc;
    }
    /* A "no" (or an answer that does not prove itself): one candidate fewer. */
    if (++l->nanswered >= l->ncand) return lookup_end(r, i, MOMEDO_E_NOTFOUND, NULL);
    return 0;
  }
  return 0; /* late or unknown: ignored */
}

int repl__on_routed(struct repl *r, struct repl_peer *p, const Momedo__Routed *m,
                    uint64_t now_ms) {
  p->st.routed_recv++;
  if (m->src.len != OBJ_KEY_LEN || m->dst.len != OBJ_KEY_LEN ||
      m->body_case == MOMEDO__ROUTED__BODY__NOT_SET ||
      (m->body_case == MOMEDO__ROUTED__BODY_ANSWER && m->answer->n_objects > 2))
    return MOMEDO_E_BOUNDS;
  if (m->body_case == MOMEDO__ROUTED__BODY_CLAIM &&
      (m->claim->device_key.len != OBJ_KEY_LEN || m->claim->nonce.len != REPL_CLAIM_NONCE_LEN ||
       m->claim->requester.len != REPL_CLAIM_REQUESTER_LEN || m->claim->signature.len != 64))
    return MOMEDO_E_BOUNDS;
  if (!repl__scoped(r)) return MOMEDO_E_UNEXPECTED;
  if (!rate_ok(r, p, now_ms)) {
    p->st.routed_dropped++, r->st.routed_dropped++;
    return 0;
  }
  int rc = repl__routes_fresh(r, now_ms);
  if (rc) return rc;
  if (memcmp(m->dst.data, r->cfg.self_key, OBJ_KEY_LEN) == 0) {
    if (m->body_case == MOMEDO__ROUTED__BODY_QUERY) return answer_query(r, m, now_ms);
    if (m->body_case == MOMEDO__ROUTED__BODY_CLAIM) return repl__on_claim(r, m, now_ms);
    if (m->body_case == MOMEDO__ROUTED__BODY_CLAIMED) return repl__on_claimed(r, m);
    return on_answer(r, m, now_ms);
  }
  if (m->hops_left <= 1) {
    p->st.routed_dropped++, r->st.routed_dropped++;
    return 0;
  }
  if (m->body_case == MOMEDO__ROUTED__BODY_QUERY && unreachable(r, m->dst.data))
    return answer_unreachable(r, m);
  Momedo__Routed fw = *m;
  fw.hops_left = m->hops_left - 1;
  return repl__routed_send(r, m->dst.data, &fw);
}
