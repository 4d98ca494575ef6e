/* protocol/hex.h — the one hex codec: lower-case hex text of byte strings (keys, tokens,
 * IDs in JSON and on the command line) and its strict parser. Pure functions over
 * buffers: no I/O, no allocation. Input to the parsers may come from a user or a file:
 * bounded by the caller's length, never read past it, refused with E_INVAL. */
#ifndef MOMEDO_HEX_H
#define MOMEDO_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Characters of hex for n bytes, without the NUL. */
#define HEX_LEN(n) (2 * (n))

/* Writes 2n lower-case digits and a NUL into out. cap is the size of out; it must be at
 * least 2n + 1 (an assertion: the caller sizes its own buffer). */
void hex_encode(char *out, size_t cap, const uint8_t *in, size_t n);

/* Value 0..15 of one hex digit of either case, -1 for anything else. */
int hex_digit_value(char c);

/* 1 if all of s[0..len) are hex digits (either case), else 0. */
int hex_is_digits(const char *s, size_t len);

/* Exactly 2n hex digits of either case in s[0..len) into out[0..n). E_INVAL for another
 * length or a non-digit; out is then left untouched. */
MOMEDO_WUR int hex_decode(uint8_t *out, size_t n, const char *s, size_t len);

/* hex_decode of a NUL-terminated string (NULL is E_INVAL); reads at most 2n + 1
 * characters, so an over-long string is refused without being walked to its end. */
MOMEDO_WUR int hex_decode_str(uint8_t *out, size_t n, const char *s);

/* 1 if prefix (hex digits of either case, at most 2n of them) begins the hex of
 * in[0..n), else 0. An empty prefix matches; callers demand their own minimum. */
int hex_has_prefix(const uint8_t *in, size_t n, const char *prefix);

#endif
