/* node/alias.c — the short aliases this node issues to its users: normalise a typed
 * alias, check that an alias's signer is one of the user's home nodes, and issue (reuse,
 * renew or draw fresh) a signed Alias object, stored through replication with its
 * lookup entries. Holds no state of its own. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "node_int.h"

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
  struct obj_checked ck;
  int rc = obj_read(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, bundle, len, &ck); /* stored: checked */
  for (uint32_t i = 0; rc == 0 && i < ck.bundle.n_home_nodes; i++)
    rc = memcmp(ck.bundle.home_node[i], node_key, OBJ_KEY_LEN) == 0;
  return rc;
}

static int alias_random(char out[static NODE_ALIAS_CHARS + 1]) {
  uint8_t r[NODE_ALIAS_CHARS];
  int rc = crypto_random(r, sizeof r);
  if (rc) return rc;
  for (size_t i = 0; i < NODE_ALIAS_CHARS; i++) out[i] = IDS_B32_ALPHABET[r[i] & 31];
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
  /* The alias goes where the bundle goes: its home nodes (sorted, as obj_check gives them). */
  struct obj_checked *ck = malloc(sizeof *ck);
  ProtobufCBinaryData dests[OBJ_DEST_NODES_MAX];
  if (!ck) return MOMEDO_E_NOMEM;
  rc = obj_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, bundle, blen, now, NULL, NULL, ck);
  for (uint32_t i = 0; rc == 0 && i < ck->n_dests; i++)
    dests[i] = (ProtobufCBinaryData){OBJ_KEY_LEN, ck->dests[i]};
  al.n_dest_nodes = rc == 0 ? ck->n_dests : 0;
  al.dest_nodes = al.n_dest_nodes ? dests : NULL;
  if (rc) {
    free(ck);
    return rc;
  }
  al.format = OBJ_FORMAT;
  al.alias = alias;
  al.identity_key = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)identity_key};
  al.created_ms = now;
  al.expires_ms = now + NODE_ALIAS_TTL_MS;
  al.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, n->id.kp.pub};
  rc = obj_sign_encode_with(MOMEDO__OBJECT_KIND__OBJ_ALIAS, &al.base, node__sign, n, data, len);
  free(ck);
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
