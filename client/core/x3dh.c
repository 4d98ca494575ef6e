/* client/core/x3dh.c — session creation and the envelope: X3DH-style agreement against a
 * device's multi-use signed prekey, the sealed-sender header, the replay set for first
 * messages, envelope encoding and the bounds-checked parser for envelopes from
 * outside. The ratchet itself is in ratchet.c. No clock (now_ms is an argument), no
 * I/O; nothing here trusts a sender before the caller checked it against a bundle. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "obj.h"
#include "ratchet_int.h"
#include "x3dh.h"

#define X3DH_DH_MAX 4
#define X3DH_PQ_INFO_LEN (sizeof E2E_INFO_X3DH_PQ - 1 + 2 * CRYPTO_HASH_LEN)
/* ML-KEM-768 dk = dk_PKE (384 k) || ek || H(ek) || z: where the public key sits. */
#define X3DH_DK_EK_OFF (MLKEM768_DK_LEN - MLKEM768_EK_LEN - 2 * MLKEM_SS_LEN)
#define X3DH_REPLAY_MAGIC "MDRP"
#define X3DH_REPLAY_VERSION 1
#define X3DH_REPLAY_REC (E2E_KEY_LEN + 8)

static const uint8_t x3dh_zero[32];

/* ---- agreement ---- */

/* SK = HKDF(0xFF*32 || dh[0] || ... [|| ss], salt 0*32, info). */
static int x3dh_kdf_info(uint8_t sk[static 32], const uint8_t dh[][E2E_KEY_LEN], size_t n,
                         const uint8_t *ss, const uint8_t *info, size_t info_len) {
  uint8_t ikm[32 + X3DH_DH_MAX * E2E_KEY_LEN + MLKEM_SS_LEN];
  size_t len = 32 + n * E2E_KEY_LEN;
  assert(n >= 3 && n <= X3DH_DH_MAX);
  memset(ikm, 0xff, 32);
  memcpy(ikm + 32, dh, n * E2E_KEY_LEN);
  if (ss) {
    memcpy(ikm + len, ss, MLKEM_SS_LEN);
    len += MLKEM_SS_LEN;
  }
  int rc = crypto_hkdf(sk, 32, x3dh_zero, sizeof x3dh_zero, ikm, len, info, info_len);
  crypto_wipe(ikm, sizeof ikm);
  return rc;
}

/* Suite 1: info E2E_INFO_X3DH. */
static int x3dh_kdf(uint8_t sk[static 32], const uint8_t dh[][E2E_KEY_LEN], size_t n) {
  return x3dh_kdf_info(sk, dh, n, NULL, (const uint8_t *)E2E_INFO_X3DH,
                       sizeof E2E_INFO_X3DH - 1);
}

/* Suite 2: the KEM secret after the DHs; info = the suite name, SHA-256 of the KEM key
 * and of the ciphertext (binds both: the PQXDH analysis, docs/crypto.md). */
static int x3dh_pq_kdf(uint8_t sk[static 32], const uint8_t dh[][E2E_KEY_LEN], size_t n,
                       const uint8_t ss[static MLKEM_SS_LEN],
                       const uint8_t pq_pub[static MLKEM768_EK_LEN],
                       const uint8_t ct[static MLKEM768_CT_LEN]) {
  uint8_t info[X3DH_PQ_INFO_LEN];
  size_t nl = sizeof E2E_INFO_X3DH_PQ - 1;
  memcpy(info, E2E_INFO_X3DH_PQ, nl);
  int rc = crypto_sha256(info + nl, pq_pub, MLKEM768_EK_LEN);
  if (rc == 0) rc = crypto_sha256(info + nl + CRYPTO_HASH_LEN, ct, MLKEM768_CT_LEN);
  if (rc == 0) rc = x3dh_kdf_info(sk, dh, n, ss, info, sizeof info);
  return rc;
}

static int x3dh_dh_initiator(uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN],
                             const uint8_t ik_sec[static 32], const uint8_t ek_sec[static 32],
                             const uint8_t peer_ik[static 32],
                             const uint8_t peer_spk[static 32], const uint8_t *peer_opk) {
  int rc = crypto_dh(dh[0], ik_sec, peer_spk);
  if (rc == 0) rc = crypto_dh(dh[1], ek_sec, peer_ik);
  if (rc == 0) rc = crypto_dh(dh[2], ek_sec, peer_spk);
  if (rc == 0 && peer_opk) rc = crypto_dh(dh[3], ek_sec, peer_opk);
  return rc;
}

int x3dh_sk_initiator(uint8_t sk[static 32], const uint8_t ik_sec[static 32],
                      const uint8_t ek_sec[static 32], const uint8_t peer_ik[static 32],
                      const uint8_t peer_spk[static 32], const uint8_t *peer_opk) {
  uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN];
  int rc = x3dh_dh_initiator(dh, ik_sec, ek_sec, peer_ik, peer_spk, peer_opk);
  if (rc == 0) rc = x3dh_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, peer_opk ? 4 : 3);
  crypto_wipe(dh, sizeof dh);
  return rc;
}

int x3dh_pq_sk_initiator(uint8_t sk[static 32], uint8_t ct[static MLKEM768_CT_LEN],
                         const uint8_t ik_sec[static 32], const uint8_t ek_sec[static 32],
                         const uint8_t peer_ik[static 32], const uint8_t peer_spk[static 32],
                         const uint8_t *peer_opk, const uint8_t pq_pub[static MLKEM768_EK_LEN],
                         const uint8_t *m) {
  uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN], ss[MLKEM_SS_LEN];
  int rc = m ? mlkem768_encaps_derand(ct, ss, pq_pub, MLKEM768_EK_LEN, m)
             : mlkem768_encaps(ct, ss, pq_pub, MLKEM768_EK_LEN);
  if (rc == 0) rc = x3dh_dh_initiator(dh, ik_sec, ek_sec, peer_ik, peer_spk, peer_opk);
  if (rc == 0)
    rc = x3dh_pq_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, peer_opk ? 4 : 3, ss, pq_pub, ct);
  crypto_wipe(dh, sizeof dh);
  crypto_wipe(ss, sizeof ss);
  return rc;
}

/* DH1 and DH4 (DH2 and DH3 are computed first: they open the sealed header). */
static int x3dh_dh_responder_rest(uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN],
                                  const uint8_t spk_sec[static 32], const uint8_t *opk_sec,
                                  const uint8_t peer_ik[static 32],
                                  const uint8_t peer_ek[static 32]) {
  int rc = crypto_dh(dh[0], spk_sec, peer_ik);
  if (rc == 0 && opk_sec) rc = crypto_dh(dh[3], opk_sec, peer_ek);
  return rc;
}

int x3dh_sk_responder(uint8_t sk[static 32], const uint8_t ik_sec[static 32],
                      const uint8_t spk_sec[static 32], const uint8_t *opk_sec,
                      const uint8_t peer_ik[static 32], const uint8_t peer_ek[static 32]) {
  uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN];
  int rc = crypto_dh(dh[1], ik_sec, peer_ek);
  if (rc == 0) rc = crypto_dh(dh[2], spk_sec, peer_ek);
  if (rc == 0) rc = x3dh_dh_responder_rest(dh, spk_sec, opk_sec, peer_ik, peer_ek);
  if (rc == 0) rc = x3dh_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, opk_sec ? 4 : 3);
  crypto_wipe(dh, sizeof dh);
  return rc;
}

int x3dh_pq_sk_responder(uint8_t sk[static 32], const uint8_t ik_sec[static 32],
                         const uint8_t spk_sec[static 32], const uint8_t *opk_sec,
                         const uint8_t peer_ik[static 32], const uint8_t peer_ek[static 32],
                         const uint8_t pq_dk[static MLKEM768_DK_LEN],
                         const uint8_t ct[static MLKEM768_CT_LEN]) {
  uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN], ss[MLKEM_SS_LEN];
  int rc = mlkem768_decaps(ss, ct, MLKEM768_CT_LEN, pq_dk, MLKEM768_DK_LEN);
  if (rc == 0) rc = crypto_dh(dh[1], ik_sec, peer_ek);
  if (rc == 0) rc = crypto_dh(dh[2], spk_sec, peer_ek);
  if (rc == 0) rc = x3dh_dh_responder_rest(dh, spk_sec, opk_sec, peer_ik, peer_ek);
  if (rc == 0)
    rc = x3dh_pq_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, opk_sec ? 4 : 3, ss,
                     pq_dk + X3DH_DK_EK_OFF, ct);
  crypto_wipe(dh, sizeof dh);
  crypto_wipe(ss, sizeof ss);
  return rc;
}

/* Sealed-sender key and nonce: HKDF(DH(EK_A, IK_B) || DH(EK_A, SPK_B) [|| SS]), suite 2
 * (ss != NULL) with its own info, so a recorded first message needs the KEM secret
 * to tell who wrote it. Unique per EK_A, which is fresh per session; the sealed block
 * is computed once per session. */
static int x3dh_sealed_key(uint8_t okm[static CRYPTO_AEAD_KEY_LEN + CRYPTO_XNONCE_LEN],
                           const uint8_t dh2[static 32], const uint8_t dh3[static 32],
                           const uint8_t *ss) {
  uint8_t ikm[2 * E2E_KEY_LEN + MLKEM_SS_LEN];
  memcpy(ikm, dh2, E2E_KEY_LEN);
  memcpy(ikm + E2E_KEY_LEN, dh3, E2E_KEY_LEN);
  if (ss) memcpy(ikm + 2 * E2E_KEY_LEN, ss, MLKEM_SS_LEN);
  const char *info = ss ? E2E_INFO_SEALED_PQ : E2E_INFO_SEALED;
  int rc = crypto_hkdf(okm, CRYPTO_AEAD_KEY_LEN + CRYPTO_XNONCE_LEN, x3dh_zero,
                       sizeof x3dh_zero, ikm, ss ? sizeof ikm : 2 * E2E_KEY_LEN, info,
                       strlen(info));
  crypto_wipe(ikm, sizeof ikm);
  return rc;
}

/* Bytes of a prekey prefix of this suite (0 for an unknown one). */
static size_t x3dh_suite_prefix_len(uint8_t suite) {
  if (suite == E2E_SUITE_X25519) return E2E_PREKEY_PREFIX_LEN;
  if (suite == E2E_SUITE_X25519_MLKEM768) return E2E_PREKEY_PQ_PREFIX_LEN;
  return 0;
}

static int x3dh_is_prekey(const struct e2e_envelope *env) {
  return env->type == E2E_TYPE_PREKEY || env->type == E2E_TYPE_PREKEY_SUITE;
}

int e2e_envelope_is_prekey(const struct e2e_envelope *env) { return x3dh_is_prekey(env); }

static void x3dh_ad(uint8_t ad[static RATCHET_AD_LEN], const uint8_t *idk_a, const uint8_t *dk_a,
                    const uint8_t *idk_b, const uint8_t *dk_b) {
  memcpy(ad, idk_a, E2E_KEY_LEN);
  memcpy(ad + E2E_KEY_LEN, dk_a, E2E_KEY_LEN);
  memcpy(ad + 2 * E2E_KEY_LEN, idk_b, E2E_KEY_LEN);
  memcpy(ad + 3 * E2E_KEY_LEN, dk_b, E2E_KEY_LEN);
}

/* Build the prekey prefix: version, type [, suite], EK_A, spk_id, opk_id [, KEM
 * ciphertext], sealed sender; s->suite is set. The sealed block's associated data is
 * every prefix byte before it. */
static int x3dh_prefix(struct e2e_session *s, const struct e2e_local *me,
                       const struct e2e_remote *peer, const uint8_t dh2[static 32],
                       const uint8_t dh3[static 32], const uint8_t *ct, const uint8_t *ss,
                       uint64_t now_ms) {
  uint8_t *p = s->prekey_prefix, okm[CRYPTO_AEAD_KEY_LEN + CRYPTO_XNONCE_LEN];
  uint8_t plain[E2E_SEALED_PLAIN_LEN];
  size_t at = 2, ad_len = x3dh_suite_prefix_len(s->suite) - E2E_SEALED_LEN;
  p[0] = E2E_VERSION;
  p[1] = s->suite == E2E_SUITE_X25519 ? E2E_TYPE_PREKEY : E2E_TYPE_PREKEY_SUITE;
  if (s->suite != E2E_SUITE_X25519) p[at++] = s->suite;
  memcpy(p + at, s->base_key, E2E_KEY_LEN);
  be32_put(p + at + E2E_KEY_LEN, peer->spk_id);
  be32_put(p + at + 4 + E2E_KEY_LEN, peer->opk_id);
  if (ct) memcpy(p + at + 8 + E2E_KEY_LEN, ct, MLKEM768_CT_LEN);
  memcpy(plain, me->identity_key, E2E_KEY_LEN);
  memcpy(plain + E2E_KEY_LEN, me->device_key, E2E_KEY_LEN);
  memcpy(plain + 2 * E2E_KEY_LEN, me->dh_pub, E2E_KEY_LEN);
  be64_put(plain + 3 * E2E_KEY_LEN, now_ms);
  int rc = x3dh_sealed_key(okm, dh2, dh3, ss);
  if (rc == 0)
    rc = crypto_aead_seal(p + ad_len, plain, sizeof plain, p, ad_len,
                          okm + CRYPTO_AEAD_KEY_LEN, okm);
  crypto_wipe(okm, sizeof okm);
  crypto_wipe(plain, sizeof plain);
  return rc;
}

/* The initiator's agreement for s->suite: SK and the prekey prefix. */
static int x3dh_initiate_keys(struct e2e_session *s, uint8_t sk[static 32],
                              const struct e2e_local *me, const struct e2e_remote *peer,
                              const uint8_t ek_sec[static 32], uint64_t now_ms) {
  uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN], ct[MLKEM768_CT_LEN], ss[MLKEM_SS_LEN];
  const uint8_t *opk = peer->opk_id ? peer->opk : NULL;
  int pq = s->suite == E2E_SUITE_X25519_MLKEM768, rc = 0;
  if (pq) rc = mlkem768_encaps(ct, ss, peer->pq_key, MLKEM768_EK_LEN);
  if (rc == 0) rc = x3dh_dh_initiator(dh, me->dh_sec, ek_sec, peer->dh_key, peer->spk, opk);
  if (rc == 0 && pq)
    rc = x3dh_pq_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, opk ? 4 : 3, ss, peer->pq_key, ct);
  else if (rc == 0) rc = x3dh_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, opk ? 4 : 3);
  if (rc == 0) rc = x3dh_prefix(s, me, peer, dh[1], dh[2], pq ? ct : NULL, pq ? ss : NULL, now_ms);
  crypto_wipe(dh, sizeof dh);
  crypto_wipe(ss, sizeof ss);
  return rc;
}

int e2e_initiate(struct e2e_session **out, const struct e2e_local *me,
                 const struct e2e_remote *peer, uint64_t now_ms) {
  struct e2e_session *s = NULL;
  uint8_t ek_sec[E2E_KEY_LEN], sk[32];
  int rc;
  *out = NULL;
  if (now_ms >= peer->spk_expires_ms) return MOMEDO_E_EXPIRED;
  if (peer->pq_alg != OBJ_PQ_KEM_NONE && peer->pq_alg != OBJ_PQ_KEM_MLKEM768)
    return MOMEDO_E_VERSION;
  if ((rc = ratchet__alloc(&s)) < 0) return rc;
  s->suite = peer->pq_alg ? E2E_SUITE_X25519_MLKEM768 : E2E_SUITE_X25519;
  rc = crypto_dh_keygen(ek_sec, s->base_key);
  if (rc == 0) rc = x3dh_initiate_keys(s, sk, me, peer, ek_sec, now_ms);
  if (rc == 0) rc = ratchet__init_initiator(s, sk, peer->spk);
  if (rc < 0) goto out;
  x3dh_ad(s->ad, me->identity_key, me->device_key, peer->identity_key, peer->device_key);
  memcpy(s->peer_identity, peer->identity_key, E2E_KEY_LEN);
  memcpy(s->peer_device, peer->device_key, E2E_KEY_LEN);
  memcpy(s->peer_dh, peer->dh_key, E2E_KEY_LEN);
  s->spk_id = peer->spk_id;
  s->initiator = 1;
  s->pending = 1;
  *out = s;
  s = NULL;
out:
  crypto_wipe(ek_sec, sizeof ek_sec);
  crypto_wipe(sk, sizeof sk);
  e2e_session_free(s);
  return rc;
}

/* ---- envelope ---- */

static size_t x3dh_prefix_len(const struct e2e_session *s) {
  return s->pending ? x3dh_suite_prefix_len(s->suite) : E2E_MESSAGE_PREFIX_LEN;
}

size_t e2e_padded_len(size_t len) {
  size_t n = E2E_PAD_MIN;
  while (n < len + 1 && n < E2E_PADDED_MAX / 2 + 1) n *= 2;
  return n < len + 1 ? E2E_PADDED_MAX : n;
}

size_t e2e_envelope_len(const struct e2e_session *s, size_t len) {
  return x3dh_prefix_len(s) + E2E_HEADER_LEN + e2e_padded_len(len) + CRYPTO_TAG_LEN;
}

int e2e_encrypt(struct e2e_session *s, const uint8_t *pt, size_t len, uint8_t *out,
                size_t cap, size_t *out_len) {
  static const uint8_t plain_prefix[E2E_MESSAGE_PREFIX_LEN] = {E2E_VERSION, E2E_TYPE_MESSAGE};
  *out_len = 0;
  if (len > E2E_PLAINTEXT_MAX) return MOMEDO_E_TOOBIG;
  if (cap < e2e_envelope_len(s, len)) return MOMEDO_E_NOSPACE;
  size_t pre_len = x3dh_prefix_len(s), padded = e2e_padded_len(len);
  const uint8_t *pre = s->pending ? s->prekey_prefix : plain_prefix;
  uint8_t *buf = calloc(1, padded);
  if (buf == NULL) return MOMEDO_E_NOMEM;
  if (len) memcpy(buf, pt, len);
  buf[len] = E2E_PAD_MARK;
  memcpy(out, pre, pre_len);
  int rc = ratchet__seal(s, pre, pre_len, buf, padded, out + pre_len,
                         out + pre_len + E2E_HEADER_LEN);
  crypto_wipe(buf, padded);
  free(buf);
  if (rc < 0) {
    crypto_wipe(out, e2e_envelope_len(s, len));
    return rc;
  }
  *out_len = e2e_envelope_len(s, len);
  return 0;
}

static int x3dh_parse_prefix(struct e2e_envelope *env, struct cursor *r) {
  int rc = cursor_get_u8(r, &env->version);
  if (rc == 0) rc = cursor_get_u8(r, &env->type);
  if (rc < 0) return rc;
  if (env->version != E2E_VERSION) return MOMEDO_E_VERSION;
  if (env->type == E2E_TYPE_MESSAGE) return 0;
  env->suite = E2E_SUITE_X25519;
  if (env->type == E2E_TYPE_PREKEY_SUITE) {
    if ((rc = cursor_get_u8(r, &env->suite)) < 0) return rc;
    /* type 3 names a suite above 1; one this build does not know is a newer version */
    if (env->suite != E2E_SUITE_X25519_MLKEM768) return MOMEDO_E_VERSION;
  } else if (env->type != E2E_TYPE_PREKEY) {
    return MOMEDO_E_UNKNOWN_KIND;
  }
  rc = cursor_take(r, &env->ek, E2E_KEY_LEN);
  if (rc == 0) rc = cursor_get_be32(r, &env->spk_id);
  if (rc == 0) rc = cursor_get_be32(r, &env->opk_id);
  if (rc == 0 && env->suite == E2E_SUITE_X25519_MLKEM768)
    rc = cursor_take(r, &env->kem_ct, MLKEM768_CT_LEN);
  if (rc == 0) rc = cursor_take(r, &env->sealed, E2E_SEALED_LEN);
  return rc;
}

int e2e_envelope_parse(struct e2e_envelope *env, const uint8_t *buf, size_t len) {
  struct cursor r;
  memset(env, 0, sizeof *env);
  if (len > E2E_ENVELOPE_MAX) return MOMEDO_E_TOOBIG;
  cursor_init(&r, (uint8_t *)buf, len);
  int rc = x3dh_parse_prefix(env, &r);
  if (rc < 0) return rc;
  env->prefix = buf;
  env->prefix_len = r.pos;
  if ((rc = cursor_take(&r, &env->header, E2E_HEADER_LEN)) < 0) return rc;
  env->tag = env->header;
  env->dh = env->header + E2E_TAG_LEN;
  env->pn = be32_get(env->header + E2E_TAG_LEN + E2E_KEY_LEN);
  env->n = be32_get(env->header + E2E_TAG_LEN + E2E_KEY_LEN + 4);
  if (cursor_left(&r) < CRYPTO_TAG_LEN) return MOMEDO_E_TRUNCATED;
  env->ct = buf + r.pos;
  env->ct_len = cursor_left(&r);
  return 0;
}

int e2e_session_matches(const struct e2e_session *s, const struct e2e_envelope *env) {
  return ratchet__matches_tag(s, env->tag);
}

int e2e_decrypt(struct e2e_session *s, const struct e2e_envelope *env, uint8_t *pt,
                size_t cap, size_t *pt_len) {
  *pt_len = 0;
  if (env->ct_len < CRYPTO_TAG_LEN) return MOMEDO_E_TRUNCATED;
  if (cap < env->ct_len - CRYPTO_TAG_LEN) return MOMEDO_E_NOSPACE;
  /* A prekey message only goes to the responder of the session that EK_A created,
   * in that session's suite. */
  if (x3dh_is_prekey(env) && (s->initiator || env->suite != s->suite ||
                              memcmp(env->ek, s->base_key, E2E_KEY_LEN) != 0))
    return MOMEDO_E_DECRYPT;
  return ratchet__open(s, env->prefix, env->prefix_len, env->header, env->ct, env->ct_len, pt,
                       pt_len);
}

/* ---- accepting a first message ---- */

struct e2e_replay {
  uint32_t spk_id;
  uint32_t count;         /* entries [0, count), oldest first */
  uint64_t watermark_ms;  /* sender time of the newest evicted entry; never past our clock */
  struct {
    uint8_t ek[E2E_KEY_LEN];
    uint64_t created_ms;
  } e[E2E_REPLAY_MAX];
};

static int x3dh_replay_seen(const struct e2e_replay *rp, const uint8_t ek[static 32]) {
  for (uint32_t i = 0; i < rp->count; i++)
    if (memcmp(rp->e[i].ek, ek, E2E_KEY_LEN) == 0) return 1;
  return 0;
}

/* The entry a full set evicts: the oldest whose sender time is not ahead of now_ms, so
 * the watermark (the evicted entry's sender time, which keeps replays of it refused)
 * never passes the recipient's clock. -1 when every entry is dated ahead of now_ms. */
static long x3dh_replay_victim(const struct e2e_replay *rp, uint64_t now_ms) {
  for (uint32_t i = 0; i < rp->count; i++)
    if (rp->e[i].created_ms <= now_ms) return (long)i;
  return -1;
}

/* Open the sealed sender header with DH2, DH3 [and SS] and check its time against the
 * rules. */
static int x3dh_open_sealed(struct e2e_sender *from, const struct e2e_envelope *env,
                            const uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN], const uint8_t *ss,
                            const struct e2e_prekey *spk, const struct e2e_replay *rp,
                            uint64_t now_ms) {
  uint8_t okm[CRYPTO_AEAD_KEY_LEN + CRYPTO_XNONCE_LEN], plain[E2E_SEALED_PLAIN_LEN];
  int rc = x3dh_sealed_key(okm, dh[1], dh[2], ss);
  if (rc == 0)
    rc = crypto_aead_open(plain, env->sealed, E2E_SEALED_LEN, env->prefix,
                          (size_t)(env->sealed - env->prefix), okm + CRYPTO_AEAD_KEY_LEN, okm);
  crypto_wipe(okm, sizeof okm);
  if (rc < 0) return MOMEDO_E_DECRYPT;
  memcpy(from->identity_key, plain, E2E_KEY_LEN);
  memcpy(from->device_key, plain + E2E_KEY_LEN, E2E_KEY_LEN);
  memcpy(from->dh_key, plain + 2 * E2E_KEY_LEN, E2E_KEY_LEN);
  from->created_ms = be64_get(plain + 3 * E2E_KEY_LEN);
  if (from->created_ms > now_ms + E2E_CLOCK_SKEW_MS_MAX) return MOMEDO_E_FUTURE;
  if (from->created_ms <= rp->watermark_ms) return MOMEDO_E_EXPIRED;
  if (from->created_ms >= spk->expires_ms + E2E_CLOCK_SKEW_MS_MAX) return MOMEDO_E_EXPIRED;
  return 0;
}

/* Create the responder session from the opened header and decrypt the message. */
static int x3dh_respond(struct e2e_session **out, const struct e2e_sender *from,
                        const struct e2e_local *me, const struct e2e_prekey *spk,
                        const uint8_t sk[static 32], const struct e2e_envelope *env,
                        uint8_t *pt, size_t *pt_len) {
  struct e2e_session *s = NULL;
  int rc = ratchet__alloc(&s);
  if (rc < 0) return rc;
  rc = ratchet__init_responder(s, sk, spk->sec, spk->pub);
  x3dh_ad(s->ad, from->identity_key, from->device_key, me->identity_key, me->device_key);
  memcpy(s->peer_identity, from->identity_key, E2E_KEY_LEN);
  memcpy(s->peer_device, from->device_key, E2E_KEY_LEN);
  memcpy(s->peer_dh, from->dh_key, E2E_KEY_LEN);
  memcpy(s->base_key, env->ek, E2E_KEY_LEN);
  s->spk_id = spk->id;
  s->suite = env->suite;
  if (rc == 0)
    rc = ratchet__open(s, env->prefix, env->prefix_len, env->header, env->ct, env->ct_len, pt,
                       pt_len);
  if (rc < 0) {
    e2e_session_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* The responder's agreement: [SS from the KEM ciphertext,] DH2, DH3, the sealed
 * header, DH1 [, DH4] and SK. */
static int x3dh_accept_keys(uint8_t sk[static 32], struct e2e_sender *from,
                            const struct e2e_local *me, const struct e2e_prekey *spk,
                            const uint8_t *opk, const struct e2e_replay *rp,
                            const struct e2e_envelope *env, uint64_t now_ms) {
  uint8_t dh[X3DH_DH_MAX][E2E_KEY_LEN], ss[MLKEM_SS_LEN];
  int pq = env->suite == E2E_SUITE_X25519_MLKEM768, rc = 0;
  if (pq) rc = mlkem768_decaps(ss, env->kem_ct, MLKEM768_CT_LEN, spk->pq_dk, MLKEM768_DK_LEN);
  if (rc == 0) rc = crypto_dh(dh[1], me->dh_sec, env->ek);
  if (rc == 0) rc = crypto_dh(dh[2], spk->sec, env->ek);
  if (rc == 0)
    rc = x3dh_open_sealed(from, env, (const uint8_t(*)[E2E_KEY_LEN])dh, pq ? ss : NULL, spk, rp,
                          now_ms);
  if (rc == 0) rc = x3dh_dh_responder_rest(dh, spk->sec, opk, from->dh_key, env->ek);
  if (rc == 0 && pq)
    rc = x3dh_pq_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, opk ? 4 : 3, ss,
                     spk->pq_dk + X3DH_DK_EK_OFF, env->kem_ct);
  else if (rc == 0) rc = x3dh_kdf(sk, (const uint8_t(*)[E2E_KEY_LEN])dh, opk ? 4 : 3);
  crypto_wipe(dh, sizeof dh);
  crypto_wipe(ss, sizeof ss);
  return rc;
}

int e2e_accept(struct e2e_session **out, struct e2e_sender *from, const struct e2e_local *me,
               const struct e2e_prekey *spk, const uint8_t *opk_sec,
               const struct e2e_replay *rp, const struct e2e_envelope *env, uint64_t now_ms,
               uint8_t *pt, size_t cap, size_t *pt_len) {
  uint8_t sk[32];
  int rc;
  *out = NULL;
  *pt_len = 0;
  memset(from, 0, sizeof *from);
  if (!x3dh_is_prekey(env)) return MOMEDO_E_UNEXPECTED;
  if (spk->id != env->spk_id || rp == NULL || rp->spk_id != env->spk_id) return MOMEDO_E_INVAL;
  if (env->opk_id != 0 && opk_sec == NULL) return MOMEDO_E_NOTFOUND;
  if (env->suite == E2E_SUITE_X25519_MLKEM768 && spk->pq_dk == NULL) return MOMEDO_E_NOTFOUND;
  if (env->ct_len < CRYPTO_TAG_LEN) return MOMEDO_E_TRUNCATED;
  if (cap < env->ct_len - CRYPTO_TAG_LEN) return MOMEDO_E_NOSPACE;
  if (x3dh_replay_seen(rp, env->ek)) return MOMEDO_E_EXISTS;
  if (rp->count == E2E_REPLAY_MAX && x3dh_replay_victim(rp, now_ms) < 0) return MOMEDO_E_BUSY;
  const uint8_t *opk = env->opk_id ? opk_sec : NULL;
  rc = x3dh_accept_keys(sk, from, me, spk, opk, rp, env, now_ms);
  if (rc == 0) rc = x3dh_respond(out, from, me, spk, sk, env, pt, pt_len);
  if (rc) memset(from, 0, sizeof *from);
  else {
    from->suite = env->suite;
    from->pq_offered = spk->pq_dk != NULL;
  }
  crypto_wipe(sk, sizeof sk);
  return rc;
}

/* ---- bundles ---- */

int e2e_remote_from_device(struct e2e_remote *r, const uint8_t identity_key[static E2E_KEY_LEN],
                           const Momedo__DeviceKeys *d, uint64_t now_ms) {
  memset(r, 0, sizeof *r);
  if (d->device_key.len != E2E_KEY_LEN || d->dh_key.len != E2E_KEY_LEN ||
      d->signed_prekey.len != E2E_KEY_LEN || d->prekey_signature.len != CRYPTO_SIG_LEN)
    return MOMEDO_E_BOUNDS;
  if (d->pq_kem_alg != OBJ_PQ_KEM_NONE && d->pq_kem_alg != OBJ_PQ_KEM_MLKEM768)
    return MOMEDO_E_VERSION;
  if (d->pq_kem_key.len != (d->pq_kem_alg ? MLKEM768_EK_LEN : 0)) return MOMEDO_E_BOUNDS;
  int rc = obj_prekey_verify_pq(d->prekey_signature.data, d->prekey_id, d->prekey_expires_ms,
                                d->signed_prekey.data, d->pq_kem_alg, d->pq_kem_key.data,
                                d->pq_kem_key.len, d->device_key.data);
  if (rc == 0 && d->pq_kem_alg) rc = mlkem768_ek_check(d->pq_kem_key.data, d->pq_kem_key.len);
  if (rc < 0) return rc;
  if (now_ms >= d->prekey_expires_ms) return MOMEDO_E_EXPIRED;
  memcpy(r->identity_key, identity_key, E2E_KEY_LEN);
  memcpy(r->device_key, d->device_key.data, E2E_KEY_LEN);
  memcpy(r->dh_key, d->dh_key.data, E2E_KEY_LEN);
  memcpy(r->spk, d->signed_prekey.data, E2E_KEY_LEN);
  r->spk_id = d->prekey_id;
  r->spk_expires_ms = d->prekey_expires_ms;
  r->pq_alg = d->pq_kem_alg;
  if (d->pq_kem_alg) memcpy(r->pq_key, d->pq_kem_key.data, MLKEM768_EK_LEN);
  return 0;
}

int e2e_sender_suite_check(const struct e2e_sender *from, uint32_t sender_pq_alg) {
  if (from->suite < E2E_SUITE_X25519_MLKEM768 && from->pq_offered &&
      sender_pq_alg != OBJ_PQ_KEM_NONE)
    return MOMEDO_E_DOWNGRADE;
  return 0;
}

int e2e_sender_check(const Momedo__KeyBundle *b, const struct e2e_sender *from) {
  if (b->identity_key.len != E2E_KEY_LEN ||
      memcmp(b->identity_key.data, from->identity_key, E2E_KEY_LEN) != 0)
    return MOMEDO_E_KEYCHANGED;
  if (b->revoked) return MOMEDO_E_DEAD;
  for (size_t i = 0; i < b->n_devices; i++) {
    const Momedo__DeviceKeys *d = b->devices[i];
    if (d->device_key.len == E2E_KEY_LEN && d->dh_key.len == E2E_KEY_LEN &&
        memcmp(d->device_key.data, from->device_key, E2E_KEY_LEN) == 0 &&
        memcmp(d->dh_key.data, from->dh_key, E2E_KEY_LEN) == 0)
      return e2e_sender_suite_check(from, d->pq_kem_alg);
  }
  return MOMEDO_E_NOTFOUND;
}

/* ---- replay set ---- */

int e2e_replay_new(struct e2e_replay **out, uint32_t spk_id) {
  *out = calloc(1, sizeof **out);
  if (*out == NULL) return MOMEDO_E_NOMEM;
  (*out)->spk_id = spk_id;
  return 0;
}

void e2e_replay_free(struct e2e_replay *rp) { free(rp); }

uint32_t e2e_replay_count(const struct e2e_replay *rp) { return rp->count; }

int e2e_replay_add(struct e2e_replay *rp, const struct e2e_envelope *env, uint64_t created_ms,
                   uint64_t now_ms) {
  if (!x3dh_is_prekey(env) || env->spk_id != rp->spk_id) return MOMEDO_E_INVAL;
  if (x3dh_replay_seen(rp, env->ek)) return MOMEDO_E_EXISTS;
  if (rp->count == E2E_REPLAY_MAX) {
    long v = x3dh_replay_victim(rp, now_ms);
    if (v < 0) return MOMEDO_E_BUSY;
    if (rp->e[v].created_ms > rp->watermark_ms) rp->watermark_ms = rp->e[v].created_ms;
    memmove(&rp->e[v], &rp->e[v + 1], (rp->count - (uint32_t)v - 1) * sizeof rp->e[0]);
    rp->count--;
  }
  memcpy(rp->e[rp->count].ek, env->ek, E2E_KEY_LEN);
  rp->e[rp->count++].created_ms = created_ms;
  return 0;
}

/* "MDRP" | version | be32 spk_id | be64 watermark | be16 count | (EK, be64 created)* |
 * SHA-256 of everything before. Entries oldest first. */
int e2e_replay_save(const struct e2e_replay *rp, uint8_t **out, size_t *out_len) {
  size_t len = 4 + 1 + 4 + 8 + 2 + rp->count * X3DH_REPLAY_REC + CRYPTO_HASH_LEN;
  uint8_t *buf = malloc(len);
  struct cursor w;
  *out = NULL;
  *out_len = 0;
  if (buf == NULL) return MOMEDO_E_NOMEM;
  cursor_init(&w, buf, len);
  int rc = cursor_put_bytes(&w, X3DH_REPLAY_MAGIC, 4);
  if (rc == 0) rc = cursor_put_u8(&w, X3DH_REPLAY_VERSION);
  if (rc == 0) rc = cursor_put_be32(&w, rp->spk_id);
  if (rc == 0) rc = cursor_put_be64(&w, rp->watermark_ms);
  if (rc == 0) rc = cursor_put_be16(&w, (uint16_t)rp->count);
  for (uint32_t i = 0; rc == 0 && i < rp->count; i++) {
    rc = cursor_put_bytes(&w, rp->e[i].ek, E2E_KEY_LEN);
    if (rc == 0) rc = cursor_put_be64(&w, rp->e[i].created_ms);
  }
  if (rc == 0) rc = crypto_sha256(buf + w.pos, buf, w.pos);
  if (rc < 0) {
    free(buf);
    return rc;
  }
  *out = buf;
  *out_len = len;
  return 0;
}

static int x3dh_replay_get(struct cursor *r, struct e2e_replay *rp) {
  uint8_t magic[4], version;
  uint16_t count = 0;
  int rc = cursor_get_bytes(r, magic, 4);
  if (rc == 0) rc = cursor_get_u8(r, &version);
  if (rc == 0 && memcmp(magic, X3DH_REPLAY_MAGIC, 4) != 0) rc = MOMEDO_E_CORRUPT;
  if (rc == 0 && version != X3DH_REPLAY_VERSION) rc = MOMEDO_E_VERSION;
  if (rc == 0) rc = cursor_get_be32(r, &rp->spk_id);
  if (rc == 0) rc = cursor_get_be64(r, &rp->watermark_ms);
  if (rc == 0) rc = cursor_get_be16(r, &count);
  if (rc == 0 && count > E2E_REPLAY_MAX) rc = MOMEDO_E_CORRUPT;
  for (uint32_t i = 0; rc == 0 && i < count; i++, rp->count++) {
    rc = cursor_get_bytes(r, rp->e[i].ek, E2E_KEY_LEN);
    if (rc == 0) rc = cursor_get_be64(r, &rp->e[i].created_ms);
  }
  if (rc == MOMEDO_E_TRUNCATED || (rc == 0 && cursor_left(r) != 0)) rc = MOMEDO_E_CORRUPT;
  return rc;
}

int e2e_replay_load(struct e2e_replay **out, const uint8_t *buf, size_t len) {
  uint8_t sum[CRYPTO_HASH_LEN];
  struct cursor r;
  struct e2e_replay *rp = NULL;
  *out = NULL;
  if (len < 4 + 1 + 4 + 8 + 2 + CRYPTO_HASH_LEN) return MOMEDO_E_TRUNCATED;
  if (len > 4 + 1 + 4 + 8 + 2 + (size_t)E2E_REPLAY_MAX * X3DH_REPLAY_REC + CRYPTO_HASH_LEN)
    return MOMEDO_E_TOOBIG;
  int rc = crypto_sha256(sum, buf, len - CRYPTO_HASH_LEN);
  if (rc < 0) return rc;
  if (!crypto_ct_eq(sum, buf + len - CRYPTO_HASH_LEN, CRYPTO_HASH_LEN)) return MOMEDO_E_CORRUPT;
  if ((rc = e2e_replay_new(&rp, 0)) < 0) return rc;
  cursor_init(&r, (uint8_t *)buf, len - CRYPTO_HASH_LEN);
  if ((rc = x3dh_replay_get(&r, rp)) < 0) {
    free(rp);
    return rc;
  }
  *out = rp;
  return 0;
}
