#!/bin/sh
# scripts/check_layers_selftest.sh — proves check_layers.sh can fail: copies the parts'
# sources into a scratch tree, passes the clean copy, then plants one forbidden include
# at a time (protocol/os in the protocol core, in replication/ by three spellings and in
# a simulator model; a terminal header in the core) and expects a failure for each.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
mkdir -p "${TMPDIR:-/tmp}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/layers.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
for d in protocol replication simulations admin client node; do
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
[ $fails -eq 0 ] && echo "layering selftest ok"
exit $fails
