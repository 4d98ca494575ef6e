/* tests/unit/test_repl_mcount.c — the in-memory mailbox counters (open addressing
 * with backward-shift deletion) against a plain array, through thousands of adds
 * and removals in a random order, including mailboxes that share their first bytes. */
#include "harness.h"
#include "repl_int.h"

#define NBOX 3000
#define ROUNDS 60000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return rng_state;
}

static uint8_t boxes[NBOX][OBJ_MAILBOX_LEN];
static uint64_t ref_items[NBOX], ref_bytes[NBOX];

static int all_match(const struct repl_mcount *m) {
  size_t live = 0;
  for (int i = 0; i < NBOX; i++) {
    uint64_t it, by;
    repl__mc_get(m, boxes[i], &it, &by);
    if (it != ref_items[i] || by != ref_bytes[i]) return 0;
    live += ref_items[i] > 0;
  }
  return live == m->n;
}

static void test_against_array(void) {
  struct repl_mcount m;
  repl__mc_init(&m, 12345);
  for (int i = 0; i < NBOX; i++) {
    for (int j = 0; j < OBJ_MAILBOX_LEN; j += 8) {
      uint64_t v = rnd();
      memcpy(boxes[i] + j, &v, 8);
    }
    /* Every fourth mailbox equals another one in its first 8 bytes. */
    if (i % 4 == 3) memcpy(boxes[i], boxes[i - 1], 8);
  }
  uint64_t it = 1, by = 1;
  repl__mc_get(&m, boxes[0], &it, &by); /* empty table */
  CHECK_EQ(it, 0);
  CHECK_EQ(by, 0);
  repl__mc_sub(&m, boxes[0], 5); /* absent: no effect */
  for (int round = 0; round < ROUNDS; round++) {
    int i = (int)(rnd() % NBOX);
    size_t len = 1 + rnd() % 500;
    /* Adds win slightly, so the table grows, then everything drains below. */
    if (rnd() % 100 < 55) {
      CHECK_EQ(repl__mc_reserve(&m), 0);
      repl__mc_add(&m, boxes[i], len);
      ref_items[i]++, ref_bytes[i] += len;
    } else {
      repl__mc_sub(&m, boxes[i], len);
      if (ref_items[i]) {
        ref_items[i]--;
        ref_bytes[i] = ref_bytes[i] >= len ? ref_bytes[i] - len : 0;
        if (!ref_items[i]) ref_bytes[i] = 0; /* an empty mailbox has no counter left */
      }
    }
    if (round % 5000 == 0) CHECK(all_match(&m));
  }
  CHECK(all_match(&m));
  CHECK(m.n > NBOX / 2);
  CHECK(2 * m.n <= m.cap);
  for (int i = 0; i < NBOX; i++) {
    while (ref_items[i]) {
      repl__mc_sub(&m, boxes[i], 1);
      ref_items[i]--;
      ref_bytes[i] = ref_bytes[i] && ref_items[i] ? ref_bytes[i] - 1 : 0;
    }
    if (i % 500 == 0) CHECK(all_match(&m));
  }
  CHECK(all_match(&m));
  CHECK_EQ(m.n, 0);
  repl__mc_close(&m);
}

int main(void) {
  RUN(test_against_array);
  TEST_MAIN_END();
}
