/* client/core/engine_rotate.c — a full data-key rotation of the open home (`momedo
 * passphrase --rotate-key`, the page's passphrase change): the history's connection is
 * closed, the vault rotates its key through vault.db and history.db (vault_rotate.c,
 * hist_reseal), and the history is opened again under the new key. No terminal here. */
#include <string.h>

#include "engine_int.h"

static int reseal_history(const char *path, const uint8_t *old_key, const uint8_t *new_key) {
  return hist_reseal(path, old_key, new_key);
}

int eng_rotate_key(struct eng *c, struct eng_state *st, const char *pass, size_t pl,
                   unsigned log2_n) {
  static const struct vault_rotate_db dbs[] = {{HIST_FILE, reseal_history}};
  if (!st->vault.open || st->home.lock_fd < 0)
    return eng_fail(c, MOMEDO_E_INTERNAL, "the home is not open and locked");
  if (strcmp(st->vault.dir, st->home.dir) != 0)
    return eng_fail(c, MOMEDO_E_INTERNAL, "the history is not beside the vault");
  if (st->have_hist) hist_close(&st->hist); /* an open transaction is dropped: saved before */
  st->have_hist = 0;
  int rc = vault_rotate(&st->vault, pass, pl, log2_n, dbs, 1, eng__crash_point);
  if (rc && st->vault.open && eng__history_open(c, st) != 0) /* the old key, as before */
    return rc;
  if (rc == MOMEDO_E_BUSY)
    return eng_fail(c, rc, "another momedo program (app, listen or bot) has %s open: stop it "
                    "and try again (nothing was changed)", st->home.dir);
  if (rc && st->vault.open)
    return eng_fail(c, rc, "the key rotation failed: %s (nothing was changed; the old "
                    "passphrase still opens %s)", momedo_strerror(rc), st->home.dir);
  if (rc)
    return eng_fail(c, rc, "the key rotation stopped after it was committed: %s (the next "
                    "unlock with the new passphrase finishes it)", momedo_strerror(rc));
  return eng__history_open(c, st);
}

int eng_is_open(const struct eng_state *st) { return st->vault.open; }
