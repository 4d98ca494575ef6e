/* client/core/engine_net.c — talking to nodes for the engine: a pinned TLS connection
 * with Hello, the home node first and its partners when it is down, authentication,
 * bundle lookups that are checked against what was asked and pinned, publishing our
 * bundle. Never sends anything but public keys and ciphertext. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

int eng_api_fail(struct eng *c, struct eng_conn *cn, int rc, const char *what) {
  const char *r = nodeapi_reason(&cn->api);
  return eng_fail(c, rc, "%s: %s%s%s", what, momedo_strerror(rc), r[0] ? ": " : "", r);
}

int eng_conn_new(struct eng_conn **out) {
  *out = calloc(1, sizeof **out);
  return *out ? 0 : MOMEDO_E_NOMEM;
}

void eng_conn_free(struct eng_conn *cn) {
  if (!cn) return;
  eng_conn_close(cn);
  free(cn);
}

int eng_conn_is_open(const struct eng_conn *cn) { return cn->open; }
size_t eng_conn_node(const struct eng_conn *cn) { return cn->node; }
void eng_thread_done(void) { transport_thread_done(); }

int eng_conn_wait(struct eng *c, struct eng_conn *cn, int wait_ms) {
  if (cn->has_ev) nodeapi_event_clear(&cn->ev);
  cn->has_ev = 0;
  int rc = nodeapi_wait_event(&cn->api, wait_ms, os_wall_ms(), &cn->ev);
  if (rc == MOMEDO_E_TIMEOUT) return rc;
  if (rc) return eng_api_fail(c, cn, rc, "the link to the node failed");
  cn->has_ev = 1;
  return 0;
}

int eng_quiet(struct eng *c, struct eng_conn *cn, const char *days, const char *hours,
              const char *tz) {
  int rc = nodeapi_quiet(&cn->api, days, hours, tz);
  return rc ? eng_api_fail(c, cn, rc, "setting the quiet hours") : 0;
}

void eng_conn_close(struct eng_conn *cn) {
  if (cn->has_ev) nodeapi_event_clear(&cn->ev);
  if (cn->open) nodeapi_close(&cn->api);
  transport_tls_free(cn->tls);
  memset(cn, 0, sizeof *cn);
}

int eng_conn_open(struct eng *c, struct eng_conn *cn, const char *host, uint16_t port,
                  const uint8_t key[static 32]) {
  char reason[TRANSPORT_REASON_MAX];
  memset(cn, 0, sizeof *cn);
  int t = c->timeout_ms < ENG_CONNECT_TIMEOUT_MS ? c->timeout_ms : ENG_CONNECT_TIMEOUT_MS;
  int rc = transport_tls_connect(&cn->tls, host, port, key, t, reason, sizeof reason);
  if (rc) {
    cn->tls = NULL;
    if (rc == MOMEDO_E_KEYCHANGED)
      return eng_fail(c, rc, "WARNING: the node at %s:%u presents another key than the one "
                      "this device pinned; refusing to talk to it (%s)", host, port, reason);
    return eng_fail(c, rc, "%s", reason);
  }
  transport_tls_view(cn->tls, &cn->tr);
  nodeapi_init(&cn->api, &cn->tr, key, c->timeout_ms);
  cn->open = 1;
  rc = nodeapi_hello(&cn->api, os_wall_ms());
  if (rc) {
    char what[300];
    snprintf(what, sizeof what, "node %s:%u refused the session", host, port);
    rc = eng_api_fail(c, cn, rc, what);
    eng_conn_close(cn);
  }
  return rc;
}

int eng_connect_node(struct eng *c, struct eng_state *st, struct eng_conn *cn, size_t i) {
  const struct account_node *n = &st->acct.nodes[i];
  int rc = eng_conn_open(c, cn, n->host, n->port, n->key);
  if (rc) return rc;
  cn->node = i;
  rc = nodeapi_auth_user(&cn->api, &st->acct.device, st->acct.identity.pub);
  if (rc) {
    char what[300];
    snprintf(what, sizeof what, "node %s:%u did not accept this device", n->host, n->port);
    rc = eng_api_fail(c, cn, rc, what);
  }
  if (rc == 0) rc = eng_counter_sync(c, st, cn); /* a restored vault? */
  if (rc) eng_conn_close(cn);
  return rc;
}

int eng_connect(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  char first[ENG_WHY_MAX] = "";
  int rc = MOMEDO_E_NOTFOUND, first_rc = 0;
  for (size_t i = 0; i < st->acct.n_nodes; i++) {
    rc = eng_connect_node(c, st, cn, i);
    if (rc == 0) {
      if (i > 0)
        eng__link_note(c, "momedo: home node unreachable (%s); using partner %s:%u\n", first,
                st->acct.nodes[i].host, st->acct.nodes[i].port);
      return 0;
    }
    if (rc == MOMEDO_E_SUPERSEDED) return rc; /* a restored vault: no partner either */
    if (i == 0) {
      snprintf(first, sizeof first, "%s", c->why);
      first_rc = rc;
    }
  }
  if (st->acct.n_nodes > 1)
    return eng_fail(c, first_rc, "no node reachable: home: %s; last partner: %s", first, c->why);
  return first_rc ? first_rc : eng_fail(c, rc, "no node known: run `momedo join INVITE`");
}

int eng_lookup(struct eng *c, struct eng_conn *cn, const struct nodeapi_lookup_q *q,
               uint8_t key[static 32], struct nodeapi_bundle *out) {
  int rc = nodeapi_lookup(&cn->api, q, os_wall_ms(), out);
  if (rc == MOMEDO_E_NOTFOUND)
    return eng_fail(c, rc, "no key bundle found for %s (no such user, or none of its home "
                    "nodes answered: %s)", q->user_id ? q->user_id : q->alias ? q->alias : "that key",
                    nodeapi_reason(&cn->api));
  if (rc) return eng_api_fail(c, cn, rc, "key lookup failed");
  /* Asked by user ID: the node must not hand us someone else's key. */
  if (q->user_id && !ids_user_id_matches(q->user_id, out->info.key))
    return eng_fail(c, MOMEDO_E_PROTO, "the node answered %s with a key of another user",
                    q->user_id);
  if (q->identity_key && memcmp(q->identity_key, out->info.key, 32) != 0)
    return eng_fail(c, MOMEDO_E_PROTO, "the node answered with another user's key bundle");
  memcpy(key, out->info.key, 32);
  return 0;
}

size_t eng__contact_hints(const struct contact *ct,
                          uint8_t hints[static NODEAPI_HINTS_MAX][IDS_CARD_HINT_LEN]) {
  size_t n = 0;
  uint8_t fp[IDS_NODE_FP_LEN];
  for (size_t i = 0; i < ct->n_homes && n < NODEAPI_HINTS_MAX; i++)
    if (ids_node_fp_bytes(fp, ct->homes[i]) == 0) memcpy(hints[n++], fp, IDS_CARD_HINT_LEN);
  for (size_t i = 0; n == 0 && i < ct->n_hints && i < NODEAPI_HINTS_MAX; i++)
    memcpy(hints[i], ct->hints[i], IDS_CARD_HINT_LEN);
  return n ? n : (ct->n_hints < NODEAPI_HINTS_MAX ? ct->n_hints : NODEAPI_HINTS_MAX);
}

int eng_refresh_contact(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        struct contact *ct) {
  struct nodeapi_lookup_q q = {.identity_key = ct->key};
  struct nodeapi_bundle b;
  uint8_t key[32], hints[NODEAPI_HINTS_MAX][IDS_CARD_HINT_LEN];
  q.n_hints = eng__contact_hints(ct, hints);
  q.hints = hints[0];
  q.hint_len = IDS_CARD_HINT_LEN;
  int rc = eng_lookup(c, cn, &q, key, &b);
  if (rc) return rc;
  rc = contacts_set_bundle(ct, b.bundle);
  if (rc == MOMEDO_E_SUPERSEDED)
    return eng_fail(c, rc, "the node served an older key bundle of %s (version %llu) than "
                    "this device has seen (%llu); it was ignored", contact_label(ct),
                    (unsigned long long)b.info.version, (unsigned long long)ct->bundle_version);
  if (rc == MOMEDO_E_DEAD)
    return eng_fail(c, rc, "%s revoked their identity; a later key bundle cannot undo that",
                    contact_label(ct));
  if (rc == MOMEDO_E_FORK)
    return eng_fail(c, rc, "the key bundle of %s lists a device they removed for good: refused "
                    "(their identity key may be in someone else's hands)", contact_label(ct));
  if (rc) return eng_fail(c, rc, "the key bundle of %s is unusable: %s", contact_label(ct),
                          momedo_strerror(rc));
  return 0;
}

int eng_contact_for(struct eng *c, struct eng_state *st, const char *to, struct contact **out) {
  struct contact *ct = contacts_resolve(&st->contacts, to);
  *out = NULL;
  if (!ct)
    return eng_fail(c, MOMEDO_E_NOTFOUND, "unknown contact '%s': add it first with `momedo "
                    "contact add ID [--name NAME]`", to);
  if (ct->has_pending) {
    char nu[IDS_USER_ID_STR_MAX];
    if (ids_user_id(nu, ct->pending_key) != 0) nu[0] = '\0';
    return eng_fail(c, MOMEDO_E_KEYCHANGED,
                    "REFUSED: the key of %s has CHANGED (pinned %s, offered %s). This may be "
                    "an attack. Compare safety numbers in person, then run `momedo contact "
                    "verify %s`", contact_label(ct), ct->uid, nu, nu);
  }
  *out = ct;
  return 0;
}

int eng_publish(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  uint8_t *b = NULL, id[OBJ_ID_LEN];
  size_t n = 0;
  int rc = account_build_bundle(&st->acct, os_wall_ms(), &b, &n);
  if (rc) return eng_fail(c, rc, "cannot build the key bundle: %s", momedo_strerror(rc));
  rc = nodeapi_publish(&cn->api, b, n, id);
  free(b);
  if (rc) return eng_api_fail(c, cn, rc, "publishing the key bundle failed");
  st->acct.bundle_due = 0; /* it carries every device's newest prekey */
  return 0;
}
