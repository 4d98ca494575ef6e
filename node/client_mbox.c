/* node/client_mbox.c — mailbox requests of authenticated devices: post (the node wraps
 * the ciphertext in an OzoneItem or Chunk it signs, with per-device rate, item size,
 * write-key (mbox_guard.c) and mailbox quota checks), fetch from a cursor, ack
 * (device-signed tombstones), subscribe, and the live push of newly stored items to
 * subscribers, wherever they were posted. Ciphertext is never logged or inspected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hours.h"
#include "log.h"
#include "node_int.h"
#include "store_rocks.h"

#define DAY_MS (24ull * 3600 * 1000)
#define ACK_TOMBSTONES_MAX 256

static int need_auth(struct conn *c, char *why, size_t why_cap) {
  if (c->authed) return 0;
  reason_set(why, why_cap, "authenticate first (AuthBegin/AuthProve)");
  return MOMEDO_E_AUTH;
}

int node__mailbox_access(struct conn *c, const uint8_t mailbox[OBJ_MAILBOX_LEN], char *why,
                         size_t why_cap) {
  if (memcmp(mailbox, c->mailbox, OBJ_MAILBOX_LEN) == 0) return 0;
  if (node__is_device_mailbox(c->n, mailbox)) {
    reason_set(why, why_cap, "this is another device's mailbox");
    return MOMEDO_E_DENIED;
  }
  return 0; /* a group mailbox: whoever knows its ID may read it */
}

static int post_checks(struct conn *c, const Momedo__PostReq *r, uint64_t now, uint64_t *ttl,
                       char *why, size_t why_cap) {
  struct node *n = c->n;
  uint64_t items = 0, bytes = 0;
  if (r->mailbox.len != OBJ_MAILBOX_LEN) {
    reason_set(why, why_cap, "mailbox must be 32 bytes");
    return MOMEDO_E_BOUNDS;
  }
  if (r->ciphertext.len < 1 || r->ciphertext.len > n->cfg.item_bytes_max) {
    reason_set(why, why_cap, "ciphertext must be 1..%u bytes on this node (item_bytes_max)",
               n->cfg.item_bytes_max);
    return MOMEDO_E_TOOBIG;
  }
  uint64_t max = (uint64_t)n->cfg.item_ttl_days_max * DAY_MS;
  *ttl = r->ttl_ms ? r->ttl_ms : (uint64_t)n->cfg.item_ttl_days_default * DAY_MS;
  if (*ttl > max || *ttl > OBJ_TTL_MS_MAX) {
    reason_set(why, why_cap, "ttl_ms is longer than this node allows (%u days)",
               n->cfg.item_ttl_days_max);
    return MOMEDO_E_BOUNDS;
  }
  uint32_t got;
  int rate = node__rate_take(n, NODE_RATE_POSTS, c->device_key, n->cfg.device_posts_per_minute,
                             1, now, &got);
  if (rate != RATE_KEYED_OK) {
    if (rate == RATE_KEYED_FULL)
      reason_set(why, why_cap, "this node counts too many devices' posts at once; try again "
                 "in a minute");
    else
      reason_set(why, why_cap, "this device posts too fast (at most %u per minute)",
                 n->cfg.device_posts_per_minute);
    return MOMEDO_E_RATE;
  }
  int rc = node__guard_post(c, r, now, why, why_cap);
  if (rc) return rc;
  rc = repl_mailbox_count(n->repl, r->mailbox.data, &items, &bytes);
  if (rc) return rc;
  node__commit_pending(n, r->mailbox.data, &items, &bytes); /* not stored yet */
  if (items >= n->cfg.mailbox_items_max ||
      bytes + r->ciphertext.len > n->cfg.mailbox_bytes_max) {
    reason_set(why, why_cap,
               "the recipient's mailbox is full on this node (%llu items, %llu bytes waiting)",
               (unsigned long long)items, (unsigned long long)bytes);
    return MOMEDO_E_QUOTA;
  }
  return 0;
}

static int cmp_key(const void *a, const void *b) {
  return memcmp(((const ProtobufCBinaryData *)a)->data, ((const ProtobufCBinaryData *)b)->data,
                OBJ_KEY_LEN);
}

/* PostReq.dest_nodes as the object carries them: 32-byte keys, ascending, distinct (into
 * out, which borrows the request's bytes); *n 0 = global scope (if the node allows it). */
static int post_dests(struct node *n, const Momedo__PostReq *r,
                      ProtobufCBinaryData out[static OBJ_DEST_NODES_MAX], size_t *nd,
                      char *why, size_t why_cap) {
  *nd = 0;
  if (r->n_dest_nodes > OBJ_DEST_NODES_MAX) {
    reason_set(why, why_cap, "at most %d destination nodes per post", OBJ_DEST_NODES_MAX);
    return MOMEDO_E_BOUNDS;
  }
  for (size_t i = 0; i < r->n_dest_nodes; i++) {
    if (r->dest_nodes[i].len != OBJ_KEY_LEN) {
      reason_set(why, why_cap, "destination nodes are 32-byte node keys");
      return MOMEDO_E_BOUNDS;
    }
    out[i] = r->dest_nodes[i];
  }
  qsort(out, r->n_dest_nodes, sizeof out[0], cmp_key);
  for (size_t i = 0; i < r->n_dest_nodes; i++)
    if (*nd == 0 || memcmp(out[*nd - 1].data, out[i].data, OBJ_KEY_LEN) != 0) out[(*nd)++] = out[i];
  if (*nd == 0 && !n->cfg.global_posts_allowed) {
    reason_set(why, why_cap, "this node takes posts only with destination nodes (global_posts_allowed = 0): "
        "update the client");
    return MOMEDO_E_DENIED;
  }
  return 0;
}

/* An obj_sign_fn that signs nothing yet: it keeps the message to sign (ctx: the post)
 * and leaves the signature blank; the group commit signs it on the pool. */
static int sign_later(void *ctx, const uint8_t *msg, size_t len,
                      uint8_t sig[static OBJ_SIG_LEN]) {
  struct node_post *p = ctx;
  p->tbs = malloc(len ? len : 1);
  if (!p->tbs) return MOMEDO_E_NOMEM;
  memcpy(p->tbs, msg, len);
  p->tbs_len = len;
  memset(sig, 0, OBJ_SIG_LEN);
  return 0;
}

/* The post's object, encoded with a blank signature, into p (p->kind, data, len, tbs). */
static int build_post(struct node *n, const Momedo__PostReq *r, uint64_t now, uint64_t ttl,
                      struct node_post *p, char *why, size_t why_cap) {
  ProtobufCBinaryData nk = {NODE_KEY_LEN, n->id.kp.pub}, dests[OBJ_DEST_NODES_MAX];
  size_t nd = 0;
  int rc = post_dests(n, r, dests, &nd, why, why_cap);
  if (rc) return rc;
  if (nd == 0) n->global_posts++;
  if (r->blob_id.len == 0) {
    Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
    it.format = OBJ_FORMAT;
    it.mailbox = r->mailbox;
    it.created_ms = now;
    it.expires_ms = now + ttl;
    it.ciphertext = r->ciphertext;
    it.node_key = nk;
    it.n_dest_nodes = nd;
    it.dest_nodes = nd ? dests : NULL;
    p->kind = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM;
    return obj_sign_encode_with(p->kind, &it.base, sign_later, p, &p->data, &p->len);
  }
  if (r->blob_id.len != OBJ_ID_LEN || r->chunk_count < 1 || r->chunk_count > OBJ_CHUNKS_MAX ||
      r->chunk_index >= r->chunk_count) {
    reason_set(why, why_cap, "chunk needs a 32-byte blob_id and chunk_index < chunk_count <= %u",
               OBJ_CHUNKS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  Momedo__Chunk ch = MOMEDO__CHUNK__INIT;
  ch.format = OBJ_FORMAT;
  ch.mailbox = r->mailbox;
  ch.blob_id = r->blob_id;
  ch.index = r->chunk_index;
  ch.count = r->chunk_count;
  ch.created_ms = now;
  ch.expires_ms = now + ttl;
  ch.ciphertext = r->ciphertext;
  ch.node_key = nk;
  ch.n_dest_nodes = nd;
  ch.dest_nodes = nd ? dests : NULL;
  p->kind = MOMEDO__OBJECT_KIND__OBJ_CHUNK;
  return obj_sign_encode_with(p->kind, &ch.base, sign_later, p, &p->data, &p->len);
}

static int c_post(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                  char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__PostReq *r = rq->post;
  uint64_t now = node__now_ms(), ttl = 0;
  struct node_post p = {.now_ms = now};
  int rc = need_auth(c, why, why_cap);
  if (!rc) rc = post_checks(c, r, now, &ttl, why, why_cap);
  if (!rc) rc = build_post(n, r, now, ttl, &p, why, why_cap);
  if (rc) {
    free(p.data);
    free(p.tbs);
    return rc;
  }
  (void)rs;
  memcpy(p.mailbox, r->mailbox.data, OBJ_MAILBOX_LEN);
  int32_t off_min = 0;
  uint64_t from = node__hours_deliver_from(c, r, now, &off_min);
  /* Signed, stored and answered by the group commit (commit.c). */
  node__commit_add(c, rq->request_id, &p, from, off_min);
  return NODE_DEFERRED;
}

int node__c_post(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                 char *why, size_t why_cap) {
  int rc = c_post(c, rq, rs, why, why_cap);
  if (rc == NODE_DEFERRED) return rc; /* counted when answered */
  /* Refused at once: answered after this connection's posts that wait for the sync. */
  if (c->commit_waiting) node__commit_flush(c->n);
  node__drain(c->n);
  node__count_post(c->n, rc);
  return rc;
}

/* Collects fetched objects into arena memory within a byte budget. */
struct fetch_ctx {
  struct node *n;
  Momedo__FetchedObject **v;
  size_t n_v, cap;
  size_t bytes, budget;
  uint64_t last_seq;
  int more;
  int rc;
  /* fetch_blob filter */
  const uint8_t *blob_id;
  uint32_t first_index;
  /* working hours: this connection's subscription of the mailbox, holding pushes */
  const struct sub *hold;
};

static int fetch_one(void *vctx, uint64_t seq, const struct obj_info *info, const uint8_t *data,
                     size_t len) {
  struct fetch_ctx *f = vctx;
  if (f->hold && node__hours_is_held(f->hold, seq)) return 0;
  if (f->blob_id && (info->kind != MOMEDO__OBJECT_KIND__OBJ_CHUNK ||
                     memcmp(info->blob_id, f->blob_id, OBJ_ID_LEN) != 0 ||
                     info->index < f->first_index))
    return 0;
  if (f->n_v >= f->cap || (f->n_v > 0 && f->bytes + len + 64 > f->budget)) {
    f->more = 1;
    return 1;
  }
  Momedo__FetchedObject *fo = arena_alloc(&f->n->arena, sizeof *fo);
  Momedo__Object *o = arena_alloc(&f->n->arena, sizeof *o);
  uint8_t *copy = arena_alloc(&f->n->arena, len ? len : 1);
  if (!fo || !o || !copy) {
    f->rc = MOMEDO_E_NOMEM;
    return 1;
  }
  momedo__fetched_object__init(fo);
  momedo__object__init(o);
  memcpy(copy, data, len);
  o->kind = info->kind;
  o->data = (ProtobufCBinaryData){len, copy};
  fo->seq = seq;
  fo->object = o;
  f->v[f->n_v++] = fo;
  f->bytes += len + 64;
  f->last_seq = seq;
  return 0;
}

static int fetch_run(struct conn *c, const ProtobufCBinaryData *mailbox,
                     const ProtobufCBinaryData *wk, const ProtobufCBinaryData *tag, uint64_t from,
                     uint32_t limit, struct fetch_ctx *f, char *why, size_t why_cap) {
  struct node *n = c->n;
  int rc = need_auth(c, why, why_cap);
  if (rc) return rc;
  if (mailbox->len != OBJ_MAILBOX_LEN) {
    reason_set(why, why_cap, "mailbox must be 32 bytes");
    return MOMEDO_E_BOUNDS;
  }
  if ((rc = node__mailbox_access(c, mailbox->data, why, why_cap)) != 0) return rc;
  if (wk && (rc = node__guard_fetch(c, mailbox->data, wk, tag, why, why_cap)) != 0) return rc;
  if (limit == 0) limit = NODE_FETCH_LIMIT_DEFAULT;
  if (limit > NODE_FETCH_LIMIT_MAX) limit = NODE_FETCH_LIMIT_MAX;
  f->n = n;
  f->cap = limit;
  f->budget = c->send_max > 2 * NODE_RESP_MARGIN_BYTES ? c->send_max - NODE_RESP_MARGIN_BYTES
                                                       : c->send_max / 2;
  f->v = arena_alloc(&n->arena, (limit + 1) * sizeof *f->v);
  if (!f->v) return MOMEDO_E_NOMEM;
  /* Ask for one more than fits so "more" is exact when the limit is what stops us (and
   * for the held ones, which are skipped). */
  f->hold = f->blob_id ? NULL : node__hours_fetch_hold(c, mailbox->data);
  uint32_t ask = f->blob_id ? UINT32_MAX : limit + 1 + (f->hold ? f->hold->n_held : 0);
  rc = repl_mailbox_fetch(n->repl, mailbox->data, from, ask, node__now_ms(), fetch_one, f);
  if (rc < 0) return rc;
  return f->rc;
}

int node__c_fetch(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                  char *why, size_t why_cap) {
  const Momedo__FetchReq *r = rq->fetch;
  struct fetch_ctx f = {0};
  int rc = fetch_run(c, &r->mailbox, &r->write_key, &r->write_tag, r->cursor, r->limit, &f, why,
                     why_cap);
  if (rc) return rc;
  Momedo__FetchResp *out = arena_alloc(&c->n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__fetch_resp__init(out);
  out->objects = f.v;
  out->n_objects = f.n_v;
  out->next_cursor = f.n_v ? f.last_seq + 1 : r->cursor;
  /* Held pushes are skipped, and the cursor stays before them: the client reads them
   * once they are pushed at the start of the hours. */
  if (f.hold && f.hold->n_held && out->next_cursor > f.hold->held[0] && r->cursor <= f.hold->held[0])
    out->next_cursor = f.hold->held[0];
  out->more = f.more;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_FETCH;
  rs->fetch = out;
  return 0;
}

int node__c_fetch_blob(struct conn *c, const Momedo__ClientRequest *rq,
                       Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  const Momedo__FetchBlobReq *r = rq->fetch_blob;
  struct fetch_ctx f = {0};
  if (r->blob_id.len != OBJ_ID_LEN) {
    reason_set(why, why_cap, "blob_id must be 32 bytes");
    return MOMEDO_E_BOUNDS;
  }
  f.blob_id = r->blob_id.data;
  f.first_index = r->first_index;
  int rc = fetch_run(c, &r->mailbox, NULL, NULL, 0, r->limit, &f, why, why_cap);
  if (rc) return rc;
  Momedo__FetchBlobResp *out = arena_alloc(&c->n->arena, sizeof *out);
  Momedo__Object **objs = arena_alloc(&c->n->arena, (f.n_v + 1) * sizeof *objs);
  if (!out || !objs) return MOMEDO_E_NOMEM;
  momedo__fetch_blob_resp__init(out);
  for (size_t i = 0; i < f.n_v; i++) objs[i] = f.v[i]->object;
  out->chunks = objs;
  out->n_chunks = f.n_v;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_FETCH_BLOB;
  rs->fetch_blob = out;
  return 0;
}

/* The tombstones of one ack request, checked in full (decode, bounds, time, the device's
 * signature) on the signature pool before the loop thread stores them in request order:
 * one Ed25519 verification per tombstone was half of the node's CPU while clients
 * drained their mailboxes (issue 12). ck[i] and rc[i] belong to tombstones[i]. */
struct ack_batch {
  const Momedo__AckReq *r;
  uint64_t now;
  struct obj_checked *ck;
  int rc[ACK_TOMBSTONES_MAX];
};

static void ack_check(void *vctx, size_t i, unsigned worker) {
  struct ack_batch *b = vctx;
  const Momedo__Object *o = b->r->tombstones[i];
  (void)worker;
  if (!o || o->kind != MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE)
    b->rc[i] = MOMEDO_E_UNKNOWN_KIND;
  else
    b->rc[i] = obj_check(o->kind, o->data.data, o->data.len, b->now, NULL, NULL, &b->ck[i]);
}

/* One tombstone of the device's ack, after ack_check: 0 stored, E_EXISTS known (or
 * nothing to delete here: the item is already gone), else why it was refused. Only the
 * device that signed a tombstone may hand it in; a tombstone for an item this node does
 * not hold is not stored (a device could otherwise fill every node with tombstones for
 * IDs nobody holds; an item already killed here needs nothing more). */
static int ack_one(struct conn *c, const struct ack_batch *b, size_t i) {
  const struct obj_checked *ck = &b->ck[i];
  const Momedo__Object *o = b->r->tombstones[i];
  if (b->rc[i]) return b->rc[i];
  if (memcmp(ck->info.key, c->device_key, OBJ_KEY_LEN) != 0) return MOMEDO_E_DENIED;
  if (!repl_has(c->n->repl, ck->info.target_id)) {
    c->n->counters.acks_unknown++;
    return MOMEDO_E_EXISTS;
  }
  return repl_insert_checked(c->n->repl, ck, o->data.data, o->data.len, b->now, NULL);
}

int node__c_ack(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__AckReq *r = rq->ack;
  uint64_t now = node__now_ms();
  uint32_t accepted = 0;
  int rc = need_auth(c, why, why_cap), last = 0;
  if (rc) return rc;
  if (r->n_tombstones < 1 || r->n_tombstones > ACK_TOMBSTONES_MAX) {
    reason_set(why, why_cap, "ack takes 1..%d tombstones", ACK_TOMBSTONES_MAX);
    return MOMEDO_E_BOUNDS;
  }
  /* Issue 11 finding 7: a device's acks are bounded per minute (the rest of the request
   * is refused, E_RATE), and a tombstone is stored only for an item held here. */
  uint32_t allowed = 0;
  (void)node__rate_take(n, NODE_RATE_ACKS, c->device_key, n->cfg.device_acks_per_minute,
                        (uint32_t)r->n_tombstones, now, &allowed);
  if (allowed < r->n_tombstones) last = MOMEDO_E_RATE, n->counters.acks_rated += r->n_tombstones - allowed;
  /* One sync for the whole request (issue 12): every tombstone is written with the sync
   * deferred, then one log sync makes them durable before the answer counts them and
   * before the drain pushes them on. A failed sync accepts none of them. */
  uint32_t stored = 0;
  struct ack_batch *b = n->ack_batch;
  if (!b) {
    b = n->ack_batch = calloc(1, sizeof *b);
    if (b) b->ck = malloc(ACK_TOMBSTONES_MAX * sizeof *b->ck);
    if (!b || !b->ck) return MOMEDO_E_NOMEM; /* node__ack_batch_free frees what was made */
  }
  b->r = r;
  b->now = now;
  node__pool_run(n, ack_check, b, allowed);
  store_rocks_defer_sync(n->rocks, 1);
  for (size_t i = 0; i < allowed; i++) {
    rc = ack_one(c, b, i);
    if (rc == 0 || rc == MOMEDO_E_EXISTS)
      accepted++;
    else
      last = rc;
    if (rc == 0) stored++;
  }
  store_rocks_defer_sync(n->rocks, 0);
  if (stored > 0 && (rc = store_rocks_sync(n->rocks)) != 0) {
    node_log(NODE_LOG_ERROR, "store sync failed, %u tombstones not acknowledged: %s", stored,
             momedo_strerror(rc));
    accepted = 0;
    last = rc;
  }
  node__drain(n);
  if (accepted == 0 && last == MOMEDO_E_DISKFULL) {
    node__diskfull(n, 0, why, why_cap);
    return last;
  }
  if (accepted == 0 && last == MOMEDO_E_RATE) {
    reason_set(why, why_cap, "this device acknowledges too fast (at most %u per minute)",
               n->cfg.device_acks_per_minute);
    return last;
  }
  if (accepted == 0) {
    reason_set(why, why_cap, "no tombstone accepted: %s", momedo_strerror(last));
    return last ? last : MOMEDO_E_INVAL;
  }
  Momedo__AckResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__ack_resp__init(out);
  out->accepted = accepted;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_ACK;
  rs->ack = out;
  return 0;
}

void node__ack_batch_free(struct node *n) {
  if (!n->ack_batch) return;
  free(n->ack_batch->ck);
  free(n->ack_batch);
  n->ack_batch = NULL;
}

/* ---- subscriptions and live push ---- */

static size_t bucket_of(const uint8_t mailbox[OBJ_MAILBOX_LEN]) {
  return ((size_t)mailbox[0] | (size_t)mailbox[1] << 8 | (size_t)mailbox[2] << 16) %
         NODE_SUB_BUCKETS;
}

int node__c_subscribe(struct conn *c, const Momedo__ClientRequest *rq,
                      Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  const Momedo__SubscribeReq *r = rq->subscribe;
  int rc = need_auth(c, why, why_cap);
  if (rc) return rc;
  for (size_t i = 0; i < r->n_mailboxes; i++) {
    if (r->mailboxes[i].len != OBJ_MAILBOX_LEN) {
      reason_set(why, why_cap, "mailbox must be 32 bytes");
      return MOMEDO_E_BOUNDS;
    }
    if ((rc = node__mailbox_access(c, r->mailboxes[i].data, why, why_cap)) != 0) return rc;
  }
  for (size_t i = 0; i < r->n_mailboxes; i++) {
    const uint8_t *mb = r->mailboxes[i].data;
    int dup = 0;
    for (size_t j = 0; j < c->n_subs; j++) dup |= !memcmp(c->subs[j]->mailbox, mb, OBJ_MAILBOX_LEN);
    if (dup) continue;
    if (c->n_subs >= NODE_SUBS_MAX) {
      reason_set(why, why_cap, "at most %d subscribed mailboxes per connection", NODE_SUBS_MAX);
      return MOMEDO_E_BOUNDS;
    }
    struct sub *s = calloc(1, sizeof *s);
    if (!s) return MOMEDO_E_NOMEM;
    memcpy(s->mailbox, mb, OBJ_MAILBOX_LEN);
    s->c = c;
    size_t b = bucket_of(mb);
    s->next = n->subs[b];
    n->subs[b] = s;
    c->subs[c->n_subs++] = s;
  }
  return 0;
}

void node__client_gone(struct conn *c) {
  struct node *n = c->n;
  node__commit_conn_gone(c);
  node__lookups_conn_gone(c);
  node__claims_conn_gone(c);
  for (size_t i = 0; i < c->n_subs; i++) {
    struct sub *s = c->subs[i];
    for (struct sub **pp = &n->subs[bucket_of(s->mailbox)]; *pp; pp = &(*pp)->next)
      if (*pp == s) {
        *pp = s->next;
        break;
      }
    node__hours_sub_gone(n, s);
    free(s);
  }
  c->n_subs = 0;
}

void node__push_event(struct conn *c, const uint8_t mailbox[OBJ_MAILBOX_LEN], uint64_t seq,
                      Momedo__ObjectKind kind, const uint8_t *data, size_t len) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__ClientEvent ev = MOMEDO__CLIENT_EVENT__INIT;
  Momedo__Object o = MOMEDO__OBJECT__INIT;
  o.kind = kind;
  o.data = (ProtobufCBinaryData){len, (uint8_t *)data};
  ev.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, (uint8_t *)mailbox};
  ev.seq = seq;
  ev.object = &o;
  f.body_case = MOMEDO__FRAME__BODY_EVENT;
  f.event = &ev;
  if (c->held || node__send_frame(c, &f) != 0) c->events_skipped++;
}

/* Push a newly stored item or chunk to every connected subscriber of its mailbox, unless
 * working hours hold it for that subscriber (hours.c pushes it when they start). A
 * client whose link is full misses the event (it is still in the mailbox to fetch);
 * nothing is buffered for it. */
void node__on_stored(struct node *n, const struct repl_action *a) {
  Momedo__ObjectKind k = a->info.kind;
  if (k != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM && k != MOMEDO__OBJECT_KIND__OBJ_CHUNK) return;
  uint8_t *data = NULL;
  size_t len = 0;
  int fetched = 0;
  for (struct sub *s = n->subs[bucket_of(a->info.mailbox)]; s; s = s->next) {
    if (memcmp(s->mailbox, a->info.mailbox, OBJ_MAILBOX_LEN) != 0 || s->c->closing) continue;
    if (node__hours_hold(n, s, a)) continue;
    if (!fetched) {
      fetched = 1;
      if (repl_get_object(n->repl, a->info.id, node__now_ms(), NULL, &data, &len) != 0) return;
    }
    node__push_event(s->c, s->mailbox, a->seq, k, data, len);
  }
  free(data);
}
