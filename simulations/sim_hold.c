/* simulations/sim_hold.c — what one node holds when holdings are sparse (scoped
 * delivery: a node holds the objects it is a destination of, what it relays and what it
 * looked up, a few hundred of a million): an open-addressing map from object index to
 * the copy's role and hop count, one per node, grown by doubling. Knows nothing about
 * measures; sim_measure.c keeps the counters. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define HOLD_EMPTY UINT32_MAX
#define HOLD_CAP_MIN 8u

static uint32_t slot_of(const struct sim_hmap *m, uint32_t o) {
  uint32_t x = o * 0x9e3779b1u; /* Fibonacci hashing: consecutive objects spread */
  return x >> (32 - m->bits);
}

const struct sim_held *sim__hold_find(const struct sim_hmap *m, uint32_t o) {
  if (!m->cap) return NULL;
  for (uint32_t i = slot_of(m, o);; i = (i + 1) & (m->cap - 1)) {
    if (m->e[i].obj == o) return &m->e[i];
    if (m->e[i].obj == HOLD_EMPTY) return NULL;
  }
}

static int grow(struct sim_hmap *m) {
  uint32_t ncap = m->cap ? m->cap * 2 : HOLD_CAP_MIN, bits = 0;
  while ((1u << bits) < ncap) bits++;
  struct sim_held *ne = malloc((size_t)ncap * sizeof *ne);
  if (!ne) return MOMEDO_E_NOMEM;
  memset(ne, 0xff, (size_t)ncap * sizeof *ne);
  struct sim_hmap nm = {.e = ne, .cap = ncap, .bits = bits, .n = 0};
  for (uint32_t i = 0; i < m->cap; i++) {
    if (m->e[i].obj == HOLD_EMPTY) continue;
    uint32_t j = slot_of(&nm, m->e[i].obj);
    while (ne[j].obj != HOLD_EMPTY) j = (j + 1) & (ncap - 1);
    ne[j] = m->e[i];
    nm.n++;
  }
  free(m->e);
  *m = nm;
  return 0;
}

int sim__hold_put(struct sim_hmap *m, uint32_t o, uint8_t role, uint8_t hops) {
  if ((m->n + 1) * 4 > m->cap * 3) { /* load factor 3/4 */
    int rc = grow(m);
    if (rc) return rc;
  }
  uint32_t i = slot_of(m, o);
  while (m->e[i].obj != HOLD_EMPTY && m->e[i].obj != o) i = (i + 1) & (m->cap - 1);
  if (m->e[i].obj == HOLD_EMPTY) m->n++;
  m->e[i] = (struct sim_held){.obj = o, .role = role, .hops = hops};
  return 0;
}

void sim__hold_del(struct sim_hmap *m, uint32_t o) {
  if (!m->cap) return;
  uint32_t i = slot_of(m, o), mask = m->cap - 1;
  while (m->e[i].obj != o) {
    if (m->e[i].obj == HOLD_EMPTY) return;
    i = (i + 1) & mask;
  }
  /* Backward-shift deletion: move later entries of the probe chain into the gap. */
  for (uint32_t j = i;;) {
    j = (j + 1) & mask;
    if (m->e[j].obj == HOLD_EMPTY) break;
    uint32_t h = slot_of(m, m->e[j].obj);
    if (i <= j ? (i < h && h <= j) : (i < h || h <= j)) continue;
    m->e[i] = m->e[j];
    i = j;
  }
  m->e[i].obj = HOLD_EMPTY;
  m->n--;
}

void sim__hold_free(struct sim_hmap *m) {
  free(m->e);
  memset(m, 0, sizeof *m);
}
