/* fuzz_otpk — the device-state formats from outside: a PrekeyUploadReq as a node
 * receives it from a client (checked with otpk_upload_check against a fixed device key),
 * a PrekeyClaimResp's prekey as a client receives it from a node (otpk_from_msg), the
 * node's stored record (otpk_rec_get) and this device's vault file of prekey secrets
 * (otpks_parse), the vault's save counter record (counter_parse) and the node's
 * StateCounterResp. The first input byte picks the parser. Checks no crash, that an accepted
 * upload holds only signed, distinct, non-zero ids, and that a parsed secrets file
 * encodes back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct otpk_pub p;
  if (size == 0) return 0;
  switch (data[0] % 5) {
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
  default:
    fuzz_counter(data + 1, size - 1);
    break;
  }
  return 0;
}
