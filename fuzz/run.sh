#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every libFuzzer target of a build configured with -DP2PC_FUZZ=ON
# (clang) for SECONDS each, starting from a temporary copy of the checked-in
# corpus (so new inputs do not pollute fuzz/corpus/). Prints, per target,
# the executions and their rate; exits 1 if any target crashed, leaked,
# timed out or ran out of memory, leaving its artifact (the input) in
# DIR/fuzz-artifacts/ and its log next to it.
#
# Targets run FUZZ_JOBS at a time (default 2: this machine's cores); the
# results are printed in the targets' order.
#
#   usage: fuzz/run.sh BUILD_DIR SECONDS
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
dir=$1
secs=$2
case $secs in
  ''|*[!0-9]*) echo "run.sh: SECONDS must be a whole number" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
artifacts=$dir/fuzz-artifacts
mkdir -p "$artifacts" || exit 1
artifacts=$(cd "$artifacts" && pwd)

# UBSan reports are recoverable in this build; make them crashes. Leaks are
# reported by libFuzzer's ASan integration (-detect_leaks=1 by default).
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS

work=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

jobs=${FUZZ_JOBS:-2}
case $jobs in
  ''|*[!0-9]*|0) echo "run.sh: FUZZ_JOBS must be a whole number >= 1" >&2; exit 2 ;;
esac

# One target: its result line into $work/$t.result, 1 into $work/$t.failed
# if it failed.
run_one() {
  t=$1
  bin=$dir/fuzz/$t
  if [ ! -x "$bin" ]; then
    echo "$t: no binary at $bin (configure with -DP2PC_FUZZ=ON)" >"$work/$t.result"
    : >"$work/$t.failed"
    return
  fi
  corpus=$work/$t
  mkdir -p "$corpus"
  # Crash reproducers are regression tests for the replay build; the fuzzer
  # starts from the seeds only, so a known bug does not stop it at once.
  if [ -d "$here/corpus/$t" ]; then
    for f in "$here/corpus/$t"/*; do
      case $(basename "$f") in crash-*) continue ;; esac
      [ -f "$f" ] && cp "$f" "$corpus/"
    done
  fi
  log=$artifacts/$t.log
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
    "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ]; then
    printf '%-16s ok     %10s execs %8s/s  %s\n' "$t" "${execs:-?}" \
      "${rate:-?}" "$cov" >"$work/$t.result"
  else
    art=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
    {
      printf '%-16s FAILED %10s execs %8s/s  exit %s; input: %s; log: %s\n' \
        "$t" "${execs:-?}" "${rate:-?}" "$rc" "${art:-none}" "$log"
      grep -m 1 -E 'ERROR: |invariant failed|runtime error' "$log" | sed 's/^/  /'
    } >"$work/$t.result"
    : >"$work/$t.failed"
  fi
}

targets=
for src in "$here"/fuzz_*.c; do
  targets="$targets $(basename "$src" .c)"
done

# Batches of $jobs, each waited for whole: simple, and a 30 s target
# leaves little idle time.
# shellcheck disable=SC2086 # one word per target
set -- $targets
while [ $# -gt 0 ]; do
  pids=
  k=0
  while [ $# -gt 0 ] && [ $k -lt "$jobs" ]; do
    run_one "$1" &
    pids="$pids $!"
    k=$((k + 1))
    shift
  done
  for p in $pids; do wait "$p"; done
done

failed=0
for t in $targets; do
  cat "$work/$t.result"
  [ -e "$work/$t.failed" ] && failed=1
done
exit $failed
