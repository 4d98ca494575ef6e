/* simulations/sim_svg.c — hand-rolled SVG line plots: linear axes with "nice" ticks,
 * one polyline per series, a legend. Three plots per run: CDF of delivery delay,
 * traffic per node (sorted), convergence over time; a sweep's measure against its
 * parameter with confidence bars; log-log series (--report: bytes per node against N). Pure text output, fixed number formats, so the
 * files replay byte for byte. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define W 640
#define H 400
#define ML 70 /* margins */
#define MR 20
#define MT 40
#define MB 50
#define SERIES_MAX 3

struct series {
  const char *name;
  const double *x, *y;
  uint32_t n;
};

static const char *const colors[SERIES_MAX] = {"#1f77b4", "#d62728", "#2ca02c"};

/* A tick step of 1, 2 or 5 times a power of ten giving about 5 ticks over span. */
static double nice_step(double span) {
  if (!(span > 0)) return 1;
  double raw = span / 5, p = pow(10, floor(log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void range(const struct series *s, int ns, int use_x, double *lo, double *hi) {
  *lo = 0;
  *hi = 0;
  for (int i = 0; i < ns; i++)
    for (uint32_t k = 0; k < s[i].n; k++) {
      double v = use_x ? s[i].x[k] : s[i].y[k];
      if (v > *hi) *hi = v;
      if (v < *lo) *lo = v;
    }
  double st = nice_step(*hi - *lo);
  *hi = ceil(*hi / st) * st;
  if (*hi <= *lo) *hi = *lo + 1;
}

static double px_of(double v, double x0, double x1) { return ML + (v - x0) / (x1 - x0) * (W - ML - MR); }
static double py_of(double v, double y0, double y1) { return H - MB - (v - y0) / (y1 - y0) * (H - MT - MB); }

static void xtick(FILE *f, double px, const char *label) {
  fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
          "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
          px, MT, px, H - MB, px, H - MB + 16);
  for (const char *c = label; *c; c++) /* labels come from the command line: escape */
    if (*c == '<') fputs("&lt;", f);
    else if (*c == '>') fputs("&gt;", f);
    else if (*c == '&') fputs("&amp;", f);
    else fputc(*c, f);
  fputs("</text>\n", f);
}

/* The frame, the grid and the tick labels; labels (n of them) replace numeric x ticks
 * by one tick per category at x = 0..n-1. */
static void axes(FILE *f, double x0, double x1, double y0, double y1, const char *xl,
                 const char *yl, const char *const *labels, uint32_t n) {
  fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#000\"/>\n",
          ML, MT, W - ML - MR, H - MT - MB);
  double sx = nice_step(x1 - x0), sy = nice_step(y1 - y0);
  char num[32];
  for (uint32_t i = 0; labels && i < n; i++) xtick(f, px_of(i, x0, x1), labels[i]);
  for (double v = x0; !labels && v <= x1 + sx / 1000; v += sx) {
    snprintf(num, sizeof num, "%g", v);
    xtick(f, px_of(v, x0, x1), num);
  }
  for (double v = y0; v <= y1 + sy / 1000; v += sy) {
    double py = py_of(v, y0, y1);
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
            "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            ML, py, W - MR, py, ML - 6, py + 4, v);
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (W + ML - MR) / 2, H - 12, xl);
  fprintf(f, "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">%s</text>\n",
          (H + MT - MB) / 2, (H + MT - MB) / 2, yl);
}

static void svg_head(FILE *f, const char *title) {
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n", W, H);
  fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", W / 2, title);
}

static int plot(const char *dir, const char *file, const char *title, const char *xl, const char *yl,
                const struct series *s, int ns, double ymax_fixed, char *why, size_t why_cap) {
  FILE *f = sim_open_out(dir, file, why, why_cap);
  if (!f) return MOMEDO_E_IO;
  double x0, x1, y0, y1;
  range(s, ns, 1, &x0, &x1);
  range(s, ns, 0, &y0, &y1);
  if (ymax_fixed > 0) y0 = 0, y1 = ymax_fixed;
  svg_head(f, title);
  axes(f, x0, x1, y0, y1, xl, yl, NULL, 0);
  for (int i = 0; i < ns; i++) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colors[i]);
    for (uint32_t k = 0; k < s[i].n; k++)
      fprintf(f, "%s%.1f,%.1f", k ? " " : "", px_of(s[i].x[k], x0, x1), py_of(s[i].y[k], y0, y1));
    fputs("\"/>\n", f);
    fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", ML + 10, MT + 16 + 16 * i, colors[i], s[i].name);
  }
  fputs("</svg>\n", f);
  return sim_close_out(f, file, why, why_cap);
}

int sim__svg_ci(const char *dir, const char *file, const char *title, const char *xl, const char *yl,
                const struct sim_svg_ci *p, char *why, size_t why_cap) {
  FILE *f = sim_open_out(dir, file, why, why_cap);
  if (!f) return MOMEDO_E_IO;
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  struct series sx = {"", p->x, p->x, p->n}, slo = {"", p->x, p->lo, p->n}, shi = {"", p->x, p->hi, p->n};
  if (p->labels) x0 = -0.5, x1 = p->n - 0.5;
  else range(&sx, 1, 1, &x0, &x1), x1 += nice_step(x1 - x0) / 2; /* no point on the frame */
  range(&slo, 1, 0, &y0, &y1);
  double lo2, hi2;
  range(&shi, 1, 0, &lo2, &hi2);
  if (hi2 > y1) y1 = hi2;
  svg_head(f, title);
  axes(f, x0, x1, y0, y1, xl, yl, p->labels, p->n);
  fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colors[0]);
  for (uint32_t k = 0; k < p->n; k++)
    fprintf(f, "%s%.1f,%.1f", k ? " " : "", px_of(p->x[k], x0, x1), py_of(p->y[k], y0, y1));
  fputs("\"/>\n", f);
  for (uint32_t k = 0; k < p->n; k++) {
    double px = px_of(p->x[k], x0, x1), lo = py_of(p->lo[k], y0, y1), hi = py_of(p->hi[k], y0, y1);
    fprintf(f, "<path d=\"M%.1f,%.1fV%.1fM%.1f,%.1fH%.1fM%.1f,%.1fH%.1f\" stroke=\"%s\"/>"
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
            px, lo, hi, px - 4, lo, px + 4, px - 4, hi, px + 4, colors[0], px, py_of(p->y[k], y0, y1), colors[0]);
  }
  fputs("</svg>\n", f);
  return sim_close_out(f, file, why, why_cap);
}

/* Decades of a log axis covering the positive values of v (lo, hi powers of ten). */
static void log_range(const struct sim_svg_series *s, uint32_t ns, int use_x, double *lo, double *hi) {
  double a = INFINITY, b = 0;
  for (uint32_t i = 0; i < ns; i++)
    for (uint32_t k = 0; k < s[i].n; k++) {
      double v = use_x ? s[i].x[k] : s[i].y[k];
      if (v > 0 && v < a) a = v;
      if (v > b) b = v;
    }
  if (!(b > 0)) a = 1, b = 10;
  *lo = pow(10, floor(log10(a)));
  *hi = pow(10, ceil(log10(b)));
  if (*hi <= *lo) *hi = *lo * 10;
}

static double lpx(double v, double lo, double hi) { return px_of(log10(v), log10(lo), log10(hi)); }
static double lpy(double v, double lo, double hi) { return py_of(log10(v), log10(lo), log10(hi)); }

/* Grid lines at 1, 2 and 5 times each power of ten, labelled. */
static void log_axes(FILE *f, double x0, double x1, double y0, double y1, const char *xl, const char *yl) {
  static const double steps[] = {1, 2, 5};
  char num[32];
  fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#000\"/>\n",
          ML, MT, W - ML - MR, H - MT - MB);
  for (double d = x0; d < x1 * 1.001; d *= 10)
    for (int i = 0; i < 3 && d * steps[i] <= x1 * 1.001; i++) {
      snprintf(num, sizeof num, "%g", d * steps[i]);
      xtick(f, lpx(d * steps[i], x0, x1), num);
    }
  for (double d = y0; d < y1 * 1.001; d *= 10)
    for (int i = 0; i < 3 && d * steps[i] <= y1 * 1.001; i++) {
      double py = lpy(d * steps[i], y0, y1);
      fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
              "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
              ML, py, W - MR, py, ML - 6, py + 4, d * steps[i]);
    }
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (W + ML - MR) / 2, H - 12, xl);
  fprintf(f, "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">%s</text>\n",
          (H + MT - MB) / 2, (H + MT - MB) / 2, yl);
}

int sim__svg_loglog(const char *dir, const char *file, const char *title, const char *xl, const char *yl,
                    const struct sim_svg_series *s, uint32_t ns, char *why,
                    size_t why_cap) {
  FILE *f = sim_open_out(dir, file, why, why_cap);
  if (!f) return MOMEDO_E_IO;
  double x0, x1, y0, y1;
  log_range(s, ns, 1, &x0, &x1);
  log_range(s, ns, 0, &y0, &y1);
  svg_head(f, title);
  log_axes(f, x0, x1, y0, y1, xl, yl);
  for (uint32_t i = 0; i < ns; i++) {
    const char *c = colors[s[i].color % SERIES_MAX], *dash = s[i].dashed ? " stroke-dasharray=\"6 4\"" : "";
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", c, dash);
    for (uint32_t k = 0, first = 1; k < s[i].n; k++)
      if (s[i].x[k] > 0 && s[i].y[k] > 0)
        fprintf(f, "%s%.1f,%.1f", first ? "" : " ", lpx(s[i].x[k], x0, x1), lpy(s[i].y[k], y0, y1)), first = 0;
    fputs("\"/>\n", f);
    for (uint32_t k = 0; k < s[i].n; k++)
      if (s[i].x[k] > 0 && s[i].y[k] > 0)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", lpx(s[i].x[k], x0, x1),
                lpy(s[i].y[k], y0, y1), c);
    fprintf(f, "<line x1=\"%d\" y1=\"%u\" x2=\"%d\" y2=\"%u\" stroke=\"%s\" stroke-width=\"1.5\"%s/>"
            "<text x=\"%d\" y=\"%u\" fill=\"%s\">%s</text>\n",
            ML + 10, MT + 12 + 16 * i, ML + 34, MT + 12 + 16 * i, c, dash, ML + 40, MT + 16 + 16 * i, c, s[i].name);
  }
  fputs("</svg>\n", f);
  return sim_close_out(f, file, why, why_cap);
}

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

int sim__svg_plots(struct sim *s, const char *dir, char *why, size_t why_cap) {
  uint32_t n = s->n, ns = s->nsamples;
  double *buf = malloc(((size_t)2 * n + 4 * ns + 2 * 101 + 4) * sizeof *buf);
  if (!buf) return MOMEDO_E_NOMEM;
  double *rank = buf, *traffic = buf + n, *t = traffic + n, *cov = t + ns, *st = cov + ns,
         *stmax = st + ns, *cx = stmax + ns, *cy = cx + 101;
  int rc = 0;
  uint32_t nc = s->cdf_ok ? 101 : 0;
  for (uint32_t p = 0; p < nc; p++) cx[p] = s->cdf_ms[p], cy[p] = p / 100.0;
  struct series cdf = {"all objects, all nodes", cx, cy, nc};
  rc = plot(dir, "cdf.svg", "Delivery delay (CDF)", "delay after publication [ms]",
            "fraction of deliveries", &cdf, 1, 1.0, why, why_cap);
  for (uint32_t v = 0; v < n; v++) rank[v] = v, traffic[v] = (double)s->nodes[v].bytes_sent / 1024.0;
  qsort(traffic, n, sizeof *traffic, cmp_desc);
  struct series tr = {"bytes sent per node, sorted", rank, traffic, n};
  if (!rc)
    rc = plot(dir, "traffic.svg", "Traffic per node", "node rank", "KiB sent", &tr, 1, 0, why, why_cap);
  double maxs = 1;
  for (uint32_t i = 0; i < ns; i++)
    if (s->samples[i].store_max > maxs) maxs = s->samples[i].store_max;
  for (uint32_t i = 0; i < ns; i++) {
    t[i] = s->samples[i].t_us / 1000.0;
    cov[i] = s->samples[i].coverage;
    st[i] = s->samples[i].store_mean / maxs;
    stmax[i] = s->samples[i].store_max / maxs;
  }
  struct series conv[3] = {{"coverage: live copies held / wanted", t, cov, ns},
                           {"mean store size / max", t, st, ns},
                           {"max store size / max", t, stmax, ns}};
  if (!rc)
    rc = plot(dir, "convergence.svg", "Convergence over time", "time [ms]", "fraction", conv, 3, 1.0, why,
              why_cap);
  free(buf);
  return rc;
}
