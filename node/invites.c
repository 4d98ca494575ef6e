/* node/invites.c — the open invites as the admin sees them: each named by an ID (the
 * first NODE_INVITE_ID_BYTES of its token's hash, in hex: the token itself is never
 * stored), listed with its uses left and expiry, and revoked by that ID or a unique
 * prefix of it. Issuing and consuming invites: register.c. Never logs a token. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "hex.h"
#include "invite.h"
#include "log.h"
#include "node_int.h"

#define INVITE_REC_LEN (4 + 8)     /* register.c: uses_left(be32) expires_ms(be64) */
#define INVITE_ID_PREFIX_MIN 6     /* hex digits that name an invite for revoke */
#define INVITES_LISTED_MAX 10000   /* one list answer */

void node__invite_id(const uint8_t hash[static CRYPTO_HASH_LEN],
                     char out[static 2 * NODE_INVITE_ID_BYTES + 1]) {
  hex_encode(out, 2 * NODE_INVITE_ID_BYTES + 1, hash, NODE_INVITE_ID_BYTES);
}

int node__invite_id_of_token(const char *token_hex, char out[static 2 * NODE_INVITE_ID_BYTES + 1]) {
  uint8_t tok[NODE_INVITE_TOKEN_BYTES], h[CRYPTO_HASH_LEN];
  int rc = invite_token_parse(tok, token_hex);
  if (!rc) rc = crypto_sha256(h, tok, sizeof tok);
  crypto_wipe(tok, sizeof tok);
  if (!rc) node__invite_id(h, out);
  return rc;
}

struct ilist {
  struct node *n;
  uint64_t now;
  Momedo__InviteInfo **v;
  size_t count, cap;
  /* revoke: */
  const char *prefix;
  size_t matches;
  uint8_t key[2 + CRYPTO_HASH_LEN];
};

/* An open invite's record: its hash, uses left and expiry; 0 if it is not open. */
static int open_invite(const struct ilist *l, const uint8_t *k, size_t kn, const uint8_t *v,
                       size_t vn, uint32_t *uses, uint64_t *expires) {
  if (kn != 2 + CRYPTO_HASH_LEN || vn != INVITE_REC_LEN) return 0;
  *uses = be32_get(v);
  *expires = be64_get(v + 4);
  return *uses > 0 && *expires > l->now;
}

static int list_one(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct ilist *l = ctx;
  uint32_t uses;
  uint64_t expires;
  if (!open_invite(l, k, kn, v, vn, &uses, &expires)) return 0;
  if (l->count >= INVITES_LISTED_MAX) return 1;
  if (l->count == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 16;
    Momedo__InviteInfo **nv = arena_alloc(&l->n->arena, nc * sizeof *nv);
    if (!nv) return MOMEDO_E_NOMEM;
    if (l->count) memcpy(nv, l->v, l->count * sizeof *nv);
    l->v = nv;
    l->cap = nc;
  }
  Momedo__InviteInfo *x = arena_alloc(&l->n->arena, sizeof *x);
  char *id = arena_alloc(&l->n->arena, 2 * NODE_INVITE_ID_BYTES + 1);
  if (!x || !id) return MOMEDO_E_NOMEM;
  momedo__invite_info__init(x);
  node__invite_id(k + 2, id);
  x->id = id;
  x->uses_left = uses;
  x->expires_ms = expires;
  l->v[l->count++] = x;
  return 0;
}

int node__invites_list(struct node *n, Momedo__InviteListResp *out) {
  struct ilist l = {.n = n, .now = node__now_ms()};
  int rc = node__iter_tag(n, NODE_K_INVITE, list_one, &l);
  if (rc < 0) return rc;
  out->invites = l.v;
  out->n_invites = l.count;
  return 0;
}

static int match_one(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct ilist *l = ctx;
  uint32_t uses;
  uint64_t expires;
  char id[2 * NODE_INVITE_ID_BYTES + 1];
  if (!open_invite(l, k, kn, v, vn, &uses, &expires)) return 0;
  node__invite_id(k + 2, id);
  if (strncmp(id, l->prefix, strlen(l->prefix)) != 0) return 0;
  if (l->matches++ == 0) memcpy(l->key, k, sizeof l->key);
  return 0;
}

int node__invite_revoke(struct node *n, const char *id, char *why, size_t why_cap) {
  char low[2 * NODE_INVITE_ID_BYTES + 1];
  size_t len = strlen(id);
  if (len < INVITE_ID_PREFIX_MIN || len > 2 * NODE_INVITE_ID_BYTES) {
    snprintf(why, why_cap, "an invite ID is %d to %d hex digits (see: momedo-admin invites)",
             INVITE_ID_PREFIX_MIN, 2 * NODE_INVITE_ID_BYTES);
    return MOMEDO_E_INVAL;
  }
  for (size_t i = 0; i <= len; i++) low[i] = (char)tolower((unsigned char)id[i]);
  if (strspn(low, "0123456789abcdef") != len) {
    snprintf(why, why_cap, "'%.20s' is not an invite ID (hex digits)", id);
    return MOMEDO_E_INVAL;
  }
  struct ilist l = {.n = n, .now = node__now_ms(), .prefix = low};
  int rc = node__iter_tag(n, NODE_K_INVITE, match_one, &l);
  if (rc < 0) return rc;
  if (l.matches == 0) {
    snprintf(why, why_cap, "no open invite has the ID '%s' (see: momedo-admin invites)", low);
    return MOMEDO_E_NOTFOUND;
  }
  if (l.matches > 1) {
    snprintf(why, why_cap, "'%s' names %zu open invites: give more digits", low, l.matches);
    return MOMEDO_E_INVAL;
  }
  if ((rc = store_del1(n->store, l.key, sizeof l.key)) != 0) return rc;
  char full[2 * NODE_INVITE_ID_BYTES + 1];
  node__invite_id(l.key + 2, full);
  node_log(NODE_LOG_INFO, "invite %s revoked", full);
  snprintf(why, why_cap, "Revoked invite %s: its code registers no device any more.", full);
  return 0;
}
