/* protocol/invite.h — the invite code a node operator hands out and a client pastes:
 *   "momedo2:" + Crockford base32 (data alphabet only) of
 *   version(1) = 2 | node_key(32) | token(16) | port(be16) | host_len(1) | host
 * followed by two check characters: the base32 digit string read as a number, mod
 * 1021, as two base32 digits. Every character of a code is a letter, a digit or ':',
 * so it needs no quoting in a shell. The one codec: the node issues codes with it
 * (node/register.c) and clients parse them with it. Pure: no I/O, no allocation. The
 * token is a bearer secret: callers must not log it. */
#ifndef MOMEDO_INVITE_H
#define MOMEDO_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "status.h"

#define INVITE_VERSION 2
#define INVITE_PREFIX "momedo2:"      /* what invite_encode writes */
#define INVITE_PREFIX_LEN 8
#define INVITE_KEY_LEN 32
#define INVITE_TOKEN_LEN 16
#define INVITE_TOKEN_HEX_LEN (2 * INVITE_TOKEN_LEN)
#define INVITE_HOST_CHARS_MAX 64
#define INVITE_BYTES_MAX (1 + INVITE_KEY_LEN + INVITE_TOKEN_LEN + 2 + 1 + INVITE_HOST_CHARS_MAX)
#define INVITE_CHECK_CHARS 2
/* A prime below 32^2: every single wrong character and every swap of two adjacent
 * different characters changes the value mod INVITE_CHECK_MOD (as with Crockford's
 * mod 37, but the check is written with data symbols only). */
#define INVITE_CHECK_MOD 1021u
#define INVITE_STR_MAX \
  (INVITE_PREFIX_LEN + IDS_B32_LEN(INVITE_BYTES_MAX) + INVITE_CHECK_CHARS + 1) /* +NUL */

struct invite {
  uint8_t node_key[INVITE_KEY_LEN];
  uint8_t token[INVITE_TOKEN_LEN];
  char host[INVITE_HOST_CHARS_MAX + 1]; /* NUL-terminated; IPv6 without brackets */
  uint16_t port;                         /* 1..65535 */
};

/* Write the code for inv into out (INVITE_STR_MAX bytes always suffice). E_INVAL for
 * an empty, over-long or non-printable host or port 0; E_NOSPACE. */
MOMEDO_WUR int invite_encode(char *out, size_t cap, const struct invite *inv);

/* Parse a code, tolerantly: surrounding white space, either case, "momedo2:" or
 * "momedo2-", '-' and ' ' inside the base32, O for 0 and I / L for 1. Errors:
 * E_PROTO (not a momedo invite), E_VERSION (another invite version, e.g. a
 * "momedo1:" code of an older node), E_CHECKSUM (a typo the check characters
 * caught), E_INVAL (damaged: bad character, length, host or port 0). Nothing is
 * written on error. */
MOMEDO_WUR int invite_decode(struct invite *inv, const char *s);

/* The token as RegisterReq.invite_token carries it: INVITE_TOKEN_HEX_LEN lower-case
 * hex digits and a NUL. */
void invite_token_to_hex(char out[static INVITE_TOKEN_HEX_LEN + 1],
                         const uint8_t token[static INVITE_TOKEN_LEN]);
/* Parse INVITE_TOKEN_HEX_LEN hex digits (either case); E_INVAL otherwise. */
MOMEDO_WUR int invite_token_parse(uint8_t token[static INVITE_TOKEN_LEN], const char *s);

/* What a registration signs (finding 11 of issue 11: a client proves it holds the keys it
 * registers): INVITE_REGISTER_DOMAIN || node_key || SHA-256(token) || device_key ||
 * identity_key. Both the device key and the identity key sign it; the node verifies
 * both before it spends a use of the invite. The token is hashed so the signed bytes
 * never carry the bearer secret itself. */
#define INVITE_REGISTER_DOMAIN "momedo/register/v1"
#define INVITE_REGISTER_MSG_LEN (sizeof INVITE_REGISTER_DOMAIN - 1 + 4 * INVITE_KEY_LEN)
MOMEDO_WUR int invite_register_msg(uint8_t out[static INVITE_REGISTER_MSG_LEN],
                                   const uint8_t node_key[static INVITE_KEY_LEN],
                                   const uint8_t token[static INVITE_TOKEN_LEN],
                                   const uint8_t device_key[static INVITE_KEY_LEN],
                                   const uint8_t identity_key[static INVITE_KEY_LEN]);

#endif
