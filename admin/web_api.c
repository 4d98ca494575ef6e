/* admin/web_api.c — the console's API: a route table, one handler per route, each one
 * admin-socket exchange (adm_rpc) answered as JSON built with the same functions as
 * `momedo-admin --json` prints (status, participants, invites), so the two never
 * disagree. Invites made here keep their code (struct web) for the QR code and print. */
#include <stdlib.h>
#include <string.h>

#include "adm.h"
#include "web.h"

/* One exchange with the node; on failure c is answered with the error. 0 on success. */
static int call(struct web *w, struct web_call *c, Momedo__AdminRequest *req,
                Momedo__AdminResponse **resp, int want_body) {
  char why[REASON_MAX] = "";
  int rc = adm_rpc(w->dir, req, &w->arena, resp, why, sizeof why);
  if (rc) {
    web_error(c, 0, rc, why);
    return rc;
  }
  if (want_body && (int)(*resp)->body_case != want_body) {
    web_error(c, 0, MOMEDO_E_PROTO, "the node answered with something else");
    return MOMEDO_E_PROTO;
  }
  return 0;
}

/* {"ok":true, ...fill...} into c->out; fill may be NULL. */
static void answer_ok(struct web_call *c, const char *message,
                      void (*fill)(struct jsonw *, const void *), const void *arg) {
  struct jsonw j;
  jsonw_begin(&j, NULL);
  jsonw_bool(&j, "ok", 1);
  if (message) jsonw_str(&j, "message", message);
  if (fill) fill(&j, arg);
  c->out = jsonw_take(&j);
  if (!c->out) web_error(c, 0, MOMEDO_E_NOMEM, NULL);
}

static void fill_status(struct jsonw *j, const void *s) { adm_status_json(j, s); }
static void fill_participants(struct jsonw *j, const void *p) {
  adm_participants_json(j, p);
}
static void fill_invites(struct jsonw *j, const void *l) { adm_invites_json(j, l); }
static void fill_invite(struct jsonw *j, const void *r) {
  const struct web_invite *x = r;
  jsonw_str(j, "id", x->id);
  jsonw_str(j, "code", x->code);
  jsonw_u64(j, "uses", x->uses);
  jsonw_u64(j, "expires_ms", x->expires_ms);
}

static void api_status(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__StatusReq sr = MOMEDO__STATUS_REQ__INIT;
  Momedo__AdminResponse *resp;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_STATUS;
  req.status = &sr;
  if (call(w, c, &req, &resp, MOMEDO__ADMIN_RESPONSE__BODY_NODE_STATUS) == 0)
    answer_ok(c, NULL, fill_status, resp->node_status);
}

static void api_participants(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__ParticipantsReq pr = MOMEDO__PARTICIPANTS_REQ__INIT;
  Momedo__AdminResponse *resp;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_PARTICIPANTS;
  req.participants = &pr;
  if (call(w, c, &req, &resp, MOMEDO__ADMIN_RESPONSE__BODY_PARTICIPANTS) == 0)
    answer_ok(c, NULL, fill_participants, resp->participants);
}

static const struct web_invite *kept_invite(const struct web *w, const char *id) {
  for (size_t i = 0; id && *id && i < w->invites_n; i++)
    if (strcmp(w->invites[i].id, id) == 0) return &w->invites[i];
  return NULL;
}

/* The node's open invites; those made in this console say so ("printable"). */
static void api_invites(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__InviteListReq lr = MOMEDO__INVITE_LIST_REQ__INIT;
  Momedo__AdminResponse *resp;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_INVITE_LIST;
  req.invite_list = &lr;
  if (call(w, c, &req, &resp, MOMEDO__ADMIN_RESPONSE__BODY_INVITES) != 0) return;
  answer_ok(c, NULL, fill_invites, resp->invites);
  cJSON *arr = c->out ? cJSON_GetObjectItemCaseSensitive(c->out, "invites") : NULL;
  size_t i = 0;
  for (cJSON *x = arr ? arr->child : NULL; x; x = x->next, i++)
    cJSON_AddBoolToObject(x, "printable",
                          kept_invite(w, resp->invites->invites[i]->id) != NULL);
}

static void api_invite_get(struct web *w, struct web_call *c) {
  const struct web_invite *x = kept_invite(w, c->id);
  if (!x) {
    web_error(c, 0, MOMEDO_E_NOTFOUND, "no invite with this ID was made in this console");
    return;
  }
  answer_ok(c, NULL, fill_invite, x);
}

static void api_qr(struct web *w, struct web_call *c) {
  const struct web_invite *x = kept_invite(w, c->id);
  if (!x) {
    web_error(c, 0, MOMEDO_E_NOTFOUND, "no invite with this ID was made in this console");
    return;
  }
  int rc = web_qr_svg(x->code, &c->raw, &c->raw_len);
  if (rc) {
    web_error(c, 0, rc, "cannot draw the QR code");
    return;
  }
  c->raw_type = "image/svg+xml";
}

static void keep_invite(struct web *w, const Momedo__InviteResp *r) {
  struct web_invite *x = &w->invites[w->invites_next];
  memset(x, 0, sizeof *x);
  snprintf(x->id, sizeof x->id, "%s", r->id);
  snprintf(x->code, sizeof x->code, "%s", r->code);
  x->uses = r->uses;
  x->expires_ms = r->expires_ms;
  w->invites_next = (w->invites_next + 1) % WEB_INVITES_KEPT_MAX;
  if (w->invites_n < WEB_INVITES_KEPT_MAX) w->invites_n++;
}

static void api_invite_create(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__InviteReq inv = MOMEDO__INVITE_REQ__INIT;
  Momedo__AdminResponse *resp;
  inv.uses = c->req->uses;
  inv.expires_s = c->req->expires_s;
  inv.address = (char *)c->req->address;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_INVITE;
  req.invite = &inv;
  if (call(w, c, &req, &resp, MOMEDO__ADMIN_RESPONSE__BODY_INVITE) != 0) return;
  if (strlen(resp->invite->id) > WEB_INVITE_ID_MAX ||
      strlen(resp->invite->code) >= INVITE_STR_MAX) {
    web_error(c, 0, MOMEDO_E_PROTO, "the node's invite is longer than expected");
    return;
  }
  keep_invite(w, resp->invite);
  answer_ok(c, NULL, fill_invite, kept_invite(w, resp->invite->id));
}

/* The node's sentence for a change that worked. */
static void simple_change(struct web *w, struct web_call *c, Momedo__AdminRequest *req) {
  Momedo__AdminResponse *resp;
  if (call(w, c, req, &resp, 0) == 0) answer_ok(c, resp->reason ? resp->reason : "", NULL, NULL);
}

static void api_neighbor_add(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__NeighborAddReq add = MOMEDO__NEIGHBOR_ADD_REQ__INIT;
  add.name = (char *)c->req->name;
  add.address = (char *)c->req->address;
  add.fingerprint = (char *)c->req->fingerprint;
  add.partner = c->req->partner;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_ADD;
  req.neighbor_add = &add;
  simple_change(w, c, &req);
}

static void api_neighbor_remove(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__NeighborRemoveReq rm = MOMEDO__NEIGHBOR_REMOVE_REQ__INIT;
  rm.name = (char *)c->req->name;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_REMOVE;
  req.neighbor_remove = &rm;
  simple_change(w, c, &req);
}

static void api_invite_revoke(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__InviteRevokeReq rr = MOMEDO__INVITE_REVOKE_REQ__INIT;
  rr.id = (char *)c->req->id;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_INVITE_REVOKE;
  req.invite_revoke = &rr;
  simple_change(w, c, &req);
}

static void api_participant_remove(struct web *w, struct web_call *c) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__ParticipantRemoveReq pr = MOMEDO__PARTICIPANT_REMOVE_REQ__INIT;
  pr.device = (char *)c->req->device;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_PARTICIPANT_REMOVE;
  req.participant_remove = &pr;
  simple_change(w, c, &req);
}

const struct web_route web_routes[] = {
    {"GET", "/api/status", api_status, -1},
    {"GET", "/api/participants", api_participants, -1},
    {"GET", "/api/invites", api_invites, -1},
    {"GET", "/api/invite", api_invite_get, -1},
    {"GET", "/qr.svg", api_qr, -1},
    {"POST", "/api/neighbors/add", api_neighbor_add, WEB_REQ_NEIGHBOR_ADD},
    {"POST", "/api/neighbors/remove", api_neighbor_remove, WEB_REQ_NEIGHBOR_REMOVE},
    {"POST", "/api/invites/create", api_invite_create, WEB_REQ_INVITE},
    {"POST", "/api/invites/revoke", api_invite_revoke, WEB_REQ_INVITE_REVOKE},
    {"POST", "/api/participants/remove", api_participant_remove, WEB_REQ_PARTICIPANT_REMOVE},
};
const size_t web_routes_n = sizeof web_routes / sizeof web_routes[0];
