#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest lib_static_prefix: every global symbol the static library defines
# starts with p2pc_ (p2pc__ for the internal ones): an application that
# links libp2pclock.a gets no name of ours it could clash with.
#   usage: check_prefix.sh LIBRARY.a
set -eu
lib=${1:?usage: check_prefix.sh LIBRARY.a}
bad=$(nm --defined-only -g "$lib" | awk 'NF == 3 && $2 ~ /[TDBRVW]/ {print $3}' |
  grep -v -E '^(p2pc_|__(asan|odr_asan|ubsan|sancov|sanitizer))' | sort -u || true)
if [ -n "$bad" ]; then
  echo "lib_static_prefix: global symbols outside the p2pc_ prefix:" >&2
  printf '  %s\n' $bad >&2
  exit 1
fi
n=$(nm --defined-only -g "$lib" | awk 'NF == 3 && $2 ~ /[TDBRVW]/' | wc -l)
echo "lib_static_prefix: ok ($n global symbols, all p2pc_)"
