#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make test` RUNS times in a row (default 3) while BUSY busy loops
# (default: one per core) keep every core occupied: the suite must judge
# what it is about, never how fast the machine happens to be. The loops
# are stopped by PID on exit. Prints one line per run; exit 1 if any failed.
#   scripts/test_under_load.sh [RUNS [BUSY]]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
runs=${1:-3}
busy=${2:-$(nproc 2>/dev/null || echo 2)}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
for _ in $(seq 1 "$busy"); do
  (while :; do :; done) &
  pids+=($!)
done
failed=0
for i in $(seq 1 "$runs"); do
  log=$(mktemp "${TMPDIR:-/tmp}/p2pclock-load.XXXXXX")
  start=$SECONDS
  make test >"$log" 2>&1
  rc=$?
  echo "run $i/$runs: exit $rc after $((SECONDS - start)) s, $busy busy loops:" \
    "$(grep -E 'tests passed' "$log" || echo 'no ctest summary')"
  if [ "$rc" -ne 0 ]; then
    grep -E '\*\*\*|Failed' "$log" | sed 's/^/  /'
    echo "  (the whole output: $log)"
    failed=1
  else
    rm -f "$log"
  fi
done
exit "$failed"
