/* simulations/sim_rumor.c — rumor mongering (Demers et al. 1987, section 1.4): push,
 * pull or push-pull of each node's hot rumors to one random neighbor per turn, and
 * loss of interest with feedback or blind, by counter or coin, parameter k (k = 0:
 * infect forever, the model of Pittel 1987). The readings of the paper chosen here
 * and their alternatives are in docs/simulation.md ("Rumor mongering semantics"). */
#include <stdlib.h>
#include <string.h>

#include "sim_classic.h"

/* flags of a hot rumor: what its contacts were this cycle (interest=streak, cycles) */
enum { HOT_NEC = 1, HOT_UNN = 2, HOT_SENT = 4 };
#define BLIND (-1) /* "knew" of a contact without feedback */

int sim__rumor_add(struct sim *s, uint32_t v, uint32_t o) {
  struct sim_node *nd = &s->nodes[v];
  if (nd->nhot == nd->hot_cap) {
    uint32_t nc = nd->hot_cap ? nd->hot_cap * 2 : 4;
    struct sim_hot *nh = realloc(nd->hot, nc * sizeof *nh);
    if (!nh) return MOMEDO_E_NOMEM;
    nd->hot = nh;
    nd->hot_cap = nc;
  }
  nd->hot[nd->nhot++] = (struct sim_hot){.obj = o};
  return 0;
}

/* One loss-of-interest step for hot rumor i of nd: 1 if it was dropped (the last
 * entry takes its place: the order of the hot list does not matter). */
static int step(struct sim *s, struct sim_node *nd, uint32_t i) {
  uint32_t k = s->scn->rumor_k;
  if (k == 0) return 0;
  int drop = s->scn->rumor_coin ? sim_rng_chance(&s->rng_proto, 1.0 / k) : ++nd->hot[i].count >= k;
  if (drop) nd->hot[i] = nd->hot[--nd->nhot];
  return drop;
}

/* Steps wait for the end of the cycle (cycle mode, interest=streak). */
static int deferred(const struct sim *s) { return s->scn->cycle_mode && !s->scn->rumor_total; }

/* Node u's rumor o made a contact: knew = 1 (unnecessary), 0 (necessary) or BLIND. */
static void contact(struct sim *s, uint32_t u, uint32_t o, int knew) {
  struct sim_node *nd = &s->nodes[u];
  uint32_t i = 0;
  while (i < nd->nhot && nd->hot[i].obj != o) i++;
  if (i == nd->nhot) return; /* no longer hot */
  if (deferred(s)) {
    nd->hot[i].flags |= knew == BLIND ? HOT_SENT : knew ? HOT_UNN : HOT_NEC;
    return;
  }
  if (knew == BLIND || knew) step(s, nd, i);
  else if (!s->scn->rumor_total) nd->hot[i].count = 0;
}

void sim__rumor_cycle_end(struct sim *s) {
  if (!deferred(s)) return;
  for (uint32_t v = 0; v < s->n; v++) {
    struct sim_node *nd = &s->nodes[v];
    for (uint32_t i = 0; i < nd->nhot;) {
      uint8_t f = nd->hot[i].flags;
      nd->hot[i].flags = 0;
      int dropped = 0;
      if (f & HOT_NEC) nd->hot[i].count = 0; /* a necessary contact: the streak restarts */
      else if (f & (HOT_UNN | HOT_SENT)) dropped = step(s, nd, i);
      if (!dropped) i++;
    }
  }
}

/* u sends its hot rumors (snapshot in scratch[0..n), which contact() leaves alone)
 * to v as a message of type;
 * in cycle mode u learns at once whether v knew each (feedback) when it arrives. */
static int send_hot(struct sim *s, uint32_t u, uint32_t v, uint8_t type, uint32_t n) {
  const uint32_t *objs = s->scratch;
  int cyc = s->scn->cycle_mode, fb = s->scn->rumor_feedback, lost = 0;
  uint8_t *knew = NULL;
  if (n && fb && cyc) {
    if (!(knew = malloc(n))) return MOMEDO_E_NOMEM;
    for (uint32_t i = 0; i < n; i++) knew[i] = (uint8_t)sim__has(s, v, objs[i]);
  }
  int rc = sim__cl_send(s, u, v, type, objs, n, NULL, 0, &lost);
  for (uint32_t i = 0; !rc && i < n; i++) {
    if (!fb) contact(s, u, objs[i], BLIND);
    else if (knew && !lost) contact(s, u, objs[i], knew[i]);
  }
  free(knew);
  return rc;
}

static uint32_t snapshot_hot(struct sim *s, uint32_t u) {
  const struct sim_node *nd = &s->nodes[u];
  for (uint32_t i = 0; i < nd->nhot; i++) s->scratch[i] = nd->hot[i].obj;
  return nd->nhot;
}

/* u's turn with partner v. Push: u's hot rumors go to v. Pull: u asks v, who answers
 * with its hot rumors. Push-pull: both. In cycle mode the answer is computed now (on
 * the state of this instant, as the request and answer of one synchronous round);
 * in event mode v answers when the request arrives. */
int sim__rumor_act(struct sim *s, uint32_t u, uint32_t v) {
  enum sim_rumor_dir dir = s->scn->rumor_dir;
  int rc = sim__cl_scratch_fit(s, s->nobjs + 1);
  if (rc) return rc;
  uint32_t n = dir == SIM_RUMOR_PULL ? 0 : snapshot_hot(s, u);
  if (dir == SIM_RUMOR_PUSH) return send_hot(s, u, v, SIM_CM_PUSH, n);
  uint64_t lost0 = s->msgs_lost;
  if ((rc = send_hot(s, u, v, SIM_CM_RPULL, n))) return rc;
  if (!s->scn->cycle_mode || s->msgs_lost != lost0 || !sim__link_ok(s, u, v)) return 0;
  n = snapshot_hot(s, v);
  return n ? send_hot(s, v, u, SIM_CM_REPLY, n) : 0;
}

/* Rumors arriving at v from u; feedback (event mode) tells u which v already knew. */
int sim__rumor_deliver(struct sim *s, uint32_t v, uint32_t u, struct sim_cl_msg *m) {
  uint8_t *b = sim__cm_bytes(m);
  if (m->type == SIM_CM_FEEDBACK) {
    for (uint32_t i = 0; i < m->n; i++) contact(s, v, m->obj[i], b[i]);
    return 0;
  }
  /* Event-mode pull: v answers with what was hot before this exchange. */
  int answer = m->type == SIM_CM_RPULL && !s->scn->cycle_mode;
  int rc = answer ? sim__cl_scratch_fit(s, s->nobjs + 1) : 0;
  uint32_t nhot = !rc && answer ? snapshot_hot(s, v) : 0;
  for (uint32_t i = 0; i < m->n && !rc; i++) {
    uint32_t o = m->obj[i];
    int knew = sim__has(s, v, o);
    if (!knew) {
      rc = sim__got(s, v, o, (uint32_t)b[i] + 1, SIM_HELD_DEST);
      if (!rc) rc = sim__rumor_add(s, v, o);
    }
    b[i] = (uint8_t)knew; /* reuse the hop bytes as the feedback flags */
  }
  if (rc || s->scn->cycle_mode) return rc; /* cycle mode: feedback and answer were atomic */
  if (m->n && s->scn->rumor_feedback)
    rc = sim__cl_send(s, v, u, SIM_CM_FEEDBACK, m->obj, m->n, b, 0, NULL);
  return !rc && nhot ? send_hot(s, v, u, SIM_CM_REPLY, nhot) : rc;
}
