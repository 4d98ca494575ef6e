/* client/group_record.c — the signed membership record chain: parsing with bounds
 * and a canonical-encoding check, signing, the transition rules (who may sign which
 * change, when the epoch must advance), and the change operations that build, sign and
 * apply the next version. Refuses before it changes anything; no I/O, no clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "group_int.h"

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

static int roster_copy(struct group_roster *dst, const struct group_roster *src) {
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

int group__may_post(const struct group_roster *r, const uint8_t id[static 32],
                    const uint8_t dev[static 32]) {
  long i = group__find(r, id);
  if (i < 0 || !group__has_device(r, (size_t)i, dev)) return 0;
  return r->mode == MOMEDO__GROUP_MODE__GROUP_MODE_GROUP ||
         r->m[i].role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN;
}

/* Append a member (devices sorted here; duplicates E_BOUNDS). Not re-sorted. */
static int roster_append(struct group_roster *r, const uint8_t id[static 32], int role,
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

/* Sort members, refuse duplicate identities (E_EXISTS), pack devices in member order. */
static int roster_normalize(struct group_roster *r) {
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
  rec.group_id = (ProtobufCBinaryData){32, (uint8_t *)r->group_id};
  rec.version = r->version, rec.epoch = r->epoch;
  if (r->has_prev) rec.prev_hash = (ProtobufCBinaryData){32, (uint8_t *)r->prev};
  rec.mode = r->mode, rec.change = r->change;
  rec.name = (char *)r->name;
  rec.mailbox_salt = (ProtobufCBinaryData){32, (uint8_t *)r->salt};
  rec.n_members = r->n, rec.members = mp;
  rec.created_ms = r->created_ms;
  rec.signer = (ProtobufCBinaryData){32, (uint8_t *)r->signer};
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
static int roster_sign(struct group_roster *r, const struct crypto_sign_keypair *kp,
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
  if (p->group_id.len != 32 || p->mailbox_salt.len != 32 || p->signer.len != 32 ||
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
  memcpy(r->group_id, p->group_id.data, 32);
  r->version = p->version, r->epoch = p->epoch, r->created_ms = p->created_ms;
  r->mode = p->mode, r->change = p->change;
  snprintf(r->name, sizeof r->name, "%s", p->name ? p->name : "");
  memcpy(r->salt, p->mailbox_salt.data, 32);
  memcpy(r->signer, p->signer.data, 32);
  r->has_prev = p->prev_hash.len == 32;
  if (r->has_prev) memcpy(r->prev, p->prev_hash.data, 32);
  int rc = roster_fill_members(r, p);
  if (rc < 0) return rc;
  int admins = 0;
  for (size_t i = 0; i < r->n; i++) admins += r->m[i].role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN;
  if (r->n > 0 && admins == 0) return MOMEDO_E_BOUNDS; /* a group always has an admin */
  return 0;
}

/* Verify the signature over the unsigned re-encoding; refuse non-canonical input. */
static int roster_verify(struct group_roster *r, const uint8_t *rec, size_t len,
                         const uint8_t sig[static CRYPTO_SIG_LEN]) {
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
  if ((rc = crypto_verify(sig, msg, GROUP_DOMAIN_LEN + ul, r->signer)) < 0) goto out;
  rc = roster_hash(r->hash, u, ul);
out:
  free(u);
  free(s);
  free(msg);
  return rc;
}

int group__roster_parse(struct group_roster *r, const uint8_t *rec, size_t len) {
  struct arena a;
  uint8_t sig[CRYPTO_SIG_LEN];
  memset(r, 0, sizeof *r);
  if (len > GROUP_RECORD_BYTES_MAX) return MOMEDO_E_TOOBIG;
  arena_init(&a, GROUP_RECORD_DECODE_BYTES_MAX);
  Momedo__GroupRecord *p = momedo__group_record__unpack(&a.pb, len, rec);
  int rc = p == NULL ? (a.failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE) : roster_fill(r, p);
  if (rc == 0) memcpy(sig, p->signature.data, CRYPTO_SIG_LEN);
  arena_close(&a);
  if (rc == 0) rc = roster_verify(r, rec, len, sig);
  if (rc < 0) group__roster_clear(r);
  return rc;
}

int group_record_peek(const uint8_t *rec, size_t len, uint8_t group_id[static 32],
                      uint64_t *version) {
  struct arena a;
  if (len > GROUP_RECORD_BYTES_MAX) return MOMEDO_E_TOOBIG;
  arena_init(&a, GROUP_RECORD_DECODE_BYTES_MAX);
  Momedo__GroupRecord *p = momedo__group_record__unpack(&a.pb, len, rec);
  int rc = p == NULL ? (a.failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE) : 0;
  if (rc == 0 && (p->group_id.len != 32 || p->version == 0)) rc = MOMEDO_E_BOUNDS;
  if (rc == 0) {
    memcpy(group_id, p->group_id.data, 32);
    *version = p->version;
  }
  arena_close(&a);
  return rc;
}

/* ---- transition rules ---- */

static int mem_equal(const struct group_roster *a, size_t i, const struct group_roster *b,
                     size_t j) {
  return a->m[i].role == b->m[j].role && a->m[i].ndev == b->m[j].ndev &&
         memcmp(a->dev[a->m[i].dev0], b->dev[b->m[j].dev0], (size_t)a->m[i].ndev * 32) == 0;
}

/* 1 if a member or a device of P is missing from R. */
static int roster_lost(const struct group_roster *P, const struct group_roster *R) {
  for (size_t i = 0; i < P->n; i++) {
    long j = group__find(R, P->m[i].id);
    if (j < 0) return 1;
    for (uint32_t k = 0; k < P->m[i].ndev; k++)
      if (!group__has_device(R, (size_t)j, P->dev[P->m[i].dev0 + k])) return 1;
  }
  return 0;
}

/* 1 if P and R agree on settings and on every member other than skip. */
static int roster_same_except(const struct group_roster *P, const struct group_roster *R,
                              const uint8_t skip[static 32]) {
  if (P->mode != R->mode || strcmp(P->name, R->name) != 0) return 0;
  for (size_t i = 0; i < P->n; i++) {
    if (memcmp(P->m[i].id, skip, 32) == 0) continue;
    long j = group__find(R, P->m[i].id);
    if (j < 0 || !mem_equal(P, i, R, (size_t)j)) return 0;
  }
  for (size_t j = 0; j < R->n; j++)
    if (memcmp(R->m[j].id, skip, 32) != 0 && group__find(P, R->m[j].id) < 0) return 0;
  return 1;
}

/* May R's signer turn P into R? An admin of P may make any change; a member may only
 * leave (R = P without it) or change its own devices. Removals need a new epoch. */
static int group_check_transition(struct group *g, const struct group_roster *P,
                                  const struct group_roster *R) {
  unsigned long long v = (unsigned long long)R->version;
  long si = group__find(P, R->signer);
  if (si < 0) return group__fail(g, MOMEDO_E_DENIED, "record v%llu is signed by a non-member", v);
  int lost = roster_lost(P, R);
  if (R->epoch != P->epoch && R->epoch != P->epoch + 1)
    return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu skips epochs", v);
  if (lost && R->epoch == P->epoch)
    return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu removes without a new epoch", v);
  if ((R->epoch == P->epoch) != (memcmp(R->salt, P->salt, 32) == 0))
    return group__fail(g, MOMEDO_E_BOUNDS,
                       "record v%llu: mailbox salt must change with the epoch", v);
  if (R->change == MOMEDO__GROUP_CHANGE__GROUP_CHANGE_LEAVE && group__find(R, R->signer) >= 0)
    return group__fail(g, MOMEDO_E_BOUNDS, "leave record v%llu still lists its signer", v);
  if (P->m[si].role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN) return 0;
  if (R->change == MOMEDO__GROUP_CHANGE__GROUP_CHANGE_LEAVE) {
    if (!roster_same_except(P, R, R->signer))
      return group__fail(g, MOMEDO_E_DENIED, "record v%llu: a member may only remove itself", v);
    return 0;
  }
  if (R->change == MOMEDO__GROUP_CHANGE__GROUP_CHANGE_DEVICES) {
    long j = group__find(R, R->signer);
    if (j < 0 || R->m[j].role != P->m[si].role || !roster_same_except(P, R, R->signer))
      return group__fail(g, MOMEDO_E_DENIED,
                         "record v%llu: a member may only change its own devices", v);
    if (!lost && R->epoch != P->epoch)
      return group__fail(g, MOMEDO_E_DENIED, "record v%llu: only an admin rotates the epoch", v);
    return 0;
  }
  return group__fail(g, MOMEDO_E_DENIED, "record v%llu is not signed by an admin", v);
}

static int group_listed(const struct group_roster *R, const uint8_t id[static 32],
                        const uint8_t dev[static 32]) {
  long i = group__find(R, id);
  return i >= 0 && group__has_device(R, (size_t)i, dev);
}

static size_t roster_new_devices(const struct group_roster *P, const struct group_roster *R) {
  size_t n = 0;
  for (size_t j = 0; j < R->n; j++) {
    long i = group__find(P, R->m[j].id);
    for (uint32_t k = 0; k < R->m[j].ndev; k++)
      n += i < 0 || !group__has_device(P, (size_t)i, R->dev[R->m[j].dev0 + k]);
  }
  return n;
}

/* Where R may go as the next version of g; 0 if it may. */
static int group_check_next(struct group *g, const struct group_roster *R, uint64_t now_ms) {
  const struct group_roster *P = &g->r;
  unsigned long long v = (unsigned long long)R->version, pv = (unsigned long long)P->version;
  if (memcmp(R->group_id, P->group_id, 32) != 0)
    return group__fail(g, MOMEDO_E_INVAL, "record belongs to another group");
  if (R->version == P->version)
    return memcmp(R->hash, P->hash, 32) == 0
               ? group__fail(g, MOMEDO_E_EXISTS, "record v%llu already applied", v)
               : group__fail(g, MOMEDO_E_FORK, "two different records claim version %llu", v);
  if (R->version < P->version)
    return group__fail(g, MOMEDO_E_SUPERSEDED, "record v%llu is older than ours (v%llu)", v, pv);
  if (R->version > P->version + 1)
    return group__fail(g, MOMEDO_E_UNEXPECTED, "record v%llu arrived before v%llu", v, pv + 1);
  if (memcmp(R->prev, P->hash, 32) != 0)
    return group__fail(g, MOMEDO_E_FORK, "record v%llu does not follow our v%llu", v, pv);
  if (R->created_ms > now_ms + GROUP_CLOCK_SKEW_MS_MAX)
    return group__fail(g, MOMEDO_E_FUTURE, "record v%llu is from the future", v);
  return group_check_transition(g, P, R);
}

int group_record_apply(struct group *g, const uint8_t *rec, size_t len, uint64_t now_ms,
                       struct group_apply_info *ai) {
  struct group_roster R;
  struct group_epoch ne;
  int have_ne = 0, fresh_tx = 0;
  g->why[0] = 0;
  memset(&ne, 0, sizeof ne);
  int rc = group__roster_parse(&R, rec, len);
  if (rc < 0) return group__fail(g, rc, "record refused: %s", momedo_strerror(rc));
  uint8_t *copy = NULL;
  if ((rc = group_check_next(g, &R, now_ms)) < 0) goto out;
  rc = MOMEDO_E_NOMEM;
  if ((copy = malloc(len)) == NULL) goto out;
  memcpy(copy, rec, len);
  int listed = group_listed(&R, g->me_id, g->me_dev);
  struct group_epoch *cur = g->n_ep ? &g->ep[g->n_ep - 1] : NULL;
  if (listed && (cur == NULL || cur->epoch != R.epoch)) {
    if ((rc = group__epoch_prepare(g, &R, &ne)) < 0) goto out;
    have_ne = 1;
  } else if (listed && !cur->has_tx && group__may_post(&R, g->me_id, g->me_dev)) {
    if ((rc = group__tx_new(&ne)) < 0) goto out;
    fresh_tx = 1;
  }
  /* Commit: nothing below fails. */
  if (ai) {
    ai->version = R.version, ai->epoch = R.epoch;
    ai->epoch_changed = R.epoch != g->r.epoch;
    ai->removed = !listed;
    ai->n_new_devices = roster_new_devices(&g->r, &R);
  }
  group__roster_clear(&g->r);
  g->r = R;
  memset(&R, 0, sizeof R);
  free(g->rec);
  g->rec = copy, g->rec_len = len, copy = NULL;
  if (have_ne) group__epoch_push(g, &ne), g->n_sent = 0;
  if (fresh_tx) {
    cur->tx = ne.tx, cur->has_tx = 1, cur->tx_n = 0;
    memcpy(cur->tx_ck, ne.tx_ck, GROUP_KEY_LEN);
    g->n_sent = 0;
  }
  g->removed = !listed;
  if (!listed && g->n_ep) {
    struct group_epoch *c = &g->ep[g->n_ep - 1];
    crypto_wipe(&c->tx, sizeof c->tx);
    crypto_wipe(c->tx_ck, sizeof c->tx_ck);
    c->has_tx = 0;
  }
  rc = 0;
out:
  crypto_wipe(&ne.tx, sizeof ne.tx);
  crypto_wipe(ne.tx_ck, sizeof ne.tx_ck);
  free(copy);
  group__roster_clear(&R);
  return rc;
}

/* ---- new state ---- */

/* A state for this (identity, device) from a verified roster R (moved in) and its
 * signed bytes. */
static int group_state_new(struct group **out, const uint8_t id[static 32],
                           const uint8_t dev[static 32], struct group_roster *R,
                           const uint8_t *rec, size_t len) {
  struct group *g = calloc(1, sizeof *g);
  struct group_epoch ne;
  if (g == NULL) return MOMEDO_E_NOMEM;
  memcpy(g->me_id, id, 32);
  memcpy(g->me_dev, dev, 32);
  int rc = MOMEDO_E_NOMEM;
  if ((g->rec = malloc(len)) == NULL) goto out;
  memcpy(g->rec, rec, len);
  g->rec_len = len;
  g->r = *R;
  memset(R, 0, sizeof *R);
  if ((rc = group__epoch_prepare(g, &g->r, &ne)) < 0) goto out;
  group__epoch_push(g, &ne);
  *out = g;
  return 0;
out:
  group_free(g);
  return rc;
}

int group_join(struct group **out, const uint8_t identity_key[static 32],
               const uint8_t device_key[static 32], const uint8_t from_identity[static 32],
               const uint8_t *rec, size_t len, uint64_t now_ms) {
  struct group_roster R;
  *out = NULL;
  int rc = group__roster_parse(&R, rec, len);
  if (rc < 0) return rc;
  long si = group__find(&R, R.signer);
  if (R.created_ms > now_ms + GROUP_CLOCK_SKEW_MS_MAX) rc = MOMEDO_E_FUTURE;
  else if (!group_listed(&R, identity_key, device_key)) rc = MOMEDO_E_NOTFOUND;
  else if (si < 0 || R.m[si].role != MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN) rc = MOMEDO_E_DENIED;
  else if (group__find(&R, from_identity) < 0) rc = MOMEDO_E_DENIED;
  else rc = group_state_new(out, identity_key, device_key, &R, rec, len);
  group__roster_clear(&R);
  return rc;
}

static int group_spec_ok(const struct group_member_spec *s) {
  return s && s->identity_key && s->devices && s->n_devices > 0 &&
         s->n_devices <= GROUP_MEMBER_DEVICES_MAX &&
         (s->role == MOMEDO__GROUP_ROLE__GROUP_ROLE_NONE ||
          s->role == MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER ||
          s->role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
}

static int roster_append_spec(struct group_roster *R, const struct group_member_spec *s,
                              int force_role) {
  if (!group_spec_ok(s)) return MOMEDO_E_INVAL;
  int role = force_role ? force_role : (int)s->role;
  if (role == MOMEDO__GROUP_ROLE__GROUP_ROLE_NONE) role = MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER;
  if (R->n >= GROUP_MEMBERS_MAX || R->ndev + s->n_devices > GROUP_DEVICES_MAX)
    return MOMEDO_E_BOUNDS;
  return roster_append(R, s->identity_key, role, s->devices, s->n_devices);
}

int group_create(struct group **out, const struct crypto_sign_keypair *identity,
                 const uint8_t device_key[static 32], Momedo__GroupMode mode, const char *name,
                 const struct group_member_spec *self, const struct group_member_spec *members,
                 size_t n_members, uint64_t now_ms, uint8_t **rec, size_t *rec_len) {
  struct group_roster R, V;
  *out = NULL, *rec = NULL, *rec_len = 0;
  memset(&R, 0, sizeof R);
  memset(&V, 0, sizeof V);
  if (!group_spec_ok(self) || memcmp(self->identity_key, identity->pub, 32) != 0 ||
      (mode != MOMEDO__GROUP_MODE__GROUP_MODE_GROUP &&
       mode != MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL) ||
      !group__text_ok(name, 0, GROUP_NAME_BYTES_MAX) || now_ms == 0 ||
      n_members >= GROUP_MEMBERS_MAX || (n_members && members == NULL))
    return MOMEDO_E_INVAL;
  int rc = crypto_random(R.group_id, 32);
  if (rc == 0) rc = crypto_random(R.salt, 32);
  R.version = 1, R.epoch = 1, R.created_ms = now_ms;
  R.mode = (int)mode, R.change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_CREATE;
  snprintf(R.name, sizeof R.name, "%s", name ? name : "");
  memcpy(R.signer, identity->pub, 32);
  if (rc == 0) rc = roster_append_spec(&R, self, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  for (size_t i = 0; rc == 0 && i < n_members; i++) rc = roster_append_spec(&R, &members[i], 0);
  if (rc == 0) rc = roster_normalize(&R);
  if (rc == 0 && !group_listed(&R, identity->pub, device_key)) rc = MOMEDO_E_INVAL;
  if (rc == 0) rc = roster_sign(&R, identity, rec, rec_len);
  if (rc == 0) rc = group__roster_parse(&V, *rec, *rec_len);
  if (rc == 0) rc = group_state_new(out, identity->pub, device_key, &V, *rec, *rec_len);
  if (rc < 0) {
    free(*rec);
    *rec = NULL, *rec_len = 0;
  }
  group__roster_clear(&R);
  group__roster_clear(&V);
  return rc;
}

/* ---- changes by this user ---- */

/* A copy of g's roster to modify, after checking the caller is this user; no record
 * yet. R is always safe to pass to group_finish_change. */
static int group_begin_change(struct group *g, const struct crypto_sign_keypair *id,
                              struct group_roster *R, uint8_t **rec, size_t *rec_len) {
  *rec = NULL, *rec_len = 0;
  g->why[0] = 0;
  memset(R, 0, sizeof *R);
  if (memcmp(id->pub, g->me_id, 32) != 0)
    return group__fail(g, MOMEDO_E_INVAL, "identity key is not this state's user");
  if (g->removed) return group__fail(g, MOMEDO_E_DENIED, "this device is not a member");
  return roster_copy(R, &g->r);
}

/* The tail of every change: rc is the result of editing R (a modified copy of g's
 * roster from group_begin_change). On an error, return it. Else finish R: next
 * version, signer, epoch (new when asked or when anything was removed), sign, and
 * apply through the same checks every member runs. R is cleared either way. */
static int group_finish_change(struct group *g, const struct crypto_sign_keypair *id,
                               struct group_roster *R, int rc, int change, int new_epoch,
                               uint64_t now_ms, uint8_t **rec, size_t *rec_len) {
  if (rc < 0) goto out;
  rc = roster_normalize(R);
  if (rc == MOMEDO_E_EXISTS) rc = group__fail(g, rc, "member is already in the group");
  if (rc < 0) goto out;
  if (new_epoch || roster_lost(&g->r, R)) {
    R->epoch = g->r.epoch + 1;
    if ((rc = crypto_random(R->salt, 32)) < 0) goto out;
  }
  R->version = g->r.version + 1;
  R->has_prev = 1;
  memcpy(R->prev, g->r.hash, 32);
  R->change = change, R->created_ms = now_ms;
  memcpy(R->signer, id->pub, 32);
  if ((rc = roster_sign(R, id, rec, rec_len)) < 0) goto out;
  if ((rc = group_record_apply(g, *rec, *rec_len, now_ms, NULL)) < 0) {
    free(*rec);
    *rec = NULL, *rec_len = 0;
  }
out:
  group__roster_clear(R);
  return rc;
}

static void roster_delete(struct group_roster *R, size_t i) {
  memmove(&R->m[i], &R->m[i + 1], (R->n - i - 1) * sizeof *R->m);
  R->n--;
}

int group_add(struct group *g, const struct crypto_sign_keypair *identity,
              const struct group_member_spec *members, size_t n, uint64_t now_ms, uint8_t **rec,
              size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  if (rc == 0 && (n == 0 || members == NULL)) rc = MOMEDO_E_INVAL;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (!group_spec_ok(&members[i])) rc = MOMEDO_E_INVAL;
    else if (group__find(&g->r, members[i].identity_key) >= 0)
      rc = group__fail(g, MOMEDO_E_EXISTS, "member is already in the group");
    else rc = roster_append_spec(&R, &members[i], 0);
  }
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_ADD, 0,
                             now_ms, rec, rec_len);
}

int group_remove(struct group *g, const struct crypto_sign_keypair *identity,
                 const uint8_t (*identity_keys)[32], size_t n, uint64_t now_ms, uint8_t **rec,
                 size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  if (rc == 0 && (n == 0 || identity_keys == NULL)) rc = MOMEDO_E_INVAL;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    long j = group__find(&R, identity_keys[i]);
    if (j < 0) rc = group__fail(g, MOMEDO_E_NOTFOUND, "not a member");
    else roster_delete(&R, (size_t)j);
  }
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_REMOVE, 1,
                             now_ms, rec, rec_len);
}

int group_leave(struct group *g, const struct crypto_sign_keypair *identity, uint64_t now_ms,
                uint8_t **rec, size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  long j = rc == 0 ? group__find(&R, g->me_id) : -1;
  if (j >= 0) roster_delete(&R, (size_t)j);
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_LEAVE, 1,
                             now_ms, rec, rec_len);
}

int group_set_role(struct group *g, const struct crypto_sign_keypair *identity,
                   const uint8_t member[static 32], Momedo__GroupRole role, uint64_t now_ms,
                   uint8_t **rec, size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  long j = rc == 0 ? group__find(&R, member) : -1;
  if (rc == 0 && role != MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER &&
      role != MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN)
    rc = MOMEDO_E_INVAL;
  else if (rc == 0 && j < 0) rc = group__fail(g, MOMEDO_E_NOTFOUND, "not a member");
  if (rc == 0) R.m[j].role = (uint8_t)role;
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_ROLE, 0,
                             now_ms, rec, rec_len);
}

int group_set_devices(struct group *g, const struct crypto_sign_keypair *identity,
                      const struct group_member_spec *member, uint64_t now_ms, uint8_t **rec,
                      size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  long j = -1;
  if (rc == 0 && !group_spec_ok(member)) rc = MOMEDO_E_INVAL;
  if (rc == 0 && (j = group__find(&R, member->identity_key)) < 0)
    rc = group__fail(g, MOMEDO_E_NOTFOUND, "not a member");
  if (rc == 0) {
    int role = R.m[j].role;
    roster_delete(&R, (size_t)j);
    rc = roster_append(&R, member->identity_key, role, member->devices, member->n_devices);
  }
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_DEVICES, 0,
                             now_ms, rec, rec_len);
}

int group_rotate(struct group *g, const struct crypto_sign_keypair *identity, uint64_t now_ms,
                 uint8_t **rec, size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_ROTATE, 1,
                             now_ms, rec, rec_len);
}
