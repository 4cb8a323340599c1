#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/throughput: messages per second between two processes on 127.0.0.1
# (64 B and 1 KiB, one way) and ping-pong round-trip latency (64 B, p50 and
# p99), for raw framed TCP, libzmq (PUSH/PULL, REQ/REP) and p2pclock, all
# measured by this script in the same run, plus idle resident memory. These
# are benchmark figures, not a pass/fail test: the exit status says only
# whether every peer ran to completion.
#
#   bench/throughput/run.sh [--reps N] [--smoke] [BUILD_DIR]
#
# BUILD_DIR (default build/) is a configured and built tree: this script
# builds nothing. It needs BUILD_DIR/bench/throughput/tcp_bench, and
# zmq_bench for the libzmq row (bench/throughput/deps.sh installs libzmq3-dev;
# then re-run cmake). --reps N repeats each measurement N times (default 5);
# --smoke runs tiny fixed counts once (what ctest runs).
#
# Method (on a shared 2-vCPU VM absolute figures are approximate: compare
# the peers' figures from the same run, and the ratios between them):
# - One way: a receiver binds port 0 and prints the port it got; the sender
#   connects and sends N messages; the receiver times from its first message
#   to its last. N is calibrated per peer and size by a pilot run so that a
#   run lasts ~TPUT_SECONDS. Both processes run unpinned.
# - Round trip: both processes pinned to CPU 0 with `taskset -c 0` (an idle
#   vCPU of this VM halts, and waking the other one costs ~30 us per hop).
#   The client times each round trip; the first 10 % are warm-up.
# - Each cell is the median [min-max] over the repetitions. Machine, build
#   type and the load average before and after are printed with the table.
# - Idle RSS: VmRSS of the round-trip server after it has bound its port and
#   before its client connects.
#
# Every peer gets a 60 s deadline of its own (P2PC_TPUT_TIMEOUT=S to change
# it; a peer exits 2 past it) and runs under `timeout` 15 s longer; every
# process started here is killed by PID on exit.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

REPS=5
SMOKE=0
while [ $# -gt 0 ]; do
  case $1 in
  --reps)
    [ $# -ge 2 ] || usage
    REPS=$2
    shift 2
    ;;
  --smoke)
    SMOKE=1
    REPS=1
    shift
    ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) break ;;
  esac
done
[ $# -le 1 ] || usage
BUILD=${1:-build}
case $REPS in '' | *[!0-9]* | 0) usage ;; esac

TCP_BIN=$BUILD/bench/throughput/tcp_bench
ZMQ_BIN=$BUILD/bench/throughput/zmq_bench
P2P_BIN=$BUILD/bench/throughput/p2p_bench

# Each peer's own deadline in seconds (P2PC_TPUT_TIMEOUT overrides it), and
# the `timeout` around each peer, should one hang anyway.
PEER_TIMEOUT=${P2PC_TPUT_TIMEOUT:-60}
case $PEER_TIMEOUT in '' | *[!0-9]* | 0) usage ;; esac
OUTER_TIMEOUT=$((PEER_TIMEOUT + 15))
PORT_TIMEOUT=10   # for a server to print its port, seconds
TPUT_SECONDS=1.5  # target length of one one-way run
RTT_SECONDS=1.2   # target length of one round-trip run
RTT_SIZE=64

if [ ! -x "$TCP_BIN" ]; then
  echo "run.sh: $TCP_BIN not found: build first (cmake -S . -B $BUILD &&" \
    "cmake --build $BUILD)" >&2
  exit 1
fi
command -v taskset >/dev/null || {
  echo "run.sh: taskset (util-linux) is needed to pin latency runs" >&2
  exit 1
}

T_START=$(date +%s.%N)
TMP=$(mktemp -d /tmp/p2pc-tput.XXXXXX)
PIDS=()

# Kills every process still running that this script started, by PID: TERM
# first (`timeout` passes it on to its peer), KILL after a second.
cleanup() {
  local p i
  if [ ${#PIDS[@]} -gt 0 ]; then
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for i in 1 2 3 4 5 6 7 8 9 10; do
      local alive=0
      for p in "${PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && alive=1
      done
      [ $alive -eq 0 ] && break
      sleep 0.1
    done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "run.sh: $*" >&2
  local f
  for f in "$TMP"/*.err; do
    [ -s "$f" ] && sed "s|^|  $(basename "$f" .err): |" "$f" >&2
  done
  exit 1
}

# start_peer NAME CMD...: runs CMD in the background under `timeout`,
# stdout to $TMP/NAME.out, stderr to $TMP/NAME.err; sets LAST_PID.
start_peer() {
  local name=$1
  shift
  # Emptied here, not only by the redirection below, which the background
  # job performs later: wait_port must never read the previous run's port.
  : >"$TMP/$name.out"
  : >"$TMP/$name.err"
  timeout -k 5 "$OUTER_TIMEOUT" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# finish_peer PID NAME: waits for it (bounded by its `timeout`); dies with
# its stderr if it failed.
finish_peer() {
  local pid=$1 name=$2 rc=0 p keep=()
  wait "$pid" || rc=$?
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
  [ $rc -ne 124 ] || die "$name timed out (killed after ${OUTER_TIMEOUT} s)"
  [ $rc -eq 0 ] || die "$name exited with status $rc"
}

# wait_port PID NAME: sets PORT from the first line of NAME's output.
wait_port() {
  local pid=$1 name=$2 line i
  for ((i = 0; i < PORT_TIMEOUT * 100; i++)); do
    # read fails on a line with no newline yet: a port still being written.
    if IFS= read -r line <"$TMP/$name.out" &&
      [[ $line =~ ^port\ ([0-9]+)$ ]]; then
      PORT=${BASH_REMATCH[1]}
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  die "$name printed no port"
}

# rss_kib PID: VmRSS of the peer that `timeout` (PID) runs, in KiB.
rss_kib() {
  local child
  child=$(cat "/proc/$1/task/$1/children" 2>/dev/null || pgrep -P "$1" || true)
  child=${child%% *}
  awk '/^VmRSS:/ { print $2 }' "/proc/$child/status" 2>/dev/null || echo ""
}

# field KEY: the value of KEY=... in $RESULT; fails if there is none. Run
# it as v=$(field KEY) || die ...: it runs in a subshell, so cannot die.
field() {
  local v
  v=$(sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$RESULT")
  [ -n "$v" ] || return 1
  echo "$v"
}

# get KEY: sets VAL to field KEY, or dies.
get() {
  VAL=$(field "$1") || die "no $1 in the result line '$RESULT'"
}

# The peer under test: a command (array) that speaks peer_common.h's
# command line: MODE PORT SIZE COUNT [TIMEOUT_S].
PEER=()

# run_tput SIZE COUNT: one one-way run; sets RESULT (the receiver's line).
run_tput() {
  local size=$1 count=$2 rx tx
  start_peer pull "${PEER[@]}" pull 0 "$size" "$count" "$PEER_TIMEOUT"
  rx=$LAST_PID
  wait_port "$rx" pull
  start_peer push "${PEER[@]}" push "$PORT" "$size" "$count" "$PEER_TIMEOUT"
  tx=$LAST_PID
  finish_peer "$tx" push
  finish_peer "$rx" pull
  RESULT=$(grep '^result ' "$TMP/pull.out" || true)
  [ -n "$RESULT" ] || die "pull printed no result line"
}

# run_rtt SIZE COUNT: one pinned ping-pong run; sets RESULT (the client's
# line) and RSS (the server's idle VmRSS, KiB).
run_rtt() {
  local size=$1 count=$2 srv cli
  start_peer rep taskset -c 0 "${PEER[@]}" rep 0 "$size" "$count" \
    "$PEER_TIMEOUT"
  srv=$LAST_PID
  wait_port "$srv" rep
  RSS=$(rss_kib "$srv")
  start_peer req taskset -c 0 "${PEER[@]}" req "$PORT" "$size" "$count" \
    "$PEER_TIMEOUT"
  cli=$LAST_PID
  finish_peer "$cli" req
  finish_peer "$srv" rep
  RESULT=$(grep '^result ' "$TMP/req.out" || true)
  [ -n "$RESULT" ] || die "req printed no result line"
}

# calibrate_tput SIZE: sets COUNT so that one run lasts ~TPUT_SECONDS.
calibrate_tput() {
  local size=$1 n=100000 secs rate
  if [ $SMOKE -eq 1 ]; then
    COUNT=20000
    return
  fi
  while :; do
    run_tput "$size" "$n"
    get seconds
    secs=$VAL
    get msgs_per_s
    rate=$VAL
    if awk -v s="$secs" 'BEGIN { exit !(s >= 0.2) }' || [ $n -ge 100000000 ]
    then
      break
    fi
    n=$((n * 10))
  done
  COUNT=$(awk -v r="$rate" -v t="$TPUT_SECONDS" 'BEGIN {
    n = int(r * t); if (n < 10000) n = 10000; if (n > 500000000) n = 500000000
    print n }')
}

# calibrate_rtt SIZE: sets COUNT so that one run lasts ~RTT_SECONDS.
calibrate_rtt() {
  local size=$1 mean
  if [ $SMOKE -eq 1 ]; then
    COUNT=500
    return
  fi
  run_rtt "$size" 2000
  get mean_us
  mean=$VAL
  COUNT=$(awk -v m="$mean" -v t="$RTT_SECONDS" 'BEGIN {
    n = int(t * 1e6 / (m > 0 ? m : 1)); if (n < 1000) n = 1000
    if (n > 10000000) n = 10000000; print n }')
}

# Figures, per row and column: VALS[row.col] is a space-separated list, one
# value per repetition. Columns: t64 t1k (msgs/s), p50 p99 (us), rss (KiB),
# mesh (KiB). Rows: tcp zmq p2p.
declare -A VALS=()
declare -A NOTE=()

add_val() { VALS[$1]="${VALS[$1]:-}${VALS[$1]:+ }$2"; }

# measure_peer ROW LABEL: the one-way and round-trip runs for $PEER.
measure_peer() {
  local row=$1 label=$2 size col r
  for size in 64 1024; do
    col=t64
    [ "$size" -eq 1024 ] && col=t1k
    calibrate_tput "$size"
    NOTE[$row.$col]=$COUNT
    printf '%-8s one-way %4d B, N=%-10s' "$label" "$size" "$COUNT" >&2
    for ((r = 0; r < REPS; r++)); do
      run_tput "$size" "$COUNT"
      get msgs_per_s
      add_val "$row.$col" "$VAL"
      printf ' %s' "$(fmt_rate "$VAL")" >&2
    done
    echo " msgs/s" >&2
  done
  calibrate_rtt "$RTT_SIZE"
  NOTE[$row.p50]=$COUNT
  printf '%-8s ping-pong %d B pinned, N=%-8s p50/p99 us:' "$label" \
    "$RTT_SIZE" "$COUNT" >&2
  for ((r = 0; r < REPS; r++)); do
    run_rtt "$RTT_SIZE" "$COUNT"
    get p50_us
    add_val "$row.p50" "$VAL"
    printf ' %s' "$VAL" >&2
    get p99_us
    add_val "$row.p99" "$VAL"
    printf '/%s' "$VAL" >&2
    if [ -n "$RSS" ]; then add_val "$row.rss" "$RSS"; fi
  done
  echo >&2
}

# ---- p2pclock: where the node runtime plugs in ---------------------------
# run_p2pclock is called only if "$BUILD/p2pclock" exists and
# `"$BUILD/p2pclock" bench --help` exits 0. As written it expects
# `p2pclock bench` to speak the peers' command line and output
# (peer_common.h), with two real nodes behind it:
#
#   p2pclock bench pull PORT SIZE COUNT [TIMEOUT_S]
#       start node A listening on 127.0.0.1:PORT (0: any port), print
#       "port N" first, count COUNT messages of SIZE bytes *causally
#       delivered* (after the SES delivery condition) from one peer, timing
#       from the first delivery to the last; then print
#       "result msgs=.. size=.. seconds=.. msgs_per_s=.. mb_per_s=.."
#   p2pclock bench push PORT SIZE COUNT [TIMEOUT_S]
#       start node B, join A at 127.0.0.1:PORT, send COUNT messages to A
#   p2pclock bench rep PORT SIZE COUNT [TIMEOUT_S]
#       node A: as pull, and answer every delivered message with one of the
#       same size; its VmRSS before B joins is the "idle node" figure
#   p2pclock bench req PORT SIZE COUNT [TIMEOUT_S]
#       node B: COUNT round trips (send, wait for the causally delivered
#       answer), the first COUNT/10 not counted; print
#       "result rtts=.. p50_us=.. p99_us=.. mean_us=.. min_us=.. max_us=.."
#   Each exits 0 when done and 2 past TIMEOUT_S (default 60).
#
# If the node's bench mode ends up different, adapt this function only: it
# must fill VALS[p2p.t64], VALS[p2p.t1k], VALS[p2p.p50], VALS[p2p.p99],
# VALS[p2p.rss] (KiB) with one value per repetition.
#
# TODO(node runtime): the resident memory of one node in a 50-node mesh
# (VALS[p2p.mesh], KiB): start 50 nodes on 127.0.0.1 that all join, wait
# until each sees 49 peers, read one node's VmRSS (median over the nodes),
# stop them all by PID. Until then the table prints n/a.
run_p2pclock() {
  PEER=("$P2P_BIN")
  measure_peer p2p p2pclock
  PEER=(env P2P_BENCH_SECURE=1 "$P2P_BIN")
  measure_peer p2ps "p2pclock, secure links"
}

fmt_rate() {
  awk -v v="$1" 'BEGIN {
    if (v >= 1e6) printf "%.3g M", v / 1e6
    else if (v >= 1e3) printf "%.3g k", v / 1e3
    else printf "%.3g", v }'
}
fmt_us() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
fmt_kib() { awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }'; }

# agg ROW.COL WHAT: the median, minimum or maximum of the values (WHAT = median, min, max).
agg() {
  tr ' ' '\n' <<<"${VALS[$1]}" | sort -g | awk -v w="$2" '
    { a[NR] = $1 }
    END {
      if (w == "min") print a[1]
      else if (w == "max") print a[NR]
      else if (NR % 2) print a[(NR + 1) / 2]
      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# cell ROW.COL FORMATTER: "median [min-max]" or n/a.
cell() {
  if [ -z "${VALS[$1]:-}" ]; then
    echo "n/a"
    return
  fi
  local med lo hi
  med=$($2 "$(agg "$1" median)")
  lo=$($2 "$(agg "$1" min)")
  hi=$($2 "$(agg "$1" max)")
  if [ "$REPS" -eq 1 ]; then
    echo "$med"
  else
    echo "$med [$lo–$hi]"
  fi
}

# ratio ROW COL: median(ROW) / median(zmq), or n/a.
ratio() {
  if [ -z "${VALS[$1.$2]:-}" ] || [ -z "${VALS[zmq.$2]:-}" ]; then
    echo "n/a"
    return
  fi
  awk -v a="$(agg "$1.$2" median)" -v b="$(agg "zmq.$2" median)" \
    'BEGIN { printf "%.2f", a / b }'
}

# ratio2 ROW BASE COL: median(ROW) / median(BASE), or n/a.
ratio2() {
  if [ -z "${VALS[$1.$3]:-}" ] || [ -z "${VALS[$2.$3]:-}" ]; then
    echo "n/a"
    return
  fi
  awk -v a="$(agg "$1.$3" median)" -v b="$(agg "$2.$3" median)" \
    'BEGIN { printf "%.2f", a / b }'
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
BUILD_TYPE=$("$TCP_BIN" --build-type)
echo "bench/throughput: $REPS repetition(s), load average $LOAD_BEFORE" >&2

PEER=("$TCP_BIN")
measure_peer tcp "raw TCP"

ZMQ_VERSION="libzmq"
if [ -x "$ZMQ_BIN" ]; then
  ZMQ_VERSION=$("$ZMQ_BIN" --version)
  PEER=("$ZMQ_BIN")
  measure_peer zmq libzmq
  PEER=(env ZMQ_BENCH_CURVE=1 "$ZMQ_BIN")
  measure_peer zmqc "libzmq CURVE"
else
  echo "libzmq: not measured ($ZMQ_BIN not built: run" \
    "bench/throughput/deps.sh, then re-run cmake)" >&2
fi

P2P_NOTE="not measured ($P2P_BIN not built)"
if [ -x "$P2P_BIN" ]; then
  P2P_NOTE="$P2P_BIN (two nodes, counted at causal delivery)"
  run_p2pclock
else
  echo "p2pclock: not measured ($P2P_BIN not built)" >&2
fi

HS_LINE="not measured ($BUILD/bench/throughput/hs_bench not built)"
if [ -x "$BUILD/bench/throughput/hs_bench" ]; then
  n=2000
  [ "$SMOKE" -eq 1 ] && n=20
  HS_LINE=$("$BUILD/bench/throughput/hs_bench" "$n") ||
    die "hs_bench failed"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
T_END=$(date +%s.%N)

# pad WIDTH STRING: STRING padded with spaces to WIDTH characters (not
# bytes: the table has "µ", "≥" and "–" in it).
pad() {
  local LC_ALL=C.UTF-8 s=$2
  printf '%s%*s' "$s" $(($1 > ${#s} ? $1 - ${#s} : 0)) ""
}
# row CELL...: one table row; the first column is 17 wide, the others 25.
row() {
  local line c
  line="| $(pad 17 "$1") |"
  shift
  for c in "$@"; do line+=" $(pad 25 "$c") |"; done
  echo "$line"
}

echo "## p2pclock bench/throughput, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo
echo "- machine: nproc $(nproc), CPU \"$CPU_MODEL\", kernel $(uname -r)"
echo "- load average (1/5/15 min): before $LOAD_BEFORE, after $LOAD_AFTER"
echo "- build: $BUILD (peers built as ${BUILD_TYPE:-unknown})"
echo "- peers: raw TCP = tcp_bench (4-byte big-endian length prefix, 64 KiB" \
  "batched writes, 256 KiB reads); $ZMQ_VERSION = zmq_bench (PUSH/PULL," \
  "REQ/REP, default options); p2pclock: $P2P_NOTE"
echo "- one way: two processes on 127.0.0.1, unpinned; N per run" \
  "calibrated to ~${TPUT_SECONDS} s (raw TCP ${NOTE[tcp.t64]:-?}/${NOTE[tcp.t1k]:-?}," \
  "libzmq ${NOTE[zmq.t64]:-n/a}/${NOTE[zmq.t1k]:-n/a}, p2pclock" \
  "${NOTE[p2p.t64]:-n/a}/${NOTE[p2p.t1k]:-n/a} for 64 B/1 KiB)"
echo "- round trip: $RTT_SIZE B ping-pong, **both processes pinned to CPU 0" \
  "(taskset -c 0)**, first 10 % warm-up; N = ${NOTE[tcp.p50]:-?} /" \
  "${NOTE[zmq.p50]:-n/a} / ${NOTE[p2p.p50]:-n/a}"
echo "- secure links: Noise_XXpsk0 handshake, then ChaCha20-Poly1305" \
  "records (p2p_bench with P2P_BENCH_SECURE=1); libzmq CURVE: CurveZMQ" \
  "(zmq_bench with ZMQ_BENCH_CURVE=1); one handshake (hs_bench, both ends" \
  "in one process, CPU time): $HS_LINE"
echo "- $REPS repetition(s); each cell: median [min–max]$(
  [ "$SMOKE" -eq 1 ] && echo " (SMOKE RUN: tiny counts, figures meaningless)")"
echo
row "" "one-way 64 B, msgs/s" "one-way 1 KiB, msgs/s" "RTT p50, µs" \
  "RTT p99, µs"
row "---" "---" "---" "---" "---"
for r in tcp zmq zmqc p2p p2ps; do
  case $r in
  tcp) name="raw TCP" ;;
  zmq) name="$ZMQ_VERSION" ;;
  zmqc) name="$ZMQ_VERSION CURVE" ;;
  p2p) name="p2pclock" ;;
  p2ps) name="p2pclock secure" ;;
  esac
  row "$name" "$(cell "$r.t64" fmt_rate)" "$(cell "$r.t1k" fmt_rate)" \
    "$(cell "$r.p50" fmt_us)" "$(cell "$r.p99" fmt_us)"
done
row "raw TCP / libzmq" "$(ratio tcp t64)" "$(ratio tcp t1k)" \
  "$(ratio tcp p50)" "$(ratio tcp p99)"
row "p2pclock / libzmq" "$(ratio p2p t64)" "$(ratio p2p t1k)" \
  "$(ratio p2p p50)" "$(ratio p2p p99)"
row "target" "≥ 0.50" "≥ 0.50" "≤ 1.00" ""
row "secure / CURVE" "$(ratio2 p2ps zmqc t64)" "$(ratio2 p2ps zmqc t1k)" \
  "$(ratio2 p2ps zmqc p50)" "$(ratio2 p2ps zmqc p99)"
row "secure / plain" "$(ratio2 p2ps p2p t64)" "$(ratio2 p2ps p2p t1k)" \
  "$(ratio2 p2ps p2p p50)" "$(ratio2 p2ps p2p p99)"
echo
echo "Resident memory (VmRSS). For the peers: the round-trip server process," \
  "bound and idle, as a floor; a mesh does not apply to them."
echo
row "" "one idle node" "one node of a 50-node mesh"
row "---" "---" "---"
row "raw TCP" "$(cell tcp.rss fmt_kib)" "—"
row "$ZMQ_VERSION" "$(cell zmq.rss fmt_kib)" "—"
row "p2pclock" "$(cell p2p.rss fmt_kib)" "$(cell p2p.mesh fmt_kib)"
echo
awk -v a="$T_START" -v b="$T_END" \
  'BEGIN { printf "run.sh took %.1f s\n", b - a }'
