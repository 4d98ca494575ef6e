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

/* A batch of puts and deletes, applied all-or-nothing by store_write(). */
struct store_batch;

struct store_batch *store_batch_new(void);
void store_batch_free(struct store_batch *b);
/* Copies key and value. MOMEDO_E_TOOBIG past the key/value maxima. */
MOMEDO_WUR int store_batch_put(struct store_batch *b, const void *k, size_t kn, const void *v,
                               size_t vn);
MOMEDO_WUR int store_batch_del(struct store_batch *b, const void *k, size_t kn);
size_t store_batch_count(const struct store_batch *b);
void store_batch_clear(struct store_batch *b);

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
  /* On success *v is malloc'ed (caller frees) and *vn its length.
   * MOMEDO_E_NOTFOUND if absent. */
  int (*get)(struct store *s, const void *k, size_t kn, void **v, size_t *vn);
  /* Atomic; when the store was opened durable, on disk when it returns 0. */
  int (*write)(struct store *s, const struct store_batch *b);
  /* Keys in [lo, hi); hi == NULL means no upper bound. */
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

/* In-memory store (sorted, no persistence). */
MOMEDO_WUR int store_mem_open(struct store **out);

#endif
