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

int cli__device_remove(struct cli *c, struct eng_state *st, const char *ref) {
  uint8_t key[32];
  size_t n_groups = 0;
  int rc = eng_device_remove(&c->e, st, ref, key, &n_groups);
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

