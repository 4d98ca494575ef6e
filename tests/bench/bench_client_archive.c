/* bench_client_archive — the compliance archive's rates: appending 200-byte texts to
 * the log with an fsync after each (what `archive run` does, so the read cursor never
 * passes an entry that is not on disk) and without, a year of daily checkpoints, and
 * `archive verify` of the whole file set (entries per second, MB per second). Wall
 * time; the disk is the VM's. Usage: bench_client_archive [entries] [synced]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "os.h"

#define DAY0 1796601600000ull
#define TEXT_BYTES 200

static double append_n(struct archive_log *l, unsigned n, int sync, uint64_t t0) {
  uint8_t conv[32], who[32], text[TEXT_BYTES];
  memset(conv, 1, 32), memset(who, 2, 32), memset(text, 'a', sizeof text);
  struct archive_msg m = {conv, who, 0, ARCHIVE_KIND_TEXT, text, sizeof text, NULL};
  double s = os_mono_s();
  for (unsigned i = 0; i < n; i++) {
    m.sent_ms = t0 + i;
    if (archive_log_append(l, &m, t0 + i) != 0 || (sync && archive_log_sync(l) != 0)) {
      fprintf(stderr, "append failed\n");
      exit(1);
    }
  }
  return os_mono_s() - s;
}

int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 200000;
  unsigned ns = argc > 2 ? (unsigned)atoi(argv[2]) : 2000;
  char root[] = "/tmp/momedo-bench-archive-XXXXXX", dir[96], cmd[128];
  struct crypto_sign_keypair kp;
  struct archive_log l;
  struct archive_report r;
  if (mkdtemp(root) == NULL || crypto_sign_keygen(&kp) != 0) return 1;
  snprintf(dir, sizeof dir, "%s/a", root);
  if (archive_log_open(&l, dir) != 0 || archive_log_set_key(&l, kp.pub) != 0) return 1;
  double t_sync = append_n(&l, ns, 1, DAY0);
  double t_fast = append_n(&l, n, 0, DAY0 + ns);
  double s = os_mono_s();
  int made = 0;
  for (unsigned d = 0; d < 365; d++)
    if (archive_log_checkpoint(&l, &kp, DAY0 + (uint64_t)d * ARCHIVE_DAY_MS, &made) != 0) return 1;
  double t_cp = os_mono_s() - s;
  if (archive_log_sync(&l) != 0) return 1;
  off_t bytes = lseek(l.fd, 0, SEEK_END);
  archive_log_close(&l);
  s = os_mono_s();
  int rc = archive_verify_dir(dir, &r);
  double t_ver = os_mono_s() - s;
  if (rc != 0 || r.n_entries != (uint64_t)n + ns) {
    fprintf(stderr, "verify failed: %s\n", r.why);
    return 1;
  }
  printf("archive: %u entries of a %d-byte text, %.1f MB (%.0f bytes per entry)\n", n + ns,
         TEXT_BYTES, (double)bytes / 1e6, (double)bytes / (n + ns));
  printf("append + fsync each: %8.0f entries/s (%u entries)\n", ns / t_sync, ns);
  printf("append, no fsync:    %8.0f entries/s (%u entries)\n", n / t_fast, n);
  printf("checkpoint (sign):   %8.0f per s (365 days)\n", 365 / t_cp);
  printf("verify:              %8.0f entries/s, %.1f MB/s (%u entries, %zu checkpoints)\n",
         r.n_entries / t_ver, (double)bytes / 1e6 / t_ver, n + ns, (size_t)r.n_checkpoints);
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  return system(cmd) == 0 ? 0 : 1;
}
