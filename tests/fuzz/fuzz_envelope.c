/* fuzz_envelope — the end-to-end envelope parser and everything behind it that bytes
 * from outside reach: e2e_envelope_parse, e2e_session_load, e2e_session_matches,
 * e2e_decrypt and e2e_accept (against fixed recipient keys, the signed prekey with an
 * ML-KEM-768 key, so suite-2 first messages reach decapsulation). Input:
 * [be16 L][L bytes: a saved session of the recipient, L = 0 for none][envelope].
 * Invariants: a parsed envelope accounts for every byte; a plaintext is shorter than its
 * ciphertext by at least the padding mark and the tag; a refused decryption leaves
 * the session byte-identical; a decrypted message is a duplicate the second time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratchet_int.h"
#include "x3dh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW_MS 1700000000000ull
#define FUZZ_SPK_ID 7u

static struct e2e_local fz_me;
static struct e2e_prekey fz_spk;
static uint8_t fz_pq_ek[MLKEM768_EK_LEN], fz_pq_dk[MLKEM768_DK_LEN];
static int fz_ready;

static void fz_init(void) {
  struct crypto_sign_keypair kp;
  uint8_t seed[32];
  memset(seed, 0x44, 32);
  if (crypto_sign_from_seed(&kp, seed)) abort();
  memcpy(fz_me.identity_key, kp.pub, 32);
  memset(seed, 0x45, 32);
  if (crypto_sign_from_seed(&kp, seed)) abort();
  memcpy(fz_me.device_key, kp.pub, 32);
  memset(fz_me.dh_sec, 0x42, 32);
  if (crypto_dh_public(fz_me.dh_pub, fz_me.dh_sec)) abort();
  memset(fz_spk.sec, 0x43, 32);
  if (crypto_dh_public(fz_spk.pub, fz_spk.sec)) abort();
  fz_spk.id = FUZZ_SPK_ID;
  fz_spk.expires_ms = FUZZ_NOW_MS + 30ull * 24 * 3600 * 1000;
  uint8_t d[MLKEM_SEED_LEN], z[MLKEM_SEED_LEN];
  memset(d, 0x46, sizeof d);
  memset(z, 0x47, sizeof z);
  mlkem768_keygen_derand(fz_pq_ek, fz_pq_dk, d, z);
  fz_spk.pq_dk = fz_pq_dk;
  fz_ready = 1;
}

static void fz_check_rc(int rc) {
  if (rc > 0 || rc == MOMEDO_E_INTERNAL || rc == MOMEDO_E_NOSPACE) abort();
}

static void fz_decrypt(struct e2e_session *s, const struct e2e_envelope *env, uint8_t *pt) {
  uint8_t *before = NULL, *after = NULL;
  size_t before_len = 0, after_len = 0, pt_len = 0;
  (void)e2e_session_matches(s, env);
  if (e2e_session_save(s, &before, &before_len)) abort();
  int rc = e2e_decrypt(s, env, pt, E2E_PLAINTEXT_MAX, &pt_len);
  fz_check_rc(rc);
  if (e2e_session_save(s, &after, &after_len)) abort();
  if (rc < 0 && (before_len != after_len || memcmp(before, after, after_len) != 0)) abort();
  if (rc == 0) {
    if (pt_len + 1 + 16 > env->ct_len) abort(); /* text, the 0x80 mark, zeros, tag */
    if (e2e_decrypt(s, env, pt, E2E_PLAINTEXT_MAX, &pt_len) != MOMEDO_E_EXISTS) abort();
  }
  free(before);
  free(after);
}

/* The replay set every accept starts from: empty. It is 160 KiB (E2E_REPLAY_MAX
 * entries), so it is made once and made again only after an input added to it
 * (e2e_accept only reads it; e2e_replay_add below is the one writer). */
static struct e2e_replay *fz_rp;

static void fz_accept(const struct e2e_envelope *env, uint8_t *pt) {
  struct e2e_session *s = NULL;
  struct e2e_sender from;
  size_t pt_len = 0;
  if (fz_rp != NULL && e2e_replay_count(fz_rp) != 0) {
    e2e_replay_free(fz_rp);
    fz_rp = NULL;
  }
  if (fz_rp == NULL && e2e_replay_new(&fz_rp, FUZZ_SPK_ID)) abort();
  struct e2e_replay *rp = fz_rp;
  int rc = e2e_accept(&s, &from, &fz_me, &fz_spk, NULL, rp, env, FUZZ_NOW_MS, pt,
                      E2E_PLAINTEXT_MAX, &pt_len);
  fz_check_rc(rc);
  if ((rc == 0) != (s != NULL)) abort();
  if (rc == 0) {
    if (pt_len + 1 + 16 > env->ct_len || !e2e_session_matches(s, env)) abort();
    if (from.suite != env->suite || !from.pq_offered) abort();
    if (e2e_replay_add(rp, env, from.created_ms, from.created_ms)) abort();
    if (e2e_decrypt(s, env, pt, E2E_PLAINTEXT_MAX, &pt_len) != MOMEDO_E_EXISTS) abort();
  }
  e2e_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t pt[E2E_PLAINTEXT_MAX];
  struct e2e_envelope env;
  struct e2e_session *s = NULL;
  if (!fz_ready) fz_init();
  if (size < 2) return 0;
  size_t l = (size_t)data[0] << 8 | data[1];
  if (l > size - 2) return 0;
  if (l > 0) {
    int rc = e2e_session_load(&s, data + 2, l);
    fz_check_rc(rc);
    if ((rc == 0) != (s != NULL)) abort();
  }
  const uint8_t *e = data + 2 + l;
  size_t elen = size - 2 - l;
  int rc = e2e_envelope_parse(&env, e, elen);
  fz_check_rc(rc);
  if (rc == 0) {
    if (env.prefix != e || env.header != e + env.prefix_len || env.ct < e ||
        env.prefix_len + E2E_HEADER_LEN + env.ct_len != elen || env.ct_len < 16)
      abort();
    if (s) fz_decrypt(s, &env, pt);
    if (e2e_envelope_is_prekey(&env) && (s == NULL || !e2e_session_matches(s, &env)))
      fz_accept(&env, pt);
  }
  e2e_session_free(s);
  return 0;
}
