#!/bin/sh
# Bounded libFuzzer smoke run: new inputs go to a scratch dir, never into the repo corpus.
# usage: run_fuzz.sh FUZZER SEED_DIR SECONDS   — exits non-zero on any finding.
set -u
fuzzer=$1 seeds=$2 secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$work/log" 2>&1
rc=$?
tail -n 30 "$work/log"
if [ $rc -ne 0 ]; then
  for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$a" ] && echo "artifact: $(basename "$a") $(od -An -tx1 "$a" | head -c 400)"
  done
fi
exit $rc
