#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails if the core archive uses I/O, clocks, randomness, stdio or exit, or
# defines writable global data (DESIGN.md: "the one rule"). libsodium's
# pure primitives are allowed (src/core/noise); its randomness and
# sodium_init (which seeds it) are the runtime's.
set -eu
lib=${1:?usage: check_core_purity.sh libp2pclock_core.a}
[ -f "$lib" ] || { echo "check_core_purity: no such file: $lib" >&2; exit 2; }

forbidden='socket|socketpair|bind|connect|listen|accept|accept4|send|sendto|sendmsg|recv|recvfrom|recvmsg|read|write|readv|writev|open|openat|close|poll|select|epoll_wait|ioctl|fcntl|clock_gettime|gettimeofday|time|clock|timespec_get|nanosleep|usleep|sleep|rand|rand_r|srand|random|srandom|drand48|lrand48|getrandom|getentropy|arc4random|randombytes_buf|randombytes_random|randombytes_uniform|randombytes_buf_deterministic|sodium_init|printf|fprintf|vfprintf|dprintf|puts|fputs|putchar|fputc|fopen|fclose|fwrite|fread|fflush|perror|stdout|stderr|stdin|exit|_exit|_Exit|abort|getenv|signal|raise|pthread_create|malloc_stats'

undef=$(nm -u "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$undef" | grep -E -x "($forbidden)|__(printf|fprintf|vfprintf)_chk|__stack_chk_fail_never" || true)
# Writable globals: objects in .data, .bss, thread-local or common sections.
# (.data.rel.ro is read-only after relocation: a const table of function
# pointers lives there, and that is fine.)
globals=$(objdump -t "$lib" | awk '$0 ~ / O / {
    for (i = 1; i <= NF; i++) if ($i == "O") sec = $(i + 1);
    if (sec ~ /^(\.data|\.bss|\.tdata|\.tbss|\*COM\*)/ && sec !~ /^\.data\.rel\.ro/)
      print sec ": " $NF }' | sort -u)

status=0
if [ -n "$bad" ]; then
  echo "core_purity: src/core calls forbidden functions:" >&2
  printf '  %s\n' $bad >&2
  status=1
fi
if [ -n "$globals" ]; then
  echo "core_purity: src/core defines writable globals:" >&2
  printf "  %s\n" "$globals" >&2
  status=1
fi
n=$(printf '%s\n' "$undef" | grep -c . || true)
[ "$status" -eq 0 ] && echo "core_purity: ok ($n undefined symbols checked, no writable globals)"
exit $status
