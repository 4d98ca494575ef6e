/* tests/unit/test_os_helpers.c — protocol/os: the clocks against the C library's own
 * time() and against each other. (The no-echo terminal read is the command line's:
 * test_cli_tty.) */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "harness.h"
#include "os.h"

static void test_clocks(void) {
  uint64_t wall = os_wall_ms();
  uint64_t libc = (uint64_t)time(NULL) * 1000u;
  CHECK(wall + 2000 >= libc && wall <= libc + 2000);
  uint64_t m0 = os_mono_ms(), n0 = os_mono_ns();
  double s0 = os_mono_s();
  struct timespec nap = {0, 20 * 1000 * 1000};
  while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
  }
  uint64_t m1 = os_mono_ms(), n1 = os_mono_ns();
  double s1 = os_mono_s();
  CHECK(m1 >= m0 + 19 && n1 >= n0 + 19000000u && s1 >= s0 + 0.019);
  /* The three monotonic readings are one clock in three units. */
  CHECK(m1 <= n1 / 1000000u + 1 && n1 / 1000000u <= m1 + 50);
  CHECK((double)n1 / 1e9 <= s1 + 0.001 && s1 <= (double)n1 / 1e9 + 0.05);
  /* Process CPU time grows with work and not while sleeping (one thread: it cannot
   * outrun the wall clock). */
  double c0 = os_cpu_s(), w0 = os_mono_s();
  volatile uint64_t spin = 0;
  while (os_cpu_s() - c0 < 0.02) spin++;
  double c1 = os_cpu_s(), w1 = os_mono_s();
  CHECK(c1 - c0 >= 0.02 && c1 - c0 <= w1 - w0 + 0.005);
  nap.tv_nsec = 50 * 1000 * 1000;
  while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
  }
  CHECK(os_cpu_s() - c1 < 0.03);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  RUN(test_clocks);
  TEST_MAIN_END();
}
