#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reference dies; another takes over without a jump. Four nodes in
# reference mode, each dialing all the nodes started before it, with
# virtual clocks apart by up to 0.4 s and 120 ppm; a has --priority 1 and
# must become the reference that b, c and d follow. Then a gets SIGKILL
# (by PID): within 8 s b, c and d must all report synced with b as the
# new reference (of the priority-128 nodes, the lowest ID). After 3 s of
# settling, ntpprobe (20 rounds 100 ms apart, rounds with delays near
# their least) must find b, c and d within 1 ms of each other (max of the
# per-round disagreement). Last, after a clean stop, each survivor's event
# log must show a network time ("net") that never decreased from one line
# to the next once the node's first synced clock line was written: no
# backwards step, in particular not across the change of reference.
#   clock_failover.sh BUILD/p2pclock SOURCE/config BUILD/ntpprobe
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init clock_failover "$@"
NTPPROBE=${3:?usage: clock_failover.sh P2PCLOCK CONFIG_DIR NTPPROBE}
[ -x "$NTPPROBE" ] || die "ntpprobe not found at $NTPPROBE"
clockcheck() { timeout 120 python3 "$SYS_DIR/clockcheck.py" "$@"; }

ids=(a b c d)
offsets=(0.2 -0.2 0.15 -0.05)
drifts=(-120 90 40 -60)
read -r -a ports <<<"$(free_ports 4)"
for ((i = 0; i < 4; i++)); do
  id=${ids[$i]}
  args=(--id "$id" --listen "127.0.0.1:${ports[$i]}" --events "$T/$id.jsonl"
    --control "$T/$id.sock" --clock-offset "${offsets[$i]}"
    --clock-drift "${drifts[$i]}")
  [ "$id" != a ] || args+=(--priority 1)
  for ((k = 0; k < i; k++)); do
    args+=(--peer "${ids[$k]}@127.0.0.1:${ports[$k]}")
  done
  node_start "$id" "${args[@]}"
done
log "ports ${ports[*]}"
socks=("$T/a.sock" "$T/b.sock" "$T/c.sock" "$T/d.sock")
wait_up 10 "${socks[@]}"

follows() { # follows REF: synced, REF the reference, the others following
  echo "t['synced'] and t['ref'] == '$1' and t['reference'] == (me == '$1')
    and (me == '$1' or t['source'] in src)"
}
took=$(clockcheck wait 20 "$(follows a)" "${socks[@]}") || {
  clockcheck show "${socks[@]}"
  die "the nodes did not all follow a within 20 s"
}
log "all follow a (after ${took}s)"
sleep 2
node_alive a || die "a died before it was killed"
node_kill a KILL
log "a killed"
survivors=("$T/b.sock" "$T/c.sock" "$T/d.sock")
took=$(clockcheck wait 8 "$(follows b)" "${survivors[@]}") || {
  clockcheck show "${survivors[@]}"
  die "b, c and d did not all follow b within 8 s of a's death"
}
log "b, c and d follow b, ${took}s after a's death"
clockcheck show "${survivors[@]}"

sleep 3
targets=("127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" "127.0.0.1:${ports[3]}")
probe_spread "$T/probe.json" "${targets[*]}" --max 1000000 --li 0 \
  --stratum-max 5
log "over NTP: $SPREAD_OUT"
clockcheck wait 5 "$(follows b)" "${survivors[@]}" >/dev/null ||
  die "a survivor lost sync or changed reference"

for id in b c d; do
  node_alive "$id" || die "$id died"
  node_stop "$id" "$T/$id.sock"
done
clockcheck monotonic "$T/a.jsonl" "$T/b.jsonl" "$T/c.jsonl" "$T/d.jsonl" ||
  die "a network time went backwards"
sys_pass
