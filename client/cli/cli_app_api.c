/* client/cli/cli_app_api.c — `momedo app`'s JSON API, each handler run under the app's
 * lock: the state, unlocking with the passphrase (kept in this process, wiped from the
 * request), the conversation list with unread counts (the last row the page showed is
 * kept in history.db's meta table under an opaque key), a conversation's messages, and
 * sending text, a file or a task reply through the command line's engine
 * (eng_send_any, eng_deliver), adding a contact (eng_contact_add), and this user's ID
 * card as a QR matrix. A conversation is named by kind and key (hex), never by a name. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "cli_app.h"
#include "hex.h"

#define APP_TO_MAX (ENG_LABEL_MAX + 80)

static const char *const kind_names[] = {"", "contact", "group", "channel"};
static const char *const state_names[] = {"received", "sent", "delivered", "read"};
static const char *const task_names[] = {"open", "accepted", "done"};
static const char *const tl_kind_names[] = {"", "text", "file", "location", "task", "task_reply"};

/* A conversation as the page names it, resolved in the loaded state. */
struct app_conv {
  enum hist_conv_kind kind;
  uint8_t key[32];
  char to[APP_TO_MAX];        /* what eng_send_any takes */
  char label[ENG_LABEL_MAX];
  const struct contact *ct;   /* contacts */
  struct hist_conv hc;
};

static const char *arg(struct app_call *c, const char *name) {
  if (c->body) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
  }
  return MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, name);
}

static int engine_fail(struct app *a, struct app_call *c, int rc) {
  app_error(c, 0, rc, a->rq.e.why[0] ? a->rq.e.why : momedo_strerror(rc));
  a->rq.e.why[0] = 0;
  return rc;
}

const char *app_arg(struct app_call *c, const char *name) { return arg(c, name); }
int app_engine_fail(struct app *a, struct app_call *c, int rc) { return engine_fail(a, c, rc); }

static void conv_label(struct eng_state *st, struct app_conv *v) {
  if (v->kind == HIST_CONTACT) {
    snprintf(v->label, sizeof v->label, "%s", contact_label(v->ct));
    snprintf(v->to, sizeof v->to, "%s", v->ct->uid);
    return;
  }
  if (v->kind == HIST_GROUP) {
    snprintf(v->label, sizeof v->label, "%s", eng_group_name(eng_group_by_id(st, v->key)));
    hex_encode(v->to, sizeof v->to, v->key, GROUP_ID_LEN);
    return;
  }
  struct eng_channel *ch = eng_channel_by_mailbox(st, v->key);
  snprintf(v->label, sizeof v->label, "%s%s", ENG_CHANNEL_PREFIX, eng_channel_name(ch));
  snprintf(v->to, sizeof v->to, "%s%s", ENG_CHANNEL_PREFIX, eng_channel_name(ch));
}

/* kind and key (64 hex digits) of the request to a conversation this device has. */
static int conv_find(struct app *a, struct app_call *c, struct app_conv *v) {
  const char *k = arg(c, "kind"), *key = arg(c, "key");
  struct eng_state *st = a->st;
  memset(v, 0, sizeof *v);
  for (int i = HIST_CONTACT; i <= HIST_CHANNEL; i++)
    if (k && strcmp(k, kind_names[i]) == 0) v->kind = (enum hist_conv_kind)i;
  if (!v->kind || !key || strlen(key) != 64 || hex_decode_str(v->key, 32, key) != 0) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL,
              "kind (contact, group, channel) and key (64 hex digits) name a conversation");
    return MOMEDO_E_INVAL;
  }
  int found = v->kind == HIST_CONTACT ? (v->ct = eng_contact_by_key(st, v->key)) != NULL
              : v->kind == HIST_GROUP ? eng_group_by_id(st, v->key) != NULL
                                      : eng_channel_by_mailbox(st, v->key) != NULL;
  if (!found) {
    app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "no such conversation on this device");
    return MOMEDO_E_NOTFOUND;
  }
  conv_label(st, v);
  int rc = eng_hist_conv(st, v->kind, v->key, &v->hc);
  if (rc) app_error(c, 0, rc, "cannot read the history");
  return rc;
}

static void read_key(char out[static sizeof APP_READ_META + 2 * HIST_KEY_LEN],
                     const struct hist_conv *hc) {
  memcpy(out, APP_READ_META, sizeof APP_READ_META - 1);
  hex_encode(out + sizeof APP_READ_META - 1, 2 * HIST_KEY_LEN + 1, hc->ck, HIST_KEY_LEN);
}

/* The sender of an entry as the page shows it ("" for this user). */
static void entry_from(struct eng_state *st, const struct app_conv *v, const struct tl_entry *e,
                       char *out, size_t cap) {
  out[0] = 0;
  if (e->outgoing) return;
  if (v->kind == HIST_CONTACT) {
    snprintf(out, cap, "%s", v->label);
    return;
  }
  const struct contact *ct =
      v->kind == HIST_GROUP && e->due ? eng_contact_resolve(st, e->due) : NULL;
  snprintf(out, cap, "%s", ct && ct->name[0] ? ct->name : e->due ? e->due : "");
}

static cJSON *entry_json(struct eng_state *st, const struct app_conv *v, const struct tl_entry *e) {
  char hex[2 * TL_ID_LEN + 1], from[ENG_LABEL_MAX];
  cJSON *o = cJSON_CreateObject();
  tl_id_hex(hex, e->id);
  entry_from(st, v, e, from, sizeof from);
  cJSON_AddStringToObject(o, "id", hex);
  cJSON_AddBoolToObject(o, "out", e->outgoing);
  cJSON_AddStringToObject(o, "kind", e->kind <= TL_TASK_REPLY ? tl_kind_names[e->kind] : "");
  cJSON_AddStringToObject(o, "state", e->outgoing ? state_names[e->status & 3] : "received");
  cJSON_AddStringToObject(o, "text", e->text ? e->text : "");
  cJSON_AddStringToObject(o, "from", from);
  cJSON_AddNumberToObject(o, "sent_ms", (double)e->sent_ms);
  if (e->kind == TL_FILE) {
    cJSON_AddNumberToObject(o, "size", (double)e->size);
    cJSON_AddStringToObject(o, "mime", e->mime ? e->mime : "application/octet-stream");
  } else if (e->kind == TL_LOCATION) {
    cJSON_AddNumberToObject(o, "lat", e->lat);
    cJSON_AddNumberToObject(o, "lon", e->lon);
    if (e->acc >= 0) cJSON_AddNumberToObject(o, "acc", e->acc);
  } else if (e->kind == TL_TASK || e->kind == TL_TASK_REPLY) {
    cJSON_AddStringToObject(o, "task_state", task_names[e->task_state < 3 ? e->task_state : 0]);
    /* A group row keeps its sender in due and a task's due date in note. */
    const char *due = v->kind == HIST_CONTACT ? e->due : v->kind == HIST_GROUP ? e->note : NULL;
    if (e->kind == TL_TASK && due) cJSON_AddStringToObject(o, "due", due);
    if (e->kind == TL_TASK_REPLY) {
      tl_id_hex(hex, e->ref);
      cJSON_AddStringToObject(o, "ref", hex);
    }
  }
  app_entry_extras(st, o, e);
  return o;
}

/* Newest n entries of v (newest first) into a malloc'd array; rows too. */
static int newest(struct eng_state *st, const struct app_conv *v, size_t n, struct tl_entry **e,
                  int64_t **rows, size_t *got) {
  *e = calloc(n, sizeof **e);
  *rows = calloc(n, sizeof **rows);
  *got = 0;
  if (!*e || !*rows) return MOMEDO_E_NOMEM;
  return eng_hist_page(st, &v->hc, 0, n, *e, *rows, got);
}

static void entries_free(struct tl_entry *e, int64_t *rows, size_t n) {
  for (size_t i = 0; e && i < n; i++) tl_entry_clear(&e[i]);
  free(e);
  free(rows);
}

/* One entry of the conversation list: name, kind, key, unread count, newest message. */
static int conv_item(struct app *a, cJSON *arr, struct app_conv *v) {
  char mk[sizeof APP_READ_META + 2 * HIST_KEY_LEN], key[65];
  struct tl_entry *e = NULL;
  int64_t *rows = NULL;
  uint64_t read = 0;
  size_t got = 0, unread = 0;
  conv_label(a->st, v);
  int rc = eng_hist_conv(a->st, v->kind, v->key, &v->hc);
  read_key(mk, &v->hc);
  if (rc == 0 && (rc = eng_hist_meta_get(a->st, mk, &read)) == MOMEDO_E_NOTFOUND) rc = 0;
  if (rc == 0) rc = newest(a->st, v, APP_UNREAD_MAX + 1, &e, &rows, &got);
  for (size_t i = 0; rc == 0 && i < got && rows[i] > (int64_t)read; i++) unread += !e[i].outgoing;
  if (rc == 0) {
    cJSON *o = cJSON_CreateObject();
    hex_encode(key, sizeof key, v->key, 32);
    cJSON_AddStringToObject(o, "kind", kind_names[v->kind]);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "name", v->label);
    cJSON_AddStringToObject(o, "to", v->to);
    cJSON_AddNumberToObject(o, "unread", (double)unread);
    struct eng_group *cg = v->kind == HIST_GROUP ? eng_group_by_id(a->st, v->key) : NULL;
    struct group_info gi;
    if (cg) eng_group_info(cg, &gi);
    if (cg && gi.mode == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL)
      cJSON_AddStringToObject(o, "mode", "channel"); /* an announcement channel */
    if (got) cJSON_AddItemToObject(o, "last", entry_json(a->st, v, &e[0]));
    cJSON_AddItemToArray(arr, o);
  }
  entries_free(e, rows, got);
  return rc;
}

static void api_conversations(struct app *a, struct app_call *c) {
  struct eng_state *st = a->st;
  int rc = eng_reacquire(&a->rq.e, st);
  if (rc) {
    engine_fail(a, c, rc);
    return;
  }
  cJSON *arr = cJSON_CreateArray();
  struct app_conv v;
  for (size_t i = 0; rc == 0 && i < eng_contact_count(st); i++) {
    memset(&v, 0, sizeof v);
    v.kind = HIST_CONTACT;
    v.ct = eng_contact_at(st, i);
    memcpy(v.key, v.ct->key, 32);
    rc = conv_item(a, arr, &v);
  }
  for (size_t i = 0; rc == 0 && i < eng_group_count(st); i++) {
    memset(&v, 0, sizeof v);
    v.kind = HIST_GROUP;
    memcpy(v.key, eng_group_id(eng_group_at(st, i)), 32);
    rc = conv_item(a, arr, &v);
  }
  for (size_t i = 0; rc == 0 && i < eng_channel_count(st); i++) {
    memset(&v, 0, sizeof v);
    v.kind = HIST_CHANNEL;
    memcpy(v.key, eng_channel_mailbox(eng_channel_at(st, i)), 32);
    rc = conv_item(a, arr, &v);
  }
  eng_release(st);
  if (rc) {
    cJSON_Delete(arr);
    app_error(c, 0, rc, "cannot read the history");
    return;
  }
  c->out = cJSON_CreateObject();
  cJSON_AddBoolToObject(c->out, "ok", 1);
  cJSON_AddItemToObject(c->out, "conversations", arr);
}

static void api_messages(struct app *a, struct app_call *c) {
  struct app_conv v;
  struct tl_entry *e = NULL;
  int64_t *rows = NULL;
  size_t got = 0, want = APP_MESSAGES_DEFAULT;
  const char *n = arg(c, "count");
  if (n) want = (size_t)strtoul(n, NULL, 10);
  if (want < 1 || want > APP_MESSAGES_MAX) want = APP_MESSAGES_DEFAULT;
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc) {
    engine_fail(a, c, rc);
    return;
  }
  if (conv_find(a, c, &v) == 0) {
    rc = newest(a->st, &v, want, &e, &rows, &got);
    if (rc) app_error(c, 0, rc, "cannot read the conversation");
  }
  if (rc == 0 && !c->out) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = got; i-- > 0;) cJSON_AddItemToArray(arr, entry_json(a->st, &v, &e[i]));
    c->out = cJSON_CreateObject();
    cJSON_AddBoolToObject(c->out, "ok", 1);
    cJSON_AddStringToObject(c->out, "name", v.label);
    cJSON_AddNumberToObject(c->out, "newest_row", got ? (double)rows[0] : 0);
    cJSON_AddItemToObject(c->out, "messages", arr);
  }
  entries_free(e, rows, got);
  eng_release(a->st);
}

/* {kind, key}: everything up to the newest message is read. */
static void api_read(struct app *a, struct app_call *c) {
  struct app_conv v;
  char mk[sizeof APP_READ_META + 2 * HIST_KEY_LEN];
  struct tl_entry *e = NULL;
  int64_t *rows = NULL;
  size_t got = 0;
  if (conv_find(a, c, &v) != 0) return;
  int rc = newest(a->st, &v, 1, &e, &rows, &got);
  read_key(mk, &v.hc);
  if (rc == 0 && got) rc = eng_hist_meta_set(a->st, mk, (uint64_t)rows[0]);
  entries_free(e, rows, got);
  if (rc) {
    app_error(c, 0, rc, "cannot mark the conversation read");
    return;
  }
  c->out = cJSON_CreateObject();
  cJSON_AddBoolToObject(c->out, "ok", 1);
}

/* Connect, hand m to the engine, save (also after a failure: keys that encrypted are
 * never reused), disconnect. */
static int deliver_file(struct app *a, struct app_call *c, const struct app_conv *v,
                        Momedo__Content *m, const uint8_t *file, size_t file_len,
                        uint8_t id[static TL_ID_LEN]) {
  struct eng_conn *cn = NULL;
  size_t n_env = 0;
  int kind = 0;
  int rc = eng_conn_new(&cn);
  if (rc == 0) rc = eng_connect(&a->rq.e, a->st, cn);
  if (rc == 0) {
    rc = v->kind == HIST_CONTACT && m->body_case == MOMEDO__CONTENT__BODY_TASK_REPLY
             ? eng_deliver(&a->rq.e, a->st, cn, v->to, m, NULL, 0, id, &n_env)
             : eng_send_any(&a->rq.e, a->st, cn, v->to, m, file, file_len, id, &n_env, &kind);
    char why[ENG_WHY_MAX];
    snprintf(why, sizeof why, "%s", a->rq.e.why);
    int r2 = eng_save(&a->rq.e, a->st);
    if (rc) snprintf(a->rq.e.why, sizeof a->rq.e.why, "%s", why);
    else rc = r2;
  }
  eng_conn_free(cn);
  return rc ? engine_fail(a, c, rc) : 0;
}

static int deliver(struct app *a, struct app_call *c, const struct app_conv *v,
                   Momedo__Content *m, uint8_t id[static TL_ID_LEN]) {
  return deliver_file(a, c, v, m, NULL, 0, id);
}

static void sent_ok(struct app *a, struct app_call *c, const uint8_t id[static TL_ID_LEN]) {
  char hex[2 * TL_ID_LEN + 1];
  tl_id_hex(hex, id);
  c->out = cJSON_CreateObject();
  cJSON_AddBoolToObject(c->out, "ok", 1);
  cJSON_AddStringToObject(c->out, "id", hex);
  app_changed(a, -1);
}

/* The one body of {text} | {location: "LAT,LON"} | {task: TITLE, due, approval} into m. */
static int content_of(struct app *a, struct app_call *c, Momedo__Content *m, Momedo__Text *t,
                      Momedo__Location *l, Momedo__Task *task) {
  const char *text = arg(c, "text"), *loc = arg(c, "location"), *title = arg(c, "task"),
             *due = arg(c, "due");
  const cJSON *ap = c->body ? cJSON_GetObjectItemCaseSensitive(c->body, "approval") : NULL;
  size_t tl = text ? strlen(text) : title ? strlen(title) : 0;
  if (!!text + !!loc + !!title != 1 || (due && !title) || (ap && (!title || !cJSON_IsBool(ap))) ||
      (text && (tl == 0 || tl > CONTENT_TEXT_BYTES_MAX)) ||
      (title && (tl == 0 || tl > CONTENT_TITLE_BYTES_MAX))) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "one of text (1 to 65536 bytes), "
              "location (LAT,LON) or task (a title of 1 to 1024 bytes; due and approval "
              "(true/false) optional)");
    return MOMEDO_E_INVAL;
  }
  int rc = 0;
  if (text) {
    t->text = (char *)text;
    m->body_case = MOMEDO__CONTENT__BODY_TEXT;
    m->text = t;
  } else if (loc) {
    rc = eng_parse_location(&a->rq.e, loc, l);
    m->body_case = MOMEDO__CONTENT__BODY_LOCATION;
    m->location = l;
  } else {
    if (due && due[0]) rc = eng_parse_due(&a->rq.e, due, &task->due_ms);
    task->title = (char *)title;
    task->approval = cJSON_IsTrue(ap);
    m->body_case = MOMEDO__CONTENT__BODY_TASK;
    m->task = task;
  }
  return rc ? engine_fail(a, c, rc) : 0;
}

/* {kind, key} and a text, a location or a task (content_of). */
static void api_send(struct app *a, struct app_call *c) {
  struct app_conv v;
  uint8_t id[TL_ID_LEN];
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  Momedo__Task task = MOMEDO__TASK__INIT;
  if (content_of(a, c, &m, &t, &l, &task) != 0) return;
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc) {
    engine_fail(a, c, rc);
    return;
  }
  if (conv_find(a, c, &v) == 0 && deliver(a, c, &v, &m, id) == 0) sent_ok(a, c, id);
  eng_release(a->st);
}

/* {kind, key, name, mime, data (base64)}: a file or photo (the same as `send --file`). */
static void api_send_file(struct app *a, struct app_call *c) {
  static const char *const photo_types[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};
  struct app_conv v;
  uint8_t id[TL_ID_LEN], *file = NULL;
  size_t len = 0;
  const char *name = arg(c, "name"), *mime = arg(c, "mime"), *data = arg(c, "data");
  size_t nl = name ? strlen(name) : 0, dl = data ? strlen(data) : 0;
  if (!mime || !mime[0]) mime = "application/octet-stream";
  if (nl == 0 || nl > CONTENT_NAME_BYTES_MAX || strchr(name, '/') ||
      strlen(mime) > CONTENT_MIME_BYTES_MAX || !strchr(mime, '/') || !data) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "name (a file name), mime (type/subtype) "
              "and data (base64) make an attachment");
    return;
  }
  size_t cap = dl / 4 * 3;
  if (!(file = malloc(cap ? cap : 1))) {
    app_error(c, 0, MOMEDO_E_NOMEM, NULL);
    return;
  }
  int rc = app_b64_decode(data, dl, file, APP_FILE_BYTES_MAX < cap ? APP_FILE_BYTES_MAX : cap, &len);
  if (rc || len == 0) {
    app_error(c, rc == MOMEDO_E_TOOBIG ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST,
              rc ? rc : MOMEDO_E_INVAL, rc == MOMEDO_E_TOOBIG ? "the file is larger than 25 MiB"
                                                              : "data: the file in base64");
    free(file);
    return;
  }
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__File f = MOMEDO__FILE__INIT;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  if (app_file_extras(&a->rq, c, &f, &l) != 0) {
    crypto_wipe(file, len);
    free(file);
    return;
  }
  f.name = (char *)name;
  f.mime = (char *)mime;
  f.size = len;
  for (size_t i = 0; i < sizeof photo_types / sizeof photo_types[0]; i++)
    f.photo |= strcmp(mime, photo_types[i]) == 0;
  m.body_case = MOMEDO__CONTENT__BODY_FILE;
  m.file = &f;
  if ((rc = eng_reacquire(&a->rq.e, a->st)) != 0) {
    engine_fail(a, c, rc);
  } else {
    if (conv_find(a, c, &v) == 0 && deliver_file(a, c, &v, &m, file, len, id) == 0)
      sent_ok(a, c, id);
    eng_release(a->st);
  }
  crypto_wipe(file, len);
  free(file);
}

/* {id (user ID, alias or QR card), name}: pin a contact, as `momedo contact add`. */
static void api_contact_add(struct app *a, struct app_call *c) {
  const char *ref = arg(c, "id"), *name = arg(c, "name");
  struct contact *ct = NULL;
  char safety[IDS_SAFETY_STR_MAX], key[65];
  if (!ref || !ref[0] || strlen(ref) > IDS_CARD_STR_MAX) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "id: a user ID, an alias or a QR card");
    return;
  }
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc == 0)
    rc = eng_contact_add(&a->rq.e, a->st, ref, name && name[0] ? name : NULL, &ct, NULL);
  if (rc == 0) {
    if (ids_safety_number(safety, ct->key) != 0) safety[0] = 0;
    hex_encode(key, sizeof key, ct->key, 32);
    c->out = cJSON_CreateObject();
    cJSON_AddBoolToObject(c->out, "ok", 1);
    cJSON_AddStringToObject(c->out, "kind", "contact");
    cJSON_AddStringToObject(c->out, "key", key);
    cJSON_AddStringToObject(c->out, "name", contact_label(ct));
    cJSON_AddStringToObject(c->out, "user_id", ct->uid);
    cJSON_AddStringToObject(c->out, "safety_number", safety);
    app_changed(a, -1);
  } else {
    engine_fail(a, c, rc);
  }
  eng_release(a->st);
}

/* This user's ID, safety number and ID card, and the card as a QR matrix ("1" dark). */
static void api_me(struct app *a, struct app_call *c) {
  char uid[IDS_USER_ID_STR_MAX], safety[IDS_SAFETY_STR_MAX], card[IDS_CARD_STR_MAX];
  char row[QR_SIZE_MAX + 1];
  uint8_t homes[OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN];
  struct cli_qr q;
  size_t n_homes = eng_homes(a->st, homes);
  int rc = ids_user_id(uid, eng_identity_key(a->st));
  if (rc == 0) rc = ids_safety_number(safety, eng_identity_key(a->st));
  if (rc == 0) rc = ids_card_format(card, eng_identity_key(a->st), homes, n_homes);
  if (rc) {
    app_error(c, 0, rc, "cannot format the identity");
    return;
  }
  int qr_ok = cli_qr_encode(&q, (const uint8_t *)card, strlen(card)) == 0; /* else text only */
  cJSON *rows = cJSON_CreateArray();
  for (int y = 0; qr_ok && y < q.size; y++) {
    for (int x = 0; x < q.size; x++) row[x] = q.dark[y][x] ? '1' : '0';
    row[q.size] = 0;
    cJSON_AddItemToArray(rows, cJSON_CreateString(row));
  }
  c->out = cJSON_CreateObject();
  cJSON_AddBoolToObject(c->out, "ok", 1);
  cJSON_AddStringToObject(c->out, "user_id", uid);
  cJSON_AddStringToObject(c->out, "safety_number", safety);
  cJSON_AddStringToObject(c->out, "card", card);
  if (eng_alias(a->st)[0]) cJSON_AddStringToObject(c->out, "alias", eng_alias(a->st));
  cJSON_AddItemToObject(c->out, "qr", rows);
}

/* {kind: contact|group, key, id, action: accept|done}: answer a task (eng_task_act: a
 * group's task by any member but its sender, checked as a received reply would be). */
static void api_task(struct app *a, struct app_call *c) {
  struct app_conv v;
  uint8_t id[TL_ID_LEN], task_id[TL_ID_LEN];
  char to[ENG_LABEL_MAX];
  struct tl_entry e;
  const char *action = arg(c, "action"), *tid = arg(c, "id");
  int accept = action && strcmp(action, "accept") == 0, done = action && strcmp(action, "done") == 0;
  if (action && (!strcmp(action, "approve") || !strcmp(action, "decline"))) {
    app_decide(a, c, action[0] == 'a'); /* a contact's or a group's approval task */
    return;
  }
  if ((!accept && !done) || !tid || hex_decode_str(task_id, TL_ID_LEN, tid) != 0) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "id (32 hex digits) and action "
              "(accept or done) name a task reply");
    return;
  }
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc) {
    engine_fail(a, c, rc);
    return;
  }
  memset(&e, 0, sizeof e);
  if (conv_find(a, c, &v) != 0) goto out;
  rc = v.kind == HIST_CONTACT || v.kind == HIST_GROUP ? eng_hist_get(a->st, &v.hc, task_id, &e)
                                                      : MOMEDO_E_INVAL;
  if (rc || e.kind != TL_TASK || (v.kind == HIST_CONTACT && e.outgoing)) {
    app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "no task to answer here with that ID");
    goto out;
  }
  rc = eng_task_act(&a->rq.e, a->st, tid, done, task_id, id, to, sizeof to);
  if (rc == MOMEDO_E_DENIED || rc == MOMEDO_E_EXISTS) { /* refused by the task's rule */
    app_error(c, MHD_HTTP_CONFLICT, rc, a->rq.e.why);
    a->rq.e.why[0] = 0;
  } else if (rc) {
    engine_fail(a, c, rc);
  } else {
    sent_ok(a, c, id);
  }
out:
  tl_entry_clear(&e);
  eng_release(a->st);
}

/* Image types a browser shows inline; anything else is a download of unknown type, so
 * no attachment is ever run as a page or a script (SVG included). */
static const char *inline_type(const char *mime) {
  static const char *const ok[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};
  for (size_t i = 0; mime && i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp(mime, ok[i]) == 0) return ok[i];
  return NULL;
}

/* ?kind&key&id: a file this device holds, from the vault. */
static void api_file(struct app *a, struct app_call *c) {
  struct app_conv v;
  struct tl_entry e;
  uint8_t id[TL_ID_LEN], *d = NULL;
  size_t n = 0;
  const char *hex = arg(c, "id");
  memset(&e, 0, sizeof e);
  if (!hex || strlen(hex) != 2 * TL_ID_LEN || hex_decode_str(id, TL_ID_LEN, hex) != 0) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "id: 32 hex digits");
    return;
  }
  if (conv_find(a, c, &v) != 0) return;
  int rc = eng_hist_get(a->st, &v.hc, id, &e);
  if (rc == 0 && (e.kind != TL_FILE || !e.path)) rc = MOMEDO_E_NOTFOUND;
  if (rc == 0) rc = eng_attachment_read(a->st, e.path, &d, &n);
  if (rc) {
    app_error(c, MHD_HTTP_NOT_FOUND, rc, "not a file this device holds");
  } else {
    const char *type = inline_type(e.mime);
    char name[APP_DISPOSITION_MAX - 40];
    snprintf(name, sizeof name, "%s", e.text ? e.text : "attachment");
    for (char *p = name; *p; p++) /* a quoted-string of plain ASCII */
      if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '"' || *p == '\\')
        *p = '_';
    snprintf(c->disposition, sizeof c->disposition, "%s; filename=\"%s\"",
             type ? "inline" : "attachment", name);
    c->raw_type = type ? type : "application/octet-stream";
    c->raw = d ? (char *)d : malloc(1); /* an empty file is still an answer */
    c->raw_len = n;
    d = NULL;
    if (!c->raw) app_error(c, 0, MOMEDO_E_NOMEM, NULL);
  }
  tl_entry_clear(&e);
}

static void api_state(struct app *a, struct app_call *c) {
  char uid[IDS_USER_ID_STR_MAX] = "";
  pthread_mutex_lock(&a->ev_mu);
  int link = a->link_up;
  pthread_mutex_unlock(&a->ev_mu);
  c->out = cJSON_CreateObject();
  cJSON_AddBoolToObject(c->out, "ok", 1);
  cJSON_AddBoolToObject(c->out, "unlocked", a->unlocked);
  cJSON_AddBoolToObject(c->out, "link", link);
  cJSON_AddStringToObject(c->out, "home", eng_home_dir(a->st));
  cJSON_AddBoolToObject(c->out, "setup", !a->unlocked && !app_has_identity(a));
  app_link_state(a, c->out);
  if (a->unlocked && ids_user_id(uid, eng_identity_key(a->st)) == 0) {
    cJSON_AddStringToObject(c->out, "user_id", uid);
    if (eng_alias(a->st)[0]) cJSON_AddStringToObject(c->out, "alias", eng_alias(a->st));
  }
}

void app_unlock_with(struct app *a, struct app_call *c, char *pass, size_t pl) {
  int rc = a->unlocked ? 0 : eng_open_pass(&a->rq.e, a->st, pass, pl, 1);
  explicit_bzero(pass, pl);
  if (rc) {
    eng_close(a->st);
    if (eng_home(&a->rq.e, a->st, 0) != 0) eng_state_reset(a->st); /* no home to show */
    app_error(c, rc == MOMEDO_E_AUTH ? MHD_HTTP_FORBIDDEN : 0, rc, a->rq.e.why);
    a->rq.e.why[0] = 0;
    return;
  }
  if (!a->unlocked) eng_release(a->st);
  a->unlocked = 1;
  api_state(a, c);
  app_changed(a, -1);
}

/* {passphrase}: open the home; the passphrase is wiped from the request at once. */
static void api_unlock(struct app *a, struct app_call *c) {
  cJSON *p = cJSON_GetObjectItemCaseSensitive(c->body, "passphrase");
  size_t pl = cJSON_IsString(p) ? strlen(p->valuestring) : 0;
  if (pl == 0 || pl > ENG_PASS_MAX) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "passphrase: 1 to 1024 bytes");
  } else if (a->link_busy) {
    app_error(c, MHD_HTTP_CONFLICT, MOMEDO_E_EXISTS, "this device is being linked: wait");
  } else if (!a->unlocked && !app_has_identity(a)) {
    app_error(c, MHD_HTTP_CONFLICT, MOMEDO_E_NOTFOUND, "this home holds no identity yet: "
              "choose a passphrase and paste your invite or link code");
  } else {
    app_unlock_with(a, c, p->valuestring, pl);
    return;
  }
  if (cJSON_IsString(p)) explicit_bzero(p->valuestring, pl);
}

const struct app_route app_routes[] = {
    {"GET", "/api/state", api_state, 0},
    {"POST", "/api/unlock", api_unlock, 0},
    {"GET", "/api/conversations", api_conversations, 1},
    {"GET", "/api/messages", api_messages, 1},
    {"POST", "/api/read", api_read, 1},
    {"POST", "/api/send", api_send, 1},
    {"POST", "/api/task", api_task, 1},
    {"GET", "/api/file", api_file, 1},
    {"POST", "/api/send-file", api_send_file, 1},
    {"POST", "/api/contact", api_contact_add, 1},
    {"GET", "/api/me", api_me, 1},
};
const size_t app_routes_n = sizeof app_routes / sizeof app_routes[0];
