/* node/peers.c — connections and neighbors: the TLS listener, Hello and role
 * decision for every link, pinning neighbors by fingerprint (unknown or mismatched
 * nodes are refused with a logged reason; a key once seen is kept in the store), one
 * replication link per neighbor (a duplicate is resolved the same way on both sides),
 * redial with backoff and jitter, and the bounded per-neighbor send queue behind link
 * back-pressure. It does not interpret replication messages (repl does) or client
 * requests (client_srv.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "ids.h"
#include "log.h"
#include "node_int.h"
#include "store_rocks.h"

#define FRAME_FIELD_REPL 10u

static uint32_t rnd32(void) {
  uint32_t r = 0;
  if (crypto_random(&r, sizeof r) != 0) r = (uint32_t)node__now_ms();
  return r;
}

enum node_fail_say node__fail_note(struct node_failcount *f, uint64_t now_ms) {
  if (f->n < UINT32_MAX) f->n++;
  if (f->n == 1) {
    f->warned_ms = now_ms;
    return NODE_FAIL_FIRST;
  }
  if (now_ms - f->warned_ms >= NODE_UNREACHABLE_SUMMARY_MS) {
    f->warned_ms = now_ms;
    return NODE_FAIL_SUMMARY;
  }
  return NODE_FAIL_QUIET;
}

/* One failed attempt to reach p (dial, connect, handshake or pinning). */
static void peer_failed(struct peer *p, const char *reason) {
  const char *why = reason && reason[0] ? reason : "unknown reason";
  switch (node__fail_note(&p->fails, node__now_ms())) {
  case NODE_FAIL_FIRST:
    node_log(NODE_LOG_WARN, "neighbor %s unreachable: %s (retrying with backoff; "
             "a summary follows every %u minutes while it lasts)", p->cfg.name, why,
             NODE_UNREACHABLE_SUMMARY_MS / 60000);
    break;
  case NODE_FAIL_SUMMARY:
    node_log(NODE_LOG_WARN, "neighbor %s still unreachable after %u attempts: %s", p->cfg.name,
             p->fails.n, why);
    break;
  case NODE_FAIL_QUIET:
    node_log(NODE_LOG_DEBUG, "neighbor %s: attempt %u failed: %s", p->cfg.name, p->fails.n,
             why);
    break;
  }
}

void node__set_state(struct peer *p, const char *state, const char *err) {
  if (strcmp(p->state, state) != 0) p->state_since_ms = node__now_ms();
  snprintf(p->state, sizeof p->state, "%s", state);
  if (err) snprintf(p->last_error, sizeof p->last_error, "%s", err);
}

/* ---- frames ---------------------------------------------------------------- */

static int varint(const uint8_t *b, size_t n, size_t *pos, uint64_t *v) {
  *v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (*pos >= n) return MOMEDO_E_TRUNCATED;
    uint8_t byte = b[(*pos)++];
    *v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return 0;
  }
  return MOMEDO_E_DECODE;
}

/* If body is exactly one length-delimited field, its number and payload; else 0. */
static unsigned frame_peek(const uint8_t *b, size_t n, const uint8_t **p, size_t *pn) {
  size_t pos = 0;
  uint64_t key, len;
  if (varint(b, n, &pos, &key) || (key & 7) != 2) return 0;
  if (varint(b, n, &pos, &len) || len != n - pos) return 0;
  *p = b + pos;
  *pn = (size_t)len;
  return (unsigned)(key >> 3);
}

/* Header + Frame{repl = bytes} without re-encoding the ReplMsg. malloc'ed. */
static uint8_t *frame_wrap_repl(const uint8_t *bytes, size_t len, size_t *out_len) {
  uint8_t hdr[16];
  size_t h = 0;
  hdr[h++] = (uint8_t)(FRAME_FIELD_REPL << 3 | 2);
  for (uint64_t v = len;; v >>= 7) {
    hdr[h++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
    if (v <= 0x7f) break;
  }
  uint8_t *f = malloc(FRAME_HEADER_LEN + h + len);
  if (!f) return NULL;
  be32_put(f, (uint32_t)(h + len));
  memcpy(f + FRAME_HEADER_LEN, hdr, h);
  memcpy(f + FRAME_HEADER_LEN + h, bytes, len);
  *out_len = FRAME_HEADER_LEN + h + len;
  return f;
}

void node__count_out(struct conn *c, size_t len) {
  c->bytes_out += len;
  c->n->bytes_out += len;
  if (c->peer) c->peer->bytes_out += len;
}

int node__send_frame(struct conn *c, const Momedo__Frame *f) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (c->closing) return MOMEDO_E_CLOSED;
  int rc = frame_encode(f, c->send_max, &buf, &len);
  if (rc) return rc;
  rc = link_send(c->l, buf, len);
  if (rc == 0) node__count_out(c, len);
  free(buf);
  return rc;
}

void node__conn_close(struct conn *c, int status, const char *reason) {
  if (c->closing) return;
  c->closing = 1;
  link_close(c->l, status, reason);
}

static void send_hello(struct conn *c) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__Hello h;
  frame_hello_init(&h, MOMEDO__ROLE__ROLE_NEIGHBOR, c->n->id.kp.pub, node__now_ms(),
                   c->n->cfg.frame_bytes_max);
  h.delivery = node__delivery(c->n->cfg.repl.scope);
  f.body_case = MOMEDO__FRAME__BODY_HELLO;
  f.hello = &h;
  int rc = node__send_frame(c, &f);
  if (rc && rc != MOMEDO_E_AGAIN) node__conn_close(c, rc, "cannot send Hello");
}

/* ---- the per-neighbor queue ------------------------------------------------- */

static void queue_clear(struct peer *p) {
  while (p->q_head) {
    struct pend *x = p->q_head;
    p->q_head = x->next;
    free(x);
  }
  p->q_tail = NULL;
  p->q_bytes = 0;
}

static void queue_flush(struct peer *p) {
  struct conn *c = p->active;
  while (c && p->q_head && !c->closing) {
    struct pend *x = p->q_head;
    int rc = link_send(c->l, x->data, x->len);
    if (rc == MOMEDO_E_AGAIN) return;
    if (rc == 0) {
      c->bytes_out += x->len;
      p->bytes_out += x->len;
      p->n->bytes_out += x->len;
    }
    p->q_head = x->next;
    if (!p->q_head) p->q_tail = NULL;
    p->q_bytes -= x->len;
    repl_peer_sent(p->n->repl, p->id, x->payload, node__now_ms());
    free(x);
  }
}

/* Takes ownership of bytes (an encoded ReplMsg from a SEND action). */
void node__peer_send(struct peer *p, uint8_t *bytes, size_t len) {
  struct node *n = p->n;
  size_t flen = 0;
  uint8_t *frame = frame_wrap_repl(bytes, len, &flen);
  free(bytes);
  if (!frame || !p->active || p->active->closing) {
    free(frame);
    repl_peer_sent(n->repl, p->id, len, node__now_ms()); /* discarded */
    return;
  }
  if (!p->q_head) {
    int rc = link_send(p->active->l, frame, flen);
    if (rc != MOMEDO_E_AGAIN) {
      if (rc == 0) {
        p->active->bytes_out += flen;
        p->bytes_out += flen;
        n->bytes_out += flen;
      }
      free(frame);
      repl_peer_sent(n->repl, p->id, len, node__now_ms());
      return;
    }
  }
  /* The link is full: keep it until on_writable. repl stops producing for this peer
   * once its unconfirmed bytes reach peer_queue_bytes_max, which bounds this queue. */
  struct pend *x = malloc(sizeof *x + flen);
  if (!x) {
    free(frame);
    repl_peer_sent(n->repl, p->id, len, node__now_ms());
    return;
  }
  x->next = NULL;
  x->len = flen;
  x->payload = len;
  memcpy(x->data, frame, flen);
  free(frame);
  if (p->q_tail)
    p->q_tail->next = x;
  else
    p->q_head = x;
  p->q_tail = x;
  p->q_bytes += flen;
}

/* ---- neighbor activation ------------------------------------------------------ */

static void schedule_dial(struct peer *p);

/* Detach c from its peer's active slot and tell repl. */
static void peer_deactivate(struct peer *p, struct conn *c, const char *why) {
  if (p->active != c) return;
  struct repl_peer_stats ps;
  if (repl_peer_stats(p->n->repl, p->id, &ps) == 0) { /* the link's totals, for metrics */
    p->objects_in += ps.objects_received;
    p->objects_out += ps.objects_pushed;
    p->ingest_refused += ps.ingest_refused_msgs;
    p->recon_refused += ps.recon_refused_msgs + ps.recon_push_cut;
  }
  p->budget_logged_total = 0; /* the engine's counters start again with the next link */
  p->active = NULL;
  queue_clear(p);
  repl_peer_down(p->n->repl, p->id, node__now_ms());
  node__drain(p->n);
  node__set_state(p, "down", why);
  if (!p->removed && !p->n->stopping) schedule_dial(p);
}

/* The link dialed by the node with the smaller key wins, on both sides alike. */
static int keep_new_link(struct node *n, const struct conn *old, const struct conn *nu) {
  int we_smaller = memcmp(n->id.kp.pub, nu->peer_key, NODE_KEY_LEN) < 0;
  int nu_ours = nu->outbound, old_ours = old->outbound;
  if (nu_ours == old_ours) return 1; /* same direction: the newer one is live */
  return we_smaller ? nu_ours : !nu_ours;
}

/* The neighbor's key learned on an earlier run (bound to its pinned fingerprint). */
static void peer_key_load(struct peer *p) {
  uint8_t k[2 + IDS_NODE_FP_LEN], fp[IDS_NODE_FP_LEN];
  void *v = NULL;
  size_t vn = 0;
  k[0] = NODE_K_PREFIX;
  k[1] = NODE_K_PEERKEY;
  memcpy(k + 2, p->cfg.fp, IDS_NODE_FP_LEN);
  int rc = store_get(p->n->store, k, sizeof k, &v, &vn);
  if (rc == 0 && vn == NODE_KEY_LEN && ids_node_fp_bytes(fp, v) == 0 &&
      crypto_ct_eq(fp, p->cfg.fp, IDS_NODE_FP_LEN)) {
    memcpy(p->key, v, NODE_KEY_LEN);
    p->key_known = 1;
  } else if (rc != 0 && rc != MOMEDO_E_NOTFOUND) {
    node_log(NODE_LOG_WARN, "neighbor %s: stored key unreadable (%s)", p->cfg.name,
             momedo_strerror(rc));
  }
  free(v);
}

/* Remember the key TLS showed (it matched the pinned fingerprint), across restarts. */
static void peer_key_learn(struct peer *p, const uint8_t key[NODE_KEY_LEN]) {
  uint8_t k[2 + IDS_NODE_FP_LEN];
  if (p->key_known && memcmp(p->key, key, NODE_KEY_LEN) == 0) return;
  memcpy(p->key, key, NODE_KEY_LEN);
  p->key_known = 1;
  k[0] = NODE_K_PREFIX;
  k[1] = NODE_K_PEERKEY;
  memcpy(k + 2, p->cfg.fp, IDS_NODE_FP_LEN);
  int rc = store_put1(p->n->store, k, sizeof k, key, NODE_KEY_LEN);
  if (rc)
    node_log(NODE_LOG_WARN, "neighbor %s: could not store its key (%s)", p->cfg.name,
             momedo_strerror(rc));
}

static void peer_activate(struct peer *p, struct conn *c) {
  struct node *n = p->n;
  char pre[NODE_KEY_PREFIX_LEN + 1];
  if (p->active && p->active != c) {
    if (!keep_new_link(n, p->active, c)) {
      node__conn_close(c, 0, "duplicate link to the same neighbor");
      return;
    }
    struct conn *old = p->active;
    peer_deactivate(p, old, NULL);
    old->peer = NULL;
    node__conn_close(old, 0, "duplicate link to the same neighbor");
  }
  if (p->timer_open) uv_timer_stop(&p->timer);
  if (p->dialing == c) p->dialing = NULL;
  c->up_ms = node__now_ms();
  p->active = c;
  peer_key_learn(p, c->peer_key);
  int rc = repl_peer_up(n->repl, p->id, c->peer_key, node__now_ms());
  if (rc) {
    p->active = NULL;
    node__conn_close(c, rc, "replication refused the neighbor");
    return;
  }
  node__set_state(p, "up", "");
  node_key_prefix(c->peer_key, pre);
  if (p->fails.n)
    node_log(NODE_LOG_INFO, "neighbor %s up (%s, key %s) after %u failed attempts", p->cfg.name,
             link_name(c->l), pre, p->fails.n);
  else
    node_log(NODE_LOG_INFO, "neighbor %s up (%s, key %s)", p->cfg.name, link_name(c->l), pre);
  p->fails.n = 0;
  node__drain(n);
}

static struct peer *peer_by_fp(struct node *n, const uint8_t key[NODE_KEY_LEN]) {
  uint8_t fp[IDS_NODE_FP_LEN];
  if (ids_node_fp_bytes(fp, key) != 0) return NULL;
  for (struct peer *p = n->peers; p; p = p->next)
    if (!p->removed && crypto_ct_eq(fp, p->cfg.fp, IDS_NODE_FP_LEN)) return p;
  return NULL;
}

struct peer *node__peer_by_id(struct node *n, uint64_t id) {
  for (struct peer *p = n->peers; p; p = p->next)
    if (p->id == id && !p->removed) return p;
  return NULL;
}

void node__peer_drop(struct peer *p, int status, const char *reason) {
  if (p->active) node__conn_close(p->active, status, reason);
}

/* ---- Hello ------------------------------------------------------------------- */

static void refuse(struct conn *c, int status, const char *why) {
  c->n->peers_refused++;
  node_log(NODE_LOG_WARN, "refused %s: %s", link_name(c->l), why);
  node__conn_close(c, status, why);
}

Momedo__DeliveryMode node__delivery(uint32_t scope) {
  return scope == REPL_SCOPE_FLOOD ? MOMEDO__DELIVERY_MODE__DELIVERY_FLOOD
                                   : MOMEDO__DELIVERY_MODE__DELIVERY_SCOPED;
}

static const char *delivery_name(Momedo__DeliveryMode m) {
  switch (m) {
  case MOMEDO__DELIVERY_MODE__DELIVERY_SCOPED: return "scoped";
  case MOMEDO__DELIVERY_MODE__DELIVERY_FLOOD: return "flood";
  case MOMEDO__DELIVERY_MODE__DELIVERY_UNSTATED: return "flood (an older node)";
  default: return "an unknown mode";
  }
}

/* A federation runs one delivery mode: a neighbor that states another (or, older,
 * none: it floods) is refused with the reason in the log and in its neighbor status. */
static int delivery_matches(struct conn *c, struct peer *p, const Momedo__Hello *h) {
  Momedo__DeliveryMode ours = node__delivery(c->n->cfg.repl.scope), theirs = h->delivery;
  if (theirs == MOMEDO__DELIVERY_MODE__DELIVERY_UNSTATED)
    theirs = MOMEDO__DELIVERY_MODE__DELIVERY_FLOOD;
  if (theirs == ours) return 1;
  char why[FRAME_REASON_BYTES_MAX];
  snprintf(why, sizeof why, "neighbor %s delivers by %s, this node by %s: a federation runs "
           "one mode (scope in momedo.conf)", p->cfg.name, delivery_name(h->delivery),
           delivery_name(ours));
  node__set_state(p, "refused", why);
  c->n->peers_refused++;
  node_log(NODE_LOG_WARN, "refused %s: %s", link_name(c->l), why);
  node__conn_close(c, MOMEDO_E_CONFIG, why);
  return 0;
}

/* The neighbor's clock as its Hello gave it against ours. Objects created on the
 * faster clock are refused by the other node (E_FUTURE, no strike) for as long as the
 * two differ by more than OBJ_CLOCK_SKEW_MS_MAX; say so once per link. */
static void clock_skew_note(struct peer *p, uint64_t peer_now_ms) {
  uint64_t ours = node__now_ms();
  uint64_t d = peer_now_ms > ours ? peer_now_ms - ours : ours - peer_now_ms;
  if (peer_now_ms == 0 || d <= NODE_CLOCK_SKEW_WARN_MS) return;
  node_log(NODE_LOG_WARN, "neighbor %s's clock is %llu s %s ours: objects created on the "
           "faster clock are refused by the other node while the clocks differ by more than "
           "%llu s; set both clocks right (NTP)", p->cfg.name,
           (unsigned long long)((d + 500) / 1000), peer_now_ms > ours ? "ahead of" : "behind",
           (unsigned long long)(OBJ_CLOCK_SKEW_MS_MAX / 1000));
}

static void on_neighbor_hello(struct conn *c, const Momedo__Hello *h) {
  struct node *n = c->n;
  char fps[IDS_NODE_FP_STR_MAX] = "?";
  if (!c->has_peer_key || h->node_key.len != NODE_KEY_LEN ||
      memcmp(h->node_key.data, c->peer_key, NODE_KEY_LEN) != 0) {
    refuse(c, MOMEDO_E_AUTH, "a node must present the certificate of the key its Hello names");
    return;
  }
  if (ids_node_fingerprint(fps, c->peer_key) != 0) snprintf(fps, sizeof fps, "?");
  struct peer *p = c->outbound ? c->peer : peer_by_fp(n, c->peer_key);
  if (!p) {
    char why[FRAME_REASON_BYTES_MAX];
    snprintf(why, sizeof why,
             "node with fingerprint %s is not a configured neighbor (add it with "
             "`momedo-admin neighbor add`)", fps);
    refuse(c, MOMEDO_E_DENIED, why);
    return;
  }
  if (!delivery_matches(c, p, h)) return;
  c->role = CONN_NEIGHBOR;
  c->peer = p;
  clock_skew_note(p, h->now_ms);
  if (!c->outbound) send_hello(c);
  if (!c->closing) peer_activate(p, c);
}

static void on_hello(struct conn *c, const Momedo__Hello *h) {
  char why[FRAME_REASON_BYTES_MAX];
  uint32_t version = 0;
  int rc = frame_hello_check(h, &version, why, sizeof why);
  if (rc) {
    c->n->peers_refused++;
    node__conn_close(c, rc, why);
    return;
  }
  if (h->frame_bytes_max >= FRAME_BYTES_MIN && h->frame_bytes_max < c->send_max)
    c->send_max = h->frame_bytes_max;
  if (c->outbound) {
    if (h->role != MOMEDO__ROLE__ROLE_NEIGHBOR) {
      refuse(c, MOMEDO_E_UNEXPECTED, "the dialed node did not answer as a node");
      return;
    }
    on_neighbor_hello(c, h);
    return;
  }
  if (h->role == MOMEDO__ROLE__ROLE_NEIGHBOR) {
    on_neighbor_hello(c, h);
  } else if (h->role == MOMEDO__ROLE__ROLE_CLIENT) {
    if (c->n->clients >= c->n->cfg.clients_max) {
      refuse(c, MOMEDO_E_BUSY, "too many clients connected (clients_max)");
      return;
    }
    c->role = CONN_CLIENT;
    c->n->clients++;
    send_hello(c);
  } else {
    refuse(c, MOMEDO_E_UNEXPECTED, "Hello with a role this port does not serve");
  }
}

/* ---- link callbacks ------------------------------------------------------------ */

static void conn_on_up(struct link *l, const uint8_t *peer_key) {
  struct conn *c = link_data(l);
  if (peer_key) {
    memcpy(c->peer_key, peer_key, NODE_KEY_LEN);
    c->has_peer_key = 1;
  }
  if (!c->outbound) return; /* wait for the peer's Hello */
  struct peer *p = c->peer;
  uint8_t fp[IDS_NODE_FP_LEN];
  char got[IDS_NODE_FP_STR_MAX] = "?", want[IDS_NODE_FP_STR_MAX] = "?", why[FRAME_REASON_BYTES_MAX];
  if (!p || !peer_key || ids_node_fp_bytes(fp, peer_key) != 0 ||
      !crypto_ct_eq(fp, p->cfg.fp, IDS_NODE_FP_LEN)) {
    if (peer_key && ids_node_fingerprint(got, peer_key) != 0) snprintf(got, sizeof got, "?");
    if (p && node_fp_format(want, p->cfg.fp) != 0) snprintf(want, sizeof want, "?");
    snprintf(why, sizeof why, "neighbor %s presented fingerprint %s, expected %s",
             p ? p->cfg.name : "?", got, want);
    if (p) node__set_state(p, "refused", why);
    c->n->peers_refused++;
    /* Logged (once per run of failures) by conn_on_down through peer_failed. */
    if (!p) node_log(NODE_LOG_WARN, "refused %s: %s", link_name(l), why);
    node__conn_close(c, MOMEDO_E_KEYCHANGED, why);
    return;
  }
  send_hello(c);
}

/* One line a minute per neighbor while the engine refuses its messages for a budget
 * (docs/security.md, "A federated node: storage"; metrics count every one). */
static void budget_note(struct peer *p) {
  struct repl_peer_stats ps;
  if (repl_peer_stats(p->n->repl, p->id, &ps) != 0) return;
  uint64_t total = ps.ingest_refused_msgs + ps.recon_refused_msgs + ps.recon_push_cut;
  uint64_t now = node__now_ms();
  if (total == p->budget_logged_total || now - p->budget_logged_ms < NODE_BUDGET_LOG_MS) return;
  const struct repl_config *rc = &p->n->cfg.repl;
  node_log(NODE_LOG_WARN,
           "neighbor %s over its budget: %llu messages (%llu objects, %llu bytes) not taken "
           "(peer_ingest_objects_per_min = %u, peer_ingest_per_min_bytes_max = %llu), %llu "
           "reconciliation messages not answered and %llu pushes cut "
           "(peer_recon_msgs_per_min = %u, peer_recon_push_per_min_bytes_max = %llu) on this link",
           p->cfg.name, (unsigned long long)ps.ingest_refused_msgs,
           (unsigned long long)ps.ingest_refused_objects,
           (unsigned long long)ps.ingest_refused_bytes, rc->peer_ingest_objects_per_min,
           (unsigned long long)rc->peer_ingest_per_min_bytes_max,
           (unsigned long long)ps.recon_refused_msgs, (unsigned long long)ps.recon_push_cut,
           rc->peer_recon_msgs_per_min, (unsigned long long)rc->peer_recon_push_per_min_bytes_max);
  p->budget_logged_total = total;
  p->budget_logged_ms = now;
}

static void conn_on_frame(struct link *l, const uint8_t *body, size_t len) {
  struct conn *c = link_data(l);
  struct node *n = c->n;
  const uint8_t *p;
  size_t pn;
  if (c->closing) return;
  c->bytes_in += len + FRAME_HEADER_LEN;
  n->bytes_in += len + FRAME_HEADER_LEN;
  if (c->peer) {
    c->peer->bytes_in += len + FRAME_HEADER_LEN;
    c->peer->last_seen_ms = node__now_ms();
  }
  if (c->role == CONN_NEIGHBOR && frame_peek(body, len, &p, &pn) == FRAME_FIELD_REPL) {
    if (!c->peer || c->peer->active != c) return; /* a link being replaced */
    /* Written with the sync deferred: one log sync per loop iteration for everything the
     * neighbors sent in it (issue 12), made before anything the engine produced leaves
     * (node__drain). The drain waits for the end of the iteration (commit.c). */
    store_rocks_defer_sync(n->rocks, 1);
    int rc = repl_on_msg(n->repl, c->peer->id, p, pn, node__now_ms());
    store_rocks_defer_sync(n->rocks, 0);
    n->sync_owed = 1;
    if (rc == MOMEDO_E_DISKFULL) /* not stored: a later round brings it again */
      node__diskfull(n, pn, NULL, 0);
    else if (rc && momedo_status_kind(rc) != MOMEDO_KIND_PROTO)
      node_log(NODE_LOG_ERROR, "replication from %s: %s", c->peer->cfg.name, momedo_strerror(rc));
    budget_note(c->peer);
    return;
  }
  Momedo__Frame *f = NULL;
  int rc = frame_unpack(body, len, &n->arena, &f);
  if (rc) {
    node__conn_close(c, rc, "undecodable frame");
    goto out;
  }
  if (f->body_case == MOMEDO__FRAME__BODY_ERROR) {
    node_log(NODE_LOG_INFO, "peer %s reports error %d: %.200s", link_name(l), f->error->code,
             f->error->reason ? f->error->reason : "");
    if (c->peer && c->role == CONN_NEW && f->error->code == MOMEDO_E_CONFIG) {
      char why[FRAME_REASON_BYTES_MAX]; /* e.g. the neighbor runs another delivery mode */
      snprintf(why, sizeof why, "the neighbor refused this node: %.200s",
               f->error->reason ? f->error->reason : "");
      node__set_state(c->peer, "refused", why);
      node_log(NODE_LOG_WARN, "neighbor %s: %s", c->peer->cfg.name, why);
    }
    if (f->error->fatal) node__conn_close(c, MOMEDO_E_CLOSED, "peer reported a fatal error");
  } else if (c->role == CONN_NEW) {
    if (f->body_case != MOMEDO__FRAME__BODY_HELLO)
      node__conn_close(c, MOMEDO_E_UNEXPECTED, "the first frame must be Hello");
    else
      on_hello(c, f->hello);
  } else if (c->role == CONN_CLIENT) {
    node__client_frame(c, f);
  } else {
    node__conn_close(c, MOMEDO_E_UNEXPECTED, "unexpected frame on a neighbor link");
  }
out:
  arena_reset(&n->arena);
}

static void conn_unlink(struct conn *c) {
  struct node *n = c->n;
  if (c->prev)
    c->prev->next = c->next;
  else
    n->conns = c->next;
  if (c->next) c->next->prev = c->prev;
}

static void conn_on_down(struct link *l, int status, const char *reason) {
  struct conn *c = link_data(l);
  struct peer *p = c->peer;
  if (c->role == CONN_CLIENT) {
    node__client_gone(c);
    c->n->clients--;
  }
  if (p) {
    if (p->active == c) {
      node_log(NODE_LOG_INFO, "neighbor %s down: %s", p->cfg.name, reason ? reason : "");
      if (c->up_ms && node__now_ms() - c->up_ms >= c->n->link_cfg.reconnect_stable_ms)
        p->attempts = 0;
      peer_deactivate(p, c, reason);
    }
    if (p->dialing == c) {
      p->dialing = NULL;
      if (!p->active) peer_failed(p, reason);
      if (!p->active && strcmp(p->state, "refused") != 0) node__set_state(p, "down", reason);
      if (!p->active && !p->removed && !c->n->stopping) schedule_dial(p);
    }
  }
  conn_unlink(c);
  free(c->held);
  free(c);
}

static void conn_on_writable(struct link *l) {
  struct conn *c = link_data(l);
  if (c->peer && c->peer->active == c) {
    queue_flush(c->peer);
    node__drain(c->n); /* repl may produce again now */
  } else if (c->role == CONN_CLIENT) {
    node__client_writable(c);
  }
}

const struct link_callbacks node__link_cbs = {
    .on_up = conn_on_up,
    .on_frame = conn_on_frame,
    .on_down = conn_on_down,
    .on_writable = conn_on_writable,
};

static struct conn *conn_new(struct node *n, struct link *l, int outbound) {
  struct conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->n = n;
  c->l = l;
  c->outbound = outbound;
  c->created_ms = node__now_ms();
  c->send_max = n->cfg.frame_bytes_max;
  c->next = n->conns;
  if (n->conns) n->conns->prev = c;
  n->conns = c;
  return c;
}

static int on_accept(struct link_listener *ls, struct link *l, void *data) {
  struct node *n = data;
  if (n->stopping) return 1;
  struct conn *c = conn_new(n, l, 0);
  if (!c) return 1;
  link_set_data(l, c);
  return 0;
}

int node__listen(struct node *n) {
  return link_listen(n->loop, n->cfg.listen_host, n->cfg.listen_port, n->tls_server,
                     &n->link_cfg, &node__link_cbs, on_accept, n, &n->listener);
}

/* ---- dialing ------------------------------------------------------------------ */

static void dial(struct peer *p) {
  struct node *n = p->n;
  if (p->active || p->dialing || p->removed || n->stopping) return;
  struct conn *c = conn_new(n, NULL, 1);
  if (!c) {
    schedule_dial(p);
    return;
  }
  c->peer = p;
  struct link *l = NULL;
  int rc = link_connect(n->loop, p->cfg.host, p->cfg.port, n->tls_client, NULL, &n->link_cfg,
                        &node__link_cbs, c, &l);
  if (rc) {
    conn_unlink(c);
    free(c);
    node__set_state(p, "down", momedo_strerror(rc));
    peer_failed(p, momedo_strerror(rc));
    schedule_dial(p);
    return;
  }
  link_set_quiet(l, 1); /* its failures are summarised by peer_failed */
  c->l = l;
  p->dialing = c;
  if (strcmp(p->state, "refused") != 0) node__set_state(p, "connecting", NULL);
}

static void on_dial_timer(uv_timer_t *t) { dial(t->data); }

static void schedule_dial(struct peer *p) {
  if (!p->timer_open || p->removed) return;
  uint64_t ms = link_backoff_ms(p->attempts, p->n->link_cfg.reconnect_min_ms,
                                p->n->link_cfg.reconnect_max_ms, rnd32());
  if (p->attempts < 32) p->attempts++;
  uv_timer_start(&p->timer, on_dial_timer, ms, 0);
}

int node__peer_add(struct node *n, const struct node_neighbor *cfg, char *why,
                   size_t why_cap) {
  uint8_t own[IDS_NODE_FP_LEN];
  if (ids_node_fp_bytes(own, n->id.kp.pub) == 0 && memcmp(own, cfg->fp, sizeof own) == 0)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "that fingerprint is this node's own");
  for (struct peer *q = n->peers; q; q = q->next)
    if (!q->removed && memcmp(q->cfg.fp, cfg->fp, IDS_NODE_FP_LEN) == 0)
      return reason_fail(why, why_cap, MOMEDO_E_EXISTS,
                         "that fingerprint is already neighbor '%s'", q->cfg.name);
  struct peer *p = calloc(1, sizeof *p);
  if (!p) return MOMEDO_E_NOMEM;
  p->n = n;
  p->cfg = *cfg;
  p->id = ++n->next_peer_id;
  node__set_state(p, "down", "not connected yet");
  if (uv_timer_init(n->loop, &p->timer) != 0) {
    free(p);
    return MOMEDO_E_INTERNAL;
  }
  p->timer.data = p;
  p->timer_open = 1;
  peer_key_load(p);
  p->next = n->peers;
  n->peers = p;
  dial(p);
  return 0;
}

static void on_peer_timer_closed(uv_handle_t *h) {
  struct peer *p = h->data;
  struct node *n = p->n;
  for (struct peer **pp = &n->peers; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  free(p);
}

/* Stop everything about p; freed once its timer handle is closed. */
static void peer_retire(struct peer *p, const char *why) {
  p->removed = 1;
  if (p->active) {
    struct conn *c = p->active;
    peer_deactivate(p, c, why);
    c->peer = NULL;
    node__conn_close(c, 0, why);
  }
  if (p->dialing) {
    struct conn *c = p->dialing;
    p->dialing = NULL;
    c->peer = NULL;
    node__conn_close(c, 0, why);
  }
  queue_clear(p);
  if (p->timer_open) {
    p->timer_open = 0;
    uv_close((uv_handle_t *)&p->timer, on_peer_timer_closed);
  }
}

int node__peer_remove(struct node *n, const char *name) {
  for (struct peer *p = n->peers; p; p = p->next)
    if (!p->removed && strcmp(p->cfg.name, name) == 0) {
      node_log(NODE_LOG_INFO, "neighbor %s removed", name);
      peer_retire(p, "neighbor removed by the administrator");
      return 0;
    }
  return MOMEDO_E_NOTFOUND;
}

int node__peers_start(struct node *n) {
  char why[REASON_MAX];
  for (size_t i = 0; i < n->nbs.n; i++) {
    why[0] = '\0';
    int rc = node__peer_add(n, &n->nbs.v[i], why, sizeof why);
    if (rc) {
      if (!why[0]) reason_set(why, sizeof why, "%s", momedo_strerror(rc));
      node_log(NODE_LOG_ERROR, "neighbor %s: %s", n->nbs.v[i].name, why);
      return rc;
    }
  }
  return 0;
}

void node__peers_stop(struct node *n) {
  for (struct peer *p = n->peers; p; p = p->next)
    if (!p->removed) peer_retire(p, "node stopping");
  for (struct conn *c = n->conns; c; c = c->next) node__conn_close(c, 0, "node stopping");
}
