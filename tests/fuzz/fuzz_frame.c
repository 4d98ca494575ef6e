/* fuzz_frame — the frame decoder over arbitrary byte streams split at arbitrary points.
 * Input: [limit selector][n][n chunk sizes][stream]. The stream is fed in chunks whose
 * sizes cycle through the given list; every complete body is unpacked into an arena,
 * Hellos are checked, and every frame that decodes must re-encode and decode to the
 * same bytes. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ARENA_BYTES_MAX (256u * 1024)

/* Re-encode f; the re-encoding must unpack and re-encode to identical bytes. */
static void fuzz_reencode(const Momedo__Frame *f, size_t limit) {
  uint8_t *a = NULL, *b = NULL;
  size_t an = 0, bn = 0;
  if (frame_encode(f, FRAME_BYTES_MAX_LIMIT, &a, &an) != 0) abort();
  struct arena ar;
  arena_init(&ar, FUZZ_ARENA_BYTES_MAX * 4);
  Momedo__Frame *g = NULL;
  if (frame_unpack(a + FRAME_HEADER_LEN, an - FRAME_HEADER_LEN, &ar, &g) != 0) abort();
  if (frame_encode(g, FRAME_BYTES_MAX_LIMIT, &b, &bn) != 0) abort();
  if (an != bn || memcmp(a, b, an) != 0) abort();
  (void)limit;
  free(a);
  free(b);
  arena_close(&ar);
}

static void fuzz_body(struct frame_decoder *d, struct arena *ar) {
  const uint8_t *body;
  size_t len;
  frame_decoder_body(d, &body, &len);
  if (len == 0 || len > d->bytes_max || d->buf_cap < len) abort();
  Momedo__Frame *f = NULL;
  int rc = frame_unpack(body, len, ar, &f);
  if (rc == 0) {
    if (f->body_case == MOMEDO__FRAME__BODY_HELLO) {
      char reason[FRAME_REASON_BYTES_MAX];
      uint32_t v = 99;
      int hrc = frame_hello_check(f->hello, &v, reason, sizeof reason);
      if (hrc == 0 && (v < PROTOCOL_VERSION_MIN || v > PROTOCOL_VERSION)) abort();
      if (hrc != 0 && (v != 0 || strlen(reason) == 0)) abort();
    }
    fuzz_reencode(f, d->bytes_max);
  } else if (rc != MOMEDO_E_DECODE && rc != MOMEDO_E_PROTO && rc != MOMEDO_E_TOOBIG) {
    abort();
  }
  arena_reset(ar);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t limit = (size_t)16 << (data[0] & 15); /* 16 B .. 512 KiB */
  size_t n_sizes = data[1] % 8 + 1;
  if (size < 2 + n_sizes) return 0;
  const uint8_t *sizes = data + 2, *in = data + 2 + n_sizes;
  size_t n = size - 2 - n_sizes, pos = 0, chunk = 0;
  struct frame_decoder d;
  struct arena ar;
  frame_decoder_init(&d, limit);
  arena_init(&ar, FUZZ_ARENA_BYTES_MAX);
  while (pos < n) {
    size_t want = sizes[chunk++ % n_sizes];
    want = want == 0 ? 1 : want * want; /* 1 .. 65025 bytes */
    size_t end = pos + want < n ? pos + want : n;
    while (pos < end) {
      size_t used = 0, avail = end - pos;
      int rc = frame_decoder_feed(&d, in + pos, avail, &used);
      if (used > avail) abort();
      pos += used;
      if (rc < 0) {
        size_t again = 1;
        if (frame_decoder_feed(&d, in, n, &again) != rc || again != 0) abort();
        goto out;
      }
      if (rc == 1) {
        fuzz_body(&d, &ar);
        frame_decoder_next(&d);
      } else if (used != avail) {
        abort();
      }
    }
  }
out:
  arena_close(&ar);
  frame_decoder_close(&d);
  return 0;
}
