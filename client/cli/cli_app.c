/* client/cli/cli_app.c — `momedo app [--listen 127.0.0.1:PORT]`: binds a loopback
 * address only (momedo_loopweb), makes a 128-bit token and prints the URL carrying it,
 * then serves the compiled-in page, the API (cli_app_api.c) and the event stream with
 * libmicrohttpd, one thread per connection, until SIGINT/SIGTERM. Every request passes
 * app_req_check (Host, token, same-origin JSON for POSTs); the first page load trades
 * ?t= for an HttpOnly SameSite=Strict cookie and a redirect that drops it from the URL. */
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_app.h"
#include "loopweb.h"
#include "loopweb_http.h"

#define APP_CSP                                                                        \
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "    \
  "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
#define APP_SSE_CHUNK 256

/* One request's body, collected before the handler runs. */
struct app_conn {
  char *body;
  size_t len, cap;
  int too_big;
};

/* Send len bytes of body (malloc'd: freed by libmicrohttpd). */
static enum MHD_Result send_body(struct MHD_Connection *mc, unsigned http, char *body,
                                 size_t len, const char *type, const char *disposition) {
  return loopweb_send(mc, http, body, len, type, APP_CSP,
                      disposition && disposition[0] ? disposition : NULL);
}

static enum MHD_Result send_json(struct MHD_Connection *mc, unsigned http, cJSON *o) {
  return loopweb_send_json(mc, http, o, APP_CSP);
}

void app_error(struct app_call *c, unsigned http, int status, const char *why) {
  if (!http) {
    switch (status) {
    case MOMEDO_E_NOTFOUND: http = MHD_HTTP_NOT_FOUND; break;
    case MOMEDO_E_AUTH: http = MHD_HTTP_FORBIDDEN; break;
    case MOMEDO_E_EXISTS: http = MHD_HTTP_CONFLICT; break;
    case MOMEDO_E_CONNREFUSED:
    case MOMEDO_E_CLOSED:
    case MOMEDO_E_TIMEOUT: http = MHD_HTTP_SERVICE_UNAVAILABLE; break;
    case MOMEDO_E_NOMEM:
    case MOMEDO_E_INTERNAL: http = MHD_HTTP_INTERNAL_SERVER_ERROR; break;
    case MOMEDO_E_INVAL: http = MHD_HTTP_BAD_REQUEST; break;
    default: http = MHD_HTTP_BAD_GATEWAY; break; /* the engine or the node failed */
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
  struct app_call c = {0};
  app_error(&c, http, status, why);
  return send_json(mc, c.http, c.out);
}

/* The page's files; index.html gets the language picked from Accept-Language. */
static enum MHD_Result send_asset(struct MHD_Connection *mc, const char *url) {
  const char *name = strcmp(url, "/") == 0 ? "index.html" : url + 1;
  const struct loopweb_asset *a = NULL;
  for (size_t i = 0; i < app_assets_n; i++)
    if (strcmp(name, app_assets[i].name) == 0) a = &app_assets[i];
  if (!a) return refuse(mc, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "no such page");
  const char *lang = loopweb_lang_pick(
      MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Accept-Language"));
  char *out = malloc(a->len + 1), *at;
  if (!out) return MHD_NO;
  memcpy(out, a->data, a->len);
  out[a->len] = 0;
  if (strcmp(name, "index.html") == 0 && (at = strstr(out, "{{LANG}}")) != NULL) {
    memcpy(at, lang, 2); /* "{{LANG}}" -> "de" + the six bytes after, moved up */
    memmove(at + 2, at + 8, a->len - (size_t)(at + 8 - out) + 1);
    return send_body(mc, MHD_HTTP_OK, out, a->len - 6, a->type, NULL);
  }
  return send_body(mc, MHD_HTTP_OK, out, a->len, a->type, NULL);
}

/* The first load with ?t=: set the cookie and send the browser to the same path
 * without the token (it leaves the address bar and the history). */
static enum MHD_Result set_cookie(struct app *a, struct MHD_Connection *mc, const char *url) {
  char cookie[APP_COOKIE_NAME_MAX + APP_TOKEN_HEX + 64];
  struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
  if (!r) return MHD_NO;
  snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict", a->cookie,
           a->token);
  loopweb_headers(r, "text/plain; charset=utf-8", APP_CSP);
  MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
  MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, url);
  enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_SEE_OTHER, r);
  MHD_destroy_response(r);
  return ret;
}

/* ---- server-sent events ---------------------------------------------------------- */

struct app_sse {
  struct app *a;
  uint64_t seen;
  int started;
};

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct app_sse *s = cls;
  struct app *a = s->a;
  (void)pos;
  if (max < APP_SSE_CHUNK) return 0;
  pthread_mutex_lock(&a->ev_mu);
  if (s->started) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += APP_SSE_PING_MS / 1000;
    while (!a->quit && a->ev_seq == s->seen)
      if (pthread_cond_timedwait(&a->ev_cv, &a->ev_mu, &until) == ETIMEDOUT) break;
  }
  int quit = a->quit, changed = !s->started || a->ev_seq != s->seen, link = a->link_up;
  s->seen = a->ev_seq;
  pthread_mutex_unlock(&a->ev_mu);
  if (quit) return MHD_CONTENT_READER_END_OF_STREAM;
  int n = changed ? snprintf(buf, max, "%sevent: change\ndata: {\"seq\":%llu,\"link\":%s}\n\n",
                             s->started ? "" : "retry: 2000\n", (unsigned long long)s->seen,
                             link ? "true" : "false")
                  : snprintf(buf, max, ": ping\n\n");
  s->started = 1;
  return n;
}

static void sse_free(void *cls) {
  struct app_sse *s = cls;
  pthread_mutex_lock(&s->a->ev_mu);
  s->a->n_sse--;
  pthread_mutex_unlock(&s->a->ev_mu);
  free(s);
}

static enum MHD_Result send_events(struct app *a, struct MHD_Connection *mc) {
  struct app_sse *s = calloc(1, sizeof *s);
  if (!s) return MHD_NO;
  s->a = a;
  pthread_mutex_lock(&a->ev_mu);
  int full = a->n_sse >= APP_SSE_MAX;
  if (!full) a->n_sse++;
  pthread_mutex_unlock(&a->ev_mu);
  if (full) {
    free(s);
    return refuse(mc, MHD_HTTP_SERVICE_UNAVAILABLE, MOMEDO_E_QUOTA, "too many event streams");
  }
  struct MHD_Response *r =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, sse_read, s, sse_free);
  if (!r) {
    sse_free(s);
    return MHD_NO;
  }
  loopweb_headers(r, "text/event-stream; charset=utf-8", APP_CSP);
  enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

/* ---- requests -------------------------------------------------------------------- */

/* Threads that may reach the node (handlers that send) free TLS's per-thread cache when
 * they end: libmicrohttpd's connection threads come and go. */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static void tls_thread_end(void *v) {
  (void)v;
  eng_thread_done();
}
static void tls_key_make(void) {
  if (pthread_key_create(&tls_key, tls_thread_end) != 0) abort();
}

static enum MHD_Result run_route(struct app *a, struct MHD_Connection *mc,
                                 const struct app_route *rt, struct app_conn *conn) {
  struct app_call c = {.mc = mc, .http = MHD_HTTP_OK};
  cJSON *body = NULL;
  if (strcmp(rt->method, "POST") == 0) {
    if (conn->too_big) return refuse(mc, MHD_HTTP_CONTENT_TOO_LARGE, MOMEDO_E_TOOBIG,
                                     "the request body is too large");
    body = conn->len ? cJSON_ParseWithLength(conn->body, conn->len) : NULL;
    if (!cJSON_IsObject(body)) {
      cJSON_Delete(body);
      return refuse(mc, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "the body must be a JSON object");
    }
    c.body = body;
  }
  pthread_once(&tls_once, tls_key_make);
  pthread_setspecific(tls_key, a); /* non-NULL: the destructor runs at this thread's end */
  if (rt->needs_unlock == APP_ROUTE_OWN_LOCK) { /* it locks around all but its slow step */
    rt->fn(a, &c);
  } else {
    pthread_mutex_lock(&a->mu);
    if (rt->needs_unlock && !a->unlocked)
      app_error(&c, MHD_HTTP_LOCKED, MOMEDO_E_AUTH, "unlock with your passphrase first");
    else
      rt->fn(a, &c);
    pthread_mutex_unlock(&a->mu);
  }
  if (conn->body) explicit_bzero(conn->body, conn->len); /* a passphrase, a message */
  cJSON_Delete(body);
  if (c.raw) return send_body(mc, c.http, c.raw, c.raw_len, c.raw_type, c.disposition);
  if (!c.out) return refuse(mc, 0, MOMEDO_E_NOMEM, NULL);
  return send_json(mc, c.http, c.out);
}

static enum MHD_Result dispatch(struct app *a, struct MHD_Connection *mc, const char *url,
                                const char *method, struct app_conn *conn) {
  int wrong = 0;
  if (strcmp(url, "/api/events") == 0 && strcmp(method, "POST") != 0) return send_events(a, mc);
  const struct app_route *rt = app_route_find(method, url, &wrong);
  if (rt) return run_route(a, mc, rt, conn);
  if (wrong) return refuse(mc, MHD_HTTP_METHOD_NOT_ALLOWED, MOMEDO_E_INVAL, "wrong method");
  if (strcmp(method, "POST") == 0 || strncmp(url, "/api/", 5) == 0)
    return refuse(mc, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "no such address");
  return send_asset(mc, url);
}

static const char *hdr(struct MHD_Connection *mc, const char *name) {
  return MHD_lookup_connection_value(mc, MHD_HEADER_KIND, name);
}

static enum MHD_Result first_call(struct app *a, struct MHD_Connection *mc, const char *url,
                                  int post, void **con_cls) {
  struct app_hdrs h = {
      .host = hdr(mc, MHD_HTTP_HEADER_HOST), .cookie = hdr(mc, MHD_HTTP_HEADER_COOKIE),
      .token_header = hdr(mc, APP_TOKEN_HEADER), .origin = hdr(mc, "Origin"),
      .fetch_site = hdr(mc, "Sec-Fetch-Site"), .content_type = hdr(mc, "Content-Type"),
      .query_token = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "t")};
  int from_query = 0;
  switch (app_req_check(&h, a->token, a->cookie, post, &from_query)) {
  case APP_OK: break;
  case APP_BAD_HOST:
    return refuse(mc, MHD_HTTP_FORBIDDEN, MOMEDO_E_DENIED,
                  "this app answers only to 127.0.0.1, localhost or [::1] in Host");
  case APP_NO_TOKEN:
    return refuse(mc, MHD_HTTP_FORBIDDEN, MOMEDO_E_AUTH,
                  "missing or wrong token: open the URL `momedo app` printed");
  case APP_CROSS_ORIGIN:
    return refuse(mc, MHD_HTTP_FORBIDDEN, MOMEDO_E_DENIED, "cross-origin request refused");
  case APP_NOT_JSON:
    return refuse(mc, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, MOMEDO_E_INVAL,
                  "a change is a JSON object: Content-Type application/json");
  }
  if (from_query) return set_cookie(a, mc, url);
  struct app_conn *conn = calloc(1, sizeof *conn);
  if (!conn) return MHD_NO;
  *con_cls = conn;
  return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
  struct app *a = cls;
  struct app_conn *conn = *con_cls;
  (void)version;
  int post = strcmp(method, "POST") == 0;
  if (!conn) {
    if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
      return refuse(mc, MHD_HTTP_METHOD_NOT_ALLOWED, MOMEDO_E_INVAL, "only GET and POST");
    return first_call(a, mc, url, post, con_cls);
  }
  if (*upload_size) {
    if (!post || conn->too_big || *upload_size > APP_BODY_BYTES_MAX - conn->len) {
      conn->too_big = 1;
    } else {
      if (conn->len + *upload_size > conn->cap) { /* doubling: a 30 MB upload is 10 reallocs */
        size_t cap = conn->cap ? conn->cap : 4096;
        while (cap < conn->len + *upload_size) cap *= 2;
        char *b = malloc(cap);
        if (!b) return MHD_NO;
        if (conn->body) memcpy(b, conn->body, conn->len);
        if (conn->body) explicit_bzero(conn->body, conn->len);
        free(conn->body);
        conn->body = b;
        conn->cap = cap;
      }
      memcpy(conn->body + conn->len, upload, *upload_size);
      conn->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  return dispatch(a, mc, url, method, conn);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct app_conn *conn = *con_cls;
  (void)cls, (void)mc, (void)toe;
  if (conn) {
    if (conn->body) explicit_bzero(conn->body, conn->len);
    free(conn->body);
    free(conn);
  }
  *con_cls = NULL;
}

/* ---- the command ----------------------------------------------------------------- */

static void print_url(struct app *a, const char *host) {
  char url[LOOPWEB_HOST_MAX + APP_TOKEN_HEX + 32];
  snprintf(url, sizeof url, "http://%s:%u/?t=%s", host, a->port, a->token);
  if (a->c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "url", url);
    jsonw_u64(&j, "port", a->port);
    jsonw_str(&j, "home", eng_home_dir(a->st));
    jsonw_end(&j);
  } else {
    printf("momedo app for %s:\n\n  %s\n\nOpen it in a browser on this machine. Anyone with "
           "this URL can use your messenger\nuntil you stop this with Ctrl-C.\n",
           eng_home_dir(a->st), url);
  }
  fflush(stdout);
}

static struct MHD_Daemon *start_http(struct app *a, int fd) {
  return MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
      NULL, NULL, on_request, a, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)APP_CONNS_MAX,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)APP_CONN_TIMEOUT_S, MHD_OPTION_END);
}

static int app_init(struct cli *c, struct app *a) {
  a->c = c;
  a->rq = *c;
  a->lc = *c;
  a->rq.json = a->lc.json = 1; /* what the engine prints is for nobody: JSON to a sink */
  a->rq.out = fopen("/dev/null", "w");
  a->lc.out = open_memstream(&a->lc_buf, &a->lc_len); /* printed(): something happened */
  if (!a->rq.out || !a->lc.out) return cli_fail(c, MOMEDO_E_IO, "cannot open an output sink");
  if (eng_state_new(&a->st) != 0) return cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  pthread_mutex_init(&a->mu, NULL);
  pthread_mutex_init(&a->ev_mu, NULL);
  pthread_cond_init(&a->ev_cv, NULL);
  int rc = cli_scrypt_opt(c, &a->log2n); /* the cost of a vault made in the first run */
  if (rc) return rc;
  rc = eng_home(&c->e, a->st, 0);
  if (rc == MOMEDO_E_NOTFOUND) { /* no identity yet: the page's first run makes one */
    rc = 0;
    c->e.why[0] = 0;
  }
  if (rc == 0 && loopweb_token_make(a->token, APP_TOKEN_BYTES) != 0)
    rc = cli_fail(c, MOMEDO_E_RNG, "the OS random number generator failed");
  return rc;
}

static void app_fini(struct app *a) {
  eng_state_free(a->st);
  if (a->rq.out) fclose(a->rq.out);
  if (a->lc.out) fclose(a->lc.out);
  free(a->lc_buf);
  pthread_cond_destroy(&a->ev_cv);
  pthread_mutex_destroy(&a->ev_mu);
  pthread_mutex_destroy(&a->mu);
  explicit_bzero(a, sizeof *a);
}

/* Serve until SIGINT or SIGTERM, then stop the streams, the live thread and the server. */
static int serve(struct app *a, int fd, const char *host) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the threads inherit it; sigwait takes them */
  signal(SIGPIPE, SIG_IGN); /* a closed stdout or a browser gone is an error, not the end */
  struct MHD_Daemon *d = start_http(a, fd);
  if (!d) {
    close(fd);
    return cli_fail(a->c, MOMEDO_E_IO, "the HTTP server did not start");
  }
  if (pthread_create(&a->live, NULL, app_live_main, a) == 0) a->live_started = 1;
  else fprintf(stderr, "momedo: the live thread did not start: no live updates\n");
  print_url(a, host);
  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  pthread_mutex_lock(&a->ev_mu);
  a->quit = 1;
  pthread_cond_broadcast(&a->ev_cv);
  pthread_mutex_unlock(&a->ev_mu);
  if (a->live_started) pthread_join(a->live, NULL);
  app_link_stop(a);
  MHD_stop_daemon(d); /* joins the connection threads: the streams end on quit */
  if (!a->c->json) fprintf(stderr, "momedo app stopped (signal %d)\n", sig);
  return 0;
}

int cli_cmd_app(struct cli *c) {
  const char *at = c->opt[CO_LISTEN] ? c->opt[CO_LISTEN] : APP_LISTEN_DEFAULT;
  char host[LOOPWEB_HOST_MAX], why[ENG_WHY_MAX] = "";
  int fd = -1;
  struct app *a = calloc(1, sizeof *a);
  if (!a) return cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  int rc = app_init(c, a);
  if (rc == 0 && (rc = loopweb_listen(at, APP_LISTEN_DEFAULT, host, sizeof host, &fd, &a->port,
                                      why, sizeof why)) != 0)
    rc = cli_fail(c, rc, "%s", why);
  if (rc == 0) {
    snprintf(a->cookie, sizeof a->cookie, "%s%u", APP_COOKIE, a->port);
    rc = serve(a, fd, host);
  }
  app_fini(a);
  free(a);
  return rc;
}
