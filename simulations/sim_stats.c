/* simulations/sim_stats.c — --runs K: the same scenario with seeds seed, seed+1, ...,
 * and the mean, standard deviation and 95% confidence interval (Student's t) of each
 * headline measure, written to aggregate.json and aggregate.csv. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* Two-sided 95% quantiles of Student's t for df = 1..30; beyond, the normal 1.96
 * is within 2% (df >= 30: t = 2.04 .. 1.96). */
static double t975(uint32_t df) {
  static const double t[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) return NAN;
  return df <= 30 ? t[df - 1] : df <= 60 ? 2.00 : 1.96;
}

struct metric {
  const char *name;
  size_t off;
  int is_u64;
  int neg_undefined; /* negative values mean "undefined" and are left out */
};

#define M_D(f) {#f, offsetof(struct sim_summary, f), 0, 0}
#define M_U(f) {#f, offsetof(struct sim_summary, f), 1, 0}
static const struct metric metrics[] = {
    M_U(msgs),       M_U(bytes),       M_U(msgs_lost),   M_D(bytes_per_node), M_D(t_ave_ms),
    M_D(t_p50_ms),   M_D(t_p99_ms),    M_D(t_last_ms),   M_D(t_last_max_ms),  M_D(rounds_last),
    M_D(residue),    M_D(traffic_m),   M_D(rmr),         M_D(hops_last),      M_D(reliability),
    {"converge_ms", offsetof(struct sim_summary, converge_ms), 0, 1},          M_U(events),
    M_D(stored_bytes_per_node_mean), M_D(stored_bytes_per_node_max), M_D(transit_bytes_per_node_mean),
    M_D(path_hops_mean), {"path_stretch_mean", offsetof(struct sim_summary, path_stretch_mean), 0, 1},
    M_D(delay_p50_ms), M_D(delay_p99_ms),
    {"path_len_mean", offsetof(struct sim_summary, path_len_mean), 0, 1},
    {"path_len_max", offsetof(struct sim_summary, path_len_max), 0, 1},
    M_D(record_bytes_per_node), M_D(custody_bytes_per_node), M_D(lookups),
    {"lookup_found", offsetof(struct sim_summary, lookup_found), 0, 1},
    {"lookup_msgs_mean", offsetof(struct sim_summary, lookup_msgs_mean), 0, 1},
    {"lookup_delay_ms_mean", offsetof(struct sim_summary, lookup_delay_ms_mean), 0, 1},
    M_D(record_versions),
};

#define NMETRICS (sizeof metrics / sizeof metrics[0])
_Static_assert(NMETRICS <= SIM_METRICS_MAX, "raise SIM_METRICS_MAX");

uint32_t sim_metric_count(void) { return (uint32_t)NMETRICS; }

const char *sim_metric_name(uint32_t i) { return i < NMETRICS ? metrics[i].name : NULL; }

int sim_metric_find(const char *name) {
  for (uint32_t i = 0; i < NMETRICS; i++)
    if (!strcmp(metrics[i].name, name)) return (int)i;
  return -1;
}

static double get(const struct sim_summary *s, const struct metric *m) {
  const char *p = (const char *)s + m->off;
  if (m->is_u64) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return (double)v;
  }
  double d;
  memcpy(&d, p, sizeof d);
  return d;
}

static struct sim_agg aggregate(const struct sim_summary *s, uint32_t k, const struct metric *m) {
  struct sim_agg a = {0};
  for (uint32_t i = 0; i < k; i++) {
    double v = get(&s[i], m);
    if (m->neg_undefined && v < 0) continue;
    a.n++;
    a.mean += v;
  }
  if (!a.n) return a;
  a.mean /= a.n;
  double ss = 0;
  for (uint32_t i = 0; i < k; i++) {
    double v = get(&s[i], m);
    if (m->neg_undefined && v < 0) continue;
    ss += (v - a.mean) * (v - a.mean);
  }
  a.sd = a.n > 1 ? sqrt(ss / (a.n - 1)) : 0;
  a.ci = a.n > 1 ? t975(a.n - 1) * a.sd / sqrt((double)a.n) : NAN;
  return a;
}

struct sim_agg sim_metric_agg(const struct sim_summary *s, uint32_t k, uint32_t i) {
  struct sim_agg none = {0};
  return i < NMETRICS ? aggregate(s, k, &metrics[i]) : none;
}

struct sim_agg sim_agg_of(const double *v, uint32_t k) {
  struct sim_agg a = {0};
  for (uint32_t i = 0; i < k; i++)
    if (isfinite(v[i])) a.n++, a.mean += v[i];
  if (!a.n) return a;
  a.mean /= a.n;
  double ss = 0;
  for (uint32_t i = 0; i < k; i++)
    if (isfinite(v[i])) ss += (v[i] - a.mean) * (v[i] - a.mean);
  a.sd = a.n > 1 ? sqrt(ss / (a.n - 1)) : 0;
  a.ci = a.n > 1 ? t975(a.n - 1) * a.sd / sqrt((double)a.n) : NAN;
  return a;
}

/* agg[i], the statistics of measure i over the k runs, as cJSON: {"n", "mean", "sd", "ci95"}. */
static cJSON *aggregate_json(const struct sim_scn *scn, const struct sim_summary *s, uint32_t k,
                             const struct sim_agg agg[static NMETRICS]) {
  uint32_t failed = 0;
  char seed[24]; /* as text: a seed may exceed a double's 2^53 */
  for (uint32_t i = 0; i < k; i++) failed += s[i].failed != 0;
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)s[0].seed);
  cJSON *o = cJSON_CreateObject();
  int ok = o && cJSON_AddStringToObject(o, "scenario", scn->name) &&
           cJSON_AddNumberToObject(o, "runs", k) && cJSON_AddRawToObject(o, "first_seed", seed) &&
           cJSON_AddNumberToObject(o, "failed_runs", failed) &&
           cJSON_AddNumberToObject(o, "confidence", 0.95);
  for (size_t i = 0; ok && i < NMETRICS; i++) {
    struct sim_agg a = agg[i];
    cJSON *m = cJSON_AddObjectToObject(o, metrics[i].name);
    ok = m && cJSON_AddNumberToObject(m, "n", a.n);
    if (ok) {
      sim_json_num(m, "mean", a.n ? a.mean : NAN, 0);
      sim_json_num(m, "sd", a.n ? a.sd : NAN, 0);
      sim_json_num(m, "ci95", a.ci, 0);
      ok = cJSON_GetArraySize(m) == 4;
    }
  }
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static int write_aggregate(const struct sim_scn *scn, const struct sim_summary *s, uint32_t k,
                           const char *dir, char *why, size_t why_cap) {
  struct sim_agg agg[NMETRICS];
  for (size_t i = 0; i < NMETRICS; i++) agg[i] = aggregate(s, k, &metrics[i]);
  cJSON *o = aggregate_json(scn, s, k, agg);
  if (!o) {
    reason_set(why, why_cap, "aggregate.json: out of memory");
    return MOMEDO_E_NOMEM;
  }
  FILE *j = sim_open_out(dir, "aggregate.json", why, why_cap),
       *c = j ? sim_open_out(dir, "aggregate.csv", why, why_cap) : NULL;
  if (!c) {
    if (j) fclose(j);
    cJSON_Delete(o);
    return MOMEDO_E_IO;
  }
  int rc0 = sim_json_lines(o, j);
  cJSON_Delete(o);
  fputs("metric,n,mean,sd,ci95_low,ci95_high\n", c);
  for (size_t i = 0; i < NMETRICS; i++) {
    struct sim_agg a = agg[i];
    if (a.n) fprintf(c, "%s,%u,%.6g,%.6g,%.6g,%.6g\n", metrics[i].name, a.n, a.mean, a.sd,
                     isfinite(a.ci) ? a.mean - a.ci : a.mean, isfinite(a.ci) ? a.mean + a.ci : a.mean);
    else fprintf(c, "%s,0,,,,\n", metrics[i].name);
  }
  int rc = sim_close_out(j, "aggregate.json", why, why_cap);
  int rc2 = sim_close_out(c, "aggregate.csv", why, why_cap);
  return rc0 ? rc0 : rc ? rc : rc2;
}

int sim_run_all(const struct sim_scn *scn, const struct sim_opts *o, struct sim_summary *sums,
                char *why, size_t why_cap) {
  uint32_t k = o->runs ? o->runs : 1;
  uint64_t seed = o->seed_set ? o->seed : scn->seed;
  if (k > SIM_RUNS_MAX) {
    reason_set(why, why_cap, "--runs must be 1..%u", SIM_RUNS_MAX);
    return MOMEDO_E_INVAL;
  }
  struct sim_summary *all = calloc(k, sizeof *all);
  if (!all) return MOMEDO_E_NOMEM;
  int rc = 0, failed = 0;
  for (uint32_t i = 0; i < k; i++) {
    char dir[SIM_PATH_CHARS_MAX * 2];
    const char *d = o->out_dir;
    if (d && k > 1) {
      snprintf(dir, sizeof dir, "%s/run_%llu", o->out_dir, (unsigned long long)(seed + i));
      d = dir;
    }
    rc = sim_run_one(scn, seed + i, d, o->log, &all[i], why, why_cap);
    if (rc == MOMEDO_E_INTERNAL && all[i].failed) failed = 1, rc = 0;
    if (rc) break;
  }
  if (!rc && k > 1 && o->out_dir) rc = write_aggregate(scn, all, k, o->out_dir, why, why_cap);
  if (!rc && k > 1 && o->log) {
    fprintf(o->log, "momedo-sim: %u runs, seeds %llu..%llu:\n", k, (unsigned long long)seed,
            (unsigned long long)(seed + k - 1));
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
      struct sim_agg a = aggregate(all, k, &metrics[i]);
      if (a.n) fprintf(o->log, "  %-16s %14.6g  +- %.3g (95%% CI, n=%u)\n", metrics[i].name, a.mean, a.ci, a.n);
    }
  }
  if (sums) memcpy(sums, all, k * sizeof *all);
  free(all);
  if (rc) return rc;
  return failed ? MOMEDO_E_INTERNAL : 0;
}
