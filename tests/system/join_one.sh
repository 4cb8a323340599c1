#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Joining through one peer: six nodes, each told only of node N0, must all
# learn of one another by peer exchange and see 5 peers up within 20 s.
# Then traffic (2 broadcasts and 10 random messages from each node), quiet,
# a clean stop, and `p2pclock check` on the six logs must say OK with every
# message delivered.
#   join_one.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init join_one "$@"

n=6
read -r -a ports <<<"$(free_ports "$n")"
socks=()
logs=()
for ((i = 0; i < n; i++)); do
  args=(--id "N$i" --listen "127.0.0.1:${ports[$i]}" --events "$T/N$i.jsonl"
    --control "$T/N$i.sock")
  [ "$i" -eq 0 ] || args+=(--peer "127.0.0.1:${ports[0]}")
  node_start "N$i" "${args[@]}"
  socks+=("$T/N$i.sock")
  logs+=("$T/N$i.jsonl")
done
log "ports ${ports[*]}"
wait_up 10 "${socks[@]}"
ctl wait 20 's["peers_up"] == 5 and sum(x["state"] == "up" for x in p) == 5' \
  "${socks[@]}" || die "not every node saw 5 peers up within 20 s"
log "all six see 5 peers up"

for ((i = 0; i < n; i++)); do
  for round in 1 2; do
    ans=$(client nbroadcast "$T/N$i.sock" "N$i $round") ||
      die "N$i: broadcast refused: $ans"
    [[ $ans =~ \"peers\":\ ?5[,}] ]] || die "N$i: broadcast not to 5: $ans"
  done
  ctl simulate 10 10 "$T/N$i.sock" >/dev/null || die "N$i: simulate failed"
done
# Every node: 5 x 2 broadcasts from others + 2 to itself, plus what the
# simulations picked it for; the total is checked on the logs below.
ctl wait 20 's["delivered"] >= 12' "${socks[@]}" ||
  die "not every node delivered its 12 broadcast messages within 20 s"
ctl quiet 20 "${socks[@]}" >/dev/null || die "the nodes did not go quiet"
log "traffic delivered"

for ((i = 0; i < n; i++)); do
  node_stop "N$i" "$T/N$i.sock"
done
run_check "${logs[@]}"
check_json 'j["ok"] and j["messages"] == 6 * 2 * 6 + 6 * 10 and
  j["delivered"] == j["messages"] and j["self_sends"] == 12'
sys_pass
