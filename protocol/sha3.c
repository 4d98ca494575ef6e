/* protocol/sha3.c — Keccak-f[1600] and the sponge of FIPS 202, for SHA3-256/512 and
 * SHAKE128/256 (see sha3.h for why it is not wolfCrypt's). Written from FIPS 202
 * sections 3 to 6. Lanes are little-endian 64-bit words; no table is indexed by data,
 * so timing does not depend on what is hashed. */
#include <assert.h>
#include <string.h>

#include "crypto.h"
#include "sha3.h"

#define SHA3_ROUNDS 24
#define SHA3_SUFFIX_SHA3 0x06  /* "01" domain bits, then the first bit of pad10*1 */
#define SHA3_SUFFIX_SHAKE 0x1f /* "1111" domain bits, then the first bit of pad10*1 */

/* iota round constants RC[i] (FIPS 202 Algorithm 6, from the rc(t) LFSR of Alg. 5;
 * test_protocol_sha3 recomputes them). */
static const uint64_t sha3_rc[SHA3_ROUNDS] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull,
    0x8000000080008000ull, 0x000000000000808bull, 0x0000000080000001ull,
    0x8000000080008081ull, 0x8000000000008009ull, 0x000000000000008aull,
    0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull,
    0x8000000000008003ull, 0x8000000000008002ull, 0x8000000000000080ull,
    0x000000000000800aull, 0x800000008000000aull, 0x8000000080008081ull,
    0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};

static inline uint64_t sha3_load64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static inline void sha3_store64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#define ROL(v, n) (((v) << (n)) | ((v) >> ((64 - (n)) & 63)))

/* chi on row y (lanes 5y .. 5y+4) from b into a. */
#define SHA3_CHI_ROW(y)                                                            \
  do {                                                                             \
    a[(y) + 0] = b[(y) + 0] ^ (~b[(y) + 1] & b[(y) + 2]);                          \
    a[(y) + 1] = b[(y) + 1] ^ (~b[(y) + 2] & b[(y) + 3]);                          \
    a[(y) + 2] = b[(y) + 2] ^ (~b[(y) + 3] & b[(y) + 4]);                          \
    a[(y) + 3] = b[(y) + 3] ^ (~b[(y) + 4] & b[(y) + 0]);                          \
    a[(y) + 4] = b[(y) + 4] ^ (~b[(y) + 0] & b[(y) + 1]);                          \
  } while (0)

/* One round is theta, rho, pi, chi, iota (FIPS 202 section 3.3). Unrolled, with lane
 * (x, y) at index x + 5y: theta's column parities c and d; then each lane, theta-ed
 * and rotated by its rho offset (Algorithm 2), goes to its pi position (y, 2x + 3y). */
void sha3_keccakf(uint64_t s[static SHA3_STATE_LANES]) {
  uint64_t a[SHA3_STATE_LANES], b[SHA3_STATE_LANES], c[5], d[5];
  memcpy(a, s, sizeof a);
  for (int round = 0; round < SHA3_ROUNDS; round++) {
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    d[0] = c[4] ^ ROL(c[1], 1);
    d[1] = c[0] ^ ROL(c[2], 1);
    d[2] = c[1] ^ ROL(c[3], 1);
    d[3] = c[2] ^ ROL(c[4], 1);
    d[4] = c[3] ^ ROL(c[0], 1);
    b[ 0] = ROL(a[ 0] ^ d[0],  0); b[10] = ROL(a[ 1] ^ d[1],  1); b[20] = ROL(a[ 2] ^ d[2], 62);
    b[ 5] = ROL(a[ 3] ^ d[3], 28); b[15] = ROL(a[ 4] ^ d[4], 27); b[16] = ROL(a[ 5] ^ d[0], 36);
    b[ 1] = ROL(a[ 6] ^ d[1], 44); b[11] = ROL(a[ 7] ^ d[2],  6); b[21] = ROL(a[ 8] ^ d[3], 55);
    b[ 6] = ROL(a[ 9] ^ d[4], 20); b[ 7] = ROL(a[10] ^ d[0],  3); b[17] = ROL(a[11] ^ d[1], 10);
    b[ 2] = ROL(a[12] ^ d[2], 43); b[12] = ROL(a[13] ^ d[3], 25); b[22] = ROL(a[14] ^ d[4], 39);
    b[23] = ROL(a[15] ^ d[0], 41); b[ 8] = ROL(a[16] ^ d[1], 45); b[18] = ROL(a[17] ^ d[2], 15);
    b[ 3] = ROL(a[18] ^ d[3], 21); b[13] = ROL(a[19] ^ d[4],  8); b[14] = ROL(a[20] ^ d[0], 18);
    b[24] = ROL(a[21] ^ d[1],  2); b[ 9] = ROL(a[22] ^ d[2], 61); b[19] = ROL(a[23] ^ d[3], 56);
    b[ 4] = ROL(a[24] ^ d[4], 14);
    SHA3_CHI_ROW(0);
    SHA3_CHI_ROW(5);
    SHA3_CHI_ROW(10);
    SHA3_CHI_ROW(15);
    SHA3_CHI_ROW(20);
    a[0] ^= sha3_rc[round]; /* iota */
  }
  memcpy(s, a, sizeof a);
  /* The lanes may be keyed (PRF, J): clear the stack copies. memset plus a barrier,
   * not crypto_wipe's byte loop, because this runs for every block. */
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  __asm__ __volatile__("" : : "r"(a), "r"(b) : "memory");
}

static void sha3_init(struct sha3_ctx *c, uint32_t rate, uint8_t suffix) {
  memset(c, 0, sizeof *c);
  c->rate = rate;
  c->suffix = suffix;
}

void sha3_256_init(struct sha3_ctx *c) { sha3_init(c, SHA3_256_RATE, SHA3_SUFFIX_SHA3); }
void sha3_512_init(struct sha3_ctx *c) { sha3_init(c, SHA3_512_RATE, SHA3_SUFFIX_SHA3); }
void shake128_init(struct sha3_ctx *c) { sha3_init(c, SHAKE128_RATE, SHA3_SUFFIX_SHAKE); }
void shake256_init(struct sha3_ctx *c) { sha3_init(c, SHAKE256_RATE, SHA3_SUFFIX_SHAKE); }

void sha3_absorb(struct sha3_ctx *c, const void *in, size_t n) {
  const uint8_t *p = in;
  assert(!c->squeezing);
  assert(p != NULL || n == 0);
  while (n > 0) {
    if (c->pos == 0 && n >= c->rate) { /* whole blocks: lanes at once */
      for (uint32_t i = 0; i < c->rate / 8; i++) c->s[i] ^= sha3_load64(p + 8 * i);
      sha3_keccakf(c->s);
      p += c->rate;
      n -= c->rate;
      continue;
    }
    c->s[c->pos >> 3] ^= (uint64_t)*p++ << (8 * (c->pos & 7));
    n--;
    if (++c->pos == c->rate) {
      sha3_keccakf(c->s);
      c->pos = 0;
    }
  }
}

/* pad10*1 after the domain bits, then the first permutation of the squeeze phase. */
static void sha3_pad(struct sha3_ctx *c) {
  c->s[c->pos >> 3] ^= (uint64_t)c->suffix << (8 * (c->pos & 7));
  c->s[(c->rate - 1) >> 3] ^= (uint64_t)0x80 << (8 * ((c->rate - 1) & 7));
  sha3_keccakf(c->s);
  c->pos = 0;
  c->squeezing = 1;
}

void shake_squeeze(struct sha3_ctx *c, uint8_t *out, size_t n) {
  assert(out != NULL || n == 0);
  if (!c->squeezing) sha3_pad(c);
  while (n > 0) {
    if (c->pos == c->rate) {
      sha3_keccakf(c->s);
      c->pos = 0;
    }
    if (c->pos == 0 && n >= c->rate) {
      for (uint32_t i = 0; i < c->rate / 8; i++) sha3_store64(out + 8 * i, c->s[i]);
      out += c->rate;
      n -= c->rate;
      c->pos = c->rate;
      continue;
    }
    *out++ = (uint8_t)(c->s[c->pos >> 3] >> (8 * (c->pos & 7)));
    c->pos++;
    n--;
  }
}

void sha3_ctx_wipe(struct sha3_ctx *c) { crypto_wipe(c, sizeof *c); }

void sha3_256_final(struct sha3_ctx *c, uint8_t out[static SHA3_256_LEN]) {
  assert(c->rate == SHA3_256_RATE && c->suffix == SHA3_SUFFIX_SHA3 && !c->squeezing);
  shake_squeeze(c, out, SHA3_256_LEN);
  sha3_ctx_wipe(c);
}

void sha3_512_final(struct sha3_ctx *c, uint8_t out[static SHA3_512_LEN]) {
  assert(c->rate == SHA3_512_RATE && c->suffix == SHA3_SUFFIX_SHA3 && !c->squeezing);
  shake_squeeze(c, out, SHA3_512_LEN);
  sha3_ctx_wipe(c);
}

void sha3_256(uint8_t out[static SHA3_256_LEN], const void *in, size_t n) {
  struct sha3_ctx c;
  sha3_256_init(&c);
  sha3_absorb(&c, in, n);
  sha3_256_final(&c, out);
}

void sha3_512(uint8_t out[static SHA3_512_LEN], const void *in, size_t n) {
  struct sha3_ctx c;
  sha3_512_init(&c);
  sha3_absorb(&c, in, n);
  sha3_512_final(&c, out);
}

void shake128(uint8_t *out, size_t out_len, const void *in, size_t n) {
  struct sha3_ctx c;
  shake128_init(&c);
  sha3_absorb(&c, in, n);
  shake_squeeze(&c, out, out_len);
  sha3_ctx_wipe(&c);
}

void shake256(uint8_t *out, size_t out_len, const void *in, size_t n) {
  struct sha3_ctx c;
  shake256_init(&c);
  sha3_absorb(&c, in, n);
  shake_squeeze(&c, out, out_len);
  sha3_ctx_wipe(&c);
}
