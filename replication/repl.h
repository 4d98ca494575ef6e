/* replication/repl.h — the replication state machine of one node, free of I/O.
 * One struct repl per node: inputs are calls (peer up/down, a ReplMsg from a
 * neighbor, an object from a local client, a lookup, a timer tick), time is an
 * argument, randomness comes from a caller-seeded PRNG, outputs are queued actions
 * the caller drains. Scoped mode (default) routes objects to their destination nodes
 * with custody over link-state routes; flood mode sends everything everywhere. It owns
 * the object storage layout inside the store it is handed.
 * No clock, no rand(), no sockets, no globals: one process may hold thousands. */
#ifndef MOMEDO_REPL_H
#define MOMEDO_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "obj.h"
#include "status.h"
#include "store.h"

/* ---- Bounds (named maxima; see docs/replication.md) ---------------------- */

/* Largest encoded ReplMsg accepted by repl_on_msg (the frame limit). */
#define REPL_MSG_BYTES_MAX (1024u * 1024)
/* Objects in one ObjectPush never exceed this many bytes in total. */
#define REPL_PUSH_BYTES_MAX (512u * 1024)
/* Recon messages are cut off at this size (the rest of the ID space is then
 * answered with one fingerprint and reconciled in a later round). */
#define REPL_RECON_BYTES_MAX (256u * 1024)
/* IDs in one ObjectWant. */
#define REPL_WANT_IDS_MAX 4096u
/* Neighbors per node. */
#define REPL_PEERS_MAX 256u
/* A peer sending this many invalid objects (or malformed messages) within
 * REPL_INVALID_WINDOW_MS is dropped. */
#define REPL_INVALID_MAX 100u
#define REPL_INVALID_WINDOW_MS (10u * 60 * 1000)
/* Longest DROP_PEER reason, including the terminating NUL. */
#define REPL_REASON_BYTES_MAX 128u
/* Hint node keys in one lookup (e.g. from a contact card). */
#define REPL_LOOKUP_HINTS_MAX 8u
/* Lookups in flight per engine; repl_lookup_start answers E_BUSY beyond. */
#define REPL_LOOKUPS_MAX 1024u
/* A tombstone for an item this node does not hold is kept at most this long here (its
 * own expiry may say 90 days): long enough for an item still in flight to meet it,
 * short enough that tombstones for IDs nobody holds do not pile up (issue 11, finding
 * 7). A neighbor that holds it longer offers it again by reconciliation. */
#define REPL_TOMB_UNKNOWN_TTL_MS (24ull * 3600 * 1000)
/* Node names, as in a node record (OBJ_RECORD_NAME_CHARS_MAX). */
#define REPL_NAME_CHARS_MAX OBJ_RECORD_NAME_CHARS_MAX

/* ---- Scoped delivery (docs/replication.md, "Scoped delivery") ------------- */

/* How a federation delivers. One mode per federation (momedod states it in Hello). */
enum repl_scope_mode {
  /* Objects go to their destination nodes along link-state routes, with custody at
   * every hop; node records spread everywhere; reconciliation per (peer, scope). */
  REPL_SCOPE_SCOPED = 0,
  /* Every object to every peer, one global reconciliation, no records: the baseline. */
  REPL_SCOPE_FLOOD = 1,
};

/* How a node record accepted from a neighbor goes on to the other neighbors (scoped
 * mode; a node's own new record is always pushed whole). */
enum repl_record_push {
  /* Announce (node key, seq, ID); a neighbor lacking it pulls the body: one body per
   * node instead of one per link. */
  REPL_RECORD_PUSH_LAZY = 0,
  /* The whole record to every other neighbor (the baseline). */
  REPL_RECORD_PUSH_EAGER = 1,
};
/* Record refs in one RecordAnnounce (72 bytes each). */
#define REPL_ANNOUNCE_REFS_MAX 4096u
/* Records one engine is waiting for after a pull (more announcements are pulled
 * without being remembered). */
#define REPL_PULLS_MAX 1024u
/* Other neighbors remembered per awaited record, asked in turn when one does not serve. */
#define REPL_PULL_ALTS 4u

/* How an object other than a node record (items, bundles, aliases, tombstones) goes to
 * the neighbors when it is new here: in flood mode every object, in scoped mode the
 * global-scope ones (custody moves the rest along routes; docs/replication.md "Items by
 * announcement"). */
enum repl_item_push {
  /* The body to every neighbor but the sender (the baseline). */
  REPL_ITEM_PUSH_EAGER = 0,
  /* Plumtree-style: the body to eager neighbors, its ID (ItemAnnounce) to lazy ones; a
   * duplicate body makes its link lazy (ItemPrune), a body missing item_graft_timeout_ms
   * after an announcement is asked for (ItemGraft) and makes that link eager. */
  REPL_ITEM_PUSH_LAZY = 1,
};
/* IDs in one ItemAnnounce or ItemGraft (32 bytes each). */
#define REPL_IHAVE_IDS_MAX 4096u
/* Announced objects one engine is waiting for (more announcements are ignored until
 * there is room: reconciliation brings those). */
#define REPL_GRAFTS_MAX 4096u
/* Other announcers remembered per awaited object, grafted in turn. */
#define REPL_GRAFT_ALTS 4u
/* Objects last stored from neighbors remembered per engine (lazy item push), with how
 * they came: a second eager copy from the same neighbor (a duplicated frame) or after
 * one that came in an answer (reconciliation, graft) says nothing about the links. */
#define REPL_ARRIVALS_MAX 256u

/* Why this node holds an object. */
enum repl_role {
  /* This node is one of its destinations (or it is global scope): it keeps the object
   * until expiry or tombstone, serves it to clients and reconciles it. */
  REPL_ROLE_DEST = 0,
  /* Held only to pass on (custody); deleted once every destination it was responsible
   * for has been handed on. Never a mailbox item, never reconciled. */
  REPL_ROLE_TRANSIT = 1,
  /* A bundle or alias fetched by a lookup: answers local lookups for lookup_cache_ms,
   * never forwarded, never reconciled, never a mailbox item. */
  REPL_ROLE_CACHED = 2,
};

/* Node keys <-> dense numbers and node records, interned so that engines in one
 * process hold each distinct record once (the simulator shares one table among all its
 * engines; momedod's engine makes a private one). Each engine still decides for itself
 * which record of a node it accepts (signature, seq, expiry): the table only holds the
 * bytes and the decoded fields of records some engine accepted, refcounted, and an
 * engine sees only the versions it accepted itself.
 * An engine given a table (repl_config.shared) keeps node records in the table only,
 * not in its store: a simulator's restart finds them there (repl_free parks the
 * engine's records under its node key, repl_new with the same self_key takes them
 * back, as a kept store would); repl_shared_forget drops them (a lost store). An
 * engine with its private table (momedod) stores its records as before.
 * Not thread-safe: the engines sharing it must run on one thread. */
struct repl_shared;
/* seed keys the table's hash (hash flooding). Errors: E_NOMEM. */
MOMEDO_WUR int repl_shared_new(uint64_t seed, struct repl_shared **out);
/* Free the table; every engine using it must be freed first. NULL is fine. */
void repl_shared_free(struct repl_shared *sh);
/* Forget the records parked for node key (its engine is stopped and its store lost). */
void repl_shared_forget(struct repl_shared *sh, const uint8_t key[static OBJ_KEY_LEN]);

/* ---- Configuration -------------------------------------------------------- */

/* Defaults and bounds of the numeric fields: the parameter table below
 * (replication/repl_param.c, docs/replication.md); repl_new refuses values outside it. */
struct repl_config {
  /* REPL_SCOPE_SCOPED (default, "scoped") or REPL_SCOPE_FLOOD ("flood"). Scoped needs
   * self_key and sign. */
  uint32_t scope;
  /* Period of anti-entropy rounds per peer, plus a uniform random jitter in
   * [0, recon_jitter_ms]. */
  uint64_t recon_interval_ms;
  uint64_t recon_jitter_ms;
  /* Delay of the first round after repl_peer_up: uniform in [0, this]. 0 =
   * start the round inside repl_peer_up. The side that receives
   * a round first does not start its own, so usually one round runs per link. */
  uint64_t recon_start_delay_ms_max;
  /* Split fan-out and the largest range sent as an ID list (fewer buckets: fewer
   * bytes, more round trips; docs/replication.md). */
  uint32_t recon_branch;
  uint32_t recon_leaf_ids_max;
  /* Bytes of SEND actions for one peer not yet confirmed by repl_peer_sent()
   * beyond which no more push or reconciliation traffic is generated for that
   * peer. */
  uint64_t peer_queue_bytes_max;
  /* ---- scoped mode (ignored in flood mode) ---- */
  /* The own record is re-issued every record_refresh_ms (or at half its lifetime if
   * that is sooner), lives record_lifetime_ms, and is re-issued for a changed user
   * summary at most once per record_min_interval_ms (only for users of this node's own
   * clients, only if a summary bit changed; a partner's copy waits for the next record
   * issued anyway). A link change is re-issued at once (coalesced within
   * one instant). */
  uint64_t record_refresh_ms;
  uint64_t record_lifetime_ms;
  uint64_t record_min_interval_ms;
  /* A link that went down stays listed in the own record this long, so a flapping
   * link does not churn the federation's routes. Routes of this node skip a down peer
   * at once. */
  uint64_t route_holddown_ms;
  /* Flap damping: a link that goes down again within route_holddown_max_ms of its last
   * down is held twice as long as the last time, up to route_holddown_max_ms; a link
   * quiet that long starts again at route_holddown_ms. */
  uint64_t route_holddown_max_ms;
  /* Route searches are throttled as routers throttle SPF runs (repl_route.c): a change
   * of another node's links is searched route_spf_delay_ms after it at the earliest;
   * while changes keep coming the wait between two searches doubles up to
   * route_spf_max_ms, the last table serving meanwhile. A change of this node's own
   * links is searched at once. 0 and 0: every change searched at once. */
  uint64_t route_spf_delay_ms;
  uint64_t route_spf_max_ms;
  /* An unacknowledged custody grant is sent again (to the then best next hop) after
   * custody_retry_ms; grants carry a hop budget of custody_hops_max. */
  uint64_t custody_retry_ms;
  uint32_t custody_hops_max;
  /* A lookup gives up (E_NOTFOUND) after lookup_timeout_ms; what it fetched is cached
   * for lookup_cache_ms; it asks at most lookup_candidates_max nodes. */
  uint64_t lookup_timeout_ms;
  uint64_t lookup_cache_ms;
  uint32_t lookup_candidates_max;
  /* Routed messages (lookups) accepted from one peer per second, burst included.
   * More are dropped and counted. */
  uint32_t routed_per_peer_per_s;
  /* Budgets per neighbor (issue 11 finding 7, issue 15), token buckets holding one
   * minute's worth (repl_budget.c). Ingest: objects arriving in pushes and custody grants
   * (duplicates too) and their bytes; a message beyond either is not processed at all
   * (no strike, no custody ack: an honest sender offers it again later, nothing
   * acknowledged is lost). Reconciliation: Recon and Want messages answered, and bytes
   * of objects pushed in answer to them; beyond, a message is not answered and a push
   * stops (the peer's round ends; a later round repairs). Counted in repl_peer_stats. */
  uint32_t peer_ingest_objects_per_min;
  uint64_t peer_ingest_per_min_bytes_max;
  uint32_t peer_recon_msgs_per_min;
  uint64_t peer_recon_push_per_min_bytes_max;
  /* Item signers (issue 11 finding 7; repl_budget.c), scoped mode: an item, chunk or
   * alias from a neighbor is taken only if its signer is a node known here (this node, a
   * neighbor whose link is up, or a node whose live record is held) and only within that
   * signer's budget (objects and bytes per minute, over every neighbor together); else it
   * is neither stored nor acknowledged and no strike: the sender offers it again later. */
  uint32_t signer_ingest_objects_per_min;
  uint64_t signer_ingest_per_min_bytes_max;
  /* REPL_RECORD_PUSH_LAZY (default, "lazy") or REPL_RECORD_PUSH_EAGER ("eager"); a pull
   * not served within record_pull_timeout_ms goes to another neighbor that announced
   * the record (reconciliation repairs the rest). */
  uint32_t record_push;
  uint64_t record_pull_timeout_ms;
  /* REPL_ITEM_PUSH_EAGER (default, "eager") or REPL_ITEM_PUSH_LAZY ("lazy"); an announced
   * object not received within item_graft_timeout_ms is grafted from its announcer (then
   * from the next, each after the same time). */
  uint32_t item_push;
  uint64_t item_graft_timeout_ms;
  /* The one check of every object that enters (from clients and neighbors alike):
   * NULL (the default) means obj_check, which momedod always uses. The engine passes
   * a seen callback answering "is this ID live here?", so a duplicate costs one decode
   * and one hash and never a signature check. The simulator installs a memoising
   * wrapper (same verdicts, computed once per object across thousands of simulated
   * nodes) so that ten million signature checks do not dominate a run. A hook must
   * behave exactly like obj_check: same return codes, same *out, and seen asked as
   * soon as the ID is known (before the canonical-form, bound, time and signature
   * checks). */
  int (*check)(void *ctx, Momedo__ObjectKind kind, const uint8_t *data, size_t len,
               uint64_t now_ms, obj_seen_fn seen, void *seen_ctx, struct obj_checked *out);
  void *check_ctx;
  /* ---- scoped mode: who this node is (not parameters) ---- */
  /* This node's Ed25519 node key, and a signer for its node records (scoped mode). The
   * key is also how the engine recognises itself among an object's destinations. */
  uint8_t self_key[OBJ_KEY_LEN];
  obj_sign_fn sign;
  void *sign_ctx;
  /* The node's name in its record: <= REPL_NAME_CHARS_MAX of [a-z0-9.-], may be empty. */
  char name[REPL_NAME_CHARS_MAX + 1];
  /* Interned keys and records (above); NULL = the engine makes a private table and
   * stores its records. Given: records live in the table only (above). A shared table
   * must outlive every engine using it. */
  struct repl_shared *shared;
  /* With a shared table the record index (scope 2) is built only for a round whose
   * fingerprints differ (repl_ridx.c); true keeps it always, as momedod does. Same
   * answers either way: for tests and comparisons, not a parameter. */
  uint32_t record_index_eager; /* 0 or 1 */
};

/* Fill c with the defaults of the parameter table below (hooks NULL). */
void repl_config_default(struct repl_config *c);

/* ---- Parameter table (repl_param.c) ------------------------------------------
 * Every field of struct repl_config a front-end may set, as momedo.conf and the
 * simulator's `repl` lines spell it: one name, one unit, one default, hard bounds.
 * repl_config_default fills the defaults and repl_new refuses a config outside the
 * bounds, so no front-end can clamp, widen or rename a parameter on its own. */

enum repl_param_unit {
  REPL_UNIT_MS = 0,    /* milliseconds; text may end in ms, s, m, h or d */
  REPL_UNIT_BYTES = 1, /* bytes; text may end in KiB, MiB or GiB */
  REPL_UNIT_COUNT = 2, /* a plain number */
  REPL_UNIT_CHOICE = 3, /* one of the row's names; the value is its index */
};

struct repl_param {
  const char *name;          /* e.g. "recon_interval_ms": units last */
  enum repl_param_unit unit;
  uint64_t def, min, max;    /* in unit; min <= def <= max */
  size_t off;                /* the field in struct repl_config */
  size_t size;               /* its width: 4 or 8 bytes */
  const char *help;          /* one line, for config templates */
  const char *const *choices; /* REPL_UNIT_CHOICE: names by value, NULL-terminated */
};

/* Rows the table may grow to (front-ends size "seen" arrays with it). */
#define REPL_PARAMS_MAX 32u
/* Longest text repl_param_parse writes into why, and repl_param_bounds_text. */
#define REPL_PARAM_TEXT_MAX 192u

extern const struct repl_param repl_params[];
extern const size_t repl_params_n;

/* The row called name, or NULL. */
const struct repl_param *repl_param_find(const char *name);
/* Parse text (decimal digits, then optionally one of the unit's suffixes: "60000",
 * "60s", "8MiB") into *v in the parameter's unit and check the bounds. Errors:
 * E_CONFIG with "NAME must be ..." in why (at most why_cap bytes). */
MOMEDO_WUR int repl_param_parse(const struct repl_param *p, const char *text, uint64_t *v,
                                char *why, size_t why_cap);
/* The field of c; setting outside the bounds is E_BOUNDS and changes nothing. */
uint64_t repl_param_get(const struct repl_config *c, const struct repl_param *p);
MOMEDO_WUR int repl_param_set(struct repl_config *c, const struct repl_param *p, uint64_t v);
/* "a whole number of milliseconds from 1000 to 86400000 (suffix ms, s, m, h, d)", or
 * "one of scoped, flood". */
void repl_param_bounds_text(const struct repl_param *p, char *out, size_t cap);
/* 0 if every parameter of c is within its bounds, else E_INVAL (what repl_new checks). */
MOMEDO_WUR int repl_config_check(const struct repl_config *c);

/* ---- One-time prekey claims across nodes (scoped mode; docs/e2e.md) ---------- */

struct repl;
/* Claims this engine waits for; repl_claim_start answers E_BUSY beyond. */
#define REPL_CLAIMS_MAX 256u
#define REPL_CLAIM_NONCE_LEN 16u
#define REPL_CLAIM_REQUESTER_LEN 16u

/* One claim as the engine carries it; the engine checks lengths and routes, the node
 * signs and verifies (protocol/otpk.h). */
struct repl_claim {
  uint8_t node[OBJ_KEY_LEN];     /* start: the home node asked; ASKED: the asking node */
  uint64_t qid;                  /* ASKED: the asker's number, echoed by repl_claim_answer */
  uint8_t device_key[OBJ_KEY_LEN];
  uint8_t nonce[REPL_CLAIM_NONCE_LEN];
  uint8_t requester[REPL_CLAIM_REQUESTER_LEN];
  uint64_t created_ms;
  uint8_t sig[64];               /* start/ASKED: the asker's; answer/DONE: the home node's */
  uint32_t opk_id;               /* answer/DONE */
  uint8_t opk_key[32], opk_sig[64];
};

/* Send claim c (node = the device's home node, sig = this node's signature) along the
 * routes; *handle names it in the CLAIM_DONE action that ends it: at once with
 * E_AGAIN when there is no route to the home node (no traffic), else on its answer
 * or after lookup_timeout_ms (E_TIMEOUT). Errors (no action then): E_INVAL (own key,
 * flood mode), E_BUSY (REPL_CLAIMS_MAX in flight), E_NOMEM. */
MOMEDO_WUR int repl_claim_start(struct repl *r, const struct repl_claim *c, uint64_t now_ms,
                                uint64_t *handle);
/* Answer a CLAIM_ASKED: c is that action's claim with, for status 0, opk_* and sig (this
 * node's signature over the answer) filled in; status another MOMEDO_E_* code otherwise.
 * Routed back to c->node; no route: dropped (counted). */
MOMEDO_WUR int repl_claim_answer(struct repl *r, const struct repl_claim *c, int status,
                                 uint64_t now_ms);

/* ---- Actions (outputs) ----------------------------------------------------- */

enum repl_action_kind {
  REPL_ACT_NONE = 0,
  /* Send bytes (one encoded Momedo__ReplMsg) to peer_id, wrapped in a Frame's
   * `repl` field. bytes is malloc'ed; ownership passes to the caller (free()). */
  REPL_ACT_SEND = 1,
  /* Close the link to peer_id: it kept sending garbage. status is a MOMEDO_E_*
   * code, reason a NUL-terminated text for logs. The engine already treats the
   * peer as down; calling repl_peer_down afterwards is harmless. */
  REPL_ACT_DROP_PEER = 2,
  /* An object was newly stored (from a client or a neighbor): info describes it,
   * seq is its mailbox sequence number (0 if it has no mailbox). Fetch the bytes
   * with repl_get_object for live push; it may already be gone again. */
  REPL_ACT_STORED = 3,
  /* An object was removed (tombstoned, expired or superseded, or, role TRANSIT, handed
   * on to every destination it was held for; role CACHED: its cache time ran out):
   * info describes it. Only role DEST removals are mailbox events. */
  REPL_ACT_REMOVED = 4,
  /* A lookup started with repl_lookup_start ended: handle, status (0: found, and the
   * objects it fetched are now held, read them with repl_bundle_lookup_user_id /
   * repl_alias_lookup / repl_bundle_lookup; E_NOTFOUND: no node had it, or no answer
   * within lookup_timeout_ms), info (status 0: the key bundle found). */
  REPL_ACT_LOOKUP_DONE = 5,
  /* Another node asks this node for a one-time prekey of a device homed here
   * (repl_claim_start at that node): claim says who asked (node = the asking node, from
   * the Routed header: check claim->sig against it), for which device, with which nonce
   * and requester tag. The node decides (limits, signature, age, replay), takes the
   * prekey durably and answers with repl_claim_answer (or not at all: the asker times
   * out). claim is malloc'ed, the caller frees it. */
  REPL_ACT_CLAIM_ASKED = 6,
  /* A claim started with repl_claim_start ended: handle, status (0: claim holds the
   * home node's answer — opk_* and sig = its signature, not yet checked, the requesting
   * client checks it; E_NOTFOUND: none held there; E_AGAIN: no route to it; E_TIMEOUT: no
   * answer within lookup_timeout_ms; another code: the home node's refusal). claim is
   * malloc'ed when status is 0 (the caller frees it), else NULL. */
  REPL_ACT_CLAIM_DONE = 7,
};

struct repl_action {
  enum repl_action_kind kind;
  uint64_t peer_id;                   /* SEND, DROP_PEER */
  uint8_t *bytes;                     /* SEND: caller frees */
  size_t len;                         /* SEND */
  int status;                         /* DROP_PEER */
  char reason[REPL_REASON_BYTES_MAX]; /* DROP_PEER */
  uint64_t seq;                       /* STORED: mailbox sequence number or 0 */
  struct obj_info info;               /* STORED, REMOVED, LOOKUP_DONE */
  enum repl_role role;                /* STORED, REMOVED: why it is (was) held */
  uint64_t handle;                    /* LOOKUP_DONE, CLAIM_DONE */
  struct repl_claim *claim;           /* CLAIM_ASKED, CLAIM_DONE: caller frees */
};

/* ---- Statistics ------------------------------------------------------------ */

struct repl_peer_stats {
  uint64_t objects_pushed;    /* objects sent to the peer (eager push + recon) */
  uint64_t objects_received;  /* objects received, whatever became of them */
  uint64_t objects_stored;    /* received and newly stored */
  uint64_t objects_duplicate; /* received, already known (dedup) */
  uint64_t objects_dropped;   /* received, valid but tombstoned/superseded/expired */
  uint64_t objects_invalid;   /* received, refused by obj_check */
  uint64_t msgs_malformed;    /* messages that did not decode */
  uint64_t push_bytes_sent, push_bytes_recv;   /* ObjectPush messages */
  uint64_t recon_bytes_sent, recon_bytes_recv; /* Recon + ObjectWant messages */
  uint64_t recon_msgs_sent, recon_msgs_recv;
  uint64_t recon_rounds_started; /* rounds this node initiated with the peer */
  uint64_t recon_ids_offered;    /* IDs reconciliation found the peer lacks (pushed) */
  uint64_t recon_ids_wanted;     /* IDs reconciliation found we lack (asked for) */
  uint32_t recon_round_max;      /* deepest round number seen or sent */
  uint64_t withheld;          /* messages not generated because the queue was full */
  uint64_t queued_bytes;      /* SEND bytes not yet confirmed by repl_peer_sent */
  uint64_t grants_sent, grants_recv; /* objects granted in custody to / by the peer */
  uint64_t acks_sent, acks_recv;     /* object IDs acknowledged to / by the peer */
  uint64_t routed_sent, routed_recv, routed_dropped; /* lookup messages (rate, no route) */
  /* Budgets (struct repl_config, peer_ingest_* / peer_recon_*): messages of the peer not
   * processed, and the objects and bytes they carried; Recon/Want messages not answered;
   * pushes in answer cut short. */
  uint64_t ingest_refused_msgs, ingest_refused_objects, ingest_refused_bytes;
  uint64_t recon_refused_msgs, recon_push_cut;
  /* Objects of the peer not taken for their signer (unknown here, or over its budget):
   * not stored, not acknowledged, no strike (repl_config, signer_ingest_*). */
  uint64_t signer_deferred;
  /* node records pushed (object bytes), announced and pulled (message bytes) */
  uint64_t record_bytes_sent, record_bytes_recv;
  /* Lazy item push: ItemAnnounce, ItemGraft and ItemPrune message bytes; whether the
   * link is lazy now (1) or eager (0). */
  uint64_t lazy_bytes_sent, lazy_bytes_recv;
  uint32_t lazy_link;
};

struct repl_stats {
  uint64_t objects;                 /* live objects in the ID index */
  uint64_t objects_by_kind[6];      /* indexed by Momedo__ObjectKind (1..5) */
  uint64_t stored_local;            /* accepted through repl_insert_local */
  uint64_t stored_remote;           /* accepted from neighbors */
  uint64_t removed_tombstoned, removed_expired, removed_superseded;
  uint64_t dead_markers;            /* local "dead until" markers written (see repl_new) */
  uint64_t tombs_short;             /* tombstones for items not held, kept for
                                       REPL_TOMB_UNKNOWN_TTL_MS instead of their own life */
  uint64_t signer_unknown;          /* objects from neighbors not taken: unknown signer */
  uint64_t signer_over_budget;      /* ... not taken: over their signer's budget */
  uint64_t recon_rounds_started;    /* all peers */
  uint64_t recon_bytes_sent, recon_bytes_recv;
  uint64_t push_bytes_sent, push_bytes_recv;
  uint64_t peers_dropped;
  uint64_t next_seq;                /* next mailbox sequence number */
  /* Scoped delivery. objects = dest + transit + cached (objects_by_kind likewise;
   * node records are counted in records, not in objects). */
  uint64_t dest_objects, dest_bytes;       /* held as a destination (or global scope) */
  uint64_t transit_objects, transit_bytes; /* held only to pass on */
  uint64_t cached_objects, cached_bytes;   /* fetched by lookups */
  uint64_t pending_objects;         /* held objects with destinations still to hand on */
  uint64_t pending_dests;           /* (object, destination) pairs still to hand on */
  uint64_t transit_done;            /* transit objects deleted after the last ack */
  uint64_t grants_sent, grants_recv, grants_retried, acks_sent, acks_recv;
  uint64_t records;                 /* node records held (live) */
  uint64_t records_issued;          /* own records signed */
  uint64_t records_kept;            /* due, but the own record still said it all */
  uint64_t records_refused;         /* stale, replayed, forged, expired, future */
  uint64_t records_announced;       /* refs sent in RecordAnnounce (lazy push) */
  uint64_t records_pulled;          /* record IDs asked for in RecordPull */
  uint64_t record_pulls_failed;     /* pulls no announcer served (recon repairs them) */
  uint64_t record_bytes_sent, record_bytes_recv;
  uint64_t record_index_builds;     /* shared table: record index built for a round (repl_ridx.c) */
  uint64_t items_announced;         /* IDs sent in ItemAnnounce (lazy item push) */
  uint64_t items_grafted;           /* IDs asked for in ItemGraft */
  uint64_t item_grafts_failed;      /* announced, no announcer served (recon repairs) */
  uint64_t prunes_sent, prunes_recv; /* links made lazy by a duplicate / by the peer */
  uint64_t routes;                  /* nodes with a route (self excluded) */
  uint64_t route_full, route_incremental; /* full BFS runs; record refreshes with no search */
  uint64_t route_repairs;           /* searches done as an in-place repair of the table */
  uint64_t route_held;              /* route queries answered from a held (older) table */
  uint64_t lookups_started, lookups_found, lookups_notfound;
  uint64_t lookup_queries_sent, lookup_queries_answered; /* asked / answered by this node */
  uint64_t lookup_queries_unreachable; /* candidates this node could not reach, counted out
                                          at once (asked here or relayed) */
  uint64_t routed_dropped;          /* routed messages dropped (no route, hops, rate) */
  /* One-time prekey claims: started here (ended with a prekey / without), asked of this
   * node by others, answered by this node. */
  uint64_t claims_started, claims_found, claims_failed, claims_asked, claims_answered;
};

/* ---- Lifecycle --------------------------------------------------------------- */

struct repl;

/* Create an engine over store (borrowed; must outlive the engine) and load the
 * live-ID index from it. A store written by layout version 1 gets its lookup
 * indexes built from the stored objects once (then it is version 2). cfg is copied;
 * NULL = defaults. seed seeds the PRNG. Errors: E_INVAL (bad config), E_CORRUPT
 * (unreadable record), E_VERSION (a newer layout), E_STORE, E_NOMEM. */
MOMEDO_WUR int repl_new(const struct repl_config *cfg, struct store *store, uint64_t seed,
                        uint64_t now_ms, struct repl **out);
/* Free the engine, including undrained actions (SEND bytes too). NULL is fine.
 * Does not close the store. */
void repl_free(struct repl *r);

/* ---- Inputs ---------------------------------------------------------------- */

/* A link to neighbor peer_id (any caller-chosen number but 0, e.g. a config index + 1;
 * custody uses 0 for "granted to nobody") is
 * up; peer_key is the neighbor's node key (from TLS pinning). Schedules (or, with
 * recon_start_delay_ms_max = 0, starts) reconciliation rounds; in scoped mode the link
 * enters the own record and pending custody may move to the peer. Calling it for a
 * peer that is up resets that peer's state.
 * Errors: E_BUSY (REPL_PEERS_MAX peers up), E_INVAL (peer_id 0, or peer_key is the own
 * key), E_NOMEM. */
MOMEDO_WUR int repl_peer_up(struct repl *r, uint64_t peer_id,
                            const uint8_t peer_key[static OBJ_KEY_LEN], uint64_t now_ms);
/* The link is gone. Undrained SEND actions for the peer are discarded. Unknown
 * peers are ignored. */
void repl_peer_down(struct repl *r, uint64_t peer_id, uint64_t now_ms);

/* One message from peer: bytes/n is an encoded Momedo__ReplMsg (the node unwraps it
 * from the Frame). Objects are validated one by one; invalid ones are counted
 * and may lead to a DROP_PEER action. Returns 0, or a PROTO error if the message
 * itself is malformed or too big (already counted; the caller needs to do nothing
 * but drain actions), E_UNEXPECTED if the peer is not up, E_STORE/E_NOMEM. */
MOMEDO_WUR int repl_on_msg(struct repl *r, uint64_t peer_id, const uint8_t *bytes, size_t n,
                           uint64_t now_ms);

/* An object from one of this node's clients: kind + canonical bytes (borrowed).
 * Validated exactly like a neighbor's object and stored; flood mode pushes it to
 * every peer, scoped mode grants it toward its other destinations (or pushes it to
 * every peer when it is global scope). Once this returns 0 the object and its pending
 * destinations are durable.
 * On success fills *out (may be NULL) and returns 0. Errors: the obj_check
 * codes (E_DECODE, E_BADSIG, E_EXPIRED, ...), E_EXISTS (already stored),
 * E_DEAD (tombstoned item), E_SUPERSEDED (a newer key bundle is stored),
 * E_STORE, E_NOMEM. */
MOMEDO_WUR int repl_insert_local(struct repl *r, Momedo__ObjectKind kind, const uint8_t *data,
                                 size_t len, uint64_t now_ms, struct obj_info *out);

/* Like repl_insert_local, for bytes the caller has just put through obj_check itself
 * (ck: its result for exactly these bytes at now_ms), e.g. to see who signed them
 * before accepting them from a client: stored without being decoded or verified a
 * second time. Same results as repl_insert_local would give for those bytes
 * (E_EXISTS, E_DEAD, E_SUPERSEDED, E_STORE, E_NOMEM). */
MOMEDO_WUR int repl_insert_checked(struct repl *r, const struct obj_checked *ck,
                                   const uint8_t *data, size_t len, uint64_t now_ms,
                                   struct obj_info *out);

/* The node has written (or discarded) `bytes` of SEND payload for peer_id.
 * Unconfirmed bytes count against peer_queue_bytes_max. Traffic that was
 * withheld while the queue was full is not lost: once the queue has drained to
 * half the maximum, a reconciliation round is scheduled and repairs it. */
void repl_peer_sent(struct repl *r, uint64_t peer_id, uint64_t bytes, uint64_t now_ms);

/* Timers: expiry GC (bounded work per call), periodic anti-entropy per peer.
 * Call at or after repl_next_deadline(). Errors: E_STORE, E_NOMEM. */
MOMEDO_WUR int repl_tick(struct repl *r, uint64_t now_ms);
/* Earliest time (ms) at which repl_tick has work; UINT64_MAX if none. */
uint64_t repl_next_deadline(const struct repl *r);

/* ---- Lookups (scoped mode: routed to the nodes whose summary matches) -------- */

enum repl_lookup_kind {
  REPL_LOOKUP_USER_ID = 1,  /* user_id: the 100 bits of a parsed user ID */
  REPL_LOOKUP_ALIAS = 2,    /* alias: canonical alias string */
  REPL_LOOKUP_IDENTITY = 3, /* identity_key */
};

struct repl_lookup_req {
  enum repl_lookup_kind kind;
  uint8_t user_id[IDS_USER_ID_BYTES];
  char alias[OBJ_ALIAS_CHARS_MAX + 1];
  uint8_t identity_key[OBJ_KEY_LEN];
  /* Node keys to ask first (the user's home nodes from a contact card); 0 = ask the
   * nodes whose record's user summary matches, nearest first. */
  uint32_t n_hints;
  uint8_t hints[REPL_LOOKUP_HINTS_MAX][OBJ_KEY_LEN];
};

/* Start finding a key bundle (and for an alias, the alias object). *handle names it in
 * the REPL_ACT_LOOKUP_DONE action that ends it: at once if this node holds the answer
 * (or, in flood mode, does not: every node holds everything there), at once with
 * E_NOTFOUND when no node can be asked (no hint with a route, no summary matches: no
 * traffic at all), else after the first answer found, after every candidate said no,
 * or after lookup_timeout_ms. Errors (no action then): E_INVAL (bad request), E_BUSY
 * (REPL_LOOKUPS_MAX in flight), E_STORE, E_NOMEM. */
MOMEDO_WUR int repl_lookup_start(struct repl *r, const struct repl_lookup_req *q,
                                 uint64_t now_ms, uint64_t *handle);

/* ---- Routes and node records (scoped mode) ------------------------------------ */

/* The neighbor this node would hand an object for node `key` to at now_ms: *peer_id and
 * the path length in hops (1 = key is that neighbor). A down peer is never returned.
 * Recomputes routes first if they are stale. E_NOTFOUND: no route (unknown node, no
 * live mutual path, own key, flood mode); E_NOMEM. */
MOMEDO_WUR int repl_route(struct repl *r, const uint8_t key[static OBJ_KEY_LEN],
                          uint64_t now_ms, uint64_t *peer_id, uint32_t *hops);

/* One node this engine knows a live record of (itself included, hops 0). */
struct repl_node_info {
  uint8_t key[OBJ_KEY_LEN];
  char name[REPL_NAME_CHARS_MAX + 1];
  uint64_t seq, created_ms, expires_ms;
  uint32_t n_neighbors;         /* links its record lists */
  uint32_t hops;                /* 0 = this node; UINT32_MAX = no route */
  int has_next, has_alt;        /* next hop, and an equal-cost alternative through another peer */
  uint64_t next_peer, alt_peer; /* peer IDs */
};
/* Called per node in node-key order; return nonzero to stop (repl_nodes returns it). */
typedef int (*repl_node_fn)(void *ctx, const struct repl_node_info *n);
/* Walk the known nodes (recomputing routes first if stale). Returns 0, fn's nonzero
 * value, or E_NOMEM. */
MOMEDO_WUR int repl_nodes(struct repl *r, uint64_t now_ms, repl_node_fn fn, void *ctx);

/* For simulators only: take every newest live record known to the shared table as if
 * it had arrived from a neighbor (without pushing it on), so a simulated federation can
 * start with converged routes instead of flooding N records to N nodes. Returns the
 * number of records taken (>= 0) or E_NOMEM. */
MOMEDO_WUR int repl_records_adopt(struct repl *r, uint64_t now_ms);

/* ---- Outputs ---------------------------------------------------------------- */

/* Take the next action: returns 1 and fills *a, or 0 when the queue is empty.
 * Drain after every input call. */
int repl_next_action(struct repl *r, struct repl_action *a);

/* ---- Queries (for the node) ---------------------------------------------- */

/* Object by ID. On success *data is malloc'ed (caller frees), *len its length,
 * *info (may be NULL) its description, and 0 is returned. E_NOTFOUND if absent
 * or expired at now_ms. */
MOMEDO_WUR int repl_get_object(struct repl *r, const uint8_t id[static OBJ_ID_LEN],
                               uint64_t now_ms, struct obj_info *info, uint8_t **data,
                               size_t *len);

/* Newest key bundle of an identity key, same conventions as repl_get_object. */
MOMEDO_WUR int repl_bundle_lookup(struct repl *r, const uint8_t identity_key[static OBJ_KEY_LEN],
                                  struct obj_info *info, uint8_t **data, size_t *len);

/* Newest key bundle of the identity whose user ID has these 100 bits (as
 * ids_user_id_parse returns them), same conventions as repl_get_object. The index
 * is written in the same atomic batch as the bundle. Should two identity keys ever
 * share the 100 bits, the one with the smaller key is returned (clients check the
 * full ID against the bundle's key anyway). E_NOTFOUND if none. */
MOMEDO_WUR int repl_bundle_lookup_user_id(struct repl *r,
                                          const uint8_t bits[static IDS_USER_ID_BYTES],
                                          struct obj_info *info, uint8_t **data,
                                          size_t *len);

/* The alias object an alias string (canonical spelling, as obj_validate accepts it)
 * resolves to at now_ms: the string belongs to the identity holding its oldest live
 * alias object (smallest created_ms, then smallest object ID; the engine removes
 * newer colliding objects of other identities, see docs/replication.md), and of that
 * identity's objects the newest is returned. Same conventions as repl_get_object;
 * E_NOTFOUND if none (also for a string that is not an alias). Whether the issuing
 * node may speak for the user (bundle home_nodes) is the caller's check. */
MOMEDO_WUR int repl_alias_lookup(struct repl *r, const char *alias, uint64_t now_ms,
                                 struct obj_info *info, uint8_t **data, size_t *len);
/* The newest live alias object of identity_key whose string the identity owns (as
 * repl_alias_lookup decides). Same conventions; E_NOTFOUND if none. */
MOMEDO_WUR int repl_alias_of(struct repl *r, const uint8_t identity_key[static OBJ_KEY_LEN],
                             uint64_t now_ms, struct obj_info *info, uint8_t **data,
                             size_t *len);
/* 1 if mailbox is the device mailbox of a device listed in some stored key bundle
 * (ever, for this store), 0 if not, or E_STORE. */
MOMEDO_WUR int repl_is_device_mailbox(struct repl *r,
                                      const uint8_t mailbox[static OBJ_MAILBOX_LEN]);

/* Called per mailbox object: seq (the node-local arrival number, the client's
 * cursor), info and bytes (valid only during the call). Return 0 to go on,
 * anything else to stop. */
typedef int (*repl_mailbox_fn)(void *ctx, uint64_t seq, const struct obj_info *info,
                               const uint8_t *data, size_t len);
/* Items and chunks of mailbox with seq >= from_seq, ascending, at most limit of
 * them, skipping removed or (at now_ms) expired ones. Returns the number of
 * objects passed to fn (>= 0), or E_STORE/E_CORRUPT/E_NOMEM. */
MOMEDO_WUR int repl_mailbox_fetch(struct repl *r, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                  uint64_t from_seq, uint32_t limit, uint64_t now_ms,
                                  repl_mailbox_fn fn, void *ctx);
/* Live items+chunks in a mailbox and their total bytes (for quotas). */
MOMEDO_WUR int repl_mailbox_count(struct repl *r, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                  uint64_t *items, uint64_t *bytes);

void repl_stats(const struct repl *r, struct repl_stats *s);
/* E_NOTFOUND if the peer is not up. */
MOMEDO_WUR int repl_peer_stats(const struct repl *r, uint64_t peer_id,
                               struct repl_peer_stats *s);

/* Is this object held here (any role; node records are not objects here)? For checkers. */
int repl_has(const struct repl *r, const uint8_t id[static OBJ_ID_LEN]);
/* Role of a held object: REPL_ROLE_* (>= 0), or E_NOTFOUND. */
MOMEDO_WUR int repl_role_of(struct repl *r, const uint8_t id[static OBJ_ID_LEN]);
/* Number of held objects (every role). */
uint64_t repl_count(const struct repl *r);
/* Fingerprint of the whole held set (16 bytes): equal sets <=> equal
 * fingerprints (up to hash collisions). Lets a simulator check convergence cheaply. */
void repl_fingerprint(const struct repl *r, uint8_t fp[static 16]);

#endif
