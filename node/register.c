/* node/invite.c — node-local records in the store under the 'N' prefix: invite tokens
 * (hashed, with uses left and expiry, consumed atomically with the registration they
 * allow), registered devices; issuing aliases (the lookup indexes for user IDs and
 * aliases belong to replication's layout, written with the object). Never stores a
 * token in the clear and never logs one. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "ids.h"
#include "invite.h"
#include "log.h"
#include "node_int.h"

#define DEVICE_REC_LEN (OBJ_KEY_LEN + 8)
#define INVITE_REC_LEN (4 + 8) /* uses_left(be32) expires_ms(be64) */
_Static_assert(NODE_INVITE_CODE_MAX >= INVITE_STR_MAX, "invite code buffer");

static void key2(uint8_t *k, char tag) {
  k[0] = NODE_K_PREFIX;
  k[1] = (uint8_t)tag;
}

/* Host for invite codes when listening on a wildcard address. */
static void invite_host(struct node *n, char *host, size_t cap) {
  const char *h = n->cfg.listen_host;
  size_t hn = strlen(h);
  if (strcmp(h, "0.0.0.0") != 0 && strcmp(h, "::") != 0 && hn < cap) {
    memcpy(host, h, hn + 1);
    return;
  }
  if (gethostname(host, cap) != 0 || !host[0]) snprintf(host, cap, "localhost");
  host[cap - 1] = 0;
}

int node__invite_create(struct node *n, uint32_t uses, uint64_t ttl_s, const char *address,
                        Momedo__InviteResp *out, char code[static NODE_INVITE_CODE_MAX],
                        char token_hex[static 2 * NODE_INVITE_TOKEN_BYTES + 1],
                        char addr[static NODE_HOSTPORT_CHARS_MAX + 3]) {
  struct invite ic;
  uint8_t k[2 + CRYPTO_HASH_LEN], v[INVITE_REC_LEN];
  char host[INVITE_HOST_CHARS_MAX + 1];
  uint16_t port = n->cfg.listen_port;
  if (uses == 0) uses = 1;
  if (ttl_s == 0) ttl_s = NODE_INVITE_TTL_S_DEFAULT;
  if (uses > NODE_INVITE_USES_MAX || ttl_s > NODE_INVITE_TTL_S_MAX) return MOMEDO_E_INVAL;
  if (address && *address) {
    char h[NODE_HOST_CHARS_MAX + 1];
    if (node_hostport_parse(address, h, &port) != 0 || strlen(h) > INVITE_HOST_CHARS_MAX)
      return MOMEDO_E_INVAL;
    snprintf(host, sizeof host, "%s", h);
  } else {
    invite_host(n, host, sizeof host);
  }
  memset(&ic, 0, sizeof ic);
  memcpy(ic.node_key, n->id.kp.pub, INVITE_KEY_LEN);
  snprintf(ic.host, sizeof ic.host, "%s", host);
  ic.port = port;
  int rc = crypto_random(ic.token, sizeof ic.token);
  if (rc) return rc;
  uint64_t expires = node__now_ms() + ttl_s * 1000;
  key2(k, NODE_K_INVITE);
  rc = crypto_sha256(k + 2, ic.token, sizeof ic.token);
  if (rc) return rc;
  be32_put(v, uses);
  be64_put(v + 4, expires);
  rc = store_put1(n->store, k, sizeof k, v, sizeof v);
  if (rc) return rc;
  rc = invite_encode(code, NODE_INVITE_CODE_MAX, &ic);
  if (rc) return rc;
  invite_token_to_hex(token_hex, ic.token);
  int v6 = strchr(ic.host, ':') != NULL;
  snprintf(addr, NODE_HOSTPORT_CHARS_MAX + 3, "%s%s%s:%u", v6 ? "[" : "", ic.host,
           v6 ? "]" : "", (unsigned)ic.port);
  crypto_wipe(&ic, sizeof ic);
  out->uses = uses;
  out->expires_ms = expires;
  return 0;
}

int node__device_get(struct node *n, const uint8_t device_key[32], uint8_t identity_key[32],
                     uint64_t *registered_ms) {
  uint8_t k[2 + OBJ_KEY_LEN];
  void *v = NULL;
  size_t vn = 0;
  key2(k, NODE_K_DEVICE);
  memcpy(k + 2, device_key, OBJ_KEY_LEN);
  int rc = store_get(n->store, k, sizeof k, &v, &vn);
  if (rc) return rc;
  if (vn != DEVICE_REC_LEN) {
    free(v);
    return MOMEDO_E_CORRUPT;
  }
  if (identity_key) memcpy(identity_key, v, OBJ_KEY_LEN);
  if (registered_ms) *registered_ms = be64_get((uint8_t *)v + OBJ_KEY_LEN);
  free(v);
  return 0;
}

int node__device_removed(struct node *n, const uint8_t device_key[32]) {
  uint8_t k[2 + OBJ_KEY_LEN];
  void *v = NULL;
  size_t vn = 0;
  key2(k, NODE_K_REMOVED);
  memcpy(k + 2, device_key, OBJ_KEY_LEN);
  int rc = store_get(n->store, k, sizeof k, &v, &vn);
  free(v);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  return rc ? rc : 1;
}

#define WHY(...) snprintf(why, why_cap, __VA_ARGS__)

int node__register(struct node *n, const char *token, const uint8_t device_key[32],
                   const uint8_t identity_key[32], char *why, size_t why_cap) {
  uint8_t tok[NODE_INVITE_TOKEN_BYTES], ik[OBJ_KEY_LEN];
  uint8_t ki[2 + CRYPTO_HASH_LEN], kd[2 + OBJ_KEY_LEN], vd[DEVICE_REC_LEN];
  void *v = NULL;
  size_t vn = 0;
  struct store_batch *b = NULL;
  int rc = node__device_removed(n, device_key);
  if (rc) {
    if (rc == 1) WHY(NODE_DEVICE_REMOVED_WHY);
    return rc == 1 ? MOMEDO_E_AUTH : rc;
  }
  rc = node__device_get(n, device_key, ik, NULL);
  if (rc == 0) {
    if (memcmp(ik, identity_key, OBJ_KEY_LEN) == 0) return 0; /* retry: already done */
    WHY("this device key is already registered to another identity");
    return MOMEDO_E_EXISTS;
  }
  if (rc != MOMEDO_E_NOTFOUND) return rc;
  if (!token || invite_token_parse(tok, token) != 0) {
    WHY("the invite token is malformed (expected %d hex digits)", 2 * NODE_INVITE_TOKEN_BYTES);
    return MOMEDO_E_AUTH;
  }
  key2(ki, NODE_K_INVITE);
  if ((rc = crypto_sha256(ki + 2, tok, sizeof tok)) != 0) return rc;
  rc = store_get(n->store, ki, sizeof ki, &v, &vn);
  if (rc == MOMEDO_E_NOTFOUND) {
    WHY("unknown invite token (ask the node's administrator for a new invite)");
    return MOMEDO_E_AUTH;
  }
  if (rc) return rc;
  if (vn != INVITE_REC_LEN) {
    rc = MOMEDO_E_CORRUPT;
    goto out;
  }
  uint32_t uses = be32_get(v);
  uint64_t expires = be64_get((uint8_t *)v + 4);
  if (expires <= node__now_ms()) {
    WHY("this invite has expired");
    rc = store_del1(n->store, ki, sizeof ki);
    if (rc == 0) rc = MOMEDO_E_AUTH;
    goto out;
  }
  if (uses == 0) {
    WHY("this invite has been used up");
    rc = MOMEDO_E_AUTH;
    goto out;
  }
  /* Consume one use and register the device in one atomic write. */
  b = store_batch_new();
  if (!b) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  be32_put(v, uses - 1);
  key2(kd, NODE_K_DEVICE);
  memcpy(kd + 2, device_key, OBJ_KEY_LEN);
  memcpy(vd, identity_key, OBJ_KEY_LEN);
  be64_put(vd + OBJ_KEY_LEN, node__now_ms());
  /* A used-up invite stays until it expires, so a late user hears "used up". */
  rc = store_batch_put(b, ki, sizeof ki, v, vn);
  if (!rc) rc = store_batch_put(b, kd, sizeof kd, vd, sizeof vd);
  uint8_t km[2 + OBJ_MAILBOX_LEN];
  key2(km, NODE_K_DEVMBOX);
  if (!rc) rc = obj_device_mailbox(km + 2, device_key);
  if (!rc) rc = store_batch_put(b, km, sizeof km, "", 0);
  if (!rc) rc = store_write(n->store, b);
out:
  store_batch_free(b);
  free(v);
  crypto_wipe(tok, sizeof tok);
  return rc;
}

struct count_ctx {
  uint64_t now;
  uint32_t n;
};

static int count_invite(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct count_ctx *c = vctx;
  if (vn == INVITE_REC_LEN && be32_get(v) > 0 && be64_get(v + 4) > c->now) c->n++;
  return 0;
}

static int count_any(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  ((struct count_ctx *)vctx)->n++;
  return 0;
}

static int iter_tag(struct node *n, char tag, store_iter_fn fn, void *ctx) {
  uint8_t lo[2], hi[2];
  key2(lo, tag);
  key2(hi, (char)(tag + 1));
  return store_iter(n->store, lo, 2, hi, 2, fn, ctx);
}

uint32_t node__invites_active(struct node *n) {
  struct count_ctx c = {node__now_ms(), 0};
  (void)iter_tag(n, NODE_K_INVITE, count_invite, &c);
  return c.n;
}

uint32_t node__devices_count(struct node *n) {
  struct count_ctx c = {0, 0};
  (void)iter_tag(n, NODE_K_DEVICE, count_any, &c);
  return c.n;
}

struct find_ctx {
  const char *prefix;
  size_t matches;
  uint8_t key[OBJ_KEY_LEN];
};

static int find_device(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct find_ctx *f = vctx;
  char hex[2 * OBJ_KEY_LEN + 1];
  if (kn != 2 + OBJ_KEY_LEN) return 0;
  for (size_t i = 0; i < OBJ_KEY_LEN; i++) snprintf(hex + 2 * i, 3, "%02x", k[2 + i]);
  if (strncasecmp(hex, f->prefix, strlen(f->prefix)) == 0) {
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
  key2(kd, NODE_K_DEVICE);
  memcpy(kd + 2, key, OBJ_KEY_LEN);
  key2(kr, NODE_K_REMOVED);
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
  for (size_t i = 0; i < tl; i++)
    if (!isxdigit((unsigned char)text[i])) {
      snprintf(msg, cap, "'%.64s' is not a device key (hex digits)", text);
      return MOMEDO_E_INVAL;
    }
  int rc = iter_tag(n, NODE_K_DEVICE, find_device, &f);
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

/* ---- device mailboxes and aliases ---- */

int node__is_device_mailbox(struct node *n, const uint8_t mailbox[OBJ_MAILBOX_LEN]) {
  uint8_t k[2 + OBJ_MAILBOX_LEN];
  void *v = NULL;
  size_t vn = 0;
  key2(k, NODE_K_DEVMBOX);
  memcpy(k + 2, mailbox, OBJ_MAILBOX_LEN);
  int rc = store_get(n->store, k, sizeof k, &v, &vn);
  free(v);
  if (rc == 0) return 1;
  /* On a store error, say "private": refusing a read is the safe mistake. */
  rc = repl_is_device_mailbox(n->repl, mailbox);
  return rc != 0;
}

int node__alias_norm(char out[static OBJ_ALIAS_CHARS_MAX + 1], const char *s) {
  size_t o = 0;
  for (; *s; s++) {
    if (*s == '-' || *s == ' ') continue;
    if (o >= OBJ_ALIAS_CHARS_MAX) return MOMEDO_E_INVAL;
    char ch = (char)toupper((unsigned char)*s);
    if (ch == 'O') ch = '0';
    if (ch == 'I' || ch == 'L') ch = '1';
    if (!isalnum((unsigned char)ch)) return MOMEDO_E_INVAL;
    out[o++] = ch;
  }
  out[o] = 0;
  return o >= OBJ_ALIAS_CHARS_MIN ? 0 : MOMEDO_E_INVAL;
}

int node__alias_home_ok(const uint8_t *bundle, size_t len,
                        const uint8_t node_key[static OBJ_KEY_LEN]) {
  struct arena ar;
  ProtobufCMessage *m = NULL;
  arena_init(&ar, OBJ_DECODE_BYTES_MAX);
  int rc = obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, bundle, len, &ar, &m);
  if (rc == 0) {
    const Momedo__KeyBundle *b = (const Momedo__KeyBundle *)m;
    for (size_t i = 0; i < b->n_home_nodes && rc == 0; i++)
      rc = b->home_nodes[i].len == OBJ_KEY_LEN &&
           memcmp(b->home_nodes[i].data, node_key, OBJ_KEY_LEN) == 0;
  }
  arena_close(&ar);
  return rc;
}

static int alias_random(char out[static NODE_ALIAS_CHARS + 1]) {
  static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint8_t r[NODE_ALIAS_CHARS];
  int rc = crypto_random(r, sizeof r);
  if (rc) return rc;
  for (size_t i = 0; i < NODE_ALIAS_CHARS; i++) out[i] = alpha[r[i] & 31];
  out[NODE_ALIAS_CHARS] = 0;
  return 0;
}

/* The string to (re)issue: the user's current alias if a home node issued it (*data
 * set and 0 returned while it has more than a third of its life left), else a fresh
 * string no identity holds here. */
static int alias_choose(struct node *n, const uint8_t identity_key[32], const uint8_t *bundle,
                        size_t blen, uint64_t now, char alias[static OBJ_ALIAS_CHARS_MAX + 1],
                        uint8_t **data, size_t *len) {
  struct obj_info info;
  int rc = repl_alias_of(n->repl, identity_key, now, &info, data, len);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  if (rc == 0 && node__alias_home_ok(bundle, blen, info.signer) == 1) {
    if (info.expires_ms > now + NODE_ALIAS_TTL_MS / 3) return 0;
    snprintf(alias, OBJ_ALIAS_CHARS_MAX + 1, "%s", info.alias); /* renew the same string */
    free(*data);
    *data = NULL;
    return 0;
  }
  if (rc == 0) free(*data);
  *data = NULL;
  for (int i = 0; i < NODE_ALIAS_TRIES_MAX; i++) {
    uint8_t *d = NULL;
    size_t dn = 0;
    if ((rc = alias_random(alias)) != 0) return rc;
    rc = repl_alias_lookup(n->repl, alias, now, NULL, &d, &dn);
    free(d);
    if (rc == MOMEDO_E_NOTFOUND) return 0;
    if (rc) return rc;
  }
  return MOMEDO_E_EXISTS;
}

int node__alias_issue(struct node *n, const uint8_t identity_key[32], const uint8_t *bundle,
                      size_t blen, uint8_t **data, size_t *len) {
  char alias[OBJ_ALIAS_CHARS_MAX + 1];
  uint64_t now = node__now_ms();
  *data = NULL;
  int rc = alias_choose(n, identity_key, bundle, blen, now, alias, data, len);
  if (rc || *data) return rc;
  Momedo__Alias al = MOMEDO__ALIAS__INIT;
  struct obj_info info;
  al.format = OBJ_FORMAT;
  al.alias = alias;
  al.identity_key = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)identity_key};
  al.created_ms = now;
  al.expires_ms = now + NODE_ALIAS_TTL_MS;
  al.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, n->id.kp.pub};
  rc = obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_ALIAS, &al.base, &n->id.kp, data, len);
  if (rc) return rc;
  /* Stored with its lookup entries in one batch by replication. */
  rc = repl_insert_local(n->repl, MOMEDO__OBJECT_KIND__OBJ_ALIAS, *data, *len, now, &info);
  node__drain(n);
  if (rc) {
    free(*data);
    *data = NULL;
  }
  return rc;
}

/* ---- upgrade ---- */

struct drop_ctx {
  struct store *s;
  struct store_batch *b;
  uint64_t n;
};

static int drop_one(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct drop_ctx *d = vctx;
  (void)v, (void)vn;
  int rc = store_batch_del(d->b, k, kn);
  d->n++;
  if (rc == 0 && store_batch_count(d->b) >= NODE_LEGACY_DROP_BATCH) {
    rc = store_write(d->s, d->b);
    store_batch_clear(d->b);
  }
  return rc;
}

int node__legacy_index_drop(struct node *n) {
  static const char tags[] = {NODE_K_LEGACY_USERID, NODE_K_LEGACY_ALIAS, NODE_K_LEGACY_ALIAS_OF};
  struct drop_ctx d = {.s = n->store, .b = store_batch_new(), .n = 0};
  int rc = d.b ? 0 : MOMEDO_E_NOMEM;
  for (size_t i = 0; i < sizeof tags && rc == 0; i++) rc = iter_tag(n, tags[i], drop_one, &d);
  if (rc == 0) rc = store_write(n->store, d.b);
  store_batch_free(d.b);
  if (rc) node_log(NODE_LOG_ERROR, "cannot drop old lookup indexes: %s", momedo_strerror(rc));
  else if (d.n) node_log(NODE_LOG_INFO, "dropped %llu entries of old node-side lookup indexes",
                         (unsigned long long)d.n);
  return rc;
}
