/* bench_client_history_import — moving an older home into history.db
 * (client/core/history_import.c, issue 13 part 2): C conversations (default 10) whose
 * timeline files hold the most an old momedo kept, 20,000 messages each
 * (TL_ENTRIES_MAX), written with timeline.c as that momedo did; then the time of
 * hist_import (read, open and parse each file, insert one transaction per conversation,
 * remove the files) and of running it again on the finished store (the check every
 * later open pays). In $MOMEDO_TEST_TMP (or /tmp). Usage: bench_client_history_import [C]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "os.h"
#include "vault.h"

#define BENCH_CONV_DEFAULT 10
#define BENCH_CONV_MAX 256

static int old_home(const struct vault *v, struct hist_src *src, size_t nconv) {
  char text[128];
  for (size_t k = 0; k < nconv; k++) {
    struct timeline t;
    src[k].kind = HIST_CONTACT;
    memset(src[k].key, 0, TL_KEY_LEN);
    src[k].key[0] = (uint8_t)k;
    src[k].key[1] = 0x5c;
    if (timeline_load(&t, v, src[k].key)) return 1;
    for (uint32_t i = 0; i < TL_ENTRIES_MAX; i++) {
      struct tl_entry e;
      memset(&e, 0, sizeof e);
      if (crypto_random(e.id, TL_ID_LEN)) return 1;
      e.kind = TL_TEXT;
      e.outgoing = (uint8_t)(i % 3 == 0);
      e.sent_ms = 1700000000000ull + i * 1000ull;
      e.acc = -1;
      snprintf(text, sizeof text, "message %u: Lampe in Gebaeude %u defekt, bitte pruefen", i,
               i % 97);
      e.text = text;
      if (timeline_add(&t, &e, NULL)) return 1;
    }
    int rc = timeline_save(&t, v);
    timeline_free(&t);
    if (rc) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *tmp = getenv("MOMEDO_TEST_TMP");
  char dir[512], path[600], cmd[700], why[256] = "";
  size_t nconv = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : BENCH_CONV_DEFAULT;
  static struct hist_src src[BENCH_CONV_MAX];
  struct hist_import_stats st;
  struct vault v;
  struct hist h;
  if (nconv == 0 || nconv > BENCH_CONV_MAX) return 2;
  snprintf(dir, sizeof dir, "%s/bench-himp-%ld", tmp ? tmp : "/tmp", (long)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0 || mkdir(dir, 0700) != 0) return 1;
  if (vault_create(&v, dir, "pw", 2, 10)) return 1;
  snprintf(path, sizeof path, "%s/%s", dir, HIST_FILE);
  uint64_t t0 = os_mono_ms();
  if (old_home(&v, src, nconv)) return 1;
  uint64_t t1 = os_mono_ms();
  if (hist_open(&h, path, v.data_key, why, sizeof why)) return 1;
  if (hist_import(&h, &v, src, nconv, &st, NULL)) return 1;
  uint64_t t2 = os_mono_ms();
  hist_close(&h);
  if (hist_open(&h, path, v.data_key, why, sizeof why)) return 1;
  uint64_t t3 = (os_mono_ns() / 1000);
  if (hist_import(&h, &v, src, nconv, &st, NULL) || st.ran) return 1;
  uint64_t t4 = (os_mono_ns() / 1000);
  hist_close(&h);
  struct stat sb;
  if (stat(path, &sb) != 0) return 1;
  double s = (double)(t2 - t1) / 1000.0;
  printf("bench_client_history_import: %zu conversations x %d messages (old timeline files)\n",
         nconv, TL_ENTRIES_MAX);
  printf("  writing the old home       %8.2f s (timeline.c, as the old momedo)\n",
         (double)(t1 - t0) / 1000.0);
  printf("  hist_import                %8.2f s = %.0f messages/s (one transaction per conversation)\n",
         s, (double)nconv * TL_ENTRIES_MAX / s);
  printf("  hist_import again (done)   %8.3f ms\n", (double)(t4 - t3) / 1000.0);
  printf("  history.db                 %8.1f MB\n", (double)sb.st_size / 1e6);
  vault_close(&v);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
