#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/real_mesh: real p2pclock processes on this machine, a full mesh on
# 127.0.0.1, all-to-all unicast traffic, and their memory over time.
# Issue 10's target: 60 nodes, 300 msgs/s in all for 5 minutes, RSS flat
# after the first minute, `p2pclock check` OK. A benchmark, not a test:
# the exit status says only whether the run completed cleanly (mesh full,
# no node died, every node stopped with status 0) and the check said OK;
# flatness is reported with its numbers, never judged.
#
#   bench/real_mesh/run.sh [--quick] [--nodes N] [--rate R] [--duration S]
#       [--sample S] [--mark S] [--mem-limit MIB] [--max-log-mib M]
#       [--seed N] [--max-peers K] [--bcast-rate B] [--peers] [--keep]
#       [--results FILE]
#       [BUILD_DIR]
#
# BUILD_DIR (default build/) holds a built p2pclock; this script builds
# nothing. It starts N nodes (--nodes, default 60) on free 127.0.0.1 ports,
# each dialling the first (the mesh fills through membership), with
# --max-peers N+4 (>= N-1: a full mesh, and room for a reconnection; with
# --max-peers K below N-1 the overlay's own views: traffic starts once
# every node has a link and the links connect all N nodes; --bcast-rate B
# adds B network-wide broadcasts a second from random nodes), an
# event log and a control socket in a temp dir under ${TMPDIR:-/tmp}, each
# under `ulimit -v` (--mem-limit MIB, default 1024; 0 = none, for a
# sanitizer build). It refuses to start with less than 2 GiB free there
# (256 MiB with --quick). Once every node sees N-1 peers up,
# real_mesh.py drive (one process, one persistent control connection per
# node, requests pipelined) asks for R sends a second in all (--rate,
# default 300: message k from node k mod N, at t0 + k/R, to a random other
# node; 0: no traffic, the idle baseline) for --duration S (default 300);
# a send refused by back-pressure is counted, not retried.
#
# Every --sample S (default 10) it reads each node's VmRSS and RssAnon and
# asks for its status (causal entries, causal_bytes, buffered, expiry
# counters); with --peers, for its peers too (the link queues: frames not
# yet acknowledged). Not by default: the answer to `peers` (59 peers, built
# in cJSON) is a transient allocation that glibc's heap keeps after it is
# freed, and polling it every 10 s alone made RSS grow by ~75 KiB a node
# (2.3%) over minutes 1-5 while the live heap stayed flat.
#
# Traffic stops early if a node dies or the logs pass --max-log-mib
# (default 4096). Then it waits until nothing is in flight (nothing
# buffered, every message sent delivered, delivered counts steady; at most
# 90 s), asks every node's peers once for its link queues (reported),
# stops every node by PID (SIGTERM, then at most 30 s; SIGKILL after that,
# reported), runs `p2pclock check` on every event log and prints the
# table: RSS median/max every --mark S (default 60) of traffic, growth from
# the first mark to the end, messages sent/delivered/refused, causal
# metadata per message (meta of the `send` lines: mean, p99, max, and mean
# by minute), expiries, and the check's verdict. Load averages before and
# after are printed with it: the figures are from a shared machine.
#
# --quick: 8 nodes, 20 msgs/s for 20 s, samples every 2 s, marks every 4 s
# (the ctest smoke run, < 60 s). --keep keeps the temp dir (logs, the
# driver's JSON with every sample); it is kept anyway if the run failed.
# --results FILE: also write the table there.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CTL=$SRC/tests/system/ctl.py
DRIVER=$HERE/real_mesh.py
N=60 RATE=300 DURATION=300 SAMPLE=10 MARK=60 MEM_MIB=1024 MAXLOG=4096
SEED=1 KEEP=0 QUICK=0 RESULTS="" MAXP=0 BRATE=0
PEERS=()
SET=""
num() { [[ $2 =~ ^[0-9]+$ ]] || { echo "run.sh: $1 needs an integer" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
  --nodes) [ $# -ge 2 ] || usage; num "$1" "$2"; N=$2; SET+=" N"; shift 2 ;;
  --rate) [ $# -ge 2 ] || usage; num "$1" "$2"; RATE=$2; SET+=" RATE"; shift 2 ;;
  --duration) [ $# -ge 2 ] || usage; num "$1" "$2"; DURATION=$2; SET+=" DURATION"; shift 2 ;;
  --sample) [ $# -ge 2 ] || usage; num "$1" "$2"; SAMPLE=$2; SET+=" SAMPLE"; shift 2 ;;
  --mark) [ $# -ge 2 ] || usage; num "$1" "$2"; MARK=$2; SET+=" MARK"; shift 2 ;;
  --mem-limit) [ $# -ge 2 ] || usage; num "$1" "$2"; MEM_MIB=$2; shift 2 ;;
  --max-log-mib) [ $# -ge 2 ] || usage; num "$1" "$2"; MAXLOG=$2; shift 2 ;;
  --seed) [ $# -ge 2 ] || usage; num "$1" "$2"; SEED=$2; shift 2 ;;
  --results) [ $# -ge 2 ] || usage; RESULTS=$2; shift 2 ;;
  --keep) KEEP=1; shift ;;
  --max-peers) [ $# -ge 2 ] || usage; num "$1" "$2"; MAXP=$2; shift 2 ;;
  --bcast-rate) [ $# -ge 2 ] || usage; BRATE=$2; shift 2 ;;
  --peers) PEERS=(--peers); shift ;;
  --quick) QUICK=1; shift ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) break ;;
  esac
done
[ $# -le 1 ] || usage
BUILD=${1:-build}
if [ "$QUICK" = 1 ]; then # explicit flags still win
  [[ $SET == *" N"* ]] || N=8
  [[ $SET == *" RATE"* ]] || RATE=20
  [[ $SET == *" DURATION"* ]] || DURATION=20
  [[ $SET == *" SAMPLE"* ]] || SAMPLE=2
  [[ $SET == *" MARK"* ]] || MARK=4
fi
if [ "$N" -lt 2 ] || [ "$N" -gt 1000 ] || [ "$DURATION" -lt 1 ] ||
  [ "$SAMPLE" -lt 1 ] || [ "$MARK" -lt 1 ]; then
  echo "run.sh: --nodes 2..1000; --duration, --sample, --mark >= 1" >&2
  exit 2
fi
BIN=$BUILD/p2pclock
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
if [ ! -x "$BIN" ]; then
  echo "run.sh: $BIN not found: build first (cmake --build $BUILD" \
    "--target p2pclock)" >&2
  exit 1
fi
for t in python3 timeout df; do
  command -v $t >/dev/null || { echo "run.sh: $t needed" >&2; exit 1; }
done

TMPBASE=${TMPDIR:-/tmp}
NEED_KIB=$((2 * 1024 * 1024))
[ "$QUICK" = 0 ] || NEED_KIB=$((256 * 1024))
FREE_KIB=$(df -Pk "$TMPBASE" | awk 'NR == 2 {print $4}')
if ! [[ $FREE_KIB =~ ^[0-9]+$ ]] || [ "$FREE_KIB" -lt "$NEED_KIB" ]; then
  echo "run.sh: only ${FREE_KIB:-?} KiB free in $TMPBASE, need" \
    "$NEED_KIB KiB for the event logs: refusing to start" >&2
  exit 1
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

T=$(mktemp -d "$TMPBASE/p2pc-real-mesh.XXXXXX")
declare -a PIDS=()
declare -a NAMES=()
PASSED=0
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local rc=$? i pid
  trap - EXIT
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$PASSED" = 1 ] && [ "$KEEP" = 0 ] && [ "$rc" = 0 ]; then
    rm -rf "$T"
  else
    echo "run.sh: everything is in $T" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

read -r -a PORTS <<<"$(timeout 60 python3 "$CTL" ports "$N")"
[ "${#PORTS[@]}" -eq "$N" ] || { echo "run.sh: no $N free ports" >&2; exit 1; }
WANTP=$MAXP
if [ "$MAXP" = 0 ]; then
  MAXP=$((N + 4))
  [ "$MAXP" -le 1024 ] || MAXP=1024
fi
: >"$T/nodes.tsv"
STARTED=$(date +%s.%N)
for ((i = 0; i < N; i++)); do
  name=r$i
  args=(node --open --id "$name" --listen "127.0.0.1:${PORTS[$i]}"
    --control "$T/$name.sock" --events "$T/$name.jsonl" --log-level warn
    --max-peers "$MAXP")
  [ "$i" -eq 0 ] || args+=(--peer "127.0.0.1:${PORTS[0]}")
  (
    [ "$MEM_MIB" -eq 0 ] || ulimit -v $((MEM_MIB * 1024))
    exec "$BIN" "${args[@]}" </dev/null >"$T/$name.out" 2>"$T/$name.err"
  ) &
  PIDS+=($!)
  NAMES+=("$name")
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$!" "$T/$name.sock" \
    "$T/$name.jsonl" "$T/$name.err" >>"$T/nodes.tsv"
  [ "$i" -gt 0 ] || sleep 0.3 # the seed listens first
done
echo "run.sh: $N nodes started (pids ${PIDS[0]}..${PIDS[$((N - 1))]}), dir $T" >&2

DRC=0
timeout $((DURATION + 600)) python3 "$DRIVER" drive "$T/nodes.tsv" \
  "$T/drive.json" --rate "$RATE" --duration "$DURATION" --sample "$SAMPLE" \
  --mesh-timeout $((60 + 2 * N)) --quiet-timeout 90 --max-log-mib "$MAXLOG" \
  --seed "$SEED" --started "$STARTED" --max-peers "$WANTP" \
  --bcast-rate "$BRATE" \
  ${PEERS[@]+"${PEERS[@]}"} || DRC=$?
[ "$DRC" = 0 ] || echo "run.sh: the driver exited $DRC" >&2
[ -s "$T/drive.json" ] || { echo "run.sh: the driver wrote no results" >&2; exit 1; }

# Stop every node by PID: SIGTERM to all, then one bounded wait for all.
: >"$T/stop.tsv"
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
deadline=$((SECONDS + 30))
for i in "${!PIDS[@]}"; do
  pid=${PIDS[$i]}
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
  rc=0
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rc="killed: no exit 30 s after SIGTERM"
  else
    wait "$pid" || rc=$?
  fi
  printf '%s\t%s\n' "${NAMES[$i]}" "$rc" >>"$T/stop.tsv"
done
PIDS=()

LOGS=()
for name in "${NAMES[@]}"; do LOGS+=("$T/$name.jsonl"); done
CRC=0
timeout 900 "$BIN" check --json "${LOGS[@]}" >"$T/check.json" || CRC=$?
echo "run.sh: p2pclock check exited $CRC" >&2
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" \
  2>/dev/null || true)
rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo "?")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
QUICKNOTE=""
[ "$QUICK" = 0 ] || QUICKNOTE=$'\n- **--quick smoke run: not the real figures**'
HEADER="# p2pclock real mesh ($(date -u '+%Y-%m-%d %H:%M UTC'))

- machine: $(nproc) CPUs, ${cpu:-?}, $(uname -sr); build ${btype:-?}, source $rev
- each node under ulimit -v ${MEM_MIB} MiB (0: none), --max-peers $MAXP, causal lifetime: the default$QUICKNOTE
"
RRC=0
python3 "$DRIVER" report "$T/drive.json" "$T/check.json" --stop "$T/stop.tsv" \
  --load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" --mark "$MARK" \
  --header "$HEADER" >"$T/report.md" || RRC=$?
cat "$T/report.md"
[ -z "$RESULTS" ] || cp "$T/report.md" "$RESULTS"
if [ "$RRC" = 0 ] && [ "$DRC" = 0 ] && [ "$CRC" = 0 ]; then
  PASSED=1
  exit 0
fi
if [ "$CRC" != 0 ]; then
  timeout 900 "$BIN" check "${LOGS[@]}" 2>&1 | tail -n 20 >&2 || true
fi
exit 1
