/* simulations/main.c — momedo-sim: parse the command line, load the scenario (with
 * --set changes), run it with one or K seeds or sweep a parameter, print the
 * validation page, or report a series of runs; exit non-zero when a check failed (after printing the seed that
 * replays the failure). All the work is in the momedo_sim library. */
#include <errno.h>
#include <getopt.h>
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

enum { OPT_SEED = 256, OPT_RUNS, OPT_OUT, OPT_SWEEP, OPT_PLOT, OPT_SCENARIOS, OPT_REPORT,
       OPT_SET, OPT_VALIDATE, OPT_QUIET, OPT_VERSION };

static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, OPT_VERSION},
    {"seed", required_argument, NULL, OPT_SEED}, {"runs", required_argument, NULL, OPT_RUNS},
    {"out", required_argument, NULL, OPT_OUT}, {"sweep", required_argument, NULL, OPT_SWEEP},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"scenarios", required_argument, NULL, OPT_SCENARIOS},
    {"report", required_argument, NULL, OPT_REPORT}, {"set", required_argument, NULL, OPT_SET},
    {"validate", no_argument, NULL, OPT_VALIDATE}, {"quiet", no_argument, NULL, OPT_QUIET},
    {NULL, 0, NULL, 0},
};

/* One option (c: getopt_long's val, v its value). 0 ok, 1 done (--help, --version),
 * -1 bad value. */
static int take_opt(struct args *a, int c, const char *v) {
  unsigned long long x;
  const char **str = NULL;
  switch (c) {
  case 'h': usage(stdout); return 1;
  case OPT_VERSION: printf("momedo-sim %s\n", MOMEDO_VERSION); return 1;
  case OPT_SEED:
    if (parse_num(v, UINT64_MAX, &x)) return -1;
    a->o.seed = x, a->o.seed_set = 1;
    return 0;
  case OPT_RUNS:
    if (parse_num(v, SIM_RUNS_MAX, &x) || x == 0) return -1;
    a->o.runs = (uint32_t)x, a->runs_set = 1;
    return 0;
  case OPT_SET:
    if (a->nset == SIM_SETS_MAX) return -1;
    a->set[a->nset++] = v;
    return 0;
  case OPT_VALIDATE: a->validate = 1; return 0;
  case OPT_QUIET: a->o.log = NULL; return 0;
  case OPT_OUT: str = &a->o.out_dir; break;
  case OPT_SWEEP: str = &a->sweep; break;
  case OPT_PLOT: str = &a->plot; break;
  case OPT_SCENARIOS: str = &a->scenarios; break;
  case OPT_REPORT: str = &a->report; break;
  default: return -1;
  }
  if (!*v) return -1;
  *str = v;
  return 0;
}

/* "bad or incomplete argument '--seed'" for getopt_long's answer c, and the usage. */
static void bad_arg(int c, int argc, char **argv) {
  char name[32];
  const char *s = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
  if (c == 1) s = optarg; /* a second SCENARIO */
  else if (c == '?' && optopt && optopt < 256) snprintf(name, sizeof name, "-%c", optopt), s = name;
  for (const struct option *o = long_opts; c >= 256 && o->name; o++)
    if (o->val == c) snprintf(name, sizeof name, "--%s", o->name), s = name;
  fprintf(stderr, "momedo-sim: bad or incomplete argument '%s'\n", s);
  usage(stderr);
}

/* 0 ok, 1 --help printed, -1 usage error (printed). getopt_long in order: options and
 * the one SCENARIO in any order; a later value of an option replaces an earlier one. */
static int parse_args(int argc, char **argv, struct args *a) {
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "-:h", long_opts, NULL)) != -1) {
    int rc = c == 1 ? (a->path ? -1 : (a->path = optarg, 0))
                    : c == '?' || c == ':' ? -1 : take_opt(a, c, optarg);
    if (rc == 1) return 1;
    if (rc < 0) {
      bad_arg(c, argc, argv);
      return -1;
    }
  }
  if (optind < argc) { /* after "--": the scenario */
    if (a->path || optind + 1 < argc) {
      fprintf(stderr, "momedo-sim: bad or incomplete argument '%s'\n", argv[argc - 1]);
      usage(stderr);
      return -1;
    }
    a->path = argv[optind];
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
