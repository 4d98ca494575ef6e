/* protocol/mlkem.c — K-PKE and ML-KEM-768 (FIPS 203 sections 5, 6 and 7) over the
 * polynomial arithmetic of mlkem_poly.c and the hashes of sha3.c: H = SHA3-256,
 * G = SHA3-512, J = SHAKE256. Every secret intermediate is wiped before returning;
 * decapsulation compares and selects in constant time (implicit rejection). */
#include <string.h>

#include "crypto.h"
#include "mlkem.h"
#include "mlkem_int.h"
#include "sha3.h"

/* Offsets inside dk = dkPKE || ek || H(ek) || z. */
#define MLKEM_DK_EK_OFF MLKEM_PKE_SK_LEN
#define MLKEM_DK_H_OFF (MLKEM_DK_EK_OFF + MLKEM768_EK_LEN)
#define MLKEM_DK_Z_OFF (MLKEM_DK_H_OFF + 32)
#define MLKEM_EK_RHO_OFF (MLKEM_K * MLKEM_POLY_BYTES)

_Static_assert(MLKEM_DK_Z_OFF + 32 == MLKEM768_DK_LEN, "dk layout");
_Static_assert(MLKEM_EK_RHO_OFF + 32 == MLKEM768_EK_LEN, "ek layout");
_Static_assert(MLKEM_C1_LEN + MLKEM_C2_LEN == MLKEM768_CT_LEN, "ct layout");

/* G(a || b) = SHA3-512, split by the caller into its two 32-byte halves. */
static void mlkem_g(uint8_t out[static 64], const uint8_t *a, size_t an, const uint8_t *b,
                    size_t bn) {
  struct sha3_ctx c;
  sha3_512_init(&c);
  sha3_absorb(&c, a, an);
  sha3_absorb(&c, b, bn);
  sha3_512_final(&c, out);
}

/* Algorithm 13. A[i][j] = SampleNTT(rho || j || i) is generated one entry at a time
 * into the product, so the 9-polynomial matrix never sits on the stack. */
void mlkem__pke_keygen(uint8_t ek_pke[static MLKEM768_EK_LEN],
                       uint8_t dk_pke[static MLKEM_PKE_SK_LEN], const uint8_t d[static 32],
                       enum mlkem__variant variant) {
  const uint8_t k = MLKEM_K; /* domain separation by parameter set (final FIPS 203) */
  uint8_t rs[64];            /* rho || sigma */
  struct mlkem_poly s[MLKEM_K], a, t, e;
  uint32_t acc[MLKEM_N];
  mlkem_g(rs, d, 32, &k, variant == MLKEM__IPD ? 0 : 1);
  for (unsigned i = 0; i < MLKEM_K; i++) {
    mlkem__sample_cbd2(&s[i], rs + 32, (uint8_t)i);
    mlkem__ntt(&s[i]);
  }
  for (unsigned i = 0; i < MLKEM_K; i++) {
    memset(acc, 0, sizeof acc);
    for (unsigned j = 0; j < MLKEM_K; j++) {
      mlkem__sample_ntt(&a, rs, (uint8_t)j, (uint8_t)i);
      mlkem__mul_acc(acc, &a, &s[j]);
    }
    mlkem__acc_reduce(&t, acc);
    mlkem__sample_cbd2(&e, rs + 32, (uint8_t)(MLKEM_K + i));
    mlkem__ntt(&e);
    mlkem__add(&t, &t, &e);
    mlkem__encode(ek_pke + i * MLKEM_POLY_BYTES, &t, 12);
  }
  memcpy(ek_pke + MLKEM_EK_RHO_OFF, rs, 32);
  for (unsigned i = 0; i < MLKEM_K; i++)
    mlkem__encode(dk_pke + i * MLKEM_POLY_BYTES, &s[i], 12);
  crypto_wipe(rs, sizeof rs);
  crypto_wipe(s, sizeof s);
  crypto_wipe(&e, sizeof e);
  crypto_wipe(acc, sizeof acc);
}

/* v = NTT^-1(t^T . y) + e2 + Decompress_1(m), compressed into c2. */
static void mlkem_pke_encrypt_v(uint8_t c2[static MLKEM_C2_LEN],
                                const uint8_t ek_pke[static MLKEM768_EK_LEN],
                                const struct mlkem_poly y[static MLKEM_K],
                                const uint8_t m[static 32], const uint8_t r[static 32]) {
  struct mlkem_poly t, v, e, mu;
  uint32_t acc[MLKEM_N] = {0};
  for (unsigned i = 0; i < MLKEM_K; i++) {
    mlkem__decode(&t, ek_pke + i * MLKEM_POLY_BYTES, 12);
    mlkem__mul_acc(acc, &t, &y[i]);
  }
  mlkem__acc_reduce(&v, acc);
  mlkem__intt(&v);
  mlkem__sample_cbd2(&e, r, 2 * MLKEM_K);
  mlkem__add(&v, &v, &e);
  mlkem__decode(&mu, m, 1);
  mlkem__decompress(&mu, 1);
  mlkem__add(&v, &v, &mu);
  mlkem__compress(&v, MLKEM_DV);
  mlkem__encode(c2, &v, MLKEM_DV);
  crypto_wipe(&v, sizeof v);
  crypto_wipe(&e, sizeof e);
  crypto_wipe(&mu, sizeof mu);
  crypto_wipe(acc, sizeof acc);
}

/* Algorithm 14. u[i] = NTT^-1(sum_j A[j][i] y[j]) + e1[i], A[j][i] = SampleNTT(rho||i||j). */
void mlkem__pke_encrypt(uint8_t c[static MLKEM768_CT_LEN],
                        const uint8_t ek_pke[static MLKEM768_EK_LEN],
                        const uint8_t m[static 32], const uint8_t r[static 32]) {
  const uint8_t *rho = ek_pke + MLKEM_EK_RHO_OFF;
  struct mlkem_poly y[MLKEM_K], a, u, e;
  uint32_t acc[MLKEM_N];
  for (unsigned i = 0; i < MLKEM_K; i++) {
    mlkem__sample_cbd2(&y[i], r, (uint8_t)i);
    mlkem__ntt(&y[i]);
  }
  for (unsigned i = 0; i < MLKEM_K; i++) {
    memset(acc, 0, sizeof acc);
    for (unsigned j = 0; j < MLKEM_K; j++) {
      mlkem__sample_ntt(&a, rho, (uint8_t)i, (uint8_t)j);
      mlkem__mul_acc(acc, &a, &y[j]);
    }
    mlkem__acc_reduce(&u, acc);
    mlkem__intt(&u);
    mlkem__sample_cbd2(&e, r, (uint8_t)(MLKEM_K + i));
    mlkem__add(&u, &u, &e);
    mlkem__compress(&u, MLKEM_DU);
    mlkem__encode(c + i * 32 * MLKEM_DU, &u, MLKEM_DU);
  }
  mlkem_pke_encrypt_v(c + MLKEM_C1_LEN, ek_pke, y, m, r);
  crypto_wipe(y, sizeof y);
  crypto_wipe(&u, sizeof u);
  crypto_wipe(&e, sizeof e);
  crypto_wipe(acc, sizeof acc);
}

/* Algorithm 15: w = v' - NTT^-1(s^T . NTT(u')), m = ByteEncode_1(Compress_1(w)). */
void mlkem__pke_decrypt(uint8_t m[static 32], const uint8_t dk_pke[static MLKEM_PKE_SK_LEN],
                        const uint8_t c[static MLKEM768_CT_LEN]) {
  struct mlkem_poly u, s, w, v;
  uint32_t acc[MLKEM_N] = {0};
  for (unsigned i = 0; i < MLKEM_K; i++) {
    mlkem__decode(&u, c + i * 32 * MLKEM_DU, MLKEM_DU);
    mlkem__decompress(&u, MLKEM_DU);
    mlkem__ntt(&u);
    mlkem__decode(&s, dk_pke + i * MLKEM_POLY_BYTES, 12);
    mlkem__mul_acc(acc, &s, &u);
  }
  mlkem__acc_reduce(&w, acc);
  mlkem__intt(&w);
  mlkem__decode(&v, c + MLKEM_C1_LEN, MLKEM_DV);
  mlkem__decompress(&v, MLKEM_DV);
  mlkem__sub(&w, &v, &w);
  mlkem__compress(&w, 1);
  mlkem__encode(m, &w, 1);
  crypto_wipe(&s, sizeof s);
  crypto_wipe(&w, sizeof w);
  crypto_wipe(acc, sizeof acc);
}

/* ---- ML-KEM ----------------------------------------------------------------- */

void mlkem__keygen_variant(uint8_t ek[static MLKEM768_EK_LEN],
                           uint8_t dk[static MLKEM768_DK_LEN], const uint8_t d[static 32],
                           const uint8_t z[static 32], enum mlkem__variant variant) {
  mlkem__pke_keygen(ek, dk, d, variant);
  memcpy(dk + MLKEM_DK_EK_OFF, ek, MLKEM768_EK_LEN);
  sha3_256(dk + MLKEM_DK_H_OFF, ek, MLKEM768_EK_LEN);
  memcpy(dk + MLKEM_DK_Z_OFF, z, MLKEM_SEED_LEN);
}

void mlkem768_keygen_derand(uint8_t ek[static MLKEM768_EK_LEN],
                            uint8_t dk[static MLKEM768_DK_LEN],
                            const uint8_t d[static MLKEM_SEED_LEN],
                            const uint8_t z[static MLKEM_SEED_LEN]) {
  mlkem__keygen_variant(ek, dk, d, z, MLKEM__FINAL);
}

int mlkem768_keygen(uint8_t ek[static MLKEM768_EK_LEN], uint8_t dk[static MLKEM768_DK_LEN]) {
  uint8_t dz[2 * MLKEM_SEED_LEN];
  int rc = crypto_random(dz, sizeof dz);
  if (rc == 0) mlkem768_keygen_derand(ek, dk, dz, dz + MLKEM_SEED_LEN);
  crypto_wipe(dz, sizeof dz);
  return rc;
}

/* Modulus check, literally: ByteEncode_12(ByteDecode_12(t)) must give t back. */
int mlkem768_ek_check(const uint8_t *ek, size_t ek_len) {
  struct mlkem_poly t;
  uint8_t again[MLKEM_POLY_BYTES];
  if (ek == NULL || ek_len != MLKEM768_EK_LEN) return MOMEDO_E_BADKEY;
  for (unsigned i = 0; i < MLKEM_K; i++) {
    mlkem__decode(&t, ek + i * MLKEM_POLY_BYTES, 12);
    mlkem__encode(again, &t, 12);
    if (memcmp(again, ek + i * MLKEM_POLY_BYTES, MLKEM_POLY_BYTES) != 0)
      return MOMEDO_E_BADKEY;
  }
  return 0;
}

int mlkem768_dk_check(const uint8_t *dk, size_t dk_len) {
  uint8_t h[32];
  if (dk == NULL || dk_len != MLKEM768_DK_LEN) return MOMEDO_E_BADKEY;
  sha3_256(h, dk + MLKEM_DK_EK_OFF, MLKEM768_EK_LEN);
  return crypto_ct_eq(h, dk + MLKEM_DK_H_OFF, sizeof h) ? 0 : MOMEDO_E_BADKEY;
}

int mlkem768_encaps_derand(uint8_t ct[static MLKEM768_CT_LEN],
                           uint8_t ss[static MLKEM_SS_LEN], const uint8_t *ek, size_t ek_len,
                           const uint8_t m[static MLKEM_SEED_LEN]) {
  uint8_t h[32], kr[64]; /* K || r */
  int rc = mlkem768_ek_check(ek, ek_len);
  if (rc != 0) {
    memset(ct, 0, MLKEM768_CT_LEN);
    memset(ss, 0, MLKEM_SS_LEN);
    return rc;
  }
  sha3_256(h, ek, MLKEM768_EK_LEN);
  mlkem_g(kr, m, MLKEM_SEED_LEN, h, sizeof h);
  mlkem__pke_encrypt(ct, ek, m, kr + 32);
  memcpy(ss, kr, MLKEM_SS_LEN);
  crypto_wipe(kr, sizeof kr);
  return 0;
}

int mlkem768_encaps(uint8_t ct[static MLKEM768_CT_LEN], uint8_t ss[static MLKEM_SS_LEN],
                    const uint8_t *ek, size_t ek_len) {
  uint8_t m[MLKEM_SEED_LEN];
  int rc = crypto_random(m, sizeof m);
  if (rc == 0) {
    rc = mlkem768_encaps_derand(ct, ss, ek, ek_len, m);
  } else {
    memset(ct, 0, MLKEM768_CT_LEN);
    memset(ss, 0, MLKEM_SS_LEN);
  }
  crypto_wipe(m, sizeof m);
  return rc;
}

/* Algorithm 18 after the §7.3 checks. Both candidate secrets are always computed and
 * the choice is a mask, so timing does not tell a rejected ciphertext from a good one. */
int mlkem768_decaps(uint8_t ss[static MLKEM_SS_LEN], const uint8_t *ct, size_t ct_len,
                    const uint8_t *dk, size_t dk_len) {
  uint8_t m[32], kr[64], kbar[MLKEM_SS_LEN], again[MLKEM768_CT_LEN], mask;
  struct sha3_ctx j;
  int rc = MOMEDO_E_BOUNDS;
  if (ct == NULL || ct_len != MLKEM768_CT_LEN) goto fail;
  rc = mlkem768_dk_check(dk, dk_len);
  if (rc != 0) goto fail;
  mlkem__pke_decrypt(m, dk, ct);
  mlkem_g(kr, m, sizeof m, dk + MLKEM_DK_H_OFF, 32);
  shake256_init(&j); /* K-bar = J(z || c) */
  sha3_absorb(&j, dk + MLKEM_DK_Z_OFF, 32);
  sha3_absorb(&j, ct, MLKEM768_CT_LEN);
  shake_squeeze(&j, kbar, sizeof kbar);
  sha3_ctx_wipe(&j);
  mlkem__pke_encrypt(again, dk + MLKEM_DK_EK_OFF, m, kr + 32);
  mask = (uint8_t)(0u - (unsigned)crypto_ct_eq(ct, again, MLKEM768_CT_LEN));
  __asm__("" : "+r"(mask)); /* keep the compiler from turning the select into a branch */
  for (unsigned i = 0; i < MLKEM_SS_LEN; i++)
    ss[i] = (uint8_t)((kr[i] & mask) | (kbar[i] & (uint8_t)~mask));
  crypto_wipe(m, sizeof m);
  crypto_wipe(kr, sizeof kr);
  crypto_wipe(kbar, sizeof kbar);
  crypto_wipe(again, sizeof again);
  return 0;
fail:
  memset(ss, 0, MLKEM_SS_LEN);
  return rc;
}
