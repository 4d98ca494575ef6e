/* node/service.c — what a service manager sees of momedod: readiness, reload and stop
 * notifications (sd_notify; nothing happens without $NOTIFY_SOCKET), and SIGHUP (what
 * `systemctl reload` and logrotate send): reopen the log, reload momedo.conf — applying
 * what can change while running and naming in one log line what waits for a restart —
 * and neighbors.conf (links added, removed or redialed). A bad file changes nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "hours.h"
#include "log.h"
#include "node_int.h"

#define SERVICE_KEYS_TEXT_MAX 512

/* A sentence for the reload's summary (truncated if it must be). */
static void say(char *sum, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *sum, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sum, cap, fmt, ap);
  va_end(ap);
}

void node__notify(const char *state) {
  int rc = sd_notify(0, state);
  if (rc < 0) node_log(NODE_LOG_DEBUG, "sd_notify: %s", strerror(-rc));
}

/* ---- momedo.conf: the settings that change while the node runs ---- */

typedef void (*live_fn)(struct node *n, const struct node_config *c);

static void live_log_level(struct node *n, const struct node_config *c) {
  n->cfg.log_level = c->log_level;
  node_log_set_level((enum node_log_level)c->log_level);
}

static void live_log_file(struct node *n, const struct node_config *c) {
  int rc = node_log_open(c->log_file);
  if (rc) {
    node_log(NODE_LOG_ERROR, "reload: cannot open the log file %s: %s; logging where it did",
             c->log_file, momedo_strerror(rc));
    return;
  }
  memcpy(n->cfg.log_file, c->log_file, sizeof c->log_file);
}

static void live_clients_max(struct node *n, const struct node_config *c) {
  n->cfg.clients_max = c->clients_max;
  node__fit_nofile(n); /* takes effect for the next clients */
  node__rates_fit(n);
}

/* Read from n->cfg at every use: copying the field is the whole change. */
#define LIVE_COPY(key, field) \
  {key, offsetof(struct node_config, field), sizeof(((struct node_config *)0)->field), NULL}
#define LIVE_FN(key, fn) {key, 0, 0, fn}

static const struct live_key {
  const char *key;
  size_t off, len;
  live_fn fn;
} live_keys[] = {
    LIVE_FN("log_level", live_log_level),
    LIVE_FN("log_file", live_log_file),
    LIVE_COPY("item_ttl_days_default", item_ttl_days_default),
    LIVE_COPY("item_ttl_days_max", item_ttl_days_max),
    LIVE_COPY("mailbox_items_max", mailbox_items_max),
    LIVE_COPY("mailbox_bytes_max", mailbox_bytes_max),
    LIVE_COPY("item_bytes_max", item_bytes_max),
    LIVE_COPY("device_posts_per_minute", device_posts_per_minute),
    LIVE_COPY("device_acks_per_minute", device_acks_per_minute),
    LIVE_COPY("device_publishes_per_minute", device_publishes_per_minute),
    LIVE_COPY("partner_grant_ttl_s", partner_grant_ttl_s),
    LIVE_FN("clients_max", live_clients_max),
    LIVE_COPY("global_posts_allowed", global_posts_allowed),
    LIVE_FN("metrics_listen", node__metrics_reconfigure),
};
#define LIVE_KEYS_N (sizeof live_keys / sizeof live_keys[0])

struct reload_ctx {
  struct node *n;
  const struct node_config *nc;
  char live[SERVICE_KEYS_TEXT_MAX], later[SERVICE_KEYS_TEXT_MAX];
};

static const struct live_key *live_key(const char *key) {
  for (size_t i = 0; i < LIVE_KEYS_N; i++)
    if (strcmp(live_keys[i].key, key) == 0) return &live_keys[i];
  return NULL;
}

/* An item limit the running frame limit cannot carry waits for frame_bytes_max. */
static int is_live(const struct reload_ctx *r, const char *key) {
  if (strcmp(key, "item_bytes_max") == 0)
    return r->nc->item_bytes_max + 1024u <= r->n->cfg.frame_bytes_max;
  return live_key(key) != NULL;
}

static void add_name(char *list, const char *key) {
  size_t n = strlen(list);
  snprintf(list + n, SERVICE_KEYS_TEXT_MAX - n, "%s%s", n ? ", " : "", key);
}

/* Changed since the last (re)load: applied now if it can be. */
static void on_changed(void *vctx, const char *key) {
  struct reload_ctx *r = vctx;
  const struct live_key *lk = live_key(key);
  if (!is_live(r, key)) return; /* reported by on_differs_from_start */
  if (lk->fn)
    lk->fn(r->n, r->nc);
  else
    memcpy((char *)&r->n->cfg + lk->off, (const char *)r->nc + lk->off, lk->len);
  add_name(r->live, key);
}

/* Differs from what the node started with and cannot change while it runs. */
static void on_differs_from_start(void *vctx, const char *key) {
  struct reload_ctx *r = vctx;
  if (!is_live(r, key)) add_name(r->later, key);
}

/* 0, or the error after logging it (nothing changed). */
static int reload_conf(struct node *n, char *sum, size_t cap) {
  struct node_config nc;
  char err[REASON_MAX];
  struct reload_ctx r = {.n = n, .nc = &nc};
  int rc = node_config_load(&nc, n->dir, err, sizeof err);
  if (rc) {
    node_log(NODE_LOG_ERROR, "reload: %s; still running with the settings read before", err);
    say(sum, cap, "%s; nothing changed", err);
    return rc;
  }
  for (uint32_t i = 0; i < nc.nnotes; i++) node_log(NODE_LOG_WARN, "%s", nc.notes[i]);
  node_config_diff(&n->cfg_file, &nc, on_changed, &r);
  node_config_diff(&n->cfg_start, &nc, on_differs_from_start, &r);
  n->cfg_file = nc;
  if (r.live[0]) node_log(NODE_LOG_INFO, "reload: changed now: %s", r.live);
  if (r.later[0])
    node_log(NODE_LOG_WARN, "reload: changed in %s/%s but not while running: %s; restart "
             "momedod for them (systemctl restart momedo)", n->dir, NODE_CONF_FILE, r.later);
  if (!r.live[0] && !r.later[0]) node_log(NODE_LOG_INFO, "reload: %s unchanged", NODE_CONF_FILE);
  say(sum, cap, "%s: changed now: %s; waiting for a restart: %s", NODE_CONF_FILE,
           r.live[0] ? r.live : "-", r.later[0] ? r.later : "-");
  return 0;
}

/* ---- neighbors.conf ---- */

static int nb_same(const struct node_neighbor *a, const struct node_neighbor *b) {
  return strcmp(a->host, b->host) == 0 && a->port == b->port &&
         memcmp(a->fp, b->fp, sizeof a->fp) == 0;
}

/* Links to neighbors gone or changed in the file are closed, new or changed ones are
 * dialed; unchanged links stay up. */
static int reload_neighbors(struct node *n, char *sum, size_t cap) {
  static struct node_neighbors nb; /* ~28 KiB; the loop is single-threaded */
  char err[REASON_MAX];
  unsigned added = 0, removed = 0;
  int rc = node_neighbors_load(&nb, n->dir, err, sizeof err);
  if (rc) {
    node_log(NODE_LOG_ERROR, "reload: %s; neighbors unchanged", err);
    say(sum, cap, "%s; neighbors unchanged", err);
    return rc;
  }
  for (size_t i = 0; i < n->nbs.n; i++) {
    int j = node_neighbors_find(&nb, n->nbs.v[i].name);
    if (j >= 0 && nb_same(&n->nbs.v[i], &nb.v[j])) continue;
    removed += node__peer_remove(n, n->nbs.v[i].name) == 0;
  }
  for (size_t j = 0; j < nb.n; j++) {
    int i = node_neighbors_find(&n->nbs, nb.v[j].name);
    if (i >= 0 && nb_same(&n->nbs.v[i], &nb.v[j])) continue;
    if (node__peer_add(n, &nb.v[j], err, sizeof err) != 0)
      node_log(NODE_LOG_ERROR, "reload: neighbor %s: %s", nb.v[j].name, err);
    else
      added++;
  }
  n->nbs = nb;
  /* The partner flag changes live: it only decides what registrations are told. */
  for (struct peer *p = n->peers; p; p = p->next) {
    int j = p->removed ? -1 : node_neighbors_find(&nb, p->cfg.name);
    if (j >= 0) p->cfg.partner = nb.v[j].partner;
  }
  if (added || removed)
    node_log(NODE_LOG_INFO, "reload: %s: %u neighbor link%s added, %u removed",
             NODE_NEIGHBORS_FILE, added, added == 1 ? "" : "s", removed);
  say(sum, cap, "%s: %u added, %u removed", NODE_NEIGHBORS_FILE, added, removed);
  return 0;
}

int node__reload(struct node *n, char *summary, size_t cap) {
  char state[96], conf[REASON_MAX] = "", nbs[REASON_MAX] = "";
  snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%llu",
           (unsigned long long)(os_mono_ns() / 1000u));
  node__notify(state);
  /* The log first (logrotate moved it): the lines below go to the new file. */
  int lrc = node_log_open(n->cfg.log_file);
  node_log(NODE_LOG_INFO, "reload: log reopened, reloading %s and %s", NODE_CONF_FILE,
           NODE_NEIGHBORS_FILE);
  if (lrc)
    node_log(NODE_LOG_ERROR, "reload: cannot reopen the log file %s: %s", n->cfg.log_file,
             momedo_strerror(lrc));
  int rc = reload_conf(n, conf, sizeof conf);
  int rc2 = reload_neighbors(n, nbs, sizeof nbs);
  char pol[REASON_MAX] = "";
  if (node__hours_reload(n, pol, sizeof pol) != 0) {
    node_log(NODE_LOG_ERROR, "reload: %s (the working-hours policies in effect are kept)", pol);
    reason_set(conf + strlen(conf), sizeof conf - strlen(conf), "; %s not reloaded: %.200s",
               POLICY_FILE, pol);
  }
  node__notify("READY=1");
  if (summary) say(summary, cap, "%s. %s.", conf, nbs);
  return rc ? rc : rc2;
}
