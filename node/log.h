/* node/log.h — the node's one logger: one line per event to stderr, UTC timestamp,
 * level and a printf-style message. Callers never pass message contents or secret
 * key material; public keys appear only as a short hex prefix (node_key_prefix). */
#ifndef MOMEDO_NODE_LOG_H
#define MOMEDO_NODE_LOG_H

#include <stdarg.h>

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

/* Writes "2026-11-27T15:04:05Z info <message>\n" to stderr in one write(2). */
void node_log(enum node_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void node_vlog(enum node_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
