/* tests/unit/test_node_rates.c — node/rates.c: what one device may do a minute. Two
 * devices keep separate budgets when the old buckets put them in one slot (same first
 * key bytes) and when the salted hash does; a full probe range and a full table refuse
 * (FULL) without charging another device, and take devices again once windows end; a
 * request takes what is left of a budget; the kinds count apart; the salt differs per
 * node; tables are sized from clients_max and grow with it. */
#include "harness.h"
#include "node_int.h"

#define MIN_MS 60000ull
#define T0 1700000000000ull

/* A node's rate tables; salted with fixed bytes (seed != 0), so runs repeat, or at random. */
static struct node *node_new(uint32_t clients_max, int seed) {
  struct node *n = calloc(1, sizeof *n);
  if (!n) abort();
  n->cfg.clients_max = clients_max;
  if (node__rates_init(n) != 0) abort();
  if (seed) memset(n->rates.salt, seed, sizeof n->rates.salt);
  return n;
}

static void node_free(struct node *n) {
  node__rates_free(n);
  free(n);
}

static void key_of(uint8_t k[OBJ_KEY_LEN], uint32_t i) {
  memset(k, 0x5a, OBJ_KEY_LEN);
  for (int b = 0; b < 4; b++) k[OBJ_KEY_LEN - 1 - b] = (uint8_t)(i >> (8 * b));
}

static uint32_t slot_of(const struct node *n, enum node_rate_kind kind, const uint8_t k[32]) {
  uint8_t h[RATE_KEYED_HASH_LEN];
  node__rate_hash(n, kind, k, h);
  uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  return (uint32_t)(v % n->rates.slots);
}

static int take(struct node *n, enum node_rate_kind kind, const uint8_t k[32], uint32_t limit,
                uint64_t now) {
  uint32_t got = 0;
  int r = node__rate_take(n, kind, k, limit, 1, now, &got);
  if ((r == RATE_KEYED_OK) != (got == 1)) abort();
  return r;
}

/* Spend limit units of k and check the next one is refused. */
static void spend(struct node *n, const uint8_t k[32], uint32_t limit, uint64_t now) {
  for (uint32_t i = 0; i < limit; i++) CHECK_EQ(take(n, NODE_RATE_POSTS, k, limit, now), RATE_KEYED_OK);
  CHECK_EQ(take(n, NODE_RATE_POSTS, k, limit, now), RATE_KEYED_LIMIT);
}

/* The buckets before rates.c: slot = the key's first three bytes mod 4,096. */
static void test_old_slot_separate_budgets(void) {
  struct node *n = node_new(1000, 1);
  uint8_t a[32], b[32];
  memset(a, 0x11, sizeof a);
  memcpy(b, a, sizeof b);
  b[31] ^= 1; /* same first bytes: one bucket before */
  CHECK_CALL(spend(n, a, 5, T0));
  CHECK_CALL(spend(n, b, 5, T0 + 1));
  node_free(n);
}

static void test_same_slot_separate_budgets(void) {
  struct node *n = node_new(1000, 1);
  uint8_t a[32], b[32];
  uint32_t want;
  key_of(a, 0);
  want = slot_of(n, NODE_RATE_POSTS, a);
  uint32_t i = 1;
  for (;; i++) {
    key_of(b, i);
    if (slot_of(n, NODE_RATE_POSTS, b) == want) break;
  }
  CHECK_CALL(spend(n, a, 3, T0));
  CHECK_CALL(spend(n, b, 3, T0));
  /* A third in the same slot too, after both spent theirs. */
  for (i++;; i++) {
    key_of(b, i);
    if (slot_of(n, NODE_RATE_POSTS, b) == want) break;
  }
  CHECK_CALL(spend(n, b, 3, T0 + 2));
  node_free(n);
}

/* RATE_KEYED_PROBE + 1 devices whose hashes pick one slot: the last finds every slot of
 * its range live for others and is refused, without charging them. */
static void test_probe_range_full(void) {
  struct node *n = node_new(1000, 1);
  uint8_t k[RATE_KEYED_PROBE + 1][32];
  uint32_t want = 0, found = 0;
  for (uint32_t i = 0; found < RATE_KEYED_PROBE + 1; i++) {
    key_of(k[found], i);
    uint32_t s = slot_of(n, NODE_RATE_POSTS, k[found]);
    if (found == 0) want = s;
    if (s == want) found++;
  }
  for (int j = 0; j < RATE_KEYED_PROBE; j++)
    CHECK_EQ(take(n, NODE_RATE_POSTS, k[j], 2, T0), RATE_KEYED_OK);
  CHECK_EQ(take(n, NODE_RATE_POSTS, k[RATE_KEYED_PROBE], 2, T0 + 1), RATE_KEYED_FULL);
  for (int j = 0; j < RATE_KEYED_PROBE; j++)
    CHECK_EQ(take(n, NODE_RATE_POSTS, k[j], 2, T0 + 2), RATE_KEYED_OK);
  CHECK_EQ(take(n, NODE_RATE_POSTS, k[0], 2, T0 + 3), RATE_KEYED_LIMIT);
  /* A minute later the windows have ended: the refused one gets a slot. */
  CHECK_EQ(take(n, NODE_RATE_POSTS, k[RATE_KEYED_PROBE], 2, T0 + MIN_MS), RATE_KEYED_OK);
  node_free(n);
}

/* Far more devices in one minute than the table holds: every device taken keeps its exact
 * budget, those refused stay refused (FULL) and uncounted, and after the minute all of
 * them are taken again in turn. */
static void test_table_full(void) {
  enum { KEYS = 3 * NODE_RATE_SLOTS_MIN };
  struct node *n = node_new(1, 2);
  static uint8_t full[KEYS];
  uint8_t k[32];
  uint32_t taken = 0;
  CHECK_EQ(n->rates.slots, NODE_RATE_SLOTS_MIN);
  for (uint32_t i = 0; i < KEYS; i++) {
    key_of(k, i);
    int r = take(n, NODE_RATE_POSTS, k, 2, T0);
    CHECK(r == RATE_KEYED_OK || r == RATE_KEYED_FULL);
    full[i] = r == RATE_KEYED_FULL;
    taken += !full[i];
  }
  CHECK(taken <= NODE_RATE_SLOTS_MIN);
  CHECK(taken > NODE_RATE_SLOTS_MIN / 2);
  for (uint32_t i = 0; i < KEYS; i++) {
    key_of(k, i);
    if (full[i]) {
      CHECK_EQ(take(n, NODE_RATE_POSTS, k, 2, T0 + 1), RATE_KEYED_FULL);
    } else {
      CHECK_EQ(take(n, NODE_RATE_POSTS, k, 2, T0 + 1), RATE_KEYED_OK);
      CHECK_EQ(take(n, NODE_RATE_POSTS, k, 2, T0 + 1), RATE_KEYED_LIMIT);
    }
  }
  /* Other kinds have tables of their own. */
  CHECK_EQ(take(n, NODE_RATE_ACKS, k, 2, T0 + 2), RATE_KEYED_OK);
  /* A quarter of the table a minute: each device taken in its minute. */
  uint32_t again = 0;
  for (uint32_t i = 0; i < KEYS; i++) {
    key_of(k, i);
    again += take(n, NODE_RATE_POSTS, k, 2, T0 + MIN_MS * (1 + i / (NODE_RATE_SLOTS_MIN / 4))) ==
             RATE_KEYED_OK;
  }
  CHECK_EQ(again, KEYS);
  node_free(n);
}

static void test_take_what_is_left(void) {
  struct node *n = node_new(1000, 1);
  uint8_t k[32];
  uint32_t got = 0;
  key_of(k, 7);
  CHECK_EQ(node__rate_take(n, NODE_RATE_ACKS, k, 10, 7, T0, &got), RATE_KEYED_OK);
  CHECK_EQ(got, 7);
  CHECK_EQ(node__rate_take(n, NODE_RATE_ACKS, k, 10, 7, T0 + 1, &got), RATE_KEYED_OK);
  CHECK_EQ(got, 3);
  CHECK_EQ(node__rate_take(n, NODE_RATE_ACKS, k, 10, 1, T0 + 2, &got), RATE_KEYED_LIMIT);
  CHECK_EQ(got, 0);
  /* Posts, publishes and claims of the same device count apart. */
  CHECK_EQ(node__rate_take(n, NODE_RATE_POSTS, k, 1, 1, T0 + 3, &got), RATE_KEYED_OK);
  CHECK_EQ(node__rate_take(n, NODE_RATE_PUBLISHES, k, 1, 1, T0 + 3, &got), RATE_KEYED_OK);
  CHECK_EQ(node__rate_take(n, NODE_RATE_CLAIMS, k, 1, 1, T0 + 3, &got), RATE_KEYED_OK);
  CHECK_EQ(node__rate_take(n, NODE_RATE_CLAIMS, k, 1, 1, T0 + 3, &got), RATE_KEYED_LIMIT);
  /* A new window a minute after the first unit. */
  CHECK_EQ(node__rate_take(n, NODE_RATE_ACKS, k, 10, 20, T0 + MIN_MS, &got), RATE_KEYED_OK);
  CHECK_EQ(got, 10);
  node_free(n);
}

static void test_salted_and_sized(void) {
  struct node *a = node_new(20000, 0), *b = node_new(20000, 0);
  uint8_t k[32], ha[RATE_KEYED_HASH_LEN], hb[RATE_KEYED_HASH_LEN];
  key_of(k, 1);
  node__rate_hash(a, NODE_RATE_POSTS, k, ha);
  node__rate_hash(b, NODE_RATE_POSTS, k, hb);
  CHECK(memcmp(ha, hb, sizeof ha) != 0);
  CHECK(a->rates.slots >= 4u * 20000);
  CHECK_EQ(a->rates.slots & (a->rates.slots - 1), 0);
  a->cfg.clients_max = 100000; /* a reload raised it */
  node__rates_fit(a);
  CHECK(a->rates.slots >= 4u * 100000);
  size_t s = a->rates.slots;
  a->cfg.clients_max = 10; /* lowered: the tables stay */
  node__rates_fit(a);
  CHECK_EQ(a->rates.slots, s);
  CHECK_EQ(take(a, NODE_RATE_POSTS, k, 1, T0), RATE_KEYED_OK);
  node_free(a);
  node_free(b);
}

int main(void) {
  RUN(test_old_slot_separate_budgets);
  RUN(test_same_slot_separate_budgets);
  RUN(test_probe_range_full);
  RUN(test_table_full);
  RUN(test_take_what_is_left);
  RUN(test_salted_and_sized);
  TEST_MAIN_END();
}
