/* client/core/transport.h — the byte pipe under the client's node API: a small vtable
 * (send, receive with a timeout, a monotonic clock, close) so nodeapi runs over TLS
 * in production and over an in-memory fake in tests, plus the TLS implementation:
 * blocking TCP connect with a timeout and a wolfSSL TLS 1.3 client that pins the node
 * key. transport.c is the only client file that touches sockets. */
#ifndef MOMEDO_CLIENT_TRANSPORT_H
#define MOMEDO_CLIENT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define TRANSPORT_KEY_LEN 32              /* Ed25519 node key */
#define TRANSPORT_HOST_CHARS_MAX 253      /* DNS name limit */
#define TRANSPORT_REASON_MAX 256          /* size of the reason buffers below */

struct transport_ops {
  /* Send all len bytes, waiting at most timeout_ms (< 0: no limit). 0, E_TIMEOUT,
   * E_CLOSED, E_IO or E_TLS. */
  int (*send)(void *ctx, const uint8_t *buf, size_t len, int timeout_ms);
  /* Receive 1..cap bytes into buf (*got), waiting at most timeout_ms (< 0: no limit).
   * 0, E_TIMEOUT (nothing arrived), E_CLOSED (orderly end), E_IO or E_TLS. */
  int (*recv)(void *ctx, uint8_t *buf, size_t cap, size_t *got, int timeout_ms);
  /* Monotonic milliseconds; only differences are meaningful. */
  uint64_t (*now_ms)(void *ctx);
};

/* A transport is a vtable and its context, both borrowed by whoever uses it. */
struct transport {
  const struct transport_ops *ops;
  void *ctx;
};

struct transport_tls;

/* Connect to host:port within timeout_ms (covers name lookup of numeric hosts, TCP
 * connect and the TLS 1.3 handshake; < 0: no limit), then compare the Ed25519 key in the
 * node's certificate with node_key. On success *out is a new connection (free with
 * transport_tls_free). Errors: E_INVAL (empty or over-long host, port 0),
 * E_CONNREFUSED, E_TIMEOUT, E_IO (name lookup, socket), E_TLS (handshake failed, the
 * certificate does not carry an Ed25519 key), E_KEYCHANGED (the node presents another
 * key than node_key), E_NOMEM. reason (may be NULL, TRANSPORT_REASON_MAX bytes) gets a
 * sentence naming the address and the cause. */
MOMEDO_WUR int transport_tls_connect(struct transport_tls **out, const char *host,
                                     uint16_t port,
                                     const uint8_t node_key[static TRANSPORT_KEY_LEN],
                                     int timeout_ms, char *reason, size_t reason_cap);
/* The vtable view of an open connection; valid until transport_tls_free. */
void transport_tls_view(struct transport_tls *t, struct transport *out);
/* Send a TLS close_notify (best effort, no waiting), close the socket, free t. NULL ok. */
void transport_tls_free(struct transport_tls *t);
/* Free what TLS keeps per thread (wolfSSL's ECC fixed-point cache, one per thread that
 * did a handshake): a thread other than the main one that used a transport calls this
 * before it ends (`momedo app`'s server and link threads), else the cache leaks. */
void transport_thread_done(void);

/* Parse "host:port" or "[v6addr]:port" into host (NUL-terminated, host_cap bytes) and
 * *port (1..65535). E_INVAL with nothing written on any other shape. */
MOMEDO_WUR int transport_parse_hostport(const char *s, char *host, size_t host_cap,
                                        uint16_t *port);

#endif
