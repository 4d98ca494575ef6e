/* client/core/vault.h — the client's secrets and state at rest, encrypted under a passphrase.
 * vault.key holds a random 32-byte data key wrapped (XChaCha20-Poly1305) by a
 * key-encryption key from scrypt(passphrase, salt; N = 2^15, r = 8, p = 1 by default,
 * the parameters stored in the file). Every other file is sealed under the data key
 * with a fresh nonce and its own name as associated data (no swapping records); the
 * sealed records are rows of one SQLite table in vault.db (vault_db.c), so a save of
 * many is one transaction (vault_begin/vault_commit) and one log sync. Also: a
 * passphrase read from a file and a small serialiser for what callers store. Knows
 * nothing about what the files contain; never asks on a terminal. */
#ifndef MOMEDO_CLIENT_VAULT_H
#define MOMEDO_CLIENT_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "cursor.h"
#include "status.h"

#define VAULT_KEY_FILE "vault.key"
#define VAULT_DB_FILE "vault.db"       /* the sealed records (+ -wal, -shm) */
#define VAULT_SCRYPT_LOG2N 15          /* N = 32768: 32 MiB and ~0.1 s per unlock */
#define VAULT_SCRYPT_R 8
#define VAULT_SCRYPT_P 1
#define VAULT_SCRYPT_LOG2N_MIN 10      /* tests may go lower than the default, never below */
#define VAULT_SCRYPT_LOG2N_MAX 20
#define VAULT_SALT_LEN 32
#define VAULT_DIR_MAX 1024
#define VAULT_NAME_MAX 64              /* file names inside the vault: [a-z0-9._-] */
#define VAULT_FILE_BYTES_MAX (40u * 1024 * 1024) /* one sealed file (a 25 MB attachment fits) */
#define VAULT_PASS_MAX 1024            /* passphrase bytes */
#define VAULT_PASS_NEW_MIN 8           /* bytes of a new passphrase (page and command line) */
#define VAULT_FILE_OVERHEAD (13 + CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN)

#define VAULT_CACHE_MAX 32             /* files whose plaintext hash is remembered */

/* What a file holds, as this process last read or wrote it. */
struct vault_cached {
  char name[VAULT_NAME_MAX];
  uint8_t hash[CRYPTO_HASH_LEN];
};

struct sqlite3;
struct sqlite3_stmt;
#define VDB_ST__COUNT 3

struct vault {
  char dir[VAULT_DIR_MAX];
  uint8_t data_key[CRYPTO_AEAD_KEY_LEN];   /* seals every record (and the history's rows) */
  /* Keys the names of records (vault_name) and the history's hashes in the clear: the
   * data key until a rotation (vault_rotate), which keeps it while the data key moves. */
  uint8_t name_key[CRYPTO_AEAD_KEY_LEN];
  int open;
  /* vault_write skips a file whose new plaintext equals what it holds (no fsync, no
   * rename). Valid only while no other process writes: clear it whenever the home's
   * lock is (re)taken. Bookkeeping, updated even through a const vault. */
  struct vault_cached cache[VAULT_CACHE_MAX];
  size_t n_cache, next_cache;
  uint64_t writes, skipped;      /* files written / left alone because unchanged */
  struct sqlite3 *db;            /* vault.db, open while the vault is */
  struct sqlite3_stmt *st[VDB_ST__COUNT];
  int in_tx;                     /* inside vault_begin .. vault_commit */
  size_t migrated;               /* old sealed files moved into vault.db at this unlock */
};

/* 1 if dir holds a vault.key, else 0. */
int vault_exists(const char *dir);

/* Create a new vault in dir (which must exist) with scrypt cost 2^log2_n (0 = default).
 * E_EXISTS if there is one already (nothing is changed), E_INVAL for an empty
 * passphrase or a cost outside the bounds, E_IO. */
MOMEDO_WUR int vault_create(struct vault *v, const char *dir, const char *pass,
                            size_t pass_len, unsigned log2_n);
/* Unlock the vault in dir. E_NOTFOUND (no vault), E_AUTH (wrong passphrase or a
 * damaged vault.key: nothing is changed), E_CORRUPT (not a vault.key), E_IO. After
 * the unlock, sealed files an older momedo left in dir are moved into vault.db. */
MOMEDO_WUR int vault_open(struct vault *v, const char *dir, const char *pass, size_t pass_len);
/* Wipe the data key, close vault.db (an open transaction is rolled back). Safe on a
 * closed vault. */
void vault_close(struct vault *v);
/* 0 if pass unwraps this open vault's vault.key to its data key; E_AUTH if not (also
 * when vault.key now holds another key), E_INVAL (not open), E_CORRUPT, E_IO. */
MOMEDO_WUR int vault_pass_ok(const struct vault *v, const char *pass, size_t pass_len);
/* Re-wrap the data key under a new passphrase (files stay as they are: a copy of the
 * directory made before still opens with the old one and reads what is written later;
 * vault_rotate does not have that gap). */
MOMEDO_WUR int vault_rekey(struct vault *v, const char *pass, size_t pass_len, unsigned log2_n);

/* ---- a full data-key rotation (vault_rotate.c) ----------------------------------- */
#define VAULT_ROTATE_MARK "rotate.commit"  /* commits a rotation: the files to put in place */
#define VAULT_ROTATE_SUFFIX ".rot"         /* a new file built beside the one it replaces */
#define VAULT_ROTATE_DBS_MAX 4
/* Another SQLite database in the vault's directory whose rows are sealed under keys
 * derived from the data key: reseal(path, old, new) reseals every row of the copy at
 * path (no other connection has it) in one transaction. */
struct vault_rotate_db {
  const char *name;
  int (*reseal)(const char *path, const uint8_t *old_key, const uint8_t *new_key);
};
/* A new random data key for v, under the passphrase pass (2^log2_n, 0 = default): vault.db
 * and every db are copied beside themselves (NAME.rot) with every record resealed, the
 * new key is wrapped with the name key (which stays) into vault.key.rot, and a marker
 * file (VAULT_ROTATE_MARK) commits; renames then put the copies in place, the old
 * vault.key overwritten first. v's own connection is closed and reopened; the caller
 * closes its connections to the dbs before. A kill before the marker leaves the old
 * files (the old passphrase opens them), after it the new ones once vault_rotate_recover
 * ran (the new passphrase). crash (may be NULL; tests) is called at "rotate-built",
 * "rotate-committed" and "rotate-renamed". E_BUSY: another process has vault.db or a db
 * open (nothing changed). On a failure after the marker v is closed. */
MOMEDO_WUR int vault_rotate(struct vault *v, const char *pass, size_t pass_len, unsigned log2_n,
                            const struct vault_rotate_db *dbs, size_t n_dbs,
                            void (*crash)(const char *where));
/* Before vault_open, under the home's lock: finish a rotation in dir whose marker is
 * there (*finished = 1), else remove the copies an unfinished one left. E_IO. */
MOMEDO_WUR int vault_rotate_recover(const char *dir, int *finished);

/* Writes between vault_begin and vault_commit reach the disk together or not at all
 * (one SQLite transaction, one synced log write); outside one each write is its own.
 * vault_begin waits for another process's transaction (up to 10 s: E_BUSY). After a
 * rollback the write cache is cleared. */
MOMEDO_WUR int vault_begin(struct vault *v);
MOMEDO_WUR int vault_commit(struct vault *v);
void vault_rollback(struct vault *v);

/* Forget what files hold (another process may have written them). */
void vault_cache_clear(struct vault *v);
/* Seal data and replace the record name atomically; nothing is written when the vault's
 * cache says the file already holds exactly data. E_INVAL (bad name), E_TOOBIG, E_IO. */
MOMEDO_WUR int vault_write(const struct vault *v, const char *name, const uint8_t *data,
                           size_t len);
/* Read and open a file: *data is malloc'ed (caller frees, wipes if secret).
 * E_NOTFOUND, E_CORRUPT (truncated, tampered, or another file's content), E_IO. */
MOMEDO_WUR int vault_read(const struct vault *v, const char *name, uint8_t **data,
                          size_t *len);
/* Remove a file; a missing one is fine. */
MOMEDO_WUR int vault_remove(const struct vault *v, const char *name);

/* A file name that does not reveal what it is about: prefix "-" and 16 hex digits of
 * HMAC(data key, prefix || key). out needs VAULT_NAME_MAX bytes. */
MOMEDO_WUR int vault_name(const struct vault *v, const char *prefix, const uint8_t *key,
                          size_t key_len, char out[static VAULT_NAME_MAX]);

/* Write a plain file atomically (temp + fsync + rename + directory fsync), mode for a
 * new file. E_IO. */
MOMEDO_WUR int vault_atomic_write(const char *path, const uint8_t *data, size_t len,
                                  unsigned mode);
/* Read a whole plain file of at most max bytes (E_TOOBIG beyond), malloc'ed. */
MOMEDO_WUR int vault_read_file(const char *path, size_t max, uint8_t **data, size_t *len);

/* A passphrase of n bytes from s (trailing CR/LF dropped) into out (cap bytes and a NUL;
 * *len excludes it). E_INVAL (empty), E_TOOBIG (cap or VAULT_PASS_MAX). Where a
 * passphrase comes from (file, environment, terminal) is the front-end's choice. */
MOMEDO_WUR int vault_passphrase_set(char *out, size_t cap, size_t *len, const char *s,
                                    size_t n);
/* The first line of file as the passphrase: E_IO / E_NOTFOUND (unreadable), E_TOOBIG,
 * E_INVAL (empty). why (may be NULL) gets a sentence naming the file. */
MOMEDO_WUR int vault_passphrase_file(char *out, size_t cap, size_t *len, const char *file,
                                     char *why, size_t why_cap);

/* ---- a serialiser for records kept in the vault ------------------------------------
 * Writers never fail midway: the first allocation failure sets err and later calls do
 * nothing; check err once at the end. Lengths are be32. */
struct vbuf {
  uint8_t *p;
  size_t len, cap;
  int err;
};
void vbuf_u8(struct vbuf *b, uint8_t v);
void vbuf_be32(struct vbuf *b, uint32_t v);
void vbuf_be64(struct vbuf *b, uint64_t v);
void vbuf_raw(struct vbuf *b, const void *p, size_t n);
void vbuf_bytes(struct vbuf *b, const void *p, size_t n);   /* be32 length + bytes */
void vbuf_str(struct vbuf *b, const char *s);               /* NULL writes "" */
void vbuf_double(struct vbuf *b, double d);                 /* IEEE 754 bits, be64 */
/* Wipe and free. */
void vbuf_free(struct vbuf *b);

/* Readers over a cursor; E_CORRUPT on anything malformed. vrd_bytes borrows. */
MOMEDO_WUR int vrd_bytes(struct cursor *c, const uint8_t **p, size_t *n, size_t max);
MOMEDO_WUR int vrd_fixed(struct cursor *c, void *out, size_t n);
/* Copies into out (cap bytes with the NUL); an embedded NUL or a longer string is
 * E_CORRUPT. */
MOMEDO_WUR int vrd_str(struct cursor *c, char *out, size_t cap);
/* malloc'ed copy (NULL for ""), max characters. */
MOMEDO_WUR int vrd_strdup(struct cursor *c, char **out, size_t max);
MOMEDO_WUR int vrd_double(struct cursor *c, double *d);

#endif
