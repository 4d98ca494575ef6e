/* client/cli/cli_counter.c — `momedo recover` (issue 11, finding 6; docs/security.md):
 * after the engine refused a restored, older vault, the core's eng_recover
 * (client/core/engine_counter.c) drops every session and one-time prekey secret so
 * nothing of the old state is used again and moves the save count past every node's;
 * this prints what it did. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* `momedo recover`: after a restored vault (the home node must be reachable). */
int cli_cmd_recover(struct cli *c) {
  struct eng_state *st = NULL;
  struct eng_recover_result res;
  int rc = cli_open(c, &st, 1);
  if (rc == 0) rc = eng_recover(&c->e, st, &res);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, c->out);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "sessions_dropped", res.sessions_dropped);
    jsonw_u64(&j, "counter", res.counter);
    jsonw_bool(&j, "prekey_rotated", res.prekey_rotated);
    jsonw_end(&j);
  } else if (rc == 0)
    fprintf(c->out, "Recovered: %zu session(s) dropped (your contacts' next messages start "
            "new ones), one-time prekeys replaced%s. Messages sent to this device since the "
            "restored copy was made may not open.\n", res.sessions_dropped,
            !res.prekey_rotated       ? ""
            : eng_is_first_device(st) ? ", a new signed prekey published"
                                      : ", a new signed prekey made (your first device "
                                        "publishes it after your next sync)");
  eng_state_free(st);
  return rc;
}
