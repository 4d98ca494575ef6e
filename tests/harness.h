/* tests/harness.h — the tiny unit-test harness: CHECK macros and a runner.
 * A failed CHECK prints file:line and the expression, marks the test failed and
 * returns from the test function; main() exits non-zero if any test failed. */
#ifndef MOMEDO_TEST_HARNESS_H
#define MOMEDO_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_failed_;
static const char *th_current_;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,       \
              th_current_, #cond);                                               \
      th_failed_++;                                                              \
      return;                                                                    \
    }                                                                            \
  } while (0)

#define CHECK_EQ(a, b)                                                           \
  do {                                                                           \
    long long th_a_ = (long long)(a), th_b_ = (long long)(b);                    \
    if (th_a_ != th_b_) {                                                        \
      fprintf(stderr, "%s:%d: %s: CHECK_EQ(%s, %s) failed: %lld != %lld\n",      \
              __FILE__, __LINE__, th_current_, #a, #b, th_a_, th_b_);            \
      th_failed_++;                                                              \
      return;                                                                    \
    }                                                                            \
  } while (0)

#define CHECK_MEM(a, b, n)                                                       \
  do {                                                                           \
    if (memcmp((a), (b), (n)) != 0) {                                            \
      fprintf(stderr, "%s:%d: %s: CHECK_MEM(%s, %s, %s) failed\n", __FILE__,     \
              __LINE__, th_current_, #a, #b, #n);                                \
      th_failed_++;                                                              \
      return;                                                                    \
    }                                                                            \
  } while (0)

#define CHECK_STR(a, b)                                                          \
  do {                                                                           \
    const char *th_sa_ = (a), *th_sb_ = (b);                                     \
    if (th_sa_ == NULL || th_sb_ == NULL || strcmp(th_sa_, th_sb_) != 0) {       \
      fprintf(stderr, "%s:%d: %s: CHECK_STR failed: \"%s\" != \"%s\"\n",         \
              __FILE__, __LINE__, th_current_, th_sa_ ? th_sa_ : "(null)",       \
              th_sb_ ? th_sb_ : "(null)");                                       \
      th_failed_++;                                                              \
      return;                                                                    \
    }                                                                            \
  } while (0)

/* Call a void helper that uses CHECK; if one of its checks failed, return from the
 * calling test too (a CHECK returns only from the function it stands in). */
#define CHECK_CALL(call)                                                         \
  do {                                                                           \
    int th_n_ = th_failed_;                                                      \
    call;                                                                        \
    if (th_failed_ != th_n_) return;                                             \
  } while (0)

#define RUN(fn)                                                                  \
  do {                                                                           \
    int th_before_ = th_failed_;                                                 \
    th_current_ = #fn;                                                           \
    fn();                                                                        \
    printf("%s %s\n", th_failed_ == th_before_ ? "ok  " : "FAIL", #fn);          \
  } while (0)

#define TEST_MAIN_END()                                                          \
  do {                                                                           \
    if (th_failed_) fprintf(stderr, "%d check(s) failed\n", th_failed_);         \
    return th_failed_ ? 1 : 0;                                                   \
  } while (0)

/* Hex helper for test vectors: writes strlen(hex)/2 bytes into out. Deliberately not
 * protocol/hex.c: an independent reader (sscanf) so a bug there cannot hide in the vectors. */
static inline size_t th_unhex(uint8_t *out, size_t cap, const char *hex) {
  size_t n = strlen(hex) / 2;
  if (n > cap) abort();
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) abort();
    out[i] = (uint8_t)v;
  }
  return n;
}

#endif
