/* client/core/timeline.h — the message record (struct tl_entry, stored sealed in
 * history.db: history.h); the timeline files of homes made before history.db (one vault
 * file per conversation, its name a keyed hash of the key; read once by history_import.c,
 * written only by tests that make such a home); and the "seen" set that deduplicates incoming items before anything is decrypted
 * (replicas deliver the same item several times, possibly under several object IDs).
 * Pure bookkeeping: no network, no crypto beyond the vault's. */
#ifndef MOMEDO_CLIENT_TIMELINE_H
#define MOMEDO_CLIENT_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct vault;

#define TL_ID_LEN 16                 /* message ID (random, chosen by the sender) */
#define TL_KEY_LEN 32
#define TL_ENTRIES_MAX 20000         /* per old timeline file (its oldest were dropped) */
#define TL_TEXT_MAX (64u * 1024)     /* bytes of a stored text / title / file name */
#define TL_SHORT_MAX 1024            /* due date, path, MIME type */
#define TL_NOTE_MAX 4096             /* bytes of a file's caption / a decision's comment */
#define TL_DECISIONS_MAX 256         /* decisions kept on one approval task (first each) */
#define TL_SEEN_FILE "seen"
#define TL_SEEN_MAX 16384            /* remembered item hashes; oldest evicted */
#define TL_SEEN_LEN 16               /* bytes of a seen hash kept */

enum tl_kind {
  TL_TEXT = 1,
  TL_FILE = 2,
  TL_LOCATION = 3,
  TL_TASK = 4,
  TL_TASK_REPLY = 5,
};

enum tl_flag { TL_F_LOCATION = 1, TL_F_APPROVAL = 2 };
/* APPROVED / DECLINED: decisions on an approval task (one per person, the first stands).
 * ACCEPTED / DONE: what members did with a plain task in a group (each person each once). */
enum tl_decision_kind {
  TL_DEC_NONE = 0, TL_DEC_APPROVED = 1, TL_DEC_DECLINED = 2, TL_DEC_ACCEPTED = 3, TL_DEC_DONE = 4
};

/* One recipient's sign-off on an approval task. */
struct tl_decision {
  uint8_t who[TL_KEY_LEN];           /* the decider's identity key */
  uint8_t decision;                  /* enum tl_decision_kind */
  uint64_t ms;                       /* the decider's clock (the reply's sent_ms) */
  char *comment;                     /* owned, may be NULL */
};

enum tl_status { TL_ST_NONE = 0, TL_ST_SENT = 1, TL_ST_DELIVERED = 2, TL_ST_READ = 3 };
enum tl_task_state { TL_TASK_OPEN = 0, TL_TASK_ACCEPTED = 1, TL_TASK_DONE = 2 };

struct tl_entry {
  uint8_t id[TL_ID_LEN];
  uint8_t outgoing;
  uint8_t kind;                      /* enum tl_kind */
  uint8_t status;                    /* outgoing: enum tl_status */
  uint8_t task_state;                /* tasks: current state; replies: the reply */
  uint64_t sent_ms;                  /* sender's clock */
  uint64_t stored_ms;                /* our clock */
  uint8_t device[TL_KEY_LEN];        /* sending device */
  char *text;                        /* text, task title or file name; owned */
  char *due;                         /* task due date as typed; owned, may be NULL */
  char *path;                        /* file: vault name or saved path; owned, may be NULL */
  char *mime;                        /* file: MIME type; owned, may be NULL */
  uint64_t size;                     /* file: bytes */
  double lat, lon, acc;              /* location; acc < 0 = unknown */
  uint8_t ref[TL_ID_LEN];            /* task reply: the task */
  /* Since history rows carry the extension (tl_entry_put_ext; older rows lack it): */
  uint8_t flags;                     /* TL_F_LOCATION: a file's lat/lon/acc are set;
                                        TL_F_APPROVAL: a task asking for sign-off */
  uint8_t decision;                  /* task reply: enum tl_decision_kind */
  uint8_t from[TL_KEY_LEN];          /* task reply: the replier's identity key */
  char *note;                        /* file: caption; task reply: comment; owned */
  struct tl_decision *dec;           /* approval task: decisions, oldest first; owned */
  uint32_t n_dec;
};

struct timeline {
  uint8_t peer[TL_KEY_LEN];          /* contact identity key */
  struct tl_entry *v;                /* oldest first */
  size_t n, cap;
};

/* Load the timeline with peer (empty if none). E_CORRUPT. */
MOMEDO_WUR int timeline_load(struct timeline *t, const struct vault *v,
                             const uint8_t peer[static TL_KEY_LEN]);
MOMEDO_WUR int timeline_save(const struct timeline *t, const struct vault *v);
/* Remove peer's timeline file (missing is fine). */
MOMEDO_WUR int timeline_remove(const struct vault *v, const uint8_t peer[static TL_KEY_LEN]);
void timeline_free(struct timeline *t);

/* Append a deep copy of e (strings copied). E_EXISTS if its ID is already there (the
 * stored entry is untouched), E_TOOBIG for an over-long string. Beyond
 * TL_ENTRIES_MAX the oldest entry is dropped. *out (may be NULL) is the stored entry. */
MOMEDO_WUR int timeline_add(struct timeline *t, const struct tl_entry *e, struct tl_entry **out);
struct tl_entry *timeline_find(struct timeline *t, const uint8_t id[static TL_ID_LEN]);
/* Find by a hex prefix of the ID (at least 6 digits); E_NOTFOUND, E_EXISTS when
 * ambiguous, E_INVAL for a bad prefix. */
MOMEDO_WUR int timeline_find_prefix(struct timeline *t, const char *hex, struct tl_entry **out);
/* Free the strings of an entry (not the entry itself). */
void tl_entry_clear(struct tl_entry *e);
/* An entry's serialised form (the timeline file's and the history store's record):
 * tl_entry_put appends it to b (b->err on failure); tl_entry_get reads one into e
 * (strings malloc'ed; E_CORRUPT, E_NOMEM; e cleared on failure). */
struct vbuf;
struct cursor;
void tl_entry_put(struct vbuf *b, const struct tl_entry *e);
MOMEDO_WUR int tl_entry_get(struct cursor *c, struct tl_entry *e);
/* The extension after an entry in a history row (not in timeline files): flags,
 * decision, replier, note and decisions. tl_entry_get_ext reads it into e (read by
 * tl_entry_get before); E_CORRUPT (bounds), E_NOMEM; on failure e is cleared. */
void tl_entry_put_ext(struct vbuf *b, const struct tl_entry *e);
MOMEDO_WUR int tl_entry_get_ext(struct cursor *c, struct tl_entry *e);
/* Append a copy of d to task t's decisions. E_EXISTS when d->who decided before (the
 * first decision stands) or, for ACCEPTED / DONE, did the same before; E_TOOBIG beyond
 * TL_DECISIONS_MAX or TL_NOTE_MAX, E_NOMEM. */
MOMEDO_WUR int tl_entry_add_decision(struct tl_entry *t, const struct tl_decision *d);

/* Lower-case hex of an ID: 2 * TL_ID_LEN + 1 bytes. */
void tl_id_hex(char out[static 2 * TL_ID_LEN + 1], const uint8_t id[static TL_ID_LEN]);

/* ---- the seen set --------------------------------------------------------------- */
struct tl_seen {
  uint8_t (*h)[TL_SEEN_LEN];         /* ring, oldest at head */
  size_t head, n;
  int dirty;
};
MOMEDO_WUR int tl_seen_load(struct tl_seen *s, const struct vault *v);
MOMEDO_WUR int tl_seen_save(struct tl_seen *s, const struct vault *v);
void tl_seen_free(struct tl_seen *s);
/* 1 if the hash of data was seen, else 0. */
int tl_seen_has(const struct tl_seen *s, const uint8_t *data, size_t len);
/* Remember the hash of data (no-op when present). */
MOMEDO_WUR int tl_seen_add(struct tl_seen *s, const uint8_t *data, size_t len);

#endif
