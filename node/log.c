/* node/log.c — timestamped, levelled lines to stderr. Each line is formatted into a
 * stack buffer and written with a single write(2) so concurrent writers do not
 * interleave within a line. Holds only the current level as state. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "status.h"

static enum node_log_level log_level = NODE_LOG_INFO;

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

void node_log_set_level(enum node_log_level level) { log_level = level; }

enum node_log_level node_log_get_level(void) { return log_level; }

int node_log_parse_level(const char *s, enum node_log_level *out) {
  for (int i = 0; i <= NODE_LOG_DEBUG; i++) {
    if (strcmp(s, log_level_names[i]) == 0) {
      *out = (enum node_log_level)i;
      return 0;
    }
  }
  return MOMEDO_E_INVAL;
}

void node_vlog(enum node_log_level level, const char *fmt, va_list ap) {
  if (level > log_level || level < NODE_LOG_ERROR) return;
  char line[NODE_LOG_LINE_MAX];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
  int m = snprintf(line + n, sizeof line - n, "%s ", log_level_names[level]);
  if (m > 0) n += (size_t)m;
  m = vsnprintf(line + n, sizeof line - n, fmt, ap);
  if (m > 0) n += (size_t)m;
  if (n > sizeof line - 2) n = sizeof line - 2; /* truncated: keep room for '\n' */
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, n);
  (void)w; /* nowhere to report a failed log write */
}

void node_log(enum node_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  node_vlog(level, fmt, ap);
  va_end(ap);
}
