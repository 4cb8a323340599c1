#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest man_p2pclock: the installed p2pclock(1) names every subcommand of
# `p2pclock help` (as a COMMANDS entry) and every configuration key and
# flag of `p2pclock help --keys`.
#   usage: check_man1.sh P2PCLOCK PAGE
set -eu
bin=${1:?usage: check_man1.sh P2PCLOCK PAGE}
page=${2:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The page as text: font changes dropped, escaped hyphens plain.
sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$page" >"$tmp/text"

status=0
miss() {
  echo "man_p2pclock: $page does not name $1" >&2
  status=1
}
cmds=$("$bin" help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
  on && NF { print $1 }')
[ -n "$cmds" ] || { echo "man_p2pclock: no commands in help" >&2; exit 1; }
n=0
for c in $cmds; do
  n=$((n + 1))
  # An entry of the list: ".TP" then the command's name alone.
  awk -v c="$c" 'prev == ".TP" && $0 == c { found = 1 } { prev = $0 }
    END { exit !found }' "$tmp/text" || miss "the command $c"
done
"$bin" help --keys | awk -F '\t' '!/^#/ { print $1 "\t" $2 }' >"$tmp/keys"
[ -s "$tmp/keys" ] || { echo "man_p2pclock: no keys in help --keys" >&2; exit 1; }
k=0
while IFS='	' read -r key flag; do
  if [ "$key" != - ]; then
    k=$((k + 1))
    grep -q -E "(^|[^A-Za-z0-9_])$key([^A-Za-z0-9_]|\$)" "$tmp/text" || miss "the key $key"
  fi
  # The flag's long name ("--peer [ID@]HOST:PORT" -> --peer); "(--listen)"
  # is a key set through another flag.
  f=${flag%% *}
  case $f in
  --*) grep -q -E -e "(^|[^-A-Za-z0-9])$f([^-A-Za-z0-9]|\$)" "$tmp/text" || miss "the flag $f" ;;
  esac
done <"$tmp/keys"
[ "$status" -eq 0 ] && echo "man_p2pclock: ok ($n commands, $k keys)"
exit $status
