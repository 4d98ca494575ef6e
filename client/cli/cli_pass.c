/* client/cli/cli_pass.c — where the command line's passphrase comes from: a file
 * (--passphrase-file), $MOMEDO_PASSPHRASE, else the controlling terminal with echo off
 * (asked twice for a new one). The core only checks and bounds a passphrase
 * (eng_passphrase_set / _file); asking a person is the front-end's job. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "reason.h"

static int pass_from_tty(char *out, size_t cap, size_t *len, int confirm, char *why,
                         size_t why_cap) {
  char a[ENG_PASS_MAX + 1], b[ENG_PASS_MAX + 1];
  size_t na = 0, nb = 0;
  int rc = cli_tty_read_secret(confirm ? "New passphrase: " : "Passphrase: ", a, sizeof a, &na);
  if (rc == MOMEDO_E_AUTH) {
    reason_set(why, why_cap,
               "no passphrase: no terminal to ask on; set %s or use --passphrase-file",
               CLI_PASS_ENV);
    return rc;
  }
  if (rc == 0 && confirm) {
    rc = cli_tty_read_secret("Repeat passphrase: ", b, sizeof b, &nb);
    if (rc == 0 && (na != nb || memcmp(a, b, na) != 0)) {
      reason_set(why, why_cap, "the two passphrases differ");
      rc = MOMEDO_E_AUTH;
    }
  }
  if (rc == 0) rc = eng_passphrase_set(out, cap, len, a, na);
  if (rc == MOMEDO_E_INVAL) reason_set(why, why_cap, "the passphrase is empty");
  if (rc == MOMEDO_E_TOOBIG)
    reason_set(why, why_cap, "the passphrase is longer than %d bytes", ENG_PASS_MAX);
  crypto_wipe(a, sizeof a);
  crypto_wipe(b, sizeof b);
  return rc;
}

static int pass_from(char *out, size_t cap, size_t *len, const char *file, const char *var,
                     int confirm, char *why, size_t why_cap) {
  *len = 0;
  if (file) return eng_passphrase_file(out, cap, len, file, why, why_cap);
  const char *env = getenv(var);
  if (env) {
    int rc = eng_passphrase_set(out, cap, len, env, strlen(env));
    if (rc)
      reason_set(why, why_cap, "%s is %s", var, rc == MOMEDO_E_INVAL ? "empty" : "too long");
    return rc;
  }
  return pass_from_tty(out, cap, len, confirm, why, why_cap);
}

int cli_passphrase(char *out, size_t cap, size_t *len, const char *file, int confirm,
                   char *why, size_t why_cap) {
  return pass_from(out, cap, len, file, CLI_PASS_ENV, confirm, why, why_cap);
}

/* A passphrase the user chooses now (init, join, device join, change): the vault's
 * minimum, the same the page asks for. An existing vault opens with whatever it has. */
int cli_passphrase_new(char *out, size_t cap, size_t *len, const char *file, const char *var,
                       char *why, size_t why_cap) {
  int rc = pass_from(out, cap, len, file, var, 1, why, why_cap);
  if (rc == 0 && *len < ENG_PASS_NEW_MIN) {
    crypto_wipe(out, cap);
    *len = 0;
    reason_set(why, why_cap,
               "the new passphrase is too short: at least %d characters (a few words are "
               "easier to remember and harder to guess)", ENG_PASS_NEW_MIN);
    rc = MOMEDO_E_INVAL;
  }
  return rc;
}

int cli_scrypt_opt(struct cli *c, unsigned *log2n) {
  *log2n = ENG_SCRYPT_LOG2N;
  if (!c->opt[CO_SCRYPT]) return 0;
  char *end = NULL;
  long v = strtol(c->opt[CO_SCRYPT], &end, 10);
  if (!end || end == c->opt[CO_SCRYPT] || *end || v < ENG_SCRYPT_LOG2N_MIN ||
      v > ENG_SCRYPT_LOG2N_MAX)
    return cli_fail(c, MOMEDO_E_INVAL, "--scrypt-log2n must be %d..%d", ENG_SCRYPT_LOG2N_MIN,
                    ENG_SCRYPT_LOG2N_MAX);
  *log2n = (unsigned)v;
  return 0;
}
