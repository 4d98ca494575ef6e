/* client/core/group.c — a group's local state around the record chain (group_chain.c) and
 * the sender keys (senderkey.c): epochs with their mailboxes and write keys, read
 * cursors, inspection, and the pairwise control messages (Content.group). No I/O, no
 * clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "group_int.h"
#include "mbox_write.h"

int group__fail(struct group *g, int rc, const char *fmt, ...) {
  va_list ap;
  if (g == NULL) return rc;
  va_start(ap, fmt);
  vsnprintf(g->why, sizeof g->why, fmt, ap);
  va_end(ap);
  return rc;
}

const char *group_reason(const struct group *g) { return g->why; }

int group_mailbox_derive(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                         const uint8_t group_id[static 32], uint64_t epoch,
                         const uint8_t salt[static 32], const uint8_t write_key[static 32]) {
  uint8_t tag[32];
  int rc = group__epoch_tag(tag, group_id, epoch, salt);
  return rc < 0 ? rc : mbox_write_mailbox(mailbox, write_key, tag);
}

int group_record_blob_mailbox(uint8_t mailbox[static OBJ_MAILBOX_LEN],
                              const uint8_t blob_id[static OBJ_ID_LEN]) {
  struct crypto_part parts[2] = {{GROUP_DOMAIN_BLOB_MAILBOX, sizeof GROUP_DOMAIN_BLOB_MAILBOX - 1},
                                 {blob_id, OBJ_ID_LEN}};
  return crypto_sha256_parts(mailbox, parts, 2);
}

/* ---- epochs ---- */

void group__epoch_wipe(struct group_epoch *e) {
  for (size_t i = 0; i < e->n_rx; i++) group__rx_wipe(&e->rx[i]);
  free(e->rx);
  crypto_wipe(e, sizeof *e);
}

int group__epoch_prepare(const struct group *g, const struct group_roster *R,
                         struct group_epoch *ne) {
  uint8_t seed[32];
  memset(ne, 0, sizeof *ne);
  ne->epoch = R->epoch;
  memcpy(ne->write_pub, R->write_key, 32);
  int rc = group__epoch_tag(ne->write_tag, R->group_id, R->epoch, R->salt);
  if (rc == 0) rc = mbox_write_mailbox(ne->mailbox, R->write_key, ne->write_tag);
  int poster = group__may_post(R, g->me_id, g->me_dev) && !g->left;
  if (rc == 0 && poster && R->mode == MOMEDO__GROUP_MODE__GROUP_MODE_GROUP) {
    if ((rc = group__write_seed(seed, R->epoch, R->salt)) == 0)
      rc = crypto_sign_from_seed(&ne->write, seed);
    ne->has_write = rc == 0;
  }
  if (rc == 0 && poster) rc = group__tx_new(ne);
  crypto_wipe(seed, sizeof seed);
  if (rc < 0) crypto_wipe(ne, sizeof *ne);
  return rc;
}

/* Only the current epoch posts: the others keep their receiving chains only. */
static void epoch_stop_sending(struct group_epoch *c) {
  crypto_wipe(&c->tx, sizeof c->tx);
  crypto_wipe(c->tx_ck, sizeof c->tx_ck);
  c->has_tx = 0;
}

void group__epoch_push(struct group *g, struct group_epoch *ne) {
  if (g->n_ep == GROUP_EPOCHS_MAX) {
    group__epoch_wipe(&g->ep[0]);
    memmove(&g->ep[0], &g->ep[1], (GROUP_EPOCHS_MAX - 1) * sizeof g->ep[0]);
    g->n_ep--;
  }
  if (g->n_ep) epoch_stop_sending(&g->ep[g->n_ep - 1]);
  g->ep[g->n_ep++] = *ne;
  memset(ne, 0, sizeof *ne);
}

void group__epoch_keep_old(struct group *g, struct group_epoch *ne) {
  epoch_stop_sending(ne);
  if (g->n_ep == 0) {
    g->ep[g->n_ep++] = *ne;
  } else {
    if (g->n_ep == GROUP_EPOCHS_MAX) {
      group__epoch_wipe(&g->ep[0]);
      memmove(&g->ep[0], &g->ep[1], (GROUP_EPOCHS_MAX - 1) * sizeof g->ep[0]);
      g->n_ep--;
    }
    g->ep[g->n_ep] = g->ep[g->n_ep - 1];
    g->ep[g->n_ep - 1] = *ne;
    g->n_ep++;
  }
  memset(ne, 0, sizeof *ne);
}

void group__epoch_reuse(struct group *g, size_t i, struct group_epoch *tx) {
  struct group_epoch e = g->ep[i];
  epoch_stop_sending(&g->ep[g->n_ep - 1]);
  memmove(&g->ep[i], &g->ep[i + 1], (g->n_ep - i - 1) * sizeof g->ep[0]);
  epoch_stop_sending(&e);
  if (tx != NULL && tx->has_tx) {
    e.tx = tx->tx, e.has_tx = 1, e.tx_n = 0;
    memcpy(e.tx_ck, tx->tx_ck, GROUP_KEY_LEN);
  }
  g->ep[g->n_ep - 1] = e;
}

struct group_epoch *group__epoch_by_mailbox(struct group *g, const uint8_t mailbox[static 32]) {
  long i = group__epoch_index(g, mailbox);
  return i < 0 ? NULL : &g->ep[i];
}

long group__epoch_index(const struct group *g, const uint8_t mailbox[static 32]) {
  for (size_t i = 0; i < g->n_ep; i++)
    if (memcmp(g->ep[i].mailbox, mailbox, 32) == 0) return (long)i;
  return -1;
}

void group_free(struct group *g) {
  if (g == NULL) return;
  for (size_t i = 0; i < g->n_ep; i++) group__epoch_wipe(&g->ep[i]);
  for (size_t i = 0; i < g->n_ch; i++) group__rec_free(&g->ch[i]);
  for (size_t i = 0; i < g->n_alt; i++) group__rec_free(&g->alt[i]);
  free(g->ch);
  free(g->alt);
  group__roster_clear(&g->r);
  free(g->sent);
  crypto_wipe(g, sizeof *g);
  free(g);
}

/* ---- mailboxes and cursors ---- */

size_t group_mailboxes(const struct group *g, uint8_t (*out)[OBJ_MAILBOX_LEN], size_t cap) {
  size_t n = 0;
  for (size_t i = g->n_ep; i-- > 0 && n < cap;) memcpy(out[n++], g->ep[i].mailbox, 32);
  return n;
}

int group_mailbox_write(const struct group *g, const uint8_t mailbox[static 32],
                        uint8_t write_key[static 32], uint8_t tag[static 32]) {
  long i = group__epoch_index(g, mailbox);
  if (i < 0) return MOMEDO_E_INVAL;
  memcpy(write_key, g->ep[i].write_pub, 32);
  memcpy(tag, g->ep[i].write_tag, 32);
  return 0;
}

int group_cursor_get(const struct group *g, const uint8_t mailbox[static 32],
                     const uint8_t node_key[static 32], uint64_t *cursor) {
  *cursor = 0;
  const struct group_epoch *e = group__epoch_by_mailbox((struct group *)g, mailbox);
  if (e == NULL) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < e->n_cur; i++)
    if (memcmp(e->cur[i].node, node_key, 32) == 0) *cursor = e->cur[i].cursor;
  return 0;
}

int group_cursor_set(struct group *g, const uint8_t mailbox[static 32],
                     const uint8_t node_key[static 32], uint64_t cursor) {
  struct group_epoch *e = group__epoch_by_mailbox(g, mailbox);
  if (e == NULL) return group__fail(g, MOMEDO_E_INVAL, "not a mailbox of this group");
  size_t i;
  for (i = 0; i < e->n_cur; i++)
    if (memcmp(e->cur[i].node, node_key, 32) == 0) break;
  if (i < e->n_cur) { /* move to the back: the back is the most recently used */
    memmove(&e->cur[i], &e->cur[i + 1], (e->n_cur - i - 1) * sizeof e->cur[0]);
    e->n_cur--;
  } else if (e->n_cur == GROUP_CURSORS_MAX) {
    memmove(&e->cur[0], &e->cur[1], (GROUP_CURSORS_MAX - 1) * sizeof e->cur[0]);
    e->n_cur--;
  }
  memcpy(e->cur[e->n_cur].node, node_key, 32);
  e->cur[e->n_cur++].cursor = cursor;
  return 0;
}

/* ---- inspection ---- */

void group_get_info(const struct group *g, struct group_info *info) {
  memset(info, 0, sizeof *info);
  memcpy(info->group_id, g->r.group_id, 32);
  info->version = g->r.version, info->epoch = g->r.epoch;
  info->mode = (Momedo__GroupMode)g->r.mode;
  memcpy(info->name, g->r.name, sizeof info->name);
  if (g->n_ep) memcpy(info->mailbox, g->ep[g->n_ep - 1].mailbox, 32);
  memcpy(info->record_hash, g->r.hash, 32);
  info->n_members = g->r.n, info->n_devices = g->r.ndev;
  long i = group__find(&g->r, g->me_id);
  info->removed = g->removed;
  info->left = g->left;
  info->my_role = i >= 0 && !g->removed ? (Momedo__GroupRole)g->r.m[i].role
                                        : MOMEDO__GROUP_ROLE__GROUP_ROLE_NONE;
  info->can_post = !g->removed && !g->left && group__may_post(&g->r, g->me_id, g->me_dev);
  info->n_alts = g->n_alt;
  info->recorded = g->r.recorded;
  memcpy(info->recorded_by, g->r.rec_by, 32);
  info->recorded_since_ms = g->r.rec_since_ms;
}

size_t group_member_count(const struct group *g) { return g->r.n; }

int group_member_at(const struct group *g, size_t i, struct group_member_view *m) {
  if (i >= g->r.n) return MOMEDO_E_NOTFOUND;
  m->identity_key = g->r.m[i].id;
  m->role = (Momedo__GroupRole)g->r.m[i].role;
  m->devices = (const uint8_t(*)[32])g->r.dev[g->r.m[i].dev0];
  m->n_devices = g->r.m[i].ndev;
  return 0;
}

const uint8_t *group_record(const struct group *g, size_t *len) {
  *len = group__head(g)->n;
  return group__head(g)->b;
}

/* ---- pairwise control messages ---- */

/* Encode Content{group = gc} from this device; the group body is checked here since
 * content_encode does not know it. */
static int group_control_pack(const Momedo__GroupControl *gc, const uint8_t dev[static 32],
                              uint64_t now_ms, uint8_t **out, size_t *out_len) {
  Momedo__Content c = MOMEDO__CONTENT__INIT;
  uint8_t id[CONTENT_ID_LEN];
  *out = NULL, *out_len = 0;
  int rc = group_control_validate(gc);
  if (rc == 0 && now_ms == 0) rc = MOMEDO_E_INVAL;
  if (rc == 0) rc = content_new_id(id);
  if (rc < 0) return rc;
  c.format = CONTENT_FORMAT;
  c.message_id = (ProtobufCBinaryData){CONTENT_ID_LEN, id};
  c.sent_ms = now_ms;
  c.sender_device = (ProtobufCBinaryData){32, (uint8_t *)dev};
  c.body_case = MOMEDO__CONTENT__BODY_GROUP;
  c.group = (Momedo__GroupControl *)gc;
  size_t n = momedo__content__get_packed_size(&c);
  if (n > CONTENT_BYTES_MAX) return MOMEDO_E_TOOBIG;
  if ((*out = malloc(n)) == NULL) return MOMEDO_E_NOMEM;
  *out_len = momedo__content__pack(&c, *out);
  return 0;
}

/* Content carrying one bytes body of the GroupControl (body_case picks which). */
static int group_bytes_content(int body_case, const uint8_t *b, size_t len,
                               const uint8_t sender_device[static 32], uint64_t now_ms,
                               uint8_t **out, size_t *out_len) {
  Momedo__GroupControl gc;
  momedo__group_control__init(&gc);
  *out = NULL, *out_len = 0;
  if (len > GROUP_RECORD_INLINE_BYTES_MAX) return MOMEDO_E_TOOBIG;
  gc.body_case = body_case;
  if (body_case == MOMEDO__GROUP_CONTROL__BODY_RECORD)
    gc.record = (ProtobufCBinaryData){len, (uint8_t *)b};
  else if (body_case == MOMEDO__GROUP_CONTROL__BODY_CHAIN)
    gc.chain = (ProtobufCBinaryData){len, (uint8_t *)b};
  else
    gc.request = (ProtobufCBinaryData){len, (uint8_t *)b};
  return group_control_pack(&gc, sender_device, now_ms, out, out_len);
}

int group_record_content(const uint8_t *rec, size_t rec_len,
                         const uint8_t sender_device[static 32], uint64_t now_ms, uint8_t **out,
                         size_t *out_len) {
  return group_bytes_content(MOMEDO__GROUP_CONTROL__BODY_RECORD, rec, rec_len, sender_device,
                             now_ms, out, out_len);
}

int group_chain_content(const uint8_t *chain, size_t len, const uint8_t sender_device[static 32],
                        uint64_t now_ms, uint8_t **out, size_t *out_len) {
  return group_bytes_content(MOMEDO__GROUP_CONTROL__BODY_CHAIN, chain, len, sender_device,
                             now_ms, out, out_len);
}

int group_request_content(const uint8_t *req, size_t len, const uint8_t sender_device[static 32],
                          uint64_t now_ms, uint8_t **out, size_t *out_len) {
  return group_bytes_content(MOMEDO__GROUP_CONTROL__BODY_REQUEST, req, len, sender_device,
                             now_ms, out, out_len);
}

int group_senderkey_content(const struct group *g, const uint8_t *to_identity, uint64_t now_ms,
                            uint8_t **out, size_t *out_len) {
  Momedo__GroupControl gc;
  momedo__group_control__init(&gc);
  Momedo__SenderKey sk = MOMEDO__SENDER_KEY__INIT;
  uint8_t pm[GROUP_SK_PROOF_MSG_LEN], proof[CRYPTO_SIG_LEN];
  *out = NULL, *out_len = 0;
  const struct group_epoch *e = g->n_ep ? &g->ep[g->n_ep - 1] : NULL;
  if (g->removed || g->left || e == NULL || !e->has_tx ||
      !group__may_post(&g->r, g->me_id, g->me_dev))
    return MOMEDO_E_DENIED;
  sk.group_id = (ProtobufCBinaryData){32, (uint8_t *)g->r.group_id};
  sk.epoch = e->epoch;
  sk.signing_key = (ProtobufCBinaryData){32, (uint8_t *)e->tx.pub};
  sk.chain_key = (ProtobufCBinaryData){32, (uint8_t *)e->tx_ck};
  sk.iteration = e->tx_n;
  sk.record_hash = (ProtobufCBinaryData){32, (uint8_t *)g->r.hash};
  sk.mailbox = (ProtobufCBinaryData){32, (uint8_t *)e->mailbox};
  group__sk_proof_msg(pm, g->r.group_id, e->epoch, e->mailbox, g->me_id, g->me_dev);
  int rc = crypto_sign(proof, pm, sizeof pm, &e->tx);
  if (rc < 0) return rc;
  sk.proof = (ProtobufCBinaryData){CRYPTO_SIG_LEN, proof};
  /* A channel's write key goes to its admins only (members read, never post). */
  if (g->r.mode == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL && e->has_write && to_identity &&
      group__is_admin(&g->r, to_identity))
    sk.write_seed = (ProtobufCBinaryData){32, (uint8_t *)e->write.seed};
  gc.body_case = MOMEDO__GROUP_CONTROL__BODY_SENDER_KEY;
  gc.sender_key = &sk;
  return group_control_pack(&gc, g->me_dev, now_ms, out, out_len);
}

static int group_blob_ok(const Momedo__File *f) {
  if (f == NULL || f->blob_id.len != OBJ_ID_LEN || f->blob_key.len != CONTENT_KEY_LEN ||
      f->sha256.len != CRYPTO_HASH_LEN)
    return 0;
  if (f->size == 0 || f->size > GROUP_CHAIN_BYTES_MAX) return 0;
  if (f->chunk_bytes == 0 || f->chunk_bytes > CONTENT_CHUNK_BYTES_MAX) return 0;
  return f->chunk_count == content_chunk_count(f->size, f->chunk_bytes);
}

int group_control_validate(const Momedo__GroupControl *gc) {
  if (gc == NULL) return MOMEDO_E_BOUNDS;
  switch (gc->body_case) {
  case MOMEDO__GROUP_CONTROL__BODY_RECORD:
    return gc->record.len > 0 && gc->record.len <= GROUP_RECORD_BYTES_MAX ? 0 : MOMEDO_E_BOUNDS;
  case MOMEDO__GROUP_CONTROL__BODY_CHAIN:
    return gc->chain.len > 0 && gc->chain.len <= CONTENT_BYTES_MAX ? 0 : MOMEDO_E_BOUNDS;
  case MOMEDO__GROUP_CONTROL__BODY_REQUEST:
    return gc->request.len > 0 && gc->request.len <= GROUP_REQUEST_BYTES_MAX ? 0 : MOMEDO_E_BOUNDS;
  case MOMEDO__GROUP_CONTROL__BODY_RECORD_BLOB:
    return group_blob_ok(gc->record_blob) ? 0 : MOMEDO_E_BOUNDS;
  case MOMEDO__GROUP_CONTROL__BODY_SENDER_KEY: {
    const Momedo__SenderKey *s = gc->sender_key;
    if (s == NULL || s->group_id.len != 32 || s->signing_key.len != 32 ||
        s->chain_key.len != 32 || s->record_hash.len != 32 || s->mailbox.len != 32 ||
        s->proof.len != CRYPTO_SIG_LEN || (s->write_seed.len != 0 && s->write_seed.len != 32) ||
        s->epoch == 0 || s->iteration >= GROUP_CHAIN_MAX)
      return MOMEDO_E_BOUNDS;
    return 0;
  }
  default:
    return MOMEDO_E_UNKNOWN_KIND;
  }
}

int group_content_decode(const uint8_t *buf, size_t len, struct arena *a,
                         Momedo__Content **out) {
  *out = NULL;
  if (len > CONTENT_BYTES_MAX) return MOMEDO_E_TOOBIG;
  Momedo__Content *c = momedo__content__unpack(&a->pb, len, buf);
  if (c == NULL) return a->failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE;
  int rc;
  if (c->body_case != MOMEDO__CONTENT__BODY_GROUP) {
    rc = content_validate(c);
  } else if (c->format != CONTENT_FORMAT) {
    rc = MOMEDO_E_VERSION;
  } else if (c->message_id.len != CONTENT_ID_LEN || c->sender_device.len != 32 ||
             c->sent_ms == 0 || c->sync_copy || c->sync_peer.len != 0) {
    rc = MOMEDO_E_BOUNDS;
  } else {
    rc = group_control_validate(c->group);
  }
  if (rc == 0) *out = c;
  return rc;
}
