/* client/cli/bot.c — `momedo bot`: the client for software (a department's ticketing, the
 * parking office). Reads one JSON object per line on stdin — {"to":ID,"text":...},
 * {"to":ID,"file":PATH}, {"to":ID,"location":[LAT,LON(,ACC)]}, {"to":ID,"task":TITLE,
 * "due":DATE}, {"group":NAME,"text":...} ("to" may also be "channel:NAME") — sends it and
 * answers with one JSON line; writes one JSON line per arriving message, pairwise, group
 * or channel (sender, kind, text, saved attachment path, location).
 * Attachments are written to --save-dir (default HOME/inbox). Never evaluates input. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"

#define BOT_LINE_MAX (256u * 1024)   /* one input line */
#define BOT_FIELDS_MAX 8
#define BOT_POLL_MS 200
#define BOT_INBOX "inbox"

/* ---- the request: one flat JSON object (cJSON) of strings and one number array ---- */

struct bot_field {
  const char *key;
  int type;               /* 's' string, 'n' number, 'a' array of 1..3 numbers */
  char *str;              /* owned by the cJSON tree (protobuf-c fields are not const) */
  double num[3];
  int n_num;
};

/* A \u0000 escape: cJSON would cut the string there, so the text sent would silently
 * differ from the text given. Refused, as before cJSON. */
static int has_nul_escape(const char *p) {
  for (; *p; p++) {
    if (*p != '\\') continue;
    if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0) return 1;
    if (p[1]) p++; /* skip the escaped character (\\ included) */
  }
  return 0;
}

/* An array of 1..3 finite numbers (a location; bot_build checks how many): 0, or -1. */
static int take_numbers(struct bot_field *x, const cJSON *v) {
  for (const cJSON *e = v->child; e; e = e->next) {
    if (x->n_num >= 3 || !cJSON_IsNumber(e) || !isfinite(e->valuedouble)) return -1;
    x->num[x->n_num++] = e->valuedouble;
  }
  return x->n_num ? 0 : -1;
}

/* Parse line into *root and up to BOT_FIELDS_MAX fields pointing into it. */
static int json_parse(const char *line, cJSON **root, struct bot_field *f, int *n) {
  const char *end = NULL;
  *n = 0;
  *root = NULL;
  if (has_nul_escape(line)) return -1;
  cJSON *r = cJSON_ParseWithOpts(line, &end, 0);
  if (!r) return -1;
  *root = r;
  for (; end && *end; end++)
    if (!strchr(" \t\r\n", *end)) return -1;
  if (!cJSON_IsObject(r)) return -1;
  for (const cJSON *v = r->child; v; v = v->next) {
    if (*n >= BOT_FIELDS_MAX || !v->string) return -1;
    struct bot_field *x = &f[(*n)++];
    memset(x, 0, sizeof *x);
    x->key = v->string;
    if (cJSON_IsString(v)) {
      x->type = 's';
      x->str = v->valuestring;
    } else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
      x->type = 'n';
      x->num[0] = v->valuedouble;
    } else if (cJSON_IsArray(v) && take_numbers(x, v) == 0) {
      x->type = 'a';
    } else {
      return -1; /* objects, true, false, null: no request has them */
    }
  }
  return 0;
}

static const struct bot_field *field(const struct bot_field *f, int n, const char *key, int type) {
  for (int i = 0; i < n; i++)
    if (strcmp(f[i].key, key) == 0) return f[i].type == type ? &f[i] : NULL;
  return NULL;
}

/* ---- one request -------------------------------------------------------------------- */

static int bot_build(struct cli *c, const struct bot_field *f, int n, Momedo__Content *m,
                     Momedo__Text *t, Momedo__File *file, Momedo__Location *l, Momedo__Task *task,
                     uint8_t **data, size_t *len, const char **to, int *is_group) {
  static const char *known[] = {"to", "group", "text", "file", "mime", "location", "task", "due"};
  for (int i = 0; i < n; i++) {
    int ok = 0;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= !strcmp(f[i].key, known[k]);
    if (!ok) return cli_fail(c, MOMEDO_E_INVAL, "unknown field \"%s\"", f[i].key);
  }
  const struct bot_field *fto = field(f, n, "to", 's'), *fgroup = field(f, n, "group", 's'),
                         *ftext = field(f, n, "text", 's'),
                         *ffile = field(f, n, "file", 's'), *floc = field(f, n, "location", 'a'),
                         *ftask = field(f, n, "task", 's'), *fdue = field(f, n, "due", 's'),
                         *fmime = field(f, n, "mime", 's');
  if (!fto == !fgroup)
    return cli_fail(c, MOMEDO_E_INVAL, "give \"to\" (a contact or \"channel:NAME\") or "
                    "\"group\" (a string)");
  *to = fto ? fto->str : fgroup->str;
  *is_group = fgroup != NULL;
  if (!!ftext + !!ffile + !!floc + !!ftask != 1)
    return cli_fail(c, MOMEDO_E_INVAL, "give exactly one of \"text\", \"file\", \"location\" "
                    "([lat, lon] or [lat, lon, accuracy_m]) or \"task\"");
  if (ftext) {
    t->text = ftext->str;
    m->body_case = MOMEDO__CONTENT__BODY_TEXT;
    m->text = t;
  } else if (ffile) {
    m->body_case = MOMEDO__CONTENT__BODY_FILE;
    m->file = file;
    return eng_read_attachment(&c->e, ffile->str, fmime ? fmime->str : NULL, file, data, len);
  } else if (floc) {
    if (floc->n_num < 2 || fabs(floc->num[0]) > 90 || fabs(floc->num[1]) > 180 ||
        (floc->n_num == 3 && (floc->num[2] < 0 || floc->num[2] > CONTENT_ACCURACY_M_MAX)))
      return cli_fail(c, MOMEDO_E_INVAL, "\"location\" must be [lat -90..90, lon -180..180(, "
                      "accuracy_m)]");
    l->lat = floc->num[0];
    l->lon = floc->num[1];
    l->accuracy_m = floc->n_num == 3 ? floc->num[2] : 0;
    m->body_case = MOMEDO__CONTENT__BODY_LOCATION;
    m->location = l;
  } else {
    if (!ftask->str[0] || strlen(ftask->str) > CONTENT_TITLE_BYTES_MAX)
      return cli_fail(c, MOMEDO_E_INVAL, "\"task\" needs a title of 1..%d bytes",
                      CONTENT_TITLE_BYTES_MAX);
    task->title = ftask->str;
    if (fdue) {
      int rc = eng_parse_due(&c->e, fdue->str, &task->due_ms);
      if (rc) return rc;
    }
    m->body_case = MOMEDO__CONTENT__BODY_TASK;
    m->task = task;
  }
  return 0;
}

/* ---- answers: one JSON line each, written with cJSON ------------------------------ */

static void put_line(FILE *o, cJSON *a) {
  char *t = a ? cJSON_PrintUnformatted(a) : NULL;
  if (t) fprintf(o, "%s\n", t);
  else fprintf(o, "{\"type\":\"sent\",\"ok\":false,\"error\":\"E_NOMEM\"}\n");
  cJSON_free(t);
  cJSON_Delete(a);
}

static void answer_fail(FILE *o, int rc, const char *message) {
  cJSON *a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "type", "sent");
  cJSON_AddBoolToObject(a, "ok", 0);
  cJSON_AddStringToObject(a, "error", momedo_status_name(rc));
  cJSON_AddStringToObject(a, "message", message ? message : "");
  put_line(o, a);
}

static void answer_sent(FILE *o, const uint8_t id[static TL_ID_LEN], int is_group,
                        const char *to, int kind, size_t n_env) {
  char hex[2 * TL_ID_LEN + 1];
  tl_id_hex(hex, id);
  cJSON *a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "type", "sent");
  cJSON_AddBoolToObject(a, "ok", 1);
  cJSON_AddStringToObject(a, "id", hex);
  cJSON_AddStringToObject(a, is_group ? "group" : "to", to);
  cJSON_AddNumberToObject(a, kind ? "items" : "envelopes", (double)n_env);
  put_line(o, a);
}

/* Lines read together are sent under one hold of the home's lock and saved once (only
 * the records that changed, one vault transaction); the envelopes of the batch's
 * messages to contacts are posted after that save, pipelined, and each answer is
 * printed after its envelopes were taken by the node, so an answer "ok" always means
 * the new state is on disk and the message was accepted. */
#define BOT_BATCH_MAX 64              /* input lines per save */
struct bot_batch {
  int locked, n;
  FILE *ans;                          /* answers, printed after the save */
  char *buf;
  size_t len;
  long off[BOT_BATCH_MAX + 1];        /* where each line's answer starts in buf */
  int failed[BOT_BATCH_MAX];          /* a post refused or lost: that line fails */
  struct eng_outbox ob;               /* the batch's envelopes (c->e.defer) */
};

static int batch_begin(struct cli *c, struct eng_state *st, struct bot_batch *b) {
  if (b->locked) return 0;
  int rc = eng_reacquire(&c->e, st);
  if (rc == 0) b->locked = 1;
  return rc;
}

/* Print the batch's answers: each line's as written, or its post's failure. */
static void batch_print(struct bot_batch *b, int rc, const char *why) {
  if (rc) {
    for (int i = 0; i < b->n; i++) answer_fail(stdout, rc, why);
    return;
  }
  b->off[b->n] = (long)b->len;
  for (int i = 0; i < b->n; i++) {
    if (b->failed[i]) answer_fail(stdout, b->failed[i], momedo_strerror(b->failed[i]));
    else fwrite(b->buf + b->off[i], 1, (size_t)(b->off[i + 1] - b->off[i]), stdout);
  }
}

/* Save what the batch changed, post its envelopes, release the lock, print the answers. */
static int batch_end(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                     struct bot_batch *b) {
  int rc = 0, link = 0;
  if (b->locked) {
    rc = b->ob.n ? eng_outbox_post_batch(&c->e, st, cn, &b->ob, b->failed, b->n, &link)
                 : eng_save(&c->e, st);
    eng_release(st);
    b->locked = 0;
  }
  if (fflush(b->ans) != 0 && rc == 0) rc = cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  batch_print(b, rc, c->e.why);
  fflush(stdout);
  rewind(b->ans);
  eng_outbox_free(&b->ob);
  memset(b->failed, 0, sizeof b->failed);
  b->len = 0;
  b->n = 0;
  if (link) return link;
  return rc && momedo_status_kind(rc) == MOMEDO_KIND_IO ? rc : 0;
}

/* Where the next answer starts (the memstream's length after a flush). */
static void batch_mark(struct bot_batch *b) {
  fflush(b->ans);
  b->off[b->n] = ftell(b->ans);
}

/* Handle one input line; writes the answer to b->ans. Only I/O failures are returned. */
static int bot_request(struct cli *c, struct eng_state *st, struct eng_conn *cn, char *line,
                       struct bot_batch *b) {
  struct bot_field f[BOT_FIELDS_MAX];
  int n = 0;
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  Momedo__File file = MOMEDO__FILE__INIT;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  Momedo__Task task = MOMEDO__TASK__INIT;
  uint8_t *data = NULL, id[TL_ID_LEN];
  size_t len = 0, n_env = 0;
  const char *to = NULL;
  int is_group = 0, kind = 0;
  FILE *o = b->ans;
  c->e.why[0] = '\0';
  cJSON *root = NULL;
  int rc = json_parse(line, &root, f, &n) ? cli_fail(c, MOMEDO_E_INVAL, "not a JSON object") : 0;
  if (rc == 0) rc = bot_build(c, f, n, &m, &t, &file, &l, &task, &data, &len, &to, &is_group);
  int io = 0;
  batch_mark(b);
  if (rc == 0 && (rc = batch_begin(c, st, b)) == 0) {
    struct eng_group *cg = NULL;
    if (!is_group) {
      /* A contact's envelopes wait for the batch's one save and pipelined posts. */
      size_t pl = strlen(ENG_CHANNEL_PREFIX);
      if (strncmp(to, ENG_CHANNEL_PREFIX, pl) != 0 && eng_contact_resolve(st, to)) {
        c->e.defer = &b->ob;
        c->e.defer_tag = b->n;
      }
      rc = eng_send_any(&c->e, st, cn, to, &m, data, len, id, &n_env, &kind);
      c->e.defer = NULL;
      if (rc) eng_outbox_drop(&b->ob, b->n); /* a failed line posts nothing */
    } else if ((rc = eng_group_find(&c->e, st, to, &cg)) == 0) {
      kind = 1;
      if ((rc = eng_group_send(&c->e, st, cn, cg, &m, data, len, id)) == 0) n_env = 1;
    }
    io = rc && momedo_status_kind(rc) == MOMEDO_KIND_IO;
  }
  if (data) crypto_wipe(data, len);
  free(data);
  b->n++;
  if (rc == 0) answer_sent(o, id, is_group, to, kind, n_env);
  else answer_fail(o, rc, c->e.why[0] ? c->e.why : momedo_strerror(rc));
  cJSON_Delete(root); /* the request's strings (to, text) live in it until here */
  return io ? rc : 0;
}

/* ---- the loop ----------------------------------------------------------------------- */

struct bot_in {
  char *buf;
  size_t len;
  int overlong, eof;
};

/* Read what stdin has; send every complete line (BOT_BATCH_MAX per save). */
static int bot_read(struct cli *c, struct eng_state *st, struct eng_conn *cn, struct bot_in *in,
                    struct bot_batch *b) {
  ssize_t r = read(STDIN_FILENO, in->buf + in->len, BOT_LINE_MAX - in->len);
  if (r < 0) return errno == EINTR || errno == EAGAIN ? 0 : MOMEDO_E_IO;
  if (r == 0) in->eof = 1;
  in->len += (size_t)r;
  int rc = 0;
  for (;;) {
    char *nl = memchr(in->buf, '\n', in->len);
    if (!nl && !(in->eof && in->len > 0) && in->len < BOT_LINE_MAX) break;
    size_t l = nl ? (size_t)(nl - in->buf) : in->len;
    int skip = in->overlong;
    in->overlong = !nl && in->len >= BOT_LINE_MAX;
    if (in->overlong || skip) {
      if (!skip) {
        batch_mark(b);
        b->n++;
        char msg[64];
        snprintf(msg, sizeof msg, "input line longer than %u bytes", BOT_LINE_MAX);
        answer_fail(b->ans, MOMEDO_E_TOOBIG, msg);
      }
    } else {
      in->buf[l] = '\0';
      int blank = 1;
      for (size_t i = 0; i < l; i++) blank &= in->buf[i] == ' ' || in->buf[i] == '\t' || in->buf[i] == '\r';
      if (!blank) rc = bot_request(c, st, cn, in->buf, b);
    }
    size_t used = nl ? l + 1 : in->len;
    memmove(in->buf, in->buf + used, in->len - used);
    in->len -= used;
    if (rc || !nl) break;
    if (b->n >= BOT_BATCH_MAX && (rc = batch_end(c, st, cn, b)) != 0) break;
  }
  int r2 = batch_end(c, st, cn, b);
  return rc ? rc : r2;
}

static int bot_session(struct cli *c, struct eng_state *st, struct bot_in *in,
                       struct bot_batch *b) {
  struct eng_conn *cn = NULL;
  size_t n_new = 0;
  int rc = eng_reacquire(&c->e, st);
  if (rc) return rc;
  rc = eng_conn_new(&cn);
  if (rc == 0) rc = eng_connect(&c->e, st, cn);
  if (rc == 0) rc = eng_subscribe_live(&c->e, st, cn);
  if (rc == 0) rc = eng_sync_conn(&c->e, st, cn, &n_new);
  if (rc == 0) rc = eng_sync_groups(&c->e, st, cn, &n_new);
  if (rc == 0) rc = eng_subscribe_live(&c->e, st, cn);
  eng_release(st);
  struct eng_watch w = {.dropped = 0, .last_ms = os_wall_ms()};
  while (rc == 0 && !in->eof) {
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    int pr = poll(&p, 1, BOT_POLL_MS);
    if (pr > 0) rc = bot_read(c, st, cn, in, b);
    /* Events dropped while the queue was full (or a quiet while): fetch from the cursor. */
    if (rc == 0) rc = eng_watch_check(&c->e, st, cn, &w, pr == 0, &n_new);
    if (rc) break;
    int er = eng_conn_wait(&c->e, cn, pr > 0 ? 0 : BOT_POLL_MS / 2);
    if (er == MOMEDO_E_TIMEOUT) continue;
    if (er) {
      rc = er; /* the link to the node failed */
      break;
    }
    rc = eng_handle_event(&c->e, st, cn, &n_new);
    if (rc == 0) rc = eng_listen_update(&c->e, st, cn, &n_new); /* a new group or epoch */
  }
  eng_conn_free(cn);
  return rc;
}

int cli_cmd_bot(struct cli *c) {
  struct eng_state *st = NULL;
  struct bot_in in = {0};
  char inbox[HOME_PATH_MAX];
  c->json = 1; /* a bot speaks JSON lines */
  int rc = cli_open(c, &st, 1);
  if (rc == 0 && !eng_save_dir(st)) {
    if (eng_home_file(st, BOT_INBOX, inbox, sizeof inbox) == 0) eng_set_save_dir(st, inbox);
  }
  eng_release(st);
  struct bot_batch b = {0};
  in.buf = malloc(BOT_LINE_MAX + 1);
  b.ans = open_memstream(&b.buf, &b.len);
  if (rc == 0 && (!in.buf || !b.ans)) rc = cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  int delay = 500;
  while (rc == 0 && !in.eof) {
    rc = bot_session(c, st, &in, &b);
    if (rc == 0 || in.eof) break;
    if (momedo_status_kind(rc) != MOMEDO_KIND_IO && rc != MOMEDO_E_CLOSED) break;
    fprintf(stderr, "momedo: connection lost (%s); reconnecting\n", c->e.why);
    usleep((useconds_t)delay * 1000);
    delay = delay * 2 > 8000 ? 8000 : delay * 2;
    rc = 0;
  }
  free(in.buf);
  if (b.ans) fclose(b.ans);
  free(b.buf);
  eng_outbox_free(&b.ob);
  eng_state_free(st);
  return rc;
}
