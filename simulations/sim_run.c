/* simulations/sim_run.c — one run: build the graph, start the nodes, pop events in
 * (time, class, sequence) order until the end time, then summarise and write the
 * outputs; plus --runs aggregation. The only clock read here is the wall clock for
 * the events/second line on the log, which never reaches an output file. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "os.h" /* the wall time a run took, reported only */
#include "sim_int.h"

/* Stream tags for sim_seed_derive: one stream per concern, so changing the
 * workload does not change the graph drawn for the same seed. */
enum { TAG_TOPO = 1, TAG_LINK, TAG_WORK, TAG_FAULT, TAG_PROTO };

#define SIM_PREFETCH_BYTES 512 /* of the next event's payload */
#define SIM_PROGRESS_WALL_S 10.0 /* a progress line on the log this often (wall time) */
#define SIM_PROGRESS_EVENTS_MASK 0xffffu /* the wall clock is read every 65,536 events */

int sim__schedule(struct sim *s, uint64_t t_us, enum sim_ev_class cls, enum sim_ev_type type,
                  uint32_t node, uint32_t from, uint64_t arg) {
  struct sim_event e = {.time_ms = t_us, .type = type, .node = node, .from = from, .arg = arg};
  return sim_queue_push(&s->q, cls, &e);
}

void sim__fail(struct sim *s, const char *fmt, ...) {
  s->violations++;
  if (s->failed) return;
  s->failed = 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->failure, sizeof s->failure, fmt, ap);
  va_end(ap);
  fprintf(s->log ? s->log : stderr, "momedo-sim: CHECK FAILED at t=%.3f ms: %s (scenario %s, seed %llu)\n",
            s->now_us / 1000.0, s->failure, s->scn->name, (unsigned long long)s->seed);
}

int sim__cycle_mode(const struct sim *s) { return s->scn->cycle_mode; }

uint64_t sim__period_us(const struct sim *s) {
  return sim_us(s->scn->cycle_mode ? s->scn->cycle_ms : s->scn->period_ms);
}

const struct sim_proto_ops *sim__ops(const struct sim *s) {
  return s->scn->proto == SIM_PROTO_MOMEDO ? &sim_momedo_ops : &sim_classic_ops;
}

/* Cycle mode: every alive node gets one turn per cycle, all at the cycle's start;
 * sync keeps index order (deliveries wait for the next boundary), async shuffles
 * the order and delivers at once, as PeerSim's cycle-driven engine does. */
static int schedule_cycle(struct sim *s, uint64_t t) {
  const struct sim_proto_ops *ops = sim__ops(s);
  if (t && ops->cycle_end) ops->cycle_end(s); /* before this boundary's deliveries */
  uint32_t *ord = malloc((size_t)s->n * sizeof *ord);
  if (!ord) return MOMEDO_E_NOMEM;
  for (uint32_t i = 0; i < s->n; i++) ord[i] = i;
  if (s->scn->cycle_async) sim_rng_shuffle_u32(&s->rng_proto, ord, s->n);
  int rc = 0;
  for (uint32_t i = 0; i < s->n && !rc; i++)
    rc = sim__schedule(s, t, SIM_EVC_ACT, SIM_EV_ACT, ord[i], 0, 0);
  free(ord);
  uint64_t next = t + sim_us(s->scn->cycle_ms);
  if (!rc && next <= s->end_us) rc = sim__schedule(s, next, SIM_EVC_FAULT, SIM_EV_CYCLE, 0, 0, 0);
  return rc;
}

static int start_schedules(struct sim *s) {
  int rc = 0;
  if (s->scn->cycle_mode) rc = sim__schedule(s, 0, SIM_EVC_FAULT, SIM_EV_CYCLE, 0, 0, 0);
  else if (s->scn->proto != SIM_PROTO_MOMEDO) {
    /* Event mode, classic: each node gossips every period from a random phase. */
    uint64_t p = sim__period_us(s);
    for (uint32_t v = 0; v < s->n && !rc; v++)
      rc = sim__schedule(s, rng_below(&s->rng_proto, p), SIM_EVC_ACT, SIM_EV_ACT, v, 0, 0);
  }
  if (!rc) rc = sim__schedule(s, 0, SIM_EVC_SAMPLE, SIM_EV_SAMPLE, 0, 0, 0);
  if (!rc) rc = sim__schedule(s, s->end_us, SIM_EVC_SAMPLE, SIM_EV_END, 0, 0, 0);
  return rc;
}

static int on_event(struct sim *s, struct sim_event *e) {
  const struct sim_proto_ops *ops = sim__ops(s);
  switch ((enum sim_ev_type)e->type) {
  case SIM_EV_DELIVER: return ops->deliver(s, e);
  case SIM_EV_SENT:
  case SIM_EV_TIMER: return ops->timer(s, e);
  case SIM_EV_ACT: {
    /* A crashed node skips its turn but keeps its place in the gossip schedule. */
    int rc = s->nodes[e->node].alive ? ops->act(s, e->node) : 0;
    if (!rc && !s->scn->cycle_mode && s->scn->proto != SIM_PROTO_MOMEDO)
      rc = sim__schedule(s, s->now_us + sim__period_us(s), SIM_EVC_ACT, SIM_EV_ACT, e->node, 0, 0);
    return rc;
  }
  case SIM_EV_CYCLE: return schedule_cycle(s, s->now_us);
  case SIM_EV_PUBLISH:
  case SIM_EV_TOMBSTONE:
  case SIM_EV_EXPIRE:
  case SIM_EV_EXPIRE_CHECK: return sim__work_event(s, e);
  case SIM_EV_SAMPLE: {
    int rc = sim__sample(s);
    uint64_t next = s->now_us + sim_us(s->scn->sample_ms);
    if (!rc && next < s->end_us) rc = sim__schedule(s, next, SIM_EVC_SAMPLE, SIM_EV_SAMPLE, 0, 0, 0);
    return rc;
  }
  case SIM_EV_END:
    s->stop = 1;
    return sim__sample(s);
  default: return sim__fault_event(s, e);
  }
}

static void drain_queue(struct sim *s) {
  struct sim_event e;
  const struct sim_proto_ops *ops = sim__ops(s);
  while (sim_queue_pop(&s->q, &e))
    if (e.type == SIM_EV_DELIVER && e.data) ops->free_payload(e.data);
}

static void sim_free(struct sim *s) {
  drain_queue(s);
  sim_queue_close(&s->q);
  const struct sim_proto_ops *ops = sim__ops(s);
  if (s->nodes) ops->free(s);
  sim__work_free(s);
  sim__net_free(s);
  sim__measure_free(s);
  free(s->nodes);
  sim_topo_free(&s->topo);
}

static int sim_setup(struct sim *s, const struct sim_scn *scn, uint64_t seed, FILE *log,
                     char *why, size_t why_cap) {
  memset(s, 0, sizeof *s);
  s->scn = scn;
  s->seed = seed;
  s->log = log;
  s->heal_us = UINT64_MAX;
  s->converge_us = -1;
  s->cur_from = UINT32_MAX;
  s->end_us = sim_us(scn->duration_ms);
  sim_queue_init(&s->q);
  rng_seed(&s->rng_topo, sim_seed_derive(seed, TAG_TOPO, 0));
  rng_seed(&s->rng_link, sim_seed_derive(seed, TAG_LINK, 0));
  rng_seed(&s->rng_work, sim_seed_derive(seed, TAG_WORK, 0));
  rng_seed(&s->rng_fault, sim_seed_derive(seed, TAG_FAULT, 0));
  rng_seed(&s->rng_proto, sim_seed_derive(seed, TAG_PROTO, 0));
  const char *env = getenv("MOMEDO_SIM_VALIDATE");
  s->validate_full = env && !strcmp(env, "full");
  env = getenv("MOMEDO_SIM_STORE");
  s->store_mem = env && !strcmp(env, "mem");
  env = getenv("MOMEDO_SIM_HOLD");
  s->sparse = scn->scoped;
  /* Classic protocols compare holdings word by word: always the bitset. */
  s->hold_maps = s->sparse || (env && !strcmp(env, "map") && scn->proto == SIM_PROTO_MOMEDO);
  s->path_len_mean = -1;
  int rc = sim_topo_build(scn, &s->rng_topo, &s->topo, why, why_cap);
  if (rc) return rc;
  s->n = s->topo.n;
  if (scn->proto == SIM_PROTO_MOMEDO && !s->topo.complete && s->n <= SIM_DIST_NODES_MAX) {
    /* Shortest paths for the graph's figures and the stretch of every delivery. */
    if (!(s->dist = malloc((size_t)s->n * s->n))) return MOMEDO_E_NOMEM;
    if ((rc = sim_topo_paths(&s->topo, s->dist, &s->path_len_mean, &s->path_len_max))) return rc;
  }
  s->nodes = calloc(s->n, sizeof *s->nodes);
  if (!s->nodes) return MOMEDO_E_NOMEM;
  for (uint32_t v = 0; v < s->n; v++) s->nodes[v].alive = 1, s->nodes[v].timer_us = UINT64_MAX;
  s->alive_count = s->n;
  if ((rc = sim__measure_init(s)) || (rc = sim__net_init(s, why, why_cap)) || (rc = sim__work_init(s)))
    return rc;
  if ((rc = sim__ops(s)->init(s, why, why_cap))) return rc;
  for (uint32_t v = 0; v < s->n && !rc; v++) rc = sim__links_bring_up(s, v);
  if (!rc) rc = sim__work_setup(s);
  if (!rc && sim__ops(s)->links_ready) rc = sim__ops(s)->links_ready(s);
  if (rc) return rc;
  if ((rc = start_schedules(s)) || (rc = sim__faults_schedule(s))) return rc;
  return 0;
}

/* A long run says where it is: simulated time, events, pending events, peak RSS and
 * CPU so far. Wall and CPU time go to the log only, never into an output file. */
static void progress(const struct sim *s, double wall_s) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) memset(&ru, 0, sizeof ru);
  double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
  fprintf(s->log, "momedo-sim: progress %.1f of %.1f simulated s, %llu events, %zu pending, "
                  "wall %.0f s, CPU %.0f s, peak RSS %ld MiB\n",
          s->now_us / 1e6, s->end_us / 1e6, (unsigned long long)s->events, s->q.n, wall_s, cpu,
          (long)(ru.ru_maxrss / 1024));
  fflush(s->log);
}

static int sim_loop(struct sim *s) {
  struct sim_event e;
  int rc = 0;
  double w0 = s->log ? os_mono_s() : 0, next_progress = SIM_PROGRESS_WALL_S;
  while (!rc && !s->stop && sim_queue_pop(&s->q, &e)) {
    s->now_us = e.time_ms;
    s->events++;
    if (s->log && !(s->events & SIM_PROGRESS_EVENTS_MASK) && os_mono_s() - w0 >= next_progress) {
      double w = os_mono_s() - w0;
      progress(s, w);
      next_progress = w + SIM_PROGRESS_WALL_S;
    }
    /* The next message's bytes were written long ago: have them on their way to the
     * cache while this event runs. */
    const struct sim_event *next = sim_queue_peek(&s->q);
    if (next && next->data)
      for (uint32_t off = 0; off < next->len && off < SIM_PREFETCH_BYTES; off += 64)
        __builtin_prefetch((const char *)next->data + off);
    rc = on_event(s, &e);
    if (!rc) sim__after_event(s);
  }
  return rc;
}

int sim_run_one(const struct sim_scn *scn, uint64_t seed, const char *out_dir, FILE *log,
                struct sim_summary *sum, char *why, size_t why_cap) {
  struct sim s;
  if (why && why_cap) why[0] = '\0';
  memset(sum, 0, sizeof *sum);
  if (log) fprintf(log, "momedo-sim: scenario %s seed %llu\n", scn->name, (unsigned long long)seed);
  double w0 = os_mono_s();
  int rc = sim_setup(&s, scn, seed, log, why, why_cap);
  double w1 = os_mono_s();
  if (!rc) rc = sim_loop(&s);
  if (!rc && scn->check_delivered && !sim__converged(&s))
    sim__fail(&s, "at the end %llu of %llu live copies are held, %llu dead copies left%s; "
              "links up form %u component(s)",
              (unsigned long long)s.live_pairs, (unsigned long long)s.want_pairs,
              (unsigned long long)s.dead_pairs, sim__transit_note(&s), sim__up_components(&s));
  double w2 = os_mono_s();
  if (!rc) {
    sim__summarise(&s, sum);
    if (out_dir) rc = sim__write_outputs(&s, sum, out_dir, why, why_cap);
  } else if (why && !why[0]) {
    reason_set(why, why_cap, "run failed at t=%.3f ms: %s (seed %llu)", s.now_us / 1000.0,
             momedo_strerror(rc), (unsigned long long)seed);
  }
  if (log && !rc) {
    double run = w2 - w1 > 1e-9 ? w2 - w1 : 1e-9;
    fprintf(log,
            "momedo-sim: %llu events in %.2f s (+%.2f s setup): %.0f events/s, "
            "simulated/wall time %.1f\n",
            (unsigned long long)s.events, run, w1 - w0, s.events / run, (s.now_us / 1e6) / run);
  }
  int failed = s.failed;
  sim_free(&s);
  if (rc) return rc;
  if (failed) {
    fprintf(log ? log : stderr, "momedo-sim: FAILED: %s\nmomedo-sim: replay with: momedo-sim <scenario> --seed %llu\n",
              sum->failure, (unsigned long long)seed);
    return MOMEDO_E_INTERNAL;
  }
  return 0;
}
