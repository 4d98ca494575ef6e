/* node/register.c — invite tokens and the registrations they admit: issue an invite
 * (its token stored hashed under 'N' 'i', with uses left and expiry), count the live
 * ones, and register a device by consuming one use in the same atomic write as the
 * device record. Never stores a token in the clear and never logs one. Device records
 * themselves: devices.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "invite.h"
#include "node_int.h"

#define INVITE_REC_LEN (4 + 8) /* uses_left(be32) expires_ms(be64) */
_Static_assert(NODE_INVITE_CODE_MAX >= INVITE_STR_MAX, "invite code buffer");

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
  node__key_tag(k, NODE_K_INVITE);
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

/* Both keys must have signed this registration for this node and this token: nobody
 * registers a device or an identity key they do not hold. */
static int register_signed(struct node *n, const Momedo__RegisterReq *r, const uint8_t *tok,
                           char *why, size_t why_cap) {
  uint8_t msg[INVITE_REGISTER_MSG_LEN];
  if (r->device_signature.len != CRYPTO_SIG_LEN || r->identity_signature.len != CRYPTO_SIG_LEN) {
    reason_set(why, why_cap,
               "the registration is not signed by the device and identity keys (an older "
               "client? update it)");
    return MOMEDO_E_AUTH;
  }
  int rc = invite_register_msg(msg, n->id.kp.pub, tok, r->device_key.data, r->identity_key.data);
  if (rc) return rc;
  if (crypto_verify(r->device_signature.data, msg, sizeof msg, r->device_key.data) != 0) {
    reason_set(why, why_cap, "the device key did not sign this registration");
    return MOMEDO_E_AUTH;
  }
  if (crypto_verify(r->identity_signature.data, msg, sizeof msg, r->identity_key.data) != 0) {
    reason_set(why, why_cap, "the identity key did not sign this registration");
    return MOMEDO_E_AUTH;
  }
  return 0;
}

int node__register(struct node *n, const Momedo__RegisterReq *r, char *why, size_t why_cap) {
  uint8_t tok[NODE_INVITE_TOKEN_BYTES], ik[OBJ_KEY_LEN];
  uint8_t ki[2 + CRYPTO_HASH_LEN], kd[2 + OBJ_KEY_LEN], vd[NODE_DEVICE_REC_LEN];
  void *v = NULL;
  size_t vn = 0;
  struct store_batch *b = NULL;
  const char *token = r->invite_token;
  const uint8_t *device_key = r->device_key.data, *identity_key = r->identity_key.data;
  if (!token || invite_token_parse(tok, token) != 0) {
    reason_set(why, why_cap, "the invite token is malformed (expected %d hex digits)",
               2 * NODE_INVITE_TOKEN_BYTES);
    return MOMEDO_E_AUTH;
  }
  int rc = register_signed(n, r, tok, why, why_cap);
  if (rc) goto out;
  rc = node__device_removed(n, device_key);
  if (rc) {
    if (rc == 1) reason_set(why, why_cap, NODE_DEVICE_REMOVED_WHY);
    rc = rc == 1 ? MOMEDO_E_AUTH : rc;
    goto out;
  }
  rc = node__device_get(n, device_key, ik, NULL);
  if (rc == 0) {
    if (memcmp(ik, identity_key, OBJ_KEY_LEN) == 0) goto out; /* retry: already done */
    reason_set(why, why_cap, "this device key is already registered to another identity");
    rc = MOMEDO_E_EXISTS;
    goto out;
  }
  if (rc != MOMEDO_E_NOTFOUND) goto out;
  node__key_tag(ki, NODE_K_INVITE);
  if ((rc = crypto_sha256(ki + 2, tok, sizeof tok)) != 0) goto out;
  rc = store_get(n->store, ki, sizeof ki, &v, &vn);
  if (rc == MOMEDO_E_NOTFOUND) {
    reason_set(why, why_cap,
               "unknown invite token (ask the node's administrator for a new invite)");
    rc = MOMEDO_E_AUTH;
    goto out;
  }
  if (rc) goto out;
  if (vn != INVITE_REC_LEN) {
    rc = MOMEDO_E_CORRUPT;
    goto out;
  }
  uint32_t uses = be32_get(v);
  uint64_t expires = be64_get((uint8_t *)v + 4);
  if (expires <= node__now_ms()) {
    reason_set(why, why_cap, "this invite has expired");
    rc = store_del1(n->store, ki, sizeof ki);
    if (rc == 0) rc = MOMEDO_E_AUTH;
    goto out;
  }
  if (uses == 0) {
    reason_set(why, why_cap, "this invite has been used up");
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
  node__key_tag(kd, NODE_K_DEVICE);
  memcpy(kd + 2, device_key, OBJ_KEY_LEN);
  memcpy(vd, identity_key, OBJ_KEY_LEN);
  be64_put(vd + OBJ_KEY_LEN, node__now_ms());
  /* A used-up invite stays until it expires, so a late user hears "used up". */
  rc = store_batch_put(b, ki, sizeof ki, v, vn);
  if (!rc) rc = store_batch_put(b, kd, sizeof kd, vd, sizeof vd);
  uint8_t km[2 + OBJ_MAILBOX_LEN];
  node__key_tag(km, NODE_K_DEVMBOX);
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

uint32_t node__invites_active(struct node *n) {
  struct count_ctx c = {node__now_ms(), 0};
  (void)node__iter_tag(n, NODE_K_INVITE, count_invite, &c);
  return c.n;
}
