/* tests/bench/bench_node_load.c — load generator for a running momedod: many TLS client
 * connections on one libuv loop (memory TLS from node/tls.h, frames from protocol/).
 *   idle: N connections from 127.0.0.(1 + i % 250), each doing only the Hello, then held
 *         open: the node's memory per idle connected client (RSS before/after via --pid).
 *   post: C connections that register, authenticate, then post items with a window of
 *         unanswered requests each: items per second the node acknowledges (each one
 *         stored durably before its answer), with CPU and RSS of every --pid process.
 *         With --drain 1, then what a receiving client does with them: each connection
 *         fetches its mailbox page by page, verifies every item in full (the node's
 *         signature), signs a tombstone per item and acknowledges the page (durable on
 *         the node before its answer), until the mailbox is empty: items per second.
 *         --drain 2 pipelines it: the next fetch goes out as soon as a page arrives
 *         (before its items are verified), and up to LOAD_DRAIN_ACKS_MAX acks may wait
 *         for their answers (their syncs) meanwhile; --drain 1 waits for each answer.
 *         --corrupt K (with --drain): every K-th tombstone goes out with a broken
 *         signature; each ack must then be answered with exactly the others accepted (or
 *         E_BADSIG when all of it is broken), and once drained each connection fetches
 *         its mailbox again: exactly the items of the broken tombstones must be left.
 * A measuring tool, not a test: prints one JSON object; exit 1 if anything failed. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "arena.h"
#include "client.pb-c.h"
#include "crypto.h"
#include "frame.h"
#include "invite.h"
#include "obj.h"
#include "os.h"
#include "tls.h"

#define LOAD_CONNS_MAX 60000
#define LOAD_PIDS_MAX 4
#define LOAD_SRC_HOSTS 250             /* source addresses 127.0.0.1 .. 127.0.0.250 */
#define LOAD_INFLIGHT_DEFAULT 64       /* connections between connect and Hello at once */
#define LOAD_WINDOW_DEFAULT 32         /* unanswered posts per connection */
#define LOAD_ITEM_BYTES_DEFAULT 256
#define LOAD_ITEM_BYTES_MAX 65536
#define LOAD_TIMEOUT_S_DEFAULT 300
#define LOAD_SETTLE_MS 2000            /* after the last Hello, before reading RSS */
#define LOAD_SAMPLE_MS 100             /* RSS sampling period during the post phase */
#define LOAD_READ_BYTES (64u * 1024)
#define LOAD_PLAIN_BYTES (16u * 1024)
#define LOAD_ARENA_BYTES (4u * FRAME_BYTES_MAX_DEFAULT)
#define LOAD_AUTH_DOMAIN "momedo/client-auth/v1"
#define LOAD_DRAIN_PAGE 256            /* items per fetch page and per ack (a client's) */
#define LOAD_DRAIN_ACKS_MAX 8          /* --drain 2: acks awaiting their answers per conn */
#define LOAD_ERR_MAX 256

enum lstate { L_CONNECTING, L_TLS, L_HELLO, L_REGISTER, L_AUTH_BEGIN, L_AUTH_PROVE, L_READY,
              L_DONE, L_DRAINING, L_RECHECK, L_DRAINED, L_CLOSED };

struct load;

struct lconn {
  struct load *ld;
  uv_tcp_t tcp;
  uv_connect_t creq;
  struct tls_conn *tc;
  struct frame_decoder dec;
  enum lstate st;
  unsigned idx;
  struct crypto_sign_keypair dev;
  struct crypto_sign_keypair ident; /* signs the registration with dev */
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  uint64_t rid, to_send, sent, answered;
  uint64_t cursor;                 /* drain: the next fetch's cursor */
  uint64_t fetch_rid;              /* drain: the fetch on its way (0: none) */
  bool fetch_due;                  /* drain: the next fetch waits for an ack's answer */
  bool empty;                      /* drain: the mailbox answered an empty page */
  struct { uint64_t rid, n; } acks[LOAD_DRAIN_ACKS_MAX]; /* on their way, in order */
  unsigned acks_head, acks_n;
  uint8_t (*bad)[OBJ_ID_LEN];      /* --corrupt: items whose tombstone was broken */
  size_t n_bad, cap_bad;
};

struct proc_sample {
  uint64_t cpu_ticks;              /* utime + stime */
  uint64_t rss_kib, hwm_kib;
};

struct load {
  uv_loop_t *loop;
  int post_mode;
  struct invite inv;
  char token_hex[INVITE_TOKEN_HEX_LEN + 1];
  struct tls_ctx *tls;
  struct arena arena;
  struct lconn **c;
  unsigned n, opened, up, ready, done, failed, dropped;
  unsigned inflight_max, inflight;
  uint64_t items, window, item_bytes, acked, refused;
  int first_refusal;
  int drain;                       /* fetch, verify and acknowledge afterwards: 1 waiting
                                      for each answer, 2 pipelined */
  unsigned drained_conns;
  uint64_t drained, drain_invalid, drain_pages;
  uint64_t corrupt, tombstones, corrupted; /* --corrupt K: every K-th tombstone broken */
  uint64_t acks_badsig, recheck_ok, recheck_bad;
  uint64_t t2_ms;                  /* the drain's end (it starts at t1_ms) */
  struct proc_sample drain_after[LOAD_PIDS_MAX];
  int pids[LOAD_PIDS_MAX];
  unsigned npids;
  struct proc_sample before[LOAD_PIDS_MAX], after[LOAD_PIDS_MAX], held[LOAD_PIDS_MAX],
      closed[LOAD_PIDS_MAX];
  int idle_stage;                  /* 0 settle, 1 hold, 2 closed */
  uint64_t rss_peak_kib[LOAD_PIDS_MAX];
  uint64_t t0_ms, t1_ms;
  unsigned hold_s, timeout_s;
  uv_timer_t deadline, sampler;
  char err[LOAD_ERR_MAX];
  int finished;
};

static uint8_t rbuf_[LOAD_READ_BYTES];
static uint8_t plain_[LOAD_PLAIN_BYTES];

static void load_err(struct load *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void load_err(struct load *ld, const char *fmt, ...) {
  if (ld->err[0]) return; /* keep the first */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ld->err, sizeof ld->err, fmt, ap);
  va_end(ap);
}

/* ---- /proc ------------------------------------------------------------------------ */

static int proc_sample(int pid, struct proc_sample *s) {
  char path[64], buf[4096];
  memset(s, 0, sizeof *s);
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  unsigned long long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  s->cpu_ticks = ut + st;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  if (!(f = fopen(path, "r"))) return -1;
  while (fgets(buf, sizeof buf, f)) {
    unsigned long long v;
    if (sscanf(buf, "VmRSS: %llu kB", &v) == 1) s->rss_kib = v;
    if (sscanf(buf, "VmHWM: %llu kB", &v) == 1) s->hwm_kib = v;
  }
  fclose(f);
  return 0;
}

static void sample_all(struct load *ld, struct proc_sample *out) {
  for (unsigned i = 0; i < ld->npids; i++) {
    if (proc_sample(ld->pids[i], &out[i]) != 0) load_err(ld, "cannot read /proc/%d", ld->pids[i]);
    if (out[i].rss_kib > ld->rss_peak_kib[i]) ld->rss_peak_kib[i] = out[i].rss_kib;
  }
}

static void on_sample(uv_timer_t *t) {
  struct load *ld = t->data;
  struct proc_sample s[LOAD_PIDS_MAX];
  sample_all(ld, s);
}

/* ---- connection plumbing -------------------------------------------------------- */

static void finish(struct load *ld);
static void open_more(struct load *ld);
static void start_posting(struct load *ld);
static void start_draining(struct load *ld);

static void on_write(uv_write_t *req, int status) {
  free(req->data);
  free(req);
}

/* Hand TLS output to the socket. */
static void flush(struct lconn *c) {
  size_t len = 0;
  uint8_t *buf = tls_conn_out_take(c->tc, &len);
  if (!buf) return;
  uv_write_t *req = malloc(sizeof *req);
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  if (!req) {
    free(buf);
    return;
  }
  req->data = buf;
  if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
    free(buf);
    free(req);
  }
}

static void on_closed(uv_handle_t *h) {
  struct lconn *c = h->data;
  tls_conn_free(c->tc);
  frame_decoder_close(&c->dec);
  c->ld->c[c->idx] = NULL;
  free(c->bad);
  free(c);
}

static void conn_close(struct lconn *c) {
  if (c->st == L_CLOSED) return;
  c->st = L_CLOSED;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* Everything that moves the run forward is checked here. */
static void progress(struct load *ld) {
  if (ld->finished) return;
  if (!ld->post_mode) {
    if (ld->up + ld->failed >= ld->n) finish(ld);
    return;
  }
  if (!ld->t0_ms && ld->ready + ld->failed >= ld->n) start_posting(ld);
  if (ld->t0_ms && !ld->t1_ms && ld->done + ld->dropped + ld->failed >= ld->n) {
    if (!ld->drain) {
      finish(ld);
      return;
    }
    start_draining(ld);
  }
  if (ld->t1_ms && ld->drained_conns + ld->dropped + ld->failed >= ld->n) finish(ld);
}

static void conn_fail(struct lconn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void conn_fail(struct lconn *c, const char *fmt, ...) {
  struct load *ld = c->ld;
  if (c->st == L_CLOSED) return;
  if (c->st < L_READY) {
    ld->inflight--;
    ld->failed++;
  } else if (c->st == L_READY || c->st == L_DRAINING || c->st == L_RECHECK) {
    ld->dropped++; /* was up: the node (or the network) closed it */
  }
  if (!ld->err[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err, sizeof ld->err, fmt, ap);
    va_end(ap);
  }
  conn_close(c);
  open_more(ld);
  progress(ld);
}

static int send_frame(struct lconn *c, const Momedo__Frame *f) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = frame_encode(f, FRAME_BYTES_MAX_DEFAULT, &buf, &len);
  if (rc == 0) rc = tls_conn_write(c->tc, buf, len);
  free(buf);
  if (rc == 0) flush(c);
  return rc;
}

static int send_request(struct lconn *c, Momedo__ClientRequest *rq) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  rq->request_id = ++c->rid;
  f.body_case = MOMEDO__FRAME__BODY_REQUEST;
  f.request = rq;
  return send_frame(c, &f);
}

/* ---- the client protocol: Hello, register, auth, post ---------------------------- */

static int send_hello(struct lconn *c) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__Hello h;
  frame_hello_init(&h, MOMEDO__ROLE__ROLE_CLIENT, NULL, os_wall_ms(), FRAME_BYTES_MAX_DEFAULT);
  f.body_case = MOMEDO__FRAME__BODY_HELLO;
  f.hello = &h;
  return send_frame(c, &f);
}

static int send_register(struct lconn *c) {
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__RegisterReq r = MOMEDO__REGISTER_REQ__INIT;
  r.invite_token = c->ld->token_hex;
  r.device_key = (ProtobufCBinaryData){32, c->dev.pub};
  r.identity_key = (ProtobufCBinaryData){32, c->ident.pub};
  /* Both keys sign what the node checks (invite_register_msg), like nodeapi_register. */
  uint8_t msg[INVITE_REGISTER_MSG_LEN], dsig[CRYPTO_SIG_LEN], isig[CRYPTO_SIG_LEN];
  int rc = invite_register_msg(msg, c->ld->inv.node_key, c->ld->inv.token, c->dev.pub,
                               c->ident.pub);
  if (!rc) rc = crypto_sign(dsig, msg, sizeof msg, &c->dev);
  if (!rc) rc = crypto_sign(isig, msg, sizeof msg, &c->ident);
  if (rc) return rc;
  r.device_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, dsig};
  r.identity_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, isig};
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_REGISTER;
  rq.register_ = &r;
  return send_request(c, &rq);
}

static int send_auth_begin(struct lconn *c) {
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__AuthBeginReq r = MOMEDO__AUTH_BEGIN_REQ__INIT;
  r.device_key = (ProtobufCBinaryData){32, c->dev.pub};
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_AUTH_BEGIN;
  rq.auth_begin = &r;
  return send_request(c, &rq);
}

static int send_auth_prove(struct lconn *c, const ProtobufCBinaryData *challenge) {
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__AuthProveReq r = MOMEDO__AUTH_PROVE_REQ__INIT;
  uint8_t msg[sizeof LOAD_AUTH_DOMAIN - 1 + 32 + 32], sig[CRYPTO_SIG_LEN];
  if (challenge->len != 32) return MOMEDO_E_PROTO;
  memcpy(msg, LOAD_AUTH_DOMAIN, sizeof LOAD_AUTH_DOMAIN - 1);
  memcpy(msg + sizeof LOAD_AUTH_DOMAIN - 1, c->ld->inv.node_key, 32);
  memcpy(msg + sizeof LOAD_AUTH_DOMAIN - 1 + 32, challenge->data, 32);
  int rc = crypto_sign(sig, msg, sizeof msg, &c->dev);
  if (rc) return rc;
  r.signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, sig};
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_AUTH_PROVE;
  rq.auth_prove = &r;
  return send_request(c, &rq);
}

/* Item k of this connection: k and the connection index up front (distinct objects even
 * within one millisecond), the rest random. */
static int send_post(struct lconn *c) {
  static uint8_t ct[LOAD_ITEM_BYTES_MAX];
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__PostReq r = MOMEDO__POST_REQ__INIT;
  size_t len = c->ld->item_bytes;
  int rc = crypto_random(ct, len);
  if (rc) return rc;
  memcpy(ct, &c->sent, sizeof c->sent);
  memcpy(ct + 8, &c->idx, sizeof c->idx);
  r.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, c->mailbox};
  r.ciphertext = (ProtobufCBinaryData){len, ct};
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_POST;
  rq.post = &r;
  c->sent++;
  return send_request(c, &rq);
}

static int fill_window(struct lconn *c) {
  int rc = 0;
  while (rc == 0 && c->sent < c->to_send && c->sent - c->answered < c->ld->window)
    rc = send_post(c);
  return rc;
}

static void start_posting(struct load *ld) {
  sample_all(ld, ld->before);
  ld->t0_ms = os_mono_ms();
  if (ld->ready == 0) return;
  if (ld->npids) uv_timer_start(&ld->sampler, on_sample, LOAD_SAMPLE_MS, LOAD_SAMPLE_MS);
  for (unsigned i = 0; i < ld->n; i++)
    if (ld->c[i] && ld->c[i]->st == L_READY && fill_window(ld->c[i]) != 0)
      conn_fail(ld->c[i], "%s", "cannot send a post");
}

static void on_post_resp(struct lconn *c, const Momedo__ClientResponse *rs) {
  struct load *ld = c->ld;
  c->answered++;
  if (rs->status == 0) {
    ld->acked++;
  } else if (ld->refused++ == 0) {
    ld->first_refusal = rs->status;
    load_err(ld, "post refused: %.200s", rs->reason ? rs->reason : "?");
  }
  if (c->answered == c->to_send) {
    c->st = L_DONE;
    ld->done++;
    progress(ld);
    return;
  }
  if (fill_window(c) != 0) conn_fail(c, "%s", "cannot send a post");
}

/* ---- drain: fetch, verify, acknowledge (what a receiving client does) ------------ */

static int send_fetch(struct lconn *c) {
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__FetchReq r = MOMEDO__FETCH_REQ__INIT;
  r.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, c->mailbox};
  r.cursor = c->cursor;
  r.limit = LOAD_DRAIN_PAGE;
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_FETCH;
  rq.fetch = &r;
  c->st = L_DRAINING;
  c->fetch_due = false;
  int rc = send_request(c, &rq);
  c->fetch_rid = c->rid;
  return rc;
}

/* This connection's drain is over once the mailbox answered empty and every ack was
 * answered. */
static void drain_end_check(struct lconn *c) {
  if (!c->empty || c->acks_n || c->st != L_DRAINING) return;
  if (c->ld->corrupt) { /* what is left must be exactly the broken tombstones' items */
    c->cursor = 0;
    if (send_fetch(c) != 0) conn_fail(c, "%s", "cannot send a fetch");
    c->st = L_RECHECK;
    return;
  }
  c->st = L_DRAINED;
  c->ld->drained_conns++;
  progress(c->ld);
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, OBJ_ID_LEN); }

static void on_recheck_resp(struct lconn *c, const Momedo__ClientResponse *rs) {
  struct load *ld = c->ld;
  size_t n = 0, same = 0;
  uint8_t(*left)[OBJ_ID_LEN] = NULL;
  if (rs->status != 0 || rs->body_case != MOMEDO__CLIENT_RESPONSE__BODY_FETCH) {
    conn_fail(c, "fetch refused: %.200s", rs->reason ? rs->reason : "bad answer");
    return;
  }
  const Momedo__FetchResp *f = rs->fetch;
  left = calloc(f->n_objects + 1, OBJ_ID_LEN);
  for (size_t i = 0; left && i < f->n_objects; i++) {
    const Momedo__Object *o = f->objects[i] ? f->objects[i]->object : NULL;
    struct obj_checked ck;
    if (o && o->kind == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM &&
        obj_check(o->kind, o->data.data, o->data.len, os_wall_ms(), NULL, NULL, &ck) == 0)
      memcpy(left[n++], ck.info.id, OBJ_ID_LEN);
  }
  if (left && n == c->n_bad && !f->more) {
    qsort(left, n, OBJ_ID_LEN, cmp_id);
    if (c->n_bad) qsort(c->bad, c->n_bad, OBJ_ID_LEN, cmp_id);
    for (size_t i = 0; i < n; i++) same += memcmp(left[i], c->bad[i], OBJ_ID_LEN) == 0;
  }
  if (left && n == c->n_bad && same == n && !f->more) ld->recheck_ok++;
  else ld->recheck_bad++;
  free(left);
  c->st = L_DRAINED;
  ld->drained_conns++;
  progress(ld);
}

/* --corrupt: break this tombstone's signature (a bit of R) and remember its item. */
static int corrupt_one(struct lconn *c, Momedo__Object *o, const uint8_t id[OBJ_ID_LEN]) {
  if (c->n_bad == c->cap_bad) {
    size_t cap = c->cap_bad ? 2 * c->cap_bad : 64;
    void *nb = realloc(c->bad, cap * OBJ_ID_LEN);
    if (!nb) return MOMEDO_E_NOMEM;
    c->bad = nb, c->cap_bad = cap;
  }
  memcpy(c->bad[c->n_bad++], id, OBJ_ID_LEN);
  o->data.data[o->data.len - OBJ_SIG_LEN + 3] ^= 0x10;
  c->ld->corrupted++;
  return 0;
}

/* Acknowledge n verified items (tombstones ptrs) in one request; good of them are not
 * broken (--corrupt): what the node must accept. */
static int send_ack(struct lconn *c, Momedo__Object **ptrs, size_t n, size_t good) {
  if (c->acks_n == LOAD_DRAIN_ACKS_MAX) return MOMEDO_E_BOUNDS;
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__AckReq ar = MOMEDO__ACK_REQ__INIT;
  ar.n_tombstones = n;
  ar.tombstones = ptrs;
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_ACK;
  rq.ack = &ar;
  int rc = send_request(c, &rq);
  unsigned k = (c->acks_head + c->acks_n++) % LOAD_DRAIN_ACKS_MAX;
  c->acks[k].rid = c->rid, c->acks[k].n = good; /* what the ack must accept */
  return rc;
}

/* Verify a fetched page in full and acknowledge its items in one request; an empty page
 * ends this connection's drain. Pipelined (--drain 2), the next fetch leaves first. */
static void on_fetch_resp(struct lconn *c, const Momedo__ClientResponse *rs) {
  struct load *ld = c->ld;
  static Momedo__Object objs[LOAD_DRAIN_PAGE];
  Momedo__Object *ptrs[LOAD_DRAIN_PAGE];
  size_t n = 0, bad = 0;
  int rc = 0;
  c->fetch_rid = 0;
  if (rs->status != 0 || rs->body_case != MOMEDO__CLIENT_RESPONSE__BODY_FETCH ||
      rs->fetch->n_objects > LOAD_DRAIN_PAGE) {
    conn_fail(c, "fetch refused: %.200s", rs->reason ? rs->reason : "bad answer");
    return;
  }
  const Momedo__FetchResp *f = rs->fetch;
  uint64_t now = os_wall_ms();
  if (f->n_objects == 0) {
    c->empty = true;
    drain_end_check(c);
    return;
  }
  c->cursor = f->next_cursor;
  ld->drain_pages++;
  if (ld->drain == 2) {
    if (c->acks_n + 1 < LOAD_DRAIN_ACKS_MAX) rc = send_fetch(c); /* room for two more acks */
    else c->fetch_due = true;
  }
  for (size_t i = 0; i < f->n_objects && rc == 0; i++) {
    const Momedo__Object *o = f->objects[i] ? f->objects[i]->object : NULL;
    struct obj_checked ck;
    if (!o || o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM) continue; /* our tombstones */
    if (obj_check(o->kind, o->data.data, o->data.len, now, NULL, NULL, &ck) != 0 ||
        memcmp(ck.info.key, ld->inv.node_key, OBJ_KEY_LEN) != 0 ||
        memcmp(ck.info.mailbox, c->mailbox, OBJ_MAILBOX_LEN) != 0) {
      ld->drain_invalid++;
      continue;
    }
    objs[n] = (Momedo__Object)MOMEDO__OBJECT__INIT;
    objs[n].kind = MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE; /* the device's ack, as a client's */
    rc = obj_tombstone_sign(&c->dev, ck.info.id, now, ck.info.expires_ms, NULL, 0,
                            &objs[n].data.data, &objs[n].data.len);
    if (rc == 0 && ld->corrupt && ++ld->tombstones % ld->corrupt == 0) {
      rc = corrupt_one(c, &objs[n], ck.info.id);
      bad++;
    }
    if (rc == 0) ptrs[n] = &objs[n], n++;
  }
  if (rc == 0 && n > 0) rc = send_ack(c, ptrs, n, n - bad);
  else if (rc == 0 && ld->drain == 1) rc = send_fetch(c); /* nothing to acknowledge */
  for (size_t i = 0; i < n; i++) free(objs[i].data.data);
  if (rc) conn_fail(c, "cannot verify or acknowledge a page: %s", momedo_strerror(rc));
}

static void on_ack_resp(struct lconn *c, const Momedo__ClientResponse *rs) {
  uint64_t want = c->acks[c->acks_head].n;
  c->acks_head = (c->acks_head + 1) % LOAD_DRAIN_ACKS_MAX;
  c->acks_n--;
  if (want == 0 && rs->status == MOMEDO_E_BADSIG) { /* --corrupt: all of it broken */
    c->ld->acks_badsig++;
  } else if (rs->status != 0 || rs->body_case != MOMEDO__CLIENT_RESPONSE__BODY_ACK ||
             rs->ack->accepted != want) {
    conn_fail(c, "ack refused: %.200s", rs->reason ? rs->reason : "not all accepted");
    return;
  }
  c->ld->drained += want;
  if ((c->ld->drain == 1 || c->fetch_due) && send_fetch(c) != 0)
    conn_fail(c, "%s", "cannot send a fetch");
  else
    drain_end_check(c);
}

/* A drain answer: to the fetch on its way or to the oldest ack (the node answers a
 * connection's requests in order). */
static void on_drain_resp(struct lconn *c, const Momedo__ClientResponse *rs) {
  if (c->fetch_rid && rs->request_id == c->fetch_rid) on_fetch_resp(c, rs);
  else if (c->acks_n && rs->request_id == c->acks[c->acks_head].rid) on_ack_resp(c, rs);
  else conn_fail(c, "unexpected answer %" PRIu64 " while draining", rs->request_id);
}

static void start_draining(struct load *ld) {
  ld->t1_ms = os_mono_ms();
  sample_all(ld, ld->after);
  for (unsigned i = 0; i < ld->n; i++)
    if (ld->c[i] && ld->c[i]->st == L_DONE && send_fetch(ld->c[i]) != 0)
      conn_fail(ld->c[i], "%s", "cannot send a fetch");
}

/* The answer to the request this state is waiting for. */
static void on_response(struct lconn *c, const Momedo__ClientResponse *rs) {
  struct load *ld = c->ld;
  int rc = 0;
  if (c->st == L_READY || c->st == L_DONE) {
    on_post_resp(c, rs);
    return;
  }
  if (c->st == L_DRAINING) {
    on_drain_resp(c, rs);
    return;
  }
  if (c->st == L_RECHECK) {
    on_recheck_resp(c, rs);
    return;
  }
  if (rs->status != 0) {
    conn_fail(c, "setup refused: %s", rs->reason ? rs->reason : "?");
    return;
  }
  switch (c->st) {
  case L_REGISTER:
    c->st = L_AUTH_BEGIN;
    rc = send_auth_begin(c);
    break;
  case L_AUTH_BEGIN:
    if (rs->body_case != MOMEDO__CLIENT_RESPONSE__BODY_AUTH_BEGIN) rc = MOMEDO_E_PROTO;
    c->st = L_AUTH_PROVE;
    if (!rc) rc = send_auth_prove(c, &rs->auth_begin->challenge);
    break;
  case L_AUTH_PROVE:
    c->st = L_READY;
    ld->inflight--;
    ld->ready++;
    open_more(ld);
    progress(ld);
    break;
  default:
    rc = MOMEDO_E_UNEXPECTED;
  }
  if (rc) conn_fail(c, "setup failed: %s", momedo_strerror(rc));
}

static void on_hello(struct lconn *c) {
  struct load *ld = c->ld;
  if (!ld->post_mode) {
    c->st = L_READY;
    ld->inflight--;
    ld->up++;
    open_more(ld);
    progress(ld);
    return;
  }
  c->st = L_REGISTER;
  if (send_register(c) != 0) conn_fail(c, "%s", "cannot send Register");
}

static void on_frame(struct lconn *c, const uint8_t *body, size_t len) {
  struct load *ld = c->ld;
  Momedo__Frame *f = NULL;
  if (frame_unpack(body, len, &ld->arena, &f) != 0) {
    conn_fail(c, "%s", "undecodable frame from the node");
    goto out;
  }
  if (f->body_case == MOMEDO__FRAME__BODY_PING) {
    Momedo__Frame out = MOMEDO__FRAME__INIT;
    Momedo__Ping pong = MOMEDO__PING__INIT;
    pong.nonce = f->ping->nonce;
    out.body_case = MOMEDO__FRAME__BODY_PONG;
    out.pong = &pong;
    if (send_frame(c, &out) != 0) conn_fail(c, "%s", "cannot send Pong");
  } else if (f->body_case == MOMEDO__FRAME__BODY_ERROR) {
    conn_fail(c, "node sent Error: %.200s", f->error->reason ? f->error->reason : "?");
  } else if (f->body_case == MOMEDO__FRAME__BODY_HELLO && c->st == L_HELLO) {
    on_hello(c);
  } else if (f->body_case == MOMEDO__FRAME__BODY_RESPONSE) {
    on_response(c, f->response);
  } else if (f->body_case != MOMEDO__FRAME__BODY_EVENT && f->body_case != MOMEDO__FRAME__BODY_PONG) {
    conn_fail(c, "%s", "unexpected frame from the node");
  }
out:
  arena_reset(&ld->arena);
}

/* Decrypt what TLS holds and hand whole frames on. */
static void drain_plain(struct lconn *c) {
  for (;;) {
    size_t n = 0;
    int rc = tls_conn_read(c->tc, plain_, sizeof plain_, &n);
    if (rc == MOMEDO_E_AGAIN) return;
    if (rc) {
      conn_fail(c, "TLS read: %s", momedo_strerror(rc));
      return;
    }
    for (size_t off = 0; off < n && c->st != L_CLOSED;) {
      size_t used = 0;
      int r = frame_decoder_feed(&c->dec, plain_ + off, n - off, &used);
      off += used;
      if (r < 0) {
        conn_fail(c, "%s", "bad frame header from the node");
        return;
      }
      if (r == 1) {
        const uint8_t *body;
        size_t blen;
        frame_decoder_body(&c->dec, &body, &blen);
        on_frame(c, body, blen);
        frame_decoder_next(&c->dec);
      }
    }
    if (c->st == L_CLOSED) return;
  }
}

static void handshake_step(struct lconn *c) {
  int rc = tls_conn_handshake(c->tc);
  flush(c);
  if (rc == MOMEDO_E_AGAIN) return;
  uint8_t key[32];
  if (rc == 0 && tls_conn_peer_key(c->tc, key) == 0 &&
      memcmp(key, c->ld->inv.node_key, 32) == 0) {
    c->st = L_HELLO;
    if (send_hello(c) != 0) conn_fail(c, "%s", "cannot send Hello");
    return;
  }
  conn_fail(c, "TLS handshake: %s", rc ? tls_conn_error(c->tc) : "node key does not match");
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  *b = uv_buf_init((char *)rbuf_, sizeof rbuf_);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  struct lconn *c = s->data;
  if (nread == 0) return;
  if (nread < 0) {
    conn_fail(c, "connection closed: %s", uv_strerror((int)nread));
    return;
  }
  if (tls_conn_feed(c->tc, (const uint8_t *)b->base, (size_t)nread) != 0) {
    conn_fail(c, "%s", "TLS input overflow");
    return;
  }
  if (c->st == L_TLS) handshake_step(c);
  if (c->st != L_TLS && c->st != L_CLOSED) drain_plain(c);
}

static void on_connect(uv_connect_t *req, int status) {
  struct lconn *c = req->data;
  if (status < 0) {
    conn_fail(c, "connect: %s", uv_strerror(status));
    return;
  }
  c->st = L_TLS;
  (void)uv_tcp_nodelay(&c->tcp, 1); /* as real clients do: no Nagle delay on small requests */
  if (tls_conn_new(&c->tc, c->ld->tls) != 0) {
    conn_fail(c, "%s", "no TLS connection");
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  handshake_step(c);
}

static int conn_keys(struct lconn *c) {
  uint8_t seed[32];
  int rc = crypto_random(seed, sizeof seed);
  if (!rc) rc = crypto_sign_from_seed(&c->dev, seed);
  if (!rc) rc = crypto_random(seed, sizeof seed);
  if (!rc) rc = crypto_sign_from_seed(&c->ident, seed);
  if (!rc) rc = obj_device_mailbox(c->mailbox, c->dev.pub);
  crypto_wipe(seed, sizeof seed);
  return rc;
}

static int conn_open(struct load *ld, unsigned i) {
  struct sockaddr_in src, dst;
  char ip[32];
  struct lconn *c = calloc(1, sizeof *c);
  if (!c) return MOMEDO_E_NOMEM;
  c->ld = ld;
  c->idx = i;
  c->st = L_CONNECTING;
  c->to_send = ld->items / ld->n + (i < ld->items % ld->n);
  if (ld->post_mode && conn_keys(c) != 0) {
    free(c);
    return MOMEDO_E_RNG;
  }
  frame_decoder_init(&c->dec, FRAME_BYTES_MAX_DEFAULT);
  ld->c[i] = c;
  ld->inflight++;
  uv_tcp_init(ld->loop, &c->tcp);
  c->tcp.data = c;
  c->creq.data = c;
  snprintf(ip, sizeof ip, "127.0.0.%u", 1 + i % LOAD_SRC_HOSTS);
  uv_ip4_addr(ip, 0, &src);
  if (uv_ip4_addr(ld->inv.host, ld->inv.port, &dst) != 0) {
    conn_fail(c, "node host %s is not an IPv4 address", ld->inv.host);
    return 0;
  }
  int rc = uv_tcp_bind(&c->tcp, (const struct sockaddr *)&src, 0);
  if (rc == 0) rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&dst, on_connect);
  if (rc) conn_fail(c, "bind/connect: %s", uv_strerror(rc));
  return 0;
}

static void open_more(struct load *ld) {
  while (!ld->finished && ld->opened < ld->n && ld->inflight < ld->inflight_max)
    if (conn_open(ld, ld->opened++) != 0) {
      load_err(ld, "cannot open connection %u", ld->opened - 1);
      ld->failed++;
      progress(ld);
    }
}

/* ---- phases, output --------------------------------------------------------------- */

static void close_all(struct load *ld) {
  for (unsigned i = 0; i < ld->n; i++)
    if (ld->c[i]) conn_close(ld->c[i]);
  uv_close((uv_handle_t *)&ld->deadline, NULL);
  uv_close((uv_handle_t *)&ld->sampler, NULL);
}

/* idle: all up -> settle -> sample -> hold -> sample -> close -> settle -> sample -> stop. */
static void idle_step(uv_timer_t *t) {
  struct load *ld = t->data;
  if (ld->idle_stage == 0) {
    sample_all(ld, ld->after);
    ld->t1_ms = os_mono_ms();
    ld->idle_stage = 1;
    uv_timer_start(t, idle_step, (uint64_t)ld->hold_s * 1000, 0);
  } else if (ld->idle_stage == 1) {
    sample_all(ld, ld->held); /* after the hold: past the node's first ping (30 s) */
    ld->idle_stage = 2;
    for (unsigned i = 0; i < ld->n; i++)
      if (ld->c[i]) conn_close(ld->c[i]);
    uv_timer_start(t, idle_step, LOAD_SETTLE_MS, 0);
  } else {
    sample_all(ld, ld->closed);
    close_all(ld);
  }
}

static void finish(struct load *ld) {
  if (ld->finished) return;
  ld->finished = 1;
  if (ld->t1_ms) {            /* the end of the drain */
    ld->t2_ms = os_mono_ms();
    uv_timer_stop(&ld->sampler);
    sample_all(ld, ld->drain_after);
    close_all(ld);
    return;
  }
  ld->t1_ms = os_mono_ms();
  if (!ld->post_mode) {
    uv_timer_start(&ld->deadline, idle_step, LOAD_SETTLE_MS, 0);
    return;
  }
  uv_timer_stop(&ld->sampler);
  sample_all(ld, ld->after);
  close_all(ld);
}

static void on_deadline(uv_timer_t *t) {
  struct load *ld = t->data;
  load_err(ld, "timed out after %u s (%u up, %u ready, %u done, %u failed)", ld->timeout_s,
           ld->up, ld->ready, ld->done, ld->failed);
  ld->finished = 1;
  close_all(ld);
}

static void print_procs(const struct load *ld) {
  double hz = (double)sysconf(_SC_CLK_TCK), secs = (double)(ld->t1_ms - ld->t0_ms) / 1000.0;
  printf(",\"procs\":[");
  for (unsigned i = 0; i < ld->npids; i++) {
    const struct proc_sample *b = &ld->before[i], *a = &ld->after[i];
    double cpu = (double)(a->cpu_ticks - b->cpu_ticks) / hz;
    printf("%s{\"pid\":%d,\"cpu_s\":%.2f,\"cpu_pct\":%.0f,\"rss_before_kib\":%" PRIu64
           ",\"rss_after_kib\":%" PRIu64 ",\"rss_peak_kib\":%" PRIu64 ",\"hwm_kib\":%" PRIu64,
           i ? "," : "", ld->pids[i], cpu, secs > 0 ? 100.0 * cpu / secs : 0.0, b->rss_kib,
           a->rss_kib, ld->rss_peak_kib[i], a->hwm_kib);
    if (!ld->post_mode) {
      double per = ld->up ? (double)((int64_t)a->rss_kib - (int64_t)b->rss_kib) / ld->up : 0;
      double held = ld->up ? (double)((int64_t)ld->held[i].rss_kib - (int64_t)b->rss_kib) / ld->up
                           : 0;
      printf(",\"rss_closed_kib\":%" PRIu64 ",\"kib_per_conn\":%.1f", ld->closed[i].rss_kib, per);
      printf(",\"rss_held_kib\":%" PRIu64 ",\"kib_per_conn_held\":%.1f", ld->held[i].rss_kib,
             held);
    }
    printf("}");
  }
  printf("]");
}

static void print_drain(const struct load *ld) {
  double hz = (double)sysconf(_SC_CLK_TCK);
  double secs = ld->t2_ms > ld->t1_ms ? (double)(ld->t2_ms - ld->t1_ms) / 1000.0 : 0.0;
  printf(",\"drain\":{\"items\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"pages\":%" PRIu64
         ",\"seconds\":%.3f,\"items_per_s\":%.0f,\"cpu_s\":[", ld->drained,
         ld->drain_invalid, ld->drain_pages, secs, secs > 0 ? (double)ld->drained / secs : 0.0);
  for (unsigned i = 0; i < ld->npids; i++)
    printf("%s%.2f", i ? "," : "",
           (double)(ld->drain_after[i].cpu_ticks - ld->after[i].cpu_ticks) / hz);
  printf("]");
  if (ld->corrupt)
    printf(",\"corrupted\":%" PRIu64 ",\"acks_badsig\":%" PRIu64 ",\"recheck_ok\":%" PRIu64
           ",\"recheck_bad\":%" PRIu64, ld->corrupted, ld->acks_badsig, ld->recheck_ok,
           ld->recheck_bad);
  printf("}");
}

static void print_result(const struct load *ld) {
  double secs = (double)(ld->t1_ms - ld->t0_ms) / 1000.0;
  printf("{\"ok\":%s,\"mode\":\"%s\",\"conns\":%u,\"up\":%u,\"failed\":%u,\"dropped\":%u",
         ld->err[0] ? "false" : "true", ld->post_mode ? "post" : "idle", ld->n,
         ld->post_mode ? ld->ready : ld->up, ld->failed, ld->dropped);
  if (ld->post_mode)
    printf(",\"items\":%" PRIu64 ",\"item_bytes\":%" PRIu64 ",\"window\":%" PRIu64
           ",\"acked\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"seconds\":%.3f"
           ",\"items_per_s\":%.0f", ld->items, ld->item_bytes, ld->window, ld->acked,
           ld->refused, secs, secs > 0 ? (double)ld->acked / secs : 0.0);
  else
    printf(",\"connect_seconds\":%.3f", secs);
  print_procs(ld);
  if (ld->drain) print_drain(ld);
  if (ld->err[0]) {
    printf(",\"error\":\"");
    for (const char *p = ld->err; *p; p++) putchar(*p == '"' || *p == '\\' ? '\'' : *p);
    putchar('"');
  }
  printf("}\n");
}

/* ---- command line ----------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr,
          "usage: bench_node_load idle --invite CODE --conns N [--pid PID] [--hold-s S]\n"
          "                            [--inflight K] [--timeout-s T]\n"
          "       bench_node_load post --invite CODE --conns C --items N [--window W]\n"
          "                            [--bytes B] [--pid PID]... [--timeout-s T] [--drain 1|2]\n"
          "                            [--corrupt K]\n"
          "CODE: an invite of the node (momedo-admin invite --uses C); idle ignores its token.\n"
          "The node needs device_posts_per_minute >= N/C and mailbox_items_max >= N/C.\n");
}

static int num_arg(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_args(struct load *ld, int argc, char **argv) {
  uint64_t v;
  const char *invite = NULL;
  if (argc < 2) return -1;
  if (strcmp(argv[1], "post") == 0) ld->post_mode = 1;
  else if (strcmp(argv[1], "idle") != 0) return -1;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) return -1;
    const char *k = argv[i], *val = argv[i + 1];
    if (strcmp(k, "--invite") == 0) invite = val;
    else if (strcmp(k, "--conns") == 0 && !num_arg(val, 1, LOAD_CONNS_MAX, &v)) ld->n = (unsigned)v;
    else if (strcmp(k, "--items") == 0 && !num_arg(val, 1, UINT32_MAX, &v)) ld->items = v;
    else if (strcmp(k, "--window") == 0 && !num_arg(val, 1, 100000, &v)) ld->window = v;
    else if (strcmp(k, "--bytes") == 0 && !num_arg(val, 16, LOAD_ITEM_BYTES_MAX, &v)) ld->item_bytes = v;
    else if (strcmp(k, "--drain") == 0 && !num_arg(val, 0, 2, &v)) ld->drain = (int)v;
    else if (strcmp(k, "--corrupt") == 0 && !num_arg(val, 1, UINT32_MAX, &v)) ld->corrupt = v;
    else if (strcmp(k, "--hold-s") == 0 && !num_arg(val, 0, 86400, &v)) ld->hold_s = (unsigned)v;
    else if (strcmp(k, "--inflight") == 0 && !num_arg(val, 1, 10000, &v)) ld->inflight_max = (unsigned)v;
    else if (strcmp(k, "--timeout-s") == 0 && !num_arg(val, 1, 86400, &v)) ld->timeout_s = (unsigned)v;
    else if (strcmp(k, "--pid") == 0 && ld->npids < LOAD_PIDS_MAX && !num_arg(val, 1, INT32_MAX, &v))
      ld->pids[ld->npids++] = (int)v;
    else return -1;
  }
  if (!invite || !ld->n || invite_decode(&ld->inv, invite) != 0) return -1;
  if (ld->post_mode && ld->items < ld->n) return -1;
  invite_token_to_hex(ld->token_hex, ld->inv.token);
  return 0;
}

/* As many descriptors as the hard limit allows: one per connection. */
static void raise_nofile(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &r);
  }
}

static int run(struct load *ld) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 1;
  ld->loop = &loop;
  uv_timer_init(&loop, &ld->deadline);
  uv_timer_init(&loop, &ld->sampler);
  ld->deadline.data = ld->sampler.data = ld;
  if (!ld->post_mode) sample_all(ld, ld->before);
  ld->t0_ms = ld->post_mode ? 0 : os_mono_ms();
  uv_timer_start(&ld->deadline, on_deadline, (uint64_t)ld->timeout_s * 1000, 0);
  open_more(ld);
  uv_run(&loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop) == 0 ? 0 : 1;
  print_result(ld);
  int incomplete = ld->drain && (ld->drained + ld->drain_invalid + ld->corrupted != ld->acked ||
                                 ld->recheck_bad);
  return rc || ld->err[0] || ld->failed || ld->dropped || incomplete;
}

int main(int argc, char **argv) {
  static struct load ld;
  ld.window = LOAD_WINDOW_DEFAULT;
  ld.item_bytes = LOAD_ITEM_BYTES_DEFAULT;
  ld.inflight_max = LOAD_INFLIGHT_DEFAULT;
  ld.timeout_s = LOAD_TIMEOUT_S_DEFAULT;
  ld.hold_s = 1;
  if (parse_args(&ld, argc, argv) != 0) {
    usage();
    return 2;
  }
  raise_nofile();
  if (!ld.post_mode) ld.inflight_max = ld.inflight_max ? ld.inflight_max : LOAD_INFLIGHT_DEFAULT;
  else ld.inflight_max = ld.n; /* few connections: all at once */
  ld.c = calloc(ld.n, sizeof *ld.c);
  arena_init(&ld.arena, LOAD_ARENA_BYTES);
  int rc = ld.c ? tls_global_init() : MOMEDO_E_NOMEM;
  if (!rc) rc = tls_ctx_new(&ld.tls, TLS_ROLE_CLIENT, NULL);
  int exit_code = rc ? 1 : run(&ld);
  if (rc) fprintf(stderr, "bench_node_load: setup: %s\n", momedo_strerror(rc));
  tls_ctx_free(ld.tls);
  if (!rc || ld.tls) tls_global_cleanup();
  arena_close(&ld.arena);
  free(ld.c);
  fflush(stdout);
  return exit_code;
}
