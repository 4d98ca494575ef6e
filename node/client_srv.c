/* node/client_srv.c — the client side of the node protocol (client.proto): one
 * response per request, dispatched from a table; registration with an invite token,
 * device authentication by challenge signature, key bundle publish and lookup (any
 * bundle the node holds, wherever it was published), aliases. A device authenticates
 * if it was registered here with an invite, or if its user's replicated key bundle
 * lists it and names this node as a home node (partner fallback without an invite),
 * unless the node's admin removed that device (persisted; refused for good). A
 * response that meets a full link is held and reading from that client pauses until
 * it drains. Never logs message content; mailbox requests live in client_mbox.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "log.h"
#include "hours.h"
#include "node_int.h"

#define AUTH_DOMAIN "momedo/client-auth/v1"

static int need32(const ProtobufCBinaryData *b) { return b->len == 32; }

static int c_register(struct conn *c, const Momedo__ClientRequest *rq,
                      Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__RegisterReq *r = rq->register_;
  if (!need32(&r->device_key) || !need32(&r->identity_key)) {
    reason_set(why, why_cap, "device_key and identity_key must be 32 bytes");
    return MOMEDO_E_BOUNDS;
  }
  int rc = node__register(n, r, why, why_cap);
  if (rc) {
    node_log(NODE_LOG_INFO, "registration refused from %s: %s", link_name(c->l),
             why[0] ? why : momedo_strerror(rc));
    return rc;
  }
  char uid[IDS_USER_ID_STR_MAX] = "?", pre[NODE_KEY_PREFIX_LEN + 1];
  if (ids_user_id(uid, r->identity_key.data) != 0) snprintf(uid, sizeof uid, "?");
  node_key_prefix(r->device_key.data, pre);
  node_log(NODE_LOG_INFO, "client registered: device %s of user %s", pre, uid);
  Momedo__RegisterResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__register_resp__init(out);
  out->node_key = (ProtobufCBinaryData){NODE_KEY_LEN, n->id.kp.pub};
  rc = node__partner_list(n, r->identity_key.data, &out->partners, &out->n_partners);
  if (rc) return rc;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_REGISTER;
  rs->register_ = out;
  return 0;
}

/* 0 if the user's current key bundle as this node holds it (replicated, signed by
 * identity_key, checked again here) lists device_key, is not revoked and names this
 * node among its home nodes; else E_AUTH (or a store error) with the reason. */
static int bundle_admits(struct node *n, const uint8_t identity_key[OBJ_KEY_LEN],
                         const uint8_t device_key[OBJ_KEY_LEN], char *why, size_t why_cap) {
  struct obj_info info;
  struct obj_checked ck;
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = repl_bundle_lookup(n->repl, identity_key, &info, &data, &len);
  if (rc == MOMEDO_E_NOTFOUND) {
    reason_set(why, why_cap,
               "this device is not registered on this node and no key bundle of its user is "
               "known here (register with an invite, or wait until the bundle has replicated)");
    return MOMEDO_E_AUTH;
  }
  if (rc) return rc;
  rc = obj_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, data, len, node__now_ms(), NULL, NULL, &ck);
  free(data);
  if (rc == 0 && memcmp(ck.info.key, identity_key, OBJ_KEY_LEN) != 0) rc = MOMEDO_E_BADSIG;
  if (rc) {
    reason_set(why, why_cap, "the user's key bundle held here is not valid (%s)",
               momedo_strerror(rc));
    return MOMEDO_E_AUTH;
  }
  const struct obj_bundle_fields *b = &ck.bundle;
  int dev = 0, home = 0;
  for (uint32_t i = 0; i < b->n_devices; i++)
    dev |= memcmp(b->device_key[i], device_key, OBJ_KEY_LEN) == 0;
  for (uint32_t i = 0; i < b->n_home_nodes; i++)
    home |= memcmp(b->home_node[i], n->id.kp.pub, OBJ_KEY_LEN) == 0;
  if (ck.info.revoked)
    reason_set(why, why_cap, "the user's key bundle is revoked");
  else if (!dev)
    reason_set(why, why_cap,
               "this device is not registered on this node and its user's key bundle does not "
               "list it");
  else if (!home)
    reason_set(why, why_cap,
               "this device is not registered on this node and its user's key bundle does not "
               "name this node as a home node");
  else
    return node__partner_admits(n, identity_key, b, why, why_cap);
  return MOMEDO_E_AUTH;
}

/* May this device authenticate here, and as which user? Never if the admin removed
 * it; else registered here with an invite, or listed in a valid key bundle of
 * identity_key (NULL: not sent) that names this node as a home node. */
static int device_admitted(struct node *n, const uint8_t device_key[OBJ_KEY_LEN],
                           const uint8_t *identity_key, uint8_t ik_out[OBJ_KEY_LEN], char *why,
                           size_t why_cap) {
  int rc = node__device_removed(n, device_key);
  if (rc) {
    if (rc == 1) reason_set(why, why_cap, NODE_DEVICE_REMOVED_WHY);
    return rc == 1 ? MOMEDO_E_AUTH : rc;
  }
  rc = node__device_get(n, device_key, ik_out, NULL);
  if (rc == 0 && identity_key && memcmp(identity_key, ik_out, OBJ_KEY_LEN) != 0) {
    reason_set(why, why_cap, "this device is registered on this node for another user");
    return MOMEDO_E_AUTH;
  }
  if (rc != MOMEDO_E_NOTFOUND) return rc;
  if (!identity_key) {
    reason_set(why, why_cap,
               "this device is not registered on this node (register it with an invite first, "
               "or name its user's identity key so the node can check the key bundle)");
    return MOMEDO_E_AUTH;
  }
  if ((rc = bundle_admits(n, identity_key, device_key, why, why_cap)) != 0) return rc;
  memcpy(ik_out, identity_key, OBJ_KEY_LEN);
  return 0;
}

static int c_auth_begin(struct conn *c, const Momedo__ClientRequest *rq,
                        Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__AuthBeginReq *r = rq->auth_begin;
  uint8_t ik[OBJ_KEY_LEN];
  if (!need32(&r->device_key) || (r->identity_key.len && !need32(&r->identity_key))) {
    reason_set(why, why_cap, "device_key (and identity_key, when given) must be 32 bytes");
    return MOMEDO_E_BOUNDS;
  }
  const uint8_t *claimed = r->identity_key.len ? r->identity_key.data : NULL;
  int rc = device_admitted(n, r->device_key.data, claimed, ik, why, why_cap);
  if (rc) {
    char pre[NODE_KEY_PREFIX_LEN + 1];
    node_key_prefix(r->device_key.data, pre);
    node_log(NODE_LOG_INFO, "client %s refused as device %s: %s", link_name(c->l), pre,
             why[0] ? why : momedo_strerror(rc));
    return rc;
  }
  if ((rc = crypto_random(c->challenge, sizeof c->challenge)) != 0) return rc;
  memcpy(c->challenge_key, r->device_key.data, OBJ_KEY_LEN);
  memcpy(c->identity_key, ik, OBJ_KEY_LEN); /* the user it will be, once proven */
  c->challenge_set = 1;
  c->authed = 0;
  Momedo__AuthBeginResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__auth_begin_resp__init(out);
  out->challenge = (ProtobufCBinaryData){sizeof c->challenge, c->challenge};
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_AUTH_BEGIN;
  rs->auth_begin = out;
  return 0;
}

static int c_auth_prove(struct conn *c, const Momedo__ClientRequest *rq,
                        Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__AuthProveReq *r = rq->auth_prove;
  uint8_t msg[sizeof AUTH_DOMAIN - 1 + NODE_KEY_LEN + sizeof c->challenge];
  if (!c->challenge_set) {
    reason_set(why, why_cap, "AuthProve without AuthBegin");
    return MOMEDO_E_UNEXPECTED;
  }
  c->challenge_set = 0; /* one attempt per challenge */
  if (r->signature.len != CRYPTO_SIG_LEN) {
    reason_set(why, why_cap, "signature must be 64 bytes");
    return MOMEDO_E_BOUNDS;
  }
  memcpy(msg, AUTH_DOMAIN, sizeof AUTH_DOMAIN - 1);
  memcpy(msg + sizeof AUTH_DOMAIN - 1, n->id.kp.pub, NODE_KEY_LEN);
  memcpy(msg + sizeof AUTH_DOMAIN - 1 + NODE_KEY_LEN, c->challenge, sizeof c->challenge);
  if (crypto_verify(r->signature.data, msg, sizeof msg, c->challenge_key) != 0) {
    reason_set(why, why_cap, "the challenge signature does not verify with this device key");
    return MOMEDO_E_AUTH;
  }
  /* Checked again: the bundle may have changed (a revocation) since AuthBegin. */
  uint8_t ik[OBJ_KEY_LEN];
  int rc = device_admitted(n, c->challenge_key, c->identity_key, ik, why, why_cap);
  if (rc) return rc == MOMEDO_E_NOTFOUND ? MOMEDO_E_AUTH : rc;
  if ((rc = obj_device_mailbox(c->mailbox, c->challenge_key)) != 0) return rc;
  memcpy(c->device_key, c->challenge_key, OBJ_KEY_LEN);
  c->authed = 1;
  char pre[NODE_KEY_PREFIX_LEN + 1];
  node_key_prefix(c->device_key, pre);
  node_log(NODE_LOG_DEBUG, "client %s authenticated as device %s", link_name(c->l), pre);
  return 0;
}

static int need_auth(struct conn *c, char *why, size_t why_cap) {
  if (c->authed) return 0;
  reason_set(why, why_cap, "authenticate first (AuthBegin/AuthProve)");
  return MOMEDO_E_AUTH;
}

static int c_publish(struct conn *c, const Momedo__ClientRequest *rq,
                     Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__Object *o = rq->publish->object;
  struct obj_checked ck;
  uint64_t now = node__now_ms();
  int rc = need_auth(c, why, why_cap);
  if (rc) return rc;
  if (!o || o->kind != MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE) {
    reason_set(why, why_cap, "publish takes a key bundle object");
    return MOMEDO_E_UNKNOWN_KIND;
  }
  uint32_t got;
  if (node__rate_take(n, NODE_RATE_PUBLISHES, c->device_key, n->cfg.device_publishes_per_minute,
                      1, now, &got) != RATE_KEYED_OK) {
    reason_set(why, why_cap, "this device publishes key bundles too fast (at most %u per "
               "minute), or this node counts too many devices' publishes at once",
               n->cfg.device_publishes_per_minute);
    n->counters.publishes_rated++;
    return MOMEDO_E_RATE;
  }
  /* One check: who signed it decides whether it may be published here at all. */
  rc = obj_check(o->kind, o->data.data, o->data.len, now, NULL, NULL, &ck);
  if (rc) {
    reason_set(why, why_cap, "key bundle refused: %s", momedo_strerror(rc));
    return rc;
  }
  if (memcmp(ck.info.key, c->identity_key, OBJ_KEY_LEN) != 0) {
    reason_set(why, why_cap,
               "a device may only publish the key bundle of the user it was registered for");
    return MOMEDO_E_DENIED;
  }
  rc = repl_insert_checked(n->repl, &ck, o->data.data, o->data.len, now, NULL);
  node__drain(n);
  if (rc == MOMEDO_E_DISKFULL) {
    node__diskfull(n, o->data.len, why, why_cap);
    return rc;
  }
  if (rc && rc != MOMEDO_E_EXISTS) {
    reason_set(why, why_cap, "key bundle refused: %s", momedo_strerror(rc));
    return rc;
  }
  Momedo__PublishResp *out = arena_alloc(&n->arena, sizeof *out);
  uint8_t *id = arena_alloc(&n->arena, OBJ_ID_LEN);
  if (!out || !id) return MOMEDO_E_NOMEM;
  momedo__publish_resp__init(out);
  memcpy(id, ck.info.id, OBJ_ID_LEN);
  out->id = (ProtobufCBinaryData){OBJ_ID_LEN, id};
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_PUBLISH;
  rs->publish = out;
  return 0;
}

Momedo__Object *node__arena_object(struct arena *a, Momedo__ObjectKind kind, uint8_t *data,
                                   size_t len) {
  if (!data) return NULL;
  Momedo__Object *o = arena_alloc(a, sizeof *o);
  uint8_t *copy = arena_alloc(a, len ? len : 1);
  if (o && copy) {
    momedo__object__init(o);
    memcpy(copy, data, len);
    o->kind = kind;
    o->data = (ProtobufCBinaryData){len, copy};
  }
  free(data);
  return o && copy ? o : NULL;
}

static int c_alias(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                   char *why, size_t why_cap) {
  struct node *n = c->n;
  uint8_t *data = NULL, *bundle = NULL;
  size_t len = 0, blen = 0;
  struct obj_info binfo;
  int rc = need_auth(c, why, why_cap);
  if (rc) return rc;
  if (!need32(&rq->alias->identity_key) ||
      memcmp(rq->alias->identity_key.data, c->identity_key, OBJ_KEY_LEN) != 0) {
    reason_set(why, why_cap,
               "a device may only ask for an alias of the user it was registered for");
    return MOMEDO_E_DENIED;
  }
  rc = repl_bundle_lookup(n->repl, c->identity_key, &binfo, &bundle, &blen);
  if (rc == MOMEDO_E_NOTFOUND)
    reason_set(why, why_cap, "publish your key bundle first: an alias points to it");
  if (rc) return rc;
  if (node__alias_home_ok(bundle, blen, n->id.kp.pub) != 1) {
    reason_set(why, why_cap,
               "this node is not a home node in your key bundle; ask one of your home nodes");
    rc = MOMEDO_E_DENIED;
  }
  if (!rc) rc = node__alias_issue(n, c->identity_key, bundle, blen, &data, &len);
  free(bundle);
  if (rc) return rc;
  Momedo__AliasResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) {
    free(data);
    return MOMEDO_E_NOMEM;
  }
  momedo__alias_resp__init(out);
  out->alias = node__arena_object(&n->arena, MOMEDO__OBJECT_KIND__OBJ_ALIAS, data, len);
  if (!out->alias) return MOMEDO_E_NOMEM;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_ALIAS;
  rs->alias = out;
  return 0;
}

static const node_client_fn client_handlers[] = {
    [MOMEDO__CLIENT_REQUEST__BODY_REGISTER] = c_register,
    [MOMEDO__CLIENT_REQUEST__BODY_AUTH_BEGIN] = c_auth_begin,
    [MOMEDO__CLIENT_REQUEST__BODY_AUTH_PROVE] = c_auth_prove,
    [MOMEDO__CLIENT_REQUEST__BODY_PUBLISH] = c_publish,
    [MOMEDO__CLIENT_REQUEST__BODY_LOOKUP] = node__c_lookup,
    [MOMEDO__CLIENT_REQUEST__BODY_POST] = node__c_post,
    [MOMEDO__CLIENT_REQUEST__BODY_FETCH] = node__c_fetch,
    [MOMEDO__CLIENT_REQUEST__BODY_ACK] = node__c_ack,
    [MOMEDO__CLIENT_REQUEST__BODY_SUBSCRIBE] = node__c_subscribe,
    [MOMEDO__CLIENT_REQUEST__BODY_ALIAS] = c_alias,
    [MOMEDO__CLIENT_REQUEST__BODY_FETCH_BLOB] = node__c_fetch_blob,
    [MOMEDO__CLIENT_REQUEST__BODY_LINK] = node__c_link,
    [MOMEDO__CLIENT_REQUEST__BODY_PREKEY_UPLOAD] = node__c_prekey,
    [MOMEDO__CLIENT_REQUEST__BODY_PREKEY_CLAIM] = node__c_prekey,
    [MOMEDO__CLIENT_REQUEST__BODY_STATE_COUNTER] = node__c_prekey,
    [MOMEDO__CLIENT_REQUEST__BODY_PARTNERS] = node__c_partners,
    [MOMEDO__CLIENT_REQUEST__BODY_QUIET] = node__c_quiet,
};
#define CLIENT_HANDLERS_N (sizeof client_handlers / sizeof client_handlers[0])

/* Hold buf (len bytes, ours now) after what is held already, in order; 0 or E_NOMEM. */
static int hold(struct conn *c, uint8_t *buf, size_t len) {
  if (!c->held) {
    c->held = buf;
    c->held_len = len;
    return 0;
  }
  uint8_t *more = realloc(c->held, c->held_len + len);
  if (!more) {
    free(buf);
    return MOMEDO_E_NOMEM;
  }
  memcpy(more + c->held_len, buf, len);
  free(buf);
  c->held = more;
  c->held_len += len;
  return 0;
}

/* Send a response; on a full link hold it and stop reading from this client. A group
 * commit may answer several posts of one client at once: later answers queue behind a
 * held one (at most NODE_COMMIT_POSTS_MAX small answers). */
void node__client_respond(struct conn *c, const Momedo__ClientResponse *rs) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  uint8_t *buf = NULL;
  size_t len = 0;
  f.body_case = MOMEDO__FRAME__BODY_RESPONSE;
  f.response = (Momedo__ClientResponse *)rs;
  int rc = frame_encode(&f, c->send_max, &buf, &len);
  if (rc) {
    node__conn_close(c, rc, "cannot encode a response");
    return;
  }
  rc = c->held ? MOMEDO_E_AGAIN : link_send(c->l, buf, len);
  if (rc == 0) {
    node__count_out(c, len);
  } else if (rc == MOMEDO_E_AGAIN) {
    if (hold(c, buf, len) != 0) {
      node__conn_close(c, MOMEDO_E_NOMEM, "cannot hold a response");
      return;
    }
    link_pause_read(c->l);
    return;
  }
  free(buf);
}

void node__client_writable(struct conn *c) {
  if (!c->held) return;
  int rc = link_send(c->l, c->held, c->held_len);
  if (rc == MOMEDO_E_AGAIN) return;
  if (rc == 0) node__count_out(c, c->held_len);
  free(c->held);
  c->held = NULL;
  if (!c->closing && c->lookups == 0) link_resume_read(c->l);
}

void node__client_frame(struct conn *c, Momedo__Frame *f) {
  char why[FRAME_REASON_BYTES_MAX] = "";
  if (f->body_case != MOMEDO__FRAME__BODY_REQUEST) {
    node__conn_close(c, MOMEDO_E_UNEXPECTED, "clients send requests only");
    return;
  }
  if (c->held) { /* reading was paused; a frame already buffered slipped through */
    node__conn_close(c, MOMEDO_E_BUSY, "client does not read its responses");
    return;
  }
  const Momedo__ClientRequest *rq = f->request;
  /* Answers go out in request order: posts of this client waiting for the group's
   * sync are answered before anything else it asked is handled. */
  if (c->commit_waiting && rq->body_case != MOMEDO__CLIENT_REQUEST__BODY_POST)
    node__commit_flush(c->n);
  Momedo__ClientResponse rs = MOMEDO__CLIENT_RESPONSE__INIT;
  rs.request_id = rq->request_id;
  int rc = MOMEDO_E_UNKNOWN_KIND;
  if ((size_t)rq->body_case < CLIENT_HANDLERS_N && client_handlers[rq->body_case])
    rc = client_handlers[rq->body_case](c, rq, &rs, why, sizeof why);
  else
    snprintf(why, sizeof why, "unknown request");
  if (rc == NODE_DEFERRED) return; /* answered when the lookup ends */
  rs.status = rc;
  if (rc) {
    rs.body_case = MOMEDO__CLIENT_RESPONSE__BODY__NOT_SET;
    rs.reason = why[0] ? why : (char *)momedo_strerror(rc);
  }
  node__client_respond(c, &rs);
}
