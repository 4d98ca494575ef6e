/* replication/repl.c — the engine's shell: lifecycle, PRNG, peers and their
 * send credit, the action queue, message dispatch, eager push batching, timers
 * and statistics. Storage decisions live in repl_store.c, reconciliation in
 * repl_recon.c. No clock, no rand(), no I/O: everything leaves as an action. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repl_int.h"

/* Uniform-enough value in [0, max] from the engine's PRNG (protocol/rng.h). Plain
 * modulo, not rng_below: jitter does not need it, and the draws (so every simulation
 * run of a seed) stay as they were. */
static uint64_t rand_upto(struct repl *r, uint64_t max) {
  return max == 0 ? 0 : rng_next(&r->rng) % (max + 1);
}

static void pb_free(struct repl_pushbuf *b);

/* What the parameter table cannot say: scoped mode signs records, so it needs a signer. */
static int scope_check(const struct repl_config *c) {
  if (c->scope == REPL_SCOPE_FLOOD) return 0;
  if (c->scope != REPL_SCOPE_SCOPED || !c->sign) return MOMEDO_E_INVAL;
  /* The name goes into every record: [a-z0-9.-], at most REPL_NAME_CHARS_MAX. */
  size_t n = strnlen(c->name, sizeof c->name);
  if (n == sizeof c->name) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < n; i++) {
    char ch = c->name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
      return MOMEDO_E_INVAL;
  }
  return 0;
}

/* ---- lifecycle ----------------------------------------------------------------- */

int repl_new(const struct repl_config *cfg, struct store *store, uint64_t seed,
             uint64_t now_ms, struct repl **out) {
  struct repl_config def;
  if (!cfg) repl_config_default(&def), cfg = &def;
  if (!store || !out || repl_config_check(cfg) || scope_check(cfg)) return MOMEDO_E_INVAL;
  struct repl *r = calloc(1, sizeof *r);
  if (!r) return MOMEDO_E_NOMEM;
  r->cfg = *cfg;
  r->store = store;
  uint64_t more = rng_seed(&r->rng, seed);
  r->shared = cfg->shared;
  if (!r->shared) {
    int rc0 = repl_shared_new(seed ^ 0x5a5a5a5a5a5a5a5aull, &r->shared);
    if (rc0) {
      free(r);
      return rc0;
    }
    r->own_shared = true;
  }
  repl__idx_init(&r->idx);
  /* Its own draw from the seed stream: the PRNG's sequence stays as it was. */
  repl__mc_init(&r->mcount, rng_splitmix64(&more));
  arena_init(&r->unpack, REPL_UNPACK_ARENA_BYTES_MAX);
  /* A push of one object needs well under 1 KiB: a block that small comes from
   * malloc's per-thread cache, hot, where a 16 KiB one costs a consolidation. */
  r->unpack.block_bytes = REPL_UNPACK_BLOCK_BYTES;
  arena_init(&r->build, REPL_BUILD_ARENA_BYTES_MAX);
  r->next_seq = 1;
  r->next_expiry_ms = UINT64_MAX;
  r->last_now_ms = now_ms;
  repl__idx_init(&r->gidx);
  repl__idx_init(&r->ridx);
  r->rec_exp_ms = UINT64_MAX;
  r->rt_exp_ms = UINT64_MAX;
  r->rt_full = true;
  r->signer_lru = r->signer_mru = UINT32_MAX;
  r->pull_next_ms = UINT64_MAX;
  r->graft_next_ms = UINT64_MAX;
  /* A table from the caller: records live there, not in the store (repl.h). */
  r->rec_mem = !r->own_shared && cfg->scope == REPL_SCOPE_SCOPED;
  r->pend_next_ms = UINT64_MAX;
  r->lookup_next_ms = UINT64_MAX;
  r->claim_next_ms = UINT64_MAX;
  /* Scoped: the first own record at the first tick (links coming up join it). */
  r->rec_due_ms = cfg->scope == REPL_SCOPE_SCOPED ? now_ms : UINT64_MAX;
  int rc = (r->self_node = repl__node_of(r, cfg->self_key)) == UINT32_MAX ? MOMEDO_E_NOMEM : 0;
  if (rc == 0 && r->rec_mem) rc = repl__nodes_unpark(r);
  if (rc == 0) rc = repl__load(r);
  if (rc == 0) rc = repl__links_restore(r, now_ms);
  if (rc) {
    repl_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void repl_free(struct repl *r) {
  if (!r) return;
  for (size_t i = r->act_head; i < r->nacts; i++)
    if (r->acts[i].kind == REPL_ACT_SEND) free(r->acts[i].bytes);
    else free(r->acts[i].claim);
  free(r->acts);
  for (size_t i = 0; i < r->npeers; i++) repl__idx_close(&r->peers[i].sidx);
  free(r->peers);
  free(r->peer_ids);
  repl__idx_close(&r->gidx);
  repl__idx_close(&r->ridx);
  repl__nodes_free(r);
  repl__rt_free(r);
  free(r->pend);
  free(r->own_rec_bytes);
  repl__cache_free(r);
  free(r->lookups);
  repl__claims_free(r);
  free(r->pulls);
  free(r->grafts);
  free(r->arrivals);
  free(r->signers);
  free(r->signer_hash);
  free(r->fresh);
  pb_free(&r->pb);
  repl__idx_close(&r->idx);
  repl__mc_close(&r->mcount);
  arena_close(&r->unpack);
  arena_close(&r->build);
  if (r->own_shared) repl_shared_free(r->shared);
  free(r);
}

/* ---- actions ------------------------------------------------------------------- */

int repl__act_push(struct repl *r, const struct repl_action *a) {
  if (r->nacts == r->acts_cap) {
    if (r->act_head > 0) {
      memmove(r->acts, r->acts + r->act_head, (r->nacts - r->act_head) * sizeof *r->acts);
      r->nacts -= r->act_head;
      r->act_head = 0;
    }
    if (r->nacts == r->acts_cap) {
      size_t ncap = r->acts_cap ? r->acts_cap * 2 : 16;
      struct repl_action *na = realloc(r->acts, ncap * sizeof *na);
      if (!na) return MOMEDO_E_NOMEM;
      r->acts = na;
      r->acts_cap = ncap;
    }
  }
  r->acts[r->nacts++] = *a;
  return 0;
}

int repl_next_action(struct repl *r, struct repl_action *a) {
  if (r->act_head == r->nacts) return 0;
  *a = r->acts[r->act_head++];
  if (r->act_head == r->nacts) r->act_head = r->nacts = 0;
  return 1;
}

/* Discard undrained SENDs for a peer that is gone. */
static void purge_sends(struct repl *r, uint64_t peer_id) {
  size_t w = r->act_head;
  for (size_t i = r->act_head; i < r->nacts; i++) {
    if (r->acts[i].kind == REPL_ACT_SEND && r->acts[i].peer_id == peer_id) {
      free(r->acts[i].bytes);
      continue;
    }
    r->acts[w++] = r->acts[i];
  }
  r->nacts = w;
}

/* ---- peers --------------------------------------------------------------------- */

struct repl_peer *repl__peer(struct repl *r, uint64_t peer_id) {
  for (size_t i = 0; i < r->npeers; i++)
    if (r->peer_ids[i] == peer_id) return &r->peers[i];
  return NULL;
}

/* Remove peers[i] (the last one takes its place). */
static void peer_remove(struct repl *r, size_t i) {
  r->peers[i] = r->peers[--r->npeers];
  r->peer_ids[i] = r->peer_ids[r->npeers];
}

/* Every input brings the caller's clock. When it went back (an NTP step, a clock set
 * right after running fast), rounds scheduled on the old clock could lie hours ahead
 * and no reconciliation would run until the clock caught up: no deadline may be further
 * ahead than the parameters ever schedule one, so such rounds start now. (The simulator's
 * clock never goes back; nothing changes for it.) */
void repl__clock_note(struct repl *r, uint64_t now_ms) {
  if (now_ms < r->last_now_ms) {
    uint64_t wait_max = r->cfg.recon_interval_ms + r->cfg.recon_jitter_ms;
    if (r->cfg.recon_start_delay_ms_max > wait_max) wait_max = r->cfg.recon_start_delay_ms_max;
    for (size_t i = 0; i < r->npeers; i++)
      if (r->peers[i].next_recon_ms > now_ms + wait_max) r->peers[i].next_recon_ms = now_ms;
  }
  r->last_now_ms = now_ms;
}

void repl__recon_schedule(struct repl *r, struct repl_peer *p, uint64_t now_ms) {
  p->next_recon_ms = now_ms + r->cfg.recon_interval_ms + rand_upto(r, r->cfg.recon_jitter_ms);
}

int repl_peer_up(struct repl *r, uint64_t peer_id, const uint8_t peer_key[static OBJ_KEY_LEN],
                 uint64_t now_ms) {
  struct repl_peer *p = repl__peer(r, peer_id);
  repl__clock_note(r, now_ms);
  if (peer_id == 0) return MOMEDO_E_INVAL; /* custody's "granted to nobody" */
  if (r->cfg.scope == REPL_SCOPE_SCOPED && memcmp(peer_key, r->cfg.self_key, OBJ_KEY_LEN) == 0)
    return MOMEDO_E_INVAL;
  if (!p) {
    if (r->npeers == REPL_PEERS_MAX) return MOMEDO_E_BUSY;
    if (r->npeers == r->peers_cap) {
      size_t ncap = r->peers_cap ? r->peers_cap * 2 : 4;
      uint64_t *ni = realloc(r->peer_ids, ncap * sizeof *ni);
      if (ni) r->peer_ids = ni;
      struct repl_peer *np = ni ? realloc(r->peers, ncap * sizeof *np) : NULL;
      if (!np) return MOMEDO_E_NOMEM;
      r->peers = np;
      r->peers_cap = ncap;
    }
    r->peer_ids[r->npeers] = peer_id;
    p = &r->peers[r->npeers++];
  } else {
    if (repl__scoped(r)) repl__rt_touch(r, p->node); /* its first hop goes */
    purge_sends(r, peer_id);
    repl__idx_close(&p->sidx);
    if (repl__scoped(r)) repl__custody_peer_down(r, peer_id, now_ms);
  }
  memset(p, 0, sizeof *p);
  p->id = peer_id;
  memcpy(p->key, peer_key, OBJ_KEY_LEN);
  p->up = true;
  repl__idx_init(&p->sidx);
  if (repl__scoped(r)) {
    int rc0 = repl__link_up(r, p, now_ms);
    if (rc0 == 0) rc0 = repl__shared_load(r, p);
    if (rc0) {
      repl__idx_close(&p->sidx);
      peer_remove(r, (size_t)(p - r->peers));
      return rc0;
    }
  }
  uint64_t delay = rand_upto(r, r->cfg.recon_start_delay_ms_max);
  p->next_recon_ms = now_ms + delay;
  if (r->cfg.recon_start_delay_ms_max == 0) return repl__recon_start(r, p, now_ms);
  return 0;
}

void repl_peer_down(struct repl *r, uint64_t peer_id, uint64_t now_ms) {
  struct repl_peer *p = repl__peer(r, peer_id);
  repl__clock_note(r, now_ms);
  if (!p) return;
  purge_sends(r, peer_id);
  repl__idx_close(&p->sidx);
  uint8_t key[OBJ_KEY_LEN];
  memcpy(key, p->key, OBJ_KEY_LEN);
  peer_remove(r, (size_t)(p - r->peers));
  if (repl__scoped(r)) {
    repl__link_down(r, key, now_ms);
    repl__custody_peer_down(r, peer_id, now_ms);
  }
}

bool repl__can_send(const struct repl *r, const struct repl_peer *p) {
  return p->up && p->queued_bytes < r->cfg.peer_queue_bytes_max;
}

void repl_peer_sent(struct repl *r, uint64_t peer_id, uint64_t bytes, uint64_t now_ms) {
  struct repl_peer *p = repl__peer(r, peer_id);
  repl__clock_note(r, now_ms);
  if (!p) return;
  p->queued_bytes = bytes >= p->queued_bytes ? 0 : p->queued_bytes - bytes;
  if (p->up && p->withheld && p->queued_bytes <= r->cfg.peer_queue_bytes_max / 2) {
    /* What was withheld is repaired by a round as soon as the next tick. */
    p->withheld = false;
    p->next_recon_ms = now_ms;
  }
}

/* Drop a misbehaving peer: one DROP_PEER action, no further traffic. */
static int peer_drop(struct repl *r, struct repl_peer *p, int status, const char *why) {
  struct repl_action a;
  memset(&a, 0, sizeof a);
  a.kind = REPL_ACT_DROP_PEER;
  a.peer_id = p->id;
  a.status = status;
  snprintf(a.reason, sizeof a.reason, "%s (last: %s)", why, momedo_status_name(status));
  p->up = false;
  r->st.peers_dropped++;
  purge_sends(r, p->id);
  if (repl__scoped(r)) {
    repl__link_down(r, p->key, r->last_now_ms);
    repl__custody_peer_down(r, p->id, r->last_now_ms);
  }
  return repl__act_push(r, &a);
}

/* One invalid object or malformed message. More than REPL_INVALID_MAX within
 * REPL_INVALID_WINDOW_MS (an exact sliding window over the last timestamps)
 * drops the peer. */
static int peer_strike(struct repl *r, struct repl_peer *p, int status, uint64_t now_ms) {
  uint64_t oldest = p->invalid_ring[p->invalid_pos];
  bool full = p->invalid_n == REPL_INVALID_MAX;
  p->invalid_ring[p->invalid_pos] = now_ms;
  p->invalid_pos = (p->invalid_pos + 1) % REPL_INVALID_MAX;
  if (!full) p->invalid_n++;
  if (full && now_ms - oldest < REPL_INVALID_WINDOW_MS && p->up)
    return peer_drop(r, p, status, "too many invalid objects or messages");
  return 0;
}

int repl__strike(struct repl *r, struct repl_peer *p, int status, uint64_t now_ms) {
  return peer_strike(r, p, status, now_ms);
}

/* ---- sending ------------------------------------------------------------------- */

/* Queue n encoded bytes (buf, owned from here on) as a SEND to p, and count them. */
static int send_packed(struct repl *r, struct repl_peer *p, uint8_t *buf, size_t n, bool recon) {
  struct repl_action a;
  memset(&a, 0, sizeof a);
  a.kind = REPL_ACT_SEND;
  a.peer_id = p->id;
  a.bytes = buf;
  a.len = n;
  int rc = repl__act_push(r, &a);
  if (rc) {
    free(buf);
    return rc;
  }
  p->queued_bytes += n;
  if (recon) {
    p->st.recon_bytes_sent += n, p->st.recon_msgs_sent++;
    r->st.recon_bytes_sent += n;
  } else {
    p->st.push_bytes_sent += n;
    r->st.push_bytes_sent += n;
  }
  return 0;
}

static int msg_pack(const Momedo__ReplMsg *m, uint8_t **out, size_t *len) {
  size_t n = momedo__repl_msg__get_packed_size(m);
  assert(n <= REPL_MSG_BYTES_MAX);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return MOMEDO_E_NOMEM;
  size_t w = momedo__repl_msg__pack(m, buf);
  assert(w == n);
  *out = buf;
  *len = n;
  return 0;
}

int repl__send(struct repl *r, struct repl_peer *p, const Momedo__ReplMsg *m, bool recon) {
  uint8_t *buf;
  size_t n;
  int rc = msg_pack(m, &buf, &n);
  return rc ? rc : send_packed(r, p, buf, n, recon);
}

/* Small control messages (custody acks) go out even over a full queue: withholding
 * them would only make the peer send the objects again. */
int repl__send_always(struct repl *r, struct repl_peer *p, const Momedo__ReplMsg *m) {
  return repl__send(r, p, m, false);
}

int repl__send_want(struct repl *r, struct repl_peer *p, const uint8_t *ids, size_t n) {
  for (size_t i = 0; i < n; i += REPL_WANT_IDS_MAX) {
    if (!repl__can_send(r, p)) {
      p->withheld = true, p->st.withheld++;
      return 0;
    }
    size_t k = n - i < REPL_WANT_IDS_MAX ? n - i : REPL_WANT_IDS_MAX;
    Momedo__ObjectWant w = MOMEDO__OBJECT_WANT__INIT;
    w.ids.data = (uint8_t *)ids + i * OBJ_ID_LEN;
    w.ids.len = k * OBJ_ID_LEN;
    Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
    m.body_case = MOMEDO__REPL_MSG__BODY_WANT;
    m.want = &w;
    int rc = repl__send(r, p, &m, true);
    if (rc) return rc;
  }
  return 0;
}

/* ---- push batching ------------------------------------------------------------ */

static void pb_clear(struct repl_pushbuf *b) {
  for (size_t i = 0; i < b->n; i++) free(b->owned[i]);
  b->n = 0;
  b->bytes = 0;
}

static void pb_free(struct repl_pushbuf *b) {
  pb_clear(b);
  free(b->objs);
  free(b->ptrs);
  free(b->owned);
  memset(b, 0, sizeof *b);
}

/* Done with the engine's push buffer for now: empty, and small enough to keep. */
static void pb_done(struct repl_pushbuf *b) {
  if (b->cap > REPL_PUSHBUF_KEEP) pb_free(b);
  else pb_clear(b);
  b->fresh = false;
}

/* The buffered objects as one encoded ReplMsg with an ObjectPush. */
static int pb_pack(struct repl_pushbuf *b, uint8_t **out, size_t *len) {
  Momedo__ObjectPush op = MOMEDO__OBJECT_PUSH__INIT;
  for (size_t i = 0; i < b->n; i++) b->ptrs[i] = &b->objs[i];
  op.n_objects = b->n;
  op.objects = b->ptrs;
  op.fresh = b->fresh;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PUSH;
  m.push = &op;
  return msg_pack(&m, out, len);
}

static int pb_flush(struct repl *r, struct repl_peer *p, struct repl_pushbuf *b) {
  if (b->n == 0) return 0;
  uint8_t *buf;
  size_t len;
  int rc = pb_pack(b, &buf, &len);
  if (rc == 0) rc = send_packed(r, p, buf, len, false);
  if (rc == 0) p->st.objects_pushed += b->n;
  pb_clear(b);
  return rc;
}

/* Append one object, no checks (owned: freed after encoding, else borrowed). */
static int pb_put(struct repl_pushbuf *b, Momedo__ObjectKind kind, const uint8_t *data,
                  size_t len, uint8_t *owned) {
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 16;
    Momedo__Object *no = realloc(b->objs, ncap * sizeof *no);
    if (no) b->objs = no;
    Momedo__Object **np = realloc(b->ptrs, ncap * sizeof *np);
    if (np) b->ptrs = np;
    uint8_t **nw = realloc(b->owned, ncap * sizeof *nw);
    if (nw) b->owned = nw;
    if (!no || !np || !nw) {
      free(owned);
      return MOMEDO_E_NOMEM;
    }
    b->cap = ncap;
  }
  Momedo__Object *o = &b->objs[b->n];
  momedo__object__init(o);
  o->kind = kind;
  o->data.data = (uint8_t *)data;
  o->data.len = len;
  b->owned[b->n++] = owned;
  b->bytes += len + 16;
  return 0;
}

/* Queue one object (owned: freed after encoding, else borrowed). Returns 1 if
 * the peer's queue is full and the object was not taken (owned is freed). */
static int pb_add(struct repl *r, struct repl_peer *p, struct repl_pushbuf *b,
                  Momedo__ObjectKind kind, const uint8_t *data, size_t len, uint8_t *owned) {
  int rc;
  if (b->n > 0 && b->bytes + len + 16 > REPL_PUSH_BYTES_MAX && (rc = pb_flush(r, p, b))) {
    free(owned);
    return rc;
  }
  if (b->n == 0 && !repl__can_send(r, p)) {
    free(owned);
    p->withheld = true, p->st.withheld++;
    return 1;
  }
  return pb_put(b, kind, data, len, owned);
}

int repl__push_ids(struct repl *r, struct repl_peer *p, const uint8_t *ids, size_t n,
                   uint64_t now_ms) {
  struct repl_pushbuf *b = &r->pb;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    uint8_t *val = NULL;
    struct repl_rec rec;
    rc = repl__rec_get(r, ids + i * OBJ_ID_LEN, &val, &rec);
    if (rc == MOMEDO_E_NOTFOUND) {
      rc = 0; /* gone meanwhile, or an index-only test ID */
      continue;
    }
    if (rc) break;
    if (rec.info.expires_ms && rec.info.expires_ms <= now_ms) {
      free(val);
      continue;
    }
    if (!repl__recon_push_ok(r, p, rec.len, now_ms)) { /* the rest in a later round */
      free(val);
      break;
    }
    rc = pb_add(r, p, b, rec.info.kind, rec.data, rec.len, val);
  }
  if (rc == 0) rc = pb_flush(r, p, b);
  pb_done(b);
  return rc == 1 ? 0 : rc;
}

/* Do all fresh objects fit in one ObjectPush (as pb_add would batch them)? */
static bool fresh_fit_one(const struct repl *r) {
  size_t bytes = 0;
  for (size_t j = 0; j < r->nfresh; j++) {
    if (j > 0 && bytes + r->fresh[j].len + 16 > REPL_PUSH_BYTES_MAX) return false;
    bytes += r->fresh[j].len + 16;
  }
  return true;
}

/* Node-record bytes among the fresh objects (statistics). */
static uint64_t fresh_record_bytes(const struct repl *r, uint64_t skip_peer) {
  uint64_t n = 0;
  for (size_t j = 0; j < r->nfresh; j++)
    if (r->fresh[j].kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD &&
        (r->fresh[j].from_local || r->fresh[j].from_peer != skip_peer))
      n += r->fresh[j].len;
  return n;
}

/* Did one of the fresh objects come from this peer? */
static bool fresh_from(const struct repl *r, uint64_t peer_id) {
  for (size_t j = 0; j < r->nfresh; j++)
    if (!r->fresh[j].from_local && r->fresh[j].from_peer == peer_id) return true;
  return false;
}

/* Did every fresh object come in an eager push or from a local client? Then so does
 * this push (ObjectPush.fresh): an object a round or a graft brought is pushed on, but
 * a duplicate of it says nothing about the links and prunes none. */
static bool fresh_tree(const struct repl *r) {
  for (size_t j = 0; j < r->nfresh; j++)
    if (!r->fresh[j].from_local && !r->fresh[j].tree) return false;
  return true;
}

/* Push every fresh object to p as one message: exactly what pb_add and pb_flush
 * would send, but encoded once (*full) for all the peers that get them all. */
static int push_all_fresh(struct repl *r, struct repl_peer *p, uint8_t **full, size_t *len) {
  int rc = 0;
  if (!repl__can_send(r, p)) {
    p->withheld = true, p->st.withheld++;
    return 0;
  }
  if (!*full) {
    struct repl_pushbuf *b = &r->pb;
    b->fresh = fresh_tree(r);
    for (size_t j = 0; j < r->nfresh; j++)
      if ((rc = pb_put(b, r->fresh[j].kind, r->fresh[j].data, r->fresh[j].len, NULL))) break;
    rc = rc ? rc : pb_pack(b, full, len);
    pb_done(b);
    if (rc) return rc;
  }
  uint8_t *copy = malloc(*len ? *len : 1);
  if (!copy) return MOMEDO_E_NOMEM;
  memcpy(copy, *full, *len);
  if ((rc = send_packed(r, p, copy, *len, false))) return rc;
  p->st.objects_pushed += r->nfresh;
  return 0;
}

/* End of every input call: push the objects stored during it to every up peer
 * but the one each came from, batched into as few ObjectPush messages as fit (lazy
 * item push: lazy peers get the items' IDs instead, repl_ihave.c). */
static int flush_fresh(struct repl *r) {
  int rc = repl__announce_fresh(r);
  if (rc == 0) rc = repl__ihave_fresh(r);
  uint8_t *full = NULL;
  size_t full_len = 0;
  bool one = r->nfresh > 0 && fresh_fit_one(r);
  for (size_t i = 0; i < r->npeers && rc == 0 && r->nfresh; i++) {
    struct repl_peer *p = &r->peers[i];
    struct repl_pushbuf *b = &r->pb;
    if (p->up && repl__can_send(r, p)) {
      uint64_t rb = fresh_record_bytes(r, p->id);
      p->st.record_bytes_sent += rb, r->st.record_bytes_sent += rb;
    }
    bool lazy = r->cfg.item_push == REPL_ITEM_PUSH_LAZY && p->lazy;
    if (one && p->up && !lazy && !fresh_from(r, p->id)) {
      rc = push_all_fresh(r, p, &full, &full_len);
      continue;
    }
    b->fresh = fresh_tree(r);
    for (size_t j = 0; j < r->nfresh && rc == 0 && p->up; j++) {
      struct repl_fresh *f = &r->fresh[j];
      if ((!f->from_local && f->from_peer == p->id) || repl__fresh_lazy(r, p, f)) continue;
      rc = pb_add(r, p, b, f->kind, f->data, f->len, NULL);
    }
    if (rc == 0) rc = pb_flush(r, p, b);
    pb_done(b);
    if (rc == 1) rc = 0;
  }
  free(full);
  r->nfresh = 0;
  return rc;
}

/* End of every input call: push what is fresh, then (scoped) grant what is due. */
static int finish_call(struct repl *r, uint64_t now_ms) {
  int rc = flush_fresh(r);
  int rc2 = repl__scoped(r) ? repl__custody_pump(r, now_ms) : 0;
  return rc ? rc : rc2;
}

/* ---- inputs ---------------------------------------------------------------------- */

static bool is_environmental(int rc) {
  enum momedo_kind k = momedo_status_kind(rc);
  return k == MOMEDO_KIND_STORE || k == MOMEDO_KIND_INTERNAL || k == MOMEDO_KIND_IO ||
         k == MOMEDO_KIND_USAGE;
}

static int on_push(struct repl *r, struct repl_peer *p, const Momedo__ObjectPush *op,
                   uint64_t now_ms) {
  for (size_t i = 0; i < op->n_objects && p->up; i++) {
    const Momedo__Object *o = op->objects[i];
    p->st.objects_received++;
    if (o->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD)
      p->st.record_bytes_recv += o->data.len, r->st.record_bytes_recv += o->data.len;
    size_t nfresh = r->nfresh;
    struct obj_info info;
    int rc = repl__ingest(r, o->kind, o->data.data, o->data.len, now_ms, p, NULL, &info);
    if (r->nfresh > nfresh) r->fresh[r->nfresh - 1].tree = op->fresh;
    if (rc == 0) {
      p->st.objects_stored++;
      repl__item_arrived(r, p, o->kind, info.id, op->fresh);
    } else if (rc == MOMEDO_E_SIGNER || rc == MOMEDO_E_RATE) {
      /* Its signer is not known here yet, or over its budget: not now, no strike;
       * reconciliation offers it again (soon, when over the budget). */
      p->st.signer_deferred++;
      if (rc == MOMEDO_E_RATE) repl__defer_round(p, now_ms);
    } else if (rc == MOMEDO_E_EXISTS) {
      p->st.objects_duplicate++;
      if (op->fresh && (rc = repl__item_dup(r, p, o->kind, o->data.data, o->data.len))) return rc;
    } else if (rc == MOMEDO_E_DEAD || rc == MOMEDO_E_SUPERSEDED || rc == MOMEDO_E_EXPIRED ||
               rc == MOMEDO_E_UNEXPECTED || rc == MOMEDO_E_FORK || rc == MOMEDO_E_FUTURE) {
      /* Valid, just not wanted, or one of the two clocks is off (E_EXPIRED, E_FUTURE):
       * dropped without a strike, so a neighbor whose clock runs hours ahead is not cut
       * off; reconciliation offers the object again until the clocks agree.
       * E_UNEXPECTED: for other nodes and pushed without custody (or a record in flood
       * mode): not stored, not held against the peer. E_FORK: a bundle the user's own
       * later one contradicts (signed by the user, not the peer's fault). */
      p->st.objects_dropped++;
    } else if (rc == MOMEDO_E_NOTFOUND || is_environmental(rc)) {
      return rc == MOMEDO_E_NOTFOUND ? MOMEDO_E_STORE : rc;
    } else {
      p->st.objects_invalid++;
      if ((rc = peer_strike(r, p, rc, now_ms))) return rc;
    }
  }
  return 0;
}

static int on_want(struct repl *r, struct repl_peer *p, const Momedo__ObjectWant *w,
                   uint64_t now_ms) {
  if (w->ids.len % OBJ_ID_LEN || w->ids.len / OBJ_ID_LEN > REPL_WANT_IDS_MAX)
    return MOMEDO_E_BOUNDS;
  size_t n = w->ids.len / OBJ_ID_LEN;
  if (!repl__scoped(r)) return repl__push_ids(r, p, w->ids.data, n, now_ms);
  /* Scoped: only what a round with this peer may offer (global scope, records, the
   * objects both hold as a destination); transit objects never leave by recon. */
  uint8_t *ok = malloc(n ? n * OBJ_ID_LEN : 1);
  if (!ok) return MOMEDO_E_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *id = w->ids.data + i * OBJ_ID_LEN;
    if (repl__idx_has(&r->gidx, id) || repl__ridx_has(r, id) || repl__idx_has(&p->sidx, id))
      memcpy(ok + k++ * OBJ_ID_LEN, id, OBJ_ID_LEN);
  }
  int rc = repl__push_ids(r, p, ok, k, now_ms);
  free(ok);
  return rc;
}



/* Lazy item push (repl_ihave.c): answered like a Want, within the peer's reconciliation
 * budget; a graft's bodies count against its recon push budget (repl__push_ids). */
static int on_lazy_msg(struct repl *r, struct repl_peer *p, const Momedo__ReplMsg *m, size_t n,
                       uint64_t now_ms) {
  p->st.lazy_bytes_recv += n;
  if (!repl__recon_ok(r, p, now_ms)) return 0;
  if (m->body_case == MOMEDO__REPL_MSG__BODY_IHAVE) return repl__on_ihave(r, p, m->ihave, now_ms);
  if (m->body_case == MOMEDO__REPL_MSG__BODY_GRAFT) return repl__on_graft(r, p, m->graft, now_ms);
  return repl__on_prune(r, p);
}

static int dispatch(struct repl *r, struct repl_peer *p, const uint8_t *bytes, size_t n,
                    uint64_t now_ms) {
  if (n > REPL_MSG_BYTES_MAX) return MOMEDO_E_TOOBIG;
  Momedo__ReplMsg *m = momedo__repl_msg__unpack(&r->unpack.pb, n, bytes);
  if (!m) return MOMEDO_E_DECODE;
  switch (m->body_case) {
  case MOMEDO__REPL_MSG__BODY_PUSH:
    p->st.push_bytes_recv += n, r->st.push_bytes_recv += n;
    if (!repl__ingest_ok(r, p, m, n, now_ms)) { /* over budget: pulled again soon */
      repl__defer_round(p, now_ms);
      return 0;
    }
    return on_push(r, p, m->push, now_ms);
  case MOMEDO__REPL_MSG__BODY_RECON:
    p->st.recon_bytes_recv += n, p->st.recon_msgs_recv++, r->st.recon_bytes_recv += n;
    if (!repl__recon_ok(r, p, now_ms)) return 0; /* the peer's round ends here */
    return repl__recon_on_msg(r, p, m->recon, now_ms);
  case MOMEDO__REPL_MSG__BODY_WANT:
    p->st.recon_bytes_recv += n, p->st.recon_msgs_recv++, r->st.recon_bytes_recv += n;
    if (!repl__recon_ok(r, p, now_ms)) return 0;
    return on_want(r, p, m->want, now_ms);
  case MOMEDO__REPL_MSG__BODY_GRANT:
    p->st.push_bytes_recv += n, r->st.push_bytes_recv += n;
    if (!repl__ingest_ok(r, p, m, n, now_ms)) return 0; /* not acked: granted again */
    return repl__on_grant(r, p, m->grant, now_ms);
  case MOMEDO__REPL_MSG__BODY_ACK:
    p->st.push_bytes_recv += n, r->st.push_bytes_recv += n;
    return repl__on_ack(r, p, m->ack, now_ms);
  case MOMEDO__REPL_MSG__BODY_ROUTED:
    return repl__on_routed(r, p, m->routed, now_ms);
  case MOMEDO__REPL_MSG__BODY_ANNOUNCE:
    p->st.record_bytes_recv += n, r->st.record_bytes_recv += n;
    if (!repl__recon_ok(r, p, now_ms)) return 0; /* as a Want: not answered */
    return repl__on_announce(r, p, m->announce, now_ms);
  case MOMEDO__REPL_MSG__BODY_PULL:
    p->st.record_bytes_recv += n, r->st.record_bytes_recv += n;
    if (!repl__recon_ok(r, p, now_ms)) return 0;
    return repl__on_pull(r, p, m->pull, now_ms);
  case MOMEDO__REPL_MSG__BODY_IHAVE:
  case MOMEDO__REPL_MSG__BODY_GRAFT:
  case MOMEDO__REPL_MSG__BODY_PRUNE:
    return on_lazy_msg(r, p, m, n, now_ms);
  default:
    return MOMEDO_E_UNKNOWN_KIND;
  }
}

int repl_on_msg(struct repl *r, uint64_t peer_id, const uint8_t *bytes, size_t n,
                uint64_t now_ms) {
  struct repl_peer *p = repl__peer(r, peer_id);
  repl__clock_note(r, now_ms);
  if (!p || !p->up) return MOMEDO_E_UNEXPECTED;
  int rc = dispatch(r, p, bytes, n, now_ms);
  if (rc && !is_environmental(rc)) {
    /* The message itself was garbage: a strike, and the code to the caller. */
    p->st.msgs_malformed++;
    int rc2 = peer_strike(r, p, rc, now_ms);
    if (rc2) rc = rc2;
  }
  /* Fresh objects point into the unpacked message: push them before freeing it. */
  int rc3 = finish_call(r, now_ms);
  arena_close(&r->unpack); /* frees every block: an idle engine holds no buffers */
  return rc ? rc : rc3;
}

int repl_insert_local(struct repl *r, Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                      uint64_t now_ms, struct obj_info *out) {
  repl__clock_note(r, now_ms);
  int rc = repl__ingest(r, kind, data, len, now_ms, NULL, NULL, out);
  int rc2 = finish_call(r, now_ms);
  return rc ? rc : rc2;
}

int repl_insert_checked(struct repl *r, const struct obj_checked *ck, const uint8_t *data,
                        size_t len, uint64_t now_ms, struct obj_info *out) {
  repl__clock_note(r, now_ms);
  /* The dedup obj_check would have asked about, then what follows it. */
  int rc = repl__idx_has(&r->idx, ck->info.id)
               ? MOMEDO_E_EXISTS
               : repl__ingest_checked(r, ck, data, len, now_ms, NULL, NULL, out);
  int rc2 = finish_call(r, now_ms);
  return rc ? rc : rc2;
}

int repl_tick(struct repl *r, uint64_t now_ms) {
  repl__clock_note(r, now_ms);
  int rc = repl__gc(r, now_ms);
  if (rc == 0) rc = repl__records_tick(r, now_ms);
  if (rc == 0 && now_ms >= r->lookup_next_ms) rc = repl__lookups_tick(r, now_ms);
  if (rc == 0 && now_ms >= r->claim_next_ms) rc = repl__claims_tick(r, now_ms);
  if (rc == 0) rc = repl__pulls_tick(r, now_ms);
  if (rc == 0) rc = repl__grafts_tick(r, now_ms);
  for (size_t i = 0; i < r->npeers && rc == 0; i++) {
    struct repl_peer *p = &r->peers[i];
    if (p->up && now_ms >= p->next_recon_ms) rc = repl__recon_start(r, p, now_ms);
  }
  int rc2 = finish_call(r, now_ms);
  return rc ? rc : rc2;
}

uint64_t repl_next_deadline(const struct repl *r) {
  uint64_t d = r->gc_more ? r->last_now_ms : r->next_expiry_ms;
  if (r->graft_next_ms < d) d = r->graft_next_ms;
  if (r->cfg.scope == REPL_SCOPE_SCOPED) {
    if (r->rec_due_ms < d) d = r->rec_due_ms;
    if (r->rec_exp_ms < d) d = r->rec_exp_ms;
    if (r->pull_next_ms < d) d = r->pull_next_ms;
    uint64_t c = r->custody_dirty ? r->last_now_ms : r->pend_next_ms;
    if (r->routes_dirty && r->spf_due_ms < c) c = r->spf_due_ms; /* held routes searched */
    if (r->npend && c < d) d = c;
    if (r->lookup_next_ms < d) d = r->lookup_next_ms;
    if (r->claim_next_ms < d) d = r->claim_next_ms;
  }
  for (size_t i = 0; i < r->npeers; i++)
    if (r->peers[i].up && r->peers[i].next_recon_ms < d) d = r->peers[i].next_recon_ms;
  return d;
}

/* ---- statistics and checks -------------------------------------------------- */

void repl_stats(const struct repl *r, struct repl_stats *s) {
  *s = r->st;
  s->objects = r->idx.total;
  s->records = repl__ridx_count(r);
  s->next_seq = r->next_seq;
}

int repl_peer_stats(const struct repl *r, uint64_t peer_id, struct repl_peer_stats *s) {
  for (size_t i = 0; i < r->npeers; i++) {
    if (r->peers[i].id != peer_id) continue;
    *s = r->peers[i].st;
    s->queued_bytes = r->peers[i].queued_bytes;
    s->lazy_link = r->peers[i].lazy;
    return 0;
  }
  return MOMEDO_E_NOTFOUND;
}

int repl_has(const struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  return repl__idx_has(&r->idx, id);
}

uint64_t repl_count(const struct repl *r) { return r->idx.total; }

void repl_fingerprint(const struct repl *r, uint8_t fp[static 16]) {
  struct repl_agg a;
  repl__idx_total(&r->idx, &a);
  repl__fingerprint(&a, fp);
}

int repl__test_index_add(struct repl *r, const uint8_t id[static OBJ_ID_LEN]) {
  int rc = repl__idx_insert(&r->idx, id);
  return rc < 0 ? rc : 0;
}
