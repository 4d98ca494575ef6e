/* simulations/sim_scn.c — scenario parser: one `keyword args... key=value...` per
 * line, '#' starts a comment. Every value is range-checked here, so the runner can
 * trust the struct. Dispatch is a table of keywords. No randomness, no I/O beyond
 * reading the one scenario file. */
#include "sim_scn.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_MAX 40

struct line {
  char *tok[TOK_MAX];
  int ntok;
  int no;
};

struct pctx {
  struct sim_scn *s;
  const char *name;
  char *why;      /* the caller's reason buffer (protocol/reason.h) */
  size_t why_cap;
  int seen_nodes, seen_topo, seen_proto;
};

static int fail(struct pctx *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct pctx *p, int line, const char *fmt, ...) {
  if (p->why == NULL || p->why_cap == 0) return MOMEDO_E_CONFIG;
  int n = snprintf(p->why, p->why_cap, "%.100s:%d: ", p->name, line);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < p->why_cap) reason_vset(p->why + n, p->why_cap - (size_t)n, fmt, ap);
  va_end(ap);
  return MOMEDO_E_CONFIG;
}

int sim_parse_duration(const char *s, uint64_t *ms) {
  if (!s || !*s || *s == '-' || *s == '+') return MOMEDO_E_CONFIG;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || end == s || !(v >= 0)) return MOMEDO_E_CONFIG;
  double mul = 1;
  if (!strcmp(end, "") || !strcmp(end, "ms")) mul = 1;
  else if (!strcmp(end, "s")) mul = 1e3;
  else if (!strcmp(end, "m")) mul = 60e3;
  else if (!strcmp(end, "h")) mul = 3600e3;
  else if (!strcmp(end, "d")) mul = 86400e3;
  else return MOMEDO_E_CONFIG;
  v *= mul;
  if (v > (double)SIM_DURATION_MS_MAX || v != floor(v)) return MOMEDO_E_CONFIG;
  *ms = (uint64_t)v;
  return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
  if (!s || !*s || *s < '0' || *s > '9') return MOMEDO_E_CONFIG;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max) return MOMEDO_E_CONFIG;
  *out = v;
  return 0;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out) {
  uint64_t v;
  int rc = parse_u64(s, max, &v);
  if (rc == 0) *out = (uint32_t)v;
  return rc;
}

static int parse_prob(const char *s, double *out) {
  if (!s || !*s) return MOMEDO_E_CONFIG;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || *end || !(v >= 0.0 && v <= 1.0)) return MOMEDO_E_CONFIG;
  *out = v;
  return 0;
}

/* A distribution parameter: a duration (suffix allowed) or, for lognormal, a real. */
static int parse_dparam(const char *s, int real, double *out) {
  if (real) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || fabs(v) > 50) return MOMEDO_E_CONFIG;
    *out = v;
    return 0;
  }
  uint64_t ms;
  if (sim_parse_duration(s, &ms) || ms > (uint64_t)SIM_LATENCY_MS_MAX) return MOMEDO_E_CONFIG;
  *out = (double)ms;
  return 0;
}

int sim_parse_dist(const char *s, struct sim_dist *d, const char **why) {
  static const struct { const char *name; enum sim_dist_kind k; int nparam; } kinds[] = {
      {"const", SIM_DIST_CONST, 1},         {"uniform", SIM_DIST_UNIFORM, 2},
      {"normal", SIM_DIST_NORMAL, 2},       {"lognormal", SIM_DIST_LOGNORMAL, 2},
      {"exp", SIM_DIST_EXP, 1},
  };
  char buf[128];
  *why = "distribution must be const:A, uniform:A:B, normal:MEAN:SD, lognormal:MU:SIGMA "
         "or exp:MEAN (times in ms or with s/m/h suffix)";
  if (strlen(s) >= sizeof buf) return MOMEDO_E_CONFIG;
  strcpy(buf, s);
  char *parts[4];
  int np = 0;
  for (char *t = strtok(buf, ":"); t && np < 4; t = strtok(NULL, ":")) parts[np++] = t;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (np < 1 || strcmp(parts[0], kinds[i].name)) continue;
    if (np != 1 + kinds[i].nparam) return MOMEDO_E_CONFIG;
    d->kind = kinds[i].k;
    d->b = 0;
    int real = d->kind == SIM_DIST_LOGNORMAL;
    if (parse_dparam(parts[1], real, &d->a)) return MOMEDO_E_CONFIG;
    if (np > 2 && parse_dparam(parts[2], real, &d->b)) return MOMEDO_E_CONFIG;
    if (d->kind == SIM_DIST_UNIFORM && d->b < d->a) {
      *why = "uniform:A:B needs A <= B";
      return MOMEDO_E_CONFIG;
    }
    if (d->kind == SIM_DIST_LOGNORMAL && (d->a > 15 || d->b < 0 || d->b > 5)) {
      *why = "lognormal:MU:SIGMA needs MU <= 15 (e^15 ms) and 0 <= SIGMA <= 5";
      return MOMEDO_E_CONFIG;
    }
    return 0;
  }
  return MOMEDO_E_CONFIG;
}

static int parse_sel_list(char *s, struct sim_sel *sel, const char **why) {
  sel->kind = SIM_SEL_LIST;
  sel->nparts = 0;
  for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
    if (sel->nparts == SIM_SEL_PARTS_MAX) {
      *why = "too many ranges in node list (max 64)";
      return MOMEDO_E_CONFIG;
    }
    char *dash = strchr(t, '-');
    uint32_t lo, hi;
    if (dash) *dash = 0;
    if (parse_u32(t, SIM_NODES_MAX - 1, &lo)) return MOMEDO_E_CONFIG;
    if (!dash) hi = lo;
    else if (parse_u32(dash + 1, SIM_NODES_MAX - 1, &hi) || hi < lo) return MOMEDO_E_CONFIG;
    sel->lo[sel->nparts] = lo;
    sel->hi[sel->nparts++] = hi;
  }
  return sel->nparts ? 0 : MOMEDO_E_CONFIG;
}

int sim_parse_sel(const char *s, struct sim_sel *sel, const char **why) {
  char buf[SIM_LINE_CHARS_MAX];
  memset(sel, 0, sizeof *sel);
  *why = "node set must be all, N, A-B, a list like 0-9,20, random:K, county:I, land:I or "
         "role:hub|city|school";
  if (strlen(s) >= sizeof buf) return MOMEDO_E_CONFIG;
  strcpy(buf, s);
  if (!strcmp(buf, "all")) {
    sel->kind = SIM_SEL_ALL;
    return 0;
  }
  if (!strncmp(buf, "random:", 7)) {
    sel->kind = SIM_SEL_RANDOM;
    if (parse_u32(buf + 7, SIM_NODES_MAX, &sel->k) || sel->k == 0) return MOMEDO_E_CONFIG;
    return 0;
  }
  if (!strncmp(buf, "county:", 7)) {
    sel->kind = SIM_SEL_COUNTY;
    return parse_u32(buf + 7, SIM_FED_COUNTIES_MAX - 1, &sel->k);
  }
  if (!strncmp(buf, "land:", 5)) {
    sel->kind = SIM_SEL_LAND;
    return parse_u32(buf + 5, SIM_FED_LANDS_MAX - 1, &sel->k);
  }
  if (!strncmp(buf, "role:", 5)) {
    sel->kind = SIM_SEL_ROLE;
    if (!strcmp(buf + 5, "hub")) sel->role = SIM_ROLE_HUB;
    else if (!strcmp(buf + 5, "city")) sel->role = SIM_ROLE_CITY;
    else if (!strcmp(buf + 5, "school")) sel->role = SIM_ROLE_SCHOOL;
    else return MOMEDO_E_CONFIG;
    return 0;
  }
  return parse_sel_list(buf, sel, why);
}

/* key=value options after the positional words. */
static const char *opt(struct line *l, int from, const char *key) {
  size_t kl = strlen(key);
  for (int i = from; i < l->ntok; i++)
    if (!strncmp(l->tok[i], key, kl) && l->tok[i][kl] == '=') return l->tok[i] + kl + 1;
  return NULL;
}

/* Every key=value word must be one of the allowed keys (typos are errors). */
static int opts_only(struct pctx *p, struct line *l, int from, const char *const *keys) {
  for (int i = from; i < l->ntok; i++) {
    char *eq = strchr(l->tok[i], '=');
    int ok = 0;
    for (const char *const *k = keys; eq && *k; k++)
      if ((size_t)(eq - l->tok[i]) == strlen(*k) && !strncmp(l->tok[i], *k, strlen(*k))) ok = 1;
    if (!ok) return fail(p, l->no, "'%s': unexpected word for '%s'", l->tok[i], l->tok[0]);
    for (int j = from; j < i; j++)
      if (!strncmp(l->tok[j], l->tok[i], (size_t)(eq - l->tok[i]) + 1))
        return fail(p, l->no, "'%.*s' given twice", (int)(eq - l->tok[i]), l->tok[i]);
  }
  return 0;
}

#define NEED_ARGS(n)                                                                  \
  do {                                                                                \
    if (l->ntok != (n) + 1)                                                           \
      return fail(p, l->no, "'%s' takes %d argument(s), got %d", l->tok[0], (n),      \
                  l->ntok - 1);                                                       \
  } while (0)

static void scn_defaults(struct sim_scn *s, const char *name, const char *dir) {
  snprintf(s->name, sizeof s->name, "%.*s", (int)sizeof s->name - 1, name);
  char *dot = strrchr(s->name, '.');
  if (dot && dot != s->name) *dot = 0;
  snprintf(s->dir, sizeof s->dir, "%s", dir ? dir : ".");
  s->seed = 1;
  s->topo = SIM_TOPO_COMPLETE;
  s->cycle_ms = 1000;
  s->duration_ms = 60000;
  s->proto = SIM_PROTO_MOMEDO;
  s->period_ms = 1000;
  s->rumor_feedback = 1;
  s->latency.kind = SIM_DIST_CONST;
  s->latency.a = 10;
  s->reorder_delay.kind = SIM_DIST_CONST;
  s->reorder_delay.a = 50;
  s->expiry_grace_ms = 0;
}

static int kw_name(struct pctx *p, struct line *l) {
  NEED_ARGS(1);
  if (strlen(l->tok[1]) >= SIM_NAME_CHARS_MAX) return fail(p, l->no, "name too long");
  for (const char *c = l->tok[1]; *c; c++)
    if (!(*c == '_' || *c == '-' || *c == '.' || (*c >= 'a' && *c <= 'z') ||
          (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
      return fail(p, l->no, "name may use letters, digits, '_', '-' and '.' only");
  strcpy(p->s->name, l->tok[1]);
  return 0;
}

static int kw_seed(struct pctx *p, struct line *l) {
  NEED_ARGS(1);
  if (parse_u64(l->tok[1], UINT64_MAX, &p->s->seed)) return fail(p, l->no, "seed must be an unsigned 64-bit integer");
  return 0;
}

static int kw_nodes(struct pctx *p, struct line *l) {
  NEED_ARGS(1);
  if (parse_u32(l->tok[1], SIM_NODES_MAX, &p->s->nodes) || p->s->nodes < 2)
    return fail(p, l->no, "nodes must be 2..%u", SIM_NODES_MAX);
  p->seen_nodes = l->no;
  return 0;
}

static int topo_federation(struct pctx *p, struct line *l) {
  struct sim_scn *s = p->s;
  static const char *const keys[] = {"counties", "hubs", "cities", "schools", "lands", NULL};
  if (opts_only(p, l, 2, keys)) return MOMEDO_E_CONFIG;
  const char *v;
  s->fed_counties = 4, s->fed_hubs = 2, s->fed_cities = 3, s->fed_schools = 4;
  if ((v = opt(l, 2, "counties")) && (parse_u32(v, SIM_FED_COUNTIES_MAX, &s->fed_counties) || !s->fed_counties))
    return fail(p, l->no, "counties must be 1..%u", SIM_FED_COUNTIES_MAX);
  s->fed_lands = (s->fed_counties + SIM_FED_LAND_COUNTIES - 1) / SIM_FED_LAND_COUNTIES;
  if (s->fed_lands > SIM_FED_LANDS_DEFAULT_MAX) s->fed_lands = SIM_FED_LANDS_DEFAULT_MAX;
  if ((v = opt(l, 2, "lands")) &&
      (parse_u32(v, SIM_FED_LANDS_MAX, &s->fed_lands) || !s->fed_lands || s->fed_lands > s->fed_counties))
    return fail(p, l->no, "lands must be 1..%u and at most counties", SIM_FED_LANDS_MAX);
  if ((v = opt(l, 2, "hubs")) && (parse_u32(v, SIM_FED_PER_MAX, &s->fed_hubs) || !s->fed_hubs))
    return fail(p, l->no, "hubs (redundant county nodes) must be 1..%u", SIM_FED_PER_MAX);
  if ((v = opt(l, 2, "cities")) && parse_u32(v, SIM_FED_PER_MAX, &s->fed_cities))
    return fail(p, l->no, "cities (per county) must be 0..%u", SIM_FED_PER_MAX);
  if ((v = opt(l, 2, "schools")) && parse_u32(v, SIM_FED_PER_MAX, &s->fed_schools))
    return fail(p, l->no, "schools (per city) must be 0..%u", SIM_FED_PER_MAX);
  uint64_t n = (uint64_t)s->fed_counties *
               (s->fed_hubs + (uint64_t)s->fed_cities * (1 + s->fed_schools));
  if (n < 2 || n > SIM_NODES_MAX)
    return fail(p, l->no, "federation has %llu nodes; must be 2..%u", (unsigned long long)n, SIM_NODES_MAX);
  return 0;
}

static int kw_topology(struct pctx *p, struct line *l) {
  struct sim_scn *s = p->s;
  static const char *const none[] = {NULL};
  static const char *const deg[] = {"degree", NULL};
  static const char *const sw[] = {"k", "beta", NULL};
  static const char *const ef[] = {"file", NULL};
  if (l->ntok < 2) return fail(p, l->no, "topology needs a kind");
  const char *k = l->tok[1], *v;
  p->seen_topo = l->no;
  if (!strcmp(k, "line")) s->topo = SIM_TOPO_LINE;
  else if (!strcmp(k, "ring")) s->topo = SIM_TOPO_RING;
  else if (!strcmp(k, "star")) s->topo = SIM_TOPO_STAR;
  else if (!strcmp(k, "complete")) s->topo = SIM_TOPO_COMPLETE;
  else if (!strcmp(k, "random_regular")) {
    s->topo = SIM_TOPO_RANDOM_REGULAR;
    if (opts_only(p, l, 2, deg)) return MOMEDO_E_CONFIG;
    if (!(v = opt(l, 2, "degree")) || parse_u32(v, SIM_DEGREE_MAX, &s->degree) || s->degree < 1)
      return fail(p, l->no, "random_regular needs degree=1..%u", SIM_DEGREE_MAX);
    return 0;
  } else if (!strcmp(k, "small_world")) {
    s->topo = SIM_TOPO_SMALL_WORLD;
    if (opts_only(p, l, 2, sw)) return MOMEDO_E_CONFIG;
    if (!(v = opt(l, 2, "k")) || parse_u32(v, SIM_DEGREE_MAX, &s->sw_k) || s->sw_k < 2 || s->sw_k % 2)
      return fail(p, l->no, "small_world needs k=EVEN lattice degree (2..%u)", SIM_DEGREE_MAX);
    if (!(v = opt(l, 2, "beta")) || parse_prob(v, &s->sw_beta))
      return fail(p, l->no, "small_world needs beta=0..1 (rewiring probability)");
    return 0;
  } else if (!strcmp(k, "federation")) {
    s->topo = SIM_TOPO_FEDERATION;
    return topo_federation(p, l);
  } else if (!strcmp(k, "edges")) {
    s->topo = SIM_TOPO_EDGES;
    if (opts_only(p, l, 2, ef)) return MOMEDO_E_CONFIG;
    if (!(v = opt(l, 2, "file")) || !*v || strlen(v) >= SIM_PATH_CHARS_MAX)
      return fail(p, l->no, "edges needs file=PATH (relative to the scenario)");
    strcpy(s->edge_file, v);
    return 0;
  } else {
    return fail(p, l->no, "unknown topology '%s' (line, ring, star, complete, random_regular, "
                "small_world, federation, edges)", k);
  }
  return opts_only(p, l, 2, none);
}

static int kw_mode(struct pctx *p, struct line *l) {
  static const char *const keys[] = {"length", "order", NULL};
  struct sim_scn *s = p->s;
  const char *v;
  if (l->ntok < 2) return fail(p, l->no, "mode needs event or cycle");
  if (!strcmp(l->tok[1], "event")) {
    s->cycle_mode = 0;
    NEED_ARGS(1);
    return 0;
  }
  if (strcmp(l->tok[1], "cycle")) return fail(p, l->no, "mode must be event or cycle");
  if (opts_only(p, l, 2, keys)) return MOMEDO_E_CONFIG;
  s->cycle_mode = 1;
  if ((v = opt(l, 2, "length")) && (sim_parse_duration(v, &s->cycle_ms) || !s->cycle_ms || s->cycle_ms > 86400000))
    return fail(p, l->no, "cycle length must be 1ms..1d");
  if ((v = opt(l, 2, "order"))) {
    if (!strcmp(v, "sync")) s->cycle_async = 0;
    else if (!strcmp(v, "async")) s->cycle_async = 1;
    else return fail(p, l->no, "cycle order must be sync (rounds) or async (PeerSim-style)");
  }
  return 0;
}

static int kw_duration(struct pctx *p, struct line *l) {
  NEED_ARGS(1);
  if (sim_parse_duration(l->tok[1], &p->s->duration_ms) || !p->s->duration_ms)
    return fail(p, l->no, "duration must be a time like 10m (1ms..10 years)");
  return 0;
}

/* One of names[] (n of them) into *out, or a line error listing them. */
static int opt_enum(struct pctx *p, struct line *l, const char *key, const char *const *names, int n,
                    int *out) {
  const char *v = opt(l, 2, key);
  if (!v) return 0;
  for (int i = 0; i < n; i++)
    if (!strcmp(v, names[i])) {
      *out = i;
      return 0;
    }
  char list[128] = "";
  for (int i = 0; i < n; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? i + 1 == n ? " or " : ", " : "", names[i]);
  return fail(p, l->no, "%s must be %s", key, list);
}

static int rumor_opts(struct pctx *p, struct line *l) {
  static const char *const fb[] = {"blind", "feedback"}, *const loss[] = {"counter", "coin"},
                           *const dir[] = {"push", "pull", "pushpull"}, *const interest[] = {"streak", "total"};
  struct sim_scn *s = p->s;
  const char *v;
  int d = (int)s->rumor_dir;
  if ((v = opt(l, 2, "k")) && parse_u32(v, SIM_RUMOR_K_MAX, &s->rumor_k))
    return fail(p, l->no, "k must be 0..%u (0 = infect forever)", SIM_RUMOR_K_MAX);
  if (opt_enum(p, l, "feedback", fb, 2, &s->rumor_feedback) || opt_enum(p, l, "loss", loss, 2, &s->rumor_coin) ||
      opt_enum(p, l, "direction", dir, 3, &d) || opt_enum(p, l, "interest", interest, 2, &s->rumor_total))
    return MOMEDO_E_CONFIG;
  s->rumor_dir = (enum sim_rumor_dir)d;
  return 0;
}

static int kw_protocol(struct pctx *p, struct line *l) {
  static const struct { const char *n; enum sim_proto_kind k; } kinds[] = {
      {"momedo", SIM_PROTO_MOMEDO},       {"ae_push", SIM_PROTO_AE_PUSH},
      {"ae_pull", SIM_PROTO_AE_PULL},     {"ae_pushpull", SIM_PROTO_AE_PUSHPULL},
      {"rumor", SIM_PROTO_RUMOR},
  };
  static const char *const keys[] = {"period", "k", "feedback", "loss", "direction", "interest", NULL};
  struct sim_scn *s = p->s;
  const char *v;
  if (l->ntok < 2) return fail(p, l->no, "protocol needs a name");
  size_t i;
  for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (!strcmp(l->tok[1], kinds[i].n)) break;
  if (i == sizeof kinds / sizeof kinds[0])
    return fail(p, l->no, "unknown protocol '%s' (momedo, ae_push, ae_pull, ae_pushpull, rumor)", l->tok[1]);
  s->proto = kinds[i].k;
  p->seen_proto = l->no;
  if (opts_only(p, l, 2, keys)) return MOMEDO_E_CONFIG;
  if ((v = opt(l, 2, "period")) && (sim_parse_duration(v, &s->period_ms) || !s->period_ms || s->period_ms > 86400000))
    return fail(p, l->no, "period must be 1ms..1d");
  for (const char *const *k = keys + 1; *k; k++)
    if (opt(l, 2, *k) && s->proto != SIM_PROTO_RUMOR)
      return fail(p, l->no, "k, feedback, loss, direction and interest apply to rumor only");
  return rumor_opts(p, l);
}

/* `repl NAME VALUE`: a row of the engine's parameter table, parsed and bounded by the
 * engine's own parser (the node's momedo.conf goes through the same one). */
static int kw_repl(struct pctx *p, struct line *l) {
  struct sim_scn *s = p->s;
  char why[REPL_PARAM_TEXT_MAX + 64];
  NEED_ARGS(2);
  const struct repl_param *rp = repl_param_find(l->tok[1]);
  if (!rp) {
    size_t n = 0;
    for (size_t i = 0; i < repl_params_n && n < sizeof why; i++)
      n += (size_t)snprintf(why + n, sizeof why - n, "%s%s", i ? ", " : "", repl_params[i].name);
    return fail(p, l->no, "unknown repl parameter '%.64s' (%s)", l->tok[1], why);
  }
  for (uint32_t i = 0; i < s->nrepl; i++)
    if (s->repl[i].param == rp) return fail(p, l->no, "repl %s given twice", rp->name);
  if (repl_param_parse(rp, l->tok[2], &s->repl[s->nrepl].value, why, sizeof why))
    return fail(p, l->no, "%s", why);
  s->repl[s->nrepl].param = rp;
  s->repl[s->nrepl++].line = l->no;
  return 0;
}

static int kw_link(struct pctx *p, struct line *l) {
  static const char *const keys[] = {"latency", "bandwidth", "loss", "dup", "reorder",
                                     "reorder_delay", "max_conns", NULL};
  struct sim_scn *s = p->s;
  const char *v, *why;
  if (opts_only(p, l, 1, keys)) return MOMEDO_E_CONFIG;
  if ((v = opt(l, 1, "latency")) && sim_parse_dist(v, &s->latency, &why)) return fail(p, l->no, "latency: %s", why);
  if ((v = opt(l, 1, "reorder_delay")) && sim_parse_dist(v, &s->reorder_delay, &why))
    return fail(p, l->no, "reorder_delay: %s", why);
  if ((v = opt(l, 1, "bandwidth")) && parse_u64(v, 1ull << 40, &s->bandwidth_bps))
    return fail(p, l->no, "bandwidth must be bytes per second, 0..2^40 (0 = unlimited)");
  if ((v = opt(l, 1, "loss")) && parse_prob(v, &s->loss)) return fail(p, l->no, "loss must be 0..1");
  if ((v = opt(l, 1, "dup")) && parse_prob(v, &s->dup)) return fail(p, l->no, "dup must be 0..1");
  if ((v = opt(l, 1, "reorder")) && parse_prob(v, &s->reorder)) return fail(p, l->no, "reorder must be 0..1");
  if ((v = opt(l, 1, "max_conns")) && parse_u32(v, SIM_NODES_MAX, &s->max_conns))
    return fail(p, l->no, "max_conns must be 0..%u (0 = unlimited)", SIM_NODES_MAX);
  if (s->loss >= 1.0) return fail(p, l->no, "loss must be below 1");
  return 0;
}

static int opt_sel(struct pctx *p, struct line *l, const char *key, struct sim_sel *sel, int required) {
  const char *v = opt(l, 1, key), *why;
  if (!v) {
    if (required) return fail(p, l->no, "%s needs %s=NODES", l->tok[0], key);
    sel->kind = SIM_SEL_ALL;
    return 0;
  }
  if (sim_parse_sel(v, sel, &why)) return fail(p, l->no, "%s=%s: %s", key, v, why);
  return 0;
}

static int opt_time(struct pctx *p, struct line *l, int from, const char *key, uint64_t *ms, int required) {
  const char *v = opt(l, from, key);
  if (!v) return required ? fail(p, l->no, "%s needs %s=TIME", l->tok[0], key) : 0;
  if (sim_parse_duration(v, ms)) return fail(p, l->no, "%s=%s: not a time (e.g. 250ms, 3s, 5m, 2h)", key, v);
  return 0;
}

static int kw_publish(struct pctx *p, struct line *l) {
  static const char *const keys[] = {"count", "from", "to", "start", "every", "poisson", "size",
                                     "ttl", "tombstone", "tombstone_delay", "partners", "hint", NULL};
  struct sim_scn *s = p->s;
  const char *v;
  if (s->nwork == SIM_WORKLOADS_MAX) return fail(p, l->no, "too many publish lines (max %d)", SIM_WORKLOADS_MAX);
  struct sim_workload *w = &s->work[s->nwork];
  memset(w, 0, sizeof *w);
  w->line = l->no;
  if (l->ntok < 2) return fail(p, l->no, "publish needs bundle, item or lookup");
  if (!strcmp(l->tok[1], "bundle")) w->kind = SIM_OBJ_BUNDLE;
  else if (!strcmp(l->tok[1], "item")) w->kind = SIM_OBJ_ITEM;
  else if (!strcmp(l->tok[1], "lookup")) w->kind = SIM_WORK_LOOKUP;
  else return fail(p, l->no, "publish kind must be bundle, item or lookup (tombstones: tombstone=P on items)");
  if (opts_only(p, l, 2, keys)) return MOMEDO_E_CONFIG;
  if (!(v = opt(l, 2, "count")) || parse_u32(v, SIM_OBJECTS_MAX, &w->count) || !w->count)
    return fail(p, l->no, "publish needs count=1..%u", SIM_OBJECTS_MAX);
  if (opt_sel(p, l, "from", &w->from, 0) || opt_sel(p, l, "to", &w->to, 0)) return MOMEDO_E_CONFIG;
  if ((v = opt(l, 2, "start")) && !strcmp(v, "setup")) {
    if (w->kind != SIM_OBJ_BUNDLE) return fail(p, l->no, "start=setup applies to bundles only");
    w->at_setup = 1;
  } else if (opt_time(p, l, 2, "start", &w->start_ms, 0)) {
    return MOMEDO_E_CONFIG;
  }
  if (opt_time(p, l, 2, "every", &w->every_ms, 0) ||
      opt_time(p, l, 2, "ttl", &w->ttl_ms, 0) ||
      opt_time(p, l, 2, "tombstone_delay", &w->tombstone_delay_ms, 0))
    return MOMEDO_E_CONFIG;
  if ((v = opt(l, 2, "poisson"))) {
    if (opt(l, 2, "every")) return fail(p, l->no, "give every= or poisson=, not both");
    if (sim_parse_duration(v, &w->every_ms) || !w->every_ms) return fail(p, l->no, "poisson=MEAN_GAP (a time > 0)");
    w->poisson = 1;
  }
  w->size = 64;
  w->partners = SIM_PARTNERS_DEFAULT;
  if ((v = opt(l, 2, "partners")) && parse_u32(v, SIM_PARTNERS_MAX, &w->partners))
    return fail(p, l->no, "partners must be 0..%u (nodes holding a user's objects besides its home)",
                SIM_PARTNERS_MAX);
  if ((v = opt(l, 2, "size")) && (parse_u32(v, SIM_ITEM_BYTES_MAX, &w->size) || !w->size))
    return fail(p, l->no, "size must be 1..%u bytes", SIM_ITEM_BYTES_MAX);
  if ((v = opt(l, 2, "tombstone")) && parse_prob(v, &w->tombstone_p)) return fail(p, l->no, "tombstone must be 0..1");
  if (w->kind != SIM_OBJ_ITEM && (opt(l, 2, "size") || opt(l, 2, "ttl") || opt(l, 2, "tombstone") || opt(l, 2, "to")))
    return fail(p, l->no, "size, ttl, to and tombstone apply to items only");
  if ((v = opt(l, 2, "hint")) && (w->kind != SIM_WORK_LOOKUP || parse_u32(v, 1, &w->hint)))
    return fail(p, l->no, "hint=0|1 applies to lookups only (1: the user's home nodes as hints)");
  if (w->kind == SIM_WORK_LOOKUP) {
    if (opt(l, 2, "partners")) return fail(p, l->no, "partners applies to bundles and items");
    s->nwork++; /* a lookup names a published user: no object, no room needed */
    return 0;
  }
  if (w->kind == SIM_OBJ_ITEM && !w->ttl_ms) w->ttl_ms = 7ull * 24 * 3600 * 1000;
  if (w->ttl_ms > 90ull * 24 * 3600 * 1000) return fail(p, l->no, "ttl must be at most 90d");
  if (w->tombstone_p > 0 && w->tombstone_delay_ms >= w->ttl_ms)
    return fail(p, l->no, "tombstone_delay must be shorter than ttl");
  if (w->every_ms && (uint64_t)w->count * w->every_ms > SIM_DURATION_MS_MAX)
    return fail(p, l->no, "count x every exceeds the longest run");
  uint64_t tot = (uint64_t)s->objects_total + w->count * (w->tombstone_p > 0 ? 2u : 1u);
  if (tot > SIM_OBJECTS_MAX) return fail(p, l->no, "more than %u objects in total", SIM_OBJECTS_MAX);
  s->objects_total = (uint32_t)tot;
  s->nwork++;
  return 0;
}

static struct sim_fault *new_fault(struct pctx *p, struct line *l, enum sim_fault_kind kind) {
  struct sim_scn *s = p->s;
  if (s->nfaults == SIM_FAULTS_MAX) {
    fail(p, l->no, "too many faults (max %d)", SIM_FAULTS_MAX);
    return NULL;
  }
  struct sim_fault *nf = realloc(s->faults, (s->nfaults + 1) * sizeof *nf);
  if (!nf) {
    fail(p, l->no, "out of memory");
    return NULL;
  }
  s->faults = nf;
  struct sim_fault *f = &nf[s->nfaults++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->line = l->no;
  return f;
}

static int kw_partition(struct pctx *p, struct line *l) {
  struct sim_fault *f = new_fault(p, l, SIM_FAULT_PARTITION);
  if (!f) return MOMEDO_E_CONFIG;
  for (int i = 1; i < l->ntok; i++) {
    char *t = l->tok[i];
    const char *why;
    if (!strncmp(t, "group=", 6)) {
      if (f->ngroups == SIM_PARTITION_GROUPS_MAX) return fail(p, l->no, "at most %d groups", SIM_PARTITION_GROUPS_MAX);
      if (sim_parse_sel(t + 6, &f->group[f->ngroups], &why)) return fail(p, l->no, "%s: %s", t, why);
      if (f->group[f->ngroups].kind == SIM_SEL_ALL) return fail(p, l->no, "group=all would not partition anything");
      f->ngroups++;
    } else if (strncmp(t, "start=", 6) && strncmp(t, "heal=", 5)) {
      return fail(p, l->no, "'%s': partition takes start=, heal= and group= (repeatable)", t);
    }
  }
  if (!f->ngroups) return fail(p, l->no, "partition needs at least one group=NODES");
  if (opt_time(p, l, 1, "start", &f->start_ms, 1) || opt_time(p, l, 1, "heal", &f->end_ms, 1)) return MOMEDO_E_CONFIG;
  if (f->end_ms <= f->start_ms) return fail(p, l->no, "heal must come after start");
  return 0;
}

static int kw_swizzle(struct pctx *p, struct line *l) {
  static const char *const keys[] = {"start", "step", "count", NULL};
  struct sim_fault *f = new_fault(p, l, SIM_FAULT_SWIZZLE);
  const char *v;
  if (!f || opts_only(p, l, 1, keys)) return MOMEDO_E_CONFIG;
  if (opt_time(p, l, 1, "start", &f->start_ms, 1) || opt_time(p, l, 1, "step", &f->step_ms, 1)) return MOMEDO_E_CONFIG;
  if (!f->step_ms) return fail(p, l->no, "step must be > 0");
  if (!(v = opt(l, 1, "count")) || parse_u32(v, 1000000, &f->count) || !f->count)
    return fail(p, l->no, "swizzle needs count=1..1000000 (links to cut)");
  f->end_ms = f->start_ms + 2ull * f->count * f->step_ms;
  return 0;
}

static int opt_store(struct pctx *p, struct line *l, struct sim_fault *f) {
  const char *v = opt(l, 1, "store");
  f->store = SIM_STORE_KEPT;
  if (!v || !strcmp(v, "kept")) return 0;
  if (!strcmp(v, "wiped")) {
    f->store = SIM_STORE_WIPED;
    return 0;
  }
  return fail(p, l->no, "store must be kept or wiped");
}

static int kw_crash(struct pctx *p, struct line *l) {
  static const char *const keys[] = {"nodes", "at", "restart", "store", NULL};
  struct sim_fault *f = new_fault(p, l, SIM_FAULT_CRASH);
  if (!f || opts_only(p, l, 1, keys)) return MOMEDO_E_CONFIG;
  f->ngroups = 1;
  if (opt_sel(p, l, "nodes", &f->group[0], 1) || opt_store(p, l, f)) return MOMEDO_E_CONFIG;
  if (opt_time(p, l, 1, "at", &f->start_ms, 1) || opt_time(p, l, 1, "restart", &f->end_ms, 1)) return MOMEDO_E_CONFIG;
  if (f->end_ms <= f->start_ms) return fail(p, l->no, "restart must come after at");
  return 0;
}

static int kw_churn(struct pctx *p, struct line *l) {
  static const char *const keys[] = {"nodes", "start", "end", "uptime", "downtime", "store", NULL};
  struct sim_fault *f = new_fault(p, l, SIM_FAULT_CHURN);
  const char *v, *why;
  if (!f || opts_only(p, l, 1, keys)) return MOMEDO_E_CONFIG;
  f->ngroups = 1;
  if (opt_sel(p, l, "nodes", &f->group[0], 0) || opt_store(p, l, f)) return MOMEDO_E_CONFIG;
  if (opt_time(p, l, 1, "start", &f->start_ms, 1) || opt_time(p, l, 1, "end", &f->end_ms, 1) ||
      opt_time(p, l, 1, "uptime", &f->uptime_ms, 1))
    return MOMEDO_E_CONFIG;
  if (f->end_ms <= f->start_ms || !f->uptime_ms) return fail(p, l->no, "churn needs start < end and uptime > 0");
  if (!(v = opt(l, 1, "downtime"))) return fail(p, l->no, "churn needs downtime=DIST");
  if (sim_parse_dist(v, &f->downtime, &why)) return fail(p, l->no, "downtime: %s", why);
  return 0;
}

static int kw_sample(struct pctx *p, struct line *l) {
  static const char *const keys[] = {"every", NULL};
  if (opts_only(p, l, 1, keys) || opt_time(p, l, 1, "every", &p->s->sample_ms, 1)) return MOMEDO_E_CONFIG;
  if (!p->s->sample_ms) return fail(p, l->no, "sample every must be > 0");
  return 0;
}

static int kw_check(struct pctx *p, struct line *l) {
  struct sim_scn *s = p->s;
  if (l->ntok < 2) return fail(p, l->no, "check needs safety, delivered, converge_within=T or expiry_grace=T");
  for (int i = 1; i < l->ntok; i++) {
    char *t = l->tok[i];
    if (!strcmp(t, "safety")) s->check_safety = 1;
    else if (!strcmp(t, "delivered")) s->check_delivered = 1;
    else if (!strncmp(t, "converge_within=", 16)) {
      if (sim_parse_duration(t + 16, &s->converge_within_ms) || !s->converge_within_ms)
        return fail(p, l->no, "converge_within must be a time > 0");
    } else if (!strncmp(t, "expiry_grace=", 13)) {
      if (sim_parse_duration(t + 13, &s->expiry_grace_ms)) return fail(p, l->no, "expiry_grace must be a time");
    } else {
      return fail(p, l->no, "unknown check '%s'", t);
    }
  }
  return 0;
}

typedef int (*kw_fn)(struct pctx *p, struct line *l);
static const struct {
  const char *kw;
  kw_fn fn;
} keywords[] = {
    {"name", kw_name},         {"seed", kw_seed},       {"nodes", kw_nodes},
    {"topology", kw_topology}, {"mode", kw_mode},       {"duration", kw_duration},
    {"protocol", kw_protocol}, {"repl", kw_repl},       {"link", kw_link},
    {"publish", kw_publish},   {"partition", kw_partition}, {"swizzle", kw_swizzle},
    {"crash", kw_crash},       {"churn", kw_churn},     {"sample", kw_sample},
    {"check", kw_check},
};

static int parse_line(struct pctx *p, char *ln, int no) {
  char *hash = strchr(ln, '#');
  if (hash) *hash = 0;
  struct line l = {.no = no};
  for (char *t = strtok(ln, " \t\r"); t; t = strtok(NULL, " \t\r")) {
    if (l.ntok == TOK_MAX) return fail(p, no, "too many words (max %d)", TOK_MAX);
    l.tok[l.ntok++] = t;
  }
  if (!l.ntok) return 0;
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    if (!strcmp(l.tok[0], keywords[i].kw)) return keywords[i].fn(p, &l);
  return fail(p, no, "unknown keyword '%s'", l.tok[0]);
}

static int sel_check(struct pctx *p, const struct sim_sel *sel, int line) {
  const struct sim_scn *s = p->s;
  if (sel->kind == SIM_SEL_LIST)
    for (uint32_t i = 0; i < sel->nparts; i++)
      if (sel->hi[i] >= s->nodes)
        return fail(p, line, "node %u does not exist (nodes 0..%u)", sel->hi[i], s->nodes - 1);
  if (sel->kind == SIM_SEL_RANDOM && sel->k > s->nodes)
    return fail(p, line, "random:%u is more than the %u nodes", sel->k, s->nodes);
  if ((sel->kind == SIM_SEL_COUNTY || sel->kind == SIM_SEL_ROLE || sel->kind == SIM_SEL_LAND) &&
      s->topo != SIM_TOPO_FEDERATION)
    return fail(p, line, "county:, land: and role: need topology federation");
  if (sel->kind == SIM_SEL_COUNTY && sel->k >= s->fed_counties)
    return fail(p, line, "county %u does not exist (0..%u)", sel->k, s->fed_counties - 1);
  if (sel->kind == SIM_SEL_LAND && sel->k >= s->fed_lands)
    return fail(p, line, "land %u does not exist (0..%u)", sel->k, s->fed_lands - 1);
  return 0;
}

static int finish_topology(struct pctx *p) {
  struct sim_scn *s = p->s;
  int at = p->seen_topo ? p->seen_topo : 0;
  if (s->topo == SIM_TOPO_FEDERATION) {
    uint32_t n = s->fed_counties * (s->fed_hubs + s->fed_cities * (1 + s->fed_schools));
    if (p->seen_nodes && s->nodes != n)
      return fail(p, p->seen_nodes, "nodes %u disagrees with the federation's %u nodes", s->nodes, n);
    s->nodes = n;
  }
  if (!s->nodes) return fail(p, at, "the scenario needs 'nodes N' (2..%u)", SIM_NODES_MAX);
  if (s->topo == SIM_TOPO_RING && s->nodes < 3) return fail(p, at, "a ring needs at least 3 nodes");
  if (s->topo == SIM_TOPO_RANDOM_REGULAR &&
      (s->degree >= s->nodes || ((uint64_t)s->degree * s->nodes) % 2))
    return fail(p, at, "random_regular needs degree < nodes and degree x nodes even");
  if (s->topo == SIM_TOPO_SMALL_WORLD && s->sw_k >= s->nodes)
    return fail(p, at, "small_world needs k < nodes");
  return 0;
}

static int finish_faults(struct pctx *p) {
  struct sim_scn *s = p->s;
  for (uint32_t i = 0; i < s->nfaults; i++) {
    struct sim_fault *f = &s->faults[i];
    for (uint32_t g = 0; g < f->ngroups; g++)
      if (sel_check(p, &f->group[g], f->line)) return MOMEDO_E_CONFIG;
    if (f->start_ms > s->duration_ms) return fail(p, f->line, "fault starts after the end of the run");
    for (uint32_t j = 0; j < i && f->kind == SIM_FAULT_PARTITION; j++) {
      const struct sim_fault *g = &s->faults[j];
      if (g->kind == SIM_FAULT_PARTITION && f->start_ms < g->end_ms && g->start_ms < f->end_ms)
        return fail(p, f->line, "partition overlaps the one on line %d", g->line);
    }
    if (f->kind == SIM_FAULT_SWIZZLE && s->topo == SIM_TOPO_COMPLETE && s->nodes > 4000)
      return fail(p, f->line, "swizzle needs per-link state: at most 4000 nodes on a complete graph");
  }
  return 0;
}

/* The engine's delivery mode for this scenario: its `repl scope` line, else flood
 * (sim_momedo.c: scenarios written before scoped delivery keep their meaning). */
static uint64_t scope_of(const struct sim_scn *s) {
  const struct repl_param *rp = repl_param_find("scope");
  for (uint32_t i = 0; i < s->nrepl; i++)
    if (s->repl[i].param == rp) return s->repl[i].value;
  return REPL_SCOPE_FLOOD;
}

static int scn_finish(struct pctx *p, int last) {
  struct sim_scn *s = p->s;
  if (finish_topology(p)) return MOMEDO_E_CONFIG;
  if (!s->nwork) return fail(p, last, "the scenario publishes nothing: add a 'publish' line");
  s->scoped = s->proto == SIM_PROTO_MOMEDO && scope_of(s) == REPL_SCOPE_SCOPED;
  uint64_t wanted = s->scoped ? 1 + SIM_PARTNERS_MAX : s->nodes; /* per object */
  if (wanted * s->objects_total > SIM_CELLS_MAX)
    return fail(p, last, "%s x objects = %llu exceeds %llu (measurement tables)",
                s->scoped ? "destinations" : "nodes", (unsigned long long)wanted * s->objects_total,
                SIM_CELLS_MAX);
  if (s->cycle_mode && s->duration_ms < s->cycle_ms) return fail(p, last, "duration is shorter than one cycle");
  if (s->nrepl && s->proto != SIM_PROTO_MOMEDO) return fail(p, s->repl[0].line, "repl parameters need protocol momedo");
  for (uint32_t i = 0; i < s->nwork; i++)
    if (s->work[i].kind == SIM_WORK_LOOKUP && s->proto != SIM_PROTO_MOMEDO)
      return fail(p, s->work[i].line, "publish lookup needs protocol momedo");
  if (s->topo == SIM_TOPO_COMPLETE && s->nodes > 4000 && (s->proto == SIM_PROTO_MOMEDO || s->max_conns))
    return fail(p, p->seen_proto, "momedo and max_conns keep per-link state: complete graphs up to 4000 nodes");
  for (uint32_t i = 0; i < s->nwork; i++) {
    struct sim_workload *w = &s->work[i];
    if (sel_check(p, &w->from, w->line) || sel_check(p, &w->to, w->line)) return MOMEDO_E_CONFIG;
    if (w->start_ms > s->duration_ms) return fail(p, w->line, "publishing starts after the end of the run");
  }
  if (finish_faults(p)) return MOMEDO_E_CONFIG;
  if (!s->sample_ms) s->sample_ms = s->duration_ms / 100 ? s->duration_ms / 100 : 1;
  if (s->duration_ms / s->sample_ms > 100000) return fail(p, last, "more than 100000 samples: raise 'sample every='");
  if (s->check_safety && s->proto != SIM_PROTO_MOMEDO)
    return fail(p, last, "check safety needs protocol momedo (classic protocols delete nothing)");
  return 0;
}

int sim_scn_parse(const char *text, size_t len, const char *name, const char *dir,
                  struct sim_scn **out, char *why, size_t why_cap) {
  struct pctx p = {.name = name, .why = why, .why_cap = why_cap};
  int rc = MOMEDO_E_CONFIG;
  char *buf = NULL;
  if (why && why_cap) why[0] = '\0';
  *out = NULL;
  if (len > SIM_SCN_BYTES_MAX) return fail(&p, 0, "scenario larger than %u bytes", SIM_SCN_BYTES_MAX);
  if (memchr(text, 0, len)) return fail(&p, 0, "scenario contains a NUL byte");
  struct sim_scn *s = calloc(1, sizeof *s);
  buf = malloc(len + 1);
  if (!s || !buf) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  memcpy(buf, text, len);
  buf[len] = 0;
  p.s = s;
  scn_defaults(s, name, dir);
  int no = 0;
  for (char *ln = buf, *next; ln; ln = next) {
    next = strchr(ln, '\n');
    if (next) *next++ = 0;
    if (!next && !*ln) break; /* the empty remainder after a final newline */
    no++;
    if (strlen(ln) > SIM_LINE_CHARS_MAX) {
      rc = fail(&p, no, "line longer than %d characters", SIM_LINE_CHARS_MAX);
      goto out;
    }
    if ((rc = parse_line(&p, ln, no))) goto out;
  }
  if ((rc = scn_finish(&p, no))) goto out;
  *out = s;
  s = NULL;
  rc = 0;
out:
  free(buf);
  sim_scn_free(s);
  return rc;
}

int sim_scn_read(const char *path, struct sim_scn_text *t, char *why, size_t why_cap) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "rb");
  if (!f) {
    reason_set(why, why_cap, "%.160s: cannot open: %.60s", path, strerror(errno));
    return MOMEDO_E_IO;
  }
  t->text = malloc(SIM_SCN_BYTES_MAX + 2);
  t->len = t->text ? fread(t->text, 1, SIM_SCN_BYTES_MAX + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!t->text || bad) {
    int rc = t->text ? MOMEDO_E_IO : MOMEDO_E_NOMEM;
    sim_scn_text_free(t);
    reason_set(why, why_cap, "%.200s: cannot read", path);
    return rc;
  }
  t->text[t->len] = 0;
  snprintf(t->dir, sizeof t->dir, ".");
  const char *slash = strrchr(path, '/');
  if (slash && (size_t)(slash - path) < sizeof t->dir) {
    memcpy(t->dir, path, (size_t)(slash - path));
    t->dir[slash - path] = 0;
    if (slash == path) strcpy(t->dir, "/");
  }
  snprintf(t->name, sizeof t->name, "%.*s", (int)sizeof t->name - 1, slash ? slash + 1 : path);
  return 0;
}

void sim_scn_text_free(struct sim_scn_text *t) {
  free(t->text);
  t->text = NULL;
  t->len = 0;
}

int sim_scn_load(const char *path, struct sim_scn **out, char *why, size_t why_cap) {
  struct sim_scn_text t;
  *out = NULL;
  int rc = sim_scn_read(path, &t, why, why_cap);
  if (rc) return rc;
  rc = sim_scn_parse(t.text, t.len, t.name, t.dir, out, why, why_cap);
  sim_scn_text_free(&t);
  return rc;
}

void sim_scn_free(struct sim_scn *s) {
  if (!s) return;
  free(s->faults);
  free(s);
}
