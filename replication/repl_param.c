/* replication/repl_param.c — the engine's parameter table: every field of struct
 * repl_config a front-end may set, with its unit, default, bounds and meaning. momedod
 * (node/config.c) and momedo-sim (simulations/sim_scn.c) read this one table, so both
 * spell, parse and bound the parameters alike; repl_new refuses what is outside it.
 * Pure: no I/O. A new parameter is one row here (and its field in struct repl_config). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "repl.h"
#include "reason.h"

#define DAY_MS (24ull * 3600 * 1000)
#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)

#define FIELD(f) offsetof(struct repl_config, f), sizeof(((struct repl_config *)0)->f)
#define HOUR_MS (3600ull * 1000)

static const char *const scope_names[] = {"scoped", "flood", NULL};
static const char *const record_push_names[] = {"lazy", "eager", NULL};
static const char *const item_push_names[] = {"eager", "lazy", NULL};

const struct repl_param repl_params[] = {
    {"recon_interval_ms", REPL_UNIT_MS, 60000, 1000, DAY_MS, FIELD(recon_interval_ms),
     "time between reconciliation rounds with each neighbor, plus a random jitter", NULL},
    {"recon_jitter_ms", REPL_UNIT_MS, 15000, 0, DAY_MS, FIELD(recon_jitter_ms),
     "largest random time added to each interval, so rounds do not align", NULL},
    {"recon_start_delay_ms_max", REPL_UNIT_MS, 1000, 0, DAY_MS,
     FIELD(recon_start_delay_ms_max),
     "largest random delay of the first round after a link comes up (0: at once)", NULL},
    {"recon_branch", REPL_UNIT_COUNT, 8, 2, 64, FIELD(recon_branch),
     "buckets a differing range is split into per reconciliation step", NULL},
    {"recon_leaf_ids_max", REPL_UNIT_COUNT, 8, 1, 256, FIELD(recon_leaf_ids_max),
     "a differing range with at most this many IDs is sent as a list", NULL},
    {"peer_queue_bytes_max", REPL_UNIT_BYTES, 8ull * 1024 * 1024, 64 * KIB, GIB,
     FIELD(peer_queue_bytes_max),
     "bytes queued for one neighbor before no more traffic is generated for it", NULL},
    {"scope", REPL_UNIT_CHOICE, REPL_SCOPE_SCOPED, REPL_SCOPE_SCOPED, REPL_SCOPE_FLOOD,
     FIELD(scope),
     "scoped: objects travel to their destination nodes; flood: every object everywhere",
     scope_names},
    {"record_refresh_ms", REPL_UNIT_MS, 12 * HOUR_MS, 1000, 3 * DAY_MS,
     FIELD(record_refresh_ms), "the own node record is signed anew this often", NULL},
    {"record_lifetime_ms", REPL_UNIT_MS, DAY_MS, 2000, 7 * DAY_MS, FIELD(record_lifetime_ms),
     "a node record expires this long after it was signed (refreshed by half of it)", NULL},
    {"record_min_interval_ms", REPL_UNIT_MS, 60000, 0, DAY_MS, FIELD(record_min_interval_ms),
     "a changed user summary waits at least this long after the last record", NULL},
    {"route_holddown_ms", REPL_UNIT_MS, 180000, 0, HOUR_MS, FIELD(route_holddown_ms),
     "a link that went down stays in the own record this long (a restart costs no record)",
     NULL},
    {"route_holddown_max_ms", REPL_UNIT_MS, HOUR_MS / 2, 0, DAY_MS, FIELD(route_holddown_max_ms),
     "a link down again within this long is held twice as long as the last time, up to this",
     NULL},
    {"route_spf_delay_ms", REPL_UNIT_MS, 100, 0, 60000, FIELD(route_spf_delay_ms),
     "routes are searched again this long after another node's links changed (at least)",
     NULL},
    {"route_spf_max_ms", REPL_UNIT_MS, 10000, 0, 600000, FIELD(route_spf_max_ms),
     "while links keep changing, the wait between two route searches doubles up to this",
     NULL},
    {"custody_retry_ms", REPL_UNIT_MS, 30000, 100, HOUR_MS, FIELD(custody_retry_ms),
     "an object handed on without acknowledgement is handed on again after this long", NULL},
    {"custody_hops_max", REPL_UNIT_COUNT, 32, 1, 255, FIELD(custody_hops_max),
     "hops an object may be handed on before it waits a retry interval (bounds loops)", NULL},
    {"lookup_timeout_ms", REPL_UNIT_MS, 5000, 100, 300000, FIELD(lookup_timeout_ms),
     "a lookup without an answer ends as not found after this long", NULL},
    {"lookup_cache_ms", REPL_UNIT_MS, HOUR_MS, 1000, 7 * DAY_MS, FIELD(lookup_cache_ms),
     "bundles and aliases a lookup fetched are kept this long", NULL},
    {"lookup_candidates_max", REPL_UNIT_COUNT, REPL_LOOKUP_HINTS_MAX, 1,
     REPL_LOOKUP_HINTS_MAX, FIELD(lookup_candidates_max),
     "nodes one lookup asks at most (nearest first)", NULL},
    {"routed_per_peer_per_s", REPL_UNIT_COUNT, 200, 1, 100000, FIELD(routed_per_peer_per_s),
     "lookup messages accepted from one neighbor per second; more are dropped", NULL},
    {"peer_ingest_objects_per_min", REPL_UNIT_COUNT, 60000, 100, 100000000,
     FIELD(peer_ingest_objects_per_min),
     "objects one neighbor may send per minute (pushes, custody); beyond, its messages wait",
     NULL},
    {"peer_ingest_per_min_bytes_max", REPL_UNIT_BYTES, 256 * MIB, REPL_MSG_BYTES_MAX,
     64 * GIB, FIELD(peer_ingest_per_min_bytes_max),
     "object bytes one neighbor may send per minute; beyond, its messages wait", NULL},
    {"peer_recon_msgs_per_min", REPL_UNIT_COUNT, 1200, 10, 1000000,
     FIELD(peer_recon_msgs_per_min),
     "reconciliation messages of one neighbor answered per minute; more are not answered",
     NULL},
    {"peer_recon_push_per_min_bytes_max", REPL_UNIT_BYTES, 64 * MIB, REPL_PUSH_BYTES_MAX,
     64 * GIB, FIELD(peer_recon_push_per_min_bytes_max),
     "object bytes pushed per minute in answer to one neighbor's reconciliation", NULL},
    {"signer_ingest_objects_per_min", REPL_UNIT_COUNT, 15000, 10, 100000000,
     FIELD(signer_ingest_objects_per_min),
     "scoped: items, chunks and aliases one signing node may bring in per minute, over all "
     "neighbors; beyond, they wait", NULL},
    {"signer_ingest_per_min_bytes_max", REPL_UNIT_BYTES, 64 * MIB, OBJ_BYTES_MAX, 64 * GIB,
     FIELD(signer_ingest_per_min_bytes_max),
     "scoped: object bytes one signing node may bring in per minute; beyond, they wait",
     NULL},
    {"record_push", REPL_UNIT_CHOICE, REPL_RECORD_PUSH_LAZY, REPL_RECORD_PUSH_LAZY,
     REPL_RECORD_PUSH_EAGER, FIELD(record_push),
     "lazy: relayed node records are announced and pulled; eager: pushed whole on every link",
     record_push_names},
    {"record_pull_timeout_ms", REPL_UNIT_MS, 2000, 100, 300000, FIELD(record_pull_timeout_ms),
     "a record pulled and not received by then is pulled from another neighbor", NULL},
    {"item_push", REPL_UNIT_CHOICE, REPL_ITEM_PUSH_EAGER, REPL_ITEM_PUSH_EAGER,
     REPL_ITEM_PUSH_LAZY, FIELD(item_push),
     "eager: new objects pushed whole on every link; lazy: whole on a tree of links, "
     "announced on the others (Plumtree)",
     item_push_names},
    {"item_graft_timeout_ms", REPL_UNIT_MS, 1000, 10, 300000, FIELD(item_graft_timeout_ms),
     "an announced object not received by then is asked for from its announcer", NULL},
};
#undef FIELD

const size_t repl_params_n = sizeof repl_params / sizeof repl_params[0];
_Static_assert(sizeof repl_params / sizeof repl_params[0] <= REPL_PARAMS_MAX,
               "raise REPL_PARAMS_MAX");

struct suffix {
  const char *s;
  uint64_t mul;
};

static const struct suffix sfx_ms[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", DAY_MS}, {NULL, 0}};
static const struct suffix sfx_bytes[] = {
    {"KiB", KIB}, {"MiB", KIB * KIB}, {"GiB", GIB}, {NULL, 0}};
static const struct suffix sfx_none[] = {{NULL, 0}};

_Static_assert(sizeof(((struct repl_config *)0)->scope) == 4, "scope is a 4-byte field");

static const struct suffix *suffixes(enum repl_param_unit u) {
  return u == REPL_UNIT_MS ? sfx_ms : u == REPL_UNIT_BYTES ? sfx_bytes : sfx_none;
}

void repl_config_default(struct repl_config *c) {
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < repl_params_n; i++) {
    int rc = repl_param_set(c, &repl_params[i], repl_params[i].def);
    (void)rc; /* defaults are within bounds: test_repl_param checks every row */
  }
}

const struct repl_param *repl_param_find(const char *name) {
  for (size_t i = 0; i < repl_params_n; i++)
    if (strcmp(repl_params[i].name, name) == 0) return &repl_params[i];
  return NULL;
}

uint64_t repl_param_get(const struct repl_config *c, const struct repl_param *p) {
  const char *f = (const char *)c + p->off;
  if (p->size == sizeof(uint32_t)) {
    uint32_t v;
    memcpy(&v, f, sizeof v);
    return v;
  }
  uint64_t v;
  memcpy(&v, f, sizeof v);
  return v;
}

int repl_param_set(struct repl_config *c, const struct repl_param *p, uint64_t v) {
  char *f = (char *)c + p->off;
  if (v < p->min || v > p->max) return MOMEDO_E_BOUNDS;
  if (p->size == sizeof(uint32_t))
    memcpy(f, &(uint32_t){(uint32_t)v}, sizeof(uint32_t));
  else
    memcpy(f, &v, sizeof v);
  return 0;
}

int repl_config_check(const struct repl_config *c) {
  for (size_t i = 0; i < repl_params_n; i++) {
    uint64_t v = repl_param_get(c, &repl_params[i]);
    if (v < repl_params[i].min || v > repl_params[i].max) return MOMEDO_E_INVAL;
  }
  return 0;
}

void repl_param_bounds_text(const struct repl_param *p, char *out, size_t cap) {
  static const char *const units[] = {" of milliseconds", " of bytes", "", ""};
  const struct suffix *sx = suffixes(p->unit);
  size_t n = 0;
  if (cap == 0) return;
  out[0] = '\0';
  if (p->unit == REPL_UNIT_CHOICE) {
    n += (size_t)snprintf(out, cap, "one of");
    for (size_t i = 0; p->choices[i] && n < cap; i++)
      n += (size_t)snprintf(out + n, cap - n, "%s %s", i ? "," : "", p->choices[i]);
    return;
  }
  n += (size_t)snprintf(out, cap, "a whole number%s from %llu to %llu", units[p->unit],
                        (unsigned long long)p->min, (unsigned long long)p->max);
  for (size_t i = 0; sx[i].s && n < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : " (or with a suffix: ", sx[i].s);
  if (sx[0].s && n < cap) snprintf(out + n, cap - n, ")");
}

/* Digits, then (for times and sizes) an optional unit suffix; nothing else. A choice
 * is one of its names, exactly. */
static int parse_value(const struct repl_param *p, const char *s, uint64_t *out) {
  uint64_t v = 0, mul = 1;
  size_t i = 0;
  if (p->unit == REPL_UNIT_CHOICE) {
    for (; p->choices[i]; i++)
      if (strcmp(p->choices[i], s) == 0) return *out = i, 0;
    return MOMEDO_E_CONFIG;
  }
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return MOMEDO_E_BOUNDS;
    v = v * 10 + d;
  }
  if (i == 0) return MOMEDO_E_CONFIG;
  if (s[i] != '\0') {
    const struct suffix *sx = suffixes(p->unit);
    while (sx->s && strcmp(sx->s, s + i) != 0) sx++;
    if (!sx->s) return MOMEDO_E_CONFIG;
    mul = sx->mul;
  }
  if (v > UINT64_MAX / mul) return MOMEDO_E_BOUNDS;
  *out = v * mul;
  return 0;
}

int repl_param_parse(const struct repl_param *p, const char *text, uint64_t *out, char *why,
                     size_t why_cap) {
  uint64_t v = 0;
  char bounds[REPL_PARAM_TEXT_MAX];
  int rc = parse_value(p, text, &v);
  if (rc == 0 && (v < p->min || v > p->max)) rc = MOMEDO_E_BOUNDS;
  if (rc == 0) {
    *out = v;
    return 0;
  }
  repl_param_bounds_text(p, bounds, sizeof bounds);
  reason_set(why, why_cap, "%s must be %s, not '%.40s'", p->name, bounds, text);
  return MOMEDO_E_CONFIG;
}
