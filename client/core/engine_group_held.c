/* client/core/engine_group_held.c — group items whose sender key has not arrived yet, kept on
 * the device (in the groups index) instead of holding the read cursor: the cursor moves
 * past them at once, they are tried again after each control message and dropped
 * after ENG_GROUP_KEY_WAIT_MS. Only items signed with the group's write key get here
 * (anything else is refused for good by the group core), and the store is bounded in
 * count and bytes, oldest first out. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

static void held_drop(struct eng_groups *gs, size_t i) {
  free(gs->held[i].wire);
  memmove(&gs->held[i], &gs->held[i + 1], (gs->n_held - i - 1) * sizeof *gs->held);
  gs->n_held--;
  gs->dirty = 1;
}

static size_t held_bytes(const struct eng_groups *gs) {
  size_t n = 0;
  for (size_t i = 0; i < gs->n_held; i++) n += gs->held[i].len;
  return n;
}

int eng__group_hold(struct eng_state *st, const uint8_t gid[static 32], const uint8_t mb[static 32],
                    uint64_t created_ms, const uint8_t *wire, size_t len) {
  struct eng_groups *gs = &st->gr;
  if (len == 0 || len > ENG_GROUP_HELD_BYTES_MAX) return 0;
  for (size_t i = 0; i < gs->n_held; i++) /* fetched again from another node */
    if (gs->held[i].len == len && memcmp(gs->held[i].wire, wire, len) == 0) return 0;
  while (gs->n_held > 0 &&
         (gs->n_held >= ENG_GROUP_HELD_MAX || held_bytes(gs) + len > ENG_GROUP_HELD_BYTES_MAX))
    held_drop(gs, 0);
  struct eng_gheld *v = realloc(gs->held, (gs->n_held + 1) * sizeof *v);
  uint8_t *w = malloc(len);
  if (!v || !w) {
    if (v) gs->held = v;
    free(w);
    return MOMEDO_E_NOMEM;
  }
  gs->held = v;
  struct eng_gheld *h = &gs->held[gs->n_held++];
  memcpy(h->gid, gid, GROUP_ID_LEN);
  memcpy(h->mb, mb, OBJ_MAILBOX_LEN);
  h->created_ms = created_ms;
  memcpy(w, wire, len);
  h->wire = w, h->len = len;
  gs->dirty = 1;
  return 0;
}

int eng__group_held_retry(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                          size_t *n_new) {
  struct eng_groups *gs = &st->gr;
  struct eng_msg *m = gs->n_held ? malloc(sizeof *m) : NULL;
  int rc = gs->n_held && !m ? eng_fail(c, MOMEDO_E_NOMEM, "out of memory") : 0;
  for (size_t i = 0; rc == 0 && i < gs->n_held;) {
    struct eng_gheld h = gs->held[i];
    struct eng_group *cg = eng_group_by_id(st, h.gid);
    int shown = 0, hold = 0;
    if (cg && h.created_ms + ENG_GROUP_KEY_WAIT_MS > os_wall_ms())
      rc = eng_group_receive(c, st, cn, cg, h.mb, h.wire, h.len, h.created_ms, m, &shown, &hold);
    if (rc == 0 && shown) {
      eng__emit_msg(c, m);
      (*n_new)++;
    }
    if (rc == 0 && hold) {
      i++;
      continue;
    }
    held_drop(gs, i); /* read, refused for good, expired, or its group is gone */
  }
  free(m);
  return rc;
}
