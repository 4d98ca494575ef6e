/* bench_client_rotate — a full data-key rotation (client/core/vault_rotate.c, hist_reseal)
 * of a home with N history rows (default 100,000, in 100 conversations, texts of ~60
 * bytes) and 500 vault records of 1 KiB: the time of vault_rotate (copy, reseal, sync,
 * commit, renames) and of a plain vault_rekey for comparison, and the file sizes. In
 * $MOMEDO_TEST_TMP (or /tmp). Usage: bench_client_rotate [N]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "os.h"
#include "vault.h"

#define PASS "correct horse battery staple"
#define NEW "lampe flur zwei hausmeister"
#define CONVS 100
#define RECORDS 500

static int reseal(const char *path, const uint8_t *o, const uint8_t *n) {
  return hist_reseal(path, o, n);
}

static long size_of(const char *dir, const char *name) {
  char p[700];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static int fill(struct vault *v, const char *hpath, size_t rows) {
  struct hist h;
  struct hist_conv c[CONVS];
  char text[128], name[32];
  uint8_t rec[1024], key[TL_KEY_LEN];
  memset(rec, 0x42, sizeof rec);
  if (vault_begin(v)) return 1;
  for (int i = 0; i < RECORDS; i++) {
    snprintf(name, sizeof name, "r%d", i);
    if (vault_write(v, name, rec, sizeof rec)) return 1;
  }
  if (vault_commit(v)) return 1;
  if (hist_open_keys(&h, hpath, v->data_key, v->name_key, NULL, 0)) return 1;
  for (int k = 0; k < CONVS; k++) {
    memset(key, 0, sizeof key);
    key[0] = (uint8_t)k;
    if (hist_conv(&h, HIST_CONTACT, key, &c[k])) return 1;
  }
  for (size_t i = 0; i < rows; i++) {
    struct tl_entry e;
    if (i % 1000 == 0 && i && hist_commit(&h)) return 1;
    if (i % 1000 == 0 && hist_begin(&h)) return 1;
    memset(&e, 0, sizeof e);
    if (crypto_random(e.id, TL_ID_LEN)) return 1;
    e.kind = TL_TEXT;
    e.outgoing = (uint8_t)(i % 3 == 0);
    e.sent_ms = 1700000000000ull + i * 1000ull;
    e.acc = -1;
    snprintf(text, sizeof text, "message %zu: Lampe in Gebaeude %zu defekt, bitte pruefen", i,
             i % 97);
    e.text = text;
    if (hist_add(&h, &c[i % CONVS], &e, NULL)) return 1;
  }
  if (rows && hist_commit(&h)) return 1;
  hist_close(&h);
  return 0;
}

int main(int argc, char **argv) {
  const char *tmp = getenv("MOMEDO_TEST_TMP");
  char dir[512], hpath[600], cmd[700];
  size_t rows = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
  const struct vault_rotate_db dbs[] = {{HIST_FILE, reseal}};
  struct vault v;
  snprintf(dir, sizeof dir, "%s/bench-rot-%ld", tmp ? tmp : "/tmp", (long)getpid());
  snprintf(hpath, sizeof hpath, "%s/%s", dir, HIST_FILE);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0 || mkdir(dir, 0700) != 0) return 1;
  if (vault_create(&v, dir, PASS, strlen(PASS), 0) || fill(&v, hpath, rows)) {
    fprintf(stderr, "bench_client_rotate: cannot make the home\n");
    return 1;
  }
  printf("home: %zu history rows in %d conversations, %d records of 1 KiB; history.db %ld "
         "bytes, vault.db %ld bytes and its log %ld\n", rows, CONVS, RECORDS,
         size_of(dir, HIST_FILE), size_of(dir, VAULT_DB_FILE),
         size_of(dir, VAULT_DB_FILE "-wal"));
  double t0 = os_mono_s(), c0 = os_cpu_s();
  int rc = vault_rekey(&v, NEW, strlen(NEW), 0);
  double t1 = os_mono_s(), c1 = os_cpu_s();
  rc = rc ? rc : vault_rotate(&v, PASS, strlen(PASS), 0, dbs, 1, NULL);
  double t2 = os_mono_s(), c2 = os_cpu_s();
  if (rc) {
    fprintf(stderr, "bench_client_rotate: %s\n", momedo_strerror(rc));
    return 1;
  }
  printf("vault_rekey (scrypt 2^15 only): %.3f s wall, %.3f s CPU\n", t1 - t0, c1 - c0);
  printf("vault_rotate (scrypt 2^15, copy, reseal, sync, switch): %.3f s wall, %.3f s CPU, "
         "%.1f us per row\n", t2 - t1, c2 - c1, rows ? (t2 - t1) * 1e6 / (double)rows : 0.0);
  vault_close(&v);
  if (system(cmd) != 0) return 1;
  return 0;
}
