/* simulations/sim_rng.h — the distributions the scenarios name, drawn from the one PRNG
 * (protocol/rng.h: xoshiro256** seeded through splitmix64 from the one run seed), and
 * the derivation of per-stream sub-seeds. Never reads the clock or libc rand(); the
 * same seed always gives the same stream on every platform (no floating-point library
 * calls but log/sqrt/cos). */
#ifndef MOMEDO_SIM_RNG_H
#define MOMEDO_SIM_RNG_H

#include <stdint.h>

#include "rng.h"

/* A sub-seed for stream `tag` (e.g. one per node), a pure function of (seed, tag, index). */
uint64_t sim_seed_derive(uint64_t seed, uint64_t tag, uint64_t index);
/* Uniform double in [0, 1) with 53 random bits. */
double sim_rng_unit(struct rng *r);
/* 1 with probability p. p <= 0 never draws (so p = 0 leaves the stream untouched). */
int sim_rng_chance(struct rng *r, double p);
/* Standard normal (Box–Muller, one value per call; deterministic). */
double sim_rng_normal(struct rng *r);
/* Exponential with the given mean. */
double sim_rng_exp(struct rng *r, double mean);
/* Fisher–Yates shuffle of n uint32 values. */
void sim_rng_shuffle_u32(struct rng *r, uint32_t *v, uint32_t n);

#endif
