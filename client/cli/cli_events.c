/* client/cli/cli_events.c — what the engine reports (client/core/engine.h), printed as the
 * command line always printed it: notices and link changes on stderr, each received
 * message and receipt through cli_print_msg, group changes for people or as one JSON
 * line. The engine itself prints nothing. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_group(struct cli *c, const struct eng_event *ev) {
  const char *detail = ev->group_detail;
  int refused = !strcmp(ev->group_event, "refused");
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, c->out);
    jsonw_str(&j, "type", "group");
    jsonw_str(&j, "event", ev->group_event);
    jsonw_str(&j, "group", ev->group_name);
    jsonw_str(&j, "group_id", ev->group_id_hex);
    jsonw_str_or_null(&j, "by", ev->group_by);
    jsonw_str_or_null(&j, "detail", detail && detail[0] ? detail : NULL);
    jsonw_end(&j);
  }
  static const char *const human[][2] = {{"joined", "you were added by"},
                                          {"changed", "membership changed by"},
                                          {"removed", "you were removed by"},
                                          {"refused", "REFUSED a group message from"}};
  const char *what = ev->group_event;
  for (size_t i = 0; i < sizeof human / sizeof human[0]; i++)
    if (!strcmp(human[i][0], ev->group_event)) what = human[i][1];
  if (!c->json || refused)
    fprintf(refused ? stderr : c->out, "momedo: group %s (%.12s): %s %s%s%s%s\n",
            ev->group_name, ev->group_id_hex, what,
            ev->group_by ? ev->group_by : "an unknown sender", detail && detail[0] ? " (" : "",
            detail ? detail : "", detail && detail[0] ? ")" : "");
}

void cli_on_event(struct eng *e, const struct eng_event *ev) {
  struct cli *c = CLI_OF(e);
  switch (ev->kind) {
  case ENG_EV_NOTE:
  case ENG_EV_LINK:
    fputs(ev->text, stderr);
    break;
  case ENG_EV_MESSAGE:
    cli_print_msg(c, ev->msg);
    break;
  case ENG_EV_GROUP:
    print_group(c, ev);
    break;
  }
  /* A crash test kills the process right after (SIGKILL): what was printed must be out. */
  if (getenv(ENG_CRASH_ENV)) fflush(NULL);
}

void cli_engine_setup(struct cli *c) {
  c->e.home_arg = c->opt[CO_HOME];
  c->e.save_dir = c->opt[CO_SAVE_DIR];
  c->e.on_event = cli_on_event;
}
