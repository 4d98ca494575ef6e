/* client/core/engine_link.c — linking a second device (issue 13 part 1), both sides of
 * client/core/link.h's protocol over a node: the first device makes the code
 * (eng_link_offer), waits for the one request it was for (eng_link_wait), and after the
 * user compared the safety codes signs the new device into the bundle and answers with
 * the identity-level state sealed to it (eng_link_admit); the new device makes its vault
 * and keys, asks, waits for that answer and adopts it (eng_device_join). Prints and
 * asks nothing: the front-end shows the code and the safety codes and confirms. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "link.h"

#define LINK_STATE_FORMAT 2

/* ---- the identity-level state handed to the new device ---------------------------- */

struct link_state {
  size_t n_nodes;
  struct account_node nodes[ACCOUNT_NODES_MAX];
  char alias[ACCOUNT_ALIAS_MAX];
  struct contacts contacts;
};

static int state_encode(const struct eng_state *st, struct vbuf *b) {
  struct vbuf cb = {0};
  vbuf_u8(b, LINK_STATE_FORMAT);
  vbuf_u8(b, (uint8_t)st->acct.n_nodes);
  for (size_t i = 0; i < st->acct.n_nodes; i++) {
    vbuf_str(b, st->acct.nodes[i].host);
    vbuf_be32(b, st->acct.nodes[i].port);
    vbuf_raw(b, st->acct.nodes[i].key, 32);
  }
  vbuf_str(b, st->acct.alias);
  contacts_encode(&st->contacts, &cb, 0);
  vbuf_bytes(b, cb.p, cb.len);
  int rc = b->err ? b->err : cb.err;
  vbuf_free(&cb);
  return rc;
}

static int state_decode(struct link_state *ls, const uint8_t *p, size_t n) {
  uint8_t f = 0, nn = 0;
  const uint8_t *cp;
  size_t cn;
  struct cursor c;
  memset(ls, 0, sizeof ls[0]);
  cursor_init(&c, (uint8_t *)p, n);
  if (cursor_get_u8(&c, &f) || f != LINK_STATE_FORMAT || cursor_get_u8(&c, &nn) || nn == 0 ||
      nn > ACCOUNT_NODES_MAX)
    return MOMEDO_E_CORRUPT;
  for (size_t i = 0; i < nn; i++) {
    uint32_t port = 0;
    struct account_node *nd = &ls->nodes[i];
    if (vrd_str(&c, nd->host, sizeof nd->host) || nd->host[0] == '\0' ||
        cursor_get_be32(&c, &port) || port == 0 || port > 65535 || vrd_fixed(&c, nd->key, 32))
      return MOMEDO_E_CORRUPT;
    nd->port = (uint16_t)port;
  }
  ls->n_nodes = nn;
  if (vrd_str(&c, ls->alias, sizeof ls->alias) ||
      vrd_bytes(&c, &cp, &cn, OBJ_CIPHERTEXT_BYTES_MAX) || cursor_left(&c) != 0)
    return MOMEDO_E_CORRUPT;
  return contacts_parse(&ls->contacts, cp, cn);
}

/* Wait up to ms for an event on cn (answering pings meanwhile); events are only a cue. */
static void link_pause(struct eng_conn *cn, int ms) {
  struct nodeapi_event ev;
  if (nodeapi_wait_event(&cn->api, ms, os_wall_ms(), &ev) == 0) nodeapi_event_clear(&ev);
}

static int left_ms(uint64_t deadline) {
  uint64_t now = os_wall_ms();
  if (now >= deadline) return 0;
  return (int)(deadline - now > ENG_LINK_POLL_MS ? ENG_LINK_POLL_MS : deadline - now);
}

/* Requests in the link mailbox: the first valid one in *d; *distinct counts different
 * device keys among the valid ones (two means someone else has the code too). */
static int scan_requests(struct eng *c, struct eng_conn *cn, const struct link_keys *k,
                         struct account_device *d, int *distinct) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  struct nodeapi_fetch f;
  int rc = obj_link_mailbox(mb, k->id);
  if (rc == 0) rc = nodeapi_fetch(&cn->api, mb, 0, ENG_LINK_SCAN_MAX, os_wall_ms(), &f);
  if (rc) return eng_api_fail(c, cn, rc, "reading the link mailbox failed");
  *distinct = 0;
  for (size_t i = 0; i < f.n; i++) {
    struct account_device r;
    if (f.objs[i].err || link_request_open(&r, k, f.objs[i].ciphertext,
                                           f.objs[i].ciphertext_len) != 0)
      continue;
    if (*distinct == 0) *d = r;
    if (*distinct == 0 || memcmp(r.device_key, d->device_key, 32) != 0) (*distinct)++;
    if (*distinct > 1) break;
  }
  return 0;
}

/* Sign the new device into the bundle, publish, answer with the sealed state. */
static int link_admit(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                      const struct link_keys *k, struct account_device *d) {
  struct vbuf b = {0};
  uint8_t *ans = NULL, mb[OBJ_MAILBOX_LEN], id[OBJ_ID_LEN];
  size_t ans_len = 0;
  for (size_t i = 0; i < st->acct.n_devices; i++)
    if (memcmp(st->acct.devices[i].device_key, d->device_key, 32) == 0)
      return eng_fail(c, MOMEDO_E_EXISTS, "that device is linked already");
  for (size_t i = 0; i < st->acct.n_removed; i++)
    if (memcmp(st->acct.removed[i], d->device_key, 32) == 0)
      return eng_fail(c, MOMEDO_E_DENIED, "that device was removed for good");
  memcpy(d->home_node, st->acct.nodes[cn->node].key, 32);
  int rc = account_put_device(&st->acct, d);
  if (rc) return eng_fail(c, rc, "this user already has %d devices", OBJ_DEVICES_MAX);
  if ((rc = eng_publish(c, st, cn)) != 0) return rc;
  rc = state_encode(st, &b);
  if (rc == 0) rc = link_answer_seal(&ans, &ans_len, k, d->device_key, d->dh_key, b.p, b.len);
  vbuf_free(&b);
  if (rc == 0) rc = obj_link_mailbox(mb, k->id);
  if (rc) return eng_fail(c, rc, "cannot seal the state for the new device: %s",
                          momedo_strerror(rc));
  static struct eng_dests dn; /* the new device reads it from one of our home nodes */
  eng_dests_clear(&dn);
  eng_dests_self(st, &dn);
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = ans, .ciphertext_len = ans_len,
                               .ttl_ms = LINK_TTL_MS, .dest_nodes = dn.k,
                               .n_dest_nodes = dn.n};
  rc = nodeapi_post(&cn->api, &p, id, NULL);
  crypto_wipe(ans, ans_len);
  free(ans);
  if (rc) return eng_api_fail(c, cn, rc, "posting the answer for the new device failed");
  return eng_save(c, st);
}

int eng_link_admit(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                   const struct link_keys *k, struct account_device *d, size_t *n_groups) {
  *n_groups = 0;
  int rc = link_admit(c, st, cn, k, d);
  if (rc) return rc;
  /* the new device joins every group and announcement channel */
  if (eng_groups_own_devices(c, st, cn, 1, n_groups) != 0)
    eng__note(c, "momedo: note: the groups learn of the device at your next sync: %s\n", c->why);
  return eng_save(c, st);
}

int eng_link_offer(struct eng *c, struct eng_state *st, struct eng_conn *cn, struct link_code *l,
                   struct link_keys *k, char *code, size_t code_cap) {
  memset(l, 0, sizeof *l);
  if (!st->acct.has_identity)
    return eng_fail(c, MOMEDO_E_DENIED, "only the first device (it holds the identity key) can "
                    "link another device");
  if (st->acct.n_devices >= OBJ_DEVICES_MAX)
    return eng_fail(c, MOMEDO_E_QUOTA, "this user already has %d devices", OBJ_DEVICES_MAX);
  int rc = eng_connect(c, st, cn);
  if (rc) return rc;
  const struct account_node *node = &st->acct.nodes[cn->node];
  memcpy(l->identity, st->acct.identity.pub, 32);
  memcpy(l->node_key, node->key, 32);
  snprintf(l->host, sizeof l->host, "%s", node->host);
  l->port = node->port;
  l->expires_ms = os_wall_ms() + LINK_TTL_MS;
  if (strlen(node->host) > LINK_HOST_CHARS_MAX) rc = MOMEDO_E_INVAL;
  if (rc == 0) rc = crypto_random(l->secret, sizeof l->secret);
  if (rc == 0) rc = link_keys_derive(k, l->secret);
  if (rc == 0) rc = link_code_encode(code, code_cap, l);
  if (rc) return eng_fail(c, rc, "cannot make a link code: %s", momedo_strerror(rc));
  return 0;
}

/* Wait for the one request the code was for; refuse when two devices used it. */
int eng_link_wait(struct eng *c, struct eng_conn *cn, const struct link_keys *k,
                  uint64_t expires_ms, struct account_device *d) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  int rc = obj_link_mailbox(mb, k->id), distinct = 0, ms;
  if (rc == 0 && (rc = nodeapi_subscribe(&cn->api, (const uint8_t(*)[32])mb, 1)) != 0)
    return eng_api_fail(c, cn, rc, "cannot watch the link mailbox");
  while ((ms = left_ms(expires_ms)) > 0) {
    if ((rc = scan_requests(c, cn, k, d, &distinct)) != 0) return rc;
    if (distinct > 1)
      return eng_fail(c, MOMEDO_E_DENIED, "two devices used this link code: someone else has "
                      "seen it. Nothing was linked; run `device link` again, out of view");
    if (distinct == 1) { /* a moment for a racing second request to show up */
      link_pause(cn, ENG_LINK_POLL_MS);
      if ((rc = scan_requests(c, cn, k, d, &distinct)) != 0) return rc;
      return distinct > 1 ? eng_fail(c, MOMEDO_E_DENIED, "two devices used this link code: "
                                     "someone else has seen it. Nothing was linked") : 0;
    }
    link_pause(cn, ms);
  }
  return eng_fail(c, MOMEDO_E_TIMEOUT, "no device used the link code before it expired");
}

int eng_link_code_decode(struct eng *c, struct link_code *l, const char *line) {
  int rc = link_code_decode(l, line);
  if (rc == MOMEDO_E_CHECKSUM) return eng_fail(c, rc, "the link code has a typo");
  if (rc == MOMEDO_E_PROTO) return eng_fail(c, rc, "that is not a momedo link code");
  if (rc == MOMEDO_E_VERSION)
    return eng_fail(c, rc, "that link code is of another version (run `device link` again "
                    "with the same version of momedo on both devices)");
  if (rc) return eng_fail(c, rc, "the link code is damaged: %s", momedo_strerror(rc));
  if (os_wall_ms() >= l->expires_ms) {
    char t[32];
    eng_format_time(t, l->expires_ms);
    return eng_fail(c, MOMEDO_E_EXPIRED, "this link code expired at %s: run `momedo device "
                    "link` on the first device again", t);
  }
  return 0;
}

/* Look in the link mailbox for an answer: for us (*state), or for another device
 * (the code was used: refused). 0 with *state NULL: none yet. */
static int find_answer(struct eng *c, struct eng_conn *cn, const struct link_keys *k,
                       const struct account *a, const uint8_t *request, size_t request_len,
                       uint8_t **state, size_t *state_len) {
  struct nodeapi_fetch f;
  int rc = nodeapi_link(&cn->api, k->id, request, request_len, os_wall_ms(), &f);
  if (rc) return eng_api_fail(c, cn, rc, "the link mailbox at the node is not reachable");
  for (size_t i = 0; i < f.n; i++) {
    uint8_t who[32];
    const struct nodeapi_obj *o = &f.objs[i];
    if (o->err || link_answer_for(who, k, o->ciphertext, o->ciphertext_len) != 0) continue;
    if (memcmp(who, a->device.pub, 32) != 0)
      return eng_fail(c, MOMEDO_E_DENIED, "this link code was used already, by another device: "
                      "refused. Run `momedo device link` on the first device again");
    rc = link_answer_open(state, state_len, k, a->device.pub, a->dh_sec, o->ciphertext,
                          o->ciphertext_len);
    return rc ? eng_fail(c, rc, "the first device's answer does not open: %s",
                         momedo_strerror(rc)) : 0;
  }
  return 0;
}

/* Ask (our random keys, proven), then wait for the answer until the code expires. */
static int join_ask(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                    const struct link_code *l, const struct link_keys *k, struct link_state *ls,
                    const struct eng_link_ui *ui) {
  uint8_t req[LINK_REQUEST_LEN], *state = NULL;
  size_t state_len = 0;
  struct account_device self;
  char safety[8];
  int rc = find_answer(c, cn, k, &st->acct, NULL, 0, &state, &state_len), ms;
  account_self_device(&st->acct, &self);
  if (rc == 0 && (rc = link_request_seal(req, k, &self, &st->acct.device)) != 0)
    rc = eng_fail(c, rc, "cannot make the link request");
  if (rc == 0) rc = find_answer(c, cn, k, &st->acct, req, sizeof req, &state, &state_len);
  if (rc == 0 && (rc = link_safety_code(safety, k, st->acct.device.pub)) == 0) {
    ui->waiting(ui->arg, safety);
  }
  while (rc == 0 && !state && (ms = left_ms(l->expires_ms)) > 0) {
    if (ui->stop && ui->stop(ui->arg)) return eng_fail(c, MOMEDO_E_CLOSED, "stopped");
    link_pause(cn, ms);
    rc = find_answer(c, cn, k, &st->acct, NULL, 0, &state, &state_len);
  }
  if (rc == 0 && !state)
    rc = eng_fail(c, MOMEDO_E_TIMEOUT, "the first device did not answer before the code expired");
  if (rc == 0 && (rc = state_decode(ls, state, state_len)) != 0)
    rc = eng_fail(c, rc, "the state from the first device is damaged");
  if (state) crypto_wipe(state, state_len);
  free(state);
  return rc;
}

/* The user's bundle at the node must list this device with exactly our keys. */
static int join_check_bundle(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                             const struct link_code *l) {
  struct nodeapi_bundle b;
  struct nodeapi_lookup_q q = {.identity_key = l->identity};
  uint8_t key[32];
  int rc = eng_lookup(c, cn, &q, key, &b), listed = 0;
  if (rc) return rc;
  struct account_device self;
  account_self_device(&st->acct, &self);
  st->acct.bundle_version = 0;
  if ((rc = account_learn_bundle(&st->acct, b.bundle)) != 0)
    return eng_fail(c, rc, "the user's key bundle is unusable: %s", momedo_strerror(rc));
  for (size_t i = 0; i < st->acct.n_devices; i++)
    listed |= memcmp(st->acct.devices[i].device_key, self.device_key, 32) == 0 &&
              memcmp(st->acct.devices[i].dh_key, self.dh_key, 32) == 0 &&
              st->acct.devices[i].prekey_id == self.prekey_id;
  return listed ? 0 : eng_fail(c, MOMEDO_E_NOTFOUND, "the user's key bundle does not list "
                               "this device with its keys");
}

/* Everything after the vault exists: keys, ask, authenticate, adopt. */
static int join_run(struct eng *c, struct eng_state *st, const struct link_code *l,
                    const struct eng_link_ui *ui) {
  struct eng_conn cn;
  struct link_state ls;
  struct link_keys k;
  memset(&ls, 0, sizeof ls);
  int rc = account_generate_device(&st->acct, l->identity, os_wall_ms());
  if (rc) return eng_fail(c, rc, "cannot make this device's keys");
  st->have_acct = 1;
  if ((rc = link_keys_derive(&k, l->secret)) != 0) return eng_fail(c, rc, "no keys");
  if ((rc = eng_conn_open(c, &cn, l->host, l->port, l->node_key)) != 0) return rc;
  rc = join_ask(c, st, &cn, l, &k, &ls, ui);
  /* The node admits us now: the bundle the first device published lists us. */
  if (rc == 0 && (rc = nodeapi_auth_user(&cn.api, &st->acct.device, l->identity)) != 0)
    rc = eng_api_fail(c, &cn, rc, "the node does not accept this device");
  if (rc == 0) rc = join_check_bundle(c, st, &cn, l);
  for (size_t i = 0; rc == 0 && i < ls.n_nodes; i++) {
    const struct account_node *nd = &ls.nodes[i];
    rc = i == 0 ? account_set_home(&st->acct, nd->host, nd->port, nd->key)
                : account_add_partner(&st->acct, nd->host, nd->port, nd->key);
  }
  if (rc == 0) {
    snprintf(st->acct.alias, sizeof st->acct.alias, "%s", ls.alias);
    st->acct.joined = 1;
    contacts_free(&st->contacts);
    st->contacts = ls.contacts;
    memset(&ls.contacts, 0, sizeof ls.contacts);
    rc = eng_save(c, st);
  }
  contacts_free(&ls.contacts);
  crypto_wipe(&k, sizeof k);
  eng_conn_close(&cn);
  return rc;
}

static void join_undo(struct eng_state *st) {
  static const char *files[] = {ACCOUNT_FILE, CONTACTS_FILE, TL_SEEN_FILE, ENG_SESSIONS_FILE,
                                ENG_REPLAY_FILE};
  char p[HOME_PATH_MAX];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (vault_remove(&st->vault, files[i]) != 0) continue; /* best effort */
  if (home_path(&st->home, VAULT_KEY_FILE, p, sizeof p) == 0) (void)unlink(p);
}

int eng_device_join(struct eng *c, struct eng_state *st, const struct link_code *l,
                    const char *pass, size_t pl, unsigned log2n, const struct eng_link_ui *ui) {
  int rc = eng_init_vault(c, st, pass, pl, log2n);
  if (rc) return rc;
  if ((rc = join_run(c, st, l, ui)) != 0) join_undo(st);
  return rc;
}
