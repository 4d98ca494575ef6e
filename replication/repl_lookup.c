/* replication/repl_lookup.c — the lookup indexes replication keeps beside the objects:
 * user-ID bits -> identity key and device mailboxes (from key bundles), alias string
 * -> alias objects and identity -> alias objects (from aliases). Their entries are
 * added to and removed from the same atomic batch as the object they index (called
 * from repl_store.c), so a crash never leaves one without the other. Also the alias
 * collision rule and the queries the node asks. Reads and writes only struct store. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "ids.h"
#include "repl_int.h"

#define ALIAS_PAD OBJ_ALIAS_CHARS_MAX
#define KEY_UID_LEN (1 + IDS_USER_ID_BYTES + OBJ_KEY_LEN)
#define KEY_ALIAS_LEN (1 + ALIAS_PAD + OBJ_ID_LEN)
#define KEY_ALIAS_OF_LEN (1 + OBJ_KEY_LEN + OBJ_ID_LEN)
#define KEY_DEVMBOX_LEN (1 + OBJ_MAILBOX_LEN)
#define VAL_ALIAS_LEN (OBJ_KEY_LEN + 8 + 8)
#define VAL_ALIAS_OF_LEN (ALIAS_PAD + 8 + 8)

/* ---- keys ------------------------------------------------------------------ */

/* alias NUL-padded to ALIAS_PAD bytes; E_INVAL if it is not 1..ALIAS_PAD chars. */
static int alias_pad(uint8_t out[ALIAS_PAD], const char *alias) {
  size_t n = strnlen(alias, ALIAS_PAD + 1);
  if (n == 0 || n > ALIAS_PAD) return MOMEDO_E_INVAL;
  memset(out, 0, ALIAS_PAD);
  memcpy(out, alias, n);
  return 0;
}

/* id NULL: the prefix only (k then needs 1 + ALIAS_PAD bytes). */
static void key_alias(uint8_t *k, const uint8_t pad[ALIAS_PAD],
                      const uint8_t *id) {
  k[0] = REPL_T_ALIAS;
  memcpy(k + 1, pad, ALIAS_PAD);
  if (id) memcpy(k + 1 + ALIAS_PAD, id, OBJ_ID_LEN);
}

static void key_alias_of(uint8_t *k, const uint8_t *ikey, const uint8_t *id) {
  k[0] = REPL_T_ALIAS_OF;
  memcpy(k + 1, ikey, OBJ_KEY_LEN);
  if (id) memcpy(k + 1 + OBJ_KEY_LEN, id, OBJ_ID_LEN);
}

/* The smallest key above every key that starts with prefix[0..n) (n >= 1; the
 * first byte is a table tag < 0xff, so the result always exists). */
static size_t above(uint8_t *hi, const uint8_t *prefix, size_t n) {
  memcpy(hi, prefix, n);
  while (n > 1 && hi[n - 1] == 0xff) n--;
  hi[n - 1]++;
  return n;
}

/* ---- batch operations ------------------------------------------------------ */

static int bundle_put_ops(struct store_batch *b, const struct obj_checked *ck) {
  const struct obj_info *i = &ck->info;
  uint8_t k[KEY_UID_LEN];
  k[0] = REPL_T_USERID;
  int rc = ids_user_id_bits(k + 1, i->key);
  if (rc) return rc;
  memcpy(k + 1 + IDS_USER_ID_BYTES, i->key, OBJ_KEY_LEN);
  if ((rc = store_batch_put(b, k, sizeof k, "", 0))) return rc;
  /* Device mailboxes are private to their device (node__mailbox_access). */
  for (uint32_t d = 0; rc == 0 && d < ck->bundle.n_devices; d++) {
    uint8_t km[KEY_DEVMBOX_LEN];
    km[0] = REPL_T_DEVMBOX;
    rc = obj_device_mailbox(km + 1, ck->bundle.device_key[d]);
    if (rc == 0) rc = store_batch_put(b, km, sizeof km, "", 0);
  }
  return rc;
}

static int alias_put_ops(struct store_batch *b, const struct obj_info *i) {
  uint8_t pad[ALIAS_PAD], k[KEY_ALIAS_OF_LEN], v[VAL_ALIAS_LEN];
  _Static_assert(KEY_ALIAS_OF_LEN >= KEY_ALIAS_LEN && VAL_ALIAS_LEN >= VAL_ALIAS_OF_LEN,
                 "one buffer for both entries");
  int rc = alias_pad(pad, i->alias);
  if (rc) return rc;
  key_alias(k, pad, i->id);
  memcpy(v, i->key, OBJ_KEY_LEN);
  be64_put(v + OBJ_KEY_LEN, i->created_ms);
  be64_put(v + OBJ_KEY_LEN + 8, i->expires_ms);
  if ((rc = store_batch_put(b, k, KEY_ALIAS_LEN, v, VAL_ALIAS_LEN))) return rc;
  key_alias_of(k, i->key, i->id);
  memcpy(v, pad, ALIAS_PAD);
  be64_put(v + ALIAS_PAD, i->created_ms);
  be64_put(v + ALIAS_PAD + 8, i->expires_ms);
  return store_batch_put(b, k, KEY_ALIAS_OF_LEN, v, VAL_ALIAS_OF_LEN);
}

int repl__lookup_put_ops(struct store_batch *b, const struct obj_checked *ck) {
  if (ck->info.kind == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE) return bundle_put_ops(b, ck);
  if (ck->info.kind == MOMEDO__OBJECT_KIND__OBJ_ALIAS) return alias_put_ops(b, &ck->info);
  return 0;
}

/* A replaced bundle keeps its 'u' and 'v' entries: the identity key is the same and a
 * device mailbox stays private once it was one. Aliases drop both entries. */
int repl__lookup_del_ops(struct store_batch *b, const struct obj_info *i) {
  if (i->kind != MOMEDO__OBJECT_KIND__OBJ_ALIAS) return 0;
  uint8_t pad[ALIAS_PAD], k[KEY_ALIAS_OF_LEN];
  int rc = alias_pad(pad, i->alias);
  if (rc) return rc;
  key_alias(k, pad, i->id);
  if ((rc = store_batch_del(b, k, KEY_ALIAS_LEN))) return rc;
  key_alias_of(k, i->key, i->id);
  return store_batch_del(b, k, KEY_ALIAS_OF_LEN);
}

/* ---- alias entries of one string --------------------------------------------- */

struct alias_ent {
  uint8_t id[OBJ_ID_LEN];
  uint8_t ikey[OBJ_KEY_LEN];
  uint64_t created_ms, expires_ms;
};

struct alias_scan {
  struct alias_ent v[REPL_ALIAS_SCAN_MAX];
  size_t n;
  uint64_t now_ms;
  int full; /* more live entries than REPL_ALIAS_SCAN_MAX */
};

static int alias_scan_one(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct alias_scan *s = ctx;
  if (kn != KEY_ALIAS_LEN || vn != VAL_ALIAS_LEN) return MOMEDO_E_CORRUPT;
  uint64_t exp = be64_get(v + OBJ_KEY_LEN + 8);
  if (exp <= s->now_ms) return 0; /* dead already, waiting for the GC */
  if (s->n == REPL_ALIAS_SCAN_MAX) {
    s->full = 1;
    return 1;
  }
  struct alias_ent *e = &s->v[s->n++];
  memcpy(e->id, k + 1 + ALIAS_PAD, OBJ_ID_LEN);
  memcpy(e->ikey, v, OBJ_KEY_LEN);
  e->created_ms = be64_get(v + OBJ_KEY_LEN);
  e->expires_ms = exp;
  return 0;
}

/* Live alias objects for the string, into a malloc'ed scan (caller frees). */
static int alias_scan(struct repl *r, const char *alias, uint64_t now_ms,
                      struct alias_scan **out) {
  uint8_t pad[ALIAS_PAD], lo[1 + ALIAS_PAD], hi[1 + ALIAS_PAD];
  int rc = alias_pad(pad, alias);
  if (rc) return rc;
  struct alias_scan *s = calloc(1, sizeof *s);
  if (!s) return MOMEDO_E_NOMEM;
  s->now_ms = now_ms;
  key_alias(lo, pad, NULL);
  size_t hn = above(hi, lo, sizeof lo);
  rc = store_iter(r->store, lo, sizeof lo, hi, hn, alias_scan_one, s);
  if (rc < 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* Is (created a, id a) older than (created b, id b)? Ties by the smaller ID. */
static int older(uint64_t ca, const uint8_t *ia, uint64_t cb, const uint8_t *ib) {
  return ca < cb || (ca == cb && memcmp(ia, ib, OBJ_ID_LEN) < 0);
}

/* The identity a string names, and the object served: the newest live alias object
 * of the string, if every live object of it names the same identity. A string that
 * live objects of two identities hold (possible only between different issuing nodes,
 * repl__alias_decide) is contested and names nobody: NULL, as when none is live. */
static const struct alias_ent *alias_pick(const struct alias_scan *s) {
  const struct alias_ent *best = NULL;
  for (size_t j = 0; j < s->n; j++) {
    const struct alias_ent *e = &s->v[j];
    if (best && memcmp(e->ikey, best->ikey, OBJ_KEY_LEN) != 0) return NULL; /* contested */
    if (!best || older(best->created_ms, best->id, e->created_ms, e->id)) best = e;
  }
  return best;
}

/* The issuing node of a stored alias object (its signer); E_NOTFOUND if it is gone. */
static int alias_signer(struct repl *r, const uint8_t id[static OBJ_ID_LEN],
                        uint8_t signer[static OBJ_KEY_LEN]) {
  uint8_t *val = NULL;
  struct repl_rec rec;
  int rc = repl__rec_get(r, id, &val, &rec);
  if (rc) return rc;
  memcpy(signer, rec.info.signer, OBJ_KEY_LEN);
  free(val);
  return 0;
}

/* An alias string is scoped to its issuing node (issue 11, finding 2). Between alias
 * objects of one issuer that name different identities, the older (created_ms, ID)
 * keeps the string: a newer one is refused (E_SUPERSEDED), an older one removes the
 * newer ones (their IDs in victims) — that node's own collision, the same set on every
 * node whatever the arrival order. Objects of different issuers never remove or block
 * each other: a node backdating an alias can no longer delete another node's objects
 * or take its users' strings; a string two issuers give to different identities is
 * contested (alias_pick: nobody's), and the honest issuer draws a new one. */
int repl__alias_decide(struct repl *r, const struct obj_info *i, uint64_t now_ms,
                       uint8_t (*victims)[OBJ_ID_LEN], size_t *nvictims) {
  struct alias_scan *s = NULL;
  uint8_t signer[OBJ_KEY_LEN];
  int rc = alias_scan(r, i->alias, now_ms, &s);
  if (rc) return rc;
  *nvictims = 0;
  if (s->full) rc = MOMEDO_E_SUPERSEDED;
  for (size_t j = 0; rc == 0 && j < s->n; j++) {
    const struct alias_ent *e = &s->v[j];
    if (memcmp(e->ikey, i->key, OBJ_KEY_LEN) == 0) continue;
    if ((rc = alias_signer(r, e->id, signer)) == MOMEDO_E_NOTFOUND) {
      rc = 0;
      continue;
    }
    if (rc || memcmp(signer, i->signer, OBJ_KEY_LEN) != 0) continue; /* another issuer's */
    if (older(e->created_ms, e->id, i->created_ms, i->id))
      rc = MOMEDO_E_SUPERSEDED;
    else
      memcpy(victims[(*nvictims)++], e->id, OBJ_ID_LEN);
  }
  if (rc) *nvictims = 0;
  free(s);
  return rc;
}

/* ---- queries ------------------------------------------------------------------- */

int repl_alias_lookup(struct repl *r, const char *alias, uint64_t now_ms, struct obj_info *info,
                      uint8_t **data, size_t *len) {
  struct alias_scan *s = NULL;
  int rc = alias_scan(r, alias, now_ms, &s);
  if (rc) return rc == MOMEDO_E_INVAL ? MOMEDO_E_NOTFOUND : rc;
  const struct alias_ent *e = alias_pick(s);
  rc = e ? repl_get_object(r, e->id, now_ms, info, data, len) : MOMEDO_E_NOTFOUND;
  free(s);
  if (rc == MOMEDO_E_NOTFOUND) rc = repl__cache_find(r, REPL_LOOKUP_ALIAS, alias, info, data, len);
  return rc;
}

struct alias_of_ctx {
  struct repl *r;
  const uint8_t *ikey;
  uint64_t now_ms;
  uint8_t best_id[OBJ_ID_LEN];
  uint64_t best_created;
  int found, err;
  size_t seen;
};

static int alias_of_one(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct alias_of_ctx *c = vctx;
  char alias[ALIAS_PAD + 1];
  struct alias_scan *s = NULL;
  if (kn != KEY_ALIAS_OF_LEN || vn != VAL_ALIAS_OF_LEN) return MOMEDO_E_CORRUPT;
  if (++c->seen > REPL_ALIAS_SCAN_MAX) return 1;
  uint64_t created = be64_get(v + ALIAS_PAD), exp = be64_get(v + ALIAS_PAD + 8);
  const uint8_t *id = k + 1 + OBJ_KEY_LEN;
  if (exp <= c->now_ms || (c->found && older(created, id, c->best_created, c->best_id)))
    return 0;
  memcpy(alias, v, ALIAS_PAD);
  alias[ALIAS_PAD] = '\0';
  /* Only a string this identity owns counts. */
  int rc = alias_scan(c->r, alias, c->now_ms, &s);
  if (rc) return rc;
  const struct alias_ent *e = alias_pick(s);
  if (e && memcmp(e->ikey, c->ikey, OBJ_KEY_LEN) == 0) {
    memcpy(c->best_id, e->id, OBJ_ID_LEN);
    c->best_created = e->created_ms;
    c->found = 1;
  }
  free(s);
  return 0;
}

int repl_alias_of(struct repl *r, const uint8_t identity_key[static OBJ_KEY_LEN],
                  uint64_t now_ms, struct obj_info *info, uint8_t **data, size_t *len) {
  uint8_t lo[1 + OBJ_KEY_LEN], hi[1 + OBJ_KEY_LEN];
  struct alias_of_ctx c = {.r = r, .ikey = identity_key, .now_ms = now_ms};
  key_alias_of(lo, identity_key, NULL);
  size_t hn = above(hi, lo, sizeof lo);
  int rc = store_iter(r->store, lo, sizeof lo, hi, hn, alias_of_one, &c);
  if (rc < 0) return rc;
  if (!c.found) return MOMEDO_E_NOTFOUND;
  return repl_get_object(r, c.best_id, now_ms, info, data, len);
}

struct uid_ctx {
  uint8_t key[OBJ_KEY_LEN];
  int found;
};

static int uid_first(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct uid_ctx *u = vctx;
  (void)v, (void)vn;
  if (kn != KEY_UID_LEN) return MOMEDO_E_CORRUPT;
  memcpy(u->key, k + 1 + IDS_USER_ID_BYTES, OBJ_KEY_LEN);
  u->found = 1;
  return 1;
}

int repl_bundle_lookup_user_id(struct repl *r, const uint8_t bits[static IDS_USER_ID_BYTES],
                               struct obj_info *info, uint8_t **data, size_t *len) {
  uint8_t lo[1 + IDS_USER_ID_BYTES], hi[1 + IDS_USER_ID_BYTES];
  struct uid_ctx u = {.found = 0};
  lo[0] = REPL_T_USERID;
  memcpy(lo + 1, bits, IDS_USER_ID_BYTES);
  size_t hn = above(hi, lo, sizeof lo);
  int rc = store_iter(r->store, lo, sizeof lo, hi, hn, uid_first, &u);
  if (rc < 0) return rc;
  if (!u.found) return repl__cache_find(r, REPL_LOOKUP_USER_ID, bits, info, data, len);
  return repl_bundle_lookup(r, u.key, info, data, len);
}

int repl_is_device_mailbox(struct repl *r, const uint8_t mailbox[static OBJ_MAILBOX_LEN]) {
  uint8_t k[KEY_DEVMBOX_LEN];
  void *v = NULL;
  size_t vn = 0;
  k[0] = REPL_T_DEVMBOX;
  memcpy(k + 1, mailbox, OBJ_MAILBOX_LEN);
  int rc = store_get(r->store, k, sizeof k, &v, &vn);
  free(v);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  return rc ? rc : 1;
}
