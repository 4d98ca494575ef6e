/* protocol/reason.h — the one convention for the sentence that goes with a status code.
 * A function that can explain a failure takes `char *why, size_t why_cap` (last, in that
 * order): the caller's buffer and its size in bytes. why may be NULL (no text wanted);
 * otherwise the callee leaves a NUL-terminated sentence in it, cut to fit, and returns
 * the MOMEDO_E_* code as usual. The caller sizes the buffer by where the text goes:
 * REASON_MAX for a terminal, log or admin line, FRAME_REASON_BYTES_MAX for a reason that
 * travels in a frame to a peer or client. */
#ifndef MOMEDO_REASON_H
#define MOMEDO_REASON_H

#include <stdarg.h>
#include <stddef.h>

#define REASON_MAX 512 /* bytes with the NUL: a path and a sentence */

/* Formats into why (printf rules); nothing if why is NULL or why_cap is 0. */
void reason_set(char *why, size_t why_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reason_vset(char *why, size_t why_cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* reason_set, then returns status: `return reason_fail(why, why_cap, MOMEDO_E_INVAL, ...);` */
int reason_fail(char *why, size_t why_cap, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
