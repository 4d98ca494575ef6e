/* Unit tests for the tools' JSON writer (protocol/json/jsonw.c over cJSON, used by
 * momedo-admin and momedo): nesting, escaping of quotes, backslashes and control
 * characters, integers exact beyond 2^53 (cJSON's own numbers are doubles), null for a
 * missing string and a non-finite number, fixed decimals, and the error object when
 * nesting goes too deep. */
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "harness.h"

#define OUT_BYTES_MAX 4096

/* Run fn on a writer into a memory stream; the text printed, NUL-terminated. */
static void render(void (*fn)(struct jsonw *j), char out[static OUT_BYTES_MAX]) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CHECK(f != NULL);
  struct jsonw j;
  jsonw_begin(&j, f);
  fn(&j);
  jsonw_end(&j);
  fclose(f);
  CHECK(len < OUT_BYTES_MAX);
  memcpy(out, buf, len + 1);
  free(buf);
}

static void write_nested(struct jsonw *j) {
  static const uint8_t key[2] = {0xAB, 0x01};
  jsonw_bool(j, "ok", 1);
  jsonw_str(j, "s", "a\"b\\c\nd\x01");
  jsonw_u64(j, "big", 18446744073709551615ull);
  jsonw_i64(j, "neg", -9007199254740993ll);
  jsonw_hex(j, "key", key, sizeof key);
  jsonw_open(j, "list", '[');
  jsonw_open(j, NULL, '{');
  jsonw_str(j, "name", "x");
  jsonw_close(j);
  jsonw_u64(j, NULL, 7);
  jsonw_close(j);
  jsonw_str(j, "after", NULL);
}

static void test_nested_and_escaped(void) {
  char out[OUT_BYTES_MAX];
  render(write_nested, out);
  CHECK_EQ(strcmp(out, "{\"ok\":true,\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"big\":18446744073709551615,"
                       "\"neg\":-9007199254740993,\"key\":\"ab01\",\"list\":[{\"name\":\"x\"},7],"
                       "\"after\":\"\"}\n"),
           0);
}

static void write_nulls(struct jsonw *j) {
  jsonw_str_or_null(j, "name", NULL);
  jsonw_str_or_null(j, "alias", "\xc3\xa4\t"); /* UTF-8 passes, a tab is escaped */
  jsonw_fixed(j, "lat", 52.52000659, 7);
  jsonw_fixed(j, "acc", 1.0 / 0.0, 2);
  jsonw_num(j, "nan", 0.0 / 0.0);
  jsonw_null(j, "none");
}

static void test_nulls_and_numbers(void) {
  char out[OUT_BYTES_MAX];
  render(write_nulls, out);
  CHECK_EQ(strcmp(out, "{\"name\":null,\"alias\":\"\xc3\xa4\\t\",\"lat\":52.5200066,"
                       "\"acc\":null,\"nan\":null,\"none\":null}\n"),
           0);
}

static void write_too_deep(struct jsonw *j) {
  for (int i = 0; i < JSONW_DEPTH_MAX + 2; i++) jsonw_open(j, "d", '{');
  for (int i = 0; i < JSONW_DEPTH_MAX + 2; i++) jsonw_close(j);
}

static void test_too_deep(void) {
  char out[OUT_BYTES_MAX];
  render(write_too_deep, out);
  CHECK_EQ(strcmp(out, "{\"ok\":false,\"error\":\"E_NOMEM\"}\n"), 0);
}

int main(void) {
  RUN(test_nested_and_escaped);
  RUN(test_nulls_and_numbers);
  RUN(test_too_deep);
  TEST_MAIN_END();
}
