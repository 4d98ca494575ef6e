/* node/log.h — the node's one logger: one line per event to stderr (UTC timestamp, level
 * and a printf-style message), to the journal with its priority, or to log_file.
 * Callers never pass message contents or secret key material; public keys appear only
 * as a short hex prefix (node_key_prefix). Safe to call from any thread. */
#ifndef MOMEDO_NODE_LOG_H
#define MOMEDO_NODE_LOG_H

#include <stdarg.h>

#include "status.h"

enum node_log_level {
  NODE_LOG_ERROR = 0,
  NODE_LOG_WARN = 1,
  NODE_LOG_INFO = 2,
  NODE_LOG_DEBUG = 3,
};

/* Longest line written; longer messages are truncated (never split). */
#define NODE_LOG_LINE_MAX 1024

/* Lines above `level` are dropped. Default NODE_LOG_INFO. */
void node_log_set_level(enum node_log_level level);
enum node_log_level node_log_get_level(void);
/* Parse "error", "warn", "info", "debug"; 0 or MOMEDO_E_INVAL. */
int node_log_parse_level(const char *s, enum node_log_level *out);

/* Before the first line: when stderr is the journal's stream ($JOURNAL_STREAM names its
 * device and inode, as systemd sets it), lines are "<6><message>" — the syslog priority
 * journald files them under (3 error, 4 warn, 6 info, 7 debug) — and carry no
 * timestamp (the journal has its own). */
void node_log_init(void);

/* Log to path (appended, created 0640 less the umask) from now on, or to stderr again
 * when path is NULL or "". Called again with the same path it reopens the file (after
 * logrotate moved it); the descriptor number stays, so concurrent writers are safe.
 * E_IO / E_DENIED when the file cannot be opened (logging stays where it was). */
MOMEDO_WUR int node_log_open(const char *path);

/* Writes "2026-11-27T15:04:05Z info <message>\n" (or "<6><message>\n" to the journal)
 * in one write(2). */
void node_log(enum node_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void node_vlog(enum node_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
