#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes p2pclock(1) from its template and the command's own help, so the
# page names every subcommand and every config key the build has:
#   @VERSION@   p2pclock --version
#   @COMMANDS@  the "commands:" list of `p2pclock help`, each with the
#               usage line of `p2pclock help COMMAND`
#   @OPTIONS@   `p2pclock help --man` (the option table as troff)
# usage: gen_p2pclock_1.sh P2PCLOCK TEMPLATE OUT
set -eu
bin=${1:?usage: gen_p2pclock_1.sh P2PCLOCK TEMPLATE OUT}
tmpl=${2:?}
out=${3:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Plain text as troff: backslashes and hyphens escaped, no line taken for
# a request.
esc() {
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

version=$("$bin" --version | awk '{print $NF}')
"$bin" help --man >"$tmp/options"
[ -s "$tmp/options" ] || { echo "gen_p2pclock_1: empty help --man" >&2; exit 1; }

"$bin" help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
  on && NF { print }' >"$tmp/list"
[ -s "$tmp/list" ] || { echo "gen_p2pclock_1: no commands in help" >&2; exit 1; }
: >"$tmp/commands"
while read -r name desc; do
  # The usage of the command, its continuation lines joined.
  usage=$("$bin" help "$name" 2>/dev/null | awk -v c="$name" '
    !on && index($0, "usage: p2pclock " c) == 1 { on = 1; u = substr($0, 8); next }
    on && /^ +[^ ]/ && !/^  -/ { sub(/^ +/, ""); u = u " " $0; next }
    on { exit }
    END { print u }') || usage=
  {
    echo ".TP"
    printf '\\fB%s\\fR\n' "$name"
    printf '%s\n' "$desc." | esc
    if [ -n "$usage" ]; then
      echo ".br"
      printf 'Usage: %s\n' "$usage" | esc
    fi
  } >>"$tmp/commands"
done <"$tmp/list"

awk -v version="$version" -v cmds="$tmp/commands" -v opts="$tmp/options" '
  $0 == "@COMMANDS@" { while ((getline l < cmds) > 0) print l; next }
  $0 == "@OPTIONS@" { while ((getline l < opts) > 0) print l; next }
  { gsub(/@VERSION@/, version); print }' "$tmpl" >"$tmp/page"
mkdir -p "$(dirname "$out")"
mv "$tmp/page" "$out"
