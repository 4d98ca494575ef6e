/* node/client_link.c — the one request a client may make without authenticating:
 * LinkReq, the mailbox of a device link in progress (docs/client.md, "A second
 * device"). The node derives the mailbox from the link ID itself, so this door opens
 * onto link mailboxes only; it keeps what arrives there briefly and bounded (size,
 * per connection, per minute, per link) and never looks inside. The first device reads
 * and answers the link as an ordinary authenticated device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

#define LINK_RATE_WINDOW_MS 60000u

/* Node-wide budget of unauthenticated link posts per minute. */
static int link_rate_take(struct node *n, uint64_t now) {
  if (now - n->link_window_start_ms >= LINK_RATE_WINDOW_MS || now < n->link_window_start_ms) {
    n->link_window_start_ms = now;
    n->link_posts = 0;
  }
  if (n->link_posts >= NODE_LINK_POSTS_PER_MINUTE) return MOMEDO_E_RATE;
  n->link_posts++;
  return 0;
}

static int link_post(struct conn *c, const uint8_t mb[OBJ_MAILBOX_LEN],
                     const ProtobufCBinaryData *req, char *why, size_t why_cap) {
  struct node *n = c->n;
  uint64_t now = node__now_ms(), items = 0, bytes = 0;
  struct obj_info info;
  uint8_t *data = NULL;
  size_t len = 0;
  if (req->len > NODE_LINK_REQUEST_BYTES_MAX) {
    reason_set(why, why_cap, "a link request is at most %d bytes",
               NODE_LINK_REQUEST_BYTES_MAX);
    return MOMEDO_E_TOOBIG;
  }
  if (c->link_posts >= NODE_LINK_POSTS_PER_CONN || link_rate_take(n, now) != 0) {
    reason_set(why, why_cap,
               "too many link requests (at most %d per connection, %d per minute on this node)",
               NODE_LINK_POSTS_PER_CONN, NODE_LINK_POSTS_PER_MINUTE);
    return MOMEDO_E_RATE;
  }
  c->link_posts++;
  int rc = repl_mailbox_count(n->repl, mb, &items, &bytes);
  if (rc) return rc;
  if (items >= NODE_LINK_ITEMS_MAX) {
    reason_set(why, why_cap, "this link has %d messages already: start a new one",
               NODE_LINK_ITEMS_MAX);
    return MOMEDO_E_QUOTA;
  }
  Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
  it.format = OBJ_FORMAT;
  it.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, (uint8_t *)mb};
  it.created_ms = now;
  it.expires_ms = now + NODE_LINK_TTL_MS;
  it.ciphertext = *req;
  it.node_key = (ProtobufCBinaryData){NODE_KEY_LEN, n->id.kp.pub};
  rc = obj_sign_encode_with(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &it.base, node__sign, n, &data,
                            &len);
  if (rc == 0) rc = repl_insert_local(n->repl, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, data, len,
                                      now, &info);
  free(data);
  node__drain(n);
  if (rc) reason_set(why, why_cap, "link request refused: %s", momedo_strerror(rc));
  return rc;
}

struct link_page {
  struct node *n;
  Momedo__Object **v;
  size_t count;
  int rc;
};

static int link_one(void *ctx, uint64_t seq, const struct obj_info *info, const uint8_t *data,
                    size_t len) {
  struct link_page *p = ctx;
  (void)seq;
  Momedo__Object *o = arena_alloc(&p->n->arena, sizeof *o);
  uint8_t *copy = arena_alloc(&p->n->arena, len ? len : 1);
  if (!o || !copy) {
    p->rc = MOMEDO_E_NOMEM;
    return 1;
  }
  momedo__object__init(o);
  memcpy(copy, data, len);
  o->kind = info->kind;
  o->data = (ProtobufCBinaryData){len, copy};
  p->v[p->count++] = o;
  return 0;
}

int node__c_link(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                 char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__LinkReq *r = rq->link;
  uint8_t mb[OBJ_MAILBOX_LEN];
  if (r->link_id.len != OBJ_LINK_ID_LEN) {
    reason_set(why, why_cap, "link_id must be %d bytes", OBJ_LINK_ID_LEN);
    return MOMEDO_E_BOUNDS;
  }
  int rc = obj_link_mailbox(mb, r->link_id.data);
  if (rc == 0 && r->request.len > 0) rc = link_post(c, mb, &r->request, why, why_cap);
  if (rc) return rc;
  Momedo__LinkResp *out = arena_alloc(&n->arena, sizeof *out);
  struct link_page p = {n, arena_alloc(&n->arena, NODE_LINK_ITEMS_MAX * sizeof *p.v), 0, 0};
  if (!out || !p.v) return MOMEDO_E_NOMEM;
  momedo__link_resp__init(out);
  rc = repl_mailbox_fetch(n->repl, mb, 0, NODE_LINK_ITEMS_MAX, node__now_ms(), link_one, &p);
  if (rc < 0) return rc;
  if (p.rc) return p.rc;
  out->objects = p.v;
  out->n_objects = p.count;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_LINK;
  rs->link = out;
  return 0;
}
