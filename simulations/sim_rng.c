/* simulations/sim_rng.c — splitmix64 + xoshiro256** (Blackman & Vigna) and the
 * distributions built on them. Pure integer arithmetic for the streams, so a seed
 * replays bit-for-bit; no global state. */
#include "sim_rng.h"

#include <math.h>

uint64_t sim_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t sim_seed_derive(uint64_t seed, uint64_t tag, uint64_t index) {
  uint64_t st = seed;
  uint64_t a = sim_splitmix64(&st);
  st = a ^ (tag * 0xd1b54a32d192ed03ull);
  uint64_t b = sim_splitmix64(&st);
  st = b ^ (index * 0xaef17502108ef2d9ull);
  return sim_splitmix64(&st);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed) {
  uint64_t st = seed;
  for (int i = 0; i < 4; i++) r->s[i] = sim_splitmix64(&st);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(struct sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t bound) {
  /* Rejection sampling on the top of the range (Lemire-style threshold). */
  uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t x = sim_rng_next(r);
    if (x >= threshold) return x % bound;
  }
}

double sim_rng_unit(struct sim_rng *r) {
  return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int sim_rng_chance(struct sim_rng *r, double p) {
  if (p <= 0.0) return 0;
  if (p >= 1.0) return 1;
  return sim_rng_unit(r) < p;
}

double sim_rng_normal(struct sim_rng *r) {
  double u1 = sim_rng_unit(r), u2 = sim_rng_unit(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double sim_rng_exp(struct sim_rng *r, double mean) {
  double u = sim_rng_unit(r);
  return -mean * log(1.0 - u);
}

void sim_rng_shuffle_u32(struct sim_rng *r, uint32_t *v, uint32_t n) {
  for (uint32_t i = n; i > 1; i--) {
    uint32_t j = (uint32_t)sim_rng_below(r, i);
    uint32_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}
