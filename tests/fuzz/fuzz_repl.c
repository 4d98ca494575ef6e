/* fuzz_repl — bytes from a neighbor into the replication engine (lazy item push on:
 * ItemAnnounce, ItemGraft, ItemPrune seeds in corpus/repl): the input is
 * split into ReplMsg bodies (2-byte length prefixes taken from the input) and fed
 * to repl_on_msg of an engine holding a few objects. Checks: no crash, no leak,
 * every action drained and freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repl.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1700000000000ull

static const uint8_t fuzz_peer_key[32] = {1, 2, 3};

static void drain(struct repl *r) {
  struct repl_action a;
  while (repl_next_action(r, &a) == 1) {
    if (a.kind == REPL_ACT_SEND) free(a.bytes);
    free(a.claim);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct store *s = NULL;
  struct repl *r = NULL;
  if (store_mem_open(&s)) abort();
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.scope = REPL_SCOPE_FLOOD;
  cfg.item_push = REPL_ITEM_PUSH_LAZY; /* announcements, grafts, prunes meet state */
  cfg.recon_start_delay_ms_max = 0;
  if (repl_new(&cfg, s, 42, FUZZ_NOW, &r)) abort();
  if (repl_peer_up(r, 1, fuzz_peer_key, FUZZ_NOW)) abort();
  drain(r);
  uint64_t now = FUZZ_NOW;
  while (size >= 2) {
    size_t n = (size_t)data[0] << 8 | data[1];
    data += 2, size -= 2;
    if (n > size) n = size;
    (void)!repl_on_msg(r, 1, data, n, now);
    drain(r);
    (void)!repl_tick(r, now += 1000);
    drain(r);
    data += n, size -= n;
  }
  repl_free(r);
  store_close(s);
  return 0;
}
