/* bench_protocol_crypto — prints ops/sec of the crypto.h primitives on this machine
 * (Ed25519 sign/verify/keygen, X25519, XChaCha20-Poly1305, SHA-256, safety number,
 * scrypt). Numbers only; no thresholds. Usage: bench_protocol_crypto [seconds-per-op]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_table.h"
#include "crypto.h"
#include "ids.h"

struct bench_ctx {
  struct crypto_sign_keypair kp;
  uint8_t sig[CRYPTO_SIG_LEN];
  uint8_t msg[256];
  uint8_t dh_sec[32], dh_pub[32], shared[32];
  uint8_t key[32], nonce[24];
  uint8_t pt[1024], ct[1024 + CRYPTO_TAG_LEN];
  uint8_t big[64 * 1024];
};

static int op_sign(struct bench_ctx *c) { return crypto_sign(c->sig, c->msg, 256, &c->kp); }
static int op_verify(struct bench_ctx *c) { return crypto_verify(c->sig, c->msg, 256, c->kp.pub); }
static int op_sign_keygen(struct bench_ctx *c) {
  return crypto_sign_from_seed(&c->kp, c->kp.seed);
}
static int op_dh(struct bench_ctx *c) { return crypto_dh(c->shared, c->dh_sec, c->dh_pub); }
static int op_dh_public(struct bench_ctx *c) { return crypto_dh_public(c->dh_pub, c->dh_sec); }
static int op_seal_1k(struct bench_ctx *c) {
  return crypto_aead_seal(c->ct, c->pt, sizeof c->pt, NULL, 0, c->nonce, c->key);
}
static int op_open_1k(struct bench_ctx *c) {
  return crypto_aead_open(c->pt, c->ct, sizeof c->ct, NULL, 0, c->nonce, c->key);
}
static int op_sha256_64k(struct bench_ctx *c) {
  return crypto_sha256(c->shared, c->big, sizeof c->big);
}
static int op_safety(struct bench_ctx *c) {
  char s[IDS_SAFETY_STR_MAX];
  return ids_safety_number(s, c->kp.pub);
}
static int op_user_id(struct bench_ctx *c) {
  char s[IDS_USER_ID_STR_MAX];
  return ids_user_id(s, c->kp.pub);
}
static int op_scrypt_14_8_1(struct bench_ctx *c) {
  return crypto_scrypt(c->shared, 32, "passphrase", 10, c->nonce, 16, 14, 8, 1);
}

static const struct bench_op bench_ops[] = {
    {"ed25519 sign (256 B)", op_sign, 0},
    {"ed25519 verify (256 B)", op_verify, 0},
    {"ed25519 pub from seed", op_sign_keygen, 0},
    {"x25519 dh", op_dh, 0},
    {"x25519 public", op_dh_public, 0},
    {"xchacha20-poly1305 seal 1 KiB", op_seal_1k, 1024},
    {"xchacha20-poly1305 open 1 KiB", op_open_1k, 1024},
    {"sha-256 64 KiB", op_sha256_64k, 64 * 1024},
    {"ids_user_id", op_user_id, 0},
    {"ids_safety_number (5200 x SHA-512)", op_safety, 0},
    {"scrypt N=2^14 r=8 p=1", op_scrypt_14_8_1, 0},
};

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  static struct bench_ctx c;
  if (crypto_sign_keygen(&c.kp) != 0 || crypto_random(c.msg, sizeof c.msg) != 0 ||
      crypto_dh_keygen(c.dh_sec, c.dh_pub) != 0 || crypto_random(c.key, 32) != 0 ||
      crypto_random(c.nonce, 24) != 0 || op_sign(&c) != 0 || op_seal_1k(&c) != 0) {
    fprintf(stderr, "setup failed\n");
    return 1;
  }
  int rc = bench_table(bench_ops, sizeof bench_ops / sizeof bench_ops[0], &c, secs);
  crypto_wipe(&c, sizeof c);
  return rc;
}
