/* node/tls.h — TLS 1.3 (wolfSSL) over memory buffers: the caller feeds ciphertext
 * read from the socket and takes ciphertext to write; wolfSSL never sees a socket.
 * Authentication is by pinned key, not by CA: any self-signed peer certificate is
 * accepted during the handshake and the caller compares tls_conn_peer_key() with
 * the key it expects afterwards (TLS 1.3 CertificateVerify proves possession).
 * Must not touch sockets, clocks or the event loop. */
#ifndef MOMEDO_NODE_TLS_H
#define MOMEDO_NODE_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "status.h"

/* Ciphertext buffered but not yet consumed by wolfSSL; a feed beyond this fails
 * with MOMEDO_E_TOOBIG (a TLS record is at most ~16.6 KiB, so a link that drains
 * after every socket read stays far below). */
#define TLS_IN_BYTES_MAX (1024 * 1024)
#define TLS_ERR_MAX 160 /* longest error text kept per connection */

enum tls_role {
  TLS_ROLE_SERVER = 0, /* accepts; requests a client certificate, does not require one */
  TLS_ROLE_CLIENT = 1, /* connects; presents its certificate when it has one */
};

struct tls_ctx;
struct tls_conn;

/* wolfSSL_Init once per process (idempotent, counted); pair with tls_global_cleanup. */
MOMEDO_WUR int tls_global_init(void);
void tls_global_cleanup(void);

/* A TLS 1.3-only context presenting id's certificate and key (copied into wolfSSL;
 * id may be freed afterwards). id may be NULL for a client without certificate.
 * Errors: MOMEDO_E_TLS (wolfSSL refused the key or settings), MOMEDO_E_NOMEM. */
MOMEDO_WUR int tls_ctx_new(struct tls_ctx **out, enum tls_role role,
                           const struct node_identity *id);
/* Free a context. Free its connections first. NULL is ignored. */
void tls_ctx_free(struct tls_ctx *ctx);
enum tls_role tls_ctx_role(const struct tls_ctx *ctx);

/* One connection's TLS state and its input/output buffers. */
MOMEDO_WUR int tls_conn_new(struct tls_conn **out, struct tls_ctx *ctx);
void tls_conn_free(struct tls_conn *c); /* NULL is ignored */

/* Append n bytes of ciphertext from the peer (copied). MOMEDO_E_TOOBIG beyond
 * TLS_IN_BYTES_MAX unconsumed bytes, MOMEDO_E_NOMEM. */
MOMEDO_WUR int tls_conn_feed(struct tls_conn *c, const uint8_t *p, size_t n);

/* Give the input buffer back when it holds nothing unconsumed (an idle connection then
 * owns no ciphertext buffer; the next feed allocates one again). */
void tls_conn_trim(struct tls_conn *c);

/* Drive the handshake. 0 when complete, MOMEDO_E_AGAIN when more input is needed
 * (take the output first), MOMEDO_E_TLS on failure (see tls_conn_error). */
MOMEDO_WUR int tls_conn_handshake(struct tls_conn *c);

/* Decrypt up to cap bytes into buf; *n receives the count (> 0) on success.
 * MOMEDO_E_AGAIN: no whole record buffered; MOMEDO_E_CLOSED: the peer sent
 * close_notify; MOMEDO_E_TLS: protocol failure or alert. */
MOMEDO_WUR int tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap, size_t *n);

/* Encrypt all n bytes (copied) into the output buffer. MOMEDO_E_TLS, MOMEDO_E_NOMEM. */
MOMEDO_WUR int tls_conn_write(struct tls_conn *c, const uint8_t *p, size_t n);

/* Queue a close_notify alert. */
void tls_conn_close_notify(struct tls_conn *c);

/* Ciphertext waiting to be written to the socket. tls_conn_out_take hands the
 * buffer over (the caller free()s it) and leaves the connection's output empty;
 * NULL when there is nothing to write. */
size_t tls_conn_out_len(const struct tls_conn *c);
uint8_t *tls_conn_out_take(struct tls_conn *c, size_t *len);

/* After the handshake: the Ed25519 key of the peer's leaf certificate.
 * MOMEDO_E_NOTFOUND: the peer presented no certificate; MOMEDO_E_BADKEY: not an
 * Ed25519 key; MOMEDO_E_DECODE: unparsable certificate. */
MOMEDO_WUR int tls_conn_peer_key(struct tls_conn *c, uint8_t pub[static NODE_KEY_LEN]);

/* Text of the last failure ("" if none), for log lines. Borrowed from c. */
const char *tls_conn_error(const struct tls_conn *c);

#endif
