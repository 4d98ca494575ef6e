/* protocol/cursor.c — bounds-checked byte cursor; see cursor.h. */
#include "cursor.h"

#include <string.h>

int cursor_get_bytes(struct cursor *c, void *out, size_t n) {
  if (n > cursor_left(c)) return MOMEDO_E_TRUNCATED;
  if (n) memcpy(out, c->buf + c->pos, n);
  c->pos += n;
  return 0;
}

int cursor_take(struct cursor *c, const uint8_t **p, size_t n) {
  if (n > cursor_left(c)) return MOMEDO_E_TRUNCATED;
  *p = c->buf + c->pos;
  c->pos += n;
  return 0;
}

int cursor_get_u8(struct cursor *c, uint8_t *v) { return cursor_get_bytes(c, v, 1); }

int cursor_get_be16(struct cursor *c, uint16_t *v) {
  uint8_t b[2];
  int rc = cursor_get_bytes(c, b, 2);
  if (rc == 0) *v = (uint16_t)(b[0] << 8 | b[1]);
  return rc;
}

int cursor_get_be32(struct cursor *c, uint32_t *v) {
  uint8_t b[4];
  int rc = cursor_get_bytes(c, b, 4);
  if (rc == 0) *v = be32_get(b);
  return rc;
}

int cursor_get_be64(struct cursor *c, uint64_t *v) {
  uint8_t b[8];
  int rc = cursor_get_bytes(c, b, 8);
  if (rc == 0) *v = be64_get(b);
  return rc;
}

int cursor_put_bytes(struct cursor *c, const void *in, size_t n) {
  if (n > cursor_left(c)) return MOMEDO_E_NOSPACE;
  if (n) memcpy(c->buf + c->pos, in, n);
  c->pos += n;
  return 0;
}

int cursor_put_u8(struct cursor *c, uint8_t v) { return cursor_put_bytes(c, &v, 1); }

int cursor_put_be16(struct cursor *c, uint16_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  return cursor_put_bytes(c, b, 2);
}

int cursor_put_be32(struct cursor *c, uint32_t v) {
  uint8_t b[4];
  be32_put(b, v);
  return cursor_put_bytes(c, b, 4);
}

int cursor_put_be64(struct cursor *c, uint64_t v) {
  uint8_t b[8];
  be64_put(b, v);
  return cursor_put_bytes(c, b, 8);
}
