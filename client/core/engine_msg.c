/* client/core/engine_msg.c — the sending half of the message engine: sessions per peer device
 * (the newest one sends), one envelope per device of the recipient, a sync copy per
 * other device of our own, attachments as encrypted chunks in a blob mailbox, and the
 * outgoing entry in history.db (and the history helpers the receiving half shares).
 * Posts only ciphertext; the sender's identity is
 * inside it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"

static void local_of(const struct account *a, struct e2e_local *l) {
  memcpy(l->identity_key, a->identity.pub, 32);
  memcpy(l->device_key, a->device.pub, 32);
  memcpy(l->dh_sec, a->dh_sec, 32);
  memcpy(l->dh_pub, a->dh_pub, 32);
}

/* Index of the newest session with this peer device, or -1. */
static long session_find(const struct eng_sessions *s, const uint8_t device[static 32]) {
  struct e2e_session_info info;
  for (size_t i = s->n; i-- > 0;) {
    e2e_session_get_info(s->v[i], &info);
    if (memcmp(info.peer_device, device, 32) == 0) return (long)i;
  }
  return -1;
}

/* Keep at most ENG_SESSIONS_PER_DEVICE per device and ENG_SESSIONS_MAX overall. */
static void sessions_trim(struct eng_sessions *s, const uint8_t device[static 32]) {
  struct e2e_session_info info;
  size_t seen = 0;
  for (size_t i = s->n; i-- > 0;) {
    e2e_session_get_info(s->v[i], &info);
    if (memcmp(info.peer_device, device, 32) != 0) continue;
    if (++seen <= ENG_SESSIONS_PER_DEVICE) continue;
    e2e_session_free(s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof s->v[0]);
    s->n--;
  }
  while (s->n > ENG_SESSIONS_MAX) {
    e2e_session_free(s->v[0]);
    memmove(&s->v[0], &s->v[1], (s->n - 1) * sizeof s->v[0]);
    s->n--;
  }
}

int eng__session_add(struct eng_sessions *s, struct e2e_session *e) {
  int rc = eng__sessions_push(s, e);
  if (rc < 0) return rc;
  struct e2e_session_info info;
  e2e_session_get_info(e, &info);
  sessions_trim(s, info.peer_device);
  return 0;
}

/* Make session i the newest (it is the one the peer uses now). */
void eng__session_touch(struct eng_sessions *s, size_t i) {
  struct e2e_session *e = s->v[i];
  memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof s->v[0]);
  s->v[s->n - 1] = e;
}

static int session_for(struct eng *c, struct eng_state *st, const uint8_t identity[static 32],
                       const struct account_device *d, struct e2e_session **out) {
  long i = session_find(&st->sess, d->device_key);
  if (i >= 0) {
    struct e2e_session_info info;
    e2e_session_get_info(st->sess.v[i], &info);
    /* A device that announced a KEM key since the session began gets a fresh suite-2
     * session instead of staying classical for ever (docs/crypto.md). */
    if (info.suite >= E2E_SUITE_X25519_MLKEM768 || d->pq_alg == OBJ_PQ_KEM_NONE) {
      *out = st->sess.v[i];
      return 0;
    }
  }
  Momedo__DeviceKeys dk = MOMEDO__DEVICE_KEYS__INIT;
  dk.device_key = (ProtobufCBinaryData){32, (uint8_t *)d->device_key};
  dk.dh_key = (ProtobufCBinaryData){32, (uint8_t *)d->dh_key};
  dk.signed_prekey = (ProtobufCBinaryData){32, (uint8_t *)d->prekey};
  dk.prekey_id = d->prekey_id;
  dk.prekey_expires_ms = d->prekey_expires_ms;
  dk.prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, (uint8_t *)d->prekey_sig};
  dk.home_node = (ProtobufCBinaryData){32, (uint8_t *)d->home_node};
  dk.pq_kem_alg = d->pq_alg;
  if (d->pq_alg) dk.pq_kem_key = (ProtobufCBinaryData){MLKEM768_EK_LEN, (uint8_t *)d->pq_key};
  struct e2e_remote r;
  struct e2e_local l;
  uint64_t now = os_wall_ms();
  int rc = e2e_remote_from_device(&r, identity, &dk, now);
  if (rc) return eng_fail(c, rc, "a device of the recipient has an unusable prekey: %s",
                          momedo_strerror(rc));
  eng__otpk_claim(c, st, d, &r); /* none: the signed prekey alone, as X3DH allows */
  local_of(&st->acct, &l);
  struct e2e_session *s = NULL;
  rc = e2e_initiate(&s, &l, &r, now);
  crypto_wipe(&l, sizeof l);
  if (rc) return eng_fail(c, rc, "cannot start a session: %s", momedo_strerror(rc));
  if ((rc = eng__session_add(&st->sess, s)) != 0) {
    e2e_session_free(s);
    return eng_fail(c, rc, "out of memory");
  }
  *out = s;
  return 0;
}

/* ---- the outbox: encrypt everything, save, then post -------------------------------
 * A message key must never encrypt twice. So the advanced chains are on disk before any
 * envelope leaves this device: a crash after posting and before the final save can no
 * longer roll a chain back to a position the node already holds (issue 11, finding 6).
 * (The salt in every header keeps keys fresh even then; saving first also keeps the
 * recipient from refusing the next message as a duplicate position.) */

void eng_outbox_free(struct eng_outbox *ob) {
  for (size_t i = 0; i < ob->n; i++) {
    crypto_wipe(ob->v[i].env, ob->v[i].len);
    free(ob->v[i].env);
  }
  free(ob->v);
  memset(ob, 0, sizeof *ob);
}

void eng_outbox_drop(struct eng_outbox *ob, int tag) {
  size_t k = 0;
  for (size_t i = 0; i < ob->n; i++) {
    if (ob->v[i].tag != tag) {
      ob->v[k++] = ob->v[i];
      continue;
    }
    crypto_wipe(ob->v[i].env, ob->v[i].len);
    free(ob->v[i].env);
  }
  ob->n = k;
}

static int outbox_push(struct eng_outbox *ob, const uint8_t mb[static OBJ_MAILBOX_LEN],
                       const uint8_t device_key[static 32], const struct eng_dests *dests,
                       uint8_t *env, size_t len) {
  if (ob->n == ob->cap) {
    size_t cap = ob->cap ? 2 * ob->cap : 8;
    struct eng_out *v = realloc(ob->v, cap * sizeof *v);
    if (!v) return MOMEDO_E_NOMEM;
    ob->v = v;
    ob->cap = cap;
  }
  memcpy(ob->v[ob->n].mb, mb, OBJ_MAILBOX_LEN);
  memcpy(ob->v[ob->n].device_key, device_key, 32);
  ob->v[ob->n].dests = *dests;
  ob->v[ob->n].env = env;
  ob->v[ob->n].tag = 0;
  ob->v[ob->n++].len = len;
  return 0;
}

/* Move every envelope of ob to the end of into, tagged. */
static int outbox_move(struct eng_outbox *into, struct eng_outbox *ob, int tag) {
  if (into->n + ob->n > into->cap) {
    size_t cap = into->cap ? into->cap : 8;
    while (cap < into->n + ob->n) cap *= 2;
    struct eng_out *v = realloc(into->v, cap * sizeof *v);
    if (!v) return MOMEDO_E_NOMEM;
    into->v = v;
    into->cap = cap;
  }
  for (size_t i = 0; i < ob->n; i++) {
    into->v[into->n] = ob->v[i];
    into->v[into->n++].tag = tag;
  }
  ob->n = 0; /* the envelopes belong to into now */
  return 0;
}

static int queue_for_device(struct eng *c, struct eng_state *st,
                            const uint8_t identity[static 32], const struct account_device *d,
                            const struct eng_dests *dests, const uint8_t *pt, size_t len,
                            struct eng_outbox *ob) {
  struct e2e_session *s = NULL;
  uint8_t mb[OBJ_MAILBOX_LEN];
  int rc = session_for(c, st, identity, d, &s);
  if (rc) return rc;
  size_t cap = e2e_envelope_len(s, len), n = 0;
  uint8_t *env = malloc(cap);
  if (!env) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  rc = e2e_encrypt(s, pt, len, env, cap, &n);
  if (rc) {
    free(env);
    return eng_fail(c, rc, "encryption failed: %s", momedo_strerror(rc));
  }
  if ((rc = obj_device_mailbox(mb, d->device_key)) == 0)
    rc = outbox_push(ob, mb, d->device_key, dests, env, n);
  if (rc) {
    free(env);
    return eng_fail(c, rc, "out of memory");
  }
  return 0;
}

static int own_device(const struct eng_state *st, const uint8_t key[static 32]) {
  for (size_t i = 0; i < st->acct.n_devices; i++)
    if (memcmp(st->acct.devices[i].device_key, key, 32) == 0) return 1;
  return 0;
}

static void post_req(struct nodeapi_post_req *p, const struct eng_out *o) {
  *p = (struct nodeapi_post_req){.mailbox = o->mb, .ciphertext = o->env,
                                 .ciphertext_len = o->len, .ttl_ms = ENG_ITEM_TTL_MS,
                                 .device_key = o->device_key, .dest_nodes = o->dests.k,
                                 .n_dest_nodes = o->dests.n};
}

/* Post every envelope of ob (saved already), ENG_POST_WINDOW in flight: the node answers
 * in order and syncs what arrived together as one group. Per envelope: a refusal goes to
 * failed[tag] (if given) and the first one to *refused; working hours of a contact's
 * device to c->deliver_*. Returns 0, or the link's failure (then every envelope not
 * answered counts as refused with it). */
static int post_pipelined(struct eng *c, const struct eng_state *st, struct eng_conn *cn,
                          const struct eng_outbox *ob, int *failed, int n_tags, int *refused,
                          size_t *n_ok) {
  size_t sent = 0, done = 0;
  int rc = 0;
  while (rc == 0 && done < ob->n) {
    while (rc == 0 && sent < ob->n && sent - done < ENG_POST_WINDOW) {
      struct nodeapi_post_req p;
      uint64_t rid = 0;
      post_req(&p, &ob->v[sent]);
      if ((rc = nodeapi_post_send(&cn->api, &p, &rid)) == 0) sent++;
    }
    struct nodeapi_post_result r;
    if (rc || (rc = nodeapi_post_collect(&cn->api, c->timeout_ms, &r)) != 0) break;
    const struct eng_out *o = &ob->v[done++];
    if (r.status) {
      if (failed && o->tag >= 0 && o->tag < n_tags && failed[o->tag] == 0) failed[o->tag] = r.status;
      if (*refused == 0) *refused = r.status;
      continue;
    }
    (*n_ok)++;
    if (cn->api.post_deliver_from_ms > c->deliver_from_ms && !own_device(st, o->device_key)) {
      c->deliver_from_ms = cn->api.post_deliver_from_ms;
      c->deliver_off_min = cn->api.post_deliver_off_min;
    }
  }
  for (; rc && done < ob->n; done++) {
    const struct eng_out *o = &ob->v[done];
    if (failed && o->tag >= 0 && o->tag < n_tags && failed[o->tag] == 0) failed[o->tag] = rc;
  }
  return rc;
}

int eng__outbox_post(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                     struct eng_outbox *ob, size_t *n_sent) {
  int rc = 0, refused = 0;
  *n_sent = 0;
  c->deliver_from_ms = 0;
  c->deliver_off_min = 0;
  if (c->defer) { /* the bot's batch: saved and posted together (eng_outbox_post_batch) */
    size_t n = ob->n;
    if ((rc = outbox_move(c->defer, ob, c->defer_tag)) != 0)
      return eng_fail(c, rc, "out of memory");
    *n_sent = n;
    return 0;
  }
  eng__crash_point("encrypted");
  if (ob->n && (rc = eng_save(c, st)) != 0) return rc; /* nothing posted unsaved */
  /* ... and the home node knows the save first, so an older copy of it is refused. */
  if (ob->n && (rc = eng_counter_sync(c, st, cn)) != 0) return rc;
  eng__crash_point("saved");
  rc = post_pipelined(c, st, cn, ob, NULL, 0, &refused, n_sent);
  if (rc == 0) rc = refused;
  if (rc) return eng_api_fail(c, cn, rc, "posting the message failed");
  if (ob->n) eng__crash_point("posted");
  return 0;
}

int eng_outbox_post_batch(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                          struct eng_outbox *ob, int *failed, int n_tags, int *link_rc) {
  int rc = 0, refused = 0;
  size_t n_ok = 0;
  *link_rc = 0;
  if (ob->n == 0) return 0;
  if ((rc = eng_save(c, st)) != 0) return rc; /* nothing posted unsaved */
  if ((rc = eng_counter_sync(c, st, cn)) != 0) return rc;
  rc = post_pipelined(c, st, cn, ob, failed, n_tags, &refused, &n_ok);
  if (rc) *link_rc = eng_api_fail(c, cn, rc, "posting the messages failed");
  return 0;
}

static int encode(struct eng *c, const Momedo__Content *m, uint8_t **pt, size_t *n) {
  int rc = content_encode(m, pt, n);
  if (rc == MOMEDO_E_TOOBIG) return eng_fail(c, rc, "the message is too long");
  if (rc) return eng_fail(c, rc, "the message is not valid: %s", momedo_strerror(rc));
  return 0;
}

/* Encode m and queue it for every device in devs[0..n) of identity (skipping this
 * device). */
static int queue_all(struct eng *c, struct eng_state *st, const uint8_t identity[static 32],
                     const struct account_device *devs, size_t n, const struct eng_dests *dests,
                     const Momedo__Content *m, struct eng_outbox *ob) {
  uint8_t *pt = NULL;
  size_t len = 0;
  int rc = encode(c, m, &pt, &len);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (memcmp(devs[i].device_key, st->acct.device.pub, 32) == 0) continue;
    rc = queue_for_device(c, st, identity, &devs[i], dests, pt, len, ob);
  }
  if (pt) crypto_wipe(pt, len);
  free(pt);
  return rc;
}

int eng__send_queue(struct eng *c, struct eng_state *st, struct contact *ct, Momedo__Content *m,
                    int no_sync, struct eng_outbox *ob) {
  static uint8_t mid[CONTENT_ID_LEN];
  if (ct->revoked)
    return eng_fail(c, MOMEDO_E_DEAD, "%s revoked their identity: nothing was sent",
                    contact_label(ct));
  static struct eng_dests to, self;
  eng_dests_clear(&to);
  if (eng__dests_contact(ct, &to) != 0) eng_dests_clear(&to); /* unknown: every node */
  eng_dests_clear(&self);
  eng_dests_self(st, &self);
  if (ct->n_devices == 0)
    return eng_fail(c, MOMEDO_E_NOTFOUND, "%s has no devices (their key bundle lists none)",
                    contact_label(ct));
  m->format = CONTENT_FORMAT;
  if (m->message_id.len == 0) {
    if (content_new_id(mid) != 0) return eng_fail(c, MOMEDO_E_RNG, "no randomness");
    m->message_id = (ProtobufCBinaryData){CONTENT_ID_LEN, mid};
  }
  m->sent_ms = os_wall_ms();
  m->sender_device = (ProtobufCBinaryData){32, st->acct.device.pub};
  m->sync_copy = 0;
  m->sync_peer = (ProtobufCBinaryData){0, NULL};
  int rc = queue_all(c, st, ct->key, ct->devices, ct->n_devices, &to, m, ob);
  if (rc || no_sync) return rc;
  /* Our other devices get a copy so phone and tablet show the same conversation. */
  m->sync_copy = 1;
  m->sync_peer = (ProtobufCBinaryData){32, ct->key};
  rc = queue_all(c, st, st->acct.identity.pub, st->acct.devices, st->acct.n_devices,
                 &self, m, ob);
  m->sync_copy = 0;
  m->sync_peer = (ProtobufCBinaryData){0, NULL};
  return rc;
}

int eng_send_content(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                     struct contact *ct, Momedo__Content *m, int no_sync, size_t *n_sent) {
  struct eng_outbox ob = {0};
  *n_sent = 0;
  st->claim = cn;
  int rc = eng__send_queue(c, st, ct, m, no_sync, &ob);
  st->claim = NULL;
  if (rc == 0) rc = eng__outbox_post(c, st, cn, &ob, n_sent);
  eng_outbox_free(&ob);
  return rc;
}

int eng__content_head(const struct eng_state *st, Momedo__Content *m,
                      uint8_t mid[static CONTENT_ID_LEN]) {
  if (content_new_id(mid) != 0) return MOMEDO_E_RNG;
  m->format = CONTENT_FORMAT;
  m->message_id = (ProtobufCBinaryData){CONTENT_ID_LEN, mid};
  m->sent_ms = os_wall_ms();
  m->sender_device = (ProtobufCBinaryData){32, (uint8_t *)st->acct.device.pub};
  m->sync_copy = 0;
  m->sync_peer = (ProtobufCBinaryData){0, NULL};
  return 0;
}

int eng_send_own(struct eng *c, struct eng_state *st, struct eng_conn *cn, Momedo__Content *m,
                 size_t *n_sent) {
  static uint8_t mid[CONTENT_ID_LEN];
  static struct eng_dests self;
  struct eng_outbox ob = {0};
  uint8_t *pt = NULL;
  size_t len = 0;
  *n_sent = 0;
  eng_dests_clear(&self);
  eng_dests_self(st, &self);
  if (eng__content_head(st, m, mid) != 0) return eng_fail(c, MOMEDO_E_RNG, "no randomness");
  int rc = encode(c, m, &pt, &len);
  st->claim = cn;
  for (size_t i = 0; rc == 0 && i < st->acct.n_devices; i++) {
    const struct account_device *d = &st->acct.devices[i];
    if (memcmp(d->device_key, st->acct.device.pub, 32) == 0) continue;
    rc = queue_for_device(c, st, st->acct.identity.pub, d, &self, pt, len, &ob);
    if (rc && rc != MOMEDO_E_NOMEM) { /* one device's stale prekey must not stop the rest */
      eng__note(c, "momedo: note: not sent to one of your devices: %s\n", c->why);
      rc = 0;
    }
  }
  st->claim = NULL;
  if (pt) crypto_wipe(pt, len);
  free(pt);
  if (rc == 0 && ob.n == 0)
    rc = eng_fail(c, MOMEDO_E_NOTFOUND, "none of your other devices could be reached");
  if (rc == 0) rc = eng__outbox_post(c, st, cn, &ob, n_sent);
  eng_outbox_free(&ob);
  return rc;
}

/* ---- attachments ---------------------------------------------------------------- */

int eng__blob_mailbox(uint8_t mb[static OBJ_MAILBOX_LEN], const uint8_t blob_id[static OBJ_ID_LEN]) {
  struct crypto_part parts[2] = {{ENG_BLOB_DOMAIN, sizeof ENG_BLOB_DOMAIN - 1},
                                 {blob_id, OBJ_ID_LEN}};
  return crypto_sha256_parts(mb, parts, 2);
}

int eng_upload_file(struct eng *c, struct eng_conn *cn, const uint8_t *data, size_t len,
                    const struct eng_dests *d, struct eng_blob *b) {
  uint8_t mb[OBJ_MAILBOX_LEN], id[OBJ_ID_LEN];
  memset(b, 0, sizeof *b);
  b->size = len;
  b->chunk_bytes = CONTENT_CHUNK_BYTES;
  uint64_t count = content_chunk_count(len, b->chunk_bytes);
  if (count > CONTENT_CHUNKS_MAX) return eng_fail(c, MOMEDO_E_TOOBIG, "the file is too large");
  b->count = (uint32_t)count;
  int rc = content_blob_new(b->id, b->key);
  if (rc == 0) rc = crypto_sha256(b->sha, data, len);
  if (rc == 0) rc = eng__blob_mailbox(mb, b->id);
  if (rc) return eng_fail(c, rc, "cannot prepare the attachment: %s", momedo_strerror(rc));
  uint8_t *ct = malloc(b->chunk_bytes + CRYPTO_TAG_LEN), *pad = calloc(1, b->chunk_bytes);
  if (!ct || !pad) {
    free(ct);
    free(pad);
    return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  }
  for (uint32_t i = 0; rc == 0 && i < b->count; i++) {
    size_t off = (size_t)i * b->chunk_bytes, n = len - off < b->chunk_bytes ? len - off : b->chunk_bytes;
    /* Padded to a bucket (finding 9): the node sees the bucket, not the size. */
    size_t pn = content_chunk_padded_len(n, b->chunk_bytes);
    memcpy(pad, data + off, n);
    memset(pad + n, 0, pn - n);
    n = pn;
    rc = content_chunk_seal(ct, pad, n, b->key, b->id, i, b->count);
    if (rc) {
      rc = eng_fail(c, rc, "cannot encrypt the attachment: %s", momedo_strerror(rc));
      break;
    }
    struct nodeapi_post_req p = {.mailbox = mb, .ciphertext = ct,
                                 .ciphertext_len = n + CRYPTO_TAG_LEN, .blob_id = b->id,
                                 .chunk_index = i, .chunk_count = b->count,
                                 .dest_nodes = d->k, .n_dest_nodes = d->n};
    rc = nodeapi_post(&cn->api, &p, id, NULL);
    if (rc) rc = eng_api_fail(c, cn, rc, "uploading the attachment failed");
  }
  crypto_wipe(pad, b->chunk_bytes);
  free(pad);
  free(ct);
  return rc;
}

/* ---- timeline ------------------------------------------------------------------- */

void eng_format_time(char out[static 32], uint64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (!localtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M", &tm) == 0)
    snprintf(out, 32, "%llu", (unsigned long long)ms);
}

static void format_date(char out[static 32], uint64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%MZ", &tm) == 0)
    snprintf(out, 32, "%llu", (unsigned long long)ms);
}

int eng__group_body_ok(const Momedo__Content *m) {
  switch (m->body_case) {
  case MOMEDO__CONTENT__BODY_TEXT:
  case MOMEDO__CONTENT__BODY_FILE:
  case MOMEDO__CONTENT__BODY_LOCATION:
  case MOMEDO__CONTENT__BODY_TASK:
    return 1;
  case MOMEDO__CONTENT__BODY_TASK_REPLY:
    return m->task_reply->decision != MOMEDO__TASK_REPLY__DECISION__DECISION_NONE ||
           m->task_reply->action == MOMEDO__TASK_REPLY__ACTION__ACCEPT ||
           m->task_reply->action == MOMEDO__TASK_REPLY__ACTION__DONE;
  default:
    return 0;
  }
}

void eng__group_row(struct tl_entry *e, const char *sender_uid) {
  if (e->kind == TL_TASK && e->due) e->note = e->due;
  e->due = (char *)sender_uid;
}

void eng__entry_of(const Momedo__Content *m, int outgoing, struct tl_entry *e) {
  static char due[32];
  memset(e, 0, sizeof *e);
  memcpy(e->id, m->message_id.data, TL_ID_LEN);
  e->outgoing = (uint8_t)outgoing;
  e->status = outgoing ? TL_ST_SENT : TL_ST_NONE;
  e->sent_ms = m->sent_ms;
  e->stored_ms = os_wall_ms();
  memcpy(e->device, m->sender_device.data, TL_KEY_LEN);
  e->acc = -1;
  switch (m->body_case) {
    case MOMEDO__CONTENT__BODY_TEXT:
      e->kind = TL_TEXT;
      e->text = m->text->text;
      break;
    case MOMEDO__CONTENT__BODY_FILE:
      e->kind = TL_FILE;
      e->text = m->file->name;
      e->mime = m->file->mime[0] ? m->file->mime : NULL;
      e->size = m->file->size;
      e->note = m->file->caption && m->file->caption[0] ? m->file->caption : NULL;
      if (m->file->location) { /* the photo's place: one message (issue 13 part 4) */
        e->flags |= TL_F_LOCATION;
        e->lat = m->file->location->lat;
        e->lon = m->file->location->lon;
        e->acc = m->file->location->accuracy_m > 0 ? m->file->location->accuracy_m : -1;
      }
      break;
    case MOMEDO__CONTENT__BODY_LOCATION:
      e->kind = TL_LOCATION;
      e->lat = m->location->lat;
      e->lon = m->location->lon;
      e->acc = m->location->accuracy_m > 0 ? m->location->accuracy_m : -1;
      break;
    case MOMEDO__CONTENT__BODY_TASK:
      e->kind = TL_TASK;
      e->text = m->task->title;
      if (m->task->approval) e->flags |= TL_F_APPROVAL;
      if (m->task->due_ms) {
        format_date(due, m->task->due_ms);
        e->due = due;
      }
      break;
    case MOMEDO__CONTENT__BODY_TASK_REPLY:
      e->kind = TL_TASK_REPLY;
      memcpy(e->ref, m->task_reply->task_id.data, TL_ID_LEN);
      e->task_state = m->task_reply->action == MOMEDO__TASK_REPLY__ACTION__DONE ? TL_TASK_DONE
                      : m->task_reply->action == MOMEDO__TASK_REPLY__ACTION__ACCEPT
                          ? TL_TASK_ACCEPTED
                          : TL_TASK_OPEN;
      e->decision = m->task_reply->decision == MOMEDO__TASK_REPLY__DECISION__APPROVED
                        ? TL_DEC_APPROVED
                    : m->task_reply->decision == MOMEDO__TASK_REPLY__DECISION__DECLINED
                        ? TL_DEC_DECLINED
                        : TL_DEC_NONE;
      e->note = m->task_reply->comment && m->task_reply->comment[0] ? m->task_reply->comment
                                                                      : NULL;
      break;
    default:
      break;
  }
}

int eng__hist_tx(struct eng_state *st) {
  if (!st->have_hist) return MOMEDO_E_INTERNAL;
  return st->hist.in_tx ? 0 : hist_begin(&st->hist);
}

int eng__hist_commit(struct eng *c, struct eng_state *st) {
  if (!st->have_hist || !st->hist.in_tx) return 0;
  int rc = hist_commit(&st->hist);
  if (rc) {
    hist_rollback(&st->hist);
    return eng_fail(c, rc, "cannot write the history: %s", momedo_strerror(rc));
  }
  return 0;
}

/* A task reply also moves the task it refers to. */
static int apply_task_reply(struct eng_state *st, const struct hist_conv *hc,
                            const struct tl_entry *e) {
  struct tl_entry task;
  int64_t row;
  if (e->kind != TL_TASK_REPLY) return 0;
  int rc = hist_get(&st->hist, hc, e->ref, &task, &row);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc == 0 && task.kind == TL_TASK && e->task_state > task.task_state) {
    task.task_state = e->task_state;
    rc = hist_set(&st->hist, hc, row, &task);
  }
  tl_entry_clear(&task);
  return rc;
}

int eng__timeline_put(struct eng *c, struct eng_state *st, enum hist_conv_kind kind,
                      const uint8_t key[static 32], struct tl_entry *e, int *added) {
  struct hist_conv hc;
  *added = 0;
  int rc = eng__hist_tx(st);
  if (rc == 0) rc = hist_conv(&st->hist, kind, key, &hc);
  if (rc == 0 && e->kind == TL_TASK_REPLY && e->outgoing)
    memcpy(e->from, st->acct.identity.pub, TL_KEY_LEN);
  /* Decisions on approval tasks, and accept / done on a group's task: checked against
   * the task (engine_approve.c); a refused one is told and not stored. */
  if (rc == 0 && (e->decision != TL_DEC_NONE || (kind == HIST_GROUP && e->kind == TL_TASK_REPLY))) {
    char why[ENG_WHY_MAX];
    rc = eng__decide(st, kind, &hc, e, 0, why, sizeof why);
    if (rc == MOMEDO_E_EXISTS || rc == MOMEDO_E_DENIED) return 0; /* told; not stored */
  }
  if (rc == 0) rc = hist_add(&st->hist, &hc, e, NULL);
  if (rc == MOMEDO_E_EXISTS) return 0;
  if (rc == 0) rc = apply_task_reply(st, &hc, e);
  if (rc) return eng_fail(c, rc, "cannot store the conversation: %s", momedo_strerror(rc));
  *added = 1;
  return 0;
}

int eng__timeline_has(struct eng *c, struct eng_state *st, enum hist_conv_kind kind,
                      const uint8_t key[static 32], const uint8_t id[static TL_ID_LEN],
                      int *has) {
  struct hist_conv hc;
  struct tl_entry e;
  *has = 0;
  int rc = eng__hist_tx(st);
  if (rc == 0) rc = hist_conv(&st->hist, kind, key, &hc);
  if (rc == 0) rc = hist_get(&st->hist, &hc, id, &e, NULL);
  if (rc == 0) {
    tl_entry_clear(&e);
    *has = 1;
  }
  if (rc == MOMEDO_E_NOTFOUND) rc = 0;
  return rc ? eng_fail(c, rc, "cannot read a conversation: %s", momedo_strerror(rc)) : 0;
}

int eng_store_outgoing(struct eng *c, struct eng_state *st, struct contact *ct,
                       const Momedo__Content *m, const char *path) {
  struct tl_entry e;
  int added;
  eng__entry_of(m, 1, &e);
  e.path = (char *)path;
  return eng__timeline_put(c, st, HIST_CONTACT, ct->key, &e, &added);
}
