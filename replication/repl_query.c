/* replication/repl_query.c — lookups: answered from what this node holds, else (scoped
 * mode) routed to the nodes a contact card names or whose record's user summary
 * matches, with a timeout; answers are checked like any object and cached. */
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "repl_int.h"

static int req_check(const struct repl_lookup_req *q) {
  if (q->n_hints > REPL_LOOKUP_HINTS_MAX) return MOMEDO_E_INVAL;
  switch (q->kind) {
  case REPL_LOOKUP_USER_ID:
  case REPL_LOOKUP_IDENTITY:
    return 0;
  case REPL_LOOKUP_ALIAS: {
    size_t n = strnlen(q->alias, sizeof q->alias);
    return n >= OBJ_ALIAS_CHARS_MIN && n <= OBJ_ALIAS_CHARS_MAX ? 0 : MOMEDO_E_INVAL;
  }
  default:
    return MOMEDO_E_INVAL;
  }
}

/* The answer from what this node holds: 0 with *info, E_NOTFOUND, or an error. */
static int local_answer(struct repl *r, const struct repl_lookup_req *q, uint64_t now_ms,
                        struct obj_info *info) {
  uint8_t *data = NULL;
  size_t len = 0;
  struct obj_info al;
  int rc;
  switch (q->kind) {
  case REPL_LOOKUP_USER_ID:
    rc = repl_bundle_lookup_user_id(r, q->user_id, info, &data, &len);
    break;
  case REPL_LOOKUP_IDENTITY:
    rc = repl_bundle_lookup(r, q->identity_key, info, &data, &len);
    break;
  default:
    rc = repl_alias_lookup(r, q->alias, now_ms, &al, &data, &len);
    free(data), data = NULL;
    if (rc == 0) rc = repl_bundle_lookup(r, al.key, info, &data, &len);
    break;
  }
  free(data);
  return rc;
}

int repl_lookup_start(struct repl *r, const struct repl_lookup_req *q, uint64_t now_ms,
                      uint64_t *handle) {
  struct obj_info info;
  if (!q || !handle || req_check(q)) return MOMEDO_E_INVAL;
  r->last_now_ms = now_ms;
  int rc = local_answer(r, q, now_ms, &info);
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  *handle = ++r->next_handle;
  r->st.lookups_started++;
  if (rc == 0) r->st.lookups_found++;
  else r->st.lookups_notfound++;
  /* Flood mode: every node holds every bundle, so the local answer is the answer. */
  return repl__lookup_done(r, *handle, rc, rc == 0 ? &info : NULL);
}
