/* protocol/arena.h — a bump allocator with a hard byte cap, handed to protobuf-c as
 * its allocator so that unpacking one frame can never take more than the cap, and
 * freeing is one reset after dispatch. Not thread-safe; one arena per connection. */
#ifndef MOMEDO_ARENA_H
#define MOMEDO_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "status.h"

struct arena_block;

struct arena {
  struct arena_block *head; /* current block, newest first */
  size_t used_bytes;        /* bytes handed out since the last reset */
  size_t bytes_max;         /* hard cap; an allocation beyond it fails */
  size_t block_bytes;       /* default size of a new block */
  int failed;               /* set when an allocation was refused */
  ProtobufCAllocator pb;    /* allocator view for protobuf_c_message_unpack */
};

/* Prepare an empty arena. bytes_max bounds all allocations until the next reset. */
void arena_init(struct arena *a, size_t bytes_max);
/* Free every block. The arena may be re-initialised afterwards. */
void arena_close(struct arena *a);
/* Forget all allocations but keep the first block for reuse. */
void arena_reset(struct arena *a);
/* 16-byte aligned allocation, NULL when the cap is reached or malloc fails. */
void *arena_alloc(struct arena *a, size_t n);

#endif
