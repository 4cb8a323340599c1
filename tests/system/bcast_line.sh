#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Broadcast to the whole network over a line of real processes: A - B - C
# (A and C take one peer each, so they never link to each other; B takes
# two). A broadcast from A reaches C, which is not A's neighbour, through
# B (two overlay hops); broadcasts from every node reach every node exactly
# once (each node's own at once), and C's event log says how far A's came.
#   bcast_line.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init bcast_line "$@"

names=(A B C)
read -r -a ports <<<"$(free_ports 3)"
socks=()
for i in 0 1 2; do
  n=${names[$i]}
  args=(--id "$n" --listen "127.0.0.1:${ports[$i]}" --events "$T/$n.jsonl"
    --control "$T/$n.sock" --max-peers $((i == 1 ? 2 : 1)))
  [ "$i" -eq 0 ] || args+=(--peer "${names[$((i - 1))]}@127.0.0.1:${ports[$((i - 1))]}")
  node_start "$n" "${args[@]}"
  socks+=("$T/$n.sock")
done
log "ports ${ports[*]}"
wait_up 10 "${socks[@]}"
ctl wait 20 's["peers_up"] == (2 if s["id"] == "B" else 1)' "${socks[@]}" ||
  die "the line A - B - C did not come up within 20 s"
ctl wait 1 'all(x["id"] != "C" or x["state"] != "up" for x in p)' \
  "$T/A.sock" || die "A is linked to C: not a line"
log "the line A - B - C is up"

ans=$(client broadcast "$T/A.sock" "from A") || die "A: broadcast refused: $ans"
[[ $ans =~ \"msg\":\"A~ ]] || die "A: no message id: $ans"
[[ ! $ans =~ \"peers\" ]] || die "A: a network-wide broadcast counts peers: $ans"
msg=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["msg"])' "$ans")
ctl wait 20 's["delivered"] >= 1' "${socks[@]}" ||
  die "A's broadcast did not reach every node within 20 s"
log "A's broadcast $msg reached B and C"
for n in B C; do
  ans=$(client broadcast "$T/$n.sock" "from $n") ||
    die "$n: broadcast refused: $ans"
done
ctl wait 20 's["delivered"] >= 3' "${socks[@]}" ||
  die "not every node delivered the 3 broadcasts within 20 s"
ctl quiet 20 "${socks[@]}" >/dev/null || die "the line did not go quiet"
ctl wait 1 's["delivered"] == 3 and s["sent"] == 1 and s["duplicates"] == 0' \
  "${socks[@]}" || die "a node delivered or sent other than 3 and 1"
log "every node delivered the 3 broadcasts once"

for n in "${names[@]}"; do
  node_stop "$n" "$T/$n.sock"
done
# C's delivery of A's broadcast: marked a broadcast, two hops.
python3 - "$T/C.jsonl" "$msg" <<'PY' || die "C's log does not show A's broadcast as relayed"
import json, sys
path, msg = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(path) if l.strip()]
d = [l for l in lines if l.get("ev") == "deliver" and l.get("msg") == msg]
assert len(d) == 1, d
assert d[0].get("bcast") is True, d[0]
assert d[0].get("hops") == 2, d[0]
PY
sys_pass
