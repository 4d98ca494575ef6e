/* client/cli/cli_counter.c — `momedo recover` (issue 11, finding 6; docs/security.md):
 * after the engine refused a restored, older vault (client/core/engine_counter.c), drop
 * every session and one-time prekey secret so nothing of the old state is used again,
 * and move the save count past every node's. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void drop_sessions(struct eng_state *st) {
  for (size_t i = 0; i < st->sess.n; i++) e2e_session_free(st->sess.v[i]);
  st->sess.n = 0;
}

/* The highest count any reachable node holds (the home node must answer); cns[i] stay
 * open (or closed when unreachable). */
static int counter_highest(struct cli *c, struct eng_state *st, struct eng_conn *cns,
                           uint64_t *high) {
  *high = 0;
  for (size_t i = 0; i < st->acct.n_nodes; i++) {
    uint64_t last = 0;
    int rc = eng_connect_node(&c->e, st, &cns[i], i);
    if (rc == 0 && (rc = nodeapi_state_counter(&cns[i].api, 0, &last)) != 0 &&
        rc != MOMEDO_E_UNKNOWN_KIND)
      rc = eng_api_fail(&c->e, &cns[i], rc, "asking for this device's state");
    if (rc == MOMEDO_E_UNKNOWN_KIND) rc = 0;
    if (rc && i == 0) return rc; /* the home node must take part */
    if (rc) eng_conn_close(&cns[i]);
    if (last > *high) *high = last;
  }
  return 0;
}

/* `momedo recover`: after a restored vault (the home node must be reachable). */
int cli_cmd_recover(struct cli *c) {
  struct eng_state st;
  struct eng_conn cns[ACCOUNT_NODES_MAX];
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
  if (rc == 0) rc = eng_save(&c->e, &st); /* the count now passes the node's */
  st.counter_skip = 0;
  for (size_t i = 0; rc == 0 && i < st.acct.n_nodes; i++)
    if (cns[i].open) rc = eng_counter_sync(&c->e, &st, &cns[i]);
  if (rc == 0 && (rc = nodeapi_prekey_upload(&cns[0].api, pub, OTPKS_NODE_TARGET, 1, &held)))
    rc = eng_api_fail(&c->e, &cns[0], rc, "replacing the one-time prekeys on the home node");
  if (rc == 0 && rotated && st.acct.has_identity && (rc = eng_publish(&c->e, &st, &cns[0])) == 0)
    rc = eng_save(&c->e, &st);
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
  for (size_t i = 0; i < ACCOUNT_NODES_MAX; i++) eng_conn_close(&cns[i]);
  eng_close(&st);
  return rc;
}
