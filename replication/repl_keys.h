/* replication/repl_keys.h — private to replication/: how the store keys of the layout
 * (repl_int.h, "Storage layout") are spelled, for repl_store.c and repl_get.c. */
#ifndef MOMEDO_REPL_KEYS_H
#define MOMEDO_REPL_KEYS_H

#include <assert.h>
#include <string.h>

#include "cursor.h"
#include "repl_int.h"

#define KEY_OBJ_LEN (1 + OBJ_ID_LEN)
#define KEY_EXP_LEN (1 + 8 + OBJ_ID_LEN)
#define KEY_TOMB_LEN (1 + OBJ_ID_LEN + OBJ_MAILBOX_LEN + OBJ_ID_LEN)
#define KEY_BUNDLE_LEN (1 + OBJ_KEY_LEN)
#define KEY_MBOX_LEN (1 + OBJ_MAILBOX_LEN + 8)
#define KEY_DEAD_LEN (1 + OBJ_ID_LEN)

static inline void key_obj(uint8_t k[KEY_OBJ_LEN], const uint8_t *id) {
  k[0] = REPL_T_OBJ;
  memcpy(k + 1, id, OBJ_ID_LEN);
}

static inline void key_exp(uint8_t k[KEY_EXP_LEN], uint64_t exp, const uint8_t *id) {
  k[0] = REPL_T_EXP;
  be64_put(k + 1, exp);
  if (id) memcpy(k + 9, id, OBJ_ID_LEN);
}

static inline void key_tomb(uint8_t k[KEY_TOMB_LEN], const uint8_t *target, const uint8_t *mbox,
                     const uint8_t *tomb_id) {
  k[0] = REPL_T_TOMB;
  memcpy(k + 1, target, OBJ_ID_LEN);
  memcpy(k + 1 + OBJ_ID_LEN, mbox, OBJ_MAILBOX_LEN);
  if (tomb_id) memcpy(k + 1 + OBJ_ID_LEN + OBJ_MAILBOX_LEN, tomb_id, OBJ_ID_LEN);
}

static inline void key_bundle(uint8_t k[KEY_BUNDLE_LEN], const uint8_t *ikey) {
  k[0] = REPL_T_BUNDLE;
  memcpy(k + 1, ikey, OBJ_KEY_LEN);
}

static inline void key_mbox(uint8_t k[KEY_MBOX_LEN], const uint8_t *mbox, uint64_t seq) {
  k[0] = REPL_T_MBOX;
  memcpy(k + 1, mbox, OBJ_MAILBOX_LEN);
  be64_put(k + 1 + OBJ_MAILBOX_LEN, seq);
}

static inline void key_dead(uint8_t k[KEY_DEAD_LEN], const uint8_t *id) {
  k[0] = REPL_T_DEAD;
  memcpy(k + 1, id, OBJ_ID_LEN);
}

/* hi = the smallest key greater than every key starting with prefix[0..n). */
static inline size_t prefix_end(uint8_t *hi, const uint8_t *prefix, size_t n) {
  memcpy(hi, prefix, n);
  while (n > 0 && hi[n - 1] == 0xff) n--;
  assert(n > 0); /* every prefix starts with a table tag < 0xff */
  hi[n - 1]++;
  return n;
}

#endif
