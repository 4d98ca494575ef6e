/* Unit tests for objects: sign and validate every kind, tampering with every field,
 * canonical-form and unknown-field refusal, every bound, time rules, IDs, one golden
 * Ozone item whose bytes, signature and ID were computed independently, obj_check
 * (one decode: ID, the caller's dedup question first, verdict, fields) and obj_read,
 * destinations (dest_nodes, a bundle's home nodes) and node records. */
#include "harness.h"

#include "arena.h"
#include "crypto.h"
#include "obj.h"

#define NOW 1700000000000ull
#define DAY_MS (24ull * 3600 * 1000)

static const Momedo__ObjectKind kinds[] = {
    MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM,
    MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, MOMEDO__OBJECT_KIND__OBJ_CHUNK,
    MOMEDO__OBJECT_KIND__OBJ_ALIAS, MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* One valid object of every kind, with all storage inside (fields are borrowed). */
struct fx {
  struct crypto_sign_keypair ident, dev[2], node;
  uint8_t dh[2][32], spk[2][32], psig[2][64], home[2][32], mailbox[32], tmailbox[32];
  uint8_t blob[32], item_id[32], ct[40], removed[32];
  uint8_t dest[2][32], nbr[2][32], bloom[64];
  char alias[16], name[80];
  ProtobufCBinaryData dests[2], nbrs[2];
  Momedo__DeviceKeys d[2];
  Momedo__DeviceKeys *dp[2];
  ProtobufCBinaryData homes[2], removed_keys[1];
  uint8_t homes_buf[2][32];       /* home_nodes: own bytes, so tampering stays local */
  struct grant grant;             /* the node's partner grant for home[0] */
  Momedo__PartnerGrant gm, *gp;
  Momedo__KeyBundle b;
  Momedo__OzoneItem it;
  Momedo__Tombstone t;
  Momedo__Chunk c;
  Momedo__Alias al;
  Momedo__NodeRecord rec;
};

static ProtobufCBinaryData bin(uint8_t *p, size_t n) {
  ProtobufCBinaryData b = {n, p};
  return b;
}

static int keypair(struct crypto_sign_keypair *kp, uint8_t fill) {
  uint8_t seed[32];
  memset(seed, fill, sizeof seed);
  return crypto_sign_from_seed(kp, seed);
}

static int fx_devices(struct fx *f) {
  int rc = 0;
  for (int i = 0; i < 2 && rc == 0; i++) {
    Momedo__DeviceKeys *d = &f->d[i];
    momedo__device_keys__init(d);
    memset(f->dh[i], 0x30 + i, 32);
    memset(f->spk[i], 0x40 + i, 32);
    memset(f->home[i], 0x50 + i, 32);
    d->device_key = bin(f->dev[i].pub, 32);
    d->dh_key = bin(f->dh[i], 32);
    d->signed_prekey = bin(f->spk[i], 32);
    d->prekey_id = 7 + (uint32_t)i;
    d->prekey_expires_ms = NOW + 30 * DAY_MS;
    rc = obj_prekey_sign(f->psig[i], d->prekey_id, d->prekey_expires_ms, f->spk[i], &f->dev[i]);
    d->prekey_signature = bin(f->psig[i], 64);
    d->home_node = bin(f->home[i], 32);
    f->dp[i] = d;
    memcpy(f->homes_buf[i], f->home[i], 32);
    f->homes[i] = bin(f->homes_buf[i], 32);
  }
  return rc;
}

/* Destinations on items, tombstones, chunks and aliases (first bytes 0x10 and 0x20, so a
 * flipped low bit keeps them sorted), and a node record of the node key. */
static int fx_scoped(struct fx *f) {
  for (int i = 0; i < 2; i++) {
    memset(f->dest[i], 0x10 * (i + 1), 32);
    memset(f->nbr[i], 0x40 + 0x20 * i, 32);
    f->dests[i] = bin(f->dest[i], 32);
    f->nbrs[i] = bin(f->nbr[i], 32);
  }
  f->it.n_dest_nodes = f->t.n_dest_nodes = f->c.n_dest_nodes = f->al.n_dest_nodes = 2;
  f->it.dest_nodes = f->t.dest_nodes = f->c.dest_nodes = f->al.dest_nodes = f->dests;
  for (size_t i = 0; i < sizeof f->bloom; i++) f->bloom[i] = (uint8_t)(i * 7);
  strcpy(f->name, "stadt-bonn.de");
  momedo__node_record__init(&f->rec);
  f->rec.format = OBJ_FORMAT;
  f->rec.node_key = bin(f->node.pub, 32);
  f->rec.seq = 5;
  f->rec.created_ms = NOW - 1000;
  f->rec.expires_ms = NOW + DAY_MS;
  f->rec.name = f->name;
  f->rec.n_neighbors = 2;
  f->rec.neighbors = f->nbrs;
  f->rec.users_bloom = bin(f->bloom, sizeof f->bloom);
  f->rec.bloom_hashes = 7;
  return 0;
}

static int fx_init(struct fx *f) {
  memset(f, 0, sizeof *f);
  int rc = keypair(&f->ident, 0x11);
  if (rc == 0) rc = keypair(&f->dev[0], 0x22);
  if (rc == 0) rc = keypair(&f->dev[1], 0x23);
  if (rc == 0) rc = keypair(&f->node, 0x33);
  if (rc == 0) rc = fx_devices(f);
  if (rc == 0) rc = obj_device_mailbox(f->tmailbox, f->dev[0].pub);
  if (rc < 0) return rc;
  memset(f->mailbox, 0x66, 32);
  memset(f->blob, 0x77, 32);
  memset(f->item_id, 0x88, 32);
  for (size_t i = 0; i < sizeof f->ct; i++) f->ct[i] = (uint8_t)i;
  strcpy(f->alias, "49K492");

  momedo__key_bundle__init(&f->b);
  f->b.format = OBJ_FORMAT;
  f->b.identity_key = bin(f->ident.pub, 32);
  f->b.version = 2;
  f->b.created_ms = NOW - 5000;
  f->b.n_devices = 2;
  f->b.devices = f->dp;
  f->b.n_home_nodes = 2;
  f->b.home_nodes = f->homes;
  memset(f->removed, 0x99, 32); /* a device the user removed for good */
  f->removed_keys[0] = bin(f->removed, 32);
  f->b.n_removed_devices = 1;
  f->b.removed_devices = f->removed_keys;
  memcpy(f->grant.partner, f->home[0], 32);
  f->grant.expires_ms = NOW + DAY_MS;
  if ((rc = grant_sign(&f->grant, f->ident.pub, &f->node)) < 0) return rc;
  grant_to_msg(&f->gm, &f->grant);
  f->gp = &f->gm;
  f->b.n_partner_grants = 1;
  f->b.partner_grants = &f->gp;

  momedo__ozone_item__init(&f->it);
  f->it.format = OBJ_FORMAT;
  f->it.mailbox = bin(f->mailbox, 32);
  f->it.created_ms = NOW - 1000;
  f->it.expires_ms = NOW + 7 * DAY_MS;
  f->it.ciphertext = bin(f->ct, sizeof f->ct);
  f->it.node_key = bin(f->node.pub, 32);

  momedo__tombstone__init(&f->t);
  f->t.format = OBJ_FORMAT;
  f->t.item_id = bin(f->item_id, 32);
  f->t.mailbox = bin(f->tmailbox, 32);
  f->t.created_ms = NOW - 1000;
  f->t.expires_ms = NOW + 7 * DAY_MS;
  f->t.device_key = bin(f->dev[0].pub, 32);

  momedo__chunk__init(&f->c);
  f->c.format = OBJ_FORMAT;
  f->c.mailbox = bin(f->mailbox, 32);
  f->c.blob_id = bin(f->blob, 32);
  f->c.index = 2;
  f->c.count = 5;
  f->c.created_ms = NOW - 1000;
  f->c.expires_ms = NOW + 7 * DAY_MS;
  f->c.ciphertext = bin(f->ct, sizeof f->ct);
  f->c.node_key = bin(f->node.pub, 32);

  momedo__alias__init(&f->al);
  f->al.format = OBJ_FORMAT;
  f->al.alias = f->alias;
  f->al.identity_key = bin(f->ident.pub, 32);
  f->al.created_ms = NOW - 1000;
  f->al.expires_ms = NOW + 60 * DAY_MS;
  f->al.node_key = bin(f->node.pub, 32);
  return fx_scoped(f);
}

static ProtobufCMessage *fx_msg(struct fx *f, Momedo__ObjectKind k) {
  switch (k) {
  case MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE: return &f->b.base;
  case MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM: return &f->it.base;
  case MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE: return &f->t.base;
  case MOMEDO__OBJECT_KIND__OBJ_CHUNK: return &f->c.base;
  case MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD: return &f->rec.base;
  default: return &f->al.base;
  }
}

static const struct crypto_sign_keypair *fx_signer(struct fx *f, Momedo__ObjectKind k) {
  if (k == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE) return &f->ident;
  if (k == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE) return &f->dev[0];
  return &f->node;
}

/* Sign kind k of f with its proper signer and validate at NOW. */
static int sign_validate(struct fx *f, Momedo__ObjectKind k, struct obj_info *info) {
  uint8_t *out = NULL;
  size_t len = 0;
  struct obj_info tmp;
  int rc = obj_sign_encode(k, fx_msg(f, k), fx_signer(f, k), &out, &len);
  if (rc == 0) rc = obj_validate(k, out, len, NOW, info ? info : &tmp);
  free(out);
  return rc;
}

/* Pack m as it stands (no re-signing) and validate. */
static int pack_validate(Momedo__ObjectKind k, const ProtobufCMessage *m, uint64_t now) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n + 1);
  struct obj_info info;
  if (buf == NULL) return MOMEDO_E_NOMEM;
  protobuf_c_message_pack(m, buf);
  int rc = obj_validate(k, buf, n, now, &info);
  free(buf);
  return rc;
}

static void test_sign_validate_each_kind(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  for (size_t i = 0; i < N_KINDS; i++) {
    Momedo__ObjectKind k = kinds[i];
    uint8_t *out = NULL;
    size_t len = 0;
    struct obj_info info;
    uint8_t id[OBJ_ID_LEN];
    CHECK_EQ(obj_sign_encode(k, fx_msg(&f, k), fx_signer(&f, k), &out, &len), 0);
    int rc = obj_validate(k, out, len, NOW, &info);
    int rc_id = obj_id(k, out, len, id);
    /* The message's signature field points at the encoding's last 64 bytes. */
    const ProtobufCBinaryData *sig =
        k == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE ? &f.b.signature
        : k == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM ? &f.it.signature
        : k == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE ? &f.t.signature
        : k == MOMEDO__OBJECT_KIND__OBJ_CHUNK ? &f.c.signature
        : k == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD ? &f.rec.signature : &f.al.signature;
    int sig_ok = sig->len == 64 && sig->data == out + len - 64;
    /* Another kind's validator refuses these bytes. */
    struct obj_info other;
    Momedo__ObjectKind k2 = kinds[(i + 1) % N_KINDS];
    int rc2 = obj_validate(k2, out, len, NOW, &other);
    free(out);
    CHECK_EQ(rc, 0);
    CHECK_EQ(rc_id, 0);
    CHECK(sig_ok);
    CHECK(rc2 < 0);
    CHECK_MEM(info.id, id, OBJ_ID_LEN);
    CHECK_EQ(info.kind, k);
    CHECK_MEM(info.signer, fx_signer(&f, k)->pub, 32);
  }
  struct obj_info info;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &info), 0);
  CHECK_MEM(info.key, f.ident.pub, 32);
  CHECK_EQ(info.version, 2);
  CHECK_EQ(info.created_ms, NOW - 5000);
  CHECK_EQ(info.expires_ms, 0);
  CHECK_EQ(info.revoked, 0);
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &info), 0);
  CHECK_MEM(info.mailbox, f.mailbox, 32);
  CHECK_MEM(info.key, f.node.pub, 32);
  CHECK_EQ(info.expires_ms, NOW + 7 * DAY_MS);
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, &info), 0);
  CHECK_MEM(info.target_id, f.item_id, 32);
  CHECK_MEM(info.mailbox, f.tmailbox, 32);
  CHECK_MEM(info.key, f.dev[0].pub, 32);
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_CHUNK, &info), 0);
  CHECK_MEM(info.blob_id, f.blob, 32);
  CHECK_EQ(info.index, 2);
  CHECK_EQ(info.count, 5);
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_ALIAS, &info), 0);
  CHECK_STR(info.alias, "49K492");
  CHECK_MEM(info.key, f.ident.pub, 32);
  CHECK_MEM(info.signer, f.node.pub, 32);
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD, &info), 0);
  CHECK_MEM(info.key, f.node.pub, 32);
  CHECK_MEM(info.signer, f.node.pub, 32);
  CHECK_EQ(info.version, 5);
  CHECK_EQ(info.created_ms, NOW - 1000);
  CHECK_EQ(info.expires_ms, NOW + DAY_MS);
}

/* Flip one field of m in place (self-inverse). 0 if flipped, -1 if not applicable. */
static int flip(ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd) {
  char *p = (char *)m + fd->offset;
  if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t n = *(size_t *)((char *)m + fd->quantifier_offset);
    if (n == 0 || fd->type != PROTOBUF_C_TYPE_BYTES) return -1;
    (*(ProtobufCBinaryData **)p)[n - 1].data[0] ^= 1;
    return 0;
  }
  switch (fd->type) {
  case PROTOBUF_C_TYPE_UINT32: *(uint32_t *)p ^= 1; return 0;
  case PROTOBUF_C_TYPE_UINT64: *(uint64_t *)p ^= 1; return 0;
  case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)p ^= 1; return 0;
  case PROTOBUF_C_TYPE_STRING: (*(char **)p)[0] ^= 1; return 0; /* '4' <-> '5' */
  case PROTOBUF_C_TYPE_BYTES: {
    ProtobufCBinaryData *b = (ProtobufCBinaryData *)p;
    if (b->len == 0) return -1;
    b->data[0] ^= 1;
    return 0;
  }
  default: return -1;
  }
}

static int tamper_expect(Momedo__ObjectKind k, const char *name) {
  if (strcmp(name, "format") == 0) return MOMEDO_E_VERSION;
  if (strcmp(name, "pq_kem_alg") == 0) return MOMEDO_E_BOUNDS; /* 1 needs its 1184-byte key */
  if (k == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE &&
      (strcmp(name, "mailbox") == 0 || strcmp(name, "device_key") == 0))
    return MOMEDO_E_BOUNDS; /* the device no longer owns the mailbox */
  if (k == MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE && strcmp(name, "partner_node") == 0)
    return MOMEDO_E_BOUNDS; /* a grant must be for one of the bundle's home nodes */
  return MOMEDO_E_BADSIG;
}

/* Flip every field of m (recursing into sub-messages), re-pack with the old signature
 * and validate; returns the number of fields whose refusal was not the expected code. */
static int tamper_fields(Momedo__ObjectKind k, ProtobufCMessage *top, ProtobufCMessage *m,
                         int *flipped) {
  int bad = 0;
  for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &m->descriptor->fields[i];
    if (strcmp(fd->name, "signature") == 0) continue;
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
      size_t n = *(size_t *)((char *)m + fd->quantifier_offset);
      ProtobufCMessage **subs = *(ProtobufCMessage ***)((char *)m + fd->offset);
      for (size_t j = 0; j < n; j++) bad += tamper_fields(k, top, subs[j], flipped);
      continue;
    }
    if (flip(m, fd) < 0) continue;
    int rc = pack_validate(k, top, NOW);
    (void)flip(m, fd);
    (*flipped)++;
    if (rc != tamper_expect(k, fd->name)) {
      fprintf(stderr, "  kind %d field %s: got %s\n", (int)k, fd->name,
              momedo_status_name(rc));
      bad++;
    }
  }
  return bad;
}

static void test_tamper_each_field(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  int bad = 0, flipped = 0;
  for (size_t i = 0; i < N_KINDS; i++) {
    Momedo__ObjectKind k = kinds[i];
    uint8_t *out = NULL;
    size_t len = 0;
    CHECK_EQ(obj_sign_encode(k, fx_msg(&f, k), fx_signer(&f, k), &out, &len), 0);
    int rc0 = pack_validate(k, fx_msg(&f, k), NOW); /* untouched: still valid */
    bad += tamper_fields(k, fx_msg(&f, k), fx_msg(&f, k), &flipped);
    /* The signature itself, first and last byte. */
    out[len - 64] ^= 1;
    struct obj_info info;
    int rc1 = obj_validate(k, out, len, NOW, &info);
    out[len - 64] ^= 1;
    out[len - 1] ^= 0x80;
    int rc2 = obj_validate(k, out, len, NOW, &info);
    free(out);
    CHECK_EQ(rc0, 0);
    CHECK_EQ(rc1, MOMEDO_E_BADSIG);
    CHECK_EQ(rc2, MOMEDO_E_BADSIG);
  }
  CHECK_EQ(bad, 0);
  /* bundle 7 + 2 devices x 8 + a partner grant 3, item 7, tombstone 7, chunk 10, alias 7,
   * record 9 */
  CHECK_EQ(flipped, 7 + 2 * 8 + 3 + 7 + 7 + 10 + 7 + 9);
}

/* A bundle whose own signature is good but one device's prekey signature is not. */
static void test_bad_prekey_signature(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  f.psig[1][10] ^= 4;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, NULL), MOMEDO_E_BADSIG);
  f.psig[1][10] ^= 4;
  /* Prekey signature from the wrong device. */
  uint8_t s[64];
  CHECK_EQ(obj_prekey_sign(s, f.d[1].prekey_id, f.d[1].prekey_expires_ms, f.spk[1], &f.dev[0]),
           0);
  CHECK_EQ(obj_prekey_verify(s, f.d[1].prekey_id, f.d[1].prekey_expires_ms, f.spk[1],
                             f.dev[0].pub), 0);
  CHECK_EQ(obj_prekey_verify(s, f.d[1].prekey_id, f.d[1].prekey_expires_ms + 1, f.spk[1],
                             f.dev[0].pub), MOMEDO_E_BADSIG);
  memcpy(f.psig[1], s, 64);
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, NULL), MOMEDO_E_BADSIG);
}

static void test_wrong_format(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  f.b.format = 2;
  f.it.format = 0;
  f.t.format = 2;
  f.c.format = 99;
  f.al.format = 2;
  f.rec.format = 0;
  for (size_t i = 0; i < N_KINDS; i++)
    CHECK_EQ(sign_validate(&f, kinds[i], NULL), MOMEDO_E_VERSION);
}

static void test_time_rules(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind item = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM;
  /* Expiry: expires == now is expired, one ms later is not. */
  f.it.created_ms = NOW - 10000;
  f.it.expires_ms = NOW;
  CHECK_EQ(sign_validate(&f, item, NULL), MOMEDO_E_EXPIRED);
  f.it.expires_ms = NOW + 1;
  CHECK_EQ(sign_validate(&f, item, NULL), 0);
  f.t.expires_ms = NOW - 1;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, NULL), MOMEDO_E_EXPIRED);
  f.c.expires_ms = f.c.created_ms + 1;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_CHUNK, NULL), MOMEDO_E_EXPIRED);
  f.al.expires_ms = NOW - DAY_MS;
  f.al.created_ms = NOW - 2 * DAY_MS;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_ALIAS, NULL), MOMEDO_E_EXPIRED);
  /* Future: exactly the allowed skew passes, one more ms fails. */
  f.it.created_ms = NOW + OBJ_CLOCK_SKEW_MS_MAX;
  f.it.expires_ms = f.it.created_ms + DAY_MS;
  CHECK_EQ(sign_validate(&f, item, NULL), 0);
  f.it.created_ms++;
  CHECK_EQ(sign_validate(&f, item, NULL), MOMEDO_E_FUTURE);
  f.b.created_ms = NOW + OBJ_CLOCK_SKEW_MS_MAX + 1;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, NULL), MOMEDO_E_FUTURE);
  f.b.created_ms = UINT64_MAX;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, NULL), MOMEDO_E_FUTURE);
  /* A key bundle never expires. */
  f.b.created_ms = 1;
  CHECK_EQ(sign_validate(&f, MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, NULL), 0);
  /* Lifetime bounds: expires must follow created by at most OBJ_TTL_MS_MAX. */
  f.it.created_ms = NOW;
  f.it.expires_ms = NOW;
  CHECK_EQ(sign_validate(&f, item, NULL), MOMEDO_E_BOUNDS);
  f.it.expires_ms = NOW + OBJ_TTL_MS_MAX;
  CHECK_EQ(sign_validate(&f, item, NULL), 0);
  f.it.expires_ms++;
  CHECK_EQ(sign_validate(&f, item, NULL), MOMEDO_E_BOUNDS);
  f.it.created_ms = 0;
  f.it.expires_ms = UINT64_MAX;
  CHECK_EQ(sign_validate(&f, item, NULL), MOMEDO_E_BOUNDS);
}

/* Insert ins[0..n) at offset at of a copy of the signed item and validate. */
static int splice_validate(Momedo__ObjectKind k, const uint8_t *enc, size_t len, size_t at,
                           size_t cut, const uint8_t *ins, size_t n) {
  uint8_t *buf = malloc(len + n);
  struct obj_info info;
  if (buf == NULL) return MOMEDO_E_NOMEM;
  memcpy(buf, enc, at);
  memcpy(buf + at, ins, n);
  memcpy(buf + at + n, enc + at + cut, len - at - cut);
  int rc = obj_validate(k, buf, len + n - cut, NOW, &info);
  free(buf);
  return rc;
}

static void test_noncanonical(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind item = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM;
  uint8_t *enc = NULL;
  size_t len = 0;
  CHECK_EQ(obj_sign_encode(item, &f.it.base, &f.node, &enc, &len), 0);
  CHECK(enc[0] == 0x08 && enc[1] == 0x01); /* format = 1 comes first */
  static const uint8_t fmt[] = {0x08, 0x01}, fmt_long[] = {0x08, 0x81, 0x00},
                       zero[] = {0x40, 0x00}; /* field 8: unknown to an item */
  int dup = splice_validate(item, enc, len, 0, 0, fmt, 2);         /* field twice */
  int nonmin = splice_validate(item, enc, len, 0, 2, fmt_long, 3); /* 2-byte varint 1 */
  int dflt = splice_validate(item, enc, len, len - 66, 0, zero, 2); /* unknown 8 = 0 */
  /* Out of order: the signature (last 66 bytes) moved to the front. */
  uint8_t *swap = malloc(len);
  CHECK(swap != NULL);
  memcpy(swap, enc + len - 66, 66);
  memcpy(swap + 66, enc, len - 66);
  struct obj_info info;
  int order = obj_validate(item, swap, len, NOW, &info);
  /* The same bytes but format swapped behind mailbox. */
  memcpy(swap, enc + 2, 34);
  memcpy(swap + 34, enc, 2);
  memcpy(swap + 36, enc + 36, len - 36);
  int order2 = obj_validate(item, swap, len, NOW, &info);
  int ok = obj_validate(item, enc, len, NOW, &info);
  free(swap);
  free(enc);
  CHECK_EQ(ok, 0);
  CHECK_EQ(dup, MOMEDO_E_NONCANON);
  CHECK_EQ(nonmin, MOMEDO_E_NONCANON);
  CHECK_EQ(dflt, MOMEDO_E_NONCANON);
  CHECK_EQ(order, MOMEDO_E_NONCANON);
  CHECK_EQ(order2, MOMEDO_E_NONCANON);

  /* revoked = false written out explicitly in a bundle. */
  Momedo__ObjectKind kb = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  CHECK_EQ(obj_sign_encode(kb, &f.b.base, &f.ident, &enc, &len), 0);
  static const uint8_t rev0[] = {0x38, 0x00}, rev2[] = {0x38, 0x02};
  int r0 = splice_validate(kb, enc, len, len - 66, 0, rev0, 2);
  int r2 = splice_validate(kb, enc, len, len - 66, 0, rev2, 2);
  free(enc);
  CHECK_EQ(r0, MOMEDO_E_NONCANON);
  CHECK_EQ(r2, MOMEDO_E_NONCANON);
}

/* Sign a bundle the way obj_sign_encode does, but without its checks, and validate. */
static int sign_by_hand(ProtobufCMessage *m, ProtobufCBinaryData *sig,
                        const struct crypto_sign_keypair *kp, Momedo__ObjectKind k) {
  static const char dom[] = OBJ_DOMAIN_KEY_BUNDLE;
  uint8_t s[64];
  *sig = bin(NULL, 0);
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(sizeof dom - 1 + n);
  if (buf == NULL) return MOMEDO_E_NOMEM;
  memcpy(buf, dom, sizeof dom - 1);
  protobuf_c_message_pack(m, buf + sizeof dom - 1);
  int rc = crypto_sign(s, buf, sizeof dom - 1 + n, kp);
  free(buf);
  *sig = bin(s, 64);
  if (rc == 0) rc = pack_validate(k, m, NOW);
  *sig = bin(NULL, 0);
  return rc;
}

/* Key bundles have no field for a name, phone number or e-mail, and unknown fields are
 * refused, so none can be smuggled in. */
static void test_no_personal_data_in_bundles(void) {
  /* Structurally: no string field at all in a bundle or a device entry. */
  const ProtobufCMessageDescriptor *ds[] = {&momedo__key_bundle__descriptor,
                                            &momedo__device_keys__descriptor};
  for (size_t i = 0; i < 2; i++)
    for (unsigned j = 0; j < ds[i]->n_fields; j++)
      CHECK(ds[i]->fields[j].type != PROTOBUF_C_TYPE_STRING);

  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind kb = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  uint8_t *enc = NULL;
  size_t len = 0;
  CHECK_EQ(obj_sign_encode(kb, &f.b.base, &f.ident, &enc, &len), 0);
  /* Field 20, length-delimited: tag (20 << 3 | 2) = 0xa2 0x01. Appended after the
   * signature it would even re-encode identically; it is refused anyway. */
  static const char mail[] = "alice@example.org";
  uint8_t extra[2 + 1 + sizeof mail - 1] = {0xa2, 0x01, sizeof mail - 1};
  memcpy(extra + 3, mail, sizeof mail - 1);
  int at_end = splice_validate(kb, enc, len, len, 0, extra, sizeof extra);
  int in_mid = splice_validate(kb, enc, len, 2, 0, extra, sizeof extra);
  free(enc);
  CHECK_EQ(at_end, MOMEDO_E_NONCANON);
  CHECK_EQ(in_mid, MOMEDO_E_NONCANON);

  /* Properly signed with the unknown field inside (top level, then inside a device):
   * still refused. obj_sign_encode will not produce these, so sign by hand. */
  ProtobufCMessageUnknownField uf = {20, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
                                     sizeof extra - 2, extra + 2}; /* data keeps the length */
  f.b.base.n_unknown_fields = 1;
  f.b.base.unknown_fields = &uf;
  CHECK_EQ(obj_sign_encode(kb, &f.b.base, &f.ident, &enc, &len), MOMEDO_E_INVAL);
  CHECK_EQ(sign_by_hand(&f.b.base, &f.b.signature, &f.ident, kb), MOMEDO_E_NONCANON);
  f.b.base.n_unknown_fields = 0;
  f.b.base.unknown_fields = NULL;
  f.d[1].base.n_unknown_fields = 1;
  f.d[1].base.unknown_fields = &uf;
  CHECK_EQ(obj_sign_encode(kb, &f.b.base, &f.ident, &enc, &len), MOMEDO_E_INVAL);
  CHECK_EQ(sign_by_hand(&f.b.base, &f.b.signature, &f.ident, kb), MOMEDO_E_NONCANON);
  f.d[1].base.n_unknown_fields = 0;
  f.d[1].base.unknown_fields = NULL;
  CHECK_EQ(sign_by_hand(&f.b.base, &f.b.signature, &f.ident, kb), 0);
  CHECK_EQ(sign_validate(&f, kb, NULL), 0);
}

/* Set every fixed-length key field to 31 and 33 bytes in turn; each is E_BOUNDS. */
static int wrong_lengths(struct fx *f, Momedo__ObjectKind k, ProtobufCMessage *m, int *n) {
  static uint8_t long_key[64];
  int bad = 0;
  for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &m->descriptor->fields[i];
    char *p = (char *)m + fd->offset;
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
      ProtobufCMessage **subs = *(ProtobufCMessage ***)p;
      if (subs) bad += wrong_lengths(f, k, subs[0], n);
      continue;
    }
    if (fd->type != PROTOBUF_C_TYPE_BYTES || strcmp(fd->name, "signature") == 0 ||
        strcmp(fd->name, "ciphertext") == 0 || strcmp(fd->name, "pq_kem_key") == 0)
      continue;
    ProtobufCBinaryData *b = (ProtobufCBinaryData *)p;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) b = *(ProtobufCBinaryData **)p;
    ProtobufCBinaryData saved = *b;
    for (size_t len = 31; len <= 33; len += 2) {
      b->len = len;
      b->data = len < 32 ? saved.data : long_key;
      int rc = sign_validate(f, k, NULL);
      (*n)++;
      if (rc != MOMEDO_E_BOUNDS) {
        fprintf(stderr, "  kind %d field %s len %zu: got %s\n", (int)k, fd->name, len,
                momedo_status_name(rc));
        bad++;
      }
    }
    *b = saved;
  }
  return bad;
}

static void test_wrong_key_lengths(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  int bad = 0, n = 0;
  for (size_t i = 0; i < N_KINDS; i++) bad += wrong_lengths(&f, kinds[i], fx_msg(&f, kinds[i]), &n);
  CHECK_EQ(bad, 0);
  /* bundle 3 + device 5 + partner grant 2, item 3, tombstone 4, chunk 4, alias 3 (each
   * with dest_nodes), record 3 (node key, a neighbor, the filter); two lengths each */
  CHECK_EQ(n, 2 * (10 + 3 + 4 + 4 + 3 + 3));
  /* A short signature. */
  uint8_t *enc = NULL;
  size_t len = 0;
  CHECK_EQ(obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &f.it.base, &f.node, &enc, &len), 0);
  f.it.signature.len = 63;
  int rc = pack_validate(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &f.it.base, NOW);
  free(enc);
  CHECK_EQ(rc, MOMEDO_E_BOUNDS);
}

static void test_bundle_bounds(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind kb = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  f.b.version = 0;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  f.b.version = 1;
  CHECK_EQ(sign_validate(&f, kb, NULL), 0);
  /* Devices: none, duplicate, too many. */
  f.b.n_devices = 0;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  f.b.n_devices = 2;
  f.dp[1] = &f.d[0];
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  Momedo__DeviceKeys *many[OBJ_DEVICES_MAX + 1];
  struct crypto_sign_keypair kps[OBJ_DEVICES_MAX + 1];
  Momedo__DeviceKeys devs[OBJ_DEVICES_MAX + 1];
  uint8_t psigs[OBJ_DEVICES_MAX + 1][64];
  for (int i = 0; i <= OBJ_DEVICES_MAX; i++) {
    CHECK_EQ(keypair(&kps[i], (uint8_t)(0x90 + i)), 0);
    devs[i] = f.d[0];
    devs[i].device_key = bin(kps[i].pub, 32);
    CHECK_EQ(obj_prekey_sign(psigs[i], devs[i].prekey_id, devs[i].prekey_expires_ms, f.spk[0],
                             &kps[i]), 0);
    devs[i].prekey_signature = bin(psigs[i], 64);
    many[i] = &devs[i];
  }
  f.b.devices = many;
  f.b.n_devices = OBJ_DEVICES_MAX;
  CHECK_EQ(sign_validate(&f, kb, NULL), 0);
  f.b.n_devices = OBJ_DEVICES_MAX + 1;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  f.b.n_devices = 1;
  /* Home nodes: none, too many. */
  ProtobufCBinaryData homes[OBJ_HOME_NODES_MAX + 1];
  for (int i = 0; i <= OBJ_HOME_NODES_MAX; i++) homes[i] = f.homes[0];
  f.b.home_nodes = homes;
  f.b.n_home_nodes = OBJ_HOME_NODES_MAX;
  CHECK_EQ(sign_validate(&f, kb, NULL), 0);
  f.b.n_home_nodes = OBJ_HOME_NODES_MAX + 1;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  f.b.n_home_nodes = 0;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  /* A revocation may list no devices and no home nodes (nor grants: a grant is for one
   * of the home nodes). */
  f.b.n_devices = 0;
  f.b.revoked = 1;
  struct obj_info info;
  CHECK_EQ(sign_validate(&f, kb, &info), MOMEDO_E_BOUNDS);
  f.b.n_partner_grants = 0;
  CHECK_EQ(sign_validate(&f, kb, &info), 0);
  CHECK_EQ(info.revoked, 1);
  f.b.n_partner_grants = 1;
  f.b.revoked = 0;
  f.b.n_devices = 1;
  f.b.n_home_nodes = 1;
  /* Removed devices: at most OBJ_REMOVED_DEVICES_MAX, strictly ascending, never listed. */
  static uint8_t rk[OBJ_REMOVED_DEVICES_MAX + 1][32];
  ProtobufCBinaryData rv[OBJ_REMOVED_DEVICES_MAX + 1];
  for (int i = 0; i <= OBJ_REMOVED_DEVICES_MAX; i++) {
    memset(rk[i], 0xa0, 32);
    rk[i][31] = (uint8_t)i;
    rv[i] = bin(rk[i], 32);
  }
  f.b.removed_devices = rv;
  f.b.n_removed_devices = OBJ_REMOVED_DEVICES_MAX;
  CHECK_EQ(sign_validate(&f, kb, NULL), 0);
  f.b.n_removed_devices = OBJ_REMOVED_DEVICES_MAX + 1;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  f.b.n_removed_devices = 2;
  rv[1] = rv[0]; /* a duplicate */
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  rv[1] = bin(rk[1], 32);
  rv[0] = bin(rk[2], 32); /* descending */
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  rv[0] = bin((uint8_t *)devs[0].device_key.data, 32); /* a listed device */
  f.b.n_removed_devices = 1;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  f.b.n_removed_devices = 0;
  /* The post-quantum slot: 1 = ML-KEM-768 needs its key (test_client_pq has the rest),
   * a later algorithm is a newer version. */
  devs[0].pq_kem_alg = 1;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  devs[0].pq_kem_alg = 2;
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_VERSION);
  devs[0].pq_kem_alg = 0;
  uint8_t pq[8] = {0};
  devs[0].pq_kem_key = bin(pq, sizeof pq);
  CHECK_EQ(sign_validate(&f, kb, NULL), MOMEDO_E_BOUNDS);
  devs[0].pq_kem_key = bin(NULL, 0);
  CHECK_EQ(sign_validate(&f, kb, NULL), 0);
}

static void test_item_chunk_alias_bounds(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind item = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM,
                     chunk = MOMEDO__OBJECT_KIND__OBJ_CHUNK,
                     alias = MOMEDO__OBJECT_KIND__OBJ_ALIAS;
  /* Ciphertext 1..OBJ_CIPHERTEXT_BYTES_MAX. */
  uint8_t *big = calloc(1, OBJ_CIPHERTEXT_BYTES_MAX + 1);
  CHECK(big != NULL);
  f.it.ciphertext = bin(big, OBJ_CIPHERTEXT_BYTES_MAX);
  int at_max = sign_validate(&f, item, NULL);
  f.it.ciphertext = bin(big, OBJ_CIPHERTEXT_BYTES_MAX + 1);
  int over = sign_validate(&f, item, NULL);
  f.c.ciphertext = bin(big, OBJ_CIPHERTEXT_BYTES_MAX + 1);
  int c_over = sign_validate(&f, chunk, NULL);
  free(big);
  CHECK_EQ(at_max, 0);
  CHECK_EQ(over, MOMEDO_E_BOUNDS);
  CHECK_EQ(c_over, MOMEDO_E_BOUNDS);
  f.it.ciphertext = bin(NULL, 0);
  CHECK_EQ(sign_validate(&f, item, NULL), MOMEDO_E_BOUNDS);
  f.c.ciphertext = bin(f.ct, 1);
  CHECK_EQ(sign_validate(&f, chunk, NULL), 0);
  /* Chunks: index < count <= OBJ_CHUNKS_MAX. */
  f.c.index = 5;
  CHECK_EQ(sign_validate(&f, chunk, NULL), MOMEDO_E_BOUNDS);
  f.c.index = 0;
  f.c.count = 0;
  CHECK_EQ(sign_validate(&f, chunk, NULL), MOMEDO_E_BOUNDS);
  f.c.count = OBJ_CHUNKS_MAX;
  f.c.index = OBJ_CHUNKS_MAX - 1;
  CHECK_EQ(sign_validate(&f, chunk, NULL), 0);
  f.c.count = OBJ_CHUNKS_MAX + 1;
  CHECK_EQ(sign_validate(&f, chunk, NULL), MOMEDO_E_BOUNDS);
  /* Aliases: canonical Crockford base32, 6..12 characters. */
  static const char *good[] = {"000000", "ZZZZZZZZZZZZ", "49K492", "ABCDEFGHJKMN"};
  static const char *bad[] = {"", "49K49", "ZZZZZZZZZZZZZ", "49K49I", "49K49L", "49K49O",
                              "49K49U", "49k492", "49K-92", "49K 92"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    strcpy(f.alias, good[i]);
    CHECK_EQ(sign_validate(&f, alias, NULL), 0);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    strcpy(f.alias, bad[i]);
    CHECK_EQ(sign_validate(&f, alias, NULL), MOMEDO_E_BOUNDS);
  }
}

static void test_tombstone_mailbox_must_match(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind tk = MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE;
  /* Device 0 signs a tombstone for device 1's mailbox: refused. */
  uint8_t other[32];
  CHECK_EQ(obj_device_mailbox(other, f.dev[1].pub), 0);
  f.t.mailbox = bin(other, 32);
  CHECK_EQ(sign_validate(&f, tk, NULL), MOMEDO_E_BOUNDS);
  /* Device 1's key and mailbox, but signed by device 0: bad signature. */
  f.t.device_key = bin(f.dev[1].pub, 32);
  uint8_t *enc = NULL;
  size_t len = 0;
  CHECK_EQ(obj_sign_encode(tk, &f.t.base, &f.dev[0], &enc, &len), 0);
  struct obj_info info;
  int rc = obj_validate(tk, enc, len, NOW, &info);
  free(enc);
  CHECK_EQ(rc, MOMEDO_E_BADSIG);
  /* Device 1 signing its own: fine. */
  CHECK_EQ(obj_sign_encode(tk, &f.t.base, &f.dev[1], &enc, &len), 0);
  rc = obj_validate(tk, enc, len, NOW, &info);
  free(enc);
  CHECK_EQ(rc, 0);
}

static void test_size_decode_kind(void) {
  struct obj_info info;
  uint8_t id[32];
  static const uint8_t garbage[] = {0x12, 0xff, 0x01};
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, garbage, 3, NOW, &info),
           MOMEDO_E_DECODE);
  CHECK_EQ(obj_id(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, garbage, 3, id), MOMEDO_E_DECODE);
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_NONE, garbage, 3, NOW, &info),
           MOMEDO_E_UNKNOWN_KIND);
  CHECK_EQ(obj_validate((Momedo__ObjectKind)7, garbage, 3, NOW, &info), MOMEDO_E_UNKNOWN_KIND);
  CHECK_EQ(obj_validate(MOMEDO__OBJECT_KIND__OBJ_ALIAS, garbage, 0, NOW, &info),
           MOMEDO_E_VERSION); /* empty = all defaults: format 0 */
  uint8_t *big = calloc(1, OBJ_BYTES_MAX + 1);
  CHECK(big != NULL);
  int too_big = obj_validate(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, big, OBJ_BYTES_MAX + 1, NOW,
                             &info);
  /* A decode bomb: 250 000 empty home_nodes entries (2 bytes each) would take 4 MB of
   * ProtobufCBinaryData; the arena cap stops it. */
  for (size_t i = 0; i + 1 < 500000; i += 2) big[i] = 0x32, big[i + 1] = 0x00;
  int bomb = obj_validate(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, big, 500000, NOW, &info);
  struct arena a;
  arena_init(&a, OBJ_DECODE_BYTES_MAX);
  ProtobufCMessage *m = NULL;
  int unp = obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, big, 500000, &a, &m);
  arena_close(&a);
  free(big);
  CHECK_EQ(too_big, MOMEDO_E_TOOBIG);
  CHECK_EQ(bomb, MOMEDO_E_TOOBIG);
  CHECK_EQ(unp, MOMEDO_E_TOOBIG);
  /* Signing refuses an object over the limit. */
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  uint8_t *ct = calloc(1, OBJ_BYTES_MAX);
  CHECK(ct != NULL);
  f.it.ciphertext = bin(ct, OBJ_BYTES_MAX);
  uint8_t *out = NULL;
  size_t len = 0;
  int rc = obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &f.it.base, &f.node, &out, &len);
  free(ct);
  CHECK_EQ(rc, MOMEDO_E_TOOBIG);
  CHECK(out == NULL);
  CHECK_EQ(f.it.signature.len, 0);
  /* Signing with a mismatched kind is a usage error. */
  rc = obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_CHUNK, &f.it.base, &f.node, &out, &len);
  CHECK_EQ(rc, MOMEDO_E_INVAL);
}

/* Golden Ozone item computed independently (Python: hand-written protobuf, Ed25519 from
 * the 'cryptography' package, hashlib): exact bytes, signature and ID. */
#define GOLDEN_ITEM_HEX \
  "080112206666666666666666666666666666666666666666666666666666666666666666" \
  "1898c895ffbc312080d8c79fbf312a28000102030405060708090a0b0c0d0e0f10111213" \
  "1415161718191a1b1c1d1e1f2021222324252627322017cb79fb2b4120f2b1ec65e4198d" \
  "6e08b28e813feb01e4a400839b85e18080ce7a4097f9db880b7ab80203a91b9adb962c27" \
  "827f628991cf539f47bca70ccb8309dbeb4576ced2f854b334d0becfa1b40b762270d78f" \
  "7234544b6b878d15d1380907"
#define GOLDEN_ITEM_ID_HEX \
  "e06fd2a1cdb9bfc83d2fad689141b1e11c4fe0a8da5ced64038ec4937c96315c"
#define GOLDEN_MAILBOX_HEX \
  "4a3bc0d7e572924912bed735a1920074538583ba0cadabd3c294ecc6b737f4ef"

static void test_golden_item_and_id(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  f.it.n_dest_nodes = 0; /* the golden item is global scope */
  uint8_t *enc = NULL;
  size_t len = 0;
  CHECK_EQ(obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &f.it.base, &f.node, &enc, &len),
           0);
  uint8_t want[512], want_id[32], id[32], id2[32];
  size_t wn = th_unhex(want, sizeof want, GOLDEN_ITEM_HEX);
  th_unhex(want_id, sizeof want_id, GOLDEN_ITEM_ID_HEX);
  int same = len == wn && memcmp(enc, want, wn) == 0;
  int rc = obj_id(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, enc, len, id);
  /* The ID ignores the signature: any 64 bytes in its place give the same ID. */
  memset(enc + len - 64, 0xEE, 64);
  int rc2 = obj_id(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, enc, len, id2);
  struct obj_info info;
  int bad = obj_validate(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, enc, len, NOW, &info);
  free(enc);
  CHECK(same);
  CHECK_EQ(rc, 0);
  CHECK_EQ(rc2, 0);
  CHECK_EQ(bad, MOMEDO_E_BADSIG);
  CHECK_MEM(id, want_id, 32);
  CHECK_MEM(id2, want_id, 32);
  /* Device mailbox of the key 00 01 .. 1f. */
  uint8_t key[32], mb[32], want_mb[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  CHECK_EQ(obj_device_mailbox(mb, key), 0);
  th_unhex(want_mb, sizeof want_mb, GOLDEN_MAILBOX_HEX);
  CHECK_MEM(mb, want_mb, 32);
}

/* ---- obj_check: one decode for ID, dedup question, verdict and fields ------------- */

struct seen_log {
  int calls, answer;
  uint8_t id[OBJ_ID_LEN];
};

static int seen_cb(void *ctx, const uint8_t id[static OBJ_ID_LEN]) {
  struct seen_log *l = ctx;
  l->calls++;
  memcpy(l->id, id, OBJ_ID_LEN);
  return l->answer;
}

/* Every kind: the verdict and info of obj_validate, the ID of obj_id (asked once), and
 * a bundle's device and home-node keys. */
static void test_check_each_kind(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  for (size_t i = 0; i < N_KINDS; i++) {
    Momedo__ObjectKind k = kinds[i];
    uint8_t *out = NULL, id[OBJ_ID_LEN];
    size_t len = 0;
    struct obj_info info;
    struct obj_checked ck;
    struct seen_log l = {0, 0, {0}};
    CHECK_EQ(obj_sign_encode(k, fx_msg(&f, k), fx_signer(&f, k), &out, &len), 0);
    CHECK_EQ(obj_validate(k, out, len, NOW, &info), 0);
    CHECK_EQ(obj_id(k, out, len, id), 0);
    CHECK_EQ(obj_check(k, out, len, NOW, seen_cb, &l, &ck), 0);
    CHECK_EQ(obj_check(k, out, len, NOW, NULL, NULL, &ck), 0);
    free(out);
    CHECK_EQ(l.calls, 1);
    CHECK_MEM(l.id, id, OBJ_ID_LEN);
    CHECK_MEM(&ck.info, &info, sizeof info);
  }
  uint8_t *out = NULL;
  size_t len = 0;
  struct obj_checked ck;
  CHECK_EQ(obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &f.b.base, &f.ident, &out, &len),
           0);
  CHECK_EQ(obj_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, out, len, NOW, NULL, NULL, &ck), 0);
  free(out);
  CHECK_EQ(ck.bundle.n_devices, 2);
  CHECK_EQ(ck.bundle.n_home_nodes, 2);
  CHECK_EQ(ck.bundle.n_removed, 1);
  CHECK_MEM(ck.bundle.removed[0], f.removed, 32);
  for (int d = 0; d < 2; d++) {
    CHECK_MEM(ck.bundle.device_key[d], f.dev[d].pub, 32);
    CHECK_MEM(ck.bundle.home_node[d], f.home[d], 32);
  }
}

/* The dedup question comes right after the ID: a known object is E_EXISTS whatever is
 * wrong with it beyond decoding (no signature is checked), exactly as obj_id followed
 * by a lookup did; an unknown one gets obj_validate's verdict. */
static void test_check_seen_first(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind item = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM;
  uint8_t *enc = NULL, id[OBJ_ID_LEN], dupid[OBJ_ID_LEN];
  size_t len = 0;
  struct obj_checked ck;
  struct seen_log yes = {0, 1, {0}}, no = {0, 0, {0}};
  CHECK_EQ(obj_sign_encode(item, &f.it.base, &f.node, &enc, &len), 0);
  CHECK_EQ(obj_id(item, enc, len, id), 0);
  enc[len - 1] ^= 1; /* bad signature */
  CHECK_EQ(obj_check(item, enc, len, NOW, seen_cb, &yes, &ck), MOMEDO_E_EXISTS);
  CHECK_MEM(ck.info.id, id, OBJ_ID_LEN);
  CHECK_EQ(ck.info.kind, item);
  CHECK_EQ(obj_check(item, enc, len, NOW, seen_cb, &no, &ck), MOMEDO_E_BADSIG);
  enc[len - 1] ^= 1;
  /* Expired, and a non-canonical spelling (format twice) of the same object. */
  CHECK_EQ(obj_check(item, enc, len, NOW + 8 * DAY_MS, seen_cb, &yes, &ck), MOMEDO_E_EXISTS);
  CHECK_EQ(obj_check(item, enc, len, NOW + 8 * DAY_MS, seen_cb, &no, &ck), MOMEDO_E_EXPIRED);
  uint8_t *dup = malloc(len + 2);
  CHECK(dup != NULL);
  memcpy(dup, enc, 2);
  memcpy(dup + 2, enc, len);
  CHECK_EQ(obj_id(item, dup, len + 2, dupid), 0);
  CHECK_EQ(obj_check(item, dup, len + 2, NOW, seen_cb, &yes, &ck), MOMEDO_E_EXISTS);
  CHECK_MEM(ck.info.id, dupid, OBJ_ID_LEN);
  CHECK_EQ(obj_check(item, dup, len + 2, NOW, seen_cb, &no, &ck), MOMEDO_E_NONCANON);
  /* Bytes that do not decode never reach the question. */
  int calls = yes.calls + no.calls;
  CHECK_EQ(obj_check(item, enc, 3, NOW, seen_cb, &yes, &ck), MOMEDO_E_DECODE);
  CHECK_EQ(obj_check((Momedo__ObjectKind)7, enc, len, NOW, seen_cb, &yes, &ck),
           MOMEDO_E_UNKNOWN_KIND);
  CHECK_EQ(yes.calls + no.calls, calls);
  CHECK_EQ(yes.calls, 3);
  CHECK_EQ(no.calls, 3);
  free(dup);
  free(enc);
}

/* obj_read: the fields of stored bytes without time or signature checks, but with the
 * bounds. */
static void test_read_stored(void) {
  struct fx f;
  CHECK_EQ(fx_init(&f), 0);
  Momedo__ObjectKind kb = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  uint8_t *enc = NULL, id[OBJ_ID_LEN];
  size_t len = 0;
  struct obj_checked ck;
  CHECK_EQ(obj_sign_encode(kb, &f.b.base, &f.ident, &enc, &len), 0);
  CHECK_EQ(obj_id(kb, enc, len, id), 0);
  enc[len - 1] ^= 1;
  CHECK_EQ(obj_read(kb, enc, len, &ck), 0);
  CHECK_MEM(ck.info.id, id, OBJ_ID_LEN);
  CHECK_MEM(ck.info.key, f.ident.pub, 32);
  CHECK_EQ(ck.bundle.n_devices, 2);
  CHECK_MEM(ck.bundle.device_key[1], f.dev[1].pub, 32);
  free(enc);
  f.b.version = 0;
  CHECK_EQ(obj_sign_encode(kb, &f.b.base, &f.ident, &enc, &len), 0);
  CHECK_EQ(obj_read(kb, enc, len, &ck), MOMEDO_E_BOUNDS);
  free(enc);
}

int main(void) {
  RUN(test_sign_validate_each_kind);
  RUN(test_tamper_each_field);
  RUN(test_bad_prekey_signature);
  RUN(test_wrong_format);
  RUN(test_time_rules);
  RUN(test_noncanonical);
  RUN(test_no_personal_data_in_bundles);
  RUN(test_wrong_key_lengths);
  RUN(test_bundle_bounds);
  RUN(test_item_chunk_alias_bounds);
  RUN(test_tombstone_mailbox_must_match);
  RUN(test_size_decode_kind);
  RUN(test_golden_item_and_id);
  RUN(test_check_each_kind);
  RUN(test_check_seen_first);
  RUN(test_read_stored);
  TEST_MAIN_END();
}
