/* Unit tests for approvals (client/cli/eng_approve.c) over a real history database, and
 * the history row's extension (client/core/timeline.c): the decision rule (only a
 * recipient decides, once; an unknown task, a task asking for none, the task's own
 * sender, a conflicting second decision and one beyond TL_DECISIONS_MAX are refused and
 * change nothing; in a group every other member decides), and the extension's round
 * trip, its bounds, every truncation refused, and a row from before it still read. */
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "engine_int.h"
#include "cursor.h"

static char path[1024];
static struct eng_state st;
static uint8_t bob[TL_KEY_LEN], carol[TL_KEY_LEN], gid[TL_KEY_LEN];

static void open_hist(void) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  uint8_t dk[CRYPTO_AEAD_KEY_LEN];
  char base[900], why[256];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(path, sizeof path, "%s/approve-%ld.db", base, (long)getpid());
  unlink(path);
  memset(dk, 0x5c, sizeof dk);
  memset(&st, 0, sizeof st);
  memset(st.acct.identity.pub, 0xa1, TL_KEY_LEN); /* this user: Alice */
  memset(bob, 0xb0, sizeof bob);
  memset(carol, 0xca, sizeof carol);
  memset(gid, 0x61, sizeof gid);
  CHECK_EQ(hist_open(&st.hist, path, dk, why, sizeof why), 0);
  st.have_hist = 1;
}

static void close_hist(void) {
  char p[1100];
  hist_close(&st.hist);
  unlink(path);
  snprintf(p, sizeof p, "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", path);
  unlink(p);
}

static void task(struct tl_entry *e, uint8_t n, int outgoing, int approval, const char *due) {
  memset(e, 0, sizeof *e);
  memset(e->id, n, TL_ID_LEN);
  e->kind = TL_TASK;
  e->outgoing = (uint8_t)outgoing;
  e->sent_ms = 1700000000000ull + n;
  e->text = (char *)"Reparatur freigeben";
  e->due = (char *)due;
  e->flags = approval ? TL_F_APPROVAL : 0;
}

static void reply(struct tl_entry *e, uint8_t n, uint8_t ref, const uint8_t *from,
                  uint8_t decision, const char *comment) {
  memset(e, 0, sizeof *e);
  memset(e->id, n, TL_ID_LEN);
  memset(e->ref, ref, TL_ID_LEN);
  e->kind = TL_TASK_REPLY;
  e->outgoing = memcmp(from, st.acct.identity.pub, TL_KEY_LEN) == 0;
  memcpy(e->from, from, TL_KEY_LEN);
  e->decision = decision;
  e->sent_ms = 1700000100000ull + n;
  e->note = (char *)comment;
}

static int decide(enum hist_conv_kind k, const struct hist_conv *hc, const struct tl_entry *e) {
  char why[256];
  return eng__decide(&st, k, hc, e, 0, why, sizeof why);
}

/* Decisions on task n (-1 if it does not read). */
static long decisions(const struct hist_conv *hc, uint8_t n, struct tl_entry *out) {
  uint8_t id[TL_ID_LEN];
  memset(id, n, TL_ID_LEN);
  memset(out, 0, sizeof *out);
  return hist_get(&st.hist, hc, id, out, NULL) == 0 ? (long)out->n_dec : -1;
}

static void test_between_two(void) {
  struct hist_conv ab, ac;
  struct tl_entry e, got;
  open_hist();
  CHECK_EQ(hist_begin(&st.hist), 0);
  CHECK_EQ(hist_conv(&st.hist, HIST_CONTACT, bob, &ab), 0);
  CHECK_EQ(hist_conv(&st.hist, HIST_CONTACT, carol, &ac), 0);
  task(&e, 1, 1, 1, NULL); /* Alice's approval task to Bob */
  CHECK_EQ(hist_add(&st.hist, &ab, &e, NULL), 0);
  task(&e, 2, 1, 0, NULL); /* a plain task */
  CHECK_EQ(hist_add(&st.hist, &ab, &e, NULL), 0);
  task(&e, 3, 0, 1, NULL); /* Bob's approval task to Alice */
  CHECK_EQ(hist_add(&st.hist, &ab, &e, NULL), 0);
  reply(&e, 10, 9, bob, TL_DEC_APPROVED, NULL); /* unknown task */
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), MOMEDO_E_DENIED);
  reply(&e, 11, 2, bob, TL_DEC_APPROVED, NULL); /* a task asking for none */
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), MOMEDO_E_DENIED);
  reply(&e, 12, 1, st.acct.identity.pub, TL_DEC_APPROVED, NULL); /* its own sender */
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), MOMEDO_E_DENIED);
  reply(&e, 13, 3, bob, TL_DEC_APPROVED, NULL); /* Bob on his own task */
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), MOMEDO_E_DENIED);
  reply(&e, 14, 1, carol, TL_DEC_DECLINED, NULL); /* Carol: not her conversation */
  CHECK_EQ(decide(HIST_CONTACT, &ac, &e), MOMEDO_E_DENIED);
  CHECK_EQ(decisions(&ab, 1, &got), 0);
  tl_entry_clear(&got);
  reply(&e, 15, 1, bob, TL_DEC_APPROVED, "Angebot 2");
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), 0);
  reply(&e, 16, 1, bob, TL_DEC_APPROVED, "again");
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), MOMEDO_E_EXISTS);
  reply(&e, 17, 1, bob, TL_DEC_DECLINED, "changed my mind");
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), MOMEDO_E_DENIED);
  CHECK_EQ(decisions(&ab, 1, &got), 1);
  CHECK_MEM(got.dec[0].who, bob, TL_KEY_LEN);
  CHECK_EQ(got.dec[0].decision, TL_DEC_APPROVED);
  CHECK_EQ(got.dec[0].ms, 1700000100015ull);
  CHECK_STR(got.dec[0].comment, "Angebot 2");
  CHECK(got.flags & TL_F_APPROVAL);
  tl_entry_clear(&got);
  /* Alice decides on Bob's task (from any of her devices: outgoing). */
  reply(&e, 18, 3, st.acct.identity.pub, TL_DEC_DECLINED, NULL);
  CHECK_EQ(eng__decide(&st, HIST_CONTACT, &ab, &e, 1, (char[64]){0}, 64), 0); /* dry */
  CHECK_EQ(decisions(&ab, 3, &got), 0);
  tl_entry_clear(&got);
  CHECK_EQ(decide(HIST_CONTACT, &ab, &e), 0);
  CHECK_EQ(decisions(&ab, 3, &got), 1);
  CHECK(got.dec[0].comment == NULL);
  tl_entry_clear(&got);
  hist_rollback(&st.hist);
  close_hist();
}

static void test_group(void) {
  struct hist_conv g;
  struct tl_entry e, got;
  char bob_uid[IDS_USER_ID_STR_MAX];
  uint8_t m[TL_KEY_LEN];
  open_hist();
  CHECK_EQ(ids_user_id(bob_uid, bob), 0);
  CHECK_EQ(hist_begin(&st.hist), 0);
  CHECK_EQ(hist_conv(&st.hist, HIST_GROUP, gid, &g), 0);
  task(&e, 1, 0, 1, bob_uid); /* Bob's task in the group (due: the sender's user ID) */
  CHECK_EQ(hist_add(&st.hist, &g, &e, NULL), 0);
  reply(&e, 10, 1, bob, TL_DEC_APPROVED, NULL); /* Bob on his own task */
  CHECK_EQ(decide(HIST_GROUP, &g, &e), MOMEDO_E_DENIED);
  reply(&e, 11, 1, carol, TL_DEC_DECLINED, "zu teuer");
  CHECK_EQ(decide(HIST_GROUP, &g, &e), 0);
  reply(&e, 12, 1, st.acct.identity.pub, TL_DEC_APPROVED, NULL);
  CHECK_EQ(decide(HIST_GROUP, &g, &e), 0);
  CHECK_EQ(decisions(&g, 1, &got), 2);
  CHECK_MEM(got.dec[0].who, carol, TL_KEY_LEN);
  CHECK_EQ(got.dec[0].decision, TL_DEC_DECLINED);
  CHECK_MEM(got.dec[1].who, st.acct.identity.pub, TL_KEY_LEN);
  tl_entry_clear(&got);
  /* Up to TL_DECISIONS_MAX members decide; the next is refused, nothing lost. */
  for (uint32_t i = 2; i < TL_DECISIONS_MAX; i++) {
    memset(m, 0, sizeof m);
    m[0] = 0x10, m[1] = (uint8_t)(i >> 8), m[2] = (uint8_t)i;
    reply(&e, 20, 1, m, TL_DEC_APPROVED, "ok");
    CHECK_EQ(decide(HIST_GROUP, &g, &e), 0);
  }
  memset(m, 0xee, sizeof m);
  reply(&e, 21, 1, m, TL_DEC_APPROVED, NULL);
  CHECK_EQ(decide(HIST_GROUP, &g, &e), MOMEDO_E_DENIED);
  CHECK_EQ(decisions(&g, 1, &got), TL_DECISIONS_MAX);
  tl_entry_clear(&got);
  /* Alice's own task in the group: every other member may decide, she may not. */
  task(&e, 2, 1, 1, "alice-uid");
  CHECK_EQ(hist_add(&st.hist, &g, &e, NULL), 0);
  reply(&e, 30, 2, st.acct.identity.pub, TL_DEC_APPROVED, NULL);
  CHECK_EQ(decide(HIST_GROUP, &g, &e), MOMEDO_E_DENIED);
  reply(&e, 31, 2, bob, TL_DEC_APPROVED, NULL);
  CHECK_EQ(decide(HIST_GROUP, &g, &e), 0);
  /* Channels carry no tasks. */
  reply(&e, 32, 2, bob, TL_DEC_APPROVED, NULL);
  CHECK_EQ(decide(HIST_CHANNEL, &g, &e), MOMEDO_E_DENIED);
  hist_rollback(&st.hist);
  close_hist();
}

/* The extension of a history row: round trip, bounds, truncation, rows without it. */
static void test_extension(void) {
  struct tl_entry e, got;
  struct tl_decision d = {.decision = TL_DEC_DECLINED, .ms = 42, .comment = "nein"};
  struct vbuf b = {0};
  struct cursor c;
  task(&e, 5, 1, 1, NULL);
  memset(d.who, 0x33, TL_KEY_LEN);
  CHECK_EQ(tl_entry_add_decision(&e, &d), 0);
  CHECK_EQ(tl_entry_add_decision(&e, &d), MOMEDO_E_EXISTS);
  e.note = (char *)"caption";
  tl_entry_put(&b, &e);
  size_t base_len = b.len;
  tl_entry_put_ext(&b, &e);
  CHECK_EQ(b.err, 0);
  cursor_init(&c, b.p, b.len);
  CHECK_EQ(tl_entry_get(&c, &got), 0);
  CHECK_EQ(tl_entry_get_ext(&c, &got), 0);
  CHECK_EQ(cursor_left(&c), 0);
  CHECK_EQ(got.flags, TL_F_APPROVAL);
  CHECK_STR(got.note, "caption");
  CHECK_EQ(got.n_dec, 1);
  CHECK_EQ(got.dec[0].ms, 42);
  CHECK_STR(got.dec[0].comment, "nein");
  tl_entry_clear(&got);
  for (size_t n = base_len; n < b.len; n++) { /* every cut inside the extension */
    cursor_init(&c, b.p, n);
    CHECK_EQ(tl_entry_get(&c, &got), 0);
    CHECK_EQ(tl_entry_get_ext(&c, &got), MOMEDO_E_CORRUPT);
    CHECK(got.note == NULL && got.dec == NULL && got.n_dec == 0);
  }
  /* A row from before the extension: just the entry, no flags, no decisions. */
  cursor_init(&c, b.p, base_len);
  CHECK_EQ(tl_entry_get(&c, &got), 0);
  CHECK_EQ(cursor_left(&c), 0);
  CHECK(got.flags == 0 && got.n_dec == 0 && got.note == NULL);
  tl_entry_clear(&got);
  /* Bad values: flags, decision, a decision's kind, the count. */
  const size_t at_flags = base_len + 1, at_count = base_len + 3 + TL_KEY_LEN + 4 + 7;
  const size_t at_dec = at_count + 4 + TL_KEY_LEN;
  const struct { size_t at; uint8_t v; } bad[] = {
      {base_len, 2}, {at_flags, 4}, {at_flags + 1, 3}, {at_dec, 0}, {at_dec, TL_DEC_DONE + 1},
      {at_count, 0xff}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t was = b.p[bad[i].at];
    b.p[bad[i].at] = bad[i].v;
    cursor_init(&c, b.p, b.len);
    CHECK_EQ(tl_entry_get(&c, &got), 0);
    CHECK_EQ(tl_entry_get_ext(&c, &got), MOMEDO_E_CORRUPT);
    b.p[bad[i].at] = was;
  }
  /* A group task's actions (accepted, done) are decisions of their own kinds. */
  for (uint8_t k = TL_DEC_ACCEPTED; k <= TL_DEC_DONE; k++) {
    uint8_t was = b.p[at_dec];
    b.p[at_dec] = k;
    cursor_init(&c, b.p, b.len);
    CHECK_EQ(tl_entry_get(&c, &got), 0);
    CHECK_EQ(tl_entry_get_ext(&c, &got), 0);
    CHECK_EQ(got.dec[0].decision, k);
    tl_entry_clear(&got);
    b.p[at_dec] = was;
  }
  vbuf_free(&b);
  e.note = e.text = NULL; /* not ours: only the decisions are */
  tl_entry_clear(&e);
}

int main(void) {
  RUN(test_between_two);
  RUN(test_group);
  RUN(test_extension);
  TEST_MAIN_END();
}
