/* client/core/engine_counter.c — anti-rollback for the vault (issue 11, finding 6;
 * docs/security.md): tell each node this device's save count and stop when that node has
 * seen a higher one (the vault is a restored, older copy); eng_recover is `momedo
 * recover`'s way on (the command prints what it did: client/cli/cli_counter.c). */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

#define ROLLBACK_WHY                                                                      \
  "ROLLBACK: this device's local state is older than the state it already told its home " \
  "node or a partner about (save %llu here, %llu there): the vault in %s was restored "   \
  "from an older copy (a backup, or someone else's copy). Nothing was sent, so no "       \
  "message key is used twice. If you restored a backup on purpose, run `momedo recover`; " \
  "if not, someone may hold a copy of this device: remove it from another device "        \


int eng_counter_sync(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  uint64_t last = 0;
  if (st->counter_skip) return 0;
  int rc = nodeapi_state_counter(&cn->api, st->counter, &last);
  if (rc == MOMEDO_E_UNKNOWN_KIND) return 0;        /* an older node */
  if (rc) return eng_api_fail(c, cn, rc, "telling the node this device's state");
  if (last > st->counter)
    return eng_fail(c, MOMEDO_E_SUPERSEDED, ROLLBACK_WHY, (unsigned long long)st->counter,
                    (unsigned long long)last, st->home.dir);
  return 0;
}

/* ---- `momedo recover` -------------------------------------------------------------- */

/* The highest count any reachable node holds (the home node must answer); cns[i] stay
 * open (or closed when unreachable). */
static int counter_highest(struct eng *c, struct eng_state *st, struct eng_conn *cns,
                           uint64_t *high) {
  *high = 0;
  for (size_t i = 0; i < st->acct.n_nodes; i++) {
    uint64_t last = 0;
    int rc = eng_connect_node(c, st, &cns[i], i);
    if (rc == 0 && (rc = nodeapi_state_counter(&cns[i].api, 0, &last)) != 0 &&
        rc != MOMEDO_E_UNKNOWN_KIND)
      rc = eng_api_fail(c, &cns[i], rc, "asking for this device's state");
    if (rc == MOMEDO_E_UNKNOWN_KIND) rc = 0;
    if (rc && i == 0) return rc; /* the home node must take part */
    if (rc) eng_conn_close(&cns[i]);
    if (last > *high) *high = last;
  }
  return 0;
}

/* Nothing of the old state is used again: every session and one-time prekey secret. */
static void drop_secrets(struct eng_state *st) {
  for (size_t i = 0; i < st->sess.n; i++) e2e_session_free(st->sess.v[i]);
  st->sess.n = 0;
  for (size_t i = 0; i < st->otpk.n; i++) crypto_wipe(&st->otpk.v[i], sizeof st->otpk.v[i]);
  st->otpk.n = 0;
  st->otpk.dirty = 1;
}

int eng_recover(struct eng *c, struct eng_state *st, struct eng_recover_result *res) {
  struct eng_conn cns[ACCOUNT_NODES_MAX];
  struct otpk_pub pub[OTPK_UPLOAD_MAX];
  uint64_t last = 0;
  uint32_t held = 0;
  int rotated = 0;
  memset(res, 0, sizeof *res);
  memset(cns, 0, sizeof cns);
  st->counter_skip = 1;
  int rc = counter_highest(c, st, cns, &last);
  if (rc == 0) {
    res->sessions_dropped = st->sess.n;
    drop_secrets(st);
    if (st->counter < last) st->counter = last;
    rc = otpks_generate(&st->otpk, &st->acct.device, OTPKS_NODE_TARGET, pub);
    if (rc) rc = eng_fail(c, rc, "cannot make one-time prekeys: %s", momedo_strerror(rc));
  }
  /* The signed prekey too: the old copy's secret may be in other hands. The first device
   * publishes it below; a linked device announces it at its next sync (unless one it
   * announced is still waiting: the listed one must stay its previous prekey). */
  if (rc == 0 && !account_prekey_pending(&st->acct) &&
      (rc = account_rotate_prekey(&st->acct, os_wall_ms(), 1, &rotated)) != 0)
    rc = eng_fail(c, rc, "cannot make a new signed prekey: %s", momedo_strerror(rc));
  if (rc == 0 && rotated && !st->acct.has_identity) st->acct.prekey_announced_ms = 0;
  if (rc == 0) rc = eng_save(c, st); /* the count now passes the node's */
  st->counter_skip = 0;
  for (size_t i = 0; rc == 0 && i < st->acct.n_nodes; i++)
    if (cns[i].open) rc = eng_counter_sync(c, st, &cns[i]);
  if (rc == 0 && (rc = nodeapi_prekey_upload(&cns[0].api, pub, OTPKS_NODE_TARGET, 1, &held)))
    rc = eng_api_fail(c, &cns[0], rc, "replacing the one-time prekeys on the home node");
  if (rc == 0 && rotated && st->acct.has_identity && (rc = eng_publish(c, st, &cns[0])) == 0)
    rc = eng_save(c, st);
  res->counter = st->counter;
  res->prekey_rotated = rotated;
  for (size_t i = 0; i < ACCOUNT_NODES_MAX; i++) eng_conn_close(&cns[i]);
  return rc;
}
