/* tests/tools/engine_drive.c — momedo-engine: drives the client core's message engine
 * through its session API alone (momedo_client.h: eng_session_*), without the command
 * line, for tests/integration/test_client_engine.py. Every event the engine reports is
 * printed here as one JSON line, as is each call's result. Test-only, never installed.
 * Usage: momedo-engine HOME send TO TEXT | send-file TO PATH | sync | contact-add REF NAME |
 * group-create NAME MEMBER... | group-add GROUP MEMBER... | group-remove GROUP MEMBER... |
 * group-leave GROUP | decide MSGID approve|decline [COMMENT] (passphrase from
 * $MOMEDO_PASSPHRASE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "jsonw.h"
#include "momedo_client.h"

static const char *const kinds[] = {"?", "note", "link", "message", "group"};

static void message_fields(struct jsonw *j, const struct eng_msg *m) {
  char id[2 * TL_ID_LEN + 1];
  hex_encode(id, sizeof id, m->e.id, TL_ID_LEN);
  jsonw_str(j, "id", id);
  jsonw_str(j, "from", m->from_uid);
  jsonw_i64(j, "kind", m->e.kind);
  jsonw_i64(j, "receipt", m->receipt);
  jsonw_u64(j, "receipt_ids", m->n_receipt_ids);
  jsonw_str_or_null(j, "text", m->e.text);
  jsonw_str_or_null(j, "mime", m->e.mime);
  jsonw_u64(j, "size", m->e.size);
  jsonw_str_or_null(j, "group", m->group_kind == 1 ? m->group : NULL);
}

/* The session's callback: one JSON line per event. */
static void on_event(void *arg, const struct eng_event *ev) {
  struct jsonw j;
  size_t *count = arg;
  (*count)++;
  jsonw_begin(&j, stdout);
  jsonw_str(&j, "event", ev->kind >= 1 && ev->kind <= 4 ? kinds[ev->kind] : "?");
  if (ev->text) jsonw_str(&j, "text", ev->text);
  if (ev->kind == ENG_EV_MESSAGE) message_fields(&j, ev->msg);
  if (ev->kind == ENG_EV_GROUP) {
    jsonw_str(&j, "group_event", ev->group_event);
    jsonw_str(&j, "group", ev->group_name);
  }
  jsonw_end(&j);
}

/* What a group change or a contact add returned (printed with the result). */
static struct eng_group_result gres;
static int have_gres;
static struct contact cres;
static int have_cres;

static void extra_fields(struct jsonw *j) {
  char hx[2 * GROUP_ID_LEN + 1];
  if (have_gres) {
    hex_encode(hx, sizeof hx, gres.gi.group_id, GROUP_ID_LEN);
    jsonw_str(j, "group", gres.gi.name);
    jsonw_str(j, "group_id", hx);
    jsonw_u64(j, "members", gres.gi.n_members);
    jsonw_u64(j, "version", gres.gi.version);
    jsonw_u64(j, "records_sent", gres.records);
    jsonw_u64(j, "keys_sent", gres.keys);
    jsonw_u64(j, "owed", gres.owed);
    jsonw_bool(j, "by_request", gres.by_request);
  }
  if (have_cres) {
    jsonw_str(j, "user_id", cres.uid);
    jsonw_str_or_null(j, "name", cres.name[0] ? cres.name : NULL);
    jsonw_u64(j, "devices", cres.n_devices);
  }
}

static int result(int rc, const char *why, const uint8_t *id, size_t n_new, size_t events) {
  struct jsonw j;
  char hx[2 * TL_ID_LEN + 1];
  jsonw_begin(&j, stdout);
  jsonw_bool(&j, "ok", rc == 0);
  if (rc == 0) extra_fields(&j);
  if (rc) {
    jsonw_str(&j, "error", momedo_status_name(rc));
    jsonw_str(&j, "why", why);
  }
  if (rc == 0 && id) {
    hex_encode(hx, sizeof hx, id, TL_ID_LEN);
    jsonw_str(&j, "id", hx);
  }
  jsonw_u64(&j, "new", n_new);
  jsonw_u64(&j, "events", events);
  jsonw_end(&j);
  return rc ? 1 : 0;
}

/* The calls beyond send and sync: v[0] the verb, v[1..] its arguments. */
static int admin(struct eng_session *s, int n, const char *const *v, uint8_t id[static TL_ID_LEN]) {
  const char *verb = v[0];
  size_t rest = n > 2 ? (size_t)n - 2 : 0;
  have_gres = !strncmp(verb, "group-", 6);
  have_cres = !strcmp(verb, "contact-add");
  if (have_cres && n == 3) return eng_session_contact_add(s, v[1], v[2], &cres);
  if (!strcmp(verb, "group-create") && n >= 2)
    return eng_session_group_create(s, v[1], v + 2, rest, 0, &gres);
  if (!strcmp(verb, "group-add") && n >= 3)
    return eng_session_group_add(s, v[1], v + 2, rest, &gres);
  if (!strcmp(verb, "group-remove") && n >= 3)
    return eng_session_group_remove(s, v[1], v + 2, rest, &gres);
  if (!strcmp(verb, "group-leave") && n == 2) return eng_session_group_leave(s, v[1], &gres);
  if (!strcmp(verb, "decide") && (n == 3 || n == 4))
    return eng_session_task_decide(s, v[1], !strcmp(v[2], "approve"), n == 4 ? v[3] : NULL, id);
  have_gres = have_cres = 0;
  return MOMEDO_E_INVAL;
}

int main(int argc, char **argv) {
  struct eng_session *s = NULL;
  char why[ENG_WHY_MAX] = "";
  uint8_t id[TL_ID_LEN];
  size_t n_new = 0, events = 0;
  const char *pass = getenv("MOMEDO_PASSPHRASE");
  if (argc < 3 || !pass) {
    fprintf(stderr, "usage: momedo-engine HOME send TO TEXT | send-file TO PATH | sync | "
            "contact-add REF NAME | group-create NAME MEMBER... | group-add GROUP MEMBER... | "
            "group-remove GROUP MEMBER... | group-leave GROUP | decide MSGID approve|decline "
            "[COMMENT]\n");
    return 2;
  }
  int rc = eng_session_open(&s, argv[1], pass, strlen(pass), on_event, &events, why,
                            sizeof why);
  if (rc) return result(rc, why, NULL, 0, events);
  if (!strcmp(argv[2], "send") && argc == 5)
    rc = eng_session_send_text(s, argv[3], argv[4], id);
  else if (!strcmp(argv[2], "send-file") && argc == 5)
    rc = eng_session_send_file(s, argv[3], argv[4], NULL, id);
  else if (!strcmp(argv[2], "sync") && argc == 3)
    rc = eng_session_sync(s, &n_new);
  else
    rc = admin(s, argc - 2, (const char *const *)argv + 2, id);
  if (rc) snprintf(why, sizeof why, "%s", eng_session_why(s));
  eng_session_close(s);
  int with_id = !strcmp(argv[2], "send") || !strcmp(argv[2], "send-file") ||
                !strcmp(argv[2], "decide");
  return result(rc, why, with_id ? id : NULL, n_new, events);
}
