/* tests/bench/peers/xmpp_load.c — bench_peers_xmpp: the XMPP side of the peers benchmark
 * (tests/bench/peers/run). C plaintext TCP connections on one libuv loop, SASL PLAIN,
 * resource bind; three phases against one server:
 *   register: in-band registration (XEP-0077) of senders s0..s(C-1), recipients r0..r(N-1);
 *   store:    each sender enables XEP-0198 and sends its share of N x M chat messages of
 *             B body bytes to offline recipients, at most W unacknowledged, <r/> every K;
 *             rate = messages the server acknowledged (<a h=.../>) per second;
 *   fetch:    each recipient logs in, sends initial presence, receives its M offline
 *             messages (the server deletes them), pings the server (nothing more may come
 *             first) and leaves; rate = messages received per second, logins included;
 *   login:    (before fetch) each recipient logs in and binds, without presence, and
 *             leaves: what the logins alone cost, to take out of the fetch's time.
 * Prints one JSON object with per-phase seconds, rates, the driver's own CPU and the
 * server's CPU and RSS (--pid, /proc). Exit 1 if anything was lost or failed. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "xmpp_xml.h"

#define XL_CONNS_MAX 1024
#define XL_RECIPIENTS_MAX 1000000
#define XL_MESSAGES_MAX 100000
#define XL_BODY_MAX 65536
#define XL_IN_MAX (8u * 1024 * 1024) /* unparsed input per connection */
#define XL_READ_BYTES (64u * 1024)
#define XL_ATTR_MAX 256
#define XL_ERR_MAX 256
#define XL_DOMAIN "localhost"
#define XL_NS_SM "urn:xmpp:sm:3"

enum xphase { PH_REGISTER, PH_STORE, PH_LOGIN, PH_FETCH, PH_COUNT };
static const char *const phase_name[PH_COUNT] = {"register", "store", "login", "fetch"};

enum xst {
  X_IDLE,
  X_CONNECTING,
  X_HEADER,
  X_FEATURES,
  X_REG_WAIT,
  X_AUTH_WAIT,
  X_HEADER2,
  X_FEATURES2,
  X_BIND_WAIT,
  X_SM_WAIT,
  X_SENDING,
  X_RECEIVING,
  X_PING_WAIT,
  X_CLOSING
};

struct xload;

struct xconn {
  struct xload *ld;
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_shutdown_t sreq;
  unsigned idx;
  enum xst st;
  struct xx_stream xs;
  char *in;
  size_t in_len, in_cap;
  char *out;
  size_t out_len, out_cap;
  uint64_t job;                               /* this connection's job number in the phase */
  uint64_t user;                              /* account of the current job */
  uint64_t to_send, sent, acked, since_r, rx; /* store */
  uint64_t got;                               /* fetch: messages with a body for this recipient */
};

struct phase_stat {
  uint64_t t0_ns, t1_ns;
  struct rusage ru0, ru1;
  uint64_t srv_ticks0, srv_ticks1, rss_kib, hwm_kib;
  uint64_t jobs_done;
};

struct xload {
  uv_loop_t *loop;
  struct sockaddr_in dst;
  unsigned conns, ready, active;
  uint64_t recipients, messages, body_bytes, window, ack_every;
  unsigned timeout_s;
  int pid;
  int phases[PH_COUNT];
  enum xphase ph;
  uint64_t jobs; /* jobs of the current phase */
  uint64_t registered, conflicts, acked, fetched, extra, bounced;
  struct phase_stat st[PH_COUNT];
  struct xconn *c;
  uv_timer_t deadline;
  char body[XL_BODY_MAX + 1];
  char err[XL_ERR_MAX];
};

static char rbuf_[XL_READ_BYTES];

static void xl_err(struct xload *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xl_err(struct xload *ld, const char *fmt, ...) {
  if (ld->err[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ld->err, sizeof ld->err, fmt, ap);
  va_end(ap);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* utime + stime ticks, VmRSS, VmHWM of the server; 0s if unreadable. */
static void srv_sample(int pid, uint64_t *ticks, uint64_t *rss, uint64_t *hwm) {
  char path[64], buf[4096];
  unsigned long long ut = 0, stt = 0, v;
  *ticks = *rss = *hwm = 0;
  if (pid <= 0) return;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) == 2)
    *ticks = ut + stt;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  if (!(f = fopen(path, "r"))) return;
  while (fgets(buf, sizeof buf, f)) {
    if (sscanf(buf, "VmRSS: %llu kB", &v) == 1) *rss = v;
    if (sscanf(buf, "VmHWM: %llu kB", &v) == 1) *hwm = v;
  }
  fclose(f);
}

/* ---- output ------------------------------------------------------------------------ */

static void out_put(struct xconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_put(struct xconn *c, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = c->out_cap - c->out_len;
    int n = vsnprintf(c->out ? c->out + c->out_len : NULL, c->out ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < room) {
      c->out_len += (size_t)n;
      return;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap - c->out_len <= (size_t)n) cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p) abort(); /* a measuring tool: out of memory ends the run */
    c->out = p;
    c->out_cap = cap;
  }
}

struct wreq {
  uv_write_t req;
  char *buf;
};

static void on_write(uv_write_t *req, int status) {
  struct wreq *w = (struct wreq *)req;
  (void)status; /* a failed write shows up as a read error or a timeout */
  free(w->buf);
  free(w);
}

/* Hand what was queued to the socket (the buffer moves to the write request). */
static void out_flush(struct xconn *c) {
  if (!c->out_len) return;
  struct wreq *w = malloc(sizeof *w);
  if (!w) abort();
  w->buf = c->out;
  uv_buf_t b = uv_buf_init(c->out, (unsigned)c->out_len);
  c->out = NULL;
  c->out_len = c->out_cap = 0;
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
    free(w->buf);
    free(w);
  }
}

static void b64(const unsigned char *in, size_t n, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = 0;
}

/* Account names: senders s<i>, recipients r<i>; password pw-<name>. */
static void user_name(const struct xload *ld, uint64_t user, char *out, size_t cap) {
  if (user < ld->conns)
    snprintf(out, cap, "s%" PRIu64, user);
  else
    snprintf(out, cap, "r%" PRIu64, user - ld->conns);
}

static void send_header(struct xconn *c) {
  out_put(c, "<?xml version='1.0'?><stream:stream to='" XL_DOMAIN
             "' xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
  out_flush(c);
}

/* ---- jobs ---------------------------------------------------------------------------- */

static void conn_fail(struct xconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void phase_end(struct xload *ld);
static void job_start(struct xconn *c);

/* The account of job j of connection i in the current phase, or UINT64_MAX if none. */
static uint64_t job_user(const struct xload *ld, unsigned i, uint64_t j) {
  if (ld->ph == PH_STORE) return j == 0 ? i : UINT64_MAX;
  uint64_t k = (uint64_t)i + j * ld->conns;
  uint64_t n = ld->ph == PH_REGISTER ? ld->conns + ld->recipients : ld->recipients;
  if (k >= n) return UINT64_MAX;
  return ld->ph == PH_REGISTER ? k : ld->conns + k;
}

static void on_closed(uv_handle_t *h) {
  struct xconn *c = h->data;
  struct xload *ld = c->ld;
  c->st = X_IDLE;
  c->in_len = 0;
  free(c->out);
  c->out = NULL;
  c->out_len = c->out_cap = 0;
  if (ld->err[0]) {
    if (--ld->active == 0) phase_end(ld);
    return;
  }
  c->job++;
  if (job_user(ld, c->idx, c->job) == UINT64_MAX) {
    if (--ld->active == 0) phase_end(ld);
    return;
  }
  job_start(c);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  struct xconn *c = req->data;
  (void)status;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* The job is over: close the stream, then the socket once the writes are out. */
static void job_done(struct xconn *c) {
  c->ld->st[c->ld->ph].jobs_done++;
  c->st = X_CLOSING;
  out_put(c, "</stream:stream>");
  out_flush(c);
  c->sreq.data = c;
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void conn_fail(struct xconn *c, const char *fmt, ...) {
  struct xload *ld = c->ld;
  if (c->st == X_CLOSING || c->st == X_IDLE) return;
  if (!ld->err[0]) {
    char name[32];
    int n;
    va_list ap;
    user_name(ld, c->user, name, sizeof name);
    n = snprintf(ld->err, sizeof ld->err, "%s, %s: ", phase_name[ld->ph], name);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof ld->err)
      vsnprintf(ld->err + n, sizeof ld->err - (size_t)n, fmt, ap);
    va_end(ap);
  }
  c->st = X_CLOSING;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* ---- the store phase ---------------------------------------------------------------- */

/* Message number k of all N*M goes to recipient k % N; connection i sends k = i + jC. */
static void fill_window(struct xconn *c) {
  struct xload *ld = c->ld;
  while (c->sent < c->to_send && c->sent - c->acked < ld->window) {
    uint64_t k = c->idx + c->sent * ld->conns;
    out_put(c,
            "<message to='r%" PRIu64 "@" XL_DOMAIN "' type='chat' id='m%" PRIu64
            "'><body>%016" PRIu64 "%s</body></message>",
            k % ld->recipients, k, k, ld->body + 16);
    c->sent++;
    if (++c->since_r >= ld->ack_every || c->sent == c->to_send) {
      out_put(c, "<r xmlns='" XL_NS_SM "'/>");
      c->since_r = 0;
    }
  }
  out_flush(c);
}

static void store_start(struct xload *ld) {
  struct phase_stat *s = &ld->st[PH_STORE];
  uint64_t rss, hwm;
  s->t0_ns = now_ns();
  getrusage(RUSAGE_SELF, &s->ru0);
  srv_sample(ld->pid, &s->srv_ticks0, &rss, &hwm);
  for (unsigned i = 0; i < ld->conns; i++)
    if (ld->c[i].st == X_SENDING) fill_window(&ld->c[i]);
}

static void on_ack(struct xconn *c, const char *st, size_t len) {
  struct xload *ld = c->ld;
  char h[XL_ATTR_MAX];
  if (xx_attr(st, len, "h", h, sizeof h) != 0) {
    conn_fail(c, "%s", "<a/> without h");
    return;
  }
  uint64_t v = strtoull(h, NULL, 10);
  if (v < c->acked || v > c->sent) {
    conn_fail(c, "<a h='%s'/> but %" PRIu64 " sent, %" PRIu64 " acknowledged", h, c->sent,
              c->acked);
    return;
  }
  ld->acked += v - c->acked;
  c->acked = v;
  if (c->acked == c->to_send) {
    job_done(c);
    return;
  }
  fill_window(c);
}

/* ---- stanzas ------------------------------------------------------------------------- */

static void send_auth(struct xconn *c) {
  char name[32], pw[40];
  unsigned char plain[80];
  char enc[120];
  user_name(c->ld, c->user, name, sizeof name);
  snprintf(pw, sizeof pw, "pw-%s", name);
  size_t nl = strlen(name), pl = strlen(pw);
  plain[0] = 0;
  memcpy(plain + 1, name, nl);
  plain[1 + nl] = 0;
  memcpy(plain + 2 + nl, pw, pl);
  b64(plain, 2 + nl + pl, enc);
  out_put(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
  out_flush(c);
  c->st = X_AUTH_WAIT;
}

static void on_features(struct xconn *c, const char *st, size_t len) {
  char name[32];
  if (c->st == X_FEATURES && c->ld->ph == PH_REGISTER) {
    user_name(c->ld, c->user, name, sizeof name);
    out_put(c,
            "<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>%s"
            "</username><password>pw-%s</password></query></iq>",
            name, name);
    out_flush(c);
    c->st = X_REG_WAIT;
  } else if (c->st == X_FEATURES) {
    if (!xx_has(st, len, "mechanisms") || !strstr(st, ">PLAIN<")) {
      conn_fail(c, "%s", "the server offers no SASL PLAIN");
      return;
    }
    send_auth(c);
  } else if (c->st == X_FEATURES2) {
    out_put(c,
            "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            "<resource>bench</resource></bind></iq>");
    out_flush(c);
    c->st = X_BIND_WAIT;
  } else {
    conn_fail(c, "%s", "unexpected stream features");
  }
}

static void on_iq(struct xconn *c, const char *st, size_t len) {
  struct xload *ld = c->ld;
  char type[16], id[XL_ATTR_MAX];
  if (xx_attr(st, len, "type", type, sizeof type) != 0) type[0] = 0;
  if (xx_attr(st, len, "id", id, sizeof id) != 0) id[0] = 0;
  if (!strcmp(type, "get") || !strcmp(type, "set")) { /* the server asks: say no */
    out_put(c,
            "<iq type='error' id='%s'><error type='cancel'><service-unavailable "
            "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
            id);
    out_flush(c);
    return;
  }
  int ok = !strcmp(type, "result");
  if (c->st == X_REG_WAIT && !strcmp(id, "reg")) {
    if (ok)
      ld->registered++;
    else if (xx_has(st, len, "conflict"))
      ld->conflicts++; /* registered before */
    else {
      const char *e = strstr(st, "<error");
      conn_fail(c, "registration refused: %.160s", e ? e : st);
      return;
    }
    job_done(c);
  } else if (c->st == X_BIND_WAIT && !strcmp(id, "bind")) {
    if (!ok) {
      conn_fail(c, "%s", "bind refused");
      return;
    }
    if (ld->ph == PH_LOGIN) {
      job_done(c);
      return;
    }
    if (ld->ph == PH_STORE) {
      out_put(c, "<enable xmlns='" XL_NS_SM "'/>");
      c->st = X_SM_WAIT;
    } else {
      out_put(c, "<presence/>"); /* initial presence: the server delivers offline messages */
      c->st = X_RECEIVING;
    }
    out_flush(c);
  } else if (c->st == X_PING_WAIT && !strcmp(id, "ping")) {
    job_done(c);
  } else {
    conn_fail(c, "unexpected iq: %.120s", st);
  }
}

static void on_message(struct xconn *c, const char *st, size_t len) {
  struct xload *ld = c->ld;
  char type[16];
  if (xx_attr(st, len, "type", type, sizeof type) == 0 && !strcmp(type, "error")) {
    ld->bounced++;
    xl_err(ld, "%s: the server bounced a message: %.120s", phase_name[ld->ph], st);
    return;
  }
  if (ld->ph != PH_FETCH || !xx_has(st, len, "body")) return;
  if (c->st == X_PING_WAIT) {
    ld->extra++;
    xl_err(ld, "fetch: recipient %" PRIu64 " got more than %" PRIu64 " messages",
           c->user - ld->conns, ld->messages);
    return;
  }
  if (c->st != X_RECEIVING) {
    conn_fail(c, "%s", "a message before presence");
    return;
  }
  ld->fetched++;
  if (++c->got == ld->messages) {
    out_put(c, "<iq type='get' id='ping' to='" XL_DOMAIN "'><ping xmlns='urn:xmpp:ping'/></iq>");
    out_flush(c);
    c->st = X_PING_WAIT;
  }
}

static void on_stanza(struct xconn *c, const char *st, size_t len) {
  char name[XX_NAME_MAX + 1];
  if (xx_name(st, len, name, sizeof name) != 0) {
    conn_fail(c, "%s", "unnamed element");
    return;
  }
  if (c->st == X_SENDING && strcmp(name, "a") && strcmp(name, "r")) c->rx++;
  if (!strcmp(name, "stream:features")) {
    on_features(c, st, len);
  } else if (!strcmp(name, "success") && c->st == X_AUTH_WAIT) {
    c->xs.in_stream = 0; /* the stream restarts */
    c->st = X_HEADER2;
    send_header(c);
  } else if (!strcmp(name, "failure") || !strcmp(name, "stream:error")) {
    conn_fail(c, "%.160s", st);
  } else if (!strcmp(name, "iq")) {
    on_iq(c, st, len);
  } else if (!strcmp(name, "enabled") && c->st == X_SM_WAIT) {
    c->st = X_SENDING;
    if (++c->ld->ready == c->ld->conns) store_start(c->ld);
  } else if (!strcmp(name, "a") && c->st == X_SENDING) {
    on_ack(c, st, len);
  } else if (!strcmp(name, "r")) {
    out_put(c, "<a xmlns='" XL_NS_SM "' h='%" PRIu64 "'/>", c->rx);
    out_flush(c);
  } else if (!strcmp(name, "message")) {
    on_message(c, st, len);
  } /* presence and anything else: ignored */
}

/* ---- sockets ------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  (void)hint;
  *b = uv_buf_init(rbuf_, sizeof rbuf_);
}

static void parse_input(struct xconn *c) {
  size_t off = 0;
  while (c->st != X_CLOSING && off < c->in_len) {
    size_t used = 0, start = 0;
    int k = xx_next(&c->xs, c->in + off, c->in_len - off, &used, &start);
    if (k == XX_MORE) break;
    if (k == XX_ERROR) {
      conn_fail(c, "malformed XML: %.80s", c->in + off);
      return;
    }
    const char *st = c->in + off + start;
    size_t len = used - start;
    off += used;
    if (k == XX_HEADER) {
      if (c->st == X_HEADER)
        c->st = X_FEATURES;
      else if (c->st == X_HEADER2)
        c->st = X_FEATURES2;
      else {
        conn_fail(c, "%s", "unexpected stream header");
        return;
      }
    } else if (k == XX_END) {
      {
        conn_fail(c, "%s", "the server closed the stream");
        return;
      }
    } else {
      char save = c->in[off]; /* NUL-terminate the stanza for strstr, then restore */
      c->in[off] = 0;
      on_stanza(c, st, len);
      if (c->st != X_CLOSING && c->st != X_IDLE) c->in[off] = save;
    }
  }
  if (c->st == X_CLOSING || c->st == X_IDLE) return;
  memmove(c->in, c->in + off, c->in_len - off);
  c->in_len -= off;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  struct xconn *c = s->data;
  if (nread == 0 || c->st == X_CLOSING) return;
  if (nread < 0) {
    conn_fail(c, "connection closed: %s", uv_strerror((int)nread));
    return;
  }
  if (c->in_len + (size_t)nread + 1 > c->in_cap) {
    size_t cap = c->in_cap ? c->in_cap : 65536;
    while (cap < c->in_len + (size_t)nread + 1) cap *= 2;
    if (cap > XL_IN_MAX) {
      conn_fail(c, "%s", "more than 8 MiB of unparsed input");
      return;
    }
    char *p = realloc(c->in, cap);
    if (!p) abort();
    c->in = p;
    c->in_cap = cap;
  }
  memcpy(c->in + c->in_len, b->base, (size_t)nread);
  c->in_len += (size_t)nread;
  parse_input(c);
}

static void on_connect(uv_connect_t *req, int status) {
  struct xconn *c = req->data;
  if (status < 0) {
    conn_fail(c, "connect: %s", uv_strerror(status));
    return;
  }
  (void)uv_tcp_nodelay(&c->tcp, 1);
  c->st = X_HEADER;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  send_header(c);
}

static void job_start(struct xconn *c) {
  struct xload *ld = c->ld;
  c->user = job_user(ld, c->idx, c->job);
  c->xs.in_stream = 0;
  c->got = c->sent = c->acked = c->since_r = c->rx = 0;
  if (ld->ph == PH_STORE) {
    uint64_t total = ld->recipients * ld->messages;
    c->to_send = total / ld->conns + (c->idx < total % ld->conns);
  }
  c->st = X_CONNECTING;
  uv_tcp_init(ld->loop, &c->tcp);
  c->tcp.data = c;
  c->creq.data = c;
  int rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&ld->dst, on_connect);
  if (rc) conn_fail(c, "connect: %s", uv_strerror(rc));
}

/* ---- phases, output ----------------------------------------------------------------- */

static void phase_begin(struct xload *ld) {
  while (ld->ph < PH_COUNT && !ld->phases[ld->ph]) ld->ph++;
  if (ld->ph >= PH_COUNT || ld->err[0]) {
    uv_timer_stop(&ld->deadline);
    uv_close((uv_handle_t *)&ld->deadline, NULL);
    return;
  }
  struct phase_stat *s = &ld->st[ld->ph];
  uint64_t rss, hwm;
  s->t0_ns = now_ns();
  getrusage(RUSAGE_SELF, &s->ru0);
  srv_sample(ld->pid, &s->srv_ticks0, &rss, &hwm);
  uv_timer_again(&ld->deadline);
  ld->ready = 0;
  ld->active = ld->conns;
  for (unsigned i = 0; i < ld->conns; i++) {
    ld->c[i].job = 0;
    if (job_user(ld, i, 0) == UINT64_MAX)
      ld->active--;
    else
      job_start(&ld->c[i]);
  }
  if (ld->active == 0) phase_end(ld);
}

static void phase_end(struct xload *ld) {
  struct phase_stat *s = &ld->st[ld->ph];
  s->t1_ns = now_ns();
  getrusage(RUSAGE_SELF, &s->ru1);
  srv_sample(ld->pid, &s->srv_ticks1, &s->rss_kib, &s->hwm_kib);
  ld->ph++;
  phase_begin(ld);
}

static void on_deadline(uv_timer_t *t) {
  struct xload *ld = t->data;
  xl_err(ld, "%s: timed out after %u s (acked %" PRIu64 ", fetched %" PRIu64 ")",
         phase_name[ld->ph], ld->timeout_s, ld->acked, ld->fetched);
  for (unsigned i = 0; i < ld->conns; i++) {
    struct xconn *c = &ld->c[i];
    if (c->st != X_IDLE && c->st != X_CLOSING) {
      c->st = X_CLOSING;
      uv_close((uv_handle_t *)&c->tcp, on_closed);
    }
  }
}

static double tv_s(const struct timeval *tv) { return (double)tv->tv_sec + tv->tv_usec / 1e6; }

static void print_phase(const struct xload *ld, enum xphase p, uint64_t count) {
  const struct phase_stat *s = &ld->st[p];
  double secs = (double)(s->t1_ns - s->t0_ns) / 1e9, hz = (double)sysconf(_SC_CLK_TCK);
  double dcpu = tv_s(&s->ru1.ru_utime) + tv_s(&s->ru1.ru_stime) - tv_s(&s->ru0.ru_utime) -
                tv_s(&s->ru0.ru_stime);
  double scpu = (double)(s->srv_ticks1 - s->srv_ticks0) / hz;
  printf(",\"%s\":{\"count\":%" PRIu64
         ",\"seconds\":%.3f,\"per_s\":%.0f,\"driver_cpu_s\":%.2f,"
         "\"driver_cpu_pct\":%.0f,\"server_cpu_s\":%.2f,\"server_cpu_pct\":%.0f,"
         "\"server_rss_kib\":%" PRIu64 ",\"server_hwm_kib\":%" PRIu64 "}",
         phase_name[p], count, secs, secs > 0 ? (double)count / secs : 0.0, dcpu,
         secs > 0 ? 100.0 * dcpu / secs : 0.0, scpu, secs > 0 ? 100.0 * scpu / secs : 0.0,
         s->rss_kib, s->hwm_kib);
}

static void print_result(const struct xload *ld) {
  printf("{\"ok\":%s,\"conns\":%u,\"recipients\":%" PRIu64 ",\"messages\":%" PRIu64
         ",\"body_bytes\":%" PRIu64 ",\"window\":%" PRIu64 ",\"ack_every\":%" PRIu64
         ",\"registered\":%" PRIu64 ",\"already_registered\":%" PRIu64 ",\"acked\":%" PRIu64
         ",\"fetched\":%" PRIu64 ",\"extra\":%" PRIu64 ",\"bounced\":%" PRIu64,
         ld->err[0] ? "false" : "true", ld->conns, ld->recipients, ld->messages, ld->body_bytes,
         ld->window, ld->ack_every, ld->registered, ld->conflicts, ld->acked, ld->fetched,
         ld->extra, ld->bounced);
  if (ld->phases[PH_REGISTER] && ld->st[PH_REGISTER].t1_ns)
    print_phase(ld, PH_REGISTER, ld->registered + ld->conflicts);
  if (ld->phases[PH_STORE] && ld->st[PH_STORE].t1_ns) print_phase(ld, PH_STORE, ld->acked);
  if (ld->phases[PH_LOGIN] && ld->st[PH_LOGIN].t1_ns)
    print_phase(ld, PH_LOGIN, ld->st[PH_LOGIN].jobs_done);
  if (ld->phases[PH_FETCH] && ld->st[PH_FETCH].t1_ns) print_phase(ld, PH_FETCH, ld->fetched);
  if (ld->err[0]) {
    printf(",\"error\":\"");
    for (const char *p = ld->err; *p; p++)
      putchar(*p == '"' || *p == '\\' ? '\'' : (*p < 32 ? ' ' : *p));
    putchar('"');
  }
  printf("}\n");
}

/* ---- command line ------------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr,
          "usage: bench_peers_xmpp --port P [--conns 16] [--recipients 1000] [--messages 100]\n"
          "         [--bytes 256] [--window 32] [--ack-every 8] [--pid SERVER_PID]\n"
          "         [--phases register,store,login,fetch] [--timeout-s 600]\n"
          "An XMPP server for domain '" XL_DOMAIN
          "' on 127.0.0.1:P with in-band registration;\n"
          "accounts s0.. and r0.. with password pw-<name>.\n");
}

static int num_arg(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_phases(struct xload *ld, const char *s) {
  char buf[64];
  if (strlen(s) >= sizeof buf) return -1;
  strcpy(buf, s);
  memset(ld->phases, 0, sizeof ld->phases);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (int p = 0; p < PH_COUNT; p++)
      if (!strcmp(t, phase_name[p])) ld->phases[p] = found = 1;
    if (!found) return -1;
  }
  return 0;
}

static int parse_args(struct xload *ld, int argc, char **argv) {
  uint64_t v, port = 0;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return -1;
    const char *k = argv[i], *val = argv[i + 1];
    if (!strcmp(k, "--port") && !num_arg(val, 1, 65535, &port))
      continue;
    else if (!strcmp(k, "--conns") && !num_arg(val, 1, XL_CONNS_MAX, &v))
      ld->conns = (unsigned)v;
    else if (!strcmp(k, "--recipients") && !num_arg(val, 1, XL_RECIPIENTS_MAX, &v))
      ld->recipients = v;
    else if (!strcmp(k, "--messages") && !num_arg(val, 1, XL_MESSAGES_MAX, &v))
      ld->messages = v;
    else if (!strcmp(k, "--bytes") && !num_arg(val, 32, XL_BODY_MAX, &v))
      ld->body_bytes = v;
    else if (!strcmp(k, "--window") && !num_arg(val, 1, 100000, &v))
      ld->window = v;
    else if (!strcmp(k, "--ack-every") && !num_arg(val, 1, 100000, &v))
      ld->ack_every = v;
    else if (!strcmp(k, "--pid") && !num_arg(val, 1, INT32_MAX, &v))
      ld->pid = (int)v;
    else if (!strcmp(k, "--timeout-s") && !num_arg(val, 1, 86400, &v))
      ld->timeout_s = (unsigned)v;
    else if (!strcmp(k, "--phases") && !parse_phases(ld, val))
      continue;
    else
      return -1;
  }
  if (!port || ld->ack_every > ld->window) return -1;
  uv_ip4_addr("127.0.0.1", (int)port, &ld->dst);
  return 0;
}

int main(int argc, char **argv) {
  static struct xload ld;
  uv_loop_t loop;
  ld.conns = 16;
  ld.recipients = 1000;
  ld.messages = 100;
  ld.body_bytes = 256;
  ld.window = 32;
  ld.ack_every = 8;
  ld.timeout_s = 600;
  for (int p = 0; p < PH_COUNT; p++) ld.phases[p] = 1;
  if (parse_args(&ld, argc, argv) != 0) {
    usage();
    return 2;
  }
  for (uint64_t i = 0; i < ld.body_bytes; i++) ld.body[i] = (char)('a' + i % 26);
  ld.body[ld.body_bytes] = 0;
  ld.c = calloc(ld.conns, sizeof *ld.c);
  if (!ld.c || uv_loop_init(&loop) != 0) return 1;
  for (unsigned i = 0; i < ld.conns; i++) ld.c[i].ld = &ld, ld.c[i].idx = i;
  ld.loop = &loop;
  uv_timer_init(&loop, &ld.deadline);
  ld.deadline.data = &ld;
  uv_timer_start(&ld.deadline, on_deadline, (uint64_t)ld.timeout_s * 1000,
                 (uint64_t)ld.timeout_s * 1000);
  ld.ph = PH_REGISTER;
  phase_begin(&ld);
  uv_run(&loop, UV_RUN_DEFAULT);
  (void)uv_loop_close(&loop);
  print_result(&ld);
  for (unsigned i = 0; i < ld.conns; i++) free(ld.c[i].in), free(ld.c[i].out);
  free(ld.c);
  uint64_t total = ld.recipients * ld.messages;
  int lost =
      (ld.phases[PH_STORE] && ld.acked != total) || (ld.phases[PH_FETCH] && ld.fetched != total);
  return ld.err[0] || lost || ld.extra || ld.bounced ? 1 : 0;
}
