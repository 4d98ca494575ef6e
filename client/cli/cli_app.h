/* client/cli/cli_app.h — `momedo app`, the messenger window (issue 13 part 3): an HTTP
 * server on loopback (libmicrohttpd, one thread per connection) serving a page compiled
 * into the binary (client/cli/app/), a JSON API (cJSON) over the same engine as the
 * command line, and live updates as server-sent events from a thread that listens at
 * the node like `momedo listen`. Keys and passphrase stay in this process; the page
 * gets only what it shows. cli_app.c (command, server), cli_app_req.c (request checks
 * and routing, pure), cli_app_api.c (handlers), cli_app_live.c (the node link). */
#ifndef MOMEDO_CLI_APP_H
#define MOMEDO_CLI_APP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "loopweb.h"

#define APP_LISTEN_DEFAULT "127.0.0.1:9473"
#define APP_TOKEN_BYTES 16                 /* 128 bits from getrandom() */
#define APP_TOKEN_HEX (2 * APP_TOKEN_BYTES)
#define APP_COOKIE "momedo_app_"           /* + the port: one cookie per app on a host */
#define APP_COOKIE_NAME_MAX 24
#define APP_TOKEN_HEADER "X-Momedo-Token"
#define APP_FILE_BYTES_MAX CONTENT_FILE_BYTES_DEFAULT_MAX  /* an attachment from the page */
/* A POST body (an attachment in base64 is the largest); larger: 413. */
#define APP_BODY_BYTES_MAX ((APP_FILE_BYTES_MAX + 2) / 3 * 4 + 4096)
#define APP_CONNS_MAX 16                   /* concurrent HTTP connections (and threads) */
#define APP_CONN_TIMEOUT_S 60              /* idle connection closed */
#define APP_SSE_PING_MS 15000              /* an SSE comment this often keeps it open */
#define APP_SSE_MAX 8                      /* event streams open at once */
#define APP_UNREAD_MAX 99                  /* "99+" beyond */
#define APP_MESSAGES_DEFAULT 50
#define APP_MESSAGES_MAX 500
#define APP_LIVE_RETRY_MS_MAX 8000         /* reconnecting to the node */
#define APP_LIVE_WAIT_MS 500               /* one wait for a pushed event */
#define APP_DISPOSITION_MAX 160
#define APP_PASS_NEW_MIN ENG_PASS_NEW_MIN /* a passphrase chosen in the page */
#define APP_CODE_MAX 1024                  /* an invite or link code pasted in the page */
#define APP_GROUP_MEMBERS_MAX 64           /* members named in one request */
#define APP_CHANNEL_DERIVE_MAX 1           /* scrypt runs at once (64 MiB each); more: 429 */
#define APP_STR_(x) #x
#define APP_STR(x) APP_STR_(x)
#define APP_READ_META "app.read."          /* history meta key + conversation hash: last row read */

/* What a request names itself by (headers and the query's t), for app_req_check. */
struct app_hdrs {
  const char *host, *cookie, *token_header, *query_token, *origin, *fetch_site, *content_type;
};

enum app_verdict {
  APP_OK = 0,
  APP_BAD_HOST,      /* Host is not a loopback name: DNS rebinding */
  APP_NO_TOKEN,      /* no or wrong token (cookie, header, or ?t= on a page load) */
  APP_CROSS_ORIGIN,  /* a POST from another origin */
  APP_NOT_JSON,      /* a POST that is not application/json */
};

/* The checks every request passes, in order: Host, token (header, then the cookie named
 * cookie_name, then for a GET ?t=), and for a POST same origin and a JSON body. *from_query
 * = 1 when only ?t= carried the token (the server then sets the cookie and redirects). */
enum app_verdict app_req_check(const struct app_hdrs *h, const char *token,
                               const char *cookie_name, int post, int *from_query);
/* The value of cookie `name` in a Cookie header (NULL when absent), copied into out. */
const char *app_cookie_get(const char *cookie, const char *name, char *out, size_t cap);
/* Standard base64 (RFC 4648 section 4, '=' padding, no whitespace) of n chars into out
 * (cap bytes); *len the bytes. E_INVAL (not base64), E_TOOBIG (more than cap). */
MOMEDO_WUR int app_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len);

struct app;
struct MHD_Connection;
/* One API call: what came in and what goes out. */
struct app_call {
  struct MHD_Connection *mc;
  cJSON *body;               /* POST: the parsed object; GET: NULL */
  unsigned http;             /* status to send */
  cJSON *out;                /* JSON answer, or ... */
  char *raw;                 /* ... a malloc'd body of raw_type (attachments) */
  size_t raw_len;
  const char *raw_type;
  char disposition[APP_DISPOSITION_MAX]; /* Content-Disposition of raw, or "" */
};
typedef void (*app_api_fn)(struct app *a, struct app_call *c);
struct app_route {
  const char *method, *path;
  app_api_fn fn;
  int needs_unlock;          /* 1, or APP_ROUTE_OWN_LOCK: the handler takes the app's lock
                                itself, around all but a slow step (a channel's scrypt),
                                and answers 423 itself while locked */
};
#define APP_ROUTE_OWN_LOCK 2
extern const struct app_route app_routes[];
extern const size_t app_routes_n;
/* The account pages' routes (cli_app_manage.c): first run, groups, safety numbers,
 * devices; app_route_find looks in both tables. */
extern const struct app_route app_manage_routes[];
extern const size_t app_manage_routes_n;
/* Passphrase channels (cli_app_channel.c): join, show, leave. */
extern const struct app_route app_channel_routes[];
extern const size_t app_channel_routes_n;
/* The route of (method, path) (a path ending in '/' matches as a prefix: /att/); NULL
 * when none. *wrong_method = 1 when the path exists under the other method. */
const struct app_route *app_route_find(const char *method, const char *path, int *wrong_method);

/* The page's files compiled into the binary (app_assets.c, generated by
 * admin/web_assets.cmake from client/cli/app/). */
extern const struct loopweb_asset app_assets[];
extern const size_t app_assets_n;

/* The app: one per process. mu guards st and the engine (cli structs): HTTP handlers
 * and the live thread take turns; ev_mu / ev_cv carry the change counter to the SSE
 * streams. */
struct app {
  pthread_mutex_t mu;
  struct cli *c;              /* the command's options; requests use rq, the link lc */
  struct cli rq, lc;
  char *lc_buf;               /* lc prints into this memory stream (read by nobody) */
  size_t lc_len;
  struct eng_state *st;       /* the home (eng_state_new in app_init) */
  int unlocked;
  char token[APP_TOKEN_HEX + 1];
  char cookie[APP_COOKIE_NAME_MAX];
  unsigned port;
  pthread_mutex_t ev_mu;
  pthread_cond_t ev_cv;
  uint64_t ev_seq;            /* raised on every change the page should fetch */
  int link_up;                /* the live thread has a node connection */
  int quit;
  int n_sse;
  pthread_t live;
  int live_started;
  unsigned log2n;             /* scrypt cost of a vault made in the first run */
  /* The first run with a link code (cli_app_link.c): its thread waits for the first
   * device, reporting the safety code to compare and the outcome in link_*. */
  int link_busy;
  pthread_t link_thread;
  int link_started;
  char link_safety[8];
  char link_error[ENG_WHY_MAX];
  int ch_deriving;            /* a channel join is deriving its keys (one at a time) */
};

/* Raise the change counter and wake the streams (cli_app_live.c). */
void app_changed(struct app *a, int link_up);
/* The live thread's body: listens at the node while unlocked, until quit. */
void *app_live_main(void *arg);
/* A request's string field (the JSON body of a POST, else the query). */
const char *app_arg(struct app_call *c, const char *name);
/* Answer c with the engine's reason for rc (rq.e.why), then clear it; returns rc. */
int app_engine_fail(struct app *a, struct app_call *c, int rc);
/* Open the home with pass (as /api/unlock) and answer c with the state. */
void app_unlock_with(struct app *a, struct app_call *c, char *pass, size_t pl);
/* Whether the home holds an identity (a vault) now. */
int app_has_identity(struct app *a);
/* Why a new passphrase (and its repetition) is refused; NULL when it is accepted. */
const char *app_pass_weak(const char *pass, const char *repeat);
/* The first run with a link code: start the thread that joins this device to the
 * user's (cli_app_link.c) and answer c (202 and the state, or the code's error). */
void app_link_start(struct app *a, struct app_call *c, const char *code, const char *pass);
/* Whether code is meant as a link code (its prefix), damaged or not. */
int app_is_link_code(const char *code);
/* State fields of a running or failed link (under the app's lock). */
void app_link_state(struct app *a, cJSON *out);
/* Stop and join the link thread (the app ends). */
void app_link_stop(struct app *a);
/* Answer c with {"ok":false,"status":NAME,"error":why} and http (0: from status). */
void app_error(struct app_call *c, unsigned http, int status, const char *why);
/* cli_app_extras.c: the place and caption of a file, an approval task's decisions and a
 * reply's decision into a message's JSON object o; an upload's {location, caption}
 * into f (l holds the place; answers c on a bad one); {id, comment} of /api/task with
 * action approve|decline (approve = 1) answered. */
void app_entry_extras(struct eng_state *st, cJSON *o, const struct tl_entry *e);
MOMEDO_WUR int app_file_extras(struct cli *rq, struct app_call *c, Momedo__File *f,
                               Momedo__Location *l);
void app_decide(struct app *a, struct app_call *c, int approve);
/* cli_app_channel.c: why a channel join's name, passphrase or display name (NULL: the
 * default) is refused before any key is derived; NULL when within bounds. */
const char *app_channel_args_bad(const char *name, const char *pass, const char *display);

#endif
