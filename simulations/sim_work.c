/* simulations/sim_work.c — the workload: key bundles and Ozone items published at
 * their origin nodes over time, tombstones issued by recipients, expiry. For the
 * momedo protocol every object is a real signed object (protocol/obj.h) with keys
 * derived from the run seed; classic protocols only see its index and size. Also
 * owns the lookup tables from bytes and IDs back to object indices. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

enum { TAG_NODEKEY = 101, TAG_DEVICE, TAG_USER, TAG_UDEV };
#define PREKEY_TTL_MS (30ull * 24 * 3600 * 1000)

static uint64_t load64(const uint8_t *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  return x;
}

static int map_init(struct sim_objmap *m, uint32_t n) {
  m->cap = 16;
  while (m->cap < 2ull * n + 16) m->cap *= 2;
  m->keys = calloc(m->cap, sizeof *m->keys);
  m->vals = malloc(m->cap * sizeof *m->vals);
  if (!m->keys || !m->vals) return MOMEDO_E_NOMEM;
  memset(m->vals, 0xff, m->cap * sizeof *m->vals);
  return 0;
}

static void map_put(struct sim_objmap *m, uint64_t key, uint32_t val) {
  uint64_t i = mix(key) & (m->cap - 1);
  while (m->vals[i] != UINT32_MAX) i = (i + 1) & (m->cap - 1);
  m->keys[i] = key;
  m->vals[i] = val;
}

int32_t sim__obj_by_bytes(const struct sim *s, const uint8_t *data, size_t len) {
  const struct sim_objmap *m = &s->by_sig;
  if (!m->keys || len < 8) return -1;
  uint64_t key = load64(data + len - 8); /* the signature's tail: unique per object */
  for (uint64_t i = mix(key) & (m->cap - 1); m->vals[i] != UINT32_MAX; i = (i + 1) & (m->cap - 1)) {
    const struct sim_obj *o = &s->objs[m->vals[i]];
    if (m->keys[i] == key && o->size == len && !memcmp(o->bytes, data, len)) return (int32_t)m->vals[i];
  }
  return -1;
}

int32_t sim__obj_by_suffix(const struct sim *s, const uint8_t *data, size_t len) {
  const struct sim_objmap *m = &s->by_sig;
  if (!m->keys || len < 8) return -1;
  uint64_t key = load64(data + len - 8);
  for (uint64_t i = mix(key) & (m->cap - 1); m->vals[i] != UINT32_MAX; i = (i + 1) & (m->cap - 1)) {
    const struct sim_obj *o = &s->objs[m->vals[i]];
    if (m->keys[i] == key && o->size <= len && !memcmp(o->bytes, data + len - o->size, o->size))
      return (int32_t)m->vals[i];
  }
  return -1;
}

int32_t sim__obj_by_id(const struct sim *s, const uint8_t id[static OBJ_ID_LEN]) {
  const struct sim_objmap *m = &s->by_id;
  if (!m->keys) return -1;
  uint64_t key = load64(id);
  for (uint64_t i = mix(key) & (m->cap - 1); m->vals[i] != UINT32_MAX; i = (i + 1) & (m->cap - 1)) {
    const struct sim_obj *o = &s->objs[m->vals[i]];
    if (m->keys[i] == key && !memcmp(o->info.id, id, OBJ_ID_LEN)) return (int32_t)m->vals[i];
  }
  return -1;
}

void sim__obj_id_known(struct sim *s, uint32_t o) {
  if (sim__obj_by_id(s, s->objs[o].info.id) < 0) map_put(&s->by_id, load64(s->objs[o].info.id), o);
}

void sim__obj_bytes_known(struct sim *s, uint32_t o) {
  map_put(&s->by_sig, load64(s->objs[o].bytes + s->objs[o].size - 8), o);
}

int sim__objs_init(struct sim *s, uint32_t cap, int maps) {
  s->objs_cap = cap;
  s->objs = calloc(s->objs_cap + 1, sizeof *s->objs);
  if (!s->objs) return MOMEDO_E_NOMEM;
  int rc = 0;
  if (maps && ((rc = map_init(&s->by_sig, s->objs_cap)) || (rc = map_init(&s->by_id, s->objs_cap))))
    return rc;
  return 0;
}

int sim__work_init(struct sim *s) {
  const struct sim_scn *c = s->scn;
  int rc = sim__objs_init(s, c->objects_total, c->proto == SIM_PROTO_MOMEDO);
  if (rc) return rc;
  s->wsets = calloc(c->nwork, sizeof *s->wsets);
  if (!s->wsets) return MOMEDO_E_NOMEM;
  if (c->proto == SIM_PROTO_MOMEDO) {
    s->keys = calloc(s->n, sizeof *s->keys);
    s->users = malloc(((size_t)c->objects_total + 1) * sizeof *s->users);
    if (!s->keys || !s->users) return MOMEDO_E_NOMEM;
  }
  for (uint32_t w = 0; w < c->nwork && !rc; w++) {
    struct sim_wset *ws = &s->wsets[w];
    rc = sim__sel_nodes(s, &c->work[w].from, &s->rng_work, &ws->from, &ws->nfrom);
    if (!rc) rc = sim__sel_nodes(s, &c->work[w].to, &s->rng_work, &ws->to, &ws->nto);
    if (!rc && (!ws->nfrom || !ws->nto)) rc = MOMEDO_E_CONFIG; /* county/role sets are non-empty */
    if (!rc && !c->work[w].at_setup)
      rc = sim__schedule(s, sim_us(c->work[w].start_ms), SIM_EVC_FAULT, SIM_EV_PUBLISH, 0, w, 0);
  }
  return rc;
}

void sim__work_free(struct sim *s) {
  if (s->objs)
    for (uint32_t o = 0; o < s->nobjs; o++)
      free(s->objs[o].bytes), free(s->objs[o].tpl), free(s->objs[o].bundle), free(s->objs[o].dests);
  free(s->objs);
  free(s->users);
  if (s->wsets)
    for (uint32_t w = 0; w < s->scn->nwork; w++) free(s->wsets[w].from), free(s->wsets[w].to);
  free(s->wsets);
  for (uint32_t v = 0; s->keys && v < s->n; v++) crypto_signer_free(s->keys[v].node_signer);
  if (s->keys) crypto_wipe(s->keys, (size_t)s->n * sizeof *s->keys);
  free(s->keys);
  free(s->by_sig.keys);
  free(s->by_sig.vals);
  free(s->by_id.keys);
  free(s->by_id.vals);
}

int sim__node_keys(struct sim *s, uint32_t v, struct sim_keys **out) {
  struct sim_keys *k = &s->keys[v];
  *out = k;
  if (k->have) return 0;
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
  int rc = 0;
  for (int which = 0; which < 2 && !rc; which++) {
    uint64_t st = sim_seed_derive(s->seed, which ? TAG_DEVICE : TAG_NODEKEY, v);
    for (int i = 0; i < 4; i++) {
      uint64_t x = rng_splitmix64(&st);
      memcpy(seed + 8 * i, &x, 8);
    }
    rc = crypto_sign_from_seed(which ? &k->device : &k->node, seed);
  }
  crypto_wipe(seed, sizeof seed);
  if (!rc) rc = obj_device_mailbox(k->mailbox, k->device.pub);
  k->have = rc == 0;
  return rc;
}

/* Every item a node accepts is signed with its key: imported once, not per signature. */
int sim__node_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  struct sim_keys *k = ctx;
  if (!k->node_signer) {
    int rc = crypto_signer_new(&k->node, &k->node_signer);
    if (rc) return rc;
  }
  return crypto_signer_sign(k->node_signer, sig, msg, len);
}

static void rand_bytes(struct rng *r, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = rng_next(r);
    memcpy(p + i, &x, n - i < 8 ? n - i : 8);
  }
}

/* The node keys of o's destination nodes, ascending and unique (an object's dest_nodes,
 * a bundle's home_nodes): keys[i] points into s->keys. */
static int dest_keys(struct sim *s, const struct sim_obj *ob, ProtobufCBinaryData keys[SIM_DESTS_MAX],
                     size_t *n) {
  *n = 0;
  for (uint32_t i = 0; i < ob->ndnodes; i++) {
    struct sim_keys *k;
    int rc = sim__node_keys(s, ob->dnodes[i], &k);
    if (rc) return rc;
    size_t j = 0;
    while (j < *n && memcmp(keys[j].data, k->node.pub, OBJ_KEY_LEN) < 0) j++;
    if (j < *n && !memcmp(keys[j].data, k->node.pub, OBJ_KEY_LEN)) continue; /* named twice */
    memmove(keys + j + 1, keys + j, (*n - j) * sizeof *keys);
    keys[j] = (ProtobufCBinaryData){OBJ_KEY_LEN, k->node.pub};
    (*n)++;
  }
  return 0;
}

static int seeded_kp(struct sim *s, uint64_t tag, uint64_t idx, struct crypto_sign_keypair *kp) {
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
  uint64_t st = sim_seed_derive(s->seed, tag, idx);
  for (int i = 0; i < 4; i++) {
    uint64_t x = rng_splitmix64(&st);
    memcpy(seed + 8 * i, &x, 8);
  }
  int rc = crypto_sign_from_seed(kp, seed);
  crypto_wipe(seed, sizeof seed);
  return rc;
}

/* A new user's key bundle: one device, homed at the origin node. */
static int make_bundle(struct sim *s, uint32_t o, uint8_t **out, size_t *len) {
  struct sim_obj *ob = &s->objs[o];
  struct crypto_sign_keypair id, dev;
  struct sim_keys *home;
  uint8_t dh[32], prekey[32], psig[CRYPTO_SIG_LEN];
  uint64_t created = SIM_EPOCH_MS + ob->created_us / 1000, pexp = created + PREKEY_TTL_MS;
  int rc = seeded_kp(s, TAG_USER, o, &id);
  if (!rc) rc = seeded_kp(s, TAG_UDEV, o, &dev);
  if (!rc) rc = sim__node_keys(s, ob->origin, &home);
  if (rc) goto out;
  rand_bytes(&s->rng_work, dh, sizeof dh);
  rand_bytes(&s->rng_work, prekey, sizeof prekey);
  if ((rc = obj_prekey_sign(psig, 1, pexp, prekey, &dev))) goto out;
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT, *dp = &d;
  d.device_key = (ProtobufCBinaryData){32, dev.pub};
  d.dh_key = (ProtobufCBinaryData){32, dh};
  d.signed_prekey = (ProtobufCBinaryData){32, prekey};
  d.prekey_id = 1;
  d.prekey_expires_ms = pexp;
  d.prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, psig};
  d.home_node = (ProtobufCBinaryData){32, home->node.pub};
  ProtobufCBinaryData hn[SIM_DESTS_MAX];
  size_t nhn;
  if ((rc = dest_keys(s, ob, hn, &nhn))) goto out;
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  b.format = OBJ_FORMAT;
  b.identity_key = (ProtobufCBinaryData){32, id.pub};
  b.version = 1;
  b.created_ms = created;
  b.n_devices = 1;
  b.devices = &dp;
  b.n_home_nodes = nhn;
  b.home_nodes = hn;
  rc = obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &id, out, len);
out:
  crypto_wipe(&id, sizeof id);
  crypto_wipe(&dev, sizeof dev);
  return rc;
}

static int make_item(struct sim *s, uint32_t o, uint8_t **out, size_t *len) {
  struct sim_obj *ob = &s->objs[o];
  struct sim_keys *org, *home;
  int rc = sim__node_keys(s, ob->origin, &org);
  if (!rc) rc = sim__node_keys(s, ob->home, &home);
  ProtobufCBinaryData dk[SIM_DESTS_MAX];
  size_t ndk;
  if (!rc) rc = dest_keys(s, ob, dk, &ndk);
  if (rc) return rc;
  uint8_t *ct = malloc(ob->size);
  if (!ct) return MOMEDO_E_NOMEM;
  rand_bytes(&s->rng_work, ct, ob->size);
  Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
  it.format = OBJ_FORMAT;
  it.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, home->mailbox};
  it.created_ms = SIM_EPOCH_MS + ob->created_us / 1000;
  it.expires_ms = SIM_EPOCH_MS + ob->expires_us / 1000;
  it.ciphertext = (ProtobufCBinaryData){ob->size, ct};
  it.node_key = (ProtobufCBinaryData){32, org->node.pub};
  it.n_dest_nodes = ndk;
  it.dest_nodes = dk;
  rc = obj_sign_encode_with(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &it.base, sim__node_sign, org,
                            out, len);
  free(ct);
  return rc;
}

static int make_tombstone(struct sim *s, uint32_t o, uint8_t **out, size_t *len) {
  struct sim_obj *ob = &s->objs[o], *item = &s->objs[ob->other];
  struct sim_keys *home;
  ProtobufCBinaryData dk[SIM_DESTS_MAX];
  size_t ndk;
  int rc = sim__node_keys(s, ob->origin, &home);
  if (!rc) rc = dest_keys(s, ob, dk, &ndk);
  if (rc) return rc;
  return obj_tombstone_sign(&home->device, item->info.id, SIM_EPOCH_MS + ob->created_us / 1000,
                            SIM_EPOCH_MS + ob->expires_us / 1000, dk, ndk, out, len);
}

static const Momedo__ObjectKind pb_kind[] = {MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE,
                                             MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM,
                                             MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE};

/* Build (momedo: sign) object o and insert it at its origin if that node is up. */
static int publish(struct sim *s, uint32_t o) {
  struct sim_obj *ob = &s->objs[o];
  int rc = 0;
  if (s->scn->proto == SIM_PROTO_MOMEDO) {
    uint8_t *b = NULL;
    size_t len = 0;
    if (ob->kind == SIM_OBJ_BUNDLE) rc = make_bundle(s, o, &b, &len);
    else if (ob->kind == SIM_OBJ_ITEM) rc = make_item(s, o, &b, &len);
    else rc = make_tombstone(s, o, &b, &len);
    if (rc) return rc;
    ob->bytes = b;
    ob->size = (uint32_t)len;
    ob->info.kind = pb_kind[ob->kind];
    sim__obj_bytes_known(s, o);
  } else {
    ob->size = ob->kind == SIM_OBJ_BUNDLE ? SIM_BUNDLE_BYTES
                                          : ob->size + SIM_ITEM_OVERHEAD_BYTES;
  }
  if (!s->nodes[ob->origin].alive) return 0; /* the client found its home node down */
  sim__obj_published(s, o);
  rc = sim__ops(s)->publish(s, o);
  if (!rc && !s->scn->nfaults) rc = sim__healed(s); /* no faults: converge after each write */
  return rc;
}

static int new_obj(struct sim *s, enum sim_obj_kind kind, uint32_t *out) {
  if (s->nobjs == s->objs_cap) return MOMEDO_E_INTERNAL; /* counted by the parser */
  uint32_t o = s->nobjs++;
  struct sim_obj *ob = &s->objs[o];
  memset(ob, 0, sizeof *ob);
  ob->kind = (uint8_t)kind;
  ob->created_us = s->now_us;
  ob->expires_us = UINT64_MAX;
  ob->other = UINT32_MAX;
  *out = o;
  return 0;
}

/* The nodes that must hold o: its user's home (the recipient's for items, the new
 * user's for bundles) and that home's partners; then its measurement cells. */
static int obj_dests(struct sim *s, uint32_t o, uint32_t partners) {
  struct sim_obj *ob = &s->objs[o];
  uint32_t home = ob->kind == SIM_OBJ_BUNDLE ? ob->origin : ob->home;
  ob->dnodes[0] = home;
  ob->ndnodes = (uint8_t)(1 + sim_topo_partners(&s->topo, home, partners, ob->dnodes + 1));
  return sim__obj_cells(s, o);
}

static int item_schedule(struct sim *s, const struct sim_workload *w, uint32_t o) {
  struct sim_obj *ob = &s->objs[o];
  int rc = 0;
  if (!ob->published || s->scn->proto != SIM_PROTO_MOMEDO) return 0;
  if (ob->expires_us <= s->end_us)
    rc = sim__schedule(s, ob->expires_us, SIM_EVC_FAULT, SIM_EV_EXPIRE, 0, 0, o);
  if (!rc && sim_rng_chance(&s->rng_work, w->tombstone_p)) {
    uint64_t t = s->now_us + sim_us(w->tombstone_delay_ms);
    if (t <= s->end_us) rc = sim__schedule(s, t, SIM_EVC_FAULT, SIM_EV_TOMBSTONE, 0, 0, o);
  }
  return rc;
}

/* A lookup of a random user published so far, from a random node of the entry. */
static int on_lookup(struct sim *s, uint32_t wi) {
  const struct sim_wset *ws = &s->wsets[wi];
  if (!s->nusers) return 0;
  uint32_t v = ws->from[rng_below(&s->rng_work, ws->nfrom)];
  uint32_t o = s->users[rng_below(&s->rng_work, s->nusers)];
  if (!s->nodes[v].alive) return 0; /* the client found its node down */
  return sim__lookup_start(s, v, o, s->scn->work[wi].hint);
}

static int new_entry(struct sim *s, const struct sim_workload *w, uint32_t wi) {
  const struct sim_wset *ws = &s->wsets[wi];
  if (w->kind == SIM_WORK_LOOKUP) return on_lookup(s, wi);
  uint32_t o;
  int rc = new_obj(s, w->kind, &o);
  if (rc) return rc;
  struct sim_obj *ob = &s->objs[o];
  ob->origin = ws->from[rng_below(&s->rng_work, ws->nfrom)];
  ob->home = ws->to[rng_below(&s->rng_work, ws->nto)];
  ob->size = w->size;
  if (w->kind == SIM_OBJ_ITEM) ob->expires_us = s->now_us + sim_us(w->ttl_ms);
  if ((rc = obj_dests(s, o, w->partners)) || (rc = publish(s, o))) return rc;
  if (w->kind == SIM_OBJ_ITEM && (rc = item_schedule(s, w, o))) return rc;
  if (w->kind == SIM_OBJ_BUNDLE && s->objs[o].published && s->users) s->users[s->nusers++] = o;
  return 0;
}

/* Users registered before the run: every start=setup bundle is at all its destination
 * nodes when the nodes sign their first records, so those records carry the users from
 * the start (no federation-wide wave of records re-signed for them a minute later). */
int sim__work_setup(struct sim *s) {
  int rc = 0;
  s->in_setup = 1;
  for (uint32_t wi = 0; wi < s->scn->nwork && !rc; wi++)
    for (uint32_t k = 0; k < s->scn->work[wi].count && s->scn->work[wi].at_setup && !rc; k++)
      rc = new_entry(s, &s->scn->work[wi], wi);
  s->in_setup = 0;
  return rc;
}

static int on_publish(struct sim *s, uint32_t wi, uint64_t ordinal) {
  const struct sim_workload *w = &s->scn->work[wi];
  int rc = new_entry(s, w, wi);
  if (rc) return rc;
  if (ordinal + 1 >= w->count) return 0;
  uint64_t gap = w->poisson ? (uint64_t)(sim_rng_exp(&s->rng_work, (double)w->every_ms) * 1000)
                            : sim_us(w->every_ms);
  if (s->now_us + gap > s->end_us) return 0;
  return sim__schedule(s, s->now_us + gap, SIM_EVC_FAULT, SIM_EV_PUBLISH, 0, wi, ordinal + 1);
}

/* The recipient deletes item io: its device signs a tombstone at its home node. */
static int on_tombstone(struct sim *s, uint32_t io) {
  if (s->objs[io].dead || !s->objs[io].info_ok) return 0;
  uint32_t t;
  int rc = new_obj(s, SIM_OBJ_TOMBSTONE, &t);
  if (rc) return rc;
  struct sim_obj *item = &s->objs[io], *ob = &s->objs[t];
  ob->origin = ob->home = item->home;
  ob->expires_us = item->expires_us;
  ob->other = io;
  item->other = t;
  memcpy(ob->dnodes, item->dnodes, sizeof ob->dnodes); /* the device's bundle's home nodes */
  ob->ndnodes = item->ndnodes;
  if ((rc = sim__obj_cells(s, t)) || (rc = publish(s, t))) return rc;
  if (!ob->published) return 0;
  sim__obj_dies(s, io);
  if (ob->expires_us <= s->end_us)
    rc = sim__schedule(s, ob->expires_us, SIM_EVC_FAULT, SIM_EV_EXPIRE, 0, 0, t);
  return rc;
}

/* Safety: some time after expiry, no running node may still hold the object. */
static void expire_check(struct sim *s, uint32_t o) {
  if (!s->objs[o].holders_alive) return;
  for (uint32_t v = 0; v < s->n; v++)
    if (s->nodes[v].alive && sim__has(s, v, o)) {
      sim__fail(s, "node %u still holds object %u %.3f ms after it expired", v, o,
                (s->now_us - s->objs[o].expires_us) / 1000.0);
      return;
    }
}

int sim__work_event(struct sim *s, const struct sim_event *e) {
  switch ((enum sim_ev_type)e->type) {
  case SIM_EV_PUBLISH: return on_publish(s, e->from, e->arg);
  case SIM_EV_TOMBSTONE: return on_tombstone(s, (uint32_t)e->arg);
  case SIM_EV_EXPIRE: {
    sim__obj_dies(s, (uint32_t)e->arg);
    if (!s->scn->check_safety) return 0;
    uint64_t grace = sim_us(s->scn->expiry_grace_ms) + SIM_GRACE_US;
    if (s->scn->cycle_mode) grace += sim_us(s->scn->cycle_ms);
    return sim__schedule(s, s->now_us + grace, SIM_EVC_SAMPLE, SIM_EV_EXPIRE_CHECK, 0, 0, e->arg);
  }
  case SIM_EV_EXPIRE_CHECK: expire_check(s, (uint32_t)e->arg); return 0;
  default: return MOMEDO_E_INTERNAL;
  }
}
