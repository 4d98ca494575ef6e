/* replication/repl_recon.c — range-based set reconciliation (RBSR, as in
 * negentropy) over the sorted live IDs. Stateless per message: each Recon is
 * answered from the current index alone, so either side may start a round and a
 * lost or unanswered message costs nothing but a later round. Builds Recon,
 * ObjectWant and (through repl.c) ObjectPush messages; never touches the store. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "repl_int.h"

/* An upper bound: key padded with zeros; len = significant bytes; inf = end. */
struct bound {
  uint8_t key[OBJ_ID_LEN];
  uint8_t len;
  bool inf;
};

/* Wire modes of a packed range (repl.proto, message Recon). */
enum out_mode { OUT_SKIP = 0, OUT_FP = 1, OUT_IDS = 2 };
#define RANGE_HDR_MODE_SHIFT 6
#define RANGE_HDR_LEN_MASK 0x3f

struct out_range {
  struct bound upper;
  enum out_mode mode;
  uint8_t fp[REPL_FP_LEN];
  const uint8_t *ids; /* OUT_IDS: in the build arena */
  size_t nids;
};

/* One reply under construction, plus the IDs to push and to ask for. */
struct out {
  struct repl *r;
  struct repl_idx *x;    /* the set reconciled (by scope) */
  uint32_t scope;
  struct out_range *v;
  size_t n, cap;
  size_t bytes;          /* estimate of the encoded size */
  uint8_t *push, *want;  /* malloc'ed ID lists */
  size_t npush, nwant, push_cap, want_cap;
  bool withheld;         /* some IDs did not fit the per-round lists */
};

/* Per-round lists of IDs to push / want; more waits for the next round. */
#define RECON_IDS_PER_ROUND_MAX 65536u
/* IDs one peer may list in one range. */
#define RECON_IDS_PER_RANGE_MAX 1024u

static int bound_cmp(const struct bound *a, const struct bound *b) {
  if (a->inf || b->inf) return (int)a->inf - (int)b->inf;
  return memcmp(a->key, b->key, OBJ_ID_LEN);
}

static void bound_set(struct bound *b, const uint8_t *p, size_t n) {
  memset(b, 0, sizeof *b);
  if (n == 0) {
    b->inf = true;
    return;
  }
  memcpy(b->key, p, n);
  b->len = (uint8_t)n;
  while (b->len > 0 && b->key[b->len - 1] == 0) b->len--;
}

/* Shortest bound b with prev < b <= cur. */
static void bound_between(struct bound *b, const uint8_t *prev, const uint8_t *cur) {
  size_t i = 0;
  while (i < OBJ_ID_LEN && prev[i] == cur[i]) i++;
  assert(i < OBJ_ID_LEN); /* IDs in the index are distinct */
  memset(b, 0, sizeof *b);
  memcpy(b->key, cur, i + 1);
  b->len = (uint8_t)(i + 1);
}

static uint64_t bound_rank(struct repl_idx *x, const struct bound *b) {
  return b->inf ? x->total : repl__idx_rank(x, b->key);
}

static void range_agg(struct repl_idx *x, uint64_t a, uint64_t b, struct repl_agg *out) {
  struct repl_agg lo;
  repl__idx_prefix(x, b, out);
  repl__idx_prefix(x, a, &lo);
  out->count -= lo.count;
  repl__u256_sub(&out->sum, &lo.sum);
}

/* ---- building the reply ------------------------------------------------------ */

static int out_add(struct out *o, const struct out_range *e) {
  if (e->mode == OUT_SKIP && o->n > 0 && o->v[o->n - 1].mode == OUT_SKIP) {
    o->v[o->n - 1].upper = e->upper; /* merge adjacent skips */
    return 0;
  }
  if (o->n == o->cap) {
    size_t ncap = o->cap ? o->cap * 2 : 64;
    struct out_range *nv = realloc(o->v, ncap * sizeof *nv);
    if (!nv) return MOMEDO_E_NOMEM;
    o->v = nv;
    o->cap = ncap;
  }
  o->v[o->n++] = *e;
  o->bytes += 1 + e->upper.len;
  if (e->mode == OUT_FP) o->bytes += REPL_FP_LEN;
  if (e->mode == OUT_IDS) o->bytes += 2 + e->nids * OBJ_ID_LEN;
  return 0;
}

static int out_skip(struct out *o, const struct bound *hi) {
  struct out_range e = {.upper = *hi, .mode = OUT_SKIP};
  return out_add(o, &e);
}

static int out_fp(struct out *o, const struct bound *hi, uint64_t a, uint64_t b) {
  struct out_range e = {.upper = *hi, .mode = OUT_FP};
  struct repl_agg g;
  range_agg(o->x, a, b, &g);
  repl__fingerprint(&g, e.fp);
  return out_add(o, &e);
}

static int out_ids(struct out *o, const struct bound *hi, uint64_t a, uint64_t b) {
  struct out_range e = {.upper = *hi, .mode = OUT_IDS, .nids = (size_t)(b - a)};
  uint8_t *buf = NULL;
  if (e.nids) {
    buf = arena_alloc(&o->r->build, e.nids * OBJ_ID_LEN);
    if (!buf) return MOMEDO_E_NOMEM;
    struct repl_idx_it it;
    repl__idx_iter(o->x, a, &it);
    for (size_t i = 0; i < e.nids; i++) memcpy(buf + i * OBJ_ID_LEN, repl__idx_next(&it), 32);
  }
  e.ids = buf;
  return out_add(o, &e);
}

/* Our IDs in [a, b) differ from the peer's: list them, or split into
 * recon_branch ranges of equal count, each with its fingerprint. */
static int out_split(struct out *o, const struct bound *hi, uint64_t a, uint64_t b) {
  struct repl *r = o->r;
  struct repl_idx *x = o->x;
  uint64_t c = b - a, start = a;
  if (c <= r->cfg.recon_leaf_ids_max) return out_ids(o, hi, a, b);
  /* Never more buckets than IDs: every bucket holds at least one. */
  uint32_t nb = c < r->cfg.recon_branch ? (uint32_t)c : r->cfg.recon_branch;
  for (uint32_t j = 1; j <= nb; j++) {
    uint64_t end = j == nb ? b : a + c * j / nb;
    struct bound bj = *hi;
    if (j < nb)
      bound_between(&bj, repl__idx_at(x, end - 1), repl__idx_at(x, end));
    int rc = out_fp(o, &bj, start, end);
    if (rc) return rc;
    start = end;
  }
  return 0;
}

static int id_list_add(uint8_t **list, size_t *n, size_t *cap, const uint8_t *id) {
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 64;
    uint8_t *nl = realloc(*list, ncap * OBJ_ID_LEN);
    if (!nl) return MOMEDO_E_NOMEM;
    *list = nl;
    *cap = ncap;
  }
  memcpy(*list + (*n)++ * OBJ_ID_LEN, id, OBJ_ID_LEN);
  return 0;
}

static int out_mine(struct out *o, const uint8_t *id) {
  if (o->npush >= RECON_IDS_PER_ROUND_MAX) return o->withheld = true, 0;
  return id_list_add(&o->push, &o->npush, &o->push_cap, id);
}

static int out_theirs(struct out *o, const uint8_t *id) {
  if (o->nwant >= RECON_IDS_PER_ROUND_MAX) return o->withheld = true, 0;
  return id_list_add(&o->want, &o->nwant, &o->want_cap, id);
}

/* The peer listed all its IDs in [a, b): merge with ours. */
static int diff_ids(struct out *o, uint64_t a, uint64_t b, const uint8_t *theirs, size_t nt) {
  struct repl_idx_it it;
  repl__idx_iter(o->x, a, &it);
  uint64_t left = b - a;
  const uint8_t *mine = left ? repl__idx_next(&it) : NULL;
  size_t t = 0;
  int rc = 0;
  while (rc == 0 && (mine || t < nt)) {
    int c = !mine ? 1 : t == nt ? -1 : memcmp(mine, theirs + t * OBJ_ID_LEN, OBJ_ID_LEN);
    if (c < 0) rc = out_mine(o, mine);
    else if (c > 0) rc = out_theirs(o, theirs + t * OBJ_ID_LEN);
    if (c >= 0) t++;
    if (c <= 0) mine = --left ? repl__idx_next(&it) : NULL;
    /* Nothing more can be listed: stop walking the rest of our IDs ("I hold nothing"
     * over a million IDs would otherwise walk all of them for every such message). */
    if (t == nt && o->npush >= RECON_IDS_PER_ROUND_MAX) break;
  }
  return rc;
}

/* ---- reading the peer's message ------------------------------------------- */

/* One range as read from the packed list; payload points into the message. */
struct in_range {
  struct bound hi;
  enum out_mode mode;
  const uint8_t *payload; /* fingerprint or IDs */
  size_t nids;
};

static int next_range(struct cursor *c, struct in_range *g) {
  uint8_t hdr;
  const uint8_t *p;
  uint16_t n = 0;
  int rc = cursor_get_u8(c, &hdr);
  if (rc) return rc;
  size_t blen = hdr & RANGE_HDR_LEN_MASK;
  g->mode = (enum out_mode)(hdr >> RANGE_HDR_MODE_SHIFT);
  if (blen > OBJ_ID_LEN || g->mode > OUT_IDS) return MOMEDO_E_PROTO;
  if ((rc = cursor_take(c, &p, blen))) return rc;
  bound_set(&g->hi, p, blen);
  g->payload = NULL;
  g->nids = 0;
  if (g->mode == OUT_FP) return cursor_take(c, &g->payload, REPL_FP_LEN);
  if (g->mode != OUT_IDS) return 0;
  if ((rc = cursor_get_be16(c, &n))) return rc;
  if (n > RECON_IDS_PER_RANGE_MAX) return MOMEDO_E_BOUNDS;
  g->nids = n;
  return cursor_take(c, &g->payload, (size_t)n * OBJ_ID_LEN);
}

static int check_ids(const struct in_range *g, const struct bound *lo) {
  for (size_t i = 0; i < g->nids; i++) {
    const uint8_t *id = g->payload + i * OBJ_ID_LEN;
    if (i > 0 && memcmp(id - OBJ_ID_LEN, id, OBJ_ID_LEN) >= 0) return MOMEDO_E_PROTO;
    if (memcmp(id, lo->key, OBJ_ID_LEN) < 0) return MOMEDO_E_PROTO;
    if (!g->hi.inf && memcmp(id, g->hi.key, OBJ_ID_LEN) >= 0) return MOMEDO_E_PROTO;
  }
  return 0;
}

/* Whole message first, so a bad range late in it has no effect at all. */
static int check_msg(const Momedo__Recon *m) {
  struct bound lo;
  struct in_range g;
  struct cursor c;
  size_t n = 0;
  memset(&lo, 0, sizeof lo);
  cursor_init(&c, m->ranges.data, m->ranges.len);
  while (cursor_left(&c) > 0) {
    int rc = next_range(&c, &g);
    if (rc) return rc;
    if (++n > REPL_RECON_RANGES_MAX) return MOMEDO_E_TOOBIG;
    if (lo.inf || bound_cmp(&g.hi, &lo) <= 0) return MOMEDO_E_PROTO;
    if (g.mode == OUT_IDS && (rc = check_ids(&g, &lo))) return rc;
    lo = g.hi;
  }
  return 0;
}

/* ---- sending ------------------------------------------------------------------- */

static int send_recon(struct repl *r, struct repl_peer *p, struct out *o, uint32_t round) {
  while (o->n > 0 && o->v[o->n - 1].mode == OUT_SKIP) o->n--; /* trailing skip is implicit */
  if (o->n == 0) return 0;
  size_t len = 0;
  for (size_t i = 0; i < o->n; i++) {
    const struct out_range *e = &o->v[i];
    len += 1 + (e->upper.inf ? 0 : e->upper.len);
    len += e->mode == OUT_FP ? REPL_FP_LEN : e->mode == OUT_IDS ? 2 + e->nids * OBJ_ID_LEN : 0;
  }
  uint8_t *buf = malloc(len);
  if (!buf) return MOMEDO_E_NOMEM;
  struct cursor c;
  int rc = 0;
  cursor_init(&c, buf, len);
  for (size_t i = 0; i < o->n && rc == 0; i++) {
    const struct out_range *e = &o->v[i];
    uint8_t blen = e->upper.inf ? 0 : e->upper.len;
    assert(e->upper.inf || blen > 0); /* a zero bound is never an upper bound */
    rc = cursor_put_u8(&c, (uint8_t)(e->mode << RANGE_HDR_MODE_SHIFT | blen));
    if (rc == 0) rc = cursor_put_bytes(&c, e->upper.key, blen);
    if (rc == 0 && e->mode == OUT_FP) rc = cursor_put_bytes(&c, e->fp, REPL_FP_LEN);
    if (rc == 0 && e->mode == OUT_IDS) rc = cursor_put_be16(&c, (uint16_t)e->nids);
    if (rc == 0 && e->mode == OUT_IDS) rc = cursor_put_bytes(&c, e->ids, e->nids * OBJ_ID_LEN);
  }
  assert(rc == 0 && c.pos == len);
  Momedo__Recon rec = MOMEDO__RECON__INIT;
  rec.round = round;
  rec.scope = o->scope;
  rec.ranges.data = buf;
  rec.ranges.len = len;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_RECON;
  m.recon = &rec;
  rc = repl__send(r, p, &m, true);
  if (rc == 0 && round > p->st.recon_round_max) p->st.recon_round_max = round;
  free(buf);
  return rc;
}

static void out_free(struct out *o) {
  free(o->v);
  free(o->push);
  free(o->want);
  arena_close(&o->r->build);
}

/* Answer every range of the peer's message (already checked by check_msg). */
static int answer(struct repl *r, const Momedo__Recon *m, struct out *o) {
  struct repl_idx *x = o->x;
  struct in_range g;
  struct cursor c;
  uint64_t a = 0;
  int rc = 0;
  cursor_init(&c, m->ranges.data, m->ranges.len);
  while (rc == 0 && cursor_left(&c) > 0) {
    if (next_range(&c, &g)) return MOMEDO_E_INTERNAL;
    uint64_t b = bound_rank(x, &g.hi);
    if (o->bytes > REPL_RECON_BYTES_MAX) {
      /* Full: one fingerprint over the rest; a later round continues there. */
      struct bound end = {.inf = true};
      return out_fp(o, &end, a, x->total);
    }
    if (g.mode == OUT_FP) {
      struct repl_agg g2;
      uint8_t fp[REPL_FP_LEN];
      range_agg(x, a, b, &g2);
      repl__fingerprint(&g2, fp);
      rc = memcmp(fp, g.payload, REPL_FP_LEN) == 0 ? out_skip(o, &g.hi)
                                                   : out_split(o, &g.hi, a, b);
    } else if (g.mode == OUT_IDS) {
      rc = diff_ids(o, a, b, g.payload, g.nids);
      if (rc == 0) rc = out_skip(o, &g.hi);
    } else {
      rc = out_skip(o, &g.hi);
    }
    a = b;
  }
  return rc;
}

/* The set of one scope with peer p: flood mode has one (everything); scoped mode has
 * global-scope objects (0), the objects both hold as a destination (1) and node records
 * (2). NULL: no such scope here. */
static struct repl_idx *scope_idx(struct repl *r, struct repl_peer *p, uint32_t scope) {
  if (!repl__scoped(r)) return scope == 0 ? &r->idx : NULL;
  return scope == 0 ? &r->gidx : scope == 1 ? &p->sidx : scope == 2 ? &r->ridx : NULL;
}

#define RECON_SCOPES_MAX 3u
#define RECON_SCOPE_RECORDS 2u

/* Does a lazy record set (repl_ridx.c) answer m without its index? Only a message of
 * one fingerprint over everything that equals ours: the sets are equal, the answer is
 * empty, and the index (if built) is dropped. */
static bool records_equal(struct repl *r, const Momedo__Recon *m) {
  struct in_range g;
  struct cursor c;
  uint8_t fp[REPL_FP_LEN];
  struct repl_agg a;
  cursor_init(&c, m->ranges.data, m->ranges.len);
  if (next_range(&c, &g) || cursor_left(&c) > 0 || g.mode != OUT_FP || !g.hi.inf) return false;
  repl__ridx_total(r, &a);
  repl__fingerprint(&a, fp);
  if (memcmp(fp, g.payload, REPL_FP_LEN) != 0) return false;
  repl__ridx_release(r);
  return true;
}

int repl__recon_on_msg(struct repl *r, struct repl_peer *p, const Momedo__Recon *m,
                       uint64_t now_ms) {
  if (m->scope >= RECON_SCOPES_MAX) return MOMEDO_E_BOUNDS;
  int rc = check_msg(m);
  if (rc) return rc;
  struct repl_idx *x = scope_idx(r, p, m->scope);
  if (!x) return 0; /* a scope flood mode does not have: nothing to answer */
  if (m->round == 0) repl__recon_schedule(r, p, now_ms); /* the peer's round covers us */
  if (m->round > p->st.recon_round_max) p->st.recon_round_max = m->round;
  if (m->round >= REPL_RECON_ROUND_MAX) return 0;
  if (!repl__can_send(r, p)) {
    p->withheld = true;
    p->st.withheld++;
    return 0;
  }
  if (m->scope == RECON_SCOPE_RECORDS && repl__ridx_lazy(r)) {
    if (records_equal(r, m)) return 0;
    if ((rc = repl__ridx_ready(r))) return rc;
  }
  struct out o = {.r = r, .x = x, .scope = m->scope};
  if ((rc = answer(r, m, &o))) goto out;
  if ((rc = send_recon(r, p, &o, m->round + 1))) goto out;
  p->st.recon_ids_offered += o.npush;
  p->st.recon_ids_wanted += o.nwant;
  if (o.nwant && (rc = repl__send_want(r, p, o.want, o.nwant))) goto out;
  if (o.npush && (rc = repl__push_ids(r, p, o.push, o.npush, now_ms))) goto out;
  if (o.withheld) p->next_recon_ms = now_ms; /* more differences than one round lists */
out:
  out_free(&o);
  return rc;
}

/* A lazy record set opens with its whole-set fingerprint from the running sum (no
 * index); a set small enough to be listed needs the index. */
static int records_start(struct repl *r, struct out *o) {
  struct bound end = {.inf = true};
  struct out_range e = {.upper = end, .mode = OUT_FP};
  struct repl_agg a;
  repl__ridx_total(r, &a);
  if (a.count <= r->cfg.recon_leaf_ids_max) {
    int rc = repl__ridx_ready(r);
    return rc ? rc : out_ids(o, &end, 0, r->ridx.total);
  }
  repl__ridx_release(r); /* built again if the peer's answer says the sets differ */
  repl__fingerprint(&a, e.fp);
  return out_add(o, &e);
}

static int recon_start_scope(struct repl *r, struct repl_peer *p, uint32_t scope) {
  struct out o = {.r = r, .x = scope_idx(r, p, scope), .scope = scope};
  struct bound end = {.inf = true};
  struct repl_idx *x = o.x;
  int rc;
  if (scope == RECON_SCOPE_RECORDS && repl__ridx_lazy(r)) rc = records_start(r, &o);
  else
    rc = x->total <= r->cfg.recon_leaf_ids_max ? out_ids(&o, &end, 0, x->total)
                                               : out_fp(&o, &end, 0, x->total);
  if (rc == 0) rc = send_recon(r, p, &o, 0);
  out_free(&o);
  return rc;
}

int repl__recon_start(struct repl *r, struct repl_peer *p, uint64_t now_ms) {
  repl__recon_schedule(r, p, now_ms);
  if (!repl__can_send(r, p)) {
    p->withheld = true;
    p->st.withheld++;
    return 0;
  }
  uint32_t scopes = repl__scoped(r) ? RECON_SCOPES_MAX : 1;
  int rc = 0;
  for (uint32_t sc = 0; sc < scopes && rc == 0; sc++) rc = recon_start_scope(r, p, sc);
  if (rc == 0) {
    p->st.recon_rounds_started++;
    r->st.recon_rounds_started++;
  }
  return rc;
}
