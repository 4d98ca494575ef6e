/* simulations/sim_summary.c — a run's numbers at its end: per object (t_ave, p50, p99,
 * t_last, residue s, traffic m, RMR, hops: named as in the gossip literature) over the
 * object's wanted nodes, their means, the delivery-delay CDF and percentiles over all
 * deliveries, path hops and stretch against the graph's shortest paths, and the bytes
 * held per node over the samples. Reads no clock; every loop runs in index order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* k-th smallest (0-based) of v[0..n), reordering v: quickselect with a median-of-3
 * pivot and a three-way partition, so equal values cannot stall it. */
static uint32_t select_k(uint32_t *v, uint64_t n, uint64_t k) {
  uint64_t lo = 0, hi = n; /* [lo, hi) holds rank k */
  while (hi - lo > 1) {
    uint32_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
    uint32_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    uint64_t lt = lo, i = lo, gt = hi;
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
static uint32_t pct(uint32_t *v, uint64_t n, double p) {
  uint64_t r = (uint64_t)ceil(p * (double)n);
  if (r < 1) r = 1;
  return select_k(v, n, r - 1);
}

/* Wanted node i of object o (dense: node i). */
static uint32_t wanted_node(const struct sim *s, const struct sim_obj *ob, uint32_t i) {
  return s->sparse ? ob->dnodes[i] : i;
}

static void obj_stats(struct sim *s, uint32_t o, uint32_t *buf, struct sim_ostat *st) {
  const struct sim_obj *ob = &s->objs[o];
  uint32_t k = 0, last = 0, hl = 0, hm = 0, w = sim__wanted(s, o), full = 1;
  double sum = 0;
  const uint32_t *d = &s->delay_ms[ob->cell0];
  const uint8_t *h = &s->hops[ob->cell0];
  memset(st, 0, sizeof *st);
  st->lasting = ob->published && !ob->dead;
  st->reached = ob->reached;
  st->wanted = w;
  st->rmr = -1;
  if (!ob->published) return;
  for (uint32_t i = 0; i < w; i++) {
    uint32_t v = wanted_node(s, ob, i);
    if (d[i] == SIM_NEVER && s->nodes[v].alive) full = 0;
    if (d[i] == SIM_NEVER || v == ob->origin) continue;
    buf[k++] = d[i];
    sum += d[i];
    if (d[i] > last || (d[i] == last && h[i] > hl)) last = d[i], hl = h[i];
    if (h[i] > hm) hm = h[i];
  }
  st->full = full;
  st->deliveries = k;
  st->m = (double)ob->msgs / s->n;
  if (k) st->rmr = (double)ob->msgs / k - 1.0;
  if (!k) return;
  st->t_ave = sum / k;
  st->t_last = last;
  st->hops_last = hl;
  st->hops_max = hm;
  st->t_p50 = pct(buf, k, 0.50);
  st->t_p99 = pct(buf, k, 0.99);
}

/* Over all deliveries (first arrival at a wanted node other than the origin): the CDF
 * (a 4096-bucket histogram up to the largest delay, read off at p = 0, 0.01, ..., 1),
 * the exact p50 and p99, the mean hop count and the mean stretch (hops over the
 * graph's shortest path) when the distances are known. */
static void deliveries(struct sim *s, struct sim_summary *m) {
  enum { B = 4096 };
  uint64_t total = 0, nstretch = 0, hops = 0;
  uint32_t maxd = 0, *all = malloc((s->cells ? s->cells : 1) * sizeof *all);
  uint64_t *hist = calloc(B, sizeof *hist);
  double stretch = 0;
  if (!all || !hist) goto out;
  for (uint32_t o = 0; o < s->nobjs; o++) {
    const struct sim_obj *ob = &s->objs[o];
    for (uint32_t i = 0, w = sim__wanted(s, o); i < w; i++) {
      uint32_t v = wanted_node(s, ob, i), d = s->delay_ms[ob->cell0 + i], h = s->hops[ob->cell0 + i];
      if (d == SIM_NEVER || v == ob->origin) continue;
      all[total++] = d;
      hops += h;
      if (d > maxd) maxd = d;
      uint8_t sp = s->dist ? s->dist[(uint64_t)ob->origin * s->n + v] : SIM_TOPO_DIST_FAR;
      if (sp && sp < SIM_TOPO_DIST_FAR) stretch += (double)h / sp, nstretch++;
    }
  }
  double width = maxd / (double)B + 1e-9;
  for (uint64_t i = 0; i < total; i++) {
    uint32_t b = (uint32_t)(all[i] / width);
    hist[b >= B ? B - 1 : b]++;
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
  if (total) {
    m->path_hops_mean = (double)hops / (double)total;
    m->delay_p50_ms = pct(all, total, 0.50);
    m->delay_p99_ms = pct(all, total, 0.99);
  }
  m->path_stretch_mean = nstretch ? stretch / (double)nstretch : -1;
out:
  free(all);
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
      m->residue += (double)(st->wanted - st->reached) / st->wanted;
      full += st->full;
    }
    if (!st->deliveries) continue;
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

/* Bytes held per live node: the mean over the samples of the mean over nodes, and the
 * most any node held at a sample. */
static void stored_bytes(const struct sim *s, struct sim_summary *m) {
  double sum = 0, transit = 0;
  for (uint32_t i = 0; i < s->nsamples; i++) {
    const struct sim_sample *x = &s->samples[i];
    sum += x->stored_mean;
    transit += x->transit_mean;
    if ((double)x->stored_max > m->stored_bytes_per_node_max) m->stored_bytes_per_node_max = (double)x->stored_max;
  }
  if (s->nsamples) {
    m->stored_bytes_per_node_mean = sum / s->nsamples;
    m->transit_bytes_per_node_mean = transit / s->nsamples;
  }
}

/* Record, custody and lookup traffic (scoped delivery; zero or undefined otherwise). */
static void scoped_traffic(const struct sim *s, struct sim_summary *m) {
  uint64_t done = s->lookups_found + s->lookups_notfound;
  m->scoped = s->sparse;
  m->record_bytes_per_node = (double)s->mo_record_bytes / s->n;
  m->custody_bytes_per_node = (double)(s->mo_bytes[SIM_MO_GRANT] + s->mo_bytes[SIM_MO_ACK]) / s->n;
  m->lookups = (double)s->lookups;
  m->lookup_found = done ? (double)s->lookups_found / (double)done : -1;
  m->lookup_msgs_mean = s->lookups ? (double)s->mo_msgs[SIM_MO_ROUTED] / (double)s->lookups : -1;
  m->lookup_delay_ms_mean = done ? (double)s->lookup_delay_ms_sum / (double)done : -1;
  for (uint32_t v = 0; s->keys && v < s->n; v++)
    m->record_versions += (double)s->keys[v].records_signed;
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
  m->path_len_mean = s->path_len_mean;
  m->path_len_max = s->path_len_mean >= 0 ? (double)s->path_len_max : -1;
  snprintf(m->failure, sizeof m->failure, "%s", s->failure);
  stored_bytes(s, m);
  scoped_traffic(s, m);
  free(s->ost);
  s->ost = calloc(s->nobjs + 1, sizeof *s->ost);
  uint32_t *buf = malloc((size_t)s->n * sizeof *buf);
  if (s->ost && buf)
    for (uint32_t o = 0; o < s->nobjs; o++) obj_stats(s, o, buf, &s->ost[o]);
  free(buf);
  if (!s->ost) return;
  summary_means(s, m);
  if (s->scn->cycle_mode) m->rounds_last = m->t_last_ms / (double)s->scn->cycle_ms;
  deliveries(s, m);
}
