/* client/core/engine_counter.c — anti-rollback for the vault (issue 11, finding 6;
 * docs/security.md): tell each node this device's save count and stop when that node has
 * seen a higher one (the vault is a restored, older copy). `momedo recover`
 * (client/cli/) is the way on. */
#include <stdio.h>
#include <string.h>

#include "engine.h"

#define ROLLBACK_WHY                                                                      \
  "ROLLBACK: this device's local state is older than the state it already told its home " \
  "node or a partner about (save %llu here, %llu there): the vault in %s was restored "   \
  "from an older copy (a backup, or someone else's copy). Nothing was sent, so no "       \
  "message key is used twice. If you restored a backup on purpose, run `momedo recover`; " \
  "if not, someone may hold a copy of this device: remove it from another device "        \


int eng_counter_sync(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  uint64_t last = 0;
  if (st->counter_skip) return 0;
  int rc = nodeapi_state_counter(&cn->api, st->counter, &last);
  if (rc == MOMEDO_E_UNKNOWN_KIND) return 0;        /* an older node */
  if (rc) return eng_api_fail(c, cn, rc, "telling the node this device's state");
  if (last > st->counter)
    return eng_fail(c, MOMEDO_E_SUPERSEDED, ROLLBACK_WHY, (unsigned long long)st->counter,
                    (unsigned long long)last, st->home.dir);
  return 0;
}
