/* protocol/ids.c — user IDs, node fingerprints, key strings, safety numbers and QR
 * payloads (see ids.h), over one Crockford base32 codec. Derivations are versioned by
 * their domain-separation labels: changing one changes every ID, so tests pin them.
 * Must not allocate, read past IDS_INPUT_MAX characters, or assert on user input. */
#include "ids.h"

#include <string.h>

#include "crypto.h"

#define IDS_USER_ID_LABEL "momedo/user-id/v1"
#define IDS_NODE_FP_LABEL "momedo/node-fp/v1"
#define IDS_SAFETY_LABEL "momedo/safety/v1"
#define IDS_USER_ID_DATA_CHARS 20
#define IDS_KEY_CHARS IDS_B32_LEN(IDS_KEY_LEN) /* 52 */
#define IDS_GROUP 4
#define IDS_SAFETY_GROUP_DIGITS 5
#define IDS_CHECK_MOD 37

/* Symbol values 0..31 are data; 32..36 exist only as check characters. */
static const char ids_symbols[IDS_CHECK_MOD + 1] = IDS_B32_ALPHABET "*~$=U";

int ids_b32_value(char c) {
  if (c == '-' || c == ' ') return IDS_B32_SEP;
  if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
  if (c == 'O') return 0;
  if (c == 'I' || c == 'L') return 1;
  const char *p = c ? memchr(IDS_B32_ALPHABET, c, 32) : NULL;
  return p ? (int)(p - IDS_B32_ALPHABET) : IDS_B32_BAD;
}

/* Value of one input character, check symbols included: IDS_B32_SEP for a separator,
 * IDS_B32_BAD otherwise. */
static int ids_sym_value(unsigned char c) {
  int v = ids_b32_value((char)c);
  if (v != IDS_B32_BAD) return v;
  if (c == 'u') c = 'U';
  const char *p = c ? memchr(ids_symbols + 32, c, IDS_CHECK_MOD - 32) : NULL;
  return p ? (int)(p - ids_symbols) : IDS_B32_BAD;
}

/* Collects symbol values of s into dig (at most cap). E_INVAL on a bad character,
 * too many symbols, or input longer than IDS_INPUT_MAX. */
static int ids_scan(uint8_t *dig, size_t cap, size_t *nd, const char *s) {
  size_t n = 0;
  if (s == NULL) return MOMEDO_E_INVAL;
  size_t len = strnlen(s, IDS_INPUT_MAX + 1);
  if (len > IDS_INPUT_MAX) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < len; i++) {
    int v = ids_sym_value((unsigned char)s[i]);
    if (v == IDS_B32_SEP) continue;
    if (v == IDS_B32_BAD || n == cap) return MOMEDO_E_INVAL;
    dig[n++] = (uint8_t)v;
  }
  *nd = n;
  return 0;
}

/* Splits nbits of in (big-endian bit order) into ceil(nbits / 5) 5-bit digits; the
 * bits past nbits are zero. */
static size_t ids_bits_to_digits(uint8_t *dig, const uint8_t *in, size_t nbits) {
  size_t nd = (nbits + 4) / 5;
  for (size_t i = 0; i < nd; i++) {
    unsigned v = 0;
    for (size_t b = 5 * i; b < 5 * i + 5; b++) {
      unsigned bit = b < nbits ? (in[b / 8] >> (7 - b % 8)) & 1u : 0u;
      v = (v << 1) | bit;
    }
    dig[i] = (uint8_t)v;
  }
  return nd;
}

/* Inverse of ids_bits_to_digits: writes ceil(nbits / 8) bytes. E_INVAL if a digit is
 * not a data symbol or a padding bit past nbits is set (a non-canonical spelling). */
static int ids_digits_to_bits(uint8_t *out, const uint8_t *dig, size_t nd, size_t nbits) {
  memset(out, 0, (nbits + 7) / 8);
  for (size_t i = 0; i < nd; i++) {
    if (dig[i] >= 32) return MOMEDO_E_INVAL;
    for (size_t k = 0; k < 5; k++) {
      size_t b = 5 * i + k;
      unsigned bit = (dig[i] >> (4 - k)) & 1u;
      if (b >= nbits) {
        if (bit) return MOMEDO_E_INVAL;
        continue;
      }
      out[b / 8] |= (uint8_t)(bit << (7 - b % 8));
    }
  }
  return 0;
}

/* The digit string read as a base-32 number, mod 37 (Crockford's check symbol). */
static unsigned ids_mod37(const uint8_t *dig, size_t nd) {
  unsigned r = 0;
  for (size_t i = 0; i < nd; i++) r = (r * 32 + dig[i]) % IDS_CHECK_MOD;
  return r;
}

/* Writes the digits (grouped if group > 0) and, if check >= 0, the check symbol. */
static int ids_format(char *out, size_t cap, const uint8_t *dig, size_t nd, unsigned group,
                      int check) {
  size_t need = nd + (check >= 0) + 1;
  if (group > 0 && nd > 0) need += (nd - 1) / group + (check >= 0);
  if (out == NULL || cap < need) return MOMEDO_E_NOSPACE;
  size_t o = 0;
  for (size_t i = 0; i < nd; i++) {
    if (group > 0 && i > 0 && i % group == 0) out[o++] = '-';
    out[o++] = ids_symbols[dig[i]];
  }
  if (check >= 0) {
    if (group > 0 && nd > 0) out[o++] = '-';
    out[o++] = ids_symbols[check];
  }
  out[o] = '\0';
  return 0;
}

/* Number of bytes a string of nd digits encodes, or -1 if no encoding has nd digits. */
static long ids_bytes_for_digits(size_t nd) {
  size_t nbytes = nd * 5 / 8;
  return IDS_B32_LEN(nbytes) == nd ? (long)nbytes : -1;
}

/* ---- generic codec --------------------------------------------------------- */

/* Shared by the four public codec calls; dig must hold IDS_INPUT_MAX digits. */
static int ids_encode(char *out, size_t cap, const uint8_t *in, size_t n, unsigned group,
                      int with_check) {
  uint8_t dig[IDS_INPUT_MAX];
  if (n > IDS_INPUT_MAX * 5 / 8 || (in == NULL && n > 0)) return MOMEDO_E_INVAL;
  size_t nd = ids_bits_to_digits(dig, in, n * 8);
  return ids_format(out, cap, dig, nd, group, with_check ? (int)ids_mod37(dig, nd) : -1);
}

/* want_bytes >= 0 demands exactly that many bytes (E_INVAL otherwise, before the
 * check character is looked at: a truncated string is a length error, not a typo). */
static int ids_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s,
                      int with_check, long want_bytes) {
  uint8_t dig[IDS_INPUT_MAX];
  size_t nd;
  int rc = ids_scan(dig, sizeof dig, &nd, s);
  if (rc != 0) return rc;
  if (with_check) {
    if (nd == 0) return MOMEDO_E_INVAL;
    nd--;
  }
  long nbytes = ids_bytes_for_digits(nd);
  if (nbytes < 0 || (want_bytes >= 0 && nbytes != want_bytes)) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < nd; i++)
    if (dig[i] >= 32) return MOMEDO_E_INVAL;
  if (with_check && ids_mod37(dig, nd) != dig[nd]) return MOMEDO_E_CHECKSUM;
  if ((size_t)nbytes > cap) return MOMEDO_E_NOSPACE;
  uint8_t tmp[IDS_INPUT_MAX * 5 / 8 + 1];
  rc = ids_digits_to_bits(tmp, dig, nd, (size_t)nbytes * 8);
  if (rc != 0) return rc;
  memcpy(out, tmp, (size_t)nbytes);
  *out_len = (size_t)nbytes;
  return 0;
}

int ids_b32_encode(char *out, size_t cap, const uint8_t *in, size_t n) {
  return ids_encode(out, cap, in, n, 0, 0);
}

int ids_b32_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s) {
  return ids_decode(out, cap, out_len, s, 0, -1);
}

int ids_b32_encode_check(char *out, size_t cap, const uint8_t *in, size_t n, unsigned group) {
  return ids_encode(out, cap, in, n, group, 1);
}

int ids_b32_decode_check(uint8_t *out, size_t cap, size_t *out_len, const char *s) {
  return ids_decode(out, cap, out_len, s, 1, -1);
}

/* Fixed-length decode with check: exactly n bytes or E_INVAL. */
static int ids_decode_fixed(uint8_t *out, size_t n, const char *s) {
  uint8_t tmp[IDS_INPUT_MAX];
  size_t got;
  int rc = ids_decode(tmp, sizeof tmp, &got, s, 1, (long)n);
  if (rc == 0) memcpy(out, tmp, n);
  return rc;
}

/* ---- user IDs ----------------------------------------------------------------- */

int ids_user_id_bits(uint8_t bits[static IDS_USER_ID_BYTES],
                     const uint8_t key[static IDS_KEY_LEN]) {
  uint8_t h[CRYPTO_HASH_LEN];
  struct crypto_part parts[] = {{IDS_USER_ID_LABEL, sizeof IDS_USER_ID_LABEL - 1},
                                {key, IDS_KEY_LEN}};
  int rc = crypto_sha256_parts(h, parts, 2);
  if (rc != 0) return rc;
  memcpy(bits, h, IDS_USER_ID_BYTES);
  bits[IDS_USER_ID_BYTES - 1] &= 0xf0; /* keep 100 bits */
  return 0;
}

int ids_user_id_format(char out[static IDS_USER_ID_STR_MAX],
                       const uint8_t bits[static IDS_USER_ID_BYTES]) {
  uint8_t dig[IDS_USER_ID_DATA_CHARS];
  if (bits[IDS_USER_ID_BYTES - 1] & 0x0f) return MOMEDO_E_INVAL;
  size_t nd = ids_bits_to_digits(dig, bits, IDS_USER_ID_BITS);
  return ids_format(out, IDS_USER_ID_STR_MAX, dig, nd, IDS_GROUP, (int)ids_mod37(dig, nd));
}

int ids_user_id(char out[static IDS_USER_ID_STR_MAX], const uint8_t key[static IDS_KEY_LEN]) {
  uint8_t bits[IDS_USER_ID_BYTES];
  int rc = ids_user_id_bits(bits, key);
  return rc != 0 ? rc : ids_user_id_format(out, bits);
}

int ids_user_id_parse(uint8_t bits[static IDS_USER_ID_BYTES], const char *s) {
  uint8_t dig[IDS_USER_ID_CHARS];
  size_t nd;
  int rc = ids_scan(dig, sizeof dig, &nd, s);
  if (rc != 0) return rc;
  if (nd != IDS_USER_ID_CHARS) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < IDS_USER_ID_DATA_CHARS; i++)
    if (dig[i] >= 32) return MOMEDO_E_INVAL;
  if (ids_mod37(dig, IDS_USER_ID_DATA_CHARS) != dig[IDS_USER_ID_DATA_CHARS])
    return MOMEDO_E_CHECKSUM;
  return ids_digits_to_bits(bits, dig, IDS_USER_ID_DATA_CHARS, IDS_USER_ID_BITS);
}

int ids_user_id_matches(const char *s, const uint8_t key[static IDS_KEY_LEN]) {
  uint8_t want[IDS_USER_ID_BYTES], got[IDS_USER_ID_BYTES];
  if (ids_user_id_parse(got, s) != 0 || ids_user_id_bits(want, key) != 0) return 0;
  return crypto_ct_eq(want, got, sizeof want);
}

/* ---- node fingerprints and key strings ------------------------------------------ */

int ids_node_fp_bytes(uint8_t fp[static IDS_NODE_FP_LEN],
                      const uint8_t key[static IDS_KEY_LEN]) {
  struct crypto_part parts[] = {{IDS_NODE_FP_LABEL, sizeof IDS_NODE_FP_LABEL - 1},
                                {key, IDS_KEY_LEN}};
  return crypto_sha256_parts(fp, parts, 2);
}

int ids_node_fingerprint(char out[static IDS_NODE_FP_STR_MAX],
                         const uint8_t key[static IDS_KEY_LEN]) {
  uint8_t fp[IDS_NODE_FP_LEN];
  int rc = ids_node_fp_bytes(fp, key);
  if (rc != 0) return rc;
  return ids_b32_encode_check(out, IDS_NODE_FP_STR_MAX, fp, sizeof fp, IDS_GROUP);
}

int ids_node_fingerprint_parse(uint8_t fp[static IDS_NODE_FP_LEN], const char *s) {
  return ids_decode_fixed(fp, IDS_NODE_FP_LEN, s);
}

int ids_node_fingerprint_matches(const char *s, const uint8_t key[static IDS_KEY_LEN]) {
  uint8_t want[IDS_NODE_FP_LEN], got[IDS_NODE_FP_LEN];
  if (ids_node_fingerprint_parse(got, s) != 0 || ids_node_fp_bytes(want, key) != 0) return 0;
  return crypto_ct_eq(want, got, sizeof want);
}

int ids_key_to_b32(char out[static IDS_KEY_B32_STR_MAX], const uint8_t key[static IDS_KEY_LEN]) {
  return ids_b32_encode_check(out, IDS_KEY_B32_STR_MAX, key, IDS_KEY_LEN, 0);
}

int ids_key_from_b32(uint8_t key[static IDS_KEY_LEN], const char *s) {
  return ids_decode_fixed(key, IDS_KEY_LEN, s);
}

/* ---- safety numbers and QR payloads ---------------------------------------------- */

/* Signal's construction (iterated SHA-512 over hash || key) with our own label. */
int ids_safety_number(char out[static IDS_SAFETY_STR_MAX],
                      const uint8_t key[static IDS_KEY_LEN]) {
  uint8_t buf[CRYPTO_HASH512_LEN + IDS_KEY_LEN];
  uint8_t *h = buf;
  int rc;
  memcpy(buf, IDS_SAFETY_LABEL, sizeof IDS_SAFETY_LABEL - 1);
  memcpy(buf + sizeof IDS_SAFETY_LABEL - 1, key, IDS_KEY_LEN);
  rc = crypto_sha512(h, buf, sizeof IDS_SAFETY_LABEL - 1 + IDS_KEY_LEN);
  memcpy(buf + CRYPTO_HASH512_LEN, key, IDS_KEY_LEN);
  for (unsigned i = 0; rc == 0 && i < IDS_SAFETY_ITERATIONS; i++)
    rc = crypto_sha512(h, buf, sizeof buf);
  if (rc != 0) return rc;
  size_t o = 0;
  for (size_t g = 0; g < IDS_SAFETY_DIGITS / IDS_SAFETY_GROUP_DIGITS; g++) {
    uint64_t v = 0;
    for (size_t k = 0; k < 5; k++) v = (v << 8) | h[5 * g + k];
    v %= 100000u; /* 2^40 / 10^5 leaves a bias below 10^-7 */
    if (g > 0) out[o++] = ' ';
    for (int d = IDS_SAFETY_GROUP_DIGITS - 1; d >= 0; d--) {
      out[o + (size_t)d] = (char)('0' + v % 10);
      v /= 10;
    }
    o += IDS_SAFETY_GROUP_DIGITS;
  }
  out[o] = '\0';
  return 0;
}

int ids_qr_payload(char out[static IDS_QR_STR_MAX], const uint8_t key[static IDS_KEY_LEN]) {
  char id[IDS_USER_ID_STR_MAX], ks[IDS_KEY_B32_STR_MAX];
  int rc = ids_user_id(id, key);
  if (rc == 0) rc = ids_key_to_b32(ks, key);
  if (rc != 0) return rc;
  size_t o = 0, n;
  memcpy(out + o, IDS_QR_PREFIX, n = sizeof IDS_QR_PREFIX - 1);
  o += n;
  memcpy(out + o, id, n = strlen(id));
  o += n;
  out[o++] = ':';
  memcpy(out + o, ks, n = strlen(ks) + 1);
  return 0;
}

/* The hints after the key string: "H1,H2,...", each IDS_CARD_HINT_CHARS characters. */
static int card_hints(struct ids_card *c, const char *p) {
  c->n_hints = 0;
  for (;;) {
    char h[IDS_CARD_HINT_CHARS + 1];
    size_t n = strcspn(p, ",");
    size_t got = 0;
    if (n != IDS_CARD_HINT_CHARS || c->n_hints >= IDS_CARD_HINTS_MAX) return MOMEDO_E_INVAL;
    memcpy(h, p, n);
    h[n] = '\0';
    int rc = ids_b32_decode(c->hints[c->n_hints], IDS_CARD_HINT_LEN, &got, h);
    if (rc || got != IDS_CARD_HINT_LEN) return MOMEDO_E_INVAL;
    c->n_hints++;
    if (p[n] == '\0') return 0;
    p += n + 1;
  }
}

int ids_card_parse(struct ids_card *card, const char *s) {
  static const char magic[] = "momedo:";
  char id[IDS_INPUT_MAX + 1], ks[IDS_INPUT_MAX + 1];
  struct ids_card c;
  uint8_t bits[IDS_USER_ID_BYTES], want[IDS_USER_ID_BYTES];
  if (s == NULL || strnlen(s, IDS_INPUT_MAX + 1) > IDS_INPUT_MAX) return MOMEDO_E_INVAL;
  if (strncmp(s, magic, sizeof magic - 1) != 0) return MOMEDO_E_PROTO;
  if (strncmp(s, IDS_QR_PREFIX, sizeof IDS_QR_PREFIX - 1) != 0) return MOMEDO_E_VERSION;
  const char *p = s + sizeof IDS_QR_PREFIX - 1;
  const char *colon = strchr(p, ':');
  if (colon == NULL) return MOMEDO_E_PROTO;
  memcpy(id, p, (size_t)(colon - p));
  id[colon - p] = '\0';
  const char *k = colon + 1, *hints = strchr(k, ':');
  size_t kn = hints ? (size_t)(hints - k) : strlen(k);
  memcpy(ks, k, kn);
  ks[kn] = '\0';
  memset(&c, 0, sizeof c);
  int rc = ids_user_id_parse(bits, id);
  if (rc == 0) rc = ids_key_from_b32(c.key, ks);
  if (rc == 0) rc = ids_user_id_bits(want, c.key);
  if (rc == 0 && hints) rc = card_hints(&c, hints + 1);
  if (rc != 0) return rc;
  if (!crypto_ct_eq(want, bits, sizeof want)) return MOMEDO_E_BADKEY;
  *card = c;
  return 0;
}

int ids_qr_parse(uint8_t key[static IDS_KEY_LEN], const char *s) {
  struct ids_card c;
  int rc = ids_card_parse(&c, s);
  if (rc == 0) memcpy(key, c.key, IDS_KEY_LEN);
  return rc;
}

int ids_card_format(char out[static IDS_CARD_STR_MAX], const uint8_t key[static IDS_KEY_LEN],
                    const uint8_t (*home_keys)[IDS_KEY_LEN], size_t n_homes) {
  int rc = ids_qr_payload(out, key);
  size_t o = strlen(out);
  for (size_t i = 0; rc == 0 && i < n_homes && i < IDS_CARD_HINTS_MAX; i++) {
    uint8_t fp[IDS_NODE_FP_LEN];
    out[o++] = i ? ',' : ':';
    rc = ids_node_fp_bytes(fp, home_keys[i]);
    if (rc == 0) rc = ids_b32_encode(out + o, IDS_CARD_STR_MAX - o, fp, IDS_CARD_HINT_LEN);
    o += IDS_CARD_HINT_CHARS;
  }
  return rc;
}

int ids_card_hint_matches(const uint8_t hint[static IDS_CARD_HINT_LEN],
                          const uint8_t node_key[static IDS_KEY_LEN]) {
  uint8_t fp[IDS_NODE_FP_LEN];
  return ids_node_fp_bytes(fp, node_key) == 0 && crypto_ct_eq(fp, hint, IDS_CARD_HINT_LEN);
}
