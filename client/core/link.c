/* client/core/link.c — the link code and the two sealed messages of linking a device (see
 * link.h). Parses what a user pastes and what a node hands back through a bounded
 * cursor; derives nothing long-term from the code's secret (the new device's keys are
 * its own, random); keeps no state and does no I/O. */
#include "link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cursor.h"

#define LINK_INFO_ID "momedo/link2/id"
#define LINK_INFO_REQ "momedo/link2/request"
#define LINK_INFO_ANS "momedo/link2/answer"
#define LINK_INFO_STATE "momedo/link2/state"
#define LINK_POP_DOMAIN "momedo/link2/pop"
#define LINK_SAFETY_DOMAIN "momedo/link2/safety"
#define LINK_REQ_MAGIC "MDLR"
#define LINK_AD_MAX (32 + OBJ_LINK_ID_LEN + 2 * 32)

/* ---- the code ------------------------------------------------------------------- */

static int link_host_ok(const char *h, size_t n) {
  if (n == 0 || n > LINK_HOST_CHARS_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)h[i] < 0x21 || (unsigned char)h[i] > 0x7e) return 0;
  return 1;
}

int link_code_encode(char *out, size_t cap, const struct link_code *l) {
  uint8_t b[LINK_CODE_BYTES_MAX];
  struct cursor w;
  size_t hl = strnlen(l->host, LINK_HOST_CHARS_MAX + 1), pl = strlen(LINK_CODE_PREFIX);
  if (!link_host_ok(l->host, hl) || l->port == 0) return MOMEDO_E_INVAL;
  if (cap < pl + 1) return MOMEDO_E_NOSPACE;
  cursor_init(&w, b, sizeof b);
  int rc = cursor_put_u8(&w, LINK_CODE_VERSION);
  if (rc == 0) rc = cursor_put_bytes(&w, l->secret, LINK_SECRET_LEN);
  if (rc == 0) rc = cursor_put_bytes(&w, l->identity, 32);
  if (rc == 0) rc = cursor_put_bytes(&w, l->node_key, 32);
  if (rc == 0) rc = cursor_put_be64(&w, l->expires_ms);
  if (rc == 0) rc = cursor_put_be16(&w, l->port);
  if (rc == 0) rc = cursor_put_u8(&w, (uint8_t)hl);
  if (rc == 0) rc = cursor_put_bytes(&w, l->host, hl);
  memcpy(out, LINK_CODE_PREFIX, pl);
  if (rc == 0) rc = ids_b32_encode_check(out + pl, cap - pl, b, w.pos, 0);
  crypto_wipe(b, sizeof b);
  return rc;
}

static int link_code_fields(struct link_code *l, struct cursor *r) {
  uint8_t v = 0, hl = 0;
  uint16_t port = 0;
  int rc = cursor_get_u8(r, &v);
  if (rc == 0 && v != LINK_CODE_VERSION) return MOMEDO_E_VERSION;
  if (rc == 0) rc = cursor_get_bytes(r, l->secret, LINK_SECRET_LEN);
  if (rc == 0) rc = cursor_get_bytes(r, l->identity, 32);
  if (rc == 0) rc = cursor_get_bytes(r, l->node_key, 32);
  if (rc == 0) rc = cursor_get_be64(r, &l->expires_ms);
  if (rc == 0) rc = cursor_get_be16(r, &port);
  if (rc == 0) rc = cursor_get_u8(r, &hl);
  if (rc == 0 && (hl == 0 || hl > LINK_HOST_CHARS_MAX || cursor_left(r) != hl || port == 0))
    rc = MOMEDO_E_INVAL;
  if (rc == 0) rc = cursor_get_bytes(r, l->host, hl);
  if (rc == 0 && !link_host_ok(l->host, hl)) rc = MOMEDO_E_INVAL;
  l->host[rc == 0 ? hl : 0] = '\0';
  l->port = port;
  return rc == MOMEDO_E_TRUNCATED ? MOMEDO_E_INVAL : rc;
}

int link_code_decode(struct link_code *out, const char *s) {
  uint8_t b[LINK_CODE_BYTES_MAX];
  size_t n = 0, pl = strlen(LINK_CODE_PREFIX);
  struct link_code l;
  struct cursor r;
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  if (strncasecmp(s, "momedo-link1:", pl) == 0) return MOMEDO_E_VERSION;
  if (strncasecmp(s, LINK_CODE_PREFIX, pl) != 0) return MOMEDO_E_PROTO;
  char tok[IDS_B32_LEN(LINK_CODE_BYTES_MAX) + 3];
  size_t tl = strcspn(s + pl, " \t\r\n");
  if (tl >= sizeof tok || s[pl + tl + strspn(s + pl + tl, " \t\r\n")] != '\0')
    return MOMEDO_E_INVAL;
  memcpy(tok, s + pl, tl);
  tok[tl] = '\0';
  int rc = ids_b32_decode_check(b, sizeof b, &n, tok);
  crypto_wipe(tok, sizeof tok);
  if (rc == MOMEDO_E_NOSPACE) rc = MOMEDO_E_INVAL;
  if (rc) return rc;
  memset(&l, 0, sizeof l);
  cursor_init(&r, b, n);
  rc = link_code_fields(&l, &r);
  crypto_wipe(b, sizeof b);
  if (rc == 0) *out = l;
  crypto_wipe(&l, sizeof l);
  return rc;
}

int link_keys_derive(struct link_keys *k, const uint8_t secret[static LINK_SECRET_LEN]) {
  int rc = crypto_hkdf(k->id, sizeof k->id, NULL, 0, secret, LINK_SECRET_LEN, LINK_INFO_ID,
                       sizeof LINK_INFO_ID - 1);
  if (rc == 0)
    rc = crypto_hkdf(k->req, sizeof k->req, NULL, 0, secret, LINK_SECRET_LEN, LINK_INFO_REQ,
                     sizeof LINK_INFO_REQ - 1);
  if (rc == 0)
    rc = crypto_hkdf(k->ans, sizeof k->ans, NULL, 0, secret, LINK_SECRET_LEN, LINK_INFO_ANS,
                     sizeof LINK_INFO_ANS - 1);
  if (rc) crypto_wipe(k, sizeof *k);
  return rc;
}

/* domain || link id || extra (the AEAD's associated data). */
static size_t link_ad(uint8_t ad[static LINK_AD_MAX], const char *domain, const uint8_t *id,
                      const uint8_t *extra, size_t extra_len) {
  size_t dl = strlen(domain);
  memcpy(ad, domain, dl);
  memcpy(ad + dl, id, OBJ_LINK_ID_LEN);
  if (extra_len) memcpy(ad + dl + OBJ_LINK_ID_LEN, extra, extra_len);
  return dl + OBJ_LINK_ID_LEN + extra_len;
}

/* ---- the request ------------------------------------------------------------------ */

static void link_entry_put(uint8_t e[static LINK_ENTRY_LEN], const struct account_device *d) {
  memcpy(e, d->device_key, 32);
  memcpy(e + 32, d->dh_key, 32);
  memcpy(e + 64, d->prekey, 32);
  be32_put(e + 96, d->prekey_id);
  be64_put(e + 100, d->prekey_expires_ms);
  memcpy(e + 108, d->prekey_sig, CRYPTO_SIG_LEN);
}

static void link_entry_get(struct account_device *d, const uint8_t e[static LINK_ENTRY_LEN]) {
  memset(d, 0, sizeof *d);
  memcpy(d->device_key, e, 32);
  memcpy(d->dh_key, e + 32, 32);
  memcpy(d->prekey, e + 64, 32);
  d->prekey_id = be32_get(e + 96);
  d->prekey_expires_ms = be64_get(e + 100);
  memcpy(d->prekey_sig, e + 108, CRYPTO_SIG_LEN);
}

/* "momedo/link2/pop" || link id || entry: what the device key signs. */
static void link_pop_msg(uint8_t *m, const struct link_keys *k, const uint8_t *entry) {
  size_t dl = sizeof LINK_POP_DOMAIN - 1;
  memcpy(m, LINK_POP_DOMAIN, dl);
  memcpy(m + dl, k->id, OBJ_LINK_ID_LEN);
  memcpy(m + dl + OBJ_LINK_ID_LEN, entry, LINK_ENTRY_LEN);
}
#define LINK_POP_MSG_LEN (sizeof LINK_POP_DOMAIN - 1 + OBJ_LINK_ID_LEN + LINK_ENTRY_LEN)

int link_request_seal(uint8_t out[static LINK_REQUEST_LEN], const struct link_keys *k,
                      const struct account_device *d, const struct crypto_sign_keypair *device) {
  uint8_t pt[LINK_REQUEST_PLAIN_LEN], msg[LINK_POP_MSG_LEN], ad[LINK_AD_MAX];
  if (memcmp(d->device_key, device->pub, 32) != 0) return MOMEDO_E_INVAL;
  memcpy(pt, LINK_REQ_MAGIC, 4);
  link_entry_put(pt + 4, d);
  link_pop_msg(msg, k, pt + 4);
  int rc = crypto_sign(pt + 4 + LINK_ENTRY_LEN, msg, sizeof msg, device);
  if (rc == 0) rc = crypto_random(out, CRYPTO_XNONCE_LEN);
  size_t adl = link_ad(ad, LINK_INFO_REQ, k->id, NULL, 0);
  if (rc == 0)
    rc = crypto_aead_seal(out + CRYPTO_XNONCE_LEN, pt, sizeof pt, ad, adl, out, k->req);
  crypto_wipe(pt, sizeof pt);
  return rc;
}

int link_request_open(struct account_device *d, const struct link_keys *k, const uint8_t *in,
                      size_t len) {
  uint8_t pt[LINK_REQUEST_PLAIN_LEN], msg[LINK_POP_MSG_LEN], ad[LINK_AD_MAX];
  memset(d, 0, sizeof *d);
  if (len != LINK_REQUEST_LEN) return MOMEDO_E_DECRYPT;
  size_t adl = link_ad(ad, LINK_INFO_REQ, k->id, NULL, 0);
  int rc = crypto_aead_open(pt, in + CRYPTO_XNONCE_LEN, len - CRYPTO_XNONCE_LEN, ad, adl, in,
                            k->req);
  if (rc) return MOMEDO_E_DECRYPT;
  if (memcmp(pt, LINK_REQ_MAGIC, 4) != 0) rc = MOMEDO_E_BOUNDS;
  link_pop_msg(msg, k, pt + 4);
  if (rc == 0 && crypto_verify(pt + 4 + LINK_ENTRY_LEN, msg, sizeof msg, pt + 4) != 0)
    rc = MOMEDO_E_BADSIG;
  if (rc == 0) link_entry_get(d, pt + 4);
  if (rc == 0 && obj_prekey_verify(d->prekey_sig, d->prekey_id, d->prekey_expires_ms, d->prekey,
                                   d->device_key) != 0)
    rc = MOMEDO_E_BADSIG;
  if (rc) memset(d, 0, sizeof *d);
  crypto_wipe(pt, sizeof pt);
  return rc;
}

/* ---- the answer -------------------------------------------------------------------- */

/* Key of the inner layer: HKDF(salt = k->ans, ikm = DH(eph, dh_key), info). */
static int link_state_key(uint8_t key[static 32], const struct link_keys *k,
                          const uint8_t dh_out[static 32]) {
  return crypto_hkdf(key, 32, k->ans, sizeof k->ans, dh_out, 32, LINK_INFO_STATE,
                     sizeof LINK_INFO_STATE - 1);
}

/* outer = nonce || AEAD_ans(device key || eph pub || nonce' || AEAD_state(state)) */
int link_answer_seal(uint8_t **out, size_t *out_len, const struct link_keys *k,
                     const uint8_t device_key[static 32], const uint8_t dh_key[static 32],
                     const uint8_t *state, size_t state_len) {
  uint8_t eph_sec[32], shared[32], key[32], ad[LINK_AD_MAX];
  *out = NULL;
  *out_len = 0;
  if (state_len > LINK_STATE_MAX) return MOMEDO_E_TOOBIG;
  size_t inner_len = 64 + CRYPTO_XNONCE_LEN + state_len + CRYPTO_TAG_LEN;
  size_t total = CRYPTO_XNONCE_LEN + inner_len + CRYPTO_TAG_LEN;
  uint8_t *inner = malloc(inner_len), *o = malloc(total);
  int rc = inner && o ? 0 : MOMEDO_E_NOMEM;
  if (rc == 0) rc = crypto_dh_keygen(eph_sec, inner + 32);
  if (rc == 0) rc = crypto_dh(shared, eph_sec, dh_key);
  if (rc == 0) rc = link_state_key(key, k, shared);
  if (rc == 0) rc = crypto_random(inner + 64, CRYPTO_XNONCE_LEN);
  if (rc == 0) {
    memcpy(inner, device_key, 32);
    size_t adl = link_ad(ad, LINK_INFO_STATE, k->id, inner, 64);
    rc = crypto_aead_seal(inner + 64 + CRYPTO_XNONCE_LEN, state, state_len, ad, adl,
                          inner + 64, key);
  }
  if (rc == 0) rc = crypto_random(o, CRYPTO_XNONCE_LEN);
  if (rc == 0) {
    size_t adl = link_ad(ad, LINK_INFO_ANS, k->id, NULL, 0);
    rc = crypto_aead_seal(o + CRYPTO_XNONCE_LEN, inner, inner_len, ad, adl, o, k->ans);
  }
  crypto_wipe(eph_sec, sizeof eph_sec);
  crypto_wipe(shared, sizeof shared);
  crypto_wipe(key, sizeof key);
  if (inner) crypto_wipe(inner, inner_len);
  free(inner);
  if (rc) {
    free(o);
    return rc;
  }
  *out = o;
  *out_len = total;
  return 0;
}

/* Open the outer layer into *inner (malloc'ed, *inner_len bytes). */
static int link_answer_outer(uint8_t **inner, size_t *inner_len, const struct link_keys *k,
                             const uint8_t *in, size_t len) {
  uint8_t ad[LINK_AD_MAX];
  *inner = NULL;
  if (len < CRYPTO_XNONCE_LEN + 64 + CRYPTO_XNONCE_LEN + 2 * CRYPTO_TAG_LEN ||
      len > OBJ_CIPHERTEXT_BYTES_MAX)
    return MOMEDO_E_DECRYPT;
  size_t n = len - CRYPTO_XNONCE_LEN - CRYPTO_TAG_LEN;
  uint8_t *p = malloc(n);
  if (!p) return MOMEDO_E_NOMEM;
  size_t adl = link_ad(ad, LINK_INFO_ANS, k->id, NULL, 0);
  if (crypto_aead_open(p, in + CRYPTO_XNONCE_LEN, len - CRYPTO_XNONCE_LEN, ad, adl, in,
                       k->ans) != 0) {
    free(p);
    return MOMEDO_E_DECRYPT;
  }
  *inner = p;
  *inner_len = n;
  return 0;
}

int link_answer_for(uint8_t device_key[static 32], const struct link_keys *k,
                    const uint8_t *in, size_t len) {
  uint8_t *inner = NULL;
  size_t n = 0;
  int rc = link_answer_outer(&inner, &n, k, in, len);
  if (rc) return rc;
  memcpy(device_key, inner, 32);
  crypto_wipe(inner, n);
  free(inner);
  return 0;
}

int link_answer_open(uint8_t **state, size_t *state_len, const struct link_keys *k,
                     const uint8_t device_key[static 32], const uint8_t dh_sec[static 32],
                     const uint8_t *in, size_t len) {
  uint8_t *inner = NULL, shared[32], key[32], ad[LINK_AD_MAX];
  size_t n = 0;
  *state = NULL;
  *state_len = 0;
  int rc = link_answer_outer(&inner, &n, k, in, len);
  if (rc) return rc;
  if (memcmp(inner, device_key, 32) != 0) rc = MOMEDO_E_DECRYPT; /* another device's */
  if (rc == 0) rc = crypto_dh(shared, dh_sec, inner + 32) == 0 ? 0 : MOMEDO_E_DECRYPT;
  if (rc == 0) rc = link_state_key(key, k, shared);
  size_t sl = n - 64 - CRYPTO_XNONCE_LEN - CRYPTO_TAG_LEN;
  uint8_t *p = rc == 0 ? malloc(sl ? sl : 1) : NULL;
  if (rc == 0 && !p) rc = MOMEDO_E_NOMEM;
  if (rc == 0) {
    size_t adl = link_ad(ad, LINK_INFO_STATE, k->id, inner, 64);
    if (crypto_aead_open(p, inner + 64 + CRYPTO_XNONCE_LEN, n - 64 - CRYPTO_XNONCE_LEN, ad, adl,
                         inner + 64, key) != 0)
      rc = MOMEDO_E_DECRYPT;
  }
  crypto_wipe(shared, sizeof shared);
  crypto_wipe(key, sizeof key);
  crypto_wipe(inner, n);
  free(inner);
  if (rc) {
    free(p);
    return rc;
  }
  *state = p;
  *state_len = sl;
  return 0;
}

int link_safety_code(char out[static 8], const struct link_keys *k,
                     const uint8_t device_key[static 32]) {
  uint8_t mac[CRYPTO_HASH_LEN], msg[sizeof LINK_SAFETY_DOMAIN - 1 + 32];
  memcpy(msg, LINK_SAFETY_DOMAIN, sizeof LINK_SAFETY_DOMAIN - 1);
  memcpy(msg + sizeof LINK_SAFETY_DOMAIN - 1, device_key, 32);
  int rc = crypto_hmac_sha256(mac, k->ans, sizeof k->ans, msg, sizeof msg);
  if (rc) return rc;
  uint32_t v = be32_get(mac) % 1000000u;
  snprintf(out, 8, "%03u %03u", (unsigned)(v / 1000), (unsigned)(v % 1000));
  return 0;
}
