/* client/core/group_change.c — the changes an admin makes: create a group, add, remove,
 * leave, set a role or a member's devices, rotate; each builds the next record, signs
 * it and applies it through the same checks every member runs. Also the rebase: an
 * admin's change that lost a fork choice is made again on top of the winning head.
 * Members do not sign records (they ask: group_request.c). No I/O, no clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_int.h"

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
  return group__roster_append(R, s->identity_key, role, s->devices, s->n_devices);
}

/* R's epoch becomes `epoch` with a fresh salt and write key: in a GROUP derived from
 * the salt (every member can post), in a CHANNEL random, its seed in *wk for the admin
 * who signs (it hands it to the other admins with its sender key). */
static int roster_new_epoch(struct group_roster *R, uint64_t epoch,
                            struct crypto_sign_keypair *wk) {
  uint8_t seed[32];
  R->epoch = epoch;
  int rc = crypto_random(R->salt, 32);
  if (rc == 0 && R->mode == MOMEDO__GROUP_MODE__GROUP_MODE_GROUP) {
    if ((rc = group__write_seed(seed, R->epoch, R->salt)) == 0)
      rc = crypto_sign_from_seed(wk, seed);
  } else if (rc == 0) {
    rc = crypto_sign_keygen(wk);
  }
  if (rc == 0) memcpy(R->write_key, wk->pub, 32);
  crypto_wipe(seed, sizeof seed);
  return rc;
}

/* The admin who starts a channel's epoch keeps its write key seed. */
static void keep_write_key(struct group *g, const struct crypto_sign_keypair *wk) {
  struct group_epoch *e = g->n_ep ? &g->ep[g->n_ep - 1] : NULL;
  if (e && !e->has_write && memcmp(e->write_pub, wk->pub, 32) == 0) {
    e->write = *wk;
    e->has_write = 1;
  }
}

int group_create(struct group **out, const struct crypto_sign_keypair *identity,
                 const uint8_t device_key[static 32], Momedo__GroupMode mode, const char *name,
                 const struct group_member_spec *self, const struct group_member_spec *members,
                 size_t n_members, uint64_t now_ms, uint8_t **rec, size_t *rec_len) {
  struct group_roster R, V;
  struct crypto_sign_keypair wk;
  struct group_rec *ch = NULL;
  *out = NULL, *rec = NULL, *rec_len = 0;
  memset(&R, 0, sizeof R);
  memset(&V, 0, sizeof V);
  if (!group_spec_ok(self) || memcmp(self->identity_key, identity->pub, 32) != 0 ||
      (mode != MOMEDO__GROUP_MODE__GROUP_MODE_GROUP &&
       mode != MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL) ||
      !group__text_ok(name, 0, GROUP_NAME_BYTES_MAX) || now_ms == 0 ||
      n_members >= GROUP_MEMBERS_MAX || (n_members && members == NULL))
    return MOMEDO_E_INVAL;
  R.version = 1, R.created_ms = now_ms;
  R.mode = (int)mode, R.change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_CREATE;
  snprintf(R.name, sizeof R.name, "%s", name ? name : "");
  memcpy(R.signer, identity->pub, 32);
  int rc = roster_new_epoch(&R, 1, &wk);
  if (rc == 0) rc = roster_append_spec(&R, self, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  for (size_t i = 0; rc == 0 && i < n_members; i++) rc = roster_append_spec(&R, &members[i], 0);
  if (rc == 0) rc = group__roster_normalize(&R);
  if (rc == 0 && !group__listed(&R, identity->pub, device_key)) rc = MOMEDO_E_INVAL;
  if (rc == 0) rc = group__roster_sign(&R, identity, rec, rec_len);
  if (rc == 0) rc = group__roster_parse(&V, *rec, *rec_len, 1);
  uint8_t *copy = rc == 0 ? malloc(*rec_len) : NULL;
  if (rc == 0 && (copy == NULL || (ch = calloc(1, sizeof *ch)) == NULL)) rc = MOMEDO_E_NOMEM;
  if (rc == 0) {
    memcpy(copy, *rec, *rec_len);
    group__rec_take(ch, copy, *rec_len, &V);
    copy = NULL;
    rc = group__state_new(out, identity->pub, device_key, &V, ch, 1);
  }
  if (rc == 0) keep_write_key(*out, &wk);
  if (rc < 0) {
    free(*rec);
    *rec = NULL, *rec_len = 0;
  }
  free(copy);
  crypto_wipe(&wk, sizeof wk);
  group__roster_clear(&R);
  group__roster_clear(&V);
  return rc;
}

/* ---- changes by this user ---- */

/* Only an admin of the head signs a change. */
static int group_may_change(struct group *g, const struct crypto_sign_keypair *id) {
  g->why[0] = 0;
  if (memcmp(id->pub, g->me_id, 32) != 0)
    return group__fail(g, MOMEDO_E_INVAL, "identity key is not this state's user");
  if (g->removed) return group__fail(g, MOMEDO_E_DENIED, "this device is not a member");
  if (!group__is_admin(&g->r, g->me_id))
    return group__fail(g, MOMEDO_E_DENIED, "only an admin changes the group (members ask one)");
  return 0;
}

/* A copy of g's roster to modify, after checking this user may change it; no record
 * yet. R is always safe to pass to group_finish_change. */
static int group_begin_change(struct group *g, const struct crypto_sign_keypair *id,
                              struct group_roster *R, uint8_t **rec, size_t *rec_len) {
  *rec = NULL, *rec_len = 0;
  memset(R, 0, sizeof *R);
  int rc = group_may_change(g, id);
  return rc < 0 ? rc : group__roster_copy(R, &g->r);
}

/* A new epoch is needed: asked for, something removed, the mode changed, or who posts
 * in a channel changed. */
static int needs_epoch(const struct group_roster *P, const struct group_roster *R, int asked) {
  if (asked || group__roster_lost(P, R) || P->mode != R->mode) return 1;
  if (R->mode != MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL) return 0;
  for (size_t i = 0; i < P->n; i++) {
    long j = group__find(R, P->m[i].id);
    if (j >= 0 && R->m[j].role != P->m[i].role) return 1;
  }
  return 0;
}

/* The tail of every change: rc is the result of editing R (a modified copy of g's
 * roster). On an error, return it. Else finish R: next version, signer, epoch, sign,
 * and apply through the same checks every member runs. R is cleared either way. */
static int group_finish_change(struct group *g, const struct crypto_sign_keypair *id,
                               struct group_roster *R, int rc, int change, int new_epoch,
                               uint64_t now_ms, uint8_t **rec, size_t *rec_len) {
  struct crypto_sign_keypair wk;
  int fresh = 0;
  memset(&wk, 0, sizeof wk);
  if (rc < 0) goto out;
  rc = group__roster_normalize(R);
  if (rc == MOMEDO_E_EXISTS) rc = group__fail(g, rc, "member is already in the group");
  if (rc < 0) goto out;
  if (needs_epoch(&g->r, R, new_epoch)) {
    if ((rc = roster_new_epoch(R, g->r.epoch + 1, &wk)) < 0) goto out;
    fresh = 1;
  }
  R->version = g->r.version + 1;
  R->has_prev = 1;
  memcpy(R->prev, g->r.hash, 32);
  R->change = change, R->created_ms = now_ms;
  memcpy(R->signer, id->pub, 32);
  if (R->recorded && !g->r.recorded) { /* marked by this record: its signer, its time */
    memcpy(R->rec_by, id->pub, 32);
    R->rec_since_ms = now_ms;
  }
  if ((rc = group__roster_sign(R, id, rec, rec_len)) < 0) goto out;
  if ((rc = group_record_apply(g, *rec, *rec_len, now_ms, NULL)) < 0) {
    free(*rec);
    *rec = NULL, *rec_len = 0;
  } else if (fresh) {
    keep_write_key(g, &wk);
  }
out:
  crypto_wipe(&wk, sizeof wk);
  group__roster_clear(R);
  return rc;
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

/* Remove members (change is REMOVE, or LEAVE for a member's own request). */
int group__remove_as(struct group *g, const struct crypto_sign_keypair *identity,
                     const uint8_t (*identity_keys)[32], size_t n, int change, uint64_t now_ms,
                     uint8_t **rec, size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  if (rc == 0 && (n == 0 || identity_keys == NULL)) rc = MOMEDO_E_INVAL;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    long j = group__find(&R, identity_keys[i]);
    if (j < 0) rc = group__fail(g, MOMEDO_E_NOTFOUND, "not a member");
    else group__roster_delete(&R, (size_t)j);
  }
  return group_finish_change(g, identity, &R, rc, change, 1, now_ms, rec, rec_len);
}

int group_remove(struct group *g, const struct crypto_sign_keypair *identity,
                 const uint8_t (*identity_keys)[32], size_t n, uint64_t now_ms, uint8_t **rec,
                 size_t *rec_len) {
  return group__remove_as(g, identity, identity_keys, n, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_REMOVE,
                          now_ms, rec, rec_len);
}

int group_leave(struct group *g, const struct crypto_sign_keypair *identity, uint64_t now_ms,
                uint8_t **rec, size_t *rec_len) {
  return group__remove_as(g, identity, (const uint8_t(*)[32])g->me_id, 1,
                          MOMEDO__GROUP_CHANGE__GROUP_CHANGE_LEAVE, now_ms, rec, rec_len);
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
    group__roster_delete(&R, (size_t)j);
    rc = group__roster_append(&R, member->identity_key, role, member->devices, member->n_devices);
  }
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_DEVICES, 0,
                             now_ms, rec, rec_len);
}

int group_set_recorded(struct group *g, const struct crypto_sign_keypair *identity, int on,
                       uint64_t now_ms, uint8_t **rec, size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  if (rc == 0 && !!on == g->r.recorded)
    rc = group__fail(g, MOMEDO_E_EXISTS, on ? "already recorded" : "not recorded");
  if (rc == 0) R.recorded = !!on;
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_SETTINGS, 0,
                             now_ms, rec, rec_len);
}

int group_rotate(struct group *g, const struct crypto_sign_keypair *identity, uint64_t now_ms,
                 uint8_t **rec, size_t *rec_len) {
  struct group_roster R;
  int rc = group_begin_change(g, identity, &R, rec, rec_len);
  return group_finish_change(g, identity, &R, rc, MOMEDO__GROUP_CHANGE__GROUP_CHANGE_ROTATE, 1,
                             now_ms, rec, rec_len);
}

/* ---- rebase: a change that lost a fork choice, made again on the head ---- */

/* devs of member i of A, as a set operation: base + (add \ sub) - (sub \ add) for
 * devices of member a of roster A (add) and p of P (sub). Sorted by append later. */
static int devices_merge(uint8_t (*out)[32], size_t *n, const struct group_roster *H, size_t h,
                         const struct group_roster *P, size_t p, const struct group_roster *L,
                         size_t l) {
  size_t k = 0;
  for (uint32_t d = 0; d < H->m[h].ndev; d++) {
    const uint8_t *dev = H->dev[H->m[h].dev0 + d];
    if (group__has_device(P, p, dev) && !group__has_device(L, l, dev)) continue; /* L dropped it */
    memcpy(out[k++], dev, 32);
  }
  for (uint32_t d = 0; d < L->m[l].ndev; d++) {
    const uint8_t *dev = L->dev[L->m[l].dev0 + d];
    if (group__has_device(P, p, dev) || group__has_device(H, h, dev)) continue;
    if (k == GROUP_MEMBER_DEVICES_MAX) return MOMEDO_E_BOUNDS;
    memcpy(out[k++], dev, 32);
  }
  *n = k;
  return k ? 0 : MOMEDO_E_BOUNDS;
}

/* N = the head H with the change P -> L made on it (members L removed or added, the
 * roles and devices L changed, name and mode). */
static int roster_rebase(struct group_roster *N, const struct group_roster *H,
                         const struct group_roster *P, const struct group_roster *L) {
  uint8_t devs[GROUP_MEMBER_DEVICES_MAX][32];
  int rc = group__roster_copy(N, H);
  if (rc < 0) return rc;
  N->n = N->ndev = 0;
  for (size_t h = 0; rc == 0 && h < H->n; h++) {
    long p = group__find(P, H->m[h].id), l = group__find(L, H->m[h].id);
    size_t nd = H->m[h].ndev;
    int role = H->m[h].role;
    if (p >= 0 && l < 0) continue; /* L removed it */
    memcpy(devs, H->dev[H->m[h].dev0], nd * 32);
    if (p >= 0) {
      if (L->m[l].role != P->m[p].role) role = L->m[l].role;
      rc = devices_merge(devs, &nd, H, h, P, (size_t)p, L, (size_t)l);
    }
    if (rc == 0) rc = group__roster_append(N, H->m[h].id, role, (const uint8_t(*)[32])devs, nd);
  }
  for (size_t l = 0; rc == 0 && l < L->n; l++)
    if (group__find(P, L->m[l].id) < 0 && group__find(H, L->m[l].id) < 0)
      rc = group__roster_append(N, L->m[l].id, L->m[l].role,
                                (const uint8_t(*)[32])L->dev[L->m[l].dev0], L->m[l].ndev);
  if (strcmp(P->name, L->name) != 0) memcpy(N->name, L->name, sizeof N->name);
  if (P->mode != L->mode) N->mode = L->mode;
  if (P->recorded != L->recorded) N->recorded = L->recorded; /* by and since: finish_change */
  return rc == 0 ? group__roster_normalize(N) : rc;
}

static int roster_same(const struct group_roster *A, const struct group_roster *B) {
  if (A->n != B->n || A->ndev != B->ndev || A->mode != B->mode || A->recorded != B->recorded ||
      strcmp(A->name, B->name) != 0)
    return 0;
  for (size_t i = 0; i < A->n; i++)
    if (memcmp(A->m[i].id, B->m[i].id, 32) != 0 || A->m[i].role != B->m[i].role ||
        A->m[i].ndev != B->m[i].ndev ||
        memcmp(A->dev[A->m[i].dev0], B->dev[B->m[i].dev0], (size_t)A->m[i].ndev * 32) != 0)
      return 0;
  return 1;
}

/* Make the change of alt (this user's, beside the chain) again on the head. */
static int rebase_one(struct group *g, const struct crypto_sign_keypair *id,
                      const struct group_rec *alt, uint64_t now_ms, uint8_t **rec,
                      size_t *rec_len) {
  struct group_roster P, L, N;
  const struct group_rec *prev = group__rec_held(g, alt->prev);
  memset(&P, 0, sizeof P);
  memset(&L, 0, sizeof L);
  memset(&N, 0, sizeof N);
  int rc = prev ? group__roster_parse(&P, prev->b, prev->n, 0) : MOMEDO_E_NOTFOUND;
  if (rc == 0) rc = group__roster_parse(&L, alt->b, alt->n, 0);
  if (rc == 0) rc = roster_rebase(&N, &g->r, &P, &L);
  int rotate = rc == 0 && L.change == MOMEDO__GROUP_CHANGE__GROUP_CHANGE_ROTATE;
  int change = L.change;
  int same = rc == 0 && roster_same(&N, &g->r);
  group__roster_clear(&P);
  group__roster_clear(&L);
  if (rc < 0 || (same && !rotate)) {
    group__roster_clear(&N);
    return rc;
  }
  return group_finish_change(g, id, &N, 0, change, rotate, now_ms, rec, rec_len);
}

int group_rebase(struct group *g, const struct crypto_sign_keypair *identity, uint64_t now_ms,
                 uint8_t **rec, size_t *rec_len) {
  *rec = NULL, *rec_len = 0;
  g->why[0] = 0;
  if (memcmp(identity->pub, g->me_id, 32) != 0)
    return group__fail(g, MOMEDO_E_INVAL, "identity key is not this state's user");
  for (;;) {
    size_t best = g->n_alt;
    for (size_t i = 0; i < g->n_alt; i++)
      if (!g->alt[i].rebased && memcmp(g->alt[i].signer, g->me_id, 32) == 0 &&
          (best == g->n_alt || g->alt[i].version < g->alt[best].version))
        best = i;
    if (best == g->n_alt) return 0;
    g->alt[best].rebased = 1;
    if (group_may_change(g, identity) < 0) continue; /* not an admin any more: it stays lost */
    struct group_rec alt = g->alt[best]; /* the array may move while the change applies */
    int rc = rebase_one(g, identity, &alt, now_ms, rec, rec_len);
    if (rc < 0 || *rec != NULL) return rc;
  }
}
