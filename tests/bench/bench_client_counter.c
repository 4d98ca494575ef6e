/* bench_client_counter — what the anti-rollback counter (client/core/counter.c) costs a save:
 * the time of counter_bump (one 9-byte vault file: seal, write, fsync, rename, directory
 * fsync) next to writing a 4 KiB state file the same way, in a temporary vault on the
 * disk $MOMEDO_TEST_TMP (or /tmp) lives on. Prints mean microseconds per write.
 * Usage: bench_client_counter [writes]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counter.h"
#include "os.h"
#include "vault.h"

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  const char *t = getenv("MOMEDO_TEST_TMP");
  char dir[512], cmd[600];
  static uint8_t state[4096];
  struct vault v;
  uint64_t count = 0;
  snprintf(dir, sizeof dir, "%s/bench-counter-%ld", t ? t : "/tmp", (long)getpid());
  if (n < 1 || mkdir(dir, 0700) != 0) return 2;
  if (vault_create(&v, dir, "bench", 5, VAULT_SCRYPT_LOG2N_MIN) != 0) return 1;
  uint64_t t0 = os_mono_ns();
  for (int i = 0; i < n; i++)
    if (counter_bump(&v, &count) != 0) return 1;
  uint64_t t1 = os_mono_ns();
  for (int i = 0; i < n; i++) {
    state[i % sizeof state] ^= 1; /* changed, so it is written */
    if (vault_write(&v, "state", state, sizeof state) != 0) return 1;
  }
  uint64_t t2 = os_mono_ns();
  printf("counter_bump (9 bytes): %.0f us per save\n", (double)(t1 - t0) / n / 1000);
  printf("a 4 KiB state file:     %.0f us per write\n", (double)(t2 - t1) / n / 1000);
  vault_close(&v);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
