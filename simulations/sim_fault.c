/* simulations/sim_fault.c — the fault schedule: partitions (node sets cut apart,
 * then healed), swizzle (links cut one by one and restored in random order), crashes
 * with restart (store kept or wiped), churn, and the convergence clock that starts at
 * every heal. Draws only from the fault stream of the run's seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

static int in_sel(const struct sim *s, const struct sim_sel *sel, uint32_t v) {
  switch (sel->kind) {
  case SIM_SEL_ALL: return 1;
  case SIM_SEL_LIST:
    for (uint32_t i = 0; i < sel->nparts; i++)
      if (v >= sel->lo[i] && v <= sel->hi[i]) return 1;
    return 0;
  case SIM_SEL_COUNTY: return s->topo.county && s->topo.county[v] == sel->k;
  case SIM_SEL_ROLE: return s->topo.role && s->topo.role[v] == sel->role;
  case SIM_SEL_LAND: return s->topo.land && s->topo.land[v] == sel->k;
  default: return 0;
  }
}

int sim__sel_nodes(struct sim *s, const struct sim_sel *sel, struct rng *rng, uint32_t **out,
                   uint32_t *n) {
  uint32_t *v = malloc((size_t)s->n * sizeof *v);
  if (!v) return MOMEDO_E_NOMEM;
  uint32_t k = 0;
  if (sel->kind == SIM_SEL_RANDOM) {
    /* A random k-subset: partial Fisher–Yates, then sorted for a stable order. */
    for (uint32_t i = 0; i < s->n; i++) v[i] = i;
    for (uint32_t i = 0; i < sel->k; i++) {
      uint32_t j = i + (uint32_t)rng_below(rng, s->n - i), t = v[i];
      v[i] = v[j], v[j] = t;
    }
    k = sel->k;
    uint8_t *mark = calloc(s->n, 1);
    if (!mark) {
      free(v);
      return MOMEDO_E_NOMEM;
    }
    for (uint32_t i = 0; i < k; i++) mark[v[i]] = 1;
    k = 0;
    for (uint32_t i = 0; i < s->n; i++)
      if (mark[i]) v[k++] = i;
    free(mark);
  } else {
    for (uint32_t i = 0; i < s->n; i++)
      if (in_sel(s, sel, i)) v[k++] = i;
  }
  *out = v;
  *n = k;
  return 0;
}

int sim__healed(struct sim *s) {
  s->heal_us = s->now_us;
  s->converge_us = -1;
  s->heals++;
  if (!s->scn->converge_within_ms) return 0;
  uint64_t due = s->now_us + sim_us(s->scn->converge_within_ms);
  return sim__schedule(s, due, SIM_EVC_SAMPLE, SIM_EV_CONVERGE_DUE, 0, 0, s->heals);
}

static int faults_active(const struct sim *s) {
  return s->partition_active || s->alive_count < s->n || s->cuts_active;
}

static int converge_due(struct sim *s, uint64_t heal_no) {
  if (heal_no != s->heals || faults_active(s) || s->converge_us >= 0) return 0;
  if (sim__converged(s)) { /* converged exactly now */
    s->converge_us = (int64_t)(s->now_us - s->heal_us);
    return 0;
  }
  sim__fail(s, "not converged %llu ms after the heal at %.3f ms: %llu of %llu live copies held, "
            "%llu dead copies left%s; links up form %u component(s)",
            (unsigned long long)s->scn->converge_within_ms, s->heal_us / 1000.0,
            (unsigned long long)s->live_pairs, (unsigned long long)s->want_pairs,
            (unsigned long long)s->dead_pairs, sim__transit_note(s), sim__up_components(s));
  return 0;
}

static int schedule_crash_fault(struct sim *s, uint32_t fi, const struct sim_fault *f) {
  uint32_t *nodes, k;
  int rc = sim__sel_nodes(s, &f->group[0], &s->rng_fault, &nodes, &k);
  if (rc) return rc;
  for (uint32_t i = 0; i < k && !rc; i++) {
    if (f->kind == SIM_FAULT_CRASH) {
      rc = sim__schedule(s, sim_us(f->start_ms), SIM_EVC_FAULT, SIM_EV_CRASH, nodes[i], fi, 0);
      if (!rc) rc = sim__schedule(s, sim_us(f->end_ms), SIM_EVC_FAULT, SIM_EV_RESTART, nodes[i], fi, 0);
    } else {
      uint64_t t = sim_us(f->start_ms) + (uint64_t)(sim_rng_exp(&s->rng_fault, (double)f->uptime_ms) * 1000);
      if (t < sim_us(f->end_ms)) rc = sim__schedule(s, t, SIM_EVC_FAULT, SIM_EV_CHURN_DOWN, nodes[i], fi, 0);
    }
  }
  free(nodes);
  return rc;
}

int sim__faults_schedule(struct sim *s) {
  const struct sim_scn *c = s->scn;
  int rc = 0;
  if (!c->nfaults) return 0;
  s->swz_edges = calloc(c->nfaults, sizeof *s->swz_edges);
  s->swz_count = calloc(c->nfaults, sizeof *s->swz_count);
  if (!s->swz_edges || !s->swz_count) return MOMEDO_E_NOMEM;
  for (uint32_t fi = 0; fi < c->nfaults && !rc; fi++) {
    const struct sim_fault *f = &c->faults[fi];
    switch (f->kind) {
    case SIM_FAULT_PARTITION:
      rc = sim__schedule(s, sim_us(f->start_ms), SIM_EVC_FAULT, SIM_EV_PART_START, 0, fi, 0);
      if (!rc) rc = sim__schedule(s, sim_us(f->end_ms), SIM_EVC_FAULT, SIM_EV_PART_HEAL, 0, fi, 0);
      break;
    case SIM_FAULT_SWIZZLE:
      rc = sim__schedule(s, sim_us(f->start_ms), SIM_EVC_FAULT, SIM_EV_SWIZZLE, 0, fi, 0);
      break;
    case SIM_FAULT_CRASH:
    case SIM_FAULT_CHURN: rc = schedule_crash_fault(s, fi, f); break;
    }
  }
  return rc;
}

static int partition(struct sim *s, const struct sim_fault *f, int start) {
  for (uint32_t v = 0; v < s->n; v++) s->nodes[v].group = 0;
  s->partition_active = start;
  int rc = 0;
  if (start) {
    for (uint32_t g = 0; g < f->ngroups && !rc; g++) {
      uint32_t *nodes, k;
      if ((rc = sim__sel_nodes(s, &f->group[g], &s->rng_fault, &nodes, &k))) break;
      for (uint32_t i = 0; i < k; i++) s->nodes[nodes[i]].group = (uint8_t)(g + 1);
      free(nodes);
    }
    for (uint32_t v = 0; v < s->n && !rc; v++) rc = sim__links_take_down(s, v, 1);
    return rc;
  }
  for (uint32_t v = 0; v < s->n && !rc; v++) rc = sim__links_bring_up(s, v);
  return rc ? rc : sim__healed(s);
}

/* Step k < count cuts edge k; step count + j restores the j-th edge of a shuffled order. */
static int swizzle(struct sim *s, uint32_t fi, uint32_t step) {
  const struct sim_fault *f = &s->scn->faults[fi];
  uint64_t m = s->topo.nedges;
  if (step == 0) {
    uint32_t k = f->count < m ? f->count : (uint32_t)m;
    uint64_t *e = malloc(2 * (size_t)(k ? k : 1) * sizeof *e);
    uint32_t *perm = malloc((size_t)(k ? k : 1) * sizeof *perm);
    if (!e || !perm) {
      free(e);
      free(perm);
      return MOMEDO_E_NOMEM;
    }
    uint8_t *used = calloc(m / 8 + 1, 1); /* distinct edges: reject repeats */
    if (!used) {
      free(e);
      free(perm);
      return MOMEDO_E_NOMEM;
    }
    for (uint32_t i = 0; i < k; i++) {
      uint64_t x;
      do x = rng_below(&s->rng_fault, m);
      while (used[x / 8] >> (x % 8) & 1);
      used[x / 8] |= (uint8_t)(1u << (x % 8));
      e[i] = x;
      perm[i] = i;
    }
    free(used);
    sim_rng_shuffle_u32(&s->rng_fault, perm, k);
    for (uint32_t i = 0; i < k; i++) e[k + i] = e[perm[i]];
    free(perm);
    s->swz_edges[fi] = e;
    s->swz_count[fi] = k;
  }
  uint32_t k = s->swz_count[fi];
  if (step >= 2 * k) return 0;
  uint64_t e = s->swz_edges[fi][step];
  uint32_t u, v;
  int rc;
  sim_topo_ends(&s->topo, e, &u, &v);
  if (step < k) {
    s->edge_cut[e]++;
    s->cuts_active++;
    rc = sim__links_take_down(s, u, 1);
  } else {
    s->edge_cut[e]--;
    s->cuts_active--;
    rc = sim__links_bring_up(s, u);
    if (!rc) rc = sim__links_bring_up(s, v);
  }
  if (!rc && step + 1 < 2 * k)
    rc = sim__schedule(s, s->now_us + sim_us(f->step_ms), SIM_EVC_FAULT, SIM_EV_SWIZZLE, 0, fi, step + 1);
  if (!rc && step + 1 == 2 * k) rc = sim__healed(s);
  return rc;
}

static int crash(struct sim *s, uint32_t v, int wipe) {
  struct sim_node *nd = &s->nodes[v];
  if (!nd->alive) return 0;
  nd->alive = 0;
  nd->gen++;
  s->alive_count--;
  sim__node_alive(s, v, 0);
  int rc = sim__links_take_down(s, v, 1);
  sim__ops(s)->stop_node(s, v, wipe);
  return rc;
}

static int restart(struct sim *s, uint32_t v) {
  struct sim_node *nd = &s->nodes[v];
  if (nd->alive) return 0;
  nd->alive = 1;
  nd->gen++;
  nd->uplink_free_us = s->now_us;
  s->alive_count++;
  sim__node_alive(s, v, 1);
  int rc = sim__ops(s)->start_node(s, v);
  if (!rc) rc = sim__links_bring_up(s, v);
  if (!rc && s->alive_count == s->n) rc = sim__healed(s);
  return rc;
}

static double dist_draw(struct rng *r, const struct sim_dist *d) {
  double x = d->a;
  if (d->kind == SIM_DIST_UNIFORM) x = d->a + (d->b - d->a) * sim_rng_unit(r);
  else if (d->kind == SIM_DIST_NORMAL) x = d->a + d->b * sim_rng_normal(r);
  else if (d->kind == SIM_DIST_LOGNORMAL) x = exp(d->a + d->b * sim_rng_normal(r));
  else if (d->kind == SIM_DIST_EXP) x = sim_rng_exp(r, d->a);
  return x > 0 ? x : 0;
}

int sim__fault_event(struct sim *s, const struct sim_event *e) {
  const struct sim_fault *f = e->type == SIM_EV_CONVERGE_DUE ? NULL : &s->scn->faults[e->from];
  int rc;
  switch ((enum sim_ev_type)e->type) {
  case SIM_EV_PART_START: return partition(s, f, 1);
  case SIM_EV_PART_HEAL: return partition(s, f, 0);
  case SIM_EV_SWIZZLE: return swizzle(s, e->from, (uint32_t)e->arg);
  case SIM_EV_CRASH: return crash(s, e->node, f->store == SIM_STORE_WIPED);
  case SIM_EV_RESTART: return restart(s, e->node);
  case SIM_EV_CHURN_DOWN:
    if (!s->nodes[e->node].alive) return 0;
    if ((rc = crash(s, e->node, f->store == SIM_STORE_WIPED))) return rc;
    return sim__schedule(s, s->now_us + (uint64_t)(dist_draw(&s->rng_fault, &f->downtime) * 1000),
                         SIM_EVC_FAULT, SIM_EV_CHURN_UP, e->node, e->from, 0);
  case SIM_EV_CHURN_UP: {
    if ((rc = restart(s, e->node))) return rc;
    uint64_t t = s->now_us + (uint64_t)(sim_rng_exp(&s->rng_fault, (double)f->uptime_ms) * 1000);
    if (t < sim_us(f->end_ms)) rc = sim__schedule(s, t, SIM_EVC_FAULT, SIM_EV_CHURN_DOWN, e->node, e->from, 0);
    return rc;
  }
  case SIM_EV_CONVERGE_DUE: return converge_due(s, e->arg);
  default: return MOMEDO_E_INTERNAL;
  }
}
