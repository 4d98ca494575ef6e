/* client/core/engine_account.c — the account's own steps (issue 13 part 1): the first run
 * (a new vault under a passphrase the front-end got; registering this device at the
 * node an invite names, learning its partners, publishing the bundle, asking for an
 * alias) and removing a lost device for good. Prints nothing: the front-end shows what
 * the account holds afterwards. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine_int.h"
#include "hex.h"
#include "invite.h"

int eng_init_vault(struct eng *c, struct eng_state *st, const char *pass, size_t pl,
                   unsigned log2n) {
  int rc = eng_home(c, st, 1);
  if (rc) return rc;
  if (vault_exists(st->home.dir))
    return eng_fail(c, MOMEDO_E_EXISTS, "%s already holds a momedo identity (nothing changed)",
                    st->home.dir);
  rc = vault_create(&st->vault, st->home.dir, pass, pl, log2n);
  if (rc) return eng_fail(c, rc, "cannot create the vault in %s: %s", st->home.dir,
                          momedo_strerror(rc));
  if ((rc = home_lock(&st->home)) != 0) return eng_fail(c, rc, "cannot lock %s", st->home.dir);
  return 0;
}

int eng_invite_decode(struct eng *c, struct invite *inv, const char *code) {
  int rc = invite_decode(inv, code);
  if (rc == MOMEDO_E_CHECKSUM)
    return eng_fail(c, rc, "the invite code has a typo (its check character does not match)");
  if (rc == MOMEDO_E_PROTO) return eng_fail(c, rc, "that is not a momedo invite code");
  if (rc == MOMEDO_E_VERSION) return eng_fail(c, rc, "this invite is for another momedo version");
  if (rc) return eng_fail(c, rc, "the invite code is damaged: %s", momedo_strerror(rc));
  return 0;
}

int eng_join_node(struct eng *c, struct eng_state *st, const struct invite *inv) {
  struct eng_conn cn;
  char tok[INVITE_TOKEN_HEX_LEN + 1];
  const Momedo__RegisterResp *resp = NULL;
  memset(&cn, 0, sizeof cn);
  int extra = st->acct.joined, rc;
  if (extra && memcmp(st->acct.nodes[0].key, inv->node_key, 32) == 0)
    return eng_fail(c, MOMEDO_E_EXISTS, "this device already joined %s:%u (nothing changed)",
                    st->acct.nodes[0].host, st->acct.nodes[0].port);
  if (!extra && !st->acct.has_identity)
    return eng_fail(c, MOMEDO_E_DENIED, "this home belongs to a linked device: use `momedo "
                    "device join CODE`");
  if ((rc = eng_conn_open(c, &cn, inv->host, inv->port, inv->node_key)) != 0) goto out;
  invite_token_to_hex(tok, inv->token);
  rc = nodeapi_register(&cn.api, tok, &st->acct.device, &st->acct.identity, &resp);
  crypto_wipe(tok, sizeof tok);
  if (rc) {
    rc = eng_api_fail(c, &cn, rc, "the node refused the invite");
    goto out;
  }
  /* A second join registers this device at one more node (another city, a roaming
   * node): it becomes a partner. The first join makes it the home. */
  if (extra) rc = account_add_partner(&st->acct, inv->host, inv->port, inv->node_key);
  else rc = account_set_home(&st->acct, inv->host, inv->port, inv->node_key);
  int changed = 0;
  if (rc || (rc = eng__learn_partners(st, inv->node_key, resp->partners, resp->n_partners,
                                      &changed)) != 0)
    goto out;
  st->acct.grants_checked_ms = os_wall_ms();
  if ((rc = nodeapi_auth_user(&cn.api, &st->acct.device, st->acct.identity.pub)) != 0) {
    rc = eng_api_fail(c, &cn, rc, "authentication failed after registering");
    goto out;
  }
  if (st->acct.has_identity && (rc = eng_publish(c, st, &cn)) != 0) goto out;
  struct obj_info ai;
  if (!extra && nodeapi_alias(&cn.api, st->acct.identity.pub, os_wall_ms(), &ai) == 0)
    snprintf(st->acct.alias, sizeof st->acct.alias, "%s", ai.alias);
  else if (!extra)
    eng__note(c, "momedo: note: no alias from the node: %s\n", nodeapi_reason(&cn.api));
  st->acct.joined = 1;
out:
  eng_conn_close(&cn);
  return rc;
}

/* The one device whose key starts with the hex digits ref (at least 8). */
static int device_by_prefix(struct eng *c, const struct eng_state *st, const char *ref,
                            uint8_t key[static 32]) {
  size_t rl = strlen(ref), found = 0;
  if (rl < 8 || rl > 64 || strspn(ref, "0123456789abcdefABCDEF") != rl)
    return eng_fail(c, MOMEDO_E_INVAL, "name the device by 8 or more hex digits of its key "
                    "(`momedo device list`)");
  for (size_t i = 0; i < st->acct.n_devices; i++) {
    char hex[65];
    hex_encode(hex, sizeof hex, st->acct.devices[i].device_key, 32);
    if (strncasecmp(hex, ref, rl) == 0) {
      memcpy(key, st->acct.devices[i].device_key, 32);
      found++;
    }
  }
  if (found == 1) return 0;
  return eng_fail(c, found ? MOMEDO_E_EXISTS : MOMEDO_E_NOTFOUND, found ? "%s matches several "
                  "devices: give more digits" : "no device of this user starts with %s", ref);
}

/* Remove a device for good (a lost or stolen phone): a new bundle without it, naming it
 * among removed_devices, which no later bundle may drop; its sessions are forgotten.
 * Everyone who receives from it checks the bundle again within a minute. */
int eng_device_remove(struct eng *c, struct eng_state *st, const char *ref,
                      uint8_t key[static 32], size_t *groups) {
  struct eng_conn cn;
  size_t n_groups = 0;
  memset(&cn, 0, sizeof cn);
  if (!st->acct.has_identity)
    return eng_fail(c, MOMEDO_E_DENIED, "only the first device (it holds the identity key) can "
                    "remove a device");
  int rc = device_by_prefix(c, st, ref, key);
  if (rc) return rc;
  rc = account_remove_device(&st->acct, key);
  if (rc == MOMEDO_E_INVAL) return eng_fail(c, rc, "this is the device you are using");
  if (rc == MOMEDO_E_QUOTA)
    return eng_fail(c, rc, "this user removed %d devices already (the most a key bundle "
                    "names); a new identity is needed", OBJ_REMOVED_DEVICES_MAX);
  if (rc) return eng_fail(c, rc, "cannot remove the device: %s", momedo_strerror(rc));
  for (size_t i = st->sess.n; i-- > 0;) {
    struct e2e_session_info info;
    e2e_session_get_info(st->sess.v[i], &info);
    if (memcmp(info.peer_device, key, 32) != 0) continue;
    e2e_session_free(st->sess.v[i]);
    memmove(&st->sess.v[i], &st->sess.v[i + 1], (st->sess.n - i - 1) * sizeof st->sess.v[0]);
    st->sess.n--;
  }
  if ((rc = eng_connect(c, st, &cn)) == 0 && (rc = eng_publish(c, st, &cn)) == 0) {
    /* ... and out of every group: a new epoch it never learns. */
    if (eng_groups_own_devices(c, st, &cn, 1, &n_groups) != 0)
      eng__note(c, "momedo: note: the groups drop the device at your next sync: %s\n", c->why);
    rc = eng_save(c, st);
  }
  eng_conn_close(&cn);
  if (groups) *groups = n_groups;
  return rc;
}

