/* node/rate_keyed.h — fixed-window rate limits keyed exactly, in a fixed table.
 *
 * The plain hashed buckets (struct rate_slot) let two keys that hash alike share one
 * budget: with four honest requesters at their exact limit that refused one of them
 * about once in 170 runs (1024 slots). Here every slot remembers its key (a 64-bit tag
 * of a salted hash the caller makes) and a key looks at RATE_KEYED_PROBE slots from its
 * own: its slot if it has one, else the first slot whose window ran out. Only when all
 * of them are live for other keys does it share — never silently: the caller learns it
 * (RATE_KEYED_FULL) and refuses, as a limit would, so filling the table gains an
 * attacker nothing a limit does not already give it. No allocation, no clock of its own. */
#ifndef MOMEDO_NODE_RATE_KEYED_H
#define MOMEDO_NODE_RATE_KEYED_H

#include <stddef.h>
#include <stdint.h>

#define RATE_KEYED_PROBE 8
#define RATE_KEYED_HASH_LEN 12 /* 4 bytes pick the slot, 8 are the key's tag */

struct rate_keyed_slot {
  uint64_t tag;
  uint64_t window_start_ms;
  uint32_t count; /* 0: free (or its window ran out) */
};

enum { RATE_KEYED_OK = 0, RATE_KEYED_LIMIT = 1, RATE_KEYED_FULL = 2 };

/* One unit for the key hashed to h from tab (n slots, n > 0) under limit per window_ms
 * (fixed windows starting at the key's first unit; a clock that went back starts a new
 * one). RATE_KEYED_OK (taken), _LIMIT (the key used its budget) or _FULL (no slot). */
int rate_keyed_take(struct rate_keyed_slot *tab, size_t n, const uint8_t h[RATE_KEYED_HASH_LEN],
                    uint32_t limit, uint64_t window_ms, uint64_t now);
/* The same for up to want units (want > 0): *got says how many were taken (what is left
 * of the key's budget, at most want); RATE_KEYED_OK when *got > 0, else _LIMIT or _FULL
 * (*got 0). */
int rate_keyed_take_upto(struct rate_keyed_slot *tab, size_t n,
                         const uint8_t h[RATE_KEYED_HASH_LEN], uint32_t limit, uint32_t want,
                         uint64_t window_ms, uint64_t now, uint32_t *got);

#endif
