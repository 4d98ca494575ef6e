/* client/core/account.h — who this device is: the user's identity key (held by the first
 * device only), this device's signing and agreement keys, its signed prekeys (rotated
 * on a schedule, the previous one kept for late messages), the home node and its
 * partners learned at join time, the user's device list and the key bundle built from
 * it (version bumped on every change, signed by the identity key), and per-node fetch
 * cursors. Stored as one sealed vault file. No I/O except through the vault. */
#ifndef MOMEDO_CLIENT_ACCOUNT_H
#define MOMEDO_CLIENT_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "mlkem.h"
#include "obj.h"
#include "status.h"

struct vault;

#define ACCOUNT_FILE "account"
#define ACCOUNT_KEY_LEN 32
#define ACCOUNT_HOST_MAX 254                   /* bytes with the NUL */
#define ACCOUNT_PARTNERS_MAX (OBJ_HOME_NODES_MAX - 1)
#define ACCOUNT_NODES_MAX OBJ_HOME_NODES_MAX   /* home + partners */
#define ACCOUNT_PREKEYS 2                      /* current and previous */
#define ACCOUNT_PREKEY_ROTATE_MS (7ull * 24 * 3600 * 1000)
#define ACCOUNT_PREKEY_LIFETIME_MS (60ull * 24 * 3600 * 1000)
/* A linked device's new prekey is published by the first device (account_take_prekey):
 * announced again at most this often while the bundle does not list it yet, and taken
 * only if it expires no later than a new prekey made on a clock this far ahead would. */
#define ACCOUNT_PREKEY_ANNOUNCE_MS (24ull * 3600 * 1000)
#define ACCOUNT_PREKEY_SKEW_MS (24ull * 3600 * 1000)
#define ACCOUNT_ALIAS_MAX (OBJ_ALIAS_CHARS_MAX + 1)
#define ACCOUNT_GRANTS_MAX OBJ_PARTNER_GRANTS_MAX
/* Partner grants (docs/security.md "Partners"): renewed at the home node when one has
 * less than this left, and the home node asked for new partners at most once a day. */
#define ACCOUNT_GRANT_RENEW_MS (30ull * 24 * 3600 * 1000)
#define ACCOUNT_GRANT_CHECK_MS (24ull * 3600 * 1000)

struct account_node {
  char host[ACCOUNT_HOST_MAX];
  uint16_t port;
  uint8_t key[ACCOUNT_KEY_LEN];
  uint64_t cursor;                   /* fetch cursor of our mailbox on that node */
};

/* A signed prekey; on the first device also the ML-KEM-768 key published with it (the
 * PQ "last-resort" prekey of docs/crypto.md: same id and expiry, one signature over
 * both, rotated together). Linked devices announce theirs through the first device
 * without a KEM key (pq_alg 0) for now. */
struct account_prekey {
  uint32_t id;                       /* 0 = empty slot */
  uint64_t created_ms, expires_ms;
  uint8_t sec[CRYPTO_DH_LEN], pub[CRYPTO_DH_LEN];
  uint8_t sig[CRYPTO_SIG_LEN];       /* v1, or v2 over the KEM key too (obj.h) */
  uint32_t pq_alg;                   /* OBJ_PQ_KEM_NONE or OBJ_PQ_KEM_MLKEM768 */
  uint8_t pq_dk[MLKEM768_DK_LEN];    /* decapsulation key; its ek: account_prekey_pq_pub */
};

/* One device of the user as it appears in the key bundle (public parts only). */
struct account_device {
  uint8_t device_key[ACCOUNT_KEY_LEN];
  uint8_t dh_key[ACCOUNT_KEY_LEN];
  uint8_t prekey[ACCOUNT_KEY_LEN];
  uint32_t prekey_id;
  uint64_t prekey_expires_ms;
  uint8_t prekey_sig[CRYPTO_SIG_LEN];
  uint8_t home_node[ACCOUNT_KEY_LEN];
  uint32_t pq_alg;                   /* DeviceKeys.pq_kem_alg */
  uint8_t pq_key[MLKEM768_EK_LEN];   /* DeviceKeys.pq_kem_key when pq_alg != 0 */
};

struct account {
  int has_identity;                  /* this device holds the identity secret */
  struct crypto_sign_keypair identity;  /* seed all-zero when !has_identity */
  struct crypto_sign_keypair device;
  uint8_t dh_sec[CRYPTO_DH_LEN], dh_pub[CRYPTO_DH_LEN];
  struct account_prekey prekeys[ACCOUNT_PREKEYS];  /* [0] current */
  uint64_t created_ms;
  int joined;
  size_t n_nodes;                    /* nodes[0] is the home node, the rest partners */
  struct account_node nodes[ACCOUNT_NODES_MAX];
  uint64_t bundle_version;           /* of the last bundle built or learned */
  size_t n_devices;                  /* the user's devices, this one included */
  struct account_device devices[OBJ_DEVICES_MAX];
  char alias[ACCOUNT_ALIAS_MAX];     /* "" when none */
  size_t n_removed;                  /* devices the user removed for good, ascending */
  uint8_t removed[OBJ_REMOVED_DEVICES_MAX][ACCOUNT_KEY_LEN];
  size_t n_grants;                   /* partner grants the bundle carries */
  struct grant grants[ACCOUNT_GRANTS_MAX];
  uint64_t grants_checked_ms;        /* last time the home node was asked */
  uint64_t prekey_announced_ms;      /* linked device: last announcement of prekeys[0] */
  int bundle_due;                    /* first device: a linked device's prekey to publish */
};

/* A linked device's signed prekey as it announces it (Momedo__DevicePrekey). */
struct account_prekey_pub {
  uint8_t pub[CRYPTO_DH_LEN];
  uint32_t id;
  uint64_t expires_ms;
  uint8_t sig[CRYPTO_SIG_LEN];
};

/* A fresh account at now_ms: new identity, device and agreement keys, one prekey,
 * this device as the only device. E_RNG. */
MOMEDO_WUR int account_generate(struct account *a, uint64_t now_ms);
/* A second device: only device keys and a prekey; identity_pub names the user. */
MOMEDO_WUR int account_generate_device(struct account *a,
                                       const uint8_t identity_pub[static ACCOUNT_KEY_LEN],
                                       uint64_t now_ms);
/* Wipe every secret. */
void account_wipe(struct account *a);

MOMEDO_WUR int account_save(const struct account *a, const struct vault *v);
/* E_NOTFOUND when the vault has no account yet, E_CORRUPT. */
MOMEDO_WUR int account_load(struct account *a, const struct vault *v);

/* This device's public entry (current prekey, home node) for the bundle. */
void account_self_device(const struct account *a, struct account_device *out);

/* Replace the current prekey with a new one if it is older than
 * ACCOUNT_PREKEY_ROTATE_MS (or force); the old one becomes the previous. *rotated
 * says whether it did. The first device also puts it in its device list (the next
 * bundle carries it); a linked device's list stays as the bundle has it, so
 * account_prekey_pending tells when the first device has published it. */
MOMEDO_WUR int account_rotate_prekey(struct account *a, uint64_t now_ms, int force,
                                     int *rotated);
/* Linked device: 1 when the bundle last learned lists this device with another prekey
 * than its current one (announced, not yet published), 0 when it lists the current one
 * or does not list this device at all. Always 0 on the first device. */
int account_prekey_pending(const struct account *a);
/* This device's current prekey, to announce. */
void account_prekey_pub(const struct account *a, struct account_prekey_pub *out);
/* First device: take linked device `device`'s announced prekey p into its entry of the
 * device list, for the next bundle (sets bundle_due; *changed when the entry changed).
 * Refused: E_DENIED without the identity key, E_INVAL for this device itself,
 * E_NOTFOUND for a device the list does not hold (another user's, a removed one),
 * E_BADSIG unless that device's key signed it, E_EXPIRED if expired at now_ms,
 * E_BOUNDS if it lives longer than a new prekey could (beyond now + lifetime + skew),
 * E_SUPERSEDED for one that does not expire after the listed one (a replayed old
 * announcement). The same prekey again is 0 and sets bundle_due (a lost publish). */
MOMEDO_WUR int account_take_prekey(struct account *a, const uint8_t device[static ACCOUNT_KEY_LEN],
                                   const struct account_prekey_pub *p, uint64_t now_ms,
                                   int *changed);
struct cursor;
/* A device entry's KEM part as the account and contacts files store it after the
 * entry (u8 pq_alg [|| pq_key]): E_CORRUPT for an unknown algorithm or short input. */
MOMEDO_WUR int account_get_device_pq(struct cursor *c, struct account_device *d);
/* The ML-KEM-768 encapsulation key inside pk->pq_dk (pk->pq_alg != 0). */
const uint8_t *account_prekey_pq_pub(const struct account_prekey *pk);
/* The prekey secret with this id, or NULL. */
const struct account_prekey *account_prekey_find(const struct account *a, uint32_t id);

/* Add or update a device entry (matched by device key). E_QUOTA beyond
 * OBJ_DEVICES_MAX. */
MOMEDO_WUR int account_put_device(struct account *a, const struct account_device *d);

/* Build, sign and encode the next key bundle (version + 1; needs the identity
 * secret, else E_DENIED) with every device and the home + partner nodes. *out is
 * malloc'ed. bundle_version is updated only on success. */
MOMEDO_WUR int account_build_bundle(struct account *a, uint64_t now_ms, uint8_t **out,
                                    size_t *out_len);
/* Adopt the device list, removed devices and version of a bundle of our own identity
 * that obj_validate accepted (a second device learns the first's changes). An older
 * version is E_SUPERSEDED (a node served a stale bundle: keep ours), the same version
 * changes nothing, one that drops a removed device is E_FORK. E_KEYCHANGED if it is
 * another identity's bundle. */
MOMEDO_WUR int account_learn_bundle(struct account *a, const Momedo__KeyBundle *b);

/* Copy the device entries of a bundle (at most OBJ_DEVICES_MAX) into out. E_BOUNDS
 * for a malformed entry. */
MOMEDO_WUR int account_devices_from_bundle(const Momedo__KeyBundle *b,
                                           struct account_device out[static OBJ_DEVICES_MAX],
                                           size_t *n);

/* Remove a device of this user for good (first device: the next bundle lists it among
 * removed_devices and no later one may list it again). E_INVAL for this device itself,
 * E_NOTFOUND if not listed, E_QUOTA beyond OBJ_REMOVED_DEVICES_MAX removals. */
MOMEDO_WUR int account_remove_device(struct account *a,
                                     const uint8_t device_key[static ACCOUNT_KEY_LEN]);

/* Keep the removed-device list of a validated bundle b (ascending, 32 bytes each) in
 * out; 0, or E_FORK if b drops one of the n keys in have (ascending). */
MOMEDO_WUR int account_removed_from_bundle(const Momedo__KeyBundle *b,
                                           const uint8_t (*have)[ACCOUNT_KEY_LEN], size_t n,
                                           uint8_t (*out)[ACCOUNT_KEY_LEN], size_t *n_out);

/* Set the home node (replacing nodes) / add a partner (ignored when present or full). */
MOMEDO_WUR int account_set_home(struct account *a, const char *host, uint16_t port,
                                const uint8_t key[static ACCOUNT_KEY_LEN]);
MOMEDO_WUR int account_add_partner(struct account *a, const char *host, uint16_t port,
                                   const uint8_t key[static ACCOUNT_KEY_LEN]);

/* The user's home nodes as the bundle lists them (home, partners, each device's home;
 * distinct, at most OBJ_HOME_NODES_MAX). Returns how many. */
size_t account_homes(const struct account *a,
                     uint8_t out[static OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN]);

/* Keep partner grant g (checked by the caller: signed for this identity) in place of
 * any grant for the same (home, partner) that expires sooner; *changed says whether it
 * did. E_QUOTA beyond ACCOUNT_GRANTS_MAX. */
MOMEDO_WUR int account_put_grant(struct account *a, const struct grant *g, int *changed);
/* Should the home node be asked for its partners and fresh grants at now_ms? Only the
 * device holding the identity key publishes bundles: 0 for any other. */
int account_grants_due(const struct account *a, uint64_t now_ms);

/* This device's mailbox. */
MOMEDO_WUR int account_mailbox(const struct account *a, uint8_t mb[static OBJ_MAILBOX_LEN]);

#endif
