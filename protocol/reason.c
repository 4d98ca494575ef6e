/* protocol/reason.c — reason sentences into a caller's buffer (see reason.h). */
#include "reason.h"

#include <stdio.h>

void reason_vset(char *why, size_t why_cap, const char *fmt, va_list ap) {
  if (why == NULL || why_cap == 0) return;
  if (vsnprintf(why, why_cap, fmt, ap) < 0) why[0] = '\0';
}

void reason_set(char *why, size_t why_cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reason_vset(why, why_cap, fmt, ap);
  va_end(ap);
}

int reason_fail(char *why, size_t why_cap, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reason_vset(why, why_cap, fmt, ap);
  va_end(ap);
  return status;
}
