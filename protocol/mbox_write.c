/* protocol/mbox_write.c — write-capability mailboxes (mbox_write.h): the mailbox ID
 * that commits to a write key, and the signature over a post's bytes. No I/O. */
#include <string.h>

#include "mbox_write.h"

#define DOM_MB_LEN (sizeof MBOX_WRITE_DOMAIN_MAILBOX - 1)
#define DOM_SIG_LEN (sizeof MBOX_WRITE_DOMAIN_SIG - 1)
#define SIGMSG_LEN (DOM_SIG_LEN + 32 + CRYPTO_HASH_LEN)

int mbox_write_mailbox(uint8_t mailbox[static 32], const uint8_t write_key[static 32],
                       const uint8_t tag[static 32]) {
  struct crypto_part parts[3] = {
      {MBOX_WRITE_DOMAIN_MAILBOX, DOM_MB_LEN}, {write_key, 32}, {tag, 32}};
  return crypto_sha256_parts(mailbox, parts, 3);
}

static int sigmsg(uint8_t m[static SIGMSG_LEN], const uint8_t mailbox[static 32],
                  const uint8_t *body, size_t len) {
  memcpy(m, MBOX_WRITE_DOMAIN_SIG, DOM_SIG_LEN);
  memcpy(m + DOM_SIG_LEN, mailbox, 32);
  return crypto_sha256(m + DOM_SIG_LEN + 32, body, len);
}

int mbox_write_sign(uint8_t *ct, size_t len, const uint8_t mailbox[static 32],
                    const struct crypto_sign_keypair *kp) {
  uint8_t m[SIGMSG_LEN];
  if (len <= MBOX_WRITE_SIG_LEN) return MOMEDO_E_TRUNCATED;
  size_t body = len - MBOX_WRITE_SIG_LEN;
  int rc = sigmsg(m, mailbox, ct, body);
  return rc < 0 ? rc : crypto_sign(ct + body, m, sizeof m, kp);
}

int mbox_write_verify(const uint8_t *ct, size_t len, const uint8_t mailbox[static 32],
                      const uint8_t write_key[static 32]) {
  uint8_t m[SIGMSG_LEN];
  if (len <= MBOX_WRITE_SIG_LEN) return MOMEDO_E_TRUNCATED;
  size_t body = len - MBOX_WRITE_SIG_LEN;
  int rc = sigmsg(m, mailbox, ct, body);
  return rc < 0 ? rc : crypto_verify(ct + body, m, sizeof m, write_key);
}

int mbox_write_check(const uint8_t mailbox[static 32], const uint8_t write_key[static 32],
                     const uint8_t tag[static 32], const uint8_t *ct, size_t len) {
  uint8_t mb[32];
  int rc = mbox_write_mailbox(mb, write_key, tag);
  if (rc < 0) return rc;
  if (memcmp(mb, mailbox, 32) != 0) return MOMEDO_E_DENIED;
  return mbox_write_verify(ct, len, mailbox, write_key);
}
