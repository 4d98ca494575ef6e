/* protocol/rng.c — seeding and bounded draws of the one PRNG (see rng.h). The stream
 * functions are inline in the header: the simulator and the engine call them per event. */
#include "rng.h"

#include <assert.h>

uint64_t rng_seed(struct rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = rng_splitmix64(&seed);
  return seed;
}

uint64_t rng_below(struct rng *r, uint64_t bound) {
  assert(bound > 0);
  uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t x = rng_next(r);
    if (x >= threshold) return x % bound;
  }
}
