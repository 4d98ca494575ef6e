/* replication/repl_custody.c — forwarding with custody (scoped mode): the pending
 * destinations of held objects (durable in 'p', mirrored in memory), grants grouped
 * by next hop, acknowledgements that release them, retries, rerouting when a peer goes
 * down or a route moves, and the hop budget. An accepted object is never dropped
 * before the next holder said it holds it durably. */
#include <stdlib.h>
#include <string.h>

#include "repl_int.h"

/* ---- the pending set in memory ------------------------------------------------- */

static bool pend_id_any(const struct repl *r, const uint8_t *id) {
  for (size_t i = 0; i < r->npend; i++)
    if (memcmp(r->pend[i].id, id, OBJ_ID_LEN) == 0) return true;
  return false;
}

bool repl__pend_has(const struct repl *r, const uint8_t *id, const uint8_t *dest) {
  for (size_t i = 0; i < r->npend; i++)
    if (memcmp(r->pend[i].id, id, OBJ_ID_LEN) == 0 &&
        memcmp(r->pend[i].dest, dest, OBJ_KEY_LEN) == 0)
      return true;
  return false;
}

int repl__pend_add(struct repl *r, const uint8_t *id, const uint8_t *dest, uint64_t from_peer,
                   uint32_t hops, uint64_t now_ms, uint8_t role) {
  if (repl__pend_has(r, id, dest)) return 0;
  if (r->npend == r->pend_cap) {
    size_t ncap = r->pend_cap ? r->pend_cap * 2 : 16;
    struct repl_pend *np = realloc(r->pend, ncap * sizeof *np);
    if (!np) return MOMEDO_E_NOMEM;
    r->pend = np;
    r->pend_cap = ncap;
  }
  if (!pend_id_any(r, id)) r->st.pending_objects++;
  struct repl_pend *e = &r->pend[r->npend++];
  memset(e, 0, sizeof *e);
  memcpy(e->id, id, OBJ_ID_LEN);
  memcpy(e->dest, dest, OBJ_KEY_LEN);
  e->next_ms = now_ms;
  e->from_peer = from_peer;
  e->from_ms = now_ms;
  e->hops = hops;
  e->role = role;
  r->st.pending_dests++;
  r->custody_dirty = true;
  if (now_ms < r->pend_next_ms) r->pend_next_ms = now_ms;
  return 0;
}

static void pend_remove_at(struct repl *r, size_t i) {
  uint8_t id[OBJ_ID_LEN];
  memcpy(id, r->pend[i].id, OBJ_ID_LEN);
  r->pend[i] = r->pend[--r->npend];
  r->st.pending_dests--;
  if (!pend_id_any(r, id)) r->st.pending_objects--;
}

void repl__pend_forget(struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  for (size_t i = 0; i < r->npend;) {
    if (memcmp(r->pend[i].id, id, OBJ_ID_LEN) == 0) pend_remove_at(r, i);
    else i++;
  }
}

int repl__pend_del_ops(struct repl *r, struct store_batch *b, const uint8_t id[static OBJ_ID_LEN]) {
  for (size_t i = 0; i < r->npend; i++) {
    if (memcmp(r->pend[i].id, id, OBJ_ID_LEN) != 0) continue;
    int rc = repl__pend_del_op(b, id, r->pend[i].dest);
    if (rc) return rc;
  }
  return 0;
}

static int pend_load_one(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct repl *r = ctx;
  (void)v, (void)vn;
  if (kn != 1 + OBJ_ID_LEN + OBJ_KEY_LEN) return MOMEDO_E_CORRUPT;
  return repl__pend_add(r, k + 1, k + 1 + OBJ_ID_LEN, 0, r->cfg.custody_hops_max,
                        r->last_now_ms, REPL_PEND_ROLE_UNKNOWN);
}

int repl__pend_load(struct repl *r) {
  uint8_t lo[1] = {REPL_T_PEND}, hi[1] = {REPL_T_PEND + 1};
  int rc = store_iter(r->store, lo, 1, hi, 1, pend_load_one, r);
  return rc < 0 ? rc : 0;
}

void repl__custody_peer_down(struct repl *r, uint64_t peer_id, uint64_t now_ms) {
  for (size_t i = 0; i < r->npend; i++) {
    struct repl_pend *e = &r->pend[i];
    if (e->peer != peer_id) continue;
    /* Not acknowledged: ours again, to the next best hop at once. */
    e->peer = 0;
    e->next_ms = now_ms;
    r->pend_next_ms = now_ms;
    r->custody_dirty = true;
  }
}

/* ---- granting ----------------------------------------------------------------- */

/* One selected (entry, next hop): sorted by peer, then object. */
struct sel {
  uint64_t peer;
  uint8_t id[OBJ_ID_LEN];
  uint32_t ei;
};

static int sel_cmp(const void *a, const void *b) {
  const struct sel *x = a, *y = b;
  if (x->peer != y->peer) return x->peer < y->peer ? -1 : 1;
  int c = memcmp(x->id, y->id, OBJ_ID_LEN);
  return c ? c : (x->ei < y->ei ? -1 : x->ei > y->ei);
}

static int memcmp_key(const void *a, const void *b) { return memcmp(a, b, OBJ_KEY_LEN); }

/* A CustodyGrant under construction for one peer. */
struct gbuf {
  Momedo__Grant *g;
  Momedo__Grant **gp;
  Momedo__Object *o;
  uint8_t **vals, **dests;
  size_t n, cap, bytes;
};

static void gbuf_clear(struct gbuf *b) {
  for (size_t i = 0; i < b->n; i++) free(b->vals[i]), free(b->dests[i]);
  b->n = 0;
  b->bytes = 0;
}

static void gbuf_free(struct gbuf *b) {
  gbuf_clear(b);
  free(b->g), free(b->gp), free(b->o), free(b->vals), free(b->dests);
}

static int gbuf_grow(struct gbuf *b) {
  size_t ncap = b->cap ? b->cap * 2 : 8;
  void *p;
#define GROW(f)                                        \
  if (!(p = realloc(b->f, ncap * sizeof *b->f))) return MOMEDO_E_NOMEM; \
  b->f = p;
  GROW(g) GROW(gp) GROW(o) GROW(vals) GROW(dests)
#undef GROW
  b->cap = ncap;
  return 0;
}

static int gbuf_flush(struct repl *r, struct repl_peer *p, struct gbuf *b) {
  if (b->n == 0) return 0;
  Momedo__CustodyGrant cg = MOMEDO__CUSTODY_GRANT__INIT;
  for (size_t i = 0; i < b->n; i++) b->gp[i] = &b->g[i], b->g[i].object = &b->o[i];
  cg.n_grants = b->n;
  cg.grants = b->gp;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_GRANT;
  m.grant = &cg;
  int rc = repl__send(r, p, &m, false);
  if (rc == 0) {
    p->st.grants_sent += b->n, r->st.grants_sent += b->n;
    p->st.objects_pushed += b->n;
  }
  gbuf_clear(b);
  return rc;
}

/* Grant sel[a..z) (one object, one peer): one Grant naming every destination. */
static int grant_one(struct repl *r, struct repl_peer *p, struct gbuf *b, const struct sel *s,
                     size_t a, size_t z, uint64_t now_ms) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  int rc = repl__rec_get(r, s[a].id, &val, &rec);
  if (rc == MOMEDO_E_NOTFOUND) /* cannot happen (the object's batch deletes 'p'): no spin */
    for (size_t i = a; i < z; i++) r->pend[s[i].ei].next_ms = now_ms + r->cfg.custody_retry_ms;
  if (rc) return rc == MOMEDO_E_NOTFOUND ? 0 : rc;
  if (b->n > 0 && b->bytes + rec.len > REPL_PUSH_BYTES_MAX && (rc = gbuf_flush(r, p, b))) {
    free(val);
    return rc;
  }
  if (b->n == 0 && !repl__can_send(r, p)) {
    free(val);
    p->withheld = true, p->st.withheld++;
    return 1; /* the queue is full: retried later */
  }
  uint8_t *dests = b->n == b->cap && gbuf_grow(b) ? NULL : malloc((z - a) * OBJ_KEY_LEN);
  if (!dests) {
    free(val);
    return MOMEDO_E_NOMEM;
  }
  uint32_t hops = 0;
  for (size_t i = a; i < z; i++) {
    struct repl_pend *e = &r->pend[s[i].ei];
    memcpy(dests + (i - a) * OBJ_KEY_LEN, e->dest, OBJ_KEY_LEN);
    if (e->hops > hops) hops = e->hops;
    if (e->peer && e->granted_ms + r->cfg.custody_retry_ms <= now_ms) r->st.grants_retried++;
    e->peer = p->id;
    e->granted_ms = now_ms;
    e->route_gen = r->route_gen;
  }
  /* sel is sorted by entry, and entries of one object are added in destination order
   * only by chance: sort the keys as the wire says. */
  qsort(dests, z - a, OBJ_KEY_LEN, memcmp_key);
  size_t k = b->n++;
  momedo__grant__init(&b->g[k]);
  momedo__object__init(&b->o[k]);
  b->o[k].kind = rec.info.kind;
  b->o[k].data.data = (uint8_t *)rec.data;
  b->o[k].data.len = rec.len;
  b->g[k].dests.data = dests;
  b->g[k].dests.len = (z - a) * OBJ_KEY_LEN;
  b->g[k].hops_left = hops;
  b->vals[k] = val;
  b->dests[k] = dests;
  b->bytes += rec.len + (z - a) * OBJ_KEY_LEN + 24;
  return 0;
}

/* Where entry e goes now: 1 with *hop, or 0 (not now; e->next_ms says when). */
static int choose_hop(struct repl *r, struct repl_pend *e, uint64_t now_ms, uint64_t *hop) {
  uint64_t alt;
  bool has_alt;
  uint64_t retry = r->cfg.custody_retry_ms;
  if (e->hops == 0) {
    /* Hop budget spent (a loop while routes converge): wait, then start afresh. */
    e->hops = r->cfg.custody_hops_max;
    e->next_ms = now_ms + retry;
    return 0;
  }
  if (repl__next_hop(r, e->dest, hop, &alt, &has_alt)) {
    e->next_ms = now_ms + retry; /* no route: keep it and wait (or until routes change) */
    e->no_route = true;
    e->route_gen = r->route_gen;
    return 0;
  }
  e->no_route = false;
  if (*hop == e->from_peer && now_ms < e->from_ms + retry) {
    /* Never straight back to who granted it, within the retry interval. */
    if (has_alt) *hop = alt;
    else {
      /* No usable route either: the wait ends when the routes move (the hop it was
       * routed around comes back) as well as after the interval. */
      e->next_ms = e->from_ms + retry;
      e->no_route = true;
      e->route_gen = r->route_gen;
      return 0;
    }
  }
  return 1;
}

/* Is entry e due for a (re)grant? Otherwise *when says when it will be. */
static bool pend_due(struct repl *r, struct repl_pend *e, uint64_t now_ms, uint64_t *when) {
  if (!e->peer) {
    *when = e->next_ms;
    return now_ms >= e->next_ms || (e->no_route && e->route_gen != r->route_gen);
  }
  *when = e->granted_ms + r->cfg.custody_retry_ms;
  if (now_ms >= *when) return true;
  if (e->route_gen == r->route_gen) return false;
  /* Routes moved since the grant: a different best hop takes it over at once. */
  uint64_t hop, alt;
  bool has_alt;
  if (repl__next_hop(r, e->dest, &hop, &alt, &has_alt) == 0 && hop != e->peer) return true;
  e->route_gen = r->route_gen;
  return false;
}

static int grant_peer_run(struct repl *r, struct sel *s, size_t a, size_t z, uint64_t now_ms) {
  struct repl_peer *p = repl__peer(r, s[a].peer);
  struct gbuf b = {0};
  int rc = 0;
  if (!p || !p->up) {
    for (size_t k = a; k < z; k++) r->pend[s[k].ei].next_ms = now_ms + r->cfg.custody_retry_ms;
    return 0;
  }
  for (size_t i = a; i < z && rc == 0;) {
    size_t j = i + 1;
    while (j < z && memcmp(s[j].id, s[i].id, OBJ_ID_LEN) == 0) j++;
    rc = grant_one(r, p, &b, s, i, j, now_ms);
    if (rc == 1) {
      /* Queue full: these wait a retry interval (the peer's queue drains meanwhile). */
      for (size_t k = i; k < z; k++) r->pend[s[k].ei].next_ms = now_ms + r->cfg.custody_retry_ms;
      rc = 0;
      break;
    }
    i = j;
  }
  if (rc == 0) rc = gbuf_flush(r, p, &b);
  gbuf_free(&b);
  return rc;
}

int repl__custody_pump(struct repl *r, uint64_t now_ms) {
  if (!repl__scoped(r) || r->npend == 0) {
    r->custody_dirty = false;
    r->pend_next_ms = UINT64_MAX;
    return 0;
  }
  bool spf_due = r->routes_dirty && now_ms >= r->spf_due_ms;
  if (!r->custody_dirty && now_ms < r->pend_next_ms && !spf_due) return 0;
  int rc = repl__routes_fresh(r, now_ms);
  if (rc) return rc;
  struct sel *s = malloc(r->npend * sizeof *s);
  if (!s) return MOMEDO_E_NOMEM;
  size_t n = 0;
  uint64_t next = UINT64_MAX, when, hop;
  for (size_t i = 0; i < r->npend; i++) {
    struct repl_pend *e = &r->pend[i];
    if (!pend_due(r, e, now_ms, &when)) {
      if (when < next) next = when;
      continue;
    }
    if (e->peer) e->peer = 0, e->next_ms = now_ms;
    if (!choose_hop(r, e, now_ms, &hop)) {
      if (e->next_ms < next) next = e->next_ms;
      continue;
    }
    s[n].peer = hop;
    memcpy(s[n].id, e->id, OBJ_ID_LEN);
    s[n++].ei = (uint32_t)i;
  }
  qsort(s, n, sizeof *s, sel_cmp);
  for (size_t i = 0; i < n && rc == 0;) {
    size_t j = i + 1;
    while (j < n && s[j].peer == s[i].peer) j++;
    rc = grant_peer_run(r, s, i, j, now_ms);
    i = j;
  }
  for (size_t i = 0; i < n; i++) {
    const struct repl_pend *e = &r->pend[s[i].ei];
    when = e->peer ? e->granted_ms + r->cfg.custody_retry_ms : e->next_ms;
    if (when < next) next = when;
  }
  free(s);
  r->pend_next_ms = next;
  r->custody_dirty = false;
  return rc;
}

/* ---- receiving grants and acknowledgements --------------------------------------- */

/* A duplicate arrived with custody: take on the granted destinations it still needs. */
static int merge(struct repl *r, const uint8_t *id, const struct repl_grant_in *g,
                 struct repl_peer *p, uint64_t now_ms) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  struct store_batch *b = NULL;
  uint8_t add[OBJ_DEST_NODES_MAX][OBJ_KEY_LEN];
  size_t na = 0;
  int rc = repl__rec_get(r, id, &val, &rec);
  if (rc) return rc == MOMEDO_E_NOTFOUND ? 0 : rc;
  for (size_t j = 0; j < g->n && na < OBJ_DEST_NODES_MAX && !rec.global; j++) {
    const uint8_t *d = g->dests + j * OBJ_KEY_LEN;
    bool in = false;
    for (uint32_t k = 0; k < rec.n_dests && !in; k++)
      in = memcmp(rec.dests + (size_t)k * OBJ_KEY_LEN, d, OBJ_KEY_LEN) == 0;
    if (in && memcmp(d, r->cfg.self_key, OBJ_KEY_LEN) != 0 && !repl__pend_has(r, id, d))
      memcpy(add[na++], d, OBJ_KEY_LEN);
  }
  if (na && !(b = store_batch_new())) rc = MOMEDO_E_NOMEM;
  for (size_t j = 0; j < na && rc == 0; j++) rc = repl__pend_put_op(b, id, add[j]);
  if (na && rc == 0) rc = store_write(r->store, b);
  uint32_t hops = g->hops_left ? g->hops_left - 1 : 0;
  for (size_t j = 0; j < na && rc == 0; j++)
    rc = repl__pend_add(r, id, add[j], p->id, hops, now_ms, (uint8_t)rec.role);
  store_batch_free(b);
  free(val);
  return rc;
}

static bool env_error(int rc) {
  enum momedo_kind k = momedo_status_kind(rc);
  return k == MOMEDO_KIND_STORE || k == MOMEDO_KIND_INTERNAL || k == MOMEDO_KIND_IO ||
         k == MOMEDO_KIND_USAGE;
}

/* One grant: 1 = acknowledge it, 0 = not (invalid), or an environmental error. */
static int grant_take(struct repl *r, struct repl_peer *p, const Momedo__Grant *g,
                      uint8_t id[OBJ_ID_LEN], uint64_t now_ms) {
  const Momedo__Object *o = g->object;
  struct repl_grant_in gi = {g->dests.data, g->dests.len / OBJ_KEY_LEN, g->hops_left};
  p->st.grants_recv++, r->st.grants_recv++;
  p->st.objects_received++;
  struct obj_info info;
  int rc = repl__ingest(r, o->kind, o->data.data, o->data.len, now_ms, p, &gi, &info);
  if (rc == 0) p->st.objects_stored++;
  if (rc == MOMEDO_E_SIGNER || rc == MOMEDO_E_RATE) {
    /* Its signer is not known here (yet) or over its budget: not now, no strike, not
     * acknowledged, so the sender keeps custody and grants it again. */
    p->st.signer_deferred++;
    return 0;
  }
  if (rc == 0 || rc == MOMEDO_E_EXISTS || rc == MOMEDO_E_DEAD || rc == MOMEDO_E_SUPERSEDED ||
      rc == MOMEDO_E_EXPIRED || rc == MOMEDO_E_UNEXPECTED) {
    /* Stored: its ID is known; otherwise hashed again (the check may have stopped early). */
    if (rc == 0) memcpy(id, info.id, OBJ_ID_LEN);
    else if (obj_id(o->kind, o->data.data, o->data.len, id)) return 0;
    if (rc == MOMEDO_E_EXISTS) {
      p->st.objects_duplicate++;
      int rc2 = merge(r, id, &gi, p, now_ms);
      if (rc2) return rc2;
    } else if (rc) {
      p->st.objects_dropped++; /* nothing left to deliver: released all the same */
    }
    return 1;
  }
  if (rc == MOMEDO_E_NOTFOUND || env_error(rc)) return rc == MOMEDO_E_NOTFOUND ? MOMEDO_E_STORE : rc;
  p->st.objects_invalid++;
  rc = repl__strike(r, p, rc, now_ms);
  return rc ? rc : 0;
}

static int send_ack(struct repl *r, struct repl_peer *p, const uint8_t *ids, size_t n) {
  if (n == 0 || !p->up) return 0;
  Momedo__CustodyAck ca = MOMEDO__CUSTODY_ACK__INIT;
  ca.ids.data = (uint8_t *)ids;
  ca.ids.len = n * OBJ_ID_LEN;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_ACK;
  m.ack = &ca;
  int rc = repl__send_always(r, p, &m);
  if (rc == 0) p->st.acks_sent += n, r->st.acks_sent += n;
  return rc;
}

int repl__on_grant(struct repl *r, struct repl_peer *p, const Momedo__CustodyGrant *m,
                   uint64_t now_ms) {
  if (!repl__scoped(r)) return MOMEDO_E_UNEXPECTED;
  if (m->n_grants > REPL_WANT_IDS_MAX) return MOMEDO_E_TOOBIG;
  /* The whole message first: a malformed grant late in it has no effect at all. */
  for (size_t i = 0; i < m->n_grants; i++) {
    const Momedo__Grant *g = m->grants[i];
    if (!g->object || g->dests.len == 0 || g->dests.len % OBJ_KEY_LEN ||
        g->dests.len / OBJ_KEY_LEN > OBJ_DEST_NODES_MAX)
      return MOMEDO_E_BOUNDS;
  }
  uint8_t *ids = malloc((m->n_grants ? m->n_grants : 1) * OBJ_ID_LEN);
  if (!ids) return MOMEDO_E_NOMEM;
  size_t n = 0;
  int rc = 0;
  for (size_t i = 0; i < m->n_grants && rc == 0 && p->up; i++) {
    rc = grant_take(r, p, m->grants[i], ids + n * OBJ_ID_LEN, now_ms);
    if (rc == 1) n++, rc = 0;
  }
  /* Everything taken so far is durable: acknowledge it even if a later one failed. */
  int rc2 = send_ack(r, p, ids, n);
  free(ids);
  return rc ? rc : rc2;
}

/* The peer holds id durably for every destination we granted it: release them. */
static int ack_one(struct repl *r, struct repl_peer *p, const uint8_t *id) {
  bool matched = false, rest = false;
  int role = REPL_PEND_ROLE_UNKNOWN;
  for (size_t i = 0; i < r->npend; i++) {
    const struct repl_pend *e = &r->pend[i];
    if (memcmp(e->id, id, OBJ_ID_LEN) != 0) continue;
    if (e->peer == p->id) matched = true, role = e->role;
    else rest = true;
  }
  if (!matched) return 0; /* late, duplicate, or never granted: nothing to release */
  if (!rest && role == REPL_PEND_ROLE_UNKNOWN) role = repl_role_of(r, id);
  if (!rest && role == REPL_ROLE_TRANSIT) {
    /* Handed on to every destination it was held for: the transit copy goes. */
    int rc = repl__remove(r, id);
    if (rc == 0) r->st.transit_done++;
    return rc;
  }
  struct store_batch *b = store_batch_new();
  int rc = b ? 0 : MOMEDO_E_NOMEM;
  for (size_t i = 0; i < r->npend && rc == 0; i++)
    if (r->pend[i].peer == p->id && memcmp(r->pend[i].id, id, OBJ_ID_LEN) == 0)
      rc = repl__pend_del_op(b, id, r->pend[i].dest);
  if (rc == 0) rc = store_write(r->store, b);
  store_batch_free(b);
  for (size_t i = 0; i < r->npend && rc == 0;) {
    if (r->pend[i].peer == p->id && memcmp(r->pend[i].id, id, OBJ_ID_LEN) == 0)
      pend_remove_at(r, i);
    else i++;
  }
  return rc;
}

int repl__on_ack(struct repl *r, struct repl_peer *p, const Momedo__CustodyAck *m,
                 uint64_t now_ms) {
  (void)now_ms;
  if (!repl__scoped(r)) return MOMEDO_E_UNEXPECTED;
  if (m->ids.len % OBJ_ID_LEN || m->ids.len / OBJ_ID_LEN > REPL_WANT_IDS_MAX)
    return MOMEDO_E_BOUNDS;
  size_t n = m->ids.len / OBJ_ID_LEN;
  p->st.acks_recv += n, r->st.acks_recv += n;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) rc = ack_one(r, p, m->ids.data + i * OBJ_ID_LEN);
  return rc;
}
