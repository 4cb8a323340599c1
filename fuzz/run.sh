#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every libFuzzer target of a build configured with -DP2PC_FUZZ=ON
# (clang) for SECONDS each, starting from a temporary copy of the checked-in
# corpus (so new inputs do not pollute fuzz/corpus/). Prints, per target,
# the executions and their rate; exits 1 if any target crashed, leaked,
# timed out or ran out of memory, leaving its artifact (the input) in
# DIR/fuzz-artifacts/ and its log next to it.
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

failed=0
for src in "$here"/fuzz_*.c; do
  t=$(basename "$src" .c)
  bin=$dir/fuzz/$t
  if [ ! -x "$bin" ]; then
    echo "$t: no binary at $bin (configure with -DP2PC_FUZZ=ON)" >&2
    failed=1
    continue
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
      "${rate:-?}" "$cov"
  else
    art=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
    printf '%-16s FAILED %10s execs %8s/s  exit %s; input: %s; log: %s\n' \
      "$t" "${execs:-?}" "${rate:-?}" "$rc" "${art:-none}" "$log"
    grep -m 1 -E 'ERROR: |invariant failed|runtime error' "$log" | sed 's/^/  /'
    failed=1
  fi
done
exit $failed
