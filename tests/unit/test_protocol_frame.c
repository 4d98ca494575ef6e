/* Unit tests for the frame codec: exact wire bytes, incremental decoding over every
 * split, limits checked from the header before allocation, unpacking and Hello checks. */
#include "harness.h"

#include "arena.h"
#include "frame.h"

/* Encode a Ping (or Pong) frame with the given nonce. */
static int enc_ping(uint64_t nonce, int pong, uint8_t **out, size_t *len) {
  Momedo__Ping p = MOMEDO__PING__INIT;
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  p.nonce = nonce;
  f.body_case = pong ? MOMEDO__FRAME__BODY_PONG : MOMEDO__FRAME__BODY_PING;
  f.ping = &p;
  return frame_encode(&f, FRAME_BYTES_MAX_DEFAULT, out, len);
}

static int enc_error(int code, const char *reason, uint8_t **out, size_t *len) {
  Momedo__Error e;
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  frame_error_init(&e, code, reason, 1);
  f.body_case = MOMEDO__FRAME__BODY_ERROR;
  f.error = &e;
  return frame_encode(&f, FRAME_BYTES_MAX_DEFAULT, out, len);
}

/* Three frames back to back: ping 1, error, pong 300. */
static int stream3(uint8_t **out, size_t *len) {
  uint8_t *a = NULL, *b = NULL, *c = NULL, *s = NULL;
  size_t al, bl, cl;
  int rc = enc_ping(1, 0, &a, &al);
  if (rc == 0) rc = enc_error(MOMEDO_E_RATE, "slow down", &b, &bl);
  if (rc == 0) rc = enc_ping(300, 1, &c, &cl);
  if (rc == 0 && (s = malloc(al + bl + cl)) == NULL) rc = MOMEDO_E_NOMEM;
  if (rc == 0) {
    memcpy(s, a, al);
    memcpy(s + al, b, bl);
    memcpy(s + al + bl, c, cl);
    *out = s;
    *len = al + bl + cl;
  }
  free(a);
  free(b);
  free(c);
  return rc;
}

/* Check that body i of stream3 decodes to what was encoded. Returns 1 if it matches. */
static int body_matches(int i, const uint8_t *body, size_t len) {
  struct arena a;
  Momedo__Frame *f = NULL;
  int ok = 0;
  arena_init(&a, 64 * 1024);
  if (frame_unpack(body, len, &a, &f) == 0) {
    if (i == 0) ok = f->body_case == MOMEDO__FRAME__BODY_PING && f->ping->nonce == 1;
    if (i == 1)
      ok = f->body_case == MOMEDO__FRAME__BODY_ERROR && f->error->code == MOMEDO_E_RATE &&
           strcmp(f->error->reason, "slow down") == 0 && f->error->fatal;
    if (i == 2) ok = f->body_case == MOMEDO__FRAME__BODY_PONG && f->pong->nonce == 300;
  }
  arena_close(&a);
  return ok;
}

/* Feed in[0..n) in pieces of at most step bytes (or split once at split if step == 0);
 * returns the number of frames that decoded correctly, -1 on any error. */
static int feed_all(const uint8_t *in, size_t n, size_t step, size_t split) {
  struct frame_decoder d;
  int frames = 0;
  size_t pos = 0;
  frame_decoder_init(&d, 0);
  while (pos < n) {
    size_t end = step ? (pos + step < n ? pos + step : n) : (pos < split ? split : n);
    while (pos < end) {
      size_t used = 0, avail = end - pos;
      int rc = frame_decoder_feed(&d, in + pos, avail, &used);
      pos += used;
      if (rc < 0) goto fail;
      if (rc == 1) {
        const uint8_t *b;
        size_t bl;
        frame_decoder_body(&d, &b, &bl);
        if (!body_matches(frames, b, bl)) goto fail;
        frames++;
        frame_decoder_next(&d);
      } else if (used != avail) {
        goto fail; /* 0 means everything was consumed */
      }
    }
  }
  if (!frame_decoder_idle(&d)) goto fail;
  frame_decoder_close(&d);
  return frames;
fail:
  frame_decoder_close(&d);
  return -1;
}

static void test_encode_exact_bytes(void) {
  uint8_t *out = NULL;
  size_t len = 0;
  CHECK_EQ(enc_ping(0x102, 0, &out, &len), 0);
  /* header 5; field 3 (ping) length 3: field 1 varint 0x102 = 82 02 */
  static const uint8_t want[] = {0, 0, 0, 5, 0x1a, 0x03, 0x08, 0x82, 0x02};
  CHECK_EQ(len, sizeof want);
  CHECK_MEM(out, want, sizeof want);
  free(out);
  /* A frame with no body case is refused at encoding. */
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  CHECK_EQ(frame_encode(&f, 0, &out, &len), MOMEDO_E_PROTO);
  CHECK(out == NULL);
}

static void test_round_trip(void) {
  uint8_t *s = NULL;
  size_t n = 0;
  CHECK_EQ(stream3(&s, &n), 0);
  struct frame_decoder d;
  frame_decoder_init(&d, 0);
  size_t used = 0;
  int rc = frame_decoder_feed(&d, s, n, &used);
  CHECK_EQ(rc, 1);
  CHECK_EQ(used, 8); /* stops right after the first frame (4 + 1a 02 08 01) */
  /* Feeding again before _next consumes nothing. */
  size_t used2 = 99;
  CHECK_EQ(frame_decoder_feed(&d, s + used, n - used, &used2), 1);
  CHECK_EQ(used2, 0);
  const uint8_t *b;
  size_t bl;
  frame_decoder_body(&d, &b, &bl);
  CHECK_EQ(bl, 4);
  CHECK(body_matches(0, b, bl));
  frame_decoder_next(&d);
  frame_decoder_close(&d);
  free(s);
}

static void test_one_byte_at_a_time(void) {
  uint8_t *s = NULL;
  size_t n = 0;
  CHECK_EQ(stream3(&s, &n), 0);
  int frames = feed_all(s, n, 1, 0);
  free(s);
  CHECK_EQ(frames, 3);
}

static void test_many_frames_one_buffer(void) {
  enum { N = 200 };
  uint8_t *s = NULL, *big = NULL;
  size_t n = 0;
  CHECK_EQ(stream3(&s, &n), 0);
  big = malloc(n * N);
  CHECK(big != NULL);
  for (int i = 0; i < N; i++) memcpy(big + (size_t)i * n, s, n);
  free(s);
  struct frame_decoder d;
  frame_decoder_init(&d, 0);
  size_t pos = 0;
  int frames = 0, bad = 0;
  while (pos < n * N) {
    size_t used;
    int rc = frame_decoder_feed(&d, big + pos, n * N - pos, &used);
    pos += used;
    if (rc != 1) {
      bad++;
      break;
    }
    const uint8_t *b;
    size_t bl;
    frame_decoder_body(&d, &b, &bl);
    if (!body_matches(frames % 3, b, bl)) bad++;
    frames++;
    frame_decoder_next(&d);
  }
  frame_decoder_close(&d);
  free(big);
  CHECK_EQ(bad, 0);
  CHECK_EQ(frames, 3 * N);
}

static void test_split_every_offset(void) {
  uint8_t *s = NULL;
  size_t n = 0;
  CHECK_EQ(stream3(&s, &n), 0);
  int bad = 0;
  for (size_t split = 0; split <= n; split++)
    if (feed_all(s, n, 0, split) != 3) bad++;
  for (size_t step = 2; step <= n; step++)
    if (feed_all(s, n, step, 0) != 3) bad++;
  free(s);
  CHECK_EQ(bad, 0);
}

static void test_oversized_header_no_alloc(void) {
  struct frame_decoder d;
  size_t used;
  /* Default limit: 1 MiB + 1 is refused from the header alone. */
  uint8_t hdr[8] = {0x00, 0x10, 0x00, 0x01, 'x', 'y', 'z', 'w'};
  frame_decoder_init(&d, 0);
  CHECK_EQ(d.bytes_max, FRAME_BYTES_MAX_DEFAULT);
  CHECK_EQ(frame_decoder_feed(&d, hdr, 3, &used), 0);
  CHECK_EQ(used, 3);
  CHECK_EQ(frame_decoder_feed(&d, hdr + 3, 5, &used), MOMEDO_E_TOOBIG);
  CHECK_EQ(used, 1);
  CHECK(d.buf == NULL);
  CHECK_EQ(d.buf_cap, 0);
  /* Sticky. */
  CHECK_EQ(frame_decoder_feed(&d, hdr + 4, 4, &used), MOMEDO_E_TOOBIG);
  CHECK_EQ(used, 0);
  frame_decoder_close(&d);

  /* 4 GiB - 1 against the hard limit, with a configured limit above it. */
  uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
  frame_decoder_init(&d, (size_t)FRAME_BYTES_MAX_LIMIT * 4);
  CHECK_EQ(d.bytes_max, FRAME_BYTES_MAX_LIMIT);
  CHECK_EQ(frame_decoder_feed(&d, huge, 4, &used), MOMEDO_E_TOOBIG);
  CHECK_EQ(d.buf_cap, 0);
  frame_decoder_close(&d);

  /* A configured limit: exactly the limit passes the header check, one more fails. */
  uint8_t at[4] = {0, 0, 0x07, 0xd0}, over[4] = {0, 0, 0x07, 0xd1}; /* 2000, 2001 */
  frame_decoder_init(&d, 2000);
  CHECK_EQ(frame_decoder_feed(&d, at, 4, &used), 0);
  CHECK_EQ(d.buf_cap, 0); /* header alone allocates nothing */
  frame_decoder_close(&d);
  frame_decoder_init(&d, 2000);
  CHECK_EQ(frame_decoder_feed(&d, over, 4, &used), MOMEDO_E_TOOBIG);
  frame_decoder_close(&d);
}

static void test_buffer_grows_with_data(void) {
  struct frame_decoder d;
  size_t used;
  /* Announce 1 MiB, send 10 bytes: the buffer is the initial size, not 1 MiB. */
  uint8_t hdr[14] = {0x00, 0x10, 0x00, 0x00};
  frame_decoder_init(&d, 0);
  CHECK_EQ(frame_decoder_feed(&d, hdr, sizeof hdr, &used), 0);
  CHECK_EQ(used, sizeof hdr);
  CHECK_EQ(d.buf_cap, FRAME_BUF_BYTES_INITIAL);
  CHECK(!frame_decoder_idle(&d));
  frame_decoder_close(&d);

  /* A 100 000-byte Error frame arrives in 7-byte pieces; the buffer never exceeds
   * the body and is released after the frame (it grew past the keep size). */
  enum { REASON = 100000 };
  char *reason = malloc(REASON + 1);
  CHECK(reason != NULL);
  memset(reason, 'r', REASON);
  reason[REASON] = '\0';
  uint8_t *s = NULL;
  size_t n = 0;
  int rc = enc_error(MOMEDO_E_IO, reason, &s, &n);
  free(reason);
  CHECK_EQ(rc, 0);
  frame_decoder_init(&d, 0);
  size_t pos = 0;
  rc = 0;
  while (pos < n && rc == 0) {
    size_t step = n - pos < 7 ? n - pos : 7;
    rc = frame_decoder_feed(&d, s + pos, step, &used);
    pos += used;
  }
  CHECK_EQ(rc, 1);
  CHECK_EQ(pos, n);
  CHECK(d.buf_cap <= n - FRAME_HEADER_LEN);
  CHECK_EQ(d.buf_cap, n - FRAME_HEADER_LEN); /* doubling was clamped to the body */
  const uint8_t *b;
  size_t bl;
  frame_decoder_body(&d, &b, &bl);
  CHECK_EQ(bl, n - FRAME_HEADER_LEN);
  CHECK_MEM(b, s + FRAME_HEADER_LEN, bl);
  frame_decoder_next(&d);
  CHECK_EQ(d.buf_cap, 0);
  CHECK(frame_decoder_idle(&d));
  frame_decoder_close(&d);
  free(s);
}

static void test_zero_length_refused(void) {
  struct frame_decoder d;
  size_t used;
  uint8_t z[6] = {0, 0, 0, 0, 1, 2};
  frame_decoder_init(&d, 0);
  CHECK_EQ(frame_decoder_feed(&d, z, sizeof z, &used), MOMEDO_E_PROTO);
  CHECK_EQ(used, 4);
  CHECK_EQ(frame_decoder_feed(&d, z + 4, 2, &used), MOMEDO_E_PROTO);
  CHECK(!frame_decoder_idle(&d));
  frame_decoder_close(&d);
}

static void test_unpack_errors(void) {
  struct arena a;
  Momedo__Frame *f = NULL;
  arena_init(&a, 64 * 1024);
  /* Truncated varint / bad wire type. */
  static const uint8_t garbage[] = {0xff, 0xff, 0xff};
  CHECK_EQ(frame_unpack(garbage, sizeof garbage, &a, &f), MOMEDO_E_DECODE);
  CHECK(f == NULL);
  /* Length-delimited field claiming more bytes than there are. */
  static const uint8_t trunc[] = {0x1a, 0x10, 0x08};
  CHECK_EQ(frame_unpack(trunc, sizeof trunc, &a, &f), MOMEDO_E_DECODE);
  /* Valid protobuf, but only an unknown field (9): no body case. */
  static const uint8_t unknown[] = {0x48, 0x01};
  CHECK_EQ(frame_unpack(unknown, sizeof unknown, &a, &f), MOMEDO_E_PROTO);
  /* Field number 0 hidden in a non-minimal tag (80 00) inside a Ping: protobuf-c keeps
   * it as an unknown field that would re-encode as the invalid tag 00. Refused. */
  static const uint8_t tag0[] = {0x1a, 0x05, 0x08, 0x01, 0x80, 0x00, 0x07};
  CHECK_EQ(frame_unpack(tag0, sizeof tag0, &a, &f), MOMEDO_E_DECODE);
  /* Other unknown fields are ignored (forward compatibility): field 9 inside the Ping. */
  static const uint8_t unk9[] = {0x1a, 0x04, 0x08, 0x01, 0x48, 0x07};
  CHECK_EQ(frame_unpack(unk9, sizeof unk9, &a, &f), 0);
  CHECK_EQ(f->ping->nonce, 1);
  /* A known case decodes. */
  static const uint8_t ping[] = {0x1a, 0x03, 0x08, 0x82, 0x02};
  CHECK_EQ(frame_unpack(ping, sizeof ping, &a, &f), 0);
  CHECK_EQ(f->body_case, MOMEDO__FRAME__BODY_PING);
  CHECK_EQ(f->ping->nonce, 0x102);
  arena_close(&a);

  /* The arena cap bounds decoding: a 2000-byte reason in a 1 KiB arena. */
  char reason[2001];
  memset(reason, 'q', 2000);
  reason[2000] = '\0';
  Momedo__Error e;
  Momedo__Frame fr = MOMEDO__FRAME__INIT;
  frame_error_init(&e, MOMEDO_E_IO, reason, 0);
  fr.body_case = MOMEDO__FRAME__BODY_ERROR;
  fr.error = &e;
  uint8_t *out = NULL;
  size_t n = 0;
  CHECK_EQ(frame_encode(&fr, 0, &out, &n), 0);
  arena_init(&a, 1024);
  int rc = frame_unpack(out + FRAME_HEADER_LEN, n - FRAME_HEADER_LEN, &a, &f);
  arena_close(&a);
  free(out);
  CHECK_EQ(rc, MOMEDO_E_TOOBIG);
  /* And encoding refuses a body over the limit. */
  CHECK_EQ(frame_encode(&fr, 1024, &out, &n), MOMEDO_E_TOOBIG);
  CHECK(out == NULL);
}

static void test_hello(void) {
  uint8_t key[32];
  memset(key, 0x42, sizeof key);
  Momedo__Hello h;
  frame_hello_init(&h, MOMEDO__ROLE__ROLE_NEIGHBOR, key, 1700000000000ull, 1u << 20);
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  f.body_case = MOMEDO__FRAME__BODY_HELLO;
  f.hello = &h;
  uint8_t *out = NULL;
  size_t n = 0;
  CHECK_EQ(frame_encode(&f, 0, &out, &n), 0);
  struct arena a;
  arena_init(&a, 64 * 1024);
  Momedo__Frame *g = NULL;
  int rc = frame_unpack(out + FRAME_HEADER_LEN, n - FRAME_HEADER_LEN, &a, &g);
  free(out);
  if (rc != 0) arena_close(&a);
  CHECK_EQ(rc, 0);
  char reason[FRAME_REASON_BYTES_MAX];
  uint32_t v = 0;
  rc = frame_hello_check(g->hello, &v, reason, sizeof reason);
  int ok = g->hello->role == MOMEDO__ROLE__ROLE_NEIGHBOR && g->hello->now_ms == 1700000000000ull &&
           g->hello->frame_bytes_max == (1u << 20) && g->hello->node_key.len == 32 &&
           memcmp(g->hello->node_key.data, key, 32) == 0 &&
           strcmp(g->hello->software, FRAME_SOFTWARE) == 0;
  arena_close(&a);
  CHECK_EQ(rc, 0);
  CHECK_EQ(v, PROTOCOL_VERSION);
  CHECK(ok);

  /* A peer that speaks only 3..5. */
  h.min_version = 3;
  h.protocol_version = 5;
  CHECK_EQ(frame_hello_check(&h, &v, reason, sizeof reason), MOMEDO_E_VERSION);
  CHECK_EQ(v, 0);
  CHECK_STR(reason, "no common protocol version: peer speaks 3..5, we speak 1..1");
  /* An older peer that speaks 0..0, an inverted range. */
  h.min_version = 0;
  h.protocol_version = 0;
  CHECK_EQ(frame_hello_check(&h, &v, reason, sizeof reason), MOMEDO_E_VERSION);
  CHECK(strstr(reason, "0..0") != NULL && strstr(reason, "1..1") != NULL);
  h.min_version = 2;
  h.protocol_version = 1;
  CHECK_EQ(frame_hello_check(&h, &v, reason, sizeof reason), MOMEDO_E_VERSION);
  CHECK(strstr(reason, "inverted") != NULL);
  /* A newer peer whose range includes ours settles on ours. */
  h.min_version = 1;
  h.protocol_version = 7;
  CHECK_EQ(frame_hello_check(&h, &v, NULL, 0), 0);
  CHECK_EQ(v, 1);
  /* A small reason buffer is truncated, not overrun. */
  h.min_version = 3;
  char tiny[8];
  CHECK_EQ(frame_hello_check(&h, &v, tiny, sizeof tiny), MOMEDO_E_VERSION);
  CHECK_EQ(strlen(tiny), sizeof tiny - 1);

  /* node_key lengths. */
  h.min_version = 1;
  h.node_key.len = 31;
  CHECK_EQ(frame_hello_check(&h, &v, reason, sizeof reason), MOMEDO_E_PROTO);
  CHECK(strstr(reason, "31") != NULL);
  h.node_key.len = 0;
  CHECK_EQ(frame_hello_check(&h, &v, reason, sizeof reason), MOMEDO_E_PROTO);
  h.role = MOMEDO__ROLE__ROLE_CLIENT;
  CHECK_EQ(frame_hello_check(&h, &v, reason, sizeof reason), 0);
  h.role = (Momedo__Role)9;
  CHECK_EQ(frame_hello_check(&h, &v, reason, sizeof reason), MOMEDO_E_PROTO);
}

int main(void) {
  RUN(test_encode_exact_bytes);
  RUN(test_round_trip);
  RUN(test_one_byte_at_a_time);
  RUN(test_many_frames_one_buffer);
  RUN(test_split_every_offset);
  RUN(test_oversized_header_no_alloc);
  RUN(test_buffer_grows_with_data);
  RUN(test_zero_length_refused);
  RUN(test_unpack_errors);
  RUN(test_hello);
  TEST_MAIN_END();
}
