/* node/devices.c — the node's registered devices (node-local records 'N' 'd', written
 * by registration in register.c) and the admin's removals ('N' 'r', kept for good so a
 * removed device is not admitted again): look one up, count them, remove one by key
 * prefix (closing its sessions), and tell device mailboxes from others. Logs only key
 * prefixes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "hex.h"
#include "log.h"
#include "node_int.h"

_Static_assert(OBJ_KEY_LEN == 32 && OBJ_MAILBOX_LEN == 32, "record keys are 32 bytes");

int node__device_get(struct node *n, const uint8_t device_key[32], uint8_t identity_key[32],
                     uint64_t *registered_ms) {
  uint8_t k[2 + OBJ_KEY_LEN];
  void *v = NULL;
  size_t vn = 0;
  node__key_tag(k, NODE_K_DEVICE);
  memcpy(k + 2, device_key, OBJ_KEY_LEN);
  int rc = store_get(n->store, k, sizeof k, &v, &vn);
  if (rc) return rc;
  if (vn != NODE_DEVICE_REC_LEN) {
    free(v);
    return MOMEDO_E_CORRUPT;
  }
  if (identity_key) memcpy(identity_key, v, OBJ_KEY_LEN);
  if (registered_ms) *registered_ms = be64_get((uint8_t *)v + OBJ_KEY_LEN);
  free(v);
  return 0;
}

/* 1 if the node-local record tag + key(32) exists, 0 if not, negative on a store error. */
static int record_has(struct node *n, char tag, const uint8_t key[32]) {
  uint8_t k[2 + 32];
  void *v = NULL;
  size_t vn = 0;
  node__key_tag(k, tag);
  memcpy(k + 2, key, 32);
  int rc = store_get(n->store, k, sizeof k, &v, &vn);
  free(v);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  return rc ? rc : 1;
}

int node__device_removed(struct node *n, const uint8_t device_key[32]) {
  return record_has(n, NODE_K_REMOVED, device_key);
}

static int count_any(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  (*(uint32_t *)vctx)++;
  return 0;
}

uint32_t node__devices_count(struct node *n) {
  uint32_t count = 0;
  (void)node__iter_tag(n, NODE_K_DEVICE, count_any, &count);
  return count;
}

struct find_ctx {
  const char *prefix;
  size_t matches;
  uint8_t key[OBJ_KEY_LEN];
};

static int find_device(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct find_ctx *f = vctx;
  if (kn != 2 + OBJ_KEY_LEN) return 0;
  if (hex_has_prefix(k + 2, OBJ_KEY_LEN, f->prefix)) {
    if (f->matches++ == 0) memcpy(f->key, k + 2, OBJ_KEY_LEN);
  }
  return 0;
}

/* Delete the registration and remember the removal in one write, so the device is not
 * admitted again through its user's key bundle (nor a later invite). */
static int device_forget(struct node *n, const uint8_t key[OBJ_KEY_LEN]) {
  uint8_t kd[2 + OBJ_KEY_LEN], kr[2 + OBJ_KEY_LEN], when[8];
  struct store_batch *b = store_batch_new();
  if (!b) return MOMEDO_E_NOMEM;
  node__key_tag(kd, NODE_K_DEVICE);
  memcpy(kd + 2, key, OBJ_KEY_LEN);
  node__key_tag(kr, NODE_K_REMOVED);
  memcpy(kr + 2, key, OBJ_KEY_LEN);
  be64_put(when, node__now_ms());
  int rc = store_batch_del(b, kd, sizeof kd);
  if (!rc) rc = store_batch_put(b, kr, sizeof kr, when, sizeof when);
  if (!rc) rc = store_write(n->store, b);
  store_batch_free(b);
  return rc;
}

int node__device_remove(struct node *n, const char *text, char *msg, size_t cap) {
  struct find_ctx f = {.prefix = text};
  size_t tl = strlen(text);
  if (tl < 8 || tl > 2 * OBJ_KEY_LEN) {
    snprintf(msg, cap, "give the device key (64 hex digits) or at least its first 8 digits");
    return MOMEDO_E_INVAL;
  }
  if (!hex_is_digits(text, tl)) {
    snprintf(msg, cap, "'%.64s' is not a device key (hex digits)", text);
    return MOMEDO_E_INVAL;
  }
  int rc = node__iter_tag(n, NODE_K_DEVICE, find_device, &f);
  if (rc) return rc;
  if (f.matches == 0) {
    snprintf(msg, cap, "no registered device starts with %.64s", text);
    return MOMEDO_E_NOTFOUND;
  }
  if (f.matches > 1) {
    snprintf(msg, cap, "%zu devices start with %.64s; give more digits", f.matches, text);
    return MOMEDO_E_INVAL;
  }
  rc = device_forget(n, f.key);
  if (rc) return rc;
  /* Connections of that device lose their session now. */
  for (struct conn *c = n->conns; c; c = c->next)
    if (c->role == CONN_CLIENT && c->authed && memcmp(c->device_key, f.key, OBJ_KEY_LEN) == 0)
      node__conn_close(c, MOMEDO_E_DENIED, "device removed by the node administrator");
  char pre[NODE_KEY_PREFIX_LEN + 1];
  node_key_prefix(f.key, pre);
  node_log(NODE_LOG_INFO, "participant removed: device %s", pre);
  snprintf(msg, cap, "Removed device %s. It can no longer post or fetch on this node.", pre);
  return 0;
}

int node__is_device_mailbox(struct node *n, const uint8_t mailbox[OBJ_MAILBOX_LEN]) {
  if (record_has(n, NODE_K_DEVMBOX, mailbox) == 1) return 1;
  /* On a store error, say "private": refusing a read is the safe mistake. */
  return repl_is_device_mailbox(n->repl, mailbox) != 0;
}
