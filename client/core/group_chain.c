/* client/core/group_chain.c — the records a group state holds: the canonical chain from
 * version 1 to the head, and records beside it that lost a fork choice, kept while they
 * could still win (within GROUP_FORK_WINDOW versions of the head). Applying a record
 * places it in that tree and the head is chosen again by one deterministic rule, so
 * every member that holds the same records ends on the same head whatever order they
 * arrived in. Also: a new state from a verified chain (joining) and chain segments to
 * hand out. Refuses before it changes anything; no I/O, no clock. */
#include <stdlib.h>
#include <string.h>

#include "group_int.h"
#include "mbox_write.h"

#define GROUP_PATH_MAX (GROUP_FORK_WINDOW + GROUP_ALTS_MAX + 2)
#define GROUP_KIDS_MAX (GROUP_ALTS_MAX + 1)

void group__rec_take(struct group_rec *rec, uint8_t *b, size_t n, const struct group_roster *R) {
  memset(rec, 0, sizeof *rec);
  rec->b = b, rec->n = n;
  memcpy(rec->hash, R->hash, 32);
  if (R->has_prev) memcpy(rec->prev, R->prev, 32);
  memcpy(rec->signer, R->signer, 32);
  rec->version = R->version;
}

void group__rec_free(struct group_rec *rec) {
  free(rec->b);
  memset(rec, 0, sizeof *rec);
}

const struct group_rec *group__head(const struct group *g) { return &g->ch[g->n_ch - 1]; }

/* The oldest canonical record a concurrent one may still branch off. */
static size_t chain_root(const struct group *g) {
  return g->n_ch > GROUP_FORK_WINDOW + 1 ? g->n_ch - 1 - GROUP_FORK_WINDOW : 0;
}

/* A held record: in the chain (alt == 0) or beside it. */
struct rec_ref {
  int alt;
  size_t i;
};

static struct group_rec *ref_rec(struct group *g, struct rec_ref r) {
  return r.alt ? &g->alt[r.i] : &g->ch[r.i];
}

static int ref_eq(struct rec_ref a, struct rec_ref b) { return a.alt == b.alt && a.i == b.i; }

/* A record held at or above the root, by hash. */
static int rec_lookup(struct group *g, const uint8_t h[static 32], struct rec_ref *out) {
  for (size_t i = chain_root(g); i < g->n_ch; i++)
    if (memcmp(g->ch[i].hash, h, 32) == 0) return *out = (struct rec_ref){0, i}, 1;
  for (size_t i = 0; i < g->n_alt; i++)
    if (memcmp(g->alt[i].hash, h, 32) == 0) return *out = (struct rec_ref){1, i}, 1;
  return 0;
}

const struct group_rec *group__rec_held(const struct group *g, const uint8_t h[static 32]) {
  for (size_t i = g->n_ch; i-- > 0;)
    if (memcmp(g->ch[i].hash, h, 32) == 0) return &g->ch[i];
  for (size_t i = 0; i < g->n_alt; i++)
    if (memcmp(g->alt[i].hash, h, 32) == 0) return &g->alt[i];
  return NULL;
}

static int rec_roster(const struct group_rec *rec, struct group_roster *R) {
  return group__roster_parse(R, rec->b, rec->n, 0); /* verified when it was taken */
}

/* ---- the fork choice ---- */

/* Among n > 1 children K of P (each valid against P), the one the chain follows: a
 * child whose signer another child removes or demotes loses; then a child that removes
 * a member or a device beats one that does not (a removal never waits for anyone);
 * then the lower record hash. Depends only on the set of children. */
static size_t choose_child(const struct group_roster *P, const struct group_roster *K, size_t n) {
  int ousted[GROUP_KIDS_MAX], any_standing = 0;
  for (size_t i = 0; i < n; i++) {
    ousted[i] = 0;
    for (size_t j = 0; j < n; j++)
      if (j != i && group__roster_ousts(P, &K[j], K[i].signer)) ousted[i] = 1;
    any_standing |= !ousted[i];
  }
  size_t best = n;
  int best_rm = 0;
  for (size_t i = 0; i < n; i++) {
    if (any_standing && ousted[i]) continue;
    int rm = group__roster_lost(P, &K[i]);
    if (best == n || rm > best_rm || (rm == best_rm && memcmp(K[i].hash, K[best].hash, 32) < 0))
      best = i, best_rm = rm;
  }
  return best;
}

static int pick_child(struct group *g, const struct group_rec *parent, const struct rec_ref *kids,
                      size_t nk, size_t *pick) {
  struct group_roster P, *K = calloc(nk, sizeof *K);
  if (K == NULL) return MOMEDO_E_NOMEM;
  int rc = rec_roster(parent, &P);
  for (size_t i = 0; rc == 0 && i < nk; i++) rc = rec_roster(ref_rec(g, kids[i]), &K[i]);
  if (rc == 0) *pick = choose_child(&P, K, nk);
  for (size_t i = 0; i < nk; i++) group__roster_clear(&K[i]);
  free(K);
  group__roster_clear(&P);
  return rc;
}

/* The canonical path from the root: path[0] is the root, each next the chosen child. */
static int choose_path(struct group *g, struct rec_ref *path, size_t *np) {
  size_t n = 0;
  path[n++] = (struct rec_ref){0, chain_root(g)};
  for (;;) {
    struct rec_ref kids[GROUP_KIDS_MAX], cur = path[n - 1];
    const struct group_rec *c = ref_rec(g, cur);
    size_t nk = 0, pick = 0;
    if (!cur.alt && cur.i + 1 < g->n_ch) kids[nk++] = (struct rec_ref){0, cur.i + 1};
    for (size_t i = 0; i < g->n_alt && nk < GROUP_KIDS_MAX; i++)
      if (memcmp(g->alt[i].prev, c->hash, 32) == 0) kids[nk++] = (struct rec_ref){1, i};
    if (nk == 0) break;
    if (n == GROUP_PATH_MAX) return MOMEDO_E_BOUNDS;
    if (nk > 1) {
      int rc = pick_child(g, c, kids, nk, &pick);
      if (rc < 0) return rc;
    }
    path[n++] = kids[pick];
  }
  *np = n;
  return 0;
}

/* ---- moving to a new head ---- */

/* What the head's epoch needs, prepared before anything changes. */
struct epoch_plan {
  int listed;
  long reuse;                 /* index of the kept epoch with the head's mailbox, or -1 */
  struct group_epoch ne;      /* a new epoch (reuse < 0), or just a fresh sending chain */
  int fresh_tx;
};

static int epoch_plan(struct group *g, const struct group_roster *H, struct epoch_plan *pl) {
  uint8_t tag[32], mb[32];
  memset(pl, 0, sizeof *pl);
  pl->reuse = -1;
  pl->listed = group__listed(H, g->me_id, g->me_dev);
  if (!pl->listed) return 0;
  int rc = group__epoch_tag(tag, H->group_id, H->epoch, H->salt);
  if (rc == 0) rc = mbox_write_mailbox(mb, H->write_key, tag);
  if (rc < 0) return rc;
  pl->reuse = group__epoch_index(g, mb);
  if (pl->reuse < 0) return group__epoch_prepare(g, H, &pl->ne);
  if (g->ep[pl->reuse].has_tx || !group__may_post(H, g->me_id, g->me_dev) || g->left) return 0;
  pl->fresh_tx = 1;
  return group__tx_new(&pl->ne);
}

static void epoch_plan_wipe(struct epoch_plan *pl) { group__epoch_wipe(&pl->ne); }

/* Nothing here fails. */
static void epoch_commit(struct group *g, struct epoch_plan *pl, struct group_apply_info *ai) {
  struct group_epoch *cur = g->n_ep ? &g->ep[g->n_ep - 1] : NULL;
  if (!pl->listed) {
    if (cur) {
      crypto_wipe(&cur->tx, sizeof cur->tx);
      crypto_wipe(cur->tx_ck, sizeof cur->tx_ck);
      cur->has_tx = 0;
    }
    return;
  }
  if (pl->reuse < 0) {
    group__epoch_push(g, &pl->ne);
    ai->epoch_changed = 1, g->n_sent = 0;
  } else if ((size_t)pl->reuse != g->n_ep - 1) {
    group__epoch_reuse(g, (size_t)pl->reuse, pl->fresh_tx ? &pl->ne : NULL);
    ai->epoch_changed = 1, g->n_sent = 0;
  } else if (pl->fresh_tx) {
    cur->tx = pl->ne.tx, cur->has_tx = 1, cur->tx_n = 0;
    memcpy(cur->tx_ck, pl->ne.tx_ck, GROUP_KEY_LEN);
    g->n_sent = 0;
  }
}

static size_t roster_new_devices(const struct group_roster *P, const struct group_roster *R) {
  size_t n = 0;
  for (size_t j = 0; j < R->n; j++) {
    long i = group__find(P, R->m[j].id);
    for (uint32_t k = 0; k < R->m[j].ndev; k++)
      n += i < 0 || !group__has_device(P, (size_t)i, R->dev[R->m[j].dev0 + k]);
  }
  return n;
}

/* Records beside the chain that can no longer win: at or below the root, or whose
 * previous record is not held any more. */
static void alts_prune(struct group *g) {
  uint64_t rv = g->ch[chain_root(g)].version;
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t i = 0; i < g->n_alt;) {
      struct rec_ref p;
      if (g->alt[i].version > rv && rec_lookup(g, g->alt[i].prev, &p)) {
        i++;
        continue;
      }
      group__rec_free(&g->alt[i]);
      g->alt[i] = g->alt[--g->n_alt];
      changed = 1;
    }
  }
}

/* The new arrays for a head change: the chain up to the fork, then path[f..np) (all
 * beside the chain until now); beside it the rest, plus the displaced chain tail. */
static int arrays_plan(struct group *g, const struct rec_ref *path, size_t np, size_t f,
                       struct group_rec **nch, struct group_rec **nalt) {
  size_t root = chain_root(g), n_ch = root + np, n_alt = g->n_alt + (g->n_ch - root - f);
  *nch = malloc(n_ch * sizeof **nch);
  *nalt = malloc((n_alt ? n_alt : 1) * sizeof **nalt);
  if (*nch == NULL || *nalt == NULL) {
    free(*nch);
    free(*nalt);
    return MOMEDO_E_NOMEM;
  }
  return 0;
}

/* Nothing here fails: move the records into the planned arrays. */
static void arrays_commit(struct group *g, const struct rec_ref *path, size_t np, size_t f,
                          struct group_rec *nch, struct group_rec *nalt,
                          struct group_apply_info *ai) {
  size_t root = chain_root(g), k = 0, a = 0;
  memcpy(nch, g->ch, (root + f) * sizeof *nch);
  for (size_t j = f; j < np; j++) nch[root + j] = *ref_rec(g, path[j]);
  for (size_t i = 0; i < g->n_alt; i++) {
    int moved = 0;
    for (size_t j = f; j < np; j++) moved |= ref_eq(path[j], (struct rec_ref){1, i});
    if (!moved) nalt[a++] = g->alt[i];
  }
  for (size_t i = root + f; i < g->n_ch; i++) {
    nalt[a] = g->ch[i];
    nalt[a].rebased = 0;
    ai->displaced_own |= memcmp(nalt[a].signer, g->me_id, 32) == 0;
    a++;
  }
  for (k = 0; k < root + np; k++) nch[k].rebased = 0;
  free(g->ch);
  free(g->alt);
  g->ch = nch, g->n_ch = g->cap_ch = root + np;
  g->alt = nalt, g->n_alt = a;
}

/* Make path (from choose_path, differing from the chain at f) the chain. */
static int adopt(struct group *g, const struct rec_ref *path, size_t np, size_t f,
                 struct group_apply_info *ai) {
  struct group_roster H;
  struct epoch_plan pl;
  struct group_rec *nch = NULL, *nalt = NULL;
  if (chain_root(g) + np > GROUP_CHAIN_RECORDS_MAX)
    return group__fail(g, MOMEDO_E_QUOTA, "the group's record chain is full");
  int rc = rec_roster(ref_rec(g, path[np - 1]), &H);
  if (rc < 0) return rc;
  if ((rc = epoch_plan(g, &H, &pl)) < 0) {
    group__roster_clear(&H);
    return rc;
  }
  if ((rc = arrays_plan(g, path, np, f, &nch, &nalt)) < 0) {
    epoch_plan_wipe(&pl);
    group__roster_clear(&H);
    return rc;
  }
  /* Commit: nothing below fails. */
  ai->head_changed = 1;
  ai->n_new_devices = roster_new_devices(&g->r, &H);
  arrays_commit(g, path, np, f, nch, nalt, ai);
  group__roster_clear(&g->r);
  g->r = H;
  epoch_commit(g, &pl, ai);
  epoch_plan_wipe(&pl);
  g->removed = !pl.listed;
  alts_prune(g);
  return 0;
}

/* Choose the head again after a record was added beside the chain. */
static int head_update(struct group *g, const uint8_t added[static 32],
                       struct group_apply_info *ai) {
  struct rec_ref path[GROUP_PATH_MAX];
  size_t np = 0, root = chain_root(g), f = 1;
  int rc = choose_path(g, path, &np);
  if (rc < 0) return rc;
  while (f < np && root + f < g->n_ch && ref_eq(path[f], (struct rec_ref){0, root + f})) f++;
  if (f < np) rc = adopt(g, path, np, f, ai);
  if (rc < 0) return rc;
  struct rec_ref r;
  ai->lost = !rec_lookup(g, added, &r) || r.alt;
  return 0;
}

/* Where R may go: a held previous record at or above the root, and a valid change of
 * it. P receives that record's roster. */
static int place_check(struct group *g, const struct group_roster *R, uint64_t now_ms,
                       struct group_roster *P) {
  unsigned long long v = (unsigned long long)R->version;
  struct rec_ref pr;
  if (memcmp(R->group_id, g->r.group_id, 32) != 0)
    return group__fail(g, MOMEDO_E_INVAL, "record belongs to another group");
  for (size_t i = 0; i < g->n_ch; i++)
    if (memcmp(g->ch[i].hash, R->hash, 32) == 0)
      return group__fail(g, MOMEDO_E_EXISTS, "record v%llu already applied", v);
  for (size_t i = 0; i < g->n_alt; i++)
    if (memcmp(g->alt[i].hash, R->hash, 32) == 0)
      return group__fail(g, MOMEDO_E_EXISTS, "record v%llu already held (it lost)", v);
  if (R->version <= g->ch[chain_root(g)].version)
    return group__fail(g, MOMEDO_E_SUPERSEDED, "record v%llu is older than ours (v%llu)", v,
                       (unsigned long long)group__head(g)->version);
  if (!rec_lookup(g, R->prev, &pr))
    return group__fail(g, MOMEDO_E_UNEXPECTED, "record v%llu follows a record not seen yet", v);
  if (ref_rec(g, pr)->version + 1 != R->version)
    return group__fail(g, MOMEDO_E_BOUNDS, "record v%llu names the hash of another version", v);
  if (R->created_ms > now_ms + GROUP_CLOCK_SKEW_MS_MAX)
    return group__fail(g, MOMEDO_E_FUTURE, "record v%llu is from the future", v);
  int rc = rec_roster(ref_rec(g, pr), P);
  return rc < 0 ? rc : group__check_transition(g, P, R);
}

/* A record that lost but starts an epoch listing this device: its members may have
 * posted there before they learnt of the winner, so that mailbox is kept to read. */
static void keep_lost_epoch(struct group *g, const struct group_roster *R) {
  struct group_epoch ne;
  uint8_t mb[32];
  if (!group__listed(R, g->me_id, g->me_dev) ||
      group_mailbox_derive(mb, R->group_id, R->epoch, R->salt, R->write_key) != 0 ||
      group__epoch_index(g, mb) >= 0 || group__epoch_prepare(g, R, &ne) != 0)
    return; /* a failure only means those items are not read */
  group__epoch_keep_old(g, &ne);
}

int group_record_apply(struct group *g, const uint8_t *rec, size_t len, uint64_t now_ms,
                       struct group_apply_info *ai) {
  struct group_roster R, P;
  struct group_apply_info tmp;
  if (ai == NULL) ai = &tmp;
  memset(ai, 0, sizeof *ai);
  memset(&P, 0, sizeof P);
  g->why[0] = 0;
  int rc = group__roster_parse(&R, rec, len, 1);
  if (rc < 0) return group__fail(g, rc, "record refused: %s", momedo_strerror(rc));
  uint8_t *copy = NULL;
  struct group_rec *alt = NULL;
  if ((rc = place_check(g, &R, now_ms, &P)) < 0) goto out;
  rc = g->n_alt >= GROUP_ALTS_MAX ? group__fail(g, MOMEDO_E_QUOTA, "too many concurrent records")
                                   : MOMEDO_E_NOMEM;
  if (g->n_alt >= GROUP_ALTS_MAX || (copy = malloc(len)) == NULL ||
      (alt = realloc(g->alt, (g->n_alt + 1) * sizeof *alt)) == NULL)
    goto out;
  memcpy(copy, rec, len);
  g->alt = alt;
  group__rec_take(&g->alt[g->n_alt++], copy, len, &R);
  copy = NULL;
  if ((rc = head_update(g, R.hash, ai)) < 0) group__rec_free(&g->alt[--g->n_alt]);
  else if (ai->lost && R.epoch != P.epoch) keep_lost_epoch(g, &R);
out:
  ai->version = group__head(g)->version, ai->epoch = g->r.epoch;
  ai->removed = g->removed;
  free(copy);
  group__roster_clear(&R);
  group__roster_clear(&P);
  return rc;
}

/* Decode a GroupChain within its bounds (records borrow from a). */
static int chain_decode(const uint8_t *chain, size_t len, struct arena *a,
                        Momedo__GroupChain **out) {
  if (len > GROUP_CHAIN_BYTES_MAX) return MOMEDO_E_TOOBIG;
  Momedo__GroupChain *c = momedo__group_chain__unpack(&a->pb, len, chain);
  if (c == NULL) return a->failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE;
  if (c->n_records == 0 || c->n_records > GROUP_CHAIN_RECORDS_MAX) return MOMEDO_E_BOUNDS;
  *out = c;
  return 0;
}

/* ---- a state from a chain ---- */

int group__state_new(struct group **out, const uint8_t id[static 32], const uint8_t dev[static 32],
                     struct group_roster *R, struct group_rec *ch, size_t n) {
  struct group *g = calloc(1, sizeof *g);
  struct group_epoch ne;
  *out = NULL;
  if (g == NULL) {
    for (size_t i = 0; i < n; i++) group__rec_free(&ch[i]);
    free(ch);
    return MOMEDO_E_NOMEM;
  }
  memcpy(g->me_id, id, 32);
  memcpy(g->me_dev, dev, 32);
  g->ch = ch, g->n_ch = g->cap_ch = n;
  g->r = *R;
  memset(R, 0, sizeof *R);
  int rc = group__epoch_prepare(g, &g->r, &ne);
  if (rc < 0) {
    group_free(g);
    return rc;
  }
  group__epoch_push(g, &ne);
  *out = g;
  return 0;
}

/* Verify records[i] as the next link after P (i > 0) or as version 1 (i == 0). */
static int chain_link(struct group *scratch, const struct group_roster *P,
                      const struct group_roster *R, size_t i, uint64_t now_ms) {
  if (R->created_ms > now_ms + GROUP_CLOCK_SKEW_MS_MAX) return MOMEDO_E_FUTURE;
  if (i == 0)
    return R->version != 1 ? MOMEDO_E_BOUNDS : group__is_admin(R, R->signer) ? 0 : MOMEDO_E_DENIED;
  if (memcmp(R->group_id, P->group_id, 32) != 0) return MOMEDO_E_INVAL;
  if (R->version != P->version + 1 || memcmp(R->prev, P->hash, 32) != 0) return MOMEDO_E_BOUNDS;
  return group__check_transition(scratch, P, R);
}

int group_join(struct group **out, const uint8_t identity_key[static 32],
               const uint8_t device_key[static 32], const uint8_t from_identity[static 32],
               const uint8_t *chain, size_t len, uint64_t now_ms) {
  struct arena a;
  struct group_roster P, R;
  struct group scratch; /* only its reason buffer is used */
  struct group_rec *ch = NULL;
  Momedo__GroupChain *c = NULL;
  size_t n = 0;
  *out = NULL;
  memset(&P, 0, sizeof P);
  arena_init(&a, GROUP_CHAIN_DECODE_BYTES_MAX);
  int rc = chain_decode(chain, len, &a, &c);
  if (rc == 0 && (ch = calloc(c->n_records, sizeof *ch)) == NULL) rc = MOMEDO_E_NOMEM;
  for (size_t i = 0; rc == 0 && i < c->n_records; i++) {
    const ProtobufCBinaryData *b = &c->records[i];
    uint8_t *copy = NULL;
    if ((rc = group__roster_parse(&R, b->data, b->len, 1)) < 0) break;
    rc = chain_link(&scratch, &P, &R, i, now_ms);
    if (rc == 0 && (copy = malloc(b->len ? b->len : 1)) == NULL) rc = MOMEDO_E_NOMEM;
    if (rc == 0) {
      memcpy(copy, b->data, b->len);
      group__rec_take(&ch[n++], copy, b->len, &R);
    }
    group__roster_clear(&P);
    P = R;
  }
  arena_close(&a);
  if (rc == 0 && !group__listed(&P, identity_key, device_key)) rc = MOMEDO_E_NOTFOUND;
  else if (rc == 0 && group__find(&P, from_identity) < 0) rc = MOMEDO_E_DENIED;
  if (rc == 0) return group__state_new(out, identity_key, device_key, &P, ch, n);
  for (size_t i = 0; i < n; i++) group__rec_free(&ch[i]);
  free(ch);
  group__roster_clear(&P);
  return rc;
}

int group_chain(const struct group *g, uint64_t from_version, uint8_t **out, size_t *out_len) {
  Momedo__GroupChain c = MOMEDO__GROUP_CHAIN__INIT;
  *out = NULL, *out_len = 0;
  if (from_version >= g->n_ch) return MOMEDO_E_INVAL;
  size_t n = g->n_ch - (size_t)from_version;
  ProtobufCBinaryData *v = malloc(n * sizeof *v);
  if (v == NULL) return MOMEDO_E_NOMEM;
  for (size_t i = 0; i < n; i++) v[i] = (ProtobufCBinaryData){g->ch[from_version + i].n,
                                                              g->ch[from_version + i].b};
  c.n_records = n, c.records = v;
  size_t sz = momedo__group_chain__get_packed_size(&c);
  int rc = sz > GROUP_CHAIN_BYTES_MAX ? MOMEDO_E_TOOBIG : MOMEDO_E_NOMEM;
  if (sz <= GROUP_CHAIN_BYTES_MAX && (*out = malloc(sz)) != NULL) {
    *out_len = momedo__group_chain__pack(&c, *out);
    rc = 0;
  }
  free(v);
  return rc;
}

int group_chain_peek(const uint8_t *chain, size_t len, uint8_t group_id[static 32],
                     uint64_t *first, uint64_t *last) {
  struct arena a;
  Momedo__GroupChain *c = NULL;
  uint64_t v = 0;
  arena_init(&a, GROUP_CHAIN_DECODE_BYTES_MAX);
  int rc = chain_decode(chain, len, &a, &c);
  if (rc == 0) rc = group_record_peek(c->records[0].data, c->records[0].len, group_id, first);
  if (rc == 0) {
    const ProtobufCBinaryData *b = &c->records[c->n_records - 1];
    uint8_t gid[32];
    rc = c->n_records == 1 ? (v = *first, 0) : group_record_peek(b->data, b->len, gid, &v);
    if (rc == 0 && c->n_records > 1 && memcmp(gid, group_id, 32) != 0) rc = MOMEDO_E_INVAL;
  }
  if (rc == 0) *last = v;
  arena_close(&a);
  return rc;
}

int group_chain_apply(struct group *g, const uint8_t *chain, size_t len, uint64_t now_ms,
                      struct group_apply_info *ai) {
  struct arena a;
  Momedo__GroupChain *c = NULL;
  struct group_apply_info one, sum;
  size_t applied = 0;
  char why[GROUP_REASON_MAX] = "";
  memset(&sum, 0, sizeof sum);
  arena_init(&a, GROUP_CHAIN_DECODE_BYTES_MAX);
  int rc = chain_decode(chain, len, &a, &c);
  for (size_t i = 0; rc == 0 && i < c->n_records; i++) {
    rc = group_record_apply(g, c->records[i].data, c->records[i].len, now_ms, &one);
    if (rc == MOMEDO_E_EXISTS || rc == MOMEDO_E_SUPERSEDED) {
      memcpy(why, g->why, sizeof why);
      rc = 0;
      continue;
    }
    if (rc < 0) break;
    applied++;
    sum.head_changed |= one.head_changed, sum.epoch_changed |= one.epoch_changed;
    sum.displaced_own |= one.displaced_own, sum.lost = one.lost;
    sum.n_new_devices += one.n_new_devices;
  }
  arena_close(&a);
  sum.version = group__head(g)->version, sum.epoch = g->r.epoch, sum.removed = g->removed;
  if (ai) *ai = sum;
  if (rc == 0 && applied == 0) {
    memcpy(g->why, why, sizeof why);
    return MOMEDO_E_EXISTS;
  }
  return rc;
}
