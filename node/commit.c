/* node/commit.c — group commit of client posts: a checked post waits here with its node
 * signature still blank; once per loop iteration (after everything that iteration read),
 * or when the group is full, the group's signatures are made on the pool (pool.c: both
 * cores; the node key is imported once per thread), its objects stored in arrival order
 * with the store's sync deferred, one fdatasync makes the whole group durable and then
 * every post of it is answered, in arrival order. Nothing is answered before the sync
 * returned; a failed sync refuses the whole group. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hours.h"
#include "log.h"
#include "node_int.h"
#include "store_rocks.h"

struct node_commit_ent {
  struct conn *c;               /* NULL: the connection went away (still stored) */
  uint64_t request_id;
  struct node_post p;
  int rc;                       /* signing and storing it */
  uint8_t id[OBJ_ID_LEN];       /* once stored */
  uint64_t expires_ms;
  uint64_t deliver_from_ms;     /* working hours: PostResp.deliver_from_ms */
  int32_t off_min;
};

struct node_commit {
  uv_check_t check;
  size_t n, bytes;
  struct node_commit_ent e[NODE_COMMIT_POSTS_MAX];
};

/* Once per loop iteration: the group of posts, then what neighbors sent (node__drain
 * syncs it before anything leaves). */
static void on_check(uv_check_t *h) {
  struct node *n = h->data;
  node__commit_flush(n);
  if (n->sync_owed) node__drain(n);
}

int node__commit_start(struct node *n) {
  n->commit = calloc(1, sizeof *n->commit);
  if (!n->commit) return MOMEDO_E_NOMEM;
  uv_check_init(n->loop, &n->commit->check);
  n->commit->check.data = n;
  uv_check_start(&n->commit->check, on_check);
  return 0;
}

void node__commit_stop(struct node *n) {
  if (!n->commit) return;
  node__commit_flush(n);
  uv_close((uv_handle_t *)&n->commit->check, NULL); /* freed by node_run after the loop */
}

void node__commit_add(struct conn *c, uint64_t request_id, struct node_post *p,
                      uint64_t deliver_from_ms, int32_t off_min) {
  struct node_commit *q = c->n->commit;
  assert(q->n < NODE_COMMIT_POSTS_MAX); /* flushed below when it got full */
  struct node_commit_ent *e = &q->e[q->n++];
  e->c = c;
  e->request_id = request_id;
  e->p = *p;
  e->rc = 0;
  e->deliver_from_ms = deliver_from_ms;
  e->off_min = off_min;
  c->commit_waiting++;
  q->bytes += p->len;
  /* Stopping: the check handle is closed, so nothing would sync the group later. */
  if (q->n >= NODE_COMMIT_POSTS_MAX || q->bytes >= NODE_COMMIT_BYTES_MAX || c->n->stopping)
    node__commit_flush(c->n);
}

void node__commit_pending(const struct node *n, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                          uint64_t *items, uint64_t *bytes) {
  const struct node_commit *q = n->commit;
  for (size_t i = 0; q && i < q->n; i++)
    if (memcmp(q->e[i].p.mailbox, mailbox, OBJ_MAILBOX_LEN) == 0) {
      (*items)++;
      *bytes += q->e[i].p.len;
    }
}

/* On the pool: the node's signature into the object's blank signature field (the last
 * OBJ_SIG_LEN bytes: field 15 is the highest, obj_sign_encode_with). */
static void sign_one(void *vctx, size_t i, unsigned worker) {
  struct node *n = vctx;
  struct node_commit_ent *e = &n->commit->e[i];
  e->rc = crypto_signer_sign(n->signer[worker], e->p.data + e->p.len - OBJ_SIG_LEN, e->p.tbs,
                             e->p.tbs_len);
}

/* Our own signature, made just now: read back without verifying it again (what comes
 * from outside is verified in full), stored with the sync deferred. */
static void store_one(struct node *n, struct node_commit_ent *e) {
  struct obj_checked ck;
  struct obj_info info;
  if (!e->rc) e->rc = obj_read(e->p.kind, e->p.data, e->p.len, &ck);
  if (!e->rc) {
    if (e->c) node__hours_posted(e->c, ck.info.id);
    store_rocks_defer_sync(n->rocks, 1);
    e->rc = repl_insert_checked(n->repl, &ck, e->p.data, e->p.len, e->p.now_ms, &info);
    store_rocks_defer_sync(n->rocks, 0);
  }
  if (!e->rc) {
    memcpy(e->id, info.id, OBJ_ID_LEN);
    e->expires_ms = info.expires_ms;
  }
  free(e->p.data);
  free(e->p.tbs);
  e->p.data = e->p.tbs = NULL;
}

static void answer(struct node *n, struct node_commit_ent *e, int rc, const char *why) {
  Momedo__ClientResponse rs = MOMEDO__CLIENT_RESPONSE__INIT;
  Momedo__PostResp out = MOMEDO__POST_RESP__INIT;
  char own[FRAME_REASON_BYTES_MAX] = "";
  struct conn *c = e->c;
  c->commit_waiting--;
  rs.request_id = e->request_id;
  if (!rc && e->rc) { /* this post alone was refused */
    rc = e->rc;
    if (rc == MOMEDO_E_DISKFULL)
      node__diskfull(n, e->p.len, own, sizeof own);
    else
      reason_set(own, sizeof own, "item refused: %s", momedo_strerror(rc));
    why = own;
  }
  rs.status = rc;
  if (rc) {
    rs.reason = (char *)why;
  } else {
    out.id = (ProtobufCBinaryData){OBJ_ID_LEN, e->id};
    out.expires_ms = e->expires_ms;
    out.deliver_from_ms = e->deliver_from_ms;
    out.deliver_utc_offset_min = e->off_min;
    rs.body_case = MOMEDO__CLIENT_RESPONSE__BODY_POST;
    rs.post = &out;
  }
  node__count_post(n, rc);
  if (!c->closing) node__client_respond(c, &rs);
}

void node__commit_flush(struct node *n) {
  struct node_commit *q = n->commit;
  char why[FRAME_REASON_BYTES_MAX] = "";
  if (!q || q->n == 0) return;
  node__pool_run(n, sign_one, n, q->n);
  for (size_t i = 0; i < q->n; i++) store_one(n, &q->e[i]);
  int rc = store_rocks_sync(n->rocks);
  if (rc == MOMEDO_E_DISKFULL) {
    node__diskfull(n, q->bytes, why, sizeof why);
  } else if (rc) {
    reason_set(why, sizeof why, "item not stored: %s", momedo_strerror(rc));
    node_log(NODE_LOG_ERROR, "store sync failed, %zu posts refused: %s", q->n,
             momedo_strerror(rc));
  }
  node__drain(n); /* the group's pushes to neighbors and subscribers: after the sync */
  /* Each connection's answers leave together: one TLS write and one syscall per
   * connection instead of one per post (link_cork). Connections stay allocated until
   * the loop runs their close callbacks, so corked[] stays valid. */
  struct conn *corked[NODE_COMMIT_POSTS_MAX];
  size_t nc = 0;
  for (size_t i = 0; i < q->n; i++) {
    struct conn *c = q->e[i].c;
    if (c && !c->closing && !c->corked) {
      c->corked = 1;
      link_cork(c->l);
      corked[nc++] = c;
    }
  }
  /* By index: an answer that closes its connection clears that connection's entries
   * (node__commit_conn_gone) while we walk; nothing adds to the group meanwhile. */
  for (size_t i = 0; i < q->n; i++)
    if (q->e[i].c) answer(n, &q->e[i], rc, why);
  for (size_t i = 0; i < nc; i++) {
    corked[i]->corked = 0;
    link_uncork(corked[i]->l);
  }
  q->n = 0;
  q->bytes = 0;
}

void node__commit_conn_gone(struct conn *c) {
  struct node_commit *q = c->n->commit;
  if (!q) return;
  for (size_t i = 0; i < q->n && c->commit_waiting; i++)
    if (q->e[i].c == c) {
      q->e[i].c = NULL;
      c->commit_waiting--;
    }
}
