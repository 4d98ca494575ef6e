/* tests/tools/engine_drive.c — momedo-engine: drives the client core's message engine
 * through its session API alone (momedo_client.h: eng_session_*), without the command
 * line, for tests/integration/test_client_engine.py. Every event the engine reports is
 * printed here as one JSON line, as is each call's result. Test-only, never installed.
 * Usage: momedo-engine HOME send TO TEXT | send-file TO PATH | sync (passphrase from
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
  if (ev->kind == ENG_EV_GROUP) jsonw_str(&j, "group_event", ev->group_event);
  jsonw_end(&j);
}

static int result(int rc, const char *why, const uint8_t *id, size_t n_new, size_t events) {
  struct jsonw j;
  char hx[2 * TL_ID_LEN + 1];
  jsonw_begin(&j, stdout);
  jsonw_bool(&j, "ok", rc == 0);
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

int main(int argc, char **argv) {
  struct eng_session *s = NULL;
  char why[ENG_WHY_MAX] = "";
  uint8_t id[TL_ID_LEN];
  size_t n_new = 0, events = 0;
  const char *pass = getenv("MOMEDO_PASSPHRASE");
  if (argc < 3 || !pass) {
    fprintf(stderr, "usage: momedo-engine HOME send TO TEXT | send-file TO PATH | sync\n");
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
    rc = MOMEDO_E_INVAL;
  if (rc) snprintf(why, sizeof why, "%s", eng_session_why(s));
  eng_session_close(s);
  return result(rc, why, strcmp(argv[2], "sync") ? id : NULL, n_new, events);
}
