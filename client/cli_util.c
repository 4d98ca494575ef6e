/* client/cli_util.c — small helpers of the command line: the failure reason, the
 * clock, and JSON string output. No state. */
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

void cli_json_str(FILE *f, const char *s) {
  if (!s) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", f); break;
      case '\\': fputs("\\\\", f); break;
      case '\n': fputs("\\n", f); break;
      case '\r': fputs("\\r", f); break;
      case '\t': fputs("\\t", f); break;
      default:
        if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
  }
  fputc('"', f);
}

void cli_json_hex(FILE *f, const uint8_t *p, size_t n) {
  char two[HEX_LEN(1) + 1];
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    hex_encode(two, sizeof two, p + i, 1);
    fputs(two, f);
  }
  fputc('"', f);
}
