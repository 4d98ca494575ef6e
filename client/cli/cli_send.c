/* client/cli/cli_send.c — `send` (text, file, location, task) to a contact, a group or a
 * passphrase channel, `task accept|done` and `save`. Validates every argument before
 * touching the network; a file is read whole (at most 25 MB), uploaded as encrypted
 * chunks, then announced in an envelope per device (or once, in a group). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"

#define SEND_TEXT_MAX CONTENT_TEXT_BYTES_MAX

int cli__parse_location(struct cli *c, const char *s, Momedo__Location *l) {
  double v[3] = {0, 0, 0};
  int n = 0;
  const char *p = s;
  while (n < 3) {
    char *end = NULL;
    errno = 0;
    v[n] = strtod(p, &end);
    if (end == p || errno || !isfinite(v[n])) break;
    n++;
    if (*end == '\0') {
      p = end;
      break;
    }
    if (*end != ',') {
      n = -1;
      break;
    }
    p = end + 1;
  }
  if (n < 2 || *p != '\0' || v[0] < -90 || v[0] > 90 || v[1] < -180 || v[1] > 180 || v[2] < 0 ||
      v[2] > CONTENT_ACCURACY_M_MAX)
    return cli_fail(c, MOMEDO_E_INVAL, "--location must be LAT,LON[,ACCURACY_M] with latitude "
                    "-90..90, longitude -180..180, accuracy 0..1e7 (got '%s')", s);
  l->lat = v[0];
  l->lon = v[1];
  l->accuracy_m = v[2];
  return 0;
}

/* "YYYY-MM-DD" (end of that day) or "YYYY-MM-DDTHH:MM", local time. */
int cli__parse_due(struct cli *c, const char *s, uint64_t *ms) {
  struct tm tm;
  int y, mo, d, h = 23, mi = 59, sec = 59;
  char tail;
  memset(&tm, 0, sizeof tm);
  int n = sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail);
  if (n == 4 && tail == 'T') {
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%c", &y, &mo, &d, &h, &mi, &tail) != 5)
      n = -1;
    sec = 0;
  } else if (n != 3) {
    n = -1;
  }
  if (n < 0 || y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
    return cli_fail(c, MOMEDO_E_INVAL, "--due must be YYYY-MM-DD or YYYY-MM-DDTHH:MM (got '%s')", s);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  if (t == (time_t)-1 || tm.tm_mday != d)
    return cli_fail(c, MOMEDO_E_INVAL, "--due: no such date '%s'", s);
  *ms = (uint64_t)t * 1000u;
  return 0;
}

static const char *guess_mime(const char *name) {
  static const struct {
    const char *ext, *mime;
  } t[] = {{".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".png", "image/png"},
           {".gif", "image/gif"},  {".webp", "image/webp"}, {".heic", "image/heic"},
           {".pdf", "application/pdf"}, {".txt", "text/plain"}, {".csv", "text/csv"},
           {".mp4", "video/mp4"},  {".json", "application/json"}};
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof t / sizeof t[0]; i++)
    if (strcasecmp(dot, t[i].ext) == 0) return t[i].mime;
  return "application/octet-stream";
}

/* Join the positional words after TO into one text. */
static int text_of(struct cli *c, char *out, size_t cap) {
  size_t n = 0;
  for (int i = 1; i < c->n_pos; i++) {
    size_t l = strlen(c->pos[i]);
    if (n + l + 2 > cap) return cli_fail(c, MOMEDO_E_TOOBIG, "the text is longer than %u bytes",
                                         (unsigned)SEND_TEXT_MAX);
    if (i > 1) out[n++] = ' ';
    memcpy(out + n, c->pos[i], l);
    n += l;
  }
  out[n] = '\0';
  if (n == 0) return cli_fail(c, MOMEDO_E_INVAL, "nothing to send: give a TEXT, --file, "
                              "--location or --task");
  return 0;
}

int cli__file_extras(struct cli *c, Momedo__File *f, Momedo__Location *l) {
  const char *cap = c->opt[CO_TEXT];
  if (cap) {
    size_t n = strlen(cap);
    if (n == 0 || n > CONTENT_CAPTION_BYTES_MAX)
      return cli_fail(c, MOMEDO_E_INVAL, "--text (the caption) must be 1..%u bytes",
                      (unsigned)CONTENT_CAPTION_BYTES_MAX);
    f->caption = (char *)cap;
  }
  if (!c->opt[CO_LOCATION]) return 0;
  int rc = cli__parse_location(c, c->opt[CO_LOCATION], l);
  if (rc == 0) f->location = l;
  return rc;
}

int cli_read_attachment(struct cli *c, const char *path, const char *mime, Momedo__File *f,
                        uint8_t **data, size_t *len) {
  static char name[CONTENT_NAME_BYTES_MAX + 1];
  int rc = vault_read_file(path, CONTENT_FILE_BYTES_DEFAULT_MAX, data, len);
  if (rc == MOMEDO_E_TOOBIG)
    return cli_fail(c, rc, "%s is larger than %llu bytes (the attachment limit)", path,
                    (unsigned long long)CONTENT_FILE_BYTES_DEFAULT_MAX);
  if (rc == MOMEDO_E_NOTFOUND) return cli_fail(c, rc, "no such file: %s", path);
  if (rc) return cli_fail(c, rc, "cannot read %s", path);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(name, sizeof name, "%s", base[0] ? base : "attachment");
  if (mime && (strlen(mime) > CONTENT_MIME_BYTES_MAX || !strchr(mime, '/'))) {
    free(*data);
    *data = NULL;
    return cli_fail(c, MOMEDO_E_INVAL, "--mime must look like type/subtype");
  }
  f->name = name;
  f->mime = (char *)(mime ? mime : guess_mime(name));
  f->size = *len;
  f->photo = strncmp(f->mime, "image/", 6) == 0;
  return 0;
}

int cli_deliver(struct cli *c, struct cli_state *st, struct cli_conn *cn, const char *to,
                Momedo__Content *m, const uint8_t *file, size_t file_len,
                uint8_t id[static TL_ID_LEN], size_t *n_env) {
  struct contact *ct;
  struct cli_blob blob;
  char vname[VAULT_NAME_MAX];
  const char *path = NULL;
  int rc = cli_contact_for(c, st, to, &ct);
  if (rc) return rc;
  if ((rc = cli_refresh_contact(c, st, cn, ct)) != 0) {
    if (ct->n_devices == 0) return rc;
    fprintf(stderr, "momedo: note: using the cached key bundle of %s (%s)\n", contact_label(ct),
            c->why);
  }
  if (m->body_case == MOMEDO__CONTENT__BODY_FILE) {
    /* The blob is read by the contact's devices and by our own (sync copy). */
    static struct cli_dests d;
    cli__dests_clear(&d);
    cli__dests_self(st, &d);
    if (cli__dests_contact(ct, &d) != 0) cli__dests_clear(&d); /* unknown: every node */
    if ((rc = cli_upload_file(c, cn, file, file_len, &d, &blob)) != 0) return rc;
    Momedo__File *f = m->file;
    f->blob_id = (ProtobufCBinaryData){OBJ_ID_LEN, blob.id};
    f->blob_key = (ProtobufCBinaryData){CONTENT_KEY_LEN, blob.key};
    f->sha256 = (ProtobufCBinaryData){CRYPTO_HASH_LEN, blob.sha};
    f->chunk_count = blob.count;
    f->chunk_bytes = blob.chunk_bytes;
    if (vault_name(&st->vault, "att", blob.id, OBJ_ID_LEN, vname) == 0 &&
        vault_write(&st->vault, vname, file, file_len) == 0)
      path = vname;
  }
  m->message_id = (ProtobufCBinaryData){0, NULL};
  rc = cli_send_content(c, st, cn, ct, m, 0, n_env);
  if (m->body_case == MOMEDO__CONTENT__BODY_FILE) crypto_wipe(blob.key, sizeof blob.key);
  if (rc) return rc;
  memcpy(id, m->message_id.data, TL_ID_LEN);
  return cli_store_outgoing(c, st, ct, m, path);
}

int cli_send_any(struct cli *c, struct cli_state *st, struct cli_conn *cn, const char *to,
                 Momedo__Content *m, const uint8_t *file, size_t file_len,
                 uint8_t id[static TL_ID_LEN], size_t *n_env, int *kind) {
  size_t pl = strlen(CLI_CHANNEL_PREFIX);
  int amb = 0, rc;
  *kind = 0;
  *n_env = 0;
  if (!strncmp(to, CLI_CHANNEL_PREFIX, pl)) {
    struct cli_channel *ch = cli_channel_find(st, to + pl);
    if (!ch)
      return cli_fail(c, MOMEDO_E_NOTFOUND, "not in channel '%s': `momedo channel join %s` "
                      "first", to + pl, to + pl);
    *kind = 2;
    if ((rc = cli_channel_send(c, st, cn, ch, m, id)) == 0) *n_env = 1;
    return rc;
  }
  struct cli_group *cg = cli_group_lookup(st, to, &amb);
  if ((cg || amb) && contacts_resolve(&st->contacts, to))
    return cli_fail(c, MOMEDO_E_EXISTS, "'%s' names both a contact and a group: give the group "
                    "ID prefix (`momedo groups`) or the contact's user ID", to);
  if (amb)
    return cli_fail(c, MOMEDO_E_EXISTS, "'%s' matches several groups: give a longer prefix of "
                    "the group ID", to);
  if (!cg) return cli_deliver(c, st, cn, to, m, file, file_len, id, n_env);
  *kind = 1;
  if ((rc = cli_group_send(c, st, cn, cg, m, file, file_len, id)) == 0) *n_env = 1;
  return rc;
}

/* "2026-03-30 07:00 (UTC+02:00)": the recipient's local time of a working-hours notice. */
static void deliver_time(char out[static 48], uint64_t ms, int32_t off_min) {
  time_t t = (time_t)(ms / 1000) + (time_t)off_min * 60;
  struct tm tm;
  int a = off_min < 0 ? -off_min : off_min;
  if (!gmtime_r(&t, &tm) || !strftime(out, 48, "%Y-%m-%d %H:%M", &tm)) {
    snprintf(out, 48, "?");
    return;
  }
  size_t n = strlen(out);
  snprintf(out + n, 48 - n, " (UTC%c%02d:%02d)", off_min < 0 ? '-' : '+', (a / 60) % 100, a % 60);
}

static void print_sent(struct cli *c, const char *to, const uint8_t id[static TL_ID_LEN],
                       size_t n_env, int kind) {
  char hex[2 * TL_ID_LEN + 1], when[48] = "";
  tl_id_hex(hex, id);
  if (c->deliver_from_ms) deliver_time(when, c->deliver_from_ms, c->deliver_off_min);
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "id", hex);
    jsonw_str(&j, "to", to);
    if (kind) jsonw_str(&j, "kind", kind == 1 ? "group" : "channel");
    jsonw_u64(&j, kind ? "items" : "envelopes", n_env);
    if (!kind) { /* new sessions of this send: with a one-time prekey / the signed one alone */
      jsonw_u64(&j, "one_time_prekeys", c->otpk_used);
      jsonw_u64(&j, "signed_prekey_only", c->otpk_fallback);
    }
    if (c->deliver_from_ms) {
      jsonw_u64(&j, "deliver_from_ms", c->deliver_from_ms);
      jsonw_str(&j, "deliver_from", when);
    }
    jsonw_end(&j);
  } else if (kind) {
    printf("posted to %s once (encrypted for every member)   [%.12s]\n", to, hex);
  } else {
    printf("sent to %s (%zu envelope%s)   [%.12s]\n", to, n_env, n_env == 1 ? "" : "s", hex);
  }
  if (c->deliver_from_ms && !c->json)
    printf("outside working hours of the recipient: delivered from %s\n", when);
}

int cli_cmd_send(struct cli *c) {
  static char text[SEND_TEXT_MAX + 1];
  struct cli_state st;
  struct cli_conn cn;
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  Momedo__File f = MOMEDO__FILE__INIT;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  Momedo__Task task = MOMEDO__TASK__INIT;
  uint8_t *file = NULL, id[TL_ID_LEN];
  size_t file_len = 0, n_env = 0;
  /* A location with a file is the file's place (one message), not a kind of its own. */
  int kinds = !!c->opt[CO_FILE] + (!!c->opt[CO_LOCATION] && !c->opt[CO_FILE]) +
              !!c->opt[CO_TASK], kind = 0;
  memset(&cn, 0, sizeof cn);
  memset(&st, 0, sizeof st);
  st.home.lock_fd = -1;
  if (kinds > 1)
    return cli_fail(c, MOMEDO_E_INVAL, "give only one of --file (optionally with --location "
                    "and --text), --location, --task");
  if (c->opt[CO_TEXT] && !c->opt[CO_FILE])
    return cli_fail(c, MOMEDO_E_INVAL, "--text is a file's caption: it needs --file (give a "
                    "plain TEXT otherwise)");
  if (c->opt[CO_APPROVAL] && !c->opt[CO_TASK])
    return cli_fail(c, MOMEDO_E_INVAL, "--approval needs --task");
  if (kinds == 1 && c->n_pos > 1)
    return cli_fail(c, MOMEDO_E_INVAL, "a TEXT cannot go with --file, --location or --task");
  if (c->opt[CO_DUE] && !c->opt[CO_TASK]) return cli_fail(c, MOMEDO_E_INVAL, "--due needs --task");
  if (c->opt[CO_MIME] && !c->opt[CO_FILE]) return cli_fail(c, MOMEDO_E_INVAL, "--mime needs --file");
  int rc = 0;
  if (c->opt[CO_LOCATION] && !c->opt[CO_FILE]) {
    rc = cli__parse_location(c, c->opt[CO_LOCATION], &l);
    m.body_case = MOMEDO__CONTENT__BODY_LOCATION;
    m.location = &l;
  } else if (c->opt[CO_TASK]) {
    size_t tl = strlen(c->opt[CO_TASK]);
    if (tl == 0 || tl > CONTENT_TITLE_BYTES_MAX)
      rc = cli_fail(c, MOMEDO_E_INVAL, "--task needs a title of 1..%d bytes", CONTENT_TITLE_BYTES_MAX);
    if (rc == 0 && c->opt[CO_DUE]) rc = cli__parse_due(c, c->opt[CO_DUE], &task.due_ms);
    task.title = (char *)c->opt[CO_TASK];
    task.approval = c->opt[CO_APPROVAL] != NULL;
    m.body_case = MOMEDO__CONTENT__BODY_TASK;
    m.task = &task;
  } else if (c->opt[CO_FILE]) {
    rc = cli__file_extras(c, &f, &l);
    if (rc == 0)
      rc = cli_read_attachment(c, c->opt[CO_FILE], c->opt[CO_MIME], &f, &file, &file_len);
    m.body_case = MOMEDO__CONTENT__BODY_FILE;
    m.file = &f;
  } else {
    rc = text_of(c, text, sizeof text);
    t.text = text;
    m.body_case = MOMEDO__CONTENT__BODY_TEXT;
    m.text = &t;
  }
  if (rc == 0) rc = cli_open(c, &st, 1);
  if (rc == 0) rc = cli_connect(c, &st, &cn);
  if (rc == 0) {
    rc = cli_send_any(c, &st, &cn, c->pos[0], &m, file, file_len, id, &n_env, &kind);
    /* Save even after a failure: a session or group chain that encrypted must never
     * reuse its keys. */
    char why[CLI_WHY_MAX];
    snprintf(why, sizeof why, "%s", c->why);
    int r2 = cli_save(c, &st);
    if (rc) snprintf(c->why, sizeof c->why, "%s", why);
    else rc = r2;
  }
  if (rc == 0) print_sent(c, c->pos[0], id, n_env, kind);
  cli_conn_close(&cn);
  cli_close(&st);
  if (file) crypto_wipe(file, file_len);
  free(file);
  return rc;
}

/* Find a message by ID prefix in any conversation with a contact (and in groups and
 * channels too when with_groups; *ct stays NULL for those). tl_entry_clear(&f->e). */
int cli__find_any(struct cli *c, struct cli_state *st, const char *hex, struct contact **ct,
                  int with_groups, struct hist_found *f) {
  unsigned kinds = with_groups ? HIST_KINDS_ALL : 1u << HIST_CONTACT;
  *ct = NULL;
  int rc = hist_find_prefix(&st->hist, hex, kinds, f);
  if (rc == MOMEDO_E_INVAL)
    return cli_fail(c, rc, "MSGID must be at least 6 hex digits (as shown in brackets)");
  if (rc == MOMEDO_E_EXISTS)
    return cli_fail(c, rc, "%s matches several messages: give more digits", hex);
  if (rc == MOMEDO_E_NOTFOUND) return cli_fail(c, rc, "no message %s", hex);
  if (rc) return cli_fail(c, rc, "cannot read the history: %s", momedo_strerror(rc));
  if (f->kind == HIST_CONTACT && !(*ct = contacts_find_key(&st->contacts, f->key))) {
    tl_entry_clear(&f->e);
    return cli_fail(c, MOMEDO_E_NOTFOUND, "message %s is with a contact this device no "
                    "longer has", hex);
  }
  return 0;
}

int cli_cmd_task(struct cli *c) {
  struct cli_state st;
  struct cli_conn cn;
  struct contact *ct = NULL;
  struct hist_found f;
  uint8_t id[TL_ID_LEN], task_id[TL_ID_LEN];
  size_t n_env = 0;
  int accept = strcmp(c->pos[0], "accept") == 0, done = strcmp(c->pos[0], "done") == 0;
  if (!strcmp(c->pos[0], "approve") || !strcmp(c->pos[0], "decline")) return cli__task_decide(c);
  if (!accept && !done)
    return cli_fail(c, MOMEDO_E_INVAL, "unknown 'task %s' (use accept, done, approve or "
                    "decline)", c->pos[0]);
  if (c->opt[CO_COMMENT])
    return cli_fail(c, MOMEDO_E_INVAL, "--comment goes with task approve|decline");
  memset(&cn, 0, sizeof cn);
  memset(&f, 0, sizeof f);
  int rc = cli_open(c, &st, 1);
  if (rc == 0) rc = cli__find_any(c, &st, c->pos[1], &ct, 0, &f);
  if (rc == 0 && f.e.kind != TL_TASK) rc = cli_fail(c, MOMEDO_E_INVAL, "%s is not a task", c->pos[1]);
  if (rc == 0) memcpy(task_id, f.e.id, TL_ID_LEN);
  tl_entry_clear(&f.e);
  Momedo__TaskReply r = MOMEDO__TASK_REPLY__INIT;
  r.task_id = (ProtobufCBinaryData){TL_ID_LEN, task_id};
  r.action = accept ? MOMEDO__TASK_REPLY__ACTION__ACCEPT : MOMEDO__TASK_REPLY__ACTION__DONE;
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  m.body_case = MOMEDO__CONTENT__BODY_TASK_REPLY;
  m.task_reply = &r;
  if (rc == 0) rc = cli_connect(c, &st, &cn);
  if (rc == 0) {
    rc = cli_deliver(c, &st, &cn, ct->uid, &m, NULL, 0, id, &n_env);
    char why[CLI_WHY_MAX];
    snprintf(why, sizeof why, "%s", c->why);
    int r2 = cli_save(c, &st);
    if (rc) snprintf(c->why, sizeof c->why, "%s", why);
    else rc = r2;
  }
  if (rc == 0) {
    char hex[2 * TL_ID_LEN + 1];
    tl_id_hex(hex, task_id);
    if (c->json) {
      struct jsonw j;
      jsonw_begin(&j, stdout);
      jsonw_bool(&j, "ok", 1);
      jsonw_str(&j, "task_id", hex);
      jsonw_str(&j, "action", c->pos[0]);
      jsonw_end(&j);
    } else printf("task %.12s: %s (sent to %s)\n", hex, c->pos[0], contact_label(ct));
  }
  cli_conn_close(&cn);
  cli_close(&st);
  return rc;
}

int cli_cmd_save(struct cli *c) {
  struct cli_state st;
  struct contact *ct = NULL;
  struct hist_found f;
  struct tl_entry *e = &f.e;
  uint8_t *d = NULL;
  size_t n = 0;
  memset(&f, 0, sizeof f);
  int rc = cli_open(c, &st, 0);
  if (rc == 0) rc = cli__find_any(c, &st, c->pos[0], &ct, 1, &f);
  if (rc == 0 && (e->kind != TL_FILE || !e->path))
    rc = cli_fail(c, MOMEDO_E_NOTFOUND, "%s is not a file this device holds", c->pos[0]);
  if (rc == 0 && (rc = vault_read(&st.vault, e->path, &d, &n)) != 0)
    rc = cli_fail(c, rc, "the attachment is missing from the vault: %s", momedo_strerror(rc));
  if (rc == 0 && (rc = vault_atomic_write(c->pos[1], d, n, 0600)) != 0)
    rc = cli_fail(c, rc, "cannot write %s", c->pos[1]);
  if (rc == 0) {
    if (c->json) {
      struct jsonw j;
      jsonw_begin(&j, stdout);
      jsonw_bool(&j, "ok", 1);
      jsonw_str(&j, "path", c->pos[1]);
      jsonw_u64(&j, "size", n);
      jsonw_end(&j);
    } else {
      printf("saved %s (%zu bytes) to %s\n", e->text, n, c->pos[1]);
    }
  }
  if (d) crypto_wipe(d, n);
  free(d);
  tl_entry_clear(&f.e);
  cli_close(&st);
  return rc;
}
