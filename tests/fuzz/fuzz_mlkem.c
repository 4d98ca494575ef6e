/* fuzz_mlkem — the ML-KEM-768 inputs that arrive from outside or from disk: a peer's
 * encapsulation key, a stored decapsulation key and a received ciphertext. Input:
 * [mode byte][bytes]. mode % 3 = 0: ek (check, then Encaps); 1: dk (check and Decaps,
 * then again with its hash repaired so Decaps runs on arbitrary coefficients, even
 * >= q); 2: ciphertext under a fixed key. Oracles: the modulus check agrees with a
 * plain re-count of 12-bit values; Decaps yields K only for the real ciphertext and
 * J(z || ct) for every other one of the right length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlkem.h"
#include "sha3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PKE_LEN 1152 /* dkPKE, and the coefficient part of ek */
#define FZ_Q 3329

static uint8_t fz_ek[MLKEM768_EK_LEN], fz_dk[MLKEM768_DK_LEN], fz_ct[MLKEM768_CT_LEN];
static uint8_t fz_k[MLKEM_SS_LEN];
static int fz_ready;

static void fz_init(void) {
  uint8_t d[32], z[32], m[32];
  memset(d, 0x61, sizeof d);
  memset(z, 0x62, sizeof z);
  memset(m, 0x63, sizeof m);
  mlkem768_keygen_derand(fz_ek, fz_dk, d, z);
  if (mlkem768_encaps_derand(fz_ct, fz_k, fz_ek, sizeof fz_ek, m) != 0) abort();
  fz_ready = 1;
}

/* 1 if every 12-bit value in the first FZ_PKE_LEN bytes is below q. */
static int fz_reduced(const uint8_t *p) {
  for (size_t i = 0; i < FZ_PKE_LEN; i += 3) {
    unsigned a = p[i] | ((unsigned)(p[i + 1] & 0x0f) << 8);
    unsigned b = (p[i + 1] >> 4) | ((unsigned)p[i + 2] << 4);
    if (a >= FZ_Q || b >= FZ_Q) return 0;
  }
  return 1;
}

static void fz_ek_case(const uint8_t *ek, size_t n) {
  uint8_t ct[MLKEM768_CT_LEN], k[MLKEM_SS_LEN], m[32] = {9};
  int want_ok = n == MLKEM768_EK_LEN && fz_reduced(ek);
  int rc = mlkem768_ek_check(ek, n);
  if ((rc == 0) != want_ok) abort();
  if (mlkem768_encaps_derand(ct, k, ek, n, m) != rc) abort();
}

static void fz_dk_case(const uint8_t *dk_in, size_t n) {
  static uint8_t dk[MLKEM768_DK_LEN];
  uint8_t k1[MLKEM_SS_LEN], k2[MLKEM_SS_LEN];
  int rc = mlkem768_decaps(k1, fz_ct, sizeof fz_ct, dk_in, n);
  if (rc != mlkem768_dk_check(dk_in, n)) abort();
  if (n != MLKEM768_DK_LEN) return;
  memcpy(dk, dk_in, sizeof dk);
  sha3_256(dk + FZ_PKE_LEN + MLKEM768_EK_LEN, dk + FZ_PKE_LEN, MLKEM768_EK_LEN);
  if (mlkem768_decaps(k1, fz_ct, sizeof fz_ct, dk, sizeof dk) != 0) abort();
  if (mlkem768_decaps(k2, fz_ct, sizeof fz_ct, dk, sizeof dk) != 0) abort();
  if (memcmp(k1, k2, sizeof k1) != 0) abort();
}

static void fz_ct_case(const uint8_t *ct, size_t n) {
  static uint8_t zc[32 + MLKEM768_CT_LEN];
  uint8_t k[MLKEM_SS_LEN], want[MLKEM_SS_LEN];
  int rc = mlkem768_decaps(k, ct, n, fz_dk, sizeof fz_dk);
  if (n != MLKEM768_CT_LEN) {
    if (rc != MOMEDO_E_BOUNDS) abort();
    return;
  }
  if (rc != 0) abort();
  if (memcmp(ct, fz_ct, n) == 0) {
    if (memcmp(k, fz_k, sizeof k) != 0) abort();
    return;
  }
  memcpy(zc, fz_dk + MLKEM768_DK_LEN - 32, 32);
  memcpy(zc + 32, ct, n);
  shake256(want, sizeof want, zc, sizeof zc);
  if (memcmp(k, want, sizeof k) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fz_ready) fz_init();
  if (size == 0) return 0;
  switch (data[0] % 3) {
  case 0: fz_ek_case(data + 1, size - 1); break;
  case 1: fz_dk_case(data + 1, size - 1); break;
  default: fz_ct_case(data + 1, size - 1); break;
  }
  return 0;
}
