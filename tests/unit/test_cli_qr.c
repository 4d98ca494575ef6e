/* Unit tests for the client's QR codes (client/cli/cli_qr.c over libqrencode): the symbol of
 * a real momedo payload has the version and level the payload needs and a valid
 * structure (finder, timing, dark module, alignment, both format copies equal and a
 * level-M format word of ISO/IEC 18004); the size limit. That the drawn codes scan is
 * test_client_qr_scan's (zbarimg). */
#include "harness.h"

#include "cli.h"
#include "ids.h"

/* The 15-bit format words of level M, masks 0..7 (ISO/IEC 18004 table C.1). */
static const unsigned format_m[8] = {0x5412, 0x5125, 0x5E7C, 0x5B4B,
                                     0x45F9, 0x40CE, 0x4F97, 0x4AA0};

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
  unsigned fa = read_format_a(&q);
  CHECK_EQ(read_format_b(&q), fa);
  int known = 0;
  for (int i = 0; i < 8; i++) known |= fa == format_m[i];
  CHECK(known);
  /* Too long for version 10-L (271 bytes of payload at most). */
  uint8_t big[272];
  memset(big, 'x', sizeof big);
  CHECK_EQ(cli_qr_encode(&q, big, sizeof big), MOMEDO_E_TOOBIG);
  CHECK_EQ(cli_qr_encode(&q, big, 271), 0);
  CHECK_EQ(q.version, 10);
  CHECK_EQ(q.ecl_m, 0);
}

int main(void) {
  RUN(test_payload_symbol);
  TEST_MAIN_END();
}
