/* Unit tests for the compliance archive (client/core/archive.h): a log over three days
 * with signed daily checkpoints exports and verifies; then each tampering is named —
 * one byte of a body, a removed entry, two entries swapped, an entry changed and the
 * chain rehashed after it, entries cut off at the end, a checkpoint signed by another
 * key, an inserted entry — and pruning logs itself in the chain. Bad files (over-long
 * lines, a missing key) give errors, never crashes; a torn last line is cut off when the
 * log is opened for writing and left alone (not exported) when opened read-only. */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#include "archive.h"
#include "hex.h"

#define DAY0 1796601600000ull /* 2026-12-07 00:00 UTC */
#define HOUR 3600000ull
#define N_ENTRIES 30

static struct crypto_sign_keypair kp, other;
static char root[64];
static int dir_n;

static void newdir(char *out, size_t cap) { snprintf(out, cap, "%s/d%d", root, dir_n++); }

/* N_ENTRIES texts over three days, a checkpoint on each day from the second entry on, and on day 4. */
static void build(struct archive_log *l, char *dir, size_t cap) {
  uint8_t conv[32], who[32];
  char text[64];
  newdir(dir, cap);
  CHECK_EQ(archive_log_open(l, dir), 0);
  CHECK_EQ(archive_log_set_key(l, kp.pub), 0);
  memset(conv, 0xc1, 32);
  for (int i = 0; i < N_ENTRIES; i++) {
    uint64_t t = DAY0 + (uint64_t)(i / 10) * ARCHIVE_DAY_MS + (uint64_t)(i % 10 + 1) * HOUR;
    int made = 0;
    CHECK_EQ(archive_log_checkpoint(l, &kp, t, &made), 0);
    CHECK_EQ(made, i == 1 || i == 10 || i == 20);
    memset(who, i % 3, 32);
    snprintf(text, sizeof text, "Bescheid Nr. %d", i);
    struct archive_msg m = {conv, who, t - 1000, ARCHIVE_KIND_TEXT, (const uint8_t *)text,
                            strlen(text), NULL};
    CHECK_EQ(archive_log_append(l, &m, t), 0);
  }
  int made = 0;
  CHECK_EQ(archive_log_checkpoint(l, &kp, DAY0 + 3 * ARCHIVE_DAY_MS, &made), 0);
  CHECK_EQ(made, 1);
  CHECK_EQ(archive_log_checkpoint(l, &kp, DAY0 + 3 * ARCHIVE_DAY_MS + HOUR, &made), 0);
  CHECK_EQ(made, 0); /* one per day */
  CHECK_EQ(archive_log_sync(l), 0);
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  char *b = malloc(1 << 20);
  if (f == NULL || b == NULL) abort();
  *n = fread(b, 1, 1 << 20, f);
  fclose(f);
  return b;
}

static void spit(const char *path, const char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  CHECK_EQ(fwrite(b, 1, n, f), n);
  fclose(f);
}

/* Offsets of the lines of b (at most 64). */
static size_t lines(const char *b, size_t n, size_t *off) {
  size_t k = 0;
  for (size_t i = 0; i < n && k < 64; i++)
    if (i == 0 || b[i - 1] == '\n') off[k++] = i;
  off[k] = n;
  return k;
}

/* Export the whole log to a fresh directory; its entries file path into ef. */
static void export_all(struct archive_log *l, char *out, size_t cap, char *ef, size_t ecap) {
  uint64_t n = 0;
  newdir(out, cap);
  CHECK_EQ(archive_log_export(l, DAY0, DAY0 + 4 * ARCHIVE_DAY_MS, out, &kp, &n), 0);
  CHECK_EQ(n, N_ENTRIES);
  snprintf(ef, ecap, "%s/%s", out, ARCHIVE_ENTRIES);
}

static void test_roundtrip(void) {
  struct archive_log l;
  struct archive_report r;
  char dir[128], out[128], ef[160];
  build(&l, dir, sizeof dir);
  CHECK_EQ(archive_verify_dir(dir, &r), 0);
  CHECK(r.ok && r.n_entries == N_ENTRIES && r.n_checkpoints == 4);
  CHECK_EQ(r.n_checkpoints_matched, 4);
  CHECK_EQ(r.manifest, 0); /* the live log has none */
  export_all(&l, out, sizeof out, ef, sizeof ef);
  CHECK_EQ(archive_verify_dir(out, &r), 0);
  CHECK(r.ok && r.n_entries == N_ENTRIES && r.first_seq == 0 && r.last_seq == N_ENTRIES - 1);
  CHECK_EQ(r.manifest, 1);
  /* day 2 alone: anchored by the checkpoint of day 2 (it signs entry 9) */
  uint64_t n = 0;
  newdir(out, sizeof out);
  CHECK_EQ(archive_log_export(&l, DAY0 + ARCHIVE_DAY_MS, DAY0 + 2 * ARCHIVE_DAY_MS, out, &kp, &n), 0);
  CHECK_EQ(n, 10);
  CHECK_EQ(archive_verify_dir(out, &r), 0);
  CHECK(r.first_seq == 10 && r.last_seq == 19 && r.n_checkpoints == 2);
  CHECK_EQ(archive_log_export(&l, DAY0, DAY0 + ARCHIVE_DAY_MS, out, &kp, &n), MOMEDO_E_EXISTS);
  archive_log_close(&l);
  /* reopen: the head continues */
  CHECK_EQ(archive_log_open(&l, dir), 0);
  CHECK_EQ(l.next_seq, N_ENTRIES);
  CHECK(l.has_cp && strcmp(l.last_cp_day, "2026-12-10") == 0);
  archive_log_close(&l);
}

/* Export, apply edit to the entries file, verify: expect rc, bad_seq and a reason. */
static void tampered(void (*edit)(char *b, size_t *n), int want_rc, uint64_t want_seq,
                     const char *want_why) {
  struct archive_log l;
  struct archive_report r;
  char dir[128], out[128], ef[160];
  size_t n = 0;
  build(&l, dir, sizeof dir);
  export_all(&l, out, sizeof out, ef, sizeof ef);
  archive_log_close(&l);
  char *b = slurp(ef, &n);
  edit(b, &n);
  spit(ef, b, n);
  free(b);
  CHECK_EQ(archive_verify_dir(out, &r), want_rc);
  CHECK(!r.ok && r.has_bad);
  CHECK_EQ(r.bad_seq, want_seq);
  if (strstr(r.why, want_why) == NULL) fprintf(stderr, "why: %s\n", r.why);
  CHECK(strstr(r.why, want_why) != NULL);
}

static void flip_body_byte(char *b, size_t *n) {
  size_t off[65];
  lines(b, *n, off);
  char *body = strstr(b + off[5], "\"body\":\"") + 8;
  *body = *body == '4' ? '5' : '4'; /* one byte of entry 5's text */
}

static void remove_entry(char *b, size_t *n) {
  size_t off[65];
  lines(b, *n, off);
  memmove(b + off[7], b + off[8], *n - off[8]);
  *n -= off[8] - off[7];
}

static void swap_entries(char *b, size_t *n) {
  size_t off[65];
  lines(b, *n, off);
  size_t a = off[4] - off[3], c = off[5] - off[4];
  char *t = malloc(a + c);
  memcpy(t, b + off[4], c);
  memcpy(t + c, b + off[3], a);
  memcpy(b + off[3], t, a + c);
  free(t);
}

static void cut_tail(char *b, size_t *n) {
  size_t off[65];
  lines(b, *n, off);
  *n = off[25]; /* entries 25..29 gone; the checkpoint of day 4 signs entry 29 */
}

static void insert_entry(char *b, size_t *n) {
  size_t off[65];
  lines(b, *n, off);
  size_t l = off[13] - off[12];
  memmove(b + off[13] + l, b + off[13], *n - off[13]);
  memcpy(b + off[13], b + off[12], l); /* entry 12 twice */
  *n += l;
}

static void test_body_byte(void) {
  tampered(flip_body_byte, MOMEDO_E_CHECKSUM, 5, "body does not match");
}
static void test_removed(void) { tampered(remove_entry, MOMEDO_E_CORRUPT, 8, "entry 7"); }
static void test_swapped(void) { tampered(swap_entries, MOMEDO_E_CORRUPT, 4, "missing or moved"); }
static void test_cut_tail(void) { tampered(cut_tail, MOMEDO_E_CORRUPT, 25, "are missing"); }
static void empty_all(char *b, size_t *n) { (void)b, *n = 0; }
/* Emptied: no entry is there to fail, no checkpoint can tell; the signed manifest can. */
static void test_emptied(void) {
  tampered(empty_all, MOMEDO_E_CORRUPT, 0, "manifest.json signs 30 entries");
}
static void test_inserted(void) {
  tampered(insert_entry, MOMEDO_E_CORRUPT, 12, "out of order or repeated");
}

/* An entry changed with its hash and every later prev recomputed: only the signed
 * checkpoint catches it. */
static void test_rewritten_chain(void) {
  struct archive_log l, w;
  struct archive_report r;
  char dir[128], out[128], ef[160], why[ARCHIVE_WHY_MAX], rew[128];
  size_t n = 0, off[65];
  build(&l, dir, sizeof dir);
  export_all(&l, out, sizeof out, ef, sizeof ef);
  archive_log_close(&l);
  char *b = slurp(ef, &n);
  size_t k = lines(b, n, off);
  newdir(rew, sizeof rew);
  CHECK_EQ(archive_log_open(&w, rew), 0);
  uint8_t *body = malloc(ARCHIVE_BODY_BYTES_MAX);
  for (size_t i = 0; i < k; i++) {
    struct archive_entry e;
    CHECK_EQ(archive_entry_parse(&e, b + off[i], off[i + 1] - off[i] - 1, body, why), 0);
    if (i == 15) body[0] = 'X';
    CHECK_EQ(archive__append_entry(&w, &e), 0);
  }
  free(body);
  free(b);
  char src[200];
  snprintf(src, sizeof src, "%s/%s", rew, ARCHIVE_ENTRIES);
  b = slurp(src, &n);
  spit(ef, b, n);
  free(b);
  archive_log_close(&w);
  CHECK_EQ(archive_verify_dir(out, &r), MOMEDO_E_CHECKSUM);
  CHECK_EQ(r.bad_seq, 19); /* the checkpoint of day 3 signs entry 19 */
  CHECK(strstr(r.why, "signed checkpoint of 2026-12-09") != NULL);
}

static void test_forged_checkpoint(void) {
  struct archive_log l;
  struct archive_report r;
  struct archive_checkpoint cp;
  char dir[128], out[128], ef[160], cf[160], line[ARCHIVE_CP_LINE_BYTES_MAX];
  size_t n = 0, off[65], ln = 0;
  build(&l, dir, sizeof dir);
  export_all(&l, out, sizeof out, ef, sizeof ef);
  archive_log_close(&l);
  snprintf(cf, sizeof cf, "%s/%s", out, ARCHIVE_CHECKPOINTS);
  char *b = slurp(cf, &n);
  lines(b, n, off);
  CHECK_EQ(archive_checkpoint_parse(&cp, b + off[1], off[2] - off[1] - 1), 0);
  CHECK_EQ(archive_checkpoint_sign(&cp, &other, line, sizeof line, &ln), 0);
  char *nb = malloc(n + 256);
  size_t m = 0;
  memcpy(nb, b, off[1]), m = off[1];
  memcpy(nb + m, line, ln), m += ln, nb[m++] = '\n';
  memcpy(nb + m, b + off[2], n - off[2]), m += n - off[2];
  spit(cf, nb, m);
  CHECK_EQ(archive_verify_dir(out, &r), MOMEDO_E_BADSIG);
  CHECK(strstr(r.why, "checkpoint 2 (day 2026-12-08): signed by another key") != NULL);
  /* the same line with one signature byte changed */
  nb[off[1] + ln - 4] = nb[off[1] + ln - 4] == '0' ? '1' : '0';
  memcpy(nb + off[1], b + off[1], off[2] - off[1]);
  nb[off[2] - 4] = nb[off[2] - 4] == '0' ? '1' : '0';
  spit(cf, nb, m);
  CHECK_EQ(archive_verify_dir(out, &r), MOMEDO_E_BADSIG);
  CHECK(strstr(r.why, "checkpoint 2 (day 2026-12-08): bad signature") != NULL);
  free(nb);
  free(b);
}

/* A manifest re-signed by another key (to match an emptied file) is refused; one whose
 * head was edited fails its signature. */
static void test_forged_manifest(void) {
  struct archive_log l;
  struct archive_report r;
  struct archive_manifest m = {0, 0, 0, {0}, {0}, {0}};
  char dir[128], out[128], ef[160], mf[160], line[600];
  size_t n = 0;
  build(&l, dir, sizeof dir);
  export_all(&l, out, sizeof out, ef, sizeof ef);
  archive_log_close(&l);
  snprintf(mf, sizeof mf, "%s/%s", out, ARCHIVE_MANIFEST);
  char *b = slurp(mf, &n);
  char *p = strstr(b, "\"head\":\"");
  CHECK(p != NULL);
  if (p) p[8] = p[8] == '0' ? '1' : '0'; /* another head, same shape */
  spit(mf, b, n);
  CHECK_EQ(archive_verify_dir(out, &r), MOMEDO_E_BADSIG);
  CHECK(strstr(r.why, "manifest.json: bad signature") != NULL);
  free(b);
  spit(ef, "", 0);
  CHECK_EQ(archive_manifest_sign(&m, &other, line, sizeof line - 1, &n), 0);
  line[n++] = '\n';
  spit(mf, line, n);
  CHECK_EQ(archive_verify_dir(out, &r), MOMEDO_E_BADSIG);
  CHECK(strstr(r.why, "signed by another key") != NULL);
}

static void test_prune(void) {
  struct archive_log l;
  struct archive_report r;
  char dir[128], why[ARCHIVE_WHY_MAX];
  uint64_t n = 0;
  build(&l, dir, sizeof dir);
  CHECK_EQ(archive_log_prune(&l, DAY0 + ARCHIVE_DAY_MS, DAY0 + 5 * ARCHIVE_DAY_MS, &n), 0);
  CHECK_EQ(n, 10);
  CHECK_EQ(l.next_seq, N_ENTRIES + 1);
  CHECK_EQ(archive_verify_dir(dir, &r), 0);
  CHECK(r.first_seq == 10 && r.last_seq == N_ENTRIES && r.n_entries == N_ENTRIES - 10 + 1);
  /* the prune entry names the range */
  char path[200];
  size_t len = 0, off[65];
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_ENTRIES);
  char *b = slurp(path, &len);
  size_t k = lines(b, len, off);
  struct archive_entry e;
  uint8_t *body = malloc(ARCHIVE_BODY_BYTES_MAX);
  CHECK_EQ(archive_entry_parse(&e, b + off[k - 1], off[k] - off[k - 1] - 1, body, why), 0);
  CHECK_EQ(e.kind, ARCHIVE_KIND_PRUNE);
  CHECK(memmem(e.body, e.body_len, "pruned entries 0..9 (10)", 24) != NULL);
  free(body);
  free(b);
  CHECK_EQ(archive_log_prune(&l, DAY0 + ARCHIVE_DAY_MS, DAY0 + 5 * ARCHIVE_DAY_MS, &n), 0);
  CHECK_EQ(n, 0); /* nothing older left: no entry */
  CHECK_EQ(l.next_seq, N_ENTRIES + 1);
  archive_log_close(&l);
}

static void test_bad_files(void) {
  struct archive_log l;
  struct archive_report r;
  char dir[128], path[200];
  build(&l, dir, sizeof dir);
  archive_log_close(&l);
  /* a torn last line (crash mid-append) is cut off at open */
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_ENTRIES);
  FILE *f = fopen(path, "ab");
  fputs("{\"seq\":30,\"archi", f);
  fclose(f);
  CHECK_EQ(archive_verify_dir(dir, &r), MOMEDO_E_CORRUPT);
  CHECK(strstr(r.why, "cut off") != NULL);
  /* read-only (export while `archive run` appends): the partial line is left alone */
  struct stat sb, sa;
  char out[128];
  uint64_t n = 0;
  CHECK_EQ(stat(path, &sb), 0);
  CHECK_EQ(archive_log_open_ro(&l, dir), 0);
  CHECK_EQ(l.next_seq, N_ENTRIES);
  newdir(out, sizeof out);
  CHECK_EQ(archive_log_export(&l, DAY0, DAY0 + 4 * ARCHIVE_DAY_MS, out, &kp, &n), 0);
  CHECK_EQ(n, N_ENTRIES);
  struct archive_msg m = {l.head, l.head, 1, ARCHIVE_KIND_TEXT, (const uint8_t *)"x", 1, NULL};
  CHECK_EQ(archive_log_append(&l, &m, DAY0), MOMEDO_E_INVAL);
  archive_log_close(&l);
  CHECK_EQ(stat(path, &sa), 0);
  CHECK_EQ(sa.st_size, sb.st_size);
  CHECK_EQ(archive_verify_dir(out, &r), 0);
  CHECK_EQ(archive_log_open(&l, dir), 0);
  CHECK_EQ(l.next_seq, N_ENTRIES);
  archive_log_close(&l);
  CHECK_EQ(archive_verify_dir(dir, &r), 0);
  /* an endless line */
  f = fopen(path, "ab");
  for (size_t i = 0; i < ARCHIVE_LINE_BYTES_MAX + 10; i++) fputc('7', f);
  fputc('\n', f);
  fclose(f);
  CHECK_EQ(archive_verify_dir(dir, &r), MOMEDO_E_CORRUPT);
  CHECK(r.has_bad && r.bad_seq == N_ENTRIES);
  CHECK_EQ(archive_log_open(&l, dir), MOMEDO_E_CORRUPT);
  /* no key */
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_KEY);
  unlink(path);
  CHECK_EQ(archive_verify_dir(dir, &r), MOMEDO_E_NOTFOUND);
  CHECK(strstr(r.why, "key.pub") != NULL);
  /* strict lines: a leading zero, upper-case hex */
  struct archive_entry e;
  char why[ARCHIVE_WHY_MAX];
  uint8_t *body = malloc(ARCHIVE_BODY_BYTES_MAX);
  CHECK_EQ(archive_entry_parse(&e, "{\"seq\":01", 9, body, why), MOMEDO_E_CORRUPT);
  CHECK_EQ(archive_day_start("2026-02-31", &(uint64_t){0}), MOMEDO_E_INVAL);
  free(body);
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/momedo-archive-XXXXXX");
  if (mkdtemp(root) == NULL || crypto_sign_keygen(&kp) != 0 || crypto_sign_keygen(&other) != 0)
    return 1;
  RUN(test_roundtrip);
  RUN(test_body_byte);
  RUN(test_removed);
  RUN(test_swapped);
  RUN(test_cut_tail);
  RUN(test_emptied);
  RUN(test_forged_manifest);
  RUN(test_inserted);
  RUN(test_rewritten_chain);
  RUN(test_forged_checkpoint);
  RUN(test_prune);
  RUN(test_bad_files);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
  TEST_MAIN_END();
}
