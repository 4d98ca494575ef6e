/* tests/bench/bench_sim_scale.c — how far momedo-sim scales on this machine: events
 * per second, simulated time per wall time and peak memory for
 *   1. push and push-pull on a complete graph of 10,000 nodes (rounds vs. theory),
 *   2. the production engine on a 10,050-node county/city/school federation,
 *   3. (argument "full") the production engine with 1000 nodes and 10,000 items:
 *      10^7 deliveries, minutes and several GiB.
 * Prints numbers; asserts nothing (timing is not a test). */
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "os.h"
#include "sim.h"

static long rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

static int run(const char *label, const char *text, uint32_t runs, double theory) {
  char err[REASON_MAX];
  struct sim_scn *s = NULL;
  if (sim_scn_parse(text, strlen(text), label, ".", &s, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  struct sim_summary sums[16];
  struct sim_opts o = {.seed = 1, .seed_set = 1, .runs = runs, .out_dir = NULL, .log = NULL};
  double t0 = os_mono_s();
  int rc = sim_run_all(s, &o, sums, err, sizeof err);
  double wall = os_mono_s() - t0;
  sim_scn_free(s);
  if (rc) {
    fprintf(stderr, "%s: %s\n", label, err);
    return 1;
  }
  uint64_t ev = 0;
  double rounds = 0, simt = 0;
  for (uint32_t i = 0; i < runs; i++) ev += sums[i].events, rounds += sums[i].rounds_last, simt += sums[i].sim_end_ms / 1e3;
  printf("%-34s nodes %6u objects %6u runs %2u: %10llu events %8.2f s  %9.0f events/s  "
         "sim/wall %8.1f  peak RSS %5ld MiB",
         label, sums[0].nodes, sums[0].objects, runs, (unsigned long long)ev, wall, ev / wall,
         simt / wall, rss_mb());
  if (theory > 0) printf("  rounds %.2f (theory %.2f)", rounds / runs, theory);
  printf("\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  int full = argc > 1 && !strcmp(argv[1], "full"), bad = 0;
  double n = 10000;
  bad |= run("push, complete, n=10000", "nodes 10000\ntopology complete\nmode cycle length=1s\n"
             "duration 30s\nprotocol rumor k=0\npublish item count=1 from=random:1\n", 5,
             log2(n) + log(n));
  bad |= run("push-pull, complete, n=10000", "nodes 10000\ntopology complete\nmode cycle length=1s\n"
             "duration 20s\nprotocol ae_pushpull\npublish item count=1 from=random:1\n", 5,
             log(n) / log(3) + log2(log(n)));
  bad |= run("momedo, federation, 10050 nodes",
             "topology federation counties=25 hubs=2 cities=8 schools=49\nduration 5m\nprotocol momedo\n"
             "link latency=lognormal:3.0:0.5\npublish bundle count=100 from=role:school every=1s\n"
             "publish item count=100 from=all to=all every=1s ttl=1h\ncheck delivered\n", 1, 0);
  if (full)
    bad |= run("momedo, random 4-regular, 1000", "nodes 1000\ntopology random_regular degree=4\n"
               "duration 3m\nprotocol momedo\nlink latency=uniform:5ms:40ms\n"
               "publish item count=10000 from=all to=all every=10ms ttl=1d size=64\n", 1, 0);
  else
    printf("(run 'bench_sim_scale full' for 1000 nodes x 10,000 objects: ~1 min, ~4.5 GiB)\n");
  return bad;
}
