/* client/core/engine_dests.c — which nodes must hold what this device posts (PostReq.dest_nodes,
 * scoped delivery, docs/client.md): a contact's items go to the home nodes of their key
 * bundle, our own sync copies and tombstones to ours, a group's posts to every member's
 * plus ours. Where a home list is not known the post is global scope (every node): it
 * is still delivered, only at the federation's cost. Decides nothing about trust. */
#include <string.h>

#include "engine_int.h"

void eng_dests_clear(struct eng_dests *d) { d->n = 0; }

int eng__dests_add(struct eng_dests *d, const uint8_t key[static 32]) {
  static const uint8_t zero[32];
  if (memcmp(key, zero, 32) == 0) return 0;
  for (size_t i = 0; i < d->n; i++)
    if (memcmp(d->k[i], key, 32) == 0) return 0;
  if (d->n >= NODEAPI_DESTS_MAX) return MOMEDO_E_BOUNDS;
  memcpy(d->k[d->n++], key, 32);
  return 0;
}

void eng_dests_self(const struct eng_state *st, struct eng_dests *d) {
  uint8_t homes[OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN];
  size_t n = account_homes(&st->acct, homes);
  for (size_t i = 0; i < n; i++) (void)!eng__dests_add(d, homes[i]); /* <= 8 < 64 */
}

int eng__dests_contact(const struct contact *ct, struct eng_dests *d) {
  if (ct->n_homes == 0) return MOMEDO_E_NOTFOUND;
  for (size_t i = 0; i < ct->n_homes; i++) {
    int rc = eng__dests_add(d, ct->homes[i]);
    if (rc) return rc;
  }
  return 0;
}

int eng__dests_group(struct eng *c, struct eng_state *st, struct eng_group *cg,
                     struct eng_dests *d) {
  struct group_member_view mv;
  eng_dests_clear(d);
  eng_dests_self(st, d);
  for (size_t i = 0; i < group_member_count(cg->g); i++) {
    if (group_member_at(cg->g, i, &mv) != 0) continue;
    if (memcmp(mv.identity_key, st->acct.identity.pub, 32) == 0) continue;
    const struct contact *ct = contacts_find_key(&st->contacts, mv.identity_key);
    int rc = ct ? eng__dests_contact(ct, d) : MOMEDO_E_NOTFOUND;
    if (rc == MOMEDO_E_BOUNDS)
      return eng_fail(c, rc, "the members of group %s live on more than %d nodes: a post "
                      "can name at most %d destination nodes", eng_group_name(cg),
                      NODEAPI_DESTS_MAX, NODEAPI_DESTS_MAX);
    if (rc) {
      /* A member whose home nodes we do not know (never looked up): every node. */
      eng_dests_clear(d);
      return 0;
    }
  }
  return 0;
}
