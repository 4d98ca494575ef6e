/* client/core/group_view.h — a group as a front-end shows it (issue 13 part 1): its ID,
 * name, mode, epoch, the members with their roles and devices, whether it is recorded.
 * Plain data, public through momedo_client.h; the records, keys and sender keys that
 * make a group are group.h's, private to the core. */
#ifndef MOMEDO_CLIENT_GROUP_VIEW_H
#define MOMEDO_CLIENT_GROUP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "group.pb-c.h"
#include "obj.h"

#define GROUP_ID_LEN 32
#define GROUP_HASH_LEN 32
#define GROUP_NAME_BYTES_MAX 255

/* A member of the current record; pointers borrow from the group until it changes. */
struct group_member_view {
  const uint8_t *identity_key;
  Momedo__GroupRole role;
  const uint8_t (*devices)[32];
  size_t n_devices;
};

struct group_info {
  uint8_t group_id[GROUP_ID_LEN];
  uint64_t version, epoch;
  Momedo__GroupMode mode;
  char name[GROUP_NAME_BYTES_MAX + 1];
  uint8_t mailbox[OBJ_MAILBOX_LEN];      /* the current epoch's */
  uint8_t record_hash[GROUP_HASH_LEN];
  size_t n_members, n_devices;
  Momedo__GroupRole my_role;             /* NONE when removed */
  int removed;                           /* this device is no longer listed */
  int left;                              /* this user asked to leave */
  int can_post;                          /* listed, and (GROUP mode or admin) */
  size_t n_alts;                         /* concurrent records held beside the chain */
  int recorded;                          /* marked recorded (docs/archive.md) */
  uint8_t recorded_by[32];               /* identity key of the admin who marked it */
  uint64_t recorded_since_ms;            /* when (that admin's clock) */
};

#endif
