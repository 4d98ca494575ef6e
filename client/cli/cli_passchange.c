/* client/cli/cli_passchange.c — `momedo passphrase`: a new passphrase for this device's
 * vault. The current one unlocks (as for every command); the new one comes from
 * --new-passphrase-file, $MOMEDO_NEW_PASSPHRASE or the terminal (twice) and must have
 * ENG_PASS_NEW_MIN characters. Only vault.key changes (the data key is wrapped anew,
 * atomically): the records, the history and the sessions stay as they are. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cli_cmd_passphrase(struct cli *c) {
  struct eng_state *st = NULL;
  char pass[ENG_PASS_MAX + 1], why[512];
  size_t pl = 0;
  unsigned log2n = 0;
  int rc = cli_scrypt_opt(c, &log2n);
  if (rc) return rc;
  if ((rc = cli_open(c, &st, 0)) != 0) goto out;
  rc = cli_passphrase_new(pass, sizeof pass, &pl, c->opt[CO_NEW_PASSFILE], CLI_NEW_PASS_ENV,
                          why, sizeof why);
  if (rc) {
    rc = cli_fail(c, rc, "%s", why);
    goto out;
  }
  rc = eng_pass_change(st, pass, pl, log2n);
  if (rc) {
    rc = cli_fail(c, rc, "cannot write the new vault.key in %s: %s (the old passphrase still "
                  "opens it)", eng_home_dir(st), momedo_strerror(rc));
    goto out;
  }
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, c->out);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "scrypt_log2n", log2n);
    jsonw_end(&j);
  } else {
    fprintf(c->out, "The passphrase of %s is changed. A copy of the home made before (a "
            "backup) still opens with the old one.\n", eng_home_dir(st));
  }
out:
  crypto_wipe(pass, sizeof pass);
  eng_state_free(st);
  return rc;
}
