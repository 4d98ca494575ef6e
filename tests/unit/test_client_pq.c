/* test_client_pq — the hybrid suite (docs/crypto.md "Hybrid post-quantum sessions"):
 * suite-2 SK against a known answer (HKDF computed with Python `cryptography` from the
 * DHs, the ML-KEM secret and the hashes of key and ciphertext), round trips, a wrong KEM
 * secret, the KEM key in bundles (signature v2, stripping and swapping caught), the
 * downgrade rules, sessions with a peer without a KEM key, and a saved suite-2 session. */
#include "account.h"
#include "harness.h"
#include "obj.h"
#include "ratchet.h"
#include "x3dh.h"

#define NOW_MS 1700000000000ull
#define DAY_MS (24ull * 3600 * 1000)

/* One device; pq: it publishes an ML-KEM-768 key with its signed prekey. */
struct pdev {
  struct crypto_sign_keypair idk, dk;
  struct e2e_local local;
  struct e2e_prekey spk;
  uint8_t pq_ek[MLKEM768_EK_LEN], pq_dk[MLKEM768_DK_LEN];
  uint8_t sig[CRYPTO_SIG_LEN], home[32];
  Momedo__DeviceKeys keys;
  struct e2e_replay *rp;
};

static int pdev_make(struct pdev *d, uint32_t spk_id, int pq) {
  memset(d, 0, sizeof *d);
  if (crypto_sign_keygen(&d->idk) || crypto_sign_keygen(&d->dk)) return -1;
  memcpy(d->local.identity_key, d->idk.pub, 32);
  memcpy(d->local.device_key, d->dk.pub, 32);
  if (crypto_dh_keygen(d->local.dh_sec, d->local.dh_pub)) return -1;
  if (crypto_dh_keygen(d->spk.sec, d->spk.pub)) return -1;
  d->spk.id = spk_id;
  d->spk.expires_ms = NOW_MS + DAY_MS;
  if (pq && mlkem768_keygen(d->pq_ek, d->pq_dk)) return -1;
  d->spk.pq_dk = pq ? d->pq_dk : NULL;
  if (obj_prekey_sign_pq(d->sig, spk_id, d->spk.expires_ms, d->spk.pub, pq ? 1 : 0,
                         pq ? d->pq_ek : NULL, pq ? MLKEM768_EK_LEN : 0, &d->dk))
    return -1;
  momedo__device_keys__init(&d->keys);
  d->keys.device_key = (ProtobufCBinaryData){32, d->dk.pub};
  d->keys.dh_key = (ProtobufCBinaryData){32, d->local.dh_pub};
  d->keys.signed_prekey = (ProtobufCBinaryData){32, d->spk.pub};
  d->keys.prekey_id = spk_id;
  d->keys.prekey_expires_ms = d->spk.expires_ms;
  d->keys.prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, d->sig};
  d->keys.home_node = (ProtobufCBinaryData){32, d->home};
  if (pq) {
    d->keys.pq_kem_alg = OBJ_PQ_KEM_MLKEM768;
    d->keys.pq_kem_key = (ProtobufCBinaryData){MLKEM768_EK_LEN, d->pq_ek};
  }
  return e2e_replay_new(&d->rp, spk_id);
}

static void pdev_free(struct pdev *d) { e2e_replay_free(d->rp); }

/* A one-device bundle of d (unsigned: e2e_sender_check reads only its fields). */
static void bundle_of(Momedo__KeyBundle *b, Momedo__DeviceKeys **dp, struct pdev *d) {
  momedo__key_bundle__init(b);
  b->identity_key = (ProtobufCBinaryData){32, d->idk.pub};
  dp[0] = &d->keys;
  b->devices = dp;
  b->n_devices = 1;
}

static uint8_t msg_buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];

/* a starts a session with b and encrypts text; *env parsed from msg_buf. */
static int first(struct pdev *a, struct pdev *b, struct e2e_session **sa, const char *text,
                 struct e2e_envelope *env, size_t *len) {
  struct e2e_remote r;
  int rc = e2e_remote_from_device(&r, b->idk.pub, &b->keys, NOW_MS);
  if (rc == 0) rc = e2e_initiate(sa, &a->local, &r, NOW_MS);
  if (rc == 0)
    rc = e2e_encrypt(*sa, (const uint8_t *)text, strlen(text), msg_buf, sizeof msg_buf, len);
  if (rc == 0) rc = e2e_envelope_parse(env, msg_buf, *len);
  return rc;
}

static int accept_at(struct pdev *b, struct e2e_session **sb, struct e2e_sender *from,
                     const struct e2e_envelope *env, size_t *n) {
  return e2e_accept(sb, from, &b->local, &b->spk, NULL, b->rp, env, NOW_MS + 1000, pt,
                    sizeof pt, n);
}

/* Known answer: X25519 secrets 01..20, 21..40, 41..60, 61..80 (as test_client_x3dh), an
 * ML-KEM-768 key from d = 0x11*32, z = 0x22*32 and m = 0x33*32 (ML-KEM itself is
 * vector-tested in test_protocol_mlkem). Expected SK: Python `cryptography` HKDF-SHA-256
 * over 0xff*32 || DH1..DH3 || SS with info "momedo/x3dh/v2/X25519_MLKEM768" ||
 * SHA-256(ek) || SHA-256(ct), from the SS and hashes printed here. */
static void test_pq_sk_known_answer(void) {
  uint8_t ik_a[32], ek_a[32], ik_b[32], spk_b[32], pub[4][32], sk1[32], sk2[32], sk3[32];
  static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN];
  uint8_t d[32], z[32], m[32], want[32], h[32];
  for (int i = 0; i < 32; i++) {
    ik_a[i] = (uint8_t)(1 + i), ek_a[i] = (uint8_t)(33 + i), ik_b[i] = (uint8_t)(65 + i);
    spk_b[i] = (uint8_t)(97 + i);
  }
  memset(d, 0x11, 32);
  memset(z, 0x22, 32);
  memset(m, 0x33, 32);
  uint8_t *secs[4] = {ik_a, ek_a, ik_b, spk_b};
  for (int i = 0; i < 4; i++) CHECK_EQ(crypto_dh_public(pub[i], secs[i]), 0);
  mlkem768_keygen_derand(ek, dk, d, z);
  CHECK_EQ(x3dh_pq_sk_initiator(sk1, ct, ik_a, ek_a, pub[2], pub[3], NULL, ek, m), 0);
  CHECK_EQ(x3dh_pq_sk_responder(sk2, ik_b, spk_b, NULL, pub[0], pub[1], dk, ct), 0);
  CHECK_MEM(sk1, sk2, 32);
  CHECK_EQ(crypto_sha256(h, ek, sizeof ek), 0);
  th_unhex(want, 32, "6a96b600c40a86364372a45b52364acb3849aae5355be5ecc993186abc397309");
  if (getenv("PQ_KAT_PRINT")) {
    uint8_t ss[32], hc[32];
    CHECK_EQ(mlkem768_decaps(ss, ct, sizeof ct, dk, sizeof dk), 0);
    CHECK_EQ(crypto_sha256(hc, ct, sizeof ct), 0);
    const uint8_t *show[] = {h, hc, ss, sk1};
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 32; j++) printf("%02x", show[i][j]);
      printf("\n");
    }
  }
  CHECK_MEM(sk1, want, 32);
  /* Suite 1 of the same DHs differs (the KEM secret and the info are in). */
  CHECK_EQ(x3dh_sk_initiator(sk3, ik_a, ek_a, pub[2], pub[3], NULL), 0);
  CHECK(memcmp(sk3, sk1, 32) != 0);
  /* A ciphertext for another key: decapsulation gives the implicit-rejection secret,
   * so the SKs differ (the ratchet AEAD then fails). */
  static uint8_t ek2[MLKEM768_EK_LEN], dk2[MLKEM768_DK_LEN];
  mlkem768_keygen_derand(ek2, dk2, z, d);
  CHECK_EQ(x3dh_pq_sk_responder(sk2, ik_b, spk_b, NULL, pub[0], pub[1], dk2, ct), 0);
  CHECK(memcmp(sk1, sk2, 32) != 0);
}

static void test_hybrid_round_trip(void) {
  struct pdev a, b;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  size_t len, n;
  CHECK_EQ(pdev_make(&a, 1, 1), 0);
  CHECK_EQ(pdev_make(&b, 2, 1), 0);
  CHECK_EQ(first(&a, &b, &sa, "hello hybrid", &env, &len), 0);
  CHECK_EQ(len, E2E_PREKEY_PQ_PREFIX_LEN + E2E_HEADER_LEN + E2E_PAD_MIN + CRYPTO_TAG_LEN);
  CHECK_EQ(E2E_PREKEY_PQ_PREFIX_LEN - E2E_PREKEY_PREFIX_LEN, 1 + MLKEM768_CT_LEN);
  CHECK_EQ(env.type, E2E_TYPE_PREKEY_SUITE);
  CHECK_EQ(env.suite, E2E_SUITE_X25519_MLKEM768);
  CHECK(env.kem_ct == msg_buf + 3 + 32 + 8);
  CHECK_EQ(env.spk_id, 2);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), 0);
  CHECK_EQ(n, 12);
  CHECK_MEM(pt, "hello hybrid", 12);
  CHECK_EQ(from.suite, E2E_SUITE_X25519_MLKEM768);
  CHECK_EQ(from.pq_offered, 1);
  Momedo__KeyBundle ba;
  Momedo__DeviceKeys *dp[1];
  bundle_of(&ba, dp, &a);
  CHECK_EQ(e2e_sender_check(&ba, &from), 0);
  struct e2e_session_info ia, ib;
  e2e_session_get_info(sa, &ia);
  e2e_session_get_info(sb, &ib);
  CHECK_EQ(ia.suite, E2E_SUITE_X25519_MLKEM768);
  CHECK_EQ(ib.suite, E2E_SUITE_X25519_MLKEM768);
  /* A second pending message carries the same prefix and goes to Bob's session. */
  size_t l2;
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"two", 3, msg_buf, sizeof msg_buf, &l2), 0);
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, l2), 0);
  CHECK_EQ(e2e_session_matches(sb, &env), 1);
  CHECK_EQ(e2e_decrypt(sb, &env, pt, sizeof pt, &n), 0);
  CHECK_MEM(pt, "two", 3);
  /* Bob replies; Alice's next message is a plain one (no KEM bytes any more). */
  CHECK_EQ(e2e_encrypt(sb, (const uint8_t *)"hi", 2, msg_buf, sizeof msg_buf, &l2), 0);
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, l2), 0);
  CHECK_EQ(e2e_decrypt(sa, &env, pt, sizeof pt, &n), 0);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"ok", 2, msg_buf, sizeof msg_buf, &l2), 0);
  CHECK_EQ(l2, E2E_MESSAGE_PREFIX_LEN + E2E_HEADER_LEN + E2E_PAD_MIN + CRYPTO_TAG_LEN);
  e2e_session_free(sa);
  e2e_session_free(sb);
  pdev_free(&a);
  pdev_free(&b);
}

/* Bob holds another KEM secret than the one Alice encapsulated to, or the ciphertext,
 * the suite byte or the sealed block were changed: nothing opens. */
static void test_wrong_kem_secret(void) {
  struct pdev a, b, other;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  size_t len, n;
  CHECK_EQ(pdev_make(&a, 1, 1), 0);
  CHECK_EQ(pdev_make(&b, 2, 1), 0);
  CHECK_EQ(pdev_make(&other, 2, 1), 0);
  CHECK_EQ(first(&a, &b, &sa, "secret", &env, &len), 0);
  b.spk.pq_dk = other.pq_dk;
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), MOMEDO_E_DECRYPT);
  CHECK(sb == NULL);
  b.spk.pq_dk = NULL; /* a prekey published without a KEM key */
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), MOMEDO_E_NOTFOUND);
  b.spk.pq_dk = b.pq_dk;
  msg_buf[3 + 32 + 8 + 100] ^= 1; /* the KEM ciphertext */
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, len), 0);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), MOMEDO_E_DECRYPT);
  msg_buf[3 + 32 + 8 + 100] ^= 1;
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, len), 0);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), 0);
  CHECK_MEM(pt, "secret", 6);
  e2e_session_free(sb);
  e2e_session_free(sa);
  pdev_free(&a);
  pdev_free(&b);
  pdev_free(&other);
}

/* A node strips the KEM key from Bob's device entry (or swaps it, or relabels the
 * algorithm): the device key's signature over the prekey no longer verifies. */
static void test_bundle_strip_caught(void) {
  struct pdev b;
  struct e2e_remote r;
  CHECK_EQ(pdev_make(&b, 2, 1), 0);
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), 0);
  CHECK_EQ(r.pq_alg, OBJ_PQ_KEM_MLKEM768);
  CHECK_MEM(r.pq_key, b.pq_ek, MLKEM768_EK_LEN);
  Momedo__DeviceKeys keep = b.keys;
  b.keys.pq_kem_alg = 0;
  b.keys.pq_kem_key = (ProtobufCBinaryData){0, NULL};
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BADSIG);
  b.keys = keep;
  b.pq_ek[17] ^= 1; /* a key the node made up */
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BADSIG);
  b.pq_ek[17] ^= 1;
  b.keys.pq_kem_key.len = 1183;
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BOUNDS);
  b.keys.pq_kem_key.len = MLKEM768_EK_LEN;
  b.keys.pq_kem_alg = 2; /* a suite this build does not know */
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_VERSION);
  b.keys.pq_kem_alg = 1;
  /* A key that fails the FIPS 203 modulus check, properly signed: E_BADKEY. */
  b.pq_ek[0] = 0xff;
  b.pq_ek[1] |= 0x0f;
  CHECK_EQ(obj_prekey_sign_pq(b.sig, 2, b.spk.expires_ms, b.spk.pub, 1, b.pq_ek,
                              MLKEM768_EK_LEN, &b.dk), 0);
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BADKEY);
  /* The v1 and v2 messages differ: a v1 signature does not carry a KEM key. */
  CHECK_EQ(obj_prekey_sign(b.sig, 2, b.spk.expires_ms, b.spk.pub, &b.dk), 0);
  CHECK_EQ(obj_prekey_verify_pq(b.sig, 2, b.spk.expires_ms, b.spk.pub, 1, b.pq_ek,
                                MLKEM768_EK_LEN, b.dk.pub), MOMEDO_E_BADSIG);
  pdev_free(&b);
}

/* Both announced PQ: a suite-1 first message (the KEM part removed, or a sender that
 * ignored Bob's key) is refused with E_DOWNGRADE once the sender is known. A sender
 * without a KEM key (an older client) is accepted, and so is suite 1 to a prekey that
 * went out without one. */
static void test_downgrade_refused(void) {
  struct pdev a, b, old;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  Momedo__KeyBundle ba, bo;
  Momedo__DeviceKeys *dpa[1], *dpo[1];
  size_t len, n;
  CHECK_EQ(pdev_make(&a, 1, 1), 0);
  CHECK_EQ(pdev_make(&b, 2, 1), 0);
  CHECK_EQ(pdev_make(&old, 3, 0), 0);
  bundle_of(&ba, dpa, &a);
  bundle_of(&bo, dpo, &old);
  /* Alice pretends Bob has no KEM key (a stripped entry she did not check). */
  struct e2e_remote r;
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), 0);
  r.pq_alg = 0;
  CHECK_EQ(e2e_initiate(&sa, &a.local, &r, NOW_MS), 0);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"weak", 4, msg_buf, sizeof msg_buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, len), 0);
  CHECK_EQ(env.suite, E2E_SUITE_X25519);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), 0); /* opens: the sender is not known yet */
  CHECK_EQ(from.suite, E2E_SUITE_X25519);
  CHECK_EQ(from.pq_offered, 1);
  CHECK_EQ(e2e_sender_check(&ba, &from), MOMEDO_E_DOWNGRADE);
  CHECK_EQ(e2e_sender_suite_check(&from, OBJ_PQ_KEM_MLKEM768), MOMEDO_E_DOWNGRADE);
  e2e_session_free(sb);
  sb = NULL;
  e2e_session_free(sa);
  sa = NULL;
  /* The KEM part cut out of a real suite-2 first message (type 3 -> 1, ciphertext
   * removed): the sealed header and the ratchet AEAD authenticate the whole prefix. */
  CHECK_EQ(first(&a, &b, &sa, "strong", &env, &len), 0);
  static uint8_t cut[E2E_ENVELOPE_MAX];
  cut[0] = msg_buf[0];
  cut[1] = E2E_TYPE_PREKEY;
  memcpy(cut + 2, msg_buf + 3, 32 + 8);
  memcpy(cut + 42, msg_buf + 3 + 40 + MLKEM768_CT_LEN, len - (3 + 40 + MLKEM768_CT_LEN));
  size_t cut_len = len - 1 - MLKEM768_CT_LEN;
  CHECK_EQ(e2e_envelope_parse(&env, cut, cut_len), 0);
  CHECK_EQ(env.suite, E2E_SUITE_X25519);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), MOMEDO_E_DECRYPT);
  CHECK(sb == NULL);
  e2e_session_free(sa);
  sa = NULL;
  /* An older client (no KEM key in its bundle) writes suite 1 to Bob: accepted. */
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), 0);
  r.pq_alg = 0; /* what a client without the suite does with Bob's entry */
  CHECK_EQ(e2e_initiate(&sa, &old.local, &r, NOW_MS), 0);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"old", 3, msg_buf, sizeof msg_buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, len), 0);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), 0);
  CHECK_EQ(e2e_sender_check(&bo, &from), 0);
  e2e_session_free(sb);
  sb = NULL;
  e2e_session_free(sa);
  sa = NULL;
  /* Suite 1 to a prekey published without a KEM key: fine whatever the sender has. */
  b.spk.pq_dk = NULL;
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), 0);
  r.pq_alg = 0;
  CHECK_EQ(e2e_initiate(&sa, &a.local, &r, NOW_MS), 0);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"x", 1, msg_buf, sizeof msg_buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, len), 0);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), 0);
  CHECK_EQ(from.pq_offered, 0);
  CHECK_EQ(e2e_sender_check(&ba, &from), 0);
  e2e_session_free(sb);
  e2e_session_free(sa);
  pdev_free(&a);
  pdev_free(&b);
  pdev_free(&old);
}

/* A PQ-capable client and a peer without a KEM key: suite 1 both ways. */
static void test_old_peer_works(void) {
  struct pdev a, old;
  struct e2e_session *sa = NULL, *so = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  Momedo__KeyBundle ba;
  Momedo__DeviceKeys *dpa[1];
  size_t len, n;
  CHECK_EQ(pdev_make(&a, 1, 1), 0);
  CHECK_EQ(pdev_make(&old, 3, 0), 0);
  bundle_of(&ba, dpa, &a);
  CHECK_EQ(first(&a, &old, &sa, "to the old one", &env, &len), 0);
  CHECK_EQ(env.type, E2E_TYPE_PREKEY);
  CHECK_EQ(len, E2E_PREKEY_PREFIX_LEN + E2E_HEADER_LEN + E2E_PAD_MIN + CRYPTO_TAG_LEN);
  CHECK_EQ(accept_at(&old, &so, &from, &env, &n), 0);
  CHECK_MEM(pt, "to the old one", 14);
  CHECK_EQ(from.pq_offered, 0);
  CHECK_EQ(e2e_sender_check(&ba, &from), 0);
  struct e2e_session_info info;
  e2e_session_get_info(so, &info);
  CHECK_EQ(info.suite, E2E_SUITE_X25519);
  CHECK_EQ(e2e_encrypt(so, (const uint8_t *)"back", 4, msg_buf, sizeof msg_buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, len), 0);
  CHECK_EQ(e2e_decrypt(sa, &env, pt, sizeof pt, &n), 0);
  CHECK_MEM(pt, "back", 4);
  e2e_session_free(sa);
  e2e_session_free(so);
  pdev_free(&a);
  pdev_free(&old);
}

/* A pending suite-2 session survives save and load (its 1,251-byte prefix and suite),
 * and a damaged suite byte is refused. */
static void test_session_save_load(void) {
  struct pdev a, b;
  struct e2e_session *sa = NULL, *sl = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  size_t len, n, sn;
  uint8_t *saved = NULL;
  CHECK_EQ(pdev_make(&a, 1, 1), 0);
  CHECK_EQ(pdev_make(&b, 2, 1), 0);
  CHECK_EQ(first(&a, &b, &sa, "before", &env, &len), 0);
  CHECK_EQ(e2e_session_save(sa, &saved, &sn), 0);
  CHECK_EQ(e2e_session_load(&sl, saved, sn), 0);
  struct e2e_session_info info;
  e2e_session_get_info(sl, &info);
  CHECK_EQ(info.suite, E2E_SUITE_X25519_MLKEM768);
  CHECK(info.pending);
  CHECK_EQ(e2e_encrypt(sl, (const uint8_t *)"after", 5, msg_buf, sizeof msg_buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, msg_buf, len), 0);
  CHECK_EQ(env.type, E2E_TYPE_PREKEY_SUITE);
  CHECK_EQ(accept_at(&b, &sb, &from, &env, &n), 0);
  CHECK_MEM(pt, "after", 5);
  /* version(4+1) flags(1) ad(128) peer ids and dh(96) base key(32) spk_id(4): suite */
  size_t at = 4 + 1 + 1 + 128 + 96 + 32 + 4;
  CHECK_EQ(saved[at], E2E_SUITE_X25519_MLKEM768);
  free(saved);
  saved = NULL;
  e2e_session_free(sl);
  sl = NULL;
  CHECK_EQ(e2e_session_save(sa, &saved, &sn), 0);
  saved[at] = 7; /* unknown suite (checksum repaired) */
  CHECK_EQ(crypto_sha256(saved + sn - 32, saved, sn - 32), 0);
  CHECK_EQ(e2e_session_load(&sl, saved, sn), MOMEDO_E_VERSION);
  saved[at] = E2E_SUITE_X25519; /* suite 1 with a suite-2 prefix: lengths disagree */
  CHECK_EQ(crypto_sha256(saved + sn - 32, saved, sn - 32), 0);
  CHECK(e2e_session_load(&sl, saved, sn) != 0);
  CHECK(sl == NULL);
  free(saved);
  e2e_session_free(sa);
  e2e_session_free(sb);
  pdev_free(&a);
  pdev_free(&b);
}

/* The account: the first device publishes a KEM key with each prekey and rotates it with
 * the prekey; the bundle validates; a linked device publishes none; an account without
 * a KEM key (made before the suite) rotates at once. */
static void test_account_keys(void) {
  static struct account a, d2;
  uint8_t node[32] = {1}, *b = NULL;
  size_t n;
  int rotated;
  CHECK_EQ(account_generate(&a, NOW_MS), 0);
  CHECK_EQ(a.prekeys[0].pq_alg, OBJ_PQ_KEM_MLKEM768);
  CHECK_EQ(mlkem768_dk_check(a.prekeys[0].pq_dk, MLKEM768_DK_LEN), 0);
  CHECK_EQ(account_set_home(&a, "127.0.0.1", 1, node), 0);
  CHECK_EQ(account_build_bundle(&a, NOW_MS, &b, &n), 0);
  struct obj_info info;
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, NOW_MS, &info), 0);
  printf("bundle with one device: %zu bytes\n", n);
  free(b);
  uint8_t old_ek[MLKEM768_EK_LEN];
  memcpy(old_ek, account_prekey_pq_pub(&a.prekeys[0]), sizeof old_ek);
  CHECK_EQ(account_rotate_prekey(&a, NOW_MS + 1, 0, &rotated), 0);
  CHECK_EQ(rotated, 0);
  CHECK_EQ(account_rotate_prekey(&a, NOW_MS + 1, 1, &rotated), 0);
  CHECK_EQ(rotated, 1);
  CHECK_EQ(a.prekeys[0].pq_alg, OBJ_PQ_KEM_MLKEM768);
  CHECK(memcmp(old_ek, account_prekey_pq_pub(&a.prekeys[0]), sizeof old_ek) != 0);
  CHECK_MEM(old_ek, account_prekey_pq_pub(&a.prekeys[1]), sizeof old_ek); /* kept */
  CHECK_EQ(a.devices[0].pq_alg, OBJ_PQ_KEM_MLKEM768);
  CHECK_MEM(a.devices[0].pq_key, account_prekey_pq_pub(&a.prekeys[0]), MLKEM768_EK_LEN);
  /* An account from before the suite (no KEM key) rotates without waiting a week. */
  a.prekeys[0].pq_alg = OBJ_PQ_KEM_NONE;
  CHECK_EQ(account_rotate_prekey(&a, NOW_MS + 2, 0, &rotated), 0);
  CHECK_EQ(rotated, 1);
  CHECK_EQ(a.prekeys[0].pq_alg, OBJ_PQ_KEM_MLKEM768);
  CHECK_EQ(account_generate_device(&d2, a.identity.pub, NOW_MS), 0);
  CHECK_EQ(d2.prekeys[0].pq_alg, OBJ_PQ_KEM_NONE);
  CHECK_EQ(account_rotate_prekey(&d2, NOW_MS + 1, 0, &rotated), 0);
  CHECK_EQ(rotated, 0);
  account_wipe(&a);
  account_wipe(&d2);
}

int main(void) {
  RUN(test_pq_sk_known_answer);
  RUN(test_hybrid_round_trip);
  RUN(test_wrong_kem_secret);
  RUN(test_bundle_strip_caught);
  RUN(test_downgrade_refused);
  RUN(test_old_peer_works);
  RUN(test_session_save_load);
  RUN(test_account_keys);
  TEST_MAIN_END();
}
