/* protocol/store.h — the storage interface: ordered byte keys, get/put/delete,
 * ordered range iteration and atomic batches. Two implementations share one
 * contract test: in-memory (store_mem.c, for the simulator and unit tests) and
 * RocksDB (node/store_rocks.c, for momedod). The interface has no clocks, no
 * sockets and no RocksDB types, so replication/ can use it freely. */
#ifndef MOMEDO_STORE_H
#define MOMEDO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define STORE_KEY_BYTES_MAX 1024
#define STORE_VALUE_BYTES_MAX (8u * 1024 * 1024)
/* Bound on one batch: the sum over its operations of key bytes + value bytes +
 * STORE_BATCH_OP_BYTES (bookkeeping). A put or delete past it fails E_TOOBIG. */
#define STORE_BATCH_BYTES_MAX (64u * 1024 * 1024)
#define STORE_BATCH_OP_BYTES 32u

/* A batch of puts and deletes, applied all-or-nothing by store_write(). Later
 * operations on the same key win (put k then delete k leaves k absent). Keys may
 * be empty (kn == 0, k may then be NULL); so may values. */
struct store_batch;

/* NULL when out of memory. */
struct store_batch *store_batch_new(void);
void store_batch_free(struct store_batch *b);
/* Copies key and value. MOMEDO_E_TOOBIG past the key/value/batch maxima,
 * MOMEDO_E_NOMEM. A failed put or delete leaves the batch's operations unchanged
 * but makes the batch "failed": store_write() then refuses it with that same
 * error and applies nothing, so a half-built transaction is never half-applied.
 * store_batch_clear() resets it. */
MOMEDO_WUR int store_batch_put(struct store_batch *b, const void *k, size_t kn, const void *v,
                               size_t vn);
MOMEDO_WUR int store_batch_del(struct store_batch *b, const void *k, size_t kn);
size_t store_batch_count(const struct store_batch *b);
/* Drop every operation and any failure; keeps the memory for reuse. */
void store_batch_clear(struct store_batch *b);
/* 0, or the error of the first failed put/delete since the last clear.
 * Implementations of write() must return it without applying anything. */
int store_batch_status(const struct store_batch *b);

/* One batch operation, for implementations walking a batch. */
struct store_op {
  int is_delete;
  const uint8_t *k;
  size_t kn;
  const uint8_t *v; /* NULL for deletes */
  size_t vn;
};
/* The i-th operation (i < store_batch_count), in insertion order. */
void store_batch_op(const struct store_batch *b, size_t i, struct store_op *op);

/* Called for each key in range, in ascending byte order. Return 0 to go on, any
 * other value to stop; store_iter returns that value. k and v are valid only
 * during the call. */
typedef int (*store_iter_fn)(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v,
                             size_t vn);

struct store;

struct store_vtbl {
  /* On success *v is malloc'ed (caller frees; non-NULL even for an empty value)
   * and *vn its length. MOMEDO_E_NOTFOUND if absent, MOMEDO_E_TOOBIG for a key
   * past STORE_KEY_BYTES_MAX. */
  int (*get)(struct store *s, const void *k, size_t kn, void **v, size_t *vn);
  /* Atomic: all of b or none of it. When the store was opened durable, on disk
   * (fsync'ed) when it returns 0. An empty batch is a no-op; a failed batch
   * (store_batch_status) returns that error and changes nothing. */
  int (*write)(struct store *s, const struct store_batch *b);
  /* Keys in [lo, hi) in byte order (memcmp, shorter prefix first: "a" < "a\0" <
   * "b"); hi == NULL means no upper bound, lo may be NULL when lon == 0. fn may
   * read and write this store; iteration then goes on with the next key after
   * the current one, but whether it sees writes to later keys is unspecified
   * (RocksDB iterates a snapshot, the memory store does not). */
  int (*iter)(struct store *s, const void *lo, size_t lon, const void *hi, size_t hin,
              store_iter_fn fn, void *ctx);
  void (*close)(struct store *s);
};

struct store {
  const struct store_vtbl *vt;
};

static inline MOMEDO_WUR int store_get(struct store *s, const void *k, size_t kn, void **v,
                                       size_t *vn) {
  return s->vt->get(s, k, kn, v, vn);
}
static inline MOMEDO_WUR int store_write(struct store *s, const struct store_batch *b) {
  return s->vt->write(s, b);
}
static inline int store_iter(struct store *s, const void *lo, size_t lon, const void *hi,
                             size_t hin, store_iter_fn fn, void *ctx) {
  return s->vt->iter(s, lo, lon, hi, hin, fn, ctx);
}
/* Single-key conveniences built on a one-entry batch. */
MOMEDO_WUR int store_put1(struct store *s, const void *k, size_t kn, const void *v, size_t vn);
MOMEDO_WUR int store_del1(struct store *s, const void *k, size_t kn);
static inline void store_close(struct store *s) {
  if (s) s->vt->close(s);
}

/* In-memory store (skip list, no persistence, deterministic: no clock, no rand()).
 * Writes are atomic also under malloc failure (MOMEDO_E_NOMEM applies nothing). */
MOMEDO_WUR int store_mem_open(struct store **out);
/* For a store from store_mem_open() only: bytes requested from malloc for its
 * entries and itself (allocator overhead excluded), and the number of keys. */
size_t store_mem_bytes(const struct store *s);
size_t store_mem_count(const struct store *s);

#endif
