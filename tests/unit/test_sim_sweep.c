/* tests/unit/test_sim_sweep.c — --set and --sweep: a scenario line rewritten as the
 * PARAM names it (a key replaced or added, a repl line, a positional keyword, a line
 * added), malformed PARAM=VALUE refused with a reason, and a sweep writes one CSV row
 * per value with means and 95% CIs that agree with plain --runs, plus the SVG; pull
 * and push-pull rumor mongering parse and run in event mode too. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

static const char *const base = "# a comment line\nnodes 50\ntopology complete\n"
                                "protocol rumor k=2 feedback=feedback # keep me\n"
                                "publish item count=1 from=random:1\n";

static char *set(const char *text, const char *assign) {
  char *out = NULL, err[REASON_MAX];
  if (sim_scn_set(text, assign, &out, err, sizeof err)) fprintf(stderr, "%s\n", err);
  return out;
}

static void test_set_forms(void) {
  char *t = set(base, "protocol.k=5");
  CHECK(t != NULL);
  CHECK(strstr(t, "protocol rumor k=5 feedback=feedback\n") != NULL); /* its comment went */
  CHECK(strstr(t, "# a comment line\nnodes 50\n") != NULL);           /* the rest kept */
  free(t);
  t = set(base, "protocol.direction=pull");
  CHECK(t && strstr(t, "protocol rumor k=2 feedback=feedback direction=pull\n"));
  free(t);
  t = set(base, "nodes=70");
  CHECK(t && strstr(t, "\nnodes 70\n") && !strstr(t, "nodes 50"));
  free(t);
  t = set(base, "link.loss=0.1"); /* no link line: one is added */
  CHECK(t && strstr(t, "\nlink loss=0.1\n"));
  free(t);
  t = set("nodes 5\nrepl recon_branch 4\nrepl recon_interval_ms 2s\n", "repl.recon_interval_ms=7s");
  CHECK(t && !strcmp(t, "nodes 5\nrepl recon_branch 4\nrepl recon_interval_ms 7s\n"));
  free(t);
  t = set(base, "topology=random_regular degree=4"); /* KEYWORD=VALUE takes spaces */
  CHECK(t && strstr(t, "\ntopology random_regular degree=4\n"));
  struct sim_scn *s = NULL;
  char err[REASON_MAX];
  CHECK_EQ(sim_scn_parse(t, strlen(t), "t.scn", ".", &s, err, sizeof err), 0);
  CHECK_EQ(s->degree, 4);
  sim_scn_free(s);
  free(t);
}

static void test_set_errors(void) {
  static const struct {
    const char *assign, *why;
  } bad[] = {
      {"protocol.k", "expected PARAM=VALUE"},
      {"=3", "expected PARAM=VALUE"},
      {"protocol.k=", "expected PARAM=VALUE"},
      {"Protocol.k=3", "PARAM is KEYWORD or KEYWORD.KEY"},
      {"protocol..k=3", "PARAM is KEYWORD or KEYWORD.KEY"},
      {"protocol.k.x=3", "PARAM is KEYWORD or KEYWORD.KEY"},
      {"protocol.=3", "PARAM is KEYWORD or KEYWORD.KEY"},
      {"protocol.k=3 #x", "VALUE must be printable"},
      {"protocol.k=1 2", "VALUE must be printable"},
      {"nodes=1\n2", "VALUE must be printable"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *out = (char *)1, err[REASON_MAX] = "";
    CHECK_EQ(sim_scn_set(base, bad[i].assign, &out, err, sizeof err), MOMEDO_E_CONFIG);
    CHECK(out == NULL);
    if (!strstr(err, bad[i].why)) fprintf(stderr, "'%s': %s\n", bad[i].assign, err);
    CHECK(strstr(err, bad[i].why) != NULL);
  }
  char long_param[200];
  memset(long_param, 'a', 100);
  strcpy(long_param + 100, "=1");
  char *out, err[REASON_MAX];
  CHECK_EQ(sim_scn_set(base, long_param, &out, err, sizeof err), MOMEDO_E_CONFIG);
  /* a set that yields a bad scenario is the parser's to refuse */
  char *t = set(base, "protocol.k=-1");
  struct sim_scn *s = NULL;
  CHECK(t != NULL);
  CHECK_EQ(sim_scn_parse(t, strlen(t), "t.scn", ".", &s, err, sizeof err), MOMEDO_E_CONFIG);
  CHECK(strstr(err, "t.scn:4: k must be 0..1000") != NULL);
  free(t);
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = 0;
  for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
  fclose(f);
  return n;
}

static void test_sweep(void) {
  const char *tmp = getenv("MOMEDO_TEST_TMP");
  char dir[512], path[600], err[REASON_MAX] = "";
  snprintf(dir, sizeof dir, "%s/sim_sweep", tmp ? tmp : "/tmp");
  struct sim_scn_text t = {.len = 0};
  const char *text = "nodes 200\ntopology complete\nmode cycle length=1s\nduration 40s\n"
                     "protocol rumor k=1\npublish item count=1 from=random:1\n";
  t.text = strdup(text);
  t.len = strlen(text);
  strcpy(t.dir, ".");
  strcpy(t.name, "sw.scn");
  struct sim_opts o = {.runs = 4, .out_dir = dir};
  CHECK_EQ(sim_sweep(&t, "protocol.k=1,3", "residue", &o, err, sizeof err), 0);
  snprintf(path, sizeof path, "%s/sweep.csv", dir);
  CHECK_EQ(count_lines(path), 3);
  snprintf(path, sizeof path, "%s/sweep.svg", dir);
  CHECK(count_lines(path) > 5);
  /* the k = 3 row equals a plain 4-seed run of the same scenario */
  snprintf(path, sizeof path, "%s/sweep.csv", dir);
  FILE *f = fopen(path, "r");
  char line[4096] = "";
  CHECK(f != NULL);
  for (int i = 0; i < 3 && fgets(line, sizeof line, f); i++) {}
  fclose(f);
  CHECK(!strncmp(line, "protocol.k,3,3,4,0,", 19));
  char *k3 = set(text, "protocol.k=3");
  struct sim_scn *s = NULL;
  CHECK_EQ(sim_scn_parse(k3, strlen(k3), "sw.scn", ".", &s, err, sizeof err), 0);
  free(k3);
  struct sim_summary sums[4];
  struct sim_opts plain = {.runs = 4};
  CHECK_EQ(sim_run_all(s, &plain, sums, err, sizeof err), 0);
  sim_scn_free(s);
  struct sim_agg a = sim_metric_agg(sums, 4, (uint32_t)sim_metric_find("residue"));
  char want[64];
  snprintf(want, sizeof want, ",%.6g,%.6g,%.6g", a.mean, a.mean - a.ci, a.mean + a.ci);
  int col = 5 + 3 * sim_metric_find("residue"); /* commas before residue_mean */
  const char *p = line;
  for (int i = 0; i < col && p; i++) p = strchr(p + 1, ',');
  CHECK(p && !strncmp(p, want, strlen(want)));
  /* categorical values, a bad value named with its PARAM, an unknown measure */
  CHECK_EQ(sim_sweep(&t, "protocol.direction=push,pull,pushpull", NULL, &o, err, sizeof err), 0);
  snprintf(path, sizeof path, "%s/sweep.svg", dir);
  CHECK(count_lines(path) > 5);
  CHECK_EQ(sim_sweep(&t, "protocol.k=1,x", NULL, &o, err, sizeof err), MOMEDO_E_CONFIG);
  CHECK(strstr(err, "with protocol.k=x: sw.scn:5: k must be") != NULL);
  CHECK_EQ(sim_sweep(&t, "protocol.k=1", "nonsense", &o, err, sizeof err), MOMEDO_E_CONFIG);
  CHECK_EQ(sim_sweep(&t, "protocol.k=1,,2", NULL, &o, err, sizeof err), MOMEDO_E_CONFIG);
  sim_scn_text_free(&t);
}

/* Pull and push-pull in event mode: requests, answers and feedback as messages. */
static void test_pull_event_mode(void) {
  static const char *const dirs[] = {"push", "pull", "pushpull"};
  double m[3];
  for (int i = 0; i < 3; i++) {
    char text[512], err[REASON_MAX];
    snprintf(text, sizeof text, "nodes 300\ntopology random_regular degree=8\nduration 2m\n"
             "protocol rumor k=2 direction=%s period=1s\nlink latency=uniform:5ms:50ms\n"
             "publish item count=20 from=all every=1s\n", dirs[i]);
    struct sim_scn *s = NULL;
    CHECK_EQ(sim_scn_parse(text, strlen(text), "t.scn", ".", &s, err, sizeof err), 0);
    struct sim_summary sum;
    CHECK_EQ(sim_run_one(s, 3, NULL, NULL, &sum, err, sizeof err), 0);
    sim_scn_free(s);
    printf("event mode %s: residue %.4f, traffic %.2f, t_last %.0f ms\n", dirs[i], sum.residue, sum.traffic_m,
           sum.t_last_ms);
    CHECK(sum.residue < 0.1);
    CHECK(sum.t_last_ms > 0);
    m[i] = sum.traffic_m;
  }
  CHECK(m[2] > m[0]); /* push-pull sends both ways */
}

int main(void) {
  RUN(test_set_forms);
  RUN(test_set_errors);
  RUN(test_sweep);
  RUN(test_pull_event_mode);
  TEST_MAIN_END();
}
