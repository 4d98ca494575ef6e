/* client/cli/cli_counter.c — anti-rollback for the vault (issue 11, finding 6;
 * docs/security.md): tell each node (home or partner) this device's save count when
 * connecting and after the save that precedes every post through it, and stop when that
 * node has seen a higher one (the vault is a restored, older copy: its chains and
 * one-time prekeys would be used again); `sync` connects to every node first. `momedo
 * recover` is the way on: it drops every session and one-time prekey secret, so nothing
 * of the old state is used again, and moves the count past every node's. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define ROLLBACK_WHY                                                                      \
  "ROLLBACK: this device's local state is older than the state it already told its home " \
  "node or a partner about (save %llu here, %llu there): the vault in %s was restored "   \
  "from an older copy (a backup, or someone else's copy). Nothing was sent, so no "       \
  "message key is used twice. If you restored a backup on purpose, run `momedo recover`; " \
  "if not, someone may hold a copy of this device: remove it from another device "        \
  "(`momedo device remove`)."

int cli__counter_sync(struct cli *c, struct cli_state *st, struct cli_conn *cn) {
  uint64_t last = 0;
  if (st->counter_skip) return 0;
  int rc = nodeapi_state_counter(&cn->api, st->counter, &last);
  if (rc == MOMEDO_E_UNKNOWN_KIND) return 0;        /* an older node */
  if (rc) return cli_api_fail(c, cn, rc, "telling the node this device's state");
  if (last > st->counter)
    return cli_fail(c, MOMEDO_E_SUPERSEDED, ROLLBACK_WHY, (unsigned long long)st->counter,
                    (unsigned long long)last, st->home.dir);
  return 0;
}

static void drop_sessions(struct cli_state *st) {
  for (size_t i = 0; i < st->sess.n; i++) e2e_session_free(st->sess.v[i]);
  st->sess.n = 0;
}

/* The highest count any reachable node holds (the home node must answer); cns[i] stay
 * open (or closed when unreachable). */
static int counter_highest(struct cli *c, struct cli_state *st, struct cli_conn *cns,
                           uint64_t *high) {
  *high = 0;
  for (size_t i = 0; i < st->acct.n_nodes; i++) {
    uint64_t last = 0;
    int rc = cli_connect_node(c, st, &cns[i], i);
    if (rc == 0 && (rc = nodeapi_state_counter(&cns[i].api, 0, &last)) != 0 &&
        rc != MOMEDO_E_UNKNOWN_KIND)
      rc = cli_api_fail(c, &cns[i], rc, "asking for this device's state");
    if (rc == MOMEDO_E_UNKNOWN_KIND) rc = 0;
    if (rc && i == 0) return rc; /* the home node must take part */
    if (rc) cli_conn_close(&cns[i]);
    if (last > *high) *high = last;
  }
  return 0;
}

/* `momedo recover`: after a restored vault (the home node must be reachable). */
int cli_cmd_recover(struct cli *c) {
  struct cli_state st;
  struct cli_conn cns[ACCOUNT_NODES_MAX];
  struct otpk_pub pub[OTPK_UPLOAD_MAX];
  uint64_t last = 0;
  uint32_t held = 0;
  size_t dropped = 0;
  int rotated = 0;
  memset(cns, 0, sizeof cns);
  int rc = cli_open(c, &st, 1);
  if (rc == 0) {
    st.counter_skip = 1;
    rc = counter_highest(c, &st, cns, &last);
  }
  if (rc == 0) {
    dropped = st.sess.n;
    drop_sessions(&st);
    for (size_t i = 0; i < st.otpk.n; i++) crypto_wipe(&st.otpk.v[i], sizeof st.otpk.v[i]);
    st.otpk.n = 0;
    st.otpk.dirty = 1;
    if (st.counter < last) st.counter = last;
    rc = otpks_generate(&st.otpk, &st.acct.device, OTPKS_NODE_TARGET, pub);
    if (rc) rc = cli_fail(c, rc, "cannot make one-time prekeys: %s", momedo_strerror(rc));
  }
  /* The signed prekey too: the old copy's secret may be in other hands. The first device
   * publishes it below; a linked device announces it at its next sync (unless one it
   * announced is still waiting: the listed one must stay its previous prekey). */
  if (rc == 0 && !account_prekey_pending(&st.acct) &&
      (rc = account_rotate_prekey(&st.acct, os_wall_ms(), 1, &rotated)) != 0)
    rc = cli_fail(c, rc, "cannot make a new signed prekey: %s", momedo_strerror(rc));
  if (rc == 0 && rotated && !st.acct.has_identity) st.acct.prekey_announced_ms = 0;
  if (rc == 0) rc = cli_save(c, &st); /* the count now passes the node's */
  st.counter_skip = 0;
  for (size_t i = 0; rc == 0 && i < st.acct.n_nodes; i++)
    if (cns[i].open) rc = cli__counter_sync(c, &st, &cns[i]);
  if (rc == 0 && (rc = nodeapi_prekey_upload(&cns[0].api, pub, OTPKS_NODE_TARGET, 1, &held)))
    rc = cli_api_fail(c, &cns[0], rc, "replacing the one-time prekeys on the home node");
  if (rc == 0 && rotated && st.acct.has_identity && (rc = cli_publish(c, &st, &cns[0])) == 0)
    rc = cli_save(c, &st);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, c->out);
    jsonw_bool(&j, "ok", 1);
    jsonw_u64(&j, "sessions_dropped", dropped);
    jsonw_u64(&j, "counter", st.counter);
    jsonw_bool(&j, "prekey_rotated", rotated);
    jsonw_end(&j);
  } else if (rc == 0)
    fprintf(c->out, "Recovered: %zu session(s) dropped (your contacts' next messages start "
            "new ones), one-time prekeys replaced%s. Messages sent to this device since the "
            "restored copy was made may not open.\n", dropped,
            !rotated ? "" : st.acct.has_identity ? ", a new signed prekey published"
                                                 : ", a new signed prekey made (your first "
                                                   "device publishes it after your next sync)");
  for (size_t i = 0; i < ACCOUNT_NODES_MAX; i++) cli_conn_close(&cns[i]);
  cli_close(&st);
  return rc;
}
