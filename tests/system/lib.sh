# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shared by the system tests that run real nodes: a private temp dir, free
# ports, nodes started in the background and tracked by PID, and a cleanup
# (an EXIT trap) that stops them by PID — TERM, then KILL after a bounded
# wait — and, if the test did not pass, keeps the dir and prints the tail
# of every node's stderr. Every wait here is bounded in time. A test does
#   . lib.sh; sys_init NAME "$@"; ...; sys_pass
# with "$@" = P2PCLOCK CONFIG_DIR.

SYS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# sys_init NAME P2PCLOCK CONFIG_DIR
sys_init() {
  SYS_NAME=$1
  BIN=${2:?usage: $SYS_NAME.sh P2PCLOCK CONFIG_DIR}
  CONFDIR=${3:?usage: $SYS_NAME.sh P2PCLOCK CONFIG_DIR}
  case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
  case $CONFDIR in /*) ;; *) CONFDIR=$PWD/$CONFDIR ;; esac
  T=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-$SYS_NAME.XXXXXX")
  SYS_PASSED=0
  declare -gA PID=()
  SYS_T0=$(date +%s%N)
  trap sys_cleanup EXIT
  trap 'exit 1' INT TERM
}

# Seconds since sys_init, with milliseconds.
elapsed() {
  local now
  now=$(date +%s%N)
  printf '%d.%03d' $(((now - SYS_T0) / 1000000000)) \
    $(((now - SYS_T0) / 1000000 % 1000))
}

log() { echo "[$(elapsed)s] $SYS_NAME: $*"; }

die() {
  echo "[$(elapsed)s] $SYS_NAME: FAIL: $*" >&2
  exit 1
}

# The helper speaking docs/CONTROL.md, with a backstop timeout.
ctl() { timeout 120 python3 "$SYS_DIR/ctl.py" "$@"; }

# client CMD SOCK [ARGS...]: one control request (stop; send DEST TEXT;
# broadcast TEXT: to the whole network; nbroadcast TEXT: broadcast with
# scope neighbours), through the p2pclock client subcommand when the binary
# has one, else through ctl.py; prints the node's JSON answer and fails
# unless it is ok.
client() {
  local cmd=$1 sock=$2
  shift 2
  if [ -z "${SYS_CLIENT:-}" ]; then
    SYS_CLIENT=ctl
    if timeout 10 "$BIN" stop --help 2>/dev/null | grep -q 'usage: p2pclock stop'; then
      SYS_CLIENT=bin
    fi
  fi
  if [ "$SYS_CLIENT" = bin ]; then
    if [ "$cmd" = nbroadcast ]; then
      timeout 20 "$BIN" broadcast --control "$sock" --json --scope neighbours \
        -- "$@"
      return
    fi
    timeout 20 "$BIN" "$cmd" --control "$sock" --json -- "$@"
    return
  fi
  local req
  req=$(python3 -c 'import json, sys
a = sys.argv[1:]
r = {"cmd": a[0]}
if a[0] == "send": r.update(to=a[1], text=a[2])
if a[0] == "broadcast": r.update(text=a[1])
if a[0] == "nbroadcast": r.update(cmd="broadcast", text=a[1], scope="neighbours")
print(json.dumps(r))' "$cmd" "$@")
  ctl call "$sock" "$req"
}

# free_ports N: prints N free ports of 127.0.0.1 that no other test running
# at the same time gets (ctl.py leases them under a lock).
free_ports() { ctl ports "$1"; }

# node_start NAME ARGS...: runs `p2pclock node ARGS` in the background,
# appending to $T/NAME.out and $T/NAME.err (a restart appends too).
node_start() {
  local name=$1 a open=(--open)
  shift
  # Links in clear (--open) unless the test closes its network itself:
  # a node needs one or the other (docs/SECURITY.md).
  for a in "$@"; do
    case $a in --cluster-key-file | --open) open=() ;; esac
  done
  echo "=== $(elapsed)s: p2pclock node $* ${open[*]}" >>"$T/$name.err"
  "$BIN" node "$@" ${open[@]+"${open[@]}"} </dev/null >>"$T/$name.out" \
    2>>"$T/$name.err" &
  PID[$name]=$!
}

# node_alive NAME: true if the node's process is still running.
node_alive() {
  local pid=${PID[$1]:-}
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# node_wait_exit NAME SECS: waits for the node's process to end; its exit
# status in $NODE_RC. False (and the process left alone) on timeout.
node_wait_exit() {
  local name=$1 secs=$2 pid=${PID[$1]} i
  for ((i = 0; i < secs * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      NODE_RC=0
      wait "$pid" || NODE_RC=$?
      unset "PID[$name]"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# node_kill NAME SIGNAL: signals the node and reaps it (bounded).
node_kill() {
  local ok=0
  # (in braces: bash's "Killed" notice goes to /dev/null, not the output)
  {
    kill -s "$2" "${PID[$1]}" || true
    node_wait_exit "$1" 10 || ok=$?
  } 2>/dev/null
  [ "$ok" -eq 0 ] || die "$1 did not exit after SIG$2"
}

# node_stop NAME SOCK: a clean stop through the control socket; the node
# must exit 0 within 10 s.
node_stop() {
  client stop "$2" >/dev/null || die "$1: stop refused"
  node_wait_exit "$1" 10 || die "$1 did not exit within 10 s of stop"
  [ "$NODE_RC" -eq 0 ] || die "$1 exited with status $NODE_RC after stop"
}

# wait_up SECS SOCK...: until each node answers on its control socket.
wait_up() {
  local secs=$1
  shift
  ctl wait "$secs" 'True' "$@" && return
  local name dead=""
  for name in "${!PID[@]}"; do
    node_alive "$name" || dead+=" $name"
  done
  die "control sockets not up in ${secs}s${dead:+; exited:$dead}"
}

# warn_count NAME: how many WARN lines the node has logged so far.
# wait_grep SECS PATTERN FILE: true once FILE holds a line matching
# PATTERN (grep -q), polled every 0.1 s; false after SECS.
wait_grep() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    grep -q -- "$2" "$3" 2>/dev/null && return 0
    sleep 0.1
  done
  grep -q -- "$2" "$3" 2>/dev/null
}

warn_count() { grep -c ' WARN ' "$T/$1.err" || true; }

# run_check FILE...: `p2pclock check` must say OK; leaves its JSON in
# $T/check.json and its human summary in $T/check.txt.
run_check() {
  local rc=0
  timeout 60 "$BIN" check "$@" >"$T/check.txt" 2>&1 || rc=$?
  sed 's/^/  /' "$T/check.txt"
  [ "$rc" -eq 0 ] || die "p2pclock check exited $rc"
  timeout 60 "$BIN" check --json "$@" >"$T/check.json" ||
    die "p2pclock check --json failed"
}

# check_json EXPR: EXPR (python, over j = the check's JSON) must hold.
check_json() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$T/check.json" "$1" ||
    die "check: not $1: $(cat "$T/check.json")"
}

sys_pass() {
  # A sanitizer build's report fails the test even if the node went on.
  if grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T"/*.err; then
    die "a sanitizer reported an error (above: the files)"
  fi
  SYS_PASSED=1
  log "PASS in $(elapsed)s"
}

sys_cleanup() {
  local rc=$? name pid i
  trap - EXIT
  for name in "${!PID[@]}"; do
    kill -TERM "${PID[$name]}" 2>/dev/null || true
  done
  for name in "${!PID[@]}"; do
    pid=${PID[$name]}
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$SYS_NAME: $name (pid $pid) ignored SIGTERM for 5 s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [ "$SYS_PASSED" -eq 1 ] && [ "$rc" -eq 0 ]; then
    rm -rf "$T"
    exit 0
  fi
  echo "$SYS_NAME: FAILED (exit $rc); everything is in $T" >&2
  local f
  for f in "$T"/*.err; do
    [ -e "$f" ] || continue
    echo "--- tail of $f" >&2
    tail -n 15 "$f" >&2
  done
  [ "$rc" -ne 0 ] || rc=1
  exit "$rc"
}

# probe_spread FILE TARGETS SPREAD_ARGS...: ntpprobe queries TARGETS (a
# space-separated list of HOST:PORT) in batches of 30 rounds 100 ms apart,
# appended to FILE, and clockcheck.py spread judges all rounds so far with
# SPREAD_ARGS and --min-kept 10, until it passes (its summary left in
# SPREAD_OUT) or fails on a bound (dies). Call it plainly, not in $(...). A busy machine gives fewer rounds whose delays
# are all near their least, so it may take more batches, never a looser
# bound; after 8 batches (240 rounds) without 10 usable rounds it dies.
# Needs NTPPROBE set.
probe_spread() {
  local file=$1 targets=$2 batch out rc
  shift 2
  : >"$file"
  for batch in 1 2 3 4 5 6 7 8; do
    # shellcheck disable=SC2086  # TARGETS is a list
    timeout 30 "$NTPPROBE" --count 30 --interval-ms 100 --timeout-ms 300 \
      --json $targets >>"$file" ||
      die "ntpprobe failed: $(tail -n 1 "$file")"
    rc=0
    out=$(timeout 120 python3 "$SYS_DIR/clockcheck.py" spread "$file" \
      --min-kept 10 "$@" 2>&1) || rc=$?
    case $rc in
    0)
      [ "$batch" -eq 1 ] || log "probe_spread: $batch batches for 10 usable rounds"
      SPREAD_OUT=$out
      return 0
      ;;
    3) ;;
    *) die "over NTP: $out" ;;
    esac
  done
  die "fewer than 10 usable rounds in 240 (delays never near their least): $out"
}
