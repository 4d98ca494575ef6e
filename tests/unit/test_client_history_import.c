/* Unit tests for client/core/history_import.c and the history store's lookups: a home
 * of the old format (timeline files written by timeline.c, the code momedo used before
 * history.db) is moved in once, with task states and delivery ticks as they were; a
 * SIGKILL in the middle of the move (after one conversation, and inside another's
 * transaction) loses nothing and doubles nothing when it runs again; a damaged file is
 * counted and left; hist_get / hist_set / hist_find_prefix find and reseal rows. */
#include "harness.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history.h"
#include "vault.h"

static char dir[1024], path[1200];

static void fresh_home(struct vault *v, const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  char base[900], cmd[1300];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(dir, sizeof dir, "%s/himp-%s-%ld", base, name, (long)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0 || mkdir(dir, 0700) != 0) abort();
  if (vault_create(v, dir, "pw", 2, 10) != 0) abort();
  snprintf(path, sizeof path, "%s/%s", dir, HIST_FILE);
}

static void entry(struct tl_entry *e, int conv, int i, char *text) {
  memset(e, 0, sizeof *e);
  e->id[0] = (uint8_t)conv;
  e->id[1] = (uint8_t)(i >> 8);
  e->id[2] = (uint8_t)i;
  e->id[15] = 0x77;
  e->kind = TL_TEXT;
  e->outgoing = (uint8_t)(i & 1);
  e->status = e->outgoing ? TL_ST_DELIVERED : TL_ST_NONE;
  e->sent_ms = 1700000000000ull + (uint64_t)i;
  e->acc = -1;
  snprintf(text, 32, "c%d m%d", conv, i);
  e->text = text;
}

#define N_CONV 4
static const int conv_len[N_CONV] = {3, 700, 250, 40};

/* The old format: one timeline file per conversation, the first with a task that was
 * accepted. src gets the four conversations (two contacts, a group, a channel). */
static void old_home(const struct vault *v, struct hist_src src[N_CONV]) {
  static const enum hist_conv_kind kinds[N_CONV] = {HIST_CONTACT, HIST_CONTACT, HIST_GROUP,
                                                    HIST_CHANNEL};
  char text[32];
  for (int k = 0; k < N_CONV; k++) {
    struct timeline t;
    struct tl_entry e;
    src[k].kind = kinds[k];
    memset(src[k].key, 0x10 * (k + 1), TL_KEY_LEN);
    CHECK_EQ(timeline_load(&t, v, src[k].key), 0);
    for (int i = 0; i < conv_len[k]; i++) {
      entry(&e, k, i, text);
      if (k == 0 && i == 2) {
        e.kind = TL_TASK;
        e.task_state = TL_TASK_ACCEPTED;
      }
      CHECK_EQ(timeline_add(&t, &e, NULL), 0);
    }
    CHECK_EQ(timeline_save(&t, v), 0);
    timeline_free(&t);
  }
}

/* Every conversation holds exactly its file's entries, once, in order. */
static void check_moved(struct hist *h, const struct vault *v, const struct hist_src src[N_CONV]) {
  static struct tl_entry out[HIST_PAGE_MAX];
  char text[32];
  for (int k = 0; k < N_CONV; k++) {
    struct hist_conv c;
    struct timeline t;
    uint64_t n = 0;
    size_t got = 0;
    CHECK_EQ(hist_conv(h, src[k].kind, src[k].key, &c), 0);
    CHECK_EQ(hist_count(h, &c, &n), 0);
    CHECK_EQ(n, (uint64_t)conv_len[k]);
    CHECK_EQ(hist_page(h, &c, 0, HIST_PAGE_MAX, out, NULL, &got), 0);
    CHECK_EQ(got, (size_t)conv_len[k]);
    for (size_t i = 0; i < got; i++) {
      struct tl_entry e;
      entry(&e, k, (int)(got - 1 - i), text);
      CHECK(memcmp(out[i].id, e.id, TL_ID_LEN) == 0);
      CHECK(out[i].text && strcmp(out[i].text, text) == 0);
      CHECK_EQ(out[i].status, e.status);
      if (k == 0 && got - 1 - i == 2) CHECK_EQ(out[i].task_state, TL_TASK_ACCEPTED);
      tl_entry_clear(&out[i]);
    }
    CHECK_EQ(timeline_load(&t, v, src[k].key), 0); /* the file is gone */
    CHECK_EQ(t.n, 0);
    timeline_free(&t);
  }
}

static void test_import_once(void) {
  struct vault v;
  struct hist h;
  struct hist_src src[N_CONV + 1];
  struct hist_import_stats st;
  char why[256] = "";
  fresh_home(&v, "once");
  old_home(&v, src);
  /* A fifth conversation whose file is damaged: counted, left, the rest moves. */
  char name[VAULT_NAME_MAX];
  src[N_CONV].kind = HIST_CONTACT;
  memset(src[N_CONV].key, 0xee, TL_KEY_LEN);
  CHECK_EQ(vault_name(&v, "tl", src[N_CONV].key, TL_KEY_LEN, name), 0);
  CHECK_EQ(vault_write(&v, name, (const uint8_t *)"junk", 4), 0);
  CHECK_EQ(hist_open(&h, path, v.data_key, why, sizeof why), 0);
  CHECK_EQ(hist_import(&h, &v, src, N_CONV + 1, &st, NULL), 0);
  CHECK_EQ(st.ran, 1);
  CHECK_EQ(st.files, (size_t)N_CONV);
  CHECK_EQ(st.added, (size_t)(3 + 700 + 250 + 40));
  CHECK_EQ(st.existing, 0);
  CHECK_EQ(st.damaged, 1);
  check_moved(&h, &v, src);
  hist_close(&h);
  /* Reopened: done before, nothing runs again (a file put back is not read). */
  old_home(&v, src);
  CHECK_EQ(hist_open(&h, path, v.data_key, why, sizeof why), 0);
  CHECK_EQ(hist_import(&h, &v, src, N_CONV, &st, NULL), 0);
  CHECK_EQ(st.ran, 0);
  CHECK_EQ(st.added, 0);
  hist_close(&h);
  vault_close(&v);
}

static struct hist *kill_h;
static const struct vault *kill_v;
static const struct hist_src *kill_src;

/* After the second conversation: begin the third, add half of it, die (SIGKILL). */
static void die_after(size_t i) {
  char text[32];
  struct hist_conv c;
  struct tl_entry e;
  if (i != 1) return;
  if (hist_begin(kill_h) || hist_conv(kill_h, kill_src[2].kind, kill_src[2].key, &c)) _exit(3);
  for (int k = 0; k < conv_len[2] / 2; k++) {
    entry(&e, 2, k, text);
    if (hist_add(kill_h, &c, &e, NULL)) _exit(4);
  }
  (void)kill_v;
  raise(SIGKILL);
}

static void test_import_killed(void) {
  struct vault v;
  struct hist h;
  struct hist_src src[N_CONV];
  struct hist_import_stats st;
  char why[256] = "";
  int status = 0;
  fresh_home(&v, "kill");
  old_home(&v, src);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    if (hist_open(&h, path, v.data_key, NULL, 0) != 0) _exit(2);
    kill_h = &h;
    kill_v = &v;
    kill_src = src;
    int rc = hist_import(&h, &v, src, N_CONV, &st, die_after);
    _exit(rc ? 6 : 5); /* not reached */
  }
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  /* The run again: the first two are there and refused as duplicates, the half of the
   * third was never committed, the rest moves. */
  CHECK_EQ(hist_open(&h, path, v.data_key, why, sizeof why), 0);
  CHECK_EQ(hist_import(&h, &v, src, N_CONV, &st, NULL), 0);
  CHECK_EQ(st.ran, 1);
  CHECK_EQ(st.existing, (size_t)(3 + 700));
  CHECK_EQ(st.added, (size_t)(250 + 40));
  check_moved(&h, &v, src);
  hist_close(&h);
  vault_close(&v);
}

static void test_get_set_prefix(void) {
  struct vault v;
  struct hist h;
  struct hist_conv bob, grp;
  struct hist_found f;
  struct tl_entry e, got;
  int64_t row = 0;
  char why[256] = "", text[32], hex[2 * TL_ID_LEN + 1];
  uint8_t kb[TL_KEY_LEN], kg[TL_KEY_LEN];
  memset(kb, 0xb0, sizeof kb);
  memset(kg, 0x90, sizeof kg);
  fresh_home(&v, "find");
  CHECK_EQ(hist_open(&h, path, v.data_key, why, sizeof why), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, kb, &bob), 0);
  CHECK_EQ(hist_conv(&h, HIST_GROUP, kg, &grp), 0);
  entry(&e, 1, 4, text);
  CHECK_EQ(hist_add(&h, &bob, &e, NULL), 0);
  e.id[14] = 1; /* the same first bytes, another ID, in the group */
  CHECK_EQ(hist_add(&h, &grp, &e, NULL), 0);
  e.id[14] = 0;
  CHECK_EQ(hist_get(&h, &grp, e.id, &got, &row), MOMEDO_E_NOTFOUND);
  CHECK_EQ(hist_get(&h, &bob, e.id, &got, &row), 0);
  CHECK_EQ(got.status, TL_ST_NONE);
  got.status = TL_ST_READ;
  CHECK_EQ(hist_set(&h, &bob, row, &got), 0);
  tl_entry_clear(&got);
  CHECK_EQ(hist_get(&h, &bob, e.id, &got, NULL), 0);
  CHECK_EQ(got.status, TL_ST_READ);
  CHECK(strcmp(got.text, text) == 0);
  tl_entry_clear(&got);
  tl_id_hex(hex, e.id);
  hex[6] = '\0';
  CHECK_EQ(hist_find_prefix(&h, hex, HIST_KINDS_ALL, &f), MOMEDO_E_EXISTS); /* both */
  CHECK_EQ(hist_find_prefix(&h, hex, 1u << HIST_CONTACT, &f), 0);        /* bob's only */
  CHECK_EQ(f.kind, HIST_CONTACT);
  CHECK(memcmp(f.key, kb, TL_KEY_LEN) == 0);
  CHECK_EQ(f.conv.id, bob.id);
  CHECK(memcmp(f.e.id, e.id, TL_ID_LEN) == 0);
  tl_entry_clear(&f.e);
  tl_id_hex(hex, e.id);
  hex[30] = '0', hex[31] = '1'; /* ...01 is not there; ...77 with id[14] = 1 is */
  CHECK_EQ(hist_find_prefix(&h, hex, HIST_KINDS_ALL, &f), MOMEDO_E_NOTFOUND);
  tl_id_hex(hex, e.id);
  hex[29] = '1';
  CHECK_EQ(hist_find_prefix(&h, hex, HIST_KINDS_ALL, &f), 0);
  CHECK_EQ(f.kind, HIST_GROUP);
  tl_entry_clear(&f.e);
  CHECK_EQ(hist_find_prefix(&h, "01000", HIST_KINDS_ALL, &f), MOMEDO_E_INVAL);
  CHECK_EQ(hist_find_prefix(&h, "01000z", HIST_KINDS_ALL, &f), MOMEDO_E_INVAL);
  CHECK_EQ(hist_find_prefix(&h, "ffffff", HIST_KINDS_ALL, &f), MOMEDO_E_NOTFOUND);
  hist_close(&h);
  vault_close(&v);
}

int main(void) {
  RUN(test_get_set_prefix);
  RUN(test_import_once);
  RUN(test_import_killed);
  TEST_MAIN_END();
}
