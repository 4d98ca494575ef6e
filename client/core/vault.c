/* client/core/vault.c — encrypted state at rest: the wrapped data key, sealed records
 * (stored by vault_db.c), a passphrase read from a file and the record serialiser (asking on a
 * terminal is the front-end's: client/cli/cli_pass.c). Never writes a secret to
 * disk unsealed and never prints one; a failed unlock changes nothing on disk. */
#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "reason.h"
#include "vault_int.h"

#define VAULT_KEY_MAGIC "MOMEDO-VAULT"     /* 12 bytes */
#define VAULT_FILE_MAGIC "MOMEDO-VFILE"    /* 12 bytes */
#define VAULT_MAGIC_LEN 12
#define VAULT_FORMAT 1
/* A vault.key of format 2 wraps the data key and the name key after a rotation (until
 * then the data key is the name key too, and format 1 wraps it alone). */
#define VAULT_KEY_FORMAT_ROTATED 2
/* magic | format | log2_n | r | p | salt | nonce | wrapped key(s) + tag */
#define VAULT_KEY_HDR_LEN (VAULT_MAGIC_LEN + 4 + VAULT_SALT_LEN)
#define VAULT_KEY_FILE_LEN \
  (VAULT_KEY_HDR_LEN + CRYPTO_XNONCE_LEN + CRYPTO_AEAD_KEY_LEN + CRYPTO_TAG_LEN)
#define VAULT_KEY_FILE2_LEN (VAULT_KEY_FILE_LEN + CRYPTO_AEAD_KEY_LEN)
#define VAULT_FILE_HDR_LEN (VAULT_MAGIC_LEN + 1)
#define VAULT_AD_MAX (VAULT_FILE_HDR_LEN + VAULT_NAME_MAX)

int vault_exists(const char *dir) {
  char p[VAULT_DIR_MAX + 32];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, VAULT_KEY_FILE);
  return stat(p, &st) == 0;
}

int vault__name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= VAULT_NAME_MAX || name[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
          ch == '_'))
      return 0;
  }
  return 1;
}

int vault__sealed_header(const uint8_t *data, size_t len) {
  return len >= VAULT_FILE_OVERHEAD && memcmp(data, VAULT_FILE_MAGIC, VAULT_MAGIC_LEN) == 0 &&
         data[VAULT_MAGIC_LEN] == VAULT_FORMAT;
}

static int vault_path(const char *dir, const char *name, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  return n < 0 || (size_t)n >= cap ? MOMEDO_E_NOSPACE : 0;
}

/* ---- plain files ---------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return MOMEDO_E_IO;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void fsync_parent(const char *path) {
  char d[PATH_MAX];
  snprintf(d, sizeof d, "%s", path);
  char *slash = strrchr(d, '/');
  if (slash == d) slash[1] = '\0';
  else if (slash) *slash = '\0';
  else snprintf(d, sizeof d, ".");
  int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int vault_atomic_write(const char *path, const uint8_t *data, size_t len, unsigned mode) {
  char tmp[PATH_MAX];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp) return MOMEDO_E_NOSPACE;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return MOMEDO_E_IO;
  int rc = write_all(fd, data, len);
  if (rc == 0 && fsync(fd) != 0) rc = MOMEDO_E_IO;
  if (close(fd) != 0 && rc == 0) rc = MOMEDO_E_IO;
  if (rc == 0 && rename(tmp, path) != 0) rc = MOMEDO_E_IO;
  if (rc) {
    unlink(tmp);
    return rc;
  }
  fsync_parent(path);
  return 0;
}

int vault_read_file(const char *path, size_t max, uint8_t **data, size_t *len) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  struct stat st;
  int rc = 0;
  uint8_t *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = MOMEDO_E_IO;
    goto out;
  }
  if ((uint64_t)st.st_size > max) {
    rc = MOMEDO_E_TOOBIG;
    goto out;
  }
  size_t want = (size_t)st.st_size, got = 0;
  buf = malloc(want ? want : 1);
  if (!buf) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  while (got < want) {
    ssize_t r = read(fd, buf + got, want - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      rc = MOMEDO_E_IO;
      goto out;
    }
    got += (size_t)r;
  }
  *data = buf;
  *len = got;
  buf = NULL;
out:
  free(buf);
  close(fd);
  return rc;
}

/* ---- the key file --------------------------------------------------------------- */

static int vault_kek(uint8_t kek[static CRYPTO_AEAD_KEY_LEN], const char *pass,
                     size_t pass_len, const uint8_t *hdr) {
  unsigned log2_n = hdr[VAULT_MAGIC_LEN + 1], r = hdr[VAULT_MAGIC_LEN + 2],
           p = hdr[VAULT_MAGIC_LEN + 3];
  if (log2_n < VAULT_SCRYPT_LOG2N_MIN || log2_n > VAULT_SCRYPT_LOG2N_MAX || r < 1 || r > 32 ||
      p < 1 || p > 4)
    return MOMEDO_E_CORRUPT;
  return crypto_scrypt(kek, CRYPTO_AEAD_KEY_LEN, pass, pass_len,
                       hdr + VAULT_MAGIC_LEN + 4, VAULT_SALT_LEN, log2_n, r, p);
}

int vault__wrap_at(const struct vault *v, const char *file, const char *pass, size_t pass_len,
                   unsigned log2_n) {
  uint8_t f[VAULT_KEY_FILE2_LEN], kek[CRYPTO_AEAD_KEY_LEN], keys[2 * CRYPTO_AEAD_KEY_LEN];
  char path[VAULT_DIR_MAX + 32];
  int two = !crypto_ct_eq(v->data_key, v->name_key, CRYPTO_AEAD_KEY_LEN);
  size_t kl = two ? sizeof keys : CRYPTO_AEAD_KEY_LEN, fl = two ? sizeof f : VAULT_KEY_FILE_LEN;
  if (log2_n == 0) log2_n = VAULT_SCRYPT_LOG2N;
  if (pass_len == 0 || pass_len > VAULT_PASS_MAX || log2_n < VAULT_SCRYPT_LOG2N_MIN ||
      log2_n > VAULT_SCRYPT_LOG2N_MAX)
    return MOMEDO_E_INVAL;
  memcpy(keys, v->data_key, CRYPTO_AEAD_KEY_LEN);
  memcpy(keys + CRYPTO_AEAD_KEY_LEN, v->name_key, CRYPTO_AEAD_KEY_LEN);
  memcpy(f, VAULT_KEY_MAGIC, VAULT_MAGIC_LEN);
  f[VAULT_MAGIC_LEN] = two ? VAULT_KEY_FORMAT_ROTATED : VAULT_FORMAT;
  f[VAULT_MAGIC_LEN + 1] = (uint8_t)log2_n;
  f[VAULT_MAGIC_LEN + 2] = VAULT_SCRYPT_R;
  f[VAULT_MAGIC_LEN + 3] = VAULT_SCRYPT_P;
  uint8_t *salt = f + VAULT_MAGIC_LEN + 4, *nonce = f + VAULT_KEY_HDR_LEN;
  int rc = crypto_random(salt, VAULT_SALT_LEN);
  if (rc == 0) rc = crypto_random(nonce, CRYPTO_XNONCE_LEN);
  if (rc == 0) rc = vault_kek(kek, pass, pass_len, f);
  if (rc == 0)
    rc = crypto_aead_seal(nonce + CRYPTO_XNONCE_LEN, keys, kl, f, VAULT_KEY_HDR_LEN, nonce, kek);
  crypto_wipe(kek, sizeof kek);
  crypto_wipe(keys, sizeof keys);
  if (rc == 0) rc = vault_path(v->dir, file, path, sizeof path);
  if (rc == 0) rc = vault_atomic_write(path, f, fl, 0600);
  return rc;
}

/* Wrap the keys of v under a new salt and passphrase and write vault.key. */
static int vault_wrap(const struct vault *v, const char *pass, size_t pass_len,
                      unsigned log2_n) {
  return vault__wrap_at(v, VAULT_KEY_FILE, pass, pass_len, log2_n);
}

int vault_create(struct vault *v, const char *dir, const char *pass, size_t pass_len,
                 unsigned log2_n) {
  memset(v, 0, sizeof *v);
  if (strlen(dir) >= sizeof v->dir) return MOMEDO_E_INVAL;
  if (vault_exists(dir)) return MOMEDO_E_EXISTS;
  snprintf(v->dir, sizeof v->dir, "%s", dir);
  unsigned ln = log2_n ? log2_n : VAULT_SCRYPT_LOG2N;
  int rc = pass_len == 0 || pass_len > VAULT_PASS_MAX || ln < VAULT_SCRYPT_LOG2N_MIN ||
                   ln > VAULT_SCRYPT_LOG2N_MAX ? MOMEDO_E_INVAL : 0;
  if (rc == 0) rc = crypto_random(v->data_key, sizeof v->data_key);
  if (rc == 0) memcpy(v->name_key, v->data_key, sizeof v->name_key);
  if (rc == 0) rc = vdb_remove_orphan(dir);
  if (rc == 0) rc = vault_wrap(v, pass, pass_len, log2_n);
  if (rc == 0) rc = vdb_open(v);
  if (rc) {
    vault_close(v);
    return rc;
  }
  v->open = 1;
  return 0;
}

/* The data key and the name key vault.key in dir wraps under pass (format 1: one key,
 * both). E_NOTFOUND, E_CORRUPT, E_VERSION, E_AUTH (wrong passphrase or a damaged file),
 * E_IO. */
static int key_unwrap(const char *dir, const char *pass, size_t pass_len,
                      uint8_t key[static CRYPTO_AEAD_KEY_LEN],
                      uint8_t name_key[static CRYPTO_AEAD_KEY_LEN]) {
  char path[VAULT_DIR_MAX + 32];
  uint8_t *f = NULL, kek[CRYPTO_AEAD_KEY_LEN], keys[2 * CRYPTO_AEAD_KEY_LEN];
  size_t n = 0, kl = CRYPTO_AEAD_KEY_LEN;
  int rc = vault_path(dir, VAULT_KEY_FILE, path, sizeof path);
  if (rc == 0) rc = vault_read_file(path, 4096, &f, &n);
  if (rc == MOMEDO_E_TOOBIG) rc = MOMEDO_E_CORRUPT;
  if (rc) goto out;
  if (n < VAULT_KEY_FILE_LEN || memcmp(f, VAULT_KEY_MAGIC, VAULT_MAGIC_LEN) != 0) {
    rc = MOMEDO_E_CORRUPT;
    goto out;
  }
  if (f[VAULT_MAGIC_LEN] == VAULT_KEY_FORMAT_ROTATED) kl = sizeof keys;
  else if (f[VAULT_MAGIC_LEN] != VAULT_FORMAT) rc = MOMEDO_E_VERSION;
  if (rc == 0 && n != VAULT_KEY_FILE_LEN - CRYPTO_AEAD_KEY_LEN + kl) rc = MOMEDO_E_CORRUPT;
  if (rc || (rc = vault_kek(kek, pass, pass_len, f)) != 0) goto out;
  const uint8_t *nonce = f + VAULT_KEY_HDR_LEN;
  rc = crypto_aead_open(keys, nonce + CRYPTO_XNONCE_LEN, kl + CRYPTO_TAG_LEN, f,
                        VAULT_KEY_HDR_LEN, nonce, kek);
  if (rc == MOMEDO_E_DECRYPT) rc = MOMEDO_E_AUTH;
  if (rc == 0) {
    memcpy(key, keys, CRYPTO_AEAD_KEY_LEN);
    memcpy(name_key, keys + kl - CRYPTO_AEAD_KEY_LEN, CRYPTO_AEAD_KEY_LEN);
  }
out:
  crypto_wipe(kek, sizeof kek);
  crypto_wipe(keys, sizeof keys);
  free(f);
  return rc;
}

int vault_open(struct vault *v, const char *dir, const char *pass, size_t pass_len) {
  memset(v, 0, sizeof *v);
  if (strlen(dir) >= sizeof v->dir) return MOMEDO_E_INVAL;
  snprintf(v->dir, sizeof v->dir, "%s", dir);
  int rc = key_unwrap(dir, pass, pass_len, v->data_key, v->name_key);
  if (rc == 0) v->open = 1;
  if (rc == 0) rc = vdb_open(v);
  if (rc == 0) rc = vdb_migrate(v, &v->migrated);
  if (rc) vault_close(v);
  return rc;
}

int vault_pass_ok(const struct vault *v, const char *pass, size_t pass_len) {
  uint8_t key[CRYPTO_AEAD_KEY_LEN], nk[CRYPTO_AEAD_KEY_LEN];
  if (!v->open) return MOMEDO_E_INVAL;
  int rc = key_unwrap(v->dir, pass, pass_len, key, nk);
  if (rc == 0 && !crypto_ct_eq(key, v->data_key, sizeof key)) rc = MOMEDO_E_AUTH;
  crypto_wipe(key, sizeof key);
  crypto_wipe(nk, sizeof nk);
  return rc;
}

void vault_close(struct vault *v) {
  vdb_close(v);
  crypto_wipe(v->data_key, sizeof v->data_key);
  crypto_wipe(v->name_key, sizeof v->name_key);
  v->open = 0;
}

int vault_rekey(struct vault *v, const char *pass, size_t pass_len, unsigned log2_n) {
  if (!v->open) return MOMEDO_E_INVAL;
  return vault_wrap(v, pass, pass_len, log2_n);
}

/* ---- sealed files --------------------------------------------------------------- */

static size_t vault_ad(uint8_t ad[static VAULT_AD_MAX], const char *name) {
  size_t n = strlen(name);
  memcpy(ad, VAULT_FILE_MAGIC, VAULT_MAGIC_LEN);
  ad[VAULT_MAGIC_LEN] = VAULT_FORMAT;
  memcpy(ad + VAULT_FILE_HDR_LEN, name, n);
  return VAULT_FILE_HDR_LEN + n;
}

static int vault_seal_write(const struct vault *v, const char *name, const uint8_t *data,
                            size_t len);

/* ---- the write cache --------------------------------------------------------------- */

void vault_cache_clear(struct vault *v) {
  memset(v->cache, 0, sizeof v->cache);
  v->n_cache = v->next_cache = 0;
}

/* The cache is bookkeeping beside the vault: callers hold it const. */
static struct vault *cache_owner(const struct vault *v) { return (struct vault *)(uintptr_t)v; }

static struct vault_cached *cache_find(const struct vault *v, const char *name) {
  struct vault *m = cache_owner(v);
  for (size_t i = 0; i < m->n_cache; i++)
    if (strcmp(m->cache[i].name, name) == 0) return &m->cache[i];
  return NULL;
}

/* Remember hash for name (NULL: forget it). */
static void cache_put(const struct vault *v, const char *name, const uint8_t *hash) {
  struct vault *m = cache_owner(v);
  struct vault_cached *e = cache_find(v, name);
  if (!hash) {
    if (e) {
      memset(e->hash, 0, sizeof e->hash);
      e->name[0] = '\0';
    }
    return;
  }
  if (!e && m->n_cache < VAULT_CACHE_MAX) e = &m->cache[m->n_cache++];
  if (!e) {
    e = &m->cache[m->next_cache];
    m->next_cache = (m->next_cache + 1) % VAULT_CACHE_MAX;
  }
  snprintf(e->name, sizeof e->name, "%s", name);
  memcpy(e->hash, hash, CRYPTO_HASH_LEN);
}

int vault_write(const struct vault *v, const char *name, const uint8_t *data, size_t len) {
  uint8_t h[CRYPTO_HASH_LEN];
  if (!v->open || !vault__name_ok(name)) return MOMEDO_E_INVAL;
  int have = crypto_sha256(h, data, len) == 0;
  const struct vault_cached *e = have ? cache_find(v, name) : NULL;
  if (e && crypto_ct_eq(e->hash, h, CRYPTO_HASH_LEN)) {
    cache_owner(v)->skipped++;
    return 0;
  }
  cache_put(v, name, NULL); /* until the new content is on disk */
  int rc = vault_seal_write(v, name, data, len);
  if (rc == 0) cache_owner(v)->writes++;
  if (rc == 0 && have) cache_put(v, name, h);
  return rc;
}

static int vault_seal_write(const struct vault *v, const char *name, const uint8_t *data,
                            size_t len) {
  uint8_t ad[VAULT_AD_MAX];
  if (!v->open || !vault__name_ok(name)) return MOMEDO_E_INVAL;
  if (len > VAULT_FILE_BYTES_MAX - VAULT_FILE_OVERHEAD) return MOMEDO_E_TOOBIG;
  size_t total = VAULT_FILE_HDR_LEN + CRYPTO_XNONCE_LEN + len + CRYPTO_TAG_LEN;
  uint8_t *f = malloc(total);
  if (!f) return MOMEDO_E_NOMEM;
  size_t ad_len = vault_ad(ad, name);
  memcpy(f, ad, VAULT_FILE_HDR_LEN);
  uint8_t *nonce = f + VAULT_FILE_HDR_LEN;
  int rc = crypto_random(nonce, CRYPTO_XNONCE_LEN);
  if (rc == 0)
    rc = crypto_aead_seal(nonce + CRYPTO_XNONCE_LEN, data, len, ad, ad_len, nonce,
                          v->data_key);
  if (rc == 0) rc = vdb_put(v, name, f, total);
  free(f);
  return rc;
}

int vault_read(const struct vault *v, const char *name, uint8_t **data, size_t *len) {
  uint8_t ad[VAULT_AD_MAX], *f = NULL, *pt = NULL;
  size_t n = 0;
  *data = NULL;
  *len = 0;
  if (!v->open || !vault__name_ok(name)) return MOMEDO_E_INVAL;
  int rc = vdb_get(v, name, &f, &n);
  if (rc) return rc;
  size_t ad_len = vault_ad(ad, name);
  if (n < VAULT_FILE_OVERHEAD || memcmp(f, ad, VAULT_FILE_HDR_LEN) != 0) {
    rc = MOMEDO_E_CORRUPT;
    goto out;
  }
  size_t ct_len = n - VAULT_FILE_HDR_LEN - CRYPTO_XNONCE_LEN, pt_len = ct_len - CRYPTO_TAG_LEN;
  pt = malloc(pt_len ? pt_len : 1);
  if (!pt) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  const uint8_t *nonce = f + VAULT_FILE_HDR_LEN;
  rc = crypto_aead_open(pt, nonce + CRYPTO_XNONCE_LEN, ct_len, ad, ad_len, nonce, v->data_key);
  if (rc) {
    rc = MOMEDO_E_CORRUPT;
    goto out;
  }
  *data = pt;
  *len = pt_len;
  {
    uint8_t h[CRYPTO_HASH_LEN];
    if (crypto_sha256(h, pt, pt_len) == 0) cache_put(v, name, h);
  }
  pt = NULL;
out:
  free(pt);
  free(f);
  return rc;
}

int vault__reseal(const uint8_t old_key[static CRYPTO_AEAD_KEY_LEN],
                  const uint8_t new_key[static CRYPTO_AEAD_KEY_LEN], const char *name,
                  const uint8_t *f, size_t n, uint8_t **out) {
  uint8_t ad[VAULT_AD_MAX];
  *out = NULL;
  if (!vault__name_ok(name)) return MOMEDO_E_CORRUPT;
  size_t ad_len = vault_ad(ad, name);
  if (n < VAULT_FILE_OVERHEAD || n > VAULT_FILE_BYTES_MAX || memcmp(f, ad, VAULT_FILE_HDR_LEN))
    return MOMEDO_E_CORRUPT;
  size_t ct_len = n - VAULT_FILE_HDR_LEN - CRYPTO_XNONCE_LEN, pt_len = ct_len - CRYPTO_TAG_LEN;
  uint8_t *pt = malloc(pt_len ? pt_len : 1), *g = malloc(n);
  int rc = pt && g ? 0 : MOMEDO_E_NOMEM;
  const uint8_t *nonce = f + VAULT_FILE_HDR_LEN;
  if (rc == 0 && crypto_aead_open(pt, nonce + CRYPTO_XNONCE_LEN, ct_len, ad, ad_len, nonce,
                                  old_key) != 0)
    rc = MOMEDO_E_CORRUPT;
  if (rc == 0) {
    memcpy(g, f, VAULT_FILE_HDR_LEN);
    rc = crypto_random(g + VAULT_FILE_HDR_LEN, CRYPTO_XNONCE_LEN);
  }
  if (rc == 0)
    rc = crypto_aead_seal(g + VAULT_FILE_HDR_LEN + CRYPTO_XNONCE_LEN, pt, pt_len, ad, ad_len,
                          g + VAULT_FILE_HDR_LEN, new_key);
  if (pt) crypto_wipe(pt, pt_len);
  free(pt);
  if (rc == 0) *out = g;
  else free(g);
  return rc;
}

int vault_remove(const struct vault *v, const char *name) {
  if (!vault__name_ok(name)) return MOMEDO_E_INVAL;
  cache_put(v, name, NULL);
  return vdb_del(v, name);
}

int vault_name(const struct vault *v, const char *prefix, const uint8_t *key, size_t key_len,
               char out[static VAULT_NAME_MAX]) {
  uint8_t mac[CRYPTO_HASH_LEN], msg[VAULT_NAME_MAX + 64];
  size_t pl = strlen(prefix);
  if (!v->open || pl > 16 || key_len > 64) return MOMEDO_E_INVAL;
  memcpy(msg, prefix, pl);
  memcpy(msg + pl, key, key_len);
  int rc = crypto_hmac_sha256(mac, v->name_key, sizeof v->name_key, msg, pl + key_len);
  if (rc) return rc;
  int n = snprintf(out, VAULT_NAME_MAX, "%s-", prefix);
  if (n < 0 || (size_t)n + HEX_LEN(8) >= VAULT_NAME_MAX) return MOMEDO_E_INVAL;
  hex_encode(out + n, VAULT_NAME_MAX - (size_t)n, mac, 8);
  return 0;
}

/* ---- the passphrase ------------------------------------------------------------- */

int vault_passphrase_set(char *out, size_t cap, size_t *len, const char *s, size_t n) {
  *len = 0;
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
  if (n == 0) return MOMEDO_E_INVAL;
  if (n >= cap || n > VAULT_PASS_MAX) return MOMEDO_E_TOOBIG;
  memcpy(out, s, n);
  out[n] = '\0';
  *len = n;
  return 0;
}

int vault_passphrase_file(char *out, size_t cap, size_t *len, const char *file, char *why,
                          size_t why_cap) {
  uint8_t *d = NULL;
  size_t n = 0;
  *len = 0;
  int rc = vault_read_file(file, VAULT_PASS_MAX + 2, &d, &n);
  if (rc) {
    reason_set(why, why_cap, "cannot read the passphrase file %s: %s", file,
               rc == MOMEDO_E_TOOBIG ? "too long" : momedo_strerror(rc));
    return rc;
  }
  const char *nl = memchr(d, '\n', n);
  rc = vault_passphrase_set(out, cap, len, (const char *)d,
                            nl ? (size_t)(nl - (const char *)d) : n);
  if (rc)
    reason_set(why, why_cap, "the passphrase file %s is %s", file,
               rc == MOMEDO_E_INVAL ? "empty" : "too long");
  crypto_wipe(d, n);
  free(d);
  return rc;
}

/* ---- serialiser ----------------------------------------------------------------- */

static int vbuf_grow(struct vbuf *b, size_t n) {
  if (b->err) return -1;
  if (n > VAULT_FILE_BYTES_MAX || b->len + n > VAULT_FILE_BYTES_MAX) {
    b->err = MOMEDO_E_TOOBIG;
    return -1;
  }
  if (b->len + n <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n) cap *= 2;
  uint8_t *p = malloc(cap);
  if (!p) {
    b->err = MOMEDO_E_NOMEM;
    return -1;
  }
  if (b->len) memcpy(p, b->p, b->len);
  if (b->p) crypto_wipe(b->p, b->cap);
  free(b->p);
  b->p = p;
  b->cap = cap;
  return 0;
}

void vbuf_raw(struct vbuf *b, const void *p, size_t n) {
  if (n == 0 || vbuf_grow(b, n) != 0) return;
  memcpy(b->p + b->len, p, n);
  b->len += n;
}
void vbuf_u8(struct vbuf *b, uint8_t v) { vbuf_raw(b, &v, 1); }
void vbuf_be32(struct vbuf *b, uint32_t v) {
  uint8_t t[4];
  be32_put(t, v);
  vbuf_raw(b, t, 4);
}
void vbuf_be64(struct vbuf *b, uint64_t v) {
  uint8_t t[8];
  be64_put(t, v);
  vbuf_raw(b, t, 8);
}
void vbuf_bytes(struct vbuf *b, const void *p, size_t n) {
  if (n > UINT32_MAX) {
    b->err = MOMEDO_E_TOOBIG;
    return;
  }
  vbuf_be32(b, (uint32_t)n);
  vbuf_raw(b, p, n);
}
void vbuf_str(struct vbuf *b, const char *s) { vbuf_bytes(b, s ? s : "", s ? strlen(s) : 0); }
void vbuf_double(struct vbuf *b, double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  vbuf_be64(b, u);
}
void vbuf_free(struct vbuf *b) {
  if (b->p) crypto_wipe(b->p, b->cap);
  free(b->p);
  memset(b, 0, sizeof *b);
}

int vrd_bytes(struct cursor *c, const uint8_t **p, size_t *n, size_t max) {
  uint32_t l;
  if (cursor_get_be32(c, &l) != 0 || l > max || cursor_take(c, p, l) != 0)
    return MOMEDO_E_CORRUPT;
  *n = l;
  return 0;
}
int vrd_fixed(struct cursor *c, void *out, size_t n) {
  return cursor_get_bytes(c, out, n) == 0 ? 0 : MOMEDO_E_CORRUPT;
}
int vrd_str(struct cursor *c, char *out, size_t cap) {
  const uint8_t *p;
  size_t n;
  if (vrd_bytes(c, &p, &n, cap - 1) != 0 || memchr(p, 0, n)) return MOMEDO_E_CORRUPT;
  memcpy(out, p, n);
  out[n] = '\0';
  return 0;
}
int vrd_strdup(struct cursor *c, char **out, size_t max) {
  const uint8_t *p;
  size_t n;
  *out = NULL;
  if (vrd_bytes(c, &p, &n, max) != 0 || memchr(p, 0, n)) return MOMEDO_E_CORRUPT;
  if (n == 0) return 0;
  *out = malloc(n + 1);
  if (!*out) return MOMEDO_E_NOMEM;
  memcpy(*out, p, n);
  (*out)[n] = '\0';
  return 0;
}
int vrd_double(struct cursor *c, double *d) {
  uint64_t u;
  if (cursor_get_be64(c, &u) != 0) return MOMEDO_E_CORRUPT;
  memcpy(d, &u, sizeof u);
  return 0;
}
