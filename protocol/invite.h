/* protocol/invite.h — the invite code a node operator hands out and a client pastes:
 *   "momedo1:" + Crockford base32 with check character (ids.h) of
 *   version(1) = 1 | node_key(32) | token(16) | port(be16) | host_len(1) | host
 * Wire-compatible with node/invite_code.h (which the node uses to issue codes); this
 * copy lives in protocol/ so clients can parse codes without including node/. Pure:
 * no I/O, no allocation. The token is a bearer secret: callers must not log it. */
#ifndef MOMEDO_INVITE_H
#define MOMEDO_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "status.h"

#define INVITE_VERSION 1
#define INVITE_PREFIX "momedo1:"      /* what invite_encode writes */
#define INVITE_PREFIX_LEN 8
#define INVITE_KEY_LEN 32
#define INVITE_TOKEN_LEN 16
#define INVITE_TOKEN_HEX_LEN (2 * INVITE_TOKEN_LEN)
#define INVITE_HOST_CHARS_MAX 64
#define INVITE_BYTES_MAX (1 + INVITE_KEY_LEN + INVITE_TOKEN_LEN + 2 + 1 + INVITE_HOST_CHARS_MAX)
#define INVITE_STR_MAX (INVITE_PREFIX_LEN + IDS_B32_LEN(INVITE_BYTES_MAX) + 2) /* +check +NUL */

struct invite {
  uint8_t node_key[INVITE_KEY_LEN];
  uint8_t token[INVITE_TOKEN_LEN];
  char host[INVITE_HOST_CHARS_MAX + 1]; /* NUL-terminated; IPv6 without brackets */
  uint16_t port;                         /* 1..65535 */
};

/* Write the code for inv into out (INVITE_STR_MAX bytes always suffice). E_INVAL for
 * an empty, over-long or non-printable host or port 0; E_NOSPACE. */
MOMEDO_WUR int invite_encode(char *out, size_t cap, const struct invite *inv);

/* Parse a code, tolerantly: surrounding white space, either case, "momedo1:" or
 * "momedo1-", '-' and ' ' inside the base32, O for 0 and I / L for 1. Errors:
 * E_PROTO (not a momedo invite), E_VERSION (another invite version), E_CHECKSUM (a
 * typo the check character caught), E_INVAL (damaged: bad character, length, host or
 * port 0). Nothing is written on error. */
MOMEDO_WUR int invite_decode(struct invite *inv, const char *s);

/* The token as RegisterReq.invite_token carries it: INVITE_TOKEN_HEX_LEN lower-case
 * hex digits and a NUL. */
void invite_token_to_hex(char out[static INVITE_TOKEN_HEX_LEN + 1],
                         const uint8_t token[static INVITE_TOKEN_LEN]);
/* Parse INVITE_TOKEN_HEX_LEN hex digits (either case); E_INVAL otherwise. */
MOMEDO_WUR int invite_token_parse(uint8_t token[static INVITE_TOKEN_LEN], const char *s);

#endif
