/* admin/cmd_reload.c — `momedo-admin reload`: what SIGHUP does (reopen the log, re-read
 * momedo.conf and neighbors.conf), asked over the admin socket, so the answer says what
 * changed at once and what waits for a restart. */
#include "adm.h"

int adm_cmd_reload(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__ReloadReq rr = MOMEDO__RELOAD_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  if (optind != argc) return adm_usage(ctx);
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_RELOAD;
  req.reload = &rr;
  int rc = adm_call(ctx, &req, &resp);
  return rc ? rc : adm_ok_message(ctx, resp->reason);
}
