/* client/core/x3dh.h — the end-to-end encryption core's entry points (x3dh.c): X3DH-style
 * first messages against multi-use signed prekeys (sealed sender, replay set and its
 * serialisation), the envelope that goes into an OzoneItem's ciphertext, and
 * encrypting and decrypting with a session. A session itself (info, save, load, free)
 * is ratchet.h. Portable and sans-I/O: no sockets, no clock (now_ms is an argument),
 * no globals; the caller stores sessions (encrypted at rest). See docs/e2e.md. */
#ifndef MOMEDO_CLIENT_X3DH_H
#define MOMEDO_CLIENT_X3DH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "mlkem.h"
#include "objects.pb-c.h"
#include "ratchet.h"
#include "status.h"

#define E2E_VERSION 2     /* 2: salted message keys, padded plaintext (1 is refused) */
#define E2E_TYPE_PREKEY 1 /* carries the X3DH header: creates the session */
#define E2E_TYPE_MESSAGE 2
#define E2E_TYPE_PREKEY_SUITE 3 /* a prekey message naming its suite (suite >= 2) */
/* Key-agreement suites (docs/crypto.md "Hybrid post-quantum sessions"): a session
 * stores its suite; bundles announce it through DeviceKeys.pq_kem_alg. */
#define E2E_SUITE_X25519 1         /* X3DH (envelope type 1) */
#define E2E_SUITE_X25519_MLKEM768 2 /* X3DH + ML-KEM-768 (envelope type 3) */
#define E2E_SUITE_MAX E2E_SUITE_X25519_MLKEM768
#define E2E_SEALED_PLAIN_LEN (3 * E2E_KEY_LEN + 8) /* IDK_A, DK_A, IK_A, created_ms */
#define E2E_SEALED_LEN (E2E_SEALED_PLAIN_LEN + CRYPTO_TAG_LEN)
#define E2E_PREKEY_PREFIX_LEN (2 + E2E_KEY_LEN + 4 + 4 + E2E_SEALED_LEN) /* suite 1 */
/* suite 2: version, type 3, suite, EK_A, SPK id (also names the KEM key), OPK id,
 * ML-KEM-768 ciphertext, sealed sender */
#define E2E_PREKEY_PQ_PREFIX_LEN (3 + E2E_KEY_LEN + 4 + 4 + MLKEM768_CT_LEN + E2E_SEALED_LEN)
#define E2E_PREKEY_PREFIX_MAX E2E_PREKEY_PQ_PREFIX_LEN
#define E2E_MESSAGE_PREFIX_LEN 2
#define E2E_HEADER_LEN (E2E_TAG_LEN + E2E_KEY_LEN + 4 + 4 + E2E_SALT_LEN)
#define E2E_PLAINTEXT_MAX (128u * 1024) /* one message's content */
/* Padding (docs/e2e.md): the plaintext, a 0x80 marker and zeros up to a bucket: a
 * power of two of at least E2E_PAD_MIN bytes, the last bucket E2E_PADDED_MAX. */
#define E2E_PAD_MARK 0x80
#define E2E_PAD_MIN 256
#define E2E_PADDED_MAX (E2E_PLAINTEXT_MAX + 1)
#define E2E_OVERHEAD_MAX (E2E_PREKEY_PREFIX_MAX + E2E_HEADER_LEN + CRYPTO_TAG_LEN)
#define E2E_ENVELOPE_MAX (E2E_PADDED_MAX + E2E_OVERHEAD_MAX)
#define E2E_REPLAY_MAX 4096           /* first messages remembered per signed prekey */
#define E2E_CLOCK_SKEW_MS_MAX (10ull * 60 * 1000)
#define E2E_INFO_X3DH "momedo/x3dh/v1"
#define E2E_INFO_SEALED "momedo/x3dh/sealed/v1"
#define E2E_INFO_X3DH_PQ "momedo/x3dh/v2/X25519_MLKEM768" /* || SHA-256(PQPK) || SHA-256(ct) */
#define E2E_INFO_SEALED_PQ "momedo/x3dh/sealed/v2"

struct e2e_replay;  /* opaque; e2e_replay_free */

/* This device: the user's identity key, the device's signing key (both Ed25519
 * public keys) and the device's X25519 agreement key pair (IK). */
struct e2e_local {
  uint8_t identity_key[E2E_KEY_LEN];
  uint8_t device_key[E2E_KEY_LEN];
  uint8_t dh_sec[E2E_KEY_LEN];
  uint8_t dh_pub[E2E_KEY_LEN];
};

/* One of this device's signed prekeys (secret kept as long as messages to it may
 * still arrive). pq_dk: the ML-KEM-768 decapsulation key published with it (same id),
 * NULL when the prekey went out without one; a first message to a prekey published
 * with a KEM key must use suite 2 if its sender announced one too (E_DOWNGRADE). */
struct e2e_prekey {
  uint32_t id;
  uint64_t expires_ms;
  uint8_t sec[E2E_KEY_LEN];
  uint8_t pub[E2E_KEY_LEN];
  const uint8_t *pq_dk; /* MLKEM768_DK_LEN bytes or NULL */
};

/* A peer device taken from its (validated, pinned) key bundle. opk_id = 0: no
 * one-time prekey (only the device's home node may hand one out). */
struct e2e_remote {
  uint8_t identity_key[E2E_KEY_LEN];
  uint8_t device_key[E2E_KEY_LEN];
  uint8_t dh_key[E2E_KEY_LEN];
  uint32_t spk_id;
  uint64_t spk_expires_ms;
  uint8_t spk[E2E_KEY_LEN];
  uint32_t opk_id;
  uint8_t opk[E2E_KEY_LEN];
  uint32_t pq_alg;                  /* 0 = none (suite 1), 1 = ML-KEM-768 (suite 2) */
  uint8_t pq_key[MLKEM768_EK_LEN];  /* signed with the SPK, same id */
};

/* Who a first message claims to come from (from its sealed header; authenticated
 * by the X3DH, but bound to a user only by e2e_sender_check against the bundle). */
struct e2e_sender {
  uint8_t identity_key[E2E_KEY_LEN];
  uint8_t device_key[E2E_KEY_LEN];
  uint8_t dh_key[E2E_KEY_LEN];
  uint64_t created_ms;
  uint8_t suite;       /* the first message's suite */
  uint8_t pq_offered;  /* it went to a prekey published with a KEM key */
};

/* A parsed envelope: every pointer borrows from the parsed buffer. */
struct e2e_envelope {
  uint8_t version, type;
  uint8_t suite;         /* prekey messages: E2E_SUITE_* (1 for type 1) */
  const uint8_t *ek;     /* prekey messages: the sender's ephemeral key (EK_A) */
  const uint8_t *kem_ct; /* suite 2: the ML-KEM-768 ciphertext (MLKEM768_CT_LEN) */
  uint32_t spk_id, opk_id;
  const uint8_t *sealed; /* E2E_SEALED_LEN bytes */
  const uint8_t *prefix; /* the bytes before the header (authenticated) */
  size_t prefix_len;
  const uint8_t *header; /* E2E_HEADER_LEN bytes: tag, DH, PN, N, salt */
  const uint8_t *tag, *dh;
  uint32_t pn, n;
  const uint8_t *ct;     /* ciphertext || tag */
  size_t ct_len;
};

/* --- key agreement (exposed for tests and docs) --- */

/* SK = HKDF(0xFF*32 || DH1 || DH2 || DH3 [|| DH4], salt 0*32, "momedo/x3dh/v1") with
 * DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A,
 * OPK_B) when opk is not NULL. E_BADKEY for a low-order peer key. */
MOMEDO_WUR int x3dh_sk_initiator(uint8_t sk[static 32], const uint8_t ik_sec[static 32],
                                 const uint8_t ek_sec[static 32],
                                 const uint8_t peer_ik[static 32],
                                 const uint8_t peer_spk[static 32], const uint8_t *peer_opk);
MOMEDO_WUR int x3dh_sk_responder(uint8_t sk[static 32], const uint8_t ik_sec[static 32],
                                 const uint8_t spk_sec[static 32], const uint8_t *opk_sec,
                                 const uint8_t peer_ik[static 32],
                                 const uint8_t peer_ek[static 32]);

/* Suite 2: SK = HKDF(0xFF*32 || DH1 || DH2 || DH3 [|| DH4] || SS, salt 0*32,
 * E2E_INFO_X3DH_PQ || SHA-256(pq_pub) || SHA-256(ct)), with (ct, SS) the ML-KEM-768
 * encapsulation to pq_pub. The initiator form encapsulates with m (32 bytes, for known
 * answers; NULL = from the DRBG) and writes ct; the responder form decapsulates ct
 * with pq_dk (whose embedded ek is pq_pub). */
MOMEDO_WUR int x3dh_pq_sk_initiator(uint8_t sk[static 32], uint8_t ct[static MLKEM768_CT_LEN],
                                    const uint8_t ik_sec[static 32],
                                    const uint8_t ek_sec[static 32],
                                    const uint8_t peer_ik[static 32],
                                    const uint8_t peer_spk[static 32], const uint8_t *peer_opk,
                                    const uint8_t pq_pub[static MLKEM768_EK_LEN],
                                    const uint8_t *m);
MOMEDO_WUR int x3dh_pq_sk_responder(uint8_t sk[static 32], const uint8_t ik_sec[static 32],
                                    const uint8_t spk_sec[static 32], const uint8_t *opk_sec,
                                    const uint8_t peer_ik[static 32],
                                    const uint8_t peer_ek[static 32],
                                    const uint8_t pq_dk[static MLKEM768_DK_LEN],
                                    const uint8_t ct[static MLKEM768_CT_LEN]);

/* --- bundles --- */

/* Fill r from one device of a validated bundle, after checking the signed prekey's
 * signature by the device key (v2 with the KEM key when pq_kem_alg != 0: E_BADSIG), its
 * expiry against now_ms (E_EXPIRED), key lengths (E_BOUNDS), the KEM key (E_BADKEY) and
 * its algorithm (E_VERSION for one this build does not know). One-time prekey left
 * empty. A device with a KEM key gets suite 2, always (no fallback). */
MOMEDO_WUR int e2e_remote_from_device(struct e2e_remote *r,
                                      const uint8_t identity_key[static E2E_KEY_LEN],
                                      const Momedo__DeviceKeys *d, uint64_t now_ms);
/* 0 if bundle b (validated, pinned) belongs to from->identity_key and lists a
 * device with from->device_key and from->dh_key; E_KEYCHANGED if the identity
 * differs, E_NOTFOUND if no such device, E_DOWNGRADE if the first message used suite 1
 * although it went to a prekey we published with a KEM key and b lists a KEM key for
 * the sending device (both announced PQ: only an attacker or a bug sends suite 1).
 * Run before trusting a first message. */
MOMEDO_WUR int e2e_sender_check(const Momedo__KeyBundle *b, const struct e2e_sender *from);

/* 0, or E_DOWNGRADE when from came in suite 1 to a prekey we published with a KEM key
 * while its sender's bundle lists KEM algorithm sender_pq_alg != 0 for the sending
 * device (part of e2e_sender_check; for callers that check the device themselves). */
MOMEDO_WUR int e2e_sender_suite_check(const struct e2e_sender *from, uint32_t sender_pq_alg);

/* --- sessions (info, save, load and free: ratchet.h) --- */

/* Start a session with peer (the first message of which will be a prekey message
 * carrying the sealed sender header; suite 2 with an ML-KEM encapsulation when
 * peer->pq_alg is ML-KEM-768, suite 1 when it is 0, E_VERSION otherwise). now_ms is
 * the sender's clock: the prekey must not have expired (E_EXPIRED). *out is owned by
 * the caller. E_RNG, E_BADKEY, E_NOMEM. */
MOMEDO_WUR int e2e_initiate(struct e2e_session **out, const struct e2e_local *me,
                            const struct e2e_remote *peer, uint64_t now_ms);

/* Bytes len bytes of plaintext take once padded (len <= E2E_PLAINTEXT_MAX). */
size_t e2e_padded_len(size_t len);
/* Bytes e2e_encrypt writes for len bytes of plaintext (padding included). */
size_t e2e_envelope_len(const struct e2e_session *s, size_t len);

/* Encrypt len (<= E2E_PLAINTEXT_MAX, else E_TOOBIG) bytes into out (cap >=
 * e2e_envelope_len, else E_NOSPACE). Advances the sending chain on success only. */
MOMEDO_WUR int e2e_encrypt(struct e2e_session *s, const uint8_t *pt, size_t len, uint8_t *out,
                           size_t cap, size_t *out_len);

/* Parse bytes from outside. E_TRUNCATED, E_VERSION, E_UNKNOWN_KIND, E_TOOBIG. */
MOMEDO_WUR int e2e_envelope_parse(struct e2e_envelope *env, const uint8_t *buf, size_t len);

/* 1 for a first (prekey) message of any suite. */
int e2e_envelope_is_prekey(const struct e2e_envelope *env);

/* 1 if env belongs to session s (its tag is one s accepts), else 0. Try this on the
 * existing sessions before e2e_accept, also for prekey messages. */
int e2e_session_matches(const struct e2e_session *s, const struct e2e_envelope *env);

/* Decrypt env with its session into pt (cap >= env->ct_len - 16, else E_NOSPACE);
 * *pt_len excludes the padding.
 * E_EXISTS: duplicate (the position was already decrypted) — drop it, the session is
 * untouched; E_DECRYPT: forged or damaged; E_BOUNDS: gap beyond the skip window.
 * The session changes only when 0 is returned. */
MOMEDO_WUR int e2e_decrypt(struct e2e_session *s, const struct e2e_envelope *env, uint8_t *pt,
                           size_t cap, size_t *pt_len);

/* Accept a prekey message that matched no session: X3DH as responder with our signed
 * prekey spk (spk->id must equal env->spk_id: E_INVAL) and the one-time prekey secret
 * if env->opk_id != 0 (NULL then: E_NOTFOUND). A suite-2 message needs spk->pq_dk
 * (else E_NOTFOUND); from->suite and from->pq_offered tell e2e_sender_check about it.
 * Refuses an (EK_A) already in rp (E_EXISTS), a sender time older than rp's eviction
 * watermark or after the prekey expired (E_EXPIRED) or ahead of now_ms (E_FUTURE), and
 * answers E_BUSY while rp is full of entries dated ahead of now_ms (nothing could be
 * evicted to record this one). On success *out is a new session, *from the claimed sender and pt the first plaintext. The caller MUST then check
 * e2e_sender_check against the sender's bundle and only after it passes call
 * e2e_replay_add and store the session; otherwise free both and drop the message. */
MOMEDO_WUR int e2e_accept(struct e2e_session **out, struct e2e_sender *from,
                          const struct e2e_local *me, const struct e2e_prekey *spk,
                          const uint8_t *opk_sec, const struct e2e_replay *rp,
                          const struct e2e_envelope *env, uint64_t now_ms, uint8_t *pt,
                          size_t cap, size_t *pt_len);

/* --- replay set for first messages, one per signed prekey --- */

MOMEDO_WUR int e2e_replay_new(struct e2e_replay **out, uint32_t spk_id);
void e2e_replay_free(struct e2e_replay *rp);
/* Record an accepted first message (after e2e_sender_check) created at the sender's
 * created_ms. When the set is full the oldest entry not dated ahead of now_ms (our
 * clock) is evicted and the watermark rises to its created_ms, so the watermark never
 * passes our clock however a sender dates its messages. E_BUSY when every entry is dated
 * ahead of now_ms (try again later), E_EXISTS for a replay, E_INVAL on wrong spk. */
MOMEDO_WUR int e2e_replay_add(struct e2e_replay *rp, const struct e2e_envelope *env,
                              uint64_t created_ms, uint64_t now_ms);
uint32_t e2e_replay_count(const struct e2e_replay *rp);
MOMEDO_WUR int e2e_replay_save(const struct e2e_replay *rp, uint8_t **out, size_t *out_len);
MOMEDO_WUR int e2e_replay_load(struct e2e_replay **out, const uint8_t *buf, size_t len);

#endif
