#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Joining a mesh whose tables are full: N0, N1, N2 with --max-peers 2 form
# a triangle and exchange traffic; N3 is told only of N0. N0 takes it in by
# ending one of its sessions by agreement (LEAVE), and that peer links to
# N3 instead (PROTOCOL.md, "Making room"); short of links (fewer than half
# of its 8), N3 cuts into N1's table the same way. N3 ends with two or
# three peers up, the others with one or two (never past their 2). Traffic
# before, during and after; `p2pclock check` on
# the four logs must say OK with every message delivered exactly once.
#   join_full.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init join_full "$@"

read -r -a ports <<<"$(free_ports 4)"
socks=()
logs=()
start() { # start I MAXPEERS [SEED...]
  local i=$1 mp=$2
  shift 2
  local args=(--id "N$i" --listen "127.0.0.1:${ports[$i]}"
    --events "$T/N$i.jsonl" --control "$T/N$i.sock" --max-peers "$mp")
  for s in "$@"; do args+=(--peer "127.0.0.1:${ports[$s]}"); done
  node_start "N$i" "${args[@]}"
  socks+=("$T/N$i.sock")
  logs+=("$T/N$i.jsonl")
}
start 0 2
start 1 2 0
start 2 2 0
log "ports ${ports[*]}"
wait_up 10 "${socks[@]}"
ctl wait 20 's["peers_up"] == 2' "${socks[@]}" ||
  die "the three did not form a triangle within 20 s"
for i in 0 1 2; do
  client nbroadcast "$T/N$i.sock" "N$i before" >/dev/null ||
    die "N$i: broadcast refused"
  ctl simulate 20 50 "$T/N$i.sock" >/dev/null || die "N$i: simulate failed"
done
start 3 8 0
wait_up 10 "$T/N3.sock"
ctl wait 20 's["peers_up"] >= 2' "$T/N3.sock" ||
  die "N3 did not get two peers up within 20 s"
ctl quiet 10 "${socks[@]}" >/dev/null || die "the nodes did not go quiet"
ctl wait 10 '1 <= s["peers_up"] <= 2' "$T/N0.sock" "$T/N1.sock" \
  "$T/N2.sock" || die "N0..N2 not at one or two peers"
ctl wait 10 '2 <= s["peers_up"] <= 3' "$T/N3.sock" || die "N3 lost its peers"
log "N3 is in: $(ctl peers "$T/N3.sock" 2>/dev/null | tr -d '\n' | head -c 300)"
for i in 0 1 2 3; do
  client nbroadcast "$T/N$i.sock" "N$i after" >/dev/null ||
    die "N$i: broadcast refused"
done
ctl quiet 20 "${socks[@]}" >/dev/null || die "the nodes did not go quiet"
for i in 0 1 2 3; do
  node_stop "N$i" "$T/N$i.sock"
done
run_check "${logs[@]}"
check_json 'j["ok"] and j["delivered"] == j["messages"] and
  j["messages"] > 20'
sys_pass
