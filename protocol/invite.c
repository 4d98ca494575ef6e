/* protocol/invite.c — encode and parse invite codes (see invite.h). Everything parsed
 * here may come from a user's paste: bounded lengths, no asserts on input, one
 * canonical spelling per code (the base32 codec refuses non-zero padding bits). The
 * check is two data symbols (mod 1021), never one of Crockford's * ~ $ = U, so a code
 * is a single shell word that nothing expands. */
#include "invite.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "hex.h"

static int invite_host_ok(const char *h, size_t n) {
  if (n == 0 || n > INVITE_HOST_CHARS_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (h[i] <= ' ' || h[i] >= 0x7f) return 0;
  return 1;
}

static int invite_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The canonical data symbols s[0..n) read as a base-32 number, mod INVITE_CHECK_MOD. */
static unsigned invite_check(const char *s, size_t n) {
  unsigned r = 0;
  for (size_t i = 0; i < n; i++)
    r = (r * 32 + (unsigned)ids_b32_value(s[i])) % INVITE_CHECK_MOD;
  return r;
}

int invite_encode(char *out, size_t cap, const struct invite *inv) {
  uint8_t blob[INVITE_BYTES_MAX];
  struct cursor w;
  size_t hl = strnlen(inv->host, INVITE_HOST_CHARS_MAX + 1);
  int rc = 0;
  if (!invite_host_ok(inv->host, hl) || inv->port == 0) return MOMEDO_E_INVAL;
  if (cap < INVITE_PREFIX_LEN + 1) return MOMEDO_E_NOSPACE;
  cursor_init(&w, blob, sizeof blob);
  if (rc == 0) rc = cursor_put_u8(&w, INVITE_VERSION);
  if (rc == 0) rc = cursor_put_bytes(&w, inv->node_key, INVITE_KEY_LEN);
  if (rc == 0) rc = cursor_put_bytes(&w, inv->token, INVITE_TOKEN_LEN);
  if (rc == 0) rc = cursor_put_be16(&w, inv->port);
  if (rc == 0) rc = cursor_put_u8(&w, (uint8_t)hl);
  if (rc == 0) rc = cursor_put_bytes(&w, inv->host, hl);
  if (rc < 0) return rc;
  memcpy(out, INVITE_PREFIX, INVITE_PREFIX_LEN);
  char *body = out + INVITE_PREFIX_LEN;
  size_t room = cap - INVITE_PREFIX_LEN;
  if (room < IDS_B32_LEN(w.pos) + INVITE_CHECK_CHARS + 1) return MOMEDO_E_NOSPACE;
  if ((rc = ids_b32_encode(body, room, blob, w.pos)) < 0) return rc;
  size_t n = strlen(body);
  unsigned check = invite_check(body, n);
  body[n] = IDS_B32_ALPHABET[check >> 5];
  body[n + 1] = IDS_B32_ALPHABET[check & 31];
  body[n + 2] = '\0';
  return 0;
}

/* Copy the base32 part of s (prefix and surrounding blanks removed) into body. */
static int invite_body(char body[static IDS_INPUT_MAX + 1], const char *s) {
  static const char name[] = "momedo";
  while (invite_space(*s)) s++;
  for (size_t i = 0; i < sizeof name - 1; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != name[i]) return MOMEDO_E_PROTO;
  }
  s += sizeof name - 1;
  if (s[0] != '0' + INVITE_VERSION || (s[1] != ':' && s[1] != '-')) return MOMEDO_E_VERSION;
  s += 2;
  size_t n = strnlen(s, IDS_INPUT_MAX + 1);
  if (n > IDS_INPUT_MAX) return MOMEDO_E_INVAL;
  while (n > 0 && invite_space(s[n - 1])) n--;
  if (n == 0) return MOMEDO_E_INVAL;
  memcpy(body, s, n);
  body[n] = '\0';
  return 0;
}

static int invite_parse_blob(struct invite *inv, const uint8_t *blob, size_t n) {
  struct cursor r;
  uint8_t version = 0, hl = 0;
  int rc;
  cursor_init(&r, (uint8_t *)blob, n);
  if (cursor_get_u8(&r, &version) < 0) return MOMEDO_E_INVAL;
  if (version != INVITE_VERSION) return MOMEDO_E_VERSION;
  rc = cursor_get_bytes(&r, inv->node_key, INVITE_KEY_LEN);
  if (rc == 0) rc = cursor_get_bytes(&r, inv->token, INVITE_TOKEN_LEN);
  if (rc == 0) rc = cursor_get_be16(&r, &inv->port);
  if (rc == 0) rc = cursor_get_u8(&r, &hl);
  if (rc < 0 || hl == 0 || hl > INVITE_HOST_CHARS_MAX || cursor_left(&r) != hl)
    return MOMEDO_E_INVAL;
  if (cursor_get_bytes(&r, inv->host, hl) < 0) return MOMEDO_E_INVAL;
  inv->host[hl] = '\0';
  if (!invite_host_ok(inv->host, hl) || inv->port == 0) return MOMEDO_E_INVAL;
  return 0;
}

/* body (tolerant spelling) -> canonical data symbols in place and the check; a length
 * no code has is E_INVAL before the check is looked at (a truncated code is not a
 * typo). */
static int invite_unpack_body(char *body, uint8_t *blob, size_t cap, size_t *blen) {
  size_t n = 0;
  for (size_t i = 0; body[i]; i++) {
    int v = ids_b32_value(body[i]);
    if (v == IDS_B32_BAD) return MOMEDO_E_INVAL;
    if (v >= 0) body[n++] = IDS_B32_ALPHABET[v];
  }
  if (n <= INVITE_CHECK_CHARS) return MOMEDO_E_INVAL;
  size_t nd = n - INVITE_CHECK_CHARS, nbytes = nd * 5 / 8;
  if (IDS_B32_LEN(nbytes) != nd || nbytes > cap) return MOMEDO_E_INVAL;
  unsigned got = (unsigned)ids_b32_value(body[nd]) << 5 | (unsigned)ids_b32_value(body[nd + 1]);
  if (got != invite_check(body, nd)) return MOMEDO_E_CHECKSUM;
  body[nd] = '\0';
  int rc = ids_b32_decode(blob, cap, blen, body);
  return rc == MOMEDO_E_NOSPACE ? MOMEDO_E_INVAL : rc;
}

int invite_decode(struct invite *inv, const char *s) {
  char body[IDS_INPUT_MAX + 1];
  uint8_t blob[INVITE_BYTES_MAX];
  size_t blen = 0;
  struct invite tmp;
  int rc;
  if (s == NULL) return MOMEDO_E_INVAL;
  if ((rc = invite_body(body, s)) < 0) return rc;
  if ((rc = invite_unpack_body(body, blob, sizeof blob, &blen)) < 0) return rc;
  memset(&tmp, 0, sizeof tmp);
  rc = invite_parse_blob(&tmp, blob, blen);
  if (rc == 0) *inv = tmp;
  crypto_wipe(&tmp, sizeof tmp);
  crypto_wipe(blob, sizeof blob);
  return rc;
}

void invite_token_to_hex(char out[static INVITE_TOKEN_HEX_LEN + 1],
                         const uint8_t token[static INVITE_TOKEN_LEN]) {
  hex_encode(out, INVITE_TOKEN_HEX_LEN + 1, token, INVITE_TOKEN_LEN);
}

int invite_token_parse(uint8_t token[static INVITE_TOKEN_LEN], const char *s) {
  return hex_decode_str(token, INVITE_TOKEN_LEN, s);
}

int invite_register_msg(uint8_t out[static INVITE_REGISTER_MSG_LEN],
                        const uint8_t node_key[static INVITE_KEY_LEN],
                        const uint8_t token[static INVITE_TOKEN_LEN],
                        const uint8_t device_key[static INVITE_KEY_LEN],
                        const uint8_t identity_key[static INVITE_KEY_LEN]) {
  size_t dl = sizeof INVITE_REGISTER_DOMAIN - 1;
  memcpy(out, INVITE_REGISTER_DOMAIN, dl);
  memcpy(out + dl, node_key, INVITE_KEY_LEN);
  int rc = crypto_sha256(out + dl + INVITE_KEY_LEN, token, INVITE_TOKEN_LEN);
  memcpy(out + dl + 2 * INVITE_KEY_LEN, device_key, INVITE_KEY_LEN);
  memcpy(out + dl + 3 * INVITE_KEY_LEN, identity_key, INVITE_KEY_LEN);
  return rc;
}
