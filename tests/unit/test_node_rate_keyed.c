/* tests/unit/test_node_rate_keyed.c — node/rate_keyed.h: exact per-key budgets in a
 * fixed table: keys whose hashes pick the same slot keep separate budgets (the hashed
 * buckets shared them), windows end and start again, a clock that goes back starts a new
 * window, a full probe range refuses as FULL (never shares), and slots of expired windows
 * are reused. */
#include <string.h>

#include "harness.h"
#include "rate_keyed.h"

#define N 64
#define HOUR 3600000ull

/* A hash that picks slot `slot` with tag `tag`. */
static void hash_of(uint8_t h[RATE_KEYED_HASH_LEN], uint32_t slot, uint64_t tag) {
  for (int i = 0; i < 4; i++) h[i] = (uint8_t)(slot >> (8 * i));
  for (int i = 0; i < 8; i++) h[4 + i] = (uint8_t)(tag >> (8 * i));
}

static int take(struct rate_keyed_slot *t, uint32_t slot, uint64_t tag, uint32_t limit,
                uint64_t now) {
  uint8_t h[RATE_KEYED_HASH_LEN];
  hash_of(h, slot, tag);
  return rate_keyed_take(t, N, h, limit, HOUR, now);
}

static void test_same_slot_separate_budgets(void) {
  struct rate_keyed_slot t[N];
  memset(t, 0, sizeof t);
  /* Four requesters whose hashes all pick slot 7, two claims an hour each. */
  for (uint64_t k = 1; k <= 4; k++) {
    CHECK_EQ(take(t, 7, k, 2, 1000), RATE_KEYED_OK);
    CHECK_EQ(take(t, 7, k, 2, 1001), RATE_KEYED_OK);
  }
  for (uint64_t k = 1; k <= 4; k++) CHECK_EQ(take(t, 7, k, 2, 1002), RATE_KEYED_LIMIT);
  /* Slot 7 + 64 is the same slot of the table: same budgets. */
  CHECK_EQ(take(t, 7 + N, 3, 2, 1003), RATE_KEYED_LIMIT);
}

static void test_windows(void) {
  struct rate_keyed_slot t[N];
  memset(t, 0, sizeof t);
  CHECK_EQ(take(t, 1, 42, 1, 5000), RATE_KEYED_OK);
  CHECK_EQ(take(t, 1, 42, 1, 5000 + HOUR - 1), RATE_KEYED_LIMIT);
  CHECK_EQ(take(t, 1, 42, 1, 5000 + HOUR), RATE_KEYED_OK);     /* a new window */
  CHECK_EQ(take(t, 1, 42, 1, 5000 + HOUR + 1), RATE_KEYED_LIMIT);
  CHECK_EQ(take(t, 1, 42, 1, 100), RATE_KEYED_OK);              /* the clock went back */
  CHECK_EQ(take(t, 1, 42, 0, 200), RATE_KEYED_LIMIT);          /* a zero budget */
  CHECK_EQ(take(t, 9, 43, 0, 200), RATE_KEYED_LIMIT);
}

static void test_full_refuses_then_reuses(void) {
  struct rate_keyed_slot t[N];
  memset(t, 0, sizeof t);
  for (uint64_t k = 1; k <= RATE_KEYED_PROBE; k++) CHECK_EQ(take(t, 20, k, 5, 0), RATE_KEYED_OK);
  /* Every slot a key of slot 20 may use is live for another key: refused, not shared. */
  CHECK_EQ(take(t, 20, 99, 5, 10), RATE_KEYED_FULL);
  for (uint64_t k = 1; k <= RATE_KEYED_PROBE; k++) CHECK_EQ(take(t, 20, k, 5, 10), RATE_KEYED_OK);
  /* A key whose live slot lies past a slot whose window ran out still finds its own
   * (and its spent budget), instead of starting afresh in the free one. */
  memset(t, 0, sizeof t);
  CHECK_EQ(take(t, 30, 1, 1, 0), RATE_KEYED_OK);          /* key 1 in slot 30 */
  CHECK_EQ(take(t, 30, 2, 1, HOUR / 2), RATE_KEYED_OK);   /* key 2 in slot 31 */
  CHECK_EQ(take(t, 30, 2, 1, HOUR + 1), RATE_KEYED_LIMIT); /* slot 30 free, key 2 spent */
  CHECK_EQ(take(t, 30, 3, 1, HOUR + 1), RATE_KEYED_OK);   /* key 3 reuses slot 30 */
  CHECK_EQ(take(t, 30, 2, 1, HOUR / 2 + HOUR), RATE_KEYED_OK); /* key 2's next window */
  /* Wrapping at the table's end. */
  for (uint64_t k = 1; k <= RATE_KEYED_PROBE; k++) CHECK_EQ(take(t, N - 2, 100 + k, 1, 0), RATE_KEYED_OK);
  CHECK_EQ(take(t, N - 2, 200, 1, 1), RATE_KEYED_FULL);
  CHECK_EQ(take(t, N - 2, 105, 1, 1), RATE_KEYED_LIMIT);
}

int main(void) {
  RUN(test_same_slot_separate_budgets);
  RUN(test_windows);
  RUN(test_full_refuses_then_reuses);
  TEST_MAIN_END();
}
