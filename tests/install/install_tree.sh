#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest install_tree (the fixture of the other install tests): installs
# the build as `make install DESTDIR=... PREFIX=...` does, into DIR/root
# with prefix PREFIX, and checks that everything is in place: the shared
# library with its soname and links, the static one, the headers,
# p2pclock.pc, the command, both man pages and the systemd unit.
#   usage: install_tree.sh BUILD_DIR DIR PREFIX LIBDIR
set -eu
build=${1:?usage: install_tree.sh BUILD_DIR DIR PREFIX LIBDIR}
dir=${2:?}
prefix=${3:?}
libdir=${4:?}
rm -rf "$dir"
mkdir -p "$dir/root"
DESTDIR="$dir/root" cmake --install "$build" --prefix "$prefix" >"$dir/install.log"

r="$dir/root$prefix"
status=0
need() {
  if [ ! -e "$r/$1" ]; then
    echo "install_tree: missing $prefix/$1" >&2
    status=1
  fi
}
for f in "$libdir/libp2pclock.so" "$libdir/libp2pclock.so.0" \
  "$libdir/libp2pclock.a" "$libdir/pkgconfig/p2pclock.pc" \
  include/p2pclock/p2pclock.h include/p2pclock/node.h include/p2pclock/uv.h \
  bin/p2pclock share/man/man1/p2pclock.1 share/man/man3/libp2pclock.3 \
  lib/systemd/system/p2pclock@.service; do
  need "$f"
done
# The soname, and the development link pointing at the versioned file.
soname=$(readelf -d "$r/$libdir/libp2pclock.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
if [ "$soname" != libp2pclock.so.0 ]; then
  echo "install_tree: soname is '$soname', not libp2pclock.so.0" >&2
  status=1
fi
# Nothing of the build tree or of the staging directory leaks into
# what is installed (the .pc and the unit name the real prefix).
if grep -l -e "$dir" -e "$build" "$r/$libdir/pkgconfig/p2pclock.pc" \
  "$r/lib/systemd/system/p2pclock@.service" >&2; then
  echo "install_tree: the files above name the build or staging tree" >&2
  status=1
fi
grep -q "^prefix=$prefix\$" "$r/$libdir/pkgconfig/p2pclock.pc" ||
  { echo "install_tree: p2pclock.pc: prefix is not $prefix" >&2; status=1; }
[ "$status" -eq 0 ] && echo "install_tree: ok ($(find "$dir/root" -type f | wc -l) files under $prefix)"
exit $status
