/* client/core/engine_api.c — the engine behind one opaque handle, for a front-end that
 * wants open/unlock, send, sync, group administration, contacts, approval decisions,
 * device removal and close (an app, the engine's tests): each call connects to the home
 * node (or a partner), does its work, saves, and hands every received message, receipt,
 * group change and notice to the session's callback. The session holds the home's lock
 * from open to close. Prints nothing. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

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

/* The group calls: find the group (not for create), check the right to change it,
 * connect, change, close the connection (the change saved itself). */
enum session_group_op { SG_CREATE, SG_ADD, SG_REMOVE, SG_LEAVE, SG_PROMOTE, SG_DEMOTE, SG_RECORD };

static int session_group(struct eng_session *s, enum session_group_op op, const char *group,
                         const char *const *members, size_t n, int flag,
                         struct eng_group_result *res) {
  struct eng *e = &s->e;
  struct eng_state *st = &s->st;
  struct eng_conn cn;
  struct eng_group *cg = NULL;
  memset(&cn, 0, sizeof cn);
  e->why[0] = '\0';
  int rc = op == SG_CREATE ? 0 : eng_group_find(e, st, group, &cg);
  if (rc == 0) rc = eng_group_may_change(e, st, op == SG_CREATE || op == SG_LEAVE ? NULL : cg);
  if (rc == 0 && op != SG_CREATE && op != SG_LEAVE && op != SG_RECORD && n == 0)
    rc = eng_fail(e, MOMEDO_E_INVAL, "name at least one member");
  if (rc == 0) rc = eng_connect(e, st, &cn);
  if (rc == 0) {
    switch (op) {
    case SG_CREATE: rc = eng_group_create(e, st, &cn, group, members, n, flag, NULL, res); break;
    case SG_ADD: rc = eng_group_add(e, st, &cn, cg, members, n, res); break;
    case SG_REMOVE: rc = eng_group_remove(e, st, &cn, cg, members, n, res); break;
    case SG_LEAVE: rc = eng_group_leave(e, st, &cn, cg, res); break;
    case SG_PROMOTE:
    case SG_DEMOTE:
      rc = eng_group_set_role(e, st, &cn, cg, members, n, op == SG_PROMOTE
                              ? MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN
                              : MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER, res);
      break;
    case SG_RECORD: rc = eng_group_record(e, st, &cn, cg, flag, res); break;
    }
  }
  eng_conn_close(&cn);
  return rc;
}

int eng_session_group_create(struct eng_session *s, const char *name,
                             const char *const *members, size_t n, int channel,
                             struct eng_group_result *res) {
  return session_group(s, SG_CREATE, name, members, n, channel, res);
}

int eng_session_group_add(struct eng_session *s, const char *group, const char *const *members,
                          size_t n, struct eng_group_result *res) {
  return session_group(s, SG_ADD, group, members, n, 0, res);
}

int eng_session_group_remove(struct eng_session *s, const char *group,
                             const char *const *members, size_t n,
                             struct eng_group_result *res) {
  return session_group(s, SG_REMOVE, group, members, n, 0, res);
}

int eng_session_group_leave(struct eng_session *s, const char *group,
                            struct eng_group_result *res) {
  return session_group(s, SG_LEAVE, group, NULL, 0, 0, res);
}

int eng_session_group_promote(struct eng_session *s, const char *group,
                              const char *const *members, size_t n,
                              struct eng_group_result *res) {
  return session_group(s, SG_PROMOTE, group, members, n, 0, res);
}

int eng_session_group_demote(struct eng_session *s, const char *group,
                             const char *const *members, size_t n,
                             struct eng_group_result *res) {
  return session_group(s, SG_DEMOTE, group, members, n, 0, res);
}

int eng_session_group_record(struct eng_session *s, const char *group, int on,
                             struct eng_group_result *res) {
  return session_group(s, SG_RECORD, group, NULL, 0, on, res);
}

int eng_session_contact_add(struct eng_session *s, const char *ref, const char *name,
                            struct contact *out) {
  struct contact *ct = NULL;
  s->e.why[0] = '\0';
  int rc = eng_contact_add(&s->e, &s->st, ref, name, &ct, NULL);
  if (out && ct) *out = *ct;
  else if (out) memset(out, 0, sizeof *out);
  return rc;
}

int eng_session_task_decide(struct eng_session *s, const char *msg_id, int approve,
                            const char *comment, uint8_t reply_id[static TL_ID_LEN]) {
  uint8_t task_id[TL_ID_LEN];
  struct contact *ct = NULL;
  s->e.why[0] = '\0';
  return eng_task_decide(&s->e, &s->st, msg_id, approve, comment, task_id, reply_id, &ct);
}

int eng_session_device_remove(struct eng_session *s, const char *device, uint8_t key[static 32],
                              size_t *groups) {
  s->e.why[0] = '\0';
  return eng_device_remove(&s->e, &s->st, device, key, groups);
}

void eng_session_close(struct eng_session *s) {
  if (!s) return;
  eng_close(&s->st);
  crypto_wipe(s, sizeof *s);
  free(s);
}
