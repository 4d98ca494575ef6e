/* Attack tests for groups (issue 11): each test performs an attack a group member or
 * an outsider inside the federation can mount and asserts that it fails: sender-key
 * squatting (finding 10). */
#include "harness.h"

#include "group_world.h"

/* The SenderKey body of (i, k)'s pairwise key message, decoded into a. */
static Momedo__SenderKey *senderkey_of(size_t i, int k, struct arena *a, uint8_t **ct) {
  size_t cl = 0;
  Momedo__Content *c = NULL;
  if (group_senderkey_content(W[i].g[k], NOW, ct, &cl) != 0) return NULL;
  if (group_content_decode(*ct, cl, a, &c) != 0) return NULL;
  return c->group->sender_key;
}

/* Finding 10: W1 received W2's sender key and hands it to W3 as its own, before W2's
 * own delivery reaches W3. W3 refuses the squat, takes W2's key, and W2's messages are
 * W2's. */
static void test_senderkey_squatting(void) {
  struct arena a;
  uint8_t *ct = NULL;
  struct group_post p;
  struct group_sender from;
  CHECK_EQ(world_users(4, 0), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  Momedo__SenderKey *sk = senderkey_of(2, 0, &a, &ct);
  CHECK(sk != NULL);
  CHECK_EQ(group_senderkey_accept(W[1].g[0], W[2].id.pub, W[2].devpub[0], sk), 0);
  /* The squat: W2's key message, replayed by W1 as coming from W1's device ... */
  int rc = group_senderkey_accept(W[3].g[0], W[1].id.pub, W[1].devpub[0], sk);
  CHECK(rc < 0);
  CHECK(rc != MOMEDO_E_EXISTS);
  /* ... or W1's own key message with W2's key and chain put in. */
  struct arena a1;
  uint8_t *ct1 = NULL;
  arena_init(&a1, CONTENT_DECODE_BYTES_MAX);
  Momedo__SenderKey *own = senderkey_of(1, 0, &a1, &ct1);
  CHECK(own != NULL);
  own->signing_key = sk->signing_key;
  own->chain_key = sk->chain_key;
  own->iteration = sk->iteration;
  CHECK_EQ(group_senderkey_accept(W[3].g[0], W[1].id.pub, W[1].devpub[0], own), MOMEDO_E_BADSIG);
  arena_close(&a1);
  free(ct1);
  CHECK_EQ(group_senderkey_accept(W[3].g[0], W[2].id.pub, W[2].devpub[0], sk), 0);
  CHECK_EQ(post_text(W[2].g[0], W[2].devpub[0], "from W2", &p), 0);
  struct arena b;
  Momedo__Content *c = NULL;
  arena_init(&b, CONTENT_DECODE_BYTES_MAX);
  CHECK_EQ(group_receive(W[3].g[0], p.mailbox, p.wire, p.wire_len, &b, &c, &from), 0);
  CHECK_MEM(from.identity_key, W[2].id.pub, 32);
  CHECK_MEM(from.device_key, W[2].devpub[0], 32);
  arena_close(&b);
  group_post_clear(&p);
  arena_close(&a);
  free(ct);
  world_free();
}

int main(void) {
  RUN(test_senderkey_squatting);
  world_free();
  TEST_MAIN_END();
}
