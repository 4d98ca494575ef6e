/* tests/unit/test_sim_scn.c — the scenario parser: a full scenario parses into the
 * expected fields; every kind of mistake is refused with the line number and a reason;
 * hard bounds hold; `repl` lines go through the engine's parameter table exactly as
 * momedo.conf does; every scenario shipped in simulations/scenarios/ parses. */
#include <dirent.h>
#include <string.h>

#include "harness.h"
#include "repl_param_cases.h"
#include "sim_scn.h"

static struct sim_scn *parse(const char *text, char err[static REASON_MAX]) {
  struct sim_scn *s = NULL;
  if (sim_scn_parse(text, strlen(text), "t.scn", ".", &s, err, REASON_MAX) != 0) return NULL;
  return s;
}

static void test_full(void) {
  char err[REASON_MAX];
  struct sim_scn *s = parse("# comment\n"
                            "name demo\nseed 42\nnodes 100\n"
                            "topology small_world k=4 beta=0.25\n"
                            "mode cycle length=2s order=async\nduration 10m\n"
                            "protocol rumor k=2 feedback=blind loss=coin period=500ms\n"
                            "link latency=uniform:10ms:50ms bandwidth=1000 loss=0.1 dup=0.2 reorder=0.3 "
                            "reorder_delay=exp:20 max_conns=5\n"
                            "publish item count=10 from=0-9,20 to=random:3 start=1s every=2s ttl=1h "
                            "tombstone=0.5 tombstone_delay=1m size=100  # trailing comment\n"
                            "partition start=1m heal=2m group=0-49\n"
                            "crash nodes=3 at=3m restart=4m store=wiped\n"
                            "swizzle start=5m step=1s count=7\n"
                            "churn start=0 end=9m uptime=2m downtime=normal:10s:2s\n"
                            "sample every=5s\n"
                            "check delivered converge_within=3m expiry_grace=2s\n",
                            err);
  CHECK(s != NULL);
  CHECK_STR(s->name, "demo");
  CHECK_EQ(s->seed, 42);
  CHECK_EQ(s->nodes, 100);
  CHECK_EQ(s->topo, SIM_TOPO_SMALL_WORLD);
  CHECK_EQ(s->sw_k, 4);
  CHECK(s->sw_beta == 0.25);
  CHECK_EQ(s->cycle_mode, 1);
  CHECK_EQ(s->cycle_async, 1);
  CHECK_EQ(s->cycle_ms, 2000);
  CHECK_EQ(s->duration_ms, 600000);
  CHECK_EQ(s->proto, SIM_PROTO_RUMOR);
  CHECK_EQ(s->rumor_k, 2);
  CHECK_EQ(s->rumor_feedback, 0);
  CHECK_EQ(s->rumor_coin, 1);
  CHECK_EQ(s->period_ms, 500);
  CHECK_EQ(s->latency.kind, SIM_DIST_UNIFORM);
  CHECK(s->latency.a == 10 && s->latency.b == 50);
  CHECK_EQ(s->reorder_delay.kind, SIM_DIST_EXP);
  CHECK_EQ(s->bandwidth_bps, 1000);
  CHECK_EQ(s->max_conns, 5);
  CHECK_EQ(s->nwork, 1);
  CHECK_EQ(s->work[0].count, 10);
  CHECK_EQ(s->work[0].from.kind, SIM_SEL_LIST);
  CHECK_EQ(s->work[0].from.nparts, 2);
  CHECK_EQ(s->work[0].from.hi[0], 9);
  CHECK_EQ(s->work[0].from.lo[1], 20);
  CHECK_EQ(s->work[0].to.kind, SIM_SEL_RANDOM);
  CHECK_EQ(s->work[0].to.k, 3);
  CHECK_EQ(s->work[0].ttl_ms, 3600000);
  CHECK_EQ(s->work[0].size, 100);
  CHECK_EQ(s->objects_total, 20); /* items plus their possible tombstones */
  CHECK_EQ(s->nfaults, 4);
  CHECK_EQ(s->faults[0].kind, SIM_FAULT_PARTITION);
  CHECK_EQ(s->faults[0].end_ms, 120000);
  CHECK_EQ(s->faults[1].store, SIM_STORE_WIPED);
  CHECK_EQ(s->faults[2].end_ms, 300000 + 2 * 7 * 1000); /* cut 7, restore 7 */
  CHECK_EQ(s->faults[3].downtime.kind, SIM_DIST_NORMAL);
  CHECK_EQ(s->sample_ms, 5000);
  CHECK_EQ(s->check_delivered, 1);
  CHECK_EQ(s->converge_within_ms, 180000);
  CHECK_EQ(s->expiry_grace_ms, 2000);
  sim_scn_free(s);
}

/* Each bad scenario must fail, naming its line and a recognisable reason. */
static void test_errors(void) {
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"nodes 10\nfrobnicate 3\n", "t.scn:2: unknown keyword 'frobnicate'"},
      {"nodes 100001\n", "t.scn:1: nodes must be 2..100000"},
      {"nodes 1\n", "t.scn:1: nodes must be 2"},
      {"nodes 10\nduration 5 parsecs\n", "t.scn:2: 'duration' takes 1 argument(s), got 2"},
      {"nodes 10\nduration 5x\n", "t.scn:2: duration must be"},
      {"nodes 10\ntopology torus\n", "t.scn:2: unknown topology 'torus'"},
      {"nodes 11\ntopology random_regular degree=3\npublish item count=1\n",
       "t.scn:2: random_regular needs degree < nodes and degree x nodes even"},
      {"nodes 10\ntopology small_world k=3 beta=0.1\n", "t.scn:2: small_world needs k=EVEN"},
      {"nodes 10\nlink latency=uniform:50:10\n", "t.scn:2: latency: uniform:A:B needs A <= B"},
      {"nodes 10\nlink loss=1.5\n", "t.scn:2: loss must be 0..1"},
      {"nodes 10\nlink speed=3\n", "t.scn:2: 'speed=3': unexpected word for 'link'"},
      {"nodes 10\nlink loss=0.1 loss=0.2\n", "t.scn:2: 'loss' given twice"},
      {"nodes 10\npublish item count=0\n", "t.scn:2: publish needs count=1.."},
      {"nodes 10\npublish bundle count=1 ttl=1h\n", "t.scn:2: size, ttl, to and tombstone apply to items only"},
      {"nodes 10\npublish item count=1 from=10\n", "t.scn:2: node 10 does not exist (nodes 0..9)"},
      {"nodes 10\npublish item count=1 from=county:0\n", "t.scn:2: county:, land: and role: need topology federation"},
      {"nodes 10\npublish item count=1 ttl=91d\n", "t.scn:2: ttl must be at most 90d"},
      {"nodes 10\n", "t.scn:1: the scenario publishes nothing"},
      {"nodes 10\nprotocol rumor\nrepl recon_branch 4\npublish item count=1\n", "t.scn:3: repl parameters need protocol momedo"},
      {"nodes 10\nprotocol momedo k=2\n", "t.scn:2: k, feedback, loss, direction and interest apply to rumor only"},
      {"nodes 10\npartition start=2m heal=1m group=0-4\n", "t.scn:2: heal must come after start"},
      {"nodes 10\nduration 10m\npublish item count=1\npartition start=1m heal=3m group=0\npartition start=2m heal=4m group=1\n",
       "t.scn:5: partition overlaps the one on line 4"},
      {"nodes 10\ncrash nodes=3 at=1m\n", "t.scn:2: crash needs restart=TIME"},
      {"nodes 10\ncheck safety\nprotocol ae_push\npublish item count=1\n", "check safety needs protocol momedo"},
      {"nodes 100000\npublish item count=2001\n", "nodes x objects = 200100000 exceeds 200000000 (measurement tables)"},
      {"nodes 10\npublish item count=3000000 tombstone=0.5\n", "more than 4000000 objects in total"},
      {"nodes 10\nprotocol ae_push\npublish lookup count=5\n", "t.scn:3: publish lookup needs protocol momedo"},
      {"nodes 10\nprotocol momedo\npublish lookup count=5 size=10\n", "size, ttl, to and tombstone apply to items only"},
      {"nodes 10\nprotocol momedo\npublish lookup count=5 partners=1\n", "partners applies to bundles and items"},
      {"nodes 10\nprotocol momedo\npublish item count=5 hint=1\n", "hint=0|1 applies to lookups only"},
      {"nodes 10\nprotocol momedo\npublish item count=5 start=setup\n", "start=setup applies to bundles only"},
      {"nodes 10\nprotocol momedo\npublish bundle count=5 start=soon\n", "start=soon: not a time"},
      {"nodes 10\nprotocol momedo\npublish lookup count=5 hint=2\n", "hint=0|1 applies to lookups only"},
      {"nodes 10\nprotocol momedo\npublish nothing count=5\n", "publish kind must be bundle, item or lookup"},
      {"nodes 10\nprotocol momedo\nrepl scope everywhere\npublish item count=1\n", "t.scn:3: "},
      {"topology federation counties=1000 hubs=1000\n", "t.scn:1: federation has 1015000 nodes"},
      {"topology federation counties=3 lands=4\n", "t.scn:1: lands must be 1..64 and at most counties"},
      {"topology federation counties=3\npublish item count=1 to=land:1\n", "t.scn:2: land 1 does not exist (0..0)"},
      {"nodes 10\npublish item count=1 partners=4\n", "t.scn:2: partners must be 0..3"},
      {"nodes 5000\ntopology complete\nprotocol momedo\npublish item count=1\n",
       "momedo and max_conns keep per-link state"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[REASON_MAX];
    struct sim_scn *s = NULL;
    int rc = sim_scn_parse(cases[i].text, strlen(cases[i].text), "t.scn", ".", &s, err, sizeof err);
    if (rc == 0 || strstr(err, cases[i].want) == NULL)
      fprintf(stderr, "case %zu: rc %d, err \"%s\", want \"%s\"\n", i, rc, err, cases[i].want);
    CHECK_EQ(rc, MOMEDO_E_CONFIG);
    CHECK(s == NULL);
    CHECK(strstr(err, cases[i].want) != NULL);
  }
}

/* `repl` lines: the engine's parameter table, the same values as momedo.conf, the same
 * refusals with the table's own message behind "file:line: " (no silent clamping). */
static void test_repl_params(void) {
  char err[REASON_MAX], text[256], why[REPL_PARAM_TEXT_MAX], want[REASON_MAX];
  for (size_t i = 0; i < REPL_PARAM_GOOD_N; i++) {
    const struct repl_param *p = repl_param_find(repl_param_good[i].name);
    snprintf(text, sizeof text, "nodes 10\nprotocol momedo\nrepl %s %s\npublish item count=1\n",
             p->name, repl_param_good[i].text);
    struct sim_scn *s = parse(text, err);
    CHECK(s != NULL);
    if (!s) continue;
    CHECK_EQ(s->nrepl, 1);
    CHECK(s->repl[0].param == p);
    CHECK_EQ(s->repl[0].value, repl_param_good[i].want);
    sim_scn_free(s);
  }
  for (size_t i = 0; i < REPL_PARAM_BAD_N; i++) {
    const struct repl_param *p = repl_param_find(repl_param_bad[i].name);
    uint64_t v;
    snprintf(text, sizeof text, "nodes 10\nprotocol momedo\nrepl %s %s\npublish item count=1\n",
             p->name, repl_param_bad[i].text);
    CHECK_EQ(repl_param_parse(p, repl_param_bad[i].text, &v, why, sizeof why), MOMEDO_E_CONFIG);
    snprintf(want, sizeof want, "t.scn:3: %s", why);
    struct sim_scn *s = NULL;
    CHECK_EQ(sim_scn_parse(text, strlen(text), "t.scn", ".", &s, err, sizeof err), MOMEDO_E_CONFIG);
    CHECK(s == NULL);
    /* "60 s" is two words on a `repl` line: refused for that before its value is read. */
    if (!strchr(repl_param_bad[i].text, ' ')) CHECK_STR(err, want);
  }
  CHECK(parse("nodes 10\nprotocol momedo\nrepl recon_interval_s 60\npublish item count=1\n",
              err) == NULL);
  CHECK(strstr(err, "t.scn:3: unknown repl parameter 'recon_interval_s' (recon_interval_ms, ") ==
        err);
  CHECK(parse("nodes 10\nprotocol momedo\nrepl recon_branch 4\nrepl recon_branch 5\n"
              "publish item count=1\n", err) == NULL);
  CHECK_STR(err, "t.scn:4: repl recon_branch given twice");
}

static void test_values(void) {
  uint64_t ms;
  CHECK_EQ(sim_parse_duration("250ms", &ms), 0);
  CHECK_EQ(ms, 250);
  CHECK_EQ(sim_parse_duration("1.5s", &ms), 0);
  CHECK_EQ(ms, 1500);
  CHECK_EQ(sim_parse_duration("2h", &ms), 0);
  CHECK_EQ(ms, 7200000);
  CHECK_EQ(sim_parse_duration("3d", &ms), 0);
  CHECK_EQ(ms, 3ull * 86400000);
  CHECK(sim_parse_duration("-1", &ms) != 0);
  CHECK(sim_parse_duration("0.5ms", &ms) != 0); /* whole milliseconds only */
  CHECK(sim_parse_duration("11y", &ms) != 0);
  CHECK(sim_parse_duration("4000d", &ms) != 0); /* beyond ten years */
  struct sim_dist d;
  const char *why;
  CHECK_EQ(sim_parse_dist("lognormal:3.0:0.5", &d, &why), 0);
  CHECK(d.kind == SIM_DIST_LOGNORMAL && d.a == 3.0 && d.b == 0.5);
  CHECK_EQ(sim_parse_dist("normal:1s:100ms", &d, &why), 0);
  CHECK(d.a == 1000 && d.b == 100);
  CHECK(sim_parse_dist("const", &d, &why) != 0);
  CHECK(sim_parse_dist("gamma:1:2", &d, &why) != 0);
  CHECK(sim_parse_dist("const:2h", &d, &why) != 0); /* latency above one hour */
  struct sim_sel sel;
  CHECK_EQ(sim_parse_sel("role:school", &sel, &why), 0);
  CHECK_EQ(sel.role, SIM_ROLE_SCHOOL);
  CHECK(sim_parse_sel("5-3", &sel, &why) != 0);
  CHECK(sim_parse_sel("random:0", &sel, &why) != 0);
  CHECK(sim_parse_sel("role:mayor", &sel, &why) != 0);
}

static void test_federation_size(void) {
  char err[REASON_MAX];
  struct sim_scn *s = parse("topology federation counties=3 hubs=2 cities=4 schools=5\npublish bundle count=1\n", err);
  CHECK(s != NULL);
  CHECK_EQ(s->nodes, 3 * (2 + 4 * (1 + 5)));
  sim_scn_free(s);
  CHECK(parse("nodes 10\ntopology federation counties=1 hubs=1 cities=1 schools=1\npublish bundle count=1\n", err) == NULL);
  CHECK(strstr(err, "disagrees with the federation's 3 nodes") != NULL);
}

/* The delivery mode comes from the engine's `scope` row: a scenario without it floods (its
 * figures stay what they were), `repl scope scoped` bounds the measurement tables by an
 * object's destinations instead of every node; lookups take no object room. */
static void test_scope(void) {
  char err[REASON_MAX];
  struct sim_scn *s = parse("nodes 10\nprotocol momedo\npublish item count=1\n", err);
  CHECK(s != NULL && !s->scoped);
  sim_scn_free(s);
  s = parse("nodes 10\nprotocol momedo\nrepl scope flood\npublish item count=1\n", err);
  CHECK(s != NULL && !s->scoped);
  sim_scn_free(s);
  s = parse("nodes 100000\ntopology random_regular degree=4\nprotocol momedo\nrepl scope scoped\npublish bundle count=1000\n"
            "publish item count=1000000 tombstone=0.1\npublish lookup count=500 hint=1\n", err);
  if (!s) fprintf(stderr, "%s\n", err);
  CHECK(s != NULL);
  if (!s) return;
  CHECK(s->scoped);
  CHECK_EQ(s->objects_total, 1000 + 2 * 1000000);
  CHECK_EQ(s->nwork, 3);
  CHECK(s->work[2].kind == SIM_WORK_LOOKUP && s->work[2].hint == 1 && s->work[2].count == 500);
  sim_scn_free(s);
  s = parse("nodes 10\nprotocol ae_push\npublish item count=1\n", err); /* classic: no engine */
  CHECK(s != NULL && !s->scoped);
  sim_scn_free(s);
}

/* Every shipped scenario parses (the directory is found from this file's path). */
static void test_shipped(void) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", __FILE__);
  char *cut = strstr(dir, "tests/unit/");
  CHECK(cut != NULL);
  strcpy(cut, "simulations/scenarios");
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  int n = 0, bad = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".scn")) continue;
    char path[2048], err[REASON_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct sim_scn *s;
    if (sim_scn_load(path, &s, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      bad++;
      continue;
    }
    sim_scn_free(s);
    n++;
  }
  closedir(d);
  CHECK_EQ(bad, 0);
  CHECK(n >= 8);
}

int main(void) {
  RUN(test_full);
  RUN(test_errors);
  RUN(test_values);
  RUN(test_repl_params);
  RUN(test_federation_size);
  RUN(test_scope);
  RUN(test_shipped);
  TEST_MAIN_END();
}
