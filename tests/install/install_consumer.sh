#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest install_consumer: a program from outside the tree (consumer.c)
# built against the library staged by install_tree, the way a user
# builds against an installed one:
#   cc consumer.c $(pkg-config --cflags --libs p2pclock)
# with PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR pointing into the
# staging directory, and run with LD_LIBRARY_PATH; then linked with the
# static library (pkg-config --static) and run without it.
#   usage: install_consumer.sh DIR PREFIX LIBDIR CC [CFLAGS...]
set -eu
dir=${1:?usage: install_consumer.sh DIR PREFIX LIBDIR CC [CFLAGS...]}
prefix=${2:?}
libdir=${3:?}
cc=${4:?}
shift 4
src=$(cd "$(dirname "$0")" && pwd)/consumer.c
root="$dir/root"
lib="$root$prefix/$libdir"
out="$dir/consumer"
mkdir -p "$out"

export PKG_CONFIG_PATH="$lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$root"
cflags=$(pkg-config --cflags p2pclock)
libs=$(pkg-config --libs p2pclock)
echo "install_consumer: cc consumer.c $cflags $libs"
# shellcheck disable=SC2086 # word splitting of flags is wanted
"$cc" -Wall -Wextra -Werror "$@" -o "$out/consumer" "$src" $cflags $libs
readelf -d "$out/consumer" | grep -q 'NEEDED.*libp2pclock\.so\.0' ||
  { echo "install_consumer: consumer does not need libp2pclock.so.0" >&2; exit 1; }
LD_LIBRARY_PATH="$lib" "$out/consumer"

# Statically: the archive in place of -lp2pclock, libuv and libm after.
slibs=$(pkg-config --static --libs p2pclock | sed 's/-lp2pclock\b/-l:libp2pclock.a/')
echo "install_consumer: cc consumer.c $cflags $slibs"
# shellcheck disable=SC2086
"$cc" -Wall -Wextra -Werror "$@" -o "$out/consumer-static" "$src" $cflags $slibs
if readelf -d "$out/consumer-static" | grep -q 'NEEDED.*libp2pclock'; then
  echo "install_consumer: the static consumer still needs libp2pclock.so" >&2
  exit 1
fi
"$out/consumer-static"
echo "install_consumer: ok (shared and static)"
