/* client/cli/cli_util.c — small helpers of the command line: the failure reason, the
 * clock, a failure as one JSON line. No state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hex.h"

int cli_fail(struct cli *c, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->e.why, sizeof c->e.why, fmt, ap);
  va_end(ap);
  return rc < 0 ? rc : MOMEDO_E_INTERNAL;
}

void cli_json_fail(FILE *f, int rc, const char *reason) {
  struct jsonw j;
  jsonw_begin(&j, f);
  jsonw_bool(&j, "ok", 0);
  jsonw_str(&j, "error", momedo_status_name(rc));
  jsonw_str(&j, "reason", reason);
  jsonw_end(&j);
}
