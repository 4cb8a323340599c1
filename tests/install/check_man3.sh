#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest man_libp2pclock: the installed libp2pclock(3) names every function
# the public headers declare P2PC_EXTERN.
#   usage: check_man3.sh PAGE HEADER...
set -eu
page=${1:?usage: check_man3.sh PAGE HEADER...}
shift
here=$(dirname "$0")
names=$(sh "$here/extern_names.sh" "$@")
status=0
n=0
for f in $names; do
  n=$((n + 1))
  if ! sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$page" |
    grep -q -E "(^|[^A-Za-z0-9_])$f([^A-Za-z0-9_]|\$)"; then
    echo "man_libp2pclock: $page does not name $f" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "man_libp2pclock: ok ($n functions)"
exit $status
