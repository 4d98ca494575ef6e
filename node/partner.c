/* node/partner.c — partner consent (issue 11, finding 7; docs/security.md "Partners"):
 * the grants this node signs for the users it registered, one per partner configured in
 * neighbors.conf (RegisterResp, PartnersResp), and the check a node runs before it acts
 * as a home for a user's device it did not register: a grant for this node, unexpired,
 * signed by a node it configured as a partner. Logs only key prefixes. */
#include <stdio.h>
#include <string.h>

#include "grant.h"
#include "ids.h"
#include "node_int.h"

static int peer_is_partner(const struct peer *p) {
  return !p->removed && p->key_known && p->cfg.partner;
}

int node__partner_list(struct node *n, const uint8_t identity_key[static OBJ_KEY_LEN],
                       Momedo__NodeAddr ***out, size_t *n_out) {
  size_t np = 0;
  uint64_t expires = node__now_ms() + (uint64_t)n->cfg.partner_grant_ttl_s * 1000;
  *out = NULL;
  *n_out = 0;
  for (struct peer *p = n->peers; p; p = p->next) np += peer_is_partner(p);
  Momedo__NodeAddr **v = arena_alloc(&n->arena, (np + 1) * sizeof *v);
  if (!v) return MOMEDO_E_NOMEM;
  for (struct peer *p = n->peers; p; p = p->next) {
    if (!peer_is_partner(p)) continue;
    Momedo__NodeAddr *a = arena_alloc(&n->arena, sizeof *a);
    Momedo__PartnerGrant *gm = arena_alloc(&n->arena, sizeof *gm);
    struct grant *g = arena_alloc(&n->arena, sizeof *g);
    char *addr = arena_alloc(&n->arena, NODE_HOSTPORT_CHARS_MAX + 3);
    if (!a || !gm || !g || !addr) return MOMEDO_E_NOMEM;
    momedo__node_addr__init(a);
    int v6 = strchr(p->cfg.host, ':') != NULL;
    snprintf(addr, NODE_HOSTPORT_CHARS_MAX + 3, "%s%s%s:%u", v6 ? "[" : "", p->cfg.host,
             v6 ? "]" : "", (unsigned)p->cfg.port);
    a->address = addr;
    a->node_key = (ProtobufCBinaryData){NODE_KEY_LEN, p->key};
    memcpy(g->partner, p->key, NODE_KEY_LEN);
    g->expires_ms = expires;
    int rc = grant_sign(g, identity_key, &n->id.kp);
    if (rc) return rc;
    grant_to_msg(gm, g);
    a->grant = gm;
    v[(*n_out)++] = a;
  }
  *out = v;
  return 0;
}

/* Is home a node this node configured as a partner (neighbors.conf "partner")? By the
 * pinned fingerprint, so a partner not yet seen on a link counts too. */
static int configured_partner(struct node *n, const uint8_t home[static OBJ_KEY_LEN]) {
  uint8_t fp[NODE_FP_BYTES];
  if (ids_node_fp_bytes(fp, home) != 0) return 0;
  for (struct peer *p = n->peers; p; p = p->next)
    if (!p->removed && p->cfg.partner && memcmp(p->cfg.fp, fp, NODE_FP_BYTES) == 0) return 1;
  return 0;
}

/* 1 if a device the bundle lists was registered here (with an invite) for this user: this
 * node is a home of the user's own choosing. 0 if none; negative on a store error. */
static int registered_here(struct node *n, const uint8_t identity_key[static OBJ_KEY_LEN],
                           const struct obj_bundle_fields *b) {
  for (uint32_t i = 0; i < b->n_devices; i++) {
    uint8_t ik[OBJ_KEY_LEN];
    int rc = node__device_get(n, b->device_key[i], ik, NULL);
    if (rc == MOMEDO_E_NOTFOUND) continue;
    if (rc) return rc;
    if (memcmp(ik, identity_key, OBJ_KEY_LEN) == 0) return 1;
  }
  return 0;
}

int node__partner_admits(struct node *n, const uint8_t identity_key[static OBJ_KEY_LEN],
                         const struct obj_bundle_fields *b, char *why, size_t why_cap) {
  int rc = registered_here(n, identity_key, b);
  if (rc) return rc < 0 ? rc : 0;
  uint64_t now = node__now_ms();
  const char *seen = "carries no partner grant for this node";
  for (uint32_t i = 0; i < b->n_grants; i++) {
    const struct grant *g = &b->grants[i];
    if (memcmp(g->partner, n->id.kp.pub, OBJ_KEY_LEN) != 0) continue;
    if (!configured_partner(n, g->home)) {
      seen = "carries a partner grant for this node by a node this node has not configured "
             "as a partner";
    } else if (grant_verify(g, identity_key) != 0) {
      seen = "carries a partner grant for this node whose signature does not verify";
    } else if (g->expires_ms <= now) {
      seen = "carries an expired partner grant for this node (the user's first device renews "
             "it at its next sync with its home node)";
    } else {
      return 0;
    }
  }
  reason_set(why, why_cap,
             "this device is not registered on this node and its user's key bundle %s", seen);
  n->counters.partner_refused++;
  return MOMEDO_E_AUTH;
}

int node__c_partners(struct conn *c, const Momedo__ClientRequest *rq,
                     Momedo__ClientResponse *rs, char *why, size_t why_cap) {
  struct node *n = c->n;
  uint8_t ik[OBJ_KEY_LEN];
  (void)rq;
  if (!c->authed) return reason_fail(why, why_cap, MOMEDO_E_AUTH, "authenticate first");
  /* Only a node the user chose (with an invite) speaks for it: not a partner. */
  int rc = node__device_get(n, c->device_key, ik, NULL);
  if (rc == MOMEDO_E_NOTFOUND || (rc == 0 && memcmp(ik, c->identity_key, OBJ_KEY_LEN) != 0))
    return reason_fail(why, why_cap, MOMEDO_E_DENIED,
                       "partner grants come from the node this device registered with");
  if (rc) return rc;
  Momedo__PartnersResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__partners_resp__init(out);
  rc = node__partner_list(n, c->identity_key, &out->partners, &out->n_partners);
  if (rc) return rc;
  rs->body_case = MOMEDO__CLIENT_RESPONSE__BODY_PARTNERS;
  rs->partners = out;
  return 0;
}
