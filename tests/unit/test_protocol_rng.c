/* tests/unit/test_protocol_rng.c — the one PRNG against published reference outputs:
 * xoshiro256** from the state {1, 2, 3, 4} (the values of the reference C code, also
 * used by other implementations' tests), splitmix64 from 0 (Vigna's splitmix64.c), and
 * the seeding both the engine and the simulator rely on; rng_below's range and bias. */
#include "harness.h"

#include "rng.h"

static void test_xoshiro_reference(void) {
  struct rng r = {.s = {1, 2, 3, 4}};
  static const uint64_t want[] = {11520u, 0u, 1509978240u, 1215971899390074240u,
                                  1216172134540287360u, 607988272756665600u};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) CHECK(rng_next(&r) == want[i]);
}

static void test_splitmix_and_seed(void) {
  uint64_t st = 0;
  CHECK(rng_splitmix64(&st) == 0xe220a8397b1dcdafull);
  CHECK(rng_splitmix64(&st) == 0x6e789e6aa1b965f4ull);
  CHECK(rng_splitmix64(&st) == 0x06c45d188009454full);
  CHECK(rng_mix64(0x9e3779b97f4a7c15ull) == 0xe220a8397b1dcdafull);
  /* Seeded with four splitmix64 outputs of the seed. */
  struct rng r;
  uint64_t after = rng_seed(&r, 0);
  CHECK(r.s[0] == 0xe220a8397b1dcdafull && r.s[3] == 0xf88bb8a8724c81ecull);
  CHECK(rng_next(&r) == 0x99ec5f36cb75f2b4ull);
  CHECK(rng_next(&r) == 0xbf6e1f784956452aull);
  CHECK(rng_next(&r) == 0x1a5f849d4933e6e0ull);
  CHECK(rng_next(&r) == 0x6aa594f1262d2d2cull);
  /* The returned state continues the same splitmix64 stream (the engine's fifth draw). */
  CHECK(rng_splitmix64(&after) == 0x1b39896a51a8749bull);
  after = rng_seed(&r, 12345);
  CHECK(rng_splitmix64(&after) == 0x81c2e6dc980d78ebull);
  /* Same seed, same stream; another seed, another stream. */
  struct rng a, b;
  rng_seed(&a, 77);
  rng_seed(&b, 77);
  for (int i = 0; i < 1000; i++) CHECK(rng_next(&a) == rng_next(&b));
  rng_seed(&b, 78);
  CHECK(rng_next(&a) != rng_next(&b));
}

static void test_below(void) {
  struct rng r;
  rng_seed(&r, 5);
  /* In range, every value of a small range is hit, roughly evenly. */
  unsigned seen[7] = {0};
  for (int i = 0; i < 70000; i++) {
    uint64_t x = rng_below(&r, 7);
    CHECK(x < 7);
    seen[x]++;
  }
  for (int i = 0; i < 7; i++) CHECK(seen[i] > 9000 && seen[i] < 11000);
  CHECK_EQ(rng_below(&r, 1), 0);
  /* A bound just above 2^63: plain modulo would give the lower half twice the weight;
   * rejection keeps the halves even. */
  uint64_t big = (1ull << 63) + (1ull << 62), low = 0;
  for (int i = 0; i < 20000; i++) {
    uint64_t x = rng_below(&r, big);
    CHECK(x < big);
    low += x < big / 2;
  }
  CHECK(low > 9400 && low < 10600);
}

int main(void) {
  RUN(test_xoshiro_reference);
  RUN(test_splitmix_and_seed);
  RUN(test_below);
  TEST_MAIN_END();
}
