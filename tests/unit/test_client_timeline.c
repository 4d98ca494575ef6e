/* Unit tests for client/core/timeline: deduplication by message ID, lookups by ID prefix,
 * the sealed per-contact file (name not revealing the contact, refused when moved onto
 * another contact), and the seen set with eviction and persistence. */
#include "harness.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timeline.h"
#include "vault.h"
#include "vault_raw.h"

static char dir[1024];

static void fresh_vault(struct vault *v, const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  char base[900], cmd[1200];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(dir, sizeof dir, "%s/tl-%s-%ld", base, name, (long)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0 || mkdir(dir, 0700) != 0) abort();
  if (vault_create(v, dir, "pw", 2, 10) != 0) abort();
}

static void test_add_dedup_find(void) {
  struct timeline t;
  struct tl_entry e, *got;
  memset(&t, 0, sizeof t);
  memset(&e, 0, sizeof e);
  memset(e.id, 0xab, TL_ID_LEN);
  e.kind = TL_TEXT;
  e.text = "hello";
  CHECK_EQ(timeline_add(&t, &e, &got), 0);
  CHECK(got->text != e.text); /* deep copy */
  CHECK_STR(got->text, "hello");
  e.text = "a replayed copy";
  CHECK_EQ(timeline_add(&t, &e, &got), MOMEDO_E_EXISTS);
  CHECK_EQ(t.n, 1);
  CHECK_STR(t.v[0].text, "hello");
  memset(e.id, 0xac, TL_ID_LEN);
  e.id[15] = 1;
  e.kind = TL_TASK;
  e.text = "replace the lamp in building 4";
  e.due = "2025-06-01";
  CHECK_EQ(timeline_add(&t, &e, NULL), 0);
  e.id[15] = 2;
  CHECK_EQ(timeline_add(&t, &e, NULL), 0);
  CHECK_EQ(timeline_find_prefix(&t, "abab", &got), MOMEDO_E_INVAL); /* too short */
  CHECK_EQ(timeline_find_prefix(&t, "ABABAB", &got), 0);
  CHECK_EQ(got->kind, TL_TEXT);
  CHECK_EQ(timeline_find_prefix(&t, "acacac", &got), MOMEDO_E_EXISTS); /* ambiguous */
  CHECK_EQ(timeline_find_prefix(&t, "acacacacacacacacacacacacacacac02", &got), 0);
  CHECK_STR(got->due, "2025-06-01");
  CHECK_EQ(timeline_find_prefix(&t, "ffffff", &got), MOMEDO_E_NOTFOUND);
  CHECK_EQ(timeline_find_prefix(&t, "zzzzzz", &got), MOMEDO_E_INVAL);
  char hex[2 * TL_ID_LEN + 1];
  tl_id_hex(hex, t.v[0].id);
  CHECK_STR(hex, "abababababababababababababababab");
  timeline_free(&t);
}

static void test_storage(void) {
  struct vault v;
  struct timeline t, u;
  struct tl_entry e;
  uint8_t peer[32], other[32];
  memset(peer, 0x11, 32);
  memset(other, 0x22, 32);
  fresh_vault(&v, "st");
  CHECK_EQ(timeline_load(&t, &v, peer), 0);
  CHECK_EQ(t.n, 0);
  memset(&e, 0, sizeof e);
  e.id[0] = 1;
  e.kind = TL_LOCATION;
  e.lat = 52.520008;
  e.lon = 13.404954;
  e.acc = 12.5;
  e.sent_ms = 1700000000123ull;
  e.outgoing = 1;
  e.status = TL_ST_DELIVERED;
  CHECK_EQ(timeline_add(&t, &e, NULL), 0);
  memset(&e, 0, sizeof e);
  e.id[0] = 2;
  e.kind = TL_FILE;
  e.text = "photo.jpg";
  e.path = "att-0123";
  e.mime = "image/jpeg";
  e.size = 5u << 20;
  memset(e.device, 0x33, 32);
  CHECK_EQ(timeline_add(&t, &e, NULL), 0);
  CHECK_EQ(timeline_save(&t, &v), 0);
  CHECK_EQ(timeline_load(&u, &v, peer), 0);
  CHECK_EQ(u.n, 2);
  CHECK(u.v[0].lat == 52.520008 && u.v[0].lon == 13.404954 && u.v[0].acc == 12.5);
  CHECK_EQ(u.v[0].sent_ms, 1700000000123ull);
  CHECK_EQ(u.v[0].status, TL_ST_DELIVERED);
  CHECK(u.v[0].text == NULL);
  CHECK_STR(u.v[1].text, "photo.jpg");
  CHECK_STR(u.v[1].mime, "image/jpeg");
  CHECK_EQ(u.v[1].size, 5u << 20);
  CHECK_MEM(u.v[1].device, e.device, 32);
  timeline_free(&u);
  /* The file name says nothing about the contact; moving it onto another is refused. */
  char mine[VAULT_NAME_MAX], theirs[VAULT_NAME_MAX];
  CHECK_EQ(vault_name(&v, "tl", peer, 32, mine), 0);
  CHECK_EQ(vault_name(&v, "tl", other, 32, theirs), 0);
  CHECK(strstr(mine, "1111") == NULL);
  raw_move(dir, mine, theirs);
  CHECK_EQ(timeline_load(&u, &v, other), MOMEDO_E_CORRUPT);
  CHECK_EQ(u.n, 0);
  timeline_free(&t);
  vault_close(&v);
}

static void test_seen(void) {
  struct vault v;
  struct tl_seen s, r;
  fresh_vault(&v, "seen");
  CHECK_EQ(tl_seen_load(&s, &v), 0);
  CHECK_EQ(tl_seen_has(&s, (const uint8_t *)"item-1", 6), 0);
  CHECK_EQ(tl_seen_add(&s, (const uint8_t *)"item-1", 6), 0);
  CHECK_EQ(tl_seen_has(&s, (const uint8_t *)"item-1", 6), 1);
  CHECK_EQ(tl_seen_add(&s, (const uint8_t *)"item-1", 6), 0);
  CHECK_EQ(s.n, 1);
  CHECK_EQ(tl_seen_save(&s, &v), 0);
  CHECK_EQ(tl_seen_load(&r, &v), 0);
  CHECK_EQ(tl_seen_has(&r, (const uint8_t *)"item-1", 6), 1);
  CHECK_EQ(tl_seen_has(&r, (const uint8_t *)"item-2", 6), 0);
  /* Fill past the bound: the oldest is evicted, the newest kept. */
  char buf[32];
  for (unsigned i = 0; i < TL_SEEN_MAX; i++) {
    int n = snprintf(buf, sizeof buf, "x%u", i);
    CHECK_EQ(tl_seen_add(&r, (const uint8_t *)buf, (size_t)n), 0);
  }
  CHECK_EQ(r.n, TL_SEEN_MAX);
  CHECK_EQ(tl_seen_has(&r, (const uint8_t *)"item-1", 6), 0);
  CHECK_EQ(tl_seen_has(&r, (const uint8_t *)"x0", 2), 1);
  CHECK_EQ(tl_seen_save(&r, &v), 0);
  tl_seen_free(&s);
  CHECK_EQ(tl_seen_load(&s, &v), 0);
  int n = snprintf(buf, sizeof buf, "x%u", TL_SEEN_MAX - 1);
  CHECK_EQ(tl_seen_has(&s, (const uint8_t *)buf, (size_t)n), 1);
  CHECK_EQ(tl_seen_has(&s, (const uint8_t *)"item-1", 6), 0);
  tl_seen_free(&s);
  tl_seen_free(&r);
  vault_close(&v);
}

int main(void) {
  RUN(test_add_dedup_find);
  RUN(test_storage);
  RUN(test_seen);
  TEST_MAIN_END();
}
