/* client/core/engine_contact.c — adding a contact (issue 13 part 1): the key a reference
 * names (a scanned QR card with the key inside, else a user ID or an alias looked up at
 * the home node), pinned under a name, its bundle fetched when a node answers, saved. A
 * different key for a known contact is kept pending and refused until verified. Prints
 * nothing: the front-end shows the contact, or the warning for a changed key. */
#include <string.h>

#include "engine_int.h"

static int alias_shaped(const char *s) {
  size_t n = strlen(s);
  if (n < OBJ_ALIAS_CHARS_MIN || n > OBJ_ALIAS_CHARS_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
      return 0;
  }
  return 1;
}

/* Find the key a reference names: QR payload (key inside), or a lookup on a node. */
static int key_for_ref(struct eng *c, struct eng_state *st, const char *ref,
                       uint8_t key[static 32], const char **alias, struct ids_card *card,
                       struct eng_conn *cn, int *conn_open) {
  uint8_t bits[IDS_USER_ID_BYTES];
  struct nodeapi_bundle b;
  *alias = NULL;
  card->n_hints = 0;
  int rc = ids_card_parse(card, ref);
  if (rc == 0) {
    memcpy(key, card->key, 32);
    return 0;
  }
  card->n_hints = 0;
  if (rc != MOMEDO_E_PROTO)
    return eng_fail(c, rc, "the QR payload is damaged: %s", momedo_strerror(rc));
  struct nodeapi_lookup_q q = {0};
  rc = ids_user_id_parse(bits, ref);
  if (rc == MOMEDO_E_CHECKSUM)
    return eng_fail(c, rc, "'%s' has a typo: its check character does not match", ref);
  if (rc == 0) q.user_id = ref;
  else if (alias_shaped(ref)) q.alias = *alias = ref;
  else
    return eng_fail(c, MOMEDO_E_INVAL, "'%s' is neither a user ID (XXXX-XXXX-XXXX-XXXX-XXXX-C), "
                    "an alias nor a momedo QR payload", ref);
  if (!st->acct.joined)
    return eng_fail(c, MOMEDO_E_UNEXPECTED, "looking up %s needs a node: run `momedo join` "
                    "first (or add the contact by its QR payload)", ref);
  if ((rc = eng_connect(c, st, cn)) != 0) return rc;
  *conn_open = 1;
  return eng_lookup(c, cn, &q, key, &b);
}

int eng_contact_add(struct eng *c, struct eng_state *st, const char *ref, const char *name,
                    struct contact **out, const char **alias_out) {
  uint8_t key[32];
  const char *alias = NULL;
  struct ids_card card;
  struct eng_conn cn;
  struct contact *ct = NULL;
  int open = 0;
  memset(&cn, 0, sizeof cn);
  *out = NULL;
  if (alias_out) *alias_out = NULL;
  if (name && contacts_name_check(name) != 0)
    return eng_fail(c, MOMEDO_E_INVAL, "--name must be 1..%d printable bytes and not look like "
                    "a user ID", CONTACT_NAME_MAX);
  int rc = key_for_ref(c, st, ref, key, &alias, &card, &cn, &open);
  if (rc == 0 && memcmp(key, st->acct.identity.pub, 32) == 0)
    rc = eng_fail(c, MOMEDO_E_INVAL, "that is your own ID");
  if (rc == 0) {
    rc = contacts_pin(&st->contacts, key, name, alias, os_wall_ms(), &ct);
    if (rc == MOMEDO_E_KEYCHANGED) {
      int r2 = eng_save(c, st); /* remember the pending key so `verify` can accept it */
      rc = r2 ? r2 : eng_fail(c, rc, "the key of %s changed; refused until `momedo contact "
                              "verify`", contact_label(ct));
    } else if (rc == MOMEDO_E_EXISTS) {
      rc = eng_fail(c, rc, "the name '%s' belongs to another contact", name);
    } else if (rc) {
      rc = eng_fail(c, rc, "cannot add the contact: %s", momedo_strerror(rc));
    }
  }
  if (rc == 0 && card.n_hints) contacts_set_hints(ct, &card);
  if (rc == 0 && open && eng_refresh_contact(c, st, &cn, ct) != 0)
    eng__note(c, "momedo: note: %s\n", c->why);
  if (rc == 0) rc = eng_save(c, st);
  if (open) eng_conn_close(&cn);
  *out = ct;
  if (alias_out) *alias_out = alias;
  return rc;
}
