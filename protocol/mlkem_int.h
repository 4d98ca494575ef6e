/* protocol/mlkem_int.h — internals of ML-KEM-768 shared by mlkem_poly.c and mlkem.c
 * and exposed to the unit test, which checks each step against the published
 * intermediate values. Not for other modules: use mlkem.h. */
#ifndef MOMEDO_MLKEM_INT_H
#define MOMEDO_MLKEM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mlkem.h"

#define MLKEM_N 256
#define MLKEM_Q 3329
#define MLKEM_K 3      /* ML-KEM-768 */
#define MLKEM_ETA1 2
#define MLKEM_ETA2 2
#define MLKEM_DU 10
#define MLKEM_DV 4
#define MLKEM_POLY_BYTES 384                    /* ByteEncode12 of one polynomial */
#define MLKEM_PKE_SK_LEN (MLKEM_K * MLKEM_POLY_BYTES)     /* dkPKE, 1152 */
#define MLKEM_PRF_LEN (64 * MLKEM_ETA1)         /* PRF_eta output; eta1 = eta2 = 2 here */
#define MLKEM_C1_LEN (32 * MLKEM_DU * MLKEM_K)  /* 960 */
#define MLKEM_C2_LEN (32 * MLKEM_DV)            /* 128 */

/* A polynomial of R_q (or of T_q, after the NTT). Coefficients are always reduced,
 * 0 <= c < q, between the functions below. */
struct mlkem_poly {
  uint16_t c[MLKEM_N];
};

/* zeta^BitRev7(i) and zeta^(2 BitRev7(i) + 1) mod q, zeta = 17 (FIPS 203 appendix A). */
extern const uint16_t mlkem__zetas[128];
extern const uint16_t mlkem__gammas[128];

/* x mod q for x < 2^26, without division or branches. */
uint16_t mlkem__reduce(uint32_t x);

/* NTT (Algorithm 9) and NTT^-1 (Algorithm 10), in place. */
void mlkem__ntt(struct mlkem_poly *f);
void mlkem__intt(struct mlkem_poly *f);
/* acc += f x g in T_q (MultiplyNTTs, Algorithm 11), coefficients left unreduced:
 * each call adds less than 2 q^2, and mlkem__acc_reduce takes up to MLKEM_K calls. */
void mlkem__mul_acc(uint32_t acc[static MLKEM_N], const struct mlkem_poly *f,
                    const struct mlkem_poly *g);
void mlkem__acc_reduce(struct mlkem_poly *h, const uint32_t acc[static MLKEM_N]);
/* h = f + g and h = f - g mod q (h may alias f or g). */
void mlkem__add(struct mlkem_poly *h, const struct mlkem_poly *f, const struct mlkem_poly *g);
void mlkem__sub(struct mlkem_poly *h, const struct mlkem_poly *f, const struct mlkem_poly *g);

/* SampleNTT(rho || b0 || b1) (Algorithm 7). Reads as much SHAKE128 as rejection
 * sampling needs; varies in time only with the public rho. */
void mlkem__sample_ntt(struct mlkem_poly *a, const uint8_t rho[static 32], uint8_t b0,
                       uint8_t b1);
/* SamplePolyCBD_2(PRF_2(seed, nonce)) (Algorithms 8 and section 4.1). */
void mlkem__sample_cbd2(struct mlkem_poly *f, const uint8_t seed[static 32], uint8_t nonce);

/* ByteEncode_d / ByteDecode_d (Algorithms 5, 6), d in 1..12; 32 d bytes per polynomial.
 * Decode with d = 12 reduces mod q (so a key's coefficients 3329..4095 wrap). */
void mlkem__encode(uint8_t *out, const struct mlkem_poly *f, unsigned d);
void mlkem__decode(struct mlkem_poly *f, const uint8_t *in, unsigned d);
/* Compress_d / Decompress_d (section 4.2.1) of every coefficient, d in 1..11. */
void mlkem__compress(struct mlkem_poly *f, unsigned d);
void mlkem__decompress(struct mlkem_poly *f, unsigned d);
/* The same on one coefficient (the unit test runs them over every input). */
uint16_t mlkem__compress_coef(uint16_t x, unsigned d);
uint16_t mlkem__decompress_coef(uint16_t y, unsigned d);

/* Final FIPS 203 derives (rho, sigma) = G(d || k) in K-PKE.KeyGen; its initial public
 * draft (ipd) used G(d). That one byte is the only difference in outputs between the
 * two once the ipd's XOF index order is fixed as final FIPS 203 has it. The published
 * CCTV vectors shipped in tests/vectors/ml-kem target that fixed ipd, so the tests
 * run KeyGen in both variants; everything else in momedo uses MLKEM__FINAL. */
enum mlkem__variant { MLKEM__FINAL = 0, MLKEM__IPD = 1 };

/* K-PKE (Algorithms 13, 14, 15). ek_pke is MLKEM768_EK_LEN bytes, dk_pke
 * MLKEM_PKE_SK_LEN, c MLKEM768_CT_LEN; m and r 32. */
void mlkem__pke_keygen(uint8_t ek_pke[static MLKEM768_EK_LEN],
                       uint8_t dk_pke[static MLKEM_PKE_SK_LEN], const uint8_t d[static 32],
                       enum mlkem__variant variant);
void mlkem__pke_encrypt(uint8_t c[static MLKEM768_CT_LEN],
                        const uint8_t ek_pke[static MLKEM768_EK_LEN],
                        const uint8_t m[static 32], const uint8_t r[static 32]);
void mlkem__pke_decrypt(uint8_t m[static 32], const uint8_t dk_pke[static MLKEM_PKE_SK_LEN],
                        const uint8_t c[static MLKEM768_CT_LEN]);

/* ML-KEM.KeyGen_internal in either variant (mlkem768_keygen_derand is MLKEM__FINAL). */
void mlkem__keygen_variant(uint8_t ek[static MLKEM768_EK_LEN],
                           uint8_t dk[static MLKEM768_DK_LEN], const uint8_t d[static 32],
                           const uint8_t z[static 32], enum mlkem__variant variant);

#endif
