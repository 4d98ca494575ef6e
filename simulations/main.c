/* simulations/main.c — momedo-sim: parse the command line, load the scenario (with
 * --set changes), run it with one or K seeds or sweep a parameter, print the
 * validation page, or report a series of runs; exit non-zero when a check failed (after printing the seed that
 * replays the failure). All the work is in the momedo_sim library. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "version.h"

static void usage(FILE *f) {
  fputs("usage: momedo-sim SCENARIO [--seed N] [--out DIR] [--runs K] [--quiet]\n"
        "                 [--set PARAM=VALUE]... [--sweep PARAM=V1,V2,... [--plot MEASURE]]\n"
        "       momedo-sim --validate [--runs K] [--scenarios DIR]\n"
        "       momedo-sim --report DIR\n"
        "       momedo-sim --version | --help\n"
        "  Runs a deterministic discrete-event simulation of momedo nodes (or of a classic\n"
        "  epidemic protocol) described by SCENARIO; see simulations/README.md.\n"
        "  --seed N   seed of the run (default: the scenario's 'seed', else 1)\n"
        "  --out DIR  write summary.json, objects.csv, nodes.csv, timeseries.csv, cdf.csv\n"
        "             and cdf.svg, traffic.svg, convergence.svg (run_<seed>/ per run and\n"
        "             aggregate.json/csv when --runs > 1)\n"
        "  --runs K   K runs with seeds N, N+1, ...; means and 95% confidence intervals\n"
        "  --set P=V  change one scenario line first: KEYWORD.KEY=V (protocol.k=3, link.loss=0.1),\n"
        "             repl.NAME=V, or KEYWORD=V (nodes=500, duration=2m); repeatable\n"
        "  --sweep P=V1,V2,...  run each value (with --runs K); sweep.csv has one row per value\n"
        "             (mean and 95% CI of every measure), sweep.svg plots --plot MEASURE\n"
        "             (default t_ave_ms) against it; without --out the CSV goes to stdout\n"
        "  --validate print docs/validation.md: every literature figure the simulator is\n"
        "             checked against, with its value and the command reproducing it\n"
        "             (--runs seeds per row, default 50; scenarios from --scenarios DIR,\n"
        "             default simulations/scenarios)\n"
        "  --report DIR  the runs in DIR/*/ (summary.json, time.txt) side by side: writes\n"
        "             DIR/report.csv and DIR/bytes.svg, prints a Markdown table\n"
        "  --quiet    print only failures\n"
        "Exit status: 0 all checks passed, 1 a check failed (or a figure left its band),\n"
        "2 usage or scenario error.\n",
        f);
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *out) {
  if (!s || !*s || *s == '-') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max) return -1;
  *out = v;
  return 0;
}

struct args {
  struct sim_opts o;
  const char *path, *sweep, *plot, *scenarios, *report;
  const char *set[SIM_SETS_MAX];
  int nset, validate, runs_set;
};

/* Where the value of a string option goes, or NULL. */
static const char **str_opt(struct args *a, const char *name) {
  static const struct {
    const char *name;
    size_t off;
  } opts[] = {{"--out", offsetof(struct args, o.out_dir)},
              {"--sweep", offsetof(struct args, sweep)},
              {"--plot", offsetof(struct args, plot)},
              {"--scenarios", offsetof(struct args, scenarios)},
              {"--report", offsetof(struct args, report)}};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
    if (!strcmp(name, opts[i].name)) return (const char **)((char *)a + opts[i].off);
  return NULL;
}

/* 0 ok, 1 --help printed, -1 usage error (printed). */
static int parse_args(int argc, char **argv, struct args *a) {
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long long x;
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      usage(stdout);
      return 1;
    } else if (!strcmp(s, "--version")) {
      printf("momedo-sim %s\n", MOMEDO_VERSION);
      return 1;
    } else if (!strcmp(s, "--seed")) {
      if (parse_num(v, UINT64_MAX, &x)) goto bad;
      a->o.seed = x, a->o.seed_set = 1, i++;
    } else if (!strcmp(s, "--runs")) {
      if (parse_num(v, SIM_RUNS_MAX, &x) || x == 0) goto bad;
      a->o.runs = (uint32_t)x, a->runs_set = 1, i++;
    } else if (str_opt(a, s)) {
      if (!v || !*v) goto bad;
      *str_opt(a, s) = v, i++;
    } else if (!strcmp(s, "--set")) {
      if (!v || a->nset == SIM_SETS_MAX) goto bad;
      a->set[a->nset++] = v, i++;
    } else if (!strcmp(s, "--validate")) {
      a->validate = 1;
    } else if (!strcmp(s, "--quiet")) {
      a->o.log = NULL;
    } else if (s[0] == '-' || a->path) {
      goto bad;
    } else {
      a->path = s;
    }
    continue;
  bad:
    fprintf(stderr, "momedo-sim: bad or incomplete argument '%s'\n", s);
    usage(stderr);
    return -1;
  }
  int alone = a->validate || a->report;
  if (a->validate && a->report) alone = 2;
  if (alone ? alone > 1 || a->path || a->sweep || a->nset || a->o.out_dir || (a->report && a->scenarios)
            : !a->path || a->scenarios || (a->plot && !a->sweep)) {
    fputs("momedo-sim: give a SCENARIO (--plot needs --sweep), or --validate or --report alone\n", stderr);
    usage(stderr);
    return -1;
  }
  return 0;
}

/* The scenario's text with every --set applied (owned by t). */
static int load(const struct args *a, struct sim_scn_text *t, char *why, size_t why_cap) {
  int rc = sim_scn_read(a->path, t, why, why_cap);
  for (int i = 0; !rc && i < a->nset; i++) {
    char *next;
    if (strlen(t->text) != t->len) {
      reason_set(why, why_cap, "%.200s: contains a NUL byte", a->path);
      return MOMEDO_E_CONFIG;
    }
    if ((rc = sim_scn_set(t->text, a->set[i], &next, why, why_cap))) return rc;
    free(t->text);
    t->text = next;
    t->len = strlen(next);
  }
  return rc;
}

int main(int argc, char **argv) {
  struct args a = {.o = {.runs = 1, .log = stderr}};
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc > 0 ? 0 : 2;
  char why[REASON_MAX] = "";
  if (a.report) {
    rc = sim_report(a.report, stdout, why, sizeof why);
  } else if (a.validate) {
    rc = sim_validate(a.scenarios ? a.scenarios : "simulations/scenarios", a.runs_set ? a.o.runs : 50, stdout,
                      a.o.log, why, sizeof why);
  } else {
    struct sim_scn_text t = {0};
    struct sim_scn *scn = NULL;
    if ((rc = load(&a, &t, why, sizeof why))) {
      sim_scn_text_free(&t);
      fprintf(stderr, "momedo-sim: %s\n", why);
      return 2;
    }
    if (a.sweep) {
      rc = sim_sweep(&t, a.sweep, a.plot, &a.o, why, sizeof why);
    } else if (!(rc = sim_scn_parse(t.text, t.len, t.name, t.dir, &scn, why, sizeof why))) {
      /* a failed check prints its seed even with --quiet */
      rc = sim_run_all(scn, &a.o, NULL, why, sizeof why);
      sim_scn_free(scn);
    }
    sim_scn_text_free(&t);
  }
  if (rc == MOMEDO_E_INTERNAL) return 1;
  if (rc) {
    fprintf(stderr, "momedo-sim: %s\n", why[0] ? why : momedo_strerror(rc));
    return 2;
  }
  return 0;
}
