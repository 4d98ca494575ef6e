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

/* gid's budget entry (made, full, if new; the longest idle one gives way at the cap). */
static struct repl_signer *signer_slot(struct repl *r, uint32_t gid, uint64_t now_ms) {
  size_t lo = 0, hi = r->nsigners;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->signers[mid].gid == gid) return &r->signers[mid];
    if (r->signers[mid].gid < gid) lo = mid + 1;
    else hi = mid;
  }
  if (r->nsigners == REPL_SIGNERS_MAX) {
    size_t old = 0;
    for (size_t i = 1; i < r->nsigners; i++)
      if (r->signers[i].used_ms < r->signers[old].used_ms) old = i;
    memmove(&r->signers[old], &r->signers[old + 1], (r->nsigners - old - 1) * sizeof *r->signers);
    r->nsigners--;
    if (old < lo) lo--;
  } else if (r->nsigners == r->signers_cap) {
    size_t ncap = r->signers_cap ? r->signers_cap * 2 : 16;
    struct repl_signer *ns = realloc(r->signers, ncap * sizeof *ns);
    if (!ns) return NULL;
    r->signers = ns;
    r->signers_cap = ncap;
  }
  memmove(&r->signers[lo + 1], &r->signers[lo], (r->nsigners - lo) * sizeof *r->signers);
  r->nsigners++;
  memset(&r->signers[lo], 0, sizeof r->signers[lo]);
  r->signers[lo].gid = gid;
  return &r->signers[lo];
}

int repl__signer_ok(struct repl *r, const struct obj_info *i, size_t len, uint64_t now_ms) {
  if (!repl__scoped(r) || !node_signed(i->kind)) return 0;
  uint32_t gid = repl__key_gid(r->shared, i->signer, false);
  if (!signer_known(r, gid)) {
    r->st.signer_unknown++;
    return MOMEDO_E_SIGNER;
  }
  struct repl_signer *s = signer_slot(r, gid, now_ms);
  if (!s) return MOMEDO_E_NOMEM;
  s->used_ms = now_ms;
  struct repl_bucket objs = s->objs, byts = s->bytes; /* both or neither */
  if (repl__bucket_take(&objs, r->cfg.signer_ingest_objects_per_min, 1, now_ms) &&
      repl__bucket_take(&byts, r->cfg.signer_ingest_per_min_bytes_max, len, now_ms)) {
    s->objs = objs, s->bytes = byts;
    return 0;
  }
  r->st.signer_over_budget++;
  return MOMEDO_E_RATE;
}
