/* protocol/store.c — the store_batch container shared by every store
 * implementation, and the single-key conveniences. Owns batch memory and the
 * batch limits; knows nothing about how a store applies a batch. */
#include "store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* One operation: key then value bytes live at data[off ...]. Offsets, not
 * pointers, because data moves when it grows. */
struct batch_op {
  size_t off;
  size_t kn;
  size_t vn;
  int is_delete;
};

struct store_batch {
  struct batch_op *ops;
  size_t n_ops;
  size_t cap_ops;
  uint8_t *data;
  size_t data_len;
  size_t data_cap;
  size_t bytes; /* accounted against STORE_BATCH_BYTES_MAX */
  int status;   /* sticky error of a failed put/delete, 0 otherwise */
};

struct store_batch *store_batch_new(void) {
  return calloc(1, sizeof(struct store_batch));
}

void store_batch_free(struct store_batch *b) {
  if (!b) return;
  free(b->ops);
  free(b->data);
  free(b);
}

/* Grow a buffer to at least need elements of size elem, doubling. */
static int grow(void **p, size_t *cap, size_t need, size_t elem, size_t first) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : first;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return MOMEDO_E_NOMEM;
  *p = q;
  *cap = n;
  return 0;
}

static int batch_add(struct store_batch *b, int is_delete, const void *k, size_t kn,
                     const void *v, size_t vn) {
  int rc;
  assert(b != NULL);
  assert(k != NULL || kn == 0);
  assert(v != NULL || vn == 0);
  if (kn > STORE_KEY_BYTES_MAX || vn > STORE_VALUE_BYTES_MAX) {
    rc = MOMEDO_E_TOOBIG;
    goto out;
  }
  /* kn + vn <= 1 KiB + 8 MiB, so no overflow below. */
  size_t cost = kn + vn + STORE_BATCH_OP_BYTES;
  if (cost > STORE_BATCH_BYTES_MAX - b->bytes) {
    rc = MOMEDO_E_TOOBIG;
    goto out;
  }
  rc = grow((void **)&b->ops, &b->cap_ops, b->n_ops + 1, sizeof *b->ops, 4);
  if (rc) goto out;
  rc = grow((void **)&b->data, &b->data_cap, b->data_len + kn + vn, 1, 256);
  if (rc) goto out;
  struct batch_op *op = &b->ops[b->n_ops++];
  op->off = b->data_len;
  op->kn = kn;
  op->vn = vn;
  op->is_delete = is_delete;
  if (kn) memcpy(b->data + b->data_len, k, kn);
  if (vn) memcpy(b->data + b->data_len + kn, v, vn);
  b->data_len += kn + vn;
  b->bytes += cost;
out:
  if (rc && !b->status) b->status = rc;
  return rc;
}

int store_batch_put(struct store_batch *b, const void *k, size_t kn, const void *v,
                    size_t vn) {
  return batch_add(b, 0, k, kn, v, vn);
}

int store_batch_del(struct store_batch *b, const void *k, size_t kn) {
  return batch_add(b, 1, k, kn, NULL, 0);
}

size_t store_batch_count(const struct store_batch *b) {
  return b->n_ops;
}

void store_batch_clear(struct store_batch *b) {
  b->n_ops = 0;
  b->data_len = 0;
  b->bytes = 0;
  b->status = 0;
}

int store_batch_status(const struct store_batch *b) {
  return b->status;
}

void store_batch_op(const struct store_batch *b, size_t i, struct store_op *op) {
  assert(i < b->n_ops);
  const struct batch_op *o = &b->ops[i];
  /* data may be NULL when every key and value so far was empty. */
  const uint8_t *base = b->data ? b->data + o->off : (const uint8_t *)"";
  op->is_delete = o->is_delete;
  op->k = base;
  op->kn = o->kn;
  op->v = o->is_delete ? NULL : base + o->kn;
  op->vn = o->vn;
}

/* Single-key writes go through a batch on the stack: one op slot and, for small
 * entries, a stack data buffer, so the common case allocates nothing. */
#define STORE_WRITE1_STACK_BYTES 512

static int write1(struct store *s, int is_delete, const void *k, size_t kn, const void *v,
                  size_t vn) {
  struct batch_op op1;
  uint8_t buf[STORE_WRITE1_STACK_BYTES];
  struct store_batch b = {.ops = &op1, .cap_ops = 1};
  int small = kn <= sizeof buf && vn <= sizeof buf - kn;
  if (small) {
    b.data = buf;
    b.data_cap = sizeof buf;
  }
  int rc = batch_add(&b, is_delete, k, kn, v, vn); /* never grows ops or a stack buffer */
  if (rc == 0) rc = store_write(s, &b);
  if (!small) free(b.data);
  return rc;
}

int store_put1(struct store *s, const void *k, size_t kn, const void *v, size_t vn) {
  return write1(s, 0, k, kn, v, vn);
}

int store_del1(struct store *s, const void *k, size_t kn) {
  return write1(s, 1, k, kn, NULL, 0);
}
