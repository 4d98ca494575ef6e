/* protocol/otpk.h — one-time prekeys (OTPKs) as they travel between a device, its home
 * node and a sender (client.proto OneTimePrekey, PrekeyUploadReq): the bytes the device
 * key signs, signing and verifying one, and the bounds check of an upload the node runs
 * before it stores anything. Pure functions over buffers: no store, no clock. */
#ifndef MOMEDO_PROTOCOL_OTPK_H
#define MOMEDO_PROTOCOL_OTPK_H

#include <stddef.h>
#include <stdint.h>

#include "client.pb-c.h"
#include "crypto.h"
#include "status.h"

#define OTPK_DOMAIN "momedo/otpk/v1"
#define OTPK_KEY_LEN 32
#define OTPK_MSG_LEN (sizeof OTPK_DOMAIN - 1 + 32 + 4 + OTPK_KEY_LEN)
#define OTPK_UPLOAD_MAX 100      /* prekeys per PrekeyUploadReq */
#define OTPK_HELD_MAX 100        /* prekeys a node holds per device */

/* One prekey as a flat record (what a node stores, what a claim returns). */
struct otpk_pub {
  uint32_t id;                   /* never 0 */
  uint8_t key[OTPK_KEY_LEN];
  uint8_t sig[CRYPTO_SIG_LEN];
};

/* The message the device key signs: domain || device_key || be32 id || key. */
void otpk_msg(uint8_t msg[static OTPK_MSG_LEN], const uint8_t device_key[static 32],
              uint32_t id, const uint8_t key[static OTPK_KEY_LEN]);
/* Sign p->id, p->key with the device key pair into p->sig. */
MOMEDO_WUR int otpk_sign(struct otpk_pub *p, const struct crypto_sign_keypair *device);
/* 0 if p's signature verifies for device_key, else E_BADSIG (E_BOUNDS for id 0). */
MOMEDO_WUR int otpk_verify(const struct otpk_pub *p, const uint8_t device_key[static 32]);

/* Take one protobuf OneTimePrekey into out after checking lengths and id (E_BOUNDS with
 * a reason), and its signature by device_key (E_BADSIG). */
MOMEDO_WUR int otpk_from_msg(struct otpk_pub *out, const Momedo__OneTimePrekey *m,
                             const uint8_t device_key[static 32], char *why, size_t why_cap);
/* Check a whole upload for device_key: at most OTPK_UPLOAD_MAX prekeys, each valid and
 * signed, no id twice (E_INVAL). out (cap OTPK_UPLOAD_MAX) gets them in request order. */
MOMEDO_WUR int otpk_upload_check(const Momedo__PrekeyUploadReq *r,
                                 const uint8_t device_key[static 32], struct otpk_pub *out,
                                 size_t *n_out, char *why, size_t why_cap);

/* ---- Claims across nodes (docs/e2e.md "Claims across nodes") ----
 * The asking node signs a claim with its node key; the home node signs its answer with
 * its node key, bound to the requesting client's nonce, so that only the home node can
 * answer a claim and no answer can be replayed to another one. */
#define OTPK_CLAIM_DOMAIN "momedo/otpk-claim/v1"
#define OTPK_CLAIMED_DOMAIN "momedo/otpk-claimed/v1"
#define OTPK_NONCE_LEN 16
#define OTPK_REQUESTER_LEN 16

struct otpk_claim_q {
  uint8_t home[32];              /* the node asked (the device's home node) */
  uint8_t device_key[32];
  uint8_t nonce[OTPK_NONCE_LEN]; /* the requesting client's */
  uint8_t requester[OTPK_REQUESTER_LEN]; /* the asking node's tag of its device */
  uint64_t created_ms;
};
/* domain || home || device_key || nonce || requester || be64 created_ms */
MOMEDO_WUR int otpk_claim_sign(uint8_t sig[static CRYPTO_SIG_LEN], const struct otpk_claim_q *q,
                               const struct crypto_sign_keypair *asker);
/* 0 or E_BADSIG. */
MOMEDO_WUR int otpk_claim_verify(const uint8_t sig[static CRYPTO_SIG_LEN],
                                 const struct otpk_claim_q *q, const uint8_t asker[static 32]);
/* domain || nonce || device_key || be32 id || key, by the home node's key. */
MOMEDO_WUR int otpk_claimed_sign(uint8_t sig[static CRYPTO_SIG_LEN],
                                 const uint8_t nonce[static OTPK_NONCE_LEN],
                                 const uint8_t device_key[static 32], const struct otpk_pub *p,
                                 const struct crypto_sign_keypair *home);
/* 0 or E_BADSIG. */
MOMEDO_WUR int otpk_claimed_verify(const uint8_t sig[static CRYPTO_SIG_LEN],
                                   const uint8_t nonce[static OTPK_NONCE_LEN],
                                   const uint8_t device_key[static 32], const struct otpk_pub *p,
                                   const uint8_t home[static 32]);

/* Stored record: key(32) || sig(64) (the id is in the store key). */
#define OTPK_REC_LEN (OTPK_KEY_LEN + CRYPTO_SIG_LEN)
void otpk_rec_put(uint8_t rec[static OTPK_REC_LEN], const struct otpk_pub *p);
/* E_CORRUPT unless len == OTPK_REC_LEN. */
MOMEDO_WUR int otpk_rec_get(struct otpk_pub *p, uint32_t id, const uint8_t *rec, size_t len);

#endif
