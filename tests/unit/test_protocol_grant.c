/* Unit tests for partner grants (protocol/grant.h) and their place in key bundles: the
 * signed bytes written out independently, every field bound by the signature, the
 * bounds of one grant, and a bundle's grants checked by obj_check (at most
 * OBJ_PARTNER_GRANTS_MAX, each for one of its home nodes, no pair twice). */
#include "harness.h"

#include "cursor.h"
#include "grant.h"
#include "obj.h"

#define NOW 1700000000000ull
#define DAY_MS (24ull * 3600 * 1000)

static int keypair(struct crypto_sign_keypair *kp, uint8_t fill) {
  uint8_t seed[32];
  memset(seed, fill, sizeof seed);
  return crypto_sign_from_seed(kp, seed);
}

static void test_sign_verify_layout(void) {
  struct crypto_sign_keypair home, ident;
  struct grant g;
  CHECK_EQ(keypair(&home, 0x31), 0);
  CHECK_EQ(keypair(&ident, 0x11), 0);
  memset(&g, 0, sizeof g);
  memset(g.partner, 0x42, 32);
  g.expires_ms = NOW + DAY_MS;
  CHECK_EQ(grant_sign(&g, ident.pub, &home), 0);
  CHECK_MEM(g.home, home.pub, 32);
  CHECK_EQ(grant_verify(&g, ident.pub), 0);
  /* The signed bytes, spelled out here: domain || identity || home || partner || be64. */
  uint8_t msg[23 + 96 + 8];
  memcpy(msg, "momedo/partner-grant/v1", 23);
  memcpy(msg + 23, ident.pub, 32);
  memcpy(msg + 55, home.pub, 32);
  memset(msg + 87, 0x42, 32);
  for (int i = 0; i < 8; i++) msg[119 + i] = (uint8_t)(g.expires_ms >> (56 - 8 * i));
  CHECK_EQ(sizeof msg, GRANT_MSG_LEN);
  CHECK_EQ(crypto_verify(g.sig, msg, sizeof msg, home.pub), 0);
  /* Every field is bound: another user, partner, home, expiry or a changed signature. */
  struct grant t = g;
  CHECK_EQ(grant_verify(&t, home.pub), MOMEDO_E_BADSIG);
  t.partner[0] ^= 1;
  CHECK_EQ(grant_verify(&t, ident.pub), MOMEDO_E_BADSIG);
  t = g;
  t.expires_ms++;
  CHECK_EQ(grant_verify(&t, ident.pub), MOMEDO_E_BADSIG);
  t = g;
  memcpy(t.home, ident.pub, 32);
  CHECK_EQ(grant_verify(&t, ident.pub), MOMEDO_E_BADSIG);
  t = g;
  t.sig[63] ^= 0x80;
  CHECK_EQ(grant_verify(&t, ident.pub), MOMEDO_E_BADSIG);
}

static void test_from_msg_bounds(void) {
  struct grant g, out;
  Momedo__PartnerGrant m;
  memset(&g, 0x5a, sizeof g);
  g.expires_ms = NOW;
  grant_to_msg(&m, &g);
  CHECK_EQ(grant_from_msg(&out, &m), 0);
  CHECK_MEM(&out, &g, sizeof g);
  CHECK_EQ(grant_from_msg(&out, NULL), MOMEDO_E_BOUNDS);
  m.home_node.len = 31;
  CHECK_EQ(grant_from_msg(&out, &m), MOMEDO_E_BOUNDS);
  grant_to_msg(&m, &g);
  m.partner_node.len = 33;
  CHECK_EQ(grant_from_msg(&out, &m), MOMEDO_E_BOUNDS);
  grant_to_msg(&m, &g);
  m.signature.len = 0;
  CHECK_EQ(grant_from_msg(&out, &m), MOMEDO_E_BOUNDS);
  grant_to_msg(&m, &g);
  m.expires_ms = 0;
  CHECK_EQ(grant_from_msg(&out, &m), MOMEDO_E_BOUNDS);
}

/* A bundle of ident with one device, home nodes homes[0..nh) and the given grants. */
struct bfx {
  struct crypto_sign_keypair ident, dev, home;
  uint8_t spk[32], dh[32], psig[64], homes[3][32];
  struct grant g[OBJ_PARTNER_GRANTS_MAX + 1];
  Momedo__PartnerGrant gm[OBJ_PARTNER_GRANTS_MAX + 1], *gp[OBJ_PARTNER_GRANTS_MAX + 1];
};

static int bundle_check(struct bfx *f, size_t nh, size_t ng, struct obj_checked *ck) {
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT, *dp = &d;
  ProtobufCBinaryData homes[3];
  uint8_t *data = NULL;
  size_t len = 0;
  d.device_key = (ProtobufCBinaryData){32, f->dev.pub};
  d.dh_key = (ProtobufCBinaryData){32, f->dh};
  d.signed_prekey = (ProtobufCBinaryData){32, f->spk};
  d.prekey_id = 9;
  d.prekey_expires_ms = NOW + 30 * DAY_MS;
  int rc = obj_prekey_sign(f->psig, 9, d.prekey_expires_ms, f->spk, &f->dev);
  d.prekey_signature = (ProtobufCBinaryData){64, f->psig};
  d.home_node = (ProtobufCBinaryData){32, f->homes[0]};
  for (size_t i = 0; i < nh; i++) homes[i] = (ProtobufCBinaryData){32, f->homes[i]};
  for (size_t i = 0; i < ng; i++) {
    grant_to_msg(&f->gm[i], &f->g[i]);
    f->gp[i] = &f->gm[i];
  }
  b.format = OBJ_FORMAT;
  b.identity_key = (ProtobufCBinaryData){32, f->ident.pub};
  b.version = 1;
  b.created_ms = NOW - 1000;
  b.n_devices = 1;
  b.devices = &dp;
  b.n_home_nodes = nh;
  b.home_nodes = homes;
  b.n_partner_grants = ng;
  b.partner_grants = f->gp;
  if (rc == 0)
    rc = obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &f->ident, &data, &len);
  if (rc == 0)
    rc = obj_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, data, len, NOW, NULL, NULL, ck);
  free(data);
  return rc;
}

static void test_bundle_grants(void) {
  static struct bfx f;
  static struct obj_checked ck;
  memset(&f, 0, sizeof f);
  CHECK_EQ(keypair(&f.ident, 0x11), 0);
  CHECK_EQ(keypair(&f.dev, 0x22), 0);
  CHECK_EQ(keypair(&f.home, 0x33), 0);
  memset(f.spk, 0x44, 32);
  memset(f.dh, 0x45, 32);
  memcpy(f.homes[0], f.home.pub, 32);
  memset(f.homes[1], 0x77, 32);
  memset(f.homes[2], 0x78, 32);
  CHECK_EQ(bundle_check(&f, 2, 0, &ck), 0); /* no grants: as before */
  CHECK_EQ(ck.bundle.n_grants, 0);
  memcpy(f.g[0].partner, f.homes[1], 32);
  f.g[0].expires_ms = NOW + DAY_MS;
  CHECK_EQ(grant_sign(&f.g[0], f.ident.pub, &f.home), 0);
  CHECK_EQ(bundle_check(&f, 2, 1, &ck), 0);
  CHECK_EQ(ck.bundle.n_grants, 1);
  CHECK_MEM(&ck.bundle.grants[0], &f.g[0], sizeof f.g[0]);
  CHECK_EQ(grant_verify(&ck.bundle.grants[0], f.ident.pub), 0);
  /* A grant for a node the bundle does not name as a home node. */
  CHECK_EQ(bundle_check(&f, 1, 1, &ck), MOMEDO_E_BOUNDS);
  /* The same (home, partner) twice, even with another expiry. */
  f.g[1] = f.g[0];
  f.g[1].expires_ms++;
  CHECK_EQ(bundle_check(&f, 2, 2, &ck), MOMEDO_E_BOUNDS);
  /* Another partner is fine; more than OBJ_PARTNER_GRANTS_MAX are not. */
  memcpy(f.g[1].partner, f.homes[2], 32);
  CHECK_EQ(bundle_check(&f, 3, 2, &ck), 0);
  for (size_t i = 2; i <= OBJ_PARTNER_GRANTS_MAX; i++) {
    f.g[i] = f.g[0];
    f.g[i].home[0] = (uint8_t)i; /* distinct pairs, unsigned: bounds come first */
  }
  CHECK_EQ(bundle_check(&f, 3, OBJ_PARTNER_GRANTS_MAX, &ck), 0);
  CHECK_EQ(bundle_check(&f, 3, OBJ_PARTNER_GRANTS_MAX + 1, &ck), MOMEDO_E_BOUNDS);
}

int main(void) {
  RUN(test_sign_verify_layout);
  RUN(test_from_msg_bounds);
  RUN(test_bundle_grants);
  TEST_MAIN_END();
}
