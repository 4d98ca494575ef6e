/* replication/repl_get.c — what callers read from the store: an object by ID, the
 * newest bundle of an identity, a mailbox's items in arrival order and their count, an
 * object's role; the per-peer scope-1 set loaded at peer-up; the LOOKUP_DONE action.
 * Reads only through struct store; writes nothing. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "repl_int.h"
#include "repl_keys.h"

/* ---- queries ----------------------------------------------------------------- */

int repl_get_object(struct repl *r, const uint8_t id[static OBJ_ID_LEN], uint64_t now_ms,
                    struct obj_info *info, uint8_t **data, size_t *len) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  int rc = repl__rec_get(r, id, &val, &rec);
  if (rc) return rc;
  if (rec.info.expires_ms && rec.info.expires_ms <= now_ms) {
    free(val);
    return MOMEDO_E_NOTFOUND;
  }
  if (info) *info = rec.info;
  /* Hand out the record buffer itself, the bytes moved to its start. */
  memmove(val, rec.data, rec.len);
  *data = val;
  *len = rec.len;
  return 0;
}

int repl_bundle_lookup(struct repl *r, const uint8_t identity_key[static OBJ_KEY_LEN],
                       struct obj_info *info, uint8_t **data, size_t *len) {
  uint8_t k[KEY_BUNDLE_LEN], id[OBJ_ID_LEN];
  void *v = NULL;
  size_t vn = 0;
  key_bundle(k, identity_key);
  int rc = store_get(r->store, k, sizeof k, &v, &vn);
  if (rc == MOMEDO_E_NOTFOUND)
    return repl__cache_find(r, REPL_LOOKUP_IDENTITY, identity_key, info, data, len);
  if (rc) return rc;
  if (vn != OBJ_ID_LEN + 8) rc = MOMEDO_E_CORRUPT;
  else memcpy(id, v, OBJ_ID_LEN);
  free(v);
  if (rc) return rc;
  return repl_get_object(r, id, 0, info, data, len);
}

struct fetch_ctx {
  struct repl *r;
  uint64_t now_ms;
  uint32_t limit, n;
  repl_mailbox_fn fn;
  void *ctx;
  int err;
};

static int fetch_one(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct fetch_ctx *f = ctx;
  uint8_t *val = NULL;
  struct repl_rec rec;
  if (kn != KEY_MBOX_LEN || vn != OBJ_ID_LEN) return MOMEDO_E_CORRUPT;
  int rc = repl__rec_get(f->r, v, &val, &rec);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  if (!rec.info.expires_ms || rec.info.expires_ms > f->now_ms) {
    f->n++;
    rc = f->fn(f->ctx, be64_get(k + 1 + OBJ_MAILBOX_LEN), &rec.info, rec.data, rec.len);
    if (rc == 0 && f->n == f->limit) rc = 1;
    if (rc) rc = 1; /* stop, not an error */
  }
  free(val);
  return rc;
}

int repl_mailbox_fetch(struct repl *r, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                       uint64_t from_seq, uint32_t limit, uint64_t now_ms, repl_mailbox_fn fn,
                       void *ctx) {
  uint8_t lo[KEY_MBOX_LEN], hi[KEY_MBOX_LEN];
  if (limit == 0) return 0;
  if (limit > INT32_MAX) limit = INT32_MAX;
  key_mbox(lo, mailbox, from_seq);
  size_t hn = prefix_end(hi, lo, 1 + OBJ_MAILBOX_LEN);
  struct fetch_ctx f = {.r = r, .now_ms = now_ms, .limit = limit, .fn = fn, .ctx = ctx};
  int rc = store_iter(r->store, lo, sizeof lo, hi, hn, fetch_one, &f);
  if (rc < 0) return rc;
  return (int)f.n;
}

int repl_role_of(struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  if (!repl__idx_has(&r->idx, id)) return MOMEDO_E_NOTFOUND;
  int rc = repl__rec_get(r, id, &val, &rec);
  if (rc == 0) rc = (int)rec.role;
  free(val);
  return rc;
}

struct shared_load {
  struct repl_peer *p;
};

static int shared_one(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct shared_load *c = ctx;
  (void)v, (void)vn;
  if (kn != 1 + OBJ_KEY_LEN + OBJ_ID_LEN) return MOMEDO_E_CORRUPT;
  int rc = repl__idx_insert(&c->p->sidx, k + 1 + OBJ_KEY_LEN);
  return rc < 0 ? rc : 0;
}

int repl__shared_load(struct repl *r, struct repl_peer *p) {
  uint8_t lo[1 + OBJ_KEY_LEN], hi[1 + OBJ_KEY_LEN];
  struct shared_load c = {.p = p};
  lo[0] = REPL_T_SHARED;
  memcpy(lo + 1, p->key, OBJ_KEY_LEN);
  size_t hn = prefix_end(hi, lo, sizeof lo);
  int rc = store_iter(r->store, lo, sizeof lo, hi, hn, shared_one, &c);
  return rc < 0 ? rc : 0;
}

int repl__lookup_done(struct repl *r, uint64_t handle, int status, const struct obj_info *info) {
  struct repl_action a;
  memset(&a, 0, sizeof a);
  a.kind = REPL_ACT_LOOKUP_DONE;
  a.handle = handle;
  a.status = status;
  if (info) a.info = *info;
  return repl__act_push(r, &a);
}

int repl_mailbox_count(struct repl *r, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                       uint64_t *items, uint64_t *bytes) {
  repl__mc_get(&r->mcount, mailbox, items, bytes);
  return 0;
}
