/* protocol/obj.h — the replicated objects: canonical encoding, object IDs, field
 * bounds, expiry and signatures. Pure functions over buffers; no clock is read
 * (now_ms is an argument) and nothing is stored. An object is valid or it is
 * refused: the same checks run for bytes from clients and from neighbors. */
#ifndef MOMEDO_OBJ_H
#define MOMEDO_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "objects.pb-c.h"
#include "status.h"

#define OBJ_ID_LEN 32
#define OBJ_KEY_LEN 32          /* Ed25519 / X25519 public keys, node keys */
#define OBJ_MAILBOX_LEN 32
#define OBJ_FORMAT 1

/* Hard bounds, checked on every object before anything else is done with it. */
#define OBJ_BYTES_MAX (512u * 1024)           /* whole canonical object */
#define OBJ_CIPHERTEXT_BYTES_MAX (256u * 1024) /* item/chunk payload */
#define OBJ_DEVICES_MAX 16
#define OBJ_HOME_NODES_MAX 8
#define OBJ_CHUNKS_MAX 4096                    /* chunks per blob */
#define OBJ_ALIAS_CHARS_MIN 6
#define OBJ_ALIAS_CHARS_MAX 12
#define OBJ_TTL_MS_MAX (90ull * 24 * 3600 * 1000)   /* items live at most 90 days */
#define OBJ_CLOCK_SKEW_MS_MAX (10ull * 60 * 1000)  /* created_ms may be this far ahead */

/* What replication and the node need to know about a valid object. */
struct obj_info {
  Momedo__ObjectKind kind;
  uint8_t id[OBJ_ID_LEN];
  uint64_t created_ms;
  uint64_t expires_ms;        /* 0 = never (key bundles) */
  uint8_t mailbox[OBJ_MAILBOX_LEN];      /* items, tombstones, chunks */
  uint8_t key[OBJ_KEY_LEN];   /* bundle/alias: identity key; tombstone: device key;
                                 item/chunk: accepting node key */
  uint64_t version;           /* key bundles */
  uint8_t target_id[OBJ_ID_LEN];         /* tombstones: the item they kill */
  uint8_t blob_id[OBJ_ID_LEN];           /* chunks */
  uint32_t index;                        /* chunks */
};

/* Validate data (the canonical bytes of an object of this kind) at time now_ms:
 * decodes with bounded allocation, refuses non-canonical encodings, unknown
 * fields, out-of-bound fields, expired or far-future objects and bad signatures.
 * Fills *info on success. Errors: E_UNKNOWN_KIND, E_TOOBIG, E_DECODE, E_NONCANON,
 * E_BOUNDS, E_VERSION, E_EXPIRED, E_FUTURE, E_BADSIG. */
MOMEDO_WUR int obj_validate(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                            uint64_t now_ms, struct obj_info *info);

/* ID of an object: SHA-256("momedo/obj/v1" || kind byte || bytes without the
 * signature field). Does not validate. */
MOMEDO_WUR int obj_id(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                      uint8_t id[static OBJ_ID_LEN]);

/* Sign and encode: fills msg->signature (the message's own field) with a
 * signature by kp over the domain-separated canonical bytes, then writes the
 * canonical encoding into a malloc'ed buffer (*out, *out_len; caller frees).
 * msg must be a Momedo__KeyBundle / OzoneItem / Tombstone / Chunk / Alias
 * matching kind. */
MOMEDO_WUR int obj_sign_encode(Momedo__ObjectKind kind, ProtobufCMessage *msg,
                               const struct crypto_sign_keypair *kp, uint8_t **out,
                               size_t *out_len);

/* Mailbox of a device: SHA-256("momedo/mailbox/device/v1" || device_key). */
MOMEDO_WUR int obj_device_mailbox(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                  const uint8_t device_key[static OBJ_KEY_LEN]);

/* Bytes a device signs for its signed prekey. */
MOMEDO_WUR int obj_prekey_sign(uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                               uint64_t expires_ms, const uint8_t prekey[static 32],
                               const struct crypto_sign_keypair *device);
MOMEDO_WUR int obj_prekey_verify(const uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                                 uint64_t expires_ms, const uint8_t prekey[static 32],
                                 const uint8_t device_key[static OBJ_KEY_LEN]);

#endif
