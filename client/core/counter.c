/* client/core/counter.c — the vault save counter (counter.h): record format, load, bump. */
#include "counter.h"

#include <stdlib.h>

#include "cursor.h"
#include "vault.h"

void counter_encode(uint8_t out[static COUNTER_REC_LEN], uint64_t count) {
  out[0] = COUNTER_FORMAT;
  be64_put(out + 1, count);
}

int counter_parse(const uint8_t *p, size_t len, uint64_t *count) {
  if (len != COUNTER_REC_LEN || p[0] != COUNTER_FORMAT) return MOMEDO_E_CORRUPT;
  *count = be64_get(p + 1);
  return 0;
}

int counter_load(const struct vault *v, uint64_t *count) {
  uint8_t *d = NULL;
  size_t n = 0;
  *count = 0;
  int rc = vault_read(v, COUNTER_FILE, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc == 0) rc = counter_parse(d, n, count);
  free(d);
  return rc;
}

int counter_bump(const struct vault *v, uint64_t *count) {
  uint8_t rec[COUNTER_REC_LEN];
  if (*count == UINT64_MAX) return MOMEDO_E_BOUNDS;
  counter_encode(rec, *count + 1);
  int rc = vault_write(v, COUNTER_FILE, rec, sizeof rec);
  if (rc == 0) (*count)++;
  return rc;
}
