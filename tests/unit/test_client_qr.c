/* Unit tests for the terminal QR encoder (client/cli_qr.c): Reed-Solomon against the
 * ISO/IEC 18004 worked example, every format-information word of levels L and M, the
 * version-information words, and the structure of a real momedo payload's symbol
 * (version, finder, timing, dark module, both format copies naming the mask used). */
#include "harness.h"

#include "cli.h"
#include "ids.h"

static void test_reed_solomon(void) {
  /* "01234567" as 1-M: data codewords and their 10 EC codewords (ISO/IEC 18004 annex). */
  static const uint8_t data[16] = {0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11,
                                   0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11};
  static const uint8_t want[10] = {0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55};
  uint8_t ec[10];
  cli__qr_rs(data, sizeof data, ec, sizeof ec);
  CHECK_MEM(ec, want, sizeof want);
}

static void test_format_and_version_words(void) {
  static const unsigned l[8] = {0x77C4, 0x72F3, 0x7DAA, 0x789D, 0x662F, 0x6318, 0x6C41, 0x6976};
  static const unsigned m[8] = {0x5412, 0x5125, 0x5E7C, 0x5B4B, 0x45F9, 0x40CE, 0x4F97, 0x4AA0};
  for (int i = 0; i < 8; i++) {
    CHECK_EQ(cli__qr_format_bits(0, i), l[i]);
    CHECK_EQ(cli__qr_format_bits(1, i), m[i]);
  }
  CHECK_EQ(cli__qr_version_bits(7), 0x07C94);
  CHECK_EQ(cli__qr_version_bits(10), 0x0A4D3);
}

static unsigned read_format_a(const struct cli_qr *q) {
  unsigned b = 0;
  for (int i = 0; i <= 5; i++) b |= (unsigned)q->dark[i][8] << i;
  b |= (unsigned)q->dark[7][8] << 6 | (unsigned)q->dark[8][8] << 7 | (unsigned)q->dark[8][7] << 8;
  for (int i = 9; i < 15; i++) b |= (unsigned)q->dark[8][14 - i] << i;
  return b;
}

static unsigned read_format_b(const struct cli_qr *q) {
  unsigned b = 0;
  int s = q->size;
  for (int i = 0; i < 8; i++) b |= (unsigned)q->dark[8][s - 1 - i] << i;
  for (int i = 8; i < 15; i++) b |= (unsigned)q->dark[s - 15 + i][8] << i;
  return b;
}

static void test_payload_symbol(void) {
  /* The QR payload of the RFC 8032 TEST 1 public key (docs/ids.md). */
  uint8_t key[32];
  char payload[IDS_QR_STR_MAX];
  th_unhex(key, sizeof key, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  CHECK_EQ(ids_qr_payload(payload, key), 0);
  struct cli_qr q;
  CHECK_EQ(cli_qr_encode(&q, (const uint8_t *)payload, strlen(payload)), 0);
  CHECK_EQ(strlen(payload), 89);
  CHECK_EQ(q.version, 6); /* 89 bytes: 5-M holds 84, 6-M 106 */
  CHECK_EQ(q.ecl_m, 1);
  CHECK_EQ(q.size, 41);
  /* Finder patterns: dark ring, light ring, dark 3x3 core, light separator. */
  int corners[3][2] = {{3, 3}, {q.size - 4, 3}, {3, q.size - 4}};
  for (int c = 0; c < 3; c++) {
    int cx = corners[c][0], cy = corners[c][1];
    CHECK_EQ(q.dark[cy][cx], 1);
    CHECK_EQ(q.dark[cy - 3][cx], 1);
    CHECK_EQ(q.dark[cy - 2][cx], 0);
    CHECK_EQ(q.dark[cy][cx + 3], 1);
  }
  for (int i = 8; i < q.size - 8; i++) {
    CHECK_EQ(q.dark[6][i], i % 2 == 0);
    CHECK_EQ(q.dark[i][6], i % 2 == 0);
  }
  CHECK_EQ(q.dark[q.size - 8][8], 1); /* the dark module */
  /* Alignment pattern at (34, 34) for version 6. */
  CHECK_EQ(q.dark[34][34], 1);
  CHECK_EQ(q.dark[33][34], 0);
  CHECK_EQ(q.dark[32][34], 1);
  CHECK_EQ(read_format_a(&q), cli__qr_format_bits(1, q.mask));
  CHECK_EQ(read_format_b(&q), cli__qr_format_bits(1, q.mask));
  /* Too long for version 10-L (271 bytes of payload at most). */
  uint8_t big[272];
  memset(big, 'x', sizeof big);
  CHECK_EQ(cli_qr_encode(&q, big, sizeof big), MOMEDO_E_TOOBIG);
  CHECK_EQ(cli_qr_encode(&q, big, 271), 0);
  CHECK_EQ(q.version, 10);
  CHECK_EQ(q.ecl_m, 0);
}

int main(void) {
  RUN(test_reed_solomon);
  RUN(test_format_and_version_words);
  RUN(test_payload_symbol);
  TEST_MAIN_END();
}
