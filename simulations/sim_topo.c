/* simulations/sim_topo.c — graph generators and the CSR builder. Every generator
 * emits undirected edges (u < v) into a list; the builder sorts them, rejects
 * duplicates and self-loops, and derives adjacency. Random choices come only from
 * the rng handed in. */
#include "sim_topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct elist {
  uint64_t *e; /* (u << 32) | v with u < v */
  float *lat;  /* parallel, or NULL */
  uint64_t n, cap;
};

static int el_add(struct elist *l, uint32_t a, uint32_t b, float lat) {
  if (a == b) return MOMEDO_E_INVAL;
  if (l->n == SIM_EDGES_MAX) return MOMEDO_E_QUOTA;
  if (l->n == l->cap) {
    uint64_t nc = l->cap ? l->cap * 2 : 1024;
    uint64_t *ne = realloc(l->e, nc * sizeof *ne);
    if (!ne) return MOMEDO_E_NOMEM;
    l->e = ne;
    if (l->lat) {
      float *nl = realloc(l->lat, nc * sizeof *nl);
      if (!nl) return MOMEDO_E_NOMEM;
      l->lat = nl;
    }
    l->cap = nc;
  }
  uint32_t u = a < b ? a : b, v = a < b ? b : a;
  if (l->lat) l->lat[l->n] = lat;
  l->e[l->n++] = (uint64_t)u << 32 | v;
  return 0;
}

/* ---- an open-addressing set of edges, for generators that must avoid duplicates */
struct eset {
  uint64_t *slot; /* 0 = empty; stored as key + 1 */
  uint64_t cap, n;
};

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

static int eset_init(struct eset *s, uint64_t expect) {
  s->cap = 64;
  while (s->cap < expect * 2 + 16) s->cap *= 2;
  s->n = 0;
  s->slot = calloc(s->cap, sizeof *s->slot);
  return s->slot ? 0 : MOMEDO_E_NOMEM;
}

static uint64_t ekey(uint32_t a, uint32_t b) {
  return a < b ? ((uint64_t)a << 32 | b) : ((uint64_t)b << 32 | a);
}

/* 1 if present. With insert, adds it when absent (returns 0). */
static int eset_op(struct eset *s, uint64_t key, int insert, int remove) {
  uint64_t i = mix64(key) & (s->cap - 1);
  for (;; i = (i + 1) & (s->cap - 1)) {
    if (s->slot[i] == 0) break;
    if (s->slot[i] == key + 1) {
      if (remove) {
        /* Backward-shift deletion keeps probe chains intact. */
        uint64_t j = i;
        for (;;) {
          s->slot[i] = 0;
          for (;;) {
            j = (j + 1) & (s->cap - 1);
            if (s->slot[j] == 0) {
              s->n--;
              return 1;
            }
            uint64_t h = mix64(s->slot[j] - 1) & (s->cap - 1);
            if (i <= j ? (i < h && h <= j) : (i < h || h <= j)) continue;
            break;
          }
          s->slot[i] = s->slot[j];
          i = j;
        }
      }
      return 1;
    }
  }
  if (insert) {
    s->slot[i] = key + 1;
    s->n++;
  }
  return 0;
}

/* ---- generators ------------------------------------------------------------- */

static int gen_simple(const struct sim_scn *s, struct elist *l) {
  uint32_t n = s->nodes;
  int rc = 0;
  switch (s->topo) {
  case SIM_TOPO_LINE:
    for (uint32_t u = 0; u + 1 < n && !rc; u++) rc = el_add(l, u, u + 1, 0);
    break;
  case SIM_TOPO_RING:
    for (uint32_t u = 0; u < n && !rc; u++) rc = el_add(l, u, (u + 1) % n, 0);
    break;
  case SIM_TOPO_STAR:
    for (uint32_t u = 1; u < n && !rc; u++) rc = el_add(l, 0, u, 0);
    break;
  default:
    rc = MOMEDO_E_INTERNAL;
  }
  return rc;
}

/* Random d-regular graph: pair stubs at random, rejecting loops and double edges
 * pair by pair (Steger & Wormald 1999), restarting when stuck. */
static int gen_random_regular(const struct sim_scn *s, struct rng *rng, struct elist *l,
                              char *why, size_t why_cap) {
  uint32_t n = s->nodes, d = s->degree;
  uint64_t npts = (uint64_t)n * d;
  uint32_t *pts = malloc(npts * sizeof *pts);
  struct eset es = {0};
  int rc = MOMEDO_E_NOMEM;
  if (!pts || eset_init(&es, npts / 2)) goto out;
  for (int attempt = 0; attempt < SIM_RR_RESTARTS_MAX; attempt++) {
    for (uint64_t i = 0; i < npts; i++) pts[i] = (uint32_t)(i / d);
    memset(es.slot, 0, es.cap * sizeof *es.slot);
    es.n = 0;
    l->n = 0;
    uint64_t left = npts, misses = 0;
    while (left > 0 && misses < 100 + 50 * left) {
      uint64_t i = rng_below(rng, left), j = rng_below(rng, left);
      uint32_t u = pts[i], v = pts[j];
      if (i == j || u == v || eset_op(&es, ekey(u, v), 0, 0)) {
        misses++;
        continue;
      }
      eset_op(&es, ekey(u, v), 1, 0);
      if ((rc = el_add(l, u, v, 0))) goto out;
      /* Remove both stubs (the larger index first so the swap stays valid). */
      uint64_t hi = i > j ? i : j, lo = i > j ? j : i;
      pts[hi] = pts[--left];
      pts[lo] = pts[--left];
      misses = 0;
    }
    if (left == 0) {
      rc = 0;
      goto out;
    }
  }
  reason_set(why, why_cap, "could not draw a simple %u-regular graph on %u nodes", d, n);
  rc = MOMEDO_E_CONFIG;
out:
  free(pts);
  free(es.slot);
  return rc;
}

/* Watts–Strogatz: ring lattice with k/2 neighbors per side; each lattice edge
 * (u, u+j) is rewired with probability beta to (u, w), w uniform, no loops or
 * duplicates (Watts & Strogatz 1998). */
static int gen_small_world(const struct sim_scn *s, struct rng *rng, struct elist *l) {
  uint32_t n = s->nodes, half = s->sw_k / 2;
  struct eset es;
  int rc = eset_init(&es, (uint64_t)n * half);
  if (rc) return rc;
  for (uint32_t u = 0; u < n; u++)
    for (uint32_t j = 1; j <= half; j++) eset_op(&es, ekey(u, (u + j) % n), 1, 0);
  for (uint32_t j = 1; j <= half; j++) {
    for (uint32_t u = 0; u < n; u++) {
      if (!sim_rng_chance(rng, s->sw_beta)) continue;
      uint32_t v = (u + j) % n;
      for (int tries = 0; tries < 64; tries++) {
        uint32_t w = (uint32_t)rng_below(rng, n);
        if (w == u || eset_op(&es, ekey(u, w), 0, 0)) continue;
        eset_op(&es, ekey(u, v), 0, 1);
        eset_op(&es, ekey(u, w), 1, 0);
        break;
      }
    }
  }
  for (uint64_t i = 0; i < es.cap && !rc; i++)
    if (es.slot[i]) rc = el_add(l, (uint32_t)((es.slot[i] - 1) >> 32), (uint32_t)(es.slot[i] - 1), 0);
  free(es.slot);
  return rc; /* the builder sorts, so slot order does not leak into the graph */
}

/* A map of k cells (counties of a Land, or Länder) on a grid of rows = floor(sqrt(k))
 * and cols = ceil(k / rows), filled in snake order (odd rows right to left), so cell
 * i + 1 is always next to cell i: 2 cells are a pair, 4 a ring. */
struct grid {
  uint32_t k, rows, cols;
};

static struct grid grid_of(uint32_t k) {
  struct grid g = {k, 1, k};
  while ((g.rows + 1) * (g.rows + 1) <= k) g.rows++;
  g.cols = (k + g.rows - 1) / g.rows;
  return g;
}

/* Cell at (r, c), or UINT32_MAX off the map or past the last cell. */
static uint32_t grid_at(const struct grid *g, int64_t r, int64_t c) {
  if (r < 0 || c < 0 || r >= g->rows || c >= g->cols) return UINT32_MAX;
  uint32_t i = (uint32_t)r * g->cols + (uint32_t)(r % 2 ? g->cols - 1 - c : c);
  return i < g->k ? i : UINT32_MAX;
}

static void grid_pos(const struct grid *g, uint32_t i, int64_t *r, int64_t *c) {
  *r = i / g->cols;
  *c = *r % 2 ? g->cols - 1 - i % g->cols : i % g->cols;
}

/* The map neighbors of cell i to its right and below (so each pair comes once). */
static uint32_t grid_links(const struct grid *g, uint32_t i, uint32_t out[static 2]) {
  int64_t r, c;
  uint32_t n = 0, j;
  grid_pos(g, i, &r, &c);
  if ((j = grid_at(g, r, c + 1)) != UINT32_MAX) out[n++] = j;
  if ((j = grid_at(g, r + 1, c)) != UINT32_MAX) out[n++] = j;
  return n;
}

static uint32_t grid_center(const struct grid *g) { return grid_at(g, g->rows / 2, g->cols / 2); }

/* Link hub h of county a to hub h of county b, for every h. */
static int link_hubs(struct elist *l, uint32_t per, uint32_t hubs, uint32_t a, uint32_t b) {
  int rc = 0;
  for (uint32_t h = 0; h < hubs && !rc; h++) rc = el_add(l, a * per + h, b * per + h, 0);
  return rc;
}

/* Counties are split into Länder in index order (Land l: counties [l*C/L, (l+1)*C/L)). */
static uint32_t land_first(uint32_t C, uint32_t L, uint32_t l) {
  return (uint32_t)(((uint64_t)l * C + L - 1) / L);
}

/* Inside each Land the counties lie on a map (struct grid) and each county's hubs link to
 * those of the adjacent counties (2 to 4: its nearest); the hubs of each Land's central
 * county (its regional network's core) link to the central hubs of the adjacent Länder
 * on the map of Länder and, from 9 Länder on, to the Land opposite on that map (the
 * national backbone's long links). One Land of 2 counties is a pair, of 4 a ring: the
 * federation before Länder existed. */
static int link_counties(const struct sim_scn *s, struct elist *l, uint32_t per) {
  uint32_t C = s->fed_counties, L = s->fed_lands, H = s->fed_hubs, nb[2];
  struct grid lg = grid_of(L);
  int rc = 0;
  for (uint32_t land = 0; land < L && !rc; land++) {
    uint32_t first = land_first(C, L, land), k = land_first(C, L, land + 1) - first;
    struct grid g = grid_of(k);
    for (uint32_t i = 0; i < k && !rc; i++) {
      uint32_t m = grid_links(&g, i, nb);
      for (uint32_t j = 0; j < m && !rc; j++) rc = link_hubs(l, per, H, first + i, first + nb[j]);
    }
    uint32_t core = first + grid_center(&g), m = grid_links(&lg, land, nb);
    for (uint32_t j = 0; j < m && !rc; j++) {
      uint32_t f2 = land_first(C, L, nb[j]);
      struct grid g2 = grid_of(land_first(C, L, nb[j] + 1) - f2);
      rc = link_hubs(l, per, H, core, f2 + grid_center(&g2));
    }
    int64_t r, c;
    grid_pos(&lg, land, &r, &c);
    uint32_t opp = grid_at(&lg, lg.rows - 1 - r, lg.cols - 1 - c);
    int64_t dr = lg.rows - 1 - 2 * r, dc = lg.cols - 1 - 2 * c;
    if (L >= 9 && opp != UINT32_MAX && opp > land && (dr < -1 || dr > 1 || dc < -1 || dc > 1 ||
                                                       (dr != 0 && dc != 0))) {
      uint32_t f2 = land_first(C, L, opp);
      struct grid g2 = grid_of(land_first(C, L, opp + 1) - f2);
      if (!rc) rc = link_hubs(l, per, H, core, f2 + grid_center(&g2));
    }
  }
  return rc;
}

/* Per county: hubs (fully meshed), cities (linked to two hubs of their county and to
 * the next city), schools (linked to their city and to one county hub: the "add the
 * county node" of DESIGN.md); counties and Länder linked by link_counties. */
static int gen_federation(const struct sim_scn *s, struct sim_topo *t, struct elist *l) {
  uint32_t C = s->fed_counties, H = s->fed_hubs, K = s->fed_cities, S = s->fed_schools;
  uint32_t per = H + K * (1 + S);
  int rc = 0;
  t->role = malloc(s->nodes);
  t->county = malloc(s->nodes * sizeof *t->county);
  t->land = malloc(s->nodes * sizeof *t->land);
  if (!t->role || !t->county || !t->land) return MOMEDO_E_NOMEM;
  for (uint32_t c = 0; c < C && !rc; c++) {
    uint32_t base = c * per;
    for (uint32_t i = 0; i < per; i++) {
      t->county[base + i] = c;
      t->land[base + i] = (uint32_t)((uint64_t)c * s->fed_lands / C);
    }
    for (uint32_t h = 0; h < H; h++) {
      t->role[base + h] = SIM_ROLE_HUB;
      for (uint32_t h2 = h + 1; h2 < H && !rc; h2++) rc = el_add(l, base + h, base + h2, 0);
    }
    for (uint32_t k = 0; k < K && !rc; k++) {
      uint32_t city = base + H + k * (1 + S);
      t->role[city] = SIM_ROLE_CITY;
      rc = el_add(l, city, base + k % H, 0);
      if (!rc && H > 1) rc = el_add(l, city, base + (k + 1) % H, 0);
      if (!rc && K > 1 && !(K == 2 && k == 1)) rc = el_add(l, city, base + H + ((k + 1) % K) * (1 + S), 0);
      for (uint32_t sc = 0; sc < S && !rc; sc++) {
        t->role[city + 1 + sc] = SIM_ROLE_SCHOOL;
        rc = el_add(l, city + 1 + sc, city, 0);
        if (!rc) rc = el_add(l, city + 1 + sc, base + (k + sc) % H, 0);
      }
    }
  }
  return rc ? rc : link_counties(s, l, per);
}

static int gen_edge_file(const struct sim_scn *s, struct elist *l, char *why, size_t why_cap) {
  char path[2 * SIM_PATH_CHARS_MAX + 2];
  if (s->edge_file[0] == '/') snprintf(path, sizeof path, "%s", s->edge_file);
  else snprintf(path, sizeof path, "%s/%s", s->dir, s->edge_file);
  FILE *f = fopen(path, "r");
  if (!f) {
    reason_set(why, why_cap, "%.160s: cannot open: %.60s", path, strerror(errno));
    return MOMEDO_E_IO;
  }
  char line[256];
  uint64_t no = 0;
  int rc = 0;
  l->lat = malloc(1024 * sizeof *l->lat);
  if (!l->lat) rc = MOMEDO_E_NOMEM;
  while (!rc && fgets(line, sizeof line, f)) {
    no++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    unsigned long u, v;
    double lat = 0;
    char extra;
    int got = sscanf(line, "%lu %lu %lf %c", &u, &v, &lat, &extra);
    if (got <= 0) {
      char c;
      if (sscanf(line, " %c", &c) == 1) got = -2; /* words that are not numbers */
      else continue;                               /* blank or comment */
    }
    if (no > SIM_EDGE_FILE_LINES_MAX || got < 2 || got > 3 || u >= s->nodes || v >= s->nodes ||
        u == v || !(lat >= 0 && lat <= SIM_LATENCY_MS_MAX)) {
      reason_set(why, why_cap, "%.120s:%llu: expected 'U V [LATENCY_MS]' with U != V < %u", path,
               (unsigned long long)no, s->nodes);
      rc = MOMEDO_E_CONFIG;
      break;
    }
    rc = el_add(l, (uint32_t)u, (uint32_t)v, (float)lat);
  }
  fclose(f);
  if (rc == MOMEDO_E_QUOTA) {
    reason_set(why, why_cap, "%.160s: more than %llu edges", path, SIM_EDGES_MAX);
    rc = MOMEDO_E_CONFIG;
  }
  return rc;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Sort edges (with latencies, via an index when present), reject duplicates, fill CSR. */
static int build_csr(struct sim_topo *t, struct elist *l, char *why, size_t why_cap) {
  uint64_t m = l->n;
  if (l->lat) {
    /* Pack the latency into the sort key's companion by sorting index pairs. */
    uint64_t *ord = malloc(m * 2 * sizeof *ord);
    float *nl = malloc((m ? m : 1) * sizeof *nl);
    if (!ord || !nl) {
      free(ord);
      free(nl);
      return MOMEDO_E_NOMEM;
    }
    for (uint64_t i = 0; i < m; i++) ord[2 * i] = l->e[i], ord[2 * i + 1] = i;
    qsort(ord, m, 2 * sizeof *ord, cmp_u64);
    for (uint64_t i = 0; i < m; i++) l->e[i] = ord[2 * i], nl[i] = l->lat[ord[2 * i + 1]];
    free(ord);
    free(l->lat);
    l->lat = nl;
  } else {
    qsort(l->e, m, sizeof *l->e, cmp_u64);
  }
  for (uint64_t i = 1; i < m; i++)
    if (l->e[i] == l->e[i - 1]) {
      reason_set(why, why_cap, "edge %u-%u appears twice", (uint32_t)(l->e[i] >> 32),
               (uint32_t)l->e[i]);
      return MOMEDO_E_CONFIG;
    }
  uint32_t n = t->n;
  t->nedges = m;
  t->off = calloc((size_t)n + 1, sizeof *t->off);
  t->adj = malloc((2 * m + 1) * sizeof *t->adj);
  t->eid = malloc((2 * m + 1) * sizeof *t->eid);
  t->eu = malloc((m + 1) * sizeof *t->eu);
  t->ev = malloc((m + 1) * sizeof *t->ev);
  uint32_t *fill = calloc((size_t)n + 1, sizeof *fill);
  int rc = MOMEDO_E_NOMEM;
  if (!t->off || !t->adj || !t->eid || !t->eu || !t->ev || !fill) goto out;
  for (uint64_t i = 0; i < m; i++) {
    t->eu[i] = (uint32_t)(l->e[i] >> 32);
    t->ev[i] = (uint32_t)l->e[i];
    t->off[t->eu[i] + 1]++;
    t->off[t->ev[i] + 1]++;
  }
  for (uint32_t u = 0; u < n; u++) t->off[u + 1] += t->off[u];
  /* Edges are sorted by (u, v): walking them in order fills each list ascending
   * for the "v" side; the "u" side gets the smaller neighbors first as well. */
  for (int pass = 0; pass < 2; pass++)
    for (uint64_t i = 0; i < m; i++) {
      uint32_t a = pass == 0 ? t->ev[i] : t->eu[i], b = pass == 0 ? t->eu[i] : t->ev[i];
      uint32_t pos = t->off[a] + fill[a]++;
      t->adj[pos] = b;
      t->eid[pos] = (uint32_t)i;
    }
  t->extra_ms = l->lat;
  l->lat = NULL;
  rc = 0;
out:
  free(fill);
  return rc;
}

static uint32_t count_components(const struct sim_topo *t) {
  if (t->complete) return 1;
  uint32_t *stack = malloc((size_t)t->n * sizeof *stack);
  uint8_t *seen = calloc(t->n, 1);
  uint32_t comps = 0;
  if (!stack || !seen) goto out;
  for (uint32_t s = 0; s < t->n; s++) {
    if (seen[s]) continue;
    comps++;
    uint32_t sp = 0;
    stack[sp++] = s;
    seen[s] = 1;
    while (sp) {
      uint32_t u = stack[--sp];
      for (uint32_t i = t->off[u]; i < t->off[u + 1]; i++)
        if (!seen[t->adj[i]]) seen[t->adj[i]] = 1, stack[sp++] = t->adj[i];
    }
  }
out:
  free(stack);
  free(seen);
  return comps;
}

int sim_topo_build(const struct sim_scn *s, struct rng *rng, struct sim_topo *t,
                   char *why, size_t why_cap) {
  memset(t, 0, sizeof *t);
  t->n = s->nodes;
  if (s->topo == SIM_TOPO_COMPLETE) {
    t->complete = 1;
    t->nedges = (uint64_t)t->n * (t->n - 1) / 2;
    t->components = 1;
    t->degree_max = t->n - 1;
    return 0;
  }
  struct elist l = {0};
  int rc;
  switch (s->topo) {
  case SIM_TOPO_RANDOM_REGULAR: rc = gen_random_regular(s, rng, &l, why, why_cap); break;
  case SIM_TOPO_SMALL_WORLD: rc = gen_small_world(s, rng, &l); break;
  case SIM_TOPO_FEDERATION: rc = gen_federation(s, t, &l); break;
  case SIM_TOPO_EDGES: rc = gen_edge_file(s, &l, why, why_cap); break;
  default: rc = gen_simple(s, &l); break;
  }
  if (rc == 0) rc = build_csr(t, &l, why, why_cap);
  free(l.e);
  free(l.lat);
  if (rc) {
    if (!why[0]) reason_set(why, why_cap, "topology: %s", momedo_strerror(rc));
    sim_topo_free(t);
    return rc;
  }
  for (uint32_t u = 0; u < t->n; u++)
    if (sim_topo_degree(t, u) > t->degree_max) t->degree_max = sim_topo_degree(t, u);
  t->components = count_components(t);
  return 0;
}

void sim_topo_free(struct sim_topo *t) {
  free(t->off);
  free(t->adj);
  free(t->eid);
  free(t->eu);
  free(t->ev);
  free(t->extra_ms);
  free(t->role);
  free(t->county);
  free(t->land);
  memset(t, 0, sizeof *t);
}

static uint64_t tri_base(uint64_t n, uint64_t u) { return u * (2 * n - u - 1) / 2; }

uint64_t sim_topo_edge(const struct sim_topo *t, uint32_t u, uint32_t i) {
  if (!t->complete) return t->eid[t->off[u] + i];
  uint32_t v = sim_topo_nbr(t, u, i);
  uint32_t a = u < v ? u : v, b = u < v ? v : u;
  return tri_base(t->n, a) + (b - a - 1);
}

int64_t sim_topo_find(const struct sim_topo *t, uint32_t u, uint32_t v) {
  if (u == v || u >= t->n || v >= t->n) return -1;
  if (t->complete) return v < u ? v : v - 1;
  uint32_t lo = t->off[u], hi = t->off[u + 1];
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (t->adj[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < t->off[u + 1] && t->adj[lo] == v ? (int64_t)(lo - t->off[u]) : -1;
}

void sim_topo_ends(const struct sim_topo *t, uint64_t e, uint32_t *u, uint32_t *v) {
  if (!t->complete) {
    *u = t->eu[e];
    *v = t->ev[e];
    return;
  }
  uint32_t lo = 0, hi = t->n - 1; /* largest a with tri_base(a) <= e */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo + 1) / 2;
    if (tri_base(t->n, mid) <= e) lo = mid;
    else hi = mid - 1;
  }
  *u = lo;
  *v = (uint32_t)(e - tri_base(t->n, lo) + lo + 1);
}

uint32_t sim_topo_bfs(const struct sim_topo *t, uint32_t src, uint32_t *dist, uint32_t *queue) {
  uint32_t head = 0, tail = 0, reached = 0;
  for (uint32_t v = 0; v < t->n; v++) dist[v] = UINT32_MAX;
  dist[src] = 0;
  queue[tail++] = src;
  while (head < tail) {
    uint32_t u = queue[head++], deg = sim_topo_degree(t, u);
    reached++;
    for (uint32_t i = 0; i < deg; i++) {
      uint32_t v = sim_topo_nbr(t, u, i);
      if (dist[v] == UINT32_MAX) dist[v] = dist[u] + 1, queue[tail++] = v;
    }
  }
  return reached;
}

int sim_topo_paths(const struct sim_topo *t, uint8_t *rows, double *mean, uint32_t *max) {
  *mean = 0;
  *max = 0;
  if (t->complete) {
    if (rows)
      for (uint64_t i = 0; i < (uint64_t)t->n * t->n; i++) rows[i] = i / t->n != i % t->n;
    *mean = *max = t->n > 1;
    return 0;
  }
  uint32_t *dist = malloc((size_t)t->n * sizeof *dist), *queue = malloc((size_t)t->n * sizeof *queue);
  if (!dist || !queue) {
    free(dist);
    free(queue);
    return MOMEDO_E_NOMEM;
  }
  uint64_t sum = 0, pairs = 0;
  for (uint32_t u = 0; u < t->n; u++) {
    sim_topo_bfs(t, u, dist, queue);
    for (uint32_t v = 0; v < t->n; v++) {
      uint32_t d = dist[v];
      if (rows) rows[(uint64_t)u * t->n + v] = d > SIM_TOPO_DIST_FAR ? SIM_TOPO_DIST_FAR : (uint8_t)d;
      if (d == UINT32_MAX || d == 0) continue;
      sum += d;
      pairs++;
      if (d > *max) *max = d;
    }
  }
  *mean = pairs ? (double)sum / (double)pairs : 0;
  free(dist);
  free(queue);
  return 0;
}

/* Is a a better partner for v than b? Same county first, then hubs, then the better
 * connected, then the smaller index. */
static int partner_before(const struct sim_topo *t, uint32_t v, uint32_t a, uint32_t b) {
  if (t->county) {
    int ca = t->county[a] == t->county[v], cb = t->county[b] == t->county[v];
    if (ca != cb) return ca;
    int ha = t->role[a] == SIM_ROLE_HUB, hb = t->role[b] == SIM_ROLE_HUB;
    if (ha != hb) return ha;
  }
  uint32_t da = sim_topo_degree(t, a), db = sim_topo_degree(t, b);
  return da != db ? da > db : a < b;
}

uint32_t sim_topo_partners(const struct sim_topo *t, uint32_t v, uint32_t k, uint32_t *out) {
  uint32_t deg = sim_topo_degree(t, v), n = 0;
  for (uint32_t i = 0; i < deg; i++) { /* insertion into the k best so far */
    uint32_t u = sim_topo_nbr(t, v, i), j = n < k ? n++ : k;
    if (j == k && (k == 0 || !partner_before(t, v, u, out[k - 1]))) continue;
    if (j == k) j = k - 1;
    while (j > 0 && partner_before(t, v, u, out[j - 1])) out[j] = out[j - 1], j--;
    out[j] = u;
  }
  return n;
}
