/* client/core/group.h — groups and announcement channels: the signed, hash-chained
 * membership record (only admins sign; concurrent changes resolved by one fork-choice
 * rule; the group ID is the hash of version 1 and joining verifies the whole chain),
 * members' requests to the admins, one write-key mailbox per epoch, Signal-style sender
 * keys (each message encrypted once and posted once), read cursors, and the local
 * state's serialisation. Portable and sans-I/O: no sockets, no clock (now_ms is an
 * argument), no globals. The caller carries Content.group messages over the pairwise
 * e2e sessions and posts / fetches group items with nodeapi. Passphrase channels:
 * channel.h. See docs/groups.md. */
#ifndef MOMEDO_CLIENT_GROUP_H
#define MOMEDO_CLIENT_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "content.h"
#include "crypto.h"
#include "group.pb-c.h"
#include "group_view.h"            /* GROUP_ID_LEN, group_info, group_member_view */
#include "mbox_write.h"
#include "nodeapi.h"
#include "status.h"

#define GROUP_FORMAT 2             /* records and saved state */
#define GROUP_REQUEST_FORMAT 1
#define GROUP_KEY_LEN 32
#define GROUP_MEMBERS_MAX 10000
#define GROUP_MEMBER_DEVICES_MAX OBJ_DEVICES_MAX   /* devices per member */
#define GROUP_DEVICES_MAX 20000                    /* devices in one group */
#define GROUP_RECORD_BYTES_MAX (2u << 20)          /* one signed record */
#define GROUP_RECORD_DECODE_BYTES_MAX (8u << 20)   /* arena cap to decode one */
#define GROUP_RECORD_INLINE_BYTES_MAX (CONTENT_BYTES_MAX - 512) /* else as a blob */
#define GROUP_CHAIN_RECORDS_MAX 65536u             /* versions a group may reach */
#define GROUP_CHAIN_BYTES_MAX (32u << 20)          /* one chain as sent or held */
#define GROUP_CHAIN_DECODE_BYTES_MAX (2 * GROUP_CHAIN_BYTES_MAX)
#define GROUP_FORK_WINDOW 8         /* versions below the head a concurrent record may fork at */
#define GROUP_ALTS_MAX 16           /* records held beside the chain */
#define GROUP_REQUEST_BYTES_MAX 2048
#define GROUP_REQUEST_TTL_MS (7ull * 24 * 3600 * 1000) /* a member's request, at most */
#define GROUP_CLOCK_SKEW_MS_MAX OBJ_CLOCK_SKEW_MS_MAX
#define GROUP_EPOCHS_MAX 4          /* epochs kept: the current one + 3 for late items (an
                                       epoch of a record that lost a fork choice too) */
#define GROUP_CURSORS_MAX 8         /* nodes with a read cursor, per epoch mailbox */
#define GROUP_SENDERS_PER_DEVICE_MAX 2 /* sender keys kept per device and epoch */
#define GROUP_SKIP_GAP_MAX 1000     /* message keys one message may skip */
#define GROUP_SKIPPED_PER_SENDER_MAX 1000
#define GROUP_SKIPPED_MAX 8192      /* skipped keys per group; evicted from the largest */
#define GROUP_CHAIN_MAX (1u << 31)  /* iterations per sender key */
#define GROUP_WIRE_VERSION 2
#define GROUP_WIRE_TYPE_MESSAGE 1
#define GROUP_WIRE_HEADER_LEN (2 + CRYPTO_SIGN_PUB_LEN + 4) /* version, type, key, iteration */
#define GROUP_WIRE_OVERHEAD \
  (GROUP_WIRE_HEADER_LEN + CRYPTO_TAG_LEN + CRYPTO_SIG_LEN + MBOX_WRITE_SIG_LEN)
#define GROUP_PLAINTEXT_MAX CONTENT_BYTES_MAX
#define GROUP_WIRE_MAX (GROUP_PLAINTEXT_MAX + GROUP_WIRE_OVERHEAD)
#define GROUP_STATE_BYTES_MAX (64u << 20)
#define GROUP_STATE_DECODE_BYTES_MAX (4 * GROUP_STATE_BYTES_MAX)
#define GROUP_TTL_MS_DEFAULT (30ull * 24 * 3600 * 1000) /* group items: 30 days */
#define GROUP_REASON_MAX 160

/* Domains (ASCII, no terminator). */
#define GROUP_DOMAIN_RECORD "momedo/group-record/v2"
#define GROUP_DOMAIN_MAILBOX "momedo/group-mailbox/v2" /* the epoch's tag */
#define GROUP_DOMAIN_WRITE "momedo/group-write/v1"
#define GROUP_DOMAIN_REQUEST "momedo/group-request/v1"
#define GROUP_DOMAIN_BLOB_MAILBOX "momedo/group-record-blob/v1"
#define GROUP_DOMAIN_MSG "momedo/group-msg/v1"
#define GROUP_DOMAIN_SIG "momedo/group-sig/v1"
#define GROUP_DOMAIN_STATE "momedo/group-state/v1"
#define GROUP_DOMAIN_SENDERKEY "momedo/group-senderkey/v1"

struct group; /* opaque; group_free */

/* A member as the caller describes it: identity key (32), role and device keys
 * (1..GROUP_MEMBER_DEVICES_MAX, from the member's pinned key bundle). Borrowed. */
struct group_member_spec {
  const uint8_t *identity_key;
  Momedo__GroupRole role;
  const uint8_t (*devices)[32];
  size_t n_devices;
};

/* A (user, device) a control message must be sent to. */
struct group_device {
  uint8_t identity_key[32];
  uint8_t device_key[32];
};

/* Who sent a group message (authenticated by the sender key's signature, bound to the
 * member by the pairwise channel that delivered the sender key). */
struct group_sender {
  uint8_t identity_key[32];
  uint8_t device_key[32];
  uint64_t epoch;
  uint32_t iteration;
};

struct group_apply_info {
  uint64_t version, epoch;  /* of the head afterwards */
  int head_changed;    /* the head moved (to this record, or to another branch) */
  int lost;            /* this record lost the fork choice: held beside the chain */
  int displaced_own;   /* a change of this user's left the chain: call group_rebase */
  int epoch_changed;   /* new mailbox and new sender key: send group_senderkey_targets */
  int removed;         /* this device is no longer a member */
  size_t n_new_devices; /* devices that were not in the previous head */
};

/* A message ready for nodeapi_post: req points into p (valid until group_post_clear). */
struct group_post {
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  uint8_t write_key[MBOX_WRITE_KEY_LEN], write_tag[MBOX_WRITE_TAG_LEN]; /* for the node */
  uint8_t *wire;
  size_t wire_len;
  struct nodeapi_post_req req;
};

/* --- membership records --- */

/* Create a group (mode GROUP or CHANNEL) with this user as admin. self lists this
 * user's devices (identity_key must equal identity->pub; role is forced to ADMIN) and
 * must contain device_key (this device); members (may be NULL / 0) are added in the
 * same record. *out is the new state; *rec (malloc'ed, caller frees) is the signed
 * version-1 record, whose hash is the group ID; send every member device the chain
 * (group_chain). E_INVAL, E_BOUNDS (limits, duplicates), E_RNG, E_NOMEM. */
MOMEDO_WUR int group_create(struct group **out, const struct crypto_sign_keypair *identity,
                            const uint8_t device_key[static 32], Momedo__GroupMode mode,
                            const char *name, const struct group_member_spec *self,
                            const struct group_member_spec *members, size_t n_members,
                            uint64_t now_ms, uint8_t **rec, size_t *rec_len);

/* Changes by this user (identity), an admin: each builds, signs and applies the next
 * record and returns it in *rec (caller frees) for the CLI to send to every device of
 * the NEW member list (the chain from version 1 to devices that were not in the
 * previous head). E_DENIED when this user is not an admin (members ask one:
 * group_request_*); E_NOTFOUND for an unknown member; E_EXISTS when adding a member
 * twice; E_BOUNDS beyond limits (a group keeps one admin). remove, leave and rotate
 * start a new epoch; so does set_devices when a device goes, a mode change, and in a
 * channel a role change. */
MOMEDO_WUR int group_add(struct group *g, const struct crypto_sign_keypair *identity,
                         const struct group_member_spec *members, size_t n, uint64_t now_ms,
                         uint8_t **rec, size_t *rec_len);
MOMEDO_WUR int group_remove(struct group *g, const struct crypto_sign_keypair *identity,
                            const uint8_t (*identity_keys)[32], size_t n, uint64_t now_ms,
                            uint8_t **rec, size_t *rec_len);
MOMEDO_WUR int group_leave(struct group *g, const struct crypto_sign_keypair *identity,
                           uint64_t now_ms, uint8_t **rec, size_t *rec_len);
MOMEDO_WUR int group_set_role(struct group *g, const struct crypto_sign_keypair *identity,
                              const uint8_t member[static 32], Momedo__GroupRole role,
                              uint64_t now_ms, uint8_t **rec, size_t *rec_len);
/* Replace one member's device list. */
MOMEDO_WUR int group_set_devices(struct group *g, const struct crypto_sign_keypair *identity,
                                 const struct group_member_spec *member, uint64_t now_ms,
                                 uint8_t **rec, size_t *rec_len);
/* Mark (on) or unmark the group as recorded (a SETTINGS record: by this admin, since
 * now_ms; every member sees it in group_info). E_EXISTS when already so. */
MOMEDO_WUR int group_set_recorded(struct group *g, const struct crypto_sign_keypair *identity,
                                  int on, uint64_t now_ms, uint8_t **rec, size_t *rec_len);
/* A new epoch without a membership change (answer to a compromised device). */
MOMEDO_WUR int group_rotate(struct group *g, const struct crypto_sign_keypair *identity,
                            uint64_t now_ms, uint8_t **rec, size_t *rec_len);

/* Make this user's changes that lost a fork choice again on the head, one per call:
 * *rec (caller frees) is the next record to send as after any change, NULL when there
 * is nothing (left) to redo. Call it after an apply reports displaced_own. */
MOMEDO_WUR int group_rebase(struct group *g, const struct crypto_sign_keypair *identity,
                            uint64_t now_ms, uint8_t **rec, size_t *rec_len);

/* --- members' requests to the admins --- */

/* A member asks to leave: *req (caller frees) goes to every admin device
 * (group_admin_devices, group_request_content). From now on this device posts nothing
 * and sends no keys; an admin's record removes it in a new epoch. */
MOMEDO_WUR int group_request_leave(struct group *g, const struct crypto_sign_keypair *identity,
                                   uint64_t now_ms, uint8_t **req, size_t *len);
/* A member asks for its device list to become devices[0..n). */
MOMEDO_WUR int group_request_devices(struct group *g, const struct crypto_sign_keypair *identity,
                                     const uint8_t (*devices)[32], size_t n, uint64_t now_ms,
                                     uint8_t **req, size_t *len);
/* An admin's client takes a request that came over the pairwise session from
 * from_identity and makes the change as its own record (*rec, as group_remove).
 * E_DENIED (not signed by its sender, or this user is no admin), E_BADSIG,
 * E_EXPIRED (older than GROUP_REQUEST_TTL_MS), E_FUTURE, E_EXISTS (nothing to do),
 * E_NOTFOUND (not a member), E_DECODE / E_NONCANON / E_BOUNDS / E_VERSION. */
MOMEDO_WUR int group_request_apply(struct group *g, const struct crypto_sign_keypair *identity,
                                   const uint8_t from_identity[static 32], const uint8_t *req,
                                   size_t len, uint64_t now_ms, uint8_t **rec, size_t *rec_len);
/* The group ID a request names, without checking it (to route it to a state). */
MOMEDO_WUR int group_request_peek(const uint8_t *req, size_t len, uint8_t group_id[static 32]);
/* Admin devices other than this one (malloc'ed, caller frees). */
MOMEDO_WUR int group_admin_devices(const struct group *g, struct group_device **out, size_t *n);

/* --- the record chain --- */

/* The group ID and version of a record, without checking its signature (to route a
 * received record to a state). E_DECODE, E_BOUNDS. */
MOMEDO_WUR int group_record_peek(const uint8_t *rec, size_t len, uint8_t group_id[static 32],
                                 uint64_t *version);

/* Verify rec as a change of a record g holds and take it. It becomes the head when it
 * extends the head, or when it wins the fork choice against a concurrent record of
 * the same version (the one whose signer the other removes or demotes loses; then a
 * record that removes someone wins; then the lower hash): every member holding the
 * same records ends on the same head. A record that loses is kept beside the chain
 * (0 with ai->lost). Refuses: E_DECODE / E_NONCANON / E_BOUNDS / E_VERSION
 * (malformed), E_BADSIG (not signed by its signer), E_DENIED (its signer is not an
 * admin of the record it changes: members never sign), E_INVAL (another group),
 * E_EXISTS (held already: ignore), E_SUPERSEDED (older than the fork window),
 * E_UNEXPECTED (it follows a record not seen yet: keep it and retry), E_FUTURE
 * (created more than the skew ahead of now_ms), E_QUOTA (too many concurrent records).
 * g is unchanged on error; group_reason(g) says why. ai may be NULL. */
MOMEDO_WUR int group_record_apply(struct group *g, const uint8_t *rec, size_t len,
                                  uint64_t now_ms, struct group_apply_info *ai);

/* Each record of a chain (GroupChain bytes) in order, as group_record_apply; records
 * held already are skipped. ai sums them up. E_EXISTS when nothing was new; on another
 * error the records before it stay applied. */
MOMEDO_WUR int group_chain_apply(struct group *g, const uint8_t *chain, size_t len,
                                 uint64_t now_ms, struct group_apply_info *ai);

/* First contact: the whole chain (GroupChain bytes, version 1 to the head) received
 * over the pairwise session from from_identity, a member listed in the head. The group
 * ID is the hash of version 1, and every later version must be a valid change signed
 * by an admin of the one before: nobody can make a first record for someone else's
 * group. E_NOTFOUND (this device not listed), E_DENIED (sender not a member, or a
 * version not signed by an admin), E_BOUNDS (the chain does not start at version 1
 * or is broken), plus the record errors above. */
MOMEDO_WUR int group_join(struct group **out, const uint8_t identity_key[static 32],
                          const uint8_t device_key[static 32],
                          const uint8_t from_identity[static 32], const uint8_t *chain,
                          size_t len, uint64_t now_ms);
/* The canonical records after from_version (0: the whole chain) as GroupChain bytes
 * (*out malloc'ed, caller frees). E_INVAL (from_version is the head or later),
 * E_TOOBIG. */
MOMEDO_WUR int group_chain(const struct group *g, uint64_t from_version, uint8_t **out,
                           size_t *out_len);
/* The group ID and the first and last version of a chain, without checking
 * signatures (to route it to a state or to group_join). */
MOMEDO_WUR int group_chain_peek(const uint8_t *chain, size_t len, uint8_t group_id[static 32],
                                uint64_t *first, uint64_t *last);

/* --- pairwise control messages (Content.group) --- */

/* Content (encoded, malloc'ed, caller wipes and frees) carrying one record, a chain
 * (group_chain) or a request inline; E_TOOBIG beyond GROUP_RECORD_INLINE_BYTES_MAX
 * (send a chain as a blob: docs/groups.md). */
MOMEDO_WUR int group_record_content(const uint8_t *rec, size_t rec_len,
                                    const uint8_t sender_device[static 32], uint64_t now_ms,
                                    uint8_t **out, size_t *out_len);
MOMEDO_WUR int group_chain_content(const uint8_t *chain, size_t len,
                                   const uint8_t sender_device[static 32], uint64_t now_ms,
                                   uint8_t **out, size_t *out_len);
MOMEDO_WUR int group_request_content(const uint8_t *req, size_t len,
                                     const uint8_t sender_device[static 32], uint64_t now_ms,
                                     uint8_t **out, size_t *out_len);
/* Mailbox for the chunks of a record sent as a blob: SHA-256(domain || blob_id). */
MOMEDO_WUR int group_record_blob_mailbox(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                         const uint8_t blob_id[static OBJ_ID_LEN]);
/* Content carrying this device's sender key for the current epoch (secret: send it
 * only over the pairwise sessions to group_senderkey_targets), for the devices of
 * to_identity (NULL: anyone). In a channel, a content for an admin also carries the
 * epoch's write key seed. E_DENIED if this device does not post in this group. */
MOMEDO_WUR int group_senderkey_content(const struct group *g, const uint8_t *to_identity,
                                       uint64_t now_ms, uint8_t **out, size_t *out_len);
/* Member devices that do not yet hold this device's current sender key (malloc'ed,
 * caller frees; *n may be 0). Includes this user's other devices. */
MOMEDO_WUR int group_senderkey_targets(const struct group *g, struct group_device **out,
                                       size_t *n);
/* Record that device_key now holds the current sender key (after the pairwise send). */
MOMEDO_WUR int group_senderkey_mark_sent(struct group *g, const uint8_t device_key[static 32]);

/* Decode a pairwise plaintext: any Content, with the group body validated here
 * (content_decode does not know it). Same errors and memory rules as content_decode. */
MOMEDO_WUR int group_content_decode(const uint8_t *buf, size_t len, struct arena *a,
                                    Momedo__Content **out);
/* Validate a GroupControl body (bounds only). E_BOUNDS, E_UNKNOWN_KIND. */
MOMEDO_WUR int group_control_validate(const Momedo__GroupControl *gc);

/* Install a sender key received over the pairwise session from (from_identity,
 * from_device). Receiving chains are kept per (device, signing key), and the key's
 * proof of possession must name exactly this member and device. E_INVAL (another
 * group), E_SUPERSEDED (an epoch no longer kept), E_UNEXPECTED (an epoch we do not
 * have yet: keep it until the record arrives), E_DENIED (sender not a listed member
 * device, not an admin of a channel, or the key is another device's), E_BADSIG (the
 * proof does not bind the key to this device), E_EXISTS (already known: ignore). */
MOMEDO_WUR int group_senderkey_accept(struct group *g, const uint8_t from_identity[static 32],
                                      const uint8_t from_device[static 32],
                                      const Momedo__SenderKey *sk);

/* --- group messages --- */

/* Encrypt len (<= GROUP_PLAINTEXT_MAX) bytes once under this device's sender key and
 * sign it with the epoch's write key: *out (malloc'ed) is the OzoneItem ciphertext for
 * the current mailbox. Advances the chain (save the state afterwards). E_DENIED (may
 * not post), E_UNEXPECTED (a channel admin whose write key has not arrived yet),
 * E_TOOBIG, E_QUOTA. */
MOMEDO_WUR int group_encrypt(struct group *g, const uint8_t *pt, size_t len, uint8_t **out,
                             size_t *out_len);
/* Decrypt one fetched item of mailbox (one of group_mailboxes). Order of checks: shape
 * (E_TRUNCATED, E_VERSION, E_UNKNOWN_KIND), mailbox (E_INVAL: not this group's), write
 * key (E_BADSIG: not written by the group — for good, whatever else it claims),
 * sender key (E_NOTFOUND: not yet received — keep the item and retry after the next
 * sender key; E_EXISTS also for this device's own posts), rights (E_DENIED: not a
 * member, or not an admin of a channel), signature (E_BADSIG), duplicate (E_EXISTS),
 * gap (E_BOUNDS), AEAD (E_DECRYPT). g changes only when 0 is returned. pt needs
 * len - GROUP_WIRE_OVERHEAD bytes (E_NOSPACE). */
MOMEDO_WUR int group_decrypt(struct group *g, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                             const uint8_t *wire, size_t len, uint8_t *pt, size_t cap,
                             size_t *pt_len, struct group_sender *from);

/* Encode c (its sender_device must be this device), encrypt once and fill p for one
 * nodeapi_post to the current group mailbox with ttl_ms (0: GROUP_TTL_MS_DEFAULT). */
MOMEDO_WUR int group_post_prepare(struct group *g, const Momedo__Content *c, uint64_t ttl_ms,
                                  struct group_post *p);
void group_post_clear(struct group_post *p);

/* group_decrypt, then content_decode into a (capped at CONTENT_DECODE_BYTES_MAX) and
 * check that the content names the sender's device and is not a control or sync
 * message (E_BOUNDS). The message is consumed even if its content is refused. */
MOMEDO_WUR int group_receive(struct group *g, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                             const uint8_t *wire, size_t len, struct arena *a,
                             Momedo__Content **c, struct group_sender *from);

/* --- mailboxes and read cursors --- */

/* Mailbox of an epoch: mbox_write_mailbox(write_key, tag) with tag =
 * SHA-256(GROUP_DOMAIN_MAILBOX || group_id || be64 epoch || salt). */
MOMEDO_WUR int group_mailbox_derive(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                    const uint8_t group_id[static 32], uint64_t epoch,
                                    const uint8_t salt[static 32],
                                    const uint8_t write_key[static 32]);
/* The write key and tag of a kept mailbox (a node checks posts with them; members
 * present them when they fetch). E_INVAL for a mailbox not kept. */
MOMEDO_WUR int group_mailbox_write(const struct group *g, const uint8_t mailbox[static 32],
                                   uint8_t write_key[static 32], uint8_t tag[static 32]);
/* Mailboxes to fetch, the current one first, then older epochs still kept. */
size_t group_mailboxes(const struct group *g, uint8_t (*out)[OBJ_MAILBOX_LEN], size_t cap);
/* Read cursor for (mailbox, node); 0 when none. E_INVAL for a mailbox not kept. */
MOMEDO_WUR int group_cursor_get(const struct group *g, const uint8_t mailbox[static 32],
                                const uint8_t node_key[static 32], uint64_t *cursor);
/* Set it (the oldest node's cursor is dropped beyond GROUP_CURSORS_MAX). */
MOMEDO_WUR int group_cursor_set(struct group *g, const uint8_t mailbox[static 32],
                                const uint8_t node_key[static 32], uint64_t cursor);

/* --- inspection --- */

void group_get_info(const struct group *g, struct group_info *info);
size_t group_member_count(const struct group *g);
/* i < group_member_count (members sorted by identity key); E_NOTFOUND otherwise. */
MOMEDO_WUR int group_member_at(const struct group *g, size_t i, struct group_member_view *m);
/* The head record (borrowed until g changes). */
const uint8_t *group_record(const struct group *g, size_t *len);
/* Why the last call on g failed; "" if none. Never NULL. */
const char *group_reason(const struct group *g);

/* --- local state --- */

/* Versioned, with a SHA-256 trailer; *out malloc'ed (holds secrets: the caller
 * encrypts it at rest, wipes and frees it). */
MOMEDO_WUR int group_save(const struct group *g, uint8_t **out, size_t *out_len);
/* E_TOOBIG, E_CORRUPT (checksum or any inconsistency), E_VERSION, E_DECODE, E_BADSIG
 * (the stored record), E_NOMEM. */
MOMEDO_WUR int group_load(struct group **out, const uint8_t *buf, size_t len);
/* Wipes and frees; NULL is fine. */
void group_free(struct group *g);

#endif
