/* node/dialer.c — the reconnecting dialer: keeps one outbound link (link_connect) to a
 * pinned host:port up, waiting an exponential backoff with jitter between attempts and
 * resetting it after a link that stayed up. Knows links only through link.h and the
 * two hooks in link_int.h; logs the next attempt's delay, never keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "link_int.h"
#include "log.h"

#define LINK_DIALER_ATTEMPTS_MAX 32 /* counter cap; the delay caps much earlier */

struct link_dialer {
  uv_loop_t *loop;
  uv_timer_t timer;
  struct tls_ctx *tls;
  char host[LINK_HOST_MAX];
  uint16_t port;
  uint8_t key[NODE_KEY_LEN];
  struct link_config cfg;
  struct link_callbacks cbs;
  void *data;
  struct link *link;
  unsigned attempts;
  int stopping;
};

static void link_dialer_free(uv_handle_t *h) { free(h->data); }

static void link_dialer_connect(struct link_dialer *d);

static void link_dialer_on_timer(uv_timer_t *t) { link_dialer_connect(t->data); }

static void link_dialer_schedule(struct link_dialer *d) {
  uint32_t rnd = 0x80000000u; /* no jitter if the DRBG fails */
  if (crypto_random(&rnd, sizeof rnd) != 0) rnd = 0x80000000u;
  uint64_t delay =
      link_backoff_ms(d->attempts, d->cfg.reconnect_min_ms, d->cfg.reconnect_max_ms, rnd);
  if (d->attempts < LINK_DIALER_ATTEMPTS_MAX) d->attempts++;
  node_log(NODE_LOG_INFO, "dialer %s:%u: next attempt in %llu ms (failures %u)", d->host,
           d->port, (unsigned long long)delay, d->attempts);
  uv_timer_start(&d->timer, link_dialer_on_timer, delay, 0);
}

static void link_dialer_connect(struct link_dialer *d) {
  struct link *l;
  int rc = link_connect(d->loop, d->host, d->port, d->tls, d->key, &d->cfg, &d->cbs, d->data,
                        &l);
  if (rc != 0) {
    link_dialer_schedule(d);
    return;
  }
  link__set_dialer(l, d);
  d->link = l;
}

void link__dialer_gone(struct link_dialer *d, uint64_t up_ms) {
  d->link = NULL;
  if (d->stopping) {
    uv_close((uv_handle_t *)&d->timer, link_dialer_free);
    return;
  }
  if (up_ms && uv_now(d->loop) - up_ms >= d->cfg.reconnect_stable_ms) d->attempts = 0;
  link_dialer_schedule(d);
}

int link_dialer_start(uv_loop_t *loop, const char *host, uint16_t port, struct tls_ctx *tls,
                      const uint8_t key[static NODE_KEY_LEN], const struct link_config *cfg,
                      const struct link_callbacks *cbs, void *data, struct link_dialer **out) {
  *out = NULL;
  if (strlen(host) >= LINK_HOST_MAX || host[0] == '\0' || port == 0) return MOMEDO_E_INVAL;
  struct link_dialer *d = calloc(1, sizeof *d);
  if (d == NULL) return MOMEDO_E_NOMEM;
  d->loop = loop;
  d->tls = tls;
  snprintf(d->host, sizeof d->host, "%s", host);
  d->port = port;
  memcpy(d->key, key, NODE_KEY_LEN);
  if (cfg)
    d->cfg = *cfg;
  else
    link_config_default(&d->cfg);
  if (cbs) d->cbs = *cbs;
  d->data = data;
  uv_timer_init(loop, &d->timer);
  d->timer.data = d;
  link_dialer_connect(d);
  *out = d;
  return 0;
}

void link_dialer_stop(struct link_dialer *d) {
  if (d->stopping) return;
  d->stopping = 1;
  uv_timer_stop(&d->timer);
  if (d->link)
    link_close(d->link, 0, "dialer stopped");
  else
    uv_close((uv_handle_t *)&d->timer, link_dialer_free);
}

struct link *link_dialer_link(const struct link_dialer *d) { return d->link; }
unsigned link_dialer_attempts(const struct link_dialer *d) { return d->attempts; }
