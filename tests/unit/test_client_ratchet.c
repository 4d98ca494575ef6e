/* test_client_ratchet — the Double Ratchet through the public e2e API: long interleaved
 * conversations, out-of-order delivery, duplicates (refused, session untouched),
 * tampering (refused, session byte-identical), forward secrecy against a later state
 * snapshot, skip-window bounds and eviction, and session serialisation. */
#include "cursor.h"
#include "harness.h"
#include "obj.h"
#include "ratchet_int.h"
#include "x3dh.h"

#define NOW_MS 1700000000000ull
#define DAY_MS (24ull * 3600 * 1000)
#define MSG_CAP 256

struct msg {
  uint8_t buf[E2E_OVERHEAD_MAX + MSG_CAP];
  size_t len;
  char text[64];
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

/* Alice and Bob with a session each (Alice initiated; Bob accepted "hello"). */
static int pair(struct e2e_session **sa, struct e2e_session **sb) {
  struct crypto_sign_keypair ai, ad, bi, bd;
  struct e2e_local la, lb;
  struct e2e_prekey spk;
  struct e2e_remote r;
  struct e2e_replay *rp = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  uint8_t buf[E2E_OVERHEAD_MAX + E2E_PAD_MIN], pt[E2E_PAD_MIN];
  size_t len, pt_len;
  int rc = crypto_sign_keygen(&ai) | crypto_sign_keygen(&ad) | crypto_sign_keygen(&bi) |
           crypto_sign_keygen(&bd);
  memcpy(la.identity_key, ai.pub, 32), memcpy(la.device_key, ad.pub, 32);
  memcpy(lb.identity_key, bi.pub, 32), memcpy(lb.device_key, bd.pub, 32);
  rc |= crypto_dh_keygen(la.dh_sec, la.dh_pub) | crypto_dh_keygen(lb.dh_sec, lb.dh_pub);
  rc |= crypto_dh_keygen(spk.sec, spk.pub);
  spk.id = 5, spk.expires_ms = NOW_MS + DAY_MS;
  memset(&r, 0, sizeof r);
  memcpy(r.identity_key, bi.pub, 32), memcpy(r.device_key, bd.pub, 32);
  memcpy(r.dh_key, lb.dh_pub, 32), memcpy(r.spk, spk.pub, 32);
  r.spk_id = 5, r.spk_expires_ms = spk.expires_ms;
  if (rc) return -1;
  if ((rc = e2e_replay_new(&rp, 5)) < 0) return rc;
  rc = e2e_initiate(sa, &la, &r, NOW_MS);
  if (rc == 0) rc = e2e_encrypt(*sa, (const uint8_t *)"hello", 5, buf, sizeof buf, &len);
  if (rc == 0) rc = e2e_envelope_parse(&env, buf, len);
  if (rc == 0)
    rc = e2e_accept(sb, &from, &lb, &spk, NULL, rp, &env, NOW_MS, pt, sizeof pt, &pt_len);
  e2e_replay_free(rp);
  return rc;
}

static int send_msg(struct e2e_session *s, struct msg *m, const char *prefix, int i) {
  snprintf(m->text, sizeof m->text, "%s%d", prefix, i);
  return e2e_encrypt(s, (const uint8_t *)m->text, strlen(m->text), m->buf, sizeof m->buf,
                     &m->len);
}

/* Decrypt m with s; 0 only if the plaintext is m->text. */
static int recv_msg(struct e2e_session *s, const struct msg *m) {
  struct e2e_envelope env;
  uint8_t pt[MSG_CAP];
  size_t pt_len;
  int rc = e2e_envelope_parse(&env, m->buf, m->len);
  if (rc < 0) return rc;
  if (!e2e_session_matches(s, &env)) return MOMEDO_E_NOTFOUND;
  rc = e2e_decrypt(s, &env, pt, sizeof pt, &pt_len);
  if (rc < 0) return rc;
  if (pt_len != strlen(m->text) || memcmp(pt, m->text, pt_len) != 0) return -1;
  return 0;
}

/* Serialised state, for byte comparisons; caller frees. */
static uint8_t *snap(const struct e2e_session *s, size_t *len) {
  uint8_t *out = NULL;
  if (e2e_session_save(s, &out, len) < 0) return NULL;
  return out;
}

static int same_state(const struct e2e_session *s, const uint8_t *before, size_t before_len) {
  size_t len;
  uint8_t *now = snap(s, &len);
  int same = now && len == before_len && memcmp(now, before, len) == 0;
  free(now);
  return same;
}

static void test_conversation_interleaved(void) {
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg q[2][100]; /* in flight per direction */
  int nq[2] = {0, 0}, head[2] = {0, 0}, sent = 0;
  CHECK_EQ(pair(&sa, &sb), 0);
  /* 100 messages; each step either sends from a random side or delivers the oldest
   * in-flight message of a random direction (in order within a direction). */
  while (sent < 100 || head[0] < nq[0] || head[1] < nq[1]) {
    int dir = (int)(rng() % 2);
    if (sent < 100 && rng() % 2 == 0) {
      CHECK_EQ(send_msg(dir ? sb : sa, &q[dir][nq[dir]], "msg ", sent), 0);
      nq[dir]++, sent++;
    } else if (head[dir] < nq[dir]) {
      CHECK_EQ(recv_msg(dir ? sa : sb, &q[dir][head[dir]]), 0);
      head[dir]++;
    }
  }
  CHECK(nq[0] > 20 && nq[1] > 20);
  struct e2e_session_info ia, ib;
  e2e_session_get_info(sa, &ia);
  e2e_session_get_info(sb, &ib);
  CHECK_EQ(ia.skipped_keys, 0);
  CHECK_EQ(ib.skipped_keys, 0);
  CHECK(ia.old_chains >= 3 && ib.old_chains >= 3); /* the DH ratchet turned */
  /* Then strict ping-pong: one DH ratchet step per message. */
  for (int i = 0; i < 40; i++) {
    CHECK_EQ(send_msg(i % 2 ? sb : sa, &q[0][0], "ping", i), 0);
    CHECK_EQ(recv_msg(i % 2 ? sa : sb, &q[0][0]), 0);
  }
  struct e2e_session_info ia2;
  e2e_session_get_info(sa, &ia2);
  CHECK_EQ(ia2.old_chains, ia.old_chains + 20);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

static void shuffle(int *idx, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(rng() % (uint32_t)(i + 1)), t = idx[i];
    idx[i] = idx[j], idx[j] = t;
  }
}

static void test_out_of_order(void) {
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg m[50], r[2];
  int idx[50];
  CHECK_EQ(pair(&sa, &sb), 0);
  /* Two of Alice's chains: 25 messages, a reply from Bob, 25 more; then all 50
   * shuffled. */
  for (int i = 0; i < 25; i++) CHECK_EQ(send_msg(sa, &m[i], "a", i), 0);
  CHECK_EQ(send_msg(sb, &r[0], "b", 0), 0);
  CHECK_EQ(recv_msg(sa, &r[0]), 0);
  for (int i = 25; i < 50; i++) CHECK_EQ(send_msg(sa, &m[i], "a", i), 0);
  for (int i = 0; i < 50; i++) idx[i] = i;
  shuffle(idx, 50);
  for (int i = 0; i < 50; i++) CHECK_EQ(recv_msg(sb, &m[idx[i]]), 0);
  struct e2e_session_info ib;
  e2e_session_get_info(sb, &ib);
  CHECK_EQ(ib.skipped_keys, 0); /* every skipped key was used and deleted */
  for (int i = 0; i < 50; i++) CHECK_EQ(recv_msg(sb, &m[i]), MOMEDO_E_EXISTS);
  CHECK_EQ(send_msg(sb, &r[1], "b", 1), 0);
  CHECK_EQ(recv_msg(sa, &r[1]), 0);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

static void test_duplicates(void) {
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg m[6];
  size_t len;
  CHECK_EQ(pair(&sa, &sb), 0);
  for (int i = 0; i < 3; i++) CHECK_EQ(send_msg(sa, &m[i], "d", i), 0);
  CHECK_EQ(recv_msg(sb, &m[2]), 0); /* 0 and 1 now in the skipped store */
  CHECK_EQ(recv_msg(sb, &m[0]), 0);
  uint8_t *before = snap(sb, &len);
  CHECK(before != NULL);
  CHECK_EQ(recv_msg(sb, &m[2]), MOMEDO_E_EXISTS); /* current chain, behind nr */
  CHECK_EQ(recv_msg(sb, &m[0]), MOMEDO_E_EXISTS); /* skipped key already used */
  CHECK(same_state(sb, before, len));
  free(before);
  CHECK_EQ(recv_msg(sb, &m[1]), 0);
  /* A duplicate from a retired chain after the ratchet turned. */
  CHECK_EQ(send_msg(sb, &m[3], "r", 3), 0);
  CHECK_EQ(recv_msg(sa, &m[3]), 0);
  CHECK_EQ(send_msg(sa, &m[4], "a", 4), 0);
  CHECK_EQ(recv_msg(sb, &m[4]), 0);
  before = snap(sb, &len);
  CHECK_EQ(recv_msg(sb, &m[1]), MOMEDO_E_EXISTS);
  CHECK_EQ(recv_msg(sb, &m[4]), MOMEDO_E_EXISTS);
  CHECK_EQ(recv_msg(sa, &m[3]), MOMEDO_E_EXISTS);
  CHECK(same_state(sb, before, len));
  free(before);
  /* The conversation goes on. */
  CHECK_EQ(send_msg(sb, &m[5], "b", 5), 0);
  CHECK_EQ(recv_msg(sa, &m[5]), 0);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

/* Every single-bit change anywhere in an envelope is refused and changes nothing; the
 * untouched message still decrypts afterwards. Covers same-chain, new-chain and
 * skipped-key paths. */
static void test_tamper_leaves_state(void) {
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg m[4];
  size_t len;
  CHECK_EQ(pair(&sa, &sb), 0);
  CHECK_EQ(send_msg(sb, &m[0], "new chain ", 0), 0); /* new chain for Alice */
  CHECK_EQ(send_msg(sb, &m[1], "skipped ", 1), 0);
  CHECK_EQ(send_msg(sb, &m[2], "same chain ", 2), 0);
  int order[3] = {0, 2, 1}; /* m1 ends up in the skipped store */
  for (int k = 0; k < 3; k++) {
    struct msg *x = &m[order[k]];
    uint8_t *before = snap(sa, &len);
    CHECK(before != NULL);
    for (size_t i = 0; i < x->len; i++) {
      for (int bit = 0; bit < 8; bit += 3) {
        x->buf[i] ^= (uint8_t)(1u << bit);
        int rc = recv_msg(sa, x);
        x->buf[i] ^= (uint8_t)(1u << bit);
        CHECK(rc < 0);
      }
    }
    CHECK(same_state(sa, before, len));
    free(before);
    CHECK_EQ(recv_msg(sa, x), 0);
  }
  e2e_session_free(sa);
  e2e_session_free(sb);
}

/* After message n is decrypted, a snapshot of the state cannot decrypt it again. */
static void test_forward_secrecy(void) {
  struct e2e_session *sa = NULL, *sb = NULL, *thief = NULL;
  static struct msg m[4];
  size_t len;
  CHECK_EQ(pair(&sa, &sb), 0);
  for (int i = 0; i < 4; i++) CHECK_EQ(send_msg(sa, &m[i], "secret ", i), 0);
  CHECK_EQ(recv_msg(sb, &m[0]), 0);
  CHECK_EQ(recv_msg(sb, &m[3]), 0); /* keys of 1 and 2 are stored as skipped */
  CHECK_EQ(recv_msg(sb, &m[1]), 0); /* ... and 1's is deleted on use */
  uint8_t *stolen = snap(sb, &len);
  CHECK(stolen != NULL);
  CHECK_EQ(e2e_session_load(&thief, stolen, len), 0);
  CHECK_EQ(recv_msg(thief, &m[0]), MOMEDO_E_EXISTS);
  CHECK_EQ(recv_msg(thief, &m[1]), MOMEDO_E_EXISTS);
  CHECK_EQ(recv_msg(thief, &m[3]), MOMEDO_E_EXISTS);
  CHECK_EQ(recv_msg(thief, &m[2]), 0); /* still undelivered: its key is still held */
  /* Even with the position check bypassed, the stolen chain key (one step past every
   * used message) cannot re-derive message 0's key: try decrypting message 0 as if it
   * were the next message of the current chain. */
  struct e2e_envelope env;
  uint8_t pt[MSG_CAP];
  size_t pt_len;
  CHECK_EQ(e2e_envelope_parse(&env, m[0].buf, m[0].len), 0);
  thief->c.nr = 0;
  CHECK_EQ(e2e_decrypt(thief, &env, pt, sizeof pt, &pt_len), MOMEDO_E_DECRYPT);
  free(stolen);
  e2e_session_free(thief);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

static void test_skip_window(void) {
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg m;
  size_t len;
  CHECK_EQ(pair(&sa, &sb), 0);
  /* Bob has received N = 0 ("hello"), so nr = 1. N = 1002 would need 1001 skipped
   * keys (1..1001): refused, state unchanged. N = 1001 (1000 skipped) is accepted. */
  static struct msg m1001;
  for (int i = 1; i <= RATCHET_SKIP_CHAIN_MAX + 1; i++) CHECK_EQ(send_msg(sa, &m1001, "g", i), 0);
  CHECK_EQ(send_msg(sa, &m, "g", RATCHET_SKIP_CHAIN_MAX + 2), 0);
  uint8_t *before = snap(sb, &len);
  CHECK_EQ(recv_msg(sb, &m), MOMEDO_E_BOUNDS);
  CHECK(same_state(sb, before, len));
  free(before);
  CHECK_EQ(recv_msg(sb, &m1001), 0);
  struct e2e_session_info ib;
  e2e_session_get_info(sb, &ib);
  CHECK_EQ(ib.skipped_keys, RATCHET_SKIP_CHAIN_MAX);
  CHECK_EQ(recv_msg(sb, &m), 0); /* now the next one in line */
  /* A new chain whose first message claims N > window is refused before any DH. */
  static struct msg r;
  CHECK_EQ(send_msg(sb, &r, "turn", 0), 0);
  CHECK_EQ(recv_msg(sa, &r), 0);
  for (int i = 0; i <= RATCHET_SKIP_CHAIN_MAX + 1; i++) CHECK_EQ(send_msg(sa, &m, "h", i), 0);
  before = snap(sb, &len);
  CHECK_EQ(recv_msg(sb, &m), MOMEDO_E_BOUNDS);
  CHECK(same_state(sb, before, len));
  free(before);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

/* The skipped store is capped: the oldest keys are evicted and their messages then
 * refused as used; the newest still decrypt. */
static void test_skip_total_cap(void) {
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg first[3], last, reply;
  CHECK_EQ(pair(&sa, &sb), 0);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 900; i++) {
      struct msg *x = i == 0 ? &first[round] : &last;
      CHECK_EQ(send_msg(sa, x, "r", round * 1000 + i), 0);
    }
    CHECK_EQ(recv_msg(sb, &last), 0);
    CHECK_EQ(send_msg(sb, &reply, "reply ", round), 0);
    CHECK_EQ(recv_msg(sa, &reply), 0);
  }
  struct e2e_session_info ib;
  e2e_session_get_info(sb, &ib);
  CHECK_EQ(ib.skipped_keys, RATCHET_SKIP_TOTAL_MAX);
  CHECK_EQ(recv_msg(sb, &first[0]), MOMEDO_E_EXISTS); /* evicted */
  CHECK_EQ(recv_msg(sb, &first[2]), 0);
  CHECK_EQ(recv_msg(sb, &first[1]), 0);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

static void test_session_save_load(void) {
  struct e2e_session *sa = NULL, *sb = NULL, *sa2 = NULL, *sb2 = NULL;
  static struct msg m[4];
  uint8_t *blob = NULL, *again = NULL;
  size_t len, len2;
  CHECK_EQ(pair(&sa, &sb), 0);
  /* Alice still pending (prekey prefix saved); Bob with skipped keys and a retired chain. */
  for (int i = 0; i < 3; i++) CHECK_EQ(send_msg(sa, &m[i], "s", i), 0);
  CHECK_EQ(recv_msg(sb, &m[2]), 0);
  CHECK_EQ(e2e_session_save(sa, &blob, &len), 0);
  CHECK_EQ(e2e_session_load(&sa2, blob, len), 0);
  CHECK_EQ(e2e_session_save(sa2, &again, &len2), 0);
  CHECK_EQ(len, len2);
  CHECK_MEM(blob, again, len);
  free(again);
  free(blob);
  CHECK_EQ(e2e_session_save(sb, &blob, &len), 0);
  CHECK_EQ(e2e_session_load(&sb2, blob, len), 0);
  struct e2e_session_info ib;
  e2e_session_get_info(sb2, &ib);
  CHECK_EQ(ib.skipped_keys, 2);
  /* The loaded copies carry on. */
  CHECK_EQ(recv_msg(sb2, &m[0]), 0);
  CHECK_EQ(send_msg(sa2, &m[3], "s", 3), 0);
  CHECK_EQ(m[3].buf[1], E2E_TYPE_PREKEY);
  CHECK_EQ(recv_msg(sb2, &m[3]), 0);
  /* Corruption anywhere is refused. */
  for (size_t i = 0; i < len; i++) {
    struct e2e_session *bad = NULL;
    blob[i] ^= 0x40;
    int rc = e2e_session_load(&bad, blob, len);
    blob[i] ^= 0x40;
    CHECK_EQ(rc, MOMEDO_E_CORRUPT);
    CHECK(bad == NULL);
  }
  for (size_t n = 0; n < len; n++) {
    struct e2e_session *bad = NULL;
    CHECK(e2e_session_load(&bad, blob, n) < 0);
    CHECK(bad == NULL);
  }
  /* Checksum fixed up but fields wrong: version, flags, counts, key pair. */
  struct {
    size_t off;
    uint8_t val;
    int want;
  } cases[] = {{4, 2, MOMEDO_E_VERSION}, {5, 0x80, MOMEDO_E_CORRUPT},
               {5, 0x02, MOMEDO_E_CORRUPT} /* pending but not initiator */,
               {len - 32 - 1 - 2 * (32 + 4 + 32), 0xff, MOMEDO_E_CORRUPT} /* n_sk low byte */,
               {6 + 128 + 4 * 32 + 4 + 2 * 32, 0x55, MOMEDO_E_CORRUPT} /* dhs_pub */};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    struct e2e_session *bad = NULL;
    uint8_t *c = malloc(len);
    CHECK(c != NULL);
    memcpy(c, blob, len);
    c[cases[k].off] ^= cases[k].val;
    CHECK_EQ(crypto_sha256(c + len - 32, c, len - 32), 0);
    int rc = e2e_session_load(&bad, c, len);
    free(c);
    CHECK_EQ(rc, cases[k].want);
    CHECK(bad == NULL);
  }
  free(blob);
  e2e_session_free(sa);
  e2e_session_free(sb);
  e2e_session_free(sa2);
  e2e_session_free(sb2);
}

/* A message for one session does not match another; a responder refuses to encrypt
 * before it has any chain only in theory (it always receives first). */
static void test_session_matching(void) {
  struct e2e_session *sa = NULL, *sb = NULL, *sc = NULL, *sd = NULL;
  static struct msg m;
  struct e2e_envelope env;
  CHECK_EQ(pair(&sa, &sb), 0);
  CHECK_EQ(pair(&sc, &sd), 0);
  CHECK_EQ(send_msg(sa, &m, "for b ", 0), 0);
  CHECK_EQ(e2e_envelope_parse(&env, m.buf, m.len), 0);
  CHECK_EQ(e2e_session_matches(sb, &env), 1);
  CHECK_EQ(e2e_session_matches(sd, &env), 0);
  CHECK_EQ(e2e_session_matches(sa, &env), 0);
  uint8_t pt[MSG_CAP];
  size_t pt_len;
  CHECK_EQ(e2e_decrypt(sd, &env, pt, sizeof pt, &pt_len), MOMEDO_E_DECRYPT);
  CHECK_EQ(e2e_decrypt(sb, &env, pt, 3, &pt_len), MOMEDO_E_NOSPACE);
  CHECK_EQ(e2e_decrypt(sb, &env, pt, sizeof pt, &pt_len), 0);
  e2e_session_free(sa);
  e2e_session_free(sb);
  e2e_session_free(sc);
  e2e_session_free(sd);
}

/* Retired chains are remembered up to RATCHET_OLD_CHAINS_MAX; when a chain falls out,
 * its skipped keys go with it and its late messages no longer match the session. */
static void test_old_chains_bounded(void) {
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg late, x;
  struct e2e_envelope env;
  CHECK_EQ(pair(&sa, &sb), 0);
  CHECK_EQ(send_msg(sa, &late, "late", 0), 0);
  CHECK_EQ(send_msg(sa, &x, "x", 0), 0);
  CHECK_EQ(recv_msg(sb, &x), 0); /* late's key is skipped, in Alice's first chain */
  for (int i = 0; i < 2 * RATCHET_OLD_CHAINS_MAX + 4; i++) {
    CHECK_EQ(send_msg(i % 2 ? sa : sb, &x, "pp", i), 0);
    CHECK_EQ(recv_msg(i % 2 ? sb : sa, &x), 0);
  }
  struct e2e_session_info ib;
  e2e_session_get_info(sb, &ib);
  CHECK_EQ(ib.old_chains, RATCHET_OLD_CHAINS_MAX);
  CHECK_EQ(ib.skipped_keys, 0);
  CHECK_EQ(e2e_envelope_parse(&env, late.buf, late.len), 0);
  CHECK_EQ(e2e_session_matches(sb, &env), 0);
  CHECK_EQ(recv_msg(sb, &late), MOMEDO_E_NOTFOUND);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

/* Issue 11, finding 6: a sending chain rolled back (a crash before the state was saved,
 * a restored backup) encrypts again at the same position. Same key and nonce would
 * encrypt the same plaintext to the same bytes and leak the XOR of two plaintexts; the
 * fresh salt in each header gives a new key and nonce every time. */
static void test_rollback_reuses_no_key(void) {
  struct e2e_session *sa = NULL, *sb = NULL, *back = NULL;
  static struct msg m[3];
  size_t len;
  CHECK_EQ(pair(&sa, &sb), 0);
  CHECK_EQ(send_msg(sa, &m[0], "x", 0), 0);
  uint8_t *saved = snap(sa, &len);
  CHECK(saved != NULL);
  CHECK_EQ(send_msg(sa, &m[1], "same text ", 1), 0);
  CHECK_EQ(e2e_session_load(&back, saved, len), 0); /* the state before m[1] */
  CHECK_EQ(send_msg(back, &m[2], "same text ", 1), 0);
  struct e2e_envelope e1, e2;
  CHECK_EQ(e2e_envelope_parse(&e1, m[1].buf, m[1].len), 0);
  CHECK_EQ(e2e_envelope_parse(&e2, m[2].buf, m[2].len), 0);
  CHECK_MEM(e1.dh, e2.dh, 32); /* the same ratchet position ... */
  CHECK_EQ(e1.n, e2.n);
  CHECK(memcmp(e1.header + E2E_HEADER_LEN - E2E_SALT_LEN,
               e2.header + E2E_HEADER_LEN - E2E_SALT_LEN, E2E_SALT_LEN) != 0);
  CHECK_EQ(e1.ct_len, e2.ct_len); /* ... but no byte of the ciphertext in common */
  size_t same = 0;
  for (size_t i = 0; i < e1.ct_len; i++) same += e1.ct[i] == e2.ct[i];
  CHECK(same < e1.ct_len / 8);
  /* The receiver takes the first one; the second is a duplicate position, refused. */
  CHECK_EQ(recv_msg(sb, &m[0]), 0);
  CHECK_EQ(recv_msg(sb, &m[1]), 0);
  CHECK_EQ(recv_msg(sb, &m[2]), MOMEDO_E_EXISTS);
  free(saved);
  e2e_session_free(back);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

/* Issue 11, finding 9: plaintexts are padded to buckets, so an envelope's size tells a
 * node only the bucket; a malformed padding is refused before the session changes. */
static void test_padding_buckets(void) {
  static const size_t lens[][2] = {{0, 256},    {1, 256},      {255, 256},  {256, 512},
                                   {511, 512},  {512, 1024},   {4000, 4096}, {65535, 65536},
                                   {65536, 131072}, {131071, 131072}, {131072, 131073}};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    CHECK_EQ(e2e_padded_len(lens[i][0]), lens[i][1]);
  struct e2e_session *sa = NULL, *sb = NULL;
  static struct msg m[3];
  size_t len;
  CHECK_EQ(pair(&sa, &sb), 0);
  CHECK_EQ(send_msg(sa, &m[0], "", 7), 0);
  CHECK_EQ(send_msg(sa, &m[1], "a longer message of forty-four characters ", 1), 0);
  CHECK_EQ(m[0].len, m[1].len);
  CHECK_EQ(recv_msg(sb, &m[0]), 0);
  CHECK_EQ(recv_msg(sb, &m[1]), 0);
  /* Sealed without padding (the raw ratchet): authentic, but not a padded plaintext. */
  uint8_t raw[64], *b = m[2].buf;
  memset(raw, 0x41, sizeof raw);
  b[0] = E2E_VERSION, b[1] = E2E_TYPE_MESSAGE;
  CHECK_EQ(ratchet__seal(sa, b, 2, raw, sizeof raw, b + 2, b + 2 + E2E_HEADER_LEN), 0);
  m[2].len = 2 + E2E_HEADER_LEN + sizeof raw + CRYPTO_TAG_LEN;
  snprintf(m[2].text, sizeof m[2].text, "x");
  uint8_t *before = snap(sb, &len);
  CHECK(before != NULL);
  CHECK_EQ(recv_msg(sb, &m[2]), MOMEDO_E_DECRYPT);
  CHECK(same_state(sb, before, len));
  free(before);
  e2e_session_free(sa);
  e2e_session_free(sb);
}

int main(void) {
  RUN(test_conversation_interleaved);
  RUN(test_out_of_order);
  RUN(test_duplicates);
  RUN(test_tamper_leaves_state);
  RUN(test_forward_secrecy);
  RUN(test_skip_window);
  RUN(test_skip_total_cap);
  RUN(test_session_save_load);
  RUN(test_session_matching);
  RUN(test_old_chains_bounded);
  RUN(test_rollback_reuses_no_key);
  RUN(test_padding_buckets);
  TEST_MAIN_END();
}
