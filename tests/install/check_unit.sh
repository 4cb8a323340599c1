#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest systemd_unit: the installed p2pclock@.service. Always a syntax
# check (sections, Key=value lines, the hardening it promises); then,
# where systemd-analyze exists, `systemd-analyze verify` on a copy whose
# ExecStart names the staged binary (a warning, e.g. an unknown key,
# fails too).
#   usage: check_unit.sh UNIT DESTDIR
set -eu
unit=${1:?usage: check_unit.sh UNIT DESTDIR}
destdir=${2:?}
status=0
bad() {
  echo "systemd_unit: $*" >&2
  status=1
}

awk '/^[ \t]*(#|;|$)/ { next }
  /^\[(Unit|Service|Install)\]$/ { next }
  /^[A-Za-z]+=/ { next }
  { printf "line %d is not a section, a comment or Key=value: %s\n", NR, $0; bad = 1 }
  END { exit bad }' "$unit" >&2 || status=1
for kv in 'DynamicUser=yes' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
  'ProtectHome=yes' 'PrivateTmp=yes' 'CapabilityBoundingSet=' \
  'RuntimeDirectory=p2pclock/%i' 'WantedBy=multi-user.target'; do
  grep -q -x -F "$kv" "$unit" || bad "no line $kv"
done
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
case $exec_start in
/*/p2pclock\ node\ --config\ /etc/p2pclock/%i.json\ --control\ %t/p2pclock/%i/control.sock) ;;
*) bad "ExecStart is '$exec_start'" ;;
esac

if command -v systemd-analyze >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  bin=${exec_start%% *}
  sed "s|^ExecStart=$bin |ExecStart=$destdir$bin |" "$unit" >"$tmp/p2pclock@.service"
  if ! systemd-analyze verify --man=no "$tmp/p2pclock@.service" >"$tmp/out" 2>&1 ||
    [ -s "$tmp/out" ]; then
    cat "$tmp/out" >&2
    bad "systemd-analyze verify complains"
  fi
  how="systemd-analyze verify"
else
  how="syntax only: no systemd-analyze"
fi
[ "$status" -eq 0 ] && echo "systemd_unit: ok ($how)"
exit $status
