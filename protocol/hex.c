/* protocol/hex.c — hex encoding and strict parsing (see hex.h). Table-free nibble
 * arithmetic; the parsers check every character before writing anything, so a
 * refused input leaves the caller's buffer as it was. */
#include "hex.h"

#include <assert.h>
#include <string.h>

static const char hex_digits[16] = "0123456789abcdef";

void hex_encode(char *out, size_t cap, const uint8_t *in, size_t n) {
  assert(out != NULL && cap > 0 && n <= (cap - 1) / 2); /* 2n + 1 <= cap, no overflow */
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex_digits[in[i] >> 4];
    out[2 * i + 1] = hex_digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int hex_is_digits(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (hex_digit_value(s[i]) < 0) return 0;
  return 1;
}

int hex_decode(uint8_t *out, size_t n, const char *s, size_t len) {
  if (s == NULL || len != 2 * n || !hex_is_digits(s, len)) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(hex_digit_value(s[2 * i]) << 4 | hex_digit_value(s[2 * i + 1]));
  return 0;
}

int hex_decode_str(uint8_t *out, size_t n, const char *s) {
  if (s == NULL) return MOMEDO_E_INVAL;
  return hex_decode(out, n, s, strnlen(s, 2 * n + 1));
}

int hex_has_prefix(const uint8_t *in, size_t n, const char *prefix) {
  size_t len = strnlen(prefix, 2 * n + 1);
  if (len > 2 * n) return 0;
  for (size_t i = 0; i < len; i++) {
    int v = hex_digit_value(prefix[i]);
    unsigned nib = i % 2 == 0 ? in[i / 2] >> 4 : in[i / 2] & 15u;
    if (v < 0 || (unsigned)v != nib) return 0;
  }
  return 1;
}
