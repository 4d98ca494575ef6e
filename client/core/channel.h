/* client/core/channel.h — passphrase channels (Smoke's "Fire"): whoever knows a channel's
 * name and passphrase derives its mailbox, encryption key and MAC key (scrypt, then
 * HKDF with distinct labels) and can read and post. No key server, no membership, no
 * sender authentication beyond knowing the passphrase: see docs/groups.md. Pure
 * functions over buffers; no I/O, no clock (sent_ms is an argument). */
#ifndef MOMEDO_CLIENT_CHANNEL_H
#define MOMEDO_CLIENT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "crypto.h"
#include "group.pb-c.h"
#include "obj.h"
#include "status.h"

#define CHANNEL_FORMAT 1
#define CHANNEL_KEY_LEN 32
#define CHANNEL_ID_LEN 16
#define CHANNEL_NAME_BYTES_MAX 128
#define CHANNEL_PASS_BYTES_MAX 1024
#define CHANNEL_DISPLAY_NAME_BYTES_MAX 64
#define CHANNEL_PASS_WEAK_BYTES 20   /* front-ends warn below this and suggest a generated one */
#define CHANNEL_TEXT_BYTES_MAX (64u * 1024)
#define CHANNEL_PLAINTEXT_MAX (128u * 1024)      /* encoded ChannelMessage */
#define CHANNEL_DECODE_BYTES_MAX (4 * CHANNEL_PLAINTEXT_MAX)
/* scrypt: 2^16 * 128 * 8 bytes = 64 MiB of memory per derivation (see docs/groups.md). */
#define CHANNEL_SCRYPT_LOG2_N 16
#define CHANNEL_SCRYPT_R 8
#define CHANNEL_SCRYPT_P 1
#define CHANNEL_WIRE_VERSION 1
#define CHANNEL_MAC_LEN 32
/* version || nonce || ciphertext || tag || HMAC */
#define CHANNEL_WIRE_OVERHEAD (1 + CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN + CHANNEL_MAC_LEN)
#define CHANNEL_WIRE_MAX (CHANNEL_PLAINTEXT_MAX + CHANNEL_WIRE_OVERHEAD)
#define CHANNEL_DOMAIN_SALT "momedo/channel/v1"
#define CHANNEL_DOMAIN_AD "momedo/channel/msg/v1"
#define CHANNEL_INFO_MAILBOX "momedo/channel/mailbox/v1"
#define CHANNEL_INFO_KEY "momedo/channel/key/v1"
#define CHANNEL_INFO_MAC "momedo/channel/mac/v1"

struct channel_keys {
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  uint8_t key[CHANNEL_KEY_LEN];     /* XChaCha20-Poly1305 */
  uint8_t mac_key[CHANNEL_KEY_LEN]; /* HMAC-SHA-256 over the whole message: key commitment */
};

/* master = scrypt(passphrase, "momedo/channel/v1" || be16 len || name, log2_n, r, p);
 * mailbox / key / mac_key = HKDF(master, label). name: 1..CHANNEL_NAME_BYTES_MAX bytes
 * of UTF-8 without control characters (exact bytes: "Lab" and "lab" differ);
 * passphrase: 1..CHANNEL_PASS_BYTES_MAX bytes. E_INVAL, E_NOMEM, E_CRYPTO. */
MOMEDO_WUR int channel_derive(struct channel_keys *k, const char *name, const char *passphrase,
                              unsigned log2_n, unsigned r, unsigned p);
void channel_keys_wipe(struct channel_keys *k);

/* Check a message's fields. E_VERSION, E_BOUNDS, E_UNKNOWN_KIND. */
MOMEDO_WUR int channel_message_validate(const Momedo__ChannelMessage *m);

/* Validate, encode and encrypt m with a random nonce: *out (malloc'ed, caller frees) is
 * the OzoneItem ciphertext for k->mailbox. E_TOOBIG, E_RNG, E_NOMEM. */
MOMEDO_WUR int channel_seal(const struct channel_keys *k, const Momedo__ChannelMessage *m,
                            uint8_t **out, size_t *out_len);
/* Convenience: a text message with a fresh message ID. */
MOMEDO_WUR int channel_seal_text(const struct channel_keys *k, const char *display_name,
                                 const char *text, uint64_t sent_ms, uint8_t **out,
                                 size_t *out_len);

/* Check the MAC, decrypt and decode into a (capped at CHANNEL_DECODE_BYTES_MAX; *out
 * lives until arena_reset). E_TRUNCATED, E_TOOBIG, E_VERSION; E_DECRYPT for a wrong
 * passphrase or a damaged message; E_DECODE / E_BOUNDS for bad content. */
MOMEDO_WUR int channel_open(const struct channel_keys *k, const uint8_t *wire, size_t len,
                            struct arena *a, Momedo__ChannelMessage **out);

#endif
