#!/bin/sh
# simulations/run_lazy.sh [--quick] [BUILD_DIR] — eager against lazy item push (issue 17):
# every scenario below with repl item_push = eager and = lazy, then a Markdown table of
# RMR, delivery delay p50/p99, reliability and the bytes of pushes and of announcements
# (the table in docs/simulation.md, "Lazy push"). --quick: the small scenarios only
# (about a minute). Runs already in OUT with a summary.json are kept (delete to rerun).
# Environment: OUT (default out/lazy), NICE (default 10), SCENARIOS (names in scenarios/).
set -eu
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
build=${1:-build}
here=$(dirname "$0")
sim=$build/simulations/momedo-sim
out=${OUT:-out/lazy}
nice_n=${NICE:-10}
[ -x "$sim" ] || { echo "run_lazy.sh: $sim not found (build first)" >&2; exit 2; }
all="federation keybundle_spread partition_heal conn_limit_trap scale_120 lazy_push_churn bench_momedo_1000 lazy_push_10000"
[ "$quick" = 1 ] && all="federation partition_heal conn_limit_trap scale_120"
mkdir -p "$out"

val() { # val FILE KEY: a top-level number of summary.json
  sed -n "s/^ *\"$2\": *\([-0-9.e+]*\),*$/\1/p" "$1" | head -n 1
}
traffic() { # traffic FILE BODY: bytes of one ReplMsg body (momedo_traffic)
  grep -o "\"$2_bytes\":[0-9]*" "$1" | head -n 1 | cut -d: -f2
}

{
echo "| scenario | push | RMR | delay p50 ms | delay p99 ms | reliability | push MB | ihave+graft+prune MB | wall s |"
echo "|---|---|---|---|---|---|---|---|---|"
for s in ${SCENARIOS:-$all}; do
  for m in eager lazy; do
    dir=$out/${s}_$m
    if [ ! -f "$dir/summary.json" ]; then
      echo "run_lazy.sh: $s ($m)" >&2
      /usr/bin/time -f "%e" -o "$out/${s}_$m.time" nice -n "$nice_n" "$sim" \
        "$here/scenarios/$s.scn" --set "repl.item_push=$m" --out "$dir" --quiet || true
    fi
    f=$dir/summary.json
    [ -f "$f" ] || { echo "| $s | $m | failed |||||||"; continue; }
    lazyb=$(( $(traffic "$f" ihave) + $(traffic "$f" graft) + $(traffic "$f" prune) ))
    awk -v s="$s" -v m="$m" -v rmr="$(val "$f" rmr)" -v p50="$(val "$f" delay_p50_ms)" \
      -v p99="$(val "$f" delay_p99_ms)" -v rel="$(val "$f" reliability)" \
      -v push="$(traffic "$f" push)" -v lz="$lazyb" \
      -v wall="$(tail -n 1 "$out/${s}_$m.time" 2>/dev/null | cut -d' ' -f1)" \
      'BEGIN { printf "| %s | %s | %.3f | %s | %s | %s | %.1f | %.2f | %s |\n", s, m, rmr, p50, p99, rel, push / 1e6, lz / 1e6, wall }'
  done
done
} | tee "$out/table.md"
