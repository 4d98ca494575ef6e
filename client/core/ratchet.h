/* client/core/ratchet.h — a Double Ratchet session of the end-to-end core as its users see
 * it (ratchet.c): who it is with, saving and loading it (the caller encrypts it at
 * rest) and freeing it. Sessions are created and used through x3dh.h; their insides
 * are ratchet_int.h, private to the core. No I/O, no clock, no globals. */
#ifndef MOMEDO_CLIENT_RATCHET_H
#define MOMEDO_CLIENT_RATCHET_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define E2E_KEY_LEN 32
#define E2E_TAG_LEN 16    /* session tag in every ratchet header, rotates per DH step */
#define E2E_SALT_LEN 16   /* fresh randomness in every ratchet header, mixed into the key */
#define E2E_SESSION_BYTES_MAX (1u << 20) /* a saved session is far below this */

struct e2e_session; /* opaque; e2e_session_free */

struct e2e_session_info {
  uint8_t peer_identity[E2E_KEY_LEN];
  uint8_t peer_device[E2E_KEY_LEN];
  uint8_t base_key[E2E_KEY_LEN];
  int initiator, pending;
  int suite; /* E2E_SUITE_*: 1 X25519, 2 X25519 + ML-KEM-768 */
  uint32_t skipped_keys, old_chains;
};

void e2e_session_get_info(const struct e2e_session *s, struct e2e_session_info *info);
/* Wipes and frees; NULL is fine. */
void e2e_session_free(struct e2e_session *s);

/* Serialise (versioned, with a SHA-256 trailer against accidental corruption; the
 * caller encrypts it at rest). *out is malloc'ed: caller wipes and frees. */
MOMEDO_WUR int e2e_session_save(const struct e2e_session *s, uint8_t **out, size_t *out_len);
/* E_CORRUPT (checksum, counts, flags, key pair), E_VERSION, E_TRUNCATED, E_NOMEM. */
MOMEDO_WUR int e2e_session_load(struct e2e_session **out, const uint8_t *buf, size_t len);

#endif
