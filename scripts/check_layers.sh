#!/bin/sh
# scripts/check_layers.sh — fails when a part includes a header it must not use
# (STYLE.md §1). The build enforces the same (parts link only what they may, and layer
# guards make a stray wolfSSL include fail to compile: ctest layering_wolfssl); this
# check names the line.
# MOMEDO_SRC names another tree to check (scripts/check_layers_selftest.sh uses it).
set -u
cd "${MOMEDO_SRC:-$(dirname "$0")/..}" || exit 2
bad=0
check() { # part, forbidden-regex, what
  hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)" "$1"/*.c "$1"/*.h 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "layering: $1/ must not include $3:"; echo "$hits"; bad=1
  fi
}
sock='sys/socket\.h|netinet/|arpa/inet\.h|netdb\.h|sys/un\.h'
# protocol/os/ (momedo_os: clocks, the no-echo terminal read), by any path.
os='([^"]*/)?os(\.h|/)'
check protocol    "uv\.h|rocksdb/|wolfssl/ssl\.h|$sock|pthread_np|time\.h|sys/time\.h|termios\.h|$os" \
      "libuv, RocksDB, TLS, sockets, clocks, terminals or protocol/os"
check replication "uv\.h|rocksdb/|wolfssl/|$sock|time\.h|sys/time\.h|termios\.h|$os" \
      "libuv, RocksDB, wolfSSL, sockets, clocks, terminals or protocol/os"
check simulations "uv\.h|rocksdb/|wolfssl/|$sock|time\.h|sys/time\.h|termios\.h" \
      "libuv, RocksDB, wolfSSL, sockets, clocks or terminals (the driver reads its wall time through os.h)"
# simulations: protocol/os only in the driver (the wall time a run took), never in the
# models, so no simulated outcome can depend on the real clock.
hits=$(grep -lE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($os)" simulations/*.c simulations/*.h 2>/dev/null |
       grep -vE '^simulations/(sim_run|main)\.c$')
if [ -n "$hits" ]; then echo "layering: simulations/ includes protocol/os outside sim_run.c and main.c: $hits"; bad=1; fi
check admin       "uv\.h|rocksdb/|wolfssl/" "libuv, RocksDB or wolfSSL"
# node/'s plain-file library momedo_nodeconf (momedo-admin links it too)
hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"](uv\.h|rocksdb/|wolfssl/|$sock|node_int\.h|log\.h)" \
       node/config.c node/config.h node/keyfile.c node/nodedir.c node/nodedir.h 2>/dev/null)
if [ -n "$hits" ]; then echo "layering: momedo_nodeconf (node/config, keyfile, nodedir) must stay plain C over files:"; echo "$hits"; bad=1; fi
# client: sockets and wolfSSL only in the core's transport.c
hits=$(grep -lE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"](uv\.h|rocksdb/|wolfssl/|$sock)" client/core/*.c client/core/*.h \
       client/cli/*.c client/cli/*.h 2>/dev/null | grep -v '^client/core/transport\.c$')
if [ -n "$hits" ]; then echo "layering: client/ uses sockets/libuv/RocksDB/wolfSSL outside client/core/transport.c: $hits"; bad=1; fi
# client/core/ is a library under front-ends (STYLE.md §8): it includes nothing of
# client/cli/, reads no terminal, prints nothing and never exits; a failure is a status
# code and a why sentence for the front-end to show.
if [ -d client/cli ]; then
  clih=$(cd client/cli && ls *.h 2>/dev/null | sed 's/\./\\./g' | paste -sd'|' -)
  check client/core "([^\"]*/)?cli/|${clih:-cli\.h}|termios\.h" "client/cli/ or a terminal (termios.h)"
fi
calls='\b(printf|vprintf|fprintf|vfprintf|dprintf|puts|fputs|putchar|putc|fputc|perror|fflush|exit|_exit|_Exit|quick_exit|isatty|ttyname|getpass|tcgetattr|tcsetattr|cli_tty_read_secret)[[:space:]]*\(|\b(stdout|stderr|stdin)\b'
# comments do not count: /* ... */ on one line, // to the end, comment lines
hits=$(grep -nE "$calls" client/core/*.c client/core/*.h 2>/dev/null | sed -E 's#/\*.*\*/##g; s#//.*$##' |
       grep -E "^[^:]+:[0-9]+:.*($calls)" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*)')
if [ -n "$hits" ]; then echo "layering: client/core/ prints, reads a terminal or exits (front-ends do that):"; echo "$hits"; bad=1; fi
# Front-ends and the probe reach the core through its one public header only; the
# probe, which tests the node protocol below the engine, also the node API and its
# transport (nodeapi.h, transport.h), nothing else.
probe_own='nodeapi.h transport.h'
coreh=$(cd client/core 2>/dev/null && ls *.h | grep -v '^momedo_client\.h$' | sed 's/\./\\./g' | paste -sd'|' -)
probeh=$(cd client/core 2>/dev/null && ls *.h | grep -vxF "$(printf '%s\n' momedo_client.h $probe_own)" |
         sed 's/\./\\./g' | paste -sd'|' -)
inc() { # headers-regex, files...
  h=$1; shift
  grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]([^\"]*/)?($h)[\">]" "$@" 2>/dev/null
}
if [ -n "$coreh" ]; then
  hits=$(inc "$coreh" client/cli/*.c client/cli/*.h tests/tools/engine_drive.c
         inc "$probeh" tests/tools/probe.c)
  if [ -n "$hits" ]; then echo "layering: client/cli/ and tests/tools/ (probe.c, engine_drive.c) include client/core/ only through momedo_client.h (the probe also nodeapi.h and transport.h):"; echo "$hits"; bad=1; fi
fi
# ... and call none of the engine's internals (eng__*, declared in engine_int.h): what a
# front-end needs is an eng_ function (comment lines do not count).
hits=$(grep -nE '\beng__[a-z_]+' client/cli/*.c client/cli/*.h tests/tools/probe.c \
       tests/tools/engine_drive.c 2>/dev/null | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
if [ -n "$hits" ]; then echo "layering: client/cli/ and tests/tools/ call the engine's internals (eng__*):"; echo "$hits"; bad=1; fi
# ... and use no private type of the core: the public headers are momedo_client.h and
# what it includes from client/core/ (transitively); a struct defined in any other core
# header (engine_int.h's struct eng_state and its parts, the *_int.h modules, a header
# the public one does not pull in: the vault, sessions, the node API) is private, unless
# the API (momedo_client.h, engine.h) declares it: an opaque handle, used by pointer
# only (struct eng_state *, struct eng_conn *). Comment lines do not count.
if [ -d client/core ]; then
  pub=momedo_client.h todo=momedo_client.h
  while [ -n "$todo" ]; do
    next=
    for h in $todo; do
      for i in $(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' "client/core/$h"); do
        [ -f "client/core/$i" ] || continue
        case " $pub " in *" $i "*) ;; *) pub="$pub $i" next="$next $i" ;; esac
      done
    done
    todo=$next
  done
  priv=$(cd client/core && for h in *.h; do case " $pub " in *" $h "*) ;; *) echo "$h" ;; esac; done)
  tags() { # what follows the tag (\{: a definition, ;: a declaration), headers...
    t=$1; shift
    sed -nE "s/^[[:space:]]*(typedef[[:space:]]+)?struct[[:space:]]+([A-Za-z_0-9]+)[[:space:]]*$t.*/\2/p" "$@" | sort -u
  }
  opaque=$( (cd client/core && tags ';' momedo_client.h engine.h) )
  ptags() { # the private tags of headers... as a regex
    d=$( (cd client/core && [ $# -gt 0 ] && tags '\{' "$@") )
    printf '%s\n' $d | grep -vxF "$(printf '%s\n' $opaque)" | paste -sd'|' -
  }
  uses() { # tags-regex, files...: the lines naming one (comment lines do not count)
    t=$1; shift
    [ -n "$t" ] && grep -nE "\bstruct[[:space:]]+($t)\b" "$@" 2>/dev/null |
      grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)'
  }
  hits=$(uses "$(ptags $priv)" client/cli/*.c client/cli/*.h tests/tools/engine_drive.c
         uses "$(ptags $(printf '%s\n' $priv | grep -vxF "$(printf '%s\n' $probe_own)"))" \
           tests/tools/probe.c)
  if [ -n "$hits" ]; then echo "layering: client/cli/ and tests/tools/ use a private type of the client core (not in momedo_client.h; the probe may use nodeapi.h's and transport.h's):"; echo "$hits"; bad=1; fi
fi
# replication and the protocol core must not call the clock or rand() directly
# (protocol/os/ is where the clock is read)
hits=$(grep -nE '\b(rand|srand|random|time|clock_gettime|gettimeofday)[[:space:]]*\(' replication/*.c protocol/*.c 2>/dev/null |
       grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
if [ -n "$hits" ]; then echo "layering: replication/ or protocol/ reads a clock or libc randomness:"; echo "$hits"; bad=1; fi
[ $bad -eq 0 ] && echo "layering ok"
exit $bad
