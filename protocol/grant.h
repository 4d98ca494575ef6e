/* protocol/grant.h — partner grants (objects.proto PartnerGrant): a home node's signed
 * consent that another node may hold one user's mailboxes until a time. The bytes the
 * home node signs, signing, verifying, and the bounds of one grant as it travels in a key
 * bundle or a RegisterResp. Pure functions over buffers: no store, no clock. */
#ifndef MOMEDO_PROTOCOL_GRANT_H
#define MOMEDO_PROTOCOL_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "objects.pb-c.h"
#include "status.h"

#define GRANT_DOMAIN "momedo/partner-grant/v1"
#define GRANT_KEY_LEN 32
#define GRANT_MSG_LEN (sizeof GRANT_DOMAIN - 1 + 3 * GRANT_KEY_LEN + 8)

struct grant {
  uint8_t home[GRANT_KEY_LEN];     /* the granting (home) node */
  uint8_t partner[GRANT_KEY_LEN];  /* the node allowed to act as a home too */
  uint64_t expires_ms;
  uint8_t sig[CRYPTO_SIG_LEN];     /* by home */
};

/* domain || identity_key || home || partner || be64 expires_ms. */
void grant_msg(uint8_t msg[static GRANT_MSG_LEN], const uint8_t identity_key[static 32],
               const struct grant *g);
/* Fill g->home with home's public key and sign g for identity_key. E_RNG/E_CRYPTO. */
MOMEDO_WUR int grant_sign(struct grant *g, const uint8_t identity_key[static 32],
                          const struct crypto_sign_keypair *home);
/* 0 if home signed g for identity_key, else E_BADSIG. Expiry is the caller's check. */
MOMEDO_WUR int grant_verify(const struct grant *g, const uint8_t identity_key[static 32]);

/* Copy a protobuf grant into out after checking lengths (E_BOUNDS); the signature is not
 * verified here. to_msg points m's fields into g (borrowed). */
MOMEDO_WUR int grant_from_msg(struct grant *out, const Momedo__PartnerGrant *m);
void grant_to_msg(Momedo__PartnerGrant *m, struct grant *g);

#endif
