/* fuzz_xmppxml — the peers benchmark driver's XML cutter (tests/bench/peers/xmpp_xml.c):
 * it reads what Prosody and ejabberd send. The input is cut twice, whole and in pieces of
 * 1..16 bytes (the first byte chooses), as a socket delivers it: both must give the same
 * items, spans stay inside the buffer, and the stanza readers stay inside the stanza. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/peers/xmpp_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX 4096
#define ITEMS_MAX 64

struct item {
  int kind;
  size_t len;
};

static void read_stanza(const char *st, size_t len) {
  char v[XX_NAME_MAX + 1];
  const char *t = NULL;
  size_t tl = 0;
  (void)xx_name(st, len, v, sizeof v);
  (void)xx_attr(st, len, "h", v, sizeof v);
  (void)xx_has(st, len, "body");
  if (xx_text(st, len, "body", &t, &tl) == 0 && (t < st || t + tl > st + len)) abort();
}

/* Cut in[0..n) fed `step` bytes at a time (0: whole); returns the items, -1 on error. */
static int cut(const char *in, size_t n, size_t step, struct item *out) {
  static char buf[INPUT_MAX];
  struct xx_stream s = {0};
  size_t have = 0, fed = 0;
  int items = 0;
  for (;;) {
    size_t add = step ? step : n;
    if (add > n - fed) add = n - fed;
    memcpy(buf + have, in + fed, add);
    have += add;
    fed += add;
    for (;;) {
      size_t used = 0, start = 0;
      int k = xx_next(&s, buf, have, &used, &start);
      if (k == XX_ERROR) return -1;
      if (k == XX_MORE) break;
      if (used == 0 || used > have || start >= used) abort();
      if (k == XX_STANZA) read_stanza(buf + start, used - start);
      if (items < ITEMS_MAX) out[items] = (struct item){k, used - start};
      items++;
      memmove(buf, buf + used, have - used);
      have -= used;
    }
    if (fed == n) return items;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct item whole[ITEMS_MAX], parts[ITEMS_MAX];
  if (size < 1 || size > INPUT_MAX) return 0;
  size_t step = 1 + data[0] % 16;
  const char *in = (const char *)data + 1;
  memset(whole, 0, sizeof whole);
  memset(parts, 0, sizeof parts);
  int a = cut(in, size - 1, 0, whole), b = cut(in, size - 1, step, parts);
  if (a >= 0 && (a != b || memcmp(whole, parts, sizeof whole) != 0)) abort();
  return 0;
}
