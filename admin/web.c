/* admin/web.c — `momedo-admin web`: the operator's console on loopback. Binds only a
 * loopback address, makes a 256-bit token from the OS RNG and prints the URL carrying
 * it, then serves the compiled-in page and the API (web_api.c) with libmicrohttpd's one
 * thread. Every request must name this console in Host (DNS rebinding), carry the token,
 * and for POSTs carry it in a header with a same-origin Origin (CSRF). */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adm.h"
#include "loopweb.h"
#include "loopweb_http.h"
#include "web.h"

#define WEB_TOKEN_HEADER "X-Momedo-Token"
#define WEB_CSP                                                                        \
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "          \
  "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
#define WEB_USAGE "web [--listen HOST:PORT]"

/* Per-connection state of one request: the body read so far. */
struct web_conn {
  char body[WEB_BODY_BYTES_MAX];
  size_t len;
  int too_big;
};

/* Send len bytes of body (malloc'd: freed by libmicrohttpd). */
static enum MHD_Result send_body(struct MHD_Connection *mc, unsigned http, char *body,
                                 size_t len, const char *type) {
  return loopweb_send(mc, http, body, len, type, WEB_CSP, NULL);
}

static enum MHD_Result send_json(struct MHD_Connection *mc, unsigned http, cJSON *o) {
  return loopweb_send_json(mc, http, o, WEB_CSP);
}

void web_error(struct web_call *c, unsigned http, int status, const char *why) {
  if (!http) {
    switch (status) {
    case MOMEDO_E_NOTFOUND: http = MHD_HTTP_NOT_FOUND; break;
    case MOMEDO_E_EXISTS: http = MHD_HTTP_CONFLICT; break;
    case MOMEDO_E_CONNREFUSED: /* the node is not running */
    case MOMEDO_E_CLOSED:
    case MOMEDO_E_TIMEOUT: http = MHD_HTTP_SERVICE_UNAVAILABLE; break;
    case MOMEDO_E_NOMEM:
    case MOMEDO_E_INTERNAL:
    case MOMEDO_E_PROTO: http = MHD_HTTP_INTERNAL_SERVER_ERROR; break;
    default: http = MHD_HTTP_BAD_REQUEST; break;
    }
  }
  cJSON_Delete(c->out);
  free(c->raw);
  c->raw = NULL;
  c->http = http;
  c->out = loopweb_error_json(status, why);
}

static enum MHD_Result refuse(struct MHD_Connection *mc, unsigned http, int status,
                              const char *why) {
  struct web_call c = {0};
  web_error(&c, http, status, why);
  return send_json(mc, c.http, c.out);
}

/* A page template with {{TOKEN}} and {{LANG}} filled in. */
static enum MHD_Result send_asset(struct web *w, struct MHD_Connection *mc,
                                  const struct loopweb_asset *a) {
  const char *al = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Accept-Language");
  const char *q = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "lang");
  const char *lang = q && (strcmp(q, "de") == 0 || strcmp(q, "en") == 0) ? q : loopweb_lang_pick(al);
  size_t cap = a->len * 2 + 64, n = 0;
  char *out = malloc(cap);
  if (!out) return MHD_NO;
  for (size_t i = 0; i < a->len;) {
    const char *p = (const char *)a->data + i, *rep = NULL;
    size_t skip = 0;
    if (a->len - i >= 9 && memcmp(p, "{{TOKEN}}", 9) == 0) rep = w->token, skip = 9;
    else if (a->len - i >= 8 && memcmp(p, "{{LANG}}", 8) == 0) rep = lang, skip = 8;
    size_t add = rep ? strlen(rep) : 1;
    if (n + add + 1 > cap) {
      free(out);
      return MHD_NO; /* cannot happen: the token is shorter than two copies of a page */
    }
    memcpy(out + n, rep ? rep : p, add);
    n += add;
    i += rep ? skip : 1;
  }
  return send_body(mc, MHD_HTTP_OK, out, n, a->type);
}

static const struct loopweb_asset *find_asset(const char *url) {
  if (strcmp(url, "/") == 0) url = "/index.html";
  if (strcmp(url, "/print") == 0) url = "/print.html";
  for (size_t i = 0; i < web_assets_n; i++)
    if (strcmp(url + 1, web_assets[i].name) == 0) return &web_assets[i];
  return NULL;
}

/* Host, token, and for POSTs the CSRF checks: 0, or the refusal already queued. */
static int check_request(struct web *w, struct MHD_Connection *mc, int post,
                         enum MHD_Result *ret) {
  const char *host = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Host");
  const char *hdr = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, WEB_TOKEN_HEADER);
  const char *qt = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "t");
  const char *tok = hdr ? hdr : post ? NULL : qt;
  if (!loopweb_host_ok(host)) {
    *ret = refuse(mc, MHD_HTTP_FORBIDDEN, MOMEDO_E_DENIED,
                  "this console answers only to 127.0.0.1, localhost or [::1] in Host");
    return -1;
  }
  if (!loopweb_token_eq(tok, tok ? strlen(tok) : 0, w->token)) {
    *ret = refuse(mc, MHD_HTTP_FORBIDDEN, MOMEDO_E_AUTH,
                  post ? "a change needs the console's token in the " WEB_TOKEN_HEADER " header"
                       : "missing or wrong token: open the URL momedo-admin web printed");
    return -1;
  }
  if (!post) return 0;
  const char *origin = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Origin");
  const char *site = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-Fetch-Site");
  const char *type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type");
  if ((origin && (strncmp(origin, "http://", 7) != 0 || strcmp(origin + 7, host) != 0)) ||
      (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)) {
    *ret = refuse(mc, MHD_HTTP_FORBIDDEN, MOMEDO_E_DENIED,
                  "cross-origin request refused (Origin is not this console)");
    return -1;
  }
  if (!type || strncmp(type, "application/json", 16) != 0) {
    *ret = refuse(mc, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, MOMEDO_E_INVAL,
                  "a change is a JSON object: Content-Type application/json");
    return -1;
  }
  return 0;
}

static enum MHD_Result dispatch(struct web *w, struct MHD_Connection *mc, const char *url,
                                int post, struct web_conn *conn) {
  const struct web_route *rt = NULL;
  for (size_t i = 0; i < web_routes_n; i++)
    if (strcmp(url, web_routes[i].path) == 0) rt = &web_routes[i];
  if (!rt && !post) {
    const struct loopweb_asset *a = find_asset(url);
    if (a) return send_asset(w, mc, a);
  }
  if (!rt) return refuse(mc, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "no such page");
  if (strcmp(rt->method, post ? "POST" : "GET") != 0)
    return refuse(mc, MHD_HTTP_METHOD_NOT_ALLOWED, MOMEDO_E_INVAL,
                  post ? "this address is read with GET" : "this address takes a POST");
  struct web_req req;
  struct web_call c = {.http = MHD_HTTP_OK};
  char why[REASON_MAX] = "";
  if (post) {
    if (conn->too_big) {
      snprintf(why, sizeof why, "the request body is larger than %u bytes",
               (unsigned)WEB_BODY_BYTES_MAX);
      return refuse(mc, MHD_HTTP_CONTENT_TOO_LARGE, MOMEDO_E_TOOBIG, why);
    }
    if (web_req_parse((enum web_req_kind)rt->kind, conn->body, conn->len, &req, why,
                      sizeof why) != 0)
      return refuse(mc, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, why);
    c.req = &req;
  } else {
    c.id = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "id");
  }
  arena_reset(&w->arena);
  rt->fn(w, &c);
  arena_reset(&w->arena);
  if (c.raw) return send_body(mc, c.http, c.raw, c.raw_len, c.raw_type);
  if (!c.out) return refuse(mc, 0, MOMEDO_E_NOMEM, NULL);
  return send_json(mc, c.http, c.out);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
  struct web *w = cls;
  struct web_conn *conn = *con_cls;
  (void)version;
  int post = strcmp(method, "POST") == 0;
  if (!conn) { /* first call: headers only */
    enum MHD_Result ret;
    if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
      return refuse(mc, MHD_HTTP_METHOD_NOT_ALLOWED, MOMEDO_E_INVAL, "only GET and POST");
    if (check_request(w, mc, post, &ret) != 0) return ret;
    conn = calloc(1, sizeof *conn);
    if (!conn) return MHD_NO;
    *con_cls = conn;
    return MHD_YES;
  }
  if (*upload_size) { /* a piece of the body */
    if (!post || conn->too_big || *upload_size > sizeof conn->body - conn->len) {
      conn->too_big = 1;
    } else {
      memcpy(conn->body + conn->len, upload, *upload_size);
      conn->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  return dispatch(w, mc, url, post, conn);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)mc, (void)toe;
  free(*con_cls);
  *con_cls = NULL;
}

static void print_url(struct adm_ctx *ctx, const char *host, unsigned port, const char *tok) {
  char url[NODE_HOST_CHARS_MAX + WEB_TOKEN_HEX + 32];
  snprintf(url, sizeof url, "http://%s:%u/?t=%s", host, port, tok);
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "url", url);
    jsonw_u64(&j, "port", port);
    jsonw_end(&j);
  } else {
    printf("momedo console for %s:\n\n  %s\n\nOpen it in a browser on this machine (from "
           "elsewhere: ssh -L %u:127.0.0.1:%u, then the same URL with localhost).\n"
           "Anyone with this URL can manage the node until you stop this with Ctrl-C.\n",
           ctx->dir, url, port, port);
  }
  fflush(stdout);
}

int adm_cmd_web(struct adm_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"listen", required_argument, NULL, 'l'}, {0}};
  const char *listen_at = WEB_LISTEN_DEFAULT;
  char host[NODE_HOST_CHARS_MAX + 3], why[REASON_MAX] = "";
  int c, fd = -1, rc;
  unsigned port = 0;
  while ((c = adm_getopt(ctx, argc, argv, opts)) != -1) {
    if (c != 'l') return ADM_EXIT_USAGE;
    listen_at = optarg;
  }
  if (optind != argc) return adm_usage(ctx);
  if ((rc = adm_need_dir(ctx)) != 0) return rc;
  struct web *w = calloc(1, sizeof *w);
  if (!w) return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_NOMEM, "out of memory");
  w->dir = ctx->dir;
  if (loopweb_token_make(w->token, WEB_TOKEN_BYTES) != 0) {
    free(w);
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_RNG, "the OS random number generator failed");
  }
  rc = loopweb_listen(listen_at, WEB_LISTEN_DEFAULT, host, sizeof host, &fd, &port, why,
                      sizeof why);
  if (rc) {
    free(w);
    return adm_fail(ctx, rc == MOMEDO_E_IO ? ADM_EXIT_FAIL : ADM_EXIT_USAGE, rc, "%s", why);
  }
  arena_init(&w->arena, WEB_ARENA_BYTES);
  /* SIGINT/SIGTERM are taken by sigwait below; block them before the server's thread
   * starts so it inherits the mask and never runs their default action. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, w,
      MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONNS_MAX,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT_S,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY_BYTES, MHD_OPTION_END);
  if (!d) {
    close(fd);
    arena_close(&w->arena);
    free(w);
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_IO, "the HTTP server did not start");
  }
  print_url(ctx, host, port, w->token);
  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  MHD_stop_daemon(d); /* joins the server's thread and closes the listening socket */
  arena_close(&w->arena);
  explicit_bzero(w, sizeof *w);
  free(w);
  if (!ctx->json) fprintf(stderr, "momedo console stopped (signal %d)\n", sig);
  return ADM_EXIT_OK;
}
