/* client/core/channel.c — passphrase channels: key derivation (scrypt + HKDF labels), and
 * sealing / opening messages (HMAC checked first, then XChaCha20-Poly1305, then the
 * decoded fields). No state, no I/O, no clock. */
#include "channel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "group_int.h"

#define CH_SALT_DOMAIN_LEN (sizeof CHANNEL_DOMAIN_SALT - 1)
#define CH_AD_DOMAIN_LEN (sizeof CHANNEL_DOMAIN_AD - 1)
#define CH_AD_LEN (CH_AD_DOMAIN_LEN + OBJ_MAILBOX_LEN + 1)
#define CH_CT_OFF (1 + CRYPTO_XNONCE_LEN)

void channel_keys_wipe(struct channel_keys *k) { crypto_wipe(k, sizeof *k); }

static int ch_label(uint8_t out[static 32], const uint8_t master[static 32], const char *label) {
  return crypto_hkdf(out, 32, NULL, 0, master, 32, label, strlen(label));
}

int channel_derive(struct channel_keys *k, const char *name, const char *passphrase,
                   unsigned log2_n, unsigned r, unsigned p) {
  uint8_t salt[CH_SALT_DOMAIN_LEN + 2 + CHANNEL_NAME_BYTES_MAX], master[32];
  memset(k, 0, sizeof *k);
  size_t nl = name ? strlen(name) : 0, pl = passphrase ? strlen(passphrase) : 0;
  if (!group__text_ok(name, 1, CHANNEL_NAME_BYTES_MAX) || pl == 0 || pl > CHANNEL_PASS_BYTES_MAX)
    return MOMEDO_E_INVAL;
  memcpy(salt, CHANNEL_DOMAIN_SALT, CH_SALT_DOMAIN_LEN);
  salt[CH_SALT_DOMAIN_LEN] = (uint8_t)(nl >> 8);
  salt[CH_SALT_DOMAIN_LEN + 1] = (uint8_t)nl;
  memcpy(salt + CH_SALT_DOMAIN_LEN + 2, name, nl);
  int rc = crypto_scrypt(master, sizeof master, passphrase, pl, salt, CH_SALT_DOMAIN_LEN + 2 + nl,
                         log2_n, r, p);
  if (rc == 0) rc = ch_label(k->mailbox, master, CHANNEL_INFO_MAILBOX);
  if (rc == 0) rc = ch_label(k->key, master, CHANNEL_INFO_KEY);
  if (rc == 0) rc = ch_label(k->mac_key, master, CHANNEL_INFO_MAC);
  crypto_wipe(master, sizeof master);
  if (rc < 0) channel_keys_wipe(k);
  return rc;
}

int channel_message_validate(const Momedo__ChannelMessage *m) {
  if (m->format != CHANNEL_FORMAT) return MOMEDO_E_VERSION;
  if (m->message_id.len != CHANNEL_ID_LEN || m->sent_ms == 0 ||
      !group__text_ok(m->display_name, 1, CHANNEL_DISPLAY_NAME_BYTES_MAX))
    return MOMEDO_E_BOUNDS;
  switch (m->body_case) {
  case MOMEDO__CHANNEL_MESSAGE__BODY_TEXT: {
    const char *t = m->text ? m->text->text : NULL;
    size_t n = t ? strlen(t) : 0;
    /* Text may hold newlines and tabs: UTF-8 only; the CLI escapes what it shows. */
    if (n == 0 || n > CHANNEL_TEXT_BYTES_MAX || !group__utf8_ok(t, n)) return MOMEDO_E_BOUNDS;
    return 0;
  }
  case MOMEDO__CHANNEL_MESSAGE__BODY_LOCATION: {
    const Momedo__Location *l = m->location;
    if (l == NULL || !isfinite(l->lat) || !isfinite(l->lon) || !isfinite(l->accuracy_m) ||
        l->lat < -90.0 || l->lat > 90.0 || l->lon < -180.0 || l->lon > 180.0 ||
        l->accuracy_m < 0.0 || l->accuracy_m > CONTENT_ACCURACY_M_MAX)
      return MOMEDO_E_BOUNDS;
    return 0;
  }
  default:
    return MOMEDO_E_UNKNOWN_KIND;
  }
}

static void ch_ad(uint8_t ad[static CH_AD_LEN], const struct channel_keys *k, uint8_t version) {
  memcpy(ad, CHANNEL_DOMAIN_AD, CH_AD_DOMAIN_LEN);
  memcpy(ad + CH_AD_DOMAIN_LEN, k->mailbox, OBJ_MAILBOX_LEN);
  ad[CH_AD_LEN - 1] = version;
}

int channel_seal(const struct channel_keys *k, const Momedo__ChannelMessage *m, uint8_t **out,
                 size_t *out_len) {
  uint8_t ad[CH_AD_LEN];
  *out = NULL, *out_len = 0;
  int rc = channel_message_validate(m);
  if (rc < 0) return rc;
  size_t n = momedo__channel_message__get_packed_size(m);
  if (n > CHANNEL_PLAINTEXT_MAX) return MOMEDO_E_TOOBIG;
  size_t wl = n + CHANNEL_WIRE_OVERHEAD, body = wl - CHANNEL_MAC_LEN;
  uint8_t *w = malloc(wl), *pt = malloc(n ? n : 1);
  rc = MOMEDO_E_NOMEM;
  if (w == NULL || pt == NULL) goto out;
  momedo__channel_message__pack(m, pt);
  w[0] = CHANNEL_WIRE_VERSION;
  ch_ad(ad, k, w[0]);
  if ((rc = crypto_random(w + 1, CRYPTO_XNONCE_LEN)) < 0) goto out;
  if ((rc = crypto_aead_seal(w + CH_CT_OFF, pt, n, ad, sizeof ad, w + 1, k->key)) < 0) goto out;
  if ((rc = crypto_hmac_sha256(w + body, k->mac_key, CHANNEL_KEY_LEN, w, body)) < 0) goto out;
  *out = w, *out_len = wl, w = NULL;
out:
  if (pt) crypto_wipe(pt, n);
  free(pt);
  free(w);
  return rc;
}

int channel_seal_text(const struct channel_keys *k, const char *display_name, const char *text,
                      uint64_t sent_ms, uint8_t **out, size_t *out_len) {
  Momedo__ChannelMessage m = MOMEDO__CHANNEL_MESSAGE__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  uint8_t id[CHANNEL_ID_LEN];
  *out = NULL, *out_len = 0;
  int rc = crypto_random(id, sizeof id);
  if (rc < 0) return rc;
  t.text = (char *)text;
  m.format = CHANNEL_FORMAT;
  m.message_id = (ProtobufCBinaryData){sizeof id, id};
  m.sent_ms = sent_ms;
  m.display_name = (char *)display_name;
  m.body_case = MOMEDO__CHANNEL_MESSAGE__BODY_TEXT;
  m.text = &t;
  return channel_seal(k, &m, out, out_len);
}

int channel_open(const struct channel_keys *k, const uint8_t *wire, size_t len, struct arena *a,
                 Momedo__ChannelMessage **out) {
  uint8_t ad[CH_AD_LEN], mac[CHANNEL_MAC_LEN];
  *out = NULL;
  if (len < CHANNEL_WIRE_OVERHEAD) return MOMEDO_E_TRUNCATED;
  if (len > CHANNEL_WIRE_MAX) return MOMEDO_E_TOOBIG;
  if (wire[0] != CHANNEL_WIRE_VERSION) return MOMEDO_E_VERSION;
  size_t body = len - CHANNEL_MAC_LEN, n = len - CHANNEL_WIRE_OVERHEAD;
  int rc = crypto_hmac_sha256(mac, k->mac_key, CHANNEL_KEY_LEN, wire, body);
  if (rc < 0) return rc;
  if (!crypto_ct_eq(mac, wire + body, CHANNEL_MAC_LEN)) return MOMEDO_E_DECRYPT;
  uint8_t *pt = malloc(n ? n : 1);
  if (pt == NULL) return MOMEDO_E_NOMEM;
  ch_ad(ad, k, wire[0]);
  rc = crypto_aead_open(pt, wire + CH_CT_OFF, body - CH_CT_OFF, ad, sizeof ad, wire + 1, k->key);
  if (rc < 0) {
    rc = MOMEDO_E_DECRYPT;
  } else {
    Momedo__ChannelMessage *m = momedo__channel_message__unpack(&a->pb, n, pt);
    if (m == NULL) rc = a->failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE;
    else if ((rc = channel_message_validate(m)) == 0) *out = m;
  }
  crypto_wipe(pt, n);
  free(pt);
  return rc;
}
