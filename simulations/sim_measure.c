/* simulations/sim_measure.c — the live measures: first delivery time and hop count per
 * (object, wanted node), who holds what in which role (for convergence and safety), the
 * pair counters convergence is read from, and the samples over time (store size and
 * bytes held). Dense holdings are a bitset (every node wants every object), sparse ones
 * a map per node (sim_hold.c). Reads no clock; sim_summary.c turns it into numbers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

int sim__measure_init(struct sim *s) {
  const struct sim_scn *c = s->scn;
  uint64_t per = s->sparse ? SIM_DESTS_MAX : s->n;
  s->cells_cap = per * c->objects_total;
  s->delay_ms = malloc((s->cells_cap ? s->cells_cap : 1) * sizeof *s->delay_ms);
  s->hops = malloc(s->cells_cap ? s->cells_cap : 1);
  if (!s->delay_ms || !s->hops) return MOMEDO_E_NOMEM;
  memset(s->delay_ms, 0xff, s->cells_cap * sizeof *s->delay_ms);
  memset(s->hops, 0, s->cells_cap);
  if (s->hold_maps) return 0;
  s->words = (c->objects_total + 63) / 64;
  s->have = calloc((uint64_t)s->n * s->words + 1, sizeof *s->have);
  return s->have ? 0 : MOMEDO_E_NOMEM;
}

void sim__measure_free(struct sim *s) {
  free(s->delay_ms);
  free(s->hops);
  free(s->have);
  free(s->samples);
  free(s->ost);
  free(s->dist);
  if (s->nodes)
    for (uint32_t v = 0; v < s->n; v++) sim__hold_free(&s->nodes[v].held);
}

int sim__obj_cells(struct sim *s, uint32_t o) {
  uint32_t k = sim__wanted(s, o);
  if (s->cells + k > s->cells_cap) return MOMEDO_E_INTERNAL; /* bounded by the parser */
  s->objs[o].cell0 = s->cells;
  s->cells += k;
  return 0;
}

void sim__obj_published(struct sim *s, uint32_t o) {
  s->objs[o].published = 1;
  s->live_count++;
  s->want_pairs += sim__wanted(s, o);
}

/* The pair counter a copy of o in role belongs to (wanted: c >= 0). */
static uint64_t *pairs_of(struct sim *s, const struct sim_obj *ob, int64_t c, uint8_t role) {
  if (ob->dead) return &s->dead_pairs;
  if (c >= 0) return &s->live_pairs;
  return role == SIM_HELD_CACHED ? &s->cached_pairs : &s->transit_pairs;
}

static void count_copy(struct sim *s, uint32_t v, uint32_t o, int64_t c, uint8_t role, int sign) {
  struct sim_obj *ob = &s->objs[o];
  struct sim_node *nd = &s->nodes[v];
  uint64_t *pairs = pairs_of(s, ob, c, role);
  uint64_t *bytes = role == SIM_HELD_DEST ? &nd->bytes_dest : role == SIM_HELD_TRANSIT ? &nd->bytes_transit : NULL;
  if (sign > 0) {
    nd->have_count++, ob->holders++, (*pairs)++;
    if (nd->alive) ob->holders_alive++;
    if (c >= 0) ob->hw++;
    else if (role == SIM_HELD_CACHED) ob->hc++;
    if (bytes) *bytes += ob->size;
  } else {
    nd->have_count--, ob->holders--, (*pairs)--;
    if (nd->alive) ob->holders_alive--;
    if (c >= 0) ob->hw--;
    else if (role == SIM_HELD_CACHED) ob->hc--;
    if (bytes) *bytes -= ob->size;
  }
}

int sim__got(struct sim *s, uint32_t v, uint32_t o, uint32_t hops, uint8_t role) {
  struct sim_obj *ob = &s->objs[o];
  int64_t c = sim__cell(s, o, v);
  uint8_t h = (uint8_t)(hops > SIM_HOPS_MAX ? SIM_HOPS_MAX : hops);
  if (!sim__has(s, v, o)) {
    if (s->have) s->have[(uint64_t)v * s->words + o / 64] |= 1ull << (o % 64);
    else if (sim__hold_put(&s->nodes[v].held, o, role, h)) return MOMEDO_E_NOMEM;
    count_copy(s, v, o, c, role, 1);
  }
  if (c >= 0 && s->delay_ms[c] == SIM_NEVER) {
    uint64_t d = (s->now_us - ob->created_us) / 1000;
    s->delay_ms[c] = d >= SIM_NEVER ? SIM_NEVER - 1 : (uint32_t)d;
    s->hops[c] = h;
    ob->reached++;
  }
  return 0;
}

int sim__role_at(const struct sim *s, uint32_t v, uint32_t o) {
  if (s->have) return sim__has(s, v, o) ? SIM_HELD_DEST : -1;
  const struct sim_held *e = sim__hold_find(&s->nodes[v].held, o);
  return e ? e->role : -1;
}

uint32_t sim__hops_at(const struct sim *s, uint32_t v, uint32_t o) {
  int64_t c = sim__cell(s, o, v);
  if (c >= 0 && (s->have || s->delay_ms[c] != SIM_NEVER)) return s->hops[c];
  const struct sim_held *e = s->have ? NULL : sim__hold_find(&s->nodes[v].held, o);
  return e ? e->hops : 0;
}

void sim__lost(struct sim *s, uint32_t v, uint32_t o) {
  int role = sim__role_at(s, v, o);
  if (role < 0) return;
  if (s->have) s->have[(uint64_t)v * s->words + o / 64] &= ~(1ull << (o % 64));
  else sim__hold_del(&s->nodes[v].held, o);
  count_copy(s, v, o, sim__cell(s, o, v), (uint8_t)role, -1);
}

/* Object indices v holds, into a malloc'ed array (NULL with *k = 0 when none or out of
 * memory: the callers then skip bookkeeping, never the run). */
static uint32_t *held_list(const struct sim *s, uint32_t v, uint32_t *k) {
  uint32_t cap = s->have ? s->nodes[v].have_count : s->nodes[v].held.n, n = 0;
  uint32_t *out = malloc(((size_t)cap + 1) * sizeof *out);
  *k = 0;
  if (!out) return NULL;
  if (s->have) {
    for (uint32_t o = 0; o < s->nobjs && n < cap; o++)
      if (sim__has(s, v, o)) out[n++] = o;
  } else {
    const struct sim_hmap *m = &s->nodes[v].held;
    for (uint32_t i = 0; i < m->cap; i++)
      if (m->e[i].obj != UINT32_MAX) out[n++] = m->e[i].obj;
  }
  *k = n;
  return out;
}

void sim__lost_all(struct sim *s, uint32_t v) {
  uint32_t k;
  uint32_t *l = held_list(s, v, &k);
  for (uint32_t i = 0; i < k; i++) sim__lost(s, v, l[i]);
  free(l);
}

void sim__node_alive(struct sim *s, uint32_t v, int alive) {
  uint32_t k;
  uint32_t *l = held_list(s, v, &k);
  for (uint32_t i = 0; i < k; i++) s->objs[l[i]].holders_alive += alive ? 1u : (uint32_t)-1;
  free(l);
}

void sim__obj_dies(struct sim *s, uint32_t o) {
  struct sim_obj *ob = &s->objs[o];
  if (ob->dead || !ob->published) return;
  ob->dead = 1;
  s->live_count--;
  s->want_pairs -= sim__wanted(s, o);
  s->live_pairs -= ob->hw;
  s->cached_pairs -= ob->hc;
  s->transit_pairs -= ob->holders - ob->hw - ob->hc;
  s->dead_pairs += ob->holders;
}

int sim__converged(const struct sim *s) {
  return s->alive_count == s->n && s->live_pairs == s->want_pairs && s->dead_pairs == 0 &&
         s->transit_pairs == 0;
}

const char *sim__transit_note(struct sim *s) {
  s->note[0] = 0;
  if (s->transit_pairs)
    snprintf(s->note, sizeof s->note, ", %llu copies in transit", (unsigned long long)s->transit_pairs);
  return s->note;
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
  double bytes = 0, transit = 0;
  for (uint32_t v = 0; v < s->n; v++) {
    const struct sim_node *nd = &s->nodes[v];
    if (!nd->alive) continue;
    uint32_t c = nd->have_count;
    uint64_t b = nd->bytes_dest + nd->bytes_transit;
    x->alive++;
    sum += c;
    bytes += (double)b;
    transit += (double)nd->bytes_transit;
    if (c < x->store_min) x->store_min = c;
    if (c > x->store_max) x->store_max = c;
    if (b > x->stored_max) x->stored_max = b;
  }
  if (!x->alive) x->store_min = 0;
  x->store_mean = x->alive ? sum / x->alive : 0;
  x->stored_mean = x->alive ? bytes / x->alive : 0;
  x->transit_mean = x->alive ? transit / x->alive : 0;
  x->coverage = s->want_pairs ? (double)s->live_pairs / (double)s->want_pairs : 1.0;
  x->msgs = s->msgs;
  x->bytes = s->bytes;
  return 0;
}
