/* client/core/nodeapi.c — the client side of the node protocol over a struct transport:
 * request/response matching by request_id, the event queue, Hello and auth, and the
 * client-signed objects (tombstones). Everything the node sends is checked before use:
 * lengths, body cases, object signatures. Must not touch sockets or read a clock other
 * than through the transport; must not keep state outside struct nodeapi. */
#include "nodeapi_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invite.h"
#include "mbox_write.h"

#define NA_DEADLINE_NONE UINT64_MAX

static void na_reason(struct nodeapi *api, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void na_reason(struct nodeapi *api, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(api->reason, sizeof api->reason, fmt, ap);
  va_end(ap);
}

/* Copy a reason string from the node, replacing anything that is not printable ASCII
 * so a hostile node cannot drive the terminal. */
static void na_reason_peer(struct nodeapi *api, const char *s) {
  size_t i = 0;
  for (; s != NULL && s[i] != '\0' && i + 1 < sizeof api->reason; i++)
    api->reason[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  api->reason[i] = '\0';
}

/* A status the node sent: a known negative code, or E_PROTO. */
static int na_peer_code(struct nodeapi *api, int32_t code) {
  if (code < 0 && strcmp(momedo_status_name(code), "E_UNKNOWN") != 0) return code;
  na_reason(api, "node answered with unknown status %d", (int)code);
  return MOMEDO_E_PROTO;
}

/* The link is unusable from now on; every later call returns rc. */
static int na_dead(struct nodeapi *api, int rc) {
  api->dead = rc;
  return rc;
}

void nodeapi_init(struct nodeapi *api, const struct transport *tr,
                  const uint8_t node_key[static NODEAPI_KEY_LEN], int timeout_ms) {
  memset(api, 0, sizeof *api);
  api->tr = *tr;
  memcpy(api->node_key, node_key, NODEAPI_KEY_LEN);
  api->timeout_ms = timeout_ms;
  api->send_bytes_max = FRAME_BYTES_MAX_DEFAULT;
  frame_decoder_init(&api->dec, FRAME_BYTES_MAX_DEFAULT);
  arena_init(&api->arena, NODEAPI_ARENA_BYTES_MAX);
}

void nodeapi_close(struct nodeapi *api) {
  while (api->ev_count > 0) {
    nodeapi_event_clear(&api->events[api->ev_head]);
    api->ev_head = (api->ev_head + 1) % NODEAPI_EVENTS_MAX;
    api->ev_count--;
  }
  frame_decoder_close(&api->dec);
  arena_close(&api->arena);
}

const char *nodeapi_reason(const struct nodeapi *api) { return api->reason; }

void nodeapi_event_clear(struct nodeapi_event *ev) {
  free(ev->data);
  memset(ev, 0, sizeof *ev);
}

/* ---- frames in and out ----------------------------------------------------------- */

static uint64_t na_deadline(struct nodeapi *api, int timeout_ms) {
  if (timeout_ms < 0) return NA_DEADLINE_NONE;
  return api->tr.ops->now_ms(api->tr.ctx) + (uint64_t)timeout_ms;
}

static int na_send_frame(struct nodeapi *api, const Momedo__Frame *f) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = frame_encode(f, api->send_bytes_max, &buf, &len);
  if (rc == MOMEDO_E_TOOBIG) {
    na_reason(api, "request is larger than the node accepts (%zu bytes)", api->send_bytes_max);
    return rc;
  }
  if (rc < 0) return rc;
  rc = api->tr.ops->send(api->tr.ctx, buf, len, api->timeout_ms);
  free(buf);
  if (rc < 0) {
    na_reason(api, "cannot send to the node: %s", momedo_strerror(rc));
    return na_dead(api, rc); /* part of a frame may be on the wire */
  }
  return 0;
}

/* Wait for bytes until deadline; 0 with rbuf refilled, or an error. */
static int na_fill(struct nodeapi *api, uint64_t deadline) {
  int wait_ms = -1;
  if (deadline != NA_DEADLINE_NONE) {
    uint64_t now = api->tr.ops->now_ms(api->tr.ctx);
    uint64_t left = deadline > now ? deadline - now : 0;
    wait_ms = left > 0x7fffffff ? 0x7fffffff : (int)left;
  }
  size_t got = 0; /* wait_ms 0 still takes what is already there */
  int rc = api->tr.ops->recv(api->tr.ctx, api->rbuf, sizeof api->rbuf, &got, wait_ms);
  if (rc == MOMEDO_E_TIMEOUT) {
    na_reason(api, "no answer from the node within the timeout");
    return rc;
  }
  if (rc < 0) {
    na_reason(api, "connection to the node lost: %s", momedo_strerror(rc));
    return na_dead(api, rc);
  }
  api->rpos = 0;
  api->rlen = got;
  return 0;
}

/* Read the next whole frame into the arena (which is reset first). */
static int na_read_frame(struct nodeapi *api, uint64_t deadline, Momedo__Frame **out) {
  for (;;) {
    if (api->rpos < api->rlen) {
      size_t used = 0;
      int r = frame_decoder_feed(&api->dec, api->rbuf + api->rpos, api->rlen - api->rpos, &used);
      api->rpos += used;
      if (r < 0) {
        na_reason(api, "node sent a bad frame header: %s", momedo_strerror(r));
        return na_dead(api, r);
      }
      if (r == 1) {
        const uint8_t *body;
        size_t blen;
        frame_decoder_body(&api->dec, &body, &blen);
        arena_reset(&api->arena);
        int rc = frame_unpack(body, blen, &api->arena, out);
        frame_decoder_next(&api->dec);
        if (rc < 0) {
          na_reason(api, "node sent an undecodable frame: %s", momedo_strerror(rc));
          return na_dead(api, rc);
        }
        return 0;
      }
    }
    int rc = na_fill(api, deadline);
    if (rc < 0) return rc;
  }
}

static int na_on_error(struct nodeapi *api, const Momedo__Error *e) {
  int code = na_peer_code(api, e->code);
  if (code != MOMEDO_E_PROTO || e->code == MOMEDO_E_PROTO) na_reason_peer(api, e->reason);
  if (e->fatal) return na_dead(api, code);
  return code;
}

static int na_queue_event(struct nodeapi *api, const Momedo__ClientEvent *e) {
  if (e->mailbox.len != OBJ_MAILBOX_LEN || e->object == NULL ||
      e->object->data.len > OBJ_BYTES_MAX) {
    na_reason(api, "node sent a malformed event");
    return na_dead(api, MOMEDO_E_PROTO);
  }
  if (api->ev_count == NODEAPI_EVENTS_MAX) {
    api->events_dropped++; /* the mailbox still holds it: a fetch will find it */
    return 0;
  }
  struct nodeapi_event *ev =
      &api->events[(api->ev_head + api->ev_count) % NODEAPI_EVENTS_MAX];
  memset(ev, 0, sizeof *ev);
  ev->data = malloc(e->object->data.len ? e->object->data.len : 1);
  if (ev->data == NULL) return MOMEDO_E_NOMEM;
  if (e->object->data.len) memcpy(ev->data, e->object->data.data, e->object->data.len);
  ev->len = e->object->data.len;
  ev->kind = e->object->kind;
  ev->seq = e->seq;
  memcpy(ev->mailbox, e->mailbox.data, OBJ_MAILBOX_LEN);
  api->ev_count++;
  return 0;
}

/* Frames that may arrive at any time after Hello: 1 if handled, 0 if not one of them,
 * or an error (an Error frame's code). */
static int na_async(struct nodeapi *api, const Momedo__Frame *f) {
  int rc;
  switch (f->body_case) {
  case MOMEDO__FRAME__BODY_ERROR:
    return na_on_error(api, f->error);
  case MOMEDO__FRAME__BODY_PING: {
    Momedo__Ping pong = MOMEDO__PING__INIT;
    Momedo__Frame out = MOMEDO__FRAME__INIT;
    pong.nonce = f->ping->nonce;
    out.body_case = MOMEDO__FRAME__BODY_PONG;
    out.pong = &pong;
    return (rc = na_send_frame(api, &out)) < 0 ? rc : 1;
  }
  case MOMEDO__FRAME__BODY_PONG:
    return 1;
  case MOMEDO__FRAME__BODY_EVENT:
    return (rc = na_queue_event(api, f->event)) < 0 ? rc : 1;
  default:
    return 0;
  }
}

static int na_check_response(struct nodeapi *api, const Momedo__ClientResponse *resp,
                             Momedo__ClientResponse__BodyCase want) {
  if (resp->status != 0) {
    int code = na_peer_code(api, resp->status);
    if (code != MOMEDO_E_PROTO || resp->status == MOMEDO_E_PROTO)
      na_reason_peer(api, resp->reason);
    return code;
  }
  if (want != MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET && resp->body_case != want) {
    na_reason(api, "node answered with response body %d, expected %d", (int)resp->body_case,
              (int)want);
    return MOMEDO_E_PROTO;
  }
  return 0;
}

/* Send req (its request_id is assigned here) and wait for the response with the same
 * request_id; events and pings in between are handled. *out lives in the arena. */
static int na_call(struct nodeapi *api, Momedo__ClientRequest *req,
                   Momedo__ClientResponse__BodyCase want, const Momedo__ClientResponse **out) {
  Momedo__Frame f = MOMEDO__FRAME__INIT, *in = NULL;
  int rc;
  if (api->dead) return api->dead; /* the reason of the failure stays */
  api->reason[0] = '\0';
  if (api->version == 0) {
    na_reason(api, "no Hello exchanged yet");
    return MOMEDO_E_UNEXPECTED;
  }
  req->request_id = ++api->next_request_id;
  f.body_case = MOMEDO__FRAME__BODY_REQUEST;
  f.request = req;
  if ((rc = na_send_frame(api, &f)) < 0) return rc;
  uint64_t deadline = na_deadline(api, api->timeout_ms);
  for (;;) {
    if ((rc = na_read_frame(api, deadline, &in)) < 0) return rc;
    if ((rc = na_async(api, in)) < 0) return rc;
    if (rc == 1) continue;
    if (in->body_case != MOMEDO__FRAME__BODY_RESPONSE) {
      na_reason(api, "node sent an unexpected frame (case %d)", (int)in->body_case);
      return na_dead(api, MOMEDO_E_UNEXPECTED);
    }
    const Momedo__ClientResponse *resp = in->response;
    if (resp->request_id < req->request_id) continue; /* answer to a call that timed out */
    if (resp->request_id > req->request_id) {
      na_reason(api, "node answered request %llu that was never sent",
                (unsigned long long)resp->request_id);
      return na_dead(api, MOMEDO_E_PROTO);
    }
    if ((rc = na_check_response(api, resp, want)) < 0) return rc;
    if (out != NULL) *out = resp;
    return 0;
  }
}

/* ---- Hello and auth ------------------------------------------------------------- */

static int na_check_hello(struct nodeapi *api, const Momedo__Hello *h) {
  uint32_t version = 0;
  int rc = frame_hello_check(h, &version, api->reason, sizeof api->reason);
  if (rc < 0) return na_dead(api, rc);
  if (h->node_key.len == NODEAPI_KEY_LEN &&
      memcmp(h->node_key.data, api->node_key, NODEAPI_KEY_LEN) != 0) {
    na_reason(api, "node's Hello names another node key than the pinned one");
    return na_dead(api, MOMEDO_E_KEYCHANGED);
  }
  if (h->frame_bytes_max != 0) {
    if (h->frame_bytes_max < FRAME_BYTES_MIN) {
      na_reason(api, "node accepts only %u-byte frames", (unsigned)h->frame_bytes_max);
      return na_dead(api, MOMEDO_E_PROTO);
    }
    if (h->frame_bytes_max < api->send_bytes_max) api->send_bytes_max = h->frame_bytes_max;
  }
  api->version = version;
  return 0;
}

int nodeapi_hello(struct nodeapi *api, uint64_t wall_now_ms) {
  Momedo__Hello h;
  Momedo__Frame f = MOMEDO__FRAME__INIT, *in = NULL;
  int rc;
  if (api->dead) return api->dead;
  api->reason[0] = '\0';
  if (api->version != 0) {
    na_reason(api, "Hello already exchanged");
    return MOMEDO_E_UNEXPECTED;
  }
  frame_hello_init(&h, MOMEDO__ROLE__ROLE_CLIENT, NULL, wall_now_ms, FRAME_BYTES_MAX_DEFAULT);
  f.body_case = MOMEDO__FRAME__BODY_HELLO;
  f.hello = &h;
  if ((rc = na_send_frame(api, &f)) < 0) return rc;
  if ((rc = na_read_frame(api, na_deadline(api, api->timeout_ms), &in)) < 0) return rc;
  if (in->body_case == MOMEDO__FRAME__BODY_ERROR) return na_dead(api, na_on_error(api, in->error));
  if (in->body_case != MOMEDO__FRAME__BODY_HELLO) {
    na_reason(api, "node did not start with Hello (frame case %d)", (int)in->body_case);
    return na_dead(api, MOMEDO_E_UNEXPECTED);
  }
  return na_check_hello(api, in->hello);
}

static int na_bytes_ok(const char *s, size_t max) {
  size_t n = 0;
  if (s == NULL) return 0;
  for (; s[n] != '\0'; n++)
    if (n >= max || s[n] <= ' ' || s[n] >= 0x7f) return 0;
  return n > 0;
}

int nodeapi_register(struct nodeapi *api, const char *token,
                     const struct crypto_sign_keypair *device,
                     const struct crypto_sign_keypair *identity,
                     const Momedo__RegisterResp **resp) {
  uint8_t tok[INVITE_TOKEN_LEN], msg[INVITE_REGISTER_MSG_LEN];
  uint8_t dsig[CRYPTO_SIG_LEN], isig[CRYPTO_SIG_LEN];
  if (!token || invite_token_parse(tok, token) != 0) {
    na_reason(api, "invite token must be %d hex digits", INVITE_TOKEN_HEX_LEN);
    return MOMEDO_E_INVAL;
  }
  int rc = invite_register_msg(msg, api->node_key, tok, device->pub, identity->pub);
  crypto_wipe(tok, sizeof tok);
  if (rc == 0) rc = crypto_sign(dsig, msg, sizeof msg, device);
  if (rc == 0) rc = crypto_sign(isig, msg, sizeof msg, identity);
  if (rc < 0) return rc;
  struct nodeapi_register_req r = {token, device->pub, identity->pub, dsig, isig};
  return nodeapi_register_raw(api, &r, resp);
}

int nodeapi_register_raw(struct nodeapi *api, const struct nodeapi_register_req *q,
                         const Momedo__RegisterResp **resp) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__RegisterReq r = MOMEDO__REGISTER_REQ__INIT;
  const Momedo__ClientResponse *out = NULL;
  if (!na_bytes_ok(q->token, NODEAPI_TOKEN_CHARS_MAX)) {
    na_reason(api, "invite token must be 1..%d printable characters", NODEAPI_TOKEN_CHARS_MAX);
    return MOMEDO_E_INVAL;
  }
  r.invite_token = (char *)q->token;
  r.device_key = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)q->device_key};
  r.identity_key = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)q->identity_key};
  r.device_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, (uint8_t *)q->device_sig};
  r.identity_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, (uint8_t *)q->identity_sig};
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_REGISTER;
  req.register_ = &r;
  int rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_REGISTER, &out);
  if (rc < 0) return rc;
  const Momedo__RegisterResp *rr = out->register_;
  if (rr->node_key.len != NODEAPI_KEY_LEN ||
      memcmp(rr->node_key.data, api->node_key, NODEAPI_KEY_LEN) != 0) {
    na_reason(api, "node registered us under another node key");
    return MOMEDO_E_PROTO;
  }
  if ((rc = nodeapi__partners_ok(api, rr->partners, rr->n_partners)) != 0) return rc;
  if (resp != NULL) *resp = rr;
  return 0;
}

int nodeapi__partners_ok(struct nodeapi *api, Momedo__NodeAddr *const *v, size_t n) {
  if (n > NODEAPI_PARTNERS_MAX) {
    na_reason(api, "node named %zu partner nodes (at most %d)", n, NODEAPI_PARTNERS_MAX);
    return MOMEDO_E_PROTO;
  }
  for (size_t i = 0; i < n; i++) {
    const Momedo__NodeAddr *p = v[i];
    if (p->node_key.len != NODEAPI_KEY_LEN ||
        !na_bytes_ok(p->address, TRANSPORT_HOST_CHARS_MAX + 8)) {
      na_reason(api, "node named a malformed partner node");
      return MOMEDO_E_PROTO;
    }
  }
  return 0;
}

int nodeapi_auth_sign(uint8_t sig[static CRYPTO_SIG_LEN],
                      const uint8_t node_key[static NODEAPI_KEY_LEN],
                      const uint8_t challenge[static NODEAPI_CHALLENGE_LEN],
                      const struct crypto_sign_keypair *device) {
  uint8_t msg[sizeof NODEAPI_AUTH_DOMAIN - 1 + NODEAPI_KEY_LEN + NODEAPI_CHALLENGE_LEN];
  size_t dl = sizeof NODEAPI_AUTH_DOMAIN - 1;
  memcpy(msg, NODEAPI_AUTH_DOMAIN, dl);
  memcpy(msg + dl, node_key, NODEAPI_KEY_LEN);
  memcpy(msg + dl + NODEAPI_KEY_LEN, challenge, NODEAPI_CHALLENGE_LEN);
  return crypto_sign(sig, msg, sizeof msg, device);
}

int nodeapi_auth(struct nodeapi *api, const struct crypto_sign_keypair *device) {
  return nodeapi_auth_user(api, device, NULL);
}

int nodeapi_auth_user(struct nodeapi *api, const struct crypto_sign_keypair *device,
                      const uint8_t *identity_key) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__AuthBeginReq b = MOMEDO__AUTH_BEGIN_REQ__INIT;
  Momedo__AuthProveReq p = MOMEDO__AUTH_PROVE_REQ__INIT;
  const Momedo__ClientResponse *out = NULL;
  uint8_t challenge[NODEAPI_CHALLENGE_LEN], sig[CRYPTO_SIG_LEN];
  b.device_key = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)device->pub};
  if (identity_key)
    b.identity_key = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)identity_key};
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_AUTH_BEGIN;
  req.auth_begin = &b;
  int rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_AUTH_BEGIN, &out);
  if (rc < 0) return rc;
  if (out->auth_begin->challenge.len != NODEAPI_CHALLENGE_LEN) {
    na_reason(api, "node sent a %zu-byte challenge", out->auth_begin->challenge.len);
    return MOMEDO_E_PROTO;
  }
  memcpy(challenge, out->auth_begin->challenge.data, NODEAPI_CHALLENGE_LEN);
  if ((rc = nodeapi_auth_sign(sig, api->node_key, challenge, device)) < 0) return rc;
  p.signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, sig};
  req = (Momedo__ClientRequest)MOMEDO__CLIENT_REQUEST__INIT;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_AUTH_PROVE;
  req.auth_prove = &p;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET, NULL)) < 0) return rc;
  api->authed = 1;
  return 0;
}

/* ---- objects -------------------------------------------------------------------- */

int nodeapi_publish(struct nodeapi *api, const uint8_t *bundle, size_t len,
                    uint8_t id[static OBJ_ID_LEN]) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__PublishReq p = MOMEDO__PUBLISH_REQ__INIT;
  Momedo__Object o = MOMEDO__OBJECT__INIT;
  const Momedo__ClientResponse *out = NULL;
  uint8_t mine[OBJ_ID_LEN];
  int rc;
  if (bundle == NULL || len == 0 || len > OBJ_BYTES_MAX) return MOMEDO_E_INVAL;
  if ((rc = obj_id(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, bundle, len, mine)) < 0) return rc;
  o.kind = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  o.data = (ProtobufCBinaryData){len, (uint8_t *)bundle};
  p.object = &o;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_PUBLISH;
  req.publish = &p;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_PUBLISH, &out)) < 0) return rc;
  if (out->publish->id.len != OBJ_ID_LEN || memcmp(out->publish->id.data, mine, OBJ_ID_LEN)) {
    na_reason(api, "node reports another object ID for our bundle");
    return MOMEDO_E_PROTO;
  }
  memcpy(id, mine, OBJ_ID_LEN);
  return 0;
}

/* Validate one object the node returned; fills o (err set on rejection). */
static void na_take_object(struct nodeapi *api, const Momedo__Object *obj, uint64_t seq,
                           const uint8_t *mailbox, uint64_t now_ms, struct nodeapi_obj *o) {
  memset(o, 0, sizeof *o);
  o->seq = seq;
  if (obj == NULL) {
    o->err = MOMEDO_E_PROTO;
    return;
  }
  o->kind = obj->kind;
  o->data = obj->data.data;
  o->len = obj->data.len;
  o->err = obj_validate(obj->kind, o->data, o->len, now_ms, &o->info);
  if (o->err < 0) return;
  int has_mailbox = obj->kind == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM ||
                    obj->kind == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE ||
                    obj->kind == MOMEDO__OBJECT_KIND__OBJ_CHUNK;
  if (!has_mailbox || memcmp(o->info.mailbox, mailbox, OBJ_MAILBOX_LEN) != 0) {
    o->err = MOMEDO_E_PROTO; /* not addressed to the mailbox we asked for */
    return;
  }
  ProtobufCMessage *m = NULL;
  if (obj->kind == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE) return;
  if ((o->err = obj_unpack(obj->kind, o->data, o->len, &api->arena, &m)) < 0) return;
  const ProtobufCBinaryData *ct = obj->kind == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
                                      ? &((Momedo__OzoneItem *)m)->ciphertext
                                      : &((Momedo__Chunk *)m)->ciphertext;
  o->ciphertext = ct->data;
  o->ciphertext_len = ct->len;
}

static int na_alloc_objs(struct nodeapi *api, size_t n, struct nodeapi_fetch *out) {
  memset(out, 0, sizeof *out);
  if (n == 0) return 0;
  out->objs = arena_alloc(&api->arena, n * sizeof *out->objs);
  if (out->objs == NULL) {
    na_reason(api, "fetch result too large");
    return MOMEDO_E_TOOBIG;
  }
  out->n = n;
  return 0;
}

int nodeapi_fetch(struct nodeapi *api, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                  uint64_t cursor, uint32_t limit, uint64_t now_ms, struct nodeapi_fetch *out) {
  return nodeapi_fetch_write(api, mailbox, NULL, NULL, cursor, limit, now_ms, out);
}

int nodeapi_fetch_write(struct nodeapi *api, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                        const uint8_t *write_key, const uint8_t *write_tag, uint64_t cursor,
                        uint32_t limit, uint64_t now_ms, struct nodeapi_fetch *out) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__FetchReq fr = MOMEDO__FETCH_REQ__INIT;
  const Momedo__ClientResponse *resp = NULL;
  int rc;
  memset(out, 0, sizeof *out);
  fr.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, (uint8_t *)mailbox};
  if (write_key != NULL && write_tag != NULL) {
    fr.write_key = (ProtobufCBinaryData){MBOX_WRITE_KEY_LEN, (uint8_t *)write_key};
    fr.write_tag = (ProtobufCBinaryData){MBOX_WRITE_TAG_LEN, (uint8_t *)write_tag};
  }
  fr.cursor = cursor;
  fr.limit = limit > NODEAPI_FETCH_LIMIT_MAX ? NODEAPI_FETCH_LIMIT_MAX : limit;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_FETCH;
  req.fetch = &fr;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_FETCH, &resp)) < 0) return rc;
  const Momedo__FetchResp *f = resp->fetch;
  if ((rc = na_alloc_objs(api, f->n_objects, out)) < 0) return rc;
  for (size_t i = 0; i < f->n_objects; i++) {
    struct nodeapi_obj *o = &out->objs[i];
    na_take_object(api, f->objects[i]->object, f->objects[i]->seq, mailbox, now_ms, o);
    if (o->err < 0) out->n_invalid++;
  }
  out->next_cursor = f->next_cursor;
  out->more = f->more ? 1 : 0;
  return 0;
}

int nodeapi_fetch_blob(struct nodeapi *api, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                       const uint8_t blob_id[static OBJ_ID_LEN], uint32_t first_index,
                       uint32_t limit, uint64_t now_ms, struct nodeapi_fetch *out) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__FetchBlobReq fb = MOMEDO__FETCH_BLOB_REQ__INIT;
  const Momedo__ClientResponse *resp = NULL;
  int rc;
  memset(out, 0, sizeof *out);
  fb.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, (uint8_t *)mailbox};
  fb.blob_id = (ProtobufCBinaryData){OBJ_ID_LEN, (uint8_t *)blob_id};
  fb.first_index = first_index;
  fb.limit = limit > NODEAPI_FETCH_LIMIT_MAX ? NODEAPI_FETCH_LIMIT_MAX : limit;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_FETCH_BLOB;
  req.fetch_blob = &fb;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_FETCH_BLOB, &resp)) < 0)
    return rc;
  const Momedo__FetchBlobResp *f = resp->fetch_blob;
  if ((rc = na_alloc_objs(api, f->n_chunks, out)) < 0) return rc;
  for (size_t i = 0; i < f->n_chunks; i++) {
    struct nodeapi_obj *o = &out->objs[i];
    na_take_object(api, f->chunks[i], 0, mailbox, now_ms, o);
    if (o->err == 0 && (o->kind != MOMEDO__OBJECT_KIND__OBJ_CHUNK ||
                        memcmp(o->info.blob_id, blob_id, OBJ_ID_LEN) != 0))
      o->err = MOMEDO_E_PROTO;
    if (o->err < 0) out->n_invalid++;
  }
  return 0;
}

int nodeapi_link(struct nodeapi *api, const uint8_t link_id[static OBJ_LINK_ID_LEN],
                 const uint8_t *request, size_t request_len, uint64_t now_ms,
                 struct nodeapi_fetch *out) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__LinkReq lr = MOMEDO__LINK_REQ__INIT;
  const Momedo__ClientResponse *resp = NULL;
  uint8_t mb[OBJ_MAILBOX_LEN];
  int rc;
  memset(out, 0, sizeof *out);
  if (request_len > OBJ_CIPHERTEXT_BYTES_MAX) return MOMEDO_E_TOOBIG;
  if ((rc = obj_link_mailbox(mb, link_id)) < 0) return rc;
  lr.link_id = (ProtobufCBinaryData){OBJ_LINK_ID_LEN, (uint8_t *)link_id};
  lr.request = (ProtobufCBinaryData){request_len, (uint8_t *)request};
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_LINK;
  req.link = &lr;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_LINK, &resp)) < 0) return rc;
  const Momedo__LinkResp *l = resp->link;
  if ((rc = na_alloc_objs(api, l->n_objects, out)) < 0) return rc;
  for (size_t i = 0; i < l->n_objects; i++) {
    struct nodeapi_obj *o = &out->objs[i];
    na_take_object(api, l->objects[i], 0, mb, now_ms, o); /* items of that mailbox only */
    if (o->err == 0 && o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM) o->err = MOMEDO_E_PROTO;
    if (o->err < 0) out->n_invalid++;
  }
  return 0;
}

/* Check p and fill pr and req (which borrow from p) for a PostReq. */
static int na_post_build(struct nodeapi *api, const struct nodeapi_post_req *p,
                         Momedo__PostReq *pr, Momedo__ClientRequest *req,
                         ProtobufCBinaryData dests[static NODEAPI_DESTS_MAX]) {
  if (p->n_dest_nodes > NODEAPI_DESTS_MAX || (p->n_dest_nodes && !p->dest_nodes)) {
    na_reason(api, "post: at most %d destination nodes", NODEAPI_DESTS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  if (p->mailbox == NULL || p->ciphertext == NULL || p->ciphertext_len == 0 ||
      p->ciphertext_len > OBJ_CIPHERTEXT_BYTES_MAX || p->ttl_ms > OBJ_TTL_MS_MAX ||
      (p->blob_id != NULL && (p->chunk_count < 1 || p->chunk_count > OBJ_CHUNKS_MAX ||
                              p->chunk_index >= p->chunk_count))) {
    na_reason(api, "post: ciphertext must be 1..%u bytes, ttl at most %llu ms",
              OBJ_CIPHERTEXT_BYTES_MAX, (unsigned long long)OBJ_TTL_MS_MAX);
    return MOMEDO_E_INVAL;
  }
  pr->mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, (uint8_t *)p->mailbox};
  pr->ciphertext = (ProtobufCBinaryData){p->ciphertext_len, (uint8_t *)p->ciphertext};
  pr->ttl_ms = p->ttl_ms;
  if (p->blob_id != NULL) {
    pr->blob_id = (ProtobufCBinaryData){OBJ_ID_LEN, (uint8_t *)p->blob_id};
    pr->chunk_index = p->chunk_index;
    pr->chunk_count = p->chunk_count;
  }
  for (size_t i = 0; i < p->n_dest_nodes; i++)
    dests[i] = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)p->dest_nodes[i]};
  pr->n_dest_nodes = p->n_dest_nodes;
  pr->dest_nodes = p->n_dest_nodes ? dests : NULL;
  if (p->write_key != NULL && p->write_tag != NULL) {
    pr->write_key = (ProtobufCBinaryData){MBOX_WRITE_KEY_LEN, (uint8_t *)p->write_key};
    pr->write_tag = (ProtobufCBinaryData){MBOX_WRITE_TAG_LEN, (uint8_t *)p->write_tag};
  }
  if (p->device_key != NULL)
    pr->device_key = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)p->device_key};
  req->body_case = MOMEDO__CLIENT_REQUEST__BODY_POST;
  req->post = pr;
  return 0;
}

/* The ID and expiry of a successful PostResp. */
static int na_post_result(struct nodeapi *api, const Momedo__ClientResponse *resp,
                          uint8_t id[static OBJ_ID_LEN], uint64_t *expires_ms) {
  if (resp->post->id.len != OBJ_ID_LEN) {
    na_reason(api, "node returned a %zu-byte object ID", resp->post->id.len);
    return MOMEDO_E_PROTO;
  }
  memcpy(id, resp->post->id.data, OBJ_ID_LEN);
  if (expires_ms != NULL) *expires_ms = resp->post->expires_ms;
  api->post_deliver_from_ms = resp->post->deliver_from_ms;
  api->post_deliver_off_min = resp->post->deliver_utc_offset_min;
  return 0;
}

int nodeapi_post(struct nodeapi *api, const struct nodeapi_post_req *p,
                 uint8_t id[static OBJ_ID_LEN], uint64_t *expires_ms) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__PostReq pr = MOMEDO__POST_REQ__INIT;
  ProtobufCBinaryData dests[NODEAPI_DESTS_MAX];
  const Momedo__ClientResponse *resp = NULL;
  int rc;
  if ((rc = na_post_build(api, p, &pr, &req, dests)) < 0) return rc;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_POST, &resp)) < 0) return rc;
  return na_post_result(api, resp, id, expires_ms);
}

int nodeapi_post_send(struct nodeapi *api, const struct nodeapi_post_req *p,
                      uint64_t *request_id) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__PostReq pr = MOMEDO__POST_REQ__INIT;
  ProtobufCBinaryData dests[NODEAPI_DESTS_MAX];
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  int rc;
  if (api->dead) return api->dead;
  api->reason[0] = '\0';
  if (api->version == 0) {
    na_reason(api, "no Hello exchanged yet");
    return MOMEDO_E_UNEXPECTED;
  }
  if ((rc = na_post_build(api, p, &pr, &req, dests)) < 0) return rc;
  req.request_id = ++api->next_request_id;
  f.body_case = MOMEDO__FRAME__BODY_REQUEST;
  f.request = &req;
  if ((rc = na_send_frame(api, &f)) < 0) return rc;
  *request_id = req.request_id;
  return 0;
}

int nodeapi_post_collect(struct nodeapi *api, int timeout_ms, struct nodeapi_post_result *out) {
  Momedo__Frame *in = NULL;
  int rc;
  memset(out, 0, sizeof *out);
  if (api->dead) return api->dead;
  uint64_t deadline = na_deadline(api, timeout_ms);
  for (;;) {
    if ((rc = na_read_frame(api, deadline, &in)) < 0) return rc;
    if ((rc = na_async(api, in)) < 0) return rc;
    if (rc == 1) continue;
    if (in->body_case != MOMEDO__FRAME__BODY_RESPONSE ||
        in->response->request_id == 0 || in->response->request_id > api->next_request_id) {
      na_reason(api, "node sent an unexpected frame (case %d)", (int)in->body_case);
      return na_dead(api, MOMEDO_E_UNEXPECTED);
    }
    const Momedo__ClientResponse *resp = in->response;
    out->request_id = resp->request_id;
    out->status = na_check_response(api, resp, MOMEDO__CLIENT_RESPONSE__BODY_POST);
    if (out->status == 0) out->status = na_post_result(api, resp, out->id, &out->expires_ms);
    return 0;
  }
}

/* ---- lookup and alias ----------------------------------------------------------- */

static int na_lookup_q_ok(const struct nodeapi_lookup_q *q) {
  int set = (q->user_id != NULL) + (q->identity_key != NULL) + (q->alias != NULL);
  if (set != 1) return 0;
  if (q->n_hints > NODEAPI_HINTS_MAX ||
      (q->n_hints && (!q->hints || q->hint_len < NODEAPI_HINT_BYTES_MIN ||
                      q->hint_len > NODEAPI_KEY_LEN)))
    return 0;
  if (q->user_id != NULL) return na_bytes_ok(q->user_id, NODEAPI_USER_ID_CHARS_MAX);
  if (q->alias != NULL) return na_bytes_ok(q->alias, NODEAPI_USER_ID_CHARS_MAX);
  return 1;
}

/* Does the alias string a (canonical Crockford) spell the typed alias q? Separators in q
 * are skipped, and q may use any spelling ids_b32_value accepts (lower case, O, I, L). */
static int na_alias_spells(const char *a, const char *q) {
  for (; *q; q++) {
    int v = ids_b32_value(*q);
    if (v == IDS_B32_SEP) continue;
    if (v < 0 || *a == '\0' || ids_b32_value(*a) != v) return 0;
    a++;
  }
  return *a == '\0';
}

/* Is key one of the bundle's home nodes? */
static int na_home_node(const Momedo__KeyBundle *b, const uint8_t key[static OBJ_KEY_LEN]) {
  for (size_t i = 0; i < b->n_home_nodes; i++)
    if (b->home_nodes[i].len == OBJ_KEY_LEN && memcmp(b->home_nodes[i].data, key, OBJ_KEY_LEN) == 0)
      return 1;
  return 0;
}

/* Validate the alias object of a lookup by alias: it must bind to the bundle's key. */
static int na_lookup_alias(struct nodeapi *api, const Momedo__Object *a, uint64_t now_ms,
                           struct nodeapi_bundle *out) {
  int rc;
  if (a->kind != MOMEDO__OBJECT_KIND__OBJ_ALIAS ||
      (rc = obj_validate(a->kind, a->data.data, a->data.len, now_ms, &out->alias_info)) < 0) {
    na_reason(api, "node returned an invalid alias object");
    return MOMEDO_E_PROTO;
  }
  if (memcmp(out->alias_info.key, out->info.key, OBJ_KEY_LEN) != 0) {
    na_reason(api, "node returned an alias for another identity than the bundle");
    return MOMEDO_E_PROTO;
  }
  out->has_alias = 1;
  return 0;
}

int nodeapi_lookup(struct nodeapi *api, const struct nodeapi_lookup_q *q, uint64_t now_ms,
                   struct nodeapi_bundle *out) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__LookupReq lr = MOMEDO__LOOKUP_REQ__INIT;
  ProtobufCBinaryData hints[NODEAPI_HINTS_MAX];
  const Momedo__ClientResponse *resp = NULL;
  ProtobufCMessage *m = NULL;
  int rc;
  memset(out, 0, sizeof *out);
  if (!na_lookup_q_ok(q)) {
    na_reason(api, "lookup needs exactly one of user ID, identity key or alias (and at "
              "most %d home hints)", NODEAPI_HINTS_MAX);
    return MOMEDO_E_INVAL;
  }
  for (size_t i = 0; i < q->n_hints; i++)
    hints[i] = (ProtobufCBinaryData){q->hint_len, (uint8_t *)q->hints + i * q->hint_len};
  lr.n_home_hints = q->n_hints;
  lr.home_hints = q->n_hints ? hints : NULL;
  if (q->user_id != NULL) lr.user_id = (char *)q->user_id;
  if (q->alias != NULL) lr.alias = (char *)q->alias;
  if (q->identity_key != NULL)
    lr.identity_key = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)q->identity_key};
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_LOOKUP;
  req.lookup = &lr;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_LOOKUP, &resp)) < 0) return rc;
  const Momedo__Object *b = resp->lookup->bundle;
  if (b == NULL || b->kind != MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE ||
      (rc = obj_validate(b->kind, b->data.data, b->data.len, now_ms, &out->info)) < 0) {
    na_reason(api, "node returned an invalid key bundle");
    return MOMEDO_E_PROTO;
  }
  if (q->identity_key != NULL && memcmp(out->info.key, q->identity_key, OBJ_KEY_LEN) != 0) {
    na_reason(api, "node returned the bundle of another identity");
    return MOMEDO_E_PROTO;
  }
  if (q->alias != NULL && resp->lookup->alias == NULL) {
    na_reason(api, "node did not return the alias object binding the alias");
    return MOMEDO_E_PROTO;
  }
  if (resp->lookup->alias != NULL &&
      (rc = na_lookup_alias(api, resp->lookup->alias, now_ms, out)) < 0)
    return rc;
  if ((rc = obj_unpack(b->kind, b->data.data, b->data.len, &api->arena, &m)) < 0) return rc;
  out->bundle = (const Momedo__KeyBundle *)m;
  out->data = b->data.data;
  out->len = b->data.len;
  /* An alias names a user only as issued by one of that user's home nodes, and only the
   * string asked for (issue 11, finding 2: a node answering with another node's alias). */
  if (out->has_alias && !na_home_node(out->bundle, out->alias_info.signer)) {
    na_reason(api, "node returned an alias not issued by a home node of its user");
    return MOMEDO_E_PROTO;
  }
  if (q->alias != NULL && !na_alias_spells(out->alias_info.alias, q->alias)) {
    na_reason(api, "node returned the alias object of another alias");
    return MOMEDO_E_PROTO;
  }
  return 0;
}

int nodeapi_quiet(struct nodeapi *api, const char *days, const char *hours, const char *tz) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__QuietReq qr = MOMEDO__QUIET_REQ__INIT;
  const Momedo__ClientResponse *resp = NULL;
  qr.days = (char *)days;
  qr.hours = (char *)hours;
  qr.tz = (char *)tz;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_QUIET;
  req.quiet = &qr;
  int rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET, &resp);
  return rc < 0 ? rc : 0;
}

int nodeapi_alias(struct nodeapi *api, const uint8_t identity_key[static NODEAPI_KEY_LEN],
                  uint64_t now_ms, struct obj_info *info) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__AliasReq ar = MOMEDO__ALIAS_REQ__INIT;
  const Momedo__ClientResponse *resp = NULL;
  int rc;
  ar.identity_key = (ProtobufCBinaryData){NODEAPI_KEY_LEN, (uint8_t *)identity_key};
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_ALIAS;
  req.alias = &ar;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_ALIAS, &resp)) < 0) return rc;
  const Momedo__Object *a = resp->alias->alias;
  if (a == NULL || a->kind != MOMEDO__OBJECT_KIND__OBJ_ALIAS ||
      obj_validate(a->kind, a->data.data, a->data.len, now_ms, info) < 0 ||
      memcmp(info->key, identity_key, OBJ_KEY_LEN) != 0) {
    na_reason(api, "node returned an invalid alias object");
    return MOMEDO_E_PROTO;
  }
  return 0;
}

/* ---- acknowledgements ----------------------------------------------------------- */

int nodeapi_tombstone(const struct crypto_sign_keypair *device,
                      const uint8_t item_id[static OBJ_ID_LEN], uint64_t expires_ms,
                      uint64_t now_ms, uint8_t **out, size_t *out_len) {
  return nodeapi_tombstone_to(device, item_id, expires_ms, now_ms, NULL, 0, out, out_len);
}

static int na_cmp_key(const void *a, const void *b) {
  return memcmp(a, b, NODEAPI_KEY_LEN);
}

void nodeapi_set_ack_dests(struct nodeapi *api, const uint8_t (*dests)[NODEAPI_KEY_LEN],
                           size_t n) {
  api->n_ack_dests = n < OBJ_HOME_NODES_MAX ? n : OBJ_HOME_NODES_MAX;
  if (api->n_ack_dests) memcpy(api->ack_dests, dests, api->n_ack_dests * NODEAPI_KEY_LEN);
}

int nodeapi_tombstone_to(const struct crypto_sign_keypair *device,
                         const uint8_t item_id[static OBJ_ID_LEN], uint64_t expires_ms,
                         uint64_t now_ms, const uint8_t (*dests)[NODEAPI_KEY_LEN],
                         size_t n_dests, uint8_t **out, size_t *out_len) {
  uint8_t sorted[OBJ_HOME_NODES_MAX][NODEAPI_KEY_LEN];
  ProtobufCBinaryData dv[OBJ_HOME_NODES_MAX];
  size_t nd = 0;
  *out = NULL;
  *out_len = 0;
  if (n_dests > OBJ_HOME_NODES_MAX) return MOMEDO_E_BOUNDS;
  if (n_dests) memcpy(sorted, dests, n_dests * NODEAPI_KEY_LEN);
  qsort(sorted, n_dests, NODEAPI_KEY_LEN, na_cmp_key);
  for (size_t i = 0; i < n_dests; i++)
    if (nd == 0 || memcmp(dv[nd - 1].data, sorted[i], NODEAPI_KEY_LEN) != 0)
      dv[nd++] = (ProtobufCBinaryData){NODEAPI_KEY_LEN, sorted[i]};
  uint64_t latest = now_ms + OBJ_TTL_MS_MAX;
  if (expires_ms == 0 || expires_ms > latest) expires_ms = latest;
  if (expires_ms <= now_ms) return MOMEDO_E_EXPIRED; /* the item is gone everywhere */
  return obj_tombstone_sign(device, item_id, now_ms, expires_ms, dv, nd, out, out_len);
}

int nodeapi_ack(struct nodeapi *api, const struct crypto_sign_keypair *device,
                const struct nodeapi_ack_item *items, size_t n, uint64_t now_ms,
                uint32_t *accepted) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__AckReq ar = MOMEDO__ACK_REQ__INIT;
  Momedo__Object objs[NODEAPI_ACK_MAX], *ptrs[NODEAPI_ACK_MAX];
  const Momedo__ClientResponse *resp = NULL;
  size_t built = 0;
  int rc = 0;
  api->reason[0] = '\0';
  if (n == 0 || n > NODEAPI_ACK_MAX) {
    na_reason(api, "ack takes 1..%d items at a time", NODEAPI_ACK_MAX);
    return MOMEDO_E_INVAL;
  }
  for (; built < n; built++) {
    Momedo__Object o = MOMEDO__OBJECT__INIT;
    objs[built] = o;
    objs[built].kind = MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE;
    rc = nodeapi_tombstone_to(device, items[built].id, items[built].expires_ms, now_ms,
                              api->ack_dests, api->n_ack_dests, &objs[built].data.data,
                              &objs[built].data.len);
    if (rc < 0) {
      na_reason(api, "cannot build the tombstone for item %zu: %s", built, momedo_strerror(rc));
      goto out;
    }
    ptrs[built] = &objs[built];
  }
  ar.n_tombstones = n;
  ar.tombstones = ptrs;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_ACK;
  req.ack = &ar;
  if ((rc = na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY_ACK, &resp)) < 0) goto out;
  if (resp->ack->accepted > n) {
    na_reason(api, "node accepted %u of %zu tombstones", (unsigned)resp->ack->accepted, n);
    rc = MOMEDO_E_PROTO;
    goto out;
  }
  if (accepted != NULL) *accepted = resp->ack->accepted;
out:
  for (size_t i = 0; i < built; i++) free(objs[i].data.data);
  return rc;
}

/* ---- live events ---------------------------------------------------------------- */

int nodeapi_subscribe(struct nodeapi *api, const uint8_t (*mailboxes)[OBJ_MAILBOX_LEN],
                      size_t n) {
  Momedo__ClientRequest req = MOMEDO__CLIENT_REQUEST__INIT;
  Momedo__SubscribeReq sr = MOMEDO__SUBSCRIBE_REQ__INIT;
  ProtobufCBinaryData mb[NODEAPI_SUBSCRIBE_MAX];
  if (n == 0 || n > NODEAPI_SUBSCRIBE_MAX) {
    na_reason(api, "subscribe takes 1..%d mailboxes", NODEAPI_SUBSCRIBE_MAX);
    return MOMEDO_E_INVAL;
  }
  for (size_t i = 0; i < n; i++)
    mb[i] = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, (uint8_t *)mailboxes[i]};
  sr.n_mailboxes = n;
  sr.mailboxes = mb;
  req.body_case = MOMEDO__CLIENT_REQUEST__BODY_SUBSCRIBE;
  req.subscribe = &sr;
  return na_call(api, &req, MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET, NULL);
}

static void na_pop_event(struct nodeapi *api, uint64_t now_ms, struct nodeapi_event *ev) {
  *ev = api->events[api->ev_head];
  memset(&api->events[api->ev_head], 0, sizeof api->events[0]);
  api->ev_head = (api->ev_head + 1) % NODEAPI_EVENTS_MAX;
  api->ev_count--;
  ev->err = obj_validate(ev->kind, ev->data, ev->len, now_ms, &ev->info);
  if (ev->err == 0 && ev->kind != MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE &&
      ev->kind != MOMEDO__OBJECT_KIND__OBJ_ALIAS &&
      memcmp(ev->info.mailbox, ev->mailbox, OBJ_MAILBOX_LEN) != 0)
    ev->err = MOMEDO_E_PROTO; /* object for another mailbox than the event names */
}

int nodeapi_wait_event(struct nodeapi *api, int timeout_ms, uint64_t now_ms,
                       struct nodeapi_event *ev) {
  Momedo__Frame *in = NULL;
  int rc;
  memset(ev, 0, sizeof *ev);
  if (api->ev_count == 0 && api->dead) return api->dead;
  api->reason[0] = '\0';
  uint64_t deadline = na_deadline(api, timeout_ms);
  while (api->ev_count == 0) {
    if (api->dead) return api->dead;
    if (api->version == 0) {
      na_reason(api, "no Hello exchanged yet");
      return MOMEDO_E_UNEXPECTED;
    }
    if ((rc = na_read_frame(api, deadline, &in)) < 0) {
      if (rc == MOMEDO_E_TIMEOUT) na_reason(api, "no event within the timeout");
      return rc;
    }
    if ((rc = na_async(api, in)) < 0) return rc;
    if (rc == 1) continue;
    if (in->body_case == MOMEDO__FRAME__BODY_RESPONSE &&
        in->response->request_id <= api->next_request_id)
      continue; /* late answer to a call that timed out */
    na_reason(api, "node sent an unexpected frame (case %d)", (int)in->body_case);
    return na_dead(api, MOMEDO_E_UNEXPECTED);
  }
  na_pop_event(api, now_ms, ev);
  return 0;
}

int nodeapi__call(struct nodeapi *api, Momedo__ClientRequest *req,
                  Momedo__ClientResponse__BodyCase want, const Momedo__ClientResponse **out) {
  return na_call(api, req, want, out);
}
