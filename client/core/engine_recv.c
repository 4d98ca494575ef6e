/* client/core/engine_recv.c — the receiving half of the message engine: deduplicate an item
 * before decrypting it, find its session (or accept a first message against our signed
 * prekey, refusing replays), bind the claimed sender to their pinned key bundle,
 * decode and store the content, download attachments, gather delivery receipts.
 * A bad item is reported and dropped; it never stops the others. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>

#include "engine_int.h"
#include "hex.h"

/* Tell the front-end why an item was dropped, as one notice line (c is in scope). */
__attribute__((format(printf, 2, 3))) static void recv_drop(struct eng *c, const char *fmt, ...) {
  char why[ENG_NOTE_MAX / 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  eng__note(c, "momedo: dropped an item: %s\n", why);
}
#define RECV_DROP(...) recv_drop(c, __VA_ARGS__)

static void local_of(const struct account *a, struct e2e_local *l) {
  memcpy(l->identity_key, a->identity.pub, 32);
  memcpy(l->device_key, a->device.pub, 32);
  memcpy(l->dh_sec, a->dh_sec, 32);
  memcpy(l->dh_pub, a->dh_pub, 32);
}

/* Is device (and, when dh is given, with that agreement key) among v[0..n)? */
static const struct account_device *device_listed(const struct account_device *v, size_t n,
                                                  const uint8_t *device, const uint8_t *dh) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(v[i].device_key, device, 32) == 0 && (!dh || memcmp(v[i].dh_key, dh, 32) == 0))
      return &v[i];
  return NULL;
}

/* Did this process look identity's bundle up in the last ENG_BUNDLE_FRESH_MS? Marks it
 * looked up now when not. */
static int fresh_take(struct eng_state *st, const uint8_t identity[static 32]) {
  uint64_t now = os_wall_ms();
  size_t oldest = 0;
  for (size_t i = 0; i < st->n_fresh; i++) {
    if (memcmp(st->fresh[i].identity, identity, 32) == 0) {
      if (now - st->fresh[i].ms < ENG_BUNDLE_FRESH_MS) return 1;
      st->fresh[i].ms = now;
      return 0;
    }
    if (st->fresh[i].ms < st->fresh[oldest].ms) oldest = i;
  }
  size_t at = st->n_fresh < ENG_FRESH_MAX ? st->n_fresh++ : oldest;
  memcpy(st->fresh[at].identity, identity, 32);
  st->fresh[at].ms = now;
  return 0;
}

/* Look identity's bundle up and keep it if it is newer than what we hold (our own in
 * the account, a contact's in ct, pinning an unknown sender first); a stale one a node
 * serves is ignored with a note. Only a refused bundle (E_DEAD, E_FORK, E_KEYCHANGED)
 * is an error: an unreachable lookup leaves the cache as it is. */
static int sender_refresh(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                          const uint8_t identity[static 32], struct contact **ct) {
  struct nodeapi_lookup_q q = {.identity_key = identity};
  struct nodeapi_bundle b;
  uint8_t key[32];
  int mine = memcmp(identity, st->acct.identity.pub, 32) == 0;
  if (eng_lookup(c, cn, &q, key, &b) != 0) return *ct || mine ? 0 : MOMEDO_E_NOTFOUND;
  if (!mine && !*ct) {
    int rc = contacts_pin(&st->contacts, identity, NULL, NULL, os_wall_ms(), ct);
    if (rc) return rc;
  }
  int rc = mine ? account_learn_bundle(&st->acct, b.bundle) : contacts_set_bundle(*ct, b.bundle);
  if (rc == MOMEDO_E_SUPERSEDED) {
    char uid[IDS_USER_ID_STR_MAX];
    if (ids_user_id(uid, identity) != 0) uid[0] = '\0';
    eng__note(c, "momedo: note: the node served an older key bundle of %s than this device "
            "has seen (version %llu); ignored\n", uid, (unsigned long long)b.info.version);
    return 0;
  }
  return rc;
}

/* The sending device must be listed in its user's newest key bundle we know: looked up
 * again unless we did so within ENG_BUNDLE_FRESH_MS, so a device the user removed (or a
 * revoked identity) stops being trusted within a minute, also in sessions that exist
 * (issue 11, finding 5). dh (NULL: not checked) is the device's agreement key, which a
 * first message claims. 0, E_NOTFOUND (not listed), E_DEAD (revoked), E_FORK, ... */
/* *pq_alg (when not NULL): the KEM the sender's bundle lists for that device. */
static int sender_current(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                          const uint8_t identity[static 32], const uint8_t device[static 32],
                          const uint8_t *dh, uint32_t *pq_alg) {
  int mine = memcmp(identity, st->acct.identity.pub, 32) == 0;
  struct contact *ct = mine ? NULL : contacts_find_key(&st->contacts, identity);
  int rc = 0;
  if (!fresh_take(st, identity) || (!mine && !ct))
    rc = sender_refresh(c, st, cn, identity, &ct);
  if (rc) return rc;
  if (!mine && ct->revoked) return MOMEDO_E_DEAD;
  const struct account_device *v = mine ? st->acct.devices : ct->devices;
  size_t n = mine ? st->acct.n_devices : ct->n_devices;
  const struct account_device *d = device_listed(v, n, device, dh);
  if (d && pq_alg) *pq_alg = d->pq_alg;
  return d ? 0 : MOMEDO_E_NOTFOUND;
}

/* Forget every session with device: its user no longer lists it. */
static void sessions_drop_device(struct eng_state *st, const uint8_t device[static 32]) {
  struct e2e_session_info info;
  size_t w = 0;
  for (size_t i = 0; i < st->sess.n; i++) {
    e2e_session_get_info(st->sess.v[i], &info);
    if (memcmp(info.peer_device, device, 32) == 0) e2e_session_free(st->sess.v[i]);
    else st->sess.v[w++] = st->sess.v[i];
  }
  st->sess.n = w;
}

static struct e2e_replay *replay_for(struct eng_state *st, uint32_t spk) {
  for (size_t i = 0; i < st->rp.n; i++)
    if (st->rp.spk[i] == spk) return st->rp.v[i];
  struct e2e_replay *r = NULL;
  if (e2e_replay_new(&r, spk) != 0) return NULL;
  struct e2e_replay **v = realloc(st->rp.v, (st->rp.n + 1) * sizeof *v);
  uint32_t *ids = v ? realloc(st->rp.spk, (st->rp.n + 1) * sizeof *ids) : NULL;
  if (v) st->rp.v = v;
  if (ids) st->rp.spk = ids;
  if (!v || !ids) {
    e2e_replay_free(r);
    return NULL;
  }
  st->rp.v[st->rp.n] = r;
  st->rp.spk[st->rp.n++] = spk;
  return r;
}

/* A first message: X3DH as responder, sender check, replay record. *s on success. */
static int accept_first(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        const struct e2e_envelope *env, uint8_t *pt, size_t cap, size_t *n,
                        struct e2e_session **s) {
  const struct account_prekey *pk = account_prekey_find(&st->acct, env->spk_id);
  struct e2e_sender from;
  if (!pk) {
    RECV_DROP("a first message for a prekey this device no longer has");
    return MOMEDO_E_NOTFOUND;
  }
  struct e2e_prekey spk = {.id = pk->id, .expires_ms = pk->expires_ms,
                           .pq_dk = pk->pq_alg ? pk->pq_dk : NULL};
  memcpy(spk.sec, pk->sec, 32);
  memcpy(spk.pub, pk->pub, 32);
  const struct otpks_sec *opk = env->opk_id ? otpks_find(&st->otpk, env->opk_id) : NULL;
  if (env->opk_id && !opk) {
    RECV_DROP("a first message naming one-time prekey %u, which this device does not hold "
              "(used before: a replay; or never made here)", (unsigned)env->opk_id);
    return MOMEDO_E_NOTFOUND;
  }
  struct e2e_replay *rp = replay_for(st, pk->id);
  struct e2e_local l;
  local_of(&st->acct, &l);
  int rc = rp ? e2e_accept(s, &from, &l, &spk, opk ? opk->sec : NULL, rp, env, os_wall_ms(),
                           pt, cap, n)
              : MOMEDO_E_NOMEM;
  crypto_wipe(&l, sizeof l);
  crypto_wipe(&spk, sizeof spk);
  if (rc == MOMEDO_E_EXISTS) {
    RECV_DROP("a replayed first message (refused)");
    return rc;
  }
  if (rc == MOMEDO_E_BUSY) {
    RECV_DROP("a first message while 4096 others dated ahead of this device's clock are "
              "remembered (a flood of future-dated first messages?)");
    return rc;
  }
  if (rc) {
    RECV_DROP("a first message that does not open: %s", momedo_strerror(rc));
    return rc;
  }
  uint32_t pq_alg = 0;
  if ((rc = sender_current(c, st, cn, from.identity_key, from.device_key, from.dh_key,
                           &pq_alg)) != 0 ||
      (rc = e2e_sender_suite_check(&from, pq_alg)) != 0 ||
      (rc = e2e_replay_add(rp, env, from.created_ms, os_wall_ms())) != 0 ||
      (rc = eng__session_add(&st->sess, *s)) != 0) {
    char uid[IDS_USER_ID_STR_MAX];
    if (ids_user_id(uid, from.identity_key) != 0) uid[0] = '\0';
    RECV_DROP("the claimed sender %s is not backed by their key bundle: %s", uid,
              momedo_strerror(rc));
    e2e_session_free(*s);
    *s = NULL;
    return rc;
  }
  /* Used once: the secret goes with the save that precedes the acknowledgement. */
  if (env->opk_id) otpks_remove(&st->otpk, env->opk_id);
  return 0;
}

/* Decrypt env into pt; *s is the session it belongs to. E_EXISTS for a duplicate. */
static int open_envelope(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                         const struct e2e_envelope *env, uint8_t *pt, size_t cap, size_t *n,
                         struct e2e_session **s, int *accepted) {
  for (size_t i = st->sess.n; i-- > 0;) {
    if (!e2e_session_matches(st->sess.v[i], env)) continue;
    int rc = e2e_decrypt(st->sess.v[i], env, pt, cap, n);
    if (rc == MOMEDO_E_EXISTS) return rc;
    if (rc == 0) {
      *s = st->sess.v[i];
      eng__session_touch(&st->sess, i);
      return 0;
    }
    if (!e2e_envelope_is_prekey(env)) {
      RECV_DROP("a message that fails authentication (tampered or damaged): %s",
                momedo_strerror(rc));
      return rc;
    }
  }
  if (e2e_envelope_is_prekey(env)) {
    *accepted = 1;
    return accept_first(c, st, cn, env, pt, cap, n, s);
  }
  RECV_DROP("a message for a session this device does not have");
  return MOMEDO_E_NOTFOUND;
}

/* ---- attachments ---------------------------------------------------------------- */

/* Open chunk o (index next of f) into out (want bytes): sealed as exactly want bytes
 * (older senders) or padded to its bucket with zeros (content_chunk_padded_len). */
static int chunk_take(const struct nodeapi_obj *o, const Momedo__File *f, uint32_t next,
                      size_t want, uint8_t *scratch, uint8_t *out) {
  size_t pn = content_chunk_padded_len(want, f->chunk_bytes);
  size_t n = o->ciphertext_len - CRYPTO_TAG_LEN;
  if (o->ciphertext_len < CRYPTO_TAG_LEN || (n != want && n != pn)) return MOMEDO_E_BOUNDS;
  int rc = content_chunk_open(scratch, o->ciphertext, o->ciphertext_len, f->blob_key.data,
                              f->blob_id.data, next, f->chunk_count);
  for (size_t i = want; rc == 0 && i < n; i++)
    if (scratch[i] != 0) rc = MOMEDO_E_DECRYPT;
  if (rc == 0) memcpy(out, scratch, want);
  crypto_wipe(scratch, n);
  return rc;
}

int eng__fetch_chunks(struct eng *c, struct eng_conn *cn, const uint8_t mb[static 32],
                      const Momedo__File *f, uint8_t *buf) {
  uint32_t next = 0;
  int rc = 0;
  uint8_t *scratch = malloc(f->chunk_bytes ? f->chunk_bytes : 1);
  if (!scratch) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  while (rc == 0 && next < f->chunk_count) {
    struct nodeapi_fetch out;
    rc = nodeapi_fetch_blob(&cn->api, mb, f->blob_id.data, next, 0, os_wall_ms(), &out);
    if (rc) {
      rc = eng_api_fail(c, cn, rc, "downloading an attachment failed");
      break;
    }
    uint32_t before = next;
    for (size_t i = 0; i < out.n; i++) {
      const struct nodeapi_obj *o = &out.objs[i];
      if (o->err || o->info.index != next || o->info.count != f->chunk_count) continue;
      size_t off = (size_t)next * f->chunk_bytes;
      size_t want = f->size - off < f->chunk_bytes ? (size_t)(f->size - off) : f->chunk_bytes;
      if (chunk_take(o, f, next, want, scratch, buf + off) != 0) continue;
      next++;
    }
    if (next == before)
      rc = eng_fail(c, MOMEDO_E_NOTFOUND, "attachment chunk %u of %u is missing or damaged "
                    "on this node (it may still be replicating; sync again later)",
                    (unsigned)next + 1, (unsigned)f->chunk_count);
  }
  free(scratch);
  return rc;
}

/* A name safe to write: no path separators, no leading dot, printable. */
static void safe_name(char *out, size_t cap, const char *name) {
  size_t j = 0;
  for (size_t i = 0; name[i] && j + 1 < cap; i++) {
    unsigned char ch = (unsigned char)name[i];
    int bad = ch == '/' || ch == '\\' || ch < 0x20 || ch == 0x7f || (j == 0 && ch == '.');
    out[j++] = bad ? '_' : (char)ch;
  }
  out[j] = '\0';
  if (j == 0) snprintf(out, cap, "attachment");
}

static int save_copy(struct eng *c, const char *dir, const uint8_t id[static TL_ID_LEN],
                     const char *name, const uint8_t *data, size_t len, char *path, size_t cap) {
  char safe[CONTENT_NAME_BYTES_MAX + 1], hex[2 * TL_ID_LEN + 1];
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return eng_fail(c, MOMEDO_E_IO, "cannot create %s: %s", dir, strerror(errno));
  safe_name(safe, sizeof safe, name);
  tl_id_hex(hex, id);
  int n = snprintf(path, cap, "%s/%.12s-%s", dir, hex, safe);
  if (n < 0 || (size_t)n >= cap) return eng_fail(c, MOMEDO_E_NOSPACE, "path too long");
  int rc = vault_atomic_write(path, data, len, 0600);
  if (rc) return eng_fail(c, rc, "cannot write %s", path);
  return 0;
}

/* Download, check and keep an attachment: sealed in the vault, and as a plain file in
 * the save directory when one was given. */
static int take_file(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                     const Momedo__Content *m, struct tl_entry *e, struct eng_msg *out) {
  const Momedo__File *f = m->file;
  char vname[VAULT_NAME_MAX];
  uint8_t sha[CRYPTO_HASH_LEN];
  static char vpath[VAULT_NAME_MAX];
  if (f->size > CONTENT_FILE_BYTES_DEFAULT_MAX)
    return eng_fail(c, MOMEDO_E_TOOBIG, "an attachment of %llu bytes exceeds the limit",
                    (unsigned long long)f->size);
  uint8_t *buf = malloc(f->size ? (size_t)f->size : 1), mb[OBJ_MAILBOX_LEN];
  if (!buf) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  int rc = eng__blob_mailbox(mb, f->blob_id.data);
  if (rc == 0) rc = eng__fetch_chunks(c, cn, mb, f, buf);
  if (rc == 0 && (crypto_sha256(sha, buf, (size_t)f->size) != 0 ||
                  !crypto_ct_eq(sha, f->sha256.data, CRYPTO_HASH_LEN)))
    rc = eng_fail(c, MOMEDO_E_DECRYPT, "the attachment does not match its checksum");
  if (rc == 0) rc = vault_name(&st->vault, "att", f->blob_id.data, OBJ_ID_LEN, vname);
  if (rc == 0) rc = vault_write(&st->vault, vname, buf, (size_t)f->size);
  if (rc == 0) {
    snprintf(vpath, sizeof vpath, "%s", vname);
    e->path = vpath;
  }
  if (rc == 0 && st->save_dir)
    rc = save_copy(c, st->save_dir, e->id, f->name, buf, (size_t)f->size, out->saved,
                   sizeof out->saved);
  crypto_wipe(buf, (size_t)f->size);
  free(buf);
  return rc;
}

/* ---- content -------------------------------------------------------------------- */

static void receipt_note(struct eng_state *st, const uint8_t peer[static 32],
                         const uint8_t id[static TL_ID_LEN]) {
  struct eng_receipts *r = NULL;
  for (size_t i = 0; i < st->n_rc; i++)
    if (memcmp(st->rc[i].peer, peer, 32) == 0) r = &st->rc[i];
  if (!r) {
    struct eng_receipts *v = realloc(st->rc, (st->n_rc + 1) * sizeof *v);
    if (!v) return; /* a receipt is a courtesy; losing one is fine */
    st->rc = v;
    r = &st->rc[st->n_rc++];
    memcpy(r->peer, peer, 32);
    r->n = 0;
  }
  if (r->n < ENG_RECEIPTS_MAX) memcpy(r->ids[r->n++], id, TL_ID_LEN);
}

static int apply_receipt(struct eng *c, struct eng_state *st, const uint8_t peer[static 32],
                         const Momedo__Receipt *r, struct eng_msg *out) {
  struct hist_conv hc;
  uint8_t status = r->kind == MOMEDO__RECEIPT__KIND__READ ? TL_ST_READ : TL_ST_DELIVERED;
  int rc = eng__hist_tx(st);
  if (rc == 0) rc = hist_conv(&st->hist, HIST_CONTACT, peer, &hc);
  out->receipt = status == TL_ST_READ ? 2 : 1;
  for (size_t i = 0; rc == 0 && i < r->n_message_ids && i < ENG_RECEIPTS_MAX; i++) {
    struct tl_entry e;
    int64_t row;
    memcpy(out->receipt_ids[out->n_receipt_ids++], r->message_ids[i].data, TL_ID_LEN);
    rc = hist_get(&st->hist, &hc, r->message_ids[i].data, &e, &row);
    if (rc == MOMEDO_E_NOTFOUND) {
      rc = 0;
      continue;
    }
    if (rc == 0 && e.outgoing && e.status < status) {
      e.status = status;
      rc = hist_set(&st->hist, &hc, row, &e);
    }
    if (rc == 0) tl_entry_clear(&e);
  }
  return rc ? eng_fail(c, rc, "cannot store a receipt: %s", momedo_strerror(rc)) : 0;
}

static void label_of(struct eng_state *st, const uint8_t key[static 32], char *uid,
                     char *label, size_t cap) {
  if (ids_user_id(uid, key) != 0) uid[0] = '\0';
  const struct contact *ct = contacts_find_key(&st->contacts, key);
  if (ct && ct->name[0]) snprintf(label, cap, "%s", ct->name);
  else snprintf(label, cap, "%s", uid);
}

/* Store the decoded content m from identity `from`; fill out. */
static int take_content(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        const uint8_t from[static 32], const Momedo__Content *m,
                        struct eng_msg *out, int *shown) {
  const uint8_t *peer = from;
  int mine = memcmp(from, st->acct.identity.pub, 32) == 0, added = 0, rc;
  if (m->sync_copy) {
    if (!mine) {
      RECV_DROP("a 'sync copy' from another user");
      return 0;
    }
    peer = m->sync_peer.data;
    struct contact *ct;
    if (!contacts_find_key(&st->contacts, peer) &&
        (rc = contacts_pin(&st->contacts, peer, NULL, NULL, os_wall_ms(), &ct)) != 0)
      return eng_fail(c, rc, "cannot remember a contact");
  }
  out->sync_copy = m->sync_copy;
  label_of(st, from, out->from_uid, out->from_label, sizeof out->from_label);
  if (ids_user_id(out->peer_uid, peer) != 0) out->peer_uid[0] = '\0';
  if (m->body_case == MOMEDO__CONTENT__BODY_RECEIPT) {
    if (m->sync_copy) return 0;
    *shown = 1;
    return apply_receipt(c, st, peer, m->receipt, out);
  }
  eng__entry_of(m, m->sync_copy, &out->e);
  memcpy(out->e.from, from, TL_KEY_LEN); /* the session's identity: a reply's decider */
  int dup = 0;
  if ((rc = eng__timeline_has(c, st, HIST_CONTACT, peer, out->e.id, &dup)) != 0) return rc;
  if (dup) { /* stored before a crash cut the batch short: its receipt may not have gone */
    if (!m->sync_copy) receipt_note(st, from, out->e.id);
    return 0;
  }
  if (m->body_case == MOMEDO__CONTENT__BODY_FILE && (rc = take_file(c, st, cn, m, &out->e, out)) != 0)
    return rc;
  if (m->body_case == MOMEDO__CONTENT__BODY_TASK_REPLY) out->task_action = m->task_reply->action;
  if ((rc = eng__timeline_put(c, st, HIST_CONTACT, peer, &out->e, &added)) != 0) return rc;
  *shown = added;
  if (added && !m->sync_copy) receipt_note(st, from, out->e.id);
  return 0;
}

static void keep_note(struct eng_msg *m);

int eng_receive(struct eng *c, struct eng_state *st, struct eng_conn *cn, const uint8_t *ct,
                size_t len, struct eng_msg *m, int *shown) {
  struct e2e_envelope env;
  struct e2e_session *s = NULL;
  *shown = 0;
  memset(m, 0, sizeof *m);
  if (tl_seen_has(&st->seen, ct, len)) return 0;
  int rc = e2e_envelope_parse(&env, ct, len);
  if (rc) {
    RECV_DROP("not a momedo envelope: %s", momedo_strerror(rc));
    return tl_seen_add(&st->seen, ct, len);
  }
  size_t cap = env.ct_len, n = 0;
  uint8_t *pt = malloc(cap ? cap : 1);
  if (!pt) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  int accepted = 0;
  rc = open_envelope(c, st, cn, &env, pt, cap, &n, &s, &accepted);
  if (rc) {
    crypto_wipe(pt, cap);
    free(pt);
    if (rc == MOMEDO_E_NOMEM) return eng_fail(c, rc, "out of memory");
    return tl_seen_add(&st->seen, ct, len);
  }
  struct e2e_session_info info;
  e2e_session_get_info(s, &info);
  if (!accepted) { /* a first message that made a session was checked in accept_first */
    if ((rc = sender_current(c, st, cn, info.peer_identity, info.peer_device, NULL, NULL)) != 0) {
      char uid[IDS_USER_ID_STR_MAX];
      if (ids_user_id(uid, info.peer_identity) != 0) uid[0] = '\0';
      RECV_DROP("a message from a device that %s's key bundle no longer lists (removed, or "
                "the identity revoked): %s", uid, momedo_strerror(rc));
      sessions_drop_device(st, info.peer_device);
      crypto_wipe(pt, cap);
      free(pt);
      return tl_seen_add(&st->seen, ct, len);
    }
  }
  struct arena a;
  Momedo__Content *content = NULL;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  rc = content_decode(pt, n, &a, &content);
  if (rc) RECV_DROP("undecodable content: %s", momedo_strerror(rc));
  else if (memcmp(content->sender_device.data, info.peer_device, 32) != 0)
    RECV_DROP("content claims another sending device than its session");
  else if (content->body_case == MOMEDO__CONTENT__BODY_GROUP && content->sync_copy)
    RECV_DROP("a group control message marked as a sync copy");
  else if ((rc = content->body_case == MOMEDO__CONTENT__BODY_GROUP
                    ? eng_group_control(c, st, cn, info.peer_identity, info.peer_device,
                                        content->group)
                : content->body_case == MOMEDO__CONTENT__BODY_DEVICE_PREKEY
                    ? eng__prekey_take(c, st, info.peer_identity, info.peer_device, content)
                    : take_content(c, st, cn, info.peer_identity, content, m, shown)) != 0) {
    arena_close(&a);
    crypto_wipe(pt, cap);
    free(pt);
    return rc; /* I/O: stop here, nothing is saved, the item is fetched again */
  }
  /* m->e's strings point into the arena or statics: copy what printing needs. */
  if (*shown && m->e.text) {
    static char text[CONTENT_TEXT_BYTES_MAX + 1];
    snprintf(text, sizeof text, "%s", m->e.text);
    m->e.text = text;
  }
  if (*shown && m->e.mime) {
    static char mime[CONTENT_MIME_BYTES_MAX + 1];
    snprintf(mime, sizeof mime, "%s", m->e.mime);
    m->e.mime = mime;
  }
  if (*shown) keep_note(m);
  arena_close(&a);
  crypto_wipe(pt, cap);
  free(pt);
  return tl_seen_add(&st->seen, ct, len);
}

/* ---- group and channel items ------------------------------------------------------ */

/* m->e's strings point into an arena: copy what printing needs into statics. */
/* The caption / comment, for printing after the arena is gone (decisions on a task are
 * not printed from a received message: `history` shows them). */
static void keep_note(struct eng_msg *m) {
  static char note[TL_NOTE_MAX + 1];
  if (m->e.note) {
    snprintf(note, sizeof note, "%s", m->e.note);
    m->e.note = note;
  }
  m->e.dec = NULL;
  m->e.n_dec = 0;
}

static void keep_strings(struct eng_msg *m) {
  static char text[CONTENT_TEXT_BYTES_MAX + 1], mime[CONTENT_MIME_BYTES_MAX + 1];
  static char due[ENG_LABEL_MAX];
  if (m->e.text) {
    snprintf(text, sizeof text, "%s", m->e.text);
    m->e.text = text;
  }
  if (m->e.mime) {
    snprintf(mime, sizeof mime, "%s", m->e.mime);
    m->e.mime = mime;
  }
  if (m->e.due) {
    snprintf(due, sizeof due, "%s", m->e.due);
    m->e.due = due;
  }
  keep_note(m);
}

/* Store a decrypted group message from `from`; fill out. */
static int take_group_content(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                              struct eng_group *cg, const Momedo__Content *content,
                              const struct group_sender *from, struct eng_msg *out, int *shown) {
  static char sender[IDS_USER_ID_STR_MAX];
  const char *name = eng_group_name(cg);
  int added = 0, rc;
  if (!eng__group_body_ok(content)) {
    RECV_DROP("group %s carried a kind it does not take (text, files, locations, tasks and "
              "their replies)", name);
    return 0;
  }
  int mine = memcmp(from->identity_key, st->acct.identity.pub, 32) == 0;
  eng__entry_of(content, mine, &out->e);
  memcpy(out->e.from, from->identity_key, TL_KEY_LEN); /* authenticated by the group layer */
  label_of(st, from->identity_key, out->from_uid, out->from_label, sizeof out->from_label);
  snprintf(sender, sizeof sender, "%s", out->from_uid);
  eng__group_row(&out->e, sender);
  out->group_kind = 1;
  out->sync_copy = mine;
  snprintf(out->group, sizeof out->group, "%s", name);
  snprintf(out->sender, sizeof out->sender, "%s", sender);
  hex_encode(out->group_id, sizeof out->group_id, cg->id, GROUP_ID_LEN);
  int dup = 0;
  if ((rc = eng__timeline_has(c, st, HIST_GROUP, cg->id, out->e.id, &dup)) != 0 || dup) return rc;
  if (content->body_case == MOMEDO__CONTENT__BODY_FILE &&
      (rc = take_file(c, st, cn, content, &out->e, out)) != 0)
    return rc;
  /* Archived before the timeline takes it: if the archive fails, the message is not
   * marked seen and comes again. */
  if ((rc = eng__archive_take(c, st, cg, content, from->identity_key, out->e.path)) != 0)
    return rc;
  if ((rc = eng__timeline_put(c, st, HIST_GROUP, cg->id, &out->e, &added)) != 0) return rc;
  *shown = added;
  return 0;
}

int eng_group_receive(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                      struct eng_group *cg, const uint8_t mb[static 32], const uint8_t *wire,
                      size_t len, uint64_t created_ms, struct eng_msg *m, int *shown,
                      int *hold) {
  struct arena a;
  struct group_sender from;
  Momedo__Content *content = NULL;
  *shown = *hold = 0;
  memset(m, 0, sizeof *m);
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  int rc = group_receive(cg->g, mb, wire, len, &a, &content, &from);
  if (rc != MOMEDO_E_NOTFOUND && rc != MOMEDO_E_EXISTS) cg->dirty = 1;
  if (rc == 0) {
    rc = take_group_content(c, st, cn, cg, content, &from, m, shown);
    if (rc == 0 && *shown) keep_strings(m);
  } else if (rc == MOMEDO_E_NOTFOUND) {
    /* Its sender key has not come (yet): keep the cursor before it for a while. */
    *hold = created_ms + ENG_GROUP_KEY_WAIT_MS > os_wall_ms();
    if (!*hold) RECV_DROP("group %s: an item whose sender key never arrived", eng_group_name(cg));
    rc = 0;
  } else if (rc == MOMEDO_E_NOMEM) {
    rc = eng_fail(c, rc, "out of memory");
  } else if (rc == MOMEDO_E_EXISTS) {
    rc = 0;
  } else {
    const char *why = group_reason(cg->g);
    eng__note(c, "momedo: refused an item in group %s: %s%s%s\n", eng_group_name(cg),
            momedo_strerror(rc), why[0] ? ": " : "", why);
    rc = 0;
  }
  arena_close(&a);
  return rc;
}

int eng_channel_receive(struct eng *c, struct eng_state *st, struct eng_channel *ch,
                        const uint8_t *wire, size_t len, struct eng_msg *m, int *shown) {
  struct arena a;
  Momedo__ChannelMessage *cm = NULL;
  int added = 0;
  *shown = 0;
  memset(m, 0, sizeof *m);
  arena_init(&a, CHANNEL_DECODE_BYTES_MAX);
  int rc = channel_open(&ch->k, wire, len, &a, &cm);
  if (rc == MOMEDO_E_NOMEM) {
    arena_close(&a);
    return eng_fail(c, rc, "out of memory");
  }
  if (rc) {
    RECV_DROP("channel:%s: an item that does not open: %s", ch->name, momedo_strerror(rc));
    arena_close(&a);
    return 0;
  }
  struct tl_entry *e = &m->e;
  memcpy(e->id, cm->message_id.data, TL_ID_LEN);
  e->sent_ms = cm->sent_ms;
  e->stored_ms = os_wall_ms();
  e->acc = -1;
  e->due = cm->display_name; /* channel timelines: the sender's display name */
  if (cm->body_case == MOMEDO__CHANNEL_MESSAGE__BODY_TEXT) {
    e->kind = TL_TEXT;
    e->text = cm->text->text;
  } else {
    e->kind = TL_LOCATION;
    e->lat = cm->location->lat;
    e->lon = cm->location->lon;
    e->acc = cm->location->accuracy_m > 0 ? cm->location->accuracy_m : -1;
  }
  m->group_kind = 2;
  snprintf(m->group, sizeof m->group, "%s%s", ENG_CHANNEL_PREFIX, ch->name);
  snprintf(m->sender, sizeof m->sender, "%s", cm->display_name);
  snprintf(m->from_label, sizeof m->from_label, "%s", cm->display_name);
  rc = eng__timeline_put(c, st, HIST_CHANNEL, ch->k.mailbox, e, &added);
  *shown = rc == 0 && added;
  if (*shown) keep_strings(m);
  arena_close(&a);
  return rc;
}
