/* node/log.c — levelled lines, each formatted into a stack buffer and written with one
 * write(2) so concurrent writers do not interleave within a line. To stderr with a UTC
 * timestamp; to the journal (stderr is the journal's stream: $JOURNAL_STREAM) as
 * "<N>message" so journald files it under priority N and stamps it itself; or to the
 * configured log_file, reopened on SIGHUP (logrotate). Holds the level and the fd. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os.h"
#include "status.h"

static enum node_log_level log_level = NODE_LOG_INFO;
static int log_fd = STDERR_FILENO; /* replaced in place (dup2) on reopen */
static int log_journal;            /* lines carry <N> and no timestamp */

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};
/* syslog priorities (sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG). */
static const char log_prio[] = {'3', '4', '6', '7'};

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

/* Is fd the stream journald gave us? $JOURNAL_STREAM is "DEV:INODE" of it. */
static int is_journal(int fd) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) != 0) return 0;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void node_log_init(void) { log_journal = is_journal(STDERR_FILENO); }

int node_log_open(const char *path) {
  if (!path || !*path) {
    if (log_fd != STDERR_FILENO && dup2(STDERR_FILENO, log_fd) < 0) return MOMEDO_E_IO;
    log_journal = is_journal(STDERR_FILENO);
    return 0;
  }
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) return errno == EACCES ? MOMEDO_E_DENIED : MOMEDO_E_IO;
  if (log_fd == STDERR_FILENO) {
    log_fd = fd; /* the first file: it keeps this number for good */
  } else {
    /* Writers may be using log_fd right now (the metrics thread): dup2 swaps the file
     * behind the number atomically, so no write ever meets a closed descriptor. */
    int rc = dup2(fd, log_fd);
    close(fd);
    if (rc < 0) return MOMEDO_E_IO;
    (void)fcntl(log_fd, F_SETFD, FD_CLOEXEC);
  }
  log_journal = 0;
  return 0;
}

void node_vlog(enum node_log_level level, const char *fmt, va_list ap) {
  if (level > log_level || level < NODE_LOG_ERROR) return;
  char line[NODE_LOG_LINE_MAX];
  size_t n = 0;
  int m;
  if (log_journal) {
    line[n++] = '<';
    line[n++] = log_prio[level];
    line[n++] = '>';
  } else {
    struct tm tm;
    time_t now_s = (time_t)(os_wall_ms() / 1000);
    gmtime_r(&now_s, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    m = snprintf(line + n, sizeof line - n, "%s ", log_level_names[level]);
    if (m > 0) n += (size_t)m;
  }
  m = vsnprintf(line + n, sizeof line - n, fmt, ap);
  if (m > 0) n += (size_t)m;
  if (n > sizeof line - 2) n = sizeof line - 2; /* truncated: keep room for '\n' */
  line[n++] = '\n';
  ssize_t w = write(log_fd, line, n);
  (void)w; /* nowhere to report a failed log write */
}

void node_log(enum node_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  node_vlog(level, fmt, ap);
  va_end(ap);
}
