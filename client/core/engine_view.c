/* client/core/engine_view.c — the home's state as front-ends see it (issue 13 part 1):
 * struct eng_state is opaque outside the engine (engine_int.h), so the command line, the
 * bot and the app make it with eng_state_new and read what they show through these
 * calls (account, devices, nodes, contacts, groups, channels, history, attachments),
 * plus the few small changes they ask for. Nothing here prints or talks to a node. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* engine.h names these for front-ends, which do not see vault.h or x3dh.h. */
_Static_assert(ENG_PASS_MAX == VAULT_PASS_MAX, "ENG_PASS_MAX");
_Static_assert(ENG_PASS_NEW_MIN == VAULT_PASS_NEW_MIN, "ENG_PASS_NEW_MIN");
_Static_assert(ENG_SCRYPT_LOG2N == VAULT_SCRYPT_LOG2N, "ENG_SCRYPT_LOG2N");
_Static_assert(ENG_SCRYPT_LOG2N_MIN == VAULT_SCRYPT_LOG2N_MIN, "ENG_SCRYPT_LOG2N_MIN");
_Static_assert(ENG_SCRYPT_LOG2N_MAX == VAULT_SCRYPT_LOG2N_MAX, "ENG_SCRYPT_LOG2N_MAX");
_Static_assert(ENG_SCRYPT_R == VAULT_SCRYPT_R && ENG_SCRYPT_P == VAULT_SCRYPT_P, "ENG_SCRYPT_R/P");
_Static_assert(ENG_SUITE_X25519 == E2E_SUITE_X25519, "ENG_SUITE_X25519");
_Static_assert(ENG_SUITE_X25519_MLKEM768 == E2E_SUITE_X25519_MLKEM768, "ENG_SUITE_MLKEM768");

int eng_state_new(struct eng_state **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return MOMEDO_E_NOMEM;
  (*out)->home.lock_fd = -1;
  return 0;
}

void eng_state_reset(struct eng_state *st) {
  eng_close(st);
  crypto_wipe(st, sizeof *st);
  st->home.lock_fd = -1;
}

void eng_state_free(struct eng_state *st) {
  if (!st) return;
  eng_close(st);
  crypto_wipe(st, sizeof *st);
  free(st);
}

/* ---- the home ---------------------------------------------------------------------- */

const char *eng_home_dir(const struct eng_state *st) { return st->home.dir; }

int eng_home_file(const struct eng_state *st, const char *name, char *out, size_t cap) {
  return home_path(&st->home, name, out, cap);
}

int eng_home_lock(struct eng_state *st) { return home_lock(&st->home); }
void eng_home_unlock(struct eng_state *st) { home_unlock(&st->home); }
int eng_has_vault(const struct eng_state *st) { return vault_exists(st->home.dir); }
void eng_set_save_dir(struct eng_state *st, const char *dir) { st->save_dir = dir; }
const char *eng_save_dir(const struct eng_state *st) { return st->save_dir; }

/* ---- the account ------------------------------------------------------------------- */

const uint8_t *eng_identity_key(const struct eng_state *st) { return st->acct.identity.pub; }
const uint8_t *eng_device_key(const struct eng_state *st) { return st->acct.device.pub; }
const char *eng_alias(const struct eng_state *st) { return st->acct.alias; }
int eng_is_first_device(const struct eng_state *st) { return st->acct.has_identity; }
int eng_joined(const struct eng_state *st) { return st->acct.joined; }

size_t eng_homes(const struct eng_state *st,
                 uint8_t out[static OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN]) {
  return account_homes(&st->acct, out);
}

int eng_mailbox(const struct eng_state *st, uint8_t mb[static OBJ_MAILBOX_LEN]) {
  return account_mailbox(&st->acct, mb);
}

size_t eng_node_count(const struct eng_state *st) { return st->acct.n_nodes; }

const struct account_node *eng_node_at(const struct eng_state *st, size_t i) {
  return i < st->acct.n_nodes ? &st->acct.nodes[i] : NULL;
}

size_t eng_device_count(const struct eng_state *st) { return st->acct.n_devices; }

const struct account_device *eng_device_at(const struct eng_state *st, size_t i) {
  return i < st->acct.n_devices ? &st->acct.devices[i] : NULL;
}

size_t eng_removed_count(const struct eng_state *st) { return st->acct.n_removed; }
uint64_t eng_bundle_version(const struct eng_state *st) { return st->acct.bundle_version; }
uint32_t eng_prekey_id(const struct eng_state *st) { return st->acct.prekeys[0].id; }
int eng_prekey_pending(const struct eng_state *st) { return account_prekey_pending(&st->acct); }
uint64_t eng_save_count(const struct eng_state *st) { return st->counter; }

int eng_new_identity(struct eng_state *st) {
  int rc = account_generate(&st->acct, os_wall_ms());
  st->have_acct = rc == 0;
  return rc;
}

/* ---- contacts ---------------------------------------------------------------------- */

size_t eng_contact_count(const struct eng_state *st) { return st->contacts.n; }

const struct contact *eng_contact_at(const struct eng_state *st, size_t i) {
  return i < st->contacts.n ? &st->contacts.v[i] : NULL;
}

struct contact *eng_contact_by_key(struct eng_state *st, const uint8_t key[static 32]) {
  return contacts_find_key(&st->contacts, key);
}

struct contact *eng_contact_by_name(struct eng_state *st, const char *name) {
  return contacts_find_name(&st->contacts, name);
}

struct contact *eng_contact_resolve(struct eng_state *st, const char *ref) {
  return contacts_resolve(&st->contacts, ref);
}

int eng_contact_verify(struct eng_state *st, const uint8_t key[static 32], struct contact **out) {
  return contacts_verify(&st->contacts, key, out);
}

int eng_session_suite(const struct eng_state *st, const uint8_t device[static 32]) {
  struct e2e_session_info info;
  for (size_t i = st->sess.n; i-- > 0;) {
    e2e_session_get_info(st->sess.v[i], &info);
    if (memcmp(info.peer_device, device, 32) == 0) return info.suite;
  }
  return 0;
}

/* ---- groups and channels ----------------------------------------------------------- */

size_t eng_group_count(const struct eng_state *st) { return st->gr.n; }

struct eng_group *eng_group_at(struct eng_state *st, size_t i) {
  return i < st->gr.n ? &st->gr.v[i] : NULL;
}

void eng_group_info(const struct eng_group *cg, struct group_info *gi) {
  group_get_info(cg->g, gi);
}

const uint8_t *eng_group_id(const struct eng_group *cg) { return cg->id; }
size_t eng_group_member_count(const struct eng_group *cg) { return group_member_count(cg->g); }

int eng_group_member_at(const struct eng_group *cg, size_t i, struct group_member_view *mv) {
  return group_member_at(cg->g, i, mv);
}

size_t eng_channel_count(const struct eng_state *st) { return st->gr.n_ch; }

struct eng_channel *eng_channel_at(struct eng_state *st, size_t i) {
  return i < st->gr.n_ch ? &st->gr.ch[i] : NULL;
}

const char *eng_channel_name(const struct eng_channel *ch) { return ch->name; }
const char *eng_channel_display(const struct eng_channel *ch) { return ch->display; }
const uint8_t *eng_channel_mailbox(const struct eng_channel *ch) { return ch->k.mailbox; }

/* ---- history and attachments ------------------------------------------------------- */

int eng_hist_conv(struct eng_state *st, enum hist_conv_kind kind,
                  const uint8_t key[static TL_KEY_LEN], struct hist_conv *out) {
  return hist_conv(&st->hist, kind, key, out);
}

int eng_hist_page(struct eng_state *st, const struct hist_conv *hc, int64_t before, size_t n,
                  struct tl_entry *out, int64_t *rows, size_t *got) {
  return hist_page(&st->hist, hc, before, n, out, rows, got);
}

int eng_hist_get(struct eng_state *st, const struct hist_conv *hc,
                 const uint8_t id[static TL_ID_LEN], struct tl_entry *e) {
  return hist_get(&st->hist, hc, id, e, NULL);
}

int eng_hist_meta_get(struct eng_state *st, const char *key, uint64_t *v) {
  return hist_meta_get(&st->hist, key, v);
}

int eng_hist_meta_set(struct eng_state *st, const char *key, uint64_t v) {
  return hist_meta_set(&st->hist, key, v);
}

int eng_attachment_read(const struct eng_state *st, const char *vname, uint8_t **data,
                        size_t *len) {
  return vault_read(&st->vault, vname, data, len);
}

int eng_file_write(const char *path, const uint8_t *data, size_t len) {
  return vault_atomic_write(path, data, len, 0600);
}

int eng_file_read(const char *path, size_t max, uint8_t **data, size_t *len) {
  return vault_read_file(path, max, data, len);
}

int eng_vault_exists(const char *dir) { return vault_exists(dir); }

int eng_passphrase_set(char *out, size_t cap, size_t *len, const char *s, size_t n) {
  return vault_passphrase_set(out, cap, len, s, n);
}

int eng_passphrase_file(char *out, size_t cap, size_t *len, const char *file, char *why,
                        size_t why_cap) {
  return vault_passphrase_file(out, cap, len, file, why, why_cap);
}

/* ---- the passphrase ---------------------------------------------------------------- */

int eng_pass_check(const struct eng_state *st, const char *pass, size_t pl) {
  return vault_pass_ok(&st->vault, pass, pl);
}

int eng_pass_change(struct eng_state *st, const char *pass, size_t pl, unsigned log2n) {
  return vault_rekey(&st->vault, pass, pl, log2n);
}
