/* client/core/engine_decide.c — sending an approval decision (issue 13 part 4): approve
 * or decline a task sent with an approval request, to its contact or in its group. The
 * decision is first checked as a received one would be (eng__decide, dry), so this
 * device never sends what its own rule would refuse; then sent, stored and saved. */
#include <string.h>

#include "engine_int.h"

/* The reply's content and the check of it as our own outgoing decision. */
static int decide_prepare(struct eng *c, struct eng_state *st, const char *hex,
                          const struct hist_found *f, int approve, const char *comment) {
  struct tl_entry probe;
  char why[ENG_WHY_MAX];
  memset(&probe, 0, sizeof probe);
  probe.kind = TL_TASK_REPLY;
  probe.outgoing = 1;
  probe.decision = approve ? TL_DEC_APPROVED : TL_DEC_DECLINED;
  memcpy(probe.ref, f->e.id, TL_ID_LEN);
  memcpy(probe.from, st->acct.identity.pub, TL_KEY_LEN);
  probe.note = (char *)comment;
  if (f->e.kind != TL_TASK) return eng_fail(c, MOMEDO_E_INVAL, "%s is not a task", hex);
  if (f->kind != HIST_CONTACT && f->kind != HIST_GROUP)
    return eng_fail(c, MOMEDO_E_INVAL, "tasks are decided with a contact or in a group");
  int rc = eng__hist_tx(st);
  if (rc == 0) rc = eng__decide(st, f->kind, &f->conv, &probe, 1, why, sizeof why);
  if (rc == MOMEDO_E_EXISTS)
    return eng_fail(c, rc, "you %s this task already", approve ? "approved" : "declined");
  if (rc == MOMEDO_E_DENIED) return eng_fail(c, rc, "%s", why);
  if (rc) return eng_fail(c, rc, "cannot read the task: %s", momedo_strerror(rc));
  return 0;
}

int eng__reply_send(struct eng *c, struct eng_state *st, const struct hist_found *f,
                    struct contact *ct, Momedo__Content *m, uint8_t id[static TL_ID_LEN]) {
  struct eng_conn cn;
  size_t n_env = 0;
  memset(&cn, 0, sizeof cn);
  int rc = eng_connect(c, st, &cn);
  if (rc == 0 && f->kind == HIST_CONTACT) {
    rc = eng_deliver(c, st, &cn, ct->uid, m, NULL, 0, id, &n_env);
  } else if (rc == 0) {
    struct eng_group *cg = eng_group_by_id(st, f->key);
    rc = cg ? eng_group_send(c, st, &cn, cg, m, NULL, 0, id)
            : eng_fail(c, MOMEDO_E_NOTFOUND, "the task's group is not on this device");
  }
  if (cn.open) {
    char why[ENG_WHY_MAX];
    snprintf(why, sizeof why, "%s", c->why);
    int r2 = eng_save(c, st);
    if (rc) snprintf(c->why, sizeof c->why, "%s", why);
    else rc = r2;
  }
  eng_conn_close(&cn);
  return rc;
}

int eng_task_decide(struct eng *c, struct eng_state *st, const char *hex, int approve,
                    const char *comment, uint8_t task_id[static TL_ID_LEN],
                    uint8_t reply_id[static TL_ID_LEN], struct contact **ct) {
  struct hist_found f;
  *ct = NULL;
  if (comment && (!comment[0] || strlen(comment) > CONTENT_COMMENT_BYTES_MAX))
    return eng_fail(c, MOMEDO_E_INVAL, "the comment must be 1..%u bytes",
                    (unsigned)CONTENT_COMMENT_BYTES_MAX);
  memset(&f, 0, sizeof f);
  int rc = eng_find_any(c, st, hex, ct, 1, &f);
  if (rc == 0) rc = decide_prepare(c, st, hex, &f, approve, comment);
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
  if (rc == 0) rc = eng__reply_send(c, st, &f, *ct, &m, reply_id);
  tl_entry_clear(&f.e);
  return rc;
}

