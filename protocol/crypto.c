/* protocol/crypto.c — the wolfCrypt wrappers declared in crypto.h, and the one
 * process-wide DRBG. Owns the mapping of wolfCrypt's quirks (byte order, argument
 * widths, status codes) onto momedo's conventions. Must not log, keep secrets in
 * static storage, or leave secrets in wolfCrypt key structs after returning. */
#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* wolfCrypt takes word32 (sometimes int) lengths; anything larger is refused. */
#define CRYPTO_LEN_MAX ((size_t)UINT32_MAX - CRYPTO_TAG_LEN)
/* wc_RNG_GenerateBlock refuses requests above RNG_MAX_BLOCK_LEN (64 KiB or one less,
 * depending on the build). */
#define CRYPTO_RNG_CHUNK_MAX ((size_t)RNG_MAX_BLOCK_LEN)
/* scrypt bounds: beyond these the memory (128 * r * 2^log2_n bytes) or time is absurd. */
#define CRYPTO_SCRYPT_LOG2_N_MAX 22u
#define CRYPTO_SCRYPT_R_MAX 32u
#define CRYPTO_SCRYPT_P_MAX 16u

/* Ed25519 group order L, little-endian, for the S < L check of RFC 8032 5.1.7. */
static const uint8_t crypto_ed25519_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
    0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

/* ---- wiping and comparing ---------------------------------------------- */

void crypto_wipe(void *p, size_t n) {
  volatile uint8_t *v = p;
  while (n--) *v++ = 0;
  /* Tell the compiler the zeroed memory may be read by someone it cannot see. */
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

int crypto_ct_eq(const void *a, const void *b, size_t n) {
  const volatile uint8_t *x = a, *y = b;
  uint8_t d = 0;
  for (size_t i = 0; i < n; i++) d |= (uint8_t)(x[i] ^ y[i]);
  /* 1 if d == 0, without a data-dependent branch. */
  return (int)(1 & ((d - 1u) >> 8));
}

/* ---- DRBG ---------------------------------------------------------------- */

static pthread_once_t crypto_rng_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t crypto_rng_lock = PTHREAD_MUTEX_INITIALIZER;
static WC_RNG crypto_rng;
static int crypto_rng_ok;    /* guarded by crypto_rng_lock after the once */
static int crypto_rng_stale; /* set in a forked child: parent and child must not share a stream */

/* fork() copies the DRBG state; the child reseeds before its first use. Holding the
 * lock across fork keeps the child from inheriting a mutex locked by another thread. */
static void crypto_rng_prefork(void) { pthread_mutex_lock(&crypto_rng_lock); }
static void crypto_rng_postfork_parent(void) { pthread_mutex_unlock(&crypto_rng_lock); }
static void crypto_rng_postfork_child(void) {
  crypto_rng_stale = 1;
  pthread_mutex_unlock(&crypto_rng_lock);
}

static void crypto_rng_init_once(void) {
  crypto_rng_ok = wc_InitRng(&crypto_rng) == 0;
  (void)pthread_atfork(crypto_rng_prefork, crypto_rng_postfork_parent,
                       crypto_rng_postfork_child);
}

int crypto_random(void *buf, size_t len) {
  uint8_t *p = buf;
  int rc = 0;
  if (pthread_once(&crypto_rng_once, crypto_rng_init_once) != 0) return MOMEDO_E_RNG;
  pthread_mutex_lock(&crypto_rng_lock);
  if (crypto_rng_stale) {
    if (crypto_rng_ok) (void)wc_FreeRng(&crypto_rng);
    crypto_rng_ok = wc_InitRng(&crypto_rng) == 0;
    crypto_rng_stale = 0;
  }
  if (!crypto_rng_ok) {
    rc = MOMEDO_E_RNG;
    goto out;
  }
  while (len > 0) {
    word32 n = (word32)(len > CRYPTO_RNG_CHUNK_MAX ? CRYPTO_RNG_CHUNK_MAX : len);
    if (wc_RNG_GenerateBlock(&crypto_rng, p, n) != 0) {
      rc = MOMEDO_E_RNG;
      goto out;
    }
    p += n;
    len -= n;
  }
out:
  pthread_mutex_unlock(&crypto_rng_lock);
  if (rc != 0) crypto_wipe(buf, (size_t)(p - (uint8_t *)buf));
  return rc;
}

/* ---- Ed25519 -------------------------------------------------------------- */

static void crypto_ed_close(ed25519_key *k) {
  wc_ed25519_free(k);
  crypto_wipe(k, sizeof *k);
}

int crypto_sign_from_seed(struct crypto_sign_keypair *kp,
                          const uint8_t seed[static CRYPTO_SIGN_SEED_LEN]) {
  ed25519_key k;
  uint8_t pub[CRYPTO_SIGN_PUB_LEN];
  int rc = MOMEDO_E_CRYPTO;
  if (wc_ed25519_init(&k) != 0) return MOMEDO_E_CRYPTO;
  if (wc_ed25519_import_private_only(seed, CRYPTO_SIGN_SEED_LEN, &k) != 0) goto out;
  if (wc_ed25519_make_public(&k, pub, sizeof pub) != 0) goto out;
  memmove(kp->seed, seed, CRYPTO_SIGN_SEED_LEN); /* seed may alias kp->seed */
  memcpy(kp->pub, pub, sizeof pub);
  rc = 0;
out:
  crypto_ed_close(&k);
  return rc;
}

int crypto_sign_keygen(struct crypto_sign_keypair *kp) {
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
  int rc = crypto_random(seed, sizeof seed);
  if (rc == 0) rc = crypto_sign_from_seed(kp, seed);
  crypto_wipe(seed, sizeof seed);
  return rc;
}

/* Signing trusts kp->pub (it was derived by crypto_sign_from_seed). A pub that does
 * not belong to the seed would make signatures that leak the key, so the import
 * re-derives and compares (trusted = 0): E_BADKEY on a mismatch. */
int crypto_sign(uint8_t sig[static CRYPTO_SIG_LEN], const void *msg, size_t len,
                const struct crypto_sign_keypair *kp) {
  ed25519_key k;
  word32 sig_len = CRYPTO_SIG_LEN;
  int rc = MOMEDO_E_CRYPTO;
  if (len > CRYPTO_LEN_MAX || (msg == NULL && len > 0)) return MOMEDO_E_INVAL;
  if (wc_ed25519_init(&k) != 0) return MOMEDO_E_CRYPTO;
  if (wc_ed25519_import_private_key_ex(kp->seed, CRYPTO_SIGN_SEED_LEN, kp->pub,
                                       CRYPTO_SIGN_PUB_LEN, &k, 0) != 0) {
    rc = MOMEDO_E_BADKEY;
    goto out;
  }
  if (wc_ed25519_sign_msg(len ? msg : (const void *)"", (word32)len, sig, &sig_len, &k) !=
          0 ||
      sig_len != CRYPTO_SIG_LEN)
    goto out;
  rc = 0;
out:
  crypto_ed_close(&k);
  return rc;
}

/* A key pair imported once: crypto_sign imports (and so checks) the pair at every call,
 * which costs as much again as the signature. */
struct crypto_signer {
  ed25519_key k;
};

int crypto_signer_new(const struct crypto_sign_keypair *kp, struct crypto_signer **out) {
  struct crypto_signer *s = malloc(sizeof *s);
  *out = NULL;
  if (!s) return MOMEDO_E_NOMEM;
  if (wc_ed25519_init(&s->k) != 0) {
    free(s);
    return MOMEDO_E_CRYPTO;
  }
  if (wc_ed25519_import_private_key_ex(kp->seed, CRYPTO_SIGN_SEED_LEN, kp->pub,
                                       CRYPTO_SIGN_PUB_LEN, &s->k, 0) != 0) {
    crypto_signer_free(s);
    return MOMEDO_E_BADKEY;
  }
  *out = s;
  return 0;
}

int crypto_signer_sign(struct crypto_signer *s, uint8_t sig[static CRYPTO_SIG_LEN],
                       const void *msg, size_t len) {
  word32 sig_len = CRYPTO_SIG_LEN;
  if (len > CRYPTO_LEN_MAX || (msg == NULL && len > 0)) return MOMEDO_E_INVAL;
  if (wc_ed25519_sign_msg(len ? msg : (const void *)"", (word32)len, sig, &sig_len, &s->k) != 0 ||
      sig_len != CRYPTO_SIG_LEN)
    return MOMEDO_E_CRYPTO;
  return 0;
}

void crypto_signer_free(struct crypto_signer *s) {
  if (!s) return;
  crypto_ed_close(&s->k);
  free(s);
}

/* 1 if the little-endian scalar s is below the group order (canonical S). */
static int crypto_ed_scalar_canonical(const uint8_t s[32]) {
  for (int i = 31; i >= 0; i--) {
    if (s[i] < crypto_ed25519_order[i]) return 1;
    if (s[i] > crypto_ed25519_order[i]) return 0;
  }
  return 0; /* equal to L */
}

int crypto_verify(const uint8_t sig[static CRYPTO_SIG_LEN], const void *msg, size_t len,
                  const uint8_t pub[static CRYPTO_SIGN_PUB_LEN]) {
  ed25519_key k;
  int res = 0, rc = MOMEDO_E_BADSIG;
  if (len > CRYPTO_LEN_MAX || (msg == NULL && len > 0)) return MOMEDO_E_INVAL;
  /* A non-canonical S would make signatures malleable (object IDs hash them). */
  if (!crypto_ed_scalar_canonical(sig + 32)) return MOMEDO_E_BADSIG;
  if (wc_ed25519_init(&k) != 0) return MOMEDO_E_CRYPTO;
  if (wc_ed25519_import_public(pub, CRYPTO_SIGN_PUB_LEN, &k) != 0) goto out;
  if (wc_ed25519_verify_msg(sig, CRYPTO_SIG_LEN, len ? msg : (const void *)"", (word32)len,
                            &res, &k) != 0)
    goto out;
  if (res == 1) rc = 0;
out:
  crypto_ed_close(&k);
  return rc;
}

/* ---- X25519 --------------------------------------------------------------- */

static void crypto_x_close(curve25519_key *k) {
  wc_curve25519_free(k);
  crypto_wipe(k, sizeof *k);
}

/* wolfCrypt insists on pre-clamped scalars; RFC 7748 clamps inside X25519, so
 * clamping first gives the same function on every input. */
static void crypto_x_clamp(uint8_t out[CRYPTO_DH_LEN], const uint8_t sec[CRYPTO_DH_LEN]) {
  memcpy(out, sec, CRYPTO_DH_LEN);
  out[0] &= 248;
  out[31] &= 127;
  out[31] |= 64;
}

int crypto_dh_public(uint8_t pub[static CRYPTO_DH_LEN],
                     const uint8_t sec[static CRYPTO_DH_LEN]) {
  uint8_t k[CRYPTO_DH_LEN];
  crypto_x_clamp(k, sec);
  int rc = wc_curve25519_make_pub(CRYPTO_DH_LEN, pub, CRYPTO_DH_LEN, k) == 0
               ? 0
               : MOMEDO_E_CRYPTO;
  crypto_wipe(k, sizeof k);
  return rc;
}

int crypto_dh_keygen(uint8_t sec[static CRYPTO_DH_LEN], uint8_t pub[static CRYPTO_DH_LEN]) {
  int rc = crypto_random(sec, CRYPTO_DH_LEN);
  if (rc != 0) return rc;
  sec[0] &= 248; /* store the clamped form: same key, canonical bytes */
  sec[31] &= 127;
  sec[31] |= 64;
  rc = crypto_dh_public(pub, sec);
  if (rc != 0) crypto_wipe(sec, CRYPTO_DH_LEN);
  return rc;
}

int crypto_dh(uint8_t shared[static CRYPTO_DH_LEN], const uint8_t sec[static CRYPTO_DH_LEN],
              const uint8_t peer[static CRYPTO_DH_LEN]) {
  static const uint8_t zero[CRYPTO_DH_LEN];
  curve25519_key ks, kp;
  uint8_t k[CRYPTO_DH_LEN], u[CRYPTO_DH_LEN], out[CRYPTO_DH_LEN];
  word32 out_len = sizeof out;
  int rc = MOMEDO_E_CRYPTO, w;
  memset(&ks, 0, sizeof ks); /* so the cleanup below is safe whatever fails */
  memset(&kp, 0, sizeof kp);
  crypto_x_clamp(k, sec);
  memcpy(u, peer, sizeof u);
  u[31] &= 127; /* RFC 7748 5: implementations MUST mask the top bit of u */
  if (wc_curve25519_init(&ks) != 0 || wc_curve25519_init(&kp) != 0) goto out;
  if (wc_curve25519_import_private_ex(k, sizeof k, &ks, EC25519_LITTLE_ENDIAN) != 0)
    goto out;
  if (wc_curve25519_import_public_ex(u, sizeof u, &kp, EC25519_LITTLE_ENDIAN) != 0) {
    rc = MOMEDO_E_BADKEY;
    goto out;
  }
  w = wc_curve25519_shared_secret_ex(&ks, &kp, out, &out_len, EC25519_LITTLE_ENDIAN);
  if (w == ECC_OUT_OF_RANGE_E) rc = MOMEDO_E_BADKEY; /* wolfCrypt's own zero check */
  if (w != 0 || out_len != CRYPTO_DH_LEN) goto out;
  if (crypto_ct_eq(out, zero, sizeof out)) { /* low-order peer point */
    rc = MOMEDO_E_BADKEY;
    goto out;
  }
  memcpy(shared, out, sizeof out);
  rc = 0;
out:
  crypto_x_close(&kp);
  crypto_x_close(&ks);
  crypto_wipe(k, sizeof k);
  crypto_wipe(out, sizeof out);
  return rc;
}

/* ---- AEAD ------------------------------------------------------------------ */

/* wolfCrypt checks pointers even for empty inputs; hand it a harmless one. */
static const uint8_t crypto_empty[1];
#define CRYPTO_NZ(p, n) ((n) > 0 ? (const uint8_t *)(p) : crypto_empty)

int crypto_aead_seal(uint8_t *out, const uint8_t *pt, size_t len, const uint8_t *ad,
                     size_t ad_len, const uint8_t nonce[static CRYPTO_XNONCE_LEN],
                     const uint8_t key[static CRYPTO_AEAD_KEY_LEN]) {
  if (len > CRYPTO_LEN_MAX || ad_len > CRYPTO_LEN_MAX) return MOMEDO_E_INVAL;
  if (wc_XChaCha20Poly1305_Encrypt(out, len + CRYPTO_TAG_LEN, CRYPTO_NZ(pt, len), len,
                                   CRYPTO_NZ(ad, ad_len), ad_len, nonce,
                                   CRYPTO_XNONCE_LEN, key, CRYPTO_AEAD_KEY_LEN) != 0)
    return MOMEDO_E_CRYPTO;
  return 0;
}

/* 1 if [a, a+an) and [b, b+bn) share a byte. */
static int crypto_overlap(const void *a, size_t an, const void *b, size_t bn) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return an > 0 && bn > 0 && x < y + bn && y < x + an;
}

/* wolfCrypt 5.5.4's one-shot wc_XChaCha20Poly1305_Decrypt decrypts into dst and then
 * MACs src, so it fails whenever out overlaps in. Its streaming API cannot stand in:
 * wc_XChaCha20Poly1305_Init absorbs the AD without recording its length, and its header
 * names the (nonce, key) parameters in the wrong order. So an overlapping call
 * decrypts into a temporary buffer and copies on success. */
int crypto_aead_open(uint8_t *out, const uint8_t *in, size_t len, const uint8_t *ad,
                     size_t ad_len, const uint8_t nonce[static CRYPTO_XNONCE_LEN],
                     const uint8_t key[static CRYPTO_AEAD_KEY_LEN]) {
  if (len < CRYPTO_TAG_LEN) return MOMEDO_E_DECRYPT;
  if (len > CRYPTO_LEN_MAX + CRYPTO_TAG_LEN || ad_len > CRYPTO_LEN_MAX)
    return MOMEDO_E_INVAL;
  size_t pt_len = len - CRYPTO_TAG_LEN;
  uint8_t dummy[1];
  uint8_t *dst = pt_len ? out : dummy; /* wolfCrypt wants a non-NULL dst */
  int rc = MOMEDO_E_DECRYPT;
  if (crypto_overlap(out, pt_len, in, len)) {
    dst = malloc(pt_len);
    if (dst == NULL) return MOMEDO_E_NOMEM;
  }
  if (wc_XChaCha20Poly1305_Decrypt(dst, pt_len ? pt_len : 1, in, len, CRYPTO_NZ(ad, ad_len),
                                   ad_len, nonce, CRYPTO_XNONCE_LEN, key,
                                   CRYPTO_AEAD_KEY_LEN) == 0)
    rc = 0;
  if (dst == out) {
    if (rc != 0) crypto_wipe(out, pt_len); /* never hand out unauthenticated bytes */
  } else if (dst != dummy) {
    if (rc == 0) memcpy(out, dst, pt_len);
    crypto_wipe(dst, pt_len);
    free(dst);
  }
  return rc;
}

int crypto_aead_ietf_seal(uint8_t *out, const uint8_t *pt, size_t len, const uint8_t *ad,
                          size_t ad_len, const uint8_t nonce[static CRYPTO_NONCE_LEN],
                          const uint8_t key[static CRYPTO_AEAD_KEY_LEN]) {
  if (len > CRYPTO_LEN_MAX || ad_len > CRYPTO_LEN_MAX) return MOMEDO_E_INVAL;
  if (wc_ChaCha20Poly1305_Encrypt(key, nonce, CRYPTO_NZ(ad, ad_len), (word32)ad_len,
                                  CRYPTO_NZ(pt, len), (word32)len, out, out + len) != 0)
    return MOMEDO_E_CRYPTO;
  return 0;
}

int crypto_aead_ietf_open(uint8_t *out, const uint8_t *in, size_t len, const uint8_t *ad,
                          size_t ad_len, const uint8_t nonce[static CRYPTO_NONCE_LEN],
                          const uint8_t key[static CRYPTO_AEAD_KEY_LEN]) {
  if (len < CRYPTO_TAG_LEN) return MOMEDO_E_DECRYPT;
  if (len > CRYPTO_LEN_MAX + CRYPTO_TAG_LEN || ad_len > CRYPTO_LEN_MAX)
    return MOMEDO_E_INVAL;
  size_t pt_len = len - CRYPTO_TAG_LEN;
  uint8_t dummy[1];
  if (wc_ChaCha20Poly1305_Decrypt(key, nonce, CRYPTO_NZ(ad, ad_len), (word32)ad_len,
                                  CRYPTO_NZ(in, pt_len), (word32)pt_len, in + pt_len,
                                  pt_len ? out : dummy) != 0) {
    if (pt_len) crypto_wipe(out, pt_len);
    return MOMEDO_E_DECRYPT;
  }
  return 0;
}

/* ---- hashes and KDFs -------------------------------------------------------- */

int crypto_sha256(uint8_t out[static CRYPTO_HASH_LEN], const void *d, size_t n) {
  struct crypto_part part = {d, n};
  return crypto_sha256_parts(out, &part, 1);
}

int crypto_sha256_parts(uint8_t out[static CRYPTO_HASH_LEN], const struct crypto_part *parts,
                        size_t n_parts) {
  wc_Sha256 h;
  int rc = MOMEDO_E_CRYPTO;
  if (wc_InitSha256(&h) != 0) return MOMEDO_E_CRYPTO;
  for (size_t i = 0; i < n_parts; i++) {
    if (parts[i].n == 0) continue;
    if (parts[i].n > UINT32_MAX) {
      rc = MOMEDO_E_INVAL;
      goto out;
    }
    if (wc_Sha256Update(&h, parts[i].p, (word32)parts[i].n) != 0) goto out;
  }
  if (wc_Sha256Final(&h, out) != 0) goto out;
  rc = 0;
out:
  wc_Sha256Free(&h);
  crypto_wipe(&h, sizeof h); /* callers hash secrets too (fingerprints of keys, KDF inputs) */
  return rc;
}

int crypto_sha512(uint8_t out[static CRYPTO_HASH512_LEN], const void *d, size_t n) {
  wc_Sha512 h;
  int rc = MOMEDO_E_CRYPTO;
  if (n > UINT32_MAX) return MOMEDO_E_INVAL;
  if (wc_InitSha512(&h) != 0) return MOMEDO_E_CRYPTO;
  if (n > 0 && wc_Sha512Update(&h, d, (word32)n) != 0) goto out;
  if (wc_Sha512Final(&h, out) != 0) goto out;
  rc = 0;
out:
  wc_Sha512Free(&h);
  crypto_wipe(&h, sizeof h);
  return rc;
}

int crypto_hmac_sha256(uint8_t out[static CRYPTO_HASH_LEN], const void *key, size_t key_len,
                       const void *d, size_t n) {
  Hmac h;
  int rc = MOMEDO_E_CRYPTO;
  if (key_len > UINT32_MAX || n > UINT32_MAX) return MOMEDO_E_INVAL;
  if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0) return MOMEDO_E_CRYPTO;
  if (wc_HmacSetKey(&h, WC_SHA256, CRYPTO_NZ(key, key_len), (word32)key_len) != 0) goto out;
  if (n > 0 && wc_HmacUpdate(&h, d, (word32)n) != 0) goto out;
  if (wc_HmacFinal(&h, out) != 0) goto out;
  rc = 0;
out:
  wc_HmacFree(&h);
  crypto_wipe(&h, sizeof h);
  return rc;
}

int crypto_hkdf(uint8_t *out, size_t out_len, const void *salt, size_t salt_len,
                const void *ikm, size_t ikm_len, const void *info, size_t info_len) {
  if (out_len == 0 || out_len > CRYPTO_HKDF_OUT_MAX) return MOMEDO_E_INVAL;
  if (salt_len > UINT32_MAX || ikm_len > UINT32_MAX || info_len > UINT32_MAX)
    return MOMEDO_E_INVAL;
  /* An empty salt means HashLen zero bytes (RFC 5869 2.2); wolfCrypt does that for NULL. */
  if (wc_HKDF(WC_SHA256, CRYPTO_NZ(ikm, ikm_len), (word32)ikm_len,
              salt_len ? salt : NULL, (word32)salt_len, CRYPTO_NZ(info, info_len),
              (word32)info_len, out, (word32)out_len) != 0)
    return MOMEDO_E_CRYPTO;
  return 0;
}

int crypto_scrypt(uint8_t *out, size_t out_len, const void *pass, size_t pass_len,
                  const void *salt, size_t salt_len, unsigned log2_n, unsigned r,
                  unsigned p) {
  if (log2_n < 1 || log2_n > CRYPTO_SCRYPT_LOG2_N_MAX || r < 1 || r > CRYPTO_SCRYPT_R_MAX ||
      p < 1 || p > CRYPTO_SCRYPT_P_MAX)
    return MOMEDO_E_INVAL;
  if (log2_n >= 16 * r) return MOMEDO_E_INVAL; /* RFC 7914 2: N < 2^(128 * r / 8) */
  if (out_len == 0 || out_len > INT_MAX || pass_len > INT_MAX || salt_len > INT_MAX)
    return MOMEDO_E_INVAL;
  int w = wc_scrypt(out, CRYPTO_NZ(pass, pass_len), (int)pass_len, CRYPTO_NZ(salt, salt_len),
                    (int)salt_len, (int)log2_n, (int)r, (int)p, (int)out_len);
  if (w == MEMORY_E) return MOMEDO_E_NOMEM;
  return w == 0 ? 0 : MOMEDO_E_CRYPTO;
}
