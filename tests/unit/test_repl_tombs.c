/* tests/unit/test_repl_tombs.c — tombstones cannot fill a node (issue 11, finding 7): at
 * most REPL_TOMBS_PER_TARGET_MAX per (item, mailbox) are held (before: every one a device
 * signed), and one for an item not held here lives REPL_TOMB_UNKNOWN_TTL_MS locally
 * instead of the 90 days it may be signed for (before: its full life) — while a tombstone
 * of a held item keeps its life, and an item arriving after the short-lived tombstone is
 * still refused after that tombstone is gone (dead marker). */
#include "harness.h"
#include "repl_int.h"
#include "test_repl_net.h"

#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define TOMB MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE
#define DAY_MS 86400000ull
#define LIFE_MS (30 * DAY_MS)
#define SIGNED_TOMBS 100u

static struct crypto_sign_keypair node_kp, dev_kp;
static uint8_t dev_mbox[OBJ_MAILBOX_LEN];

static int insert_tomb(struct tn *t, const uint8_t *target, uint64_t created, uint8_t id[32]) {
  size_t len;
  uint8_t *o = tn_tombstone(&dev_kp, target, created, t->now + LIFE_MS, &len);
  tn_id(TOMB, o, len, id);
  int rc = repl_insert_local(t->n[0].r, TOMB, o, len, t->now, NULL);
  free(o);
  tn_pump(t);
  return rc;
}

static int insert_item(struct tn *t, uint32_t tag, uint8_t id[32]) {
  size_t len;
  uint8_t *o = tn_item(&node_kp, dev_mbox, t->now, t->now + LIFE_MS, tag, 32, &len);
  tn_id(ITEM, o, len, id);
  int rc = repl_insert_local(t->n[0].r, ITEM, o, len, t->now, NULL);
  free(o);
  tn_pump(t);
  return rc;
}

static void tick(struct tn *t, uint64_t ms) {
  t->now += ms;
  for (int guard = 0; guard < 100 && repl_next_deadline(t->n[0].r) <= t->now; guard++)
    if (repl_tick(t->n[0].r, t->now)) abort();
  tn_pump(t);
}

static void test_tombs_per_target(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  uint8_t target[OBJ_ID_LEN], id[OBJ_ID_LEN];
  tn_init(&t, 1, &cfg);
  memset(target, 0x77, sizeof target);
  uint32_t stored = 0, refused = 0;
  for (uint32_t i = 0; i < SIGNED_TOMBS; i++) {
    int rc = insert_tomb(&t, target, t.now - 1000 - i, id); /* each one another object */
    stored += rc == 0;
    refused += rc == MOMEDO_E_SUPERSEDED;
  }
  struct repl_stats s;
  repl_stats(t.n[0].r, &s);
  printf("  %u tombstones for one item: %u stored, %u refused\n", SIGNED_TOMBS, stored, refused);
  CHECK_EQ(stored, REPL_TOMBS_PER_TARGET_MAX); /* before: all 100 */
  CHECK_EQ(refused, SIGNED_TOMBS - REPL_TOMBS_PER_TARGET_MAX);
  CHECK_EQ(s.objects_by_kind[TOMB], REPL_TOMBS_PER_TARGET_MAX);
  tn_free(&t);
}

static void test_unknown_target_short_life(void) {
  struct repl_config cfg = tn_quiet_cfg();
  struct tn t;
  uint8_t unknown[OBJ_ID_LEN], late[OBJ_ID_LEN], item[OBJ_ID_LEN];
  uint8_t t_unknown[OBJ_ID_LEN], t_late[OBJ_ID_LEN], t_item[OBJ_ID_LEN];
  tn_init(&t, 1, &cfg);
  memset(unknown, 0x55, sizeof unknown);
  CHECK(insert_tomb(&t, unknown, t.now, t_unknown) == 0);
  /* An item this node holds, and its tombstone: the tombstone keeps its own life. */
  CHECK(insert_item(&t, 1, item) == 0);
  CHECK(insert_tomb(&t, item, t.now, t_item) == 0);
  CHECK(!repl_has(t.n[0].r, item));
  /* A tombstone that arrives before its item (still in flight elsewhere). */
  size_t llen;
  uint8_t *late_obj = tn_item(&node_kp, dev_mbox, t.now, t.now + LIFE_MS, 2, 32, &llen);
  tn_id(ITEM, late_obj, llen, late);
  CHECK(insert_tomb(&t, late, t.now, t_late) == 0);
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, late_obj, llen, t.now, NULL), MOMEDO_E_DEAD);
  struct repl_stats s;
  repl_stats(t.n[0].r, &s);
  CHECK_EQ(s.tombs_short, 2);
  tick(&t, REPL_TOMB_UNKNOWN_TTL_MS + 60000);
  printf("  a day later: tombstone of an unknown item %s, of a held one %s\n",
         repl_has(t.n[0].r, t_unknown) ? "held" : "gone",
         repl_has(t.n[0].r, t_item) ? "held" : "gone");
  CHECK(!repl_has(t.n[0].r, t_unknown)); /* before: held for its 30 days */
  CHECK(!repl_has(t.n[0].r, t_late));
  CHECK(repl_has(t.n[0].r, t_item));
  /* The late item stays refused: a dead marker outlives the short tombstone. */
  CHECK_EQ(repl_insert_local(t.n[0].r, ITEM, late_obj, llen, t.now, NULL), MOMEDO_E_DEAD);
  free(late_obj);
  tn_free(&t);
}

int main(void) {
  tn_keypair(&node_kp, 0x41);
  tn_keypair(&dev_kp, 0x42);
  if (obj_device_mailbox(dev_mbox, dev_kp.pub)) return 1;
  RUN(test_tombs_per_target);
  RUN(test_unknown_target_short_life);
  TEST_MAIN_END();
}
