/* client/core/engine_api.c — the engine behind one opaque handle, for a front-end that
 * wants no more than open/unlock, send, sync and close (an app, the engine's tests):
 * each call connects to the home node (or a partner), does its work, saves, and hands
 * every received message, receipt, group change and notice to the session's callback.
 * The session holds the home's lock from open to close. Prints nothing. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct eng_session {
  struct eng e;                             /* first: the engine's events find the session */
  struct eng_state st;
  eng_session_fn fn;
  void *arg;
};

static void session_event(struct eng *e, const struct eng_event *ev) {
  struct eng_session *s = (struct eng_session *)(void *)e;
  if (s->fn) s->fn(s->arg, ev);
}

int eng_session_open(struct eng_session **out, const char *home, const char *pass,
                     size_t pass_len, eng_session_fn fn, void *arg, char *why, size_t why_cap) {
  struct eng_session *s = calloc(1, sizeof *s);
  int rc = s ? 0 : MOMEDO_E_NOMEM;
  *out = NULL;
  if (rc == 0) {
    s->e.home_arg = home;
    s->e.timeout_ms = ENG_TIMEOUT_MS_DEFAULT;
    s->e.on_event = session_event;
    s->fn = fn;
    s->arg = arg;
    rc = eng_open_pass(&s->e, &s->st, pass, pass_len, 1);
  }
  if (rc == 0) {
    *out = s;
    return 0;
  }
  if (why && why_cap) snprintf(why, why_cap, "%s", s ? s->e.why : "out of memory");
  if (s) eng_close(&s->st);
  free(s);
  return rc;
}

const char *eng_session_why(const struct eng_session *s) { return s->e.why; }

/* Connect, send m to `to` (contact, group or "channel:NAME"), save even after a failure
 * (a chain that encrypted must never reuse its keys), keep the first failure's why. */
int eng_session_send(struct eng_session *s, const char *to, Momedo__Content *m,
                     const uint8_t *file, size_t file_len, uint8_t id[static TL_ID_LEN]) {
  struct eng_conn cn;
  char why[ENG_WHY_MAX];
  size_t n_env = 0;
  int kind = 0;
  memset(&cn, 0, sizeof cn);
  int rc = eng_connect(&s->e, &s->st, &cn);
  if (rc == 0) {
    rc = eng_send_any(&s->e, &s->st, &cn, to, m, file, file_len, id, &n_env, &kind);
    snprintf(why, sizeof why, "%s", s->e.why);
    int r2 = eng_save(&s->e, &s->st);
    if (rc) snprintf(s->e.why, sizeof s->e.why, "%s", why);
    else rc = r2;
  }
  eng_conn_close(&cn);
  return rc;
}

int eng_session_send_text(struct eng_session *s, const char *to, const char *text,
                          uint8_t id[static TL_ID_LEN]) {
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  size_t n = strlen(text);
  if (n == 0 || n > CONTENT_TEXT_BYTES_MAX)
    return eng_fail(&s->e, MOMEDO_E_INVAL, "the text must be 1..%u bytes",
                    (unsigned)CONTENT_TEXT_BYTES_MAX);
  t.text = (char *)text;
  m.body_case = MOMEDO__CONTENT__BODY_TEXT;
  m.text = &t;
  return eng_session_send(s, to, &m, NULL, 0, id);
}

int eng_session_send_file(struct eng_session *s, const char *to, const char *path,
                          const char *mime, uint8_t id[static TL_ID_LEN]) {
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__File f = MOMEDO__FILE__INIT;
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = eng_read_attachment(&s->e, path, mime, &f, &data, &len);
  if (rc == 0) {
    m.body_case = MOMEDO__CONTENT__BODY_FILE;
    m.file = &f;
    rc = eng_session_send(s, to, &m, data, len, id);
  }
  if (data) crypto_wipe(data, len);
  free(data);
  return rc;
}

int eng_session_sync(struct eng_session *s, size_t *n_new) {
  *n_new = 0;
  return eng_sync_all(&s->e, &s->st, n_new);
}

void eng_session_close(struct eng_session *s) {
  if (!s) return;
  eng_close(&s->st);
  crypto_wipe(s, sizeof *s);
  free(s);
}
