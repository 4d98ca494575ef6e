/* tests/unit/test_repl_spf.c — route searches throttled as routers throttle SPF runs
 * (replication/repl_route.c): one engine learns a 48-node random graph from signed
 * records; links are withdrawn and added while the engine answers from its held table;
 * after the hold-down its next hops, alternatives and distances equal a fresh search's
 * and the test's own breadth-first distances; a burst costs few searches, sustained
 * changes back off the searches of a frequent and of a rare asker alike, a change of
 * the engine's own links none of the wait, and an item waiting for a route moves when
 * the held search runs. */
#include "cursor.h"
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define RECORD MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD
#define NS 48      /* synthetic nodes 1..NS; node 0 is the engine under test */
#define NB_MAX 16  /* neighbors a synthetic record lists at most */
#define PEERS 3    /* the engine's links: synthetic nodes 1..PEERS */
#define DELAY_MS 100
#define MAX_MS 1600

struct g {
  struct tn t;
  struct crypto_sign_keypair kp[NS + 1];
  bool lists[NS + 1][NS + 1]; /* lists[i][j]: i's newest record lists j */
  uint64_t seq[NS + 1];
  bool peer_up[PEERS + 1];
  uint64_t rng;
};

struct row {
  uint32_t hops;
  int has_next, has_alt;
  uint64_t next, alt;
};

static bool row_eq(const struct row *a, const struct row *b) {
  return a->hops == b->hops && a->has_next == b->has_next && a->has_alt == b->has_alt &&
         (!a->has_next || a->next == b->next) && (!a->has_alt || a->alt == b->alt);
}

static bool rows_eq(const struct row *a, const struct row *b) {
  for (int i = 1; i <= NS; i++)
    if (!row_eq(&a[i], &b[i])) return false;
  return true;
}

static uint32_t rnd(struct g *g, uint32_t n) {
  g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(g->rng >> 33) % n;
}

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, OBJ_KEY_LEN); }

static struct repl *eng(struct g *g) { return g->t.n[0].r; }

/* Route searches run, full or repaired in place (both give the same table). */
static uint64_t n_searches(const struct repl_stats *s) { return s->route_full + s->route_repairs; }

/* Node i signs a record listing what lists[i] says (node 0 is the engine itself). */
static void publish(struct g *g, int i) {
  uint8_t keys[NB_MAX][OBJ_KEY_LEN];
  ProtobufCBinaryData d[NB_MAX];
  size_t n = 0;
  for (int j = 0; j <= NS; j++) {
    if (!g->lists[i][j]) continue;
    if (n == NB_MAX) abort();
    memcpy(keys[n++], j ? g->kp[j].pub : g->t.n[0].kp.pub, OBJ_KEY_LEN);
  }
  qsort(keys, n, OBJ_KEY_LEN, key_cmp);
  for (size_t k = 0; k < n; k++) d[k] = (ProtobufCBinaryData){OBJ_KEY_LEN, keys[k]};
  Momedo__NodeRecord m = MOMEDO__NODE_RECORD__INIT;
  m.format = 1;
  m.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, g->kp[i].pub};
  m.seq = ++g->seq[i];
  m.created_ms = g->t.now;
  m.expires_ms = g->t.now + 86400000ull;
  m.name = "synthetic.node";
  m.n_neighbors = n;
  m.neighbors = n ? d : NULL;
  uint8_t *out = NULL;
  size_t len = 0;
  if (obj_sign_encode(RECORD, &m.base, &g->kp[i], &out, &len)) abort();
  Momedo__Object ob = MOMEDO__OBJECT__INIT, *op = &ob;
  ob.kind = RECORD;
  ob.data = (ProtobufCBinaryData){len, out};
  Momedo__ObjectPush p = MOMEDO__OBJECT_PUSH__INIT;
  p.n_objects = 1;
  p.objects = &op;
  Momedo__ReplMsg msg = MOMEDO__REPL_MSG__INIT;
  msg.body_case = MOMEDO__REPL_MSG__BODY_PUSH;
  msg.push = &p;
  size_t mn = momedo__repl_msg__get_packed_size(&msg);
  uint8_t *buf = malloc(mn);
  momedo__repl_msg__pack(&msg, buf);
  int from = g->peer_up[1] ? 1 : g->peer_up[2] ? 2 : 3; /* some link that is up */
  CHECK_EQ(repl_on_msg(eng(g), tn_pid(from), buf, mn, g->t.now), 0);
  free(buf);
  free(out);
  tn_pump(&g->t);
}

static bool edge(const struct g *g, int a, int b) { return g->lists[a][b] && g->lists[b][a]; }

/* The test's own distances: the engine's links that are up at 1, mutual edges after. */
static void bfs(const struct g *g, uint32_t dist[NS + 1]) {
  int q[NS + 1], qh = 0, qt = 0;
  for (int i = 0; i <= NS; i++) dist[i] = UINT32_MAX;
  dist[0] = 0;
  for (int p = 1; p <= PEERS; p++)
    if (g->peer_up[p]) dist[p] = 1, q[qt++] = p;
  while (qh < qt) {
    int u = q[qh++];
    for (int v = 1; v <= NS; v++)
      if (dist[v] == UINT32_MAX && edge(g, u, v)) dist[v] = dist[u] + 1, q[qt++] = v;
  }
}

struct snap {
  const struct g *g;
  struct row rows[NS + 1];
  int seen;
};

static int snap_fn(void *ctx, const struct repl_node_info *ni) {
  struct snap *s = ctx;
  for (int i = 1; i <= NS; i++) {
    if (memcmp(ni->key, s->g->kp[i].pub, OBJ_KEY_LEN)) continue;
    s->rows[i] = (struct row){ni->hops, ni->has_next, ni->has_alt, ni->next_peer, ni->alt_peer};
    s->seen++;
  }
  return 0;
}

/* The engine's table as it answers now (held or not). */
static void table(struct g *g, struct row rows[NS + 1]) {
  struct snap s;
  memset(&s, 0, sizeof s);
  s.g = g;
  CHECK_EQ(repl_nodes(eng(g), g->t.now, snap_fn, &s), 0);
  CHECK_EQ(s.seen, NS);
  memcpy(rows, s.rows, sizeof s.rows);
}

/* After the hold-down: the table equals a fresh search's, and its distances the
 * test's own. */
static void check_converged(struct g *g) {
  struct row held[NS + 1], fresh[NS + 1];
  uint32_t dist[NS + 1];
  table(g, held);
  CHECK(!eng(g)->routes_dirty);
  CHECK_EQ(repl__routes_search(eng(g), g->t.now), 0);
  table(g, fresh);
  bfs(g, dist);
  int same = 0, dist_ok = 0, reach = 0;
  for (int i = 1; i <= NS; i++) {
    same += row_eq(&held[i], &fresh[i]);
    dist_ok += held[i].hops == dist[i];
    reach += dist[i] != UINT32_MAX;
    /* the first hop is a link that is up */
    if (held[i].has_next) CHECK(held[i].next >= tn_pid(1) && held[i].next <= tn_pid(PEERS));
  }
  CHECK_EQ(same, NS);
  CHECK_EQ(dist_ok, NS);
  CHECK(reach > NS / 2);
}

static void setup(struct g *g) {
  memset(g, 0, sizeof *g);
  g->rng = 42;
  struct repl_config cfg = tn_scoped_cfg();
  cfg.route_spf_delay_ms = DELAY_MS;
  cfg.route_spf_max_ms = MAX_MS;
  cfg.custody_retry_ms = 60000;
  tn_init(&g->t, 1, &cfg);
  for (int i = 1; i <= NS; i++) {
    uint8_t seed[CRYPTO_SIGN_SEED_LEN];
    memset(seed, 0x10 + i, sizeof seed);
    if (crypto_sign_from_seed(&g->kp[i], seed)) abort();
  }
  /* A ring with chords; the engine linked to 1..PEERS. */
  for (int i = 1; i <= NS; i++) {
    int j = i % NS + 1;
    g->lists[i][j] = g->lists[j][i] = true;
  }
  for (int k = 0; k < NS; k++) {
    int a = 1 + (int)rnd(g, NS), b = 1 + (int)rnd(g, NS);
    if (a != b) g->lists[a][b] = g->lists[b][a] = true;
  }
  for (int p = 1; p <= PEERS; p++) {
    g->lists[p][0] = true;
    g->peer_up[p] = true;
    CHECK_EQ(repl_peer_up(eng(g), tn_pid(p), g->kp[p].pub, g->t.now), 0);
  }
  tn_pump(&g->t);
  for (int i = 1; i <= NS; i++) publish(g, i);
  tn_run_until(&g->t, g->t.now + MAX_MS * 3);
  check_converged(g);
}

/* One random change, never touching node `keep`: withdraw one end of an existing edge,
 * or add a new mutual edge (both ends sign). Returns the records published. */
static int change(struct g *g, int keep) {
  int a = 1 + (int)rnd(g, NS), b = 1 + (int)rnd(g, NS);
  if (a == b) b = a % NS + 1;
  if (a == keep || b == keep) return 0;
  if (rnd(g, 2)) { /* withdraw: a forgets one of its listed neighbors */
    int n = 0, pick[NS + 1];
    for (int j = 1; j <= NS; j++)
      if (g->lists[a][j] && j != keep) pick[n++] = j;
    if (n == 0) return 0;
    g->lists[a][pick[rnd(g, (uint32_t)n)]] = false;
    publish(g, a);
    return 1;
  }
  if (edge(g, a, b)) return 0;
  int na = 0, nb = 0;
  for (int k = 0; k <= NS; k++) na += g->lists[a][k], nb += g->lists[b][k];
  if (na >= NB_MAX || nb >= NB_MAX) return 0;
  g->lists[a][b] = g->lists[b][a] = true;
  publish(g, a);
  publish(g, b);
  return 2;
}

/* A burst of changes at one instant is held: no search at once, the old table answers;
 * after the delay one search gives what a fresh search gives. */
static void test_burst_held_then_fresh(void) {
  struct g *g = calloc(1, sizeof *g);
  setup(g);
  struct row before[NS + 1], during[NS + 1];
  table(g, before);
  struct repl_stats a, b;
  repl_stats(eng(g), &a);
  /* Cut node 5 off entirely (both ends withdraw every edge): its route must go. */
  for (int j = 1; j <= NS; j++)
    if (edge(g, 5, j)) {
      g->lists[5][j] = g->lists[j][5] = false;
      publish(g, j);
    }
  publish(g, 5);
  for (int k = 0; k < 10; k++) change(g, 5);
  table(g, during);
  repl_stats(eng(g), &b);
  CHECK_EQ(n_searches(&b), n_searches(&a));           /* nothing searched yet */
  CHECK(b.route_held > a.route_held);
  CHECK(rows_eq(before, during)); /* the held table answers */
  CHECK(during[5].has_next);
  g->t.now += DELAY_MS;
  check_converged(g);
  repl_stats(eng(g), &b);
  CHECK_EQ(n_searches(&b), n_searches(&a) + 2); /* the held search and check_converged's */
  struct row after[NS + 1];
  table(g, after);
  CHECK(!after[5].has_next);
  CHECK_EQ(after[5].hops, UINT32_MAX);
  tn_free(&g->t);
  free(g);
}

/* Changes every 20 ms for 8 s, a route asked for every 10 ms (as custody would): the
 * wait between searches backs off to MAX_MS, so ~20 searches instead of 400; whenever
 * the held table is searched it is right; two hold-downs after the last change the
 * table is a fresh search's. */
static void test_sustained_backoff(void) {
  struct g *g = calloc(1, sizeof *g);
  setup(g);
  struct repl_stats a, b;
  repl_stats(eng(g), &a);
  uint64_t t0 = g->t.now, peer;
  uint32_t hops;
  int changes = 0, held_checks = 0;
  for (uint64_t step = 0; g->t.now < t0 + 8000; step++) {
    g->t.now += 10;
    if (step % 2 == 0) changes += change(g, 0) > 0;
    uint64_t full = n_searches(&eng(g)->st);
    int rr = repl_route(eng(g), g->kp[NS / 2].pub, g->t.now, &peer, &hops);
    CHECK(rr == 0 || rr == MOMEDO_E_NOTFOUND);
    if (n_searches(&eng(g)->st) != full) held_checks++;
  }
  repl_stats(eng(g), &b);
  uint64_t searches = n_searches(&b) - n_searches(&a);
  CHECK(changes > 150);
  CHECK(searches >= 5);
  CHECK(searches <= 8000 / MAX_MS + 8); /* 100, 200, 400, 800, 1600 ms, then every 1.6 s */
  CHECK_EQ((uint64_t)held_checks, searches);
  /* The hold lasts at most MAX_MS after the last search. */
  g->t.now += MAX_MS;
  check_converged(g);
  /* Quiet for long enough: the next change waits only the delay again. */
  g->t.now += 3 * MAX_MS;
  CHECK_EQ(repl_route(eng(g), g->kp[1].pub, g->t.now, &peer, &hops), 0);
  repl_stats(eng(g), &a);
  while (change(g, 0) == 0) {
  }
  g->t.now += DELAY_MS - 1;
  CHECK_EQ(repl_route(eng(g), g->kp[1].pub, g->t.now, &peer, &hops), 0);
  repl_stats(eng(g), &b);
  CHECK_EQ(n_searches(&b), n_searches(&a));
  g->t.now += 1;
  check_converged(g);
  tn_free(&g->t);
  free(g);
}

/* An engine that asks for routes only every 700 ms (it hands something on now and
 * then) while records change every 20 ms backs off too: the hold grows with the
 * changes, not with its own searches (~29 searches in 20 s otherwise). */
static void test_rare_asker_backs_off(void) {
  struct g *g = calloc(1, sizeof *g);
  setup(g);
  struct repl_stats a, b;
  repl_stats(eng(g), &a);
  uint64_t t0 = g->t.now, peer;
  uint32_t hops;
  for (uint64_t step = 1; g->t.now < t0 + 20000; step++) {
    g->t.now += 20;
    change(g, 0);
    if (step % 35 == 0) {
      int rr = repl_route(eng(g), g->kp[NS / 2].pub, g->t.now, &peer, &hops);
      CHECK(rr == 0 || rr == MOMEDO_E_NOTFOUND);
    }
  }
  repl_stats(eng(g), &b);
  CHECK(n_searches(&b) - n_searches(&a) <= 20000 / MAX_MS + 6);
  CHECK(n_searches(&b) - n_searches(&a) >= 20000 / MAX_MS - 2);
  g->t.now += MAX_MS;
  check_converged(g);
  tn_free(&g->t);
  free(g);
}

/* The engine's own link going down or up is searched at once, even in a hold. */
static void test_own_links_at_once(void) {
  struct g *g = calloc(1, sizeof *g);
  setup(g);
  for (int k = 0; k < 5; k++) change(g, 0); /* a hold is running */
  CHECK(eng(g)->routes_dirty);
  repl_peer_down(eng(g), tn_pid(1), g->t.now);
  g->peer_up[1] = false;
  struct row rows[NS + 1];
  table(g, rows);
  for (int i = 1; i <= NS; i++) {
    if (rows[i].has_next) CHECK(rows[i].next != tn_pid(1));
    if (rows[i].has_alt) CHECK(rows[i].alt != tn_pid(1));
  }
  check_converged(g); /* the search ran now, with the held changes too */
  CHECK_EQ(repl_peer_up(eng(g), tn_pid(1), g->kp[1].pub, g->t.now), 0);
  g->peer_up[1] = true;
  tn_pump(&g->t);
  table(g, rows);
  CHECK_EQ(rows[1].hops, 1);
  CHECK_EQ(rows[1].next, tn_pid(1));
  check_converged(g);
  tn_free(&g->t);
  free(g);
}

/* An item for a node without a route waits; the record that makes it reachable is
 * held for the delay, and the item is handed on when the held search runs (the engine's
 * deadline says when), not a custody retry interval later. */
static void test_item_moves_at_search(void) {
  struct g *g = calloc(1, sizeof *g);
  setup(g);
  /* Node 7 drops off the graph (its own record lists nobody). */
  for (int j = 0; j <= NS; j++) g->lists[7][j] = false;
  publish(g, 7);
  g->t.now += MAX_MS * 3;
  check_converged(g);
  uint8_t mb[OBJ_MAILBOX_LEN], dest[1][OBJ_KEY_LEN], id[OBJ_ID_LEN];
  memset(mb, 0x5c, sizeof mb);
  memcpy(dest[0], g->kp[7].pub, OBJ_KEY_LEN);
  size_t len;
  uint8_t *o = tn_item_to(&g->t.n[0].kp, mb, g->t.now, g->t.now + 86400000ull, 1, 40,
                          (const uint8_t(*)[OBJ_KEY_LEN])dest, 1, &len);
  tn_id(ITEM, o, len, id);
  CHECK_EQ(repl_insert_local(eng(g), ITEM, o, len, g->t.now, NULL), 0);
  tn_pump(&g->t);
  struct repl_stats a, b;
  repl_stats(eng(g), &a);
  CHECK_EQ(a.pending_dests, 1);
  /* 7 lists its old neighbors again (they still list it). */
  for (int j = 1; j <= NS; j++) g->lists[7][j] = g->lists[j][7];
  publish(g, 7);
  repl_stats(eng(g), &b);
  CHECK_EQ(b.grants_sent, a.grants_sent); /* held */
  uint64_t d = repl_next_deadline(eng(g)); /* the held search, not the 60 s retry */
  CHECK(d > g->t.now && d <= g->t.now + MAX_MS);
  tn_run_until(&g->t, d);
  repl_stats(eng(g), &b);
  CHECK_EQ(b.grants_sent, a.grants_sent + 1);
  free(o);
  tn_free(&g->t);
  free(g);
}

/* Delay 0: every change searched at the next need (the behaviour before throttling). */
static void test_throttle_off(void) {
  struct g *g = calloc(1, sizeof *g);
  memset(g, 0, sizeof *g);
  setup(g);
  eng(g)->cfg.route_spf_delay_ms = 0;
  eng(g)->cfg.route_spf_max_ms = 0;
  g->t.now += MAX_MS * 3;
  for (int k = 0; k < 20; k++) {
    change(g, 0);
    check_converged(g);
  }
  tn_free(&g->t);
  free(g);
}

int main(void) {
  RUN(test_burst_held_then_fresh);
  RUN(test_sustained_backoff);
  RUN(test_rare_asker_backs_off);
  RUN(test_own_links_at_once);
  RUN(test_item_moves_at_search);
  RUN(test_throttle_off);
  TEST_MAIN_END();
}
