/* client/cli/cli_device.c — `device link` (on the first device) and `device join` (on the
 * new one): the first device shows a code that expires in ten minutes and waits; the new
 * device reads the code from stdin (never argv), makes its own random keys and asks
 * through the code's link mailbox; the first device signs it into the key bundle and
 * answers with the identity-level state sealed to the new device's agreement key. Both
 * show a six-digit safety code, and the first device asks to confirm it. The protocol's
 * steps are the core's (client/core/engine_link.c); this file shows and asks. See
 * docs/client.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"

#define LINK_CODE_LINE_MAX (LINK_CODE_STR_MAX + 64)

/* ---- device link (first device) --------------------------------------------------- */

/* {"ok":true,"event":EVENT, ...}: one line of the linking dialogue on stdout. */
static void json_event(struct jsonw *j, const char *event) {
  jsonw_begin(j, stdout);
  jsonw_bool(j, "ok", 1);
  jsonw_str(j, "event", event);
}

static void print_code(struct cli *c, const char *code, uint64_t expires_ms) {
  char t[32];
  eng_format_time(t, expires_ms);
  if (c->json) {
    struct jsonw j;
    json_event(&j, "code");
    jsonw_str(&j, "code", code);
    jsonw_u64(&j, "expires_ms", expires_ms);
    jsonw_end(&j);
  } else {
    printf("On the new device run `momedo device join` and paste this code (or scan it);\n"
           "it is a secret, good until %s and for one device only:\n\n  %s\n\n", t, code);
    if (cli_qr_print(stdout, code) == 0) printf("\n");
    printf("waiting for the new device ...\n");
  }
  fflush(stdout);
}

/* Ask the user to compare the safety codes (or --yes). */
static int link_confirm(struct cli *c, const char *safety) {
  char line[16];
  if (c->json) {
    struct jsonw j;
    json_event(&j, "request");
    jsonw_str(&j, "safety_code", safety);
    jsonw_end(&j);
  } else {
    printf("a new device asks to join: safety code %s (the new device shows it too)\n", safety);
  }
  if (c->opt[CO_YES]) return 0;
  if (!isatty(STDIN_FILENO))
    return cli_fail(c, MOMEDO_E_DENIED, "compare the safety codes and confirm with --yes (or "
                    "run `device link` on a terminal)");
  printf("link it? [y/N] ");
  fflush(stdout);
  if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y'))
    return cli_fail(c, MOMEDO_E_DENIED, "not linked (the safety codes were not confirmed)");
  return 0;
}

static int device_link(struct cli *c, struct eng_state *st) {
  struct eng_conn *cn = NULL;
  struct link_code l;
  struct link_keys k;
  struct account_device d;
  char code[LINK_CODE_STR_MAX], safety[8];
  size_t n_groups = 0;
  memset(&k, 0, sizeof k);
  memset(code, 0, sizeof code);
  int rc = eng_conn_new(&cn);
  if (rc == 0) rc = eng_link_offer(&c->e, st, cn, &l, &k, code, sizeof code);
  if (rc) goto out;
  print_code(c, code, l.expires_ms);
  eng_release(st); /* other commands may use this home while we wait */
  rc = eng_link_wait(&c->e, cn, &k, l.expires_ms, &d);
  if (rc == 0) rc = link_safety_code(safety, &k, d.device_key);
  if (rc == 0) rc = link_confirm(c, safety);
  if (rc == 0) rc = eng_reacquire(&c->e, st);
  if (rc == 0) rc = eng_link_admit(&c->e, st, cn, &k, &d, &n_groups);
  if (rc == 0) {
    char hex[65];
    hex_encode(hex, sizeof hex, d.device_key, 32);
    if (c->json) {
      struct jsonw j;
      json_event(&j, "linked");
      jsonw_str(&j, "device_key", hex);
      jsonw_u64(&j, "devices", eng_device_count(st));
      jsonw_u64(&j, "groups", n_groups);
      jsonw_end(&j);
    } else
      printf("linked device %.16s (%zu devices; %zu group(s) updated or asked)\n", hex,
             eng_device_count(st), n_groups);
  }
out:
  crypto_wipe(&l, sizeof l);
  crypto_wipe(&k, sizeof k);
  crypto_wipe(code, sizeof code);
  eng_conn_free(cn);
  return rc;
}

/* ---- device join (new device) ----------------------------------------------------- */

/* The code, from stdin (a paste, or a QR scanner's output): never from argv, where it
 * would stay in the shell history and show in `ps`. */
static int read_code(struct cli *c, char *line, size_t cap) {
  if (isatty(STDIN_FILENO)) {
    fprintf(stderr, "Paste the link code your first device shows (or scan its QR code), "
            "then press Enter: ");
    fflush(stderr);
  }
  if (!fgets(line, (int)cap, stdin))
    return cli_fail(c, MOMEDO_E_INVAL, "no link code on standard input (run `momedo device "
                    "link` on your first device; paste its code here)");
  if (!strchr(line, '\n') && !feof(stdin))
    return cli_fail(c, MOMEDO_E_TOOBIG, "the line on standard input is longer than any link "
                    "code");
  return 0;
}

/* While the first device is asked: the safety code to compare. */
static void join_waiting(void *arg, const char *safety) {
  struct cli *c = arg;
  if (c->json) {
    struct jsonw j;
    json_event(&j, "waiting");
    jsonw_str(&j, "safety_code", safety);
    jsonw_end(&j);
  } else
    printf("safety code %s: the first device must show the same; waiting for it ...\n", safety);
  fflush(stdout);
}

static int device_join(struct cli *c) {
  struct eng_state *st = NULL;
  struct link_code l;
  char pass[ENG_PASS_MAX + 1], why[512], uid[IDS_USER_ID_STR_MAX], line[LINK_CODE_LINE_MAX];
  size_t pl = 0;
  memset(&l, 0, sizeof l);
  unsigned log2n = 0;
  int rc = cli_scrypt_opt(c, &log2n);
  if (rc == 0) rc = read_code(c, line, sizeof line);
  if (rc == 0) rc = eng_link_code_decode(&c->e, &l, line);
  crypto_wipe(line, sizeof line);
  if (rc) return rc;
  if ((rc = eng_state_new(&st)) != 0 || (rc = eng_home(&c->e, st, 1)) != 0) goto out;
  if (eng_has_vault(st)) {
    rc = cli_fail(c, MOMEDO_E_EXISTS, "%s already holds an identity: a new device needs an empty "
                  "home (--home DIR)", eng_home_dir(st));
    goto out;
  }
  rc = cli_passphrase_new(pass, sizeof pass, &pl, c->opt[CO_PASSFILE], CLI_PASS_ENV, why,
                          sizeof why);
  if (rc != 0) {
    rc = cli_fail(c, rc, "%s", why);
    goto out;
  }
  struct eng_link_ui ui = {join_waiting, NULL, c};
  rc = eng_device_join(&c->e, st, &l, pass, pl, log2n, &ui);
  crypto_wipe(pass, sizeof pass);
  if (rc) goto out;
  if ((rc = ids_user_id(uid, l.identity)) != 0) goto out;
  if (c->json) {
    struct jsonw j;
    json_event(&j, "joined");
    jsonw_str(&j, "user_id", uid);
    jsonw_u64(&j, "devices", eng_device_count(st));
    jsonw_u64(&j, "contacts", eng_contact_count(st));
    jsonw_end(&j);
  } else
    printf("this device joined user %s (%zu devices, %zu contacts copied)\n", uid,
           eng_device_count(st), eng_contact_count(st));
out:
  crypto_wipe(&l, sizeof l);
  eng_state_free(st);
  return rc;
}

int cli_cmd_device(struct cli *c) {
  const char *sub = c->pos[0];
  int link = strcmp(sub, "link") == 0, list = strcmp(sub, "list") == 0;
  int rm = strcmp(sub, "remove") == 0;
  if (strcmp(sub, "join") == 0) {
    if (c->n_pos > 1)
      return cli_fail(c, MOMEDO_E_INVAL, "the link code is a secret: do not put it on the "
                      "command line (it would stay in the shell history and show in `ps`). "
                      "Run `momedo device join` and paste it, or pipe it in from a scanner");
    if (c->opt[CO_YES]) return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo device join");
    return device_join(c);
  }
  if (!link && !list && !rm)
    return cli_fail(c, MOMEDO_E_INVAL, "unknown 'device %s' (use link, join, list or remove)",
                    sub);
  if (c->n_pos != 1 + rm || c->opt[CO_SCRYPT] || (c->opt[CO_YES] && !link))
    return cli_fail(c, MOMEDO_E_INVAL, "usage: momedo device link [--yes] | device list | "
                    "device remove DEVICE");
  struct eng_state *st = NULL;
  int rc = cli_open(c, &st, link || rm);
  if (rc == 0)
    rc = link ? device_link(c, st) : rm ? cli__device_remove(c, st, c->pos[1])
                                         : cli__device_list(c, st);
  eng_state_free(st);
  return rc;
}
