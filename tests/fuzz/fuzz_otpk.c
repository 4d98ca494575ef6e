/* fuzz_otpk — the device-state formats from outside: a PrekeyUploadReq as a node
 * receives it from a client (checked with otpk_upload_check against a fixed device key),
 * a PrekeyClaimResp's prekey as a client receives it from a node (otpk_from_msg), the
 * node's stored record (otpk_rec_get) and this device's vault file of prekey secrets
 * (otpks_parse), the vault's save counter record (counter_parse) and the node's
 * StateCounterResp, and a linked device's announced signed prekey (a decrypted Content
 * with a DevicePrekey, content_decode + account_take_prekey at a first device that lists
 * the seeds' device). The first input byte picks the parser. Checks no crash, that an
 * accepted upload holds only signed, distinct, non-zero ids, that a parsed secrets file
 * encodes back to the same bytes, that a taken prekey is signed by the device and
 * expires later than the one it replaces, and that a refused one changes nothing.
 * MOMEDO_FUZZ_SEED_DIR=DIR writes the device prekey seed there and exits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "arena.h"
#include "content.h"
#include "counter.h"
#include "otpk.h"
#include "otpks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The device key of the seeds (tests/fuzz/corpus/otpk: Ed25519 from seed 0x22 * 32). */
static const uint8_t device[32] = {
    0xa0, 0x9a, 0xa5, 0xf4, 0x7a, 0x67, 0x59, 0x80, 0x2f, 0xf9, 0x55, 0xf8, 0xdc, 0x2d, 0x2a, 0x14,
    0xa5, 0xc9, 0x9d, 0x23, 0xbe, 0x97, 0xf8, 0x64, 0x12, 0x7f, 0xf9, 0x38, 0x34, 0x55, 0xa4, 0xf0};

static void fuzz_upload(const uint8_t *data, size_t size) {
  static struct otpk_pub out[OTPK_UPLOAD_MAX];
  char why[256];
  size_t n = 0;
  Momedo__PrekeyUploadReq *r = momedo__prekey_upload_req__unpack(NULL, size, data);
  if (!r) return;
  if (otpk_upload_check(r, device, out, &n, why, sizeof why) == 0) {
    if (n != r->n_prekeys || n > OTPK_UPLOAD_MAX) abort();
    for (size_t i = 0; i < n; i++) {
      if (out[i].id == 0 || otpk_verify(&out[i], device) != 0) abort();
      for (size_t j = 0; j < i; j++)
        if (out[j].id == out[i].id) abort();
    }
  }
  momedo__prekey_upload_req__free_unpacked(r, NULL);
}

static void fuzz_claim(const uint8_t *data, size_t size) {
  struct otpk_pub p;
  char why[256];
  Momedo__PrekeyClaimResp *r = momedo__prekey_claim_resp__unpack(NULL, size, data);
  if (!r) return;
  if (otpk_from_msg(&p, r->prekey, device, why, sizeof why) == 0 && otpk_verify(&p, device))
    abort();
  momedo__prekey_claim_resp__free_unpacked(r, NULL);
}

static void fuzz_secrets(const uint8_t *data, size_t size) {
  static struct otpks s;
  uint8_t *enc = NULL;
  size_t n = 0;
  if (otpks_parse(&s, data, size) != 0) return;
  if (otpks_encode(&s, &enc, &n) != 0) abort();
  if (n != size || memcmp(enc, data, n) != 0) abort();
  free(enc);
  otpks_wipe(&s);
}

/* The vault's save counter record and the node's StateCounterResp. */
static void fuzz_counter(const uint8_t *data, size_t size) {
  uint8_t rec[COUNTER_REC_LEN];
  uint64_t n = 0;
  if (counter_parse(data, size, &n) == 0) {
    counter_encode(rec, n);
    if (size != COUNTER_REC_LEN || memcmp(rec, data, size) != 0) abort();
  }
  Momedo__StateCounterResp *r = momedo__state_counter_resp__unpack(NULL, size, data);
  if (r) momedo__state_counter_resp__free_unpacked(r, NULL);
}

#define FZ_NOW 1700000000000ull

/* A first device listing the seeds' device with a prekey made at FZ_NOW. */
static struct account fz_first;

static int fz_first_init(void) {
  struct crypto_sign_keypair dev;
  struct account_device d;
  uint8_t seed[32];
  memset(seed, 0x22, sizeof seed);
  if (account_generate(&fz_first, FZ_NOW) || crypto_sign_from_seed(&dev, seed)) return -1;
  memset(&d, 0, sizeof d);
  memcpy(d.device_key, dev.pub, 32);
  d.prekey_id = 7;
  d.prekey_expires_ms = FZ_NOW + ACCOUNT_PREKEY_LIFETIME_MS;
  memset(d.prekey, 0x33, 32);
  if (obj_prekey_sign(d.prekey_sig, d.prekey_id, d.prekey_expires_ms, d.prekey, &dev)) return -1;
  return account_put_device(&fz_first, &d);
}

/* Content{device_prekey}: made an hour after the listed one, signed by the seeds' device. */
static void fz_write_seed(const char *dir) {
  struct crypto_sign_keypair dev;
  uint8_t seed[32], pub[32], sig[64], mid[16] = {1}, *out = NULL;
  size_t n = 0;
  memset(seed, 0x22, sizeof seed);
  memset(pub, 0x44, sizeof pub);
  uint64_t exp = FZ_NOW + ACCOUNT_PREKEY_LIFETIME_MS + 3600000; /* made an hour later */
  if (crypto_sign_from_seed(&dev, seed) || obj_prekey_sign(sig, 8, exp, pub, &dev)) abort();
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__DevicePrekey dp = MOMEDO__DEVICE_PREKEY__INIT;
  dp.signed_prekey = (ProtobufCBinaryData){32, pub};
  dp.prekey_id = 8;
  dp.prekey_expires_ms = exp;
  dp.prekey_signature = (ProtobufCBinaryData){64, sig};
  m.format = CONTENT_FORMAT;
  m.message_id = (ProtobufCBinaryData){16, mid};
  m.sent_ms = FZ_NOW;
  m.sender_device = (ProtobufCBinaryData){32, dev.pub};
  m.body_case = MOMEDO__CONTENT__BODY_DEVICE_PREKEY;
  m.device_prekey = &dp;
  char path[1024];
  snprintf(path, sizeof path, "%s/device_prekey", dir);
  FILE *f = fopen(path, "wb");
  if (!f || content_encode(&m, &out, &n) || fputc(5, f) == EOF || fwrite(out, 1, n, f) != n ||
      fclose(f))
    abort();
  free(out);
  exit(0);
}

static void fuzz_device_prekey(const uint8_t *data, size_t size) {
  static struct account a;
  static int ready;
  struct arena ar;
  Momedo__Content *c = NULL;
  if (!ready) {
    const char *dir = getenv("MOMEDO_FUZZ_SEED_DIR");
    if (dir) fz_write_seed(dir);
    if (fz_first_init()) abort();
    ready = 1;
  }
  arena_init(&ar, CONTENT_DECODE_BYTES_MAX);
  if (content_decode(data, size, &ar, &c) == 0 &&
      c->body_case == MOMEDO__CONTENT__BODY_DEVICE_PREKEY) {
    const Momedo__DevicePrekey *dp = c->device_prekey;
    struct account_prekey_pub p;
    int changed = 0;
    memcpy(p.pub, dp->signed_prekey.data, 32);
    p.id = dp->prekey_id;
    p.expires_ms = dp->prekey_expires_ms;
    memcpy(p.sig, dp->prekey_signature.data, 64);
    memcpy(&a, &fz_first, sizeof a);
    const struct account_device *d = &a.devices[1];
    int rc = account_take_prekey(&a, c->sender_device.data, &p, FZ_NOW + 1, &changed);
    if (rc > 0 || (rc != 0 && memcmp(&a, &fz_first, sizeof a) != 0)) abort();
    if (changed && (obj_prekey_verify(d->prekey_sig, d->prekey_id, d->prekey_expires_ms,
                                      d->prekey, d->device_key) != 0 ||
                    d->prekey_expires_ms <= fz_first.devices[1].prekey_expires_ms))
      abort();
  }
  arena_close(&ar);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct otpk_pub p;
  if (size == 0) return 0;
  switch (data[0] % 6) {
  case 0:
    fuzz_upload(data + 1, size - 1);
    break;
  case 1:
    fuzz_claim(data + 1, size - 1);
    break;
  case 2:
    if (size >= 5) (void)!otpk_rec_get(&p, 1, data + 5, size - 5);
    break;
  case 3:
    fuzz_secrets(data + 1, size - 1);
    break;
  case 5:
    fuzz_device_prekey(data + 1, size - 1);
    break;
  default:
    fuzz_counter(data + 1, size - 1);
    break;
  }
  return 0;
}
