/* client/core/engine_approve.c — the rules that put a reply on its task.
 * An approval decision: only a recipient of the task decides, once; a decision on an
 * unknown task, on one that asks for none, from the task's sender or conflicting with
 * the decider's earlier one is refused (a notice).
 * A group's plain task: any member but its sender may accept it ("I take it") and mark
 * it done; each does each once, every action is kept with who and when, and the task's
 * state is the furthest any member took it (done > accepted > open). Members apply the
 * same replies whatever order they arrive in and end with the same task: the actions
 * are a set, the state only grows. */
#include <string.h>

#include "engine_int.h"


/* May e's replier decide on task t? A contact's task: the side that did not send it
 * (the peer on ours, we - from any of our devices - on theirs). A group's: any member
 * but its sender (group items are authenticated: e->from is the real sender). */
static int decider_may(const struct eng_state *st, enum hist_conv_kind kind,
                       const struct tl_entry *t, const struct tl_entry *e) {
  char uid[IDS_USER_ID_STR_MAX];
  if (kind == HIST_CONTACT) return t->outgoing != e->outgoing;
  if (kind != HIST_GROUP) return 0;
  if (t->outgoing) return memcmp(e->from, st->acct.identity.pub, TL_KEY_LEN) != 0;
  if (ids_user_id(uid, e->from) != 0 || !t->due) return 0;
  return strcmp(uid, t->due) != 0; /* group rows: due holds the sender's user ID */
}

static const struct tl_decision *decision_of(const struct tl_entry *t,
                                             const uint8_t who[static TL_KEY_LEN]) {
  for (uint32_t i = 0; i < t->n_dec; i++)
    if (memcmp(t->dec[i].who, who, TL_KEY_LEN) == 0) return &t->dec[i];
  return NULL;
}

/* Accept / done on a group's plain task (e: a task reply without a decision). */
static int group_act(struct eng_state *st, const struct hist_conv *hc, struct tl_entry *t,
                     int64_t row, const struct tl_entry *e, int dry, const char *hex,
                     char *why, size_t why_cap) {
  if (t->kind != TL_TASK || (t->flags & TL_F_APPROVAL)) {
    snprintf(why, why_cap, "%.12s is not a task to accept (%s)", hex,
             t->kind == TL_TASK ? "it asks for approval: approve or decline it" : "not a task");
    return MOMEDO_E_DENIED;
  }
  if (e->task_state != TL_TASK_ACCEPTED && e->task_state != TL_TASK_DONE) {
    snprintf(why, why_cap, "a reply on task %.12s says neither accept nor done", hex);
    return MOMEDO_E_DENIED;
  }
  if (!decider_may(st, HIST_GROUP, t, e)) {
    snprintf(why, why_cap, "task %.12s is accepted and done by the members it was sent to, "
             "not by its sender", hex);
    return MOMEDO_E_DENIED;
  }
  struct tl_decision d = {.decision = e->task_state == TL_TASK_DONE ? TL_DEC_DONE
                                                                    : TL_DEC_ACCEPTED,
                          .ms = e->sent_ms};
  memcpy(d.who, e->from, TL_KEY_LEN);
  for (uint32_t i = 0; i < t->n_dec; i++)
    if (!memcmp(t->dec[i].who, d.who, TL_KEY_LEN) && t->dec[i].decision == d.decision)
      return MOMEDO_E_EXISTS;
  if (dry) return 0;
  int rc = tl_entry_add_decision(t, &d);
  if (rc == MOMEDO_E_TOOBIG) {
    snprintf(why, why_cap, "task %.12s holds %d actions already", hex, TL_DECISIONS_MAX);
    return MOMEDO_E_DENIED;
  }
  if (rc) return rc;
  if (e->task_state > t->task_state) t->task_state = e->task_state;
  return hist_set(&st->hist, hc, row, t);
}

int eng__decide(struct eng_state *st, enum hist_conv_kind kind, const struct hist_conv *hc,
                const struct tl_entry *e, int dry, char *why, size_t why_cap) {
  struct tl_entry t;
  int64_t row;
  char hex[2 * TL_ID_LEN + 1];
  const struct tl_decision *was;
  tl_id_hex(hex, e->ref);
  why[0] = '\0';
  int rc = hist_get(&st->hist, hc, e->ref, &t, &row);
  if (rc == MOMEDO_E_NOTFOUND) {
    snprintf(why, why_cap, "task %.12s is not in this conversation", hex);
    rc = MOMEDO_E_DENIED;
    goto told;
  }
  if (rc) return rc;
  if (e->decision == TL_DEC_NONE) {
    rc = kind == HIST_GROUP ? group_act(st, hc, &t, row, e, dry, hex, why, why_cap)
                            : MOMEDO_E_INVAL;
    tl_entry_clear(&t);
    goto told;
  }
  if (t.kind != TL_TASK || !(t.flags & TL_F_APPROVAL))
    snprintf(why, why_cap, "%.12s is not a task that asks for approval", hex);
  else if (!decider_may(st, kind, &t, e))
    snprintf(why, why_cap, "only a recipient of task %.12s decides on it", hex);
  else if ((was = decision_of(&t, e->from)) != NULL && was->decision != e->decision)
    snprintf(why, why_cap, "task %.12s was %s before by the same person (the first decision "
             "stands)", hex, was->decision == TL_DEC_APPROVED ? "approved" : "declined");
  else if (was)
    rc = MOMEDO_E_EXISTS;
  if (why[0]) rc = MOMEDO_E_DENIED;
  if (rc == 0 && !dry) {
    struct tl_decision d = {.decision = e->decision, .ms = e->sent_ms, .comment = e->note};
    memcpy(d.who, e->from, TL_KEY_LEN);
    rc = tl_entry_add_decision(&t, &d);
    if (rc == MOMEDO_E_TOOBIG) {
      snprintf(why, why_cap, "task %.12s holds %d decisions already", hex, TL_DECISIONS_MAX);
      rc = MOMEDO_E_DENIED;
    } else if (rc == 0) {
      rc = hist_set(&st->hist, hc, row, &t);
    }
  }
  tl_entry_clear(&t);
told:
  if (rc == MOMEDO_E_DENIED && !dry)
    eng__note(st->ctx, "momedo: ignored a %s: %s\n", e->decision ? "decision" : "task reply", why);
  return rc;
}
