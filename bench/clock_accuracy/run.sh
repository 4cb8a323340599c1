#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/clock_accuracy: how well and how fast p2pclock nodes on 127.0.0.1
# agree on the time, and how close a node gets to a reference whose truth
# is known, side by side with chrony in the same run. Benchmark figures, not
# a pass/fail test: the exit status says only whether the run completed
# (77: the p2pclock build lacks a clock feature this bench needs).
#
#   bench/clock_accuracy/run.sh [--modes LIST] [--seed N] [--nodes N]
#       [--warmup S] [--steady S] [--after S] [--interval-ms M]
#       [--no-chrony] [--results FILE] [--keep] [--smoke] [BUILD_DIR]
#
# BUILD_DIR (default build/) is a configured and built tree; this script
# builds nothing. It needs BUILD_DIR/p2pclock and BUILD_DIR/tools/ntpprobe,
# and chronyd/chronyc for the chrony columns (scripts/deps.sh bench).
# --modes: reference,collaborative (default both, one after the other);
# --seed (or P2PC_SEED): the mesh's virtual clocks and the stepped node;
# --nodes N (10); phases --warmup (30 s), --steady (120 s), --after (60 s);
# --interval-ms: probe period (100); --results FILE: where the markdown goes
# (default /tmp/p2pc-clock-accuracy-DATE.md); --keep: keep the raw data
# (probe, polls, node and chrony logs) in the printed /tmp directory;
# --smoke: 4 nodes, 4 s phases, reference mode only, no chrony (ctest).
#
# One run per mode, everything on 127.0.0.1, all at once:
# (a) N p2pclock nodes in a full mesh (node i dials nodes 0..i-1), each
#     with a virtual clock (--clock-offset uniform in ±1 s, --clock-drift
#     uniform in ±200 ppm, seeded and printed), --clock-mode MODE.
# (b) node K (--clock-offset 0.25 --clock-drift 100 --priority 0, so it is
#     the reference and its network time is its local clock) and node P (no
#     virtual clock: its local clock is CLOCK_REALTIME) peered with K, in a
#     mesh of their own, always in reference mode (collaborative mode would
#     move K's time, and the truth with it); and two chronyd -x clients of
#     K's time port: cA "minpoll -4 maxpoll -4" (the issue's setting) and
#     cB "minpoll -7 maxpoll -7 xleave" (chrony's fastest polling; below -7
#     chrony falls back to 64 s; xleave is used only if K offers it).
# ntpprobe asks every node's and chronyd's NTP port each --interval-ms, all
# targets of a round back to back, so that differences between targets
# cancel the probe's own clock. Truth for (b): K's network time − real =
# 0.25 s + 100 ppm × (t − K's start), read from K's `tracking --json`
# virtual_clock (see clockbench.py truth_model). The errors of P (its own
# `tracking` offset_ns, its `sources` raw_offset_ns of K, and probed) and of
# chrony (`chronyc -c tracking` "System time", and probed) are compared with
# it. chrony's logs (rawmeasurements, statistics, tracking) are kept with
# --keep, but not used for the figures: they print 4 significant digits,
# 100 µs at 0.25 s.
# Timeline: start all; after --warmup + --steady seconds, `p2pclock vclock
# --drift OLD+50` on one seeded mesh node; --after seconds more; stop.
# Definitions (clockbench.py): spread = max − min offset over the N mesh
# nodes in one probe round, counted only when all N answer with LI != 3
# and no node's delay exceeds 3 × its minimum + 20 µs (those rounds are
# discarded and counted); "below X" = the first round from which the spread
# stays below X for >= 5 s (an unsynced round breaks it).
#
# Every process started here runs under `timeout` and is stopped by PID on
# exit (TERM, then KILL); every wait is bounded.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
PY="$HERE/clockbench.py"
MODES="reference,collaborative"
SEED=${P2PC_SEED:-}
NODES=10
WARMUP=30
STEADY=120
AFTER=60
INTERVAL_MS=100
CHRONY=1
RESULTS=""
KEEP=0
num() { [[ $2 =~ ^[0-9]+$ ]] || { echo "run.sh: $1 needs an integer" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
  --modes) [ $# -ge 2 ] || usage; MODES=$2; shift 2 ;;
  --seed) [ $# -ge 2 ] || usage; num "$1" "$2"; SEED=$2; shift 2 ;;
  --nodes) [ $# -ge 2 ] || usage; num "$1" "$2"; NODES=$2; shift 2 ;;
  --warmup) [ $# -ge 2 ] || usage; num "$1" "$2"; WARMUP=$2; shift 2 ;;
  --steady) [ $# -ge 2 ] || usage; num "$1" "$2"; STEADY=$2; shift 2 ;;
  --after) [ $# -ge 2 ] || usage; num "$1" "$2"; AFTER=$2; shift 2 ;;
  --interval-ms) [ $# -ge 2 ] || usage; num "$1" "$2"; INTERVAL_MS=$2; shift 2 ;;
  --results) [ $# -ge 2 ] || usage; RESULTS=$2; shift 2 ;;
  --no-chrony) CHRONY=0; shift ;;
  --keep) KEEP=1; shift ;;
  --smoke)
    NODES=4 WARMUP=4 STEADY=4 AFTER=4 CHRONY=0 MODES=reference
    shift
    ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) break ;;
  esac
done
[ $# -le 1 ] || usage
BUILD=${1:-build}
if [ "$NODES" -lt 2 ] || [ "$NODES" -gt 40 ]; then
  echo "run.sh: --nodes must be 2..40" >&2
  exit 2
fi
[ "$INTERVAL_MS" -ge 10 ] || { echo "run.sh: --interval-ms >= 10" >&2; exit 2; }
for m in ${MODES//,/ }; do
  case $m in reference | collaborative) ;; *) usage ;; esac
done
[ -n "$SEED" ] || SEED=$((RANDOM * 32768 + RANDOM))

BIN=$BUILD/p2pclock
PROBE=$BUILD/tools/ntpprobe
for f in "$BIN" "$PROBE"; do
  if [ ! -x "$f" ]; then
    echo "run.sh: $f not found: build first (cmake -S . -B $BUILD &&" \
      "cmake --build $BUILD)" >&2
    exit 1
  fi
done
command -v python3 >/dev/null || { echo "run.sh: python3 needed" >&2; exit 1; }

# What this bench needs from the node; anything missing is named and the
# run stops with 77 (skip), since no figure could be measured without it.
HELP=$("$BIN" --help 2>&1 || true)
MISSING=""
for flag in --clock-offset --clock-drift --clock-mode --priority; do
  grep -q -- "$flag" <<<"$HELP" || MISSING="$MISSING node $flag,"
done
for cmd in tracking sources vclock; do
  grep -Eq "^  ${cmd} |[ |]${cmd}[ |]" <<<"$HELP" ||
    MISSING="$MISSING '$cmd' command,"
done
if [ -n "$MISSING" ]; then
  echo "run.sh: blocked: $BIN lacks:${MISSING%,}" >&2
  exit 77
fi
# chrony as scripts/deps.sh bench unpacks it (never as a service) comes
# first; a system-wide chronyd binary is used otherwise.
CHRONY_DIR=${P2PC_CHRONY_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/deps/chrony}
if [ -x "$CHRONY_DIR/usr/sbin/chronyd" ]; then
  PATH=$CHRONY_DIR/usr/sbin:$CHRONY_DIR/usr/bin:$PATH
fi
if [ $CHRONY -eq 1 ] && ! command -v chronyd >/dev/null; then
  echo "run.sh: chronyd not found: the chrony columns read n/a" \
    "(scripts/deps.sh bench installs chrony)" >&2
  CHRONY=0
fi
if [ $CHRONY -eq 1 ] && ! command -v chronyc >/dev/null; then
  echo "run.sh: chronyc not found: the chrony columns read n/a" >&2
  CHRONY=0
fi

TOTAL=$((WARMUP + STEADY + AFTER))
LIMIT=$((TOTAL + 60)) # `timeout` for every process: the run plus a margin
TMP=$(mktemp -d /tmp/p2pc-clock.XXXXXX)
[ -n "$RESULTS" ] || RESULTS=/tmp/p2pc-clock-accuracy-$(date +%Y%m%d-%H%M%S).md
PIDS=()

# Stops every process this script started that still runs, by PID: TERM
# (`timeout` passes it on), then KILL after up to 3 s.
stop_all() {
  local p i alive
  [ ${#PIDS[@]} -gt 0 ] || return 0
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 30; i++)); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
  if [ $KEEP -eq 1 ]; then
    echo "run.sh: raw data kept in $TMP" >&2
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "run.sh: $*" >&2
  exit 1
}

now_ns() { date +%s%N; }

# sleep_until NS: sleeps until realtime NS (returns at once if past).
sleep_until() {
  local left
  left=$(($1 - $(now_ns)))
  [ $left -le 0 ] || sleep "$(awk -v n="$left" 'BEGIN { printf "%.3f", n / 1e9 }')"
}

# start_bg NAME CMD...: runs CMD in the background under `timeout`, output
# to $D/NAME.out and $D/NAME.err; sets LAST_PID.
start_bg() {
  local name=$1
  shift
  timeout -k 3 "$LIMIT" "$@" >"$D/$name.out" 2>"$D/$name.err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# run_mode MODE: one complete run; appends its markdown to $REPORT.
run_mode() {
  local mode=$1 i j id off drift peers pids_nodes=() names=()
  D=$TMP/$mode
  mkdir -p "$D"
  local nchrony=0
  [ $CHRONY -eq 1 ] && nchrony=2
  local ports
  read -r -a ports <<<"$(python3 "$PY" ports $((NODES + 2 + 2 * nchrony)))"
  local plan
  plan=$(python3 "$PY" plan "$SEED" "$NODES")
  local step_node step_old=""
  step_node=$(awk '$1 == "step" { print $2 }' <<<"$plan")

  echo "== $mode mode: $NODES mesh nodes, seed $SEED, phases" \
    "${WARMUP}+${STEADY}+${AFTER} s; virtual clocks (offset s, drift ppm):" >&2
  awk '$1 != "step" {
    printf "   %s %+.6f %+.1f", $1, $2, $3
    if (++n % 4 == 0) printf "\n" }
    END { if (n % 4) printf "\n" }' <<<"$plan" >&2

  local t0
  t0=$(now_ns)
  i=0
  while read -r id off drift; do
    [ "$id" = step ] && continue
    [ "$id" = "$step_node" ] && step_old=$drift
    peers=()
    for ((j = 0; j < i; j++)); do
      peers+=(--peer "n$j@127.0.0.1:${ports[j]}")
    done
    start_bg "$id" "$BIN" node --open --id "$id" --listen "127.0.0.1:${ports[i]}" \
      --control "$D/$id.sock" --events "$D/$id.events" --log-level warn \
      --clock-offset "$off" --clock-drift "$drift" --clock-mode "$mode" \
      "${peers[@]}"
    pids_nodes+=("$LAST_PID")
    names+=("$id")
    i=$((i + 1))
  done <<<"$plan"
  local kport=${ports[NODES]} pport=${ports[NODES + 1]}
  start_bg K "$BIN" node --open --id K --listen "127.0.0.1:$kport" \
    --control "$D/K.sock" --events "$D/K.events" --log-level warn \
    --clock-offset 0.25 --clock-drift 100 --priority 0 --clock-mode reference
  pids_nodes+=("$LAST_PID")
  names+=(K)
  start_bg P "$BIN" node --open --id P --listen "127.0.0.1:$pport" \
    --control "$D/P.sock" --events "$D/P.events" --log-level warn \
    --peer "K@127.0.0.1:$kport" --clock-mode reference
  pids_nodes+=("$LAST_PID")
  names+=(P)

  # chronyd -x never touches the system clock; it serves its own estimate
  # of K's time on its port, which the probe reads like any node's.
  local targets=() chronys="" k=0 c
  for ((i = 0; i < NODES; i++)); do targets+=("127.0.0.1:${ports[i]}"); done
  targets+=("127.0.0.1:$kport" "127.0.0.1:$pport")
  local truth_targets="K P" user_opt=(-u root)
  [ "$(id -u)" -eq 0 ] || user_opt=(-U)
  for c in cA cB; do
    [ $CHRONY -eq 1 ] || break
    local cport=${ports[NODES + 2 + 2 * k]} cmdport=${ports[NODES + 3 + 2 * k]}
    local pollopt="minpoll -4 maxpoll -4"
    [ $c = cB ] && pollopt="minpoll -7 maxpoll -7 xleave"
    mkdir -p "$D/$c.log"
    cat >"$D/$c.conf" <<EOF
server 127.0.0.1 port $kport iburst $pollopt
port $cport
bindaddress 127.0.0.1
allow 127.0.0.1
cmdport $cmdport
bindcmdaddress 127.0.0.1
bindcmdaddress /
cmdallow 127.0.0.1
pidfile $D/$c.pid
logdir $D/$c.log
log rawmeasurements statistics tracking
EOF
    start_bg "$c" chronyd -x -d "${user_opt[@]}" -f "$D/$c.conf"
    pids_nodes+=("$LAST_PID")
    names+=("$c")
    targets+=("127.0.0.1:$cport")
    truth_targets="$truth_targets $c"
    chronys="$chronys $c"
    CH_CMD[$c]=$cmdport
    CH_DESC[$c]=$pollopt
    k=$((k + 1))
  done

  # Every node up: its control socket exists (bounded: 10 s).
  for ((i = 0; i < 100; i++)); do
    local up=1
    for id in "${names[@]}"; do
      case $id in c*) continue ;; esac
      [ -S "$D/$id.sock" ] || up=0
    done
    [ $up -eq 1 ] && break
    sleep 0.1
  done
  for ((i = 0; i < ${#names[@]}; i++)); do
    if ! kill -0 "${pids_nodes[i]}" 2>/dev/null; then
      sed "s|^|  ${names[i]}: |" "$D/${names[i]}.err" >&2 || true
      die "${names[i]} exited at start"
    fi
  done

  local rounds=$((TOTAL * 1000 / INTERVAL_MS))
  start_bg probe "$PROBE" --json --count "$rounds" --interval-ms \
    "$INTERVAL_MS" --timeout-ms $((INTERVAL_MS / 2)) "${targets[@]}"
  local probe_pid=$LAST_PID
  local every=$((200 / INTERVAL_MS))
  [ $every -ge 1 ] || every=1
  local pollcmds=(--cmd P.tracking 1 "$BIN tracking --control $D/P.sock --json"
    --cmd P.sources 5 "$BIN sources --control $D/P.sock --json"
    --cmd K.tracking 5 "$BIN tracking --control $D/K.sock --json")
  for c in $chronys; do
    pollcmds+=(--cmd "$c.tracking" 1
      "chronyc -h 127.0.0.1 -p ${CH_CMD[$c]} -c tracking")
  done
  start_bg poll python3 "$PY" poll "$D/poll.jsonl" "$TOTAL" 0.2 --fast 10 0.05 \
    "${pollcmds[@]}"
  local poll_pid=$LAST_PID

  # The drift step, at the end of the steady window.
  local step_t="" step_new step_err=""
  step_new=$(awk -v d="$step_old" 'BEGIN { printf "%.3f", d + 50 }')
  sleep_until $((t0 + (WARMUP + STEADY) * 1000000000))
  step_t=$(now_ns)
  if ! timeout 5 "$BIN" vclock --control "$D/$step_node.sock" \
    --drift "$step_new" --json >"$D/step.out" 2>&1; then
    step_err="vclock failed: $(head -c 200 "$D/step.out" | tr '\n' ' ')"
    step_t=""
    echo "run.sh: $step_err" >&2
  else
    echo "   t=$(((step_t - t0) / 1000000)) ms: $step_node drift" \
      "$step_old -> $step_new ppm" >&2
  fi

  # The probe ends on its own after its rounds (bounded by its timeout).
  wait "$probe_pid" || true
  mv "$D/probe.out" "$D/probe.jsonl"
  local end_ns
  end_ns=$(now_ns)
  # Who is still running at the end (a node that died is reported).
  local dead=""
  for ((i = 0; i < ${#names[@]}; i++)); do
    kill -0 "${pids_nodes[i]}" 2>/dev/null || dead="$dead ${names[i]}"
  done
  kill -TERM "$poll_pid" 2>/dev/null || true
  stop_all

  {
    echo "mode=$mode"
    echo "seed=$SEED"
    echo "nodes=$NODES"
    echo "t0_ns=$t0"
    echo "end_ns=$end_ns"
    echo "warmup=$WARMUP"
    echo "steady=$STEADY"
    echo "after=$AFTER"
    echo "interval_ms=$INTERVAL_MS"
    echo "step_node=$step_node"
    echo "step_old=$step_old"
    echo "step_new=$step_new"
    echo "step_t_ns=$step_t"
    echo "step_error=$step_err"
    echo "k_offset=0.25"
    echo "k_drift=100"
    echo "truth_targets=$truth_targets"
    echo "chronys=${chronys# }"
    for c in $chronys; do echo "${c}_desc=${CH_DESC[$c]}"; done
  } >"$D/meta.env"
  python3 "$PY" analyze "$D" >>"$REPORT" || die "analysis of $mode failed"
  if [ -n "$dead" ]; then
    echo "" >>"$REPORT"
    echo "Not running at the end (stderr tails below):$dead" >>"$REPORT"
    for id in $dead; do
      tail -n 3 "$D/$id.err" 2>/dev/null | sed "s|^|    $id: |" >>"$REPORT"
    done
  fi
  echo "" >>"$REPORT"
}

# An empty cached type means the top-level default, RelWithDebInfo.
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" \
  2>/dev/null || true)
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
declare -A CH_CMD=() CH_DESC=() # per chronyd: its cmdport, its poll options
REPORT=$TMP/report.md
{
  echo "## bench/clock_accuracy — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo ""
  echo "Machine: $(python3 "$PY" header) (before)."
  echo "Build: $BUILD ($BUILD_TYPE), seed $SEED, $NODES mesh nodes, phases warm-up ${WARMUP} s + steady ${STEADY} s + after the step ${AFTER} s, probe every ${INTERVAL_MS} ms."
  if [ $CHRONY -eq 1 ]; then
    echo "Peer: chrony $(chronyd --version 2>/dev/null |
      sed -n 's/.* version \([^ ]*\).*/\1/p' | head -1) (chronyd -x: the system clock is never touched)."
  else
    echo "Peer: chrony not run."
  fi
} >"$REPORT"
echo "bench/clock_accuracy: seed $SEED, ~$TOTAL s per mode," \
  "modes ${MODES//,/ }; raw data in $TMP" >&2

for m in ${MODES//,/ }; do
  echo "" >>"$REPORT"
  run_mode "$m"
done
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$REPORT"
cp "$REPORT" "$RESULTS"
cat "$REPORT"
echo "" >&2
echo "run.sh: results written to $RESULTS" >&2
