/* client/core/engine_admin.c — group administration (issue 13 part 1): create a group or
 * announcement channel, add and remove members, leave, promote and demote, mark it
 * recorded. Each change is built and judged by the group core (group.h), applied, owed
 * to the devices that must learn it, delivered and saved; what it did comes back in a
 * struct eng_group_result for the front-end to show. Prints nothing. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* The reason the group core gave for a refused change, else the status's words. */
static const char *refusal(const struct eng_group *cg, int rc) {
  return group_reason(cg->g)[0] ? group_reason(cg->g) : momedo_strerror(rc);
}

/* The identity key a member reference names, with the contact's devices fresh (a user
 * ID or alias that is not a contact yet is looked up and pinned, unnamed). */
static int member_key(struct eng *c, struct eng_state *st, struct eng_conn *cn, const char *ref,
                      uint8_t key[static 32]) {
  uint8_t bits[IDS_USER_ID_BYTES];
  struct nodeapi_bundle b;
  struct contact *ct = contacts_resolve(&st->contacts, ref);
  int rc;
  if (!ct) {
    struct nodeapi_lookup_q q = {0};
    rc = ids_user_id_parse(bits, ref);
    if (rc == MOMEDO_E_CHECKSUM)
      return eng_fail(c, rc, "'%s' has a typo: its check character does not match", ref);
    if (rc == 0) q.user_id = ref;
    else q.alias = ref;
    if ((rc = eng_lookup(c, cn, &q, key, &b)) != 0) return rc;
    if (memcmp(key, st->acct.identity.pub, 32) == 0)
      return eng_fail(c, MOMEDO_E_INVAL, "'%s' is you: you are in the group already", ref);
    rc = contacts_pin(&st->contacts, key, NULL, NULL, os_wall_ms(), &ct);
    if (rc == 0) rc = contacts_set_bundle(ct, b.bundle);
    if (rc) return eng_fail(c, rc, "cannot pin %s: %s", ref, momedo_strerror(rc));
    return 0;
  }
  memcpy(key, ct->key, 32);
  if (ct->has_pending)
    return eng_fail(c, MOMEDO_E_KEYCHANGED, "the key of %s has CHANGED: verify it first "
                    "(`momedo contact verify`)", contact_label(ct));
  if ((rc = eng_refresh_contact(c, st, cn, ct)) != 0) {
    if (ct->n_devices == 0) return rc;
    eng__note(c, "momedo: note: using the cached key bundle of %s (%s)\n", contact_label(ct),
              c->why);
  }
  return 0;
}

/* Member specs for refs: keys[i] and devs[i] are owned by the caller. */
struct specs {
  struct group_member_spec *v;
  uint8_t (*keys)[32];
  uint8_t (*devs)[OBJ_DEVICES_MAX][32];
  size_t n;
};

static void specs_free(struct specs *s) {
  free(s->v);
  free(s->keys);
  free(s->devs);
  memset(s, 0, sizeof *s);
}

static int specs_build(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                       const char *const *refs, size_t n, struct specs *s) {
  memset(s, 0, sizeof *s);
  s->v = calloc(n ? n : 1, sizeof *s->v);
  s->keys = calloc(n ? n : 1, sizeof *s->keys);
  s->devs = calloc(n ? n : 1, sizeof *s->devs);
  if (!s->v || !s->keys || !s->devs) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    int rc = member_key(c, st, cn, refs[i], s->keys[i]);
    if (rc) return rc;
  }
  for (size_t i = 0; i < n; i++) { /* pointers only now: pinning may move the contacts */
    const struct contact *ct = contacts_find_key(&st->contacts, s->keys[i]);
    if (!ct || ct->n_devices == 0)
      return eng_fail(c, MOMEDO_E_NOTFOUND, "%s has no devices in their key bundle", refs[i]);
    for (size_t d = 0; d < ct->n_devices; d++)
      memcpy(s->devs[i][d], ct->devices[d].device_key, 32);
    s->v[i] = (struct group_member_spec){s->keys[i], MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER,
                                         (const uint8_t(*)[32])s->devs[i], ct->n_devices};
    s->n++;
  }
  return 0;
}

/* The identity keys of members named by refs (contacts or user IDs). */
static int member_keys(struct eng *c, struct eng_state *st, const struct eng_group *cg,
                       const char *const *refs, size_t n, uint8_t (*keys)[32]) {
  struct group_member_view mv;
  for (size_t i = 0; i < n; i++) {
    const struct contact *ct = contacts_resolve(&st->contacts, refs[i]);
    int found = 0;
    for (size_t k = 0; !found && k < group_member_count(cg->g); k++) {
      if (group_member_at(cg->g, k, &mv) != 0) continue;
      found = ct ? !memcmp(ct->key, mv.identity_key, 32)
                 : ids_user_id_matches(refs[i], mv.identity_key) == 1;
      if (found) memcpy(keys[i], mv.identity_key, 32);
    }
    if (!found)
      return eng_fail(c, MOMEDO_E_NOTFOUND, "'%s' is not a member of %s", refs[i],
                      eng_group_name(cg));
    if (!memcmp(keys[i], st->acct.identity.pub, 32))
      return eng_fail(c, MOMEDO_E_INVAL, "that is you: use `momedo group leave %s`",
                      eng_group_name(cg));
  }
  return 0;
}

/* What the head was before a change: its devices and version. */
struct before {
  struct eng_gdev *dev;
  size_t n;
  uint64_t version;
};

static int before_take(struct eng *c, const struct eng_group *cg, struct before *b) {
  struct group_info gi;
  memset(b, 0, sizeof *b);
  if (!cg) return 0;
  group_get_info(cg->g, &gi);
  b->version = gi.version;
  return eng__group_devices(cg, &b->dev, &b->n) ? eng_fail(c, MOMEDO_E_NOMEM, "out of memory")
                                                : 0;
}

/* Apply a change the core built, owe the records to the new list (the whole chain to
 * devices that join), deliver, save; res (may be NULL) gets what was done. */
static int after_change(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        struct eng_group *cg, uint8_t *rec, struct before *b,
                        struct eng_group_result *res) {
  struct eng_group_sent fs = {0, 0};
  free(rec); /* the group holds the same bytes as its head */
  cg->dirty = 1;
  int rc = eng__group_owe(st, cg, b->dev, b->n, b->version);
  free(b->dev);
  b->dev = NULL;
  if (rc) return eng_fail(c, rc, "out of memory");
  rc = eng__group_flush(c, st, cn, cg, &fs);
  char why[ENG_WHY_MAX];
  snprintf(why, sizeof why, "%s", c->why);
  int r2 = eng_save(c, st); /* the change is signed and applied: keep it whatever happened */
  if (rc) {
    snprintf(c->why, sizeof c->why, "%.600s (the change is saved; the rest is delivered at "
             "your next send or sync)", why);
    return rc;
  }
  if (r2) return r2;
  if (res) {
    memset(res, 0, sizeof *res);
    group_get_info(cg->g, &res->gi);
    res->records = fs.records;
    res->keys = fs.keys;
    res->owed = cg->n_need;
  }
  return 0;
}

int eng_group_may_change(struct eng *c, struct eng_state *st, const struct eng_group *cg) {
  struct group_info gi;
  if (!st->acct.has_identity)
    return eng_fail(c, MOMEDO_E_DENIED, "group changes are signed with your identity key, "
                    "which only your first device holds: run this there");
  if (!cg) return 0;
  group_get_info(cg->g, &gi);
  if (gi.my_role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN && !gi.removed) return 0;
  return eng_fail(c, MOMEDO_E_DENIED, "only an admin of %s changes who is in it%s", gi.name,
                  gi.removed ? " (and you are no longer a member)" : "");
}

int eng_group_create(struct eng *c, struct eng_state *st, struct eng_conn *cn, const char *name,
                     const char *const *refs, size_t n_refs, int channel,
                     struct eng_group **out, struct eng_group_result *res) {
  struct specs s;
  struct group *g = NULL;
  struct eng_group *cg = NULL;
  uint8_t *rec = NULL, (*mine)[32] = NULL;
  size_t rl = 0;
  int amb = 0;
  int rc = eng_group_may_change(c, st, NULL);
  if (rc) return rc;
  memset(&s, 0, sizeof s);
  size_t nl = strlen(name);
  if (nl == 0 || nl > GROUP_NAME_BYTES_MAX || !strncmp(name, ENG_CHANNEL_PREFIX,
                                                       strlen(ENG_CHANNEL_PREFIX)))
    return eng_fail(c, MOMEDO_E_INVAL, "a group name has 1..%d bytes and does not start with "
                    "'%s'", GROUP_NAME_BYTES_MAX, ENG_CHANNEL_PREFIX);
  if (eng_group_lookup(st, name, &amb) || amb)
    return eng_fail(c, MOMEDO_E_EXISTS, "you already have a group named '%s'", name);
  rc = specs_build(c, st, cn, refs, n_refs, &s);
  if (rc == 0 && !(mine = calloc(st->acct.n_devices, 32))) rc = MOMEDO_E_NOMEM;
  if (rc == 0) {
    for (size_t i = 0; i < st->acct.n_devices; i++)
      memcpy(mine[i], st->acct.devices[i].device_key, 32);
    struct group_member_spec self = {st->acct.identity.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN,
                                     (const uint8_t(*)[32])mine, st->acct.n_devices};
    Momedo__GroupMode mode = channel ? MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL
                                     : MOMEDO__GROUP_MODE__GROUP_MODE_GROUP;
    rc = group_create(&g, &st->acct.identity, st->acct.device.pub, mode, name, &self, s.v, s.n,
                      os_wall_ms(), &rec, &rl);
    if (rc == MOMEDO_E_EXISTS) rc = eng_fail(c, rc, "a member is named twice");
    else if (rc) rc = eng_fail(c, rc, "cannot create the group: %s", momedo_strerror(rc));
  }
  if (rc == 0 && (rc = eng__group_add(&st->gr, g, &cg)) != 0) {
    group_free(g);
    rc = eng_fail(c, rc, "cannot keep another group (at most %d)", ENG_GROUPS_MAX);
  }
  free(mine);
  specs_free(&s);
  if (rc) {
    free(rec);
    return rc;
  }
  struct before b = {NULL, 0, 0}; /* everyone joins: the whole chain */
  if (out) *out = cg;
  return after_change(c, st, cn, cg, rec, &b, res);
}

int eng_group_add(struct eng *c, struct eng_state *st, struct eng_conn *cn, struct eng_group *cg,
                  const char *const *refs, size_t n_refs, struct eng_group_result *res) {
  struct specs s;
  uint8_t *rec = NULL, id[GROUP_ID_LEN];
  size_t rl = 0;
  struct before b;
  int rc = eng_group_may_change(c, st, cg);
  if (rc) return rc;
  memcpy(id, cg->id, GROUP_ID_LEN);
  rc = specs_build(c, st, cn, refs, n_refs, &s);
  cg = eng_group_by_id(st, id);
  if (rc == 0) rc = before_take(c, cg, &b);
  if (rc == 0 && (rc = group_add(cg->g, &st->acct.identity, s.v, s.n, os_wall_ms(), &rec, &rl))) {
    rc = eng_fail(c, rc, "cannot add: %s", refusal(cg, rc));
    free(b.dev);
  }
  specs_free(&s);
  return rc ? rc : after_change(c, st, cn, cg, rec, &b, res);
}

/* The start of a change to members refs of cg (remove, set roles): the right to make
 * it, their identity keys (*keys, malloc'ed) and the head before it. On failure nothing
 * is left to free. */
static int members_before(struct eng *c, struct eng_state *st, const struct eng_group *cg,
                          const char *const *refs, size_t n, uint8_t (**keys)[32],
                          struct before *b) {
  memset(b, 0, sizeof *b);
  *keys = NULL;
  int rc = eng_group_may_change(c, st, cg);
  if (rc) return rc;
  *keys = calloc(n ? n : 1, 32);
  rc = *keys ? member_keys(c, st, cg, refs, n, *keys) : MOMEDO_E_NOMEM;
  if (rc == 0) rc = before_take(c, cg, b);
  if (rc) {
    free(*keys);
    *keys = NULL;
  }
  return rc;
}

int eng_group_remove(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                     struct eng_group *cg, const char *const *refs, size_t n,
                     struct eng_group_result *res) {
  size_t rl = 0;
  uint8_t(*keys)[32] = NULL, *rec = NULL;
  struct before b;
  int rc = members_before(c, st, cg, refs, n, &keys, &b);
  if (rc) return rc;
  if ((rc = group_remove(cg->g, &st->acct.identity, (const uint8_t(*)[32])keys, n, os_wall_ms(),
                         &rec, &rl)) != 0)
    rc = eng_fail(c, rc, "cannot remove: %s", refusal(cg, rc));
  free(keys);
  if (rc) free(b.dev);
  return rc ? rc : after_change(c, st, cn, cg, rec, &b, res);
}

/* A member asks the admins to remove it: the request goes to every admin device now;
 * the state is kept (read-only) only when at least one took it. */
static int leave_by_request(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                            struct eng_group *cg, struct eng_group_result *res) {
  uint8_t *req = NULL, *pt = NULL;
  size_t rl = 0, len = 0, nt = 0, sent = 0;
  struct group_device *t = NULL;
  int rc = group_request_leave(cg->g, &st->acct.identity, os_wall_ms(), &req, &rl);
  if (rc == 0) rc = group_request_content(req, rl, st->acct.device.pub, os_wall_ms(), &pt, &len);
  if (rc == 0) rc = group_admin_devices(cg->g, &t, &nt);
  if (rc) rc = eng_fail(c, rc, "cannot leave: %s", refusal(cg, rc));
  if (rc == 0) rc = eng__group_send_to(c, st, cn, pt, len, t, nt, &sent);
  if (rc == 0 && sent == 0)
    rc = eng_fail(c, MOMEDO_E_NOTFOUND, "no admin of %s could be reached: try again later",
                  eng_group_name(cg));
  if (rc == 0) {
    cg->dirty = 1;
    rc = eng_save(c, st);
  }
  if (rc == 0 && res) {
    memset(res, 0, sizeof *res);
    group_get_info(cg->g, &res->gi);
    res->by_request = 1;
    res->asked_admins = sent;
  }
  free(req);
  if (pt) crypto_wipe(pt, len);
  free(pt);
  free(t);
  return rc;
}

int eng_group_leave(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                    struct eng_group *cg, struct eng_group_result *res) {
  uint8_t *rec = NULL;
  size_t rl = 0;
  struct group_info gi;
  struct before b;
  int rc = eng_group_may_change(c, st, NULL);
  if (rc) return rc;
  group_get_info(cg->g, &gi);
  if (gi.my_role != MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN)
    return leave_by_request(c, st, cn, cg, res);
  if ((rc = before_take(c, cg, &b)) != 0) return rc;
  rc = group_leave(cg->g, &st->acct.identity, os_wall_ms(), &rec, &rl);
  if (rc) {
    free(b.dev);
    return eng_fail(c, rc, "cannot leave: %s", refusal(cg, rc));
  }
  return after_change(c, st, cn, cg, rec, &b, res);
}

int eng_group_set_role(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                       struct eng_group *cg, const char *const *refs, size_t n,
                       Momedo__GroupRole role, struct eng_group_result *res) {
  size_t rl = 0;
  uint8_t(*keys)[32] = NULL, *rec = NULL;
  struct before b;
  int rc = members_before(c, st, cg, refs, n, &keys, &b);
  if (rc) return rc;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    free(rec); /* one record per member; all after b.version are owed at the end */
    rec = NULL;
    if ((rc = group_set_role(cg->g, &st->acct.identity, keys[i], role, os_wall_ms(), &rec,
                             &rl)) != 0)
      rc = eng_fail(c, rc, "cannot change the role: %s", refusal(cg, rc));
  }
  free(keys);
  if (rc) {
    free(b.dev);
    free(rec);
    return rc;
  }
  return after_change(c, st, cn, cg, rec, &b, res);
}

int eng_group_record(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                     struct eng_group *cg, int on, struct eng_group_result *res) {
  struct before b = {NULL, 0, 0};
  uint8_t *rec = NULL;
  size_t rl = 0;
  int rc = eng_group_may_change(c, st, cg);
  if (rc == 0) rc = before_take(c, cg, &b);
  if (rc == 0 && (rc = group_set_recorded(cg->g, &st->acct.identity, on, os_wall_ms(), &rec,
                                          &rl)) != 0)
    rc = eng_fail(c, rc, "cannot %s it: %s", on ? "mark" : "unmark", refusal(cg, rc));
  if (rc) {
    free(b.dev);
    return rc;
  }
  return after_change(c, st, cn, cg, rec, &b, res);
}
