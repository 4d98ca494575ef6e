/* replication/repl_route.c — scoped mode's view of the federation: the node table
 * (keys, the newest live record of each), this node's links with hold-down and its own
 * signed record, and when link-state routes are searched (repl_rtree.c: shortest paths
 * over mutual links, a next hop and an equal-cost alternative): lazily, only when a link
 * set changed, and at most so often while links keep changing elsewhere (SPF
 * throttling; the last table serves). Every change names the nodes it touches, so the
 * search repairs the table in place. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"
#include "repl_int.h"

#define KEY_NODE_LEN (1 + OBJ_KEY_LEN)
#define NODE_VAL_LEN (OBJ_ID_LEN + 8)

/* ---- node table ----------------------------------------------------------------- */

/* The slot of a key this engine has a slot for (UINT32_MAX: none yet). */
static uint32_t node_find(const struct repl *r, const uint8_t *key) {
  uint32_t g = repl__key_gid(r->shared, key, false);
  return g < r->nnodes ? g : UINT32_MAX;
}

/* Slots for every gid below n. E_NOMEM. */
static int nodes_ensure(struct repl *r, size_t n) {
  if (n <= r->nnodes) return 0;
  if (n > r->nodes_cap) {
    /* Doubling, but a jump (records adopted, a restart) gets what it needs and a
     * little: n^2 slots in a simulator must not carry a power of two's slack. */
    size_t ncap = r->nodes_cap ? r->nodes_cap * 2 : 16;
    if (ncap < n) ncap = n + n / 64;
    struct repl_node *nn = realloc(r->nodes, ncap * sizeof *nn);
    if (!nn) return MOMEDO_E_NOMEM;
    r->nodes = nn;
    r->nodes_cap = ncap;
  }
  memset(r->nodes + r->nnodes, 0, (n - r->nnodes) * sizeof *r->nodes);
  for (size_t i = r->nnodes; i < n; i++) r->nodes[i].dist = UINT32_MAX;
  r->nnodes = n;
  return 0;
}

uint32_t repl__node_of(struct repl *r, const uint8_t key[static OBJ_KEY_LEN]) {
  uint32_t g = repl__key_gid(r->shared, key, true);
  if (g == UINT32_MAX || nodes_ensure(r, (size_t)g + 1)) return UINT32_MAX;
  return g;
}

static bool node_live(const struct repl_node *n) { return n->rec && n->live; }

void repl__nodes_free(struct repl *r) {
  uint32_t self = r->self_node;
  if (r->rec_mem && r->nodes && self < r->nnodes) {
    /* The records stay in the table as the store would keep them. */
    repl__shared_park(r->shared, self, r->nodes, r->nnodes);
  } else {
    for (size_t i = 0; i < r->nnodes; i++)
      if (r->nodes[i].rec) repl__srec_put(r->shared, r->nodes[i].rec);
    free(r->nodes);
  }
  free(r->links);
  r->nodes = NULL;
  r->nnodes = r->nodes_cap = 0;
  r->links = NULL;
}

static void rec_due(struct repl *r, uint64_t t) {
  if (t < r->rec_due_ms) r->rec_due_ms = t;
}

/* A new entry in the own link list (NULL: E_NOMEM). */
static struct repl_link *link_add(struct repl *r, const uint8_t *key) {
  if (r->nlinks == r->links_cap) {
    size_t ncap = r->links_cap ? r->links_cap * 2 : 8;
    struct repl_link *nl = realloc(r->links, ncap * sizeof *nl);
    if (!nl) return NULL;
    r->links = nl;
    r->links_cap = ncap;
  }
  struct repl_link *l = &r->links[r->nlinks++];
  memset(l, 0, sizeof *l);
  memcpy(l->key, key, OBJ_KEY_LEN);
  return l;
}

/* Slot g now holds s (the caller's ref moves into it). */
static int record_apply(struct repl *r, struct repl_srec *s) {
  int rc = nodes_ensure(r, r->shared->nkeys);
  if (rc) {
    repl__srec_put(r->shared, s);
    return rc;
  }
  struct repl_node *n = &r->nodes[s->gid];
  const struct repl_srec *o = node_live(n) ? n->rec : NULL;
  uint64_t now = r->last_now_ms;
  /* The same edges: both records in force (or neither) and listing the same nodes. */
  bool o_ok = o && o->expires_ms > now, s_ok = s->expires_ms > now;
  bool same = o_ok == s_ok && (!s_ok || (o->n_nb == s->n_nb && (s->n_nb == 0 ||
                                         memcmp(o->nb, s->nb, s->n_nb * sizeof *s->nb) == 0)));
  if (!same && s->gid != r->self_node) {
    if (o_ok && s_ok) { /* both in force: only the links listed by one of them changed */
      repl__rt_touch_diff(r, s->gid, o, s);
    } else { /* every edge of the old and the new record */
      repl__rt_touch_rec(r, s->gid, o);
      repl__rt_touch_rec(r, s->gid, s);
    }
  }
  if (s->expires_ms < r->rt_exp_ms) r->rt_exp_ms = s->expires_ms;
  if (n->rec) repl__srec_put(r->shared, n->rec);
  n->rec = s;
  n->live = true;
  if (r->npulls) repl__pull_done(r, repl__key_of(r->shared, s->gid), s->seq);
  if (s->gid == r->self_node && s->seq > r->own_seq) {
    r->own_seq = s->seq;
    r->own_created_ms = s->created_ms;
    /* A newer record of ours from elsewhere (a store lost or restored): say who we are
     * now, with a seq above it. */
    if (!r->issuing && repl__scoped(r)) rec_due(r, r->last_now_ms);
  }
  /* Only a changed link set moves routes; a refresh costs no search. */
  if (same) r->st.route_incremental++;
  else if (s->gid != r->self_node) /* the own record is not searched: first hops are local */
    repl__routes_touch(r, r->last_now_ms, false);
  return 0;
}

int repl__node_record_set(struct repl *r, const uint8_t id[static OBJ_ID_LEN],
                          const uint8_t *data, size_t len) {
  struct repl_srec *s = NULL;
  int rc = repl__srec_intern(r->shared, id, data, len, &s);
  return rc ? rc : record_apply(r, s);
}

void repl__node_record_gone(struct repl *r, const uint8_t key[static OBJ_KEY_LEN],
                            uint64_t seq) {
  uint32_t idx = node_find(r, key);
  if (idx == UINT32_MAX) return;
  struct repl_node *n = &r->nodes[idx];
  if (!node_live(n) || n->rec->seq != seq) return; /* superseded: the new one is already in */
  repl__rt_touch_rec(r, idx, n->rec);
  n->live = false;
  if (!r->rec_mem) { /* the store's 'n' entry keeps the seq */
    repl__srec_put(r->shared, n->rec);
    n->rec = NULL;
  }
  repl__routes_touch(r, r->last_now_ms, false);
}

/* ---- records held in the shared table only (rec_mem) ----------------------------- */

/* Replayed or stale: not newer than the newest seen (equal seq: the larger ID wins,
 * so every node keeps the same one). */
static bool rec_stale(const struct obj_info *i, uint64_t old_seq, const uint8_t *old_id) {
  return i->version < old_seq ||
         (i->version == old_seq && memcmp(i->id, old_id, OBJ_ID_LEN) <= 0);
}

int repl__record_mem(struct repl *r, const struct obj_checked *ck, const uint8_t *data,
                     size_t len, uint64_t now_ms, struct repl_peer *from) {
  const struct obj_info *i = &ck->info;
  if (!repl__scoped(r)) return MOMEDO_E_UNEXPECTED;
  uint32_t g = repl__node_of(r, i->key);
  if (g == UINT32_MAX) return MOMEDO_E_NOMEM;
  struct repl_node *n = &r->nodes[g];
  if (n->rec && rec_stale(i, n->rec->seq, n->rec->id)) return MOMEDO_E_SUPERSEDED;
  if (!n->rec && repl__ridx_count(r) >= REPL_RECORDS_MAX) return MOMEDO_E_UNEXPECTED;
  struct repl_srec *s = NULL;
  int rc = repl__srec_intern(r->shared, i->id, data, len, &s);
  if (rc) return rc;
  if ((rc = repl__ridx_add(r, i->id)) < 0) {
    repl__srec_put(r->shared, s);
    return rc;
  }
  n = &r->nodes[g];
  if (node_live(n) && repl__ridx_del(r, n->rec->id)) r->st.records--;
  r->st.records++;
  r->last_now_ms = now_ms;
  if (from) r->st.stored_remote++;
  else r->st.stored_local++;
  if (s->expires_ms < r->rec_exp_ms) r->rec_exp_ms = s->expires_ms;
  if ((rc = record_apply(r, s))) return rc;
  return repl__fresh_add(r, i, data, len, from);
}

/* rec_mem: records that expired leave the live set (their seq stays known). */
static void records_sweep(struct repl *r, uint64_t now_ms) {
  uint64_t next = UINT64_MAX;
  for (size_t g = 0; g < r->nnodes; g++) {
    struct repl_node *n = &r->nodes[g];
    if (!node_live(n)) continue;
    if (n->rec->expires_ms > now_ms) {
      if (n->rec->expires_ms < next) next = n->rec->expires_ms;
      continue;
    }
    repl__rt_touch_rec(r, (uint32_t)g, n->rec);
    n->live = false;
    if (repl__ridx_del(r, n->rec->id)) r->st.records--;
    repl__routes_touch(r, now_ms, false);
  }
  r->rec_exp_ms = next;
}

/* After a restart with a live own record: its links stay listed, held down as if they
 * had just gone down, so a node back within route_holddown_ms with the same links
 * issues no new record (and nobody re-learns it); links that stay away are withdrawn
 * when their hold-down ends. */
int repl__links_restore(struct repl *r, uint64_t now_ms) {
  const struct repl_node *self = &r->nodes[r->self_node];
  if (!repl__scoped(r) || !node_live(self) || self->rec->expires_ms <= now_ms ||
      self->rec->seq != r->own_seq)
    return 0;
  const struct repl_srec *s = self->rec;
  for (uint32_t j = 0; j < s->n_nb; j++) {
    struct repl_link *l = link_add(r, repl__key_of(r->shared, s->nb[j]));
    if (!l) return MOMEDO_E_NOMEM;
    l->listed = true;
    l->down_ms = now_ms;
    l->hold_ms = r->cfg.route_holddown_ms;
  }
  r->rec_due_ms = s->n_nb ? now_ms + r->cfg.route_holddown_ms : now_ms;
  return 0;
}

int repl__nodes_unpark(struct repl *r) {
  size_t n = 0;
  struct repl_node *nodes = repl__shared_unpark(r->shared, r->self_node, &n);
  if (!nodes) return 0;
  for (size_t i = 0; i < r->nnodes; i++) /* the fresh self slot holds no record */
    assert(!r->nodes[i].rec);
  free(r->nodes);
  r->rt_ntouch = 0; /* the table is searched afresh */
  r->rt_full = true;
  r->nodes = nodes, r->nnodes = r->nodes_cap = n;
  r->rec_exp_ms = UINT64_MAX;
  for (size_t g = 0; g < n; g++) {
    struct repl_node *nd = &nodes[g];
    nd->has_next = nd->has_alt = false;
    nd->rt_mark = 0;
    nd->dist = UINT32_MAX;
    if (!node_live(nd)) continue;
    int rc = repl__ridx_add(r, nd->rec->id);
    if (rc < 0) return rc;
    r->st.records++;
    if (nd->rec->expires_ms < r->rec_exp_ms) r->rec_exp_ms = nd->rec->expires_ms;
  }
  struct repl_node *self = &nodes[r->self_node];
  if (self->rec) r->own_seq = self->rec->seq, r->own_created_ms = self->rec->created_ms;
  repl__routes_touch(r, r->last_now_ms, true);
  return 0;
}

/* ---- record decisions and storage --------------------------------------------- */

static void key_node(uint8_t k[KEY_NODE_LEN], const uint8_t *key) {
  k[0] = REPL_T_NODE;
  memcpy(k + 1, key, OBJ_KEY_LEN);
}

int repl__record_decide(struct repl *r, const struct obj_info *i, uint8_t *old_id,
                        bool *has_old) {
  uint8_t k[KEY_NODE_LEN];
  void *v = NULL;
  size_t vn = 0;
  *has_old = false;
  key_node(k, i->key);
  int rc = store_get(r->store, k, sizeof k, &v, &vn);
  if (rc == MOMEDO_E_NOTFOUND)
    return r->ridx.total < REPL_RECORDS_MAX ? 0 : MOMEDO_E_UNEXPECTED;
  if (rc) return rc;
  if (vn != NODE_VAL_LEN) {
    free(v);
    return MOMEDO_E_CORRUPT;
  }
  uint64_t old_seq = be64_get((uint8_t *)v + OBJ_ID_LEN);
  memcpy(old_id, v, OBJ_ID_LEN);
  free(v);
  /* Replayed or stale: not newer than the newest seen (equal seq: the larger ID wins,
   * so every node keeps the same one). */
  if (i->version < old_seq ||
      (i->version == old_seq && memcmp(i->id, old_id, OBJ_ID_LEN) <= 0))
    return MOMEDO_E_SUPERSEDED;
  *has_old = true;
  return 0;
}

int repl__record_put_op(struct store_batch *b, const struct obj_info *i) {
  uint8_t k[KEY_NODE_LEN], v[NODE_VAL_LEN];
  key_node(k, i->key);
  memcpy(v, i->id, OBJ_ID_LEN);
  be64_put(v + OBJ_ID_LEN, i->version);
  return store_batch_put(b, k, sizeof k, v, sizeof v);
}

/* ---- links and the own record --------------------------------------------------- */

static struct repl_link *link_find(struct repl *r, const uint8_t *key) {
  for (size_t i = 0; i < r->nlinks; i++)
    if (memcmp(r->links[i].key, key, OBJ_KEY_LEN) == 0) return &r->links[i];
  return NULL;
}


bool repl__link_held(struct repl *r, const uint8_t key[static OBJ_KEY_LEN]) {
  const struct repl_link *l = link_find(r, key);
  return l && l->listed && !l->up;
}

int repl__link_up(struct repl *r, struct repl_peer *p, uint64_t now_ms) {
  if ((p->node = repl__node_of(r, p->key)) == UINT32_MAX) return MOMEDO_E_NOMEM;
  repl__rt_touch(r, p->node);
  repl__routes_touch(r, now_ms, true);
  r->custody_dirty = true;
  struct repl_link *l = link_find(r, p->key);
  if (!l && !(l = link_add(r, p->key))) return MOMEDO_E_NOMEM;
  l->up = true;
  /* Still listed (held down): the record need not change. */
  if (!l->listed) rec_due(r, now_ms);
  l->listed = true;
  return 0;
}

/* How long a link that goes down now stays listed: route_holddown_ms, doubled for every
 * down within route_holddown_max_ms of the one before (a flapping link, as routers damp
 * flapping routes), at most route_holddown_max_ms. Each listing and withdrawal is a
 * record version every node of the federation receives; a neighbor that keeps
 * restarting is better left listed (custody waits for it or routes around it). */
static uint64_t link_hold(struct repl *r, struct repl_link *l, uint64_t now_ms) {
  uint64_t base = r->cfg.route_holddown_ms, max = r->cfg.route_holddown_max_ms;
  if (l->down_ms && now_ms < l->down_ms + max && l->flaps < 63) l->flaps++;
  else l->flaps = 0;
  uint64_t hold = base;
  for (uint8_t k = 0; k < l->flaps && hold < max; k++) hold *= 2;
  return hold > base && hold > max ? max : hold;
}

void repl__link_down(struct repl *r, const uint8_t key[static OBJ_KEY_LEN], uint64_t now_ms) {
  struct repl_link *l = link_find(r, key);
  uint32_t g = node_find(r, key);
  if (g != UINT32_MAX) repl__rt_touch(r, g);
  repl__routes_touch(r, now_ms, true);
  if (!l) return;
  /* A second link to the same node may still be up. */
  for (size_t i = 0; i < r->npeers; i++)
    if (r->peers[i].up && memcmp(r->peers[i].key, key, OBJ_KEY_LEN) == 0) return;
  l->up = false;
  l->hold_ms = link_hold(r, l, now_ms);
  l->down_ms = now_ms;
  rec_due(r, now_ms + l->hold_ms);
}

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, OBJ_KEY_LEN); }

/* Withdraw links whose hold-down ended (a withdrawn link is remembered for its flap
 * count until route_holddown_max_ms after its last down); the listed ones (sorted keys)
 * go into the record. */
static size_t links_listed(struct repl *r, uint64_t now_ms, uint8_t (*keys)[OBJ_KEY_LEN]) {
  size_t w = 0, n = 0;
  for (size_t i = 0; i < r->nlinks; i++) {
    struct repl_link *l = &r->links[i];
    if (!l->up && now_ms >= l->down_ms + l->hold_ms) l->listed = false;
    if (!l->listed && now_ms >= l->down_ms + r->cfg.route_holddown_max_ms) continue;
    r->links[w++] = *l;
  }
  r->nlinks = w;
  for (size_t i = 0; i < r->nlinks && n < OBJ_RECORD_NEIGHBORS_MAX; i++)
    if (r->links[i].listed) memcpy(keys[n++], r->links[i].key, OBJ_KEY_LEN);
  qsort(keys, n, OBJ_KEY_LEN, key_cmp);
  return n;
}

void repl__summary_changed(struct repl *r, bool own_client) {
  /* A partner's copy (brought by a neighbor) waits for the next record issued anyway (a
   * link change, the refresh): the user's home announces it, and a registration then
   * costs the federation one record version instead of one per home node. */
  if (!own_client) return;
  uint64_t at = r->own_created_ms + r->cfg.record_min_interval_ms;
  rec_due(r, at > r->last_now_ms ? at : r->last_now_ms);
}

static uint64_t refresh_ms(const struct repl *r) {
  uint64_t half = r->cfg.record_lifetime_ms / 2;
  return r->cfg.record_refresh_ms < half ? r->cfg.record_refresh_ms : half;
}

/* Would a record issued now say what the live own record says (same links, the same
 * summary bit for bit, not yet due for refresh)? Then nobody needs a new one: a bundle
 * renewed or a device added changes no summary bit, and neither does a user whose
 * bits were already set. */
static bool own_unchanged(struct repl *r, uint64_t now_ms, uint8_t (*keys)[OBJ_KEY_LEN],
                          size_t n, const uint8_t *bloom, uint32_t blen, uint32_t bk) {
  const struct repl_node *self = &r->nodes[r->self_node];
  if (!node_live(self) || self->rec->seq != r->own_seq) return false;
  const struct repl_srec *s = self->rec;
  if (now_ms >= s->created_ms + refresh_ms(r) || s->n_nb != n) return false;
  if (s->bloom_len != blen || s->bloom_k != bk || (blen && memcmp(s->bloom, bloom, blen) != 0))
    return false;
  for (size_t i = 0; i < n; i++) {
    uint32_t g = repl__key_gid(r->shared, keys[i], false);
    if (g == UINT32_MAX || !repl__nb_has(s, g)) return false;
  }
  return true;
}

static int record_issue(struct repl *r, uint64_t now_ms, bool *issued) {
  uint8_t(*keys)[OBJ_KEY_LEN] = malloc((size_t)OBJ_RECORD_NEIGHBORS_MAX * OBJ_KEY_LEN);
  ProtobufCBinaryData *nb = malloc(OBJ_RECORD_NEIGHBORS_MAX * sizeof *nb);
  uint8_t *out = NULL, *bloom = NULL;
  uint32_t blen = 0, bk = 0;
  size_t len = 0;
  int rc = MOMEDO_E_NOMEM;
  *issued = false;
  if (!keys || !nb) goto out;
  size_t n = links_listed(r, now_ms, keys);
  if ((rc = repl__bloom_build(r, &bloom, &blen, &bk))) goto out;
  if (own_unchanged(r, now_ms, keys, n, bloom, blen, bk)) goto out;
  *issued = true;
  for (size_t i = 0; i < n; i++) nb[i] = (ProtobufCBinaryData){OBJ_KEY_LEN, keys[i]};
  Momedo__NodeRecord m = MOMEDO__NODE_RECORD__INIT;
  m.format = 1;
  m.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, r->cfg.self_key};
  /* Strictly increasing, also across restarts that lost the last record. */
  m.seq = r->own_seq + 1 > now_ms ? r->own_seq + 1 : now_ms;
  m.created_ms = now_ms;
  m.expires_ms = now_ms + r->cfg.record_lifetime_ms;
  m.name = r->cfg.name;
  m.n_neighbors = n;
  m.neighbors = nb;
  m.users_bloom = (ProtobufCBinaryData){blen, bloom};
  m.bloom_hashes = bk;
  rc = obj_sign_encode_with(MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, &m.base, r->cfg.sign,
                            r->cfg.sign_ctx, &out, &len);
  if (rc) goto out;
  r->issuing = true;
  rc = repl__ingest(r, MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, out, len, now_ms, NULL, NULL, NULL);
  r->issuing = false;
  if (rc == 0) r->st.records_issued++;
  if (rc == 0 && !r->own_shared && r->nodes[r->self_node].rec)
    repl__shared_publish(r->shared, r->nodes[r->self_node].rec);
out:
  /* ingest pushes the record at the end of the call from its bytes: keep them until then */
  if (out && rc == 0) {
    r->own_rec_bytes = out;
    out = NULL;
  }
  free(out);
  free(bloom);
  free(keys);
  free(nb);
  return rc;
}

int repl__records_tick(struct repl *r, uint64_t now_ms) {
  if (!repl__scoped(r)) return 0;
  if (now_ms >= r->rec_exp_ms) records_sweep(r, now_ms);
  if (now_ms < r->rec_due_ms) return 0;
  free(r->own_rec_bytes);
  r->own_rec_bytes = NULL;
  bool issued;
  int rc = record_issue(r, now_ms, &issued);
  if (rc) {
    r->rec_due_ms = now_ms + 1000; /* a failing signer: try again, not in a loop */
    return rc;
  }
  if (!issued) r->st.records_kept++;
  r->rec_due_ms = (issued ? now_ms : r->nodes[r->self_node].rec->created_ms) + refresh_ms(r);
  for (size_t i = 0; i < r->nlinks; i++)
    if (!r->links[i].up && r->links[i].listed)
      rec_due(r, r->links[i].down_ms + r->links[i].hold_ms);
  return 0;
}

/* ---- when routes are searched (SPF throttling) ------------------------------------ */

/* The routes may have changed. A change of this node's own links (local knowledge: the
 * first hops) is searched at the next need. Another node's changed record is searched
 * route_spf_delay_ms later at the earliest (a burst of records, as a node going down
 * withdraws it in all its neighbors' records, costs one search) and not before the hold
 * after the last search has passed; until then the last table answers. */
void repl__routes_touch(struct repl *r, uint64_t now_ms, bool local) {
  uint64_t due = now_ms;
  if (!local) {
    uint64_t hold_end = r->spf_last_ms + r->spf_hold_ms;
    due = now_ms + r->cfg.route_spf_delay_ms;
    if (hold_end > due) due = hold_end;
  }
  if (!r->routes_dirty) r->spf_change_ms = now_ms;
  if (!r->routes_dirty || due < r->spf_due_ms) r->spf_due_ms = due;
  r->routes_dirty = true;
  /* Custody moves on the new routes when they are searched (repl__custody_pump). */
  if (r->npend && r->spf_due_ms <= now_ms) r->custody_dirty = true;
}

/* A search at now_ms: the hold after it doubles (up to route_spf_max_ms) when the last
 * table was outdated soon after its search (changes keep coming: within twice its hold),
 * else it starts again at route_spf_delay_ms. By changes, not by searches: an engine
 * asks for routes only when it hands something on, and one that asks every second
 * while records change every few milliseconds must back off too. Delay 0 throttles
 * nothing. */
static void spf_ran(struct repl *r, uint64_t now_ms) {
  uint64_t base = r->cfg.route_spf_delay_ms, max = r->cfg.route_spf_max_ms;
  uint64_t h = r->spf_hold_ms;
  bool busy = r->spf_change_ms < r->spf_last_ms + 2 * h + base;
  h = busy && h ? 2 * h : base;
  r->spf_hold_ms = h < max ? h : max;
  r->spf_last_ms = now_ms;
}

/* ---- routes ---------------------------------------------------------------------- */

static int routes_compute(struct repl *r, uint64_t now_ms, bool full) {
  int rc = repl__rt_search(r, now_ms, full);
  if (rc) return rc;
  r->route_gen++;
  r->routes_dirty = false;
  return 0;
}

int repl__routes_fresh(struct repl *r, uint64_t now_ms) {
  /* A record the table was built from expired: the graph changed without a record
   * arriving (before the store's expiry or the sweep says so). */
  if (!r->routes_dirty && now_ms >= r->rt_exp_ms) repl__routes_touch(r, now_ms, false);
  if (!r->routes_dirty) return 0;
  if (now_ms < r->spf_due_ms) {
    r->st.route_held++;
    return 0;
  }
  int rc = routes_compute(r, now_ms, false);
  if (rc == 0) spf_ran(r, now_ms);
  return rc;
}

int repl__routes_search(struct repl *r, uint64_t now_ms) { return routes_compute(r, now_ms, true); }

int repl__next_hop(struct repl *r, const uint8_t key[static OBJ_KEY_LEN], uint64_t *peer,
                   uint64_t *alt, bool *has_alt) {
  uint32_t idx = node_find(r, key);
  if (idx == UINT32_MAX || idx == r->self_node || !r->nodes[idx].has_next)
    return MOMEDO_E_NOTFOUND;
  *peer = r->nodes[idx].next_peer;
  *has_alt = r->nodes[idx].has_alt;
  *alt = r->nodes[idx].alt_peer;
  return 0;
}

int repl_route(struct repl *r, const uint8_t key[static OBJ_KEY_LEN], uint64_t now_ms,
               uint64_t *peer_id, uint32_t *hops) {
  uint64_t alt;
  bool has_alt;
  if (!repl__scoped(r)) return MOMEDO_E_NOTFOUND;
  int rc = repl__routes_fresh(r, now_ms);
  if (rc == 0) rc = repl__next_hop(r, key, peer_id, &alt, &has_alt);
  if (rc == 0) *hops = r->nodes[node_find(r, key)].dist;
  return rc;
}

static int node_key_cmp(const void *a, const void *b, void *ctx);

int repl_nodes(struct repl *r, uint64_t now_ms, repl_node_fn fn, void *ctx) {
  if (!repl__scoped(r)) return 0;
  int rc = repl__routes_fresh(r, now_ms);
  if (rc) return rc;
  /* In key order: sort indices of the nodes with a live record. */
  uint32_t *ord = malloc((r->nnodes ? r->nnodes : 1) * sizeof *ord);
  if (!ord) return MOMEDO_E_NOMEM;
  size_t n = 0;
  for (size_t i = 0; i < r->nnodes; i++)
    if (node_live(&r->nodes[i]) && r->nodes[i].rec->expires_ms > now_ms) ord[n++] = (uint32_t)i;
  for (size_t i = 1; i < n; i++) /* insertion sort: called for status, not per message */
    for (size_t j = i; j > 0 && node_key_cmp(&ord[j - 1], &ord[j], r) > 0; j--) {
      uint32_t t = ord[j];
      ord[j] = ord[j - 1], ord[j - 1] = t;
    }
  for (size_t i = 0; i < n && rc == 0; i++) {
    const struct repl_node *nd = &r->nodes[ord[i]];
    struct repl_node_info ni;
    memset(&ni, 0, sizeof ni);
    const struct repl_srec *sr = nd->rec;
    memcpy(ni.key, repl__key_of(r->shared, ord[i]), OBJ_KEY_LEN);
    memcpy(ni.name, sr->name, sizeof ni.name);
    ni.seq = sr->seq, ni.created_ms = sr->created_ms, ni.expires_ms = sr->expires_ms;
    ni.n_neighbors = sr->n_nb;
    ni.hops = nd->dist;
    ni.has_next = nd->has_next, ni.next_peer = nd->next_peer;
    ni.has_alt = nd->has_alt, ni.alt_peer = nd->alt_peer;
    rc = fn(ctx, &ni);
  }
  free(ord);
  return rc;
}

static int node_key_cmp(const void *a, const void *b, void *ctx) {
  const struct repl *r = ctx;
  return memcmp(repl__key_of(r->shared, *(const uint32_t *)a),
                repl__key_of(r->shared, *(const uint32_t *)b), OBJ_KEY_LEN);
}

/* rec_mem: slot g takes the newest record s without a check or a push (it was
 * checked by the engine that issued it). */
static int adopt_mem(struct repl *r, struct repl_srec *s, uint64_t now_ms) {
  struct repl_node *n = &r->nodes[s->gid];
  int rc = repl__ridx_add(r, s->id);
  if (rc < 0) return rc;
  if (node_live(n) && repl__ridx_del(r, n->rec->id)) r->st.records--;
  r->st.records++;
  r->st.stored_remote++;
  if (s->expires_ms < r->rec_exp_ms) r->rec_exp_ms = s->expires_ms;
  s->refs++;
  (void)now_ms;
  return record_apply(r, s);
}

int repl_records_adopt(struct repl *r, uint64_t now_ms) {
  const struct repl_shared *sh = r->shared;
  int n = 0, rc = 0;
  if (!repl__scoped(r)) return 0;
  repl__clock_note(r, now_ms);
  if ((rc = nodes_ensure(r, sh->nkeys))) return rc;
  for (uint32_t g = 0; g < sh->nkeys && rc >= 0; g++) {
    struct repl_srec *e = sh->newest[g];
    if (!e || e->expires_ms <= now_ms || g == r->self_node) continue;
    const struct repl_node *nd = &r->nodes[g];
    if (nd->rec && nd->rec->seq >= e->seq) continue;
    if (r->rec_mem) {
      if ((rc = adopt_mem(r, e, now_ms)) == 0) n++;
      continue;
    }
    /* Checked and stored like a neighbor's record (the check hook memoises). */
    rc = repl__ingest(r, MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, e->bytes, e->len, now_ms, NULL,
                      NULL, NULL);
    if (rc == 0) n++;
    else if (momedo_status_kind(rc) == MOMEDO_KIND_PROTO || momedo_status_kind(rc) == MOMEDO_KIND_CRYPTO)
      rc = 0; /* stale, expired: skipped */
    else if (rc == MOMEDO_E_EXISTS) rc = 0;
  }
  /* Taken as if from a neighbor: not pushed on (every engine adopts for itself). */
  r->nfresh = 0;
  /* A start with the federation's records, not churn: searched at the next need. */
  if (n > 0) repl__routes_touch(r, now_ms, true);
  if (!r->rec_mem) r->st.stored_local -= (uint64_t)n, r->st.stored_remote += (uint64_t)n;
  return rc < 0 ? rc : n;
}
