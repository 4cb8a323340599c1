#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input on a node's TCP port must cost it only that connection. Node X
# and its peer Y run; a misbehaving client (badpeer.py) then sends X, one
# connection each: garbage (a frame of unknown type, then text), a length
# prefix of 0x7fffffff, a HELLO of protocol version 4 (whose answer must
# be an ERROR frame saying "unsupported protocol version 4"), and a
# half-open connection that sends nothing (closed by X's HELLO deadline).
# After each, X must still run, must have logged a WARN line about it, must
# have closed the connection, and a message each way between X and Y must
# be delivered. The logs must pass `p2pclock check`.
#   bad_input.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init bad_input "$@"

badpeer() { timeout 30 python3 "$SYS_DIR/badpeer.py" "$@"; }

read -r px py <<<"$(free_ports 2)"
node_start X --id X --listen "127.0.0.1:$px" --events "$T/X.jsonl" \
  --control "$T/X.sock"
node_start Y --id Y --listen "127.0.0.1:$py" --events "$T/Y.jsonl" \
  --control "$T/Y.sock" --peer "X@127.0.0.1:$px"
log "ports $px $py"
wait_up 10 "$T/X.sock" "$T/Y.sock"
ctl wait 20 's["peers_up"] == 1' "$T/X.sock" "$T/Y.sock" ||
  die "X and Y did not see each other up within 20 s"

rounds=0
# round_trip WHAT: a message X->Y and one Y->X must both be delivered.
round_trip() {
  rounds=$((rounds + 1))
  client send "$T/X.sock" Y "x $rounds" >/dev/null ||
    die "after $1: X refused to send to Y"
  client send "$T/Y.sock" X "y $rounds" >/dev/null ||
    die "after $1: Y refused to send to X"
  ctl wait 10 "s[\"delivered\"] >= $rounds and s[\"peers_up\"] == 1" \
    "$T/X.sock" "$T/Y.sock" || die "after $1: X and Y no longer exchange"
}

# expect_warn BEFORE WHAT: X must log a new WARN line within 3 s.
expect_warn() {
  local i
  for ((i = 0; i < 30; i++)); do
    if [ "$(warn_count X)" -gt "$1" ]; then
      log "X: $(grep ' WARN ' "$T/X.err" | tail -n 1)"
      return 0
    fi
    sleep 0.1
  done
  die "X logged no WARN line about $2"
}

round_trip "start"
for bad in garbage toobig version; do
  w=$(warn_count X)
  args=("$bad" 127.0.0.1 "$px")
  [ "$bad" != version ] || args+=(4)
  out=$(badpeer "${args[@]}" 2>&1) || die "$bad: $out"
  log "$out"
  node_alive X || die "X died after $bad"
  expect_warn "$w" "$bad"
  round_trip "$bad"
done

# Half-open: X must close it after its 5 s HELLO deadline (8 s allowed),
# and keep working meanwhile.
w=$(warn_count X)
badpeer halfopen 127.0.0.1 "$px" 8 >"$T/halfopen.out" 2>&1 &
PID[halfopen]=$!
sleep 0.5
round_trip "a half-open connection (while it is open)"
node_wait_exit halfopen 15 || die "the half-open client hung"
log "$(cat "$T/halfopen.out")"
[ "$NODE_RC" -eq 0 ] || die "half-open connection not closed in 8 s"
node_alive X || die "X died after the half-open connection"
expect_warn "$w" "the half-open connection"
round_trip "the half-open connection"

node_stop Y "$T/Y.sock"
node_stop X "$T/X.sock"
run_check "$T/X.jsonl" "$T/Y.jsonl"
check_json "j[\"ok\"] and j[\"messages\"] == 2 * $rounds and
  j[\"delivered\"] == 2 * $rounds"
sys_pass
