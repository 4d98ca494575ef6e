/* replication/repl_rtree.c — the route table of scoped mode: distances over mutual links
 * and, per node, the two best first hops among all its shortest paths (next hop and
 * alternative, by peer ID). A full search (BFS) or an in-place repair after a few
 * records or links changed: only the nodes whose distance or first hops change are
 * touched, and the result equals a full search's (tests/unit/test_repl_rtree.c). */
#include <stdlib.h>
#include <string.h>

#include "repl_int.h"

#define INF UINT32_MAX
/* rt_mark bits: in the touch list; step A candidate; distance invalidated (A); queued
 * for the first-hop pass. */
#define RT_TOUCHED 1u
#define RT_CAND 2u
#define RT_A 4u
#define RT_NH 8u

/* ---- the graph ------------------------------------------------------------------- */

static bool rec_ok(const struct repl_node *n, uint64_t now_ms) {
  return n->rec && n->live && n->rec->expires_ms > now_ms;
}

/* Is v (listed by u, whose record is usable) a usable neighbor of u: not this node,
 * its record usable and listing u? */
static bool edge_ok(const struct repl *r, uint32_t u, uint32_t v, uint64_t now_ms) {
  if (v >= r->nnodes || v == r->self_node) return false;
  const struct repl_node *nv = &r->nodes[v];
  return rec_ok(nv, now_ms) && repl__nb_has(nv->rec, u);
}

/* The lowest ID of an up link to node g (a first hop), or 0: none. */
static uint64_t peer_min(const struct repl *r, uint32_t g) {
  uint64_t best = 0;
  for (size_t i = 0; i < r->npeers; i++) {
    const struct repl_peer *p = &r->peers[i];
    if (p->up && p->node == g && (best == 0 || p->id < best)) best = p->id;
  }
  return best;
}

/* Merge first hop c into n's two best (lower peer ID first). */
static void hop_merge(struct repl_node *n, uint64_t c) {
  if (!n->has_next) {
    n->has_next = true, n->next_peer = c;
  } else if (c == n->next_peer || (n->has_alt && c == n->alt_peer)) {
    return;
  } else if (c < n->next_peer) {
    n->has_alt = true, n->alt_peer = n->next_peer;
    n->next_peer = c;
  } else if (!n->has_alt || c < n->alt_peer) {
    n->has_alt = true, n->alt_peer = c;
  }
}

static bool hop_noop(const struct repl_node *n, uint64_t c) {
  return n->has_next && (c == n->next_peer || (n->has_alt && (c == n->alt_peer || c > n->alt_peer)));
}

/* Would u's first hops change nothing at v? (Then v's record need not be read.) */
static bool merge_noop(const struct repl_node *v, const struct repl_node *u) {
  return hop_noop(v, u->next_peer) && (!u->has_alt || hop_noop(v, u->alt_peer));
}

static void hops_from(struct repl_node *v, const struct repl_node *u) {
  hop_merge(v, u->next_peer);
  if (u->has_alt) hop_merge(v, u->alt_peer);
}

static void note_exp(struct repl *r, const struct repl_node *n, uint64_t now_ms) {
  if (n->rec->expires_ms > now_ms && n->rec->expires_ms < r->rt_exp_ms)
    r->rt_exp_ms = n->rec->expires_ms;
}

/* ---- full search ------------------------------------------------------------------ */

static int rt_full(struct repl *r, uint64_t now_ms) {
  uint32_t *q = malloc((r->nnodes ? r->nnodes : 1) * sizeof *q);
  if (!q) return MOMEDO_E_NOMEM;
  size_t qh = 0, qt = 0;
  for (size_t i = 0; i < r->nnodes; i++) {
    struct repl_node *n = &r->nodes[i];
    n->dist = INF;
    n->has_next = n->has_alt = false;
    n->rt_mark = 0;
  }
  r->rt_ntouch = 0;
  r->rt_exp_ms = UINT64_MAX;
  if (r->self_node < r->nnodes) r->nodes[r->self_node].dist = 0;
  /* The first hop is local knowledge: the links that are up now. */
  for (size_t i = 0; i < r->npeers; i++) {
    const struct repl_peer *p = &r->peers[i];
    if (!p->up || p->node == r->self_node || p->node >= r->nnodes) continue;
    struct repl_node *n = &r->nodes[p->node];
    if (n->dist == INF) { /* a direct neighbor: its lowest link, no alternative */
      n->dist = 1, n->has_next = true, n->next_peer = p->id;
      q[qt++] = p->node;
    } else if (p->id < n->next_peer) {
      n->next_peer = p->id;
    }
  }
  while (qh < qt) {
    uint32_t u = q[qh++];
    const struct repl_node *nu = &r->nodes[u];
    if (!rec_ok(nu, now_ms)) continue;
    note_exp(r, nu, now_ms);
    const struct repl_srec *su = nu->rec;
    for (uint32_t j = 0; j < su->n_nb; j++) {
      uint32_t v = su->nb[j];
      if (v >= r->nnodes) continue;
      struct repl_node *nv = &r->nodes[v];
      /* A node already reached that this edge cannot change (not one hop further, or
       * its two best hops already at least as good) costs no look at its record. */
      if (nv->dist != INF && (nv->dist != nu->dist + 1 || merge_noop(nv, nu))) continue;
      if (!edge_ok(r, u, v, now_ms)) continue;
      if (nv->dist == INF) nv->dist = nu->dist + 1, q[qt++] = v;
      hops_from(nv, nu);
    }
  }
  free(q);
  r->st.routes = qt;
  r->st.route_full++;
  r->rt_full = false;
  return 0;
}

/* ---- repair ----------------------------------------------------------------------- */

/* A binary min-heap of (dist << 32 | gid). */
struct heap {
  uint64_t *a;
  size_t n, cap;
};

static int heap_push(struct heap *h, uint32_t d, uint32_t g) {
  if (h->n == h->cap) {
    size_t nc = h->cap ? h->cap * 2 : 64;
    uint64_t *na = realloc(h->a, nc * sizeof *na);
    if (!na) return MOMEDO_E_NOMEM;
    h->a = na, h->cap = nc;
  }
  uint64_t x = (uint64_t)d << 32 | g;
  size_t i = h->n++;
  while (i > 0 && h->a[(i - 1) / 2] > x) h->a[i] = h->a[(i - 1) / 2], i = (i - 1) / 2;
  h->a[i] = x;
  return 0;
}

static uint64_t heap_pop(struct heap *h) {
  uint64_t top = h->a[0], x = h->a[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && h->a[c + 1] < h->a[c]) c++;
    if (h->a[c] >= x) break;
    h->a[i] = h->a[c], i = c;
  }
  if (h->n) h->a[i] = x;
  return top;
}

/* Nodes marked during one repair (their marks are cleared at its end). */
struct list {
  uint32_t *a;
  size_t n, cap;
};

static int list_add(struct list *l, uint32_t g) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 64;
    uint32_t *na = realloc(l->a, nc * sizeof *na);
    if (!na) return MOMEDO_E_NOMEM;
    l->a = na, l->cap = nc;
  }
  l->a[l->n++] = g;
  return 0;
}

struct fix {
  struct repl *r;
  uint64_t now;
  struct heap h;
  struct list marked; /* every node given a mark other than RT_TOUCHED */
  struct list moved;  /* nodes whose distance was invalidated or lowered */
};

static int mark(struct fix *f, uint32_t g, uint8_t bit) {
  struct repl_node *n = &f->r->nodes[g];
  if (n->rt_mark & bit) return 0;
  /* A touched node's mark is cleared from the touch list. */
  if (n->rt_mark == 0 && list_add(&f->marked, g)) return MOMEDO_E_NOMEM;
  n->rt_mark |= bit;
  return 1;
}

/* Step A, node x at its old distance d: still supported (a link up at d = 1, or a
 * neighbor at d - 1 whose distance stands)? */
static bool supported(const struct fix *f, uint32_t x, uint32_t d) {
  const struct repl *r = f->r;
  if (d == 1) return peer_min(r, x) != 0;
  const struct repl_node *nx = &r->nodes[x];
  if (!rec_ok(nx, f->now)) return false;
  for (uint32_t j = 0; j < nx->rec->n_nb; j++) {
    uint32_t u = nx->rec->nb[j];
    if (u >= r->nnodes) continue;
    const struct repl_node *nu = &r->nodes[u];
    if (nu->dist == d - 1 && !(nu->rt_mark & RT_A) && edge_ok(r, x, u, f->now)) return true;
  }
  return false;
}

/* Step A: the nodes whose distance no longer holds (in the order of their old
 * distance, so a node's parents are decided before it), set unreachable. */
static int invalidate(struct fix *f) {
  struct repl *r = f->r;
  int rc = 0;
  for (size_t i = 0; i < r->rt_ntouch && rc >= 0; i++) {
    uint32_t t = r->rt_touch[i];
    if (t == r->self_node || r->nodes[t].dist == INF) continue;
    if ((rc = mark(f, t, RT_CAND)) > 0) rc = heap_push(&f->h, r->nodes[t].dist, t);
  }
  while (f->h.n && rc >= 0) {
    uint64_t e = heap_pop(&f->h);
    uint32_t x = (uint32_t)e, d = (uint32_t)(e >> 32);
    if (supported(f, x, d)) continue;
    if ((rc = mark(f, x, RT_A)) < 0 || (rc = list_add(&f->moved, x))) break;
    const struct repl_node *nx = &r->nodes[x];
    if (!rec_ok(nx, f->now)) continue;
    for (uint32_t j = 0; j < nx->rec->n_nb && rc >= 0; j++) {
      uint32_t w = nx->rec->nb[j];
      if (w >= r->nnodes || r->nodes[w].dist != d + 1 || !edge_ok(r, x, w, f->now)) continue;
      if ((rc = mark(f, w, RT_CAND)) > 0) rc = heap_push(&f->h, d + 1, w);
    }
  }
  if (rc < 0) return rc;
  for (size_t i = 0; i < f->moved.n; i++) {
    r->nodes[f->moved.a[i]].dist = INF;
    r->st.routes--;
  }
  return 0;
}

/* Lower x's distance to d (reached, or a shorter path). */
static int lower(struct fix *f, uint32_t x, uint32_t d) {
  struct repl_node *n = &f->r->nodes[x];
  if (n->dist == INF) f->r->st.routes++;
  n->dist = d;
  int rc = mark(f, x, RT_A);
  if (rc > 0) rc = list_add(&f->moved, x);
  return rc < 0 ? rc : heap_push(&f->h, d, x);
}

/* The best distance x can take from its neighbors and links as they stand now. */
static uint32_t pull(const struct fix *f, uint32_t x) {
  const struct repl *r = f->r;
  if (peer_min(r, x)) return 1;
  const struct repl_node *nx = &r->nodes[x];
  uint32_t best = INF;
  if (!rec_ok(nx, f->now)) return INF;
  for (uint32_t j = 0; j < nx->rec->n_nb; j++) {
    uint32_t u = nx->rec->nb[j];
    if (u >= r->nnodes) continue;
    uint32_t du = r->nodes[u].dist;
    if (du != INF && du + 1 < best && edge_ok(r, x, u, f->now)) best = du + 1;
  }
  return best;
}

/* Step B: distances of the invalidated and touched nodes from their neighbors, then
 * Dijkstra outward (unit weights) from every node whose value may have dropped. */
static int reach(struct fix *f) {
  struct repl *r = f->r;
  int rc = 0;
  size_t nmoved = f->moved.n;
  for (size_t i = 0; i < nmoved + r->rt_ntouch && rc == 0; i++) {
    uint32_t x = i < nmoved ? f->moved.a[i] : r->rt_touch[i - nmoved];
    if (x == r->self_node) continue;
    uint32_t d = pull(f, x), cur = r->nodes[x].dist;
    if (d < cur) rc = lower(f, x, d);
    else if (i >= nmoved && cur != INF) rc = heap_push(&f->h, cur, x); /* new edges out */
  }
  while (f->h.n && rc == 0) {
    uint64_t e = heap_pop(&f->h);
    uint32_t x = (uint32_t)e, d = (uint32_t)(e >> 32);
    const struct repl_node *nx = &r->nodes[x];
    if (d != nx->dist || !rec_ok(nx, f->now)) continue;
    for (uint32_t j = 0; j < nx->rec->n_nb && rc == 0; j++) {
      uint32_t w = nx->rec->nb[j];
      if (w >= r->nnodes || r->nodes[w].dist <= d + 1 || !edge_ok(r, x, w, f->now)) continue;
      rc = lower(f, w, d + 1);
    }
  }
  return rc;
}

/* x's two best first hops from its links (distance 1) or its parents. */
static void hops_recompute(struct fix *f, uint32_t x) {
  struct repl *r = f->r;
  struct repl_node *nx = &r->nodes[x];
  nx->has_next = nx->has_alt = false;
  if (nx->dist == INF) return;
  if (nx->dist == 1) {
    nx->has_next = true, nx->next_peer = peer_min(r, x);
    return;
  }
  if (!rec_ok(nx, f->now)) return; /* cannot be: a distance >= 2 came over an edge */
  for (uint32_t j = 0; j < nx->rec->n_nb; j++) {
    uint32_t u = nx->rec->nb[j];
    if (u >= r->nnodes) continue;
    const struct repl_node *nu = &r->nodes[u];
    if (nu->dist + 1 == nx->dist && !merge_noop(nx, nu) && edge_ok(r, x, u, f->now))
      hops_from(nx, nu);
  }
}

/* Queue x's usable neighbors at distance d (or any, d = INF) for the first-hop pass. */
static int queue_nb(struct fix *f, uint32_t x, uint32_t d) {
  struct repl *r = f->r;
  const struct repl_node *nx = &r->nodes[x];
  int rc = 0;
  if (!rec_ok(nx, f->now)) return 0;
  for (uint32_t j = 0; j < nx->rec->n_nb && rc >= 0; j++) {
    uint32_t w = nx->rec->nb[j];
    if (w >= r->nnodes || w == r->self_node) continue;
    uint32_t dw = r->nodes[w].dist;
    if (dw == INF || (d != INF && dw != d) || !edge_ok(r, x, w, f->now)) continue;
    if ((rc = mark(f, w, RT_NH)) > 0) rc = heap_push(&f->h, dw, w);
  }
  return rc < 0 ? rc : 0;
}

static int queue_one(struct fix *f, uint32_t x) {
  struct repl_node *n = &f->r->nodes[x];
  if (x == f->r->self_node) return 0;
  if (n->dist == INF) { /* unreachable: no hops, nothing to pass on */
    n->has_next = n->has_alt = false;
    return 0;
  }
  int rc = mark(f, x, RT_NH);
  return rc > 0 ? heap_push(&f->h, n->dist, x) : rc;
}

/* Step C: first hops of the moved and touched nodes and of every neighbor of a moved
 * node, then of the children of each node whose hops changed, parents first. */
static int rehop(struct fix *f) {
  struct repl *r = f->r;
  int rc = 0;
  for (size_t i = 0; i < f->moved.n && rc == 0; i++) {
    rc = queue_one(f, f->moved.a[i]);
    if (rc == 0) rc = queue_nb(f, f->moved.a[i], INF);
  }
  for (size_t i = 0; i < r->rt_ntouch && rc == 0; i++) rc = queue_one(f, r->rt_touch[i]);
  while (f->h.n && rc == 0) {
    uint32_t x = (uint32_t)heap_pop(&f->h);
    struct repl_node *nx = &r->nodes[x], old = *nx;
    hops_recompute(f, x);
    bool same = old.has_next == nx->has_next && old.has_alt == nx->has_alt &&
                (!nx->has_next || old.next_peer == nx->next_peer) &&
                (!nx->has_alt || old.alt_peer == nx->alt_peer);
    if (!same) rc = queue_nb(f, x, nx->dist + 1);
  }
  return rc;
}

static int rt_repair(struct repl *r, uint64_t now_ms) {
  struct fix f = {.r = r, .now = now_ms};
  int rc = invalidate(&f);
  if (rc == 0) rc = reach(&f);
  if (rc == 0) rc = rehop(&f);
  /* Records now in use (reached, or replaced) bound the repair's validity too. */
  for (size_t i = 0; i < f.moved.n + r->rt_ntouch; i++) {
    uint32_t g = i < f.moved.n ? f.moved.a[i] : r->rt_touch[i - f.moved.n];
    const struct repl_node *n = &r->nodes[g];
    if (n->dist != INF && rec_ok(n, now_ms)) note_exp(r, n, now_ms);
  }
  for (size_t i = 0; i < f.marked.n; i++) r->nodes[f.marked.a[i]].rt_mark = 0;
  for (size_t i = 0; i < r->rt_ntouch; i++) r->nodes[r->rt_touch[i]].rt_mark = 0;
  r->rt_ntouch = 0;
  free(f.h.a), free(f.marked.a), free(f.moved.a);
  if (rc) r->rt_full = true; /* out of memory half-way: the next search starts afresh */
  else r->st.route_repairs++;
  return rc;
}

/* ---- the engine's side ------------------------------------------------------------ */

void repl__rt_touch(struct repl *r, uint32_t g) {
  if (r->rt_full || g >= r->nnodes) return;
  struct repl_node *n = &r->nodes[g];
  if (n->rt_mark & RT_TOUCHED) return;
  /* Beyond a quarter of the table a search costs about what a repair would. */
  if (r->rt_ntouch >= r->nnodes / 4 + 16) {
    r->rt_full = true;
    return;
  }
  if (r->rt_ntouch == r->rt_touch_cap) {
    size_t nc = r->rt_touch_cap ? r->rt_touch_cap * 2 : 64;
    uint32_t *na = realloc(r->rt_touch, nc * sizeof *na);
    if (!na) {
      r->rt_full = true;
      return;
    }
    r->rt_touch = na, r->rt_touch_cap = nc;
  }
  r->rt_touch[r->rt_ntouch++] = g;
  n->rt_mark |= RT_TOUCHED;
}

void repl__rt_touch_rec(struct repl *r, uint32_t g, const struct repl_srec *s) {
  repl__rt_touch(r, g);
  for (uint32_t j = 0; s && j < s->n_nb && !r->rt_full; j++) repl__rt_touch(r, s->nb[j]);
}

void repl__rt_touch_diff(struct repl *r, uint32_t g, const struct repl_srec *a,
                         const struct repl_srec *b) {
  uint32_t i = 0, j = 0;
  repl__rt_touch(r, g);
  while ((i < a->n_nb || j < b->n_nb) && !r->rt_full) {
    if (j == b->n_nb || (i < a->n_nb && a->nb[i] < b->nb[j])) repl__rt_touch(r, a->nb[i++]);
    else if (i == a->n_nb || b->nb[j] < a->nb[i]) repl__rt_touch(r, b->nb[j++]);
    else i++, j++; /* listed by both: that edge is as it was */
  }
}

void repl__rt_reset(struct repl *r) {
  for (size_t i = 0; i < r->rt_ntouch; i++)
    if (r->rt_touch[i] < r->nnodes) r->nodes[r->rt_touch[i]].rt_mark = 0;
  r->rt_ntouch = 0;
  r->rt_full = true;
}

void repl__rt_free(struct repl *r) {
  free(r->rt_touch);
  r->rt_touch = NULL;
  r->rt_ntouch = r->rt_touch_cap = 0;
}

int repl__rt_search(struct repl *r, uint64_t now_ms, bool full) {
  /* A record that expired since the last search changed the graph unseen. */
  if (full || r->rt_full || now_ms >= r->rt_exp_ms) return rt_full(r, now_ms);
  return rt_repair(r, now_ms);
}
