/* client/core/engine_grant.c — partners and their grants (docs/security.md "Partners"): learn
 * the partners a home node names (at join, and when renewing) with the grant it signed
 * for this user at each, keep only grants that verify, and renew them at the home node
 * before they expire (at most once a day unless one runs short), republishing the key
 * bundle when a grant changed. Only the device holding the identity key does this. */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"
#include "grant.h"

int eng__learn_partners(struct eng_state *st, const uint8_t home[static 32],
                        Momedo__NodeAddr *const *v, size_t n, int *changed) {
  *changed = 0;
  for (size_t i = 0; i < n; i++) {
    const Momedo__NodeAddr *a = v[i];
    char host[TRANSPORT_HOST_CHARS_MAX + 1];
    uint16_t port;
    struct grant g;
    int ch = 0;
    if (a->node_key.len != 32 || !a->address ||
        transport_parse_hostport(a->address, host, sizeof host, &port) != 0)
      continue; /* a malformed partner entry is skipped, not fatal */
    if (account_add_partner(&st->acct, host, port, a->node_key.data) != 0) continue;
    /* A grant counts only if the node that named the partner signed it for this user
     * and that very partner: anything else would be refused by the partner anyway. */
    if (!a->grant || grant_from_msg(&g, a->grant) != 0 || memcmp(g.home, home, 32) != 0 ||
        memcmp(g.partner, a->node_key.data, 32) != 0 ||
        grant_verify(&g, st->acct.identity.pub) != 0)
      continue;
    if (account_put_grant(&st->acct, &g, &ch) != 0) continue;
    *changed |= ch;
  }
  return 0;
}

int eng__grants_renew(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  const Momedo__PartnersResp *r = NULL;
  uint64_t now = os_wall_ms();
  int changed = 0;
  if (cn->node != 0 || !account_grants_due(&st->acct, now)) return 0;
  int rc = nodeapi_partners(&cn->api, &r);
  if (rc == MOMEDO_E_UNKNOWN_KIND) return 0; /* a node without partner grants */
  if (rc) return eng_api_fail(c, cn, rc, "asking the home node for partner grants");
  rc = eng__learn_partners(st, st->acct.nodes[0].key, r->partners, r->n_partners, &changed);
  st->acct.grants_checked_ms = now;
  if (rc == 0 && changed) rc = eng_publish(c, st, cn);
  if (rc == 0) rc = eng_save(c, st);
  return rc;
}
