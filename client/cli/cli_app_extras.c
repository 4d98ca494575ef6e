/* client/cli/cli_app_extras.c — what `momedo app` adds for issue 13 part 4: a file's place
 * and caption (the photo with its location is one message), an approval task's decisions
 * (who, what, when, the comment) and a reply's decision in the page's JSON, the location
 * and caption of an uploaded file, and approving or declining a task from the page
 * through the engine (eng_task_decide). */
#include <microhttpd.h>
#include <string.h>

#include "cli_app.h"

static const char *decision_name(uint8_t d) {
  static const char *const names[] = {"", "approved", "declined", "accepted", "done"};
  return d <= TL_DEC_DONE ? names[d] : "";
}

/* One decision: by (user ID), name (the contact's, if named), decision, at_ms, comment. */
static cJSON *decision_json(struct eng_state *st, const struct tl_decision *d) {
  char uid[IDS_USER_ID_STR_MAX];
  cJSON *o = cJSON_CreateObject();
  if (ids_user_id(uid, d->who) != 0) uid[0] = '\0';
  int me = memcmp(d->who, eng_identity_key(st), TL_KEY_LEN) == 0;
  const struct contact *ct = eng_contact_by_key(st, d->who);
  cJSON_AddStringToObject(o, "by", uid);
  cJSON_AddBoolToObject(o, "me", me);
  cJSON_AddStringToObject(o, "name", ct && ct->name[0] ? ct->name : uid);
  cJSON_AddStringToObject(o, "decision", decision_name(d->decision));
  cJSON_AddNumberToObject(o, "at_ms", (double)d->ms);
  if (d->comment) cJSON_AddStringToObject(o, "comment", d->comment);
  return o;
}

void app_entry_extras(struct eng_state *st, cJSON *o, const struct tl_entry *e) {
  if (e->kind == TL_FILE && (e->flags & TL_F_LOCATION)) {
    cJSON_AddNumberToObject(o, "lat", e->lat);
    cJSON_AddNumberToObject(o, "lon", e->lon);
    if (e->acc >= 0) cJSON_AddNumberToObject(o, "acc", e->acc);
  }
  if (e->kind == TL_FILE && e->note) cJSON_AddStringToObject(o, "caption", e->note);
  if (e->kind == TL_TASK && (e->flags & TL_F_APPROVAL || e->n_dec)) {
    /* An approval task's decisions, or what a group's members did with a plain task
     * (each {decision: accepted | done}, who, when). */
    cJSON *a = cJSON_CreateArray();
    int mine = 0, approval = !!(e->flags & TL_F_APPROVAL);
    for (uint32_t i = 0; i < e->n_dec; i++) {
      cJSON_AddItemToArray(a, decision_json(st, &e->dec[i]));
      mine |= memcmp(e->dec[i].who, eng_identity_key(st), TL_KEY_LEN) == 0;
    }
    if (approval) {
      cJSON_AddBoolToObject(o, "approval", 1);
      cJSON_AddBoolToObject(o, "decided", mine); /* this user decided already */
    }
    cJSON_AddItemToObject(o, approval ? "decisions" : "actions", a);
  }
  if (e->kind == TL_TASK_REPLY && e->decision) {
    cJSON_AddStringToObject(o, "decision", decision_name(e->decision));
    if (e->note) cJSON_AddStringToObject(o, "comment", e->note);
  }
}

int app_file_extras(struct cli *rq, struct app_call *c, Momedo__File *f, Momedo__Location *l) {
  const cJSON *loc = cJSON_GetObjectItemCaseSensitive(c->body, "location");
  const cJSON *cap = cJSON_GetObjectItemCaseSensitive(c->body, "caption");
  int rc = 0;
  if ((loc && !cJSON_IsString(loc)) || (cap && !cJSON_IsString(cap)) ||
      (cap && (!cap->valuestring[0] || strlen(cap->valuestring) > CONTENT_CAPTION_BYTES_MAX))) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "location (\"LAT,LON\") and caption (1 "
              "to 4096 bytes) are strings");
    return MOMEDO_E_INVAL;
  }
  if (cap) f->caption = cap->valuestring;
  if (loc && loc->valuestring[0]) {
    rc = eng_parse_location(&rq->e, loc->valuestring, l);
    if (rc == 0) f->location = l;
  }
  if (rc) {
    app_error(c, MHD_HTTP_BAD_REQUEST, rc, rq->e.why);
    rq->e.why[0] = 0;
  }
  return rc;
}

void app_decide(struct app *a, struct app_call *c, int approve) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(c->body, "id");
  const cJSON *cm = cJSON_GetObjectItemCaseSensitive(c->body, "comment");
  uint8_t task_id[TL_ID_LEN], reply_id[TL_ID_LEN];
  char hex[2 * TL_ID_LEN + 1];
  struct contact *ct;
  if (!cJSON_IsString(id) || strlen(id->valuestring) != 2 * TL_ID_LEN ||
      (cm && !cJSON_IsString(cm))) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "id (32 hex digits) and an optional "
              "comment name a decision");
    return;
  }
  const char *comment = cm && cm->valuestring[0] ? cm->valuestring : NULL;
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc == 0)
    rc = eng_task_decide(&a->rq.e, a->st, id->valuestring, approve, comment, task_id,
                         reply_id, &ct);
  if (rc) {
    app_error(c, rc == MOMEDO_E_DENIED || rc == MOMEDO_E_EXISTS ? MHD_HTTP_CONFLICT : 0, rc,
              a->rq.e.why[0] ? a->rq.e.why : momedo_strerror(rc));
    a->rq.e.why[0] = 0;
  } else {
    tl_id_hex(hex, reply_id);
    c->out = cJSON_CreateObject();
    cJSON_AddBoolToObject(c->out, "ok", 1);
    cJSON_AddStringToObject(c->out, "id", hex);
    app_changed(a, -1);
  }
  eng_release(a->st);
}
