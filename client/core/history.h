/* client/core/history.h — the client's message history in one SQLite database in the
 * home (issue 13 part 2; docs/client.md "History"): every conversation's messages in
 * arrival order, nothing dropped by age or count. What says something about the user
 * (bodies, names, file names, locations, who a conversation is with) is sealed with
 * XChaCha20-Poly1305 under a key derived from the vault's data key, a fresh nonce per
 * row and the row's opaque keys as associated data; in the clear are only keyed hashes
 * and row numbers. No network, no clock, never prints. Not thread-safe. */
#ifndef MOMEDO_CLIENT_HISTORY_H
#define MOMEDO_CLIENT_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "status.h"
#include "timeline.h"

struct sqlite3;
struct sqlite3_stmt;

#define HIST_FILE "history.db"
#define HIST_FORMAT 2                 /* 1: before the prefix index (never made by momedo) */
#define HIST_KEY_LEN 16               /* bytes of a keyed hash kept in the clear */
#define HIST_PAGE_MAX 1000            /* entries one hist_page returns at most */
#define HIST_BODY_BYTES_MAX                                                                \
  (TL_TEXT_MAX + 4 * TL_SHORT_MAX + 512 + TL_NOTE_MAX +                                   \
   TL_DECISIONS_MAX * (TL_KEY_LEN + 13 + 4 + TL_NOTE_MAX))
#define HIST_BUSY_MS 5000             /* waiting for another process's transaction */

enum hist_conv_kind { HIST_CONTACT = 1, HIST_GROUP = 2, HIST_CHANNEL = 3 };

enum hist_stmt {
  HIST_ST_CONV_GET, HIST_ST_CONV_PUT, HIST_ST_MSG_PUT, HIST_ST_MSG_PAGE, HIST_ST_MSG_COUNT,
  HIST_ST_MSG_GET, HIST_ST_MSG_SET, HIST_ST_MSG_PFX, HIST_ST_META_GET, HIST_ST_META_PUT,
  HIST_ST__COUNT
};

struct hist {
  struct sqlite3 *db;
  struct sqlite3_stmt *st[HIST_ST__COUNT];
  uint8_t seal_key[CRYPTO_AEAD_KEY_LEN];   /* rows' AEAD key */
  uint8_t idx_key[CRYPTO_HASH_LEN];        /* keyed hashes in the clear */
  int in_tx;
};

/* One conversation, found or made by hist_conv. */
struct hist_conv {
  int64_t id;                              /* row number */
  uint8_t ck[HIST_KEY_LEN];                /* HMAC(idx_key, kind || key), truncated */
};

/* Open (or create, mode 0600) the database at path with keys derived from the vault's
 * data key. E_CORRUPT (not a history database, or damaged), E_AUTH (made under another
 * data key), E_VERSION, E_STORE (SQLite failed: why says how). why may be NULL. */
MOMEDO_WUR int hist_open(struct hist *h, const char *path,
                         const uint8_t data_key[static CRYPTO_AEAD_KEY_LEN], char *why,
                         size_t why_cap);
/* The same with the index key taken from name_key (the vault's, which stays when the data
 * key is rotated; hist_open: both the data key). */
MOMEDO_WUR int hist_open_keys(struct hist *h, const char *path,
                              const uint8_t data_key[static CRYPTO_AEAD_KEY_LEN],
                              const uint8_t name_key[static CRYPTO_AEAD_KEY_LEN], char *why,
                              size_t why_cap);
void hist_close(struct hist *h);
/* Reseal every row of the database at path (a copy nobody else has open) from the keys of
 * old_key to those of new_key (32-byte data keys; the keyed hashes stay), one transaction,
 * the file left without a log (journal mode DELETE). E_DECRYPT (a row that does not open
 * under old_key: nothing changes), E_CORRUPT, E_STORE. For vault_rotate. */
MOMEDO_WUR int hist_reseal(const char *path, const uint8_t *old_key, const uint8_t *new_key);

/* One transaction (a received batch, a sent message): nothing of it is visible or on
 * disk until hist_commit returns 0, and then all of it is (synchronous=FULL: durable
 * before the caller acknowledges anything to a node). E_BUSY (another process holds
 * the database past HIST_BUSY_MS), E_STORE. hist_rollback drops it. */
MOMEDO_WUR int hist_begin(struct hist *h);
MOMEDO_WUR int hist_commit(struct hist *h);
void hist_rollback(struct hist *h);

/* The conversation of kind with key (a contact's identity key, a group ID, a channel's
 * mailbox), made when absent. E_STORE, E_CRYPTO. */
MOMEDO_WUR int hist_conv(struct hist *h, enum hist_conv_kind kind,
                         const uint8_t key[static TL_KEY_LEN], struct hist_conv *out);

/* Append e (sealed; e->id is its message ID) to c. E_EXISTS when c already holds that
 * ID (nothing changes), E_TOOBIG, E_STORE. *row (may be NULL) gets its row number. */
MOMEDO_WUR int hist_add(struct hist *h, const struct hist_conv *c, const struct tl_entry *e,
                        int64_t *row);

/* Up to n (<= HIST_PAGE_MAX) entries of c older than row `before` (0: the newest),
 * newest first, into out[] (strings malloc'ed: tl_entry_clear each); rows[i] (may be
 * NULL) their row numbers, for the next page. *got = how many. E_DECRYPT (a row was
 * altered or moved), E_CORRUPT, E_STORE, E_INVAL. */
MOMEDO_WUR int hist_page(struct hist *h, const struct hist_conv *c, int64_t before, size_t n,
                         struct tl_entry *out, int64_t *rows, size_t *got);

/* The entry of c with message ID id into *e (strings malloc'ed: tl_entry_clear), its row
 * number into *row (may be NULL). E_NOTFOUND, E_DECRYPT, E_CORRUPT, E_STORE. */
MOMEDO_WUR int hist_get(struct hist *h, const struct hist_conv *c,
                        const uint8_t id[static TL_ID_LEN], struct tl_entry *e, int64_t *row);
/* Replace row `row` of c (found by hist_get or hist_page) with e, resealed; e->id must be
 * that row's message ID. E_NOTFOUND, E_TOOBIG, E_STORE. */
MOMEDO_WUR int hist_set(struct hist *h, const struct hist_conv *c, int64_t row,
                        const struct tl_entry *e);

/* The one message whose ID starts with the hex digits `hex` (at least
 * HIST_PREFIX_HEX_MIN) in a conversation of a kind in the mask kinds (bit 1 << kind):
 * its conversation's kind and key, its row and entry (tl_entry_clear f->e). E_INVAL (bad
 * prefix), E_NOTFOUND, E_EXISTS (several match), E_DECRYPT, E_CORRUPT, E_STORE. Rows are
 * found by a keyed hash of the ID's first 3 bytes, so this costs the few rows that share
 * them, not a scan. */
#define HIST_PREFIX_HEX_MIN 6
#define HIST_KINDS_ALL ((1u << HIST_CONTACT) | (1u << HIST_GROUP) | (1u << HIST_CHANNEL))
struct hist_found {
  enum hist_conv_kind kind;
  uint8_t key[TL_KEY_LEN];
  struct hist_conv conv;
  int64_t row;
  struct tl_entry e;
};
MOMEDO_WUR int hist_find_prefix(struct hist *h, const char *hex, unsigned kinds,
                                struct hist_found *f);

/* A number kept under key in the meta table (the migration mark). E_NOTFOUND, E_STORE. */
MOMEDO_WUR int hist_meta_get(struct hist *h, const char *key, uint64_t *v);
MOMEDO_WUR int hist_meta_set(struct hist *h, const char *key, uint64_t v);

/* ---- importing the timeline files of older homes (history_import.c) ------------- */
struct hist_src {
  enum hist_conv_kind kind;
  uint8_t key[TL_KEY_LEN];                 /* contact key, group ID, channel mailbox */
};
struct hist_import_stats {
  int ran;                                 /* 0: imported before, nothing done */
  size_t files, added, existing;           /* existing: IDs already there (a re-run) */
  size_t damaged;                          /* timeline files that do not open: left */
  size_t unremoved;                        /* moved, but removing the file failed */
};
struct vault;
/* Once per history.db: every conversation in src[0..n) whose timeline file v holds is
 * copied in (one transaction each; IDs already there are skipped), then the mark
 * "imported" is committed and the files are removed. after_one (may be NULL; tests)
 * runs after each conversation's commit. A damaged file is counted and left. */
MOMEDO_WUR int hist_import(struct hist *h, const struct vault *v, const struct hist_src *src,
                           size_t n, struct hist_import_stats *st, void (*after_one)(size_t i));

/* Messages c holds. E_STORE. */
MOMEDO_WUR int hist_count(struct hist *h, const struct hist_conv *c, uint64_t *n);

#endif
