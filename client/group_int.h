/* client/group_int.h — private to the group core (group.c, senderkey.c,
 * group_state.c, tests, fuzz): the roster (a verified record in flat arrays), the
 * per-epoch sender-key state and the struct group. Public callers use group.h.
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
  uint8_t salt[32], prev[GROUP_HASH_LEN], signer[32];
  int has_prev;
  struct group_mem *m;
  size_t n, cap;
  uint8_t (*dev)[32];
  size_t ndev, cap_dev;
  uint8_t hash[GROUP_HASH_LEN]; /* of the record (valid after parse or build) */
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
  uint8_t *rec;               /* current signed record, canonical bytes */
  size_t rec_len;
  struct group_roster r;
  struct group_epoch ep[GROUP_EPOCHS_MAX]; /* oldest first; ep[n_ep - 1] is current */
  size_t n_ep;
  uint8_t (*sent)[32];        /* sorted: devices holding the current sender key */
  size_t n_sent, cap_sent;
  int removed;
  char why[GROUP_REASON_MAX];
};

/* --- group.c --- */
void group__roster_clear(struct group_roster *r);
/* Parse and verify a record on its own: canonical encoding, bounds, sorting,
 * signature by r->signer. Does not judge the signer's rights. */
MOMEDO_WUR int group__roster_parse(struct group_roster *r, const uint8_t *rec, size_t len);
/* n bytes of well-formed UTF-8 (no overlong forms, no surrogates). */
int group__utf8_ok(const char *s, size_t n);
/* s is NULL or lo..hi bytes of UTF-8 without control characters. */
int group__text_ok(const char *s, size_t lo, size_t hi);
/* Index of identity in r, or -1. */
long group__find(const struct group_roster *r, const uint8_t id[static 32]);
/* 1 if device is one of member i's devices. */
int group__has_device(const struct group_roster *r, size_t i, const uint8_t dev[static 32]);
/* 1 if (id, dev) is a listed device, and for a channel the member is an admin. */
int group__may_post(const struct group_roster *r, const uint8_t id[static 32],
                    const uint8_t dev[static 32]);
int group__fail(struct group *g, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fill ne for roster R's epoch as seen by g's device: mailbox, and a fresh sender key
 * if the device may post in R. Nothing in g changes. E_RNG. */
MOMEDO_WUR int group__epoch_prepare(const struct group *g, const struct group_roster *R,
                                    struct group_epoch *ne);
/* Append ne as the current epoch (takes ownership), evicting the oldest kept one. */
void group__epoch_push(struct group *g, struct group_epoch *ne);
void group__epoch_wipe(struct group_epoch *e);
struct group_epoch *group__epoch_by_mailbox(struct group *g, const uint8_t mailbox[static 32]);
struct group_epoch *group__epoch_by_number(struct group *g, uint64_t epoch);

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
