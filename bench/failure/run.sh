#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/failure: the failure detector on real processes (issue 12's
# target: a frozen node declared down by all within 2 s at N=50, and no
# false suspicion in 60 s while two busy loops hold both cores). A
# measurement, not a test: the exit status says only whether the run
# completed (mesh full, the frozen node seen down by everyone).
#
#   bench/failure/run.sh [--nodes N] [--busy S] [--keep] [BUILD_DIR]
#
# Starts N nodes (default 50) on free 127.0.0.1 ports, each dialling the
# first, with --max-peers N+4 (a full mesh) and an event log each. Once
# every node sees N-1 peers up:
#  1. two busy loops (`sh -c 'while :; do :; done'`) start, and for --busy
#     S seconds (default 60) it counts the member_suspect / member_down
#     lines (false suspicions: every node is healthy) and the peer_down
#     lines; the loops are killed by PID;
#  2. it sends SIGSTOP to one node and measures, from the signal to each
#     other node's member_down line for it (their `local` times, this
#     machine's one realtime clock), the time until the last of them; 10 s
#     at most; then SIGCONT, and every node stops by PID.
# --busy 0 skips phase 1 (the ctest smoke: --nodes 8 --busy 0).
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CTL=$SRC/tests/system/ctl.py
N=50 BUSY=60 KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
  --nodes) [ $# -ge 2 ] || usage; N=$2; shift 2 ;;
  --busy) [ $# -ge 2 ] || usage; BUSY=$2; shift 2 ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) break ;;
  esac
done
BUILD=${1:-build}
BIN=$BUILD/p2pclock
[ -x "$BIN" ] || { echo "run.sh: no $BIN (build first)" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -ge 3 ]] || { echo "run.sh: --nodes >= 3" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-failure.XXXXXX")
PIDS=() LOOPS=()
cleanup() {
  for p in ${LOOPS[@]+"${LOOPS[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${PIDS[@]+"${PIDS[@]}"}; do
    kill -CONT "$p" 2>/dev/null || true
    kill "$p" 2>/dev/null || true
  done
  for p in ${PIDS[@]+"${PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
  [ "$KEEP" -eq 1 ] || rm -rf "$T"
}
trap cleanup EXIT

read -r -a PORTS <<<"$(timeout 60 python3 "$CTL" ports "$N")"
[ "${#PORTS[@]}" -eq "$N" ] || { echo "run.sh: no $N free ports" >&2; exit 1; }
for ((i = 0; i < N; i++)); do
  args=(node --open --id "r$i" --listen "127.0.0.1:${PORTS[$i]}"
    --events "$T/r$i.jsonl" --log-level warn --max-peers $((N + 4)))
  [ "$i" -eq 0 ] || args+=(--peer "127.0.0.1:${PORTS[0]}")
  "$BIN" "${args[@]}" </dev/null >"$T/r$i.out" 2>"$T/r$i.err" &
  PIDS+=($!)
  [ "$i" -gt 0 ] || sleep 0.3
done
echo "run.sh: $N nodes started, dir $T" >&2

# Counts over the event logs: python, one pass per question.
ask() { python3 - "$T" "$N" "$@" <<'PY'
import json, os, sys
d, n, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def lines(i):
    p = os.path.join(d, "r%d.jsonl" % i)
    if not os.path.exists(p):
        return
    with open(p) as f:
        for l in f:
            try:
                yield json.loads(l)
            except ValueError:
                pass
if what == "mesh":  # nodes that see n-1 peers up
    full = 0
    for i in range(n):
        up = set()
        for e in lines(i):
            if e["ev"] == "peer_up": up.add(e["peer"])
            elif e["ev"] == "peer_down": up.discard(e["peer"])
        full += len(up) >= n - 1
    print(full)
elif what == "count":  # events of kinds argv[5:] with local >= argv[4]
    since = int(sys.argv[4]); kinds = set(sys.argv[5:]); k = 0
    for i in range(n):
        k += sum(1 for e in lines(i) if e["ev"] in kinds and e["local"] >= since)
    print(k)
elif what == "detect":  # member_down for argv[5] since argv[4]: seen, worst
    since, who = int(sys.argv[4]), sys.argv[5]; seen = 0; worst = 0
    for i in range(n):
        if "r%d" % i == who: continue
        t = [e["local"] for e in lines(i) if e["ev"] == "member_down"
             and e.get("peer") == who and e["local"] >= since]
        if t:
            seen += 1; worst = max(worst, min(t) - since)
    print(seen, worst)
PY
}

for ((k = 0; k < 60 + 2 * N; k++)); do
  [ "$(ask mesh)" -ge "$N" ] && break
  sleep 1
done
FULL=$(ask mesh)
[ "$FULL" -ge "$N" ] || { echo "run.sh: mesh not full ($FULL of $N nodes)" >&2; KEEP=1; exit 1; }
sleep 2
echo "run.sh: mesh full" >&2

FALSE=-1 DOWNS=-1
if [ "$BUSY" -gt 0 ]; then
  sh -c 'while :; do :; done' & LOOPS+=($!)
  sh -c 'while :; do :; done' & LOOPS+=($!)
  B0=$(date +%s%N)
  sleep "$BUSY"
  for p in "${LOOPS[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  LOOPS=()
  FALSE=$(ask count "$B0" member_suspect member_down)
  DOWNS=$(ask count "$B0" peer_down)
fi

VICTIM=r$((N / 2))
S0=$(date +%s%N)
kill -STOP "${PIDS[$((N / 2))]}"
for ((k = 0; k < 100; k++)); do
  sleep 0.1
  read -r SEEN WORST <<<"$(ask detect "$S0" "$VICTIM")"
  [ "$SEEN" -ge $((N - 1)) ] && break
done
kill -CONT "${PIDS[$((N / 2))]}"
read -r SEEN WORST <<<"$(ask detect "$S0" "$VICTIM")"

echo "failure detection, $N nodes on $(nproc) cores (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$BUSY" -gt 0 ]; then
  echo "  busy loops x2 for ${BUSY}s: $FALSE false suspicions (member_suspect/member_down), $DOWNS peer_down"
fi
awk -v s="$SEEN" -v n=$((N - 1)) -v w="$WORST" 'BEGIN {
  printf "  SIGSTOP %s: member_down at %d of %d nodes, the last %.3f s after the signal\n", "'"$VICTIM"'", s, n, w / 1e9 }'
[ "$SEEN" -ge $((N - 1)) ]
