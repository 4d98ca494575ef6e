/* tests/inproc/fake_link.c — node/link.h over memory (fake_link.h): no socket, no TLS.
 * Mirrors link.c where the node can tell: control frames (Ping answered, Pong taken,
 * Error shown to the owner), delivery while up and reading only, back-pressure
 * (E_AGAIN, on_writable), one log line per close, on_down once and from the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_link.h"
#include "frame.h"
#include "log.h"

#define TAG_ERROR 0x12 /* link.c's LINK_TAG_*: the Frame fields it looks at itself */
#define TAG_PING 0x1a
#define TAG_PONG 0x22
#define CTRL_PEEK_MAX 64

struct link {
  uv_loop_t *loop;
  struct link_callbacks cbs;
  void *data;
  struct link_config cfg;
  int up, closing, down, paused, quiet, want_writable, inbound;
  int status;
  char reason[LINK_REASON_MAX], name[LINK_ADDR_MAX];
  struct frame_decoder dec;
  uint8_t *in;                   /* fed, not yet taken by the decoder */
  size_t in_len;
  uint8_t *out, *read_copy;      /* sent, not yet read by the peer */
  size_t out_len, out_bytes_max;
  uv_timer_t timer;              /* on_down from the loop */
};

void (*fake_link_tap)(struct link *l, const uint8_t *body, size_t len);

static struct {
  uv_loop_t *loop;
  struct link_callbacks cbs;
  link_accept_fn on_accept;
  void *data;
  struct link_config cfg;
  int open;
  unsigned live, seq;
} ls_;

static struct link *link_new(uv_loop_t *loop, const struct link_config *cfg,
                             const struct link_callbacks *cbs, void *data, int inbound) {
  struct link *l = calloc(1, sizeof *l);
  if (!l) abort();
  l->loop = loop;
  l->cfg = *cfg;
  if (!l->cfg.frame_bytes_max) l->cfg.frame_bytes_max = FRAME_BYTES_MAX_DEFAULT;
  l->cbs = *cbs;
  l->data = data;
  l->inbound = inbound;
  snprintf(l->name, sizeof l->name, "%s fake:%u", inbound ? "in" : "out", ++ls_.seq);
  frame_decoder_init(&l->dec, l->cfg.frame_bytes_max);
  uv_timer_init(loop, &l->timer);
  l->timer.data = l;
  ls_.live++;
  return l;
}

int link_listen(uv_loop_t *loop, const char *host, uint16_t port, struct tls_ctx *tls,
                const struct link_config *cfg, const struct link_callbacks *cbs,
                link_accept_fn on_accept, void *data, struct link_listener **out) {
  (void)host, (void)port, (void)tls;
  ls_.loop = loop;
  ls_.cbs = *cbs;
  ls_.on_accept = on_accept;
  ls_.data = data;
  if (cfg)
    ls_.cfg = *cfg;
  else
    link_config_default(&ls_.cfg);
  ls_.open = 1;
  *out = (struct link_listener *)&ls_;
  return 0;
}

uint16_t link_listener_port(const struct link_listener *ls) { return 0; }
void link_listener_close(struct link_listener *ls) { ls_.open = 0; }

static void on_timer_closed(uv_handle_t *h) {
  struct link *l = h->data;
  if (!l->inbound) fake_link_free(l); /* a dialed link: nobody else holds it */
}

static void on_down_timer(uv_timer_t *t) {
  struct link *l = t->data;
  uv_close((uv_handle_t *)&l->timer, on_timer_closed); /* inbound: the harness frees it */
  l->down = 1;
  ls_.live--;
  if (l->cbs.on_down) l->cbs.on_down(l, l->status, l->reason);
}

void link_close(struct link *l, int status, const char *reason) {
  if (l->closing) return;
  l->closing = 1;
  l->status = status;
  snprintf(l->reason, sizeof l->reason, "%s", reason && reason[0] ? reason : momedo_strerror(status));
  node_log(l->quiet ? NODE_LOG_DEBUG : status ? NODE_LOG_WARN : NODE_LOG_INFO,
           "link %s down %s: %s", l->name, status ? momedo_status_name(status) : "OK",
           l->reason);
  uv_timer_start(&l->timer, on_down_timer, 0, 0);
}

int link_connect(uv_loop_t *loop, const char *host, uint16_t port, struct tls_ctx *tls,
                 const uint8_t *expected_key, const struct link_config *cfg,
                 const struct link_callbacks *cbs, void *data, struct link **out) {
  struct link_config d;
  (void)host, (void)port, (void)tls, (void)expected_key;
  if (!cfg) link_config_default(&d);
  struct link *l = link_new(loop, cfg ? cfg : &d, cbs, data, 0);
  link_close(l, MOMEDO_E_CONNREFUSED, "nothing listens there (fake link)");
  *out = l;
  return 0;
}

static void out_add(struct link *l, const uint8_t *p, size_t n) {
  uint8_t *o = realloc(l->out, l->out_len + n);
  if (!o) abort();
  memcpy(o + l->out_len, p, n);
  l->out = o;
  l->out_len += n;
}

int link_send(struct link *l, const uint8_t *frame_bytes, size_t len) {
  if (l->closing) return MOMEDO_E_CLOSED;
  if (!l->up) return MOMEDO_E_INVAL;
  if (l->out_bytes_max && l->out_len >= l->out_bytes_max) {
    l->want_writable = 1;
    return MOMEDO_E_AGAIN;
  }
  out_add(l, frame_bytes, len);
  return 0;
}

/* Corked frames keep their order and reach the peer as the same bytes. */
void link_cork(struct link *l) { (void)l; }
void link_uncork(struct link *l) { (void)l; }
size_t link_out_pending(const struct link *l) { return l->out_len; }
void link_pause_read(struct link *l) { l->paused = 1; }
void link_resume_read(struct link *l) {
  if (l->closing) return;
  l->paused = 0; /* what waits is delivered from the loop (fake_link_kick), not from here */
}
void link_set_quiet(struct link *l, int quiet) { l->quiet = quiet != 0; }
void link_set_data(struct link *l, void *data) { l->data = data; }
void *link_data(const struct link *l) { return l->data; }
const char *link_name(const struct link *l) { return l->name; }
int link_is_up(const struct link *l) { return l->up && !l->closing; }
int link_is_inbound(const struct link *l) { return l->inbound; }

/* ---- the harness's side ---- */

struct link *fake_link_accept(size_t out_bytes_max) {
  if (!ls_.open) return NULL;
  struct link *l = link_new(ls_.loop, &ls_.cfg, &ls_.cbs, ls_.data, 1);
  l->out_bytes_max = out_bytes_max;
  if (ls_.on_accept((struct link_listener *)&ls_, l, ls_.data) != 0) {
    l->closing = l->down = 1; /* dropped: no callbacks, as link.c */
    ls_.live--;
    uv_close((uv_handle_t *)&l->timer, NULL);
    return l;
  }
  l->up = 1;
  if (l->cbs.on_up) l->cbs.on_up(l, NULL);
  return l;
}

static void send_pong(struct link *l, uint64_t nonce) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__Ping p = MOMEDO__PING__INIT;
  uint8_t *bytes;
  size_t len;
  p.nonce = nonce;
  f.body_case = MOMEDO__FRAME__BODY_PONG;
  f.pong = &p;
  if (frame_encode(&f, FRAME_BYTES_MAX_DEFAULT, &bytes, &len) != 0) abort();
  out_add(l, bytes, len); /* control frames ignore back-pressure, as in link.c */
  free(bytes);
}

/* link.c's link_ctrl_frame: 1 if the link took the frame itself. */
static int ctrl_frame(struct link *l, const uint8_t *body, size_t len) {
  struct arena a;
  Momedo__Frame *f;
  int consumed = 0;
  if (body[0] != TAG_PING && body[0] != TAG_PONG) return 0; /* Error: shown to the owner */
  if (len > CTRL_PEEK_MAX) return 0;
  arena_init(&a, 4096);
  if (frame_unpack(body, len, &a, &f) == 0) {
    if (f->body_case == MOMEDO__FRAME__BODY_PING) send_pong(l, f->ping->nonce);
    consumed = f->body_case == MOMEDO__FRAME__BODY_PING || f->body_case == MOMEDO__FRAME__BODY_PONG;
  }
  arena_close(&a);
  return consumed;
}

void fake_link_kick(struct link *l) {
  size_t off = 0;
  while (l->up && !l->closing && !l->paused && off < l->in_len) {
    size_t used = 0;
    int rc = frame_decoder_feed(&l->dec, l->in + off, l->in_len - off, &used);
    off += used;
    if (rc < 0) {
      char why[LINK_REASON_MAX];
      if (rc == MOMEDO_E_TOOBIG)
        snprintf(why, sizeof why, "frame larger than the %zu-byte limit", l->cfg.frame_bytes_max);
      else
        snprintf(why, sizeof why, "bad frame: %s", momedo_strerror(rc));
      link_close(l, rc, why);
      break;
    }
    if (rc == 0) break;
    const uint8_t *body;
    size_t len;
    frame_decoder_body(&l->dec, &body, &len);
    if (!ctrl_frame(l, body, len) && l->cbs.on_frame) {
      if (fake_link_tap) fake_link_tap(l, body, len);
      l->cbs.on_frame(l, body, len);
    }
    frame_decoder_next(&l->dec);
  }
  memmove(l->in, l->in + off, l->in_len - off);
  l->in_len -= off;
  if (l->closing) l->in_len = 0; /* nothing more is delivered */
}

void fake_link_feed(struct link *l, const uint8_t *p, size_t n) {
  if (l->closing || n == 0) return;
  uint8_t *in = realloc(l->in, l->in_len + n);
  if (!in) abort();
  memcpy(in + l->in_len, p, n);
  l->in = in;
  l->in_len += n;
  fake_link_kick(l);
}

size_t fake_link_pending(const struct link *l) { return l->in_len; }

const uint8_t *fake_link_read(struct link *l, size_t *len) {
  free(l->read_copy);
  l->read_copy = l->out;
  *len = l->out_len;
  l->out = NULL;
  l->out_len = 0;
  if (l->want_writable && !l->closing) {
    l->want_writable = 0;
    if (l->cbs.on_writable) l->cbs.on_writable(l);
  }
  return l->read_copy;
}

void fake_link_hangup(struct link *l) { link_close(l, MOMEDO_E_CLOSED, "peer closed the connection"); }
int fake_link_paused(const struct link *l) { return l->paused; }

int fake_link_closed(const struct link *l, int *status, const char **reason) {
  if (status) *status = l->status;
  if (reason) *reason = l->reason;
  return l->closing;
}

int fake_link_down(const struct link *l) { return l->down; }

void fake_link_free(struct link *l) {
  if (!l) return;
  frame_decoder_close(&l->dec);
  free(l->in);
  free(l->out);
  free(l->read_copy);
  free(l);
}

unsigned fake_link_live(void) { return ls_.live; }
