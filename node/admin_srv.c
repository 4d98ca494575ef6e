/* node/admin_srv.c — the local admin socket (AF_UNIX via uv_pipe, mode 0600, at most
 * NODE_ADMIN_CONNS_MAX connections): one Frame{admin_request} in, one
 * Frame{admin_response} out, then close. Commands are a table; neighbor changes are
 * written to neighbors.conf atomically and take effect at once. Plain text never
 * carries secrets except freshly made invite tokens, which are meant to be handed out. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cursor.h"
#include "hours.h"
#include "ids.h"
#include "log.h"
#include "node_int.h"
#include "store_rocks.h"

struct admin_conn {
  uv_pipe_t pipe;
  struct node *n;
  struct frame_decoder dec;
  int done;
  uint64_t request_id;
};

typedef int (*admin_fn)(struct node *n, const Momedo__AdminRequest *rq,
                        Momedo__AdminResponse *rs, char *why, size_t why_cap);

static char *astr(struct node *n, const char *s) {
  size_t l = strlen(s);
  char *p = arena_alloc(&n->arena, l + 1);
  if (p) memcpy(p, s, l + 1);
  return p ? p : (char *)"";
}

static Momedo__NeighborStatus *neighbor_status(struct node *n, struct peer *p) {
  Momedo__NeighborStatus *s = arena_alloc(&n->arena, sizeof *s);
  char addr[NODE_HOSTPORT_CHARS_MAX + 3], fp[IDS_NODE_FP_STR_MAX] = "";
  if (!s) return NULL;
  momedo__neighbor_status__init(s);
  int v6 = strchr(p->cfg.host, ':') != NULL;
  snprintf(addr, sizeof addr, "%s%s%s:%u", v6 ? "[" : "", p->cfg.host, v6 ? "]" : "",
           (unsigned)p->cfg.port);
  if (node_fp_format(fp, p->cfg.fp) != 0) fp[0] = 0;
  s->name = astr(n, p->cfg.name);
  s->address = astr(n, addr);
  s->fingerprint = astr(n, fp);
  s->state = astr(n, p->state);
  s->last_error = astr(n, strcmp(p->state, "up") == 0 ? "" : p->last_error);
  s->state_since_ms = p->state_since_ms;
  s->bytes_in = p->bytes_in;
  s->bytes_out = p->bytes_out;
  s->last_seen_ms = p->last_seen_ms;
  s->objects_in = p->objects_in;
  s->objects_out = p->objects_out;
  s->partner = p->cfg.partner;
  s->ingest_refused = p->ingest_refused;
  s->recon_refused = p->recon_refused;
  struct repl_peer_stats ps;
  uint64_t backlog = p->q_bytes;
  if (p->active) {
    if (repl_peer_stats(n->repl, p->id, &ps) == 0) {
      backlog += ps.queued_bytes;
      s->objects_in += ps.objects_received;
      s->objects_out += ps.objects_pushed;
      s->ingest_refused += ps.ingest_refused_msgs;
      s->recon_refused += ps.recon_refused_msgs + ps.recon_push_cut;
    }
    backlog += link_out_pending(p->active->l);
    s->inbound = !p->active->outbound;
  }
  s->backlog = backlog;
  return s;
}

static Momedo__NeighborStatus **neighbor_list(struct node *n, size_t *count) {
  size_t k = 0;
  for (struct peer *p = n->peers; p; p = p->next) k += !p->removed;
  Momedo__NeighborStatus **v = arena_alloc(&n->arena, (k + 1) * sizeof *v);
  *count = 0;
  if (!v) return NULL;
  /* peers is newest first; list in configuration order */
  for (size_t i = 0; i < n->nbs.n; i++)
    for (struct peer *p = n->peers; p; p = p->next)
      if (!p->removed && strcmp(p->cfg.name, n->nbs.v[i].name) == 0) {
        Momedo__NeighborStatus *s = neighbor_status(n, p);
        if (s) v[(*count)++] = s;
      }
  return v;
}

static Momedo__DeliveryStatus *delivery_status(struct node *n, const struct repl_stats *st) {
  Momedo__DeliveryStatus *d = arena_alloc(&n->arena, sizeof *d);
  if (!d) return NULL;
  momedo__delivery_status__init(d);
  d->mode = (char *)(n->cfg.repl.scope == REPL_SCOPE_FLOOD ? "flood" : "scoped");
  d->dest_objects = st->dest_objects;
  d->dest_bytes = st->dest_bytes;
  d->transit_objects = st->transit_objects;
  d->transit_bytes = st->transit_bytes;
  d->cached_objects = st->cached_objects;
  d->pending_dests = st->pending_dests;
  d->transit_done = st->transit_done;
  d->records = st->records;
  d->routes = st->routes;
  d->grants_sent = st->grants_sent;
  d->acks_recv = st->acks_recv;
  d->lookups_started = st->lookups_started;
  d->lookups_found = st->lookups_found;
  d->lookups_notfound = st->lookups_notfound;
  d->lookup_queries_answered = st->lookup_queries_answered;
  d->global_posts = n->global_posts;
  return d;
}

static int a_status(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                    char *why, size_t why_cap) {
  static const char *const kinds[] = {"", "key_bundle", "ozone_item", "tombstone", "chunk",
                                      "alias"};
  Momedo__StatusResp *s = arena_alloc(&n->arena, sizeof *s);
  Momedo__KindCount **kc = arena_alloc(&n->arena, 5 * sizeof *kc);
  char listen[NODE_HOSTPORT_CHARS_MAX + 3];
  struct repl_stats st;
  if (!s || !kc) return MOMEDO_E_NOMEM;
  momedo__status_resp__init(s);
  repl_stats(n->repl, &st);
  int v6 = strchr(n->cfg.listen_host, ':') != NULL;
  snprintf(listen, sizeof listen, "%s%s%s:%u", v6 ? "[" : "", n->cfg.listen_host, v6 ? "]" : "",
           (unsigned)n->cfg.listen_port);
  s->name = n->cfg.name;
  s->fingerprint = n->fingerprint;
  s->node_key = (ProtobufCBinaryData){NODE_KEY_LEN, n->id.kp.pub};
  s->listen = astr(n, listen);
  s->version = (char *)NODE_VERSION;
  s->uptime_s = (node__now_ms() - n->start_ms) / 1000;
  s->neighbors = neighbor_list(n, &s->n_neighbors);
  for (size_t k = 1; k <= 5; k++) {
    kc[k - 1] = arena_alloc(&n->arena, sizeof **kc);
    if (!kc[k - 1]) return MOMEDO_E_NOMEM;
    momedo__kind_count__init(kc[k - 1]);
    kc[k - 1]->kind = (char *)kinds[k];
    kc[k - 1]->count = st.objects_by_kind[k];
  }
  s->objects = kc;
  s->n_objects = 5;
  s->clients_connected = n->clients;
  s->participants = node__devices_count(n);
  s->invites_active = node__invites_active(n);
  s->bytes_in = n->bytes_in;
  s->bytes_out = n->bytes_out;
  uint64_t invalid = 0;
  for (struct peer *p = n->peers; p; p = p->next) {
    struct repl_peer_stats ps;
    if (p->active && repl_peer_stats(n->repl, p->id, &ps) == 0) invalid += ps.objects_invalid;
  }
  s->objects_invalid = invalid;
  s->peers_refused = n->peers_refused;
  s->start_ms = n->start_ms;
  struct store_rocks_stats ss;
  store_rocks_stats(n->store, &ss);
  s->store_bytes = ss.sst_bytes;
  uint64_t du = 0;
  if (node_dir_usage(n->dir, &du) == 0) s->disk_bytes = du; /* else 0: shown as unknown */
  if (node__hours_status(n, s) != 0) return MOMEDO_E_NOMEM;
  if (n->cfg.metrics_port) {
    char *ml = arena_alloc(&n->arena, NODE_HOSTPORT_CHARS_MAX + 3);
    if (!ml) return MOMEDO_E_NOMEM;
    v6 = strchr(n->cfg.metrics_host, ':') != NULL;
    snprintf(ml, NODE_HOSTPORT_CHARS_MAX + 3, "%s%s%s:%u", v6 ? "[" : "", n->cfg.metrics_host,
             v6 ? "]" : "", (unsigned)n->cfg.metrics_port);
    s->metrics_listen = ml;
  }
  s->delivery = delivery_status(n, &st);
  if (!s->delivery) return MOMEDO_E_NOMEM;
  rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY_NODE_STATUS;
  rs->node_status = s;
  return 0;
}

static int a_neighbor_list(struct node *n, const Momedo__AdminRequest *rq,
                           Momedo__AdminResponse *rs, char *why, size_t why_cap) {
  Momedo__NeighborListResp *l = arena_alloc(&n->arena, sizeof *l);
  if (!l) return MOMEDO_E_NOMEM;
  momedo__neighbor_list_resp__init(l);
  l->neighbors = neighbor_list(n, &l->n_neighbors);
  rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY_NEIGHBORS;
  rs->neighbors = l;
  return 0;
}

static int a_neighbor_add(struct node *n, const Momedo__AdminRequest *rq,
                          Momedo__AdminResponse *rs, char *why, size_t why_cap) {
  const Momedo__NeighborAddReq *r = rq->neighbor_add;
  struct node_neighbor nb;
  memset(&nb, 0, sizeof nb);
  if (!node_name_valid(r->name)) {
    reason_set(why, why_cap, "the neighbor name must be 1..%d letters, digits, '.', '_' or '-'",
               NODE_NAME_CHARS_MAX);
    return MOMEDO_E_INVAL;
  }
  if (node_neighbors_find(&n->nbs, r->name) >= 0) {
    reason_set(why, why_cap, "there is already a neighbor called '%s' (remove it first)", r->name);
    return MOMEDO_E_EXISTS;
  }
  if (n->nbs.n >= NODE_NEIGHBORS_MAX) {
    reason_set(why, why_cap, "this node already has the maximum of %d neighbors",
               NODE_NEIGHBORS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  if (node_hostport_parse(r->address, nb.host, &nb.port) != 0) {
    reason_set(why, why_cap, "'%.80s' is not HOST:PORT (for example 10.1.2.3:4710)", r->address);
    return MOMEDO_E_INVAL;
  }
  int rc = node_fp_from_text(r->fingerprint, nb.fp);
  if (rc == MOMEDO_E_CHECKSUM) {
    reason_set(why, why_cap,
               "'%.80s' is not a node fingerprint (a character is mistyped; copy what "
               "`momedo-admin fingerprint` prints on that node again)",
               r->fingerprint);
    return rc;
  }
  if (rc) {
    reason_set(why, why_cap,
               "'%.80s' is not a node fingerprint: expected the 53 characters (with or without "
               "dashes) that `momedo-admin fingerprint` prints on that node, or its node_key as "
               "64 hex digits",
               r->fingerprint);
    return rc;
  }
  memcpy(nb.name, r->name, strlen(r->name) + 1);
  nb.partner = r->partner;
  /* Save first: what the admin was told is in effect survives a restart. */
  n->nbs.v[n->nbs.n++] = nb;
  rc = node_neighbors_save(&n->nbs, n->dir, why, why_cap);
  if (!rc) rc = node__peer_add(n, &nb, why, why_cap);
  if (rc) {
    n->nbs.n--;
    if (node_neighbors_save(&n->nbs, n->dir, NULL, 0) != 0)
      node_log(NODE_LOG_ERROR, "cannot restore %s", NODE_NEIGHBORS_FILE);
    return rc;
  }
  node_log(NODE_LOG_INFO, "neighbor %s added (%s%s)", nb.name, r->address,
           nb.partner ? ", partner" : "");
  reason_set(why, why_cap, "Added neighbor %s at %s%s; connecting now. Check with: momedo-admin status", nb.name,
      r->address, nb.partner ? " as a partner (a home of this node's users)" : "");
  return 0;
}

static int a_neighbor_remove(struct node *n, const Momedo__AdminRequest *rq,
                             Momedo__AdminResponse *rs, char *why, size_t why_cap) {
  const char *name = rq->neighbor_remove->name;
  int i = node_neighbors_find(&n->nbs, name ? name : "");
  if (i < 0) {
    reason_set(why, why_cap,
               "there is no neighbor called '%.64s' (see: momedo-admin neighbor list)", name);
    return MOMEDO_E_NOTFOUND;
  }
  struct node_neighbor gone = n->nbs.v[i];
  memmove(&n->nbs.v[i], &n->nbs.v[i + 1], (n->nbs.n - (size_t)i - 1) * sizeof n->nbs.v[0]);
  n->nbs.n--;
  int rc = node_neighbors_save(&n->nbs, n->dir, why, why_cap);
  if (rc) {
    memmove(&n->nbs.v[i + 1], &n->nbs.v[i], (n->nbs.n - (size_t)i) * sizeof n->nbs.v[0]);
    n->nbs.v[i] = gone;
    n->nbs.n++;
    return rc;
  }
  if (node__peer_remove(n, gone.name) != 0) { /* already gone from the running set */
  }
  reason_set(why, why_cap, "Removed neighbor %s; its link is closed.", gone.name);
  return 0;
}

static int a_invite(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                    char *why, size_t why_cap) {
  const Momedo__InviteReq *r = rq->invite;
  Momedo__InviteResp *out = arena_alloc(&n->arena, sizeof *out);
  char *code = arena_alloc(&n->arena, NODE_INVITE_CODE_MAX);
  char *tok = arena_alloc(&n->arena, 2 * NODE_INVITE_TOKEN_BYTES + 1);
  char *addr = arena_alloc(&n->arena, NODE_HOSTPORT_CHARS_MAX + 3);
  if (!out || !code || !tok || !addr) return MOMEDO_E_NOMEM;
  momedo__invite_resp__init(out);
  int rc = node__invite_create(n, r->uses, r->expires_s, r->address, out, code, tok, addr);
  if (rc == MOMEDO_E_INVAL) {
    reason_set(why, why_cap,
               "invite: uses must be 1..%u, lifetime at most %u days, address HOST:PORT with a "
               "host of at most 64 characters",
               NODE_INVITE_USES_MAX, NODE_INVITE_TTL_S_MAX / 86400);
    return rc;
  }
  if (rc) return rc;
  out->code = code;
  out->token = tok;
  out->address = addr;
  char *id = arena_alloc(&n->arena, 2 * NODE_INVITE_ID_BYTES + 1);
  if (!id || node__invite_id_of_token(tok, id) != 0) return MOMEDO_E_INTERNAL;
  out->id = id;
  node_log(NODE_LOG_INFO, "invite created: %u use%s, valid %llu s", out->uses,
           out->uses == 1 ? "" : "s",
           (unsigned long long)((out->expires_ms - node__now_ms()) / 1000));
  rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY_INVITE;
  rs->invite = out;
  return 0;
}

struct plist {
  struct node *n;
  Momedo__Participant **v;
  size_t count, cap;
  /* Device keys of the authenticated client connections, sorted: the store lists
   * devices in key order too, so one merge marks "connected" (O(C log C + P)). */
  uint8_t (*online)[OBJ_KEY_LEN];
  size_t n_online, next_online;
};

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, OBJ_KEY_LEN); }

/* One pass over the connections. */
static int plist_online(struct plist *l) {
  size_t cap = 0;
  for (struct conn *c = l->n->conns; c; c = c->next) cap += c->role == CONN_CLIENT && c->authed;
  if (cap == 0) return 0;
  l->online = malloc(cap * OBJ_KEY_LEN);
  if (!l->online) return MOMEDO_E_NOMEM;
  for (struct conn *c = l->n->conns; c; c = c->next)
    if (c->role == CONN_CLIENT && c->authed)
      memcpy(l->online[l->n_online++], c->device_key, OBJ_KEY_LEN);
  qsort(l->online, l->n_online, OBJ_KEY_LEN, key_cmp);
  return 0;
}

/* Is key (ascending from call to call) among the online devices? */
static int plist_is_online(struct plist *l, const uint8_t *key) {
  while (l->next_online < l->n_online && memcmp(l->online[l->next_online], key, OBJ_KEY_LEN) < 0)
    l->next_online++;
  return l->next_online < l->n_online &&
         memcmp(l->online[l->next_online], key, OBJ_KEY_LEN) == 0;
}

static int plist_one(void *vctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct plist *l = vctx;
  struct node *n = l->n;
  if (kn != 2 + OBJ_KEY_LEN || vn != OBJ_KEY_LEN + 8) return 0;
  if (l->count >= NODE_PARTICIPANTS_MAX) return 1;
  if (l->count == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 64;
    Momedo__Participant **nv = arena_alloc(&n->arena, nc * sizeof *nv);
    if (!nv) return MOMEDO_E_NOMEM;
    if (l->count) memcpy(nv, l->v, l->count * sizeof *nv);
    l->v = nv;
    l->cap = nc;
  }
  Momedo__Participant *p = arena_alloc(&n->arena, sizeof *p);
  uint8_t *keys = arena_alloc(&n->arena, 2 * OBJ_KEY_LEN);
  char *uid = arena_alloc(&n->arena, IDS_USER_ID_STR_MAX);
  if (!p || !keys || !uid) return MOMEDO_E_NOMEM;
  momedo__participant__init(p);
  memcpy(keys, k + 2, OBJ_KEY_LEN);
  memcpy(keys + OBJ_KEY_LEN, v, OBJ_KEY_LEN);
  if (ids_user_id(uid, keys + OBJ_KEY_LEN) != 0) uid[0] = 0;
  p->device_key = (ProtobufCBinaryData){OBJ_KEY_LEN, keys};
  p->identity_key = (ProtobufCBinaryData){OBJ_KEY_LEN, keys + OBJ_KEY_LEN};
  p->user_id = uid;
  p->registered_ms = be64_get(v + OBJ_KEY_LEN);
  p->connected = plist_is_online(l, keys);
  l->v[l->count++] = p;
  return 0;
}

static int a_participants(struct node *n, const Momedo__AdminRequest *rq,
                          Momedo__AdminResponse *rs, char *why, size_t why_cap) {
  struct plist l = {.n = n};
  uint8_t lo[2] = {NODE_K_PREFIX, NODE_K_DEVICE}, hi[2] = {NODE_K_PREFIX, NODE_K_DEVICE + 1};
  int rc = plist_online(&l);
  if (rc == 0) rc = store_iter(n->store, lo, 2, hi, 2, plist_one, &l);
  free(l.online);
  if (rc < 0) return rc;
  Momedo__ParticipantsResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__participants_resp__init(out);
  out->participants = l.v;
  out->n_participants = l.count;
  rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY_PARTICIPANTS;
  rs->participants = out;
  return 0;
}

static int a_participant_remove(struct node *n, const Momedo__AdminRequest *rq,
                                Momedo__AdminResponse *rs, char *why, size_t why_cap) {
  return node__device_remove(n, rq->participant_remove->device ? rq->participant_remove->device
                                                                 : "", why, why_cap);
}

static int a_invite_list(struct node *n, const Momedo__AdminRequest *rq,
                         Momedo__AdminResponse *rs, char *why, size_t why_cap) {
  Momedo__InviteListResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return MOMEDO_E_NOMEM;
  momedo__invite_list_resp__init(out);
  int rc = node__invites_list(n, out);
  if (rc) return rc;
  rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY_INVITES;
  rs->invites = out;
  return 0;
}

static int a_invite_revoke(struct node *n, const Momedo__AdminRequest *rq,
                           Momedo__AdminResponse *rs, char *why, size_t why_cap) {
  const char *id = rq->invite_revoke->id;
  return node__invite_revoke(n, id ? id : "", why, why_cap);
}

static int a_reload(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                    char *why, size_t why_cap) {
  return node__reload(n, why, why_cap);
}

/* ---- known nodes and routes (scoped delivery) ---- */

struct nodes_ctx {
  struct node *n;
  Momedo__KnownNode **v;
  size_t count;
  int rc;
};

static const char *peer_name(struct node *n, int has, uint64_t id) {
  struct peer *p = has ? node__peer_by_id(n, id) : NULL;
  return p ? p->cfg.name : "";
}

static int nodes_one(void *vctx, const struct repl_node_info *ni) {
  struct nodes_ctx *x = vctx;
  char fp[IDS_NODE_FP_STR_MAX];
  if (x->count >= NODE_ADMIN_NODES_MAX) return 1;
  Momedo__KnownNode *k = arena_alloc(&x->n->arena, sizeof *k);
  uint8_t *key = arena_alloc(&x->n->arena, OBJ_KEY_LEN);
  if (!k || !key) {
    x->rc = MOMEDO_E_NOMEM;
    return 1;
  }
  momedo__known_node__init(k);
  memcpy(key, ni->key, OBJ_KEY_LEN);
  if (ids_node_fingerprint(fp, ni->key) != 0) fp[0] = '\0';
  k->name = astr(x->n, ni->name);
  k->node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, key};
  k->fingerprint = astr(x->n, fp);
  k->seq = ni->seq;
  k->expires_ms = ni->expires_ms;
  k->neighbors = ni->n_neighbors;
  k->hops = ni->hops;
  k->next_hop = (char *)peer_name(x->n, ni->has_next, ni->next_peer);
  k->alt_hop = (char *)peer_name(x->n, ni->has_alt, ni->alt_peer);
  x->v[x->count++] = k;
  return 0;
}

static int a_nodes(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                   char *why, size_t why_cap) {
  struct nodes_ctx x = {.n = n};
  Momedo__NodesResp *out = arena_alloc(&n->arena, sizeof *out);
  x.v = arena_alloc(&n->arena, NODE_ADMIN_NODES_MAX * sizeof *x.v);
  if (!out || !x.v) return MOMEDO_E_NOMEM;
  int rc = repl_nodes(n->repl, node__now_ms(), nodes_one, &x);
  if (rc < 0) return rc;
  if (x.rc) return x.rc;
  momedo__nodes_resp__init(out);
  out->nodes = x.v;
  out->n_nodes = x.count;
  rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY_NODES;
  rs->nodes = out;
  if (x.count >= NODE_ADMIN_NODES_MAX) reason_set(why, why_cap, "the first %d nodes (by key)", NODE_ADMIN_NODES_MAX);
  return 0;
}

static const admin_fn admin_handlers[] = {
    [MOMEDO__ADMIN_REQUEST__BODY_STATUS] = a_status,
    [MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_ADD] = a_neighbor_add,
    [MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_REMOVE] = a_neighbor_remove,
    [MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_LIST] = a_neighbor_list,
    [MOMEDO__ADMIN_REQUEST__BODY_INVITE] = a_invite,
    [MOMEDO__ADMIN_REQUEST__BODY_PARTICIPANTS] = a_participants,
    [MOMEDO__ADMIN_REQUEST__BODY_PARTICIPANT_REMOVE] = a_participant_remove,
    [MOMEDO__ADMIN_REQUEST__BODY_INVITE_LIST] = a_invite_list,
    [MOMEDO__ADMIN_REQUEST__BODY_INVITE_REVOKE] = a_invite_revoke,
    [MOMEDO__ADMIN_REQUEST__BODY_RELOAD] = a_reload,
    [MOMEDO__ADMIN_REQUEST__BODY_BACKUP] = node__a_backup,
    [MOMEDO__ADMIN_REQUEST__BODY_NODES] = a_nodes,
    [MOMEDO__ADMIN_REQUEST__BODY_POLICY_SET] = node__a_policy,
    [MOMEDO__ADMIN_REQUEST__BODY_POLICY_ASSIGN] = node__a_policy,
    [MOMEDO__ADMIN_REQUEST__BODY_POLICY_REMOVE] = node__a_policy,
    [MOMEDO__ADMIN_REQUEST__BODY_POLICY_LIST] = node__a_policy,
};
#define ADMIN_HANDLERS_N (sizeof admin_handlers / sizeof admin_handlers[0])

/* ---- the socket ---- */

static void on_conn_closed(uv_handle_t *h) {
  struct admin_conn *a = h->data;
  a->n->admin_conns--;
  frame_decoder_close(&a->dec);
  free(a);
}

static void admin_close(struct admin_conn *a) {
  if (!uv_is_closing((uv_handle_t *)&a->pipe)) uv_close((uv_handle_t *)&a->pipe, on_conn_closed);
}

static void on_written(uv_write_t *w, int status) {
  struct admin_conn *a = w->data;
  free(((uint8_t **)(w + 1))[0]);
  free(w);
  admin_close(a);
}

static void admin_reply(struct admin_conn *a, const Momedo__AdminResponse *rs) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  uint8_t *buf = NULL;
  size_t len = 0;
  f.body_case = MOMEDO__FRAME__BODY_ADMIN_RESPONSE;
  f.admin_response = (Momedo__AdminResponse *)rs;
  uv_write_t *w = malloc(sizeof *w + sizeof(uint8_t *));
  if (!w || frame_encode(&f, FRAME_BYTES_MAX_LIMIT, &buf, &len) != 0) {
    free(w);
    admin_close(a);
    return;
  }
  ((uint8_t **)(w + 1))[0] = buf;
  w->data = a;
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  if (uv_write(w, (uv_stream_t *)&a->pipe, &b, 1, on_written) != 0) {
    free(buf);
    free(w);
    admin_close(a);
  }
}

static void admin_dispatch(struct admin_conn *a, const uint8_t *body, size_t len) {
  struct node *n = a->n;
  Momedo__Frame *f = NULL;
  Momedo__AdminResponse rs = MOMEDO__ADMIN_RESPONSE__INIT;
  char why[REASON_MAX] = "";
  int rc = frame_unpack(body, len, &n->arena, &f);
  if (!rc && f->body_case != MOMEDO__FRAME__BODY_ADMIN_REQUEST) rc = MOMEDO_E_UNEXPECTED;
  if (!rc) {
    const Momedo__AdminRequest *rq = f->admin_request;
    rs.request_id = a->request_id = rq->request_id;
    rc = MOMEDO_E_UNKNOWN_KIND;
    n->admin_current = a;
    if ((size_t)rq->body_case < ADMIN_HANDLERS_N && admin_handlers[rq->body_case])
      rc = admin_handlers[rq->body_case](n, rq, &rs, why, sizeof why);
    else
      snprintf(why, sizeof why, "this node does not know that command (older version?)");
    n->admin_current = NULL;
    if (rc == NODE_ADMIN_LATER) { /* the handler took the connection */
      arena_reset(&n->arena);
      return;
    }
  }
  rs.status = rc;
  if (rc) rs.body_case = MOMEDO__ADMIN_RESPONSE__BODY__NOT_SET;
  rs.reason = why[0] ? why : (char *)(rc ? momedo_strerror(rc) : "");
  admin_reply(a, &rs);
  arena_reset(&n->arena);
}

struct admin_conn *node__admin_defer(struct node *n) {
  assert(n->admin_current != NULL); /* only from a handler */
  return n->admin_current;
}

void node__admin_answer(struct admin_conn *a, int status, const char *why,
                        Momedo__AdminResponse *rs) {
  Momedo__AdminResponse none = MOMEDO__ADMIN_RESPONSE__INIT;
  if (!rs) rs = &none;
  rs->request_id = a->request_id;
  rs->status = status;
  if (status) rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY__NOT_SET;
  rs->reason = (char *)(why && *why ? why : status ? momedo_strerror(status) : "");
  admin_reply(a, rs);
  arena_reset(&a->n->arena);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char slab[16384]; /* single-threaded loop: one read at a time */
  buf->base = slab;
  buf->len = sizeof slab;
}

/* A frame header the decoder refused (length 0: E_PROTO; over NODE_ADMIN_FRAME_BYTES_MAX:
 * E_TOOBIG): answered with the status and a reason, and logged, before the close — not a
 * close without a word, which left the admin tool only "connection closed" (found by
 * fuzz_admin_proto). */
static void admin_refuse(struct admin_conn *a, int rc) {
  Momedo__AdminResponse rs = MOMEDO__ADMIN_RESPONSE__INIT;
  char why[REASON_MAX];
  if (rc == MOMEDO_E_TOOBIG)
    snprintf(why, sizeof why, "an admin request is at most %u bytes", NODE_ADMIN_FRAME_BYTES_MAX);
  else
    snprintf(why, sizeof why, "not an admin request frame (%s)", momedo_strerror(rc));
  node_log(NODE_LOG_INFO, "admin connection refused: %s", why);
  rs.status = rc;
  rs.reason = why;
  admin_reply(a, &rs);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct admin_conn *a = s->data;
  if (nread < 0) {
    admin_close(a);
    return;
  }
  size_t off = 0;
  while (!a->done && off < (size_t)nread) {
    size_t used = 0;
    int rc = frame_decoder_feed(&a->dec, (const uint8_t *)buf->base + off, (size_t)nread - off,
                                &used);
    off += used;
    if (rc < 0) {
      a->done = 1;
      uv_read_stop(s);
      admin_refuse(a, rc);
      return;
    }
    if (rc == 1) {
      const uint8_t *body;
      size_t len;
      frame_decoder_body(&a->dec, &body, &len);
      a->done = 1;
      uv_read_stop(s);
      admin_dispatch(a, body, len);
    }
  }
}

static void on_connection(uv_stream_t *server, int status) {
  struct node *n = server->data;
  if (status < 0) return;
  struct admin_conn *a = calloc(1, sizeof *a);
  if (!a) return;
  a->n = n;
  frame_decoder_init(&a->dec, NODE_ADMIN_FRAME_BYTES_MAX);
  uv_pipe_init(n->loop, &a->pipe, 0);
  a->pipe.data = a;
  n->admin_conns++;
  if (uv_accept(server, (uv_stream_t *)&a->pipe) != 0 || n->admin_conns > NODE_ADMIN_CONNS_MAX ||
      n->stopping) {
    admin_close(a);
    return;
  }
  uv_read_start((uv_stream_t *)&a->pipe, on_alloc, on_read);
}

/* Refuse to take over a socket another live node answers on; remove a stale one. */
static int socket_free(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MOMEDO_E_IO;
  int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  if (live) return MOMEDO_E_BUSY;
  unlink(path);
  return 0;
}

int node__admin_start(struct node *n) {
  const char *path = n->cfg.admin_socket;
  int rc = socket_free(path);
  if (rc) {
    node_log(NODE_LOG_ERROR, "another node answers on the admin socket %s", path);
    return rc;
  }
  uv_pipe_init(n->loop, &n->admin, 0);
  n->admin.data = n;
  n->admin_open = 1;
  int e = uv_pipe_bind(&n->admin, path); /* umask 077: created 0600 */
  if (e == 0) chmod(path, 0600);
  if (e == 0) e = uv_listen((uv_stream_t *)&n->admin, NODE_ADMIN_CONNS_MAX, on_connection);
  if (e) {
    node_log(NODE_LOG_ERROR, "cannot open the admin socket %s: %s", path, uv_strerror(e));
    return MOMEDO_E_IO;
  }
  return 0;
}

void node__admin_stop(struct node *n) {
  if (!n->admin_open) return;
  n->admin_open = 0;
  uv_close((uv_handle_t *)&n->admin, NULL);
  unlink(n->cfg.admin_socket);
}
