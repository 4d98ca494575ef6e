/* tests/mlkem_accumulated.h — the CCTV "accumulated" ML-KEM-768 test, shared by
 * test_protocol_mlkem (10,000 tests) and bench_protocol_mlkem (1,000,000): one SHAKE128
 * of the empty string is the random source, a second SHAKE128 absorbs every output
 * (tests/vectors/ml-kem/README.md). Runs KeyGen in either variant (mlkem_int.h).
 * Returns 0, or -1 when an Encaps or Decaps failed or disagreed. */
#ifndef MOMEDO_TEST_MLKEM_ACCUMULATED_H
#define MOMEDO_TEST_MLKEM_ACCUMULATED_H

#include <string.h>

#include "mlkem.h"
#include "mlkem_int.h"
#include "sha3.h"

/* Expected outputs (C2SP/CCTV ML-KEM README): the FIPS 203 ipd hashes are those in
 * tests/vectors/ml-kem/README.md, the final FIPS 203 ones are from the current
 * upstream README ("don't forget to append k as the 33rd byte"). */
#define MLKEM_ACC_IPD_10K "f7db260e1137a742e05fe0db9525012812b004d29040a5b606aad3d134b548d3"
#define MLKEM_ACC_IPD_1M "70090cc5842aad0ec43d5042c783fae9bc320c047b5dafcb6e134821db02384d"
#define MLKEM_ACC_FINAL_10K "f959d18d3d1180121433bf0e05f11e7908cf9d03edc150b2b07cb90bef5bc1c1"
#define MLKEM_ACC_FINAL_1M "3b108396a277f2952ff3243a985c9709bcb95788c39b7b36a2c4e19d1a41e51e"

static inline int mlkem_accumulated(uint8_t out[32], unsigned long tests,
                                    enum mlkem__variant variant) {
  static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN],
      bad_ct[MLKEM768_CT_LEN];
  uint8_t d[32], z[32], m[32], k[32], k2[32];
  struct sha3_ctx rng, acc;
  shake128_init(&rng);
  shake128_init(&acc);
  for (unsigned long i = 0; i < tests; i++) {
    shake_squeeze(&rng, d, sizeof d);
    shake_squeeze(&rng, z, sizeof z);
    shake_squeeze(&rng, m, sizeof m);
    shake_squeeze(&rng, bad_ct, sizeof bad_ct);
    mlkem__keygen_variant(ek, dk, d, z, variant);
    sha3_absorb(&acc, ek, sizeof ek);
    sha3_absorb(&acc, dk, sizeof dk);
    if (mlkem768_encaps_derand(ct, k, ek, sizeof ek, m) != 0) return -1;
    sha3_absorb(&acc, ct, sizeof ct);
    sha3_absorb(&acc, k, sizeof k);
    if (mlkem768_decaps(k2, ct, sizeof ct, dk, sizeof dk) != 0) return -1;
    if (memcmp(k, k2, sizeof k) != 0) return -1;
    if (mlkem768_decaps(k2, bad_ct, sizeof bad_ct, dk, sizeof dk) != 0) return -1;
    sha3_absorb(&acc, k2, sizeof k2);
  }
  shake_squeeze(&acc, out, 32);
  return 0;
}

#endif
