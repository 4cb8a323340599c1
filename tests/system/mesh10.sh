#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The prototype's ten configs (config/nodeA..J.json, each naming the other
# nine), moved to free ports: every node must see its 9 peers up within
# 20 s; then each broadcasts 3 messages (9 sends + 1 to itself each), every
# node must deliver 9 x 3 + 3 = 30, the nodes stop cleanly, and
# `p2pclock check` on the ten event logs must say OK with 300 messages.
#   mesh10.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init mesh10 "$@"

names=(A B C D E F G H I J)
read -r -a ports <<<"$(free_ports 10)"
map=""
for i in "${!names[@]}"; do
  map+="${map:+,}$((9000 + i))=${ports[$i]}"
done
socks=()
logs=()
for n in "${names[@]}"; do
  ctl rewrite "$CONFDIR/node$n.json" "$T/node$n.json" "$map" \
    "$T/$n.jsonl" "$T/$n.sock"
  socks+=("$T/$n.sock")
  logs+=("$T/$n.jsonl")
done
log "ports ${ports[*]}"

for n in "${names[@]}"; do
  node_start "$n" --config "$T/node$n.json"
done
wait_up 10 "${socks[@]}"
ctl wait 20 's["peers_up"] == 9 and sum(x["state"] == "up" for x in p) == 9' \
  "${socks[@]}" || die "not every node saw 9 peers up within 20 s"
log "full mesh up"

for round in 1 2 3; do
  for n in "${names[@]}"; do
    ans=$(client nbroadcast "$T/$n.sock" "$n says $round") ||
      die "$n: broadcast refused: $ans"
    [[ $ans =~ \"peers\":\ ?9[,}] ]] || die "$n: broadcast not to 9: $ans"
  done
done
ctl wait 20 's["delivered"] >= 30' "${socks[@]}" ||
  die "not every node delivered 30 messages within 20 s"
ctl quiet 20 "${socks[@]}" >/dev/null || die "the mesh did not go quiet"
ctl wait 1 's["delivered"] == 30 and s["sent"] == 30 and s["duplicates"] == 0' \
  "${socks[@]}" || die "a node delivered or sent other than 30"
log "every node delivered 30"

for n in "${names[@]}"; do
  node_stop "$n" "$T/$n.sock"
done
log "stopped"
run_check "${logs[@]}"
check_json 'j["ok"] and j["messages"] == 300 and j["delivered"] == 300 and
  j["self_sends"] == 30 and j["incarnations"] == 10 and j["crashed"] == 0'
for n in "${names[@]}"; do
  w=$(warn_count "$n")
  [ "$w" -eq 0 ] || log "note: $n logged $w WARN lines"
done
sys_pass
