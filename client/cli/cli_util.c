/* client/cli/cli_util.c — small helpers of the command line: the failure reason, the
 * clock, a failure as one JSON line. No state. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hex.h"

int cli_fail(struct cli *c, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->why, sizeof c->why, fmt, ap);
  va_end(ap);
  return rc < 0 ? rc : MOMEDO_E_INTERNAL;
}

void cli__crash_point(const char *where) {
  const char *want = getenv(CLI_CRASH_ENV);
  if (want == NULL || strcmp(want, where) != 0) return;
  fflush(NULL);
  raise(SIGKILL); /* what a power cut or the OOM killer does: no cleanup at all */
}

void cli_json_fail(FILE *f, int rc, const char *reason) {
  struct jsonw j;
  jsonw_begin(&j, f);
  jsonw_bool(&j, "ok", 0);
  jsonw_str(&j, "error", momedo_status_name(rc));
  jsonw_str(&j, "reason", reason);
  jsonw_end(&j);
}
