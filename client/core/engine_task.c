/* client/core/engine_task.c — accepting a task and marking it done (`momedo task
 * accept|done`, the page's Accept / Done): a contact's task as before (its state moves
 * on both sides), a group's plain task by any member but its sender, checked first as a
 * received reply would be (eng__decide, dry: engine_approve.c), so this device never
 * sends what its own rule would refuse. */
#include <string.h>

#include "engine_int.h"

static int act_check(struct eng *c, struct eng_state *st, const char *hex,
                     const struct hist_found *f, int done) {
  struct tl_entry probe;
  char why[ENG_WHY_MAX];
  if (f->e.kind != TL_TASK) return eng_fail(c, MOMEDO_E_INVAL, "%s is not a task", hex);
  if (f->kind == HIST_CONTACT) return 0;
  if (f->kind != HIST_GROUP)
    return eng_fail(c, MOMEDO_E_INVAL, "tasks are accepted from a contact or in a group");
  memset(&probe, 0, sizeof probe);
  probe.kind = TL_TASK_REPLY;
  probe.outgoing = 1;
  probe.task_state = done ? TL_TASK_DONE : TL_TASK_ACCEPTED;
  memcpy(probe.ref, f->e.id, TL_ID_LEN);
  memcpy(probe.from, st->acct.identity.pub, TL_KEY_LEN);
  int rc = eng__hist_tx(st);
  if (rc == 0) rc = eng__decide(st, HIST_GROUP, &f->conv, &probe, 1, why, sizeof why);
  if (rc == MOMEDO_E_EXISTS)
    return eng_fail(c, rc, "you %s this task already", done ? "marked done" : "accepted");
  if (rc == MOMEDO_E_DENIED) return eng_fail(c, rc, "%s", why);
  return rc ? eng_fail(c, rc, "cannot read the task: %s", momedo_strerror(rc)) : 0;
}

int eng_task_act(struct eng *c, struct eng_state *st, const char *hex, int done,
                 uint8_t task_id[static TL_ID_LEN], uint8_t reply_id[static TL_ID_LEN],
                 char *to, size_t to_cap) {
  struct hist_found f;
  struct contact *ct = NULL;
  struct eng_group *cg = NULL;
  memset(&f, 0, sizeof f);
  int rc = eng_find_any(c, st, hex, &ct, 1, &f);
  if (rc == 0) rc = act_check(c, st, hex, &f, done);
  if (rc == 0 && f.kind == HIST_GROUP && !(cg = eng_group_by_id(st, f.key)))
    rc = eng_fail(c, MOMEDO_E_NOTFOUND, "the task's group is not on this device");
  if (rc == 0) memcpy(task_id, f.e.id, TL_ID_LEN);
  if (rc) {
    tl_entry_clear(&f.e);
    return rc;
  }
  snprintf(to, to_cap, "%s", cg ? eng_group_name(cg) : contact_label(ct));
  Momedo__TaskReply r = MOMEDO__TASK_REPLY__INIT;
  r.task_id = (ProtobufCBinaryData){TL_ID_LEN, task_id};
  r.action = done ? MOMEDO__TASK_REPLY__ACTION__DONE : MOMEDO__TASK_REPLY__ACTION__ACCEPT;
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  m.body_case = MOMEDO__CONTENT__BODY_TASK_REPLY;
  m.task_reply = &r;
  rc = eng__reply_send(c, st, &f, ct, &m, reply_id);
  tl_entry_clear(&f.e);
  return rc;
}
