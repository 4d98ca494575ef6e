/* protocol/mbox_write.h — write-capability mailboxes: a mailbox whose ID commits to an
 * Ed25519 write key, so a node can tell an allowed post from junk without learning
 * anything else about who may post (for a group: its members, or a channel's admins,
 * hold the key's secret). Pure functions over buffers; see docs/groups.md. */
#ifndef MOMEDO_MBOX_WRITE_H
#define MOMEDO_MBOX_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define MBOX_WRITE_DOMAIN_MAILBOX "momedo/mailbox/write/v1"
#define MBOX_WRITE_DOMAIN_SIG "momedo/mailbox/write-sig/v1"
#define MBOX_WRITE_KEY_LEN 32
#define MBOX_WRITE_TAG_LEN 32
#define MBOX_WRITE_SIG_LEN CRYPTO_SIG_LEN

/* mailbox = SHA-256(MBOX_WRITE_DOMAIN_MAILBOX || write_key || tag). */
MOMEDO_WUR int mbox_write_mailbox(uint8_t mailbox[static 32],
                                  const uint8_t write_key[static MBOX_WRITE_KEY_LEN],
                                  const uint8_t tag[static MBOX_WRITE_TAG_LEN]);

/* A post to such a mailbox is body || sig, sig = Ed25519(write key,
 * MBOX_WRITE_DOMAIN_SIG || mailbox || SHA-256(body)). Fills the last
 * MBOX_WRITE_SIG_LEN bytes of ct (len > MBOX_WRITE_SIG_LEN) over the bytes before. */
MOMEDO_WUR int mbox_write_sign(uint8_t *ct, size_t len, const uint8_t mailbox[static 32],
                               const struct crypto_sign_keypair *kp);

/* 0 if ct ends with a valid write signature for mailbox under write_key: E_TRUNCATED
 * (no room for one), E_BADSIG. */
MOMEDO_WUR int mbox_write_verify(const uint8_t *ct, size_t len, const uint8_t mailbox[static 32],
                                 const uint8_t write_key[static MBOX_WRITE_KEY_LEN]);

/* The node's check of a post: the mailbox is (write_key, tag)'s (E_DENIED otherwise)
 * and ct carries the write signature (E_BADSIG, E_TRUNCATED). */
MOMEDO_WUR int mbox_write_check(const uint8_t mailbox[static 32],
                                const uint8_t write_key[static MBOX_WRITE_KEY_LEN],
                                const uint8_t tag[static MBOX_WRITE_TAG_LEN], const uint8_t *ct,
                                size_t len);

#endif
