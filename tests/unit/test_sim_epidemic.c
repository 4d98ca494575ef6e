/* tests/unit/test_sim_epidemic.c — the classic protocols against the literature, on
 * a complete graph of n = 1000 nodes in synchronous rounds, averaged over seeds:
 *  - push, infect forever: log2(n) + ln(n) + O(1) rounds (Frieze & Grimmett 1985,
 *    Pittel 1987) = 16.9 + O(1);
 *  - push-pull: log3(n) + O(log log n) (Karp et al. 2000). We take the doubly
 *    logarithmic term as log2(ln n): in the last rounds pull squares the uninformed
 *    fraction, so going from 1/n-ish to 0 takes log2(ln n) rounds: 6.29 + 2.79 = 9.08;
 *  - rumor mongering with feedback and counter k = 1: residue 0.176 and traffic 1.74
 *    messages per node (Demers et al. 1987, Table 1).
 * Tolerances: +-25% for the round counts — the formulas hide O(1) terms (Pittel's
 * constant alone is about 1 round here) and a mean over 10 seeds has a standard error
 * of about 0.3 rounds, while a wrong model is far outside (pull-only or push with
 * loss of interest change the count by 30-100%); +-0.025 and +-0.15 for Demers'
 * residue and traffic (about 4 standard errors over 30 seeds; the asynchronous
 * PeerSim-style order already lands outside: 0.205 and 1.59). */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

static double mean_of(const char *text, uint32_t runs, int field) {
  char err[SIM_ERR_CHARS];
  struct sim_scn *s = NULL;
  if (sim_scn_parse(text, strlen(text), "t.scn", ".", &s, err)) {
    fprintf(stderr, "%s\n", err);
    return NAN;
  }
  struct sim_summary sums[40];
  struct sim_opts o = {.seed = 1000, .seed_set = 1, .runs = runs, .out_dir = NULL, .log = NULL};
  int rc = sim_run_all(s, &o, sums, err);
  sim_scn_free(s);
  if (rc) return NAN;
  double sum = 0;
  for (uint32_t i = 0; i < runs; i++)
    sum += field == 0 ? sums[i].rounds_last : field == 1 ? sums[i].residue : sums[i].traffic_m;
  return sum / runs;
}

static const char *const base = "nodes 1000\ntopology complete\nmode cycle length=1s order=sync\n"
                                "duration 40s\npublish item count=1 from=random:1\n";

static void test_push_pittel(void) {
  char text[512];
  snprintf(text, sizeof text, "%sprotocol rumor k=0\n", base);
  double rounds = mean_of(text, 10, 0), n = 1000;
  double theory = log2(n) + log(n);
  printf("push: %.2f rounds, theory %.2f\n", rounds, theory);
  CHECK(fabs(rounds - theory) <= 0.25 * theory);
}

static void test_pushpull_karp(void) {
  char text[512];
  snprintf(text, sizeof text, "%sprotocol ae_pushpull\n", base);
  double rounds = mean_of(text, 10, 0), n = 1000;
  double theory = log(n) / log(3) + log2(log(n));
  printf("push-pull: %.2f rounds, theory %.2f\n", rounds, theory);
  CHECK(fabs(rounds - theory) <= 0.25 * theory);
  /* and push-pull is clearly faster than push */
  char push[512];
  snprintf(push, sizeof push, "%sprotocol ae_push\n", base);
  CHECK(mean_of(push, 5, 0) > rounds + 4);
}

static void test_demers_feedback_counter(void) {
  char text[512];
  snprintf(text, sizeof text, "%sprotocol rumor k=1 feedback=feedback loss=counter\n", base);
  double s = mean_of(text, 30, 1), m = mean_of(text, 30, 2);
  printf("feedback/counter k=1: residue %.3f (0.176), traffic %.3f (1.74)\n", s, m);
  CHECK(fabs(s - 0.176) <= 0.025);
  CHECK(fabs(m - 1.74) <= 0.15);
}

int main(void) {
  RUN(test_push_pittel);
  RUN(test_pushpull_karp);
  RUN(test_demers_feedback_counter);
  TEST_MAIN_END();
}
