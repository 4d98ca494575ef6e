/* client/core/engine_group_devices.c — multi-device, finished (issue 13 part 4): this user's
 * device list in every group and announcement channel follows the key bundle. After
 * `device link` and `device remove` (and at each sync of the first device, for groups
 * this user administers), the first device (it holds the identity key) makes the
 * change itself where it is an admin (group_set_devices: a new record; a device that is
 * added gets the whole chain and, from every member's next sync, their sender keys; a
 * device that is removed starts a new epoch it never learns) or asks the admins
 * (group_request_devices, the same way a member asks to leave). */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* 1 when this user's devices in the head differ from the key bundle's. */
static int devices_differ(const struct eng_state *st, const struct eng_group *cg, int *admin) {
  struct group_member_view mv;
  *admin = 0;
  for (size_t i = 0; i < group_member_count(cg->g); i++) {
    if (group_member_at(cg->g, i, &mv) != 0 ||
        memcmp(mv.identity_key, st->acct.identity.pub, 32) != 0)
      continue;
    *admin = mv.role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN;
    if (mv.n_devices != st->acct.n_devices) return 1;
    for (size_t k = 0; k < st->acct.n_devices; k++) {
      int found = 0;
      for (size_t j = 0; !found && j < mv.n_devices; j++)
        found = !memcmp(mv.devices[j], st->acct.devices[k].device_key, 32);
      if (!found) return 1;
    }
    return 0;
  }
  return 0; /* not a member (any more) */
}

/* As an admin: the new record, owed to the new device list, delivered. */
static int set_own(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                   struct eng_group *cg, const uint8_t (*keys)[32]) {
  struct group_info gi;
  struct eng_gdev *prev = NULL;
  struct eng_group_sent fs = {0, 0};
  uint8_t *rec = NULL;
  size_t n_prev = 0, rl = 0;
  struct group_member_spec me = {.identity_key = st->acct.identity.pub,
                                 .role = MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN,
                                 .devices = keys, .n_devices = st->acct.n_devices};
  group_get_info(cg->g, &gi);
  if (eng__group_devices(cg, &prev, &n_prev) != 0) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  int rc = group_set_devices(cg->g, &st->acct.identity, &me, os_wall_ms(), &rec, &rl);
  free(rec); /* the group holds the same bytes as its head */
  if (rc == 0) {
    cg->dirty = 1;
    rc = eng__group_owe(st, cg, prev, n_prev, gi.version);
    if (rc == 0) rc = eng__group_flush(c, st, cn, cg, &fs);
  } else {
    rc = eng_fail(c, rc, "%s", group_reason(cg->g)[0] ? group_reason(cg->g) : momedo_strerror(rc));
  }
  free(prev);
  return rc;
}

/* As a member: a signed DEVICES request to every admin device. */
static int ask_admins(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                      struct eng_group *cg, const uint8_t (*keys)[32]) {
  uint8_t *req = NULL, *pt = NULL;
  size_t rl = 0, len = 0, nt = 0, sent = 0;
  struct group_device *t = NULL;
  int rc = group_request_devices(cg->g, &st->acct.identity, keys, st->acct.n_devices,
                                 os_wall_ms(), &req, &rl);
  if (rc == 0) rc = group_request_content(req, rl, st->acct.device.pub, os_wall_ms(), &pt, &len);
  if (rc == 0) rc = group_admin_devices(cg->g, &t, &nt);
  if (rc) rc = eng_fail(c, rc, "%s", group_reason(cg->g)[0] ? group_reason(cg->g)
                                                             : momedo_strerror(rc));
  if (rc == 0) rc = eng__group_send_to(c, st, cn, pt, len, t, nt, &sent);
  if (rc == 0 && sent == 0) rc = eng_fail(c, MOMEDO_E_NOTFOUND, "no admin could be reached");
  free(req);
  if (pt) crypto_wipe(pt, len);
  free(pt);
  free(t);
  return rc;
}

int eng_groups_own_devices(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                           int ask, size_t *changed) {
  uint8_t (*keys)[32] = NULL;
  *changed = 0;
  if (!st->acct.has_identity || st->acct.n_devices == 0) return 0;
  keys = calloc(st->acct.n_devices, sizeof *keys);
  if (!keys) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  for (size_t i = 0; i < st->acct.n_devices; i++)
    memcpy(keys[i], st->acct.devices[i].device_key, 32);
  int rc = 0, admin;
  for (size_t i = 0; i < st->gr.n; i++) {
    struct eng_group *cg = &st->gr.v[i];
    struct group_info gi;
    group_get_info(cg->g, &gi);
    if (gi.removed || !devices_differ(st, cg, &admin) || (!admin && !ask)) continue;
    int r = admin ? set_own(c, st, cn, cg, keys) : ask_admins(c, st, cn, cg, keys);
    if (r == 0) (*changed)++;
    else if (r == MOMEDO_E_NOMEM || momedo_status_kind(r) == MOMEDO_KIND_IO) rc = r;
    else eng__note(c, "momedo: note: your devices in group %s stay as they were: %s\n",
                 gi.name, c->why);
    if (rc) break;
  }
  free(keys);
  return rc;
}
