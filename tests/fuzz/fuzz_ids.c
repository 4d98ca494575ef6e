/* fuzz_ids — the text parsers people type into: user IDs, node fingerprints, key
 * strings, QR payloads and base32. Checks no crash, and that whatever parses as a
 * user ID formats back to a string that parses to the same bits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char s[IDS_INPUT_MAX + 64];
  size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
  memcpy(s, data, n);
  s[n] = '\0';

  uint8_t bits[IDS_USER_ID_BYTES], bits2[IDS_USER_ID_BYTES];
  if (ids_user_id_parse(bits, s) == 0) {
    char out[IDS_USER_ID_STR_MAX];
    if (ids_user_id_format(out, bits) != 0) abort();
    if (ids_user_id_parse(bits2, out) != 0) abort();
    if (memcmp(bits, bits2, sizeof bits) != 0) abort();
  }
  uint8_t fp[IDS_NODE_FP_LEN], key[IDS_KEY_LEN];
  (void)!ids_node_fingerprint_parse(fp, s);
  if (ids_key_from_b32(key, s) == 0) {
    char k2[IDS_KEY_B32_STR_MAX];
    uint8_t key2[IDS_KEY_LEN];
    if (ids_key_to_b32(k2, key) != 0 || ids_key_from_b32(key2, k2) != 0) abort();
    if (memcmp(key, key2, sizeof key) != 0) abort();
  }
  (void)!ids_qr_parse(key, s);
  uint8_t raw[256];
  size_t raw_len;
  (void)!ids_b32_decode(raw, sizeof raw, &raw_len, s);
  (void)!ids_b32_decode_check(raw, sizeof raw, &raw_len, s);
  return 0;
}
