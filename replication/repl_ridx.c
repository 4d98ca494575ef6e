/* replication/repl_ridx.c — the set of live node records an engine reconciles (scope 2).
 * Engines with a shared table (the simulator's thousands) keep only the set's count and
 * 256-bit sum, from which the whole-set fingerprint follows; the sorted index is built
 * from the node table when a round's fingerprints differ and dropped when a round finds
 * the sets equal. Engines with their own table (momedod) keep the index always. Same
 * answers either way (tests/unit/test_repl_ridx.c); no store, no clock. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "repl_int.h"

bool repl__ridx_lazy(const struct repl *r) { return r->rec_mem && !r->cfg.record_index_eager; }

static void agg_id(struct repl_agg *a, const uint8_t *id, bool add) {
  struct repl_u256 v;
  repl__u256_from_id(&v, id);
  if (add) {
    a->count++;
    repl__u256_add(&a->sum, &v);
  } else {
    a->count--;
    repl__u256_sub(&a->sum, &v);
  }
}

int repl__ridx_add(struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  if (!repl__ridx_lazy(r)) return repl__idx_insert(&r->ridx, id);
  if (r->ridx_built) {
    int rc = repl__idx_insert(&r->ridx, id);
    if (rc <= 0) return rc;
  }
  agg_id(&r->ragg, id, true);
  return 1;
}

int repl__ridx_del(struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  if (!repl__ridx_lazy(r)) return repl__idx_remove(&r->ridx, id);
  if (r->ridx_built && !repl__idx_remove(&r->ridx, id)) return 0;
  agg_id(&r->ragg, id, false);
  return 1;
}

bool repl__ridx_has(const struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  if (!repl__ridx_lazy(r)) return repl__idx_has(&r->ridx, id);
  /* Live here: the node's slot holds exactly this interned record, live. */
  const struct repl_srec *s = repl__srec_find(r->shared, id);
  if (!s || s->gid >= r->nnodes) return false;
  const struct repl_node *n = &r->nodes[s->gid];
  return n->rec == s && n->live;
}

uint64_t repl__ridx_count(const struct repl *r) {
  return repl__ridx_lazy(r) ? r->ragg.count : r->ridx.total;
}

void repl__ridx_total(const struct repl *r, struct repl_agg *out) {
  if (repl__ridx_lazy(r)) *out = r->ragg;
  else repl__idx_total(&r->ridx, out);
}

/* An ID to sort by its first 8 bytes (big-endian: the order of memcmp) and only on a
 * tie by all 32: the sort compares integers in one array instead of calling memcmp on
 * two records elsewhere in memory (the sort was ~7% of a 1,920-node scale run). */
struct id_ref {
  uint64_t pfx;
  const uint8_t *id;
};

static int ref_cmp(const void *a, const void *b) {
  const struct id_ref *x = a, *y = b;
  if (x->pfx != y->pfx) return x->pfx < y->pfx ? -1 : 1;
  return memcmp(x->id, y->id, OBJ_ID_LEN);
}

/* The sorted index of the live records, built from the node table on first use. */
int repl__ridx_ready(struct repl *r) {
  if (!repl__ridx_lazy(r) || r->ridx_built) return 0;
  struct id_ref *ids = malloc((r->ragg.count ? r->ragg.count : 1) * sizeof *ids);
  if (!ids) return MOMEDO_E_NOMEM;
  size_t n = 0;
  for (size_t g = 0; g < r->nnodes && n < r->ragg.count; g++)
    if (r->nodes[g].rec && r->nodes[g].live) {
      ids[n].id = r->nodes[g].rec->id;
      ids[n++].pfx = be64_get(r->nodes[g].rec->id);
    }
  qsort(ids, n, sizeof *ids, ref_cmp);
  int rc = 0;
  for (size_t i = 0; i < n && rc >= 0; i++) rc = repl__idx_insert(&r->ridx, ids[i].id);
  free(ids);
  if (rc < 0) {
    repl__idx_close(&r->ridx);
    repl__idx_init(&r->ridx);
    return rc;
  }
  r->ridx_built = true;
  r->st.record_index_builds++;
  return 0;
}

void repl__ridx_release(struct repl *r) {
  if (!repl__ridx_lazy(r) || !r->ridx_built) return;
  repl__idx_close(&r->ridx);
  repl__idx_init(&r->ridx);
  r->ridx_built = false;
}
