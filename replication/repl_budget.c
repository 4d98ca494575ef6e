/* replication/repl_budget.c — what one neighbor may make this node do per minute
 * (issue 11 finding 7, issue 15): token buckets per peer for the objects and bytes it
 * sends (pushes, custody grants) and for the reconciliation work it asks for (Recon and
 * Want messages answered, object bytes pushed in answer); and, in scoped mode, who may
 * sign what a neighbor brings: known nodes only, each within a budget of its own. Time is
 * the caller's now_ms; no clock here. Over budget is never a strike: it waits. */
#include <stdlib.h>
#include <string.h>

#include "repl_int.h"

#define BUCKET_MS_PER_MIN 60000u

bool repl__bucket_take(struct repl_bucket *b, uint64_t per_min, uint64_t n, uint64_t now_ms) {
  uint64_t cap = per_min * BUCKET_MS_PER_MIN;
  if (!b->init) b->level = cap, b->last_ms = now_ms, b->init = true;
  /* A clock that went back refills nothing; a full minute refills everything. */
  uint64_t dt = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
  if (dt > BUCKET_MS_PER_MIN) dt = BUCKET_MS_PER_MIN;
  b->level = b->level + dt * per_min > cap ? cap : b->level + dt * per_min;
  if (now_ms > b->last_ms) b->last_ms = now_ms;
  uint64_t need = n > per_min ? cap : n * BUCKET_MS_PER_MIN;
  if (b->level < need) return false;
  b->level -= need;
  return true;
}

static uint64_t msg_objects(const Momedo__ReplMsg *m) {
  if (m->body_case == MOMEDO__REPL_MSG__BODY_PUSH) return m->push->n_objects;
  if (m->body_case == MOMEDO__REPL_MSG__BODY_GRANT) return m->grant->n_grants;
  return 0;
}

bool repl__ingest_ok(struct repl *r, struct repl_peer *p, const Momedo__ReplMsg *m, size_t bytes,
                     uint64_t now_ms) {
  uint64_t nobj = msg_objects(m);
  struct repl_bucket objs = p->in_objs, byts = p->in_bytes; /* both or neither */
  if (repl__bucket_take(&objs, r->cfg.peer_ingest_objects_per_min, nobj, now_ms) &&
      repl__bucket_take(&byts, r->cfg.peer_ingest_per_min_bytes_max, bytes, now_ms)) {
    p->in_objs = objs, p->in_bytes = byts;
    return true;
  }
  p->st.ingest_refused_msgs++;
  p->st.ingest_refused_objects += nobj;
  p->st.ingest_refused_bytes += bytes;
  return false;
}

bool repl__recon_ok(struct repl *r, struct repl_peer *p, uint64_t now_ms) {
  if (repl__bucket_take(&p->rc_msgs, r->cfg.peer_recon_msgs_per_min, 1, now_ms)) return true;
  p->st.recon_refused_msgs++;
  return false;
}

void repl__defer_round(struct repl_peer *p, uint64_t now_ms) {
  uint64_t at = now_ms + REPL_DEFER_ROUND_MS;
  if (p->next_recon_ms > at) p->next_recon_ms = at;
}

bool repl__recon_push_ok(struct repl *r, struct repl_peer *p, size_t len, uint64_t now_ms) {
  if (repl__bucket_take(&p->rc_push, r->cfg.peer_recon_push_per_min_bytes_max, len, now_ms))
    return true;
  p->st.recon_push_cut++;
  return false;
}

/* ---- item signers (scoped mode) ------------------------------------------------ */

static bool node_signed(Momedo__ObjectKind k) {
  return k == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || k == MOMEDO__OBJECT_KIND__OBJ_CHUNK ||
         k == MOMEDO__OBJECT_KIND__OBJ_ALIAS;
}

/* A node known here: this one, a neighbor whose link is up, or one whose record is live. */
static bool signer_known(const struct repl *r, uint32_t gid) {
  if (gid == UINT32_MAX) return false;
  if (gid == r->self_node || (gid < r->nnodes && r->nodes[gid].rec && r->nodes[gid].live))
    return true;
  for (size_t i = 0; i < r->npeers; i++)
    if (r->peers[i].up && r->peers[i].node == gid) return true;
  return false;
}

/* ---- the signer table: slots in no order, a hash by gid, a list by last use ------- */

#define NIL UINT32_MAX

static size_t sig_home(const struct repl *r, uint32_t gid) {
  return (size_t)((gid * 0x9e3779b97f4a7c15ull) >> 20) & (r->signer_hash_cap - 1);
}

static void hash_put(struct repl *r, uint32_t slot) {
  size_t i = sig_home(r, r->signers[slot].gid);
  while (r->signer_hash[i]) i = (i + 1) & (r->signer_hash_cap - 1);
  r->signer_hash[i] = slot + 1;
}

/* The hash position of gid, or SIZE_MAX. */
static size_t hash_find(const struct repl *r, uint32_t gid) {
  if (!r->signer_hash_cap) return SIZE_MAX;
  for (size_t i = sig_home(r, gid);; i = (i + 1) & (r->signer_hash_cap - 1)) {
    uint32_t v = r->signer_hash[i];
    if (!v) return SIZE_MAX;
    if (r->signers[v - 1].gid == gid) return i;
  }
}

/* Linear probing: close the gap so every later entry of the cluster stays findable. */
static void hash_del(struct repl *r, size_t i) {
  size_t m = r->signer_hash_cap - 1;
  r->signer_hash[i] = 0;
  for (size_t j = (i + 1) & m; r->signer_hash[j]; j = (j + 1) & m) {
    size_t home = sig_home(r, r->signers[r->signer_hash[j] - 1].gid);
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    r->signer_hash[i] = r->signer_hash[j];
    r->signer_hash[j] = 0;
    i = j;
  }
}

static void list_unlink(struct repl *r, uint32_t s) {
  struct repl_signer *e = &r->signers[s];
  if (e->prev != NIL) r->signers[e->prev].next = e->next;
  else r->signer_lru = e->next;
  if (e->next != NIL) r->signers[e->next].prev = e->prev;
  else r->signer_mru = e->prev;
}

static void list_append(struct repl *r, uint32_t s) {
  struct repl_signer *e = &r->signers[s];
  e->prev = r->signer_mru, e->next = NIL;
  if (r->signer_mru != NIL) r->signers[r->signer_mru].next = s;
  else r->signer_lru = s;
  r->signer_mru = s;
}

/* Room for one more slot (and its hash). E_NOMEM. */
static int sig_grow(struct repl *r) {
  if (r->nsigners < r->signers_cap) return 0;
  size_t ncap = r->signers_cap ? r->signers_cap * 2 : 16;
  uint32_t *nh = calloc(2 * ncap, sizeof *nh);
  struct repl_signer *ns = nh ? realloc(r->signers, ncap * sizeof *ns) : NULL;
  if (!ns) {
    free(nh);
    return MOMEDO_E_NOMEM;
  }
  r->signers = ns, r->signers_cap = ncap;
  free(r->signer_hash);
  r->signer_hash = nh, r->signer_hash_cap = 2 * ncap;
  for (uint32_t s = 0; s < r->nsigners; s++) hash_put(r, s);
  return 0;
}

/* gid's budget entry, now the most recently charged (made, full, if new; at the cap the
 * least recently charged gives way). */
static struct repl_signer *signer_slot(struct repl *r, uint32_t gid, uint64_t now_ms) {
  size_t h = hash_find(r, gid);
  uint32_t s;
  if (h != SIZE_MAX) {
    s = r->signer_hash[h] - 1;
    list_unlink(r, s);
  } else if (r->nsigners == REPL_SIGNERS_MAX) {
    s = r->signer_lru;
    list_unlink(r, s);
    hash_del(r, hash_find(r, r->signers[s].gid));
    memset(&r->signers[s], 0, sizeof r->signers[s]);
    r->signers[s].gid = gid;
    hash_put(r, s);
  } else {
    if (sig_grow(r)) return NULL;
    s = (uint32_t)r->nsigners++;
    memset(&r->signers[s], 0, sizeof r->signers[s]);
    r->signers[s].gid = gid;
    hash_put(r, s);
  }
  list_append(r, s);
  r->signers[s].used_ms = now_ms;
  return &r->signers[s];
}

int repl__signer_ok(struct repl *r, const struct repl_peer *from, const struct obj_info *i,
                    size_t len, uint64_t now_ms) {
  if (!repl__scoped(r) || !node_signed(i->kind)) return 0;
  uint32_t gid = repl__key_gid(r->shared, i->signer, false);
  /* The neighbor's own objects: its link authenticated it and its ingest budget already
   * bounds what it sends. The signer budget is for nodes behind a neighbor, which would
   * otherwise spend that neighbor's budget; charging the neighbor's own items to it too
   * held a busy neighbor's own users to a quarter of its budget (issue 12: 250 items/s). */
  if (from && gid != UINT32_MAX && from->up && from->node == gid) return 0;
  if (!signer_known(r, gid)) {
    r->st.signer_unknown++;
    return MOMEDO_E_SIGNER;
  }
  struct repl_signer *s = signer_slot(r, gid, now_ms);
  if (!s) return MOMEDO_E_NOMEM;
  struct repl_bucket objs = s->objs, byts = s->bytes; /* both or neither */
  if (repl__bucket_take(&objs, r->cfg.signer_ingest_objects_per_min, 1, now_ms) &&
      repl__bucket_take(&byts, r->cfg.signer_ingest_per_min_bytes_max, len, now_ms)) {
    s->objs = objs, s->bytes = byts;
    return 0;
  }
  r->st.signer_over_budget++;
  return MOMEDO_E_RATE;
}
