/* client/cli/cli_device_list.c — `device list` and `device remove DEVICE`: the user's
 * devices as the key bundle lists them, and removing one for good (a lost or stolen
 * phone): the next bundle names it among removed_devices, which no later bundle may
 * drop, and everyone it writes to stops trusting it (issue 11, finding 5). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "hex.h"

static void print_device(struct cli *c, struct jsonw *j, const struct eng_state *st,
                         const struct account_device *d) {
  char hex[65], home[17];
  hex_encode(hex, sizeof hex, d->device_key, 32);
  hex_encode(home, sizeof home, d->home_node, 8);
  int self = memcmp(d->device_key, st->acct.device.pub, 32) == 0;
  if (c->json) {
    jsonw_open(j, NULL, '{');
    jsonw_str(j, "device_key", hex);
    jsonw_str(j, "home_node", home);
    jsonw_bool(j, "this", self);
    jsonw_u64(j, "prekey_id", d->prekey_id);
    jsonw_u64(j, "prekey_expires_ms", d->prekey_expires_ms);
    jsonw_close(j);
  } else
    printf("  %.16s  home node %s%s\n", hex, home, self ? "  (this device)" : "");
}

int cli__device_list(struct cli *c, struct eng_state *st) {
  struct jsonw j;
  if (c->json) {
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "version", st->acct.bundle_version);
    jsonw_open(&j, "devices", '[');
  } else printf("devices of this user (key bundle version %llu):\n",
              (unsigned long long)st->acct.bundle_version);
  for (size_t i = 0; i < st->acct.n_devices; i++) print_device(c, &j, st, &st->acct.devices[i]);
  if (c->json) {
    jsonw_close(&j);
    jsonw_u64(&j, "removed", st->acct.n_removed);
    /* This device's signed prekey, and whether the bundle still lists an older one
     * (a linked device's, until the first device published it). */
    jsonw_u64(&j, "prekey_id", st->acct.prekeys[0].id);
    jsonw_bool(&j, "prekey_pending", account_prekey_pending(&st->acct));
    jsonw_end(&j);
  } else if (st->acct.n_removed) printf("%zu device(s) removed for good\n", st->acct.n_removed);
  return 0;
}

/* The one device whose key starts with the hex digits ref (at least 8). */
static int device_by_prefix(struct cli *c, const struct eng_state *st, const char *ref,
                            uint8_t key[static 32]) {
  size_t rl = strlen(ref), found = 0;
  if (rl < 8 || rl > 64 || strspn(ref, "0123456789abcdefABCDEF") != rl)
    return cli_fail(c, MOMEDO_E_INVAL, "name the device by 8 or more hex digits of its key "
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
  return cli_fail(c, found ? MOMEDO_E_EXISTS : MOMEDO_E_NOTFOUND, found ? "%s matches several "
                  "devices: give more digits" : "no device of this user starts with %s", ref);
}

/* Remove a device for good (a lost or stolen phone): a new bundle without it, naming it
 * among removed_devices, which no later bundle may drop; its sessions are forgotten.
 * Everyone who receives from it checks the bundle again within a minute. */
int cli_device_remove(struct cli *c, struct eng_state *st, const char *ref,
                      uint8_t key[static 32], size_t *groups) {
  struct eng_conn cn;
  size_t n_groups = 0;
  memset(&cn, 0, sizeof cn);
  if (!st->acct.has_identity)
    return cli_fail(c, MOMEDO_E_DENIED, "only the first device (it holds the identity key) can "
                    "remove a device");
  int rc = device_by_prefix(c, st, ref, key);
  if (rc) return rc;
  rc = account_remove_device(&st->acct, key);
  if (rc == MOMEDO_E_INVAL) return cli_fail(c, rc, "this is the device you are using");
  if (rc == MOMEDO_E_QUOTA)
    return cli_fail(c, rc, "this user removed %d devices already (the most a key bundle "
                    "names); a new identity is needed", OBJ_REMOVED_DEVICES_MAX);
  if (rc) return cli_fail(c, rc, "cannot remove the device: %s", momedo_strerror(rc));
  for (size_t i = st->sess.n; i-- > 0;) {
    struct e2e_session_info info;
    e2e_session_get_info(st->sess.v[i], &info);
    if (memcmp(info.peer_device, key, 32) != 0) continue;
    e2e_session_free(st->sess.v[i]);
    memmove(&st->sess.v[i], &st->sess.v[i + 1], (st->sess.n - i - 1) * sizeof st->sess.v[0]);
    st->sess.n--;
  }
  if ((rc = eng_connect(&c->e, st, &cn)) == 0 && (rc = eng_publish(&c->e, st, &cn)) == 0) {
    /* ... and out of every group: a new epoch it never learns. */
    if (eng_groups_own_devices(&c->e, st, &cn, 1, &n_groups) != 0)
      fprintf(stderr, "momedo: note: the groups drop the device at your next sync: %s\n",
              c->e.why);
    rc = eng_save(&c->e, st);
  }
  eng_conn_close(&cn);
  if (groups) *groups = n_groups;
  return rc;
}

int cli__device_remove(struct cli *c, struct eng_state *st, const char *ref) {
  uint8_t key[32];
  size_t n_groups = 0;
  int rc = cli_device_remove(c, st, ref, key, &n_groups);
  if (rc) return rc;
  char hex[65];
  hex_encode(hex, sizeof hex, key, 32);
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "removed", hex);
    jsonw_u64(&j, "devices", st->acct.n_devices);
    jsonw_u64(&j, "groups", n_groups);
    jsonw_end(&j);
  } else printf("removed device %.16s for good (%zu device(s) left; %zu group(s) updated or "
                "asked)\n", hex, st->acct.n_devices, n_groups);
  return 0;
}

