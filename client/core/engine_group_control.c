/* client/core/engine_group_control.c — group control messages over the pairwise sessions:
 * delivering what each group owes (the records each device still lacks, remembered
 * across runs: the whole chain to a device that joins; chains too large for a message
 * as a blob; sender keys, a channel's write key to its admins), and handling the ones
 * that arrive (join from a chain, apply records, redo this admin's changes that lost a
 * fork choice, turn a member's request into a record, accept a key; keep for later
 * what comes early, retry it after each applied record). Every record, request and key
 * is judged by the group core (group.h), never here. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "hex.h"

#define GROUP_RECORD_BLOB_NAME "group-record"
#define GROUP_RECORD_BLOB_MIME "application/x-momedo-group-record"

static void uid_of(char out[static IDS_USER_ID_STR_MAX], const uint8_t key[static 32]) {
  if (ids_user_id(out, key) != 0) out[0] = '\0';
}

/* A group event, handed to the front-end (ENG_EV_GROUP). */
static void notice(struct eng *c, const char *event, const struct eng_group *cg,
                   const uint8_t *gid, const uint8_t *who, const char *detail) {
  char uid[IDS_USER_ID_STR_MAX] = "", hex[2 * GROUP_ID_LEN + 1];
  struct eng_event ev;
  if (!c->on_event) return;
  if (who) uid_of(uid, who);
  hex_encode(hex, sizeof hex, cg ? cg->id : gid, GROUP_ID_LEN);
  memset(&ev, 0, sizeof ev);
  ev.kind = ENG_EV_GROUP;
  ev.group_event = event;
  ev.group_name = cg ? eng_group_name(cg) : "?";
  ev.group_id_hex = hex;
  ev.group_by = who ? uid : NULL;
  ev.group_detail = detail;
  c->on_event(c, &ev);
}

/* ---- delivering control messages over the pairwise sessions ------------------------ */

enum { DEV_OWED = 0, DEV_SENT = 1, DEV_UNLISTED = 2 };

static int device_index(const struct account_device *v, size_t n, const uint8_t dev[static 32]) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(v[i].device_key, dev, 32) == 0) return (int)i;
  return -1;
}

/* The device list to send to for one user: our own, or the contact's (pinned on first
 * use, refreshed when it lacks a device we need). NULL with a note when not possible. */
static const struct account_device *user_devices(struct eng *c, struct eng_state *st,
                                                 struct eng_conn *cn, const struct eng_gdev *d,
                                                 size_t n, size_t *nd, char *label,
                                                 size_t cap) {
  if (memcmp(d[0].identity, st->acct.identity.pub, 32) == 0) {
    snprintf(label, cap, "your other devices");
    *nd = st->acct.n_devices;
    return st->acct.devices;
  }
  struct contact *ct = contacts_find_key(&st->contacts, d[0].identity);
  if (!ct && contacts_pin(&st->contacts, d[0].identity, NULL, NULL, os_wall_ms(), &ct) != 0)
    return NULL;
  snprintf(label, cap, "%s", contact_label(ct));
  if (ct->has_pending) {
    eng__note(c, "momedo: note: not sending group keys to %s: their key changed (run "
            "`momedo contact verify`)\n", label);
    return NULL;
  }
  int missing = 0;
  for (size_t k = 0; k < n; k++) missing |= device_index(ct->devices, ct->n_devices, d[k].device) < 0;
  if (missing && eng_refresh_contact(c, st, cn, ct) != 0)
    eng__note(c, "momedo: note: %s\n", c->why);
  *nd = ct->n_devices;
  return ct->devices;
}

/* Send m to the devices d[0..n) of one user; state[k] becomes DEV_SENT or DEV_UNLISTED.
 * Returns only I/O errors. */
static int deliver_user(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        Momedo__Content *m, const struct eng_gdev *d, size_t n, uint8_t *state,
                        struct contact *tmp) {
  char label[ENG_LABEL_MAX];
  size_t nd = 0, sent = 0;
  const struct account_device *devs = user_devices(c, st, cn, d, n, &nd, label, sizeof label);
  if (!devs) return 0;
  memset(tmp, 0, sizeof *tmp);
  memcpy(tmp->key, d[0].identity, 32);
  uid_of(tmp->uid, d[0].identity);
  snprintf(tmp->name, sizeof tmp->name, "%.*s", CONTACT_NAME_MAX, label);
  const struct contact *real = contacts_find_key(&st->contacts, d[0].identity);
  if (real) { /* where the user's items go (user_devices pinned and refreshed it) */
    tmp->n_homes = real->n_homes;
    memcpy(tmp->homes, real->homes, sizeof tmp->homes);
  }
  for (size_t k = 0; k < n; k++) {
    int i = device_index(devs, nd, d[k].device);
    if (i < 0) {
      state[k] = DEV_UNLISTED;
      eng__note(c, "momedo: note: a group device of %s is not in their key bundle; "
              "skipped\n", label);
      continue;
    }
    tmp->devices[tmp->n_devices++] = devs[i];
  }
  if (tmp->n_devices == 0) return 0;
  int rc = eng_send_content(c, st, cn, tmp, m, 1, &sent);
  if (rc) {
    if (momedo_status_kind(rc) == MOMEDO_KIND_IO) return rc;
    eng__note(c, "momedo: note: group message to %s not sent: %s\n", label, c->why);
    return 0;
  }
  for (size_t k = 0; k < n; k++)
    if (state[k] != DEV_UNLISTED) state[k] = DEV_SENT;
  return 0;
}

/* Send the encoded Content pt to devices d (one user's devices adjacent). */
static int deliver(struct eng *c, struct eng_state *st, struct eng_conn *cn, const uint8_t *pt,
                   size_t len, const struct eng_gdev *d, size_t n, uint8_t *state) {
  struct arena a;
  Momedo__Content *m = NULL;
  struct contact *tmp = calloc(1, sizeof *tmp);
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  int rc = tmp ? content_decode(pt, len, &a, &m) : MOMEDO_E_NOMEM;
  if (rc) rc = eng_fail(c, rc, "cannot prepare a group control message: %s", momedo_strerror(rc));
  for (size_t i = 0; rc == 0 && i < n;) {
    size_t j = i + 1;
    while (j < n && memcmp(d[j].identity, d[i].identity, 32) == 0) j++;
    rc = deliver_user(c, st, cn, m, d + i, j - i, state + i, tmp);
    i = j;
  }
  arena_close(&a);
  if (tmp) crypto_wipe(tmp, sizeof *tmp);
  free(tmp);
  return rc;
}

int eng__group_send_to(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                       const uint8_t *pt, size_t len, const struct group_device *t, size_t nt,
                       size_t *sent) {
  struct eng_gdev *d = calloc(nt ? nt : 1, sizeof *d);
  uint8_t *state = calloc(nt ? nt : 1, 1);
  int rc = d && state ? 0 : eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  for (size_t i = 0; rc == 0 && i < nt; i++) {
    memcpy(d[i].identity, t[i].identity_key, 32);
    memcpy(d[i].device, t[i].device_key, 32);
  }
  if (rc == 0) rc = deliver(c, st, cn, pt, len, d, nt, state);
  *sent = 0;
  for (size_t i = 0; rc == 0 && i < nt; i++) *sent += state[i] == DEV_SENT;
  free(d);
  free(state);
  return rc;
}

int eng__group_devices(const struct eng_group *cg, struct eng_gdev **out, size_t *n) {
  struct group_info gi;
  struct group_member_view mv;
  group_get_info(cg->g, &gi);
  struct eng_gdev *v = calloc(gi.n_devices ? gi.n_devices : 1, sizeof *v);
  size_t k = 0;
  if (!v) return MOMEDO_E_NOMEM;
  for (size_t i = 0; i < group_member_count(cg->g); i++) {
    if (group_member_at(cg->g, i, &mv) != 0) continue;
    for (size_t d = 0; d < mv.n_devices && k < gi.n_devices; d++) {
      memcpy(v[k].identity, mv.identity_key, 32);
      memcpy(v[k++].device, mv.devices[d], 32);
    }
  }
  *out = v, *n = k;
  return 0;
}

static const struct eng_gdev *gdev_find(const struct eng_gdev *v, size_t n,
                                        const uint8_t dev[static 32]) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(v[i].device, dev, 32) == 0) return &v[i];
  return NULL;
}

int eng__group_owe(struct eng_state *st, struct eng_group *cg, const struct eng_gdev *prev,
                   size_t n_prev, uint64_t from) {
  struct eng_gdev *need = NULL;
  size_t n = 0, k = 0;
  int rc = eng__group_devices(cg, &need, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) {
    if (memcmp(need[i].device, st->acct.device.pub, 32) == 0) continue;
    const struct eng_gdev *old = gdev_find(cg->need, cg->n_need, need[i].device);
    need[k] = need[i];
    need[k].from = gdev_find(prev, n_prev, need[i].device) ? from : 0; /* 0: joins */
    if (old && old->from < need[k].from) need[k].from = old->from;
    k++;
  }
  free(cg->need);
  cg->need = need;
  cg->n_need = k;
  st->gr.dirty = 1;
  return 0;
}

/* A chain too large for one pairwise message: its chunks go once to the blob's
 * mailbox, each member gets the small File that opens them. */
static int record_blob_content(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                               const uint8_t *rec, size_t rl, uint8_t **pt, size_t *len) {
  uint8_t id[OBJ_ID_LEN], key[CONTENT_KEY_LEN], sha[CRYPTO_HASH_LEN], mb[OBJ_MAILBOX_LEN];
  uint8_t oid[OBJ_ID_LEN];
  uint32_t count = (uint32_t)content_chunk_count(rl, CONTENT_CHUNK_BYTES);
  uint8_t *ct = malloc(CONTENT_CHUNK_BYTES + CRYPTO_TAG_LEN);
  int rc = ct ? content_blob_new(id, key) : MOMEDO_E_NOMEM;
  if (rc == 0) rc = crypto_sha256(sha, rec, rl);
  if (rc == 0) rc = group_record_blob_mailbox(mb, id);
  for (uint32_t i = 0; rc == 0 && i < count; i++) {
    size_t off = (size_t)i * CONTENT_CHUNK_BYTES;
    size_t n = rl - off < CONTENT_CHUNK_BYTES ? rl - off : CONTENT_CHUNK_BYTES;
    if ((rc = content_chunk_seal(ct, rec + off, n, key, id, i, count)) != 0) break;
    struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = ct,
                                 .ciphertext_len = n + CRYPTO_TAG_LEN, .blob_id = id,
                                 .chunk_index = i, .chunk_count = count};
    if ((rc = nodeapi_post(&cn->api, &p, oid, NULL)) != 0)
      rc = eng_api_fail(c, cn, rc, "uploading the group record failed");
  }
  free(ct);
  Momedo__File f = MOMEDO__FILE__INIT;
  f.name = GROUP_RECORD_BLOB_NAME;
  f.mime = GROUP_RECORD_BLOB_MIME;
  f.size = rl;
  f.blob_id = (ProtobufCBinaryData){OBJ_ID_LEN, id};
  f.blob_key = (ProtobufCBinaryData){CONTENT_KEY_LEN, key};
  f.sha256 = (ProtobufCBinaryData){CRYPTO_HASH_LEN, sha};
  f.chunk_count = count;
  f.chunk_bytes = CONTENT_CHUNK_BYTES;
  Momedo__GroupControl gc;
  momedo__group_control__init(&gc);
  gc.body_case = MOMEDO__GROUP_CONTROL__BODY_RECORD_BLOB;
  gc.record_blob = &f;
  uint8_t mid[CONTENT_ID_LEN];
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  m.format = CONTENT_FORMAT;
  m.message_id = (ProtobufCBinaryData){CONTENT_ID_LEN, mid};
  m.sent_ms = os_wall_ms();
  m.sender_device = (ProtobufCBinaryData){32, st->acct.device.pub};
  m.body_case = MOMEDO__CONTENT__BODY_GROUP;
  m.group = &gc;
  if (rc == 0) rc = content_new_id(mid);
  if (rc == 0) rc = content_encode(&m, pt, len);
  crypto_wipe(key, sizeof key);
  return rc;
}

/* Deliver the records after version `from` to the owed devices with that `from`. */
static int flush_from(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                      struct eng_group *cg, uint64_t from, uint8_t *state) {
  uint8_t *chain = NULL, *pt = NULL;
  size_t cl = 0, len = 0, n = 0;
  struct eng_gdev *d = calloc(cg->n_need, sizeof *d);
  uint8_t *ds = calloc(cg->n_need, 1);
  int rc = d && ds ? group_chain(cg->g, from, &chain, &cl) : MOMEDO_E_NOMEM;
  if (rc == 0) rc = group_chain_content(chain, cl, st->acct.device.pub, os_wall_ms(), &pt, &len);
  if (rc == MOMEDO_E_TOOBIG) rc = record_blob_content(c, st, cn, chain, cl, &pt, &len);
  if (rc && !c->why[0]) rc = eng_fail(c, rc, "cannot prepare the group records: %s",
                                      momedo_strerror(rc));
  for (size_t i = 0; rc == 0 && i < cg->n_need; i++)
    if (cg->need[i].from == from) d[n++] = cg->need[i];
  if (rc == 0) rc = deliver(c, st, cn, pt, len, d, n, ds);
  for (size_t i = 0, j = 0; rc == 0 && i < cg->n_need; i++)
    if (cg->need[i].from == from) state[i] = ds[j++];
  if (pt) crypto_wipe(pt, len);
  free(pt);
  free(chain);
  free(d);
  free(ds);
  return rc;
}

static int flush_records(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                         struct eng_group *cg, struct eng_group_sent *fs) {
  struct group_info gi;
  size_t k = 0;
  uint8_t *state = calloc(cg->n_need, 1), *done = calloc(cg->n_need, 1);
  int rc = state && done ? 0 : eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  group_get_info(cg->g, &gi);
  for (size_t i = 0; rc == 0 && i < cg->n_need; i++) {
    if (done[i]) continue;
    uint64_t from = cg->need[i].from;
    for (size_t j = i; j < cg->n_need; j++) done[j] |= cg->need[j].from == from;
    if (from >= gi.version) { /* holds the head already */
      for (size_t j = i; j < cg->n_need; j++)
        if (cg->need[j].from == from) state[j] = DEV_UNLISTED;
      continue;
    }
    rc = flush_from(c, st, cn, cg, from, state);
  }
  for (size_t i = 0; state && i < cg->n_need; i++) {
    if (state[i] == DEV_SENT) fs->records++;
    if (state[i] == DEV_OWED) cg->need[k++] = cg->need[i];
  }
  if (state && k != cg->n_need) {
    cg->n_need = k;
    st->gr.dirty = 1;
  }
  free(state);
  free(done);
  return rc;
}

static int is_admin(const struct eng_group *cg, const uint8_t id[static 32]) {
  struct group_member_view mv;
  for (size_t i = 0; i < group_member_count(cg->g); i++)
    if (group_member_at(cg->g, i, &mv) == 0 && memcmp(mv.identity_key, id, 32) == 0)
      return mv.role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN;
  return 0;
}

/* Send the sender key to the targets t[i] that are admins (or not); mark them sent. */
static int keys_to(struct eng *c, struct eng_state *st, struct eng_conn *cn, struct eng_group *cg,
                   const struct group_device *t, size_t nt, int admins,
                   struct eng_group_sent *fs) {
  struct eng_gdev *d = calloc(nt ? nt : 1, sizeof *d);
  uint8_t *state = calloc(nt ? nt : 1, 1), *pt = NULL;
  const uint8_t *to = NULL;
  size_t n = 0, len = 0;
  int rc = d && state ? 0 : MOMEDO_E_NOMEM;
  for (size_t i = 0; rc == 0 && i < nt; i++) {
    if (is_admin(cg, t[i].identity_key) != admins) continue;
    memcpy(d[n].identity, t[i].identity_key, 32);
    memcpy(d[n++].device, t[i].device_key, 32);
    to = t[i].identity_key;
  }
  if (rc == 0 && n > 0 && (rc = group_senderkey_content(cg->g, to, os_wall_ms(), &pt, &len)) == 0)
    rc = deliver(c, st, cn, pt, len, d, n, state);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (state[i] != DEV_SENT) continue;
    if (group_senderkey_mark_sent(cg->g, d[i].device) == 0) fs->keys++;
    cg->dirty = 1;
  }
  if (pt) crypto_wipe(pt, len);
  free(pt);
  free(state);
  free(d);
  return rc;
}

/* This device's sender key to the devices without it: admins and members apart, since
 * in a channel the admins' copy carries the write key. */
static int flush_keys(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                      struct eng_group *cg, struct eng_group_sent *fs) {
  struct group_device *t = NULL;
  size_t nt = 0;
  int rc = group_senderkey_targets(cg->g, &t, &nt);
  if (rc == 0 && nt > 0) rc = keys_to(c, st, cn, cg, t, nt, 1, fs);
  if (rc == 0 && nt > 0) rc = keys_to(c, st, cn, cg, t, nt, 0, fs);
  free(t);
  if (rc && !c->why[0]) rc = eng_fail(c, rc, "cannot send the group key: %s", momedo_strerror(rc));
  return rc;
}

/* Records first, so a member applies the new epoch before its keys arrive. */
int eng__group_flush(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                     struct eng_group *cg, struct eng_group_sent *fs) {
  c->why[0] = '\0';
  int rc = cg->n_need ? flush_records(c, st, cn, cg, fs) : 0;
  if (rc == 0) rc = flush_keys(c, st, cn, cg, fs);
  return rc;
}

int eng_groups_flush(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  struct eng_group_sent fs = {0, 0};
  for (size_t i = 0; i < st->gr.n; i++) {
    int rc = eng__group_flush(c, st, cn, &st->gr.v[i], &fs);
    if (rc) return rc;
  }
  return 0;
}

/* ---- control messages from the pairwise sessions ---------------------------------- */

struct ctl_result {
  int keep;    /* not applicable yet: keep it for later */
  int applied; /* a record was applied: retry what was kept */
};

static int ctl_join(struct eng *c, struct eng_state *st, const uint8_t from_id[static 32],
                    const uint8_t *chain, size_t len, const uint8_t gid[static 32],
                    struct eng_group *old, struct ctl_result *r) {
  struct group *g = NULL;
  struct eng_group *cg = NULL;
  int rc = group_join(&g, st->acct.identity.pub, st->acct.device.pub, from_id, chain, len,
                      os_wall_ms());
  if (rc == MOMEDO_E_NOMEM) return eng_fail(c, rc, "out of memory");
  if (rc) {
    if (!old) notice(c, "refused", NULL, gid, from_id,
                     rc == MOMEDO_E_NOTFOUND ? "a group chain that does not list this device"
                     : rc == MOMEDO_E_DENIED ? "a group chain with a version no admin signed, "
                                               "or sent by a non-member"
                                             : momedo_strerror(rc));
    return 0;
  }
  if (old) { /* re-added after a removal: start over from the new chain */
    group_free(old->g);
    old->g = g;
    old->dirty = 1;
    cg = old;
  } else if ((rc = eng__group_add(&st->gr, g, &cg)) != 0) {
    group_free(g);
    return eng_fail(c, rc, "cannot keep another group (at most %d)", ENG_GROUPS_MAX);
  }
  r->applied = 1;
  struct group_info gi;
  group_get_info(g, &gi);
  notice(c, "joined", cg, NULL, from_id,
         gi.mode == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL ? "announcement channel" : "group");
  return 0;
}

/* This admin's changes that lost a fork choice, made again on the head and owed to
 * every device (the winner they may lack goes with them). */
static int ctl_rebase(struct eng *c, struct eng_state *st, struct eng_group *cg) {
  if (!st->acct.has_identity) return 0;
  for (;;) {
    struct eng_gdev *prev = NULL;
    size_t n_prev = 0, rl = 0;
    uint8_t *rec = NULL;
    struct group_info gi;
    group_get_info(cg->g, &gi);
    int rc = eng__group_devices(cg, &prev, &n_prev);
    if (rc == 0) rc = group_rebase(cg->g, &st->acct.identity, os_wall_ms(), &rec, &rl);
    cg->dirty = 1;
    if (rc == 0 && rec)
      rc = eng__group_owe(st, cg, prev, n_prev, gi.version > 1 ? gi.version - 1 : 0);
    free(prev);
    if (rc == MOMEDO_E_NOMEM) return eng_fail(c, rc, "out of memory");
    if (rc) {
      notice(c, "refused", cg, NULL, st->acct.identity.pub, group_reason(cg->g));
      return 0;
    }
    if (!rec) return 0;
    free(rec);
    notice(c, "changed", cg, NULL, st->acct.identity.pub,
           "your change lost to a concurrent one and was made again");
  }
}

static int ctl_chain(struct eng *c, struct eng_state *st, const uint8_t from_id[static 32],
                     const uint8_t *chain, size_t len, struct ctl_result *r) {
  uint8_t gid[GROUP_ID_LEN];
  uint64_t first = 0, last = 0;
  struct group_apply_info ai;
  if (group_chain_peek(chain, len, gid, &first, &last) != 0) {
    eng__note(c, "momedo: dropped an item: a malformed group record chain\n");
    return 0;
  }
  struct eng_group *cg = eng_group_by_id(st, gid);
  struct group_info gi;
  if (cg) group_get_info(cg->g, &gi);
  if ((!cg || gi.removed) && first == 1) return ctl_join(c, st, from_id, chain, len, gid, cg, r);
  if (!cg) { /* the chain from version 1 may still be on its way */
    r->keep = 1;
    return 0;
  }
  int rc = group_chain_apply(cg->g, chain, len, os_wall_ms(), &ai);
  if (rc == 0) {
    char d[96];
    cg->dirty = 1;
    r->applied = 1;
    snprintf(d, sizeof d, "version %llu, epoch %llu", (unsigned long long)ai.version,
             (unsigned long long)ai.epoch);
    if (ai.head_changed)
      notice(c, ai.removed ? "removed" : "changed", cg, NULL, from_id, ai.removed ? NULL : d);
    return ai.displaced_own ? ctl_rebase(c, st, cg) : 0;
  }
  if (rc == MOMEDO_E_EXISTS || rc == MOMEDO_E_SUPERSEDED) return 0;
  if (rc == MOMEDO_E_UNEXPECTED) {
    r->keep = 1;
    return 0;
  }
  if (rc == MOMEDO_E_NOMEM) return eng_fail(c, rc, "out of memory");
  notice(c, "refused", cg, NULL, from_id, group_reason(cg->g)[0] ? group_reason(cg->g)
                                                                 : momedo_strerror(rc));
  return 0;
}

/* One record on its own: a chain of one. */
static int ctl_record(struct eng *c, struct eng_state *st, const uint8_t from_id[static 32],
                      const uint8_t *rec, size_t len, struct ctl_result *r) {
  Momedo__GroupChain ch = MOMEDO__GROUP_CHAIN__INIT;
  ProtobufCBinaryData one = {len, (uint8_t *)rec};
  ch.n_records = 1, ch.records = &one;
  size_t n = momedo__group_chain__get_packed_size(&ch);
  uint8_t *buf = malloc(n);
  if (!buf) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  momedo__group_chain__pack(&ch, buf);
  int rc = ctl_chain(c, st, from_id, buf, n, r);
  free(buf);
  return rc;
}

/* A member's request: this device's user, if an admin, makes the change. */
static int ctl_request(struct eng *c, struct eng_state *st, const uint8_t from_id[static 32],
                       const uint8_t *req, size_t len) {
  uint8_t gid[GROUP_ID_LEN], *rec = NULL;
  size_t rl = 0, n_prev = 0;
  struct eng_gdev *prev = NULL;
  struct group_info gi;
  if (group_request_peek(req, len, gid) != 0) {
    eng__note(c, "momedo: dropped an item: a malformed group request\n");
    return 0;
  }
  struct eng_group *cg = eng_group_by_id(st, gid);
  if (!cg || !st->acct.has_identity) return 0; /* the user's first device answers it */
  group_get_info(cg->g, &gi);
  if (gi.my_role != MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN) return 0;
  int rc = eng__group_devices(cg, &prev, &n_prev);
  if (rc == 0) rc = group_request_apply(cg->g, &st->acct.identity, from_id, req, len, os_wall_ms(),
                                        &rec, &rl);
  if (rc == 0) {
    cg->dirty = 1;
    rc = eng__group_owe(st, cg, prev, n_prev, gi.version);
    notice(c, "changed", cg, NULL, from_id, "done as they asked");
  } else if (rc != MOMEDO_E_EXISTS && rc != MOMEDO_E_NOMEM) {
    notice(c, "refused", cg, NULL, from_id, group_reason(cg->g)[0] ? group_reason(cg->g)
                                                                   : momedo_strerror(rc));
    rc = 0;
  }
  free(rec);
  free(prev);
  if (rc == MOMEDO_E_EXISTS) rc = 0;
  return rc ? eng_fail(c, rc, "out of memory") : 0;
}

static int ctl_senderkey(struct eng *c, struct eng_state *st, const uint8_t from_id[static 32],
                         const uint8_t from_dev[static 32], const Momedo__SenderKey *sk,
                         struct ctl_result *r) {
  struct eng_group *cg = eng_group_by_id(st, sk->group_id.data);
  if (!cg) {
    r->keep = 1; /* its record may still be on the way */
    return 0;
  }
  int rc = group_senderkey_accept(cg->g, from_id, from_dev, sk);
  if (rc == 0) cg->dirty = 1;
  else if (rc == MOMEDO_E_UNEXPECTED) r->keep = 1;
  else if (rc == MOMEDO_E_NOMEM) return eng_fail(c, rc, "out of memory");
  else if (rc != MOMEDO_E_EXISTS && rc != MOMEDO_E_SUPERSEDED)
    notice(c, "refused", cg, NULL, from_id, group_reason(cg->g)[0] ? group_reason(cg->g)
                                                                   : momedo_strerror(rc));
  return 0;
}

/* A chain sent as a blob: fetch, check, then as an inline chain. */
static int ctl_record_blob(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                           const uint8_t from_id[static 32], const Momedo__File *f,
                           struct ctl_result *r) {
  uint8_t mb[OBJ_MAILBOX_LEN], sha[CRYPTO_HASH_LEN];
  uint8_t *buf = malloc((size_t)f->size);
  int rc = buf ? group_record_blob_mailbox(mb, f->blob_id.data) : MOMEDO_E_NOMEM;
  if (rc == 0) rc = eng__fetch_chunks(c, cn, mb, f, buf);
  if (rc == 0 && (crypto_sha256(sha, buf, (size_t)f->size) != 0 ||
                  !crypto_ct_eq(sha, f->sha256.data, CRYPTO_HASH_LEN))) {
    eng__note(c, "momedo: dropped an item: a group record chain that does not match its "
            "hash\n");
    free(buf);
    return 0;
  }
  if (rc == 0) rc = ctl_chain(c, st, from_id, buf, (size_t)f->size, r);
  free(buf);
  return rc;
}

static int ctl_handle(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                      const uint8_t from_id[static 32], const uint8_t from_dev[static 32],
                      const Momedo__GroupControl *gc, struct ctl_result *r) {
  switch (gc->body_case) {
    case MOMEDO__GROUP_CONTROL__BODY_RECORD:
      return ctl_record(c, st, from_id, gc->record.data, gc->record.len, r);
    case MOMEDO__GROUP_CONTROL__BODY_RECORD_BLOB:
      return ctl_record_blob(c, st, cn, from_id, gc->record_blob, r);
    case MOMEDO__GROUP_CONTROL__BODY_SENDER_KEY:
      return ctl_senderkey(c, st, from_id, from_dev, gc->sender_key, r);
    case MOMEDO__GROUP_CONTROL__BODY_CHAIN:
      return ctl_chain(c, st, from_id, gc->chain.data, gc->chain.len, r);
    case MOMEDO__GROUP_CONTROL__BODY_REQUEST:
      return ctl_request(c, st, from_id, gc->request.data, gc->request.len);
    default:
      return 0;
  }
}

static int pending_add(struct eng_state *st, const uint8_t from_id[static 32],
                       const uint8_t from_dev[static 32], const Momedo__GroupControl *gc) {
  struct eng_groups *gs = &st->gr;
  size_t n = momedo__group_control__get_packed_size(gc);
  uint8_t *body = malloc(n ? n : 1);
  if (!body) return MOMEDO_E_NOMEM;
  momedo__group_control__pack(gc, body);
  if (gs->n_p == ENG_GROUP_PENDING_MAX) { /* the oldest goes */
    eng__gpending_clear(&gs->p[0]);
    memmove(gs->p, gs->p + 1, (gs->n_p - 1) * sizeof *gs->p);
    gs->n_p--;
  }
  struct eng_gpending *v = realloc(gs->p, (gs->n_p + 1) * sizeof *v);
  if (!v) {
    free(body);
    return MOMEDO_E_NOMEM;
  }
  gs->p = v;
  struct eng_gpending *p = &gs->p[gs->n_p++];
  memcpy(p->from_id, from_id, 32);
  memcpy(p->from_dev, from_dev, 32);
  p->received_ms = os_wall_ms();
  p->body = body;
  p->len = n;
  gs->dirty = 1;
  return 0;
}

/* Retry everything kept, until a pass applies no record. */
static int pending_retry(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  struct eng_groups *gs = &st->gr;
  int rc = 0, again = 1;
  for (size_t pass = 0; rc == 0 && again && pass <= ENG_GROUP_PENDING_MAX; pass++) {
    struct eng_gpending *old = gs->p;
    size_t n = gs->n_p;
    gs->p = NULL;
    gs->n_p = 0;
    gs->dirty = 1;
    again = 0;
    for (size_t i = 0; i < n; i++) {
      struct arena a;
      struct ctl_result r = {0, 0};
      Momedo__GroupControl *gc;
      arena_init(&a, CONTENT_DECODE_BYTES_MAX);
      gc = momedo__group_control__unpack(&a.pb, old[i].len, old[i].body);
      int fresh = old[i].received_ms + ENG_GROUP_PENDING_MS > os_wall_ms();
      if (rc == 0 && gc && fresh && group_control_validate(gc) == 0) {
        rc = ctl_handle(c, st, cn, old[i].from_id, old[i].from_dev, gc, &r);
        if (rc == 0 && r.keep) rc = pending_add(st, old[i].from_id, old[i].from_dev, gc);
        if (rc == 0 && r.keep) gs->p[gs->n_p - 1].received_ms = old[i].received_ms;
        again |= r.applied;
      }
      arena_close(&a);
      eng__gpending_clear(&old[i]);
    }
    free(old);
  }
  return rc;
}

int eng_group_control(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                      const uint8_t from_id[static 32], const uint8_t from_dev[static 32],
                      const Momedo__GroupControl *gc) {
  struct ctl_result r = {0, 0};
  st->gr.touched = 1;
  int rc = ctl_handle(c, st, cn, from_id, from_dev, gc, &r);
  if (rc == 0 && r.keep && (rc = pending_add(st, from_id, from_dev, gc)) != 0)
    rc = eng_fail(c, rc, "out of memory");
  if (rc == 0 && r.applied && st->gr.n_p) rc = pending_retry(c, st, cn);
  return rc;
}
