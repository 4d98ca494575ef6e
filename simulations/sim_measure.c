/* simulations/sim_measure.c — the measures: first delivery time and hop count per
 * (object, node), who holds what (for convergence and safety), store-size samples,
 * and the per-object statistics named as in the gossip literature (t_ave, t_last,
 * residue s, traffic m, RMR). Reads no clock; the order of every loop is by index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

int sim__measure_init(struct sim *s) {
  uint64_t cells = (uint64_t)s->n * s->scn->objects_total;
  s->words = (s->scn->objects_total + 63) / 64;
  s->delay_ms = malloc((cells ? cells : 1) * sizeof *s->delay_ms);
  s->hops = malloc(cells ? cells : 1);
  s->have = calloc((uint64_t)s->n * s->words + 1, sizeof *s->have);
  if (!s->delay_ms || !s->hops || !s->have) return MOMEDO_E_NOMEM;
  memset(s->delay_ms, 0xff, cells * sizeof *s->delay_ms);
  memset(s->hops, 0, cells);
  return 0;
}

void sim__measure_free(struct sim *s) {
  free(s->delay_ms);
  free(s->hops);
  free(s->have);
  free(s->samples);
  free(s->ost);
}

void sim__got(struct sim *s, uint32_t v, uint32_t o, uint32_t hops) {
  struct sim_obj *ob = &s->objs[o];
  uint64_t *w = &s->have[(uint64_t)v * s->words + o / 64];
  if (!(*w >> (o % 64) & 1)) {
    *w |= 1ull << (o % 64);
    s->nodes[v].have_count++;
    ob->holders++;
    if (ob->dead) s->dead_pairs++;
    else s->live_pairs++;
  }
  uint64_t cell = (uint64_t)o * s->n + v;
  if (s->delay_ms[cell] == SIM_NEVER) {
    uint64_t d = (s->now_us - ob->created_us) / 1000;
    s->delay_ms[cell] = d >= SIM_NEVER ? SIM_NEVER - 1 : (uint32_t)d;
    s->hops[cell] = (uint8_t)(hops > SIM_HOPS_MAX ? SIM_HOPS_MAX : hops);
    ob->reached++;
  }
}

void sim__lost(struct sim *s, uint32_t v, uint32_t o) {
  struct sim_obj *ob = &s->objs[o];
  uint64_t *w = &s->have[(uint64_t)v * s->words + o / 64];
  if (!(*w >> (o % 64) & 1)) return;
  *w &= ~(1ull << (o % 64));
  s->nodes[v].have_count--;
  ob->holders--;
  if (ob->dead) s->dead_pairs--;
  else s->live_pairs--;
}

void sim__obj_dies(struct sim *s, uint32_t o) {
  struct sim_obj *ob = &s->objs[o];
  if (ob->dead || !ob->published) return;
  ob->dead = 1;
  s->live_count--;
  s->live_pairs -= ob->holders;
  s->dead_pairs += ob->holders;
}

int sim__converged(const struct sim *s) {
  return s->alive_count == s->n && s->live_pairs == (uint64_t)s->n * s->live_count &&
         s->dead_pairs == 0;
}

void sim__after_event(struct sim *s) {
  if (s->heal_us == UINT64_MAX || s->converge_us >= 0 || s->now_us < s->heal_us) return;
  if (!sim__converged(s)) return;
  s->converge_us = (int64_t)(s->now_us - s->heal_us);
  if (s->log && s->scn->nfaults)
    fprintf(s->log, "momedo-sim: converged %.3f ms after the heal at %.3f ms\n",
            s->converge_us / 1000.0, s->heal_us / 1000.0);
}

int sim__sample(struct sim *s) {
  if (s->nsamples == s->samples_cap) {
    uint32_t nc = s->samples_cap ? s->samples_cap * 2 : 128;
    struct sim_sample *ns = realloc(s->samples, nc * sizeof *ns);
    if (!ns) return MOMEDO_E_NOMEM;
    s->samples = ns;
    s->samples_cap = nc;
  }
  struct sim_sample *x = &s->samples[s->nsamples++];
  memset(x, 0, sizeof *x);
  x->t_us = s->now_us;
  x->store_min = UINT32_MAX;
  double sum = 0;
  for (uint32_t v = 0; v < s->n; v++) {
    if (!s->nodes[v].alive) continue;
    uint32_t c = s->nodes[v].have_count;
    x->alive++;
    sum += c;
    if (c < x->store_min) x->store_min = c;
    if (c > x->store_max) x->store_max = c;
  }
  if (!x->alive) x->store_min = 0;
  x->store_mean = x->alive ? sum / x->alive : 0;
  uint64_t want = (uint64_t)s->n * s->live_count;
  x->coverage = want ? (double)s->live_pairs / (double)want : 1.0;
  x->msgs = s->msgs;
  x->bytes = s->bytes;
  return 0;
}

/* k-th smallest (0-based) of v[0..n), reordering v: quickselect with a median-of-3
 * pivot and a three-way partition, so equal values cannot stall it. */
static uint32_t select_k(uint32_t *v, uint32_t n, uint32_t k) {
  uint32_t lo = 0, hi = n; /* [lo, hi) holds rank k */
  while (hi - lo > 1) {
    uint32_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
    uint32_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    uint32_t lt = lo, i = lo, gt = hi;
    while (i < gt) {
      uint32_t x = v[i];
      if (x < pivot) v[i++] = v[lt], v[lt++] = x;
      else if (x > pivot) v[i] = v[--gt], v[gt] = x;
      else i++;
    }
    if (k < lt) hi = lt;
    else if (k >= gt) lo = gt;
    else return pivot;
  }
  return v[lo];
}

/* Nearest-rank percentile: the value at rank ceil(p * n) (1-based). */
static uint32_t pct(uint32_t *v, uint32_t n, double p) {
  uint32_t r = (uint32_t)ceil(p * n);
  if (r < 1) r = 1;
  return select_k(v, n, r - 1);
}

static void obj_stats(struct sim *s, uint32_t o, uint32_t *buf, struct sim_ostat *st) {
  const struct sim_obj *ob = &s->objs[o];
  uint32_t k = 0, last = 0, hl = 0, hm = 0;
  double sum = 0;
  const uint32_t *d = &s->delay_ms[(uint64_t)o * s->n];
  const uint8_t *h = &s->hops[(uint64_t)o * s->n];
  memset(st, 0, sizeof *st);
  st->lasting = ob->published && !ob->dead;
  st->reached = ob->reached;
  st->rmr = -1;
  if (!ob->published) return;
  for (uint32_t v = 0; v < s->n; v++) {
    if (d[v] == SIM_NEVER || v == ob->origin) continue;
    buf[k++] = d[v];
    sum += d[v];
    if (d[v] > last || (d[v] == last && h[v] > hl)) last = d[v], hl = h[v];
    if (h[v] > hm) hm = h[v];
  }
  st->m = (double)ob->msgs / s->n;
  if (ob->reached > 1) st->rmr = (double)ob->msgs / (ob->reached - 1) - 1.0;
  if (!k) return;
  st->t_ave = sum / k;
  st->t_last = last;
  st->hops_last = hl;
  st->hops_max = hm;
  st->t_p50 = pct(buf, k, 0.50);
  st->t_p99 = pct(buf, k, 0.99);
}

/* CDF over all (object, node) deliveries: a 4096-bucket histogram up to the largest
 * delay, read off at p = 0, 0.01, ..., 1 (resolution: max delay / 4096). */
static void global_cdf(struct sim *s) {
  enum { B = 4096 };
  uint32_t maxd = 0;
  uint64_t total = 0;
  for (uint32_t o = 0; o < s->nobjs; o++) {
    const uint32_t *d = &s->delay_ms[(uint64_t)o * s->n];
    for (uint32_t v = 0; v < s->n; v++)
      if (d[v] != SIM_NEVER && v != s->objs[o].origin && d[v] > maxd) maxd = d[v];
  }
  uint64_t *hist = calloc(B, sizeof *hist);
  if (!hist) return;
  double width = maxd / (double)B + 1e-9;
  for (uint32_t o = 0; o < s->nobjs; o++) {
    const uint32_t *d = &s->delay_ms[(uint64_t)o * s->n];
    for (uint32_t v = 0; v < s->n; v++) {
      if (d[v] == SIM_NEVER || v == s->objs[o].origin) continue;
      uint32_t b = (uint32_t)(d[v] / width);
      hist[b >= B ? B - 1 : b]++;
      total++;
    }
  }
  s->cdf_ok = total > 0;
  uint64_t acc = 0;
  int p = 0;
  for (uint32_t b = 0; b < B && p <= 100; b++) {
    acc += hist[b];
    while (p <= 100 && acc >= (uint64_t)ceil(p / 100.0 * total) && total) {
      s->cdf_ms[p] = p == 0 ? 0 : (b + 1) * width;
      if (s->cdf_ms[p] > maxd) s->cdf_ms[p] = maxd;
      p++;
    }
  }
  free(hist);
}

static void summary_means(struct sim *s, struct sim_summary *m) {
  uint32_t nd = 0, nr = 0, nl = 0, full = 0, npub = 0;
  for (uint32_t o = 0; o < s->nobjs; o++) {
    const struct sim_ostat *st = &s->ost[o];
    if (!s->objs[o].published) continue;
    npub++;
    m->traffic_m += st->m;
    if (st->rmr >= 0) m->rmr += st->rmr, nr++;
    if (st->lasting) {
      nl++;
      m->residue += (double)(s->n - st->reached) / s->n;
      if (st->reached == s->n) full++;
    }
    if (st->reached <= 1) continue;
    nd++;
    m->t_ave_ms += st->t_ave;
    m->t_p50_ms += st->t_p50;
    m->t_p99_ms += st->t_p99;
    m->t_last_ms += st->t_last;
    m->hops_last += st->hops_last;
    if (st->t_last > m->t_last_max_ms) m->t_last_max_ms = st->t_last;
  }
  m->objects = npub;
  if (nd) {
    m->t_ave_ms /= nd, m->t_p50_ms /= nd, m->t_p99_ms /= nd, m->t_last_ms /= nd;
    m->hops_last /= nd;
  }
  if (nr) m->rmr /= nr;
  if (npub) m->traffic_m /= npub;
  if (nl) m->residue /= nl, m->reliability = (double)full / nl;
}

void sim__summarise(struct sim *s, struct sim_summary *m) {
  memset(m, 0, sizeof *m);
  m->seed = s->seed;
  m->nodes = s->n;
  m->events = s->events;
  m->msgs = s->msgs;
  m->bytes = s->bytes;
  m->msgs_lost = s->msgs_lost;
  m->bytes_per_node = (double)s->bytes / s->n;
  m->converge_ms = s->converge_us >= 0 ? s->converge_us / 1000.0 : -1;
  m->sim_end_ms = s->now_us / 1000.0;
  m->safety_violations = s->violations;
  m->up_components = sim__up_components(s);
  m->failed = s->failed;
  snprintf(m->failure, sizeof m->failure, "%s", s->failure);
  free(s->ost);
  s->ost = calloc(s->nobjs + 1, sizeof *s->ost);
  uint32_t *buf = malloc((size_t)s->n * sizeof *buf);
  if (s->ost && buf)
    for (uint32_t o = 0; o < s->nobjs; o++) obj_stats(s, o, buf, &s->ost[o]);
  free(buf);
  if (!s->ost) return;
  summary_means(s, m);
  if (s->scn->cycle_mode) m->rounds_last = m->t_last_ms / (double)s->scn->cycle_ms;
  global_cdf(s);
}
