/* simulations/sim_store.c — the simulator's store: the store.h contract (ordered keys,
 * atomic batches, iteration that tolerates writes) in a form that is lean and fast for
 * thousands of stores in one process: sorted leaves of 32 entries holding the first
 * 48 bytes of each key inline, key and value bytes in a per-store slab, and values
 * that end with an object the simulator signed kept as a reference to its one shared
 * copy (the head as a diff against the first head stored before that object).
 * Never used by momedod; no clock, no randomness. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "store.h"

#define LEAF_MAX 32
#define SPARE_LEAVES_MAX 64
#define KEY_INLINE 48        /* key bytes kept in the leaf; longer keys also go to the slab */
#define KX_WORDS 4           /* key bytes 16..47 as big-endian words */
#define SHARE_MIN_BYTES 96   /* shorter values are not worth a lookup */
#define TPL_MIN_BYTES 32     /* heads outside [min, max] are stored as they are */
#define TPL_MAX_BYTES 1024
#define RUN_BYTES_MAX 255    /* one diff run: offset(2) length(1) bytes */
#define SLAB_GRAIN 16        /* size classes of 16, 32, ... SLAB_CLASSES * 16 bytes */
#define SLAB_CLASSES 16      /* larger key+value allocations come from malloc */
#define SLAB_BLOCK_BYTES_MIN 1024
#define SLAB_BLOCK_BYTES_MAX (64 * 1024)
#define STACK_PUTS 16        /* puts per batch handled without a heap array */

/* How an entry's value is kept (the logical value is always vn bytes). */
enum {
  ENC_RAW = 0,  /* all vn bytes stored */
  ENC_TAIL,     /* the head stored, then object ref's bytes */
  ENC_DIFF,     /* the head as runs against object ref's head template, then its bytes */
  ENC_ID,       /* the value is object ref's ID (32 bytes), nothing stored */
};

struct ent {
  uint8_t *kv;   /* key (only if longer than KEY_INLINE), then the stored value;
                    NULL when both are empty */
  uint32_t vn;   /* logical value length */
  int32_t ref;   /* object the value refers to, or -1 */
  uint32_t sn;   /* stored value bytes */
  uint16_t kn;
  uint8_t enc;
};

/* Key bytes 0..15 and 16..47 as big-endian numbers, zero padded. Comparing them in
 * order is comparing the keys' first 48 bytes; equal words and a key of at most 48
 * bytes make the shorter key a prefix of the longer. */
struct kp {
  uint64_t a, b;
};
struct kx {
  uint64_t w[KX_WORDS];
};

/* A key being looked up: its words computed once. */
struct skey {
  struct kp p;
  struct kx x;
  const uint8_t *k;
  size_t kn;
};

/* The first words apart from the rest, so a binary search touches few cache lines;
 * keys that share 16 bytes (one mailbox's arrival entries) are told apart by the
 * next words in the same leaf, not by a pointer to the key. */
struct leaf {
  uint32_t n;
  uint8_t perm[LEAF_MAX]; /* slot of the entry of each rank: entries never move on
                             insert, only these bytes do */
  struct kp pfx[LEAF_MAX];
  struct kx ext[LEAF_MAX];
  struct ent e[LEAF_MAX];
};

/* Per-store slab for key+value bytes: no per-entry malloc header, freed chunks are
 * reused by size class, and closing a store frees a few blocks, not every entry. */
struct slab_block {
  struct slab_block *next;
  _Alignas(16) uint8_t data[];
};

struct slab_class {
  void *free;            /* freed chunks, linked through their first bytes */
  uint8_t *cur, *end;    /* unused part of the newest block */
  uint32_t block_bytes;  /* next block size (doubles up to SLAB_BLOCK_BYTES_MAX) */
};

struct top {
  struct kp first; /* = leaf->pfx[0] */
  struct leaf *leaf;
};

struct sstore {
  struct store base;
  struct sim *sim;
  /* Leaves in key order with their first key's words beside the pointer, so the
   * top-level search and the step to the leaf share cache lines. */
  struct top *top;
  uint32_t nl, cap;
  struct leaf *spare[SPARE_LEAVES_MAX];
  uint32_t nspare;
  size_t count, bytes;
  size_t nbig;      /* entries whose kv came from malloc */
  struct slab_class cls[SLAB_CLASSES];
  struct slab_block *blocks;
};

static void *slab_alloc(struct sstore *s, size_t n) {
  if (n > SLAB_CLASSES * SLAB_GRAIN) {
    void *p = malloc(n);
    if (p) s->nbig++;
    return p;
  }
  size_t ci = n ? (n - 1) / SLAB_GRAIN : 0, sz = (ci + 1) * SLAB_GRAIN;
  struct slab_class *c = &s->cls[ci];
  if (c->free) {
    void *p = c->free;
    memcpy(&c->free, p, sizeof(void *));
    return p;
  }
  if ((size_t)(c->end - c->cur) < sz) {
    uint32_t bb = c->block_bytes ? c->block_bytes : SLAB_BLOCK_BYTES_MIN;
    struct slab_block *b = malloc(sizeof *b + bb);
    if (!b) return NULL;
    b->next = s->blocks;
    s->blocks = b;
    c->cur = b->data;
    c->end = b->data + bb / sz * sz;
    c->block_bytes = bb * 2 > SLAB_BLOCK_BYTES_MAX ? SLAB_BLOCK_BYTES_MAX : bb * 2;
  }
  void *p = c->cur;
  c->cur += sz;
  return p;
}

static void slab_free(struct sstore *s, void *p, size_t n) {
  if (n > SLAB_CLASSES * SLAB_GRAIN) {
    free(p);
    s->nbig--;
    return;
  }
  struct slab_class *c = &s->cls[n ? (n - 1) / SLAB_GRAIN : 0];
  memcpy(p, &c->free, sizeof(void *));
  c->free = p;
}

static uint64_t load_be64(const uint8_t *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return __builtin_bswap64(x);
}

/* Big-endian word of key bytes [off, off + 8), zero padded. */
static uint64_t key_word(const uint8_t *k, size_t kn, size_t off) {
  if (off + 8 <= kn) return load_be64(k + off);
  uint64_t w = 0;
  for (size_t i = off; i < off + 8; i++) w = w << 8 | (i < kn ? k[i] : 0);
  return w;
}

static void skey_make(struct skey *q, const uint8_t *k, size_t kn) {
  q->p.a = key_word(k, kn, 0);
  q->p.b = key_word(k, kn, 8);
  for (int i = 0; i < KX_WORDS; i++) q->x.w[i] = key_word(k, kn, 16 + 8 * (size_t)i);
  q->k = k;
  q->kn = kn;
}

static size_t kv_key_len(size_t kn) { return kn > KEY_INLINE ? kn : 0; }

static inline int kp_cmp(const struct kp *x, const struct kp *y) {
  if (x->a != y->a) return x->a < y->a ? -1 : 1;
  if (x->b != y->b) return x->b < y->b ? -1 : 1;
  return 0;
}

static int kx_cmp(const struct kx *x, const struct kx *y) {
  for (int i = 0; i < KX_WORDS; i++)
    if (x->w[i] != y->w[i]) return x->w[i] < y->w[i] ? -1 : 1;
  return 0;
}

/* The entry of rank i of leaf l against q. Past equal words, a key of at most
 * KEY_INLINE bytes is a prefix of the other; only two longer keys compare their
 * remaining bytes. */
static int ent_cmp(const struct leaf *l, uint32_t rank, const struct skey *q) {
  uint32_t i = l->perm[rank];
  int c = kp_cmp(&l->pfx[i], &q->p);
  if (!c) c = kx_cmp(&l->ext[i], &q->x);
  if (c) return c;
  size_t en = l->e[i].kn;
  if (en > KEY_INLINE && q->kn > KEY_INLINE) {
    const uint8_t *ek = l->e[i].kv;
    size_t n = en < q->kn ? en : q->kn;
    for (size_t j = KEY_INLINE; j < n; j++)
      if (ek[j] != q->k[j]) return ek[j] < q->k[j] ? -1 : 1;
  }
  return en < q->kn ? -1 : en > q->kn;
}

/* The key bytes of the entry of rank i of l into out (KEY_INLINE bytes at least). */
static void key_copy(const struct leaf *l, uint32_t rank, uint8_t *out) {
  uint32_t i = l->perm[rank];
  const struct ent *e = &l->e[i];
  if (e->kn > KEY_INLINE) {
    memcpy(out, e->kv, e->kn);
    return;
  }
  uint64_t w[2 + KX_WORDS] = {l->pfx[i].a, l->pfx[i].b};
  for (int j = 0; j < KX_WORDS; j++) w[2 + j] = l->ext[i].w[j];
  for (int j = 0; j < 2 + KX_WORDS; j++) {
    uint64_t be = __builtin_bswap64(w[j]);
    memcpy(out + 8 * j, &be, 8);
  }
}

/* The ranks and the first words: what a search reads. */
static void prefetch_leaf(const struct leaf *l) {
  for (const char *p = (const char *)l; p < (const char *)&l->pfx[LEAF_MAX]; p += 64)
    __builtin_prefetch(p);
  __builtin_prefetch(&l->pfx[LEAF_MAX - 1]);
}

/* Lower bound of q: leaf *li, position *pos (may equal the leaf's n). 1 if equal. */
static int seek(const struct sstore *s, const struct skey *q, uint32_t *li, uint32_t *pos) {
  uint32_t lo = 0, hi = s->nl; /* last leaf whose first key <= q */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = kp_cmp(&s->top[mid].first, &q->p);
    if (!c) c = ent_cmp(s->top[mid].leaf, 0, q);
    if (c <= 0) lo = mid;
    else hi = mid;
  }
  const struct leaf *l = s->top[lo].leaf;
  /* Ask for all the prefix lines at once rather than for each probe in turn. */
  prefetch_leaf(l);
  uint32_t a = 0, b = l->n;
  while (a < b) {
    uint32_t mid = a + (b - a) / 2;
    if (ent_cmp(l, mid, q) < 0) a = mid + 1;
    else b = mid;
  }
  *li = lo;
  *pos = a;
  return a < l->n && ent_cmp(l, a, q) == 0;
}

/* ---- value encodings ------------------------------------------------------------ */

static void value_copy(const struct sstore *s, const struct ent *e, uint8_t *out) {
  /* kv is NULL for an entry with neither a stored key nor a stored value. */
  const uint8_t *st = e->kv ? e->kv + kv_key_len(e->kn) : NULL;
  if (e->enc == ENC_RAW) {
    if (e->vn) memcpy(out, st, e->vn);
    return;
  }
  const struct sim_obj *o = &s->sim->objs[e->ref];
  if (e->enc == ENC_ID) {
    memcpy(out, o->info.id, OBJ_ID_LEN);
    return;
  }
  size_t hl = e->vn - o->size;
  if (e->enc == ENC_TAIL) {
    if (hl) memcpy(out, st, hl);
  } else {
    memcpy(out, o->tpl, hl);
    for (const uint8_t *r = st; st && r < st + e->sn; r += 3 + r[2])
      memcpy(out + ((size_t)r[0] << 8 | r[1]), r + 3, r[2]);
  }
  memcpy(out + hl, o->bytes, o->size);
}

/* head[0..n) as runs of bytes that differ from tpl into out (at most cap bytes).
 * Returns the encoded length (0: no difference), or SIZE_MAX when it would not be
 * shorter than cap. */
static size_t diff_encode(const uint8_t *head, const uint8_t *tpl, size_t n, uint8_t *out,
                          size_t cap) {
  size_t w = 0, i = 0;
  while (i < n) {
    if (head[i] == tpl[i]) {
      i++;
      continue;
    }
    /* A run: differing bytes, absorbing gaps shorter than a run header. */
    size_t j = i + 1, end = i + 1;
    while (j < n && j - i < RUN_BYTES_MAX) {
      if (head[j] != tpl[j]) end = j + 1;
      else if (j - end >= 3) break;
      j++;
    }
    size_t len = end - i;
    if (w + 3 + len >= cap) return SIZE_MAX;
    out[w] = (uint8_t)(i >> 8), out[w + 1] = (uint8_t)i, out[w + 2] = (uint8_t)len;
    memcpy(out + w + 3, head + i, len);
    w += 3 + len;
    i = end;
  }
  return w;
}

/* How to keep op's value: which object it refers to and the bytes to store after
 * the key (in buf, or op's own head). */
static int ent_plan(struct sstore *s, const struct store_op *op, struct ent *e, uint8_t *buf,
                    const uint8_t **stored) {
  e->ref = -1, e->enc = ENC_RAW, e->sn = (uint32_t)op->vn;
  *stored = op->v;
  int32_t ref = op->vn >= SHARE_MIN_BYTES ? sim__obj_by_suffix(s->sim, op->v, op->vn) : -1;
  if (ref < 0) {
    if (op->vn == OBJ_ID_LEN && (ref = sim__obj_by_id(s->sim, op->v)) >= 0)
      e->ref = ref, e->enc = ENC_ID, e->sn = 0;
    return 0;
  }
  struct sim_obj *o = &s->sim->objs[ref];
  size_t hl = op->vn - o->size;
  e->ref = ref, e->enc = ENC_TAIL, e->sn = (uint32_t)hl;
  if (hl < TPL_MIN_BYTES || hl > TPL_MAX_BYTES) return 0;
  if (!o->tpl) {
    /* The first head stored for this object becomes the template of all others. */
    if (!(o->tpl = malloc(hl))) return MOMEDO_E_NOMEM;
    memcpy(o->tpl, op->v, hl);
    o->tpl_len = (uint32_t)hl;
  }
  if (o->tpl_len != hl) return 0;
  size_t d = diff_encode(op->v, o->tpl, hl, buf, hl);
  if (d == SIZE_MAX) return 0;
  e->enc = ENC_DIFF;
  e->sn = (uint32_t)d;
  *stored = buf;
  return 0;
}

/* A new entry for a put. */
static int ent_make(struct sstore *s, const struct store_op *op, struct ent *e) {
  uint8_t buf[TPL_MAX_BYTES];
  const uint8_t *stored;
  if (op->kn > STORE_KEY_BYTES_MAX) return MOMEDO_E_TOOBIG; /* the batch checked it */
  int rc = ent_plan(s, op, e, buf, &stored);
  if (rc) return rc;
  uint32_t kl = op->kn > KEY_INLINE ? (uint32_t)op->kn : 0, total = kl + e->sn;
  e->kv = NULL;
  if (total && !(e->kv = slab_alloc(s, total))) return MOMEDO_E_NOMEM;
  if (kl) memcpy(e->kv, op->k, kl);
  if (e->sn) memcpy(e->kv + kl, stored, e->sn);
  e->kn = (uint16_t)op->kn;
  e->vn = (uint32_t)op->vn;
  return 0;
}

static size_t ent_bytes(const struct ent *e) {
  return sizeof *e + sizeof(struct kp) + sizeof(struct kx) + kv_key_len(e->kn) + e->sn;
}

static void ent_drop(struct sstore *s, const struct ent *e) {
  size_t n = kv_key_len(e->kn) + e->sn;
  if (n) slab_free(s, e->kv, n);
}

static void ent_release(struct sstore *s, struct ent *e) {
  s->bytes -= ent_bytes(e);
  s->count--;
  ent_drop(s, e);
}

static int ss_get(struct store *st, const void *k, size_t kn, void **v, size_t *vn) {
  struct sstore *s = (struct sstore *)st;
  uint32_t li, pos;
  struct skey q;
  if (kn > STORE_KEY_BYTES_MAX) return MOMEDO_E_TOOBIG;
  skey_make(&q, k, kn);
  if (!seek(s, &q, &li, &pos)) return MOMEDO_E_NOTFOUND;
  const struct leaf *l = s->top[li].leaf;
  const struct ent *e = &l->e[l->perm[pos]];
  uint8_t *p = malloc(e->vn ? e->vn : 1);
  if (!p) return MOMEDO_E_NOMEM;
  value_copy(s, e, p);
  *v = p;
  *vn = e->vn;
  return 0;
}

static void slot_copy(struct leaf *dst, uint32_t d, const struct leaf *src, uint32_t from) {
  dst->pfx[d] = src->pfx[from];
  dst->ext[d] = src->ext[from];
  dst->e[d] = src->e[from];
}

/* A new entry of rank pos goes to the next free slot; only the ranks shift. */
static void leaf_insert(struct leaf *l, uint32_t pos, const struct ent *e, const struct skey *q) {
  uint32_t slot = l->n;
  l->e[slot] = *e;
  l->pfx[slot] = q->p;
  l->ext[slot] = q->x;
  memmove(&l->perm[pos + 1], &l->perm[pos], l->n - pos);
  l->perm[pos] = (uint8_t)slot;
  l->n++;
}

/* Split full leaf li in halves, both then in slot order; the new right half comes
 * from the reserved spares. */
static void leaf_split(struct sstore *s, uint32_t li) {
  enum { HALF = LEAF_MAX / 2 };
  struct leaf *l = s->top[li].leaf, *r = s->spare[--s->nspare];
  struct kp pfx[HALF];
  struct kx ext[HALF];
  struct ent e[HALF];
  for (uint32_t j = 0; j < HALF; j++) {
    slot_copy(r, j, l, l->perm[HALF + j]);
    r->perm[j] = (uint8_t)j;
    uint32_t from = l->perm[j];
    pfx[j] = l->pfx[from], ext[j] = l->ext[from], e[j] = l->e[from];
  }
  for (uint32_t j = 0; j < HALF; j++) {
    l->pfx[j] = pfx[j], l->ext[j] = ext[j], l->e[j] = e[j];
    l->perm[j] = (uint8_t)j;
  }
  r->n = HALF;
  l->n = HALF;
  memmove(&s->top[li + 2], &s->top[li + 1], (s->nl - li - 1) * sizeof *s->top);
  s->top[li + 1] = (struct top){r->pfx[0], r};
  s->nl++;
}

static void apply_put(struct sstore *s, struct ent *fresh, const struct skey *q) {
  uint32_t li, pos;
  if (seek(s, q, &li, &pos)) {
    struct leaf *l = s->top[li].leaf;
    ent_release(s, &l->e[l->perm[pos]]);
    l->e[l->perm[pos]] = *fresh;
  } else {
    if (s->top[li].leaf->n == LEAF_MAX) {
      leaf_split(s, li);
      if (pos > LEAF_MAX / 2) li++, pos -= LEAF_MAX / 2;
    }
    leaf_insert(s->top[li].leaf, pos, fresh, q);
    if (pos == 0) s->top[li].first = q->p;
  }
  s->bytes += ent_bytes(fresh);
  s->count++;
}

static void apply_del(struct sstore *s, const struct skey *q) {
  uint32_t li, pos;
  if (!seek(s, q, &li, &pos)) return;
  struct leaf *l = s->top[li].leaf;
  uint32_t slot = l->perm[pos], last = l->n - 1;
  ent_release(s, &l->e[slot]);
  memmove(&l->perm[pos], &l->perm[pos + 1], l->n - pos - 1);
  if (slot != last) {
    /* The last slot fills the hole; its rank now points there. */
    slot_copy(l, slot, l, last);
    for (uint32_t r = 0; r < last; r++)
      if (l->perm[r] == last) l->perm[r] = (uint8_t)slot;
  }
  if (--l->n == 0 && s->nl > 1) {
    memmove(&s->top[li], &s->top[li + 1], (s->nl - li - 1) * sizeof *s->top);
    s->nl--;
    if (s->nspare < SPARE_LEAVES_MAX) s->spare[s->nspare++] = l;
    else free(l);
  } else if (l->n && pos == 0) {
    s->top[li].first = l->pfx[l->perm[0]];
  }
}

/* Run the top-level searches of a batch's keys side by side and then ask for their
 * leaves' prefix lines: the searches are independent, so their cache misses
 * overlap instead of following one another. Only warms the cache (ties between
 * prefixes may pick a neighbouring leaf); the operations then seek as usual. */
static void prefetch_keys(const struct sstore *s, const struct skey *q, size_t n) {
  uint32_t lo[STACK_PUTS], hi[STACK_PUTS];
  int active = 1;
  if (n > STACK_PUTS) n = STACK_PUTS;
  for (size_t i = 0; i < n; i++) lo[i] = 0, hi[i] = s->nl;
  while (active) {
    active = 0;
    for (size_t i = 0; i < n; i++) {
      if (hi[i] - lo[i] <= 1) continue;
      uint32_t mid = lo[i] + (hi[i] - lo[i]) / 2;
      int le = kp_cmp(&s->top[mid].first, &q[i].p) <= 0;
      lo[i] = le ? mid : lo[i];
      hi[i] = le ? hi[i] : mid;
      active = 1;
    }
  }
  for (size_t i = 0; i < n; i++) prefetch_leaf(s->top[lo[i]].leaf);
}

/* Everything a batch could need (leaves for splits, leaf slots). */
static int reserve(struct sstore *s, size_t puts) {
  while (s->nspare < puts && (s->spare[s->nspare] = malloc(sizeof(struct leaf)))) s->nspare++;
  if (s->nspare < puts) return MOMEDO_E_NOMEM;
  if (s->nl + puts > s->cap) {
    uint32_t nc = s->cap * 2 + (uint32_t)puts;
    struct top *nt = realloc(s->top, nc * sizeof *nt);
    if (!nt) return MOMEDO_E_NOMEM;
    s->top = nt, s->cap = nc;
  }
  return 0;
}

/* Reserve everything a batch could need and make its new entries, then apply it:
 * only the first part can fail, and then nothing has changed. */
static int ss_write(struct store *st, const struct store_batch *b) {
  struct sstore *s = (struct sstore *)st;
  size_t n = store_batch_count(b), puts = 0, made = 0;
  int rc = store_batch_status(b);
  struct store_op op;
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) store_batch_op(b, i, &op), puts += !op.is_delete;
  if (puts > SPARE_LEAVES_MAX) return MOMEDO_E_TOOBIG; /* never with the engine's batches */
  struct ent fresh_stack[STACK_PUTS], *fresh = fresh_stack;
  struct skey q_stack[STACK_PUTS], *q = q_stack;
  if (n > STACK_PUTS) {
    fresh = malloc(n * sizeof *fresh);
    q = malloc(n * sizeof *q);
    if (!fresh || !q) {
      free(fresh);
      free(q);
      return MOMEDO_E_NOMEM;
    }
  }
  for (size_t i = 0; i < n; i++) store_batch_op(b, i, &op), skey_make(&q[i], op.k, op.kn);
  if (n > 1) prefetch_keys(s, q, n);
  rc = reserve(s, puts);
  for (size_t i = 0; i < n && !rc; i++) {
    store_batch_op(b, i, &op);
    if (!op.is_delete) rc = ent_make(s, &op, &fresh[i]), made = i + 1;
  }
  /* On failure the entry made last has no bytes; the others go back. */
  for (size_t i = 0; rc && i + 1 < made; i++) {
    store_batch_op(b, i, &op);
    if (!op.is_delete) ent_drop(s, &fresh[i]);
  }
  for (size_t i = 0; i < n && !rc; i++) {
    store_batch_op(b, i, &op);
    if (op.is_delete) apply_del(s, &q[i]);
    else apply_put(s, &fresh[i], &q[i]);
  }
  if (fresh != fresh_stack) free(fresh), free(q);
  return rc;
}

static int ss_iter(struct store *st, const void *lo, size_t lon, const void *hi, size_t hin,
                   store_iter_fn fn, void *ctx) {
  struct sstore *s = (struct sstore *)st;
  uint8_t key[STORE_KEY_BYTES_MAX], *val = NULL;
  size_t val_cap = 0;
  struct skey q, qhi;
  uint32_t li, pos;
  int rc = 0, after = 0;
  if (lon > STORE_KEY_BYTES_MAX || hin > STORE_KEY_BYTES_MAX) return MOMEDO_E_TOOBIG;
  if (lon) memcpy(key, lo, lon);
  skey_make(&q, key, lon);
  if (hi) skey_make(&qhi, hi, hin);
  for (;;) {
    /* Seek from the last key each time: a write in fn may have moved everything. */
    int eq = seek(s, &q, &li, &pos);
    if (after && eq) pos++;
    while (li < s->nl && pos >= s->top[li].leaf->n) li++, pos = 0;
    if (li >= s->nl) break;
    const struct leaf *l = s->top[li].leaf;
    const struct ent *e = &l->e[l->perm[pos]];
    if (hi && ent_cmp(l, pos, &qhi) >= 0) break;
    if (e->vn > val_cap) {
      uint8_t *nv = realloc(val, e->vn);
      if (!nv) {
        rc = MOMEDO_E_NOMEM;
        break;
      }
      val = nv, val_cap = e->vn;
    }
    value_copy(s, e, val);
    key_copy(l, pos, key);
    skey_make(&q, key, e->kn);
    after = 1;
    if ((rc = fn(ctx, key, q.kn, val, e->vn))) break;
  }
  free(val);
  return rc;
}

static void ss_close(struct store *st) {
  struct sstore *s = (struct sstore *)st;
  for (uint32_t i = 0; i < s->nl; i++) {
    for (uint32_t j = 0; j < s->top[i].leaf->n && s->nbig; j++) {
      const struct ent *e = &s->top[i].leaf->e[j];
      if (kv_key_len(e->kn) + e->sn > SLAB_CLASSES * SLAB_GRAIN) ent_drop(s, e);
    }
    free(s->top[i].leaf);
  }
  for (uint32_t i = 0; i < s->nspare; i++) free(s->spare[i]);
  for (struct slab_block *b = s->blocks, *next; b; b = next) {
    next = b->next;
    free(b);
  }
  free(s->top);
  free(s);
}

static const struct store_vtbl ss_vtbl = {.get = ss_get, .write = ss_write, .iter = ss_iter, .close = ss_close};

int sim_store_open(struct sim *sim, struct store **out) {
  struct sstore *s = calloc(1, sizeof *s);
  if (!s) return MOMEDO_E_NOMEM;
  s->base.vt = &ss_vtbl;
  s->sim = sim;
  s->cap = 4;
  s->top = calloc(s->cap, sizeof *s->top);
  if (s->top) s->top[0].leaf = calloc(1, sizeof(struct leaf));
  if (!s->top || !s->top[0].leaf) {
    if (s->top) free(s->top[0].leaf);
    free(s->top);
    free(s);
    return MOMEDO_E_NOMEM;
  }
  s->nl = 1;
  *out = &s->base;
  return 0;
}

size_t sim_store_bytes(const struct store *st) {
  const struct sstore *s = (const struct sstore *)st;
  return sizeof *s + s->nl * sizeof(struct leaf) + s->bytes;
}
