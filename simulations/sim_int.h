/* simulations/sim_int.h — private to simulations/: the run state shared by the
 * runner, the network, the workload, the protocol drivers and the measures
 * (sim__* functions). Times inside a run are microseconds of virtual time. */
#ifndef MOMEDO_SIM_INT_H
#define MOMEDO_SIM_INT_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "crypto.h"
#include "obj.h"
#include "sim.h"
#include "sim_queue.h"
#include "sim_rng.h"
#include "sim_scn.h"
#include "sim_topo.h"
#include "store.h"

#define SIM_NEVER UINT32_MAX          /* delivery delay of a cell never reached */
#define SIM_HOPS_MAX 255
#define SIM_EDGE_STATE_MAX 20000000ull /* directed slots with per-link state */
#define SIM_CLASSIC_HDR_BYTES 16       /* modelled header of a classic message */
#define SIM_DIGEST_BYTES 32            /* modelled anti-entropy digest */
#define SIM_BUNDLE_BYTES 400           /* classic: modelled key bundle size */
#define SIM_ITEM_OVERHEAD_BYTES 170    /* classic: item bytes beyond the ciphertext */
#define SIM_GRACE_US 1000              /* expiry checks run this long after expiry */
#define SIM_DESTS_MAX 4                /* destinations of an object: home + SIM_PARTNERS_MAX */
_Static_assert(SIM_DESTS_MAX == 1 + SIM_PARTNERS_MAX, "an object's destinations: home + partners");
#define SIM_DIST_NODES_MAX 16384u      /* all-pairs hop distances (n^2 bytes) up to this n */

static inline uint64_t sim_us(uint64_t ms) { return ms * 1000; }

enum sim_ev_type {
  SIM_EV_DELIVER = 1,
  SIM_EV_SENT,          /* momedo: the uplink finished writing (repl_peer_sent) */
  SIM_EV_TIMER,         /* momedo: repl deadline */
  SIM_EV_ACT,           /* a node's periodic gossip step, or its cycle turn */
  SIM_EV_CYCLE,         /* schedule the next cycle's turns */
  SIM_EV_PUBLISH,       /* workload entry `from`, ordinal arg */
  SIM_EV_TOMBSTONE,     /* item arg gets its tombstone */
  SIM_EV_EXPIRE,        /* object arg expires */
  SIM_EV_EXPIRE_CHECK,  /* safety: nobody alive still holds object arg */
  SIM_EV_PART_START,    /* fault arg */
  SIM_EV_PART_HEAL,
  SIM_EV_CRASH,         /* node, fault arg */
  SIM_EV_RESTART,
  SIM_EV_SWIZZLE,       /* fault arg, step number in from */
  SIM_EV_CHURN_DOWN,    /* node, fault arg */
  SIM_EV_CHURN_UP,
  SIM_EV_SAMPLE,
  SIM_EV_CONVERGE_DUE,  /* heal number arg */
  SIM_EV_END,
};

/* ReplMsg bodies by field number (protocol/proto/repl.proto); 0 = none known. */
enum sim_mo_body { SIM_MO_OTHER = 0, SIM_MO_PUSH, SIM_MO_RECON, SIM_MO_WANT, SIM_MO_GRANT,
                   SIM_MO_ACK, SIM_MO_ROUTED, SIM_MO_ANNOUNCE, SIM_MO_PULL, SIM_MO_IHAVE,
                   SIM_MO_GRAFT, SIM_MO_PRUNE, SIM_MO_BODIES };

/* Classic message types (first byte of a classic payload). */
enum sim_cmsg {
  SIM_CM_PUSH = 1,
  SIM_CM_PULL_REQ,  /* anti-entropy: digest */
  SIM_CM_PUSHPULL,  /* anti-entropy: digest and u's objects */
  SIM_CM_REPLY,     /* what the requester lacks (anti-entropy) or the hot rumors (rumor) */
  SIM_CM_FEEDBACK,  /* rumor: per object, did the receiver already know it */
  SIM_CM_RPULL,     /* rumor pull request (push-pull: with the requester's hot rumors) */
};

/* Why a node holds a copy (the engine's enum repl_role, in the same order). */
enum sim_held_role { SIM_HELD_DEST = 0, SIM_HELD_TRANSIT = 1, SIM_HELD_CACHED = 2 };

/* One copy in a node's sparse holdings (sim_hold.c). */
struct sim_held {
  uint32_t obj;             /* UINT32_MAX: empty slot */
  uint8_t role;             /* enum sim_held_role */
  uint8_t hops;             /* hop count of this copy */
  uint16_t pad;
};

struct sim_hmap {
  struct sim_held *e;
  uint32_t cap, n, bits;    /* cap = 2^bits slots, n used */
};

struct sim_obj {
  uint64_t created_us;
  uint64_t expires_us;      /* UINT64_MAX: never */
  uint32_t origin, home;    /* origin node; recipient's home (items) */
  uint32_t other;           /* tombstone: its item; item: its tombstone or UINT32_MAX */
  uint32_t size;            /* bytes on the wire */
  uint8_t kind;             /* enum sim_obj_kind */
  uint8_t published;        /* inserted at its origin */
  uint8_t dead;             /* tombstoned or expired */
  uint8_t info_ok;          /* momedo: info filled by repl_insert_local */
  uint8_t ck_ok;            /* momedo: info (and *bundle) hold obj_check's result for
                               bytes (the validation cache, sim_momedo.c) */
  uint8_t *bytes;           /* momedo: canonical bytes (owned) */
  uint8_t *tpl;             /* sim_store: the first value head stored before these
                               bytes, which later heads are diffed against (owned) */
  uint32_t tpl_len;
  struct obj_info info;     /* momedo */
  struct obj_bundle_fields *bundle; /* momedo, key bundles: cached by the check hook (owned) */
  uint8_t (*dests)[OBJ_KEY_LEN];    /* momedo: destinations, cached by the check hook (owned) */
  uint32_t n_dests;
  uint64_t msgs;            /* messages that carried it */
  uint32_t holders, reached;
  uint32_t holders_alive;   /* holders that are running */
  uint32_t hw, hc;          /* holders among its wanted nodes; holders caching it */
  uint64_t cell0;           /* its first cell in delay_ms / hops */
  uint32_t dnodes[SIM_DESTS_MAX]; /* destination nodes (items, tombstones: the recipient's
                               home and partners; bundles: the user's); when holdings
                               are sparse these are its wanted nodes, else all are */
  uint8_t ndnodes;
};

/* Per-node user material for momedo objects, derived lazily from the seed. */
struct sim_keys {
  uint8_t have;
  struct crypto_sign_keypair node;    /* node key: signs items accepted here */
  struct crypto_signer *node_signer;  /* the same, imported once (sim__node_sign) */
  uint64_t records_signed;            /* node-record versions its engines signed */
  struct crypto_sign_keypair device;  /* the device homed here: items are for it */
  uint8_t mailbox[OBJ_MAILBOX_LEN];
};

struct sim_hot {
  uint32_t obj;
  uint16_t count;           /* loss-of-interest steps taken (counter) */
  uint8_t flags;            /* this cycle's contacts (sim_rumor.c), interest=streak */
  uint8_t pad;
};

/* A workload entry's resolved node sets. */
struct sim_wset {
  uint32_t *from, *to;
  uint32_t nfrom, nto;
};

struct repl;

struct sim_node {
  uint8_t alive;
  uint8_t group;            /* partition group while a partition is active */
  uint32_t conns;           /* links up */
  uint32_t gen;             /* bumped on crash and restart: stale timers are ignored */
  uint64_t uplink_free_us;  /* bandwidth model: the uplink is busy until then */
  uint64_t msgs_sent, bytes_sent, msgs_recv, bytes_recv;
  uint32_t have_count;
  uint64_t bytes_dest, bytes_transit; /* object bytes held as destination / in transit */
  struct sim_hmap held;     /* sparse holdings (sim__sparse) */
  uint64_t timer_us;        /* momedo: scheduled timer, UINT64_MAX none */
  struct repl *repl;
  struct store *store;
  struct sim_hot *hot;      /* rumor mongering: active rumors */
  uint32_t nhot, hot_cap;
};

struct sim_sample {
  uint64_t t_us;
  uint32_t alive;
  double store_mean;
  uint32_t store_min, store_max;
  double coverage;          /* live (node, object) pairs held / wanted */
  uint64_t msgs, bytes;
  double stored_mean;       /* object bytes held as destination or in transit, per live node */
  uint64_t stored_max;
  double transit_mean;      /* of which in transit */
};

/* Per-object results, filled by sim__summarise. Delays in ms after creation. */
struct sim_ostat {
  uint32_t reached;         /* wanted nodes it reached (the origin among them) */
  uint32_t wanted;
  uint32_t deliveries;      /* reached, the origin left out */
  uint32_t hops_last, hops_max;
  double t_ave, t_p50, t_p99, t_last;
  double m, rmr;            /* rmr < 0: undefined (no delivery) */
  int lasting;              /* published and not dead at the end */
  int full;                 /* reached every wanted node that is running at the end */
};

struct sim_objmap {         /* open addressing: u64 key -> object index */
  uint64_t *keys;
  uint32_t *vals;
  uint64_t cap;
};

struct sim {
  const struct sim_scn *scn;
  uint64_t seed;
  FILE *log;
  struct rng rng_topo, rng_link, rng_work, rng_fault, rng_proto;
  struct sim_topo topo;
  uint32_t n;
  struct sim_node *nodes;
  struct sim_queue q;
  uint64_t now_us, end_us;
  uint64_t events;
  int stop;
  /* links (NULL when no per-link state is needed) */
  uint8_t *edge_cut;        /* per undirected edge: times cut (swizzle) */
  uint8_t *edge_up;         /* connected (peer_up done on both sides) */
  uint32_t *edge_epoch;     /* bumped when a link goes down: in-flight data dies */
  uint64_t *slot_fifo_us;   /* per directed slot: last arrival (TCP order) */
  int partition_active;
  /* objects */
  struct sim_obj *objs;
  uint32_t nobjs, objs_cap;
  struct sim_objmap by_sig, by_id;
  struct sim_keys *keys;
  struct sim_wset *wsets;   /* per workload entry */
  uint32_t *users, nusers;  /* momedo: published key bundles (the users lookups ask for) */
  uint32_t live_count;      /* published, not dead */
  uint64_t live_pairs;      /* copies of live objects at their wanted nodes */
  uint64_t want_pairs;      /* (live object, wanted node) pairs */
  uint64_t transit_pairs;   /* copies of live objects in transit (not wanted there) */
  uint64_t cached_pairs;    /* copies of live objects cached by lookups */
  uint64_t dead_pairs;      /* copies of dead objects, any role */
  uint32_t alive_count;
  /* Measurement cells, object-major: object o's wanted nodes have cells cell0 ..
   * cell0 + wanted - 1 (dense: cell0 = o * n, cell = cell0 + node). */
  uint32_t *delay_ms;
  uint8_t *hops;
  uint64_t cells, cells_cap;
  int sparse;               /* an object's wanted nodes are its destination nodes (scoped delivery), not all */
  int in_setup;             /* placing start=setup bundles: at every destination at once */
  int hold_maps;            /* holdings in per-node maps (sparse, or MOMEDO_SIM_HOLD=map) */
  uint64_t *have;           /* dense holdings: node-major bitset, node * words + obj / 64 */
  uint32_t words;
  uint8_t *dist;            /* n x n hop distances of the graph (stretch), or NULL */
  double path_len_mean;     /* of the graph; -1 not computed */
  uint32_t path_len_max;
  uint64_t msgs, bytes, msgs_lost;
  struct sim_ostat *ost;    /* nobjs entries after sim__summarise */
  double cdf_ms[101];       /* delivery delay at p = 0, 0.01, ..., 1 (all objects) */
  int cdf_ok;
  struct sim_sample *samples;
  uint32_t nsamples, samples_cap;
  /* faults and checks */
  uint64_t **swz_edges;     /* swizzle: per fault, the edges cut (cut order, restore order) */
  uint32_t *swz_count;      /* per fault: edges actually cut */
  uint32_t cuts_active;     /* swizzle cuts not yet restored */
  uint64_t heal_us;         /* last heal; UINT64_MAX none pending */
  uint32_t heals;
  int64_t converge_us;      /* -1 not (yet) converged after the last heal */
  uint64_t violations;
  int failed;
  char failure[256];
  char note[64];            /* sim__transit_note */
  int validate_full;        /* momedo: bypass the shared validation cache */
  int store_mem;            /* momedo: protocol/store_mem.c instead of sim_store.c */
  /* momedo driver */
  uint32_t cur_from;        /* peer whose message is being handled, or UINT32_MAX */
  void *mo;                 /* struct sim_mo (sim_momedo.c) */
  uint64_t mo_msgs[SIM_MO_BODIES], mo_bytes[SIM_MO_BODIES]; /* by ReplMsg body (sim_mo_body) */
  uint64_t mo_record_bytes; /* node-record object bytes inside push and grant messages */
  uint64_t lookups, lookups_found, lookups_notfound, lookups_refused;
  uint64_t lookup_delay_ms_sum; /* over finished lookups */
  uint64_t vcache_hits, vcache_misses;
  uint32_t *scratch;        /* classic protocols: object index lists */
  uint32_t scratch_cap;
};

/* sim_run.c */
MOMEDO_WUR int sim__schedule(struct sim *s, uint64_t t_us, enum sim_ev_class cls,
                             enum sim_ev_type type, uint32_t node, uint32_t from, uint64_t arg);
void sim__fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sim__cycle_mode(const struct sim *s);
uint64_t sim__period_us(const struct sim *s);

/* sim_net.c: links, sending, faults */
MOMEDO_WUR int sim__net_init(struct sim *s, char *why, size_t why_cap);
void sim__net_free(struct sim *s);
/* Send len modelled bytes with payload data (owned by the network from here; freed
 * on loss) from u to v. Returns 0 or E_NOMEM/E_QUOTA. */
MOMEDO_WUR int sim__send(struct sim *s, uint32_t u, uint32_t v, void *data, uint32_t len,
                         uint32_t wire_bytes, uint64_t *depart_us);
/* Is a DELIVER event still deliverable (receiver alive, link up, same link epoch)?
 * Counts it as received or lost. The caller frees the payload when it is not. */
int sim__deliver_ok(struct sim *s, const struct sim_event *e);
/* Resolve a node selector into ascending node indices (*out malloc'ed). */
MOMEDO_WUR int sim__sel_nodes(struct sim *s, const struct sim_sel *sel, struct rng *rng,
                              uint32_t **out, uint32_t *n);
/* A heal happened now: restart the convergence clock. */
MOMEDO_WUR int sim__healed(struct sim *s);
/* Can u reach v right now (both alive, same partition side, link not cut/down)? */
int sim__link_ok(const struct sim *s, uint32_t u, uint32_t v);
MOMEDO_WUR int sim__links_bring_up(struct sim *s, uint32_t u);
MOMEDO_WUR int sim__links_take_down(struct sim *s, uint32_t u, int only_crossing);
MOMEDO_WUR int sim__faults_schedule(struct sim *s);
/* sim_fault.c */
MOMEDO_WUR int sim__fault_event(struct sim *s, const struct sim_event *e);
int sim__edge_state(const struct sim *s);
/* Connected components of the graph of links that are up right now. */
uint32_t sim__up_components(const struct sim *s);

/* sim_work.c: objects and the workload */
MOMEDO_WUR int sim__work_init(struct sim *s);
/* Publish the start=setup bundles (links up, before the first records are signed). */
MOMEDO_WUR int sim__work_setup(struct sim *s);
void sim__work_free(struct sim *s);
MOMEDO_WUR int sim__work_event(struct sim *s, const struct sim_event *e);
/* Object index of these exact canonical bytes / of this object ID, or -1. */
int32_t sim__obj_by_bytes(const struct sim *s, const uint8_t *data, size_t len);
int32_t sim__obj_by_id(const struct sim *s, const uint8_t id[static OBJ_ID_LEN]);
/* Object whose canonical bytes are the last bytes of data[0..len), or -1. */
int32_t sim__obj_by_suffix(const struct sim *s, const uint8_t *data, size_t len);
/* Node v's keys (node key, the device homed there), derived from the seed on first use. */
MOMEDO_WUR int sim__node_keys(struct sim *s, uint32_t v, struct sim_keys **out);
/* An obj_sign_fn with a node's key (ctx: its struct sim_keys, from sim__node_keys). */
MOMEDO_WUR int sim__node_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]);
/* Register o's ID (known once its origin accepted it). */
void sim__obj_id_known(struct sim *s, uint32_t o);
/* Register o's bytes (objs[o].bytes and .size set, size >= 8). */
void sim__obj_bytes_known(struct sim *s, uint32_t o);
/* Room for cap objects; maps != 0 also makes the bytes and ID lookup tables.
 * Freed by sim__work_free. */
MOMEDO_WUR int sim__objs_init(struct sim *s, uint32_t cap, int maps);

/* sim_momedo.c: lookups. Start one at v for the user of bundle o (hint: its home nodes
 * as hints); LOOKUP_DONE actions end them. Errors: E_NOMEM. */
MOMEDO_WUR int sim__lookup_start(struct sim *s, uint32_t v, uint32_t o, int hint);
void sim__lookup_done(struct sim *s, uint32_t v, uint64_t handle, int status);

/* sim_measure.c: cells, holders, convergence, samples */
MOMEDO_WUR int sim__measure_init(struct sim *s);
void sim__measure_free(struct sim *s);
/* sim_hold.c: sparse holdings of one node */
const struct sim_held *sim__hold_find(const struct sim_hmap *m, uint32_t o);
MOMEDO_WUR int sim__hold_put(struct sim_hmap *m, uint32_t o, uint8_t role, uint8_t hops);
void sim__hold_del(struct sim_hmap *m, uint32_t o);
void sim__hold_free(struct sim_hmap *m);

static inline int sim__has(const struct sim *s, uint32_t v, uint32_t o) {
  if (!s->have) return sim__hold_find(&s->nodes[v].held, o) != NULL;
  return (int)((s->have[(uint64_t)v * s->words + o / 64] >> (o % 64)) & 1);
}
/* Number of wanted nodes of o, and v's cell for o or -1 if v is not wanted. */
static inline uint32_t sim__wanted(const struct sim *s, uint32_t o) {
  return s->sparse ? s->objs[o].ndnodes : s->n;
}
static inline int64_t sim__cell(const struct sim *s, uint32_t o, uint32_t v) {
  const struct sim_obj *ob = &s->objs[o];
  if (!s->sparse) return (int64_t)(ob->cell0 + v);
  for (uint32_t i = 0; i < ob->ndnodes; i++)
    if (ob->dnodes[i] == v) return (int64_t)(ob->cell0 + i);
  return -1;
}
/* New object o (dnodes set): its cells. E_INTERNAL past the scenario's bound. */
MOMEDO_WUR int sim__obj_cells(struct sim *s, uint32_t o);
/* o was published at its origin: its wanted pairs count from now. */
void sim__obj_published(struct sim *s, uint32_t o);
/* v now holds o in role (enum sim_held_role); the first delivery to a wanted node is
 * recorded with its hop count. E_NOMEM (sparse holdings). */
MOMEDO_WUR int sim__got(struct sim *s, uint32_t v, uint32_t o, uint32_t hops, uint8_t role);
void sim__lost(struct sim *s, uint32_t v, uint32_t o);
/* v forgets everything (a wiped store). */
void sim__lost_all(struct sim *s, uint32_t v);
/* v went down (alive 0) or came up (1): its copies stop or start counting as running. */
void sim__node_alive(struct sim *s, uint32_t v, int alive);
/* Hop count of v's copy of o (its first delivery's when v is wanted), 0 if none. */
uint32_t sim__hops_at(const struct sim *s, uint32_t v, uint32_t o);
/* Role of v's copy of o, or -1 if v holds none. */
int sim__role_at(const struct sim *s, uint32_t v, uint32_t o);
void sim__obj_dies(struct sim *s, uint32_t o);
int sim__converged(const struct sim *s);
/* ", N copies in transit" when there are such copies, else "" (in s->note). */
const char *sim__transit_note(struct sim *s);
void sim__after_event(struct sim *s);
MOMEDO_WUR int sim__sample(struct sim *s);
void sim__summarise(struct sim *s, struct sim_summary *sum);

/* sim_store.c: the simulator's store (see the file header). */
MOMEDO_WUR int sim_store_open(struct sim *sim, struct store **out);
size_t sim_store_bytes(const struct store *st);

/* sim_out.c, sim_svg.c */
MOMEDO_WUR int sim__write_outputs(struct sim *s, const struct sim_summary *sum, const char *dir,
                                  char *why, size_t why_cap);
MOMEDO_WUR int sim__svg_plots(struct sim *s, const char *dir, char *why, size_t why_cap);
/* Points (x, y) with 95% CI bars [lo, hi]; labels (may be NULL) name categorical x
 * (then x = 0, 1, ...). */
struct sim_svg_ci {
  const double *x, *y, *lo, *hi;
  uint32_t n;
  const char *const *labels;
};
/* A series of a log-log plot: color 0..2 (sim_svg.c's palette), dashed or solid. */
struct sim_svg_series {
  const char *name;
  const double *x, *y;
  uint32_t n;
  int color, dashed;
};
/* Log-log plot of ns series (positive values only; others are left out). */
MOMEDO_WUR int sim__svg_loglog(const char *dir, const char *file, const char *title, const char *xl,
                               const char *yl, const struct sim_svg_series *s, uint32_t ns, char *why,
                               size_t why_cap);
MOMEDO_WUR int sim__svg_ci(const char *dir, const char *file, const char *title, const char *xl,
                           const char *yl, const struct sim_svg_ci *p, char *why, size_t why_cap);
MOMEDO_WUR int sim_mkdir_p(const char *dir, char *why, size_t why_cap);
FILE *sim_open_out(const char *dir, const char *name, char *why, size_t why_cap);
MOMEDO_WUR int sim_close_out(FILE *f, const char *name, char *why, size_t why_cap);
/* JSON files (cJSON): a double under key, null when not finite (or negative with
 * neg_is_null: the "undefined" marker); o printed one top-level key per line, the
 * layout people and --report read. */
void sim_json_num(cJSON *o, const char *key, double x, int neg_is_null);
MOMEDO_WUR int sim_json_lines(const cJSON *o, FILE *f);

/* Protocol drivers: a table per protocol family. */
struct sim_proto_ops {
  MOMEDO_WUR int (*init)(struct sim *s, char *why, size_t why_cap);
  void (*free)(struct sim *s);
  MOMEDO_WUR int (*start_node)(struct sim *s, uint32_t v);   /* (re)start after crash */
  void (*stop_node)(struct sim *s, uint32_t v, int wipe);   /* crash */
  MOMEDO_WUR int (*link_up)(struct sim *s, uint32_t u, uint32_t v);
  void (*link_down)(struct sim *s, uint32_t u, uint32_t v);
  MOMEDO_WUR int (*deliver)(struct sim *s, const struct sim_event *e);
  MOMEDO_WUR int (*act)(struct sim *s, uint32_t v);          /* gossip step / cycle turn */
  MOMEDO_WUR int (*timer)(struct sim *s, const struct sim_event *e);
  MOMEDO_WUR int (*publish)(struct sim *s, uint32_t o);     /* insert at its origin */
  void (*cycle_end)(struct sim *s);                         /* cycle mode; may be NULL */
  MOMEDO_WUR int (*links_ready)(struct sim *s);             /* after the first links came up; may be NULL */
  void (*free_payload)(void *data);
};
extern const struct sim_proto_ops sim_momedo_ops;
extern const struct sim_proto_ops sim_classic_ops;
const struct sim_proto_ops *sim__ops(const struct sim *s);

#endif
