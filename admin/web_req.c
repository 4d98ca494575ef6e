/* admin/web_req.c — the console's request bodies: one JSON object per POST, parsed with
 * cJSON and checked against a field table per kind (names, types, lengths, ranges) before
 * anything reaches the node (the header checks are protocol/web/loopweb_check.c).
 * Pure functions over buffers: no I/O, fuzzed by tests/fuzz/fuzz_admin_webreq.c. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "reason.h"
#include "web.h"

enum field_type { F_STR, F_BOOL, F_U64 };

struct field {
  const char *key;
  enum field_type type;
  int required;
  size_t off;   /* into struct web_req */
  size_t cap;   /* F_STR: buffer size (max length cap - 1); F_U64: width 4 or 8 */
  uint64_t min, max; /* F_U64 range; F_STR min length */
};

#define STR(k, req, m) {#k, F_STR, req, offsetof(struct web_req, m), \
                        sizeof(((struct web_req *)0)->m), 1, 0}
#define U32(k, req, m, lo, hi) {#k, F_U64, req, offsetof(struct web_req, m), 4, lo, hi}
#define U64(k, req, m, lo, hi) {#k, F_U64, req, offsetof(struct web_req, m), 8, lo, hi}
#define BOOL(k, m) {#k, F_BOOL, 0, offsetof(struct web_req, m), 0, 0, 0}
#define FIELDS_MAX 5

static const struct field fields[WEB_REQ_KINDS][FIELDS_MAX] = {
    [WEB_REQ_NEIGHBOR_ADD] = {STR(name, 1, name), STR(address, 1, address),
                              STR(fingerprint, 1, fingerprint), BOOL(partner, partner)},
    [WEB_REQ_NEIGHBOR_REMOVE] = {STR(name, 1, name)},
    [WEB_REQ_INVITE] = {U32(uses, 1, uses, 1, WEB_INVITE_USES_MAX),
                        U64(expires_s, 1, expires_s, WEB_INVITE_EXPIRES_S_MIN,
                            WEB_INVITE_EXPIRES_S_MAX),
                        STR(address, 0, address)},
    [WEB_REQ_INVITE_REVOKE] = {STR(id, 1, id)},
    [WEB_REQ_PARTICIPANT_REMOVE] = {STR(device, 1, device)},
};

static const struct field *find_field(enum web_req_kind kind, const char *key) {
  for (size_t i = 0; i < FIELDS_MAX && fields[kind][i].key; i++)
    if (strcmp(fields[kind][i].key, key) == 0) return &fields[kind][i];
  return NULL;
}

static int take_str(const struct field *f, const cJSON *v, char *dst, char *why,
                    size_t why_cap) {
  if (!cJSON_IsString(v) || !v->valuestring)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "field '%s' must be a string", f->key);
  size_t n = strlen(v->valuestring);
  if (n < f->min || n >= f->cap)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "field '%s' must have 1 to %zu characters",
                       f->key, f->cap - 1);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
      return reason_fail(why, why_cap, MOMEDO_E_INVAL,
                         "field '%s' contains a control character", f->key);
  memcpy(dst, v->valuestring, n + 1);
  return 0;
}

static int take_u64(const struct field *f, const cJSON *v, char *dst, char *why,
                    size_t why_cap) {
  double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
  if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d) || d < (double)f->min ||
      d > (double)f->max)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL,
                       "field '%s' must be a whole number from %llu to %llu", f->key,
                       (unsigned long long)f->min, (unsigned long long)f->max);
  if (f->cap == 4) {
    uint32_t x = (uint32_t)d;
    memcpy(dst, &x, sizeof x);
  } else {
    uint64_t x = (uint64_t)d;
    memcpy(dst, &x, sizeof x);
  }
  return 0;
}

static int take_field(const struct field *f, const cJSON *v, struct web_req *out, char *why,
                      size_t why_cap) {
  char *dst = (char *)out + f->off;
  switch (f->type) {
  case F_STR: return take_str(f, v, dst, why, why_cap);
  case F_U64: return take_u64(f, v, dst, why, why_cap);
  case F_BOOL:
    if (!cJSON_IsBool(v))
      return reason_fail(why, why_cap, MOMEDO_E_INVAL, "field '%s' must be true or false",
                         f->key);
    *(int *)(void *)dst = cJSON_IsTrue(v);
    return 0;
  }
  return MOMEDO_E_INTERNAL;
}

int web_req_parse(enum web_req_kind kind, const char *body, size_t len, struct web_req *out,
                  char *why, size_t why_cap) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  if ((unsigned)kind >= WEB_REQ_KINDS) return MOMEDO_E_INTERNAL;
  if (!body || len == 0)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "the request needs a JSON object body");
  if (len > WEB_BODY_BYTES_MAX)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "the request body is larger than %u bytes",
                       (unsigned)WEB_BODY_BYTES_MAX);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
  int rc = 0;
  if (!root) {
    size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "malformed JSON near byte %zu", at);
  }
  for (const char *p = end; p && p < body + len; p++)
    if (!strchr(" \t\r\n", *p)) {
      rc = reason_fail(why, why_cap, MOMEDO_E_INVAL, "malformed JSON: text after the object");
      goto out;
    }
  if (!cJSON_IsObject(root)) {
    rc = reason_fail(why, why_cap, MOMEDO_E_INVAL, "the request body must be a JSON object");
    goto out;
  }
  unsigned seen = 0;
  for (const cJSON *v = root->child; v; v = v->next) {
    const struct field *f = v->string ? find_field(kind, v->string) : NULL;
    if (!f) {
      rc = reason_fail(why, why_cap, MOMEDO_E_INVAL, "unknown field '%.40s'",
                       v->string ? v->string : "");
      goto out;
    }
    unsigned bit = 1u << (f - fields[kind]);
    if (seen & bit) {
      rc = reason_fail(why, why_cap, MOMEDO_E_INVAL, "field '%s' given twice", f->key);
      goto out;
    }
    seen |= bit;
    rc = take_field(f, v, out, why, why_cap);
    if (rc) goto out;
  }
  for (size_t i = 0; i < FIELDS_MAX && fields[kind][i].key; i++)
    if (fields[kind][i].required && !(seen & (1u << i))) {
      rc = reason_fail(why, why_cap, MOMEDO_E_INVAL, "field '%s' is missing",
                       fields[kind][i].key);
      goto out;
    }
out:
  cJSON_Delete(root);
  return rc;
}
