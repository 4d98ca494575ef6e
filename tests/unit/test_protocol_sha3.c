/* Unit tests for protocol/sha3.c: FIPS 202 example values (empty string, "abc", the
 * 448-bit message and 200 bytes of 0xa3) for SHA3-256/512 and SHAKE128/256; the
 * permutation against a step-by-step one whose constants come from FIPS 202 Alg. 2
 * and 5; streaming against one-shot; wolfCrypt's SHA3-256/512 and SHAKE256. */
#include "harness.h"

#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha3.h>

#include "sha3.h"

/* Expected values: NIST's FIPS 202 examples, cross-checked with Python's hashlib
 * (OpenSSL). The SHAKE outputs are the first 32 (128) or 64 (256) bytes and bytes
 * 480..511 of a 512-byte output (four SHAKE128 blocks, so the squeeze runs on). */
struct sha3_vec {
  const char *name;
  const uint8_t *msg;
  size_t len;
  const char *sha3_256, *sha3_512, *shake128, *shake128_tail, *shake256, *shake256_tail;
};

static uint8_t msg_a3[200];
static const char msg_448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static const struct sha3_vec vecs[] = {
    {"empty", (const uint8_t *)"", 0,
     "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
     "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6"
     "15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26",
     "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26",
     "43e41b45a653f2a5c4492c1add544512dda2529833462b71a41a45be97290b6f",
     "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
     "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be",
     "ab0bae316339894304e35877b0c28a9b1fd166c796b9cc258a064a8f57e27f2a"},
    {"abc", (const uint8_t *)"abc", 3,
     "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
     "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
     "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
     "5881092dd818bf5cf8a3ddb793fbcba74097d5c526a6d35f97b83351940f2cc8",
     "7085901803ec6f17f0ec650a292198275211a56bf13f0bf7241268b50d3f1ec8",
     "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739"
     "d5a15bef186a5386c75744c0527e1faa9f8726e462a12a4feb06bd8801e751e4",
     "9440b99d6088e20203aebafa8e9dffa94ed35ef1f41f5fdf549fbcc5a0f68298"},
    {"448 bits", (const uint8_t *)msg_448, sizeof msg_448 - 1,
     "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376",
     "04a371e84ecfb5b8b77cb48610fca8182dd457ce6f326a0fd3d7ec2f1e91636d"
     "ee691fbe0c985302ba1b0d8dc78c086346b533b49c030d99a27daf1139d6e75e",
     "1a96182b50fb8c7e74e0a707788f55e98209b8d91fade8f32f8dd5cff7bf21f5",
     "b0db71fef49e81eb5202552168e51ff3d14a9bab965c213d5319d82c4dbcbcd7",
     "4d8c2dd2435a0128eefbb8c36f6f87133a7911e18d979ee1ae6be5d4fd2e3329"
     "40d8688a4e6a59aa8060f1f9bc996c05aca3c696a8b66279dc672c740bb224ec",
     "5e2334ec2fc8fbe5264adce521678dcf22784d6812c81dcaa4e128e33fe14576"},
    {"1600 bits of 0xa3", msg_a3, sizeof msg_a3,
     "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787",
     "e76dfad22084a8b1467fcf2ffa58361bec7628edf5f3fdc0e4805dc48caeeca8"
     "1b7c13c30adf52a3659584739a2df46be589c51ca1a4a8416df6545a1ce8ba00",
     "131ab8d2b594946b9c81333f9bb6e0ce75c3b93104fa3469d3917457385da037",
     "44c9fb359fd56ac0a9a75a743cff6862f17d7259ab075216c0699511643b6439",
     "cd8a920ed141aa0407a22d59288652e9d9f1a7ee0c1e7c1ca699424da84a904d"
     "2d700caae7396ece96604440577da4f3aa22aeb8857f961c4cd8e06f0ae6610b",
     "6a1a9d7846436e4dca5728b6f760eef0ca92bf0be5615e96959d767197a0beeb"},
};

static void test_fips202_examples(void) {
  memset(msg_a3, 0xa3, sizeof msg_a3);
  for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
    const struct sha3_vec *v = &vecs[i];
    uint8_t want[64], got[512];
    th_current_ = v->name;
    sha3_256(got, v->msg, v->len);
    CHECK_MEM(got, want, th_unhex(want, sizeof want, v->sha3_256));
    sha3_512(got, v->msg, v->len);
    CHECK_MEM(got, want, th_unhex(want, sizeof want, v->sha3_512));
    shake128(got, 512, v->msg, v->len);
    CHECK_MEM(got, want, th_unhex(want, sizeof want, v->shake128));
    CHECK_MEM(got + 480, want, th_unhex(want, sizeof want, v->shake128_tail));
    shake256(got, 512, v->msg, v->len);
    CHECK_MEM(got, want, th_unhex(want, sizeof want, v->shake256));
    CHECK_MEM(got + 480, want, th_unhex(want, sizeof want, v->shake256_tail));
  }
}

/* An independent Keccak-f[1600] written step by step from FIPS 202 section 3.2, with
 * the rotation offsets from Algorithm 2 and the round constants from Algorithms 5
 * and 6 computed here, so the tables in sha3.c are checked rather than trusted. */
static int rc_bit(int t) { /* Algorithm 5, R[0] first */
  int r[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
  if (t % 255 == 0) return 1;
  for (int i = 1; i <= t % 255; i++) {
    memmove(r + 1, r, 8 * sizeof r[0]); /* R = 0 || R */
    r[0] = 0;
    r[0] ^= r[8];
    r[4] ^= r[8];
    r[5] ^= r[8];
    r[6] ^= r[8];
  }
  return r[0];
}

static uint64_t rol64(uint64_t v, unsigned n) {
  n %= 64;
  return n ? (v << n) | (v >> (64 - n)) : v;
}

static void ref_keccakf(uint64_t a[5][5] /* a[x][y] */) {
  unsigned off[5][5] = {{0}};
  int x = 1, y = 0;
  for (int t = 0; t <= 23; t++) { /* Algorithm 2 */
    off[x][y] = (unsigned)((t + 1) * (t + 2) / 2);
    int nx = y, ny = (2 * x + 3 * y) % 5;
    x = nx;
    y = ny;
  }
  for (int ir = 0; ir < 24; ir++) {
    uint64_t c[5], d[5], b[5][5], rc = 0;
    for (x = 0; x < 5; x++) c[x] = a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4];
    for (x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rol64(c[(x + 1) % 5], 1);
    for (x = 0; x < 5; x++)
      for (y = 0; y < 5; y++) a[x][y] ^= d[x];                      /* theta */
    for (x = 0; x < 5; x++)
      for (y = 0; y < 5; y++) b[x][y] = rol64(a[x][y], off[x][y]);  /* rho */
    for (x = 0; x < 5; x++)
      for (y = 0; y < 5; y++) a[x][y] = b[(x + 3 * y) % 5][x];      /* pi */
    for (x = 0; x < 5; x++)
      for (y = 0; y < 5; y++) b[x][y] = a[x][y] ^ (~a[(x + 1) % 5][y] & a[(x + 2) % 5][y]);
    memcpy(a, b, sizeof b);                                         /* chi */
    for (int j = 0; j <= 6; j++)                                    /* iota */
      if (rc_bit(j + 7 * ir)) rc |= (uint64_t)1 << ((1u << j) - 1);
    a[0][0] ^= rc;
  }
}

static void test_keccak_permutation(void) {
  uint64_t s[SHA3_STATE_LANES] = {0}, a[5][5];
  /* Published first lanes of Keccak-f[1600] applied to the all-zero state. */
  sha3_keccakf(s);
  CHECK(s[0] == 0xf1258f7940e1dde7ull);
  CHECK(s[1] == 0x84d5ccf933c0478aull);
  for (int round = 0; round < 8; round++) {
    for (int i = 0; i < SHA3_STATE_LANES; i++) {
      s[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1 + 25 * round);
      s[i] ^= s[i] >> 29;
      a[i % 5][i / 5] = s[i];
    }
    sha3_keccakf(s);
    ref_keccakf(a);
    for (int i = 0; i < SHA3_STATE_LANES; i++) CHECK(s[i] == a[i % 5][i / 5]);
  }
}

/* Splitting input and output at every boundary around the rates gives the one-shot
 * result. */
static void test_streaming(void) {
  uint8_t in[600], one[700], part[700];
  for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)(i * 7 + 3);
  shake128(one, sizeof one, in, sizeof in);
  static const size_t cuts[] = {0, 1, 7, 8, 9, 135, 136, 137, 167, 168, 169, 336, 599};
  for (size_t a = 0; a < sizeof cuts / sizeof cuts[0]; a++) {
    struct sha3_ctx c;
    size_t k = cuts[a];
    shake128_init(&c);
    sha3_absorb(&c, in, k);
    sha3_absorb(&c, in + k, sizeof in - k);
    shake_squeeze(&c, part, k);
    shake_squeeze(&c, part + k, 1);
    shake_squeeze(&c, part + k + 1, sizeof part - k - 1);
    CHECK_MEM(part, one, sizeof one);
  }
  /* Byte-by-byte absorb and squeeze with SHAKE256. */
  struct sha3_ctx c;
  shake256(one, sizeof one, in, sizeof in);
  shake256_init(&c);
  for (size_t i = 0; i < sizeof in; i++) sha3_absorb(&c, in + i, 1);
  for (size_t i = 0; i < sizeof part; i++) shake_squeeze(&c, part + i, 1);
  CHECK_MEM(part, one, sizeof one);
  sha3_256_init(&c);
  sha3_absorb(&c, NULL, 0);
  sha3_256_final(&c, part);
  sha3_256(one, "", 0);
  CHECK_MEM(part, one, 32);
}

/* wolfCrypt's SHA3-256, SHA3-512 and SHAKE256 (it lacks SHAKE128) agree for every
 * input length up to three blocks. */
static void test_against_wolfcrypt(void) {
  uint8_t in[3 * SHAKE256_RATE + 1], a[200], b[200];
  for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)(i * 131 + 17);
  for (size_t n = 0; n <= sizeof in; n++) {
    sha3_256(a, in, n);
    CHECK_EQ(wc_Sha3_256Hash(in, (word32)n, b), 0);
    CHECK_MEM(a, b, 32);
    sha3_512(a, in, n);
    CHECK_EQ(wc_Sha3_512Hash(in, (word32)n, b), 0);
    CHECK_MEM(a, b, 64);
    size_t out = 1 + n % sizeof a;
    shake256(a, out, in, n);
    CHECK_EQ(wc_Shake256Hash(in, (word32)n, b, (word32)out), 0);
    CHECK_MEM(a, b, out);
  }
}

int main(void) {
  RUN(test_fips202_examples);
  RUN(test_keccak_permutation);
  RUN(test_streaming);
  RUN(test_against_wolfcrypt);
  TEST_MAIN_END();
}
