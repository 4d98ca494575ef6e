/* protocol/os/os_clock.c — the clocks (see os.h). The one place outside the benchmarks'
 * harness and libuv that calls clock_gettime; both clocks exist on every POSIX system we
 * run on, so a failure is a programmer error (assertion). */
#include <assert.h>
#include <time.h>

#include "os.h"

static struct timespec os_clock(clockid_t id) {
  struct timespec ts;
  int rc = clock_gettime(id, &ts);
  assert(rc == 0);
  (void)rc;
  return ts;
}

uint64_t os_wall_ms(void) {
  struct timespec ts = os_clock(CLOCK_REALTIME);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t os_mono_ms(void) { return os_mono_ns() / 1000000u; }

uint64_t os_mono_ns(void) {
  struct timespec ts = os_clock(CLOCK_MONOTONIC);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double os_mono_s(void) {
  struct timespec ts = os_clock(CLOCK_MONOTONIC);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double os_cpu_s(void) {
  struct timespec ts = os_clock(CLOCK_PROCESS_CPUTIME_ID);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
