/* Unit tests for protocol/mlkem.c against every ML-KEM-768 vector set in
 * tests/vectors/ml-kem (C2SP/CCTV): each intermediate value of KeyGen, Encaps and
 * Decaps, the strcmp and unlucky-sampling vectors, all invalid-modulus keys, and the
 * 10,000-test accumulated hash; plus implicit rejection, the §7 input checks and
 * random round trips through the DRBG wrappers. */
#include "harness.h"

#include <zlib.h>

#include "crypto.h"
#include "mlkem.h"
#include "mlkem_accumulated.h"
#include "mlkem_int.h"
#include "sha3.h"

#define VEC_DIR MOMEDO_VECTORS_DIR "/ml-kem/"
#define VEC_LINES_MAX 64

/* A "key = value" file. A value may itself be "NTT(s) = hex" or "{decimals} = hex". */
struct vec_file {
  char *buf;
  size_t n;
  const char *key[VEC_LINES_MAX], *val[VEC_LINES_MAX];
};

static int vec_load(struct vec_file *f, const char *path) {
  FILE *fp = fopen(path, "rb");
  long len;
  memset(f, 0, sizeof *f);
  if (fp == NULL) return -1;
  if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0 ||
      (f->buf = malloc((size_t)len + 1)) == NULL ||
      fread(f->buf, 1, (size_t)len, fp) != (size_t)len) {
    fclose(fp);
    return -1;
  }
  fclose(fp);
  f->buf[len] = '\0';
  for (char *line = strtok(f->buf, "\n"); line && f->n < VEC_LINES_MAX;
       line = strtok(NULL, "\n")) {
    char *sep = strstr(line, " = ");
    if (sep == NULL) continue;
    *sep = '\0';
    f->key[f->n] = line;
    f->val[f->n++] = sep + 3;
  }
  return 0;
}

/* The nth value (0-based) stored under key, or NULL. */
static const char *vec_get(const struct vec_file *f, const char *key, int nth) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->key[i], key) == 0 && nth-- == 0) return f->val[i];
  return NULL;
}

/* The hex part of a value: after its last " = ", if any. */
static const char *hex_of(const char *val) {
  const char *p;
  while (val != NULL && (p = strstr(val, " = ")) != NULL) val = p + 3;
  return val;
}

/* 1 if hex spells exactly the n bytes at got. */
static int hex_eq(const uint8_t *got, size_t n, const char *val) {
  const char *hex = hex_of(val);
  if (hex == NULL || strlen(hex) != 2 * n) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v != got[i]) return 0;
  }
  return 1;
}

/* 1 if "{c0, c1, ...}" lists exactly the 256 coefficients of f. */
static int dec_eq(const struct mlkem_poly *f, const char *s) {
  int i = 0;
  if (s == NULL || *s++ != '{') return 0;
  for (; i < MLKEM_N; i++) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || v != f->c[i]) return 0;
    s = end;
    if (*s == ',') s += 2;
  }
  return *s == '}' && (s[1] == '\0' || strncmp(s + 1, " = ", 3) == 0);
}

static void unhex(uint8_t *out, size_t n, const char *val) {
  const char *hex = hex_of(val);
  if (hex == NULL || strlen(hex) != 2 * n) abort();
  th_unhex(out, n, hex);
}

static void encode_vec(uint8_t *out, const struct mlkem_poly *v, int count, unsigned d) {
  for (int i = 0; i < count; i++) mlkem__encode(out + 32 * d * (size_t)i, &v[i], d);
}

/* ---- intermediate values ---- */

struct inter {
  struct vec_file f;
  uint8_t d[32], z[32], rs[64], m[32], h[32], kr[64];
  uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], c[MLKEM768_CT_LEN];
  uint8_t buf[9 * MLKEM_POLY_BYTES];
  struct mlkem_poly s[MLKEM_K], t[MLKEM_K], y[MLKEM_K], u[MLKEM_K], v, mu, a;
};

/* K-PKE.KeyGen step by step, then ML-KEM.KeyGen_internal as a whole. */
static void inter_keygen(struct inter *x) {
  struct vec_file *f = &x->f;
  struct mlkem_poly e[MLKEM_K];
  unhex(x->d, 32, vec_get(f, "d", 0));
  unhex(x->z, 32, vec_get(f, "z", 0));
  sha3_512(x->rs, x->d, 32); /* ipd: G(d), without the final standard's k byte */
  CHECK(hex_eq(x->rs, 32, vec_get(f, "ρ", 0)));
  CHECK(hex_eq(x->rs + 32, 32, vec_get(f, "σ", 0)));
  mlkem__sample_ntt(&x->a, x->rs, 0, 0);
  CHECK(dec_eq(&x->a, vec_get(f, "A[0, 0]", 0)));
  for (int i = 0; i < MLKEM_K; i++)
    for (int j = 0; j < MLKEM_K; j++) {
      mlkem__sample_ntt(&x->a, x->rs, (uint8_t)j, (uint8_t)i); /* A[i][j] */
      mlkem__encode(x->buf + (3 * i + j) * MLKEM_POLY_BYTES, &x->a, 12);
    }
  CHECK(hex_eq(x->buf, sizeof x->buf, vec_get(f, "A", 0)));
  for (int i = 0; i < MLKEM_K; i++) mlkem__sample_cbd2(&x->s[i], x->rs + 32, (uint8_t)i);
  for (int i = 0; i < MLKEM_K; i++) mlkem__sample_cbd2(&e[i], x->rs + 32, (uint8_t)(3 + i));
  CHECK(dec_eq(&x->s[0], vec_get(f, "s[0]", 0)));
  encode_vec(x->buf, x->s, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "s", 0)));
  encode_vec(x->buf, e, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "e", 0)));
  for (int i = 0; i < MLKEM_K; i++) {
    mlkem__ntt(&x->s[i]);
    mlkem__ntt(&e[i]);
  }
  CHECK(dec_eq(&x->s[0], vec_get(f, "NTT(s[0])", 0)));
  encode_vec(x->buf, x->s, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "dkPKE", 0)));
  encode_vec(x->buf, e, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "NTT(e)", 0)));
  for (int i = 0; i < MLKEM_K; i++) {
    uint32_t acc[MLKEM_N] = {0};
    for (int j = 0; j < MLKEM_K; j++) {
      mlkem__sample_ntt(&x->a, x->rs, (uint8_t)j, (uint8_t)i);
      mlkem__mul_acc(acc, &x->a, &x->s[j]);
    }
    mlkem__acc_reduce(&x->t[i], acc);
    mlkem__add(&x->t[i], &x->t[i], &e[i]);
  }
  encode_vec(x->buf, x->t, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "t", 0)));
  mlkem__keygen_variant(x->ek, x->dk, x->d, x->z, MLKEM__IPD);
  CHECK(hex_eq(x->ek, sizeof x->ek, vec_get(f, "ek", 0)));
  /* The file's second "dkPKE" line is K-PKE's encryption key (equal to ek). */
  CHECK(hex_eq(x->ek, sizeof x->ek, vec_get(f, "dkPKE", 1)));
  sha3_256(x->h, x->ek, sizeof x->ek);
  CHECK(hex_eq(x->h, 32, vec_get(f, "H(ek)", 0)));
  CHECK(hex_eq(x->dk, sizeof x->dk, vec_get(f, "dk", 0)));
  /* Final FIPS 203 differs exactly in rho, sigma = G(d || k): its ek ends in that rho. */
  static uint8_t ek2[MLKEM768_EK_LEN], dk2[MLKEM768_DK_LEN];
  uint8_t dk3[33], rs[64];
  memcpy(dk3, x->d, 32);
  dk3[32] = MLKEM_K;
  sha3_512(rs, dk3, sizeof dk3);
  mlkem768_keygen_derand(ek2, dk2, x->d, x->z);
  CHECK_MEM(ek2 + MLKEM768_EK_LEN - 32, rs, 32);
  CHECK(memcmp(ek2, x->ek, MLKEM_PKE_SK_LEN) != 0);
}

/* u and v of K-PKE.Encrypt step by step (y was named r in the file). */
static void inter_encrypt(struct inter *x) {
  struct vec_file *f = &x->f;
  struct mlkem_poly e1[MLKEM_K], e2;
  const uint8_t *r = x->kr + 32;
  for (int i = 0; i < MLKEM_K; i++)
    for (int j = 0; j < MLKEM_K; j++) {
      mlkem__sample_ntt(&x->a, x->rs, (uint8_t)i, (uint8_t)j); /* A^T[i][j] = A[j][i] */
      mlkem__encode(x->buf + (3 * i + j) * MLKEM_POLY_BYTES, &x->a, 12);
    }
  CHECK(hex_eq(x->buf, sizeof x->buf, vec_get(f, "A^T", 0)));
  for (int i = 0; i < MLKEM_K; i++) {
    mlkem__sample_cbd2(&x->y[i], r, (uint8_t)i);
    mlkem__sample_cbd2(&e1[i], r, (uint8_t)(3 + i));
  }
  mlkem__sample_cbd2(&e2, r, 6);
  encode_vec(x->buf, x->y, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "r", 1)));
  encode_vec(x->buf, e1, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "e1", 0)));
  encode_vec(x->buf, &e2, 1, 12);
  CHECK(hex_eq(x->buf, MLKEM_POLY_BYTES, vec_get(f, "e2", 0)));
  for (int i = 0; i < MLKEM_K; i++) mlkem__ntt(&x->y[i]);
  encode_vec(x->buf, x->y, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "NTT(r)", 0)));
  for (int i = 0; i < MLKEM_K; i++) {
    uint32_t acc[MLKEM_N] = {0};
    for (int j = 0; j < MLKEM_K; j++) {
      mlkem__sample_ntt(&x->a, x->rs, (uint8_t)i, (uint8_t)j);
      mlkem__mul_acc(acc, &x->a, &x->y[j]);
    }
    mlkem__acc_reduce(&x->u[i], acc);
    mlkem__intt(&x->u[i]);
    mlkem__add(&x->u[i], &x->u[i], &e1[i]);
  }
  encode_vec(x->buf, x->u, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "u", 0)));
  CHECK(dec_eq(&x->u[0], vec_get(f, "u[0]", 0)));
  mlkem__decode(&x->mu, x->m, 1);
  mlkem__decompress(&x->mu, 1);
  encode_vec(x->buf, &x->mu, 1, 12);
  CHECK(hex_eq(x->buf, MLKEM_POLY_BYTES, vec_get(f, "μ", 0)));
  uint32_t acc[MLKEM_N] = {0};
  for (int i = 0; i < MLKEM_K; i++) mlkem__mul_acc(acc, &x->t[i], &x->y[i]);
  mlkem__acc_reduce(&x->v, acc);
  mlkem__intt(&x->v);
  mlkem__add(&x->v, &x->v, &e2);
  mlkem__add(&x->v, &x->v, &x->mu);
  CHECK(dec_eq(&x->v, vec_get(f, "v", 0)));
}

static void inter_encaps(struct inter *x) {
  struct vec_file *f = &x->f;
  uint8_t k[32];
  struct sha3_ctx g;
  unhex(x->m, 32, vec_get(f, "m", 0));
  sha3_512_init(&g);
  sha3_absorb(&g, x->m, 32);
  sha3_absorb(&g, x->h, 32);
  sha3_512_final(&g, x->kr);
  CHECK(hex_eq(x->kr, 32, vec_get(f, "K", 0)));
  CHECK(hex_eq(x->kr + 32, 32, vec_get(f, "r", 0)));
  inter_encrypt(x);
  for (int i = 0; i < MLKEM_K; i++) mlkem__compress(&x->u[i], MLKEM_DU);
  CHECK(dec_eq(&x->u[0], vec_get(f, "compress(u[0])", 0)));
  encode_vec(x->buf, x->u, MLKEM_K, MLKEM_DU);
  CHECK(hex_eq(x->buf, MLKEM_C1_LEN, vec_get(f, "c1", 0)));
  mlkem__compress(&x->v, MLKEM_DV);
  CHECK(dec_eq(&x->v, vec_get(f, "compress(v)", 0)));
  encode_vec(x->buf, &x->v, 1, MLKEM_DV);
  CHECK(hex_eq(x->buf, MLKEM_C2_LEN, vec_get(f, "c2", 0)));
  CHECK_EQ(mlkem768_encaps_derand(x->c, k, x->ek, sizeof x->ek, x->m), 0);
  CHECK(hex_eq(x->c, sizeof x->c, vec_get(f, "c", 0)));
  CHECK(hex_eq(k, 32, vec_get(f, "K", 0)));
}

static void inter_decaps(struct inter *x) {
  struct vec_file *f = &x->f;
  struct mlkem_poly ud[MLKEM_K], vd, w;
  uint32_t acc[MLKEM_N] = {0};
  uint8_t m2[32], k[32];
  for (int i = 0; i < MLKEM_K; i++) {
    mlkem__decode(&ud[i], x->c + 320 * i, MLKEM_DU);
    mlkem__decompress(&ud[i], MLKEM_DU);
  }
  encode_vec(x->buf, ud, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "uᵈ", 0)));
  for (int i = 0; i < MLKEM_K; i++) mlkem__ntt(&ud[i]);
  encode_vec(x->buf, ud, MLKEM_K, 12);
  CHECK(hex_eq(x->buf, MLKEM_PKE_SK_LEN, vec_get(f, "NTT(uᵈ)", 0)));
  mlkem__decode(&vd, x->c + MLKEM_C1_LEN, MLKEM_DV);
  mlkem__decompress(&vd, MLKEM_DV);
  encode_vec(x->buf, &vd, 1, 12);
  CHECK(hex_eq(x->buf, MLKEM_POLY_BYTES, vec_get(f, "vᵈ", 0)));
  for (int i = 0; i < MLKEM_K; i++) mlkem__mul_acc(acc, &x->s[i], &ud[i]);
  mlkem__acc_reduce(&w, acc);
  mlkem__intt(&w);
  mlkem__sub(&w, &vd, &w);
  encode_vec(x->buf, &w, 1, 12);
  CHECK(hex_eq(x->buf, MLKEM_POLY_BYTES, vec_get(f, "w", 0)));
  mlkem__pke_decrypt(m2, x->dk, x->c);
  CHECK_MEM(m2, x->m, 32);
  uint8_t zc[32 + MLKEM768_CT_LEN];
  memcpy(zc, x->z, 32);
  memcpy(zc + 32, x->c, sizeof x->c);
  shake256(k, 32, zc, sizeof zc);
  CHECK(hex_eq(k, 32, vec_get(f, "KBar", 0)));
  CHECK_EQ(mlkem768_decaps(k, x->c, sizeof x->c, x->dk, sizeof x->dk), 0);
  CHECK(hex_eq(k, 32, vec_get(f, "K", 0)));
}

static void test_intermediate(void) {
  static struct inter x;
  CHECK_EQ(vec_load(&x.f, VEC_DIR "intermediate/ML-KEM-768.txt"), 0);
  CHECK_EQ(x.f.n, 39);
  inter_keygen(&x);
  inter_encaps(&x);
  inter_decaps(&x);
  free(x.f.buf);
}

/* ---- strcmp, unlucky sampling, invalid modulus ---- */

static void test_strcmp(void) {
  struct vec_file f;
  static uint8_t dk[MLKEM768_DK_LEN], c[MLKEM768_CT_LEN];
  uint8_t k[32];
  CHECK_EQ(vec_load(&f, VEC_DIR "strcmp/ML-KEM-768.txt"), 0);
  unhex(dk, sizeof dk, vec_get(&f, "dk", 0));
  unhex(c, sizeof c, vec_get(&f, "c", 0));
  CHECK_EQ(mlkem768_decaps(k, c, sizeof c, dk, sizeof dk), 0);
  CHECK(hex_eq(k, 32, vec_get(&f, "K", 0)));
  /* The expected K is the rejection secret J(z || c). */
  uint8_t zc[32 + MLKEM768_CT_LEN], kbar[32];
  memcpy(zc, dk + MLKEM768_DK_LEN - 32, 32);
  memcpy(zc + 32, c, sizeof c);
  shake256(kbar, 32, zc, sizeof zc);
  CHECK_MEM(k, kbar, 32);
  free(f.buf);
}

static void test_unlucky_sampling(void) {
  struct vec_file f;
  static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], c[MLKEM768_CT_LEN];
  uint8_t d[32], z[32], m[32], k[32];
  CHECK_EQ(vec_load(&f, VEC_DIR "unluckysample/ML-KEM-768.txt"), 0);
  unhex(d, 32, vec_get(&f, "d", 0));
  unhex(z, 32, vec_get(&f, "z", 0));
  unhex(m, 32, vec_get(&f, "m", 0));
  mlkem__keygen_variant(ek, dk, d, z, MLKEM__IPD);
  CHECK(hex_eq(ek, sizeof ek, vec_get(&f, "ek", 0)));
  CHECK(hex_eq(dk, sizeof dk, vec_get(&f, "dk", 0)));
  CHECK_EQ(mlkem768_encaps_derand(c, k, ek, sizeof ek, m), 0);
  CHECK(hex_eq(c, sizeof c, vec_get(&f, "c", 0)));
  CHECK(hex_eq(k, 32, vec_get(&f, "K", 0)));
  memset(k, 0, sizeof k);
  CHECK_EQ(mlkem768_decaps(k, c, sizeof c, dk, sizeof dk), 0);
  CHECK(hex_eq(k, 32, vec_get(&f, "K", 0)));
  free(f.buf);
}

/* Every key in the file is refused by the check and by Encaps; the same key with its
 * one bad coefficient reduced mod q is accepted, so the modulus is what failed. */
static void test_invalid_modulus(void) {
  gzFile gz = gzopen(VEC_DIR "modulus/ML-KEM-768.txt.gz", "rb");
  static char line[2 * MLKEM768_EK_LEN + 16];
  static uint8_t ek[MLKEM768_EK_LEN], ct[MLKEM768_CT_LEN];
  uint8_t m[32] = {7}, k[32];
  int n = 0;
  CHECK(gz != NULL);
  while (gzgets(gz, line, sizeof line) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') continue;
    unhex(ek, sizeof ek, line);
    k[0] = 1;
    if (mlkem768_ek_check(ek, sizeof ek) != MOMEDO_E_BADKEY ||
        mlkem768_encaps_derand(ct, k, ek, sizeof ek, m) != MOMEDO_E_BADKEY || k[0] != 0) {
      fprintf(stderr, "modulus key %d accepted\n", n);
      gzclose(gz);
      CHECK(0);
    }
    for (int i = 0; i < MLKEM_K; i++) { /* reduce mod q, then it must pass */
      struct mlkem_poly t;
      mlkem__decode(&t, ek + i * MLKEM_POLY_BYTES, 12);
      mlkem__encode(ek + i * MLKEM_POLY_BYTES, &t, 12);
    }
    if (mlkem768_encaps_derand(ct, k, ek, sizeof ek, m) != 0) {
      gzclose(gz);
      CHECK(0);
    }
    n++;
  }
  gzclose(gz);
  CHECK_EQ(n, 780);
}

static void test_accumulated_10k_ipd(void) {
  uint8_t out[32];
  CHECK_EQ(mlkem_accumulated(out, 10000, MLKEM__IPD), 0);
  CHECK(hex_eq(out, 32, MLKEM_ACC_IPD_10K));
}

static void test_accumulated_10k_final(void) {
  uint8_t out[32];
  CHECK_EQ(mlkem_accumulated(out, 10000, MLKEM__FINAL), 0);
  CHECK(hex_eq(out, 32, MLKEM_ACC_FINAL_10K));
}

/* ---- behaviour beyond the vectors ---- */

static void test_roundtrip_and_rejection(void) {
  static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN],
      zc[32 + MLKEM768_CT_LEN];
  uint8_t k1[32], k2[32], kbar[32];
  for (int round = 0; round < 4; round++) {
    CHECK_EQ(mlkem768_keygen(ek, dk), 0);
    CHECK_EQ(mlkem768_ek_check(ek, sizeof ek), 0);
    CHECK_EQ(mlkem768_dk_check(dk, sizeof dk), 0);
    CHECK_MEM(dk + MLKEM_PKE_SK_LEN, ek, sizeof ek);
    CHECK_EQ(mlkem768_encaps(ct, k1, ek, sizeof ek), 0);
    CHECK_EQ(mlkem768_decaps(k2, ct, sizeof ct, dk, sizeof dk), 0);
    CHECK_MEM(k1, k2, 32);
    /* One flipped bit in u, in v, at either end: the secret is J(z || c'), not K. */
    static const size_t flips[] = {0, 500, MLKEM_C1_LEN - 1, MLKEM_C1_LEN, MLKEM768_CT_LEN - 1};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
      ct[flips[i]] ^= (uint8_t)(1u << round);
      CHECK_EQ(mlkem768_decaps(k2, ct, sizeof ct, dk, sizeof dk), 0);
      memcpy(zc, dk + MLKEM768_DK_LEN - 32, 32);
      memcpy(zc + 32, ct, sizeof ct);
      shake256(kbar, 32, zc, sizeof zc);
      CHECK_MEM(k2, kbar, 32);
      CHECK(memcmp(k2, k1, 32) != 0);
      ct[flips[i]] ^= (uint8_t)(1u << round);
    }
  }
}

/* The input checks of FIPS 203 section 7: lengths, the ek modulus, the dk hash. */
static void test_input_checks(void) {
  static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN];
  uint8_t k[32], m[32] = {1}, d[32] = {2}, z[32] = {3};
  mlkem768_keygen_derand(ek, dk, d, z);
  CHECK_EQ(mlkem768_ek_check(ek, sizeof ek - 1), MOMEDO_E_BADKEY);
  CHECK_EQ(mlkem768_ek_check(NULL, sizeof ek), MOMEDO_E_BADKEY);
  CHECK_EQ(mlkem768_encaps_derand(ct, k, ek, sizeof ek + 1, m), MOMEDO_E_BADKEY);
  CHECK_EQ(mlkem768_encaps_derand(ct, k, ek, sizeof ek, m), 0);
  /* rho is not checked (any 32 bytes are fine); the last coefficient is. */
  ek[MLKEM768_EK_LEN - 1] ^= 0xff;
  CHECK_EQ(mlkem768_ek_check(ek, sizeof ek), 0);
  ek[MLKEM768_EK_LEN - 1] ^= 0xff;
  uint8_t save = ek[MLKEM_PKE_SK_LEN - 1];
  ek[MLKEM_PKE_SK_LEN - 1] = 0xff; /* top 8 bits of the last coefficient: >= 0xff0 */
  CHECK_EQ(mlkem768_ek_check(ek, sizeof ek), MOMEDO_E_BADKEY);
  ek[MLKEM_PKE_SK_LEN - 1] = save;

  CHECK_EQ(mlkem768_decaps(k, ct, sizeof ct - 1, dk, sizeof dk), MOMEDO_E_BOUNDS);
  CHECK_EQ(mlkem768_decaps(k, NULL, sizeof ct, dk, sizeof dk), MOMEDO_E_BOUNDS);
  CHECK_EQ(mlkem768_decaps(k, ct, sizeof ct, dk, sizeof dk - 1), MOMEDO_E_BADKEY);
  /* A changed byte in the embedded ek or in H(ek) fails the hash check; z and dkPKE
   * are not covered by it (FIPS 203 checks only the hash). */
  static const size_t hashed[] = {MLKEM_PKE_SK_LEN, MLKEM_PKE_SK_LEN + MLKEM768_EK_LEN - 1,
                                  MLKEM_PKE_SK_LEN + MLKEM768_EK_LEN,
                                  MLKEM768_DK_LEN - 33};
  for (size_t i = 0; i < sizeof hashed / sizeof hashed[0]; i++) {
    dk[hashed[i]] ^= 0x10;
    k[0] = 0x55;
    CHECK_EQ(mlkem768_dk_check(dk, sizeof dk), MOMEDO_E_BADKEY);
    CHECK_EQ(mlkem768_decaps(k, ct, sizeof ct, dk, sizeof dk), MOMEDO_E_BADKEY);
    CHECK_EQ(k[0], 0);
    dk[hashed[i]] ^= 0x10;
  }
  dk[MLKEM768_DK_LEN - 1] ^= 1;
  CHECK_EQ(mlkem768_decaps(k, ct, sizeof ct, dk, sizeof dk), 0);
  dk[MLKEM768_DK_LEN - 1] ^= 1;
}

int main(void) {
  RUN(test_intermediate);
  RUN(test_strcmp);
  RUN(test_unlucky_sampling);
  RUN(test_invalid_modulus);
  RUN(test_roundtrip_and_rejection);
  RUN(test_input_checks);
  RUN(test_accumulated_10k_ipd);
  RUN(test_accumulated_10k_final);
  TEST_MAIN_END();
}
