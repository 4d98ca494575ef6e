/* client/core/otpks.h — this device's one-time prekey secrets (otpks.c): made in batches, kept
 * sealed in the vault file OTPKS_FILE until a first message uses one (then deleted, and
 * the vault written before the item is acknowledged) or until too many newer ones push
 * it out. The public halves go to the home node (nodeapi_prekey_upload). No I/O except
 * through the vault. See docs/e2e.md "One-time prekeys". */
#ifndef MOMEDO_CLIENT_OTPKS_H
#define MOMEDO_CLIENT_OTPKS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "otpk.h"
#include "status.h"

struct vault;

#define OTPKS_FILE "otpk"
#define OTPKS_FORMAT 1
#define OTPKS_LOCAL_MAX 400        /* secrets kept (held by the node + claimed, not used) */
#define OTPKS_NODE_TARGET OTPK_HELD_MAX /* a refill tops the node up to this many */
#define OTPKS_NODE_LOW 25          /* ... when it holds fewer than this */
#define OTPKS_FILE_BYTES_MAX (16 + OTPKS_LOCAL_MAX * (4 + 2 * CRYPTO_DH_LEN))

struct otpks_sec {
  uint32_t id;
  uint8_t sec[CRYPTO_DH_LEN], pub[CRYPTO_DH_LEN];
};

struct otpks {
  uint32_t next_id;                /* the next id to give (ids only grow; never 0) */
  size_t n;                        /* ascending by id */
  struct otpks_sec v[OTPKS_LOCAL_MAX];
  int dirty;
};

/* Empty set (next_id 1). */
void otpks_init(struct otpks *s);
void otpks_wipe(struct otpks *s);
/* Read the vault file (none: empty). E_CORRUPT for anything malformed. */
MOMEDO_WUR int otpks_load(struct otpks *s, const struct vault *v);
/* Write it back when dirty. */
MOMEDO_WUR int otpks_save(struct otpks *s, const struct vault *v);
/* The file's bytes (malloc'ed, secret: wipe) / parse them (bounds checked: at most
 * OTPKS_LOCAL_MAX entries, ascending ids below next_id, public keys matching the
 * secrets). */
MOMEDO_WUR int otpks_encode(const struct otpks *s, uint8_t **out, size_t *len);
MOMEDO_WUR int otpks_parse(struct otpks *s, const uint8_t *p, size_t len);
/* Make count (<= OTPK_UPLOAD_MAX) new prekeys signed by device into out; the oldest
 * beyond OTPKS_LOCAL_MAX are dropped. E_RNG, E_BOUNDS when the ids ran out. */
MOMEDO_WUR int otpks_generate(struct otpks *s, const struct crypto_sign_keypair *device,
                              size_t count, struct otpk_pub *out);
/* The secret with this id, or NULL. */
const struct otpks_sec *otpks_find(const struct otpks *s, uint32_t id);
/* Delete (and wipe) the secret with this id, if held. */
void otpks_remove(struct otpks *s, uint32_t id);

#endif
