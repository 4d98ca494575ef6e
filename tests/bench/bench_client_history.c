/* bench_client_history — the client's SQLite history (client/core/history.c) with one
 * conversation of N messages (default 1,000,000; issue 13): filling it in received
 * batches of 1,000 (one transaction each), then, on a closed and reopened database,
 * open (hist_open + hist_conv), the newest 50 (one page, opened and decoded), the 50
 * before them, and appending one message in its own durable transaction; the file size.
 * In $MOMEDO_TEST_TMP (or /tmp). Usage: bench_client_history [messages] [keep]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "os.h"

#define BENCH_BATCH 1000
#define BENCH_PAGE 50
#define BENCH_REPEAT 20

static void fill(struct tl_entry *e, uint64_t i, char *text, size_t cap) {
  memset(e, 0, sizeof *e);
  for (int b = 0; b < 8; b++) e->id[b] = (uint8_t)(i >> (8 * b));
  e->id[15] = 0x42;
  e->kind = TL_TEXT;
  e->sent_ms = 1700000000000ull + i * 1000;
  e->stored_ms = e->sent_ms + 150;
  e->outgoing = (uint8_t)(i % 3 == 0);
  snprintf(text, cap, "message %llu: Lampe in Gebaeude %llu defekt, bitte bis Freitag pruefen",
           (unsigned long long)i, (unsigned long long)(i % 97));
  e->text = text;
}

static int reopen(struct hist *h, const char *path, const uint8_t *dk, struct hist_conv *c,
                  const uint8_t *peer) {
  char why[256] = "";
  int rc = hist_open(h, path, dk, why, sizeof why);
  if (rc == 0) rc = hist_conv(h, HIST_CONTACT, peer, c);
  if (rc) fprintf(stderr, "open: %s %s\n", momedo_status_name(rc), why);
  return rc;
}

static int page_ms(struct hist *h, const struct hist_conv *c, int64_t before, double *ms,
                   int64_t *last) {
  struct tl_entry out[BENCH_PAGE];
  int64_t rows[BENCH_PAGE];
  size_t got = 0;
  double t0 = os_mono_s();
  int rc = hist_page(h, c, before, BENCH_PAGE, out, rows, &got);
  *ms = (os_mono_s() - t0) * 1000;
  if (rc == 0 && got != BENCH_PAGE) rc = MOMEDO_E_INTERNAL;
  if (got) *last = rows[got - 1];
  for (size_t i = 0; i < got; i++) tl_entry_clear(&out[i]);
  return rc;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  int keep = argc > 2;
  const char *t = getenv("MOMEDO_TEST_TMP");
  char path[600], text[160], side[700];
  uint8_t dk[CRYPTO_AEAD_KEY_LEN], peer[TL_KEY_LEN];
  struct hist h;
  struct hist_conv c;
  struct tl_entry e;
  struct stat sb;
  int64_t last = 0;
  double ms, sum = 0, worst = 0;
  if (n < BENCH_PAGE * 2) return 2;
  memset(dk, 0x11, sizeof dk);
  memset(peer, 0xb0, sizeof peer);
  snprintf(path, sizeof path, "%s/bench-history-%ld.db", t ? t : "/tmp", (long)getpid());
  if (reopen(&h, path, dk, &c, peer)) return 1;
  double t0 = os_mono_s(), c0 = os_cpu_s();
  for (uint64_t i = 0; i < n; i += BENCH_BATCH) {
    if (hist_begin(&h)) return 1;
    for (uint64_t j = i; j < i + BENCH_BATCH && j < n; j++) {
      fill(&e, j, text, sizeof text);
      if (hist_add(&h, &c, &e, NULL)) return 1;
    }
    if (hist_commit(&h)) return 1;
  }
  double fill_s = os_mono_s() - t0, fill_cpu = os_cpu_s() - c0;
  hist_close(&h);
  if (stat(path, &sb) != 0) return 1;
  printf("history: %llu messages in one conversation, batches of %d\n", (unsigned long long)n,
         BENCH_BATCH);
  printf("  fill              %10.0f msg/s  (%.1f s, %.1f CPU-s)\n", (double)n / fill_s, fill_s,
         fill_cpu);
  printf("  file              %10.1f MB     (%.0f bytes per message)\n", sb.st_size / 1e6,
         (double)sb.st_size / (double)n);
  for (int r = 0; r < BENCH_REPEAT; r++) {
    t0 = os_mono_s();
    if (reopen(&h, path, dk, &c, peer)) return 1;
    ms = (os_mono_s() - t0) * 1000;
    sum += ms;
    if (ms > worst) worst = ms;
    if (r < BENCH_REPEAT - 1) hist_close(&h);
  }
  printf("  open              %10.2f ms mean, %.2f ms worst of %d (hist_open + hist_conv)\n",
         sum / BENCH_REPEAT, worst, BENCH_REPEAT);
  sum = worst = 0;
  for (int r = 0; r < BENCH_REPEAT; r++) {
    if (page_ms(&h, &c, 0, &ms, &last)) return 1;
    sum += ms;
    if (ms > worst) worst = ms;
  }
  printf("  newest %d         %10.3f ms mean, %.3f ms worst of %d\n", BENCH_PAGE,
         sum / BENCH_REPEAT, worst, BENCH_REPEAT);
  if (page_ms(&h, &c, last, &ms, &last)) return 1;
  printf("  the %d before     %10.3f ms\n", BENCH_PAGE, ms);
  sum = worst = 0;
  for (int r = 0; r < BENCH_REPEAT; r++) {
    fill(&e, n + (uint64_t)r, text, sizeof text);
    t0 = os_mono_s();
    if (hist_begin(&h) || hist_add(&h, &c, &e, NULL) || hist_commit(&h)) return 1;
    ms = (os_mono_s() - t0) * 1000;
    sum += ms;
    if (ms > worst) worst = ms;
  }
  printf("  append 1          %10.3f ms mean, %.3f ms worst of %d (own transaction, fsync)\n",
         sum / BENCH_REPEAT, worst, BENCH_REPEAT);
  uint64_t count = 0;
  t0 = os_mono_s();
  if (hist_count(&h, &c, &count) || count != n + BENCH_REPEAT) return 1;
  printf("  count             %10.2f ms\n", (os_mono_s() - t0) * 1000);
  hist_close(&h);
  if (!keep) {
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
  }
  return 0;
}
