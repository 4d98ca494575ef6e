/* client/cli/cli_archive.c — `momedo archive run|export|verify|prune` (docs/archive.md):
 * the archive account receives like `sync` (the engine appends every message of a
 * recorded group to the hash-chained log: client/core/engine_archive.c), then signs the
 * day's checkpoint with its identity key; export writes a period as a plain file set;
 * verify checks one; prune deletes past the retention period and logs it in the chain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"

#define ARCHIVE_SUBDIR "archive"
#define RETENTION_YEARS_DEFAULT 10
#define YEAR_MS 31556952000ull /* 365.2425 days */

/* ---- commands ---- */

static int archive_dir(struct cli *c, struct eng_state *st, char *out, size_t cap) {
  if (c->opt[CO_ARCHIVE_DIR]) {
    if (strlen(c->opt[CO_ARCHIVE_DIR]) >= cap) return cli_fail(c, MOMEDO_E_INVAL, "path too long");
    snprintf(out, cap, "%s", c->opt[CO_ARCHIVE_DIR]);
    return 0;
  }
  int rc = eng_home_dir(st)[0] ? 0 : eng_home(&c->e, st, 0);
  if (rc) return rc;
  if (strlen(eng_home_dir(st)) + sizeof ARCHIVE_SUBDIR + 1 > cap)
    return cli_fail(c, MOMEDO_E_INVAL, "path too long");
  snprintf(out, cap, "%s/%s", eng_home_dir(st), ARCHIVE_SUBDIR);
  return 0;
}

static int open_log(struct cli *c, const char *dir, struct archive_log *l, int ro) {
  int rc = ro ? archive_log_open_ro(l, dir) : archive_log_open(l, dir);
  if (rc) return cli_fail(c, rc, "cannot open the archive in %s: %s", dir, momedo_strerror(rc));
  return 0;
}

static int cmd_run(struct cli *c) {
  struct eng_state *st = NULL;
  struct archive_log l;
  char dir[ARCHIVE_PATH_MAX], day[ARCHIVE_DAY_LEN + 1];
  size_t n = 0, rec = 0;
  int made = 0, opened = 0;
  int rc = cli_open(c, &st, 1);
  if (rc == 0 && !eng_is_first_device(st))
    rc = cli_fail(c, MOMEDO_E_DENIED, "the archive signs checkpoints with the identity key, "
                  "which only the account's first device holds: run it there");
  if (rc == 0) rc = archive_dir(c, st, dir, sizeof dir);
  if (rc == 0 && (rc = open_log(c, dir, &l, 0)) == 0) opened = 1;
  if (rc == 0 && (rc = archive_log_set_key(&l, eng_identity_key(st))) != 0)
    rc = cli_fail(c, rc, "cannot write %s/%s", dir, ARCHIVE_KEY);
  c->e.archive = opened ? &l : NULL;
  if (rc == 0) rc = eng_sync_all(&c->e, st, &n);
  c->e.archive = NULL;
  uint64_t now = os_wall_ms();
  if (rc == 0 && (rc = eng_archive_checkpoint(st, &l, now, &made)) != 0)
    rc = cli_fail(c, rc, "archive: the checkpoint failed: %s", momedo_strerror(rc));
  for (size_t i = 0; rc == 0 && i < eng_group_count(st); i++) {
    struct group_info gi;
    eng_group_info(eng_group_at(st, i), &gi);
    rec += gi.recorded != 0;
  }
  archive_day(day, now);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "archived", c->e.archived);
    jsonw_u64(&j, "recorded_conversations", rec);
    jsonw_u64(&j, "entries", l.next_seq);
    jsonw_hex(&j, "head", l.head, 32);
    jsonw_str(&j, "checkpoint_day", l.has_cp ? l.last_cp_day : "");
    jsonw_bool(&j, "checkpoint_made", made);
    jsonw_end(&j);
  } else if (rc == 0) {
    printf("archived %llu message(s) from %zu recorded conversation(s); %llu entries in %s%s%s\n",
           (unsigned long long)c->e.archived, rec, (unsigned long long)l.next_seq, dir,
           made ? "; signed the checkpoint of " : "", made ? day : "");
  }
  if (opened) archive_log_close(&l);
  eng_state_free(st);
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
  struct eng_state *st = NULL;
  struct archive_log l;
  char dir[ARCHIVE_PATH_MAX];
  uint64_t from = 0, to = 0, n = 0;
  if (c->n_pos != 2) return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo archive export "
                                     "--from DATE --to DATE OUT_DIR");
  int rc = parse_day(c, CO_FROM, "--from", &from);
  if (rc == 0) rc = parse_day(c, CO_TO, "--to", &to);
  if (rc == 0 && to < from) rc = cli_fail(c, MOMEDO_E_INVAL, "--to is before --from");
  /* The identity key signs the export's manifest; the home's lock is let go at once. */
  if (rc == 0 && (rc = cli_open(c, &st, 1)) == 0) eng_release(st);
  if (rc == 0 && !eng_is_first_device(st))
    rc = cli_fail(c, MOMEDO_E_DENIED, "the export's manifest is signed with the identity key, "
                  "which only the account's first device holds: run it there");
  if (rc == 0) rc = archive_dir(c, st, dir, sizeof dir);
  if (rc == 0) rc = open_log(c, dir, &l, 1); /* `archive run` may be appending */
  if (rc == 0) {
    rc = eng_archive_export(st, &l, from, to + ARCHIVE_DAY_MS, c->pos[1], &n);
    archive_log_close(&l);
  }
  eng_state_free(st);
  if (rc && c->e.why[0]) return rc; /* said already */
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
  int rc = eng_file_read(path, ARCHIVE_KEY_FILE_BYTES_MAX, &b, &n);
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
  struct eng_state *st = NULL;
  struct archive_log l;
  char dir[ARCHIVE_PATH_MAX];
  uint64_t years = RETENTION_YEARS_DEFAULT, n = 0, now = os_wall_ms();
  if (c->opt[CO_RETENTION]) {
    if (strcmp(c->opt[CO_RETENTION], "5") != 0 && strcmp(c->opt[CO_RETENTION], "10") != 0)
      return cli_fail(c, MOMEDO_E_INVAL, "--retention-years is 5 or 10");
    years = (uint64_t)atoi(c->opt[CO_RETENTION]);
  }
  /* The home's lock, as `archive run` holds it: no append while the log is rewritten. */
  int rc = eng_state_new(&st);
  if (rc == 0) rc = eng_home(&c->e, st, 0);
  if (rc == 0 && (rc = eng_home_lock(st)) != 0)
    rc = cli_fail(c, rc, "another momedo command is running in this home; try again");
  int locked = rc == 0;
  if (rc == 0) rc = archive_dir(c, st, dir, sizeof dir);
  if (rc == 0 && (rc = open_log(c, dir, &l, 0)) == 0) {
    rc = archive_log_prune(&l, now > years * YEAR_MS ? now - years * YEAR_MS : 0, now, &n);
    archive_log_close(&l);
  }
  if (locked) eng_home_unlock(st);
  eng_state_free(st);
  if (rc && c->e.why[0]) return rc;
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
