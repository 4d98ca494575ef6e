/* client/cli/cli_group.c — groups and announcement channels for the command line:
 * `group create|add|remove|leave|promote|demote|record|members` and `groups`, and their
 * output. The changes themselves are the engine's (client/core/engine_admin.c: it
 * returns what it did, this file prints it), as are finding a group, posting to it and
 * control messages; all membership and key decisions are the group core's (group.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hex.h"

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

static void print_change(struct cli *c, const char *what, const struct eng_group_result *r) {
  const struct group_info *gi = &r->gi;
  char hex[2 * GROUP_ID_LEN + 1], mb[2 * OBJ_MAILBOX_LEN + 1];
  hex_encode(hex, sizeof hex, gi->group_id, GROUP_ID_LEN);
  hex_encode(mb, sizeof mb, gi->mailbox, OBJ_MAILBOX_LEN);
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "action", what);
    json_group(&j, gi, hex);
    jsonw_u64(&j, "members", gi->n_members);
    jsonw_u64(&j, "devices", gi->n_devices);
    jsonw_str(&j, "mailbox", mb);
    jsonw_u64(&j, "records_sent", r->records);
    jsonw_u64(&j, "keys_sent", r->keys);
    jsonw_u64(&j, "owed", r->owed);
    jsonw_end(&j);
    return;
  }
  printf("%s %s '%s' (ID %.12s): %zu member(s), epoch %llu; record sent to %zu device(s), "
         "key to %zu\n", what, gi->mode == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL
                               ? "announcement channel" : "group",
         gi->name, hex, gi->n_members, (unsigned long long)gi->epoch, r->records, r->keys);
  if (r->owed)
    printf("  %zu device(s) still owed the record: they get it at your next send or sync\n",
           r->owed);
}

/* A member's leave is a request to the admins (eng_group_leave's by_request). */
static void print_left(struct cli *c, const struct eng_group_result *r) {
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "action", "left");
    jsonw_str(&j, "group", r->gi.name[0] ? r->gi.name : "(unnamed)");
    jsonw_u64(&j, "asked_admins", r->asked_admins);
    jsonw_end(&j);
  } else
    printf("asked the admins of '%s' to remove you (%zu device(s)); you no longer post or "
           "read there\n", r->gi.name[0] ? r->gi.name : "(unnamed)", r->asked_admins);
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
  const struct contact *ct = eng_contact_by_key(st, gi->recorded_by);
  const char *name = !memcmp(gi->recorded_by, eng_identity_key(st), 32) ? "you"
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
  eng_group_info(cg, &gi);
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
  for (size_t i = 0; i < eng_group_member_count(cg); i++) {
    if (eng_group_member_at(cg, i, &mv) != 0) continue;
    const struct contact *ct = eng_contact_by_key(st, mv.identity_key);
    int me = !memcmp(mv.identity_key, eng_identity_key(st), 32);
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
  struct eng_state *st = NULL;
  struct eng_conn *cn = NULL;
  struct eng_group *cg = NULL;
  struct eng_group_result res;
  size_t v = 0;
  memset(&res, 0, sizeof res);
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
  int rc = cli_open(c, &st, v != 4);
  if (rc == 0 && v != 0) rc = eng_group_find(&c->e, st, c->pos[1], &cg);
  if (rc == 0 && v == 4) print_members(c, st, cg);
  if (rc == 0 && v != 4) rc = eng_group_may_change(&c->e, st, admin_verb ? cg : NULL);
  if (rc == 0 && v != 4 && (rc = eng_conn_new(&cn)) == 0) rc = eng_connect(&c->e, st, cn);
  const char *const *refs = c->pos + 2;
  size_t n = c->n_pos > 2 ? (size_t)c->n_pos - 2 : 0;
  if (rc == 0 && v == 0)
    rc = eng_group_create(&c->e, st, cn, c->pos[1], refs, n, c->opt[CO_CHANNEL] != NULL, NULL,
                          &res);
  if (rc == 0 && v == 1) rc = eng_group_add(&c->e, st, cn, cg, refs, n, &res);
  if (rc == 0 && v == 2) rc = eng_group_remove(&c->e, st, cn, cg, refs, n, &res);
  if (rc == 0 && v == 3) rc = eng_group_leave(&c->e, st, cn, cg, &res);
  if (rc == 0 && (v == 5 || v == 6))
    rc = eng_group_set_role(&c->e, st, cn, cg, refs, n, v == 5
                            ? MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN
                            : MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER, &res);
  if (rc == 0 && rec_verb) rc = eng_group_record(&c->e, st, cn, cg, v == 8, &res);
  static const char *const done[] = {"created", "added to", "removed from", "left", NULL,
                                     "promoted in", "demoted in", NULL, "marked recorded:",
                                     "no longer recorded:"};
  if (rc == 0 && v == 3 && res.by_request) print_left(c, &res);
  else if (rc == 0 && v != 4) print_change(c, done[v], &res);
  eng_conn_free(cn);
  eng_state_free(st);
  return rc;
}

int cli_cmd_groups(struct cli *c) {
  struct eng_state *st = NULL;
  struct group_info gi;
  char hex[2 * GROUP_ID_LEN + 1];
  int rc = cli_open(c, &st, 0);
  if (rc) {
    eng_state_free(st);
    return rc;
  }
  struct jsonw j;
  if (c->json) {
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_open(&j, "groups", '[');
  }
  for (size_t i = 0; i < eng_group_count(st); i++) {
    eng_group_info(eng_group_at(st, i), &gi);
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
  for (size_t i = 0; i < eng_channel_count(st); i++) {
    const struct eng_channel *ch = eng_channel_at(st, i);
    if (c->json) {
      jsonw_open(&j, NULL, '{');
      jsonw_str(&j, "name", eng_channel_name(ch));
      jsonw_str(&j, "display_name", eng_channel_display(ch));
      jsonw_hex(&j, "mailbox", eng_channel_mailbox(ch), OBJ_MAILBOX_LEN);
      jsonw_close(&j);
    } else {
      printf("channel:%s  (you post as \"%s\")\n", eng_channel_name(ch), eng_channel_display(ch));
    }
  }
  if (c->json) {
    jsonw_close(&j);
    jsonw_end(&j);
  } else if (eng_group_count(st) == 0 && eng_channel_count(st) == 0) {
    printf("no groups or channels yet\n");
  }
  eng_state_free(st);
  return 0;
}
