/* protocol/sha3.h — SHA3-256, SHA3-512, SHAKE128 and SHAKE256 (FIPS 202), written
 * here: Debian 12's wolfCrypt is built without SHAKE128 (WOLFSSL_NO_SHAKE128), and
 * ML-KEM needs an incremental SHAKE128. Pure functions over caller-owned buffers; no
 * allocation, no failure. Constant time in the data (Keccak has no data-dependent
 * branches or table lookups). */
#ifndef MOMEDO_SHA3_H
#define MOMEDO_SHA3_H

#include <stddef.h>
#include <stdint.h>

#define SHA3_256_LEN 32
#define SHA3_512_LEN 64
#define SHA3_STATE_LANES 25 /* Keccak-f[1600]: 25 lanes of 64 bits */
#define SHAKE128_RATE 168   /* bytes per block: (1600 - 2*128) / 8 */
#define SHAKE256_RATE 136
#define SHA3_256_RATE 136
#define SHA3_512_RATE 72

/* One sponge. Embed it anywhere; sha3_ctx_wipe() when it held secrets. Absorb any
 * number of times, then squeeze any number of times (SHAKE) or finish once (SHA3);
 * absorbing after the first squeeze is a programmer error (assertion). */
struct sha3_ctx {
  uint64_t s[SHA3_STATE_LANES];
  uint32_t rate;   /* bytes */
  uint32_t pos;    /* byte offset inside the current block */
  uint8_t suffix;  /* domain bits plus the first pad bit: 0x06 SHA3, 0x1f SHAKE */
  uint8_t squeezing;
};

void sha3_256_init(struct sha3_ctx *c);
void sha3_512_init(struct sha3_ctx *c);
void shake128_init(struct sha3_ctx *c);
void shake256_init(struct sha3_ctx *c);
/* Absorb n bytes (in may be NULL when n is 0). */
void sha3_absorb(struct sha3_ctx *c, const void *in, size_t n);
/* SHAKE: the next n bytes of output; call again for more. */
void shake_squeeze(struct sha3_ctx *c, uint8_t *out, size_t n);
/* SHA3-256 / SHA3-512 digest; the context is wiped afterwards. */
void sha3_256_final(struct sha3_ctx *c, uint8_t out[static SHA3_256_LEN]);
void sha3_512_final(struct sha3_ctx *c, uint8_t out[static SHA3_512_LEN]);
void sha3_ctx_wipe(struct sha3_ctx *c);

/* One-shot forms. */
void sha3_256(uint8_t out[static SHA3_256_LEN], const void *in, size_t n);
void sha3_512(uint8_t out[static SHA3_512_LEN], const void *in, size_t n);
void shake128(uint8_t *out, size_t out_len, const void *in, size_t n);
void shake256(uint8_t *out, size_t out_len, const void *in, size_t n);

/* Keccak-f[1600] on 25 lanes (exposed for the FIPS 202 permutation test). */
void sha3_keccakf(uint64_t s[static SHA3_STATE_LANES]);

#endif
