/* client/core/timeline.c — per-contact conversations and the seen set, sealed in the vault.
 * A whole timeline is rewritten on save (atomically, by the vault); that is fine at the
 * sizes a person produces and keeps the format trivial. Never decides trust. */
#include "timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "cursor.h"
#include "hex.h"
#include "vault.h"

#define TL_FORMAT 1
#define TL_SEEN_FORMAT 1
#define TL_EXT_FORMAT 1

void tl_id_hex(char out[static 2 * TL_ID_LEN + 1], const uint8_t id[static TL_ID_LEN]) {
  hex_encode(out, 2 * TL_ID_LEN + 1, id, TL_ID_LEN);
}

void tl_entry_clear(struct tl_entry *e) {
  free(e->text);
  free(e->due);
  free(e->path);
  free(e->mime);
  free(e->note);
  for (uint32_t i = 0; i < e->n_dec; i++) free(e->dec[i].comment);
  free(e->dec);
  e->text = e->due = e->path = e->mime = e->note = NULL;
  e->dec = NULL;
  e->n_dec = 0;
}

void timeline_free(struct timeline *t) {
  for (size_t i = 0; i < t->n; i++) tl_entry_clear(&t->v[i]);
  free(t->v);
  memset(t, 0, sizeof *t);
}

struct tl_entry *timeline_find(struct timeline *t, const uint8_t id[static TL_ID_LEN]) {
  for (size_t i = t->n; i-- > 0;)
    if (memcmp(t->v[i].id, id, TL_ID_LEN) == 0) return &t->v[i];
  return NULL;
}

int timeline_find_prefix(struct timeline *t, const char *hex, struct tl_entry **out) {
  size_t n = strlen(hex);
  *out = NULL;
  if (n < 6 || n > 2 * TL_ID_LEN || !hex_is_digits(hex, n)) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < t->n; i++) {
    if (!hex_has_prefix(t->v[i].id, TL_ID_LEN, hex)) continue;
    if (*out) return MOMEDO_E_EXISTS;
    *out = &t->v[i];
  }
  return *out ? 0 : MOMEDO_E_NOTFOUND;
}

static int dup_str(char **dst, const char *src, size_t max) {
  *dst = NULL;
  if (!src) return 0;
  size_t n = strlen(src);
  if (n > max) return MOMEDO_E_TOOBIG;
  *dst = malloc(n + 1);
  if (!*dst) return MOMEDO_E_NOMEM;
  memcpy(*dst, src, n + 1);
  return 0;
}

int timeline_add(struct timeline *t, const struct tl_entry *e, struct tl_entry **out) {
  if (out) *out = NULL;
  if (timeline_find(t, e->id)) return MOMEDO_E_EXISTS;
  struct tl_entry c = *e;
  c.note = NULL; /* the extension is not part of the timeline files */
  c.dec = NULL;
  c.n_dec = 0;
  int rc = dup_str(&c.text, e->text, TL_TEXT_MAX);
  if (rc == 0) rc = dup_str(&c.due, e->due, TL_SHORT_MAX);
  if (rc == 0) rc = dup_str(&c.path, e->path, TL_SHORT_MAX);
  if (rc == 0) rc = dup_str(&c.mime, e->mime, TL_SHORT_MAX);
  if (rc == 0 && t->n == TL_ENTRIES_MAX) {
    tl_entry_clear(&t->v[0]);
    memmove(t->v, t->v + 1, (t->n - 1) * sizeof *t->v);
    t->n--;
  }
  if (rc == 0 && t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    struct tl_entry *v = realloc(t->v, cap * sizeof *v);
    if (!v) rc = MOMEDO_E_NOMEM;
    else {
      t->v = v;
      t->cap = cap;
    }
  }
  if (rc) {
    tl_entry_clear(&c);
    return rc;
  }
  t->v[t->n] = c;
  if (out) *out = &t->v[t->n];
  t->n++;
  return 0;
}

/* ---- storage -------------------------------------------------------------------- */

void tl_entry_put(struct vbuf *b, const struct tl_entry *e) {
  vbuf_raw(b, e->id, TL_ID_LEN);
  vbuf_u8(b, e->outgoing);
  vbuf_u8(b, e->kind);
  vbuf_u8(b, e->status);
  vbuf_u8(b, e->task_state);
  vbuf_be64(b, e->sent_ms);
  vbuf_be64(b, e->stored_ms);
  vbuf_raw(b, e->device, TL_KEY_LEN);
  vbuf_str(b, e->text);
  vbuf_str(b, e->due);
  vbuf_str(b, e->path);
  vbuf_str(b, e->mime);
  vbuf_be64(b, e->size);
  vbuf_double(b, e->lat);
  vbuf_double(b, e->lon);
  vbuf_double(b, e->acc);
  vbuf_raw(b, e->ref, TL_ID_LEN);
}

int tl_entry_get(struct cursor *c, struct tl_entry *e) {
  memset(e, 0, sizeof *e);
  int rc = MOMEDO_E_CORRUPT;
  if (vrd_fixed(c, e->id, TL_ID_LEN) || cursor_get_u8(c, &e->outgoing) ||
      cursor_get_u8(c, &e->kind) || cursor_get_u8(c, &e->status) ||
      cursor_get_u8(c, &e->task_state) || cursor_get_be64(c, &e->sent_ms) ||
      cursor_get_be64(c, &e->stored_ms) || vrd_fixed(c, e->device, TL_KEY_LEN))
    return rc;
  if ((rc = vrd_strdup(c, &e->text, TL_TEXT_MAX)) || (rc = vrd_strdup(c, &e->due, TL_SHORT_MAX)) ||
      (rc = vrd_strdup(c, &e->path, TL_SHORT_MAX)) ||
      (rc = vrd_strdup(c, &e->mime, TL_SHORT_MAX)))
    goto fail;
  rc = MOMEDO_E_CORRUPT;
  if (cursor_get_be64(c, &e->size) || vrd_double(c, &e->lat) || vrd_double(c, &e->lon) ||
      vrd_double(c, &e->acc) || vrd_fixed(c, e->ref, TL_ID_LEN) || e->kind < TL_TEXT ||
      e->kind > TL_TASK_REPLY)
    goto fail;
  return 0;
fail:
  tl_entry_clear(e);
  return rc;
}

void tl_entry_put_ext(struct vbuf *b, const struct tl_entry *e) {
  vbuf_u8(b, TL_EXT_FORMAT);
  vbuf_u8(b, e->flags);
  vbuf_u8(b, e->decision);
  vbuf_raw(b, e->from, TL_KEY_LEN);
  vbuf_str(b, e->note);
  vbuf_be32(b, e->n_dec);
  for (uint32_t i = 0; i < e->n_dec; i++) {
    vbuf_raw(b, e->dec[i].who, TL_KEY_LEN);
    vbuf_u8(b, e->dec[i].decision);
    vbuf_be64(b, e->dec[i].ms);
    vbuf_str(b, e->dec[i].comment);
  }
}

int tl_entry_get_ext(struct cursor *c, struct tl_entry *e) {
  uint8_t f;
  uint32_t n;
  int rc = MOMEDO_E_CORRUPT;
  if (cursor_get_u8(c, &f) || f != TL_EXT_FORMAT || cursor_get_u8(c, &e->flags) ||
      cursor_get_u8(c, &e->decision) || vrd_fixed(c, e->from, TL_KEY_LEN) ||
      e->flags > (TL_F_LOCATION | TL_F_APPROVAL) || e->decision > TL_DEC_DECLINED)
    goto fail;
  if ((rc = vrd_strdup(c, &e->note, TL_NOTE_MAX)) != 0) goto fail;
  rc = MOMEDO_E_CORRUPT;
  if (cursor_get_be32(c, &n) || n > TL_DECISIONS_MAX) goto fail;
  if (n && !(e->dec = calloc(n, sizeof *e->dec))) {
    rc = MOMEDO_E_NOMEM;
    goto fail;
  }
  for (; e->n_dec < n; e->n_dec++) {
    struct tl_decision *d = &e->dec[e->n_dec];
    rc = MOMEDO_E_CORRUPT;
    if (vrd_fixed(c, d->who, TL_KEY_LEN) || cursor_get_u8(c, &d->decision) ||
        d->decision < TL_DEC_APPROVED || d->decision > TL_DEC_DONE ||
        cursor_get_be64(c, &d->ms) || (rc = vrd_strdup(c, &d->comment, TL_NOTE_MAX)) != 0) {
      e->n_dec++; /* its comment (if any) is freed with the rest */
      goto fail;
    }
  }
  return 0;
fail:
  tl_entry_clear(e);
  return rc;
}

int tl_entry_add_decision(struct tl_entry *t, const struct tl_decision *d) {
  for (uint32_t i = 0; i < t->n_dec; i++)
    if (memcmp(t->dec[i].who, d->who, TL_KEY_LEN) == 0 &&
        (d->decision <= TL_DEC_DECLINED || t->dec[i].decision == d->decision))
      return MOMEDO_E_EXISTS;
  if (t->n_dec >= TL_DECISIONS_MAX) return MOMEDO_E_TOOBIG;
  struct tl_decision *v = realloc(t->dec, (t->n_dec + 1) * sizeof *v);
  if (!v) return MOMEDO_E_NOMEM;
  t->dec = v;
  struct tl_decision *n = &v[t->n_dec];
  *n = *d;
  n->comment = NULL;
  int rc = dup_str(&n->comment, d->comment, TL_NOTE_MAX);
  if (rc) return rc;
  t->n_dec++;
  return 0;
}

static int tl_file(const struct vault *v, const uint8_t peer[static TL_KEY_LEN],
                   char name[static VAULT_NAME_MAX]) {
  return vault_name(v, "tl", peer, TL_KEY_LEN, name);
}

int timeline_save(const struct timeline *t, const struct vault *v) {
  char name[VAULT_NAME_MAX];
  struct vbuf b = {0};
  int rc = tl_file(v, t->peer, name);
  if (rc) return rc;
  vbuf_u8(&b, TL_FORMAT);
  vbuf_raw(&b, t->peer, TL_KEY_LEN);
  vbuf_be32(&b, (uint32_t)t->n);
  for (size_t i = 0; i < t->n; i++) tl_entry_put(&b, &t->v[i]);
  rc = b.err ? b.err : vault_write(v, name, b.p, b.len);
  vbuf_free(&b);
  return rc;
}

int timeline_remove(const struct vault *v, const uint8_t peer[static TL_KEY_LEN]) {
  char name[VAULT_NAME_MAX];
  int rc = tl_file(v, peer, name);
  return rc ? rc : vault_remove(v, name);
}

int timeline_load(struct timeline *t, const struct vault *v, const uint8_t peer[static TL_KEY_LEN]) {
  char name[VAULT_NAME_MAX];
  uint8_t *d = NULL, f, pk[TL_KEY_LEN];
  size_t n = 0;
  uint32_t count;
  memset(t, 0, sizeof *t);
  memcpy(t->peer, peer, TL_KEY_LEN);
  int rc = tl_file(v, peer, name);
  if (rc == 0) rc = vault_read(v, name, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  struct cursor c;
  cursor_init(&c, d, n);
  /* The peer key inside must match: a file renamed onto another contact is refused. */
  if (cursor_get_u8(&c, &f) || f != TL_FORMAT || vrd_fixed(&c, pk, TL_KEY_LEN) ||
      memcmp(pk, peer, TL_KEY_LEN) != 0 || cursor_get_be32(&c, &count) || count > TL_ENTRIES_MAX)
    rc = MOMEDO_E_CORRUPT;
  if (rc == 0 && count > 0) {
    t->v = calloc(count, sizeof *t->v);
    t->cap = count;
    if (!t->v) rc = MOMEDO_E_NOMEM;
  }
  for (uint32_t i = 0; rc == 0 && i < count; i++) {
    rc = tl_entry_get(&c, &t->v[i]);
    if (rc == 0) t->n++;
  }
  if (rc == 0 && cursor_left(&c) != 0) rc = MOMEDO_E_CORRUPT;
  free(d);
  if (rc) timeline_free(t);
  return rc;
}

/* ---- the seen set --------------------------------------------------------------- */

static int seen_hash(uint8_t out[static TL_SEEN_LEN], const uint8_t *data, size_t len) {
  uint8_t h[CRYPTO_HASH_LEN];
  int rc = crypto_sha256(h, data, len);
  memcpy(out, h, TL_SEEN_LEN);
  return rc;
}

int tl_seen_has(const struct tl_seen *s, const uint8_t *data, size_t len) {
  uint8_t h[TL_SEEN_LEN];
  if (seen_hash(h, data, len) != 0) return 0;
  for (size_t i = 0; i < s->n; i++)
    if (memcmp(s->h[(s->head + i) % TL_SEEN_MAX], h, TL_SEEN_LEN) == 0) return 1;
  return 0;
}

int tl_seen_add(struct tl_seen *s, const uint8_t *data, size_t len) {
  uint8_t h[TL_SEEN_LEN];
  if (tl_seen_has(s, data, len)) return 0;
  int rc = seen_hash(h, data, len);
  if (rc) return rc;
  if (!s->h) {
    s->h = calloc(TL_SEEN_MAX, TL_SEEN_LEN);
    if (!s->h) return MOMEDO_E_NOMEM;
  }
  if (s->n == TL_SEEN_MAX) {
    memcpy(s->h[s->head], h, TL_SEEN_LEN);
    s->head = (s->head + 1) % TL_SEEN_MAX;
  } else {
    memcpy(s->h[(s->head + s->n) % TL_SEEN_MAX], h, TL_SEEN_LEN);
    s->n++;
  }
  s->dirty = 1;
  return 0;
}

void tl_seen_free(struct tl_seen *s) {
  free(s->h);
  memset(s, 0, sizeof *s);
}

int tl_seen_save(struct tl_seen *s, const struct vault *v) {
  struct vbuf b = {0};
  if (!s->dirty) return 0;
  vbuf_u8(&b, TL_SEEN_FORMAT);
  vbuf_be32(&b, (uint32_t)s->n);
  for (size_t i = 0; i < s->n; i++) vbuf_raw(&b, s->h[(s->head + i) % TL_SEEN_MAX], TL_SEEN_LEN);
  int rc = b.err ? b.err : vault_write(v, TL_SEEN_FILE, b.p, b.len);
  vbuf_free(&b);
  if (rc == 0) s->dirty = 0;
  return rc;
}

int tl_seen_load(struct tl_seen *s, const struct vault *v) {
  uint8_t *d = NULL, f;
  size_t n = 0;
  uint32_t count;
  memset(s, 0, sizeof *s);
  int rc = vault_read(v, TL_SEEN_FILE, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  struct cursor c;
  cursor_init(&c, d, n);
  if (cursor_get_u8(&c, &f) || f != TL_SEEN_FORMAT || cursor_get_be32(&c, &count) ||
      count > TL_SEEN_MAX || cursor_left(&c) != (size_t)count * TL_SEEN_LEN)
    rc = MOMEDO_E_CORRUPT;
  if (rc == 0) {
    s->h = calloc(TL_SEEN_MAX, TL_SEEN_LEN);
    if (!s->h) rc = MOMEDO_E_NOMEM;
  }
  if (rc == 0) {
    if (count) memcpy(s->h, d + c.pos, (size_t)count * TL_SEEN_LEN);
    s->n = count;
  }
  free(d);
  if (rc) tl_seen_free(s);
  return rc;
}
