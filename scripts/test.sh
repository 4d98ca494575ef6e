#!/bin/sh
# scripts/test.sh — the whole test suite, exactly as CI runs it:
#   1. release build (gcc, -Werror) + every unit and integration test;
#   2. as root (CI): the Debian packages built with dpkg-buildpackage, checked by lintian,
#      installed with dpkg -i, run as user momedo and purged (ctest label "package");
#   3. ASan+UBSan build (clang) + every test again + bounded libFuzzer smoke runs.
# Exits non-zero on any failure. MOMEDO_FUZZ_SECONDS sets seconds per fuzz target.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
jobs=$(nproc)
fuzz_s=${MOMEDO_FUZZ_SECONDS:-15}

pkg=OFF
[ "$(id -u)" -eq 0 ] && pkg=ON

echo "== release build =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOMEDO_PACKAGE_TEST=$pkg >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" -LE package

echo "== Debian packages (dpkg-buildpackage, lintian, dpkg -i, run, dpkg --purge) =="
if [ "$pkg" = ON ]; then
  ctest --test-dir build --output-on-failure -L package
else
  echo "skipped: installing packages needs root (CI runs as root)"
fi

echo "== sanitizer build (ASan+UBSan, clang) + fuzz smoke =="
CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DMOMEDO_SANITIZE=ON -DMOMEDO_FUZZ=ON -DMOMEDO_FUZZ_SECONDS="$fuzz_s" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
