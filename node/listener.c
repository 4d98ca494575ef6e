/* node/listener.c — link listeners: bind and listen on a numeric address, accept
 * each connection into a new inbound link (link.c makes it), ask the owner whether to
 * keep it, and drop what cannot be served so the listener never stalls. Logs the
 * bound port and accept failures; nothing about the peers beyond their address. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "link_int.h"
#include "log.h"

struct link_listener {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  struct tls_ctx *tls;
  struct link_config cfg;
  struct link_callbacks cbs;
  link_accept_fn on_accept;
  void *data;
  uint16_t port;
  int closing;
};

static void link_on_drop_closed(uv_handle_t *h) { free(h); }

/* Accept and immediately close a connection we cannot serve, so the listener
 * does not stall on an un-accepted socket. */
static void link_drop_connection(uv_stream_t *server) {
  uv_tcp_t *t = malloc(sizeof *t);
  if (t == NULL || uv_tcp_init(server->loop, t) != 0) {
    free(t);
    return;
  }
  (void)uv_accept(server, (uv_stream_t *)t);
  uv_close((uv_handle_t *)t, link_on_drop_closed);
}

static void link_on_connection(uv_stream_t *server, int status) {
  struct link_listener *ls = server->data;
  struct link *l;
  if (status < 0) {
    node_log(NODE_LOG_WARN, "listener port %u: accept: %s", ls->port, uv_strerror(status));
    return;
  }
  if (link__accept(server, ls->tls, &ls->cfg, &ls->cbs, ls->data, &l) != 0) {
    node_log(NODE_LOG_ERROR, "listener port %u: no memory for a link, dropping", ls->port);
    link_drop_connection(server);
    return;
  }
  if (l == NULL) return; /* accept failed: the link is closing */
  node_log(NODE_LOG_DEBUG, "link %s accepted", link_name(l));
  if (ls->on_accept && ls->on_accept(ls, l, ls->data) != 0) {
    link_close(l, MOMEDO_E_BUSY, "refused by the node");
    return;
  }
  link__start(l);
}

static void link_listener_on_closed(uv_handle_t *h) { free(h->data); }

int link_listen(uv_loop_t *loop, const char *host, uint16_t port, struct tls_ctx *tls,
                const struct link_config *cfg, const struct link_callbacks *cbs,
                link_accept_fn on_accept, void *data, struct link_listener **out) {
  struct sockaddr_storage ss;
  assert(tls_ctx_role(tls) == TLS_ROLE_SERVER);
  *out = NULL;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
    return MOMEDO_E_INVAL;
  struct link_listener *ls = calloc(1, sizeof *ls);
  if (ls == NULL) return MOMEDO_E_NOMEM;
  ls->loop = loop;
  ls->tls = tls;
  if (cfg)
    ls->cfg = *cfg;
  else
    link_config_default(&ls->cfg);
  if (cbs) ls->cbs = *cbs;
  ls->on_accept = on_accept;
  ls->data = data;
  if (uv_tcp_init(loop, &ls->tcp) != 0) {
    free(ls);
    return MOMEDO_E_IO;
  }
  ls->tcp.data = ls;
  int rc = uv_tcp_bind(&ls->tcp, (const struct sockaddr *)&ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&ls->tcp, LINK_LISTEN_BACKLOG, link_on_connection);
  struct sockaddr_storage bound;
  int len = sizeof bound;
  if (rc == 0) rc = uv_tcp_getsockname(&ls->tcp, (struct sockaddr *)&bound, &len);
  if (rc != 0) {
    node_log(NODE_LOG_ERROR, "listen on %s port %u: %s", host, port, uv_strerror(rc));
    ls->closing = 1;
    uv_close((uv_handle_t *)&ls->tcp, link_listener_on_closed);
    return MOMEDO_E_IO;
  }
  ls->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                               : ((struct sockaddr_in *)&bound)->sin_port);
  node_log(NODE_LOG_INFO, "listening on %s port %u", host, ls->port);
  *out = ls;
  return 0;
}

uint16_t link_listener_port(const struct link_listener *ls) { return ls->port; }

void link_listener_close(struct link_listener *ls) {
  if (ls->closing) return;
  ls->closing = 1;
  uv_close((uv_handle_t *)&ls->tcp, link_listener_on_closed);
}
