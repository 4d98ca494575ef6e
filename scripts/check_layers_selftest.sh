#!/bin/sh
# scripts/check_layers_selftest.sh — proves check_layers.sh can fail: copies the parts'
# sources into a scratch tree, passes the clean copy, then plants one forbidden include
# at a time (protocol/os in the protocol core, in replication/ by three spellings and in
# a simulator model; a terminal header in the core; in the client core a cli/ header,
# printing, exiting or a terminal read; a core module header in the command line, the
# engine's private engine_int.h or an eng__ call there; a private type of the core — a
# part of struct eng_state, a *_int.h struct, a struct of a header momedo_client.h does
# not include — in a front-end) and expects a failure for each.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
mkdir -p "${TMPDIR:-/tmp}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/layers.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
for d in protocol replication simulations admin client/core client/cli node tests/tools; do
  mkdir -p "$tmp/$d" && cp "$src/$d"/*.c "$src/$d"/*.h "$tmp/$d/" 2>/dev/null
done
fails=0
run() { MOMEDO_SRC="$tmp" sh "$here/check_layers.sh" >"$tmp/out" 2>&1; }
if ! run; then echo "selftest: the clean tree does not pass:"; cat "$tmp/out"; exit 1; fi
expect_fail() { # file, line to plant
  cp "$tmp/$1" "$tmp/$1.keep"
  printf '%s\n' "$2" >>"$tmp/$1"
  if run; then echo "selftest: check_layers.sh passed with '$2' in $1"; fails=1; fi
  mv "$tmp/$1.keep" "$tmp/$1"
}
expect_pass() {
  cp "$tmp/$1" "$tmp/$1.keep"
  printf '%s\n' "$2" >>"$tmp/$1"
  if ! run; then echo "selftest: check_layers.sh refused '$2' in $1:"; cat "$tmp/out"; fails=1; fi
  mv "$tmp/$1.keep" "$tmp/$1"
}
expect_fail replication/repl.c '#include "os.h"'
expect_fail replication/repl_int.h '#include "../protocol/os/os.h"'
expect_fail replication/repl_idx.c '#include <time.h>'
expect_fail protocol/ids.c '#include "os/os.h"'
expect_fail protocol/obj.c '#include <termios.h>'
expect_fail protocol/hex.c 'static long t(void) { return (long)time(0); }'
expect_fail simulations/sim_net.c '#include "os.h"'
expect_pass simulations/sim_run.c '#include "os.h"'
expect_pass node/log.c '#include "os.h"'
expect_fail client/core/vault.c '#include "cli.h"'
expect_fail client/core/group.c '#include "../cli/cli.h"'
expect_fail client/core/home.c '#include <termios.h>'
expect_fail client/core/home.c 'static void f(void) { printf("x"); }'
expect_fail client/core/home.c 'static void f(const char *s) { fputs(s, stderr); }'
expect_fail client/core/home.c 'static void f(void) { exit(1); }'
expect_fail client/core/contacts.c 'static int f(void) { return isatty(0); }'
expect_fail client/core/account.c 'static int f(char *p) { size_t n; return cli_tty_read_secret("x", p, 2, &n); }'
expect_pass client/core/home.c 'static void f(char *p) { snprintf(p, 2, "x"); } /* printf( in a comment */'
expect_fail client/cli/cli_send.c '#include "vault.h"'
# the message engine (client/core/engine*.c) reports through events, never prints
expect_fail client/core/engine_recv.c 'static void f(void) { fprintf(stderr, "x"); }'
expect_fail client/core/engine_sync.c 'static void f(void) { fflush(stdout); }'
expect_fail client/core/engine_state.c 'static int f(void) { return getpass("x") != 0; }'
expect_fail client/cli/cli_events.c '#include "engine.h"'
expect_fail tests/tools/engine_drive.c '#include "engine.h"'
# the engine's internals stay private: their header and their eng__ calls
expect_fail client/cli/cli_group.c '#include "engine_int.h"'
expect_fail client/cli/cli_send.c 'static void f(struct eng *e) { eng__note(e, "x"); }'
expect_fail tests/tools/engine_drive.c 'static int f(void *st) { return eng__hist_tx(st); }'
expect_pass client/cli/cli_send.c '/* eng__note is the core'"'"'s */'
expect_fail client/cli/bot.c '#include "group_int.h"'
# the core's private types: the home's state is an opaque handle (by pointer), its parts
# and every struct of a header momedo_client.h does not pull in are not for front-ends
expect_fail client/cli/cli_contact.c 'static size_t f(const struct eng_sessions *s) { return s->n; }'
expect_fail client/cli/cli_app_api.c 'static struct eng_groups *g;'
expect_fail tests/tools/engine_drive.c 'static void f(struct group_roster *r) { (void)r; }'
expect_pass client/cli/cli_group.c 'static void f(struct eng_state *st) { eng_state_free(st); }'
expect_pass client/cli/cli_group.c '/* struct eng_sessions is the engine'"'"'s */'
printf '%s\n' '#ifndef X_H' 'struct secret_box { int k; };' '#endif' >"$tmp/client/core/secret_box.h"
expect_fail client/cli/cli_send.c 'static int f(struct secret_box *b) { return b->k; }'
rm -f "$tmp/client/core/secret_box.h"
# what momedo_client.h no longer pulls in is private too: the node API, the vault, the
# sessions; the probe may use the node API and the transport, not the rest
expect_fail client/cli/cli_sync.c 'static void f(struct nodeapi_event *ev) { (void)ev; }'
expect_fail client/cli/cli_contact.c 'static int f(const struct vault *v) { return v->open; }'
expect_fail tests/tools/engine_drive.c 'static struct e2e_session_info i;'
expect_pass tests/tools/probe.c 'static void f(struct transport_tls *t) { (void)t; }'
expect_fail tests/tools/probe.c 'static int f(const struct vault *v) { return v->open; }'
expect_fail tests/tools/probe.c '#include "vault.h"'
expect_pass tests/tools/probe.c '#include "nodeapi.h"'
expect_pass client/cli/cli_send.c '#include "momedo_client.h"'
expect_fail client/core/transport.h '#include <sys/socket.h>'
[ $fails -eq 0 ] && echo "layering selftest ok"
exit $fails
