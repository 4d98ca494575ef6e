/* client/core/group_int.h — private to the group core (group_record.c, group_chain.c,
 * group_change.c, group.c, senderkey.c, group_state.c, tests, fuzz): the roster (a
 * verified record in flat arrays), the records a state holds, the per-epoch sender-key
 * and write-key state and the struct group. Public callers use group.h.
 * No I/O, no clock; randomness only via crypto_random / crypto_sign_keygen. */
#ifndef MOMEDO_CLIENT_GROUP_INT_H
#define MOMEDO_CLIENT_GROUP_INT_H

#include <stdarg.h>

#include "group.h"

/* One member of a roster: its devices are dev[dev0 .. dev0 + ndev). */
struct group_mem {
  uint8_t id[32];
  uint8_t role;
  uint32_t dev0, ndev;
};

/* A record's content in flat, sorted arrays (members by identity, devices per
 * member), plus its hash. Owned: group__roster_clear. */
struct group_roster {
  uint8_t group_id[GROUP_ID_LEN];
  uint64_t version, epoch, created_ms;
  int mode, change;
  char name[GROUP_NAME_BYTES_MAX + 1];
  uint8_t salt[32], prev[GROUP_HASH_LEN], signer[32], write_key[32];
  int has_prev;
  int recorded;                 /* GroupRecording set: by rec_by since rec_since_ms */
  uint8_t rec_by[32];
  uint64_t rec_since_ms;
  struct group_mem *m;
  size_t n, cap;
  uint8_t (*dev)[32];
  size_t ndev, cap_dev;
  uint8_t hash[GROUP_HASH_LEN]; /* of the record (valid after parse or build) */
};

/* A signed record the state holds: on the canonical chain, or beside it. */
struct group_rec {
  uint8_t *b;                   /* canonical signed bytes, owned */
  size_t n;
  uint8_t hash[GROUP_HASH_LEN], prev[GROUP_HASH_LEN], signer[32];
  uint64_t version;
  int rebased;                  /* beside the chain: this user's change, re-applied */
};

struct group_skipped {
  uint32_t it;
  uint8_t mk[GROUP_KEY_LEN];
};

/* A receiving chain: one sender key of one member device. */
struct group_rx {
  uint8_t id[32], dev[32], pub[32], ck[GROUP_KEY_LEN];
  uint32_t n;                 /* next iteration ck yields */
  struct group_skipped *sk;   /* oldest first, heap */
  uint32_t n_sk, cap_sk;
};

struct group_cursor {
  uint8_t node[32];
  uint64_t cursor;
};

struct group_epoch {
  uint64_t epoch;
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  uint8_t write_pub[32], write_tag[32]; /* mailbox = mbox_write_mailbox(write_pub, tag) */
  int has_write;                        /* write holds the seed (posting is allowed) */
  struct crypto_sign_keypair write;
  int has_tx;
  struct crypto_sign_keypair tx;
  uint8_t tx_ck[GROUP_KEY_LEN];
  uint32_t tx_n;
  struct group_rx *rx;
  size_t n_rx, cap_rx;
  struct group_cursor cur[GROUP_CURSORS_MAX];
  size_t n_cur;
};

struct group {
  uint8_t me_id[32], me_dev[32];
  struct group_rec *ch;       /* the canonical chain, version 1 .. head */
  size_t n_ch, cap_ch;
  struct group_rec *alt;      /* held beside the chain (lost a fork choice), unordered */
  size_t n_alt;
  struct group_roster r;      /* the head's roster */
  struct group_epoch ep[GROUP_EPOCHS_MAX]; /* oldest first; ep[n_ep - 1] is the head's */
  size_t n_ep;
  uint8_t (*sent)[32];        /* sorted: devices holding the current sender key */
  size_t n_sent, cap_sent;
  int removed;                /* the head does not list this device */
  int left;                   /* this user asked to leave: no posting, no keys */
  char why[GROUP_REASON_MAX];
};

/* --- group_record.c: records on their own --- */
void group__roster_clear(struct group_roster *r);
MOMEDO_WUR int group__roster_copy(struct group_roster *dst, const struct group_roster *src);
/* Parse a record on its own: canonical encoding, bounds, sorting, the group write key
 * (GROUP mode: the one derived from the salt), and with verify the signature by
 * r->signer. Does not judge the signer's rights. */
MOMEDO_WUR int group__roster_parse(struct group_roster *r, const uint8_t *rec, size_t len,
                                   int verify);
/* The hash of a record this state verified before (its canonical bytes end with the
 * signature field, so the unsigned bytes are all but those 66): no parse. */
MOMEDO_WUR int group__record_hash_stored(uint8_t h[static 32], const uint8_t *rec, size_t len);
/* Version, hashes and signer of a record this state verified before (no roster, no
 * re-encoding); rec->b is not set. */
MOMEDO_WUR int group__rec_meta(struct group_rec *rec, const uint8_t *b, size_t len);
/* Canonical bytes of R signed by kp (R->signer must be kp->pub); fills R->hash. */
MOMEDO_WUR int group__roster_sign(struct group_roster *R, const struct crypto_sign_keypair *kp,
                                  uint8_t **out, size_t *out_len);
/* Sort members (E_EXISTS on a duplicate identity) and pack devices in member order. */
MOMEDO_WUR int group__roster_normalize(struct group_roster *r);
/* Append a member (its devices sorted here; duplicates E_BOUNDS). */
MOMEDO_WUR int group__roster_append(struct group_roster *r, const uint8_t id[static 32],
                                    int role, const uint8_t (*devs)[32], size_t nd);
void group__roster_delete(struct group_roster *r, size_t i);
/* May P's admin R->signer turn P into R? Only admins sign; a removal, a new mode, or
 * (in a channel) a role change needs the next epoch with a new salt and write key. */
MOMEDO_WUR int group__check_transition(struct group *g, const struct group_roster *P,
                                       const struct group_roster *R);
/* 1 if a member or a device of P is missing from R. */
int group__roster_lost(const struct group_roster *P, const struct group_roster *R);
/* 1 if R removes or demotes P's admin id. */
int group__roster_ousts(const struct group_roster *P, const struct group_roster *R,
                        const uint8_t id[static 32]);
/* The GROUP-mode write key seed of an epoch: HKDF(ikm = salt, info = domain || epoch). */
MOMEDO_WUR int group__write_seed(uint8_t seed[static 32], uint64_t epoch,
                                 const uint8_t salt[static 32]);
/* tag = SHA-256(GROUP_DOMAIN_MAILBOX || group_id || be64 epoch || salt). */
MOMEDO_WUR int group__epoch_tag(uint8_t tag[static 32], const uint8_t group_id[static 32],
                                uint64_t epoch, const uint8_t salt[static 32]);
/* n bytes of well-formed UTF-8 (no overlong forms, no surrogates). */
int group__utf8_ok(const char *s, size_t n);
/* s is NULL or lo..hi bytes of UTF-8 without control characters. */
int group__text_ok(const char *s, size_t lo, size_t hi);
/* Index of identity in r, or -1. */
long group__find(const struct group_roster *r, const uint8_t id[static 32]);
/* 1 if device is one of member i's devices. */
int group__has_device(const struct group_roster *r, size_t i, const uint8_t dev[static 32]);
/* 1 if (id, dev) is a listed device. */
int group__listed(const struct group_roster *r, const uint8_t id[static 32],
                  const uint8_t dev[static 32]);
/* 1 if (id, dev) is a listed device, and for a channel the member is an admin. */
int group__may_post(const struct group_roster *r, const uint8_t id[static 32],
                    const uint8_t dev[static 32]);
/* 1 if id is an admin of r. */
int group__is_admin(const struct group_roster *r, const uint8_t id[static 32]);

/* --- group_chain.c: the chain a state holds --- */
/* Fill rec's metadata from its parsed roster R and take ownership of b. */
void group__rec_take(struct group_rec *rec, uint8_t *b, size_t n, const struct group_roster *R);
void group__rec_free(struct group_rec *rec);
/* The head record. */
const struct group_rec *group__head(const struct group *g);
/* A record the state holds (chain or beside it), by hash; NULL if none. */
const struct group_rec *group__rec_held(const struct group *g, const uint8_t h[static 32]);
/* A new state for this (identity, device) from the verified chain head R (moved in);
 * ch (n records, moved in) is the chain up to it. */
MOMEDO_WUR int group__state_new(struct group **out, const uint8_t id[static 32],
                                const uint8_t dev[static 32], struct group_roster *R,
                                struct group_rec *ch, size_t n);

/* --- group_change.c --- */
/* Remove members as an admin; change is REMOVE, or LEAVE for a member's own request. */
MOMEDO_WUR int group__remove_as(struct group *g, const struct crypto_sign_keypair *identity,
                                const uint8_t (*identity_keys)[32], size_t n, int change,
                                uint64_t now_ms, uint8_t **rec, size_t *rec_len);

/* --- group.c --- */
int group__fail(struct group *g, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fill ne for roster R's epoch as seen by g's device: mailbox, write key (its seed
 * when derivable), and a fresh sender key if the device may post in R. Nothing in g
 * changes. E_RNG. */
MOMEDO_WUR int group__epoch_prepare(const struct group *g, const struct group_roster *R,
                                    struct group_epoch *ne);
/* Make ne (taking ownership) the current epoch, evicting the oldest kept one. */
void group__epoch_push(struct group *g, struct group_epoch *ne);
/* Keep ne (taking ownership, its sending chain wiped) just before the current epoch,
 * evicting the oldest kept one: items posted there are still read. */
void group__epoch_keep_old(struct group *g, struct group_epoch *ne);
/* Make the kept epoch i the current one again (it moves to the end; its sending
 * chain is replaced by tx when given, else wiped). */
void group__epoch_reuse(struct group *g, size_t i, struct group_epoch *tx);
void group__epoch_wipe(struct group_epoch *e);
struct group_epoch *group__epoch_by_mailbox(struct group *g, const uint8_t mailbox[static 32]);
long group__epoch_index(const struct group *g, const uint8_t mailbox[static 32]);

/* --- senderkey.c --- */
/* mk = HMAC(ck, 0x01), ck' = HMAC(ck, 0x02). */
MOMEDO_WUR int group__chain_step(uint8_t mk[static 32], uint8_t next[static 32],
                                 const uint8_t ck[static 32]);
/* Open one wire message's ciphertext with message key mk (tests use this to show
 * that no key of an old state opens a new epoch's message). */
MOMEDO_WUR int group__msg_open(uint8_t *pt, const uint8_t *wire, size_t len,
                               const uint8_t group_id[static 32], uint64_t epoch,
                               const uint8_t mk[static 32]);
MOMEDO_WUR int group__tx_new(struct group_epoch *e);
/* The signed bytes of a sender key's proof of possession: domain || group_id ||
 * be64 epoch || mailbox || identity || device. */
#define GROUP_SK_PROOF_MSG_LEN (sizeof GROUP_DOMAIN_SENDERKEY - 1 + 32 + 8 + 32 + 32 + 32)
void group__sk_proof_msg(uint8_t m[static GROUP_SK_PROOF_MSG_LEN],
                         const uint8_t group_id[static 32], uint64_t epoch,
                         const uint8_t mailbox[static 32], const uint8_t identity[static 32],
                         const uint8_t device[static 32]);
void group__rx_wipe(struct group_rx *rx);
size_t group__skipped_total(const struct group *g);

#endif
