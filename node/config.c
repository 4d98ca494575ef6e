/* node/config.c — parse and check momedo.conf and neighbors.conf, write the config
 * template and the neighbor list (atomically). Every key is a row in one table with
 * its bounds; nothing here logs, opens sockets or touches libuv. */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "ids.h"

#define CONF_FILE_BYTES_MAX (NODE_CONF_LINE_BYTES_MAX * 64)
#define NODE_TEMPLATE_BYTES_MAX 16384
#define NEIGHBORS_FILE_BYTES_MAX (NODE_NEIGHBORS_MAX * NODE_CONF_LINE_BYTES_MAX)

enum cfg_type {
  CFG_NAME, CFG_LISTEN, CFG_SOCKET, CFG_LOGLEVEL, CFG_U32, CFG_U64,
  CFG_FILE,    /* a path, relative to DIR unless absolute; not set: "" */
  CFG_ADDR_OPT /* HOST:PORT into metrics_host/metrics_port; not set: port 0 (off) */
};

struct cfg_key {
  const char *key;
  enum cfg_type type;
  size_t off;
  uint64_t min, max;
  const char *help;
};

#define OFF(f) offsetof(struct node_config, f)
static const struct cfg_key cfg_keys[] = {
    {"name", CFG_NAME, OFF(name), 0, 0,
     "name of this node in logs and status (letters, digits, . _ -); not set: the host name"},
    {"listen", CFG_LISTEN, OFF(listen_host), 0, 0,
     "address and port for clients and neighbor nodes (TLS)"},
    {"admin_socket", CFG_SOCKET, OFF(admin_socket), 0, 0,
     "local socket for momedo-admin; relative paths are inside the node directory"},
    {"log_level", CFG_LOGLEVEL, OFF(log_level), 0, 0, "error, warn, info or debug"},
    {"frame_bytes_max", CFG_U32, OFF(frame_bytes_max), 1024, 16u * 1024 * 1024,
     "largest frame accepted from any peer, in bytes"},
    {"item_ttl_days_default", CFG_U32, OFF(item_ttl_days_default), 1, 90,
     "days an undelivered message is kept when the sender asks for no limit"},
    {"item_ttl_days_max", CFG_U32, OFF(item_ttl_days_max), 1, 90,
     "longest lifetime a sender may ask for, in days"},
    {"mailbox_items_max", CFG_U32, OFF(mailbox_items_max), 1, 10u * 1000 * 1000,
     "undelivered items one mailbox may hold on this node"},
    {"mailbox_bytes_max", CFG_U64, OFF(mailbox_bytes_max), 64u * 1024,
     64ull * 1024 * 1024 * 1024, "bytes of undelivered items one mailbox may hold"},
    {"item_bytes_max", CFG_U32, OFF(item_bytes_max), 256, 256u * 1024,
     "largest single message or attachment chunk a device may post, in bytes"},
    {"device_posts_per_minute", CFG_U32, OFF(device_posts_per_minute), 1, 100000,
     "posts one device may make per minute"},
    {"device_acks_per_minute", CFG_U32, OFF(device_acks_per_minute), 10, 1000000,
     "acknowledgements (tombstones) one device may hand in per minute"},
    {"device_publishes_per_minute", CFG_U32, OFF(device_publishes_per_minute), 1, 10000,
     "key bundles one device may publish per minute"},
    {"partner_grant_ttl_s", CFG_U32, OFF(partner_grant_ttl_s), 1, 365u * 24 * 3600,
     "seconds a partner grant this node signs for a registering user is valid (clients "
     "renew it before then)"},
    {"mailbox_items_per_poster_max", CFG_U32, OFF(mailbox_items_per_poster_max), 1,
     10u * 1000 * 1000,
     "items one device may hold in one group or other shared mailbox (over the item lifetime)"},
    {"clients_max", CFG_U32, OFF(clients_max), 1, 1000000,
     "connected clients at once; more are refused"},
    {"log_file", CFG_FILE, OFF(log_file), 0, 0,
     "log to this file instead of standard error (the journal under systemd), reopened "
     "on SIGHUP (logrotate); relative paths are inside the node directory"},
    {"metrics_listen", CFG_ADDR_OPT, OFF(metrics_port), 0, 0,
     "serve Prometheus metrics over HTTP on this address (GET /metrics); not set: off. "
     "Keep it on loopback or a monitoring network: it needs no password"},
    {"global_posts_allowed", CFG_U32, OFF(global_posts_allowed), 0, 1,
     "1: clients may post without destination nodes (global scope: every node stores it, "
     "as passphrase channels need); 0: refused"},
};
#undef OFF
#define CFG_KEYS_N (sizeof cfg_keys / sizeof cfg_keys[0])

/* Engine parameters as momedod spelled them before the engine's table was the one
 * spelling: read in their old unit and bounds, set the parameter, leave a note. */
struct cfg_alias {
  const char *key;       /* the old key */
  const char *param;     /* the row of repl_params it sets */
  uint64_t mul;          /* old unit -> the parameter's unit */
  uint64_t min, max;     /* old bounds, old unit */
  int jitter_quarter;    /* it also set recon_jitter_ms to a quarter of the interval */
};

static const struct cfg_alias cfg_aliases[] = {
    {"recon_interval_s", "recon_interval_ms", 1000, 1, 86400, 1},
    {"link_queue_bytes_max", "peer_queue_bytes_max", 1, 64u * 1024, 1024u * 1024 * 1024, 0},
};
#define CFG_ALIASES_N (sizeof cfg_aliases / sizeof cfg_aliases[0])

static const char *const log_levels[] = {"error", "warn", "info", "debug"};

void node_default_name(char out[static NODE_NAME_CHARS_MAX + 1]) {
  char host[NODE_HOST_CHARS_MAX + 2] = "";
  if (gethostname(host, sizeof host - 1) == 0) {
    char *dot = strchr(host, '.');
    if (dot) *dot = 0;
    if (node_name_valid(host)) {
      memcpy(out, host, strlen(host) + 1);
      return;
    }
  }
  snprintf(out, NODE_NAME_CHARS_MAX + 1, "momedo");
}

void node_config_defaults(struct node_config *c, const char *dir) {
  memset(c, 0, sizeof *c);
  node_default_name(c->name);
  snprintf(c->listen_host, sizeof c->listen_host, "0.0.0.0");
  c->listen_port = NODE_PORT_DEFAULT;
  if (dir && snprintf(c->admin_socket, sizeof c->admin_socket, "%s/%s", dir,
                      NODE_ADMIN_SOCKET_DEFAULT) >= (int)sizeof c->admin_socket)
    c->admin_socket[0] = 0; /* too long: load reports it */
  c->log_level = 2;
  c->frame_bytes_max = 1024u * 1024;
  c->item_ttl_days_default = 30;
  c->item_ttl_days_max = 90;
  c->mailbox_items_max = 10000;
  c->mailbox_bytes_max = 256ull * 1024 * 1024;
  c->item_bytes_max = 256u * 1024;
  c->device_posts_per_minute = 600;
  c->device_acks_per_minute = 12000; /* above mailbox_items_max: a full mailbox in one go */
  c->device_publishes_per_minute = 30;
  c->partner_grant_ttl_s = NODE_PARTNER_GRANT_TTL_S_DEFAULT;
  c->mailbox_items_per_poster_max = 2500;
  c->clients_max = 20000;
  c->global_posts_allowed = 1;
  repl_config_default(&c->repl);
}

int node_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > NODE_NAME_CHARS_MAX || !isalnum((unsigned char)s[0])) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (!(isalnum(ch) || ch == '.' || ch == '_' || ch == '-')) return 0;
  }
  return 1;
}

int node_hostport_parse(const char *s, char host[static NODE_HOST_CHARS_MAX + 1],
                        uint16_t *port) {
  const char *colon, *h = s;
  size_t hn;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':') return MOMEDO_E_INVAL;
    h = s + 1;
    hn = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon) return MOMEDO_E_INVAL;
    hn = (size_t)(colon - s);
  }
  if (hn < 1 || hn > NODE_HOST_CHARS_MAX) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < hn; i++)
    if (!isgraph((unsigned char)h[i]) || h[i] == '[' || h[i] == ']') return MOMEDO_E_INVAL;
  const char *p = colon + 1;
  if (!*p || strlen(p) > 5) return MOMEDO_E_INVAL;
  unsigned long v = 0;
  for (; *p; p++) {
    if (!isdigit((unsigned char)*p)) return MOMEDO_E_INVAL;
    v = v * 10 + (unsigned long)(*p - '0');
  }
  if (v < 1 || v > 65535) return MOMEDO_E_INVAL;
  memcpy(host, h, hn);
  host[hn] = 0;
  *port = (uint16_t)v;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  if (!*s || strlen(s) > 20) return MOMEDO_E_INVAL;
  uint64_t v = 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s)) return MOMEDO_E_INVAL;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return MOMEDO_E_INVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Apply one value to its key; on error write the reason (without file:line). */
static int cfg_apply(struct node_config *c, const char *dir, const struct cfg_key *k,
                     const char *val, char *why, size_t why_cap) {
  char *field = (char *)c + k->off;
  uint64_t v;
  switch (k->type) {
  case CFG_NAME:
    if (!node_name_valid(val)) {
      reason_set(why, why_cap, "name must be 1..%d letters, digits, '.', '_' or '-'",
                 NODE_NAME_CHARS_MAX);
      return MOMEDO_E_CONFIG;
    }
    snprintf(c->name, sizeof c->name, "%s", val);
    return 0;
  case CFG_LISTEN:
    if (node_hostport_parse(val, c->listen_host, &c->listen_port) != 0) {
      reason_set(why, why_cap, "listen must be HOST:PORT with a port from 1 to 65535, e.g. %s",
                 NODE_LISTEN_DEFAULT);
      return MOMEDO_E_CONFIG;
    }
    return 0;
  case CFG_SOCKET: {
    int n = val[0] == '/' ? snprintf(field, NODE_SOCKET_PATH_BYTES_MAX + 1, "%s", val)
                          : snprintf(field, NODE_SOCKET_PATH_BYTES_MAX + 1, "%s/%s", dir, val);
    if (n < 0 || n > NODE_SOCKET_PATH_BYTES_MAX) {
      reason_set(why, why_cap, "admin_socket path is longer than %d bytes (a limit of the OS)",
                 NODE_SOCKET_PATH_BYTES_MAX);
      return MOMEDO_E_CONFIG;
    }
    return 0;
  }
  case CFG_FILE: {
    int n = val[0] == '/' ? snprintf(c->log_file, sizeof c->log_file, "%s", val)
                          : snprintf(c->log_file, sizeof c->log_file, "%s/%s", dir, val);
    if (n < 0 || n >= (int)sizeof c->log_file) {
      reason_set(why, why_cap, "%s: path longer than %d bytes", k->key, NODE_PATH_BYTES_MAX - 1);
      return MOMEDO_E_CONFIG;
    }
    return 0;
  }
  case CFG_ADDR_OPT:
    if (node_hostport_parse(val, c->metrics_host, &c->metrics_port) != 0) {
      reason_set(why, why_cap, "%s must be HOST:PORT with a port from 1 to 65535, e.g. "
           "127.0.0.1:9471", k->key);
      return MOMEDO_E_CONFIG;
    }
    return 0;
  case CFG_LOGLEVEL:
    for (int i = 0; i < 4; i++)
      if (strcmp(val, log_levels[i]) == 0) {
        c->log_level = i;
        return 0;
      }
    reason_set(why, why_cap, "log_level must be error, warn, info or debug");
    return MOMEDO_E_CONFIG;
  case CFG_U32:
  case CFG_U64:
    if (parse_u64(val, &v) != 0 || v < k->min || v > k->max) {
      reason_set(why, why_cap, "%s must be a whole number from %llu to %llu", k->key,
                 (unsigned long long)k->min, (unsigned long long)k->max);
      return MOMEDO_E_CONFIG;
    }
    if (k->type == CFG_U32)
      memcpy(field, &(uint32_t){(uint32_t)v}, sizeof(uint32_t));
    else
      memcpy(field, &v, sizeof v);
    return 0;
  }
  return MOMEDO_E_INTERNAL;
}

/* Strip comments and surrounding blanks in place; returns the trimmed start. */
static char *trim(char *s) {
  char *hash = strchr(s, '#');
  if (hash) *hash = 0;
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
  return s;
}

/* Calls fn for each non-empty line (comment-stripped, trimmed). Bounds line length
 * and count. */
typedef int (*line_fn)(void *ctx, char *line, size_t lineno, char *why, size_t why_cap);

static int for_each_line(const char *fname, const char *text, size_t len, line_fn fn,
                         void *ctx, char *why, size_t why_cap) {
  char line[NODE_CONF_LINE_BYTES_MAX + 1], line_why[REASON_MAX];
  size_t lineno = 0, pos = 0;
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
    lineno++;
    if (lineno > NODE_CONF_LINES_MAX) {
      reason_set(why, why_cap, "%s:%zu: too many lines (at most %d)", fname, lineno,
                 NODE_CONF_LINES_MAX);
      return MOMEDO_E_CONFIG;
    }
    if (n > NODE_CONF_LINE_BYTES_MAX) {
      reason_set(why, why_cap, "%s:%zu: line longer than %d bytes", fname, lineno,
                 NODE_CONF_LINE_BYTES_MAX);
      return MOMEDO_E_CONFIG;
    }
    memcpy(line, text + pos, n);
    line[n] = 0;
    pos += n + (nl ? 1 : 0);
    if (strlen(line) != n) {
      reason_set(why, why_cap, "%s:%zu: line contains a NUL byte", fname, lineno);
      return MOMEDO_E_CONFIG;
    }
    char *t = trim(line);
    if (!*t) continue;
    line_why[0] = 0;
    int rc = fn(ctx, t, lineno, line_why, sizeof line_why);
    if (rc != 0) {
      reason_set(why, why_cap, "%s:%zu: %s", fname, lineno, line_why);
      return rc;
    }
  }
  return 0;
}

struct conf_ctx {
  struct node_config *c;
  const char *dir, *fname;
  uint8_t seen[CFG_KEYS_N];
  const char *param_by[REPL_PARAMS_MAX]; /* the key that set engine parameter i */
  int jitter_quarter;                     /* an old key implies recon_jitter_ms */
};

static void conf_note(struct conf_ctx *ctx, size_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conf_note(struct conf_ctx *ctx, size_t lineno, const char *fmt, ...) {
  struct node_config *c = ctx->c;
  if (c->nnotes == NODE_CONF_NOTES_MAX) return;
  char *note = c->notes[c->nnotes++];
  int n = snprintf(note, REASON_MAX, "%s:%zu: ", ctx->fname, lineno);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && n < REASON_MAX) reason_vset(note + n, REASON_MAX - (size_t)n, fmt, ap);
  va_end(ap);
}

/* An old key: its old unit and bounds, then the parameter it stands for. */
static int conf_alias(struct conf_ctx *ctx, const struct cfg_alias *al, const struct repl_param *p,
                      const char *val, size_t lineno, char *why, size_t why_cap) {
  uint64_t v;
  if (parse_u64(val, &v) != 0 || v < al->min || v > al->max || v > p->max / al->mul ||
      repl_param_set(&ctx->c->repl, p, v * al->mul) != 0) {
    reason_set(why, why_cap, "%s must be a whole number from %llu to %llu", al->key,
               (unsigned long long)al->min, (unsigned long long)al->max);
    return MOMEDO_E_CONFIG;
  }
  ctx->jitter_quarter |= al->jitter_quarter;
  conf_note(ctx, lineno, "%s is deprecated (still read): write %s = %llu%s", al->key, p->name,
            (unsigned long long)(v * al->mul),
            al->jitter_quarter ? "; it also sets recon_jitter_ms to a quarter of the interval "
                                 "unless recon_jitter_ms is set" : "");
  return 0;
}

/* A replication engine parameter, by its name in the engine's table or an old key.
 * 1: not one. */
static int conf_engine(struct conf_ctx *ctx, const char *key, const char *val, size_t lineno,
                       char *why, size_t why_cap) {
  const struct cfg_alias *al = NULL;
  const struct repl_param *p = repl_param_find(key);
  for (size_t i = 0; !p && i < CFG_ALIASES_N; i++)
    if (strcmp(key, cfg_aliases[i].key) == 0) p = repl_param_find((al = &cfg_aliases[i])->param);
  if (!p) return 1;
  const char **by = &ctx->param_by[p - repl_params];
  if (*by) {
    if (strcmp(*by, key) == 0) reason_set(why, why_cap, "'%s' is set twice", key);
    else reason_set(why, why_cap, "'%s' and '%s' both set %s", *by, key, p->name);
    return MOMEDO_E_CONFIG;
  }
  *by = al ? al->key : p->name;
  if (!*val) {
    reason_set(why, why_cap, "'%s' has no value", key);
    return MOMEDO_E_CONFIG;
  }
  if (al) return conf_alias(ctx, al, p, val, lineno, why, why_cap);
  uint64_t v;
  int rc = repl_param_parse(p, val, &v, why, why_cap);
  if (rc == 0 && repl_param_set(&ctx->c->repl, p, v) != 0) rc = MOMEDO_E_INTERNAL;
  return rc;
}

static int conf_line(void *vctx, char *t, size_t lineno, char *why, size_t why_cap) {
  struct conf_ctx *ctx = vctx;
  char *eq = strchr(t, '=');
  if (!eq) {
    reason_set(why, why_cap, "expected \"key = value\"");
    return MOMEDO_E_CONFIG;
  }
  *eq = 0;
  char *key = trim(t), *val = trim(eq + 1);
  for (size_t i = 0; i < CFG_KEYS_N; i++) {
    if (strcmp(key, cfg_keys[i].key) != 0) continue;
    if (ctx->seen[i]) {
      reason_set(why, why_cap, "'%s' is set twice", key);
      return MOMEDO_E_CONFIG;
    }
    ctx->seen[i] = 1;
    if (!*val) {
      reason_set(why, why_cap, "'%s' has no value", key);
      return MOMEDO_E_CONFIG;
    }
    return cfg_apply(ctx->c, ctx->dir, &cfg_keys[i], val, why, why_cap);
  }
  int rc = conf_engine(ctx, key, val, lineno, why, why_cap);
  if (rc <= 0) return rc;
  reason_set(why, why_cap, "unknown key '%.64s'", key);
  return MOMEDO_E_CONFIG;
}

/* What recon_interval_s meant: the jitter a quarter of the interval. */
static void conf_finish_engine(struct conf_ctx *ctx) {
  const struct repl_param *j = repl_param_find("recon_jitter_ms");
  struct repl_config *r = &ctx->c->repl;
  if (!ctx->jitter_quarter || !j || ctx->param_by[j - repl_params]) return;
  int rc = repl_param_set(r, j, r->recon_interval_ms / 4);
  assert(rc == 0); /* a quarter of a valid interval is a valid jitter */
  (void)rc;
}

int node_config_parse(struct node_config *c, const char *dir, const char *fname,
                      const char *text, size_t len, char *why, size_t why_cap) {
  struct conf_ctx ctx = {.c = c, .dir = dir, .fname = fname};
  if (!c->admin_socket[0]) {
    reason_set(why, why_cap,
               "%s: the default admin socket path %s/%s is longer than %d bytes; "
               "set admin_socket to a shorter absolute path",
               fname, dir, NODE_ADMIN_SOCKET_DEFAULT, NODE_SOCKET_PATH_BYTES_MAX);
    return MOMEDO_E_CONFIG;
  }
  int rc = for_each_line(fname, text, len, conf_line, &ctx, why, why_cap);
  if (rc) return rc;
  conf_finish_engine(&ctx);
  if (c->item_ttl_days_default > c->item_ttl_days_max) {
    reason_set(why, why_cap, "%s: item_ttl_days_default (%u) is larger than item_ttl_days_max (%u)",
               fname, c->item_ttl_days_default, c->item_ttl_days_max);
    return MOMEDO_E_CONFIG;
  }
  if (c->item_bytes_max + 1024u > c->frame_bytes_max) {
    reason_set(why, why_cap, "%s: frame_bytes_max (%u) must exceed item_bytes_max (%u) by 1024",
               fname, c->frame_bytes_max, c->item_bytes_max);
    return MOMEDO_E_CONFIG;
  }
  return 0;
}

int node_file_read(const char *path, size_t max, char **out, size_t *len) {
  int rc = 0;
  char *buf = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return errno == ENOENT ? MOMEDO_E_NOTFOUND
                                 : errno == EACCES ? MOMEDO_E_DENIED : MOMEDO_E_IO;
  /* A buffer the size of the file (not of max: a backup's MANIFEST may be allowed
   * 30 MB), grown should the file grow while it is read; never beyond max + 1. */
  struct stat st;
  size_t cap = 1, n = 0;
  if (fstat(fileno(f), &st) == 0 && st.st_size > 0)
    cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
  buf = malloc(cap + 1);
  for (;;) {
    if (!buf) {
      rc = MOMEDO_E_NOMEM;
      goto out;
    }
    n += fread(buf + n, 1, cap - n, f);
    if (ferror(f)) {
      rc = MOMEDO_E_IO;
      goto out;
    }
    if (n > max) {
      rc = MOMEDO_E_TOOBIG;
      goto out;
    }
    if (n < cap) break; /* end of file */
    cap = cap > max / 2 ? max + 1 : 2 * cap;
    char *nb = realloc(buf, cap + 1);
    if (!nb) free(buf);
    buf = nb;
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  buf = NULL;
out:
  free(buf);
  fclose(f);
  return rc;
}

int node_config_load(struct node_config *c, const char *dir, char *why, size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX];
  char *text = NULL;
  size_t len = 0;
  node_config_defaults(c, dir);
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_CONF_FILE) >= (int)sizeof path) {
    reason_set(why, why_cap, "%s: directory path too long", dir);
    return MOMEDO_E_CONFIG;
  }
  int rc = node_file_read(path, CONF_FILE_BYTES_MAX, &text, &len);
  if (rc == MOMEDO_E_NOTFOUND) {
    reason_set(why, why_cap, "%s: not found (create a node with: momedo-admin init --dir %s)", path,
               dir);
    return rc;
  }
  if (rc) {
    reason_set(why, why_cap, "%s: cannot read (%s)", path, momedo_strerror(rc));
    return rc;
  }
  rc = node_config_parse(c, dir, path, text, len, why, why_cap);
  free(text);
  return rc;
}

/* Default value of key i as text, read from a defaults struct. */
static void cfg_default_text(const struct node_config *d, size_t i, char *buf, size_t cap) {
  const struct cfg_key *k = &cfg_keys[i];
  const char *field = (const char *)d + k->off;
  uint32_t v32;
  uint64_t v64;
  switch (k->type) {
  case CFG_NAME: snprintf(buf, cap, "gymnasium-nord"); break; /* an example: the host's */
  case CFG_LISTEN: snprintf(buf, cap, "%s", NODE_LISTEN_DEFAULT); break;
  case CFG_SOCKET: snprintf(buf, cap, "%s", NODE_ADMIN_SOCKET_DEFAULT); break;
  case CFG_LOGLEVEL: snprintf(buf, cap, "%s", log_levels[d->log_level]); break;
  case CFG_U32:
    memcpy(&v32, field, sizeof v32);
    snprintf(buf, cap, "%u", v32);
    break;
  case CFG_U64:
    memcpy(&v64, field, sizeof v64);
    snprintf(buf, cap, "%llu", (unsigned long long)v64);
    break;
  case CFG_FILE: snprintf(buf, cap, "/var/log/momedo/momedod.log"); break; /* an example */
  case CFG_ADDR_OPT: snprintf(buf, cap, "127.0.0.1:9471"); break;          /* an example */
  }
}

/* Does key i differ between a and b? */
static int cfg_differs(const struct node_config *a, const struct node_config *b, size_t i) {
  const struct cfg_key *k = &cfg_keys[i];
  const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
  switch (k->type) {
  case CFG_NAME: case CFG_SOCKET: case CFG_FILE: return strcmp(fa, fb) != 0;
  case CFG_LISTEN:
    return strcmp(a->listen_host, b->listen_host) != 0 || a->listen_port != b->listen_port;
  case CFG_ADDR_OPT:
    return a->metrics_port != b->metrics_port ||
           (a->metrics_port && strcmp(a->metrics_host, b->metrics_host) != 0);
  case CFG_LOGLEVEL: return a->log_level != b->log_level;
  case CFG_U32: return memcmp(fa, fb, sizeof(uint32_t)) != 0;
  case CFG_U64: return memcmp(fa, fb, sizeof(uint64_t)) != 0;
  }
  return 1;
}

void node_config_diff(const struct node_config *a, const struct node_config *b,
                      void (*fn)(void *ctx, const char *key), void *ctx) {
  for (size_t i = 0; i < CFG_KEYS_N; i++)
    if (cfg_differs(a, b, i)) fn(ctx, cfg_keys[i].key);
  for (size_t i = 0; i < repl_params_n; i++)
    if (repl_param_get(&a->repl, &repl_params[i]) != repl_param_get(&b->repl, &repl_params[i]))
      fn(ctx, repl_params[i].name);
}

/* The engine's parameters (its table) and the old keys, for the template. */
static size_t template_engine(const struct node_config *d, char *out, size_t cap) {
  char bounds[REPL_PARAM_TEXT_MAX];
  size_t n = (size_t)snprintf(out, cap, "# Replication engine: the same names, units and "
                              "bounds as the simulator's `repl` lines.\n\n");
  for (size_t i = 0; i < repl_params_n && n < cap; i++) {
    const struct repl_param *p = &repl_params[i];
    repl_param_bounds_text(p, bounds, sizeof bounds);
    uint64_t v = repl_param_get(&d->repl, p);
    if (p->unit == REPL_UNIT_CHOICE)
      n += (size_t)snprintf(out + n, cap - n, "# %s;\n#   %s\n# %s = %s\n\n", p->help, bounds,
                            p->name, p->choices[v]);
    else
      n += (size_t)snprintf(out + n, cap - n, "# %s;\n#   %s\n# %s = %llu\n\n", p->help,
                            bounds, p->name, (unsigned long long)v);
  }
  if (n < cap)
    n += (size_t)snprintf(out + n, cap - n, "# Older spellings, still read (each leaves a "
                          "note in the log):\n");
  for (size_t i = 0; i < CFG_ALIASES_N && n < cap; i++) {
    const struct cfg_alias *al = &cfg_aliases[i];
    const struct repl_param *p = repl_param_find(al->param);
    n += (size_t)snprintf(out + n, cap - n, "# %s = %llu  # %s%s%s\n", al->key,
                          (unsigned long long)(repl_param_get(&d->repl, p) / al->mul),
                          al->mul == 1 ? "the same as " : "in seconds: ", p->name,
                          al->jitter_quarter ? "; recon_jitter_ms = a quarter of it" : "");
  }
  return n;
}

char *node_config_template(const char *name, const char *listen) {
  struct node_config d;
  node_config_defaults(&d, "");
  size_t cap = NODE_TEMPLATE_BYTES_MAX, n = 0;
  char *out = malloc(cap), val[128];
  if (!out) return NULL;
  n += (size_t)snprintf(out + n, cap - n,
                        "# momedo node configuration: one \"key = value\" per line; '#' starts a "
                        "comment.\n# Lines starting with '#' show the built-in default (or an example, where "
                        "the\n# default is the host name or off). After editing, "
                        "reload (systemctl reload momedo,\n# or kill -HUP): the log names "
                        "what changed and what waits for a restart.\n# Neighbors are managed with "
                        "`momedo-admin neighbor add|remove` (stored in neighbors.conf).\n\n");
  for (size_t i = 0; i < CFG_KEYS_N && n < cap; i++) {
    cfg_default_text(&d, i, val, sizeof val);
    const char *k = cfg_keys[i].key;
    if (strcmp(k, "name") == 0 && name)
      n += (size_t)snprintf(out + n, cap - n, "# %s\nname = %s\n\n", cfg_keys[i].help, name);
    else if (strcmp(k, "listen") == 0 && listen)
      n += (size_t)snprintf(out + n, cap - n, "# %s (default %s)\nlisten = %s\n\n",
                            cfg_keys[i].help, val, listen);
    else
      n += (size_t)snprintf(out + n, cap - n, "# %s\n# %s = %s\n\n", cfg_keys[i].help, k, val);
  }
  if (n < cap) n += template_engine(&d, out + n, cap - n);
  if (n >= cap) {
    free(out);
    return NULL;
  }
  return out;
}

int node_fp_from_text(const char *s, uint8_t fp[static NODE_FP_BYTES]) {
  uint8_t key[IDS_KEY_LEN];
  size_t n = strlen(s);
  if (n > IDS_INPUT_MAX) return MOMEDO_E_INVAL;
  if (n == HEX_LEN(IDS_KEY_LEN)) { /* hex node key */
    int rc = hex_decode(key, IDS_KEY_LEN, s, n);
    return rc ? rc : ids_node_fp_bytes(fp, key);
  }
  /* Base32 is always the fingerprint, with or without dashes. The base32 key string
   * has the same length, alphabet and check, so no parser can tell the two apart: it
   * is not accepted here (a node key is given as 64 hex digits). */
  return ids_node_fingerprint_parse(fp, s);
}

int node_fp_format(char out[static IDS_NODE_FP_STR_MAX], const uint8_t fp[static NODE_FP_BYTES]) {
  return ids_b32_encode_check(out, IDS_NODE_FP_STR_MAX, fp, NODE_FP_BYTES, 4);
}

/* ---- neighbors.conf ---- */

struct nb_ctx {
  struct node_neighbors *nb;
};

static int nb_line(void *vctx, char *t, size_t lineno, char *why, size_t why_cap) {
  struct node_neighbors *nb = ((struct nb_ctx *)vctx)->nb;
  char name[NODE_CONF_LINE_BYTES_MAX + 1], addr[NODE_CONF_LINE_BYTES_MAX + 1],
      fp[NODE_CONF_LINE_BYTES_MAX + 1], flag[NODE_CONF_LINE_BYTES_MAX + 1], extra[2];
  int k = sscanf(t, "%1024s %1024s %1024s %1024s %1s", name, addr, fp, flag, extra);
  if (k != 3 && !(k == 4 && strcmp(flag, NODE_NEIGHBOR_PARTNER) == 0)) {
    reason_set(why, why_cap, "expected \"NAME HOST:PORT FINGERPRINT [" NODE_NEIGHBOR_PARTNER "]\"");
    return MOMEDO_E_CONFIG;
  }
  if (nb->n >= NODE_NEIGHBORS_MAX) {
    reason_set(why, why_cap, "more than %d neighbors", NODE_NEIGHBORS_MAX);
    return MOMEDO_E_CONFIG;
  }
  struct node_neighbor *n = &nb->v[nb->n];
  if (!node_name_valid(name)) {
    reason_set(why, why_cap, "bad neighbor name (1..%d letters, digits, '.', '_' or '-')",
               NODE_NAME_CHARS_MAX);
    return MOMEDO_E_CONFIG;
  }
  if (node_neighbors_find(nb, name) >= 0) {
    reason_set(why, why_cap, "neighbor '%s' is listed twice", name);
    return MOMEDO_E_CONFIG;
  }
  if (node_hostport_parse(addr, n->host, &n->port) != 0) {
    reason_set(why, why_cap, "bad address '%.64s' (expected HOST:PORT)", addr);
    return MOMEDO_E_CONFIG;
  }
  if (node_fp_from_text(fp, n->fp) != 0) {
    reason_set(why, why_cap, "bad fingerprint '%.80s'", fp);
    return MOMEDO_E_CONFIG;
  }
  memcpy(n->name, name, strlen(name) + 1); /* node_name_valid bounded it */
  n->partner = k == 4;
  nb->n++;
  return 0;
}

int node_neighbors_parse(struct node_neighbors *nb, const char *fname, const char *text,
                         size_t len, char *why, size_t why_cap) {
  struct nb_ctx ctx = {nb};
  nb->n = 0;
  return for_each_line(fname, text, len, nb_line, &ctx, why, why_cap);
}

int node_neighbors_load(struct node_neighbors *nb, const char *dir, char *why,
                        size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX];
  char *text = NULL;
  size_t len = 0;
  nb->n = 0;
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_NEIGHBORS_FILE) >= (int)sizeof path)
    return MOMEDO_E_CONFIG;
  int rc = node_file_read(path, NEIGHBORS_FILE_BYTES_MAX, &text, &len);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) {
    reason_set(why, why_cap, "%s: cannot read (%s)", path, momedo_strerror(rc));
    return rc;
  }
  rc = node_neighbors_parse(nb, path, text, len, why, why_cap);
  free(text);
  return rc;
}

int node_neighbors_find(const struct node_neighbors *nb, const char *name) {
  for (size_t i = 0; i < nb->n; i++)
    if (strcmp(nb->v[i].name, name) == 0) return (int)i;
  return -1;
}

int node_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode) {
  char tmp[NODE_PATH_BYTES_MAX], dir[NODE_PATH_BYTES_MAX];
  int rc = MOMEDO_E_IO, fd = -1;
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return MOMEDO_E_INVAL;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return MOMEDO_E_IO;
  const char *p = data;
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, p + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) goto out;
    off += (size_t)w;
  }
  if (fsync(fd) != 0) goto out;
  if (close(fd) != 0) {
    fd = -1;
    goto out;
  }
  fd = -1;
  if (rename(tmp, path) != 0) goto out;
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  rc = 0;
out:
  if (fd >= 0) close(fd);
  if (rc) unlink(tmp);
  return rc;
}

int node_neighbors_save(const struct node_neighbors *nb, const char *dir, char *why,
                        size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX], keytxt[IDS_NODE_FP_STR_MAX];
  size_t cap = 256 + nb->n * (NODE_NAME_CHARS_MAX + NODE_HOSTPORT_CHARS_MAX + 160), n = 0;
  char *buf = malloc(cap);
  int rc;
  if (!buf) return MOMEDO_E_NOMEM;
  n += (size_t)snprintf(buf, cap,
                        "# momedo neighbors: NAME HOST:PORT FINGERPRINT [partner], one per "
                        "line.\n# Written by `momedo-admin neighbor add|remove`.\n");
  for (size_t i = 0; i < nb->n; i++) {
    const struct node_neighbor *x = &nb->v[i];
    rc = node_fp_format(keytxt, x->fp);
    if (rc) goto out;
    int v6 = strchr(x->host, ':') != NULL;
    n += (size_t)snprintf(buf + n, cap - n, "%s %s%s%s:%u %s%s\n", x->name, v6 ? "[" : "",
                          x->host, v6 ? "]" : "", (unsigned)x->port, keytxt,
                          x->partner ? " " NODE_NEIGHBOR_PARTNER : "");
  }
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_NEIGHBORS_FILE) >= (int)sizeof path) {
    rc = MOMEDO_E_INVAL;
    goto out;
  }
  rc = node_file_write_atomic(path, buf, n, 0600);
  if (rc) reason_set(why, why_cap, "%s: cannot write (%s)", path, momedo_strerror(rc));
out:
  free(buf);
  return rc;
}
