/* node/store_rocks.c — protocol/store.h over RocksDB's C API: one database, the
 * default column family, the default bytewise comparator (= the store's byte
 * order). Owns every RocksDB handle it creates. Keeps a reserve of free disk space
 * (a write that would eat into it is refused with E_DISKFULL before RocksDB sees it)
 * and reopens the database by itself after a failed write once space is back. Must
 * not interpret keys or values, nor print them: RocksDB's own error text only. */
#include "store_rocks.h"

#include <assert.h>
#include <errno.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "os.h"

/* RocksDB's InfoLogLevel::WARN_LEVEL: the LOG file in the database directory
 * gets warnings and errors only. */
#define STORE_ROCKS_INFO_LOG_LEVEL 2
#define STORE_ROCKS_BLOOM_BITS_PER_KEY 10
#define STORE_ROCKS_MEMTABLES_MAX 2
#define STORE_ROCKS_BACKGROUND_JOBS 2
/* WALRecoveryMode::kTolerateCorruptedTailRecords: a record cut short at the end of
 * the write-ahead log (a write in flight at a crash, never acknowledged) is dropped;
 * a complete record that fails its checksum stops the open with Corruption. RocksDB's
 * default (kPointInTimeRecovery) would instead drop that record and everything after
 * it without a word: acknowledged writes lost silently. */
#define STORE_ROCKS_WAL_RECOVERY_TOLERATE_TAIL 0
#define STORE_ROCKS_WAL_NAMES_MAX 8 /* write-ahead logs named in a corruption message */
/* Free space a reopen needs beyond the memtables it flushes: manifest and a new log. */
#define STORE_ROCKS_REOPEN_MARGIN_BYTES (4u * 1024 * 1024)

struct store_rocks {
  struct store base;
  rocksdb_t *db;                /* NULL only while a reopen failed */
  char *path;
  struct store_rocks_opts opts;
  int stalled;                  /* a write failed: reopen before the next one */
  rocksdb_options_t *options;
  rocksdb_cache_t *cache;
  rocksdb_readoptions_t *ropts; /* for get: no bounds */
  rocksdb_writeoptions_t *wopts;
  rocksdb_writeoptions_t *wopts_nosync; /* writes while defer_sync is set */
  int defer_sync;               /* store_rocks_defer_sync: the caller syncs the group */
  int unsynced;                 /* a deferred write since the last sync */
  struct store_rocks_stats st; /* writes only; sizes are read when asked */
};

const double store_rocks_lat_bounds_s[STORE_ROCKS_LAT_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2};

static void count_write(struct store_rocks *r, uint64_t us) {
  r->st.writes++;
  r->st.write_us_sum += us;
  for (size_t b = 0; b < STORE_ROCKS_LAT_BUCKETS; b++)
    if ((double)us <= store_rocks_lat_bounds_s[b] * 1e6) {
      r->st.write_buckets[b]++;
      return;
    }
}

/* Log RocksDB's message, free it, and map the failure: E_DISKFULL when the file
 * system is full, E_CORRUPT when RocksDB found corrupt data, else E_STORE. */
static int rocks_fail(const char *what, char *err) {
  int rc = MOMEDO_E_STORE;
  fprintf(stderr, "store_rocks: %s: %s\n", what, err ? err : "unknown error");
  if (err && (strstr(err, "No space left on device") || strstr(err, "NoSpace")))
    rc = MOMEDO_E_DISKFULL;
  else if (err && strstr(err, "Corruption"))
    rc = MOMEDO_E_CORRUPT;
  rocksdb_free(err);
  return rc;
}

int store_rocks_free_bytes(const char *path, uint64_t *out) {
  struct statvfs v;
  if (statvfs(path, &v) != 0) return MOMEDO_E_IO;
  *out = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
  return 0;
}

/* E_DISKFULL when writing bytes would leave less than the reserve free. A file
 * system whose size cannot be read is not refused here (RocksDB will say). */
static int space_check(struct store_rocks *r, size_t bytes) {
  uint64_t free_bytes = 0;
  if (store_rocks_free_bytes(r->path, &free_bytes) != 0) return 0;
  return free_bytes >= (uint64_t)bytes + r->opts.disk_reserve_bytes ? 0 : MOMEDO_E_DISKFULL;
}

/* RocksDB wants a non-NULL pointer even for an empty slice. */
static const char *ptr_or_empty(const void *p) {
  return p ? (const char *)p : "";
}

static int rocks_reopen(struct store_rocks *r);

/* Free space an open needs: both memtables flushed, plus the manifest and a new log. */
static size_t reopen_bytes(const struct store_rocks *r) {
  return STORE_ROCKS_MEMTABLES_MAX * r->opts.write_buffer_bytes + STORE_ROCKS_REOPEN_MARGIN_BYTES;
}

static int rocks_get(struct store *s, const void *k, size_t kn, void **v, size_t *vn) {
  struct store_rocks *r = (struct store_rocks *)s;
  char *err = NULL;
  if (kn > STORE_KEY_BYTES_MAX) return MOMEDO_E_TOOBIG;
  if (!r->db && rocks_reopen(r) != 0) return MOMEDO_E_STORE;
  rocksdb_pinnableslice_t *ps = rocksdb_get_pinned(r->db, r->ropts, ptr_or_empty(k), kn, &err);
  if (err) return rocks_fail("get", err);
  if (!ps) return MOMEDO_E_NOTFOUND;
  size_t n = 0;
  const char *val = rocksdb_pinnableslice_value(ps, &n);
  /* Our own malloc, so the caller's free() is right whatever RocksDB uses. */
  void *p = malloc(n ? n : 1);
  if (p && n) memcpy(p, val, n);
  rocksdb_pinnableslice_destroy(ps);
  if (!p) return MOMEDO_E_NOMEM;
  *v = p;
  *vn = n;
  return 0;
}

static int rocks_write(struct store *s, const struct store_batch *b) {
  struct store_rocks *r = (struct store_rocks *)s;
  char *err = NULL;
  int rc = store_batch_status(b);
  size_t n = store_batch_count(b), bytes = 0;
  if (rc || n == 0) return rc;
  struct store_op op;
  for (size_t i = 0; i < n; i++) {
    store_batch_op(b, i, &op);
    bytes += op.kn + op.vn + STORE_BATCH_OP_BYTES;
  }
  if ((rc = space_check(r, bytes)) != 0) return rc;
  /* RocksDB refuses every write after a failed one (its background error) until the
   * database is opened again. Opening flushes the memtables, so reopen only when there
   * is room for that: until then the old handle keeps serving reads. */
  if (r->stalled || !r->db) {
    if ((rc = space_check(r, reopen_bytes(r))) != 0) return rc;
    if ((rc = rocks_reopen(r)) != 0) return rc;
  }
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  for (size_t i = 0; i < n; i++) {
    store_batch_op(b, i, &op);
    if (op.is_delete)
      rocksdb_writebatch_delete(wb, (const char *)op.k, op.kn);
    else
      rocksdb_writebatch_put(wb, (const char *)op.k, op.kn, (const char *)op.v, op.vn);
  }
  uint64_t t0 = os_mono_ns() / 1000u;
  rocksdb_write(r->db, r->defer_sync ? r->wopts_nosync : r->wopts, wb, &err);
  count_write(r, os_mono_ns() / 1000u - t0);
  if (r->defer_sync) r->unsynced = 1;
  rocksdb_writebatch_destroy(wb);
  if (!err) return 0;
  r->stalled = 1;
  return rocks_fail("write", err);
}

static int rocks_iter(struct store *s, const void *lo, size_t lon, const void *hi, size_t hin,
                      store_iter_fn fn, void *ctx) {
  struct store_rocks *r = (struct store_rocks *)s;
  char *err = NULL;
  int rc = 0;
  if (!r->db && rocks_reopen(r) != 0) return MOMEDO_E_STORE;
  if (hi) {
    /* Settles empty ranges here, including hi == "" which RocksDB could read
     * as "no bound". */
    size_t m = lon < hin ? lon : hin;
    int c = m ? memcmp(lo, hi, m) : 0;
    if (c > 0 || (c == 0 && lon >= hin)) return 0;
  }
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  /* The bound must outlive the iterator; hi is the caller's and does. */
  if (hi) rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, hin);
  rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, ro);
  for (rocksdb_iter_seek(it, ptr_or_empty(lo), lon); rocksdb_iter_valid(it);
       rocksdb_iter_next(it)) {
    size_t kn = 0, vn = 0;
    const char *k = rocksdb_iter_key(it, &kn);
    const char *v = rocksdb_iter_value(it, &vn);
    rc = fn(ctx, (const uint8_t *)k, kn, (const uint8_t *)v, vn);
    if (rc) break;
  }
  if (rc == 0) {
    rocksdb_iter_get_error(it, &err);
    if (err) rc = rocks_fail("iterate", err);
  }
  rocksdb_iter_destroy(it);
  rocksdb_readoptions_destroy(ro);
  return rc;
}

static void rocks_close(struct store *s) {
  struct store_rocks *r = (struct store_rocks *)s;
  if (r->db) rocksdb_close(r->db);
  if (r->wopts) rocksdb_writeoptions_destroy(r->wopts);
  if (r->wopts_nosync) rocksdb_writeoptions_destroy(r->wopts_nosync);
  if (r->ropts) rocksdb_readoptions_destroy(r->ropts);
  if (r->options) rocksdb_options_destroy(r->options);
  if (r->cache) rocksdb_cache_destroy(r->cache);
  free(r->path);
  free(r);
}

static const struct store_vtbl rocks_vtbl = {
    .get = rocks_get, .write = rocks_write, .iter = rocks_iter, .close = rocks_close};

void store_rocks_opts_default(struct store_rocks_opts *o) {
  o->durable = 1;
  o->create_if_missing = 1;
  o->block_cache_bytes = STORE_ROCKS_BLOCK_CACHE_BYTES_DEFAULT;
  o->write_buffer_bytes = STORE_ROCKS_WRITE_BUFFER_BYTES_DEFAULT;
  o->disk_reserve_bytes = STORE_ROCKS_DISK_RESERVE_BYTES_DEFAULT;
  o->verify_on_open = 1;
}

/* RocksDB names the table file in a corrupt block's message, not the log in a corrupt
 * write-ahead log record's: name the logs then. */
static void name_wal_files(const char *path) {
  DIR *d = opendir(path);
  struct dirent *e;
  int n = 0;
  if (!d) return;
  while ((e = readdir(d)) != NULL && n < STORE_ROCKS_WAL_NAMES_MAX) {
    size_t len = strlen(e->d_name);
    if (len > 4 && strcmp(e->d_name + len - 4, ".log") == 0)
      fprintf(stderr, "store_rocks: write-ahead log %s/%s\n", path, e->d_name), n++;
  }
  closedir(d);
}

/* Read every key and value with checksums verified (not cached): a corrupt table
 * file is found now, at start, rather than when a client asks for what it holds. */
static int verify_all(struct store_rocks *r) {
  char *err = NULL;
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  if (!ro) return MOMEDO_E_NOMEM;
  rocksdb_readoptions_set_verify_checksums(ro, 1);
  rocksdb_readoptions_set_fill_cache(ro, 0);
  rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, ro);
  for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
  }
  rocksdb_iter_get_error(it, &err);
  rocksdb_iter_destroy(it);
  rocksdb_readoptions_destroy(ro);
  return err ? rocks_fail("verify", err) : 0;
}

/* Close and open the database again: clears RocksDB's background error after a
 * failed write (everything acknowledged before it is in the write-ahead log and comes
 * back; the failed batch was never acknowledged). On failure db stays NULL and the
 * next call tries again. */
static int rocks_reopen(struct store_rocks *r) {
  char *err = NULL;
  if (r->db) rocksdb_close(r->db);
  r->db = rocksdb_open(r->options, r->path, &err);
  if (err) {
    r->db = NULL;
    return rocks_fail("reopen", err);
  }
  fprintf(stderr, "store_rocks: reopened %s after a failed write\n", r->path);
  r->stalled = 0;
  return 0;
}

/* Options for a small machine: bounded memtables, block cache, open files and
 * info-log files; Bloom filters so a get of a missing key rarely reads disk. */
static void rocks_configure(struct store_rocks *r, const struct store_rocks_opts *o) {
  rocksdb_options_t *opt = r->options;
  rocksdb_options_set_create_if_missing(opt, (unsigned char)(o->create_if_missing != 0));
  rocksdb_options_set_paranoid_checks(opt, 1);
  rocksdb_options_set_wal_recovery_mode(opt, STORE_ROCKS_WAL_RECOVERY_TOLERATE_TAIL);
  rocksdb_options_set_write_buffer_size(opt, o->write_buffer_bytes);
  rocksdb_options_set_max_write_buffer_number(opt, STORE_ROCKS_MEMTABLES_MAX);
  rocksdb_options_set_max_open_files(opt, STORE_ROCKS_OPEN_FILES_MAX);
  rocksdb_options_set_max_background_jobs(opt, STORE_ROCKS_BACKGROUND_JOBS);
  rocksdb_options_set_info_log_level(opt, STORE_ROCKS_INFO_LOG_LEVEL);
  rocksdb_options_set_max_log_file_size(opt, STORE_ROCKS_INFO_LOG_BYTES_MAX);
  rocksdb_options_set_keep_log_file_num(opt, STORE_ROCKS_INFO_LOGS_KEPT);

  rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
  rocksdb_block_based_options_set_block_cache(t, r->cache);
  /* set_filter_policy takes ownership of the policy. */
  rocksdb_block_based_options_set_filter_policy(
      t, rocksdb_filterpolicy_create_bloom_full(STORE_ROCKS_BLOOM_BITS_PER_KEY));
  rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
  rocksdb_options_set_block_based_table_factory(opt, t); /* copies t */
  rocksdb_block_based_options_destroy(t);

  rocksdb_writeoptions_set_sync(r->wopts, (unsigned char)(o->durable != 0));
}

int store_rocks_open(struct store **out, const char *path, const struct store_rocks_opts *opts) {
  struct store_rocks_opts def;
  char *err = NULL;
  int rc = 0;
  if (!path || !*path) return MOMEDO_E_INVAL;
  if (!opts) {
    store_rocks_opts_default(&def);
    opts = &def;
  }
  if (opts->block_cache_bytes == 0 || opts->write_buffer_bytes == 0) return MOMEDO_E_INVAL;
  struct store_rocks *r = calloc(1, sizeof *r);
  if (!r) return MOMEDO_E_NOMEM;
  r->base.vt = &rocks_vtbl;
  r->opts = *opts;
  r->path = strdup(path);
  r->options = rocksdb_options_create();
  r->cache = rocksdb_cache_create_lru(opts->block_cache_bytes);
  r->ropts = rocksdb_readoptions_create();
  r->wopts = rocksdb_writeoptions_create();
  r->wopts_nosync = rocksdb_writeoptions_create(); /* sync off: RocksDB's default */
  if (!r->path || !r->options || !r->cache || !r->ropts || !r->wopts || !r->wopts_nosync) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  rocks_configure(r, opts);
  r->db = rocksdb_open(r->options, path, &err);
  if (err) {
    int wal = strstr(err, "Corruption") && !strstr(err, ".sst");
    r->db = NULL;
    rc = rocks_fail("open", err);
    if (wal) name_wal_files(path);
    goto out;
  }
  if (opts->verify_on_open && (rc = verify_all(r)) != 0) goto out;
  *out = &r->base;
out:
  if (rc) rocks_close(&r->base);
  return rc;
}

void store_rocks_stats(struct store *s, struct store_rocks_stats *out) {
  memset(out, 0, sizeof *out);
  if (!s || s->vt != &rocks_vtbl) return;
  struct store_rocks *r = (struct store_rocks *)s;
  *out = r->st;
  if (rocksdb_property_int(r->db, "rocksdb.total-sst-files-size", &out->sst_bytes) != 0)
    out->sst_bytes = 0;
  if (rocksdb_property_int(r->db, "rocksdb.cur-size-all-mem-tables", &out->memtable_bytes) != 0)
    out->memtable_bytes = 0;
}

int store_rocks_checkpoint(struct store *s, const char *dir, char *why, size_t why_cap) {
  struct stat st;
  char *e = NULL;
  if (!s || s->vt != &rocks_vtbl) return MOMEDO_E_INVAL;
  if (stat(dir, &st) == 0) return MOMEDO_E_EXISTS;
  struct store_rocks *r = (struct store_rocks *)s;
  rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(r->db, &e);
  /* log_size_for_flush 0: flush the memtable, so the copy is table files only. */
  if (!e) rocksdb_checkpoint_create(cp, dir, 0, &e);
  if (cp) rocksdb_checkpoint_object_destroy(cp);
  if (!e) return 0;
  snprintf(why, why_cap, "checkpoint: %s", e);
  rocksdb_free(e);
  return MOMEDO_E_STORE;
}

void store_rocks_defer_sync(struct store *s, int on) {
  if (!s || s->vt != &rocks_vtbl) return;
  ((struct store_rocks *)s)->defer_sync = on != 0;
}

int store_rocks_sync(struct store *s) {
  char *err = NULL;
  if (!s || s->vt != &rocks_vtbl) return MOMEDO_E_INVAL;
  struct store_rocks *r = (struct store_rocks *)s;
  if (!r->opts.durable) return 0;
  if (!r->db || r->stalled) return MOMEDO_E_STORE; /* the write before failed: said there */
  if (!r->unsynced) return 0; /* every write since the last sync was synced itself */
  uint64_t t0 = os_mono_ns() / 1000u;
  rocksdb_flush_wal(r->db, 1, &err); /* FlushWAL(sync): fdatasync every live log */
  uint64_t us = os_mono_ns() / 1000u - t0;
  r->st.syncs++;
  r->st.sync_us_sum += us;
  if (!err) {
    r->unsynced = 0;
    return 0;
  }
  r->stalled = 1; /* reopen before the next write: replays what reached the log */
  return rocks_fail("sync", err);
}
