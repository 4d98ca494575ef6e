/* tests/unit/test_sim_valid.c — the classic protocols against the literature: the
 * validation table of simulations/sim_valid.c (Demers et al. 1987 Tables 1-3 row by
 * row, Pittel's log2 n + ln n for push, Karp et al.'s log3 n + log2 ln n for push-pull,
 * s = e^-m) with each section's test seeds (4-10), every asserted figure within its band;
 * docs/validation.md is the same table with 50 seeds. And the bands discriminate: the
 * simulator's earlier reading of Demers' counter (interest=total) misses Table 1. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

static char scn_dir[1024];

static void find_scenarios(void) {
  snprintf(scn_dir, sizeof scn_dir, "%s", __FILE__);
  char *cut = strstr(scn_dir, "tests/unit/");
  if (cut) strcpy(cut, "simulations/scenarios");
}

static void test_table(void) {
  char err[REASON_MAX] = "";
  int rc = sim_validate(scn_dir, 0, NULL, stderr, err, sizeof err);
  if (rc && rc != MOMEDO_E_INTERNAL) fprintf(stderr, "%s\n", err);
  CHECK_EQ(rc, 0);
}

/* Mean of a summary field over runs seeds of a shipped scenario with --set changes. */
static double mean_of(const char *file, const char *const *sets, uint32_t runs, size_t field) {
  char path[1200], err[REASON_MAX];
  snprintf(path, sizeof path, "%s/%s", scn_dir, file);
  struct sim_scn_text t;
  if (sim_scn_read(path, &t, err, sizeof err)) return NAN;
  for (; *sets; sets++) {
    char *next;
    if (sim_scn_set(t.text, *sets, &next, err, sizeof err)) return NAN;
    free(t.text);
    t.text = next;
    t.len = strlen(next);
  }
  struct sim_scn *s = NULL;
  int rc = sim_scn_parse(t.text, t.len, t.name, t.dir, &s, err, sizeof err);
  sim_scn_text_free(&t);
  if (rc) return NAN;
  struct sim_summary sums[16];
  struct sim_opts o = {.runs = runs};
  rc = sim_run_all(s, &o, sums, err, sizeof err);
  sim_scn_free(s);
  if (rc) return NAN;
  double sum = 0;
  for (uint32_t i = 0; i < runs; i++) {
    double v;
    memcpy(&v, (const char *)&sums[i] + field, sizeof v);
    sum += v;
  }
  return sum / runs;
}

static void test_total_reading_misses(void) {
  static const char *const streak[] = {"protocol.k=2", NULL};
  static const char *const total[] = {"protocol.k=2", "protocol.interest=total", NULL};
  double ms = mean_of("demers_table1.scn", streak, 12, offsetof(struct sim_summary, traffic_m));
  double mt = mean_of("demers_table1.scn", total, 12, offsetof(struct sim_summary, traffic_m));
  double ss = mean_of("demers_table1.scn", streak, 12, offsetof(struct sim_summary, residue));
  double st = mean_of("demers_table1.scn", total, 12, offsetof(struct sim_summary, residue));
  printf("k=2: streak m %.3f s %.4f, total m %.3f s %.4f (paper 3.30, 0.037)\n", ms, ss, mt, st);
  CHECK(fabs(ms - 3.30) <= 0.05);
  CHECK(fabs(mt - 3.30) > 0.15); /* k unnecessary pushes in all: (k+1)(1-s) + collisions */
  CHECK(st > ss + 0.005);
}

static void test_pushpull_faster(void) {
  static const char *const none[] = {NULL};
  static const char *const push[] = {"protocol=ae_push", NULL};
  double pp = mean_of("pushpull_complete_1000.scn", none, 3, offsetof(struct sim_summary, rounds_last));
  double p = mean_of("pushpull_complete_1000.scn", push, 3, offsetof(struct sim_summary, rounds_last));
  printf("push-pull %.2f rounds, push %.2f\n", pp, p);
  CHECK(p > pp + 4);
}

int main(void) {
  find_scenarios();
  RUN(test_table);
  RUN(test_total_reading_misses);
  RUN(test_pushpull_faster);
  TEST_MAIN_END();
}
