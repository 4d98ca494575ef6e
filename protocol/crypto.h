/* protocol/crypto.h — thin wrappers over wolfCrypt: the primitives momedo uses (plus
 * SHA-3 in sha3.h and ML-KEM-768 in mlkem.h, written here: wolfCrypt lacks ML-KEM and
 * SHAKE128).
 * Fixed-size keys in every signature; 0 or a negative MOMEDO_E_* on return.
 * Secrets passed in are never logged and never copied into static storage; callers
 * wipe their own buffers with crypto_wipe(). The process-wide DRBG is the one
 * piece of state (seeded from the OS once, mutex-guarded). */
#ifndef MOMEDO_CRYPTO_H
#define MOMEDO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define CRYPTO_SIGN_PUB_LEN 32   /* Ed25519 public key */
#define CRYPTO_SIGN_SEED_LEN 32  /* Ed25519 private seed (RFC 8032 "secret key") */
#define CRYPTO_SIG_LEN 64        /* Ed25519 signature */
#define CRYPTO_DH_LEN 32         /* X25519 public, secret and shared secret */
#define CRYPTO_AEAD_KEY_LEN 32
#define CRYPTO_XNONCE_LEN 24     /* XChaCha20-Poly1305 nonce */
#define CRYPTO_NONCE_LEN 12      /* ChaCha20-Poly1305 (RFC 8439) nonce */
#define CRYPTO_TAG_LEN 16
#define CRYPTO_HASH_LEN 32       /* SHA-256 */
#define CRYPTO_HASH512_LEN 64    /* SHA-512 */
#define CRYPTO_HKDF_OUT_MAX (255 * 32)

/* An Ed25519 key pair: the 32-byte seed is the secret; pub is derived from it. */
struct crypto_sign_keypair {
  uint8_t pub[CRYPTO_SIGN_PUB_LEN];
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
};

/* Fill buf with len bytes from the DRBG. MOMEDO_E_RNG on failure. */
MOMEDO_WUR int crypto_random(void *buf, size_t len);

/* Ed25519 (RFC 8032, pure). */
MOMEDO_WUR int crypto_sign_keygen(struct crypto_sign_keypair *kp);
MOMEDO_WUR int crypto_sign_from_seed(struct crypto_sign_keypair *kp,
                                     const uint8_t seed[static CRYPTO_SIGN_SEED_LEN]);
MOMEDO_WUR int crypto_sign(uint8_t sig[static CRYPTO_SIG_LEN], const void *msg, size_t len,
                           const struct crypto_sign_keypair *kp);
/* A key pair imported (and checked) once, for many signatures with one key: the same
 * signatures as crypto_sign at half its cost. free wipes it; NULL is fine. */
struct crypto_signer;
MOMEDO_WUR int crypto_signer_new(const struct crypto_sign_keypair *kp, struct crypto_signer **out);
MOMEDO_WUR int crypto_signer_sign(struct crypto_signer *s, uint8_t sig[static CRYPTO_SIG_LEN],
                                  const void *msg, size_t len);
void crypto_signer_free(struct crypto_signer *s);
/* 0 if sig is a valid signature of msg under pub, else MOMEDO_E_BADSIG
 * (also for a malformed public key). */
MOMEDO_WUR int crypto_verify(const uint8_t sig[static CRYPTO_SIG_LEN], const void *msg,
                             size_t len, const uint8_t pub[static CRYPTO_SIGN_PUB_LEN]);

/* X25519 (RFC 7748), little-endian byte strings as in the RFC. */
MOMEDO_WUR int crypto_dh_keygen(uint8_t sec[static CRYPTO_DH_LEN],
                                uint8_t pub[static CRYPTO_DH_LEN]);
MOMEDO_WUR int crypto_dh_public(uint8_t pub[static CRYPTO_DH_LEN],
                                const uint8_t sec[static CRYPTO_DH_LEN]);
/* shared = X25519(sec, peer). MOMEDO_E_BADKEY if the result is all zero
 * (a low-order peer point). */
MOMEDO_WUR int crypto_dh(uint8_t shared[static CRYPTO_DH_LEN],
                         const uint8_t sec[static CRYPTO_DH_LEN],
                         const uint8_t peer[static CRYPTO_DH_LEN]);

/* XChaCha20-Poly1305: out receives len + CRYPTO_TAG_LEN bytes (ciphertext||tag). */
MOMEDO_WUR int crypto_aead_seal(uint8_t *out, const uint8_t *pt, size_t len,
                                const uint8_t *ad, size_t ad_len,
                                const uint8_t nonce[static CRYPTO_XNONCE_LEN],
                                const uint8_t key[static CRYPTO_AEAD_KEY_LEN]);
/* in holds len bytes (ciphertext||tag, len >= CRYPTO_TAG_LEN); out receives
 * len - CRYPTO_TAG_LEN bytes. MOMEDO_E_DECRYPT on any authentication failure. */
MOMEDO_WUR int crypto_aead_open(uint8_t *out, const uint8_t *in, size_t len,
                                const uint8_t *ad, size_t ad_len,
                                const uint8_t nonce[static CRYPTO_XNONCE_LEN],
                                const uint8_t key[static CRYPTO_AEAD_KEY_LEN]);
/* ChaCha20-Poly1305 IETF (RFC 8439), same conventions with a 12-byte nonce. */
MOMEDO_WUR int crypto_aead_ietf_seal(uint8_t *out, const uint8_t *pt, size_t len,
                                     const uint8_t *ad, size_t ad_len,
                                     const uint8_t nonce[static CRYPTO_NONCE_LEN],
                                     const uint8_t key[static CRYPTO_AEAD_KEY_LEN]);
MOMEDO_WUR int crypto_aead_ietf_open(uint8_t *out, const uint8_t *in, size_t len,
                                     const uint8_t *ad, size_t ad_len,
                                     const uint8_t nonce[static CRYPTO_NONCE_LEN],
                                     const uint8_t key[static CRYPTO_AEAD_KEY_LEN]);

/* Hashes. */
MOMEDO_WUR int crypto_sha256(uint8_t out[static CRYPTO_HASH_LEN], const void *d, size_t n);
MOMEDO_WUR int crypto_sha512(uint8_t out[static CRYPTO_HASH512_LEN], const void *d, size_t n);
/* SHA-256 over the concatenation of n_parts (ptr,len) pairs; parts may be empty. */
struct crypto_part {
  const void *p;
  size_t n;
};
MOMEDO_WUR int crypto_sha256_parts(uint8_t out[static CRYPTO_HASH_LEN],
                                   const struct crypto_part *parts, size_t n_parts);
MOMEDO_WUR int crypto_hmac_sha256(uint8_t out[static CRYPTO_HASH_LEN], const void *key,
                                  size_t key_len, const void *d, size_t n);
/* HKDF-SHA-256 (RFC 5869), out_len <= CRYPTO_HKDF_OUT_MAX. */
MOMEDO_WUR int crypto_hkdf(uint8_t *out, size_t out_len, const void *salt, size_t salt_len,
                           const void *ikm, size_t ikm_len, const void *info,
                           size_t info_len);
/* Memory-hard passphrase KDF (scrypt, RFC 7914): cost = 2^log2_n, block size r,
 * parallelism p. Used for secrets at rest and passphrase channels. */
MOMEDO_WUR int crypto_scrypt(uint8_t *out, size_t out_len, const void *pass, size_t pass_len,
                             const void *salt, size_t salt_len, unsigned log2_n,
                             unsigned r, unsigned p);

/* 1 if a and b are equal, 0 otherwise, in time independent of the contents. */
int crypto_ct_eq(const void *a, const void *b, size_t n);
/* Zero n bytes in a way the compiler cannot elide. */
void crypto_wipe(void *p, size_t n);

#endif
