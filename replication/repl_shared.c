/* replication/repl_shared.c — what engines in one process share: node keys as dense
 * numbers (gids), node records interned by record ID (one decoded, refcounted copy per
 * distinct record however many engines hold it), the newest record each engine issued,
 * and, for engines whose records live only here, their record slots across a restart.
 * Memory only: no store, no clock. Never decides validity: engines intern only records
 * they checked and accepted themselves. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"
#include "repl_int.h"

int repl_shared_new(uint64_t seed, struct repl_shared **out) {
  struct repl_shared *sh = calloc(1, sizeof *sh);
  if (!sh) return MOMEDO_E_NOMEM;
  sh->seed = seed;
  *out = sh;
  return 0;
}

static void srec_free(struct repl_srec *s) {
  free(s->nb);
  free(s->bloom);
  free(s->bytes);
  free(s);
}

static void park_drop(struct repl_shared *sh, struct repl_parked *p) {
  for (size_t i = 0; i < p->nnodes; i++)
    if (p->nodes[i].rec) repl__srec_put(sh, p->nodes[i].rec);
  free(p->nodes);
  memset(p, 0, sizeof *p);
}

void repl_shared_free(struct repl_shared *sh) {
  if (!sh) return;
  for (size_t g = 0; g < sh->nkeys; g++) {
    park_drop(sh, &sh->parked[g]);
    if (sh->newest[g]) repl__srec_put(sh, sh->newest[g]);
  }
  /* Anything still interned belongs to an engine not freed first (a caller bug):
   * freed anyway, so a leak checker sees the table clean. */
  for (size_t i = 0; i < sh->rhash_cap; i++)
    if (sh->rhash[i]) srec_free(sh->rhash[i]);
  free(sh->rhash);
  free(sh->keys);
  free(sh->khash);
  free(sh->newest);
  free(sh->parked);
  free(sh);
}

static uint64_t mix(uint64_t h) {
  h ^= h >> 31;
  h *= 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  return h;
}

/* ---- keys <-> gids ------------------------------------------------------------- */

static size_t kslot(const struct repl_shared *sh, const uint8_t *key) {
  return (size_t)mix(be64_get(key) ^ sh->seed) & (sh->khash_cap - 1);
}

static int keys_grow(struct repl_shared *sh) {
  uint32_t ncap = sh->keys_cap ? sh->keys_cap * 2 : 64;
  uint8_t(*k)[OBJ_KEY_LEN] = realloc(sh->keys, (size_t)ncap * OBJ_KEY_LEN);
  if (!k) return MOMEDO_E_NOMEM;
  sh->keys = k;
  struct repl_srec **nw = realloc(sh->newest, ncap * sizeof *nw);
  if (!nw) return MOMEDO_E_NOMEM;
  sh->newest = nw;
  struct repl_parked *pk = realloc(sh->parked, ncap * sizeof *pk);
  if (!pk) return MOMEDO_E_NOMEM;
  sh->parked = pk;
  memset(nw + sh->keys_cap, 0, (ncap - sh->keys_cap) * sizeof *nw);
  memset(pk + sh->keys_cap, 0, (ncap - sh->keys_cap) * sizeof *pk);
  sh->keys_cap = ncap;
  size_t hcap = (size_t)ncap * 2;
  uint32_t *h = calloc(hcap, sizeof *h);
  if (!h) return MOMEDO_E_NOMEM;
  free(sh->khash);
  sh->khash = h;
  sh->khash_cap = hcap;
  for (uint32_t g = 0; g < sh->nkeys; g++) {
    size_t i = kslot(sh, sh->keys[g]);
    while (h[i]) i = (i + 1) & (hcap - 1);
    h[i] = g + 1;
  }
  return 0;
}

uint32_t repl__key_gid(struct repl_shared *sh, const uint8_t key[static OBJ_KEY_LEN], bool add) {
  if (sh->khash_cap) {
    for (size_t i = kslot(sh, key);; i = (i + 1) & (sh->khash_cap - 1)) {
      uint32_t v = sh->khash[i];
      if (!v) break;
      if (memcmp(sh->keys[v - 1], key, OBJ_KEY_LEN) == 0) return v - 1;
    }
  }
  if (!add) return UINT32_MAX;
  if (sh->nkeys == sh->keys_cap && keys_grow(sh)) return UINT32_MAX;
  uint32_t g = sh->nkeys++;
  memcpy(sh->keys[g], key, OBJ_KEY_LEN);
  size_t i = kslot(sh, key);
  while (sh->khash[i]) i = (i + 1) & (sh->khash_cap - 1);
  sh->khash[i] = g + 1;
  return g;
}

/* ---- records by ID ---------------------------------------------------------------- */

static size_t rslot0(const struct repl_shared *sh, const uint8_t *id) {
  return (size_t)mix(be64_get(id) ^ ~sh->seed) & (sh->rhash_cap - 1);
}

struct repl_srec *repl__srec_find(const struct repl_shared *sh, const uint8_t id[static OBJ_ID_LEN]) {
  if (!sh->rhash_cap) return NULL;
  for (size_t i = rslot0(sh, id);; i = (i + 1) & (sh->rhash_cap - 1)) {
    struct repl_srec *s = sh->rhash[i];
    if (!s) return NULL;
    if (memcmp(s->id, id, OBJ_ID_LEN) == 0) return s;
  }
}

static int rhash_grow(struct repl_shared *sh) {
  size_t ncap = sh->rhash_cap ? sh->rhash_cap * 2 : 64;
  struct repl_srec **nh = calloc(ncap, sizeof *nh), **old = sh->rhash;
  if (!nh) return MOMEDO_E_NOMEM;
  size_t ocap = sh->rhash_cap;
  sh->rhash = nh;
  sh->rhash_cap = ncap;
  for (size_t j = 0; j < ocap; j++) {
    if (!old[j]) continue;
    size_t i = rslot0(sh, old[j]->id);
    while (nh[i]) i = (i + 1) & (ncap - 1);
    nh[i] = old[j];
  }
  free(old);
  return 0;
}

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The fields routes and lookups use, from checked record bytes. */
static int srec_fill(struct repl_shared *sh, struct repl_srec *s, const Momedo__NodeRecord *m) {
  if (m->node_key.len != OBJ_KEY_LEN) return MOMEDO_E_CORRUPT;
  if ((s->gid = repl__key_gid(sh, m->node_key.data, true)) == UINT32_MAX) return MOMEDO_E_NOMEM;
  if (!(s->nb = malloc((m->n_neighbors ? m->n_neighbors : 1) * sizeof *s->nb)))
    return MOMEDO_E_NOMEM;
  for (size_t j = 0; j < m->n_neighbors; j++) {
    if (m->neighbors[j].len != OBJ_KEY_LEN) return MOMEDO_E_CORRUPT;
    if ((s->nb[j] = repl__key_gid(sh, m->neighbors[j].data, true)) == UINT32_MAX)
      return MOMEDO_E_NOMEM;
  }
  s->n_nb = (uint32_t)m->n_neighbors;
  qsort(s->nb, s->n_nb, sizeof *s->nb, u32_cmp);
  if (m->users_bloom.len) {
    if (!(s->bloom = malloc(m->users_bloom.len))) return MOMEDO_E_NOMEM;
    memcpy(s->bloom, m->users_bloom.data, m->users_bloom.len);
  }
  s->bloom_len = (uint32_t)m->users_bloom.len;
  s->bloom_k = m->bloom_hashes;
  s->seq = m->seq;
  s->created_ms = m->created_ms;
  s->expires_ms = m->expires_ms;
  size_t nl = strnlen(m->name ? m->name : "", REPL_NAME_CHARS_MAX);
  memcpy(s->name, m->name ? m->name : "", nl);
  s->name[nl] = '\0';
  return 0;
}

static int srec_make(struct repl_shared *sh, const uint8_t *id, const uint8_t *data,
                     size_t len, struct repl_srec **out) {
  struct arena a;
  ProtobufCMessage *msg = NULL;
  struct repl_srec *s = calloc(1, sizeof *s);
  if (!s) return MOMEDO_E_NOMEM;
  memcpy(s->id, id, OBJ_ID_LEN);
  arena_init(&a, OBJ_DECODE_BYTES_MAX);
  int rc = obj_unpack(MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, data, len, &a, &msg);
  if (rc == 0) rc = srec_fill(sh, s, (const Momedo__NodeRecord *)msg);
  arena_close(&a);
  if (rc == 0 && !(s->bytes = malloc(len ? len : 1))) rc = MOMEDO_E_NOMEM;
  if (rc) {
    srec_free(s);
    return rc;
  }
  memcpy(s->bytes, data, len);
  s->len = len;
  *out = s;
  return 0;
}

int repl__srec_intern(struct repl_shared *sh, const uint8_t id[static OBJ_ID_LEN],
                      const uint8_t *data, size_t len, struct repl_srec **out) {
  struct repl_srec *s = repl__srec_find(sh, id);
  if (s) {
    s->refs++;
    *out = s;
    return 0;
  }
  if ((sh->nrecs + 1) * 2 > sh->rhash_cap && rhash_grow(sh)) return MOMEDO_E_NOMEM;
  int rc = srec_make(sh, id, data, len, &s);
  if (rc) return rc;
  s->refs = 1;
  size_t i = rslot0(sh, id);
  while (sh->rhash[i]) i = (i + 1) & (sh->rhash_cap - 1);
  sh->rhash[i] = s;
  sh->nrecs++;
  *out = s;
  return 0;
}

/* Linear probing: close the gap so every later entry of the cluster stays findable. */
static void rhash_del(struct repl_shared *sh, size_t i) {
  size_t m = sh->rhash_cap - 1;
  sh->rhash[i] = NULL;
  for (size_t j = (i + 1) & m; sh->rhash[j]; j = (j + 1) & m) {
    size_t home = rslot0(sh, sh->rhash[j]->id);
    /* Move j into the hole i unless its home lies cyclically in (i, j]. */
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    sh->rhash[i] = sh->rhash[j];
    sh->rhash[j] = NULL;
    i = j;
  }
}

void repl__srec_put(struct repl_shared *sh, struct repl_srec *s) {
  assert(s->refs > 0);
  if (--s->refs) return;
  for (size_t i = rslot0(sh, s->id);; i = (i + 1) & (sh->rhash_cap - 1)) {
    if (sh->rhash[i] == s) {
      rhash_del(sh, i);
      break;
    }
    assert(sh->rhash[i]);
  }
  sh->nrecs--;
  srec_free(s);
}

/* ---- the newest own record of each engine, and parked slots ------------------------ */

void repl__shared_publish(struct repl_shared *sh, struct repl_srec *s) {
  struct repl_srec **e = &sh->newest[s->gid];
  if (*e && (*e)->seq >= s->seq) return;
  s->refs++;
  if (*e) repl__srec_put(sh, *e);
  *e = s;
}

void repl__shared_park(struct repl_shared *sh, uint32_t gid, struct repl_node *nodes,
                       size_t n) {
  park_drop(sh, &sh->parked[gid]);
  sh->parked[gid] = (struct repl_parked){nodes, n};
}

struct repl_node *repl__shared_unpark(struct repl_shared *sh, uint32_t gid, size_t *n) {
  struct repl_parked *p = &sh->parked[gid];
  struct repl_node *nodes = p->nodes;
  *n = p->nnodes;
  memset(p, 0, sizeof *p);
  return nodes;
}

void repl_shared_forget(struct repl_shared *sh, const uint8_t key[static OBJ_KEY_LEN]) {
  uint32_t g = repl__key_gid(sh, key, false);
  if (g != UINT32_MAX) park_drop(sh, &sh->parked[g]);
}
