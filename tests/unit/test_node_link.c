/* Unit tests for node/link and node/tls: real libuv loop on 127.0.0.1, two node
 * identities in one process, ephemeral ports. Handshake and key pinning, frame
 * round trips (900 KiB and 1,000-frame bursts, in order), oversized and empty frame
 * headers, garbage clients, handshake timeout, back-pressure, pausing in the middle of
 * a TLS record that carries many frames, keep-alive and
 * dead-peer detection, certificate-less clients, the reconnecting dialer. */
#include "harness.h"

#include <signal.h>
#include <uv.h>

#include "cursor.h"
#include "frame.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "tls.h"

#define SEED_A "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define SEED_B "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
#define SIDES_MAX 4
#define WATCHDOG_MS 60000 /* a hung test fails instead of blocking ctest */
#define WATCHDOG_CLOSE_MS 10000 /* after it fired: links close (flush <= 2 s) or abort */
#define BODY_MARK 0x7e    /* first body byte of test frames: no Frame field uses it */
#define BIG_BODY_BYTES (900u * 1024)
#define BURST_FRAMES 1000
#define BP_FRAME_BYTES (64u * 1024)

struct side {
  struct link *l;
  int ups, downs, status;
  char reason[LINK_REASON_MAX];
  int has_key;
  uint8_t key[NODE_KEY_LEN];
  unsigned frames, next_seq, bad, errors, writable;
  int err_code;
  uint64_t bytes;
};

struct fx {
  uv_loop_t loop;
  uv_timer_t watchdog, phase;
  struct node_identity ida, idb;
  struct tls_ctx *srv, *cli, *cli_nocert;
  struct link_listener *ls;
  uint16_t port;
  struct link_config scfg, ccfg;
  struct side c, s[SIDES_MAX];
  int ns;
  /* scenario hooks */
  void (*up)(struct side *sd);
  void (*frame)(struct side *sd);
  void (*down)(struct side *sd);
  void (*writable)(struct side *sd);
  /* raw TCP peer */
  uv_tcp_t raw;
  uv_connect_t raw_conn;
  uv_write_t raw_wr;
  int raw_open, raw_eof;
  char raw_buf[4096];
  /* scenario state */
  unsigned sent, target, again;
  int phase_done, closing, hung;
  struct link_dialer *dialer; /* NULL once stopped (it frees itself) */
};

static struct fx fx;

/* ---- frames ---------------------------------------------------------------- */

static uint8_t *make_frame(uint32_t seq, size_t body_len, size_t *out_len) {
  uint8_t *b = malloc(FRAME_HEADER_LEN + body_len);
  if (b == NULL) abort();
  be32_put(b, (uint32_t)body_len);
  b[4] = BODY_MARK;
  be32_put(b + 5, seq);
  for (size_t i = 5; i < body_len; i++) b[4 + i] = (uint8_t)(seq * 7 + i);
  *out_len = FRAME_HEADER_LEN + body_len;
  return b;
}

static int send_frame(struct side *sd, uint32_t seq, size_t body_len) {
  size_t n;
  uint8_t *b = make_frame(seq, body_len, &n);
  int rc = link_send(sd->l, b, n);
  free(b);
  return rc;
}

static void check_frame(struct side *sd, const uint8_t *body, size_t len) {
  if (len > 0 && body[0] == 0x12) { /* Error frame from the peer */
    struct arena a;
    Momedo__Frame *f;
    arena_init(&a, 8192);
    if (frame_unpack(body, len, &a, &f) == 0 && f->body_case == MOMEDO__FRAME__BODY_ERROR)
      sd->err_code = f->error->code;
    arena_close(&a);
    sd->errors++;
    return;
  }
  if (len < 5 || body[0] != BODY_MARK) {
    sd->bad++;
    return;
  }
  uint32_t seq = be32_get(body + 1);
  if (seq != sd->next_seq) sd->bad++;
  for (size_t i = 5; i < len; i++)
    if (body[i] != (uint8_t)(seq * 7 + i)) {
      sd->bad++;
      break;
    }
  sd->next_seq = seq + 1;
  sd->frames++;
  sd->bytes += len;
}

/* ---- callbacks --------------------------------------------------------------- */

static void cb_up(struct link *l, const uint8_t *key) {
  struct side *sd = link_data(l);
  sd->ups++;
  sd->has_key = key != NULL;
  if (key) memcpy(sd->key, key, NODE_KEY_LEN);
  if (fx.up) fx.up(sd);
}

static void cb_frame(struct link *l, const uint8_t *body, size_t len) {
  struct side *sd = link_data(l);
  check_frame(sd, body, len);
  if (fx.frame) fx.frame(sd);
}

static void cb_down(struct link *l, int status, const char *reason) {
  struct side *sd = link_data(l);
  sd->downs++;
  sd->status = status;
  snprintf(sd->reason, sizeof sd->reason, "%s", reason);
  sd->l = NULL;
  if (fx.down) fx.down(sd);
}

static void cb_writable(struct link *l) {
  struct side *sd = link_data(l);
  sd->writable++;
  if (fx.writable) fx.writable(sd);
}

static const struct link_callbacks cbs = {cb_up, cb_frame, cb_down, cb_writable};

static int cb_accept(struct link_listener *ls, struct link *l, void *data) {
  if (fx.ns == SIDES_MAX) return -1;
  struct side *sd = &fx.s[fx.ns++];
  sd->l = l;
  link_set_data(l, sd);
  return 0;
}

static void fx_stop_listening(void);

static void fx_dialer_stop(void) {
  if (fx.dialer) link_dialer_stop(fx.dialer);
  fx.dialer = NULL;
}

static void raw_on_closed(uv_handle_t *h);

/* A hung test fails: say where it stood, close every link, listener, dialer and raw
 * socket so that fx_run and fx_teardown return; abort if even that does not drain. */
static void on_watchdog(uv_timer_t *t) {
  if (fx.hung) {
    fprintf(stderr, "watchdog: the loop did not drain after closing everything, abort\n");
    abort();
  }
  fx.hung = 1;
  fprintf(stderr,
          "watchdog: test hung: sent %u target %u again %u phase_done %d closing %d; "
          "client ups %d frames %u writable %u pending %zu; %d server sides, first: "
          "ups %d frames %u downs %d\n",
          fx.sent, fx.target, fx.again, fx.phase_done, fx.closing, fx.c.ups,
          fx.c.frames, fx.c.writable, fx.c.l ? link_out_pending(fx.c.l) : 0, fx.ns,
          fx.s[0].ups, fx.s[0].frames, fx.s[0].downs);
  fx_dialer_stop();
  if (fx.c.l) link_close(fx.c.l, MOMEDO_E_TIMEOUT, "test watchdog");
  for (int i = 0; i < fx.ns; i++)
    if (fx.s[i].l) link_close(fx.s[i].l, MOMEDO_E_TIMEOUT, "test watchdog");
  fx_stop_listening();
  if (fx.raw_open && !uv_is_closing((uv_handle_t *)&fx.raw))
    uv_close((uv_handle_t *)&fx.raw, raw_on_closed);
  uv_timer_start(t, on_watchdog, WATCHDOG_CLOSE_MS, 0);
  uv_stop(&fx.loop);
}

/* ---- fixture ----------------------------------------------------------------- */

static void fx_setup(void) {
  uint8_t seed[32];
  memset(&fx, 0, sizeof fx);
  if (uv_loop_init(&fx.loop) != 0) abort();
  th_unhex(seed, 32, SEED_A);
  if (node_identity_from_seed(&fx.ida, seed) != 0) abort();
  th_unhex(seed, 32, SEED_B);
  if (node_identity_from_seed(&fx.idb, seed) != 0) abort();
  if (tls_ctx_new(&fx.srv, TLS_ROLE_SERVER, &fx.idb) != 0) abort();
  if (tls_ctx_new(&fx.cli, TLS_ROLE_CLIENT, &fx.ida) != 0) abort();
  if (tls_ctx_new(&fx.cli_nocert, TLS_ROLE_CLIENT, NULL) != 0) abort();
  link_config_default(&fx.scfg);
  link_config_default(&fx.ccfg);
  uv_timer_init(&fx.loop, &fx.watchdog);
  uv_timer_start(&fx.watchdog, on_watchdog, WATCHDOG_MS, 0);
  uv_unref((uv_handle_t *)&fx.watchdog); /* does not keep the loop alive */
  uv_timer_init(&fx.loop, &fx.phase);
}

static int fx_listen(void) {
  int rc = link_listen(&fx.loop, "127.0.0.1", 0, fx.srv, &fx.scfg, &cbs, cb_accept, NULL,
                       &fx.ls);
  if (rc == 0) fx.port = link_listener_port(fx.ls);
  return rc;
}

static void fx_stop_listening(void) {
  if (fx.ls) link_listener_close(fx.ls);
  fx.ls = NULL;
}

/* Run until every link and the listener are gone; 0 if the loop drained (by itself,
 * not because the watchdog closed everything). */
static int fx_run(void) {
  uv_run(&fx.loop, UV_RUN_DEFAULT);
  return uv_loop_alive(&fx.loop) || fx.hung ? -1 : 0;
}

static int fx_teardown(void) {
  fx_stop_listening();
  uv_close((uv_handle_t *)&fx.phase, NULL);
  uv_run(&fx.loop, UV_RUN_DEFAULT); /* the (unreferenced) watchdog still guards this */
  uv_close((uv_handle_t *)&fx.watchdog, NULL);
  uv_run(&fx.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&fx.loop);
  tls_ctx_free(fx.srv);
  tls_ctx_free(fx.cli);
  tls_ctx_free(fx.cli_nocert);
  node_identity_close(&fx.ida);
  node_identity_close(&fx.idb);
  return rc;
}

static int fx_connect(struct tls_ctx *tls, const uint8_t *expected) {
  fx.c.l = NULL;
  return link_connect(&fx.loop, "127.0.0.1", fx.port, tls, expected, &fx.ccfg, &cbs, &fx.c,
                      &fx.c.l);
}

/* A fresh fixture running a scenario's hooks (any of them may be NULL). */
static void fx_begin(void (*up)(struct side *), void (*frame)(struct side *),
                     void (*down)(struct side *)) {
  fx_setup();
  fx.up = up;
  fx.frame = frame;
  fx.down = down;
}

/* What a scenario left behind, copied before the teardown frees the identities (and
 * the next fx_setup clears fx), so the tests check this copy. */
struct outcome {
  struct side c, s[SIDES_MAX];
  int ns, raw_eof, phase_done;
  unsigned sent, target, again;
  uint8_t a_pub[NODE_KEY_LEN], b_pub[NODE_KEY_LEN];
};

/* Run the loop until it drains, copy the outcome, tear down: both must succeed. */
static void fx_finish(struct outcome *o) {
  int run = fx_run();
  o->c = fx.c;
  memcpy(o->s, fx.s, sizeof o->s);
  o->ns = fx.ns;
  o->raw_eof = fx.raw_eof;
  o->phase_done = fx.phase_done;
  o->sent = fx.sent;
  o->target = fx.target;
  o->again = fx.again;
  memcpy(o->a_pub, fx.ida.kp.pub, NODE_KEY_LEN);
  memcpy(o->b_pub, fx.idb.kp.pub, NODE_KEY_LEN);
  CHECK_EQ(fx_teardown(), 0);
  CHECK_EQ(run, 0);
}

/* Listen, connect one client (TLS context tls, expecting the server key `expected`),
 * run to the end and copy the outcome. */
static void fx_pair(struct outcome *o, struct tls_ctx *tls, const uint8_t *expected) {
  CHECK_EQ(fx_listen(), 0);
  CHECK_EQ(fx_connect(tls, expected), 0);
  CHECK_CALL(fx_finish(o));
}

/* The usual pair: the client presents identity A and pins the server's key B. */
static void fx_pair_ab(struct outcome *o) { CHECK_CALL(fx_pair(o, fx.cli, fx.idb.kp.pub)); }

/* A reconnecting dialer (client side) to the listener's port, pinning key B. */
static int fx_dial(void) {
  return link_dialer_start(&fx.loop, "127.0.0.1", fx.port, fx.cli, fx.idb.kp.pub, &fx.ccfg,
                           &cbs, &fx.c, &fx.dialer);
}

/* ---- round trip ------------------------------------------------------------------ */

#define RT_FRAMES (2 + BURST_FRAMES)

static void rt_up(struct side *sd) {
  uint32_t seq = 0;
  CHECK_EQ(send_frame(sd, seq++, 100), 0);
  CHECK_EQ(send_frame(sd, seq++, BIG_BODY_BYTES), 0);
  for (unsigned i = 0; i < BURST_FRAMES; i++) CHECK_EQ(send_frame(sd, seq++, 20 + i % 200), 0);
}

static void rt_frame(struct side *sd) {
  if (!fx.closing && fx.c.frames == RT_FRAMES && fx.s[0].frames == RT_FRAMES) {
    fx.closing = 1;
    link_close(fx.c.l, 0, "test done");
  }
}

static void all_down_stop(struct side *sd) {
  if (fx.c.downs && fx.ns > 0 && fx.s[fx.ns - 1].downs) fx_stop_listening();
}

static void test_link_roundtrip(void) {
  struct outcome o;
  fx_begin(rt_up, rt_frame, all_down_stop);
  CHECK_CALL(fx_pair_ab(&o));
  const struct side c = o.c, s = o.s[0];
  CHECK_EQ(o.ns, 1);
  CHECK_EQ(c.ups, 1);
  CHECK_EQ(s.ups, 1);
  CHECK(c.has_key && s.has_key);
  CHECK_MEM(c.key, o.b_pub, 32); /* the client sees the server's node key */
  CHECK_MEM(s.key, o.a_pub, 32); /* and the server the client's */
  CHECK_EQ(c.frames, RT_FRAMES);
  CHECK_EQ(s.frames, RT_FRAMES);
  CHECK_EQ(c.bad, 0);
  CHECK_EQ(s.bad, 0);
  CHECK_EQ(c.downs, 1);
  CHECK_EQ(c.status, 0);
  CHECK_EQ(s.downs, 1);
  CHECK_EQ(s.status, MOMEDO_E_CLOSED);
  CHECK_EQ(s.errors, 1); /* the fatal Error (code 0) sent by link_close */
  CHECK_EQ(s.err_code, 0);
  CHECK(strstr(s.reason, "peer closed with OK: test done") != NULL);
}

/* ---- cork: a group's answers in one write ------------------------------------------ */

#define CORK_FRAMES 300

/* The client corks, sends CORK_FRAMES small frames (nothing reaches the socket: pending
 * output does not move), uncorks (now it does) or, with fx.target set, closes the link
 * while corked: the kept frames must still go out, in order, before the Error frame. */
static void cork_up(struct side *sd) {
  if (sd != &fx.c) return;
  size_t before = link_out_pending(sd->l);
  link_cork(sd->l);
  for (uint32_t seq = 0; seq < CORK_FRAMES; seq++) CHECK_EQ(send_frame(sd, seq, 20 + seq % 90), 0);
  CHECK_EQ(link_out_pending(sd->l), before);
  if (fx.target) {
    fx.closing = 1;
    link_close(sd->l, 0, "closed while corked");
    return;
  }
  link_uncork(sd->l);
  CHECK(link_out_pending(sd->l) > before);
}

static void cork_frame(struct side *sd) {
  if (!fx.closing && fx.s[0].frames == CORK_FRAMES) {
    fx.closing = 1;
    link_close(fx.c.l, 0, "test done");
  }
}

static void run_cork(int close_corked) {
  struct outcome o;
  fx_begin(cork_up, cork_frame, all_down_stop);
  fx.target = (unsigned)close_corked;
  CHECK_CALL(fx_pair_ab(&o));
  CHECK_EQ(o.s[0].frames, CORK_FRAMES);
  CHECK_EQ(o.s[0].bad, 0);
  CHECK_EQ(o.s[0].errors, 1); /* link_close's Error frame, after the kept frames */
  CHECK_EQ(o.c.downs, 1);
}

static void test_link_cork(void) { run_cork(0); }
static void test_link_cork_close(void) { run_cork(1); }

/* ---- pinning ----------------------------------------------------------------------- */

static void pin_up(struct side *sd) {
  if (sd != &fx.c) CHECK_EQ(send_frame(sd, 0, 50), 0);
}

static void test_link_pin_mismatch(void) {
  struct outcome o;
  fx_begin(pin_up, NULL, all_down_stop);
  /* The client expects key A (its own), the server presents B. */
  CHECK_CALL(fx_pair(&o, fx.cli, fx.ida.kp.pub));
  const struct side c = o.c, s = o.s[0];
  CHECK_EQ(c.ups, 0);
  CHECK_EQ(c.frames + c.errors + c.bad, 0); /* nothing delivered */
  CHECK_EQ(c.downs, 1);
  CHECK_EQ(c.status, MOMEDO_E_KEYCHANGED);
  CHECK(strstr(c.reason, "is not the pinned key") != NULL);
  CHECK_EQ(s.downs, 1);
  CHECK_EQ(s.err_code, MOMEDO_E_KEYCHANGED); /* the server is told why */
}

/* A client without certificate is accepted; the server sees no key. */
static void nocert_up(struct side *sd) {
  if (fx.c.ups && fx.ns && fx.s[0].ups && !fx.closing) {
    fx.closing = 1;
    link_close(fx.c.l, 0, "done");
  }
}

static void test_link_client_without_cert(void) {
  struct outcome o;
  fx_begin(nocert_up, NULL, all_down_stop);
  CHECK_CALL(fx_pair(&o, fx.cli_nocert, fx.idb.kp.pub));
  const struct side c = o.c, s = o.s[0];
  CHECK_EQ(c.ups, 1);
  CHECK(c.has_key);
  CHECK_MEM(c.key, o.b_pub, 32);
  CHECK_EQ(s.ups, 1);
  CHECK_EQ(s.has_key, 0);
}

/* ---- malformed frame headers ---------------------------------------------------------- */

static uint32_t bad_len;

static void bad_up(struct side *sd) {
  if (sd != &fx.c) return;
  uint8_t raw[8];
  CHECK_EQ(send_frame(sd, 0, 64), 0); /* a good frame first: it is delivered */
  be32_put(raw, bad_len);
  memset(raw + 4, 0x0a, 4);
  CHECK_EQ(link_send(sd->l, raw, sizeof raw), 0);
}

static void run_bad_header(uint32_t len, int want) {
  struct outcome o;
  bad_len = len;
  fx_begin(bad_up, NULL, all_down_stop);
  CHECK_CALL(fx_pair_ab(&o));
  const struct side c = o.c, s = o.s[0];
  CHECK_EQ(s.frames, 1);
  CHECK_EQ(s.downs, 1);
  CHECK_EQ(s.status, want);
  CHECK_EQ(c.err_code, want); /* the peer got a fatal Error frame with the code */
  CHECK_EQ(c.downs, 1);
  CHECK_EQ(c.status, MOMEDO_E_CLOSED);
  CHECK(strstr(c.reason, momedo_status_name(want)) != NULL);
}

static void test_link_oversized_frame(void) { run_bad_header(FRAME_BYTES_MAX_DEFAULT + 1, MOMEDO_E_TOOBIG); }
static void test_link_huge_frame(void) { run_bad_header(0xffffffffu, MOMEDO_E_TOOBIG); }
static void test_link_empty_frame(void) { run_bad_header(0, MOMEDO_E_PROTO); }

/* ---- raw TCP peer (not TLS) -------------------------------------------------------------- */

static const char garbage[] = "GET / HTTP/1.1\r\nHost: momedo\r\n\r\n\x16\x03\x01\xff\xff";

static void raw_on_closed(uv_handle_t *h) {
  fx.raw_open = 0;
  all_down_stop(NULL);
}

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  *b = uv_buf_init(fx.raw_buf, sizeof fx.raw_buf);
}

static void raw_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    fx.raw_eof = 1;
    uv_close((uv_handle_t *)&fx.raw, raw_on_closed);
  }
}

static void raw_on_write(uv_write_t *w, int status) {}

static int raw_send_garbage;

static void raw_on_connect(uv_connect_t *req, int status) {
  CHECK_EQ(status, 0);
  if (raw_send_garbage) {
    uv_buf_t b = uv_buf_init((char *)garbage, sizeof garbage - 1);
    CHECK_EQ(uv_write(&fx.raw_wr, (uv_stream_t *)&fx.raw, &b, 1, raw_on_write), 0);
  }
  CHECK_EQ(uv_read_start((uv_stream_t *)&fx.raw, raw_alloc, raw_on_read), 0);
}

static void raw_connect(int send) {
  struct sockaddr_in a;
  raw_send_garbage = send;
  uv_ip4_addr("127.0.0.1", fx.port, &a);
  uv_tcp_init(&fx.loop, &fx.raw);
  fx.raw_open = 1;
  CHECK_EQ(uv_tcp_connect(&fx.raw_conn, &fx.raw, (struct sockaddr *)&a, raw_on_connect), 0);
}

static void garbage_up(struct side *sd) {
  if (sd == &fx.c) raw_connect(1);
}

static void garbage_down(struct side *sd) {
  /* The garbage connection is gone: the good link must still carry a frame. */
  if (sd == &fx.s[1]) CHECK_EQ(send_frame(&fx.c, 0, 1000), 0);
  if (!fx.raw_open) all_down_stop(sd);
}

static void garbage_frame(struct side *sd) {
  if (sd == &fx.s[0] && sd->frames == 1 && !fx.closing) {
    fx.closing = 1;
    link_close(fx.c.l, 0, "done");
  }
}

static void test_link_garbage_client(void) {
  struct outcome o;
  fx_begin(garbage_up, garbage_frame, garbage_down);
  CHECK_CALL(fx_pair_ab(&o));
  const struct side c = o.c, good = o.s[0], bad = o.s[1];
  CHECK_EQ(o.ns, 2);
  CHECK_EQ(bad.ups, 0);
  CHECK_EQ(bad.downs, 1);
  CHECK_EQ(bad.status, MOMEDO_E_TLS);
  CHECK(strstr(bad.reason, "TLS handshake failed") != NULL);
  CHECK_EQ(o.raw_eof, 1); /* the garbage sender was disconnected */
  CHECK_EQ(good.frames, 1);
  CHECK_EQ(good.bad, 0);
  CHECK_EQ(c.status, 0);
}

/* A TCP peer that never starts TLS is dropped after the handshake timeout. */
static void silent_down(struct side *sd) {
  if (!fx.raw_open) fx_stop_listening();
}

static void silent_raw_closed(uv_handle_t *h) {
  fx.raw_open = 0;
  if (fx.ns && fx.s[0].downs) fx_stop_listening();
}

static void silent_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    fx.raw_eof = 1;
    uv_close((uv_handle_t *)&fx.raw, silent_raw_closed);
  }
}

static void silent_on_connect(uv_connect_t *req, int status) {
  CHECK_EQ(status, 0);
  CHECK_EQ(uv_read_start((uv_stream_t *)&fx.raw, raw_alloc, silent_on_read), 0);
}

static void test_link_handshake_timeout(void) {
  struct sockaddr_in a;
  struct outcome o;
  fx_begin(NULL, NULL, silent_down);
  fx.scfg.handshake_timeout_ms = 100;
  CHECK_EQ(fx_listen(), 0);
  uv_ip4_addr("127.0.0.1", fx.port, &a);
  uv_tcp_init(&fx.loop, &fx.raw);
  fx.raw_open = 1;
  CHECK_EQ(uv_tcp_connect(&fx.raw_conn, &fx.raw, (struct sockaddr *)&a, silent_on_connect), 0);
  CHECK_CALL(fx_finish(&o));
  const struct side s = o.s[0];
  CHECK_EQ(s.ups, 0);
  CHECK_EQ(s.status, MOMEDO_E_TIMEOUT);
  CHECK(strstr(s.reason, "no TLS handshake within 100 ms") != NULL);
  CHECK_EQ(o.raw_eof, 1);
}

/* ---- back-pressure ------------------------------------------------------------------------ */

static size_t bp_pending_at_again;
static unsigned bp_frames_while_paused, bp_writable_before_resume;

static int bp_phase_started;

static void bp_phase_end(uv_timer_t *t);

/* Once the client met E_AGAIN and the server is up (so paused), let the loop run a
 * while without the server reading: kernel buffers fill, on_writable refills, until
 * the link is stuck at the maximum. Both conditions are needed: the client is up
 * first, and under load its whole fill (and the timer's 300 ms, counted from the
 * loop's cached time) can pass before the server has processed the last handshake
 * flight; resuming a link that was not paused yet does nothing, so a phase that
 * ended before the server's on_up left it paused for good. */
static void bp_phase_start(void) {
  if (bp_phase_started || fx.again == 0 || fx.s[0].ups == 0) return;
  bp_phase_started = 1;
  uv_update_time(&fx.loop);
  uv_timer_start(&fx.phase, bp_phase_end, 300, 0);
}

static void bp_fill(void) {
  while (fx.sent < fx.target) {
    int rc = send_frame(&fx.c, fx.sent, BP_FRAME_BYTES);
    if (rc == MOMEDO_E_AGAIN) {
      if (fx.again++ == 0) {
        bp_pending_at_again = link_out_pending(fx.c.l);
        bp_phase_start();
      }
      return;
    }
    CHECK_EQ(rc, 0);
    fx.sent++;
  }
}

static void bp_phase_end(uv_timer_t *t) {
  fx.phase_done = 1;
  bp_frames_while_paused = fx.s[0].frames;
  bp_writable_before_resume = fx.c.writable;
  fx.target = fx.sent + 64;
  link_resume_read(fx.s[0].l);
  bp_fill();
}

static void bp_up(struct side *sd) {
  if (sd == &fx.c) {
    bp_fill();
  } else {
    link_pause_read(sd->l);
    bp_phase_start();
  }
}

static void bp_writable(struct side *sd) {
  if (sd == &fx.c) bp_fill();
}

static void bp_frame(struct side *sd) {
  if (sd == &fx.s[0] && fx.phase_done && sd->frames == fx.target && !fx.closing) {
    fx.closing = 1;
    link_close(fx.c.l, 0, "done");
  }
}

static void test_link_backpressure(void) {
  struct outcome o;
  fx_begin(bp_up, bp_frame, all_down_stop);
  bp_phase_started = 0;
  fx.target = UINT32_MAX;
  fx.writable = bp_writable;
  CHECK_CALL(fx_pair_ab(&o));
  const struct side c = o.c, s = o.s[0];
  const unsigned sent = o.sent, target = o.target, again = o.again;
  printf("  back-pressure: %u frames of %u bytes, %u E_AGAIN, %u on_writable "
         "(%u before resume)\n", sent, BP_FRAME_BYTES, again, c.writable,
         bp_writable_before_resume);
  CHECK(again >= 1);
  CHECK(bp_pending_at_again >= LINK_OUT_BYTES_MAX);
  CHECK(bp_pending_at_again < LINK_OUT_BYTES_MAX + BP_FRAME_BYTES + 4096);
  CHECK_EQ(bp_frames_while_paused, 0); /* a paused link delivers nothing */
  CHECK(c.writable > bp_writable_before_resume); /* resumed after the peer read */
  CHECK_EQ(sent, target);
  CHECK_EQ(s.frames, target); /* everything arrived, in order */
  CHECK_EQ(s.bad, 0);
  CHECK_EQ(c.status, 0);
}

/* ---- pausing in the middle of a TLS record ------------------------------------------------ */

/* SP_FRAMES small frames go out in one link_send, so one TLS record carries them all.
 * The receiver pauses in on_frame after each one and resumes from a timer: the rest
 * of the record waits in the link's spill buffer (the shared plaintext scratch is
 * not kept across callbacks), nothing is delivered while paused, nothing is lost. */
#define SP_FRAMES 50
#define SP_BODY_BYTES 40

static unsigned sp_frames_at_pause, sp_delivered_while_paused, sp_pauses;

static void sp_resume(uv_timer_t *t) {
  if (fx.s[0].frames != sp_frames_at_pause) sp_delivered_while_paused++;
  if (fx.s[0].l) link_resume_read(fx.s[0].l);
}

static void sp_up(struct side *sd) {
  if (sd != &fx.c) return;
  size_t one = FRAME_HEADER_LEN + SP_BODY_BYTES, n;
  uint8_t *all = malloc(SP_FRAMES * one);
  if (all == NULL) abort();
  for (uint32_t i = 0; i < SP_FRAMES; i++) {
    uint8_t *f = make_frame(i, SP_BODY_BYTES, &n);
    memcpy(all + i * one, f, one);
    free(f);
  }
  CHECK_EQ(link_send(sd->l, all, SP_FRAMES * one), 0);
  free(all);
}

static void sp_frame(struct side *sd) {
  if (sd != &fx.s[0]) return;
  if (sd->frames == SP_FRAMES) {
    if (!fx.closing) {
      fx.closing = 1;
      link_close(fx.c.l, 0, "done");
    }
    return;
  }
  link_pause_read(sd->l);
  sp_pauses++;
  sp_frames_at_pause = sd->frames;
  uv_timer_start(&fx.phase, sp_resume, 1, 0);
}

static void test_link_pause_mid_record(void) {
  struct outcome o;
  fx_begin(sp_up, sp_frame, all_down_stop);
  CHECK_CALL(fx_pair_ab(&o));
  const struct side c = o.c, s = o.s[0];
  CHECK_EQ(s.frames, SP_FRAMES); /* all of them, in order */
  CHECK_EQ(s.bad, 0);
  CHECK_EQ(s.bytes, (uint64_t)SP_FRAMES * SP_BODY_BYTES);
  CHECK_EQ(sp_pauses, SP_FRAMES - 1);
  CHECK_EQ(sp_delivered_while_paused, 0);
  CHECK_EQ(c.status, 0);
}

/* ---- keep-alive and dead peers ------------------------------------------------------------ */

static void ka_phase_end(uv_timer_t *t) {
  fx.phase_done = 1;
  if (fx.c.l) link_close(fx.c.l, 0, "done");
}

static void ka_up(struct side *sd) {
  if (fx.c.ups && fx.ns && fx.s[0].ups) uv_timer_start(&fx.phase, ka_phase_end, 2000, 0);
}

/* Both sides ping every 50 ms and would declare the other dead after 600 ms of
 * silence; with nothing else to send, pings keep the link up for 2 s (over three times
 * the dead-peer time). The margins let a loaded ASan run stall the loop for half a
 * second without a false "dead" (100 ms did not: ASan beside four builds). */
static void test_link_keepalive(void) {
  struct outcome o;
  fx_begin(ka_up, NULL, all_down_stop);
  fx.scfg.ping_interval_ms = fx.ccfg.ping_interval_ms = 50;
  fx.scfg.dead_peer_ms = fx.ccfg.dead_peer_ms = 600;
  CHECK_CALL(fx_pair_ab(&o));
  const struct side c = o.c, s = o.s[0];
  CHECK(o.phase_done);
  CHECK_EQ(c.status, 0); /* closed by the test, not by a timeout */
  CHECK_EQ(s.status, MOMEDO_E_CLOSED);
  CHECK_EQ(c.frames + s.frames, 0); /* pings are not delivered */
}

static void dead_up(struct side *sd) {
  if (sd != &fx.c) link_pause_read(sd->l); /* the server stops answering */
}

static void dead_down(struct side *sd) {
  if (sd == &fx.c && fx.s[0].l) link_close(fx.s[0].l, 0, "test done");
  all_down_stop(sd);
}

static void test_link_dead_peer(void) {
  struct outcome o;
  fx_begin(dead_up, NULL, dead_down);
  fx.ccfg.ping_interval_ms = 20;
  fx.ccfg.dead_peer_ms = 100;
  fx.scfg.ping_interval_ms = 0;
  fx.scfg.dead_peer_ms = 0;
  CHECK_CALL(fx_pair_ab(&o));
  const struct side c = o.c;
  CHECK_EQ(c.ups, 1);
  CHECK_EQ(c.status, MOMEDO_E_TIMEOUT);
  CHECK(strstr(c.reason, "nothing received from the peer") != NULL);
}

/* ---- dialer ----------------------------------------------------------------------------------- */

static unsigned dial_attempts_at_second_up;
static int dial_first_status;

static void dial_up(struct side *sd) {
  if (sd == &fx.s[0]) link_close(sd->l, 0, "go away"); /* the first link is cut */
  if (fx.c.ups == 2 && fx.ns == 2 && fx.s[1].ups && !fx.closing) {
    fx.closing = 1;
    dial_attempts_at_second_up = link_dialer_attempts(fx.dialer);
    fx_dialer_stop();
  }
}

static void dial_down(struct side *sd) {
  if (sd == &fx.c && fx.c.downs == 1) dial_first_status = sd->status;
  if (fx.c.downs == 2 && fx.ns == 2 && fx.s[1].downs) fx_stop_listening();
}

static void test_link_dialer_reconnects(void) {
  struct outcome o;
  fx_begin(dial_up, NULL, dial_down);
  fx.ccfg.reconnect_min_ms = 10;
  fx.ccfg.reconnect_max_ms = 40;
  fx.ccfg.reconnect_stable_ms = 3600 * 1000;
  CHECK_EQ(fx_listen(), 0);
  CHECK_EQ(fx_dial(), 0);
  fx.c.l = link_dialer_link(fx.dialer);
  CHECK_CALL(fx_finish(&o));
  const struct side c = o.c;
  CHECK_EQ(c.ups, 2);
  CHECK_EQ(c.downs, 2);
  CHECK_EQ(dial_first_status, MOMEDO_E_CLOSED);
  CHECK_EQ(dial_attempts_at_second_up, 1);
  CHECK_EQ(c.status, 0); /* the second link was closed by link_dialer_stop */
}

static unsigned refused_attempts;

static void refused_down(struct side *sd) {
  if (sd == &fx.c && fx.c.downs == 3) {
    refused_attempts = link_dialer_attempts(fx.dialer);
    fx_dialer_stop();
  }
}

static void test_link_dialer_refused(void) {
  struct outcome o;
  fx_begin(NULL, NULL, refused_down);
  fx.ccfg.reconnect_min_ms = 10;
  fx.ccfg.reconnect_max_ms = 20;
  CHECK_EQ(fx_listen(), 0); /* take a free port, then stop listening on it */
  fx_stop_listening();
  CHECK_EQ(fx_dial(), 0);
  CHECK_CALL(fx_finish(&o));
  const struct side c = o.c;
  CHECK_EQ(c.ups, 0);
  CHECK_EQ(c.downs, 3);
  CHECK_EQ(c.status, MOMEDO_E_CONNREFUSED);
  CHECK_EQ(refused_attempts, 2); /* counted when each retry is scheduled */
}

static void test_link_backoff(void) {
  /* base 500 ms, +/-20 %: rnd 0 -> low end, 2^31 -> middle, 2^32-1 -> high end. */
  CHECK_EQ(link_backoff_ms(0, 500, 60000, 0), 400);
  CHECK_EQ(link_backoff_ms(0, 500, 60000, 0x80000000u), 500);
  CHECK_EQ(link_backoff_ms(0, 500, 60000, 0xffffffffu), 600);
  CHECK_EQ(link_backoff_ms(1, 500, 60000, 0x80000000u), 1000);
  CHECK_EQ(link_backoff_ms(6, 500, 60000, 0x80000000u), 32000);
  CHECK_EQ(link_backoff_ms(7, 500, 60000, 0x80000000u), 60000); /* 64 s capped */
  CHECK_EQ(link_backoff_ms(7, 500, 60000, 0), 48000);
  CHECK_EQ(link_backoff_ms(1000, 500, 60000, 0xffffffffu), 72000);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as momedod does: a reset peer must not kill us */
  if (tls_global_init() != 0) return 1;
  const char *lvl = getenv("MOMEDO_LOG");
  enum node_log_level level = NODE_LOG_WARN;
  if (lvl && node_log_parse_level(lvl, &level) != 0) return 1;
  node_log_set_level(level);
  RUN(test_link_roundtrip);
  RUN(test_link_cork);
  RUN(test_link_cork_close);
  RUN(test_link_pin_mismatch);
  RUN(test_link_client_without_cert);
  RUN(test_link_oversized_frame);
  RUN(test_link_huge_frame);
  RUN(test_link_empty_frame);
  RUN(test_link_garbage_client);
  RUN(test_link_handshake_timeout);
  RUN(test_link_backpressure);
  RUN(test_link_pause_mid_record);
  RUN(test_link_keepalive);
  RUN(test_link_dead_peer);
  RUN(test_link_dialer_reconnects);
  RUN(test_link_dialer_refused);
  RUN(test_link_backoff);
  tls_global_cleanup();
  TEST_MAIN_END();
}
