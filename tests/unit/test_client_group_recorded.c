/* Unit tests for "recorded" groups and channels (docs/archive.md): an admin marks a
 * channel recorded, every member sees by whom and since when, later records carry the
 * mark, and it survives save/load; a member's forged record that marks or unmarks is
 * refused (E_DENIED), and an admin's record that names another marker or another time
 * is refused (E_BOUNDS), each leaving the member's state as it was. */
#include "harness.h"

#include "group_world.h"

/* The next version of g's head with the mark set to (on, by, since), signed by kp as a
 * patched client would, whatever the core allows. */
static int forge_mark(const struct group *g, const struct crypto_sign_keypair *kp, int on,
                      const uint8_t by[32], uint64_t since, uint8_t **out, size_t *ol) {
  struct group_roster R;
  int rc = group__roster_copy(&R, &g->r);
  R.recorded = on;
  if (on) memcpy(R.rec_by, by, 32), R.rec_since_ms = since;
  R.version = g->r.version + 1, R.has_prev = 1;
  memcpy(R.prev, g->r.hash, 32);
  R.change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_SETTINGS, R.created_ms = NOW + 5;
  memcpy(R.signer, kp->pub, 32);
  if (rc == 0) rc = group__roster_sign(&R, kp, out, ol);
  group__roster_clear(&R);
  return rc;
}

/* Apply rec at every device but the admin's first; 0 if all took it. */
static int deliver(const uint8_t *rec, size_t len, uint64_t now) {
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; k < W[i].ndev; k++) {
      if (i == 0 && k == 0) continue;
      int rc = group_record_apply(W[i].g[k], rec, len, now, NULL);
      if (rc < 0) return rc;
    }
  return 0;
}

/* g refuses rec with want and keeps its head. */
static int refused_as(struct group *g, const uint8_t *rec, size_t len, int want) {
  struct group_info a, b;
  group_get_info(g, &a);
  int rc = group_record_apply(g, rec, len, NOW + 10, NULL);
  group_get_info(g, &b);
  return rc == want && memcmp(&a, &b, sizeof a) == 0 ? 0 : -1;
}

static void test_mark_seen_by_all(void) {
  uint8_t *rec = NULL;
  size_t len = 0;
  struct group_info gi;
  CHECK_EQ(world_users(5, 2) || world_group(MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL), 0);
  group_get_info(W[3].g[0], &gi);
  CHECK_EQ(gi.recorded, 0);
  CHECK_EQ(group_set_recorded(W[1].g[0], &W[1].id, 1, NOW + 1, &rec, &len), MOMEDO_E_DENIED);
  CHECK(rec == NULL);
  CHECK_EQ(group_set_recorded(W[0].g[0], &W[0].id, 1, NOW + 1, &rec, &len), 0);
  CHECK_EQ(deliver(rec, len, NOW + 2), 0);
  free(rec);
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; k < W[i].ndev; k++) {
      group_get_info(W[i].g[k], &gi);
      CHECK(gi.recorded && gi.recorded_since_ms == NOW + 1);
      CHECK_MEM(gi.recorded_by, W[0].id.pub, 32);
    }
  CHECK_EQ(group_set_recorded(W[0].g[0], &W[0].id, 1, NOW + 3, &rec, &len), MOMEDO_E_EXISTS);
  /* a later change (a promotion) carries the mark unchanged */
  CHECK_EQ(group_set_role(W[0].g[0], &W[0].id, W[2].id.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN,
                          NOW + 4, &rec, &len), 0);
  CHECK_EQ(deliver(rec, len, NOW + 4), 0);
  free(rec);
  group_get_info(W[4].g[0], &gi);
  CHECK(gi.recorded && gi.recorded_since_ms == NOW + 1);
  /* survives save and load */
  uint8_t *st = NULL;
  size_t sl = 0;
  struct group *g2 = NULL;
  CHECK_EQ(group_save(W[4].g[0], &st, &sl), 0);
  CHECK_EQ(group_load(&g2, st, sl), 0);
  group_get_info(g2, &gi);
  CHECK(gi.recorded && gi.recorded_since_ms == NOW + 1);
  CHECK_MEM(gi.recorded_by, W[0].id.pub, 32);
  group_free(g2);
  free(st);
  /* the second admin unmarks it: everyone sees that */
  CHECK_EQ(group_set_recorded(W[2].g[0], &W[2].id, 0, NOW + 6, &rec, &len), 0);
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; k < W[i].ndev; k++)
      if (!(i == 2 && k == 0)) CHECK_EQ(group_record_apply(W[i].g[k], rec, len, NOW + 6, NULL), 0);
  free(rec);
  group_get_info(W[3].g[0], &gi);
  CHECK_EQ(gi.recorded, 0);
  world_free();
}

static void test_forged_marks(void) {
  uint8_t *rec = NULL;
  size_t len = 0;
  struct group_info gi;
  CHECK_EQ(world_users(4, 0) || world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  /* a member marks the group recorded in its own name: not an admin */
  CHECK_EQ(forge_mark(W[1].g[0], &W[1].id, 1, W[1].id.pub, NOW + 5, &rec, &len), 0);
  CHECK_EQ(refused_as(W[2].g[0], rec, len, MOMEDO_E_DENIED), 0);
  CHECK(strstr(group_reason(W[2].g[0]), "not signed by an admin") != NULL);
  free(rec);
  /* the admin's record naming another marker, or another time */
  CHECK_EQ(forge_mark(W[0].g[0], &W[0].id, 1, W[1].id.pub, NOW + 5, &rec, &len), 0);
  CHECK_EQ(refused_as(W[2].g[0], rec, len, MOMEDO_E_BOUNDS), 0);
  CHECK(strstr(group_reason(W[2].g[0]), "marked the group recorded") != NULL);
  free(rec);
  CHECK_EQ(forge_mark(W[0].g[0], &W[0].id, 1, W[0].id.pub, NOW - 86400000, &rec, &len), 0);
  CHECK_EQ(refused_as(W[2].g[0], rec, len, MOMEDO_E_BOUNDS), 0); /* backdated */
  free(rec);
  /* marked for real; then a member unmarks it, and the admin rewrites its time */
  CHECK_EQ(group_set_recorded(W[0].g[0], &W[0].id, 1, NOW + 1, &rec, &len), 0);
  CHECK_EQ(deliver(rec, len, NOW + 2), 0);
  free(rec);
  CHECK_EQ(forge_mark(W[1].g[0], &W[1].id, 0, NULL, 0, &rec, &len), 0);
  CHECK_EQ(refused_as(W[3].g[0], rec, len, MOMEDO_E_DENIED), 0);
  free(rec);
  CHECK_EQ(forge_mark(W[0].g[0], &W[0].id, 1, W[0].id.pub, NOW + 5, &rec, &len), 0);
  CHECK_EQ(refused_as(W[3].g[0], rec, len, MOMEDO_E_BOUNDS), 0);
  free(rec);
  group_get_info(W[3].g[0], &gi);
  CHECK(gi.recorded && gi.recorded_since_ms == NOW + 1);
  world_free();
}

int main(void) {
  RUN(test_mark_seen_by_all);
  RUN(test_forged_marks);
  TEST_MAIN_END();
}
