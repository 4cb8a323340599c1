#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Loss and jitter: four nodes drop each DATA and ACK frame with probability
# 0.2 and delay each by 0..20 ms (--chaos-drop, --chaos-delay). 200 random
# messages (50 from each node) must all be delivered — the sessions' resend
# repairs every loss — and `p2pclock check` must say OK with 200 delivered.
#   chaos_drop.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init chaos_drop "$@"

n=4
read -r -a ports <<<"$(free_ports "$n")"
socks=()
logs=()
for ((i = 0; i < n; i++)); do
  args=(--id "N$i" --listen "127.0.0.1:${ports[$i]}" --events "$T/N$i.jsonl"
    --control "$T/N$i.sock" --chaos-drop 0.2 --chaos-delay 0:20)
  for ((k = 0; k < i; k++)); do args+=(--peer "127.0.0.1:${ports[$k]}"); done
  node_start "N$i" "${args[@]}"
  socks+=("$T/N$i.sock")
  logs+=("$T/N$i.jsonl")
done
log "ports ${ports[*]}"
wait_up 10 "${socks[@]}"
ctl wait 20 's["peers_up"] == 3' "${socks[@]}" ||
  die "not every node saw 3 peers up within 20 s"
log "mesh up"

for ((i = 0; i < n; i++)); do
  ctl simulate 20 50 "$T/N$i.sock" >/dev/null || die "N$i: simulate failed"
done
log "200 messages handed over"
# Quiet: nothing buffered or unacknowledged anywhere, counts steady.
read -r -a got <<<"$(ctl quiet 60 "${socks[@]}")" ||
  die "the nodes did not go quiet within 60 s"
total=0
for d in "${got[@]}"; do total=$((total + d)); done
[ "$total" -eq 200 ] || die "delivered ${got[*]}: $total in all, want 200"
log "all 200 delivered (${got[*]})"

for ((i = 0; i < n; i++)); do
  node_stop "N$i" "$T/N$i.sock"
done
run_check "${logs[@]}"
check_json 'j["ok"] and j["messages"] == 200 and j["delivered"] == 200'
sys_pass
