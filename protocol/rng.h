/* protocol/rng.h — the one pseudo-random generator: xoshiro256** (Blackman & Vigna)
 * seeded through splitmix64 (Steele, Lea & Flood 2014). Pure and caller-seeded: no
 * clock, no OS entropy, no global state, so the replication engine and the simulator
 * replay a seed bit for bit on every platform. Not for secrets: keys and nonces come
 * from crypto_random. */
#ifndef MOMEDO_RNG_H
#define MOMEDO_RNG_H

#include <stdint.h>

struct rng {
  uint64_t s[4]; /* never all zero (splitmix64 seeding sees to that) */
};

/* splitmix64's output function: a bijective 64-bit mixer (also a keyed hash's last step). */
static inline uint64_t rng_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* One splitmix64 step: advances *state and returns the next output. */
static inline uint64_t rng_splitmix64(uint64_t *state) {
  return rng_mix64(*state += 0x9e3779b97f4a7c15ull);
}

/* Seeds r with four splitmix64 outputs from seed. Returns the splitmix64 state after
 * them, from which a caller may draw further sub-seeds of the same stream. */
uint64_t rng_seed(struct rng *r, uint64_t seed);

static inline uint64_t rng_rotl_(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* The next 64 bits of the stream. */
static inline uint64_t rng_next(struct rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rng_rotl_(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rng_rotl_(s[3], 45);
  return out;
}

/* Uniform in [0, bound) without modulo bias (rejection below 2^64 mod bound); bound > 0. */
uint64_t rng_below(struct rng *r, uint64_t bound);

#endif
