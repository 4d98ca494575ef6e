/* node/testhook.h — momedod's test hooks (docs/reliability.md): a clock offset and
 * crash points around durable store writes, for the crash soak and the clock tests.
 * They exist only in builds configured with MOMEDO_TEST_HOOKS (on by default; packages
 * build with it off), act only when their environment variable is set, and the node
 * logs each active hook at start. Without the build option every call is a no-op. */
#ifndef MOMEDO_NODE_TESTHOOK_H
#define MOMEDO_NODE_TESTHOOK_H

#include <stdint.h>

#include "store.h"

/* MOMEDO_TEST_CLOCK_FILE=PATH: PATH holds a signed number of milliseconds that is
 * added to the node's wall clock (re-read when the file changes, so a running node's
 * clock can jump); a missing or unreadable file counts as 0. */
#define NODE_TEST_CLOCK_ENV "MOMEDO_TEST_CLOCK_FILE"
/* MOMEDO_TEST_CRASH=POINT:N kills the process with SIGKILL at the Nth store write
 * (N >= 1) since start: POINT is crash_before_store_write (nothing of the batch is
 * written) or crash_after_store_write (the batch is durable; its caller never learns). */
#define NODE_TEST_CRASH_ENV "MOMEDO_TEST_CRASH"
#define NODE_TEST_CLOCK_OFFSET_MS_MAX (10ll * 365 * 24 * 3600 * 1000) /* ten years */

/* 1 when built with MOMEDO_TEST_HOOKS. */
int node__test_hooks_built(void);

/* The clock offset in ms (0 unless the clock hook is active). */
int64_t node__test_clock_offset_ms(void);

/* Read the environment once at start: log each active hook (a warning: a production
 * node must never run with one) and, for a crash point, wrap *s in a store that
 * counts writes. E_CONFIG (logged) for a malformed value. */
MOMEDO_WUR int node__test_hooks_start(struct store **s);

#endif
