/* node/tls.c — wolfSSL TLS 1.3 contexts and connections over memory buffers.
 * The recv callback serves ciphertext the caller fed in; the send callback appends
 * to an output buffer the caller takes and writes. No sockets, no clocks here.
 * The verify callback accepts self-signed certificates only for the errors that a
 * CA-less, pinned-key setup produces; the caller pins the peer key afterwards. */
#include "tls.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TLS_OUT_INITIAL_BYTES 4096

struct tls_ctx {
  WOLFSSL_CTX *ctx;
  enum tls_role role;
};

struct tls_conn {
  WOLFSSL *ssl;
  uint8_t *in;     /* ciphertext from the peer: in[in_off, in_len) is unconsumed */
  size_t in_off, in_len, in_cap;
  uint8_t *out;    /* ciphertext for the peer, taken by the caller */
  size_t out_len, out_cap;
  int out_failed;  /* an append failed for lack of memory */
  char err[TLS_ERR_MAX];
};

static int tls_init_count;

int tls_global_init(void) {
  if (tls_init_count++ > 0) return 0;
  if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
    tls_init_count = 0;
    return MOMEDO_E_TLS;
  }
  return 0;
}

void tls_global_cleanup(void) {
  if (tls_init_count == 0 || --tls_init_count > 0) return;
  wolfSSL_Cleanup();
}

/* Chain-building failures that are expected without a CA: the certificate is
 * self-signed, or its dates disagree with our clock. Anything else (a corrupt
 * certificate, a bad signature) is refused. wolfSSL reports either its own codes
 * or OpenSSL's X509_V_ERR_* depending on the build, so both are listed. */
static int tls_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store) {
  if (preverify) return 1;
  int e = wolfSSL_X509_STORE_CTX_get_error(store);
  switch (e) {
  case ASN_NO_SIGNER_E:
  case ASN_SELF_SIGNED_E:
  case ASN_BEFORE_DATE_E:
  case ASN_AFTER_DATE_E:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_CERT_NOT_YET_VALID:
  case X509_V_ERR_CERT_HAS_EXPIRED:
    return 1;
  default:
    node_log(NODE_LOG_DEBUG, "tls peer certificate refused: verify error %d", e);
    return 0;
  }
}

static int tls_io_recv(WOLFSSL *ssl, char *buf, int sz, void *ud) {
  struct tls_conn *c = ud;
  (void)ssl;
  size_t avail = c->in_len - c->in_off;
  if (avail == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
  size_t n = sz > 0 && (size_t)sz < avail ? (size_t)sz : avail;
  memcpy(buf, c->in + c->in_off, n);
  c->in_off += n;
  if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
  return (int)n;
}

static int tls_io_send(WOLFSSL *ssl, char *buf, int sz, void *ud) {
  struct tls_conn *c = ud;
  (void)ssl;
  if (sz <= 0) return 0;
  if (c->out_len + (size_t)sz > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : TLS_OUT_INITIAL_BYTES;
    while (cap < c->out_len + (size_t)sz) cap *= 2;
    uint8_t *p = realloc(c->out, cap);
    if (p == NULL) {
      c->out_failed = 1;
      return WOLFSSL_CBIO_ERR_GENERAL;
    }
    c->out = p;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, buf, (size_t)sz);
  c->out_len += (size_t)sz;
  return sz;
}

static int tls_ctx_load_identity(WOLFSSL_CTX *ctx, const struct node_identity *id) {
  if (wolfSSL_CTX_use_certificate_buffer(ctx, id->cert_der, (long)id->cert_der_len,
                                         WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS)
    return MOMEDO_E_TLS;
  if (wolfSSL_CTX_use_PrivateKey_buffer(ctx, id->key_der, (long)id->key_der_len,
                                        WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS)
    return MOMEDO_E_TLS;
  if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) return MOMEDO_E_BADKEY;
  return 0;
}

int tls_ctx_new(struct tls_ctx **out, enum tls_role role, const struct node_identity *id) {
  int ret = MOMEDO_E_TLS;
  *out = NULL;
  if (role != TLS_ROLE_SERVER && role != TLS_ROLE_CLIENT) return MOMEDO_E_INVAL;
  if (role == TLS_ROLE_SERVER && id == NULL) return MOMEDO_E_INVAL;
  struct tls_ctx *t = calloc(1, sizeof *t);
  if (t == NULL) return MOMEDO_E_NOMEM;
  t->role = role;
  WOLFSSL_METHOD *m =
      role == TLS_ROLE_SERVER ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
  if (m == NULL || (t->ctx = wolfSSL_CTX_new(m)) == NULL) goto out;
  if (id != NULL && (ret = tls_ctx_load_identity(t->ctx, id)) != 0) goto out;
  ret = MOMEDO_E_TLS;
  /* Peer certificates are requested and checked by tls_verify_cb, but a missing
   * client certificate is not a handshake failure: the owner decides by role. */
  wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_PEER, tls_verify_cb);
#ifdef HAVE_SESSION_TICKET
  /* Resumption would skip the certificates that pinning relies on. */
  if (role == TLS_ROLE_SERVER && wolfSSL_CTX_no_ticket_TLSv13(t->ctx) != 0) goto out;
#endif
  wolfSSL_CTX_SetIORecv(t->ctx, tls_io_recv);
  wolfSSL_CTX_SetIOSend(t->ctx, tls_io_send);
  *out = t;
  return 0;
out:
  tls_ctx_free(t);
  return ret;
}

void tls_ctx_free(struct tls_ctx *ctx) {
  if (ctx == NULL) return;
  if (ctx->ctx != NULL) wolfSSL_CTX_free(ctx->ctx);
  free(ctx);
}

enum tls_role tls_ctx_role(const struct tls_ctx *ctx) { return ctx->role; }

int tls_conn_new(struct tls_conn **out, struct tls_ctx *ctx) {
  *out = NULL;
  struct tls_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return MOMEDO_E_NOMEM;
  c->ssl = wolfSSL_new(ctx->ctx);
  if (c->ssl == NULL) {
    free(c);
    return MOMEDO_E_NOMEM;
  }
  wolfSSL_SetIOReadCtx(c->ssl, c);
  wolfSSL_SetIOWriteCtx(c->ssl, c);
  *out = c;
  return 0;
}

void tls_conn_free(struct tls_conn *c) {
  if (c == NULL) return;
  wolfSSL_free(c->ssl);
  free(c->in);
  free(c->out);
  free(c);
}

void tls_conn_trim(struct tls_conn *c) {
  if (c->in_off != c->in_len) return; /* unconsumed ciphertext stays */
  free(c->in);
  c->in = NULL;
  c->in_off = c->in_len = c->in_cap = 0;
}

int tls_conn_feed(struct tls_conn *c, const uint8_t *p, size_t n) {
  size_t live = c->in_len - c->in_off;
  if (n > TLS_IN_BYTES_MAX - live) return MOMEDO_E_TOOBIG;
  if (c->in_off > 0) { /* compact: consumed bytes are never needed again */
    memmove(c->in, c->in + c->in_off, live);
    c->in_off = 0;
    c->in_len = live;
  }
  if (c->in_len + n > c->in_cap) {
    size_t cap = c->in_cap ? c->in_cap : TLS_OUT_INITIAL_BYTES;
    while (cap < c->in_len + n) cap *= 2;
    uint8_t *q = realloc(c->in, cap);
    if (q == NULL) return MOMEDO_E_NOMEM;
    c->in = q;
    c->in_cap = cap;
  }
  memcpy(c->in + c->in_len, p, n);
  c->in_len += n;
  return 0;
}

/* Map a failed wolfSSL call to a status and remember its text. */
static int tls_fail(struct tls_conn *c, int rc, const char *what) {
  int e = wolfSSL_get_error(c->ssl, rc);
  if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) return MOMEDO_E_AGAIN;
  if (e == WOLFSSL_ERROR_ZERO_RETURN) return MOMEDO_E_CLOSED;
  if (c->out_failed) {
    snprintf(c->err, sizeof c->err, "%s: out of memory", what);
    return MOMEDO_E_NOMEM;
  }
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n((unsigned long)e, text, sizeof text);
  snprintf(c->err, sizeof c->err, "%s: %s (%d)", what, text, e);
  wolfSSL_ERR_clear_error(); /* the text is kept here; do not let the queue grow */
  return MOMEDO_E_TLS;
}

int tls_conn_handshake(struct tls_conn *c) {
  int server = wolfSSL_is_server(c->ssl);
  int rc = server ? wolfSSL_accept(c->ssl) : wolfSSL_connect(c->ssl);
  if (rc == WOLFSSL_SUCCESS) {
    /* Debian's wolfSSL keeps the handshake arrays (~5.4 KB) of a TLS 1.3 server
     * connection for session tickets, which tls_ctx_new turns off; key updates use the
     * traffic secrets, not the arrays (test_node_tls). Only the server side: a client
     * may still be sent a NewSessionTicket, whose processing would need them. */
    if (server) wolfSSL_FreeArrays(c->ssl);
    return 0;
  }
  int ret = tls_fail(c, rc, "handshake");
  return ret == MOMEDO_E_CLOSED ? MOMEDO_E_TLS : ret;
}

int tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap, size_t *n) {
  *n = 0;
  int want = cap > INT32_MAX ? INT32_MAX : (int)cap;
  int rc = wolfSSL_read(c->ssl, buf, want);
  if (rc > 0) {
    *n = (size_t)rc;
    return 0;
  }
  return tls_fail(c, rc, "read");
}

int tls_conn_write(struct tls_conn *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    int chunk = n > INT32_MAX ? INT32_MAX : (int)n;
    int rc = wolfSSL_write(c->ssl, p, chunk);
    if (rc <= 0) {
      int ret = tls_fail(c, rc, "write");
      return ret == MOMEDO_E_AGAIN ? MOMEDO_E_TLS : ret; /* output never blocks */
    }
    p += rc;
    n -= (size_t)rc;
  }
  return 0;
}

void tls_conn_close_notify(struct tls_conn *c) { (void)wolfSSL_shutdown(c->ssl); }

size_t tls_conn_out_len(const struct tls_conn *c) { return c->out_len; }

uint8_t *tls_conn_out_take(struct tls_conn *c, size_t *len) {
  *len = c->out_len;
  if (c->out_len == 0) return NULL;
  uint8_t *p = c->out;
  c->out = NULL;
  c->out_len = c->out_cap = 0;
  return p;
}

int tls_conn_peer_key(struct tls_conn *c, uint8_t pub[static NODE_KEY_LEN]) {
  WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(c->ssl);
  if (chain == NULL || wolfSSL_get_chain_count(chain) < 1) return MOMEDO_E_NOTFOUND;
  const uint8_t *der = wolfSSL_get_chain_cert(chain, 0);
  int len = wolfSSL_get_chain_length(chain, 0);
  if (der == NULL || len <= 0) return MOMEDO_E_NOTFOUND;
  return node_cert_pubkey(der, (size_t)len, pub);
}

const char *tls_conn_error(const struct tls_conn *c) { return c->err; }
