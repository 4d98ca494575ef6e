/* tests/unit/test_sim_run.c — whole runs of momedo-sim's library: the same scenario
 * and seed give byte-identical output files and a different seed does not; the shared
 * validation cache and the simulator's store change nothing about a run; the momedo
 * partition scenario converges after the heal; an impossible bound fails with the
 * seed; classic protocols and faults keep their bookkeeping straight. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "sim.h"

static const char *const files[] = {"summary.json", "objects.csv", "nodes.csv", "timeseries.csv",
                                    "cdf.csv", "cdf.svg", "traffic.svg", "convergence.svg"};

static char *slurp(const char *dir, const char *name, size_t *n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(16u << 20);
  *n = buf ? fread(buf, 1, 16u << 20, f) : 0;
  fclose(f);
  return buf;
}

/* 1 when every output file of a and b has the same bytes. */
static int same_outputs(const char *a, const char *b) {
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    size_t na = 0, nb = 0;
    char *x = slurp(a, files[i], &na), *y = slurp(b, files[i], &nb);
    int same = x && y && na == nb && na > 0 && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    if (!same) return 0;
  }
  return 1;
}

static void tmpdir(char *out, size_t cap, const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  snprintf(out, cap, "%s/sim_%s", t ? t : "/tmp", name);
}

static struct sim_scn *scn(const char *text) {
  char err[REASON_MAX];
  struct sim_scn *s = NULL;
  if (sim_scn_parse(text, strlen(text), "t.scn", ".", &s, err, sizeof err)) fprintf(stderr, "%s\n", err);
  return s;
}

/* A small momedo run with everything that could leak nondeterminism: random graph,
 * random latencies, loss, duplication, bandwidth, tombstones, expiry, a crash. */
static const char *const chaos =
    "nodes 30\ntopology random_regular degree=4\nduration 4m\nprotocol momedo\n"
    "repl recon_interval_ms 20s\n"
    "link latency=lognormal:2.5:0.6 bandwidth=200000 loss=0.01 dup=0.01\n"
    "publish bundle count=15 from=all every=3s\n"
    "publish item count=40 from=all to=all every=2s ttl=90s tombstone=0.5 tombstone_delay=10s size=80\n"
    "crash nodes=4 at=30s restart=70s store=wiped\n"
    "swizzle start=20s step=2s count=5\n"
    "check safety converge_within=2m\n";

static void test_determinism(void) {
  char a[512], b[512], c[512], err[REASON_MAX];
  tmpdir(a, sizeof a, "det_a");
  tmpdir(b, sizeof b, "det_b");
  tmpdir(c, sizeof c, "det_c");
  struct sim_scn *s = scn(chaos);
  CHECK(s != NULL);
  struct sim_summary x, y, z;
  CHECK_EQ(sim_run_one(s, 77, a, NULL, &x, err, sizeof err), 0);
  CHECK_EQ(sim_run_one(s, 77, b, NULL, &y, err, sizeof err), 0);
  CHECK_EQ(sim_run_one(s, 78, c, NULL, &z, err, sizeof err), 0);
  CHECK(x.objects > 40);
  CHECK(x.msgs > 1000);
  CHECK_EQ(x.safety_violations, 0);
  CHECK(same_outputs(a, b));
  CHECK(!same_outputs(a, c));
  CHECK(x.msgs != z.msgs || x.bytes != z.bytes);
  sim_scn_free(s);
}

/* The validation cache, the simulator's store and the holdings bitset are
 * optimisations only: turning them off (obj_validate on every copy;
 * protocol/store_mem.c; a map of copies per node) gives the same bytes. */
static void test_transparent(void) {
  char a[512], b[512], err[REASON_MAX];
  tmpdir(a, sizeof a, "opt_on");
  tmpdir(b, sizeof b, "opt_off");
  struct sim_scn *s = scn(chaos);
  CHECK(s != NULL);
  struct sim_summary x, y;
  CHECK_EQ(sim_run_one(s, 5, a, NULL, &x, err, sizeof err), 0);
  setenv("MOMEDO_SIM_VALIDATE", "full", 1);
  setenv("MOMEDO_SIM_STORE", "mem", 1);
  setenv("MOMEDO_SIM_HOLD", "map", 1);
  int rc = sim_run_one(s, 5, b, NULL, &y, err, sizeof err);
  unsetenv("MOMEDO_SIM_VALIDATE");
  unsetenv("MOMEDO_SIM_STORE");
  unsetenv("MOMEDO_SIM_HOLD");
  CHECK_EQ(rc, 0);
  CHECK(same_outputs(a, b));
  sim_scn_free(s);
}

static void test_partition_heal(void) {
  char path[1024], err[REASON_MAX];
  snprintf(path, sizeof path, "%s", __FILE__);
  char *cut = strstr(path, "tests/unit/");
  CHECK(cut != NULL);
  strcpy(cut, "simulations/scenarios/partition_heal.scn");
  struct sim_scn *s;
  CHECK_EQ(sim_scn_load(path, &s, err, sizeof err), 0);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    struct sim_summary m;
    int rc = sim_run_one(s, seed, NULL, NULL, &m, err, sizeof err);
    if (rc) fprintf(stderr, "seed %llu: %s %s\n", (unsigned long long)seed, err, m.failure);
    CHECK_EQ(rc, 0);
    CHECK(!m.failed);
    CHECK_EQ(m.safety_violations, 0);
    /* Converged after the heal, within the scenario's bound of 5 minutes. */
    CHECK(m.converge_ms >= 0 && m.converge_ms <= 300000);
    CHECK(m.reliability == 1.0);
    CHECK(m.residue == 0.0);
    /* Objects published on one side during the partition waited for the heal. */
    CHECK(m.t_last_max_ms > 60000);
  }
  sim_scn_free(s);
}

/* A bound that cannot hold: partition with anti-entropy every 10 minutes and a heal
 * deadline of 1 ms. The run fails, says why, and keeps the seed. */
static void test_failure_reports_seed(void) {
  char err[REASON_MAX];
  struct sim_scn *s = scn("nodes 20\ntopology ring\nduration 10m\nprotocol momedo\n"
                          "repl recon_interval_ms 10m\nrepl recon_start_delay_ms_max 10m\n"
                          "publish bundle count=10 from=0-9 every=1s start=2m\n"
                          "partition start=1m heal=5m group=0-9\ncheck converge_within=1ms\n");
  CHECK(s != NULL);
  struct sim_summary m;
  CHECK_EQ(sim_run_one(s, 4242, NULL, NULL, &m, err, sizeof err), MOMEDO_E_INTERNAL);
  CHECK(m.failed);
  CHECK_EQ(m.seed, 4242);
  CHECK(strstr(m.failure, "not converged 1 ms after the heal at 300000.000 ms") != NULL);
  sim_scn_free(s);
}

static void test_classic_faults(void) {
  char err[REASON_MAX];
  static const char *const protos[] = {"ae_push", "ae_pull", "ae_pushpull", "rumor k=3"};
  for (int i = 0; i < 4; i++) {
    char text[1024];
    snprintf(text, sizeof text,
             "nodes 200\ntopology random_regular degree=6\nduration 5m\nprotocol %s period=1s\n"
             "link latency=uniform:5ms:50ms loss=0.05 max_conns=5\n"
             "publish item count=20 from=all every=2s\n"
             "partition start=10s heal=60s group=0-99\ncrash nodes=7 at=5s restart=30s store=wiped\n"
             "churn nodes=100-120 start=0 end=2m uptime=1m downtime=const:5s\n",
             protos[i]);
    struct sim_scn *s = scn(text);
    CHECK(s != NULL);
    struct sim_summary m;
    CHECK_EQ(sim_run_one(s, 3, NULL, NULL, &m, err, sizeof err), 0);
    CHECK_EQ(m.objects, 20);
    CHECK(m.msgs_lost > 0);
    if (i < 3) CHECK(m.residue == 0.0); /* anti-entropy reaches everyone eventually */
    CHECK(m.traffic_m > 0.9);
    sim_scn_free(s);
  }
}

/* The engine under cycle mode: one tick per cycle, messages land at the next boundary;
 * safety and expiry checks allow one cycle of grace. */
static void test_momedo_cycles(void) {
  char err[REASON_MAX];
  struct sim_scn *s = scn("nodes 60\ntopology small_world k=4 beta=0.1\nmode cycle length=500ms\n"
                          "duration 2m\nprotocol momedo\nrepl recon_interval_ms 10s\n"
                          "publish bundle count=10 from=all every=1s\n"
                          "publish item count=20 from=all to=all every=1s ttl=40s tombstone=0.5 tombstone_delay=5s\n"
                          "crash nodes=5 at=10s restart=20s store=kept\ncheck safety converge_within=1m\n");
  CHECK(s != NULL);
  struct sim_summary m;
  CHECK_EQ(sim_run_one(s, 9, NULL, NULL, &m, err, sizeof err), 0);
  CHECK(!m.failed);
  CHECK(m.rounds_last >= 2);
  CHECK(m.hops_last >= 2);
  /* messages take whole cycles: every delay is a multiple of 500 ms */
  CHECK(fmod(m.t_last_max_ms, 500.0) == 0.0);
  CHECK(m.converge_ms >= 0);
  sim_scn_free(s);
}

static void test_runs_aggregate(void) {
  char dir[512], err[REASON_MAX];
  tmpdir(dir, sizeof dir, "agg");
  struct sim_scn *s = scn("nodes 100\ntopology complete\nmode cycle length=1s\nduration 40s\n"
                          "protocol ae_push\npublish item count=1 from=random:1\n");
  CHECK(s != NULL);
  struct sim_summary sums[4];
  struct sim_opts o = {.seed = 10, .seed_set = 1, .runs = 4, .out_dir = dir, .log = NULL};
  CHECK_EQ(sim_run_all(s, &o, sums, err, sizeof err), 0);
  for (int i = 0; i < 4; i++) CHECK_EQ(sums[i].seed, 10 + (uint64_t)i);
  size_t n;
  char sub[600];
  snprintf(sub, sizeof sub, "%s/run_12", dir);
  char *x = slurp(sub, "summary.json", &n);
  CHECK(x != NULL);
  free(x);
  x = slurp(dir, "aggregate.json", &n);
  CHECK(x != NULL);
  cJSON *agg = cJSON_Parse(x); /* one key per line, and valid JSON */
  CHECK(agg != NULL);
  CHECK(strstr(x, "\n  \"runs\": 4,\n") != NULL);
  CHECK_EQ(cJSON_GetObjectItem(agg, "runs")->valueint, 4);
  CHECK_EQ(cJSON_GetObjectItem(agg, "first_seed")->valueint, 10);
  const cJSON *rl = cJSON_GetObjectItem(agg, "rounds_last");
  CHECK(rl != NULL && cJSON_GetObjectItem(rl, "n")->valueint == 4);
  CHECK(cJSON_IsNumber(cJSON_GetObjectItem(rl, "mean")));
  cJSON_Delete(agg);
  free(x);
  sim_scn_free(s);
}

/* The same federation and traffic flooded and scoped (the real engine with custody and
 * routes): both deliver everything to every node that wants it and converge after a
 * crash; scoped holds a small fraction of flooding's bytes per node, sends node records
 * and custody messages, keeps paths near the shortest, and finds every user by lookup
 * (by summary and by hint) through routed messages; flooding answers lookups locally. */
static void test_scoped_vs_flood(void) {
  static const char *const text =
      "topology federation counties=2 hubs=2 cities=4 schools=6\nduration 6m\nprotocol momedo\n"
      "repl scope %s\nrepl recon_interval_ms 60s\nlink latency=uniform:5ms:20ms\n"
      "publish bundle count=30 from=all every=2s\n"
      "publish item count=60 from=all to=all start=1m every=2s size=200 tombstone=0.3 "
      "tombstone_delay=1m partners=1\n"
      "publish lookup count=10 from=all start=3m every=10s\n"
      "publish lookup count=10 from=all start=3m every=10s hint=1\n"
      "crash nodes=5 at=30s restart=1m store=kept\n"
      "check safety delivered converge_within=3m\n";
  struct sim_summary sum[2];
  const char *mode[2] = {"flood", "scoped"};
  for (int i = 0; i < 2; i++) {
    char buf[1024], err[REASON_MAX];
    snprintf(buf, sizeof buf, text, mode[i]);
    struct sim_scn *s = scn(buf);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ(s->scoped, i);
    CHECK_EQ(sim_run_one(s, 5, NULL, NULL, &sum[i], err, sizeof err), 0);
    sim_scn_free(s);
    CHECK(!sum[i].failed);
    CHECK_EQ(sum[i].safety_violations, 0);
    CHECK(sum[i].reliability == 1.0);
    CHECK(sum[i].converge_ms >= 0);
    CHECK(sum[i].lookups == 20 && sum[i].lookup_found == 1.0);
  }
  CHECK(sum[1].stored_bytes_per_node_mean * 10 < sum[0].stored_bytes_per_node_mean);
  CHECK(sum[1].path_stretch_mean >= 1.0 && sum[1].path_stretch_mean < 1.1);
  CHECK(sum[0].record_bytes_per_node == 0 && sum[1].record_bytes_per_node > 0);
  CHECK(sum[0].custody_bytes_per_node == 0 && sum[1].custody_bytes_per_node > 0);
  CHECK(sum[0].lookup_msgs_mean == 0 && sum[1].lookup_msgs_mean > 0);
  CHECK(sum[0].transit_bytes_per_node_mean == 0);
}

/* start=setup: users registered before the run are in their nodes' first records, so a
 * lookup by user ID alone finds them at once; users registered during the run are in
 * the records only after record_min_interval_ms (60 s), when their nodes re-sign (more
 * record traffic). */
static void test_users_at_setup(void) {
  static const char *const text =
      "topology federation counties=2 hubs=2 cities=4 schools=6\nduration 90s\nprotocol momedo\n"
      "repl scope scoped\nlink latency=uniform:5ms:20ms\n"
      "publish bundle count=30 from=all %s\n"
      "publish lookup count=10 from=all start=35s every=1s\n"
      "check safety delivered\n";
  struct sim_summary sum[2];
  const char *start[2] = {"start=setup", "every=1s"};
  for (int i = 0; i < 2; i++) {
    char buf[1024], err[REASON_MAX];
    snprintf(buf, sizeof buf, text, start[i]);
    struct sim_scn *s = scn(buf);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ(s->work[0].at_setup, i == 0);
    CHECK_EQ(sim_run_one(s, 9, NULL, NULL, &sum[i], err, sizeof err), 0);
    sim_scn_free(s);
    CHECK(!sum[i].failed);
    CHECK(sum[i].reliability == 1.0); /* every bundle at its home and partner */
    CHECK_EQ(sum[i].lookups, 10);
  }
  CHECK(sum[0].lookup_found == 1.0);
  CHECK(sum[1].lookup_found < 0.5); /* only where the asking node is the user's own */
  CHECK(sum[0].record_bytes_per_node < sum[1].record_bytes_per_node);
}

/* --report: two runs side by side; the table and CSV carry each run's own summary values
 * and the time.txt figures, bytes.svg is written; a truncated summary is left out; a
 * directory without runs is refused. */
static void test_report(void) {
  char dir[512], sub[600], err[REASON_MAX];
  tmpdir(dir, sizeof dir, "report");
  struct sim_summary sum[2];
  for (int i = 0; i < 2; i++) {
    char text[512];
    snprintf(text, sizeof text, "nodes %d\ntopology ring\nduration 2m\nprotocol momedo\n"
             "repl recon_interval_ms 10s\npublish item count=4 from=all to=all every=5s\n", 10 * (i + 1));
    struct sim_scn *s = scn(text);
    CHECK(s != NULL);
    if (!s) return;
    snprintf(sub, sizeof sub, "%s/flood_%d", dir, 10 * (i + 1));
    CHECK_EQ(sim_run_one(s, 3, sub, NULL, &sum[i], err, sizeof err), 0);
    sim_scn_free(s);
  }
  snprintf(sub, sizeof sub, "%s/flood_20/time.txt", dir);
  FILE *f = fopen(sub, "w");
  CHECK(f != NULL);
  if (f) fputs("12.5 2048 11.0\n", f), fclose(f);
  /* a run cut off mid-write: not JSON, so left out (a line reader took its "nodes") */
  snprintf(sub, sizeof sub, "%s/flood_30", dir);
  CHECK(mkdir(sub, 0755) == 0 || errno == EEXIST); /* the test directory outlives a run */
  snprintf(sub, sizeof sub, "%s/flood_30/summary.json", dir);
  f = fopen(sub, "w");
  CHECK(f != NULL);
  if (f) fputs("{\n  \"scenario\": \"cut\",\n  \"nodes\": 30,\n  \"bytes_per_node\": 1", f), fclose(f);
  char *md = NULL;
  size_t mdn = 0;
  FILE *m = open_memstream(&md, &mdn);
  CHECK_EQ(sim_report(dir, m, err, sizeof err), 0);
  fclose(m);
  CHECK(md && strstr(md, "| flood | 10 | ") != NULL && strstr(md, "| flood | 20 | ") != NULL);
  CHECK(md && strstr(md, "| 12.5 | 11.0 | 2 |") != NULL); /* wall s, CPU s, RSS MiB */
  CHECK(md && strstr(md, "| flood | 30 | ") == NULL);
  free(md);
  size_t n;
  char *csv = slurp(dir, "report.csv", &n), want[128];
  CHECK(csv != NULL);
  snprintf(want, sizeof want, "flood_10,t,flood,10,4,%.6g,", sum[0].bytes_per_node);
  CHECK(csv && strstr(csv, want) != NULL);
  free(csv);
  char *svg = slurp(dir, "bytes.svg", &n);
  CHECK(svg && strstr(svg, "flood: KiB sent per node") != NULL);
  free(svg);
  snprintf(sub, sizeof sub, "%s/flood_10", dir);
  CHECK_EQ(sim_report(sub, NULL, err, sizeof err), MOMEDO_E_NOTFOUND); /* a run, not a series */
}

int main(void) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  if (t) mkdir(t, 0755);
  RUN(test_determinism);
  RUN(test_transparent);
  RUN(test_partition_heal);
  RUN(test_failure_reports_seed);
  RUN(test_classic_faults);
  RUN(test_momedo_cycles);
  RUN(test_runs_aggregate);
  RUN(test_users_at_setup);
  RUN(test_report);
  RUN(test_scoped_vs_flood);
  TEST_MAIN_END();
}
