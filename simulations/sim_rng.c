/* simulations/sim_rng.c — sub-seeds and the distributions built on the one PRNG
 * (protocol/rng.h). Pure integer arithmetic for the streams, so a seed replays
 * bit-for-bit; no global state. */
#include "sim_rng.h"

#include <math.h>

uint64_t sim_seed_derive(uint64_t seed, uint64_t tag, uint64_t index) {
  uint64_t st = seed;
  uint64_t a = rng_splitmix64(&st);
  st = a ^ (tag * 0xd1b54a32d192ed03ull);
  uint64_t b = rng_splitmix64(&st);
  st = b ^ (index * 0xaef17502108ef2d9ull);
  return rng_splitmix64(&st);
}

double sim_rng_unit(struct rng *r) {
  return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int sim_rng_chance(struct rng *r, double p) {
  if (p <= 0.0) return 0;
  if (p >= 1.0) return 1;
  return sim_rng_unit(r) < p;
}

double sim_rng_normal(struct rng *r) {
  double u1 = sim_rng_unit(r), u2 = sim_rng_unit(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double sim_rng_exp(struct rng *r, double mean) {
  double u = sim_rng_unit(r);
  return -mean * log(1.0 - u);
}

void sim_rng_shuffle_u32(struct rng *r, uint32_t *v, uint32_t n) {
  for (uint32_t i = n; i > 1; i--) {
    uint32_t j = (uint32_t)rng_below(r, i);
    uint32_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}
