/* replication/repl_shared.c — what engines in one process share: the newest record
 * each of them issued (momedod: one private table per engine, unused; momedo-sim: one
 * for all its engines, so repl_records_adopt can start a federation with converged
 * routes instead of flooding N records to N nodes). Memory only: no store, no clock. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "repl_int.h"

int repl_shared_new(uint64_t seed, struct repl_shared **out) {
  struct repl_shared *sh = calloc(1, sizeof *sh);
  if (!sh) return MOMEDO_E_NOMEM;
  sh->seed = seed;
  *out = sh;
  return 0;
}

void repl_shared_free(struct repl_shared *sh) {
  if (!sh) return;
  for (size_t i = 0; i < sh->cap; i++) free(sh->recs[i].bytes);
  free(sh->recs);
  free(sh);
}

static size_t slot_of(const struct repl_shared *sh, const uint8_t *key) {
  uint64_t h = be64_get(key) ^ sh->seed;
  h ^= h >> 31;
  h *= 0x9e3779b97f4a7c15ull;
  size_t m = sh->cap - 1;
  for (size_t i = (size_t)(h >> 7) & m;; i = (i + 1) & m)
    if (!sh->recs[i].bytes || memcmp(sh->recs[i].key, key, OBJ_KEY_LEN) == 0) return i;
}

static int grow(struct repl_shared *sh) {
  struct repl_shared old = *sh;
  size_t ncap = sh->cap ? sh->cap * 2 : 64;
  sh->recs = calloc(ncap, sizeof *sh->recs);
  if (!sh->recs) {
    sh->recs = old.recs;
    return MOMEDO_E_NOMEM;
  }
  sh->cap = ncap;
  for (size_t i = 0; i < old.cap; i++)
    if (old.recs[i].bytes) sh->recs[slot_of(sh, old.recs[i].key)] = old.recs[i];
  free(old.recs);
  return 0;
}

int repl__shared_publish(struct repl_shared *sh, const uint8_t *key, uint64_t seq,
                         uint64_t expires_ms, const uint8_t *bytes, size_t len) {
  if ((sh->n + 1) * 2 > sh->cap && grow(sh)) return MOMEDO_E_NOMEM;
  struct repl_shared_rec *e = &sh->recs[slot_of(sh, key)];
  if (e->bytes && e->seq >= seq) return 0;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return MOMEDO_E_NOMEM;
  memcpy(copy, bytes, len);
  if (!e->bytes) sh->n++;
  free(e->bytes);
  memcpy(e->key, key, OBJ_KEY_LEN);
  e->seq = seq, e->expires_ms = expires_ms;
  e->bytes = copy, e->len = len;
  return 0;
}
