/* simulations/sim_momedo.c — the "momedo" protocol: one production replication
 * engine (replication/repl.h) per simulated node over an in-memory store, driven by
 * simulated time. Carries SEND actions over the simulated network, turns STORED and
 * REMOVED (with the copy's role) into measures, checks safety after every step, and
 * re-arms each engine's timer from repl_next_deadline. Scoped runs give every engine
 * its node key, a signer and one shared record table, and count record, custody and
 * lookup traffic. Never looks inside the engine's private state. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "repl.h"
#include "sim_int.h"

#define TAG_REPL 201
#define FRAME_WIRE_OVERHEAD 8   /* frame length header + Frame field tag and length */
#define TIMER_SPINS_MAX 100000  /* timer fires at one instant before we call it a bug */
#define SIM_OWN_VERIFY_EVERY 64u /* the simulator's own signatures verified: one in this many */

/* A signed object the simulator did not publish (a node record), checked once by the
 * real obj_check and answered from here for every other node (the validation cache). */
struct foreign {
  uint8_t *bytes;
  uint32_t len;
  struct obj_checked ck;    /* n_dests 0: records are global scope */
};

struct lookup {
  uint32_t node;
  uint64_t handle, t_us;
};

struct sim_mo {
  struct repl_config cfg;
  struct repl_shared *shared; /* node keys and records, interned once for all engines */
  struct foreign *fo;       /* open addressing by the signature's tail; len 0 = empty */
  struct lookup *lk;        /* lookups in flight, unordered */
  uint32_t nlk, lk_cap;
  uint32_t fo_cap, fo_n;
  uint32_t *spins;      /* per node: timer fires without time moving on */
  uint64_t *spin_at;
  uint32_t *tombs;      /* tombstones stored during the current drain */
  uint32_t ntombs, tombs_cap;
};

static uint64_t now_ms(const struct sim *s) { return SIM_EPOCH_MS + s->now_us / 1000; }

/* A neighbor's peer ID in an engine is its node index + 1, as momedod numbers peers
 * from 1 (the engine's custody bookkeeping once took peer 0 for "no peer"). */
static uint64_t pid(uint32_t v) { return (uint64_t)v + 1; }
static uint32_t node_of(uint64_t peer_id) { return (uint32_t)(peer_id - 1); }

/* ---- the shared validation cache (repl_config's check hook) ---------------------
 * Every node checks every object: 10^7 signature checks for 1000 nodes and 10,000
 * objects. The hook wraps obj_check: the first successful check of the very bytes
 * the simulator signed (at the origin's insert) is kept with the object, and later
 * checks of those bytes are answered from it, asking the engine's dedup question
 * and re-applying obj_check's time rules in its order. Any other bytes go to the
 * real obj_check. The first check of the simulator's own bytes verifies their
 * signatures for one object in SIM_OWN_VERIFY_EVERY only (obj_check_own: everything
 * else). MOMEDO_SIM_VALIDATE=full installs no hook. */

static void remember(struct sim_obj *ob, const struct obj_checked *ck) {
  if (ck->info.kind == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE) {
    if (!ob->bundle && !(ob->bundle = malloc(sizeof *ob->bundle))) return; /* stays a miss */
    *ob->bundle = ck->bundle;
  }
  if (ck->n_dests) {
    if (!ob->dests && !(ob->dests = malloc((size_t)ck->n_dests * OBJ_KEY_LEN))) return;
    memcpy(ob->dests, ck->dests, (size_t)ck->n_dests * OBJ_KEY_LEN);
  }
  ob->n_dests = ck->n_dests;
  ob->info = ck->info;
  ob->ck_ok = 1;
}

static uint64_t tail64(const uint8_t *data, size_t len) {
  uint64_t x;
  memcpy(&x, data + len - 8, 8);
  return x * 0x9e3779b97f4a7c15ull;
}

static struct foreign *fo_find(struct sim_mo *mo, const uint8_t *data, size_t len) {
  if (!mo->fo_cap || len < 8) return NULL;
  for (uint32_t i = (uint32_t)(tail64(data, len) >> 40) & (mo->fo_cap - 1);; i = (i + 1) & (mo->fo_cap - 1)) {
    struct foreign *f = &mo->fo[i];
    if (!f->len) return NULL;
    if (f->len == len && !memcmp(f->bytes, data, len)) return f;
  }
}

/* Keep a node record that passed obj_check (out of memory: it stays a miss). */
static void fo_put(struct sim_mo *mo, const uint8_t *data, size_t len, const struct obj_checked *ck) {
  if (len < 8 || ck->n_dests) return;
  if (2 * (mo->fo_n + 1) > mo->fo_cap) {
    uint32_t nc = mo->fo_cap ? mo->fo_cap * 2 : 1024;
    struct foreign *nf = calloc(nc, sizeof *nf);
    if (!nf) return;
    for (uint32_t i = 0; i < mo->fo_cap; i++) {
      struct foreign *f = &mo->fo[i];
      if (!f->len) continue;
      uint32_t j = (uint32_t)(tail64(f->bytes, f->len) >> 40) & (nc - 1);
      while (nf[j].len) j = (j + 1) & (nc - 1);
      nf[j] = *f;
    }
    free(mo->fo);
    mo->fo = nf;
    mo->fo_cap = nc;
  }
  uint8_t *b = malloc(len);
  if (!b) return;
  memcpy(b, data, len);
  uint32_t j = (uint32_t)(tail64(data, len) >> 40) & (mo->fo_cap - 1);
  while (mo->fo[j].len) j = (j + 1) & (mo->fo_cap - 1);
  mo->fo[j] = (struct foreign){b, (uint32_t)len, *ck};
  mo->fo_n++;
}

static void fo_free(struct sim_mo *mo) {
  for (uint32_t i = 0; i < mo->fo_cap; i++) free(mo->fo[i].bytes);
  free(mo->fo);
}

/* A node record: checked for real once, later copies of the same bytes from here (the
 * same time rules as below). */
static int check_record(struct sim *s, const uint8_t *data, size_t len, uint64_t now, obj_seen_fn seen,
                        void *seen_ctx, struct obj_checked *out) {
  struct sim_mo *mo = s->mo;
  const struct foreign *f = fo_find(mo, data, len);
  if (!f) {
    s->vcache_misses++;
    int rc = obj_check(MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, data, len, now, seen, seen_ctx, out);
    if (rc == 0) fo_put(mo, data, len, out);
    return rc;
  }
  s->vcache_hits++;
  const struct obj_info *ci = &f->ck.info;
  if (seen && seen(seen_ctx, ci->id)) {
    out->info.kind = MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD;
    memcpy(out->info.id, ci->id, OBJ_ID_LEN);
    return MOMEDO_E_EXISTS;
  }
  if (ci->created_ms > now && ci->created_ms - now > OBJ_CLOCK_SKEW_MS_MAX) return MOMEDO_E_FUTURE;
  if (ci->expires_ms <= now) return MOMEDO_E_EXPIRED;
  out->info = *ci;
  out->n_dests = 0;
  out->record = f->ck.record;
  return 0;
}

static int hook_check(void *ctx, Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                      uint64_t now, obj_seen_fn seen, void *seen_ctx, struct obj_checked *out) {
  struct sim *s = ctx;
  if (kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) return check_record(s, data, len, now, seen, seen_ctx, out);
  int32_t o = sim__obj_by_bytes(s, data, len);
  struct sim_obj *ob = o >= 0 ? &s->objs[o] : NULL;
  if (!ob || !ob->ck_ok || ob->info.kind != kind) {
    s->vcache_misses++;
    /* The very bytes the simulator signed a moment ago (the origin's insert): their
     * signatures are verified for one object in SIM_OWN_VERIFY_EVERY, everything else
     * about them always (obj_check_own). MOMEDO_SIM_VALIDATE=full installs no hook. */
    bool own = ob && !ob->ck_ok && (uint32_t)o % SIM_OWN_VERIFY_EVERY != 0;
    int rc = own ? obj_check_own(kind, data, len, now, seen, seen_ctx, out)
                 : obj_check(kind, data, len, now, seen, seen_ctx, out);
    if (rc == 0 && ob && !ob->ck_ok) remember(ob, out);
    return rc;
  }
  const struct obj_info *ci = &ob->info;
  s->vcache_hits++;
  if (seen && seen(seen_ctx, ci->id)) { /* as obj_check: only kind and ID are filled */
    out->info.kind = kind;
    memcpy(out->info.id, ci->id, OBJ_ID_LEN);
    return MOMEDO_E_EXISTS;
  }
  /* The time rules of obj_check, in its order; everything else about these exact
   * bytes was checked when they were first accepted. */
  if (ci->created_ms > now && ci->created_ms - now > OBJ_CLOCK_SKEW_MS_MAX) return MOMEDO_E_FUTURE;
  if (kind != MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE && ci->expires_ms <= now) return MOMEDO_E_EXPIRED;
  out->info = *ci;
  if (ob->bundle) out->bundle = *ob->bundle;
  out->n_dests = ob->n_dests;
  if (ob->n_dests) memcpy(out->dests, ob->dests, (size_t)ob->n_dests * OBJ_KEY_LEN);
  return 0;
}

/* ---- wire scan: which objects does a ReplMsg carry? --------------------------- */

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int sh = 0; sh < 64 && *p < end; sh += 7) {
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << sh;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* Next field: number, and for length-delimited fields the body. -1 on bad input. */
static int field(const uint8_t **p, const uint8_t *end, uint32_t *num, const uint8_t **body,
                 uint64_t *blen) {
  uint64_t key, v;
  if (varint(p, end, &key)) return -1;
  *num = (uint32_t)(key >> 3);
  *body = NULL;
  switch (key & 7) {
  case 0: return varint(p, end, &v);
  case 1: if (end - *p < 8) return -1; *p += 8; return 0;
  case 5: if (end - *p < 4) return -1; *p += 4; return 0;
  case 2:
    if (varint(p, end, blen) || *blen > (uint64_t)(end - *p)) return -1;
    *body = *p;
    *p += *blen;
    return 0;
  default: return -1;
  }
}

/* One Object (kind, data): count the message against the object it carries; a node
 * record's bytes go to *rec (record traffic), any other object's to *other. */
static void count_object(struct sim *s, const uint8_t *b, uint64_t bl, uint64_t *rec, uint64_t *other) {
  uint32_t num;
  const uint8_t *ob, *data = NULL;
  uint64_t ol, dl = 0, kind = 0;
  for (const uint8_t *q = b; q < b + bl;) {
    const uint8_t *at = q;
    if (field(&q, b + bl, &num, &ob, &ol)) break;
    if (num == 1 && !ob) { /* kind: read the varint again */
      uint64_t k;
      at++;
      if (!varint(&at, b + bl, &k)) kind = k;
    }
    if (num == 2 && ob) data = ob, dl = ol;
  }
  if (kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) {
    *rec += dl;
    return;
  }
  *other += dl;
  int32_t o = data ? sim__obj_by_bytes(s, data, dl) : -1;
  if (o >= 0) s->objs[o].msgs++;
}

/* The objects of an ObjectPush (field 1: Object) or a CustodyGrant (field 1: Grant,
 * whose field 1 is the Object). */
static void count_objects(struct sim *s, const uint8_t *p, const uint8_t *end, int grant,
                          uint64_t *rec, uint64_t *other) {
  uint32_t num;
  const uint8_t *b, *gb;
  uint64_t bl, gl;
  while (p < end && field(&p, end, &num, &b, &bl) == 0) {
    if (num != 1 || !b) continue;
    if (!grant) {
      count_object(s, b, bl, rec, other);
      continue;
    }
    for (const uint8_t *q = b; q < b + bl && field(&q, b + bl, &num, &gb, &gl) == 0;)
      if (num == 1 && gb) count_object(s, gb, gl, rec, other);
  }
}

static void scan_msg(struct sim *s, const uint8_t *m, size_t n) {
  const uint8_t *p = m, *end = m + n, *b;
  uint32_t num, kind = 0;
  uint64_t bl, rec = 0, other = 0;
  while (p < end && field(&p, end, &num, &b, &bl) == 0) {
    if (!b || num < 1 || num >= SIM_MO_BODIES) continue;
    kind = num;
    if (num == 1 || num == 4) count_objects(s, b, b + bl, num == 4, &rec, &other);
    if (num == SIM_MO_ANNOUNCE || num == SIM_MO_PULL) rec += bl; /* lazy record push */
  }
  /* Record traffic: a message of records only counts whole (framing included), one
   * that also carries other objects counts the record bytes. */
  s->mo_record_bytes += rec && !other ? n + FRAME_WIRE_OVERHEAD : rec;
  s->mo_msgs[kind]++;
  s->mo_bytes[kind] += n;
}

/* ---- actions ----------------------------------------------------------------------- */

static int on_send(struct sim *s, uint32_t v, struct repl_action *a) {
  uint32_t peer = node_of(a->peer_id);
  size_t len = a->len;
  scan_msg(s, a->bytes, len);
  uint64_t depart;
  int rc = sim__send(s, v, peer, a->bytes, (uint32_t)len, (uint32_t)len + FRAME_WIRE_OVERHEAD, &depart);
  a->bytes = NULL;
  if (rc) return rc;
  if (!s->scn->bandwidth_bps || s->scn->cycle_mode || depart <= s->now_us) {
    repl_peer_sent(s->nodes[v].repl, pid(peer), len, now_ms(s));
    return 0;
  }
  /* The uplink is busy: the engine learns the bytes left only when they did. */
  int64_t i = sim_topo_find(&s->topo, v, peer);
  uint32_t epoch = s->edge_epoch[sim_topo_edge(&s->topo, v, (uint32_t)i)];
  return sim__schedule(s, depart, SIM_EVC_DELIVER, SIM_EV_SENT, v, peer, (uint64_t)epoch << 32 | len);
}

static int on_stored(struct sim *s, struct sim_mo *mo, uint32_t v, const struct repl_action *a) {
  if (a->info.kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) return 0; /* counted as traffic */
  int32_t o = sim__obj_by_id(s, a->info.id);
  if (o < 0) {
    sim__fail(s, "node %u stored an object nobody published", v);
    return 0;
  }
  const struct sim_obj *ob = &s->objs[o];
  _Static_assert((int)SIM_HELD_TRANSIT == (int)REPL_ROLE_TRANSIT && (int)SIM_HELD_CACHED == (int)REPL_ROLE_CACHED,
                 "roles in the engine's order");
  uint8_t role = (uint8_t)a->role;
  if (s->scn->check_safety && !s->sparse && role != SIM_HELD_DEST)
    sim__fail(s, "node %u holds object %d in role %u under flooding", v, o, role);
  if (s->scn->check_safety && s->sparse && role == SIM_HELD_DEST && sim__cell(s, (uint32_t)o, v) < 0)
    sim__fail(s, "node %u holds object %d as a destination but is none of its destinations", v, o);
  if (s->scn->check_safety) {
    if (sim__has(s, v, (uint32_t)o)) sim__fail(s, "node %u stored object %d twice", v, o);
    if (ob->kind == SIM_OBJ_ITEM && ob->other != UINT32_MAX && sim__has(s, v, ob->other))
      sim__fail(s, "node %u stored item %d although it holds its tombstone %u", v, o, ob->other);
  }
  uint32_t hops = s->cur_from == UINT32_MAX ? 0 : sim__hops_at(s, s->cur_from, (uint32_t)o) + 1;
  int rc = sim__got(s, v, (uint32_t)o, hops, role);
  if (rc) return rc;
  if (ob->kind == SIM_OBJ_TOMBSTONE && s->scn->check_safety) {
    if (mo->ntombs == mo->tombs_cap) {
      uint32_t nc = mo->tombs_cap ? mo->tombs_cap * 2 : 16;
      uint32_t *nt = realloc(mo->tombs, nc * sizeof *nt);
      if (!nt) return 0; /* the check is skipped, never the run */
      mo->tombs = nt;
      mo->tombs_cap = nc;
    }
    mo->tombs[mo->ntombs++] = (uint32_t)o;
  }
  return 0;
}

static void on_removed(struct sim *s, uint32_t v, const struct repl_action *a) {
  if (a->info.kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD) return;
  int32_t o = sim__obj_by_id(s, a->info.id);
  if (o < 0) return;
  if (s->scn->check_safety && sim__role_at(s, v, (uint32_t)o) != (int)a->role)
    sim__fail(s, "node %u removed object %d in role %d but held it in role %d", v, o, (int)a->role,
              sim__role_at(s, v, (uint32_t)o));
  sim__lost(s, v, (uint32_t)o);
}

static int drop_peer(struct sim *s, uint32_t v, const struct repl_action *a) {
  uint32_t peer = node_of(a->peer_id);
  sim__fail(s, "node %u dropped honest peer %u: %s (%s)", v, peer, a->reason,
            momedo_status_name(a->status));
  return 0;
}

/* Safety after a step at v: the engine's own count matches STORED - REMOVED, and no
 * tombstone stored in this step left its item behind. */
static void step_checks(struct sim *s, struct sim_mo *mo, uint32_t v) {
  struct sim_node *nd = &s->nodes[v];
  if (repl_count(nd->repl) != nd->have_count)
    sim__fail(s, "node %u: repl_count %llu but STORED-REMOVED says %u", v,
              (unsigned long long)repl_count(nd->repl), nd->have_count);
  for (uint32_t i = 0; i < mo->ntombs; i++) {
    uint32_t item = s->objs[mo->tombs[i]].other;
    if (item != UINT32_MAX && sim__has(s, v, item))
      sim__fail(s, "node %u holds tombstone %u and still its item %u", v, mo->tombs[i], item);
  }
  if (nd->have_count > s->nobjs) sim__fail(s, "node %u stores %u objects of %u", v, nd->have_count, s->nobjs);
}

static int rearm(struct sim *s, uint32_t v) {
  struct sim_node *nd = &s->nodes[v];
  uint64_t d = repl_next_deadline(nd->repl);
  if (d == UINT64_MAX || s->scn->cycle_mode) return 0;
  uint64_t t = d > SIM_EPOCH_MS ? (d - SIM_EPOCH_MS) * 1000 : 0;
  if (t < s->now_us) t = s->now_us;
  if (t >= nd->timer_us) return 0;
  nd->timer_us = t;
  return sim__schedule(s, t, SIM_EVC_ACT, SIM_EV_TIMER, v, 0, nd->gen);
}

/* Drain every action of node v's engine, then check and re-arm. */
static int drain(struct sim *s, uint32_t v) {
  struct sim_mo *mo = s->mo;
  struct repl_action a;
  int rc = 0;
  mo->ntombs = 0;
  while (repl_next_action(s->nodes[v].repl, &a)) {
    switch (a.kind) {
    case REPL_ACT_SEND:
      if (!rc) rc = on_send(s, v, &a);
      free(a.bytes);
      break;
    case REPL_ACT_DROP_PEER: if (!rc) rc = drop_peer(s, v, &a); break;
    case REPL_ACT_STORED:
      if (!rc) rc = on_stored(s, mo, v, &a);
      break;
    case REPL_ACT_REMOVED: on_removed(s, v, &a); break;
    case REPL_ACT_LOOKUP_DONE: sim__lookup_done(s, v, a.handle, a.status); break;
    default: free(a.claim); break; /* no one-time prekey claims in the simulator */
    }
  }
  if (s->scn->check_safety) step_checks(s, mo, v);
  return rc ? rc : rearm(s, v);
}

/* ---- protocol operations ------------------------------------------------------------ */

static int config(struct sim *s, struct repl_config *cfg, char *why, size_t why_cap) {
  const struct sim_scn *c = s->scn;
  repl_config_default(cfg);
  /* A scenario without a `repl scope` line floods, as every scenario did before scoped
   * delivery existed (their figures stay comparable); `repl scope scoped` routes. */
  cfg->scope = REPL_SCOPE_FLOOD;
  /* The parser checked every value against the engine's parameter table. */
  for (uint32_t i = 0; i < c->nrepl; i++)
    if (repl_param_set(cfg, c->repl[i].param, c->repl[i].value)) return MOMEDO_E_INTERNAL;
  uint32_t deg = s->topo.degree_max;
  if (c->max_conns && c->max_conns < deg) deg = c->max_conns;
  if (deg > REPL_PEERS_MAX) {
    reason_set(why, why_cap, "%s: a node has %u neighbors but the engine takes at most %u "
             "peers (REPL_PEERS_MAX): set 'link max_conns=%u' or use a sparser topology",
             c->name, deg, REPL_PEERS_MAX, REPL_PEERS_MAX);
    return MOMEDO_E_CONFIG;
  }
  return 0;
}


/* The engine's record signer: counts the versions (summary record_versions). */
static int sign_record(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  ((struct sim_keys *)ctx)->records_signed++;
  return sim__node_sign(ctx, msg, len, sig);
}

static int start_node(struct sim *s, uint32_t v) {
  struct sim_mo *mo = s->mo;
  struct sim_node *nd = &s->nodes[v];
  int rc = 0;
  if (!nd->store && (rc = s->store_mem ? store_mem_open(&nd->store) : sim_store_open(s, &nd->store)))
    return rc;
  uint64_t seed = sim_seed_derive(s->seed, TAG_REPL, (uint64_t)nd->gen << 32 | v);
  struct repl_config cfg = mo->cfg;
  struct sim_keys *k;
  if ((rc = sim__node_keys(s, v, &k))) return rc;
  memcpy(cfg.self_key, k->node.pub, OBJ_KEY_LEN);
  cfg.sign = sign_record; /* the engine signs its node records with the node key */
  cfg.sign_ctx = k;
  snprintf(cfg.name, sizeof cfg.name, "n%u", v);
  if ((rc = repl_new(&cfg, nd->store, seed, now_ms(s), &nd->repl))) return rc;
  nd->timer_us = UINT64_MAX;
  return drain(s, v);
}

static void stop_node(struct sim *s, uint32_t v, int wipe) {
  struct sim_node *nd = &s->nodes[v];
  repl_free(nd->repl);
  nd->repl = NULL;
  nd->timer_us = UINT64_MAX;
  struct sim_mo *mo = s->mo;
  for (uint32_t i = 0; i < mo->nlk;) /* its lookups die with it */
    if (mo->lk[i].node == v) s->lookups_notfound++, mo->lk[i] = mo->lk[--mo->nlk];
    else i++;
  if (!wipe) return;
  store_close(nd->store);
  nd->store = NULL;
  /* Its node records went with the store (they are kept in the shared table). */
  struct sim_keys *k;
  if (sim__node_keys(s, v, &k) == 0) repl_shared_forget(mo->shared, k->node.pub);
  sim__lost_all(s, v);
}

static int mo_init(struct sim *s, char *why, size_t why_cap) {
  struct sim_mo *mo = calloc(1, sizeof *mo);
  if (!mo) return MOMEDO_E_NOMEM;
  s->mo = mo;
  int rc = config(s, &mo->cfg, why, why_cap);
  if (rc) return rc;
  if ((rc = repl_shared_new(sim_seed_derive(s->seed, TAG_REPL, UINT64_MAX), &mo->shared))) return rc;
  mo->cfg.shared = mo->shared;
  /* MOMEDO_SIM_RIDX=eager: every engine keeps its record index (same output, more
   * memory: the comparison of docs/simulation.md "Scale"). */
  const char *env = getenv("MOMEDO_SIM_RIDX");
  mo->cfg.record_index_eager = env && !strcmp(env, "eager");
  if (!s->validate_full) {
    mo->cfg.check = hook_check;
    mo->cfg.check_ctx = s;
  }
  for (uint32_t v = 0; v < s->n && !rc; v++) rc = start_node(s, v);
  if (rc == MOMEDO_E_INVAL)
    reason_set(why, why_cap, "%s: the engine refused the repl parameters", s->scn->name);
  return rc;
}

static void mo_free(struct sim *s) {
  struct sim_mo *mo = s->mo;
  for (uint32_t v = 0; v < s->n; v++) {
    repl_free(s->nodes[v].repl);
    store_close(s->nodes[v].store);
    s->nodes[v].repl = NULL;
    s->nodes[v].store = NULL;
  }
  if (mo) {
    repl_shared_free(mo->shared);
    fo_free(mo);
    free(mo->lk);
    free(mo->tombs);
    free(mo->spins);
    free(mo->spin_at);
  }
  free(mo);
  s->mo = NULL;
}

static int link_up(struct sim *s, uint32_t u, uint32_t v) {
  struct sim_keys *ku, *kv;
  int rc = sim__node_keys(s, u, &ku);
  if (!rc) rc = sim__node_keys(s, v, &kv);
  if (!rc) rc = repl_peer_up(s->nodes[u].repl, pid(v), kv->node.pub, now_ms(s));
  if (!rc) rc = repl_peer_up(s->nodes[v].repl, pid(u), ku->node.pub, now_ms(s));
  if (!rc) rc = drain(s, u);
  if (!rc) rc = drain(s, v);
  return rc;
}

static void link_down(struct sim *s, uint32_t u, uint32_t v) {
  /* A crashed node has no engine any more; the survivor learns of the loss. */
  uint32_t ends[2] = {u, v};
  for (int i = 0; i < 2; i++) {
    uint32_t a = ends[i], b = ends[1 - i];
    if (!s->nodes[a].repl) continue;
    repl_peer_down(s->nodes[a].repl, pid(b), now_ms(s));
    if (drain(s, a)) s->stop = 1; /* out of memory while draining: end the run */
  }
}

/* Scoped runs: once every node has issued its record with its first links, every node
 * takes all records from the shared table (repl_records_adopt), so the federation starts
 * with converged routes instead of flooding n records to n nodes; the record pushes
 * already queued then arrive as duplicates. Churn and partitions still spread records. */
static int links_ready(struct sim *s) {
  if (!s->sparse) return 0;
  int rc = 0;
  /* An engine signs its record at its first tick: give every due engine that tick now,
   * so its record lists its first links, then let every engine adopt them all. */
  for (uint32_t v = 0; v < s->n && !rc; v++) {
    struct sim_node *nd = &s->nodes[v];
    if (repl_next_deadline(nd->repl) > now_ms(s)) continue;
    nd->timer_us = UINT64_MAX;
    rc = repl_tick(nd->repl, now_ms(s));
    if (!rc) rc = drain(s, v);
  }
  for (uint32_t v = 0; v < s->n && !rc; v++) {
    int k = repl_records_adopt(s->nodes[v].repl, now_ms(s));
    rc = k < 0 ? k : drain(s, v);
  }
  return rc;
}

static int deliver(struct sim *s, const struct sim_event *e) {
  if (!sim__deliver_ok(s, e)) {
    free(e->data);
    return 0;
  }
  uint32_t v = e->node;
  int rc = repl_on_msg(s->nodes[v].repl, pid(e->from), e->data, e->len, now_ms(s));
  free(e->data);
  if (rc < 0 && momedo_status_kind(rc) == MOMEDO_KIND_PROTO) {
    sim__fail(s, "node %u refused a message from %u: %s", v, e->from, momedo_status_name(rc));
    rc = 0;
  }
  if (rc < 0) return rc;
  s->cur_from = e->from; /* STORED actions of this drain came from this peer: hop count */
  rc = drain(s, v);
  s->cur_from = UINT32_MAX;
  return rc;
}

static int timer(struct sim *s, const struct sim_event *e) {
  uint32_t v = e->node;
  struct sim_node *nd = &s->nodes[v];
  if (!nd->alive || !nd->repl) return 0;
  if (e->type == SIM_EV_SENT) {
    int64_t i = sim_topo_find(&s->topo, v, e->from);
    uint64_t ed = sim_topo_edge(&s->topo, v, (uint32_t)i);
    if (!s->edge_up[ed] || s->edge_epoch[ed] != (uint32_t)(e->arg >> 32)) return 0;
    repl_peer_sent(nd->repl, pid(e->from), (uint32_t)e->arg, now_ms(s));
    return drain(s, v);
  }
  if (e->arg != nd->gen || e->time_ms != nd->timer_us) return 0; /* stale */
  nd->timer_us = UINT64_MAX;
  struct sim_mo *mo = s->mo;
  if (mo->spin_at == NULL) {
    mo->spin_at = calloc(s->n, sizeof *mo->spin_at);
    mo->spins = calloc(s->n, sizeof *mo->spins);
    if (!mo->spin_at || !mo->spins) return MOMEDO_E_NOMEM;
  }
  mo->spins[v] = mo->spin_at[v] == s->now_us ? mo->spins[v] + 1 : 0;
  mo->spin_at[v] = s->now_us;
  if (mo->spins[v] > TIMER_SPINS_MAX) {
    sim__fail(s, "node %u: repl_next_deadline stays at %.3f ms after %u ticks", v, s->now_us / 1000.0,
              TIMER_SPINS_MAX);
    return 0;
  }
  int rc = repl_tick(nd->repl, now_ms(s));
  return rc ? rc : drain(s, v);
}

static int act(struct sim *s, uint32_t v) { /* cycle mode: one turn per cycle */
  struct sim_node *nd = &s->nodes[v];
  if (!nd->repl || repl_next_deadline(nd->repl) > now_ms(s)) return 0;
  int rc = repl_tick(nd->repl, now_ms(s));
  return rc ? rc : drain(s, v);
}

static int publish(struct sim *s, uint32_t o) {
  struct sim_obj *ob = &s->objs[o];
  struct obj_info info;
  int rc = repl_insert_local(s->nodes[ob->origin].repl, ob->info.kind, ob->bytes, ob->size,
                             now_ms(s), &info);
  if (rc < 0) {
    if (momedo_status_kind(rc) == MOMEDO_KIND_STORE || rc == MOMEDO_E_NOMEM) return rc;
    sim__fail(s, "node %u refused its own client's object %u: %s", ob->origin, o, momedo_status_name(rc));
    return drain(s, ob->origin);
  }
  ob->info = info;
  ob->info_ok = 1;
  sim__obj_id_known(s, o);
  if ((rc = drain(s, ob->origin))) return rc;
  /* A user registered before the run: its bundle is at its partner nodes too. */
  for (uint32_t i = 0; s->in_setup && ob->kind == SIM_OBJ_BUNDLE && i < ob->ndnodes && !rc; i++) {
    uint32_t v = ob->dnodes[i];
    if (v == ob->origin) continue;
    rc = repl_insert_local(s->nodes[v].repl, ob->info.kind, ob->bytes, ob->size, now_ms(s), &info);
    if (rc < 0 && momedo_status_kind(rc) != MOMEDO_KIND_STORE && rc != MOMEDO_E_NOMEM) {
      sim__fail(s, "node %u refused user %u's bundle at setup: %s", v, o, momedo_status_name(rc));
      rc = 0;
    }
    if (rc >= 0) rc = drain(s, v);
  }
  return rc;
}

/* ---- lookups ---------------------------------------------------------------------- */

int sim__lookup_start(struct sim *s, uint32_t v, uint32_t o, int hint) {
  struct sim_mo *mo = s->mo;
  const struct sim_obj *ob = &s->objs[o];
  struct repl_lookup_req q;
  memset(&q, 0, sizeof q);
  q.kind = REPL_LOOKUP_USER_ID;
  int rc = ids_user_id_bits(q.user_id, ob->info.key); /* a bundle's info.key: its identity key */
  for (uint32_t i = 0; hint && !rc && i < ob->ndnodes && i < REPL_LOOKUP_HINTS_MAX; i++) {
    struct sim_keys *k;
    if (!(rc = sim__node_keys(s, ob->dnodes[i], &k))) memcpy(q.hints[q.n_hints++], k->node.pub, OBJ_KEY_LEN);
  }
  if (rc) return rc;
  if (mo->nlk == mo->lk_cap) {
    uint32_t nc = mo->lk_cap ? mo->lk_cap * 2 : 64;
    struct lookup *nl = realloc(mo->lk, nc * sizeof *nl);
    if (!nl) return MOMEDO_E_NOMEM;
    mo->lk = nl;
    mo->lk_cap = nc;
  }
  uint64_t h;
  s->lookups++;
  rc = repl_lookup_start(s->nodes[v].repl, &q, now_ms(s), &h);
  if (rc == MOMEDO_E_STORE || rc == MOMEDO_E_NOMEM) return rc;
  if (rc) {
    s->lookups_refused++; /* E_BUSY: too many in flight at v */
    return 0;
  }
  mo->lk[mo->nlk++] = (struct lookup){v, h, s->now_us};
  return drain(s, v);
}

void sim__lookup_done(struct sim *s, uint32_t v, uint64_t handle, int status) {
  struct sim_mo *mo = s->mo;
  for (uint32_t i = 0; i < mo->nlk; i++) {
    struct lookup *l = &mo->lk[i];
    if (l->node != v || l->handle != handle) continue;
    s->lookup_delay_ms_sum += (s->now_us - l->t_us) / 1000;
    if (status == 0) s->lookups_found++;
    else s->lookups_notfound++;
    *l = mo->lk[--mo->nlk];
    return;
  }
}

const struct sim_proto_ops sim_momedo_ops = {
    .init = mo_init,
    .free = mo_free,
    .start_node = start_node,
    .stop_node = stop_node,
    .link_up = link_up,
    .link_down = link_down,
    .deliver = deliver,
    .act = act,
    .timer = timer,
    .publish = publish,
    .free_payload = free,
    .links_ready = links_ready,
};
