/* Unit tests for client/core/history (the SQLite history store): round trip of every
 * field, newest-first pages, duplicates refused, a rolled-back batch leaves nothing,
 * the file holds no plaintext and no contact key (read raw), a row moved to another
 * conversation or altered fails to open, another data key is refused, and reopening
 * finds what was committed. */
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "history.h"
#include "vault.h"

static char path[1024];
static uint8_t dk[CRYPTO_AEAD_KEY_LEN];

static void fresh(const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  char base[900];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(path, sizeof path, "%s/hist-%s-%ld.db", base, name, (long)getpid());
  unlink(path);
  for (size_t i = 0; i < sizeof dk; i++) dk[i] = (uint8_t)(i * 7 + 1);
}

static void drop(void) {
  char p[1100];
  unlink(path);
  snprintf(p, sizeof p, "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", path);
  unlink(p);
}

static void entry(struct tl_entry *e, int i, const char *text) {
  memset(e, 0, sizeof *e);
  memset(e->id, 0, TL_ID_LEN);
  e->id[0] = (uint8_t)(i >> 8);
  e->id[1] = (uint8_t)i;
  e->id[15] = 0x5a;
  e->kind = TL_TEXT;
  e->sent_ms = 1700000000000ull + (uint64_t)i;
  e->text = (char *)text;
}

static void test_roundtrip_pages(void) {
  struct hist h;
  struct hist_conv c, c2;
  struct tl_entry e, out[8];
  int64_t rows[8];
  size_t got = 0;
  uint64_t n = 0;
  uint8_t bob[TL_KEY_LEN], carol[TL_KEY_LEN];
  char why[256] = "", text[32];
  fresh("pages");
  memset(bob, 0xb0, sizeof bob);
  memset(carol, 0xca, sizeof carol);
  CHECK_EQ(hist_open(&h, path, dk, why, sizeof why), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, bob, &c), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, carol, &c2), 0);
  CHECK(c.id != c2.id);
  CHECK_EQ(hist_begin(&h), 0);
  for (int i = 0; i < 20; i++) {
    snprintf(text, sizeof text, "message %d", i);
    entry(&e, i, text);
    CHECK_EQ(hist_add(&h, &c, &e, NULL), 0);
  }
  entry(&e, 3, "a replayed copy");
  CHECK_EQ(hist_add(&h, &c, &e, NULL), MOMEDO_E_EXISTS);
  CHECK_EQ(hist_add(&h, &c2, &e, NULL), 0); /* the same ID elsewhere is another message */
  CHECK_EQ(hist_commit(&h), 0);
  /* a file with a location and a task's fields */
  entry(&e, 100, "lampe.jpg");
  e.kind = TL_FILE;
  e.mime = "image/jpeg";
  e.path = "att-0011223344556677";
  e.size = 123456;
  e.lat = 50.9375;
  e.lon = 6.9603;
  e.acc = 12;
  e.due = "2030-06-01";
  e.outgoing = 1;
  e.status = TL_ST_DELIVERED;
  CHECK_EQ(hist_begin(&h), 0);
  CHECK_EQ(hist_add(&h, &c, &e, NULL), 0);
  CHECK_EQ(hist_commit(&h), 0);
  CHECK_EQ(hist_count(&h, &c, &n), 0);
  CHECK_EQ(n, 21);
  CHECK_EQ(hist_page(&h, &c, 0, 3, out, rows, &got), 0);
  CHECK_EQ(got, 3);
  CHECK_STR(out[0].text, "lampe.jpg");
  CHECK_STR(out[0].mime, "image/jpeg");
  CHECK_STR(out[0].path, "att-0011223344556677");
  CHECK_STR(out[0].due, "2030-06-01");
  CHECK_EQ(out[0].size, 123456);
  CHECK(out[0].lat == 50.9375 && out[0].lon == 6.9603 && out[0].acc == 12);
  CHECK_EQ(out[0].status, TL_ST_DELIVERED);
  CHECK_STR(out[1].text, "message 19");
  CHECK_STR(out[2].text, "message 18");
  CHECK_EQ(out[1].sent_ms, 1700000000019ull);
  for (size_t i = 0; i < got; i++) tl_entry_clear(&out[i]);
  CHECK_EQ(hist_page(&h, &c, rows[2], 8, out, rows, &got), 0);
  CHECK_EQ(got, 8);
  CHECK_STR(out[0].text, "message 17");
  CHECK_STR(out[7].text, "message 10");
  for (size_t i = 0; i < got; i++) tl_entry_clear(&out[i]);
  CHECK_EQ(hist_page(&h, &c, 0, HIST_PAGE_MAX + 1, out, rows, &got), MOMEDO_E_INVAL);
  hist_close(&h);
  /* reopened: the same conversation, the same messages */
  CHECK_EQ(hist_open(&h, path, dk, why, sizeof why), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, bob, &c2), 0);
  CHECK_EQ(c2.id, c.id);
  CHECK_EQ(hist_count(&h, &c2, &n), 0);
  CHECK_EQ(n, 21);
  hist_close(&h);
  drop();
}

static void test_rollback_and_other_key(void) {
  struct hist h;
  struct hist_conv c;
  struct tl_entry e;
  uint64_t n = 1;
  uint8_t bob[TL_KEY_LEN];
  char why[256] = "";
  fresh("rollback");
  memset(bob, 0xb0, sizeof bob);
  CHECK_EQ(hist_open(&h, path, dk, why, sizeof why), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, bob, &c), 0);
  CHECK_EQ(hist_begin(&h), 0);
  entry(&e, 1, "never committed");
  CHECK_EQ(hist_add(&h, &c, &e, NULL), 0);
  hist_rollback(&h);
  CHECK_EQ(hist_count(&h, &c, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(hist_begin(&h), 0);
  entry(&e, 2, "left open at close");
  CHECK_EQ(hist_add(&h, &c, &e, NULL), 0);
  hist_close(&h); /* a transaction open at close is rolled back */
  CHECK_EQ(hist_open(&h, path, dk, why, sizeof why), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, bob, &c), 0);
  CHECK_EQ(hist_count(&h, &c, &n), 0);
  CHECK_EQ(n, 0);
  hist_close(&h);
  dk[0] ^= 1;
  why[0] = '\0';
  CHECK_EQ(hist_open(&h, path, dk, why, sizeof why), MOMEDO_E_AUTH);
  CHECK(strstr(why, "another vault key") != NULL);
  drop();
}

static int file_has(const char *p, const void *needle, size_t n) {
  FILE *f = fopen(p, "rb");
  if (!f) return 0;
  static uint8_t buf[1 << 20];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(buf + i, needle, n) == 0) return 1;
  return 0;
}

/* What is on disk: no text, no contact key; a moved or altered row does not open. */
static void test_sealed_on_disk(void) {
  struct hist h;
  struct hist_conv c, c2;
  struct tl_entry e, out[2];
  size_t got = 0;
  uint8_t bob[TL_KEY_LEN], carol[TL_KEY_LEN];
  char why[256] = "", wal[1100];
  fresh("sealed");
  memset(bob, 0xb0, sizeof bob);
  memset(carol, 0xca, sizeof carol);
  CHECK_EQ(hist_open(&h, path, dk, why, sizeof why), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, bob, &c), 0);
  CHECK_EQ(hist_conv(&h, HIST_CONTACT, carol, &c2), 0);
  CHECK_EQ(hist_begin(&h), 0);
  entry(&e, 1, "Lampe in Gebaeude 4 defekt");
  CHECK_EQ(hist_add(&h, &c, &e, NULL), 0);
  CHECK_EQ(hist_commit(&h), 0);
  snprintf(wal, sizeof wal, "%s-wal", path);
  CHECK(!file_has(path, "Gebaeude", 8) && !file_has(wal, "Gebaeude", 8));
  CHECK(!file_has(path, bob, sizeof bob) && !file_has(wal, bob, sizeof bob));
  /* move the row to carol's conversation: the AEAD refuses it */
  CHECK_EQ(sqlite3_exec(h.db, "UPDATE msg SET conv = (SELECT max(id) FROM conv)", NULL, NULL,
                        NULL), SQLITE_OK);
  CHECK_EQ(hist_page(&h, &c2, 0, 2, out, NULL, &got), MOMEDO_E_DECRYPT);
  CHECK_EQ(got, 0);
  CHECK_EQ(sqlite3_exec(h.db, "UPDATE msg SET conv = (SELECT min(id) FROM conv)", NULL, NULL,
                        NULL), SQLITE_OK);
  CHECK_EQ(hist_page(&h, &c, 0, 2, out, NULL, &got), 0);
  CHECK_EQ(got, 1);
  tl_entry_clear(&out[0]);
  /* flip one byte of the body */
  CHECK_EQ(sqlite3_exec(h.db, "UPDATE msg SET body = substr(body, 1, 30) || x'00' ||"
                        " substr(body, 32)", NULL, NULL, NULL), SQLITE_OK);
  CHECK_EQ(hist_page(&h, &c, 0, 2, out, NULL, &got), MOMEDO_E_DECRYPT);
  /* a body too short to hold a nonce and a tag */
  CHECK_EQ(sqlite3_exec(h.db, "UPDATE msg SET body = x'0102'", NULL, NULL, NULL), SQLITE_OK);
  CHECK_EQ(hist_page(&h, &c, 0, 2, out, NULL, &got), MOMEDO_E_CORRUPT);
  hist_close(&h);
  drop();
}

static void test_not_a_database(void) {
  struct hist h;
  char why[256] = "";
  fresh("junk");
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  for (int i = 0; i < 4096; i++) fputc(i * 31, f);
  fclose(f);
  CHECK_EQ(hist_open(&h, path, dk, why, sizeof why), MOMEDO_E_CORRUPT);
  CHECK(why[0] != '\0');
  drop();
}

int main(void) {
  RUN(test_roundtrip_pages);
  RUN(test_rollback_and_other_key);
  RUN(test_sealed_on_disk);
  RUN(test_not_a_database);
  TEST_MAIN_END();
}
