#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages a build needs, if any are missing.
#   scripts/deps.sh test   what `make` and `make test` need
#   scripts/deps.sh ci     plus what .ci/run needs (clang, sanitizers, fuzzer)
#   scripts/deps.sh bench  plus the peers the benches compare with (libzmq
#                          for bench/throughput, chrony for clock_accuracy)
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -eu

base="cmake make gcc pkg-config binutils libcmocka-dev libcjson-dev libuv1-dev python3 iproute2"
ci="clang libclang-rt-14-dev llvm clang-format"

case "${1:-test}" in
test) want=$base ;;
ci) want="$base $ci" ;;
bench) want="$base libzmq3-dev chrony" ;;
*) echo "usage: scripts/deps.sh test|ci|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "p2pclock: missing Debian packages:$missing" >&2
  echo "p2pclock: run as root:  $cmd" >&2
  exit 1
fi
echo "p2pclock: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
