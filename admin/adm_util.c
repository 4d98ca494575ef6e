/* admin/adm_util.c — output helpers of momedo-admin: the JSON writer (one object per
 * command on stdout, built with cJSON and printed at the end), error and usage
 * reporting, human-readable sizes and durations, duration parsing. No I/O other than
 * stdout/stderr. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "adm.h"
#include "hex.h"

/* Add item under key (an object) or at the end (an array) of the innermost open value. */
static void json_add(struct adm_json *j, const char *key, cJSON *item) {
  cJSON *parent = j->stack[j->depth];
  int ok = item && parent &&
           (cJSON_IsArray(parent) ? cJSON_AddItemToArray(parent, item)
                                  : key && cJSON_AddItemToObject(parent, key, item));
  if (!ok) {
    cJSON_Delete(item);
    j->failed = 1;
  }
}

void adm_json_begin(struct adm_json *j, FILE *f) {
  memset(j, 0, sizeof *j);
  j->f = f;
  j->stack[0] = cJSON_CreateObject();
  j->failed = j->stack[0] == NULL;
}

void adm_json_end(struct adm_json *j) {
  char *text = j->failed ? NULL : cJSON_PrintUnformatted(j->stack[0]);
  if (text)
    fprintf(j->f, "%s\n", text);
  else /* out of memory, or nested deeper than ADM_JSON_DEPTH_MAX (a bug) */
    fprintf(j->f, "{\"ok\":false,\"error\":\"%s\"}\n", momedo_status_name(MOMEDO_E_NOMEM));
  cJSON_free(text);
  cJSON_Delete(j->stack[0]);
  memset(j->stack, 0, sizeof j->stack);
}

cJSON *adm_json_take(struct adm_json *j) {
  cJSON *root = j->stack[0];
  if (j->failed) {
    cJSON_Delete(root);
    root = NULL;
  }
  memset(j->stack, 0, sizeof j->stack);
  return root;
}

void adm_json_str(struct adm_json *j, const char *key, const char *v) {
  json_add(j, key, cJSON_CreateString(v ? v : ""));
}

/* Integers as raw text: cJSON's numbers are doubles, exact only below 2^53. */
void adm_json_u64(struct adm_json *j, const char *key, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  json_add(j, key, cJSON_CreateRaw(buf));
}

void adm_json_i64(struct adm_json *j, const char *key, int64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  json_add(j, key, cJSON_CreateRaw(buf));
}

void adm_json_bool(struct adm_json *j, const char *key, int v) {
  json_add(j, key, cJSON_CreateBool(v));
}

void adm_json_hex(struct adm_json *j, const char *key, const uint8_t *p, size_t n) {
  char buf[2 * 64 + 1];
  if (n > 64) n = 64;
  hex_encode(buf, sizeof buf, p, n);
  adm_json_str(j, key, buf);
}

void adm_json_open(struct adm_json *j, const char *key, char kind) {
  cJSON *v = kind == '[' ? cJSON_CreateArray() : cJSON_CreateObject();
  json_add(j, key, v);
  if (j->failed || j->depth + 1 >= ADM_JSON_DEPTH_MAX) {
    j->failed = 1;
    return;
  }
  j->stack[++j->depth] = v;
}

void adm_json_close(struct adm_json *j, char kind) {
  (void)kind; /* the value opened last */
  if (j->depth > 0) j->depth--;
}

int adm_fail(struct adm_ctx *ctx, int exit_code, int status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ctx->json) {
    struct adm_json j;
    adm_json_begin(&j, stdout);
    adm_json_bool(&j, "ok", 0);
    adm_json_str(&j, "error", momedo_status_name(status));
    adm_json_str(&j, "reason", msg);
    adm_json_bool(&j, "node_running", exit_code != ADM_EXIT_NOT_RUNNING);
    adm_json_end(&j);
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
    struct adm_json j;
    adm_json_begin(&j, stdout);
    adm_json_bool(&j, "ok", 1);
    adm_json_str(&j, "message", message);
    adm_json_end(&j);
  } else {
    printf("%s\n", message && *message ? message : "done");
  }
  return ADM_EXIT_OK;
}
