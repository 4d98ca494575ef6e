/* tests/unit/test_sim_core.c — the simulator's building blocks: sub-seed derivation
 * (the PRNG's reference outputs are in test_protocol_rng.c), the event queue's total
 * order, and every topology generator's invariants (degrees, edge counts, no loops or
 * duplicates, roles; Länder, shortest paths, partner nodes). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "sim_queue.h"
#include "sim_rng.h"
#include "sim_scn.h"
#include "sim_topo.h"

/* The PRNG itself is checked against its reference outputs in test_protocol_rng.c. */
static void test_seed_derive(void) {
  CHECK(sim_seed_derive(1, 2, 3) != sim_seed_derive(1, 2, 4));
  CHECK(sim_seed_derive(1, 2, 3) != sim_seed_derive(1, 3, 3));
  CHECK_EQ(sim_seed_derive(9, 8, 7), sim_seed_derive(9, 8, 7));
}

static void test_queue_order(void) {
  struct sim_queue q;
  sim_queue_init(&q);
  /* Same time: class first, then insertion order; earlier times always first. */
  struct sim_event e = {0};
  uint32_t want[] = {5, 2, 3, 4, 1, 6};
  e.time_ms = 10, e.node = 1;
  CHECK_EQ(sim_queue_push(&q, SIM_EVC_ACT, &e), 0);
  e.time_ms = 10, e.node = 2;
  CHECK_EQ(sim_queue_push(&q, SIM_EVC_DELIVER, &e), 0);
  e.time_ms = 10, e.node = 3;
  CHECK_EQ(sim_queue_push(&q, SIM_EVC_DELIVER, &e), 0);
  e.time_ms = 10, e.node = 4;
  CHECK_EQ(sim_queue_push(&q, SIM_EVC_DELIVER, &e), 0);
  e.time_ms = 5, e.node = 5;
  CHECK_EQ(sim_queue_push(&q, SIM_EVC_SAMPLE, &e), 0);
  e.time_ms = 11, e.node = 6;
  CHECK_EQ(sim_queue_push(&q, SIM_EVC_FAULT, &e), 0);
  for (int i = 0; i < 6; i++) {
    struct sim_event out;
    CHECK_EQ(sim_queue_pop(&q, &out), 1);
    CHECK_EQ(out.node, want[i]);
  }
  struct sim_event out;
  CHECK_EQ(sim_queue_pop(&q, &out), 0);
  /* Many random times pop in non-decreasing order. */
  struct rng r;
  rng_seed(&r, 5);
  for (int i = 0; i < 5000; i++) {
    e.time_ms = rng_below(&r, 1000);
    CHECK_EQ(sim_queue_push(&q, SIM_EVC_ACT, &e), 0);
  }
  uint64_t last = 0;
  for (int i = 0; i < 5000; i++) {
    CHECK_EQ(sim_queue_pop(&q, &out), 1);
    CHECK(out.time_ms >= last);
    last = out.time_ms;
  }
  sim_queue_close(&q);
}

static struct sim_scn *scn(const char *text) {
  char err[REASON_MAX];
  struct sim_scn *s = NULL;
  if (sim_scn_parse(text, strlen(text), "t.scn", ".", &s, err, sizeof err)) fprintf(stderr, "%s\n", err);
  return s;
}

/* Adjacency is symmetric, ascending, loop-free and duplicate-free; slots and edge
 * ids agree with the endpoint lists. */
static int topo_ok(const struct sim_topo *t) {
  uint64_t slots = 0;
  for (uint32_t u = 0; u < t->n; u++) {
    uint32_t d = sim_topo_degree(t, u);
    slots += d;
    for (uint32_t i = 0; i < d; i++) {
      uint32_t v = sim_topo_nbr(t, u, i);
      if (v == u || (i && v <= sim_topo_nbr(t, u, i - 1))) return 0;
      if (sim_topo_find(t, u, v) != i || sim_topo_find(t, v, u) < 0) return 0;
      uint64_t e = sim_topo_edge(t, u, i);
      uint32_t a, b;
      sim_topo_ends(t, e, &a, &b);
      if (!((a == u && b == v) || (a == v && b == u))) return 0;
      if (sim_topo_edge(t, v, (uint32_t)sim_topo_find(t, v, u)) != e) return 0;
    }
  }
  return slots == 2 * t->nedges;
}

static void test_topologies(void) {
  static const struct {
    const char *text;
    uint64_t edges;
    uint32_t deg_max;
  } cases[] = {
      {"nodes 10\ntopology line\npublish item count=1\n", 9, 2},
      {"nodes 10\ntopology ring\npublish item count=1\n", 10, 2},
      {"nodes 10\ntopology star\npublish item count=1\n", 9, 9},
      {"nodes 50\ntopology complete\npublish item count=1\n", 1225, 49},
      {"nodes 1000\ntopology random_regular degree=6\npublish item count=1\n", 3000, 6},
      {"nodes 100\ntopology small_world k=6 beta=0\npublish item count=1\n", 300, 6},
      {"nodes 100\ntopology small_world k=6 beta=0.3\npublish item count=1\n", 300, 0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    struct sim_scn *s = scn(cases[c].text);
    CHECK(s != NULL);
    struct rng r;
    rng_seed(&r, 11);
    struct sim_topo t;
    char err[REASON_MAX] = "";
    CHECK_EQ(sim_topo_build(s, &r, &t, err, sizeof err), 0);
    CHECK_EQ(t.nedges, cases[c].edges);
    if (cases[c].deg_max) CHECK_EQ(t.degree_max, cases[c].deg_max);
    CHECK(topo_ok(&t));
    if (s->topo == SIM_TOPO_RANDOM_REGULAR)
      for (uint32_t u = 0; u < t.n; u++) CHECK_EQ(sim_topo_degree(&t, u), 6);
    sim_topo_free(&t);
    sim_scn_free(s);
  }
}

static void test_federation(void) {
  struct sim_scn *s = scn("topology federation counties=3 hubs=2 cities=4 schools=5\npublish item count=1\n");
  CHECK(s != NULL);
  struct rng r;
  rng_seed(&r, 1);
  struct sim_topo t;
  char err[REASON_MAX] = "";
  CHECK_EQ(sim_topo_build(s, &r, &t, err, sizeof err), 0);
  CHECK_EQ(t.n, 3 * (2 + 4 * 6));
  CHECK(topo_ok(&t));
  CHECK_EQ(t.components, 1);
  uint32_t roles[4] = {0};
  for (uint32_t u = 0; u < t.n; u++) {
    roles[t.role[u]]++;
    if (t.role[u] == SIM_ROLE_SCHOOL) CHECK_EQ(sim_topo_degree(&t, u), 2); /* city + county hub */
    if (t.role[u] == SIM_ROLE_CITY) CHECK(sim_topo_degree(&t, u) >= 2 + 5);
  }
  CHECK_EQ(roles[SIM_ROLE_HUB], 6);
  CHECK_EQ(roles[SIM_ROLE_CITY], 12);
  CHECK_EQ(roles[SIM_ROLE_SCHOOL], 60);
  CHECK_EQ(t.county[0], 0);
  CHECK_EQ(t.county[t.n - 1], 2);
  sim_topo_free(&t);
  sim_scn_free(s);
}

/* Neighbors of u as a bitmask over a small graph (at most 64 nodes). */
static uint64_t nbr_mask(const struct sim_topo *t, uint32_t u) {
  uint64_t m = 0;
  for (uint32_t i = 0; i < sim_topo_degree(t, u); i++) m |= 1ull << sim_topo_nbr(t, u, i);
  return m;
}

/* The graph of a scenario text (empty when it does not parse or build: checks fail). */
static void build(const char *text, struct sim_topo *t) {
  struct sim_scn *s = scn(text);
  struct rng r;
  char err[REASON_MAX] = "";
  rng_seed(&r, 1);
  memset(t, 0, sizeof *t);
  if (s && sim_topo_build(s, &r, t, err, sizeof err)) fprintf(stderr, "%s\n", err);
  sim_scn_free(s);
}

/* Länder: counties on a map per Land, Länder linked at their central counties. One Land
 * of 4 counties is the ring the federation had before Länder; 400 counties make 16
 * Länder whose paths stay short. */
static void test_lands(void) {
  /* counties=4, one hub each and nothing else: hubs 0..3 form the ring 0-1-2-3-0. */
  struct sim_topo t;
  build("topology federation counties=4 hubs=1 cities=0 schools=0\npublish item count=1\n", &t);
  CHECK_EQ(t.nedges, 4);
  CHECK_EQ(nbr_mask(&t, 0), (1u << 1) | (1u << 3));
  CHECK_EQ(nbr_mask(&t, 2), (1u << 1) | (1u << 3));
  sim_topo_free(&t);
  /* 9 counties, one Land: a 3 x 3 map in snake order 0 1 2 / 5 4 3 / 6 7 8. */
  build("topology federation counties=9 hubs=1 cities=0 schools=0\npublish item count=1\n", &t);
  CHECK_EQ(t.nedges, 12);
  CHECK_EQ(nbr_mask(&t, 4), (1u << 1) | (1u << 3) | (1u << 5) | (1u << 7));
  CHECK_EQ(nbr_mask(&t, 0), (1u << 1) | (1u << 5));
  sim_topo_free(&t);
  /* Two Länder of 4 counties with 2 hubs: the Länder link hub to hub at their central
   * counties (county 2 of each: map 0 1 / 3 2). */
  build("topology federation counties=8 hubs=2 cities=0 schools=0 lands=2\npublish item count=1\n", &t);
  CHECK_EQ(t.nedges, 8 + 2 * 4 * 2 + 2); /* hub pairs, two rings of 4 counties x 2 hubs, Land link */
  CHECK_EQ(t.land[0], 0);
  CHECK_EQ(t.land[15], 1);
  CHECK(sim_topo_find(&t, 4, 12) >= 0 && sim_topo_find(&t, 5, 13) >= 0);
  CHECK(sim_topo_find(&t, 4, 13) < 0);
  CHECK_EQ(t.components, 1);
  sim_topo_free(&t);
  /* 400 counties: 16 Länder by default, connected, short paths (the old ring of
   * counties had a diameter above 200 here). */
  build("topology federation counties=400 hubs=1 cities=0 schools=0\npublish item count=1\n", &t);
  CHECK_EQ(t.land[399], 15);
  CHECK_EQ(t.components, 1);
  double mean;
  uint32_t max;
  CHECK_EQ(sim_topo_paths(&t, NULL, &mean, &max), 0);
  CHECK(mean > 4 && mean < 9);
  CHECK(max <= 16);
  sim_topo_free(&t);
}

/* Partners: a school's is its county hub, a city's a hub, a hub's its fellow hub; the
 * distance matrix agrees with BFS. */
static void test_partners(void) {
  struct sim_topo t;
  build("topology federation counties=2 hubs=2 cities=2 schools=2\npublish item count=1\n", &t);
  uint32_t out[3], per = 2 + 2 * 3;
  for (uint32_t v = 0; v < t.n; v++) {
    uint32_t k = sim_topo_partners(&t, v, 3, out);
    CHECK(k >= 1 && k <= 3);
    CHECK(sim_topo_find(&t, v, out[0]) >= 0);
    CHECK_EQ(t.county[out[0]], t.county[v]);
    CHECK_EQ(t.role[out[0]], SIM_ROLE_HUB);
    if (t.role[v] == SIM_ROLE_HUB) CHECK_EQ(out[0], v / per * per + (v % per == 0));
  }
  CHECK_EQ(sim_topo_partners(&t, 3, 0, out), 0);
  uint8_t *d = malloc((size_t)t.n * t.n);
  double mean;
  uint32_t max;
  CHECK(d != NULL);
  CHECK_EQ(sim_topo_paths(&t, d, &mean, &max), 0);
  CHECK_EQ(d[0], 0);
  CHECK_EQ(d[1], 1);                /* hub 0 - hub 1 */
  uint32_t dist[16], queue[16], far = 0;
  CHECK_EQ(t.n, 16);
  for (uint32_t u = 0; u < t.n; u++) {
    CHECK_EQ(sim_topo_bfs(&t, u, dist, queue), t.n);
    for (uint32_t v = 0; v < t.n; v++) {
      CHECK_EQ(d[(uint64_t)u * t.n + v], dist[v]);
      CHECK_EQ(d[(uint64_t)u * t.n + v], d[(uint64_t)v * t.n + u]);
      if (dist[v] > far) far = dist[v];
    }
  }
  CHECK_EQ(max, far);
  CHECK_EQ(max, 4); /* school - hub - hub of the other county - its other hub - school */
  free(d);
  sim_topo_free(&t);
}

static void test_edge_file(void) {
  const char *tmp = getenv("MOMEDO_TEST_TMP");
  char dir[512], path[600], err[REASON_MAX] = "";
  snprintf(dir, sizeof dir, "%s", tmp ? tmp : "/tmp");
  (void)mkdir(dir, 0755); /* the first test of a fresh build tree makes it */
  snprintf(path, sizeof path, "%s/sim_edges.txt", dir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  fputs("# u v latency_ms\n0 1 5\n1 2\n\n2 3 7.5\n", f);
  fclose(f);
  char text[1024];
  snprintf(text, sizeof text, "nodes 4\ntopology edges file=%s\npublish item count=1\n", path);
  struct sim_scn *s = scn(text);
  CHECK(s != NULL);
  struct rng r;
  rng_seed(&r, 1);
  struct sim_topo t;
  CHECK_EQ(sim_topo_build(s, &r, &t, err, sizeof err), 0);
  CHECK_EQ(t.nedges, 3);
  CHECK(t.extra_ms != NULL);
  CHECK(t.extra_ms[sim_topo_edge(&t, 2, (uint32_t)sim_topo_find(&t, 2, 3))] == 7.5f);
  CHECK(topo_ok(&t));
  sim_topo_free(&t);
  f = fopen(path, "w");
  CHECK(f != NULL);
  fputs("0 1\n1 2\n0 1\n", f); /* duplicate edge */
  fclose(f);
  CHECK(sim_topo_build(s, &r, &t, err, sizeof err) == MOMEDO_E_CONFIG);
  CHECK(strstr(err, "edge 0-1 appears twice") != NULL);
  f = fopen(path, "w");
  CHECK(f != NULL);
  fputs("0 1\n1 9\n", f); /* node out of range, line 2 */
  fclose(f);
  CHECK(sim_topo_build(s, &r, &t, err, sizeof err) == MOMEDO_E_CONFIG);
  CHECK(strstr(err, "sim_edges.txt:2: expected 'U V [LATENCY_MS]'") != NULL);
  sim_scn_free(s);
  remove(path);
}

int main(void) {
  RUN(test_seed_derive);
  RUN(test_queue_order);
  RUN(test_topologies);
  RUN(test_federation);
  RUN(test_lands);
  RUN(test_partners);
  RUN(test_edge_file);
  TEST_MAIN_END();
}
