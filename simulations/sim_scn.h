/* simulations/sim_scn.h — the scenario: what a researcher writes down (topology,
 * links, workload, faults, protocol, checks), parsed from a line-based text file and
 * validated line by line against hard bounds. Parsing only: nothing here runs,
 * allocates per node or draws random numbers. */
#ifndef MOMEDO_SIM_SCN_H
#define MOMEDO_SIM_SCN_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h" /* every error text here: char *why, size_t why_cap */
#include "repl.h"
#include "status.h"

/* Hard bounds, checked while parsing (the error names the line). */
#define SIM_NODES_MAX 100000u
#define SIM_OBJECTS_MAX 4000000u   /* objects (an item with a tombstone counts 2) */
#define SIM_CELLS_MAX 200000000ull     /* wanted nodes x objects: the measurement tables */
#define SIM_DURATION_MS_MAX (10ull * 365 * 24 * 3600 * 1000)
#define SIM_LATENCY_MS_MAX (3600.0 * 1000)
#define SIM_DEGREE_MAX 1000u
#define SIM_WORKLOADS_MAX 64
#define SIM_FAULTS_MAX 1024
#define SIM_PARTITION_GROUPS_MAX 16
#define SIM_SEL_PARTS_MAX 64
#define SIM_LINE_CHARS_MAX 1024
#define SIM_SCN_BYTES_MAX (1024u * 1024)
#define SIM_NAME_CHARS_MAX 64
#define SIM_PATH_CHARS_MAX 512
#define SIM_ITEM_BYTES_MAX (64u * 1024)  /* ciphertext of a simulated item */
#define SIM_RUMOR_K_MAX 1000u
#define SIM_FED_COUNTIES_MAX 1000u
#define SIM_FED_PER_MAX 1000u            /* hubs per county, cities per county, schools per city */
#define SIM_FED_LANDS_MAX 64u            /* Länder (lands=) */
#define SIM_FED_LAND_COUNTIES 25u        /* default: one Land per this many counties ... */
#define SIM_FED_LANDS_DEFAULT_MAX 16u    /* ... and at most this many */
#define SIM_PARTNERS_MAX 3u              /* partner nodes of a user's home */
#define SIM_PARTNERS_DEFAULT 1u

enum sim_topo_kind {
  SIM_TOPO_LINE,
  SIM_TOPO_RING,
  SIM_TOPO_STAR,
  SIM_TOPO_COMPLETE,
  SIM_TOPO_RANDOM_REGULAR,
  SIM_TOPO_SMALL_WORLD,
  SIM_TOPO_FEDERATION,
  SIM_TOPO_EDGES,
};

enum sim_dist_kind {
  SIM_DIST_CONST,
  SIM_DIST_UNIFORM,   /* a..b */
  SIM_DIST_NORMAL,    /* mean a, sd b, truncated at 0 */
  SIM_DIST_LOGNORMAL, /* exp(N(a, b)): a, b in ln(ms) */
  SIM_DIST_EXP,       /* mean a */
};

struct sim_dist {
  enum sim_dist_kind kind;
  double a, b; /* milliseconds (lognormal: parameters of ln ms) */
};

enum sim_sel_kind { SIM_SEL_ALL, SIM_SEL_LIST, SIM_SEL_RANDOM, SIM_SEL_COUNTY, SIM_SEL_ROLE, SIM_SEL_LAND };
enum sim_role { SIM_ROLE_PLAIN = 0, SIM_ROLE_HUB, SIM_ROLE_CITY, SIM_ROLE_SCHOOL };

/* A set of nodes: "all", "7", "0-9,20", "random:5", "county:2", "land:1", "role:hub". */
struct sim_sel {
  enum sim_sel_kind kind;
  uint32_t nparts;
  uint32_t lo[SIM_SEL_PARTS_MAX], hi[SIM_SEL_PARTS_MAX]; /* inclusive ranges */
  uint32_t k;     /* random: how many; county, land: which */
  enum sim_role role;
};

enum sim_proto_kind {
  SIM_PROTO_MOMEDO,      /* the production replication engine (replication/repl.h) */
  SIM_PROTO_AE_PUSH,     /* anti-entropy, Demers et al. 1987 */
  SIM_PROTO_AE_PULL,
  SIM_PROTO_AE_PUSHPULL,
  SIM_PROTO_RUMOR,       /* rumor mongering: push, pull or push-pull */
};

enum sim_rumor_dir { SIM_RUMOR_PUSH, SIM_RUMOR_PULL, SIM_RUMOR_PUSHPULL };

enum sim_obj_kind { SIM_OBJ_BUNDLE = 0, SIM_OBJ_ITEM = 1, SIM_OBJ_TOMBSTONE = 2,
                    SIM_WORK_LOOKUP = 3 /* a workload of lookups: no object */ };

struct sim_workload {
  enum sim_obj_kind kind;       /* bundle or item (tombstones follow items) */
  uint32_t count;
  struct sim_sel from, to;      /* origin node; recipient's home node (items) */
  uint64_t start_ms;
  int at_setup;                 /* bundles, start=setup: all placed before the first records */
  uint64_t every_ms;            /* fixed spacing, or the mean when poisson */
  int poisson;
  uint32_t size;                /* item ciphertext bytes */
  uint64_t ttl_ms;              /* items: expiry after creation */
  double tombstone_p;           /* items: chance the recipient deletes it */
  uint32_t partners;            /* partner nodes of the user's home (sim_topo_partners) */
  uint64_t tombstone_delay_ms;
  uint32_t hint;                /* lookups: pass the user's home nodes as hints */
  int line;
};

enum sim_fault_kind { SIM_FAULT_PARTITION, SIM_FAULT_SWIZZLE, SIM_FAULT_CRASH, SIM_FAULT_CHURN };
enum sim_store_mode { SIM_STORE_KEPT, SIM_STORE_WIPED };

struct sim_fault {
  enum sim_fault_kind kind;
  uint64_t start_ms, end_ms;    /* partition: start, heal; crash: at, restart; churn window */
  uint32_t ngroups;             /* partition groups; crash uses group[0] */
  struct sim_sel group[SIM_PARTITION_GROUPS_MAX];
  uint64_t step_ms;             /* swizzle */
  uint32_t count;               /* swizzle: links cut */
  enum sim_store_mode store;
  uint64_t uptime_ms;           /* churn: mean uptime (exponential) */
  struct sim_dist downtime;     /* churn */
  int line;
};

/* A `repl NAME VALUE` line: a row of the engine's parameter table (replication/repl.h)
 * and a value the parser checked against that row's bounds. */
struct sim_repl_param {
  const struct repl_param *param;
  uint64_t value;
  int line;
};

struct sim_scn {
  char name[SIM_NAME_CHARS_MAX];
  char dir[SIM_PATH_CHARS_MAX];   /* directory of the scenario file (edge files) */
  uint64_t seed;
  uint32_t nodes;
  enum sim_topo_kind topo;
  uint32_t degree;                /* random_regular */
  uint32_t sw_k;                  /* small_world: even lattice degree */
  double sw_beta;
  uint32_t fed_counties, fed_hubs, fed_cities, fed_schools;
  uint32_t fed_lands;             /* Länder: counties split evenly, in index order */
  char edge_file[SIM_PATH_CHARS_MAX];
  int cycle_mode;                 /* 0: event-driven; 1: cycles */
  int cycle_async;                /* cycles: 0 sync rounds, 1 PeerSim-style in-place */
  uint64_t cycle_ms;
  uint64_t duration_ms;
  enum sim_proto_kind proto;
  uint64_t period_ms;             /* classic protocols: gossip period */
  uint32_t rumor_k;               /* 0: infect forever */
  int rumor_feedback;             /* 1: feedback, 0: blind */
  int rumor_coin;                 /* 1: coin, 0: counter */
  enum sim_rumor_dir rumor_dir;   /* who sends hot rumors to whom */
  int rumor_total;                /* interest=total: every unnecessary contact is a
                                     loss-of-interest step, the counter never resets;
                                     0 (interest=streak, Demers): one step per cycle
                                     whose contacts were all unnecessary, a necessary
                                     contact resets the counter (docs/simulation.md) */
  uint32_t nrepl;
  struct sim_repl_param repl[REPL_PARAMS_MAX]; /* each parameter at most once */
  struct sim_dist latency;
  uint64_t bandwidth_bps;         /* bytes/s of each node's uplink, 0 = unlimited */
  double loss, dup, reorder;
  struct sim_dist reorder_delay;
  uint32_t max_conns;             /* 0 = unlimited */
  uint32_t nwork;
  struct sim_workload work[SIM_WORKLOADS_MAX];
  uint32_t nfaults;
  struct sim_fault *faults;       /* nfaults entries, owned */
  uint64_t sample_ms;
  int check_safety;
  uint64_t converge_within_ms;    /* 0 = not checked */
  int check_delivered;
  uint64_t expiry_grace_ms;
  uint32_t objects_total;         /* sum of workload counts, room for tombstones included */
  int scoped;                     /* momedo with the engine's scope parameter "scoped": an
                                     object is wanted at its destination nodes only */
};

/* Parse scenario text. name is used in error messages. dir is where relative
 * paths point. On error returns E_CONFIG and writes "name:line: reason" into why. */
MOMEDO_WUR int sim_scn_parse(const char *text, size_t len, const char *name, const char *dir,
                             struct sim_scn **out, char *why, size_t why_cap);
MOMEDO_WUR int sim_scn_load(const char *path, struct sim_scn **out,
                            char *why, size_t why_cap);

/* A scenario file's text (NUL-terminated, owned), its directory and base name, for
 * callers that edit the text before parsing it (--set, --sweep). A file longer than
 * SIM_SCN_BYTES_MAX reads as len = SIM_SCN_BYTES_MAX + 1, which the parser refuses. */
struct sim_scn_text {
  char *text;
  size_t len;
  char dir[SIM_PATH_CHARS_MAX];
  char name[SIM_NAME_CHARS_MAX * 2];
};
MOMEDO_WUR int sim_scn_read(const char *path, struct sim_scn_text *t, char *why, size_t why_cap);
void sim_scn_text_free(struct sim_scn_text *t);
void sim_scn_free(struct sim_scn *s);

/* "12", "250ms", "3s", "5m", "2h", "1d" -> ms. E_CONFIG on garbage or overflow. */
MOMEDO_WUR int sim_parse_duration(const char *s, uint64_t *ms);
/* Node selector text -> struct; E_CONFIG with a reason. */
MOMEDO_WUR int sim_parse_sel(const char *s, struct sim_sel *sel, const char **why);
/* "const:20ms", "uniform:10ms:50ms", "normal:30:5", "lognormal:3.0:0.5", "exp:20". */
MOMEDO_WUR int sim_parse_dist(const char *s, struct sim_dist *d, const char **why);

#endif
