/* Unit tests for node/tls over memory buffers: a node server connection after its
 * handshake (which gives the handshake arrays back) still follows key updates the peer
 * sends, and tls_conn_trim gives the input buffer back only when nothing unconsumed is
 * in it (a half-received record survives a trim and decrypts once the rest arrives).
 * The peer is a plain wolfSSL client of the test's own, so it can send KeyUpdate. */
#include "harness.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <string.h>

#include "tls.h"

#define PEER_BUF_BYTES (256 * 1024)

/* The test's own client: ciphertext to the server in out, from the server in in. */
struct peer {
  WOLFSSL_CTX *ctx;
  WOLFSSL *ssl;
  uint8_t in[PEER_BUF_BYTES], out[PEER_BUF_BYTES];
  size_t in_off, in_len, out_len;
};

static struct peer pc;
static struct node_identity sid;

static int peer_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  (void)ssl;
  struct peer *p = ctx;
  size_t n = p->in_len - p->in_off;
  if (n == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
  if (n > (size_t)sz) n = (size_t)sz;
  memcpy(buf, p->in + p->in_off, n);
  p->in_off += n;
  return (int)n;
}

static int peer_send(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  (void)ssl;
  struct peer *p = ctx;
  if ((size_t)sz > sizeof p->out - p->out_len) return WOLFSSL_CBIO_ERR_GENERAL;
  memcpy(p->out + p->out_len, buf, (size_t)sz);
  p->out_len += (size_t)sz;
  return sz;
}

static int accept_any(int preverify, WOLFSSL_X509_STORE_CTX *store) {
  (void)preverify;
  (void)store;
  return 1; /* the test does not pin; node/tls.c's own checks are not under test here */
}

/* Move bytes both ways: the peer's output to the server, the server's to the peer. */
static void pump(struct tls_conn *s) {
  if (pc.out_len) {
    CHECK_EQ(tls_conn_feed(s, pc.out, pc.out_len), 0);
    pc.out_len = 0;
  }
  size_t n = 0;
  uint8_t *p = tls_conn_out_take(s, &n);
  if (p) {
    if (pc.in_off == pc.in_len) pc.in_off = pc.in_len = 0;
    CHECK(n <= sizeof pc.in - pc.in_len);
    memcpy(pc.in + pc.in_len, p, n);
    pc.in_len += n;
    free(p);
  }
}

static void connect_pair(struct tls_ctx *srv, struct tls_conn **out) {
  struct tls_conn *s = NULL;
  *out = NULL;
  memset(&pc, 0, sizeof pc);
  pc.ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  CHECK(pc.ctx != NULL);
  wolfSSL_CTX_set_verify(pc.ctx, WOLFSSL_VERIFY_PEER, accept_any);
  wolfSSL_CTX_SetIORecv(pc.ctx, peer_recv);
  wolfSSL_CTX_SetIOSend(pc.ctx, peer_send);
  pc.ssl = wolfSSL_new(pc.ctx);
  CHECK(pc.ssl != NULL);
  wolfSSL_SetIOReadCtx(pc.ssl, &pc);
  wolfSSL_SetIOWriteCtx(pc.ssl, &pc);
  CHECK_EQ(tls_conn_new(&s, srv), 0);
  int rs = MOMEDO_E_AGAIN, rc = WOLFSSL_FAILURE;
  for (int k = 0; k < 16 && (rs != 0 || rc != WOLFSSL_SUCCESS); k++) {
    if (rc != WOLFSSL_SUCCESS) rc = wolfSSL_connect(pc.ssl);
    pump(s);
    if (rs != 0) rs = tls_conn_handshake(s);
    pump(s);
  }
  CHECK_EQ(rs, 0);
  CHECK_EQ(rc, WOLFSSL_SUCCESS);
  *out = s;
}

static void disconnect(struct tls_conn *s) {
  tls_conn_free(s);
  wolfSSL_free(pc.ssl);
  wolfSSL_CTX_free(pc.ctx);
}

/* The server reads exactly want (all of it, possibly over several records). */
static void server_reads(struct tls_conn *s, const char *want) {
  uint8_t buf[4096];
  size_t n = 0, got = 0, len = strlen(want);
  while (got < len) {
    CHECK_EQ(tls_conn_read(s, buf + got, sizeof buf - got, &n), 0);
    got += n;
  }
  CHECK_EQ(got, len);
  CHECK_MEM(buf, want, len);
}

static void peer_reads(struct tls_conn *s, const char *want) {
  char buf[4096];
  pump(s);
  int n = wolfSSL_read(pc.ssl, buf, sizeof buf);
  CHECK_EQ(n, (int)strlen(want));
  CHECK_MEM(buf, want, strlen(want));
}

static void test_tls_key_update_after_handshake(void) {
  struct tls_ctx *srv = NULL;
  CHECK_EQ(tls_ctx_new(&srv, TLS_ROLE_SERVER, &sid), 0);
  struct tls_conn *s = NULL;
  connect_pair(srv, &s);
  CHECK(s != NULL);
  for (int round = 0; round < 3; round++) {
    CHECK_EQ(wolfSSL_update_keys(pc.ssl), WOLFSSL_SUCCESS); /* KeyUpdate, update_requested */
    CHECK_EQ(wolfSSL_write(pc.ssl, "after update", 12), 12);
    pump(s);
    server_reads(s, "after update");
    /* The server answered the request with its own KeyUpdate: its next record is under
     * its new key, which the peer must be able to read. */
    CHECK_EQ(tls_conn_write(s, (const uint8_t *)"answer", 6), 0);
    peer_reads(s, "answer");
  }
  disconnect(s);
  tls_ctx_free(srv);
}

static void test_tls_trim_keeps_half_record(void) {
  struct tls_ctx *srv = NULL;
  CHECK_EQ(tls_ctx_new(&srv, TLS_ROLE_SERVER, &sid), 0);
  struct tls_conn *s = NULL;
  connect_pair(srv, &s);
  CHECK(s != NULL);
  tls_conn_trim(s); /* nothing buffered: the buffer goes, the connection stays usable */
  CHECK_EQ(wolfSSL_write(pc.ssl, "whole record", 12), 12);
  pump(s);
  server_reads(s, "whole record");
  tls_conn_trim(s);

  CHECK_EQ(wolfSSL_write(pc.ssl, "split across feeds", 18), 18);
  size_t len = pc.out_len, half = len / 2;
  CHECK_EQ(tls_conn_feed(s, pc.out, half), 0);
  uint8_t buf[64];
  size_t n = 0;
  /* wolfSSL takes what is there and waits for the rest; a trim now must not lose the
   * bytes it has not consumed. */
  CHECK_EQ(tls_conn_read(s, buf, sizeof buf, &n), MOMEDO_E_AGAIN);
  tls_conn_trim(s);
  CHECK_EQ(tls_conn_feed(s, pc.out + half, len - half), 0);
  pc.out_len = 0;
  server_reads(s, "split across feeds");

  /* Unconsumed bytes in the buffer itself (fed, not yet read) survive a trim. */
  CHECK_EQ(wolfSSL_write(pc.ssl, "fed, not read", 13), 13);
  pump(s);
  tls_conn_trim(s);
  server_reads(s, "fed, not read");
  disconnect(s);
  tls_ctx_free(srv);
}

int main(void) {
  if (tls_global_init() != 0 || node_identity_generate(&sid) != 0) return 1;
  RUN(test_tls_key_update_after_handshake);
  RUN(test_tls_trim_keeps_half_record);
  node_identity_close(&sid);
  tls_global_cleanup();
  TEST_MAIN_END();
}
