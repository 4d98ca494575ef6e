/* replication/repl_store.c — the storage layout owned by replication/ (objects by
 * ID, expiry index, tombstone-by-target index, newest bundle per identity,
 * per-mailbox arrival index, local dead markers; the lookup indexes
 * are in repl_lookup.c) and the one path every object takes in: obj_check (one
 * decode, dedup before signatures), decide, one atomic batch, then the in-memory
 * index and actions. Reads and writes only
 * through struct store; no clock (now_ms is passed in). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "repl_int.h"
#include "repl_keys.h"

static const uint8_t key_meta_seq[4] = {REPL_T_META, 's', 'e', 'q'};
static const uint8_t key_meta_layout[7] = {REPL_T_META, 'l', 'a', 'y', 'o', 'u', 't'};

static bool has_mailbox_index(Momedo__ObjectKind k) {
  return k == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || k == MOMEDO__OBJECT_KIND__OBJ_CHUNK;
}

/* ---- records ------------------------------------------------------------------ */

_Static_assert(203 + OBJ_ALIAS_CHARS_MAX + 1 == REPL_REC_HDR_LEN, "record header layout");

static void rec_hdr_put(uint8_t *p, const struct obj_info *i, uint64_t seq, uint8_t format) {
  p[0] = format;
  p[1] = (uint8_t)i->kind;
  be64_put(p + 2, seq);
  be64_put(p + 10, i->created_ms);
  be64_put(p + 18, i->expires_ms);
  be64_put(p + 26, i->version);
  memcpy(p + 34, i->mailbox, 32);
  memcpy(p + 66, i->key, 32);
  memcpy(p + 98, i->target_id, 32);
  memcpy(p + 130, i->blob_id, 32);
  be32_put(p + 162, i->index);
  be32_put(p + 166, i->count);
  memcpy(p + 170, i->signer, 32);
  p[202] = i->revoked ? 1 : 0;
  memset(p + 203, 0, OBJ_ALIAS_CHARS_MAX + 1);
  memcpy(p + 203, i->alias, strnlen(i->alias, OBJ_ALIAS_CHARS_MAX));
}

#define REC_FLAG_ROLE_MASK 0x03u
#define REC_FLAG_GLOBAL 0x04u

/* Where an object goes and what this node owes for it (decided before storing). */
struct place {
  enum repl_role role;
  bool global;
  uint32_t npend;                          /* destinations to hand it on to */
  uint8_t pend[OBJ_DEST_NODES_MAX][OBJ_KEY_LEN];
  uint32_t hops;                           /* hop budget of the next grant */
  uint64_t from_peer;                      /* granted by this peer (0: none) */
};

/* A format-2 record: header, flags, destinations, bytes (malloc'ed). */
static uint8_t *rec_build(const struct obj_checked *ck, uint64_t seq, const struct place *pl,
                          const uint8_t *data, size_t len, size_t *out_len) {
  size_t dn = (size_t)ck->n_dests * OBJ_KEY_LEN, n = REPL_REC_HDR_LEN + 2 + dn + len;
  uint8_t *rec = malloc(n);
  if (!rec) return NULL;
  rec_hdr_put(rec, &ck->info, seq, REPL_REC_FORMAT);
  rec[REPL_REC_HDR_LEN] = (uint8_t)((unsigned)pl->role | (pl->global ? REC_FLAG_GLOBAL : 0));
  rec[REPL_REC_HDR_LEN + 1] = (uint8_t)ck->n_dests;
  if (dn) memcpy(rec + REPL_REC_HDR_LEN + 2, ck->dests, dn);
  memcpy(rec + REPL_REC_HDR_LEN + 2 + dn, data, len);
  *out_len = n;
  return rec;
}

static int rec_parse(const uint8_t *id, const uint8_t *v, size_t vn, struct repl_rec *rec) {
  if (vn < REPL_REC_HDR_LEN || (v[0] != REPL_REC_FORMAT && v[0] != REPL_REC_FORMAT_V1) ||
      v[1] < 1 || v[1] > 6)
    return MOMEDO_E_CORRUPT;
  memset(rec, 0, sizeof *rec);
  struct obj_info *i = &rec->info;
  i->kind = (Momedo__ObjectKind)v[1];
  memcpy(i->id, id, OBJ_ID_LEN);
  rec->seq = be64_get(v + 2);
  i->created_ms = be64_get(v + 10);
  i->expires_ms = be64_get(v + 18);
  i->version = be64_get(v + 26);
  memcpy(i->mailbox, v + 34, 32);
  memcpy(i->key, v + 66, 32);
  memcpy(i->target_id, v + 98, 32);
  memcpy(i->blob_id, v + 130, 32);
  i->index = be32_get(v + 162);
  i->count = be32_get(v + 166);
  memcpy(i->signer, v + 170, 32);
  i->revoked = v[202];
  memcpy(i->alias, v + 203, OBJ_ALIAS_CHARS_MAX);
  i->alias[OBJ_ALIAS_CHARS_MAX] = '\0';
  size_t off = REPL_REC_HDR_LEN;
  rec->role = REPL_ROLE_DEST;
  rec->global = true;
  if (v[0] == REPL_REC_FORMAT) {
    if (vn < off + 2) return MOMEDO_E_CORRUPT;
    uint8_t fl = v[off], nd = v[off + 1];
    if ((fl & REC_FLAG_ROLE_MASK) > REPL_ROLE_CACHED || nd > OBJ_DEST_NODES_MAX ||
        vn < off + 2 + (size_t)nd * OBJ_KEY_LEN)
      return MOMEDO_E_CORRUPT;
    rec->role = (enum repl_role)(fl & REC_FLAG_ROLE_MASK);
    rec->global = (fl & REC_FLAG_GLOBAL) != 0;
    rec->n_dests = nd;
    rec->dests = v + off + 2;
    off += 2 + (size_t)nd * OBJ_KEY_LEN;
  }
  rec->data = v + off;
  rec->len = vn - off;
  return 0;
}

int repl__test_put_v1(struct store *s, Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                      uint64_t seq) {
  struct obj_checked ck;
  uint8_t k[1 + OBJ_ID_LEN];
  int rc = obj_read(kind, data, len, &ck);
  if (rc == 0) rc = obj_id(kind, data, len, ck.info.id);
  if (rc) return rc;
  uint8_t *rec = malloc(REPL_REC_HDR_LEN + len);
  if (!rec) return MOMEDO_E_NOMEM;
  rec_hdr_put(rec, &ck.info, seq, REPL_REC_FORMAT_V1);
  memcpy(rec + REPL_REC_HDR_LEN, data, len);
  k[0] = REPL_T_OBJ;
  memcpy(k + 1, ck.info.id, OBJ_ID_LEN);
  rc = store_put1(s, k, sizeof k, rec, REPL_REC_HDR_LEN + len);
  free(rec);
  return rc;
}

/* A live record held in the shared table only (rec_mem), as repl__rec_get gives it. */
static int rec_from_table(struct repl *r, const uint8_t *id, uint8_t **val,
                          struct repl_rec *rec) {
  const struct repl_srec *s = repl__srec_find(r->shared, id);
  if (!s) return MOMEDO_E_NOTFOUND;
  uint8_t *v = malloc(s->len ? s->len : 1);
  if (!v) return MOMEDO_E_NOMEM;
  memcpy(v, s->bytes, s->len);
  memset(rec, 0, sizeof *rec);
  rec->info.kind = MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD;
  memcpy(rec->info.id, s->id, OBJ_ID_LEN);
  memcpy(rec->info.key, repl__key_of(r->shared, s->gid), OBJ_KEY_LEN);
  memcpy(rec->info.signer, rec->info.key, OBJ_KEY_LEN);
  rec->info.version = s->seq;
  rec->info.created_ms = s->created_ms;
  rec->info.expires_ms = s->expires_ms;
  rec->role = REPL_ROLE_DEST;
  rec->global = true;
  rec->data = v;
  rec->len = s->len;
  *val = v;
  return 0;
}

int repl__rec_get(struct repl *r, const uint8_t id[static OBJ_ID_LEN], uint8_t **val,
                  struct repl_rec *rec) {
  uint8_t k[KEY_OBJ_LEN];
  void *v = NULL;
  size_t vn = 0;
  key_obj(k, id);
  int rc = store_get(r->store, k, sizeof k, &v, &vn);
  if (rc == MOMEDO_E_NOTFOUND && r->rec_mem && repl__ridx_has(r, id))
    return rec_from_table(r, id, val, rec);
  if (rc) return rc;
  if ((rc = rec_parse(id, v, vn, rec))) {
    free(v);
    return rc;
  }
  *val = v;
  return 0;
}

/* ---- batch helpers ------------------------------------------------------------- */

static bool is_self(const struct repl *r, const uint8_t *key) {
  return memcmp(key, r->cfg.self_key, OBJ_KEY_LEN) == 0;
}

/* 's' dest id for every destination but this node, of a destination-role object. */
static int shared_ops(struct repl *r, struct store_batch *b, const uint8_t *id,
                      const uint8_t *dests, uint32_t n, bool put) {
  uint8_t k[1 + OBJ_KEY_LEN + OBJ_ID_LEN];
  k[0] = REPL_T_SHARED;
  memcpy(k + 1 + OBJ_KEY_LEN, id, OBJ_ID_LEN);
  for (uint32_t j = 0; j < n; j++) {
    const uint8_t *d = dests + (size_t)j * OBJ_KEY_LEN;
    if (is_self(r, d)) continue;
    memcpy(k + 1, d, OBJ_KEY_LEN);
    int rc = put ? store_batch_put(b, k, sizeof k, "", 0) : store_batch_del(b, k, sizeof k);
    if (rc) return rc;
  }
  return 0;
}

/* Mailbox and lookup indexes belong to objects held as a destination. */
static bool indexed(enum repl_role role) { return role == REPL_ROLE_DEST; }

/* Every delete that removes a stored object and its index entries. The 'b'
 * entry of a bundle (and the 'n' entry of a record) is overwritten by its
 * replacement, never deleted here. */
static int del_ops(struct repl *r, struct store_batch *b, const struct repl_rec *rec) {
  const struct obj_info *i = &rec->info;
  uint8_t k[KEY_TOMB_LEN];
  int rc;
  key_obj(k, i->id);
  if ((rc = store_batch_del(b, k, KEY_OBJ_LEN))) return rc;
  if (i->expires_ms) {
    key_exp(k, i->expires_ms, i->id);
    if ((rc = store_batch_del(b, k, KEY_EXP_LEN))) return rc;
  }
  if (has_mailbox_index(i->kind) && indexed(rec->role)) {
    key_mbox(k, i->mailbox, rec->seq);
    if ((rc = store_batch_del(b, k, KEY_MBOX_LEN))) return rc;
    /* The next load takes the largest stored seq + 1; should this object hold the
     * largest ever used, that bound is kept here instead, so a seq is never reused. */
    uint8_t v[8];
    be64_put(v, r->next_seq);
    if ((rc = store_batch_put(b, key_meta_seq, sizeof key_meta_seq, v, 8))) return rc;
  }
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE) {
    key_tomb(k, i->target_id, i->mailbox, i->id);
    if ((rc = store_batch_del(b, k, KEY_TOMB_LEN))) return rc;
  }
  if (rec->role == REPL_ROLE_DEST && !rec->global &&
      (rc = shared_ops(r, b, i->id, rec->dests, rec->n_dests, false)))
    return rc;
  if ((rc = repl__pend_del_ops(r, b, i->id))) return rc;
  return indexed(rec->role) ? repl__lookup_del_ops(b, i) : 0;
}

static int put_ops(struct repl *r, struct store_batch *b, const struct obj_checked *ck,
                   const struct place *pl, const uint8_t *data, size_t len, uint64_t seq) {
  const struct obj_info *i = &ck->info;
  uint8_t k[KEY_TOMB_LEN], v[OBJ_ID_LEN + 8];
  size_t rn = 0;
  int rc;
  uint8_t *rec = rec_build(ck, seq, pl, data, len, &rn);
  if (!rec) return MOMEDO_E_NOMEM;
  key_obj(k, i->id);
  rc = store_batch_put(b, k, KEY_OBJ_LEN, rec, rn);
  free(rec);
  if (rc) return rc;
  if (i->expires_ms) {
    key_exp(k, i->expires_ms, i->id);
    if ((rc = store_batch_put(b, k, KEY_EXP_LEN, "", 0))) return rc;
  }
  if (has_mailbox_index(i->kind) && indexed(pl->role)) {
    key_mbox(k, i->mailbox, seq);
    if ((rc = store_batch_put(b, k, KEY_MBOX_LEN, i->id, OBJ_ID_LEN))) return rc;
  }
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE) {
    r->maybe_tombs = true; /* before the write: a failed write leaves it merely cautious */
    key_tomb(k, i->target_id, i->mailbox, i->id);
    if ((rc = store_batch_put(b, k, KEY_TOMB_LEN, "", 0))) return rc;
  }
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) return repl__record_put_op(b, i);
  if (pl->role == REPL_ROLE_DEST && !pl->global &&
      (rc = shared_ops(r, b, i->id, &ck->dests[0][0], ck->n_dests, true)))
    return rc;
  for (uint32_t j = 0; j < pl->npend; j++)
    if ((rc = repl__pend_put_op(b, i->id, pl->pend[j]))) return rc;
  if (!indexed(pl->role)) return 0;
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE) {
    key_bundle(k, i->key);
    memcpy(v, i->id, OBJ_ID_LEN);
    be64_put(v + OBJ_ID_LEN, i->version);
    if ((rc = store_batch_put(b, k, KEY_BUNDLE_LEN, v, sizeof v))) return rc;
  }
  return repl__lookup_put_ops(b, ck);
}

int repl__pend_put_op(struct store_batch *b, const uint8_t *id, const uint8_t *dest) {
  uint8_t k[1 + OBJ_ID_LEN + OBJ_KEY_LEN];
  k[0] = REPL_T_PEND;
  memcpy(k + 1, id, OBJ_ID_LEN);
  memcpy(k + 1 + OBJ_ID_LEN, dest, OBJ_KEY_LEN);
  return store_batch_put(b, k, sizeof k, "", 0);
}

int repl__pend_del_op(struct store_batch *b, const uint8_t *id, const uint8_t *dest) {
  uint8_t k[1 + OBJ_ID_LEN + OBJ_KEY_LEN];
  k[0] = REPL_T_PEND;
  memcpy(k + 1, id, OBJ_ID_LEN);
  memcpy(k + 1 + OBJ_ID_LEN, dest, OBJ_KEY_LEN);
  return store_batch_del(b, k, sizeof k);
}

/* The dead marker of an item: 'd' id -> expires, and the item's own 'x' entry
 * (re-put after del_ops removed it in the same batch), so the GC drops the marker
 * when the item would have expired. */
static int dead_marker_ops(struct repl *r, struct store_batch *b, const uint8_t *id,
                           uint64_t expires_ms) {
  uint8_t k[KEY_EXP_LEN], v[8];
  r->maybe_dead = true;
  key_dead(k, id);
  be64_put(v, expires_ms);
  int rc = store_batch_put(b, k, KEY_DEAD_LEN, v, sizeof v);
  key_exp(k, expires_ms, id);
  if (!rc) rc = store_batch_put(b, k, KEY_EXP_LEN, "", 0);
  return rc;
}

/* ---- decisions before storing ------------------------------------------------- */

/* Objects one incoming object removes in its batch: the bundle it replaces, the item
 * its tombstone kills, or the other identities' aliases it outranks. */
struct kills {
  struct repl_rec *rec;
  uint8_t **val;
  size_t n, cap;
  bool tomb_unknown; /* a tombstone whose target is not held here */
};

static int kills_add(struct kills *k, uint8_t *val, const struct repl_rec *rec) {
  if (k->n == k->cap) {
    size_t ncap = k->cap ? 2 * k->cap : 1;
    struct repl_rec *nr = realloc(k->rec, ncap * sizeof *nr);
    if (nr) k->rec = nr;
    uint8_t **nv = realloc(k->val, ncap * sizeof *nv);
    if (nv) k->val = nv;
    if (!nr || !nv) {
      free(val);
      return MOMEDO_E_NOMEM;
    }
    k->cap = ncap;
  }
  k->rec[k->n] = *rec;
  k->val[k->n++] = val;
  return 0;
}

static void kills_free(struct kills *k) {
  for (size_t i = 0; i < k->n; i++) free(k->val[i]);
  free(k->rec);
  free(k->val);
}

/* The stored record of id, if any, onto the kill list. */
static int kill_id(struct repl *r, struct kills *k, const uint8_t *id) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  int rc = repl__rec_get(r, id, &val, &rec);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  return rc ? rc : kills_add(k, val, &rec);
}

struct first_tomb {
  uint8_t id[OBJ_ID_LEN];
  int found;
};

static int first_tomb_id(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct first_tomb *t = ctx;
  (void)v, (void)vn;
  if (kn != KEY_TOMB_LEN) return MOMEDO_E_CORRUPT;
  memcpy(t->id, k + 1 + OBJ_ID_LEN + OBJ_MAILBOX_LEN, OBJ_ID_LEN);
  t->found = 1;
  return 1;
}

static int has_dead_marker(struct repl *r, const uint8_t *id) {
  uint8_t k[KEY_DEAD_LEN];
  void *v = NULL;
  size_t vn = 0;
  key_dead(k, id);
  int rc = store_get(r->store, k, sizeof k, &v, &vn);
  free(v);
  return rc == MOMEDO_E_NOTFOUND ? 0 : rc ? rc : 1;
}

/* An item refused because of a tombstone that expires before it: mark it dead
 * until its own expiry, or it would come back once the tombstone is gone. */
static int mark_dead_on_refusal(struct repl *r, const struct obj_info *i,
                                const uint8_t tomb_id[OBJ_ID_LEN]) {
  uint8_t *val = NULL;
  struct repl_rec tomb;
  struct store_batch *b = NULL;
  int rc = repl__rec_get(r, tomb_id, &val, &tomb);
  if (rc) return rc == MOMEDO_E_NOTFOUND ? 0 : rc;
  if (tomb.info.expires_ms < i->expires_ms) {
    rc = (b = store_batch_new()) ? dead_marker_ops(r, b, i->id, i->expires_ms) : MOMEDO_E_NOMEM;
    if (!rc) rc = store_write(r->store, b);
    if (!rc) {
      r->st.dead_markers++;
      if (i->expires_ms < r->next_expiry_ms) r->next_expiry_ms = i->expires_ms;
    }
  }
  store_batch_free(b);
  free(val);
  return rc;
}

/* Dead: a tombstone for this item signed for the item's own mailbox (a tombstone
 * from another mailbox must not kill a group's item), or a dead marker. */
static int item_decide(struct repl *r, const struct obj_info *i) {
  uint8_t lo[KEY_TOMB_LEN], hi[KEY_TOMB_LEN];
  struct first_tomb t = {.found = 0};
  int rc = r->maybe_dead ? has_dead_marker(r, i->id) : 0;
  if (rc) return rc < 0 ? rc : MOMEDO_E_DEAD;
  if (!r->maybe_tombs) return 0;
  key_tomb(lo, i->id, i->mailbox, NULL);
  size_t hn = prefix_end(hi, lo, 1 + OBJ_ID_LEN + OBJ_MAILBOX_LEN);
  rc = store_iter(r->store, lo, 1 + OBJ_ID_LEN + OBJ_MAILBOX_LEN, hi, hn, first_tomb_id, &t);
  if (rc < 0) return rc;
  if (!t.found) return 0;
  rc = mark_dead_on_refusal(r, i, t.id);
  return rc ? rc : MOMEDO_E_DEAD;
}

/* Does the stored bundle old (a record of the same identity) outrank the incoming one?
 * A revocation is final: it outranks every bundle that is not revoked, whatever the
 * versions, and nothing that is not revoked outranks it (so a thief holding the
 * identity key can neither undo it nor outrun it with a huge version). Otherwise the
 * higher version wins; equal versions: the larger ID, so every node keeps the same. */
static int bundle_outranks(const struct obj_info *old, const struct obj_info *in) {
  if (old->revoked != in->revoked) return old->revoked;
  if (in->version != old->version) return in->version < old->version;
  return memcmp(in->id, old->id, OBJ_ID_LEN) <= 0;
}

/* An incoming bundle that does not keep every device the stored one removed for good
 * is refused (E_FORK): a later version may not bring a removed device back. */
static int bundle_keeps_removed(const struct obj_checked *ck, const struct repl_rec *old) {
  if (ck->info.revoked || old->info.revoked) return 0;
  struct obj_checked *o = malloc(sizeof *o);
  if (!o) return MOMEDO_E_NOMEM;
  int rc = obj_read(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, old->data, old->len, o);
  if (rc == 0) rc = obj_bundle_keeps_removed(&ck->bundle, &o->bundle);
  else rc = MOMEDO_E_CORRUPT;
  free(o);
  return rc;
}

/* A bundle the stored one outranks is refused (E_SUPERSEDED); one that outranks it
 * replaces it (the stored record goes onto the kill list). */
static int bundle_decide(struct repl *r, const struct obj_checked *ck, struct kills *k) {
  const struct obj_info *i = &ck->info;
  uint8_t key[KEY_BUNDLE_LEN], *val = NULL;
  void *v = NULL;
  size_t vn = 0;
  struct repl_rec old;
  key_bundle(key, i->key);
  int rc = store_get(r->store, key, sizeof key, &v, &vn);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  if (vn != OBJ_ID_LEN + 8) {
    free(v);
    return MOMEDO_E_CORRUPT;
  }
  uint8_t old_id[OBJ_ID_LEN];
  memcpy(old_id, v, OBJ_ID_LEN);
  free(v);
  rc = repl__rec_get(r, old_id, &val, &old);
  if (rc == MOMEDO_E_NOTFOUND) return 0; /* the 'b' entry outlived its record */
  if (rc) return rc;
  if (bundle_outranks(&old.info, i)) rc = MOMEDO_E_SUPERSEDED;
  else rc = bundle_keeps_removed(ck, &old);
  if (rc) {
    free(val);
    return rc;
  }
  return kills_add(k, val, &old);
}

static int tomb_count(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  size_t *n = ctx;
  (void)k, (void)kn, (void)v, (void)vn;
  return ++*n >= REPL_TOMBS_PER_TARGET_MAX ? 1 : 0;
}

/* A tombstone kills its target if the target is stored and in the same mailbox. At most
 * REPL_TOMBS_PER_TARGET_MAX per (target, mailbox); one whose target is not held is
 * marked for a short local life (repl__ingest_checked). */
static int tomb_decide(struct repl *r, const struct obj_info *i, struct kills *k) {
  uint8_t *val = NULL, lo[KEY_TOMB_LEN], hi[KEY_TOMB_LEN];
  struct repl_rec old;
  size_t held = 0;
  int rc;
  if (r->maybe_tombs) {
    key_tomb(lo, i->target_id, i->mailbox, NULL);
    size_t hn = prefix_end(hi, lo, 1 + OBJ_ID_LEN + OBJ_MAILBOX_LEN);
    rc = store_iter(r->store, lo, 1 + OBJ_ID_LEN + OBJ_MAILBOX_LEN, hi, hn, tomb_count, &held);
    if (rc < 0) return rc;
    if (held >= REPL_TOMBS_PER_TARGET_MAX) return MOMEDO_E_SUPERSEDED;
  }
  rc = repl__rec_get(r, i->target_id, &val, &old);
  if (rc == MOMEDO_E_NOTFOUND) {
    k->tomb_unknown = true;
    return 0;
  }
  if (rc) return rc;
  if (!has_mailbox_index(old.info.kind) ||
      memcmp(old.info.mailbox, i->mailbox, OBJ_MAILBOX_LEN) != 0) {
    free(val);
    return 0;
  }
  return kills_add(k, val, &old);
}

static int alias_decide(struct repl *r, const struct obj_info *i, uint64_t now_ms,
                        struct kills *k) {
  uint8_t(*victims)[OBJ_ID_LEN] = malloc((size_t)REPL_ALIAS_SCAN_MAX * OBJ_ID_LEN);
  size_t n = 0;
  if (!victims) return MOMEDO_E_NOMEM;
  int rc = repl__alias_decide(r, i, now_ms, victims, &n);
  for (size_t j = 0; rc == 0 && j < n; j++) rc = kill_id(r, k, victims[j]);
  free(victims);
  return rc;
}

static int ingest_decide(struct repl *r, const struct obj_checked *ck, uint64_t now_ms,
                         struct kills *k) {
  const struct obj_info *i = &ck->info;
  switch (i->kind) {
  case MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM:
  case MOMEDO__OBJECT_KIND__OBJ_CHUNK:
    return item_decide(r, i);
  case MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE:
    return bundle_decide(r, ck, k);
  case MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE:
    return tomb_decide(r, i, k);
  case MOMEDO__OBJECT_KIND__OBJ_ALIAS:
    return alias_decide(r, i, now_ms, k);
  default:
    return 0;
  }
}

int repl__fresh_add(struct repl *r, const struct obj_info *i, const uint8_t *data, size_t len,
                    struct repl_peer *from) {
  if (r->nfresh == r->fresh_cap) {
    size_t ncap = r->fresh_cap ? r->fresh_cap * 2 : 16;
    struct repl_fresh *nf = realloc(r->fresh, ncap * sizeof *nf);
    if (!nf) return MOMEDO_E_NOMEM;
    r->fresh = nf;
    r->fresh_cap = ncap;
  }
  struct repl_fresh *f = &r->fresh[r->nfresh++];
  *f = (struct repl_fresh){.kind = i->kind, .version = i->version, .data = data, .len = len,
                           .from_peer = from ? from->id : 0, .from_local = from == NULL};
  memcpy(f->id, i->id, OBJ_ID_LEN);
  memcpy(f->key, i->key, OBJ_KEY_LEN);
  return 0;
}

bool repl__scoped(const struct repl *r) { return r->cfg.scope == REPL_SCOPE_SCOPED; }

/* Held objects by role (node records are counted apart). */
static void role_count(struct repl *r, enum repl_role role, size_t len, bool add) {
  uint64_t *n = role == REPL_ROLE_TRANSIT ? &r->st.transit_objects
                : role == REPL_ROLE_CACHED ? &r->st.cached_objects
                                           : &r->st.dest_objects;
  uint64_t *by = role == REPL_ROLE_TRANSIT ? &r->st.transit_bytes
                 : role == REPL_ROLE_CACHED ? &r->st.cached_bytes
                                            : &r->st.dest_bytes;
  if (add) (*n)++, *by += len;
  else (*n)--, *by -= len;
}

/* The scope-1 sets of the up peers among an object's destinations. */
static int shared_idx(struct repl *r, const uint8_t *id, const uint8_t *dests, uint32_t n,
                      bool add) {
  for (size_t j = 0; j < r->npeers; j++) {
    struct repl_peer *p = &r->peers[j];
    bool hit = false;
    for (uint32_t d = 0; d < n && !hit; d++)
      hit = memcmp(dests + (size_t)d * OBJ_KEY_LEN, p->key, OBJ_KEY_LEN) == 0;
    if (!hit) continue;
    if (!add) repl__idx_remove(&p->sidx, id);
    else {
      int rc = repl__idx_insert(&p->sidx, id);
      if (rc < 0) return rc;
    }
  }
  return 0;
}

/* After the batch that removed rec is durable. */
static void note_removed(struct repl *r, const struct repl_rec *rec) {
  const struct obj_info *i = &rec->info;
  repl__pend_forget(r, i->id);
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) {
    if (repl__idx_remove(&r->ridx, i->id)) {
      r->st.records--;
      repl__node_record_gone(r, i->key, i->version);
    }
    return;
  }
  if (repl__idx_remove(&r->idx, i->id) && i->kind >= 1 && i->kind <= 5) {
    r->st.objects_by_kind[i->kind]--;
    role_count(r, rec->role, rec->len, false);
  }
  if (rec->global) repl__idx_remove(&r->gidx, i->id);
  else if (rec->role == REPL_ROLE_DEST) (void)shared_idx(r, i->id, rec->dests, rec->n_dests, false);
  if (has_mailbox_index(i->kind) && indexed(rec->role))
    repl__mc_sub(&r->mcount, i->mailbox, rec->len);
}

static int removed_action(struct repl *r, const struct repl_rec *rec) {
  struct repl_action a;
  if (rec->info.kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) return 0;
  memset(&a, 0, sizeof a);
  a.kind = REPL_ACT_REMOVED;
  a.info = rec->info;
  a.role = rec->role;
  return repl__act_push(r, &a);
}

/* In memory, after the batch storing a new object is durable. */
static int commit_indexes(struct repl *r, const struct obj_checked *ck, const struct place *pl,
                          size_t len) {
  const struct obj_info *i = &ck->info;
  int rc;
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) {
    if ((rc = repl__idx_insert(&r->ridx, i->id)) < 0) return rc;
    r->st.records++;
    return 0;
  }
  if ((rc = repl__idx_insert(&r->idx, i->id)) < 0) return rc;
  r->st.objects_by_kind[i->kind]++;
  role_count(r, pl->role, len, true);
  if (repl__scoped(r) && pl->global && (rc = repl__idx_insert(&r->gidx, i->id)) < 0) return rc;
  if (repl__scoped(r) && !pl->global && pl->role == REPL_ROLE_DEST &&
      (rc = shared_idx(r, i->id, &ck->dests[0][0], ck->n_dests, true)))
    return rc;
  for (uint32_t j = 0; j < pl->npend; j++)
    if ((rc = repl__pend_add(r, i->id, pl->pend[j], pl->from_peer, pl->hops, r->last_now_ms,
                             (uint8_t)pl->role)))
      return rc;
  return 0;
}

/* After the batch is durable: index, counters, actions. */
static int ingest_commit(struct repl *r, const struct obj_checked *ck, const struct place *pl,
                         uint64_t seq, const struct kills *k, const uint8_t *data, size_t len,
                         struct repl_peer *from) {
  const struct obj_info *i = &ck->info;
  struct repl_action a;
  int rc = commit_indexes(r, ck, pl, len);
  if (rc) return rc;
  if (has_mailbox_index(i->kind) && indexed(pl->role)) repl__mc_add(&r->mcount, i->mailbox, len);
  if (seq) r->next_seq = seq + 1;
  if (i->expires_ms && i->expires_ms < r->next_expiry_ms) r->next_expiry_ms = i->expires_ms;
  if (from) r->st.stored_remote++;
  else r->st.stored_local++;
  /* A record first: the one it supersedes then finds itself replaced, not gone. */
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD && (rc = repl__node_record_set(r, i->id, data, len)))
    return rc;
  for (size_t j = 0; j < k->n; j++) {
    note_removed(r, &k->rec[j]);
    if (i->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) continue;
    if (i->kind == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE) {
      r->st.removed_tombstoned++;
      if (k->rec[j].info.expires_ms > i->expires_ms) r->st.dead_markers++;
    } else {
      r->st.removed_superseded++;
    }
    if ((rc = removed_action(r, &k->rec[j]))) return rc;
  }
  if (i->kind != MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) {
    memset(&a, 0, sizeof a);
    a.kind = REPL_ACT_STORED;
    a.seq = seq;
    a.info = *i;
    a.role = pl->role;
    if ((rc = repl__act_push(r, &a))) return rc;
  }
  if (pl->npend) r->custody_dirty = true;
  if (repl__scoped(r) && pl->role == REPL_ROLE_DEST && !pl->global &&
      (i->kind == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE || i->kind == MOMEDO__OBJECT_KIND__OBJ_ALIAS))
    repl__summary_changed(r, from == NULL);
  /* Flood: everything to every peer; scoped: global scope (records too) only, the rest
   * moves by custody. */
  if (!repl__scoped(r) || pl->global) return repl__fresh_add(r, i, data, len, from);
  return 0;
}

/* The batch for one object: itself, what it removes, and for a tombstone that
 * dies before its item, the item's dead marker. */
static int ingest_batch(struct repl *r, struct store_batch *b, const struct obj_checked *ck,
                        const struct place *pl, const uint8_t *data, size_t len, uint64_t seq,
                        const struct kills *k) {
  const struct obj_info *i = &ck->info;
  int rc = put_ops(r, b, ck, pl, data, len, seq);
  for (size_t j = 0; rc == 0 && j < k->n; j++) {
    const struct obj_info *old = &k->rec[j].info;
    rc = del_ops(r, b, &k->rec[j]);
    if (rc == 0 && i->kind == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE &&
        old->expires_ms > i->expires_ms && indexed(k->rec[j].role))
      rc = dead_marker_ops(r, b, old->id, old->expires_ms);
  }
  return rc;
}

/* Role and owed destinations of a checked object (docs/replication.md, "Scoped
 * delivery"). E_UNEXPECTED: not this node's to hold (a record in flood mode, or an
 * object for other nodes that arrived without custody or with none that applies). */
static int place_decide(struct repl *r, const struct obj_checked *ck, const struct repl_peer *from,
                        const struct repl_grant_in *g, struct place *pl) {
  memset(pl, 0, sizeof *pl);
  pl->role = REPL_ROLE_DEST;
  pl->global = ck->n_dests == 0;
  if (ck->info.kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD)
    return repl__scoped(r) ? 0 : MOMEDO_E_UNEXPECTED;
  if (!repl__scoped(r) || pl->global) return 0;
  if (!obj_dests_has(ck, r->cfg.self_key)) pl->role = REPL_ROLE_TRANSIT;
  if (g) {
    for (size_t j = 0; j < g->n && pl->npend < OBJ_DEST_NODES_MAX; j++) {
      const uint8_t *d = g->dests + j * OBJ_KEY_LEN;
      if (!is_self(r, d) && obj_dests_has(ck, d)) memcpy(pl->pend[pl->npend++], d, OBJ_KEY_LEN);
    }
    pl->hops = g->hops_left ? g->hops_left - 1 : 0;
    pl->from_peer = from ? from->id : 0;
  } else if (!from) {
    for (uint32_t j = 0; j < ck->n_dests; j++)
      if (!is_self(r, ck->dests[j])) memcpy(pl->pend[pl->npend++], ck->dests[j], OBJ_KEY_LEN);
    pl->hops = r->cfg.custody_hops_max;
  }
  return pl->role == REPL_ROLE_TRANSIT && pl->npend == 0 ? MOMEDO_E_UNEXPECTED : 0;
}

static int record_decide(struct repl *r, const struct obj_info *i, struct kills *k) {
  uint8_t old[OBJ_ID_LEN];
  bool has_old = false;
  int rc = repl__record_decide(r, i, old, &has_old);
  if (rc) return rc;
  return has_old ? kill_id(r, k, old) : 0;
}

static int place_and_decide(struct repl *r, const struct obj_checked *ck,
                            const struct repl_peer *from, const struct repl_grant_in *g,
                            uint64_t now_ms, struct place *pl, struct kills *k) {
  const struct obj_info *i = &ck->info;
  int rc = place_decide(r, ck, from, g, pl);
  if (rc) return rc;
  if (i->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) return record_decide(r, i, k);
  /* An object passing through decides nothing about what this node serves. */
  if (pl->role == REPL_ROLE_TRANSIT && (i->kind == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE ||
                                        i->kind == MOMEDO__OBJECT_KIND__OBJ_ALIAS))
    return 0;
  return ingest_decide(r, ck, now_ms, k);
}

/* obj_check's dedup question: is this ID live here? */
static int seen_live(void *ctx, const uint8_t id[static OBJ_ID_LEN]) {
  struct repl *r = ctx;
  return repl__idx_has(&r->idx, id) || repl__ridx_has(r, id);
}

/* A node record refused for what it is (not a duplicate, the store or memory). */
static void note_refused(struct repl *r, Momedo__ObjectKind kind, int rc) {
  if (kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD && rc != MOMEDO_E_EXISTS &&
      momedo_status_kind(rc) != MOMEDO_KIND_STORE && rc != MOMEDO_E_NOMEM)
    r->st.records_refused++;
}

int repl__ingest(struct repl *r, Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                 uint64_t now_ms, struct repl_peer *from, const struct repl_grant_in *g,
                 struct obj_info *info) {
  if (len > OBJ_BYTES_MAX) return MOMEDO_E_TOOBIG;
  struct obj_checked *ck = malloc(sizeof *ck);
  if (!ck) return MOMEDO_E_NOMEM;
  /* One decode: the ID, the dedup (a known object costs one hash, no signature
   * check), then every check and the fields the indexes need. */
  int rc = r->cfg.check ? r->cfg.check(r->cfg.check_ctx, kind, data, len, now_ms, seen_live, r, ck)
                        : obj_check(kind, data, len, now_ms, seen_live, r, ck);
  if (rc) note_refused(r, kind, rc);
  else rc = repl__ingest_checked(r, ck, data, len, now_ms, from, g, info);
  free(ck);
  return rc;
}

int repl__ingest_checked(struct repl *r, const struct obj_checked *ck, const uint8_t *data,
                         size_t len, uint64_t now_ms, struct repl_peer *from,
                         const struct repl_grant_in *g, struct obj_info *info) {
  struct place *pl = malloc(sizeof *pl);
  struct kills k = {0};
  struct store_batch *b = NULL;
  struct obj_checked *short_ck = NULL;
  int rc;
  /* From a neighbor: signed by a node known here, within its signer's budget. */
  if (from && (rc = repl__signer_ok(r, from, &ck->info, len, now_ms)) != 0) {
    free(pl);
    return rc;
  }
  if (r->rec_mem && ck->info.kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) {
    /* Held in the shared table only: nothing to write (repl.h, struct repl_config). */
    rc = pl ? repl__record_mem(r, ck, data, len, now_ms, from) : MOMEDO_E_NOMEM;
    if (rc) note_refused(r, ck->info.kind, rc);
    if (rc == 0 && info) *info = ck->info;
    free(pl);
    return rc;
  }
  rc = pl ? place_and_decide(r, ck, from, g, now_ms, pl, &k) : MOMEDO_E_NOMEM;
  if (rc) {
    if (pl) note_refused(r, ck->info.kind, rc);
    goto out;
  }
  if (k.tomb_unknown && ck->info.expires_ms > now_ms + REPL_TOMB_UNKNOWN_TTL_MS) {
    /* Kept here with a shorter life than it was signed for (the record's header and the
     * expiry index say when; the object's bytes are unchanged). */
    if (!(short_ck = malloc(sizeof *short_ck))) {
      rc = MOMEDO_E_NOMEM;
      goto out;
    }
    *short_ck = *ck;
    short_ck->info.expires_ms = now_ms + REPL_TOMB_UNKNOWN_TTL_MS;
    ck = short_ck;
    r->st.tombs_short++;
  }
  const struct obj_info *i = &ck->info;
  uint64_t seq = has_mailbox_index(i->kind) && indexed(pl->role) ? r->next_seq : 0;
  /* Room for its mailbox counter now: after the write nothing may fail. */
  if (seq && (rc = repl__mc_reserve(&r->mcount))) goto out;
  if (seq) repl__mc_prefetch(&r->mcount, i->mailbox);
  b = store_batch_new();
  if (!b) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  if ((rc = ingest_batch(r, b, ck, pl, data, len, seq, &k))) goto out;
  if ((rc = store_write(r->store, b))) goto out;
  r->last_now_ms = now_ms;
  rc = ingest_commit(r, ck, pl, seq, &k, data, len, from);
  if (rc == 0 && info) *info = *i;
out:
  store_batch_free(b);
  kills_free(&k);
  free(pl);
  free(short_ck);
  return rc;
}

int repl__remove(struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  struct store_batch *b = NULL;
  int rc = repl__rec_get(r, id, &val, &rec);
  if (rc) return rc == MOMEDO_E_NOTFOUND ? 0 : rc;
  if (!(b = store_batch_new())) rc = MOMEDO_E_NOMEM;
  if (!rc) rc = del_ops(r, b, &rec);
  if (!rc) rc = store_write(r->store, b);
  if (!rc) {
    note_removed(r, &rec);
    rc = removed_action(r, &rec);
  }
  store_batch_free(b);
  free(val);
  return rc;
}

/* ---- expiry --------------------------------------------------------------------- */

struct gc_ctx {
  uint8_t (*keys)[KEY_EXP_LEN];
  size_t n;
};

static int gc_collect(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct gc_ctx *g = ctx;
  (void)v, (void)vn;
  if (kn != KEY_EXP_LEN) return MOMEDO_E_CORRUPT;
  memcpy(g->keys[g->n++], k, KEY_EXP_LEN);
  return g->n == REPL_GC_BATCH_MAX ? 1 : 0;
}

static int first_exp(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  (void)v, (void)vn;
  if (kn != KEY_EXP_LEN) return MOMEDO_E_CORRUPT;
  *(uint64_t *)ctx = be64_get(k + 1);
  return 1;
}

static int refresh_next_expiry(struct repl *r) {
  uint8_t lo[1] = {REPL_T_EXP}, hi[1] = {REPL_T_EXP + 1};
  uint64_t t = UINT64_MAX;
  int rc = store_iter(r->store, lo, 1, hi, 1, first_exp, &t);
  if (rc < 0) return rc;
  r->next_expiry_ms = t;
  return 0;
}

static int gc_one(struct repl *r, const uint8_t *xkey) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  struct store_batch *b = NULL;
  int rc = repl__rec_get(r, xkey + 9, &val, &rec);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  if (!(b = store_batch_new())) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  if (rc == MOMEDO_E_NOTFOUND) {
    /* The expiry entry of a dead marker (or, never written by this code but cheap
     * to heal, of nothing): both go, or GC would find it again on every tick. */
    uint8_t kd[KEY_DEAD_LEN];
    key_dead(kd, xkey + 9);
    rc = store_batch_del(b, xkey, KEY_EXP_LEN);
    if (!rc) rc = store_batch_del(b, kd, KEY_DEAD_LEN);
    if (!rc) rc = store_write(r->store, b);
    goto out;
  }
  if ((rc = del_ops(r, b, &rec))) goto out;
  if ((rc = store_write(r->store, b))) goto out;
  note_removed(r, &rec);
  if (rec.info.kind != MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) r->st.removed_expired++;
  rc = removed_action(r, &rec);
out:
  store_batch_free(b);
  free(val);
  return rc;
}

int repl__gc(struct repl *r, uint64_t now_ms) {
  r->gc_more = false;
  if (now_ms < r->next_expiry_ms) return 0;
  uint8_t lo[KEY_EXP_LEN], hi[KEY_EXP_LEN];
  struct gc_ctx g = {.keys = malloc((size_t)REPL_GC_BATCH_MAX * KEY_EXP_LEN), .n = 0};
  if (!g.keys) return MOMEDO_E_NOMEM;
  key_exp(lo, 0, NULL);
  key_exp(hi, now_ms + 1, NULL);
  int rc = store_iter(r->store, lo, 9, hi, 9, gc_collect, &g);
  if (rc < 0) goto out;
  rc = 0;
  for (size_t i = 0; i < g.n && rc == 0; i++) rc = gc_one(r, g.keys[i]);
  if (rc) goto out;
  r->gc_more = g.n == REPL_GC_BATCH_MAX;
  rc = refresh_next_expiry(r);
out:
  free(g.keys);
  return rc;
}

/* ---- loading ----------------------------------------------------------------- */

struct load_ctx {
  struct repl *r;
  struct store_batch *mig; /* upgrade writes (layout < REPL_LAYOUT_VERSION), or NULL */
  bool relookup;           /* layout 1: rebuild the lookup indexes */
  uint64_t seq_max;        /* largest mailbox seq of a stored object */
};

static int migrate_flush(struct load_ctx *c, size_t at_least) {
  if (!c->mig || store_batch_count(c->mig) < at_least) return 0;
  int rc = store_write(c->r->store, c->mig);
  store_batch_clear(c->mig);
  return rc;
}

/* Layout 1: the lookup entries of a stored object, from its bytes (checked when they
 * were stored; obj_read reads the fields without verifying signatures again). */
static int relookup(struct load_ctx *c, const struct repl_rec *rec) {
  struct obj_checked ck;
  if (obj_read(rec->info.kind, rec->data, rec->len, &ck)) return MOMEDO_E_CORRUPT;
  ck.info = rec->info;
  return repl__lookup_put_ops(c->mig, &ck);
}

static int load_obj(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct load_ctx *c = ctx;
  struct repl *r = c->r;
  struct repl_rec rec;
  if (kn != KEY_OBJ_LEN) return MOMEDO_E_CORRUPT;
  int rc = rec_parse(k + 1, v, vn, &rec);
  if (rc) return rc;
  if (rec.info.kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) {
    if ((rc = repl__idx_insert(&r->ridx, k + 1)) < 0) return rc;
    r->st.records++;
    return repl__node_record_set(r, k + 1, rec.data, rec.len);
  }
  if ((rc = repl__idx_insert(&r->idx, k + 1)) < 0) return rc;
  r->st.objects_by_kind[rec.info.kind]++;
  role_count(r, rec.role, rec.len, true);
  if (repl__scoped(r) && rec.global && (rc = repl__idx_insert(&r->gidx, k + 1)) < 0) return rc;
  if (has_mailbox_index(rec.info.kind) && indexed(rec.role)) {
    if ((rc = repl__mc_reserve(&r->mcount))) return rc;
    repl__mc_add(&r->mcount, rec.info.mailbox, rec.len);
    if (rec.seq > c->seq_max) c->seq_max = rec.seq;
  }
  if (c->relookup && (rc = relookup(c, &rec))) return rc;
  return migrate_flush(c, REPL_MIGRATE_BATCH_OPS);
}

/* Layout 2 -> 3: the persisted mailbox counters go (they live in memory now). */
static int drop_mcount(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct load_ctx *c = ctx;
  (void)v, (void)vn;
  int rc = store_batch_del(c->mig, k, kn);
  return rc ? rc : migrate_flush(c, REPL_MIGRATE_BATCH_OPS);
}

static int any_key(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  (void)k, (void)kn, (void)v, (void)vn;
  *(bool *)ctx = true;
  return 1;
}

/* Is there any key in table tag? */
static int table_used(struct repl *r, uint8_t tag, bool *out) {
  uint8_t lo[1] = {tag}, hi[1] = {(uint8_t)(tag + 1)};
  *out = false;
  int rc = store_iter(r->store, lo, 1, hi, 1, any_key, out);
  return rc < 0 ? rc : 0;
}

static int load_u64(struct repl *r, const uint8_t *key, size_t kn, size_t vlen, uint64_t *out) {
  void *v = NULL;
  size_t vn = 0;
  int rc = store_get(r->store, key, kn, &v, &vn);
  if (rc) return rc;
  if (vn != vlen) rc = MOMEDO_E_CORRUPT;
  else *out = vlen == 8 ? be64_get(v) : be32_get(v);
  free(v);
  return rc;
}

/* The upgrade's last steps: old counters out, then the version that says the
 * store is complete. */
static int migrate_finish(struct load_ctx *c) {
  uint8_t lo[1] = {REPL_T_MCOUNT}, hi[1] = {REPL_T_MCOUNT + 1}, lv[4];
  int rc = store_iter(c->r->store, lo, 1, hi, 1, drop_mcount, c);
  if (rc < 0) return rc;
  if ((rc = migrate_flush(c, 1))) return rc;
  be32_put(lv, REPL_LAYOUT_VERSION);
  return store_put1(c->r->store, key_meta_layout, sizeof key_meta_layout, lv, 4);
}

int repl__load(struct repl *r) {
  uint8_t lo[1] = {REPL_T_OBJ}, hi[1] = {REPL_T_OBJ + 1};
  uint64_t layout = 1, seq = 1;
  struct load_ctx c = {.r = r, .mig = NULL};
  int rc = load_u64(r, key_meta_layout, sizeof key_meta_layout, 4, &layout);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  if (layout > REPL_LAYOUT_VERSION) return MOMEDO_E_VERSION;
  if (layout < REPL_LAYOUT_VERSION && !(c.mig = store_batch_new())) return MOMEDO_E_NOMEM;
  c.relookup = layout < 2;
  rc = store_iter(r->store, lo, 1, hi, 1, load_obj, &c);
  /* The indexes first (flushed on the way), then the rest of the upgrade. */
  if (rc >= 0 && c.mig) rc = migrate_finish(&c);
  store_batch_free(c.mig);
  if (rc < 0) return rc;
  rc = load_u64(r, key_meta_seq, sizeof key_meta_seq, 8, &seq);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  r->next_seq = seq > c.seq_max ? seq : c.seq_max + 1;
  if ((rc = table_used(r, REPL_T_TOMB, &r->maybe_tombs)) ||
      (rc = table_used(r, REPL_T_DEAD, &r->maybe_dead)) || (rc = repl__pend_load(r)))
    return rc;
  return refresh_next_expiry(r);
}
