/* tests/tools/hostile_peer.c — momedo-hostile: a configured neighbor that misbehaves,
 * for tests/integration/test_node_hostile.py. It dials a momedod over the real link
 * (TLS 1.3, pinned key) as the node whose directory it is given, says Hello as a
 * neighbor, then sends --count messages of one --mode and prints one JSON line:
 *   forged      items whose signature is broken (each a strike: the node cuts it off)
 *   stale       valid items that expired a day ago (dropped without a strike)
 *   tombstoned  a valid item and its tombstone, then the item again and again (E_DEAD)
 *   recon       round-0 Recon "I hold nothing at all", so the node offers everything
 *   noread      the recon flood while never reading what the node answers
 *   flood       valid, fresh, distinct items signed by this node (a storage flood)
 * usage: momedo-hostile --dir D --connect HOST:PORT --node-key HEX --mode M
 *                       [--count N] [--linger-ms MS] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "arena.h"
#include "frame.h"
#include "identity.h"
#include "link.h"
#include "obj.h"
#include "os.h"
#include "reason.h"
#include "tls.h"

#define HOSTILE_COUNT_DEFAULT 1000u
#define HOSTILE_COUNT_MAX 10000000u
#define HOSTILE_LINGER_MS_DEFAULT 3000u
#define HOSTILE_BATCH 32u             /* messages per loop turn */
#define HOSTILE_TIMEOUT_MS 600000u    /* the whole run */
#define HOSTILE_CT_BYTES 64u          /* ciphertext bytes of each item */
#define HOSTILE_DAY_MS (24ull * 3600 * 1000)
#define HOSTILE_FRAME_ARENA_BYTES (64u * 1024)

enum mode { M_FORGED, M_STALE, M_TOMBSTONED, M_RECON, M_NOREAD, M_FLOOD };
static const char *const mode_names[] = {"forged", "stale", "tombstoned", "recon", "noread",
                                         "flood"};

struct hostile {
  uv_loop_t loop;
  uv_idle_t idle;
  uv_timer_t linger, deadline;
  struct node_identity id;
  struct crypto_sign_keypair dev;
  uint8_t mbox[OBJ_MAILBOX_LEN];
  struct tls_ctx *tls;
  struct link *l;
  enum mode mode;
  unsigned count, sent, again, frames_in;
  uint64_t linger_ms, t0;
  int hello_seen, up, down_status, error_code, done;
  uint8_t *item; /* tombstoned: the item sent again and again */
  size_t item_len;
  char down_reason[LINK_REASON_MAX], error_reason[FRAME_REASON_BYTES_MAX];
};

static struct hostile H;

static int item_make(uint32_t tag, uint64_t created, uint64_t expires, uint8_t **out,
                     size_t *len) {
  uint8_t ct[HOSTILE_CT_BYTES];
  memset(ct, 0x5a, sizeof ct);
  memcpy(ct, &tag, sizeof tag);
  Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
  it.format = OBJ_FORMAT;
  it.mailbox.data = H.mbox, it.mailbox.len = OBJ_MAILBOX_LEN;
  it.created_ms = created, it.expires_ms = expires;
  it.ciphertext.data = ct, it.ciphertext.len = sizeof ct;
  it.node_key.data = H.id.kp.pub, it.node_key.len = OBJ_KEY_LEN;
  return obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &it.base, &H.id.kp, out, len);
}

static int tombstone_make(const uint8_t *item, size_t item_len, uint8_t **out, size_t *len) {
  uint8_t id[OBJ_ID_LEN];
  uint64_t now = os_wall_ms();
  int rc = obj_id(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, item, item_len, id);
  if (rc) return rc;
  Momedo__Tombstone tb = MOMEDO__TOMBSTONE__INIT;
  tb.format = OBJ_FORMAT;
  tb.item_id.data = id, tb.item_id.len = OBJ_ID_LEN;
  tb.mailbox.data = H.mbox, tb.mailbox.len = OBJ_MAILBOX_LEN;
  tb.created_ms = now, tb.expires_ms = now + 2 * HOSTILE_DAY_MS;
  tb.device_key.data = H.dev.pub, tb.device_key.len = OBJ_KEY_LEN;
  return obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, &tb.base, &H.dev, out, len);
}

/* Send one ReplMsg in a frame: 0, E_AGAIN (the link is full) or an error. */
static int send_repl(Momedo__ReplMsg *m) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  uint8_t *buf = NULL;
  size_t n = 0;
  f.body_case = MOMEDO__FRAME__BODY_REPL;
  f.repl = m;
  int rc = frame_encode(&f, 0, &buf, &n);
  if (rc == 0) rc = link_send(H.l, buf, n);
  free(buf);
  return rc;
}

static int send_push(Momedo__ObjectKind kind, uint8_t *data, size_t len) {
  Momedo__Object o = MOMEDO__OBJECT__INIT, *op = &o;
  o.kind = kind;
  o.data.data = data, o.data.len = len;
  Momedo__ObjectPush p = MOMEDO__OBJECT_PUSH__INIT;
  p.n_objects = 1, p.objects = &op;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PUSH;
  m.push = &p;
  return send_repl(&m);
}

/* Round 0, one IDs range over the whole ID space listing no IDs: "I hold nothing". */
static int send_recon_empty(void) {
  static uint8_t ranges[] = {0x80, 0x00, 0x00}; /* mode IDS, unbounded, 0 IDs */
  Momedo__Recon r = MOMEDO__RECON__INIT;
  r.round = 0;
  r.ranges.data = ranges, r.ranges.len = sizeof ranges;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_RECON;
  m.recon = &r;
  return send_repl(&m);
}

/* The next message of the mode (index i). */
static int send_one(unsigned i) {
  uint64_t now = os_wall_ms();
  uint8_t *o = NULL;
  size_t n = 0;
  int rc;
  switch (H.mode) {
  case M_FORGED:
  case M_STALE:
  case M_FLOOD:
    if (H.mode != M_STALE) rc = item_make(i, now - 1000, now + HOSTILE_DAY_MS, &o, &n);
    else rc = item_make(i, now - 3 * HOSTILE_DAY_MS, now - HOSTILE_DAY_MS, &o, &n);
    if (rc) return rc;
    if (H.mode == M_FORGED) o[n - 1] ^= 0x01; /* the signature's last byte */
    rc = send_push(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, o, n);
    free(o);
    return rc;
  case M_TOMBSTONED:
    if (i != 1) return send_push(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, H.item, H.item_len);
    if ((rc = tombstone_make(H.item, H.item_len, &o, &n)) != 0) return rc;
    rc = send_push(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, o, n);
    free(o);
    return rc;
  default:
    return send_recon_empty();
  }
}

static void finish(void) {
  if (H.done) return;
  H.done = 1;
  uv_idle_stop(&H.idle);
  uv_timer_stop(&H.linger);
  uv_timer_stop(&H.deadline);
  if (H.l) link_close(H.l, 0, "hostile peer done");
  else uv_stop(&H.loop);
}

static void on_linger(uv_timer_t *t) {
  (void)t;
  finish();
}

static void on_idle(uv_idle_t *t) {
  (void)t;
  for (unsigned k = 0; k < HOSTILE_BATCH && H.sent < H.count; k++) {
    int rc = send_one(H.sent);
    if (rc == MOMEDO_E_AGAIN) {
      H.again++;
      uv_idle_stop(&H.idle); /* on_writable resumes */
      return;
    }
    if (rc) {
      finish();
      return;
    }
    H.sent++;
  }
  if (H.sent >= H.count) {
    uv_idle_stop(&H.idle);
    uv_timer_start(&H.linger, on_linger, H.linger_ms, 0);
  }
}

static void on_up(struct link *l, const uint8_t *peer_key) {
  (void)peer_key;
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__Hello h;
  uint8_t *buf = NULL;
  size_t n = 0;
  H.up = 1;
  frame_hello_init(&h, MOMEDO__ROLE__ROLE_NEIGHBOR, H.id.kp.pub, os_wall_ms(), 0);
  f.body_case = MOMEDO__FRAME__BODY_HELLO;
  f.hello = &h;
  if (frame_encode(&f, 0, &buf, &n) != 0 || link_send(l, buf, n) != 0) finish();
  free(buf);
}

static void on_frame(struct link *l, const uint8_t *body, size_t len) {
  struct arena a;
  Momedo__Frame *f = NULL;
  H.frames_in++;
  arena_init(&a, HOSTILE_FRAME_ARENA_BYTES);
  if (frame_unpack(body, len, &a, &f) == 0) {
    if (f->body_case == MOMEDO__FRAME__BODY_ERROR && f->error) {
      H.error_code = f->error->code;
      reason_set(H.error_reason, sizeof H.error_reason, "%s",
                 f->error->reason ? f->error->reason : "");
    } else if (f->body_case == MOMEDO__FRAME__BODY_HELLO && !H.hello_seen) {
      H.hello_seen = 1;
      if (H.mode == M_NOREAD) link_pause_read(l);
      uv_idle_start(&H.idle, on_idle);
    }
  }
  arena_close(&a);
}

static void on_writable(struct link *l) {
  (void)l;
  if (!H.done && H.hello_seen && H.sent < H.count) uv_idle_start(&H.idle, on_idle);
}

static void on_down(struct link *l, int status, const char *reason) {
  (void)l;
  H.l = NULL;
  H.down_status = status;
  reason_set(H.down_reason, sizeof H.down_reason, "%s", reason ? reason : "");
  H.done = 1;
  uv_stop(&H.loop);
}

static void on_deadline(uv_timer_t *t) {
  (void)t;
  finish();
}

static int parse_args(int argc, char **argv, const char **dir, char *host, uint16_t *port,
                      uint8_t key[NODE_KEY_LEN]) {
  const char *connect = NULL, *keyhex = NULL, *mode = NULL;
  H.count = HOSTILE_COUNT_DEFAULT, H.linger_ms = HOSTILE_LINGER_MS_DEFAULT;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--dir")) *dir = argv[i + 1];
    else if (!strcmp(argv[i], "--connect")) connect = argv[i + 1];
    else if (!strcmp(argv[i], "--node-key")) keyhex = argv[i + 1];
    else if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
    else if (!strcmp(argv[i], "--count")) H.count = (unsigned)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--linger-ms")) H.linger_ms = strtoull(argv[i + 1], NULL, 10);
    else return MOMEDO_E_INVAL;
  }
  if (!*dir || !connect || !keyhex || !mode || H.count == 0 || H.count > HOSTILE_COUNT_MAX)
    return MOMEDO_E_INVAL;
  int m = 0;
  while (m <= M_FLOOD && strcmp(mode_names[m], mode) != 0) m++;
  if (m > M_FLOOD) return MOMEDO_E_INVAL;
  H.mode = (enum mode)m;
  const char *colon = strrchr(connect, ':');
  unsigned long p = colon ? strtoul(colon + 1, NULL, 10) : 0;
  if (!colon || colon == connect || (size_t)(colon - connect) >= LINK_HOST_MAX || p == 0 ||
      p > 65535)
    return MOMEDO_E_INVAL;
  memcpy(host, connect, (size_t)(colon - connect));
  host[colon - connect] = '\0';
  *port = (uint16_t)p;
  return node_key_parse(keyhex, key);
}

/* Keys, the tombstoned mode's item and the loop; then the link. */
static int setup(const char *dir, const char *host, uint16_t port, const uint8_t *key) {
  char why[REASON_MAX] = "";
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
  int rc = node_identity_load(&H.id, dir, why, sizeof why);
  if (rc) {
    fprintf(stderr, "momedo-hostile: %s: %s\n", dir, why);
    return rc;
  }
  memset(seed, 0x4d, sizeof seed);
  if ((rc = crypto_sign_from_seed(&H.dev, seed)) != 0) return rc;
  if ((rc = obj_device_mailbox(H.mbox, H.dev.pub)) != 0) return rc;
  uint64_t now = os_wall_ms();
  if (H.mode == M_TOMBSTONED &&
      (rc = item_make(0, now - 1000, now + HOSTILE_DAY_MS, &H.item, &H.item_len)) != 0)
    return rc;
  if ((rc = tls_global_init()) != 0) return rc;
  if ((rc = tls_ctx_new(&H.tls, TLS_ROLE_CLIENT, &H.id)) != 0) return rc;
  if (uv_loop_init(&H.loop) != 0) return MOMEDO_E_INTERNAL;
  uv_idle_init(&H.loop, &H.idle);
  uv_timer_init(&H.loop, &H.linger);
  uv_timer_init(&H.loop, &H.deadline);
  uv_timer_start(&H.deadline, on_deadline, HOSTILE_TIMEOUT_MS, 0);
  struct link_callbacks cbs = {on_up, on_frame, on_down, on_writable};
  return link_connect(&H.loop, host, port, H.tls, key, NULL, &cbs, NULL, &H.l);
}

static void close_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  char host[LINK_HOST_MAX];
  uint16_t port = 0;
  uint8_t key[NODE_KEY_LEN];
  signal(SIGPIPE, SIG_IGN);
  if (parse_args(argc, argv, &dir, host, &port, key) != 0) {
    fprintf(stderr, "usage: momedo-hostile --dir D --connect HOST:PORT --node-key HEX --mode "
                    "forged|stale|tombstoned|recon|noread|flood [--count N (1..%u)] [--linger-ms MS]\n",
            HOSTILE_COUNT_MAX);
    return 2;
  }
  H.t0 = os_mono_ms();
  int rc = setup(dir, host, port, key);
  if (rc == 0) uv_run(&H.loop, UV_RUN_DEFAULT);
  printf("{\"mode\": \"%s\", \"sent\": %u, \"again\": %u, \"frames_in\": %u, \"up\": %d, "
         "\"hello\": %d, \"error_code\": %d, \"down_status\": %d, \"setup\": %d, "
         "\"seconds\": %.2f}\n",
         mode_names[H.mode], H.sent, H.again, H.frames_in, H.up, H.hello_seen, H.error_code,
         H.down_status, rc, (double)(os_mono_ms() - H.t0) / 1000.0);
  if (H.error_reason[0]) fprintf(stderr, "momedo-hostile: node said: %s\n", H.error_reason);
  if (H.down_reason[0]) fprintf(stderr, "momedo-hostile: link down: %s\n", H.down_reason);
  if (H.l) link_close(H.l, 0, "exit");
  uv_walk(&H.loop, close_cb, NULL);
  uv_run(&H.loop, UV_RUN_DEFAULT);
  uv_loop_close(&H.loop);
  tls_ctx_free(H.tls);
  tls_global_cleanup();
  node_identity_close(&H.id);
  free(H.item);
  return rc ? 1 : 0;
}
