/* simulations/sim_sweep.c — --set PARAM=VALUE (one scenario line rewritten before
 * parsing, so the parser checks the result as it checks any scenario) and --sweep
 * PARAM=V1,V2,... (each value run with --runs seeds; one CSV row per value with means
 * and 95% confidence intervals of every measure, and an SVG of one measure against
 * the parameter). PARAM names a scenario line: see sim_scn_set in sim.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define TOKS_MAX 40

struct sbuf {
  char *p;
  size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) return; /* sized up front: cannot happen */
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void sb_str(struct sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* PARAM: keyword[.key], lower case, digits and '_'; VALUE: printable, no '#'. */
static int split_assign(const char *assign, char *kw, char *key, char *val, char *why, size_t why_cap) {
  const char *eq = strchr(assign, '=');
  size_t pl = eq ? (size_t)(eq - assign) : 0, vl = eq ? strlen(eq + 1) : 0;
  if (!eq || !pl || pl >= SIM_SET_PARAM_CHARS_MAX || !vl || vl >= SIM_SET_VALUE_CHARS_MAX) {
    reason_set(why, why_cap, "'%.80s': expected PARAM=VALUE (PARAM below %d, VALUE below %d characters)",
             assign, SIM_SET_PARAM_CHARS_MAX, SIM_SET_VALUE_CHARS_MAX);
    return MOMEDO_E_CONFIG;
  }
  int dots = 0;
  for (size_t i = 0; i < pl; i++) {
    char c = assign[i];
    dots += c == '.';
    if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_' || c == '.') || dots > 1 ||
        (c == '.' && (i == 0 || i + 1 == pl))) {
      reason_set(why, why_cap, "'%.*s': PARAM is KEYWORD or KEYWORD.KEY (a-z, 0-9, _)", (int)pl, assign);
      return MOMEDO_E_CONFIG;
    }
  }
  for (const char *v = eq + 1; *v; v++)
    if (!isprint((unsigned char)*v) || *v == '#' || (dots && isspace((unsigned char)*v))) {
      reason_set(why, why_cap, "'%.80s': VALUE must be printable, without '#' (and spaces, for KEYWORD.KEY)",
                 assign);
      return MOMEDO_E_CONFIG;
    }
  memcpy(kw, assign, pl);
  kw[pl] = 0;
  char *dot = strchr(kw, '.');
  key[0] = 0;
  if (dot) {
    *dot = 0;
    strcpy(key, dot + 1);
  }
  strcpy(val, eq + 1);
  return 0;
}

/* Split a line's words (before any '#') into tok; 0 words for a blank line. */
static int words(const char *line, size_t n, char *buf, char **tok) {
  size_t l = n < SIM_LINE_CHARS_MAX ? n : SIM_LINE_CHARS_MAX;
  memcpy(buf, line, l);
  buf[l] = 0;
  char *hash = strchr(buf, '#');
  if (hash) *hash = 0;
  int nt = 0;
  for (char *t = strtok(buf, " \t\r"); t && nt < TOKS_MAX; t = strtok(NULL, " \t\r")) tok[nt++] = t;
  return nt;
}

/* The new text of a matching line (or of the added one). */
static void new_line(struct sbuf *b, char **tok, int nt, const char *kw, const char *key, const char *val) {
  sb_str(b, kw);
  if (!strcmp(kw, "repl") || !key[0]) { /* "repl KEY VALUE", "KEYWORD VALUE" */
    if (key[0]) sb_str(b, " "), sb_str(b, key);
    sb_str(b, " "), sb_str(b, val), sb_str(b, "\n");
    return;
  }
  int done = 0;
  size_t kl = strlen(key);
  for (int i = 1; i < nt; i++) {
    sb_str(b, " ");
    if (!strncmp(tok[i], key, kl) && tok[i][kl] == '=') {
      sb_str(b, key), sb_str(b, "="), sb_str(b, val);
      done = 1;
    } else {
      sb_str(b, tok[i]);
    }
  }
  if (!done) sb_str(b, " "), sb_str(b, key), sb_str(b, "="), sb_str(b, val);
  sb_str(b, "\n");
}

int sim_scn_set(const char *text, const char *assign, char **out, char *why, size_t why_cap) {
  char kw[SIM_SET_PARAM_CHARS_MAX], key[SIM_SET_PARAM_CHARS_MAX], val[SIM_SET_VALUE_CHARS_MAX];
  *out = NULL;
  int rc = split_assign(assign, kw, key, val, why, why_cap);
  if (rc) return rc;
  size_t len = strlen(text);
  struct sbuf b = {.cap = len + 2 * SIM_SET_PARAM_CHARS_MAX + SIM_SET_VALUE_CHARS_MAX + 16};
  char *buf = malloc(SIM_LINE_CHARS_MAX + 1), *tok[TOKS_MAX];
  if (!(b.p = malloc(b.cap)) || !buf) {
    free(b.p);
    free(buf);
    return MOMEDO_E_NOMEM;
  }
  b.p[0] = 0;
  int found = 0, repl = !strcmp(kw, "repl");
  for (const char *ln = text; *ln;) {
    const char *nl = strchr(ln, '\n');
    size_t n = nl ? (size_t)(nl - ln) : strlen(ln);
    int nt = found || n > SIM_LINE_CHARS_MAX ? 0 : words(ln, n, buf, tok);
    if (nt && !strcmp(tok[0], kw) && (!repl || (nt > 1 && !strcmp(tok[1], key)))) {
      new_line(&b, tok, nt, kw, key, val);
      found = 1;
    } else {
      sb_put(&b, ln, n), sb_str(&b, "\n");
    }
    ln += n + (nl != NULL);
  }
  if (!found) new_line(&b, tok, 0, kw, key, val);
  free(buf);
  *out = b.p;
  return 0;
}

/* ---- sweeps ---------------------------------------------------------------------------- */

/* x of a value: a number, else a time in ms, else NAN (categorical). */
static double x_of(const char *v) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!errno && end != v && !*end && isfinite(x)) return x;
  uint64_t ms;
  return sim_parse_duration(v, &ms) == 0 ? (double)ms : NAN;
}

struct sweep_row {
  char value[SIM_SET_VALUE_CHARS_MAX];
  double x;
  uint32_t failed;
  struct sim_agg agg[SIM_METRICS_MAX];
};

static int run_value(const struct sim_scn_text *t, const char *param, struct sweep_row *r,
                     const struct sim_opts *o, char *why, size_t why_cap) {
  char assign[SIM_SET_PARAM_CHARS_MAX + SIM_SET_VALUE_CHARS_MAX + 2], *text = NULL;
  snprintf(assign, sizeof assign, "%s=%s", param, r->value);
  struct sim_scn *scn = NULL;
  int rc = sim_scn_set(t->text, assign, &text, why, why_cap);
  if (!rc && (rc = sim_scn_parse(text, strlen(text), t->name, t->dir, &scn, why, why_cap))) {
    char inner[REASON_MAX];
    snprintf(inner, sizeof inner, "%s", why ? why : "");
    reason_set(why, why_cap, "with %.60s: %.180s", assign, inner);
  }
  free(text);
  if (rc) return rc;
  uint32_t k = o->runs ? o->runs : 1;
  struct sim_summary *sums = calloc(k, sizeof *sums);
  struct sim_opts one = *o;
  one.out_dir = NULL;
  if (!sums) rc = MOMEDO_E_NOMEM;
  else rc = sim_run_all(scn, &one, sums, why, why_cap);
  if (rc == MOMEDO_E_INTERNAL) rc = 0; /* a failed check: counted, the sweep goes on */
  for (uint32_t i = 0; !rc && i < k; i++) r->failed += sums[i].failed != 0;
  for (uint32_t m = 0; !rc && m < sim_metric_count(); m++) r->agg[m] = sim_metric_agg(sums, k, m);
  free(sums);
  sim_scn_free(scn);
  return rc;
}

static void sweep_csv(FILE *f, const char *param, const struct sweep_row *rows, uint32_t n, uint32_t runs) {
  fprintf(f, "param,value,x,runs,failed_runs");
  for (uint32_t m = 0; m < sim_metric_count(); m++) {
    const char *nm = sim_metric_name(m);
    fprintf(f, ",%s_mean,%s_ci95_low,%s_ci95_high", nm, nm, nm);
  }
  fputc('\n', f);
  for (uint32_t i = 0; i < n; i++) {
    fprintf(f, "%s,%s,", param, rows[i].value);
    if (isfinite(rows[i].x)) fprintf(f, "%.6g", rows[i].x);
    fprintf(f, ",%u,%u", runs, rows[i].failed);
    for (uint32_t m = 0; m < sim_metric_count(); m++) {
      const struct sim_agg *a = &rows[i].agg[m];
      double ci = isfinite(a->ci) ? a->ci : 0;
      if (a->n) fprintf(f, ",%.6g,%.6g,%.6g", a->mean, a->mean - ci, a->mean + ci);
      else fputs(",,,", f);
    }
    fputc('\n', f);
  }
}

static int sweep_svg(const char *dir, const char *param, const struct sweep_row *rows, uint32_t n, int metric,
                     char *why, size_t why_cap) {
  double *v = malloc((size_t)4 * n * sizeof *v);
  const char **labels = malloc((size_t)n * sizeof *labels);
  if (!v || !labels) {
    free(v);
    free(labels);
    return MOMEDO_E_NOMEM;
  }
  int categorical = 0;
  for (uint32_t i = 0; i < n; i++) categorical |= !isfinite(rows[i].x);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct sim_agg *a = &rows[i].agg[metric];
    if (!a->n) continue;
    double ci = isfinite(a->ci) ? a->ci : 0;
    v[k] = categorical ? i : rows[i].x, v[n + k] = a->mean, v[2 * n + k] = a->mean - ci, v[3 * n + k] = a->mean + ci;
    labels[k++] = rows[i].value;
  }
  char title[160];
  snprintf(title, sizeof title, "%s against %s (mean, 95%% CI)", sim_metric_name((uint32_t)metric), param);
  struct sim_svg_ci p = {.x = v, .y = v + n, .lo = v + 2 * n, .hi = v + 3 * n, .n = k,
                         .labels = categorical ? labels : NULL};
  int rc = sim__svg_ci(dir, "sweep.svg", title, param, sim_metric_name((uint32_t)metric), &p, why, why_cap);
  free(v);
  free(labels);
  return rc;
}

int sim_sweep(const struct sim_scn_text *t, const char *spec, const char *plot, const struct sim_opts *o,
              char *why, size_t why_cap) {
  const char *eq = strchr(spec, '=');
  int metric = sim_metric_find(plot ? plot : "t_ave_ms");
  if (metric < 0) {
    reason_set(why, why_cap, "--plot %.40s: not a measure (see aggregate.csv)", plot);
    return MOMEDO_E_CONFIG;
  }
  if (!eq || eq == spec || (size_t)(eq - spec) >= SIM_SET_PARAM_CHARS_MAX) {
    reason_set(why, why_cap, "--sweep expects PARAM=V1,V2,...");
    return MOMEDO_E_CONFIG;
  }
  char param[SIM_SET_PARAM_CHARS_MAX];
  memcpy(param, spec, (size_t)(eq - spec));
  param[eq - spec] = 0;
  struct sweep_row *rows = calloc(SIM_SWEEP_VALUES_MAX, sizeof *rows);
  if (!rows) return MOMEDO_E_NOMEM;
  uint32_t n = 0;
  int rc = 0, failed = 0;
  for (const char *v = eq + 1; !rc;) {
    const char *comma = strchr(v, ',');
    size_t l = comma ? (size_t)(comma - v) : strlen(v);
    if (!l || l >= SIM_SET_VALUE_CHARS_MAX || n == SIM_SWEEP_VALUES_MAX) {
      reason_set(why, why_cap, "--sweep: 1..%d values, each 1..%d characters, separated by ','",
               SIM_SWEEP_VALUES_MAX, SIM_SET_VALUE_CHARS_MAX - 1);
      rc = MOMEDO_E_CONFIG;
      break;
    }
    memcpy(rows[n].value, v, l);
    rows[n].x = x_of(rows[n].value);
    if (o->log) fprintf(o->log, "momedo-sim: sweep %s=%s\n", param, rows[n].value);
    rc = run_value(t, param, &rows[n], o, why, why_cap);
    failed |= rows[n++].failed != 0;
    if (!comma) break;
    v = comma + 1;
  }
  if (!rc && !o->out_dir) sweep_csv(stdout, param, rows, n, o->runs ? o->runs : 1);
  if (!rc && o->out_dir && !(rc = sim_mkdir_p(o->out_dir, why, why_cap))) {
    FILE *f = sim_open_out(o->out_dir, "sweep.csv", why, why_cap);
    if (!f) rc = MOMEDO_E_IO;
    else
      sweep_csv(f, param, rows, n, o->runs ? o->runs : 1), rc = sim_close_out(f, "sweep.csv", why, why_cap);
    if (!rc) rc = sweep_svg(o->out_dir, param, rows, n, metric, why, why_cap);
  }
  free(rows);
  return rc ? rc : failed ? MOMEDO_E_INTERNAL : 0;
}
