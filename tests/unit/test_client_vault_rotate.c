/* Unit tests for the full data-key rotation (client/core/vault_rotate.c, hist_reseal): after
 * it the old passphrase opens nothing, the new one opens every record and history row
 * as they were (names and the history's hashes unchanged); a copy of vault.key taken
 * before, put beside the rotated vault.db and history.db, opens with the old passphrase
 * but reads no record and no history row written after (with vault_rekey alone it
 * reads them: the gap this closes); a process killed with SIGKILL at each crash point
 * and at random moments during the rotation leaves either the old state (old passphrase)
 * or the new one (new passphrase) complete once vault_rotate_recover ran; another
 * connection holding vault.db or history.db open refuses the rotation (E_BUSY), changed
 * nothing. */
#include "harness.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "os.h"
#include "vault.h"

#define OLD "correct horse battery staple"
#define NEW "lampe flur zwei hausmeister"
#define LOG2N_FAST 10
#define ROWS 3000        /* history rows: the rotation takes long enough to be killed in */
#define RECORDS 40

static char dir[1024], hpath[1100];
static const uint8_t peer[TL_KEY_LEN] = {0xb0, 0xb1, 0xb2};

static int reseal(const char *path, const uint8_t *o, const uint8_t *n) {
  return hist_reseal(path, o, n);
}
static const struct vault_rotate_db dbs[] = {{HIST_FILE, reseal}};

static void fresh_dir(const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  char base[900], cmd[1200];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(dir, sizeof dir, "%s/rot-%s-%ld", base, name, (long)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0 || mkdir(dir, 0700) != 0) abort();
  snprintf(hpath, sizeof hpath, "%s/%s", dir, HIST_FILE);
}

static void entry(struct tl_entry *e, int i, char *text, size_t cap) {
  memset(e, 0, sizeof *e);
  e->id[0] = (uint8_t)(i >> 8);
  e->id[1] = (uint8_t)i;
  e->id[15] = 0x5a;
  e->kind = TL_TEXT;
  e->sent_ms = 1700000000000ull + (uint64_t)i;
  snprintf(text, cap, "row %d: Lampe in Gebaeude %d defekt", i, i % 97);
  e->text = text;
}

/* Rows [from, to) into the history of the open vault v. */
static void add_rows(const struct vault *v, int from, int to) {
  struct hist h;
  struct hist_conv c;
  struct tl_entry e;
  char text[80];
  CHECK_EQ(hist_open_keys(&h, hpath, v->data_key, v->name_key, NULL, 0), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, peer, &c), 0);
  CHECK_EQ(hist_begin(&h), 0);
  for (int i = from; i < to; i++) {
    entry(&e, i, text, sizeof text);
    CHECK_EQ(hist_add(&h, &c, &e, NULL), 0);
  }
  CHECK_EQ(hist_commit(&h), 0);
  hist_close(&h);
}

/* A vault (records "r0".."rN" and one named with vault_name) and ROWS history rows. */
static void make_home(void) {
  struct vault v;
  char name[VAULT_NAME_MAX], text[64];
  CHECK_EQ(vault_create(&v, dir, OLD, strlen(OLD), LOG2N_FAST), 0);
  CHECK_EQ(vault_begin(&v), 0);
  for (int i = 0; i < RECORDS; i++) {
    snprintf(name, sizeof name, "r%d", i);
    snprintf(text, sizeof text, "record %d", i);
    CHECK_EQ(vault_write(&v, name, (const uint8_t *)text, strlen(text)), 0);
  }
  CHECK_EQ(vault_name(&v, "att", peer, sizeof peer, name), 0);
  CHECK_EQ(vault_write(&v, name, (const uint8_t *)"attachment", 10), 0);
  CHECK_EQ(vault_commit(&v), 0);
  vault_close(&v);
  CHECK_EQ(vault_open(&v, dir, OLD, strlen(OLD)), 0);
  add_rows(&v, 0, ROWS);
  vault_close(&v);
}

/* Open with pass and read everything: every record, the named one, `rows` history rows
 * in order. 0 when all is there, else the first failure. */
static int check_home(const char *pass, int rows) {
  struct vault v;
  struct hist h;
  struct hist_conv c;
  struct tl_entry e[100], want;
  char name[VAULT_NAME_MAX], text[80];
  int64_t before = 0, row[100];
  uint8_t *d = NULL;
  size_t n = 0, got = 0;
  int rc = vault_open(&v, dir, pass, strlen(pass)), seen = rows;
  for (int i = 0; rc == 0 && i < RECORDS; i++) {
    snprintf(name, sizeof name, "r%d", i);
    snprintf(text, sizeof text, "record %d", i);
    rc = vault_read(&v, name, &d, &n);
    if (rc == 0 && (n != strlen(text) || memcmp(d, text, n) != 0)) rc = MOMEDO_E_CORRUPT;
    free(d);
  }
  if (rc == 0) rc = vault_name(&v, "att", peer, sizeof peer, name);
  if (rc == 0) rc = vault_read(&v, name, &d, &n);
  if (rc == 0) free(d);
  if (rc == 0) rc = hist_open_keys(&h, hpath, v.data_key, v.name_key, NULL, 0);
  if (rc == 0) {
    rc = hist_conv(&h, HIST_CONTACT, peer, &c);
    do { /* newest first */
      if (rc == 0) rc = hist_page(&h, &c, before, 100, e, row, &got);
      for (size_t i = 0; rc == 0 && i < got; i++) {
        entry(&want, --seen, text, sizeof text);
        if (strcmp(e[i].text, text) != 0) rc = MOMEDO_E_CORRUPT;
      }
      for (size_t i = 0; i < got; i++) tl_entry_clear(&e[i]);
      if (got) before = row[got - 1];
    } while (rc == 0 && got);
    hist_close(&h);
  }
  if (rc == 0 && seen != 0) rc = MOMEDO_E_NOTFOUND;
  vault_close(&v);
  return rc;
}

static int rotate(const char *from, const char *to, void (*crash)(const char *)) {
  struct vault v;
  int rc = vault_open(&v, dir, from, strlen(from));
  if (rc == 0) rc = vault_rotate(&v, to, strlen(to), LOG2N_FAST, dbs, 1, crash);
  vault_close(&v);
  return rc;
}

static int rot_files(void) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d)) != NULL;)
    n += strstr(e->d_name, ".rot") != NULL || strcmp(e->d_name, VAULT_ROTATE_MARK) == 0;
  if (d) closedir(d);
  return n;
}

static void test_rotate_and_old_copy(void) {
  struct vault v;
  uint8_t *oldkey = NULL, *d = NULL;
  size_t oln = 0, n = 0;
  char kp[1200];
  fresh_dir("basic");
  make_home();
  snprintf(kp, sizeof kp, "%s/%s", dir, VAULT_KEY_FILE);
  CHECK_EQ(vault_read_file(kp, 4096, &oldkey, &oln), 0); /* the backup's vault.key */
  CHECK_EQ(rotate(OLD, NEW, NULL), 0);
  CHECK_EQ(rot_files(), 0);
  CHECK_EQ(vault_open(&v, dir, OLD, strlen(OLD)), MOMEDO_E_AUTH);
  CHECK_EQ(check_home(NEW, ROWS), 0);
  /* Written after the rotation: a record and a row. */
  CHECK_EQ(vault_open(&v, dir, NEW, strlen(NEW)), 0);
  CHECK_EQ(vault_write(&v, "after", (const uint8_t *)"SECRET-AFTER", 12), 0);
  add_rows(&v, ROWS, ROWS + 1);
  vault_close(&v);
  CHECK_EQ(check_home(NEW, ROWS + 1), 0);
  /* The old vault.key beside the new files: the old passphrase unwraps the old key,
   * which opens neither the new record nor any row. */
  CHECK_EQ(vault_atomic_write(kp, oldkey, oln, 0600), 0);
  CHECK_EQ(vault_open(&v, dir, OLD, strlen(OLD)), 0);
  CHECK_EQ(vault_read(&v, "after", &d, &n), MOMEDO_E_CORRUPT);
  vault_close(&v);
  CHECK(check_home(OLD, ROWS + 1) != 0);
  free(oldkey);
  /* Rotated twice, the name key still the first one: names stay the same. */
  fresh_dir("twice");
  make_home();
  CHECK_EQ(rotate(OLD, NEW, NULL), 0);
  CHECK_EQ(rotate(NEW, OLD, NULL), 0);
  CHECK_EQ(check_home(OLD, ROWS), 0);
}

/* What the test closes: with vault_rekey alone the same copy reads what came after. */
static void test_rekey_leaves_the_gap(void) {
  struct vault v;
  uint8_t *oldkey = NULL, *d = NULL;
  size_t oln = 0, n = 0;
  char kp[1200];
  fresh_dir("rekey");
  make_home();
  snprintf(kp, sizeof kp, "%s/%s", dir, VAULT_KEY_FILE);
  CHECK_EQ(vault_read_file(kp, 4096, &oldkey, &oln), 0);
  CHECK_EQ(vault_open(&v, dir, OLD, strlen(OLD)), 0);
  CHECK_EQ(vault_rekey(&v, NEW, strlen(NEW), LOG2N_FAST), 0);
  CHECK_EQ(vault_write(&v, "after", (const uint8_t *)"SECRET-AFTER", 12), 0);
  vault_close(&v);
  CHECK_EQ(vault_atomic_write(kp, oldkey, oln, 0600), 0);
  CHECK_EQ(vault_open(&v, dir, OLD, strlen(OLD)), 0);
  CHECK_EQ(vault_read(&v, "after", &d, &n), 0);
  CHECK_MEM(d, "SECRET-AFTER", 12);
  free(d);
  vault_close(&v);
  free(oldkey);
}

static const char *kill_at;
static void crash_at(const char *where) {
  if (strcmp(where, kill_at) == 0) raise(SIGKILL);
}

/* After a kill: recover, then exactly one of the passphrases opens everything. */
static void after_kill(const char *want) {
  int fin = 0;
  struct vault v;
  CHECK_EQ(vault_rotate_recover(dir, &fin), 0);
  CHECK_EQ(rot_files(), 0);
  const char *other = strcmp(want, OLD) == 0 ? NEW : OLD;
  CHECK_EQ(check_home(want, ROWS), 0);
  CHECK_EQ(vault_open(&v, dir, other, strlen(other)), MOMEDO_E_AUTH);
}

static void test_crash_points(void) {
  static const char *const points[] = {"rotate-built", "rotate-committed", "rotate-renamed"};
  for (size_t i = 0; i < 3; i++) {
    fresh_dir(points[i]);
    make_home();
    kill_at = points[i];
    pid_t p = fork();
    if (p == 0) _exit(rotate(OLD, NEW, crash_at) == 0 ? 0 : 3);
    int status = 0;
    CHECK(waitpid(p, &status, 0) == p);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    after_kill(i == 0 ? OLD : NEW);
  }
}

/* SIGKILL from outside at moments spread over a whole rotation's time. */
static void test_random_kills(void) {
  fresh_dir("kills");
  make_home();
  uint64_t t0 = os_mono_ns();
  CHECK_EQ(rotate(OLD, NEW, NULL), 0);
  uint64_t full_us = (os_mono_ns() - t0) / 1000;
  CHECK_EQ(rotate(NEW, OLD, NULL), 0);
  int olds = 0, news = 0;
  srand((unsigned)time(NULL));
  for (int k = 0; k < 24; k++) {
    pid_t p = fork();
    if (p == 0) _exit(rotate(OLD, NEW, NULL) == 0 ? 0 : 3);
    uint64_t at = k < 20 ? full_us * (uint64_t)k / 20 + (uint64_t)(rand() % 2000)
                         : full_us * 4; /* the last ones after it surely ended */
    usleep((useconds_t)at);
    kill(p, SIGKILL);
    int status = 0;
    CHECK(waitpid(p, &status, 0) == p);
    CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
    int fin = 0;
    CHECK_EQ(vault_rotate_recover(dir, &fin), 0);
    if (check_home(OLD, ROWS) == 0) {
      olds++;
    } else {
      CHECK_EQ(check_home(NEW, ROWS), 0);
      news++;
      CHECK_EQ(rotate(NEW, OLD, NULL), 0); /* back to the start for the next kill */
    }
  }
  printf("  rotation %.1f ms (%d rows); after 24 kills: %d old, %d new\n", full_us / 1000.0,
         ROWS, olds, news);
  CHECK(olds > 0 && news > 0); /* kills landed before and after the commit */
}

/* Another process holding the vault or the history open (as momedo app does between
 * requests) refuses the rotation, and nothing changes. */
static void test_busy(void) {
  fresh_dir("busy");
  make_home();
  for (int which = 0; which < 2; which++) {
    int fds[2];
    char c = 0;
    CHECK_EQ(pipe(fds), 0);
    pid_t p = fork();
    if (p == 0) {
      struct vault v;
      struct hist h;
      if (vault_open(&v, dir, OLD, strlen(OLD)) != 0) _exit(2);
      if (which == 1) { /* only the history: the vault's connection closed */
        if (hist_open_keys(&h, hpath, v.data_key, v.name_key, NULL, 0) != 0) _exit(2);
        vault_close(&v);
      }
      if (write(fds[1], "x", 1) != 1) _exit(2);
      pause();
      _exit(0);
    }
    CHECK_EQ(read(fds[0], &c, 1), 1);
    CHECK_EQ(rotate(OLD, NEW, NULL), MOMEDO_E_BUSY);
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    close(fds[0]);
    close(fds[1]);
    CHECK_EQ(rot_files(), 0);
    CHECK_EQ(check_home(OLD, ROWS), 0);
  }
}

int main(void) {
  RUN(test_rotate_and_old_copy);
  RUN(test_rekey_leaves_the_gap);
  RUN(test_crash_points);
  RUN(test_random_kills);
  RUN(test_busy);
  TEST_MAIN_END();
}
