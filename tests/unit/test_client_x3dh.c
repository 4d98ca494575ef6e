/* test_client_x3dh — X3DH agreement (known-answer SK from an independent computation),
 * signed prekey checks, the sealed-sender first message, the replay set, sender
 * binding to the bundle and the envelope parser. */
#include "cursor.h"
#include "e2e.h"
#include "harness.h"
#include "obj.h"

#define NOW_MS 1700000000000ull
#define DAY_MS (24ull * 3600 * 1000)

struct dev {
  struct crypto_sign_keypair idk, dk;
  struct e2e_local local;
  struct e2e_prekey spk;
  uint8_t spk_sig[CRYPTO_SIG_LEN];
  Momedo__DeviceKeys keys;
  uint8_t home[32];
  struct e2e_replay *rp;
};

static int dev_make(struct dev *d, uint32_t spk_id, uint64_t expires_ms) {
  memset(d, 0, sizeof *d);
  if (crypto_sign_keygen(&d->idk) || crypto_sign_keygen(&d->dk)) return -1;
  memcpy(d->local.identity_key, d->idk.pub, 32);
  memcpy(d->local.device_key, d->dk.pub, 32);
  if (crypto_dh_keygen(d->local.dh_sec, d->local.dh_pub)) return -1;
  if (crypto_dh_keygen(d->spk.sec, d->spk.pub)) return -1;
  d->spk.id = spk_id;
  d->spk.expires_ms = expires_ms;
  if (obj_prekey_sign(d->spk_sig, spk_id, expires_ms, d->spk.pub, &d->dk)) return -1;
  momedo__device_keys__init(&d->keys);
  d->keys.device_key = (ProtobufCBinaryData){32, d->dk.pub};
  d->keys.dh_key = (ProtobufCBinaryData){32, d->local.dh_pub};
  d->keys.signed_prekey = (ProtobufCBinaryData){32, d->spk.pub};
  d->keys.prekey_id = spk_id;
  d->keys.prekey_expires_ms = expires_ms;
  d->keys.prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, d->spk_sig};
  d->keys.home_node = (ProtobufCBinaryData){32, d->home};
  return e2e_replay_new(&d->rp, spk_id);
}

static void dev_free(struct dev *d) { e2e_replay_free(d->rp); }

static int memmem_has(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn) {
  for (size_t i = 0; i + nn <= hn; i++)
    if (memcmp(h + i, n, nn) == 0) return 1;
  return 0;
}

/* Known answer: secrets 01..20, 21..40, 41..60, 61..80, 81..a0 (hex ranges); SK computed
 * with Python `cryptography` (X25519 + HKDF-SHA-256), independently of this code. */
static void test_sk_known_answer(void) {
  uint8_t ik_a[32], ek_a[32], ik_b[32], spk_b[32], opk_b[32], pub[5][32], sk1[32], sk2[32];
  uint8_t want3[32], want4[32];
  for (int i = 0; i < 32; i++) {
    ik_a[i] = (uint8_t)(1 + i), ek_a[i] = (uint8_t)(33 + i), ik_b[i] = (uint8_t)(65 + i);
    spk_b[i] = (uint8_t)(97 + i), opk_b[i] = (uint8_t)(129 + i);
  }
  uint8_t *secs[5] = {ik_a, ek_a, ik_b, spk_b, opk_b};
  for (int i = 0; i < 5; i++) CHECK_EQ(crypto_dh_public(pub[i], secs[i]), 0);
  uint8_t want_pub[32];
  th_unhex(want_pub, 32, "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
  CHECK_MEM(pub[0], want_pub, 32);
  th_unhex(want3, 32, "ef983930aeadf7be94536b32144a0c93c192b2f62a9dd2a0a2a3211e349d4dbe");
  th_unhex(want4, 32, "e91aebc611787689737c4b26b9702a6c2120f211aa688b197baec2d193fbb947");
  CHECK_EQ(x3dh_sk_initiator(sk1, ik_a, ek_a, pub[2], pub[3], NULL), 0);
  CHECK_EQ(x3dh_sk_responder(sk2, ik_b, spk_b, NULL, pub[0], pub[1]), 0);
  CHECK_MEM(sk1, want3, 32);
  CHECK_MEM(sk2, want3, 32);
  CHECK_EQ(x3dh_sk_initiator(sk1, ik_a, ek_a, pub[2], pub[3], pub[4]), 0);
  CHECK_EQ(x3dh_sk_responder(sk2, ik_b, spk_b, opk_b, pub[0], pub[1]), 0);
  CHECK_MEM(sk1, want4, 32);
  CHECK_MEM(sk2, want4, 32);
  /* A different signed prekey on one side gives a different key. */
  CHECK_EQ(x3dh_sk_responder(sk2, ik_b, opk_b, NULL, pub[0], pub[1]), 0);
  CHECK(memcmp(sk2, want3, 32) != 0);
  /* A low-order peer key is refused. */
  uint8_t zero[32] = {0};
  CHECK_EQ(x3dh_sk_initiator(sk1, ik_a, ek_a, zero, pub[3], NULL), MOMEDO_E_BADKEY);
}

static void test_prekey_checks(void) {
  struct dev b;
  struct e2e_remote r;
  CHECK_EQ(dev_make(&b, 7, NOW_MS + 7 * DAY_MS), 0);
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), 0);
  CHECK_EQ(r.spk_id, 7);
  CHECK_MEM(r.spk, b.spk.pub, 32);
  CHECK_MEM(r.dh_key, b.local.dh_pub, 32);
  b.spk_sig[5] ^= 1;
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BADSIG);
  b.spk_sig[5] ^= 1;
  b.spk.pub[0] ^= 1; /* a substituted prekey */
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BADSIG);
  b.spk.pub[0] ^= 1;
  b.keys.prekey_id = 8; /* the id is signed too */
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BADSIG);
  b.keys.prekey_id = 7;
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS + 7 * DAY_MS),
           MOMEDO_E_EXPIRED);
  b.keys.dh_key.len = 31;
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), MOMEDO_E_BOUNDS);
  b.keys.dh_key.len = 32;
  /* The sender refuses to start against an expired prekey. */
  struct dev a;
  struct e2e_session *s = NULL;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), 0);
  CHECK_EQ(e2e_initiate(&s, &a.local, &r, NOW_MS + 7 * DAY_MS), MOMEDO_E_EXPIRED);
  CHECK(s == NULL);
  dev_free(&a);
  dev_free(&b);
}

/* Alice's first message to Bob; returns the envelope in env_buf. */
static int first_message(struct dev *a, struct dev *b, uint64_t now_ms, const char *text,
                         struct e2e_session **sa, uint8_t *env_buf, size_t *env_len) {
  struct e2e_remote r;
  int rc = e2e_remote_from_device(&r, b->idk.pub, &b->keys, now_ms);
  if (rc == 0) rc = e2e_initiate(sa, &a->local, &r, now_ms);
  if (rc == 0)
    rc = e2e_encrypt(*sa, (const uint8_t *)text, strlen(text), env_buf, E2E_ENVELOPE_MAX, env_len);
  return rc;
}

static void test_first_message(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL, *sb = NULL, *sb2 = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS, "hello bob", &sa, buf, &len), 0);
  CHECK_EQ(len, E2E_PREKEY_PREFIX_LEN + E2E_HEADER_LEN + 9 + CRYPTO_TAG_LEN);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(env.type, E2E_TYPE_PREKEY);
  CHECK_EQ(env.spk_id, 2);
  CHECK_EQ(env.opk_id, 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS + 1000, pt,
                      sizeof pt, &pt_len), 0);
  CHECK_EQ(pt_len, 9);
  CHECK_MEM(pt, "hello bob", 9);
  CHECK_MEM(from.identity_key, a.idk.pub, 32);
  CHECK_MEM(from.device_key, a.dk.pub, 32);
  CHECK_MEM(from.dh_key, a.local.dh_pub, 32);
  CHECK_EQ(from.created_ms, NOW_MS);
  struct e2e_session_info ia, ib;
  e2e_session_get_info(sa, &ia);
  e2e_session_get_info(sb, &ib);
  CHECK_MEM(ia.base_key, ib.base_key, 32);
  CHECK_MEM(ib.peer_identity, a.idk.pub, 32);
  CHECK_MEM(ia.peer_device, b.dk.pub, 32);
  CHECK(ia.initiator && !ib.initiator && ia.pending && !ib.pending);
  /* Bob replies; Alice leaves the pending state; her next message is a plain one. */
  CHECK_EQ(e2e_encrypt(sb, (const uint8_t *)"hi", 2, buf, sizeof buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(env.type, E2E_TYPE_MESSAGE);
  CHECK_EQ(e2e_session_matches(sa, &env), 1);
  CHECK_EQ(e2e_decrypt(sa, &env, pt, sizeof pt, &pt_len), 0);
  CHECK_MEM(pt, "hi", 2);
  e2e_session_get_info(sa, &ia);
  CHECK(!ia.pending);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"ok", 2, buf, sizeof buf, &len), 0);
  CHECK_EQ(buf[1], E2E_TYPE_MESSAGE);
  CHECK_EQ(len, E2E_MESSAGE_PREFIX_LEN + E2E_HEADER_LEN + 2 + CRYPTO_TAG_LEN);
  (void)sb2;
  e2e_session_free(sa);
  e2e_session_free(sb);
  dev_free(&a);
  dev_free(&b);
}

/* Second prekey messages (before any reply) go to the existing session via its tag. */
static void test_prekey_messages_until_reply(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL, *sb = NULL, *sx = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  static uint8_t m0[E2E_ENVELOPE_MAX], m1[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t l0, l1, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS, "zero", &sa, m0, &l0), 0);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"one", 3, m1, sizeof m1, &l1), 0);
  CHECK_EQ(m1[1], E2E_TYPE_PREKEY);
  CHECK_MEM(m0, m1, E2E_PREKEY_PREFIX_LEN); /* same X3DH header, computed once */
  /* m1 arrives first: it creates the session. */
  CHECK_EQ(e2e_envelope_parse(&env, m1, l1), 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), 0);
  CHECK_MEM(pt, "one", 3);
  CHECK_EQ(e2e_sender_check(&(Momedo__KeyBundle)MOMEDO__KEY_BUNDLE__INIT, &from),
           MOMEDO_E_KEYCHANGED);
  CHECK_EQ(e2e_replay_add(b.rp, &env, from.created_ms), 0);
  /* m0 matches the session and decrypts from a skipped key; accept would refuse it. */
  CHECK_EQ(e2e_envelope_parse(&env, m0, l0), 0);
  CHECK_EQ(e2e_session_matches(sb, &env), 1);
  CHECK_EQ(e2e_accept(&sx, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), MOMEDO_E_EXISTS);
  CHECK(sx == NULL);
  CHECK_EQ(e2e_decrypt(sb, &env, pt, sizeof pt, &pt_len), 0);
  CHECK_MEM(pt, "zero", 4);
  CHECK_EQ(e2e_decrypt(sb, &env, pt, sizeof pt, &pt_len), MOMEDO_E_EXISTS);
  e2e_session_free(sa);
  e2e_session_free(sb);
  dev_free(&a);
  dev_free(&b);
}

static void test_identity_not_in_envelope(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS, "who am I", &sa, buf, &len), 0);
  const uint8_t *keys[] = {a.idk.pub, a.dk.pub, a.local.dh_pub, b.idk.pub, b.dk.pub};
  for (int k = 0; k < 5; k++) CHECK(!memmem_has(buf, len, keys[k], 32));
  for (int k = 0; k < 5; k++) CHECK(!memmem_has(buf, len, keys[k], 8)); /* not even a part */
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), 0);
  for (int i = 0; i < 4; i++) { /* later messages in both directions */
    struct e2e_session *src = i % 2 ? sa : sb, *dst = i % 2 ? sb : sa;
    CHECK_EQ(e2e_encrypt(src, (const uint8_t *)"x", 1, buf, sizeof buf, &len), 0);
    for (int k = 0; k < 5; k++) CHECK(!memmem_has(buf, len, keys[k], 8));
    CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
    CHECK_EQ(e2e_decrypt(dst, &env, pt, sizeof pt, &pt_len), 0);
  }
  e2e_session_free(sa);
  e2e_session_free(sb);
  dev_free(&a);
  dev_free(&b);
}

static void test_replayed_first_message(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS, "once", &sa, buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), 0);
  CHECK_EQ(e2e_replay_add(b.rp, &env, from.created_ms), 0);
  CHECK_EQ(e2e_replay_add(b.rp, &env, from.created_ms), MOMEDO_E_EXISTS);
  e2e_session_free(sb);
  sb = NULL;
  /* The session was lost (or never stored): a replay must not create a new one. */
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), MOMEDO_E_EXISTS);
  CHECK(sb == NULL);
  /* The replay set survives a restart. */
  uint8_t *saved = NULL;
  size_t saved_len = 0;
  struct e2e_replay *rp2 = NULL;
  CHECK_EQ(e2e_replay_save(b.rp, &saved, &saved_len), 0);
  CHECK_EQ(e2e_replay_load(&rp2, saved, saved_len), 0);
  CHECK_EQ(e2e_replay_count(rp2), 1);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, rp2, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), MOMEDO_E_EXISTS);
  for (size_t i = 0; i < saved_len; i++) { /* every corrupted byte is refused */
    struct e2e_replay *bad = NULL;
    saved[i] ^= 0x10;
    int rc = e2e_replay_load(&bad, saved, saved_len);
    saved[i] ^= 0x10;
    CHECK_EQ(rc, MOMEDO_E_CORRUPT);
    CHECK(bad == NULL);
  }
  for (size_t n = 0; n < saved_len; n++) {
    struct e2e_replay *bad = NULL;
    CHECK(e2e_replay_load(&bad, saved, n) < 0);
    CHECK(bad == NULL);
  }
  free(saved);
  e2e_replay_free(rp2);
  e2e_session_free(sa);
  dev_free(&a);
  dev_free(&b);
}

/* A full replay set evicts its oldest entry and raises the watermark: first messages
 * created at or before it are refused even though their EK_A is no longer listed. */
static void test_replay_watermark(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env, fake;
  struct e2e_sender from;
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  uint8_t ek[32];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS + 5, "late", &sa, buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  memset(&fake, 0, sizeof fake);
  fake.type = E2E_TYPE_PREKEY;
  fake.spk_id = 2;
  fake.ek = ek;
  for (uint32_t i = 0; i <= E2E_REPLAY_MAX; i++) {
    memset(ek, 0, sizeof ek);
    be32_put(ek, i + 1);
    CHECK_EQ(e2e_replay_add(b.rp, &fake, NOW_MS + (i == 0 ? 5 : 10)), 0);
  }
  CHECK_EQ(e2e_replay_count(b.rp), E2E_REPLAY_MAX);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS + 100, pt,
                      sizeof pt, &pt_len), MOMEDO_E_EXPIRED);
  CHECK(sb == NULL);
  fake.spk_id = 3;
  CHECK_EQ(e2e_replay_add(b.rp, &fake, NOW_MS), MOMEDO_E_INVAL);
  e2e_session_free(sa);
  dev_free(&a);
  dev_free(&b);
}

static void test_first_message_time_rules(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  /* Sender's clock an hour ahead of the recipient's. */
  CHECK_EQ(first_message(&a, &b, NOW_MS + 3600 * 1000, "future", &sa, buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), MOMEDO_E_FUTURE);
  /* Within the skew it is fine. */
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS + 3599 * 1000,
                      pt, sizeof pt, &pt_len), 0);
  e2e_session_free(sb);
  sb = NULL;
  /* Our prekey told the sender it expires; a message created after that is refused. */
  b.spk.expires_ms = NOW_MS;
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS + 3600 * 1000,
                      pt, sizeof pt, &pt_len), MOMEDO_E_EXPIRED);
  b.spk.id = 9;
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), MOMEDO_E_INVAL);
  CHECK(sb == NULL);
  e2e_session_free(sa);
  dev_free(&a);
  dev_free(&b);
}

static void test_sender_check(void) {
  struct dev a, a2, b;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&a2, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS, "m", &sa, buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), 0);
  Momedo__KeyBundle kb = MOMEDO__KEY_BUNDLE__INIT;
  Momedo__DeviceKeys *devs[2] = {&a2.keys, &a.keys};
  kb.identity_key = (ProtobufCBinaryData){32, a.idk.pub};
  kb.devices = devs;
  kb.n_devices = 2;
  CHECK_EQ(e2e_sender_check(&kb, &from), 0);
  kb.n_devices = 1; /* only the other device */
  CHECK_EQ(e2e_sender_check(&kb, &from), MOMEDO_E_NOTFOUND);
  kb.n_devices = 2;
  kb.identity_key.data = a2.idk.pub;
  CHECK_EQ(e2e_sender_check(&kb, &from), MOMEDO_E_KEYCHANGED);
  kb.identity_key.data = a.idk.pub;
  kb.revoked = 1;
  CHECK_EQ(e2e_sender_check(&kb, &from), MOMEDO_E_DEAD);
  kb.revoked = 0;
  from.dh_key[0] ^= 1; /* the device's agreement key must be the one in the bundle */
  CHECK_EQ(e2e_sender_check(&kb, &from), MOMEDO_E_NOTFOUND);
  e2e_session_free(sa);
  e2e_session_free(sb);
  dev_free(&a);
  dev_free(&a2);
  dev_free(&b);
}

/* Every single-byte change to a first message is refused and creates no session. */
static void test_first_message_tamper(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS, "tamper me", &sa, buf, &len), 0);
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 0x01;
    int rc = e2e_envelope_parse(&env, buf, len);
    if (rc == 0)
      rc = e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len);
    buf[i] ^= 0x01;
    CHECK(rc < 0);
    CHECK(sb == NULL);
  }
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), 0);
  e2e_session_free(sa);
  e2e_session_free(sb);
  dev_free(&a);
  dev_free(&b);
}

static void test_one_time_prekey(void) {
  struct dev a, b;
  struct e2e_remote r;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  uint8_t opk_sec[32];
  static uint8_t buf[E2E_ENVELOPE_MAX], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(e2e_remote_from_device(&r, b.idk.pub, &b.keys, NOW_MS), 0);
  CHECK_EQ(crypto_dh_keygen(opk_sec, r.opk), 0);
  r.opk_id = 77;
  CHECK_EQ(e2e_initiate(&sa, &a.local, &r, NOW_MS), 0);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"opk", 3, buf, sizeof buf, &len), 0);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(env.opk_id, 77);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, NULL, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), MOMEDO_E_NOTFOUND);
  uint8_t wrong[32];
  memcpy(wrong, opk_sec, 32);
  wrong[3] ^= 1;
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, wrong, b.rp, &env, NOW_MS, pt, sizeof pt,
                      &pt_len), MOMEDO_E_DECRYPT);
  CHECK_EQ(e2e_accept(&sb, &from, &b.local, &b.spk, opk_sec, b.rp, &env, NOW_MS, pt,
                      sizeof pt, &pt_len), 0);
  CHECK_MEM(pt, "opk", 3);
  e2e_session_free(sa);
  e2e_session_free(sb);
  dev_free(&a);
  dev_free(&b);
}

static void test_envelope_parser(void) {
  struct dev a, b;
  struct e2e_session *sa = NULL;
  struct e2e_envelope env;
  static uint8_t buf[E2E_ENVELOPE_MAX + 1];
  size_t len;
  CHECK_EQ(dev_make(&a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&b, 2, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&a, &b, NOW_MS, "", &sa, buf, &len), 0); /* empty plaintext */
  CHECK_EQ(len, E2E_PREKEY_PREFIX_LEN + E2E_HEADER_LEN + CRYPTO_TAG_LEN);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(env.ct_len, CRYPTO_TAG_LEN);
  CHECK(env.prefix == buf && env.prefix_len == E2E_PREKEY_PREFIX_LEN);
  CHECK(env.header == buf + E2E_PREKEY_PREFIX_LEN);
  for (size_t n = 0; n < len; n++) CHECK_EQ(e2e_envelope_parse(&env, buf, n), MOMEDO_E_TRUNCATED);
  buf[0] = 2;
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), MOMEDO_E_VERSION);
  buf[0] = E2E_VERSION;
  buf[1] = 3;
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), MOMEDO_E_UNKNOWN_KIND);
  buf[1] = E2E_TYPE_MESSAGE; /* a plain message of the same bytes: longer ciphertext */
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(env.ct_len, len - E2E_MESSAGE_PREFIX_LEN - E2E_HEADER_LEN);
  for (size_t n = 0; n < E2E_MESSAGE_PREFIX_LEN + E2E_HEADER_LEN + CRYPTO_TAG_LEN; n++)
    CHECK_EQ(e2e_envelope_parse(&env, buf, n), MOMEDO_E_TRUNCATED);
  CHECK_EQ(e2e_envelope_parse(&env, buf, E2E_ENVELOPE_MAX + 1), MOMEDO_E_TOOBIG);
  e2e_session_free(sa);
  dev_free(&a);
  dev_free(&b);
}

int main(void) {
  RUN(test_sk_known_answer);
  RUN(test_prekey_checks);
  RUN(test_first_message);
  RUN(test_prekey_messages_until_reply);
  RUN(test_identity_not_in_envelope);
  RUN(test_replayed_first_message);
  RUN(test_replay_watermark);
  RUN(test_first_message_time_rules);
  RUN(test_sender_check);
  RUN(test_first_message_tamper);
  RUN(test_one_time_prekey);
  RUN(test_envelope_parser);
  TEST_MAIN_END();
}
