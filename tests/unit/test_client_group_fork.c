/* Unit tests for concurrent group changes (client/core/group_chain.c, group_change.c):
 * two or three admins change the same version at once; every member receives the
 * records in its own order (all orders are tried), the admins whose change lost redo it
 * on the winning head (group_rebase), and everyone ends on the same head — with every
 * removal in force. Also: the fork window, a chain segment, and the state (with the
 * records beside the chain) surviving save and load. */
#include "harness.h"

#include "group_world.h"

#define RECS_MAX 16

struct recs {
  uint8_t *b[RECS_MAX];
  size_t n[RECS_MAX];
  size_t count;
};

static void recs_free(struct recs *r) {
  for (size_t i = 0; i < r->count; i++) free(r->b[i]);
  memset(r, 0, sizeof *r);
}

/* Apply every record in `order` at g; those that follow a record not seen yet are tried
 * again after the others (as the CLI keeps them). 0 when all are held in the end. */
static int deliver(struct group *g, const struct recs *r, const size_t *order, size_t n) {
  int done[RECS_MAX] = {0};
  for (int progress = 1; progress;) {
    progress = 0;
    for (size_t i = 0; i < n; i++) {
      size_t k = order[i];
      if (done[k]) continue;
      int rc = group_record_apply(g, r->b[k], r->n[k], NOW, NULL);
      if (rc == MOMEDO_E_UNEXPECTED) continue;
      if (rc != 0 && rc != MOMEDO_E_EXISTS) return rc;
      done[k] = 1, progress = 1;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (!done[order[i]]) return -1;
  return 0;
}

/* Every admin (W[0..n_admins)) redoes what it lost; repeat until nobody does. Each new
 * record goes to every member its maker lists right after making it, with the records
 * before it that the member may lack (as the CLI sends a joiner the whole chain). */
static int settle(size_t n_admins, struct recs *all) {
  for (int round = 0; round < 8; round++) {
    int to[CLASS_N + 4] = {0}, made = 0;
    for (size_t a = 0; a < n_admins; a++) {
      uint8_t *rec = NULL;
      size_t len = 0;
      int rc = group_rebase(W[a].g[0], &W[a].id, NOW, &rec, &len);
      if (rc < 0) return rc;
      if (rec == NULL) continue;
      if (all->count == RECS_MAX) {
        free(rec);
        return -3;
      }
      all->b[all->count] = rec, all->n[all->count++] = len, made++;
      for (size_t u = 0; u < W_n; u++)
        to[u] |= group__listed(&W[a].g[0]->r, W[u].id.pub, W[u].devpub[0]);
    }
    if (made == 0) return 0;
    size_t order[RECS_MAX];
    for (size_t i = 0; i < all->count; i++) order[i] = i;
    for (size_t u = 0; u < W_n; u++) {
      int rc = to[u] ? deliver(W[u].g[0], all, order, all->count) : 0;
      if (rc < 0) return rc;
    }
  }
  return -2;
}

/* The group of W[0..n) with W[0..n_admins) as admins (W0 creates and promotes). */
static int admins_group(size_t n_admins) {
  int rc = world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP);
  for (size_t a = 1; rc == 0 && a < n_admins; a++) {
    uint8_t *rec = NULL;
    size_t len = 0;
    rc = group_set_role(W[0].g[0], &W[0].id, W[a].id.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN,
                        NOW, &rec, &len);
    if (rc == 0) rc = apply_all(rec, len, 0, NULL);
    free(rec);
  }
  return rc;
}

/* W0 and W1, the admins of W[0..n), remove W[x] and W[y] at once: r->b[0] and r->b[1]. */
static int two_removals(size_t n, size_t x, size_t y, struct recs *r) {
  memset(r, 0, sizeof *r);
  int rc = world_users(n, 0);
  if (rc == 0) rc = admins_group(2);
  if (rc == 0)
    rc = group_remove(W[0].g[0], &W[0].id, (const uint8_t(*)[32])W[x].id.pub, 1, NOW, &r->b[0],
                      &r->n[0]);
  if (rc == 0)
    rc = group_remove(W[1].g[0], &W[1].id, (const uint8_t(*)[32])W[y].id.pub, 1, NOW, &r->b[1],
                      &r->n[1]);
  r->count = 2;
  return rc;
}

static const size_t perms3[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

/* Three admins change version v at once: W0 removes W3, W1 adds the outsider W9, W2
 * rotates. Members W4..W9-1 each see the three records in another order. */
static void test_three_admins_all_orders(void) {
  struct recs r;
  uint8_t head[32];
  memset(&r, 0, sizeof r);
  CHECK_EQ(world_users(10, 0), 0);
  W_n = 9; /* W9 joins later */
  CHECK_EQ(admins_group(3), 0);
  W_n = 10;
  struct group_member_spec s9 = spec_of(9, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  CHECK_EQ(group_remove(W[0].g[0], &W[0].id, (const uint8_t(*)[32])W[3].id.pub, 1, NOW, &r.b[0],
                        &r.n[0]), 0);
  CHECK_EQ(group_add(W[1].g[0], &W[1].id, &s9, 1, NOW, &r.b[1], &r.n[1]), 0);
  CHECK_EQ(group_rotate(W[2].g[0], &W[2].id, NOW, &r.b[2], &r.n[2]), 0);
  r.count = 3;
  /* W9 joins from W1's chain (the add it was told about). */
  CHECK_EQ(join_from(9, 0, W[1].g[0], 1), 0);
  /* Each admin gets the two others'; members W4..W8 and W9 get all three (W3 is not sent
   * the record that removes it), each in its own order. */
  for (size_t a = 0; a < 3; a++) CHECK_EQ(deliver(W[a].g[0], &r, perms3[a], 3), 0);
  for (size_t u = 4; u < 10; u++) CHECK_EQ(deliver(W[u].g[0], &r, perms3[u - 4], 3), 0);
  static const size_t no_removal[2] = {1, 2};
  CHECK_EQ(deliver(W[3].g[0], &r, no_removal, 2), 0);
  /* The removal wins at once, everywhere: W3 is out of the head of every member. */
  for (size_t u = 0; u < W_n; u++)
    if (u != 3) CHECK(group__find(&W[u].g[0]->r, W[3].id.pub) < 0);
  CHECK_EQ(settle(3, &r), 0);
  struct group_info gi0;
  group_get_info(W[0].g[0], &gi0);
  memcpy(head, gi0.record_hash, 32);
  for (size_t u = 0; u < W_n; u++) {
    if (u == 3) continue;
    struct group_info gi;
    group_get_info(W[u].g[0], &gi);
    CHECK_MEM(gi.record_hash, head, 32);
    CHECK_MEM(gi.mailbox, gi0.mailbox, 32);
    CHECK(!gi.removed);
  }
  /* Everyone's changes are in: W3 gone, W9 in, and the epoch moved on. */
  CHECK(group__find(&W[0].g[0]->r, W[3].id.pub) < 0);
  CHECK(group__find(&W[0].g[0]->r, W[9].id.pub) >= 0);
  CHECK(gi0.epoch >= 3);
  /* W3 (removed) knows nothing of the final epoch. */
  struct group_info g3;
  group_get_info(W[3].g[0], &g3);
  CHECK(memcmp(g3.mailbox, gi0.mailbox, 32) != 0);
  CHECK(group__epoch_by_mailbox(W[3].g[0], gi0.mailbox) == NULL);
  recs_free(&r);
  world_free();
}

/* Two admins remove two different members at once; both removals end in force on every
 * member whatever the order, and neither removed member is in the final epoch. */
static void test_two_removals_both_orders(void) {
  struct recs r;
  CHECK_EQ(two_removals(6, 4, 5, &r), 0);
  static const size_t ab[2] = {0, 1}, ba[2] = {1, 0};
  CHECK_EQ(deliver(W[0].g[0], &r, ab, 2), 0);
  CHECK_EQ(deliver(W[1].g[0], &r, ba, 2), 0);
  CHECK_EQ(deliver(W[2].g[0], &r, ab, 2), 0);
  CHECK_EQ(deliver(W[3].g[0], &r, ba, 2), 0);
  W_n = 4; /* the removed ones are not sent what follows */
  CHECK_EQ(settle(2, &r), 0);
  struct group_info gi0;
  group_get_info(W[0].g[0], &gi0);
  for (size_t u = 0; u < 4; u++) {
    struct group_info gi;
    group_get_info(W[u].g[0], &gi);
    CHECK_MEM(gi.record_hash, gi0.record_hash, 32);
    CHECK_EQ(gi.n_members, 4);
    CHECK(group__find(&W[u].g[0]->r, W[4].id.pub) < 0);
    CHECK(group__find(&W[u].g[0]->r, W[5].id.pub) < 0);
  }
  W_n = 6;
  for (size_t u = 4; u < 6; u++) CHECK(group__epoch_by_mailbox(W[u].g[0], gi0.mailbox) == NULL);
  recs_free(&r);
  world_free();
}

/* A concurrent record whose signer the other removes loses, whatever the hashes; the
 * removed admin's change is never redone. Both orders, and the state (with the record
 * beside the chain) survives save and load. */
static void test_ousted_signer_loses(void) {
  struct recs r;
  CHECK_EQ(two_removals(4, 1, 2, &r), 0);
  static const size_t ab[2] = {0, 1}, ba[2] = {1, 0};
  CHECK_EQ(deliver(W[3].g[0], &r, ba, 2), 0);
  CHECK_EQ(deliver(W[2].g[0], &r, ab, 2), 0);
  CHECK_EQ(deliver(W[1].g[0], &r, ab, 2), 0);
  /* W0's removal of W1 wins: W2 stays, W1 is out. */
  for (size_t u = 2; u < 4; u++) {
    CHECK(group__find(&W[u].g[0]->r, W[1].id.pub) < 0);
    CHECK(group__find(&W[u].g[0]->r, W[2].id.pub) >= 0);
  }
  /* W1 may not redo its change: it is no admin (no member) any more. */
  uint8_t *rec = NULL;
  size_t len = 0;
  CHECK_EQ(group_rebase(W[1].g[0], &W[1].id, NOW, &rec, &len), 0);
  CHECK(rec == NULL);
  /* Saved and loaded, W3 keeps the lost record beside its chain. */
  struct group_info before, after;
  group_get_info(W[3].g[0], &before);
  CHECK_EQ(before.n_alts, 1);
  size_t sl;
  uint8_t *s1 = snap(W[3].g[0], &sl), *s2 = NULL;
  CHECK(s1 != NULL);
  struct group *h = NULL;
  CHECK_EQ(group_load(&h, s1, sl), 0);
  group_get_info(h, &after);
  CHECK_MEM(after.record_hash, before.record_hash, 32);
  CHECK_EQ(after.n_alts, 1);
  size_t sl2;
  CHECK((s2 = snap(h, &sl2)) != NULL);
  CHECK_EQ(sl2, sl);
  CHECK_MEM(s1, s2, sl);
  /* The lost record is held: offered again it is E_EXISTS. */
  CHECK_EQ(group_record_apply(h, r.b[1], r.n[1], NOW, NULL), MOMEDO_E_EXISTS);
  free(s1);
  free(s2);
  group_free(h);
  recs_free(&r);
  world_free();
}

/* A change on top of a record that lost is redone as a whole: W1 makes two changes
 * (v3 then v4 on it) while W0's v3 wins; members see the four records in every order
 * that puts a record after the one it follows or before it (kept and retried). */
static void test_losing_branch_of_two(void) {
  struct recs r;
  memset(&r, 0, sizeof r);
  CHECK_EQ(world_users(9, 0), 0);
  W_n = 8;
  CHECK_EQ(admins_group(2), 0);
  W_n = 9;
  struct group_member_spec s8 = spec_of(8, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  CHECK_EQ(group_remove(W[0].g[0], &W[0].id, (const uint8_t(*)[32])W[7].id.pub, 1, NOW, &r.b[0],
                        &r.n[0]), 0);
  CHECK_EQ(group_add(W[1].g[0], &W[1].id, &s8, 1, NOW, &r.b[1], &r.n[1]), 0);
  CHECK_EQ(group_set_role(W[1].g[0], &W[1].id, W[2].id.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN,
                          NOW, &r.b[2], &r.n[2]), 0);
  r.count = 3;
  CHECK_EQ(join_from(8, 0, W[1].g[0], 1), 0);
  CHECK_EQ(deliver(W[0].g[0], &r, perms3[0], 3), 0);
  CHECK_EQ(deliver(W[1].g[0], &r, perms3[0], 3), 0);
  for (size_t u = 2; u < 7; u++) CHECK_EQ(deliver(W[u].g[0], &r, perms3[u - 1], 3), 0);
  CHECK_EQ(deliver(W[8].g[0], &r, perms3[5], 3), 0);
  CHECK_EQ(settle(2, &r), 0);
  struct group_info gi0;
  group_get_info(W[0].g[0], &gi0);
  for (size_t u = 0; u < 9; u++) {
    if (u == 7) continue;
    struct group_info gi;
    group_get_info(W[u].g[0], &gi);
    CHECK_MEM(gi.record_hash, gi0.record_hash, 32);
  }
  CHECK(group__find(&W[0].g[0]->r, W[7].id.pub) < 0);
  CHECK(group__find(&W[0].g[0]->r, W[8].id.pub) >= 0);
  CHECK(group__is_admin(&W[0].g[0]->r, W[2].id.pub));
  recs_free(&r);
  world_free();
}

/* A concurrent record can still win within GROUP_FORK_WINDOW versions of the head;
 * below that it is E_SUPERSEDED. A segment of the chain brings a member up to date. */
static void test_fork_window_and_segment(void) {
  uint8_t *late = NULL, *rec = NULL, *seg = NULL;
  size_t ll = 0, len = 0, sl = 0;
  CHECK_EQ(world_users(4, 0), 0);
  CHECK_EQ(admins_group(2), 0); /* v2 */
  CHECK_EQ(group_rotate(W[1].g[0], &W[1].id, NOW, &late, &ll), 0); /* v3 at W1 only */
  for (int i = 0; i < GROUP_FORK_WINDOW + 1; i++) {
    CHECK_EQ(group_rotate(W[0].g[0], &W[0].id, NOW, &rec, &len), 0);
    free(rec);
  }
  /* W2 catches up from a segment: the versions after its v2. */
  CHECK_EQ(group_chain(W[0].g[0], 2, &seg, &sl), 0);
  struct group_apply_info ai;
  CHECK_EQ(group_chain_apply(W[2].g[0], seg, sl, NOW, &ai), 0);
  CHECK(ai.head_changed && ai.epoch_changed);
  CHECK_EQ(ai.version, 2 + GROUP_FORK_WINDOW + 1);
  CHECK_EQ(group_chain_apply(W[2].g[0], seg, sl, NOW, &ai), MOMEDO_E_EXISTS);
  free(seg);
  CHECK(refused(W[2].g[0], late, ll, NOW, MOMEDO_E_SUPERSEDED));
  free(late);
  world_free();
}

/* W0 and W1 both remove W3 at once (each a new epoch). W1 posts in its own epoch before
 * it learns that W0's record won: W2, which applied W0's first, still reads the post —
 * it keeps the epoch of the record that lost. */
static void test_post_in_a_losing_epoch_is_read(void) {
  struct recs r;
  struct group_post p;
  CHECK_EQ(two_removals(4, 3, 3, &r), 0);
  /* Whichever wins, the other is "the loser": let L be the one that loses. */
  struct group_roster A, B;
  CHECK_EQ(group__roster_parse(&A, r.b[0], r.n[0], 0), 0);
  CHECK_EQ(group__roster_parse(&B, r.b[1], r.n[1], 0), 0);
  size_t lose = memcmp(A.hash, B.hash, 32) < 0 ? 1 : 0, win = 1 - lose;
  group__roster_clear(&A);
  group__roster_clear(&B);
  /* The loser's admin posts in its epoch (its key to W2 first), before it hears. */
  CHECK_EQ(group_record_apply(W[2].g[0], r.b[win], r.n[win], NOW, NULL), 0);
  struct group_apply_info ai;
  CHECK_EQ(group_record_apply(W[2].g[0], r.b[lose], r.n[lose], NOW, &ai), 0);
  CHECK(ai.lost);
  CHECK_EQ(distribute(lose, 0, 2, 3, NULL), 0);
  CHECK_EQ(post_text(W[lose].g[0], W[lose].devpub[0], "before I knew", &p), 0);
  CHECK_EQ(recv_text(W[2].g[0], &p, "before I knew", W[lose].id.pub), 0);
  group_post_clear(&p);
  /* The loser then switches to the winner; nothing to redo (W3 is out already). */
  CHECK_EQ(group_record_apply(W[lose].g[0], r.b[win], r.n[win], NOW, &ai), 0);
  CHECK(ai.head_changed && ai.displaced_own);
  uint8_t *rec = NULL;
  size_t len = 0;
  CHECK_EQ(group_rebase(W[lose].g[0], &W[lose].id, NOW, &rec, &len), 0);
  CHECK(rec == NULL);
  struct group_info a, b;
  group_get_info(W[lose].g[0], &a);
  group_get_info(W[2].g[0], &b);
  CHECK_MEM(a.record_hash, b.record_hash, 32);
  CHECK_MEM(a.mailbox, b.mailbox, 32);
  recs_free(&r);
  world_free();
}

int main(void) {
  RUN(test_post_in_a_losing_epoch_is_read);
  RUN(test_three_admins_all_orders);
  RUN(test_two_removals_both_orders);
  RUN(test_ousted_signer_loses);
  RUN(test_losing_branch_of_two);
  RUN(test_fork_window_and_segment);
  world_free();
  TEST_MAIN_END();
}
