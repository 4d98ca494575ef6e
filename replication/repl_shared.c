/* replication/repl_shared.c — the table of node keys and node records that engines in
 * one process share (momedod: one private table per engine; momedo-sim: one for all its
 * engines, so that each distinct record is held and verified once). Memory only: no
 * store, no clock. */
#include <stdlib.h>

#include "repl_int.h"

int repl_shared_new(uint64_t seed, struct repl_shared **out) {
  struct repl_shared *sh = calloc(1, sizeof *sh);
  if (!sh) return MOMEDO_E_NOMEM;
  sh->seed = seed;
  *out = sh;
  return 0;
}

void repl_shared_free(struct repl_shared *sh) {
  free(sh);
}
