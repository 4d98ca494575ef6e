/* node/identity.h — the node's long-term identity: an Ed25519 key pair kept in
 * <dir>/node.key (mode 0600; the file itself is nodedir.h's), and the self-signed X.509
 * certificate the TLS layer presents for it. Peers pin the public key (node key), never
 * the certificate, which is rebuilt in memory at every start. Must not log or export
 * the seed. */
#ifndef MOMEDO_NODE_IDENTITY_H
#define MOMEDO_NODE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "nodedir.h"
#include "reason.h"
#include "status.h"

#define NODE_CERT_FILE "node.crt"       /* public: PEM certificate, for people to inspect */
#define NODE_CERT_DER_MAX 1024          /* an Ed25519 self-signed cert is ~300 bytes */
#define NODE_PRIVKEY_DER_MAX 128        /* PKCS#8 Ed25519 private key is 48 bytes */
#define NODE_CERT_DAYS_VALID 3650       /* dates are not checked by peers (pinning) */
#define NODE_CERT_CN "momedo node"

struct node_identity {
  struct crypto_sign_keypair kp;        /* kp.seed is the secret */
  uint8_t cert_der[NODE_CERT_DER_MAX];  /* self-signed X.509 for kp.pub */
  size_t cert_der_len;
  uint8_t key_der[NODE_PRIVKEY_DER_MAX]; /* PKCS#8 private key, for wolfSSL */
  size_t key_der_len;
};

/* Fresh random key pair plus its certificate. */
MOMEDO_WUR int node_identity_generate(struct node_identity *id);
/* Key pair from a known seed plus its certificate (tests, restore). */
MOMEDO_WUR int node_identity_from_seed(struct node_identity *id,
                                       const uint8_t seed[static CRYPTO_SIGN_SEED_LEN]);

/* Write <dir>/node.key (mode 0600, created exclusively; MOMEDO_E_EXISTS if it is
 * already there) and <dir>/node.crt (PEM, mode 0644, replaced). why (protocol/reason.h,
 * may be NULL) receives a sentence for the operator on failure. */
MOMEDO_WUR int node_identity_save(const struct node_identity *id, const char *dir,
                                  char *why, size_t why_cap);

/* Read <dir>/node.key and rebuild the certificate. Errors: MOMEDO_E_NOTFOUND (no
 * file), MOMEDO_E_DENIED (group or world may read it, or not a regular file),
 * MOMEDO_E_CORRUPT (malformed, truncated, or the public key does not match the
 * seed), MOMEDO_E_VERSION (unknown format version), MOMEDO_E_IO. */
MOMEDO_WUR int node_identity_load(struct node_identity *id, const char *dir, char *why,
                                  size_t why_cap);

/* Load <dir>/node.key, or generate and save a new identity when there is none.
 * *created is set to 1 when a new identity was written. */
MOMEDO_WUR int node_identity_load_or_create(struct node_identity *id, const char *dir,
                                            int *created, char *why, size_t why_cap);

/* Write <dir>/node.crt (PEM, mode 0644) for id when it holds anything else: momedod
 * does at every start, since momedo-admin creates nodes without wolfSSL. */
MOMEDO_WUR int node_identity_write_cert(const struct node_identity *id, const char *dir,
                                        char *why, size_t why_cap);

/* Wipe the secret parts. */
void node_identity_close(struct node_identity *id);

/* The Ed25519 public key carried by a DER certificate. MOMEDO_E_DECODE if it does
 * not parse, MOMEDO_E_BADKEY if its key is not Ed25519. Does not check signatures
 * or dates: callers pin the key. */
MOMEDO_WUR int node_cert_pubkey(const uint8_t *der, size_t len, uint8_t pub[static NODE_KEY_LEN]);

/* node_key_hex, node_key_prefix and node_key_parse are in nodedir.h. */

#endif
