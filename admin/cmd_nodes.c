/* admin/cmd_nodes.c — `momedo-admin nodes`: the nodes this node knows from their signed
 * node records (scoped delivery), with the route to each (hops, next hop and an
 * equal-cost alternative), for people (a table) or scripts (--json). */
#include <inttypes.h>
#include <string.h>

#include "adm.h"

#define NODES_NO_ROUTE UINT32_MAX

static void print_json(struct adm_ctx *ctx, const Momedo__NodesResp *r) {
  struct jsonw j;
  jsonw_begin(&j, stdout);
  jsonw_bool(&j, "ok", 1);
  jsonw_open(&j, "nodes", '[');
  for (size_t i = 0; i < r->n_nodes; i++) {
    const Momedo__KnownNode *k = r->nodes[i];
    jsonw_open(&j, NULL, '{');
    jsonw_str(&j, "name", k->name);
    jsonw_hex(&j, "node_key", k->node_key.data, k->node_key.len);
    jsonw_str(&j, "fingerprint", k->fingerprint);
    jsonw_u64(&j, "seq", k->seq);
    jsonw_u64(&j, "expires_ms", k->expires_ms);
    jsonw_u64(&j, "neighbors", k->neighbors);
    jsonw_bool(&j, "route", k->hops != NODES_NO_ROUTE);
    jsonw_u64(&j, "hops", k->hops == NODES_NO_ROUTE ? 0 : k->hops);
    jsonw_str(&j, "next_hop", k->next_hop);
    jsonw_str(&j, "alt_hop", k->alt_hop);
    jsonw_close(&j);
  }
  jsonw_close(&j);
  jsonw_end(&j);
  (void)ctx;
}

int adm_cmd_nodes(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__NodesReq nr = MOMEDO__NODES_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  if (optind != argc) return adm_usage(ctx);
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_NODES;
  req.nodes = &nr;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_NODES)
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no node list");
  const Momedo__NodesResp *r = resp->nodes;
  if (ctx->json) {
    print_json(ctx, r);
    return ADM_EXIT_OK;
  }
  if (r->n_nodes == 0) {
    printf("No node records known (flood mode, or no neighbor up yet).\n");
    return ADM_EXIT_OK;
  }
  printf("%-24s %5s %-16s %-16s %6s  %s\n", "NODE", "HOPS", "NEXT HOP", "ALTERNATIVE", "LINKS",
         "FINGERPRINT");
  for (size_t i = 0; i < r->n_nodes; i++) {
    const Momedo__KnownNode *k = r->nodes[i];
    char hops[16];
    if (k->hops == NODES_NO_ROUTE)
      snprintf(hops, sizeof hops, "-");
    else
      snprintf(hops, sizeof hops, "%" PRIu32, k->hops);
    printf("%-24s %5s %-16s %-16s %6" PRIu32 "  %s\n", k->name[0] ? k->name : "(unnamed)", hops,
           k->next_hop[0] ? k->next_hop : (k->hops == 0 ? "(this node)" : "-"),
           k->alt_hop[0] ? k->alt_hop : "-", k->neighbors, k->fingerprint);
  }
  if (resp->reason && resp->reason[0]) printf("(%s)\n", resp->reason);
  return ADM_EXIT_OK;
}
