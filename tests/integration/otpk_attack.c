/* tests/integration/otpk_attack.c — momedo-otpk-attack, a test tool for the one-time
 * prekey attack tests (test_client_otpk.py). It opens a real `momedo` home
 * (MOMEDO_PASSPHRASE), connects to its home node as that device and:
 *   claim CONTACT COUNT   claims up to COUNT one-time prekeys of CONTACT's first device
 *                         from its home node (through the own node when that is another
 *                         one), printing the ids handed out (and the status that stopped it)
 *   held                  how many of this device's own prekeys its home node holds
 *   capture               reads this device's own mailbox without acknowledging or
 *                         saving anything: every item's ciphertext and its OPK id
 *   inject CONTACT HEX [OPK_ID]  posts ciphertext HEX (a captured first message) to
 *                         CONTACT's first device, with the OPK id rewritten if given
 * One JSON line out. Test tool only: never installed, never part of the product. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine_int.h"  /* a test tool: it reaches into connections and sessions */
#include "cursor.h"
#include "hex.h"

#define ATTACK_CT_MAX (2 * E2E_ENVELOPE_MAX)

static int fail(struct cli *c, int rc) {
  cli_json_fail(stdout, rc, c->e.why);
  return 1;
}

static int claim(struct cli *c, struct eng_conn *cn, const struct contact *ct, long count) {
  struct jsonw j;
  jsonw_begin(&j, stdout);
  jsonw_bool(&j, "ok", 1);
  jsonw_open(&j, "ids", '[');
  int rc = 0;
  long i = 0;
  uint64_t t0 = os_mono_ns();
  for (; i < count; i++) {
    struct otpk_pub p;
    int found = 0;
    const struct account_device *d = &ct->devices[0];
    if (memcmp(d->home_node, cn->api.node_key, 32) == 0)
      rc = nodeapi_prekey_claim(&cn->api, d->device_key, &p, &found);
    else /* across nodes: through this node, answered by the device's home node */
      rc = nodeapi_prekey_claim_from(&cn->api, d->device_key, d->home_node, &p, &found);
    if (rc || !found) break;
    jsonw_u64(&j, NULL, p.id);
  }
  jsonw_close(&j);
  jsonw_u64(&j, "us_per_claim", i ? (os_mono_ns() - t0) / 1000 / (uint64_t)i : 0);
  jsonw_str_or_null(&j, "stopped", rc ? momedo_status_name(rc) : NULL);
  jsonw_str_or_null(&j, "reason", rc ? nodeapi_reason(&cn->api) : NULL);
  jsonw_end(&j);
  (void)c;
  return 0;
}

static int capture(struct cli *c, struct eng_state *st, struct eng_conn *cn) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  struct nodeapi_fetch f;
  int rc = eng_mailbox(st, mb);
  if (rc == 0) rc = nodeapi_fetch(&cn->api, mb, 0, 100, os_wall_ms(), &f);
  if (rc) return eng_api_fail(&c->e, cn, rc, "fetch");
  printf("{\"ok\":true,\"items\":[");
  for (size_t i = 0, k = 0; i < f.n; i++) {
    struct e2e_envelope env;
    if (f.objs[i].err || !f.objs[i].ciphertext ||
        e2e_envelope_parse(&env, f.objs[i].ciphertext, f.objs[i].ciphertext_len) != 0)
      continue;
    char *hx = malloc(2 * f.objs[i].ciphertext_len + 1);
    if (!hx) return MOMEDO_E_NOMEM;
    hex_encode(hx, 2 * f.objs[i].ciphertext_len + 1, f.objs[i].ciphertext,
               f.objs[i].ciphertext_len);
    printf("%s{\"type\":%u,\"opk_id\":%u,\"ct\":\"%s\"}", k++ ? "," : "", env.type,
           (unsigned)env.opk_id, hx);
    free(hx);
  }
  printf("]}\n");
  return 0;
}

static int inject(struct cli *c, struct eng_conn *cn, const struct contact *ct, const char *hx,
                  const char *opk) {
  size_t hl = strlen(hx), n = hl / 2;
  uint8_t mb[OBJ_MAILBOX_LEN], id[OBJ_ID_LEN];
  if (hl > ATTACK_CT_MAX || n < E2E_PREKEY_PREFIX_LEN) return cli_fail(c, MOMEDO_E_INVAL, "ct");
  uint8_t *b = malloc(n);
  if (!b) return MOMEDO_E_NOMEM;
  int rc = hex_decode(b, n, hx, hl);
  size_t at = (rc == 0 && b[1] == E2E_TYPE_PREKEY_SUITE ? 3 : 2) + E2E_KEY_LEN + 4; /* OPK id */
  if (rc == 0 && opk) be32_put(b + at, (uint32_t)strtoul(opk, NULL, 10));
  if (rc == 0) rc = obj_device_mailbox(mb, ct->devices[0].device_key);
  struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = b, .ciphertext_len = n,
                               .device_key = ct->devices[0].device_key};
  if (rc == 0) rc = nodeapi_post(&cn->api, &p, id, NULL);
  free(b);
  if (rc) return eng_api_fail(&c->e, cn, rc, "post");
  printf("{\"ok\":true}\n");
  return 0;
}

int main(int argc, char **argv) {
  struct cli c;
  struct eng_state *st = NULL;
  struct eng_conn cn;
  memset(&c, 0, sizeof c);
  memset(&cn, 0, sizeof cn);
  c.out = stdout;
  c.e.timeout_ms = 30000;
  c.json = 1;
  if (argc < 4 || strcmp(argv[1], "--home") != 0) {
    fprintf(stderr, "usage: momedo-otpk-attack --home DIR claim|capture|inject ...\n");
    return 2;
  }
  c.opt[CO_HOME] = argv[2];
  cli_engine_setup(&c);
  const char *cmd = argv[3];
  const struct contact *ct = NULL;
  int rc = cli_open(&c, &st, 1);
  if (rc == 0) rc = eng_connect(&c.e, st, &cn);
  if (rc == 0 && argc >= 5 && !strcmp(cmd, "claim") + !strcmp(cmd, "inject")) {
    ct = eng_contact_resolve(st, argv[4]);
    if (!ct || ct->n_devices == 0) rc = cli_fail(&c, MOMEDO_E_NOTFOUND, "no such contact");
  }
  if (rc == 0 && !strcmp(cmd, "claim") && argc == 6)
    rc = claim(&c, &cn, ct, strtol(argv[5], NULL, 10));
  else if (rc == 0 && !strcmp(cmd, "held") && argc == 4) {
    uint32_t held = 0;
    rc = nodeapi_prekey_upload(&cn.api, NULL, 0, 0, &held);
    if (rc) rc = eng_api_fail(&c.e, &cn, rc, "held");
    else printf("{\"ok\":true,\"held\":%u}\n", (unsigned)held);
  } else if (rc == 0 && !strcmp(cmd, "capture") && argc == 4)
    rc = capture(&c, st, &cn);
  else if (rc == 0 && !strcmp(cmd, "inject") && (argc == 6 || argc == 7))
    rc = inject(&c, &cn, ct, argv[5], argc == 7 ? argv[6] : NULL);
  else if (rc == 0)
    rc = cli_fail(&c, MOMEDO_E_INVAL, "usage: claim C N | held | capture | inject C HEX [OPK]");
  eng_conn_close(&cn);
  eng_state_free(st);
  return rc ? fail(&c, rc) : 0;
}
