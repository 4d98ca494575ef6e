/* test_client_x3dh — X3DH agreement (known-answer SK from an independent computation),
 * signed prekey checks, the sealed-sender first message, the replay set, sender
 * binding to the bundle and the envelope parser. */
#include "cursor.h"
#include "harness.h"
#include "obj.h"
#include "x3dh.h"

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

/* The fixture of most tests: Alice (prekey 1) and Bob (prekey 2), both valid for a
 * day from NOW_MS, Alice's session sa and Bob's sb, the last envelope (buf, len, env)
 * and what Bob decrypted (pt, pt_len, from). One static instance: buffers are big. */
struct pair {
  struct dev a, b;
  struct e2e_session *sa, *sb;
  struct e2e_envelope env;
  struct e2e_sender from;
  uint8_t buf[E2E_ENVELOPE_MAX + 1], pt[E2E_PLAINTEXT_MAX];
  size_t len, pt_len;
};

static struct pair the_pair;

static void pair_make(struct pair *p) {
  p->sa = p->sb = NULL;
  CHECK_EQ(dev_make(&p->a, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(dev_make(&p->b, 2, NOW_MS + DAY_MS), 0);
}

/* pair_make, then Alice's first message `text` created at sent_ms, parsed into env. */
static void pair_first(struct pair *p, uint64_t sent_ms, const char *text) {
  CHECK_CALL(pair_make(p));
  CHECK_EQ(first_message(&p->a, &p->b, sent_ms, text, &p->sa, p->buf, &p->len), 0);
  CHECK_EQ(e2e_envelope_parse(&p->env, p->buf, p->len), 0);
}

/* A new first message from Alice to Bob (fresh session) created at sent_ms, into env. */
static void pair_first_again(struct pair *p, uint64_t sent_ms) {
  e2e_session_free(p->sa);
  p->sa = NULL;
  CHECK_EQ(first_message(&p->a, &p->b, sent_ms, "again", &p->sa, p->buf, &p->len), 0);
  CHECK_EQ(e2e_envelope_parse(&p->env, p->buf, p->len), 0);
}

/* Bob accepts env at now_ms into *s (no one-time prekey, his own replay set). */
static int pair_accept(struct pair *p, struct e2e_session **s, uint64_t now_ms) {
  return e2e_accept(s, &p->from, &p->b.local, &p->b.spk, NULL, p->b.rp, &p->env, now_ms,
                    p->pt, sizeof p->pt, &p->pt_len);
}

static void pair_free(struct pair *p) {
  e2e_session_free(p->sa);
  e2e_session_free(p->sb);
  dev_free(&p->a);
  dev_free(&p->b);
}

static void test_first_message(void) {
  struct pair *p = &the_pair;
  CHECK_CALL(pair_first(p, NOW_MS, "hello bob"));
  CHECK_EQ(p->len, E2E_PREKEY_PREFIX_LEN + E2E_HEADER_LEN + E2E_PAD_MIN + CRYPTO_TAG_LEN);
  CHECK_EQ(p->env.type, E2E_TYPE_PREKEY);
  CHECK_EQ(p->env.spk_id, 2);
  CHECK_EQ(p->env.opk_id, 0);
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS + 1000), 0);
  CHECK_EQ(p->pt_len, 9);
  CHECK_MEM(p->pt, "hello bob", 9);
  CHECK_MEM(p->from.identity_key, p->a.idk.pub, 32);
  CHECK_MEM(p->from.device_key, p->a.dk.pub, 32);
  CHECK_MEM(p->from.dh_key, p->a.local.dh_pub, 32);
  CHECK_EQ(p->from.created_ms, NOW_MS);
  struct e2e_session_info ia, ib;
  e2e_session_get_info(p->sa, &ia);
  e2e_session_get_info(p->sb, &ib);
  CHECK_MEM(ia.base_key, ib.base_key, 32);
  CHECK_MEM(ib.peer_identity, p->a.idk.pub, 32);
  CHECK_MEM(ia.peer_device, p->b.dk.pub, 32);
  CHECK(ia.initiator && !ib.initiator && ia.pending && !ib.pending);
  /* Bob replies; Alice leaves the pending state; her next message is a plain one. */
  CHECK_EQ(e2e_encrypt(p->sb, (const uint8_t *)"hi", 2, p->buf, sizeof p->buf, &p->len), 0);
  CHECK_EQ(e2e_envelope_parse(&p->env, p->buf, p->len), 0);
  CHECK_EQ(p->env.type, E2E_TYPE_MESSAGE);
  CHECK_EQ(e2e_session_matches(p->sa, &p->env), 1);
  CHECK_EQ(e2e_decrypt(p->sa, &p->env, p->pt, sizeof p->pt, &p->pt_len), 0);
  CHECK_MEM(p->pt, "hi", 2);
  e2e_session_get_info(p->sa, &ia);
  CHECK(!ia.pending);
  CHECK_EQ(e2e_encrypt(p->sa, (const uint8_t *)"ok", 2, p->buf, sizeof p->buf, &p->len), 0);
  CHECK_EQ(p->buf[1], E2E_TYPE_MESSAGE);
  CHECK_EQ(p->len, E2E_MESSAGE_PREFIX_LEN + E2E_HEADER_LEN + E2E_PAD_MIN + CRYPTO_TAG_LEN);
  pair_free(p);
}

/* Second prekey messages (before any reply) go to the existing session via its tag. */
static void test_prekey_messages_until_reply(void) {
  struct pair *p = &the_pair;
  struct e2e_session *sx = NULL;
  static uint8_t m1[E2E_ENVELOPE_MAX];
  size_t l1;
  CHECK_CALL(pair_first(p, NOW_MS, "zero")); /* m0: p->buf, p->env */
  struct e2e_envelope m0_env = p->env;
  CHECK_EQ(e2e_encrypt(p->sa, (const uint8_t *)"one", 3, m1, sizeof m1, &l1), 0);
  CHECK_EQ(m1[1], E2E_TYPE_PREKEY);
  CHECK_MEM(p->buf, m1, E2E_PREKEY_PREFIX_LEN); /* same X3DH header, computed once */
  /* m1 arrives first: it creates the session. */
  CHECK_EQ(e2e_envelope_parse(&p->env, m1, l1), 0);
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), 0);
  CHECK_MEM(p->pt, "one", 3);
  CHECK_EQ(e2e_sender_check(&(Momedo__KeyBundle)MOMEDO__KEY_BUNDLE__INIT, &p->from),
           MOMEDO_E_KEYCHANGED);
  CHECK_EQ(e2e_replay_add(p->b.rp, &p->env, p->from.created_ms, NOW_MS), 0);
  /* m0 matches the session and decrypts from a skipped key; accept would refuse it. */
  p->env = m0_env;
  CHECK_EQ(e2e_session_matches(p->sb, &p->env), 1);
  CHECK_EQ(pair_accept(p, &sx, NOW_MS), MOMEDO_E_EXISTS);
  CHECK(sx == NULL);
  CHECK_EQ(e2e_decrypt(p->sb, &p->env, p->pt, sizeof p->pt, &p->pt_len), 0);
  CHECK_MEM(p->pt, "zero", 4);
  CHECK_EQ(e2e_decrypt(p->sb, &p->env, p->pt, sizeof p->pt, &p->pt_len), MOMEDO_E_EXISTS);
  pair_free(p);
}

static void test_identity_not_in_envelope(void) {
  struct pair *p = &the_pair;
  CHECK_CALL(pair_first(p, NOW_MS, "who am I"));
  const uint8_t *keys[] = {p->a.idk.pub, p->a.dk.pub, p->a.local.dh_pub, p->b.idk.pub,
                           p->b.dk.pub};
  for (int k = 0; k < 5; k++) CHECK(!memmem_has(p->buf, p->len, keys[k], 32));
  for (int k = 0; k < 5; k++) CHECK(!memmem_has(p->buf, p->len, keys[k], 8)); /* not a part */
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), 0);
  for (int i = 0; i < 4; i++) { /* later messages in both directions */
    struct e2e_session *src = i % 2 ? p->sa : p->sb, *dst = i % 2 ? p->sb : p->sa;
    CHECK_EQ(e2e_encrypt(src, (const uint8_t *)"x", 1, p->buf, sizeof p->buf, &p->len), 0);
    for (int k = 0; k < 5; k++) CHECK(!memmem_has(p->buf, p->len, keys[k], 8));
    CHECK_EQ(e2e_envelope_parse(&p->env, p->buf, p->len), 0);
    CHECK_EQ(e2e_decrypt(dst, &p->env, p->pt, sizeof p->pt, &p->pt_len), 0);
  }
  pair_free(p);
}

/* Every corruption and every truncation of a saved replay set is refused. */
static void check_replay_load_refuses(uint8_t *saved, size_t saved_len) {
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
}

static void test_replayed_first_message(void) {
  struct pair *p = &the_pair;
  CHECK_CALL(pair_first(p, NOW_MS, "once"));
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), 0);
  CHECK_EQ(e2e_replay_add(p->b.rp, &p->env, p->from.created_ms, NOW_MS), 0);
  CHECK_EQ(e2e_replay_add(p->b.rp, &p->env, p->from.created_ms, NOW_MS), MOMEDO_E_EXISTS);
  e2e_session_free(p->sb);
  p->sb = NULL;
  /* The session was lost (or never stored): a replay must not create a new one. */
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), MOMEDO_E_EXISTS);
  CHECK(p->sb == NULL);
  /* The replay set survives a restart. */
  uint8_t *saved = NULL;
  size_t saved_len = 0;
  struct e2e_replay *rp2 = NULL;
  CHECK_EQ(e2e_replay_save(p->b.rp, &saved, &saved_len), 0);
  CHECK_EQ(e2e_replay_load(&rp2, saved, saved_len), 0);
  CHECK_EQ(e2e_replay_count(rp2), 1);
  CHECK_EQ(e2e_accept(&p->sb, &p->from, &p->b.local, &p->b.spk, NULL, rp2, &p->env, NOW_MS,
                      p->pt, sizeof p->pt, &p->pt_len), MOMEDO_E_EXISTS);
  CHECK_CALL(check_replay_load_refuses(saved, saved_len));
  free(saved);
  e2e_replay_free(rp2);
  pair_free(p);
}

/* A full replay set evicts its oldest entry and raises the watermark: first messages
 * created at or before it are refused even though their EK_A is no longer listed. */
static void test_replay_watermark(void) {
  struct pair *p = &the_pair;
  struct e2e_envelope fake;
  uint8_t ek[32];
  CHECK_CALL(pair_first(p, NOW_MS + 5, "late"));
  memset(&fake, 0, sizeof fake);
  fake.type = E2E_TYPE_PREKEY;
  fake.spk_id = 2;
  fake.ek = ek;
  for (uint32_t i = 0; i <= E2E_REPLAY_MAX; i++) {
    memset(ek, 0, sizeof ek);
    be32_put(ek, i + 1);
    CHECK_EQ(e2e_replay_add(p->b.rp, &fake, NOW_MS + (i == 0 ? 5 : 10), NOW_MS + 10), 0);
  }
  CHECK_EQ(e2e_replay_count(p->b.rp), E2E_REPLAY_MAX);
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS + 100), MOMEDO_E_EXPIRED);
  CHECK(p->sb == NULL);
  fake.spk_id = 3;
  CHECK_EQ(e2e_replay_add(p->b.rp, &fake, NOW_MS, NOW_MS + 3600 * 1000), MOMEDO_E_INVAL);
  pair_free(p);
}

/* Issue 11, finding 12 (attack): a sender whose clock runs ahead (within the allowed skew)
 * must not push the replay watermark past the recipient's own clock. Here an attacker
 * sends one first message dated 9 minutes ahead, then enough others to evict it; a
 * legitimate first message created a minute later must still be accepted. */
static void test_replay_watermark_future_sender(void) {
  struct pair *p = &the_pair;
  struct e2e_envelope fake;
  uint8_t ek[32];
  CHECK_CALL(pair_first(p, NOW_MS + 60 * 1000, "a minute later"));
  memset(&fake, 0, sizeof fake);
  fake.type = E2E_TYPE_PREKEY;
  fake.spk_id = 2;
  fake.ek = ek;
  for (uint32_t i = 0; i <= E2E_REPLAY_MAX; i++) {
    memset(ek, 0, sizeof ek);
    be32_put(ek, i + 1);
    uint64_t created = i == 0 ? NOW_MS + 9 * 60 * 1000 : NOW_MS;
    CHECK_EQ(e2e_replay_add(p->b.rp, &fake, created, NOW_MS), 0);
  }
  CHECK_EQ(e2e_replay_count(p->b.rp), E2E_REPLAY_MAX);
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS + 61 * 1000), 0);
  /* Still sound: the future-dated entry was kept (not evicted), so its replay is seen. */
  memset(ek, 0, sizeof ek);
  be32_put(ek, 1);
  CHECK_EQ(e2e_replay_add(p->b.rp, &fake, NOW_MS + 9 * 60 * 1000, NOW_MS), MOMEDO_E_EXISTS);
  /* Once our clock passed it, it is evicted first and its time becomes the watermark:
   * a replay of it is refused as older than the watermark. */
  be32_put(ek, 100000);
  CHECK_EQ(e2e_replay_add(p->b.rp, &fake, NOW_MS + 9 * 60 * 1000 + 1, NOW_MS + 10 * 60 * 1000),
           0);
  e2e_session_free(p->sb);
  p->sb = NULL;
  CHECK_CALL(pair_first_again(p, NOW_MS + 9 * 60 * 1000));
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS + 10 * 60 * 1000), MOMEDO_E_EXPIRED);
  /* A set full of entries all dated ahead of our clock cannot evict: E_BUSY, no session. */
  struct e2e_replay *full = p->b.rp;
  CHECK_EQ(e2e_replay_new(&p->b.rp, 2), 0);
  for (uint32_t i = 0; i < E2E_REPLAY_MAX; i++) {
    be32_put(ek, i + 1);
    CHECK_EQ(e2e_replay_add(p->b.rp, &fake, NOW_MS + 5 * 60 * 1000, NOW_MS), 0);
  }
  CHECK_CALL(pair_first_again(p, NOW_MS + 1000));
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS + 2000), MOMEDO_E_BUSY);
  CHECK(p->sb == NULL);
  be32_put(ek, 0xfffff);
  CHECK_EQ(e2e_replay_add(p->b.rp, &fake, NOW_MS, NOW_MS), MOMEDO_E_BUSY);
  e2e_replay_free(full);
  pair_free(p);
}

static void test_first_message_time_rules(void) {
  struct pair *p = &the_pair;
  /* Sender's clock an hour ahead of the recipient's. */
  CHECK_CALL(pair_first(p, NOW_MS + 3600 * 1000, "future"));
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), MOMEDO_E_FUTURE);
  /* Within the skew it is fine. */
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS + 3599 * 1000), 0);
  e2e_session_free(p->sb);
  p->sb = NULL;
  /* Our prekey told the sender it expires; a message created after that is refused. */
  p->b.spk.expires_ms = NOW_MS;
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS + 3600 * 1000), MOMEDO_E_EXPIRED);
  p->b.spk.id = 9;
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), MOMEDO_E_INVAL);
  CHECK(p->sb == NULL);
  pair_free(p);
}

static void test_sender_check(void) {
  struct pair *p = &the_pair;
  struct dev a2;
  CHECK_CALL(pair_make(p));
  CHECK_EQ(dev_make(&a2, 1, NOW_MS + DAY_MS), 0);
  CHECK_EQ(first_message(&p->a, &p->b, NOW_MS, "m", &p->sa, p->buf, &p->len), 0);
  CHECK_EQ(e2e_envelope_parse(&p->env, p->buf, p->len), 0);
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), 0);
  Momedo__KeyBundle kb = MOMEDO__KEY_BUNDLE__INIT;
  Momedo__DeviceKeys *devs[2] = {&a2.keys, &p->a.keys};
  kb.identity_key = (ProtobufCBinaryData){32, p->a.idk.pub};
  kb.devices = devs;
  kb.n_devices = 2;
  CHECK_EQ(e2e_sender_check(&kb, &p->from), 0);
  kb.n_devices = 1; /* only the other device */
  CHECK_EQ(e2e_sender_check(&kb, &p->from), MOMEDO_E_NOTFOUND);
  kb.n_devices = 2;
  kb.identity_key.data = a2.idk.pub;
  CHECK_EQ(e2e_sender_check(&kb, &p->from), MOMEDO_E_KEYCHANGED);
  kb.identity_key.data = p->a.idk.pub;
  kb.revoked = 1;
  CHECK_EQ(e2e_sender_check(&kb, &p->from), MOMEDO_E_DEAD);
  kb.revoked = 0;
  p->from.dh_key[0] ^= 1; /* the device's agreement key must be the one in the bundle */
  CHECK_EQ(e2e_sender_check(&kb, &p->from), MOMEDO_E_NOTFOUND);
  dev_free(&a2);
  pair_free(p);
}

/* Every single-byte change to a first message is refused and creates no session. */
static void test_first_message_tamper(void) {
  struct pair *p = &the_pair;
  CHECK_CALL(pair_first(p, NOW_MS, "tamper me"));
  for (size_t i = 0; i < p->len; i++) {
    p->buf[i] ^= 0x01;
    int rc = e2e_envelope_parse(&p->env, p->buf, p->len);
    if (rc == 0) rc = pair_accept(p, &p->sb, NOW_MS);
    p->buf[i] ^= 0x01;
    CHECK(rc < 0);
    CHECK(p->sb == NULL);
  }
  CHECK_EQ(e2e_envelope_parse(&p->env, p->buf, p->len), 0);
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), 0);
  pair_free(p);
}

static void test_one_time_prekey(void) {
  struct pair *p = &the_pair;
  struct e2e_remote r;
  uint8_t opk_sec[32];
  CHECK_CALL(pair_make(p));
  CHECK_EQ(e2e_remote_from_device(&r, p->b.idk.pub, &p->b.keys, NOW_MS), 0);
  CHECK_EQ(crypto_dh_keygen(opk_sec, r.opk), 0);
  r.opk_id = 77;
  CHECK_EQ(e2e_initiate(&p->sa, &p->a.local, &r, NOW_MS), 0);
  CHECK_EQ(e2e_encrypt(p->sa, (const uint8_t *)"opk", 3, p->buf, sizeof p->buf, &p->len), 0);
  CHECK_EQ(e2e_envelope_parse(&p->env, p->buf, p->len), 0);
  CHECK_EQ(p->env.opk_id, 77);
  CHECK_EQ(pair_accept(p, &p->sb, NOW_MS), MOMEDO_E_NOTFOUND);
  uint8_t wrong[32];
  memcpy(wrong, opk_sec, 32);
  wrong[3] ^= 1;
  CHECK_EQ(e2e_accept(&p->sb, &p->from, &p->b.local, &p->b.spk, wrong, p->b.rp, &p->env, NOW_MS,
                      p->pt, sizeof p->pt, &p->pt_len), MOMEDO_E_DECRYPT);
  CHECK_EQ(e2e_accept(&p->sb, &p->from, &p->b.local, &p->b.spk, opk_sec, p->b.rp, &p->env,
                      NOW_MS, p->pt, sizeof p->pt, &p->pt_len), 0);
  CHECK_MEM(p->pt, "opk", 3);
  pair_free(p);
}

static void test_envelope_parser(void) {
  struct pair *p = &the_pair;
  struct e2e_envelope env;
  uint8_t *buf = p->buf; /* E2E_ENVELOPE_MAX + 1 bytes */
  CHECK_CALL(pair_first(p, NOW_MS, "")); /* empty plaintext */
  size_t len = p->len;
  CHECK_EQ(len, E2E_PREKEY_PREFIX_LEN + E2E_HEADER_LEN + E2E_PAD_MIN + CRYPTO_TAG_LEN);
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(env.ct_len, E2E_PAD_MIN + CRYPTO_TAG_LEN);
  CHECK(env.prefix == buf && env.prefix_len == E2E_PREKEY_PREFIX_LEN);
  CHECK(env.header == buf + E2E_PREKEY_PREFIX_LEN);
  for (size_t n = 0; n < E2E_PREKEY_PREFIX_LEN + E2E_HEADER_LEN + CRYPTO_TAG_LEN; n++)
    CHECK_EQ(e2e_envelope_parse(&env, buf, n), MOMEDO_E_TRUNCATED);
  buf[0] = 1; /* before salted keys and padding: refused */
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), MOMEDO_E_VERSION);
  buf[0] = 3;
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), MOMEDO_E_VERSION);
  buf[0] = E2E_VERSION;
  buf[1] = 4;
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), MOMEDO_E_UNKNOWN_KIND);
  uint8_t b2 = buf[2];
  buf[1] = E2E_TYPE_PREKEY_SUITE; /* names its suite next: 1 there, or 3, is not one it knows */
  buf[2] = E2E_SUITE_X25519;
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), MOMEDO_E_VERSION);
  buf[2] = E2E_SUITE_MAX + 1;
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), MOMEDO_E_VERSION);
  buf[2] = b2;
  buf[1] = E2E_TYPE_MESSAGE; /* a plain message of the same bytes: longer ciphertext */
  CHECK_EQ(e2e_envelope_parse(&env, buf, len), 0);
  CHECK_EQ(env.ct_len, len - E2E_MESSAGE_PREFIX_LEN - E2E_HEADER_LEN);
  for (size_t n = 0; n < E2E_MESSAGE_PREFIX_LEN + E2E_HEADER_LEN + CRYPTO_TAG_LEN; n++)
    CHECK_EQ(e2e_envelope_parse(&env, buf, n), MOMEDO_E_TRUNCATED);
  CHECK_EQ(e2e_envelope_parse(&env, buf, E2E_ENVELOPE_MAX + 1), MOMEDO_E_TOOBIG);
  pair_free(p);
}

int main(void) {
  RUN(test_sk_known_answer);
  RUN(test_prekey_checks);
  RUN(test_first_message);
  RUN(test_prekey_messages_until_reply);
  RUN(test_identity_not_in_envelope);
  RUN(test_replayed_first_message);
  RUN(test_replay_watermark);
  RUN(test_replay_watermark_future_sender);
  RUN(test_first_message_time_rules);
  RUN(test_sender_check);
  RUN(test_first_message_tamper);
  RUN(test_one_time_prekey);
  RUN(test_envelope_parser);
  TEST_MAIN_END();
}
