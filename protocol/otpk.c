/* protocol/otpk.c — one-time prekey records (otpk.h): the signed bytes, sign and verify,
 * the upload's bounds and the node's stored record. No store, no clock. */
#include "otpk.h"

#include <string.h>

#include "cursor.h"
#include "reason.h"

void otpk_msg(uint8_t msg[static OTPK_MSG_LEN], const uint8_t device_key[static 32],
              uint32_t id, const uint8_t key[static OTPK_KEY_LEN]) {
  size_t d = sizeof OTPK_DOMAIN - 1;
  memcpy(msg, OTPK_DOMAIN, d);
  memcpy(msg + d, device_key, 32);
  be32_put(msg + d + 32, id);
  memcpy(msg + d + 36, key, OTPK_KEY_LEN);
}

int otpk_sign(struct otpk_pub *p, const struct crypto_sign_keypair *device) {
  uint8_t msg[OTPK_MSG_LEN];
  if (p->id == 0) return MOMEDO_E_BOUNDS;
  otpk_msg(msg, device->pub, p->id, p->key);
  return crypto_sign(p->sig, msg, sizeof msg, device);
}

int otpk_verify(const struct otpk_pub *p, const uint8_t device_key[static 32]) {
  uint8_t msg[OTPK_MSG_LEN];
  if (p->id == 0) return MOMEDO_E_BOUNDS;
  otpk_msg(msg, device_key, p->id, p->key);
  return crypto_verify(p->sig, msg, sizeof msg, device_key) ? MOMEDO_E_BADSIG : 0;
}

int otpk_from_msg(struct otpk_pub *out, const Momedo__OneTimePrekey *m,
                  const uint8_t device_key[static 32], char *why, size_t why_cap) {
  if (!m || m->id == 0 || m->key.len != OTPK_KEY_LEN || m->signature.len != CRYPTO_SIG_LEN)
    return reason_fail(why, why_cap, MOMEDO_E_BOUNDS,
                       "a one-time prekey needs an id (not 0), a 32-byte key and a 64-byte "
                       "signature");
  out->id = m->id;
  memcpy(out->key, m->key.data, OTPK_KEY_LEN);
  memcpy(out->sig, m->signature.data, CRYPTO_SIG_LEN);
  if (otpk_verify(out, device_key) != 0)
    return reason_fail(why, why_cap, MOMEDO_E_BADSIG,
                       "one-time prekey %u is not signed by the device key", (unsigned)m->id);
  return 0;
}

int otpk_upload_check(const Momedo__PrekeyUploadReq *r, const uint8_t device_key[static 32],
                      struct otpk_pub *out, size_t *n_out, char *why, size_t why_cap) {
  *n_out = 0;
  if (r->n_prekeys > OTPK_UPLOAD_MAX)
    return reason_fail(why, why_cap, MOMEDO_E_TOOBIG,
                       "%zu one-time prekeys in one upload (at most %u)", r->n_prekeys,
                       OTPK_UPLOAD_MAX);
  for (size_t i = 0; i < r->n_prekeys; i++) {
    int rc = otpk_from_msg(&out[i], r->prekeys[i], device_key, why, why_cap);
    if (rc) return rc;
    for (size_t j = 0; j < i; j++)
      if (out[j].id == out[i].id)
        return reason_fail(why, why_cap, MOMEDO_E_INVAL,
                           "one-time prekey id %u appears twice in the upload",
                           (unsigned)out[i].id);
  }
  *n_out = r->n_prekeys;
  return 0;
}

void otpk_rec_put(uint8_t rec[static OTPK_REC_LEN], const struct otpk_pub *p) {
  memcpy(rec, p->key, OTPK_KEY_LEN);
  memcpy(rec + OTPK_KEY_LEN, p->sig, CRYPTO_SIG_LEN);
}

int otpk_rec_get(struct otpk_pub *p, uint32_t id, const uint8_t *rec, size_t len) {
  if (len != OTPK_REC_LEN || id == 0) return MOMEDO_E_CORRUPT;
  p->id = id;
  memcpy(p->key, rec, OTPK_KEY_LEN);
  memcpy(p->sig, rec + OTPK_KEY_LEN, CRYPTO_SIG_LEN);
  return 0;
}

/* ---- claims across nodes ---- */

#define CLAIM_MSG_LEN (sizeof OTPK_CLAIM_DOMAIN - 1 + 32 + 32 + OTPK_NONCE_LEN + OTPK_REQUESTER_LEN + 8)
#define CLAIMED_MSG_LEN (sizeof OTPK_CLAIMED_DOMAIN - 1 + OTPK_NONCE_LEN + 32 + 4 + OTPK_KEY_LEN)

static void claim_msg(uint8_t m[static CLAIM_MSG_LEN], const struct otpk_claim_q *q) {
  size_t d = sizeof OTPK_CLAIM_DOMAIN - 1;
  memcpy(m, OTPK_CLAIM_DOMAIN, d);
  memcpy(m + d, q->home, 32);
  memcpy(m + d + 32, q->device_key, 32);
  memcpy(m + d + 64, q->nonce, OTPK_NONCE_LEN);
  memcpy(m + d + 64 + OTPK_NONCE_LEN, q->requester, OTPK_REQUESTER_LEN);
  be64_put(m + d + 64 + OTPK_NONCE_LEN + OTPK_REQUESTER_LEN, q->created_ms);
}

int otpk_claim_sign(uint8_t sig[static CRYPTO_SIG_LEN], const struct otpk_claim_q *q,
                    const struct crypto_sign_keypair *asker) {
  uint8_t m[CLAIM_MSG_LEN];
  claim_msg(m, q);
  return crypto_sign(sig, m, sizeof m, asker);
}

int otpk_claim_verify(const uint8_t sig[static CRYPTO_SIG_LEN], const struct otpk_claim_q *q,
                      const uint8_t asker[static 32]) {
  uint8_t m[CLAIM_MSG_LEN];
  claim_msg(m, q);
  return crypto_verify(sig, m, sizeof m, asker) ? MOMEDO_E_BADSIG : 0;
}

static void claimed_msg(uint8_t m[static CLAIMED_MSG_LEN], const uint8_t nonce[static OTPK_NONCE_LEN],
                        const uint8_t device_key[static 32], const struct otpk_pub *p) {
  size_t d = sizeof OTPK_CLAIMED_DOMAIN - 1;
  memcpy(m, OTPK_CLAIMED_DOMAIN, d);
  memcpy(m + d, nonce, OTPK_NONCE_LEN);
  memcpy(m + d + OTPK_NONCE_LEN, device_key, 32);
  be32_put(m + d + OTPK_NONCE_LEN + 32, p->id);
  memcpy(m + d + OTPK_NONCE_LEN + 36, p->key, OTPK_KEY_LEN);
}

int otpk_claimed_sign(uint8_t sig[static CRYPTO_SIG_LEN], const uint8_t nonce[static OTPK_NONCE_LEN],
                      const uint8_t device_key[static 32], const struct otpk_pub *p,
                      const struct crypto_sign_keypair *home) {
  uint8_t m[CLAIMED_MSG_LEN];
  claimed_msg(m, nonce, device_key, p);
  return crypto_sign(sig, m, sizeof m, home);
}

int otpk_claimed_verify(const uint8_t sig[static CRYPTO_SIG_LEN],
                        const uint8_t nonce[static OTPK_NONCE_LEN],
                        const uint8_t device_key[static 32], const struct otpk_pub *p,
                        const uint8_t home[static 32]) {
  uint8_t m[CLAIMED_MSG_LEN];
  claimed_msg(m, nonce, device_key, p);
  return crypto_verify(sig, m, sizeof m, home) ? MOMEDO_E_BADSIG : 0;
}
