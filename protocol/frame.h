/* protocol/frame.h — the frame codec: a 4-byte big-endian body length followed by one
 * protobuf-encoded Momedo__Frame, plus Hello version negotiation. Incremental decoding
 * over any split of the input, with a hard body limit checked from the header alone
 * before anything is allocated. No I/O, no clock (times are arguments). */
#ifndef MOMEDO_FRAME_H
#define MOMEDO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "frame.pb-c.h"
#include "status.h"
#include "version.h"

#define FRAME_HEADER_LEN 4                         /* big-endian body length */
#define FRAME_BYTES_MAX_DEFAULT (1024u * 1024)     /* body limit, configurable */
#define FRAME_BYTES_MAX_LIMIT (16u * 1024 * 1024)  /* no config may exceed this */
#define FRAME_BYTES_MIN 1024u                      /* no config may go below this */
#define FRAME_BUF_BYTES_INITIAL 4096u              /* first body buffer allocation */
#define FRAME_REASON_BYTES_MAX 256                 /* Error.reason / hello reasons */
#define PROTOCOL_VERSION 1
#define PROTOCOL_VERSION_MIN 1
#define FRAME_SOFTWARE "momedo/" MOMEDO_VERSION
#define FRAME_SOFTWARE_CHARS_MAX 64                /* Hello.software, informational */

/* Incremental decoder. Public so callers embed it; touch the fields only through the
 * functions below (tests read buf_cap to prove that nothing was allocated). */
struct frame_decoder {
  size_t bytes_max;                /* body limit for this link */
  uint8_t hdr[FRAME_HEADER_LEN];   /* length header being assembled */
  size_t hdr_got;                  /* header bytes received so far */
  uint32_t body_len;               /* length of the current body, once hdr_got == 4 */
  size_t body_got;                 /* body bytes received so far */
  uint8_t *buf;                    /* body buffer, owned, grows up to bytes_max */
  size_t buf_cap;                  /* allocated size of buf */
  int ready;                       /* 1: a whole body is in buf, call frame_decoder_next */
  int err;                         /* sticky error (negative), 0 while healthy */
};

/* Prepare d for a link whose bodies may be at most frame_bytes_max bytes (clamped to
 * FRAME_BYTES_MAX_LIMIT; 0 means FRAME_BYTES_MAX_DEFAULT). Allocates nothing. */
void frame_decoder_init(struct frame_decoder *d, size_t frame_bytes_max);
/* Free the body buffer. d may be re-initialised afterwards. */
void frame_decoder_close(struct frame_decoder *d);
/* Consume up to n bytes; *used says how many. Returns 1 when a whole frame body is ready
 * (read it with frame_decoder_body, then call frame_decoder_next before feeding again),
 * 0 when all input was consumed and more is needed, or a negative error: E_TOOBIG when
 * the length header exceeds the limit (detected from the 4 header bytes alone, before
 * any allocation), E_PROTO for a zero-length body, E_NOMEM. Errors are sticky: every
 * later call returns the same error and consumes nothing. Feeding while a body is ready
 * returns 1 again and consumes nothing. */
MOMEDO_WUR int frame_decoder_feed(struct frame_decoder *d, const uint8_t *in, size_t n,
                                  size_t *used);
/* The ready body; borrowed, valid until frame_decoder_next / _close. */
void frame_decoder_body(const struct frame_decoder *d, const uint8_t **body, size_t *len);
/* Drop the ready body and start on the next header. Keeps the buffer for reuse. */
void frame_decoder_next(struct frame_decoder *d);
/* 1 if the decoder is between frames (no partial header or body buffered). */
int frame_decoder_idle(const struct frame_decoder *d);

/* Encode f as header+body into a malloc'ed buffer (*out, caller frees); E_TOOBIG if the
 * body is larger than frame_bytes_max (0 = FRAME_BYTES_MAX_DEFAULT, clamped to
 * FRAME_BYTES_MAX_LIMIT), E_PROTO if f has no body case set. */
MOMEDO_WUR int frame_encode(const Momedo__Frame *f, size_t frame_bytes_max, uint8_t **out,
                            size_t *out_len);
/* Unpack a body into arena memory (protobuf-c allocator = arena); E_DECODE on bad
 * protobuf (including a field numbered 0 anywhere in the tree), E_TOOBIG when the arena
 * cap is reached, E_PROTO if no oneof case is set or the case is unknown. Unknown fields
 * are otherwise ignored. *out lives until arena_reset. */
MOMEDO_WUR int frame_unpack(const uint8_t *body, size_t len, struct arena *a,
                            Momedo__Frame **out);

/* Fill a Hello for role: this build's version range, software string, node_key (32 bytes,
 * borrowed: must outlive h; NULL for clients), the sender's clock and body limit. */
void frame_hello_init(Momedo__Hello *h, Momedo__Role role, const uint8_t *node_key,
                      uint64_t now_ms, uint32_t frame_bytes_max);
/* Check a received Hello. On success *version_out is the version both sides speak (the
 * highest in the overlap of the ranges). E_VERSION if the ranges do not overlap (or the
 * peer's range is inverted), E_PROTO on a node_key that is neither empty nor 32 bytes, an
 * unknown role, or an over-long software string. On failure writes a human-readable
 * reason (naming both version ranges for E_VERSION) into why (protocol/reason.h; may be
 * NULL). */
MOMEDO_WUR int frame_hello_check(const Momedo__Hello *h, uint32_t *version_out, char *why,
                                 size_t why_cap);

/* Fill an Error frame body. reason is borrowed. */
void frame_error_init(Momedo__Error *e, int code, const char *reason, int fatal);

#endif
