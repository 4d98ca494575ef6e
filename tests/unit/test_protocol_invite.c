/* Unit tests for invite codes: exact layout against a hand-built blob, a frozen
 * string (also what node/invite_code.c writes for the same fields), tolerant parsing,
 * and refusal of typos, other versions and bad fields. */
#include "harness.h"

#include "ids.h"
#include "invite.h"

static void fill_invite(struct invite *inv) {
  memset(inv, 0, sizeof *inv);
  for (int i = 0; i < INVITE_KEY_LEN; i++) inv->node_key[i] = (uint8_t)i;
  for (int i = 0; i < INVITE_TOKEN_LEN; i++) inv->token[i] = (uint8_t)(0xA0 + i);
  strcpy(inv->host, "10.0.0.7");
  inv->port = 4710;
}

/* The blob written out by hand: version, key, token, port, host length, host. */
static void test_invite_layout(void) {
  struct invite inv;
  uint8_t blob[INVITE_BYTES_MAX];
  char want[INVITE_STR_MAX], got[INVITE_STR_MAX];
  size_t n = 0;
  fill_invite(&inv);
  blob[n++] = 1;
  memcpy(blob + n, inv.node_key, 32), n += 32;
  memcpy(blob + n, inv.token, 16), n += 16;
  blob[n++] = 0x12, blob[n++] = 0x66; /* 4710 big-endian */
  blob[n++] = 8;
  memcpy(blob + n, "10.0.0.7", 8), n += 8;
  memcpy(want, "momedo1:", 8);
  CHECK_EQ(ids_b32_encode_check(want + 8, sizeof want - 8, blob, n, 0), 0);
  CHECK_EQ(invite_encode(got, sizeof got, &inv), 0);
  CHECK_STR(got, want);
}

/* Frozen (identical to node/invite_code.c's output for these fields): a change of the
 * format must be deliberate and bump INVITE_VERSION. */
static void test_invite_frozen(void) {
  struct invite inv, out;
  static const char code[] =
      "momedo1:040020G30G2GC1R81450P30D1R7H048J2CA1A5GQ30CHM6RW3MF1Z851MAHT99D6MYMAKANBNJPTXBR"
      "JCR432C1E60Q30BHQW";
  char got[INVITE_STR_MAX];
  fill_invite(&inv);
  CHECK_EQ(invite_encode(got, sizeof got, &inv), 0);
  CHECK_STR(got, code);
  CHECK_EQ(invite_decode(&out, code), 0);
  CHECK_MEM(out.node_key, inv.node_key, INVITE_KEY_LEN);
  CHECK_MEM(out.token, inv.token, INVITE_TOKEN_LEN);
  CHECK_STR(out.host, "10.0.0.7");
  CHECK_EQ(out.port, 4710);
}

static void test_invite_tolerant(void) {
  struct invite inv, out;
  char code[INVITE_STR_MAX], messy[INVITE_STR_MAX + 64];
  fill_invite(&inv);
  strcpy(inv.host, "node-1.schule.example");
  inv.port = 65535;
  CHECK_EQ(invite_encode(code, sizeof code, &inv), 0);
  /* Upper-case prefix with '-', blanks around, dashes inside, lower case, 0 typed as O. */
  size_t m = (size_t)sprintf(messy, "  MOMEDO1-");
  for (size_t i = 8; code[i]; i++) {
    char c = code[i];
    if (c == '0') c = 'o';
    else if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    messy[m++] = c;
    if ((i - 8) % 8 == 7 && code[i + 1]) messy[m++] = '-';
  }
  strcpy(messy + m, " \n");
  CHECK_EQ(invite_decode(&out, messy), 0);
  CHECK_MEM(out.node_key, inv.node_key, INVITE_KEY_LEN);
  CHECK_MEM(out.token, inv.token, INVITE_TOKEN_LEN);
  CHECK_STR(out.host, "node-1.schule.example");
  CHECK_EQ(out.port, 65535);
}

static void test_invite_refusals(void) {
  struct invite inv, out;
  char code[INVITE_STR_MAX], bad[INVITE_STR_MAX];
  fill_invite(&inv);
  CHECK_EQ(invite_encode(code, sizeof code, &inv), 0);
  strcpy(bad, code);
  bad[20] = bad[20] == 'A' ? 'B' : 'A'; /* one wrong character */
  CHECK_EQ(invite_decode(&out, bad), MOMEDO_E_CHECKSUM);
  strcpy(bad, code);
  char t = bad[30]; /* two adjacent characters swapped */
  bad[30] = bad[31], bad[31] = t;
  if (bad[30] != bad[31]) CHECK_EQ(invite_decode(&out, bad), MOMEDO_E_CHECKSUM);
  CHECK_EQ(invite_decode(&out, code + 8), MOMEDO_E_PROTO);
  CHECK_EQ(invite_decode(&out, "hello"), MOMEDO_E_PROTO);
  CHECK_EQ(invite_decode(&out, "momedo2:040020G3"), MOMEDO_E_VERSION);
  CHECK_EQ(invite_decode(&out, "momedo1:"), MOMEDO_E_INVAL);
  strcpy(bad, code);
  bad[30] = '#';
  CHECK_EQ(invite_decode(&out, bad), MOMEDO_E_INVAL);
  CHECK_EQ(invite_decode(&out, NULL), MOMEDO_E_INVAL);
  /* Encoder refusals. */
  inv.port = 0;
  CHECK_EQ(invite_encode(code, sizeof code, &inv), MOMEDO_E_INVAL);
  inv.port = 1;
  strcpy(inv.host, "bad host");
  CHECK_EQ(invite_encode(code, sizeof code, &inv), MOMEDO_E_INVAL);
  inv.host[0] = '\0';
  CHECK_EQ(invite_encode(code, sizeof code, &inv), MOMEDO_E_INVAL);
  memset(inv.host, 'a', INVITE_HOST_CHARS_MAX);
  inv.host[INVITE_HOST_CHARS_MAX] = '\0';
  CHECK_EQ(invite_encode(code, sizeof code, &inv), 0); /* the longest host fits */
  CHECK_EQ(strlen(code) + 1, INVITE_STR_MAX);
  CHECK_EQ(invite_decode(&out, code), 0);
  CHECK_EQ(strlen(out.host), INVITE_HOST_CHARS_MAX);
  CHECK_EQ(invite_encode(code, 8, &inv), MOMEDO_E_NOSPACE);
}

/* Version 2 with a valid check character: E_VERSION, not a checksum error. Host
 * length that disagrees with the remaining bytes: E_INVAL. */
static void test_invite_blob_fields(void) {
  uint8_t blob[INVITE_BYTES_MAX];
  char code[INVITE_STR_MAX];
  struct invite out;
  size_t n = 1 + 32 + 16;
  memset(blob, 0, sizeof blob);
  blob[0] = 2;
  blob[n++] = 0, blob[n++] = 80;
  blob[n++] = 1;
  blob[n++] = 'h';
  memcpy(code, "momedo1:", 8);
  CHECK_EQ(ids_b32_encode_check(code + 8, sizeof code - 8, blob, n, 0), 0);
  CHECK_EQ(invite_decode(&out, code), MOMEDO_E_VERSION);
  blob[0] = 1;
  blob[n - 2] = 2; /* says two host bytes, one follows */
  CHECK_EQ(ids_b32_encode_check(code + 8, sizeof code - 8, blob, n, 0), 0);
  CHECK_EQ(invite_decode(&out, code), MOMEDO_E_INVAL);
  blob[n - 2] = 1;
  blob[n - 3] = 0; /* port 0 */
  CHECK_EQ(ids_b32_encode_check(code + 8, sizeof code - 8, blob, n, 0), 0);
  CHECK_EQ(invite_decode(&out, code), MOMEDO_E_INVAL);
}

static void test_invite_token_hex(void) {
  uint8_t tok[INVITE_TOKEN_LEN], back[INVITE_TOKEN_LEN];
  char hex[INVITE_TOKEN_HEX_LEN + 1];
  for (int i = 0; i < INVITE_TOKEN_LEN; i++) tok[i] = (uint8_t)(0xF0 + i);
  invite_token_to_hex(hex, tok);
  CHECK_STR(hex, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  CHECK_EQ(invite_token_parse(back, "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"), 0);
  CHECK_MEM(back, tok, INVITE_TOKEN_LEN);
  CHECK_EQ(invite_token_parse(back, "f0f1"), MOMEDO_E_INVAL);
  CHECK_EQ(invite_token_parse(back, "g0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), MOMEDO_E_INVAL);
  CHECK_EQ(invite_token_parse(back, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff0"), MOMEDO_E_INVAL);
}

int main(void) {
  RUN(test_invite_layout);
  RUN(test_invite_frozen);
  RUN(test_invite_tolerant);
  RUN(test_invite_refusals);
  RUN(test_invite_blob_fields);
  RUN(test_invite_token_hex);
  TEST_MAIN_END();
}
