/* simulations/sim_store.c — the simulator's store: the store.h contract (ordered keys,
 * atomic batches, iteration that tolerates writes) in a form that is lean and fast for
 * thousands of stores in one process: sorted leaves of 64 entries with an 8-byte key
 * prefix inline, and values whose tail is an object the simulator signed kept as a
 * reference to that one shared copy. Never used by momedod; no clock, no randomness. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "store.h"

#define LEAF_MAX 64
#define SPARE_LEAVES_MAX 64
#define SHARE_MIN_BYTES 96 /* shorter values are not worth a lookup */

struct ent {
  uint32_t kn;
  uint32_t vn;   /* logical value length */
  int32_t ref;   /* object whose bytes end the value, or -1 */
  uint8_t *kv;   /* key, then the value (without the shared tail) */
};

/* Prefixes (first 8 key bytes, big-endian, zero padded) apart from the entries, so
 * a binary search touches few cache lines; most comparisons end there. */
struct leaf {
  uint32_t n;
  uint64_t pfx[LEAF_MAX];
  struct ent e[LEAF_MAX];
};

struct sstore {
  struct store base;
  struct sim *sim;
  struct leaf **lv;
  uint64_t *first;  /* first[i] = lv[i]->pfx[0], contiguous for the top-level search */
  uint32_t nl, cap;
  struct leaf *spare[SPARE_LEAVES_MAX];
  uint32_t nspare;
  uint64_t gen;
  size_t count, bytes;
};

static uint64_t prefix(const uint8_t *k, size_t kn) {
  uint64_t p = 0;
  for (size_t i = 0; i < 8; i++) p = p << 8 | (i < kn ? k[i] : 0);
  return p;
}

static uint64_t load_be64(const uint8_t *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return __builtin_bswap64(x);
}

/* Byte order after equal prefixes: 8 bytes at a time, then the shorter key first. */
static int tail_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn, i = 8;
  for (; i + 8 <= n; i += 8) {
    uint64_t x = load_be64(a + i), y = load_be64(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  for (; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return an < bn ? -1 : an > bn;
}

/* Entry i of leaf l against key (k, kn) with prefix p. */
static int ent_cmp(const struct leaf *l, uint32_t i, uint64_t p, const uint8_t *k, size_t kn) {
  if (l->pfx[i] != p) return l->pfx[i] < p ? -1 : 1;
  return tail_cmp(l->e[i].kv, l->e[i].kn, k, kn);
}

/* Lower bound of k: leaf *li, position *pos (may equal the leaf's n). 1 if equal. */
static int seek(const struct sstore *s, const uint8_t *k, size_t kn, uint32_t *li, uint32_t *pos) {
  uint64_t p = prefix(k, kn);
  uint32_t lo = 0, hi = s->nl; /* last leaf whose first key <= k */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = s->first[mid] != p ? (s->first[mid] < p ? -1 : 1) : ent_cmp(s->lv[mid], 0, p, k, kn);
    if (c <= 0) lo = mid;
    else hi = mid;
  }
  const struct leaf *l = s->lv[lo];
  uint32_t a = 0, b = l->n;
  while (a < b) {
    uint32_t mid = a + (b - a) / 2;
    if (ent_cmp(l, mid, p, k, kn) < 0) a = mid + 1;
    else b = mid;
  }
  *li = lo;
  *pos = a;
  return a < l->n && ent_cmp(l, a, p, k, kn) == 0;
}

static size_t stored_vn(const struct sstore *s, const struct ent *e) {
  return e->ref < 0 ? e->vn : e->vn - s->sim->objs[e->ref].size;
}

static void value_copy(const struct sstore *s, const struct ent *e, uint8_t *out) {
  size_t sv = stored_vn(s, e);
  if (sv) memcpy(out, e->kv + e->kn, sv);
  if (e->ref >= 0) memcpy(out + sv, s->sim->objs[e->ref].bytes, e->vn - sv);
}

static int ss_get(struct store *st, const void *k, size_t kn, void **v, size_t *vn) {
  struct sstore *s = (struct sstore *)st;
  uint32_t li, pos;
  if (kn > STORE_KEY_BYTES_MAX) return MOMEDO_E_TOOBIG;
  if (!seek(s, k, kn, &li, &pos)) return MOMEDO_E_NOTFOUND;
  const struct ent *e = &s->lv[li]->e[pos];
  uint8_t *p = malloc(e->vn ? e->vn : 1);
  if (!p) return MOMEDO_E_NOMEM;
  value_copy(s, e, p);
  *v = p;
  *vn = e->vn;
  return 0;
}

/* A new entry for a put: the value's tail is shared when it is a known object. */
static int ent_make(struct sstore *s, const struct store_op *op, struct ent *e, uint64_t *pfx) {
  int32_t ref = op->vn >= SHARE_MIN_BYTES ? sim__obj_by_suffix(s->sim, op->v, op->vn) : -1;
  size_t sv = ref < 0 ? op->vn : op->vn - s->sim->objs[ref].size;
  e->kv = malloc(op->kn + sv + 1);
  if (!e->kv) return MOMEDO_E_NOMEM;
  memcpy(e->kv, op->k, op->kn);
  if (sv) memcpy(e->kv + op->kn, op->v, sv);
  *pfx = prefix(op->k, op->kn);
  e->kn = (uint32_t)op->kn;
  e->vn = (uint32_t)op->vn;
  e->ref = ref;
  return 0;
}

static void ent_release(struct sstore *s, struct ent *e) {
  s->bytes -= sizeof *e + sizeof(uint64_t) + e->kn + stored_vn(s, e);
  s->count--;
  free(e->kv);
}

static void leaf_insert(struct leaf *l, uint32_t pos, const struct ent *e, uint64_t pfx) {
  memmove(&l->e[pos + 1], &l->e[pos], (l->n - pos) * sizeof *l->e);
  memmove(&l->pfx[pos + 1], &l->pfx[pos], (l->n - pos) * sizeof *l->pfx);
  l->e[pos] = *e;
  l->pfx[pos] = pfx;
  l->n++;
}

/* Split full leaf li in halves; the new right half comes from the reserved spares. */
static void leaf_split(struct sstore *s, uint32_t li) {
  struct leaf *l = s->lv[li], *r = s->spare[--s->nspare];
  r->n = LEAF_MAX / 2;
  memcpy(r->e, &l->e[LEAF_MAX / 2], (LEAF_MAX / 2) * sizeof *r->e);
  memcpy(r->pfx, &l->pfx[LEAF_MAX / 2], (LEAF_MAX / 2) * sizeof *r->pfx);
  l->n = LEAF_MAX / 2;
  memmove(&s->lv[li + 2], &s->lv[li + 1], (s->nl - li - 1) * sizeof *s->lv);
  memmove(&s->first[li + 2], &s->first[li + 1], (s->nl - li - 1) * sizeof *s->first);
  s->lv[li + 1] = r;
  s->first[li + 1] = r->pfx[0];
  s->nl++;
}

static void apply_put(struct sstore *s, struct ent *fresh, uint64_t pfx) {
  uint32_t li, pos;
  if (seek(s, fresh->kv, fresh->kn, &li, &pos)) {
    ent_release(s, &s->lv[li]->e[pos]);
    s->lv[li]->e[pos] = *fresh;
  } else {
    if (s->lv[li]->n == LEAF_MAX) {
      leaf_split(s, li);
      if (pos > LEAF_MAX / 2) li++, pos -= LEAF_MAX / 2;
    }
    leaf_insert(s->lv[li], pos, fresh, pfx);
    s->first[li] = s->lv[li]->pfx[0];
  }
  s->bytes += sizeof *fresh + sizeof pfx + fresh->kn + stored_vn(s, fresh);
  s->count++;
}

static void apply_del(struct sstore *s, const uint8_t *k, size_t kn) {
  uint32_t li, pos;
  if (!seek(s, k, kn, &li, &pos)) return;
  struct leaf *l = s->lv[li];
  ent_release(s, &l->e[pos]);
  memmove(&l->e[pos], &l->e[pos + 1], (l->n - pos - 1) * sizeof *l->e);
  memmove(&l->pfx[pos], &l->pfx[pos + 1], (l->n - pos - 1) * sizeof *l->pfx);
  if (--l->n == 0 && s->nl > 1) {
    memmove(&s->lv[li], &s->lv[li + 1], (s->nl - li - 1) * sizeof *s->lv);
    memmove(&s->first[li], &s->first[li + 1], (s->nl - li - 1) * sizeof *s->first);
    s->nl--;
    if (s->nspare < SPARE_LEAVES_MAX) s->spare[s->nspare++] = l;
    else free(l);
  } else if (l->n) {
    s->first[li] = l->pfx[0];
  }
}

/* Reserve everything a batch could need (entries, leaves for splits, leaf slots),
 * then apply it: only the reservation can fail, and then nothing has changed. */
static int ss_write(struct store *st, const struct store_batch *b) {
  struct sstore *s = (struct sstore *)st;
  size_t n = store_batch_count(b), puts = 0, made = 0;
  int rc = store_batch_status(b);
  struct store_op op;
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) store_batch_op(b, i, &op), puts += !op.is_delete;
  if (puts > SPARE_LEAVES_MAX) return MOMEDO_E_TOOBIG; /* never with the engine's batches */
  struct ent *fresh = calloc(puts + 1, sizeof *fresh);
  uint64_t *fp = calloc(puts + 1, sizeof *fp);
  if (!fresh || !fp) {
    free(fresh);
    free(fp);
    return MOMEDO_E_NOMEM;
  }
  while (s->nspare < puts && (s->spare[s->nspare] = malloc(sizeof(struct leaf)))) s->nspare++;
  if (s->nspare < puts) rc = MOMEDO_E_NOMEM;
  if (!rc && s->nl + puts > s->cap) {
    uint32_t nc = s->cap * 2 + (uint32_t)puts;
    struct leaf **nlv = realloc(s->lv, nc * sizeof *nlv);
    if (nlv) s->lv = nlv;
    uint64_t *nf = nlv ? realloc(s->first, nc * sizeof *nf) : NULL;
    if (nf) s->first = nf, s->cap = nc;
    else rc = MOMEDO_E_NOMEM;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    store_batch_op(b, i, &op);
    if (!op.is_delete) rc = ent_make(s, &op, &fresh[made], &fp[made]), made++;
  }
  if (rc) {
    for (size_t i = 0; i < made; i++) free(fresh[i].kv);
    free(fresh);
    free(fp);
    return rc;
  }
  made = 0;
  for (size_t i = 0; i < n; i++) {
    store_batch_op(b, i, &op);
    if (op.is_delete) apply_del(s, op.k, op.kn);
    else apply_put(s, &fresh[made], fp[made]), made++;
  }
  if (n) s->gen++;
  free(fresh);
  free(fp);
  return 0;
}

static int ss_iter(struct store *st, const void *lo, size_t lon, const void *hi, size_t hin,
                   store_iter_fn fn, void *ctx) {
  struct sstore *s = (struct sstore *)st;
  uint8_t key[STORE_KEY_BYTES_MAX], *val = NULL;
  size_t val_cap = 0, kn;
  uint64_t hpfx = hi ? prefix(hi, hin) : 0;
  uint32_t li, pos;
  int rc = 0, after = 0;
  if (lon > STORE_KEY_BYTES_MAX) return MOMEDO_E_TOOBIG;
  memcpy(key, lo, lon);
  kn = lon;
  for (;;) {
    /* Seek from the last key each time: a write in fn may have moved everything. */
    int eq = seek(s, key, kn, &li, &pos);
    if (after && eq) pos++;
    while (li < s->nl && pos >= s->lv[li]->n) li++, pos = 0;
    if (li >= s->nl) break;
    const struct ent *e = &s->lv[li]->e[pos];
    if (hi && ent_cmp(s->lv[li], pos, hpfx, hi, hin) >= 0) break;
    if (e->vn > val_cap) {
      uint8_t *nv = realloc(val, e->vn);
      if (!nv) {
        rc = MOMEDO_E_NOMEM;
        break;
      }
      val = nv, val_cap = e->vn;
    }
    value_copy(s, e, val);
    kn = e->kn;
    memcpy(key, e->kv, kn);
    after = 1;
    if ((rc = fn(ctx, key, kn, val, e->vn))) break;
  }
  free(val);
  return rc;
}

static void ss_close(struct store *st) {
  struct sstore *s = (struct sstore *)st;
  for (uint32_t i = 0; i < s->nl; i++) {
    for (uint32_t j = 0; j < s->lv[i]->n; j++) free(s->lv[i]->e[j].kv);
    free(s->lv[i]);
  }
  for (uint32_t i = 0; i < s->nspare; i++) free(s->spare[i]);
  free(s->lv);
  free(s->first);
  free(s);
}

static const struct store_vtbl ss_vtbl = {.get = ss_get, .write = ss_write, .iter = ss_iter, .close = ss_close};

int sim_store_open(struct sim *sim, struct store **out) {
  struct sstore *s = calloc(1, sizeof *s);
  if (!s) return MOMEDO_E_NOMEM;
  s->base.vt = &ss_vtbl;
  s->sim = sim;
  s->cap = 4;
  s->lv = malloc(s->cap * sizeof *s->lv);
  s->first = calloc(s->cap, sizeof *s->first);
  if (s->lv) s->lv[0] = calloc(1, sizeof(struct leaf));
  if (!s->lv || !s->first || !s->lv[0]) {
    if (s->lv) free(s->lv[0]);
    free(s->lv);
    free(s->first);
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
