#!/bin/sh
# simulations/run_scale.sh [--quick] [BUILD_DIR] — the scale series of issue 10: the
# scale_*.scn federations (120, 480, 1,920, 12,000 nodes, the same traffic per node,
# churn and a partition) in both delivery modes, then the national run
# (scale_national.scn: 12,000 nodes, 1,000,000 items), each timed with /usr/bin/time,
# then `momedo-sim --report`: out/scale/report.md (the table of docs/simulation.md),
# report.csv and bytes.svg. --quick: 120 and 480 nodes only (about a minute).
# Flooding is run up to 1,920 nodes: at 12,000 it would hold ~N^2 copies (docs).
# Runs already in OUT with a time.txt are kept (delete them to rerun).
# Environment: OUT (default out/scale), NICE (default 10), MODES (default "scoped flood"),
# SIZES (default "120 480 1920 12000"), NATIONAL (default 1: run scale_national).
# The runs use transparent huge pages for malloc (GLIBC_TUNABLES=glibc.malloc.hugetlb=1,
# glibc >= 2.35, THP "madvise" or "always"): gigabytes of engine state touched at random
# cost a TLB miss per access with 4 KiB pages (national setup 87 -> 55 s CPU). Same output.
set -eu
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}"
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
build=${1:-build}
here=$(dirname "$0")
sim=$build/simulations/momedo-sim
out=${OUT:-out/scale}
nice_n=${NICE:-10}
[ -x "$sim" ] || { echo "run_scale.sh: $sim not found (build first)" >&2; exit 2; }
mkdir -p "$out"

run() { # run NAME SCENARIO MODE
  dir=$out/$1
  [ -f "$dir/time.txt" ] && return 0
  rm -rf "$dir"
  echo "run_scale.sh: $1 ($2, $3)" >&2
  status=0
  /usr/bin/time -f "%e %M %U" -o "$out/$1.time" nice -n "$nice_n" "$sim" "$here/scenarios/$2.scn" \
    --set "repl.scope=$3" --out "$dir" 2> "$out/$1.log" || status=$?
  mv "$out/$1.time" "$dir/time.txt"
  mv "$out/$1.log" "$dir/run.log" # with a progress line every 10 s of wall time
  [ "$status" -eq 0 ] || { echo "run_scale.sh: $1 failed its checks (exit $status)" >&2; failed=1; }
  echo "run_scale.sh: $1: $(cat "$dir/time.txt") (wall s, peak RSS KiB, user CPU s)" >&2
}

failed=0
sizes=${SIZES:-120 480 1920 12000}
modes=${MODES:-scoped flood}
national=${NATIONAL:-1}
if [ $quick -eq 1 ]; then sizes="120 480"; national=0; fi
for n in $sizes; do
  for m in $modes; do
    if [ "$m" = flood ] && [ "$n" -gt 1920 ]; then continue; fi
    run "${m}_$n" "scale_$n" "$m"
  done
done
case " $modes " in *" scoped "*) [ "$national" = 1 ] && run scoped_national scale_national scoped ;; esac
"$sim" --report "$out" > "$out/report.md"
cat "$out/report.md"
exit $failed
