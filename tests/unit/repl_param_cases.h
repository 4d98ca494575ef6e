/* tests/unit/repl_param_cases.h — values for the replication engine's parameter table,
 * shared by the tests of the table (test_repl_param.c) and of its two front-ends,
 * momedo.conf (test_node_config.c) and the simulator's `repl` lines (test_sim_scn.c):
 * each front-end must accept the good ones with the same result and refuse the bad
 * ones with the table's own message. */
#ifndef MOMEDO_TEST_REPL_PARAM_CASES_H
#define MOMEDO_TEST_REPL_PARAM_CASES_H

#include <stdint.h>

struct repl_param_case {
  const char *name, *text;
  uint64_t want; /* good cases: the value in the parameter's unit */
};

static const struct repl_param_case repl_param_good[] = {
    {"recon_interval_ms", "60000", 60000},
    {"recon_interval_ms", "60s", 60000},
    {"recon_interval_ms", "1000", 1000},             /* the minimum */
    {"recon_interval_ms", "1d", 86400000},           /* the maximum */
    {"recon_interval_ms", "10m", 600000},
    {"recon_jitter_ms", "0", 0},
    {"recon_jitter_ms", "250ms", 250},
    {"recon_start_delay_ms_max", "2h", 7200000},
    {"recon_branch", "2", 2},
    {"recon_branch", "64", 64},
    {"recon_leaf_ids_max", "256", 256},
    {"peer_queue_bytes_max", "65536", 65536},
    {"peer_queue_bytes_max", "8MiB", 8388608},
    {"peer_queue_bytes_max", "1GiB", 1073741824},
    {"scope", "scoped", 0},
    {"scope", "flood", 1},
    {"custody_hops_max", "255", 255},
    {"record_lifetime_ms", "7d", 604800000},
    {"lookup_timeout_ms", "5s", 5000},
};
#define REPL_PARAM_GOOD_N (sizeof repl_param_good / sizeof repl_param_good[0])

static const struct repl_param_case repl_param_bad[] = {
    {"recon_interval_ms", "999", 0},                  /* below the minimum */
    {"recon_interval_ms", "0", 0},
    {"recon_interval_ms", "2d", 0},                   /* above the maximum */
    {"recon_interval_ms", "1.5s", 0},                 /* no fractions */
    {"recon_interval_ms", "-1", 0},
    {"recon_interval_ms", "+1000", 0},
    {"recon_interval_ms", "60 s", 0},
    {"recon_interval_ms", "60sec", 0},
    {"recon_interval_ms", "0x3e8", 0},
    {"recon_interval_ms", "1e4", 0},
    {"recon_interval_ms", "60MiB", 0},                /* a size suffix on a time */
    {"recon_interval_ms", "18446744073709551616", 0}, /* 2^64 */
    {"recon_interval_ms", "18446744073709551615d", 0},
    {"recon_jitter_ms", "86400001", 0},
    {"recon_start_delay_ms_max", "ms", 0},
    {"recon_branch", "1", 0},
    {"recon_branch", "65", 0},
    {"recon_branch", "4294967298", 0},                /* 2^32 + 2: was clamped, now refused */
    {"recon_branch", "8s", 0},                        /* a time suffix on a count */
    {"recon_leaf_ids_max", "0", 0},
    {"recon_leaf_ids_max", "257", 0},
    {"peer_queue_bytes_max", "65535", 0},
    {"peer_queue_bytes_max", "4294967296", 0},        /* 4 GiB: above 1 GiB */
    {"peer_queue_bytes_max", "2GiB", 0},
    {"peer_queue_bytes_max", "8MB", 0},
    {"peer_queue_bytes_max", "8m", 0},
    {"scope", "Flood", 0},                            /* choices are spelled exactly */
    {"scope", "1", 0},                                /* by name, not by number */
    {"scope", "flooding", 0},
    {"custody_hops_max", "256", 0},
    {"custody_hops_max", "0", 0},
    {"record_lifetime_ms", "8d", 0},                  /* above OBJ_RECORD_LIFETIME_MS_MAX */
    {"lookup_candidates_max", "9", 0},
};
#define REPL_PARAM_BAD_N (sizeof repl_param_bad / sizeof repl_param_bad[0])

#endif
