/* client/core/vault_db.c — where the vault's sealed records live: one SQLite database,
 * vault.db, a table of (name, sealed bytes) in the very format a sealed file had, so a
 * save of many records is one transaction and one log sync instead of a temp file, an
 * fsync, a rename and a directory fsync per record. Moves the sealed files an older
 * momedo wrote into the table on the first unlock (and removes them after the commit).
 * Knows nothing about sealing: vault.c seals and opens; this file stores bytes. */
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

#define VDB_BUSY_MS 10000                   /* another process's save: wait, do not fail */
#define VDB_WAL_LIMIT (4 * 1024 * 1024)     /* the log file is cut back to this after a checkpoint */
#define VDB_MIGRATE_MAX 100000              /* old files moved in at one unlock */

enum { VDB_GET, VDB_PUT, VDB_DEL };

static const char *const vdb_sql[VDB_ST__COUNT] = {
    [VDB_GET] = "SELECT sealed FROM vault_files WHERE name = ?1",
    [VDB_PUT] = "INSERT OR REPLACE INTO vault_files(name, sealed) VALUES(?1, ?2)",
    [VDB_DEL] = "DELETE FROM vault_files WHERE name = ?1",
};

static const char vdb_schema[] =
    "CREATE TABLE IF NOT EXISTS vault_files("
    " name TEXT PRIMARY KEY NOT NULL,"
    " sealed BLOB NOT NULL)";

int vdb_status(int src) {
  switch (src & 0xff) {
  case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return 0;
  case SQLITE_BUSY: case SQLITE_LOCKED: return MOMEDO_E_BUSY;
  case SQLITE_CORRUPT: case SQLITE_NOTADB: return MOMEDO_E_CORRUPT;
  case SQLITE_FULL: return MOMEDO_E_DISKFULL;
  case SQLITE_NOMEM: return MOMEDO_E_NOMEM;
  case SQLITE_CANTOPEN: case SQLITE_IOERR: case SQLITE_READONLY: return MOMEDO_E_IO;
  default: return MOMEDO_E_STORE;
  }
}

static int vdb_exec(const struct vault *v, const char *sql) {
  return vdb_status(sqlite3_exec(v->db, sql, NULL, NULL, NULL));
}

static int vdb_path(const char *dir, const char *name, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  return n < 0 || (size_t)n >= cap ? MOMEDO_E_NOSPACE : 0;
}

/* A vault.db without a vault.key belongs to a vault whose key is gone (a join that was
 * undone): its rows can never be opened again. Removed before a new vault is made. */
int vdb_remove_orphan(const char *dir) {
  static const char *const files[] = {VAULT_DB_FILE, VAULT_DB_FILE "-wal", VAULT_DB_FILE "-shm"};
  char p[VAULT_DIR_MAX + 32];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    if (vdb_path(dir, files[i], p, sizeof p) != 0) return MOMEDO_E_NOSPACE;
    if (unlink(p) != 0 && errno != ENOENT) return MOMEDO_E_IO;
  }
  return 0;
}

/* A new file is made 0600 before SQLite opens it (its -wal and -shm copy the mode). */
static int vdb_create_private(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  close(fd);
  return 0;
}

int vdb_open(struct vault *v) {
  char path[VAULT_DIR_MAX + 32], pragma[64];
  int rc = vdb_path(v->dir, VAULT_DB_FILE, path, sizeof path);
  if (rc == 0) rc = vdb_create_private(path);
  if (rc) return rc;
  int src = sqlite3_open_v2(path, &v->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (src != SQLITE_OK) {
    rc = vdb_status(src) ? vdb_status(src) : MOMEDO_E_STORE;
    goto out;
  }
  sqlite3_busy_timeout(v->db, VDB_BUSY_MS);
  snprintf(pragma, sizeof pragma, "PRAGMA journal_size_limit=%d", VDB_WAL_LIMIT);
  rc = vdb_exec(v, "PRAGMA journal_mode=WAL");
  /* FULL: a commit's log is synced before it returns (what a saved state promises). */
  if (rc == 0) rc = vdb_exec(v, "PRAGMA synchronous=FULL");
  /* A removed or replaced record's old bytes are overwritten, not left in free pages. */
  if (rc == 0) rc = vdb_exec(v, "PRAGMA secure_delete=ON");
  if (rc == 0) rc = vdb_exec(v, pragma);
  if (rc == 0) rc = vdb_exec(v, vdb_schema);
  for (int i = 0; rc == 0 && i < VDB_ST__COUNT; i++)
    if (sqlite3_prepare_v3(v->db, vdb_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &v->st[i], NULL) !=
        SQLITE_OK)
      rc = MOMEDO_E_STORE;
out:
  if (rc) vdb_close(v);
  return rc;
}

void vdb_close(struct vault *v) {
  for (int i = 0; i < VDB_ST__COUNT; i++) {
    sqlite3_finalize(v->st[i]);
    v->st[i] = NULL;
  }
  if (v->db) {
    if (v->in_tx) (void)vdb_exec(v, "ROLLBACK");
    sqlite3_close(v->db);
  }
  v->db = NULL;
  v->in_tx = 0;
}

int vdb_get(const struct vault *v, const char *name, uint8_t **data, size_t *len) {
  sqlite3_stmt *s = v->st[VDB_GET];
  *data = NULL;
  *len = 0;
  if (!s) return MOMEDO_E_INVAL;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  int r = sqlite3_step(s), rc = 0;
  if (r == SQLITE_ROW) {
    const void *p = sqlite3_column_blob(s, 0);
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    if (n > VAULT_FILE_BYTES_MAX) {
      rc = MOMEDO_E_CORRUPT;
    } else if (!(*data = malloc(n ? n : 1))) {
      rc = MOMEDO_E_NOMEM;
    } else {
      if (n) memcpy(*data, p, n);
      *len = n;
    }
  } else {
    rc = r == SQLITE_DONE ? MOMEDO_E_NOTFOUND : vdb_status(r);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

int vdb_put(const struct vault *v, const char *name, const uint8_t *data, size_t len) {
  sqlite3_stmt *s = v->st[VDB_PUT];
  if (!s) return MOMEDO_E_INVAL;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, data, (int)len, SQLITE_STATIC);
  int rc = vdb_status(sqlite3_step(s));
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

int vdb_del(const struct vault *v, const char *name) {
  sqlite3_stmt *s = v->st[VDB_DEL];
  if (!s) return MOMEDO_E_INVAL;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  int rc = vdb_status(sqlite3_step(s));
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

/* ---- transactions -------------------------------------------------------------------- */

int vault_begin(struct vault *v) {
  if (!v->open || !v->db || v->in_tx) return MOMEDO_E_INTERNAL;
  int rc = vdb_exec(v, "BEGIN IMMEDIATE");
  if (rc == 0) v->in_tx = 1;
  return rc;
}

int vault_commit(struct vault *v) {
  if (!v->in_tx) return MOMEDO_E_INTERNAL;
  int rc = vdb_exec(v, "COMMIT");
  if (rc == 0) v->in_tx = 0;
  return rc;
}

/* What the transaction wrote is gone from disk; the write cache may name contents that
 * were rolled back, so it is forgotten too. */
void vault_rollback(struct vault *v) {
  if (!v->in_tx) return;
  (void)vdb_exec(v, "ROLLBACK");
  v->in_tx = 0;
  vault_cache_clear(v);
}

/* ---- sealed files of an older momedo ------------------------------------------------- */

/* A file an older vault_write made: a name the vault accepts and the sealed header
 * (only the header is read unless data is given). 1 if it is one, 0 if not. */
static int legacy_file(const struct vault *v, const char *name, uint8_t **data, size_t *len) {
  char p[VAULT_DIR_MAX + VAULT_NAME_MAX + 2];
  uint8_t hdr[VAULT_FILE_OVERHEAD];
  struct stat st;
  if (data) *data = NULL;
  if (!vault__name_ok(name) || strcmp(name, VAULT_KEY_FILE) == 0 || strstr(name, ".tmp") ||
      strncmp(name, VAULT_DB_FILE, strlen(VAULT_DB_FILE)) == 0)
    return 0;
  if (vdb_path(v->dir, name, p, sizeof p) != 0 || lstat(p, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size > VAULT_FILE_BYTES_MAX || (size_t)st.st_size < sizeof hdr)
    return 0;
  int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return 0;
  ssize_t r = read(fd, hdr, sizeof hdr);
  close(fd);
  if (r != (ssize_t)sizeof hdr || !vault__sealed_header(hdr, sizeof hdr)) return 0;
  if (!data) return 1;
  if (vault_read_file(p, VAULT_FILE_BYTES_MAX, data, len) != 0 ||
      !vault__sealed_header(*data, *len)) {
    free(*data);
    *data = NULL;
    return 0;
  }
  return 1;
}

static int migrate_names(struct vault *v, char (*names)[VAULT_NAME_MAX], size_t n) {
  int rc = vault_begin(v);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    uint8_t *d = NULL, *have = NULL;
    size_t len = 0, hn = 0;
    if (!legacy_file(v, names[i], &d, &len)) continue;
    /* A record already in the table was written after the file: the table wins. */
    int got = vdb_get(v, names[i], &have, &hn);
    free(have);
    rc = got == MOMEDO_E_NOTFOUND ? vdb_put(v, names[i], d, len) : got;
    free(d);
  }
  if (rc == 0) rc = vault_commit(v);
  else vault_rollback(v);
  return rc;
}

int vdb_migrate(struct vault *v, size_t *moved) {
  char (*names)[VAULT_NAME_MAX] = NULL, p[VAULT_DIR_MAX + VAULT_NAME_MAX + 2];
  size_t n = 0, cap = 0;
  int rc = 0;
  *moved = 0;
  DIR *d = opendir(v->dir);
  if (!d) return MOMEDO_E_IO;
  for (struct dirent *e; (e = readdir(d)) != NULL && n < VDB_MIGRATE_MAX;) {
    if (!legacy_file(v, e->d_name, NULL, NULL)) continue;
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 16;
      void *g = realloc(names, nc * sizeof *names);
      if (!g) {
        rc = MOMEDO_E_NOMEM;
        break;
      }
      names = g;
      cap = nc;
    }
    memcpy(names[n++], e->d_name, strlen(e->d_name) + 1); /* < VAULT_NAME_MAX: name_ok */
  }
  closedir(d);
  if (rc == 0 && n) rc = migrate_names(v, names, n);
  /* Committed: the files go. A crash before this point leaves them beside their rows,
   * and the next unlock finds the rows there and only removes the files. */
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (vdb_path(v->dir, names[i], p, sizeof p) == 0 && unlink(p) == 0) (*moved)++;
  /* The removals are durable before anything can delete a row (a file that came back
   * after a crash would otherwise bring back a record removed since). */
  if (rc == 0 && *moved) {
    int fd = open(v->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) rc = MOMEDO_E_IO;
    if (fd >= 0) close(fd);
  }
  free(names);
  return rc;
}
