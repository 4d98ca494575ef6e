/* node/mbox_guard.c — who may fill a mailbox that is not a device's. Write-key locks:
 * once a member or a poster showed this node a mailbox's write key (mbox_write.h: the
 * mailbox ID commits to it), the mailbox takes only posts signed with that key
 * (node-local records 'N' 'w'). Per-poster quotas: one device holds at most
 * mailbox_items_per_poster_max items of one such mailbox over the item lifetime (a
 * sliding window, counted in memory under a keyed hash). The node learns a random
 * public key and a hash per mailbox, nothing about the group behind it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "log.h"
#include "mbox_write.h"
#include "node_int.h"

#define DAY_MS (24ull * 3600 * 1000)
#define LOCK_REC_LEN (MBOX_WRITE_KEY_LEN + 8)   /* write key, last used (be64) */
#define LOCK_REFRESH_MS DAY_MS                  /* rewrite "last used" at most this often */
#define GUARD_SWEEP_MS (3600ull * 1000)         /* drop unused locks at most this often */

struct poster_slot {
  uint64_t window_start_ms;
  uint32_t prev, cur;           /* posts in the previous and the current window */
};

struct node_guard {
  uint8_t key[32];              /* per run: collisions cannot be aimed at */
  uint64_t next_sweep_ms;
  struct poster_slot slot[NODE_POSTER_SLOTS];
};

static struct node_guard *guard_of(struct node *n) {
  if (n->guard == NULL && (n->guard = calloc(1, sizeof *n->guard)) != NULL &&
      crypto_random(n->guard->key, sizeof n->guard->key) != 0) {
    free(n->guard);
    n->guard = NULL;
  }
  return n->guard;
}

void node__guard_free(struct node *n) {
  if (n->guard) crypto_wipe(n->guard->key, sizeof n->guard->key);
  free(n->guard);
  n->guard = NULL;
}

/* ---- locks ---- */

static void lock_key(uint8_t k[static 2 + OBJ_MAILBOX_LEN], const uint8_t mailbox[static 32]) {
  node__key_tag(k, NODE_K_WRITELOCK);
  memcpy(k + 2, mailbox, OBJ_MAILBOX_LEN);
}

/* 1 and the key when the mailbox is locked here, 0 if not, negative on a store error. */
static int lock_get(struct node *n, const uint8_t mailbox[static 32], uint8_t wk[static 32],
                    uint64_t *used_ms) {
  uint8_t k[2 + OBJ_MAILBOX_LEN];
  void *v = NULL;
  size_t vn = 0;
  lock_key(k, mailbox);
  int rc = store_get(n->store, k, sizeof k, &v, &vn);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc == 0 && vn != LOCK_REC_LEN) rc = MOMEDO_E_CORRUPT;
  if (rc == 0) {
    memcpy(wk, v, 32);
    *used_ms = be64_get((uint8_t *)v + 32);
  }
  free(v);
  return rc ? rc : 1;
}

static int lock_put(struct node *n, const uint8_t mailbox[static 32], const uint8_t wk[static 32],
                    uint64_t now) {
  uint8_t k[2 + OBJ_MAILBOX_LEN], v[LOCK_REC_LEN];
  struct store_batch *b = store_batch_new();
  if (b == NULL) return MOMEDO_E_NOMEM;
  lock_key(k, mailbox);
  memcpy(v, wk, 32);
  be64_put(v + 32, now);
  int rc = store_batch_put(b, k, sizeof k, v, sizeof v);
  if (rc == 0) rc = store_write(n->store, b);
  store_batch_free(b);
  return rc;
}

/* A write key and tag given with a request: both 32 bytes, or neither. 1 if given. */
static int proof_given(const ProtobufCBinaryData *wk, const ProtobufCBinaryData *tag, char *why,
                       size_t why_cap) {
  if (wk->len == 0 && tag->len == 0) return 0;
  if (wk->len == MBOX_WRITE_KEY_LEN && tag->len == MBOX_WRITE_TAG_LEN) return 1;
  reason_set(why, why_cap, "write_key and write_tag are 32 bytes each, or both absent");
  return MOMEDO_E_BOUNDS;
}

/* Remember (or refresh) that mailbox takes posts by wk only. */
static int lock_note(struct node *n, const uint8_t mailbox[static 32], const uint8_t wk[static 32],
                     uint64_t now) {
  uint8_t have[32];
  uint64_t used = 0;
  int rc = lock_get(n, mailbox, have, &used);
  if (rc < 0) return rc;
  if (rc == 1 && memcmp(have, wk, 32) != 0) return MOMEDO_E_DENIED; /* cannot happen: hash */
  if (rc == 1 && now < used + LOCK_REFRESH_MS) return 0;
  return lock_put(n, mailbox, wk, now);
}

/* ---- per-poster quotas ---- */

static struct poster_slot *poster_slot(struct node_guard *gd, const uint8_t mailbox[static 32],
                                       const uint8_t device[static 32]) {
  uint8_t h[32];
  struct crypto_part parts[3] = {{gd->key, sizeof gd->key}, {mailbox, 32}, {device, 32}};
  if (crypto_sha256_parts(h, parts, 3) != 0) return &gd->slot[0]; /* shared: stricter */
  return &gd->slot[be32_get(h) % NODE_POSTER_SLOTS];
}

/* Count one post of c into mailbox, unless the device holds its share already. The
 * estimate of items still alive is the current window's count plus the share of the
 * previous window that has not slid out yet. */
static int poster_take(struct conn *c, const uint8_t mailbox[static 32], uint64_t now,
                       char *why, size_t why_cap) {
  struct node *n = c->n;
  struct node_guard *gd = guard_of(n);
  uint64_t w = (uint64_t)n->cfg.item_ttl_days_max * DAY_MS;
  if (gd == NULL) return MOMEDO_E_NOMEM;
  struct poster_slot *s = poster_slot(gd, mailbox, c->device_key);
  if (now < s->window_start_ms || now - s->window_start_ms >= 2 * w) {
    s->window_start_ms = now, s->prev = s->cur = 0;
  } else if (now - s->window_start_ms >= w) {
    s->window_start_ms += w, s->prev = s->cur, s->cur = 0;
  }
  uint64_t left = w - (now - s->window_start_ms);
  uint64_t est = (uint64_t)s->prev * left / w + s->cur;
  if (est >= n->cfg.mailbox_items_per_poster_max) {
    reason_set(why, why_cap,
               "this device holds its share of this mailbox already (%u items at most; older "
               "ones must expire first)", n->cfg.mailbox_items_per_poster_max);
    return MOMEDO_E_QUOTA;
  }
  if (s->cur < UINT32_MAX) s->cur++;
  return 0;
}

/* ---- the checks ---- */

/* 1 if the post names its recipient device and the mailbox is that device's. */
static int device_post(const Momedo__PostReq *r, char *why, size_t why_cap) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  if (r->device_key.len == 0) return 0;
  if (r->device_key.len != OBJ_KEY_LEN || obj_device_mailbox(mb, r->device_key.data) != 0 ||
      memcmp(mb, r->mailbox.data, OBJ_MAILBOX_LEN) != 0) {
    reason_set(why, why_cap, "device_key does not name this mailbox's device");
    return MOMEDO_E_BOUNDS;
  }
  return 1;
}

int node__guard_post(struct conn *c, const Momedo__PostReq *r, uint64_t now, char *why,
                     size_t why_cap) {
  struct node *n = c->n;
  uint8_t wk[32];
  uint64_t used = 0;
  const uint8_t *mb = r->mailbox.data;
  int given = proof_given(&r->write_key, &r->write_tag, why, why_cap);
  if (given < 0) return given;
  int dev = device_post(r, why, why_cap);
  if (dev < 0) return dev;
  if (dev && given) {
    reason_set(why, why_cap, "a post names a device or a write key, not both");
    return MOMEDO_E_BOUNDS;
  }
  if (dev || node__is_device_mailbox(n, mb)) return 0; /* a device's: its own rules */
  int locked = lock_get(n, mb, wk, &used);
  if (locked < 0) return locked;
  if (given) {
    int rc = mbox_write_check(mb, r->write_key.data, r->write_tag.data, r->ciphertext.data,
                              r->ciphertext.len);
    if (rc == MOMEDO_E_DENIED)
      reason_set(why, why_cap, "the write key given is not this mailbox's");
    else if (rc < 0)
      reason_set(why, why_cap, "the post is not signed with the mailbox's write key");
    if (rc < 0) return rc;
  } else if (locked) {
    reason_set(why, why_cap, "this mailbox takes posts only with its write key");
    return MOMEDO_E_DENIED;
  }
  int rc = poster_take(c, mb, now, why, why_cap);
  if (rc == 0 && given) rc = lock_note(n, mb, r->write_key.data, now);
  return rc;
}

int node__guard_fetch(struct conn *c, const uint8_t mailbox[static 32],
                      const ProtobufCBinaryData *wk, const ProtobufCBinaryData *tag, char *why,
                      size_t why_cap) {
  uint8_t mb[32];
  int given = proof_given(wk, tag, why, why_cap);
  if (given <= 0) return given;
  int rc = mbox_write_mailbox(mb, wk->data, tag->data);
  if (rc < 0) return rc;
  if (memcmp(mb, mailbox, 32) != 0) {
    reason_set(why, why_cap, "the write key given is not this mailbox's");
    return MOMEDO_E_DENIED;
  }
  if (node__is_device_mailbox(c->n, mailbox)) return 0;
  return lock_note(c->n, mailbox, wk->data, node__now_ms());
}

/* ---- dropping locks nobody used for an item lifetime ---- */

struct sweep_ctx {
  struct store_batch *b;
  uint64_t before_ms;
  size_t dropped;
};

static int sweep_one(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct sweep_ctx *s = vctx;
  if (vn == LOCK_REC_LEN && be64_get(v + 32) >= s->before_ms) return 0;
  if (store_batch_del(s->b, k, kn) == 0) s->dropped++;
  return store_batch_count(s->b) >= NODE_GUARD_SWEEP_BATCH ? 1 : 0;
}

void node__guard_sweep(struct node *n, uint64_t now) {
  struct node_guard *gd = guard_of(n);
  uint64_t life = ((uint64_t)n->cfg.item_ttl_days_max + 1) * DAY_MS;
  if (gd == NULL || now < gd->next_sweep_ms || now < life) return;
  gd->next_sweep_ms = now + GUARD_SWEEP_MS;
  struct sweep_ctx s = {store_batch_new(), now - life, 0};
  if (s.b == NULL) return;
  int rc = node__iter_tag(n, NODE_K_WRITELOCK, sweep_one, &s);
  if (rc >= 0 && store_batch_count(s.b) > 0) rc = store_write(n->store, s.b);
  if (rc < 0) node_log(NODE_LOG_WARN, "mailbox locks: sweep failed: %s", momedo_strerror(rc));
  else if (s.dropped) node_log(NODE_LOG_DEBUG, "mailbox locks: %zu unused ones dropped", s.dropped);
  store_batch_free(s.b);
}
