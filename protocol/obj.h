/* protocol/obj.h — the replicated objects: canonical encoding, object IDs, field
 * bounds, expiry and signatures. Pure functions over buffers; no clock is read
 * (now_ms is an argument) and nothing is stored. An object is valid or it is
 * refused: the same checks run for bytes from clients and from neighbors. */
#ifndef MOMEDO_OBJ_H
#define MOMEDO_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "grant.h"
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
#define OBJ_REMOVED_DEVICES_MAX 64 /* devices a user removed for good (KeyBundle) */
#define OBJ_PARTNER_GRANTS_MAX 16  /* partner grants in one KeyBundle */
#define OBJ_CHUNKS_MAX 4096                    /* chunks per blob */
#define OBJ_ALIAS_CHARS_MIN 6
#define OBJ_ALIAS_CHARS_MAX 12
#define OBJ_TTL_MS_MAX (90ull * 24 * 3600 * 1000)   /* items live at most 90 days */
#define OBJ_CLOCK_SKEW_MS_MAX (10ull * 60 * 1000)  /* created_ms may be this far ahead */
#define OBJ_SIG_LEN 64                         /* Ed25519 signature */
#define OBJ_DECODE_BYTES_MAX (2 * OBJ_BYTES_MAX) /* arena cap for decoding one object */
/* Destinations (dest_nodes; a bundle's home_nodes): node keys, strictly ascending. */
#define OBJ_DEST_NODES_MAX 64
/* Node records (docs/replication.md, "Scoped delivery"). */
#define OBJ_RECORD_NAME_CHARS_MAX 64           /* [a-z0-9.-], may be empty */
#define OBJ_RECORD_NEIGHBORS_MAX 256           /* = REPL_PEERS_MAX */
#define OBJ_RECORD_BLOOM_BYTES_MIN 8           /* a non-empty filter: 2^k bytes, 8..65536 */
#define OBJ_RECORD_BLOOM_BYTES_MAX (64u * 1024)
#define OBJ_RECORD_BLOOM_HASHES_MAX 16
#define OBJ_RECORD_LIFETIME_MS_MAX (7ull * 24 * 3600 * 1000)

/* Hash and signature domains (ASCII, no terminator, prefixed to the hashed bytes). */
#define OBJ_DOMAIN_ID "momedo/obj/v1"
#define OBJ_DOMAIN_KEY_BUNDLE "momedo/key-bundle/v1"
#define OBJ_DOMAIN_OZONE_ITEM "momedo/ozone-item/v1"
#define OBJ_DOMAIN_TOMBSTONE "momedo/tombstone/v1"
#define OBJ_DOMAIN_CHUNK "momedo/chunk/v1"
#define OBJ_DOMAIN_ALIAS "momedo/alias/v1"
#define OBJ_DOMAIN_NODE_RECORD "momedo/node-record/v1"
#define OBJ_DOMAIN_PREKEY "momedo/prekey/v1"
#define OBJ_DOMAIN_PREKEY_PQ "momedo/prekey/v2" /* signed prekey with a PQ KEM key */
/* DeviceKeys.pq_kem_alg values (docs/crypto.md "Hybrid post-quantum sessions"). */
#define OBJ_PQ_KEM_NONE 0
#define OBJ_PQ_KEM_MLKEM768 1
#define OBJ_DOMAIN_MAILBOX_DEVICE "momedo/mailbox/device/v1"
#define OBJ_DOMAIN_MAILBOX_LINK "momedo/mailbox/link/v1"
#define OBJ_LINK_ID_LEN 32

struct arena;

/* What replication and the node need to know about a valid object. */
struct obj_info {
  Momedo__ObjectKind kind;
  uint8_t id[OBJ_ID_LEN];
  uint64_t created_ms;
  uint64_t expires_ms;        /* 0 = never (key bundles) */
  uint8_t mailbox[OBJ_MAILBOX_LEN];      /* items, tombstones, chunks */
  uint8_t key[OBJ_KEY_LEN];   /* bundle/alias: identity key; tombstone: device key;
                                 item/chunk: accepting node key; record: node key */
  uint64_t version;           /* key bundles: version; node records: seq */
  uint8_t target_id[OBJ_ID_LEN];         /* tombstones: the item they kill */
  uint8_t blob_id[OBJ_ID_LEN];           /* chunks */
  uint32_t index;                        /* chunks */
  uint32_t count;                        /* chunks */
  uint8_t signer[OBJ_KEY_LEN];  /* the key whose signature was checked: bundle identity
                                   key, tombstone device key, item/chunk/alias/record
                                   node key */
  char alias[OBJ_ALIAS_CHARS_MAX + 1];   /* aliases, NUL-terminated */
  int revoked;                           /* key bundles */
};

/* Key-bundle fields beyond struct obj_info (obj_checked.bundle): the keys of the
 * bundle's devices and of its home nodes, in the bundle's order, and the devices it
 * removed for good (ascending). */
struct obj_bundle_fields {
  uint32_t n_devices;
  uint8_t device_key[OBJ_DEVICES_MAX][OBJ_KEY_LEN];
  uint32_t n_home_nodes;
  uint8_t home_node[OBJ_HOME_NODES_MAX][OBJ_KEY_LEN];
  uint32_t n_removed;
  uint8_t removed[OBJ_REMOVED_DEVICES_MAX][OBJ_KEY_LEN];
  uint32_t n_grants;             /* bounds checked, signatures not (grant_verify) */
  struct grant grants[OBJ_PARTNER_GRANTS_MAX];
};

/* 0 if every device newer removed keeps the removals of older (both bundles of one
 * identity, older the one it replaces): all of older's removed keys are in newer's.
 * E_FORK otherwise: a later version may not bring a removed device back. */
MOMEDO_WUR int obj_bundle_keeps_removed(const struct obj_bundle_fields *newer,
                                        const struct obj_bundle_fields *older);

/* Node-record fields beyond struct obj_info (obj_checked.record; info.key is the node
 * key, info.version the seq). The neighbor keys and the filter bytes are read with
 * obj_unpack by the one consumer that needs them (replication, once per record). */
struct obj_record_fields {
  char name[OBJ_RECORD_NAME_CHARS_MAX + 1];
  uint32_t n_neighbors;
  uint32_t bloom_bytes;
  uint32_t bloom_hashes;
};

/* What obj_check found in one object: info (ID, kind and the fields every consumer
 * keeps), its destinations, and the fields of its kind that only some consumers need.
 * The union has one member per kind with such fields, valid only for that kind
 * (unspecified for others); a new kind adds its member here and fills it in its row of
 * obj.c's kind table. dests: the object's destination node keys, strictly ascending
 * (dest_nodes; a key bundle's home_nodes sorted, duplicates merged); n_dests 0 = global
 * scope (every node), always so for node records. */
struct obj_checked {
  struct obj_info info;
  uint32_t n_dests;
  uint8_t dests[OBJ_DEST_NODES_MAX][OBJ_KEY_LEN];
  union {
    struct obj_bundle_fields bundle; /* MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE */
    struct obj_record_fields record; /* MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD */
  };
};

/* Is key one of ck's destinations (binary search)? Global scope (n_dests 0) says 0. */
int obj_dests_has(const struct obj_checked *ck, const uint8_t key[static OBJ_KEY_LEN]);

/* Asked by obj_check as soon as the object's ID is known, before anything costly:
 * nonzero means "the caller already holds this object" (obj_check then stops). */
typedef int (*obj_seen_fn)(void *ctx, const uint8_t id[static OBJ_ID_LEN]);

/* The one check of an object (kind + canonical bytes) at time now_ms, decoding it
 * once: the ID first (as obj_id), then, unless seen(seen_ctx, id) says the caller
 * has it already (MOMEDO_E_EXISTS with only out->info.kind and out->info.id filled),
 * everything obj_validate checks, in its order (signatures last). seen may be NULL.
 * Fills *out on success. Errors: those of obj_validate, E_EXISTS, E_NOMEM. */
MOMEDO_WUR int obj_check(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                         uint64_t now_ms, obj_seen_fn seen, void *seen_ctx,
                         struct obj_checked *out);

/* obj_check without verifying the signatures (the object's own and a bundle's prekey
 * signatures): for bytes this process has just signed itself with keys it holds (a
 * simulator's objects: momedo-sim checks one in 64 of them with obj_check all the same).
 * Same results as obj_check for such bytes. Never use it on bytes from outside. */
MOMEDO_WUR int obj_check_own(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                             uint64_t now_ms, obj_seen_fn seen, void *seen_ctx,
                             struct obj_checked *out);

/* Read an object this process checked before (e.g. stored bytes) into *out like
 * obj_check, with the bounds but without the time, canonical-form and signature
 * checks: for rebuilding indexes from a store. Errors: E_UNKNOWN_KIND, E_TOOBIG,
 * E_DECODE, E_BOUNDS, E_VERSION, E_NOMEM. Never use it on bytes from outside. */
MOMEDO_WUR int obj_read(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                        struct obj_checked *out);

/* Validate data (the canonical bytes of an object of this kind) at time now_ms:
 * decodes with bounded allocation, refuses non-canonical encodings, unknown
 * fields, out-of-bound fields, expired or far-future objects and bad signatures.
 * Fills *info on success. Errors: E_UNKNOWN_KIND, E_TOOBIG, E_DECODE, E_NONCANON,
 * E_BOUNDS, E_VERSION, E_EXPIRED, E_FUTURE, E_BADSIG. Same as obj_check without a
 * seen callback, keeping only the info. */
MOMEDO_WUR int obj_validate(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                            uint64_t now_ms, struct obj_info *info);

/* ID of an object: SHA-256("momedo/obj/v1" || kind byte || bytes without the
 * signature field). Does not validate (obj_check gives the ID and the verdict from
 * one decode). */
MOMEDO_WUR int obj_id(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                      uint8_t id[static OBJ_ID_LEN]);

/* Sign and encode: fills msg->signature (the message's own field) with a
 * signature by kp over the domain-separated canonical bytes, then writes the
 * canonical encoding into a malloc'ed buffer (*out, *out_len; caller frees).
 * msg must be a Momedo__KeyBundle / OzoneItem / Tombstone / Chunk / Alias /
 * NodeRecord matching kind and carry no unknown fields (else E_INVAL). Afterwards
 * msg->signature points at the last
 * OBJ_SIG_LEN bytes of *out (borrowed: valid until the caller frees *out).
 * E_TOOBIG if the encoding exceeds OBJ_BYTES_MAX. Does not check bounds: run
 * obj_validate on the result when the fields came from outside. */
MOMEDO_WUR int obj_sign_encode(Momedo__ObjectKind kind, ProtobufCMessage *msg,
                               const struct crypto_sign_keypair *kp, uint8_t **out,
                               size_t *out_len);

/* A signer that holds the private key elsewhere (the replication engine signs its node
 * record through one): an Ed25519 signature over msg/len into sig; 0 or an error. */
typedef int (*obj_sign_fn)(void *ctx, const uint8_t *msg, size_t len,
                           uint8_t sig[static OBJ_SIG_LEN]);
/* obj_sign_encode with the signature made by sign(ctx, ...). Same contract; the
 * signer's errors are returned as they are. */
MOMEDO_WUR int obj_sign_encode_with(Momedo__ObjectKind kind, ProtobufCMessage *msg,
                                    obj_sign_fn sign, void *ctx, uint8_t **out,
                                    size_t *out_len);

/* Decode data as the message of this kind into arena memory (*out lives until
 * arena_reset), without validating anything beyond size and protobuf syntax: for
 * reading fields of an object that obj_validate already accepted. Errors:
 * E_UNKNOWN_KIND, E_TOOBIG (input or decoded size), E_DECODE. */
MOMEDO_WUR int obj_unpack(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                          struct arena *a, ProtobufCMessage **out);

/* A device's tombstone for item_id (its acknowledgement): in the device's mailbox,
 * created at created_ms, expiring at expires_ms, naming n_dests destination nodes (keys
 * of OBJ_KEY_LEN bytes in the order given — obj_validate wants them sorted and distinct;
 * NULL when 0), signed by device. *out is malloc'd (obj_sign_encode). */
MOMEDO_WUR int obj_tombstone_sign(const struct crypto_sign_keypair *device,
                                  const uint8_t item_id[static OBJ_ID_LEN],
                                  uint64_t created_ms, uint64_t expires_ms,
                                  const ProtobufCBinaryData *dests, size_t n_dests,
                                  uint8_t **out, size_t *out_len);

/* Mailbox of a device: SHA-256("momedo/mailbox/device/v1" || device_key). */
MOMEDO_WUR int obj_device_mailbox(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                  const uint8_t device_key[static OBJ_KEY_LEN]);

/* Mailbox of a device link in progress (docs/client.md, "A second device"):
 * SHA-256("momedo/mailbox/link/v1" || link_id). A node accepts unauthenticated posts
 * only into such mailboxes, and computes the mailbox itself from the link ID. */
MOMEDO_WUR int obj_link_mailbox(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                const uint8_t link_id[static OBJ_LINK_ID_LEN]);

/* Bytes a device signs for its signed prekey. */
MOMEDO_WUR int obj_prekey_sign(uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                               uint64_t expires_ms, const uint8_t prekey[static 32],
                               const struct crypto_sign_keypair *device);
MOMEDO_WUR int obj_prekey_verify(const uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                                 uint64_t expires_ms, const uint8_t prekey[static 32],
                                 const uint8_t device_key[static OBJ_KEY_LEN]);
/* The same with the device's PQ KEM key: for pq_alg = OBJ_PQ_KEM_NONE exactly the v1
 * message above (pq_key ignored); otherwise "momedo/prekey/v2" || be32 id || be64
 * expires || prekey (32) || u8 pq_alg || SHA-256(pq_key), so the algorithm byte types
 * the key and the signature binds it (a node cannot strip or swap it). */
MOMEDO_WUR int obj_prekey_sign_pq(uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                                  uint64_t expires_ms, const uint8_t prekey[static 32],
                                  uint32_t pq_alg, const uint8_t *pq_key, size_t pq_key_len,
                                  const struct crypto_sign_keypair *device);
MOMEDO_WUR int obj_prekey_verify_pq(const uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                                    uint64_t expires_ms, const uint8_t prekey[static 32],
                                    uint32_t pq_alg, const uint8_t *pq_key, size_t pq_key_len,
                                    const uint8_t device_key[static OBJ_KEY_LEN]);

#endif
