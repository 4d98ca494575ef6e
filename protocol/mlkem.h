/* protocol/mlkem.h — ML-KEM-768 (FIPS 203), written here from the standard: Debian 12's
 * wolfCrypt, OpenSSL and libgcrypt have no ML-KEM. Pure functions over caller-owned
 * buffers; the *_derand forms take their randomness as arguments (for vectors), the
 * plain forms draw it from crypto_random(). Constant time in every secret. Untrusted
 * keys and ciphertexts come as (ptr, len) and get the input checks of FIPS 203 §7. */
#ifndef MOMEDO_MLKEM_H
#define MOMEDO_MLKEM_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define MLKEM768_EK_LEN 1184  /* encapsulation (public) key: 384 k + 32 */
#define MLKEM768_DK_LEN 2400  /* decapsulation (secret) key: 768 k + 96 */
#define MLKEM768_CT_LEN 1088  /* ciphertext: 32 (du k + dv) */
#define MLKEM_SS_LEN 32       /* shared secret K */
#define MLKEM_SEED_LEN 32     /* each of d, z (KeyGen) and m (Encaps) */

/* ML-KEM.KeyGen_internal(d, z) (FIPS 203 Algorithm 16). Cannot fail. */
void mlkem768_keygen_derand(uint8_t ek[static MLKEM768_EK_LEN],
                            uint8_t dk[static MLKEM768_DK_LEN],
                            const uint8_t d[static MLKEM_SEED_LEN],
                            const uint8_t z[static MLKEM_SEED_LEN]);
/* ML-KEM.KeyGen (Algorithm 19) with d, z from the DRBG. MOMEDO_E_RNG on failure. */
MOMEDO_WUR int mlkem768_keygen(uint8_t ek[static MLKEM768_EK_LEN],
                               uint8_t dk[static MLKEM768_DK_LEN]);

/* Encapsulation-key check of §7.2: length (type check) and every coefficient < q
 * (modulus check). 0 or MOMEDO_E_BADKEY. Run it on a peer's key before storing it. */
MOMEDO_WUR int mlkem768_ek_check(const uint8_t *ek, size_t ek_len);
/* Decapsulation-key check of §7.3: length and H(ek part) equals the stored hash.
 * 0 or MOMEDO_E_BADKEY (a corrupt or truncated stored key). */
MOMEDO_WUR int mlkem768_dk_check(const uint8_t *dk, size_t dk_len);

/* ML-KEM.Encaps_internal(ek, m) (Algorithm 17) after mlkem768_ek_check: ct and the
 * shared secret ss. MOMEDO_E_BADKEY for an invalid ek (ct and ss are then zero). */
MOMEDO_WUR int mlkem768_encaps_derand(uint8_t ct[static MLKEM768_CT_LEN],
                                      uint8_t ss[static MLKEM_SS_LEN], const uint8_t *ek,
                                      size_t ek_len, const uint8_t m[static MLKEM_SEED_LEN]);
/* ML-KEM.Encaps (Algorithm 20) with m from the DRBG: E_BADKEY or E_RNG (then ct and ss
 * are zero). */
MOMEDO_WUR int mlkem768_encaps(uint8_t ct[static MLKEM768_CT_LEN],
                               uint8_t ss[static MLKEM_SS_LEN], const uint8_t *ek,
                               size_t ek_len);

/* ML-KEM.Decaps (Algorithm 21, with the §7.3 checks): ss for ct under dk. A
 * well-formed but wrong ciphertext is *not* an error: it yields the implicit-rejection
 * secret J(z || ct), indistinguishable from a real one (the caller's AEAD fails
 * later). MOMEDO_E_BOUNDS if ct_len != MLKEM768_CT_LEN, MOMEDO_E_BADKEY if dk fails
 * its check; ss is zero on error. */
MOMEDO_WUR int mlkem768_decaps(uint8_t ss[static MLKEM_SS_LEN], const uint8_t *ct,
                               size_t ct_len, const uint8_t *dk, size_t dk_len);

#endif
