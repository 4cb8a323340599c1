#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# docs/EVENTS.md is complete and true to the code (events_doc.py says what
# that means): every kind and field of real event logs is documented with
# its type, every documented field is there, every documented kind and
# field is written somewhere in src/. The logs come from the simulator
# (fixtures/events_doc.scn, in both clock modes: partial cuts, a crash and
# restart, a node leaving, so buffer, drop and undeliverable lines too)
# and from two real nodes on 127.0.0.1 (the runtime's start and stop lines,
# a virtual clock's initial step, a self-send). Then the check is shown to
# fail: a field added to a log line must be caught.
#   events_doc.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init events_doc "$@"
SRC=$(cd "$CONFDIR/.." && pwd)
doc() {
  timeout 60 python3 "$SYS_DIR/events_doc.py" --doc "$SRC/docs/EVENTS.md" \
    --src "$SRC/src" "$@"
}
clockcheck() { timeout 120 python3 "$SYS_DIR/clockcheck.py" "$@"; }

for mode in reference collaborative; do
  mkdir "$T/sim-$mode"
  P2PC_SIM_EVENTS_DIR=$T/sim-$mode timeout 60 "$BIN" sim --quiet \
    --scenario "$SYS_DIR/fixtures/events_doc.scn" --mode "$mode" \
    >"$T/sim-$mode.out" 2>&1 || {
    cat "$T/sim-$mode.out"
    die "the simulator failed ($mode)"
  }
done
all=send,recv,buffer,deliver,drop,undeliverable,peer_up,peer_down,sample,clock
for mode in reference collaborative; do
  doc --expect "$all,start,stop" "$T/sim-$mode"/*.jsonl ||
    die "the simulator's logs ($mode mode)"
done
log "simulator logs documented"

read -r -a ports <<<"$(free_ports 2)"
node_start A --id A --listen "127.0.0.1:${ports[0]}" --events "$T/A.jsonl" \
  --control "$T/A.sock"
node_start B --id B --listen "127.0.0.1:${ports[1]}" --events "$T/B.jsonl" \
  --control "$T/B.sock" --peer "A@127.0.0.1:${ports[0]}" \
  --clock-offset 0.1 --clock-drift 5
wait_up 10 "$T/A.sock" "$T/B.sock"
ctl wait 20 's["peers_up"] == 1' "$T/A.sock" "$T/B.sock" ||
  die "A and B did not link within 20 s"
clockcheck wait 20 't["synced"]' "$T/A.sock" "$T/B.sock" >/dev/null ||
  die "A and B did not sync within 20 s"
client send "$T/A.sock" B hello >/dev/null || die "A: send refused"
client nbroadcast "$T/B.sock" hi >/dev/null || die "B: broadcast refused"
ctl quiet 20 "$T/A.sock" "$T/B.sock" >/dev/null ||
  die "the nodes did not go quiet"
node_stop B "$T/B.sock"
node_stop A "$T/A.sock"
grep -q '"step_ns"' "$T/B.jsonl" || die "B, 0.1 s off, logged no step_ns"
doc --expect start,stop,peer_up,peer_down,send,recv,deliver,sample,clock \
  "$T/A.jsonl" "$T/B.jsonl" || die "the nodes' logs"
run_check "$T/A.jsonl" "$T/B.jsonl"
check_json 'j["ok"] and j["messages"] == 3 and j["delivered"] == 3'
log "node logs documented"

# The check can fail: one field more on a line.
sed '2s/}$/,"not_documented":1}/' "$T/A.jsonl" >"$T/bad.jsonl"
if doc "$T/bad.jsonl" 2>"$T/bad.err"; then
  die "events_doc.py took an undocumented field"
fi
grep -q "not_documented" "$T/bad.err" ||
  die "events_doc.py failed without naming the field: $(cat "$T/bad.err")"
sys_pass
