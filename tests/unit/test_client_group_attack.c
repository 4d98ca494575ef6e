/* Attack tests for groups (issue 11): each test performs an attack a group member or
 * an outsider inside the federation can mount and asserts that it fails — a member
 * racing a self-signed record against its removal (finding 1), a forged first record
 * for an existing group ID (finding 4), a forged item that would hold read cursors
 * (finding 8, the client's side), and sender-key squatting (finding 10). Each failed
 * against the code before its fix. */
#include "harness.h"

#include "group_world.h"

/* ---- helpers ---- */

static int hash_of(const struct group *g, uint8_t h[32]) {
  struct group_info gi;
  group_get_info(g, &gi);
  memcpy(h, gi.record_hash, 32);
  return 0;
}

/* Sign the unsigned encoding of r (signature cleared) with kp and pack it into *out. */
static int sign_pack(Momedo__GroupRecord *r, const struct crypto_sign_keypair *kp, uint8_t **out,
                     size_t *ol) {
  uint8_t sig[CRYPTO_SIG_LEN], *u = NULL, *msg = NULL;
  const size_t dl = sizeof GROUP_DOMAIN_RECORD - 1;
  r->signature = (ProtobufCBinaryData){0, NULL};
  size_t ul = momedo__group_record__get_packed_size(r);
  int rc = -1;
  if ((u = malloc(ul)) == NULL || (msg = malloc(dl + ul)) == NULL) goto out;
  momedo__group_record__pack(r, u);
  memcpy(msg, GROUP_DOMAIN_RECORD, dl);
  memcpy(msg + dl, u, ul);
  if (crypto_sign(sig, msg, dl + ul, kp) != 0) goto out;
  r->signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, sig};
  *ol = momedo__group_record__get_packed_size(r);
  if ((*out = malloc(*ol)) == NULL) goto out;
  momedo__group_record__pack(r, *out);
  r->signature = (ProtobufCBinaryData){0, NULL};
  rc = 0;
out:
  free(u);
  free(msg);
  return rc;
}

static int cmp_dev(const void *a, const void *b) {
  return memcmp(((const ProtobufCBinaryData *)a)->data, ((const ProtobufCBinaryData *)b)->data,
                32);
}

/* A malicious member's client: the next version of g's record in which the member
 * `who` has one more device, signed by who's identity key kp — built by hand, as a
 * patched client would, whatever its own core allows. */
static int forge_self_record(const struct group *g, const struct crypto_sign_keypair *kp,
                             const uint8_t extra[32], uint8_t **out, size_t *ol) {
  size_t len = 0;
  struct group_info gi;
  const uint8_t *rec = group_record(g, &len);
  Momedo__GroupRecord *r = momedo__group_record__unpack(NULL, len, rec);
  if (r == NULL) return -1;
  group_get_info(g, &gi);
  int rc = -1;
  Momedo__GroupMember *m = NULL;
  for (size_t i = 0; i < r->n_members; i++)
    if (!memcmp(r->members[i]->identity_key.data, kp->pub, 32)) m = r->members[i];
  ProtobufCBinaryData *devs = m ? calloc(m->n_devices + 1, sizeof *devs) : NULL, *keep_d = NULL;
  ProtobufCBinaryData keep_prev = r->prev_hash, keep_signer = r->signer, keep_gid = r->group_id;
  ProtobufCBinaryData keep_sig = r->signature; /* sign_pack clears it */
  size_t keep_n = 0;
  if (devs != NULL) {
    memcpy(devs, m->devices, m->n_devices * sizeof *devs);
    devs[m->n_devices] = (ProtobufCBinaryData){32, (uint8_t *)extra};
    qsort(devs, m->n_devices + 1, sizeof *devs, cmp_dev);
    keep_d = m->devices, keep_n = m->n_devices;
    m->devices = devs, m->n_devices++;
    r->version++;
    r->group_id = (ProtobufCBinaryData){32, gi.group_id}; /* version 1 has none */
    r->prev_hash = (ProtobufCBinaryData){32, gi.record_hash};
    r->change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_DEVICES;
    r->signer = (ProtobufCBinaryData){32, (uint8_t *)kp->pub};
    rc = sign_pack(r, kp, out, ol);
    m->devices = keep_d, m->n_devices = keep_n;
  }
  r->prev_hash = keep_prev, r->signer = keep_signer, r->group_id = keep_gid;
  r->signature = keep_sig;
  momedo__group_record__free_unpacked(r, NULL);
  free(devs);
  return rc;
}

/* Finding 1: the member W1 signs a record that changes its own devices at v2 while the
 * admin W0 removes it at v2. Whichever arrives first, every remaining member ends
 * without W1, in the admin's new epoch. */
static void test_self_record_races_removal(void) {
  uint8_t *rm = NULL, *ra = NULL, head0[32], h[32];
  size_t lm = 0, la = 0;
  struct crypto_sign_keypair extra;
  CHECK_EQ(world_users(4, 0), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  CHECK_EQ(crypto_sign_keygen(&extra), 0);
  CHECK_EQ(forge_self_record(W[1].g[0], &W[1].id, extra.pub, &rm, &lm), 0);
  CHECK_EQ(group_remove(W[0].g[0], &W[0].id, (const uint8_t(*)[32])W[1].id.pub, 1, NOW, &ra,
                        &la), 0);
  CHECK_EQ(hash_of(W[0].g[0], head0), 0);
  struct group_info gi0;
  group_get_info(W[0].g[0], &gi0);
  /* W2 sees the member's record first, W3 the admin's. */
  int rc[5];
  rc[0] = group_record_apply(W[2].g[0], rm, lm, NOW, NULL);
  rc[1] = group_record_apply(W[2].g[0], ra, la, NOW, NULL);
  rc[2] = group_record_apply(W[3].g[0], ra, la, NOW, NULL);
  rc[3] = group_record_apply(W[3].g[0], rm, lm, NOW, NULL);
  /* The admin never takes the member's record either. */
  rc[4] = group_record_apply(W[0].g[0], rm, lm, NOW, NULL);
  /* Whatever the order, the member's record is refused (members do not sign records)
   * and the admin's removal taken. */
  CHECK_EQ(rc[0], MOMEDO_E_DENIED);
  CHECK_EQ(rc[1], 0);
  CHECK_EQ(rc[2], 0);
  CHECK_EQ(rc[3], MOMEDO_E_DENIED);
  CHECK_EQ(rc[4], MOMEDO_E_DENIED);
  for (size_t i = 0; i < 4; i++) {
    if (i == 1) continue;
    struct group_info gi;
    group_get_info(W[i].g[0], &gi);
    CHECK_EQ(hash_of(W[i].g[0], h), 0);
    CHECK_MEM(h, head0, 32);
    CHECK_EQ(gi.epoch, 2);
    CHECK_EQ(gi.n_members, 3);
    CHECK_MEM(gi.mailbox, gi0.mailbox, 32);
    CHECK(group__find(&W[i].g[0]->r, W[1].id.pub) < 0);
  }
  free(rm);
  free(ra);
  world_free();
}

/* A record for group_id signed by kp, built from a record kp made for its own group: the
 * outsider's forgery (canonical encoding, valid signature, any group ID it likes). */
static int forge_for(const uint8_t *rec, size_t len, const uint8_t group_id[32],
                     const struct crypto_sign_keypair *kp, uint8_t **out, size_t *ol) {
  Momedo__GroupRecord *r = momedo__group_record__unpack(NULL, len, rec);
  if (r == NULL) return -1;
  uint8_t gid[32];
  memcpy(gid, group_id, 32);
  ProtobufCBinaryData keep_gid = r->group_id, keep_sig = r->signature;
  r->group_id = (ProtobufCBinaryData){32, gid};
  int rc = sign_pack(r, kp, out, ol);
  r->group_id = keep_gid, r->signature = keep_sig;
  momedo__group_record__free_unpacked(r, NULL);
  return rc;
}

/* Finding 4: W3 (an outsider who learned the group ID) sends W2 a record for the real
 * group's ID that lists W2, before the real admin adds W2. It is refused, and W2 then
 * joins the real group. */
static void test_forged_first_record(void) {
  uint8_t *own = NULL, *forged = NULL, *real = NULL;
  size_t lo = 0, lf = 0, lr = 0;
  struct group *fake = NULL, *v = NULL;
  CHECK_EQ(world_users(4, 0), 0);
  size_t keep = W_n;
  W_n = 2; /* W0 creates with W1 only */
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  W_n = keep;
  struct group_info real_gi;
  group_get_info(W[0].g[0], &real_gi);
  /* The outsider makes its own group with the victim, then re-labels it. */
  struct group_member_spec me = spec_of(3, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  struct group_member_spec victim = spec_of(2, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  CHECK_EQ(group_create(&fake, &W[3].id, W[3].devpub[0], MOMEDO__GROUP_MODE__GROUP_MODE_GROUP,
                        "Klasse 7b", &me, &victim, 1, NOW, &own, &lo), 0);
  CHECK_EQ(forge_for(own, lo, real_gi.group_id, &W[3].id, &forged, &lf), 0);
  /* 1: the forged record alone, as a chain of one ("the first record seen"). */
  size_t cl = 0;
  const uint8_t *one = forged;
  uint8_t *chain = chain_of(&one, &lf, 1, &cl);
  CHECK(chain != NULL);
  CHECK(group_join(&v, W[2].id.pub, W[2].devpub[0], W[3].id.pub, chain, cl, NOW) != 0);
  CHECK(v == NULL);
  free(chain);
  /* 2: its own version 1, then a version 2 that claims the real group's ID. */
  uint8_t *v2 = NULL;
  size_t l2 = 0;
  CHECK_EQ(forge_next(fake, &W[3].id, NULL, &v2, &l2), 0);
  uint8_t *v2r = NULL;
  size_t l2r = 0;
  CHECK_EQ(forge_for(v2, l2, real_gi.group_id, &W[3].id, &v2r, &l2r), 0);
  const uint8_t *two[2] = {own, v2r};
  size_t tl[2] = {lo, l2r};
  chain = chain_of(two, tl, 2, &cl);
  CHECK(chain != NULL);
  CHECK(group_join(&v, W[2].id.pub, W[2].devpub[0], W[3].id.pub, chain, cl, NOW) != 0);
  CHECK(v == NULL);
  free(chain);
  free(v2);
  free(v2r);
  /* 3: the real version 1 (a former member holds it), then its own version 2. */
  size_t r1l = 0;
  const uint8_t *r1 = NULL;
  uint8_t *c1 = NULL;
  CHECK_EQ(group_chain(W[0].g[0], 0, &c1, &cl), 0);
  free(c1);
  r1 = W[0].g[0]->ch[0].b, r1l = W[0].g[0]->ch[0].n;
  struct group *holder = NULL;
  const uint8_t *r1v[1] = {r1};
  chain = chain_of(r1v, &r1l, 1, &cl);
  CHECK_EQ(group_join(&holder, W[1].id.pub, W[1].devpub[0], W[0].id.pub, chain, cl, NOW), 0);
  free(chain);
  struct group_member_spec victim_spec = spec_of(2, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  CHECK_EQ(forge_next(holder, &W[3].id, &victim_spec, &v2, &l2), 0);
  const uint8_t *three[2] = {r1, v2};
  size_t l3[2] = {r1l, l2};
  chain = chain_of(three, l3, 2, &cl);
  CHECK(chain != NULL);
  CHECK_EQ(group_join(&v, W[2].id.pub, W[2].devpub[0], W[3].id.pub, chain, cl, NOW),
           MOMEDO_E_DENIED);
  CHECK(v == NULL);
  free(chain);
  free(v2);
  group_free(holder);
  /* The real admin adds W2: it joins the real group from the real chain. */
  struct group_member_spec s2 = spec_of(2, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  CHECK_EQ(group_add(W[0].g[0], &W[0].id, &s2, 1, NOW, &real, &lr), 0);
  CHECK_EQ(join_from(2, 0, W[0].g[0], 0), 0);
  struct group_info gi;
  group_get_info(W[2].g[0], &gi);
  CHECK_MEM(gi.group_id, real_gi.group_id, 32);
  CHECK_EQ(gi.n_members, 3);
  group_free(fake);
  free(own);
  free(forged);
  free(real);
  world_free();
}

/* Finding 8 (client side): an item posted into the group's mailbox by someone outside
 * the group (random signing key) is refused for good — it must not hold read cursors
 * the way an item whose sender key is still on its way does. */
static void test_forged_item_does_not_hold(void) {
  struct group_post p;
  CHECK_EQ(world_users(3, 0), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL), 0);
  CHECK_EQ(distribute(0, 0, 0, W_n, NULL), 0);
  CHECK_EQ(post_text(W[0].g[0], W[0].devpub[0], "real", &p), 0);
  /* The forger knows the mailbox and the wire format, not the group's keys. */
  uint8_t *w = malloc(p.wire_len);
  CHECK(w != NULL);
  CHECK_EQ(crypto_random(w, p.wire_len), 0);
  memcpy(w, p.wire, 2);
  struct group_post f = p;
  f.wire = w;
  int rc = recv_text(W[1].g[0], &f, "real", NULL);
  CHECK(rc < 0);
  CHECK(rc != MOMEDO_E_NOTFOUND);
  CHECK_EQ(recv_text(W[1].g[0], &p, "real", W[0].id.pub), 0);
  free(w);
  group_post_clear(&p);
  world_free();
}

/* The SenderKey body of (i, k)'s pairwise key message, decoded into a. */
static Momedo__SenderKey *senderkey_of(size_t i, int k, struct arena *a, uint8_t **ct) {
  size_t cl = 0;
  Momedo__Content *c = NULL;
  if (group_senderkey_content(W[i].g[k], NULL, NOW, ct, &cl) != 0) return NULL;
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
  RUN(test_self_record_races_removal);
  RUN(test_forged_first_record);
  RUN(test_forged_item_does_not_hold);
  RUN(test_senderkey_squatting);
  world_free();
  TEST_MAIN_END();
}
