/* replication/repl_idx.c — the in-memory ordered index of live object IDs with
 * counts and 256-bit sums, for range fingerprints in O(log n). Sorted chunks of
 * up to 128 IDs (each keeping its own count and sum), a contiguous table of each
 * chunk's first 8 ID bytes and count (searched without touching the chunks), plus
 * a Fenwick tree over the chunks. Knows nothing of objects, peers or the store. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "repl_int.h"

void repl__u256_add(struct repl_u256 *a, const struct repl_u256 *b) {
  unsigned carry = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t s = a->w[i] + b->w[i];
    unsigned c1 = s < a->w[i];
    uint64_t t = s + carry;
    unsigned c2 = t < s;
    a->w[i] = t;
    carry = c1 | c2;
  }
}

void repl__u256_sub(struct repl_u256 *a, const struct repl_u256 *b) {
  unsigned borrow = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t d = a->w[i] - b->w[i];
    unsigned b1 = a->w[i] < b->w[i];
    uint64_t t = d - borrow;
    unsigned b2 = d < borrow;
    a->w[i] = t;
    borrow = b1 | b2;
  }
}

/* IDs are read as little-endian 256-bit numbers (as negentropy does). */
void repl__u256_from_id(struct repl_u256 *a, const uint8_t id[static OBJ_ID_LEN]) {
  for (int i = 0; i < 4; i++) {
    uint64_t w = 0;
    for (int j = 7; j >= 0; j--) w = w << 8 | id[i * 8 + j];
    a->w[i] = w;
  }
}

static void agg_add(struct repl_agg *a, const struct repl_agg *b) {
  a->count += b->count;
  repl__u256_add(&a->sum, &b->sum);
}

static void agg_sub(struct repl_agg *a, const struct repl_agg *b) {
  a->count -= b->count;
  repl__u256_sub(&a->sum, &b->sum);
}

void repl__fingerprint(const struct repl_agg *a, uint8_t fp[static REPL_FP_LEN]) {
  uint8_t buf[32 + 10], h[CRYPTO_HASH_LEN];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) buf[i * 8 + j] = (uint8_t)(a->sum.w[i] >> (8 * j));
  size_t n = 32;
  uint64_t c = a->count;
  do {
    buf[n++] = (uint8_t)((c & 0x7f) | (c >= 0x80 ? 0x80 : 0));
    c >>= 7;
  } while (c);
  /* SHA-256 of 42 bytes cannot fail short of a broken crypto library. */
  int rc = crypto_sha256(h, buf, n);
  assert(rc == 0);
  (void)rc;
  memcpy(fp, h, REPL_FP_LEN);
}

/* ---- chunks ------------------------------------------------------------------ */

/* Chunk aggregates live beside the chunk so a Fenwick rebuild is O(chunks). */
struct chunk_wrap {
  struct repl_u256 sum;
  struct repl_idx_chunk c;
};

static struct chunk_wrap *wrap_of(struct repl_idx_chunk *c) {
  return (struct chunk_wrap *)((char *)c - offsetof(struct chunk_wrap, c));
}

static const struct chunk_wrap *cwrap_of(const struct repl_idx_chunk *c) {
  return (const struct chunk_wrap *)((const char *)c - offsetof(struct chunk_wrap, c));
}

void repl__idx_init(struct repl_idx *x) { memset(x, 0, sizeof *x); }

void repl__idx_close(struct repl_idx *x) {
  for (size_t i = 0; i < x->nchunks; i++) free(wrap_of(x->chunks[i]));
  free(x->chunks);
  free(x->first);
  free(x->cnt);
  free(x->fw);
  memset(x, 0, sizeof *x);
}

/* The first 8 bytes of an ID as a big-endian number: comparing these orders two IDs
 * unless they are equal, so most comparisons are one integer compare. */
static inline uint64_t id_pfx(const uint8_t *id) {
  uint64_t v;
  memcpy(&v, id, 8);
  return __builtin_bswap64(v);
}

/* memcmp order of a against key (whose prefix is kp). */
static inline int id_cmp(const uint8_t *a, const uint8_t *key, uint64_t kp) {
  uint64_t ap = id_pfx(a);
  if (ap != kp) return ap < kp ? -1 : 1;
  return memcmp(a + 8, key + 8, OBJ_ID_LEN - 8);
}

/* Index of the last chunk whose first ID <= key (0 if key precedes all). Searches
 * the contiguous array of first-ID prefixes, not the chunks themselves. */
static size_t find_chunk(const struct repl_idx *x, const uint8_t *key, uint64_t kp) {
  size_t lo = 0, hi = x->nchunks;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    uint64_t fp = x->first[mid];
    int c = fp != kp ? (fp < kp ? -1 : 1) : id_cmp(x->chunks[mid]->ids[0], key, kp);
    if (c <= 0)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* Lower bound of key in c->ids[lo, hi). */
static uint32_t chunk_bsearch(const struct repl_idx_chunk *c, const uint8_t *key, uint64_t kp,
                              uint32_t lo, uint32_t hi) {
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (id_cmp(c->ids[mid], key, kp) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* First position in chunk ci whose ID >= key. IDs are hashes, spread evenly over
 * the chunk's range [first[ci], first[ci + 1]): start where the key's prefix says it
 * should be, then gallop to a bracket and search that. That touches two or three
 * cache lines of the 4 KiB chunk instead of seven; skewed IDs only cost the
 * galloping, O(log n) like a plain binary search. */
static uint32_t chunk_lower(const struct repl_idx *x, size_t ci, const uint8_t *key, uint64_t kp) {
  const struct repl_idx_chunk *c = x->chunks[ci];
  uint32_t n = x->cnt[ci], lo, hi, step; /* not c->n: one cache miss less */
  uint64_t f0 = x->first[ci], f1 = ci + 1 < x->nchunks ? x->first[ci + 1] : UINT64_MAX;
  if (n < REPL_IDX_INTERP_MIN || kp <= f0 || f1 <= f0) return chunk_bsearch(c, key, kp, 0, n);
  double frac = (double)(kp - f0) / (double)(f1 - f0);
  uint32_t g = (uint32_t)(frac * n);
  if (g >= n) g = n - 1;
  if (id_cmp(c->ids[g], key, kp) < 0) {
    for (lo = g + 1, step = 1; lo + step - 1 < n && id_cmp(c->ids[lo + step - 1], key, kp) < 0;
         step *= 2)
      lo += step;
    hi = lo + step - 1 < n ? lo + step - 1 : n;
  } else {
    for (hi = g, step = 1; hi >= step && id_cmp(c->ids[hi - step], key, kp) >= 0; step *= 2)
      hi -= step;
    lo = hi >= step ? hi - step + 1 : 0;
  }
  return chunk_bsearch(c, key, kp, lo, hi);
}

/* first[ci] and cnt[ci] after chunk ci changed. */
static void chunk_sync(struct repl_idx *x, size_t ci) {
  x->cnt[ci] = x->chunks[ci]->n;
  if (x->chunks[ci]->n) x->first[ci] = id_pfx(x->chunks[ci]->ids[0]);
}

static int chunks_insert_at(struct repl_idx *x, size_t at, struct chunk_wrap *w) {
  if (x->nchunks == x->cap) {
    /* Grow the Fenwick array with the chunk array, so a rebuild never allocates. */
    size_t ncap = x->cap ? x->cap * 2 : 4;
    struct repl_agg *nf = realloc(x->fw, ncap * sizeof *nf);
    if (!nf) return MOMEDO_E_NOMEM;
    x->fw = nf;
    x->fw_cap = ncap;
    uint64_t *nfirst = realloc(x->first, ncap * sizeof *nfirst);
    if (!nfirst) return MOMEDO_E_NOMEM;
    x->first = nfirst;
    uint32_t *ncnt = realloc(x->cnt, ncap * sizeof *ncnt);
    if (!ncnt) return MOMEDO_E_NOMEM;
    x->cnt = ncnt;
    struct repl_idx_chunk **nc = realloc(x->chunks, ncap * sizeof *nc);
    if (!nc) return MOMEDO_E_NOMEM;
    x->chunks = nc;
    x->cap = ncap;
  }
  memmove(&x->chunks[at + 1], &x->chunks[at], (x->nchunks - at) * sizeof x->chunks[0]);
  memmove(&x->first[at + 1], &x->first[at], (x->nchunks - at) * sizeof x->first[0]);
  memmove(&x->cnt[at + 1], &x->cnt[at], (x->nchunks - at) * sizeof x->cnt[0]);
  x->chunks[at] = &w->c;
  x->first[at] = 0; /* set once the chunk holds an ID */
  x->cnt[at] = w->c.n;
  x->nchunks++;
  x->fw_dirty = true;
  return 0;
}

static void chunk_resum(struct chunk_wrap *w) {
  memset(&w->sum, 0, sizeof w->sum);
  for (uint32_t i = 0; i < w->c.n; i++) {
    struct repl_u256 v;
    repl__u256_from_id(&v, w->c.ids[i]);
    repl__u256_add(&w->sum, &v);
  }
}

/* Split chunk ci in two halves. */
static int chunk_split(struct repl_idx *x, size_t ci) {
  struct chunk_wrap *a = wrap_of(x->chunks[ci]);
  struct chunk_wrap *b = calloc(1, sizeof *b);
  if (!b) return MOMEDO_E_NOMEM;
  uint32_t half = a->c.n / 2;
  b->c.n = a->c.n - half;
  memcpy(b->c.ids, a->c.ids[half], (size_t)b->c.n * OBJ_ID_LEN);
  a->c.n = half;
  int rc = chunks_insert_at(x, ci + 1, b);
  if (rc) {
    a->c.n += b->c.n;
    free(b);
    return rc;
  }
  chunk_resum(a);
  chunk_resum(b);
  chunk_sync(x, ci);
  chunk_sync(x, ci + 1);
  return 0;
}

static void fw_update(struct repl_idx *x, size_t ci, const struct repl_agg *d, bool add) {
  if (x->fw_dirty) return;
  for (size_t i = ci + 1; i <= x->nchunks; i += i & (~i + 1)) {
    if (add)
      agg_add(&x->fw[i - 1], d);
    else
      agg_sub(&x->fw[i - 1], d);
  }
}

static void fw_rebuild(struct repl_idx *x) {
  if (!x->fw_dirty) return;
  assert(x->fw_cap >= x->nchunks);
  for (size_t i = 0; i < x->nchunks; i++) {
    x->fw[i].count = x->chunks[i]->n;
    x->fw[i].sum = cwrap_of(x->chunks[i])->sum;
  }
  for (size_t i = 1; i <= x->nchunks; i++) {
    size_t j = i + (i & (~i + 1));
    if (j <= x->nchunks) agg_add(&x->fw[j - 1], &x->fw[i - 1]);
  }
  x->fw_dirty = false;
}

/* Aggregate of chunks [0, ci). */
static void fw_prefix(struct repl_idx *x, size_t ci, struct repl_agg *out) {
  fw_rebuild(x);
  memset(out, 0, sizeof *out);
  for (size_t i = ci; i > 0; i -= i & (~i + 1)) agg_add(out, &x->fw[i - 1]);
}

/* Chunk holding rank k (k < total) and the offset inside it; *before = aggregate
 * of all earlier chunks. */
static size_t fw_select(struct repl_idx *x, uint64_t k, uint32_t *off, struct repl_agg *before) {
  fw_rebuild(x);
  size_t pos = 0, step = 1;
  while (step * 2 <= x->nchunks) step *= 2;
  memset(before, 0, sizeof *before);
  for (; step; step /= 2) {
    if (pos + step <= x->nchunks && before->count + x->fw[pos + step - 1].count <= k) {
      pos += step;
      agg_add(before, &x->fw[pos - 1]);
    }
  }
  assert(pos < x->nchunks);
  *off = (uint32_t)(k - before->count);
  return pos;
}

int repl__idx_insert(struct repl_idx *x, const uint8_t id[static OBJ_ID_LEN]) {
  int rc;
  if (x->nchunks == 0) {
    struct chunk_wrap *w = calloc(1, sizeof *w);
    if (!w) return MOMEDO_E_NOMEM;
    if ((rc = chunks_insert_at(x, 0, w))) {
      free(w);
      return rc;
    }
  }
  uint64_t kp = id_pfx(id);
  size_t ci = find_chunk(x, id, kp);
  struct repl_idx_chunk *c = x->chunks[ci];
  uint32_t pos = chunk_lower(x, ci, id, kp);
  if (pos < c->n && memcmp(c->ids[pos], id, OBJ_ID_LEN) == 0) return 0;
  if (c->n == REPL_IDX_CHUNK_IDS) {
    if (pos == c->n && ci + 1 == x->nchunks) {
      /* Appending in order (loading from the store): start a fresh chunk. */
      struct chunk_wrap *w = calloc(1, sizeof *w);
      if (!w) return MOMEDO_E_NOMEM;
      if ((rc = chunks_insert_at(x, ci + 1, w))) {
        free(w);
        return rc;
      }
    } else if ((rc = chunk_split(x, ci))) {
      return rc;
    }
    ci = find_chunk(x, id, kp);
    c = x->chunks[ci];
    pos = chunk_lower(x, ci, id, kp);
  }
  memmove(c->ids[pos + 1], c->ids[pos], (size_t)(c->n - pos) * OBJ_ID_LEN);
  memcpy(c->ids[pos], id, OBJ_ID_LEN);
  c->n++;
  x->cnt[ci] = c->n;
  if (pos == 0) x->first[ci] = kp;
  struct repl_agg d = {.count = 1};
  repl__u256_from_id(&d.sum, id);
  repl__u256_add(&wrap_of(c)->sum, &d.sum);
  x->total++;
  fw_update(x, ci, &d, true);
  return 1;
}

int repl__idx_remove(struct repl_idx *x, const uint8_t id[static OBJ_ID_LEN]) {
  if (x->nchunks == 0) return 0;
  uint64_t kp = id_pfx(id);
  size_t ci = find_chunk(x, id, kp);
  struct repl_idx_chunk *c = x->chunks[ci];
  uint32_t pos = chunk_lower(x, ci, id, kp);
  if (pos >= c->n || memcmp(c->ids[pos], id, OBJ_ID_LEN) != 0) return 0;
  memmove(c->ids[pos], c->ids[pos + 1], (size_t)(c->n - pos - 1) * OBJ_ID_LEN);
  c->n--;
  x->total--;
  struct repl_agg d = {.count = 1};
  repl__u256_from_id(&d.sum, id);
  repl__u256_sub(&wrap_of(c)->sum, &d.sum);
  if (c->n == 0) {
    free(wrap_of(c));
    memmove(&x->chunks[ci], &x->chunks[ci + 1], (x->nchunks - ci - 1) * sizeof x->chunks[0]);
    memmove(&x->first[ci], &x->first[ci + 1], (x->nchunks - ci - 1) * sizeof x->first[0]);
    memmove(&x->cnt[ci], &x->cnt[ci + 1], (x->nchunks - ci - 1) * sizeof x->cnt[0]);
    x->nchunks--;
    x->fw_dirty = true;
  } else {
    x->cnt[ci] = c->n;
    if (pos == 0) x->first[ci] = id_pfx(c->ids[0]);
    fw_update(x, ci, &d, false);
  }
  return 1;
}

int repl__idx_has(const struct repl_idx *x, const uint8_t id[static OBJ_ID_LEN]) {
  if (x->nchunks == 0) return 0;
  uint64_t kp = id_pfx(id);
  size_t ci = find_chunk(x, id, kp);
  const struct repl_idx_chunk *c = x->chunks[ci];
  uint32_t pos = chunk_lower(x, ci, id, kp);
  return pos < c->n && memcmp(c->ids[pos], id, OBJ_ID_LEN) == 0;
}

uint64_t repl__idx_rank(struct repl_idx *x, const uint8_t key[static OBJ_ID_LEN]) {
  if (x->nchunks == 0) return 0;
  uint64_t kp = id_pfx(key);
  size_t ci = find_chunk(x, key, kp);
  struct repl_agg before;
  fw_prefix(x, ci, &before);
  return before.count + chunk_lower(x, ci, key, kp);
}

void repl__idx_prefix(struct repl_idx *x, uint64_t k, struct repl_agg *out) {
  assert(k <= x->total);
  if (k == x->total) {
    fw_prefix(x, x->nchunks, out);
    return;
  }
  uint32_t off;
  size_t ci = fw_select(x, k, &off, out);
  const struct repl_idx_chunk *c = x->chunks[ci];
  struct repl_u256 v;
  if (off <= c->n / 2) {
    for (uint32_t i = 0; i < off; i++) {
      repl__u256_from_id(&v, c->ids[i]);
      repl__u256_add(&out->sum, &v);
    }
  } else {
    /* Cheaper from the other end: whole chunk minus its tail. */
    repl__u256_add(&out->sum, &cwrap_of(c)->sum);
    for (uint32_t i = off; i < c->n; i++) {
      repl__u256_from_id(&v, c->ids[i]);
      repl__u256_sub(&out->sum, &v);
    }
  }
  out->count += off;
}

const uint8_t *repl__idx_at(struct repl_idx *x, uint64_t k) {
  assert(k < x->total);
  uint32_t off;
  struct repl_agg before;
  size_t ci = fw_select(x, k, &off, &before);
  return x->chunks[ci]->ids[off];
}

void repl__idx_iter(struct repl_idx *x, uint64_t k, struct repl_idx_it *it) {
  it->x = x;
  if (k >= x->total) {
    it->ci = x->nchunks;
    it->off = 0;
    return;
  }
  struct repl_agg before;
  it->ci = fw_select(x, k, &it->off, &before);
}

const uint8_t *repl__idx_next(struct repl_idx_it *it) {
  const struct repl_idx *x = it->x;
  while (it->ci < x->nchunks && it->off >= x->chunks[it->ci]->n) it->ci++, it->off = 0;
  if (it->ci >= x->nchunks) return NULL;
  return x->chunks[it->ci]->ids[it->off++];
}

void repl__idx_total(const struct repl_idx *x, struct repl_agg *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < x->nchunks; i++) {
    out->count += x->chunks[i]->n;
    repl__u256_add(&out->sum, &cwrap_of(x->chunks[i])->sum);
  }
}
