/* protocol/store_mem.c — the in-memory store: a skip list of (key, value) nodes
 * in byte order, for the simulator and unit tests. No persistence, no clock, no
 * rand() (levels come from a per-store xorshift with a fixed seed, so runs
 * replay exactly). Must not allocate while applying a batch: all-or-nothing. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "store.h"

/* p = 1/4 per level; 4^16 keys before the top level is crowded. */
#define MEM_LEVELS_MAX 16
/* Batches up to this size prepare their nodes in a stack array. */
#define MEM_PREP_STACK 16

_Static_assert(STORE_KEY_BYTES_MAX <= UINT32_MAX && STORE_VALUE_BYTES_MAX <= UINT32_MAX,
               "mem_node stores lengths in 32 bits");

/* Key bytes then value bytes follow next[height]. 16 bytes of header: the
 * simulator holds many stores, so per-key overhead counts. */
struct mem_node {
  uint32_t kn; /* <= STORE_KEY_BYTES_MAX */
  uint32_t vn; /* <= STORE_VALUE_BYTES_MAX */
  uint8_t height;
  struct mem_node *next[];
};

struct store_mem {
  struct store base;
  struct mem_node *head[MEM_LEVELS_MAX];
  int level;             /* levels in use, 1..MEM_LEVELS_MAX */
  struct rng rng;        /* node heights */
  size_t count;          /* keys */
  size_t bytes;          /* node bytes + sizeof(struct store_mem) */
  uint64_t gen;          /* bumped by every applied write, seen by iter */
  int iter_depth;        /* > 0 while an iteration callback runs */
  struct mem_node *dead; /* nodes unlinked during iteration, freed after it */
};

static const struct store_vtbl mem_vtbl;

static size_t node_bytes(int height, size_t kn, size_t vn) {
  return sizeof(struct mem_node) + (size_t)height * sizeof(struct mem_node *) + kn + vn;
}

static inline uint8_t *node_key(struct mem_node *n) {
  return (uint8_t *)&n->next[n->height];
}

static inline uint8_t *node_val(struct mem_node *n) {
  return node_key(n) + n->kn;
}

/* Byte order: memcmp over the common prefix, then the shorter key first. */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c;
  return an < bn ? -1 : an > bn;
}

static int node_cmp(struct mem_node *n, const void *k, size_t kn) {
  return key_cmp(node_key(n), n->kn, k, kn);
}

static int random_height(struct store_mem *m) {
  uint64_t x = rng_next(&m->rng);
  int h = 1;
  while (h < MEM_LEVELS_MAX && (x & 3) == 0) {
    h++;
    x >>= 2;
  }
  return h;
}

/* Fill upd[i] with the slot (a predecessor's next[i], or head[i]) after which
 * k belongs at level i. or_equal: stop before keys >= k (lower bound) or, when
 * set, before keys > k. Returns the node right after the level-0 slot. */
static struct mem_node *mem_seek(struct store_mem *m, const void *k, size_t kn,
                                 int after_equal, struct mem_node ***upd) {
  struct mem_node **x = m->head;
  for (int lvl = MEM_LEVELS_MAX - 1; lvl >= 0; lvl--) {
    if (lvl < m->level) {
      for (;;) {
        struct mem_node *n = x[lvl];
        if (!n) break;
        int c = node_cmp(n, k, kn);
        if (c > 0 || (c == 0 && !after_equal)) break;
        x = n->next;
      }
    }
    if (upd) upd[lvl] = &x[lvl];
  }
  return x[0];
}

static void node_release(struct store_mem *m, struct mem_node *n) {
  m->bytes -= node_bytes(n->height, n->kn, n->vn);
  m->count--;
  if (m->iter_depth > 0) {
    /* An iteration may hold n; keep its key readable until the iteration ends. */
    n->next[0] = m->dead;
    m->dead = n;
  } else {
    free(n);
  }
}

static int mem_get(struct store *s, const void *k, size_t kn, void **v, size_t *vn) {
  struct store_mem *m = (struct store_mem *)s;
  if (kn > STORE_KEY_BYTES_MAX) return MOMEDO_E_TOOBIG;
  struct mem_node *n = mem_seek(m, k, kn, 0, NULL);
  if (!n || node_cmp(n, k, kn) != 0) return MOMEDO_E_NOTFOUND;
  void *p = malloc(n->vn ? n->vn : 1);
  if (!p) return MOMEDO_E_NOMEM;
  if (n->vn) memcpy(p, node_val(n), n->vn);
  *v = p;
  *vn = n->vn;
  return 0;
}

static struct mem_node *node_new(struct store_mem *m, const struct store_op *op) {
  int h = random_height(m);
  struct mem_node *n = malloc(node_bytes(h, op->kn, op->vn));
  if (!n) return NULL;
  /* The batch enforced the key and value maxima, so these fit. */
  n->kn = (uint32_t)op->kn;
  n->vn = (uint32_t)op->vn;
  n->height = (uint8_t)h;
  if (op->kn) memcpy(node_key(n), op->k, op->kn);
  if (op->vn) memcpy(node_val(n), op->v, op->vn);
  return n;
}

/* Apply one operation; fresh is the prepared node for a put. Cannot fail. */
static void mem_apply(struct store_mem *m, const struct store_op *op, struct mem_node *fresh) {
  struct mem_node **upd[MEM_LEVELS_MAX];
  struct mem_node *n = mem_seek(m, op->k, op->kn, 0, upd);
  if (n && node_cmp(n, op->k, op->kn) == 0) {
    for (int i = 0; i < n->height; i++) {
      assert(*upd[i] == n);
      *upd[i] = n->next[i];
    }
    node_release(m, n);
  }
  if (!fresh) return;
  for (int i = 0; i < fresh->height; i++) {
    fresh->next[i] = *upd[i];
    *upd[i] = fresh;
  }
  if (fresh->height > m->level) m->level = fresh->height;
  m->bytes += node_bytes(fresh->height, fresh->kn, fresh->vn);
  m->count++;
}

/* Two phases: allocate every put's node, then link them in order. Only the
 * first phase can fail, and then nothing has changed. */
static int mem_write(struct store *s, const struct store_batch *b) {
  struct store_mem *m = (struct store_mem *)s;
  struct mem_node *stack[MEM_PREP_STACK];
  struct mem_node **prep = stack;
  size_t n = store_batch_count(b), made = 0;
  int rc = store_batch_status(b);
  if (rc) return rc;
  if (n > MEM_PREP_STACK) {
    prep = malloc(n * sizeof *prep);
    if (!prep) return MOMEDO_E_NOMEM;
  }
  struct store_op op;
  for (; made < n; made++) {
    store_batch_op(b, made, &op);
    prep[made] = NULL;
    if (op.is_delete) continue;
    prep[made] = node_new(m, &op);
    if (!prep[made]) {
      rc = MOMEDO_E_NOMEM;
      goto out;
    }
  }
  for (size_t i = 0; i < n; i++) {
    store_batch_op(b, i, &op);
    mem_apply(m, &op, prep[i]);
    prep[i] = NULL; /* now owned by the list */
  }
  if (n) m->gen++;
out:
  for (size_t i = 0; i < made; i++) free(prep[i]);
  if (prep != stack) free(prep);
  return rc;
}

static void mem_bury(struct store_mem *m) {
  while (m->dead) {
    struct mem_node *n = m->dead;
    m->dead = n->next[0];
    free(n);
  }
}

static int mem_iter(struct store *s, const void *lo, size_t lon, const void *hi, size_t hin,
                    store_iter_fn fn, void *ctx) {
  struct store_mem *m = (struct store_mem *)s;
  int rc = 0;
  if (hi && key_cmp(lo, lon, hi, hin) >= 0) return 0;
  m->iter_depth++;
  struct mem_node *n = mem_seek(m, lo, lon, 0, NULL);
  while (n && !(hi && node_cmp(n, hi, hin) >= 0)) {
    uint64_t gen = m->gen;
    rc = fn(ctx, node_key(n), n->kn, node_val(n), n->vn);
    if (rc) break;
    /* A write in fn may have unlinked n (its memory is kept in m->dead until
     * the iteration ends) or changed its neighbours: seek past its key. */
    n = gen == m->gen ? n->next[0] : mem_seek(m, node_key(n), n->kn, 1, NULL);
  }
  if (--m->iter_depth == 0) mem_bury(m);
  return rc;
}

static void mem_close(struct store *s) {
  struct store_mem *m = (struct store_mem *)s;
  assert(m->iter_depth == 0);
  struct mem_node *n = m->head[0];
  while (n) {
    struct mem_node *next = n->next[0];
    free(n);
    n = next;
  }
  mem_bury(m);
  free(m);
}

static const struct store_vtbl mem_vtbl = {
    .get = mem_get, .write = mem_write, .iter = mem_iter, .close = mem_close};

int store_mem_open(struct store **out) {
  struct store_mem *m = calloc(1, sizeof *m);
  if (!m) return MOMEDO_E_NOMEM;
  m->base.vt = &mem_vtbl;
  m->level = 1;
  rng_seed(&m->rng, 1); /* a constant: replayable */
  m->bytes = sizeof *m;
  *out = &m->base;
  return 0;
}

size_t store_mem_bytes(const struct store *s) {
  assert(s->vt == &mem_vtbl);
  return ((const struct store_mem *)s)->bytes;
}

size_t store_mem_count(const struct store *s) {
  assert(s->vt == &mem_vtbl);
  return ((const struct store_mem *)s)->count;
}
