/* node/link_config.c — the links' defaults and the dialer's backoff (link.h): pure, no
 * I/O, so the in-process test links (tests/inproc/fake_link.c) use these very ones. */
#include "frame.h"
#include "link.h"

void link_config_default(struct link_config *c) {
  c->frame_bytes_max = FRAME_BYTES_MAX_DEFAULT;
  c->out_bytes_max = LINK_OUT_BYTES_MAX;
  c->out_low_bytes = LINK_OUT_LOW_BYTES;
  c->handshake_timeout_ms = LINK_HANDSHAKE_TIMEOUT_MS;
  c->ping_interval_ms = LINK_PING_INTERVAL_MS;
  c->dead_peer_ms = LINK_DEAD_PEER_MS;
  c->reconnect_min_ms = LINK_RECONNECT_MIN_MS;
  c->reconnect_max_ms = LINK_RECONNECT_MAX_MS;
  c->reconnect_stable_ms = LINK_RECONNECT_STABLE_MS;
}

uint64_t link_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms, uint32_t rnd) {
  uint64_t base = min_ms;
  for (unsigned i = 0; i < attempt && base < max_ms; i++) base *= 2;
  if (base > max_ms) base = max_ms;
  uint64_t range = base * LINK_RECONNECT_JITTER_PCT / 100;
  /* base - range + floor(rnd * (2 range + 1) / 2^32): uniform over [base-range, base+range]. */
  return base - range + (((uint64_t)rnd * (2 * range + 1)) >> 32);
}
