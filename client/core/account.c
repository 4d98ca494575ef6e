/* client/core/account.c — this device's keys, the user's device list and key bundle, and
 * the nodes it talks to, sealed in the vault as one record. Must not talk to a node
 * (the CLI does) and must not let a secret leave the struct except into the vault. */
#include "account.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "vault.h"

/* 2: removed devices at the end, 3: partner grants, 4: prekey announced / bundle due,
 * 5: the ML-KEM keys of prekeys and devices (1 to 4 are read) */
#define ACCOUNT_FORMAT 5
/* ML-KEM-768 dk = dk_PKE (384 k) || ek || H(ek) || z. */
#define ACCOUNT_DK_EK_OFF (MLKEM768_DK_LEN - MLKEM768_EK_LEN - 64)

const uint8_t *account_prekey_pq_pub(const struct account_prekey *pk) {
  return pk->pq_dk + ACCOUNT_DK_EK_OFF;
}

/* A fresh prekey; with_pq: an ML-KEM-768 key beside it under one (v2) signature. */
static int prekey_new(struct account_prekey *pk, const struct crypto_sign_keypair *device,
                      uint64_t now_ms, int with_pq) {
  uint8_t ek[MLKEM768_EK_LEN];
  int rc;
  memset(pk, 0, sizeof *pk);
  do {
    if ((rc = crypto_random(&pk->id, sizeof pk->id)) != 0) return rc;
  } while (pk->id == 0);
  pk->created_ms = now_ms;
  pk->expires_ms = now_ms + ACCOUNT_PREKEY_LIFETIME_MS;
  if ((rc = crypto_dh_keygen(pk->sec, pk->pub)) != 0) return rc;
  if (with_pq) {
    if ((rc = mlkem768_keygen(ek, pk->pq_dk)) != 0) return rc;
    pk->pq_alg = OBJ_PQ_KEM_MLKEM768;
  }
  return obj_prekey_sign_pq(pk->sig, pk->id, pk->expires_ms, pk->pub, pk->pq_alg,
                            with_pq ? ek : NULL, with_pq ? sizeof ek : 0, device);
}

static int device_keys_new(struct account *a, uint64_t now_ms, int with_pq) {
  int rc = crypto_sign_keygen(&a->device);
  if (rc == 0) rc = crypto_dh_keygen(a->dh_sec, a->dh_pub);
  if (rc == 0) rc = prekey_new(&a->prekeys[0], &a->device, now_ms, with_pq);
  a->created_ms = now_ms;
  if (rc == 0) {
    a->n_devices = 1;
    account_self_device(a, &a->devices[0]);
  }
  return rc;
}

int account_generate(struct account *a, uint64_t now_ms) {
  memset(a, 0, sizeof *a);
  int rc = crypto_sign_keygen(&a->identity);
  if (rc == 0) rc = device_keys_new(a, now_ms, 1);
  if (rc) account_wipe(a);
  else a->has_identity = 1;
  return rc;
}

int account_generate_device(struct account *a, const uint8_t identity_pub[static ACCOUNT_KEY_LEN],
                            uint64_t now_ms) {
  memset(a, 0, sizeof *a);
  memcpy(a->identity.pub, identity_pub, ACCOUNT_KEY_LEN);
  int rc = device_keys_new(a, now_ms, 0);
  if (rc) account_wipe(a);
  return rc;
}

void account_wipe(struct account *a) { crypto_wipe(a, sizeof *a); }

void account_self_device(const struct account *a, struct account_device *out) {
  const struct account_prekey *pk = &a->prekeys[0];
  memset(out, 0, sizeof *out);
  memcpy(out->device_key, a->device.pub, ACCOUNT_KEY_LEN);
  memcpy(out->dh_key, a->dh_pub, ACCOUNT_KEY_LEN);
  memcpy(out->prekey, pk->pub, ACCOUNT_KEY_LEN);
  out->prekey_id = pk->id;
  out->prekey_expires_ms = pk->expires_ms;
  memcpy(out->prekey_sig, pk->sig, CRYPTO_SIG_LEN);
  out->pq_alg = pk->pq_alg;
  if (pk->pq_alg) memcpy(out->pq_key, account_prekey_pq_pub(pk), MLKEM768_EK_LEN);
  if (a->n_nodes > 0) memcpy(out->home_node, a->nodes[0].key, ACCOUNT_KEY_LEN);
}

int account_put_device(struct account *a, const struct account_device *d) {
  for (size_t i = 0; i < a->n_devices; i++)
    if (memcmp(a->devices[i].device_key, d->device_key, ACCOUNT_KEY_LEN) == 0) {
      a->devices[i] = *d;
      return 0;
    }
  if (a->n_devices >= OBJ_DEVICES_MAX) return MOMEDO_E_QUOTA;
  a->devices[a->n_devices++] = *d;
  return 0;
}

int account_rotate_prekey(struct account *a, uint64_t now_ms, int force, int *rotated) {
  *rotated = 0;
  /* The first device of an account made before the hybrid suite rotates at once, so
   * its next bundle announces a KEM key. */
  int upgrade = a->has_identity && a->prekeys[0].pq_alg == OBJ_PQ_KEM_NONE;
  if (!force && !upgrade && now_ms < a->prekeys[0].created_ms + ACCOUNT_PREKEY_ROTATE_MS)
    return 0;
  struct account_prekey fresh;
  int rc = prekey_new(&fresh, &a->device, now_ms, a->has_identity);
  if (rc) return rc;
  a->prekeys[1] = a->prekeys[0];
  a->prekeys[0] = fresh;
  crypto_wipe(&fresh, sizeof fresh);
  *rotated = 1;
  if (!a->has_identity) return 0; /* the list stays what the bundle says: see pending */
  struct account_device self;
  account_self_device(a, &self);
  return account_put_device(a, &self);
}

static struct account_device *device_find(struct account *a, const uint8_t key[static 32]) {
  for (size_t i = 0; i < a->n_devices; i++)
    if (memcmp(a->devices[i].device_key, key, ACCOUNT_KEY_LEN) == 0) return &a->devices[i];
  return NULL;
}

int account_prekey_pending(const struct account *a) {
  if (a->has_identity) return 0;
  const struct account_device *d = device_find((struct account *)a, a->device.pub);
  return d && d->prekey_id != a->prekeys[0].id;
}

void account_prekey_pub(const struct account *a, struct account_prekey_pub *out) {
  const struct account_prekey *pk = &a->prekeys[0];
  memcpy(out->pub, pk->pub, CRYPTO_DH_LEN);
  out->id = pk->id;
  out->expires_ms = pk->expires_ms;
  memcpy(out->sig, pk->sig, CRYPTO_SIG_LEN);
}

int account_take_prekey(struct account *a, const uint8_t device[static ACCOUNT_KEY_LEN],
                        const struct account_prekey_pub *p, uint64_t now_ms, int *changed) {
  *changed = 0;
  if (!a->has_identity) return MOMEDO_E_DENIED;
  if (memcmp(device, a->device.pub, ACCOUNT_KEY_LEN) == 0) return MOMEDO_E_INVAL;
  struct account_device *d = device_find(a, device);
  if (!d) return MOMEDO_E_NOTFOUND;
  if (p->id == 0 || obj_prekey_verify(p->sig, p->id, p->expires_ms, p->pub, device) != 0)
    return MOMEDO_E_BADSIG;
  if (p->expires_ms <= now_ms) return MOMEDO_E_EXPIRED;
  if (p->expires_ms > now_ms + ACCOUNT_PREKEY_LIFETIME_MS + ACCOUNT_PREKEY_SKEW_MS)
    return MOMEDO_E_BOUNDS;
  if (p->id == d->prekey_id && memcmp(p->pub, d->prekey, CRYPTO_DH_LEN) == 0 &&
      p->expires_ms == d->prekey_expires_ms) {
    a->bundle_due = 1;
    return 0;
  }
  if (p->expires_ms <= d->prekey_expires_ms) return MOMEDO_E_SUPERSEDED;
  memcpy(d->prekey, p->pub, CRYPTO_DH_LEN);
  d->prekey_id = p->id;
  d->prekey_expires_ms = p->expires_ms;
  memcpy(d->prekey_sig, p->sig, CRYPTO_SIG_LEN);
  d->pq_alg = OBJ_PQ_KEM_NONE; /* a linked device's announcement carries no KEM key */
  memset(d->pq_key, 0, sizeof d->pq_key);
  a->bundle_due = 1;
  *changed = 1;
  return 0;
}

const struct account_prekey *account_prekey_find(const struct account *a, uint32_t id) {
  for (size_t i = 0; i < ACCOUNT_PREKEYS; i++)
    if (id != 0 && a->prekeys[i].id == id) return &a->prekeys[i];
  return NULL;
}

int account_mailbox(const struct account *a, uint8_t mb[static OBJ_MAILBOX_LEN]) {
  return obj_device_mailbox(mb, a->device.pub);
}

/* ---- nodes ---------------------------------------------------------------------- */

static int node_fill(struct account_node *n, const char *host, uint16_t port,
                     const uint8_t key[static ACCOUNT_KEY_LEN]) {
  if (!host || host[0] == '\0' || strlen(host) >= ACCOUNT_HOST_MAX || port == 0)
    return MOMEDO_E_INVAL;
  memset(n, 0, sizeof *n);
  memcpy(n->host, host, strlen(host) + 1);
  n->port = port;
  memcpy(n->key, key, ACCOUNT_KEY_LEN);
  return 0;
}

int account_set_home(struct account *a, const char *host, uint16_t port,
                     const uint8_t key[static ACCOUNT_KEY_LEN]) {
  struct account_node n;
  int rc = node_fill(&n, host, port, key);
  if (rc) return rc;
  a->nodes[0] = n;
  a->n_nodes = 1;
  for (size_t i = 0; i < a->n_devices; i++)
    if (memcmp(a->devices[i].device_key, a->device.pub, ACCOUNT_KEY_LEN) == 0)
      memcpy(a->devices[i].home_node, key, ACCOUNT_KEY_LEN);
  return 0;
}

int account_add_partner(struct account *a, const char *host, uint16_t port,
                        const uint8_t key[static ACCOUNT_KEY_LEN]) {
  for (size_t i = 0; i < a->n_nodes; i++)
    if (memcmp(a->nodes[i].key, key, ACCOUNT_KEY_LEN) == 0) return 0;
  if (a->n_nodes >= ACCOUNT_NODES_MAX) return 0;
  struct account_node n;
  int rc = node_fill(&n, host, port, key);
  if (rc) return rc;
  a->nodes[a->n_nodes++] = n;
  return 0;
}

/* ---- key bundle ----------------------------------------------------------------- */

static void add_home(ProtobufCBinaryData *homes, size_t *n, const uint8_t *key) {
  static const uint8_t zero[ACCOUNT_KEY_LEN];
  if (memcmp(key, zero, ACCOUNT_KEY_LEN) == 0 || *n >= OBJ_HOME_NODES_MAX) return;
  for (size_t i = 0; i < *n; i++)
    if (memcmp(homes[i].data, key, ACCOUNT_KEY_LEN) == 0) return;
  homes[(*n)++] = (ProtobufCBinaryData){ACCOUNT_KEY_LEN, (uint8_t *)key};
}

size_t account_homes(const struct account *a,
                     uint8_t out[static OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN]) {
  ProtobufCBinaryData homes[OBJ_HOME_NODES_MAX];
  size_t n = 0;
  for (size_t i = 0; i < a->n_nodes; i++) add_home(homes, &n, a->nodes[i].key);
  for (size_t i = 0; i < a->n_devices; i++) add_home(homes, &n, a->devices[i].home_node);
  for (size_t i = 0; i < n; i++) memcpy(out[i], homes[i].data, ACCOUNT_KEY_LEN);
  return n;
}

int account_put_grant(struct account *a, const struct grant *g, int *changed) {
  *changed = 0;
  for (size_t i = 0; i < a->n_grants; i++) {
    struct grant *h = &a->grants[i];
    if (memcmp(h->home, g->home, GRANT_KEY_LEN) || memcmp(h->partner, g->partner, GRANT_KEY_LEN))
      continue;
    if (h->expires_ms >= g->expires_ms) return 0;
    *h = *g;
    *changed = 1;
    return 0;
  }
  if (a->n_grants >= ACCOUNT_GRANTS_MAX) return MOMEDO_E_QUOTA;
  a->grants[a->n_grants++] = *g;
  *changed = 1;
  return 0;
}

int account_grants_due(const struct account *a, uint64_t now_ms) {
  if (!a->has_identity || a->n_nodes == 0) return 0;
  if (now_ms < a->grants_checked_ms || now_ms - a->grants_checked_ms >= ACCOUNT_GRANT_CHECK_MS)
    return 1;
  for (size_t i = 0; i < a->n_grants; i++)
    if (memcmp(a->grants[i].home, a->nodes[0].key, ACCOUNT_KEY_LEN) == 0 &&
        a->grants[i].expires_ms < now_ms + ACCOUNT_GRANT_RENEW_MS)
      return 1;
  return 0;
}

/* The grants a bundle built at now_ms carries: unexpired, for one of its home nodes. */
static size_t bundle_grants(const struct account *a, const ProtobufCBinaryData *homes,
                            size_t n_homes, uint64_t now_ms, Momedo__PartnerGrant *gm,
                            Momedo__PartnerGrant **gp) {
  size_t n = 0;
  for (size_t i = 0; i < a->n_grants && n < OBJ_PARTNER_GRANTS_MAX; i++) {
    const struct grant *g = &a->grants[i];
    int home = 0;
    for (size_t j = 0; j < n_homes; j++)
      home |= memcmp(homes[j].data, g->partner, ACCOUNT_KEY_LEN) == 0;
    if (!home || g->expires_ms <= now_ms) continue;
    grant_to_msg(&gm[n], (struct grant *)g);
    gp[n] = &gm[n];
    n++;
  }
  return n;
}

int account_build_bundle(struct account *a, uint64_t now_ms, uint8_t **out, size_t *out_len) {
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  Momedo__DeviceKeys dk[OBJ_DEVICES_MAX], *dp[OBJ_DEVICES_MAX];
  ProtobufCBinaryData homes[OBJ_HOME_NODES_MAX];
  size_t n_homes = 0;
  *out = NULL;
  *out_len = 0;
  if (!a->has_identity) return MOMEDO_E_DENIED;
  if (a->n_nodes == 0) return MOMEDO_E_UNEXPECTED;
  struct account_device self;
  account_self_device(a, &self);
  int rc = account_put_device(a, &self);
  if (rc) return rc;
  for (size_t i = 0; i < a->n_devices; i++) {
    struct account_device *d = &a->devices[i];
    momedo__device_keys__init(&dk[i]);
    dk[i].device_key = (ProtobufCBinaryData){ACCOUNT_KEY_LEN, d->device_key};
    dk[i].dh_key = (ProtobufCBinaryData){ACCOUNT_KEY_LEN, d->dh_key};
    dk[i].signed_prekey = (ProtobufCBinaryData){ACCOUNT_KEY_LEN, d->prekey};
    dk[i].prekey_id = d->prekey_id;
    dk[i].prekey_expires_ms = d->prekey_expires_ms;
    dk[i].prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, d->prekey_sig};
    dk[i].home_node = (ProtobufCBinaryData){ACCOUNT_KEY_LEN, d->home_node};
    dk[i].pq_kem_alg = d->pq_alg;
    if (d->pq_alg) dk[i].pq_kem_key = (ProtobufCBinaryData){MLKEM768_EK_LEN, d->pq_key};
    dp[i] = &dk[i];
  }
  for (size_t i = 0; i < a->n_nodes; i++) add_home(homes, &n_homes, a->nodes[i].key);
  for (size_t i = 0; i < a->n_devices; i++) add_home(homes, &n_homes, a->devices[i].home_node);
  b.format = OBJ_FORMAT;
  b.identity_key = (ProtobufCBinaryData){ACCOUNT_KEY_LEN, a->identity.pub};
  /* Versions only grow; a clock that went backwards must not make one go down. */
  b.version = a->bundle_version + 1;
  b.created_ms = now_ms;
  b.n_devices = a->n_devices;
  b.devices = dp;
  b.n_home_nodes = n_homes;
  b.home_nodes = homes;
  ProtobufCBinaryData removed[OBJ_REMOVED_DEVICES_MAX];
  for (size_t i = 0; i < a->n_removed; i++)
    removed[i] = (ProtobufCBinaryData){ACCOUNT_KEY_LEN, a->removed[i]};
  b.n_removed_devices = a->n_removed;
  b.removed_devices = removed;
  Momedo__PartnerGrant gm[OBJ_PARTNER_GRANTS_MAX], *gp[OBJ_PARTNER_GRANTS_MAX];
  b.n_partner_grants = bundle_grants(a, homes, n_homes, now_ms, gm, gp);
  b.partner_grants = gp;
  rc = obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &a->identity, out, out_len);
  if (rc == 0) a->bundle_version = b.version;
  return rc;
}

int account_devices_from_bundle(const Momedo__KeyBundle *b,
                                struct account_device out[static OBJ_DEVICES_MAX], size_t *n) {
  *n = 0;
  if (b->n_devices > OBJ_DEVICES_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < b->n_devices; i++) {
    const Momedo__DeviceKeys *d = b->devices[i];
    struct account_device *o = &out[i];
    memset(o, 0, sizeof *o);
    if (d->device_key.len != 32 || d->dh_key.len != 32 || d->signed_prekey.len != 32 ||
        d->prekey_signature.len != CRYPTO_SIG_LEN || d->home_node.len != 32 ||
        (d->pq_kem_alg != OBJ_PQ_KEM_NONE && d->pq_kem_alg != OBJ_PQ_KEM_MLKEM768) ||
        d->pq_kem_key.len != (d->pq_kem_alg ? MLKEM768_EK_LEN : 0))
      return MOMEDO_E_BOUNDS;
    o->pq_alg = d->pq_kem_alg;
    if (d->pq_kem_alg) memcpy(o->pq_key, d->pq_kem_key.data, MLKEM768_EK_LEN);
    memcpy(o->device_key, d->device_key.data, 32);
    memcpy(o->dh_key, d->dh_key.data, 32);
    memcpy(o->prekey, d->signed_prekey.data, 32);
    o->prekey_id = d->prekey_id;
    o->prekey_expires_ms = d->prekey_expires_ms;
    memcpy(o->prekey_sig, d->prekey_signature.data, CRYPTO_SIG_LEN);
    memcpy(o->home_node, d->home_node.data, 32);
  }
  *n = b->n_devices;
  return 0;
}

int account_removed_from_bundle(const Momedo__KeyBundle *b,
                                const uint8_t (*have)[ACCOUNT_KEY_LEN], size_t n,
                                uint8_t (*out)[ACCOUNT_KEY_LEN], size_t *n_out) {
  *n_out = 0;
  if (b->n_removed_devices > OBJ_REMOVED_DEVICES_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < b->n_removed_devices; i++) {
    if (b->removed_devices[i].len != ACCOUNT_KEY_LEN) return MOMEDO_E_BOUNDS;
    memcpy(out[i], b->removed_devices[i].data, ACCOUNT_KEY_LEN);
  }
  for (size_t i = 0; i < n; i++) {
    int kept = 0;
    for (size_t j = 0; j < b->n_removed_devices && !kept; j++)
      kept = memcmp(out[j], have[i], ACCOUNT_KEY_LEN) == 0;
    if (!kept) return MOMEDO_E_FORK;
  }
  *n_out = b->n_removed_devices;
  return 0;
}

int account_learn_bundle(struct account *a, const Momedo__KeyBundle *b) {
  if (b->identity_key.len != ACCOUNT_KEY_LEN ||
      memcmp(b->identity_key.data, a->identity.pub, ACCOUNT_KEY_LEN) != 0)
    return MOMEDO_E_KEYCHANGED;
  if (b->version < a->bundle_version) return MOMEDO_E_SUPERSEDED;
  if (b->version == a->bundle_version) return 0;
  struct account_device devs[OBJ_DEVICES_MAX];
  uint8_t removed[OBJ_REMOVED_DEVICES_MAX][ACCOUNT_KEY_LEN];
  size_t n = 0, nr = 0;
  int rc = account_devices_from_bundle(b, devs, &n);
  if (rc == 0)
    rc = account_removed_from_bundle(b, (const uint8_t(*)[32])a->removed, a->n_removed,
                                     removed, &nr);
  if (rc) return rc;
  memcpy(a->devices, devs, n * sizeof devs[0]);
  a->n_devices = n;
  memcpy(a->removed, removed, nr * sizeof removed[0]);
  a->n_removed = nr;
  a->bundle_version = b->version;
  return 0;
}

int account_remove_device(struct account *a, const uint8_t device_key[static ACCOUNT_KEY_LEN]) {
  if (memcmp(device_key, a->device.pub, ACCOUNT_KEY_LEN) == 0) return MOMEDO_E_INVAL;
  size_t i = 0;
  while (i < a->n_devices && memcmp(a->devices[i].device_key, device_key, ACCOUNT_KEY_LEN) != 0)
    i++;
  if (i == a->n_devices) return MOMEDO_E_NOTFOUND;
  if (a->n_removed >= OBJ_REMOVED_DEVICES_MAX) return MOMEDO_E_QUOTA;
  size_t at = 0; /* kept ascending: the bundle lists them so */
  while (at < a->n_removed && memcmp(a->removed[at], device_key, ACCOUNT_KEY_LEN) < 0) at++;
  memmove(&a->removed[at + 1], &a->removed[at], (a->n_removed - at) * sizeof a->removed[0]);
  memcpy(a->removed[at], device_key, ACCOUNT_KEY_LEN);
  a->n_removed++;
  memmove(&a->devices[i], &a->devices[i + 1], (a->n_devices - i - 1) * sizeof a->devices[0]);
  a->n_devices--;
  return 0;
}

/* ---- storage -------------------------------------------------------------------- */

int account_save(const struct account *a, const struct vault *v) {
  struct vbuf b = {0};
  vbuf_u8(&b, ACCOUNT_FORMAT);
  vbuf_u8(&b, (uint8_t)a->has_identity);
  vbuf_raw(&b, a->identity.pub, 32);
  vbuf_raw(&b, a->identity.seed, 32);
  vbuf_raw(&b, a->device.seed, 32);
  vbuf_raw(&b, a->dh_sec, 32);
  for (size_t i = 0; i < ACCOUNT_PREKEYS; i++) {
    const struct account_prekey *p = &a->prekeys[i];
    vbuf_be32(&b, p->id);
    vbuf_be64(&b, p->created_ms);
    vbuf_be64(&b, p->expires_ms);
    vbuf_raw(&b, p->sec, 32);
    vbuf_raw(&b, p->sig, CRYPTO_SIG_LEN);
  }
  for (size_t i = 0; i < ACCOUNT_PREKEYS; i++) { /* format 5 */
    vbuf_u8(&b, (uint8_t)a->prekeys[i].pq_alg);
    if (a->prekeys[i].pq_alg) vbuf_raw(&b, a->prekeys[i].pq_dk, MLKEM768_DK_LEN);
  }
  vbuf_be64(&b, a->created_ms);
  vbuf_u8(&b, (uint8_t)a->joined);
  vbuf_u8(&b, (uint8_t)a->n_nodes);
  for (size_t i = 0; i < a->n_nodes; i++) {
    vbuf_str(&b, a->nodes[i].host);
    vbuf_be32(&b, a->nodes[i].port);
    vbuf_raw(&b, a->nodes[i].key, 32);
    vbuf_be64(&b, a->nodes[i].cursor);
  }
  vbuf_be64(&b, a->bundle_version);
  vbuf_u8(&b, (uint8_t)a->n_devices);
  for (size_t i = 0; i < a->n_devices; i++) {
    const struct account_device *d = &a->devices[i];
    vbuf_raw(&b, d->device_key, 32);
    vbuf_raw(&b, d->dh_key, 32);
    vbuf_raw(&b, d->prekey, 32);
    vbuf_be32(&b, d->prekey_id);
    vbuf_be64(&b, d->prekey_expires_ms);
    vbuf_raw(&b, d->prekey_sig, CRYPTO_SIG_LEN);
    vbuf_raw(&b, d->home_node, 32);
    vbuf_u8(&b, (uint8_t)d->pq_alg); /* format 5 */
    if (d->pq_alg) vbuf_raw(&b, d->pq_key, MLKEM768_EK_LEN);
  }
  vbuf_str(&b, a->alias);
  vbuf_u8(&b, (uint8_t)a->n_removed);
  for (size_t i = 0; i < a->n_removed; i++) vbuf_raw(&b, a->removed[i], ACCOUNT_KEY_LEN);
  vbuf_u8(&b, (uint8_t)a->n_grants);
  for (size_t i = 0; i < a->n_grants; i++) {
    const struct grant *g = &a->grants[i];
    vbuf_raw(&b, g->home, GRANT_KEY_LEN);
    vbuf_raw(&b, g->partner, GRANT_KEY_LEN);
    vbuf_be64(&b, g->expires_ms);
    vbuf_raw(&b, g->sig, CRYPTO_SIG_LEN);
  }
  vbuf_be64(&b, a->grants_checked_ms);
  vbuf_be64(&b, a->prekey_announced_ms);
  vbuf_u8(&b, (uint8_t)(a->bundle_due != 0));
  int rc = b.err ? b.err : vault_write(v, ACCOUNT_FILE, b.p, b.len);
  vbuf_free(&b);
  return rc;
}

static int load_keys(struct account *a, struct cursor *c, uint8_t *format) {
  uint8_t f, hi, seed[32];
  int rc = MOMEDO_E_CORRUPT;
  if (cursor_get_u8(c, &f) || f < 1 || f > ACCOUNT_FORMAT || cursor_get_u8(c, &hi) || hi > 1)
    return MOMEDO_E_CORRUPT;
  *format = f;
  a->has_identity = hi;
  if (vrd_fixed(c, a->identity.pub, 32) || vrd_fixed(c, seed, 32)) goto out;
  if (hi) {
    if (crypto_sign_from_seed(&a->identity, seed) != 0) goto out;
  }
  if (vrd_fixed(c, seed, 32) || crypto_sign_from_seed(&a->device, seed) != 0) goto out;
  if (vrd_fixed(c, a->dh_sec, 32) || crypto_dh_public(a->dh_pub, a->dh_sec) != 0) goto out;
  for (size_t i = 0; i < ACCOUNT_PREKEYS; i++) {
    struct account_prekey *p = &a->prekeys[i];
    if (cursor_get_be32(c, &p->id) || cursor_get_be64(c, &p->created_ms) ||
        cursor_get_be64(c, &p->expires_ms) || vrd_fixed(c, p->sec, 32) ||
        vrd_fixed(c, p->sig, CRYPTO_SIG_LEN))
      goto out;
    if (p->id != 0 && crypto_dh_public(p->pub, p->sec) != 0) goto out;
  }
  for (size_t i = 0; f >= 5 && i < ACCOUNT_PREKEYS; i++) {
    struct account_prekey *p = &a->prekeys[i];
    uint8_t alg;
    if (cursor_get_u8(c, &alg) || alg > OBJ_PQ_KEM_MLKEM768) goto out;
    p->pq_alg = alg;
    if (alg && (vrd_fixed(c, p->pq_dk, MLKEM768_DK_LEN) ||
                mlkem768_dk_check(p->pq_dk, MLKEM768_DK_LEN) != 0))
      goto out;
  }
  rc = 0;
out:
  crypto_wipe(seed, sizeof seed);
  return rc;
}

/* A device entry's KEM part (format 5): u8 alg [|| ek]. */
int account_get_device_pq(struct cursor *c, struct account_device *d) {
  uint8_t alg;
  if (cursor_get_u8(c, &alg) || alg > OBJ_PQ_KEM_MLKEM768) return MOMEDO_E_CORRUPT;
  d->pq_alg = alg;
  if (alg && vrd_fixed(c, d->pq_key, MLKEM768_EK_LEN)) return MOMEDO_E_CORRUPT;
  return 0;
}

static int load_rest(struct account *a, struct cursor *c, uint8_t format) {
  uint8_t j, nn, nd, nr = 0;
  if (cursor_get_be64(c, &a->created_ms) || cursor_get_u8(c, &j) || cursor_get_u8(c, &nn) ||
      nn > ACCOUNT_NODES_MAX)
    return MOMEDO_E_CORRUPT;
  a->joined = j;
  a->n_nodes = nn;
  for (size_t i = 0; i < nn; i++) {
    uint32_t port;
    if (vrd_str(c, a->nodes[i].host, ACCOUNT_HOST_MAX) || cursor_get_be32(c, &port) ||
        port == 0 || port > 65535 || vrd_fixed(c, a->nodes[i].key, 32) ||
        cursor_get_be64(c, &a->nodes[i].cursor))
      return MOMEDO_E_CORRUPT;
    a->nodes[i].port = (uint16_t)port;
  }
  if (cursor_get_be64(c, &a->bundle_version) || cursor_get_u8(c, &nd) || nd > OBJ_DEVICES_MAX)
    return MOMEDO_E_CORRUPT;
  a->n_devices = nd;
  for (size_t i = 0; i < nd; i++) {
    struct account_device *d = &a->devices[i];
    if (vrd_fixed(c, d->device_key, 32) || vrd_fixed(c, d->dh_key, 32) ||
        vrd_fixed(c, d->prekey, 32) || cursor_get_be32(c, &d->prekey_id) ||
        cursor_get_be64(c, &d->prekey_expires_ms) || vrd_fixed(c, d->prekey_sig, 64) ||
        vrd_fixed(c, d->home_node, 32))
      return MOMEDO_E_CORRUPT;
    if (format >= 5 && account_get_device_pq(c, d) != 0) return MOMEDO_E_CORRUPT;
  }
  if (vrd_str(c, a->alias, sizeof a->alias)) return MOMEDO_E_CORRUPT;
  if (format >= 2 && (cursor_get_u8(c, &nr) || nr > OBJ_REMOVED_DEVICES_MAX))
    return MOMEDO_E_CORRUPT;
  for (size_t i = 0; i < nr; i++)
    if (vrd_fixed(c, a->removed[i], ACCOUNT_KEY_LEN) ||
        (i > 0 && memcmp(a->removed[i - 1], a->removed[i], ACCOUNT_KEY_LEN) >= 0))
      return MOMEDO_E_CORRUPT;
  a->n_removed = nr;
  if (format >= 3) {
    uint8_t ng;
    if (cursor_get_u8(c, &ng) || ng > ACCOUNT_GRANTS_MAX) return MOMEDO_E_CORRUPT;
    for (size_t i = 0; i < ng; i++) {
      struct grant *g = &a->grants[i];
      if (vrd_fixed(c, g->home, GRANT_KEY_LEN) || vrd_fixed(c, g->partner, GRANT_KEY_LEN) ||
          cursor_get_be64(c, &g->expires_ms) || vrd_fixed(c, g->sig, CRYPTO_SIG_LEN))
        return MOMEDO_E_CORRUPT;
    }
    a->n_grants = ng;
    if (cursor_get_be64(c, &a->grants_checked_ms)) return MOMEDO_E_CORRUPT;
  }
  if (format >= 4) {
    uint8_t due;
    if (cursor_get_be64(c, &a->prekey_announced_ms) || cursor_get_u8(c, &due) || due > 1)
      return MOMEDO_E_CORRUPT;
    a->bundle_due = due;
  }
  return cursor_left(c) == 0 ? 0 : MOMEDO_E_CORRUPT;
}

int account_load(struct account *a, const struct vault *v) {
  uint8_t *d = NULL;
  size_t n = 0;
  memset(a, 0, sizeof *a);
  int rc = vault_read(v, ACCOUNT_FILE, &d, &n);
  if (rc) return rc;
  struct cursor c;
  cursor_init(&c, d, n);
  uint8_t format = 0;
  rc = load_keys(a, &c, &format);
  if (rc == 0) rc = load_rest(a, &c, format);
  crypto_wipe(d, n);
  free(d);
  if (rc) account_wipe(a);
  return rc;
}
