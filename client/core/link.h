/* client/core/link.h — linking a second device of a user (issue 11, finding 3;
 * docs/client.md, "A second device"). The first device shows a link code: a short
 * one-time secret, the user's identity key, a node and an expiry. The secret only
 * authenticates a short exchange through a link mailbox on that node: the new device,
 * which made its own random keys, sends its public keys with a proof that it holds the
 * device key (the request); the first device signs it into the key bundle and sends the
 * identity-level state sealed to the new device's agreement key (the answer), so whoever
 * saw the code learns no key and cannot open the state. Pure: no I/O, no clock. */
#ifndef MOMEDO_CLIENT_LINK_H
#define MOMEDO_CLIENT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "crypto.h"
#include "ids.h"
#include "obj.h"
#include "status.h"

#define LINK_CODE_PREFIX "momedo-link2:"
#define LINK_CODE_VERSION 2
#define LINK_SECRET_LEN 16            /* 128 bits: the code stays short enough for a QR */
#define LINK_TTL_MS (10ull * 60 * 1000) /* a code is good for ten minutes */
#define LINK_HOST_CHARS_MAX 64
/* version | secret | identity key | node key | expires (be64 ms) | port (be16) | hl | host */
#define LINK_CODE_FIXED_LEN (1 + LINK_SECRET_LEN + 32 + 32 + 8 + 2 + 1)
#define LINK_CODE_BYTES_MAX (LINK_CODE_FIXED_LEN + LINK_HOST_CHARS_MAX)
#define LINK_CODE_STR_MAX (sizeof LINK_CODE_PREFIX + IDS_B32_LEN(LINK_CODE_BYTES_MAX) + 2)
/* The new device's entry: device key, agreement key, prekey, prekey id, expiry, sig. */
#define LINK_ENTRY_LEN (3 * 32 + 4 + 8 + CRYPTO_SIG_LEN)
#define LINK_REQUEST_PLAIN_LEN (4 + LINK_ENTRY_LEN + CRYPTO_SIG_LEN)
#define LINK_REQUEST_LEN (CRYPTO_XNONCE_LEN + LINK_REQUEST_PLAIN_LEN + CRYPTO_TAG_LEN)
#define LINK_ANSWER_OVERHEAD (2 * (CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN) + 2 * 32)
#define LINK_STATE_MAX (OBJ_CIPHERTEXT_BYTES_MAX - LINK_ANSWER_OVERHEAD)

struct link_code {
  uint8_t secret[LINK_SECRET_LEN];
  uint8_t identity[32];
  uint8_t node_key[32];
  uint64_t expires_ms;
  char host[LINK_HOST_CHARS_MAX + 1];
  uint16_t port;
};

/* What the secret gives: the link ID (the node turns it into the link mailbox,
 * obj_link_mailbox) and the keys of the request and of the answer. */
struct link_keys {
  uint8_t id[OBJ_LINK_ID_LEN];
  uint8_t req[32], ans[32];
};

/* The code as text: LINK_CODE_PREFIX + base32 with a check character. E_INVAL (bad
 * host or port), E_NOSPACE. */
MOMEDO_WUR int link_code_encode(char *out, size_t cap, const struct link_code *l);
/* Parse a code (surrounding white space allowed). E_PROTO (not a link code), E_VERSION
 * (another version, e.g. a "momedo-link1:" code, whose keys came from the secret),
 * E_CHECKSUM (a typo), E_INVAL (damaged). Nothing is kept on error. */
MOMEDO_WUR int link_code_decode(struct link_code *l, const char *s);

MOMEDO_WUR int link_keys_derive(struct link_keys *k, const uint8_t secret[static LINK_SECRET_LEN]);

/* The new device's request: its public entry d and a signature by its device key over
 * "momedo/link2/pop" || link ID || entry, sealed under k->req. */
MOMEDO_WUR int link_request_seal(uint8_t out[static LINK_REQUEST_LEN], const struct link_keys *k,
                                 const struct account_device *d,
                                 const struct crypto_sign_keypair *device);
/* Open a request: E_DECRYPT (not a request of this link), E_BADSIG (no proof of the
 * device key, or a bad prekey signature), E_BOUNDS. d gets the entry (home_node zero). */
MOMEDO_WUR int link_request_open(struct account_device *d, const struct link_keys *k,
                                 const uint8_t *in, size_t len);

/* The first device's answer for the device with this device and agreement key: state
 * sealed under a key from k->ans and a fresh ephemeral's DH with dh_key, inside a layer
 * under k->ans that names the device. *out is malloc'ed (*out_len bytes). E_TOOBIG. */
MOMEDO_WUR int link_answer_seal(uint8_t **out, size_t *out_len, const struct link_keys *k,
                                const uint8_t device_key[static 32],
                                const uint8_t dh_key[static 32], const uint8_t *state,
                                size_t state_len);
/* The device an answer is for (its outer layer opens with k->ans): E_DECRYPT if it is
 * not an answer of this link. */
MOMEDO_WUR int link_answer_for(uint8_t device_key[static 32], const struct link_keys *k,
                               const uint8_t *in, size_t len);
/* The state, for this device (its agreement secret dh_sec). *state is malloc'ed; the
 * caller wipes it. E_DECRYPT (another device's answer, or the code alone). */
MOMEDO_WUR int link_answer_open(uint8_t **state, size_t *state_len, const struct link_keys *k,
                                const uint8_t device_key[static 32],
                                const uint8_t dh_sec[static 32], const uint8_t *in, size_t len);

/* Six digits "123 456" (out: 8 bytes) both screens show for this device: the user
 * compares them before the first device signs the new one in. */
MOMEDO_WUR int link_safety_code(char out[static 8], const struct link_keys *k,
                                const uint8_t device_key[static 32]);

#endif
