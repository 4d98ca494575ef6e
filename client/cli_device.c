/* client/cli_device.c — `device link` (on the first device) and `device join CODE` (on
 * the new one): a second device of the same user. The link code carries a one-time
 * secret K, the user's identity key and a node; the first device derives the new
 * device's keys from K, adds it to the key bundle (new version, signed by the identity
 * key only it holds), and posts the identity-level state (nodes, alias, contacts)
 * sealed under a key from K to a mailbox derived from K. The new device derives the
 * same keys, authenticates, fetches and opens that state. See docs/client.md. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"
#include "invite.h"

#define LINK_PREFIX "momedo-link1:"
#define LINK_VERSION 1
#define LINK_TTL_MS (24ull * 3600 * 1000)
#define LINK_AD "momedo/link/v1"
#define LINK_BYTES_MAX (1 + 32 + 32 + 32 + 2 + 1 + INVITE_HOST_CHARS_MAX)
#define LINK_STR_MAX (sizeof LINK_PREFIX + IDS_B32_LEN(LINK_BYTES_MAX) + 2)
#define LINK_STATE_FORMAT 1

struct link_code {
  uint8_t k[ACCOUNT_LINK_SECRET_LEN];
  uint8_t identity[32];
  uint8_t node_key[32];
  char host[INVITE_HOST_CHARS_MAX + 1];
  uint16_t port;
};

static int link_encode(char *out, size_t cap, const struct link_code *l) {
  uint8_t b[LINK_BYTES_MAX];
  size_t hl = strlen(l->host);
  if (hl == 0 || hl > INVITE_HOST_CHARS_MAX) return MOMEDO_E_INVAL;
  b[0] = LINK_VERSION;
  memcpy(b + 1, l->k, 32);
  memcpy(b + 33, l->identity, 32);
  memcpy(b + 65, l->node_key, 32);
  b[97] = (uint8_t)(l->port >> 8);
  b[98] = (uint8_t)l->port;
  b[99] = (uint8_t)hl;
  memcpy(b + 100, l->host, hl);
  size_t pl = strlen(LINK_PREFIX);
  if (cap < pl + 1) return MOMEDO_E_NOSPACE;
  memcpy(out, LINK_PREFIX, pl);
  int rc = ids_b32_encode_check(out + pl, cap - pl, b, 100 + hl, 0);
  crypto_wipe(b, sizeof b);
  return rc;
}

static int link_decode(struct link_code *l, const char *s) {
  uint8_t b[LINK_BYTES_MAX];
  size_t n = 0, pl = strlen(LINK_PREFIX);
  while (*s == ' ' || *s == '\t' || *s == '\n') s++;
  if (strncasecmp(s, LINK_PREFIX, pl) != 0) return MOMEDO_E_PROTO;
  int rc = ids_b32_decode_check(b, sizeof b, &n, s + pl);
  if (rc) return rc;
  if (n < 101 || b[0] != LINK_VERSION || b[99] != n - 100 || (b[97] == 0 && b[98] == 0)) {
    crypto_wipe(b, sizeof b);
    return n >= 1 && b[0] != LINK_VERSION ? MOMEDO_E_VERSION : MOMEDO_E_INVAL;
  }
  memcpy(l->k, b + 1, 32);
  memcpy(l->identity, b + 33, 32);
  memcpy(l->node_key, b + 65, 32);
  l->port = (uint16_t)(b[97] << 8 | b[98]);
  memcpy(l->host, b + 100, n - 100);
  l->host[n - 100] = '\0';
  crypto_wipe(b, sizeof b);
  for (size_t i = 0; l->host[i]; i++)
    if ((unsigned char)l->host[i] < 0x21 || (unsigned char)l->host[i] > 0x7e) return MOMEDO_E_INVAL;
  return 0;
}

static int link_key(uint8_t out[static 32], const uint8_t k[static 32], const char *label) {
  return crypto_hkdf(out, 32, NULL, 0, k, 32, label, strlen(label));
}

/* ---- the state handed to the new device ------------------------------------------ */

struct link_state {
  uint32_t prekey_id;
  uint64_t created_ms;
  size_t n_nodes;
  struct account_node nodes[ACCOUNT_NODES_MAX];
  char alias[ACCOUNT_ALIAS_MAX];
  struct contacts contacts;
};

static int state_seal(const struct cli_state *st, const uint8_t k[static 32], uint32_t prekey_id,
                      uint64_t created_ms, uint8_t **out, size_t *out_len) {
  struct vbuf b = {0}, cb = {0};
  uint8_t key[32];
  vbuf_u8(&b, LINK_STATE_FORMAT);
  vbuf_be32(&b, prekey_id);
  vbuf_be64(&b, created_ms);
  vbuf_u8(&b, (uint8_t)st->acct.n_nodes);
  for (size_t i = 0; i < st->acct.n_nodes; i++) {
    vbuf_str(&b, st->acct.nodes[i].host);
    vbuf_be32(&b, st->acct.nodes[i].port);
    vbuf_raw(&b, st->acct.nodes[i].key, 32);
  }
  vbuf_str(&b, st->acct.alias);
  contacts_encode(&st->contacts, &cb, 0);
  vbuf_bytes(&b, cb.p, cb.len);
  int rc = b.err ? b.err : cb.err;
  if (rc == 0 && b.len + CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN > OBJ_CIPHERTEXT_BYTES_MAX)
    rc = MOMEDO_E_TOOBIG;
  *out = rc ? NULL : malloc(CRYPTO_XNONCE_LEN + b.len + CRYPTO_TAG_LEN);
  if (rc == 0 && !*out) rc = MOMEDO_E_NOMEM;
  if (rc == 0) rc = link_key(key, k, "momedo/link/seal/v1");
  if (rc == 0) rc = crypto_random(*out, CRYPTO_XNONCE_LEN);
  if (rc == 0)
    rc = crypto_aead_seal(*out + CRYPTO_XNONCE_LEN, b.p, b.len, (const uint8_t *)LINK_AD,
                          strlen(LINK_AD), *out, key);
  if (rc == 0) *out_len = CRYPTO_XNONCE_LEN + b.len + CRYPTO_TAG_LEN;
  if (rc) {
    free(*out);
    *out = NULL;
  }
  crypto_wipe(key, sizeof key);
  vbuf_free(&b);
  vbuf_free(&cb);
  return rc;
}

static int state_open(struct link_state *ls, const uint8_t k[static 32], const uint8_t *in,
                      size_t len) {
  uint8_t key[32], f = 0, nn = 0;
  memset(ls, 0, sizeof *ls);
  if (len < CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN) return MOMEDO_E_DECRYPT;
  size_t pn = len - CRYPTO_XNONCE_LEN - CRYPTO_TAG_LEN;
  uint8_t *pt = malloc(pn ? pn : 1);
  if (!pt) return MOMEDO_E_NOMEM;
  int rc = link_key(key, k, "momedo/link/seal/v1");
  if (rc == 0)
    rc = crypto_aead_open(pt, in + CRYPTO_XNONCE_LEN, len - CRYPTO_XNONCE_LEN,
                          (const uint8_t *)LINK_AD, strlen(LINK_AD), in, key);
  crypto_wipe(key, sizeof key);
  struct cursor c;
  cursor_init(&c, pt, pn);
  const uint8_t *cp;
  size_t cn;
  if (rc == 0 && (cursor_get_u8(&c, &f) || f != LINK_STATE_FORMAT ||
                  cursor_get_be32(&c, &ls->prekey_id) || cursor_get_be64(&c, &ls->created_ms) ||
                  cursor_get_u8(&c, &nn) || nn == 0 || nn > ACCOUNT_NODES_MAX))
    rc = MOMEDO_E_CORRUPT;
  for (size_t i = 0; rc == 0 && i < nn; i++) {
    uint32_t port = 0;
    struct account_node *n = &ls->nodes[i];
    if (vrd_str(&c, n->host, sizeof n->host) || cursor_get_be32(&c, &port) || port == 0 ||
        port > 65535 || vrd_fixed(&c, n->key, 32))
      rc = MOMEDO_E_CORRUPT;
    n->port = (uint16_t)port;
  }
  ls->n_nodes = nn;
  if (rc == 0 && (vrd_str(&c, ls->alias, sizeof ls->alias) ||
                  vrd_bytes(&c, &cp, &cn, OBJ_CIPHERTEXT_BYTES_MAX) || cursor_left(&c) != 0))
    rc = MOMEDO_E_CORRUPT;
  if (rc == 0) rc = contacts_parse(&ls->contacts, cp, cn);
  crypto_wipe(pt, pn);
  free(pt);
  return rc;
}

/* ---- device link (first device) --------------------------------------------------- */

static int device_link(struct cli *c, struct cli_state *st) {
  struct cli_conn cn;
  struct link_code l;
  struct account nd;
  struct account_device entry;
  uint8_t *sealed = NULL, mb[32], id[OBJ_ID_LEN];
  size_t sealed_len = 0;
  uint32_t pk_id = 0;
  char code[LINK_STR_MAX];
  memset(&cn, 0, sizeof cn);
  if (!st->acct.has_identity)
    return cli_fail(c, MOMEDO_E_DENIED, "only the first device (it holds the identity key) can "
                    "link another device");
  if (st->acct.n_devices >= OBJ_DEVICES_MAX)
    return cli_fail(c, MOMEDO_E_QUOTA, "this user already has %d devices", OBJ_DEVICES_MAX);
  int rc = cli_connect(c, st, &cn);
  if (rc) return rc;
  const struct account_node *node = &st->acct.nodes[cn.node];
  memset(&l, 0, sizeof l);
  memcpy(l.identity, st->acct.identity.pub, 32);
  memcpy(l.node_key, node->key, 32);
  snprintf(l.host, sizeof l.host, "%s", node->host);
  l.port = node->port;
  uint64_t now = cli_now_ms();
  if (strlen(node->host) > INVITE_HOST_CHARS_MAX) rc = MOMEDO_E_INVAL;
  if (rc == 0) rc = crypto_random(l.k, sizeof l.k);
  while (rc == 0 && pk_id == 0) rc = crypto_random(&pk_id, sizeof pk_id);
  if (rc == 0) rc = account_link_device(&nd, l.identity, l.k, pk_id, now);
  if (rc) {
    rc = cli_fail(c, rc, "cannot prepare the link: %s", momedo_strerror(rc));
    goto out;
  }
  account_self_device(&nd, &entry);
  memcpy(entry.home_node, node->key, 32);
  account_wipe(&nd);
  if ((rc = account_put_device(&st->acct, &entry)) != 0 || (rc = cli_publish(c, st, &cn)) != 0)
    goto out;
  if ((rc = state_seal(st, l.k, pk_id, now, &sealed, &sealed_len)) != 0 ||
      (rc = link_key(mb, l.k, "momedo/link/mailbox/v1")) != 0) {
    rc = cli_fail(c, rc, "cannot seal the state for the new device: %s", momedo_strerror(rc));
    goto out;
  }
  static struct cli_dests d; /* the new device reads it from one of our home nodes */
  cli__dests_clear(&d);
  cli__dests_self(st, &d);
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = sealed, .ciphertext_len = sealed_len,
                               .ttl_ms = LINK_TTL_MS, .dest_nodes = d.k, .n_dest_nodes = d.n};
  if ((rc = nodeapi_post(&cn.api, &p, id, NULL)) != 0) {
    rc = cli_api_fail(c, &cn, rc, "posting the link state failed");
    goto out;
  }
  if ((rc = cli_save(c, st)) != 0) goto out;
  if ((rc = link_encode(code, sizeof code, &l)) != 0) {
    rc = cli_fail(c, rc, "cannot encode the link code");
    goto out;
  }
  if (c->json) {
    printf("{\"ok\":true,\"code\":\"%s\",\"devices\":%zu}\n", code, st->acct.n_devices);
  } else {
    printf("On the new device run (within 24 hours; the code is a secret, use it once):\n\n"
           "  momedo device join %s\n\n", code);
    if (cli_qr_print(stdout, code) == 0) printf("\n");
  }
out:
  crypto_wipe(&l, sizeof l);
  crypto_wipe(code, sizeof code);
  free(sealed);
  cli_conn_close(&cn);
  return rc;
}

/* ---- device join (new device) ----------------------------------------------------- */

static int fetch_state(struct cli *c, struct cli_conn *cn, const struct link_code *l,
                       struct link_state *ls) {
  uint8_t mb[32];
  struct nodeapi_fetch f;
  int rc = link_key(mb, l->k, "momedo/link/mailbox/v1");
  if (rc) return rc;
  rc = nodeapi_fetch(&cn->api, mb, 0, 0, cli_now_ms(), &f);
  if (rc) return cli_api_fail(c, cn, rc, "fetching the link state failed");
  for (size_t i = f.n; i-- > 0;) {
    if (f.objs[i].err || !f.objs[i].ciphertext) continue;
    if (state_open(ls, l->k, f.objs[i].ciphertext, f.objs[i].ciphertext_len) == 0) return 0;
    contacts_free(&ls->contacts);
  }
  return cli_fail(c, MOMEDO_E_NOTFOUND, "the node holds no link state for this code (expired, "
                  "or not replicated here yet; run `device link` again)");
}

/* Everything after the vault exists: derive, authenticate, fetch, adopt. */
static int join_run(struct cli *c, struct cli_state *st, const struct link_code *l) {
  struct cli_conn cn;
  struct link_state ls;
  struct nodeapi_bundle b;
  uint8_t key[32];
  memset(&ls, 0, sizeof ls);
  /* The signing key does not depend on the prekey parameters: a placeholder id will do. */
  int rc = account_link_device(&st->acct, l->identity, l->k, 1, 0);
  if (rc) return cli_fail(c, rc, "cannot derive the device keys");
  st->have_acct = 1;
  if ((rc = cli_conn_open(c, &cn, l->host, l->port, l->node_key)) != 0) return rc;
  /* The node admits us because the bundle the first device published lists us. */
  if (rc == 0 && (rc = nodeapi_auth_user(&cn.api, &st->acct.device, l->identity)) != 0)
    rc = cli_api_fail(c, &cn, rc, "the node does not accept this device yet (the key "
                      "bundle naming it may not have reached the node; try again in a moment)");
  if (rc == 0) rc = fetch_state(c, &cn, l, &ls);
  if (rc == 0 && (rc = account_link_device(&st->acct, l->identity, l->k, ls.prekey_id,
                                           ls.created_ms)) != 0)
    rc = cli_fail(c, rc, "cannot derive the device keys");
  for (size_t i = 0; rc == 0 && i < ls.n_nodes; i++)
    rc = i == 0 ? account_set_home(&st->acct, ls.nodes[0].host, ls.nodes[0].port, ls.nodes[0].key)
                : account_add_partner(&st->acct, ls.nodes[i].host, ls.nodes[i].port, ls.nodes[i].key);
  struct nodeapi_lookup_q q = {.identity_key = l->identity};
  if (rc == 0) rc = cli_lookup(c, &cn, &q, key, &b);
  if (rc == 0 && (rc = account_learn_bundle(&st->acct, b.bundle)) != 0)
    rc = cli_fail(c, rc, "the user's key bundle is unusable: %s", momedo_strerror(rc));
  int listed = 0;
  for (size_t i = 0; rc == 0 && i < st->acct.n_devices; i++)
    listed |= memcmp(st->acct.devices[i].device_key, st->acct.device.pub, 32) == 0 &&
              st->acct.devices[i].prekey_id == ls.prekey_id;
  if (rc == 0 && !listed)
    rc = cli_fail(c, MOMEDO_E_NOTFOUND, "the key bundle on this node does not list this device "
                  "yet; try again in a moment");
  if (rc == 0) {
    snprintf(st->acct.alias, sizeof st->acct.alias, "%s", ls.alias);
    st->acct.joined = 1;
    contacts_free(&st->contacts);
    st->contacts = ls.contacts;
    memset(&ls.contacts, 0, sizeof ls.contacts);
    rc = cli_save(c, st);
  }
  contacts_free(&ls.contacts);
  cli_conn_close(&cn);
  return rc;
}

static void join_undo(struct cli_state *st) {
  static const char *files[] = {ACCOUNT_FILE, CONTACTS_FILE, TL_SEEN_FILE, CLI_SESSIONS_FILE,
                                CLI_REPLAY_FILE};
  char p[HOME_PATH_MAX];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (vault_remove(&st->vault, files[i]) != 0) continue; /* best effort */
  if (home_path(&st->home, VAULT_KEY_FILE, p, sizeof p) == 0) (void)unlink(p);
}

static int device_join(struct cli *c, const char *code) {
  struct cli_state st;
  struct link_code l;
  char pass[VAULT_PASS_MAX + 1], why[512], uid[IDS_USER_ID_STR_MAX];
  size_t pl = 0;
  memset(&st, 0, sizeof st);
  st.home.lock_fd = -1;
  int rc = link_decode(&l, code);
  if (rc == MOMEDO_E_CHECKSUM) return cli_fail(c, rc, "the link code has a typo");
  if (rc == MOMEDO_E_PROTO) return cli_fail(c, rc, "that is not a momedo link code");
  if (rc) return cli_fail(c, rc, "the link code is damaged: %s", momedo_strerror(rc));
  if ((rc = cli_home(c, &st, 1)) != 0) goto out;
  if (vault_exists(st.home.dir)) {
    rc = cli_fail(c, MOMEDO_E_EXISTS, "%s already holds an identity: a new device needs an empty "
                  "home (--home DIR)", st.home.dir);
    goto out;
  }
  if ((rc = vault_passphrase(pass, sizeof pass, &pl, c->opt[CO_PASSFILE], 1, why, sizeof why)) != 0) {
    rc = cli_fail(c, rc, "%s", why);
    goto out;
  }
  unsigned log2n = c->opt[CO_SCRYPT] ? (unsigned)atoi(c->opt[CO_SCRYPT]) : 0;
  rc = vault_create(&st.vault, st.home.dir, pass, pl, log2n);
  crypto_wipe(pass, sizeof pass);
  if (rc) {
    rc = cli_fail(c, rc, "cannot create the vault: %s", momedo_strerror(rc));
    goto out;
  }
  if ((rc = home_lock(&st.home)) == 0) rc = join_run(c, &st, &l);
  if (rc) {
    join_undo(&st);
    goto out;
  }
  if ((rc = ids_user_id(uid, l.identity)) != 0) goto out;
  if (c->json)
    printf("{\"ok\":true,\"user_id\":\"%s\",\"devices\":%zu,\"contacts\":%zu}\n", uid,
           st.acct.n_devices, st.contacts.n);
  else
    printf("this device joined user %s (%zu devices, %zu contacts copied)\n", uid,
           st.acct.n_devices, st.contacts.n);
out:
  crypto_wipe(&l, sizeof l);
  cli_close(&st);
  return rc;
}

/* ---- device list / device remove ---------------------------------------------------- */

static void print_device(struct cli *c, const struct cli_state *st,
                         const struct account_device *d, int first) {
  char hex[65], home[17];
  hex_encode(hex, sizeof hex, d->device_key, 32);
  hex_encode(home, sizeof home, d->home_node, 8);
  int self = memcmp(d->device_key, st->acct.device.pub, 32) == 0;
  if (c->json)
    printf("%s{\"device_key\":\"%s\",\"home_node\":\"%s\",\"this\":%s}", first ? "" : ",",
           hex, home, self ? "true" : "false");
  else
    printf("  %.16s  home node %s%s\n", hex, home, self ? "  (this device)" : "");
}

static int device_list(struct cli *c, struct cli_state *st) {
  if (c->json) printf("{\"ok\":true,\"version\":%llu,\"devices\":[",
                      (unsigned long long)st->acct.bundle_version);
  else printf("devices of this user (key bundle version %llu):\n",
              (unsigned long long)st->acct.bundle_version);
  for (size_t i = 0; i < st->acct.n_devices; i++) print_device(c, st, &st->acct.devices[i], i == 0);
  if (c->json) printf("],\"removed\":%zu}\n", st->acct.n_removed);
  else if (st->acct.n_removed) printf("%zu device(s) removed for good\n", st->acct.n_removed);
  return 0;
}

/* The one device whose key starts with the hex digits ref (at least 8). */
static int device_by_prefix(struct cli *c, const struct cli_state *st, const char *ref,
                            uint8_t key[static 32]) {
  size_t rl = strlen(ref), found = 0;
  if (rl < 8 || rl > 64 || strspn(ref, "0123456789abcdefABCDEF") != rl)
    return cli_fail(c, MOMEDO_E_INVAL, "name the device by 8 or more hex digits of its key "
                    "(`momedo device list`)");
  for (size_t i = 0; i < st->acct.n_devices; i++) {
    char hex[65];
    hex_encode(hex, sizeof hex, st->acct.devices[i].device_key, 32);
    if (strncasecmp(hex, ref, rl) == 0) {
      memcpy(key, st->acct.devices[i].device_key, 32);
      found++;
    }
  }
  if (found == 1) return 0;
  return cli_fail(c, found ? MOMEDO_E_EXISTS : MOMEDO_E_NOTFOUND, found ? "%s matches several "
                  "devices: give more digits" : "no device of this user starts with %s", ref);
}

/* Remove a device for good (a lost or stolen phone): a new bundle without it, naming it
 * among removed_devices, which no later bundle may drop; its sessions are forgotten.
 * Everyone who receives from it checks the bundle again within a minute. */
static int device_remove(struct cli *c, struct cli_state *st, const char *ref) {
  struct cli_conn cn;
  uint8_t key[32];
  memset(&cn, 0, sizeof cn);
  if (!st->acct.has_identity)
    return cli_fail(c, MOMEDO_E_DENIED, "only the first device (it holds the identity key) can "
                    "remove a device");
  int rc = device_by_prefix(c, st, ref, key);
  if (rc) return rc;
  rc = account_remove_device(&st->acct, key);
  if (rc == MOMEDO_E_INVAL) return cli_fail(c, rc, "this is the device you are using");
  if (rc == MOMEDO_E_QUOTA)
    return cli_fail(c, rc, "this user removed %d devices already (the most a key bundle "
                    "names); a new identity is needed", OBJ_REMOVED_DEVICES_MAX);
  if (rc) return cli_fail(c, rc, "cannot remove the device: %s", momedo_strerror(rc));
  for (size_t i = st->sess.n; i-- > 0;) {
    struct e2e_session_info info;
    e2e_session_get_info(st->sess.v[i], &info);
    if (memcmp(info.peer_device, key, 32) != 0) continue;
    e2e_session_free(st->sess.v[i]);
    memmove(&st->sess.v[i], &st->sess.v[i + 1], (st->sess.n - i - 1) * sizeof st->sess.v[0]);
    st->sess.n--;
  }
  if ((rc = cli_connect(c, st, &cn)) == 0 && (rc = cli_publish(c, st, &cn)) == 0)
    rc = cli_save(c, st);
  cli_conn_close(&cn);
  if (rc) return rc;
  char hex[65];
  hex_encode(hex, sizeof hex, key, 32);
  if (c->json) printf("{\"ok\":true,\"removed\":\"%s\",\"devices\":%zu}\n", hex,
                      st->acct.n_devices);
  else printf("removed device %.16s for good (%zu device(s) left)\n", hex, st->acct.n_devices);
  return 0;
}

int cli_cmd_device(struct cli *c) {
  const char *sub = c->pos[0];
  if (strcmp(sub, "list") == 0 || strcmp(sub, "remove") == 0) {
    int rm = sub[0] == 'r';
    if (c->n_pos != 1 + rm || c->opt[CO_INVITE] || c->opt[CO_SCRYPT])
      return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo device list | device remove DEVICE");
    struct cli_state st;
    int rc = cli_open(c, &st, rm);
    if (rc == 0) rc = rm ? device_remove(c, &st, c->pos[1]) : device_list(c, &st);
    cli_close(&st);
    return rc;
  }
  if (strcmp(sub, "link") == 0) {
    if (c->n_pos != 1 || c->opt[CO_INVITE] || c->opt[CO_SCRYPT])
      return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo device link");
    struct cli_state st;
    int rc = cli_open(c, &st, 1);
    if (rc == 0) rc = device_link(c, &st);
    cli_close(&st);
    return rc;
  }
  if (strcmp(sub, "join") == 0) {
    if (c->opt[CO_INVITE])
      return cli_fail(c, MOMEDO_E_INVAL, "device join needs no --invite: the node admits the "
                      "new device because the user's key bundle lists it");
    if (c->n_pos != 2) return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo device join CODE");
    return device_join(c, c->pos[1]);
  }
  return cli_fail(c, MOMEDO_E_INVAL, "unknown 'device %s' (use link, join, list or remove)",
                  sub);
}
