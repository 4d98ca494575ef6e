/* admin/cmd_neighbor.c — `momedo-admin neighbor add|list|remove`. The node checks the
 * values, rewrites neighbors.conf atomically and connects or disconnects at once. */
#include <string.h>

#include "adm.h"

static int ok_message(struct adm_ctx *ctx, const Momedo__AdminResponse *resp,
                      const char *name, const char *what) {
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "neighbor", name);
    jsonw_str(&j, "action", what);
    jsonw_str(&j, "message", resp->reason);
    jsonw_end(&j);
  } else {
    printf("%s\n", resp->reason && *resp->reason ? resp->reason : "done");
  }
  return ADM_EXIT_OK;
}

int adm_cmd_neighbor(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__NeighborAddReq add = MOMEDO__NEIGHBOR_ADD_REQ__INIT;
  Momedo__NeighborRemoveReq rm = MOMEDO__NEIGHBOR_REMOVE_REQ__INIT;
  Momedo__NeighborListReq ls = MOMEDO__NEIGHBOR_LIST_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  static const struct option opts[] = {{"partner", no_argument, NULL, 'p'}, {0}};
  int rc, c, partner = 0;
  while ((c = adm_getopt(ctx, argc, argv, opts)) != -1) {
    if (c != 'p') return ADM_EXIT_USAGE;
    partner = 1;
  }
  argc -= optind - 1, argv += optind - 1; /* argv[1] is the action */
  if (argc >= 2 && strcmp(argv[1], "add") == 0 && argc == 5) {
    add.name = argv[2];
    add.address = argv[3];
    add.fingerprint = argv[4];
    add.partner = partner;
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_ADD;
    req.neighbor_add = &add;
    rc = adm_call(ctx, &req, &resp);
    return rc ? rc : ok_message(ctx, resp, argv[2], "added");
  }
  if (argc >= 2 && strcmp(argv[1], "remove") == 0 && argc == 3) {
    rm.name = argv[2];
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_REMOVE;
    req.neighbor_remove = &rm;
    rc = adm_call(ctx, &req, &resp);
    return rc ? rc : ok_message(ctx, resp, argv[2], "removed");
  }
  if (argc == 2 && strcmp(argv[1], "list") == 0) {
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_LIST;
    req.neighbor_list = &ls;
    rc = adm_call(ctx, &req, &resp);
    if (rc) return rc;
    if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_NEIGHBORS)
      return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no neighbor list");
    struct jsonw j;
    if (ctx->json) {
      jsonw_begin(&j, stdout);
      jsonw_bool(&j, "ok", 1);
    }
    adm_print_neighbors(ctx, &j, resp->neighbors->n_neighbors, resp->neighbors->neighbors);
    if (ctx->json) jsonw_end(&j);
    return ADM_EXIT_OK;
  }
  return adm_usage(ctx);
}
