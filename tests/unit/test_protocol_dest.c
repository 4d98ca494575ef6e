/* Unit tests for scoped delivery in protocol/: destinations on items, tombstones, chunks
 * and aliases (bounds, order, signed), a key bundle's home nodes as its destinations,
 * node records (every bound, time rules, forgery) and signing through a callback. */
#include "harness.h"

#include "crypto.h"
#include "obj.h"

#define NOW 1700000000000ull
#define DAY_MS (24ull * 3600 * 1000)
#define ITEM MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM
#define RECORD MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD

static struct crypto_sign_keypair node_kp, other_kp;
static uint8_t keys[OBJ_RECORD_NEIGHBORS_MAX + 2][32]; /* ascending: keys[i][0..1] = i */
static ProtobufCBinaryData kbins[OBJ_RECORD_NEIGHBORS_MAX + 2];
static uint8_t mailbox[32], ct[16];

static void setup(void) {
  uint8_t seed[32];
  memset(seed, 0x33, 32);
  if (crypto_sign_from_seed(&node_kp, seed)) abort();
  memset(seed, 0x34, 32);
  if (crypto_sign_from_seed(&other_kp, seed)) abort();
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    memset(keys[i], 0x5a, 32);
    keys[i][0] = (uint8_t)(i >> 8);
    keys[i][1] = (uint8_t)i;
    kbins[i].data = keys[i];
    kbins[i].len = 32;
  }
  memset(mailbox, 0x66, 32);
  memset(ct, 0x77, sizeof ct);
}

static void item_init(Momedo__OzoneItem *it) {
  momedo__ozone_item__init(it);
  it->format = 1;
  it->mailbox.data = mailbox, it->mailbox.len = 32;
  it->created_ms = NOW - 1000;
  it->expires_ms = NOW + DAY_MS;
  it->ciphertext.data = ct, it->ciphertext.len = sizeof ct;
  it->node_key.data = node_kp.pub, it->node_key.len = 32;
}

/* Sign m as kind with kp and check it at now into *ck. */
static int sign_check(Momedo__ObjectKind kind, ProtobufCMessage *m,
                      const struct crypto_sign_keypair *kp, uint64_t now, struct obj_checked *ck) {
  uint8_t *out = NULL;
  size_t len = 0;
  struct obj_checked tmp;
  int rc = obj_sign_encode(kind, m, kp, &out, &len);
  if (rc == 0) rc = obj_check(kind, out, len, now, NULL, NULL, ck ? ck : &tmp);
  free(out);
  return rc;
}

static void test_item_dests(void) {
  Momedo__OzoneItem it;
  struct obj_checked ck;
  item_init(&it);
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, 0); /* global scope */
  CHECK_EQ(obj_dests_has(&ck, keys[0]), 0);
  it.dest_nodes = kbins;
  it.n_dest_nodes = OBJ_DEST_NODES_MAX;
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, OBJ_DEST_NODES_MAX);
  CHECK_MEM(ck.dests[0], keys[0], 32);
  CHECK_MEM(ck.dests[OBJ_DEST_NODES_MAX - 1], keys[OBJ_DEST_NODES_MAX - 1], 32);
  CHECK_EQ(obj_dests_has(&ck, keys[17]), 1);
  CHECK_EQ(obj_dests_has(&ck, keys[OBJ_DEST_NODES_MAX]), 0);
  it.n_dest_nodes = OBJ_DEST_NODES_MAX + 1;
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), MOMEDO_E_BOUNDS);
  /* Unsorted, duplicate, wrong length. */
  ProtobufCBinaryData d[3] = {kbins[2], kbins[1], kbins[3]};
  it.dest_nodes = d;
  it.n_dest_nodes = 3;
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), MOMEDO_E_BOUNDS);
  d[1] = kbins[2];
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), MOMEDO_E_BOUNDS);
  d[0] = kbins[1], d[1] = kbins[2];
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, 3);
  d[2].len = 31;
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), MOMEDO_E_BOUNDS);
  d[2].len = 33;
  CHECK_EQ(sign_check(ITEM, &it.base, &node_kp, NOW, &ck), MOMEDO_E_BOUNDS);
}

/* Tombstones, chunks and aliases carry the same field with the same rules. */
static void test_other_kinds_dests(void) {
  uint8_t tmb[32], id[32];
  ProtobufCBinaryData bad[2] = {kbins[4], kbins[3]}, good[2] = {kbins[3], kbins[4]};
  struct obj_checked ck;
  memset(id, 0x88, 32);
  if (obj_device_mailbox(tmb, other_kp.pub)) abort();
  Momedo__Tombstone t = MOMEDO__TOMBSTONE__INIT;
  t.format = 1, t.item_id.data = id, t.item_id.len = 32, t.mailbox.data = tmb;
  t.mailbox.len = 32, t.created_ms = NOW, t.expires_ms = NOW + DAY_MS;
  t.device_key.data = other_kp.pub, t.device_key.len = 32;
  Momedo__Chunk c = MOMEDO__CHUNK__INIT;
  c.format = 1, c.mailbox.data = mailbox, c.mailbox.len = 32, c.blob_id.data = id;
  c.blob_id.len = 32, c.count = 1, c.created_ms = NOW, c.expires_ms = NOW + DAY_MS;
  c.ciphertext.data = ct, c.ciphertext.len = sizeof ct;
  c.node_key.data = node_kp.pub, c.node_key.len = 32;
  Momedo__Alias al = MOMEDO__ALIAS__INIT;
  al.format = 1, al.alias = "49K492", al.identity_key.data = other_kp.pub;
  al.identity_key.len = 32, al.created_ms = NOW, al.expires_ms = NOW + DAY_MS;
  al.node_key.data = node_kp.pub, al.node_key.len = 32;
  t.n_dest_nodes = c.n_dest_nodes = al.n_dest_nodes = 2;
  t.dest_nodes = c.dest_nodes = al.dest_nodes = bad;
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, &t.base, &other_kp, NOW, &ck),
           MOMEDO_E_BOUNDS);
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_CHUNK, &c.base, &node_kp, NOW, &ck),
           MOMEDO_E_BOUNDS);
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_ALIAS, &al.base, &node_kp, NOW, &ck),
           MOMEDO_E_BOUNDS);
  t.dest_nodes = c.dest_nodes = al.dest_nodes = good;
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE, &t.base, &other_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, 2);
  CHECK_MEM(ck.dests[1], keys[4], 32);
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_CHUNK, &c.base, &node_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, 2);
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_ALIAS, &al.base, &node_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, 2);
  CHECK_MEM(ck.dests[0], keys[3], 32);
}

/* A bundle's destinations are its home nodes, sorted, duplicates merged. */
static void test_bundle_dests(void) {
  uint8_t dh[32], spk[32], psig[64];
  memset(dh, 1, 32), memset(spk, 2, 32);
  if (obj_prekey_sign(psig, 1, NOW + DAY_MS, spk, &other_kp)) abort();
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT, *dp = &d;
  d.device_key.data = other_kp.pub, d.device_key.len = 32;
  d.dh_key.data = dh, d.dh_key.len = 32, d.signed_prekey.data = spk, d.signed_prekey.len = 32;
  d.prekey_id = 1, d.prekey_expires_ms = NOW + DAY_MS;
  d.prekey_signature.data = psig, d.prekey_signature.len = 64;
  d.home_node.data = keys[9], d.home_node.len = 32;
  ProtobufCBinaryData homes[3] = {kbins[9], kbins[2], kbins[9]};
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  b.format = 1, b.identity_key.data = other_kp.pub, b.identity_key.len = 32, b.version = 1;
  b.created_ms = NOW, b.n_devices = 1, b.devices = &dp, b.n_home_nodes = 3, b.home_nodes = homes;
  struct obj_checked ck;
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &other_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, 2);
  CHECK_MEM(ck.dests[0], keys[2], 32);
  CHECK_MEM(ck.dests[1], keys[9], 32);
  CHECK_EQ(ck.bundle.n_home_nodes, 3); /* the bundle's own list, as signed */
  /* A revocation without home nodes is global scope. */
  b.revoked = 1, b.n_home_nodes = 0, b.n_devices = 0;
  CHECK_EQ(sign_check(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &other_kp, NOW, &ck), 0);
  CHECK_EQ(ck.n_dests, 0);
}

static uint8_t bloom_buf[2 * OBJ_RECORD_BLOOM_BYTES_MAX];
static char name_buf[OBJ_RECORD_NAME_CHARS_MAX + 2];

static void record_init(Momedo__NodeRecord *r) {
  momedo__node_record__init(r);
  r->format = 1;
  r->node_key.data = node_kp.pub, r->node_key.len = 32;
  r->seq = 1;
  r->created_ms = NOW - 1000;
  r->expires_ms = NOW + DAY_MS;
  strcpy(name_buf, "kreis-euskirchen.nrw");
  r->name = name_buf;
  r->n_neighbors = 3;
  r->neighbors = kbins;
  r->users_bloom.data = bloom_buf, r->users_bloom.len = 256;
  r->bloom_hashes = 7;
}

static int rec_rc(Momedo__NodeRecord *r) {
  return sign_check(RECORD, &r->base, &node_kp, NOW, NULL);
}

static void test_record_fields_and_time(void) {
  Momedo__NodeRecord r;
  struct obj_checked ck;
  record_init(&r);
  CHECK_EQ(sign_check(RECORD, &r.base, &node_kp, NOW, &ck), 0);
  CHECK_STR(ck.record.name, "kreis-euskirchen.nrw");
  CHECK_EQ(ck.record.n_neighbors, 3);
  CHECK_EQ(ck.record.bloom_bytes, 256);
  CHECK_EQ(ck.record.bloom_hashes, 7);
  CHECK_EQ(ck.n_dests, 0);
  CHECK_EQ(ck.info.version, 1);
  /* Forged: signed by another key than node_key. */
  CHECK_EQ(sign_check(RECORD, &r.base, &other_kp, NOW, &ck), MOMEDO_E_BADSIG);
  /* Expired, far future, lifetime. */
  CHECK_EQ(sign_check(RECORD, &r.base, &node_kp, NOW + DAY_MS, &ck), MOMEDO_E_EXPIRED);
  r.created_ms = NOW + OBJ_CLOCK_SKEW_MS_MAX + 1;
  r.expires_ms = r.created_ms + DAY_MS;
  CHECK_EQ(rec_rc(&r), MOMEDO_E_FUTURE);
  r.created_ms = NOW;
  r.expires_ms = NOW + OBJ_RECORD_LIFETIME_MS_MAX;
  CHECK_EQ(rec_rc(&r), 0);
  r.expires_ms++;
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS);
  r.expires_ms = NOW;
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS);
  r.expires_ms = NOW + DAY_MS;
  r.seq = 0;
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS);
}

static void test_record_name(void) {
  Momedo__NodeRecord r;
  record_init(&r);
  static const char *good[] = {"", "a", "schule-am-see.bonn.de", "0-9.z"};
  static const char *bad[] = {"Bonn", "a b", "a_b", "m\xc3\xbcnster", "x@y"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    strcpy(name_buf, good[i]);
    CHECK_EQ(rec_rc(&r), 0);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    strcpy(name_buf, bad[i]);
    CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS);
  }
  memset(name_buf, 'n', OBJ_RECORD_NAME_CHARS_MAX);
  name_buf[OBJ_RECORD_NAME_CHARS_MAX] = '\0';
  CHECK_EQ(rec_rc(&r), 0);
  name_buf[OBJ_RECORD_NAME_CHARS_MAX] = 'n';
  name_buf[OBJ_RECORD_NAME_CHARS_MAX + 1] = '\0';
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS);
}

static void test_record_neighbors(void) {
  Momedo__NodeRecord r;
  record_init(&r);
  r.n_neighbors = OBJ_RECORD_NEIGHBORS_MAX;
  CHECK_EQ(rec_rc(&r), 0);
  r.n_neighbors = OBJ_RECORD_NEIGHBORS_MAX + 1;
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS);
  ProtobufCBinaryData n[3] = {kbins[1], kbins[0], kbins[2]};
  r.neighbors = n;
  r.n_neighbors = 3;
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS); /* unsorted */
  n[0] = kbins[0], n[1] = kbins[0];
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS); /* duplicate */
  n[1] = kbins[1];
  CHECK_EQ(rec_rc(&r), 0);
  /* Itself as a neighbor: refused. */
  uint8_t self[32];
  memcpy(self, node_kp.pub, 32);
  ProtobufCBinaryData one = {32, self};
  r.neighbors = &one;
  r.n_neighbors = 1;
  CHECK_EQ(rec_rc(&r), MOMEDO_E_BOUNDS);
  r.n_neighbors = 0;
  CHECK_EQ(rec_rc(&r), 0);
}

static void test_record_bloom(void) {
  Momedo__NodeRecord r;
  record_init(&r);
  static const struct {
    size_t len;
    uint32_t k;
    int rc;
  } cases[] = {
      {0, 0, 0},   {0, 1, MOMEDO_E_BOUNDS}, {8, 1, 0},    {8, 0, MOMEDO_E_BOUNDS},
      {4, 7, MOMEDO_E_BOUNDS}, {24, 7, MOMEDO_E_BOUNDS},   {1024, 16, 0},
      {1024, 17, MOMEDO_E_BOUNDS}, {OBJ_RECORD_BLOOM_BYTES_MAX, 7, 0},
      {2 * OBJ_RECORD_BLOOM_BYTES_MAX, 7, MOMEDO_E_BOUNDS},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    r.users_bloom.len = cases[i].len;
    r.bloom_hashes = cases[i].k;
    CHECK_EQ(rec_rc(&r), cases[i].rc);
  }
}

/* Golden node record computed independently (Python: hand-written protobuf, Ed25519 from
 * the 'cryptography' package, hashlib): exact bytes, signature and ID. */
#define GOLDEN_RECORD_HEX \
  "0801122017cb79fb2b4120f2b1ec65e4198d6e08b28e813feb01e4a400839b85e18080ce18012098c8" \
  "95ffbc31288088afa8bd3132146b726569732d6575736b69726368656e2e6e72773a2000005a5a5a5a" \
  "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a3a2000015a5a5a5a5a5a5a5a5a5a5a" \
  "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a3a2000025a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a" \
  "5a5a5a5a5a5a5a5a5a5a5a5a4208000102030405060748037a401bcc9ee6f7e54524fb46dcdd334bdf" \
  "2c8fc09c39fb6303456f6104be8e4743a3ed8db9f630d275ddfea388d6300ac6809953f65a07bff5bf" \
  "1b7dfd104f477802"
#define GOLDEN_RECORD_ID_HEX "d4c70d885c7b19b94a20902eb4bf4151482801d206047019958e15b7124dd357"

static void test_golden_record(void) {
  Momedo__NodeRecord r;
  record_init(&r);
  for (int i = 0; i < 8; i++) bloom_buf[i] = (uint8_t)i;
  r.users_bloom.len = 8;
  r.bloom_hashes = 3;
  uint8_t *enc = NULL, want[512], want_id[32];
  size_t len = 0;
  CHECK_EQ(obj_sign_encode(RECORD, &r.base, &node_kp, &enc, &len), 0);
  size_t wn = th_unhex(want, sizeof want, GOLDEN_RECORD_HEX);
  th_unhex(want_id, sizeof want_id, GOLDEN_RECORD_ID_HEX);
  struct obj_checked ck;
  int rc = obj_check(RECORD, want, wn, NOW, NULL, NULL, &ck);
  CHECK_EQ(len, wn);
  CHECK_MEM(enc, want, wn);
  CHECK_EQ(rc, 0);
  CHECK_MEM(ck.info.id, want_id, 32);
  free(enc);
}

static int sign_count;

static int counting_signer(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  sign_count++;
  return crypto_sign(sig, msg, len, ctx);
}

static int failing_signer(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  (void)ctx, (void)msg, (void)len, (void)sig;
  return MOMEDO_E_CRYPTO;
}

/* Signing through a callback gives the very bytes of signing with the key pair. */
static void test_sign_with_callback(void) {
  Momedo__NodeRecord r;
  record_init(&r);
  uint8_t *a = NULL, *b = NULL;
  size_t an = 0, bn = 0;
  CHECK_EQ(obj_sign_encode(RECORD, &r.base, &node_kp, &a, &an), 0);
  CHECK_EQ(obj_sign_encode_with(RECORD, &r.base, counting_signer, &node_kp, &b, &bn), 0);
  CHECK_EQ(sign_count, 1);
  CHECK_EQ(an, bn);
  CHECK_MEM(a, b, an);
  free(a), free(b);
  a = NULL;
  CHECK_EQ(obj_sign_encode_with(RECORD, &r.base, failing_signer, NULL, &a, &an),
           MOMEDO_E_CRYPTO);
  CHECK(a == NULL);
  CHECK_EQ(obj_sign_encode_with(RECORD, &r.base, NULL, NULL, &a, &an), MOMEDO_E_INVAL);
}

int main(void) {
  setup();
  RUN(test_item_dests);
  RUN(test_other_kinds_dests);
  RUN(test_bundle_dests);
  RUN(test_record_fields_and_time);
  RUN(test_record_name);
  RUN(test_record_neighbors);
  RUN(test_record_bloom);
  RUN(test_golden_record);
  RUN(test_sign_with_callback);
  TEST_MAIN_END();
}
