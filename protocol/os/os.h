/* protocol/os/os.h — the small helpers that touch the operating system: clocks and a
 * no-echo terminal read. Its own library (momedo_os), linked by node/, client/, admin/,
 * the simulator's driver and the benchmarks; protocol's core and replication/ never
 * include or link it (scripts/check_layers.sh fails if they do): there, time is an
 * argument and randomness a seeded PRNG. */
#ifndef MOMEDO_OS_H
#define MOMEDO_OS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* ---- clocks ---------------------------------------------------------------------- */

/* Wall-clock time (CLOCK_REALTIME), milliseconds since the Unix epoch: for timestamps
 * that leave the process (objects, log lines, "now" handed to the engine). */
uint64_t os_wall_ms(void);
/* Monotonic time (CLOCK_MONOTONIC) from an arbitrary origin: for deadlines and
 * durations, never for timestamps. */
uint64_t os_mono_ms(void);
uint64_t os_mono_ns(void);
/* The same in seconds, for benchmarks and rate figures. */
double os_mono_s(void);
/* CPU time this process has used (CLOCK_PROCESS_CPUTIME_ID), seconds: the benchmarks'
 * "per CPU second" figures, steadier than wall time on a shared machine. */
double os_cpu_s(void);

/* ---- terminal -------------------------------------------------------------------- */

/* Longest prompt os_tty_read_secret writes. */
#define OS_TTY_PROMPT_MAX 256

/* Asks on the controlling terminal (/dev/tty, not stdin) for one line with echo off:
 * writes prompt, reads up to the newline, restores the terminal, ends the line. out
 * (cap >= 1 bytes) gets the line without its newline and a NUL, *len its length.
 * Errors: E_AUTH no terminal to ask on; E_TOOBIG the line was longer than cap - 1
 * bytes; E_IO the terminal failed or ended before a newline with nothing typed. On
 * error out holds "" and *len is 0; the caller wipes out after use. */
MOMEDO_WUR int os_tty_read_secret(const char *prompt, char *out, size_t cap, size_t *len);

#endif
