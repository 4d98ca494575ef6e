/* simulations/main.c — momedo-sim: parse the command line, load the scenario, run it
 * with one or K seeds, and exit non-zero when a check failed (after printing the seed
 * that replays the failure). All the work is in the momedo_sim library. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void usage(FILE *f) {
  fputs("usage: momedo-sim SCENARIO [--seed N] [--out DIR] [--runs K] [--quiet]\n"
        "  Runs a deterministic discrete-event simulation of momedo nodes (or of a classic\n"
        "  epidemic protocol) described by SCENARIO; see simulations/README.md.\n"
        "  --seed N   seed of the run (default: the scenario's 'seed', else 1)\n"
        "  --out DIR  write summary.json, objects.csv, nodes.csv, timeseries.csv, cdf.csv\n"
        "             and cdf.svg, traffic.svg, convergence.svg (run_<seed>/ per run and\n"
        "             aggregate.json/csv when --runs > 1)\n"
        "  --runs K   K runs with seeds N, N+1, ...; means and 95% confidence intervals\n"
        "  --quiet    print only failures\n"
        "Exit status: 0 all checks passed, 1 a check failed, 2 usage or scenario error.\n",
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

int main(int argc, char **argv) {
  struct sim_opts o = {.runs = 1, .log = stderr};
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long long x;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--seed")) {
      if (parse_num(v, UINT64_MAX, &x)) goto bad;
      o.seed = x, o.seed_set = 1, i++;
    } else if (!strcmp(a, "--runs")) {
      if (parse_num(v, SIM_RUNS_MAX, &x) || x == 0) goto bad;
      o.runs = (uint32_t)x, i++;
    } else if (!strcmp(a, "--out")) {
      if (!v || !*v) goto bad;
      o.out_dir = v, i++;
    } else if (!strcmp(a, "--quiet")) {
      o.log = NULL;
    } else if (a[0] == '-' || path) {
      goto bad;
    } else {
      path = a;
    }
    continue;
  bad:
    fprintf(stderr, "momedo-sim: bad or incomplete argument '%s'\n", a);
    usage(stderr);
    return 2;
  }
  if (!path) {
    usage(stderr);
    return 2;
  }
  char err[SIM_ERR_CHARS];
  struct sim_scn *scn = NULL;
  int rc = sim_scn_load(path, &scn, err);
  if (rc) {
    fprintf(stderr, "momedo-sim: %s\n", err);
    return 2;
  }
  rc = sim_run_all(scn, &o, NULL, err); /* a failed check prints its seed even with --quiet */
  sim_scn_free(scn);
  if (rc == MOMEDO_E_INTERNAL) return 1;
  if (rc) {
    fprintf(stderr, "momedo-sim: %s\n", err[0] ? err : momedo_strerror(rc));
    return 2;
  }
  return 0;
}
