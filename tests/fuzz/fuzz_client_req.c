/* fuzz_client_req — the node's client protocol end to end in one process: a real momedod
 * (node_harness.h: RocksDB store in tmpfs, engine, group commit, signature threads) whose
 * links are fake_link.c, so all from the link's frame callback up (Hello, dispatch, every
 * handler, deferred and held answers) is the product's code. An input is one client
 * connection: its first byte says where the harness brings it first (bit 0: Hello sent;
 * bit 1: authenticated as the registered device, the harness signing the challenge; bit
 * 2: a client that reads slowly — link_send refuses while a byte waits unread), the rest
 * is what the client sends then: frames (4-byte length, Frame), as TLS hands them over.
 * Oracles besides the sanitizers:
 *  - each request the node took from a client gets one answer, in order, with its
 *    request_id, a known status, a reason unless 0, and the body of the request's kind
 *    when 0 — or the node closes the connection with a status and a reason (link_close
 *    logs it); every frame it sends decodes and is one a client may get;
 *  - what it answered as accepted is there: a post (lifetime of a minute or more, and no
 *    tombstone accepted in the same input) and a key bundle in the store, a registered
 *    device in the device records;
 *  - nothing of the connection stays: once it is gone the node has no connection, client,
 *    subscription, lookup or claim left, and on_down ran.
 * Carried from input to input: the store and engine, rate windows and mailbox locks (see
 * node_harness.h and docs/reliability.md). MOMEDO_FUZZ_WRITE_SEEDS=DIR writes the seed
 * corpus to DIR and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "fake_link.h"
#include "frame.h"
#include "ids.h"
#include "node_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define INPUT_MAX (64u * 1024)
#define EXPECT_MAX (INPUT_MAX / 5 + 8) /* a frame is at least 5 bytes */
#define POSTS_MAX 1024
#define TTL_CHECKED_MIN_MS 60000u
#define AUTH_DOMAIN "momedo/client-auth/v1"
#define HARNESS_ID 0xfffffffffffff000ull
#define CONF "device_posts_per_minute = 100000\ndevice_publishes_per_minute = 10000\n"

enum { F_HELLO = 1, F_AUTH = 2, F_SLOW = 4 };

struct expect {
  uint64_t id;
  int kind;          /* Momedo__ClientRequest__BodyCase */
  uint64_t ttl_ms;   /* posts: as asked (0: the node's default) */
  uint8_t key[32];   /* registrations: the device key */
};

static struct {
  struct node *n;
  struct link *l;
  uint8_t *in;
  size_t in_len;
  struct expect exp[EXPECT_MAX];
  size_t n_exp, n_ans;
  int hello_seen, authed, acked, have_bundle;
  uint8_t challenge[32];
  uint8_t posts[POSTS_MAX][OBJ_ID_LEN], bundle[OBJ_ID_LEN];
  size_t n_posts;
  struct arena a, b;
} s_;

static void fail(const char *what) {
  fprintf(stderr, "fuzz_client_req: %s (requests %zu, answers %zu)\n", what, s_.n_exp, s_.n_ans);
  abort();
}

/* What the node is about to take as a client's request. */
static void tap(struct link *l, const uint8_t *body, size_t len) {
  struct conn *c = link_data(l);
  Momedo__Frame *f;
  if (l != s_.l || c->role != CONN_CLIENT || c->closing) return;
  arena_reset(&s_.a);
  if (frame_unpack(body, len, &s_.a, &f) != 0 || f->body_case != MOMEDO__FRAME__BODY_REQUEST)
    return; /* the node closes the connection: checked as a close */
  if (s_.n_exp == EXPECT_MAX) fail("more requests than frames");
  const Momedo__ClientRequest *rq = f->request;
  struct expect *e = &s_.exp[s_.n_exp++];
  memset(e, 0, sizeof *e);
  e->id = rq->request_id;
  e->kind = (int)rq->body_case;
  if (e->kind == MOMEDO__CLIENT_REQUEST__BODY_POST) e->ttl_ms = rq->post->ttl_ms;
  if (e->kind == MOMEDO__CLIENT_REQUEST__BODY_REGISTER && rq->register_->device_key.len == 32)
    memcpy(e->key, rq->register_->device_key.data, 32);
}

/* The answer's body for a request of this kind when the status is 0. */
static int answer_kind(int req) {
  switch (req) {
  case MOMEDO__CLIENT_REQUEST__BODY_AUTH_PROVE:
  case MOMEDO__CLIENT_REQUEST__BODY_SUBSCRIBE:
  case MOMEDO__CLIENT_REQUEST__BODY_QUIET:
    return MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET;
  default:
    return req; /* client.proto numbers each answer as its request */
  }
}

static void accepted(const struct expect *e, const Momedo__ClientResponse *rs) {
  uint8_t ik[32];
  switch (e->kind) {
  case MOMEDO__CLIENT_REQUEST__BODY_AUTH_BEGIN:
    if (rs->auth_begin->challenge.len != 32) fail("a challenge that is not 32 bytes");
    memcpy(s_.challenge, rs->auth_begin->challenge.data, 32);
    break;
  case MOMEDO__CLIENT_REQUEST__BODY_AUTH_PROVE:
    s_.authed = 1;
    break;
  case MOMEDO__CLIENT_REQUEST__BODY_POST:
    if (rs->post->id.len != OBJ_ID_LEN) fail("a post accepted without its ID");
    if ((e->ttl_ms == 0 || e->ttl_ms >= TTL_CHECKED_MIN_MS) && s_.n_posts < POSTS_MAX)
      memcpy(s_.posts[s_.n_posts++], rs->post->id.data, OBJ_ID_LEN);
    break;
  case MOMEDO__CLIENT_REQUEST__BODY_PUBLISH:
    if (rs->publish->id.len != OBJ_ID_LEN) fail("a key bundle accepted without its ID");
    memcpy(s_.bundle, rs->publish->id.data, OBJ_ID_LEN);
    s_.have_bundle = 1;
    break;
  case MOMEDO__CLIENT_REQUEST__BODY_ACK:
    s_.acked |= rs->ack->accepted > 0;
    break;
  case MOMEDO__CLIENT_REQUEST__BODY_REGISTER:
    if (node__device_get(s_.n, e->key, ik, NULL) != 0) fail("a registration accepted, not stored");
    break;
  default:
    break;
  }
}

static void answer(const Momedo__ClientResponse *rs) {
  static int verbose = -1;
  if (verbose < 0) verbose = getenv("MOMEDO_FUZZ_VERBOSE") != NULL;
  if (s_.n_ans == s_.n_exp) fail("an answer to no request");
  const struct expect *e = &s_.exp[s_.n_ans++];
  if (verbose)
    fprintf(stderr, "request %llu (kind %d): %s %s\n", (unsigned long long)e->id, e->kind,
            rs->status ? momedo_status_name(rs->status) : "OK", rs->reason ? rs->reason : "");
  if (rs->request_id != e->id) fail("an answer out of order or with another request_id");
  if (rs->status == 0) {
    if ((int)rs->body_case != answer_kind(e->kind)) fail("status 0 with another answer's body");
    accepted(e, rs);
    return;
  }
  if (rs->status > 0 || strcmp(momedo_status_name(rs->status), "E_UNKNOWN") == 0)
    fail("an unknown status");
  if (!rs->reason || !rs->reason[0]) fail("a refusal without a reason");
  if (rs->body_case != MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET) fail("a refusal with a body");
}

/* Read what the node sent and check every whole frame of it. */
static void collect(void) {
  size_t len, off = 0;
  const uint8_t *p = fake_link_read(s_.l, &len);
  if (len) {
    uint8_t *in = realloc(s_.in, s_.in_len + len);
    if (!in) abort();
    memcpy(in + s_.in_len, p, len);
    s_.in = in;
    s_.in_len += len;
  }
  while (s_.in_len - off >= FRAME_HEADER_LEN) {
    Momedo__Frame *f;
    uint32_t blen = be32_get(s_.in + off);
    if (blen == 0 || blen > FRAME_BYTES_MAX_LIMIT) fail("a frame header no decoder takes");
    if (s_.in_len - off - FRAME_HEADER_LEN < blen) break;
    arena_reset(&s_.b);
    if (frame_unpack(s_.in + off + FRAME_HEADER_LEN, blen, &s_.b, &f) != 0)
      fail("a frame that does not decode");
    off += FRAME_HEADER_LEN + blen;
    if (f->body_case == MOMEDO__FRAME__BODY_HELLO) {
      if (s_.hello_seen) fail("a second Hello");
      s_.hello_seen = 1;
    } else if (f->body_case == MOMEDO__FRAME__BODY_RESPONSE) {
      answer(f->response);
    } else if (f->body_case != MOMEDO__FRAME__BODY_EVENT &&
               f->body_case != MOMEDO__FRAME__BODY_PONG) {
      fail("a frame a client never gets");
    }
  }
  memmove(s_.in, s_.in + off, s_.in_len - off);
  s_.in_len -= off;
}

/* Until every request is answered and all input taken, or the link closed: 1 if closed. */
static int settle(void) {
  for (int i = 0; i < FNODE_ROUNDS_MAX; i++) {
    collect();
    if (fake_link_closed(s_.l, NULL, NULL)) return 1;
    if (fake_link_pending(s_.l) && !fake_link_paused(s_.l)) {
      fake_link_kick(s_.l);
      continue;
    }
    if (s_.n_ans == s_.n_exp && !fake_link_pending(s_.l)) return 0;
    fnode_turn(s_.n);
  }
  fail(fake_link_paused(s_.l) ? "reading stays paused" : "requests stay unanswered");
  return 1;
}

static void feed_frame(const Momedo__Frame *f) {
  uint8_t *buf;
  size_t len;
  if (frame_encode(f, FRAME_BYTES_MAX_LIMIT, &buf, &len) != 0) abort();
  fake_link_feed(s_.l, buf, len);
  free(buf);
}

static void feed_request(Momedo__ClientRequest *rq) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  f.body_case = MOMEDO__FRAME__BODY_REQUEST;
  f.request = rq;
  feed_frame(&f);
}

static void hello_frame(Momedo__Frame *f, Momedo__Hello *h) {
  frame_hello_init(h, MOMEDO__ROLE__ROLE_CLIENT, NULL, 0, FRAME_BYTES_MAX_DEFAULT);
  f->body_case = MOMEDO__FRAME__BODY_HELLO;
  f->hello = h;
}

static void harness_step(void) {
  if (settle()) fail("the node closed a connection the harness set up");
}

static void authenticate(void) {
  const struct fnode_keys *k = fnode_keys();
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__AuthBeginReq b = MOMEDO__AUTH_BEGIN_REQ__INIT;
  Momedo__AuthProveReq p = MOMEDO__AUTH_PROVE_REQ__INIT;
  uint8_t msg[sizeof AUTH_DOMAIN - 1 + 32 + 32], sig[64];
  b.device_key = (ProtobufCBinaryData){32, (uint8_t *)k->device.pub};
  b.identity_key = (ProtobufCBinaryData){32, (uint8_t *)k->identity.pub};
  rq.request_id = HARNESS_ID;
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_AUTH_BEGIN;
  rq.auth_begin = &b;
  feed_request(&rq);
  harness_step();
  memcpy(msg, AUTH_DOMAIN, sizeof AUTH_DOMAIN - 1);
  memcpy(msg + sizeof AUTH_DOMAIN - 1, k->node.pub, 32);
  memcpy(msg + sizeof AUTH_DOMAIN - 1 + 32, s_.challenge, 32);
  if (crypto_sign(sig, msg, sizeof msg, &k->device) != 0) abort();
  p.signature = (ProtobufCBinaryData){64, sig};
  rq.request_id = HARNESS_ID + 1;
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_AUTH_PROVE;
  rq.auth_prove = &p;
  feed_request(&rq);
  harness_step();
  if (!s_.authed) fail("the registered device does not authenticate");
}

static void session_open(struct node *n, int flags) {
  s_.n = n;
  s_.n_exp = s_.n_ans = s_.n_posts = 0;
  s_.hello_seen = s_.authed = s_.acked = s_.have_bundle = 0;
  s_.in_len = 0;
  fake_link_tap = tap;
  s_.l = fake_link_accept(flags & F_SLOW ? 1 : 0);
  if (!s_.l || fake_link_closed(s_.l, NULL, NULL)) fail("the node refused a connection");
  if (flags & (F_HELLO | F_AUTH)) {
    Momedo__Frame f = MOMEDO__FRAME__INIT;
    Momedo__Hello h;
    hello_frame(&f, &h);
    feed_frame(&f);
    harness_step();
    if (!s_.hello_seen) fail("no Hello back");
  }
  if (flags & F_AUTH) authenticate();
}

/* The client goes away; then nothing of it may be left. */
static void session_close(void) {
  struct node *n = s_.n;
  fake_link_hangup(s_.l);
  for (int i = 0; !fake_link_down(s_.l); i++) {
    if (i == FNODE_ROUNDS_MAX) fail("on_down never came");
    fnode_turn(n);
  }
  fnode_turn(n); /* the link's handle closes */
  fake_link_free(s_.l);
  s_.l = NULL;
  if (fake_link_live() || n->conns || n->clients || n->lookups || n->lookups_pending ||
      n->claims || n->claims_pending)
    fail("a connection left state behind");
  for (size_t i = 0; i < NODE_SUB_BUCKETS; i++)
    if (n->subs[i]) fail("a subscription outlived its connection");
}

static void check_store(void) {
  if (!s_.acked)
    for (size_t i = 0; i < s_.n_posts; i++)
      if (!repl_has(s_.n->repl, s_.posts[i])) fail("an accepted post is not in the store");
  if (s_.have_bundle && !repl_has(s_.n->repl, s_.bundle))
    fail("an accepted key bundle is not in the store");
}

/* The user's key bundle (version, created_ms): the registered device, this node its home;
 * signed by the identity key (obj_sign_encode, malloc'ed into *out). */
static void bundle_make(uint64_t version, uint64_t created_ms, uint8_t **out, size_t *len) {
  const struct fnode_keys *k = fnode_keys();
  static uint8_t dh[32] = {0x64}, pre[32] = {0x70}, psig[64];
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT, *dp[1] = {&d};
  ProtobufCBinaryData home[1] = {{32, (uint8_t *)k->node.pub}};
  uint64_t expires = created_ms + 30ull * 24 * 3600 * 1000;
  if (obj_prekey_sign(psig, 1, expires, pre, &k->device) != 0) abort();
  d.device_key = (ProtobufCBinaryData){32, (uint8_t *)k->device.pub};
  d.dh_key = (ProtobufCBinaryData){32, dh};
  d.signed_prekey = (ProtobufCBinaryData){32, pre};
  d.prekey_id = 1;
  d.prekey_expires_ms = expires;
  d.prekey_signature = (ProtobufCBinaryData){64, psig};
  d.home_node = home[0];
  b.format = OBJ_FORMAT;
  b.identity_key = (ProtobufCBinaryData){32, (uint8_t *)k->identity.pub};
  b.version = version;
  b.created_ms = created_ms;
  b.devices = dp, b.n_devices = 1;
  b.home_nodes = home, b.n_home_nodes = 1;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &k->identity, out, len) != 0)
    abort();
}

/* After each start: the harness's device registers with the planted invite and publishes
 * its user's key bundle (so lookups, aliases and the bundle's checks have one to find). */
static void setup(struct node *n) {
  Momedo__ClientRequest rq = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__RegisterReq r;
  uint8_t sd[64], si[64];
  session_open(n, F_HELLO);
  fnode_register_req(&r, &fnode_keys()->device, sd, si);
  rq.request_id = HARNESS_ID;
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_REGISTER;
  rq.register_ = &r;
  feed_request(&rq);
  harness_step();
  if (s_.n_ans != 1 || node__device_get(n, fnode_keys()->device.pub, (uint8_t[32]){0}, NULL))
    fail("the harness's device does not register");
  session_close();
  Momedo__PublishReq pub = MOMEDO__PUBLISH_REQ__INIT;
  Momedo__Object obj = MOMEDO__OBJECT__INIT;
  uint8_t *bundle;
  size_t blen;
  bundle_make(1, node__now_ms(), &bundle, &blen);
  session_open(n, F_AUTH);
  obj.kind = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  obj.data = (ProtobufCBinaryData){blen, bundle};
  pub.object = &obj;
  momedo__client_request__init(&rq);
  rq.request_id = HARNESS_ID + 2;
  rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_PUBLISH;
  rq.publish = &pub;
  feed_request(&rq);
  harness_step();
  free(bundle);
  if (!s_.have_bundle) fail("the harness's key bundle is not taken");
  session_close();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > INPUT_MAX) return 0;
  if (!s_.a.bytes_max) {
    arena_init(&s_.a, NODE_ARENA_BYTES_MAX);
    arena_init(&s_.b, NODE_ARENA_BYTES_MAX);
  }
  struct node *n = fnode_get("client", CONF, setup);
  session_open(n, data[0]);
  fake_link_feed(s_.l, data + 1, size - 1);
  int status;
  const char *reason;
  if (settle()) {
    (void)fake_link_closed(s_.l, &status, &reason);
    if (status == 0 || !reason || !reason[0]) fail("a close without a status or a reason");
  }
  check_store();
  session_close();
  return 0;
}

/* ---- the seed corpus ---- */

struct seed {
  uint8_t buf[8192];
  size_t len;
};

static void seed_frame(struct seed *s, const Momedo__Frame *f) {
  uint8_t *b;
  size_t len;
  if (frame_encode(f, FRAME_BYTES_MAX_LIMIT, &b, &len) != 0 || s->len + len > sizeof s->buf)
    abort();
  memcpy(s->buf + s->len, b, len);
  s->len += len;
  free(b);
}

static void seed_req(struct seed *s, uint64_t id, Momedo__ClientRequest *rq) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  rq->request_id = id;
  f.body_case = MOMEDO__FRAME__BODY_REQUEST;
  f.request = rq;
  seed_frame(s, &f);
}

static void seed_hello(struct seed *s) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__Hello h;
  hello_frame(&f, &h);
  seed_frame(s, &f);
}

#define REQ(field, kind, ptr) \
  do { \
    momedo__client_request__init(&rq); \
    rq.body_case = MOMEDO__CLIENT_REQUEST__BODY_##kind; \
    rq.field = (ptr); \
  } while (0)

static void write_seeds(const char *dir) {
  const struct fnode_keys *k = fnode_keys();
  static uint8_t mb[32], mb2[32], other[32], junk[200], blob[32], nonce[16];
  Momedo__ClientRequest rq;
  Momedo__RegisterReq reg;
  Momedo__LinkReq lk = MOMEDO__LINK_REQ__INIT;
  Momedo__AuthBeginReq ab = MOMEDO__AUTH_BEGIN_REQ__INIT;
  Momedo__AuthProveReq ap = MOMEDO__AUTH_PROVE_REQ__INIT;
  Momedo__PostReq post = MOMEDO__POST_REQ__INIT;
  Momedo__FetchReq fe = MOMEDO__FETCH_REQ__INIT;
  Momedo__FetchBlobReq fb = MOMEDO__FETCH_BLOB_REQ__INIT;
  Momedo__SubscribeReq sub = MOMEDO__SUBSCRIBE_REQ__INIT;
  Momedo__AckReq ack = MOMEDO__ACK_REQ__INIT;
  Momedo__Object obj = MOMEDO__OBJECT__INIT, *objs[1] = {&obj};
  Momedo__LookupReq lu = MOMEDO__LOOKUP_REQ__INIT;
  Momedo__AliasReq al = MOMEDO__ALIAS_REQ__INIT;
  Momedo__PublishReq pub = MOMEDO__PUBLISH_REQ__INIT;
  Momedo__OneTimePrekey pk = MOMEDO__ONE_TIME_PREKEY__INIT, *pks[1] = {&pk};
  Momedo__PrekeyUploadReq up = MOMEDO__PREKEY_UPLOAD_REQ__INIT;
  Momedo__PrekeyClaimReq cl = MOMEDO__PREKEY_CLAIM_REQ__INIT, cl2 = MOMEDO__PREKEY_CLAIM_REQ__INIT;
  Momedo__StateCounterReq sc = MOMEDO__STATE_COUNTER_REQ__INIT;
  Momedo__PartnersReq pa = MOMEDO__PARTNERS_REQ__INIT;
  Momedo__QuietReq qu = MOMEDO__QUIET_REQ__INIT;
  Momedo__Frame ping = MOMEDO__FRAME__INIT;
  Momedo__Ping pg = MOMEDO__PING__INIT;
  ProtobufCBinaryData mbs[1];
  uint8_t sd[64], si[64], zero_sig[64] = {0};
  static struct seed s;
  memset(mb, 0x22, 32), memset(mb2, 0x23, 32), memset(other, 0x33, 32);
  memset(junk, 0x61, sizeof junk), memset(blob, 0x44, 32), memset(nonce, 0x55, 16);

  /* Before any Hello: a link request (the one request without authentication). */
  s.len = 1, s.buf[0] = 0;
  seed_hello(&s);
  lk.link_id = (ProtobufCBinaryData){32, mb};
  lk.request = (ProtobufCBinaryData){16, junk};
  REQ(link, LINK, &lk);
  seed_req(&s, 1, &rq);
  fnode_write_file(dir, "link", s.buf, s.len);

  /* A second device of the user registers (valid signatures, planted invite). */
  s.len = 1, s.buf[0] = 0;
  seed_hello(&s);
  fnode_register_req(&reg, &k->device2, sd, si);
  REQ(register_, REGISTER, &reg);
  seed_req(&s, 2, &rq);
  fnode_write_file(dir, "register", s.buf, s.len);

  /* Ping first, Hello, then AuthBegin and a wrong AuthProve. */
  s.len = 1, s.buf[0] = 0;
  ping.body_case = MOMEDO__FRAME__BODY_PING;
  ping.ping = &pg;
  pg.nonce = 7;
  seed_frame(&s, &ping);
  seed_hello(&s);
  ab.device_key = (ProtobufCBinaryData){32, (uint8_t *)k->device.pub};
  ab.identity_key = (ProtobufCBinaryData){32, (uint8_t *)k->identity.pub};
  REQ(auth_begin, AUTH_BEGIN, &ab);
  seed_req(&s, 3, &rq);
  ap.signature = (ProtobufCBinaryData){64, zero_sig};
  REQ(auth_prove, AUTH_PROVE, &ap);
  seed_req(&s, 4, &rq);
  fnode_write_file(dir, "auth", s.buf, s.len);

  /* Hello done by the harness: a request that needs authentication, refused. */
  s.len = 1, s.buf[0] = F_HELLO;
  fe.mailbox = (ProtobufCBinaryData){32, mb};
  REQ(fetch, FETCH, &fe);
  seed_req(&s, 5, &rq);
  fnode_write_file(dir, "preauth_fetch", s.buf, s.len);

  /* Authenticated: subscribe, post, fetch, fetch a blob. */
  s.len = 1, s.buf[0] = F_AUTH;
  mbs[0] = (ProtobufCBinaryData){32, mb};
  sub.mailboxes = mbs, sub.n_mailboxes = 1;
  REQ(subscribe, SUBSCRIBE, &sub);
  seed_req(&s, 10, &rq);
  post.mailbox = (ProtobufCBinaryData){32, mb};
  post.ciphertext = (ProtobufCBinaryData){100, junk};
  post.ttl_ms = 3600000;
  REQ(post, POST, &post);
  seed_req(&s, 11, &rq);
  REQ(fetch, FETCH, &fe);
  seed_req(&s, 12, &rq);
  fb.mailbox = (ProtobufCBinaryData){32, mb};
  fb.blob_id = (ProtobufCBinaryData){32, blob};
  REQ(fetch_blob, FETCH_BLOB, &fb);
  seed_req(&s, 13, &rq);
  fnode_write_file(dir, "mailbox", s.buf, s.len);

  /* A slow reader posting three times to a group mailbox with destinations, then a fetch. */
  s.len = 1, s.buf[0] = F_AUTH | F_SLOW;
  ProtobufCBinaryData dests[1] = {{32, other}};
  post.mailbox = (ProtobufCBinaryData){32, mb2};
  post.dest_nodes = dests, post.n_dest_nodes = 1;
  for (uint64_t i = 0; i < 3; i++) {
    REQ(post, POST, &post);
    seed_req(&s, 20 + i, &rq);
  }
  fe.mailbox = (ProtobufCBinaryData){32, mb2};
  REQ(fetch, FETCH, &fe);
  seed_req(&s, 23, &rq);
  fnode_write_file(dir, "slow_posts", s.buf, s.len);

  /* Tombstones, a key bundle that does not verify. */
  s.len = 1, s.buf[0] = F_AUTH;
  obj.kind = MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE;
  obj.data = (ProtobufCBinaryData){120, junk};
  ack.tombstones = objs, ack.n_tombstones = 1;
  REQ(ack, ACK, &ack);
  seed_req(&s, 30, &rq);
  obj.kind = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  pub.object = &obj;
  REQ(publish, PUBLISH, &pub);
  seed_req(&s, 31, &rq);
  fnode_write_file(dir, "ack_publish", s.buf, s.len);

  /* A valid key bundle (version 2: newer than the one the harness publishes at start). */
  uint8_t *bundle;
  size_t blen;
  bundle_make(2, node__now_ms(), &bundle, &blen);
  s.len = 1, s.buf[0] = F_AUTH;
  obj.kind = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  obj.data = (ProtobufCBinaryData){blen, bundle};
  pub.object = &obj;
  REQ(publish, PUBLISH, &pub);
  seed_req(&s, 35, &rq);
  fnode_write_file(dir, "publish", s.buf, s.len);
  free(bundle);

  /* Lookups by key and by user ID, an alias. */
  s.len = 1, s.buf[0] = F_AUTH;
  lu.identity_key = (ProtobufCBinaryData){32, (uint8_t *)k->identity.pub};
  REQ(lookup, LOOKUP, &lu);
  seed_req(&s, 40, &rq);
  momedo__lookup_req__init(&lu);
  char uid[IDS_USER_ID_STR_MAX];
  if (ids_user_id(uid, k->identity.pub) != 0) abort();
  lu.user_id = uid;
  REQ(lookup, LOOKUP, &lu);
  seed_req(&s, 41, &rq);
  al.identity_key = (ProtobufCBinaryData){32, (uint8_t *)k->identity.pub};
  REQ(alias, ALIAS, &al);
  seed_req(&s, 42, &rq);
  fnode_write_file(dir, "lookup_alias", s.buf, s.len);

  /* One-time prekeys: an upload, claims here and from another node, the state counter. */
  s.len = 1, s.buf[0] = F_AUTH;
  pk.id = 1;
  pk.key = (ProtobufCBinaryData){32, blob};
  pk.signature = (ProtobufCBinaryData){64, zero_sig};
  up.prekeys = pks, up.n_prekeys = 1;
  REQ(prekey_upload, PREKEY_UPLOAD, &up);
  seed_req(&s, 50, &rq);
  cl.device_key = (ProtobufCBinaryData){32, (uint8_t *)k->device.pub};
  REQ(prekey_claim, PREKEY_CLAIM, &cl);
  seed_req(&s, 51, &rq);
  cl2.device_key = (ProtobufCBinaryData){32, (uint8_t *)k->device2.pub};
  cl2.home_node = (ProtobufCBinaryData){32, other};
  cl2.nonce = (ProtobufCBinaryData){16, nonce};
  REQ(prekey_claim, PREKEY_CLAIM, &cl2);
  seed_req(&s, 52, &rq);
  sc.counter = 5;
  REQ(state_counter, STATE_COUNTER, &sc);
  seed_req(&s, 53, &rq);
  fnode_write_file(dir, "prekeys", s.buf, s.len);

  /* Partners and quiet hours. */
  s.len = 1, s.buf[0] = F_AUTH;
  REQ(partners, PARTNERS, &pa);
  seed_req(&s, 60, &rq);
  qu.days = (char *)"Mon-Fri", qu.hours = (char *)"08:00-17:00", qu.tz = (char *)"Europe/Berlin";
  REQ(quiet, QUIET, &qu);
  seed_req(&s, 61, &rq);
  fnode_write_file(dir, "partners_quiet", s.buf, s.len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fnode_seeds_if_asked(write_seeds);
  return 0;
}
