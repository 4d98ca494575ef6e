#!/bin/sh
# scripts/deps.sh — install exactly what momedo needs to build and test, from Debian 12.
# Used by the README quick start and by .ci/run. Safe to run again. iproute2 (`ip`) is
# for the network-fault tests (tests/integration/netlab.py: namespaces, veth pairs).
set -eu
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
      libuv1-dev libwolfssl-dev librocksdb-dev libprotobuf-c-dev protobuf-c-compiler
      zlib1g-dev libsystemd-dev libmicrohttpd-dev libqrencode-dev
      libcjson-dev libsqlite3-dev
      python3
      prometheus
      dpkg-dev debhelper lintian adduser systemd procps
      zbar-tools
      iproute2
      chromium chromium-driver python3-selenium"
# prometheus: a real Prometheus scrapes momedod and promtool checks the page
# (test_node_metrics); dpkg-dev … procps: the package test builds, lints, installs and
# runs the .debs (tests/package, run by scripts/test.sh as root); zbar-tools: zbarimg
# decodes every QR code momedo draws (test_client_qr_scan); chromium, chromium-driver and
# python3-selenium drive the operator's web console in a headless browser
# (test_admin_web_browser, run with /usr/bin/python3)
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "momedo: installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
