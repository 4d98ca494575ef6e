/* protocol/grant.c — partner grants (grant.h): the signed bytes, sign, verify and the
 * bounds of one grant. No store, no clock. */
#include "grant.h"

#include <string.h>

#include "cursor.h"

void grant_msg(uint8_t msg[static GRANT_MSG_LEN], const uint8_t identity_key[static 32],
               const struct grant *g) {
  size_t d = sizeof GRANT_DOMAIN - 1;
  memcpy(msg, GRANT_DOMAIN, d);
  memcpy(msg + d, identity_key, GRANT_KEY_LEN);
  memcpy(msg + d + GRANT_KEY_LEN, g->home, GRANT_KEY_LEN);
  memcpy(msg + d + 2 * GRANT_KEY_LEN, g->partner, GRANT_KEY_LEN);
  be64_put(msg + d + 3 * GRANT_KEY_LEN, g->expires_ms);
}

int grant_sign(struct grant *g, const uint8_t identity_key[static 32],
               const struct crypto_sign_keypair *home) {
  uint8_t msg[GRANT_MSG_LEN];
  memcpy(g->home, home->pub, GRANT_KEY_LEN);
  grant_msg(msg, identity_key, g);
  return crypto_sign(g->sig, msg, sizeof msg, home);
}

int grant_verify(const struct grant *g, const uint8_t identity_key[static 32]) {
  uint8_t msg[GRANT_MSG_LEN];
  grant_msg(msg, identity_key, g);
  return crypto_verify(g->sig, msg, sizeof msg, g->home) ? MOMEDO_E_BADSIG : 0;
}

int grant_from_msg(struct grant *out, const Momedo__PartnerGrant *m) {
  if (!m || m->home_node.len != GRANT_KEY_LEN || m->partner_node.len != GRANT_KEY_LEN ||
      m->signature.len != CRYPTO_SIG_LEN || m->expires_ms == 0)
    return MOMEDO_E_BOUNDS;
  memcpy(out->home, m->home_node.data, GRANT_KEY_LEN);
  memcpy(out->partner, m->partner_node.data, GRANT_KEY_LEN);
  out->expires_ms = m->expires_ms;
  memcpy(out->sig, m->signature.data, CRYPTO_SIG_LEN);
  return 0;
}

void grant_to_msg(Momedo__PartnerGrant *m, struct grant *g) {
  momedo__partner_grant__init(m);
  m->home_node = (ProtobufCBinaryData){GRANT_KEY_LEN, g->home};
  m->partner_node = (ProtobufCBinaryData){GRANT_KEY_LEN, g->partner};
  m->expires_ms = g->expires_ms;
  m->signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, g->sig};
}
