/* client/cli/cli_state.c — opening a home for a command: resolve the directory, read the
 * passphrase (cli_pass.c: file, $MOMEDO_PASSPHRASE or the terminal), then let the engine
 * unlock the vault, take the home's lock and load everything (eng_open_pass,
 * client/core/engine_state.c). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_open(struct cli *c, struct eng_state **out, int need_joined) {
  char pass[ENG_PASS_MAX + 1], why[512];
  size_t pl = 0;
  int rc = eng_state_new(out);
  if (rc) return cli_fail(c, rc, "out of memory");
  struct eng_state *st = *out;
  rc = eng_home(&c->e, st, 0); /* no identity: say so before asking for a passphrase */
  if (rc) return rc;
  rc = cli_passphrase(pass, sizeof pass, &pl, c->opt[CO_PASSFILE], 0, why, sizeof why);
  if (rc) return cli_fail(c, rc, "%s", why);
  rc = eng_open_pass(&c->e, st, pass, pl, need_joined);
  crypto_wipe(pass, sizeof pass);
  return rc;
}
