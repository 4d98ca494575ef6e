/* Unit tests for node/store_rocks.c: the shared storage contract on RocksDB,
 * reopen and open errors, the crash test (a child writing durable batches is
 * SIGKILLed; every acknowledged batch must be whole after reopening) and a full file
 * system (a tmpfs; root only). Scratch directories live under $MOMEDO_TEST_TMP and are
 * removed at the end. */
#define _XOPEN_SOURCE 700 /* nftw() */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "store.h"
#include "store_contract.h"
#include "store_rocks.h"

#define CRASH_ROUNDS 3
#define CRASH_ACKS_PER_ROUND 200
#define CRASH_KEYS_PER_BATCH 10
#define CRASH_DELETE_LAG 100 /* batch i deletes key 0 of batch i - 100 */
#define CRASH_BATCHES_MAX 1000000
/* After the last ack a round lets the child run on for a moment before the
 * SIGKILL, so that it dies inside a write rather than right after reporting
 * one. Correctness never depends on this; it only widens what is tested. */
static const unsigned crash_grace_us[CRASH_ROUNDS] = {0, 700, 3000};
#define TMP_PATH_MAX 512

static char root_[TMP_PATH_MAX]; /* this run's scratch directory */

static int mkdir_p(const char *path) {
  char buf[TMP_PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void rm_rf(const char *path) {
  if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
    fprintf(stderr, "could not remove %s\n", path);
}

static int sub_path(char *out, const char *name) {
  int n = snprintf(out, TMP_PATH_MAX, "%s/%s", root_, name);
  return n > 0 && n < TMP_PATH_MAX ? 0 : -1;
}

/* ---- the contract, on RocksDB ---- */

struct rocks_factory {
  int n; /* directories handed out */
};

/* Non-durable: durability is not part of the contract, and 10,000 fsyncs would
 * only slow the run. The crash test below covers durable writes. */
static int open_rocks(void *ctx, struct store **out) {
  struct rocks_factory *f = ctx;
  char name[32], path[TMP_PATH_MAX];
  snprintf(name, sizeof name, "contract%d", f->n++);
  if (sub_path(path, name)) return MOMEDO_E_INVAL;
  struct store_rocks_opts o;
  store_rocks_opts_default(&o);
  o.durable = 0;
  return store_rocks_open(out, path, &o);
}

/* ---- reopen and open errors ---- */

static void test_rocks_reopen(void) {
  char path[TMP_PATH_MAX];
  CHECK_EQ(sub_path(path, "reopen"), 0);
  struct store *s = NULL;
  CHECK_EQ(store_rocks_open(&s, path, NULL), 0);
  int rc = store_put1(s, "persist", 7, "me", 2);
  if (rc == 0) rc = store_put1(s, "a\x00", 2, "", 0);
  if (rc == 0) rc = store_del1(s, "persist", 7);
  if (rc == 0) rc = store_put1(s, "persist", 7, "again", 5);
  store_close(s);
  CHECK_EQ(rc, 0);
  s = NULL;
  CHECK_EQ(store_rocks_open(&s, path, NULL), 0);
  void *v = NULL;
  size_t vn = 0;
  rc = store_get(s, "persist", 7, &v, &vn);
  int same = rc == 0 && vn == 5 && memcmp(v, "again", 5) == 0;
  free(v);
  size_t keys = 0;
  int rc_it = store_iter(s, NULL, 0, NULL, 0, sc_count, &keys);
  store_close(s);
  CHECK_EQ(rc, 0);
  CHECK(same);
  CHECK_EQ(rc_it, 0);
  CHECK_EQ(keys, 2);
}

static void test_rocks_open_errors(void) {
  char path[TMP_PATH_MAX];
  struct store *s = NULL, *s2 = NULL;
  struct store_rocks_opts o;
  store_rocks_opts_default(&o);
  CHECK_EQ(o.durable, 1);
  o.create_if_missing = 0;
  CHECK_EQ(sub_path(path, "never-created"), 0);
  fprintf(stderr, "(two store_rocks errors are expected next)\n");
  CHECK_EQ(store_rocks_open(&s, path, &o), MOMEDO_E_STORE);
  CHECK(s == NULL);
  CHECK_EQ(store_rocks_open(&s, "", NULL), MOMEDO_E_INVAL);
  CHECK_EQ(sub_path(path, "locked"), 0);
  CHECK_EQ(store_rocks_open(&s, path, NULL), 0);
  int rc2 = store_rocks_open(&s2, path, NULL); /* RocksDB's LOCK file */
  store_close(s);
  CHECK_EQ(rc2, MOMEDO_E_STORE);
  CHECK(s2 == NULL);
}

/* ---- crash test ---- */

static void be32(uint8_t *p, uint32_t x) {
  p[0] = (uint8_t)(x >> 24), p[1] = (uint8_t)(x >> 16), p[2] = (uint8_t)(x >> 8);
  p[3] = (uint8_t)x;
}

static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Batch i's key j is "b" || be32(i) || j; its value has a length and bytes that
 * depend on (i, j), so a stale or torn value shows. */
static void crash_key(uint8_t k[6], uint32_t i, uint32_t j) {
  k[0] = 'b';
  be32(k + 1, i);
  k[5] = (uint8_t)j;
}

static size_t crash_val(uint8_t *v, uint32_t i, uint32_t j) {
  size_t n = 50 + (i * 7 + j * 13) % 400;
  for (size_t t = 0; t < n; t++) v[t] = (uint8_t)(i * 31 + j * 7 + t);
  return n;
}
#define CRASH_VAL_MAX 450

/* The last whole batch, from key "last"; 0 for a new database. */
static int crash_last(struct store *s, uint32_t *last) {
  void *v = NULL;
  size_t vn = 0;
  int rc = store_get(s, "last", 4, &v, &vn);
  *last = 0;
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc == 0 && vn == 4) *last = get_be32(v);
  free(v);
  return rc ? rc : vn == 4 ? 0 : MOMEDO_E_CORRUPT;
}

static int crash_fill(struct store_batch *b, uint32_t i) {
  uint8_t k[6], v[CRASH_VAL_MAX], last[4];
  int rc = 0;
  store_batch_clear(b);
  for (uint32_t j = 0; j < CRASH_KEYS_PER_BATCH && rc == 0; j++) {
    crash_key(k, i, j);
    rc = store_batch_put(b, k, sizeof k, v, crash_val(v, i, j));
  }
  if (i > CRASH_DELETE_LAG) {
    crash_key(k, i - CRASH_DELETE_LAG, 0);
    if (rc == 0) rc = store_batch_del(b, k, sizeof k);
  }
  be32(last, i);
  if (rc == 0) rc = store_batch_put(b, "last", 4, last, sizeof last);
  return rc;
}

/* The child: continue after the last whole batch, and after each durable write
 * tell the parent its number. Runs until killed. */
static int crash_child(const char *path, int fd) {
  struct store *s = NULL;
  struct store_batch *b = store_batch_new();
  uint32_t i = 0;
  int rc = b ? store_rocks_open(&s, path, NULL) : MOMEDO_E_NOMEM;
  if (rc == 0) rc = crash_last(s, &i);
  while (rc == 0 && ++i < CRASH_BATCHES_MAX) {
    rc = crash_fill(b, i);
    if (rc == 0) rc = store_write(s, b);
    if (rc == 0 && write(fd, &i, sizeof i) != (ssize_t)sizeof i) rc = MOMEDO_E_IO;
  }
  fprintf(stderr, "crash child: stopped at batch %u: %s\n", i, momedo_strerror(rc));
  store_batch_free(b);
  store_close(s);
  return 1;
}

struct crash_scan {
  uint32_t last;
  size_t keys;
  int bad; /* keys that should not exist or hold the wrong value */
};

static int crash_scan_fn(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct crash_scan *c = ctx;
  uint8_t want[CRASH_VAL_MAX];
  c->keys++;
  if (kn != 6) return c->bad++, 0;
  uint32_t i = get_be32(k + 1), j = k[5];
  int deleted = j == 0 && (uint64_t)i + CRASH_DELETE_LAG <= c->last;
  if (i == 0 || i > c->last || j >= CRASH_KEYS_PER_BATCH || deleted) return c->bad++, 0;
  size_t n = crash_val(want, i, j);
  if (vn != n || memcmp(v, want, n) != 0) c->bad++;
  return 0;
}

/* Reopen and check: every batch up to "last" is whole, nothing after it is
 * present, and last >= acked. 0 when all holds. */
static int crash_verify(const char *path, uint32_t acked, uint32_t *last) {
  struct store *s = NULL;
  struct crash_scan c = {0};
  int rc = store_rocks_open(&s, path, NULL);
  if (rc == 0) rc = crash_last(s, &c.last);
  if (rc == 0) rc = store_iter(s, "b", 1, "c", 1, crash_scan_fn, &c);
  store_close(s);
  if (rc) return rc;
  uint64_t want = (uint64_t)CRASH_KEYS_PER_BATCH * c.last;
  if (c.last > CRASH_DELETE_LAG) want -= c.last - CRASH_DELETE_LAG;
  fprintf(stderr, "crash round: acked %u, last whole batch %u, %zu keys\n", acked, c.last,
          c.keys);
  *last = c.last;
  if (c.last < acked || c.bad || c.keys != want) return MOMEDO_E_CORRUPT;
  return 0;
}

static int read4(int fd, uint32_t *x) {
  uint8_t *p = (uint8_t *)x;
  size_t got = 0;
  while (got < sizeof *x) {
    ssize_t n = read(fd, p + got, sizeof *x - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

/* One round: start the child (a fresh exec, since RocksDB's thread pool does
 * not survive fork), take CRASH_ACKS_PER_ROUND acks that continue from *last,
 * SIGKILL it, verify. */
static int crash_round(const char *path, unsigned grace_us, uint32_t *last) {
  int fds[2];
  char fdstr[16];
  uint32_t ack = *last;
  int rc = 0;
  if (pipe(fds) != 0) return MOMEDO_E_IO;
  snprintf(fdstr, sizeof fdstr, "%d", fds[1]);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    execl("/proc/self/exe", "test_node_store", "--crash-child", path, fdstr, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return MOMEDO_E_IO;
  }
  for (int n = 0; n < CRASH_ACKS_PER_ROUND && rc == 0; n++) {
    uint32_t x;
    if (read4(fds[0], &x) != 0)
      rc = MOMEDO_E_CLOSED; /* the child died on its own */
    else if (x != ack + 1)
      rc = MOMEDO_E_INTERNAL; /* it did not continue after the last whole batch */
    else
      ack = x;
  }
  struct timespec grace = {0, (long)grace_us * 1000};
  if (grace_us) nanosleep(&grace, NULL);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(fds[0]);
  if (rc) {
    fprintf(stderr, "crash round: child failed after ack %u: %s\n", ack, momedo_strerror(rc));
    return rc;
  }
  return crash_verify(path, ack, last);
}

static void test_rocks_crash(void) {
  char path[TMP_PATH_MAX];
  uint32_t last = 0;
  int rc = 0;
  CHECK_EQ(sub_path(path, "crash"), 0);
  for (int r = 0; r < CRASH_ROUNDS && rc == 0; r++) rc = crash_round(path, crash_grace_us[r], &last);
  CHECK_EQ(rc, 0);
  CHECK(last >= CRASH_ROUNDS * CRASH_ACKS_PER_ROUND);
}

/* ---- a full file system ---- */

#define FULL_TMPFS_OPTS "size=24m,mode=0700"
#define FULL_FILLER_BYTES (8u * 1024 * 1024) /* freed to make room again */
#define FULL_WRITE_BUFFER_BYTES (1u * 1024 * 1024) /* a reopen needs 2 of these + 4 MiB */
#define FULL_VALUE_BYTES (64u * 1024)
#define FULL_WRITES_MAX 1000u

/* Value i: incompressible and reproducible. */
static void full_value(uint32_t i, uint8_t v[static FULL_VALUE_BYTES]) {
  uint64_t x = 0x9E3779B97F4A7C15ull * (i + 1);
  for (size_t j = 0; j < FULL_VALUE_BYTES; j += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(v + j, &x, 8);
  }
}

static int full_put(struct store *s, uint32_t i) {
  static uint8_t v[FULL_VALUE_BYTES];
  char k[16];
  snprintf(k, sizeof k, "k%06u", i);
  full_value(i, v);
  return store_put1(s, k, strlen(k), v, sizeof v);
}

/* 0 if keys 0..n-1 all hold their values. */
static int full_verify(struct store *s, uint32_t n) {
  static uint8_t want[FULL_VALUE_BYTES];
  for (uint32_t i = 0; i < n; i++) {
    char k[16];
    void *v = NULL;
    size_t vn = 0;
    snprintf(k, sizeof k, "k%06u", i);
    full_value(i, want);
    int rc = store_get(s, k, strlen(k), &v, &vn);
    int same = rc == 0 && vn == sizeof want && memcmp(v, want, vn) == 0;
    free(v);
    if (!same) return rc ? rc : MOMEDO_E_CORRUPT;
  }
  return 0;
}

static void full_fill(struct store *s, const char *filler, uint32_t *acked, int *refused) {
  int rc = 0;
  uint32_t i = 0;
  FILE *f = fopen(filler, "wb");
  CHECK(f != NULL);
  static uint8_t chunk[FULL_VALUE_BYTES];
  for (size_t w = 0; w < FULL_FILLER_BYTES; w += sizeof chunk)
    CHECK_EQ(fwrite(chunk, 1, sizeof chunk, f), sizeof chunk);
  CHECK_EQ(fclose(f), 0);
  for (; i < FULL_WRITES_MAX && (rc = full_put(s, i)) == 0; i++) {
  }
  *acked = i;
  *refused = rc;
}

static void test_rocks_disk_full(void) {
  char mnt[TMP_PATH_MAX], path[TMP_PATH_MAX], filler[TMP_PATH_MAX];
  if (geteuid() != 0) {
    fprintf(stderr, "test_rocks_disk_full skipped: needs root to mount a tmpfs\n");
    return;
  }
  CHECK_EQ(sub_path(mnt, "full"), 0);
  CHECK_EQ(sub_path(path, "full/store"), 0);
  CHECK_EQ(sub_path(filler, "full/filler"), 0);
  CHECK_EQ(mkdir_p(mnt), 0);
  if (mount("tmpfs", mnt, "tmpfs", 0, FULL_TMPFS_OPTS) != 0) {
    /* Root without CAP_SYS_ADMIN (a container): say so, as for non-root. */
    CHECK(errno == EPERM || errno == EACCES);
    fprintf(stderr, "test_rocks_disk_full skipped: cannot mount a tmpfs here (%s)\n",
            strerror(errno));
    return;
  }
  struct store_rocks_opts o;
  store_rocks_opts_default(&o);
  o.disk_reserve_bytes = 0; /* let RocksDB itself run into ENOSPC */
  o.write_buffer_bytes = FULL_WRITE_BUFFER_BYTES;
  struct store *s = NULL;
  uint32_t acked = 0;
  int refused = 0, rc = store_rocks_open(&s, path, &o);
  if (rc == 0) {
    fprintf(stderr, "(store_rocks errors about no space left are expected next)\n");
    full_fill(s, filler, &acked, &refused);
  }
  int reads = s ? full_verify(s, acked) : -1, again = s ? full_put(s, acked) : -1;
  int freed = unlink(filler), resumed = s ? full_put(s, acked) : -1;
  store_close(s);
  s = NULL;
  int reopened = store_rocks_open(&s, path, &o), after = s ? full_verify(s, acked + 1) : -1;
  /* With the reserve on, a write that would eat into it is refused before RocksDB. */
  o.disk_reserve_bytes = 64u * 1024 * 1024;
  struct store *s2 = NULL;
  store_close(s);
  int reserve_open = store_rocks_open(&s2, path, &o);
  int reserve_put = s2 ? full_put(s2, acked + 1) : -1;
  store_close(s2);
  umount2(mnt, MNT_DETACH);
  CHECK_EQ(rc, 0);
  CHECK(acked > 10);
  CHECK_EQ(refused, MOMEDO_E_DISKFULL);
  CHECK_EQ(reads, 0);      /* reads go on while the disk is full */
  CHECK(again == MOMEDO_E_DISKFULL || again == 0); /* the reopen may have made room */
  CHECK_EQ(freed, 0);
  CHECK_EQ(resumed, 0);    /* the next write after space came back reopened the store */
  CHECK_EQ(reopened, 0);
  CHECK_EQ(after, 0);      /* everything acknowledged, and the write after the pause */
  CHECK_EQ(reserve_open, 0);
  CHECK_EQ(reserve_put, MOMEDO_E_DISKFULL);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--crash-child") == 0)
    return crash_child(argv[2], atoi(argv[3]));
  const char *tmp = getenv("MOMEDO_TEST_TMP");
  snprintf(root_, sizeof root_, "%s/store_node_%ld", tmp && *tmp ? tmp : "/tmp",
           (long)getpid());
  if (mkdir_p(root_) != 0) {
    fprintf(stderr, "cannot create %s\n", root_);
    return 1;
  }
  struct rocks_factory f = {0};
  store_contract_run(open_rocks, &f);
  RUN(test_rocks_reopen);
  RUN(test_rocks_open_errors);
  RUN(test_rocks_crash);
  RUN(test_rocks_disk_full);
  rm_rf(root_);
  TEST_MAIN_END();
}
