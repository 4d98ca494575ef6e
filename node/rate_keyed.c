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

static uint32_t take(struct rate_keyed_slot *s, uint32_t limit, uint32_t want) {
  uint32_t left = s->count >= limit ? 0 : limit - s->count, got = want < left ? want : left;
  s->count += got;
  return got;
}

int rate_keyed_take_upto(struct rate_keyed_slot *tab, size_t n,
                         const uint8_t h[RATE_KEYED_HASH_LEN], uint32_t limit, uint32_t want,
                         uint64_t window_ms, uint64_t now, uint32_t *got) {
  uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  uint64_t tag = le64(h + 4);
  struct rate_keyed_slot *free_slot = NULL;
  *got = 0;
  for (size_t i = 0; i < RATE_KEYED_PROBE && i < n; i++) {
    struct rate_keyed_slot *s = &tab[(v + i) % n];
    if (!live(s, window_ms, now)) {
      if (!free_slot) free_slot = s;
      continue;
    }
    if (s->tag != tag) continue;
    *got = take(s, limit, want);
    return *got ? RATE_KEYED_OK : RATE_KEYED_LIMIT;
  }
  if (!free_slot) return RATE_KEYED_FULL;
  if (limit == 0 || want == 0) return RATE_KEYED_LIMIT;
  free_slot->tag = tag;
  free_slot->window_start_ms = now;
  free_slot->count = 0;
  *got = take(free_slot, limit, want);
  return RATE_KEYED_OK;
}

int rate_keyed_take(struct rate_keyed_slot *tab, size_t n, const uint8_t h[RATE_KEYED_HASH_LEN],
                    uint32_t limit, uint64_t window_ms, uint64_t now) {
  uint32_t got;
  return rate_keyed_take_upto(tab, n, h, limit, 1, window_ms, now, &got);
}
