#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A node is no reflector (issue 13): a peer that sends it 40 PEERS frames
# of made-up nodes, 200 ms apart, (tests/system/intruder.py
# reflect) gets few connections opened to the addresses it names — with
# a thousand IDs at one address, at most 2 (the old code opened one for
# every record: about 1,300); spread over 200 addresses, at most 45 (one
# batch, then one at a time after doubling pauses). Meanwhile a real
# peer's link stays up and carries a message each way.
#   reflect.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init reflect "$@"

read -r px py <<<"$(free_ports 2)"
node_start X --id X --listen "127.0.0.1:$px" --control "$T/X.sock" \
  --no-time-sync
node_start Y --id Y --listen "127.0.0.1:$py" --control "$T/Y.sock" \
  --peer "X@127.0.0.1:$px" --no-time-sync
wait_up 10 "$T/X.sock" "$T/Y.sock"
ctl wait 20 's["peers_up"] == 1' "$T/X.sock" "$T/Y.sock" ||
  die "X and Y did not see each other within 20 s"

# attack VICTIMS MAX: the reflection, judged.
attack() {
  local out
  out=$(timeout 120 python3 "$SYS_DIR/intruder.py" reflect 127.0.0.1 "$px" \
    40 32 "$1") || die "the intruder could not link to X: $out"
  log "$1 victim address(es): $out"
  python3 - "$out" "$2" <<'PY' || die "X was a reflector (above)"
import json, sys
r = json.loads(sys.argv[1])
assert r["linked"] and r["frames"] == 40, r
assert r["victim_connections"] <= int(sys.argv[2]), r
PY
}
attack 1 2
attack 200 45

client send "$T/X.sock" Y "after the attack" >/dev/null || die "X: send refused"
client send "$T/Y.sock" X "and back" >/dev/null || die "Y: send refused"
ctl wait 20 's["delivered"] >= 1' "$T/X.sock" "$T/Y.sock" ||
  die "the message after the attack was not delivered"
node_stop X "$T/X.sock"
node_stop Y "$T/Y.sock"
sys_pass
