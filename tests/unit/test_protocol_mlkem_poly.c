/* Unit tests for protocol/mlkem_poly.c, the arithmetic under ML-KEM: Barrett reduction
 * and Compress/Decompress over every input they get, the zeta tables recomputed from
 * 17 and BitRev7, NTT multiplication against schoolbook negacyclic multiplication, and
 * ByteEncode/ByteDecode round trips (FIPS 203 sections 4.2, 4.3). */
#include "harness.h"

#include "mlkem_int.h"

static uint32_t rng_state = 0x12345678u;
static uint32_t rnd(void) { /* xorshift32: reproducible test data */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void rand_poly(struct mlkem_poly *f) {
  for (int i = 0; i < MLKEM_N; i++) f->c[i] = (uint16_t)(rnd() % MLKEM_Q);
}

/* Every x below 6 q^2 (the largest sum mlkem__acc_reduce sees) plus the range end. */
static void test_reduce(void) {
  for (uint32_t x = 0; x < 6u * MLKEM_Q * MLKEM_Q; x++)
    if (mlkem__reduce(x) != x % MLKEM_Q) CHECK_EQ(mlkem__reduce(x), x % MLKEM_Q);
  for (uint32_t x = (1u << 26) - 100000; x < (1u << 26); x++)
    if (mlkem__reduce(x) != x % MLKEM_Q) CHECK_EQ(mlkem__reduce(x), x % MLKEM_Q);
}

/* Exact rational rounding, halves up: round(2^d x / q) and round(q y / 2^d). */
static void test_compress_exhaustive(void) {
  static const unsigned ds[] = {1, 4, 5, 10, 11};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    unsigned d = ds[k];
    for (uint32_t x = 0; x < MLKEM_Q; x++) {
      uint32_t want = ((x << (d + 1)) + MLKEM_Q) / (2 * MLKEM_Q) % (1u << d);
      CHECK_EQ(mlkem__compress_coef((uint16_t)x, d), want);
      /* Decompress(Compress(x)) is within round(q / 2^(d+1)) of x, mod q. */
      int32_t back = mlkem__decompress_coef((uint16_t)want, d);
      int32_t diff = ((int32_t)x - back + 3 * MLKEM_Q / 2) % MLKEM_Q - MLKEM_Q / 2;
      if (diff < 0) diff = -diff;
      CHECK(diff <= (int32_t)((MLKEM_Q + (1u << d)) >> (d + 1)));
    }
    for (uint32_t y = 0; y < (1u << d); y++) {
      uint32_t want = (2 * MLKEM_Q * y + (1u << d)) / (1u << (d + 1));
      CHECK_EQ(mlkem__decompress_coef((uint16_t)y, d), want);
    }
  }
  CHECK_EQ(mlkem__decompress_coef(1, 1), 1665); /* round(q/2) = 1665 */
  CHECK_EQ(mlkem__compress_coef(832, 1), 0);     /* 832 < q/4 */
  CHECK_EQ(mlkem__compress_coef(833, 1), 1);
  CHECK_EQ(mlkem__compress_coef(2496, 1), 1);
  CHECK_EQ(mlkem__compress_coef(2497, 1), 0);    /* closer to q than to q/2 */
}

static unsigned bitrev7(unsigned i) {
  unsigned r = 0;
  for (int b = 0; b < 7; b++) r |= ((i >> b) & 1) << (6 - b);
  return r;
}

static uint32_t powmod(uint32_t b, uint32_t e) {
  uint32_t r = 1;
  while (e--) r = r * b % MLKEM_Q;
  return r;
}

static void test_zeta_tables(void) {
  for (unsigned i = 0; i < 128; i++) {
    CHECK_EQ(mlkem__zetas[i], powmod(17, bitrev7(i)));
    CHECK_EQ(mlkem__gammas[i], powmod(17, 2 * bitrev7(i) + 1));
  }
}

/* f * g in Z_q[X]/(X^256 + 1), the slow way. */
static void schoolbook(struct mlkem_poly *h, const struct mlkem_poly *f,
                       const struct mlkem_poly *g) {
  int64_t t[MLKEM_N] = {0};
  for (int i = 0; i < MLKEM_N; i++)
    for (int j = 0; j < MLKEM_N; j++) {
      int64_t p = (int64_t)f->c[i] * g->c[j];
      if (i + j < MLKEM_N)
        t[i + j] += p;
      else
        t[i + j - MLKEM_N] -= p; /* X^256 = -1 */
    }
  for (int i = 0; i < MLKEM_N; i++) h->c[i] = (uint16_t)(((t[i] % MLKEM_Q) + MLKEM_Q) % MLKEM_Q);
}

static void test_ntt(void) {
  for (int round = 0; round < 20; round++) {
    struct mlkem_poly f, g, f0, g0, want, got;
    uint32_t acc[MLKEM_N] = {0};
    rand_poly(&f);
    rand_poly(&g);
    if (round == 0) { /* extremes */
      for (int i = 0; i < MLKEM_N; i++) f.c[i] = g.c[i] = MLKEM_Q - 1;
    }
    f0 = f;
    g0 = g;
    schoolbook(&want, &f, &g);
    mlkem__ntt(&f);
    mlkem__ntt(&g);
    for (int i = 0; i < MLKEM_N; i++) CHECK(f.c[i] < MLKEM_Q);
    mlkem__mul_acc(acc, &f, &g);
    mlkem__acc_reduce(&got, acc);
    mlkem__intt(&got);
    CHECK_MEM(got.c, want.c, sizeof want.c);
    mlkem__intt(&f);
    CHECK_MEM(f.c, f0.c, sizeof f.c);
    /* Three products accumulated before one reduction (the matrix rows). */
    mlkem__ntt(&f);
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < MLKEM_K; k++) mlkem__mul_acc(acc, &f, &g);
    mlkem__acc_reduce(&got, acc);
    mlkem__intt(&got);
    for (int i = 0; i < MLKEM_N; i++) CHECK_EQ(got.c[i], (3u * want.c[i]) % MLKEM_Q);
    (void)g0;
  }
}

static void test_encode_decode(void) {
  for (unsigned d = 1; d <= 12; d++) {
    struct mlkem_poly f, g;
    uint8_t buf[32 * 12], again[32 * 12];
    uint32_t lim = d == 12 ? MLKEM_Q : (1u << d);
    for (int i = 0; i < MLKEM_N; i++) f.c[i] = (uint16_t)(rnd() % lim);
    f.c[0] = (uint16_t)(lim - 1);
    mlkem__encode(buf, &f, d);
    mlkem__decode(&g, buf, d);
    CHECK_MEM(f.c, g.c, sizeof f.c);
    for (size_t i = 0; i < 32 * d; i++) buf[i] = (uint8_t)rnd();
    mlkem__decode(&g, buf, d);
    mlkem__encode(again, &g, d);
    if (d < 12) CHECK_MEM(again, buf, 32 * d); /* every d-bit string is a value */
  }
  /* d = 12: 0xfff decodes to 4095 mod q = 766; the bit order is little-endian. */
  uint8_t b[384] = {0xff, 0x0f, 0x01};
  struct mlkem_poly g;
  mlkem__decode(&g, b, 12);
  CHECK_EQ(g.c[0], 4095 - MLKEM_Q);
  CHECK_EQ(g.c[1], 0x010);
  CHECK_EQ(g.c[2], 0);
}

/* CBD_2 coefficients lie in {-2..2} mod q and follow the binomial distribution. */
static void test_cbd(void) {
  uint8_t seed[32] = {1, 2, 3};
  unsigned hist[5] = {0};
  for (int n = 0; n < 64; n++) {
    struct mlkem_poly f;
    mlkem__sample_cbd2(&f, seed, (uint8_t)n);
    for (int i = 0; i < MLKEM_N; i++) {
      int v = f.c[i] > MLKEM_Q / 2 ? (int)f.c[i] - MLKEM_Q : f.c[i];
      CHECK(v >= -2 && v <= 2);
      hist[v + 2]++;
    }
  }
  /* 16384 samples; expected 1/16, 4/16, 6/16, 4/16, 1/16 of them. */
  CHECK(hist[0] > 850 && hist[0] < 1200 && hist[4] > 850 && hist[4] < 1200);
  CHECK(hist[2] > 5800 && hist[2] < 6500);
}

int main(void) {
  RUN(test_reduce);
  RUN(test_compress_exhaustive);
  RUN(test_zeta_tables);
  RUN(test_ntt);
  RUN(test_encode_decode);
  RUN(test_cbd);
  TEST_MAIN_END();
}
