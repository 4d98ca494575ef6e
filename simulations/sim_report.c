/* simulations/sim_report.c — --report DIR: the figures of a series of runs side by
 * side. Reads DIR/<run>/summary.json (cJSON; its top-level numbers and the scenario and
 * scope) and, if present, DIR/<run>/time.txt ("WALL_S MAXRSS_KIB
 * [USER_CPU_S]", what `/usr/bin/time -f "%e %M %U"` prints), and writes DIR/report.csv, DIR/bytes.svg (bytes
 * per node sent and held against N, per delivery mode, log-log) and a Markdown table. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define REPORT_RUNS_MAX 256u
#define REPORT_KEYS_MAX 64u
#define REPORT_KEY_CHARS 48
#define REPORT_FILE_BYTES_MAX (1u << 20) /* summary.json is a few KiB */

struct run {
  char dir[SIM_NAME_CHARS_MAX * 2];
  char scenario[SIM_NAME_CHARS_MAX], scope[16];
  uint32_t nkeys;
  char key[REPORT_KEYS_MAX][REPORT_KEY_CHARS];
  double val[REPORT_KEYS_MAX];
  double wall_s, rss_mib, cpu_s; /* -1 unknown */
};

static double get(const struct run *r, const char *key) {
  for (uint32_t i = 0; i < r->nkeys; i++)
    if (!strcmp(r->key[i], key)) return r->val[i];
  return NAN;
}

/* One summary.json (cJSON): every top-level number, and the scenario and scope strings.
 * A file over REPORT_FILE_BYTES_MAX, or not a JSON object, is corrupt. */
static int read_summary(const char *path, struct run *r) {
  FILE *f = fopen(path, "rb");
  if (!f) return MOMEDO_E_NOTFOUND;
  char *text = malloc(REPORT_FILE_BYTES_MAX + 1);
  size_t n = text ? fread(text, 1, REPORT_FILE_BYTES_MAX + 1, f) : 0;
  int bad = !text || ferror(f) || n > REPORT_FILE_BYTES_MAX;
  fclose(f);
  cJSON *o = NULL;
  if (!bad) {
    text[n] = '\0';
    o = cJSON_ParseWithLength(text, n);
    bad = !cJSON_IsObject(o);
  }
  free(text);
  snprintf(r->scope, sizeof r->scope, "flood"); /* summaries from before scoped delivery */
  for (const cJSON *x = bad ? NULL : o->child; x; x = x->next) {
    if (cJSON_IsString(x) && !strcmp(x->string, "scenario"))
      snprintf(r->scenario, sizeof r->scenario, "%s", x->valuestring);
    else if (cJSON_IsString(x) && !strcmp(x->string, "scope"))
      snprintf(r->scope, sizeof r->scope, "%.15s", x->valuestring);
    else if (cJSON_IsNumber(x) && r->nkeys < REPORT_KEYS_MAX &&
             strlen(x->string) < REPORT_KEY_CHARS) {
      snprintf(r->key[r->nkeys], REPORT_KEY_CHARS, "%s", x->string);
      r->val[r->nkeys++] = x->valuedouble;
    }
  }
  cJSON_Delete(o);
  return bad || isnan(get(r, "nodes")) ? MOMEDO_E_CORRUPT : 0;
}

static void read_time(const char *path, struct run *r) {
  FILE *f = fopen(path, "r");
  double w, kib, cpu;
  r->wall_s = r->rss_mib = r->cpu_s = -1;
  if (!f) return;
  int k = fscanf(f, "%lf %lf %lf", &w, &kib, &cpu);
  if (k >= 2) r->wall_s = w, r->rss_mib = kib / 1024;
  if (k == 3) r->cpu_s = cpu;
  fclose(f);
}

static int cmp_run(const void *a, const void *b) {
  const struct run *x = a, *y = b;
  int c = strcmp(x->scope, y->scope);
  if (c) return c;
  double nx = get(x, "nodes"), ny = get(y, "nodes");
  if (nx != ny) return nx < ny ? -1 : 1;
  return strcmp(x->dir, y->dir);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The runs under dir, sorted by mode and size. */
static int load(const char *dir, struct run **out, uint32_t *n, char *why, size_t why_cap) {
  DIR *d = opendir(dir);
  if (!d) {
    reason_set(why, why_cap, "%.200s: cannot open", dir);
    return MOMEDO_E_IO;
  }
  char *names[REPORT_RUNS_MAX];
  uint32_t k = 0;
  struct dirent *e;
  while ((e = readdir(d)) && k < REPORT_RUNS_MAX)
    if (e->d_name[0] != '.' && strlen(e->d_name) < SIM_NAME_CHARS_MAX * 2) names[k++] = strdup(e->d_name);
  closedir(d);
  qsort(names, k, sizeof *names, cmp_name);
  struct run *runs = calloc(k + 1, sizeof *runs);
  uint32_t m = 0;
  char path[SIM_PATH_CHARS_MAX * 3];
  for (uint32_t i = 0; i < k; i++) {
    if (runs && names[i]) {
      struct run *r = &runs[m];
      snprintf(r->dir, sizeof r->dir, "%s", names[i]);
      snprintf(path, sizeof path, "%s/%s/summary.json", dir, names[i]);
      if (read_summary(path, r) == 0) {
        snprintf(path, sizeof path, "%s/%s/time.txt", dir, names[i]);
        read_time(path, r);
        m++;
      } else {
        memset(r, 0, sizeof *r);
      }
    }
    free(names[i]);
  }
  if (!runs) return MOMEDO_E_NOMEM;
  if (!m) {
    free(runs);
    reason_set(why, why_cap, "%.200s: no run directory with a summary.json", dir);
    return MOMEDO_E_NOTFOUND;
  }
  qsort(runs, m, sizeof *runs, cmp_run);
  *out = runs;
  *n = m;
  return 0;
}

/* The columns of report.csv and of the table, by summary key. */
static const struct {
  const char *key, *head;
  double scale; /* shown value = value / scale */
  int digits;
} cols[] = {
    {"nodes", "nodes", 1, 0},
    {"objects", "objects", 1, 0},
    {"bytes_per_node", "sent KiB/node", 1024, 1},
    {"stored_bytes_per_node_mean", "held KiB/node", 1024, 1},
    {"stored_bytes_per_node_max", "held KiB max", 1024, 1},
    {"transit_bytes_per_node_mean", "transit KiB/node", 1024, 2},
    {"path_len_mean", "graph path", 1, 2},
    {"path_hops_mean", "hops", 1, 2},
    {"path_stretch_mean", "stretch", 1, 2},
    {"delay_p50_ms", "p50 ms", 1, 0},
    {"delay_p99_ms", "p99 ms", 1, 0},
    {"reliability", "reliability", 1, 4},
    {"record_bytes_per_node", "record KiB/node", 1024, 1},
    {"record_versions", "record versions", 1, 0},
    {"custody_bytes_per_node", "custody KiB/node", 1024, 1},
    {"lookup_msgs_mean", "msgs/lookup", 1, 1},
    {"lookup_found", "found", 1, 3},
    {"lookup_delay_ms_mean", "lookup ms", 1, 0},
};
#define NCOLS (sizeof cols / sizeof cols[0])

static void write_csv(FILE *f, const struct run *runs, uint32_t n) {
  fputs("run,scenario,scope", f);
  for (size_t c = 0; c < NCOLS; c++) fprintf(f, ",%s", cols[c].key);
  fputs(",wall_s,cpu_s,rss_mib\n", f);
  for (uint32_t i = 0; i < n; i++) {
    fprintf(f, "%s,%s,%s", runs[i].dir, runs[i].scenario, runs[i].scope);
    for (size_t c = 0; c < NCOLS; c++) {
      double v = get(&runs[i], cols[c].key);
      if (isnan(v)) fputc(',', f);
      else fprintf(f, ",%.6g", v);
    }
    fprintf(f, ",%.1f,%.1f,%.0f\n", runs[i].wall_s, runs[i].cpu_s, runs[i].rss_mib);
  }
}

static void write_md(FILE *f, const struct run *runs, uint32_t n) {
  fputs("| mode", f);
  for (size_t c = 0; c < NCOLS; c++) fprintf(f, " | %s", cols[c].head);
  fputs(" | wall s | CPU s | RSS MiB |\n|---", f);
  for (size_t c = 0; c < NCOLS + 3; c++) fputs("|---", f);
  fputs("|\n", f);
  for (uint32_t i = 0; i < n; i++) {
    fprintf(f, "| %s", runs[i].scope);
    for (size_t c = 0; c < NCOLS; c++) {
      double v = get(&runs[i], cols[c].key);
      if (isnan(v) || v < 0) fputs(" | –", f);
      else fprintf(f, " | %.*f", cols[c].digits, v / cols[c].scale);
    }
    if (runs[i].wall_s >= 0) fprintf(f, " | %.1f | %.1f | %.0f |\n", runs[i].wall_s, runs[i].cpu_s, runs[i].rss_mib);
    else fputs(" | – | – | – |\n", f);
  }
}

/* bytes.svg: per mode, bytes sent per node and bytes held per node against N; for scoped
 * runs also the bytes sent without node records (what objects and custody cost). */
static int write_svg(const char *dir, const struct run *runs, uint32_t n, char *why,
                     size_t why_cap) {
  static const char *const modes[2] = {"flood", "scoped"};
  static const char *const names[2][2] = {{"flood: KiB sent per node", "flood: KiB held per node"},
                                          {"scoped: KiB sent per node", "scoped: KiB held per node"}};
  double *buf = malloc(((size_t)8 * n + 1) * sizeof *buf);
  if (!buf) return MOMEDO_E_NOMEM;
  struct sim_svg_series s[5];
  uint32_t ns = 0;
  for (int m = 0; m < 2; m++) {
    double *x = buf + (size_t)4 * n * m, *sent = x + n, *held = sent + n, *norec = held + n;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (strcmp(runs[i].scope, modes[m])) continue;
      double rec = get(&runs[i], "record_bytes_per_node");
      x[k] = get(&runs[i], "nodes");
      sent[k] = get(&runs[i], "bytes_per_node") / 1024;
      held[k] = get(&runs[i], "stored_bytes_per_node_mean") / 1024;
      norec[k] = sent[k] - (isnan(rec) ? 0 : rec / 1024);
      k++;
    }
    if (!k) continue;
    s[ns++] = (struct sim_svg_series){names[m][0], x, sent, k, m, 0};
    s[ns++] = (struct sim_svg_series){names[m][1], x, held, k, m, 1};
    if (m == 1) s[ns++] = (struct sim_svg_series){"scoped: KiB sent, node records left out", x, norec, k, 2, 0};
  }
  int rc = sim__svg_loglog(dir, "bytes.svg", "Bytes per node against federation size", "nodes (N)",
                           "KiB per node", s, ns, why, why_cap);
  free(buf);
  return rc;
}

int sim_report(const char *dir, FILE *md, char *why, size_t why_cap) {
  struct run *runs;
  uint32_t n;
  int rc = load(dir, &runs, &n, why, why_cap);
  if (rc) return rc;
  FILE *f = sim_open_out(dir, "report.csv", why, why_cap);
  if (!f) rc = MOMEDO_E_IO;
  else {
    write_csv(f, runs, n);
    rc = sim_close_out(f, "report.csv", why, why_cap);
  }
  if (!rc) rc = write_svg(dir, runs, n, why, why_cap);
  if (!rc && md) write_md(md, runs, n);
  free(runs);
  return rc;
}
