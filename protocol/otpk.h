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

/* Stored record: key(32) || sig(64) (the id is in the store key). */
#define OTPK_REC_LEN (OTPK_KEY_LEN + CRYPTO_SIG_LEN)
void otpk_rec_put(uint8_t rec[static OTPK_REC_LEN], const struct otpk_pub *p);
/* E_CORRUPT unless len == OTPK_REC_LEN. */
MOMEDO_WUR int otpk_rec_get(struct otpk_pub *p, uint32_t id, const uint8_t *rec, size_t len);

#endif
