/* admin/cmd_status.c — `momedo-admin status`: the node's links, object counts, backlog
 * per neighbor, traffic and uptime, for people (a table) or scripts (--json). */
#include <inttypes.h>
#include <string.h>

#include "adm.h"
#include "os.h"

void adm_neighbors_json(struct jsonw *j, size_t n, Momedo__NeighborStatus **v) {
  jsonw_open(j, "neighbors", '[');
  for (size_t i = 0; i < n; i++) {
    jsonw_open(j, NULL, '{');
    jsonw_str(j, "name", v[i]->name);
    jsonw_str(j, "address", v[i]->address);
    jsonw_str(j, "fingerprint", v[i]->fingerprint);
    jsonw_str(j, "state", v[i]->state);
    jsonw_str(j, "last_error", v[i]->last_error);
    jsonw_u64(j, "state_since_ms", v[i]->state_since_ms);
    jsonw_u64(j, "backlog", v[i]->backlog);
    jsonw_u64(j, "bytes_in", v[i]->bytes_in);
    jsonw_u64(j, "bytes_out", v[i]->bytes_out);
    jsonw_bool(j, "inbound", v[i]->inbound);
    jsonw_u64(j, "last_seen_ms", v[i]->last_seen_ms);
    jsonw_u64(j, "objects_in", v[i]->objects_in);
    jsonw_u64(j, "objects_out", v[i]->objects_out);
    jsonw_bool(j, "partner", v[i]->partner);
    jsonw_u64(j, "ingest_refused", v[i]->ingest_refused);
    jsonw_u64(j, "recon_refused", v[i]->recon_refused);
    jsonw_close(j);
  }
  jsonw_close(j);
}

void adm_print_neighbors(struct adm_ctx *ctx, struct jsonw *j, size_t n,
                         Momedo__NeighborStatus **v) {
  char in[32], out[32], since[32];
  uint64_t now_ms = os_wall_ms();
  if (ctx->json) {
    adm_neighbors_json(j, n, v);
    return;
  }
  if (n == 0) {
    printf("No neighbors. Add one with: momedo-admin --dir %s neighbor add NAME HOST:PORT "
           "FINGERPRINT\n", ctx->dir);
    return;
  }
  printf("%-16s %-11s %-8s %-22s %8s %10s %10s  %s\n", "NEIGHBOR", "STATE", "FOR", "ADDRESS",
         "BACKLOG", "IN", "OUT", "NOTE");
  for (size_t i = 0; i < n; i++) {
    adm_fmt_bytes(in, sizeof in, v[i]->bytes_in);
    adm_fmt_bytes(out, sizeof out, v[i]->bytes_out);
    uint64_t s = v[i]->state_since_ms && now_ms > v[i]->state_since_ms
                     ? (now_ms - v[i]->state_since_ms) / 1000 : 0;
    adm_fmt_duration(since, sizeof since, s);
    printf("%-16s %-11s %-8s %-22s %8" PRIu64 " %10s %10s  %s\n", v[i]->name, v[i]->state,
           since, v[i]->address, v[i]->backlog, in, out, v[i]->last_error);
  }
}

static const char *kind_label(const char *kind) {
  static const char *const map[][2] = {{"key_bundle", "key bundles"},
                                       {"ozone_item", "messages waiting"},
                                       {"tombstone", "delivery receipts"},
                                       {"chunk", "attachment chunks"},
                                       {"alias", "aliases"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(kind, map[i][0]) == 0) return map[i][1];
  return kind;
}

static void print_human(struct adm_ctx *ctx, const Momedo__StatusResp *s) {
  char up[32], in[32], out[32];
  adm_fmt_duration(up, sizeof up, s->uptime_s);
  adm_fmt_bytes(in, sizeof in, s->bytes_in);
  adm_fmt_bytes(out, sizeof out, s->bytes_out);
  printf("Node %s (%s), up %s\n", s->name, s->version, up);
  printf("  fingerprint:  %s\n", s->fingerprint);
  printf("  listening on: %s\n", s->listen);
  printf("  clients connected: %u, registered devices: %u, open invites: %u\n",
         s->clients_connected, s->participants, s->invites_active);
  printf("  stored:");
  for (size_t i = 0; i < s->n_objects; i++)
    printf("%s %" PRIu64 " %s", i ? "," : "", s->objects[i]->count,
           kind_label(s->objects[i]->kind));
  char disk[32];
  adm_fmt_bytes(disk, sizeof disk, s->disk_bytes);
  printf("; disk use %s\n", s->disk_bytes ? disk : "unknown");
  if (s->delivery)
    printf("  delivery: %s; %" PRIu64 " objects held as a destination, %" PRIu64
           " in transit, %" PRIu64 " cached by lookups; %" PRIu64 " nodes known, %" PRIu64
           " with a route\n", s->delivery->mode, s->delivery->dest_objects,
           s->delivery->transit_objects, s->delivery->cached_objects, s->delivery->records,
           s->delivery->routes);
  printf("  traffic: %s in, %s out; %" PRIu64 " invalid objects dropped, %" PRIu64
         " connections refused\n\n",
         in, out, s->objects_invalid, s->peers_refused);
  if (s->hours && s->hours->n_policies) {
    adm_print_policies(s->hours, 0);
    printf("\n");
  }
  adm_print_neighbors(ctx, NULL, s->n_neighbors, s->neighbors);
}

void adm_status_json(struct jsonw *j, const Momedo__StatusResp *s) {
  jsonw_str(j, "name", s->name);
  jsonw_str(j, "fingerprint", s->fingerprint);
  jsonw_hex(j, "node_key", s->node_key.data, s->node_key.len);
  jsonw_str(j, "listen", s->listen);
  jsonw_str(j, "version", s->version);
  jsonw_u64(j, "uptime_s", s->uptime_s);
  jsonw_u64(j, "clients_connected", s->clients_connected);
  jsonw_u64(j, "participants", s->participants);
  jsonw_u64(j, "invites_active", s->invites_active);
  jsonw_u64(j, "bytes_in", s->bytes_in);
  jsonw_u64(j, "bytes_out", s->bytes_out);
  jsonw_u64(j, "objects_invalid", s->objects_invalid);
  jsonw_u64(j, "peers_refused", s->peers_refused);
  jsonw_u64(j, "start_ms", s->start_ms);
  jsonw_u64(j, "store_bytes", s->store_bytes);
  jsonw_u64(j, "disk_bytes", s->disk_bytes);
  jsonw_str(j, "metrics_listen", s->metrics_listen);
  jsonw_open(j, "objects", '{');
  uint64_t total = 0;
  for (size_t i = 0; i < s->n_objects; i++) {
    jsonw_u64(j, s->objects[i]->kind, s->objects[i]->count);
    total += s->objects[i]->count;
  }
  jsonw_u64(j, "total", total);
  jsonw_close(j);
  const Momedo__DeliveryStatus *d = s->delivery;
  jsonw_u64(j, "transit", d ? d->transit_objects : 0);
  if (d) {
    jsonw_open(j, "delivery", '{');
    jsonw_str(j, "mode", d->mode);
    jsonw_u64(j, "dest_objects", d->dest_objects);
    jsonw_u64(j, "dest_bytes", d->dest_bytes);
    jsonw_u64(j, "transit_objects", d->transit_objects);
    jsonw_u64(j, "transit_bytes", d->transit_bytes);
    jsonw_u64(j, "cached_objects", d->cached_objects);
    jsonw_u64(j, "pending_dests", d->pending_dests);
    jsonw_u64(j, "transit_done", d->transit_done);
    jsonw_u64(j, "records", d->records);
    jsonw_u64(j, "routes", d->routes);
    jsonw_u64(j, "grants_sent", d->grants_sent);
    jsonw_u64(j, "acks_recv", d->acks_recv);
    jsonw_u64(j, "lookups_started", d->lookups_started);
    jsonw_u64(j, "lookups_found", d->lookups_found);
    jsonw_u64(j, "lookups_notfound", d->lookups_notfound);
    jsonw_u64(j, "lookup_queries_answered", d->lookup_queries_answered);
    jsonw_u64(j, "global_posts", d->global_posts);
    jsonw_close(j);
  }
  adm_neighbors_json(j, s->n_neighbors, s->neighbors);
  if (s->hours) {
    jsonw_open(j, "working_hours", '{');
    adm_policies_json(j, s->hours, 0);
    jsonw_close(j);
  }
}

int adm_cmd_status(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__StatusReq sr = MOMEDO__STATUS_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  if (optind != argc) return adm_usage(ctx);
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_STATUS;
  req.status = &sr;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_NODE_STATUS)
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no status");
  const Momedo__StatusResp *s = resp->node_status;
  if (!ctx->json) {
    print_human(ctx, s);
    return ADM_EXIT_OK;
  }
  struct jsonw j;
  jsonw_begin(&j, stdout);
  jsonw_bool(&j, "ok", 1);
  adm_status_json(&j, s);
  jsonw_end(&j);
  return ADM_EXIT_OK;
}
