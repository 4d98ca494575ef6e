/* Unit tests for client/core/vault and client/core/home: the documented on-disk format (checked
 * by decrypting with the primitives directly), wrong passphrases, tampering, swapped
 * files, atomic writes, passphrase sources and the serialiser. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counter.h"
#include "crypto.h"
#include "home.h"
#include "vault.h"
#include "vault_raw.h"

#define PASS "correct horse battery staple"
#define LOG2N_FAST 10

static char dir[1024];

static void fresh_dir(const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  char base[900];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(dir, sizeof dir, "%s/vault-%s-%ld", base, name, (long)getpid());
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) abort();
  if (mkdir(dir, 0700) != 0) abort();
}

static int read_raw(const char *name, uint8_t **d, size_t *n) {
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return vault_read_file(p, 1u << 26, d, n);
}

static int memmem_(const uint8_t *h, size_t hn, const char *needle) {
  size_t nn = strlen(needle);
  for (size_t i = 0; i + nn <= hn; i++)
    if (memcmp(h + i, needle, nn) == 0) return 1;
  return 0;
}

static void test_roundtrip_and_format(void) {
  struct vault v;
  fresh_dir("fmt");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  const char *secret = "MARKER-the-plaintext-secret";
  CHECK_EQ(vault_write(&v, "state", (const uint8_t *)secret, strlen(secret)), 0);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_EQ(vault_read(&v, "state", &d, &n), 0);
  CHECK_EQ(n, strlen(secret));
  CHECK_MEM(d, secret, n);
  free(d);
  vault_close(&v);

  /* vault.key: "MOMEDO-VAULT" 1 log2n r p salt(32) nonce(24) wrapped(32+16). */
  uint8_t *k = NULL, *f = NULL, kek[32], dk[32];
  size_t kn = 0, fn = 0;
  CHECK_EQ(read_raw("vault.key", &k, &kn), 0);
  CHECK_EQ(kn, 12 + 4 + 32 + 24 + 48);
  CHECK_MEM(k, "MOMEDO-VAULT", 12);
  CHECK_EQ(k[12], 1);
  CHECK_EQ(k[13], LOG2N_FAST);
  CHECK_EQ(k[14], 8);
  CHECK_EQ(k[15], 1);
  CHECK_EQ(crypto_scrypt(kek, 32, PASS, strlen(PASS), k + 16, 32, LOG2N_FAST, 8, 1), 0);
  CHECK_EQ(crypto_aead_open(dk, k + 48 + 24, 48, k, 48, k + 48, kek), 0);
  /* A sealed record (a row of vault.db): "MOMEDO-VFILE" 1 nonce(24) ct+tag; AD = header ||
   * name. */
  CHECK_EQ(raw_get(dir, "state", &f, &fn), 0);
  CHECK_EQ(fn, 13 + 24 + strlen(secret) + 16);
  CHECK(!memmem_(f, fn, "MARKER"));
  uint8_t ad[32], pt[64];
  memcpy(ad, f, 13);
  memcpy(ad + 13, "state", 5);
  CHECK_EQ(crypto_aead_open(pt, f + 37, fn - 37, ad, 18, f + 13, dk), 0);
  CHECK_MEM(pt, secret, strlen(secret));
  struct stat st;
  char p[1200];
  snprintf(p, sizeof p, "%s/vault.db", dir);
  CHECK_EQ(stat(p, &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0600);
  snprintf(p, sizeof p, "%s/state", dir); /* no file per record */
  CHECK(stat(p, &st) != 0);
  /* Nothing in the database's bytes shows the plaintext. */
  uint8_t *db = NULL;
  size_t dbn = 0;
  CHECK_EQ(read_raw("vault.db", &db, &dbn), 0);
  CHECK(!memmem_(db, dbn, "MARKER"));
  free(db);
  free(k);
  free(f);
}

static void test_wrong_passphrase_changes_nothing(void) {
  struct vault v;
  fresh_dir("wrong");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  vault_close(&v);
  uint8_t *before = NULL, *after = NULL;
  size_t bn = 0, an = 0;
  CHECK_EQ(read_raw("vault.key", &before, &bn), 0);
  CHECK_EQ(vault_open(&v, dir, "wrong", 5), MOMEDO_E_AUTH);
  CHECK_EQ(v.open, 0);
  CHECK_EQ(read_raw("vault.key", &after, &an), 0);
  CHECK_EQ(an, bn);
  CHECK_MEM(after, before, bn);
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), MOMEDO_E_EXISTS);
  CHECK_EQ(vault_open(&v, dir, PASS, strlen(PASS)), 0);
  vault_close(&v);
  free(before);
  free(after);
  fresh_dir("wrong2");
  CHECK_EQ(vault_open(&v, dir, PASS, strlen(PASS)), MOMEDO_E_NOTFOUND);
  CHECK_EQ(vault_create(&v, dir, "", 0, LOG2N_FAST), MOMEDO_E_INVAL);
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), 3), MOMEDO_E_INVAL);
  CHECK_EQ(vault_exists(dir), 0);
}

static void test_tamper_and_swap(void) {
  struct vault v;
  uint8_t *d = NULL;
  size_t n = 0;
  fresh_dir("tamper");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  CHECK_EQ(vault_write(&v, "a", (const uint8_t *)"alpha", 5), 0);
  CHECK_EQ(vault_write(&v, "b", (const uint8_t *)"bravo", 5), 0);
  /* b's bytes under a's name: the name is authenticated. */
  raw_move(dir, "b", "a");
  CHECK_EQ(vault_read(&v, "a", &d, &n), MOMEDO_E_CORRUPT);
  CHECK(d == NULL);
  CHECK_EQ(vault_read(&v, "b", &d, &n), MOMEDO_E_NOTFOUND);
  /* One flipped bit anywhere is refused. */
  CHECK_EQ(vault_write(&v, "c", (const uint8_t *)"charlie", 7), 0);
  uint8_t *raw = NULL;
  size_t rn = 0;
  CHECK_EQ(raw_get(dir, "c", &raw, &rn), 0);
  raw[rn - 3] ^= 1;
  raw_put(dir, "c", raw, rn);
  raw[rn - 3] ^= 1;
  raw[3] ^= 1; /* the header too */
  raw_put(dir, "d", raw, rn);
  free(raw);
  CHECK_EQ(vault_read(&v, "d", &d, &n), MOMEDO_E_CORRUPT);
  CHECK_EQ(vault_read(&v, "c", &d, &n), MOMEDO_E_CORRUPT);
  /* Bad names are refused before touching the disk. */
  CHECK_EQ(vault_write(&v, "../x", (const uint8_t *)"x", 1), MOMEDO_E_INVAL);
  CHECK_EQ(vault_write(&v, "", (const uint8_t *)"x", 1), MOMEDO_E_INVAL);
  CHECK_EQ(vault_write(&v, "UPPER", (const uint8_t *)"x", 1), MOMEDO_E_INVAL);
  /* Empty content round-trips. */
  CHECK_EQ(vault_write(&v, "empty", (const uint8_t *)"", 0), 0);
  CHECK_EQ(vault_read(&v, "empty", &d, &n), 0);
  CHECK_EQ(n, 0);
  free(d);
  /* No temporary files are left behind. */
  DIR *dd = opendir(dir);
  CHECK(dd != NULL);
  struct dirent *e;
  int tmp = 0;
  while ((e = readdir(dd)) != NULL) tmp += strstr(e->d_name, ".tmp") != NULL;
  closedir(dd);
  CHECK_EQ(tmp, 0);
  vault_close(&v);
}

static void test_rekey_and_names(void) {
  struct vault v, w;
  uint8_t *d = NULL;
  size_t n = 0;
  char n1[VAULT_NAME_MAX], n2[VAULT_NAME_MAX], n3[VAULT_NAME_MAX];
  fresh_dir("rekey");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  CHECK_EQ(vault_write(&v, "x", (const uint8_t *)"xray", 4), 0);
  CHECK_EQ(vault_rekey(&v, "new pass", 8, LOG2N_FAST), 0);
  uint8_t k1[32] = {1}, k2[32] = {2};
  CHECK_EQ(vault_name(&v, "tl", k1, 32, n1), 0);
  CHECK_EQ(vault_name(&v, "tl", k2, 32, n2), 0);
  vault_close(&v);
  CHECK_EQ(vault_open(&w, dir, PASS, strlen(PASS)), MOMEDO_E_AUTH);
  CHECK_EQ(vault_open(&w, dir, "new pass", 8), 0);
  CHECK_EQ(vault_read(&w, "x", &d, &n), 0);
  CHECK_EQ(n, 4);
  CHECK_MEM(d, "xray", 4);
  free(d);
  CHECK_EQ(vault_name(&w, "tl", k1, 32, n3), 0);
  CHECK_STR(n1, n3);          /* stable across unlocks */
  CHECK(strcmp(n1, n2) != 0); /* differs per key */
  CHECK_EQ(strlen(n1), 3 + 16);
  vault_close(&w);
}

/* vault_pass_ok: the passphrase must unwrap vault.key to the open vault's own data key
 * (the app asks for it again before a change); another vault's vault.key put in place
 * does not pass with that vault's passphrase. */
static void test_pass_ok(void) {
  struct vault v, w;
  char other[1024], a[1100], b[1100];
  fresh_dir("passok2");
  snprintf(other, sizeof other, "%s", dir);
  CHECK_EQ(vault_create(&w, other, "other pass", 10, LOG2N_FAST), 0);
  vault_close(&w);
  fresh_dir("passok");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  CHECK_EQ(vault_pass_ok(&v, PASS, strlen(PASS)), 0);
  CHECK_EQ(vault_pass_ok(&v, "wrong pass", 10), MOMEDO_E_AUTH);
  CHECK_EQ(vault_rekey(&v, "new pass", 8, LOG2N_FAST), 0);
  CHECK_EQ(vault_pass_ok(&v, PASS, strlen(PASS)), MOMEDO_E_AUTH);
  CHECK_EQ(vault_pass_ok(&v, "new pass", 8), 0);
  snprintf(a, sizeof a, "%s/vault.key", other);
  snprintf(b, sizeof b, "%s/vault.key", dir);
  CHECK_EQ(rename(a, b), 0);
  CHECK_EQ(vault_pass_ok(&v, "other pass", 10), MOMEDO_E_AUTH);
  CHECK_EQ(vault_pass_ok(&v, "new pass", 8), MOMEDO_E_AUTH);
  vault_close(&v);
  CHECK_EQ(vault_pass_ok(&v, "new pass", 8), MOMEDO_E_INVAL);
}

/* The core reads a passphrase from a file (first line) or takes one as bytes; the
 * terminal and $MOMEDO_PASSPHRASE are the front-end's (test_cli_pass). */
static void test_passphrase_sources(void) {
  char out[VAULT_PASS_MAX + 1], why[256], p[1200], big[VAULT_PASS_MAX + 2];
  size_t n = 0;
  fresh_dir("pass");
  snprintf(p, sizeof p, "%s/pf", dir);
  CHECK_EQ(vault_atomic_write(p, (const uint8_t *)"from file\nsecond line\n", 22, 0600), 0);
  CHECK_EQ(vault_passphrase_file(out, sizeof out, &n, p, why, sizeof why), 0);
  CHECK_STR(out, "from file");
  CHECK_EQ(n, 9);
  CHECK_EQ(vault_atomic_write(p, (const uint8_t *)"\n", 1, 0600), 0);
  CHECK_EQ(vault_passphrase_file(out, sizeof out, &n, p, why, sizeof why), MOMEDO_E_INVAL);
  CHECK(strstr(why, "empty") != NULL);
  snprintf(p, sizeof p, "%s/missing", dir);
  CHECK_EQ(vault_passphrase_file(out, sizeof out, &n, p, why, sizeof why), MOMEDO_E_NOTFOUND);
  CHECK(strstr(why, "missing") != NULL);
  CHECK_EQ(vault_passphrase_set(out, sizeof out, &n, "typed\r\n", 7), 0);
  CHECK_STR(out, "typed");
  CHECK_EQ(n, 5);
  memset(big, 'x', sizeof big);
  CHECK_EQ(vault_passphrase_set(out, sizeof out, &n, big, VAULT_PASS_MAX + 1), MOMEDO_E_TOOBIG);
  CHECK_EQ(vault_passphrase_set(out, 4, &n, "four", 4), MOMEDO_E_TOOBIG);
  CHECK_EQ(vault_passphrase_set(out, sizeof out, &n, "\n", 1), MOMEDO_E_INVAL);
  CHECK_EQ(n, 0);
}

static void test_serialiser(void) {
  struct vbuf b = {0};
  vbuf_u8(&b, 7);
  vbuf_be32(&b, 0x01020304);
  vbuf_be64(&b, 0x1122334455667788ull);
  vbuf_str(&b, "hi");
  vbuf_double(&b, -33.8688);
  vbuf_bytes(&b, "\0\1", 2);
  CHECK_EQ(b.err, 0);
  static const uint8_t want[] = {7, 1, 2, 3, 4, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                 0x88, 0, 0, 0, 2, 'h', 'i'};
  CHECK_MEM(b.p, want, sizeof want);
  struct cursor c;
  cursor_init(&c, b.p, b.len);
  uint8_t u8;
  uint32_t u32;
  uint64_t u64;
  char s[3];
  double dd;
  const uint8_t *bp;
  size_t bn;
  CHECK_EQ(cursor_get_u8(&c, &u8), 0);
  CHECK_EQ(cursor_get_be32(&c, &u32), 0);
  CHECK_EQ(cursor_get_be64(&c, &u64), 0);
  CHECK_EQ(vrd_str(&c, s, sizeof s), 0);
  CHECK_STR(s, "hi");
  CHECK_EQ(vrd_double(&c, &dd), 0);
  CHECK(dd == -33.8688);
  /* An embedded NUL is refused as a string but fine as bytes. */
  size_t at = c.pos;
  char s2[8];
  CHECK_EQ(vrd_str(&c, s2, sizeof s2), MOMEDO_E_CORRUPT);
  c.pos = at;
  CHECK_EQ(vrd_bytes(&c, &bp, &bn, 2), 0);
  CHECK_EQ(bn, 2);
  CHECK_EQ(cursor_left(&c), 0);
  /* Too long for the destination. */
  cursor_init(&c, b.p + 13, 6);
  char s1[2];
  CHECK_EQ(vrd_str(&c, s1, sizeof s1), MOMEDO_E_CORRUPT);
  vbuf_free(&b);
}

static void test_home(void) {
  struct home h;
  char p[HOME_PATH_MAX], why[256];
  fresh_dir("home");
  char sub[1100];
  snprintf(sub, sizeof sub, "%s/h///", dir);
  CHECK_EQ(home_resolve(&h, sub), 0);
  CHECK(strstr(h.dir, "//") == NULL);
  CHECK_EQ(home_exists(&h), 0);
  CHECK_EQ(home_ensure(&h, why, sizeof why), 0);
  struct stat st;
  CHECK_EQ(stat(h.dir, &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0700);
  CHECK_EQ(chmod(h.dir, 0755), 0);
  CHECK_EQ(home_ensure(&h, why, sizeof why), 0);
  CHECK_EQ(stat(h.dir, &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0700);
  CHECK_EQ(home_path(&h, "x", p, sizeof p), 0);
  CHECK(strlen(p) == strlen(h.dir) + 2);
  CHECK_EQ(home_lock(&h), 0);
  CHECK_EQ(home_lock(&h), 0);
  home_unlock(&h);
  CHECK_EQ(home_resolve(&h, ""), MOMEDO_E_INVAL);
  setenv(HOME_ENV, "/some/where", 1);
  CHECK_EQ(home_resolve(&h, NULL), 0);
  CHECK_STR(h.dir, "/some/where");
  unsetenv(HOME_ENV);
}

/* The write cache: an unchanged file is not written again (same sealed bytes, same
 * inode), a changed one is; after vault_cache_clear (another process may have written)
 * and after vault_remove the next write goes to disk. */
static void test_write_cache(void) {
  struct vault v;
  uint8_t *raw1 = NULL, *raw2 = NULL, *d = NULL;
  size_t n1 = 0, n2 = 0, n = 0;
  fresh_dir("cache");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  CHECK_EQ(vault_write(&v, "state", (const uint8_t *)"one", 3), 0);
  CHECK_EQ(v.writes, 1);
  CHECK_EQ(raw_get(dir, "state", &raw1, &n1), 0);
  CHECK_EQ(vault_write(&v, "state", (const uint8_t *)"one", 3), 0);
  CHECK_EQ(v.writes, 1);
  CHECK_EQ(v.skipped, 1);
  CHECK_EQ(raw_get(dir, "state", &raw2, &n2), 0);
  CHECK_EQ(n1, n2);
  CHECK_MEM(raw1, raw2, n1);                    /* same nonce: not resealed */
  free(raw2);
  raw2 = NULL;
  CHECK_EQ(vault_write(&v, "state", (const uint8_t *)"two", 3), 0);
  CHECK_EQ(v.writes, 2);
  CHECK_EQ(vault_read(&v, "state", &d, &n), 0);
  CHECK_EQ(n, 3);
  CHECK_MEM(d, "two", 3);
  free(d);
  vault_cache_clear(&v);
  CHECK_EQ(vault_write(&v, "state", (const uint8_t *)"two", 3), 0);
  CHECK_EQ(v.writes, 3);
  /* The rewrite after the clear is remembered again; a removed file is written again. */
  CHECK_EQ(vault_write(&v, "state", (const uint8_t *)"two", 3), 0);
  CHECK_EQ(v.writes, 3);
  CHECK_EQ(vault_remove(&v, "state"), 0);
  CHECK_EQ(vault_write(&v, "state", (const uint8_t *)"two", 3), 0);
  CHECK_EQ(v.writes, 4);
  CHECK_EQ(raw_get(dir, "state", &raw2, &n2), 0);
  CHECK(n2 > 0);
  free(raw1);
  free(raw2);
  vault_close(&v);
}

/* The save counter (client/core/counter.c): 0 without a file, +1 per bump, the record's
 * every wrong length or format refused, and an older copy of the file reads lower. */
static void test_save_counter(void) {
  struct vault v;
  uint64_t n = 99, m = 0;
  uint8_t rec[COUNTER_REC_LEN], *old = NULL;
  size_t old_len = 0;
  fresh_dir("counter");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  CHECK_EQ(counter_load(&v, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(counter_bump(&v, &n), 0);
  CHECK_EQ(counter_bump(&v, &n), 0);
  CHECK_EQ(n, 2);
  CHECK_EQ(counter_load(&v, &m), 0);
  CHECK_EQ(m, 2);
  CHECK_EQ(raw_get(dir, COUNTER_FILE, &old, &old_len), 0);
  for (int i = 0; i < 5; i++) CHECK_EQ(counter_bump(&v, &n), 0);
  CHECK_EQ(counter_load(&v, &m), 0);
  CHECK_EQ(m, 7);
  raw_put(dir, COUNTER_FILE, old, old_len); /* the older copy put back */
  free(old);
  vault_cache_clear(&v);
  CHECK_EQ(counter_load(&v, &m), 0);
  CHECK_EQ(m, 2);
  counter_encode(rec, 0x0102030405060708ull);
  CHECK_EQ(counter_parse(rec, sizeof rec, &m), 0);
  CHECK_EQ(m, 0x0102030405060708ull);
  for (size_t i = 0; i < sizeof rec; i++) CHECK_EQ(counter_parse(rec, i, &m), MOMEDO_E_CORRUPT);
  rec[0] = 2;
  CHECK_EQ(counter_parse(rec, sizeof rec, &m), MOMEDO_E_CORRUPT);
  n = UINT64_MAX;
  CHECK_EQ(counter_bump(&v, &n), MOMEDO_E_BOUNDS);
  CHECK(n == UINT64_MAX);
  vault_close(&v);
}


/* An older momedo's sealed file, made with the primitives: header, nonce, ciphertext. */
static void legacy_write(const uint8_t key[32], const char *name, const char *text) {
  uint8_t f[256], ad[80];
  size_t n = strlen(text), nl = strlen(name);
  memcpy(f, "MOMEDO-VFILE", 12);
  f[12] = 1;
  memset(f + 13, 0x5a, 24);
  memcpy(ad, f, 13);
  memcpy(ad + 13, name, nl);
  CHECK_EQ(crypto_aead_seal(f + 37, (const uint8_t *)text, n, ad, 13 + nl, f + 13, key), 0);
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  CHECK_EQ(vault_atomic_write(p, f, 37 + n + 16, 0600), 0);
}

static int file_exists(const char *name) {
  char p[1200];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0;
}

static int read_text(struct vault *v, const char *name, const char *want) {
  uint8_t *d = NULL;
  size_t n = 0;
  int rc = vault_read(v, name, &d, &n);
  int ok = rc == 0 && n == strlen(want) && memcmp(d, want, n) == 0;
  free(d);
  return rc ? rc : ok ? 0 : -1;
}

/* A home an older momedo wrote (one sealed file per record) is moved into vault.db at
 * the first unlock: every record readable, the files gone, other files left alone; a
 * wrong passphrase moves nothing; a record already in the table wins over a file that
 * came back (a crash between the commit and the removal). */
static void test_migrate_files(void) {
  struct vault v;
  uint8_t key[32];
  fresh_dir("migrate");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  memcpy(key, v.data_key, 32);
  vault_close(&v);
  legacy_write(key, "account", "the account record");
  legacy_write(key, "sessions", "ratchets");
  legacy_write(key, "att-0123456789abcdef", "a photo");
  legacy_write(key, "sessions.tmp77", "a temp file of a crashed save");
  char p[1200];
  snprintf(p, sizeof p, "%s/history.db", dir);
  uint8_t sqlite_head[40] = "SQLite format 3"; /* not a sealed file: left alone */
  CHECK_EQ(vault_atomic_write(p, sqlite_head, sizeof sqlite_head, 0600), 0);
  CHECK_EQ(vault_open(&v, dir, "wrong", 5), MOMEDO_E_AUTH);
  CHECK(file_exists("account") && file_exists("sessions"));
  CHECK_EQ(vault_open(&v, dir, PASS, strlen(PASS)), 0);
  CHECK_EQ(v.migrated, 3);
  CHECK_EQ(read_text(&v, "account", "the account record"), 0);
  CHECK_EQ(read_text(&v, "sessions", "ratchets"), 0);
  CHECK_EQ(read_text(&v, "att-0123456789abcdef", "a photo"), 0);
  CHECK(!file_exists("account") && !file_exists("sessions") &&
        !file_exists("att-0123456789abcdef"));
  CHECK(file_exists("history.db") && file_exists("sessions.tmp77") && file_exists("vault.key"));
  CHECK_EQ(vault_read(&v, "sessions.tmp77", &(uint8_t *){NULL}, &(size_t){0}), MOMEDO_E_NOTFOUND);
  CHECK_EQ(vault_write(&v, "sessions", (const uint8_t *)"newer ratchets", 14), 0);
  vault_close(&v);
  legacy_write(key, "sessions", "ratchets"); /* the old file back after a crash */
  CHECK_EQ(vault_open(&v, dir, PASS, strlen(PASS)), 0);
  CHECK_EQ(v.migrated, 1);
  CHECK_EQ(read_text(&v, "sessions", "newer ratchets"), 0);
  CHECK(!file_exists("sessions"));
  vault_close(&v);
  CHECK_EQ(vault_open(&v, dir, PASS, strlen(PASS)), 0);
  CHECK_EQ(v.migrated, 0);
  vault_close(&v);
}

/* Writes inside vault_begin .. vault_commit land together: a rollback or a process that
 * dies inside the transaction leaves every record as it was; a commit keeps all. */
static void test_transactions(void) {
  struct vault v;
  fresh_dir("tx");
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  CHECK_EQ(vault_write(&v, "a", (const uint8_t *)"a1", 2), 0);
  CHECK_EQ(vault_begin(&v), 0);
  CHECK_EQ(vault_begin(&v), MOMEDO_E_INTERNAL);
  CHECK_EQ(vault_write(&v, "a", (const uint8_t *)"a2", 2), 0);
  CHECK_EQ(vault_write(&v, "b", (const uint8_t *)"b2", 2), 0);
  CHECK_EQ(read_text(&v, "a", "a2"), 0); /* the transaction sees its own writes */
  vault_rollback(&v);
  CHECK_EQ(read_text(&v, "a", "a1"), 0);
  CHECK_EQ(read_text(&v, "b", "b2"), MOMEDO_E_NOTFOUND);
  /* After the rollback the cache must not claim "a" holds a2. */
  CHECK_EQ(vault_write(&v, "a", (const uint8_t *)"a2", 2), 0);
  CHECK_EQ(read_text(&v, "a", "a2"), 0);
  CHECK_EQ(vault_commit(&v), MOMEDO_E_INTERNAL);
  /* A child dies (SIGKILL) in the middle of a transaction. */
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    struct vault w;
    if (vault_open(&w, dir, PASS, strlen(PASS)) != 0 || vault_begin(&w) != 0) _exit(2);
    if (vault_write(&w, "a", (const uint8_t *)"a3", 2) != 0) _exit(3);
    if (vault_write(&w, "c", (const uint8_t *)"c3", 2) != 0) _exit(4);
    raise(SIGKILL);
    _exit(5);
  }
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  vault_cache_clear(&v);
  CHECK_EQ(read_text(&v, "a", "a2"), 0);
  CHECK_EQ(read_text(&v, "c", "c3"), MOMEDO_E_NOTFOUND);
  CHECK_EQ(vault_begin(&v), 0); /* the dead child's lock is gone */
  CHECK_EQ(vault_write(&v, "a", (const uint8_t *)"a4", 2), 0);
  CHECK_EQ(vault_write(&v, "c", (const uint8_t *)"c4", 2), 0);
  CHECK_EQ(vault_commit(&v), 0);
  vault_close(&v);
  CHECK_EQ(vault_open(&v, dir, PASS, strlen(PASS)), 0);
  CHECK_EQ(read_text(&v, "a", "a4"), 0);
  CHECK_EQ(read_text(&v, "c", "c4"), 0);
  /* vault.db left by a vault whose key is gone: a new vault starts empty. */
  vault_close(&v);
  char p[1200];
  snprintf(p, sizeof p, "%s/vault.key", dir);
  CHECK_EQ(unlink(p), 0);
  CHECK_EQ(vault_create(&v, dir, PASS, strlen(PASS), LOG2N_FAST), 0);
  CHECK_EQ(read_text(&v, "a", "a4"), MOMEDO_E_NOTFOUND);
  vault_close(&v);
}

int main(void) {
  RUN(test_roundtrip_and_format);
  RUN(test_migrate_files);
  RUN(test_transactions);
  RUN(test_wrong_passphrase_changes_nothing);
  RUN(test_tamper_and_swap);
  RUN(test_rekey_and_names);
  RUN(test_pass_ok);
  RUN(test_passphrase_sources);
  RUN(test_serialiser);
  RUN(test_home);
  RUN(test_write_cache);
  RUN(test_save_counter);
  TEST_MAIN_END();
}
