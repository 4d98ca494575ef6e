/* protocol/cursor.h — bounds-checked reading and writing over a byte buffer.
 * Every read checks the remaining length first and returns MOMEDO_E_TRUNCATED
 * rather than touching memory past the end; writes return MOMEDO_E_NOSPACE. */
#ifndef MOMEDO_CURSOR_H
#define MOMEDO_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct cursor {
  uint8_t *buf;   /* borrowed */
  size_t len;     /* capacity (writer) or data length (reader) */
  size_t pos;
};

static inline void cursor_init(struct cursor *c, void *buf, size_t len) {
  c->buf = buf;
  c->len = len;
  c->pos = 0;
}
static inline size_t cursor_left(const struct cursor *c) { return c->len - c->pos; }

MOMEDO_WUR int cursor_get_u8(struct cursor *c, uint8_t *v);
MOMEDO_WUR int cursor_get_be16(struct cursor *c, uint16_t *v);
MOMEDO_WUR int cursor_get_be32(struct cursor *c, uint32_t *v);
MOMEDO_WUR int cursor_get_be64(struct cursor *c, uint64_t *v);
MOMEDO_WUR int cursor_get_bytes(struct cursor *c, void *out, size_t n);
/* Borrow n bytes in place (no copy); *p points into the cursor's buffer. */
MOMEDO_WUR int cursor_take(struct cursor *c, const uint8_t **p, size_t n);

MOMEDO_WUR int cursor_put_u8(struct cursor *c, uint8_t v);
MOMEDO_WUR int cursor_put_be16(struct cursor *c, uint16_t v);
MOMEDO_WUR int cursor_put_be32(struct cursor *c, uint32_t v);
MOMEDO_WUR int cursor_put_be64(struct cursor *c, uint64_t v);
MOMEDO_WUR int cursor_put_bytes(struct cursor *c, const void *in, size_t n);

/* Plain big-endian helpers for fixed-size keys. */
static inline void be32_put(uint8_t p[4], uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
  p[3] = (uint8_t)v;
}
static inline uint32_t be32_get(const uint8_t p[4]) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void be64_put(uint8_t p[8], uint64_t v) {
  be32_put(p, (uint32_t)(v >> 32));
  be32_put(p + 4, (uint32_t)v);
}
static inline uint64_t be64_get(const uint8_t p[8]) {
  return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

#endif
