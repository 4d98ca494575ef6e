/* node/testhook.c — test hooks of momedod (testhook.h): a clock offset read from a
 * file and crash points around the Nth durable store write. Compiled to no-ops without
 * MOMEDO_TEST_HOOKS. Must never change what the node does when no hook variable is set. */
#include "testhook.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#ifndef MOMEDO_TEST_HOOKS

int node__test_hooks_built(void) { return 0; }
int64_t node__test_clock_offset_ms(void) { return 0; }
int node__test_hooks_start(struct store **s) {
  (void)s;
  if (getenv(NODE_TEST_CLOCK_ENV) || getenv(NODE_TEST_CRASH_ENV))
    node_log(NODE_LOG_WARN, "test hooks are not built into this momedod (MOMEDO_TEST_HOOKS "
             "off): %s and %s are ignored", NODE_TEST_CLOCK_ENV, NODE_TEST_CRASH_ENV);
  return 0;
}

#else

#define TESTHOOK_NUM_CHARS_MAX 32

static const char *clock_path;
static struct timespec clock_mtime;
static int64_t clock_offset;

int node__test_hooks_built(void) { return 1; }

static int64_t clock_read(const char *path) {
  char buf[TESTHOOK_NUM_CHARS_MAX + 1];
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, TESTHOOK_NUM_CHARS_MAX, f);
  fclose(f);
  buf[n] = 0;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (errno || end == buf || v > NODE_TEST_CLOCK_OFFSET_MS_MAX ||
      v < -NODE_TEST_CLOCK_OFFSET_MS_MAX)
    return 0;
  return (int64_t)v;
}

int64_t node__test_clock_offset_ms(void) {
  struct stat st;
  if (!clock_path) return 0;
  if (stat(clock_path, &st) != 0) return clock_offset = 0;
  if (st.st_mtim.tv_sec != clock_mtime.tv_sec || st.st_mtim.tv_nsec != clock_mtime.tv_nsec) {
    clock_mtime = st.st_mtim;
    int64_t v = clock_read(clock_path);
    if (v != clock_offset)
      node_log(NODE_LOG_WARN, "test hook: clock offset now %lld ms", (long long)v);
    clock_offset = v;
  }
  return clock_offset;
}

/* A store that forwards everything and kills the process at one write. */
struct crash_store {
  struct store base;
  struct store *inner;
  int after;         /* 1: after the write returned, 0: before it */
  unsigned long at;  /* the write that dies */
  unsigned long writes;
};

static int cs_get(struct store *s, const void *k, size_t kn, void **v, size_t *vn) {
  return store_get(((struct crash_store *)s)->inner, k, kn, v, vn);
}

static void cs_die(const char *when, unsigned long nth) {
  node_log(NODE_LOG_WARN, "test hook: killing myself %s store write %lu", when, nth);
  raise(SIGKILL);
}

static int cs_write(struct store *s, const struct store_batch *b) {
  struct crash_store *c = (struct crash_store *)s;
  if (store_batch_count(b) == 0) return store_write(c->inner, b); /* writes nothing */
  unsigned long nth = ++c->writes;
  if (!c->after && nth == c->at) cs_die("before", nth);
  int rc = store_write(c->inner, b);
  if (c->after && nth == c->at && rc == 0) cs_die("after", nth);
  return rc;
}

static int cs_iter(struct store *s, const void *lo, size_t lon, const void *hi, size_t hin,
                   store_iter_fn fn, void *ctx) {
  return store_iter(((struct crash_store *)s)->inner, lo, lon, hi, hin, fn, ctx);
}

static void cs_close(struct store *s) {
  struct crash_store *c = (struct crash_store *)s;
  store_close(c->inner);
  free(c);
}

static const struct store_vtbl crash_vtbl = {
    .get = cs_get, .write = cs_write, .iter = cs_iter, .close = cs_close};

static int crash_parse(const char *v, int *after, unsigned long *at) {
  static const char before_s[] = "crash_before_store_write:", after_s[] = "crash_after_store_write:";
  const char *num = NULL;
  if (strncmp(v, before_s, sizeof before_s - 1) == 0) {
    *after = 0;
    num = v + sizeof before_s - 1;
  } else if (strncmp(v, after_s, sizeof after_s - 1) == 0) {
    *after = 1;
    num = v + sizeof after_s - 1;
  } else {
    return MOMEDO_E_CONFIG;
  }
  char *end = NULL;
  errno = 0;
  unsigned long n = strtoul(num, &end, 10);
  if (errno || end == num || *end || n == 0 || *num == '-') return MOMEDO_E_CONFIG;
  *at = n;
  return 0;
}

int node__test_hooks_start(struct store **s) {
  const char *clk = getenv(NODE_TEST_CLOCK_ENV), *crash = getenv(NODE_TEST_CRASH_ENV);
  if (clk && *clk) {
    clock_path = clk;
    node_log(NODE_LOG_WARN, "test hook active: clock offset from %s (%lld ms now)", clk,
             (long long)node__test_clock_offset_ms());
  }
  if (!crash || !*crash) return 0;
  int after = 0;
  unsigned long at = 0;
  if (crash_parse(crash, &after, &at) != 0) {
    node_log(NODE_LOG_ERROR, "%s=%.64s: give crash_before_store_write:N or "
             "crash_after_store_write:N (N >= 1)", NODE_TEST_CRASH_ENV, crash);
    return MOMEDO_E_CONFIG;
  }
  struct crash_store *c = calloc(1, sizeof *c);
  if (!c) return MOMEDO_E_NOMEM;
  c->base.vt = &crash_vtbl;
  c->inner = *s;
  c->after = after;
  c->at = at;
  *s = &c->base;
  node_log(NODE_LOG_WARN, "test hook active: SIGKILL %s store write %lu",
           after ? "after" : "before", at);
  return 0;
}

#endif
