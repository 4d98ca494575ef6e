/* tests/unit/vault_raw.h — what an attacker with the disk can do to vault.db: read a sealed
 * record's bytes, put bytes under a name, move a record onto another name. SQLite used
 * directly, beside the vault's own connection (the tests link PkgConfig::SQLITE3). */
#ifndef MOMEDO_TEST_VAULT_RAW_H
#define MOMEDO_TEST_VAULT_RAW_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline sqlite3 *raw_db(const char *dir) {
  char p[1200];
  sqlite3 *db = NULL;
  snprintf(p, sizeof p, "%s/vault.db", dir);
  if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) abort();
  sqlite3_busy_timeout(db, 5000);
  return db;
}

/* 0, or -1 without such a record. */
static inline int raw_get(const char *dir, const char *name, uint8_t **d, size_t *n) {
  sqlite3 *db = raw_db(dir);
  sqlite3_stmt *s = NULL;
  int rc = -1;
  *d = NULL;
  *n = 0;
  if (sqlite3_prepare_v2(db, "SELECT sealed FROM vault_files WHERE name = ?1", -1, &s, NULL))
    abort();
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step(s) == SQLITE_ROW) {
    *n = (size_t)sqlite3_column_bytes(s, 0);
    *d = malloc(*n ? *n : 1);
    if (*n) memcpy(*d, sqlite3_column_blob(s, 0), *n);
    rc = 0;
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rc;
}

static inline void raw_exec(const char *dir, const char *sql, const char *a, const char *b,
                     const uint8_t *blob, size_t n) {
  sqlite3 *db = raw_db(dir);
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL)) abort();
  sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
  if (b) sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
  if (blob) sqlite3_bind_blob(s, 2, blob, (int)n, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_DONE) abort();
  sqlite3_finalize(s);
  sqlite3_close(db);
}

static inline void raw_put(const char *dir, const char *name, const uint8_t *d, size_t n) {
  raw_exec(dir, "INSERT OR REPLACE INTO vault_files(name, sealed) VALUES(?1, ?2)", name, NULL,
           d, n);
}

/* from's record moved onto to (whatever to held is gone). */
static inline void raw_move(const char *dir, const char *from, const char *to) {
  raw_exec(dir, "DELETE FROM vault_files WHERE name = ?1", to, NULL, NULL, 0);
  raw_exec(dir, "UPDATE vault_files SET name = ?2 WHERE name = ?1", from, to, NULL, 0);
}

#endif
