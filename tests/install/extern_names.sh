#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints, one a line and sorted, the name of every function the given
# headers declare P2PC_EXTERN (comments and preprocessor lines skipped).
#   usage: extern_names.sh HEADER...
set -eu
[ $# -gt 0 ] || { echo "usage: extern_names.sh HEADER..." >&2; exit 2; }
names=$(sed -e '/^[[:space:]]*#/d' "$@" | tr '\n' ' ' |
  sed -e 's|/\*[^*]*\*\{1,\}\([^/*][^*]*\*\{1,\}\)*/| |g' |
  grep -o 'P2PC_EXTERN[^(;]*[(;]' |
  sed -e 's/[[:space:]]*[(;]$//' -e 's/.*[^A-Za-z0-9_]//' | sort -u)
[ -n "$names" ] || { echo "extern_names: no P2PC_EXTERN in $*" >&2; exit 1; }
printf '%s\n' "$names"
