/* client/core/history.c — the history store over SQLite (history.h). Rows hold opaque
 * keys in the clear and sealed bodies; SQLite sees no plaintext and no contact key.
 * Prepared statements are made once per open; every SQLite failure becomes a status
 * code (and, on open, a why sentence). Must not print, read a clock or touch the net. */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "hex.h"
#include "reason.h"
#include "vault.h"

#define HIST_SEAL_LABEL "momedo/history/seal/v1"
#define HIST_INDEX_LABEL "momedo/history/index/v1"
#define HIST_CHECK_LABEL "momedo/history/check/v1"
#define HIST_AD_CONV "momedo/history/conv/v1"
#define HIST_AD_MSG "momedo/history/msg/v1"
#define HIST_AD_MAX 64
#define HIST_CONV_BODY_LEN (1 + TL_KEY_LEN)
#define HIST_PFX_BYTES 3 /* ID bytes behind a msg row's pk: HIST_PREFIX_HEX_MIN digits */

static const char *const hist_schema =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS conv(id INTEGER PRIMARY KEY, ck BLOB NOT NULL UNIQUE,"
    " body BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS msg(id INTEGER PRIMARY KEY, conv INTEGER NOT NULL,"
    " mk BLOB NOT NULL UNIQUE, pk BLOB NOT NULL, body BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS msg_conv ON msg(conv, id);"
    "CREATE INDEX IF NOT EXISTS msg_pk ON msg(pk);";

static const char *const hist_sql[HIST_ST__COUNT] = {
    [HIST_ST_CONV_GET] = "SELECT id FROM conv WHERE ck = ?1",
    [HIST_ST_CONV_PUT] = "INSERT INTO conv(ck, body) VALUES(?1, ?2)",
    [HIST_ST_MSG_PUT] = "INSERT INTO msg(conv, mk, pk, body) VALUES(?1, ?2, ?3, ?4)",
    [HIST_ST_MSG_GET] = "SELECT id, body FROM msg WHERE mk = ?1 AND conv = ?2",
    [HIST_ST_MSG_SET] = "UPDATE msg SET body = ?2 WHERE id = ?1",
    [HIST_ST_MSG_PFX] = ("SELECT m.id, m.conv, c.ck, c.body, m.mk, m.body FROM msg m"
                         " JOIN conv c ON c.id = m.conv WHERE m.pk = ?1 ORDER BY m.id"),
    [HIST_ST_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [HIST_ST_META_PUT] = "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)",
    [HIST_ST_MSG_PAGE] = ("SELECT id, mk, body FROM msg WHERE conv = ?1 AND id < ?2"
                          " ORDER BY id DESC LIMIT ?3"),
    [HIST_ST_MSG_COUNT] = "SELECT count(*) FROM msg WHERE conv = ?1",
};

static int hist_status(int src) {
  switch (src & 0xff) {
  case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return 0;
  case SQLITE_BUSY: case SQLITE_LOCKED: return MOMEDO_E_BUSY;
  case SQLITE_CONSTRAINT: return MOMEDO_E_EXISTS;
  case SQLITE_CORRUPT: case SQLITE_NOTADB: return MOMEDO_E_CORRUPT;
  case SQLITE_FULL: return MOMEDO_E_DISKFULL;
  case SQLITE_NOMEM: return MOMEDO_E_NOMEM;
  default: return MOMEDO_E_STORE;
  }
}

/* A keyed hash of label || a || b, truncated to HIST_KEY_LEN. */
static int hist_mac(const struct hist *h, const char *label, const uint8_t *a, size_t an,
                    const uint8_t *b, size_t bn, uint8_t out[static HIST_KEY_LEN]) {
  uint8_t msg[HIST_AD_MAX + 2 * TL_KEY_LEN], mac[CRYPTO_HASH_LEN];
  size_t ln = strlen(label);
  if (ln + an + bn > sizeof msg) return MOMEDO_E_INTERNAL;
  memcpy(msg, label, ln);
  if (an) memcpy(msg + ln, a, an);
  if (bn) memcpy(msg + ln + an, b, bn);
  int rc = crypto_hmac_sha256(mac, h->idx_key, sizeof h->idx_key, msg, ln + an + bn);
  memcpy(out, mac, HIST_KEY_LEN);
  return rc;
}

static size_t hist_ad(uint8_t ad[static HIST_AD_MAX], const char *label, const uint8_t *ck,
                      const uint8_t *mk) {
  size_t n = strlen(label);
  memcpy(ad, label, n);
  memcpy(ad + n, ck, HIST_KEY_LEN);
  n += HIST_KEY_LEN;
  if (mk) {
    memcpy(ad + n, mk, HIST_KEY_LEN);
    n += HIST_KEY_LEN;
  }
  return n;
}

/* nonce || seal(pt) into a malloc'ed *out. */
static int hist_seal(const struct hist *h, const uint8_t *pt, size_t len, const uint8_t *ad,
                     size_t ad_len, uint8_t **out, size_t *out_len) {
  size_t n = CRYPTO_XNONCE_LEN + len + CRYPTO_TAG_LEN;
  uint8_t *b = malloc(n);
  if (!b) return MOMEDO_E_NOMEM;
  int rc = crypto_random(b, CRYPTO_XNONCE_LEN);
  if (rc == 0) rc = crypto_aead_seal(b + CRYPTO_XNONCE_LEN, pt, len, ad, ad_len, b, h->seal_key);
  if (rc) {
    free(b);
    return rc;
  }
  *out = b;
  *out_len = n;
  return 0;
}

static int hist_exec(struct hist *h, const char *sql) {
  return hist_status(sqlite3_exec(h->db, sql, NULL, NULL, NULL));
}

/* The format and key check in meta: written by the first open, compared later. */
static int hist_meta(struct hist *h, char *why, size_t why_cap) {
  uint8_t check[HIST_KEY_LEN], fmt = HIST_FORMAT;
  sqlite3_stmt *s = NULL;
  int rc = hist_mac(h, HIST_CHECK_LABEL, NULL, 0, NULL, 0, check);
  if (rc) return rc;
  if (sqlite3_prepare_v2(h->db, "SELECT k, v FROM meta", -1, &s, NULL) != SQLITE_OK)
    return MOMEDO_E_STORE;
  int seen = 0, r;
  while ((r = sqlite3_step(s)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(s, 0);
    const void *v = sqlite3_column_blob(s, 1);
    int vn = sqlite3_column_bytes(s, 1);
    if (k && strcmp(k, "format") == 0) {
      seen |= 1;
      if (vn != 1 || ((const uint8_t *)v)[0] != HIST_FORMAT) rc = MOMEDO_E_VERSION;
    } else if (k && strcmp(k, "check") == 0) {
      seen |= 2;
      if (vn != HIST_KEY_LEN || !crypto_ct_eq(v, check, HIST_KEY_LEN)) rc = MOMEDO_E_AUTH;
    }
  }
  sqlite3_finalize(s);
  if (r != SQLITE_DONE) return hist_status(r);
  if (rc == MOMEDO_E_VERSION) reason_set(why, why_cap, "history: unknown format");
  if (rc == MOMEDO_E_AUTH) reason_set(why, why_cap, "history: made under another vault key");
  if (rc || seen == 3) return rc;
  if (seen) return MOMEDO_E_CORRUPT;
  if (sqlite3_prepare_v2(h->db, "INSERT INTO meta(k, v) VALUES('format', ?1), ('check', ?2)",
                         -1, &s, NULL) != SQLITE_OK)
    return MOMEDO_E_STORE;
  sqlite3_bind_blob(s, 1, &fmt, 1, SQLITE_TRANSIENT);
  sqlite3_bind_blob(s, 2, check, HIST_KEY_LEN, SQLITE_TRANSIENT);
  rc = hist_status(sqlite3_step(s));
  sqlite3_finalize(s);
  return rc;
}

/* A new file is made 0600 before SQLite opens it (its -wal and -shm copy the mode). */
static int hist_create_private(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  close(fd);
  return 0;
}

static int hist_setup(struct hist *h, char *why, size_t why_cap) {
  int rc = hist_exec(h, "PRAGMA journal_mode=WAL");
  if (rc == 0) rc = hist_exec(h, "PRAGMA synchronous=FULL");
  if (rc == 0) rc = hist_exec(h, "BEGIN IMMEDIATE");
  if (rc == 0) {
    rc = hist_exec(h, hist_schema);
    if (rc == 0) rc = hist_meta(h, why, why_cap);
    if (rc == 0) rc = hist_exec(h, "COMMIT");
    else (void)hist_exec(h, "ROLLBACK");
  }
  for (int i = 0; rc == 0 && i < HIST_ST__COUNT; i++)
    if (sqlite3_prepare_v3(h->db, hist_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &h->st[i],
                           NULL) != SQLITE_OK)
      rc = MOMEDO_E_STORE;
  return rc;
}

static int hist_seal_key(uint8_t out[static CRYPTO_AEAD_KEY_LEN], const uint8_t *data_key) {
  return crypto_hmac_sha256(out, data_key, CRYPTO_AEAD_KEY_LEN, HIST_SEAL_LABEL,
                            strlen(HIST_SEAL_LABEL));
}

int hist_open(struct hist *h, const char *path,
              const uint8_t data_key[static CRYPTO_AEAD_KEY_LEN], char *why, size_t why_cap) {
  return hist_open_keys(h, path, data_key, data_key, why, why_cap);
}

int hist_open_keys(struct hist *h, const char *path,
                   const uint8_t data_key[static CRYPTO_AEAD_KEY_LEN],
                   const uint8_t name_key[static CRYPTO_AEAD_KEY_LEN], char *why,
                   size_t why_cap) {
  memset(h, 0, sizeof *h);
  int rc = hist_seal_key(h->seal_key, data_key);
  if (rc == 0)
    rc = crypto_hmac_sha256(h->idx_key, name_key, CRYPTO_AEAD_KEY_LEN, HIST_INDEX_LABEL,
                            strlen(HIST_INDEX_LABEL));
  if (rc == 0) rc = hist_create_private(path);
  if (rc) {
    reason_set(why, why_cap, "history: cannot create %s: %s", path, momedo_strerror(rc));
    goto out;
  }
  int src = sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (src != SQLITE_OK) {
    reason_set(why, why_cap, "history: cannot open %s: %s", path, sqlite3_errstr(src));
    rc = hist_status(src) ? hist_status(src) : MOMEDO_E_STORE;
    goto out;
  }
  sqlite3_busy_timeout(h->db, HIST_BUSY_MS);
  rc = hist_setup(h, why, why_cap);
  if (rc && why && why[0] == '\0')
    reason_set(why, why_cap, "history: %s: %s", path, sqlite3_errmsg(h->db));
out:
  if (rc) hist_close(h);
  return rc;
}

void hist_close(struct hist *h) {
  for (int i = 0; i < HIST_ST__COUNT; i++) sqlite3_finalize(h->st[i]);
  if (h->db) {
    if (h->in_tx) (void)hist_exec(h, "ROLLBACK");
    sqlite3_close(h->db);
  }
  crypto_wipe(h, sizeof *h);
}

int hist_begin(struct hist *h) {
  if (h->in_tx) return MOMEDO_E_INTERNAL;
  int rc = hist_exec(h, "BEGIN IMMEDIATE");
  if (rc == 0) h->in_tx = 1;
  return rc;
}

int hist_commit(struct hist *h) {
  if (!h->in_tx) return MOMEDO_E_INTERNAL;
  int rc = hist_exec(h, "COMMIT");
  if (rc == 0) h->in_tx = 0;
  return rc;
}

void hist_rollback(struct hist *h) {
  if (!h->in_tx) return;
  (void)hist_exec(h, "ROLLBACK");
  h->in_tx = 0;
}

/* Run a bound statement that returns no row; reset it for the next use. */
static int hist_step_done(sqlite3_stmt *s) {
  int r = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return r == SQLITE_DONE ? 0 : hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
}

int hist_conv(struct hist *h, enum hist_conv_kind kind, const uint8_t key[static TL_KEY_LEN],
              struct hist_conv *out) {
  uint8_t k = (uint8_t)kind, pt[HIST_CONV_BODY_LEN], ad[HIST_AD_MAX], *body = NULL;
  size_t bn = 0;
  memset(out, 0, sizeof *out);
  int rc = hist_mac(h, "conv", &k, 1, key, TL_KEY_LEN, out->ck);
  if (rc) return rc;
  sqlite3_stmt *s = h->st[HIST_ST_CONV_GET];
  sqlite3_bind_blob(s, 1, out->ck, HIST_KEY_LEN, SQLITE_STATIC);
  int r = sqlite3_step(s);
  if (r == SQLITE_ROW) out->id = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (r == SQLITE_ROW) return 0;
  if (r != SQLITE_DONE) return hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
  pt[0] = k;
  memcpy(pt + 1, key, TL_KEY_LEN);
  rc = hist_seal(h, pt, sizeof pt, ad, hist_ad(ad, HIST_AD_CONV, out->ck, NULL), &body, &bn);
  if (rc) return rc;
  s = h->st[HIST_ST_CONV_PUT];
  sqlite3_bind_blob(s, 1, out->ck, HIST_KEY_LEN, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, body, (int)bn, SQLITE_STATIC);
  rc = hist_step_done(s);
  if (rc == 0) out->id = sqlite3_last_insert_rowid(h->db);
  free(body);
  return rc;
}

/* e sealed under c's and its message's keys into a malloc'ed *body. */
static int hist_seal_entry(const struct hist *h, const struct hist_conv *c,
                           const uint8_t mk[static HIST_KEY_LEN], const struct tl_entry *e,
                           uint8_t **body, size_t *bn) {
  uint8_t ad[HIST_AD_MAX];
  struct vbuf b = {0};
  tl_entry_put(&b, e);
  tl_entry_put_ext(&b, e);
  int rc = b.err;
  if (rc == 0 && b.len + CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN > HIST_BODY_BYTES_MAX)
    rc = MOMEDO_E_TOOBIG;
  if (rc == 0) rc = hist_seal(h, b.p, b.len, ad, hist_ad(ad, HIST_AD_MSG, c->ck, mk), body, bn);
  if (b.p) crypto_wipe(b.p, b.len);
  vbuf_free(&b);
  return rc;
}

int hist_add(struct hist *h, const struct hist_conv *c, const struct tl_entry *e,
             int64_t *row) {
  uint8_t mk[HIST_KEY_LEN], pk[HIST_KEY_LEN], *body = NULL;
  size_t bn = 0;
  int rc = hist_mac(h, "msg", c->ck, HIST_KEY_LEN, e->id, TL_ID_LEN, mk);
  if (rc == 0) rc = hist_mac(h, "pfx", e->id, HIST_PFX_BYTES, NULL, 0, pk);
  if (rc == 0) rc = hist_seal_entry(h, c, mk, e, &body, &bn);
  if (rc) return rc;
  sqlite3_stmt *s = h->st[HIST_ST_MSG_PUT];
  sqlite3_bind_int64(s, 1, c->id);
  sqlite3_bind_blob(s, 2, mk, HIST_KEY_LEN, SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, pk, HIST_KEY_LEN, SQLITE_STATIC);
  sqlite3_bind_blob(s, 4, body, (int)bn, SQLITE_STATIC);
  rc = hist_step_done(s);
  if (rc == 0 && row) *row = sqlite3_last_insert_rowid(h->db);
  free(body);
  return rc;
}

/* Open one row's body into e. */
static int hist_open_row(const struct hist *h, const struct hist_conv *c, const uint8_t *mk,
                         int mk_len, const uint8_t *body, int bn, struct tl_entry *e) {
  uint8_t ad[HIST_AD_MAX];
  if (mk_len != HIST_KEY_LEN || bn < CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN ||
      (size_t)bn > HIST_BODY_BYTES_MAX)
    return MOMEDO_E_CORRUPT;
  size_t n = (size_t)bn - CRYPTO_XNONCE_LEN - CRYPTO_TAG_LEN;
  uint8_t *pt = malloc(n ? n : 1);
  if (!pt) return MOMEDO_E_NOMEM;
  int rc = crypto_aead_open(pt, body + CRYPTO_XNONCE_LEN, (size_t)bn - CRYPTO_XNONCE_LEN, ad,
                            hist_ad(ad, HIST_AD_MSG, c->ck, mk), body, h->seal_key);
  if (rc == 0) {
    struct cursor cur;
    cursor_init(&cur, pt, n);
    rc = tl_entry_get(&cur, e);
    if (rc == 0 && cursor_left(&cur) != 0) rc = tl_entry_get_ext(&cur, e); /* rows since 13.4 */
    if (rc == 0 && cursor_left(&cur) != 0) {
      tl_entry_clear(e);
      rc = MOMEDO_E_CORRUPT;
    }
  }
  crypto_wipe(pt, n);
  free(pt);
  return rc;
}

int hist_page(struct hist *h, const struct hist_conv *c, int64_t before, size_t n,
              struct tl_entry *out, int64_t *rows, size_t *got) {
  *got = 0;
  if (n > HIST_PAGE_MAX || before < 0) return MOMEDO_E_INVAL;
  sqlite3_stmt *s = h->st[HIST_ST_MSG_PAGE];
  sqlite3_bind_int64(s, 1, c->id);
  sqlite3_bind_int64(s, 2, before ? before : INT64_MAX);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
  int r, rc = 0;
  while (rc == 0 && *got < n && (r = sqlite3_step(s)) == SQLITE_ROW) {
    rc = hist_open_row(h, c, sqlite3_column_blob(s, 1), sqlite3_column_bytes(s, 1),
                       sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2), &out[*got]);
    if (rc == 0) {
      if (rows) rows[*got] = sqlite3_column_int64(s, 0);
      (*got)++;
    }
  }
  if (rc == 0 && *got < n && r != SQLITE_DONE) rc = hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc) {
    for (size_t i = 0; i < *got; i++) tl_entry_clear(&out[i]);
    *got = 0;
  }
  return rc;
}

int hist_count(struct hist *h, const struct hist_conv *c, uint64_t *n) {
  sqlite3_stmt *s = h->st[HIST_ST_MSG_COUNT];
  *n = 0;
  sqlite3_bind_int64(s, 1, c->id);
  int r = sqlite3_step(s);
  if (r == SQLITE_ROW) *n = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return r == SQLITE_ROW ? 0 : hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
}

int hist_get(struct hist *h, const struct hist_conv *c, const uint8_t id[static TL_ID_LEN],
             struct tl_entry *e, int64_t *row) {
  uint8_t mk[HIST_KEY_LEN];
  memset(e, 0, sizeof *e);
  int rc = hist_mac(h, "msg", c->ck, HIST_KEY_LEN, id, TL_ID_LEN, mk);
  if (rc) return rc;
  sqlite3_stmt *s = h->st[HIST_ST_MSG_GET];
  sqlite3_bind_blob(s, 1, mk, HIST_KEY_LEN, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, c->id);
  int r = sqlite3_step(s);
  if (r == SQLITE_ROW) {
    rc = hist_open_row(h, c, mk, HIST_KEY_LEN, sqlite3_column_blob(s, 1),
                       sqlite3_column_bytes(s, 1), e);
    if (rc == 0 && row) *row = sqlite3_column_int64(s, 0);
    if (rc == 0 && memcmp(e->id, id, TL_ID_LEN) != 0) {
      tl_entry_clear(e);
      rc = MOMEDO_E_DECRYPT;
    }
  } else {
    rc = r == SQLITE_DONE ? MOMEDO_E_NOTFOUND : hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

int hist_set(struct hist *h, const struct hist_conv *c, int64_t row, const struct tl_entry *e) {
  uint8_t mk[HIST_KEY_LEN], *body = NULL;
  size_t bn = 0;
  int rc = hist_mac(h, "msg", c->ck, HIST_KEY_LEN, e->id, TL_ID_LEN, mk);
  if (rc == 0) rc = hist_seal_entry(h, c, mk, e, &body, &bn);
  if (rc) return rc;
  sqlite3_stmt *s = h->st[HIST_ST_MSG_SET];
  sqlite3_bind_int64(s, 1, row);
  sqlite3_bind_blob(s, 2, body, (int)bn, SQLITE_STATIC);
  rc = hist_step_done(s);
  if (rc == 0 && sqlite3_changes(h->db) != 1) rc = MOMEDO_E_NOTFOUND;
  free(body);
  return rc;
}

/* A conversation row's sealed body: its kind and key. */
static int hist_conv_open(const struct hist *h, const uint8_t *ck, int ck_len,
                          const uint8_t *body, int bn, struct hist_found *f) {
  uint8_t ad[HIST_AD_MAX], pt[HIST_CONV_BODY_LEN];
  if (ck_len != HIST_KEY_LEN || bn != CRYPTO_XNONCE_LEN + HIST_CONV_BODY_LEN + CRYPTO_TAG_LEN)
    return MOMEDO_E_CORRUPT;
  int rc = crypto_aead_open(pt, body + CRYPTO_XNONCE_LEN, (size_t)bn - CRYPTO_XNONCE_LEN, ad,
                            hist_ad(ad, HIST_AD_CONV, ck, NULL), body, h->seal_key);
  if (rc) return rc;
  if (pt[0] < HIST_CONTACT || pt[0] > HIST_CHANNEL) return MOMEDO_E_CORRUPT;
  f->kind = (enum hist_conv_kind)pt[0];
  memcpy(f->key, pt + 1, TL_KEY_LEN);
  memcpy(f->conv.ck, ck, HIST_KEY_LEN);
  return 0;
}

/* One candidate row of a prefix search: opened, kept in *f when it matches. */
static int hist_pfx_row(struct hist *h, sqlite3_stmt *s, const char *hex, unsigned kinds,
                        struct hist_found *f, int *hits) {
  struct hist_found x;
  memset(&x, 0, sizeof x);
  int rc = hist_conv_open(h, sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2),
                          sqlite3_column_blob(s, 3), sqlite3_column_bytes(s, 3), &x);
  if (rc) return rc;
  if (!(kinds & (1u << x.kind))) return 0;
  x.conv.id = sqlite3_column_int64(s, 1);
  x.row = sqlite3_column_int64(s, 0);
  rc = hist_open_row(h, &x.conv, sqlite3_column_blob(s, 4), sqlite3_column_bytes(s, 4),
                     sqlite3_column_blob(s, 5), sqlite3_column_bytes(s, 5), &x.e);
  if (rc) return rc;
  if (!hex_has_prefix(x.e.id, TL_ID_LEN, hex)) {
    tl_entry_clear(&x.e);
    return 0;
  }
  if ((*hits)++ == 0) *f = x;
  else tl_entry_clear(&x.e);
  return 0;
}

int hist_find_prefix(struct hist *h, const char *hex, unsigned kinds, struct hist_found *f) {
  size_t n = strlen(hex);
  uint8_t id3[HIST_PFX_BYTES], pk[HIST_KEY_LEN];
  int hits = 0, r, rc;
  memset(f, 0, sizeof *f);
  if (n < HIST_PREFIX_HEX_MIN || n > 2 * TL_ID_LEN || !hex_is_digits(hex, n))
    return MOMEDO_E_INVAL;
  for (size_t i = 0; i < HIST_PFX_BYTES; i++)
    id3[i] = (uint8_t)(hex_digit_value(hex[2 * i]) << 4 | hex_digit_value(hex[2 * i + 1]));
  if ((rc = hist_mac(h, "pfx", id3, HIST_PFX_BYTES, NULL, 0, pk)) != 0) return rc;
  sqlite3_stmt *s = h->st[HIST_ST_MSG_PFX];
  sqlite3_bind_blob(s, 1, pk, HIST_KEY_LEN, SQLITE_STATIC);
  while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) rc = hist_pfx_row(h, s, hex, kinds, f, &hits);
  if (rc == 0 && r != SQLITE_DONE) rc = hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc == 0 && hits != 1) rc = hits ? MOMEDO_E_EXISTS : MOMEDO_E_NOTFOUND;
  if (rc && hits) tl_entry_clear(&f->e);
  if (rc) memset(f, 0, sizeof *f);
  return rc;
}

int hist_meta_get(struct hist *h, const char *key, uint64_t *v) {
  sqlite3_stmt *s = h->st[HIST_ST_META_GET];
  *v = 0;
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  int r = sqlite3_step(s), rc = 0;
  if (r == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 8)
    *v = be64_get(sqlite3_column_blob(s, 0));
  else if (r == SQLITE_ROW) rc = MOMEDO_E_CORRUPT;
  else rc = r == SQLITE_DONE ? MOMEDO_E_NOTFOUND : hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

int hist_meta_set(struct hist *h, const char *key, uint64_t v) {
  uint8_t b[8];
  be64_put(b, v);
  sqlite3_stmt *s = h->st[HIST_ST_META_PUT];
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, b, sizeof b, SQLITE_STATIC);
  return hist_step_done(s);
}

/* ---- a data-key rotation (vault_rotate) --------------------------------------------- */

/* One sealed body (nonce || ciphertext) opened with key o and sealed anew under key n,
 * the same associated data; *out malloc'ed, bn bytes. */
static int hist_reseal_body(const uint8_t *o, const uint8_t *n, const uint8_t *ad, size_t ad_len,
                            const uint8_t *body, int bn, uint8_t **out) {
  *out = NULL;
  if (bn < CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN || (size_t)bn > HIST_BODY_BYTES_MAX)
    return MOMEDO_E_CORRUPT;
  size_t len = (size_t)bn - CRYPTO_XNONCE_LEN - CRYPTO_TAG_LEN;
  uint8_t *pt = malloc(len ? len : 1), *b = malloc((size_t)bn);
  int rc = pt && b ? 0 : MOMEDO_E_NOMEM;
  if (rc == 0)
    rc = crypto_aead_open(pt, body + CRYPTO_XNONCE_LEN, (size_t)bn - CRYPTO_XNONCE_LEN, ad,
                          ad_len, body, o);
  if (rc == 0) rc = crypto_random(b, CRYPTO_XNONCE_LEN);
  if (rc == 0) rc = crypto_aead_seal(b + CRYPTO_XNONCE_LEN, pt, len, ad, ad_len, b, n);
  if (pt) crypto_wipe(pt, len);
  free(pt);
  if (rc == 0) *out = b;
  else free(b);
  return rc;
}

/* Every row a statement s selects as (id, ck, mk or NULL, body), resealed by u (id, body). */
static int hist_reseal_rows(sqlite3_stmt *s, sqlite3_stmt *u, const char *label,
                            const uint8_t *o, const uint8_t *n) {
  uint8_t ad[HIST_AD_MAX], *b = NULL;
  int r, rc = 0;
  while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) {
    const uint8_t *ck = sqlite3_column_blob(s, 1), *mk = sqlite3_column_blob(s, 2);
    const uint8_t *body = sqlite3_column_blob(s, 3);
    int bn = sqlite3_column_bytes(s, 3), mkn = sqlite3_column_bytes(s, 2);
    if (!ck || sqlite3_column_bytes(s, 1) != HIST_KEY_LEN || (mk && mkn != HIST_KEY_LEN) || !body)
      return MOMEDO_E_CORRUPT;
    rc = hist_reseal_body(o, n, ad, hist_ad(ad, label, ck, mk), body, bn, &b);
    if (rc) return rc;
    sqlite3_bind_int64(u, 1, sqlite3_column_int64(s, 0));
    sqlite3_bind_blob(u, 2, b, bn, SQLITE_STATIC);
    rc = hist_step_done(u);
    free(b);
  }
  return rc ? rc : r == SQLITE_DONE ? 0 : hist_status(r) ? hist_status(r) : MOMEDO_E_STORE;
}

int hist_reseal(const char *path, const uint8_t *old_key, const uint8_t *new_key) {
  uint8_t o[CRYPTO_AEAD_KEY_LEN], n[CRYPTO_AEAD_KEY_LEN];
  sqlite3 *db = NULL;
  sqlite3_stmt *s[4] = {NULL};
  static const char *const sql[4] = {
      "SELECT id, ck, NULL, body FROM conv", "UPDATE conv SET body = ?2 WHERE id = ?1",
      "SELECT m.id, c.ck, m.mk, m.body FROM msg m JOIN conv c ON c.id = m.conv",
      "UPDATE msg SET body = ?2 WHERE id = ?1"};
  int rc = hist_seal_key(o, old_key);
  if (rc == 0) rc = hist_seal_key(n, new_key);
  if (rc == 0) rc = hist_status(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL));
  if (rc == 0)
    rc = hist_status(sqlite3_exec(db, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;"
                                  " BEGIN IMMEDIATE", NULL, NULL, NULL));
  for (int i = 0; rc == 0 && i < 4; i++)
    if (sqlite3_prepare_v2(db, sql[i], -1, &s[i], NULL) != SQLITE_OK) rc = MOMEDO_E_STORE;
  if (rc == 0) rc = hist_reseal_rows(s[0], s[1], HIST_AD_CONV, o, n);
  if (rc == 0) rc = hist_reseal_rows(s[2], s[3], HIST_AD_MSG, o, n);
  for (int i = 0; i < 4; i++) sqlite3_finalize(s[i]);
  if (db && rc) (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  else if (db) rc = hist_status(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
  sqlite3_close(db);
  crypto_wipe(o, sizeof o);
  crypto_wipe(n, sizeof n);
  return rc;
}
