/* admin/cmd_participants.c — `momedo-admin participants` (registered devices) and
 * `momedo-admin participant remove DEVICE`. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "adm.h"
#include "hex.h"

void adm_participants_json(struct jsonw *j, const Momedo__ParticipantsResp *p) {
  jsonw_open(j, "participants", '[');
  for (size_t i = 0; i < p->n_participants; i++) {
    const Momedo__Participant *x = p->participants[i];
    jsonw_open(j, NULL, '{');
    jsonw_hex(j, "device_key", x->device_key.data, x->device_key.len);
    jsonw_hex(j, "identity_key", x->identity_key.data, x->identity_key.len);
    jsonw_str(j, "user_id", x->user_id);
    jsonw_u64(j, "registered_ms", x->registered_ms);
    jsonw_bool(j, "connected", x->connected);
    jsonw_close(j);
  }
  jsonw_close(j);
}

int adm_cmd_participants(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__ParticipantsReq pr = MOMEDO__PARTICIPANTS_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  if (optind != argc) return adm_usage(ctx);
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_PARTICIPANTS;
  req.participants = &pr;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_PARTICIPANTS)
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no participant list");
  const Momedo__ParticipantsResp *p = resp->participants;
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    adm_participants_json(&j, p);
    jsonw_end(&j);
    return ADM_EXIT_OK;
  }
  if (p->n_participants == 0) {
    printf("No devices registered yet. Create an invite with: momedo-admin --dir %s invite\n",
           ctx->dir);
    return ADM_EXIT_OK;
  }
  printf("%-18s %-27s %-17s %s\n", "DEVICE", "USER ID", "REGISTERED", "CONNECTED");
  for (size_t i = 0; i < p->n_participants; i++) {
    const Momedo__Participant *x = p->participants[i];
    char dev[65] = "", when[32] = "?";
    hex_encode(dev, sizeof dev, x->device_key.data, x->device_key.len > 8 ? 8 : x->device_key.len);
    time_t t = (time_t)(x->registered_ms / 1000);
    struct tm tm;
    if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    printf("%-18s %-27s %-17s %s\n", dev, x->user_id, when, x->connected ? "yes" : "no");
  }
  printf("\n%zu device%s. Remove one with: momedo-admin --dir %s participant remove DEVICE\n",
         p->n_participants, p->n_participants == 1 ? "" : "s", ctx->dir);
  return ADM_EXIT_OK;
}

int adm_cmd_participant(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__ParticipantRemoveReq pr = MOMEDO__PARTICIPANT_REMOVE_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  argc -= optind, argv += optind;
  if (argc != 2 || strcmp(argv[0], "remove") != 0) return adm_usage(ctx);
  pr.device = argv[1];
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_PARTICIPANT_REMOVE;
  req.participant_remove = &pr;
  int rc = adm_call(ctx, &req, &resp);
  if (rc) return rc;
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "message", resp->reason);
    jsonw_end(&j);
  } else {
    printf("%s\n", resp->reason);
  }
  return ADM_EXIT_OK;
}
