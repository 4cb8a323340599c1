#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages a build needs, if any are missing.
#   scripts/deps.sh test   what `make`, `make test` and `make demo` need
#   scripts/deps.sh ci     plus what .ci/run needs (clang, sanitizers, fuzzer)
#   scripts/deps.sh bench  plus the peers the benches compare with (libzmq
#                          for bench/throughput, chrony for clock_accuracy)
# As root it runs apt-get; otherwise it prints the exact command and stops.
#
# chrony is NOT installed as a package: installing it would start a chronyd
# service that disciplines the system clock and would remove
# systemd-timesyncd (they conflict). The bench only needs the binaries, so
# its .deb is downloaded and unpacked into build/deps/chrony (only its
# libraries are installed), and bench/clock_accuracy runs chronyd -x from
# there, never steering the clock.
set -eu

# Installed without recommends, so everything used is named: libc6-dev
# (gcc only recommends it: no crt1.o without it), python3 (system tests'
# helpers, plot_sim.py), nettle-dev (the AES-CMAC of NTP symmetric keys),
# python3-cryptography (AES-CMAC for tests/system/ntp_keys.sh's client),
# iproute2 (`ip netns` in netns_partition), time (GNU time:
# bench/sim_scale), procps (pgrep: bench/throughput), groff-base (groff:
# ctest man_lint checks the man pages).
base="cmake make gcc libc6-dev pkg-config binutils libcmocka-dev libcjson-dev libuv1-dev libsodium-dev nettle-dev python3 python3-cryptography iproute2 time procps groff-base"
ci="clang libclang-rt-14-dev llvm clang-format"

case "${1:-test}" in
test) want=$base ;;
ci) want="$base $ci" ;;
bench) want="$base libzmq3-dev libnettle8 libgnutls30 libcap2 libseccomp2 libedit2" ;;
*) echo "usage: scripts/deps.sh test|ci|bench" >&2; exit 2 ;;
esac

# bench: chronyd and chronyc unpacked privately (see above).
private_chrony() {
  dir=${P2PC_CHRONY_DIR:-build/deps/chrony}
  [ -x "$dir/usr/sbin/chronyd" ] && return 0
  tmp=$(mktemp -d)
  chmod 755 "$tmp" # apt-get download runs as _apt
  echo "p2pclock: unpacking chrony into $dir (not installed as a service)"
  if ! (cd "$tmp" && apt-get download chrony >/dev/null); then
    rm -rf "$tmp"
    echo "p2pclock: apt-get download chrony failed" >&2
    return 1
  fi
  mkdir -p "$dir"
  dpkg -x "$tmp"/chrony_*.deb "$dir"
  rm -rf "$tmp"
}

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  [ "${1:-test}" = bench ] && private_chrony
  exit 0
fi

cmd="apt-get update && apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "p2pclock: missing Debian packages:$missing" >&2
  echo "p2pclock: run as root:  $cmd" >&2
  exit 1
fi
echo "p2pclock: installing:$missing"
echo "p2pclock: (apt-get update && apt-get install --no-install-recommends; about a minute)"
export DEBIAN_FRONTEND=noninteractive
# apt and dpkg say several hundred lines: kept in a log, shown on failure.
log=$(mktemp "${TMPDIR:-/tmp}/p2pclock-deps.XXXXXX")
# shellcheck disable=SC2086
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "p2pclock: installing the packages above failed (apt-get's output above)" >&2
  exit 1
fi
rm -f "$log"
echo "p2pclock: installed:$missing"
if [ "${1:-test}" = bench ]; then private_chrony; fi
