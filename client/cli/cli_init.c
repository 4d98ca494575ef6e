/* client/cli/cli_init.c — `init` (a new identity in a new home, sealed under a passphrase),
 * `join INVITE` (register this device at the node named in the invite, learn its
 * partners, publish the key bundle, ask for an alias) and `id` (user ID, safety
 * number, QR payload and code). Prints no secret. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hex.h"
#include "invite.h"

int cli_cmd_init(struct cli *c) {
  struct eng_state *st = NULL;
  char pass[ENG_PASS_MAX + 1], why[512], uid[IDS_USER_ID_STR_MAX];
  size_t pl = 0;
  unsigned log2n = 0;
  int rc = cli_scrypt_opt(c, &log2n);
  if (rc) return rc;
  if ((rc = eng_state_new(&st)) != 0) return cli_fail(c, rc, "out of memory");
  rc = eng_home(&c->e, st, 1);
  if (rc) goto out;
  if (eng_has_vault(st)) {
    rc = cli_fail(c, MOMEDO_E_EXISTS, "%s already holds a momedo identity (nothing changed)",
                  eng_home_dir(st));
    goto out;
  }
  rc = cli_passphrase_new(pass, sizeof pass, &pl, c->opt[CO_PASSFILE], CLI_PASS_ENV, why,
                          sizeof why);
  if (rc) {
    rc = cli_fail(c, rc, "%s", why);
    goto out;
  }
  rc = eng_init_vault(&c->e, st, pass, pl, log2n);
  crypto_wipe(pass, sizeof pass);
  if (rc) goto out;
  if ((rc = eng_new_identity(st)) != 0) goto out;
  if ((rc = eng_save(&c->e, st)) != 0) goto out;
  if ((rc = ids_user_id(uid, eng_identity_key(st))) != 0) goto out;
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "user_id", uid);
    jsonw_str(&j, "home", eng_home_dir(st));
    jsonw_open(&j, "scrypt", '{');
    jsonw_u64(&j, "log2_n", log2n);
    jsonw_u64(&j, "r", ENG_SCRYPT_R);
    jsonw_u64(&j, "p", ENG_SCRYPT_P);
    jsonw_close(&j);
    jsonw_end(&j);
  } else {
    printf("created a new identity in %s\nyour user ID: %s\n"
           "next: `momedo join INVITE` with the invite code from your administrator\n",
           eng_home_dir(st), uid);
  }
out:
  if (rc && !c->e.why[0]) cli_fail(c, rc, "init failed: %s", momedo_strerror(rc));
  eng_state_free(st);
  return rc;
}

/* ---- join ----------------------------------------------------------------------- */

static void print_joined(struct cli *c, struct eng_state *st, const char *uid) {
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "user_id", uid);
    jsonw_str_or_null(&j, "alias", eng_alias(st)[0] ? eng_alias(st) : NULL);
    jsonw_open(&j, "nodes", '[');
    for (size_t i = 0; i < eng_node_count(st); i++) {
      const struct account_node *nd = eng_node_at(st, i);
      char a[ACCOUNT_HOST_MAX + 16];
      snprintf(a, sizeof a, "%s:%u", nd->host, nd->port);
      jsonw_open(&j, NULL, '{');
      jsonw_str(&j, "address", a);
      jsonw_str(&j, "role", i ? "partner" : "home");
      jsonw_close(&j);
    }
    jsonw_close(&j);
    jsonw_end(&j);
    return;
  }
  printf("joined %s:%u as %s\n", eng_node_at(st, 0)->host, eng_node_at(st, 0)->port, uid);
  if (eng_alias(st)[0]) printf("your short alias: %s\n", eng_alias(st));
  for (size_t i = 1; i < eng_node_count(st); i++) {
    const struct account_node *nd = eng_node_at(st, i);
    printf("partner node: %s:%u\n", nd->host, nd->port);
  }
}

int cli_cmd_join(struct cli *c) {
  struct eng_state *st = NULL;
  struct invite inv;
  char uid[IDS_USER_ID_STR_MAX];
  int rc = eng_invite_decode(&c->e, &inv, c->pos[0]);
  if (rc) return rc;
  if ((rc = cli_open(c, &st, 0)) == 0 && (rc = eng_join_node(&c->e, st, &inv)) == 0 &&
      (rc = eng_save(&c->e, st)) == 0 && (rc = ids_user_id(uid, eng_identity_key(st))) == 0)
    print_joined(c, st, uid);
  eng_state_free(st);
  return rc;
}

/* ---- id ------------------------------------------------------------------------- */

/* "home_nodes":[{"fingerprint":..,"node_key":..},..]: where the user's mail is held. */
static void json_homes(struct jsonw *j, const uint8_t (*homes)[ACCOUNT_KEY_LEN], size_t n) {
  jsonw_open(j, "home_nodes", '[');
  for (size_t i = 0; i < n; i++) {
    char fp[IDS_NODE_FP_STR_MAX];
    if (ids_node_fingerprint(fp, homes[i]) != 0) fp[0] = '\0';
    jsonw_open(j, NULL, '{');
    jsonw_str(j, "fingerprint", fp);
    jsonw_hex(j, "node_key", homes[i], ACCOUNT_KEY_LEN);
    jsonw_close(j);
  }
  jsonw_close(j);
}

int cli_cmd_id(struct cli *c) {
  struct eng_state *st = NULL;
  char uid[IDS_USER_ID_STR_MAX], safety[IDS_SAFETY_STR_MAX], qr[IDS_CARD_STR_MAX],
      key[IDS_KEY_B32_STR_MAX], dev[IDS_KEY_B32_STR_MAX], mbx[2 * OBJ_MAILBOX_LEN + 1];
  uint8_t mb[OBJ_MAILBOX_LEN], homes[OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN];
  size_t n_homes = 0;
  int rc = cli_open(c, &st, 0);
  if (rc == 0) n_homes = eng_homes(st, homes);
  if (rc == 0 && ((rc = ids_user_id(uid, eng_identity_key(st))) != 0 ||
                  (rc = ids_safety_number(safety, eng_identity_key(st))) != 0 ||
                  (rc = ids_card_format(qr, eng_identity_key(st), homes, n_homes)) != 0 ||
                  (rc = ids_key_to_b32(key, eng_identity_key(st))) != 0 ||
                  (rc = ids_key_to_b32(dev, eng_device_key(st))) != 0 ||
                  (rc = eng_mailbox(st, mb)) != 0))
    rc = cli_fail(c, rc, "cannot format the identity");
  if (rc == 0) hex_encode(mbx, sizeof mbx, mb, sizeof mb);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "user_id", uid);
    jsonw_str(&j, "identity_key", key);
    jsonw_str(&j, "fingerprint", safety);
    jsonw_str(&j, "qr_payload", qr);
    jsonw_str(&j, "device_key", dev);
    jsonw_str(&j, "mailbox", mbx);
    jsonw_bool(&j, "primary_device", eng_is_first_device(st));
    jsonw_bool(&j, "joined", eng_joined(st));
    jsonw_u64(&j, "devices", eng_device_count(st));
    jsonw_str_or_null(&j, "alias", eng_alias(st)[0] ? eng_alias(st) : NULL);
    json_homes(&j, homes, n_homes);
    jsonw_end(&j);
  } else if (rc == 0) {
    printf("user ID:        %s\n", uid);
    if (eng_alias(st)[0]) printf("alias:          %s\n", eng_alias(st));
    printf("safety number:  %s\n", safety);
    printf("QR payload:     %s\n\n", qr);
    if (cli_qr_print(stdout, qr) != 0)
      printf("(the QR payload is too long to draw; share it as text)\n");
    printf("\nOthers add you with `momedo contact add %s`; compare the safety number in person.\n",
           uid);
  }
  eng_state_free(st);
  return rc;
}
