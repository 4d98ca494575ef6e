/* client/core/contacts.h — the people this user talks to, keyed by full identity key (the
 * user ID derives from it), with an optional local name (never sent anywhere) and the
 * alias used to find them. Trust on first use: the first key seen for a name or alias
 * is pinned; a different key offered later for the same name or alias is refused with
 * E_KEYCHANGED and kept as "pending" until `contact verify` accepts it. Also caches
 * each contact's device list from their newest key bundle. Stored as one vault file. */
#ifndef MOMEDO_CLIENT_CONTACTS_H
#define MOMEDO_CLIENT_CONTACTS_H

#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "ids.h"
#include "status.h"

struct vault;

#define CONTACTS_FILE "contacts"
#define CONTACTS_MAX 4096
#define CONTACT_NAME_MAX 64           /* bytes of a local name, without the NUL */

struct contact {
  uint8_t key[ACCOUNT_KEY_LEN];       /* pinned identity key */
  char uid[IDS_USER_ID_STR_MAX];      /* derived from key */
  char name[CONTACT_NAME_MAX + 1];    /* "" when unnamed */
  char alias[ACCOUNT_ALIAS_MAX];      /* "" when not added by alias */
  int verified;                       /* safety number compared by the user */
  uint64_t added_ms;
  int has_pending;                    /* another key was offered for this name/alias */
  uint8_t pending_key[ACCOUNT_KEY_LEN];
  uint64_t bundle_version;            /* 0 = no bundle seen yet */
  size_t n_devices;
  struct account_device devices[OBJ_DEVICES_MAX];
  /* The newest bundle's home_nodes: where items for this contact go (PostReq.dest_nodes). */
  size_t n_homes;
  uint8_t homes[OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN];
  /* Home node hints from the contact card it was added by (fingerprint prefixes): where
   * a lookup asks first while no bundle is known. */
  size_t n_hints;
  uint8_t hints[IDS_CARD_HINTS_MAX][IDS_CARD_HINT_LEN];
  int revoked;                        /* the user revoked the identity: final */
  size_t n_removed;                   /* devices the user removed for good, ascending */
  uint8_t removed[OBJ_REMOVED_DEVICES_MAX][ACCOUNT_KEY_LEN];
};

struct contacts {
  struct contact *v;
  size_t n, cap;
};

void contacts_init(struct contacts *c);
void contacts_free(struct contacts *c);
/* A missing file is an empty list. E_CORRUPT. */
MOMEDO_WUR int contacts_load(struct contacts *c, const struct vault *v);
MOMEDO_WUR int contacts_save(const struct contacts *c, const struct vault *v);
/* The same record as bytes (for handing contacts to a linked device); with_devices = 0
 * leaves out the device caches (and what they pinned: versions, removals). contacts_parse replaces c. */
struct vbuf;
void contacts_encode(const struct contacts *c, struct vbuf *b, int with_devices);
MOMEDO_WUR int contacts_parse(struct contacts *c, const uint8_t *d, size_t n);

/* Lookups; NULL when absent. Pointers are valid until the list changes. */
struct contact *contacts_find_key(struct contacts *c, const uint8_t key[static ACCOUNT_KEY_LEN]);
struct contact *contacts_find_name(struct contacts *c, const char *name);
/* ref is a local name, a user ID (tolerant parsing) or an alias the contact was added
 * with. */
struct contact *contacts_resolve(struct contacts *c, const char *ref);

/* 0 if name is acceptable: 1..CONTACT_NAME_MAX bytes, no control characters, and not
 * something that reads as a user ID. */
MOMEDO_WUR int contacts_name_check(const char *name);

/* Pin key (name and alias may be NULL). A known key gets the name/alias set (a name
 * held by another contact is E_EXISTS). A name or alias already pinned to another key:
 * E_KEYCHANGED, that contact gets pending_key = key and *out points at it; nothing
 * else changes. E_INVAL (bad name), E_QUOTA. */
MOMEDO_WUR int contacts_pin(struct contacts *c, const uint8_t key[static ACCOUNT_KEY_LEN],
                            const char *name, const char *alias, uint64_t now_ms,
                            struct contact **out);

/* The user verified key: a contact whose pending key it is now pins it (its name and
 * alias move to the new key, its device cache is dropped); a contact pinned to it is
 * marked verified. E_NOTFOUND if key is neither. */
MOMEDO_WUR int contacts_verify(struct contacts *c, const uint8_t key[static ACCOUNT_KEY_LEN],
                               struct contact **out);

/* Remember the hints of the contact card ct was added by (replacing older ones). */
void contacts_set_hints(struct contact *ct, const struct ids_card *card);

/* Remember the device list (and home nodes) of a validated bundle (issue 11, finding 5). E_KEYCHANGED if
 * the bundle's identity is not the contact's pinned key; E_SUPERSEDED for a version
 * older than the one pinned (a node served a stale bundle: the cache stays); the same
 * version changes nothing; E_DEAD for any non-revoked bundle once the contact revoked
 * (a revocation is final, and replaces the cache whatever its version); E_FORK for a
 * bundle that drops a device an earlier one removed for good. */
MOMEDO_WUR int contacts_set_bundle(struct contact *ct, const Momedo__KeyBundle *b);

/* The contact's display label: name, else user ID. */
const char *contact_label(const struct contact *ct);

#endif
