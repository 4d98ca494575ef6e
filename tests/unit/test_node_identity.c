/* Unit tests for node/identity: node.key round trip and refusals (permissions,
 * truncation, version, mismatched key), the self-signed certificate's key, name and
 * signature, and the hex helpers. Uses RFC 8032 test vector 1 for exact bytes. */
#include "harness.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"

/* RFC 8032, section 7.1, TEST 1. */
#define SEED1 "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define PUB1 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

static char tmp_root[512];

/* A fresh empty directory under MOMEDO_TEST_TMP. */
static void make_dir(char *out, size_t cap) {
  snprintf(out, cap, "%s/identity.XXXXXX", tmp_root);
  if (mkdtemp(out) == NULL) {
    perror("mkdtemp");
    abort();
  }
}

static void remove_dir(const char *dir) {
  const char *names[] = {NODE_KEY_FILE, NODE_CERT_FILE, NODE_KEY_FILE ".tmp"};
  char p[700];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    (void)unlink(p);
  }
  (void)rmdir(dir);
}

static void write_key_file(const char *dir, const char *text, mode_t mode) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, NODE_KEY_FILE);
  (void)unlink(p);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
  if (fchmod(fd, mode) != 0) abort();
  close(fd);
}

static size_t read_file(const char *dir, const char *name, char *buf, size_t cap,
                        mode_t *mode) {
  char p[700];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int fd = open(p, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, cap - 1);
  if (fstat(fd, &st) != 0) abort();
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  if (mode) *mode = st.st_mode & 07777;
  return n > 0 ? (size_t)n : 0;
}

static void test_identity_vector_file_bytes(void) {
  char dir[600], text[600];
  uint8_t seed[32], pub[32];
  mode_t mode = 0;
  struct node_identity id;
  th_unhex(seed, sizeof seed, SEED1);
  th_unhex(pub, sizeof pub, PUB1);
  CHECK_EQ(node_identity_from_seed(&id, seed), 0);
  CHECK_MEM(id.kp.pub, pub, 32);
  make_dir(dir, sizeof dir);
  CHECK_EQ(node_identity_save(&id, dir, NULL, 0), 0);
  read_file(dir, NODE_KEY_FILE, text, sizeof text, &mode);
  CHECK_STR(text, "momedo-node-key 1\nseed " SEED1 "\npub " PUB1 "\n");
  CHECK_EQ(mode, 0600);
  read_file(dir, NODE_CERT_FILE, text, sizeof text, &mode);
  CHECK(strncmp(text, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
  CHECK(strstr(text, "-----END CERTIFICATE-----") != NULL);
  node_identity_close(&id);
  remove_dir(dir);
}

static void test_identity_roundtrip(void) {
  char dir[600], err[REASON_MAX] = "";
  struct node_identity a, b;
  CHECK_EQ(node_identity_generate(&a), 0);
  make_dir(dir, sizeof dir);
  CHECK_EQ(node_identity_save(&a, dir, err, sizeof err), 0);
  CHECK_EQ(node_identity_load(&b, dir, err, sizeof err), 0);
  CHECK_MEM(b.kp.pub, a.kp.pub, 32);
  CHECK_MEM(b.kp.seed, a.kp.seed, 32);
  CHECK(b.cert_der_len > 0 && b.key_der_len > 0);
  /* Saving again must not clobber the node key. */
  CHECK_EQ(node_identity_save(&a, dir, err, sizeof err), MOMEDO_E_EXISTS);
  CHECK(strstr(err, "refusing to overwrite") != NULL);
  node_identity_close(&a);
  node_identity_close(&b);
  remove_dir(dir);
}

static void test_identity_load_or_create(void) {
  char dir[600], err[REASON_MAX] = "";
  struct node_identity a, b;
  int created = -1;
  make_dir(dir, sizeof dir);
  CHECK_EQ(node_identity_load_or_create(&a, dir, &created, err, sizeof err), 0);
  CHECK_EQ(created, 1);
  CHECK_EQ(node_identity_load_or_create(&b, dir, &created, err, sizeof err), 0);
  CHECK_EQ(created, 0);
  CHECK_MEM(a.kp.pub, b.kp.pub, 32);
  node_identity_close(&a);
  node_identity_close(&b);
  remove_dir(dir);
}

static void test_identity_refuses_readable_file(void) {
  char dir[600], err[REASON_MAX] = "";
  struct node_identity id;
  make_dir(dir, sizeof dir);
  write_key_file(dir, "momedo-node-key 1\nseed " SEED1 "\npub " PUB1 "\n", 0644);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), MOMEDO_E_DENIED);
  CHECK(strstr(err, "mode 0644") != NULL);
  CHECK(strstr(err, "chmod 600") != NULL);
  write_key_file(dir, "momedo-node-key 1\nseed " SEED1 "\npub " PUB1 "\n", 0640);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), MOMEDO_E_DENIED);
  write_key_file(dir, "momedo-node-key 1\nseed " SEED1 "\npub " PUB1 "\n", 0600);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), 0);
  uint8_t pub[32];
  th_unhex(pub, sizeof pub, PUB1);
  CHECK_MEM(id.kp.pub, pub, 32);
  node_identity_close(&id);
  remove_dir(dir);
}

static void test_identity_refuses_malformed(void) {
  char dir[600], err[REASON_MAX] = "";
  struct node_identity id;
  const char *full = "momedo-node-key 1\nseed " SEED1 "\npub " PUB1 "\n";
  char cut[300];
  make_dir(dir, sizeof dir);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), MOMEDO_E_NOTFOUND);
  /* Every truncation of a valid file is refused. */
  for (size_t n = 0; n < strlen(full); n++) {
    memcpy(cut, full, n);
    cut[n] = '\0';
    write_key_file(dir, cut, 0600);
    int rc = node_identity_load(&id, dir, err, sizeof err);
    if (rc != MOMEDO_E_CORRUPT) fprintf(stderr, "truncated at %zu: %d (%s)\n", n, rc, err);
    CHECK_EQ(rc, MOMEDO_E_CORRUPT);
  }
  write_key_file(dir, "momedo-node-key 2\nseed " SEED1 "\npub " PUB1 "\n", 0600);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), MOMEDO_E_VERSION);
  /* Public key of another seed (last digit changed). */
  write_key_file(dir, "momedo-node-key 1\nseed " SEED1 "\npub " PUB1 "\n", 0600);
  write_key_file(dir,
                 "momedo-node-key 1\nseed " SEED1 "\npub "
                 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511b\n",
                 0600);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), MOMEDO_E_CORRUPT);
  CHECK(strstr(err, "does not match") != NULL);
  write_key_file(dir, "momedo-node-key 1\nseed " SEED1 "\npub " PUB1 "\nextra\n", 0600);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), MOMEDO_E_CORRUPT);
  write_key_file(dir, "momedo-node-key 1\nseed " PUB1 "\npub zz" PUB1 "\n", 0600);
  CHECK_EQ(node_identity_load(&id, dir, err, sizeof err), MOMEDO_E_CORRUPT);
  remove_dir(dir);
}

static void test_identity_cert(void) {
  uint8_t seed[32], pub[32], got[32];
  struct node_identity id;
  th_unhex(seed, sizeof seed, SEED1);
  th_unhex(pub, sizeof pub, PUB1);
  CHECK_EQ(node_identity_from_seed(&id, seed), 0);
  CHECK_EQ(node_cert_pubkey(id.cert_der, id.cert_der_len, got), 0);
  CHECK_MEM(got, pub, 32);

  /* Subject CN, key type and signature type, parsed independently. */
  DecodedCert dc;
  wc_InitDecodedCert(&dc, id.cert_der, (word32)id.cert_der_len, NULL);
  int rc = wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL);
  int cn_ok = dc.subjectCN != NULL && dc.subjectCNLen == (int)strlen(NODE_CERT_CN) &&
              memcmp(dc.subjectCN, NODE_CERT_CN, strlen(NODE_CERT_CN)) == 0;
  int key_ok = dc.keyOID == ED25519k && dc.signatureOID == CTC_ED25519;
  wc_FreeDecodedCert(&dc);
  CHECK_EQ(rc, 0);
  CHECK(cn_ok);
  CHECK(key_ok);

  /* The self-signature verifies under the certificate's own key. */
  CHECK_EQ(wolfSSL_Init(), WOLFSSL_SUCCESS);
  WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();
  CHECK(cm != NULL);
  int load = wolfSSL_CertManagerLoadCABuffer(cm, id.cert_der, (long)id.cert_der_len,
                                             WOLFSSL_FILETYPE_ASN1);
  int ver = wolfSSL_CertManagerVerifyBuffer(cm, id.cert_der, (long)id.cert_der_len,
                                            WOLFSSL_FILETYPE_ASN1);
  /* A flipped signature byte must not verify. */
  id.cert_der[id.cert_der_len - 1] ^= 1;
  int bad = wolfSSL_CertManagerVerifyBuffer(cm, id.cert_der, (long)id.cert_der_len,
                                            WOLFSSL_FILETYPE_ASN1);
  wolfSSL_CertManagerFree(cm);
  wolfSSL_Cleanup();
  CHECK_EQ(load, WOLFSSL_SUCCESS);
  CHECK_EQ(ver, WOLFSSL_SUCCESS);
  CHECK(bad != WOLFSSL_SUCCESS);

  CHECK_EQ(node_cert_pubkey(id.cert_der, 10, got), MOMEDO_E_DECODE);
  node_identity_close(&id);
}

static void test_identity_hex(void) {
  uint8_t pub[32], back[32];
  char hex[NODE_KEY_HEX_LEN + 1], prefix[NODE_KEY_PREFIX_LEN + 1];
  th_unhex(pub, sizeof pub, PUB1);
  node_key_hex(pub, hex);
  CHECK_STR(hex, PUB1);
  node_key_prefix(pub, prefix);
  CHECK_STR(prefix, "d75a980182b10ab7");
  CHECK_EQ(node_key_parse("D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A",
                          back), 0);
  CHECK_MEM(back, pub, 32);
  CHECK_EQ(node_key_parse("d75a", back), MOMEDO_E_INVAL);
  CHECK_EQ(node_key_parse("x75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                          back), MOMEDO_E_INVAL);
}

int main(void) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  snprintf(tmp_root, sizeof tmp_root, "%s", t ? t : "/tmp");
  if (mkdir(tmp_root, 0700) != 0 && errno != EEXIST) {
    perror(tmp_root);
    return 1;
  }
  RUN(test_identity_vector_file_bytes);
  RUN(test_identity_roundtrip);
  RUN(test_identity_load_or_create);
  RUN(test_identity_refuses_readable_file);
  RUN(test_identity_refuses_malformed);
  RUN(test_identity_cert);
  RUN(test_identity_hex);
  TEST_MAIN_END();
}
