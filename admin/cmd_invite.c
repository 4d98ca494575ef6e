/* admin/cmd_invite.c — `momedo-admin invite`: ask the node for an invite code (node
 * address, node key and a registration token with a number of uses and an expiry);
 * `invites` lists the open ones by ID and `invite revoke ID` ends one. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adm.h"


void adm_invite_json(struct jsonw *j, const Momedo__InviteResp *r) {
  jsonw_str(j, "code", r->code);
  jsonw_str(j, "token", r->token);
  jsonw_u64(j, "uses", r->uses);
  jsonw_u64(j, "expires_ms", r->expires_ms);
  jsonw_str(j, "address", r->address);
  jsonw_str(j, "id", r->id);
}

void adm_invites_json(struct jsonw *j, const Momedo__InviteListResp *l) {
  jsonw_open(j, "invites", '[');
  for (size_t i = 0; i < l->n_invites; i++) {
    jsonw_open(j, NULL, '{');
    jsonw_str(j, "id", l->invites[i]->id);
    jsonw_u64(j, "uses_left", l->invites[i]->uses_left);
    jsonw_u64(j, "expires_ms", l->invites[i]->expires_ms);
    jsonw_close(j);
  }
  jsonw_close(j);
}

static int invite_revoke(struct adm_ctx *ctx, const char *id) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__InviteRevokeReq rr = MOMEDO__INVITE_REVOKE_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  rr.id = (char *)id;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_INVITE_REVOKE;
  req.invite_revoke = &rr;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  return adm_ok_message(ctx, resp->reason);
}

int adm_cmd_invite(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__InviteReq inv = MOMEDO__INVITE_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  static const struct option opts[] = {{"uses", required_argument, NULL, 'u'},
                                       {"expires", required_argument, NULL, 'e'},
                                       {"address", required_argument, NULL, 'a'},
                                       {0}};
  int c;
  while ((c = adm_getopt(ctx, argc, argv, opts)) != -1) {
    if (c == 'u') {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (!isdigit((unsigned char)*optarg) || *end || v < 1 || v > ADM_INVITE_USES_MAX)
        return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL,
                        "--uses must be a number from 1 to %u", ADM_INVITE_USES_MAX);
      inv.uses = (uint32_t)v;
    } else if (c == 'e') {
      if (adm_parse_duration(optarg, &inv.expires_s) != 0)
        return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL,
                        "--expires takes a duration such as 30m, 12h, 7d or 2w");
    } else if (c == 'a') {
      inv.address = optarg;
    } else {
      return ADM_EXIT_USAGE;
    }
  }
  if (optind + 2 == argc && strcmp(argv[optind], "revoke") == 0)
    return invite_revoke(ctx, argv[optind + 1]);
  if (optind != argc) return adm_usage(ctx);
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_INVITE;
  req.invite = &inv;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_INVITE)
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no invite");
  const Momedo__InviteResp *r = resp->invite;
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    adm_invite_json(&j, r);
    jsonw_end(&j);
    return ADM_EXIT_OK;
  }
  char when[64] = "?";
  time_t t = (time_t)(r->expires_ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
  printf("Invite code (valid for %u registration%s until %s; clients connect to %s):\n\n"
         "  %s\n\n"
         "Give this code to the people who should join. Anyone holding it can register a\n"
         "device until it is used up or expires. End it early with:\n"
         "  momedo-admin invite revoke %s\n",
         r->uses, r->uses == 1 ? "" : "s", when, r->address, r->code, r->id);
  return ADM_EXIT_OK;
}

static void fmt_when(char *buf, size_t cap, uint64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  snprintf(buf, cap, "?");
  if (localtime_r(&t, &tm)) strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
}

int adm_cmd_invites(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__InviteListReq lr = MOMEDO__INVITE_LIST_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  if (optind != argc) return adm_usage(ctx);
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_INVITE_LIST;
  req.invite_list = &lr;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_INVITES)
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no invite list");
  const Momedo__InviteListResp *l = resp->invites;
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    adm_invites_json(&j, l);
    jsonw_end(&j);
    return ADM_EXIT_OK;
  }
  if (l->n_invites == 0) {
    printf("No open invites. Make one with: momedo-admin invite --uses 30 --expires 7d\n");
    return ADM_EXIT_OK;
  }
  printf("%-16s %9s  %s\n", "INVITE", "USES LEFT", "EXPIRES");
  for (size_t i = 0; i < l->n_invites; i++) {
    char when[64];
    fmt_when(when, sizeof when, l->invites[i]->expires_ms);
    printf("%-16s %9u  %s\n", l->invites[i]->id, l->invites[i]->uses_left, when);
  }
  printf("\nEnd one early with: momedo-admin invite revoke INVITE\n");
  return ADM_EXIT_OK;
}
