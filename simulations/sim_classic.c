/* simulations/sim_classic.c — the classic epidemic protocols, implemented here for
 * comparison with momedo (Demers et al., "Epidemic algorithms for replicated database
 * maintenance", PODC 1987): anti-entropy push, pull and push-pull with an ideal digest,
 * and the driver table shared with rumor mongering (sim_rumor.c). In cycle mode an
 * exchange is atomic within the cycle, as in those analyses. */
#include <stdlib.h>
#include <string.h>

#include "sim_classic.h"

static struct sim_cl_msg *cm_new(uint8_t type, uint32_t n, uint32_t *len) {
  *len = (uint32_t)(sizeof(struct sim_cl_msg) + (size_t)n * 5);
  struct sim_cl_msg *m = malloc(*len);
  if (!m) return NULL;
  m->type = type;
  memset(m->pad, 0, sizeof m->pad);
  m->n = n;
  return m;
}

int sim__cl_scratch_fit(struct sim *s, uint32_t n) {
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

int sim__cl_send(struct sim *s, uint32_t u, uint32_t v, uint8_t type, const uint32_t *objs, uint32_t n,
                 const uint8_t *flags, uint32_t extra_wire, int *lost) {
  uint32_t len;
  struct sim_cl_msg *m = cm_new(type, n, &len);
  if (!m) return MOMEDO_E_NOMEM;
  uint64_t wire = SIM_CLASSIC_HDR_BYTES + extra_wire;
  uint8_t *h = sim__cm_bytes(m);
  for (uint32_t i = 0; i < n; i++) {
    m->obj[i] = objs[i];
    h[i] = flags ? flags[i] : s->hops[(uint64_t)objs[i] * s->n + u];
    wire += type == SIM_CM_FEEDBACK ? 8 : s->objs[objs[i]].size;
    if (type != SIM_CM_FEEDBACK) s->objs[objs[i]].msgs++;
  }
  if (wire > UINT32_MAX) wire = UINT32_MAX;
  uint64_t lost0 = s->msgs_lost;
  int rc = sim__send(s, u, v, m, len, (uint32_t)wire, NULL);
  if (lost) *lost = s->msgs_lost != lost0;
  return rc;
}

static int send_objs(struct sim *s, uint32_t u, uint32_t v, uint8_t type, uint32_t n, uint32_t extra) {
  return sim__cl_send(s, u, v, type, s->scratch, n, NULL, extra, NULL);
}

static int ae_act(struct sim *s, uint32_t u, uint32_t v) {
  enum sim_proto_kind p = s->scn->proto;
  int rc = sim__cl_scratch_fit(s, s->nobjs + 1);
  if (rc) return rc;
  int push = p == SIM_PROTO_AE_PUSH || p == SIM_PROTO_AE_PUSHPULL;
  int pull = p == SIM_PROTO_AE_PULL || p == SIM_PROTO_AE_PUSHPULL;
  uint8_t req = push ? SIM_CM_PUSHPULL : SIM_CM_PULL_REQ;
  uint32_t n = push ? diff(s, u, v) : 0;
  /* Event mode: u's push (if any) travels with its request; v answers on arrival. */
  if (!s->scn->cycle_mode && pull) return send_objs(s, u, v, req, n, SIM_DIGEST_BYTES);
  if (!pull) return send_objs(s, u, v, SIM_CM_PUSH, n, SIM_DIGEST_BYTES);
  /* Cycle mode pull: the request (digest) and the reply are computed on the state
   * at this instant; both messages land at the cycle boundary. */
  if ((rc = send_objs(s, u, v, req, n, SIM_DIGEST_BYTES))) return rc;
  if (!sim__link_ok(s, u, v)) return 0;
  n = diff(s, v, u);
  return n ? send_objs(s, v, u, SIM_CM_REPLY, n, 0) : 0;
}

static int cl_act(struct sim *s, uint32_t u) {
  uint32_t deg = sim_topo_degree(&s->topo, u);
  if (!deg) return 0;
  int rumor = s->scn->proto == SIM_PROTO_RUMOR;
  /* A push-only rumor monger with nothing hot has nothing to do (and draws nothing). */
  if (rumor && s->scn->rumor_dir == SIM_RUMOR_PUSH && !s->nodes[u].nhot) return 0;
  uint32_t v = sim_topo_nbr(&s->topo, u, (uint32_t)rng_below(&s->rng_proto, deg));
  return rumor ? sim__rumor_act(s, u, v) : ae_act(s, u, v);
}

static int cl_deliver(struct sim *s, const struct sim_event *e) {
  struct sim_cl_msg *m = e->data;
  uint32_t v = e->node, u = e->from;
  if (!sim__deliver_ok(s, e)) {
    free(m);
    return 0;
  }
  if (s->scn->proto == SIM_PROTO_RUMOR) {
    int rc = sim__rumor_deliver(s, v, u, m);
    free(m);
    return rc;
  }
  uint8_t *h = sim__cm_bytes(m);
  int rc = 0;
  for (uint32_t i = 0; i < m->n && !rc; i++)
    if (!sim__has(s, v, m->obj[i])) rc = sim__got(s, v, m->obj[i], (uint32_t)h[i] + 1, SIM_HELD_DEST);
  int reply = !s->scn->cycle_mode && (m->type == SIM_CM_PULL_REQ || m->type == SIM_CM_PUSHPULL);
  free(m);
  if (rc || !reply) return rc;
  rc = sim__cl_scratch_fit(s, s->nobjs + 1);
  if (rc) return rc;
  uint32_t n = diff(s, v, u);
  return n ? send_objs(s, v, u, SIM_CM_REPLY, n, 0) : 0;
}

static int cl_publish(struct sim *s, uint32_t o) {
  uint32_t v = s->objs[o].origin;
  if (sim__got(s, v, o, 0, SIM_HELD_DEST)) return MOMEDO_E_NOMEM;
  return s->scn->proto == SIM_PROTO_RUMOR ? sim__rumor_add(s, v, o) : 0;
}

static void cl_stop(struct sim *s, uint32_t v, int wipe) {
  s->nodes[v].nhot = 0; /* rumor state lives in memory */
  if (wipe) sim__lost_all(s, v);
}

static int cl_init(struct sim *s, char *why, size_t why_cap) {
  return sim__cl_scratch_fit(s, s->scn->objects_total + 1);
}

static void cl_free(struct sim *s) {
  for (uint32_t v = 0; v < s->n; v++) free(s->nodes[v].hot);
  free(s->scratch);
  s->scratch = NULL;
  s->scratch_cap = 0;
}

static void cl_cycle_end(struct sim *s) {
  if (s->scn->proto == SIM_PROTO_RUMOR) sim__rumor_cycle_end(s);
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
    .cycle_end = cl_cycle_end,
    .free_payload = free,
};
