/* client/core/transport.c — the only client file that touches sockets: TCP connect with a
 * deadline, a wolfSSL TLS 1.3 client over a non-blocking socket (our own I/O callbacks,
 * so no SIGPIPE and every wait is a poll() with the remaining time), and pinning of the
 * node's Ed25519 key. No CA, no certificate dates: the pinned key is the trust anchor.
 * Knows nothing about frames or requests. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "hex.h"
#include "os.h"
#include "reason.h"

#define TRANSPORT_IO_CHUNK_MAX (1 << 30) /* largest single wolfSSL_read/write length */
#define TRANSPORT_PORT_CHARS_MAX 5

struct transport_tls {
  int fd;
  WOLFSSL_CTX *ctx;
  WOLFSSL *ssl;
  int wolf_inited;
  int up;               /* handshake completed */
  int dead;             /* sticky error after a fatal failure, 0 while healthy */
};

/* Deadline of 0 means none. */
static uint64_t tr_deadline(int timeout_ms) {
  return timeout_ms < 0 ? 0 : os_mono_ms() + (uint64_t)timeout_ms;
}

/* Wait for events on fd until the deadline: 0 when ready, E_TIMEOUT, E_IO. */
static int tr_wait(int fd, short events, uint64_t deadline) {
  for (;;) {
    int wait_ms = -1;
    if (deadline != 0) {
      uint64_t now = os_mono_ms();
      if (now >= deadline) return MOMEDO_E_TIMEOUT;
      uint64_t left = deadline - now;
      wait_ms = left > INT_MAX ? INT_MAX : (int)left;
    }
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, wait_ms);
    if (n > 0) return 0; /* readiness or an error condition: the next call reports it */
    if (n == 0) continue; /* re-check the deadline */
    if (errno != EINTR) return MOMEDO_E_IO;
  }
}

/* ---- host:port ------------------------------------------------------------------ */

int transport_parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port) {
  const char *colon, *h = s;
  size_t hl;
  if (s == NULL) return MOMEDO_E_INVAL;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':') return MOMEDO_E_INVAL;
    h = s + 1;
    hl = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL) return MOMEDO_E_INVAL;
    hl = (size_t)(colon - s);
  }
  if (hl == 0 || hl > TRANSPORT_HOST_CHARS_MAX || hl >= host_cap) return MOMEDO_E_INVAL;
  const char *p = colon + 1;
  size_t pl = strlen(p);
  if (pl == 0 || pl > TRANSPORT_PORT_CHARS_MAX) return MOMEDO_E_INVAL;
  unsigned long v = 0;
  for (size_t i = 0; i < pl; i++) {
    if (p[i] < '0' || p[i] > '9') return MOMEDO_E_INVAL;
    v = v * 10 + (unsigned long)(p[i] - '0');
  }
  if (v == 0 || v > 65535) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < hl; i++)
    if (h[i] <= ' ' || h[i] == '/' || h[i] == '[' || h[i] == ']') return MOMEDO_E_INVAL;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = (uint16_t)v;
  return 0;
}

/* ---- TCP ------------------------------------------------------------------------ */

/* One connect attempt to one address; 0 with *fd_out set, or an error. */
static int tr_connect_one(const struct addrinfo *ai, uint64_t deadline, int *fd_out) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  ai->ai_protocol);
  if (fd < 0) return MOMEDO_E_IO;
  int rc = 0;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno == ECONNREFUSED) rc = MOMEDO_E_CONNREFUSED;
    else if (errno != EINPROGRESS) rc = MOMEDO_E_IO;
    else if ((rc = tr_wait(fd, POLLOUT, deadline)) == 0) {
      int err = 0;
      socklen_t el = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
      if (err == ECONNREFUSED) rc = MOMEDO_E_CONNREFUSED;
      else if (err == ETIMEDOUT) rc = MOMEDO_E_TIMEOUT;
      else if (err != 0) rc = MOMEDO_E_IO;
    }
  }
  if (rc < 0) {
    close(fd);
    return rc;
  }
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *fd_out = fd;
  return 0;
}

static int tr_tcp_connect(const char *host, uint16_t port, uint64_t deadline, int *fd_out,
                          char *reason, size_t cap) {
  char ps[TRANSPORT_PORT_CHARS_MAX + 1];
  struct addrinfo hints, *res = NULL;
  snprintf(ps, sizeof ps, "%u", (unsigned)port);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int gai = getaddrinfo(host, ps, &hints, &res);
  if (gai != 0) {
    reason_set(reason, cap, "cannot resolve %s: %s", host, gai_strerror(gai));
    return MOMEDO_E_IO;
  }
  int rc = MOMEDO_E_IO;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    rc = tr_connect_one(ai, deadline, fd_out);
    if (rc == 0 || rc == MOMEDO_E_TIMEOUT) break;
  }
  freeaddrinfo(res);
  if (rc == MOMEDO_E_CONNREFUSED)
    reason_set(reason, cap, "%s:%u refused the connection (is momedod running?)", host,
               (unsigned)port);
  else if (rc == MOMEDO_E_TIMEOUT)
    reason_set(reason, cap, "no TCP connection to %s:%u within the timeout", host, (unsigned)port);
  else if (rc < 0)
    reason_set(reason, cap, "cannot connect to %s:%u: %s", host, (unsigned)port, strerror(errno));
  return rc;
}

/* ---- wolfSSL I/O callbacks over the non-blocking socket -------------------------- */

static int tr_cb_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  struct transport_tls *t = ctx;
  ssize_t n = recv(t->fd, buf, (size_t)sz, 0);
  if (n > 0) return (int)n;
  if (n == 0) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return WOLFSSL_CBIO_ERR_WANT_READ;
  if (errno == EINTR) return WOLFSSL_CBIO_ERR_ISR;
  if (errno == ECONNRESET) return WOLFSSL_CBIO_ERR_CONN_RST;
  return WOLFSSL_CBIO_ERR_GENERAL;
}

static int tr_cb_send(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  struct transport_tls *t = ctx;
  ssize_t n = send(t->fd, buf, (size_t)sz, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return WOLFSSL_CBIO_ERR_WANT_WRITE;
  if (errno == EINTR) return WOLFSSL_CBIO_ERR_ISR;
  if (errno == EPIPE || errno == ECONNRESET) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
  return WOLFSSL_CBIO_ERR_GENERAL;
}

/* After a wolfSSL call returned ret <= 0: wait as it asks (0 = retry) or map the error. */
static int tr_ssl_wait(struct transport_tls *t, int ret, uint64_t deadline) {
  int err = wolfSSL_get_error(t->ssl, ret);
  if (err == WOLFSSL_ERROR_WANT_READ) return tr_wait(t->fd, POLLIN, deadline);
  if (err == WOLFSSL_ERROR_WANT_WRITE) return tr_wait(t->fd, POLLOUT, deadline);
  if (err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E ||
      err == SOCKET_ERROR_E)
    return MOMEDO_E_CLOSED;
  return MOMEDO_E_TLS;
}

/* ---- pinning ------------------------------------------------------------------- */

/* The Ed25519 key of a DER certificate into pub; E_TLS if it carries another kind. */
static int tr_cert_key(const unsigned char *der, int der_len,
                       uint8_t pub[static TRANSPORT_KEY_LEN]) {
  DecodedCert dc;
  int rc = MOMEDO_E_TLS;
  if (der == NULL || der_len <= 0) return MOMEDO_E_TLS;
  wc_InitDecodedCert(&dc, der, (word32)der_len, NULL);
  if (wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL) == 0 && dc.keyOID == ED25519k &&
      dc.pubKeySize == TRANSPORT_KEY_LEN && dc.publicKey != NULL) {
    memcpy(pub, dc.publicKey, TRANSPORT_KEY_LEN);
    rc = 0;
  }
  wc_FreeDecodedCert(&dc);
  return rc;
}

/* The key of the node's leaf certificate (first in the peer chain, as received). */
static int tr_peer_key(struct transport_tls *t, uint8_t pub[static TRANSPORT_KEY_LEN]) {
  WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(t->ssl);
  if (chain == NULL || wolfSSL_get_chain_count(chain) < 1) return MOMEDO_E_TLS;
  return tr_cert_key(wolfSSL_get_chain_cert(chain, 0), wolfSSL_get_chain_length(chain, 0), pub);
}

static int tr_handshake(struct transport_tls *t, const uint8_t node_key[TRANSPORT_KEY_LEN],
                        uint64_t deadline, char *reason, size_t cap) {
  int rc;
  for (;;) {
    int ret = wolfSSL_connect(t->ssl);
    if (ret == WOLFSSL_SUCCESS) break;
    if ((rc = tr_ssl_wait(t, ret, deadline)) < 0) {
      char msg[WOLFSSL_MAX_ERROR_SZ];
      wolfSSL_ERR_error_string_n((unsigned long)wolfSSL_get_error(t->ssl, ret), msg,
                                 sizeof msg);
      if (rc == MOMEDO_E_TIMEOUT)
        reason_set(reason, cap, "TLS handshake did not finish within the timeout");
      else
        reason_set(reason, cap, "TLS handshake failed: %s", msg);
      return rc == MOMEDO_E_CLOSED ? MOMEDO_E_TLS : rc;
    }
  }
  uint8_t pub[TRANSPORT_KEY_LEN];
  if ((rc = tr_peer_key(t, pub)) < 0) {
    reason_set(reason, cap, "the node's certificate does not carry an Ed25519 key");
    return rc;
  }
  if (memcmp(pub, node_key, TRANSPORT_KEY_LEN) != 0) {
    char got[17], want[17];
    hex_encode(got, sizeof got, pub, 8);
    hex_encode(want, sizeof want, node_key, 8);
    reason_set(reason, cap,
               "node presents key %s..., expected %s... (wrong node, or its "
               "key changed)",
               got, want);
    return MOMEDO_E_KEYCHANGED;
  }
  return 0;
}

static int tr_tls_setup(struct transport_tls *t) {
  if (wolfSSL_Init() != WOLFSSL_SUCCESS) return MOMEDO_E_TLS;
  t->wolf_inited = 1;
  t->ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  if (t->ctx == NULL) return MOMEDO_E_NOMEM;
  /* No CA: the handshake still proves possession of the certificate's key (TLS 1.3
   * CertificateVerify), and we compare that key with the pinned node key afterwards. */
  wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_NONE, NULL);
  wolfSSL_CTX_SetIORecv(t->ctx, tr_cb_recv);
  wolfSSL_CTX_SetIOSend(t->ctx, tr_cb_send);
  t->ssl = wolfSSL_new(t->ctx);
  if (t->ssl == NULL) return MOMEDO_E_NOMEM;
  wolfSSL_SetIOReadCtx(t->ssl, t);
  wolfSSL_SetIOWriteCtx(t->ssl, t);
  return 0;
}

int transport_tls_connect(struct transport_tls **out, const char *host, uint16_t port,
                          const uint8_t node_key[static TRANSPORT_KEY_LEN], int timeout_ms,
                          char *reason, size_t reason_cap) {
  struct transport_tls *t = NULL;
  uint64_t deadline = tr_deadline(timeout_ms);
  int rc;
  *out = NULL;
  reason_set(reason, reason_cap, "%s", "");
  if (host == NULL || host[0] == '\0' || strlen(host) > TRANSPORT_HOST_CHARS_MAX ||
      port == 0) {
    reason_set(reason, reason_cap, "invalid node address");
    return MOMEDO_E_INVAL;
  }
  t = calloc(1, sizeof *t);
  if (t == NULL) return MOMEDO_E_NOMEM;
  t->fd = -1;
  if ((rc = tr_tcp_connect(host, port, deadline, &t->fd, reason, reason_cap)) < 0) goto out;
  if ((rc = tr_tls_setup(t)) < 0) {
    reason_set(reason, reason_cap, "cannot set up TLS");
    goto out;
  }
  rc = tr_handshake(t, node_key, deadline, reason, reason_cap);
  if (rc == 0) t->up = 1;
out:
  if (rc < 0) {
    transport_tls_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

/* ---- the vtable ---------------------------------------------------------------- */

static int tr_send(void *ctx, const uint8_t *buf, size_t len, int timeout_ms) {
  struct transport_tls *t = ctx;
  uint64_t deadline = tr_deadline(timeout_ms);
  size_t off = 0;
  if (t->dead) return t->dead;
  while (off < len) {
    size_t n = len - off > TRANSPORT_IO_CHUNK_MAX ? TRANSPORT_IO_CHUNK_MAX : len - off;
    int ret = wolfSSL_write(t->ssl, buf + off, (int)n);
    if (ret > 0) {
      off += (size_t)ret;
      continue;
    }
    int rc = tr_ssl_wait(t, ret, deadline);
    if (rc == MOMEDO_E_TIMEOUT) return rc; /* wolfSSL keeps the record; retry is safe */
    if (rc < 0) return t->dead = rc;
  }
  return 0;
}

static int tr_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, int timeout_ms) {
  struct transport_tls *t = ctx;
  uint64_t deadline = tr_deadline(timeout_ms);
  *got = 0;
  if (t->dead) return t->dead;
  if (cap > TRANSPORT_IO_CHUNK_MAX) cap = TRANSPORT_IO_CHUNK_MAX;
  for (;;) {
    int ret = wolfSSL_read(t->ssl, buf, (int)cap);
    if (ret > 0) {
      *got = (size_t)ret;
      return 0;
    }
    int rc = tr_ssl_wait(t, ret, deadline);
    if (rc == MOMEDO_E_TIMEOUT) return rc;
    if (rc < 0) return t->dead = rc;
  }
}

static uint64_t tr_now(void *ctx) { return os_mono_ms(); }

static const struct transport_ops tr_tls_ops = {
    .send = tr_send,
    .recv = tr_recv,
    .now_ms = tr_now,
};

void transport_tls_view(struct transport_tls *t, struct transport *out) {
  out->ops = &tr_tls_ops;
  out->ctx = t;
}

void transport_thread_done(void) {
#ifdef FP_ECC
  wc_ecc_fp_free(); /* this thread's fixed-point cache (thread-local with HAVE_THREAD_LS) */
#endif
}

void transport_tls_free(struct transport_tls *t) {
  if (t == NULL) return;
  if (t->ssl != NULL) {
    if (t->up && !t->dead) (void)wolfSSL_shutdown(t->ssl); /* non-blocking: one attempt */
    wolfSSL_free(t->ssl);
  }
  if (t->ctx != NULL) wolfSSL_CTX_free(t->ctx);
  if (t->fd >= 0) close(t->fd);
  if (t->wolf_inited) wolfSSL_Cleanup();
  free(t);
}
