/* node/hours.c — working hours applied to live pushes (hours.h): which policy a
 * connection's user has (cached per policy generation), holding a push outside the
 * hours, the once-a-second release at their start, and the post's "delivered from". */
#include <stdlib.h>
#include <string.h>

#include "hours.h"
#include "log.h"

int node__tz_load(void *ctx, const char *tz, struct tz_zone *z, char *why, size_t cap) {
  char path[sizeof TZ_DIR_DEFAULT + TZ_NAME_CHARS_MAX + 2], *buf = NULL;
  size_t len = 0;
  (void)ctx;
  snprintf(path, sizeof path, "%s/%s", TZ_DIR_DEFAULT, tz);
  int rc = node_file_read(path, TZ_FILE_BYTES_MAX, &buf, &len);
  if (rc) {
    reason_set(why, cap, "time zone %s: %s (is tzdata installed?)", tz,
               rc == MOMEDO_E_NOTFOUND ? "unknown" : momedo_strerror(rc));
    return rc == MOMEDO_E_NOTFOUND ? MOMEDO_E_NOTFOUND : MOMEDO_E_INVAL;
  }
  char err[REASON_MAX];
  rc = tz_parse(z, (const uint8_t *)buf, len, err, sizeof err);
  if (rc) reason_set(why, cap, "time zone %s: %s", tz, err);
  free(buf);
  return rc;
}

static void on_tick(uv_timer_t *t);

int node__hours_start(struct node *n) {
  char path[NODE_PATH_BYTES_MAX + sizeof POLICY_FILE + 1], why[REASON_MAX], *text = NULL;
  size_t len = 0;
  n->hours = calloc(1, sizeof *n->hours);
  if (!n->hours) return MOMEDO_E_NOMEM;
  snprintf(path, sizeof path, "%s/%s", n->dir, POLICY_FILE);
  int rc = node_file_read(path, POLICY_FILE_BYTES_MAX, &text, &len);
  if (rc == MOMEDO_E_NOTFOUND) rc = 0, len = 0;
  else if (rc) node_log(NODE_LOG_ERROR, "%s: %s", path, momedo_strerror(rc));
  if (!rc && text) {
    rc = policy_set_parse(&n->hours->set, POLICY_FILE, text, len, node__tz_load, NULL, why,
                          sizeof why);
    if (rc) node_log(NODE_LOG_ERROR, "%s", why);
  }
  free(text);
  if (!rc) rc = node__hours_quiet_load(n);
  if (rc) return rc;
  if (n->hours->set.n)
    node_log(NODE_LOG_INFO, "working hours: %u policies, %u users assigned", n->hours->set.n,
             n->hours->set.n_users);
  uv_timer_init(n->loop, &n->hours->timer);
  n->hours->timer.data = n;
  n->hours->timer_open = 1;
  uv_timer_start(&n->hours->timer, on_tick, NODE_HOURS_TICK_MS, NODE_HOURS_TICK_MS);
  return 0;
}

void node__hours_stop(struct node *n) {
  if (!n->hours || !n->hours->timer_open) return;
  uv_timer_stop(&n->hours->timer);
  uv_close((uv_handle_t *)&n->hours->timer, NULL);
  n->hours->timer_open = 0;
}

void node__hours_free(struct node *n) {
  if (!n->hours) return;
  policy_set_free(&n->hours->set);
  node__hours_quiet_free(n->hours);
  free(n->hours);
  n->hours = NULL;
}

static const struct policy *policy_of_key(struct node *n, const uint8_t key[OBJ_KEY_LEN]) {
  uint8_t uid[IDS_USER_ID_BYTES];
  if (n->hours->set.n_users == 0 || ids_user_id_bits(uid, key) != 0) return NULL;
  int i = policy_set_user(&n->hours->set, uid);
  return i < 0 ? NULL : n->hours->set.p[i];
}

static const struct policy *conn_policy(struct node *n, struct conn *c) {
  if (!n->hours || !c->authed) return NULL;
  if (c->hours_gen != n->hours->gen + 1) { /* 0: never looked up */
    const struct policy *p = policy_of_key(n, c->identity_key);
    c->hours_policy = -1;
    for (uint32_t i = 0; p && i < n->hours->set.n; i++)
      if (n->hours->set.p[i] == p) c->hours_policy = (int)i;
    c->hours_gen = n->hours->gen + 1;
  }
  return c->hours_policy < 0 ? NULL : n->hours->set.p[c->hours_policy];
}

static int urgent(struct node *n, const struct policy *p, const uint8_t id[OBJ_ID_LEN]) {
  for (uint32_t i = 0; i < n->hours->urgent_n; i++)
    if (memcmp(n->hours->urgent[i].id, id, OBJ_ID_LEN) == 0 &&
        policy_names_sender(p, n->hours->urgent[i].uid))
      return 1;
  return 0;
}

/* Pushes to c go out now: its user's policy (if any) and own quiet hours (if any) are
 * both open. */
static int open_for(struct node *n, struct conn *c, uint64_t now) {
  const struct policy *p = conn_policy(n, c), *q = c->authed ? node__hours_quiet_of(n, c->identity_key) : NULL;
  return (!p || policy_is_open(p, now)) && (!q || policy_is_open(q, now));
}

/* The first instant >= now at which both p and q (either may be NULL) are open; 0 none. */
static uint64_t next_open_both(const struct policy *p, const struct policy *q, uint64_t now) {
  uint64_t t = now;
  for (int i = 0; i < 16 && t; i++) {
    uint64_t a = p ? policy_next_open(p, t) : t, b = q && a ? policy_next_open(q, a) : a;
    if (b == a) return a;
    t = b;
  }
  return 0;
}

int node__hours_hold(struct node *n, struct sub *s, const struct repl_action *a) {
  const struct policy *p = conn_policy(n, s->c);
  if (open_for(n, s->c, node__now_ms()) ||
      (p && (policy_names_channel(p, a->info.mailbox) || urgent(n, p, a->info.id))))
    return 0;
  if (s->n_held >= s->cap_held && s->n_held < NODE_HOURS_HELD_MAX) {
    uint32_t cap = s->cap_held ? 2 * s->cap_held : 16;
    uint64_t *v = realloc(s->held, cap * sizeof *v);
    if (!v) return 0; /* pushed now rather than lost from the release */
    s->held = v;
    s->cap_held = cap;
  }
  if (s->n_held < NODE_HOURS_HELD_MAX) {
    s->held[s->n_held++] = a->seq;
    n->hours->held_now++;
  } else {
    s->held_overflow = 1;
  }
  n->hours->held_total++;
  return 1;
}

const struct sub *node__hours_fetch_hold(struct conn *c, const uint8_t mailbox[OBJ_MAILBOX_LEN]) {
  for (size_t i = 0; i < c->n_subs; i++)
    if (c->subs[i]->n_held && memcmp(c->subs[i]->mailbox, mailbox, OBJ_MAILBOX_LEN) == 0)
      return c->subs[i];
  return NULL;
}

int node__hours_is_held(const struct sub *s, uint64_t seq) {
  if (s->n_held == 0) return 0;
  if (s->held_overflow && seq > s->held[s->n_held - 1]) return 1;
  uint32_t lo = 0, hi = s->n_held; /* seqs are held in storing order: ascending */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (s->held[mid] == seq) return 1;
    if (s->held[mid] < seq) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

void node__hours_sub_gone(struct node *n, struct sub *s) {
  if (n->hours) n->hours->held_now -= s->n_held;
  free(s->held);
  s->held = NULL;
  s->n_held = s->cap_held = 0;
}

void node__hours_posted(struct conn *c, const uint8_t id[static OBJ_ID_LEN]) {
  struct node_hours *h = c->n->hours;
  uint8_t uid[IDS_USER_ID_BYTES];
  if (!h || h->set.n == 0 || ids_user_id_bits(uid, c->identity_key) != 0) return;
  int named = 0;
  for (uint32_t i = 0; i < h->set.n && !named; i++) named = policy_names_sender(h->set.p[i], uid);
  if (!named) return;
  struct hours_urgent *u = &h->urgent[h->urgent_next];
  memcpy(u->id, id, OBJ_ID_LEN);
  memcpy(u->uid, uid, IDS_USER_ID_BYTES);
  h->urgent_next = (h->urgent_next + 1) % NODE_HOURS_URGENT_MAX;
  if (h->urgent_n < NODE_HOURS_URGENT_MAX) h->urgent_n++;
}

uint64_t node__hours_deliver_from(struct conn *c, const Momedo__PostReq *r, uint64_t now,
                                  int32_t *off_min) {
  struct node *n = c->n;
  uint8_t ik[OBJ_KEY_LEN], uid[IDS_USER_ID_BYTES];
  if (!n->hours || (n->hours->set.n_users == 0 && n->hours->n_quiet == 0) ||
      r->device_key.len != OBJ_KEY_LEN || node__device_get(n, r->device_key.data, ik, NULL) != 0)
    return 0;
  const struct policy *p = policy_of_key(n, ik), *q = node__hours_quiet_of(n, ik);
  if ((!p || policy_is_open(p, now)) && (!q || policy_is_open(q, now))) return 0;
  if (p && policy_names_channel(p, r->mailbox.data)) return 0;
  if (p && ids_user_id_bits(uid, c->identity_key) == 0 && policy_names_sender(p, uid)) return 0;
  uint64_t from = next_open_both(p, q, now);
  *off_min = from ? policy_utc_offset_min(p ? p : q, from) : 0;
  return from;
}

/* ---- the release ---- */

struct release_ctx {
  struct conn *c;
  struct sub *s;
  uint64_t want;                /* UINT64_MAX: every item */
  uint64_t last;
  uint32_t pushed;
};

static int push_one(void *vctx, uint64_t seq, const struct obj_info *info, const uint8_t *data,
                    size_t len) {
  struct release_ctx *x = vctx;
  x->last = seq;
  if (x->want != UINT64_MAX && seq != x->want) return 1; /* acknowledged meanwhile */
  node__push_event(x->c, x->s->mailbox, seq, info->kind, data, len);
  x->pushed++;
  return 0;
}

static void release(struct node *n, struct sub *s, uint64_t now) {
  struct release_ctx x = {.c = s->c, .s = s};
  for (uint32_t i = 0; i < s->n_held; i++) {
    x.want = s->held[i];
    if (repl_mailbox_fetch(n->repl, s->mailbox, s->held[i], 1, now, push_one, &x) < 0) break;
  }
  if (s->held_overflow && s->n_held) { /* everything after the last one remembered */
    x.want = UINT64_MAX;
    x.last = s->held[s->n_held - 1];
    for (int got = 1; got > 0 && !s->c->closing;)
      got = repl_mailbox_fetch(n->repl, s->mailbox, x.last + 1, NODE_FETCH_LIMIT_MAX, now,
                               push_one, &x);
  }
  n->hours->released_total += x.pushed;
  node_log(NODE_LOG_INFO, "working hours: %u held pushes released to a client",
           (unsigned)x.pushed);
  node__hours_sub_gone(n, s);
  s->held_overflow = 0;
}

static void on_tick(uv_timer_t *t) {
  struct node *n = t->data;
  if (n->hours->held_now == 0) return;
  uint64_t now = node__now_ms();
  for (struct conn *c = n->conns; c; c = c->next) {
    if (c->role != CONN_CLIENT || c->closing) continue;
    int open = -1;
    for (size_t i = 0; i < c->n_subs; i++) {
      if (!c->subs[i]->n_held) continue;
      if (open < 0) open = open_for(n, c, now);
      if (open) release(n, c->subs[i], now);
    }
  }
}
