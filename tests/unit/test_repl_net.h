/* tests/unit/test_repl_net.h — for the replication unit tests only: a tiny in-test
 * network of repl instances (each over its own store_mem) that carries SEND
 * actions between linked nodes under a virtual clock, and builders for signed
 * test objects. Deterministic: no clock, no randomness beyond fixed seeds. */
#ifndef MOMEDO_TEST_REPL_NET_H
#define MOMEDO_TEST_REPL_NET_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "obj.h"
#include "repl.h"
#include "repl.pb-c.h"
#include "store.h"

#ifndef TN_NODES_MAX /* a benchmark may want a bigger net */
#define TN_NODES_MAX 8
#endif
#define TN_T0 1700000000000ull /* virtual "now" at start (ms) */

struct tn_msg {
  int from, to;
  uint8_t *bytes;
  size_t len;
};

struct tn_node {
  struct store *s;
  struct repl *r;
  struct crypto_sign_keypair kp; /* the node key: peers learn it, records are signed by it */
  struct repl_config cfg;        /* as given to repl_new (self_key and signer filled in) */
  uint64_t stored, removed, dropped_peers;
  int last_drop_status;
  uint64_t lookups_done, last_lookup_handle; /* LOOKUP_DONE actions */
  uint64_t claims_asked, claims_done;        /* CLAIM_ASKED / CLAIM_DONE actions */
  struct repl_claim last_asked, last_done;   /* their claims (zero when none) */
  uint64_t last_claim_handle;
  int last_claim_status;
  int claim_answer;  /* CLAIM_ASKED: 1 = answer with last_asked's opk_* as set by the
                        test (claim_status), 0 = keep silent */
  int claim_status;
  int last_lookup_status;
  struct obj_info last_lookup_info;
  bool no_ack; /* never confirm sent bytes (a stuck link) */
  bool hold;   /* keep SENDs from this node in `held` instead of delivering them */
};

struct tn {
  struct tn_node n[TN_NODES_MAX];
  int count;
  bool link[TN_NODES_MAX][TN_NODES_MAX];
  uint64_t now;
  struct tn_msg *q;
  size_t qn, qcap, qhead;
  struct tn_msg *held;
  size_t heldn, heldcap;
  uint64_t delivered_msgs;
};

/* The engine's defaults, flooding, and a link's first round starts at once (no random
 * delay). */
static inline struct repl_config tn_quiet_cfg(void) {
  struct repl_config c;
  repl_config_default(&c);
  c.scope = REPL_SCOPE_FLOOD;
  c.recon_start_delay_ms_max = 0;
  return c;
}

/* Scoped delivery for in-test networks: rounds at once, custody retried after 2 s, no
 * hold-down of links that went down. */
static inline struct repl_config tn_scoped_cfg(void) {
  struct repl_config c;
  repl_config_default(&c);
  c.scope = REPL_SCOPE_SCOPED;
  c.recon_start_delay_ms_max = 0;
  c.custody_retry_ms = 2000;
  c.route_holddown_ms = 0;
  return c;
}

/* Peer IDs: node j is peer j + 1 to everybody. */
static inline uint64_t tn_pid(int j) { return (uint64_t)j + 1; }

static inline void tn_msg_add(struct tn_msg **v, size_t *n, size_t *cap, struct tn_msg m) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    *v = realloc(*v, *cap * sizeof **v);
    if (!*v) abort();
  }
  (*v)[(*n)++] = m;
}

static inline int tn_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  return crypto_sign(sig, msg, len, (const struct crypto_sign_keypair *)ctx);
}

/* Node i's key pair: fixed, from its index. */
static inline void tn_node_key(struct crypto_sign_keypair *kp, int i) {
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
  memset(seed, 0xa0 + i, sizeof seed);
  if (crypto_sign_from_seed(kp, seed)) abort();
}

/* Open node i's engine (again) over its store, with its key and signer. */
static inline void tn_open(struct tn *t, int i, uint64_t seed) {
  struct tn_node *n = &t->n[i];
  memcpy(n->cfg.self_key, n->kp.pub, OBJ_KEY_LEN);
  n->cfg.sign = tn_sign;
  n->cfg.sign_ctx = &n->kp;
  if (repl_new(&n->cfg, n->s, seed, t->now, &n->r)) abort();
}

static inline int tn_add(struct tn *t, const struct repl_config *cfg, uint64_t seed) {
  int i = t->count++;
  if (store_mem_open(&t->n[i].s)) abort();
  tn_node_key(&t->n[i].kp, i);
  if (cfg) t->n[i].cfg = *cfg;
  else repl_config_default(&t->n[i].cfg);
  tn_open(t, i, seed);
  return i;
}

static inline void tn_init(struct tn *t, int nodes, const struct repl_config *cfg) {
  memset(t, 0, sizeof *t);
  t->now = TN_T0;
  for (int i = 0; i < nodes; i++) tn_add(t, cfg, 1000 + (uint64_t)i);
}

/* Drain every node's actions into the wire queue (or counters). */
static inline void tn_drain(struct tn *t) {
  for (int i = 0; i < t->count; i++) {
    struct repl_action a;
    if (!t->n[i].r) continue;
    while (repl_next_action(t->n[i].r, &a)) {
      int j = (int)a.peer_id - 1;
      switch (a.kind) {
      case REPL_ACT_SEND:
        if (!t->n[i].no_ack) repl_peer_sent(t->n[i].r, a.peer_id, a.len, t->now);
        if (t->n[i].hold)
          tn_msg_add(&t->held, &t->heldn, &t->heldcap, (struct tn_msg){i, j, a.bytes, a.len});
        else if (j >= 0 && j < t->count && t->link[i][j])
          tn_msg_add(&t->q, &t->qn, &t->qcap, (struct tn_msg){i, j, a.bytes, a.len});
        else
          free(a.bytes);
        break;
      case REPL_ACT_DROP_PEER:
        t->n[i].dropped_peers++;
        t->n[i].last_drop_status = a.status;
        if (j >= 0 && j < t->count) {
          t->link[i][j] = t->link[j][i] = false;
          repl_peer_down(t->n[i].r, a.peer_id, t->now);
          if (t->n[j].r) repl_peer_down(t->n[j].r, tn_pid(i), t->now);
        }
        break;
      case REPL_ACT_STORED:
        t->n[i].stored++;
        break;
      case REPL_ACT_REMOVED:
        t->n[i].removed++;
        break;
      case REPL_ACT_CLAIM_ASKED:
        t->n[i].claims_asked++;
        t->n[i].last_asked = *a.claim;
        if (t->n[i].claim_answer) {
          a.claim->opk_id = t->n[i].last_asked.opk_id = (uint32_t)t->n[i].claims_asked;
          memset(a.claim->opk_key, 0x40 + (int)t->n[i].claims_asked, 32);
          if (repl_claim_answer(t->n[i].r, a.claim, t->n[i].claim_status, t->now)) abort();
        }
        free(a.claim);
        break;
      case REPL_ACT_CLAIM_DONE:
        t->n[i].claims_done++;
        t->n[i].last_claim_handle = a.handle;
        t->n[i].last_claim_status = a.status;
        memset(&t->n[i].last_done, 0, sizeof t->n[i].last_done);
        if (a.claim) t->n[i].last_done = *a.claim;
        free(a.claim);
        break;
      case REPL_ACT_LOOKUP_DONE:
        t->n[i].lookups_done++;
        t->n[i].last_lookup_handle = a.handle;
        t->n[i].last_lookup_status = a.status;
        t->n[i].last_lookup_info = a.info;
        break;
      default:
        abort();
      }
    }
  }
}

/* Deliver until quiet. Returns the number of messages delivered. */
static inline uint64_t tn_pump(struct tn *t) {
  uint64_t n0 = t->delivered_msgs;
  tn_drain(t);
  while (t->qhead < t->qn) {
    struct tn_msg m = t->q[t->qhead++];
    if (t->link[m.from][m.to] && t->n[m.to].r) {
      int rc = repl_on_msg(t->n[m.to].r, tn_pid(m.from), m.bytes, m.len, t->now);
      (void)rc; /* outcomes are checked through state and stats */
      t->delivered_msgs++;
    }
    free(m.bytes);
    tn_drain(t);
  }
  t->qhead = t->qn = 0;
  return t->delivered_msgs - n0;
}

static inline void tn_connect(struct tn *t, int a, int b) {
  t->link[a][b] = t->link[b][a] = true;
  if (repl_peer_up(t->n[a].r, tn_pid(b), t->n[b].kp.pub, t->now)) abort();
  if (repl_peer_up(t->n[b].r, tn_pid(a), t->n[a].kp.pub, t->now)) abort();
  tn_pump(t);
}

static inline void tn_disconnect(struct tn *t, int a, int b) {
  t->link[a][b] = t->link[b][a] = false;
  repl_peer_down(t->n[a].r, tn_pid(b), t->now);
  repl_peer_down(t->n[b].r, tn_pid(a), t->now);
}

/* Run timers in deadline order until virtual time `until`. */
static inline void tn_run_until(struct tn *t, uint64_t until) {
  for (int guard = 0; guard < 100000; guard++) {
    uint64_t d = UINT64_MAX;
    for (int i = 0; i < t->count; i++)
      if (t->n[i].r) {
        uint64_t di = repl_next_deadline(t->n[i].r);
        if (di < d) d = di;
      }
    if (d > until) break;
    if (d > t->now) t->now = d;
    for (int i = 0; i < t->count; i++)
      if (t->n[i].r && repl_next_deadline(t->n[i].r) <= t->now)
        if (repl_tick(t->n[i].r, t->now)) abort();
    tn_pump(t);
  }
  if (until > t->now) t->now = until;
}

static inline void tn_free(struct tn *t) {
  for (size_t i = t->qhead; i < t->qn; i++) free(t->q[i].bytes);
  for (size_t i = 0; i < t->heldn; i++) free(t->held[i].bytes);
  free(t->q);
  free(t->held);
  for (int i = 0; i < t->count; i++) {
    repl_free(t->n[i].r);
    store_close(t->n[i].s);
  }
}

struct tn_seq_seen {
  const uint8_t *key;
  uint64_t seq;
};

static inline int tn_seq_cb(void *ctx, const struct repl_node_info *n) {
  struct tn_seq_seen *s = ctx;
  if (memcmp(n->key, s->key, OBJ_KEY_LEN) == 0) s->seq = n->seq;
  return 0;
}

/* The seq of key's record as engine i holds it (0: none; UINT64_MAX: error). */
static inline uint64_t tn_seq_at(struct tn *t, int i, const uint8_t *key) {
  struct tn_seq_seen s = {key, 0};
  if (repl_nodes(t->n[i].r, t->now, tn_seq_cb, &s)) return UINT64_MAX;
  return s.seq;
}

static inline bool tn_same(struct tn *t, int a, int b) {
  uint8_t fa[16], fb[16];
  repl_fingerprint(t->n[a].r, fa);
  repl_fingerprint(t->n[b].r, fb);
  return memcmp(fa, fb, 16) == 0 && repl_count(t->n[a].r) == repl_count(t->n[b].r);
}

/* ---- signed test objects ------------------------------------------------------ */

static inline void tn_keypair(struct crypto_sign_keypair *kp, uint8_t seed_byte) {
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
  memset(seed, seed_byte, sizeof seed);
  if (crypto_sign_from_seed(kp, seed)) abort();
}

/* An Ozone item for mailbox, made unique by tag, with `pad` ciphertext bytes, signed by
 * node (its accepting node) and destined to the n node keys dests (ascending; 0: every
 * node). */
static inline uint8_t *tn_item_to(const struct crypto_sign_keypair *node, const uint8_t *mailbox,
                                  uint64_t created, uint64_t expires, uint32_t tag, size_t pad,
                                  const uint8_t (*dests)[OBJ_KEY_LEN], size_t n, size_t *len) {
  ProtobufCBinaryData d[OBJ_DEST_NODES_MAX];
  if (n > OBJ_DEST_NODES_MAX) abort();
  for (size_t i = 0; i < n; i++) d[i] = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)dests[i]};
  uint8_t *ct = calloc(1, pad < 8 ? 8 : pad);
  if (!ct) abort();
  memcpy(ct, &tag, sizeof tag);
  Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
  it.format = 1;
  it.mailbox.data = (uint8_t *)mailbox;
  it.mailbox.len = OBJ_MAILBOX_LEN;
  it.created_ms = created;
  it.expires_ms = expires;
  it.ciphertext.data = ct;
  it.ciphertext.len = pad < 8 ? 8 : pad;
  it.node_key.data = (uint8_t *)node->pub;
  it.node_key.len = OBJ_KEY_LEN;
  it.n_dest_nodes = n;
  it.dest_nodes = n ? d : NULL;
  uint8_t *out = NULL;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &it.base, node, &out, len)) abort();
  free(ct);
  return out;
}

/* The same for every node (global scope). */
static inline uint8_t *tn_item(const struct crypto_sign_keypair *node, const uint8_t *mailbox,
                               uint64_t created, uint64_t expires, uint32_t tag, size_t pad,
                               size_t *len) {
  return tn_item_to(node, mailbox, created, expires, tag, pad, NULL, 0, len);
}

static inline uint8_t *tn_tombstone(const struct crypto_sign_keypair *device,
                                    const uint8_t *item_id, uint64_t created, uint64_t expires,
                                    size_t *len) {
  uint8_t mbox[OBJ_MAILBOX_LEN];
  if (obj_device_mailbox(mbox, device->pub)) abort();
  Momedo__Tombstone tb = MOMEDO__TOMBSTONE__INIT;
  tb.format = 1;
  tb.item_id.data = (uint8_t *)item_id;
  tb.item_id.len = OBJ_ID_LEN;
  tb.mailbox.data = mbox;
  tb.mailbox.len = OBJ_MAILBOX_LEN;
  tb.created_ms = created;
  tb.expires_ms = expires;
  tb.device_key.data = (uint8_t *)device->pub;
  tb.device_key.len = OBJ_KEY_LEN;
  uint8_t *out = NULL;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, &tb.base, device, &out, len))
    abort();
  return out;
}

static inline uint8_t *tn_bundle(const struct crypto_sign_keypair *ident,
                                 const struct crypto_sign_keypair *device, uint64_t version,
                                 uint64_t created, int revoked, size_t *len) {
  uint8_t dh[32], prekey[32], home[32], sig[CRYPTO_SIG_LEN];
  memset(dh, 0x11, 32), memset(prekey, 0x22, 32), memset(home, 0x33, 32);
  if (obj_prekey_sign(sig, 7, created + 86400000, prekey, device)) abort();
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT, *dp = &d;
  d.device_key.data = (uint8_t *)device->pub, d.device_key.len = 32;
  d.dh_key.data = dh, d.dh_key.len = 32;
  d.signed_prekey.data = prekey, d.signed_prekey.len = 32;
  d.prekey_id = 7;
  d.prekey_expires_ms = created + 86400000;
  d.prekey_signature.data = sig, d.prekey_signature.len = CRYPTO_SIG_LEN;
  d.home_node.data = home, d.home_node.len = 32;
  ProtobufCBinaryData hn = {32, home};
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  b.format = 1;
  b.identity_key.data = (uint8_t *)ident->pub, b.identity_key.len = 32;
  b.version = version;
  b.created_ms = created;
  if (!revoked) {
    b.n_devices = 1, b.devices = &dp;
    b.n_home_nodes = 1, b.home_nodes = &hn;
  }
  b.revoked = revoked ? 1 : 0;
  uint8_t *out = NULL;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, ident, &out, len)) abort();
  return out;
}

/* An alias issued by node for identity_key. */
static inline uint8_t *tn_alias(const struct crypto_sign_keypair *node, const char *alias,
                                const uint8_t *identity_key, uint64_t created,
                                uint64_t expires, size_t *len) {
  Momedo__Alias al = MOMEDO__ALIAS__INIT;
  al.format = 1;
  al.alias = (char *)alias;
  al.identity_key.data = (uint8_t *)identity_key, al.identity_key.len = 32;
  al.created_ms = created;
  al.expires_ms = expires;
  al.node_key.data = (uint8_t *)node->pub, al.node_key.len = 32;
  uint8_t *out = NULL;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_ALIAS, &al.base, node, &out, len)) abort();
  return out;
}

static inline void tn_id(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                         uint8_t id[OBJ_ID_LEN]) {
  if (obj_id(kind, data, len, id)) abort();
}

static inline int tn_key_cmp(const void *a, const void *b) { return memcmp(a, b, OBJ_KEY_LEN); }

/* A node record for `key` signed by `signer` (a forgery when they differ), listing
 * nb[0..n) (at most 8), with users summary bloom[0..blen) (7 hashes) if blen. */
static inline uint8_t *tn_record(const struct crypto_sign_keypair *signer, const uint8_t *key,
                                 uint64_t seq, uint64_t now, const uint8_t (*nb)[OBJ_KEY_LEN],
                                 size_t n, const uint8_t *bloom, size_t blen, size_t *len) {
  ProtobufCBinaryData d[8];
  for (size_t i = 0; i < n; i++) d[i] = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)nb[i]};
  Momedo__NodeRecord m = MOMEDO__NODE_RECORD__INIT;
  m.format = 1;
  m.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)key};
  m.seq = seq;
  m.created_ms = now;
  m.expires_ms = now + 86400000ull;
  m.name = "test.node";
  m.n_neighbors = n;
  m.neighbors = n ? d : NULL;
  if (blen) {
    m.users_bloom = (ProtobufCBinaryData){blen, (uint8_t *)bloom};
    m.bloom_hashes = 7;
  }
  uint8_t *out = NULL;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, &m.base, signer, &out, len)) abort();
  return out;
}

/* Node `to` receives one object pushed by neighbor `from`; repl_on_msg's status. */
static inline int tn_push_from(struct tn *t, int from, int to, Momedo__ObjectKind kind,
                               const uint8_t *o, size_t len) {
  Momedo__Object ob = MOMEDO__OBJECT__INIT, *op = &ob;
  ob.kind = kind;
  ob.data = (ProtobufCBinaryData){len, (uint8_t *)o};
  Momedo__ObjectPush p = MOMEDO__OBJECT_PUSH__INIT;
  p.n_objects = 1;
  p.objects = &op;
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PUSH;
  m.push = &p;
  size_t n = momedo__repl_msg__get_packed_size(&m);
  uint8_t *buf = malloc(n);
  momedo__repl_msg__pack(&m, buf);
  int rc = repl_on_msg(t->n[to].r, tn_pid(from), buf, n, t->now);
  free(buf);
  tn_pump(t);
  return rc;
}

/* A key bundle of ident (one device), `version`, homed on nodes homes[0..n) of t (at
 * most 4; the device's home is homes[0]). */
static inline uint8_t *tn_bundle_homed(struct tn *t, const struct crypto_sign_keypair *ident,
                                       uint64_t version, const int *homes, size_t n,
                                       size_t *len) {
  struct crypto_sign_keypair dev;
  uint8_t dh[32], prekey[32], sig[CRYPTO_SIG_LEN], keys[4][OBJ_KEY_LEN];
  tn_keypair(&dev, 0x77);
  memset(dh, 0x11, 32), memset(prekey, 0x22, 32);
  if (obj_prekey_sign(sig, 7, t->now + 86400000, prekey, &dev)) abort();
  for (size_t i = 0; i < n; i++) memcpy(keys[i], t->n[homes[i]].kp.pub, OBJ_KEY_LEN);
  qsort(keys, n, OBJ_KEY_LEN, tn_key_cmp);
  ProtobufCBinaryData hn[4];
  for (size_t i = 0; i < n; i++) hn[i] = (ProtobufCBinaryData){OBJ_KEY_LEN, keys[i]};
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT, *dp = &d;
  d.device_key = (ProtobufCBinaryData){32, dev.pub};
  d.dh_key = (ProtobufCBinaryData){32, dh};
  d.signed_prekey = (ProtobufCBinaryData){32, prekey};
  d.prekey_id = 7;
  d.prekey_expires_ms = t->now + 86400000;
  d.prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, sig};
  d.home_node = (ProtobufCBinaryData){32, t->n[homes[0]].kp.pub};
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  b.format = 1;
  b.identity_key = (ProtobufCBinaryData){32, (uint8_t *)ident->pub};
  b.version = version;
  b.created_ms = t->now;
  b.n_devices = 1, b.devices = &dp;
  b.n_home_nodes = n, b.home_nodes = hn;
  uint8_t *out = NULL;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, ident, &out, len)) abort();
  return out;
}

#endif
