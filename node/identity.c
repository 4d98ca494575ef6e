/* node/identity.c — the node's key pair with its self-signed Ed25519 certificate, built
 * with wolfCrypt's certificate generation; the key file itself is read and written by
 * keyfile.c (nodedir.h). Owns no global state; never writes the seed anywhere but
 * node.key, never logs it. */
#include "identity.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define IDENTITY_PEM_MAX 2048

/* Build key_der and cert_der from id->kp. */
static int identity_build_cert(struct node_identity *id) {
  ed25519_key key;
  WC_RNG rng;
  Cert cert;
  uint8_t pub[ED25519_PUB_KEY_SIZE];
  int have_key = 0, have_rng = 0, ret = MOMEDO_E_CRYPTO;

  if (wc_ed25519_init(&key) != 0) goto out;
  have_key = 1;
  if (wc_ed25519_import_private_only(id->kp.seed, ED25519_KEY_SIZE, &key) != 0) goto out;
  if (wc_ed25519_make_public(&key, pub, sizeof pub) != 0) goto out;
  if (!crypto_ct_eq(pub, id->kp.pub, sizeof pub)) {
    ret = MOMEDO_E_BADKEY; /* the key pair is inconsistent */
    goto out;
  }
  if (wc_ed25519_import_private_key(id->kp.seed, ED25519_KEY_SIZE, pub, sizeof pub, &key) != 0)
    goto out;
  int n = wc_Ed25519KeyToDer(&key, id->key_der, sizeof id->key_der);
  if (n <= 0) goto out;
  id->key_der_len = (size_t)n;

  if (wc_InitRng(&rng) != 0) {
    ret = MOMEDO_E_RNG;
    goto out;
  }
  have_rng = 1;
  if (wc_InitCert(&cert) != 0) goto out;
  snprintf(cert.subject.commonName, sizeof cert.subject.commonName, "%s", NODE_CERT_CN);
  cert.sigType = CTC_ED25519;
  cert.daysValid = NODE_CERT_DAYS_VALID;
  cert.selfSigned = 1;
  cert.isCA = 0;
  n = wc_MakeCert_ex(&cert, id->cert_der, sizeof id->cert_der, ED25519_TYPE, &key, &rng);
  if (n <= 0) goto out;
  n = wc_SignCert_ex(cert.bodySz, cert.sigType, id->cert_der, sizeof id->cert_der,
                     ED25519_TYPE, &key, &rng);
  if (n <= 0) goto out;
  id->cert_der_len = (size_t)n;
  ret = 0;
out:
  if (have_rng) wc_FreeRng(&rng);
  if (have_key) wc_ed25519_free(&key);
  crypto_wipe(&key, sizeof key);
  return ret;
}

int node_identity_from_seed(struct node_identity *id,
                            const uint8_t seed[static CRYPTO_SIGN_SEED_LEN]) {
  memset(id, 0, sizeof *id);
  int ret = crypto_sign_from_seed(&id->kp, seed);
  if (ret == 0) ret = identity_build_cert(id);
  if (ret != 0) node_identity_close(id);
  return ret;
}

int node_identity_generate(struct node_identity *id) {
  memset(id, 0, sizeof *id);
  int ret = crypto_sign_keygen(&id->kp);
  if (ret == 0) ret = identity_build_cert(id);
  if (ret != 0) node_identity_close(id);
  return ret;
}

void node_identity_close(struct node_identity *id) { crypto_wipe(id, sizeof *id); }

int node_cert_pubkey(const uint8_t *der, size_t len, uint8_t pub[static NODE_KEY_LEN]) {
  DecodedCert dc;
  int ret = MOMEDO_E_DECODE;

  if (len == 0 || len > UINT32_MAX) return MOMEDO_E_DECODE;
  wc_InitDecodedCert(&dc, der, (word32)len, NULL);
  if (wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL) != 0) goto out;
  /* For Ed25519 wolfCrypt keeps the raw 32-byte key (RFC 8410) in publicKey.
   * (wc_GetPubKeyDerFromCert is not used: in 5.5.4 it leaves the length unset.) */
  if (dc.keyOID != ED25519k || dc.publicKey == NULL || dc.pubKeySize != NODE_KEY_LEN) {
    ret = MOMEDO_E_BADKEY;
    goto out;
  }
  memcpy(pub, dc.publicKey, NODE_KEY_LEN);
  ret = 0;
out:
  wc_FreeDecodedCert(&dc);
  return ret;
}

int node_identity_write_cert(const struct node_identity *id, const char *dir, char *why,
                             size_t why_cap) {
  char path[PATH_MAX];
  uint8_t pem[IDENTITY_PEM_MAX];
  int pem_len = wc_DerToPem(id->cert_der, (word32)id->cert_der_len, pem, sizeof pem, CERT_TYPE);
  if (pem_len <= 0) {
    reason_set(why, why_cap, "cannot encode the node certificate as PEM");
    return MOMEDO_E_CRYPTO;
  }
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_CERT_FILE) >= (int)sizeof path) {
    reason_set(why, why_cap, "%s: directory path too long", dir);
    return MOMEDO_E_INVAL;
  }
  return node_file_put(path, pem, (size_t)pem_len, 0644, 0, why, why_cap);
}

int node_identity_save(const struct node_identity *id, const char *dir, char *why,
                       size_t why_cap) {
  int ret = node_keyfile_write(dir, &id->kp, why, why_cap);
  return ret ? ret : node_identity_write_cert(id, dir, why, why_cap);
}

int node_identity_load(struct node_identity *id, const char *dir, char *why,
                       size_t why_cap) {
  struct crypto_sign_keypair kp;
  memset(id, 0, sizeof *id);
  int ret = node_keyfile_read(dir, &kp, why, why_cap);
  if (ret == 0) {
    ret = node_identity_from_seed(id, kp.seed);
    if (ret != 0)
      reason_set(why, why_cap, "%s/%s: cannot rebuild the key pair: %s", dir, NODE_KEY_FILE,
                   momedo_strerror(ret));
  }
  crypto_wipe(&kp, sizeof kp);
  return ret;
}

int node_identity_load_or_create(struct node_identity *id, const char *dir, int *created,
                                 char *why, size_t why_cap) {
  *created = 0;
  int ret = node_identity_load(id, dir, why, why_cap);
  if (ret != MOMEDO_E_NOTFOUND) return ret;
  ret = node_identity_generate(id);
  if (ret != 0) {
    reason_set(why, why_cap, "cannot generate a node key: %s", momedo_strerror(ret));
    return ret;
  }
  ret = node_identity_save(id, dir, why, why_cap);
  if (ret != 0) {
    node_identity_close(id);
    return ret;
  }
  *created = 1;
  return 0;
}
