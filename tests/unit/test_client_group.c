/* Unit tests for groups and announcement channels (client/core/group.h): a class of 30
 * members simulated in-process (no network): one announcement for everyone including
 * late and out-of-order readers, removal with key rotation (the removed member's full
 * state opens nothing new), refused records and posts, duplicates and tampering with
 * the state unchanged, state serialisation, and known-answer vectors. */
#include "harness.h"

#include "group_world.h"

/* ---- tests ---- */

static void test_vectors(void) {
  uint8_t ck[32], mk[32], next[32], want[32], gid[32], salt[32], mb[32];
  for (int i = 0; i < 32; i++) ck[i] = (uint8_t)i;
  CHECK_EQ(group__chain_step(mk, next, ck), 0);
  th_unhex(want, 32, "9b4c8120a4823a95f47cde17a244f4507244ee6e3957d1fab9fa29b44d3829b7");
  CHECK_MEM(mk, want, 32);
  th_unhex(want, 32, "4304c22c84a53755ab08ead8d97a8d429be5efa480682d7ad1da27f73e1fbe1d");
  CHECK_MEM(next, want, 32);
  memset(gid, 0x11, 32);
  memset(salt, 0x22, 32);
  /* The epoch's write key seed (GROUP mode) and its mailbox: independently computed
   * with Python's hashlib and cryptography (HKDF-SHA-256, Ed25519). */
  uint8_t seed[32], tag[32];
  struct crypto_sign_keypair wk;
  CHECK_EQ(group__write_seed(seed, 7, salt), 0);
  th_unhex(want, 32, "fb904d1706c3b5d6931107b21d10a65da6eb0493e7394765a6c39309f5544970");
  CHECK_MEM(seed, want, 32);
  CHECK_EQ(crypto_sign_from_seed(&wk, seed), 0);
  th_unhex(want, 32, "bc2ef86a6be3b66387f91fa6dc88761888aec4b2649ed58da128ab37a51a6348");
  CHECK_MEM(wk.pub, want, 32);
  CHECK_EQ(group__epoch_tag(tag, gid, 7, salt), 0);
  th_unhex(want, 32, "86524811269c2580e74924ebb215a0477b855eeb75243401f0e839eb38e2d0b0");
  CHECK_MEM(tag, want, 32);
  CHECK_EQ(group_mailbox_derive(mb, gid, 7, salt, wk.pub), 0);
  th_unhex(want, 32, "3134f5ea6f92dc45165bc0f3e2ac320cbe7f5eeeeea9aba1661830af94abd7ba");
  CHECK_MEM(mb, want, 32);
}

/* The class of 30 (every third pupil on two devices) in announcement mode. */
static void test_class_announcement(void) {
  struct group_post p[3];
  struct group_info gi;
  const char *texts[3] = {"Die erste Stunde entfällt.", "Sport in Halle 2", "Bis morgen"};
  memset(p, 0, sizeof p);
  CHECK_EQ(world_users(CLASS_N, 3), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL), 0);
  group_get_info(W[0].g[0], &gi);
  CHECK_EQ(gi.n_members, CLASS_N);
  CHECK_EQ(gi.n_devices, 40);
  CHECK_EQ(gi.version, 1);
  CHECK_EQ(gi.epoch, 1);
  CHECK(gi.can_post);
  /* Pupils read only. */
  struct group_info pi;
  group_get_info(W[5].g[0], &pi);
  CHECK(!pi.can_post);
  CHECK_EQ(pi.my_role, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  CHECK_MEM(pi.mailbox, gi.mailbox, 32);
  uint8_t *x = NULL;
  size_t xl = 0;
  CHECK_EQ(group_senderkey_content(W[5].g[0], NULL, NOW, &x, &xl), MOMEDO_E_DENIED);
  /* The teacher sends its key at the start of the epoch: pupils 0..19 get it now,
   * 20..29 are offline and get it (from their mailboxes) later. */
  size_t sent = 0;
  struct sk_out o;
  CHECK_EQ(sk_prepare(0, 0, &o), 0);
  CHECK_EQ(o.n, 39);
  CHECK_EQ(sk_deliver(0, 0, &o, 0, 20, &sent), 0);
  for (int m = 0; m < 3; m++) CHECK_EQ(post_text(W[0].g[0], W[0].devpub[0], texts[m], &p[m]), 0);
  CHECK_EQ(p[0].req.ttl_ms, GROUP_TTL_MS_DEFAULT);
  CHECK_MEM(p[0].req.mailbox, gi.mailbox, 32);
  for (size_t i = 1; i < 20; i++)
    for (int k = 0; k < W[i].ndev; k++)
      for (int m = 0; m < 3; m++) CHECK_EQ(recv_text(W[i].g[k], &p[m], texts[m], W[0].id.pub), 0);
  /* Offline pupils: the newest item arrives before the key (kept for later)... */
  for (size_t i = 20; i < CLASS_N; i++)
    for (int k = 0; k < W[i].ndev; k++)
      CHECK_EQ(recv_text(W[i].g[k], &p[2], texts[2], NULL), MOMEDO_E_NOTFOUND);
  CHECK_EQ(sk_deliver(0, 0, &o, 20, CLASS_N, &sent), 0);
  sk_free(&o);
  CHECK_EQ(sent, 39); /* every device but the teacher's own */
  struct group_device *left = NULL;
  size_t n_left = 1;
  CHECK_EQ(group_senderkey_targets(W[0].g[0], &left, &n_left), 0);
  CHECK_EQ(n_left, 0);
  free(left);
  /* ...then they catch up out of order, and a replica's duplicate changes nothing. */
  for (size_t i = 20; i < CLASS_N; i++)
    for (int k = 0; k < W[i].ndev; k++) {
      CHECK_EQ(recv_text(W[i].g[k], &p[2], texts[2], W[0].id.pub), 0);
      CHECK_EQ(recv_text(W[i].g[k], &p[0], texts[0], W[0].id.pub), 0);
      CHECK_EQ(recv_text(W[i].g[k], &p[1], texts[1], W[0].id.pub), 0);
      size_t bl;
      uint8_t *b = snap(W[i].g[k], &bl);
      CHECK(b != NULL);
      CHECK_EQ(recv_text(W[i].g[k], &p[0], texts[0], NULL), MOMEDO_E_EXISTS);
      CHECK(same_state(W[i].g[k], b, bl));
    }
  /* The teacher's own item comes back from the node: recognised, not decrypted. */
  CHECK_EQ(recv_text(W[0].g[0], &p[0], texts[0], NULL), MOMEDO_E_EXISTS);
  for (int m = 0; m < 3; m++) group_post_clear(&p[m]);
  world_free();
}

static void test_channel_refuses_non_admin(void) {
  struct group_post p;
  uint8_t *rec = NULL, bogus[32];
  size_t len = 0;
  memset(&p, 0, sizeof p);
  CHECK_EQ(world_users(4, 0), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL), 0);
  /* A member cannot post, and its sender key is refused. */
  CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], "hi", &p), MOMEDO_E_DENIED);
  Momedo__SenderKey sk = MOMEDO__SENDER_KEY__INIT;
  struct group_info gi;
  group_get_info(W[2].g[0], &gi);
  memset(bogus, 7, 32);
  sk.group_id = (ProtobufCBinaryData){32, gi.group_id};
  sk.epoch = 1;
  sk.signing_key = sk.chain_key = sk.record_hash = (ProtobufCBinaryData){32, bogus};
  sk.mailbox = (ProtobufCBinaryData){32, gi.mailbox};
  uint8_t bogus_sig[CRYPTO_SIG_LEN];
  memset(bogus_sig, 7, sizeof bogus_sig);
  sk.proof = (ProtobufCBinaryData){CRYPTO_SIG_LEN, bogus_sig};
  CHECK_EQ(group_senderkey_accept(W[2].g[0], W[1].id.pub, W[1].devpub[0], &sk), MOMEDO_E_DENIED);
  /* Promoted, W1 posts (a new epoch: it gets the channel's write key from W0's sender
   * key, which only admins' copies carry); demoted, its stale client is refused. */
  CHECK_EQ(group_set_role(W[0].g[0], &W[0].id, W[1].id.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN,
                          NOW, &rec, &len), 0);
  struct group_apply_info ai;
  for (size_t i = 1; i < W_n; i++) CHECK_EQ(group_record_apply(W[i].g[0], rec, len, NOW, &ai), 0);
  CHECK(ai.epoch_changed && ai.epoch == 2);
  free(rec);
  CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], "as admin", &p), MOMEDO_E_UNEXPECTED);
  CHECK_EQ(distribute(0, 0, 0, W_n, NULL), 0);
  CHECK(!W[2].g[0]->ep[W[2].g[0]->n_ep - 1].has_write); /* members never get it */
  CHECK(W[1].g[0]->ep[W[1].g[0]->n_ep - 1].has_write);
  CHECK_EQ(distribute(1, 0, 0, W_n, NULL), 0);
  CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], "as admin", &p), 0);
  CHECK_EQ(recv_text(W[2].g[0], &p, "as admin", W[1].id.pub), 0);
  group_post_clear(&p);
  size_t sl;
  uint8_t *stale = snap(W[1].g[0], &sl);
  CHECK(stale != NULL);
  CHECK_EQ(group_set_role(W[0].g[0], &W[0].id, W[1].id.pub,
                          MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER, NOW, &rec, &len), 0);
  for (size_t i = 1; i < W_n; i++) CHECK_EQ(group_record_apply(W[i].g[0], rec, len, NOW, NULL), 0);
  free(rec);
  CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], "still?", &p), MOMEDO_E_DENIED);
  /* The malicious client: the state from before its demotion, posting into epoch 2. */
  struct group *evil = NULL;
  CHECK_EQ(group_load(&evil, stale, sl), 0);
  free(stale);
  CHECK_EQ(post_text(evil, W[1].devpub[0], "still?", &p), 0);
  group_free(evil);
  size_t bl;
  uint8_t *b = snap(W[2].g[0], &bl);
  CHECK(b != NULL);
  CHECK_EQ(recv_text(W[2].g[0], &p, "still?", NULL), MOMEDO_E_DENIED);
  CHECK(same_state(W[2].g[0], b, bl));
  CHECK(strstr(group_reason(W[2].g[0]), "may not post") != NULL);
  group_post_clear(&p);
  world_free();
}

/* Try every key the removed member holds (chain keys stepped ahead, skipped keys, its own
 * sending chain) against a message of the new epoch: none opens it. */
static int removed_opens(const struct group *x, const struct group_post *p) {
  uint8_t pt[256], ck[32], mk[32], next[32];
  int opened = 0;
  for (size_t e = 0; e < x->n_ep; e++) {
    const struct group_epoch *ep = &x->ep[e];
    for (uint64_t epoch = 1; epoch <= 2; epoch++) {
      for (size_t r = 0; r <= ep->n_rx; r++) {
        if (r == ep->n_rx && !ep->has_tx) continue;
        memcpy(ck, r < ep->n_rx ? ep->rx[r].ck : ep->tx_ck, 32);
        for (int s = 0; s < 200; s++) {
          if (group__chain_step(mk, next, ck)) return -1;
          opened += group__msg_open(pt, p->wire, p->wire_len, x->r.group_id, epoch, mk) == 0;
          memcpy(ck, next, 32);
        }
        for (uint32_t k = 0; r < ep->n_rx && k < ep->rx[r].n_sk; k++)
          opened += group__msg_open(pt, p->wire, p->wire_len, x->r.group_id, epoch,
                                    ep->rx[r].sk[k].mk) == 0;
      }
    }
  }
  return opened;
}

static void test_removal_rotates(void) {
  struct group_post p1, p2;
  struct group_apply_info ai;
  struct group_info before, after;
  uint8_t *rec = NULL;
  size_t len = 0;
  const size_t X = 7, S = 5;
  memset(&p1, 0, sizeof p1);
  memset(&p2, 0, sizeof p2);
  CHECK_EQ(world_users(CLASS_N, 4), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; k < W[i].ndev; k++) CHECK_EQ(distribute(i, k, 0, W_n, NULL), 0);
  CHECK_EQ(post_text(W[S].g[0], W[S].devpub[0], "epoch one", &p1), 0);
  CHECK_EQ(recv_text(W[X].g[0], &p1, "epoch one", W[S].id.pub), 0);
  group_get_info(W[0].g[0], &before);
  uint8_t xs[1][32];
  memcpy(xs[0], W[X].id.pub, 32);
  CHECK_EQ(group_remove(W[0].g[0], &W[0].id, (const uint8_t(*)[32])xs, 1, NOW, &rec, &len), 0);
  for (size_t i = 1; i < W_n; i++)
    for (int k = 0; i != X && k < W[i].ndev; k++) {
      CHECK_EQ(group_record_apply(W[i].g[k], rec, len, NOW, &ai), 0);
      CHECK(ai.epoch_changed && !ai.removed && ai.epoch == 2);
    }
  group_get_info(W[0].g[0], &after);
  CHECK_EQ(after.epoch, 2);
  CHECK_EQ(after.n_members, CLASS_N - 1);
  CHECK(memcmp(after.mailbox, before.mailbox, 32) != 0);
  /* New sender keys go to the remaining devices only. */
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; i != X && k < W[i].ndev; k++) {
      struct group_device *t = NULL;
      size_t n = 0;
      CHECK_EQ(group_senderkey_targets(W[i].g[k], &t, &n), 0);
      for (size_t j = 0; j < n; j++) CHECK(memcmp(t[j].identity_key, W[X].id.pub, 32) != 0);
      free(t);
      CHECK_EQ(distribute(i, k, 0, W_n, NULL), 0);
    }
  CHECK_EQ(post_text(W[S].g[0], W[S].devpub[0], "epoch two", &p2), 0);
  CHECK_MEM(p2.mailbox, after.mailbox, 32);
  CHECK_EQ(recv_text(W[S].g[0], &p2, "epoch two", NULL), MOMEDO_E_EXISTS); /* own */
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; i != X && k < W[i].ndev; k++) {
      if (i == S && k == 0) continue;
      CHECK_EQ(recv_text(W[i].g[k], &p2, "epoch two", W[S].id.pub), 0);
      /* A late item of the old epoch still opens for those who had not read it. */
      CHECK_EQ(recv_text(W[i].g[k], &p1, "epoch one", W[S].id.pub), 0);
    }
  /* The removed member, with its full state: no mailbox, no key, nothing opens. */
  struct group *x = W[X].g[0];
  /* Its client still believes in epoch 1 and posts there: refused by everyone. */
  struct group_post px;
  CHECK_EQ(post_text(x, W[X].devpub[0], "still here", &px), 0);
  CHECK_MEM(px.mailbox, before.mailbox, 32);
  CHECK_EQ(recv_text(W[1].g[0], &px, "still here", NULL), MOMEDO_E_DENIED);
  group_post_clear(&px);
  CHECK_EQ(recv_text(x, &p2, "epoch two", NULL), MOMEDO_E_INVAL);
  uint8_t old_mb[32];
  memcpy(old_mb, before.mailbox, 32);
  struct group_post fake = p2;
  memcpy(fake.mailbox, old_mb, 32);
  CHECK_EQ(recv_text(x, &fake, "epoch two", NULL), MOMEDO_E_BADSIG); /* not its write key */
  CHECK_EQ(removed_opens(x, &p2), 0);
  CHECK(removed_opens(x, &p1) == 0); /* already read: its key is gone too */
  /* Even if the record reaches it by mistake, it joins no new epoch and gets no key. */
  CHECK_EQ(group_record_apply(x, rec, len, NOW, &ai), 0);
  CHECK(ai.removed);
  group_get_info(x, &after);
  CHECK(after.removed && !after.can_post && after.my_role == MOMEDO__GROUP_ROLE__GROUP_ROLE_NONE);
  CHECK_EQ(recv_text(x, &p2, "epoch two", NULL), MOMEDO_E_INVAL);
  uint8_t *ct = NULL;
  size_t cl = 0;
  struct arena a;
  Momedo__Content *c = NULL;
  CHECK_EQ(group_senderkey_content(W[S].g[0], NULL, NOW, &ct, &cl), 0);
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  CHECK_EQ(group_content_decode(ct, cl, &a, &c), 0);
  CHECK_EQ(group_senderkey_accept(x, W[S].id.pub, W[S].devpub[0], c->group->sender_key),
           MOMEDO_E_DENIED);
  arena_close(&a);
  free(ct);
  free(rec);
  group_post_clear(&p1);
  group_post_clear(&p2);
  world_free();
}

static void test_records_refused(void) {
  uint8_t *v2 = NULL, *v3a = NULL, *v3b = NULL, *bad = NULL, *tmp = NULL, *v1 = NULL;
  size_t l2, l3a, l3b, lb, lt, l1;
  CHECK_EQ(world_users(6, 0), 0);
  /* W0 creates with W1..W3; W4 and W5 are outsiders for now. */
  size_t keep = W_n;
  W_n = 4;
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  W_n = keep;
  const uint8_t *r1 = group_record(W[0].g[0], &l1);
  v1 = malloc(l1);
  memcpy(v1, r1, l1);
  struct group_member_spec s4 = spec_of(4, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  CHECK_EQ(group_add(W[0].g[0], &W[0].id, &s4, 1, NOW, &v2, &l2), 0);
  CHECK_EQ(join_from(4, 0, W[0].g[0], 0), 0);
  /* Unsigned, re-signed body, broken signature: refused, nothing changes. */
  CHECK_EQ(repack_record(v2, l2, 0, &bad, &lb), 0);
  CHECK(refused(W[1].g[0], bad, lb, NOW, MOMEDO_E_BOUNDS));
  free(bad);
  CHECK_EQ(repack_record(v2, l2, 1, &bad, &lb), 0);
  CHECK(refused(W[1].g[0], bad, lb, NOW, MOMEDO_E_BADSIG));
  free(bad);
  bad = malloc(l2);
  memcpy(bad, v2, l2);
  bad[l2 - 1] ^= 1;
  CHECK(refused(W[1].g[0], bad, l2, NOW, MOMEDO_E_BADSIG));
  free(bad);
  CHECK_EQ(group_record_apply(W[1].g[0], v2, l2, NOW, NULL), 0);
  CHECK_EQ(group_reason(W[1].g[0])[0], 0);
  /* Again is E_EXISTS, and so is v1 (held in the chain). */
  CHECK(refused(W[1].g[0], v2, l2, NOW, MOMEDO_E_EXISTS));
  CHECK(refused(W[1].g[0], v1, l1, NOW, MOMEDO_E_EXISTS));
  CHECK_EQ(group_record_apply(W[2].g[0], v2, l2, NOW, NULL), 0);
  CHECK_EQ(group_record_apply(W[3].g[0], v2, l2, NOW, NULL), 0);
  /* A member who believes it is an admin signs an add (its own core refuses to, so a
   * patched client builds it by hand): every honest client refuses. */
  struct group_member_spec s5 = spec_of(5, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  CHECK_EQ(group_add(W[2].g[0], &W[2].id, &s5, 1, NOW, &tmp, &lt), MOMEDO_E_DENIED);
  CHECK_EQ(forge_next(W[2].g[0], &W[2].id, &s5, &tmp, &lt), 0);
  CHECK(refused(W[1].g[0], tmp, lt, NOW, MOMEDO_E_DENIED));
  CHECK(strstr(group_reason(W[1].g[0]), "not signed by an admin") != NULL);
  free(tmp);
  /* Two admins change v2 concurrently: the removal wins the fork choice, the rotation
   * is kept beside the chain (test_client_group_fork has every order). */
  CHECK_EQ(group_remove(W[0].g[0], &W[0].id, (const uint8_t(*)[32])W[3].id.pub, 1, NOW, &v3a,
                        &l3a), 0);
  CHECK_EQ(group_rotate(W[4].g[0], &W[4].id, NOW, &v3b, &l3b), 0);
  struct group_apply_info ai;
  CHECK_EQ(group_record_apply(W[1].g[0], v3a, l3a, NOW, &ai), 0);
  CHECK(ai.head_changed && !ai.lost);
  CHECK_EQ(group_record_apply(W[1].g[0], v3b, l3b, NOW, &ai), 0);
  CHECK(ai.lost && !ai.head_changed);
  size_t hl;
  const uint8_t *head = group_record(W[1].g[0], &hl);
  CHECK(hl == l3a && memcmp(head, v3a, hl) == 0);
  /* A gap: v3 at a member still at v1 (fresh join from v1). */
  struct group *late = NULL;
  size_t cl1;
  const uint8_t *r1p = v1;
  uint8_t *c1 = chain_of(&r1p, &l1, 1, &cl1);
  CHECK(c1 != NULL);
  CHECK_EQ(group_join(&late, W[1].id.pub, W[1].devpub[0], W[0].id.pub, c1, cl1, NOW), 0);
  free(c1);
  CHECK(refused(late, v3a, l3a, NOW, MOMEDO_E_UNEXPECTED));
  group_free(late);
  /* From the future, and from another group. */
  CHECK_EQ(group_rotate(W[0].g[0], &W[0].id, NOW + 3600000, &tmp, &lt), 0);
  CHECK(refused(W[1].g[0], tmp, lt, NOW, MOMEDO_E_FUTURE));
  free(tmp);
  struct group *other = NULL;
  struct group_member_spec s0 = spec_of(0, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  CHECK_EQ(group_create(&other, &W[0].id, W[0].devpub[0], MOMEDO__GROUP_MODE__GROUP_MODE_GROUP,
                        "other", &s0, NULL, 0, NOW, &tmp, &lt), 0);
  CHECK(refused(W[1].g[0], tmp, lt, NOW, MOMEDO_E_INVAL));
  free(tmp);
  group_free(other);
  /* Members do not sign records: W3 (removed, its client still at v2) cannot leave by a
   * record; its request reaches an admin who has removed it already. */
  CHECK_EQ(group_leave(W[3].g[0], &W[3].id, NOW, &tmp, &lt), MOMEDO_E_DENIED);
  CHECK(tmp == NULL);
  uint8_t *req = NULL, *out = NULL;
  size_t rql = 0, ol = 0;
  CHECK_EQ(group_request_leave(W[3].g[0], &W[3].id, NOW, &req, &rql), 0);
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[3].id.pub, req, rql, NOW, &out, &ol),
           MOMEDO_E_EXISTS);
  CHECK(out == NULL);
  free(req);
  free(v1);
  free(v2);
  free(v3a);
  free(v3b);
  world_free();
}

/* Members ask, an admin signs: devices and leaving go through requests. */
static void test_leave_and_devices(void) {
  uint8_t *rec = NULL, *req = NULL, nd[2][32];
  size_t len = 0, rl = 0;
  struct group_apply_info ai;
  CHECK_EQ(world_users(4, 0), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  /* W2 adds a tablet: it asks, the admin's client makes the record (no new epoch). */
  struct crypto_sign_keypair tab;
  CHECK_EQ(crypto_sign_keygen(&tab), 0);
  memcpy(nd[0], W[2].devpub[0], 32);
  memcpy(nd[1], tab.pub, 32);
  struct group_member_spec s = {W[2].id.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_NONE,
                                (const uint8_t(*)[32])nd, 2};
  CHECK_EQ(group_set_devices(W[2].g[0], &W[2].id, &s, NOW, &rec, &len), MOMEDO_E_DENIED);
  CHECK(rec == NULL);
  CHECK_EQ(group_request_devices(W[2].g[0], &W[2].id, (const uint8_t(*)[32])nd, 2, NOW, &req,
                                 &rl), 0);
  /* Only from the member itself, only fresh, only with its signature. */
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[1].id.pub, req, rl, NOW, &rec, &len),
           MOMEDO_E_DENIED);
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[2].id.pub, req, rl,
                               NOW + GROUP_REQUEST_TTL_MS + 1, &rec, &len), MOMEDO_E_EXPIRED);
  req[rl - 1] ^= 1;
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[2].id.pub, req, rl, NOW, &rec, &len),
           MOMEDO_E_BADSIG);
  req[rl - 1] ^= 1;
  /* A member's client does not act on a request. */
  CHECK_EQ(group_request_apply(W[1].g[0], &W[1].id, W[2].id.pub, req, rl, NOW, &rec, &len),
           MOMEDO_E_DENIED);
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[2].id.pub, req, rl, NOW, &rec, &len), 0);
  for (size_t i = 1; i < W_n; i++) CHECK_EQ(group_record_apply(W[i].g[0], rec, len, NOW, &ai), 0);
  CHECK(!ai.epoch_changed && ai.n_new_devices == 1);
  free(rec);
  /* The same request again does nothing. */
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[2].id.pub, req, rl, NOW, &rec, &len),
           MOMEDO_E_EXISTS);
  free(req);
  /* W2 drops the tablet again: a new epoch. */
  CHECK_EQ(group_request_devices(W[2].g[0], &W[2].id, (const uint8_t(*)[32])nd, 1, NOW, &req,
                                 &rl), 0);
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[2].id.pub, req, rl, NOW, &rec, &len), 0);
  free(req);
  for (size_t i = 1; i < W_n; i++) CHECK_EQ(group_record_apply(W[i].g[0], rec, len, NOW, &ai), 0);
  CHECK(ai.epoch_changed && ai.epoch == 2);
  free(rec);
  /* W1 asks to leave: from then on it posts nothing; the admin's record removes it. */
  CHECK_EQ(group_request_leave(W[1].g[0], &W[1].id, NOW, &req, &rl), 0);
  struct group_info gi;
  group_get_info(W[1].g[0], &gi);
  CHECK(gi.left && !gi.can_post);
  uint8_t *x = NULL;
  size_t xl = 0;
  CHECK_EQ(group_senderkey_content(W[1].g[0], NULL, NOW, &x, &xl), MOMEDO_E_DENIED);
  CHECK_EQ(group_request_apply(W[0].g[0], &W[0].id, W[1].id.pub, req, rl, NOW, &rec, &len), 0);
  free(req);
  CHECK_EQ(group_record_apply(W[2].g[0], rec, len, NOW, &ai), 0);
  CHECK(ai.epoch == 3 && !ai.removed);
  group_get_info(W[2].g[0], &gi);
  CHECK_EQ(gi.n_members, 3);
  free(rec);
  /* An admin leaves by its own record; the last admin cannot (a group keeps one). */
  CHECK_EQ(group_leave(W[0].g[0], &W[0].id, NOW, &rec, &len), MOMEDO_E_BOUNDS);
  world_free();
}

static void test_duplicates_and_tampering(void) {
  struct group_post p[10], q;
  uint8_t *b;
  size_t bl;
  memset(p, 0, sizeof p);
  memset(&q, 0, sizeof q);
  CHECK_EQ(world_users(3, 0), 0);
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  CHECK_EQ(distribute(1, 0, 0, W_n, NULL), 0);
  struct group *r = W[2].g[0];
  char t[10][8];
  for (int i = 0; i < 10; i++) {
    snprintf(t[i], sizeof t[i], "m%d", i);
    CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], t[i], &p[i]), 0);
  }
  static const int order[10] = {3, 9, 0, 1, 8, 2, 7, 4, 6, 5};
  for (int i = 0; i < 10; i++) CHECK_EQ(recv_text(r, &p[order[i]], t[order[i]], W[1].id.pub), 0);
  CHECK_EQ(group__skipped_total(r), 0);
  /* Every refusal leaves the state byte-identical. */
  b = snap(r, &bl);
  CHECK_EQ(recv_text(r, &p[4], t[4], NULL), MOMEDO_E_EXISTS);
  CHECK(same_state(r, b, bl));
  CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], "fresh", &q), 0);
  uint8_t *w = q.wire;
  const size_t n = q.wire_len;
  /* The write key's signature covers every byte: anything changed is refused for good
   * (not "sender key not yet received", which would keep the item). */
  static const struct { size_t off; int want; } cases[] = {
      {0, MOMEDO_E_VERSION}, {1, MOMEDO_E_UNKNOWN_KIND}, {2, MOMEDO_E_BADSIG},
      {34, MOMEDO_E_BADSIG}, {40, MOMEDO_E_BADSIG}, {(size_t)-1, MOMEDO_E_BADSIG}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    size_t off = cases[c].off == (size_t)-1 ? n - 1 : cases[c].off;
    b = snap(r, &bl);
    w[off] ^= 0x20;
    CHECK_EQ(recv_text(r, &q, "fresh", NULL), cases[c].want);
    w[off] ^= 0x20;
    CHECK(same_state(r, b, bl));
  }
  /* A member's post whose sender key has not come yet is kept for later (E_NOTFOUND). */
  struct group_post early;
  CHECK_EQ(post_text(W[0].g[0], W[0].devpub[0], "early", &early), 0);
  b = snap(r, &bl);
  CHECK_EQ(recv_text(r, &early, "early", NULL), MOMEDO_E_NOTFOUND);
  CHECK(same_state(r, b, bl));
  group_post_clear(&early);
  b = snap(r, &bl);
  q.wire_len = GROUP_WIRE_OVERHEAD - 1;
  CHECK_EQ(recv_text(r, &q, "fresh", NULL), MOMEDO_E_TRUNCATED);
  q.wire_len = n;
  q.mailbox[0] ^= 1;
  CHECK_EQ(recv_text(r, &q, "fresh", NULL), MOMEDO_E_INVAL);
  q.mailbox[0] ^= 1;
  CHECK(same_state(r, b, bl));
  CHECK_EQ(recv_text(r, &q, "fresh", W[1].id.pub), 0);
  group_post_clear(&q);
  /* A gap beyond the window is refused without a trace. */
  for (int i = 0; i <= GROUP_SKIP_GAP_MAX + 1; i++) {
    group_post_clear(&q);
    CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], "far", &q), 0);
  }
  b = snap(r, &bl);
  CHECK_EQ(recv_text(r, &q, "far", NULL), MOMEDO_E_BOUNDS);
  CHECK(same_state(r, b, bl));
  group_post_clear(&q);
  /* Content that names another device than its sender key is refused. */
  CHECK_EQ(post_text(W[1].g[0], W[2].devpub[0], "spoof", &q), MOMEDO_E_INVAL);
  for (int i = 0; i < 10; i++) group_post_clear(&p[i]);
  world_free();
}

static void test_multi_device_and_state(void) {
  struct group_post p[4];
  memset(p, 0, sizeof p);
  CHECK_EQ(world_users(3, 2), 0); /* W1 has two devices */
  CHECK_EQ(world_group(MOMEDO__GROUP_MODE__GROUP_MODE_GROUP), 0);
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; k < W[i].ndev; k++) CHECK_EQ(distribute(i, k, 0, W_n, NULL), 0);
  /* W1's phone posts; its tablet reads it like everyone else. */
  CHECK_EQ(post_text(W[1].g[0], W[1].devpub[0], "vom Handy", &p[0]), 0);
  CHECK_EQ(recv_text(W[1].g[1], &p[0], "vom Handy", W[1].id.pub), 0);
  /* Skipped keys and cursors survive save/load; the loaded copy reads on. */
  for (int i = 1; i < 4; i++) CHECK_EQ(post_text(W[0].g[0], W[0].devpub[0], "x", &p[i]), 0);
  struct group *g = W[2].g[0];
  uint8_t node[32], mb[4][32];
  memset(node, 0x5a, 32);
  CHECK_EQ(group_mailboxes(g, mb, 4), 1);
  CHECK_EQ(group_cursor_set(g, mb[0], node, 42), 0);
  CHECK_EQ(recv_text(g, &p[3], "x", W[0].id.pub), 0);
  CHECK_EQ(group__skipped_total(g), 2);
  uint8_t *s1 = NULL, *s2 = NULL;
  size_t l1, l2;
  struct group *h = NULL;
  CHECK_EQ(group_save(g, &s1, &l1), 0);
  CHECK_EQ(group_load(&h, s1, l1), 0);
  CHECK_EQ(group_save(h, &s2, &l2), 0);
  CHECK_EQ(l1, l2);
  CHECK_MEM(s1, s2, l1);
  uint64_t cur = 0;
  CHECK_EQ(group_cursor_get(h, mb[0], node, &cur), 0);
  CHECK_EQ(cur, 42);
  CHECK_EQ(recv_text(h, &p[1], "x", W[0].id.pub), 0);
  CHECK_EQ(recv_text(h, &p[3], "x", NULL), MOMEDO_E_EXISTS);
  /* Damage anywhere is E_CORRUPT (trailer), short input E_TRUNCATED. */
  struct group *bad = NULL;
  s1[l1 / 2] ^= 1;
  CHECK_EQ(group_load(&bad, s1, l1), MOMEDO_E_CORRUPT);
  CHECK_EQ(group_load(&bad, s1, 10), MOMEDO_E_TRUNCATED);
  CHECK(bad == NULL);
  free(s1);
  free(s2);
  group_free(h);
  for (int i = 0; i < 4; i++) group_post_clear(&p[i]);
  world_free();
}

static void test_control_content(void) {
  uint8_t *ct = NULL;
  size_t cl = 0, rl = 0;
  struct arena a;
  Momedo__Content *c = NULL;
  CHECK_EQ(world_users(2, 0), 0);
  struct group_member_spec self = spec_of(0, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  struct group_member_spec m1 = spec_of(1, MOMEDO__GROUP_ROLE__GROUP_ROLE_NONE);
  uint8_t *rec = NULL;
  CHECK_EQ(group_create(&W[0].g[0], &W[0].id, W[0].devpub[0], MOMEDO__GROUP_MODE__GROUP_MODE_GROUP,
                        "AG Robotik", &self, &m1, 1, NOW, &rec, &rl), 0);
  uint8_t *chain = NULL;
  size_t chl = 0;
  CHECK_EQ(group_chain(W[0].g[0], 0, &chain, &chl), 0);
  CHECK_EQ(group_chain(W[0].g[0], 1, &ct, &cl), MOMEDO_E_INVAL); /* nothing after the head */
  CHECK_EQ(group_chain_content(chain, chl, W[0].devpub[0], NOW, &ct, &cl), 0);
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  /* content_decode knows group bodies too (validated by group_control_validate). */
  CHECK_EQ(content_decode(ct, cl, &a, &c), 0);
  CHECK_EQ(c->body_case, MOMEDO__CONTENT__BODY_GROUP);
  arena_reset(&a);
  CHECK_EQ(group_content_decode(ct, cl, &a, &c), 0);
  CHECK_EQ(c->group->body_case, MOMEDO__GROUP_CONTROL__BODY_CHAIN);
  uint8_t gid[32], gid1[32];
  uint64_t first = 0, last = 0, ver = 0;
  CHECK_EQ(group_chain_peek(c->group->chain.data, c->group->chain.len, gid, &first, &last), 0);
  CHECK_EQ(first, 1);
  CHECK_EQ(last, 1);
  /* The group ID is the hash of version 1. */
  CHECK_EQ(group_record_peek(rec, rl, gid1, &ver), 0);
  CHECK_MEM(gid, gid1, 32);
  struct group_roster R1;
  CHECK_EQ(group__roster_parse(&R1, rec, rl, 1), 0);
  CHECK_MEM(R1.hash, gid, 32);
  group__roster_clear(&R1);
  CHECK_EQ(group_join(&W[1].g[0], W[1].id.pub, W[1].devpub[0], W[0].id.pub, c->group->chain.data,
                      c->group->chain.len, NOW), 0);
  struct group_info gi;
  group_get_info(W[1].g[0], &gi);
  CHECK_MEM(gi.group_id, gid, 32);
  CHECK_STR(gi.name, "AG Robotik");
  /* Joining as someone not listed, or from a non-member, is refused. */
  struct group *nope = NULL;
  CHECK_EQ(group_join(&nope, W[1].id.pub, W[0].devpub[0], W[0].id.pub, chain, chl, NOW),
           MOMEDO_E_NOTFOUND);
  uint8_t stranger[32];
  memset(stranger, 9, 32);
  CHECK_EQ(group_join(&nope, W[1].id.pub, W[1].devpub[0], stranger, chain, chl, NOW),
           MOMEDO_E_DENIED);
  free(chain);
  free(ct);
  /* A record too large to go inline. */
  static uint8_t big[GROUP_RECORD_INLINE_BYTES_MAX + 1];
  CHECK_EQ(group_record_content(big, sizeof big, W[0].devpub[0], NOW, &ct, &cl), MOMEDO_E_TOOBIG);
  /* Sender key content; a damaged one is E_BOUNDS. */
  CHECK_EQ(group_senderkey_content(W[0].g[0], NULL, NOW, &ct, &cl), 0);
  arena_reset(&a);
  CHECK_EQ(group_content_decode(ct, cl, &a, &c), 0);
  CHECK_EQ(c->group->sender_key->epoch, 1);
  c->group->sender_key->chain_key.len = 31;
  CHECK_EQ(group_senderkey_accept(W[1].g[0], W[0].id.pub, W[0].devpub[0], c->group->sender_key),
           MOMEDO_E_BOUNDS);
  c->group->sender_key->chain_key.len = 32;
  /* A key for epoch 2 (its mailbox unknown here yet) waits for the record. */
  uint8_t *mb1 = c->group->sender_key->mailbox.data, mb2[32];
  memset(mb2, 0x42, 32);
  c->group->sender_key->epoch = 2;
  c->group->sender_key->mailbox.data = mb2;
  CHECK_EQ(group_senderkey_accept(W[1].g[0], W[0].id.pub, W[0].devpub[0], c->group->sender_key),
           MOMEDO_E_UNEXPECTED);
  /* Epoch 2 with epoch 1's mailbox is malformed. */
  c->group->sender_key->mailbox.data = mb1;
  CHECK_EQ(group_senderkey_accept(W[1].g[0], W[0].id.pub, W[0].devpub[0], c->group->sender_key),
           MOMEDO_E_BOUNDS);
  c->group->sender_key->epoch = 1;
  /* The proof binds the key to the device that sent it. */
  c->group->sender_key->proof.data[5] ^= 1;
  CHECK_EQ(group_senderkey_accept(W[1].g[0], W[0].id.pub, W[0].devpub[0], c->group->sender_key),
           MOMEDO_E_BADSIG);
  c->group->sender_key->proof.data[5] ^= 1;
  CHECK_EQ(group_senderkey_accept(W[1].g[0], W[0].id.pub, W[0].devpub[0], c->group->sender_key), 0);
  CHECK_EQ(group_senderkey_accept(W[1].g[0], W[0].id.pub, W[0].devpub[0], c->group->sender_key),
           MOMEDO_E_EXISTS);
  arena_close(&a);
  free(ct);
  free(rec);
  world_free();
}

int main(void) {
  RUN(test_vectors);
  RUN(test_class_announcement);
  RUN(test_channel_refuses_non_admin);
  RUN(test_removal_rotates);
  RUN(test_records_refused);
  RUN(test_leave_and_devices);
  RUN(test_duplicates_and_tampering);
  RUN(test_multi_device_and_state);
  RUN(test_control_content);
  world_free();
  TEST_MAIN_END();
}
