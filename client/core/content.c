/* client/core/content.c — validation, encoding and decoding of message content, and the
 * per-blob chunk encryption; see content.h. Bytes from a peer are bounded before they
 * are decoded (size cap, arena cap) and every field is checked before it is used. */
#include "content.h"
#include "group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "x3dh.h"

_Static_assert(CONTENT_BYTES_MAX == E2E_PLAINTEXT_MAX, "content must fit one envelope");

int content_new_id(uint8_t id[static CONTENT_ID_LEN]) {
  return crypto_random(id, CONTENT_ID_LEN);
}

/* Well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF). */
static int content_utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t k;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      k = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      k = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      k = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += k + 1;
  }
  return 1;
}

/* A string field: NULL is empty; length in [lo, hi]; valid UTF-8. */
static int content_str_ok(const char *s, size_t lo, size_t hi) {
  size_t n = s ? strlen(s) : 0;
  return n >= lo && n <= hi && content_utf8_ok((const uint8_t *)s, n);
}

static int content_check_location(const Momedo__Location *l);

static int content_check_file(const Momedo__File *f) {
  const char *name = f->name;
  if (!content_str_ok(name, 1, CONTENT_NAME_BYTES_MAX)) return MOMEDO_E_BOUNDS;
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return MOMEDO_E_BOUNDS;
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == '\\' || (uint8_t)*p < 0x20 || *p == 0x7f) return MOMEDO_E_BOUNDS;
  size_t ml = f->mime ? strlen(f->mime) : 0;
  if (ml > CONTENT_MIME_BYTES_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < ml; i++)
    if ((uint8_t)f->mime[i] <= 0x20 || (uint8_t)f->mime[i] >= 0x7f) return MOMEDO_E_BOUNDS;
  if (f->blob_id.len != OBJ_ID_LEN || f->blob_key.len != CONTENT_KEY_LEN ||
      f->sha256.len != CRYPTO_HASH_LEN)
    return MOMEDO_E_BOUNDS;
  if (f->chunk_bytes == 0 || f->chunk_bytes > CONTENT_CHUNK_BYTES_MAX) return MOMEDO_E_BOUNDS;
  if (f->chunk_count == 0 || f->chunk_count > CONTENT_CHUNKS_MAX) return MOMEDO_E_BOUNDS;
  if (content_chunk_count(f->size, f->chunk_bytes) != f->chunk_count) return MOMEDO_E_BOUNDS;
  if (f->location && content_check_location(f->location) != 0) return MOMEDO_E_BOUNDS;
  if (!content_str_ok(f->caption, 0, CONTENT_CAPTION_BYTES_MAX)) return MOMEDO_E_BOUNDS;
  return 0;
}

static int content_check_location(const Momedo__Location *l) {
  if (!isfinite(l->lat) || !isfinite(l->lon) || !isfinite(l->accuracy_m)) return MOMEDO_E_BOUNDS;
  if (l->lat < -90.0 || l->lat > 90.0 || l->lon < -180.0 || l->lon > 180.0)
    return MOMEDO_E_BOUNDS;
  if (l->accuracy_m < 0.0 || l->accuracy_m > CONTENT_ACCURACY_M_MAX) return MOMEDO_E_BOUNDS;
  return 0;
}

static int content_check_receipt(const Momedo__Receipt *r) {
  if (r->kind != MOMEDO__RECEIPT__KIND__DELIVERED && r->kind != MOMEDO__RECEIPT__KIND__READ)
    return MOMEDO_E_BOUNDS;
  if (r->n_message_ids == 0 || r->n_message_ids > CONTENT_RECEIPT_IDS_MAX) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < r->n_message_ids; i++)
    if (r->message_ids[i].len != CONTENT_ID_LEN) return MOMEDO_E_BOUNDS;
  return 0;
}

static int content_check_prekey(const Momedo__DevicePrekey *p) {
  if (p->signed_prekey.len != E2E_KEY_LEN || p->prekey_signature.len != CRYPTO_SIG_LEN ||
      p->prekey_id == 0 || p->prekey_expires_ms == 0)
    return MOMEDO_E_BOUNDS;
  return 0;
}

/* A reply: a known action; a decision only with its matching action (what an older
 * client, which ignores the decision, still shows), a comment only with a decision. */
static int content_check_reply(const Momedo__TaskReply *r) {
  if (r->task_id.len != CONTENT_ID_LEN) return MOMEDO_E_BOUNDS;
  switch (r->action) {
  case MOMEDO__TASK_REPLY__ACTION__ACCEPT:
  case MOMEDO__TASK_REPLY__ACTION__DONE:
  case MOMEDO__TASK_REPLY__ACTION__DECLINE:
    break;
  default:
    return MOMEDO_E_BOUNDS;
  }
  switch (r->decision) {
  case MOMEDO__TASK_REPLY__DECISION__DECISION_NONE:
    return r->comment && r->comment[0] ? MOMEDO_E_BOUNDS : 0;
  case MOMEDO__TASK_REPLY__DECISION__APPROVED:
    if (r->action != MOMEDO__TASK_REPLY__ACTION__ACCEPT) return MOMEDO_E_BOUNDS;
    break;
  case MOMEDO__TASK_REPLY__DECISION__DECLINED:
    if (r->action != MOMEDO__TASK_REPLY__ACTION__DECLINE) return MOMEDO_E_BOUNDS;
    break;
  default:
    return MOMEDO_E_BOUNDS;
  }
  return content_str_ok(r->comment, 0, CONTENT_COMMENT_BYTES_MAX) ? 0 : MOMEDO_E_BOUNDS;
}

static int content_check_body(const Momedo__Content *c) {
  switch (c->body_case) {
  case MOMEDO__CONTENT__BODY_TEXT:
    if (c->text == NULL) return MOMEDO_E_BOUNDS;
    return content_str_ok(c->text->text, 1, CONTENT_TEXT_BYTES_MAX) ? 0 : MOMEDO_E_BOUNDS;
  case MOMEDO__CONTENT__BODY_FILE:
    return c->file ? content_check_file(c->file) : MOMEDO_E_BOUNDS;
  case MOMEDO__CONTENT__BODY_LOCATION:
    return c->location ? content_check_location(c->location) : MOMEDO_E_BOUNDS;
  case MOMEDO__CONTENT__BODY_TASK:
    if (c->task == NULL) return MOMEDO_E_BOUNDS;
    return content_str_ok(c->task->title, 1, CONTENT_TITLE_BYTES_MAX) ? 0 : MOMEDO_E_BOUNDS;
  case MOMEDO__CONTENT__BODY_TASK_REPLY:
    return c->task_reply ? content_check_reply(c->task_reply) : MOMEDO_E_BOUNDS;
  case MOMEDO__CONTENT__BODY_RECEIPT:
    return c->receipt ? content_check_receipt(c->receipt) : MOMEDO_E_BOUNDS;
  case MOMEDO__CONTENT__BODY_GROUP:
    return c->group ? group_control_validate(c->group) : MOMEDO_E_BOUNDS;
  case MOMEDO__CONTENT__BODY_DEVICE_PREKEY:
    return c->device_prekey ? content_check_prekey(c->device_prekey) : MOMEDO_E_BOUNDS;
  default:
    return MOMEDO_E_UNKNOWN_KIND;
  }
}

int content_validate(const Momedo__Content *c) {
  if (c->format != CONTENT_FORMAT) return MOMEDO_E_VERSION;
  if (c->message_id.len != CONTENT_ID_LEN || c->sender_device.len != E2E_KEY_LEN)
    return MOMEDO_E_BOUNDS;
  if (c->sent_ms == 0) return MOMEDO_E_BOUNDS;
  if (c->sync_copy ? c->sync_peer.len != E2E_KEY_LEN : c->sync_peer.len != 0)
    return MOMEDO_E_BOUNDS;
  return content_check_body(c);
}

int content_encode(const Momedo__Content *c, uint8_t **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  int rc = content_validate(c);
  if (rc < 0) return rc;
  size_t n = protobuf_c_message_get_packed_size(&c->base);
  if (n > CONTENT_BYTES_MAX) return MOMEDO_E_TOOBIG;
  uint8_t *buf = malloc(n ? n : 1);
  if (buf == NULL) return MOMEDO_E_NOMEM;
  if (protobuf_c_message_pack(&c->base, buf) != n) {
    free(buf);
    return MOMEDO_E_INTERNAL;
  }
  *out = buf;
  *out_len = n;
  return 0;
}

int content_decode(const uint8_t *buf, size_t len, struct arena *a, Momedo__Content **out) {
  *out = NULL;
  if (len > CONTENT_BYTES_MAX) return MOMEDO_E_TOOBIG;
  Momedo__Content *c = momedo__content__unpack(&a->pb, len, buf);
  if (c == NULL) return a->failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE;
  int rc = content_validate(c);
  if (rc < 0) return rc;
  *out = c;
  return 0;
}

/* ---- blobs ---- */

int content_blob_new(uint8_t blob_id[static OBJ_ID_LEN], uint8_t blob_key[static CONTENT_KEY_LEN]) {
  int rc = crypto_random(blob_id, OBJ_ID_LEN);
  if (rc == 0) rc = crypto_random(blob_key, CONTENT_KEY_LEN);
  return rc;
}

uint64_t content_chunk_count(uint64_t size, uint32_t chunk_bytes) {
  if (chunk_bytes == 0) return 0;
  return size == 0 ? 1 : (size - 1) / chunk_bytes + 1;
}

#define CONTENT_CHUNK_AD_LEN (sizeof CONTENT_DOMAIN_CHUNK - 1 + OBJ_ID_LEN + 8)

static void content_chunk_params(uint8_t nonce[static CRYPTO_XNONCE_LEN],
                                 uint8_t ad[static CONTENT_CHUNK_AD_LEN],
                                 const uint8_t blob_id[static OBJ_ID_LEN], uint32_t index,
                                 uint32_t count) {
  const size_t dl = sizeof CONTENT_DOMAIN_CHUNK - 1;
  memset(nonce, 0, CRYPTO_XNONCE_LEN);
  be32_put(nonce + CRYPTO_XNONCE_LEN - 4, index);
  memcpy(ad, CONTENT_DOMAIN_CHUNK, dl);
  memcpy(ad + dl, blob_id, OBJ_ID_LEN);
  be32_put(ad + dl + OBJ_ID_LEN, index);
  be32_put(ad + dl + OBJ_ID_LEN + 4, count);
}

int content_chunk_seal(uint8_t *out, const uint8_t *pt, size_t len,
                       const uint8_t blob_key[static CONTENT_KEY_LEN],
                       const uint8_t blob_id[static OBJ_ID_LEN], uint32_t index,
                       uint32_t count) {
  uint8_t nonce[CRYPTO_XNONCE_LEN], ad[CONTENT_CHUNK_AD_LEN];
  if (count == 0 || count > CONTENT_CHUNKS_MAX || index >= count ||
      len > CONTENT_CHUNK_BYTES_MAX)
    return MOMEDO_E_INVAL;
  content_chunk_params(nonce, ad, blob_id, index, count);
  return crypto_aead_seal(out, pt, len, ad, sizeof ad, nonce, blob_key);
}

int content_chunk_open(uint8_t *out, const uint8_t *in, size_t len,
                       const uint8_t blob_key[static CONTENT_KEY_LEN],
                       const uint8_t blob_id[static OBJ_ID_LEN], uint32_t index,
                       uint32_t count) {
  uint8_t nonce[CRYPTO_XNONCE_LEN], ad[CONTENT_CHUNK_AD_LEN];
  if (count == 0 || count > CONTENT_CHUNKS_MAX || index >= count || len < CRYPTO_TAG_LEN ||
      len > CONTENT_CHUNK_BYTES_MAX + CRYPTO_TAG_LEN)
    return MOMEDO_E_BOUNDS;
  content_chunk_params(nonce, ad, blob_id, index, count);
  int rc = crypto_aead_open(out, in, len, ad, sizeof ad, nonce, blob_key);
  return rc < 0 ? MOMEDO_E_DECRYPT : 0;
}

size_t content_chunk_padded_len(size_t len, size_t chunk_bytes) {
  size_t b = CONTENT_CHUNK_PAD_MIN;
  while (b < len && b < chunk_bytes) b *= 2;
  if (b > chunk_bytes) b = chunk_bytes;
  return b < len ? len : b;
}
