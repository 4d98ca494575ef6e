/* client/core/engine_approve.c — the rule that puts a received approval decision on its
 * task: only a recipient of the task decides, once; a decision on an unknown task, on
 * one that asks for none, from the task's sender or conflicting with the decider's
 * earlier one is refused (a notice). */
#include <string.h>

#include "engine.h"


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
  if (rc == MOMEDO_E_DENIED && !dry) eng__note(st->ctx, "momedo: ignored a decision: %s\n", why);
  return rc;
}
