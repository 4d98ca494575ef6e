/* tests/bench/bench_node_store.c — throughput of the RocksDB store on this
 * machine's disk (durable and not, 1- and 100-key batches, 100 B and 4 KiB
 * values, a 100k-key range scan, random gets), with the memory store alongside
 * for scale. Usage: bench_node_store [dir]; dir defaults to $MOMEDO_TEST_TMP
 * or ".". Scratch databases are removed afterwards. Prints a table. */
#define _XOPEN_SOURCE 700 /* nftw() */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os.h"
#include "store.h"
#include "store_rocks.h"

#define BENCH_SECONDS 1.5                   /* per write row, at most */
#define BENCH_ROW_BYTES_MAX (192u << 20)    /* value bytes written per row, at most */
#define BENCH_SCAN_KEYS 100000
#define BENCH_GETS 100000
#define BENCH_MEM_KEYS 1000000
#define BENCH_KEY_BYTES 16
#define BENCH_VALUE_MAX 4096
#define BENCH_PATH_MAX 512

static char dir_[BENCH_PATH_MAX];
static uint8_t value_[BENCH_VALUE_MAX];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void rm_rf(const char *path) {
  if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
    fprintf(stderr, "could not remove %s\n", path);
}

/* Key i: "benchkey" || be64(i * odd): distinct, inserted in scattered order. */
static void bench_key(uint8_t k[BENCH_KEY_BYTES], uint64_t i) {
  uint64_t x = i * 0x9E3779B97F4A7C15ull;
  memcpy(k, "benchkey", 8);
  for (int b = 0; b < 8; b++) k[8 + b] = (uint8_t)(x >> (56 - 8 * b));
}

static void row(const char *store, const char *durable, size_t vsize, size_t batch,
                size_t batches, size_t keys, double secs) {
  printf("%-6s %-7s %6zu %6zu %11.0f %11.0f %8.1f\n", store, durable, vsize, batch,
         (double)batches / secs, (double)keys / secs, (double)(keys * vsize) / secs / 1e6);
}

/* Write batches of `batch` keys until the time or byte budget runs out. */
static int bench_writes(struct store *s, size_t vsize, size_t batch, size_t keys_max,
                        size_t *batches, size_t *keys, double *secs) {
  struct store_batch *b = store_batch_new();
  uint8_t k[BENCH_KEY_BYTES];
  int rc = b ? 0 : MOMEDO_E_NOMEM;
  double t0 = os_mono_s(), t = t0;
  *batches = *keys = 0;
  while (rc == 0 && *keys + batch <= keys_max && t - t0 < BENCH_SECONDS) {
    store_batch_clear(b);
    for (size_t j = 0; j < batch && rc == 0; j++) {
      bench_key(k, *keys + j);
      rc = store_batch_put(b, k, sizeof k, value_, vsize);
    }
    if (rc == 0) rc = store_write(s, b);
    *batches += 1;
    *keys += batch;
    t = os_mono_s();
  }
  *secs = t - t0;
  store_batch_free(b);
  return rc;
}

static int open_fresh(struct store **s, const char *name, int durable, char *path) {
  struct store_rocks_opts o;
  store_rocks_opts_default(&o);
  o.durable = durable;
  int n = snprintf(path, BENCH_PATH_MAX, "%s/%s", dir_, name);
  if (n < 0 || n >= BENCH_PATH_MAX) return MOMEDO_E_INVAL;
  rm_rf(path);
  return store_rocks_open(s, path, &o);
}

static int bench_rocks_writes(void) {
  static const size_t vsizes[] = {100, 4096}, batches[] = {1, 100};
  int rc = 0;
  for (int durable = 1; durable >= 0 && rc == 0; durable--)
    for (size_t v = 0; v < 2 && rc == 0; v++)
      for (size_t bi = 0; bi < 2 && rc == 0; bi++) {
        char path[BENCH_PATH_MAX];
        struct store *s = NULL;
        size_t nb, nk;
        double secs;
        rc = open_fresh(&s, "writes", durable, path);
        if (rc == 0)
          rc = bench_writes(s, vsizes[v], batches[bi], BENCH_ROW_BYTES_MAX / vsizes[v], &nb,
                            &nk, &secs);
        store_close(s);
        rm_rf(path);
        if (rc == 0) row("rocks", durable ? "yes" : "no", vsizes[v], batches[bi], nb, nk, secs);
      }
  return rc;
}

static int count_fn(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  (void)k, (void)kn, (void)v, (void)vn;
  ++*(size_t *)ctx;
  return 0;
}

/* BENCH_SCAN_KEYS keys of 100 bytes for bench_reads. */
static int bench_fill(struct store *s) {
  size_t nb, nk;
  double secs;
  int rc = bench_writes(s, 100, 100, BENCH_SCAN_KEYS, &nb, &nk, &secs);
  return rc == 0 && nk != BENCH_SCAN_KEYS ? MOMEDO_E_INTERNAL : rc; /* time ran out */
}

/* Full scans and random gets over the keys of bench_fill. */
static int bench_reads(struct store *s, const char *name) {
  size_t n = 0;
  double secs;
  int rc = 0;
  for (int pass = 0; pass < 2 && rc == 0; pass++) {
    double t0 = os_mono_s();
    n = 0;
    rc = store_iter(s, NULL, 0, NULL, 0, count_fn, &n);
    secs = os_mono_s() - t0;
    if (rc == 0 && n != BENCH_SCAN_KEYS) rc = MOMEDO_E_INTERNAL;
    if (rc == 0)
      printf("%-6s scan %zu keys (pass %d): %.1f ms, %.0f keys/s\n", name, n, pass + 1,
             secs * 1e3, (double)n / secs);
  }
  double t0 = os_mono_s();
  for (uint64_t i = 0; i < BENCH_GETS && rc == 0; i++) {
    uint8_t k[BENCH_KEY_BYTES];
    void *v = NULL;
    size_t vn;
    bench_key(k, (i * 7919) % BENCH_SCAN_KEYS);
    rc = store_get(s, k, sizeof k, &v, &vn);
    free(v);
  }
  secs = os_mono_s() - t0;
  if (rc == 0) printf("%-6s %d random gets: %.0f gets/s\n", name, BENCH_GETS, BENCH_GETS / secs);
  return rc;
}

static int bench_rocks_reads(void) {
  char path[BENCH_PATH_MAX];
  struct store *s = NULL;
  int rc = open_fresh(&s, "scan", 0, path);
  if (rc == 0) rc = bench_fill(s);
  /* Reopen so the scan reads SST files and the replayed log, not only the
   * memtable the writes just filled. */
  store_close(s);
  s = NULL;
  if (rc == 0) rc = store_rocks_open(&s, path, NULL);
  if (rc == 0) rc = bench_reads(s, "rocks");
  store_close(s);
  rm_rf(path);
  return rc;
}

static int bench_mem(void) {
  struct store *s = NULL;
  size_t nb, nk;
  double secs;
  int rc = store_mem_open(&s);
  for (int batch = 1; batch <= 100 && rc == 0; batch *= 100) {
    rc = bench_writes(s, 100, (size_t)batch, BENCH_MEM_KEYS, &nb, &nk, &secs);
    if (rc == 0) row("mem", "-", 100, (size_t)batch, nb, nk, secs);
    if (rc == 0 && batch == 1)
      printf("mem    %zu keys of 100 B: %.1f MiB by store_mem_bytes\n", store_mem_count(s),
             (double)store_mem_bytes(s) / (1 << 20));
    store_close(s);
    s = NULL;
    if (rc == 0) rc = store_mem_open(&s);
  }
  if (rc == 0) rc = bench_fill(s);
  if (rc == 0) rc = bench_reads(s, "mem");
  store_close(s);
  return rc;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : getenv("MOMEDO_TEST_TMP");
  if (!base || !*base) base = ".";
  snprintf(dir_, sizeof dir_, "%s/bench_store_%ld", base, (long)getpid());
  if (mkdir(base, 0700) != 0 && errno != EEXIST) return perror(base), 1;
  if (mkdir(dir_, 0700) != 0) return perror(dir_), 1;
  for (size_t i = 0; i < sizeof value_; i++) value_[i] = (uint8_t)(i * 131 + 7);
  printf("store  durable  value  batch   batches/s      keys/s     MB/s\n");
  int rc = bench_rocks_writes();
  if (rc == 0) rc = bench_rocks_reads();
  if (rc == 0) rc = bench_mem();
  rm_rf(dir_);
  if (rc) fprintf(stderr, "bench failed: %s\n", momedo_strerror(rc));
  return rc ? 1 : 0;
}
