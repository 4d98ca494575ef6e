/* client/cli/cli_group.c — groups and announcement channels for the command line:
 * `group create|add|remove|leave|promote|demote|record|members` and `groups`, and their
 * output. Finding a group, posting to it and control messages are the engine's
 * (client/core/engine_group*.c); all membership and key decisions are the group core's
 * (group.h); this file never judges a record. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hex.h"

/* ---- commands ------------------------------------------------------------------- */

/* The identity key a member reference names, with the contact's devices fresh (a user
 * ID or alias that is not a contact yet is looked up and pinned, unnamed). */
static int member_key(struct cli *c, struct eng_state *st, struct eng_conn *cn, const char *ref,
                      uint8_t key[static 32]) {
  uint8_t bits[IDS_USER_ID_BYTES];
  struct nodeapi_bundle b;
  struct contact *ct = contacts_resolve(&st->contacts, ref);
  int rc;
  if (!ct) {
    struct nodeapi_lookup_q q = {0};
    rc = ids_user_id_parse(bits, ref);
    if (rc == MOMEDO_E_CHECKSUM)
      return cli_fail(c, rc, "'%s' has a typo: its check character does not match", ref);
    if (rc == 0) q.user_id = ref;
    else q.alias = ref;
    if ((rc = eng_lookup(&c->e, cn, &q, key, &b)) != 0) return rc;
    if (memcmp(key, st->acct.identity.pub, 32) == 0)
      return cli_fail(c, MOMEDO_E_INVAL, "'%s' is you: you are in the group already", ref);
    rc = contacts_pin(&st->contacts, key, NULL, NULL, os_wall_ms(), &ct);
    if (rc == 0) rc = contacts_set_bundle(ct, b.bundle);
    if (rc) return cli_fail(c, rc, "cannot pin %s: %s", ref, momedo_strerror(rc));
    return 0;
  }
  memcpy(key, ct->key, 32);
  if (ct->has_pending)
    return cli_fail(c, MOMEDO_E_KEYCHANGED, "the key of %s has CHANGED: verify it first "
                    "(`momedo contact verify`)", contact_label(ct));
  if ((rc = eng_refresh_contact(&c->e, st, cn, ct)) != 0) {
    if (ct->n_devices == 0) return rc;
    fprintf(stderr, "momedo: note: using the cached key bundle of %s (%s)\n", contact_label(ct),
            c->e.why);
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

static int specs_build(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                       const char *const *refs, size_t n, struct specs *s) {
  memset(s, 0, sizeof *s);
  s->v = calloc(n ? n : 1, sizeof *s->v);
  s->keys = calloc(n ? n : 1, sizeof *s->keys);
  s->devs = calloc(n ? n : 1, sizeof *s->devs);
  if (!s->v || !s->keys || !s->devs) return cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    int rc = member_key(c, st, cn, refs[i], s->keys[i]);
    if (rc) return rc;
  }
  for (size_t i = 0; i < n; i++) { /* pointers only now: pinning may move the contacts */
    const struct contact *ct = contacts_find_key(&st->contacts, s->keys[i]);
    if (!ct || ct->n_devices == 0)
      return cli_fail(c, MOMEDO_E_NOTFOUND, "%s has no devices in their key bundle", refs[i]);
    for (size_t d = 0; d < ct->n_devices; d++)
      memcpy(s->devs[i][d], ct->devices[d].device_key, 32);
    s->v[i] = (struct group_member_spec){s->keys[i], MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER,
                                         (const uint8_t(*)[32])s->devs[i], ct->n_devices};
    s->n++;
  }
  return 0;
}

static const char *mode_name(Momedo__GroupMode m) {
  return m == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL ? "channel" : "group";
}

static const char *role_name(Momedo__GroupRole r) {
  return r == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN    ? "admin"
         : r == MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER ? "member"
                                                      : "none";
}

/* name, group_id, mode, version, epoch: what every group line in JSON starts with. */
static void json_group(struct jsonw *j, const struct group_info *gi, const char *hex) {
  jsonw_str(j, "group", gi->name);
  jsonw_str(j, "group_id", hex);
  jsonw_str(j, "mode", mode_name(gi->mode));
  jsonw_u64(j, "version", gi->version);
  jsonw_u64(j, "epoch", gi->epoch);
}

static void print_change(struct cli *c, const char *what, const struct eng_group *cg,
                         const struct eng_group_sent *fs) {
  struct group_info gi;
  char hex[2 * GROUP_ID_LEN + 1], mb[2 * OBJ_MAILBOX_LEN + 1];
  group_get_info(cg->g, &gi);
  hex_encode(hex, sizeof hex, gi.group_id, GROUP_ID_LEN);
  hex_encode(mb, sizeof mb, gi.mailbox, OBJ_MAILBOX_LEN);
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "action", what);
    json_group(&j, &gi, hex);
    jsonw_u64(&j, "members", gi.n_members);
    jsonw_u64(&j, "devices", gi.n_devices);
    jsonw_str(&j, "mailbox", mb);
    jsonw_u64(&j, "records_sent", fs->records);
    jsonw_u64(&j, "keys_sent", fs->keys);
    jsonw_u64(&j, "owed", cg->n_need);
    jsonw_end(&j);
    return;
  }
  printf("%s %s '%s' (ID %.12s): %zu member(s), epoch %llu; record sent to %zu device(s), "
         "key to %zu\n", what, gi.mode == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL
                               ? "announcement channel" : "group",
         gi.name, hex, gi.n_members, (unsigned long long)gi.epoch, fs->records, fs->keys);
  if (cg->n_need)
    printf("  %zu device(s) still owed the record: they get it at your next send or sync\n",
           cg->n_need);
}

/* The identity keys of members named by refs (contacts or user IDs). */
static int member_keys(struct cli *c, struct eng_state *st, const struct eng_group *cg,
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
      return cli_fail(c, MOMEDO_E_NOTFOUND, "'%s' is not a member of %s", refs[i],
                      eng_group_name(cg));
    if (!memcmp(keys[i], st->acct.identity.pub, 32))
      return cli_fail(c, MOMEDO_E_INVAL, "that is you: use `momedo group leave %s`",
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

static int before_take(struct cli *c, const struct eng_group *cg, struct before *b) {
  struct group_info gi;
  memset(b, 0, sizeof *b);
  if (!cg) return 0;
  group_get_info(cg->g, &gi);
  b->version = gi.version;
  return eng__group_devices(cg, &b->dev, &b->n) ? cli_fail(c, MOMEDO_E_NOMEM, "out of memory") : 0;
}

/* Apply a change the core built, owe the records to the new list (the whole chain to
 * devices that join), deliver. */
static int after_change(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                        struct eng_group *cg, uint8_t *rec, const char *what,
                        struct before *b) {
  struct eng_group_sent fs = {0, 0};
  free(rec); /* the group holds the same bytes as its head */
  cg->dirty = 1;
  int rc = eng__group_owe(st, cg, b->dev, b->n, b->version);
  free(b->dev);
  b->dev = NULL;
  if (rc) return cli_fail(c, rc, "out of memory");
  rc = eng__group_flush(&c->e, st, cn, cg, &fs);
  char why[ENG_WHY_MAX];
  snprintf(why, sizeof why, "%s", c->e.why);
  int r2 = eng_save(&c->e, st); /* the change is signed and applied: keep it whatever happened */
  if (rc) {
    snprintf(c->e.why, sizeof c->e.why, "%.600s (the change is saved; the rest is delivered at "
             "your next send or sync)", why);
    return rc;
  }
  if (r2) return r2;
  if (what) print_change(c, what, cg, &fs);
  return 0;
}

static int need_identity(struct cli *c, struct eng_state *st) {
  if (st->acct.has_identity) return 0;
  return cli_fail(c, MOMEDO_E_DENIED, "group changes are signed with your identity key, which "
                  "only your first device holds: run this there");
}

static int need_admin(struct cli *c, const struct eng_group *cg) {
  struct group_info gi;
  group_get_info(cg->g, &gi);
  if (gi.my_role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN && !gi.removed) return 0;
  return cli_fail(c, MOMEDO_E_DENIED, "only an admin of %s changes who is in it%s", gi.name,
                  gi.removed ? " (and you are no longer a member)" : "");
}

/* A new group (channel: an announcement channel) of this user and refs; what (NULL:
 * quiet) names the change when printed; *out (may be NULL) the group. */
static int create_refs(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                       const char *name, const char *const *refs, size_t n_refs, int channel,
                       const char *what, struct eng_group **out) {
  struct specs s;
  struct group *g = NULL;
  struct eng_group *cg = NULL;
  uint8_t *rec = NULL, (*mine)[32] = NULL;
  size_t rl = 0;
  int amb = 0;
  memset(&s, 0, sizeof s);
  size_t nl = strlen(name);
  if (nl == 0 || nl > GROUP_NAME_BYTES_MAX || !strncmp(name, ENG_CHANNEL_PREFIX,
                                                       strlen(ENG_CHANNEL_PREFIX)))
    return cli_fail(c, MOMEDO_E_INVAL, "a group name has 1..%d bytes and does not start with "
                    "'%s'", GROUP_NAME_BYTES_MAX, ENG_CHANNEL_PREFIX);
  if (eng_group_lookup(st, name, &amb) || amb)
    return cli_fail(c, MOMEDO_E_EXISTS, "you already have a group named '%s'", name);
  int rc = specs_build(c, st, cn, refs, n_refs, &s);
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
    if (rc == MOMEDO_E_EXISTS) rc = cli_fail(c, rc, "a member is named twice");
    else if (rc) rc = cli_fail(c, rc, "cannot create the group: %s", momedo_strerror(rc));
  }
  if (rc == 0 && (rc = eng__group_add(&st->gr, g, &cg)) != 0) {
    group_free(g);
    rc = cli_fail(c, rc, "cannot keep another group (at most %d)", ENG_GROUPS_MAX);
  }
  free(mine);
  specs_free(&s);
  if (rc) {
    free(rec);
    return rc;
  }
  struct before b = {NULL, 0, 0}; /* everyone joins: the whole chain */
  if (out) *out = cg;
  return after_change(c, st, cn, cg, rec, what, &b);
}

int cli_group_create(struct cli *c, struct eng_state *st, struct eng_conn *cn, const char *name,
                     const char *const *refs, size_t n_refs, int channel,
                     struct eng_group **out) {
  int rc = need_identity(c, st);
  return rc ? rc : create_refs(c, st, cn, name, refs, n_refs, channel, NULL, out);
}

static int cmd_create(struct cli *c, struct eng_state *st, struct eng_conn *cn) {
  return create_refs(c, st, cn, c->pos[1], c->pos + 2, (size_t)c->n_pos - 2,
                      c->opt[CO_CHANNEL] != NULL, "created", NULL);
}

/* Add the members refs name to cg (what as in group_create). */
static int group_add_refs(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                          struct eng_group *cg, const char *const *refs, size_t n_refs,
                          const char *what) {
  struct specs s;
  uint8_t *rec = NULL, id[GROUP_ID_LEN];
  size_t rl = 0;
  struct before b;
  memcpy(id, cg->id, GROUP_ID_LEN);
  int rc = specs_build(c, st, cn, refs, n_refs, &s);
  cg = eng__group_by_id(st, id);
  if (rc == 0) rc = before_take(c, cg, &b);
  if (rc == 0 && (rc = group_add(cg->g, &st->acct.identity, s.v, s.n, os_wall_ms(), &rec, &rl))) {
    rc = cli_fail(c, rc, "cannot add: %s", group_reason(cg->g)[0] ? group_reason(cg->g)
                                                                  : momedo_strerror(rc));
    free(b.dev);
  }
  specs_free(&s);
  return rc ? rc : after_change(c, st, cn, cg, rec, what, &b);
}

int cli_group_add(struct cli *c, struct eng_state *st, struct eng_conn *cn, struct eng_group *cg,
                  const char *const *refs, size_t n_refs) {
  int rc = need_identity(c, st);
  if (rc == 0) rc = need_admin(c, cg);
  return rc ? rc : group_add_refs(c, st, cn, cg, refs, n_refs, NULL);
}

static int cmd_add(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                   struct eng_group *cg) {
  return group_add_refs(c, st, cn, cg, c->pos + 2, (size_t)c->n_pos - 2, "added to");
}

static int cmd_remove(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                      struct eng_group *cg) {
  size_t n = (size_t)c->n_pos - 2, rl = 0;
  uint8_t(*keys)[32] = calloc(n, 32), *rec = NULL;
  struct before b = {NULL, 0, 0};
  int rc = keys ? member_keys(c, st, cg, c->pos + 2, n, keys) : MOMEDO_E_NOMEM;
  if (rc == 0) rc = before_take(c, cg, &b);
  if (rc == 0 &&
      (rc = group_remove(cg->g, &st->acct.identity, (const uint8_t(*)[32])keys, n, os_wall_ms(),
                         &rec, &rl)) != 0)
    rc = cli_fail(c, rc, "cannot remove: %s", group_reason(cg->g)[0] ? group_reason(cg->g)
                                                                     : momedo_strerror(rc));
  free(keys);
  if (rc) free(b.dev);
  return rc ? rc : after_change(c, st, cn, cg, rec, "removed from", &b);
}

/* A member asks the admins to remove it: the request goes to every admin device now;
 * the state is kept (read-only) only when at least one took it. */
static int leave_by_request(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                            struct eng_group *cg) {
  uint8_t *req = NULL, *pt = NULL;
  size_t rl = 0, len = 0, nt = 0, sent = 0;
  struct group_device *t = NULL;
  int rc = group_request_leave(cg->g, &st->acct.identity, os_wall_ms(), &req, &rl);
  if (rc == 0) rc = group_request_content(req, rl, st->acct.device.pub, os_wall_ms(), &pt, &len);
  if (rc == 0) rc = group_admin_devices(cg->g, &t, &nt);
  if (rc) rc = cli_fail(c, rc, "cannot leave: %s", group_reason(cg->g)[0] ? group_reason(cg->g)
                                                                        : momedo_strerror(rc));
  if (rc == 0) rc = eng__group_send_to(&c->e, st, cn, pt, len, t, nt, &sent);
  if (rc == 0 && sent == 0)
    rc = cli_fail(c, MOMEDO_E_NOTFOUND, "no admin of %s could be reached: try again later",
                  eng_group_name(cg));
  if (rc == 0) {
    cg->dirty = 1;
    rc = eng_save(&c->e, st);
  }
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "action", "left");
    jsonw_str(&j, "group", eng_group_name(cg));
    jsonw_u64(&j, "asked_admins", sent);
    jsonw_end(&j);
  } else if (rc == 0)
    printf("asked the admins of '%s' to remove you (%zu device(s)); you no longer post or "
           "read there\n", eng_group_name(cg), sent);
  free(req);
  if (pt) crypto_wipe(pt, len);
  free(pt);
  free(t);
  return rc;
}

static int cmd_leave(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                     struct eng_group *cg) {
  uint8_t *rec = NULL;
  size_t rl = 0;
  struct group_info gi;
  struct before b;
  group_get_info(cg->g, &gi);
  if (gi.my_role != MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN) return leave_by_request(c, st, cn, cg);
  int rc = before_take(c, cg, &b);
  if (rc) return rc;
  rc = group_leave(cg->g, &st->acct.identity, os_wall_ms(), &rec, &rl);
  if (rc) {
    free(b.dev);
    return cli_fail(c, rc, "cannot leave: %s", group_reason(cg->g)[0] ? group_reason(cg->g)
                                                                      : momedo_strerror(rc));
  }
  return after_change(c, st, cn, cg, rec, "left", &b);
}

/* Promote or demote members (in a channel that starts a new epoch: the write key
 * moves with the right to post). */
static int cmd_role(struct cli *c, struct eng_state *st, struct eng_conn *cn, struct eng_group *cg,
                    Momedo__GroupRole role) {
  size_t n = (size_t)c->n_pos - 2, rl = 0;
  uint8_t(*keys)[32] = calloc(n, 32), *rec = NULL;
  struct before b = {NULL, 0, 0};
  int rc = keys ? member_keys(c, st, cg, c->pos + 2, n, keys) : MOMEDO_E_NOMEM;
  if (rc == 0) rc = before_take(c, cg, &b);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    free(rec); /* one record per member; all after b.version are owed at the end */
    rec = NULL;
    if ((rc = group_set_role(cg->g, &st->acct.identity, keys[i], role, os_wall_ms(),
                                        &rec, &rl)) != 0)
      rc = cli_fail(c, rc, "cannot change the role: %s", group_reason(cg->g)[0]
                                                             ? group_reason(cg->g)
                                                             : momedo_strerror(rc));
  }
  free(keys);
  if (rc) {
    free(b.dev);
    free(rec);
    return rc;
  }
  return after_change(c, st, cn, cg, rec,
                      role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN ? "promoted in" : "demoted in",
                      &b);
}

static int cmd_record(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                      struct eng_group *cg, int on) {
  struct before b = {NULL, 0, 0};
  uint8_t *rec = NULL;
  size_t rl = 0;
  int rc = before_take(c, cg, &b);
  if (rc == 0 && (rc = group_set_recorded(cg->g, &st->acct.identity, on, os_wall_ms(), &rec,
                                          &rl)) != 0)
    rc = cli_fail(c, rc, "cannot %s it: %s", on ? "mark" : "unmark",
                  group_reason(cg->g)[0] ? group_reason(cg->g) : momedo_strerror(rc));
  if (rc) {
    free(b.dev);
    return rc;
  }
  return after_change(c, st, cn, cg, rec, on ? "marked recorded:" : "no longer recorded:", &b);
}

/* "2026-12-07 08:50 UTC" */
static void utc_of(char out[static 32], uint64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Recorded: by whom and since when (text after the heading line, or JSON fields). */
static void print_recorded(struct cli *c, struct eng_state *st, const struct group_info *gi,
                           struct jsonw *j) {
  char uid[IDS_USER_ID_STR_MAX], when[32];
  if (ids_user_id(uid, gi->recorded_by) != 0) uid[0] = '\0';
  utc_of(when, gi->recorded_since_ms);
  const struct contact *ct = contacts_find_key(&st->contacts, gi->recorded_by);
  const char *name = !memcmp(gi->recorded_by, st->acct.identity.pub, 32) ? "you"
                     : ct && ct->name[0] ? ct->name : NULL;
  if (c->json) {
    jsonw_bool(j, "recorded", gi->recorded);
    if (!gi->recorded) return;
    jsonw_str(j, "recorded_by", uid);
    jsonw_str_or_null(j, "recorded_by_name", name);
    jsonw_u64(j, "recorded_since_ms", gi->recorded_since_ms);
  } else if (gi->recorded) {
    printf("  RECORDED (compliance archive) since %s, marked by %s%s%s%s\n", when, uid,
           name ? " (" : "", name ? name : "", name ? ")" : "");
  }
}

static void print_members(struct cli *c, struct eng_state *st, const struct eng_group *cg) {
  struct group_info gi;
  struct group_member_view mv;
  char hex[2 * GROUP_ID_LEN + 1], uid[IDS_USER_ID_STR_MAX];
  struct jsonw j;
  group_get_info(cg->g, &gi);
  hex_encode(hex, sizeof hex, gi.group_id, GROUP_ID_LEN);
  if (c->json) {
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    json_group(&j, &gi, hex);
    jsonw_hex(&j, "mailbox", gi.mailbox, OBJ_MAILBOX_LEN);
    jsonw_str(&j, "my_role", role_name(gi.my_role));
    jsonw_bool(&j, "removed", gi.removed);
    jsonw_bool(&j, "can_post", gi.can_post);
    print_recorded(c, st, &gi, &j);
    jsonw_open(&j, "members", '[');
  } else {
    printf("%s '%s' (ID %.12s), version %llu, epoch %llu%s\n", gi.mode ==
           MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL ? "announcement channel" : "group", gi.name,
           hex, (unsigned long long)gi.version, (unsigned long long)gi.epoch,
           gi.removed ? " - you are no longer a member" : "");
    print_recorded(c, st, &gi, &j);
  }
  for (size_t i = 0; i < group_member_count(cg->g); i++) {
    if (group_member_at(cg->g, i, &mv) != 0) continue;
    const struct contact *ct = contacts_find_key(&st->contacts, mv.identity_key);
    int me = !memcmp(mv.identity_key, st->acct.identity.pub, 32);
    if (ids_user_id(uid, mv.identity_key) != 0) uid[0] = '\0';
    const char *name = me ? "you" : ct && ct->name[0] ? ct->name : NULL;
    if (c->json) {
      jsonw_open(&j, NULL, '{');
      jsonw_str(&j, "user_id", uid);
      jsonw_str_or_null(&j, "name", name);
      jsonw_str(&j, "role", role_name(mv.role));
      jsonw_u64(&j, "devices", mv.n_devices);
      jsonw_close(&j);
    } else {
      printf("  %-26s %-6s %zu device(s)%s%s\n", uid, role_name(mv.role), mv.n_devices,
             name ? "  " : "", name ? name : "");
    }
  }
  if (c->json) {
    jsonw_close(&j);
    jsonw_end(&j);
  }
}

int cli_cmd_group(struct cli *c) {
  static const char *const verbs[] = {"create", "add",  "remove", "leave",   "members",
                                      "promote", "demote", "show", "record", "unrecord"};
  const char *verb = c->pos[0];
  struct eng_state st;
  struct eng_conn cn;
  struct eng_group *cg = NULL;
  size_t v = 0;
  while (v < sizeof verbs / sizeof verbs[0] && strcmp(verb, verbs[v]) != 0) v++;
  if (v == sizeof verbs / sizeof verbs[0])
    return cli_fail(c, MOMEDO_E_INVAL, "unknown 'group %s' (use create, add, remove, leave, "
                    "members, show, promote, demote, record or unrecord)", verb);
  if (v == 7) v = 4; /* show = members */
  int rec_verb = v == 8 || v == 9;
  int admin_verb = v == 1 || v == 2 || v == 5 || v == 6 || v == 8 || v == 9;
  if (rec_verb && c->n_pos != 2)
    return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo group %s GROUP", verb);
  if (admin_verb && !rec_verb && c->n_pos < 3)
    return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo group %s GROUP ID...", verb);
  if ((v == 3 || v == 4) && c->n_pos != 2)
    return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo group %s GROUP", verb);
  if (c->opt[CO_CHANNEL] && v != 0)
    return cli_fail(c, MOMEDO_E_INVAL, "--channel goes with `group create`");
  memset(&cn, 0, sizeof cn);
  int rc = cli_open(c, &st, v != 4);
  if (rc == 0 && v != 0) rc = eng_group_find(&c->e, &st, c->pos[1], &cg);
  if (rc == 0 && v == 4) print_members(c, &st, cg);
  if (rc == 0 && v != 4) rc = need_identity(c, &st);
  if (rc == 0 && admin_verb) rc = need_admin(c, cg);
  if (rc == 0 && v != 4) rc = eng_connect(&c->e, &st, &cn);
  if (rc == 0 && v == 0) rc = cmd_create(c, &st, &cn);
  if (rc == 0 && v == 1) rc = cmd_add(c, &st, &cn, cg);
  if (rc == 0 && v == 2) rc = cmd_remove(c, &st, &cn, cg);
  if (rc == 0 && v == 3) rc = cmd_leave(c, &st, &cn, cg);
  if (rc == 0 && v == 5) rc = cmd_role(c, &st, &cn, cg, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  if (rc == 0 && v == 6) rc = cmd_role(c, &st, &cn, cg, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  if (rc == 0 && rec_verb) rc = cmd_record(c, &st, &cn, cg, v == 8);
  eng_conn_close(&cn);
  eng_close(&st);
  return rc;
}

int cli_cmd_groups(struct cli *c) {
  struct eng_state st;
  struct group_info gi;
  char hex[2 * GROUP_ID_LEN + 1];
  int rc = cli_open(c, &st, 0);
  if (rc) {
    eng_close(&st);
    return rc;
  }
  struct jsonw j;
  if (c->json) {
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_open(&j, "groups", '[');
  }
  for (size_t i = 0; i < st.gr.n; i++) {
    group_get_info(st.gr.v[i].g, &gi);
    hex_encode(hex, sizeof hex, gi.group_id, GROUP_ID_LEN);
    if (c->json) {
      jsonw_open(&j, NULL, '{');
      jsonw_str(&j, "name", gi.name);
      jsonw_str(&j, "group_id", hex);
      jsonw_str(&j, "mode", mode_name(gi.mode));
      jsonw_u64(&j, "members", gi.n_members);
      jsonw_u64(&j, "epoch", gi.epoch);
      jsonw_str(&j, "my_role", role_name(gi.my_role));
      jsonw_bool(&j, "removed", gi.removed);
      jsonw_bool(&j, "recorded", gi.recorded);
      jsonw_close(&j);
    } else {
      printf("%.12s  %-8s %-24s %zu member(s)%s%s\n", hex, mode_name(gi.mode), gi.name,
             gi.n_members, gi.removed ? "  (no longer a member)" : gi.my_role ==
             MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN ? "  (admin)" : "",
             gi.recorded ? "  RECORDED" : "");
    }
  }
  if (c->json) {
    jsonw_close(&j);
    jsonw_open(&j, "channels", '[');
  }
  for (size_t i = 0; i < st.gr.n_ch; i++) {
    if (c->json) {
      jsonw_open(&j, NULL, '{');
      jsonw_str(&j, "name", st.gr.ch[i].name);
      jsonw_str(&j, "display_name", st.gr.ch[i].display);
      jsonw_hex(&j, "mailbox", st.gr.ch[i].k.mailbox, OBJ_MAILBOX_LEN);
      jsonw_close(&j);
    } else {
      printf("channel:%s  (you post as \"%s\")\n", st.gr.ch[i].name, st.gr.ch[i].display);
    }
  }
  if (c->json) {
    jsonw_close(&j);
    jsonw_end(&j);
  } else if (st.gr.n == 0 && st.gr.n_ch == 0) printf("no groups or channels yet\n");
  eng_close(&st);
  return 0;
}
