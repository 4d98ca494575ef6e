/* replication/repl_int.h — private to replication/: the engine struct, the live-ID
 * index, the storage layout and the functions the .c files share (repl__*).
 * Nothing outside replication/ (except its unit tests and benchmark) includes it. */
#ifndef MOMEDO_REPL_INT_H
#define MOMEDO_REPL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "repl.h"
#include "repl.pb-c.h"
#include "rng.h"

#define REPL_FP_LEN 16
/* IDs per index chunk: one chunk is 4 KiB of IDs. */
#define REPL_IDX_CHUNK_IDS 128u
/* Chunks with fewer IDs are searched by plain bisection (no interpolation). */
#define REPL_IDX_INTERP_MIN 16u
/* Ranges in one incoming Recon message (an honest sender stops near
 * REPL_RECON_BYTES_MAX: at most ~2 ranges per 18 bytes, since skips merge). */
#define REPL_RECON_RANGES_MAX 65536u
/* A round longer than this is abandoned (honest rounds take ~log16(n) + a few). */
#define REPL_RECON_ROUND_MAX 1000u
/* Bytes protobuf-c may allocate while unpacking one message. */
#define REPL_UNPACK_ARENA_BYTES_MAX (16u * 1024 * 1024)
/* Default block of the unpack arena (larger allocations get a block of their own;
 * 992 + the block header = 1 KiB). */
#define REPL_UNPACK_BLOCK_BYTES 992u
/* Bytes for building one outgoing Recon message. */
#define REPL_BUILD_ARENA_BYTES_MAX (4u * 1024 * 1024)
/* Expired objects removed per repl_tick; the deadline stays "now" while more remain. */
#define REPL_GC_BATCH_MAX 1024u
/* Tombstones per item ID examined when checking whether an item is dead. */
#define REPL_TOMBS_PER_TARGET_MAX 64u

/* ---- Storage layout: one-byte table tag, then fixed-width fields ---------- */
#define REPL_T_OBJ 'o'     /* 'o' id(32) -> record header + object bytes */
#define REPL_T_EXP 'x'     /* 'x' expires_ms(be64) id(32) -> "" */
#define REPL_T_TOMB 't'    /* 't' target_id(32) tomb_id(32) -> tomb mailbox(32) */
#define REPL_T_BUNDLE 'b'  /* 'b' identity_key(32) -> bundle id(32) version(be64) */
#define REPL_T_MBOX 'm'    /* 'm' mailbox(32) seq(be64) -> id(32) */
#define REPL_T_MCOUNT 'c'  /* layout <= 2 only: 'c' mailbox(32) -> items(be64) bytes(be64);
                              deleted by the upgrade to 3 (the counters live in memory) */
#define REPL_T_META 'z'    /* 'z' "seq" -> a lower bound of the next mailbox sequence
                              number (be64), written when a mailbox object is removed;
                              'z' "layout" -> REPL_LAYOUT_VERSION (be32) */
/* Lookup indexes, written in the same batch as the object they index: */
#define REPL_T_USERID 'u'  /* 'u' user-id bits(13) identity_key(32) -> "" */
#define REPL_T_ALIAS 'a'   /* 'a' alias(12, NUL-padded) alias_id(32)
                              -> identity_key(32) created_ms(be64) expires_ms(be64) */
#define REPL_T_ALIAS_OF 'i' /* 'i' identity_key(32) alias_id(32)
                               -> alias(12, NUL-padded) created_ms(be64) expires_ms(be64) */
#define REPL_T_DEVMBOX 'v' /* 'v' mailbox(32) -> "": the mailbox of a device in a stored bundle */
/* Local only, never replicated: an item killed by a tombstone that expires before
 * the item stays refused until the item's own expiry (its 'x' entry is kept). */
#define REPL_T_DEAD 'd'    /* 'd' item_id(32) -> expires_ms(be64) */
#define REPL_REC_FORMAT 1
/* Version of the whole layout. 1: no 'u' 'a' 'i' 'v' 'd' tables (repl_new builds
 * the lookup indexes from the 'o' records once); 2: mailbox counters in 'c' and 'z'
 * "seq" rewritten with every item (repl_new deletes the 'c' table once); 3: current.
 * Newer: refused. */
#define REPL_LAYOUT_VERSION 3
/* Operations per batch while rebuilding lookup indexes on an upgrade. */
#define REPL_MIGRATE_BATCH_OPS 4096u
/* Alias objects examined per alias string (honest issuers keep at most two alive:
 * the current one and its renewal). Beyond this a new one is refused (E_SUPERSEDED). */
#define REPL_ALIAS_SCAN_MAX 64u
/* fmt kind seq created expires version mailbox key target blob index count signer
 * revoked alias: every obj_info field, so loading never re-verifies a signature. */
#define REPL_REC_HDR_LEN \
  (1 + 1 + 8 + 8 + 8 + 8 + 32 + 32 + 32 + 32 + 4 + 4 + 32 + 1 + (OBJ_ALIAS_CHARS_MAX + 1))

/* A 256-bit number, little-endian limbs: the sum part of a fingerprint. */
struct repl_u256 {
  uint64_t w[4];
};

struct repl_agg {
  uint64_t count;
  struct repl_u256 sum;
};

/* ---- Live-ID index: sorted chunks of IDs plus a Fenwick tree over the chunks'
 * counts and sums, so rank, select and range fingerprints cost O(log n). ---- */
struct repl_idx_chunk {
  uint32_t n;
  uint8_t ids[REPL_IDX_CHUNK_IDS][OBJ_ID_LEN];
};

struct repl_idx {
  struct repl_idx_chunk **chunks;
  uint64_t *first;       /* first 8 bytes (big-endian) of each chunk's first ID */
  uint32_t *cnt;         /* IDs in each chunk (= chunks[i]->n), beside first[] */
  size_t nchunks, cap;
  uint64_t total;
  struct repl_agg *fw;   /* Fenwick tree, 1-based, nchunks entries */
  size_t fw_cap;
  bool fw_dirty;         /* rebuilt lazily after chunk splits/removals */
};

void repl__idx_init(struct repl_idx *x);
void repl__idx_close(struct repl_idx *x);
/* 1 inserted, 0 already present, E_NOMEM. */
MOMEDO_WUR int repl__idx_insert(struct repl_idx *x, const uint8_t id[static OBJ_ID_LEN]);
/* 1 removed, 0 absent. */
int repl__idx_remove(struct repl_idx *x, const uint8_t id[static OBJ_ID_LEN]);
int repl__idx_has(const struct repl_idx *x, const uint8_t id[static OBJ_ID_LEN]);
/* Number of IDs < key. */
uint64_t repl__idx_rank(struct repl_idx *x, const uint8_t key[static OBJ_ID_LEN]);
/* Aggregate of the first k IDs (k <= total). */
void repl__idx_prefix(struct repl_idx *x, uint64_t k, struct repl_agg *out);
/* The ID at rank k (k < total). */
const uint8_t *repl__idx_at(struct repl_idx *x, uint64_t k);
/* Iterate IDs in order from rank k; the index must not change meanwhile. */
struct repl_idx_it {
  const struct repl_idx *x;
  size_t ci;
  uint32_t off;
};
void repl__idx_iter(struct repl_idx *x, uint64_t k, struct repl_idx_it *it);
/* Next ID or NULL at the end. */
const uint8_t *repl__idx_next(struct repl_idx_it *it);
/* Aggregate of all IDs, without touching the Fenwick tree. */
void repl__idx_total(const struct repl_idx *x, struct repl_agg *out);
/* Fingerprint of an aggregate: SHA-256(sum LE 32 bytes || varint(count))[:16]. */
void repl__fingerprint(const struct repl_agg *a, uint8_t fp[static REPL_FP_LEN]);
void repl__u256_add(struct repl_u256 *a, const struct repl_u256 *b);
void repl__u256_sub(struct repl_u256 *a, const struct repl_u256 *b);
void repl__u256_from_id(struct repl_u256 *a, const uint8_t id[static OBJ_ID_LEN]);

/* ---- Mailbox counters (repl_mcount.c): live items+chunks and bytes per mailbox,
 * derived from the records on load. Open addressing, load factor <= 1/2. ---- */
struct repl_mcount_ent {
  uint8_t mbox[OBJ_MAILBOX_LEN];
  uint64_t items;        /* 0 = empty slot */
  uint64_t bytes;
};

struct repl_mcount {
  struct repl_mcount_ent *t;
  size_t cap, n;         /* cap is 0 or a power of two */
  uint64_t key;          /* hash key, from the engine's seed */
};

void repl__mc_init(struct repl_mcount *m, uint64_t key);
void repl__mc_close(struct repl_mcount *m);
/* Room for one more mailbox, so the next repl__mc_add cannot fail. E_NOMEM. */
MOMEDO_WUR int repl__mc_reserve(struct repl_mcount *m);
void repl__mc_add(struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN], size_t len);
void repl__mc_sub(struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN], size_t len);
void repl__mc_get(const struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN],
                  uint64_t *items, uint64_t *bytes);
/* Start loading mbox's slot into the cache (an object for it is about to be stored:
 * the load then overlaps the store's work instead of following it). */
void repl__mc_prefetch(const struct repl_mcount *m, const uint8_t mbox[static OBJ_MAILBOX_LEN]);

/* ---- Shared keys and records (repl_shared.c) ------------------------------- */

struct repl_shared {
  uint64_t seed;
};

/* ---- Engine ---------------------------------------------------------------- */

struct repl_peer {
  uint64_t id;
  uint8_t key[OBJ_KEY_LEN];    /* the neighbor's node key */
  bool up;
  uint64_t next_recon_ms;
  uint64_t queued_bytes;       /* SEND bytes not confirmed by repl_peer_sent */
  bool withheld;               /* traffic was dropped because the queue was full */
  uint64_t invalid_ring[REPL_INVALID_MAX]; /* times of the last invalid objects */
  uint32_t invalid_pos, invalid_n;
  struct repl_peer_stats st;
};

/* An object newly stored during the current call, to be pushed at its end. */
struct repl_fresh {
  Momedo__ObjectKind kind;
  const uint8_t *data;   /* borrowed: valid until the call returns */
  size_t len;
  uint64_t from_peer;
  bool from_local;
};

/* Objects queued for one ObjectPush to one peer. */
struct repl_pushbuf {
  Momedo__Object *objs;
  Momedo__Object **ptrs;
  uint8_t **owned;       /* bytes to free after encoding (NULL = borrowed) */
  size_t n, cap, bytes;
};

/* A push buffer with more slots than this is freed after use, not kept. */
#define REPL_PUSHBUF_KEEP 64u

struct repl {
  struct repl_config cfg;
  struct store *store;
  struct rng rng;                /* round jitter; seeded by the caller */
  struct repl_idx idx;
  struct repl_peer *peers;
  size_t npeers, peers_cap;
  struct repl_action *acts;      /* FIFO: acts[act_head .. nacts) pending */
  size_t act_head, nacts, acts_cap;
  struct repl_fresh *fresh;
  size_t nfresh, fresh_cap;
  struct repl_pushbuf pb;        /* reused by every push; empty between uses */
  struct arena unpack;           /* incoming messages */
  struct arena build;            /* outgoing recon messages */
  struct repl_mcount mcount;     /* per-mailbox counters (quotas) */
  uint64_t next_seq;             /* next mailbox sequence number (>= 1) */
  /* A 't' (tombstone) or 'd' (dead marker) key may exist in the store: set on load
   * when one does and before writing one, never cleared. While false, an incoming
   * item needs no lookup to know it is not dead. */
  bool maybe_tombs, maybe_dead;
  uint64_t next_expiry_ms;       /* earliest expires_ms in the expiry index, or UINT64_MAX */
  bool gc_more;                  /* the last GC stopped at REPL_GC_BATCH_MAX */
  uint64_t last_now_ms;
  struct repl_stats st;
  struct repl_shared *shared;    /* cfg.shared, or the engine's own (own_shared) */
  bool own_shared;
  uint64_t next_handle;          /* lookups */
};

/* Record of a stored object, decoded from its 'o' value. */
struct repl_rec {
  struct obj_info info;
  uint64_t seq;
  const uint8_t *data;
  size_t len;
};

/* repl.c */
struct repl_peer *repl__peer(struct repl *r, uint64_t peer_id);
MOMEDO_WUR int repl__act_push(struct repl *r, const struct repl_action *a);
MOMEDO_WUR int repl__send(struct repl *r, struct repl_peer *p, const Momedo__ReplMsg *m,
                          bool recon);
bool repl__can_send(const struct repl *r, const struct repl_peer *p);
MOMEDO_WUR int repl__push_ids(struct repl *r, struct repl_peer *p, const uint8_t *ids,
                              size_t n, uint64_t now_ms);
MOMEDO_WUR int repl__send_want(struct repl *r, struct repl_peer *p, const uint8_t *ids,
                               size_t n);
void repl__recon_schedule(struct repl *r, struct repl_peer *p, uint64_t now_ms);

/* repl_store.c */
MOMEDO_WUR int repl__load(struct repl *r);
/* Check (obj_check or the config's hook) and store one object. from NULL = local
 * client. On success fills info (may be NULL), appends to the fresh list and queues
 * STORED/REMOVED actions. */
MOMEDO_WUR int repl__ingest(struct repl *r, Momedo__ObjectKind kind, const uint8_t *data,
                            size_t len, uint64_t now_ms, struct repl_peer *from,
                            struct obj_info *info);
MOMEDO_WUR int repl__gc(struct repl *r, uint64_t now_ms);
/* Stored object by ID: *val malloc'ed (caller frees), rec points into it. */
MOMEDO_WUR int repl__rec_get(struct repl *r, const uint8_t id[static OBJ_ID_LEN],
                             uint8_t **val, struct repl_rec *rec);

/* repl_store.c: emit a LOOKUP_DONE action. */
MOMEDO_WUR int repl__lookup_done(struct repl *r, uint64_t handle, int status,
                                 const struct obj_info *info);

/* repl_lookup.c: index entries for a stored / removed object (bundles, aliases),
 * added to the batch that stores / removes it. */
MOMEDO_WUR int repl__lookup_put_ops(struct store_batch *b, const struct obj_checked *ck);
MOMEDO_WUR int repl__lookup_del_ops(struct store_batch *b, const struct obj_info *i);
/* 0 (store it; victims[0..*nvictims) are other identities' objects it outranks, at
 * most REPL_ALIAS_SCAN_MAX) or E_SUPERSEDED. */
MOMEDO_WUR int repl__alias_decide(struct repl *r, const struct obj_info *i, uint64_t now_ms,
                                  uint8_t (*victims)[OBJ_ID_LEN], size_t *nvictims);

/* repl_recon.c */
MOMEDO_WUR int repl__recon_start(struct repl *r, struct repl_peer *p, uint64_t now_ms);
MOMEDO_WUR int repl__recon_on_msg(struct repl *r, struct repl_peer *p, const Momedo__Recon *m,
                                  uint64_t now_ms);

/* Test hook (tests and benchmarks only): add an ID to the live index without an
 * object behind it, so a benchmark can build a million-ID set without signing a
 * million objects. Reconciliation treats it like any live ID; asking for its
 * object finds nothing. */
MOMEDO_WUR int repl__test_index_add(struct repl *r, const uint8_t id[static OBJ_ID_LEN]);

#endif
