/* node/node_int.h — private state of momedod shared by its files: the node (loop,
 * store, replication engine, listener, timers), connections (one per link, client or
 * neighbor), configured neighbors (peers), the admin socket and node-local records.
 * Only the node's own .c files include this. Node-local store keys all start with NODE_K_PREFIX ('N');
 * replication owns the lower-case prefixes. */
#ifndef MOMEDO_NODE_INT_H
#define MOMEDO_NODE_INT_H

#include <stdint.h>
#include <uv.h>

#include "arena.h"
#include "client.pb-c.h"
#include "config.h"
#include "frame.h"
#include "identity.h"
#include "link.h"
#include "obj.h"
#include "os.h" /* os_wall_ms under node__now_ms */
#include "rate_keyed.h"
#include "reason.h"
#include "repl.h"
#include "store.h"
#include "tls.h"

#define NODE_VERSION FRAME_SOFTWARE
#define NODE_K_PREFIX 'N'
#define NODE_K_DEVICE 'd'   /* 'N' 'd' device_key(32) -> identity_key(32) registered_ms(be64) */
#define NODE_DEVICE_REC_LEN (OBJ_KEY_LEN + 8)
#define NODE_K_INVITE 'i'   /* 'N' 'i' sha256(token)(32) -> uses_left(be32) expires_ms(be64) */
#define NODE_K_DEVMBOX 'm'  /* 'N' 'm' mailbox(32) -> "" : mailbox of a device registered
                               here (with the registration); bundles' devices: repl */
#define NODE_K_PEERKEY 'k'  /* 'N' 'k' fingerprint(32) -> node_key(32): a neighbor's key as
                               its TLS showed it, so partners are named right after a
                               restart; only used while that fingerprint is a neighbor */
#define NODE_K_WRITELOCK 'w' /* 'N' 'w' mailbox(32) -> write_key(32) last_used_ms(be64): the
                               mailbox takes posts only with that key's signature
                               (mbox_guard.c); dropped an item lifetime after last use */
#define NODE_K_OTPK 'o'     /* 'N' 'o' device_key(32) id(be32) -> key(32) sig(64): one-time
                               prekeys this node hands out (prekeys.c); never replicated */
#define NODE_K_COUNTER 'c'  /* 'N' 'c' device_key(32) -> be64: the highest vault save count
                               the device reported (prekeys.c; anti-rollback) */
#define NODE_K_QUIET 'q'    /* 'N' 'q' identity_key(32) -> "DAYS HOURS TZ": a user's own
                               quiet hours (hours_quiet.c) */
#define NODE_K_REMOVED 'r'  /* 'N' 'r' device_key(32) -> removed_ms(be64): removed by the
                               admin (with the device record's delete); never admitted again */
/* Written by earlier versions after the object was stored (lookup indexes now live in
 * replication's own layout, written in the object's batch); deleted at start-up. */
#define NODE_K_LEGACY_USERID 'u'
#define NODE_K_LEGACY_ALIAS 'a'
#define NODE_K_LEGACY_ALIAS_OF 'A'
#define NODE_DEVICE_REMOVED_WHY "device was removed by the node's admin"
#define NODE_LEGACY_DROP_BATCH 4096u

#define NODE_HELLO_TIMEOUT_MS 15000     /* TLS up but no Hello: closed */
#define NODE_SWEEP_INTERVAL_MS 5000     /* hello timeouts */
#define NODE_REPL_TICK_MAX_MS 10000     /* longest wait between calls into the engine */
#define NODE_BUDGET_LOG_MS 60000        /* a neighbor over its budget: one log line per */
#define NODE_ARENA_BYTES_MAX (4u * FRAME_BYTES_MAX_LIMIT) /* one unpacked frame */
#define NODE_SUBS_MAX 64                /* mailboxes one client may subscribe to */
#define NODE_LOOKUPS_PENDING_MAX 256    /* client lookups out at once (< REPL_LOOKUPS_MAX) */
#define NODE_DEFERRED 1                 /* a client handler answers later (lookup.c) */
/* Group commit (commit.c): posts stored since the last sync, answered after the next. */
#define NODE_COMMIT_POSTS_MAX 512       /* posts waiting for one sync, at most */
#define NODE_COMMIT_BYTES_MAX (4u * 1024 * 1024) /* their object bytes, at most */
#define NODE_POOL_THREADS_MAX 3         /* signature threads beside the loop (pool.c) */
#define NODE_POOL_BATCH_MIN 4           /* smaller batches stay on the loop thread */
#define NODE_SUB_BUCKETS 4096           /* subscription hash table */
#define NODE_FETCH_LIMIT_MAX 500        /* objects per FetchResp */
#define NODE_FETCH_LIMIT_DEFAULT 100
#define NODE_RESP_MARGIN_BYTES 4096     /* room for framing around fetched objects */
/* Per-device limits a minute (rates.c): tables keyed exactly, sized from clients_max. */
#define NODE_RATE_SLOTS_PER_CLIENT 4    /* slots per client at least: a table a quarter full */
#define NODE_RATE_SLOTS_MIN 4096u
#define NODE_RATE_SLOTS_MAX (1u << 21)
#define NODE_OTPK_CLAIMS_PER_MINUTE 20  /* one-time prekeys one device may claim a minute */
/* Claims across nodes (otpk_remote.c). Home side, per asking node: */
#define NODE_OTPK_REMOTE_SLOTS 1024            /* hashed (salted) buckets per limit */
#define NODE_OTPK_REMOTE_PER_NODE_MINUTE 120   /* claims of all devices a minute */
#define NODE_OTPK_REMOTE_PER_DEVICE_HOUR 8     /* claims of one device an hour */
#define NODE_OTPK_REMOTE_PER_REQUESTER_HOUR 2  /* ... by one requesting device of that node */
#define NODE_OTPK_REMOTE_DEVICE_HOUR 50        /* claims of one device by all other nodes an hour */
#define NODE_OTPK_CLAIM_SKEW_MS 60000u         /* a claim's created_ms within +-this of now */
#define NODE_OTPK_SEEN_MAX 4096                /* claims remembered against replay */
#define NODE_CLAIMS_PENDING_MAX 128            /* asking side: claims out at once (< REPL_CLAIMS_MAX) */
#define NODE_POSTER_SLOTS (1u << 18)    /* per (shared mailbox, device) quota counters, hashed */
#define NODE_GUARD_SWEEP_BATCH 4096u    /* unused mailbox locks dropped per sweep */
/* Unauthenticated link requests (client_link.c): size, per connection, per node and
 * minute, per link mailbox, and how long they are kept. */
#define NODE_LINK_REQUEST_BYTES_MAX 1024
#define NODE_LINK_POSTS_PER_CONN 4
#define NODE_LINK_POSTS_PER_MINUTE 120
#define NODE_LINK_ITEMS_MAX 16
#define NODE_LINK_TTL_MS (15ull * 60 * 1000)
#define NODE_INVITE_TOKEN_BYTES 16
#define NODE_INVITE_USES_MAX 100000u
#define NODE_INVITE_TTL_S_DEFAULT (7u * 24 * 3600)
#define NODE_INVITE_TTL_S_MAX (365u * 24 * 3600)
#define NODE_INVITE_CODE_MAX 256 /* >= INVITE_STR_MAX of protocol/invite.h */
#define NODE_INVITE_ID_BYTES 8   /* of the token's hash: an invite's ID for the admin */
#define NODE_ALIAS_CHARS 8              /* 40 random bits */
#define NODE_ALIAS_TTL_MS OBJ_TTL_MS_MAX
#define NODE_ALIAS_TRIES_MAX 8
#define NODE_ADMIN_CONNS_MAX 16
#define NODE_ADMIN_FRAME_BYTES_MAX (64u * 1024)
#define NODE_PARTICIPANTS_MAX 100000    /* listed by `participants` */
#define NODE_ADMIN_NODES_MAX 256        /* known nodes listed by `nodes` (one admin frame) */
#define NODE_METRICS_SNAPSHOT_MS 1000  /* the loop publishes metrics this often */
#define NODE_METRICS_CONNS_MAX 8        /* scrapers at once */
#define NODE_METRICS_TIMEOUT_S 10       /* an idle scraper's connection is closed */
#define NODE_METRICS_CONN_BYTES (32u * 1024) /* memory per scrape connection */
#define NODE_METRICS_REASONS_MAX 16     /* distinct refusal statuses counted by name */
/* A neighbor's Hello clock this far from ours is logged (half the objects' skew bound). */
#define NODE_CLOCK_SKEW_WARN_MS (OBJ_CLOCK_SKEW_MS_MAX / 2)
/* A neighbor that keeps failing: the first failure of a run is a warning, then one
 * summary warning at most this often, debug lines for the rest. */
#define NODE_UNREACHABLE_SUMMARY_MS (10u * 60 * 1000)

struct node;
struct peer;
struct node_lookup;
struct node_claim;
struct node_otpk_remote;

/* Consecutive failed attempts to reach one neighbor, for logging. */
struct node_failcount {
  unsigned n;          /* failures since the neighbor was last up */
  uint64_t warned_ms;  /* when the last warning about them was logged */
};

enum node_fail_say {
  NODE_FAIL_FIRST = 0,   /* warn: "neighbor X unreachable: reason" */
  NODE_FAIL_SUMMARY = 1, /* warn: "neighbor X still unreachable after N attempts: reason" */
  NODE_FAIL_QUIET = 2,   /* debug */
};

/* Count one failure at now_ms and say how to log it (pure, for tests). */
enum node_fail_say node__fail_note(struct node_failcount *f, uint64_t now_ms);

enum conn_role { CONN_NEW = 0, CONN_CLIENT, CONN_NEIGHBOR };

/* A queued frame for a link whose output is full. */
struct pend {
  struct pend *next;
  size_t len;         /* frame bytes */
  size_t payload;     /* repl bytes to confirm with repl_peer_sent once written */
  uint8_t data[];
};

struct sub;

struct conn {
  struct node *n;
  struct link *l;
  struct conn *prev, *next;     /* node's list of all connections */
  enum conn_role role;
  int outbound;                 /* we dialed it (neighbor links only) */
  int closing;                  /* link_close called */
  struct peer *peer;            /* neighbor slot; NULL for clients or after removal */
  uint8_t peer_key[NODE_KEY_LEN];
  int has_peer_key;
  uint64_t created_ms, up_ms;
  size_t send_max;              /* largest frame body we send: min(ours, the peer's Hello) */
  uint64_t bytes_in, bytes_out;
  /* client */
  int authed;
  uint8_t device_key[OBJ_KEY_LEN];
  uint8_t identity_key[OBJ_KEY_LEN];
  uint8_t mailbox[OBJ_MAILBOX_LEN];  /* the device's own mailbox */
  int challenge_set;
  uint8_t challenge[32];
  uint8_t challenge_key[OBJ_KEY_LEN];
  struct sub *subs[NODE_SUBS_MAX];
  size_t n_subs;
  unsigned link_posts;          /* unauthenticated link requests on this connection */
  uint8_t *held;                /* response that met a full link; reading is paused */
  size_t held_len;
  uint64_t events_skipped;
  unsigned lookups;             /* lookups of this client in progress (reading paused) */
  unsigned commit_waiting;      /* its posts waiting for the group's sync (commit.c) */
  int corked;                   /* commit.c: its link corked while the group answers */
  uint64_t hours_gen;           /* hours.c: policy generation + 1 of hours_policy; 0 none */
  int hours_policy;             /* index of its user's policy, -1 none */
};

struct peer {
  struct node *n;
  struct peer *next;
  struct node_neighbor cfg;
  uint64_t id;                  /* repl peer id, unique per node run */
  struct conn *active;          /* carries replication */
  struct conn *dialing;         /* outbound attempt in progress */
  uv_timer_t timer;             /* redial */
  int timer_open;
  unsigned attempts;
  struct node_failcount fails;
  int removed;
  char state[16];               /* "up", "connecting", "down", "refused" */
  char last_error[FRAME_REASON_BYTES_MAX];
  uint64_t state_since_ms;
  uint8_t key[NODE_KEY_LEN];    /* learned from TLS once seen */
  int key_known;
  uint64_t bytes_in, bytes_out;
  uint64_t objects_in, objects_out; /* over the links that went down (metrics) */
  /* The neighbor's messages refused for the engine's budgets (peer_ingest_*,
   * peer_recon_*), over the links that went down, and for the once-a-minute log line. */
  uint64_t ingest_refused, recon_refused;
  uint64_t budget_logged_ms, budget_logged_total;
  uint64_t last_seen_ms;        /* wall clock of its last frame; 0 never */
  struct pend *q_head, *q_tail; /* frames waiting for the active link */
  size_t q_bytes;
};

struct sub {
  struct sub *next;             /* bucket chain */
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  struct conn *c;
  uint64_t *held;               /* hours.c: seqs of pushes held outside working hours */
  uint32_t n_held, cap_held;
  int held_overflow;            /* more held than NODE_HOURS_HELD_MAX */
};

/* Counts the loop keeps for metrics; copied into every metrics snapshot. */
struct node_counters {
  uint64_t posts_accepted;
  struct {
    int status;
    uint64_t n;
  } refused[NODE_METRICS_REASONS_MAX]; /* posts refused, by status */
  size_t n_refused;
  uint64_t refused_other;              /* statuses beyond NODE_METRICS_REASONS_MAX */
  uint64_t acks_unknown;   /* tombstones for items not held here: not stored */
  uint64_t acks_rated;     /* tombstones refused for device_acks_per_minute */
  uint64_t publishes_rated; /* bundles refused for device_publishes_per_minute */
  uint64_t partner_refused; /* devices refused: no valid partner grant for this node */
};

struct node_metrics;
struct node_hours;

/* What a device may do a minute (rates.c), each counted in a table of its own. */
enum node_rate_kind {
  NODE_RATE_POSTS = 0,     /* device_posts_per_minute */
  NODE_RATE_ACKS,          /* device_acks_per_minute (tombstones) */
  NODE_RATE_PUBLISHES,     /* device_publishes_per_minute (key bundles) */
  NODE_RATE_CLAIMS,        /* NODE_OTPK_CLAIMS_PER_MINUTE (one-time prekeys) */
  NODE_RATE_KINDS
};

struct node_rates {
  uint8_t salt[32];              /* keys the hash that picks a device's slot and tag */
  size_t slots;                  /* per kind */
  struct rate_keyed_slot *tab;   /* NODE_RATE_KINDS tables of `slots`, one allocation */
};

struct node {
  uv_loop_t *loop;
  char dir[NODE_PATH_BYTES_MAX];
  struct node_config cfg;        /* in effect (clients_max fitted to the open-file limit) */
  struct node_config cfg_file;   /* as momedo.conf said at the last (re)load */
  struct node_config cfg_start;  /* as momedo.conf said at start (what needs a restart) */
  struct node_neighbors nbs;
  struct node_identity id;
  char fingerprint[IDS_NODE_FP_STR_MAX];
  struct store *store;
  struct store *rocks;          /* the same RocksDB store, unwrapped by test hooks */
  struct repl *repl;
  struct node_commit *commit;   /* commit.c: posts waiting for the group's sync */
  struct node_pool *pool;       /* pool.c: signature threads */
  struct ack_batch *ack_batch;  /* client_mbox.c: an ack's checked tombstones, made once */
  struct crypto_signer *signer[NODE_POOL_THREADS_MAX + 1]; /* the node key, per thread
                                                             (0: the loop's) */
  int sync_owed;                /* neighbor objects written with the sync deferred (peers.c):
                                   node__drain syncs before anything leaves */
  struct tls_ctx *tls_server, *tls_client;
  struct link_config link_cfg;
  struct link_listener *listener;
  uv_timer_t repl_timer, sweep_timer;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_pipe_t admin;
  int admin_open;
  unsigned admin_conns;
  struct conn *conns;
  struct peer *peers;
  uint64_t next_peer_id;
  struct sub *subs[NODE_SUB_BUCKETS];
  struct node_rates rates;      /* rates.c: per-device limits */
  struct node_guard *guard;     /* per-poster quotas (mbox_guard.c), made on first use */
  uint64_t link_window_start_ms; /* client_link.c: node-wide link request budget */
  unsigned link_posts;
  struct arena arena;           /* one unpacked frame at a time, reset after dispatch */
  uint64_t start_ms;
  uint32_t clients;
  int stopping;
  int exit_code;
  uint64_t bytes_in, bytes_out;
  uint64_t peers_refused, objects_invalid_local;
  uint64_t global_posts;        /* posts from clients without dest_nodes (global scope) */
  struct node_lookup *lookups;  /* client lookups the engine is working on */
  uint32_t lookups_pending;
  struct node_claim *claims;    /* otpk_remote.c: client claims sent to other nodes */
  uint32_t claims_pending;
  struct node_otpk_remote *otpk_remote; /* otpk_remote.c: home-side limits, made on first use */
  int dir_lock_fd; /* DIR/NODE_PID_FILE, locked while we run; -1 before */
  struct node_counters counters;
  struct node_metrics *metrics;  /* metrics.c; NULL when metrics_listen is not set */
  uv_timer_t metrics_timer;
  int metrics_timer_open;
  struct admin_conn *admin_current; /* the connection whose request is being handled */
  int backup_running;
  uint64_t disk_reserve_bytes;  /* the store's free-space reserve (store_rocks_opts) */
  uint64_t diskfull_logged_ms;  /* last "disk full" warning (at most one a minute) */
  struct node_hours *hours;     /* hours.c: working-hours policies and held pushes */
};

/* The two-byte head of a node-local store key: NODE_K_PREFIX, tag. */
static inline void node__key_tag(uint8_t k[static 2], char tag) {
  k[0] = NODE_K_PREFIX;
  k[1] = (uint8_t)tag;
}

/* Call fn for each node-local record under tag, in key order (store_iter's result). */
static inline int node__iter_tag(struct node *n, char tag, store_iter_fn fn, void *ctx) {
  uint8_t lo[2], hi[2];
  node__key_tag(lo, tag);
  node__key_tag(hi, (char)(tag + 1));
  return store_iter(n->store, lo, 2, hi, 2, fn, ctx);
}

/* Wall clock in ms since the epoch (objects carry absolute times): os_wall_ms plus the
 * test clock offset, if a test set one (node.c). */
uint64_t node__now_ms(void);
void node__set_state(struct peer *p, const char *state, const char *err);

/* node.c: node_run's start and end, for a harness that runs the loop itself
 * (tests/inproc/node_harness.c). node__start makes the node for dir on loop and starts
 * it as node_run does (settings, lock, store, engine, listener, admin socket, neighbors,
 * signal handlers); on failure (logged) nothing is left to free. node__finish stops it
 * (why: for the log), runs loop until every handle it had is closed, and frees it. */
MOMEDO_WUR int node__start(const char *dir, uv_loop_t *loop, struct node **out);
void node__finish(struct node *n, const char *why);

/* node.c: fit clients_max to the open-file limit (at start and when a reload changes it) */
void node__fit_nofile(struct node *n);

/* service.c: sd_notify(state) when a service manager listens ($NOTIFY_SOCKET), and the
 * SIGHUP reload (log, momedo.conf, neighbors.conf). */
void node__notify(const char *state);
/* Reload (SIGHUP, or the admin's ReloadReq): summary (may be NULL) gets one sentence of
 * what changed now and what waits for a restart; 0, or the status of a file that could
 * not be read (then nothing of it changed). */
int node__reload(struct node *n, char *summary, size_t cap);

/* metrics.c: Prometheus metrics on cfg.metrics_listen (a thread of libmicrohttpd that
 * reads a snapshot the loop publishes). start: nothing when not configured; stop
 * (close_timer: at shutdown); reconfigure: a reload changed metrics_listen. */
MOMEDO_WUR int node__metrics_start(struct node *n);
void node__metrics_stop(struct node *n, int close_timer);
void node__metrics_reconfigure(struct node *n, const struct node_config *c);
/* Count a client post that ended with status (0: stored and acknowledged). */
void node__count_post(struct node *n, int status);

/* node.c: a write the store refused for a full disk (E_DISKFULL): the client's reason,
 * naming the free space and what it needs, and one warning a minute in the log. */
#define NODE_DISKFULL_LOG_MS 60000u
void node__diskfull(struct node *n, size_t need_bytes, char *why, size_t why_cap);

/* node.c: replication glue */
/* The node's name as its node record spells it ([a-z0-9.-]: lower case, '_' as '-'). */
void node__record_name(char out[static REPL_NAME_CHARS_MAX + 1], const char *name);
void node__drain(struct node *n);
/* Encode and send; E_AGAIN when the link is full (nothing queued). */
MOMEDO_WUR int node__send_frame(struct conn *c, const Momedo__Frame *f);
void node__count_out(struct conn *c, size_t len);
void node__conn_close(struct conn *c, int status, const char *reason);

/* peers.c */
/* What Hello says for the engine's scope (REPL_SCOPE_*). */
Momedo__DeliveryMode node__delivery(uint32_t scope);
MOMEDO_WUR int node__peers_start(struct node *n);
void node__peers_stop(struct node *n);
MOMEDO_WUR int node__peer_add(struct node *n, const struct node_neighbor *cfg, char *why,
                              size_t why_cap);
MOMEDO_WUR int node__peer_remove(struct node *n, const char *name);
struct peer *node__peer_by_id(struct node *n, uint64_t id);
void node__peer_send(struct peer *p, uint8_t *bytes, size_t len);
void node__peer_drop(struct peer *p, int status, const char *reason);
MOMEDO_WUR int node__listen(struct node *n);
/* Shared link callbacks for every connection (inbound and outbound). */
extern const struct link_callbacks node__link_cbs;

/* commit.c: group commit of client posts. A checked post waits here, encoded with its
 * node signature still blank; once per loop iteration (a uv_check handle, after all
 * input of the iteration was read), or when NODE_COMMIT_POSTS_MAX/BYTES_MAX are
 * reached, the group is signed on the pool (pool.c), stored in arrival order with the
 * sync deferred, made durable by one sync, and every post of it is answered in arrival
 * order (so in order per connection). start: E_NOMEM; stop: signs, stores, syncs and
 * answers what waits, then closes the handle. */
MOMEDO_WUR int node__commit_start(struct node *n);
void node__commit_stop(struct node *n);
/* The post waiting to be signed and stored, taken by node__commit_add (its buffers
 * become the group's). */
struct node_post {
  Momedo__ObjectKind kind;
  uint8_t *data;                /* the object, its last OBJ_SIG_LEN bytes the signature */
  size_t len;
  uint8_t *tbs;                 /* what the node signs (obj_sign_encode_with's message) */
  size_t tbs_len;
  uint64_t now_ms;
  uint8_t mailbox[OBJ_MAILBOX_LEN];
};
/* Queue a post (deliver_from_ms/off_min: PostResp's working-hours notice, 0 for none). */
void node__commit_add(struct conn *c, uint64_t request_id, struct node_post *p,
                      uint64_t deliver_from_ms, int32_t off_min);
/* Posts to mailbox waiting in the group: the mailbox quota counts them as stored. */
void node__commit_pending(const struct node *n, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                          uint64_t *items, uint64_t *bytes);
/* Sync and answer now (before anything else is answered to a connection that waits). */
void node__commit_flush(struct node *n);

/* pool.c: fn(ctx, i, worker) for i in [0, count) on the loop thread and the pool's
 * threads, returning when all are done; worker 0 is the loop thread, worker w uses
 * n->signer[w]. fn must not touch the loop, the engine or the store. */
void node__ack_batch_free(struct node *n);
typedef void (*node_pool_fn)(void *ctx, size_t i, unsigned worker);
MOMEDO_WUR int node__pool_start(struct node *n);
void node__pool_free(struct node *n);
void node__pool_run(struct node *n, node_pool_fn fn, void *ctx, size_t count);
unsigned node__pool_threads(const struct node *n);
/* An obj_sign_fn (ctx = the node): the node key's signature on the loop thread. */
MOMEDO_WUR int node__sign(void *ctx, const uint8_t *msg, size_t len,
                          uint8_t sig[static OBJ_SIG_LEN]);
/* The connection is going away: its waiting answers are dropped (the posts stay). */
void node__commit_conn_gone(struct conn *c);

/* client_srv.c: dispatch, registration, auth, bundles, aliases */
void node__client_frame(struct conn *c, Momedo__Frame *f);
void node__client_writable(struct conn *c);
/* Send one response (held, reading paused, when the link is full). */
void node__client_respond(struct conn *c, const Momedo__ClientResponse *rs);
/* Copy malloc'ed bytes into arena memory as an Object of kind (frees data; NULL data or
 * out of memory: NULL). */
Momedo__Object *node__arena_object(struct arena *a, Momedo__ObjectKind kind, uint8_t *data,
                                   size_t len);
/* lookup.c: LookupReq, answered at once or when the engine's lookup ends */
int node__c_lookup(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                   char *why, size_t why_cap);
void node__lookup_done(struct node *n, const struct repl_action *a);
void node__lookups_conn_gone(struct conn *c);
/* The answer to a deferred request of c (a lookup, a claim across nodes): rs, or for
 * rc != 0 an error with why (or the status text); then reading from c resumes when
 * nothing else holds it. */
void node__deferred_respond(struct conn *c, Momedo__ClientResponse *rs, int rc, char *why);
void node__lookups_free(struct node *n);
/* otpk_remote.c: one-time prekey claims across nodes. The asking side (a PrekeyClaimReq
 * naming another home node: NODE_DEFERRED or an error with why), its CLAIM_DONE, the
 * home side's CLAIM_ASKED (answered or dropped; frees a->claim), cleanup. */
int node__c_claim_remote(struct conn *c, const Momedo__ClientRequest *rq, char *why,
                         size_t why_cap);
void node__claim_done(struct node *n, const struct repl_action *a);
void node__claim_asked(struct node *n, const struct repl_action *a);
void node__claims_conn_gone(struct conn *c);
void node__claims_free(struct node *n);
/* prekeys.c: take device's lowest one-time prekey out of the store (synced delete):
 * 0 with *out and how many are left, E_NOTFOUND if none, a store error. */
struct otpk_pub;
MOMEDO_WUR int node__otpk_take(struct node *n, const uint8_t device[static 32],
                               struct otpk_pub *out, uint32_t *left);
/* client_mbox.c: mailboxes (post, fetch, ack, subscribe, live push) */
typedef int (*node_client_fn)(struct conn *c, const Momedo__ClientRequest *rq,
                              Momedo__ClientResponse *rs, char *why, size_t why_cap);
int node__c_post(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                 char *why, size_t why_cap);
int node__c_fetch(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                  char *why, size_t why_cap);
int node__c_fetch_blob(struct conn *c, const Momedo__ClientRequest *rq,
                       Momedo__ClientResponse *rs, char *why, size_t why_cap);
int node__c_ack(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                char *why, size_t why_cap);
int node__c_subscribe(struct conn *c, const Momedo__ClientRequest *rq,
                      Momedo__ClientResponse *rs, char *why, size_t why_cap);
void node__client_gone(struct conn *c);
/* prekeys.c: PrekeyUploadReq and PrekeyClaimReq (one-time prekeys), StateCounterReq */
int node__c_prekey(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                   char *why, size_t why_cap);
/* client_link.c: LinkReq, the only request that needs no authentication. */
int node__c_link(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                 char *why, size_t why_cap);
void node__on_stored(struct node *n, const struct repl_action *a);
/* Send c one ClientEvent (an item or chunk of mailbox); a full link skips it (counted). */
void node__push_event(struct conn *c, const uint8_t mailbox[OBJ_MAILBOX_LEN], uint64_t seq,
                      Momedo__ObjectKind kind, const uint8_t *data, size_t len);
/* rates.c: per-device limits. init: a fresh salt and tables for cfg.clients_max
 * (E_NOMEM, or crypto_random's error); fit: after clients_max changed, larger tables
 * when it needs them (this minute's counts start over then; kept as they are if there is
 * no memory). take: up to want units of kind for device key in the current one-minute
 * window (limit per minute): RATE_KEYED_OK with *got > 0, RATE_KEYED_LIMIT (the device
 * used its budget) or RATE_KEYED_FULL (no slot free in the key's probe range: refuse, as
 * for the limit; never charged to another device). */
MOMEDO_WUR int node__rates_init(struct node *n);
void node__rates_fit(struct node *n);
void node__rates_free(struct node *n);
int node__rate_take(struct node *n, enum node_rate_kind kind, const uint8_t key[OBJ_KEY_LEN],
                    uint32_t limit, uint32_t want, uint64_t now_ms, uint32_t *got);
/* The salted hash that picks key's slot and tag in kind's table (for tests). */
void node__rate_hash(const struct node *n, enum node_rate_kind kind,
                     const uint8_t key[OBJ_KEY_LEN], uint8_t h[static RATE_KEYED_HASH_LEN]);
/* May c read or subscribe to mailbox? (own device mailbox, or not a device mailbox) */
MOMEDO_WUR int node__mailbox_access(struct conn *c, const uint8_t mailbox[OBJ_MAILBOX_LEN],
                                    char *why, size_t why_cap);

/* dirlock.c: one momedod per node directory. node__dir_lock takes the lock on
 * DIR/NODE_PID_FILE and writes our PID (*fd_out holds it open); MOMEDO_E_BUSY (logged,
 * naming the other momedod's PID) if another process holds it. node__dir_unlock
 * (fd may be -1) clears the PID and releases the lock. */
MOMEDO_WUR int node__dir_lock(const char *dir, int *fd_out);
void node__dir_unlock(int fd);

/* admin_srv.c */
MOMEDO_WUR int node__admin_start(struct node *n);
void node__admin_stop(struct node *n);

/* register.c: invite tokens and the registrations they admit */
MOMEDO_WUR int node__invite_create(struct node *n, uint32_t uses, uint64_t ttl_s,
                                   const char *address, Momedo__InviteResp *out,
                                   char code[static NODE_INVITE_CODE_MAX],
                                   char token_hex[static 2 * NODE_INVITE_TOKEN_BYTES + 1],
                                   char addr[static NODE_HOSTPORT_CHARS_MAX + 3]);
/* Register device_key for identity_key with an invite token, after checking that both
 * keys signed the registration (invite_register_msg; 64-byte signatures). E_AUTH with a
 * reason for a bad token, a missing or wrong signature, a removed device. */
MOMEDO_WUR int node__register(struct node *n, const Momedo__RegisterReq *r, char *why,
                              size_t why_cap);
uint32_t node__invites_active(struct node *n);

/* invites.c: the open invites by ID (hex of the token hash's first NODE_INVITE_ID_BYTES) */
void node__invite_id(const uint8_t hash[static CRYPTO_HASH_LEN],
                     char out[static 2 * NODE_INVITE_ID_BYTES + 1]);
MOMEDO_WUR int node__invite_id_of_token(const char *token_hex,
                                        char out[static 2 * NODE_INVITE_ID_BYTES + 1]);
/* The open invites (not used up, not expired) into out, in n->arena. */
MOMEDO_WUR int node__invites_list(struct node *n, Momedo__InviteListResp *out);
/* Delete the one open invite whose ID starts with id (>= 6 hex digits); why says what
 * happened (E_NOTFOUND, E_INVAL for an ambiguous or malformed id). */
MOMEDO_WUR int node__invite_revoke(struct node *n, const char *id, char *why, size_t why_cap);

/* backup.c: the node's half of an online backup (BackupReq): a checkpoint of the store
 * in DIR/NODE_BACKUP_DIR/, made on a worker thread; answered when it is done. Leftovers
 * of interrupted backups are deleted at start. */
int node__a_backup(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                   char *why, size_t why_cap);
void node__backup_cleanup(struct node *n);

/* admin_srv.c: a handler that answers later returns NODE_ADMIN_LATER after taking the
 * connection with node__admin_defer; node__admin_answer sends the response (rs may be
 * NULL for status and reason only) and closes it. */
#define NODE_ADMIN_LATER 1
struct admin_conn;
struct admin_conn *node__admin_defer(struct node *n);
void node__admin_answer(struct admin_conn *a, int status, const char *why,
                        Momedo__AdminResponse *rs);

/* partner.c: partner consent (docs/security.md "Partners"). The configured partners with
 * a fresh grant each for identity_key, allocated in n->arena (*out NULL-terminated array
 * of *n_out). E_NOMEM, or a signing error. */
MOMEDO_WUR int node__partner_list(struct node *n, const uint8_t identity_key[static OBJ_KEY_LEN],
                                  Momedo__NodeAddr ***out, size_t *n_out);
/* May this node act as a home for a device the user's validated bundle b lists, though it
 * did not register that device? 0 if it registered another device of the user listed
 * there, or b carries an unexpired grant for this node by a configured partner whose
 * signature verifies; E_AUTH with the reason (counted) otherwise; a store error. */
/* PartnersReq: the partners with fresh grants, for a device registered here. */
int node__c_partners(struct conn *c, const Momedo__ClientRequest *rq,
                     Momedo__ClientResponse *rs, char *why, size_t why_cap);
MOMEDO_WUR int node__partner_admits(struct node *n,
                                    const uint8_t identity_key[static OBJ_KEY_LEN],
                                    const struct obj_bundle_fields *b, char *why,
                                    size_t why_cap);

/* devices.c: registered devices, removals, device mailboxes */
MOMEDO_WUR int node__device_get(struct node *n, const uint8_t device_key[32],
                                uint8_t identity_key[32], uint64_t *registered_ms);
/* 1 if the admin removed this device key, 0 if not, negative on a store error. */
MOMEDO_WUR int node__device_removed(struct node *n, const uint8_t device_key[32]);
MOMEDO_WUR int node__device_remove(struct node *n, const char *device_text, char *msg,
                                   size_t cap);
uint32_t node__devices_count(struct node *n);
/* 1 if mailbox belongs to a device (registered here, or in any stored key bundle). */
MOMEDO_WUR int node__is_device_mailbox(struct node *n, const uint8_t mailbox[OBJ_MAILBOX_LEN]);

/* mbox_guard.c: shared mailboxes. A post: a write key given is checked (mailbox and
 * signature), a mailbox locked to a write key takes nothing else, and the device's
 * share of the mailbox is counted (E_BOUNDS, E_DENIED, E_BADSIG, E_QUOTA; why says
 * which). A fetch showing the write key locks the mailbox to it. Sweep: drop locks
 * unused for an item lifetime (at most hourly). */
MOMEDO_WUR int node__guard_post(struct conn *c, const Momedo__PostReq *r, uint64_t now,
                                char *why, size_t why_cap);
MOMEDO_WUR int node__guard_fetch(struct conn *c, const uint8_t mailbox[static 32],
                                 const ProtobufCBinaryData *wk, const ProtobufCBinaryData *tag,
                                 char *why, size_t why_cap);
void node__guard_sweep(struct node *n, uint64_t now);
void node__guard_free(struct node *n);

/* alias.c: the aliases this node issues */
/* Canonical spelling of a typed alias (case, O/0, I/L/1, dashes); E_INVAL if it is
 * not one. */
MOMEDO_WUR int node__alias_norm(char out[static OBJ_ALIAS_CHARS_MAX + 1], const char *s);
/* 1 if the node whose key signed an alias is one of the home nodes listed in the
 * user's key bundle (bytes of the current bundle, as stored), 0 if not, < 0 if they
 * cannot be read (obj_read). Aliases from other nodes are not served (docs/admin.md). */
MOMEDO_WUR int node__alias_home_ok(const uint8_t *bundle, size_t len,
                                   const uint8_t node_key[static OBJ_KEY_LEN]);
/* The user's alias (reused, renewed or new), issued by this node, which must be one of
 * the home nodes of bundle (the user's current key bundle; the caller checks). */
MOMEDO_WUR int node__alias_issue(struct node *n, const uint8_t identity_key[32],
                                 const uint8_t *bundle, size_t blen, uint8_t **data,
                                 size_t *len);

#endif
