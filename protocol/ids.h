/* protocol/ids.h — human-facing identifiers derived from public keys: user IDs, node
 * fingerprints, key strings, safety numbers, QR payloads, and the Crockford base32
 * codec under all of them. Pure functions over buffers; no I/O, no allocation.
 * Nothing here is secret: inputs are public keys. See docs/ids.md for the reasoning. */
#ifndef MOMEDO_IDS_H
#define MOMEDO_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define IDS_KEY_LEN 32 /* Ed25519 public key */

/* Longest string any parser here looks at; longer input is refused (E_INVAL). */
#define IDS_INPUT_MAX 256

/* Characters of base32 needed for n bytes (5 bits per character, last one padded). */
#define IDS_B32_LEN(n) (((n) * 8 + 4) / 5)

/* User ID: the first 100 bits of SHA-256("momedo/user-id/v1" || identity key), as 20
 * Crockford base32 characters plus one mod-37 check character, shown as
 * "XXXX-XXXX-XXXX-XXXX-XXXX-C". The 100 bits are kept in 13 bytes, big-endian, the
 * low 4 bits of the last byte zero. */
#define IDS_USER_ID_BITS 100
#define IDS_USER_ID_BYTES 13
#define IDS_USER_ID_CHARS 21      /* 20 data + 1 check */
#define IDS_USER_ID_STR_MAX 27    /* 21 + 5 dashes + NUL */

/* Node fingerprint: SHA-256("momedo/node-fp/v1" || node key), 52 characters plus a
 * check character, in groups of 4: "XXXX-...-XXXX-C". */
#define IDS_NODE_FP_LEN 32
#define IDS_NODE_FP_STR_MAX 67    /* 53 + 13 dashes + NUL */

/* A raw 32-byte key: 52 characters plus a check character, ungrouped (one token,
 * so a double-click selects it and a config parser sees one word). */
#define IDS_KEY_B32_STR_MAX 54    /* 53 + NUL */

/* Safety number: 60 decimal digits in 12 groups of 5, separated by spaces. */
#define IDS_SAFETY_DIGITS 60
#define IDS_SAFETY_STR_MAX 72     /* 60 + 11 spaces + NUL */
#define IDS_SAFETY_ITERATIONS 5200

/* QR payload: "momedo:1:<user ID>:<key string>". */
#define IDS_QR_PREFIX "momedo:1:"
#define IDS_QR_STR_MAX 90         /* 9 + 26 + 1 + 53 + NUL */

/* Contact card: the QR payload followed by hints to the user's home nodes, so that a
 * first contact needs no search (docs/ids.md):
 *   "momedo:1:<user ID>:<key string>[:<hint>[,<hint>...]]"
 * A hint is the first IDS_CARD_HINT_LEN bytes of a home node's fingerprint
 * (ids_node_fp_bytes), IDS_CARD_HINT_CHARS base32 characters without a check character:
 * it only says where to ask first; what comes back is checked against the key. */
#define IDS_CARD_HINTS_MAX 8      /* = OBJ_HOME_NODES_MAX */
#define IDS_CARD_HINT_LEN 10      /* 80 bits */
#define IDS_CARD_HINT_CHARS 16
#define IDS_CARD_STR_MAX (IDS_QR_STR_MAX + IDS_CARD_HINTS_MAX * (IDS_CARD_HINT_CHARS + 1))

struct ids_card {
  uint8_t key[IDS_KEY_LEN];
  size_t n_hints;
  uint8_t hints[IDS_CARD_HINTS_MAX][IDS_CARD_HINT_LEN];
};

/* ---- Crockford base32 ----------------------------------------------------------
 * The one copy of the alphabet (user IDs, fingerprints, invite codes, aliases). */
#define IDS_B32_ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#define IDS_B32_SEP (-1) /* ids_b32_value: '-' or ' ', skipped by the decoders */
#define IDS_B32_BAD (-2) /* ids_b32_value: not a data symbol (check symbols included) */

/* Value 0..31 of one data symbol as typed: either case, O reads as 0, I and L as 1.
 * IDS_B32_SEP or IDS_B32_BAD otherwise. */
int ids_b32_value(char c);

/* Encoders write upper case and a terminating NUL; E_NOSPACE if cap is too small.
 * Decoders are tolerant: case-insensitive, '-' and ' ' ignored, O reads as 0 and
 * I / L as 1. They refuse (E_INVAL) any other character, input longer than
 * IDS_INPUT_MAX, a length no encoding produces, and non-zero padding bits, so every
 * byte string has exactly one canonical spelling. */

/* Plain: IDS_B32_LEN(n) characters, no check, no grouping. */
MOMEDO_WUR int ids_b32_encode(char *out, size_t cap, const uint8_t *in, size_t n);
/* *out_len receives the number of bytes; E_NOSPACE if more than cap. */
MOMEDO_WUR int ids_b32_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s);

/* With a trailing check character (value of the digit string mod 37, symbols
 * "0-9A-Z*~$=U" in Crockford's order). group > 0 puts '-' after every group data
 * characters and before the check character; group = 0 writes one token. The check
 * catches every single wrong character and every swap of two adjacent characters. */
MOMEDO_WUR int ids_b32_encode_check(char *out, size_t cap, const uint8_t *in, size_t n,
                                    unsigned group);
/* E_CHECKSUM if the check character does not match, E_INVAL as above. */
MOMEDO_WUR int ids_b32_decode_check(uint8_t *out, size_t cap, size_t *out_len,
                                    const char *s);

/* ---- user IDs ---- */
MOMEDO_WUR int ids_user_id_bits(uint8_t bits[static IDS_USER_ID_BYTES],
                                const uint8_t key[static IDS_KEY_LEN]);
MOMEDO_WUR int ids_user_id(char out[static IDS_USER_ID_STR_MAX],
                           const uint8_t key[static IDS_KEY_LEN]);
/* Formats 100 bits; E_INVAL if the low 4 bits of bits[12] are not zero. */
MOMEDO_WUR int ids_user_id_format(char out[static IDS_USER_ID_STR_MAX],
                                  const uint8_t bits[static IDS_USER_ID_BYTES]);
/* Tolerant parse. E_INVAL: bad character or not exactly 21 symbols;
 * E_CHECKSUM: a typo the check character caught. */
MOMEDO_WUR int ids_user_id_parse(uint8_t bits[static IDS_USER_ID_BYTES], const char *s);
/* 1 if s parses and is the user ID of key, else 0 (a parse error is a mismatch). */
int ids_user_id_matches(const char *s, const uint8_t key[static IDS_KEY_LEN]);

/* ---- node fingerprints and key strings ---- */
MOMEDO_WUR int ids_node_fp_bytes(uint8_t fp[static IDS_NODE_FP_LEN],
                                 const uint8_t key[static IDS_KEY_LEN]);
MOMEDO_WUR int ids_node_fingerprint(char out[static IDS_NODE_FP_STR_MAX],
                                    const uint8_t key[static IDS_KEY_LEN]);
MOMEDO_WUR int ids_node_fingerprint_parse(uint8_t fp[static IDS_NODE_FP_LEN], const char *s);
/* 1 if s parses and is the fingerprint of key (compared in constant time), else 0. */
int ids_node_fingerprint_matches(const char *s, const uint8_t key[static IDS_KEY_LEN]);

MOMEDO_WUR int ids_key_to_b32(char out[static IDS_KEY_B32_STR_MAX],
                              const uint8_t key[static IDS_KEY_LEN]);
MOMEDO_WUR int ids_key_from_b32(uint8_t key[static IDS_KEY_LEN], const char *s);

/* ---- verification ---- */
/* 60 digits from SHA-512 iterated IDS_SAFETY_ITERATIONS times over the key
 * (about 200 bits; each 5-digit group is 5 bytes big-endian mod 100000). */
MOMEDO_WUR int ids_safety_number(char out[static IDS_SAFETY_STR_MAX],
                                 const uint8_t key[static IDS_KEY_LEN]);
MOMEDO_WUR int ids_qr_payload(char out[static IDS_QR_STR_MAX],
                              const uint8_t key[static IDS_KEY_LEN]);
/* Parses a scanned payload (or contact card) into the key. E_PROTO: not a momedo
 * payload; E_VERSION: another version; E_INVAL / E_CHECKSUM: a damaged field;
 * E_BADKEY: the user ID in the payload is not the ID of the key in it. */
MOMEDO_WUR int ids_qr_parse(uint8_t key[static IDS_KEY_LEN], const char *s);
/* The contact card of key with hints to n_homes (<= IDS_CARD_HINTS_MAX, more are left
 * out) home node keys; n_homes 0 gives the plain QR payload. */
MOMEDO_WUR int ids_card_format(char out[static IDS_CARD_STR_MAX],
                               const uint8_t key[static IDS_KEY_LEN],
                               const uint8_t (*home_keys)[IDS_KEY_LEN], size_t n_homes);
/* Parse a contact card or a plain QR payload (n_hints 0). Errors as ids_qr_parse; a
 * damaged hint list (empty, a bad or wrong-length hint, more than IDS_CARD_HINTS_MAX)
 * is E_INVAL. Nothing is written on error. */
MOMEDO_WUR int ids_card_parse(struct ids_card *card, const char *s);
/* 1 if hint (IDS_CARD_HINT_LEN bytes) is the start of the fingerprint of node key. */
int ids_card_hint_matches(const uint8_t hint[static IDS_CARD_HINT_LEN],
                          const uint8_t node_key[static IDS_KEY_LEN]);

#endif
