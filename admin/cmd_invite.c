/* admin/cmd_invite.c — `momedo-admin invite`: ask the node for an invite code (node
 * address, node key and a registration token with a number of uses and an expiry). */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adm.h"

#define INVITE_USES_MAX 100000u

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
      if (!isdigit((unsigned char)*optarg) || *end || v < 1 || v > INVITE_USES_MAX)
        return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL,
                        "--uses must be a number from 1 to %u", INVITE_USES_MAX);
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
  if (optind != argc) return adm_usage(ctx);
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_INVITE;
  req.invite = &inv;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_INVITE)
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no invite");
  const Momedo__InviteResp *r = resp->invite;
  if (ctx->json) {
    struct adm_json j;
    adm_json_begin(&j, stdout);
    adm_json_bool(&j, "ok", 1);
    adm_json_str(&j, "code", r->code);
    adm_json_str(&j, "token", r->token);
    adm_json_u64(&j, "uses", r->uses);
    adm_json_u64(&j, "expires_ms", r->expires_ms);
    adm_json_str(&j, "address", r->address);
    adm_json_end(&j);
    return ADM_EXIT_OK;
  }
  char when[64] = "?";
  time_t t = (time_t)(r->expires_ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
  printf("Invite code (valid for %u registration%s until %s; clients connect to %s):\n\n"
         "  %s\n\n"
         "Give this code to the people who should join. Anyone holding it can register a\n"
         "device until it is used up or expires.\n",
         r->uses, r->uses == 1 ? "" : "s", when, r->address, r->code);
  return ADM_EXIT_OK;
}
