/* node/hours.h — working hours in momedod (docs/working-hours.md): the policies of
 * DIR/policies.conf (policy.h) applied to live pushes. Outside its user's hours a pushed
 * item is held (stored as always; fetches see it) and pushed when the hours start; the
 * sender's node answers a post with when it will be pushed. Only node/ includes this. */
#ifndef MOMEDO_NODE_HOURS_H
#define MOMEDO_NODE_HOURS_H

#include "admin.pb-c.h"
#include "node_int.h"
#include "policy.h"

#define NODE_HOURS_TICK_MS 1000        /* held pushes are checked this often */
#define NODE_HOURS_HELD_MAX 4096       /* held item seqs kept per subscription; beyond:
                                          everything after the last is pushed */
#define NODE_HOURS_URGENT_MAX 1024     /* recent posts by override senders remembered */

struct hours_urgent {
  uint8_t id[OBJ_ID_LEN];
  uint8_t uid[IDS_USER_ID_BYTES];
};

struct hours_quiet {
  uint8_t ik[OBJ_KEY_LEN];
  struct policy *p;
};

struct node_hours {
  struct policy_set set;
  uint64_t gen;                 /* bumped on every change of the set */
  uv_timer_t timer;
  int timer_open;
  struct hours_urgent urgent[NODE_HOURS_URGENT_MAX];
  uint32_t urgent_next, urgent_n;
  uint64_t held_now, held_total, released_total;
  struct hours_quiet *quiet;    /* users' own quiet hours (hours_quiet.c) */
  uint32_t n_quiet;
};

/* Load DIR/policies.conf (missing: no policies) and start the tick; E_CONFIG with the
 * file:line logged. stop: closes the tick; free: after the loop. */
MOMEDO_WUR int node__hours_start(struct node *n);
void node__hours_stop(struct node *n);
void node__hours_free(struct node *n);

/* A zone from TZ_DIR_DEFAULT (ctx unused): the policy_zone_fn of the node. */
int node__tz_load(void *ctx, const char *tz, struct tz_zone *z, char *why, size_t why_cap);

/* 1 if the push of a's item to s is held now (remembered for the release), else 0. */
int node__hours_hold(struct node *n, struct sub *s, const struct repl_action *a);
/* Working hours for a fetch on c (docs/working-hours.md): c's own subscription of mailbox
 * while it holds pushes (its fetches skip them, as a listening app in the background
 * must not show them), else NULL — a fetch on any other connection gets everything. */
const struct sub *node__hours_fetch_hold(struct conn *c, const uint8_t mailbox[OBJ_MAILBOX_LEN]);
/* 1 if seq is one of s's held pushes (or past them when more were held than kept). */
int node__hours_is_held(const struct sub *s, uint64_t seq);
/* A subscription goes away: forget what it held. */
void node__hours_sub_gone(struct node *n, struct sub *s);
/* A post by c to r's mailbox was stored as item id: remember an override sender's. */
void node__hours_posted(struct conn *c, const uint8_t id[static OBJ_ID_LEN]);
/* When the recipient device of r (registered here, with a policy) gets live pushes again:
 * 0 for now; else the instant, and *off_min its zone's UTC offset then. */
uint64_t node__hours_deliver_from(struct conn *c, const Momedo__PostReq *r, uint64_t now,
                                  int32_t *off_min);

/* hours_quiet.c: users' own quiet hours. load: at start (after the set); of: the user's,
 * or NULL; c_quiet: QuietReq. */
MOMEDO_WUR int node__hours_quiet_load(struct node *n);
void node__hours_quiet_free(struct node_hours *h);
const struct policy *node__hours_quiet_of(struct node *n, const uint8_t ik[OBJ_KEY_LEN]);
int node__c_quiet(struct conn *c, const Momedo__ClientRequest *rq, Momedo__ClientResponse *rs,
                  char *why, size_t why_cap);

/* Read DIR/policies.conf again (reload, SIGHUP): 0 and the new set in effect, or the
 * error with "policies.conf:LINE: ..." in why and the set in effect kept. */
MOMEDO_WUR int node__hours_reload(struct node *n, char *why, size_t why_cap);

/* Admin: PolicySetReq, PolicyAssignReq, PolicyRemoveReq, PolicyListReq; the status part. */
int node__a_policy(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                   char *why, size_t why_cap);
MOMEDO_WUR int node__hours_status(struct node *n, Momedo__StatusResp *out);

#endif
