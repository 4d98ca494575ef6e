/* simulations/sim_classic.c — the classic epidemic protocols, implemented here for
 * comparison with momedo (Demers et al., "Epidemic algorithms for replicated database
 * maintenance", PODC 1987): anti-entropy push, pull and push-pull with an ideal digest,
 * and push rumor mongering with blind or feedback loss of interest, by counter or coin,
 * parameter k (k = 0: infect forever, the model of Pittel 1987 and Karp et al. 2000).
 * In cycle mode an exchange is atomic within the cycle, as in those analyses. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* A classic message: header, n object indices, then n hop counts. */
struct cmsg {
  uint8_t type;
  uint8_t pad[3];
  uint32_t n;
  uint32_t obj[];
};

static uint8_t *cm_hops(struct cmsg *m) { return (uint8_t *)&m->obj[m->n]; }

static struct cmsg *cm_new(uint8_t type, uint32_t n, uint32_t *len) {
  *len = (uint32_t)(sizeof(struct cmsg) + (size_t)n * 5);
  struct cmsg *m = malloc(*len);
  if (!m) return NULL;
  m->type = type;
  memset(m->pad, 0, sizeof m->pad);
  m->n = n;
  return m;
}

/* The run's scratch list of object indices, grown to fit n. */
static int scratch_fit(struct sim *s, uint32_t n) {
  if (n <= s->scratch_cap) return 0;
  uint32_t *ns = realloc(s->scratch, (size_t)n * sizeof *ns);
  if (!ns) return MOMEDO_E_NOMEM;
  s->scratch = ns;
  s->scratch_cap = n;
  return 0;
}

/* Objects u holds and v lacks, ascending, into scratch; returns how many. */
static uint32_t diff(struct sim *s, uint32_t u, uint32_t v) {
  const uint64_t *a = &s->have[(uint64_t)u * s->words], *b = &s->have[(uint64_t)v * s->words];
  uint32_t k = 0;
  for (uint32_t w = 0; w < s->words; w++) {
    uint64_t x = a[w] & ~b[w];
    while (x) {
      s->scratch[k++] = w * 64 + (uint32_t)__builtin_ctzll(x);
      x &= x - 1;
    }
  }
  return k;
}

/* Send objs (n of them) from u to v as one message of the given type. */
static int send_objs(struct sim *s, uint32_t u, uint32_t v, uint8_t type, const uint32_t *objs,
                     uint32_t n, uint32_t extra_wire) {
  uint32_t len;
  struct cmsg *m = cm_new(type, n, &len);
  if (!m) return MOMEDO_E_NOMEM;
  uint64_t wire = SIM_CLASSIC_HDR_BYTES + extra_wire;
  uint8_t *h = cm_hops(m);
  for (uint32_t i = 0; i < n; i++) {
    m->obj[i] = objs[i];
    h[i] = s->hops[(uint64_t)objs[i] * s->n + u];
    wire += type == SIM_CM_FEEDBACK ? 8 : s->objs[objs[i]].size;
    if (type != SIM_CM_FEEDBACK) s->objs[objs[i]].msgs++;
  }
  if (wire > UINT32_MAX) wire = UINT32_MAX;
  return sim__send(s, u, v, m, len, (uint32_t)wire, NULL);
}

/* ---- rumor state --------------------------------------------------------------------- */

static int hot_add(struct sim_node *nd, uint32_t o) {
  if (nd->nhot == nd->hot_cap) {
    uint32_t nc = nd->hot_cap ? nd->hot_cap * 2 : 4;
    struct sim_hot *nh = realloc(nd->hot, nc * sizeof *nh);
    if (!nh) return MOMEDO_E_NOMEM;
    nd->hot = nh;
    nd->hot_cap = nc;
  }
  nd->hot[nd->nhot++] = (struct sim_hot){o, 0};
  return 0;
}

/* One loss-of-interest step for hot rumor i of node nd: 1 if it was dropped. */
static int lose_interest(struct sim *s, struct sim_node *nd, uint32_t i) {
  uint32_t k = s->scn->rumor_k;
  if (k == 0) return 0;
  int drop = s->scn->rumor_coin ? sim_rng_chance(&s->rng_proto, 1.0 / k) : ++nd->hot[i].count >= k;
  if (drop) nd->hot[i] = nd->hot[--nd->nhot]; /* order does not matter: all are sent */
  return drop;
}

static void feedback(struct sim *s, uint32_t u, uint32_t o) {
  struct sim_node *nd = &s->nodes[u];
  for (uint32_t i = 0; i < nd->nhot; i++)
    if (nd->hot[i].obj == o) {
      lose_interest(s, nd, i);
      return;
    }
}

static int rumor_act(struct sim *s, uint32_t u, uint32_t v) {
  struct sim_node *nd = &s->nodes[u];
  if (!nd->nhot) return 0;
  int rc = scratch_fit(s, nd->nhot);
  if (rc) return rc;
  for (uint32_t i = 0; i < nd->nhot; i++) s->scratch[i] = nd->hot[i].obj;
  uint32_t n = nd->nhot;
  /* Cycle mode: the sender learns at once whether the partner knew (Demers' model). */
  int atomic_fb = s->scn->rumor_feedback && s->scn->cycle_mode;
  uint8_t *knew = NULL;
  if (atomic_fb && !(knew = malloc(n))) return MOMEDO_E_NOMEM;
  for (uint32_t i = 0; i < n && knew; i++) knew[i] = (uint8_t)sim__has(s, v, s->scratch[i]);
  int reachable = sim__link_ok(s, u, v);
  rc = send_objs(s, u, v, SIM_CM_PUSH, s->scratch, n, 0);
  if (!rc && !s->scn->rumor_feedback) {
    for (uint32_t i = 0; i < nd->nhot;)
      if (!lose_interest(s, nd, i)) i++;
  } else if (!rc && knew && reachable) {
    for (uint32_t i = 0; i < n; i++)
      if (knew[i]) feedback(s, u, s->scratch[i]);
  }
  free(knew);
  return rc;
}

/* ---- anti-entropy ---------------------------------------------------------------------- */

static int ae_act(struct sim *s, uint32_t u, uint32_t v) {
  enum sim_proto_kind p = s->scn->proto;
  int rc = scratch_fit(s, s->nobjs + 1);
  if (rc) return rc;
  int push = p == SIM_PROTO_AE_PUSH || p == SIM_PROTO_AE_PUSHPULL;
  int pull = p == SIM_PROTO_AE_PULL || p == SIM_PROTO_AE_PUSHPULL;
  if (!s->scn->cycle_mode && pull) {
    /* Event mode: u's push (if any) travels with its request; v answers on arrival. */
    uint32_t n = push ? diff(s, u, v) : 0;
    return send_objs(s, u, v, push ? SIM_CM_PUSHPULL : SIM_CM_PULL_REQ, s->scratch, n, SIM_DIGEST_BYTES);
  }
  uint32_t n = push ? diff(s, u, v) : 0;
  if (!pull) return send_objs(s, u, v, SIM_CM_PUSH, s->scratch, n, SIM_DIGEST_BYTES);
  /* Cycle mode pull: the request (digest) and the reply are computed on the state
   * at this instant; both messages land at the cycle boundary. */
  if ((rc = send_objs(s, u, v, push ? SIM_CM_PUSHPULL : SIM_CM_PULL_REQ, s->scratch, n, SIM_DIGEST_BYTES)))
    return rc;
  if (!sim__link_ok(s, u, v)) return 0;
  n = diff(s, v, u);
  return n ? send_objs(s, v, u, SIM_CM_REPLY, s->scratch, n, 0) : 0;
}

static int cl_act(struct sim *s, uint32_t u) {
  uint32_t deg = sim_topo_degree(&s->topo, u);
  if (!deg) return 0;
  if (s->scn->proto == SIM_PROTO_RUMOR && !s->nodes[u].nhot) return 0;
  uint32_t v = sim_topo_nbr(&s->topo, u, (uint32_t)sim_rng_below(&s->rng_proto, deg));
  return s->scn->proto == SIM_PROTO_RUMOR ? rumor_act(s, u, v) : ae_act(s, u, v);
}

static int cl_deliver(struct sim *s, const struct sim_event *e) {
  struct cmsg *m = e->data;
  uint32_t v = e->node, u = e->from;
  int rc = 0;
  if (!sim__deliver_ok(s, e)) {
    free(m);
    return 0;
  }
  uint8_t *h = cm_hops(m);
  if (m->type == SIM_CM_FEEDBACK) {
    for (uint32_t i = 0; i < m->n; i++) feedback(s, v, m->obj[i]);
    free(m);
    return 0;
  }
  uint32_t nknown = 0;
  for (uint32_t i = 0; i < m->n && !rc; i++) {
    uint32_t o = m->obj[i];
    if (sim__has(s, v, o)) {
      m->obj[nknown++] = o; /* reuse the array for the feedback list */
      continue;
    }
    sim__got(s, v, o, (uint32_t)h[i] + 1);
    if (s->scn->proto == SIM_PROTO_RUMOR) rc = hot_add(&s->nodes[v], o);
  }
  if (!rc && s->scn->proto == SIM_PROTO_RUMOR && s->scn->rumor_feedback && !s->scn->cycle_mode && nknown)
    rc = send_objs(s, v, u, SIM_CM_FEEDBACK, m->obj, nknown, 0);
  int reply = !s->scn->cycle_mode && (m->type == SIM_CM_PULL_REQ || m->type == SIM_CM_PUSHPULL);
  free(m);
  if (rc || !reply) return rc;
  if ((rc = scratch_fit(s, s->nobjs + 1))) return rc;
  uint32_t n = diff(s, v, u);
  return n ? send_objs(s, v, u, SIM_CM_REPLY, s->scratch, n, 0) : 0;
}

static int cl_publish(struct sim *s, uint32_t o) {
  uint32_t v = s->objs[o].origin;
  sim__got(s, v, o, 0);
  return s->scn->proto == SIM_PROTO_RUMOR ? hot_add(&s->nodes[v], o) : 0;
}

static void cl_stop(struct sim *s, uint32_t v, int wipe) {
  s->nodes[v].nhot = 0; /* rumor state lives in memory */
  if (wipe)
    for (uint32_t o = 0; o < s->nobjs; o++) sim__lost(s, v, o);
}

static int cl_init(struct sim *s, char *err) { return scratch_fit(s, s->scn->objects_total + 1); }

static void cl_free(struct sim *s) {
  for (uint32_t v = 0; v < s->n; v++) free(s->nodes[v].hot);
  free(s->scratch);
  s->scratch = NULL;
  s->scratch_cap = 0;
}

static int cl_start(struct sim *s, uint32_t v) { return 0; }
static int cl_link_up(struct sim *s, uint32_t u, uint32_t v) { return 0; }
static void cl_link_down(struct sim *s, uint32_t u, uint32_t v) {}
static int cl_timer(struct sim *s, const struct sim_event *e) { return 0; }

const struct sim_proto_ops sim_classic_ops = {
    .init = cl_init,
    .free = cl_free,
    .start_node = cl_start,
    .stop_node = cl_stop,
    .link_up = cl_link_up,
    .link_down = cl_link_down,
    .deliver = cl_deliver,
    .act = cl_act,
    .timer = cl_timer,
    .publish = cl_publish,
    .free_payload = free,
};
