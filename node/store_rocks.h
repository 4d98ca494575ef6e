/* node/store_rocks.h — the RocksDB implementation of protocol/store.h, for
 * momedod. Only node/ may include this (it is where RocksDB is linked); the rest
 * of the code sees a plain struct store. */
#ifndef MOMEDO_STORE_ROCKS_H
#define MOMEDO_STORE_ROCKS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Sized for small machines (a 1-2 GiB VPS running one node). */
#define STORE_ROCKS_BLOCK_CACHE_BYTES_DEFAULT (16u * 1024 * 1024)
#define STORE_ROCKS_WRITE_BUFFER_BYTES_DEFAULT (8u * 1024 * 1024)
#define STORE_ROCKS_OPEN_FILES_MAX 256
#define STORE_ROCKS_INFO_LOG_BYTES_MAX (1u * 1024 * 1024)
#define STORE_ROCKS_INFO_LOGS_KEPT 2
/* Free space a write must leave on the store's file system: room for RocksDB to
 * flush both memtables and write its manifest (a full disk otherwise stops it). */
#define STORE_ROCKS_DISK_RESERVE_BYTES_DEFAULT (32u * 1024 * 1024)

struct store_rocks_opts {
  /* 1 (default): a write that returned 0 was fsync'ed (WriteOptions.sync), so it
   * survives power loss. 0: it is in the write-ahead log in the OS page cache
   * and survives a crash of the process, not of the machine. */
  int durable;
  int create_if_missing;     /* default 1 */
  size_t block_cache_bytes;  /* LRU cache of uncompressed blocks */
  size_t write_buffer_bytes; /* one memtable; at most 2 in memory */
  /* A write that would leave less free space than this on the file system is refused
   * with E_DISKFULL and nothing is written (0: only what the write itself needs). */
  uint64_t disk_reserve_bytes;
  /* 1 (default): open reads the whole database once with checksums verified, so a
   * corrupt file is reported at start (E_CORRUPT) instead of when it is first read. */
  int verify_on_open;
};

/* Latency buckets of durable writes, upper bounds in seconds (Prometheus' le). */
#define STORE_ROCKS_LAT_BUCKETS 12
extern const double store_rocks_lat_bounds_s[STORE_ROCKS_LAT_BUCKETS];

struct store_rocks_stats {
  uint64_t writes;                                  /* store_write calls that wrote */
  uint64_t write_us_sum;                            /* their total time, microseconds */
  uint64_t write_buckets[STORE_ROCKS_LAT_BUCKETS];  /* per bucket (not cumulative); the
                                                       slower ones count in writes only */
  uint64_t syncs;                                   /* log syncs store_rocks_sync did */
  uint64_t sync_us_sum;                             /* their total time, microseconds */
  uint64_t sst_bytes;                               /* table files on disk */
  uint64_t memtable_bytes;                          /* memtables in memory */
};

/* Fill o with the defaults above. */
void store_rocks_opts_default(struct store_rocks_opts *o);

/* Open (or create) the database in directory path. opts NULL means defaults.
 * On success *out is a store to release with store_close(). Errors: E_CORRUPT (a
 * write-ahead log record or a table block fails its checksum; the message names the
 * file), E_DISKFULL, E_STORE (RocksDB's message is written to stderr, prefixed
 * "store_rocks:"; it names files, never keys or values), E_NOMEM, E_INVAL. Another
 * process holding the database open is E_STORE (RocksDB's LOCK file). A read that
 * meets corrupt data returns E_CORRUPT: nothing is served from it. */
MOMEDO_WUR int store_rocks_open(struct store **out, const char *path,
                                const struct store_rocks_opts *opts);

/* Write statistics and sizes of a store opened by store_rocks_open (all zero for any
 * other store). Call from the thread that writes. */
void store_rocks_stats(struct store *s, struct store_rocks_stats *out);

/* A consistent point-in-time copy of the database in the new directory dir (RocksDB's
 * checkpoint: hard links to the table files where dir is on the same file system,
 * copies elsewhere, the memtable flushed first). Safe on another thread while the store
 * is in use. E_EXISTS if dir exists; E_STORE with RocksDB's message in err. */
MOMEDO_WUR int store_rocks_checkpoint(struct store *s, const char *dir, char *why,
                                      size_t why_cap);

/* Writes: E_DISKFULL (nothing written) when the batch would leave less than
 * disk_reserve_bytes free, or when RocksDB ran out of space itself. After any failed
 * write the next write first reopens the database (RocksDB accepts no write after a
 * failed one until then) once there is room for the reopen to flush both memtables,
 * so writing resumes by itself when space is freed. Reads go on during all of it. */

/* Group commit. While on is set, writes of a durable store go to the write-ahead log
 * without a sync of their own (they are read back at once, like any write, but may be
 * lost with the machine until the next sync); store_rocks_sync then makes every write
 * before it durable with one fdatasync of the log (RocksDB's FlushWAL(sync)). Nothing
 * written with defer_sync on may be acknowledged before store_rocks_sync returned 0.
 * A failed sync: E_STORE/E_DISKFULL with RocksDB's message on stderr, and the next
 * write reopens the database (what reached the log comes back). Not durable stores: a
 * no-op sync, as is a sync with no deferred write since the last one (no fdatasync, not
 * counted). Other stores: defer_sync ignored, sync E_INVAL. Loop thread only. */
void store_rocks_defer_sync(struct store *s, int on);
MOMEDO_WUR int store_rocks_sync(struct store *s);

/* Bytes an unprivileged process may still write on the file system holding path
 * (statvfs f_bavail): 0 or E_IO. */
MOMEDO_WUR int store_rocks_free_bytes(const char *path, uint64_t *out);

#endif
