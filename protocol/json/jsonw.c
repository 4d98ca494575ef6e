/* protocol/json/jsonw.c — the tools' JSON writer over cJSON (jsonw.h): a stack of open
 * values, a failure flag instead of a check at every call, integers as exact text. */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "hex.h"
#include "status.h"

/* Add item under key (an object) or at the end (an array) of the innermost open value. */
static void add(struct jsonw *j, const char *key, cJSON *item) {
  cJSON *parent = j->stack[j->depth];
  int ok = item && parent &&
           (cJSON_IsArray(parent) ? cJSON_AddItemToArray(parent, item)
                                  : key && cJSON_AddItemToObject(parent, key, item));
  if (!ok) {
    cJSON_Delete(item);
    j->failed = 1;
  }
}

static void begin(struct jsonw *j, FILE *f, cJSON *root) {
  memset(j, 0, sizeof *j);
  j->f = f;
  j->stack[0] = root;
  j->failed = root == NULL;
}

void jsonw_begin(struct jsonw *j, FILE *f) { begin(j, f, cJSON_CreateObject()); }

void jsonw_begin_array(struct jsonw *j, FILE *f) { begin(j, f, cJSON_CreateArray()); }

void jsonw_end(struct jsonw *j) {
  char *text = j->failed ? NULL : cJSON_PrintUnformatted(j->stack[0]);
  if (text)
    fprintf(j->f, "%s\n", text);
  else
    fprintf(j->f, "{\"ok\":false,\"error\":\"%s\"}\n", momedo_status_name(MOMEDO_E_NOMEM));
  fflush(j->f);
  cJSON_free(text);
  cJSON_Delete(j->stack[0]);
  memset(j->stack, 0, sizeof j->stack);
}

cJSON *jsonw_take(struct jsonw *j) {
  cJSON *root = j->stack[0];
  if (j->failed) {
    cJSON_Delete(root);
    root = NULL;
  }
  memset(j->stack, 0, sizeof j->stack);
  return root;
}

void jsonw_str(struct jsonw *j, const char *key, const char *v) {
  add(j, key, cJSON_CreateString(v ? v : ""));
}

void jsonw_str_or_null(struct jsonw *j, const char *key, const char *v) {
  add(j, key, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

void jsonw_null(struct jsonw *j, const char *key) { add(j, key, cJSON_CreateNull()); }

/* Integers as raw text: cJSON's numbers are doubles, exact only below 2^53. */
void jsonw_u64(struct jsonw *j, const char *key, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  add(j, key, cJSON_CreateRaw(buf));
}

void jsonw_i64(struct jsonw *j, const char *key, int64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  add(j, key, cJSON_CreateRaw(buf));
}

void jsonw_bool(struct jsonw *j, const char *key, int v) { add(j, key, cJSON_CreateBool(v)); }

void jsonw_fixed(struct jsonw *j, const char *key, double v, int digits) {
  char buf[64];
  if (!isfinite(v) || fabs(v) >= 1e15 || digits < 0 || digits > 12) {
    jsonw_null(j, key);
    return;
  }
  snprintf(buf, sizeof buf, "%.*f", digits, v);
  add(j, key, cJSON_CreateRaw(buf));
}

void jsonw_num(struct jsonw *j, const char *key, double v) {
  add(j, key, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

void jsonw_hex(struct jsonw *j, const char *key, const uint8_t *p, size_t n) {
  char buf[HEX_LEN(JSONW_HEX_BYTES_MAX) + 1];
  if (n > JSONW_HEX_BYTES_MAX) n = JSONW_HEX_BYTES_MAX;
  hex_encode(buf, sizeof buf, p, n);
  jsonw_str(j, key, buf);
}

void jsonw_open(struct jsonw *j, const char *key, char kind) {
  cJSON *v = kind == '[' ? cJSON_CreateArray() : cJSON_CreateObject();
  add(j, key, v);
  if (j->failed || j->depth + 1 >= JSONW_DEPTH_MAX) {
    j->failed = 1;
    return;
  }
  j->stack[++j->depth] = v;
}

void jsonw_close(struct jsonw *j) {
  if (j->depth > 0) j->depth--;
}
