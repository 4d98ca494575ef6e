/* client/cli/cli_approve.c — approvals (issue 13 part 4, "repair released after
 * sign-off") for the command line: `task approve|decline MSGID [--comment TEXT]` on a
 * task sent with `send --task --approval`, to a contact or a group, and how decisions
 * are shown (JSON fields, words after a line). Sending a decision and the rule for
 * received ones are the engine's (client/core/engine_decide.c, engine_approve.c). */
#include <string.h>

#include "cli.h"

int cli__task_decide(struct cli *c) {
  struct eng_state *st = NULL;
  struct contact *ct = NULL;
  uint8_t id[TL_ID_LEN], task_id[TL_ID_LEN];
  int approve = strcmp(c->pos[0], "approve") == 0;
  const char *comment = c->opt[CO_COMMENT];
  int rc = cli_open(c, &st, 1);
  if (rc == 0) rc = eng_task_decide(&c->e, st, c->pos[1], approve, comment, task_id, id, &ct);
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
  eng_state_free(st);
  return rc;
}

/* ---- showing a file's place and caption, a task's decisions, a reply's decision ---- */

static const char *decision_name(uint8_t d) {
  static const char *const names[] = {"none", "approved", "declined", "accepted", "done"};
  return d <= TL_DEC_DONE ? names[d] : "none";
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
    /* An approval task's decisions; a plain task's actions (a group's members: who
     * accepted it and who marked it done; a contact's task keeps only its state). */
    int approval = !!(e->flags & TL_F_APPROVAL);
    jsonw_bool(j, "approval", approval);
    jsonw_open(j, approval ? "decisions" : "actions", '[');
    for (uint32_t i = 0; i < e->n_dec; i++) {
      const struct tl_decision *d = &e->dec[i];
      if (ids_user_id(uid, d->who) != 0) uid[0] = '\0';
      jsonw_open(j, NULL, '{');
      jsonw_str(j, "by", uid);
      jsonw_str(j, approval ? "decision" : "action", decision_name(d->decision));
      jsonw_u64(j, "at_ms", d->ms);
      if (approval) jsonw_str_or_null(j, "comment", d->comment);
      jsonw_close(j);
    }
    jsonw_close(j);
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
  if (e->kind == TL_TASK && ((e->flags & TL_F_APPROVAL) || e->n_dec)) {
    fprintf(f, " {%s:", e->flags & TL_F_APPROVAL ? "approval" : "members");
    if (e->n_dec == 0) fprintf(f, " none yet");
    for (uint32_t i = 0; i < e->n_dec; i++) {
      const struct tl_decision *d = &e->dec[i];
      if (ids_user_id(uid, d->who) != 0) uid[0] = '\0';
      eng_format_time(when, d->ms);
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
