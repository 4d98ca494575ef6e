/* tests/unit/test_repl_rtree.c — the route table's in-place repair (replication/
 * repl_rtree.c) against a full search and against the test's own definition, on random
 * graphs under random changes: links listed on one side or both, withdrawn, records
 * removed and expiring, the engine's links going down and up (two links to one node
 * too). After every batch of changes the repaired table (distance, next hop,
 * alternative) must equal a fresh search's row for row, and both must equal the
 * definition: BFS distances over mutual links, and per node the two lowest peer IDs
 * among the first hops of all its shortest paths (a direct neighbor: its lowest link). */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define RECORD MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD
#define NS 40       /* synthetic nodes 1..NS; node 0 is the engine under test */
#define LINKS 6     /* engine links: to nodes 1..5, and a second link to node 1 */
#define INF UINT32_MAX

struct model {
  struct tn t;
  struct crypto_sign_keypair kp[NS + 1];
  bool lists[NS + 1][NS + 1];
  bool live[NS + 1];          /* a record of i is held (not removed) */
  uint64_t seq[NS + 1], exp[NS + 1];
  int link_node[LINKS];       /* link k (peer ID pid[k]) goes to this node */
  uint64_t pid[LINKS];
  bool link_up[LINKS];
  uint64_t rng;
  uint64_t repairs, fulls;
};

struct row {
  uint32_t dist;
  bool has_next, has_alt;
  uint64_t next, alt;
};

static uint32_t rnd(struct model *m, uint32_t n) {
  m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(m->rng >> 33) % n;
}

static struct repl *eng(struct model *m) { return m->t.n[0].r; }

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, OBJ_KEY_LEN); }

static const uint8_t *pub(struct model *m, int i) { return i ? m->kp[i].pub : m->t.n[0].kp.pub; }

/* Node i signs a record of what lists[i] says; the engine takes it into its table. */
static void publish(struct model *m, int i, uint64_t life_ms) {
  uint8_t keys[NS + 1][OBJ_KEY_LEN];
  ProtobufCBinaryData d[NS + 1];
  size_t n = 0;
  for (int j = 0; j <= NS; j++)
    if (m->lists[i][j]) memcpy(keys[n++], pub(m, j), OBJ_KEY_LEN);
  qsort(keys, n, OBJ_KEY_LEN, key_cmp);
  for (size_t k = 0; k < n; k++) d[k] = (ProtobufCBinaryData){OBJ_KEY_LEN, keys[k]};
  Momedo__NodeRecord rec = MOMEDO__NODE_RECORD__INIT;
  rec.format = 1;
  rec.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, m->kp[i].pub};
  rec.seq = ++m->seq[i];
  rec.created_ms = m->t.now;
  rec.expires_ms = m->exp[i] = m->t.now + life_ms;
  rec.name = "synthetic";
  rec.n_neighbors = n;
  rec.neighbors = n ? d : NULL;
  uint8_t *out = NULL, id[OBJ_ID_LEN];
  size_t len = 0;
  if (obj_sign_encode(RECORD, &rec.base, &m->kp[i], &out, &len)) abort();
  if (obj_id(RECORD, out, len, id)) abort();
  repl__clock_note(eng(m), m->t.now); /* as every input of the engine does */
  if (repl__node_record_set(eng(m), id, out, len)) abort();
  free(out);
  m->live[i] = true;
}

static void gone(struct model *m, int i) {
  repl__clock_note(eng(m), m->t.now);
  repl__node_record_gone(eng(m), m->kp[i].pub, m->seq[i]);
  m->live[i] = false;
}

static void set_link(struct model *m, int k, bool up) {
  if (up) {
    if (repl_peer_up(eng(m), m->pid[k], m->kp[m->link_node[k]].pub, m->t.now)) abort();
  } else {
    repl_peer_down(eng(m), m->pid[k], m->t.now);
  }
  m->link_up[k] = up;
  struct repl_action a;
  while (repl_next_action(eng(m), &a)) /* no network: the engine's sends go nowhere */
    if (a.kind == REPL_ACT_SEND) free(a.bytes);
}

/* ---- the definition ------------------------------------------------------------- */

static bool usable(const struct model *m, int i) {
  return i != 0 && m->live[i] && m->exp[i] > m->t.now;
}

static bool edge(const struct model *m, int a, int b) {
  return usable(m, a) && usable(m, b) && m->lists[a][b] && m->lists[b][a];
}

/* Distances from src over mutual edges (node 0 excluded). */
static void bfs_from(const struct model *m, int src, uint32_t d[NS + 1]) {
  int q[NS + 1], qh = 0, qt = 0;
  for (int i = 0; i <= NS; i++) d[i] = INF;
  d[src] = 0;
  q[qt++] = src;
  while (qh < qt) {
    int u = q[qh++];
    for (int v = 1; v <= NS; v++)
      if (d[v] == INF && edge(m, u, v)) d[v] = d[u] + 1, q[qt++] = v;
  }
}

static void expect(const struct model *m, struct row want[NS + 1]) {
  uint64_t minpid[NS + 1] = {0};
  uint32_t dq[NS + 1][NS + 1];
  for (int k = 0; k < LINKS; k++) {
    int q = m->link_node[k];
    if (m->link_up[k] && (!minpid[q] || m->pid[k] < minpid[q])) minpid[q] = m->pid[k];
  }
  memset(want, 0, sizeof(struct row) * (NS + 1));
  for (int v = 1; v <= NS; v++) want[v].dist = minpid[v] ? 1 : INF;
  for (int q = 1; q <= NS; q++) {
    if (!minpid[q]) continue;
    bfs_from(m, q, dq[q]);
    for (int v = 1; v <= NS; v++)
      if (dq[q][v] != INF && 1 + dq[q][v] < want[v].dist) want[v].dist = 1 + dq[q][v];
  }
  for (int v = 1; v <= NS; v++) {
    struct row *w = &want[v];
    if (w->dist == 1) {
      w->has_next = true, w->next = minpid[v];
      continue;
    }
    for (int q = 1; q <= NS && w->dist != INF; q++) {
      if (!minpid[q] || dq[q][v] == INF || 1 + dq[q][v] != w->dist) continue;
      uint64_t c = minpid[q];
      if (!w->has_next || c < w->next) {
        if (w->has_next && w->next != c) w->has_alt = true, w->alt = w->next;
        w->has_next = true, w->next = c;
      } else if (c != w->next && (!w->has_alt || c < w->alt)) {
        w->has_alt = true, w->alt = c;
      }
    }
  }
}

/* ---- the engine's table ------------------------------------------------------------ */

static void table(struct model *m, struct row rows[NS + 1]) {
  struct repl *r = eng(m);
  for (int i = 1; i <= NS; i++) {
    uint32_t g = repl__key_gid(r->shared, m->kp[i].pub, false);
    struct row *w = &rows[i];
    memset(w, 0, sizeof *w);
    w->dist = INF;
    if (g == UINT32_MAX || g >= r->nnodes) continue;
    const struct repl_node *n = &r->nodes[g];
    w->dist = n->dist;
    w->has_next = n->has_next, w->has_alt = n->has_alt;
    if (n->has_next) w->next = n->next_peer;
    if (n->has_alt) w->alt = n->alt_peer;
  }
}

static bool row_eq(const struct row *a, const struct row *b) {
  return a->dist == b->dist && a->has_next == b->has_next && a->has_alt == b->has_alt &&
         a->next == b->next && a->alt == b->alt;
}

/* Repair (the engine's next search), then compare with the definition and, if full, with
 * a full search (which the next repair then starts from; otherwise repairs follow
 * repairs); *rows_moved counts rows that differ from before the changes. */
static void check_step(struct model *m, int *rows_moved, bool full_too) {
  struct repl *r = eng(m);
  struct row before[NS + 1], repaired[NS + 1], full[NS + 1], want[NS + 1];
  uint64_t f0 = r->st.route_full, r0 = r->st.route_repairs;
  table(m, before);
  CHECK_EQ(repl__routes_fresh(r, m->t.now), 0);
  CHECK(!r->routes_dirty);
  m->repairs += r->st.route_repairs - r0;
  m->fulls += r->st.route_full - f0;
  table(m, repaired);
  expect(m, want);
  if (full_too) CHECK_EQ(repl__routes_search(r, m->t.now), 0);
  table(m, full);
  for (int i = 1; i <= NS; i++) {
    if (!row_eq(&repaired[i], &want[i]) || !row_eq(&full[i], &want[i]))
      fprintf(stderr, "node %d: repaired d=%u n=%d:%llu a=%d:%llu full d=%u n=%d:%llu a=%d:%llu "
              "want d=%u n=%d:%llu a=%d:%llu\n", i, repaired[i].dist, repaired[i].has_next,
              (unsigned long long)repaired[i].next, repaired[i].has_alt,
              (unsigned long long)repaired[i].alt, full[i].dist, full[i].has_next,
              (unsigned long long)full[i].next, full[i].has_alt, (unsigned long long)full[i].alt,
              want[i].dist, want[i].has_next, (unsigned long long)want[i].next, want[i].has_alt,
              (unsigned long long)want[i].alt);
    CHECK(row_eq(&repaired[i], &want[i]));
    CHECK(row_eq(&full[i], &want[i]));
    *rows_moved += !row_eq(&before[i], &repaired[i]);
  }
  uint64_t reach = 0;
  for (int i = 1; i <= NS; i++) reach += want[i].dist != INF;
  CHECK_EQ(r->st.routes, reach);
}

/* One random change of the graph or of the engine's links. */
static void change(struct model *m) {
  int a = 1 + (int)rnd(m, NS), b = 1 + (int)rnd(m, NS);
  if (a == b) b = a % NS + 1;
  uint32_t kind = rnd(m, 10);
  switch (kind) {
  case 0: case 1: /* a mutual edge both sign */
    m->lists[a][b] = m->lists[b][a] = true;
    publish(m, a, 3600000), publish(m, b, 3600000);
    break;
  case 2: case 3: { /* a withdraws one listed neighbor */
    int pick[NS + 1], n = 0;
    for (int j = 0; j <= NS; j++)
      if (m->lists[a][j]) pick[n++] = j;
    if (n) m->lists[a][pick[rnd(m, (uint32_t)n)]] = false;
    publish(m, a, 3600000);
    break;
  }
  case 4: /* one side only: no edge yet */
    m->lists[a][b] = true;
    publish(m, a, 3600000);
    break;
  case 5: /* a's record removed, or back */
    if (m->live[a]) gone(m, a);
    else publish(m, a, 3600000);
    break;
  case 6: /* a record that expires soon */
    publish(m, a, 1 + rnd(m, 3000));
    break;
  case 7: case 8: { /* an engine link down or up */
    int k = (int)rnd(m, LINKS);
    set_link(m, k, !m->link_up[k]);
    break;
  }
  default: /* the same links again (a refresh: no search) */
    publish(m, a, 3600000);
    break;
  }
}

static void run_seed(uint64_t seed, int steps, int *moved, int *steps_done) {
  struct model *m = calloc(1, sizeof *m);
  m->rng = seed;
  struct repl_config cfg = tn_scoped_cfg();
  cfg.route_spf_delay_ms = 0; /* every change searched at the next need */
  tn_init(&m->t, 1, &cfg);
  for (int i = 1; i <= NS; i++) {
    uint8_t s[CRYPTO_SIGN_SEED_LEN];
    memset(s, 0x20 + i, sizeof s);
    if (crypto_sign_from_seed(&m->kp[i], s)) abort();
  }
  /* Peer IDs in another order than the nodes they lead to. */
  for (int k = 0; k < LINKS; k++) {
    m->link_node[k] = k < LINKS - 1 ? 1 + k : 1;
    m->pid[k] = 1000 - 37 * (uint64_t)((k * 5 + (int)seed) % LINKS);
  }
  /* Sparse: a ring with some chords, so paths are long and ties many. */
  for (int i = 1; i <= NS; i++) {
    int j = i % NS + 1;
    m->lists[i][j] = m->lists[j][i] = true;
  }
  for (int k = 0; k < NS / 2; k++) {
    int a = 1 + (int)rnd(m, NS), b = 1 + (int)rnd(m, NS);
    if (a != b) m->lists[a][b] = m->lists[b][a] = true;
  }
  for (int k = 0; k < LINKS - 1; k++) m->lists[m->link_node[k]][0] = true;
  for (int k = 0; k < LINKS; k++) set_link(m, k, true);
  for (int i = 1; i <= NS; i++) publish(m, i, 3600000);
  CHECK_CALL(check_step(m, moved, true));
  for (int s = 0; s < steps; s++) {
    int batch = 1 + (int)rnd(m, s % 3 == 0 ? 6 : 2);
    for (int k = 0; k < batch; k++) change(m);
    m->t.now += rnd(m, 400);
    CHECK_CALL(check_step(m, moved, s % 4 == 3));
    (*steps_done)++;
  }
  CHECK(m->repairs > (uint64_t)steps / 2); /* most searches were repairs */
  CHECK(m->fulls > 0);                     /* expiries forced full ones */
  tn_free(&m->t);
  free(m);
}

/* Many seeds: every step's repair equals the definition and a full search. */
static void test_repair_equals_search(void) {
  int moved = 0, steps = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) CHECK_CALL(run_seed(seed, 60, &moved, &steps));
  CHECK_EQ(steps, 40 * 60);
  CHECK(moved > steps); /* the changes did move routes */
}

int main(void) {
  RUN(test_repair_equals_search);
  TEST_MAIN_END();
}
