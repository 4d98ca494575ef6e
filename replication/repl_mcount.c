/* replication/repl_mcount.c — live items+chunks and their bytes per mailbox, kept in
 * memory (an open-addressing table keyed by mailbox) and derived from the stored
 * records when the engine loads, so storing an object costs no counter read or
 * write in the store. Knows nothing of the store, peers or messages. */
#include <stdlib.h>
#include <string.h>

#include "repl_int.h"

#define MC_CAP_MIN 16u

static uint64_t mc_hash(const struct repl_mcount *m, const uint8_t *mbox) {
  uint64_t h;
  memcpy(&h, mbox, 8);
  /* Keyed with the engine's seed, then mixed (splitmix64's finaliser): a peer
   * choosing mailboxes cannot aim them at one probe run. */
  return rng_mix64(h ^ m->key);
}

void repl__mc_init(struct repl_mcount *m, uint64_t key) {
  memset(m, 0, sizeof *m);
  m->key = key;
}

void repl__mc_close(struct repl_mcount *m) {
  free(m->t);
  memset(m, 0, sizeof *m);
}

/* Slot of mbox, or of the empty slot where it would go. */
static size_t mc_slot(const struct repl_mcount *m, const uint8_t *mbox) {
  size_t mask = m->cap - 1, i = (size_t)mc_hash(m, mbox) & mask;
  while (m->t[i].items && memcmp(m->t[i].mbox, mbox, OBJ_MAILBOX_LEN) != 0) i = (i + 1) & mask;
  return i;
}

static int mc_grow(struct repl_mcount *m, size_t ncap) {
  struct repl_mcount_ent *nt = calloc(ncap, sizeof *nt), *old = m->t;
  if (!nt) return MOMEDO_E_NOMEM;
  size_t ocap = m->cap;
  m->t = nt;
  m->cap = ncap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i].items) m->t[mc_slot(m, old[i].mbox)] = old[i];
  free(old);
  return 0;
}

int repl__mc_reserve(struct repl_mcount *m) {
  /* Load factor at most 1/2 after one more mailbox. */
  if (2 * (m->n + 1) <= m->cap) return 0;
  return mc_grow(m, m->cap ? 2 * m->cap : MC_CAP_MIN);
}

void repl__mc_add(struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN], size_t len) {
  /* The caller reserved room (repl__mc_reserve), so this never allocates. */
  struct repl_mcount_ent *e = &m->t[mc_slot(m, mbox)];
  if (!e->items) {
    memcpy(e->mbox, mbox, OBJ_MAILBOX_LEN);
    m->n++;
  }
  e->items++;
  e->bytes += len;
}

void repl__mc_sub(struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN], size_t len) {
  if (!m->cap) return;
  size_t mask = m->cap - 1, i = mc_slot(m, mbox);
  struct repl_mcount_ent *e = &m->t[i];
  if (!e->items) return;
  e->bytes = e->bytes >= len ? e->bytes - len : 0;
  if (--e->items) return;
  /* Empty now: shift later members of the probe run back (no tombstones). */
  m->n--;
  for (size_t j = (i + 1) & mask; m->t[j].items; j = (j + 1) & mask) {
    size_t home = (size_t)mc_hash(m, m->t[j].mbox) & mask;
    /* Move j to the hole at i unless its home lies cyclically in (i, j]. */
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      m->t[i] = m->t[j];
      i = j;
    }
  }
  memset(&m->t[i], 0, sizeof m->t[i]);
}

void repl__mc_prefetch(const struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN]) {
  if (m->cap) __builtin_prefetch(&m->t[(size_t)mc_hash(m, mbox) & (m->cap - 1)]);
}

void repl__mc_get(const struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN],
                  uint64_t *items, uint64_t *bytes) {
  *items = *bytes = 0;
  if (!m->cap) return;
  const struct repl_mcount_ent *e = &m->t[mc_slot(m, mbox)];
  *items = e->items;
  *bytes = e->bytes;
}
