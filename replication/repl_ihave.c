/* replication/repl_ihave.c — lazy push of objects other than node records (item_push =
 * lazy), after Plumtree (Leitão, Pereira, Rodrigues 2007): a new object's body goes to
 * the eager neighbors, its ID (ItemAnnounce, IHAVE) to the lazy ones; a duplicate body
 * makes its link lazy (ItemPrune), an announced object still missing after
 * item_graft_timeout_ms is asked for (ItemGraft) and makes that link eager. The eager
 * links thin out to about a spanning tree. Reconciliation still repairs the rest. No I/O. */
#include <stdlib.h>
#include <string.h>

#include "repl_int.h"

static bool item_lazy(const struct repl *r) { return r->cfg.item_push == REPL_ITEM_PUSH_LAZY; }

static bool is_item(Momedo__ObjectKind kind) { return kind != MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD; }

bool repl__fresh_lazy(const struct repl *r, const struct repl_peer *p,
                      const struct repl_fresh *f) {
  return item_lazy(r) && p->lazy && is_item(f->kind);
}

/* Send m (an announce, graft or prune) and count it as lazy-push traffic. */
static int send_lazy_msg(struct repl *r, struct repl_peer *p, Momedo__ReplMsg *m) {
  size_t bytes = momedo__repl_msg__get_packed_size(m);
  int rc = repl__send(r, p, m, false);
  if (rc == 0) p->st.lazy_bytes_sent += bytes;
  return rc;
}

static int send_ids(struct repl *r, struct repl_peer *p, bool graft, uint8_t *ids, size_t n) {
  Momedo__ItemAnnounce a = MOMEDO__ITEM_ANNOUNCE__INIT;
  Momedo__ItemGraft g = MOMEDO__ITEM_GRAFT__INIT;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  if (graft) {
    g.ids = (ProtobufCBinaryData){n * OBJ_ID_LEN, ids};
    m.body_case = MOMEDO__REPL_MSG__BODY_GRAFT, m.graft = &g;
  } else {
    a.ids = (ProtobufCBinaryData){n * OBJ_ID_LEN, ids};
    m.body_case = MOMEDO__REPL_MSG__BODY_IHAVE, m.ihave = &a;
  }
  int rc = send_lazy_msg(r, p, &m);
  if (rc == 0 && graft) r->st.items_grafted += n;
  if (rc == 0 && !graft) r->st.items_announced += n;
  return rc;
}

/* The fresh objects p gets as announcements, in messages of at most REPL_IHAVE_IDS_MAX. */
static int ihave_to(struct repl *r, struct repl_peer *p, uint8_t *ids) {
  size_t n = 0;
  int rc = 0;
  for (size_t j = 0; j < r->nfresh && rc == 0; j++) {
    const struct repl_fresh *f = &r->fresh[j];
    if (!repl__fresh_lazy(r, p, f) || (!f->from_local && f->from_peer == p->id)) continue;
    memcpy(ids + n * OBJ_ID_LEN, f->id, OBJ_ID_LEN);
    if (++n == REPL_IHAVE_IDS_MAX) rc = send_ids(r, p, false, ids, n), n = 0;
  }
  if (rc == 0 && n) rc = send_ids(r, p, false, ids, n);
  return rc;
}

int repl__ihave_fresh(struct repl *r) {
  if (!item_lazy(r) || r->nfresh == 0) return 0;
  size_t cap = r->nfresh < REPL_IHAVE_IDS_MAX ? r->nfresh : REPL_IHAVE_IDS_MAX;
  uint8_t *ids = NULL;
  int rc = 0;
  for (size_t i = 0; i < r->npeers && rc == 0; i++) {
    struct repl_peer *p = &r->peers[i];
    if (!p->up || !p->lazy) continue;
    if (!repl__can_send(r, p)) {
      p->withheld = true, p->st.withheld++; /* reconciliation repairs it */
      continue;
    }
    if (!ids && !(ids = malloc(cap * OBJ_ID_LEN))) return MOMEDO_E_NOMEM;
    rc = ihave_to(r, p, ids);
  }
  free(ids);
  return rc;
}

/* Eager links of this node other than p that are up. */
static size_t eager_others(const struct repl *r, const struct repl_peer *p) {
  size_t n = 0;
  for (size_t i = 0; i < r->npeers; i++)
    n += &r->peers[i] != p && r->peers[i].up && !r->peers[i].lazy;
  return n;
}

/* ---- prune ------------------------------------------------------------------------ */

void repl__item_arrived(struct repl *r, const struct repl_peer *p, Momedo__ObjectKind kind,
                        const uint8_t id[static OBJ_ID_LEN], bool fresh) {
  if (!item_lazy(r) || !is_item(kind)) return;
  if (!r->arrivals && !(r->arrivals = calloc(REPL_ARRIVALS_MAX, sizeof *r->arrivals))) return;
  struct repl_arrival *a = &r->arrivals[r->arrivals_pos];
  memcpy(a->id, id, OBJ_ID_LEN);
  a->peer = fresh ? p->id : 0;
  r->arrivals_pos = (r->arrivals_pos + 1) % REPL_ARRIVALS_MAX;
}

/* Is a second eager copy of id from p a sign of a cycle among the eager links? Not when
 * the first came from p too (a duplicated frame), in an answer (the eager copy was
 * merely slower than a round or a graft), or on a link that is lazy by now. */
static bool dup_prunes(const struct repl *r, const struct repl_peer *p, const uint8_t *id) {
  for (uint32_t i = 0; r->arrivals && i < REPL_ARRIVALS_MAX; i++) {
    const struct repl_arrival *a = &r->arrivals[i];
    if (memcmp(a->id, id, OBJ_ID_LEN) != 0) continue;
    if (a->peer == 0 || a->peer == p->id) return false;
    /* The first copy came on a link this node made lazy meanwhile (it was in flight):
     * that link will not carry the next one, this one will. */
    const struct repl_peer *first = repl__peer((struct repl *)r, a->peer);
    return first && first->up && !first->lazy;
  }
  return true;
}

int repl__item_dup(struct repl *r, struct repl_peer *p, Momedo__ObjectKind kind,
                   const uint8_t *data, size_t len) {
  uint8_t id[OBJ_ID_LEN];
  if (!item_lazy(r) || !is_item(kind) || p->lazy || !eager_others(r, p)) return 0;
  if (obj_id(kind, data, len, id) || !dup_prunes(r, p, id)) return 0;
  p->lazy = true;
  r->st.prunes_sent++;
  if (!p->up) return 0;
  Momedo__ItemPrune pr = MOMEDO__ITEM_PRUNE__INIT;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PRUNE, m.prune = &pr;
  /* A few bytes, sent over a full queue too: withheld, the peer would go on pushing. */
  return send_lazy_msg(r, p, &m);
}

int repl__on_prune(struct repl *r, struct repl_peer *p) {
  if (!p->lazy) r->st.prunes_recv++;
  p->lazy = true;
  if (!item_lazy(r) || eager_others(r, p)) return 0;
  /* p was the last eager link: prunes racing one another (two new objects crossing)
   * would otherwise cut this node off, and every body would wait for a graft. An
   * empty graft makes the link eager again on both sides. */
  p->lazy = false;
  return send_ids(r, p, true, NULL, 0);
}
/* ---- announcements and grafts ---------------------------------------------------- */

static struct repl_graft *graft_find(struct repl *r, const uint8_t *id) {
  for (size_t i = 0; i < r->ngrafts; i++)
    if (memcmp(r->grafts[i].id, id, OBJ_ID_LEN) == 0) return &r->grafts[i];
  return NULL;
}

/* Await id, announced by peer. Untracked when the table is full (recon brings it). */
static void graft_note(struct repl *r, const uint8_t *id, uint64_t peer, uint64_t now_ms) {
  struct repl_graft *e = graft_find(r, id);
  if (e) {
    if (e->peer == peer) return;
    for (uint32_t k = 0; k < e->nalt; k++)
      if (e->alt[k] == peer) return;
    if (e->nalt < REPL_GRAFT_ALTS) e->alt[e->nalt++] = peer;
    return;
  }
  if (r->ngrafts == REPL_GRAFTS_MAX) return;
  if (r->ngrafts == r->grafts_cap) {
    size_t ncap = r->grafts_cap ? r->grafts_cap * 2 : 16;
    struct repl_graft *ng = realloc(r->grafts, ncap * sizeof *ng);
    if (!ng) return;
    r->grafts = ng, r->grafts_cap = ncap;
  }
  e = &r->grafts[r->ngrafts++];
  memset(e, 0, sizeof *e);
  memcpy(e->id, id, OBJ_ID_LEN);
  e->peer = peer;
  e->until_ms = now_ms + r->cfg.item_graft_timeout_ms;
  if (e->until_ms < r->graft_next_ms) r->graft_next_ms = e->until_ms;
}

static int ids_check(const ProtobufCBinaryData *ids) {
  if (ids->len % OBJ_ID_LEN || ids->len / OBJ_ID_LEN > REPL_IHAVE_IDS_MAX) return MOMEDO_E_BOUNDS;
  return 0;
}

int repl__on_ihave(struct repl *r, struct repl_peer *p, const Momedo__ItemAnnounce *m,
                   uint64_t now_ms) {
  int rc = ids_check(&m->ids);
  if (rc) return rc;
  /* Whatever this node's own mode: a lazy neighbor's announcement is how it offers. */
  for (size_t i = 0; i < m->ids.len / OBJ_ID_LEN; i++) {
    const uint8_t *id = m->ids.data + i * OBJ_ID_LEN;
    if (!repl__idx_has(&r->idx, id)) graft_note(r, id, p->id, now_ms);
  }
  return 0;
}

int repl__on_graft(struct repl *r, struct repl_peer *p, const Momedo__ItemGraft *m,
                   uint64_t now_ms) {
  int rc = ids_check(&m->ids);
  if (rc) return rc;
  p->lazy = false; /* the peer missed a body: this link carries them again */
  size_t n = m->ids.len / OBJ_ID_LEN, k = 0;
  uint8_t *ok = malloc(n ? n * OBJ_ID_LEN : 1);
  if (!ok) return MOMEDO_E_NOMEM;
  /* Only what could have been pushed: every object in flood mode, the global-scope
   * ones in scoped mode (never transit objects or records). */
  const struct repl_idx *x = repl__scoped(r) ? &r->gidx : &r->idx;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *id = m->ids.data + i * OBJ_ID_LEN;
    if (repl__idx_has(x, id)) memcpy(ok + k++ * OBJ_ID_LEN, id, OBJ_ID_LEN);
  }
  rc = k ? repl__push_ids(r, p, ok, k, now_ms) : 0;
  free(ok);
  return rc;
}

/* ---- awaited objects ------------------------------------------------------------- */

/* Whom to graft e from now: its announcer first, then the others in turn. 0: none left. */
static uint64_t graft_target(struct repl *r, struct repl_graft *e) {
  if (!e->asked) {
    struct repl_peer *p = repl__peer(r, e->peer);
    e->asked = true;
    if (p && p->up) return e->peer;
  }
  while (e->nalt) {
    uint64_t peer = e->alt[0];
    memmove(e->alt, e->alt + 1, --e->nalt * sizeof e->alt[0]);
    struct repl_peer *p = repl__peer(r, peer);
    if (p && p->up) return e->peer = peer;
  }
  return 0;
}

/* Graft the due entries aimed at p (marked by peer == p->id and until_ms == due) in one
 * message; the link becomes eager. */
static int graft_send(struct repl *r, struct repl_peer *p, uint64_t now_ms, uint8_t *ids) {
  size_t n = 0;
  int rc = 0;
  for (size_t i = 0; i < r->ngrafts && rc == 0; i++) {
    struct repl_graft *e = &r->grafts[i];
    if (e->peer != p->id || e->until_ms != now_ms) continue;
    e->until_ms = now_ms + r->cfg.item_graft_timeout_ms;
    memcpy(ids + n * OBJ_ID_LEN, e->id, OBJ_ID_LEN);
    if (++n == REPL_IHAVE_IDS_MAX) rc = send_ids(r, p, true, ids, n), n = 0;
  }
  if (rc == 0 && n) rc = send_ids(r, p, true, ids, n);
  p->lazy = false;
  return rc;
}

int repl__grafts_tick(struct repl *r, uint64_t now_ms) {
  if (now_ms < r->graft_next_ms) return 0;
  r->graft_next_ms = UINT64_MAX;
  size_t due = 0;
  for (size_t i = 0; i < r->ngrafts;) {
    struct repl_graft *e = &r->grafts[i];
    if (now_ms >= e->until_ms) {
      uint64_t to = repl__idx_has(&r->idx, e->id) ? 0 : graft_target(r, e);
      if (!to) { /* arrived meanwhile, or nobody left to ask (recon brings it) */
        if (!repl__idx_has(&r->idx, e->id)) r->st.item_grafts_failed++;
        *e = r->grafts[--r->ngrafts];
        continue;
      }
      e->until_ms = now_ms, due++; /* marks it for graft_send */
    }
    i++;
  }
  int rc = 0;
  uint8_t *ids = due ? malloc((due < REPL_IHAVE_IDS_MAX ? due : REPL_IHAVE_IDS_MAX) * OBJ_ID_LEN) : NULL;
  if (due && !ids) return MOMEDO_E_NOMEM;
  for (size_t i = 0; i < r->npeers && rc == 0 && due; i++) {
    struct repl_peer *p = &r->peers[i];
    if (p->up && repl__can_send(r, p)) rc = graft_send(r, p, now_ms, ids);
  }
  free(ids);
  for (size_t i = 0; i < r->ngrafts; i++) {
    struct repl_graft *e = &r->grafts[i];
    if (e->until_ms == now_ms) e->until_ms += r->cfg.item_graft_timeout_ms; /* queue full */
    if (e->until_ms < r->graft_next_ms) r->graft_next_ms = e->until_ms;
  }
  return rc;
}
