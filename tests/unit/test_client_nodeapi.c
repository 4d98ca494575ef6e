/* Unit tests for client/core/nodeapi over a fake in-memory transport (no sockets): the
 * frames the client sends, response matching by request_id, events and pings that
 * arrive in between, node errors, timeouts, and the objects the client signs. */
#include "harness.h"

#include "arena.h"
#include "crypto.h"
#include "frame.h"
#include "nodeapi.h"
#include "obj.h"
#include "otpk.h"

#define NOW_MS 1700000000000ull
#define FAKE_IN_MAX (1u << 20)

/* Node -> client bytes are scripted up front; client -> node bytes are recorded. */
struct fake {
  uint8_t *in;
  size_t in_len, in_pos;
  size_t chunk;        /* deliver at most this many bytes per recv (0 = all) */
  uint8_t *out;
  size_t out_len, out_cap;
  uint64_t mono_ms;    /* advances only when a recv times out */
  int fail_send;
  void (*on_send)(void); /* after a send is recorded: may script the answer to it */
};

static int fake_send(void *ctx, const uint8_t *buf, size_t len, int timeout_ms) {
  struct fake *f = ctx;
  if (f->fail_send) return MOMEDO_E_CLOSED;
  if (f->out_len + len > f->out_cap) {
    f->out_cap = (f->out_len + len) * 2;
    f->out = realloc(f->out, f->out_cap);
    if (f->out == NULL) abort();
  }
  memcpy(f->out + f->out_len, buf, len);
  f->out_len += len;
  if (f->on_send) f->on_send();
  return 0;
}

static int fake_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, int timeout_ms) {
  struct fake *f = ctx;
  size_t left = f->in_len - f->in_pos;
  *got = 0;
  if (left == 0) {
    f->mono_ms += timeout_ms < 0 ? 1000000 : (uint64_t)timeout_ms;
    return MOMEDO_E_TIMEOUT;
  }
  size_t n = left < cap ? left : cap;
  if (f->chunk && n > f->chunk) n = f->chunk;
  memcpy(buf, f->in + f->in_pos, n);
  f->in_pos += n;
  *got = n;
  return 0;
}

static uint64_t fake_now(void *ctx) { return ((struct fake *)ctx)->mono_ms; }

static const struct transport_ops fake_ops = {fake_send, fake_recv, fake_now};

static struct fake fk;
static struct transport tr;
static struct nodeapi api;
static struct crypto_sign_keypair node_kp, dev_kp, id_kp;

static void setup(void) {
  uint8_t seed[32];
  free(fk.in);
  free(fk.out);
  memset(&fk, 0, sizeof fk);
  fk.in = malloc(FAKE_IN_MAX);
  if (fk.in == NULL) abort();
  fk.mono_ms = 5000;
  tr.ops = &fake_ops;
  tr.ctx = &fk;
  memset(seed, 0x11, 32);
  if (crypto_sign_from_seed(&node_kp, seed) != 0) abort();
  memset(seed, 0x22, 32);
  if (crypto_sign_from_seed(&dev_kp, seed) != 0) abort();
  memset(seed, 0x33, 32);
  if (crypto_sign_from_seed(&id_kp, seed) != 0) abort();
  nodeapi_init(&api, &tr, node_kp.pub, 1000);
}

static void teardown(void) {
  nodeapi_close(&api);
  free(fk.in);
  free(fk.out);
  memset(&fk, 0, sizeof fk);
}

static void push_frame(const Momedo__Frame *f) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (frame_encode(f, FRAME_BYTES_MAX_LIMIT, &buf, &len) != 0) abort();
  if (fk.in_len + len > FAKE_IN_MAX) abort();
  memcpy(fk.in + fk.in_len, buf, len);
  fk.in_len += len;
  free(buf);
}

static void push_hello(const uint8_t *key, uint32_t frame_max) {
  Momedo__Hello h;
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  frame_hello_init(&h, MOMEDO__ROLE__ROLE_NONE, key, NOW_MS, frame_max);
  f.body_case = MOMEDO__FRAME__BODY_HELLO;
  f.hello = &h;
  push_frame(&f);
}

static void push_response(Momedo__ClientResponse *r) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  f.body_case = MOMEDO__FRAME__BODY_RESPONSE;
  f.response = r;
  push_frame(&f);
}

static void push_status(uint64_t request_id, int32_t status, const char *reason) {
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  r.request_id = request_id;
  r.status = status;
  if (reason) r.reason = (char *)reason;
  push_response(&r);
}

static void push_post_resp(uint64_t request_id, uint8_t fill) {
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__PostResp p = MOMEDO__POST_RESP__INIT;
  uint8_t id[32];
  memset(id, fill, sizeof id);
  p.id = (ProtobufCBinaryData){32, id};
  p.expires_ms = NOW_MS + 1000;
  r.request_id = request_id;
  r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_POST;
  r.post = &p;
  push_response(&r);
}

/* A valid OzoneItem signed by the node key; caller frees *out. */
static void make_item(const uint8_t mailbox[32], const char *text, uint8_t **out,
                      size_t *len) {
  Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
  it.format = 1;
  it.mailbox = (ProtobufCBinaryData){32, (uint8_t *)mailbox};
  it.created_ms = NOW_MS - 1000;
  it.expires_ms = NOW_MS + 3600000;
  it.ciphertext = (ProtobufCBinaryData){strlen(text), (uint8_t *)text};
  it.node_key = (ProtobufCBinaryData){32, node_kp.pub};
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &it.base, &node_kp, out, len) != 0)
    abort();
}

static void push_event(const uint8_t mailbox[32], uint64_t seq, const uint8_t *data,
                       size_t len) {
  Momedo__ClientEvent e = MOMEDO__CLIENT_EVENT__INIT;
  Momedo__Object o = MOMEDO__OBJECT__INIT;
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  o.kind = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM;
  o.data = (ProtobufCBinaryData){len, (uint8_t *)data};
  e.mailbox = (ProtobufCBinaryData){32, (uint8_t *)mailbox};
  e.seq = seq;
  e.object = &o;
  f.body_case = MOMEDO__FRAME__BODY_EVENT;
  f.event = &e;
  push_frame(&f);
}

/* Decode the frames the client sent, in order, into a; returns how many. */
static size_t sent_frames(struct arena *a, Momedo__Frame **out, size_t max) {
  struct frame_decoder d;
  size_t pos = 0, n = 0;
  frame_decoder_init(&d, 0);
  while (pos < fk.out_len && n < max) {
    size_t used = 0;
    int r = frame_decoder_feed(&d, fk.out + pos, fk.out_len - pos, &used);
    pos += used;
    if (r != 1) break;
    const uint8_t *body;
    size_t blen;
    frame_decoder_body(&d, &body, &blen);
    if (frame_unpack(body, blen, a, &out[n]) != 0) break;
    n++;
    frame_decoder_next(&d);
  }
  frame_decoder_close(&d);
  return n;
}

static int do_hello(void) {
  push_hello(node_kp.pub, 65536);
  return nodeapi_hello(&api, NOW_MS);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_hello_ok(void) {
  struct arena a;
  Momedo__Frame *sent[4];
  setup();
  arena_init(&a, 1 << 20);
  fk.chunk = 1; /* every byte in its own read */
  CHECK_EQ(do_hello(), 0);
  CHECK_EQ(api.version, 1);
  CHECK_EQ(api.send_bytes_max, 65536);
  CHECK_EQ(sent_frames(&a, sent, 4), 1);
  CHECK_EQ(sent[0]->body_case, MOMEDO__FRAME__BODY_HELLO);
  CHECK_EQ(sent[0]->hello->role, MOMEDO__ROLE__ROLE_CLIENT);
  CHECK_EQ(sent[0]->hello->protocol_version, PROTOCOL_VERSION);
  CHECK_EQ(sent[0]->hello->now_ms, NOW_MS);
  CHECK_EQ(sent[0]->hello->node_key.len, 0);
  CHECK_EQ(nodeapi_hello(&api, NOW_MS), MOMEDO_E_UNEXPECTED); /* only once */
  arena_close(&a);
  teardown();
}

static void test_hello_refusals(void) {
  uint8_t other[32];
  memset(other, 0x99, 32);
  setup();
  push_hello(other, 0);
  CHECK_EQ(nodeapi_hello(&api, NOW_MS), MOMEDO_E_KEYCHANGED);
  /* The session is dead: later calls return the same error and reason without I/O. */
  uint8_t id[32], mb[32] = {0};
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = mb, .ciphertext_len = 1};
  size_t sent_before = fk.out_len;
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_KEYCHANGED);
  CHECK_EQ(fk.out_len, sent_before);
  CHECK(strstr(nodeapi_reason(&api), "another node key") != NULL);
  teardown();

  setup();
  Momedo__Hello h;
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  frame_hello_init(&h, MOMEDO__ROLE__ROLE_NONE, NULL, NOW_MS, 0);
  h.protocol_version = 7;
  h.min_version = 5;
  f.body_case = MOMEDO__FRAME__BODY_HELLO;
  f.hello = &h;
  push_frame(&f);
  CHECK_EQ(nodeapi_hello(&api, NOW_MS), MOMEDO_E_VERSION);
  CHECK(strlen(nodeapi_reason(&api)) > 0);
  teardown();

  setup();
  Momedo__Error e;
  Momedo__Frame ef = MOMEDO__FRAME__INIT;
  frame_error_init(&e, MOMEDO_E_BUSY, "too many clients", 1);
  ef.body_case = MOMEDO__FRAME__BODY_ERROR;
  ef.error = &e;
  push_frame(&ef);
  CHECK_EQ(nodeapi_hello(&api, NOW_MS), MOMEDO_E_BUSY);
  CHECK_STR(nodeapi_reason(&api), "too many clients");
  teardown();

  setup(); /* no answer at all */
  CHECK_EQ(nodeapi_hello(&api, NOW_MS), MOMEDO_E_TIMEOUT);
  teardown();
}

static void test_call_before_hello(void) {
  uint8_t id[32], mb[32] = {0};
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = mb, .ciphertext_len = 1};
  setup();
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_UNEXPECTED);
  CHECK_EQ(fk.out_len, 0);
  teardown();
}

/* A ping, an event and a stale response arrive before the answer to our post. */
static void test_post_with_interleaved_frames(void) {
  struct arena a;
  Momedo__Frame *sent[8];
  uint8_t mb[32], id[32], *item = NULL;
  size_t item_len = 0;
  uint64_t expires = 0;
  setup();
  arena_init(&a, 1 << 20);
  CHECK_EQ(do_hello(), 0);
  memset(mb, 0x5A, 32);
  make_item(mb, "hello", &item, &item_len);
  Momedo__Ping ping = MOMEDO__PING__INIT;
  Momedo__Frame pf = MOMEDO__FRAME__INIT;
  ping.nonce = 77;
  pf.body_case = MOMEDO__FRAME__BODY_PING;
  pf.ping = &ping;
  push_frame(&pf);
  push_event(mb, 9, item, item_len);
  push_post_resp(0, 0xEE); /* request_id 0: never ours, dropped */
  push_post_resp(1, 0xAB);
  uint8_t dn[2][32];
  memset(dn[0], 0x77, 32);
  memset(dn[1], 0x11, 32);
  struct nodeapi_post_req p = {
      .mailbox = mb, .ciphertext = (const uint8_t *)"secret", .ciphertext_len = 6,
      .ttl_ms = 60000, .dest_nodes = dn, .n_dest_nodes = 2};
  CHECK_EQ(nodeapi_post(&api, &p, id, &expires), 0);
  uint8_t want[32];
  memset(want, 0xAB, 32);
  CHECK_MEM(id, want, 32);
  CHECK_EQ(expires, NOW_MS + 1000);
  CHECK_EQ(api.ev_count, 1);
  /* Sent: Hello, PostReq (request_id 1), Pong(77). */
  CHECK_EQ(sent_frames(&a, sent, 8), 3);
  CHECK_EQ(sent[1]->body_case, MOMEDO__FRAME__BODY_REQUEST);
  CHECK_EQ(sent[1]->request->request_id, 1);
  CHECK_EQ(sent[1]->request->body_case, MOMEDO__CLIENT_REQUEST__BODY_POST);
  CHECK_EQ(sent[1]->request->post->ttl_ms, 60000);
  /* The destinations as given (the node sorts them). */
  CHECK_EQ(sent[1]->request->post->n_dest_nodes, 2);
  CHECK_MEM(sent[1]->request->post->dest_nodes[0].data, dn[0], 32);
  CHECK_MEM(sent[1]->request->post->dest_nodes[1].data, dn[1], 32);
  CHECK_EQ(sent[1]->request->post->ciphertext.len, 6);
  CHECK_MEM(sent[1]->request->post->ciphertext.data, "secret", 6);
  CHECK_MEM(sent[1]->request->post->mailbox.data, mb, 32);
  CHECK_EQ(sent[2]->body_case, MOMEDO__FRAME__BODY_PONG);
  CHECK_EQ(sent[2]->pong->nonce, 77);
  /* The queued event comes out validated, without any I/O. */
  struct nodeapi_event ev;
  CHECK_EQ(nodeapi_wait_event(&api, 0, NOW_MS, &ev), 0);
  CHECK_EQ(ev.err, 0);
  CHECK_EQ(ev.seq, 9);
  CHECK_EQ(ev.len, item_len);
  CHECK_MEM(ev.info.mailbox, mb, 32);
  nodeapi_event_clear(&ev);
  CHECK_EQ(nodeapi_wait_event(&api, 50, NOW_MS, &ev), MOMEDO_E_TIMEOUT);
  free(item);
  arena_close(&a);
  teardown();
}

static void test_node_errors(void) {
  uint8_t mb[32] = {1}, id[32];
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = mb, .ciphertext_len = 4};
  setup();
  CHECK_EQ(do_hello(), 0);
  push_status(1, MOMEDO_E_RATE, "device may post 120 items per minute\x1b[2J");
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_RATE);
  CHECK_STR(nodeapi_reason(&api), "device may post 120 items per minute?[2J");
  push_status(2, 5, "positive");
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_PROTO);
  push_status(3, 0, NULL); /* success, but no PostResp body */
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_PROTO);
  push_post_resp(5, 1); /* an answer to a request never sent */
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_PROTO);
  CHECK_EQ(api.dead, MOMEDO_E_PROTO);
  teardown();
}

static void test_timeout_then_late_answer(void) {
  uint8_t mb[32] = {2}, id[32], want[32];
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = mb, .ciphertext_len = 4};
  setup();
  CHECK_EQ(do_hello(), 0);
  uint64_t t0 = fk.mono_ms;
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_TIMEOUT);
  CHECK_EQ(fk.mono_ms - t0, 1000); /* waited exactly the session timeout */
  CHECK_EQ(api.dead, 0);
  push_post_resp(1, 0x01); /* late answer to the first post */
  push_post_resp(2, 0x02);
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), 0);
  memset(want, 0x02, 32);
  CHECK_MEM(id, want, 32);
  teardown();
}

static void test_auth_signature(void) {
  struct arena a;
  Momedo__Frame *sent[8];
  uint8_t challenge[32];
  setup();
  arena_init(&a, 1 << 20);
  CHECK_EQ(do_hello(), 0);
  for (int i = 0; i < 32; i++) challenge[i] = (uint8_t)(200 + i);
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__AuthBeginResp ab = MOMEDO__AUTH_BEGIN_RESP__INIT;
  ab.challenge = (ProtobufCBinaryData){32, challenge};
  r.request_id = 1;
  r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_AUTH_BEGIN;
  r.auth_begin = &ab;
  push_response(&r);
  push_status(2, 0, NULL);
  CHECK_EQ(nodeapi_auth(&api, &dev_kp), 0);
  CHECK(api.authed);
  CHECK_EQ(sent_frames(&a, sent, 8), 3);
  CHECK_EQ(sent[1]->request->body_case, MOMEDO__CLIENT_REQUEST__BODY_AUTH_BEGIN);
  CHECK_MEM(sent[1]->request->auth_begin->device_key.data, dev_kp.pub, 32);
  CHECK_EQ(sent[2]->request->body_case, MOMEDO__CLIENT_REQUEST__BODY_AUTH_PROVE);
  CHECK_EQ(sent[2]->request->auth_prove->signature.len, 64);
  /* The signed message, built independently: domain || node key || challenge. */
  uint8_t msg[21 + 64];
  memcpy(msg, "momedo/client-auth/v1", 21);
  memcpy(msg + 21, node_kp.pub, 32);
  memcpy(msg + 53, challenge, 32);
  CHECK_EQ(crypto_verify(sent[2]->request->auth_prove->signature.data, msg, sizeof msg,
                         dev_kp.pub), 0);
  msg[84] ^= 1;
  CHECK_EQ(crypto_verify(sent[2]->request->auth_prove->signature.data, msg, sizeof msg,
                         dev_kp.pub), MOMEDO_E_BADSIG);
  /* A short challenge is refused. */
  ab.challenge.len = 16;
  r.request_id = 3;
  push_response(&r);
  CHECK_EQ(nodeapi_auth(&api, &dev_kp), MOMEDO_E_PROTO);
  arena_close(&a);
  teardown();
}

/* nodeapi_auth_user names the user's identity key in AuthBegin (field 2), so a node
 * where the device was never registered can check the user's key bundle; plain
 * nodeapi_auth sends the device key alone (the encoding is checked byte for byte). */
static void test_auth_user_sends_identity(void) {
  struct arena a;
  Momedo__Frame *sent[8];
  uint8_t challenge[32], want[2 + 32 + 2 + 32];
  setup();
  arena_init(&a, 1 << 20);
  CHECK_EQ(do_hello(), 0);
  memset(challenge, 0x5a, sizeof challenge);
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__AuthBeginResp ab = MOMEDO__AUTH_BEGIN_RESP__INIT;
  ab.challenge = (ProtobufCBinaryData){32, challenge};
  r.request_id = 1;
  r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_AUTH_BEGIN;
  r.auth_begin = &ab;
  push_response(&r);
  push_status(2, 0, NULL);
  CHECK_EQ(nodeapi_auth_user(&api, &dev_kp, id_kp.pub), 0);
  CHECK(api.authed);
  CHECK_EQ(sent_frames(&a, sent, 8), 3);
  const Momedo__AuthBeginReq *b = sent[1]->request->auth_begin;
  CHECK_EQ(b->identity_key.len, 32);
  CHECK_MEM(b->identity_key.data, id_kp.pub, 32);
  /* AuthBeginReq bytes: 0a 20 device_key 12 20 identity_key. */
  want[0] = 0x0a;
  want[1] = 0x20;
  memcpy(want + 2, dev_kp.pub, 32);
  want[34] = 0x12;
  want[35] = 0x20;
  memcpy(want + 36, id_kp.pub, 32);
  uint8_t enc[sizeof want + 8];
  CHECK_EQ(momedo__auth_begin_req__get_packed_size(b), sizeof want);
  CHECK_EQ(momedo__auth_begin_req__pack(b, enc), sizeof want);
  CHECK_MEM(enc, want, sizeof want);
  /* The node refuses a device its bundles do not admit: the code and reason come back. */
  push_status(3, MOMEDO_E_AUTH, "its user's key bundle does not list it");
  CHECK_EQ(nodeapi_auth_user(&api, &dev_kp, id_kp.pub), MOMEDO_E_AUTH);
  CHECK_STR(nodeapi_reason(&api), "its user's key bundle does not list it");
  /* Without an identity key the field is absent. */
  r.request_id = 4;
  push_response(&r);
  push_status(5, 0, NULL);
  CHECK_EQ(nodeapi_auth(&api, &dev_kp), 0);
  CHECK_EQ(sent_frames(&a, sent, 8), 6);
  CHECK_EQ(sent[4]->request->auth_begin->identity_key.len, 0);
  CHECK_EQ(momedo__auth_begin_req__get_packed_size(sent[4]->request->auth_begin), 34);
  arena_close(&a);
  teardown();
}

static void test_tombstone_and_ack(void) {
  struct arena a;
  Momedo__Frame *sent[4];
  uint8_t *ts = NULL, item_id[32], mb[32];
  size_t ts_len = 0;
  struct obj_info info;
  setup();
  arena_init(&a, 1 << 20);
  memset(item_id, 0x42, 32);
  CHECK_EQ(nodeapi_tombstone(&dev_kp, item_id, 0, NOW_MS, &ts, &ts_len), 0);
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, ts, ts_len, NOW_MS, &info), 0);
  CHECK_EQ(obj_device_mailbox(mb, dev_kp.pub), 0);
  CHECK_MEM(info.mailbox, mb, 32);
  CHECK_MEM(info.target_id, item_id, 32);
  CHECK_MEM(info.key, dev_kp.pub, 32);
  CHECK_EQ(info.created_ms, NOW_MS);
  CHECK_EQ(info.expires_ms, NOW_MS + OBJ_TTL_MS_MAX);
  free(ts);
  CHECK_EQ(nodeapi_tombstone(&dev_kp, item_id, NOW_MS + 5, NOW_MS, &ts, &ts_len), 0);
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, ts, ts_len, NOW_MS, &info), 0);
  CHECK_EQ(info.expires_ms, NOW_MS + 5);
  free(ts);
  CHECK_EQ(nodeapi_tombstone(&dev_kp, item_id, NOW_MS, NOW_MS, &ts, &ts_len),
           MOMEDO_E_EXPIRED);
  CHECK(ts == NULL);
  /* Destinations (the device's home nodes): sorted and distinct, as objects need them. */
  uint8_t homes[3][32];
  memset(homes[0], 0x90, 32);
  memset(homes[1], 0x20, 32);
  memset(homes[2], 0x90, 32);
  struct obj_checked *ck = malloc(sizeof *ck);
  CHECK(ck != NULL);
  CHECK_EQ(nodeapi_tombstone_to(&dev_kp, item_id, 0, NOW_MS, homes, 3, &ts, &ts_len), 0);
  CHECK_EQ(obj_check(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, ts, ts_len, NOW_MS, NULL, NULL, ck), 0);
  CHECK_EQ(ck->n_dests, 2);
  CHECK_MEM(ck->dests[0], homes[1], 32);
  CHECK_MEM(ck->dests[1], homes[0], 32);
  free(ts);
  free(ck);
  CHECK_EQ(nodeapi_tombstone_to(&dev_kp, item_id, 0, NOW_MS, homes, OBJ_HOME_NODES_MAX + 1, &ts,
                                &ts_len), MOMEDO_E_BOUNDS);

  CHECK_EQ(do_hello(), 0);
  struct nodeapi_ack_item items[2] = {{{0}, 0}, {{0}, NOW_MS + 60000}};
  memset(items[0].id, 1, 32);
  memset(items[1].id, 2, 32);
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__AckResp ar = MOMEDO__ACK_RESP__INIT;
  ar.accepted = 2;
  r.request_id = 1;
  r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_ACK;
  r.ack = &ar;
  push_response(&r);
  uint32_t accepted = 0;
  CHECK_EQ(nodeapi_ack(&api, &dev_kp, items, 2, NOW_MS, &accepted), 0);
  CHECK_EQ(accepted, 2);
  CHECK_EQ(sent_frames(&a, sent, 4), 2);
  const Momedo__AckReq *req = sent[1]->request->ack;
  CHECK_EQ(req->n_tombstones, 2);
  CHECK_EQ(req->tombstones[1]->kind, MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE);
  CHECK_EQ(obj_validate(req->tombstones[1]->kind, req->tombstones[1]->data.data,
                        req->tombstones[1]->data.len, NOW_MS, &info), 0);
  CHECK_MEM(info.target_id, items[1].id, 32);
  CHECK_EQ(info.expires_ms, NOW_MS + 60000);
  ar.accepted = 3; /* more than we sent */
  r.request_id = 2;
  push_response(&r);
  CHECK_EQ(nodeapi_ack(&api, &dev_kp, items, 2, NOW_MS, &accepted), MOMEDO_E_PROTO);
  CHECK_EQ(nodeapi_ack(&api, &dev_kp, items, 0, NOW_MS, &accepted), MOMEDO_E_INVAL);
  arena_close(&a);
  teardown();
}

static void test_fetch_validates(void) {
  uint8_t mb[32], other[32], *good = NULL, *bad = NULL;
  size_t good_len = 0, bad_len = 0;
  struct nodeapi_fetch out;
  setup();
  CHECK_EQ(do_hello(), 0);
  memset(mb, 0x10, 32);
  memset(other, 0x20, 32);
  make_item(mb, "ciphertext-1", &good, &good_len);
  make_item(other, "not yours", &bad, &bad_len);
  Momedo__Object o1 = MOMEDO__OBJECT__INIT, o2 = MOMEDO__OBJECT__INIT;
  o1.kind = o2.kind = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM;
  o1.data = (ProtobufCBinaryData){good_len, good};
  o2.data = (ProtobufCBinaryData){bad_len, bad};
  Momedo__FetchedObject f1 = MOMEDO__FETCHED_OBJECT__INIT, f2 = MOMEDO__FETCHED_OBJECT__INIT;
  f1.seq = 3, f1.object = &o1;
  f2.seq = 4, f2.object = &o2;
  Momedo__FetchedObject *fos[2] = {&f1, &f2};
  Momedo__FetchResp fr = MOMEDO__FETCH_RESP__INIT;
  fr.n_objects = 2, fr.objects = fos, fr.next_cursor = 5, fr.more = 1;
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  r.request_id = 1, r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_FETCH, r.fetch = &fr;
  push_response(&r);
  CHECK_EQ(nodeapi_fetch(&api, mb, 0, 10, NOW_MS, &out), 0);
  CHECK_EQ(out.n, 2);
  CHECK_EQ(out.n_invalid, 1);
  CHECK_EQ(out.next_cursor, 5);
  CHECK_EQ(out.more, 1);
  CHECK_EQ(out.objs[0].err, 0);
  CHECK_EQ(out.objs[0].seq, 3);
  CHECK_EQ(out.objs[0].ciphertext_len, 12);
  CHECK_MEM(out.objs[0].ciphertext, "ciphertext-1", 12);
  CHECK_MEM(out.objs[0].info.key, node_kp.pub, 32);
  CHECK_EQ(out.objs[1].err, MOMEDO_E_PROTO);
  /* The same item an hour later has expired. */
  r.request_id = 2;
  push_response(&r);
  CHECK_EQ(nodeapi_fetch(&api, mb, 0, 10, NOW_MS + 3600000, &out), 0);
  CHECK_EQ(out.objs[0].err, MOMEDO_E_EXPIRED);
  free(good);
  free(bad);
  teardown();
}

/* A signed bundle for id_kp with one device; caller frees *out. */
static void make_bundle(uint8_t **out, size_t *len) {
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT;
  Momedo__DeviceKeys *dp = &d;
  uint8_t dh[32], pre[32], sig[64];
  ProtobufCBinaryData home = {32, node_kp.pub};
  memset(dh, 9, 32);
  memset(pre, 8, 32);
  if (obj_prekey_sign(sig, 1, NOW_MS + 86400000, pre, &dev_kp) != 0) abort();
  d.device_key = (ProtobufCBinaryData){32, dev_kp.pub};
  d.dh_key = (ProtobufCBinaryData){32, dh};
  d.signed_prekey = (ProtobufCBinaryData){32, pre};
  d.prekey_id = 1;
  d.prekey_expires_ms = NOW_MS + 86400000;
  d.prekey_signature = (ProtobufCBinaryData){64, sig};
  d.home_node = home;
  b.format = 1;
  b.identity_key = (ProtobufCBinaryData){32, id_kp.pub};
  b.version = 1;
  b.created_ms = NOW_MS;
  b.n_devices = 1, b.devices = &dp;
  b.n_home_nodes = 1, b.home_nodes = &home;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &id_kp, out, len) != 0)
    abort();
}

/* A signed alias object: string alias for id_kp, issued by kp; caller frees *out. */
static void make_alias(const struct crypto_sign_keypair *kp, const char *alias, uint8_t **out,
                       size_t *len) {
  Momedo__Alias a = MOMEDO__ALIAS__INIT;
  a.format = 1;
  a.alias = (char *)alias;
  a.identity_key = (ProtobufCBinaryData){32, id_kp.pub};
  a.created_ms = NOW_MS;
  a.expires_ms = NOW_MS + 86400000;
  a.node_key = (ProtobufCBinaryData){32, (uint8_t *)kp->pub};
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_ALIAS, &a.base, kp, out, len) != 0) abort();
}

static void test_lookup_and_publish(void) {
  uint8_t *bundle = NULL, id[32], want_id[32];
  size_t blen = 0;
  struct nodeapi_bundle nb;
  setup();
  CHECK_EQ(do_hello(), 0);
  make_bundle(&bundle, &blen);
  Momedo__Object o = MOMEDO__OBJECT__INIT;
  o.kind = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  o.data = (ProtobufCBinaryData){blen, bundle};
  Momedo__LookupResp lr = MOMEDO__LOOKUP_RESP__INIT;
  lr.bundle = &o;
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  r.request_id = 1, r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_LOOKUP, r.lookup = &lr;
  push_response(&r);
  struct nodeapi_lookup_q q = {.identity_key = id_kp.pub};
  CHECK_EQ(nodeapi_lookup(&api, &q, NOW_MS, &nb), 0);
  CHECK_MEM(nb.info.key, id_kp.pub, 32);
  CHECK_EQ(nb.bundle->n_devices, 1);
  CHECK_MEM(nb.bundle->devices[0]->device_key.data, dev_kp.pub, 32);
  /* Asked for another identity: refused even though the bundle is valid. */
  r.request_id = 2;
  push_response(&r);
  q.identity_key = dev_kp.pub;
  CHECK_EQ(nodeapi_lookup(&api, &q, NOW_MS, &nb), MOMEDO_E_PROTO);
  /* By alias, without the alias object: refused. */
  r.request_id = 3;
  push_response(&r);
  struct nodeapi_lookup_q qa = {.alias = "49K492"};
  CHECK_EQ(nodeapi_lookup(&api, &qa, NOW_MS, &nb), MOMEDO_E_PROTO);
  /* With an alias object (issue 11, finding 2): accepted only for the string asked for
   * (any spelling) and issued by a home node of the user. */
  struct crypto_sign_keypair other_kp;
  uint8_t seed[32], *al = NULL;
  size_t all = 0;
  memset(seed, 0x77, 32);
  CHECK_EQ(crypto_sign_from_seed(&other_kp, seed), 0);
  Momedo__Object ao = MOMEDO__OBJECT__INIT;
  ao.kind = MOMEDO__OBJECT_KIND__OBJ_ALIAS;
  lr.alias = &ao;
  const struct {
    const struct crypto_sign_keypair *issuer;
    const char *alias, *typed;
    int want;
  } cases[] = {{&node_kp, "49K492AB", "49k4-92ab", 0},
               {&node_kp, "49K492AB", "49K492A8", MOMEDO_E_PROTO},
               {&node_kp, "49K492AB", "49K492ABC", MOMEDO_E_PROTO},
               {&other_kp, "49K492AB", "49K492AB", MOMEDO_E_PROTO}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    make_alias(cases[i].issuer, cases[i].alias, &al, &all);
    ao.data = (ProtobufCBinaryData){all, al};
    r.request_id = 4 + i;
    push_response(&r);
    qa.alias = cases[i].typed;
    CHECK_EQ(nodeapi_lookup(&api, &qa, NOW_MS, &nb), cases[i].want);
    if (cases[i].want == 0) CHECK(strcmp(nb.alias_info.alias, "49K492AB") == 0);
    free(al);
  }
  lr.alias = NULL;
  struct nodeapi_lookup_q none = {0};
  CHECK_EQ(nodeapi_lookup(&api, &none, NOW_MS, &nb), MOMEDO_E_INVAL);
  /* Publish: the node's ID must be the object's ID. */
  CHECK_EQ(obj_id(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, bundle, blen, want_id), 0);
  Momedo__PublishResp pr = MOMEDO__PUBLISH_RESP__INIT;
  pr.id = (ProtobufCBinaryData){32, want_id};
  Momedo__ClientResponse r2 = MOMEDO__CLIENT_RESPONSE__INIT;
  r2.request_id = 8, r2.body_case = MOMEDO__CLIENT_RESPONSE__BODY_PUBLISH, r2.publish = &pr;
  push_response(&r2);
  CHECK_EQ(nodeapi_publish(&api, bundle, blen, id), 0);
  CHECK_MEM(id, want_id, 32);
  uint8_t wrong[32];
  memset(wrong, 0, 32);
  pr.id.data = wrong;
  r2.request_id = 9;
  push_response(&r2);
  CHECK_EQ(nodeapi_publish(&api, bundle, blen, id), MOMEDO_E_PROTO);
  free(bundle);
  teardown();
}

static void test_event_queue_bound(void) {
  uint8_t mb[32], *item = NULL;
  size_t item_len = 0;
  struct nodeapi_event ev;
  setup();
  CHECK_EQ(do_hello(), 0);
  memset(mb, 0x77, 32);
  make_item(mb, "x", &item, &item_len);
  for (uint64_t i = 0; i < NODEAPI_EVENTS_MAX + 3; i++) push_event(mb, i + 1, item, item_len);
  push_status(1, 0, NULL);
  const uint8_t(*mbs)[32] = (const uint8_t(*)[32])mb;
  CHECK_EQ(nodeapi_subscribe(&api, mbs, 1), 0);
  CHECK_EQ(api.ev_count, NODEAPI_EVENTS_MAX);
  CHECK_EQ(api.events_dropped, 3);
  CHECK_EQ(nodeapi_wait_event(&api, 0, NOW_MS, &ev), 0);
  CHECK_EQ(ev.seq, 1); /* oldest first */
  nodeapi_event_clear(&ev);
  /* A malformed event (short mailbox) kills the session. */
  nodeapi_close(&api);
  nodeapi_init(&api, &tr, node_kp.pub, 1000);
  fk.in_len = fk.in_pos = 0;
  CHECK_EQ(do_hello(), 0);
  push_event(mb, 1, item, item_len);
  Momedo__ClientEvent e = MOMEDO__CLIENT_EVENT__INIT;
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  e.mailbox = (ProtobufCBinaryData){3, mb};
  f.body_case = MOMEDO__FRAME__BODY_EVENT;
  f.event = &e;
  push_frame(&f);
  CHECK_EQ(nodeapi_wait_event(&api, 10, NOW_MS, &ev), 0); /* the good one */
  nodeapi_event_clear(&ev);
  CHECK_EQ(nodeapi_wait_event(&api, 10, NOW_MS, &ev), MOMEDO_E_PROTO);
  free(item);
  teardown();
}

static void test_oversized_frame_header(void) {
  uint8_t mb[32] = {0}, id[32];
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = mb, .ciphertext_len = 1};
  setup();
  CHECK_EQ(do_hello(), 0);
  size_t cap_before = api.dec.buf_cap;
  uint8_t hdr[4] = {0x7f, 0xff, 0xff, 0xff};
  memcpy(fk.in + fk.in_len, hdr, 4);
  fk.in_len += 4;
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_TOOBIG);
  CHECK_EQ(api.dec.buf_cap, cap_before); /* nothing was allocated for it */
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_TOOBIG); /* sticky */
  teardown();
}

static void test_send_failure_kills(void) {
  uint8_t mb[32] = {0}, id[32];
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = mb, .ciphertext_len = 1};
  setup();
  CHECK_EQ(do_hello(), 0);
  fk.fail_send = 1;
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_CLOSED);
  fk.fail_send = 0;
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_CLOSED);
  /* Input checks come first and never touch the link. */
  p.ciphertext_len = 0;
  CHECK_EQ(nodeapi_post(&api, &p, id, NULL), MOMEDO_E_INVAL);
  teardown();
}

static void test_hostport(void) {
  char host[64];
  uint16_t port = 0;
  CHECK_EQ(transport_parse_hostport("127.0.0.1:4710", host, sizeof host, &port), 0);
  CHECK_STR(host, "127.0.0.1");
  CHECK_EQ(port, 4710);
  CHECK_EQ(transport_parse_hostport("[::1]:65535", host, sizeof host, &port), 0);
  CHECK_STR(host, "::1");
  CHECK_EQ(port, 65535);
  CHECK_EQ(transport_parse_hostport("node.example:1", host, sizeof host, &port), 0);
  CHECK_EQ(transport_parse_hostport("node.example", host, sizeof host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(transport_parse_hostport("h:0", host, sizeof host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(transport_parse_hostport("h:65536", host, sizeof host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(transport_parse_hostport("h:12a", host, sizeof host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(transport_parse_hostport(":80", host, sizeof host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(transport_parse_hostport("::1:80", host, sizeof host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(transport_parse_hostport("a b:80", host, sizeof host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(transport_parse_hostport("[::1]80", host, sizeof host, &port), MOMEDO_E_INVAL);
}

static void push_claim(uint64_t request_id, const struct otpk_pub *p) {
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__PrekeyClaimResp c = MOMEDO__PREKEY_CLAIM_RESP__INIT;
  Momedo__OneTimePrekey o = MOMEDO__ONE_TIME_PREKEY__INIT;
  if (p) {
    o.id = p->id;
    o.key = (ProtobufCBinaryData){32, (uint8_t *)p->key};
    o.signature = (ProtobufCBinaryData){64, (uint8_t *)p->sig};
    c.prekey = &o;
  }
  r.request_id = request_id;
  r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_CLAIM;
  r.prekey_claim = &c;
  push_response(&r);
}

/* A node (malicious, or one that lost its store) hands out a one-time prekey the
 * device never signed: the client refuses it (E_BADSIG) and so uses none, instead of
 * sending a first message the recipient cannot open. A genuine one is taken; an empty
 * answer means none. */
static void test_prekey_claim_forged(void) {
  struct otpk_pub real = {.id = 7}, forged, got;
  struct crypto_sign_keypair node_signs;
  uint8_t seed[32], sec[32];
  int found = 1;
  setup();
  CHECK_EQ(do_hello(), 0);
  CHECK_EQ(crypto_dh_keygen(sec, real.key), 0);
  CHECK_EQ(otpk_sign(&real, &dev_kp), 0);
  forged = real; /* the node's own key under the device's id and signature */
  CHECK_EQ(crypto_dh_keygen(sec, forged.key), 0);
  push_claim(1, &forged);
  CHECK_EQ(nodeapi_prekey_claim(&api, dev_kp.pub, &got, &found), MOMEDO_E_BADSIG);
  CHECK_EQ(found, 0);
  memset(seed, 0x44, 32); /* signed, but by a key that is not the device's */
  CHECK_EQ(crypto_sign_from_seed(&node_signs, seed), 0);
  CHECK_EQ(otpk_sign(&forged, &node_signs), 0);
  push_claim(2, &forged);
  CHECK_EQ(nodeapi_prekey_claim(&api, dev_kp.pub, &got, &found), MOMEDO_E_BADSIG);
  forged = real;
  forged.id = 8; /* a real key under another id */
  push_claim(3, &forged);
  CHECK_EQ(nodeapi_prekey_claim(&api, dev_kp.pub, &got, &found), MOMEDO_E_BADSIG);
  push_claim(4, &real);
  CHECK_EQ(nodeapi_prekey_claim(&api, dev_kp.pub, &got, &found), 0);
  CHECK_EQ(found, 1);
  CHECK_EQ(got.id, 7);
  CHECK_MEM(got.key, real.key, 32);
  push_claim(5, NULL);
  CHECK_EQ(nodeapi_prekey_claim(&api, dev_kp.pub, &got, &found), 0);
  CHECK_EQ(found, 0);
  teardown();
}

/* ---- claims across nodes: the home node's signature over the claim's nonce ---- */

enum { HOME_GENUINE, HOME_OLD_NONCE, HOME_WRONG_SIGNER, HOME_NONE };
static int home_mode;
static struct crypto_sign_keypair home_kp;
static struct otpk_pub home_real;
static uint8_t home_old_nonce[OTPK_NONCE_LEN];

/* The node in the middle answers the claim just sent, as home_mode says. */
static void answer_claim_sent(void) {
  struct arena a;
  Momedo__Frame *sent[64];
  arena_init(&a, 1 << 20);
  size_t n = sent_frames(&a, sent, 64);
  const Momedo__Frame *f = n ? sent[n - 1] : NULL;
  if (!f || f->body_case != MOMEDO__FRAME__BODY_REQUEST ||
      f->request->body_case != MOMEDO__CLIENT_REQUEST__BODY_PREKEY_CLAIM) {
    arena_close(&a);
    return;
  }
  const Momedo__PrekeyClaimReq *q = f->request->prekey_claim;
  CHECK_EQ(q->nonce.len, OTPK_NONCE_LEN);
  CHECK_EQ(q->home_node.len, 32);
  CHECK_MEM(q->home_node.data, home_kp.pub, 32);
  uint8_t sig[64], nonce[OTPK_NONCE_LEN];
  memcpy(nonce, home_mode == HOME_OLD_NONCE ? home_old_nonce : q->nonce.data, sizeof nonce);
  CHECK_EQ(otpk_claimed_sign(sig, nonce, dev_kp.pub, &home_real,
                             home_mode == HOME_WRONG_SIGNER ? &node_kp : &home_kp), 0);
  memcpy(home_old_nonce, q->nonce.data, sizeof home_old_nonce);
  Momedo__ClientResponse r = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__PrekeyClaimResp c = MOMEDO__PREKEY_CLAIM_RESP__INIT;
  Momedo__OneTimePrekey o = MOMEDO__ONE_TIME_PREKEY__INIT;
  o.id = home_real.id;
  o.key = (ProtobufCBinaryData){32, home_real.key};
  o.signature = (ProtobufCBinaryData){64, home_real.sig};
  c.prekey = &o;
  if (home_mode != HOME_NONE) c.home_signature = (ProtobufCBinaryData){64, sig};
  r.request_id = f->request->request_id;
  r.body_case = MOMEDO__CLIENT_RESPONSE__BODY_PREKEY_CLAIM;
  r.prekey_claim = &c;
  push_response(&r);
  arena_close(&a);
}

/* A prekey claimed through the own node from another home node: taken only with the home
 * node's signature over this claim's fresh nonce. The node in the middle (or any on the
 * way) cannot hand out a device-signed prekey it kept from an earlier claim (a replay:
 * the old nonce), sign the answer itself, or leave the signature out. */
static void test_prekey_claim_from_home(void) {
  struct otpk_pub got;
  uint8_t seed[32], sec[32];
  int found = 1;
  setup();
  CHECK_EQ(do_hello(), 0);
  memset(seed, 0x55, 32);
  CHECK_EQ(crypto_sign_from_seed(&home_kp, seed), 0);
  home_real.id = 9;
  CHECK_EQ(crypto_dh_keygen(sec, home_real.key), 0);
  CHECK_EQ(otpk_sign(&home_real, &dev_kp), 0);
  fk.on_send = answer_claim_sent;
  home_mode = HOME_GENUINE;
  CHECK_EQ(nodeapi_prekey_claim_from(&api, dev_kp.pub, home_kp.pub, &got, &found), 0);
  CHECK_EQ(found, 1);
  CHECK_EQ(got.id, 9);
  CHECK_MEM(got.key, home_real.key, 32);
  const int bad[] = {HOME_OLD_NONCE, HOME_WRONG_SIGNER, HOME_NONE};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    home_mode = bad[i];
    found = 1;
    CHECK_EQ(nodeapi_prekey_claim_from(&api, dev_kp.pub, home_kp.pub, &got, &found),
             MOMEDO_E_BADSIG);
    CHECK_EQ(found, 0);
    CHECK(strstr(nodeapi_reason(&api), "did not come from the device's home node") != NULL);
  }
  fk.on_send = NULL;
  teardown();
}

int main(void) {
  RUN(test_prekey_claim_from_home);
  RUN(test_hello_ok);
  RUN(test_hello_refusals);
  RUN(test_call_before_hello);
  RUN(test_post_with_interleaved_frames);
  RUN(test_node_errors);
  RUN(test_timeout_then_late_answer);
  RUN(test_auth_signature);
  RUN(test_auth_user_sends_identity);
  RUN(test_tombstone_and_ack);
  RUN(test_fetch_validates);
  RUN(test_lookup_and_publish);
  RUN(test_event_queue_bound);
  RUN(test_oversized_frame_header);
  RUN(test_send_failure_kills);
  RUN(test_hostport);
  RUN(test_prekey_claim_forged);
  TEST_MAIN_END();
}
