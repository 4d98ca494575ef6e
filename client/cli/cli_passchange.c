/* client/cli/cli_passchange.c — `momedo passphrase [--rotate-key]`: a new passphrase for
 * this device's vault. The current one unlocks (as for every command); the new one comes
 * from --new-passphrase-file, $MOMEDO_NEW_PASSPHRASE or the terminal (twice) and must have
 * ENG_PASS_NEW_MIN characters. Without --rotate-key only vault.key changes (the data key
 * is wrapped anew, atomically); with it the data key is new too and every record and
 * history row is resealed (eng_rotate_key), so a copy of the home made before cannot read
 * what is written after. */
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
  int rotate = c->opt[CO_ROTATE] != NULL;
  uint64_t t0 = os_mono_ms();
  if (rotate) {
    if ((rc = eng_rotate_key(&c->e, st, pass, pl, log2n)) != 0) goto out;
  } else if ((rc = eng_pass_change(st, pass, pl, log2n)) != 0) {
    rc = cli_fail(c, rc, "cannot write the new vault.key in %s: %s (the old passphrase still "
                  "opens it)", eng_home_dir(st), momedo_strerror(rc));
    goto out;
  }
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, c->out);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "scrypt_log2n", log2n);
    jsonw_bool(&j, "rotated", rotate);
    if (rotate) jsonw_u64(&j, "rotate_ms", os_mono_ms() - t0);
    jsonw_end(&j);
  } else if (rotate) {
    fprintf(c->out, "The passphrase of %s is changed and its data key renewed. A copy of the "
            "home made before still opens with the old passphrase, but cannot read anything "
            "written from now on.\n", eng_home_dir(st));
  } else {
    fprintf(c->out, "The passphrase of %s is changed. A copy of the home made before (a "
            "backup) still opens with the old one and, with the new files, reads what is "
            "written later: `momedo passphrase --rotate-key` renews the data key too.\n",
            eng_home_dir(st));
  }
out:
  crypto_wipe(pass, sizeof pass);
  eng_state_free(st);
  return rc;
}
