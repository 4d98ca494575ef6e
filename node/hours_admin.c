/* node/hours_admin.c — `momedo-admin policy ...` on the node's side (hours.h): set,
 * assign, remove and list working-hours policies, and their part of `status`. Every
 * change is written to DIR/policies.conf (atomically) before it is answered; should the
 * write fail, the set is read back from the file, so memory and disk agree. A reload
 * (SIGHUP) reads the file again; a bad file leaves the policies in effect. */
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "hours.h"
#include "log.h"

static char *adup(struct node *n, const char *s) {
  size_t l = strlen(s);
  char *p = arena_alloc(&n->arena, l + 1);
  if (p) memcpy(p, s, l + 1);
  return p;
}

int node__hours_reload(struct node *n, char *why, size_t cap) {
  char path[NODE_PATH_BYTES_MAX + sizeof POLICY_FILE + 1], *text = NULL;
  size_t len = 0;
  if (!n->hours) return 0;
  struct policy_set *fresh = calloc(1, sizeof *fresh);
  if (!fresh) return MOMEDO_E_NOMEM;
  snprintf(path, sizeof path, "%s/%s", n->dir, POLICY_FILE);
  int rc = node_file_read(path, POLICY_FILE_BYTES_MAX, &text, &len);
  if (rc == MOMEDO_E_NOTFOUND) rc = 0, len = 0;
  if (!rc) rc = policy_set_parse(fresh, POLICY_FILE, text ? text : "", len, node__tz_load,
                                 NULL, why, cap);
  free(text);
  if (!rc) {
    policy_set_free(&n->hours->set);
    n->hours->set = *fresh;
  }
  free(fresh);
  n->hours->gen++;
  return rc;
}

static int save(struct node *n, char *why, size_t cap) {
  char path[NODE_PATH_BYTES_MAX + sizeof POLICY_FILE + 1], *text = NULL;
  size_t len = 0;
  n->hours->gen++;
  snprintf(path, sizeof path, "%s/%s", n->dir, POLICY_FILE);
  int rc = policy_set_format(&n->hours->set, &text, &len);
  if (!rc) rc = node_file_write_atomic(path, text, len, 0600);
  free(text);
  if (rc) {
    node_log(NODE_LOG_ERROR, "cannot write %s: %s", path, momedo_strerror(rc));
    reason_set(why, cap, "cannot write %s: %s (nothing changed)", POLICY_FILE,
               momedo_strerror(rc));
    if (node__hours_reload(n, NULL, 0) != 0) node_log(NODE_LOG_ERROR, "cannot read %s back", path);
  }
  return rc;
}

static int build(const Momedo__PolicySetReq *r, struct policy *p, char *why, size_t cap) {
  if (r->n_holidays > POLICY_HOLIDAYS_MAX || r->n_senders > POLICY_SENDERS_MAX ||
      r->n_channels > POLICY_CHANNELS_MAX) {
    reason_set(why, cap, "at most %d holidays, %d senders and %d channels per policy",
               POLICY_HOLIDAYS_MAX, POLICY_SENDERS_MAX, POLICY_CHANNELS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  int rc = policy_make(p, r->name, r->days, r->hours, r->tz, node__tz_load, NULL, why, cap);
  for (size_t i = 0; !rc && i < r->n_holidays; i++) rc = policy_add_holiday(p, r->holidays[i], why, cap);
  for (size_t i = 0; !rc && i < r->n_senders; i++) rc = policy_add_sender(p, r->senders[i], why, cap);
  for (size_t i = 0; !rc && i < r->n_channels; i++) rc = policy_add_channel(p, r->channels[i], why, cap);
  return rc;
}

static int a_set(struct node *n, const Momedo__PolicySetReq *r, char *why, size_t cap) {
  struct policy *p = calloc(1, sizeof *p); /* policy_free-able before build fills it */
  if (!p) return MOMEDO_E_NOMEM;
  int rc = build(r, p, why, cap);
  if (!rc) rc = policy_set_put(&n->hours->set, p, why, cap);
  if (rc) {
    policy_free(p);
    return rc;
  }
  return save(n, why, cap);
}

static int info_lists(struct node *n, const struct policy *p, Momedo__PolicyInfo *o) {
  char v[2 * POLICY_CHANNEL_LEN + 1];
  o->holidays = arena_alloc(&n->arena, (p->n_holidays + 1) * sizeof(char *));
  o->senders = arena_alloc(&n->arena, (p->n_senders + 1) * sizeof(char *));
  o->channels = arena_alloc(&n->arena, (p->n_channels + 1) * sizeof(char *));
  if (!o->holidays || !o->senders || !o->channels) return MOMEDO_E_NOMEM;
  for (uint32_t k = 0; k < p->n_holidays; k++) {
    policy_date_format(v, p->holidays[k]);
    if (!(o->holidays[o->n_holidays++] = adup(n, v))) return MOMEDO_E_NOMEM;
  }
  for (uint32_t k = 0; k < p->n_senders; k++) {
    if (ids_user_id_format(v, p->senders[k]) != 0) continue;
    if (!(o->senders[o->n_senders++] = adup(n, v))) return MOMEDO_E_NOMEM;
  }
  for (uint32_t k = 0; k < p->n_channels; k++) {
    hex_encode(v, sizeof v, p->channels[k], POLICY_CHANNEL_LEN);
    if (!(o->channels[o->n_channels++] = adup(n, v))) return MOMEDO_E_NOMEM;
  }
  return 0;
}

static Momedo__PolicyInfo *info(struct node *n, uint32_t i, int users, uint64_t now) {
  const struct policy *p = n->hours->set.p[i];
  Momedo__PolicyInfo *o = arena_alloc(&n->arena, sizeof *o);
  char days[POLICY_DAYS_CHARS_MAX], hours[POLICY_HOURS_CHARS_MAX + 1], v[IDS_USER_ID_STR_MAX];
  if (!o) return NULL;
  momedo__policy_info__init(o);
  policy_days_format(days, p->days);
  policy_hours_format(hours, p->start_min, p->end_min);
  o->name = adup(n, p->name);
  o->days = adup(n, days);
  o->hours = adup(n, hours);
  o->tz = adup(n, p->tz);
  if (!o->name || !o->days || !o->hours || !o->tz || info_lists(n, p, o) != 0) return NULL;
  o->open_now = policy_is_open(p, now);
  o->next_open_ms = o->open_now ? 0 : policy_next_open(p, now);
  o->utc_offset_min = policy_utc_offset_min(p, now);
  if (!users) return o;
  o->users = arena_alloc(&n->arena, (n->hours->set.n_users + 1) * sizeof(char *));
  if (!o->users) return NULL;
  for (uint32_t k = 0; k < n->hours->set.n_users; k++)
    if (n->hours->set.users[k].policy == i && ids_user_id_format(v, n->hours->set.users[k].uid) == 0)
      if (!(o->users[o->n_users++] = adup(n, v))) return NULL;
  return o;
}

static Momedo__PolicyListResp *list(struct node *n, const char *name, int users) {
  struct node_hours *h = n->hours;
  Momedo__PolicyListResp *out = arena_alloc(&n->arena, sizeof *out);
  if (!out) return NULL;
  momedo__policy_list_resp__init(out);
  out->policies = arena_alloc(&n->arena, (h->set.n + 1) * sizeof *out->policies);
  if (!out->policies) return NULL;
  uint64_t now = node__now_ms();
  for (uint32_t i = 0; i < h->set.n; i++) {
    if (name && *name && strcmp(name, h->set.p[i]->name) != 0) continue;
    if (!(out->policies[out->n_policies++] = info(n, i, users, now))) return NULL;
  }
  out->pushes_held = h->held_now;
  out->pushes_held_total = h->held_total;
  out->pushes_released_total = h->released_total;
  return out;
}

int node__hours_status(struct node *n, Momedo__StatusResp *s) {
  if (!n->hours) return 0;
  return (s->hours = list(n, NULL, 0)) ? 0 : MOMEDO_E_NOMEM;
}

int node__a_policy(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                   char *why, size_t cap) {
  const char *name = NULL;
  int rc = 0;
  switch (rq->body_case) {
  case MOMEDO__ADMIN_REQUEST__BODY_POLICY_SET:
    rc = a_set(n, rq->policy_set, why, cap);
    name = rq->policy_set->name;
    if (!rc) node_log(NODE_LOG_INFO, "working hours: policy %s set", name);
    break;
  case MOMEDO__ADMIN_REQUEST__BODY_POLICY_ASSIGN:
    rc = policy_set_assign(&n->hours->set, rq->policy_assign->name, rq->policy_assign->user_id,
                           why, cap);
    if (!rc) rc = save(n, why, cap);
    name = rq->policy_assign->name;
    break;
  case MOMEDO__ADMIN_REQUEST__BODY_POLICY_REMOVE:
    rc = policy_set_remove(&n->hours->set, rq->policy_remove->name, why, cap);
    if (!rc) rc = save(n, why, cap);
    if (!rc) reason_set(why, cap, "policy %s removed", rq->policy_remove->name);
    return rc;
  default:
    name = rq->policy_list->name;
    if (*name && policy_set_find(&n->hours->set, name) < 0) {
      reason_set(why, cap, "no policy called \"%.40s\"", name);
      return MOMEDO_E_NOTFOUND;
    }
  }
  if (rc) return rc;
  if (!(rs->policies = list(n, name && *name ? name : NULL, 1))) return MOMEDO_E_NOMEM;
  rs->body_case = MOMEDO__ADMIN_RESPONSE__BODY_POLICIES;
  return 0;
}
