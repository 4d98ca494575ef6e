/* node/identity.c — node key file I/O (node.key, node.crt) and the self-signed
 * Ed25519 certificate built with wolfCrypt's certificate generation. Owns no
 * global state; never writes the seed anywhere but node.key, never logs it.
 *
 * node.key format, version 1 (ASCII, exactly three lines, lower- or upper-case hex):
 *   momedo-node-key 1
 *   seed <64 hex digits: Ed25519 seed, RFC 8032 secret key>
 *   pub <64 hex digits: Ed25519 public key, must match the seed>
 */
#include "identity.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"

#define IDENTITY_MAGIC "momedo-node-key"
#define IDENTITY_PEM_MAX 2048

__attribute__((format(printf, 3, 4))) static void
identity_err(char *err, size_t cap, const char *fmt, ...) {
  if (err == NULL || cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

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

void node_key_hex(const uint8_t key[static NODE_KEY_LEN], char out[static NODE_KEY_HEX_LEN + 1]) {
  hex_encode(out, NODE_KEY_HEX_LEN + 1, key, NODE_KEY_LEN);
}

void node_key_prefix(const uint8_t key[static NODE_KEY_LEN],
                     char out[static NODE_KEY_PREFIX_LEN + 1]) {
  char hex[NODE_KEY_HEX_LEN + 1];
  node_key_hex(key, hex);
  memcpy(out, hex, NODE_KEY_PREFIX_LEN);
  out[NODE_KEY_PREFIX_LEN] = '\0';
}

int node_key_parse(const char *hex, uint8_t key[static NODE_KEY_LEN]) {
  return hex_decode_str(key, NODE_KEY_LEN, hex);
}

/* Write len bytes to path via path.tmp; `exclusive` refuses an existing path. */
static int identity_write_file(const char *path, const void *buf, size_t len, mode_t mode,
                               int exclusive, char *err, size_t err_cap) {
  char tmp[PATH_MAX];
  int fd = -1, ret = MOMEDO_E_IO;
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    identity_err(err, err_cap, "%s: path too long", path);
    return MOMEDO_E_INVAL;
  }
  (void)unlink(tmp); /* a leftover from an interrupted save */
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0 || fchmod(fd, mode) != 0) goto fail;
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, (const uint8_t *)buf + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) goto fail;
    off += (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (exclusive) {
    /* link(2) fails with EEXIST instead of replacing: never clobber a node key. */
    if (link(tmp, path) != 0) {
      ret = errno == EEXIST ? MOMEDO_E_EXISTS : MOMEDO_E_IO;
      identity_err(err, err_cap, "%s: %s", path,
                   errno == EEXIST ? "already exists; refusing to overwrite a node key"
                                   : strerror(errno));
      (void)unlink(tmp);
      return ret;
    }
    (void)unlink(tmp);
  } else if (rename(tmp, path) != 0) {
    goto fail;
  }
  return 0;
fail:
  identity_err(err, err_cap, "%s: %s", tmp, strerror(errno));
  if (fd >= 0) close(fd);
  (void)unlink(tmp);
  return ret;
}

int node_identity_save(const struct node_identity *id, const char *dir, char *err,
                       size_t err_cap) {
  char path[PATH_MAX], text[NODE_KEY_FILE_BYTES_MAX], seed_hex[NODE_KEY_HEX_LEN + 1],
      pub_hex[NODE_KEY_HEX_LEN + 1];
  uint8_t pem[IDENTITY_PEM_MAX];
  int ret;

  node_key_hex(id->kp.seed, seed_hex); /* CRYPTO_SIGN_SEED_LEN == NODE_KEY_LEN */
  node_key_hex(id->kp.pub, pub_hex);
  int n = snprintf(text, sizeof text, "%s %d\nseed %s\npub %s\n", IDENTITY_MAGIC,
                   NODE_KEY_FILE_VERSION, seed_hex, pub_hex);
  crypto_wipe(seed_hex, sizeof seed_hex);
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_KEY_FILE) >= (int)sizeof path) {
    identity_err(err, err_cap, "%s: directory path too long", dir);
    ret = MOMEDO_E_INVAL;
    goto out;
  }
  ret = identity_write_file(path, text, (size_t)n, 0600, 1, err, err_cap);
  if (ret != 0) goto out;

  int pem_len = wc_DerToPem(id->cert_der, (word32)id->cert_der_len, pem, sizeof pem, CERT_TYPE);
  if (pem_len <= 0) {
    identity_err(err, err_cap, "cannot encode the node certificate as PEM");
    ret = MOMEDO_E_CRYPTO;
    goto out;
  }
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_CERT_FILE) >= (int)sizeof path) {
    ret = MOMEDO_E_INVAL;
    goto out;
  }
  ret = identity_write_file(path, pem, (size_t)pem_len, 0644, 0, err, err_cap);
out:
  crypto_wipe(text, sizeof text);
  return ret;
}

/* Parse the node.key text (NUL-terminated, len bytes) into seed and pub. */
static int identity_parse(const char *text, size_t len, uint8_t seed[static NODE_KEY_LEN],
                          uint8_t pub[static NODE_KEY_LEN], char *err, size_t err_cap) {
  const size_t magic_len = sizeof IDENTITY_MAGIC - 1;
  if (len < magic_len + 1 || memcmp(text, IDENTITY_MAGIC " ", magic_len + 1) != 0) {
    identity_err(err, err_cap, "not a momedo node key file (bad first line)");
    return MOMEDO_E_CORRUPT;
  }
  const char *p = text + magic_len + 1, *nl = strchr(p, '\n');
  if (nl == NULL) {
    identity_err(err, err_cap, "truncated after the first line");
    return MOMEDO_E_CORRUPT;
  }
  if (nl - p != 1 || *p != '0' + NODE_KEY_FILE_VERSION) {
    identity_err(err, err_cap, "unsupported key file version \"%.*s\" (this node reads %d)",
                 (int)(nl - p < 16 ? nl - p : 16), p, NODE_KEY_FILE_VERSION);
    return MOMEDO_E_VERSION;
  }
  p = nl + 1;
  /* "seed " + 64 hex + "\n" + "pub " + 64 hex + "\n" and nothing after. */
  const size_t want = 5 + NODE_KEY_HEX_LEN + 1 + 4 + NODE_KEY_HEX_LEN + 1;
  size_t left = len - (size_t)(p - text);
  if (left < want) {
    identity_err(err, err_cap, "truncated: %zu of %zu bytes after the header", left, want);
    return MOMEDO_E_CORRUPT;
  }
  if (left > want || memcmp(p, "seed ", 5) != 0 || p[5 + NODE_KEY_HEX_LEN] != '\n' ||
      memcmp(p + 6 + NODE_KEY_HEX_LEN, "pub ", 4) != 0 || p[want - 1] != '\n' ||
      hex_decode(seed, NODE_KEY_LEN, p + 5, NODE_KEY_HEX_LEN) != 0 ||
      hex_decode(pub, NODE_KEY_LEN, p + 10 + NODE_KEY_HEX_LEN, NODE_KEY_HEX_LEN) != 0) {
    identity_err(err, err_cap, "malformed seed or pub line");
    return MOMEDO_E_CORRUPT;
  }
  return 0;
}

/* Read node.key into text (cap bytes incl. NUL) after checking its permissions. */
static int identity_read_key_file(const char *path, char *text, size_t cap, size_t *len,
                                  char *err, size_t err_cap) {
  struct stat st;
  int ret = MOMEDO_E_IO;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    identity_err(err, err_cap, "%s: %s", path, strerror(errno));
    return errno == ENOENT ? MOMEDO_E_NOTFOUND : errno == ELOOP ? MOMEDO_E_DENIED
                                                                  : MOMEDO_E_IO;
  }
  if (fstat(fd, &st) != 0) goto out;
  if (!S_ISREG(st.st_mode)) {
    identity_err(err, err_cap, "%s: not a regular file", path);
    ret = MOMEDO_E_DENIED;
    goto out;
  }
  if ((st.st_mode & 077) != 0) {
    identity_err(err, err_cap,
                 "%s: mode %04o lets group or others read the node's secret key; "
                 "run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
    ret = MOMEDO_E_DENIED;
    goto out;
  }
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, text + n, cap - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) goto out;
    if (r == 0) break;
    n += (size_t)r;
    if (n == cap - 1) {
      identity_err(err, err_cap, "%s: longer than %zu bytes; not a node key file", path,
                   cap - 2);
      ret = MOMEDO_E_CORRUPT;
      goto out;
    }
  }
  text[n] = '\0';
  *len = n;
  ret = 0;
out:
  if (ret == MOMEDO_E_IO) identity_err(err, err_cap, "%s: %s", path, strerror(errno));
  close(fd);
  return ret;
}

int node_identity_load(struct node_identity *id, const char *dir, char *err,
                       size_t err_cap) {
  char path[PATH_MAX], text[NODE_KEY_FILE_BYTES_MAX + 2], why[NODE_ERR_MAX] = "";
  uint8_t seed[NODE_KEY_LEN], pub[NODE_KEY_LEN];
  size_t len = 0;
  int ret;

  memset(id, 0, sizeof *id);
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_KEY_FILE) >= (int)sizeof path) {
    identity_err(err, err_cap, "%s: directory path too long", dir);
    return MOMEDO_E_INVAL;
  }
  ret = identity_read_key_file(path, text, sizeof text, &len, err, err_cap);
  if (ret != 0) goto out;
  ret = identity_parse(text, len, seed, pub, why, sizeof why);
  if (ret != 0) {
    identity_err(err, err_cap, "%s: %s", path, why);
    goto out;
  }
  ret = node_identity_from_seed(id, seed);
  if (ret == 0 && !crypto_ct_eq(id->kp.pub, pub, NODE_KEY_LEN)) {
    identity_err(err, err_cap, "%s: the public key does not match the seed", path);
    node_identity_close(id);
    ret = MOMEDO_E_CORRUPT;
  } else if (ret != 0) {
    identity_err(err, err_cap, "%s: cannot rebuild the key pair: %s", path,
                 momedo_strerror(ret));
  }
out:
  crypto_wipe(text, sizeof text);
  crypto_wipe(seed, sizeof seed);
  return ret;
}

int node_identity_load_or_create(struct node_identity *id, const char *dir, int *created,
                                 char *err, size_t err_cap) {
  *created = 0;
  int ret = node_identity_load(id, dir, err, err_cap);
  if (ret != MOMEDO_E_NOTFOUND) return ret;
  ret = node_identity_generate(id);
  if (ret != 0) {
    identity_err(err, err_cap, "cannot generate a node key: %s", momedo_strerror(ret));
    return ret;
  }
  ret = node_identity_save(id, dir, err, err_cap);
  if (ret != 0) {
    node_identity_close(id);
    return ret;
  }
  *created = 1;
  return 0;
}
