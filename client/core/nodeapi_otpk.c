/* client/core/nodeapi_otpk.c — the device-state requests of the node protocol (client.proto
 * PrekeyUploadReq / PrekeyClaimReq / StateCounterReq / PartnersReq): upload this device's
 * signed public prekeys to its home node, claim one of another device's, report the vault
 * save count, ask for partner grants. A claimed prekey whose signature by that device's
 * key does not verify is refused here (E_BADSIG): a node cannot slip in its own; one
 * claimed from another home node must also carry that node's signature over this
 * claim's random nonce (E_BADSIG otherwise: forged or replayed by a node on the way).
 * Portable: sockets only through the nodeapi transport. */
#include <stdio.h>
#include <string.h>

#include "nodeapi_int.h"
#include "otpk.h"

int nodeapi_prekey_upload(struct nodeapi *api, const struct otpk_pub *p, size_t n,
                          int replace, uint32_t *held) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__PrekeyUploadReq u = MOMEDO__PREKEY_UPLOAD_REQ__INIT;
  Momedo__OneTimePrekey m[OTPK_UPLOAD_MAX], *pm[OTPK_UPLOAD_MAX];
  const Momedo__ClientResponse *out = NULL;
  if (n > OTPK_UPLOAD_MAX) return MOMEDO_E_TOOBIG;
  for (size_t i = 0; i < n; i++) {
    momedo__one_time_prekey__init(&m[i]);
    m[i].id = p[i].id;
    m[i].key = (ProtobufCBinaryData){OTPK_KEY_LEN, (uint8_t *)p[i].key};
    m[i].signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, (uint8_t *)p[i].sig};
    pm[i] = &m[i];
  }
  u.n_prekeys = n;
  u.replace = replace != 0;
  u.prekeys = n ? pm : NULL;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_PREKEY_UPLOAD;
  req.prekey_upload = &u;
  int rc = nodeapi__call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_UPLOAD, &out);
  if (rc < 0) return rc;
  if (held) *held = out->prekey_upload->held;
  return 0;
}

/* Send claim q; 0 with *resp and out filled (*found) when a prekey came that device_key
 * signed, 0 and *found 0 when none came, E_BADSIG for one the device did not sign. */
static int claim_call(struct nodeapi *api, Momedo__PrekeyClaimReq *q,
                      const uint8_t device_key[static NODEAPI_KEY_LEN], struct otpk_pub *out,
                      int *found, const Momedo__PrekeyClaimResp **resp) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  const Momedo__ClientResponse *r = NULL;
  *found = 0;
  q->device_key = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)device_key};
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_PREKEY_CLAIM;
  req.prekey_claim = q;
  int rc = nodeapi__call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_CLAIM, &r);
  if (rc < 0) return rc;
  *resp = r->prekey_claim;
  const Momedo__OneTimePrekey *m = r->prekey_claim->prekey;
  if (!m) return 0;
  rc = otpk_from_msg(out, m, device_key, api->reason, sizeof api->reason);
  if (rc) {
    snprintf(api->reason, sizeof api->reason,
             "the node handed out a one-time prekey that the device did not sign");
    return rc;
  }
  *found = 1;
  return 0;
}

int nodeapi_prekey_claim(struct nodeapi *api, const uint8_t device_key[static NODEAPI_KEY_LEN],
                         struct otpk_pub *out, int *found) {
  Momedo__PrekeyClaimReq q = MOMEDO__PREKEY_CLAIM_REQ__INIT;
  const Momedo__PrekeyClaimResp *resp = NULL;
  return claim_call(api, &q, device_key, out, found, &resp);
}

int nodeapi_prekey_claim_from(struct nodeapi *api, const uint8_t device_key[static NODEAPI_KEY_LEN],
                              const uint8_t home_node[static NODEAPI_KEY_LEN],
                              struct otpk_pub *out, int *found) {
  Momedo__PrekeyClaimReq q = MOMEDO__PREKEY_CLAIM_REQ__INIT;
  const Momedo__PrekeyClaimResp *resp = NULL;
  uint8_t nonce[OTPK_NONCE_LEN];
  *found = 0;
  if (crypto_random(nonce, sizeof nonce) != 0) return MOMEDO_E_RNG;
  q.home_node = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)home_node};
  q.nonce = (ProtobufCBinaryData){sizeof nonce, nonce};
  int rc = claim_call(api, &q, device_key, out, found, &resp);
  if (rc || !*found) return rc;
  *found = 0;
  /* Only the home node can answer this claim (its key, from the user-signed bundle),
   * and only this one (the nonce): a node on the way cannot hand out a prekey it kept
   * from an earlier claim. */
  const ProtobufCBinaryData *hs = &resp->home_signature;
  if (hs->len != CRYPTO_SIG_LEN ||
      otpk_claimed_verify(hs->data, nonce, device_key, out, home_node) != 0) {
    snprintf(api->reason, sizeof api->reason,
             "one-time prekey %u did not come from the device's home node for this claim "
             "(its signature over the claim does not verify)", (unsigned)out->id);
    return MOMEDO_E_BADSIG;
  }
  *found = 1;
  return 0;
}

int nodeapi_partners(struct nodeapi *api, const Momedo__PartnersResp **resp) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__PartnersReq q = MOMEDO__PARTNERS_REQ__INIT;
  const Momedo__ClientResponse *out = NULL;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_PARTNERS;
  req.partners = &q;
  int rc = nodeapi__call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_PARTNERS, &out);
  if (rc < 0) return rc;
  rc = nodeapi__partners_ok(api, out->partners->partners, out->partners->n_partners);
  if (rc == 0) *resp = out->partners;
  return rc;
}

int nodeapi_state_counter(struct nodeapi *api, uint64_t count, uint64_t *last) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__StateCounterReq q = MOMEDO__STATE_COUNTER_REQ__INIT;
  const Momedo__ClientResponse *resp = NULL;
  q.counter = count;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_STATE_COUNTER;
  req.state_counter = &q;
  int rc = nodeapi__call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_STATE_COUNTER, &resp);
  if (rc < 0) return rc;
  *last = resp->state_counter->last;
  return 0;
}
