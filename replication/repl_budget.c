/* replication/repl_budget.c — what one neighbor may make this node do per minute
 * (issue 11 finding 7, issue 15): token buckets per peer for the objects and bytes it
 * sends (pushes, custody grants) and for the reconciliation work it asks for (Recon and
 * Want messages answered, object bytes pushed in answer). Time is the caller's now_ms;
 * no clock here. Over budget is never a strike: the message waits for a later offer. */
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
