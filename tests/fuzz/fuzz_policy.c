/* fuzz_policy — the working-hours parsers (node/tz.h, node/policy.h): the first byte
 * picks a TZif file (offsets and a policy's schedule over it must not crash, and
 * policy_next_open must return an instant at which the policy is open, or 0) or a
 * policies.conf text (what parses formats back to text that parses to as many
 * policies and users). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "reason.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every zone is UTC with Berlin's rule: the fuzzed part is the text. */
static int load(void *ctx, const char *tz, struct tz_zone *z, char *why, size_t cap) {
  (void)ctx;
  (void)tz;
  memset(z, 0, sizeof *z);
  return tz_posix_parse(z, "CET-1CEST,M3.5.0,M10.5.0/3", why, cap);
}

static void zone(const uint8_t *data, size_t size) {
  char why[REASON_MAX];
  static struct policy p;
  if (tz_parse(&p.zone, data, size, why, sizeof why) != 0) return;
  p.days = 0x1f;
  p.start_min = 7 * 60;
  p.end_min = 18 * 60;
  p.n_holidays = 0;
  static const uint64_t at[] = {0, 946684800000ull, 1774746000000ull, 1792000000000ull,
                                4102444800000ull};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    uint64_t next = policy_next_open(&p, at[i]);
    if (next && (next < at[i] || !policy_is_open(&p, next))) abort();
  }
  tz_free(&p.zone);
}

static void conf(const uint8_t *data, size_t size) {
  char why[REASON_MAX], *out = NULL;
  size_t len = 0;
  static struct policy_set s, s2;
  if (policy_set_parse(&s, "f", (const char *)data, size, load, NULL, why, sizeof why) != 0)
    return;
  if (policy_set_format(&s, &out, &len) != 0) abort();
  if (policy_set_parse(&s2, "f", out, len, load, NULL, why, sizeof why) != 0) abort();
  if (s2.n != s.n || s2.n_users != s.n_users) abort();
  for (uint32_t i = 0; i < s.n; i++)
    if (s2.p[i]->n_holidays != s.p[i]->n_holidays || s2.p[i]->days != s.p[i]->days) abort();
  free(out);
  policy_set_free(&s);
  policy_set_free(&s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > TZ_FILE_BYTES_MAX) return 0;
  if (data[0] & 1)
    conf(data + 1, size - 1);
  else
    zone(data + 1, size - 1);
  return 0;
}
