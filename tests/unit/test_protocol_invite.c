/* Unit tests for invite codes: exact layout against a hand-built blob and a check
 * computed here, a frozen string, tolerant parsing, refusal of typos (every single
 * substitution and adjacent swap), other versions and bad fields, and shell safety:
 * a code is letters, digits and one ':' only. */
#include "harness.h"

#include "ids.h"
#include "invite.h"

/* Written out again on purpose (not IDS_B32_ALPHABET): an independent oracle. */
static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* "momedo2:" + base32(blob) + two check symbols: the digits as a base-32 number mod
 * 1021, computed here the long way (big-endian digit by digit). */
static void enc(char *code, size_t cap, const uint8_t *blob, size_t n) {
  memcpy(code, "momedo2:", 8);
  CHECK_EQ(ids_b32_encode(code + 8, cap - 8, blob, n), 0);
  size_t len = strlen(code);
  unsigned r = 0;
  for (size_t i = 8; i < len; i++) r = (r * 32 + (unsigned)(strchr(b32, code[i]) - b32)) % 1021;
  code[len] = b32[r / 32];
  code[len + 1] = b32[r % 32];
  code[len + 2] = '\0';
}

static int shell_safe(const char *code) {
  if (strncmp(code, "momedo2:", 8) != 0) return 0;
  for (const char *p = code + 8; *p; p++)
    if (!strchr(b32, *p)) return 0;
  return 1;
}

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
  blob[n++] = 2;
  memcpy(blob + n, inv.node_key, 32), n += 32;
  memcpy(blob + n, inv.token, 16), n += 16;
  blob[n++] = 0x12, blob[n++] = 0x66; /* 4710 big-endian */
  blob[n++] = 8;
  memcpy(blob + n, "10.0.0.7", 8), n += 8;
  enc(want, sizeof want, blob, n);
  CHECK_EQ(invite_encode(got, sizeof got, &inv), 0);
  CHECK_STR(got, want);
  CHECK(shell_safe(got));
}

/* Frozen (checked against an independent implementation): a change of the format must
 * be deliberate and bump INVITE_VERSION. */
static void test_invite_frozen(void) {
  struct invite inv, out;
  static const char code[] =
      "momedo2:080020G30G2GC1R81450P30D1R7H048J2CA1A5GQ30CHM6RW3MF1Z851MAHT99D6MYMAKANBNJPTXBR"
      "JCR432C1E60Q30BHQQR";
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
  size_t m = (size_t)sprintf(messy, "  MOMEDO2-");
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
  CHECK_EQ(invite_decode(&out, "momedo3:040020G3"), MOMEDO_E_VERSION);
  /* A code of an older node (mod-37 check, may end in $ * ~ =): another version. */
  CHECK_EQ(invite_decode(&out, "momedo1:040020G30G2GC1R81450P30D1R7H048J2CA1A5GQ30CHM6RW3MF1"
                               "Z851MAHT99D6MYMAKANBNJPTXBRJCR432C1E60Q30BHQW"),
           MOMEDO_E_VERSION);
  CHECK_EQ(invite_decode(&out, "momedo2:"), MOMEDO_E_INVAL);
  CHECK_EQ(invite_decode(&out, "momedo2:AB"), MOMEDO_E_INVAL);
  strcpy(bad, code);
  bad[30] = '#';
  CHECK_EQ(invite_decode(&out, bad), MOMEDO_E_INVAL);
  /* The check-only symbols of ids.h are not part of an invite's alphabet. */
  const char *sym = "$*~=U";
  for (const char *c = sym; *c; c++) {
    strcpy(bad, code);
    bad[strlen(bad) - 1] = *c;
    CHECK_EQ(invite_decode(&out, bad), MOMEDO_E_INVAL);
  }
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
  blob[0] = 3;
  blob[n++] = 0, blob[n++] = 80;
  blob[n++] = 1;
  blob[n++] = 'h';
  enc(code, sizeof code, blob, n);
  CHECK_EQ(invite_decode(&out, code), MOMEDO_E_VERSION);
  blob[0] = 2;
  enc(code, sizeof code, blob, n);
  CHECK_EQ(invite_decode(&out, code), 0);
  CHECK_STR(out.host, "h");
  blob[n - 2] = 2; /* says two host bytes, one follows */
  enc(code, sizeof code, blob, n);
  CHECK_EQ(invite_decode(&out, code), MOMEDO_E_INVAL);
  blob[n - 2] = 1;
  blob[n - 3] = 0; /* port 0 */
  enc(code, sizeof code, blob, n);
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

/* Every single wrong symbol and every swap of two adjacent different symbols is
 * refused, at every position (check symbols included); no code needs shell quoting. */
static void test_invite_typos_exhaustive(void) {
  struct invite inv, out;
  char code[INVITE_STR_MAX], bad[INVITE_STR_MAX];
  for (int host = 0; host < 3; host++) {
    fill_invite(&inv);
    static const char *hosts[] = {"10.0.0.7", "momedo.gymnasium-nord.de", "::1"};
    strcpy(inv.host, hosts[host]);
    inv.token[0] = (uint8_t)host;
    CHECK_EQ(invite_encode(code, sizeof code, &inv), 0);
    CHECK(shell_safe(code));
    size_t len = strlen(code);
    for (size_t i = 8; i < len; i++) {
      for (int v = 0; v < 32; v++) {
        if (b32[v] == code[i]) continue;
        strcpy(bad, code);
        bad[i] = b32[v];
        int rc = invite_decode(&out, bad);
        CHECK(rc == MOMEDO_E_CHECKSUM || rc == MOMEDO_E_INVAL);
      }
      if (i + 1 < len && code[i] != code[i + 1]) {
        strcpy(bad, code);
        bad[i] = code[i + 1], bad[i + 1] = code[i];
        int rc = invite_decode(&out, bad);
        CHECK(rc == MOMEDO_E_CHECKSUM || rc == MOMEDO_E_INVAL);
      }
    }
  }
}

/* The bytes a registration signs (issue 11, finding 11): domain, node key, SHA-256 of the
 * token (value from Python hashlib), device key, identity key. */
static void test_register_msg(void) {
  uint8_t nk[32], tok[16], dk[32], ik[32], msg[INVITE_REGISTER_MSG_LEN], want[32];
  for (int i = 0; i < 32; i++) nk[i] = (uint8_t)(0xa0 + i), dk[i] = (uint8_t)(0x40 + i),
                               ik[i] = (uint8_t)(0x80 + i);
  for (int i = 0; i < 16; i++) tok[i] = (uint8_t)i;
  CHECK_EQ(INVITE_REGISTER_MSG_LEN, 18 + 4 * 32);
  CHECK_EQ(invite_register_msg(msg, nk, tok, dk, ik), 0);
  CHECK_MEM(msg, "momedo/register/v1", 18);
  CHECK_MEM(msg + 18, nk, 32);
  th_unhex(want, 32, "be45cb2605bf36bebde684841a28f0fd43c69850a3dce5fedba69928ee3a8991");
  CHECK_MEM(msg + 50, want, 32);
  CHECK_MEM(msg + 82, dk, 32);
  CHECK_MEM(msg + 114, ik, 32);
  for (size_t i = 0; i + sizeof tok <= sizeof msg; i++) /* the bearer secret is hashed */
    CHECK(memcmp(msg + i, tok, sizeof tok) != 0);
}

int main(void) {
  RUN(test_invite_layout);
  RUN(test_invite_frozen);
  RUN(test_invite_tolerant);
  RUN(test_invite_refusals);
  RUN(test_invite_blob_fields);
  RUN(test_invite_token_hex);
  RUN(test_invite_typos_exhaustive);
  RUN(test_register_msg);
  TEST_MAIN_END();
}
