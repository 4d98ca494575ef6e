/* client/cli/cli_app_channel.c — passphrase channels in `momedo app`: join one with its name,
 * passphrase and the name to post as (the keys are derived with scrypt outside the app's
 * lock, one derivation at a time, so the page's other requests go on meanwhile), show
 * what the page says of one, and leave it (eng_channel_join_keys / eng_channel_leave, as
 * `momedo channel join|leave`). The passphrase is wiped from the request as soon as the
 * keys are made; only the keys are kept, and no answer carries it back. */
#include <microhttpd.h>
#include <string.h>

#include "cli_app.h"
#include "hex.h"

/* Whether s holds a control character (the core checks the rest: UTF-8). */
static int has_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
  return 0;
}

const char *app_channel_args_bad(const char *name, const char *pass, const char *display) {
  size_t nl = name ? strlen(name) : 0, pl = pass ? strlen(pass) : 0;
  if (nl == 0 || nl > CHANNEL_NAME_BYTES_MAX || has_control(name))
    return "name: the channel's name, 1 to " APP_STR(CHANNEL_NAME_BYTES_MAX) " bytes of text";
  if (pl == 0 || pl > CHANNEL_PASS_BYTES_MAX)
    return "passphrase: 1 to " APP_STR(CHANNEL_PASS_BYTES_MAX) " bytes";
  if (display && (!display[0] || strlen(display) > CHANNEL_DISPLAY_NAME_BYTES_MAX ||
                  has_control(display)))
    return "display_name (optional): the name to post as, 1 to "
           APP_STR(CHANNEL_DISPLAY_NAME_BYTES_MAX) " bytes of text";
  return NULL;
}

/* The channel's answer: kind, key (its mailbox), name as in the list, channel, display. */
static cJSON *channel_json(const struct eng_channel *ch) {
  char key[2 * OBJ_MAILBOX_LEN + 1], label[ENG_LABEL_MAX];
  cJSON *o = cJSON_CreateObject();
  hex_encode(key, sizeof key, eng_channel_mailbox(ch), OBJ_MAILBOX_LEN);
  snprintf(label, sizeof label, "%s%s", ENG_CHANNEL_PREFIX, eng_channel_name(ch));
  cJSON_AddBoolToObject(o, "ok", 1);
  cJSON_AddStringToObject(o, "kind", "channel");
  cJSON_AddStringToObject(o, "key", key);
  cJSON_AddStringToObject(o, "name", label);
  cJSON_AddStringToObject(o, "channel", eng_channel_name(ch));
  cJSON_AddStringToObject(o, "display_name", eng_channel_display(ch));
  return o;
}

/* Under the lock: whether a join may derive now (answers c when not); claims the slot. */
static int join_may(struct app *a, struct app_call *c, const char *name) {
  if (!a->unlocked) {
    app_error(c, MHD_HTTP_LOCKED, MOMEDO_E_AUTH, "unlock with your passphrase first");
    return MOMEDO_E_AUTH;
  }
  if (a->ch_deriving >= APP_CHANNEL_DERIVE_MAX) {
    app_error(c, MHD_HTTP_TOO_MANY_REQUESTS, MOMEDO_E_BUSY,
              "another channel's keys are being derived: try again in a moment");
    return MOMEDO_E_BUSY;
  }
  if (eng_channel_find(a->st, name)) { /* checked again once derived (the CLI may join) */
    app_error(c, MHD_HTTP_CONFLICT, MOMEDO_E_EXISTS,
              "already in this channel: leave it first to use another passphrase");
    return MOMEDO_E_EXISTS;
  }
  a->ch_deriving++;
  return 0;
}

/* Under the lock, with the keys derived: join and save, then answer. */
static void join_save(struct app *a, struct app_call *c, const char *name, const char *display,
                      const struct channel_keys *k, int weak) {
  struct eng_channel *ch = NULL;
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc == 0) rc = eng_channel_join_keys(&a->rq.e, a->st, name, display, k, &ch);
  if (rc) {
    app_error(c, rc == MOMEDO_E_EXISTS || rc == MOMEDO_E_QUOTA ? MHD_HTTP_CONFLICT : 0, rc,
              a->rq.e.why[0] ? a->rq.e.why : momedo_strerror(rc));
    a->rq.e.why[0] = 0;
  } else {
    c->out = channel_json(ch);
    cJSON_AddBoolToObject(c->out, "weak", weak); /* short: the page suggests a longer one */
    app_changed(a, -1); /* the live thread subscribes to it and fetches what is there */
  }
  eng_release(a->st);
}

/* {name, passphrase, display_name (optional)}: join a passphrase channel. */
static void api_channel_join(struct app *a, struct app_call *c) {
  cJSON *pj = cJSON_GetObjectItemCaseSensitive(c->body, "passphrase");
  char *pass = cJSON_IsString(pj) ? pj->valuestring : NULL;
  const char *name = app_arg(c, "name"), *display = app_arg(c, "display_name");
  const cJSON *dj = cJSON_GetObjectItemCaseSensitive(c->body, "display_name");
  size_t pl = pass ? strlen(pass) : 0;
  struct channel_keys k;
  const char *bad = app_channel_args_bad(name, pass, display);
  if (!bad && dj && !cJSON_IsString(dj)) bad = "display_name: a string";
  if (bad) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, bad);
  } else {
    pthread_mutex_lock(&a->mu);
    int rc = join_may(a, c, name);
    pthread_mutex_unlock(&a->mu);
    if (rc == 0) {
      rc = channel_derive(&k, name, pass, CHANNEL_SCRYPT_LOG2_N, CHANNEL_SCRYPT_R,
                          CHANNEL_SCRYPT_P); /* ~0.2 s, 64 MiB: outside the lock */
      explicit_bzero(pass, pl);
      pthread_mutex_lock(&a->mu);
      a->ch_deriving--;
      if (rc)
        app_error(c, rc == MOMEDO_E_INVAL ? MHD_HTTP_BAD_REQUEST : 0, rc, rc == MOMEDO_E_INVAL
                  ? "name: the channel's name, text without control characters"
                  : "cannot derive the channel's keys");
      else
        join_save(a, c, name, display, &k, pl < CHANNEL_PASS_WEAK_BYTES);
      pthread_mutex_unlock(&a->mu);
      channel_keys_wipe(&k);
    }
  }
  if (pass) explicit_bzero(pass, pl);
}

/* The channel whose mailbox is the request's key (answers c when none). */
static struct eng_channel *channel_arg(struct app *a, struct app_call *c) {
  const char *key = app_arg(c, "key");
  uint8_t mb[OBJ_MAILBOX_LEN];
  if (!key || strlen(key) != 2 * OBJ_MAILBOX_LEN || hex_decode_str(mb, sizeof mb, key) != 0) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "key: the channel's, 64 hex digits");
    return NULL;
  }
  struct eng_channel *ch = eng_channel_by_mailbox(a->st, mb);
  if (!ch) app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "not in such a channel");
  return ch;
}

/* ?key: the channel as the page shows it (never its keys or passphrase). */
static void api_channel(struct app *a, struct app_call *c) {
  struct eng_channel *ch = channel_arg(a, c);
  if (ch) c->out = channel_json(ch);
}

/* {key}: leave the channel; its keys are wiped from this device. */
static void api_channel_leave(struct app *a, struct app_call *c) {
  char name[CHANNEL_NAME_BYTES_MAX + 1];
  int rc = eng_reacquire(&a->rq.e, a->st);
  struct eng_channel *ch = rc == 0 ? channel_arg(a, c) : NULL;
  if (rc) {
    app_engine_fail(a, c, rc);
    return;
  }
  if (ch) {
    snprintf(name, sizeof name, "%s", eng_channel_name(ch));
    if ((rc = eng_channel_leave(&a->rq.e, a->st, name)) != 0) {
      app_engine_fail(a, c, rc);
    } else {
      c->out = cJSON_CreateObject();
      cJSON_AddBoolToObject(c->out, "ok", 1);
      cJSON_AddStringToObject(c->out, "left", name);
      app_changed(a, -1);
    }
  }
  eng_release(a->st);
}

const struct app_route app_channel_routes[] = {
    {"POST", "/api/channel-join", api_channel_join, APP_ROUTE_OWN_LOCK},
    {"GET", "/api/channel", api_channel, 1},
    {"POST", "/api/channel-leave", api_channel_leave, 1},
};
const size_t app_channel_routes_n = sizeof app_channel_routes / sizeof app_channel_routes[0];
