/* client/core/archive.h — the compliance archive (docs/archive.md): an append-only,
 * hash-chained log of what an archive account received in recorded conversations, with
 * daily checkpoints signed by the account's Ed25519 identity key, export of a period as
 * a plain file set, retention pruning logged in the chain, and a verifier that reads
 * untrusted file sets with hard bounds. Never prints; the clock is an argument. */
#ifndef MOMEDO_CLIENT_ARCHIVE_H
#define MOMEDO_CLIENT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "status.h"

#define ARCHIVE_BODY_BYTES_MAX (64u * 1024 + 1024)  /* a text, a name, a location */
#define ARCHIVE_LINE_BYTES_MAX (2 * ARCHIVE_BODY_BYTES_MAX + 1024)
#define ARCHIVE_CP_LINE_BYTES_MAX 512
#define ARCHIVE_CHECKPOINTS_MAX 100000                /* > 270 years of days */
#define ARCHIVE_CP_FILE_BYTES_MAX ((uint64_t)ARCHIVE_CHECKPOINTS_MAX * ARCHIVE_CP_LINE_BYTES_MAX)
#define ARCHIVE_KEY_FILE_BYTES_MAX 128
#define ARCHIVE_ATT_BYTES_MAX (256ull * 1024 * 1024)  /* one attachment file */
#define ARCHIVE_WHY_MAX 200
#define ARCHIVE_DAY_LEN 10                            /* YYYY-MM-DD */
#define ARCHIVE_DOMAIN_ENTRY "momedo/archive/entry/v1\n"
#define ARCHIVE_DOMAIN_CP "momedo/archive/checkpoint/v1\n"
#define ARCHIVE_DOMAIN_MANIFEST "momedo/archive/export/v1\n"
#define ARCHIVE_MANIFEST "manifest.json"
#define ARCHIVE_ENTRIES "entries.jsonl"
#define ARCHIVE_CHECKPOINTS "checkpoints.jsonl"
#define ARCHIVE_KEY "key.pub"
#define ARCHIVE_ATT_DIR "att"
#define ARCHIVE_PATH_MAX 4096
#define ARCHIVE_DAY_MS 86400000ull

enum archive_kind {
  ARCHIVE_KIND_TEXT = 0,
  ARCHIVE_KIND_FILE,     /* body: the file name; att_sha256: the content's SHA-256 */
  ARCHIVE_KIND_LOCATION, /* body: "lat,lon,accuracy_m" */
  ARCHIVE_KIND_OTHER,    /* body: what kind it was */
  ARCHIVE_KIND_PRUNE,    /* body: the range removed and the SHA-256 of the removed lines */
  ARCHIVE_KIND_N
};

/* One entry. body is borrowed (parse: points into the caller's buffer). */
struct archive_entry {
  uint64_t seq, archived_ms, sent_ms;
  int kind;
  uint8_t conv[32], sender[32], body_sha256[32], att_sha256[32], prev[32], hash[32];
  int has_att;
  const uint8_t *body;
  size_t body_len;
};

struct archive_checkpoint {
  char day[ARCHIVE_DAY_LEN + 1];
  uint64_t seq, count;
  uint8_t head[32], key[32], sig[CRYPTO_SIG_LEN];
};

/* What an export holds, signed by the archive key (manifest.json, one line): how many
 * entries and, when there are any, the first and last seq and the last entry's hash.
 * Without it an emptied or shortened entries file of an export would still verify (the
 * checkpoints alone cannot tell an empty period from an emptied one). */
struct archive_manifest {
  uint64_t n, first, last;
  uint8_t head[32], key[32], sig[CRYPTO_SIG_LEN];
};

/* ---- codec (archive.c) ---- */

/* The canonical line (no newline) of e into line[cap]: computes e->body_sha256 and
 * e->hash = SHA-256(ARCHIVE_DOMAIN_ENTRY || line up to ,"hash"). E_BOUNDS, E_NOSPACE. */
MOMEDO_WUR int archive_entry_encode(struct archive_entry *e, char *line, size_t cap,
                                    size_t *len);
/* Parse one line strictly (the canonical form only); body is decoded into body_buf
 * (ARCHIVE_BODY_BYTES_MAX) and e->body points there. Checks body_sha256 and hash:
 * E_CORRUPT (malformed), E_CHECKSUM (body or hash does not match); why says which. */
MOMEDO_WUR int archive_entry_parse(struct archive_entry *e, const char *line, size_t len,
                                   uint8_t *body_buf, char why[static ARCHIVE_WHY_MAX]);
MOMEDO_WUR int archive_checkpoint_sign(struct archive_checkpoint *cp,
                                       const struct crypto_sign_keypair *kp, char *line,
                                       size_t cap, size_t *len);
/* The manifest line of m (key set from kp) into line[cap], signed. E_NOSPACE. */
MOMEDO_WUR int archive_manifest_sign(struct archive_manifest *m,
                                     const struct crypto_sign_keypair *kp, char *line,
                                     size_t cap, size_t *len);
/* Parse one manifest line and check its signature by m->key: E_CORRUPT, E_BADSIG,
 * E_TOOBIG (more than ARCHIVE_CP_LINE_BYTES_MAX). */
MOMEDO_WUR int archive_manifest_parse(struct archive_manifest *m, const char *line, size_t len);
/* Parse strictly and verify the signature under cp->key. E_CORRUPT, E_BADSIG. */
MOMEDO_WUR int archive_checkpoint_parse(struct archive_checkpoint *cp, const char *line,
                                        size_t len);
/* "YYYY-MM-DD" (UTC) of a time; the start of a day in ms (E_INVAL if malformed). */
void archive_day(char out[static ARCHIVE_DAY_LEN + 1], uint64_t ms);
MOMEDO_WUR int archive_day_start(const char *day, uint64_t *ms);
const char *archive_kind_name(int kind);

/* ---- verifier: fed untrusted bytes (archive.c) ---- */

struct archive_report {
  int ok;
  uint64_t n_entries, n_checkpoints, n_checkpoints_matched, n_att_checked, n_att_missing;
  uint64_t first_seq, last_seq;
  int has_bad;                /* bad_seq names the first bad entry */
  int manifest;               /* the set had a manifest.json and it matched */
  uint64_t bad_seq;
  char why[ARCHIVE_WHY_MAX];  /* the first problem found */
};

struct archive_verifier;
MOMEDO_WUR int archive_verifier_new(struct archive_verifier **out, const uint8_t key[static 32]);
void archive_verifier_free(struct archive_verifier *v);
/* One checkpoint line (all of them before the first entry). */
MOMEDO_WUR int archive_verifier_checkpoint(struct archive_verifier *v, const char *line,
                                           size_t len);
/* One entry line, in file order. Returns the entry's status; after the first failure
 * further calls return it again. e (may be NULL) receives the parsed entry. */
MOMEDO_WUR int archive_verifier_entry(struct archive_verifier *v, const char *line, size_t len,
                                      struct archive_entry *e);
/* After the last entry: checkpoints beyond the last entry mean entries were cut off. */
MOMEDO_WUR int archive_verifier_finish(struct archive_verifier *v, struct archive_report *r);
/* Note an attachment check (the caller hashed the file). */
void archive_verifier_att(struct archive_verifier *v, int present, int match, uint64_t seq);

/* Verify a file set (key.pub, checkpoints.jsonl, entries.jsonl, att/, and an export's
 * manifest.json): 0 when intact; else the error and r names the first bad entry or
 * checkpoint. A manifest, when present, must be signed by key.pub's key and match the
 * entries exactly (count, first and last seq, last hash); r->manifest says whether one
 * was there (an export has one; `momedo archive verify` requires it). Bounded reads. */
MOMEDO_WUR int archive_verify_dir(const char *dir, struct archive_report *r);

/* ---- the live log (archive_log.c) ---- */

struct archive_log {
  char dir[ARCHIVE_PATH_MAX];
  int fd;                     /* entries.jsonl, O_APPEND (O_RDONLY when ro) */
  int ro;                     /* archive_log_open_ro: export only */
  uint64_t next_seq;
  uint8_t head[32];           /* hash of the last entry (zeros before the first) */
  char last_cp_day[ARCHIVE_DAY_LEN + 1]; /* "" if none */
  uint64_t last_cp_seq;
  int has_cp;
  char *line;                 /* ARCHIVE_LINE_BYTES_MAX + 1 */
  uint8_t *body;              /* ARCHIVE_BODY_BYTES_MAX */
};

/* A message to append (borrowed). */
struct archive_msg {
  const uint8_t *conv, *sender; /* 32 bytes each */
  uint64_t sent_ms;
  int kind;
  const uint8_t *body;
  size_t body_len;
  const uint8_t *att_sha256;    /* NULL if none */
};

/* Open or create dir (0700) and its log; a line torn by a crash at the end is cut off;
 * the head is taken from the last line (checked). E_IO, E_CORRUPT. */
MOMEDO_WUR int archive_log_open(struct archive_log *l, const char *dir);
/* Read-only, for export while `archive run` may be appending (a line being written is
 * not read); nothing is created or cut. E_NOTFOUND when there is no log. */
MOMEDO_WUR int archive_log_open_ro(struct archive_log *l, const char *dir);
void archive_log_close(struct archive_log *l);
/* Append one entry (write(2); archive_log_sync makes it durable). */
MOMEDO_WUR int archive_log_append(struct archive_log *l, const struct archive_msg *m,
                                  uint64_t now_ms);
MOMEDO_WUR int archive_log_sync(struct archive_log *l);
/* Sign a checkpoint of the head for now_ms's day unless that day has one or the log is
 * empty (*made says which). */
MOMEDO_WUR int archive_log_checkpoint(struct archive_log *l,
                                      const struct crypto_sign_keypair *kp, uint64_t now_ms,
                                      int *made);
/* Write key.pub (the identity key that signs checkpoints). */
MOMEDO_WUR int archive_log_set_key(struct archive_log *l, const uint8_t key[static 32]);
/* Remove the entries archived before cutoff_ms (a prefix), then append a PRUNE entry
 * naming the range and the SHA-256 of the removed lines. *n_removed. */
MOMEDO_WUR int archive_log_prune(struct archive_log *l, uint64_t cutoff_ms, uint64_t now_ms,
                                 uint64_t *n_removed);
/* Write the entries archived in [from_ms, to_ms), the checkpoints of days before to_ms,
 * key.pub, the attachments they name and manifest.json (signed with kp, the archive's
 * key) to out_dir (created; must not exist). */
MOMEDO_WUR int archive_log_export(struct archive_log *l, uint64_t from_ms, uint64_t to_ms,
                                  const char *out_dir, const struct crypto_sign_keypair *kp,
                                  uint64_t *n_entries);
/* Internal: write all n bytes (E_IO, E_DISKFULL). */
MOMEDO_WUR int archive__write_all(int fd, const void *p, size_t n);
/* Internal (archive_export.c): append e as the next entry (seq, prev set here). */
MOMEDO_WUR int archive__append_entry(struct archive_log *l, struct archive_entry *e);
/* Store an attachment's content under att/<sha256 hex>. */
MOMEDO_WUR int archive_log_put_att(struct archive_log *l, const uint8_t sha[static 32],
                                   const uint8_t *data, size_t len);

#endif
