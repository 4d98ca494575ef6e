/* Unit tests for one-time prekeys: the signed record (protocol/otpk.c) and the upload's
 * bounds the node checks, and this device's secrets in the vault (client/core/otpks.c):
 * generation, deletion after use, the file format's bounds (every corrupt form
 * refused), and that a first message naming a deleted prekey cannot be opened again. */
#include "harness.h"

#include <unistd.h>

#include "crypto.h"
#include "otpk.h"
#include "otpks.h"
#include "x3dh.h"

static struct crypto_sign_keypair dev;

static void keys(void) {
  uint8_t seed[32];
  memset(seed, 0x22, 32);
  if (crypto_sign_from_seed(&dev, seed) != 0) abort();
}

static void test_sign_verify(void) {
  struct otpk_pub p = {.id = 5}, q;
  uint8_t sec[32];
  keys();
  CHECK_EQ(crypto_dh_keygen(sec, p.key), 0);
  CHECK_EQ(otpk_sign(&p, &dev), 0);
  CHECK_EQ(otpk_verify(&p, dev.pub), 0);
  q = p;
  q.id = 6;
  CHECK_EQ(otpk_verify(&q, dev.pub), MOMEDO_E_BADSIG);
  q = p;
  q.key[0] ^= 1;
  CHECK_EQ(otpk_verify(&q, dev.pub), MOMEDO_E_BADSIG);
  q = p;
  q.id = 0;
  CHECK_EQ(otpk_verify(&q, dev.pub), MOMEDO_E_BOUNDS);
  CHECK_EQ(otpk_sign(&q, &dev), MOMEDO_E_BOUNDS);
  uint8_t other[32];
  memcpy(other, dev.pub, 32);
  other[5] ^= 1;
  CHECK(otpk_verify(&p, other) != 0);
}

static void test_upload_check(void) {
  static struct otpk_pub p[OTPK_UPLOAD_MAX + 1], out[OTPK_UPLOAD_MAX];
  static Momedo__OneTimePrekey m[OTPK_UPLOAD_MAX + 1];
  static Momedo__OneTimePrekey *pm[OTPK_UPLOAD_MAX + 1];
  Momedo__PrekeyUploadReq r = MOMEDO__PREKEY_UPLOAD_REQ__INIT;
  char why[200];
  size_t n = 99;
  uint8_t sec[32];
  keys();
  for (size_t i = 0; i <= OTPK_UPLOAD_MAX; i++) {
    p[i].id = (uint32_t)i + 1;
    CHECK_EQ(crypto_dh_keygen(sec, p[i].key), 0);
    CHECK_EQ(otpk_sign(&p[i], &dev), 0);
    momedo__one_time_prekey__init(&m[i]);
    m[i].id = p[i].id;
    m[i].key = (ProtobufCBinaryData){32, p[i].key};
    m[i].signature = (ProtobufCBinaryData){64, p[i].sig};
    pm[i] = &m[i];
  }
  r.prekeys = pm;
  r.n_prekeys = 0;
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), 0);
  CHECK_EQ(n, 0);
  r.n_prekeys = OTPK_UPLOAD_MAX;
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), 0);
  CHECK_EQ(n, OTPK_UPLOAD_MAX);
  CHECK_MEM(out[99].key, p[99].key, 32);
  r.n_prekeys = OTPK_UPLOAD_MAX + 1;
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), MOMEDO_E_TOOBIG);
  r.n_prekeys = 3;
  m[2].id = 1; /* an id twice */
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), MOMEDO_E_BADSIG);
  CHECK_EQ(otpk_sign(&(struct otpk_pub){0}, &dev), MOMEDO_E_BOUNDS);
  p[2].id = 1;
  CHECK_EQ(otpk_sign(&p[2], &dev), 0);
  m[2].signature = (ProtobufCBinaryData){64, p[2].sig};
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), MOMEDO_E_INVAL);
  CHECK(strstr(why, "twice") != NULL);
  m[2].key.len = 31; /* lengths */
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), MOMEDO_E_BOUNDS);
  m[2].key.len = 32;
  m[2].signature.len = 63;
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), MOMEDO_E_BOUNDS);
  m[2].signature.len = 64;
  m[2].id = 0;
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), MOMEDO_E_BOUNDS);
  pm[2] = NULL;
  CHECK_EQ(otpk_upload_check(&r, dev.pub, out, &n, why, sizeof why), MOMEDO_E_BOUNDS);
}

static void test_store_roundtrip(void) {
  static struct otpks s, t;
  static struct otpk_pub pub[OTPK_UPLOAD_MAX];
  uint8_t *buf = NULL;
  size_t len = 0;
  keys();
  otpks_init(&s);
  CHECK_EQ(otpks_generate(&s, &dev, OTPK_UPLOAD_MAX + 1, pub), MOMEDO_E_BOUNDS);
  CHECK_EQ(otpks_generate(&s, &dev, 10, pub), 0);
  CHECK_EQ(s.n, 10);
  CHECK_EQ(s.next_id, 11);
  CHECK_EQ(otpk_verify(&pub[9], dev.pub), 0);
  CHECK_MEM(otpks_find(&s, 10)->pub, pub[9].key, 32);
  otpks_remove(&s, 4);
  CHECK(otpks_find(&s, 4) == NULL);
  CHECK_EQ(s.n, 9);
  CHECK_EQ(otpks_encode(&s, &buf, &len), 0);
  CHECK_EQ(otpks_parse(&t, buf, len), 0);
  CHECK_EQ(t.n, 9);
  CHECK_EQ(t.next_id, 11);
  CHECK_MEM(t.v, s.v, sizeof s.v[0] * 9);
  /* Every truncation and every single-byte change of the header or a key is refused. */
  for (size_t i = 0; i < len; i++) CHECK_EQ(otpks_parse(&t, buf, i), MOMEDO_E_CORRUPT);
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 0x01;
    int rc = otpks_parse(&t, buf, len);
    buf[i] ^= 0x01;
    if (rc == 0) { /* only a next_id still above every id may change */
      /* next_id, an id kept ascending, or a secret bit X25519 clamps away */
      size_t off = i >= 9 ? (i - 9) % 68 : 99;
      CHECK((i >= 1 && i < 5) || off < 5);
      continue;
    }
    CHECK_EQ(rc, MOMEDO_E_CORRUPT);
  }
  crypto_wipe(buf, len);
  free(buf);
  /* Past OTPKS_LOCAL_MAX the oldest go. */
  for (int k = 0; k < 5; k++) CHECK_EQ(otpks_generate(&s, &dev, 100, pub), 0);
  CHECK_EQ(s.n, OTPKS_LOCAL_MAX);
  CHECK_EQ(s.v[0].id, 510 - OTPKS_LOCAL_MAX + 1);
  CHECK(otpks_find(&s, 1) == NULL);
  CHECK_EQ(otpks_encode(&s, &buf, &len), 0);
  CHECK(len <= OTPKS_FILE_BYTES_MAX);
  CHECK_EQ(otpks_parse(&t, buf, len), 0);
  free(buf);
  otpks_wipe(&s);
  otpks_wipe(&t);
}

/* Responder and initiator for a first message with a one-time prekey. */
struct side {
  struct e2e_local l;
  struct e2e_prekey spk;
};

static void side_make(struct side *s, const uint8_t idk[32]) {
  struct crypto_sign_keypair dk;
  if (crypto_sign_keygen(&dk) != 0) abort();
  memcpy(s->l.identity_key, idk, 32);
  memcpy(s->l.device_key, dk.pub, 32);
  if (crypto_dh_keygen(s->l.dh_sec, s->l.dh_pub) != 0) abort();
  s->spk.id = 1;
  s->spk.expires_ms = 2000000000000ull;
  if (crypto_dh_keygen(s->spk.sec, s->spk.pub) != 0) abort();
}

/* A first message that used one-time prekey 3: accepted once; after the secret is gone
 * (deleted after first use) the same bytes, even to a fresh replay set, do not open. */
static void test_consumed_prekey_refused(void) {
  static struct otpks s;
  struct otpk_pub pub[3];
  struct side a, b;
  uint8_t idk[32] = {1}, env[1024], pt[1024];
  size_t n = 0, ptn = 0;
  struct e2e_session *sa = NULL, *sb = NULL;
  struct e2e_replay *rp = NULL;
  struct e2e_envelope pe;
  struct e2e_sender from;
  uint64_t now = 1700000000000ull;
  keys();
  side_make(&a, idk);
  idk[0] = 2;
  side_make(&b, idk);
  otpks_init(&s);
  CHECK_EQ(otpks_generate(&s, &dev, 3, pub), 0);
  struct e2e_remote r = {.spk_id = 1, .spk_expires_ms = b.spk.expires_ms, .opk_id = 3};
  memcpy(r.identity_key, b.l.identity_key, 32);
  memcpy(r.device_key, b.l.device_key, 32);
  memcpy(r.dh_key, b.l.dh_pub, 32);
  memcpy(r.spk, b.spk.pub, 32);
  memcpy(r.opk, pub[2].key, 32);
  CHECK_EQ(e2e_initiate(&sa, &a.l, &r, now), 0);
  CHECK_EQ(e2e_encrypt(sa, (const uint8_t *)"hi", 2, env, sizeof env, &n), 0);
  CHECK_EQ(e2e_envelope_parse(&pe, env, n), 0);
  CHECK_EQ(pe.opk_id, 3);
  CHECK_EQ(e2e_replay_new(&rp, 1), 0);
  const struct otpks_sec *o = otpks_find(&s, 3);
  CHECK(o != NULL);
  /* the wrong one-time secret does not open it */
  CHECK(e2e_accept(&sb, &from, &b.l, &b.spk, otpks_find(&s, 2)->sec, rp, &pe, now, pt,
                   sizeof pt, &ptn) != 0);
  CHECK_EQ(e2e_accept(&sb, &from, &b.l, &b.spk, o->sec, rp, &pe, now, pt, sizeof pt, &ptn), 0);
  CHECK_EQ(ptn, 2);
  e2e_session_free(sb);
  sb = NULL;
  otpks_remove(&s, 3);
  e2e_replay_free(rp);
  CHECK_EQ(e2e_replay_new(&rp, 1), 0); /* as if the replay set had forgotten it */
  CHECK_EQ(e2e_accept(&sb, &from, &b.l, &b.spk, NULL, rp, &pe, now, pt, sizeof pt, &ptn),
           MOMEDO_E_NOTFOUND);
  CHECK(sb == NULL);
  /* the signed prekey alone does not open it either: DH4 is in the key */
  pe.opk_id = 0;
  CHECK(e2e_accept(&sb, &from, &b.l, &b.spk, NULL, rp, &pe, now, pt, sizeof pt, &ptn) != 0);
  CHECK(sb == NULL);
  e2e_replay_free(rp);
  e2e_session_free(sa);
  otpks_wipe(&s);
}

int main(void) {
  RUN(test_sign_verify);
  RUN(test_upload_check);
  RUN(test_store_roundtrip);
  RUN(test_consumed_prekey_refused);
  TEST_MAIN_END();
}
