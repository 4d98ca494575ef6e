/* tests/unit/test_sim_core.c — the simulator's building blocks: sub-seed derivation
 * (the PRNG's reference outputs are in test_protocol_rng.c), the event queue's total
 * order, and every topology generator's invariants (degrees, edge counts, no loops or
 * duplicates, roles). */
#include <string.h>

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
  char err[SIM_ERR_CHARS];
  struct sim_scn *s = NULL;
  if (sim_scn_parse(text, strlen(text), "t.scn", ".", &s, err)) fprintf(stderr, "%s\n", err);
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
    char err[SIM_ERR_CHARS] = "";
    CHECK_EQ(sim_topo_build(s, &r, &t, err), 0);
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
  char err[SIM_ERR_CHARS] = "";
  CHECK_EQ(sim_topo_build(s, &r, &t, err), 0);
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

static void test_edge_file(void) {
  const char *tmp = getenv("MOMEDO_TEST_TMP");
  char dir[512], path[600], err[SIM_ERR_CHARS] = "";
  snprintf(dir, sizeof dir, "%s", tmp ? tmp : "/tmp");
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
  CHECK_EQ(sim_topo_build(s, &r, &t, err), 0);
  CHECK_EQ(t.nedges, 3);
  CHECK(t.extra_ms != NULL);
  CHECK(t.extra_ms[sim_topo_edge(&t, 2, (uint32_t)sim_topo_find(&t, 2, 3))] == 7.5f);
  CHECK(topo_ok(&t));
  sim_topo_free(&t);
  f = fopen(path, "w");
  CHECK(f != NULL);
  fputs("0 1\n1 2\n0 1\n", f); /* duplicate edge */
  fclose(f);
  CHECK(sim_topo_build(s, &r, &t, err) == MOMEDO_E_CONFIG);
  CHECK(strstr(err, "edge 0-1 appears twice") != NULL);
  f = fopen(path, "w");
  CHECK(f != NULL);
  fputs("0 1\n1 9\n", f); /* node out of range, line 2 */
  fclose(f);
  CHECK(sim_topo_build(s, &r, &t, err) == MOMEDO_E_CONFIG);
  CHECK(strstr(err, "sim_edges.txt:2: expected 'U V [LATENCY_MS]'") != NULL);
  sim_scn_free(s);
  remove(path);
}

int main(void) {
  RUN(test_seed_derive);
  RUN(test_queue_order);
  RUN(test_topologies);
  RUN(test_federation);
  RUN(test_edge_file);
  TEST_MAIN_END();
}
