/* protocol/json/jsonw.h — the JSON writer of the command-line tools (momedo-admin,
 * momedo, momedo-sim): one value built with cJSON between begin and end and printed on
 * one line by end. Keys are NULL inside arrays. Out of memory (or nesting deeper than
 * JSONW_DEPTH_MAX, a bug) prints {"ok":false,"error":"E_NOMEM"} instead of a partial
 * object. A library of its own so that only the tools link cJSON. */
#ifndef MOMEDO_PROTOCOL_JSONW_H
#define MOMEDO_PROTOCOL_JSONW_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSONW_DEPTH_MAX 16
#define JSONW_HEX_BYTES_MAX 64 /* longer byte strings are cut (keys and IDs are ≤ 64) */

struct jsonw {
  FILE *f;
  cJSON *stack[JSONW_DEPTH_MAX]; /* [0] the root; then the values open in it */
  int depth;
  int failed;
};

/* Start an object (or, with jsonw_begin_array, an array) to print to f at the end. */
void jsonw_begin(struct jsonw *j, FILE *f);
void jsonw_begin_array(struct jsonw *j, FILE *f);
void jsonw_end(struct jsonw *j); /* prints it and a newline, flushes f, frees it */

/* With f NULL: build only; jsonw_take hands the value over (the caller cJSON_Deletes
 * it), NULL when building failed (out of memory). */
cJSON *jsonw_take(struct jsonw *j);

void jsonw_str(struct jsonw *j, const char *key, const char *v); /* NULL -> "" */
void jsonw_str_or_null(struct jsonw *j, const char *key, const char *v); /* NULL -> null */
void jsonw_null(struct jsonw *j, const char *key);
void jsonw_u64(struct jsonw *j, const char *key, uint64_t v); /* exact, unlike a double */
void jsonw_i64(struct jsonw *j, const char *key, int64_t v);
void jsonw_bool(struct jsonw *j, const char *key, int v);
/* A finite double with digits after the point (NaN and infinities become null). */
void jsonw_fixed(struct jsonw *j, const char *key, double v, int digits);
/* A double with cJSON's shortest exact form (NaN and infinities become null). */
void jsonw_num(struct jsonw *j, const char *key, double v);
void jsonw_hex(struct jsonw *j, const char *key, const uint8_t *p, size_t n);
void jsonw_open(struct jsonw *j, const char *key, char kind); /* '{' or '[' */
void jsonw_close(struct jsonw *j);                            /* the value opened last */

#endif
