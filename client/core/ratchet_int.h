/* client/core/ratchet_int.h — private to the end-to-end core (x3dh.c, ratchet.c, tests): the
 * session struct and the Double Ratchet over (prefix, header, ciphertext). Public
 * callers use x3dh.h and ratchet.h. No I/O, no clock, no globals; randomness only via crypto_random.
 * A failed or duplicate decryption leaves the session byte-identical. */
#ifndef MOMEDO_CLIENT_RATCHET_INT_H
#define MOMEDO_CLIENT_RATCHET_INT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "x3dh.h"

#define RATCHET_KEY_LEN 32
#define RATCHET_TAG_LEN E2E_TAG_LEN
#define RATCHET_AD_LEN (4 * E2E_KEY_LEN) /* IDK_A || DK_A || IDK_B || DK_B */
/* tag, DH, PN, N, salt */
#define RATCHET_HEADER_LEN (RATCHET_TAG_LEN + E2E_KEY_LEN + 4 + 4 + E2E_SALT_LEN)
#define RATCHET_SKIP_CHAIN_MAX 1000  /* message keys skipped in one chain at once */
#define RATCHET_SKIP_TOTAL_MAX 2000  /* skipped keys kept per session; oldest evicted */
#define RATCHET_OLD_CHAINS_MAX 64    /* retired receiving chains still recognised */
#define RATCHET_CHAIN_MSGS_MAX (1u << 31) /* N never reaches this; refuse before */

/* Domain strings (ASCII, no terminator). */
#define RATCHET_INFO_RK "momedo/dr/rk/v1"
#define RATCHET_INFO_MSG "momedo/dr/msg/v2" /* followed by the header's salt */
#define RATCHET_INFO_TAGS "momedo/dr/tags/v1"

/* The scalar part of the ratchet: copied, changed and committed as a whole. */
struct ratchet_core {
  uint8_t rk[RATCHET_KEY_LEN];
  uint8_t dhs_sec[E2E_KEY_LEN], dhs_pub[E2E_KEY_LEN];
  uint8_t dhr[E2E_KEY_LEN];
  uint8_t cks[RATCHET_KEY_LEN], ckr[RATCHET_KEY_LEN];
  uint32_t ns, nr, pn;
  uint8_t has_dhr, has_cks, has_ckr, has_tag_r;
  uint8_t tag_s[RATCHET_TAG_LEN], ntag_s[RATCHET_TAG_LEN]; /* sending chain, next one */
  uint8_t tag_r[RATCHET_TAG_LEN], ntag_r[RATCHET_TAG_LEN]; /* receiving chain, next one */
};

/* A receiving chain that was replaced by a DH ratchet step: still recognised by its
 * tag so that late messages find the session (and are decrypted from skipped keys or
 * refused as already used). end = the first N never derived in that chain. */
struct ratchet_old_chain {
  uint8_t dh[E2E_KEY_LEN];
  uint8_t tag[RATCHET_TAG_LEN];
  uint32_t end;
};

struct ratchet_skipped {
  uint8_t dh[E2E_KEY_LEN];
  uint32_t n;
  uint8_t mk[RATCHET_KEY_LEN];
};

struct e2e_session {
  /* Identity of the conversation (fixed at creation). */
  uint8_t ad[RATCHET_AD_LEN];
  uint8_t peer_identity[E2E_KEY_LEN], peer_device[E2E_KEY_LEN], peer_dh[E2E_KEY_LEN];
  uint8_t base_key[E2E_KEY_LEN]; /* EK_A of the X3DH that created the session */
  uint32_t spk_id;
  uint8_t initiator;
  uint8_t pending; /* initiator has not heard back: keep sending prekey messages */
  uint8_t suite;   /* E2E_SUITE_* of the agreement that created it */
  uint8_t prekey_prefix[E2E_PREKEY_PREFIX_MAX]; /* its suite's length */
  /* Ratchet. */
  struct ratchet_core c;
  struct ratchet_old_chain old[RATCHET_OLD_CHAINS_MAX]; /* oldest first */
  uint32_t n_old;
  struct ratchet_skipped *sk; /* oldest first; heap, grows up to RATCHET_SKIP_TOTAL_MAX */
  uint32_t n_sk, cap_sk;
};

/* Allocate a zeroed session (E_NOMEM). */
MOMEDO_WUR int ratchet__alloc(struct e2e_session **out);

/* Initialise the ratchet from the X3DH secret sk. The initiator starts a sending
 * chain towards the responder's signed prekey; the responder's first ratchet key is
 * that signed prekey. E_RNG, E_BADKEY. */
MOMEDO_WUR int ratchet__init_initiator(struct e2e_session *s, const uint8_t sk[static 32],
                                       const uint8_t peer_spk[static E2E_KEY_LEN]);
MOMEDO_WUR int ratchet__init_responder(struct e2e_session *s, const uint8_t sk[static 32],
                                       const uint8_t spk_sec[static E2E_KEY_LEN],
                                       const uint8_t spk_pub[static E2E_KEY_LEN]);

/* Encrypt one message: writes the header (RATCHET_HEADER_LEN bytes, with a fresh random
 * salt) and ct (len + CRYPTO_TAG_LEN bytes). Key and nonce = HKDF(MK, info || salt), so
 * they never repeat even if the chain was rolled back (a crash, a restored backup). The AEAD associated data is s->ad || pre || header, so every
 * envelope byte before the ciphertext is authenticated. Advances the sending chain
 * only on success. E_UNEXPECTED (no sending chain), E_QUOTA (chain exhausted). */
MOMEDO_WUR int ratchet__seal(struct e2e_session *s, const uint8_t *pre, size_t pre_len,
                             const uint8_t *pt, size_t len,
                             uint8_t hdr[static RATCHET_HEADER_LEN], uint8_t *ct);

/* Decrypt one message (ct_len >= CRYPTO_TAG_LEN; pt receives up to ct_len - 16 bytes:
 * the padded plaintext, of which *pt_len are the message before the padding).
 * E_EXISTS: that message position was already used (duplicate, or its key evicted);
 * E_BOUNDS: gap larger than RATCHET_SKIP_CHAIN_MAX; E_DECRYPT: authentication failed or
 * malformed padding; E_NOMEM. The session changes only when 0 is returned. */
MOMEDO_WUR int ratchet__open(struct e2e_session *s, const uint8_t *pre, size_t pre_len,
                             const uint8_t hdr[static RATCHET_HEADER_LEN],
                             const uint8_t *ct, size_t ct_len, uint8_t *pt,
                             size_t *pt_len);

/* 1 if a message carrying this header tag belongs to the session. */
int ratchet__matches_tag(const struct e2e_session *s, const uint8_t tag[static RATCHET_TAG_LEN]);

#endif
