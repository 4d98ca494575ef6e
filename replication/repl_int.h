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
/* Tombstones held per (item ID, mailbox): one device can sign any number for one item
 * (each with another created_ms); beyond this they are dropped (E_SUPERSEDED, no strike:
 * the item is as dead with the first). Issue 11, finding 7. */
#define REPL_TOMBS_PER_TARGET_MAX 64u
/* Signers with a budget of their own (repl_budget.c): beyond, the one idle longest is
 * forgotten (its budget starts full again; signers are known nodes, so this bounds
 * memory, not what one signer may do). */
#define REPL_SIGNERS_MAX 4096u
/* A pushed object not taken for a budget (the neighbor's or its signer's) is pulled again
 * by a reconciliation round with that neighbor this long after, not at the next periodic
 * round (recon_interval_ms, a minute): a budget refills a twelfth of a minute's in it. */
#define REPL_DEFER_ROUND_MS 5000u

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
/* Scoped delivery (layout 4), written in the same batch as the object they describe: */
#define REPL_T_PEND 'p'    /* 'p' id(32) dest(32) -> "": custody still to hand on */
#define REPL_T_SHARED 's'  /* 's' dest(32) id(32) -> "": a destination-role object that
                              dest (not this node) also holds: scope-1 recon with it */
#define REPL_T_NODE 'n'    /* 'n' node_key(32) -> record id(32) seq(be64): the newest
                              record seen (kept after expiry: older seqs stay refused) */
/* Record format 1 (layouts <= 3): header, then the object bytes; read as role dest,
 * global scope. Format 2 (layout 4): the format-1 header, a flags byte (role in bits
 * 0-1, global scope in bit 2), n_dests (1 byte), the destinations (32 bytes each),
 * then the object bytes. */
#define REPL_REC_FORMAT_V1 1
#define REPL_REC_FORMAT 2
/* Version of the whole layout. 1: no 'u' 'a' 'i' 'v' 'd' tables (repl_new builds
 * the lookup indexes from the 'o' records once); 2: mailbox counters in 'c' and 'z'
 * "seq" rewritten with every item (repl_new deletes the 'c' table once); 3: format-1
 * records only, no 'p' 's' 'n' tables (every object global scope: nothing to rewrite);
 * 4: current.
 * Newer: refused. */
#define REPL_LAYOUT_VERSION 4
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

/* One distinct node record, decoded once per process (checked by the engine that
 * interned it first; every engine interning it has checked it too). Immutable but for
 * refs: each engine slot, parked slot and newest-entry pointing at it holds one. */
struct repl_srec {
  uint8_t id[OBJ_ID_LEN];
  uint32_t gid;           /* the record's node key, as a table number */
  uint32_t refs;
  uint64_t seq, created_ms, expires_ms;
  char name[REPL_NAME_CHARS_MAX + 1];
  uint32_t *nb;           /* neighbor gids from the record, ascending */
  uint32_t n_nb;
  uint8_t *bloom;         /* users summary (lookups) */
  uint32_t bloom_len, bloom_k;
  uint8_t *bytes;         /* the signed record */
  size_t len;
};

/* Does record s list node v (binary search of its ascending neighbor gids)? */
static inline bool repl__nb_has(const struct repl_srec *s, uint32_t v) {
  size_t lo = 0, hi = s->n_nb;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s->nb[mid] == v) return true;
    if (s->nb[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/* One node as one engine sees it, at index gid of the engine's node table: the newest
 * record it accepted for that node, and its route. 32 bytes: an engine of an n-node
 * federation holds n of them (the simulator n^2 in all). */
struct repl_node {
  struct repl_srec *rec;  /* newest record accepted (a ref), or NULL */
  bool live;              /* rec is held: not expired, not removed */
  bool has_next, has_alt;
  uint8_t rt_mark;        /* route repair's scratch bits (repl_rtree.c); 0 between uses */
  uint32_t dist;          /* UINT32_MAX = unreachable (valid while !routes_dirty) */
  uint64_t next_peer, alt_peer;
};

/* The slots of a stopped engine whose records live only in the table (a simulated
 * restart with its store kept finds them again). */
struct repl_parked {
  struct repl_node *nodes;
  size_t nnodes;
};

struct repl_shared {
  uint64_t seed;
  uint8_t (*keys)[OBJ_KEY_LEN];  /* by gid */
  uint32_t nkeys, keys_cap;
  uint32_t *khash;               /* open addressing: gid + 1, 0 = empty; load <= 1/2 */
  size_t khash_cap;
  struct repl_srec **rhash;      /* records by ID, open addressing, load <= 1/2 */
  size_t rhash_cap, nrecs;
  struct repl_srec **newest;     /* by gid: newest record its engine issued (a ref) */
  struct repl_parked *parked;    /* by gid */
};

/* gid of key, added if add (UINT32_MAX: unknown and !add, or E_NOMEM). */
uint32_t repl__key_gid(struct repl_shared *sh, const uint8_t key[static OBJ_KEY_LEN], bool add);
static inline const uint8_t *repl__key_of(const struct repl_shared *sh, uint32_t gid) {
  return sh->keys[gid];
}
/* The interned record id (no ref taken), or NULL. */
struct repl_srec *repl__srec_find(const struct repl_shared *sh, const uint8_t id[static OBJ_ID_LEN]);
/* A ref to the interned record id; decoded from data (checked bytes) if new.
 * E_NOMEM, E_CORRUPT. */
MOMEDO_WUR int repl__srec_intern(struct repl_shared *sh, const uint8_t id[static OBJ_ID_LEN],
                                 const uint8_t *data, size_t len, struct repl_srec **out);
/* Drop a ref (the last one frees the record). */
void repl__srec_put(struct repl_shared *sh, struct repl_srec *s);
/* Keep s as the newest own record of its node, if newer (simulators: adopt). */
void repl__shared_publish(struct repl_shared *sh, struct repl_srec *s);
/* Hand over / take back an engine's node slots (with their refs). */
void repl__shared_park(struct repl_shared *sh, uint32_t gid, struct repl_node *nodes, size_t n);
struct repl_node *repl__shared_unpark(struct repl_shared *sh, uint32_t gid, size_t *n);

/* ---- Node table and routes (repl_route.c) ----------------------------------- */

/* A link of this node, as its own record lists it (hold-down after going down). */
struct repl_link {
  uint8_t key[OBJ_KEY_LEN];
  bool up;
  bool listed;      /* in the own record (up, or down and still held) */
  uint8_t flaps;    /* downs, each within route_holddown_max_ms of the one before */
  uint64_t down_ms; /* the last down */
  uint64_t hold_ms; /* how long that down stays listed (doubles with every flap) */
};

/* ---- Custody (repl_custody.c): one destination of one held object still to hand on. */
struct repl_pend {
  uint8_t id[OBJ_ID_LEN];
  uint8_t dest[OBJ_KEY_LEN];
  uint64_t peer;          /* granted to this peer, not yet acknowledged; 0 = not granted */
  uint64_t granted_ms;
  uint64_t route_gen;     /* routes generation when granted */
  uint64_t next_ms;       /* earliest (re)grant */
  uint64_t from_peer;     /* who granted it to us (0 = a local client or a restart) */
  uint64_t from_ms;
  uint32_t hops;          /* hop budget the next grant carries */
  bool no_route;          /* waiting for a usable route (none, or only back to who
                             granted it): retried as soon as routes change */
  uint8_t role;           /* the held object's role (REPL_ROLE_*), REPL_PEND_ROLE_UNKNOWN */
};
#define REPL_PEND_ROLE_UNKNOWN 0xffu /* loaded at a restart: read from the store */

/* ---- Lookups (repl_query.c) ---------------------------------------------------- */
/* Users summary in the own record: ~10 bits per entry, 7 hashes, at most 64 KiB (more
 * entries only raise the false-positive rate; none is ever left out). */
#define REPL_BLOOM_BITS_PER_ENTRY 10u
#define REPL_BLOOM_HASHES 7u
#define REPL_BLOOM_ENTRIES_MAX (1u << 20)
/* Answers kept (identities); the oldest makes room. */
#define REPL_LOOKUP_CACHE_MAX 1024u
/* Node records held; a record of a node not yet known is refused beyond (a node can
 * mint keys and sign records for them: this bounds what that costs everyone). */
#define REPL_RECORDS_MAX 65536u

struct repl_cache_ent {
  uint8_t *bundle, *alias_obj;
  size_t blen, alen;
  struct obj_info binfo, ainfo;
  uint8_t bits[IDS_USER_ID_BYTES];
  uint64_t until_ms;
};

struct repl_claim_pend {
  uint64_t handle, deadline_ms;
  uint8_t home[OBJ_KEY_LEN];
};

struct repl_lookup {
  uint64_t handle, deadline_ms;
  struct repl_lookup_req q;
  uint32_t ncand, nanswered;
  uint32_t cand[REPL_LOOKUP_HINTS_MAX]; /* node indices asked */
};

/* A record pulled after an announcement, not yet received (repl_lazy.c). */
struct repl_pull {
  uint8_t key[OBJ_KEY_LEN];
  uint8_t id[OBJ_ID_LEN];
  uint64_t seq;
  uint64_t peer;            /* asked */
  uint64_t until_ms;        /* then the next of alt[] is asked */
  uint64_t alt[REPL_PULL_ALTS]; /* other peers that announced it */
  uint32_t nalt;
};

/* How an object recently came (repl_ihave.c). */
struct repl_arrival {
  uint8_t id[OBJ_ID_LEN];
  uint64_t peer;            /* 0: in an answer, not an eager push */
};

/* An object announced by ItemAnnounce and not yet held (repl_ihave.c). */
struct repl_graft {
  uint8_t id[OBJ_ID_LEN];
  uint64_t peer;            /* the first announcer, then the one last grafted */
  uint64_t until_ms;        /* then grafted from peer, or from the next of alt[] */
  uint64_t alt[REPL_GRAFT_ALTS]; /* other announcers */
  uint32_t nalt;
  bool asked;               /* a graft went to peer */
};

/* Custody context of an object arriving in a Grant. */
struct repl_grant_in {
  const uint8_t *dests;   /* granted destinations, 32 bytes each */
  size_t n;
  uint32_t hops_left;
};

/* A token bucket holding one minute's worth of a per-minute rate (repl_budget.c). The
 * level is kept in units x 60000 (one unit per minute = one per 60000 ms), so refilling
 * is integer arithmetic. */
struct repl_bucket {
  uint64_t level, last_ms;
  bool init;
};

/* One signing node's ingest budget (scoped mode), by its gid in the shared key table;
 * in a list from the least to the most recently charged. */
struct repl_signer {
  uint32_t gid;
  uint32_t prev, next;           /* slots in the list, UINT32_MAX = none */
  uint64_t used_ms;              /* last time it was charged */
  struct repl_bucket objs, bytes;
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
  struct repl_idx sidx;        /* scoped: scope-1 set (objects both hold as destination) */
  uint32_t node;               /* scoped: its entry in the node table */
  uint64_t rt_tokens, rt_last_ms; /* routed messages: token bucket (x1000) */
  bool rt_init;
  /* Budgets (repl_config peer_ingest_* / peer_recon_*). */
  struct repl_bucket in_objs, in_bytes, rc_msgs, rc_push;
  /* Lazy item push (repl_ihave.c): the link is lazy (announcements, no bodies). Every
   * link starts eager; a duplicate body or the peer's prune makes it lazy, a graft
   * either way makes it eager again. */
  bool lazy;
};

/* An object newly stored during the current call, to be pushed at its end. */
struct repl_fresh {
  Momedo__ObjectKind kind;
  uint8_t id[OBJ_ID_LEN];   /* node records: what an announcement names */
  uint8_t key[OBJ_KEY_LEN];
  uint64_t version;
  const uint8_t *data;   /* borrowed: valid until the call returns */
  size_t len;
  uint64_t from_peer;
  bool from_local;
  bool tree;             /* arrived in an eager push (ObjectPush.fresh), not as an answer */
};

/* Objects queued for one ObjectPush to one peer. */
struct repl_pushbuf {
  Momedo__Object *objs;
  Momedo__Object **ptrs;
  uint8_t **owned;       /* bytes to free after encoding (NULL = borrowed) */
  size_t n, cap, bytes;
  bool fresh;            /* an eager push of new objects (ObjectPush.fresh) */
};

/* A push buffer with more slots than this is freed after use, not kept. */
#define REPL_PUSHBUF_KEEP 64u

struct repl {
  struct repl_config cfg;
  struct store *store;
  struct rng rng;                /* round jitter; seeded by the caller */
  struct repl_idx idx;
  struct repl_peer *peers;
  uint64_t *peer_ids;            /* peers[i].id, packed: every input finds its peer here
                                    without touching a ~1.4 KiB peer struct per peer */
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
  /* ---- scoped mode ---- */
  struct repl_idx gidx;          /* scope 0: global-scope objects held */
  struct repl_idx ridx;          /* scope 2: live node records (lazy: only when built) */
  struct repl_agg ragg;          /* lazy: count and sum of the live records' IDs */
  bool ridx_built;               /* lazy: ridx holds them now */
  struct repl_node *nodes;       /* node table, indexed by the shared table's gids */
  size_t nnodes, nodes_cap;
  /* Records held in the shared table only (a table given in repl_config): no store
   * entries; expiry by a sweep of the node table at rec_exp_ms. */
  bool rec_mem;
  uint64_t rec_exp_ms;           /* earliest expiry of a live record (rec_mem), or UINT64_MAX */
  uint32_t self_node;
  bool routes_dirty;
  uint64_t route_gen;            /* incremented by every recompute */
  uint32_t *rt_touch;            /* nodes whose edges or links changed since the last search */
  size_t rt_ntouch, rt_touch_cap;
  bool rt_full;                  /* the next search is a full one (too much changed) */
  uint64_t rt_exp_ms;            /* earliest expiry of a record the table was built from */
  uint64_t spf_due_ms;           /* routes_dirty: searched when needed from then on */
  uint64_t spf_last_ms;          /* the last search */
  uint64_t spf_change_ms;        /* the first change after it */
  uint64_t spf_hold_ms;          /* the wait after it (backs off to route_spf_max_ms) */
  struct repl_link *links;
  size_t nlinks, links_cap;
  uint64_t own_seq;              /* seq of the newest own record */
  uint64_t own_created_ms;
  uint64_t rec_due_ms;           /* next own record, UINT64_MAX = none */
  uint8_t *own_rec_bytes;        /* the newest own record, pushed at the end of the call */
  struct repl_pend *pend;
  size_t npend, pend_cap;
  uint64_t pend_next_ms;         /* earliest next_ms among un-granted / due entries */
  bool custody_dirty;            /* run the custody pump at the end of the call */
  bool issuing;                  /* ingesting the own new record */
  struct repl_lookup *lookups;   /* in flight */
  size_t nlookups, lookups_cap;
  uint64_t lookup_next_ms;       /* earliest lookup deadline */
  struct repl_claim_pend *claims; /* one-time prekey claims in flight (repl_claim.c) */
  size_t nclaims, claims_cap;
  uint64_t claim_next_ms;        /* earliest claim deadline */
  struct repl_cache_ent *cache;  /* REPL_LOOKUP_CACHE_MAX slots once used */
  size_t ncache;
  bool store_only;               /* answering a query: never from the cache */
  struct repl_signer *signers;   /* at most REPL_SIGNERS_MAX, in no order */
  size_t nsigners, signers_cap;
  uint32_t *signer_hash;         /* open addressing by gid: slot + 1, 0 = empty */
  size_t signer_hash_cap;        /* a power of two >= 2 * signers_cap, or 0 */
  uint32_t signer_lru, signer_mru; /* list ends, UINT32_MAX = empty */
  struct repl_pull *pulls;       /* lazy records: awaited after a pull */
  size_t npulls, pulls_cap;
  uint64_t pull_next_ms;         /* earliest until_ms, or UINT64_MAX */
  struct repl_graft *grafts;     /* lazy items: announced, not yet held */
  size_t ngrafts, grafts_cap;
  uint64_t graft_next_ms;        /* earliest until_ms, or UINT64_MAX */
  struct repl_arrival *arrivals; /* ring of REPL_ARRIVALS_MAX (lazy items), or NULL */
  uint32_t arrivals_pos;
  struct obj_info last_answer;
};

/* Record of a stored object, decoded from its 'o' value. */
struct repl_rec {
  struct obj_info info;
  uint64_t seq;
  enum repl_role role;
  bool global;           /* no destinations: every node */
  uint32_t n_dests;
  const uint8_t *dests;  /* n_dests * 32 bytes, ascending */
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
/* Every input's clock (repl.c): pulls in rounds scheduled before the clock went back. */
void repl__clock_note(struct repl *r, uint64_t now_ms);

/* repl_budget.c */
/* Take n units from b (rate per_min, one minute's burst); a request larger than the
 * whole burst is granted when the bucket is full, and empties it. false: not enough,
 * nothing taken. */
bool repl__bucket_take(struct repl_bucket *b, uint64_t per_min, uint64_t n, uint64_t now_ms);
/* May this push or custody grant from p be processed (bytes: the encoded message)? Takes
 * its objects and bytes from p's ingest budget, or counts it refused. */
bool repl__ingest_ok(struct repl *r, struct repl_peer *p, const Momedo__ReplMsg *m, size_t bytes,
                     uint64_t now_ms);
/* May a Recon, Want, RecordAnnounce or RecordPull from p be answered? Takes one from p's reconciliation budget. */
bool repl__recon_ok(struct repl *r, struct repl_peer *p, uint64_t now_ms);
/* May len more object bytes be pushed to p in answer to its reconciliation? */
bool repl__recon_push_ok(struct repl *r, struct repl_peer *p, size_t len, uint64_t now_ms);
/* Something p pushed was not taken for a budget: a round with p repairs it within
 * REPL_DEFER_ROUND_MS (or sooner, if one is due sooner). */
void repl__defer_round(struct repl_peer *p, uint64_t now_ms);
/* Scoped mode, an object i (len bytes) from neighbor `from`: 0 if it may be taken (its
 * signer's budget charged); E_SIGNER if signed by a node not known here, E_RATE beyond its
 * signer's budget (both counted; the caller answers "not now", never a strike); E_NOMEM.
 * Objects not signed by a node (bundles, tombstones, records), objects `from` signed
 * itself (its own ingest budget bounds it) and flood mode: 0. */
MOMEDO_WUR int repl__signer_ok(struct repl *r, const struct repl_peer *from,
                               const struct obj_info *i, size_t len, uint64_t now_ms);

/* repl_store.c */
MOMEDO_WUR int repl__load(struct repl *r);
/* Check (obj_check or the config's hook) and store one object. from NULL = local
 * client. On success fills info (may be NULL), appends to the fresh list and queues
 * STORED/REMOVED actions. */
MOMEDO_WUR int repl__ingest(struct repl *r, Momedo__ObjectKind kind, const uint8_t *data,
                            size_t len, uint64_t now_ms, struct repl_peer *from,
                            const struct repl_grant_in *g, struct obj_info *info);
/* The object's role: DEST or TRANSIT for what an ingest would store (scoped mode). */
bool repl__scoped(const struct repl *r);
/* Remove a held object (every index, its pending entries) in one batch: a transit object
 * handed on to all its destinations. Queues REMOVED with its role. */
MOMEDO_WUR int repl__remove(struct repl *r, const uint8_t id[static OBJ_ID_LEN]);
/* The stored destinations of id this node still owes (pending) are in memory; this adds
 * the 'p' puts / dels to a batch. */
MOMEDO_WUR int repl__pend_put_op(struct store_batch *b, const uint8_t *id, const uint8_t *dest);
MOMEDO_WUR int repl__pend_del_op(struct store_batch *b, const uint8_t *id, const uint8_t *dest);
/* The part of repl__ingest after the check: ck is obj_check's result for data, and its
 * ID is not live here. */
MOMEDO_WUR int repl__ingest_checked(struct repl *r, const struct obj_checked *ck,
                                    const uint8_t *data, size_t len, uint64_t now_ms,
                                    struct repl_peer *from, const struct repl_grant_in *g,
                                    struct obj_info *info);
MOMEDO_WUR int repl__gc(struct repl *r, uint64_t now_ms);
/* Stored object by ID: *val malloc'ed (caller frees), rec points into it. */
MOMEDO_WUR int repl__rec_get(struct repl *r, const uint8_t id[static OBJ_ID_LEN],
                             uint8_t **val, struct repl_rec *rec);

/* repl_store.c: push an object stored during this call at its end (data borrowed). */
MOMEDO_WUR int repl__fresh_add(struct repl *r, const struct obj_info *i, const uint8_t *data,
                               size_t len, struct repl_peer *from);

/* repl_store.c: emit a LOOKUP_DONE action. */
MOMEDO_WUR int repl__lookup_done(struct repl *r, uint64_t handle, int status,
                                 const struct obj_info *info);

/* repl_lookup.c: index entries for a stored / removed object (bundles, aliases),
 * added to the batch that stores / removes it. */
MOMEDO_WUR int repl__lookup_put_ops(struct store_batch *b, const struct obj_checked *ck);
MOMEDO_WUR int repl__lookup_del_ops(struct store_batch *b, const struct obj_info *i);
/* 0 (store it; victims[0..*nvictims) are other identities' objects of the same issuing
 * node it outranks, at most REPL_ALIAS_SCAN_MAX) or E_SUPERSEDED. Other issuers'
 * objects are never victims (issue 11, finding 2). */
MOMEDO_WUR int repl__alias_decide(struct repl *r, const struct obj_info *i, uint64_t now_ms,
                                  uint8_t (*victims)[OBJ_ID_LEN], size_t *nvictims);

/* repl_route.c */
/* Node table entry of key (created if new); UINT32_MAX on E_NOMEM. */
uint32_t repl__node_of(struct repl *r, const uint8_t key[static OBJ_KEY_LEN]);
/* A record was stored (rec bytes checked) / removed (expired or superseded). */
MOMEDO_WUR int repl__node_record_set(struct repl *r, const uint8_t id[static OBJ_ID_LEN],
                                     const uint8_t *data, size_t len);
/* rec_mem: ingest a checked record into the node table only (no store). */
MOMEDO_WUR int repl__record_mem(struct repl *r, const struct obj_checked *ck, const uint8_t *data,
                                size_t len, uint64_t now_ms, struct repl_peer *from);
/* rec_mem: take the slots parked for this engine's key (repl_new) / park them (repl_free). */
MOMEDO_WUR int repl__nodes_unpark(struct repl *r);
/* repl_new: a restart keeps the live own record's links listed (held down). */
MOMEDO_WUR int repl__links_restore(struct repl *r, uint64_t now_ms);
void repl__node_record_gone(struct repl *r, const uint8_t key[static OBJ_KEY_LEN],
                            uint64_t seq);
/* Decide an incoming record: E_SUPERSEDED if not newer than the newest seen; else 0
 * and *old_id / *has_old name the record it replaces. */
MOMEDO_WUR int repl__record_decide(struct repl *r, const struct obj_info *i, uint8_t *old_id,
                                   bool *has_old);
MOMEDO_WUR int repl__record_put_op(struct store_batch *b, const struct obj_info *i);
/* Links and the own record. */
MOMEDO_WUR int repl__link_up(struct repl *r, struct repl_peer *p, uint64_t now_ms);
void repl__link_down(struct repl *r, const uint8_t key[static OBJ_KEY_LEN], uint64_t now_ms);
/* Is key a neighbor whose link is down but still listed (held down)? */
bool repl__link_held(struct repl *r, const uint8_t key[static OBJ_KEY_LEN]);
MOMEDO_WUR int repl__records_tick(struct repl *r, uint64_t now_ms);
/* A user this node is home to came or went: from one of this node's own clients, a new
 * record (summary) within record_min_interval_ms if its summary bits changed; from a
 * neighbor (a partner's copy), at the next record issued anyway. */
void repl__summary_changed(struct repl *r, bool own_client);
/* Recompute routes if stale (E_NOMEM). */
MOMEDO_WUR int repl__routes_fresh(struct repl *r, uint64_t now_ms);
/* The routes may have changed (local: this node's own links); repl_route.c. */
void repl__routes_touch(struct repl *r, uint64_t now_ms, bool local);
/* A full search now, whatever the throttle says (tests compare against it). */
MOMEDO_WUR int repl__routes_search(struct repl *r, uint64_t now_ms);
/* repl_rtree.c: the route table. Touch a node whose edges or link changed (its record,
 * each neighbor listed by its old and new record: repl__rt_touch_rec); reset = the next
 * search is full; search = repair the table in place, or search afresh if full (or too
 * much changed, or a record used expired). Its result never depends on which. */
void repl__rt_touch(struct repl *r, uint32_t g);
void repl__rt_touch_rec(struct repl *r, uint32_t g, const struct repl_srec *s);
/* g's record in force went from a to b (both in force): touch g and the nodes listed by
 * exactly one of them (the other ends of the edges that can have changed). */
void repl__rt_touch_diff(struct repl *r, uint32_t g, const struct repl_srec *a,
                         const struct repl_srec *b);
void repl__rt_reset(struct repl *r);
void repl__rt_free(struct repl *r);
MOMEDO_WUR int repl__rt_search(struct repl *r, uint64_t now_ms, bool full);
/* Next hop toward node key from fresh routes: 0, or E_NOTFOUND. */
MOMEDO_WUR int repl__next_hop(struct repl *r, const uint8_t key[static OBJ_KEY_LEN],
                              uint64_t *peer, uint64_t *alt, bool *has_alt);
void repl__nodes_free(struct repl *r);

/* repl_query.c */
MOMEDO_WUR int repl__bloom_build(struct repl *r, uint8_t **out, uint32_t *len, uint32_t *k);
void repl__cache_free(struct repl *r);
/* A cached answer by identity key, user-ID bits or alias string (copy). E_NOTFOUND. */
MOMEDO_WUR int repl__cache_find(struct repl *r, enum repl_lookup_kind kind, const void *key,
                                struct obj_info *info, uint8_t **data, size_t *len);
MOMEDO_WUR int repl__lookups_tick(struct repl *r, uint64_t now_ms);
MOMEDO_WUR int repl__on_routed(struct repl *r, struct repl_peer *p, const Momedo__Routed *m,
                               uint64_t now_ms);
/* A Routed message from this node to node dst along the routes (no route: dropped and
 * counted, 0). */
MOMEDO_WUR int repl__routed_send(struct repl *r, const uint8_t *dst, Momedo__Routed *m);

/* repl_claim.c: a Routed claim or claim answer addressed to this node; the claims'
 * timeouts. */
MOMEDO_WUR int repl__on_claim(struct repl *r, const Momedo__Routed *m, uint64_t now_ms);
MOMEDO_WUR int repl__on_claimed(struct repl *r, const Momedo__Routed *m);
MOMEDO_WUR int repl__claims_tick(struct repl *r, uint64_t now_ms);
void repl__claims_free(struct repl *r);

/* repl_custody.c */
MOMEDO_WUR int repl__pend_add(struct repl *r, const uint8_t *id, const uint8_t *dest,
                              uint64_t from_peer, uint32_t hops, uint64_t now_ms, uint8_t role);
/* Forget every pending entry of id (after the batch deleting them is durable). */
void repl__pend_forget(struct repl *r, const uint8_t id[static OBJ_ID_LEN]);
/* Delete ops for every pending entry of id. */
MOMEDO_WUR int repl__pend_del_ops(struct repl *r, struct store_batch *b,
                                  const uint8_t id[static OBJ_ID_LEN]);
bool repl__pend_has(const struct repl *r, const uint8_t *id, const uint8_t *dest);
MOMEDO_WUR int repl__pend_load(struct repl *r);
/* Grant what is due (un-granted, retry time reached, route changed). */
MOMEDO_WUR int repl__custody_pump(struct repl *r, uint64_t now_ms);
void repl__custody_peer_down(struct repl *r, uint64_t peer_id, uint64_t now_ms);
MOMEDO_WUR int repl__on_grant(struct repl *r, struct repl_peer *p, const Momedo__CustodyGrant *m,
                              uint64_t now_ms);
MOMEDO_WUR int repl__on_ack(struct repl *r, struct repl_peer *p, const Momedo__CustodyAck *m,
                            uint64_t now_ms);
/* Peer strike (repl.c): an invalid object. */
MOMEDO_WUR int repl__strike(struct repl *r, struct repl_peer *p, int status, uint64_t now_ms);
MOMEDO_WUR int repl__send_always(struct repl *r, struct repl_peer *p, const Momedo__ReplMsg *m);

/* repl_ridx.c: the live records' set (scope 2), its index built lazily with a
 * shared table. add/del: 1 changed, 0 not (already present / absent), E_NOMEM. */
bool repl__ridx_lazy(const struct repl *r);
MOMEDO_WUR int repl__ridx_add(struct repl *r, const uint8_t id[static OBJ_ID_LEN]);
int repl__ridx_del(struct repl *r, const uint8_t id[static OBJ_ID_LEN]);
bool repl__ridx_has(const struct repl *r, const uint8_t id[static OBJ_ID_LEN]);
uint64_t repl__ridx_count(const struct repl *r);
void repl__ridx_total(const struct repl *r, struct repl_agg *out);
/* Build the index if lazy and not built (E_NOMEM) / drop it (lazy only). */
MOMEDO_WUR int repl__ridx_ready(struct repl *r);
void repl__ridx_release(struct repl *r);

/* repl_lazy.c: lazy push of node records (announce, pull). */
/* Announce the relayed records among the fresh objects and take them off the list. */
MOMEDO_WUR int repl__announce_fresh(struct repl *r);
MOMEDO_WUR int repl__on_announce(struct repl *r, struct repl_peer *p,
                                 const Momedo__RecordAnnounce *m, uint64_t now_ms);
MOMEDO_WUR int repl__on_pull(struct repl *r, struct repl_peer *p, const Momedo__RecordPull *m,
                             uint64_t now_ms);
/* Awaited records not served in time: ask the next neighbor that announced them. */
MOMEDO_WUR int repl__pulls_tick(struct repl *r, uint64_t now_ms);
/* A record of key with seq arrived: no longer awaited up to that seq. */
void repl__pull_done(struct repl *r, const uint8_t key[static OBJ_KEY_LEN], uint64_t seq);

/* repl_ihave.c: lazy push of items (Plumtree's eager and lazy links). */
/* Does fresh object f go to p as an announcement rather than a body? */
bool repl__fresh_lazy(const struct repl *r, const struct repl_peer *p,
                      const struct repl_fresh *f);
/* Announce the fresh objects to the lazy peers (their bodies go to the eager ones). */
MOMEDO_WUR int repl__ihave_fresh(struct repl *r);
/* A body (data) arrived from p a second time in an eager push: in lazy mode the link
 * becomes lazy, unless the first copy came from p too or in an answer. */
MOMEDO_WUR int repl__item_dup(struct repl *r, struct repl_peer *p, Momedo__ObjectKind kind,
                              const uint8_t *data, size_t len);
/* Object id of kind was stored from p, in an eager push (fresh) or an answer. */
void repl__item_arrived(struct repl *r, const struct repl_peer *p, Momedo__ObjectKind kind,
                        const uint8_t id[static OBJ_ID_LEN], bool fresh);
MOMEDO_WUR int repl__on_ihave(struct repl *r, struct repl_peer *p, const Momedo__ItemAnnounce *m,
                              uint64_t now_ms);
MOMEDO_WUR int repl__on_graft(struct repl *r, struct repl_peer *p, const Momedo__ItemGraft *m,
                              uint64_t now_ms);
/* The peer pruned the link; the last eager link is grafted again at once. */
MOMEDO_WUR int repl__on_prune(struct repl *r, struct repl_peer *p);
/* Announced objects still missing after item_graft_timeout_ms: graft them. */
MOMEDO_WUR int repl__grafts_tick(struct repl *r, uint64_t now_ms);

/* repl_recon.c */
MOMEDO_WUR int repl__recon_start(struct repl *r, struct repl_peer *p, uint64_t now_ms);
MOMEDO_WUR int repl__recon_on_msg(struct repl *r, struct repl_peer *p, const Momedo__Recon *m,
                                  uint64_t now_ms);

/* Build the per-peer scope-1 index from the 's' table (peer up, scoped mode). */
MOMEDO_WUR int repl__shared_load(struct repl *r, struct repl_peer *p);
/* Test hook: store an object as layout 3 did (format-1 record, no scoped tables). */
MOMEDO_WUR int repl__test_put_v1(struct store *s, Momedo__ObjectKind kind,
                                 const uint8_t *data, size_t len, uint64_t seq);

/* Test hook (tests and benchmarks only): add an ID to the live index without an
 * object behind it, so a benchmark can build a million-ID set without signing a
 * million objects. Reconciliation treats it like any live ID; asking for its
 * object finds nothing. */
MOMEDO_WUR int repl__test_index_add(struct repl *r, const uint8_t id[static OBJ_ID_LEN]);

#endif
