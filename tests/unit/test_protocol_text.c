/* tests/unit/test_protocol_text.c — the shared text helpers of protocol/: the hex codec
 * (RFC 4648 section 10 vectors, round trips of every byte, refusals that leave the
 * output untouched, prefixes), the Crockford symbol reader shared by IDs, invite codes
 * and aliases (against an alphabet written out independently here), and the reason
 * convention (formatting, cutting to fit, NULL and zero-size buffers). */
#include <stdarg.h>

#include "harness.h"

#include "hex.h"
#include "ids.h"
#include "reason.h"

static void test_hex_vectors(void) {
  /* RFC 4648 section 10, base16 (lower case here). */
  static const struct {
    const char *in, *hex;
  } v[] = {{"", ""},           {"f", "66"},         {"fo", "666f"},
           {"foo", "666f6f"},  {"foob", "666f6f62"}, {"fooba", "666f6f6261"},
           {"foobar", "666f6f626172"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char out[16];
    uint8_t back[8];
    size_t n = strlen(v[i].in);
    hex_encode(out, sizeof out, (const uint8_t *)v[i].in, n);
    CHECK_STR(out, v[i].hex);
    CHECK_EQ(hex_decode_str(back, n, v[i].hex), 0);
    CHECK_MEM(back, v[i].in, n);
  }
  /* The exact fit: 2n digits and the NUL. */
  char fit[3];
  hex_encode(fit, sizeof fit, (const uint8_t *)"\xab", 1);
  CHECK_STR(fit, "ab");
}

static void test_hex_every_byte(void) {
  uint8_t all[256], back[256];
  char text[HEX_LEN(256) + 1];
  for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
  hex_encode(text, sizeof text, all, sizeof all);
  CHECK_EQ(strlen(text), 512);
  for (size_t i = 0; i < 512; i++)
    CHECK((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'));
  /* Independent check of each pair with sscanf. */
  for (int i = 0; i < 256; i++) {
    unsigned v;
    CHECK_EQ(sscanf(text + 2 * i, "%2x", &v), 1);
    CHECK_EQ(v, i);
  }
  CHECK_EQ(hex_decode(back, sizeof back, text, strlen(text)), 0);
  CHECK_MEM(back, all, sizeof all);
  /* Upper case reads the same. */
  for (size_t i = 0; i < 512; i++)
    if (text[i] >= 'a') text[i] = (char)(text[i] - 'a' + 'A');
  memset(back, 0, sizeof back);
  CHECK_EQ(hex_decode_str(back, sizeof back, text), 0);
  CHECK_MEM(back, all, sizeof all);
}

static void test_hex_refusals(void) {
  uint8_t out[4] = {1, 2, 3, 4};
  const uint8_t keep[4] = {1, 2, 3, 4};
  static const char *bad[] = {
      "0011223",   /* odd, one short */
      "001122334", /* one long */
      "001122",    /* a byte short */
      "0011223344",
      "00112g33",  /* g */
      "0011 233",  /* blank */
      "0x112233",  /* prefix */
      "-0112233",
      "00112233\n",
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ(hex_decode_str(out, 4, bad[i]), MOMEDO_E_INVAL);
    CHECK_MEM(out, keep, 4); /* nothing written on refusal */
  }
  CHECK_EQ(hex_decode_str(out, 4, NULL), MOMEDO_E_INVAL);
  CHECK_EQ(hex_decode(out, 4, NULL, 8), MOMEDO_E_INVAL);
  /* A NUL inside the span is not a digit. */
  CHECK_EQ(hex_decode(out, 4, "0011\0" "233", 8), MOMEDO_E_INVAL);
  CHECK_MEM(out, keep, 4);
  /* Only the span is read: digits after it do not matter. */
  CHECK_EQ(hex_decode(out, 2, "a0b1zz", 4), 0);
  CHECK_EQ(out[0], 0xa0);
  CHECK_EQ(out[1], 0xb1);
  /* Every byte value that is not a hex digit is refused as a digit. */
  for (int c = 1; c < 256; c++) {
    int want = (c >= '0' && c <= '9') ? c - '0'
               : (c >= 'a' && c <= 'f') ? c - 'a' + 10
               : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    CHECK_EQ(hex_digit_value((char)c), want);
  }
  CHECK_EQ(hex_digit_value('\0'), -1);
  CHECK_EQ(hex_is_digits("09afAF", 6), 1);
  CHECK_EQ(hex_is_digits("09afAG", 6), 0);
  CHECK_EQ(hex_is_digits("", 0), 1);
}

static void test_hex_prefix(void) {
  const uint8_t id[3] = {0xd7, 0x5a, 0x98};
  CHECK_EQ(hex_has_prefix(id, 3, ""), 1);
  CHECK_EQ(hex_has_prefix(id, 3, "d"), 1);
  CHECK_EQ(hex_has_prefix(id, 3, "D75A9"), 1);
  CHECK_EQ(hex_has_prefix(id, 3, "d75a98"), 1);
  CHECK_EQ(hex_has_prefix(id, 3, "d75a980"), 0); /* longer than the hex */
  CHECK_EQ(hex_has_prefix(id, 3, "d75b"), 0);
  CHECK_EQ(hex_has_prefix(id, 3, "d7 5a"), 0);
  CHECK_EQ(hex_has_prefix(id, 3, "7"), 0);
}

/* Crockford: the symbol reader against an alphabet written out here on purpose. */
static void test_b32_symbols(void) {
  static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  CHECK_STR(IDS_B32_ALPHABET, alpha);
  for (int v = 0; v < 32; v++) {
    char c = alpha[v];
    CHECK_EQ(ids_b32_value(c), v);
    if (c >= 'A' && c <= 'Z') CHECK_EQ(ids_b32_value((char)(c - 'A' + 'a')), v);
  }
  CHECK_EQ(ids_b32_value('O'), 0);
  CHECK_EQ(ids_b32_value('o'), 0);
  CHECK_EQ(ids_b32_value('I'), 1);
  CHECK_EQ(ids_b32_value('i'), 1);
  CHECK_EQ(ids_b32_value('L'), 1);
  CHECK_EQ(ids_b32_value('l'), 1);
  CHECK_EQ(ids_b32_value('-'), IDS_B32_SEP);
  CHECK_EQ(ids_b32_value(' '), IDS_B32_SEP);
  /* U and the other check-only symbols are not data; neither is anything else. */
  const char *not_data = "Uu*~$=_:\t\n";
  for (const char *p = not_data; *p; p++) CHECK_EQ(ids_b32_value(*p), IDS_B32_BAD);
  CHECK_EQ(ids_b32_value('\0'), IDS_B32_BAD);
  for (int c = 128; c < 256; c++) CHECK_EQ(ids_b32_value((char)c), IDS_B32_BAD);
}

/* Crockford round trips of every length up to 40 bytes through the one codec. */
static void test_b32_roundtrip(void) {
  uint8_t in[40], back[40];
  char text[IDS_B32_LEN(40) + 1];
  uint64_t st = 7;
  for (size_t n = 0; n <= sizeof in; n++) {
    for (size_t i = 0; i < n; i++) in[i] = (uint8_t)((st = st * 6364136223846793005ull + 1) >> 56);
    size_t got = 99;
    CHECK_EQ(ids_b32_encode(text, sizeof text, in, n), 0);
    CHECK_EQ(strlen(text), IDS_B32_LEN(n));
    for (size_t i = 0; text[i]; i++) CHECK(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", text[i]));
    CHECK_EQ(ids_b32_decode(back, sizeof back, &got, text), 0);
    CHECK_EQ(got, n);
    CHECK_MEM(back, in, n);
  }
  size_t got;
  CHECK_EQ(ids_b32_decode(back, sizeof back, &got, "8U"), MOMEDO_E_INVAL); /* U: check only */
}

static void wrapped(char *why, size_t why_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void wrapped(char *why, size_t why_cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reason_vset(why, why_cap, fmt, ap);
  va_end(ap);
}

static void test_reason(void) {
  char why[REASON_MAX];
  reason_set(why, sizeof why, "%s:%d: %s", "momedo.conf", 7, "bad value");
  CHECK_STR(why, "momedo.conf:7: bad value");
  /* Cut to fit, always terminated. */
  char small[8];
  memset(small, 'x', sizeof small);
  reason_set(small, sizeof small, "%s", "0123456789");
  CHECK_STR(small, "0123456");
  char one[1] = {'x'};
  reason_set(one, sizeof one, "anything");
  CHECK_EQ(one[0], 0);
  /* No buffer, or a zero-size one: nothing written, nothing crashes. */
  reason_set(NULL, 100, "ignored %d", 1);
  char zero[2] = {'a', 'b'};
  reason_set(zero, 0, "ignored");
  CHECK(zero[0] == 'a' && zero[1] == 'b');
  /* reason_fail returns the status it was given, with or without a buffer. */
  CHECK_EQ(reason_fail(why, sizeof why, MOMEDO_E_CONFIG, "line %u", 3u), MOMEDO_E_CONFIG);
  CHECK_STR(why, "line 3");
  CHECK_EQ(reason_fail(NULL, 0, MOMEDO_E_INVAL, "x"), MOMEDO_E_INVAL);
  /* reason_vset is what a module's own printf-like wrapper calls. */
  wrapped(why, sizeof why, "%u of %u", 2u, 5u);
  CHECK_STR(why, "2 of 5");
  wrapped(NULL, 0, "nothing");
}

int main(void) {
  RUN(test_hex_vectors);
  RUN(test_hex_every_byte);
  RUN(test_hex_refusals);
  RUN(test_hex_prefix);
  RUN(test_b32_symbols);
  RUN(test_b32_roundtrip);
  RUN(test_reason);
  TEST_MAIN_END();
}
