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
  int self = memcmp(d->device_key, eng_device_key(st), 32) == 0;
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
    jsonw_u64(&j, "version", eng_bundle_version(st));
    jsonw_open(&j, "devices", '[');
  } else printf("devices of this user (key bundle version %llu):\n",
              (unsigned long long)eng_bundle_version(st));
  for (size_t i = 0; i < eng_device_count(st); i++) print_device(c, &j, st, eng_device_at(st, i));
  if (c->json) {
    jsonw_close(&j);
    jsonw_u64(&j, "removed", eng_removed_count(st));
    /* This device's signed prekey, and whether the bundle still lists an older one
     * (a linked device's, until the first device published it). */
    jsonw_u64(&j, "prekey_id", eng_prekey_id(st));
    jsonw_bool(&j, "prekey_pending", eng_prekey_pending(st));
    jsonw_end(&j);
  } else if (eng_removed_count(st)) {
    printf("%zu device(s) removed for good\n", eng_removed_count(st));
  }
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
    jsonw_u64(&j, "devices", eng_device_count(st));
    jsonw_u64(&j, "groups", n_groups);
    jsonw_end(&j);
  } else printf("removed device %.16s for good (%zu device(s) left; %zu group(s) updated or "
                "asked)\n", hex, eng_device_count(st), n_groups);
  return 0;
}

