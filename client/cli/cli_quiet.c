/* client/cli/cli_quiet.c — `momedo quiet DAYS HOURS ZONE | off`: the user's own quiet
 * hours at the home node (docs/working-hours.md). The node holds live pushes while they
 * are closed, on top of (never instead of) a working-hours policy of the node. */
#include <string.h>

#include "cli.h"

int cli_cmd_quiet(struct cli *c) {
  struct eng_state *st = NULL;
  struct eng_conn *cn = NULL;
  int off = c->n_pos == 1 && strcmp(c->pos[0], "off") == 0;
  if (!off && c->n_pos != 3)
    return cli_fail(c, MOMEDO_E_INVAL, "give DAYS HOURS ZONE (e.g. Mon-Fri 08:00-17:00 "
                    "Europe/Berlin) or off");
  int rc = cli_open(c, &st, 1);
  if (rc == 0 && (rc = eng_conn_new(&cn)) == 0) rc = eng_connect(&c->e, st, cn);
  if (rc == 0)
    rc = eng_quiet(&c->e, cn, off ? "" : c->pos[0], off ? "" : c->pos[1], off ? "" : c->pos[2]);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, c->out);
    jsonw_bool(&j, "ok", 1);
    jsonw_bool(&j, "quiet", !off);
    if (!off) {
      jsonw_str(&j, "days", c->pos[0]);
      jsonw_str(&j, "hours", c->pos[1]);
      jsonw_str(&j, "tz", c->pos[2]);
    }
    jsonw_end(&j);
  } else if (rc == 0 && off) {
    fprintf(c->out, "Quiet hours off: your node pushes as its working hours allow.\n");
  } else if (rc == 0) {
    fprintf(c->out, "Quiet hours set: your node pushes only %s %s (%s), and within its "
            "working hours.\n", c->pos[0], c->pos[1], c->pos[2]);
  }
  eng_conn_free(cn);
  eng_state_free(st);
  return rc;
}
