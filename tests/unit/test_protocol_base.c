/* Unit tests for the protocol base: status table, arena caps, bounded cursor. */
#include "harness.h"

#include "arena.h"
#include "cursor.h"
#include "status.h"

static void test_status_table(void) {
  CHECK_STR(momedo_status_name(MOMEDO_E_TOOBIG), "E_TOOBIG");
  CHECK_EQ(momedo_status_kind(MOMEDO_E_TOOBIG), MOMEDO_KIND_PROTO);
  CHECK_EQ(momedo_status_kind(MOMEDO_E_BADSIG), MOMEDO_KIND_CRYPTO);
  CHECK_EQ(momedo_status_kind(MOMEDO_E_NOMEM), MOMEDO_KIND_INTERNAL);
  CHECK_STR(momedo_strerror(0), "ok");
  CHECK_STR(momedo_strerror(-12345), "unknown status");
  CHECK_EQ(momedo_status_kind(-12345), MOMEDO_KIND_INTERNAL);
}

static void test_arena_cap(void) {
  struct arena a;
  arena_init(&a, 1000);
  void *p = arena_alloc(&a, 500);
  CHECK(p != NULL);
  CHECK_EQ((uintptr_t)p % 16, 0);
  memset(p, 0xAB, 500);
  CHECK(arena_alloc(&a, 400) != NULL);
  CHECK(arena_alloc(&a, 200) == NULL); /* 512 + 400 + 208 > 1000 */
  CHECK(a.failed);
  CHECK(arena_alloc(&a, (size_t)-1) == NULL); /* overflow in rounding */
  arena_reset(&a);
  CHECK(!a.failed);
  CHECK(arena_alloc(&a, 900) != NULL);
  /* Through the protobuf-c allocator view. */
  void *q = a.pb.alloc(a.pb.allocator_data, 100); /* 912 + 112 > 1000 */
  CHECK(q == NULL);
  arena_close(&a);
}

static void test_cursor_bounds(void) {
  uint8_t buf[13];
  struct cursor w;
  cursor_init(&w, buf, sizeof buf);
  CHECK_EQ(cursor_put_be32(&w, 0x01020304u), 0);
  CHECK_EQ(cursor_put_be64(&w, 0x1122334455667788ull), 0);
  CHECK_EQ(cursor_put_be16(&w, 1), MOMEDO_E_NOSPACE); /* 1 byte left */
  CHECK_EQ(w.pos, 12);
  CHECK_EQ(cursor_put_u8(&w, 0x99), 0);
  CHECK_EQ(cursor_put_u8(&w, 0x99), MOMEDO_E_NOSPACE);
  CHECK_EQ(buf[0], 1);
  CHECK_EQ(buf[4], 0x11);
  CHECK_EQ(buf[12], 0x99);
}

static void test_cursor_read(void) {
  uint8_t buf[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  struct cursor r;
  cursor_init(&r, buf, sizeof buf);
  uint32_t v32;
  uint64_t v64;
  uint8_t v8;
  CHECK_EQ(cursor_get_be32(&r, &v32), 0);
  CHECK_EQ(v32, 0x01020304u);
  CHECK_EQ(cursor_get_be64(&r, &v64), 0);
  CHECK(v64 == 0x05060708090a0b0cull);
  CHECK_EQ(cursor_get_be16(&r, (uint16_t *)&v32), MOMEDO_E_TRUNCATED);
  CHECK_EQ(cursor_get_u8(&r, &v8), 0);
  CHECK_EQ(v8, 13);
  const uint8_t *p;
  CHECK_EQ(cursor_take(&r, &p, 1), MOMEDO_E_TRUNCATED);
  CHECK_EQ(cursor_left(&r), 0);
}

int main(void) {
  RUN(test_status_table);
  RUN(test_arena_cap);
  RUN(test_cursor_bounds);
  RUN(test_cursor_read);
  TEST_MAIN_END();
}
