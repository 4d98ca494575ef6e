/* client/cli/cli_send.c — `send` (text, file, location, task) to a contact, a group or a
 * passphrase channel, `task accept|done` and `save`, for the command line: validates
 * every argument before touching the network, then lets the engine send
 * (client/core/engine_send.c: eng_send_any) and prints what it did. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"

#define SEND_TEXT_MAX CONTENT_TEXT_BYTES_MAX

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
  int rc = eng_parse_location(&c->e, c->opt[CO_LOCATION], l);
  if (rc == 0) f->location = l;
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
  if (c->e.deliver_from_ms) deliver_time(when, c->e.deliver_from_ms, c->e.deliver_off_min);
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "id", hex);
    jsonw_str(&j, "to", to);
    if (kind) jsonw_str(&j, "kind", kind == 1 ? "group" : "channel");
    jsonw_u64(&j, kind ? "items" : "envelopes", n_env);
    if (!kind) { /* new sessions of this send: with a one-time prekey / the signed one alone */
      jsonw_u64(&j, "one_time_prekeys", c->e.otpk_used);
      jsonw_u64(&j, "signed_prekey_only", c->e.otpk_fallback);
    }
    if (c->e.deliver_from_ms) {
      jsonw_u64(&j, "deliver_from_ms", c->e.deliver_from_ms);
      jsonw_str(&j, "deliver_from", when);
    }
    jsonw_end(&j);
  } else if (kind) {
    printf("posted to %s once (encrypted for every member)   [%.12s]\n", to, hex);
  } else {
    printf("sent to %s (%zu envelope%s)   [%.12s]\n", to, n_env, n_env == 1 ? "" : "s", hex);
  }
  if (c->e.deliver_from_ms && !c->json)
    printf("outside working hours of the recipient: delivered from %s\n", when);
}

int cli_cmd_send(struct cli *c) {
  static char text[SEND_TEXT_MAX + 1];
  struct eng_state *st = NULL;
  struct eng_conn *cn = NULL;
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
    rc = eng_parse_location(&c->e, c->opt[CO_LOCATION], &l);
    m.body_case = MOMEDO__CONTENT__BODY_LOCATION;
    m.location = &l;
  } else if (c->opt[CO_TASK]) {
    size_t tl = strlen(c->opt[CO_TASK]);
    if (tl == 0 || tl > CONTENT_TITLE_BYTES_MAX)
      rc = cli_fail(c, MOMEDO_E_INVAL, "--task needs a title of 1..%d bytes", CONTENT_TITLE_BYTES_MAX);
    if (rc == 0 && c->opt[CO_DUE]) rc = eng_parse_due(&c->e, c->opt[CO_DUE], &task.due_ms);
    task.title = (char *)c->opt[CO_TASK];
    task.approval = c->opt[CO_APPROVAL] != NULL;
    m.body_case = MOMEDO__CONTENT__BODY_TASK;
    m.task = &task;
  } else if (c->opt[CO_FILE]) {
    rc = cli__file_extras(c, &f, &l);
    if (rc == 0)
      rc = eng_read_attachment(&c->e, c->opt[CO_FILE], c->opt[CO_MIME], &f, &file, &file_len);
    m.body_case = MOMEDO__CONTENT__BODY_FILE;
    m.file = &f;
  } else {
    rc = text_of(c, text, sizeof text);
    t.text = text;
    m.body_case = MOMEDO__CONTENT__BODY_TEXT;
    m.text = &t;
  }
  if (rc == 0) rc = cli_open(c, &st, 1);
  if (rc == 0 && (rc = eng_conn_new(&cn)) == 0) rc = eng_connect(&c->e, st, cn);
  if (rc == 0) {
    rc = eng_send_any(&c->e, st, cn, c->pos[0], &m, file, file_len, id, &n_env, &kind);
    /* Save even after a failure: a session or group chain that encrypted must never
     * reuse its keys. */
    char why[ENG_WHY_MAX];
    snprintf(why, sizeof why, "%s", c->e.why);
    int r2 = eng_save(&c->e, st);
    if (rc) snprintf(c->e.why, sizeof c->e.why, "%s", why);
    else rc = r2;
  }
  if (rc == 0) print_sent(c, c->pos[0], id, n_env, kind);
  eng_conn_free(cn);
  eng_state_free(st);
  if (file) crypto_wipe(file, file_len);
  free(file);
  return rc;
}

int cli_cmd_task(struct cli *c) {
  struct eng_state *st = NULL;
  uint8_t task_id[TL_ID_LEN], reply_id[TL_ID_LEN];
  char to[ENG_LABEL_MAX];
  int accept = strcmp(c->pos[0], "accept") == 0, done = strcmp(c->pos[0], "done") == 0;
  if (!strcmp(c->pos[0], "approve") || !strcmp(c->pos[0], "decline")) return cli__task_decide(c);
  if (!accept && !done)
    return cli_fail(c, MOMEDO_E_INVAL, "unknown 'task %s' (use accept, done, approve or "
                    "decline)", c->pos[0]);
  if (c->opt[CO_COMMENT])
    return cli_fail(c, MOMEDO_E_INVAL, "--comment goes with task approve|decline");
  int rc = cli_open(c, &st, 1);
  if (rc == 0) rc = eng_task_act(&c->e, st, c->pos[1], done, task_id, reply_id, to, sizeof to);
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
    } else {
      printf("task %.12s: %s (sent to %s)\n", hex, c->pos[0], to);
    }
  }
  eng_state_free(st);
  return rc;
}

int cli_cmd_save(struct cli *c) {
  struct eng_state *st = NULL;
  struct contact *ct = NULL;
  struct hist_found f;
  struct tl_entry *e = &f.e;
  uint8_t *d = NULL;
  size_t n = 0;
  memset(&f, 0, sizeof f);
  int rc = cli_open(c, &st, 0);
  if (rc == 0) rc = eng_find_any(&c->e, st, c->pos[0], &ct, 1, &f);
  if (rc == 0 && (e->kind != TL_FILE || !e->path))
    rc = cli_fail(c, MOMEDO_E_NOTFOUND, "%s is not a file this device holds", c->pos[0]);
  if (rc == 0 && (rc = eng_attachment_read(st, e->path, &d, &n)) != 0)
    rc = cli_fail(c, rc, "the attachment is missing from the vault: %s", momedo_strerror(rc));
  if (rc == 0 && (rc = eng_file_write(c->pos[1], d, n)) != 0)
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
  eng_state_free(st);
  return rc;
}
