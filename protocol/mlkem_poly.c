/* protocol/mlkem_poly.c — arithmetic in R_q = Z_3329[X]/(X^256 + 1) for ML-KEM (FIPS 203
 * sections 4.2 and 4.3): reduction, NTT, sampling, byte encoding and compression.
 * Constant time: no branch or table index depends on a coefficient; division by q is
 * a multiply and shift; only SampleNTT's rejection loop varies, with the public rho. */
#include <assert.h>
#include <string.h>

#include "crypto.h"
#include "mlkem_int.h"
#include "sha3.h"

#define MLKEM_BARRETT_MUL 1290167u    /* floor(2^32 / q) */
#define MLKEM_DIVQ_MUL 10321340ull    /* ceil(2^35 / q): n / q for n < 2^23 (see compress) */
#define MLKEM_DIVQ_SHIFT 35
#define MLKEM_INV128 3303u            /* 128^-1 mod q, the scale of NTT^-1 */

_Static_assert(6ull * MLKEM_Q * MLKEM_Q < (1ull << 26),
               "K = 3 products accumulate below mlkem__reduce's 2^26 bound");

const uint16_t mlkem__zetas[128] = {
    1,    1729, 2580, 3289, 2642, 630,  1897, 848,  1062, 1919, 193,  797,  2786, 3260, 569,
    1746, 296,  2447, 1339, 1476, 3046, 56,   2240, 1333, 1426, 2094, 535,  2882, 2393, 2879,
    1974, 821,  289,  331,  3253, 1756, 1197, 2304, 2277, 2055, 650,  1977, 2513, 632,  2865,
    33,   1320, 1915, 2319, 1435, 807,  452,  1438, 2868, 1534, 2402, 2647, 2617, 1481, 648,
    2474, 3110, 1227, 910,  17,   2761, 583,  2649, 1637, 723,  2288, 1100, 1409, 2662, 3281,
    233,  756,  2156, 3015, 3050, 1703, 1651, 2789, 1789, 1847, 952,  1461, 2687, 939,  2308,
    2437, 2388, 733,  2337, 268,  641,  1584, 2298, 2037, 3220, 375,  2549, 2090, 1645, 1063,
    319,  2773, 757,  2099, 561,  2466, 2594, 2804, 1092, 403,  1026, 1143, 2150, 2775, 886,
    1722, 1212, 1874, 1029, 2110, 2935, 885,  2154};

const uint16_t mlkem__gammas[128] = {
    17,   3312, 2761, 568,  583,  2746, 2649, 680,  1637, 1692, 723,  2606, 2288, 1041, 1100,
    2229, 1409, 1920, 2662, 667,  3281, 48,   233,  3096, 756,  2573, 2156, 1173, 3015, 314,
    3050, 279,  1703, 1626, 1651, 1678, 2789, 540,  1789, 1540, 1847, 1482, 952,  2377, 1461,
    1868, 2687, 642,  939,  2390, 2308, 1021, 2437, 892,  2388, 941,  733,  2596, 2337, 992,
    268,  3061, 641,  2688, 1584, 1745, 2298, 1031, 2037, 1292, 3220, 109,  375,  2954, 2549,
    780,  2090, 1239, 1645, 1684, 1063, 2266, 319,  3010, 2773, 556,  757,  2572, 2099, 1230,
    561,  2768, 2466, 863,  2594, 735,  2804, 525,  1092, 2237, 403,  2926, 1026, 2303, 1143,
    2186, 2150, 1179, 2775, 554,  886,  2443, 1722, 1607, 1212, 2117, 1874, 1455, 1029, 2300,
    2110, 1219, 2935, 394,  885,  2444, 2154, 1175};

/* a mod q for a < 2q: subtract q, add it back through a mask if that went negative. */
static inline uint16_t mlkem_csub(uint32_t a) {
  uint32_t t = a - MLKEM_Q;
  return (uint16_t)(t + (MLKEM_Q & (0u - (t >> 31))));
}

/* Barrett: t = floor(x * floor(2^32/q) / 2^32) is floor(x/q) or one less for x < 2^26
 * (the multiplier's deficit is < 0.41, times x / 2^32 < 0.01), so x - t q < 2q. */
uint16_t mlkem__reduce(uint32_t x) {
  uint32_t t = (uint32_t)(((uint64_t)x * MLKEM_BARRETT_MUL) >> 32);
  return mlkem_csub(x - t * MLKEM_Q);
}

static inline uint16_t mlkem_fqmul(uint16_t a, uint16_t b) {
  return mlkem__reduce((uint32_t)a * b);
}

void mlkem__ntt(struct mlkem_poly *f) {
  unsigned i = 1;
  for (unsigned len = 128; len >= 2; len /= 2) {
    for (unsigned start = 0; start < MLKEM_N; start += 2 * len) {
      uint16_t zeta = mlkem__zetas[i++];
      for (unsigned j = start; j < start + len; j++) {
        uint16_t t = mlkem_fqmul(zeta, f->c[j + len]);
        f->c[j + len] = mlkem_csub((uint32_t)f->c[j] + MLKEM_Q - t);
        f->c[j] = mlkem_csub((uint32_t)f->c[j] + t);
      }
    }
  }
}

void mlkem__intt(struct mlkem_poly *f) {
  unsigned i = 127;
  for (unsigned len = 2; len <= 128; len *= 2) {
    for (unsigned start = 0; start < MLKEM_N; start += 2 * len) {
      uint16_t zeta = mlkem__zetas[i--];
      for (unsigned j = start; j < start + len; j++) {
        uint16_t t = f->c[j];
        f->c[j] = mlkem_csub((uint32_t)t + f->c[j + len]);
        f->c[j + len] = mlkem_fqmul(zeta, mlkem_csub((uint32_t)f->c[j + len] + MLKEM_Q - t));
      }
    }
  }
  for (unsigned j = 0; j < MLKEM_N; j++) f->c[j] = mlkem_fqmul(f->c[j], MLKEM_INV128);
}

/* BaseCaseMultiply (Algorithm 12) on each of the 128 degree-one pieces. */
void mlkem__mul_acc(uint32_t acc[static MLKEM_N], const struct mlkem_poly *f,
                    const struct mlkem_poly *g) {
  for (unsigned i = 0; i < MLKEM_N / 2; i++) {
    uint32_t a0 = f->c[2 * i], a1 = f->c[2 * i + 1];
    uint32_t b0 = g->c[2 * i], b1 = g->c[2 * i + 1];
    acc[2 * i] += a0 * b0 + (uint32_t)mlkem__reduce(a1 * b1) * mlkem__gammas[i];
    acc[2 * i + 1] += a0 * b1 + a1 * b0;
  }
}

void mlkem__acc_reduce(struct mlkem_poly *h, const uint32_t acc[static MLKEM_N]) {
  for (unsigned j = 0; j < MLKEM_N; j++) h->c[j] = mlkem__reduce(acc[j]);
}

void mlkem__add(struct mlkem_poly *h, const struct mlkem_poly *f, const struct mlkem_poly *g) {
  for (unsigned j = 0; j < MLKEM_N; j++) h->c[j] = mlkem_csub((uint32_t)f->c[j] + g->c[j]);
}

void mlkem__sub(struct mlkem_poly *h, const struct mlkem_poly *f, const struct mlkem_poly *g) {
  for (unsigned j = 0; j < MLKEM_N; j++)
    h->c[j] = mlkem_csub((uint32_t)f->c[j] + MLKEM_Q - g->c[j]);
}

/* Three bytes give two 12-bit candidates; those below q are kept, in order. */
void mlkem__sample_ntt(struct mlkem_poly *a, const uint8_t rho[static 32], uint8_t b0,
                       uint8_t b1) {
  struct sha3_ctx xof;
  uint8_t in[34], buf[SHAKE128_RATE]; /* a multiple of 3 bytes */
  unsigned j = 0;
  memcpy(in, rho, 32);
  in[32] = b0;
  in[33] = b1;
  shake128_init(&xof);
  sha3_absorb(&xof, in, sizeof in);
  while (j < MLKEM_N) {
    shake_squeeze(&xof, buf, sizeof buf);
    for (unsigned p = 0; p + 3 <= sizeof buf && j < MLKEM_N; p += 3) {
      uint16_t d1 = (uint16_t)(buf[p] | ((buf[p + 1] & 0x0f) << 8));
      uint16_t d2 = (uint16_t)((buf[p + 1] >> 4) | (buf[p + 2] << 4));
      if (d1 < MLKEM_Q) a->c[j++] = d1;
      if (d2 < MLKEM_Q && j < MLKEM_N) a->c[j++] = d2;
    }
  }
}

/* Coefficient i takes bits 4i..4i+3 of the PRF output: (b0 + b1) - (b2 + b3). */
void mlkem__sample_cbd2(struct mlkem_poly *f, const uint8_t seed[static 32], uint8_t nonce) {
  uint8_t in[33], b[MLKEM_PRF_LEN];
  memcpy(in, seed, 32);
  in[32] = nonce;
  shake256(b, sizeof b, in, sizeof in);
  for (unsigned i = 0; i < MLKEM_PRF_LEN; i++) {
    for (unsigned h = 0; h < 2; h++) {
      unsigned nib = (unsigned)(b[i] >> (4 * h)) & 0xf;
      unsigned x = (nib & 1) + ((nib >> 1) & 1);
      unsigned y = ((nib >> 2) & 1) + ((nib >> 3) & 1);
      f->c[2 * i + h] = mlkem_csub(x + MLKEM_Q - y);
    }
  }
  crypto_wipe(in, sizeof in);
  crypto_wipe(b, sizeof b);
}

/* Little-endian bit packing: coefficient i occupies bits d i .. d i + d - 1. */
void mlkem__encode(uint8_t *out, const struct mlkem_poly *f, unsigned d) {
  uint32_t acc = 0, mask = (1u << d) - 1;
  unsigned bits = 0;
  assert(d >= 1 && d <= 12);
  for (unsigned i = 0; i < MLKEM_N; i++) {
    acc |= (f->c[i] & mask) << bits;
    bits += d;
    while (bits >= 8) {
      *out++ = (uint8_t)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
}

void mlkem__decode(struct mlkem_poly *f, const uint8_t *in, unsigned d) {
  uint32_t acc = 0, mask = (1u << d) - 1;
  unsigned bits = 0;
  assert(d >= 1 && d <= 12);
  for (unsigned i = 0; i < MLKEM_N; i++) {
    while (bits < d) {
      acc |= (uint32_t)*in++ << bits;
      bits += 8;
    }
    f->c[i] = (uint16_t)(acc & mask);
    if (d == 12) f->c[i] = mlkem_csub(f->c[i]); /* 12 bits < 2q: one subtraction */
    acc >>= d;
    bits -= d;
  }
}

/* round(2^d x / q) mod 2^d = floor((2^d x + 1664) / q) mod 2^d (q is odd, so no ties).
 * The numerator is below 2^23; multiplying by ceil(2^35/q) overshoots n/q by less than
 * 2^-12 < 1/q, too little to reach the next integer, so the shift is the exact floor. */
uint16_t mlkem__compress_coef(uint16_t x, unsigned d) {
  uint64_t n = ((uint32_t)x << d) + (MLKEM_Q - 1) / 2;
  return (uint16_t)(((n * MLKEM_DIVQ_MUL) >> MLKEM_DIVQ_SHIFT) & ((1u << d) - 1));
}

/* round(q y / 2^d), halves rounded up as FIPS 203 rounds. */
uint16_t mlkem__decompress_coef(uint16_t y, unsigned d) {
  return (uint16_t)(((uint32_t)y * MLKEM_Q + (1u << (d - 1))) >> d);
}

void mlkem__compress(struct mlkem_poly *f, unsigned d) {
  assert(d >= 1 && d <= 11);
  for (unsigned j = 0; j < MLKEM_N; j++) f->c[j] = mlkem__compress_coef(f->c[j], d);
}

void mlkem__decompress(struct mlkem_poly *f, unsigned d) {
  assert(d >= 1 && d <= 11);
  for (unsigned j = 0; j < MLKEM_N; j++) f->c[j] = mlkem__decompress_coef(f->c[j], d);
}
