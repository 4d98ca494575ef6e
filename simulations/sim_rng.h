/* simulations/sim_rng.h — the simulator's only source of randomness: xoshiro256**
 * seeded through splitmix64 from the one run seed, plus the distributions the
 * scenarios name. Never reads the clock or libc rand(); the same seed always gives
 * the same stream on every platform (no floating-point library calls but log/sqrt/exp). */
#ifndef MOMEDO_SIM_RNG_H
#define MOMEDO_SIM_RNG_H

#include <stdint.h>

struct sim_rng {
  uint64_t s[4];
};

/* splitmix64 step: the seed expander (Steele et al. 2014). */
uint64_t sim_splitmix64(uint64_t *state);
/* A sub-seed for stream `tag` (e.g. one per node), a pure function of (seed, tag, index). */
uint64_t sim_seed_derive(uint64_t seed, uint64_t tag, uint64_t index);
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, bound) without modulo bias; bound > 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t bound);
/* Uniform double in [0, 1) with 53 random bits. */
double sim_rng_unit(struct sim_rng *r);
/* 1 with probability p. p <= 0 never draws (so p = 0 leaves the stream untouched). */
int sim_rng_chance(struct sim_rng *r, double p);
/* Standard normal (Box–Muller, one value per call; deterministic). */
double sim_rng_normal(struct sim_rng *r);
/* Exponential with the given mean. */
double sim_rng_exp(struct sim_rng *r, double mean);
/* Fisher–Yates shuffle of n uint32 values. */
void sim_rng_shuffle_u32(struct sim_rng *r, uint32_t *v, uint32_t n);

#endif
