/* fuzz_link — what linking a device parses from outside: the link code a user pastes
 * (or a scanner hands over), a request and an answer from the link mailbox (anyone who
 * knows the link ID can post there). The first input byte picks the parser. Checks no
 * crash, and that a code that parses encodes back to one that parses to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/core/link.h" /* not node/link.h, also on the fuzz include path */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_code(const uint8_t *data, size_t size) {
  char s[LINK_CODE_STR_MAX + 64], out[LINK_CODE_STR_MAX];
  struct link_code l, m;
  size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
  memcpy(s, data, n);
  s[n] = '\0';
  if (link_code_decode(&l, s) != 0) return;
  if (link_code_encode(out, sizeof out, &l) != 0 || link_code_decode(&m, out) != 0) abort();
  if (memcmp(l.secret, m.secret, sizeof l.secret) || memcmp(l.identity, m.identity, 32) ||
      memcmp(l.node_key, m.node_key, 32) || l.expires_ms != m.expires_ms || l.port != m.port ||
      strcmp(l.host, m.host) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t secret[LINK_SECRET_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  static const uint8_t dh_sec[32] = {0x42}, device[32] = {0x24};
  struct link_keys k;
  struct account_device d;
  uint8_t who[32], *st = NULL;
  size_t sl = 0;
  if (size == 0) return 0;
  if (link_keys_derive(&k, secret) != 0) abort();
  switch (data[0] % 3) {
  case 0:
    fuzz_code(data + 1, size - 1);
    break;
  case 1:
    (void)!link_request_open(&d, &k, data + 1, size - 1);
    break;
  default:
    (void)!link_answer_for(who, &k, data + 1, size - 1);
    if (link_answer_open(&st, &sl, &k, device, dh_sec, data + 1, size - 1) == 0) free(st);
    break;
  }
  return 0;
}
