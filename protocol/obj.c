/* protocol/obj.c — object checks, IDs and signatures; see obj.h and docs/protocol.md.
 * Owns the per-kind bounds table and the one check path (size, one decode, ID, the
 * caller's dedup, canonical form, bounds, time, relations, signatures: cheapest first).
 * Reads no clock, stores nothing, and never trusts a field before its bound is checked. */
#include "obj.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"
#include "ids.h"
#include "mlkem.h"

#define OBJ_PREKEY_MSG_LEN (sizeof OBJ_DOMAIN_PREKEY - 1 + 4 + 8 + 32)
#define OBJ_PREKEY_PQ_MSG_LEN (sizeof OBJ_DOMAIN_PREKEY_PQ - 1 + 4 + 8 + 32 + 1 + CRYPTO_HASH_LEN)

typedef int (*obj_rule_fn)(const ProtobufCMessage *m, struct obj_checked *ck);

/* One row per kind. bounds() checks every field and fills the obj_checked (info and the
 * kind's own fields); relate() runs after the time checks and before the signature (cheap
 * cross-field rules); inner() runs after the object's own signature verified (further
 * signatures inside the object). A new kind is a new row and, if consumers need fields
 * beyond obj_info, a new member of obj_checked's union filled by its bounds(). */
struct obj_kind_desc {
  Momedo__ObjectKind kind;
  const ProtobufCMessageDescriptor *desc;
  const char *domain;
  size_t sig_off; /* offsetof(message, signature) */
  int expires;    /* 1: expires_ms is mandatory and bounded by OBJ_TTL_MS_MAX */
  obj_rule_fn bounds, relate, inner;
};

static int obj_bounds_bundle(const ProtobufCMessage *m, struct obj_checked *ck);
static int obj_bounds_item(const ProtobufCMessage *m, struct obj_checked *ck);
static int obj_bounds_tombstone(const ProtobufCMessage *m, struct obj_checked *ck);
static int obj_bounds_chunk(const ProtobufCMessage *m, struct obj_checked *ck);
static int obj_bounds_alias(const ProtobufCMessage *m, struct obj_checked *ck);
static int obj_bounds_record(const ProtobufCMessage *m, struct obj_checked *ck);
static int obj_relate_tombstone(const ProtobufCMessage *m, struct obj_checked *ck);
static int obj_inner_bundle(const ProtobufCMessage *m, struct obj_checked *ck);

static const struct obj_kind_desc obj_kinds[] = {
    {MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &momedo__key_bundle__descriptor,
     OBJ_DOMAIN_KEY_BUNDLE, offsetof(Momedo__KeyBundle, signature), 0, obj_bounds_bundle,
     NULL, obj_inner_bundle},
    {MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &momedo__ozone_item__descriptor,
     OBJ_DOMAIN_OZONE_ITEM, offsetof(Momedo__OzoneItem, signature), 1, obj_bounds_item, NULL,
     NULL},
    {MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, &momedo__tombstone__descriptor, OBJ_DOMAIN_TOMBSTONE,
     offsetof(Momedo__Tombstone, signature), 1, obj_bounds_tombstone, obj_relate_tombstone,
     NULL},
    {MOMEDO__OBJECT_KIND__OBJ_CHUNK, &momedo__chunk__descriptor, OBJ_DOMAIN_CHUNK,
     offsetof(Momedo__Chunk, signature), 1, obj_bounds_chunk, NULL, NULL},
    {MOMEDO__OBJECT_KIND__OBJ_ALIAS, &momedo__alias__descriptor, OBJ_DOMAIN_ALIAS,
     offsetof(Momedo__Alias, signature), 1, obj_bounds_alias, NULL, NULL},
    {MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, &momedo__node_record__descriptor,
     OBJ_DOMAIN_NODE_RECORD, offsetof(Momedo__NodeRecord, signature), 1, obj_bounds_record,
     NULL, NULL},
};

static const struct obj_kind_desc *obj_kind_find(Momedo__ObjectKind kind) {
  for (size_t i = 0; i < sizeof obj_kinds / sizeof obj_kinds[0]; i++)
    if (obj_kinds[i].kind == kind) return &obj_kinds[i];
  return NULL;
}

static ProtobufCBinaryData *obj_sig_field(const struct obj_kind_desc *k, ProtobufCMessage *m) {
  return (ProtobufCBinaryData *)((char *)m + k->sig_off);
}

/* ---- field checks ---------------------------------------------------------------- */

static int obj_len_is(const ProtobufCBinaryData *b, size_t n) { return b->len == n; }

static int obj_key32(const ProtobufCBinaryData *b, uint8_t out[static OBJ_KEY_LEN]) {
  if (!obj_len_is(b, OBJ_KEY_LEN)) return MOMEDO_E_BOUNDS;
  if (out) memcpy(out, b->data, OBJ_KEY_LEN);
  return 0;
}

static int obj_ciphertext(const ProtobufCBinaryData *b) {
  return b->len >= 1 && b->len <= OBJ_CIPHERTEXT_BYTES_MAX ? 0 : MOMEDO_E_BOUNDS;
}

/* Common to items, tombstones, chunks and aliases: format, signature length, and the
 * lifetime (expires after created, by at most OBJ_TTL_MS_MAX). */
static int obj_common(uint32_t format, const ProtobufCBinaryData *sig, uint64_t created_ms,
                      uint64_t expires_ms, struct obj_info *info) {
  if (format != OBJ_FORMAT) return MOMEDO_E_VERSION;
  if (!obj_len_is(sig, OBJ_SIG_LEN)) return MOMEDO_E_BOUNDS;
  if (expires_ms <= created_ms || expires_ms - created_ms > OBJ_TTL_MS_MAX)
    return MOMEDO_E_BOUNDS;
  info->created_ms = created_ms;
  info->expires_ms = expires_ms;
  return 0;
}

/* Destination node keys: at most OBJ_DEST_NODES_MAX, 32 bytes each, strictly ascending
 * (one spelling per set, so the signed bytes and the ID are unique for it). */
static int obj_dests(size_t n, const ProtobufCBinaryData *d, struct obj_checked *ck) {
  if (n > OBJ_DEST_NODES_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < n; i++) {
    if (!obj_len_is(&d[i], OBJ_KEY_LEN)) return MOMEDO_E_BOUNDS;
    if (i > 0 && memcmp(d[i - 1].data, d[i].data, OBJ_KEY_LEN) >= 0) return MOMEDO_E_BOUNDS;
    memcpy(ck->dests[i], d[i].data, OBJ_KEY_LEN);
  }
  ck->n_dests = (uint32_t)n;
  return 0;
}

/* A bundle's destinations are its home nodes (checked: 32 bytes each), sorted, duplicates
 * merged (the bundle's own order stays as signed). */
static void obj_bundle_dests(const struct obj_bundle_fields *f, struct obj_checked *ck) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < f->n_home_nodes; i++) {
    uint32_t j = n;
    int dup = 0;
    while (j > 0) {
      int c = memcmp(ck->dests[j - 1], f->home_node[i], OBJ_KEY_LEN);
      if (c == 0) dup = 1;
      if (c <= 0) break;
      j--;
    }
    if (dup) continue;
    memmove(ck->dests[j + 1], ck->dests[j], (size_t)(n - j) * OBJ_KEY_LEN);
    memcpy(ck->dests[j], f->home_node[i], OBJ_KEY_LEN);
    n++;
  }
  ck->n_dests = n;
}

int obj_dests_has(const struct obj_checked *ck, const uint8_t key[static OBJ_KEY_LEN]) {
  uint32_t lo = 0, hi = ck->n_dests;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = memcmp(ck->dests[mid], key, OBJ_KEY_LEN);
    if (c == 0) return 1;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* pq_kem_alg: 0 with no key, or 1 with an ML-KEM-768 encapsulation key that passes the
 * FIPS 203 section 7.2 check; any other algorithm is a later suite (E_VERSION). */
static int obj_check_pq(const Momedo__DeviceKeys *d) {
  if (d->pq_kem_alg == OBJ_PQ_KEM_NONE) return d->pq_kem_key.len == 0 ? 0 : MOMEDO_E_BOUNDS;
  if (d->pq_kem_alg != OBJ_PQ_KEM_MLKEM768) return MOMEDO_E_VERSION;
  if (d->pq_kem_key.len != MLKEM768_EK_LEN) return MOMEDO_E_BOUNDS;
  return mlkem768_ek_check(d->pq_kem_key.data, d->pq_kem_key.len);
}

static int obj_check_device(const Momedo__DeviceKeys *d) {
  int rc = obj_check_pq(d);
  if (rc < 0) return rc;
  if (!obj_len_is(&d->device_key, OBJ_KEY_LEN) || !obj_len_is(&d->dh_key, OBJ_KEY_LEN) ||
      !obj_len_is(&d->signed_prekey, OBJ_KEY_LEN) ||
      !obj_len_is(&d->prekey_signature, OBJ_SIG_LEN) || !obj_len_is(&d->home_node, OBJ_KEY_LEN))
    return MOMEDO_E_BOUNDS;
  return 0;
}

/* removed_devices: 32 bytes each, strictly ascending (one spelling per set), at most
 * OBJ_REMOVED_DEVICES_MAX, none of them a listed device. */
static int obj_bounds_removed(const Momedo__KeyBundle *b, struct obj_bundle_fields *f) {
  if (b->n_removed_devices > OBJ_REMOVED_DEVICES_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < b->n_removed_devices; i++) {
    int rc = obj_key32(&b->removed_devices[i], f->removed[i]);
    if (rc < 0) return rc;
    if (i > 0 && memcmp(f->removed[i - 1], f->removed[i], OBJ_KEY_LEN) >= 0)
      return MOMEDO_E_BOUNDS;
    for (size_t j = 0; j < b->n_devices; j++)
      if (memcmp(b->devices[j]->device_key.data, f->removed[i], OBJ_KEY_LEN) == 0)
        return MOMEDO_E_BOUNDS;
  }
  f->n_removed = (uint32_t)b->n_removed_devices;
  return 0;
}

/* partner_grants: at most OBJ_PARTNER_GRANTS_MAX, each well-formed, for a node among
 * home_nodes (f->home_node, filled before), no (home, partner) pair twice. */
static int obj_bounds_grants(const Momedo__KeyBundle *b, struct obj_bundle_fields *f) {
  if (b->n_partner_grants > OBJ_PARTNER_GRANTS_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < b->n_partner_grants; i++) {
    struct grant *g = &f->grants[i];
    int rc = grant_from_msg(g, b->partner_grants[i]), home = 0;
    if (rc < 0) return rc;
    for (size_t j = 0; j < b->n_home_nodes; j++)
      home |= memcmp(f->home_node[j], g->partner, OBJ_KEY_LEN) == 0;
    if (!home) return MOMEDO_E_BOUNDS;
    for (size_t j = 0; j < i; j++)
      if (memcmp(f->grants[j].home, g->home, OBJ_KEY_LEN) == 0 &&
          memcmp(f->grants[j].partner, g->partner, OBJ_KEY_LEN) == 0)
        return MOMEDO_E_BOUNDS;
  }
  f->n_grants = (uint32_t)b->n_partner_grants;
  return 0;
}

int obj_bundle_keeps_removed(const struct obj_bundle_fields *newer,
                             const struct obj_bundle_fields *older) {
  uint32_t j = 0; /* both ascending: one merge pass */
  for (uint32_t i = 0; i < older->n_removed; i++) {
    while (j < newer->n_removed && memcmp(newer->removed[j], older->removed[i], OBJ_KEY_LEN) < 0)
      j++;
    if (j == newer->n_removed || memcmp(newer->removed[j], older->removed[i], OBJ_KEY_LEN) != 0)
      return MOMEDO_E_FORK;
  }
  return 0;
}

static int obj_bounds_bundle(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__KeyBundle *b = (const Momedo__KeyBundle *)m;
  struct obj_info *info = &ck->info;
  struct obj_bundle_fields *f = &ck->bundle;
  int rc;
  if (b->format != OBJ_FORMAT) return MOMEDO_E_VERSION;
  if ((rc = obj_key32(&b->identity_key, info->key)) < 0) return rc;
  if (!obj_len_is(&b->signature, OBJ_SIG_LEN) || b->version < 1) return MOMEDO_E_BOUNDS;
  /* A revocation ends the identity: it may drop its devices and home nodes. */
  size_t devices_min = b->revoked ? 0 : 1, homes_min = b->revoked ? 0 : 1;
  if (b->n_devices < devices_min || b->n_devices > OBJ_DEVICES_MAX) return MOMEDO_E_BOUNDS;
  if (b->n_home_nodes < homes_min || b->n_home_nodes > OBJ_HOME_NODES_MAX)
    return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < b->n_devices; i++) {
    if ((rc = obj_check_device(b->devices[i])) < 0) return rc;
    for (size_t j = 0; j < i; j++)
      if (memcmp(b->devices[i]->device_key.data, b->devices[j]->device_key.data,
                 OBJ_KEY_LEN) == 0)
        return MOMEDO_E_BOUNDS;
    memcpy(f->device_key[i], b->devices[i]->device_key.data, OBJ_KEY_LEN);
  }
  for (size_t i = 0; i < b->n_home_nodes; i++)
    if ((rc = obj_key32(&b->home_nodes[i], f->home_node[i])) < 0) return rc;
  if ((rc = obj_bounds_removed(b, f)) < 0) return rc;
  if ((rc = obj_bounds_grants(b, f)) < 0) return rc;
  f->n_devices = (uint32_t)b->n_devices;
  f->n_home_nodes = (uint32_t)b->n_home_nodes;
  obj_bundle_dests(f, ck);
  memcpy(info->signer, info->key, OBJ_KEY_LEN);
  info->created_ms = b->created_ms;
  info->expires_ms = 0;
  info->version = b->version;
  info->revoked = b->revoked ? 1 : 0;
  return 0;
}

static int obj_bounds_item(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__OzoneItem *it = (const Momedo__OzoneItem *)m;
  struct obj_info *info = &ck->info;
  int rc = obj_common(it->format, &it->signature, it->created_ms, it->expires_ms, info);
  if (rc == 0) rc = obj_key32(&it->mailbox, info->mailbox);
  if (rc == 0) rc = obj_key32(&it->node_key, info->key);
  if (rc == 0) rc = obj_ciphertext(&it->ciphertext);
  if (rc == 0) rc = obj_dests(it->n_dest_nodes, it->dest_nodes, ck);
  if (rc == 0) memcpy(info->signer, info->key, OBJ_KEY_LEN);
  return rc;
}

static int obj_bounds_tombstone(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__Tombstone *t = (const Momedo__Tombstone *)m;
  struct obj_info *info = &ck->info;
  int rc = obj_common(t->format, &t->signature, t->created_ms, t->expires_ms, info);
  if (rc == 0 && !obj_len_is(&t->item_id, OBJ_ID_LEN)) rc = MOMEDO_E_BOUNDS;
  if (rc == 0) memcpy(info->target_id, t->item_id.data, OBJ_ID_LEN);
  if (rc == 0) rc = obj_key32(&t->mailbox, info->mailbox);
  if (rc == 0) rc = obj_key32(&t->device_key, info->key);
  if (rc == 0) rc = obj_dests(t->n_dest_nodes, t->dest_nodes, ck);
  if (rc == 0) memcpy(info->signer, info->key, OBJ_KEY_LEN);
  return rc;
}

static int obj_bounds_chunk(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__Chunk *c = (const Momedo__Chunk *)m;
  struct obj_info *info = &ck->info;
  int rc = obj_common(c->format, &c->signature, c->created_ms, c->expires_ms, info);
  if (rc == 0 && (c->count < 1 || c->count > OBJ_CHUNKS_MAX || c->index >= c->count))
    rc = MOMEDO_E_BOUNDS;
  if (rc == 0) rc = obj_key32(&c->mailbox, info->mailbox);
  if (rc == 0 && !obj_len_is(&c->blob_id, OBJ_ID_LEN)) rc = MOMEDO_E_BOUNDS;
  if (rc == 0) memcpy(info->blob_id, c->blob_id.data, OBJ_ID_LEN);
  if (rc == 0) rc = obj_key32(&c->node_key, info->key);
  if (rc == 0) rc = obj_ciphertext(&c->ciphertext);
  if (rc == 0) rc = obj_dests(c->n_dest_nodes, c->dest_nodes, ck);
  if (rc == 0) {
    memcpy(info->signer, info->key, OBJ_KEY_LEN);
    info->index = c->index;
    info->count = c->count;
  }
  return rc;
}

/* Canonical Crockford base32: upper case, no I, L, O or U, so one alias has one spelling. */
static int obj_alias_ok(const char *s) {
  size_t n = 0;
  for (; s[n] != '\0'; n++) {
    if (n >= OBJ_ALIAS_CHARS_MAX) return 0;
    if (memchr(IDS_B32_ALPHABET, s[n], 32) == NULL) return 0;
  }
  return n >= OBJ_ALIAS_CHARS_MIN;
}

static int obj_bounds_alias(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__Alias *al = (const Momedo__Alias *)m;
  struct obj_info *info = &ck->info;
  int rc = obj_common(al->format, &al->signature, al->created_ms, al->expires_ms, info);
  if (rc == 0 && (al->alias == NULL || !obj_alias_ok(al->alias))) rc = MOMEDO_E_BOUNDS;
  if (rc == 0) rc = obj_key32(&al->identity_key, info->key);
  if (rc == 0) rc = obj_key32(&al->node_key, info->signer);
  if (rc == 0) rc = obj_dests(al->n_dest_nodes, al->dest_nodes, ck);
  if (rc == 0) {
    size_t n = strlen(al->alias);
    memcpy(info->alias, al->alias, n + 1);
  }
  return rc;
}

/* A node name names a place: lower-case letters, digits, '.' and '-' only. */
static int obj_record_name_ok(const char *s) {
  size_t n = 0;
  for (; s[n] != '\0'; n++) {
    char c = s[n];
    if (n >= OBJ_RECORD_NAME_CHARS_MAX) return 0;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return 0;
  }
  return 1;
}

/* Neighbors: 32 bytes each, strictly ascending, never the node itself. */
static int obj_record_neighbors(const Momedo__NodeRecord *r) {
  if (r->n_neighbors > OBJ_RECORD_NEIGHBORS_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < r->n_neighbors; i++) {
    const ProtobufCBinaryData *d = &r->neighbors[i];
    if (!obj_len_is(d, OBJ_KEY_LEN) || memcmp(d->data, r->node_key.data, OBJ_KEY_LEN) == 0)
      return MOMEDO_E_BOUNDS;
    if (i > 0 && memcmp(r->neighbors[i - 1].data, d->data, OBJ_KEY_LEN) >= 0)
      return MOMEDO_E_BOUNDS;
  }
  return 0;
}

/* The filter is empty (and k = 0), or 2^j bytes within bounds with 1 <= k <= 16. */
static int obj_record_bloom(const Momedo__NodeRecord *r) {
  size_t n = r->users_bloom.len;
  if (n == 0) return r->bloom_hashes == 0 ? 0 : MOMEDO_E_BOUNDS;
  if (n < OBJ_RECORD_BLOOM_BYTES_MIN || n > OBJ_RECORD_BLOOM_BYTES_MAX || (n & (n - 1)) != 0)
    return MOMEDO_E_BOUNDS;
  return r->bloom_hashes >= 1 && r->bloom_hashes <= OBJ_RECORD_BLOOM_HASHES_MAX
             ? 0 : MOMEDO_E_BOUNDS;
}

static int obj_bounds_record(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__NodeRecord *r = (const Momedo__NodeRecord *)m;
  struct obj_info *info = &ck->info;
  struct obj_record_fields *f = &ck->record;
  if (r->format != OBJ_FORMAT) return MOMEDO_E_VERSION;
  int rc = obj_key32(&r->node_key, info->key);
  if (rc < 0) return rc;
  if (!obj_len_is(&r->signature, OBJ_SIG_LEN) || r->seq < 1) return MOMEDO_E_BOUNDS;
  if (r->expires_ms <= r->created_ms ||
      r->expires_ms - r->created_ms > OBJ_RECORD_LIFETIME_MS_MAX)
    return MOMEDO_E_BOUNDS;
  if (r->name == NULL || !obj_record_name_ok(r->name)) return MOMEDO_E_BOUNDS;
  if ((rc = obj_record_neighbors(r)) < 0 || (rc = obj_record_bloom(r)) < 0) return rc;
  memcpy(info->signer, info->key, OBJ_KEY_LEN);
  info->created_ms = r->created_ms;
  info->expires_ms = r->expires_ms;
  info->version = r->seq;
  memset(f, 0, sizeof *f);
  memcpy(f->name, r->name, strlen(r->name));
  f->n_neighbors = (uint32_t)r->n_neighbors;
  f->bloom_bytes = (uint32_t)r->users_bloom.len;
  f->bloom_hashes = r->bloom_hashes;
  return 0;
}

/* A device may only tombstone items in its own mailbox. A mismatch is a bound violation
 * (E_BOUNDS, a PROTO-kind error: the sender of such bytes is misbehaving). */
static int obj_relate_tombstone(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__Tombstone *t = (const Momedo__Tombstone *)m;
  uint8_t mb[OBJ_MAILBOX_LEN];
  (void)ck;
  int rc = obj_device_mailbox(mb, t->device_key.data);
  if (rc < 0) return rc;
  return crypto_ct_eq(mb, t->mailbox.data, OBJ_MAILBOX_LEN) ? 0 : MOMEDO_E_BOUNDS;
}

static int obj_inner_bundle(const ProtobufCMessage *m, struct obj_checked *ck) {
  const Momedo__KeyBundle *b = (const Momedo__KeyBundle *)m;
  (void)ck;
  for (size_t i = 0; i < b->n_devices; i++) {
    const Momedo__DeviceKeys *d = b->devices[i];
    int rc = obj_prekey_verify_pq(d->prekey_signature.data, d->prekey_id, d->prekey_expires_ms,
                                  d->signed_prekey.data, d->pq_kem_alg, d->pq_kem_key.data,
                                  d->pq_kem_key.len, d->device_key.data);
    if (rc < 0) return rc;
  }
  return 0;
}

/* ---- decoding and the signed body ------------------------------------------------ */

static int obj_decode(const struct obj_kind_desc *k, const uint8_t *data, size_t len,
                      struct arena *a, ProtobufCMessage **out) {
  *out = NULL;
  if (len > OBJ_BYTES_MAX) return MOMEDO_E_TOOBIG;
  int failed_before = a->failed;
  a->failed = 0;
  ProtobufCMessage *m = protobuf_c_message_unpack(k->desc, &a->pb, len, data);
  int arena_full = a->failed;
  a->failed = failed_before || arena_full;
  if (m == NULL) return arena_full ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE;
  *out = m;
  return 0;
}

/* Pack m with its signature field cleared into buf (which must hold the full packing);
 * returns the packed length. m is restored before returning. */
static size_t obj_pack_unsigned(const struct obj_kind_desc *k, ProtobufCMessage *m,
                                uint8_t *buf) {
  ProtobufCBinaryData *sig = obj_sig_field(k, m), saved = *sig;
  sig->data = NULL;
  sig->len = 0;
  size_t n = protobuf_c_message_pack(m, buf);
  *sig = saved;
  return n;
}

static int obj_hash_id(Momedo__ObjectKind kind, const uint8_t *body, size_t len,
                       uint8_t id[static OBJ_ID_LEN]) {
  uint8_t kb = (uint8_t)kind;
  struct crypto_part parts[] = {
      {OBJ_DOMAIN_ID, sizeof OBJ_DOMAIN_ID - 1}, {&kb, 1}, {body, len}};
  return crypto_sha256_parts(id, parts, 3);
}

static int obj_no_unknown(const struct obj_kind_desc *k, const ProtobufCMessage *m) {
  if (m->n_unknown_fields != 0) return MOMEDO_E_NONCANON;
  if (k->kind == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE) {
    const Momedo__KeyBundle *b = (const Momedo__KeyBundle *)m;
    for (size_t i = 0; i < b->n_devices; i++)
      if (b->devices[i]->base.n_unknown_fields != 0) return MOMEDO_E_NONCANON;
  }
  return 0;
}

/* Time rules: nothing created too far ahead of now; nothing expired. */
static int obj_check_time(const struct obj_kind_desc *k, const struct obj_info *info,
                          uint64_t now_ms) {
  if (info->created_ms > now_ms && info->created_ms - now_ms > OBJ_CLOCK_SKEW_MS_MAX)
    return MOMEDO_E_FUTURE;
  if (k->expires && info->expires_ms <= now_ms) return MOMEDO_E_EXPIRED;
  return 0;
}

/* A ProtobufCBuffer that compares what protobuf-c packs with the input instead of
 * storing it: the canonical-form check without a second buffer of the object's size. */
struct obj_cmp {
  ProtobufCBuffer base;
  const uint8_t *want;
  size_t len, off;
  int differs;
};

static void obj_cmp_append(ProtobufCBuffer *b, size_t n, const uint8_t *data) {
  struct obj_cmp *c = (struct obj_cmp *)b;
  if (c->differs) return;
  if (n > c->len - c->off || (n != 0 && memcmp(c->want + c->off, data, n) != 0)) {
    c->differs = 1;
    return;
  }
  c->off += n;
}

/* No unknown fields, and the bytes are exactly the message's own packing (full is its
 * packed size). */
static int obj_canonical(const struct obj_kind_desc *k, const ProtobufCMessage *m,
                         const uint8_t *data, size_t len, size_t full) {
  struct obj_cmp c = {{obj_cmp_append}, data, len, 0, 0};
  int rc = obj_no_unknown(k, m);
  if (rc < 0) return rc;
  if (full != len) return MOMEDO_E_NONCANON;
  if (protobuf_c_message_pack_to_buffer(m, &c.base) != len || c.differs || c.off != len)
    return MOMEDO_E_NONCANON;
  return 0;
}

/* How far obj_run goes: the ID only (obj_id); the ID and the bounded fields of stored
 * bytes (obj_read); everything but the signatures (obj_check_own); everything
 * (obj_check). */
enum obj_depth { OBJ_DEPTH_ID, OBJ_DEPTH_FIELDS, OBJ_DEPTH_OWN, OBJ_DEPTH_ALL };

struct obj_job {
  const struct obj_kind_desc *k;
  const uint8_t *data;
  size_t len;
  uint64_t now_ms;
  obj_seen_fn seen;
  void *seen_ctx;
  enum obj_depth depth;
};

/* Everything after the decode, cheapest first. buf holds the domain, then the packing
 * without the signature (hashed for the ID, signed by the signer). */
static int obj_run_msg(const struct obj_job *j, ProtobufCMessage *m, size_t full, uint8_t *buf,
                       struct obj_checked *ck) {
  const struct obj_kind_desc *k = j->k;
  size_t dl = strlen(k->domain);
  memcpy(buf, k->domain, dl);
  size_t body = obj_pack_unsigned(k, m, buf + dl);
  int rc = obj_hash_id(k->kind, buf + dl, body, ck->info.id);
  if (rc < 0 || j->depth == OBJ_DEPTH_ID) return rc;
  /* Dedup before anything else: a known object costs one decode and one hash. */
  if (j->seen && j->seen(j->seen_ctx, ck->info.id)) return MOMEDO_E_EXISTS;
  if (j->depth >= OBJ_DEPTH_OWN && (rc = obj_canonical(k, m, j->data, j->len, full)) < 0)
    return rc;
  if ((rc = k->bounds(m, ck)) < 0 || j->depth == OBJ_DEPTH_FIELDS) return rc;
  if ((rc = obj_check_time(k, &ck->info, j->now_ms)) < 0) return rc;
  if (k->relate && (rc = k->relate(m, ck)) < 0) return rc;
  if (j->depth == OBJ_DEPTH_OWN) return 0;
  const uint8_t *sig = obj_sig_field(k, m)->data;
  if ((rc = crypto_verify(sig, buf, dl + body, ck->info.signer)) < 0) return rc;
  return k->inner ? k->inner(m, ck) : 0;
}

/* Decode once into a private arena, then obj_run_msg. ck->info starts zeroed (the
 * fields a kind does not have stay 0: stores keep the whole struct). */
static int obj_run(struct obj_job *j, Momedo__ObjectKind kind, struct obj_checked *ck) {
  struct arena a;
  ProtobufCMessage *m = NULL;
  uint8_t *buf = NULL;
  int rc;
  if ((j->k = obj_kind_find(kind)) == NULL) return MOMEDO_E_UNKNOWN_KIND;
  if (j->len > OBJ_BYTES_MAX) return MOMEDO_E_TOOBIG;
  arena_init(&a, OBJ_DECODE_BYTES_MAX);
  if ((rc = obj_decode(j->k, j->data, j->len, &a, &m)) < 0) goto out;
  /* Re-encoding can be longer than a non-canonical input; size the buffer for it. */
  size_t full = protobuf_c_message_get_packed_size(m);
  buf = malloc(strlen(j->k->domain) + full + 1);
  if (buf == NULL) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  memset(&ck->info, 0, sizeof ck->info);
  ck->info.kind = kind;
  ck->n_dests = 0;
  rc = obj_run_msg(j, m, full, buf, ck);
out:
  free(buf);
  arena_close(&a);
  return rc;
}

int obj_check(Momedo__ObjectKind kind, const uint8_t *data, size_t len, uint64_t now_ms,
              obj_seen_fn seen, void *seen_ctx, struct obj_checked *out) {
  struct obj_job j = {.data = data, .len = len, .now_ms = now_ms, .seen = seen,
                      .seen_ctx = seen_ctx, .depth = OBJ_DEPTH_ALL};
  return obj_run(&j, kind, out);
}

int obj_check_own(Momedo__ObjectKind kind, const uint8_t *data, size_t len, uint64_t now_ms,
                  obj_seen_fn seen, void *seen_ctx, struct obj_checked *out) {
  struct obj_job j = {.data = data, .len = len, .now_ms = now_ms, .seen = seen,
                      .seen_ctx = seen_ctx, .depth = OBJ_DEPTH_OWN};
  return obj_run(&j, kind, out);
}

int obj_read(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
             struct obj_checked *out) {
  struct obj_job j = {.data = data, .len = len, .depth = OBJ_DEPTH_FIELDS};
  return obj_run(&j, kind, out);
}

int obj_validate(Momedo__ObjectKind kind, const uint8_t *data, size_t len, uint64_t now_ms,
                 struct obj_info *info) {
  struct obj_checked ck;
  int rc = obj_check(kind, data, len, now_ms, NULL, NULL, &ck);
  if (rc == 0) *info = ck.info;
  return rc;
}

int obj_id(Momedo__ObjectKind kind, const uint8_t *data, size_t len,
           uint8_t id[static OBJ_ID_LEN]) {
  struct obj_checked ck;
  struct obj_job j = {.data = data, .len = len, .depth = OBJ_DEPTH_ID};
  int rc = obj_run(&j, kind, &ck);
  if (rc == 0) memcpy(id, ck.info.id, OBJ_ID_LEN);
  return rc;
}

int obj_unpack(Momedo__ObjectKind kind, const uint8_t *data, size_t len, struct arena *a,
               ProtobufCMessage **out) {
  const struct obj_kind_desc *k = obj_kind_find(kind);
  *out = NULL;
  if (k == NULL) return MOMEDO_E_UNKNOWN_KIND;
  return obj_decode(k, data, len, a, out);
}

static int obj_sign_kp(void *ctx, const uint8_t *msg, size_t len,
                       uint8_t sig[static OBJ_SIG_LEN]) {
  return crypto_sign(sig, msg, len, ctx);
}

int obj_sign_encode(Momedo__ObjectKind kind, ProtobufCMessage *msg,
                    const struct crypto_sign_keypair *kp, uint8_t **out, size_t *out_len) {
  if (kp == NULL) return MOMEDO_E_INVAL;
  return obj_sign_encode_with(kind, msg, obj_sign_kp, (void *)kp, out, out_len);
}

int obj_sign_encode_with(Momedo__ObjectKind kind, ProtobufCMessage *msg, obj_sign_fn sign,
                         void *ctx, uint8_t **out, size_t *out_len) {
  const struct obj_kind_desc *k = obj_kind_find(kind);
  uint8_t *signed_buf = NULL, *enc = NULL;
  int rc;
  *out = NULL;
  *out_len = 0;
  if (k == NULL || msg == NULL || msg->descriptor != k->desc || sign == NULL)
    return MOMEDO_E_INVAL;
  /* Unknown fields would be packed after the signature and refused by obj_validate. */
  if (obj_no_unknown(k, msg) < 0) return MOMEDO_E_INVAL;
  ProtobufCBinaryData *sig = obj_sig_field(k, msg);
  uint8_t sig_bytes[OBJ_SIG_LEN];
  sig->data = sig_bytes; /* measure with a signature of the final length */
  sig->len = OBJ_SIG_LEN;
  size_t total = protobuf_c_message_get_packed_size(msg);
  size_t dl = strlen(k->domain);
  if (total > OBJ_BYTES_MAX) {
    rc = MOMEDO_E_TOOBIG;
    goto out;
  }
  signed_buf = malloc(dl + total);
  enc = malloc(total);
  if (signed_buf == NULL || enc == NULL) {
    rc = MOMEDO_E_NOMEM;
    goto out;
  }
  memcpy(signed_buf, k->domain, dl);
  size_t body = obj_pack_unsigned(k, msg, signed_buf + dl);
  if ((rc = sign(ctx, signed_buf, dl + body, sig_bytes)) < 0) goto out;
  size_t packed = protobuf_c_message_pack(msg, enc);
  assert(packed == total);
  /* Field 15 is the highest field, so the signature is the encoding's last bytes. */
  assert(memcmp(enc + total - OBJ_SIG_LEN, sig_bytes, OBJ_SIG_LEN) == 0);
  sig->data = enc + total - OBJ_SIG_LEN;
  *out = enc;
  *out_len = total;
  enc = NULL;
out:
  if (rc < 0) {
    sig->data = NULL;
    sig->len = 0;
  }
  free(signed_buf);
  free(enc);
  crypto_wipe(sig_bytes, sizeof sig_bytes);
  return rc;
}

int obj_device_mailbox(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                       const uint8_t device_key[static OBJ_KEY_LEN]) {
  struct crypto_part parts[] = {
      {OBJ_DOMAIN_MAILBOX_DEVICE, sizeof OBJ_DOMAIN_MAILBOX_DEVICE - 1},
      {device_key, OBJ_KEY_LEN}};
  return crypto_sha256_parts(mailbox, parts, 2);
}

int obj_tombstone_sign(const struct crypto_sign_keypair *device,
                       const uint8_t item_id[static OBJ_ID_LEN], uint64_t created_ms,
                       uint64_t expires_ms, const ProtobufCBinaryData *dests, size_t n_dests,
                       uint8_t **out, size_t *out_len) {
  Momedo__Tombstone t = MOMEDO__TOMBSTONE__INIT;
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  int rc = obj_device_mailbox(mailbox, device->pub);
  if (rc < 0) return rc;
  t.format = OBJ_FORMAT;
  t.item_id = (ProtobufCBinaryData){OBJ_ID_LEN, (uint8_t *)item_id};
  t.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, mailbox};
  t.created_ms = created_ms;
  t.expires_ms = expires_ms;
  t.device_key = (ProtobufCBinaryData){OBJ_KEY_LEN, (uint8_t *)device->pub};
  t.n_dest_nodes = n_dests;
  t.dest_nodes = n_dests ? (ProtobufCBinaryData *)dests : NULL;
  return obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, &t.base, device, out, out_len);
}

int obj_link_mailbox(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                     const uint8_t link_id[static OBJ_LINK_ID_LEN]) {
  struct crypto_part parts[] = {{OBJ_DOMAIN_MAILBOX_LINK, sizeof OBJ_DOMAIN_MAILBOX_LINK - 1},
                                {link_id, OBJ_LINK_ID_LEN}};
  return crypto_sha256_parts(mailbox, parts, 2);
}

/* "momedo/prekey/v1" || be32 prekey_id || be64 expires_ms || prekey (32). */
static void obj_prekey_msg(uint8_t msg[static OBJ_PREKEY_MSG_LEN], uint32_t prekey_id,
                           uint64_t expires_ms, const uint8_t prekey[static 32]) {
  size_t dl = sizeof OBJ_DOMAIN_PREKEY - 1;
  memcpy(msg, OBJ_DOMAIN_PREKEY, dl);
  be32_put(msg + dl, prekey_id);
  be64_put(msg + dl + 4, expires_ms);
  memcpy(msg + dl + 12, prekey, 32);
}

int obj_prekey_sign(uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                    uint64_t expires_ms, const uint8_t prekey[static 32],
                    const struct crypto_sign_keypair *device) {
  uint8_t msg[OBJ_PREKEY_MSG_LEN];
  obj_prekey_msg(msg, prekey_id, expires_ms, prekey);
  return crypto_sign(sig, msg, sizeof msg, device);
}

int obj_prekey_verify(const uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                      uint64_t expires_ms, const uint8_t prekey[static 32],
                      const uint8_t device_key[static OBJ_KEY_LEN]) {
  uint8_t msg[OBJ_PREKEY_MSG_LEN];
  obj_prekey_msg(msg, prekey_id, expires_ms, prekey);
  return crypto_verify(sig, msg, sizeof msg, device_key);
}

/* "momedo/prekey/v2" || be32 id || be64 expires || prekey || u8 alg || SHA-256(pq_key). */
static int obj_prekey_pq_msg(uint8_t msg[static OBJ_PREKEY_PQ_MSG_LEN], uint32_t prekey_id,
                             uint64_t expires_ms, const uint8_t prekey[static 32],
                             uint32_t pq_alg, const uint8_t *pq_key, size_t pq_key_len) {
  size_t dl = sizeof OBJ_DOMAIN_PREKEY_PQ - 1;
  if (pq_alg > 0xff || (pq_key == NULL && pq_key_len != 0)) return MOMEDO_E_BOUNDS;
  memcpy(msg, OBJ_DOMAIN_PREKEY_PQ, dl);
  be32_put(msg + dl, prekey_id);
  be64_put(msg + dl + 4, expires_ms);
  memcpy(msg + dl + 12, prekey, 32);
  msg[dl + 44] = (uint8_t)pq_alg;
  return crypto_sha256(msg + dl + 45, pq_key_len ? pq_key : (const uint8_t *)"", pq_key_len);
}

int obj_prekey_sign_pq(uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                       uint64_t expires_ms, const uint8_t prekey[static 32], uint32_t pq_alg,
                       const uint8_t *pq_key, size_t pq_key_len,
                       const struct crypto_sign_keypair *device) {
  uint8_t msg[OBJ_PREKEY_PQ_MSG_LEN];
  if (pq_alg == OBJ_PQ_KEM_NONE) return obj_prekey_sign(sig, prekey_id, expires_ms, prekey, device);
  int rc = obj_prekey_pq_msg(msg, prekey_id, expires_ms, prekey, pq_alg, pq_key, pq_key_len);
  return rc < 0 ? rc : crypto_sign(sig, msg, sizeof msg, device);
}

int obj_prekey_verify_pq(const uint8_t sig[static CRYPTO_SIG_LEN], uint32_t prekey_id,
                         uint64_t expires_ms, const uint8_t prekey[static 32], uint32_t pq_alg,
                         const uint8_t *pq_key, size_t pq_key_len,
                         const uint8_t device_key[static OBJ_KEY_LEN]) {
  uint8_t msg[OBJ_PREKEY_PQ_MSG_LEN];
  if (pq_alg == OBJ_PQ_KEM_NONE)
    return obj_prekey_verify(sig, prekey_id, expires_ms, prekey, device_key);
  int rc = obj_prekey_pq_msg(msg, prekey_id, expires_ms, prekey, pq_alg, pq_key, pq_key_len);
  return rc < 0 ? MOMEDO_E_BADSIG : crypto_verify(sig, msg, sizeof msg, device_key);
}
