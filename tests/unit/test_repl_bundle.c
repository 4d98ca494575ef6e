/* tests/unit/test_repl_bundle.c — which key bundle a node keeps (issue 11, finding 5):
 * a newer version replaces an older one and an older one is refused; a revocation is
 * final (no later bundle replaces it, and it replaces any non-revoked bundle whatever
 * its version, so a thief holding the identity key cannot outrun it); and a device the
 * user removed for good (KeyBundle.removed_devices) stays removed: a later version must
 * keep every removed key. Every rule also holds after a restart of the engine. */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define BUNDLE MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE

static struct crypto_sign_keypair ident_kp, dev_kp, dev2_kp;

static struct repl_config quiet_cfg(void) {
  struct repl_config c;
  repl_config_default(&c);
  c.scope = REPL_SCOPE_FLOOD;
  c.recon_start_delay_ms_max = 0;
  return c;
}

struct world {
  struct store *mem;
  struct repl *r;
};

static int world_open(struct world *w) {
  struct repl_config cfg = quiet_cfg();
  if (store_mem_open(&w->mem) != 0) return -1;
  return repl_new(&cfg, w->mem, 1, TN_T0, &w->r);
}

static void world_close(struct world *w) {
  repl_free(w->r);
  store_close(w->mem);
}

/* Insert a bundle of ident_kp listing dev_kp. */
static int insert(struct world *w, uint64_t version, int revoked) {
  size_t bl = 0;
  uint8_t *b = tn_bundle(&ident_kp, &dev_kp, version, TN_T0, revoked, &bl);
  int rc = repl_insert_local(w->r, BUNDLE, b, bl, TN_T0, NULL);
  free(b);
  return rc;
}

/* The version and revoked flag of the bundle the node serves for ident_kp. */
static int served(struct world *w, uint64_t *version, int *revoked) {
  struct obj_info info;
  uint8_t *d = NULL;
  size_t dn = 0;
  int rc = repl_bundle_lookup(w->r, ident_kp.pub, &info, &d, &dn);
  free(d);
  *version = info.version;
  *revoked = info.revoked;
  return rc;
}

static void test_older_refused(void) {
  struct world w;
  uint64_t v;
  int rev;
  CHECK_EQ(world_open(&w), 0);
  CHECK_EQ(insert(&w, 5, 0), 0);
  CHECK_EQ(insert(&w, 4, 0), MOMEDO_E_SUPERSEDED);
  CHECK_EQ(insert(&w, 6, 0), 0);
  CHECK_EQ(served(&w, &v, &rev), 0);
  CHECK_EQ(v, 6);
  world_close(&w);
}

/* Attack: the user revoked the identity (its key was stolen); the thief signs a later,
 * non-revoked version. It must not replace the revocation, on this node or any other. */
static void test_revocation_final(void) {
  struct world w;
  uint64_t v;
  int rev;
  CHECK_EQ(world_open(&w), 0);
  CHECK_EQ(insert(&w, 1, 0), 0);
  CHECK_EQ(insert(&w, 2, 1), 0);
  CHECK_EQ(insert(&w, 3, 0), MOMEDO_E_SUPERSEDED);
  CHECK_EQ(served(&w, &v, &rev), 0);
  CHECK_EQ(v, 2);
  CHECK_EQ(rev, 1);
  /* Two revocations: the usual order, so every node keeps the same one. */
  CHECK_EQ(insert(&w, 7, 1), 0);
  CHECK_EQ(insert(&w, 6, 1), MOMEDO_E_SUPERSEDED);
  /* Still so after a restart. */
  struct repl_config cfg = quiet_cfg();
  repl_free(w.r);
  CHECK_EQ(repl_new(&cfg, w.mem, 2, TN_T0, &w.r), 0);
  CHECK_EQ(insert(&w, 1000, 0),
           MOMEDO_E_SUPERSEDED);
  CHECK_EQ(served(&w, &v, &rev), 0);
  CHECK_EQ(v, 7);
  world_close(&w);
}

/* Attack: the thief published a non-revoked bundle with a huge version first; the
 * user's revocation (signed with a smaller version) must still win. */
static void test_revocation_beats_any_version(void) {
  struct world w;
  uint64_t v;
  int rev;
  CHECK_EQ(world_open(&w), 0);
  CHECK_EQ(insert(&w, UINT64_MAX - 1, 0), 0);
  CHECK_EQ(insert(&w, 3, 1), 0);
  CHECK_EQ(served(&w, &v, &rev), 0);
  CHECK_EQ(rev, 1);
  CHECK_EQ(v, 3);
  world_close(&w);
}

/* A bundle of ident_kp listing devs[0..n) and removing rm[0..nr) (ascending). */
static uint8_t *bundle_rm(uint64_t version, const struct crypto_sign_keypair *const *devs,
                          size_t n, const uint8_t (*rm)[32], size_t nr, size_t *len) {
  static uint8_t dh[32], prekey[32], home[32], sig[2][CRYPTO_SIG_LEN];
  Momedo__DeviceKeys d[2], *dp[2];
  ProtobufCBinaryData hn = {32, home}, rmv[4];
  memset(dh, 0x11, 32), memset(prekey, 0x22, 32), memset(home, 0x33, 32);
  for (size_t i = 0; i < n; i++) {
    if (obj_prekey_sign(sig[i], 7, TN_T0 + 86400000, prekey, devs[i])) abort();
    momedo__device_keys__init(&d[i]);
    d[i].device_key = (ProtobufCBinaryData){32, (uint8_t *)devs[i]->pub};
    d[i].dh_key = (ProtobufCBinaryData){32, dh};
    d[i].signed_prekey = (ProtobufCBinaryData){32, prekey};
    d[i].prekey_id = 7;
    d[i].prekey_expires_ms = TN_T0 + 86400000;
    d[i].prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, sig[i]};
    d[i].home_node = (ProtobufCBinaryData){32, home};
    dp[i] = &d[i];
  }
  for (size_t i = 0; i < nr; i++) rmv[i] = (ProtobufCBinaryData){32, (uint8_t *)rm[i]};
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  b.format = 1;
  b.identity_key = (ProtobufCBinaryData){32, ident_kp.pub};
  b.version = version;
  b.created_ms = TN_T0;
  b.n_devices = n, b.devices = dp;
  b.n_home_nodes = 1, b.home_nodes = &hn;
  b.n_removed_devices = nr, b.removed_devices = rmv;
  uint8_t *out = NULL;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &ident_kp, &out, len))
    abort();
  return out;
}

static int insert_rm(struct world *w, uint64_t version,
                     const struct crypto_sign_keypair *const *devs, size_t n,
                     const uint8_t (*rm)[32], size_t nr) {
  size_t bl = 0;
  uint8_t *b = bundle_rm(version, devs, n, rm, nr, &bl);
  int rc = repl_insert_local(w->r, BUNDLE, b, bl, TN_T0, NULL);
  free(b);
  return rc;
}

/* Attack: the user removed a lost tablet (v2 lists only the phone and names the tablet
 * removed); a later version that lists the tablet again, or simply forgets it was
 * removed, is refused. A bundle that lists a removed device is malformed. */
static void test_removed_stays_removed(void) {
  struct world w;
  const struct crypto_sign_keypair *both[2] = {&dev_kp, &dev2_kp}, *phone[1] = {&dev_kp};
  uint8_t rm[1][32], junk[2][32];
  memcpy(rm[0], dev2_kp.pub, 32);
  memset(junk[0], 0x01, 32), memset(junk[1], 0x02, 32);
  CHECK_EQ(world_open(&w), 0);
  CHECK_EQ(insert_rm(&w, 1, both, 2, NULL, 0), 0);
  CHECK_EQ(insert_rm(&w, 2, phone, 1, rm, 1), 0);
  CHECK_EQ(insert_rm(&w, 3, both, 2, NULL, 0), MOMEDO_E_FORK);  /* the tablet is back */
  CHECK_EQ(insert_rm(&w, 3, phone, 1, NULL, 0), MOMEDO_E_FORK); /* forgot the removal */
  CHECK_EQ(insert_rm(&w, 3, both, 2, rm, 1), MOMEDO_E_BOUNDS);  /* listed and removed */
  /* Removing more keeps the rule; the list must be ascending. */
  uint8_t two[2][32];
  int lo = memcmp(junk[0], rm[0], 32) < 0;
  memcpy(two[lo ? 0 : 1], junk[0], 32), memcpy(two[lo ? 1 : 0], rm[0], 32);
  CHECK_EQ(insert_rm(&w, 3, phone, 1, two, 2), 0);
  uint8_t swapped[2][32];
  memcpy(swapped[0], two[1], 32), memcpy(swapped[1], two[0], 32);
  CHECK_EQ(insert_rm(&w, 4, phone, 1, swapped, 2), MOMEDO_E_BOUNDS);
  /* A revocation may drop everything (it ends the identity). */
  CHECK_EQ(insert(&w, 4, 1), 0);
  world_close(&w);
}

int main(void) {
  if (crypto_sign_keygen(&ident_kp) || crypto_sign_keygen(&dev_kp) ||
      crypto_sign_keygen(&dev2_kp))
    return 1;
  RUN(test_older_refused);
  RUN(test_revocation_final);
  RUN(test_revocation_beats_any_version);
  RUN(test_removed_stays_removed);
  TEST_MAIN_END();
}
