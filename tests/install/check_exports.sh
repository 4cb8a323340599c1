#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest lib_exports: the shared library exports exactly the functions the
# public headers declare P2PC_EXTERN: nothing else (the library is built
# with -fvisibility=hidden), nothing missing.
#   usage: check_exports.sh LIBRARY.so HEADER...
set -eu
lib=${1:?usage: check_exports.sh LIBRARY.so HEADER...}
shift
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sh "$here/extern_names.sh" "$@" >"$tmp/declared"
# Defined dynamic symbols, without the linker's own (_init, _end, ...)
# and the sanitizers' (instrumented builds only).
nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' |
  grep -v -E -x '_init|_fini|_edata|_end|__bss_start|(__asan|__odr_asan|__ubsan|__sancov|__sanitizer).*' |
  sort -u >"$tmp/exported"

status=0
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
  echo "lib_exports: exported but not declared P2PC_EXTERN:" >&2
  printf '  %s\n' $extra >&2
  status=1
fi
if [ -n "$missing" ]; then
  echo "lib_exports: declared P2PC_EXTERN but not exported:" >&2
  printf '  %s\n' $missing >&2
  status=1
fi
[ "$status" -eq 0 ] &&
  echo "lib_exports: ok ($(wc -l <"$tmp/exported") symbols, all declared)"
exit $status
