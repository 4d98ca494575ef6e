/* node/hours_quiet.c — users' own quiet hours on top of working hours
 * (docs/working-hours.md): any device of a user sends QuietReq with weekdays, hours and a
 * zone; the node keeps them under the user's identity key ('N' 'q', node-local, never
 * replicated) and holds pushes while either the policy or the user's own hours are
 * closed — stricter than the policy, never looser. */
#include <stdlib.h>
#include <string.h>

#include "hours.h"
#include "log.h"

#define QUIET_VALUE_MAX (POLICY_DAYS_CHARS_MAX + POLICY_HOURS_CHARS_MAX + TZ_NAME_CHARS_MAX + 3)

/* "DAYS HOURS TZ" into a policy named after nothing in particular ("own"). */
static int quiet_make(struct policy *p, const char *text, char *why, size_t cap) {
  char buf[QUIET_VALUE_MAX + 1], *save = NULL;
  snprintf(buf, sizeof buf, "%s", text);
  char *d = strtok_r(buf, " ", &save), *h = strtok_r(NULL, " ", &save);
  char *z = strtok_r(NULL, " ", &save);
  if (!d || !h || !z || strtok_r(NULL, " ", &save)) {
    reason_set(why, cap, "quiet hours need days, hours and a time zone");
    return MOMEDO_E_INVAL;
  }
  return policy_make(p, "own", d, h, z, node__tz_load, NULL, why, cap);
}

const struct policy *node__hours_quiet_of(struct node *n, const uint8_t ik[OBJ_KEY_LEN]) {
  struct node_hours *h = n->hours;
  for (uint32_t i = 0; h && i < h->n_quiet; i++)
    if (memcmp(h->quiet[i].ik, ik, OBJ_KEY_LEN) == 0) return h->quiet[i].p;
  return NULL;
}

/* Put (p non-NULL) or drop the user's entry in memory. */
static int quiet_put(struct node_hours *h, const uint8_t ik[OBJ_KEY_LEN], struct policy *p) {
  for (uint32_t i = 0; i < h->n_quiet; i++) {
    if (memcmp(h->quiet[i].ik, ik, OBJ_KEY_LEN) != 0) continue;
    policy_free(h->quiet[i].p);
    if (p) h->quiet[i].p = p;
    else h->quiet[i] = h->quiet[--h->n_quiet];
    return 0;
  }
  if (!p) return 0;
  if (h->n_quiet >= POLICY_USERS_MAX) return MOMEDO_E_BOUNDS;
  memcpy(h->quiet[h->n_quiet].ik, ik, OBJ_KEY_LEN);
  h->quiet[h->n_quiet++].p = p;
  return 0;
}

static int load_one(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  struct node *n = ctx;
  char text[QUIET_VALUE_MAX + 1], why[REASON_MAX];
  struct policy *p = calloc(1, sizeof *p);
  if (!p) return MOMEDO_E_NOMEM;
  if (kn != 2 + OBJ_KEY_LEN || vn > QUIET_VALUE_MAX) {
    free(p);
    return 0;
  }
  memcpy(text, v, vn);
  text[vn] = '\0';
  if (quiet_make(p, text, why, sizeof why) != 0 || quiet_put(n->hours, k + 2, p) != 0) {
    node_log(NODE_LOG_WARN, "working hours: a user's quiet hours are not used: %s", why);
    policy_free(p);
  }
  return 0;
}

int node__hours_quiet_load(struct node *n) {
  n->hours->quiet = calloc(POLICY_USERS_MAX, sizeof *n->hours->quiet);
  if (!n->hours->quiet) return MOMEDO_E_NOMEM;
  int rc = node__iter_tag(n, NODE_K_QUIET, load_one, n);
  return rc < 0 ? rc : 0;
}

void node__hours_quiet_free(struct node_hours *h) {
  for (uint32_t i = 0; h->quiet && i < h->n_quiet; i++) policy_free(h->quiet[i].p);
  free(h->quiet);
  h->quiet = NULL;
  h->n_quiet = 0;
}

int node__c_quiet(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                  char *why, size_t cap) {
  struct node *n = c->n;
  const Momedo__QuietReq *r = rq->quiet;
  char text[QUIET_VALUE_MAX + 1];
  uint8_t k[2 + OBJ_KEY_LEN];
  struct policy *p = NULL;
  (void)rs;
  if (!c->authed) return reason_fail(why, cap, MOMEDO_E_AUTH, "authenticate first");
  node__key_tag(k, NODE_K_QUIET);
  memcpy(k + 2, c->identity_key, OBJ_KEY_LEN);
  int rc = 0, off = !*r->days && !*r->hours && !*r->tz;
  if (!off) {
    if (strlen(r->days) > POLICY_DAYS_CHARS_MAX || strlen(r->hours) > POLICY_HOURS_CHARS_MAX ||
        strlen(r->tz) > TZ_NAME_CHARS_MAX)
      return reason_fail(why, cap, MOMEDO_E_BOUNDS, "days, hours or time zone too long");
    snprintf(text, sizeof text, "%s %s %s", r->days, r->hours, r->tz);
    if (!(p = calloc(1, sizeof *p))) return MOMEDO_E_NOMEM;
    rc = quiet_make(p, text, why, cap);
    if (!rc && node__hours_quiet_of(n, c->identity_key) == NULL &&
        n->hours->n_quiet >= POLICY_USERS_MAX)
      rc = reason_fail(why, cap, MOMEDO_E_BOUNDS, "this node keeps quiet hours for at most %d "
                       "users", POLICY_USERS_MAX);
    if (!rc) rc = store_put1(n->store, k, sizeof k, text, strlen(text));
  } else {
    rc = store_del1(n->store, k, sizeof k);
  }
  if (!rc) rc = quiet_put(n->hours, c->identity_key, p);
  else policy_free(p);
  if (!rc) n->hours->gen++;
  return rc;
}
