#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/join: N real nodes joining through one, repeated (issue 12's
# target: 50 nodes converged in under 1 s in 20 of 20 trials, and no
# peer_down for a link that did not fail; Serf's worst: 85 s). A
# measurement, not a test: the exit status says only whether every trial
# converged within its bound (60 s).
#
#   bench/join/run.sh [--nodes N] [--trials T] [--max-peers K] [--keep]
#       [BUILD_DIR]
#
# Each trial starts N nodes (default 50) on free 127.0.0.1 ports, node 0
# first, every other one with --peer node 0 only, all at once (no pause
# between starts), each with an event log and a control socket. It polls
# every node's status until every node has its links: with --max-peers K
# (default N+4: a full mesh) below N-1, every node has at least one link
# up and K/2 ... K of them (the active view's bounds, PROTOCOL.md
# "Views and shuffles"); with the full mesh, N-1 up each. The time is from
# the first start to the first poll that finds it so (polls every 50 ms,
# so the figure is within one poll plus a round of status requests).
# Then it counts in the event logs the peer_down lines that report a
# failure (none is expected: no link failed; those with reason "left", a
# session ended by agreement to make room when --max-peers is below N-1,
# are counted apart) and member_suspect/member_down lines, stops every node
# by PID and prints one line per trial and the min/median/max.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CTL=$SRC/tests/system/ctl.py
N=50 TRIALS=20 KEEP=0 MAXP=0
num() { [[ $2 =~ ^[0-9]+$ ]] || { echo "run.sh: $1 needs an integer" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
  --nodes) [ $# -ge 2 ] || usage; num "$1" "$2"; N=$2; shift 2 ;;
  --trials) [ $# -ge 2 ] || usage; num "$1" "$2"; TRIALS=$2; shift 2 ;;
  --max-peers) [ $# -ge 2 ] || usage; num "$1" "$2"; MAXP=$2; shift 2 ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) break ;;
  esac
done
[ $# -le 1 ] || usage
BUILD=${1:-build}
BIN=$BUILD/p2pclock
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "run.sh: $BIN not found: build first" >&2; exit 1; }
[ "$N" -ge 2 ] && [ "$N" -le 500 ] || { echo "run.sh: --nodes 2..500" >&2; exit 2; }
[ "$MAXP" != 0 ] || MAXP=$((N + 4))

T=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-join.XXXXXX")
declare -a PIDS=()
stop_all() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local rc=$?
  trap - EXIT
  stop_all
  if [ "$KEEP" = 0 ] && [ "$rc" = 0 ]; then rm -rf "$T"; else echo "run.sh: everything is in $T" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "# join through one: $N nodes, --max-peers $MAXP, $TRIALS trials"
echo "# machine: $(nproc) CPUs, load before $(cut -d' ' -f1-3 /proc/loadavg)"
RC=0
: >"$T/times"
for ((t = 1; t <= TRIALS; t++)); do
  D=$T/t$t
  mkdir -p "$D"
  read -r -a PORTS <<<"$(timeout 60 python3 "$CTL" ports "$N")"
  [ "${#PORTS[@]}" -eq "$N" ] || { echo "run.sh: no $N free ports" >&2; exit 1; }
  t0=$(date +%s.%N)
  for ((i = 0; i < N; i++)); do
    args=(node --open --id "j$i" --listen "127.0.0.1:${PORTS[$i]}"
      --control "$D/j$i.sock" --events "$D/j$i.jsonl" --log-level warn
      --max-peers "$MAXP")
    [ "$i" -eq 0 ] || args+=(--peer "127.0.0.1:${PORTS[0]}")
    "$BIN" "${args[@]}" </dev/null >"$D/j$i.out" 2>"$D/j$i.err" &
    PIDS+=($!)
  done
  out=$(timeout 120 python3 - "$D" "$N" "$MAXP" "$t0" <<'PY'
import json, os, socket, sys, time
d, n, k, t0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
full = k >= n - 1
lo = n - 1 if full else 1
def status(path):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(path)
        s.sendall(b'{"cmd":"status"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(65536)
            if not c:
                break
            buf += c
        s.close()
        return json.loads(buf)
    except (OSError, ValueError):
        return None
end = time.time() + 60
while time.time() < end:
    ups = []
    for i in range(n):
        st = status(os.path.join(d, "j%d.sock" % i))
        ups.append(st["peers_up"] if st and st.get("ok") else -1)
    if all(u >= lo for u in ups) and (full or all(u <= k for u in ups)):
        print("%.3f %d %d" % (time.time() - t0, min(ups), max(ups)))
        sys.exit(0)
    time.sleep(0.05)
print("timeout %d %d" % (min(ups), max(ups)))
sys.exit(1)
PY
  ) || RC=1
  sleep 1 # anything that would flap after convergence shows now
  downs=$(cat "$D"/j*.jsonl 2>/dev/null | grep '"ev":"peer_down"' |
    grep -Evc '"reason":"(left|stopping|stopped)"' || true)
  left=$(cat "$D"/j*.jsonl 2>/dev/null | grep '"ev":"peer_down"' |
    grep -c '"reason":"left"' || true)
  susp=$(cat "$D"/j*.jsonl 2>/dev/null | grep -Ec '"ev":"member_(suspect|down)"' || true)
  stop_all
  echo "trial $t: converged in ${out%% *} s (peers up min/max ${out#* }), peer_down $downs (and $left \"left\"), member_suspect/down $susp"
  echo "${out%% *} $downs $susp" >>"$T/times"
  [ "$KEEP" = 1 ] || rm -rf "$D"
done
python3 - "$T/times" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = sorted(float(r[0]) for r in rows if r[0] != "timeout")
downs = sum(int(r[1]) for r in rows)
susp = sum(int(r[2]) for r in rows)
if ok:
    print("# %d of %d converged: min %.3f s, median %.3f s, max %.3f s; "
          "under 1 s: %d; peer_down %d, member_suspect/down %d in all"
          % (len(ok), len(rows), ok[0], ok[(len(ok) - 1) // 2], ok[-1],
             sum(x < 1 for x in ok), downs, susp))
else:
    print("# none converged")
PY
echo "# load after $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$RC"
