/* node/node.c — momedod's life cycle: create a node directory, start (config, identity,
 * durable store, replication engine, TLS listener, neighbors, admin socket), drive the
 * replication timer and carry out its actions, and stop cleanly on SIGTERM/SIGINT
 * (links closed, store closed: everything acknowledged is already on disk). Logs one
 * line per event; never message content or secrets. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hours.h"
#include "ids.h"
#include "log.h"
#include "node.h"
#include "node_int.h"
#include "store_rocks.h"
#include "testhook.h"

/* The node's wall clock: os_wall_ms, moved by the test clock hook (testhook.h) in
 * builds with MOMEDO_TEST_HOOKS when a test set it, else exactly os_wall_ms. Every time
 * the node hands to the engine, stamps or compares with objects' times reads this. */
uint64_t node__now_ms(void) {
  return os_wall_ms() + (uint64_t)node__test_clock_offset_ms();
}

static int path_in(char *out, size_t cap, const char *dir, const char *file) {
  return snprintf(out, cap, "%s/%s", dir, file) < (int)cap ? 0 : MOMEDO_E_INVAL;
}

/* The first start of a packaged node (--init-if-empty): a directory without a node key
 * and without a store becomes a node, keeping the momedo.conf that is there (the
 * package's). A store without its key is refused by node_dir_create. */
static int init_if_empty(const char *dir) {
  char path[NODE_PATH_BYTES_MAX], err[REASON_MAX];
  struct stat st;
  struct node_dir_info info;
  if (path_in(path, sizeof path, dir, NODE_KEY_FILE) != 0) return MOMEDO_E_INVAL;
  if (lstat(path, &st) == 0) return 0;
  int rc = node_dir_create(dir, NULL, NULL, NODE_DIR_KEEP_CONF, &info, err, sizeof err);
  if (rc) {
    node_log(NODE_LOG_ERROR, "cannot initialise a node in %s: %s", dir, err);
    return rc;
  }
  node_log(NODE_LOG_INFO, "initialised a new node in %s: fingerprint %s%s", dir,
           info.fingerprint, info.conf_written ? ", momedo.conf written" : "");
  return 0;
}

/* ---- a full disk ---- */

void node__diskfull(struct node *n, size_t need_bytes, char *why, size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX];
  uint64_t free_bytes = 0, now = node__now_ms();
  if (path_in(path, sizeof path, n->dir, NODE_STORE_DIR) != 0 ||
      store_rocks_free_bytes(path, &free_bytes) != 0)
    free_bytes = 0;
  uint64_t need = (uint64_t)need_bytes + n->disk_reserve_bytes;
  uint64_t short_by = need > free_bytes ? need - free_bytes : 0;
  reason_set(why, why_cap, "the node's disk is full: %llu bytes free, this needs %llu (%zu "
             "for it, %llu kept in reserve for the store); free %llu bytes on the node's disk. "
             "Fetching still works, and posting resumes by itself once there is room",
             (unsigned long long)free_bytes, (unsigned long long)need, need_bytes,
             (unsigned long long)n->disk_reserve_bytes, (unsigned long long)short_by);
  if (n->diskfull_logged_ms && now - n->diskfull_logged_ms < NODE_DISKFULL_LOG_MS &&
      now >= n->diskfull_logged_ms)
    return;
  n->diskfull_logged_ms = now;
  node_log(NODE_LOG_WARN, "disk full: %llu bytes free in %s, writes need %llu bytes in reserve "
           "plus their own size; refusing posts and replicated objects until there is room "
           "(fetches go on; at most one such line a minute)",
           (unsigned long long)free_bytes, path, (unsigned long long)n->disk_reserve_bytes);
}

/* ---- replication glue ---- */

static void on_repl_timer(uv_timer_t *t);

static void arm_repl_timer(struct node *n) {
  if (n->stopping) return;
  uint64_t d = repl_next_deadline(n->repl), now = node__now_ms();
  if (d == UINT64_MAX) {
    uv_timer_stop(&n->repl_timer);
    return;
  }
  /* Capped: the engine's deadlines are wall-clock times, and only a call into it lets
   * it see that the clock went back (docs/reliability.md, "Clock jumps"). */
  uint64_t wait = d > now ? d - now : 0;
  uv_timer_start(&n->repl_timer, on_repl_timer, wait < NODE_REPL_TICK_MAX_MS ? wait
                                                                            : NODE_REPL_TICK_MAX_MS, 0);
}

/* Objects from neighbors are written with the store's sync deferred (peers.c); what the
 * engine produced since (custody acknowledgements, pushes on, live events) must not leave
 * before one log sync made them durable. 0, or the failed sync's status. */
static int sync_owed(struct node *n) {
  if (!n->sync_owed) return 0;
  n->sync_owed = 0;
  int rc = store_rocks_sync(n->rocks);
  if (rc == MOMEDO_E_DISKFULL) node__diskfull(n, 0, NULL, 0);
  if (rc)
    node_log(NODE_LOG_ERROR, "store sync failed (%s): neighbor links dropped, nothing of "
             "theirs acknowledged; they send it again after reconnecting", momedo_strerror(rc));
  return rc;
}

void node__drain(struct node *n) {
  struct repl_action a;
  /* A failed sync: nothing produced since goes out (the neighbors keep custody of what
   * they sent and send it again after the links are dropped below). */
  int discard = sync_owed(n) != 0;
  while (repl_next_action(n->repl, &a)) {
    struct peer *p;
    if (discard && (a.kind == REPL_ACT_SEND || a.kind == REPL_ACT_STORED)) {
      if (a.kind == REPL_ACT_SEND) free(a.bytes);
      continue;
    }
    switch (a.kind) {
    case REPL_ACT_SEND:
      p = node__peer_by_id(n, a.peer_id);
      if (p)
        node__peer_send(p, a.bytes, a.len);
      else
        free(a.bytes);
      break;
    case REPL_ACT_DROP_PEER:
      p = node__peer_by_id(n, a.peer_id);
      if (p) {
        node_log(NODE_LOG_WARN, "neighbor %s cut off: %s (%s)", p->cfg.name, a.reason,
                 momedo_status_name(a.status));
        node__peer_drop(p, a.status, a.reason);
      }
      break;
    case REPL_ACT_STORED:
      if (a.role == REPL_ROLE_DEST) node__on_stored(n, &a); /* transit/cached: no mailbox event */
      break;
    case REPL_ACT_LOOKUP_DONE:
      node__lookup_done(n, &a);
      break;
    case REPL_ACT_CLAIM_ASKED:
      node__claim_asked(n, &a);
      break;
    case REPL_ACT_CLAIM_DONE:
      node__claim_done(n, &a);
      break;
    case REPL_ACT_REMOVED:
    case REPL_ACT_NONE:
      break;
    }
  }
  if (discard)
    for (struct peer *p = n->peers; p; p = p->next)
      node__peer_drop(p, MOMEDO_E_STORE, "store sync failed");
  arm_repl_timer(n);
}

static void on_repl_timer(uv_timer_t *t) {
  struct node *n = t->data;
  int rc = repl_tick(n->repl, node__now_ms());
  if (rc == MOMEDO_E_DISKFULL)
    node__diskfull(n, 0, NULL, 0);
  else if (rc)
    node_log(NODE_LOG_ERROR, "replication timer: %s", momedo_strerror(rc));
  node__drain(n);
}

static void on_sweep(uv_timer_t *t) {
  struct node *n = t->data;
  uint64_t now = node__now_ms();
  for (struct conn *c = n->conns; c; c = c->next)
    if (c->role == CONN_NEW && !c->closing && now - c->created_ms > NODE_HELLO_TIMEOUT_MS)
      node__conn_close(c, MOMEDO_E_TIMEOUT, "no Hello in time");
  node__guard_sweep(n, now);
}

/* ---- start and stop ---- */

static void stop(struct node *n, const char *why) {
  if (n->stopping) return;
  n->stopping = 1;
  node_log(NODE_LOG_INFO, "stopping (%s)", why);
  node__commit_stop(n); /* posts waiting for their sync: synced and answered first */
  if (n->listener) link_listener_close(n->listener);
  n->listener = NULL;
  node__peers_stop(n);
  node__admin_stop(n);
  node__hours_stop(n);
  node__metrics_stop(n, 1);
  uv_timer_stop(&n->repl_timer);
  uv_close((uv_handle_t *)&n->repl_timer, NULL);
  uv_close((uv_handle_t *)&n->sweep_timer, NULL);
  uv_close((uv_handle_t *)&n->sig_term, NULL);
  uv_close((uv_handle_t *)&n->sig_int, NULL);
  uv_close((uv_handle_t *)&n->sig_hup, NULL);
  node__notify("STOPPING=1");
}

static void on_signal(uv_signal_t *s, int signum) {
  if (signum == SIGHUP)
    (void)node__reload(s->data, NULL, 0);
  else
    stop(s->data, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int load_settings(struct node *n) {
  char err[REASON_MAX], ierr[REASON_MAX];
  int rc = node_config_load(&n->cfg, n->dir, err, sizeof err);
  if (!rc) rc = node_neighbors_load(&n->nbs, n->dir, err, sizeof err);
  if (rc) {
    node_log(NODE_LOG_ERROR, "%s", err);
    return rc;
  }
  n->cfg_file = n->cfg_start = n->cfg;
  node_log_set_level((enum node_log_level)n->cfg.log_level);
  if ((rc = node_log_open(n->cfg.log_file)) != 0) {
    node_log(NODE_LOG_ERROR, "cannot open the log file %s: %s", n->cfg.log_file,
             momedo_strerror(rc));
    return rc;
  }
  for (uint32_t i = 0; i < n->cfg.nnotes; i++) node_log(NODE_LOG_WARN, "%s", n->cfg.notes[i]);
  rc = node_identity_load(&n->id, n->dir, ierr, sizeof ierr);
  if (rc) {
    node_log(NODE_LOG_ERROR, "node key: %s", ierr[0] ? ierr : momedo_strerror(rc));
    return rc;
  }
  /* node.crt is for people; a node that cannot write it still runs. */
  if (node_identity_write_cert(&n->id, n->dir, ierr, sizeof ierr) != 0)
    node_log(NODE_LOG_WARN, "cannot write %s: %s", NODE_CERT_FILE, ierr);
  return ids_node_fingerprint(n->fingerprint, n->id.kp.pub);
}

struct drop_ctx {
  struct store *s;
  struct store_batch *b;
  uint64_t n;
};

static int drop_one(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct drop_ctx *d = vctx;
  (void)v, (void)vn;
  int rc = store_batch_del(d->b, k, kn);
  d->n++;
  if (rc == 0 && store_batch_count(d->b) >= NODE_LEGACY_DROP_BATCH) {
    rc = store_write(d->s, d->b);
    store_batch_clear(d->b);
  }
  return rc;
}

/* Delete the node-side lookup indexes earlier versions kept (idempotent). */
static int legacy_index_drop(struct node *n) {
  static const char tags[] = {NODE_K_LEGACY_USERID, NODE_K_LEGACY_ALIAS, NODE_K_LEGACY_ALIAS_OF};
  struct drop_ctx d = {.s = n->store, .b = store_batch_new(), .n = 0};
  int rc = d.b ? 0 : MOMEDO_E_NOMEM;
  for (size_t i = 0; i < sizeof tags && rc == 0; i++) 
    rc = node__iter_tag(n, tags[i], drop_one, &d);
  if (rc == 0) rc = store_write(n->store, d.b);
  store_batch_free(d.b);
  if (rc) node_log(NODE_LOG_ERROR, "cannot drop old lookup indexes: %s", momedo_strerror(rc));
  else if (d.n) node_log(NODE_LOG_INFO, "dropped %llu entries of old node-side lookup indexes",
                         (unsigned long long)d.n);
  return rc;
}

void node__record_name(char out[static REPL_NAME_CHARS_MAX + 1], const char *name) {
  size_t i = 0;
  for (; name[i] && i < REPL_NAME_CHARS_MAX; i++) {
    char ch = name[i];
    out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch == '_' ? '-' : ch;
  }
  out[i] = '\0';
}

static int open_engine(struct node *n) {
  char path[NODE_PATH_BYTES_MAX];
  struct store_rocks_opts so;
  struct repl_config rc_cfg;
  uint64_t seed = 0;
  store_rocks_opts_default(&so);
  so.durable = 1; /* a post is acknowledged only once it is on disk */
  so.create_if_missing = 1;
  n->disk_reserve_bytes = so.disk_reserve_bytes;
  int rc = path_in(path, sizeof path, n->dir, NODE_STORE_DIR);
  if (!rc) rc = store_rocks_open(&n->store, path, &so);
  if (rc == MOMEDO_E_CORRUPT) {
    node_log(NODE_LOG_ERROR, "the store in %s is corrupt (the store_rocks line above names "
             "the file); the node does not start, so nothing is served from it. Restore %s "
             "from a backup taken while the node was stopped, or move it aside and start with "
             "an empty store: the neighbors send back every replicated object, but the devices, "
             "invites and removals recorded only on this node are lost (docs/operations.md, "
             "Backups)", path, path);
    return rc;
  }
  if (rc) {
    node_log(NODE_LOG_ERROR, "cannot open the store in %s: %s",
             path, momedo_strerror(rc));
    return rc;
  }
  n->rocks = n->store; /* group commit syncs it (commit.c); the hooks may wrap n->store */
  if ((rc = node__test_hooks_start(&n->store)) != 0) return rc;
  rc_cfg = n->cfg.repl; /* the engine's parameters as momedo.conf set them (scope too) */
  memcpy(rc_cfg.self_key, n->id.kp.pub, OBJ_KEY_LEN);
  rc_cfg.sign = node__sign; /* node records; the key stays in this process */
  rc_cfg.sign_ctx = n;
  node__record_name(rc_cfg.name, n->cfg.name);
  if ((rc = crypto_random(&seed, sizeof seed)) != 0) return rc;
  rc = repl_new(&rc_cfg, n->store, seed, node__now_ms(), &n->repl);
  if (rc) node_log(NODE_LOG_ERROR, "replication engine: %s", momedo_strerror(rc));
  if (!rc) rc = legacy_index_drop(n);
  return rc;
}

static int open_network(struct node *n) {
  int rc = tls_global_init();
  if (!rc) rc = tls_ctx_new(&n->tls_server, TLS_ROLE_SERVER, &n->id);
  if (!rc) rc = tls_ctx_new(&n->tls_client, TLS_ROLE_CLIENT, &n->id);
  if (rc) {
    node_log(NODE_LOG_ERROR, "TLS setup: %s", momedo_strerror(rc));
    return rc;
  }
  link_config_default(&n->link_cfg);
  n->link_cfg.frame_bytes_max = n->cfg.frame_bytes_max;
  n->link_cfg.out_bytes_max = (size_t)n->cfg.repl.peer_queue_bytes_max;
  n->link_cfg.out_low_bytes = (size_t)n->cfg.repl.peer_queue_bytes_max / 4;
  rc = node__listen(n);
  if (rc) {
    node_log(NODE_LOG_ERROR, "cannot listen on %s:%u: %s", n->cfg.listen_host,
             (unsigned)n->cfg.listen_port, momedo_strerror(rc));
    return rc;
  }
  if ((rc = node__admin_start(n)) != 0) return rc;
  if ((rc = node__metrics_start(n)) != 0) return rc;
  return node__peers_start(n);
}

/* Descriptors the node needs besides its clients: RocksDB's table files and its WAL,
 * manifest, info log and lock; stdio, the event loop, listener, pid file, admin socket
 * and its connections; two per neighbor (our link out, theirs in) for as many
 * neighbors as `neighbor add` may configure without a restart. */
#define NODE_FD_STORE (STORE_ROCKS_OPEN_FILES_MAX + 16)
#define NODE_FD_BASE (16 + NODE_ADMIN_CONNS_MAX)
#define NODE_FD_RESERVE (NODE_FD_STORE + NODE_FD_BASE + 2 * NODE_NEIGHBORS_MAX)

/* One descriptor per client: take the hard open-file limit. Where even that cannot
 * hold clients_max clients besides the reserve, serve only as many as fit, so that
 * the one past them is refused with E_BUSY after its Hello instead of accept() — and
 * the store's and the neighbors' files — failing with EMFILE. The start-up line says
 * how many clients the node serves; a warning only where it matters: a clients_max the
 * operator set cannot be kept, or not even the reserve fits. */
void node__fit_nofile(struct node *n) {
  struct rlimit r;
  struct node_config d;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) != 0 && getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  }
  unsigned long long lim = r.rlim_cur, need = (unsigned long long)n->cfg.clients_max +
                                             NODE_FD_RESERVE;
  if (r.rlim_cur == RLIM_INFINITY || lim >= need) return;
  if (lim <= NODE_FD_RESERVE) {
    node_log(NODE_LOG_WARN, "open file limit %llu is below the %d descriptors the node "
             "needs without any client: raise the hard limit (ulimit -Hn, LimitNOFILE=) "
             "to %llu", lim, NODE_FD_RESERVE, need);
    return;
  }
  uint32_t fit = (uint32_t)(lim - NODE_FD_RESERVE);
  node_config_defaults(&d, NULL);
  if (n->cfg.clients_max != d.clients_max)
    node_log(NODE_LOG_WARN, "open file limit %llu leaves room for %u clients, not clients_max "
             "%u: raise the hard limit (ulimit -Hn, LimitNOFILE=) to %llu or lower "
             "clients_max", lim, fit, n->cfg.clients_max, need);
  n->cfg.clients_max = fit;
}

static int start(struct node *n) {
  int rc = load_settings(n);
  if (!rc) rc = node__dir_lock(n->dir, &n->dir_lock_fd);
  if (!rc) node__fit_nofile(n);
  if (!rc) rc = node__rates_init(n); /* sized for the clients fitted */
  if (!rc) node__backup_cleanup(n);
  if (!rc) rc = node__pool_start(n); /* the engine signs its node record with it */
  if (!rc) rc = open_engine(n);
  if (rc) return rc;
  uv_timer_init(n->loop, &n->repl_timer);
  uv_timer_init(n->loop, &n->sweep_timer);
  uv_signal_init(n->loop, &n->sig_term);
  uv_signal_init(n->loop, &n->sig_int);
  uv_signal_init(n->loop, &n->sig_hup);
  n->repl_timer.data = n->sweep_timer.data = n->sig_term.data = n->sig_int.data = n;
  n->sig_hup.data = n;
  uv_signal_start(&n->sig_term, on_signal, SIGTERM);
  uv_signal_start(&n->sig_int, on_signal, SIGINT);
  uv_signal_start(&n->sig_hup, on_signal, SIGHUP);
  uv_timer_start(&n->sweep_timer, on_sweep, NODE_SWEEP_INTERVAL_MS, NODE_SWEEP_INTERVAL_MS);
  n->start_ms = node__now_ms();
  rc = node__commit_start(n);
  if (!rc) rc = node__hours_start(n);
  if (!rc) rc = open_network(n);
  if (rc) {
    stop(n, "start-up failed");
    return rc;
  }
  struct repl_stats rs;
  repl_stats(n->repl, &rs);
  node_log(NODE_LOG_INFO,
           "momedod %s started: node \"%s\", fingerprint %s, listening on %s:%u, "
           "admin socket %s, %llu objects, %zu neighbors, up to %u clients",
           NODE_VERSION, n->cfg.name, n->fingerprint, n->cfg.listen_host,
           (unsigned)n->cfg.listen_port, n->cfg.admin_socket, (unsigned long long)rs.objects,
           n->nbs.n, n->cfg.clients_max);
  char ready[REASON_MAX];
  snprintf(ready, sizeof ready, "READY=1\nSTATUS=node \"%s\", fingerprint %s, listening on "
           "%s:%u", n->cfg.name, n->fingerprint, n->cfg.listen_host,
           (unsigned)n->cfg.listen_port);
  node__notify(ready);
  node__drain(n);
  return 0;
}

static struct node *node_new(const char *dir, uv_loop_t *loop) {
  struct node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  snprintf(n->dir, sizeof n->dir, "%s", dir);
  n->dir_lock_fd = -1;
  arena_init(&n->arena, NODE_ARENA_BYTES_MAX);
  n->loop = loop;
  return n;
}

/* What start made, once the loop ran until the handles stop closed are closed. */
static void node_free(struct node *n) {
  node__lookups_free(n);
  node__claims_free(n);
  repl_free(n->repl);
  node__pool_free(n);
  node__ack_batch_free(n);
  store_close(n->store);
  node__dir_unlock(n->dir_lock_fd); /* after the store is closed */
  tls_ctx_free(n->tls_server);
  tls_ctx_free(n->tls_client);
  if (n->tls_server || n->tls_client) tls_global_cleanup();
  node_identity_close(&n->id);
  arena_close(&n->arena);
  node__guard_free(n);
  node__rates_free(n);
  node__hours_free(n);
  free(n->commit);
  free(n);
}

int node__start(const char *dir, uv_loop_t *loop, struct node **out) {
  struct node *n = node_new(dir, loop);
  *out = NULL;
  if (!n) return MOMEDO_E_NOMEM;
  int rc = start(n);
  if (rc) {
    if (n->stopping) uv_run(loop, UV_RUN_DEFAULT);
    node_free(n);
    return rc;
  }
  *out = n;
  return 0;
}

void node__finish(struct node *n, const char *why) {
  stop(n, why);
  uv_run(n->loop, UV_RUN_DEFAULT);
  node_free(n);
}

int node_run(const char *dir, int init_empty) {
  uv_loop_t loop;
  struct node *n = NULL;
  umask(077);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN); /* a reload before the loop's handler is up must not kill us */
  node_log_init();
  if (uv_loop_init(&loop) != 0) return MOMEDO_E_IO;
  int rc = init_empty ? init_if_empty(dir) : 0;
  if (!rc) rc = node__start(dir, &loop, &n);
  if (!rc) {
    uv_run(&loop, UV_RUN_DEFAULT); /* until a signal stops it */
    node_free(n);
  }
  if (uv_loop_close(&loop) != 0) node_log(NODE_LOG_WARN, "event loop closed with handles open");
  if (!rc) node_log(NODE_LOG_INFO, "stopped cleanly");
  return rc;
}
