/* node/rates.c — what one device may do a minute on this node (posts, tombstones, key
 * bundle publishes, one-time prekey claims): fixed one-minute windows keyed exactly
 * (rate_keyed.h) by a salted hash of the device key, one table per kind, sized from
 * clients_max. Two devices never share a budget, and the salt keeps which keys meet in a
 * probe range unknown outside the process. No clock of its own; loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node_int.h"

#define RATE_WINDOW_MS 60000u

static size_t slots_for(uint32_t clients_max) {
  size_t want = (size_t)clients_max * NODE_RATE_SLOTS_PER_CLIENT, s = NODE_RATE_SLOTS_MIN;
  while (s < want && s < NODE_RATE_SLOTS_MAX) s <<= 1;
  return s;
}

static int tables_new(struct node_rates *r, size_t slots) {
  struct rate_keyed_slot *t = calloc(NODE_RATE_KINDS * slots, sizeof *t);
  if (!t) return MOMEDO_E_NOMEM;
  free(r->tab);
  r->tab = t;
  r->slots = slots;
  return 0;
}

int node__rates_init(struct node *n) {
  int rc = crypto_random(n->rates.salt, sizeof n->rates.salt);
  return rc ? rc : tables_new(&n->rates, slots_for(n->cfg.clients_max));
}

void node__rates_fit(struct node *n) {
  size_t slots = slots_for(n->cfg.clients_max);
  if (slots <= n->rates.slots) return;
  if (tables_new(&n->rates, slots) != 0) {
    node_log(NODE_LOG_WARN, "no memory for per-device rate tables of %zu slots (clients_max "
             "%u): keeping %zu; devices beyond them are refused for a minute", slots,
             n->cfg.clients_max, n->rates.slots);
    return;
  }
  node_log(NODE_LOG_INFO, "per-device rate tables grown to %zu slots for clients_max %u "
           "(this minute's counts start over)", slots, n->cfg.clients_max);
}

void node__rates_free(struct node *n) {
  free(n->rates.tab);
  n->rates.tab = NULL;
  n->rates.slots = 0;
}

void node__rate_hash(const struct node *n, enum node_rate_kind kind,
                     const uint8_t key[OBJ_KEY_LEN], uint8_t h[static RATE_KEYED_HASH_LEN]) {
  uint8_t k = (uint8_t)kind, d[CRYPTO_HASH_LEN];
  const struct crypto_part parts[] = {
      {n->rates.salt, sizeof n->rates.salt}, {&k, 1}, {key, OBJ_KEY_LEN}};
  if (crypto_sha256_parts(d, parts, 3) != 0) memset(d, 0xff, sizeof d); /* one slot: stricter */
  memcpy(h, d, RATE_KEYED_HASH_LEN);
}

int node__rate_take(struct node *n, enum node_rate_kind kind, const uint8_t key[OBJ_KEY_LEN],
                    uint32_t limit, uint32_t want, uint64_t now_ms, uint32_t *got) {
  uint8_t h[RATE_KEYED_HASH_LEN];
  *got = 0;
  if (!n->rates.tab) return RATE_KEYED_FULL; /* not started: refuse rather than count nothing */
  node__rate_hash(n, kind, key, h);
  return rate_keyed_take_upto(n->rates.tab + (size_t)kind * n->rates.slots, n->rates.slots, h,
                              limit, want, RATE_WINDOW_MS, now_ms, got);
}
