#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Resident memory of p2pclock nodes: one idle node alone, and each node of an
# N-node full mesh on 127.0.0.1 (default 50) once every node sees N-1 peers.
# Prints the median [min-max] VmRSS in KiB. A benchmark, not a test.
#   bench/throughput/mesh_rss.sh [BUILD_DIR] [N]
set -euo pipefail
BUILD=${1:-build}
N=${2:-50}
BIN=$BUILD/p2pclock
[ -x "$BIN" ] || { echo "mesh_rss: $BIN not built" >&2; exit 2; }
DIR=$(mktemp -d /tmp/p2pc-mesh.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

# Free ports, asked of the kernel.
mapfile -t PORTS < <(python3 - "$N" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
for s in socks: print(s.getsockname()[1])
PY
)
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
ctl() { # ctl SOCK JSON
  python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n"); d = b""
while not d.endswith(b"\n"):
    c = s.recv(65536)
    if not c: break
    d += c
print(json.loads(d).get("peers_up", 0))
PY
}
median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%d [%d-%d]", m, a[1], a[NR]}'; }

start() { # start I [PEER_PORT]
  local i=$1
  local args=(node --open --id "m$i" --listen "127.0.0.1:${PORTS[$i]}"
              --control "$DIR/m$i.sock" --log-level warn)
  [ $# -gt 1 ] && args+=(--peer "127.0.0.1:$2")
  "$BIN" "${args[@]}" </dev/null 2>"$DIR/m$i.log" &
  PIDS+=($!)
}

start 0
sleep 0.5
IDLE=$(rss "${PIDS[0]}")
for ((i = 1; i < N; i++)); do start "$i" "${PORTS[0]}"; done
deadline=$((SECONDS + 60))
while :; do
  ok=0
  for ((i = 0; i < N; i++)); do
    up=$(ctl "$DIR/m$i.sock" '{"cmd":"status"}' 2>/dev/null || echo 0)
    [ "$up" -eq $((N - 1)) ] && ok=$((ok + 1))
  done
  [ "$ok" -eq "$N" ] && break
  if [ $SECONDS -ge $deadline ]; then
    echo "mesh_rss: only $ok of $N nodes saw $((N - 1)) peers within 60 s" >&2
    exit 1
  fi
  sleep 1
done
MESH=$(for p in "${PIDS[@]}"; do rss "$p"; done | median)
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "idle node alone:        VmRSS $IDLE KiB"
echo "node in a $N-node mesh: VmRSS $MESH KiB (median [min-max] over the nodes)"
