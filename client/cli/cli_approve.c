/* client/cli/cli_approve.c — approvals (issue 13 part 4, "repair released after
 * sign-off") for the command line: `task approve|decline MSGID [--comment TEXT]` on a
 * task sent with `send --task --approval`, to a contact or a group, and how decisions
 * are shown (JSON fields, words after a line). The rule for received decisions is the
 * engine's (client/core/engine_approve.c). */
#include <string.h>

#include "cli.h"

/* The reply's content and the check of it as our own outgoing decision. */
static int decide_prepare(struct cli *c, struct eng_state *st, const struct hist_found *f,
                          int approve, const char *comment) {
  struct tl_entry probe;
  char why[ENG_WHY_MAX];
  memset(&probe, 0, sizeof probe);
  probe.kind = TL_TASK_REPLY;
  probe.outgoing = 1;
  probe.decision = approve ? TL_DEC_APPROVED : TL_DEC_DECLINED;
  memcpy(probe.ref, f->e.id, TL_ID_LEN);
  memcpy(probe.from, st->acct.identity.pub, TL_KEY_LEN);
  probe.note = (char *)comment;
  if (f->e.kind != TL_TASK) return cli_fail(c, MOMEDO_E_INVAL, "%s is not a task", c->pos[1]);
  if (f->kind != HIST_CONTACT && f->kind != HIST_GROUP)
    return cli_fail(c, MOMEDO_E_INVAL, "tasks are decided with a contact or in a group");
  int rc = eng__hist_tx(st);
  if (rc == 0) rc = eng__decide(st, f->kind, &f->conv, &probe, 1, why, sizeof why);
  if (rc == MOMEDO_E_EXISTS)
    return cli_fail(c, rc, "you %s this task already", approve ? "approved" : "declined");
  if (rc == MOMEDO_E_DENIED) return cli_fail(c, rc, "%s", why);
  if (rc) return cli_fail(c, rc, "cannot read the task: %s", momedo_strerror(rc));
  return 0;
}

static int decide_send(struct cli *c, struct eng_state *st, const struct hist_found *f,
                       struct contact *ct, Momedo__Content *m, uint8_t id[static TL_ID_LEN]) {
  struct eng_conn cn;
  size_t n_env = 0;
  memset(&cn, 0, sizeof cn);
  int rc = eng_connect(&c->e, st, &cn);
  if (rc == 0 && f->kind == HIST_CONTACT) {
    rc = eng_deliver(&c->e, st, &cn, ct->uid, m, NULL, 0, id, &n_env);
  } else if (rc == 0) {
    struct eng_group *cg = eng__group_by_id(st, f->key);
    rc = cg ? eng_group_send(&c->e, st, &cn, cg, m, NULL, 0, id)
            : cli_fail(c, MOMEDO_E_NOTFOUND, "the task's group is not on this device");
  }
  if (cn.open) {
    char why[ENG_WHY_MAX];
    snprintf(why, sizeof why, "%s", c->e.why);
    int r2 = eng_save(&c->e, st);
    if (rc) snprintf(c->e.why, sizeof c->e.why, "%s", why);
    else rc = r2;
  }
  eng_conn_close(&cn);
  return rc;
}

int cli_task_decision(struct cli *c, struct eng_state *st, const char *hex, int approve,
                      const char *comment, uint8_t task_id[static TL_ID_LEN],
                      uint8_t reply_id[static TL_ID_LEN], struct contact **ct) {
  struct hist_found f;
  *ct = NULL;
  if (comment && (!comment[0] || strlen(comment) > CONTENT_COMMENT_BYTES_MAX))
    return cli_fail(c, MOMEDO_E_INVAL, "the comment must be 1..%u bytes",
                    (unsigned)CONTENT_COMMENT_BYTES_MAX);
  memset(&f, 0, sizeof f);
  int rc = eng__find_any(&c->e, st, hex, ct, 1, &f);
  if (rc == 0) rc = decide_prepare(c, st, &f, approve, comment);
  memcpy(task_id, f.e.id, TL_ID_LEN);
  Momedo__TaskReply r = MOMEDO__TASK_REPLY__INIT;
  r.task_id = (ProtobufCBinaryData){TL_ID_LEN, task_id};
  /* The action is what a client from before approvals shows: "accept" / "decline". */
  r.action = approve ? MOMEDO__TASK_REPLY__ACTION__ACCEPT : MOMEDO__TASK_REPLY__ACTION__DECLINE;
  r.decision = approve ? MOMEDO__TASK_REPLY__DECISION__APPROVED
                       : MOMEDO__TASK_REPLY__DECISION__DECLINED;
  r.comment = (char *)(comment ? comment : "");
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  m.body_case = MOMEDO__CONTENT__BODY_TASK_REPLY;
  m.task_reply = &r;
  if (rc == 0) rc = decide_send(c, st, &f, *ct, &m, reply_id);
  tl_entry_clear(&f.e);
  return rc;
}

int cli__task_decide(struct cli *c) {
  struct eng_state st;
  struct contact *ct = NULL;
  uint8_t id[TL_ID_LEN], task_id[TL_ID_LEN];
  int approve = strcmp(c->pos[0], "approve") == 0;
  const char *comment = c->opt[CO_COMMENT];
  int rc = cli_open(c, &st, 1);
  if (rc) return rc;
  rc = cli_task_decision(c, &st, c->pos[1], approve, comment, task_id, id, &ct);
  if (rc == 0) {
    char hex[2 * TL_ID_LEN + 1];
    tl_id_hex(hex, task_id);
    if (c->json) {
      struct jsonw j;
      jsonw_begin(&j, stdout);
      jsonw_bool(&j, "ok", 1);
      jsonw_str(&j, "task_id", hex);
      jsonw_str(&j, "decision", approve ? "approved" : "declined");
      jsonw_str_or_null(&j, "comment", comment);
      jsonw_end(&j);
    } else {
      printf("task %.12s: %s (sent to %s)\n", hex, approve ? "approved" : "declined",
             ct ? contact_label(ct) : "the group");
    }
  }
  eng_close(&st);
  return rc;
}

/* ---- showing a file's place and caption, a task's decisions, a reply's decision ---- */

static const char *decision_name(uint8_t d) {
  return d == TL_DEC_APPROVED ? "approved" : d == TL_DEC_DECLINED ? "declined" : "none";
}

void cli__json_location(struct jsonw *j, const struct tl_entry *e) {
  jsonw_open(j, "location", '{');
  jsonw_fixed(j, "lat", e->lat, 7);
  jsonw_fixed(j, "lon", e->lon, 7);
  if (e->acc >= 0) jsonw_fixed(j, "accuracy", e->acc, 2);
  else jsonw_null(j, "accuracy");
  jsonw_close(j);
}

void cli__json_extras(struct jsonw *j, const struct tl_entry *e) {
  char uid[IDS_USER_ID_STR_MAX];
  if (e->kind == TL_FILE) {
    if (e->flags & TL_F_LOCATION) cli__json_location(j, e);
    jsonw_str_or_null(j, "caption", e->note);
  }
  if (e->kind == TL_TASK) {
    jsonw_bool(j, "approval", !!(e->flags & TL_F_APPROVAL));
    if (e->flags & TL_F_APPROVAL) {
      jsonw_open(j, "decisions", '[');
      for (uint32_t i = 0; i < e->n_dec; i++) {
        const struct tl_decision *d = &e->dec[i];
        if (ids_user_id(uid, d->who) != 0) uid[0] = '\0';
        jsonw_open(j, NULL, '{');
        jsonw_str(j, "by", uid);
        jsonw_str(j, "decision", decision_name(d->decision));
        jsonw_u64(j, "at_ms", d->ms);
        jsonw_str_or_null(j, "comment", d->comment);
        jsonw_close(j);
      }
      jsonw_close(j);
    }
  }
  if (e->kind == TL_TASK_REPLY && e->decision) {
    jsonw_str(j, "decision", decision_name(e->decision));
    jsonw_str_or_null(j, "comment", e->note);
  }
}

void cli__print_extras(FILE *f, const struct tl_entry *e) {
  char uid[IDS_USER_ID_STR_MAX], when[32];
  if (e->kind == TL_FILE && (e->flags & TL_F_LOCATION)) {
    fprintf(f, " at %.6f, %.6f", e->lat, e->lon);
    if (e->acc >= 0) fprintf(f, " (+/- %.0f m)", e->acc);
    fprintf(f, " https://www.openstreetmap.org/?mlat=%.6f&mlon=%.6f", e->lat, e->lon);
  }
  if (e->kind == TL_FILE && e->note) fprintf(f, " \"%s\"", e->note);
  if (e->kind == TL_TASK && (e->flags & TL_F_APPROVAL)) {
    fprintf(f, " {approval:");
    if (e->n_dec == 0) fprintf(f, " none yet");
    for (uint32_t i = 0; i < e->n_dec; i++) {
      const struct tl_decision *d = &e->dec[i];
      if (ids_user_id(uid, d->who) != 0) uid[0] = '\0';
      eng__format_time(when, d->ms);
      fprintf(f, "%s %s by %s at %s", i ? ";" : "", decision_name(d->decision), uid, when);
      if (d->comment) fprintf(f, " \"%s\"", d->comment);
    }
    fputc('}', f);
  }
  if (e->kind == TL_TASK_REPLY && e->decision) {
    fprintf(f, " (%s)", decision_name(e->decision));
    if (e->note) fprintf(f, " \"%s\"", e->note);
  }
}
