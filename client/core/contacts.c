/* client/core/contacts.c — the pinned contact list. Decides trust (first use pins, a change
 * is refused until verified); never fetches anything itself and never lets a name
 * leave the device. */
#include "contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cursor.h"
#include "vault.h"

#define CONTACTS_FORMAT 4 /* 2: home nodes, card hints; 3: revoked flag, removed devices;
                            * 4: the devices' ML-KEM keys */

void contacts_init(struct contacts *c) { memset(c, 0, sizeof *c); }

void contacts_free(struct contacts *c) {
  free(c->v);
  memset(c, 0, sizeof *c);
}

struct contact *contacts_find_key(struct contacts *c, const uint8_t key[static ACCOUNT_KEY_LEN]) {
  for (size_t i = 0; i < c->n; i++)
    if (memcmp(c->v[i].key, key, ACCOUNT_KEY_LEN) == 0) return &c->v[i];
  return NULL;
}

struct contact *contacts_find_name(struct contacts *c, const char *name) {
  if (!name || !name[0]) return NULL;
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->v[i].name, name) == 0) return &c->v[i];
  return NULL;
}

static struct contact *find_alias(struct contacts *c, const char *alias) {
  if (!alias || !alias[0]) return NULL;
  for (size_t i = 0; i < c->n; i++)
    if (strcasecmp(c->v[i].alias, alias) == 0) return &c->v[i];
  return NULL;
}

struct contact *contacts_resolve(struct contacts *c, const char *ref) {
  uint8_t bits[IDS_USER_ID_BYTES], kb[IDS_USER_ID_BYTES];
  struct contact *ct = contacts_find_name(c, ref);
  if (ct) return ct;
  if (ids_user_id_parse(bits, ref) == 0) {
    for (size_t i = 0; i < c->n; i++)
      if (ids_user_id_bits(kb, c->v[i].key) == 0 && memcmp(kb, bits, sizeof kb) == 0)
        return &c->v[i];
    return NULL;
  }
  return find_alias(c, ref);
}

int contacts_name_check(const char *name) {
  uint8_t bits[IDS_USER_ID_BYTES];
  size_t n = strlen(name);
  if (n == 0 || n > CONTACT_NAME_MAX) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (ch < 0x20 || ch == 0x7f) return MOMEDO_E_INVAL;
  }
  if (ids_user_id_parse(bits, name) != MOMEDO_E_INVAL) return MOMEDO_E_INVAL;
  return 0;
}

static int contact_new(struct contacts *c, const uint8_t key[static ACCOUNT_KEY_LEN],
                       uint64_t now_ms, struct contact **out) {
  if (c->n >= CONTACTS_MAX) return MOMEDO_E_QUOTA;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 8;
    struct contact *v = realloc(c->v, cap * sizeof *v);
    if (!v) return MOMEDO_E_NOMEM;
    c->v = v;
    c->cap = cap;
  }
  struct contact *ct = &c->v[c->n];
  memset(ct, 0, sizeof *ct);
  memcpy(ct->key, key, ACCOUNT_KEY_LEN);
  int rc = ids_user_id(ct->uid, key);
  if (rc) return rc;
  ct->added_ms = now_ms;
  c->n++;
  *out = ct;
  return 0;
}

int contacts_pin(struct contacts *c, const uint8_t key[static ACCOUNT_KEY_LEN], const char *name,
                 const char *alias, uint64_t now_ms, struct contact **out) {
  *out = NULL;
  if (name && contacts_name_check(name) != 0) return MOMEDO_E_INVAL;
  if (alias && strlen(alias) >= ACCOUNT_ALIAS_MAX) return MOMEDO_E_INVAL;
  /* A name or alias someone else holds: that binding is what a key change looks like. */
  struct contact *by_name = contacts_find_name(c, name), *by_alias = find_alias(c, alias);
  struct contact *other = by_name && memcmp(by_name->key, key, ACCOUNT_KEY_LEN) != 0 ? by_name
                          : by_alias && memcmp(by_alias->key, key, ACCOUNT_KEY_LEN) != 0
                              ? by_alias
                              : NULL;
  if (other) {
    other->has_pending = 1;
    memcpy(other->pending_key, key, ACCOUNT_KEY_LEN);
    *out = other;
    return MOMEDO_E_KEYCHANGED;
  }
  struct contact *ct = contacts_find_key(c, key);
  if (!ct) {
    int rc = contact_new(c, key, now_ms, &ct);
    if (rc) return rc;
  }
  if (name) snprintf(ct->name, sizeof ct->name, "%s", name);
  if (alias) snprintf(ct->alias, sizeof ct->alias, "%s", alias);
  *out = ct;
  return 0;
}

int contacts_verify(struct contacts *c, const uint8_t key[static ACCOUNT_KEY_LEN],
                    struct contact **out) {
  *out = NULL;
  struct contact *old = NULL;
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].has_pending && memcmp(c->v[i].pending_key, key, ACCOUNT_KEY_LEN) == 0)
      old = &c->v[i];
  if (!old) {
    struct contact *ct = contacts_find_key(c, key);
    if (!ct) return MOMEDO_E_NOTFOUND;
    ct->verified = 1;
    *out = ct;
    return 0;
  }
  /* Drop a separate record of the new key (its name, if any, yields to the verified one). */
  struct contact *dup = contacts_find_key(c, key);
  if (dup) {
    size_t di = (size_t)(dup - c->v), oi = (size_t)(old - c->v);
    c->v[di] = c->v[c->n - 1];
    c->n--;
    if (oi == c->n) old = &c->v[di];
  }
  memcpy(old->key, key, ACCOUNT_KEY_LEN);
  int rc = ids_user_id(old->uid, key);
  if (rc) return rc;
  old->has_pending = 0;
  memset(old->pending_key, 0, sizeof old->pending_key);
  old->verified = 1;
  old->bundle_version = 0;
  old->n_devices = 0;
  old->revoked = 0;
  old->n_removed = 0;
  *out = old;
  return 0;
}

int contacts_set_bundle(struct contact *ct, const Momedo__KeyBundle *b) {
  if (b->identity_key.len != ACCOUNT_KEY_LEN ||
      memcmp(b->identity_key.data, ct->key, ACCOUNT_KEY_LEN) != 0)
    return MOMEDO_E_KEYCHANGED;
  if (ct->revoked && !b->revoked) return MOMEDO_E_DEAD;
  if (b->revoked == ct->revoked) { /* else: the first revocation, whatever its version */
    if (b->version < ct->bundle_version) return MOMEDO_E_SUPERSEDED;
    if (b->version == ct->bundle_version) return 0;
  }
  struct account_device devs[OBJ_DEVICES_MAX];
  uint8_t removed[OBJ_REMOVED_DEVICES_MAX][ACCOUNT_KEY_LEN];
  size_t n = 0, nr = 0;
  int rc = account_devices_from_bundle(b, devs, &n);
  if (rc == 0 && !b->revoked)
    rc = account_removed_from_bundle(b, (const uint8_t(*)[32])ct->removed, ct->n_removed,
                                     removed, &nr);
  if (rc) return rc;
  if (b->revoked) {
    n = 0;
    nr = ct->n_removed; /* keep what we knew */
    memcpy(removed, ct->removed, nr * sizeof removed[0]);
  }
  memcpy(ct->devices, devs, n * sizeof devs[0]);
  ct->n_devices = n;
  ct->n_homes = 0;
  for (size_t i = 0; i < b->n_home_nodes && ct->n_homes < OBJ_HOME_NODES_MAX; i++)
    if (b->home_nodes[i].len == ACCOUNT_KEY_LEN)
      memcpy(ct->homes[ct->n_homes++], b->home_nodes[i].data, ACCOUNT_KEY_LEN);
  memcpy(ct->removed, removed, nr * sizeof removed[0]);
  ct->n_removed = nr;
  ct->revoked = b->revoked ? 1 : 0;
  ct->bundle_version = b->version;
  return 0;
}

void contacts_set_hints(struct contact *ct, const struct ids_card *card) {
  ct->n_hints = card->n_hints < IDS_CARD_HINTS_MAX ? card->n_hints : IDS_CARD_HINTS_MAX;
  memcpy(ct->hints, card->hints, ct->n_hints * IDS_CARD_HINT_LEN);
}

const char *contact_label(const struct contact *ct) { return ct->name[0] ? ct->name : ct->uid; }

/* ---- storage -------------------------------------------------------------------- */

static void save_device(struct vbuf *b, const struct account_device *d) {
  vbuf_raw(b, d->device_key, 32);
  vbuf_raw(b, d->dh_key, 32);
  vbuf_raw(b, d->prekey, 32);
  vbuf_be32(b, d->prekey_id);
  vbuf_be64(b, d->prekey_expires_ms);
  vbuf_raw(b, d->prekey_sig, CRYPTO_SIG_LEN);
  vbuf_raw(b, d->home_node, 32);
  vbuf_u8(b, (uint8_t)d->pq_alg); /* format 4 */
  if (d->pq_alg) vbuf_raw(b, d->pq_key, MLKEM768_EK_LEN);
}

void contacts_encode(const struct contacts *c, struct vbuf *b, int with_devices) {
  vbuf_u8(b, CONTACTS_FORMAT);
  vbuf_be32(b, (uint32_t)c->n);
  for (size_t i = 0; i < c->n; i++) {
    const struct contact *ct = &c->v[i];
    size_t nd = with_devices ? ct->n_devices : 0;
    vbuf_raw(b, ct->key, 32);
    vbuf_str(b, ct->name);
    vbuf_str(b, ct->alias);
    vbuf_u8(b, (uint8_t)ct->verified);
    vbuf_be64(b, ct->added_ms);
    vbuf_u8(b, (uint8_t)ct->has_pending);
    vbuf_raw(b, ct->pending_key, 32);
    vbuf_be64(b, with_devices ? ct->bundle_version : 0);
    vbuf_u8(b, (uint8_t)nd);
    for (size_t j = 0; j < nd; j++) save_device(b, &ct->devices[j]);
    size_t nh = with_devices ? ct->n_homes : 0;
    vbuf_u8(b, (uint8_t)nh);
    for (size_t j = 0; j < nh; j++) vbuf_raw(b, ct->homes[j], ACCOUNT_KEY_LEN);
    vbuf_u8(b, (uint8_t)ct->n_hints);
    for (size_t j = 0; j < ct->n_hints; j++) vbuf_raw(b, ct->hints[j], IDS_CARD_HINT_LEN);
    size_t nr = with_devices ? ct->n_removed : 0;
    vbuf_u8(b, (uint8_t)(with_devices && ct->revoked));
    vbuf_u8(b, (uint8_t)nr);
    for (size_t j = 0; j < nr; j++) vbuf_raw(b, ct->removed[j], ACCOUNT_KEY_LEN);
  }
}

int contacts_save(const struct contacts *c, const struct vault *v) {
  struct vbuf b = {0};
  contacts_encode(c, &b, 1);
  int rc = b.err ? b.err : vault_write(v, CONTACTS_FILE, b.p, b.len);
  vbuf_free(&b);
  return rc;
}

/* Format 2: the bundle's home nodes and the card's hints. */
static int load_homes(struct contact *ct, struct cursor *cu) {
  uint8_t nh, nt;
  if (cursor_get_u8(cu, &nh) || nh > OBJ_HOME_NODES_MAX) return MOMEDO_E_CORRUPT;
  for (size_t j = 0; j < nh; j++)
    if (vrd_fixed(cu, ct->homes[j], ACCOUNT_KEY_LEN)) return MOMEDO_E_CORRUPT;
  if (cursor_get_u8(cu, &nt) || nt > IDS_CARD_HINTS_MAX) return MOMEDO_E_CORRUPT;
  for (size_t j = 0; j < nt; j++)
    if (vrd_fixed(cu, ct->hints[j], IDS_CARD_HINT_LEN)) return MOMEDO_E_CORRUPT;
  ct->n_homes = nh;
  ct->n_hints = nt;
  return 0;
}

static int load_one(struct contacts *c, struct cursor *cu, uint8_t format) {
  uint8_t key[32], ver, pend, nd, rev = 0, nr = 0;
  struct contact *ct;
  if (vrd_fixed(cu, key, 32) || contacts_find_key(c, key)) return MOMEDO_E_CORRUPT;
  int rc = contact_new(c, key, 0, &ct);
  if (rc) return rc;
  if (vrd_str(cu, ct->name, sizeof ct->name) || vrd_str(cu, ct->alias, sizeof ct->alias) ||
      cursor_get_u8(cu, &ver) || cursor_get_be64(cu, &ct->added_ms) ||
      cursor_get_u8(cu, &pend) || vrd_fixed(cu, ct->pending_key, 32) ||
      cursor_get_be64(cu, &ct->bundle_version) || cursor_get_u8(cu, &nd) ||
      nd > OBJ_DEVICES_MAX)
    return MOMEDO_E_CORRUPT;
  ct->verified = ver != 0;
  ct->has_pending = pend != 0;
  ct->n_devices = nd;
  for (size_t j = 0; j < nd; j++) {
    struct account_device *d = &ct->devices[j];
    if (vrd_fixed(cu, d->device_key, 32) || vrd_fixed(cu, d->dh_key, 32) ||
        vrd_fixed(cu, d->prekey, 32) || cursor_get_be32(cu, &d->prekey_id) ||
        cursor_get_be64(cu, &d->prekey_expires_ms) || vrd_fixed(cu, d->prekey_sig, 64) ||
        vrd_fixed(cu, d->home_node, 32))
      return MOMEDO_E_CORRUPT;
    if (format >= 4 && account_get_device_pq(cu, d) != 0) return MOMEDO_E_CORRUPT;
  }
  /* Format 1 knew no home nodes: the next bundle refresh fills them (version 0). */
  if (format == 1) ct->bundle_version = 0;
  rc = format == 1 ? 0 : load_homes(ct, cu);
  if (rc == 0 && format >= 3 &&
      (cursor_get_u8(cu, &rev) || rev > 1 || cursor_get_u8(cu, &nr) ||
       nr > OBJ_REMOVED_DEVICES_MAX))
    return MOMEDO_E_CORRUPT;
  for (size_t j = 0; rc == 0 && j < nr; j++)
    if (vrd_fixed(cu, ct->removed[j], ACCOUNT_KEY_LEN)) return MOMEDO_E_CORRUPT;
  ct->revoked = rev;
  ct->n_removed = nr;
  return rc;
}

int contacts_parse(struct contacts *c, const uint8_t *d, size_t n) {
  uint8_t f;
  uint32_t count;
  int rc = 0;
  contacts_init(c);
  struct cursor cu;
  cursor_init(&cu, (uint8_t *)d, n);
  if (cursor_get_u8(&cu, &f) || f < 1 || f > CONTACTS_FORMAT || cursor_get_be32(&cu, &count) ||
      count > CONTACTS_MAX)
    rc = MOMEDO_E_CORRUPT;
  for (uint32_t i = 0; rc == 0 && i < count; i++) rc = load_one(c, &cu, f);
  if (rc == 0 && cursor_left(&cu) != 0) rc = MOMEDO_E_CORRUPT;
  if (rc) contacts_free(c);
  return rc;
}

int contacts_load(struct contacts *c, const struct vault *v) {
  uint8_t *d = NULL;
  size_t n = 0;
  contacts_init(c);
  int rc = vault_read(v, CONTACTS_FILE, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  rc = contacts_parse(c, d, n);
  free(d);
  return rc;
}
