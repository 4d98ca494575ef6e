/* protocol/arena.c — bump allocator with a byte cap; see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

struct arena_block {
  struct arena_block *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
};

enum { ARENA_BLOCK_BYTES_DEFAULT = 16 * 1024 };

static void *arena_pb_alloc(void *ctx, size_t n) { return arena_alloc(ctx, n); }
static void arena_pb_free(void *ctx, void *p) { (void)ctx, (void)p; }

void arena_init(struct arena *a, size_t bytes_max) {
  a->head = NULL;
  a->used_bytes = 0;
  a->bytes_max = bytes_max;
  a->block_bytes = ARENA_BLOCK_BYTES_DEFAULT;
  a->failed = 0;
  a->pb.alloc = arena_pb_alloc;
  a->pb.free = arena_pb_free;
  a->pb.allocator_data = a;
}

void arena_close(struct arena *a) {
  struct arena_block *b = a->head;
  while (b) {
    struct arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->used_bytes = 0;
}

void arena_reset(struct arena *a) {
  if (a->head) {
    /* Keep the oldest block (the common small case) and drop the rest. */
    struct arena_block *b = a->head, *keep = NULL;
    while (b) {
      struct arena_block *next = b->next;
      if (next == NULL) keep = b;
      else free(b);
      b = next;
    }
    keep->used = 0;
    keep->next = NULL;
    a->head = keep;
  }
  a->used_bytes = 0;
  a->failed = 0;
}

void *arena_alloc(struct arena *a, size_t n) {
  if (n == 0) n = 1;
  size_t rounded = (n + 15u) & ~(size_t)15u;
  if (rounded < n || rounded > a->bytes_max - a->used_bytes ||
      a->used_bytes > a->bytes_max) {
    a->failed = 1;
    return NULL;
  }
  struct arena_block *b = a->head;
  if (b == NULL || b->size - b->used < rounded) {
    size_t size = rounded > a->block_bytes ? rounded : a->block_bytes;
    b = malloc(sizeof *b + size);
    if (b == NULL) {
      a->failed = 1;
      return NULL;
    }
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
  }
  void *p = b->data + b->used;
  b->used += rounded;
  a->used_bytes += rounded;
  return p;
}
