/* tests/unit/test_node_peerlog.c — how momedod logs a neighbor that keeps failing:
 * the first failure of a run at warn, then one summary at most every
 * NODE_UNREACHABLE_SUMMARY_MS, debug for the rest; a new run after the neighbor was
 * up starts with a warning again (node__fail_note, peers.c). */
#include "harness.h"
#include "node_int.h"

static void test_fail_note_sequence(void) {
  struct node_failcount f = {0, 0};
  uint64_t t0 = 1700000000000ull, t = t0;
  CHECK_EQ(node__fail_note(&f, t), NODE_FAIL_FIRST);
  int warns = 1, quiet = 0;
  /* Backoff from 0.5 s doubling to a 60 s cap: 29 minutes of failures. */
  for (uint64_t step = 500; t < t0 + 29 * 60 * 1000; step = step < 60000 ? step * 2 : 60000) {
    t += step;
    enum node_fail_say s = node__fail_note(&f, t);
    CHECK(s != NODE_FAIL_FIRST);
    if (s == NODE_FAIL_SUMMARY) {
      warns++;
      CHECK(t - t0 >= (uint64_t)(warns - 1) * NODE_UNREACHABLE_SUMMARY_MS);
    } else {
      quiet++;
    }
  }
  CHECK_EQ(warns, 3); /* at 0, ~10 and ~20 minutes */
  CHECK_EQ(f.n, (unsigned)(warns + quiet));
  CHECK(quiet > 20);
  /* Exactly at the interval: a summary; just before: quiet. */
  struct node_failcount g = {0, 0};
  CHECK_EQ(node__fail_note(&g, t0), NODE_FAIL_FIRST);
  CHECK_EQ(node__fail_note(&g, t0 + NODE_UNREACHABLE_SUMMARY_MS - 1), NODE_FAIL_QUIET);
  CHECK_EQ(node__fail_note(&g, t0 + NODE_UNREACHABLE_SUMMARY_MS), NODE_FAIL_SUMMARY);
  CHECK_EQ(node__fail_note(&g, t0 + NODE_UNREACHABLE_SUMMARY_MS + 1), NODE_FAIL_QUIET);
  /* The neighbor was up (peers.c resets n): the next failure warns at once. */
  g.n = 0;
  CHECK_EQ(node__fail_note(&g, t0 + NODE_UNREACHABLE_SUMMARY_MS + 2), NODE_FAIL_FIRST);
  CHECK_EQ(g.n, 1);
}

int main(void) {
  RUN(test_fail_note_sequence);
  TEST_MAIN_END();
}
