/* client/core/engine_otpk.c — one-time prekeys in the message engine (docs/e2e.md): keep this
 * device's home node stocked (refill when it holds fewer than OTPKS_NODE_LOW: new
 * secrets are saved in the vault before their public halves leave the device), and claim
 * one for each recipient device of a new session from its home node — the node a send is
 * connected to, or another node through it (nodeapi_prekey_claim_from). A claim that
 * fails for any reason leaves the session on the signed prekey alone, as X3DH allows,
 * and says so in a notice event; a forged or replayed prekey is refused by its signatures. (The
 * signed prekey's rotation is in engine_prekey.c.) */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"
#include "hex.h"

int eng__otpk_refill(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  struct otpk_pub pub[OTPK_UPLOAD_MAX];
  uint32_t held = 0;
  if (cn->node != 0) return 0; /* only the home node hands them out */
  int rc = nodeapi_prekey_upload(&cn->api, NULL, 0, 0, &held);
  if (rc == MOMEDO_E_UNKNOWN_KIND) return 0; /* a node without one-time prekeys */
  if (rc) return eng_api_fail(c, cn, rc, "asking the home node for its one-time prekeys");
  if (held >= OTPKS_NODE_LOW) return 0;
  size_t want = OTPKS_NODE_TARGET - held;
  if ((rc = otpks_generate(&st->otpk, &st->acct.device, want, pub)) != 0)
    return eng_fail(c, rc, "cannot make one-time prekeys: %s", momedo_strerror(rc));
  if ((rc = eng_save(c, st)) != 0) return rc; /* the secrets before the public halves */
  rc = nodeapi_prekey_upload(&cn->api, pub, want, 0, &held);
  if (rc) return eng_api_fail(c, cn, rc, "uploading one-time prekeys");
  return 0;
}

void eng__otpk_claim(struct eng *c, struct eng_state *st, const struct account_device *d,
                     struct e2e_remote *r) {
  struct eng_conn *cn = st->claim;
  struct otpk_pub p;
  char dev[17];
  int found = 0, rc;
  if (!cn || !cn->open) return;
  hex_encode(dev, sizeof dev, d->device_key, 8);
  if (memcmp(d->home_node, cn->api.node_key, 32) == 0)
    rc = nodeapi_prekey_claim(&cn->api, d->device_key, &p, &found);
  else
    rc = nodeapi_prekey_claim_from(&cn->api, d->device_key, d->home_node, &p, &found);
  if (rc == 0 && found) {
    r->opk_id = p.id;
    memcpy(r->opk, p.key, 32);
    c->otpk_used++;
    return;
  }
  c->otpk_fallback++;
  if (rc == MOMEDO_E_BADSIG)
    eng__note(c, "momedo: WARNING: device %s: %s; sending without a one-time prekey\n", dev,
            nodeapi_reason(&cn->api));
  else if (rc)
    eng__note(c, "momedo: note: device %s: no one-time prekey (%s: %s); the first message "
            "uses the signed prekey alone\n", dev, momedo_status_name(rc),
            nodeapi_reason(&cn->api));
  else
    eng__note(c, "momedo: note: device %s: its home node holds no one-time prekey; the "
            "first message uses the signed prekey alone\n", dev);
}
