/* protocol/frame.c — frame codec and Hello negotiation; see frame.h.
 * Owns the length-prefix state machine and the body buffer. It must not interpret
 * frame contents beyond the oneof case and Hello: dispatch belongs to the callers. */
#include "frame.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "reason.h"

/* A buffer grown past this is freed between frames so an idle link holds little. */
#define FRAME_BUF_KEEP_BYTES_MAX (64u * 1024)
/* Nesting guard for walking a decoded frame (the schemas nest 5 levels at most). */
#define FRAME_DEPTH_MAX 16

static size_t frame_limit(size_t frame_bytes_max) {
  if (frame_bytes_max == 0) return FRAME_BYTES_MAX_DEFAULT;
  if (frame_bytes_max > FRAME_BYTES_MAX_LIMIT) return FRAME_BYTES_MAX_LIMIT;
  return frame_bytes_max;
}

void frame_decoder_init(struct frame_decoder *d, size_t frame_bytes_max) {
  memset(d, 0, sizeof *d);
  d->bytes_max = frame_limit(frame_bytes_max);
}

void frame_decoder_close(struct frame_decoder *d) {
  free(d->buf);
  d->buf = NULL;
  d->buf_cap = 0;
}

/* Grow the body buffer to hold at least need bytes (need <= body_len <= bytes_max).
 * Doubling from FRAME_BUF_BYTES_INITIAL, capped at the announced body length, so a peer
 * that announces a large body but sends little makes us allocate little. */
static int frame_decoder_reserve(struct frame_decoder *d, size_t need) {
  if (need <= d->buf_cap) return 0;
  size_t cap = d->buf_cap ? d->buf_cap : FRAME_BUF_BYTES_INITIAL;
  while (cap < need) cap *= 2;
  if (cap > d->body_len) cap = d->body_len;
  uint8_t *p = realloc(d->buf, cap);
  if (p == NULL) return MOMEDO_E_NOMEM;
  d->buf = p;
  d->buf_cap = cap;
  return 0;
}

/* Take header bytes; on the fourth, check the announced length. */
static int frame_decoder_header(struct frame_decoder *d, const uint8_t *in, size_t n,
                                size_t *pos) {
  while (d->hdr_got < FRAME_HEADER_LEN && *pos < n) d->hdr[d->hdr_got++] = in[(*pos)++];
  if (d->hdr_got < FRAME_HEADER_LEN) return 0;
  uint32_t len = be32_get(d->hdr);
  if (len == 0) return MOMEDO_E_PROTO;
  if (len > d->bytes_max) return MOMEDO_E_TOOBIG;
  d->body_len = len;
  d->body_got = 0;
  return 0;
}

int frame_decoder_feed(struct frame_decoder *d, const uint8_t *in, size_t n, size_t *used) {
  size_t pos = 0;
  int rc = 0;
  *used = 0;
  if (d->err) return d->err;
  if (d->ready) return 1;
  if (d->hdr_got < FRAME_HEADER_LEN) {
    rc = frame_decoder_header(d, in, n, &pos);
    if (rc < 0) goto out;
    if (d->hdr_got < FRAME_HEADER_LEN) goto out;
  }
  size_t take = d->body_len - d->body_got;
  if (take > n - pos) take = n - pos;
  if (take > 0) {
    rc = frame_decoder_reserve(d, d->body_got + take);
    if (rc < 0) goto out;
    memcpy(d->buf + d->body_got, in + pos, take);
    d->body_got += take;
    pos += take;
  }
  if (d->body_got == d->body_len) {
    d->ready = 1;
    rc = 1;
  }
out:
  *used = pos;
  if (rc < 0) d->err = rc;
  return rc;
}

void frame_decoder_body(const struct frame_decoder *d, const uint8_t **body, size_t *len) {
  assert(d->ready);
  *body = d->buf;
  *len = d->body_len;
}

void frame_decoder_next(struct frame_decoder *d) {
  d->hdr_got = 0;
  d->body_len = 0;
  d->body_got = 0;
  d->ready = 0;
  if (d->buf_cap > FRAME_BUF_KEEP_BYTES_MAX) frame_decoder_close(d);
}

int frame_decoder_idle(const struct frame_decoder *d) {
  return d->err == 0 && !d->ready && d->hdr_got == 0;
}

static int frame_case_known(Momedo__Frame__BodyCase c) {
  switch (c) {
  case MOMEDO__FRAME__BODY_HELLO:
  case MOMEDO__FRAME__BODY_ERROR:
  case MOMEDO__FRAME__BODY_PING:
  case MOMEDO__FRAME__BODY_PONG:
  case MOMEDO__FRAME__BODY_REPL:
  case MOMEDO__FRAME__BODY_REQUEST:
  case MOMEDO__FRAME__BODY_RESPONSE:
  case MOMEDO__FRAME__BODY_EVENT:
  case MOMEDO__FRAME__BODY_ADMIN_REQUEST:
  case MOMEDO__FRAME__BODY_ADMIN_RESPONSE:
    return 1;
  default:
    return 0;
  }
}

int frame_encode(const Momedo__Frame *f, size_t frame_bytes_max, uint8_t **out,
                 size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (!frame_case_known(f->body_case)) return MOMEDO_E_PROTO;
  size_t body = protobuf_c_message_get_packed_size(&f->base);
  if (body == 0) return MOMEDO_E_PROTO;
  if (body > frame_limit(frame_bytes_max)) return MOMEDO_E_TOOBIG;
  uint8_t *buf = malloc(FRAME_HEADER_LEN + body);
  if (buf == NULL) return MOMEDO_E_NOMEM;
  be32_put(buf, (uint32_t)body);
  size_t packed = protobuf_c_message_pack(&f->base, buf + FRAME_HEADER_LEN);
  assert(packed == body);
  *out = buf;
  *out_len = FRAME_HEADER_LEN + body;
  return 0;
}

/* protobuf-c accepts a non-minimally encoded tag of field number 0 (bytes 80 00) as an
 * unknown field, which re-encodes as the invalid tag 00: refuse it anywhere in the tree,
 * so that every frame we accept also re-encodes to bytes we accept. The schemas are not
 * recursive; the depth bound is a guard. */
static int frame_walk(const ProtobufCMessage *m, unsigned depth) {
  if (depth > FRAME_DEPTH_MAX) return MOMEDO_E_DECODE;
  for (unsigned i = 0; i < m->n_unknown_fields; i++)
    if (m->unknown_fields[i].tag == 0) return MOMEDO_E_DECODE;
  const ProtobufCMessageDescriptor *desc = m->descriptor;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &desc->fields[i];
    const char *base = (const char *)m;
    if (fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + fd->quantifier_offset);
      ProtobufCMessage *const *subs = *(ProtobufCMessage *const *const *)(base + fd->offset);
      for (size_t j = 0; j < n; j++) {
        int rc = frame_walk(subs[j], depth + 1);
        if (rc < 0) return rc;
      }
      continue;
    }
    /* A oneof member's storage is shared: read it only when its case is the set one. */
    if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
      continue;
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + fd->offset);
    if (sub) {
      int rc = frame_walk(sub, depth + 1);
      if (rc < 0) return rc;
    }
  }
  return 0;
}

int frame_unpack(const uint8_t *body, size_t len, struct arena *a, Momedo__Frame **out) {
  *out = NULL;
  int failed_before = a->failed;
  a->failed = 0;
  ProtobufCMessage *m = protobuf_c_message_unpack(&momedo__frame__descriptor, &a->pb, len, body);
  int arena_full = a->failed;
  a->failed = failed_before || arena_full;
  if (m == NULL) return arena_full ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE;
  Momedo__Frame *f = (Momedo__Frame *)m;
  /* No case set: empty body, or only field numbers this version does not know. */
  if (!frame_case_known(f->body_case)) return MOMEDO_E_PROTO;
  int rc = frame_walk(m, 0);
  if (rc < 0) return rc;
  *out = f;
  return 0;
}

void frame_hello_init(Momedo__Hello *h, Momedo__Role role, const uint8_t *node_key,
                      uint64_t now_ms, uint32_t frame_bytes_max) {
  momedo__hello__init(h);
  h->protocol_version = PROTOCOL_VERSION;
  h->min_version = PROTOCOL_VERSION_MIN;
  h->role = role;
  if (node_key) {
    h->node_key.data = (uint8_t *)node_key;
    h->node_key.len = 32;
  }
  h->software = (char *)FRAME_SOFTWARE;
  h->now_ms = now_ms;
  h->frame_bytes_max = frame_bytes_max;
}

int frame_hello_check(const Momedo__Hello *h, uint32_t *version_out, char *why,
                      size_t why_cap) {
  uint32_t peer_max = h->protocol_version, peer_min = h->min_version;
  *version_out = 0;
  if (why && why_cap > 0) why[0] = '\0';
  if (peer_min > peer_max)
    return reason_fail(
        why, why_cap, MOMEDO_E_VERSION, "peer version range %u..%u is inverted (we speak %u..%u)",
        (unsigned)peer_min, (unsigned)peer_max, PROTOCOL_VERSION_MIN, PROTOCOL_VERSION);
  uint32_t lo = peer_min > PROTOCOL_VERSION_MIN ? peer_min : PROTOCOL_VERSION_MIN;
  uint32_t hi = peer_max < PROTOCOL_VERSION ? peer_max : PROTOCOL_VERSION;
  if (lo > hi)
    return reason_fail(why, why_cap, MOMEDO_E_VERSION,
                       "no common protocol version: peer speaks %u..%u, we speak %u..%u",
                       (unsigned)peer_min, (unsigned)peer_max, PROTOCOL_VERSION_MIN,
                       PROTOCOL_VERSION);
  if ((int)h->role < (int)MOMEDO__ROLE__ROLE_NONE || (int)h->role > (int)MOMEDO__ROLE__ROLE_ADMIN)
    return reason_fail(why, why_cap, MOMEDO_E_PROTO, "unknown role %d", (int)h->role);
  size_t klen = h->node_key.len;
  if (klen != 0 && klen != 32)
    return reason_fail(why, why_cap, MOMEDO_E_PROTO, "node_key is %zu bytes, expected 0 or 32",
                       klen);
  if (h->role == MOMEDO__ROLE__ROLE_NEIGHBOR && klen != 32)
    return reason_fail(why, why_cap, MOMEDO_E_PROTO, "neighbor hello without a 32-byte node_key");
  if (h->software && strlen(h->software) > FRAME_SOFTWARE_CHARS_MAX)
    return reason_fail(why, why_cap, MOMEDO_E_PROTO, "software string longer than %u characters",
                       (unsigned)FRAME_SOFTWARE_CHARS_MAX);
  *version_out = hi;
  return 0;
}

void frame_error_init(Momedo__Error *e, int code, const char *reason, int fatal) {
  momedo__error__init(e);
  e->code = code;
  e->reason = (char *)(reason ? reason : "");
  e->fatal = fatal ? 1 : 0;
}
