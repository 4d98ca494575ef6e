/* client/core/group_record.c — one signed membership record on its own: the roster in flat
 * arrays, canonical encoding, signing, parsing with bounds and a canonical-encoding
 * check, the epoch's write key and mailbox tag, and the transition rule (only an admin
 * of the previous version signs; what needs a new epoch). The chain a state holds is
 * group_chain.c's, the changes a user makes group_change.c's. No I/O, no clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "group_int.h"
#include "mbox_write.h"

#define GROUP_DOMAIN_LEN (sizeof GROUP_DOMAIN_RECORD - 1)

/* ---- roster memory ---- */

void group__roster_clear(struct group_roster *r) {
  free(r->m);
  free(r->dev);
  memset(r, 0, sizeof *r);
}

static int roster_reserve(struct group_roster *r, size_t n, size_t ndev) {
  if (n > r->cap) {
    size_t c = n < 16 ? 16 : n;
    void *p = realloc(r->m, c * sizeof *r->m);
    if (p == NULL) return MOMEDO_E_NOMEM;
    r->m = p, r->cap = c;
  }
  if (ndev > r->cap_dev) {
    size_t c = ndev < 16 ? 16 : ndev;
    void *p = realloc(r->dev, c * sizeof *r->dev);
    if (p == NULL) return MOMEDO_E_NOMEM;
    r->dev = p, r->cap_dev = c;
  }
  return 0;
}

int group__roster_copy(struct group_roster *dst, const struct group_roster *src) {
  memset(dst, 0, sizeof *dst);
  int rc = roster_reserve(dst, src->n + 1, src->ndev + 1);
  if (rc < 0) return rc;
  struct group_mem *m = dst->m;
  uint8_t(*dev)[32] = dst->dev;
  size_t cap = dst->cap, cap_dev = dst->cap_dev;
  *dst = *src;
  dst->m = m, dst->dev = dev, dst->cap = cap, dst->cap_dev = cap_dev;
  if (src->n) memcpy(dst->m, src->m, src->n * sizeof *src->m);
  if (src->ndev) memcpy(dst->dev, src->dev, src->ndev * sizeof *src->dev);
  return 0;
}

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

long group__find(const struct group_roster *r, const uint8_t id[static 32]) {
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(r->m[mid].id, id, 32);
    if (c == 0) return (long)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

int group__has_device(const struct group_roster *r, size_t i, const uint8_t dev[static 32]) {
  for (uint32_t k = 0; k < r->m[i].ndev; k++)
    if (memcmp(r->dev[r->m[i].dev0 + k], dev, 32) == 0) return 1;
  return 0;
}

int group__listed(const struct group_roster *r, const uint8_t id[static 32],
                  const uint8_t dev[static 32]) {
  long i = group__find(r, id);
  return i >= 0 && group__has_device(r, (size_t)i, dev);
}

int group__is_admin(const struct group_roster *r, const uint8_t id[static 32]) {
  long i = group__find(r, id);
  return i >= 0 && r->m[i].role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN;
}

int group__may_post(const struct group_roster *r, const uint8_t id[static 32],
                    const uint8_t dev[static 32]) {
  return group__listed(r, id, dev) &&
         (r->mode == MOMEDO__GROUP_MODE__GROUP_MODE_GROUP || group__is_admin(r, id));
}

/* Append a member (devices sorted here; duplicates E_BOUNDS). Not re-sorted. */
int group__roster_append(struct group_roster *r, const uint8_t id[static 32], int role,
                         const uint8_t (*devs)[32], size_t nd) {
  if (nd == 0 || nd > GROUP_MEMBER_DEVICES_MAX) return MOMEDO_E_BOUNDS;
  int rc = roster_reserve(r, r->n + 1, r->ndev + nd);
  if (rc < 0) return rc;
  struct group_mem *m = &r->m[r->n];
  memcpy(m->id, id, 32);
  m->role = (uint8_t)role;
  m->dev0 = (uint32_t)r->ndev, m->ndev = (uint32_t)nd;
  memcpy(r->dev[r->ndev], devs, nd * 32);
  qsort(r->dev[r->ndev], nd, 32, cmp32);
  for (size_t k = 1; k < nd; k++)
    if (memcmp(r->dev[r->ndev + k - 1], r->dev[r->ndev + k], 32) == 0) return MOMEDO_E_BOUNDS;
  r->n++, r->ndev += nd;
  return 0;
}

static int cmp_mem(const void *a, const void *b) {
  return memcmp(((const struct group_mem *)a)->id, ((const struct group_mem *)b)->id, 32);
}

void group__roster_delete(struct group_roster *R, size_t i) {
  memmove(&R->m[i], &R->m[i + 1], (R->n - i - 1) * sizeof *R->m);
  R->n--;
}

/* Sort members, refuse duplicate identities (E_EXISTS), pack devices in member order. */
int group__roster_normalize(struct group_roster *r) {
  qsort(r->m, r->n, sizeof *r->m, cmp_mem);
  for (size_t i = 1; i < r->n; i++)
    if (memcmp(r->m[i - 1].id, r->m[i].id, 32) == 0) return MOMEDO_E_EXISTS;
  size_t total = 0;
  for (size_t i = 0; i < r->n; i++) total += r->m[i].ndev;
  uint8_t(*nd)[32] = malloc((total ? total : 1) * 32);
  if (nd == NULL) return MOMEDO_E_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++) {
    memcpy(nd[k], r->dev[r->m[i].dev0], (size_t)r->m[i].ndev * 32);
    r->m[i].dev0 = (uint32_t)k;
    k += r->m[i].ndev;
  }
  free(r->dev);
  r->dev = nd, r->ndev = total, r->cap_dev = total ? total : 1;
  return 0;
}

/* ---- encoding ---- */

/* Canonical bytes of r with signature sig (NULL: the unsigned bytes). */
static int roster_encode(const struct group_roster *r, const uint8_t *sig, uint8_t **out,
                         size_t *out_len) {
  Momedo__GroupRecord rec = MOMEDO__GROUP_RECORD__INIT;
  Momedo__GroupRecording rg = MOMEDO__GROUP_RECORDING__INIT;
  Momedo__GroupMember *ms = calloc(r->n ? r->n : 1, sizeof *ms);
  Momedo__GroupMember **mp = calloc(r->n ? r->n : 1, sizeof *mp);
  ProtobufCBinaryData *ds = calloc(r->ndev ? r->ndev : 1, sizeof *ds);
  int rc = MOMEDO_E_NOMEM;
  *out = NULL;
  if (ms == NULL || mp == NULL || ds == NULL) goto out;
  for (size_t i = 0; i < r->ndev; i++) ds[i] = (ProtobufCBinaryData){32, r->dev[i]};
  for (size_t i = 0; i < r->n; i++) {
    momedo__group_member__init(&ms[i]);
    ms[i].identity_key = (ProtobufCBinaryData){32, (uint8_t *)r->m[i].id};
    ms[i].role = r->m[i].role;
    ms[i].n_devices = r->m[i].ndev;
    ms[i].devices = &ds[r->m[i].dev0];
    mp[i] = &ms[i];
  }
  rec.format = GROUP_FORMAT;
  if (r->version > 1) rec.group_id = (ProtobufCBinaryData){32, (uint8_t *)r->group_id};
  rec.version = r->version, rec.epoch = r->epoch;
  if (r->has_prev) rec.prev_hash = (ProtobufCBinaryData){32, (uint8_t *)r->prev};
  rec.mode = r->mode, rec.change = r->change;
  rec.name = (char *)r->name;
  rec.mailbox_salt = (ProtobufCBinaryData){32, (uint8_t *)r->salt};
  rec.n_members = r->n, rec.members = mp;
  rec.created_ms = r->created_ms;
  rec.signer = (ProtobufCBinaryData){32, (uint8_t *)r->signer};
  rec.write_key = (ProtobufCBinaryData){32, (uint8_t *)r->write_key};
  if (r->recorded) {
    rg.by = (ProtobufCBinaryData){32, (uint8_t *)r->rec_by};
    rg.since_ms = r->rec_since_ms;
    rec.recording = &rg;
  }
  if (sig) rec.signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, (uint8_t *)sig};
  size_t n = momedo__group_record__get_packed_size(&rec);
  rc = MOMEDO_E_TOOBIG;
  if (n > GROUP_RECORD_BYTES_MAX) goto out;
  rc = MOMEDO_E_NOMEM;
  if ((*out = malloc(n)) == NULL) goto out;
  *out_len = momedo__group_record__pack(&rec, *out);
  rc = 0;
out:
  free(ms);
  free(mp);
  free(ds);
  return rc;
}

static int roster_hash(uint8_t h[static 32], const uint8_t *unsigned_rec, size_t len) {
  struct crypto_part parts[2] = {{GROUP_DOMAIN_RECORD, GROUP_DOMAIN_LEN}, {unsigned_rec, len}};
  return crypto_sha256_parts(h, parts, 2);
}

/* Sign r (r->signer must be kp->pub), fill r->hash, return the signed bytes. */
int group__roster_sign(struct group_roster *r, const struct crypto_sign_keypair *kp,
                       uint8_t **out, size_t *out_len) {
  uint8_t *u = NULL, *msg = NULL, sig[CRYPTO_SIG_LEN];
  size_t ul = 0;
  int rc = roster_encode(r, NULL, &u, &ul);
  if (rc < 0) return rc;
  rc = MOMEDO_E_NOMEM;
  if ((msg = malloc(GROUP_DOMAIN_LEN + ul)) == NULL) goto out;
  memcpy(msg, GROUP_DOMAIN_RECORD, GROUP_DOMAIN_LEN);
  memcpy(msg + GROUP_DOMAIN_LEN, u, ul);
  if ((rc = crypto_sign(sig, msg, GROUP_DOMAIN_LEN + ul, kp)) < 0) goto out;
  if ((rc = roster_hash(r->hash, u, ul)) < 0) goto out;
  rc = roster_encode(r, sig, out, out_len);
out:
  free(u);
  free(msg);
  return rc;
}

/* ---- parsing ---- */

int group__utf8_ok(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  for (size_t i = 0; i < n;) {
    uint8_t c = p[i];
    size_t k;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0) k = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) k = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) k = 3, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (p[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += k + 1;
  }
  return 1;
}

int group__text_ok(const char *s, size_t lo, size_t hi) {
  size_t n = s ? strlen(s) : 0;
  if (n < lo || n > hi || !group__utf8_ok(s, n)) return 0;
  for (size_t i = 0; i < n; i++)
    if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f) return 0;
  return 1;
}

static int roster_fill_members(struct group_roster *r, const Momedo__GroupRecord *p) {
  if (p->n_members > GROUP_MEMBERS_MAX) return MOMEDO_E_BOUNDS;
  size_t total = 0;
  for (size_t i = 0; i < p->n_members; i++) total += p->members[i]->n_devices;
  if (total > GROUP_DEVICES_MAX) return MOMEDO_E_BOUNDS;
  int rc = roster_reserve(r, p->n_members, total);
  if (rc < 0) return rc;
  for (size_t i = 0; i < p->n_members; i++) {
    const Momedo__GroupMember *m = p->members[i];
    if (m->identity_key.len != 32 || m->n_devices == 0 ||
        m->n_devices > GROUP_MEMBER_DEVICES_MAX)
      return MOMEDO_E_BOUNDS;
    if (m->role != MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER &&
        m->role != MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN)
      return MOMEDO_E_BOUNDS;
    if (i > 0 && memcmp(p->members[i - 1]->identity_key.data, m->identity_key.data, 32) >= 0)
      return MOMEDO_E_BOUNDS; /* sorted, no duplicates */
    struct group_mem *gm = &r->m[r->n++];
    memcpy(gm->id, m->identity_key.data, 32);
    gm->role = (uint8_t)m->role;
    gm->dev0 = (uint32_t)r->ndev, gm->ndev = (uint32_t)m->n_devices;
    for (size_t k = 0; k < m->n_devices; k++) {
      if (m->devices[k].len != 32) return MOMEDO_E_BOUNDS;
      if (k > 0 && memcmp(m->devices[k - 1].data, m->devices[k].data, 32) >= 0)
        return MOMEDO_E_BOUNDS;
      memcpy(r->dev[r->ndev++], m->devices[k].data, 32);
    }
  }
  return 0;
}

static int roster_fill(struct group_roster *r, const Momedo__GroupRecord *p) {
  if (p->format != GROUP_FORMAT) return MOMEDO_E_VERSION;
  if ((p->version == 1 ? p->group_id.len != 0 : p->group_id.len != 32) ||
      p->mailbox_salt.len != 32 || p->signer.len != 32 || p->write_key.len != 32 ||
      p->signature.len != CRYPTO_SIG_LEN)
    return MOMEDO_E_BOUNDS;
  if (p->version == 0 || p->epoch == 0 || p->created_ms == 0 || p->version > UINT64_MAX / 2 ||
      p->epoch > UINT64_MAX / 2)
    return MOMEDO_E_BOUNDS;
  if (p->version == 1 ? p->prev_hash.len != 0 : p->prev_hash.len != 32) return MOMEDO_E_BOUNDS;
  if (p->mode != MOMEDO__GROUP_MODE__GROUP_MODE_GROUP &&
      p->mode != MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL)
    return MOMEDO_E_BOUNDS;
  if (p->change < MOMEDO__GROUP_CHANGE__GROUP_CHANGE_CREATE ||
      p->change > MOMEDO__GROUP_CHANGE__GROUP_CHANGE_SETTINGS ||
      (p->change == MOMEDO__GROUP_CHANGE__GROUP_CHANGE_CREATE) != (p->version == 1))
    return MOMEDO_E_BOUNDS;
  if (!group__text_ok(p->name, 0, GROUP_NAME_BYTES_MAX)) return MOMEDO_E_BOUNDS;
  if (p->version > 1) memcpy(r->group_id, p->group_id.data, 32);
  memcpy(r->write_key, p->write_key.data, 32);
  r->version = p->version, r->epoch = p->epoch, r->created_ms = p->created_ms;
  r->mode = p->mode, r->change = p->change;
  snprintf(r->name, sizeof r->name, "%s", p->name ? p->name : "");
  memcpy(r->salt, p->mailbox_salt.data, 32);
  memcpy(r->signer, p->signer.data, 32);
  r->has_prev = p->prev_hash.len == 32;
  if (r->has_prev) memcpy(r->prev, p->prev_hash.data, 32);
  if (p->recording != NULL) {
    /* In version 1 by its creator, at creation (later: group__check_transition). */
    const Momedo__GroupRecording *g = p->recording;
    if (g->by.len != 32 || g->since_ms == 0 ||
        (p->version == 1 && (g->since_ms != p->created_ms || memcmp(g->by.data, r->signer, 32))))
      return MOMEDO_E_BOUNDS;
    r->recorded = 1, r->rec_since_ms = g->since_ms;
    memcpy(r->rec_by, g->by.data, 32);
  }
  int rc = roster_fill_members(r, p);
  if (rc < 0) return rc;
  int admins = 0;
  for (size_t i = 0; i < r->n; i++) admins += r->m[i].role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN;
  if (r->n > 0 && admins == 0) return MOMEDO_E_BOUNDS; /* a group always has an admin */
  return 0;
}

/* Check the signature over the unsigned re-encoding (when verify); refuse
 * non-canonical input; fill r->hash. */
static int roster_verify(struct group_roster *r, const uint8_t *rec, size_t len,
                         const uint8_t sig[static CRYPTO_SIG_LEN], int verify) {
  uint8_t *u = NULL, *s = NULL, *msg = NULL;
  size_t ul = 0, sl = 0;
  int rc = roster_encode(r, sig, &s, &sl);
  if (rc < 0) goto out;
  rc = MOMEDO_E_NONCANON;
  if (sl != len || memcmp(s, rec, len) != 0) goto out;
  if ((rc = roster_encode(r, NULL, &u, &ul)) < 0) goto out;
  rc = MOMEDO_E_NOMEM;
  if ((msg = malloc(GROUP_DOMAIN_LEN + ul)) == NULL) goto out;
  memcpy(msg, GROUP_DOMAIN_RECORD, GROUP_DOMAIN_LEN);
  memcpy(msg + GROUP_DOMAIN_LEN, u, ul);
  if (verify && (rc = crypto_verify(sig, msg, GROUP_DOMAIN_LEN + ul, r->signer)) < 0) goto out;
  rc = roster_hash(r->hash, u, ul);
out:
  free(u);
  free(s);
  free(msg);
  return rc;
}

int group__write_seed(uint8_t seed[static 32], uint64_t epoch, const uint8_t salt[static 32]) {
  uint8_t info[sizeof GROUP_DOMAIN_WRITE - 1 + 8];
  memcpy(info, GROUP_DOMAIN_WRITE, sizeof GROUP_DOMAIN_WRITE - 1);
  be64_put(info + sizeof GROUP_DOMAIN_WRITE - 1, epoch);
  return crypto_hkdf(seed, 32, NULL, 0, salt, 32, info, sizeof info);
}

int group__epoch_tag(uint8_t tag[static 32], const uint8_t group_id[static 32], uint64_t epoch,
                     const uint8_t salt[static 32]) {
  uint8_t e[8];
  be64_put(e, epoch);
  struct crypto_part parts[4] = {{GROUP_DOMAIN_MAILBOX, sizeof GROUP_DOMAIN_MAILBOX - 1},
                                 {group_id, 32}, {e, 8}, {salt, 32}};
  return crypto_sha256_parts(tag, parts, 4);
}

/* In GROUP mode every member derives the write key from the record: it must be that. */
static int roster_check_write_key(const struct group_roster *r) {
  uint8_t seed[32];
  struct crypto_sign_keypair kp;
  if (r->mode != MOMEDO__GROUP_MODE__GROUP_MODE_GROUP) return 0;
  int rc = group__write_seed(seed, r->epoch, r->salt);
  if (rc == 0) rc = crypto_sign_from_seed(&kp, seed);
  if (rc == 0 && memcmp(kp.pub, r->write_key, 32) != 0) rc = MOMEDO_E_BOUNDS;
  crypto_wipe(seed, sizeof seed);
  crypto_wipe(&kp, sizeof kp);
  return rc;
}

int group__roster_parse(struct group_roster *r, const uint8_t *rec, size_t len, int verify) {
  struct arena a;
  uint8_t sig[CRYPTO_SIG_LEN];
  memset(r, 0, sizeof *r);
  if (len > GROUP_RECORD_BYTES_MAX) return MOMEDO_E_TOOBIG;
  arena_init(&a, GROUP_RECORD_DECODE_BYTES_MAX);
  Momedo__GroupRecord *p = momedo__group_record__unpack(&a.pb, len, rec);
  int rc = p == NULL ? (a.failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE) : roster_fill(r, p);
  if (rc == 0) memcpy(sig, p->signature.data, CRYPTO_SIG_LEN);
  arena_close(&a);
  if (rc == 0) rc = roster_verify(r, rec, len, sig, verify);
  if (rc == 0 && r->version == 1) memcpy(r->group_id, r->hash, 32); /* the group's ID */
  if (rc == 0) rc = roster_check_write_key(r);
  if (rc < 0) group__roster_clear(r);
  return rc;
}

int group__record_hash_stored(uint8_t h[static 32], const uint8_t *rec, size_t len) {
  /* Canonical encoding ends with field 15, the 64-byte signature: tag 0x7a, length 0x40. */
  if (len < 2 + CRYPTO_SIG_LEN || rec[len - 66] != 0x7a || rec[len - 65] != CRYPTO_SIG_LEN)
    return MOMEDO_E_CORRUPT;
  return roster_hash(h, rec, len - 2 - CRYPTO_SIG_LEN);
}

int group__rec_meta(struct group_rec *rec, const uint8_t *b, size_t len) {
  struct arena a;
  memset(rec, 0, sizeof *rec);
  int rc = group__record_hash_stored(rec->hash, b, len);
  if (rc < 0) return rc;
  arena_init(&a, GROUP_RECORD_DECODE_BYTES_MAX);
  Momedo__GroupRecord *p = momedo__group_record__unpack(&a.pb, len, b);
  rc = p == NULL || p->signer.len != 32 || (p->version > 1 && p->prev_hash.len != 32) ||
               p->version == 0
           ? MOMEDO_E_CORRUPT
           : 0;
  if (rc == 0) {
    rec->version = p->version;
    memcpy(rec->signer, p->signer.data, 32);
    if (p->version > 1) memcpy(rec->prev, p->prev_hash.data, 32);
  }
  arena_close(&a);
  return rc;
}

int group_record_peek(const uint8_t *rec, size_t len, uint8_t group_id[static 32],
                      uint64_t *version) {
  struct group_roster r;
  int rc = group__roster_parse(&r, rec, len, 0); /* the signature is the caller's to judge */
  if (rc < 0) return rc;
  memcpy(group_id, r.group_id, 32);
  *version = r.version;
  group__roster_clear(&r);
  return 0;
}

/* ---- transition rules ---- */

/* 1 if a member or a device of P is missing from R. */
int group__roster_lost(const struct group_roster *P, const struct group_roster *R) {
  for (size_t i = 0; i < P->n; i++) {
    long j = group__find(R, P->m[i].id);
    if (j < 0) return 1;
    for (uint32_t k = 0; k < P->m[i].ndev; k++)
      if (!group__has_device(R, (size_t)j, P->dev[P->m[i].dev0 + k])) return 1;
  }
  return 0;
}

int group__roster_ousts(const struct group_roster *P, const struct group_roster *R,
                        const uint8_t id[static 32]) {
  return group__is_admin(P, id) && !group__is_admin(R, id);
}

/* 1 if a member listed in both has another role in R. */
static int roster_roles_changed(const struct group_roster *P, const struct group_roster *R) {
  for (size_t i = 0; i < P->n; i++) {
    long j = group__find(R, P->m[i].id);
    if (j >= 0 && R->m[j].role != P->m[i].role) return 1;
  }
  return 0;
}

/* Recording: a record that marks the group names its own signer and time; later ones
 * carry the mark unchanged (an admin may unmark it). */
static int roster_recording_ok(const struct group_roster *P, const struct group_roster *R) {
  if (!R->recorded) return 1;
  if (P->recorded)
    return !memcmp(P->rec_by, R->rec_by, 32) && P->rec_since_ms == R->rec_since_ms;
  return !memcmp(R->rec_by, R->signer, 32) && R->rec_since_ms == R->created_ms;
}

int group__check_transition(struct group *g, const struct group_roster *P,
                            const struct group_roster *R) {
  unsigned long long v = (unsigned long long)R->version;
  if (!group__is_admin(P, R->signer))
    return group__fail(g, MOMEDO_E_DENIED, "record v%llu is not signed by an admin", v);
  if (!roster_recording_ok(P, R))
    return group__fail(g, MOMEDO_E_BOUNDS,
                       "record v%llu changes who marked the group recorded, or since when", v);
  int same_mailbox = !memcmp(R->salt, P->salt, 32) || !memcmp(R->write_key, P->write_key, 32);
  if (R->epoch == P->epoch) {
    if (group__roster_lost(P, R))
      return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu removes without a new epoch", v);
    if (memcmp(R->salt, P->salt, 32) != 0 || memcmp(R->write_key, P->write_key, 32) != 0)
      return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu changes the mailbox, not the epoch", v);
    if (R->mode != P->mode)
      return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu changes the mode, not the epoch", v);
    if (R->mode == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL && roster_roles_changed(P, R))
      return group__fail(g, MOMEDO_E_BOUNDS,
                         "record v%llu changes who posts in the channel, not the epoch", v);
    return 0;
  }
  if (R->epoch != P->epoch + 1)
    return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu skips epochs", v);
  if (same_mailbox)
    return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu keeps the old salt or write key", v);
  return 0;
}
