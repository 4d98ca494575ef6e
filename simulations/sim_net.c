/* simulations/sim_net.c — the simulated network and its faults: per-message latency,
 * per-node uplink bandwidth (serialisation delay), loss, duplication, reordering,
 * FIFO order on connected links, connection limits, partitions, swizzle (links cut
 * one by one and restored in random order), crashes, restarts and churn. Knows
 * nothing about what a payload means: the protocol driver owns that. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

int sim__edge_state(const struct sim *s) {
  if (s->scn->proto == SIM_PROTO_MOMEDO || s->scn->max_conns) return 1;
  for (uint32_t i = 0; i < s->scn->nfaults; i++)
    if (s->scn->faults[i].kind == SIM_FAULT_SWIZZLE) return 1;
  return 0;
}

int sim__net_init(struct sim *s, char *why, size_t why_cap) {
  if (!sim__edge_state(s)) return 0;
  uint64_t m = s->topo.nedges, slots = 2 * m;
  if (slots > SIM_EDGE_STATE_MAX) {
    reason_set(why, why_cap, "%llu directed links need per-link state (momedo, max_conns or "
             "swizzle); the limit is %llu", (unsigned long long)slots, SIM_EDGE_STATE_MAX);
    return MOMEDO_E_CONFIG;
  }
  s->edge_cut = calloc(m + 1, 1);
  s->edge_up = calloc(m + 1, 1);
  s->edge_epoch = calloc(m + 1, sizeof *s->edge_epoch);
  s->slot_fifo_us = calloc(slots + 1, sizeof *s->slot_fifo_us);
  if (!s->edge_cut || !s->edge_up || !s->edge_epoch || !s->slot_fifo_us) return MOMEDO_E_NOMEM;
  return 0;
}

void sim__net_free(struct sim *s) {
  free(s->edge_cut);
  free(s->edge_up);
  free(s->edge_epoch);
  free(s->slot_fifo_us);
  if (s->swz_edges)
    for (uint32_t i = 0; i < s->scn->nfaults; i++) free(s->swz_edges[i]);
  free(s->swz_edges);
  free(s->swz_count);
}

static int same_side(const struct sim *s, uint32_t u, uint32_t v) {
  return !s->partition_active || s->nodes[u].group == s->nodes[v].group;
}

static int wanted(const struct sim *s, uint64_t e, uint32_t u, uint32_t v) {
  return !s->edge_cut[e] && s->nodes[u].alive && s->nodes[v].alive && same_side(s, u, v);
}

int sim__link_ok(const struct sim *s, uint32_t u, uint32_t v) {
  if (!s->edge_up) return s->nodes[u].alive && s->nodes[v].alive && same_side(s, u, v);
  int64_t i = sim_topo_find(&s->topo, u, v);
  return i >= 0 && s->edge_up[sim_topo_edge(&s->topo, u, (uint32_t)i)];
}

static int room(const struct sim *s, uint32_t u) {
  return !s->scn->max_conns || s->nodes[u].conns < s->scn->max_conns;
}

/* Connect every wanted link of u that both ends have room for, in neighbor order. */
int sim__links_bring_up(struct sim *s, uint32_t u) {
  if (!s->edge_up || !s->nodes[u].alive) return 0;
  uint32_t deg = sim_topo_degree(&s->topo, u);
  for (uint32_t i = 0; i < deg && room(s, u); i++) {
    uint32_t v = sim_topo_nbr(&s->topo, u, i);
    uint64_t e = sim_topo_edge(&s->topo, u, i);
    if (s->edge_up[e] || !wanted(s, e, u, v) || !room(s, v)) continue;
    s->edge_up[e] = 1;
    s->nodes[u].conns++;
    s->nodes[v].conns++;
    int rc = sim__ops(s)->link_up(s, u, v);
    if (rc) return rc;
  }
  return 0;
}

static int link_down(struct sim *s, uint64_t e, uint32_t u, uint32_t v) {
  s->edge_up[e] = 0;
  s->edge_epoch[e]++;
  s->nodes[u].conns--;
  s->nodes[v].conns--;
  sim__ops(s)->link_down(s, u, v);
  /* A freed connection slot lets a waiting link of the other end come up. */
  return s->scn->max_conns ? sim__links_bring_up(s, v) : 0;
}

int sim__links_take_down(struct sim *s, uint32_t u, int only_unwanted) {
  if (!s->edge_up) return 0;
  uint32_t deg = sim_topo_degree(&s->topo, u);
  for (uint32_t i = 0; i < deg; i++) {
    uint32_t v = sim_topo_nbr(&s->topo, u, i);
    uint64_t e = sim_topo_edge(&s->topo, u, i);
    if (!s->edge_up[e] || (only_unwanted && wanted(s, e, u, v))) continue;
    int rc = link_down(s, e, u, v);
    if (rc) return rc;
  }
  return 0;
}

static double dist_ms(struct rng *r, const struct sim_dist *d) {
  double x;
  switch (d->kind) {
  case SIM_DIST_UNIFORM: x = d->a + (d->b - d->a) * sim_rng_unit(r); break;
  case SIM_DIST_NORMAL: x = d->a + d->b * sim_rng_normal(r); break;
  case SIM_DIST_LOGNORMAL: x = exp(d->a + d->b * sim_rng_normal(r)); break;
  case SIM_DIST_EXP: x = sim_rng_exp(r, d->a); break;
  default: x = d->a; break;
  }
  if (!(x >= 0)) x = 0;
  if (x > SIM_LATENCY_MS_MAX) x = SIM_LATENCY_MS_MAX;
  return x;
}

static uint64_t to_us(double ms) { return (uint64_t)(ms * 1000.0 + 0.5); }

static int push_delivery(struct sim *s, uint64_t t, uint32_t u, uint32_t v, void *data,
                         uint32_t len, uint32_t wire, uint32_t epoch) {
  struct sim_event e = {.time_ms = t, .type = SIM_EV_DELIVER, .node = v, .from = u,
                        .len = len, .arg = (uint64_t)wire << 32 | epoch, .data = data};
  return sim_queue_push(&s->q, SIM_EVC_DELIVER, &e);
}

/* Arrival time of a message leaving u now for v (and, via *depart, when the last
 * byte left u's uplink). */
static uint64_t arrival(struct sim *s, uint32_t u, int64_t slot_i, uint64_t e, uint32_t wire,
                        uint64_t *depart) {
  const struct sim_scn *c = s->scn;
  if (c->cycle_mode) {
    uint64_t cyc = sim_us(c->cycle_ms);
    *depart = s->now_us;
    return c->cycle_async ? s->now_us : (s->now_us / cyc + 1) * cyc;
  }
  uint64_t t = s->now_us;
  if (c->bandwidth_bps) {
    struct sim_node *nu = &s->nodes[u];
    if (nu->uplink_free_us > t) t = nu->uplink_free_us;
    t += (uint64_t)ceil((double)wire * 1e6 / (double)c->bandwidth_bps);
    nu->uplink_free_us = t;
  }
  *depart = t;
  double lat = dist_ms(&s->rng_link, &c->latency);
  if (s->topo.extra_ms && e != UINT64_MAX) lat += s->topo.extra_ms[e];
  if (sim_rng_chance(&s->rng_link, c->reorder)) lat += dist_ms(&s->rng_link, &c->reorder_delay);
  uint64_t at = t + to_us(lat);
  /* Connected links are TCP streams: nothing overtakes (unless reordering is asked for). */
  if (s->slot_fifo_us && slot_i >= 0 && c->reorder <= 0) {
    uint64_t sl = sim_topo_slot(&s->topo, u, (uint32_t)slot_i);
    if (at < s->slot_fifo_us[sl]) at = s->slot_fifo_us[sl];
    s->slot_fifo_us[sl] = at;
  }
  return at;
}

int sim__send(struct sim *s, uint32_t u, uint32_t v, void *data, uint32_t len, uint32_t wire,
              uint64_t *depart_us) {
  const struct sim_proto_ops *ops = sim__ops(s);
  struct sim_node *nu = &s->nodes[u];
  nu->msgs_sent++;
  nu->bytes_sent += wire;
  s->msgs++;
  s->bytes += wire;
  int64_t i = sim_topo_find(&s->topo, u, v);
  uint64_t e = i >= 0 && (s->edge_up || s->topo.extra_ms) ? sim_topo_edge(&s->topo, u, (uint32_t)i) : UINT64_MAX;
  uint32_t epoch = s->edge_epoch && e != UINT64_MAX ? s->edge_epoch[e] : 0;
  uint64_t depart = s->now_us;
  uint64_t at = arrival(s, u, i, e, wire, &depart);
  if (depart_us) *depart_us = depart;
  if (i < 0 || !sim__link_ok(s, u, v) || sim_rng_chance(&s->rng_link, s->scn->loss)) {
    s->msgs_lost++;
    ops->free_payload(data);
    return 0;
  }
  if (sim_rng_chance(&s->rng_link, s->scn->dup)) {
    void *copy = malloc(len ? len : 1);
    if (!copy) {
      ops->free_payload(data);
      return MOMEDO_E_NOMEM;
    }
    memcpy(copy, data, len);
    uint64_t d2 = s->scn->cycle_mode ? at : at + to_us(dist_ms(&s->rng_link, &s->scn->latency));
    int rc = push_delivery(s, d2, u, v, copy, len, wire, epoch);
    if (rc) {
      ops->free_payload(copy);
      ops->free_payload(data);
      return rc;
    }
  }
  int rc = push_delivery(s, at, u, v, data, len, wire, epoch);
  if (rc) ops->free_payload(data);
  return rc;
}

int sim__deliver_ok(struct sim *s, const struct sim_event *e) {
  uint32_t u = e->from, v = e->node;
  int ok;
  if (s->edge_up) {
    int64_t i = sim_topo_find(&s->topo, v, u);
    uint64_t ed = i >= 0 ? sim_topo_edge(&s->topo, v, (uint32_t)i) : 0;
    ok = i >= 0 && s->edge_up[ed] && s->edge_epoch[ed] == (uint32_t)e->arg;
  } else {
    ok = sim__link_ok(s, u, v);
  }
  if (!ok) {
    s->msgs_lost++;
    return 0;
  }
  s->nodes[v].msgs_recv++;
  s->nodes[v].bytes_recv += e->arg >> 32;
  return 1;
}

uint32_t sim__up_components(const struct sim *s) {
  if (!s->edge_up) return s->topo.components;
  uint32_t *stack = malloc((size_t)s->n * sizeof *stack), comps = 0;
  uint8_t *seen = calloc(s->n, 1);
  if (!stack || !seen) goto out;
  for (uint32_t r = 0; r < s->n; r++) {
    if (seen[r]) continue;
    comps++;
    uint32_t sp = 0;
    stack[sp++] = r;
    seen[r] = 1;
    while (sp) {
      uint32_t u = stack[--sp], deg = sim_topo_degree(&s->topo, u);
      for (uint32_t i = 0; i < deg; i++) {
        uint32_t v = sim_topo_nbr(&s->topo, u, i);
        if (!seen[v] && s->edge_up[sim_topo_edge(&s->topo, u, i)]) seen[v] = 1, stack[sp++] = v;
      }
    }
  }
out:
  free(stack);
  free(seen);
  return comps;
}
