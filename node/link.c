/* node/link.c — one link: libuv TCP + memory-buffer TLS + frame decoding, output
 * back-pressure, keep-alive, close; outbound connect and the accept step for
 * listener.c (the reconnecting dialer is dialer.c). Only the link files touch link
 * sockets. It interprets no frame but Ping, Pong and (for its log line) a fatal
 * Error; message contents and key secrets are never logged.
 *
 * Lifetime: a link owns three libuv handles (tcp, timer, kick) and possibly a
 * getaddrinfo request; it is freed, after on_down, once all of them are closed.
 *
 * Memory: an idle link holds only its struct, its TLS session and what the peer left
 * half-sent (the TLS input buffer is given back after every drain that consumed all). The socket read buffer and the plaintext buffer are scratch shared by
 * every link of the thread (struct link_scratch): libuv calls link_on_read right after
 * link_on_alloc, and link_drain decrypts into the scratch and hands it to the frame
 * decoder before it returns, so no link owns bytes in them between callbacks. The
 * only exception, plaintext still undelivered when the owner pauses reading, is
 * copied to the link's own spill buffer. */
#include "link_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "frame.h"
#include "log.h"

/* First byte of an encoded Frame whose oneof case is Error (2), Ping (3), Pong (4):
 * field number << 3 | wire type 2. Only such frames are unpacked by the link. */
#define LINK_TAG_ERROR 0x12
#define LINK_TAG_PING 0x1a
#define LINK_TAG_PONG 0x22
#define LINK_CTRL_PEEK_MAX 64 /* Ping/Pong bodies are ~12 bytes */
#define LINK_NAME_MAX (LINK_HOST_MAX + 16)

/* Scratch for the links of one thread. A libuv loop runs on one thread and its
 * callbacks never overlap, so one set per thread is one set per running loop. Created
 * with the thread's first link, freed with its last. */
struct link_scratch {
  size_t links;       /* live links of this thread */
  int rbuf_busy;      /* handed to libuv by link_on_alloc, not yet back in link_on_read */
  int plain_busy;     /* a link_drain is running */
  uint8_t rbuf[LINK_READ_BYTES];
  uint8_t plain[LINK_PLAIN_BYTES];
};

static _Thread_local struct link_scratch *link_scratch;

enum link_state {
  LINK_RESOLVING,
  LINK_CONNECTING,
  LINK_HANDSHAKE,
  LINK_UP,
  LINK_CLOSING,
};

struct link {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  uv_timer_t timer; /* handshake timeout, then ping/dead-peer ticks, then close flush */
  uv_timer_t kick;  /* deferred drain after link_resume_read */
  uv_getaddrinfo_t gai;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  enum link_state state;
  int handles_open;   /* handles whose close callback has not run */
  int gai_pending;    /* the getaddrinfo callback has not run */
  int handles_closing, tcp_connected, shutting_down, reading, paused;
  int inbound, tls_ready, want_writable, notify_down, quiet;
  int has_expected, has_peer_key;
  uint8_t expected[NODE_KEY_LEN];
  uint8_t peer_key[NODE_KEY_LEN];
  struct link_config cfg;
  struct link_callbacks cbs;
  void *data;
  struct link_dialer *dialer; /* the dialer that opened this link, or NULL */
  struct tls_conn *tc;
  struct frame_decoder dec;
  struct arena ctrl;
  size_t out_pending;
  uint64_t last_rx_ms, up_ms, ping_nonce;
  int status;
  char reason[LINK_REASON_MAX];
  char peer_error[LINK_REASON_MAX]; /* the peer's fatal Error, for the down line */
  char name[LINK_NAME_MAX];
  uint8_t *spill;     /* plaintext not yet fed to the decoder when reading paused */
  size_t spill_off, spill_len;
  int corked;         /* link_cork: frames kept in cork until link_uncork */
  uint8_t *cork;
  size_t cork_len, cork_cap;
};

struct link_write {
  uv_write_t req;
  struct link *l;
  uint8_t *buf;
  size_t len;
};

static void link_pump(struct link *l);
static void link_flush(struct link *l);

/* ---- closing and freeing ---------------------------------------------------- */

static int link_scratch_hold(void) {
  if (link_scratch == NULL && (link_scratch = calloc(1, sizeof *link_scratch)) == NULL)
    return MOMEDO_E_NOMEM;
  link_scratch->links++;
  return 0;
}

static void link_scratch_release(void) {
  assert(link_scratch != NULL && link_scratch->links > 0);
  if (--link_scratch->links > 0) return;
  assert(!link_scratch->rbuf_busy && !link_scratch->plain_busy);
  free(link_scratch);
  link_scratch = NULL;
}

static void link_free(struct link *l) {
  tls_conn_free(l->tc);
  frame_decoder_close(&l->dec);
  arena_close(&l->ctrl);
  free(l->spill);
  free(l->cork);
  free(l);
  link_scratch_release();
}

/* Free once nothing of libuv refers to l any more; report on_down first. */
static void link_maybe_free(struct link *l) {
  if (l->handles_open > 0 || l->gai_pending) return;
  if (l->notify_down && l->cbs.on_down) l->cbs.on_down(l, l->status, l->reason);
  if (l->dialer) link__dialer_gone(l->dialer, l->up_ms);
  link_free(l);
}

static void link_on_handle_closed(uv_handle_t *h) {
  struct link *l = h->data;
  l->handles_open--;
  link_maybe_free(l);
}

static void link_close_handles(struct link *l) {
  if (l->handles_closing) return;
  l->handles_closing = 1;
  uv_close((uv_handle_t *)&l->tcp, link_on_handle_closed);
  uv_close((uv_handle_t *)&l->timer, link_on_handle_closed);
  uv_close((uv_handle_t *)&l->kick, link_on_handle_closed);
}

static void link_on_shutdown(uv_shutdown_t *req, int status) {
  (void)status; /* flushed or not, the link is going away */
  link_close_handles(req->data);
}

static void link_on_flush_timeout(uv_timer_t *t) { link_close_handles(t->data); }

/* Replace control characters so a peer's text cannot forge log lines. */
static void link_sanitize(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f) *s = '?';
}

static int link_send_ctrl(struct link *l, const Momedo__Frame *f);

static void link_send_error(struct link *l) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__Error e;
  frame_error_init(&e, l->status, l->reason, 1);
  f.body_case = MOMEDO__FRAME__BODY_ERROR;
  f.error = &e;
  if (link_send_ctrl(l, &f) == 0) tls_conn_close_notify(l->tc);
  link_flush(l);
}

static int link_cork_release(struct link *l);

void link_close(struct link *l, int status, const char *reason) {
  if (l->state == LINK_CLOSING) return;
  (void)link_cork_release(l); /* kept answers before the Error frame, as if not corked */
  l->status = status;
  snprintf(l->reason, sizeof l->reason, "%s",
           reason && reason[0] ? reason : momedo_strerror(status));
  link_sanitize(l->reason);
  int calm = status == 0 || status == MOMEDO_E_CLOSED || !l->notify_down;
  node_log(l->quiet ? NODE_LOG_DEBUG : calm ? NODE_LOG_INFO : NODE_LOG_WARN,
           "link %s down %s: %s", l->name,
           status ? momedo_status_name(status) : "OK", l->reason);
  l->state = LINK_CLOSING;
  uv_timer_stop(&l->timer);
  uv_timer_stop(&l->kick);
  if (l->reading) uv_read_stop((uv_stream_t *)&l->tcp);
  l->reading = 0;
  if (l->gai_pending) (void)uv_cancel((uv_req_t *)&l->gai); /* may be too late: fine */
  /* Tell the peer why, unless the socket itself is what failed. */
  if (l->tls_ready && status != MOMEDO_E_CLOSED && status != MOMEDO_E_IO)
    link_send_error(l);
  if (l->tcp_connected && l->out_pending > 0 &&
      uv_shutdown(&l->shutdown_req, (uv_stream_t *)&l->tcp, link_on_shutdown) == 0) {
    l->shutting_down = 1;
    uv_timer_start(&l->timer, link_on_flush_timeout, LINK_CLOSE_FLUSH_MS, 0);
    return;
  }
  link_close_handles(l);
}

__attribute__((format(printf, 3, 4))) static void link_closef(struct link *l, int status,
                                                              const char *fmt, ...) {
  char reason[LINK_REASON_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  link_close(l, status, reason);
}

/* ---- output ----------------------------------------------------------------- */

static void link_on_write(uv_write_t *req, int status) {
  struct link_write *w = req->data;
  struct link *l = w->l;
  l->out_pending -= w->len;
  free(w->buf);
  free(w);
  if (status < 0) {
    if (l->state != LINK_CLOSING) link_close(l, MOMEDO_E_IO, uv_strerror(status));
    return;
  }
  if (l->want_writable && l->state == LINK_UP && l->out_pending < l->cfg.out_low_bytes) {
    l->want_writable = 0;
    if (l->cbs.on_writable) l->cbs.on_writable(l);
  }
}

/* Hand whatever ciphertext TLS produced to libuv (zero-copy: the write owns it). */
static void link_flush(struct link *l) {
  if (!l->tcp_connected || l->shutting_down || l->handles_closing) return;
  size_t n;
  uint8_t *buf = tls_conn_out_take(l->tc, &n);
  if (buf == NULL) return;
  struct link_write *w = malloc(sizeof *w);
  if (w == NULL) {
    free(buf);
    link_close(l, MOMEDO_E_NOMEM, "no memory for a socket write");
    return;
  }
  w->l = l;
  w->buf = buf;
  w->len = n;
  w->req.data = w;
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)n);
  int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, link_on_write);
  if (rc != 0) {
    free(buf);
    free(w);
    link_close(l, MOMEDO_E_IO, uv_strerror(rc));
    return;
  }
  l->out_pending += n;
}

/* Encode and encrypt a link-level frame, ignoring back-pressure (they are tiny). */
static int link_send_ctrl(struct link *l, const Momedo__Frame *f) {
  uint8_t *bytes;
  size_t len;
  int rc = frame_encode(f, FRAME_BYTES_MAX_DEFAULT, &bytes, &len);
  if (rc != 0) return rc;
  rc = tls_conn_write(l->tc, bytes, len);
  free(bytes);
  return rc;
}

static void link_send_ping(struct link *l, int pong, uint64_t nonce) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__Ping p = MOMEDO__PING__INIT;
  p.nonce = nonce;
  f.body_case = pong ? MOMEDO__FRAME__BODY_PONG : MOMEDO__FRAME__BODY_PING;
  if (pong)
    f.pong = &p;
  else
    f.ping = &p;
  int rc = link_send_ctrl(l, &f);
  if (rc != 0) {
    link_closef(l, rc, "cannot send %s: %s", pong ? "pong" : "ping", tls_conn_error(l->tc));
    return;
  }
  link_flush(l);
}

int link_send(struct link *l, const uint8_t *frame_bytes, size_t len) {
  if (l->state == LINK_CLOSING) return MOMEDO_E_CLOSED;
  if (l->state != LINK_UP) return MOMEDO_E_INVAL;
  if (l->out_pending >= l->cfg.out_bytes_max) {
    l->want_writable = 1;
    return MOMEDO_E_AGAIN;
  }
  if (l->corked) {
    if (l->cork_len + len > l->cork_cap) {
      size_t cap = l->cork_cap ? l->cork_cap : 4096;
      while (cap < l->cork_len + len) cap *= 2;
      uint8_t *nb = realloc(l->cork, cap);
      if (nb == NULL) {
        link_close(l, MOMEDO_E_NOMEM, "no memory for an answer");
        return MOMEDO_E_NOMEM;
      }
      l->cork = nb, l->cork_cap = cap;
    }
    memcpy(l->cork + l->cork_len, frame_bytes, len);
    l->cork_len += len;
    return 0;
  }
  int rc = tls_conn_write(l->tc, frame_bytes, len);
  if (rc != 0) {
    link_closef(l, rc, "cannot encrypt a frame: %s", tls_conn_error(l->tc));
    return rc;
  }
  link_flush(l);
  return l->state == LINK_CLOSING ? MOMEDO_E_CLOSED : 0;
}

void link_cork(struct link *l) { l->corked = 1; }

/* The kept frames into TLS (not flushed); the buffer is freed: an idle link keeps none. */
static int link_cork_release(struct link *l) {
  int rc = 0;
  l->corked = 0;
  if (l->cork_len && l->state == LINK_UP) rc = tls_conn_write(l->tc, l->cork, l->cork_len);
  free(l->cork);
  l->cork = NULL;
  l->cork_len = l->cork_cap = 0;
  return rc;
}

void link_uncork(struct link *l) {
  int kept = l->cork_len > 0;
  int rc = link_cork_release(l);
  if (rc != 0)
    link_closef(l, rc, "cannot encrypt a frame: %s", tls_conn_error(l->tc));
  else if (kept)
    link_flush(l);
}

size_t link_out_pending(const struct link *l) { return l->out_pending; }

/* ---- input ------------------------------------------------------------------ */

/* Ping/Pong are answered here; a fatal Error is remembered for the down line.
 * Returns 1 if the frame was consumed by the link. */
static int link_ctrl_frame(struct link *l, const uint8_t *body, size_t len) {
  uint8_t tag = body[0];
  if (tag != LINK_TAG_PING && tag != LINK_TAG_PONG && tag != LINK_TAG_ERROR) return 0;
  if (tag != LINK_TAG_ERROR && len > LINK_CTRL_PEEK_MAX) return 0;
  Momedo__Frame *f;
  int consumed = 0;
  /* Closed, not reset, afterwards: an idle link keeps no arena block. */
  if (frame_unpack(body, len, &l->ctrl, &f) != 0) goto out; /* the owner will refuse it */
  switch (f->body_case) {
  case MOMEDO__FRAME__BODY_PING:
    link_send_ping(l, 1, f->ping->nonce);
    consumed = 1;
    break;
  case MOMEDO__FRAME__BODY_PONG:
    consumed = 1;
    break;
  case MOMEDO__FRAME__BODY_ERROR:
    if (f->error->fatal) {
      snprintf(l->peer_error, sizeof l->peer_error, "peer closed with %s: %.160s",
               f->error->code ? momedo_status_name(f->error->code) : "OK",
               f->error->reason ? f->error->reason : "");
      link_sanitize(l->peer_error);
    }
    break;
  default:
    break;
  }
out:
  arena_close(&l->ctrl);
  arena_init(&l->ctrl, LINK_CTRL_ARENA_BYTES);
  return consumed;
}

static void link_deliver(struct link *l, const uint8_t *body, size_t len) {
  if (link_ctrl_frame(l, body, len)) return;
  if (l->state == LINK_UP && l->cbs.on_frame) l->cbs.on_frame(l, body, len);
}

static void link_on_kick(uv_timer_t *t);

/* Feed plaintext to the decoder and deliver whole frames while the link is up and
 * reading; returns how many bytes were consumed (fewer than n only if it stopped). */
static size_t link_feed(struct link *l, const uint8_t *p, size_t n) {
  size_t off = 0;
  while (l->state == LINK_UP && !l->paused) {
    size_t used = 0;
    int rc = frame_decoder_feed(&l->dec, p + off, n - off, &used);
    off += used;
    if (rc < 0) {
      if (rc == MOMEDO_E_TOOBIG)
        link_closef(l, rc, "frame larger than the %zu-byte limit", l->cfg.frame_bytes_max);
      else
        link_closef(l, rc, "bad frame: %s", momedo_strerror(rc));
      break;
    }
    if (rc == 0) break; /* all of it taken, more needed */
    const uint8_t *body;
    size_t len;
    frame_decoder_body(&l->dec, &body, &len);
    link_deliver(l, body, len);
    frame_decoder_next(&l->dec);
  }
  return off;
}

/* Keep plaintext the decoder did not take because the owner paused reading. */
static void link_spill(struct link *l, const uint8_t *p, size_t n) {
  if (n == 0 || l->state != LINK_UP) return; /* closing: nothing more is delivered */
  uint8_t *q = malloc(n);
  if (q == NULL) {
    link_close(l, MOMEDO_E_NOMEM, "no memory to hold input while paused");
    return;
  }
  memcpy(q, p, n);
  l->spill = q;
  l->spill_off = 0;
  l->spill_len = n;
}

/* Deliver what an earlier pause left over; 1 if all of it went. */
static int link_drain_spill(struct link *l) {
  if (l->spill == NULL) return 1;
  l->spill_off += link_feed(l, l->spill + l->spill_off, l->spill_len - l->spill_off);
  if (l->spill_off < l->spill_len) return 0;
  free(l->spill);
  l->spill = NULL;
  l->spill_off = l->spill_len = 0;
  return 1;
}

/* Decrypt and deliver frames until TLS needs more input, the link pauses or closes.
 * Decrypts into the thread's scratch; a drain running further up the stack (an
 * owner's callback reaching another link) defers this one to the loop. */
static void link_drain(struct link *l) {
  struct link_scratch *s = link_scratch;
  if (s->plain_busy) {
    uv_timer_start(&l->kick, link_on_kick, 0, 0);
    return;
  }
  s->plain_busy = 1;
  int go = link_drain_spill(l);
  while (go && l->state == LINK_UP && !l->paused) {
    size_t n = 0;
    int rc = tls_conn_read(l->tc, s->plain, sizeof s->plain, &n);
    if (rc == MOMEDO_E_AGAIN) break;
    if (rc == MOMEDO_E_CLOSED) {
      link_close(l, MOMEDO_E_CLOSED,
                 l->peer_error[0] ? l->peer_error : "peer sent TLS close_notify");
      break;
    }
    if (rc != 0) {
      link_closef(l, rc, "%s", tls_conn_error(l->tc));
      break;
    }
    size_t used = link_feed(l, s->plain, n);
    if (used < n) link_spill(l, s->plain + used, n - used);
  }
  /* Everything read was decrypted: the TLS input buffer goes back (an idle link then
   * owns none; the next socket read allocates one, a malloc beside a decryption). */
  tls_conn_trim(l->tc);
  s->plain_busy = 0;
  link_flush(l);
}

static void link_on_tick(uv_timer_t *t) {
  struct link *l = t->data;
  if (l->state != LINK_UP || l->paused) return;
  uint64_t idle = uv_now(l->loop) - l->last_rx_ms;
  /* Quiet for a tick and between frames: give the decoder's body buffer back (it grew
   * to the largest frame seen, up to frame_bytes_max). Busy links keep it. */
  if (idle >= l->cfg.ping_interval_ms && l->spill == NULL && frame_decoder_idle(&l->dec)) {
    frame_decoder_close(&l->dec);
    frame_decoder_init(&l->dec, l->cfg.frame_bytes_max);
  }
  if (l->cfg.dead_peer_ms && idle >= l->cfg.dead_peer_ms) {
    link_closef(l, MOMEDO_E_TIMEOUT, "nothing received from the peer for %llu ms",
                (unsigned long long)idle);
    return;
  }
  if (l->cfg.ping_interval_ms && idle >= l->cfg.ping_interval_ms)
    link_send_ping(l, 0, ++l->ping_nonce);
}

static void link_on_handshake_timeout(uv_timer_t *t) {
  struct link *l = t->data;
  if (l->state == LINK_UP || l->state == LINK_CLOSING) return;
  link_closef(l, MOMEDO_E_TIMEOUT, "no TLS handshake within %llu ms",
              (unsigned long long)l->cfg.handshake_timeout_ms);
}

/* Pin the peer key, then go up. */
static void link_handshake_done(struct link *l) {
  char got[NODE_KEY_PREFIX_LEN + 1], want[NODE_KEY_PREFIX_LEN + 1];
  l->tls_ready = 1;
  int rc = tls_conn_peer_key(l->tc, l->peer_key);
  if (rc != 0 && rc != MOMEDO_E_NOTFOUND) {
    link_closef(l, rc, "peer certificate carries no usable Ed25519 key");
    return;
  }
  l->has_peer_key = rc == 0;
  if (l->has_expected && !l->has_peer_key) {
    link_close(l, MOMEDO_E_AUTH, "peer presented no certificate");
    return;
  }
  if (l->has_expected && !crypto_ct_eq(l->peer_key, l->expected, NODE_KEY_LEN)) {
    node_key_prefix(l->peer_key, got);
    node_key_prefix(l->expected, want);
    link_closef(l, MOMEDO_E_KEYCHANGED, "peer key %s... is not the pinned key %s...", got,
                want);
    return;
  }
  l->state = LINK_UP;
  l->up_ms = l->last_rx_ms = uv_now(l->loop);
  uv_timer_stop(&l->timer);
  uint64_t tick = l->cfg.ping_interval_ms ? l->cfg.ping_interval_ms : l->cfg.dead_peer_ms;
  if (tick) uv_timer_start(&l->timer, link_on_tick, tick, tick);
  if (l->has_peer_key) node_key_prefix(l->peer_key, got);
  node_log(NODE_LOG_INFO, "link %s up peer=%s", l->name, l->has_peer_key ? got : "(no certificate)");
  if (l->cbs.on_up) l->cbs.on_up(l, l->has_peer_key ? l->peer_key : NULL);
}

static void link_pump(struct link *l) {
  if (l->state == LINK_HANDSHAKE) {
    int rc = tls_conn_handshake(l->tc);
    link_flush(l); /* our next flight, or the alert explaining a failure */
    if (l->state == LINK_CLOSING || rc == MOMEDO_E_AGAIN) return;
    if (rc != 0) {
      link_closef(l, rc, "TLS handshake failed: %s", tls_conn_error(l->tc));
      return;
    }
    link_handshake_done(l);
  }
  if (l->state == LINK_UP) link_drain(l);
}

static void link_on_kick(uv_timer_t *t) { link_pump(t->data); }

/* libuv reads into the thread's scratch and calls link_on_read at once. Should the
 * scratch ever be out (it cannot: reads do not nest), libuv gets no buffer, reports
 * UV_ENOBUFS and retries on the next loop iteration. */
static void link_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct link_scratch *s = link_scratch;
  (void)h;
  (void)hint;
  if (s->rbuf_busy) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  s->rbuf_busy = 1;
  *buf = uv_buf_init((char *)s->rbuf, sizeof s->rbuf);
}

static void link_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  struct link *l = st->data;
  struct link_scratch *s = link_scratch;
  int rc = 0;
  if (nread > 0 && l->state != LINK_CLOSING)
    rc = tls_conn_feed(l->tc, (const uint8_t *)buf->base, (size_t)nread); /* copies */
  if (buf->base == (char *)s->rbuf) s->rbuf_busy = 0;
  if (l->state == LINK_CLOSING || nread == 0 || nread == UV_ENOBUFS) return;
  if (nread < 0) {
    if (nread == UV_EOF)
      link_close(l, MOMEDO_E_CLOSED,
                 l->peer_error[0] ? l->peer_error : "peer closed the connection");
    else
      link_closef(l, MOMEDO_E_IO, "read: %s", uv_strerror((int)nread));
    return;
  }
  l->last_rx_ms = uv_now(l->loop);
  if (rc != 0) {
    link_closef(l, rc, "cannot buffer TLS input: %s", momedo_strerror(rc));
    return;
  }
  link_pump(l);
}

static void link_start_reading(struct link *l) {
  if (l->reading || l->paused || !l->tcp_connected || l->state == LINK_CLOSING) return;
  int rc = uv_read_start((uv_stream_t *)&l->tcp, link_on_alloc, link_on_read);
  if (rc != 0) {
    link_closef(l, MOMEDO_E_IO, "read start: %s", uv_strerror(rc));
    return;
  }
  l->reading = 1;
}

void link_pause_read(struct link *l) {
  l->paused = 1;
  if (l->reading) uv_read_stop((uv_stream_t *)&l->tcp);
  l->reading = 0;
}

void link_resume_read(struct link *l) {
  if (!l->paused || l->state == LINK_CLOSING) return;
  l->paused = 0;
  l->last_rx_ms = uv_now(l->loop); /* silence while paused was ours, not the peer's */
  link_start_reading(l);
  /* Frames buffered before the pause are delivered from the loop, not from here:
   * the caller may be inside another link's callback. */
  if (l->state == LINK_HANDSHAKE || l->state == LINK_UP)
    uv_timer_start(&l->kick, link_on_kick, 0, 0);
}

/* ---- creation ------------------------------------------------------------------ */

static int link_new(struct link **out, uv_loop_t *loop, struct tls_ctx *tls,
                    const struct link_config *cfg, const struct link_callbacks *cbs,
                    void *data, int inbound) {
  *out = NULL;
  if (link_scratch_hold() != 0) return MOMEDO_E_NOMEM;
  struct link *l = calloc(1, sizeof *l);
  if (l == NULL) {
    link_scratch_release();
    return MOMEDO_E_NOMEM;
  }
  int rc = tls_conn_new(&l->tc, tls);
  if (rc != 0) {
    free(l);
    link_scratch_release();
    return rc;
  }
  l->loop = loop;
  if (cfg)
    l->cfg = *cfg;
  else
    link_config_default(&l->cfg);
  if (l->cfg.frame_bytes_max == 0) l->cfg.frame_bytes_max = FRAME_BYTES_MAX_DEFAULT;
  if (cbs) l->cbs = *cbs;
  l->data = data;
  l->inbound = inbound;
  frame_decoder_init(&l->dec, l->cfg.frame_bytes_max);
  arena_init(&l->ctrl, LINK_CTRL_ARENA_BYTES);
  /* Three handles, always: closing is then the same in every state. */
  if (uv_tcp_init(loop, &l->tcp) != 0) {
    link_free(l);
    return MOMEDO_E_IO;
  }
  uv_timer_init(loop, &l->timer);
  uv_timer_init(loop, &l->kick);
  l->tcp.data = l->timer.data = l->kick.data = l->gai.data = l;
  l->connect_req.data = l->shutdown_req.data = l;
  l->handles_open = 3;
  l->state = LINK_HANDSHAKE;
  if (l->cfg.handshake_timeout_ms)
    uv_timer_start(&l->timer, link_on_handshake_timeout, l->cfg.handshake_timeout_ms, 0);
  *out = l;
  return 0;
}

static void link_name_peer(struct link *l) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char ip[64] = "?";
  int port = 0;
  if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) {
      const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
      uv_ip4_name(a, ip, sizeof ip);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
      uv_ip6_name(a, ip, sizeof ip);
      port = ntohs(a->sin6_port);
    }
  }
  snprintf(l->name, sizeof l->name, strchr(ip, ':') ? "in [%s]:%d" : "in %s:%d", ip, port);
}

int link__accept(uv_stream_t *server, struct tls_ctx *tls, const struct link_config *cfg,
                 const struct link_callbacks *cbs, void *data, struct link **out) {
  struct link *l;
  *out = NULL;
  int rc = link_new(&l, server->loop, tls, cfg, cbs, data, 1);
  if (rc != 0) return rc;
  snprintf(l->name, sizeof l->name, "in ?");
  if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0) {
    link_close(l, MOMEDO_E_IO, "accept failed");
    return 0;
  }
  l->tcp_connected = 1;
  (void)uv_tcp_nodelay(&l->tcp, 1);
  link_name_peer(l);
  *out = l;
  return 0;
}

void link__start(struct link *l) {
  l->notify_down = 1;
  link_start_reading(l);
}

void link__set_dialer(struct link *l, struct link_dialer *d) { l->dialer = d; }

static void link_on_connected(uv_connect_t *req, int status) {
  struct link *l = req->data;
  if (l->state == LINK_CLOSING) return;
  if (status < 0) {
    link_closef(l, status == UV_ECONNREFUSED ? MOMEDO_E_CONNREFUSED : MOMEDO_E_IO,
                "connect: %s", uv_strerror(status));
    return;
  }
  l->tcp_connected = 1;
  (void)uv_tcp_nodelay(&l->tcp, 1);
  l->state = LINK_HANDSHAKE;
  link_start_reading(l);
  link_pump(l); /* sends the ClientHello */
}

static void link_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  struct link *l = req->data;
  l->gai_pending = 0;
  if (l->state == LINK_CLOSING) {
    if (res) uv_freeaddrinfo(res);
    link_maybe_free(l);
    return;
  }
  if (status < 0 || res == NULL) {
    link_closef(l, MOMEDO_E_IO, "cannot resolve: %s", uv_strerror(status));
    if (res) uv_freeaddrinfo(res);
    return;
  }
  l->state = LINK_CONNECTING;
  int rc = uv_tcp_connect(&l->connect_req, &l->tcp, res->ai_addr, link_on_connected);
  uv_freeaddrinfo(res);
  if (rc != 0) link_closef(l, MOMEDO_E_IO, "connect: %s", uv_strerror(rc));
}

int link_connect(uv_loop_t *loop, const char *host, uint16_t port, struct tls_ctx *tls,
                 const uint8_t *expected_key, const struct link_config *cfg,
                 const struct link_callbacks *cbs, void *data, struct link **out) {
  struct link *l;
  char port_s[8];
  struct addrinfo hints;
  assert(tls_ctx_role(tls) == TLS_ROLE_CLIENT);
  *out = NULL;
  if (strlen(host) >= LINK_HOST_MAX || host[0] == '\0' || port == 0) return MOMEDO_E_INVAL;
  int rc = link_new(&l, loop, tls, cfg, cbs, data, 0);
  if (rc != 0) return rc;
  snprintf(l->name, sizeof l->name, strchr(host, ':') ? "out [%s]:%u" : "out %s:%u", host,
           port);
  if (expected_key) {
    l->has_expected = 1;
    memcpy(l->expected, expected_key, NODE_KEY_LEN);
  }
  l->state = LINK_RESOLVING;
  snprintf(port_s, sizeof port_s, "%u", port);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  rc = uv_getaddrinfo(loop, &l->gai, link_on_resolved, host, port_s, &hints);
  if (rc != 0) {
    link_closef(l, MOMEDO_E_IO, "resolve: %s", uv_strerror(rc)); /* no on_down: not handed out */
    return MOMEDO_E_IO;
  }
  l->gai_pending = 1;
  l->notify_down = 1;
  node_log(NODE_LOG_DEBUG, "link %s connecting", l->name);
  *out = l;
  return 0;
}

void link_set_quiet(struct link *l, int quiet) { l->quiet = quiet != 0; }
void link_set_data(struct link *l, void *data) { l->data = data; }
void *link_data(const struct link *l) { return l->data; }
const char *link_name(const struct link *l) { return l->name; }
int link_is_up(const struct link *l) { return l->state == LINK_UP; }
int link_is_inbound(const struct link *l) { return l->inbound; }
