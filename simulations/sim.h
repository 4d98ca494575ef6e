/* simulations/sim.h — momedo-sim's public entry points: run one scenario with one
 * seed (or K seeds) and write the measures. Everything in a run derives from the
 * seed; output files never contain wall-clock time, pointer values or hash-order
 * artefacts, so the same scenario and seed give byte-identical files. */
#ifndef MOMEDO_SIM_H
#define MOMEDO_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "sim_scn.h"
#include "status.h"

#define SIM_RUNS_MAX 1000u
#define SIM_METRICS_MAX 48           /* headline measures (sim_metric_count) */
#define SIM_SET_PARAM_CHARS_MAX 64   /* --set / --sweep PARAM */
#define SIM_SET_VALUE_CHARS_MAX 256  /* --set / --sweep VALUE */
#define SIM_SETS_MAX 16              /* --set options on one command line */
#define SIM_SWEEP_VALUES_MAX 64
/* Virtual time 0 of every run, as the ms since 1970 handed to the replication
 * engine and written into objects (2026-01-01T00:00:00Z). */
#define SIM_EPOCH_MS 1767225600000ull

/* The headline numbers of one run (also what --runs aggregates). Times in ms of
 * virtual time; "rounds" are times divided by the cycle length (cycle mode). */
struct sim_summary {
  uint64_t seed;
  uint32_t nodes, objects;      /* objects actually published */
  uint64_t events;              /* simulation events processed */
  uint64_t msgs, bytes;         /* network messages and bytes sent */
  uint64_t msgs_lost;           /* dropped by loss, partitions, cut links, dead nodes */
  double t_ave_ms;              /* mean over objects of the mean delivery delay */
  double t_p50_ms, t_p99_ms;    /* means over objects of per-object quantiles */
  double t_last_ms;             /* mean over objects of the last delivery delay */
  double t_last_max_ms;         /* worst object */
  double rounds_last;           /* t_last_ms / cycle (cycle mode), else 0 */
  double residue;               /* mean fraction of nodes an object never reached */
  double traffic_m;             /* mean messages per node per object */
  double rmr;                   /* mean relative message redundancy */
  double hops_last;             /* mean hop count of the last delivery */
  double reliability;           /* fraction of lasting objects that reached every node */
  double bytes_per_node;
  double converge_ms;           /* after the last heal; -1 if none or never */
  double stored_bytes_per_node_mean; /* object bytes held as destination or in transit:
                                   mean over samples of the mean over live nodes */
  double stored_bytes_per_node_max;  /* the most one node held at a sample */
  double transit_bytes_per_node_mean; /* of those, held in transit */
  double path_hops_mean;        /* mean hop count of all deliveries */
  double path_stretch_mean;     /* mean of hops / shortest path over deliveries; -1 unknown */
  double delay_p50_ms, delay_p99_ms; /* over all deliveries (not per object) */
  double path_len_mean;         /* the graph's mean shortest path; -1 not computed */
  double path_len_max;          /* its diameter; -1 not computed */
  double record_bytes_per_node; /* node-record bytes sent (inside push and grant), per node */
  double custody_bytes_per_node;/* custody grant and ack messages sent, per node (momedo) */
  double lookups;               /* lookups started */
  double lookup_found;          /* fraction of finished lookups that found the user; -1 none */
  double lookup_msgs_mean;      /* routed messages sent per lookup; -1 none */
  double lookup_delay_ms_mean;  /* start to LOOKUP_DONE, over finished lookups; -1 none */
  double record_versions;       /* node-record versions signed (each reaches every node) */
  int scoped;                   /* the engine's scope: 1 scoped, 0 flood (or classic) */
  double sim_end_ms;            /* virtual time at the end of the run */
  uint32_t up_components;       /* components of the graph of links up at the end */
  uint64_t safety_violations;
  int failed;                   /* a check failed */
  char failure[256];            /* the first failed check */
};

struct sim_opts {
  uint64_t seed;
  int seed_set;                 /* 0: use the scenario's seed */
  uint32_t runs;                /* >= 1 */
  const char *out_dir;          /* NULL: write nothing */
  FILE *log;                    /* progress and failures; NULL = quiet */
};

/* Run the scenario with o->runs seeds (seed, seed+1, ...). Writes per-run files to
 * out_dir (run_<seed>/ when runs > 1) and, for runs > 1, aggregate.json/csv with
 * means and 95% confidence intervals. sums (may be NULL) receives o->runs summaries.
 * Returns 0 when every run passed its checks, E_INTERNAL when a check failed (the
 * seed is printed to o->log), or a setup error (E_CONFIG, E_IO, E_NOMEM...) with a
 * message in why. */
MOMEDO_WUR int sim_run_all(const struct sim_scn *scn, const struct sim_opts *o,
                           struct sim_summary *sums, char *why, size_t why_cap);

/* The headline measures that --runs aggregates (aggregate.json/csv), in their fixed
 * order: index -> name, name -> index (-1 unknown). */
uint32_t sim_metric_count(void);
const char *sim_metric_name(uint32_t i);
int sim_metric_find(const char *name);

/* Mean, sample standard deviation and 95% confidence half-width (Student's t) of n
 * values; ci is NAN for n < 2. */
struct sim_agg {
  uint32_t n;
  double mean, sd, ci;
};
/* Metric i over k summaries (undefined values, such as converge_ms < 0, left out). */
struct sim_agg sim_metric_agg(const struct sim_summary *s, uint32_t k, uint32_t i);
/* Over v[0..k): non-finite values are left out. */
struct sim_agg sim_agg_of(const double *v, uint32_t k);

/* One run with one seed; out_dir NULL writes nothing. */
MOMEDO_WUR int sim_run_one(const struct sim_scn *scn, uint64_t seed, const char *out_dir,
                           FILE *log, struct sim_summary *sum, char *why, size_t why_cap);

/* --set: text with PARAM=VALUE applied to the first line it names (malloc'ed into
 * *out). PARAM is
 *   KEYWORD.KEY  that line's KEY=VALUE replaced or added (protocol.k, link.loss, ...);
 *   repl.NAME    the line "repl NAME VALUE" replaced or added;
 *   KEYWORD      the line becomes "KEYWORD VALUE" (nodes, duration, seed, topology ...);
 * a line is added when none has that keyword. Comments on the rewritten line go.
 * The result is a scenario text for sim_scn_parse, which checks it. E_CONFIG with a
 * reason in why for a malformed PARAM=VALUE. */
MOMEDO_WUR int sim_scn_set(const char *text, const char *assign, char **out,
                           char *why, size_t why_cap);

/* --sweep PARAM=V1,V2,...: for each value, the scenario with PARAM=VALUE (above) run
 * with o->runs seeds; writes sweep.csv (one row per value: mean and 95% CI of every
 * measure) and sweep.svg (the measure named plot, default t_ave_ms, against the
 * value) into o->out_dir, or the CSV to stdout without one. Returns 0, E_INTERNAL when
 * a check failed in some run (the sweep still completes), or a setup error. */
MOMEDO_WUR int sim_sweep(const struct sim_scn_text *t, const char *spec, const char *plot,
                         const struct sim_opts *o, char *why, size_t why_cap);

/* --validate: run the validation table (simulations/sim_valid.c: every literature
 * figure the simulator is checked against) with scenarios from dir, runs seeds per row
 * (0: each section's smaller test count), writing the Markdown page to md (may be
 * NULL) and progress and out-of-band figures to log (may be NULL). Returns 0, or
 * E_INTERNAL when an asserted figure is out of its band, or a setup error. */
MOMEDO_WUR int sim_validate(const char *dir, uint32_t runs, FILE *md, FILE *log,
                            char *why, size_t why_cap);

/* --report: the runs under dir (each DIR/<run>/summary.json, optionally time.txt with
 * "WALL_S MAXRSS_KIB") side by side: writes dir/report.csv and dir/bytes.svg (bytes per
 * node sent and held against N, per delivery mode, log-log) and a Markdown table to md
 * (may be NULL). E_NOTFOUND when no run is there, E_IO. */
MOMEDO_WUR int sim_report(const char *dir, FILE *md, char *why, size_t why_cap);

#endif
