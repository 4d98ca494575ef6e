/* Unit tests for momedo-admin's JSON writer (admin/adm_util.c over cJSON): nesting,
 * escaping of quotes, backslashes and control characters, integers exact beyond 2^53
 * (cJSON's own numbers are doubles), and the error object when nesting goes too deep. */
#include <stdlib.h>
#include <string.h>

#include "adm.h"
#include "harness.h"

#define OUT_BYTES_MAX 4096

/* Run fn on a writer into a memory stream; the text printed, NUL-terminated. */
static void render(void (*fn)(struct adm_json *j), char out[static OUT_BYTES_MAX]) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CHECK(f != NULL);
  struct adm_json j;
  adm_json_begin(&j, f);
  fn(&j);
  adm_json_end(&j);
  fclose(f);
  CHECK(len < OUT_BYTES_MAX);
  memcpy(out, buf, len + 1);
  free(buf);
}

static void write_nested(struct adm_json *j) {
  static const uint8_t key[2] = {0xAB, 0x01};
  adm_json_bool(j, "ok", 1);
  adm_json_str(j, "s", "a\"b\\c\nd\x01");
  adm_json_u64(j, "big", 18446744073709551615ull);
  adm_json_i64(j, "neg", -9007199254740993ll);
  adm_json_hex(j, "key", key, sizeof key);
  adm_json_open(j, "list", '[');
  adm_json_open(j, NULL, '{');
  adm_json_str(j, "name", "x");
  adm_json_close(j, '}');
  adm_json_u64(j, NULL, 7);
  adm_json_close(j, ']');
  adm_json_str(j, "after", NULL);
}

static void test_nested_and_escaped(void) {
  char out[OUT_BYTES_MAX];
  render(write_nested, out);
  CHECK_EQ(strcmp(out, "{\"ok\":true,\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"big\":18446744073709551615,"
                       "\"neg\":-9007199254740993,\"key\":\"ab01\",\"list\":[{\"name\":\"x\"},7],"
                       "\"after\":\"\"}\n"),
           0);
}

static void write_too_deep(struct adm_json *j) {
  for (int i = 0; i < ADM_JSON_DEPTH_MAX + 2; i++) adm_json_open(j, "d", '{');
  for (int i = 0; i < ADM_JSON_DEPTH_MAX + 2; i++) adm_json_close(j, '}');
}

static void test_too_deep(void) {
  char out[OUT_BYTES_MAX];
  render(write_too_deep, out);
  CHECK_EQ(strcmp(out, "{\"ok\":false,\"error\":\"E_NOMEM\"}\n"), 0);
}

int main(void) {
  RUN(test_nested_and_escaped);
  RUN(test_too_deep);
  TEST_MAIN_END();
}
