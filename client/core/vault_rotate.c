/* client/core/vault_rotate.c — a full data-key rotation: a new random data key, every
 * record of vault.db and every sealed row of the other databases given (history.db)
 * resealed under it, the new key wrapped under the passphrase, the old vault.key
 * overwritten. Crash-safe by copy and switch: the new files are built beside the old ones
 * (NAME.rot), one marker file commits, renames put them in place; vault_rotate_recover
 * finishes a committed rotation or drops an uncommitted one. Knows nothing about what the
 * records hold; the name key (vault_name, the history's keyed hashes) stays. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault.h"
#include "vault_int.h"

#define ROT_BUSY_MS 200             /* another connection's open transaction: wait this long */
#define ROT_MARK_MAX 512
#define ROT_PATH_MAX (VAULT_DIR_MAX + VAULT_NAME_MAX + 16)

static int rot_path(const char *dir, const char *name, const char *suffix, char *out) {
  int n = snprintf(out, ROT_PATH_MAX, "%s/%s%s", dir, name, suffix);
  return n < 0 || n >= ROT_PATH_MAX ? MOMEDO_E_NOSPACE : 0;
}

static int rot_fsync(const char *path, int dir) {
  int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return MOMEDO_E_IO;
  int rc = fsync(fd) == 0 ? 0 : MOMEDO_E_IO;
  close(fd);
  return rc;
}

/* path as a copy at rot: no other connection may have path open (leaving WAL mode needs
 * that, and folds the log into the file), then VACUUM INTO a new 0600 file. E_NOTFOUND
 * (no such database), E_BUSY (another process has it open). */
static int rot_copy(const char *path, const char *rot) {
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  struct stat st;
  if (stat(path, &st) != 0) return errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  int fd = open(rot, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return MOMEDO_E_IO;
  close(fd);
  int rc = vdb_status(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL));
  if (rc == 0) {
    sqlite3_busy_timeout(db, ROT_BUSY_MS);
    rc = vdb_status(sqlite3_prepare_v2(db, "PRAGMA journal_mode=DELETE", -1, &s, NULL));
  }
  if (rc == 0) {
    int r = sqlite3_step(s);
    const char *mode = r == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    rc = r == SQLITE_ROW ? (mode && strcmp(mode, "delete") == 0 ? 0 : MOMEDO_E_BUSY)
                         : vdb_status(r) ? vdb_status(r) : MOMEDO_E_IO;
  }
  sqlite3_finalize(s);
  s = NULL;
  if (rc == 0) rc = vdb_status(sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &s, NULL));
  if (rc == 0) {
    sqlite3_bind_text(s, 1, rot, -1, SQLITE_STATIC);
    rc = vdb_status(sqlite3_step(s));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rc;
}

/* Every record of the copy of vault.db at path, resealed from old_key to new_key in one
 * transaction. */
static int rot_reseal_vault(const char *path, const uint8_t *old_key, const uint8_t *new_key) {
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL, *u = NULL;
  int rc = vdb_status(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL));
  if (rc == 0)
    rc = vdb_status(sqlite3_exec(db, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;"
                                 " BEGIN IMMEDIATE", NULL, NULL, NULL));
  if (rc == 0)
    rc = vdb_status(sqlite3_prepare_v2(db, "SELECT name, sealed FROM vault_files", -1, &s, NULL));
  if (rc == 0)
    rc = vdb_status(sqlite3_prepare_v2(db, "UPDATE vault_files SET sealed = ?2 WHERE name = ?1",
                                       -1, &u, NULL));
  int r = SQLITE_DONE;
  while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(s, 0);
    const uint8_t *f = sqlite3_column_blob(s, 1);
    size_t n = (size_t)sqlite3_column_bytes(s, 1);
    uint8_t *g = NULL;
    rc = name && f ? vault__reseal(old_key, new_key, name, f, n, &g) : MOMEDO_E_CORRUPT;
    if (rc) break;
    sqlite3_bind_text(u, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(u, 2, g, (int)n, SQLITE_STATIC);
    rc = vdb_status(sqlite3_step(u));
    sqlite3_reset(u);
    sqlite3_clear_bindings(u);
    free(g);
  }
  if (rc == 0 && r != SQLITE_DONE) rc = vdb_status(r) ? vdb_status(r) : MOMEDO_E_IO;
  sqlite3_finalize(s);
  sqlite3_finalize(u);
  if (db && rc) (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  else if (db) rc = vdb_status(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
  sqlite3_close(db);
  return rc;
}

/* Remove what an uncommitted rotation left in dir: every NAME.rot (and its journal). */
static int rot_drop(const char *dir) {
  char p[ROT_PATH_MAX];
  int rc = 0;
  DIR *d = opendir(dir);
  if (!d) return MOMEDO_E_IO;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t n = strlen(e->d_name);
    int rot = (n > 4 && strcmp(e->d_name + n - 4, VAULT_ROTATE_SUFFIX) == 0) ||
              (n > 12 && strcmp(e->d_name + n - 12, VAULT_ROTATE_SUFFIX "-journal") == 0);
    if (rot && rot_path(dir, e->d_name, "", p) == 0 && unlink(p) != 0 && errno != ENOENT)
      rc = MOMEDO_E_IO;
  }
  closedir(d);
  return rc;
}

/* Overwrite the file at path with random bytes of its length and sync it (the old
 * wrapped key must not stay readable where the new file's blocks did not land). */
static void rot_shred(const char *path) {
  uint8_t junk[256];
  struct stat st;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= sizeof junk &&
      crypto_random(junk, (size_t)st.st_size) == 0 &&
      write(fd, junk, (size_t)st.st_size) == st.st_size)
    (void)fsync(fd);
  close(fd);
}

/* Put the copies the marker names in place (each only if its copy is still there: a
 * second run after a crash does the rest), then remove the marker. */
static int rot_finish(const char *dir, void (*crash)(const char *where)) {
  char mark[ROT_PATH_MAX], p[ROT_PATH_MAX], rot[ROT_PATH_MAX], aux[ROT_PATH_MAX];
  uint8_t *m = NULL;
  size_t n = 0;
  int rc = rot_path(dir, VAULT_ROTATE_MARK, "", mark);
  if (rc == 0) rc = vault_read_file(mark, ROT_MARK_MAX, &m, &n);
  if (rc) return rc == MOMEDO_E_TOOBIG ? MOMEDO_E_CORRUPT : rc;
  char names[ROT_MARK_MAX + 1];
  memcpy(names, m, n);
  names[n] = 0;
  free(m);
  int renamed = 0;
  for (char *save = NULL, *name = strtok_r(names, "\n", &save); rc == 0 && name;
       name = strtok_r(NULL, "\n", &save)) {
    if (!vault__name_ok(name)) return MOMEDO_E_CORRUPT;
    if ((rc = rot_path(dir, name, "", p)) || (rc = rot_path(dir, name, VAULT_ROTATE_SUFFIX, rot)))
      break;
    if (access(rot, F_OK) != 0) continue; /* in place already */
    if (strcmp(name, VAULT_KEY_FILE) == 0) {
      rot_shred(p);
    } else { /* a log or index of the old database must not be applied to the new one */
      static const char *const side[] = {"-wal", "-shm", "-journal"};
      for (size_t i = 0; i < 3; i++)
        if (rot_path(dir, name, side[i], aux) == 0 && unlink(aux) != 0 && errno != ENOENT)
          rc = MOMEDO_E_IO;
    }
    if (rc == 0 && rename(rot, p) != 0) rc = MOMEDO_E_IO;
    if (rc == 0 && renamed++ == 0 && crash) crash("rotate-renamed");
  }
  if (rc == 0) rc = rot_fsync(dir, 1);
  if (rc == 0 && unlink(mark) != 0) rc = MOMEDO_E_IO;
  if (rc == 0) rc = rot_fsync(dir, 1);
  return rc;
}

int vault_rotate_recover(const char *dir, int *finished) {
  char mark[ROT_PATH_MAX];
  *finished = 0;
  int rc = rot_path(dir, VAULT_ROTATE_MARK, "", mark);
  if (rc) return rc;
  if (access(mark, F_OK) != 0) return rot_drop(dir);
  rc = rot_finish(dir, NULL);
  if (rc == 0) *finished = 1;
  return rc;
}

/* Build every copy under nk and the new vault.key.rot; then sync. Nothing in place yet. */
static int rot_build(struct vault *v, const uint8_t *nk, const char *pass,
                     size_t pass_len, unsigned log2_n, const struct vault_rotate_db *dbs,
                     size_t n_dbs) {
  char p[ROT_PATH_MAX], rot[ROT_PATH_MAX];
  int rc = rot_path(v->dir, VAULT_DB_FILE, "", p);
  if (rc == 0) rc = rot_path(v->dir, VAULT_DB_FILE, VAULT_ROTATE_SUFFIX, rot);
  if (rc == 0) rc = rot_copy(p, rot);
  if (rc == 0) rc = rot_reseal_vault(rot, v->data_key, nk);
  if (rc == 0) rc = rot_fsync(rot, 0);
  for (size_t i = 0; rc == 0 && i < n_dbs; i++) {
    if ((rc = rot_path(v->dir, dbs[i].name, "", p)) ||
        (rc = rot_path(v->dir, dbs[i].name, VAULT_ROTATE_SUFFIX, rot)))
      break;
    rc = rot_copy(p, rot);
    if (rc == MOMEDO_E_NOTFOUND) { /* not made yet: nothing to move */
      unlink(rot);
      rc = 0;
      continue;
    }
    if (rc == 0) rc = dbs[i].reseal(rot, v->data_key, nk);
    if (rc == 0) rc = rot_fsync(rot, 0);
  }
  if (rc == 0) {
    struct vault *nv = calloc(1, sizeof *nv);
    if (!nv) return MOMEDO_E_NOMEM;
    memcpy(nv->dir, v->dir, sizeof nv->dir);
    memcpy(nv->data_key, nk, sizeof nv->data_key);
    memcpy(nv->name_key, v->name_key, sizeof nv->name_key);
    rc = vault__wrap_at(nv, VAULT_KEY_FILE VAULT_ROTATE_SUFFIX, pass, pass_len, log2_n);
    crypto_wipe(nv, sizeof *nv);
    free(nv);
  }
  if (rc == 0) rc = rot_fsync(v->dir, 1);
  return rc;
}

/* The marker: the files to put in place, one name a line. */
static int rot_commit(const struct vault *v, const struct vault_rotate_db *dbs, size_t n_dbs) {
  char mark[ROT_PATH_MAX], list[ROT_MARK_MAX], rot[ROT_PATH_MAX];
  size_t n = (size_t)snprintf(list, sizeof list, "%s\n", VAULT_DB_FILE);
  for (size_t i = 0; i < n_dbs; i++)
    if (rot_path(v->dir, dbs[i].name, VAULT_ROTATE_SUFFIX, rot) == 0 && access(rot, F_OK) == 0)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s\n", dbs[i].name);
  n += (size_t)snprintf(list + n, sizeof list - n, "%s\n", VAULT_KEY_FILE);
  if (n >= sizeof list) return MOMEDO_E_NOSPACE;
  int rc = rot_path(v->dir, VAULT_ROTATE_MARK, "", mark);
  return rc ? rc : vault_atomic_write(mark, (const uint8_t *)list, n, 0600);
}

int vault_rotate(struct vault *v, const char *pass, size_t pass_len, unsigned log2_n,
                 const struct vault_rotate_db *dbs, size_t n_dbs,
                 void (*crash)(const char *where)) {
  uint8_t nk[CRYPTO_AEAD_KEY_LEN];
  if (!v->open || v->in_tx || n_dbs > VAULT_ROTATE_DBS_MAX) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < n_dbs; i++)
    if (!vault__name_ok(dbs[i].name)) return MOMEDO_E_INVAL;
  if (pass_len == 0 || pass_len > VAULT_PASS_MAX) return MOMEDO_E_INVAL;
  int rc = crypto_random(nk, sizeof nk);
  if (rc) return rc;
  vdb_close(v); /* our connection too: no connection may be open while we copy */
  rc = rot_drop(v->dir);
  if (rc == 0) rc = rot_build(v, nk, pass, pass_len, log2_n, dbs, n_dbs);
  if (rc == 0 && crash) crash("rotate-built");
  if (rc == 0) rc = rot_commit(v, dbs, n_dbs);
  if (rc) { /* nothing committed: the old files are as they were */
    (void)rot_drop(v->dir);
    crypto_wipe(nk, sizeof nk);
    int r2 = vdb_open(v);
    return r2 && rc == 0 ? r2 : rc;
  }
  if (crash) crash("rotate-committed");
  rc = rot_finish(v->dir, crash);
  memcpy(v->data_key, nk, sizeof nk);
  crypto_wipe(nk, sizeof nk);
  vault_cache_clear(v);
  if (rc == 0) rc = vdb_open(v);
  if (rc) vault_close(v); /* committed: the next vault_rotate_recover finishes it */
  return rc;
}
