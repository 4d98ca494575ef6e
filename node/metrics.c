/* node/metrics.c — Prometheus metrics (text format 0.0.4) on metrics_listen. The loop
 * copies what it knows into a snapshot every NODE_METRICS_SNAPSHOT_MS under a mutex;
 * libmicrohttpd's own thread answers GET /metrics from the latest snapshot and never
 * touches the node, so a slow or hostile scraper (at most NODE_METRICS_CONNS_MAX
 * connections of NODE_METRICS_TIMEOUT_S each) cannot slow the loop, whose whole cost is
 * one copy of a few KiB a second. Names, units and labels: docs/operations.md. */
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "node_int.h"
#include "store_rocks.h"
#include "version.h"

#define METRICS_TEXT_BYTES_INITIAL 16384
#define METRICS_TEXT_BYTES_MAX (1024u * 1024) /* far above 64 neighbors' worth */
#define METRICS_PATH "/metrics"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_nb {
  char name[NODE_NAME_CHARS_MAX + 1];
  int up;
  uint64_t bytes_in, bytes_out, objects_in, objects_out, backlog;
  uint64_t ingest_refused, recon_refused; /* messages refused for the engine's budgets */
};

/* Everything the text is made of, copied by the loop. */
struct metrics_snap {
  uint64_t taken_ms, start_ms;
  char name[NODE_NAME_CHARS_MAX + 1];
  char fingerprint[IDS_NODE_FP_STR_MAX];
  uint32_t clients, clients_max;
  uint32_t nb_n, nb_up;
  struct metrics_nb nb[NODE_NEIGHBORS_MAX];
  struct repl_stats rs;
  struct node_counters counters;
  struct store_rocks_stats ss;
  uint64_t bytes_in, bytes_out, peers_refused;
};

struct node_metrics {
  struct MHD_Daemon *d;
  pthread_mutex_t mu;
  struct metrics_snap snap; /* guarded by mu */
  char host[NODE_HOST_CHARS_MAX + 1];
  uint16_t port;
};

/* ---- the loop's side ---- */

static void snap_neighbors(struct node *n, struct metrics_snap *s) {
  for (struct peer *p = n->peers; p && s->nb_n < NODE_NEIGHBORS_MAX; p = p->next) {
    if (p->removed) continue;
    struct metrics_nb *m = &s->nb[s->nb_n++];
    struct repl_peer_stats ps;
    snprintf(m->name, sizeof m->name, "%s", p->cfg.name);
    m->up = p->active != NULL && strcmp(p->state, "up") == 0;
    s->nb_up += (uint32_t)m->up;
    m->bytes_in = p->bytes_in;
    m->bytes_out = p->bytes_out;
    m->objects_in = p->objects_in;
    m->objects_out = p->objects_out;
    m->backlog = p->q_bytes;
    m->ingest_refused = p->ingest_refused;
    m->recon_refused = p->recon_refused;
    if (p->active && repl_peer_stats(n->repl, p->id, &ps) == 0) {
      m->objects_in += ps.objects_received; /* this link's, added when it goes down */
      m->objects_out += ps.objects_pushed;
      m->ingest_refused += ps.ingest_refused_msgs;
      m->recon_refused += ps.recon_refused_msgs + ps.recon_push_cut;
      m->backlog += ps.queued_bytes + link_out_pending(p->active->l);
    }
  }
}

static void snap_take(struct node *n, struct metrics_snap *s) {
  memset(s, 0, sizeof *s);
  s->taken_ms = node__now_ms();
  s->start_ms = n->start_ms;
  snprintf(s->name, sizeof s->name, "%s", n->cfg.name);
  snprintf(s->fingerprint, sizeof s->fingerprint, "%s", n->fingerprint);
  s->clients = n->clients;
  s->clients_max = n->cfg.clients_max;
  snap_neighbors(n, s);
  repl_stats(n->repl, &s->rs);
  s->counters = n->counters;
  store_rocks_stats(n->store, &s->ss);
  s->bytes_in = n->bytes_in;
  s->bytes_out = n->bytes_out;
  s->peers_refused = n->peers_refused;
}

static void on_snapshot(uv_timer_t *t) {
  struct node *n = t->data;
  static struct metrics_snap s; /* ~8 KiB; only the loop thread takes snapshots */
  if (!n->metrics) return;
  snap_take(n, &s);
  pthread_mutex_lock(&n->metrics->mu);
  n->metrics->snap = s;
  pthread_mutex_unlock(&n->metrics->mu);
}

/* ---- the text (metrics thread) ---- */

struct text {
  char *p;
  size_t n, cap;
  int full;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...) {
  for (int tries = 0; tries < 2 && !t->full; tries++) {
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    if (m < 0) break;
    if ((size_t)m < t->cap - t->n) {
      t->n += (size_t)m;
      return;
    }
    size_t want = t->cap * 2 > t->n + (size_t)m + 1 ? t->cap * 2 : t->n + (size_t)m + 1;
    char *q = want <= METRICS_TEXT_BYTES_MAX ? realloc(t->p, want) : NULL;
    if (!q) break;
    t->p = q;
    t->cap = want;
  }
  t->full = 1;
}

/* HELP and TYPE of one metric family. */
static void family(struct text *t, const char *name, const char *type, const char *help) {
  put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct text *t, const char *name, const char *type, const char *help,
                uint64_t v) {
  family(t, name, type, help);
  put(t, "%s %llu\n", name, (unsigned long long)v);
}

static void text_node(struct text *t, const struct metrics_snap *s) {
  family(t, "momedo_build_info", "gauge", "Version of this momedod (always 1).");
  put(t, "momedo_build_info{version=\"%s\"} 1\n", MOMEDO_VERSION);
  family(t, "momedo_node_info", "gauge", "This node's name and fingerprint (always 1).");
  put(t, "momedo_node_info{name=\"%s\",fingerprint=\"%s\"} 1\n", s->name, s->fingerprint);
  family(t, "momedo_start_time_seconds", "gauge", "When momedod started, seconds since the epoch.");
  put(t, "momedo_start_time_seconds %llu.%03u\n", (unsigned long long)(s->start_ms / 1000),
      (unsigned)(s->start_ms % 1000));
  family(t, "momedo_uptime_seconds", "gauge", "Seconds since momedod started.");
  put(t, "momedo_uptime_seconds %llu\n", (unsigned long long)((s->taken_ms - s->start_ms) / 1000));
  family(t, "momedo_snapshot_time_seconds", "gauge",
         "When the node's loop last published these metrics (stalls if the loop does).");
  put(t, "momedo_snapshot_time_seconds %llu.%03u\n", (unsigned long long)(s->taken_ms / 1000),
      (unsigned)(s->taken_ms % 1000));
  one(t, "momedo_clients_connected", "gauge", "Client connections open now.", s->clients);
  one(t, "momedo_clients_max", "gauge", "Clients served at once (clients_max, fitted to the "
      "open-file limit).", s->clients_max);
  one(t, "momedo_connections_refused_total", "counter",
      "Connections refused (unknown nodes, clients beyond clients_max).", s->peers_refused);
  family(t, "momedo_link_bytes_total", "counter", "Bytes on all TLS links, framing included.");
  put(t, "momedo_link_bytes_total{direction=\"received\"} %llu\n"
      "momedo_link_bytes_total{direction=\"sent\"} %llu\n",
      (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
}

static void text_neighbors(struct text *t, const struct metrics_snap *s) {
  static const struct {
    const char *name, *type, *help;
    size_t off;
  } cols[] = {
      {"momedo_neighbor_up", "gauge", "1 when replication with the neighbor runs.", 0},
      {"momedo_neighbor_received_bytes_total", "counter", "Bytes received from the neighbor.",
       offsetof(struct metrics_nb, bytes_in)},
      {"momedo_neighbor_sent_bytes_total", "counter", "Bytes sent to the neighbor.",
       offsetof(struct metrics_nb, bytes_out)},
      {"momedo_neighbor_received_objects_total", "counter",
       "Objects received from the neighbor, whatever became of them.",
       offsetof(struct metrics_nb, objects_in)},
      {"momedo_neighbor_sent_objects_total", "counter", "Objects pushed to the neighbor.",
       offsetof(struct metrics_nb, objects_out)},
      {"momedo_neighbor_backlog_bytes", "gauge", "Bytes waiting to be sent to the neighbor.",
       offsetof(struct metrics_nb, backlog)},
      {"momedo_neighbor_ingest_refused_total", "counter",
       "Pushes and custody grants of the neighbor not taken: over peer_ingest_objects_per_min "
       "or peer_ingest_per_min_bytes_max.",
       offsetof(struct metrics_nb, ingest_refused)},
      {"momedo_neighbor_recon_refused_total", "counter",
       "Reconciliation messages of the neighbor not answered and pushes in answer cut short: "
       "over peer_recon_msgs_per_min or peer_recon_push_per_min_bytes_max.",
       offsetof(struct metrics_nb, recon_refused)},
  };
  one(t, "momedo_neighbors", "gauge", "Configured neighbors.", s->nb_n);
  one(t, "momedo_neighbors_up", "gauge", "Neighbors replicating now.", s->nb_up);
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
    family(t, cols[c].name, cols[c].type, cols[c].help);
    for (uint32_t i = 0; i < s->nb_n; i++) {
      uint64_t v;
      if (cols[c].off == 0)
        v = (uint64_t)s->nb[i].up;
      else
        memcpy(&v, (const char *)&s->nb[i] + cols[c].off, sizeof v);
      put(t, "%s{neighbor=\"%s\"} %llu\n", cols[c].name, s->nb[i].name, (unsigned long long)v);
    }
  }
}

static void text_objects(struct text *t, const struct metrics_snap *s) {
  static const char *const kinds[] = {"", "key_bundle", "ozone_item", "tombstone", "chunk",
                                      "alias"};
  const struct repl_stats *r = &s->rs;
  family(t, "momedo_objects", "gauge", "Objects stored now, by kind.");
  for (size_t k = 1; k < sizeof kinds / sizeof kinds[0]; k++)
    put(t, "momedo_objects{kind=\"%s\"} %llu\n", kinds[k],
        (unsigned long long)r->objects_by_kind[k]);
  family(t, "momedo_objects_stored_total", "counter", "Objects newly stored, by origin.");
  put(t, "momedo_objects_stored_total{origin=\"client\"} %llu\n"
      "momedo_objects_stored_total{origin=\"neighbor\"} %llu\n",
      (unsigned long long)r->stored_local, (unsigned long long)r->stored_remote);
  family(t, "momedo_objects_removed_total", "counter", "Objects dropped, by reason.");
  put(t, "momedo_objects_removed_total{reason=\"tombstoned\"} %llu\n"
      "momedo_objects_removed_total{reason=\"expired\"} %llu\n"
      "momedo_objects_removed_total{reason=\"superseded\"} %llu\n",
      (unsigned long long)r->removed_tombstoned, (unsigned long long)r->removed_expired,
      (unsigned long long)r->removed_superseded);
  one(t, "momedo_recon_rounds_total", "counter",
      "Reconciliation rounds this node started, with all neighbors.", r->recon_rounds_started);
  family(t, "momedo_recon_bytes_total", "counter", "Bytes of reconciliation messages.");
  put(t, "momedo_recon_bytes_total{direction=\"received\"} %llu\n"
      "momedo_recon_bytes_total{direction=\"sent\"} %llu\n",
      (unsigned long long)r->recon_bytes_recv, (unsigned long long)r->recon_bytes_sent);
  family(t, "momedo_signer_deferred_total", "counter",
         "Items, chunks and aliases from neighbors not taken for their signer: not known "
         "here (yet) or over its budget (signer_ingest_*); offered again later.");
  put(t, "momedo_signer_deferred_total{reason=\"unknown\"} %llu\n"
      "momedo_signer_deferred_total{reason=\"budget\"} %llu\n",
      (unsigned long long)r->signer_unknown, (unsigned long long)r->signer_over_budget);
  family(t, "momedo_push_bytes_total", "counter", "Bytes of objects pushed eagerly.");
  put(t, "momedo_push_bytes_total{direction=\"received\"} %llu\n"
      "momedo_push_bytes_total{direction=\"sent\"} %llu\n",
      (unsigned long long)r->push_bytes_recv, (unsigned long long)r->push_bytes_sent);
}

static void text_posts(struct text *t, const struct metrics_snap *s) {
  /* Always present, so a rate of zero is a series and not an absence. */
  static const int usual[] = {MOMEDO_E_RATE, MOMEDO_E_QUOTA, MOMEDO_E_TOOBIG, MOMEDO_E_DENIED};
  const struct node_counters *c = &s->counters;
  one(t, "momedo_posts_accepted_total", "counter", "Client posts stored and acknowledged.",
      c->posts_accepted);
  family(t, "momedo_posts_refused_total", "counter",
         "Client posts refused, by the status the client was told.");
  for (size_t u = 0; u < sizeof usual / sizeof usual[0]; u++) {
    int seen = 0;
    for (size_t i = 0; i < c->n_refused; i++) seen |= c->refused[i].status == usual[u];
    if (!seen) put(t, "momedo_posts_refused_total{reason=\"%s\"} 0\n", momedo_status_name(usual[u]));
  }
  for (size_t i = 0; i < c->n_refused; i++)
    put(t, "momedo_posts_refused_total{reason=\"%s\"} %llu\n",
        momedo_status_name(c->refused[i].status), (unsigned long long)c->refused[i].n);
  if (c->refused_other)
    put(t, "momedo_posts_refused_total{reason=\"other\"} %llu\n",
        (unsigned long long)c->refused_other);
  one(t, "momedo_acks_unknown_total", "counter",
      "Client tombstones for items this node does not hold: not stored.", c->acks_unknown);
  family(t, "momedo_client_rate_refused_total", "counter",
         "Client acknowledgements (tombstones) and key bundle publishes refused for the "
         "per-device rates (device_acks_per_minute, device_publishes_per_minute).");
  put(t, "momedo_client_rate_refused_total{kind=\"ack\"} %llu\n"
      "momedo_client_rate_refused_total{kind=\"publish\"} %llu\n",
      (unsigned long long)c->acks_rated, (unsigned long long)c->publishes_rated);
  one(t, "momedo_partner_refused_total", "counter",
      "Devices refused because their user's key bundle carries no valid, unexpired partner "
      "grant for this node by a node configured here as a partner.", c->partner_refused);
}

static void text_store(struct text *t, const struct metrics_snap *s) {
  const struct store_rocks_stats *ss = &s->ss;
  uint64_t cum = 0;
  family(t, "momedo_store_fsync_seconds", "histogram",
         "Durable store writes (write-ahead log append and fsync): what each "
         "acknowledgement waits for.");
  for (size_t b = 0; b < STORE_ROCKS_LAT_BUCKETS; b++) {
    cum += ss->write_buckets[b];
    put(t, "momedo_store_fsync_seconds_bucket{le=\"%g\"} %llu\n", store_rocks_lat_bounds_s[b],
        (unsigned long long)cum);
  }
  put(t, "momedo_store_fsync_seconds_bucket{le=\"+Inf\"} %llu\n"
      "momedo_store_fsync_seconds_sum %.6f\n"
      "momedo_store_fsync_seconds_count %llu\n",
      (unsigned long long)ss->writes, (double)ss->write_us_sum / 1e6,
      (unsigned long long)ss->writes);
  family(t, "momedo_store_syncs_total", "counter",
         "Log syncs that made a group of deferred writes durable (a group of posts, or one "
         "ack request's tombstones).");
  put(t, "momedo_store_syncs_total %llu\n", (unsigned long long)ss->syncs);
  family(t, "momedo_store_sync_seconds_total", "counter", "Time spent in those log syncs.");
  put(t, "momedo_store_sync_seconds_total %.6f\n", (double)ss->sync_us_sum / 1e6);
  family(t, "momedo_store_bytes", "gauge", "Size of the store: table files and memtables.");
  put(t, "momedo_store_bytes{part=\"sst\"} %llu\nmomedo_store_bytes{part=\"memtable\"} %llu\n",
      (unsigned long long)ss->sst_bytes, (unsigned long long)ss->memtable_bytes);
}

/* The whole page from one snapshot; NULL when it would not fit (or out of memory). */
static char *text_render(const struct metrics_snap *s, size_t *len) {
  struct text t = {.p = malloc(METRICS_TEXT_BYTES_INITIAL), .cap = METRICS_TEXT_BYTES_INITIAL};
  if (!t.p) return NULL;
  t.p[0] = 0;
  text_node(&t, s);
  text_neighbors(&t, s);
  text_objects(&t, s);
  text_posts(&t, s);
  text_store(&t, s);
  if (t.full) {
    free(t.p);
    return NULL;
  }
  *len = t.n;
  return t.p;
}

/* body is malloc'ed (ours to free) when owned, a static string otherwise. */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, char *body, size_t len,
                              int owned, const char *type) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!r) {
    if (owned) free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  enum MHD_Result ret = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
  struct node_metrics *m = cls;
  static const char not_found[] = "only " METRICS_PATH " is here\n";
  static const char method_no[] = "GET " METRICS_PATH " only\n";
  if (*upload_size) { /* a body we do not want: drop it, answer when it has ended */
    *upload_size = 0;
    return MHD_YES;
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, (char *)method_no, sizeof method_no - 1, 0,
                  "text/plain");
  if (strcmp(url, METRICS_PATH) != 0)
    return answer(c, MHD_HTTP_NOT_FOUND, (char *)not_found, sizeof not_found - 1, 0,
                  "text/plain");
  struct metrics_snap *s = malloc(sizeof *s);
  if (!s) return MHD_NO;
  pthread_mutex_lock(&m->mu);
  *s = m->snap;
  pthread_mutex_unlock(&m->mu);
  size_t len = 0;
  char *body = text_render(s, &len);
  free(s);
  if (!body) return MHD_NO;
  return answer(c, MHD_HTTP_OK, body, len, 1, METRICS_CONTENT_TYPE);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char line[NODE_LOG_LINE_MAX];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && line[n - 1] == '\n') line[--n] = 0;
  node_log(NODE_LOG_DEBUG, "metrics: %s", line);
}

/* ---- start and stop ---- */

static int metrics_open(struct node *n, struct node_metrics *m) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)m->port);
  int e = getaddrinfo(m->host, port, &hints, &ai);
  if (e) {
    node_log(NODE_LOG_ERROR, "metrics_listen %s:%s: %s", m->host, port, gai_strerror(e));
    return MOMEDO_E_CONFIG;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
                   (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
  m->d = MHD_start_daemon(flags, m->port, NULL, NULL, on_request, m,
                          MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)NODE_METRICS_CONNS_MAX,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)NODE_METRICS_TIMEOUT_S,
                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)NODE_METRICS_CONN_BYTES,
                          MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!m->d) {
    node_log(NODE_LOG_ERROR, "cannot serve metrics on %s:%s (address in use or not ours?)",
             m->host, port);
    return MOMEDO_E_IO;
  }
  node_log(NODE_LOG_INFO, "metrics on http://%s%s%s:%s%s", strchr(m->host, ':') ? "[" : "",
           m->host, strchr(m->host, ':') ? "]" : "", port, METRICS_PATH);
  return 0;
}

int node__metrics_start(struct node *n) {
  if (n->cfg.metrics_port == 0 || n->metrics) return 0;
  struct node_metrics *m = calloc(1, sizeof *m);
  if (!m) return MOMEDO_E_NOMEM;
  pthread_mutex_init(&m->mu, NULL);
  snprintf(m->host, sizeof m->host, "%s", n->cfg.metrics_host);
  m->port = n->cfg.metrics_port;
  snap_take(n, &m->snap); /* the first scrape has data */
  int rc = metrics_open(n, m);
  if (rc) {
    pthread_mutex_destroy(&m->mu);
    free(m);
    return rc;
  }
  n->metrics = m;
  if (!n->metrics_timer_open) {
    uv_timer_init(n->loop, &n->metrics_timer);
    n->metrics_timer.data = n;
    n->metrics_timer_open = 1;
  }
  uv_timer_start(&n->metrics_timer, on_snapshot, NODE_METRICS_SNAPSHOT_MS,
                 NODE_METRICS_SNAPSHOT_MS);
  return 0;
}

void node__metrics_stop(struct node *n, int close_timer) {
  struct node_metrics *m = n->metrics;
  if (n->metrics_timer_open) {
    uv_timer_stop(&n->metrics_timer);
    if (close_timer) {
      uv_close((uv_handle_t *)&n->metrics_timer, NULL);
      n->metrics_timer_open = 0;
    }
  }
  if (!m) return;
  n->metrics = NULL;
  MHD_stop_daemon(m->d); /* joins the metrics thread */
  pthread_mutex_destroy(&m->mu);
  free(m);
}

void node__metrics_reconfigure(struct node *n, const struct node_config *c) {
  node__metrics_stop(n, 0);
  memcpy(n->cfg.metrics_host, c->metrics_host, sizeof c->metrics_host);
  n->cfg.metrics_port = c->metrics_port;
  if (c->metrics_port == 0) {
    node_log(NODE_LOG_INFO, "metrics off");
    return;
  }
  if (node__metrics_start(n) != 0)
    node_log(NODE_LOG_ERROR, "reload: metrics stay off until metrics_listen can be served");
}

void node__count_post(struct node *n, int status) {
  struct node_counters *c = &n->counters;
  if (status == 0) {
    c->posts_accepted++;
    return;
  }
  for (size_t i = 0; i < c->n_refused; i++)
    if (c->refused[i].status == status) {
      c->refused[i].n++;
      return;
    }
  if (c->n_refused < NODE_METRICS_REASONS_MAX) {
    c->refused[c->n_refused].status = status;
    c->refused[c->n_refused++].n = 1;
  } else {
    c->refused_other++;
  }
}
