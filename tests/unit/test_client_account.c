/* Unit tests for client/core/account: key bundles that obj_validate accepts, version bumps,
 * prekey rotation, a second device learning the bundle, a linked device's prekey
 * published by the first device (and the forged, foreign and replayed ones it refuses),
 * partner grants (kept, renewed, carried while unexpired, when to ask again) and the
 * sealed record. */
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "arena.h"
#include "obj.h"
#include "vault.h"

#define NOW 1700000000000ull

static char dir[1024];

static void fresh_vault(struct vault *v, const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  char base[900], cmd[1200];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(dir, sizeof dir, "%s/acct-%s-%ld", base, name, (long)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0 || mkdir(dir, 0700) != 0) abort();
  if (vault_create(v, dir, "pw", 2, 10) != 0) abort();
}

static const uint8_t node_a[32] = {0xA1}, node_b[32] = {0xB2};

static void test_bundle_validates(void) {
  struct account a;
  uint8_t *b = NULL;
  size_t n = 0;
  struct obj_info info;
  CHECK_EQ(account_generate(&a, NOW), 0);
  CHECK_EQ(account_build_bundle(&a, NOW, &b, &n), MOMEDO_E_UNEXPECTED); /* no home yet */
  CHECK_EQ(account_set_home(&a, "127.0.0.1", 7000, node_a), 0);
  CHECK_EQ(account_add_partner(&a, "127.0.0.1", 7001, node_b), 0);
  CHECK_EQ(account_add_partner(&a, "127.0.0.1", 7001, node_b), 0); /* no duplicate */
  CHECK_EQ(a.n_nodes, 2);
  CHECK_EQ(account_build_bundle(&a, NOW, &b, &n), 0);
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, NOW, &info), 0);
  CHECK_EQ(info.version, 1);
  CHECK_MEM(info.key, a.identity.pub, 32);
  struct arena ar;
  ProtobufCMessage *m = NULL;
  arena_init(&ar, OBJ_DECODE_BYTES_MAX);
  CHECK_EQ(obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, &ar, &m), 0);
  const Momedo__KeyBundle *kb = (const Momedo__KeyBundle *)m;
  CHECK_EQ(kb->n_devices, 1);
  CHECK_EQ(kb->n_home_nodes, 2);
  CHECK_MEM(kb->home_nodes[0].data, node_a, 32);
  CHECK_MEM(kb->devices[0]->device_key.data, a.device.pub, 32);
  CHECK_MEM(kb->devices[0]->home_node.data, node_a, 32);
  CHECK_EQ(kb->devices[0]->prekey_id, a.prekeys[0].id);
  /* The first device publishes an ML-KEM-768 key with its prekey, under one signature:
   * the v1 message (the key stripped) does not verify. */
  CHECK_EQ(kb->devices[0]->pq_kem_alg, OBJ_PQ_KEM_MLKEM768);
  CHECK_EQ(kb->devices[0]->pq_kem_key.len, MLKEM768_EK_LEN);
  CHECK_MEM(kb->devices[0]->pq_kem_key.data, account_prekey_pq_pub(&a.prekeys[0]),
            MLKEM768_EK_LEN);
  CHECK_EQ(obj_prekey_verify_pq(kb->devices[0]->prekey_signature.data, kb->devices[0]->prekey_id,
                                kb->devices[0]->prekey_expires_ms,
                                kb->devices[0]->signed_prekey.data, kb->devices[0]->pq_kem_alg,
                                kb->devices[0]->pq_kem_key.data, kb->devices[0]->pq_kem_key.len,
                                a.device.pub),
           0);
  CHECK_EQ(obj_prekey_verify(kb->devices[0]->prekey_signature.data, kb->devices[0]->prekey_id,
                             kb->devices[0]->prekey_expires_ms,
                             kb->devices[0]->signed_prekey.data, a.device.pub),
           MOMEDO_E_BADSIG);

  /* A second device learns it and cannot sign a bundle itself. */
  struct account d2;
  CHECK_EQ(account_generate_device(&d2, a.identity.pub, NOW), 0);
  CHECK_EQ(account_learn_bundle(&d2, kb), 0);
  CHECK_EQ(d2.bundle_version, 1);
  CHECK_EQ(d2.n_devices, 1);
  uint8_t *b2 = NULL;
  size_t n2 = 0;
  CHECK_EQ(account_build_bundle(&d2, NOW, &b2, &n2), MOMEDO_E_DENIED);
  struct account other;
  CHECK_EQ(account_generate(&other, NOW), 0);
  CHECK_EQ(account_learn_bundle(&other, kb), MOMEDO_E_KEYCHANGED);
  arena_close(&ar);

  /* The first device adds the second: version 2, two devices, still valid. */
  CHECK_EQ(account_set_home(&d2, "127.0.0.1", 7001, node_b), 0);
  struct account_device dev2;
  account_self_device(&d2, &dev2);
  CHECK_EQ(account_put_device(&a, &dev2), 0);
  free(b);
  CHECK_EQ(account_build_bundle(&a, NOW + 1, &b, &n), 0);
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, NOW + 1, &info), 0);
  CHECK_EQ(info.version, 2);
  arena_init(&ar, OBJ_DECODE_BYTES_MAX);
  CHECK_EQ(obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, &ar, &m), 0);
  kb = (const Momedo__KeyBundle *)m;
  CHECK_EQ(kb->n_devices, 2);
  CHECK_EQ(account_learn_bundle(&d2, kb), 0);
  CHECK_EQ(d2.n_devices, 2);
  CHECK_EQ(d2.bundle_version, 2);
  arena_close(&ar);
  free(b);
  account_wipe(&a);
  account_wipe(&d2);
  account_wipe(&other);
}

static void test_prekey_rotation(void) {
  struct account a;
  int rotated = -1;
  CHECK_EQ(account_generate(&a, NOW), 0);
  uint32_t first = a.prekeys[0].id;
  CHECK(first != 0);
  CHECK_EQ(a.prekeys[0].expires_ms, NOW + ACCOUNT_PREKEY_LIFETIME_MS);
  CHECK_EQ(account_rotate_prekey(&a, NOW + ACCOUNT_PREKEY_ROTATE_MS - 1, 0, &rotated), 0);
  CHECK_EQ(rotated, 0);
  CHECK_EQ(account_rotate_prekey(&a, NOW + ACCOUNT_PREKEY_ROTATE_MS, 0, &rotated), 0);
  CHECK_EQ(rotated, 1);
  CHECK(a.prekeys[0].id != first);
  CHECK_EQ(a.prekeys[1].id, first);
  CHECK(account_prekey_find(&a, first) == &a.prekeys[1]);
  CHECK(account_prekey_find(&a, a.prekeys[0].id) == &a.prekeys[0]);
  CHECK(account_prekey_find(&a, 0) == NULL);
  CHECK_EQ(a.devices[0].prekey_id, a.prekeys[0].id); /* the bundle entry follows */
  uint8_t pub[32];
  CHECK_EQ(crypto_dh_public(pub, a.prekeys[0].sec), 0);
  CHECK_MEM(pub, a.prekeys[0].pub, 32);
  account_wipe(&a);
}

/* Build a's bundle at now and let d learn it (a linked device's view after a lookup). */
static void publish_to(struct account *a, struct account *d, uint64_t now) {
  uint8_t *b = NULL;
  size_t n = 0;
  struct arena ar;
  ProtobufCMessage *m = NULL;
  struct obj_info info;
  CHECK_EQ(account_build_bundle(a, now, &b, &n), 0);
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, now, &info), 0);
  arena_init(&ar, OBJ_DECODE_BYTES_MAX);
  CHECK_EQ(obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, &ar, &m), 0);
  CHECK_EQ(account_learn_bundle(d, (const Momedo__KeyBundle *)m), 0);
  arena_close(&ar);
  free(b);
}

/* A linked device rotates; its new prekey waits until the first device takes it (only
 * from a listed device, signed by that device, newer than the listed one) and
 * publishes it. */
static void test_linked_prekey(void) {
  struct account a, d, other;
  struct account_device dev;
  struct account_prekey_pub p, bad;
  int rotated = 0, changed = -1;
  uint64_t t = NOW + ACCOUNT_PREKEY_ROTATE_MS;
  CHECK_EQ(account_generate(&a, NOW), 0);
  CHECK_EQ(account_set_home(&a, "127.0.0.1", 7000, node_a), 0);
  CHECK_EQ(account_generate_device(&d, a.identity.pub, NOW), 0);
  CHECK_EQ(account_set_home(&d, "127.0.0.1", 7000, node_a), 0);
  CHECK_EQ(account_generate(&other, NOW), 0);
  account_self_device(&d, &dev);
  CHECK_EQ(account_put_device(&a, &dev), 0);
  publish_to(&a, &d, NOW);
  CHECK_EQ(account_prekey_pending(&d), 0);
  CHECK_EQ(account_prekey_pending(&a), 0);
  uint32_t listed = dev.prekey_id;

  /* The linked device rotates: its list keeps what the bundle says, so it waits. */
  CHECK_EQ(account_rotate_prekey(&d, t, 0, &rotated), 0);
  CHECK_EQ(rotated, 1);
  CHECK_EQ(account_prekey_pending(&d), 1);
  CHECK(account_prekey_find(&d, listed) != NULL); /* senders' prekey still opens */
  account_prekey_pub(&d, &p);
  CHECK(p.id != listed);

  /* Refused: not the first device; this device itself; another user's device; a
   * signature by another key (a node or anyone making one up); expired; longer-lived
   * than a new prekey could be. Nothing changes. */
  CHECK_EQ(account_take_prekey(&d, d.device.pub, &p, t, &changed), MOMEDO_E_DENIED);
  CHECK_EQ(account_take_prekey(&a, a.device.pub, &p, t, &changed), MOMEDO_E_INVAL);
  CHECK_EQ(account_take_prekey(&a, other.device.pub, &p, t, &changed), MOMEDO_E_NOTFOUND);
  bad = p;
  CHECK_EQ(obj_prekey_sign(bad.sig, bad.id, bad.expires_ms, bad.pub, &other.device), 0);
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &bad, t, &changed), MOMEDO_E_BADSIG);
  bad = p;
  bad.pub[0] ^= 1; /* the device's signature over another key */
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &bad, t, &changed), MOMEDO_E_BADSIG);
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &p, p.expires_ms, &changed), MOMEDO_E_EXPIRED);
  bad = p;
  bad.expires_ms = t + ACCOUNT_PREKEY_LIFETIME_MS + ACCOUNT_PREKEY_SKEW_MS + 1;
  CHECK_EQ(obj_prekey_sign(bad.sig, bad.id, bad.expires_ms, bad.pub, &d.device), 0);
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &bad, t, &changed), MOMEDO_E_BOUNDS);
  CHECK_EQ(a.bundle_due, 0);
  CHECK_EQ(a.devices[1].prekey_id, listed);

  /* The real one is taken and published; the linked device sees it listed. */
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &p, t, &changed), 0);
  CHECK_EQ(changed, 1);
  CHECK_EQ(a.bundle_due, 1);
  CHECK_EQ(a.devices[1].prekey_id, p.id);
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &p, t, &changed), 0); /* again: no change */
  CHECK_EQ(changed, 0);
  publish_to(&a, &d, t);
  CHECK_EQ(account_prekey_pending(&d), 0);
  CHECK_EQ(d.devices[1].prekey_id, p.id);

  /* A replay of the older announcement (validly signed by the device) is refused. */
  struct account_prekey_pub old;
  const struct account_prekey *pk = account_prekey_find(&d, listed);
  CHECK(pk != NULL);
  memcpy(old.pub, pk->pub, 32), old.id = pk->id, old.expires_ms = pk->expires_ms;
  memcpy(old.sig, pk->sig, CRYPTO_SIG_LEN);
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &old, t + 1, &changed), MOMEDO_E_SUPERSEDED);
  CHECK_EQ(a.devices[1].prekey_id, p.id);

  /* A removed device's announcement is refused. */
  CHECK_EQ(account_remove_device(&a, d.device.pub), 0);
  CHECK_EQ(account_rotate_prekey(&d, t + ACCOUNT_PREKEY_ROTATE_MS, 0, &rotated), 0);
  account_prekey_pub(&d, &p);
  CHECK_EQ(account_take_prekey(&a, d.device.pub, &p, t + ACCOUNT_PREKEY_ROTATE_MS, &changed),
           MOMEDO_E_NOTFOUND);
  account_wipe(&a);
  account_wipe(&d);
  account_wipe(&other);
}

static void test_save_load(void) {
  struct vault v;
  struct account a, b;
  fresh_vault(&v, "sl");
  CHECK_EQ(account_load(&b, &v), MOMEDO_E_NOTFOUND);
  CHECK_EQ(account_generate(&a, NOW), 0);
  CHECK_EQ(account_set_home(&a, "node.example", 443, node_a), 0);
  CHECK_EQ(account_add_partner(&a, "::1", 7443, node_b), 0);
  a.nodes[1].cursor = 42;
  a.joined = 1;
  snprintf(a.alias, sizeof a.alias, "49K492");
  int rotated;
  CHECK_EQ(account_rotate_prekey(&a, NOW, 1, &rotated), 0);
  a.bundle_due = 1;
  a.prekey_announced_ms = NOW + 5;
  CHECK_EQ(account_save(&a, &v), 0);
  CHECK_EQ(account_load(&b, &v), 0);
  CHECK_EQ(b.has_identity, 1);
  CHECK_MEM(b.identity.pub, a.identity.pub, 32);
  CHECK_MEM(b.identity.seed, a.identity.seed, 32);
  CHECK_MEM(b.device.pub, a.device.pub, 32);
  CHECK_MEM(b.dh_pub, a.dh_pub, 32);
  CHECK_EQ(b.prekeys[0].id, a.prekeys[0].id);
  CHECK_MEM(b.prekeys[1].pub, a.prekeys[1].pub, 32);
  CHECK_EQ(b.n_nodes, 2);
  CHECK_STR(b.nodes[0].host, "node.example");
  CHECK_EQ(b.nodes[1].port, 7443);
  CHECK_EQ(b.nodes[1].cursor, 42);
  CHECK_STR(b.alias, "49K492");
  CHECK_EQ(b.bundle_due, 1);
  CHECK_EQ(b.prekey_announced_ms, NOW + 5);
  CHECK_EQ(b.n_devices, a.n_devices);
  CHECK_MEM(&b.devices[0], &a.devices[0], sizeof a.devices[0]);
  /* A device without the identity secret stores none. */
  struct account d2, d3;
  CHECK_EQ(account_generate_device(&d2, a.identity.pub, NOW), 0);
  CHECK_EQ(account_save(&d2, &v), 0);
  CHECK_EQ(account_load(&d3, &v), 0);
  CHECK_EQ(d3.has_identity, 0);
  static const uint8_t zero[32];
  CHECK_MEM(d3.identity.seed, zero, 32);
  CHECK_MEM(d3.identity.pub, a.identity.pub, 32);
  account_wipe(&a);
  account_wipe(&b);
  account_wipe(&d2);
  account_wipe(&d3);
  vault_close(&v);
}

static void test_partner_grants(void) {
  struct vault v;
  struct account a, b;
  struct crypto_sign_keypair home;
  uint8_t seed[32], *out = NULL;
  size_t n = 0;
  int changed = 0;
  struct obj_checked ck;
  memset(seed, 0x5c, 32);
  CHECK_EQ(crypto_sign_from_seed(&home, seed), 0);
  CHECK_EQ(account_generate(&a, NOW), 0);
  CHECK_EQ(account_set_home(&a, "127.0.0.1", 7000, home.pub), 0);
  CHECK_EQ(account_add_partner(&a, "127.0.0.1", 7001, node_b), 0);
  CHECK_EQ(account_grants_due(&a, NOW), 1); /* never asked */
  struct grant g = {.expires_ms = NOW + 40ull * 24 * 3600 * 1000};
  memcpy(g.partner, node_b, 32);
  CHECK_EQ(grant_sign(&g, a.identity.pub, &home), 0);
  CHECK_EQ(account_put_grant(&a, &g, &changed), 0);
  CHECK_EQ(changed, 1);
  CHECK_EQ(account_put_grant(&a, &g, &changed), 0); /* the same again: nothing new */
  CHECK_EQ(changed, 0);
  struct grant older = g;
  older.expires_ms -= 1000;
  CHECK_EQ(account_put_grant(&a, &older, &changed), 0);
  CHECK_EQ(changed, 0);
  CHECK_EQ(a.n_grants, 1);
  CHECK_EQ(a.grants[0].expires_ms, g.expires_ms);
  a.grants_checked_ms = NOW;
  CHECK_EQ(account_grants_due(&a, NOW + 1000), 0);
  CHECK_EQ(account_grants_due(&a, NOW + ACCOUNT_GRANT_CHECK_MS), 1); /* a day later */
  CHECK_EQ(account_grants_due(&a, g.expires_ms - ACCOUNT_GRANT_RENEW_MS + 1), 1);
  /* The bundle carries it while it lasts, and it verifies for the partner. */
  CHECK_EQ(account_build_bundle(&a, NOW, &out, &n), 0);
  CHECK_EQ(obj_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, out, n, NOW, NULL, NULL, &ck), 0);
  free(out);
  CHECK_EQ(ck.bundle.n_grants, 1);
  CHECK_MEM(ck.bundle.grants[0].partner, node_b, 32);
  CHECK_EQ(grant_verify(&ck.bundle.grants[0], a.identity.pub), 0);
  CHECK_EQ(account_build_bundle(&a, g.expires_ms, &out, &n), 0);
  CHECK_EQ(obj_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, out, n, g.expires_ms, NULL, NULL, &ck),
           0);
  free(out);
  CHECK_EQ(ck.bundle.n_grants, 0); /* expired: left out */
  /* Sealed and read back. */
  fresh_vault(&v, "grants");
  CHECK_EQ(account_save(&a, &v), 0);
  CHECK_EQ(account_load(&b, &v), 0);
  CHECK_EQ(b.n_grants, 1);
  CHECK_MEM(&b.grants[0], &a.grants[0], sizeof a.grants[0]);
  CHECK_EQ(b.grants_checked_ms, NOW);
  account_wipe(&a);
  account_wipe(&b);
  vault_close(&v);
}

int main(void) {
  RUN(test_bundle_validates);
  RUN(test_prekey_rotation);
  RUN(test_linked_prekey);
  RUN(test_save_load);
  RUN(test_partner_grants);
  TEST_MAIN_END();
}
