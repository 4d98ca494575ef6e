/* client/cli/cli_contact.c — `contact add`, `contact verify` and `contacts`. A contact is
 * found by full user ID, alias or scanned QR payload (the direct way, no key server),
 * and always pinned and shown by full user ID. A different key for a known name or
 * alias is refused loudly until the user verifies it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"

static void warn_changed(const struct contact *ct) {
  char nu[IDS_USER_ID_STR_MAX];
  if (ids_user_id(nu, ct->pending_key) != 0) nu[0] = '\0';
  fprintf(stderr,
          "\n"
          "  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
          "  !!  WARNING: THE KEY OF %s HAS CHANGED\n"
          "  !!  pinned:  %s\n"
          "  !!  offered: %s\n"
          "  !!  Someone may be impersonating this contact. Nothing will be sent\n"
          "  !!  to the new key. Compare the safety number in person, then run\n"
          "  !!      momedo contact verify %s\n"
          "  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
          contact_label(ct), ct->uid, nu, nu);
}

/* The suite a first message to device d uses (docs/crypto.md "Hybrid post-quantum
 * sessions"): 2 when its bundle entry carries an ML-KEM-768 key, else 1. */
static int device_suite(const struct account_device *d) {
  return d->pq_alg == OBJ_PQ_KEM_MLKEM768 ? ENG_SUITE_X25519_MLKEM768 : ENG_SUITE_X25519;
}

static const char *suite_name(int suite) {
  return suite == ENG_SUITE_X25519_MLKEM768 ? "X25519+ML-KEM-768" : "X25519";
}

/* The weakest suite over the contact's devices (0 without devices). */
static int contact_suite(const struct contact *ct) {
  int min = 0;
  for (size_t i = 0; i < ct->n_devices; i++)
    if (min == 0 || device_suite(&ct->devices[i]) < min) min = device_suite(&ct->devices[i]);
  return min;
}

/* The fields `contact add` and `contacts` print for one contact. */
static void json_contact(struct jsonw *j, const struct contact *ct) {
  jsonw_str(j, "user_id", ct->uid);
  jsonw_str_or_null(j, "name", ct->name[0] ? ct->name : NULL);
  jsonw_str_or_null(j, "alias", ct->alias[0] ? ct->alias : NULL);
  jsonw_bool(j, "verified", ct->verified);
  jsonw_u64(j, "devices", ct->n_devices);
  jsonw_u64(j, "suite", (uint64_t)contact_suite(ct));
}

/* The JSON answer of `contact add` and `contact show` up to their own fields. */
static void json_contact_begin(struct jsonw *j, const struct contact *ct, const char *safety) {
  jsonw_begin(j, stdout);
  jsonw_bool(j, "ok", 1);
  json_contact(j, ct);
  jsonw_str(j, "fingerprint", safety);
}

static int contact_add(struct cli *c, struct eng_state *st, const char *ref) {
  struct contact *ct = NULL;
  const char *alias = NULL;
  int rc = eng_contact_add(&c->e, st, ref, c->opt[CO_NAME], &ct, &alias);
  if (rc == MOMEDO_E_KEYCHANGED && ct) warn_changed(ct);
  if (rc) return rc;
  char safety[IDS_SAFETY_STR_MAX];
  if (ids_safety_number(safety, ct->key) != 0) safety[0] = '\0';
  if (c->json) {
    struct jsonw j;
    json_contact_begin(&j, ct, safety);
    jsonw_u64(&j, "home_nodes", ct->n_homes);
    jsonw_u64(&j, "home_hints", ct->n_hints);
    jsonw_end(&j);
  } else {
    printf("pinned %s\n  user ID:       %s\n  safety number: %s\n", contact_label(ct),
           ct->uid, safety);
    if (alias) printf("  (found by alias %s)\n", alias);
    printf("compare the safety number in person, then `momedo contact verify %s`\n", ct->uid);
  }
  return 0;
}

/* The key a verify reference means: a QR payload, a user ID of a pinned or pending
 * key, or a name (its pending key if any, else its pinned key). */
static int verify_key(struct cli *c, struct eng_state *st, const char *ref, uint8_t key[static 32]) {
  uint8_t bits[IDS_USER_ID_BYTES], kb[IDS_USER_ID_BYTES];
  if (ids_qr_parse(key, ref) == 0) return 0;
  struct contact *ct = eng_contact_by_name(st, ref);
  if (ct) {
    memcpy(key, ct->has_pending ? ct->pending_key : ct->key, 32);
    return 0;
  }
  int rc = ids_user_id_parse(bits, ref);
  if (rc) return cli_fail(c, rc, "'%s' is not a contact name, user ID or QR payload", ref);
  for (size_t i = 0; i < eng_contact_count(st); i++) {
    const struct contact *x = eng_contact_at(st, i);
    if (ids_user_id_bits(kb, x->key) == 0 && memcmp(kb, bits, sizeof kb) == 0) {
      memcpy(key, x->key, 32);
      return 0;
    }
    if (x->has_pending && ids_user_id_bits(kb, x->pending_key) == 0 &&
        memcmp(kb, bits, sizeof kb) == 0) {
      memcpy(key, x->pending_key, 32);
      return 0;
    }
  }
  return cli_fail(c, MOMEDO_E_NOTFOUND, "%s is not a contact (add it first)", ref);
}

static int confirm(struct cli *c, const char *uid, const char *safety) {
  if (c->opt[CO_YES]) return 0;
  FILE *tty = fopen("/dev/tty", "r+");
  if (!tty || !isatty(fileno(tty))) {
    if (tty) fclose(tty);
    return cli_fail(c, MOMEDO_E_INVAL, "no terminal to confirm on: add --yes once you have "
                    "compared the safety number of %s", uid);
  }
  char line[16];
  fprintf(tty, "%s\nsafety number: %s\nDoes it match what your contact's device shows? [y/N] ",
          uid, safety);
  fflush(tty);
  int ok = fgets(line, sizeof line, tty) && (line[0] == 'y' || line[0] == 'Y');
  fclose(tty);
  return ok ? 0 : cli_fail(c, MOMEDO_E_DENIED, "not verified (nothing changed)");
}

static int contact_verify(struct cli *c, struct eng_state *st, const char *ref) {
  uint8_t key[32];
  char uid[IDS_USER_ID_STR_MAX], safety[IDS_SAFETY_STR_MAX];
  struct contact *ct;
  int rc = verify_key(c, st, ref, key);
  if (rc == 0 && ((rc = ids_user_id(uid, key)) != 0 || (rc = ids_safety_number(safety, key)) != 0))
    rc = cli_fail(c, rc, "cannot format the key");
  if (rc == 0) rc = confirm(c, uid, safety);
  if (rc == 0 && (rc = eng_contact_verify(st, key, &ct)) != 0)
    rc = cli_fail(c, rc, "%s is not a contact", uid);
  if (rc == 0) rc = eng_save(&c->e, st);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "user_id", ct->uid);
    jsonw_str_or_null(&j, "name", ct->name[0] ? ct->name : NULL);
    jsonw_str(&j, "fingerprint", safety);
    jsonw_bool(&j, "verified", 1);
    jsonw_end(&j);
  } else if (rc == 0) {
    printf("verified %s (%s)\n", contact_label(ct), ct->uid);
  }
  return rc;
}

static void show_device_json(struct jsonw *j, const struct eng_state *st,
                             const struct account_device *d) {
  int ss = eng_session_suite(st, d->device_key);
  jsonw_open(j, NULL, '{');
  jsonw_hex(j, "device_key", d->device_key, 32);
  jsonw_u64(j, "suite", (uint64_t)device_suite(d));
  jsonw_str(j, "suite_name", suite_name(device_suite(d)));
  jsonw_u64(j, "prekey_id", d->prekey_id);
  jsonw_u64(j, "prekey_expires_ms", d->prekey_expires_ms);
  if (ss) jsonw_u64(j, "session_suite", (uint64_t)ss);
  else jsonw_null(j, "session_suite");
  jsonw_close(j);
}

/* `contact show REF`: the pinned key and, per device of the last bundle, the key
 * agreement a first message uses and that of the current session. */
static int contact_show(struct cli *c, struct eng_state *st, const char *ref) {
  uint8_t key[32];
  char safety[IDS_SAFETY_STR_MAX], dev[17];
  int rc = verify_key(c, st, ref, key);
  if (rc) return rc;
  const struct contact *ct = eng_contact_by_key(st, key);
  if (!ct) return cli_fail(c, MOMEDO_E_NOTFOUND, "'%s' is not a contact", ref);
  if (ids_safety_number(safety, ct->key) != 0) safety[0] = '\0';
  if (c->json) {
    struct jsonw j;
    json_contact_begin(&j, ct, safety);
    jsonw_bool(&j, "key_changed", ct->has_pending);
    jsonw_open(&j, "device_list", '[');
    for (size_t i = 0; i < ct->n_devices; i++) show_device_json(&j, st, &ct->devices[i]);
    jsonw_close(&j);
    jsonw_end(&j);
    return 0;
  }
  printf("%s\n  user ID:       %s\n  safety number: %s%s\n", contact_label(ct), ct->uid, safety,
         ct->verified ? "  (verified)" : "");
  for (size_t i = 0; i < ct->n_devices; i++) {
    const struct account_device *d = &ct->devices[i];
    int ss = eng_session_suite(st, d->device_key);
    hex_encode(dev, sizeof dev, d->device_key, 8);
    printf("  device %s  suite %d %s%s", dev, device_suite(d), suite_name(device_suite(d)),
           device_suite(d) < ENG_SUITE_X25519_MLKEM768
               ? " (not quantum-safe: that device announced no ML-KEM key)" : "");
    if (ss) printf("  session: suite %d %s", ss, suite_name(ss));
    printf("\n");
  }
  if (ct->n_devices == 0) printf("  no devices known yet (send or sync to fetch the bundle)\n");
  return 0;
}

int cli_cmd_contact(struct cli *c) {
  struct eng_state *st = NULL;
  const char *sub = c->pos[0];
  int add = strcmp(sub, "add") == 0, verify = strcmp(sub, "verify") == 0;
  int show = strcmp(sub, "show") == 0;
  if (!add && !verify && !show)
    return cli_fail(c, MOMEDO_E_INVAL, "unknown 'contact %s' (use add, verify or show)", sub);
  if (!add && c->opt[CO_NAME]) return cli_fail(c, MOMEDO_E_INVAL, "%s does not take --name", sub);
  if (!verify && c->opt[CO_YES]) return cli_fail(c, MOMEDO_E_INVAL, "%s does not take --yes", sub);
  int rc = cli_open(c, &st, 0);
  if (rc == 0)
    rc = add ? contact_add(c, st, c->pos[1])
             : verify ? contact_verify(c, st, c->pos[1]) : contact_show(c, st, c->pos[1]);
  eng_state_free(st);
  return rc;
}

int cli_cmd_contacts(struct cli *c) {
  struct eng_state *st = NULL;
  int rc = cli_open(c, &st, 0);
  if (rc == 0 && c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_open(&j, "contacts", '[');
    for (size_t i = 0; i < eng_contact_count(st); i++) {
      const struct contact *ct = eng_contact_at(st, i);
      jsonw_open(&j, NULL, '{');
      json_contact(&j, ct);
      jsonw_bool(&j, "key_changed", ct->has_pending);
      jsonw_close(&j);
    }
    jsonw_close(&j);
    jsonw_end(&j);
  } else if (rc == 0) {
    if (eng_contact_count(st) == 0)
      printf("no contacts yet: `momedo contact add ID --name NAME`\n");
    for (size_t i = 0; i < eng_contact_count(st); i++) {
      const struct contact *ct = eng_contact_at(st, i);
      printf("%-20s %s%s%s\n", ct->name[0] ? ct->name : "-", ct->uid,
             ct->verified ? "  verified" : "", ct->has_pending ? "  KEY CHANGED (refused)" : "");
    }
  }
  eng_state_free(st);
  return rc;
}
