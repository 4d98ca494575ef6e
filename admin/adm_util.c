/* admin/adm_util.c — output helpers of momedo-admin: error and usage reporting (one JSON
 * object with --json, protocol/json/jsonw.h), human-readable sizes and durations,
 * duration parsing. No I/O other than stdout/stderr. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "adm.h"
#include "hex.h"

int adm_fail(struct adm_ctx *ctx, int exit_code, int status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 0);
    jsonw_str(&j, "error", momedo_status_name(status));
    jsonw_str(&j, "reason", msg);
    jsonw_bool(&j, "node_running", exit_code != ADM_EXIT_NOT_RUNNING);
    jsonw_end(&j);
  } else {
    fprintf(stderr, "momedo-admin: %s\n", msg);
  }
  return exit_code;
}

int adm_usage(struct adm_ctx *ctx) {
  return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "usage: momedo-admin [--dir DIR] %s",
                  ctx->usage ? ctx->usage : "COMMAND");
}

void adm_fmt_bytes(char *buf, size_t cap, uint64_t b) {
  static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = (double)b;
  size_t u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    u++;
  }
  if (u == 0)
    snprintf(buf, cap, "%" PRIu64 " B", b);
  else
    snprintf(buf, cap, "%.1f %s", v, units[u]);
}

void adm_fmt_duration(char *buf, size_t cap, uint64_t s) {
  if (s >= 86400)
    snprintf(buf, cap, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
  else if (s >= 3600)
    snprintf(buf, cap, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
  else if (s >= 60)
    snprintf(buf, cap, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
  else
    snprintf(buf, cap, "%" PRIu64 "s", s);
}

int adm_parse_duration(const char *s, uint64_t *seconds) {
  uint64_t v = 0;
  size_t i = 0;
  if (!isdigit((unsigned char)s[0])) return MOMEDO_E_INVAL;
  for (; isdigit((unsigned char)s[i]); i++) {
    if (i >= 9) return MOMEDO_E_INVAL;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  uint64_t mul;
  switch (s[i]) {
  case 0: case 's': mul = 1; break;
  case 'm': mul = 60; break;
  case 'h': mul = 3600; break;
  case 'd': mul = 86400; break;
  case 'w': mul = 7 * 86400; break;
  default: return MOMEDO_E_INVAL;
  }
  if (s[i] && s[i + 1]) return MOMEDO_E_INVAL;
  if (v == 0) return MOMEDO_E_INVAL;
  *seconds = v * mul;
  return 0;
}

int adm_ok_message(struct adm_ctx *ctx, const char *message) {
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "message", message);
    jsonw_end(&j);
  } else {
    printf("%s\n", message && *message ? message : "done");
  }
  return ADM_EXIT_OK;
}
