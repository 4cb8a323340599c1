#!/bin/sh
# SPDX-License-Identifier: MIT
# capped.sh KIB [sanitize] -- CMD...: runs CMD with its memory capped at
# KIB KiB as a backstop, so that a run that no longer stops at its budget
# cannot take the machine: `ulimit -v` (address space), or, in a
# sanitizer build, which reserves terabytes of address space, ASan's
# hard_rss_limit_mb (added to ASAN_OPTIONS). The exit status is CMD's.
# (ulimit -v is not POSIX, but dash, bash and busybox sh have it.)
# shellcheck disable=SC3045
set -u
cap=$1
shift
san=
if [ "${1:-}" = sanitize ]; then
  san=1
  shift
fi
[ "${1:-}" = -- ] || {
  echo "usage: capped.sh KIB [sanitize] -- CMD..." >&2
  exit 2
}
shift
if [ -n "$san" ]; then
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=$((cap / 1024))"
  export ASAN_OPTIONS
else
  ulimit -v "$cap" || exit 1
fi
exec "$@"
