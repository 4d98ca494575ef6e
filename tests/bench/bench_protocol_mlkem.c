/* bench_protocol_mlkem — prints ML-KEM-768 keygen / encaps / decaps per second and
 * SHA3/SHAKE throughput on this machine, or with --accumulated N runs the CCTV
 * accumulated test (N = 1000000 for the long run) and prints the hash and the time.
 * Numbers only; no thresholds.
 * Usage: bench_protocol_mlkem [seconds-per-op] | --accumulated N [final|ipd] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_table.h"
#include "crypto.h"
#include "mlkem.h"
#include "mlkem_accumulated.h"
#include "sha3.h"

struct bench_ctx {
  uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN];
  uint8_t ss[MLKEM_SS_LEN], seed[32];
  uint8_t big[64 * 1024], out[64];
};

static int op_keygen(struct bench_ctx *c) { return mlkem768_keygen(c->ek, c->dk); }
static int op_encaps(struct bench_ctx *c) {
  return mlkem768_encaps(c->ct, c->ss, c->ek, sizeof c->ek);
}
static int op_decaps(struct bench_ctx *c) {
  return mlkem768_decaps(c->ss, c->ct, sizeof c->ct, c->dk, sizeof c->dk);
}
static int op_keygen_derand(struct bench_ctx *c) {
  mlkem768_keygen_derand(c->ek, c->dk, c->seed, c->seed);
  return 0;
}
static int op_ek_check(struct bench_ctx *c) { return mlkem768_ek_check(c->ek, sizeof c->ek); }
static int op_sha3_256_64k(struct bench_ctx *c) {
  sha3_256(c->out, c->big, sizeof c->big);
  return 0;
}
static int op_shake128_64k(struct bench_ctx *c) {
  shake128(c->big, sizeof c->big, c->seed, sizeof c->seed);
  return 0;
}

static const struct bench_op bench_ops[] = {
    {"ml-kem-768 keygen (DRBG)", op_keygen, 0},
    {"ml-kem-768 keygen (derand)", op_keygen_derand, 0},
    {"ml-kem-768 encaps (DRBG, with ek check)", op_encaps, 0},
    {"ml-kem-768 decaps (with dk check)", op_decaps, 0},
    {"ml-kem-768 ek check alone", op_ek_check, 0},
    {"sha3-256 64 KiB", op_sha3_256_64k, 64 * 1024},
    {"shake128 output 64 KiB", op_shake128_64k, 64 * 1024},
};

static const char *bench_expected(unsigned long n, enum mlkem__variant v) {
  if (n == 10000) return v == MLKEM__IPD ? MLKEM_ACC_IPD_10K : MLKEM_ACC_FINAL_10K;
  if (n == 1000000) return v == MLKEM__IPD ? MLKEM_ACC_IPD_1M : MLKEM_ACC_FINAL_1M;
  return NULL;
}

/* Exit status 0 only if the hash matches the published one (or none is published). */
static int bench_accumulated(unsigned long n, const char *variant) {
  uint8_t out[32];
  enum mlkem__variant v = strcmp(variant, "ipd") == 0 ? MLKEM__IPD : MLKEM__FINAL;
  const char *want = bench_expected(n, v);
  double t0 = os_mono_s();
  if (mlkem_accumulated(out, n, v) != 0) {
    fprintf(stderr, "accumulated: an Encaps/Decaps failed or disagreed\n");
    return 1;
  }
  double t = os_mono_s() - t0;
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", out[i]);
  printf("accumulated %s, %lu tests: %s\n", variant, n, hex);
  printf("expected:                  %s\n", want ? want : "(none published for this count)");
  printf("time: %.1f s (%.0f tests/s)\n", t, (double)n / t);
  return want != NULL && strcmp(hex, want) != 0;
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--accumulated") == 0)
    return bench_accumulated(strtoul(argv[2], NULL, 10), argc > 3 ? argv[3] : "final");
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  static struct bench_ctx c;
  if (crypto_random(c.seed, sizeof c.seed) != 0 || op_keygen(&c) != 0 || op_encaps(&c) != 0) {
    fprintf(stderr, "setup failed\n");
    return 1;
  }
  printf("ek %d B, dk %d B, ciphertext %d B, shared secret %d B\n", MLKEM768_EK_LEN,
         MLKEM768_DK_LEN, MLKEM768_CT_LEN, MLKEM_SS_LEN);
  int rc = bench_table(bench_ops, sizeof bench_ops / sizeof bench_ops[0], &c, secs);
  crypto_wipe(&c, sizeof c);
  return rc;
}
