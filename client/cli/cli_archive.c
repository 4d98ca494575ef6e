/* client/cli/cli_archive.c — `momedo archive run|export|verify|prune` (docs/archive.md):
 * the archive account receives like `sync` and appends every message of a recorded group
 * or channel to the hash-chained log (client/core/archive.h), then signs the day's
 * checkpoint with its identity key; export writes a period as a plain file set; verify
 * checks one (exit 1 and the first bad entry); prune deletes past the retention period
 * and logs it in the chain. Also the `send` notice for recorded conversations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"

#define ARCHIVE_SUBDIR "archive"
#define RETENTION_YEARS_DEFAULT 10
#define YEAR_MS 31556952000ull /* 365.2425 days */

/* ---- the hook `sync` calls for a new group message ---- */

static int take_att(struct cli_state *st, struct archive_log *l, const char *vname,
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
static struct archive_log *home_archive(struct cli *c, struct cli_state *st) {
  static struct archive_log log;
  static int state; /* 0 not looked, 1 open, -1 none */
  char dir[ARCHIVE_PATH_MAX], path[ARCHIVE_PATH_MAX + 32];
  if (state == 0) {
    state = -1;
    snprintf(dir, sizeof dir, "%s/%s", st->home.dir, ARCHIVE_SUBDIR);
    snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_ENTRIES);
    if (access(path, F_OK) == 0 && archive_log_open(&log, dir) == 0) state = 1;
    else if (access(path, F_OK) == 0) cli_fail(c, MOMEDO_E_IO, "cannot open %s", dir);
  }
  return state == 1 ? &log : NULL;
}

int cli__archive_take(struct cli *c, struct cli_state *st, struct cli_group *cg,
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
    fprintf(stderr, "momedo: archive: could not keep an attachment (its hash is archived)\n");
  int rc = archive_log_append(l, &am, os_wall_ms());
  if (rc == 0) rc = archive_log_sync(l); /* on disk before the cursor moves */
  if (rc) return cli_fail(c, rc, "archive: appending failed: %s", momedo_strerror(rc));
  c->archived++;
  return 0;
}

void cli__recorded_notice(struct cli_state *st, const struct cli_group *cg) {
  struct group_info gi;
  char uid[IDS_USER_ID_STR_MAX], day[ARCHIVE_DAY_LEN + 1];
  group_get_info(cg->g, &gi);
  if (!gi.recorded) return;
  if (ids_user_id(uid, gi.recorded_by) != 0) uid[0] = 0;
  const struct contact *ct = contacts_find_key(&st->contacts, gi.recorded_by);
  archive_day(day, gi.recorded_since_ms);
  fprintf(stderr, "note: '%s' is recorded (compliance archive) since %s, marked by %s%s%s%s: "
          "what you post is kept by its archive member\n", gi.name, day, uid,
          ct && ct->name[0] ? " (" : "", ct && ct->name[0] ? ct->name : "",
          ct && ct->name[0] ? ")" : "");
}

/* ---- commands ---- */

static int archive_dir(struct cli *c, struct cli_state *st, char *out, size_t cap) {
  if (c->opt[CO_ARCHIVE_DIR]) {
    if (strlen(c->opt[CO_ARCHIVE_DIR]) >= cap) return cli_fail(c, MOMEDO_E_INVAL, "path too long");
    snprintf(out, cap, "%s", c->opt[CO_ARCHIVE_DIR]);
    return 0;
  }
  int rc = st->home.dir[0] ? 0 : cli_home(c, st, 0);
  if (rc) return rc;
  if (strlen(st->home.dir) + sizeof ARCHIVE_SUBDIR + 1 > cap)
    return cli_fail(c, MOMEDO_E_INVAL, "path too long");
  snprintf(out, cap, "%s/%s", st->home.dir, ARCHIVE_SUBDIR);
  return 0;
}

static int open_log(struct cli *c, const char *dir, struct archive_log *l, int ro) {
  int rc = ro ? archive_log_open_ro(l, dir) : archive_log_open(l, dir);
  if (rc) return cli_fail(c, rc, "cannot open the archive in %s: %s", dir, momedo_strerror(rc));
  return 0;
}

static int cmd_run(struct cli *c) {
  struct cli_state st;
  struct archive_log l;
  char dir[ARCHIVE_PATH_MAX], day[ARCHIVE_DAY_LEN + 1];
  size_t n = 0, rec = 0;
  int made = 0, opened = 0;
  int rc = cli_open(c, &st, 1);
  if (rc == 0 && !st.acct.has_identity)
    rc = cli_fail(c, MOMEDO_E_DENIED, "the archive signs checkpoints with the identity key, "
                  "which only the account's first device holds: run it there");
  if (rc == 0) rc = archive_dir(c, &st, dir, sizeof dir);
  if (rc == 0 && (rc = open_log(c, dir, &l, 0)) == 0) opened = 1;
  if (rc == 0 && (rc = archive_log_set_key(&l, st.acct.identity.pub)) != 0)
    rc = cli_fail(c, rc, "cannot write %s/%s", dir, ARCHIVE_KEY);
  c->archive = opened ? &l : NULL;
  if (rc == 0) rc = cli_sync_all(c, &st, &n);
  c->archive = NULL;
  uint64_t now = os_wall_ms();
  if (rc == 0 && (rc = archive_log_checkpoint(&l, &st.acct.identity, now, &made)) != 0)
    rc = cli_fail(c, rc, "archive: the checkpoint failed: %s", momedo_strerror(rc));
  for (size_t i = 0; rc == 0 && i < st.gr.n; i++) {
    struct group_info gi;
    group_get_info(st.gr.v[i].g, &gi);
    rec += gi.recorded != 0;
  }
  archive_day(day, now);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "archived", c->archived);
    jsonw_u64(&j, "recorded_conversations", rec);
    jsonw_u64(&j, "entries", l.next_seq);
    jsonw_hex(&j, "head", l.head, 32);
    jsonw_str(&j, "checkpoint_day", l.has_cp ? l.last_cp_day : "");
    jsonw_bool(&j, "checkpoint_made", made);
    jsonw_end(&j);
  } else if (rc == 0) {
    printf("archived %llu message(s) from %zu recorded conversation(s); %llu entries in %s%s%s\n",
           (unsigned long long)c->archived, rec, (unsigned long long)l.next_seq, dir,
           made ? "; signed the checkpoint of " : "", made ? day : "");
  }
  if (opened) archive_log_close(&l);
  cli_close(&st);
  return rc;
}

static int parse_day(struct cli *c, int o, const char *name, uint64_t *ms) {
  if (c->opt[o] == NULL) return cli_fail(c, MOMEDO_E_INVAL, "archive export needs %s YYYY-MM-DD",
                                         name);
  if (archive_day_start(c->opt[o], ms) != 0)
    return cli_fail(c, MOMEDO_E_INVAL, "%s: not a date YYYY-MM-DD: %s", name, c->opt[o]);
  return 0;
}

static int cmd_export(struct cli *c) {
  struct cli_state st;
  struct archive_log l;
  char dir[ARCHIVE_PATH_MAX];
  uint64_t from = 0, to = 0, n = 0;
  memset(&st, 0, sizeof st);
  if (c->n_pos != 2) return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo archive export "
                                     "--from DATE --to DATE OUT_DIR");
  int rc = parse_day(c, CO_FROM, "--from", &from), opened = 0;
  if (rc == 0) rc = parse_day(c, CO_TO, "--to", &to);
  if (rc == 0 && to < from) rc = cli_fail(c, MOMEDO_E_INVAL, "--to is before --from");
  /* The identity key signs the export's manifest; the home's lock is let go at once. */
  if (rc == 0 && (rc = cli_open(c, &st, 1)) == 0) opened = 1, cli_release(&st);
  if (rc == 0 && !st.acct.has_identity)
    rc = cli_fail(c, MOMEDO_E_DENIED, "the export's manifest is signed with the identity key, "
                  "which only the account's first device holds: run it there");
  if (rc == 0) rc = archive_dir(c, &st, dir, sizeof dir);
  if (rc == 0) rc = open_log(c, dir, &l, 1); /* `archive run` may be appending */
  if (rc == 0) {
    rc = archive_log_export(&l, from, to + ARCHIVE_DAY_MS, c->pos[1], &st.acct.identity, &n);
    archive_log_close(&l);
  }
  if (opened) cli_close(&st);
  if (rc && c->why[0]) return rc; /* said already */
  if (rc == MOMEDO_E_EXISTS) return cli_fail(c, rc, "%s exists: export into a new directory",
                                             c->pos[1]);
  if (rc) return cli_fail(c, rc, "export failed: %s", momedo_strerror(rc));
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "entries", n);
    jsonw_str(&j, "dir", c->pos[1]);
    jsonw_end(&j);
  } else {
    printf("exported %llu entries (%s .. %s) to %s; check it with `momedo archive verify %s`\n",
           (unsigned long long)n, c->opt[CO_FROM], c->opt[CO_TO], c->pos[1], c->pos[1]);
  }
  return 0;
}

/* Does dir's key.pub hold the key --key names (64 hex digits, or the user ID)? */
static int key_matches(struct cli *c, const char *dir, int *ok) {
  uint8_t want[32], have[32];
  char path[ARCHIVE_PATH_MAX + 16];
  uint8_t *b = NULL;
  size_t n = 0;
  const char *k = c->opt[CO_KEY];
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_KEY);
  int rc = vault_read_file(path, ARCHIVE_KEY_FILE_BYTES_MAX, &b, &n);
  while (rc == 0 && n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) n--;
  *ok = rc == 0 && hex_decode(have, 32, (const char *)b, n) == 0;
  free(b);
  if (hex_decode_str(want, 32, k) == 0) *ok = *ok && !memcmp(have, want, 32);
  else *ok = *ok && ids_user_id_matches(k, have);
  return 0;
}

static int cmd_verify(struct cli *c) {
  struct archive_report r;
  int key_ok = 1;
  if (c->n_pos != 2) return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo archive verify DIR");
  const char *dir = c->pos[1];
  if (strlen(dir) >= ARCHIVE_PATH_MAX) return cli_fail(c, MOMEDO_E_INVAL, "path too long");
  int rc = c->opt[CO_KEY] ? key_matches(c, dir, &key_ok) : 0;
  if (rc) return rc;
  if (!key_ok)
    return cli_fail(c, MOMEDO_E_BADSIG, "%s/%s is not the archive key given with --key", dir,
                    ARCHIVE_KEY);
  rc = archive_verify_dir(dir, &r);
  if (rc) return cli_fail(c, rc, "NOT INTACT: %s", r.why[0] ? r.why : momedo_strerror(rc));
  if (!r.manifest) /* an export always has one: without it a removal cannot be ruled out */
    return cli_fail(c, MOMEDO_E_NOTFOUND, "NOT INTACT: %s/%s is missing, so entries removed "
                    "from the export could not be noticed (verify an export of `momedo "
                    "archive export`)", dir, ARCHIVE_MANIFEST);
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "entries", r.n_entries);
    jsonw_u64(&j, "first_seq", r.first_seq);
    jsonw_u64(&j, "last_seq", r.last_seq);
    jsonw_u64(&j, "checkpoints", r.n_checkpoints);
    jsonw_u64(&j, "checkpoints_matched", r.n_checkpoints_matched);
    jsonw_u64(&j, "attachments_checked", r.n_att_checked);
    jsonw_u64(&j, "attachments_missing", r.n_att_missing);
    jsonw_end(&j);
  } else {
    printf("intact: %llu entries", (unsigned long long)r.n_entries);
    if (r.n_entries)
      printf(" (%llu..%llu)", (unsigned long long)r.first_seq, (unsigned long long)r.last_seq);
    printf(", %llu signed checkpoint(s), %llu of them sign an entry here; %llu attachment(s) "
           "checked, %llu not in the set%s\n", (unsigned long long)r.n_checkpoints,
           (unsigned long long)r.n_checkpoints_matched, (unsigned long long)r.n_att_checked,
           (unsigned long long)r.n_att_missing,
           c->opt[CO_KEY] ? "" : " (compare key.pub with the archive's key you hold)");
  }
  return 0;
}

static int cmd_prune(struct cli *c) {
  struct cli_state st;
  struct archive_log l;
  char dir[ARCHIVE_PATH_MAX];
  uint64_t years = RETENTION_YEARS_DEFAULT, n = 0, now = os_wall_ms();
  memset(&st, 0, sizeof st);
  if (c->opt[CO_RETENTION]) {
    if (strcmp(c->opt[CO_RETENTION], "5") != 0 && strcmp(c->opt[CO_RETENTION], "10") != 0)
      return cli_fail(c, MOMEDO_E_INVAL, "--retention-years is 5 or 10");
    years = (uint64_t)atoi(c->opt[CO_RETENTION]);
  }
  /* The home's lock, as `archive run` holds it: no append while the log is rewritten. */
  int rc = cli_home(c, &st, 0);
  if (rc == 0 && (rc = home_lock(&st.home)) != 0)
    rc = cli_fail(c, rc, "another momedo command is running in this home; try again");
  int locked = rc == 0;
  if (rc == 0) rc = archive_dir(c, &st, dir, sizeof dir);
  if (rc == 0 && (rc = open_log(c, dir, &l, 0)) == 0) {
    rc = archive_log_prune(&l, now > years * YEAR_MS ? now - years * YEAR_MS : 0, now, &n);
    archive_log_close(&l);
  }
  if (locked) home_unlock(&st.home);
  if (rc && c->why[0]) return rc;
  if (rc) return cli_fail(c, rc, "prune failed: %s", momedo_strerror(rc));
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "pruned", n);
    jsonw_end(&j);
  } else {
    printf("pruned %llu entr%s older than %llu years%s\n", (unsigned long long)n,
           n == 1 ? "y" : "ies", (unsigned long long)years,
           n ? " (logged as a prune entry in the chain)" : "");
  }
  return 0;
}

int cli_cmd_archive(struct cli *c) {
  const char *v = c->pos[0];
  unsigned allowed = !strcmp(v, "export") ? CLI_OPT(CO_FROM) | CLI_OPT(CO_TO)
                     : !strcmp(v, "verify") ? CLI_OPT(CO_KEY)
                     : !strcmp(v, "prune")  ? CLI_OPT(CO_RETENTION)
                                            : 0;
  const int own[] = {CO_FROM, CO_TO, CO_KEY, CO_RETENTION};
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    if (c->opt[own[i]] && !(allowed & CLI_OPT(own[i])))
      return cli_fail(c, MOMEDO_E_INVAL, "archive %s does not take that option", v);
  if (!strcmp(v, "run")) return c->n_pos == 1 ? cmd_run(c)
                                              : cli_fail(c, MOMEDO_E_INVAL, "usage: momedo archive run");
  if (!strcmp(v, "export")) return cmd_export(c);
  if (!strcmp(v, "verify")) return cmd_verify(c);
  if (!strcmp(v, "prune")) return c->n_pos == 1 ? cmd_prune(c)
                                                : cli_fail(c, MOMEDO_E_INVAL, "usage: momedo archive prune");
  return cli_fail(c, MOMEDO_E_INVAL, "unknown 'archive %s' (use run, export, verify or prune)", v);
}
