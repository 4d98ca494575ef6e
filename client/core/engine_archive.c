/* client/core/engine_archive.c — the compliance archive's hook in receiving: a new
 * message of a recorded group goes to the home's archive log (archive.h) when the
 * account has one; and the notice that a conversation is recorded, as an event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "hex.h"

#define ARCHIVE_SUBDIR "archive"
#define RETENTION_YEARS_DEFAULT 10
#define YEAR_MS 31556952000ull /* 365.2425 days */


/* ---- the hook `sync` calls for a new group message ---- */

static int take_att(struct eng_state *st, struct archive_log *l, const char *vname,
                    const uint8_t sha[static 32]) {
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = vault_read(&st->vault, vname, &data, &len);
  if (rc == 0) rc = archive_log_put_att(l, sha, data, len);
  if (data) crypto_wipe(data, len);
  free(data);
  return rc;
}

/* The home's archive when this account has one (an earlier `archive run` made it), so
 * that `sync`, `listen` and `bot` on the archive account archive too; NULL if none. */
static struct archive_log *home_archive(struct eng *c, struct eng_state *st) {
  static struct archive_log log;
  static int state; /* 0 not looked, 1 open, -1 none */
  char dir[ARCHIVE_PATH_MAX], path[ARCHIVE_PATH_MAX + 32];
  if (state == 0) {
    state = -1;
    snprintf(dir, sizeof dir, "%s/%s", st->home.dir, ARCHIVE_SUBDIR);
    snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_ENTRIES);
    if (access(path, F_OK) == 0 && archive_log_open(&log, dir) == 0) state = 1;
    else if (access(path, F_OK) == 0) eng_fail(c, MOMEDO_E_IO, "cannot open %s", dir);
  }
  return state == 1 ? &log : NULL;
}

int eng__archive_take(struct eng *c, struct eng_state *st, struct eng_group *cg,
                      const Momedo__Content *m, const uint8_t sender[static 32],
                      const char *att_vname) {
  struct group_info gi;
  struct archive_msg am;
  char loc[96];
  group_get_info(cg->g, &gi);
  if (!gi.recorded || m->sent_ms < gi.recorded_since_ms) return 0;
  struct archive_log *l = c->archive ? c->archive : home_archive(c, st);
  if (l == NULL) return c->why[0] ? MOMEDO_E_IO : 0; /* an archive that does not open: stop */
  memset(&am, 0, sizeof am); /* only what was sent after the mark: members were told */
  am.conv = cg->id, am.sender = sender, am.sent_ms = m->sent_ms;
  if (m->body_case == MOMEDO__CONTENT__BODY_TEXT) {
    am.kind = ARCHIVE_KIND_TEXT;
    am.body = (const uint8_t *)m->text->text, am.body_len = strlen(m->text->text);
  } else if (m->body_case == MOMEDO__CONTENT__BODY_FILE) {
    am.kind = ARCHIVE_KIND_FILE;
    am.body = (const uint8_t *)(m->file->name ? m->file->name : "");
    am.body_len = strlen((const char *)am.body);
    am.att_sha256 = m->file->sha256.data;
  } else if (m->body_case == MOMEDO__CONTENT__BODY_LOCATION) {
    am.kind = ARCHIVE_KIND_LOCATION;
    snprintf(loc, sizeof loc, "%.7f,%.7f,%.1f", m->location->lat, m->location->lon,
             m->location->accuracy_m);
    am.body = (const uint8_t *)loc, am.body_len = strlen(loc);
  } else {
    return 0;
  }
  if (am.att_sha256 && att_vname && take_att(st, l, att_vname, am.att_sha256) != 0)
    eng__note(c, "momedo: archive: could not keep an attachment (its hash is archived)\n");
  int rc = archive_log_append(l, &am, os_wall_ms());
  if (rc == 0) rc = archive_log_sync(l); /* on disk before the cursor moves */
  if (rc) return eng_fail(c, rc, "archive: appending failed: %s", momedo_strerror(rc));
  c->archived++;
  return 0;
}

void eng__recorded_notice(struct eng_state *st, const struct eng_group *cg) {
  struct group_info gi;
  char uid[IDS_USER_ID_STR_MAX], day[ARCHIVE_DAY_LEN + 1];
  group_get_info(cg->g, &gi);
  if (!gi.recorded) return;
  if (ids_user_id(uid, gi.recorded_by) != 0) uid[0] = 0;
  const struct contact *ct = contacts_find_key(&st->contacts, gi.recorded_by);
  archive_day(day, gi.recorded_since_ms);
  eng__note(st->ctx, "note: '%s' is recorded (compliance archive) since %s, marked by %s%s%s%s: "
          "what you post is kept by its archive member\n", gi.name, day, uid,
          ct && ct->name[0] ? " (" : "", ct && ct->name[0] ? ct->name : "",
          ct && ct->name[0] ? ")" : "");
}

/* ---- signatures with the identity key (`archive run`, `archive export`) ------------ */

int eng_archive_checkpoint(struct eng_state *st, struct archive_log *l, uint64_t now_ms,
                           int *made) {
  if (!st->acct.has_identity) return MOMEDO_E_DENIED;
  return archive_log_checkpoint(l, &st->acct.identity, now_ms, made);
}

int eng_archive_export(struct eng_state *st, struct archive_log *l, uint64_t from_ms,
                       uint64_t to_ms, const char *out_dir, uint64_t *n) {
  if (!st->acct.has_identity) return MOMEDO_E_DENIED;
  return archive_log_export(l, from_ms, to_ms, out_dir, &st->acct.identity, n);
}
