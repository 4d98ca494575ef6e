/* client/core/otpks.c — this device's one-time prekey secrets in the vault (otpks.h):
 * generation (signed by the device key), lookup, deletion after first use, and the
 * bounds-checked file format: "format u8 || next_id be32 || count be32 || (id be32 ||
 * sec 32 || pub 32) * count". */
#include "otpks.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "vault.h"

void otpks_init(struct otpks *s) {
  memset(s, 0, sizeof *s);
  s->next_id = 1;
}

void otpks_wipe(struct otpks *s) {
  crypto_wipe(s, sizeof *s);
  s->next_id = 1;
}

int otpks_encode(const struct otpks *s, uint8_t **out, size_t *len) {
  struct vbuf b = {0};
  vbuf_u8(&b, OTPKS_FORMAT);
  vbuf_be32(&b, s->next_id);
  vbuf_be32(&b, (uint32_t)s->n);
  for (size_t i = 0; i < s->n; i++) {
    vbuf_be32(&b, s->v[i].id);
    vbuf_raw(&b, s->v[i].sec, CRYPTO_DH_LEN);
    vbuf_raw(&b, s->v[i].pub, CRYPTO_DH_LEN);
  }
  if (b.err) {
    vbuf_free(&b);
    return b.err;
  }
  *out = b.p;
  *len = b.len;
  return 0;
}

int otpks_parse(struct otpks *s, const uint8_t *p, size_t len) {
  struct cursor cu;
  uint8_t f;
  uint32_t count;
  otpks_init(s);
  if (len > OTPKS_FILE_BYTES_MAX) return MOMEDO_E_CORRUPT;
  cursor_init(&cu, (uint8_t *)p, len);
  if (cursor_get_u8(&cu, &f) || f != OTPKS_FORMAT || cursor_get_be32(&cu, &s->next_id) ||
      s->next_id == 0 || cursor_get_be32(&cu, &count) || count > OTPKS_LOCAL_MAX)
    goto bad;
  for (uint32_t i = 0; i < count; i++) {
    struct otpks_sec *e = &s->v[i];
    uint8_t pub[CRYPTO_DH_LEN];
    if (cursor_get_be32(&cu, &e->id) || e->id == 0 || e->id >= s->next_id ||
        (i > 0 && e->id <= s->v[i - 1].id) || vrd_fixed(&cu, e->sec, CRYPTO_DH_LEN) ||
        vrd_fixed(&cu, e->pub, CRYPTO_DH_LEN))
      goto bad;
    s->n = i + 1;
    if (crypto_dh_public(pub, e->sec) != 0 || memcmp(pub, e->pub, CRYPTO_DH_LEN) != 0) goto bad;
  }
  if (cursor_left(&cu) != 0) goto bad;
  return 0;
bad:
  otpks_wipe(s);
  return MOMEDO_E_CORRUPT;
}

int otpks_load(struct otpks *s, const struct vault *v) {
  uint8_t *d = NULL;
  size_t n = 0;
  otpks_init(s);
  int rc = vault_read(v, OTPKS_FILE, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  rc = otpks_parse(s, d, n);
  crypto_wipe(d, n);
  free(d);
  return rc;
}

int otpks_save(struct otpks *s, const struct vault *v) {
  uint8_t *d = NULL;
  size_t n = 0;
  if (!s->dirty) return 0;
  int rc = otpks_encode(s, &d, &n);
  if (rc == 0) rc = vault_write(v, OTPKS_FILE, d, n);
  if (d) crypto_wipe(d, n);
  free(d);
  if (rc == 0) s->dirty = 0;
  return rc;
}

static void drop_oldest(struct otpks *s) {
  crypto_wipe(&s->v[0], sizeof s->v[0]);
  memmove(&s->v[0], &s->v[1], (s->n - 1) * sizeof s->v[0]);
  s->n--;
}

int otpks_generate(struct otpks *s, const struct crypto_sign_keypair *device, size_t count,
                   struct otpk_pub *out) {
  if (count > OTPK_UPLOAD_MAX) return MOMEDO_E_BOUNDS;
  if (s->next_id > UINT32_MAX - count) return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < count; i++) {
    struct otpks_sec e = {.id = s->next_id};
    int rc = crypto_dh_keygen(e.sec, e.pub);
    if (rc == 0) {
      out[i].id = e.id;
      memcpy(out[i].key, e.pub, CRYPTO_DH_LEN);
      rc = otpk_sign(&out[i], device);
    }
    if (rc) {
      crypto_wipe(&e, sizeof e);
      return rc;
    }
    if (s->n == OTPKS_LOCAL_MAX) drop_oldest(s);
    s->v[s->n++] = e;
    s->next_id++;
    s->dirty = 1;
    crypto_wipe(&e, sizeof e);
  }
  return 0;
}

const struct otpks_sec *otpks_find(const struct otpks *s, uint32_t id) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].id == id) return &s->v[i];
  return NULL;
}

void otpks_remove(struct otpks *s, uint32_t id) {
  for (size_t i = 0; i < s->n; i++) {
    if (s->v[i].id != id) continue;
    crypto_wipe(&s->v[i], sizeof s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof s->v[0]);
    s->n--;
    s->dirty = 1;
    return;
  }
}
