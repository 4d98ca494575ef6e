/* Unit tests for protocol/crypto.c against published vectors: RFC 8032 (Ed25519),
 * RFC 7748 (X25519), RFC 8439 (ChaCha20-Poly1305), draft-irtf-cfrg-xchacha-03,
 * RFC 5869 (HKDF), FIPS 180 (SHA-2), RFC 4231 (HMAC), RFC 7914 (scrypt). */
#include "harness.h"

#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"

/* ---- Ed25519: RFC 8032 section 7.1 ---- */

struct ed_vec {
  const char *name, *sk, *pk, *msg, *sig;
};

static const struct ed_vec ed_vecs[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    /* TEST SHA(abc): the message is SHA-512("abc"). */
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

static void test_ed25519_rfc8032(void) {
  for (size_t i = 0; i < sizeof ed_vecs / sizeof ed_vecs[0]; i++) {
    const struct ed_vec *v = &ed_vecs[i];
    uint8_t seed[32], pk[32], msg[64], sig[64], out[64];
    struct crypto_sign_keypair kp;
    th_unhex(seed, sizeof seed, v->sk);
    th_unhex(pk, sizeof pk, v->pk);
    size_t n = th_unhex(msg, sizeof msg, v->msg);
    th_unhex(sig, sizeof sig, v->sig);
    CHECK_EQ(crypto_sign_from_seed(&kp, seed), 0);
    CHECK_MEM(kp.pub, pk, 32);
    CHECK_MEM(kp.seed, seed, 32);
    CHECK_EQ(crypto_sign(out, msg, n, &kp), 0);
    CHECK_MEM(out, sig, 64);
    CHECK_EQ(crypto_verify(sig, msg, n, pk), 0);
  }
}

/* A signer imported once gives the vectors' signatures, twice in a row; a pair whose
 * public key is not the seed's is refused when imported. */
static void test_ed25519_signer(void) {
  for (size_t i = 0; i < sizeof ed_vecs / sizeof ed_vecs[0]; i++) {
    const struct ed_vec *v = &ed_vecs[i];
    uint8_t seed[32], msg[64], sig[64], out[64];
    struct crypto_sign_keypair kp;
    struct crypto_signer *sg = NULL;
    th_unhex(seed, sizeof seed, v->sk);
    size_t n = th_unhex(msg, sizeof msg, v->msg);
    th_unhex(sig, sizeof sig, v->sig);
    CHECK_EQ(crypto_sign_from_seed(&kp, seed), 0);
    CHECK_EQ(crypto_signer_new(&kp, &sg), 0);
    for (int k = 0; k < 2; k++) {
      memset(out, 0, sizeof out);
      CHECK_EQ(crypto_signer_sign(sg, out, msg, n), 0);
      CHECK_MEM(out, sig, 64);
    }
    crypto_signer_free(sg);
    kp.pub[0] ^= 1;
    CHECK_EQ(crypto_signer_new(&kp, &sg), MOMEDO_E_BADKEY);
    CHECK(sg == NULL);
  }
  crypto_signer_free(NULL);
}

/* A flipped bit anywhere in message, signature or key is refused. */
static void test_ed25519_tamper(void) {
  const struct ed_vec *v = &ed_vecs[2];
  uint8_t pk[32], msg[2], sig[64], t[64];
  th_unhex(pk, sizeof pk, v->pk);
  th_unhex(msg, sizeof msg, v->msg);
  th_unhex(sig, sizeof sig, v->sig);
  for (size_t bit = 0; bit < 16; bit++) {
    uint8_t m[2] = {msg[0], msg[1]};
    m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    CHECK_EQ(crypto_verify(sig, m, 2, pk), MOMEDO_E_BADSIG);
  }
  for (size_t bit = 0; bit < 512; bit++) {
    memcpy(t, sig, 64);
    t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    CHECK_EQ(crypto_verify(t, msg, 2, pk), MOMEDO_E_BADSIG);
  }
  for (size_t bit = 0; bit < 256; bit++) {
    memcpy(t, pk, 32);
    t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    CHECK_EQ(crypto_verify(sig, msg, 2, t), MOMEDO_E_BADSIG);
  }
  CHECK_EQ(crypto_verify(sig, msg, 1, pk), MOMEDO_E_BADSIG); /* truncated message */
}

/* S + L verifies mathematically but is non-canonical (malleable): refused. */
static void test_ed25519_malleable_s(void) {
  static const uint8_t order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                    0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                    [31] = 0x10};
  const struct ed_vec *v = &ed_vecs[0];
  uint8_t pk[32], sig[64];
  th_unhex(pk, sizeof pk, v->pk);
  th_unhex(sig, sizeof sig, v->sig);
  unsigned carry = 0;
  for (size_t i = 0; i < 32; i++) {
    unsigned s = sig[32 + i] + order[i] + carry;
    sig[32 + i] = (uint8_t)s;
    carry = s >> 8;
  }
  CHECK_EQ(carry, 0);
  CHECK_EQ(crypto_verify(sig, "", 0, pk), MOMEDO_E_BADSIG);
}

static void test_ed25519_keygen_roundtrip(void) {
  struct crypto_sign_keypair kp, kp2;
  uint8_t sig[64];
  CHECK_EQ(crypto_sign_keygen(&kp), 0);
  CHECK_EQ(crypto_sign_from_seed(&kp2, kp.seed), 0);
  CHECK_MEM(kp.pub, kp2.pub, 32);
  CHECK_EQ(crypto_sign(sig, "hello", 5, &kp), 0);
  CHECK_EQ(crypto_verify(sig, "hello", 5, kp.pub), 0);
  /* A key pair whose pub does not belong to the seed is refused for signing. */
  kp2.pub[0] ^= 1;
  CHECK_EQ(crypto_sign(sig, "hello", 5, &kp2), MOMEDO_E_BADKEY);
  crypto_wipe(&kp, sizeof kp);
  crypto_wipe(&kp2, sizeof kp2);
}

/* ---- X25519: RFC 7748 sections 5.2 and 6.1 ---- */

static void test_x25519_rfc7748_5_2(void) {
  static const char *vec[2][3] = {
      {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
       "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
      /* u has its top bit set: X25519 must mask it. */
      {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
       "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
       "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
  };
  for (size_t i = 0; i < 2; i++) {
    uint8_t k[32], u[32], want[32], out[32];
    th_unhex(k, 32, vec[i][0]);
    th_unhex(u, 32, vec[i][1]);
    th_unhex(want, 32, vec[i][2]);
    CHECK_EQ(crypto_dh(out, k, u), 0);
    CHECK_MEM(out, want, 32);
  }
}

static void test_x25519_rfc7748_6_1(void) {
  uint8_t a_sec[32], a_pub[32], b_sec[32], b_pub[32], shared[32], out[32];
  th_unhex(a_sec, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  th_unhex(a_pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  th_unhex(b_sec, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  th_unhex(b_pub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  th_unhex(shared, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  CHECK_EQ(crypto_dh_public(out, a_sec), 0);
  CHECK_MEM(out, a_pub, 32);
  CHECK_EQ(crypto_dh_public(out, b_sec), 0);
  CHECK_MEM(out, b_pub, 32);
  CHECK_EQ(crypto_dh(out, a_sec, b_pub), 0);
  CHECK_MEM(out, shared, 32);
  CHECK_EQ(crypto_dh(out, b_sec, a_pub), 0);
  CHECK_MEM(out, shared, 32);
}

static void test_x25519_low_order(void) {
  uint8_t sec[32], pub[32], out[32], u[32] = {0};
  CHECK_EQ(crypto_dh_keygen(sec, pub), 0);
  memset(out, 0x55, sizeof out);
  CHECK_EQ(crypto_dh(out, sec, u), MOMEDO_E_BADKEY); /* u = 0 */
  u[0] = 1;
  CHECK_EQ(crypto_dh(out, sec, u), MOMEDO_E_BADKEY); /* u = 1, order 1 */
  /* u = 2^255 - 19 - 1 = p - 1, order 2 */
  th_unhex(u, 32, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  CHECK_EQ(crypto_dh(out, sec, u), MOMEDO_E_BADKEY);
  /* A point of order 8 (from the libsodium / Curve25519 blacklist). */
  th_unhex(u, 32, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  CHECK_EQ(crypto_dh(out, sec, u), MOMEDO_E_BADKEY);
  /* A fresh pair agrees with itself. */
  uint8_t sec2[32], pub2[32], s1[32], s2[32];
  CHECK_EQ(crypto_dh_keygen(sec2, pub2), 0);
  CHECK_EQ(crypto_dh(s1, sec, pub2), 0);
  CHECK_EQ(crypto_dh(s2, sec2, pub), 0);
  CHECK_MEM(s1, s2, 32);
}

/* ---- AEAD ---- */

static const char ladies[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
    "the future, sunscreen would be it.";

static void test_chacha_poly_rfc8439(void) {
  uint8_t key[32], nonce[12], ad[12], want[114 + 16], out[114 + 16], back[114];
  size_t n = strlen(ladies);
  CHECK_EQ(n, 114);
  th_unhex(key, 32, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  th_unhex(nonce, 12, "070000004041424344454647");
  th_unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
  th_unhex(want, sizeof want,
           "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
           "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
           "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
           "3ff4def08e4b7a9de576d26586cec64b6116"
           "1ae10b594f09e26a7e902ecbd0600691");
  CHECK_EQ(crypto_aead_ietf_seal(out, (const uint8_t *)ladies, n, ad, 12, nonce, key), 0);
  CHECK_MEM(out, want, sizeof want);
  CHECK_EQ(crypto_aead_ietf_open(back, want, sizeof want, ad, 12, nonce, key), 0);
  CHECK_MEM(back, ladies, n);
  /* Tampering: ciphertext, tag, AD, nonce. */
  out[0] ^= 1;
  CHECK_EQ(crypto_aead_ietf_open(back, out, sizeof out, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
  for (size_t i = 0; i < n; i++) CHECK_EQ(back[i], 0); /* no unauthenticated output */
  out[0] ^= 1;
  out[sizeof out - 1] ^= 0x80;
  CHECK_EQ(crypto_aead_ietf_open(back, out, sizeof out, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
  out[sizeof out - 1] ^= 0x80;
  ad[11] ^= 1;
  CHECK_EQ(crypto_aead_ietf_open(back, out, sizeof out, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
  ad[11] ^= 1;
  nonce[0] ^= 1;
  CHECK_EQ(crypto_aead_ietf_open(back, out, sizeof out, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
  nonce[0] ^= 1;
  CHECK_EQ(crypto_aead_ietf_open(back, out, 15, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
  CHECK_EQ(crypto_aead_ietf_open(back, out, sizeof out, ad, 12, nonce, key), 0);
}

static void test_xchacha_poly_draft03(void) {
  uint8_t key[32], nonce[24], ad[12], want[114 + 16], out[114 + 16], back[114];
  size_t n = strlen(ladies);
  th_unhex(key, 32, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  th_unhex(nonce, 24, "404142434445464748494a4b4c4d4e4f5051525354555657");
  th_unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
  th_unhex(want, sizeof want,
           "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
           "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
           "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
           "21f9664c97637da9768812f615c68b13b52e"
           "c0875924c1c7987947deafd8780acf49");
  CHECK_EQ(crypto_aead_seal(out, (const uint8_t *)ladies, n, ad, 12, nonce, key), 0);
  CHECK_MEM(out, want, sizeof want);
  CHECK_EQ(crypto_aead_open(back, want, sizeof want, ad, 12, nonce, key), 0);
  CHECK_MEM(back, ladies, n);
  for (size_t i = 0; i < sizeof out; i++) {
    out[i] ^= 0x04;
    CHECK_EQ(crypto_aead_open(back, out, sizeof out, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
    out[i] ^= 0x04;
  }
  ad[0] ^= 1;
  CHECK_EQ(crypto_aead_open(back, out, sizeof out, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
  ad[0] ^= 1;
  nonce[23] ^= 1;
  CHECK_EQ(crypto_aead_open(back, out, sizeof out, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
  nonce[23] ^= 1;
  CHECK_EQ(crypto_aead_open(back, out, sizeof out, NULL, 0, nonce, key), MOMEDO_E_DECRYPT);
  CHECK_EQ(crypto_aead_open(back, out, 3, ad, 12, nonce, key), MOMEDO_E_DECRYPT);
}

/* Empty plaintext and empty AD round-trip; in-place (out == in) works. */
static void test_aead_edges(void) {
  uint8_t key[32], nonce[24], tag[16], buf[40];
  memset(key, 7, sizeof key);
  memset(nonce, 9, sizeof nonce);
  CHECK_EQ(crypto_aead_seal(tag, NULL, 0, NULL, 0, nonce, key), 0);
  CHECK_EQ(crypto_aead_open(NULL, tag, 16, NULL, 0, nonce, key), 0);
  tag[3] ^= 1;
  CHECK_EQ(crypto_aead_open(NULL, tag, 16, NULL, 0, nonce, key), MOMEDO_E_DECRYPT);
  CHECK_EQ(crypto_aead_ietf_seal(tag, NULL, 0, NULL, 0, nonce, key), 0);
  CHECK_EQ(crypto_aead_ietf_open(NULL, tag, 16, NULL, 0, nonce, key), 0);
  memcpy(buf, "twenty-four bytes of msg", 24);
  CHECK_EQ(crypto_aead_seal(buf, buf, 24, (const uint8_t *)"ad", 2, nonce, key), 0);
  CHECK(memcmp(buf, "twenty-four bytes of msg", 24) != 0);
  CHECK_EQ(crypto_aead_open(buf, buf, 40, (const uint8_t *)"ad", 2, nonce, key), 0);
  CHECK_MEM(buf, "twenty-four bytes of msg", 24);
  CHECK_EQ(crypto_aead_ietf_seal(buf, buf, 24, NULL, 0, nonce, key), 0);
  CHECK_EQ(crypto_aead_ietf_open(buf, buf, 40, NULL, 0, nonce, key), 0);
  CHECK_MEM(buf, "twenty-four bytes of msg", 24);
}

/* ---- hashes, HMAC, HKDF, scrypt ---- */

static void test_sha2_fips180(void) {
  uint8_t out[64], want[64];
  th_unhex(want, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK_EQ(crypto_sha256(out, "abc", 3), 0);
  CHECK_MEM(out, want, 32);
  struct crypto_part parts[] = {{"a", 1}, {NULL, 0}, {"bc", 2}};
  memset(out, 0, sizeof out);
  CHECK_EQ(crypto_sha256_parts(out, parts, 3), 0);
  CHECK_MEM(out, want, 32);
  th_unhex(want, 64,
           "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
           "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  CHECK_EQ(crypto_sha512(out, "abc", 3), 0);
  CHECK_MEM(out, want, 64);
  /* SHA-256("") */
  th_unhex(want, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_EQ(crypto_sha256(out, NULL, 0), 0);
  CHECK_MEM(out, want, 32);
}

static void test_hmac_rfc4231_tc2(void) {
  uint8_t out[32], want[32];
  const char *data = "what do ya want for nothing?";
  th_unhex(want, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK_EQ(crypto_hmac_sha256(out, "Jefe", 4, data, strlen(data)), 0);
  CHECK_MEM(out, want, 32);
}

static void test_hkdf_rfc5869(void) {
  uint8_t ikm[80], salt[80], info[80], out[82], want[82];
  /* Test case 1 */
  memset(ikm, 0x0b, 22);
  th_unhex(salt, sizeof salt, "000102030405060708090a0b0c");
  th_unhex(info, sizeof info, "f0f1f2f3f4f5f6f7f8f9");
  th_unhex(want, sizeof want,
           "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
           "34007208d5b887185865");
  CHECK_EQ(crypto_hkdf(out, 42, salt, 13, ikm, 22, info, 10), 0);
  CHECK_MEM(out, want, 42);
  /* Test case 2: 80-byte inputs 0x00.., 0x60.., 0xb0.. */
  for (int i = 0; i < 80; i++) {
    ikm[i] = (uint8_t)i;
    salt[i] = (uint8_t)(0x60 + i);
    info[i] = (uint8_t)(0xb0 + i);
  }
  th_unhex(want, sizeof want,
           "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
           "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
           "cc30c58179ec3e87c14c01d5c1f3434f1d87");
  CHECK_EQ(crypto_hkdf(out, 82, salt, 80, ikm, 80, info, 80), 0);
  CHECK_MEM(out, want, 82);
  /* Test case 3: empty salt and info */
  memset(ikm, 0x0b, 22);
  th_unhex(want, sizeof want,
           "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
           "9d201395faa4b61a96c8");
  CHECK_EQ(crypto_hkdf(out, 42, NULL, 0, ikm, 22, NULL, 0), 0);
  CHECK_MEM(out, want, 42);
  CHECK_EQ(crypto_hkdf(out, 0, NULL, 0, ikm, 22, NULL, 0), MOMEDO_E_INVAL);
  CHECK_EQ(crypto_hkdf(out, CRYPTO_HKDF_OUT_MAX + 1, NULL, 0, ikm, 22, NULL, 0),
           MOMEDO_E_INVAL);
}

static void test_scrypt_rfc7914(void) {
  uint8_t out[64], want[64];
  th_unhex(want, 64,
           "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
           "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 4, 1, 1), 0);
  CHECK_MEM(out, want, 64);
  th_unhex(want, 64,
           "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
           "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
  CHECK_EQ(crypto_scrypt(out, 64, "password", 8, "NaCl", 4, 10, 8, 16), 0);
  CHECK_MEM(out, want, 64);
  /* Bounds. */
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 0, 1, 1), MOMEDO_E_INVAL);
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 23, 8, 1), MOMEDO_E_INVAL);
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 4, 0, 1), MOMEDO_E_INVAL);
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 4, 33, 1), MOMEDO_E_INVAL);
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 4, 1, 0), MOMEDO_E_INVAL);
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 4, 1, 17), MOMEDO_E_INVAL);
  CHECK_EQ(crypto_scrypt(out, 64, "", 0, "", 0, 16, 1, 1), MOMEDO_E_INVAL); /* N >= 2^(16r) */
  CHECK_EQ(crypto_scrypt(out, 0, "", 0, "", 0, 4, 1, 1), MOMEDO_E_INVAL);
}

/* ---- utilities ---- */

static void test_ct_eq_and_wipe(void) {
  uint8_t a[33], b[33];
  memset(a, 0xa5, sizeof a);
  memcpy(b, a, sizeof b);
  CHECK_EQ(crypto_ct_eq(a, b, sizeof a), 1);
  CHECK_EQ(crypto_ct_eq(a, b, 0), 1);
  for (size_t i = 0; i < sizeof a; i++) {
    for (unsigned bit = 0; bit < 8; bit++) {
      b[i] ^= (uint8_t)(1u << bit);
      CHECK_EQ(crypto_ct_eq(a, b, sizeof a), 0);
      b[i] ^= (uint8_t)(1u << bit);
    }
  }
  crypto_wipe(a, sizeof a);
  for (size_t i = 0; i < sizeof a; i++) CHECK_EQ(a[i], 0);
}

static void test_random(void) {
  uint8_t a[32], b[32], zero[32] = {0};
  static uint8_t big[200000]; /* spans several DRBG requests */
  CHECK_EQ(crypto_random(a, sizeof a), 0);
  CHECK_EQ(crypto_random(b, sizeof b), 0);
  CHECK(memcmp(a, b, sizeof a) != 0);
  CHECK(memcmp(a, zero, sizeof a) != 0);
  CHECK_EQ(crypto_random(big, sizeof big), 0);
  CHECK(memcmp(big + sizeof big - 32, zero, 32) != 0);
  CHECK_EQ(crypto_random(a, 0), 0);
}

/* After fork() parent and child hold copies of the DRBG state; the child must reseed,
 * or both would draw the same "random" bytes (same nonces, same keys). */
static void test_random_fork(void) {
  uint8_t warm[8], mine[32], child[32];
  int fds[2];
  CHECK_EQ(crypto_random(warm, sizeof warm), 0); /* DRBG initialised before fork */
  CHECK_EQ(pipe(fds), 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    uint8_t b[32];
    int ok = crypto_random(b, sizeof b) == 0 && write(fds[1], b, sizeof b) == (ssize_t)sizeof b;
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  CHECK_EQ(crypto_random(mine, sizeof mine), 0);
  ssize_t got = read(fds[0], child, sizeof child);
  close(fds[0]);
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(got, (ssize_t)sizeof child);
  CHECK(memcmp(mine, child, sizeof mine) != 0);
}

int main(void) {
  RUN(test_ed25519_rfc8032);
  RUN(test_ed25519_signer);
  RUN(test_ed25519_tamper);
  RUN(test_ed25519_malleable_s);
  RUN(test_ed25519_keygen_roundtrip);
  RUN(test_x25519_rfc7748_5_2);
  RUN(test_x25519_rfc7748_6_1);
  RUN(test_x25519_low_order);
  RUN(test_chacha_poly_rfc8439);
  RUN(test_xchacha_poly_draft03);
  RUN(test_aead_edges);
  RUN(test_sha2_fips180);
  RUN(test_hmac_rfc4231_tc2);
  RUN(test_hkdf_rfc5869);
  RUN(test_scrypt_rfc7914);
  RUN(test_ct_eq_and_wipe);
  RUN(test_random);
  RUN(test_random_fork);
  TEST_MAIN_END();
}
