/* simulations/sim_out.c — writes a run's measures into its output directory:
 * summary.json, objects.csv, nodes.csv, timeseries.csv, cdf.csv and the SVG plots.
 * Only values derived from the run go into files (no wall clock, no paths, no
 * pointers), in index order, so the bytes replay exactly. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim_int.h"

static const char *proto_name(enum sim_proto_kind p) {
  static const char *const names[] = {"momedo", "ae_push", "ae_pull", "ae_pushpull", "rumor"};
  return names[p];
}

static const char *kind_name(uint8_t k) {
  static const char *const names[] = {"bundle", "item", "tombstone"};
  return k < 3 ? names[k] : "?";
}

int sim_mkdir_p(const char *dir, char *why, size_t why_cap) {
  char buf[SIM_PATH_CHARS_MAX * 2];
  if (strlen(dir) >= sizeof buf) {
    reason_set(why, why_cap, "output path too long");
    return MOMEDO_E_INVAL;
  }
  strcpy(buf, dir);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p) continue;
    char c = *p;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
      reason_set(why, why_cap, "%.160s: cannot create: %.60s", buf, strerror(errno));
      return MOMEDO_E_IO;
    }
    if (!c) break;
    *p = c;
  }
  return 0;
}

FILE *sim_open_out(const char *dir, const char *name, char *why, size_t why_cap) {
  char path[SIM_PATH_CHARS_MAX * 2 + 64];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) reason_set(why, why_cap, "%.160s: cannot write: %.60s", path, strerror(errno));
  return f;
}

int sim_close_out(FILE *f, const char *name, char *why, size_t why_cap) {
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    reason_set(why, why_cap, "%.200s: write failed", name);
    return MOMEDO_E_IO;
  }
  return 0;
}

/* summary.json is built with cJSON and printed one top-level key per line (a nested
 * value on its line), the layout sim_report's reader and people read. */
static void js_raw(cJSON *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void js_raw(cJSON *o, const char *key, const char *fmt, ...) {
  char buf[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  cJSON_AddRawToObject(o, key, buf);
}

static void js_u64(cJSON *o, const char *key, uint64_t v) {
  js_raw(o, key, "%llu", (unsigned long long)v);
}

/* A double: null for the "undefined" markers (negative or not finite). */
void sim_json_num(cJSON *o, const char *key, double x, int neg_is_null) {
  if (!isfinite(x) || (neg_is_null && x < 0)) cJSON_AddNullToObject(o, key);
  else js_raw(o, key, "%.6g", x);
}

int sim_json_lines(const cJSON *o, FILE *f) {
  fputs("{\n", f);
  for (const cJSON *x = o ? o->child : NULL; x; x = x->next) {
    char *v = cJSON_PrintUnformatted(x);
    if (!v) return MOMEDO_E_NOMEM;
    fprintf(f, "  \"%s\": %s%s\n", x->string, v, x->next ? "," : "");
    cJSON_free(v);
  }
  fputs("}\n", f);
  return o ? 0 : MOMEDO_E_NOMEM;
}

static void summary_values(cJSON *o, const struct sim_summary *m) {
  static const char *const keys[] = {
      "bytes_per_node", "t_ave_ms", "t_p50_ms", "t_p99_ms", "t_last_ms", "t_last_max_ms",
      "rounds_last", "residue", "traffic_m", "rmr", "hops_last", "reliability", "converge_ms",
      "stored_bytes_per_node_mean", "stored_bytes_per_node_max", "transit_bytes_per_node_mean",
      "path_hops_mean", "path_stretch_mean", "delay_p50_ms", "delay_p99_ms", "path_len_mean",
      "path_len_max", "record_bytes_per_node", "custody_bytes_per_node", "lookups", "lookup_found",
      "lookup_msgs_mean", "lookup_delay_ms_mean", "record_versions"};
  const double vals[] = {
      m->bytes_per_node, m->t_ave_ms, m->t_p50_ms, m->t_p99_ms, m->t_last_ms, m->t_last_max_ms,
      m->rounds_last, m->residue, m->traffic_m, m->rmr, m->hops_last, m->reliability, m->converge_ms,
      m->stored_bytes_per_node_mean, m->stored_bytes_per_node_max, m->transit_bytes_per_node_mean,
      m->path_hops_mean, m->path_stretch_mean, m->delay_p50_ms, m->delay_p99_ms, m->path_len_mean,
      m->path_len_max, m->record_bytes_per_node, m->custody_bytes_per_node, m->lookups,
      m->lookup_found, m->lookup_msgs_mean, m->lookup_delay_ms_mean, m->record_versions};
  _Static_assert(sizeof keys / sizeof keys[0] == sizeof vals / sizeof vals[0], "one key per value");
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    /* Negative marks "undefined" for these (never for a measured quantity). */
    int neg_null = !strcmp(keys[i], "converge_ms") || !strcmp(keys[i], "path_stretch_mean") ||
                   !strncmp(keys[i], "path_len", 8) || !strncmp(keys[i], "lookup_", 7);
    sim_json_num(o, keys[i], vals[i], neg_null);
  }
}

static int summary_json(struct sim *s, const struct sim_summary *m, FILE *f) {
  const struct sim_scn *c = s->scn;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "scenario", c->name);
  js_u64(o, "seed", s->seed);
  cJSON_AddStringToObject(o, "protocol", proto_name(c->proto));
  cJSON_AddStringToObject(o, "mode", c->cycle_mode ? (c->cycle_async ? "cycle-async" : "cycle-sync")
                                                   : "event");
  if (c->proto == SIM_PROTO_MOMEDO) cJSON_AddStringToObject(o, "scope", m->scoped ? "scoped" : "flood");
  js_u64(o, "nodes", s->n);
  js_u64(o, "edges", s->topo.nedges);
  js_u64(o, "components", s->topo.components);
  js_u64(o, "degree_max", s->topo.degree_max);
  js_u64(o, "objects", m->objects);
  js_u64(o, "duration_ms", c->duration_ms);
  js_raw(o, "sim_end_ms", "%.3f", m->sim_end_ms);
  js_u64(o, "events", m->events);
  js_u64(o, "messages", m->msgs);
  js_u64(o, "bytes", m->bytes);
  js_u64(o, "messages_lost", m->msgs_lost);
  summary_values(o, m);
  if (c->proto == SIM_PROTO_MOMEDO) {
    static const char *const body[] = {"other", "push",  "recon",    "want", "grant",
                                       "ack",   "routed", "announce", "pull", "ihave",
                                       "graft", "prune"};
    _Static_assert(sizeof body / sizeof body[0] == SIM_MO_BODIES, "one name per body");
    cJSON *t = cJSON_AddObjectToObject(o, "momedo_traffic");
    for (int i = 0; t && i < SIM_MO_BODIES; i++) {
      char k[32];
      snprintf(k, sizeof k, "%s_msgs", body[i]);
      js_u64(t, k, s->mo_msgs[i]);
      snprintf(k, sizeof k, "%s_bytes", body[i]);
      js_u64(t, k, s->mo_bytes[i]);
    }
  }
  js_u64(o, "up_components", m->up_components);
  js_u64(o, "safety_violations", m->safety_violations);
  cJSON_AddBoolToObject(o, "failed", m->failed);
  cJSON_AddStringToObject(o, "failure", m->failure);
  int rc = sim_json_lines(o, f);
  cJSON_Delete(o);
  return rc;
}

static void objects_csv(struct sim *s, FILE *f) {
  fputs("obj,kind,origin,created_ms,bytes,published,dead,reached,residue,t_ave_ms,t_p50_ms,"
        "t_p99_ms,t_last_ms,hops_last,hops_max,msgs,m,rmr\n", f);
  for (uint32_t o = 0; o < s->nobjs; o++) {
    const struct sim_obj *ob = &s->objs[o];
    const struct sim_ostat *st = &s->ost[o];
    fprintf(f, "%u,%s,%u,%.3f,%u,%u,%u,%u,%.6g,%.3f,%.3f,%.3f,%.3f,%u,%u,%llu,%.6g,", o,
            kind_name(ob->kind), ob->origin, ob->created_us / 1000.0, ob->size, ob->published,
            ob->dead, st->reached, (double)(s->n - st->reached) / s->n, st->t_ave, st->t_p50,
            st->t_p99, st->t_last, st->hops_last, st->hops_max, (unsigned long long)ob->msgs, st->m);
    if (st->rmr >= 0) fprintf(f, "%.6g", st->rmr);
    fputc('\n', f);
  }
}

static void nodes_csv(struct sim *s, FILE *f) {
  static const char *const roles[] = {"node", "hub", "city", "school"};
  fputs("node,role,county,degree,msgs_sent,bytes_sent,msgs_recv,bytes_recv,store_objects,alive\n", f);
  for (uint32_t v = 0; v < s->n; v++) {
    const struct sim_node *nd = &s->nodes[v];
    fprintf(f, "%u,%s,%d,%u,%llu,%llu,%llu,%llu,%u,%u\n", v, roles[s->topo.role ? s->topo.role[v] : 0],
            s->topo.county ? (int)s->topo.county[v] : -1, sim_topo_degree(&s->topo, v),
            (unsigned long long)nd->msgs_sent, (unsigned long long)nd->bytes_sent,
            (unsigned long long)nd->msgs_recv, (unsigned long long)nd->bytes_recv, nd->have_count,
            nd->alive);
  }
}

static void series_csv(struct sim *s, FILE *f) {
  fputs("t_ms,alive,store_mean,store_min,store_max,coverage,msgs,bytes,stored_bytes_mean,"
        "stored_bytes_max,transit_bytes_mean\n", f);
  for (uint32_t i = 0; i < s->nsamples; i++) {
    const struct sim_sample *x = &s->samples[i];
    fprintf(f, "%.3f,%u,%.3f,%u,%u,%.6f,%llu,%llu,%.1f,%llu,%.1f\n", x->t_us / 1000.0, x->alive,
            x->store_mean, x->store_min, x->store_max, x->coverage, (unsigned long long)x->msgs,
            (unsigned long long)x->bytes, x->stored_mean, (unsigned long long)x->stored_max,
            x->transit_mean);
  }
}

static void cdf_csv(struct sim *s, FILE *f) {
  fputs("p,delay_ms\n", f);
  if (!s->cdf_ok) return;
  for (int p = 0; p <= 100; p++) fprintf(f, "%.2f,%.3f\n", p / 100.0, s->cdf_ms[p]);
}

int sim__write_outputs(struct sim *s, const struct sim_summary *sum, const char *dir, char *why,
                       size_t why_cap) {
  int rc = sim_mkdir_p(dir, why, why_cap);
  if (rc) return rc;
  static const char *const names[] = {"summary.json", "objects.csv", "nodes.csv", "timeseries.csv", "cdf.csv"};
  for (int i = 0; i < 5 && !rc; i++) {
    FILE *f = sim_open_out(dir, names[i], why, why_cap);
    if (!f) return MOMEDO_E_IO;
    int wrc = 0;
    switch (i) {
    case 0: wrc = summary_json(s, sum, f); break;
    case 1: if (s->ost) objects_csv(s, f); break;
    case 2: nodes_csv(s, f); break;
    case 3: series_csv(s, f); break;
    default: cdf_csv(s, f); break;
    }
    rc = sim_close_out(f, names[i], why, why_cap);
    if (!rc && wrc) rc = reason_fail(why, why_cap, wrc, "%s: out of memory", names[i]);
  }
  return rc ? rc : sim__svg_plots(s, dir, why, why_cap);
}
