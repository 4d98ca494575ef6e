/* Unit tests for passphrase channels (client/core/channel.h): the derivation against a
 * vector computed independently (Python hashlib.scrypt + RFC 5869 HKDF), same name and
 * passphrase give the same mailbox and keys, anything else differs, messages round-trip
 * with the display name only inside the ciphertext, and a wrong passphrase or a damaged
 * message fails cleanly. */
#include "harness.h"

#include "channel.h"

#define NOW 1700000000000ull
#define LOG2N_TEST 10 /* fast; the production default is CHANNEL_SCRYPT_LOG2_N */

static int contains(const uint8_t *h, size_t hl, const char *needle) {
  size_t nl = strlen(needle);
  for (size_t i = 0; i + nl <= hl; i++)
    if (memcmp(h + i, needle, nl) == 0) return 1;
  return 0;
}

static int derive(struct channel_keys *k, const char *name, const char *pass) {
  return channel_derive(k, name, pass, LOG2N_TEST, CHANNEL_SCRYPT_R, CHANNEL_SCRYPT_P);
}

static void test_vector(void) {
  struct channel_keys k;
  uint8_t want[32];
  CHECK_EQ(derive(&k, "Werkstatt 7b", "correct horse battery staple"), 0);
  th_unhex(want, 32, "3fe246a220d0f20d0bd8669adc72428b8bf5dc44da0001fc40843003a2f4c3e0");
  CHECK_MEM(k.mailbox, want, 32);
  th_unhex(want, 32, "690d05a99fe237b0294dccfd4aa89815635cb6e51466247e69803b5270c73f68");
  CHECK_MEM(k.key, want, 32);
  th_unhex(want, 32, "4079b901675d45b5f62e92d37dfed86e087e31c56e50b32eb6b500f33a028c52");
  CHECK_MEM(k.mac_key, want, 32);
  channel_keys_wipe(&k);
}

static void test_same_and_different(void) {
  struct channel_keys a, b, c, d;
  CHECK_EQ(derive(&a, "Krisenstab", "Rathaus 2024!"), 0);
  CHECK_EQ(derive(&b, "Krisenstab", "Rathaus 2024!"), 0);
  CHECK_MEM(&a, &b, sizeof a);
  CHECK_EQ(derive(&c, "Krisenstab", "Rathaus 2025!"), 0);
  CHECK_EQ(derive(&d, "krisenstab", "Rathaus 2024!"), 0);
  CHECK(memcmp(a.mailbox, c.mailbox, 32) != 0 && memcmp(a.key, c.key, 32) != 0);
  CHECK(memcmp(a.mailbox, d.mailbox, 32) != 0 && memcmp(a.key, d.key, 32) != 0);
  /* Distinct labels: the three outputs differ from each other. */
  CHECK(memcmp(a.mailbox, a.key, 32) != 0 && memcmp(a.key, a.mac_key, 32) != 0 &&
        memcmp(a.mailbox, a.mac_key, 32) != 0);
  /* The production parameters work too (one derivation, 64 MiB). */
  CHECK_EQ(channel_derive(&c, "Krisenstab", "Rathaus 2024!", CHANNEL_SCRYPT_LOG2_N,
                          CHANNEL_SCRYPT_R, CHANNEL_SCRYPT_P), 0);
  CHECK(memcmp(a.key, c.key, 32) != 0);
  /* Bad input. */
  CHECK_EQ(derive(&c, "", "x"), MOMEDO_E_INVAL);
  CHECK_EQ(derive(&c, "name", ""), MOMEDO_E_INVAL);
  CHECK_EQ(derive(&c, "tab\there", "x"), MOMEDO_E_INVAL);
  CHECK_EQ(derive(&c, "\xc3\x28", "x"), MOMEDO_E_INVAL);
}

static void test_roundtrip_and_failures(void) {
  struct channel_keys k, wrong;
  struct arena a;
  Momedo__ChannelMessage *m = NULL;
  uint8_t *w = NULL;
  size_t wl = 0;
  const char *name = "Hausmeister Süd";
  const char *text = "Gebäude 4: Lampe ersetzt.\nDanke!";
  CHECK_EQ(derive(&k, "Werkstatt", "s3cret passphrase"), 0);
  CHECK_EQ(derive(&wrong, "Werkstatt", "s3cret passphrasf"), 0);
  CHECK_EQ(channel_seal_text(&k, name, text, NOW, &w, &wl), 0);
  /* Nothing readable outside the ciphertext. */
  CHECK(!contains(w, wl, "Hausmeister"));
  CHECK(!contains(w, wl, "Lampe"));
  arena_init(&a, CHANNEL_DECODE_BYTES_MAX);
  CHECK_EQ(channel_open(&k, w, wl, &a, &m), 0);
  CHECK_STR(m->display_name, name);
  CHECK_EQ(m->body_case, MOMEDO__CHANNEL_MESSAGE__BODY_TEXT);
  CHECK_STR(m->text->text, text);
  CHECK_EQ(m->sent_ms, NOW);
  /* Two seals of the same text differ (random nonce). */
  uint8_t *w2 = NULL;
  size_t wl2 = 0;
  CHECK_EQ(channel_seal_text(&k, name, text, NOW, &w2, &wl2), 0);
  CHECK(wl2 == wl && memcmp(w, w2, wl) != 0);
  free(w2);
  /* Wrong passphrase, damage anywhere, truncation, version. */
  arena_reset(&a);
  CHECK_EQ(channel_open(&wrong, w, wl, &a, &m), MOMEDO_E_DECRYPT);
  CHECK(m == NULL);
  for (size_t off = 1; off < wl; off += 7) {
    w[off] ^= 0x01;
    CHECK_EQ(channel_open(&k, w, wl, &a, &m), MOMEDO_E_DECRYPT);
    w[off] ^= 0x01;
  }
  CHECK_EQ(channel_open(&k, w, CHANNEL_WIRE_OVERHEAD - 1, &a, &m), MOMEDO_E_TRUNCATED);
  w[0] = 2;
  CHECK_EQ(channel_open(&k, w, wl, &a, &m), MOMEDO_E_VERSION);
  free(w);
  /* A location, and a message with a bad display name is refused before sealing. */
  Momedo__ChannelMessage cm = MOMEDO__CHANNEL_MESSAGE__INIT;
  Momedo__Location loc = MOMEDO__LOCATION__INIT;
  uint8_t id[CHANNEL_ID_LEN];
  memset(id, 1, sizeof id);
  loc.lat = 52.52, loc.lon = 13.405, loc.accuracy_m = 8;
  cm.format = CHANNEL_FORMAT;
  cm.message_id = (ProtobufCBinaryData){sizeof id, id};
  cm.sent_ms = NOW;
  cm.display_name = (char *)"Einsatzleitung";
  cm.body_case = MOMEDO__CHANNEL_MESSAGE__BODY_LOCATION;
  cm.location = &loc;
  CHECK_EQ(channel_seal(&k, &cm, &w, &wl), 0);
  arena_reset(&a);
  CHECK_EQ(channel_open(&k, w, wl, &a, &m), 0);
  CHECK(m->location->lat == 52.52 && m->location->lon == 13.405);
  free(w);
  cm.display_name = (char *)"";
  CHECK_EQ(channel_seal(&k, &cm, &w, &wl), MOMEDO_E_BOUNDS);
  cm.display_name = (char *)"x";
  loc.lat = 91;
  CHECK_EQ(channel_seal(&k, &cm, &w, &wl), MOMEDO_E_BOUNDS);
  CHECK(w == NULL);
  arena_close(&a);
  channel_keys_wipe(&k);
  channel_keys_wipe(&wrong);
}

int main(void) {
  RUN(test_vector);
  RUN(test_same_and_different);
  RUN(test_roundtrip_and_failures);
  TEST_MAIN_END();
}
