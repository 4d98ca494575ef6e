/* node/link.h — one TCP connection on a libuv loop carrying TLS 1.3 (node/tls.h)
 * carrying frames (protocol/frame.h): pinned-key peer authentication, whole frame
 * bodies to the owner, output back-pressure, keep-alive pings, one logged reason per
 * close (link.c); plus listeners (listener.c) and a reconnecting dialer (dialer.c).
 * Interprets no frame beyond Ping/Pong/Error (Hello and above are the node's). Loop
 * thread only; the process must ignore SIGPIPE (libuv writes with write(2)). */
#ifndef MOMEDO_NODE_LINK_H
#define MOMEDO_NODE_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "identity.h"
#include "status.h"
#include "tls.h"

/* Defaults (struct link_config overrides them per link). */
#define LINK_OUT_BYTES_MAX (4u * 1024 * 1024)  /* link_send refuses (E_AGAIN) at/above */
#define LINK_OUT_LOW_BYTES (1u * 1024 * 1024)  /* on_writable once pending drops below */
#define LINK_HANDSHAKE_TIMEOUT_MS 10000        /* resolve + TCP connect + TLS handshake */
#define LINK_PING_INTERVAL_MS 30000            /* ping after this long without input */
#define LINK_DEAD_PEER_MS 90000                /* close (E_TIMEOUT) after this long */
#define LINK_CLOSE_FLUSH_MS 2000               /* time to flush the Error frame on close */
#define LINK_RECONNECT_MIN_MS 500              /* dialer: first retry delay */
#define LINK_RECONNECT_MAX_MS 60000            /* dialer: delay cap */
#define LINK_RECONNECT_JITTER_PCT 20           /* dialer: +/- this percentage */
#define LINK_RECONNECT_STABLE_MS 30000         /* dialer: up this long resets backoff */
/* Fixed sizes. */
#define LINK_READ_BYTES (64u * 1024)           /* one socket read */
#define LINK_PLAIN_BYTES (16u * 1024)          /* plaintext taken from TLS per call */
#define LINK_CTRL_ARENA_BYTES 4096             /* unpacking Ping/Pong/Error frames */
#define LINK_REASON_MAX 256                    /* longest close reason kept */
#define LINK_ADDR_MAX 64                       /* "[v6 address]:port" */
#define LINK_HOST_MAX 256                      /* host name or address given to connect */
#define LINK_LISTEN_BACKLOG 128

struct link;
struct link_listener;
struct link_dialer;

struct link_config {
  size_t frame_bytes_max;          /* body limit for received frames; 0: default */
  size_t out_bytes_max;            /* back-pressure threshold for link_send */
  size_t out_low_bytes;            /* on_writable threshold */
  uint64_t handshake_timeout_ms;   /* 0: none */
  uint64_t ping_interval_ms;       /* 0: never ping */
  uint64_t dead_peer_ms;           /* 0: never declare the peer dead */
  uint64_t reconnect_min_ms;       /* dialer backoff range */
  uint64_t reconnect_max_ms;
  uint64_t reconnect_stable_ms;
};

/* Fill c with the LINK_* defaults above. */
void link_config_default(struct link_config *c);

/* Callbacks run on the loop thread. The struct is copied; `data` is the owner's. */
struct link_callbacks {
  /* Handshake done and, for outbound links with an expected key, the key matched.
   * peer_key is the peer certificate's Ed25519 key (borrowed for the call), or NULL
   * if the peer presented no certificate (only possible on inbound links). */
  void (*on_up)(struct link *l, const uint8_t *peer_key);
  /* One whole frame body (without the 4-byte header), borrowed for the call. The
   * owner unpacks it. Ping and Pong frames are handled by the link and not shown. */
  void (*on_frame)(struct link *l, const uint8_t *body, size_t len);
  /* Called exactly once per link that was handed to the owner, after every handle
   * is closed; the link is freed when this returns. status is 0 for a local
   * link_close(l, 0, ...), else a MOMEDO_E_* code; reason is for logs. */
  void (*on_down)(struct link *l, int status, const char *reason);
  /* Optional: after link_send returned E_AGAIN, pending output dropped below
   * out_low_bytes. */
  void (*on_writable)(struct link *l);
};

/* Called for each accepted TCP connection before its handshake. Return 0 to keep
 * it (set link_set_data here), nonzero to drop it: a dropped link is closed without
 * any further callback. */
typedef int (*link_accept_fn)(struct link_listener *ls, struct link *l, void *data);

/* Listen on host (a numeric IPv4/IPv6 address) and port (0: ephemeral, see
 * link_listener_port). tls must be a server context and outlive the listener and
 * its links; cfg (NULL: defaults) and cbs are copied. Accepted links start with
 * data == `data`. Errors: MOMEDO_E_INVAL (address), MOMEDO_E_IO (bind/listen),
 * MOMEDO_E_NOMEM. */
MOMEDO_WUR int link_listen(uv_loop_t *loop, const char *host, uint16_t port,
                           struct tls_ctx *tls, const struct link_config *cfg,
                           const struct link_callbacks *cbs, link_accept_fn on_accept,
                           void *data, struct link_listener **out);
uint16_t link_listener_port(const struct link_listener *ls);
/* Stop accepting; links already accepted live on. Freed after uv_close. */
void link_listener_close(struct link_listener *ls);

/* Open an outbound link to host:port (name or address; the first address that
 * resolves is used). tls must be a client context and outlive the link.
 * expected_key (copied; NULL: accept any key, the owner checks) is compared with the
 * peer's certificate key after the handshake; a mismatch closes the link with
 * MOMEDO_E_KEYCHANGED before on_up. Failures after this returns 0 (resolution,
 * refused connection, timeout) arrive as on_down. *out stays valid until on_down. */
MOMEDO_WUR int link_connect(uv_loop_t *loop, const char *host, uint16_t port,
                            struct tls_ctx *tls, const uint8_t *expected_key,
                            const struct link_config *cfg, const struct link_callbacks *cbs,
                            void *data, struct link **out);

/* Queue one encoded frame (header + body, as frame_encode produces; the link does
 * not check it). The bytes are encrypted immediately, so the caller keeps ownership
 * of frame_bytes. Errors: MOMEDO_E_AGAIN when pending output is at or above
 * out_bytes_max (nothing queued; on_writable follows), MOMEDO_E_CLOSED when the link
 * is closing, MOMEDO_E_INVAL before on_up, MOMEDO_E_TLS / MOMEDO_E_NOMEM (the link
 * is then closing). Pending output may exceed out_bytes_max by one frame. */
MOMEDO_WUR int link_send(struct link *l, const uint8_t *frame_bytes, size_t len);
/* Corked, link_send keeps the frames it is given (plaintext, in order) instead of
 * encrypting and writing each at once; link_uncork encrypts them together and hands
 * them to the socket as one write (few TLS records, one syscall for a group commit's
 * answers to one connection instead of one each). link_close sends what is kept before
 * its Error frame. Errors of the deferred encryption close the link, as in link_send.
 * The caller uncorks in the same loop iteration; the kept bytes are not counted in
 * out_pending, so it corks only for a bounded number of frames. */
void link_cork(struct link *l);
void link_uncork(struct link *l);
/* Encrypted bytes handed to the socket but not yet written. */
size_t link_out_pending(const struct link *l);

/* Stop / restart reading from the socket (no frames are delivered while paused, the
 * peer is slowed by TCP flow control, and the dead-peer timer does not run).
 * Resuming delivers frames already buffered from the next loop iteration on. */
void link_pause_read(struct link *l);
void link_resume_read(struct link *l);

/* Close the link: log one line with status and reason, send a fatal Error frame
 * (code = status) and close_notify if the link is up, flush for at most
 * LINK_CLOSE_FLUSH_MS, then close; on_down(status, reason) follows from the loop.
 * A second call is ignored. reason may be NULL. */
void link_close(struct link *l, int status, const char *reason);

/* quiet = 1: log this link's "down" line at debug level, because its owner reports
 * the outcome itself (a neighbor dialer that summarises repeated failures). */
void link_set_quiet(struct link *l, int quiet);

void link_set_data(struct link *l, void *data);
void *link_data(const struct link *l);
/* "in 127.0.0.1:53211" / "out example.org:4710", for log lines; borrowed. */
const char *link_name(const struct link *l);
int link_is_up(const struct link *l);
int link_is_inbound(const struct link *l);

/* Dialer: keeps an outbound link to host:port (pinned to key) up. Each link it
 * opens reports through cbs with data as usual; after its on_down the dialer waits
 * link_backoff_ms(attempt) and connects again. A link that stayed up for
 * reconnect_stable_ms resets the backoff. cfg NULL: defaults; key and host copied. */
MOMEDO_WUR int link_dialer_start(uv_loop_t *loop, const char *host, uint16_t port,
                                 struct tls_ctx *tls, const uint8_t key[static NODE_KEY_LEN],
                                 const struct link_config *cfg,
                                 const struct link_callbacks *cbs, void *data,
                                 struct link_dialer **out);
/* Stop retrying and close the current link (status 0). The dialer is freed once that
 * link's on_down has run (or at once on the loop if none is open). */
void link_dialer_stop(struct link_dialer *d);
/* The dialer's current link, or NULL while waiting to retry. */
struct link *link_dialer_link(const struct link_dialer *d);
/* Consecutive failed attempts since the last stable link. */
unsigned link_dialer_attempts(const struct link_dialer *d);

/* Backoff before retry number `attempt` (0-based): min_ms * 2^attempt capped at
 * max_ms, then scaled by a factor in [1 - JITTER, 1 + JITTER] chosen by rnd
 * (uniform 32-bit value). Pure, for tests. */
uint64_t link_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms, uint32_t rnd);

#endif
