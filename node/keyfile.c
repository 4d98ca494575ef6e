/* node/keyfile.c — the node key file (node.key): read it (checking its permissions and
 * that the public key matches the seed) and write it (never over an existing one). Part
 * of momedo_nodeconf, so momedo-admin creates nodes and prints fingerprints without
 * momedod. Never logs, never writes the seed anywhere but node.key.
 *
 * node.key format, version 1 (ASCII, exactly three lines, lower- or upper-case hex):
 *   momedo-node-key 1
 *   seed <64 hex digits: Ed25519 seed, RFC 8032 secret key>
 *   pub <64 hex digits: Ed25519 public key, must match the seed>
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "nodedir.h"

#define KEYFILE_MAGIC "momedo-node-key"

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

int node_file_put(const char *path, const void *buf, size_t len, unsigned mode, int exclusive,
                  char *why, size_t why_cap) {
  char tmp[PATH_MAX];
  int fd = -1, ret = MOMEDO_E_IO;
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    reason_set(why, why_cap, "%s: path too long", path);
    return MOMEDO_E_INVAL;
  }
  (void)unlink(tmp); /* a leftover from an interrupted save */
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (fd < 0 || fchmod(fd, (mode_t)mode) != 0) goto fail;
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
      reason_set(why, why_cap, "%s: %s", path,
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
  reason_set(why, why_cap, "%s: %s", tmp, strerror(errno));
  if (fd >= 0) close(fd);
  (void)unlink(tmp);
  return ret;
}

int node_keyfile_write(const char *dir, const struct crypto_sign_keypair *kp, char *why,
                       size_t why_cap) {
  char path[PATH_MAX], text[NODE_KEY_FILE_BYTES_MAX], seed_hex[NODE_KEY_HEX_LEN + 1],
      pub_hex[NODE_KEY_HEX_LEN + 1];
  node_key_hex(kp->seed, seed_hex); /* CRYPTO_SIGN_SEED_LEN == NODE_KEY_LEN */
  node_key_hex(kp->pub, pub_hex);
  int n = snprintf(text, sizeof text, "%s %d\nseed %s\npub %s\n", KEYFILE_MAGIC,
                   NODE_KEY_FILE_VERSION, seed_hex, pub_hex);
  crypto_wipe(seed_hex, sizeof seed_hex);
  int ret = MOMEDO_E_INVAL;
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_KEY_FILE) >= (int)sizeof path)
    reason_set(why, why_cap, "%s: directory path too long", dir);
  else
    ret = node_file_put(path, text, (size_t)n, 0600, 1, why, why_cap);
  crypto_wipe(text, sizeof text);
  return ret;
}

/* Parse the node.key text (NUL-terminated, len bytes) into seed and pub. */
static int keyfile_parse(const char *text, size_t len, uint8_t seed[static NODE_KEY_LEN],
                         uint8_t pub[static NODE_KEY_LEN], char *why, size_t why_cap) {
  const size_t magic_len = sizeof KEYFILE_MAGIC - 1;
  if (len < magic_len + 1 || memcmp(text, KEYFILE_MAGIC " ", magic_len + 1) != 0) {
    reason_set(why, why_cap, "not a momedo node key file (bad first line)");
    return MOMEDO_E_CORRUPT;
  }
  const char *p = text + magic_len + 1, *nl = strchr(p, '\n');
  if (nl == NULL) {
    reason_set(why, why_cap, "truncated after the first line");
    return MOMEDO_E_CORRUPT;
  }
  if (nl - p != 1 || *p != '0' + NODE_KEY_FILE_VERSION) {
    reason_set(why, why_cap, "unsupported key file version \"%.*s\" (this node reads %d)",
                (int)(nl - p < 16 ? nl - p : 16), p, NODE_KEY_FILE_VERSION);
    return MOMEDO_E_VERSION;
  }
  p = nl + 1;
  /* "seed " + 64 hex + "\n" + "pub " + 64 hex + "\n" and nothing after. */
  const size_t want = 5 + NODE_KEY_HEX_LEN + 1 + 4 + NODE_KEY_HEX_LEN + 1;
  size_t left = len - (size_t)(p - text);
  if (left < want) {
    reason_set(why, why_cap, "truncated: %zu of %zu bytes after the header", left, want);
    return MOMEDO_E_CORRUPT;
  }
  if (left > want || memcmp(p, "seed ", 5) != 0 || p[5 + NODE_KEY_HEX_LEN] != '\n' ||
      memcmp(p + 6 + NODE_KEY_HEX_LEN, "pub ", 4) != 0 || p[want - 1] != '\n' ||
      hex_decode(seed, NODE_KEY_LEN, p + 5, NODE_KEY_HEX_LEN) != 0 ||
      hex_decode(pub, NODE_KEY_LEN, p + 10 + NODE_KEY_HEX_LEN, NODE_KEY_HEX_LEN) != 0) {
    reason_set(why, why_cap, "malformed seed or pub line");
    return MOMEDO_E_CORRUPT;
  }
  return 0;
}

/* Read node.key into text (cap bytes incl. NUL) after checking its permissions. */
static int keyfile_read_text(const char *path, char *text, size_t cap, size_t *len, char *why,
                             size_t why_cap) {
  struct stat st;
  int ret = MOMEDO_E_IO;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    reason_set(why, why_cap, "%s: %s", path, strerror(errno));
    return errno == ENOENT ? MOMEDO_E_NOTFOUND
           : errno == ELOOP || errno == EACCES ? MOMEDO_E_DENIED : MOMEDO_E_IO;
  }
  if (fstat(fd, &st) != 0) goto out;
  if (!S_ISREG(st.st_mode)) {
    reason_set(why, why_cap, "%s: not a regular file", path);
    ret = MOMEDO_E_DENIED;
    goto out;
  }
  if ((st.st_mode & 077) != 0) {
    reason_set(why, why_cap,
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
      reason_set(why, why_cap, "%s: longer than %zu bytes; not a node key file", path,
                  cap - 2);
      ret = MOMEDO_E_CORRUPT;
      goto out;
    }
  }
  text[n] = '\0';
  *len = n;
  ret = 0;
out:
  if (ret == MOMEDO_E_IO) reason_set(why, why_cap, "%s: %s", path, strerror(errno));
  close(fd);
  return ret;
}

int node_keyfile_read(const char *dir, struct crypto_sign_keypair *kp, char *why,
                      size_t why_cap) {
  char path[PATH_MAX], text[NODE_KEY_FILE_BYTES_MAX + 2], inner[REASON_MAX] = "";
  uint8_t seed[NODE_KEY_LEN], pub[NODE_KEY_LEN];
  size_t len = 0;
  int ret;
  memset(kp, 0, sizeof *kp);
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_KEY_FILE) >= (int)sizeof path) {
    reason_set(why, why_cap, "%s: directory path too long", dir);
    return MOMEDO_E_INVAL;
  }
  ret = keyfile_read_text(path, text, sizeof text, &len, why, why_cap);
  if (ret != 0) goto out;
  ret = keyfile_parse(text, len, seed, pub, inner, sizeof inner);
  if (ret != 0) {
    reason_set(why, why_cap, "%s: %s", path, inner);
    goto out;
  }
  ret = crypto_sign_from_seed(kp, seed);
  if (ret != 0) {
    reason_set(why, why_cap, "%s: cannot rebuild the key pair: %s", path,
                momedo_strerror(ret));
  } else if (!crypto_ct_eq(kp->pub, pub, NODE_KEY_LEN)) {
    reason_set(why, why_cap, "%s: the public key does not match the seed", path);
    ret = MOMEDO_E_CORRUPT;
  }
  if (ret != 0) crypto_wipe(kp, sizeof *kp);
out:
  crypto_wipe(text, sizeof text);
  crypto_wipe(seed, sizeof seed);
  return ret;
}
