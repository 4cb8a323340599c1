#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A node killed mid-traffic and restarted. Five nodes in a mesh carry
# random traffic for 6 s; 2 s in, N2 gets SIGKILL and is started again with
# the same flags (so it appends a new incarnation to the same event log).
# The others must take the new incarnation as a peer (all five see 4 peers
# up again), traffic to and from it must flow, and everything must go
# quiet. Then N3 is stopped cleanly while the others keep sending, and
# started again, with the same demands. After a clean stop of all,
# `p2pclock check` must say OK: causal order, no duplicates, and every
# message delivered unless a restart excuses it (sent to or by the killed
# incarnation, or reported undeliverable by its sender).
#   restart.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init restart "$@"

n=5
victim=N2
read -r -a ports <<<"$(free_ports "$n")"
declare -A ARGS
socks=()
logs=()
for ((i = 0; i < n; i++)); do
  args="--id N$i --listen 127.0.0.1:${ports[$i]} --events $T/N$i.jsonl"
  args+=" --control $T/N$i.sock"
  for ((k = 0; k < i; k++)); do args+=" --peer 127.0.0.1:${ports[$k]}"; done
  ARGS[N$i]=$args
  # shellcheck disable=SC2086 # the flags are words without blanks
  node_start "N$i" ${ARGS[N$i]}
  socks+=("$T/N$i.sock")
  logs+=("$T/N$i.jsonl")
done
log "ports ${ports[*]}"
wait_up 10 "${socks[@]}"
ctl wait 20 's["peers_up"] == 4' "${socks[@]}" ||
  die "not every node saw 4 peers up within 20 s"
log "mesh up"

ctl traffic 6 0.05 2 "${socks[@]}" >"$T/traffic.out" 2>&1 &
PID[traffic]=$!
sleep 2
node_alive "$victim" || die "$victim died before it was killed"
node_kill "$victim" KILL
log "$victim killed"
sleep 0.3
# shellcheck disable=SC2086
node_start "$victim" ${ARGS[$victim]}
wait_up 10 "$T/$victim.sock"
log "$victim restarted"
node_wait_exit traffic 20 || die "the traffic generator hung"
[ "$NODE_RC" -eq 0 ] || die "traffic generator failed: $(cat "$T/traffic.out")"
log "$(cat "$T/traffic.out")"

ctl wait 20 's["peers_up"] == 4' "${socks[@]}" ||
  die "not every node saw 4 peers up after the restart"
# Traffic with the new incarnation, both ways, after the mesh has healed.
for ((i = 0; i < n; i++)); do
  ctl simulate 10 8 "$T/N$i.sock" >/dev/null || die "N$i: simulate failed"
done
ctl wait 20 's["delivered"] > 0' "$T/$victim.sock" ||
  die "the restarted $victim delivered nothing"
ctl quiet 30 "${socks[@]}" >/dev/null || die "the nodes did not go quiet"
log "quiet"

# The same once more with a clean stop: N3 stops, the others go on sending
# (to its old session too) for 1.5 s, and N3 starts again.
node_stop N3 "$T/N3.sock"
others=()
for ((i = 0; i < n; i++)); do
  [ "$i" -eq 3 ] || others+=("$T/N$i.sock")
done
ctl traffic 1.5 0.05 2 "${others[@]}" >"$T/traffic.out" 2>&1 ||
  die "traffic generator failed: $(cat "$T/traffic.out")"
# shellcheck disable=SC2086
node_start N3 ${ARGS[N3]}
wait_up 10 "$T/N3.sock"
ctl wait 20 's["peers_up"] == 4' "${socks[@]}" ||
  die "not every node saw 4 peers up after N3's restart"
log "N3 stopped and restarted"
for ((i = 0; i < n; i++)); do
  ctl simulate 10 8 "$T/N$i.sock" >/dev/null || die "N$i: simulate failed"
done
ctl wait 20 's["delivered"] > 0' "$T/N3.sock" ||
  die "the restarted N3 delivered nothing"
ctl quiet 30 "${socks[@]}" >/dev/null || die "the nodes did not go quiet"
log "quiet again"

for ((i = 0; i < n; i++)); do
  node_alive "N$i" || die "N$i died"
  node_stop "N$i" "$T/N$i.sock"
done
for v in "$victim" N3; do
  [ "$(grep -c '"ev":"start"' "$T/$v.jsonl")" -eq 2 ] ||
    die "$v's log does not hold two incarnations"
done
run_check "${logs[@]}"
check_json 'j["ok"] and j["incarnations"] == 7 and j["crashed"] == 1 and
  j["duplicates"] >= 0 and j["messages"] > 500 and
  j["lost_crashed_receiver"] + j["lost_crashed_sender"] + j["undeliverable"] +
  j["expired"] < 100'
sys_pass
