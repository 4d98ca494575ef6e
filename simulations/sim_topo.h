/* simulations/sim_topo.h — the simulated network graph: generators for line, ring,
 * star, complete, random regular, small-world (Watts–Strogatz), the county/city/school
 * federation and edge-list files, stored as sorted adjacency lists (CSR). A complete
 * graph is implicit (no lists), so 10,000-node complete graphs cost nothing. Owns no
 * link state: that lives in the runner. */
#ifndef MOMEDO_SIM_TOPO_H
#define MOMEDO_SIM_TOPO_H

#include <stdint.h>

#include "sim_rng.h"
#include "sim_scn.h"

#define SIM_EDGES_MAX 50000000ull      /* undirected edges */
#define SIM_EDGE_FILE_LINES_MAX 60000000ull
#define SIM_RR_RESTARTS_MAX 100
#define SIM_TOPO_DIST_FAR 255          /* saturated hop distance (and "unreachable") */

struct sim_topo {
  uint32_t n;
  int complete;        /* implicit complete graph: off/adj/eid unused */
  uint32_t *off;       /* n + 1 offsets into adj/eid */
  uint32_t *adj;       /* neighbors, ascending per node */
  uint32_t *eid;       /* undirected edge id of each directed slot */
  uint64_t nedges;     /* undirected edges */
  uint32_t *eu, *ev;   /* endpoints of undirected edge e (eu < ev), ascending */
  float *extra_ms;     /* per undirected edge added latency (edge files), or NULL */
  uint8_t *role;       /* enum sim_role per node (federation), or NULL */
  uint32_t *county;    /* county per node (federation), or NULL */
  uint32_t *land;      /* Land per node (federation), or NULL */
  uint32_t components; /* connected components */
  uint32_t degree_max;
};

/* Hop distances from src (UINT32_MAX: unreachable) into dist[n], with queue[n] as
 * scratch. Returns the number of nodes reached (src included). */
uint32_t sim_topo_bfs(const struct sim_topo *t, uint32_t src, uint32_t *dist, uint32_t *queue);
/* Shortest paths between all pairs: the mean over ordered pairs of distinct connected
 * nodes and the largest (the diameter of the largest component). rows (may be NULL)
 * gets n x n hop distances, saturated at SIM_TOPO_DIST_FAR (also for unreachable).
 * n BFS runs: ~1 s for 12,000 nodes. E_NOMEM. */
MOMEDO_WUR int sim_topo_paths(const struct sim_topo *t, uint8_t *rows, double *mean, uint32_t *max);

/* A user homed at v keeps copies on up to k partner nodes (its bundle's other home
 * nodes): the neighbors of v in order of preference — in a federation those of its own
 * county first, hubs first (a school's county node; a hub's fellow hub), then the best
 * connected, then the smallest index. Writes at most k of them to out; returns how many. */
uint32_t sim_topo_partners(const struct sim_topo *t, uint32_t v, uint32_t k, uint32_t *out);

/* Build the scenario's graph, drawing from rng (random generators only). Errors:
 * E_CONFIG with a message in why (bad edge file, impossible random graph), E_IO,
 * E_NOMEM. */
MOMEDO_WUR int sim_topo_build(const struct sim_scn *s, struct rng *rng, struct sim_topo *t,
                              char *why, size_t why_cap);
void sim_topo_free(struct sim_topo *t);

static inline uint32_t sim_topo_degree(const struct sim_topo *t, uint32_t u) {
  return t->complete ? t->n - 1 : t->off[u + 1] - t->off[u];
}
/* i-th neighbor of u (ascending), i < degree. */
static inline uint32_t sim_topo_nbr(const struct sim_topo *t, uint32_t u, uint32_t i) {
  return t->complete ? (i < u ? i : i + 1) : t->adj[t->off[u] + i];
}
/* Index of the directed slot (u, i-th neighbor): 0 .. 2*nedges - 1. */
static inline uint64_t sim_topo_slot(const struct sim_topo *t, uint32_t u, uint32_t i) {
  return t->complete ? (uint64_t)u * (t->n - 1) + i : (uint64_t)t->off[u] + i;
}
/* Undirected edge id of (u, i-th neighbor). */
uint64_t sim_topo_edge(const struct sim_topo *t, uint32_t u, uint32_t i);
/* Position of v among u's neighbors, or -1. */
int64_t sim_topo_find(const struct sim_topo *t, uint32_t u, uint32_t v);
/* Endpoints of undirected edge e. */
void sim_topo_ends(const struct sim_topo *t, uint64_t e, uint32_t *u, uint32_t *v);

#endif
