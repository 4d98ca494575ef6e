/* Unit tests for protocol/ids.c: exact strings for a fixed key (a change in any
 * derivation fails here), tolerant parsing, the check character against every single
 * substitution and adjacent swap, and refusal of garbage without crashing. */
#include <ctype.h>

#include "harness.h"

#include "crypto.h"
#include "ids.h"

/* RFC 8032 TEST 1 public key: a fixed, published 32-byte key. */
static const char fixed_key_hex[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/* Expected outputs, computed once (independently cross-checked with a Python model). */
static const char fixed_uid[] = "ZJ64-9WP2-QB1G-93Y9-ZGN5-C";
static const char fixed_fp[] =
    "RPCB-EP2G-P92J-8V6D-1C18-TJXN-C9K5-XDTP-DBVN-7FWQ-WSVD-6V6A-Q0SG-C";
static const char fixed_key_b32[] = "TXD9G0C2P45BFNABZV9WJS07787E2WQKVAK269DF08D6HXR7A4D0A";
static const char fixed_safety[] =
    "73791 19913 31963 13597 94576 74188 88117 86627 89698 51806 84202 97072";

/* Written out again on purpose (not IDS_B32_ALPHABET): an independent oracle. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";

static void fixed_key(uint8_t key[32]) { th_unhex(key, 32, fixed_key_hex); }

/* Indices of the symbol characters (not dashes) of a formatted string. */
static size_t symbol_positions(size_t *pos, size_t cap, const char *s) {
  size_t n = 0;
  for (size_t i = 0; s[i] && n < cap; i++)
    if (s[i] != '-') pos[n++] = i;
  return n;
}

static int sym_value(char c) {
  const char *p = strchr(alphabet, c);
  return p && c ? (int)(p - alphabet) : -1;
}

/* ---- fixed outputs ---- */

static void test_fixed_key_strings(void) {
  uint8_t key[32];
  char uid[IDS_USER_ID_STR_MAX], fp[IDS_NODE_FP_STR_MAX], kb[IDS_KEY_B32_STR_MAX];
  char sn[IDS_SAFETY_STR_MAX], qr[IDS_QR_STR_MAX], want_qr[IDS_QR_STR_MAX];
  fixed_key(key);
  CHECK_EQ(ids_user_id(uid, key), 0);
  CHECK_STR(uid, fixed_uid);
  CHECK_EQ(strlen(uid), IDS_USER_ID_STR_MAX - 1);
  CHECK_EQ(ids_node_fingerprint(fp, key), 0);
  CHECK_STR(fp, fixed_fp);
  CHECK_EQ(strlen(fp), IDS_NODE_FP_STR_MAX - 1);
  CHECK_EQ(ids_key_to_b32(kb, key), 0);
  CHECK_STR(kb, fixed_key_b32);
  CHECK_EQ(strlen(kb), IDS_KEY_B32_STR_MAX - 1);
  CHECK_EQ(ids_safety_number(sn, key), 0);
  CHECK_STR(sn, fixed_safety);
  CHECK_EQ(strlen(sn), IDS_SAFETY_STR_MAX - 1);
  snprintf(want_qr, sizeof want_qr, "momedo:1:%s:%s", fixed_uid, fixed_key_b32);
  CHECK_EQ(ids_qr_payload(qr, key), 0);
  CHECK_STR(qr, want_qr);
  CHECK_EQ(strlen(qr), IDS_QR_STR_MAX - 1);
}

/* The 100 bits are the first 100 bits of SHA-256(label || key). */
static void test_user_id_bits_derivation(void) {
  uint8_t key[32], bits[IDS_USER_ID_BYTES], h[32];
  fixed_key(key);
  struct crypto_part parts[] = {{"momedo/user-id/v1", 17}, {key, 32}};
  CHECK_EQ(crypto_sha256_parts(h, parts, 2), 0);
  CHECK_EQ(ids_user_id_bits(bits, key), 0);
  CHECK_MEM(bits, h, 12);
  CHECK_EQ(bits[12], h[12] & 0xf0);
  uint8_t parsed[IDS_USER_ID_BYTES];
  CHECK_EQ(ids_user_id_parse(parsed, fixed_uid), 0);
  CHECK_MEM(parsed, bits, IDS_USER_ID_BYTES);
  bits[12] |= 1;
  char out[IDS_USER_ID_STR_MAX];
  CHECK_EQ(ids_user_id_format(out, bits), MOMEDO_E_INVAL);
}

/* ---- user IDs ---- */

static void test_user_id_roundtrip_random(void) {
  for (int i = 0; i < 200; i++) {
    uint8_t key[32], other[32], bits[IDS_USER_ID_BYTES], parsed[IDS_USER_ID_BYTES];
    char uid[IDS_USER_ID_STR_MAX];
    CHECK_EQ(crypto_random(key, sizeof key), 0);
    CHECK_EQ(ids_user_id(uid, key), 0);
    CHECK_EQ(ids_user_id_bits(bits, key), 0);
    CHECK_EQ(ids_user_id_parse(parsed, uid), 0);
    CHECK_MEM(parsed, bits, sizeof bits);
    CHECK_EQ(ids_user_id_matches(uid, key), 1);
    memcpy(other, key, 32);
    other[31] ^= 1;
    CHECK_EQ(ids_user_id_matches(uid, other), 0);
  }
}

static void test_user_id_tolerance(void) {
  uint8_t key[32], want[IDS_USER_ID_BYTES], got[IDS_USER_ID_BYTES];
  char s[64];
  fixed_key(key);
  CHECK_EQ(ids_user_id_bits(want, key), 0);
  static const char *variants[] = {
      "zj64-9wp2-qb1g-93y9-zgn5-c",     /* lower case */
      "ZJ649WP2QB1G93Y9ZGN5C",          /* no dashes */
      "ZJ64 9WP2 QB1G 93Y9 ZGN5 C",     /* spaces */
      "  ZJ64--9WP2-QBIG-93Y9-ZGN5-C ", /* extra separators, I for 1 */
      "ZJ64-9WP2-QBlG-93Y9-ZGN5-C",     /* l for 1 */
      "Zj64-9Wp2-QbLg-93y9-zGn5-c",     /* mixed case, L for 1 */
  };
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
    memset(got, 0xee, sizeof got);
    CHECK_EQ(ids_user_id_parse(got, variants[i]), 0);
    CHECK_MEM(got, want, sizeof want);
    CHECK_EQ(ids_user_id_matches(variants[i], key), 1);
  }
  /* O / o for 0 on random IDs that contain a 0 (and I/L for 1). */
  int zeros = 0, ones = 0;
  for (int k = 0; k < 200; k++) {
    CHECK_EQ(crypto_random(key, sizeof key), 0);
    CHECK_EQ(ids_user_id(s, key), 0);
    for (char *p = s; *p; p++) {
      if (*p == '0') *p = (k & 1) ? 'O' : 'o', zeros++;
      if (*p == '1') *p = (k & 1) ? 'I' : 'l', ones++;
    }
    CHECK_EQ(ids_user_id_matches(s, key), 1);
  }
  CHECK(zeros > 0 && ones > 0);
}

/* Every replacement of one symbol by any byte value either fails or is an alias of
 * the same symbol (case, O/0, I/L/1); no replacement yields a different valid ID. */
static void test_user_id_every_substitution(void) {
  uint8_t want[IDS_USER_ID_BYTES], got[IDS_USER_ID_BYTES];
  size_t pos[IDS_USER_ID_CHARS];
  CHECK_EQ(ids_user_id_parse(want, fixed_uid), 0);
  CHECK_EQ(symbol_positions(pos, IDS_USER_ID_CHARS, fixed_uid), IDS_USER_ID_CHARS);
  int checksum_caught = 0;
  for (size_t i = 0; i < IDS_USER_ID_CHARS; i++) {
    for (int c = 1; c < 256; c++) {
      char s[IDS_USER_ID_STR_MAX];
      memcpy(s, fixed_uid, sizeof s);
      if ((char)c == s[pos[i]]) continue;
      s[pos[i]] = (char)c;
      int rc = ids_user_id_parse(got, s);
      if (rc == 0) {
        CHECK_MEM(got, want, sizeof want); /* only an alias may parse */
        continue;
      }
      CHECK(rc == MOMEDO_E_CHECKSUM || rc == MOMEDO_E_INVAL);
      /* A different data symbol in a data position is caught by the check itself. */
      int v = sym_value((char)c);
      if (i < IDS_USER_ID_CHARS - 1 && v >= 0 && v < 32) {
        CHECK_EQ(rc, MOMEDO_E_CHECKSUM);
        checksum_caught++;
      }
    }
  }
  CHECK_EQ(checksum_caught, 20 * 31);
}

/* Every swap of two adjacent, different symbols is caught, on many IDs. */
static void test_user_id_adjacent_transpositions(void) {
  int swaps = 0;
  for (int k = 0; k < 300; k++) {
    uint8_t key[32], got[IDS_USER_ID_BYTES];
    char uid[IDS_USER_ID_STR_MAX];
    size_t pos[IDS_USER_ID_CHARS];
    if (k == 0)
      fixed_key(key);
    else
      CHECK_EQ(crypto_random(key, sizeof key), 0);
    CHECK_EQ(ids_user_id(uid, key), 0);
    CHECK_EQ(symbol_positions(pos, IDS_USER_ID_CHARS, uid), IDS_USER_ID_CHARS);
    for (size_t i = 0; i + 1 < IDS_USER_ID_CHARS; i++) {
      char s[IDS_USER_ID_STR_MAX];
      memcpy(s, uid, sizeof s);
      char a = s[pos[i]], b = s[pos[i + 1]];
      if (a == b) continue;
      s[pos[i]] = b;
      s[pos[i + 1]] = a;
      int rc = ids_user_id_parse(got, s);
      CHECK(rc == MOMEDO_E_CHECKSUM || rc == MOMEDO_E_INVAL);
      swaps++;
    }
  }
  CHECK(swaps > 5000);
}

/* 'U' (value 36) is a legal check character and never a data character. */
static void test_user_id_check_u(void) {
  int found = 0;
  for (int k = 0; k < 5000 && !found; k++) {
    uint8_t key[32], got[IDS_USER_ID_BYTES];
    char uid[IDS_USER_ID_STR_MAX];
    CHECK_EQ(crypto_random(key, sizeof key), 0);
    CHECK_EQ(ids_user_id(uid, key), 0);
    if (uid[IDS_USER_ID_STR_MAX - 2] != 'U') continue;
    found = 1;
    CHECK_EQ(ids_user_id_parse(got, uid), 0);
    uid[IDS_USER_ID_STR_MAX - 2] = 'u';
    CHECK_EQ(ids_user_id_matches(uid, key), 1);
    uid[0] = 'U';
    CHECK_EQ(ids_user_id_parse(got, uid), MOMEDO_E_INVAL);
  }
  CHECK(found);
}

static void test_user_id_garbage(void) {
  uint8_t got[IDS_USER_ID_BYTES];
  char big[400];
  static const char *bad[] = {
      "",
      "-",
      "ZJ64-9WP2-QB1G-93Y9-ZGN5",       /* check missing: 20 symbols */
      "ZJ64-9WP2-QB1G-93Y9-ZGN5-CC",    /* 22 symbols */
      "ZJ64-9WP2-QB1G-93Y9-ZGN-C",      /* 20 symbols */
      "ZJ64_9WP2_QB1G_93Y9_ZGN5_C",     /* '_' is not a separator */
      "ZJ64-9WP2-QB1G-93Y9-ZGN5-C\n",   /* nor newline */
      "ZJ64-9WP2-QB1G-93Y9-ZGN5-\xc3\x84", /* UTF-8 */
      "ZJ64-9WP2-QB1G-93Y9-ZGN*-C",     /* check symbol in a data position */
      "momedo:1:ZJ64",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_EQ(ids_user_id_parse(got, bad[i]), MOMEDO_E_INVAL);
  CHECK_EQ(ids_user_id_parse(got, NULL), MOMEDO_E_INVAL);
  /* Over-long input, even if it were all separators. */
  memset(big, '-', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memcpy(big, fixed_uid, strlen(fixed_uid));
  CHECK_EQ(ids_user_id_parse(got, big), MOMEDO_E_INVAL);
  /* Every byte value alone. */
  for (int c = 1; c < 256; c++) {
    char s[2] = {(char)c, 0};
    CHECK_EQ(ids_user_id_parse(got, s), MOMEDO_E_INVAL);
  }
  uint8_t key[32];
  fixed_key(key);
  CHECK_EQ(ids_user_id_matches(NULL, key), 0);
  CHECK_EQ(ids_user_id_matches("garbage", key), 0);
  CHECK_EQ(ids_user_id_matches("ZJ64-9WP2-QB1G-93Y9-ZGN5-D", key), 0);
}

/* ---- node fingerprints and key strings ---- */

static void test_node_fingerprint(void) {
  uint8_t key[32], fp[32], want[32], h[32];
  fixed_key(key);
  struct crypto_part parts[] = {{"momedo/node-fp/v1", 17}, {key, 32}};
  CHECK_EQ(crypto_sha256_parts(h, parts, 2), 0);
  CHECK_EQ(ids_node_fp_bytes(want, key), 0);
  CHECK_MEM(want, h, 32);
  CHECK_EQ(ids_node_fingerprint_parse(fp, fixed_fp), 0);
  CHECK_MEM(fp, want, 32);
  CHECK_EQ(ids_node_fingerprint_matches(fixed_fp, key), 1);
  CHECK_EQ(ids_node_fingerprint_matches(
               "rpcb ep2g p92j 8v6d 1c18 tjxn c9k5 xdtp dbvn 7fwq wsvd 6v6a qosg c", key),
           1);
  key[0] ^= 1;
  CHECK_EQ(ids_node_fingerprint_matches(fixed_fp, key), 0);
  /* Single substitutions by data symbols: all caught by the check. */
  size_t pos[53];
  CHECK_EQ(symbol_positions(pos, 53, fixed_fp), 53);
  for (size_t i = 0; i < 53; i++) {
    for (size_t a = 0; a < 37; a++) {
      char s[IDS_NODE_FP_STR_MAX];
      memcpy(s, fixed_fp, sizeof s);
      if (alphabet[a] == s[pos[i]]) continue;
      s[pos[i]] = alphabet[a];
      int rc = ids_node_fingerprint_parse(fp, s);
      CHECK(rc == MOMEDO_E_CHECKSUM || rc == MOMEDO_E_INVAL);
    }
  }
  /* The user-ID string, a key string and truncations are not fingerprints. */
  CHECK_EQ(ids_node_fingerprint_parse(fp, fixed_uid), MOMEDO_E_INVAL);
  CHECK_EQ(ids_node_fingerprint_parse(fp, "RPCB-EP2G"), MOMEDO_E_INVAL);
  CHECK_EQ(ids_node_fingerprint_parse(fp, ""), MOMEDO_E_INVAL);
}

static void test_key_b32(void) {
  uint8_t key[32], got[32];
  char s[IDS_KEY_B32_STR_MAX];
  fixed_key(key);
  CHECK_EQ(ids_key_from_b32(got, fixed_key_b32), 0);
  CHECK_MEM(got, key, 32);
  for (int k = 0; k < 100; k++) {
    CHECK_EQ(crypto_random(key, sizeof key), 0);
    CHECK_EQ(ids_key_to_b32(s, key), 0);
    CHECK_EQ(strlen(s), 53);
    memset(got, 0, sizeof got);
    CHECK_EQ(ids_key_from_b32(got, s), 0);
    CHECK_MEM(got, key, 32);
  }
  /* Non-canonical padding: the 52nd symbol carries 1 bit and 4 zero bits. Setting a
   * padding bit and fixing up the check character must still be refused. */
  char t[IDS_KEY_B32_STR_MAX];
  memcpy(t, fixed_key_b32, sizeof t);
  CHECK_EQ(t[51], '0');
  t[51] = '1';
  unsigned r = 0;
  for (int i = 0; i < 52; i++) r = (r * 32 + (unsigned)sym_value(t[i])) % 37;
  t[52] = alphabet[r];
  CHECK_EQ(ids_key_from_b32(got, t), MOMEDO_E_INVAL);
  t[52] = alphabet[(r + 1) % 37];
  CHECK(ids_key_from_b32(got, t) < 0);
  /* Wrong lengths and a bad check. */
  CHECK_EQ(ids_key_from_b32(got, "TXD9G0C2P45BFNAB"), MOMEDO_E_INVAL);
  memcpy(t, fixed_key_b32, sizeof t);
  t[52] = 'B';
  CHECK_EQ(ids_key_from_b32(got, t), MOMEDO_E_CHECKSUM);
  CHECK_EQ(ids_key_from_b32(got, NULL), MOMEDO_E_INVAL);
}

/* ---- generic codec ---- */

static void test_b32_vectors(void) {
  static const struct {
    const char *in, *plain, *checked;
  } v[] = {
      {"", "", "0"},
      {"f", "CR", "CR1"},
      {"fo", "CSQG", "CSQGS"},
      {"foo", "CSQPY", "CSQPYQ"},
      {"foob", "CSQPYRG", "CSQPYRGV"},
      {"fooba", "CSQPYRK1", "CSQPYRK1U"},
      {"foobar", "CSQPYRK1E8", "CSQPYRK1E8R"},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char s[32];
    uint8_t b[16];
    size_t n = 99, len = strlen(v[i].in);
    CHECK_EQ(ids_b32_encode(s, sizeof s, (const uint8_t *)v[i].in, len), 0);
    CHECK_STR(s, v[i].plain);
    CHECK_EQ(ids_b32_decode(b, sizeof b, &n, v[i].plain), 0);
    CHECK_EQ(n, len);
    CHECK_MEM(b, v[i].in, len);
    CHECK_EQ(ids_b32_encode_check(s, sizeof s, (const uint8_t *)v[i].in, len, 0), 0);
    CHECK_STR(s, v[i].checked);
    CHECK_EQ(ids_b32_decode_check(b, sizeof b, &n, v[i].checked), 0);
    CHECK_EQ(n, len);
    CHECK_MEM(b, v[i].in, len);
  }
  char s[32];
  CHECK_EQ(ids_b32_encode_check(s, sizeof s, (const uint8_t *)"foobar", 6, 4), 0);
  CHECK_STR(s, "CSQP-YRK1-E8-R");
}

static void test_b32_bounds(void) {
  char s[11];
  uint8_t b[6];
  size_t n;
  CHECK_EQ(ids_b32_encode(s, 10, (const uint8_t *)"foobar", 6), MOMEDO_E_NOSPACE);
  CHECK_EQ(ids_b32_encode(s, 11, (const uint8_t *)"foobar", 6), 0);
  CHECK_EQ(ids_b32_encode_check(s, 11, (const uint8_t *)"foobar", 6, 0), MOMEDO_E_NOSPACE);
  CHECK_EQ(ids_b32_decode(b, 5, &n, "CSQPYRK1E8"), MOMEDO_E_NOSPACE);
  CHECK_EQ(ids_b32_decode(b, 6, &n, "csqp-yrk1-e8"), 0);
  CHECK_MEM(b, "foobar", 6);
  /* Lengths no encoding has: 1, 3, 6 symbols. */
  CHECK_EQ(ids_b32_decode(b, 6, &n, "C"), MOMEDO_E_INVAL);
  CHECK_EQ(ids_b32_decode(b, 6, &n, "CSQ"), MOMEDO_E_INVAL);
  CHECK_EQ(ids_b32_decode(b, 6, &n, "CSQPYR"), MOMEDO_E_INVAL);
  /* Non-zero padding bits: "CS" would be 'f' with a set padding bit. */
  CHECK_EQ(ids_b32_decode(b, 6, &n, "CS"), MOMEDO_E_INVAL);
  CHECK_EQ(ids_b32_decode(b, 6, &n, "CU"), MOMEDO_E_INVAL);
  CHECK_EQ(ids_b32_decode(b, 6, &n, NULL), MOMEDO_E_INVAL);
  CHECK_EQ(ids_b32_decode_check(b, 6, &n, ""), MOMEDO_E_INVAL);
  CHECK_EQ(ids_b32_decode_check(b, 6, &n, "CSQPYRK1E8S"), MOMEDO_E_CHECKSUM);
  /* Inputs longer than the codec handles. */
  uint8_t big[200] = {0};
  char out[400];
  CHECK_EQ(ids_b32_encode(out, sizeof out, big, 160), 0);
  CHECK_EQ(strlen(out), 256);
  CHECK_EQ(ids_b32_encode(out, sizeof out, big, 161), MOMEDO_E_INVAL);
  uint8_t dec[200];
  CHECK_EQ(ids_b32_decode(dec, sizeof dec, &n, out), 0);
  CHECK_EQ(n, 160);
  memset(out, '0', 257);
  out[257] = '\0';
  CHECK_EQ(ids_b32_decode(dec, sizeof dec, &n, out), MOMEDO_E_INVAL);
}

/* Random round trips over every length up to 40 bytes, with and without check. */
static void test_b32_roundtrip_random(void) {
  for (size_t len = 0; len <= 40; len++) {
    uint8_t in[40], out[40];
    char s[IDS_B32_LEN(40) + 20];
    size_t n;
    CHECK_EQ(crypto_random(in, len), 0);
    CHECK_EQ(ids_b32_encode(s, sizeof s, in, len), 0);
    CHECK_EQ(strlen(s), IDS_B32_LEN(len));
    CHECK_EQ(ids_b32_decode(out, sizeof out, &n, s), 0);
    CHECK_EQ(n, len);
    CHECK_MEM(out, in, len);
    CHECK_EQ(ids_b32_encode_check(s, sizeof s, in, len, 5), 0);
    CHECK_EQ(ids_b32_decode_check(out, sizeof out, &n, s), 0);
    CHECK_EQ(n, len);
    CHECK_MEM(out, in, len);
  }
}

/* ---- safety numbers and QR ---- */

static void test_safety_number_shape(void) {
  uint8_t key[32];
  char a[IDS_SAFETY_STR_MAX], b[IDS_SAFETY_STR_MAX];
  fixed_key(key);
  CHECK_EQ(ids_safety_number(a, key), 0);
  for (size_t i = 0; i < IDS_SAFETY_STR_MAX - 1; i++) {
    if (i % 6 == 5)
      CHECK_EQ(a[i], ' ');
    else
      CHECK(a[i] >= '0' && a[i] <= '9');
  }
  key[31] ^= 0x80;
  CHECK_EQ(ids_safety_number(b, key), 0);
  CHECK(strcmp(a, b) != 0);
}

static void test_qr_parse(void) {
  uint8_t key[32], got[32];
  char qr[IDS_QR_STR_MAX], s[200];
  fixed_key(key);
  CHECK_EQ(ids_qr_payload(qr, key), 0);
  CHECK_EQ(ids_qr_parse(got, qr), 0);
  CHECK_MEM(got, key, 32);
  /* A valid ID of another key next to this key. */
  uint8_t other[32];
  char other_id[IDS_USER_ID_STR_MAX];
  memcpy(other, key, 32);
  other[0] ^= 1;
  CHECK_EQ(ids_user_id(other_id, other), 0);
  snprintf(s, sizeof s, "momedo:1:%s:%s", other_id, fixed_key_b32);
  CHECK_EQ(ids_qr_parse(got, s), MOMEDO_E_BADKEY);
  snprintf(s, sizeof s, "momedo:2:%s:%s", fixed_uid, fixed_key_b32);
  CHECK_EQ(ids_qr_parse(got, s), MOMEDO_E_VERSION);
  CHECK_EQ(ids_qr_parse(got, "https://example.org/"), MOMEDO_E_PROTO);
  CHECK_EQ(ids_qr_parse(got, "momedo:1:ZJ64-9WP2-QB1G-93Y9-ZGN5-C"), MOMEDO_E_PROTO);
  snprintf(s, sizeof s, "momedo:1:%s:%s", fixed_uid, "TXD9G0C2P45BFNAB");
  CHECK_EQ(ids_qr_parse(got, s), MOMEDO_E_INVAL);
  snprintf(s, sizeof s, "momedo:1:%s:%s:", fixed_uid, fixed_key_b32);
  CHECK_EQ(ids_qr_parse(got, s), MOMEDO_E_INVAL);
  CHECK_EQ(ids_qr_parse(got, NULL), MOMEDO_E_INVAL);
  /* Every truncation of a valid payload is refused without crashing. */
  for (size_t cut = 0; cut < strlen(qr); cut++) {
    char t[IDS_QR_STR_MAX];
    memcpy(t, qr, cut);
    t[cut] = '\0';
    CHECK(ids_qr_parse(got, t) < 0);
  }
}

/* Contact cards: the QR payload plus hints (80-bit fingerprint prefixes) of home nodes. */
static void test_card(void) {
  uint8_t key[32], homes[IDS_CARD_HINTS_MAX + 1][32], fp[IDS_NODE_FP_LEN];
  char card[IDS_CARD_STR_MAX], qr[IDS_QR_STR_MAX], s[IDS_CARD_STR_MAX + 40];
  struct ids_card c;
  fixed_key(key);
  for (size_t i = 0; i < IDS_CARD_HINTS_MAX + 1; i++) memset(homes[i], (int)(0x10 + i), 32);
  /* No homes: exactly the QR payload, which parses with no hints. */
  CHECK_EQ(ids_card_format(card, key, homes, 0), 0);
  CHECK_EQ(ids_qr_payload(qr, key), 0);
  CHECK_STR(card, qr);
  CHECK_EQ(ids_card_parse(&c, qr), 0);
  CHECK_EQ(c.n_hints, 0);
  CHECK_MEM(c.key, key, 32);
  /* Two homes: ":H1,H2", each the first 10 bytes of the node's fingerprint. */
  CHECK_EQ(ids_card_format(card, key, homes, 2), 0);
  CHECK_EQ(strlen(card), strlen(qr) + 2 * (IDS_CARD_HINT_CHARS + 1));
  CHECK_EQ(strncmp(card, qr, strlen(qr)), 0);
  CHECK_EQ(card[strlen(qr)], ':');
  CHECK_EQ(ids_card_parse(&c, card), 0);
  CHECK_EQ(c.n_hints, 2);
  CHECK_EQ(ids_node_fp_bytes(fp, homes[1]), 0);
  CHECK_MEM(c.hints[1], fp, IDS_CARD_HINT_LEN);
  CHECK(ids_card_hint_matches(c.hints[0], homes[0]));
  CHECK(!ids_card_hint_matches(c.hints[0], homes[1]));
  uint8_t got[32];
  CHECK_EQ(ids_qr_parse(got, card), 0); /* the key-only parser reads cards too */
  CHECK_MEM(got, key, 32);
  /* Hints are case- and O/0-tolerant like all base32 here. */
  for (char *p = strrchr(card, ':'); *p; p++) *p = (char)tolower((unsigned char)*p);
  CHECK_EQ(ids_card_parse(&c, card), 0);
  CHECK_EQ(c.n_hints, 2);
  /* At most IDS_CARD_HINTS_MAX: more homes are left out by the encoder... */
  CHECK_EQ(ids_card_format(card, key, homes, IDS_CARD_HINTS_MAX + 1), 0);
  CHECK(strlen(card) < IDS_CARD_STR_MAX);
  CHECK_EQ(ids_card_parse(&c, card), 0);
  CHECK_EQ(c.n_hints, IDS_CARD_HINTS_MAX);
  /* ...and refused by the parser. */
  snprintf(s, sizeof s, "%s,%.*s", card, IDS_CARD_HINT_CHARS, card + strlen(qr) + 1);
  CHECK_EQ(ids_card_parse(&c, s), MOMEDO_E_INVAL);
  /* Damaged hint lists: empty, a short or long hint, a bad character, an empty item. */
  CHECK_EQ(ids_card_format(card, key, homes, 1), 0);
  snprintf(s, sizeof s, "%s,", card);
  CHECK_EQ(ids_card_parse(&c, s), MOMEDO_E_INVAL);
  snprintf(s, sizeof s, "%sX", card);
  CHECK_EQ(ids_card_parse(&c, s), MOMEDO_E_INVAL);
  snprintf(s, sizeof s, "%.*s", (int)strlen(card) - 1, card);
  CHECK_EQ(ids_card_parse(&c, s), MOMEDO_E_INVAL);
  snprintf(s, sizeof s, "%s", card);
  s[strlen(s) - 1] = 'U'; /* not a data symbol */
  CHECK_EQ(ids_card_parse(&c, s), MOMEDO_E_INVAL);
  snprintf(s, sizeof s, "%s:%s", qr, "");
  CHECK_EQ(ids_card_parse(&c, s), MOMEDO_E_INVAL);
  /* Nothing is written on error; every truncation is refused or a shorter valid card. */
  memset(&c, 0xAB, sizeof c);
  CHECK(ids_card_parse(&c, "momedo:1:x") < 0);
  CHECK_EQ(c.n_hints, (size_t)0xABABABABABABABABull);
  CHECK_EQ(ids_card_format(card, key, homes, 3), 0);
  for (size_t cut = 0; cut < strlen(card); cut++) {
    char t[IDS_CARD_STR_MAX];
    memcpy(t, card, cut);
    t[cut] = '\0';
    int rc = ids_card_parse(&c, t);
    CHECK(rc < 0 || cut == strlen(qr) || (cut - strlen(qr)) % (IDS_CARD_HINT_CHARS + 1) == 0);
  }
}

int main(void) {
  RUN(test_fixed_key_strings);
  RUN(test_user_id_bits_derivation);
  RUN(test_user_id_roundtrip_random);
  RUN(test_user_id_tolerance);
  RUN(test_user_id_every_substitution);
  RUN(test_user_id_adjacent_transpositions);
  RUN(test_user_id_check_u);
  RUN(test_user_id_garbage);
  RUN(test_node_fingerprint);
  RUN(test_key_b32);
  RUN(test_b32_vectors);
  RUN(test_b32_bounds);
  RUN(test_b32_roundtrip_random);
  RUN(test_safety_number_shape);
  RUN(test_qr_parse);
  RUN(test_card);
  TEST_MAIN_END();
}
