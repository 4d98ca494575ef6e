#!/bin/sh
# scripts/quickstart.sh — from a fresh Debian 12 clone to a running node:
# installs dependencies, builds, creates a node in ./momedo-data (once) and runs it
# in the foreground. Stop it with Ctrl-C; run the script again to start it again.
# MOMEDO_DIR and MOMEDO_LISTEN override the node directory and listen address.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh build
dir=${MOMEDO_DIR:-$PWD/momedo-data}
listen=${MOMEDO_LISTEN:-0.0.0.0:4710}
if [ ! -f "$dir/momedo.conf" ]; then
  ./build/admin/momedo-admin init --dir "$dir" --listen "$listen"
fi
cat <<MSG

momedo node in $dir (listening on $listen).
In a second terminal:
  ./build/admin/momedo-admin --dir $dir status
  ./build/admin/momedo-admin --dir $dir invite --uses 30 --expires 7d   # give the code to a class or team
  ./build/admin/momedo-admin --dir $dir fingerprint                    # tell neighbouring cities this
MSG
exec ./build/node/momedod --dir "$dir"
