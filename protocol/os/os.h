/* protocol/os/os.h — the small helpers that touch the operating system: clocks (the
 * no-echo terminal read is the command line's, client/cli/cli_tty.c). Its own library
 * (momedo_os), linked by node/, client/, admin/,
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

#endif
