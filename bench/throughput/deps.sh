#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages only bench/throughput needs (the libzmq peer),
# if any are missing. As root it runs apt-get; otherwise it prints the exact
# command and stops. The build itself needs scripts/deps.sh, not this.
set -eu

want="libzmq3-dev"

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "p2pclock bench: missing Debian packages:$missing" >&2
  echo "p2pclock bench: run as root:  $cmd" >&2
  exit 1
fi
echo "p2pclock bench: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
