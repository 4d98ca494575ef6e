/* bench_protocol_obj — what one object costs on its way into replication: the three
 * passes replication made before obj_check (obj_id, then obj_validate, then for a key
 * bundle obj_unpack for the lookup index) against one obj_check, for a new object and
 * for a duplicate (obj_id alone against obj_check stopping at the dedup question), for
 * an Ozone item, a 64 KiB chunk and a key bundle. CPU time of this process (the
 * machine is shared), the best of ROUNDS alternating rounds. Numbers only; no
 * thresholds. Usage: bench_protocol_obj [seconds-per-round]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "obj.h"
#include "os.h"

#define NOW 1700000000000ull
#define DAY_MS (24ull * 3600 * 1000)

#define ROUNDS 5

struct sample {
  const char *name;
  Momedo__ObjectKind kind;
  uint8_t *data;
  size_t len;
};

static int seen_no(void *ctx, const uint8_t id[static OBJ_ID_LEN]) {
  (void)ctx, (void)id;
  return 0;
}

static int seen_yes(void *ctx, const uint8_t id[static OBJ_ID_LEN]) {
  (void)ctx, (void)id;
  return 1;
}

/* The passes before obj_check: ID, then the full validation, then (bundles) a decode
 * for the lookup index's device keys. */
static int three_passes(const struct sample *s, int dup) {
  uint8_t id[OBJ_ID_LEN];
  struct obj_info info;
  int rc = obj_id(s->kind, s->data, s->len, id);
  if (rc || dup) return rc;
  if ((rc = obj_validate(s->kind, s->data, s->len, NOW, &info))) return rc;
  if (s->kind != MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE) return 0;
  struct arena a;
  ProtobufCMessage *m = NULL;
  arena_init(&a, OBJ_DECODE_BYTES_MAX);
  rc = obj_unpack(s->kind, s->data, s->len, &a, &m);
  arena_close(&a);
  return rc;
}

static int one_check(const struct sample *s, int dup) {
  struct obj_checked ck;
  int rc = obj_check(s->kind, s->data, s->len, NOW, dup ? seen_yes : seen_no, NULL, &ck);
  return dup && rc == MOMEDO_E_EXISTS ? 0 : rc;
}

/* Microseconds per call of fn over about secs seconds. */
static double per_call_us(int (*fn)(const struct sample *, int), const struct sample *s, int dup,
                          double secs) {
  long n = 0;
  double t0 = os_cpu_s(), t;
  do {
    for (int i = 0; i < 16; i++, n++)
      if (fn(s, dup) != 0) {
        fprintf(stderr, "%s: unexpected refusal\n", s->name);
        exit(1);
      }
    t = os_cpu_s() - t0;
  } while (t < secs);
  return t / (double)n * 1e6;
}

static ProtobufCBinaryData bin(uint8_t *p, size_t n) {
  ProtobufCBinaryData b = {n, p};
  return b;
}

static int make_item(struct sample *s, const struct crypto_sign_keypair *node, size_t ct_len,
                     int chunk) {
  static uint8_t mailbox[32], blob[32];
  uint8_t *ct = calloc(1, ct_len);
  if (!ct) return MOMEDO_E_NOMEM;
  memset(mailbox, 0x66, 32);
  memset(blob, 0x77, 32);
  int rc;
  if (!chunk) {
    Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
    it.format = OBJ_FORMAT, it.mailbox = bin(mailbox, 32), it.created_ms = NOW - 1000;
    it.expires_ms = NOW + DAY_MS, it.ciphertext = bin(ct, ct_len);
    it.node_key = bin((uint8_t *)node->pub, 32);
    s->kind = MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM;
    rc = obj_sign_encode(s->kind, &it.base, node, &s->data, &s->len);
  } else {
    Momedo__Chunk c = MOMEDO__CHUNK__INIT;
    c.format = OBJ_FORMAT, c.mailbox = bin(mailbox, 32), c.blob_id = bin(blob, 32);
    c.index = 0, c.count = 4, c.created_ms = NOW - 1000, c.expires_ms = NOW + DAY_MS;
    c.ciphertext = bin(ct, ct_len), c.node_key = bin((uint8_t *)node->pub, 32);
    s->kind = MOMEDO__OBJECT_KIND__OBJ_CHUNK;
    rc = obj_sign_encode(s->kind, &c.base, node, &s->data, &s->len);
  }
  free(ct);
  return rc;
}

/* A bundle with two devices (each with its signed prekey) and two home nodes. */
static int make_bundle(struct sample *s, const struct crypto_sign_keypair *ident,
                       const struct crypto_sign_keypair dev[2]) {
  static uint8_t keys[2][3][32], psig[2][64];
  Momedo__DeviceKeys d[2], *dp[2];
  ProtobufCBinaryData homes[2];
  for (int i = 0; i < 2; i++) {
    momedo__device_keys__init(&d[i]);
    memset(keys[i], 0x30 + i, sizeof keys[i]);
    d[i].device_key = bin((uint8_t *)dev[i].pub, 32);
    d[i].dh_key = bin(keys[i][0], 32);
    d[i].signed_prekey = bin(keys[i][1], 32);
    d[i].prekey_id = 7;
    d[i].prekey_expires_ms = NOW + 30 * DAY_MS;
    int rc = obj_prekey_sign(psig[i], 7, d[i].prekey_expires_ms, keys[i][1], &dev[i]);
    if (rc) return rc;
    d[i].prekey_signature = bin(psig[i], 64);
    d[i].home_node = bin(keys[i][2], 32);
    homes[i] = bin(keys[i][2], 32);
    dp[i] = &d[i];
  }
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  b.format = OBJ_FORMAT, b.identity_key = bin((uint8_t *)ident->pub, 32), b.version = 1;
  b.created_ms = NOW - 1000, b.n_devices = 2, b.devices = dp, b.n_home_nodes = 2;
  b.home_nodes = homes;
  s->kind = MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE;
  return obj_sign_encode(s->kind, &b.base, ident, &s->data, &s->len);
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  struct crypto_sign_keypair node, ident, dev[2];
  uint8_t seed[32];
  struct sample sm[3] = {{.name = "ozone item, 256 B ciphertext"},
                         {.name = "chunk, 64 KiB ciphertext"},
                         {.name = "key bundle, 2 devices"}};
  int rc = 0;
  for (int i = 0; i < 4 && rc == 0; i++) {
    memset(seed, 0x11 + i, sizeof seed);
    rc = crypto_sign_from_seed(i == 0 ? &node : i == 1 ? &ident : &dev[i - 2], seed);
  }
  if (rc == 0) rc = make_item(&sm[0], &node, 256, 0);
  if (rc == 0) rc = make_item(&sm[1], &node, 64 * 1024, 1);
  if (rc == 0) rc = make_bundle(&sm[2], &ident, dev);
  if (rc) {
    fprintf(stderr, "setup: %s\n", momedo_strerror(rc));
    return 1;
  }
  printf("%-30s %8s  %26s  %26s\n", "object", "bytes", "new: 3 passes / obj_check",
         "duplicate: obj_id / obj_check");
  for (int i = 0; i < 3; i++) {
    double t[4] = {1e9, 1e9, 1e9, 1e9};
    for (int r = 0; r < ROUNDS; r++)
      for (int k = 0; k < 4; k++) {
        double us = per_call_us(k % 2 ? one_check : three_passes, &sm[i], k / 2, secs);
        if (us < t[k]) t[k] = us;
      }
    printf("%-30s %8zu  %8.2f / %6.2f us (%4.2fx)  %8.2f / %6.2f us (%4.2fx)\n", sm[i].name,
           sm[i].len, t[0], t[1], t[0] / t[1], t[2], t[3], t[2] / t[3]);
    free(sm[i].data);
  }
  return 0;
}
