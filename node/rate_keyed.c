/* node/rate_keyed.c — fixed-window limits keyed exactly (rate_keyed.h). */
#include "rate_keyed.h"

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static int live(const struct rate_keyed_slot *s, uint64_t window_ms, uint64_t now) {
  return s->count && now >= s->window_start_ms && now - s->window_start_ms < window_ms;
}

int rate_keyed_take(struct rate_keyed_slot *tab, size_t n, const uint8_t h[RATE_KEYED_HASH_LEN],
                    uint32_t limit, uint64_t window_ms, uint64_t now) {
  uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  uint64_t tag = le64(h + 4);
  struct rate_keyed_slot *free_slot = NULL;
  for (size_t i = 0; i < RATE_KEYED_PROBE && i < n; i++) {
    struct rate_keyed_slot *s = &tab[(v + i) % n];
    if (!live(s, window_ms, now)) {
      if (!free_slot) free_slot = s;
      continue;
    }
    if (s->tag != tag) continue;
    if (s->count >= limit) return RATE_KEYED_LIMIT;
    s->count++;
    return RATE_KEYED_OK;
  }
  if (!free_slot) return RATE_KEYED_FULL;
  if (limit == 0) return RATE_KEYED_LIMIT;
  free_slot->tag = tag;
  free_slot->window_start_ms = now;
  free_slot->count = 1;
  return RATE_KEYED_OK;
}
