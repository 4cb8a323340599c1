#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input on a node's NTP time port. A hostile client (clockcheck.py
# badinput) sends a node's time port twice: first to U, a node alone with
# --priority 255 (never the reference, and with no reference to follow it
# stays unsynchronized however slow the machine is: its answers must carry
# LI 3 and stratum 16), then to X, a node alone in reference mode with a
# virtual clock of +0.25 s, once X reports synced (its own reference: LI
# 0, stratum 1, and the offset the client measures must be X's virtual
# offset, 0.25 s, within 20 ms). Each time: a valid 48-byte mode-3 request (exactly one 48-byte mode-4 reply,
# origin = our transmit timestamp), garbage of 0..600 bytes, a broken
# extension chain, ntpq's mode-6 and ntpdc's mode-7 requests, NTPv4
# headers of modes 0, 1, 2, 5, 6 and 7, a mode-4 reply to nothing (none of
# these answered), the valid request replayed (answered again: the server
# is stateless), requests with unknown 16- and 28-byte extension fields,
# legacy MACs and NTS fields (none answered: the node verifies no
# authentication), an NTPv3 request (answered as v3) and a burst of 50
# from one socket (all answered: loopback is not rate limited). No reply
# may be longer than its request, and X's tracking counters rx,
# rx_malformed, rx_mode, rx_bogus, rx_unverified and answered_std must
# grow by exactly what was sent, rate_limited not at all (U's must also still say unsynchronized after its
# bout). Afterwards X must still answer ntpprobe, and a second
# node Y must connect to it over TCP, sync its clock to X and exchange a
# message each way with it.
#   clock_ntp_input.sh BUILD/p2pclock SOURCE/config BUILD/ntpprobe
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init clock_ntp_input "$@"
NTPPROBE=${3:?usage: clock_ntp_input.sh P2PCLOCK CONFIG_DIR NTPPROBE}
[ -x "$NTPPROBE" ] || die "ntpprobe not found at $NTPPROBE"
clockcheck() { timeout 120 python3 "$SYS_DIR/clockcheck.py" "$@"; }

read -r pu px py <<<"$(free_ports 3)"
node_start U --id U --listen "127.0.0.1:$pu" --events "$T/U.jsonl" \
  --control "$T/U.sock" --clock-offset 0.25 --priority 255
node_start X --id X --listen "127.0.0.1:$px" --events "$T/X.jsonl" \
  --control "$T/X.sock" --clock-offset 0.25 --clock-drift 30
log "ports U $pu, X $px"
wait_up 10 "$T/U.sock" "$T/X.sock"

# reply_field FILE EXPR: python EXPR over f = the first reply's fields
reply_field() {
  python3 -c 'import json,sys
f = json.loads(open(sys.argv[1]).read().splitlines()[-1])["first"]
print(eval(sys.argv[2]))' "$1" "$2"
}

out=$(clockcheck badinput "$pu" "$T/U.sock" 2>&1) || {
  echo "$out"
  die "bad input to the unsynchronized node"
}
echo "$out" | grep -v '^{'
echo "$out" | tail -n 1 >"$T/unsynced.json"
[ "$(reply_field "$T/unsynced.json" 'f["li"], f["stratum"]')" = "(3, 16)" ] ||
  die "unsynchronized U answered $(reply_field "$T/unsynced.json" 'f') (want LI 3, stratum 16)"
clockcheck wait 1 'not t["synced"] and not t["reference"]' "$T/U.sock" >/dev/null ||
  die "U (priority 255, alone) claims to be synced"
log "unsynchronized (U): LI 3, stratum 16"
node_stop U "$T/U.sock"

took=$(clockcheck wait 10 't["synced"] and t["reference"]' "$T/X.sock") ||
  die "X alone did not become its own reference within 10 s"
log "X is its own reference (after ${took}s more)"
out=$(clockcheck badinput "$px" "$T/X.sock" 2>&1) || {
  echo "$out"
  die "bad input after sync"
}
echo "$out" | grep -v '^{'
echo "$out" | tail -n 1 >"$T/synced.json"
[ "$(reply_field "$T/synced.json" 'f["li"], f["stratum"]')" = "(0, 1)" ] ||
  die "synced X answered $(reply_field "$T/synced.json" 'f') (want LI 0, stratum 1)"
[ "$(reply_field "$T/synced.json" 'abs(f["offset_ns"] - 250000000) < 20000000')" = True ] ||
  die "X's time is off by $(reply_field "$T/synced.json" 'f["offset_ns"]') ns, want ~0.25 s"
log "synced: LI 0, stratum 1, offset $(reply_field "$T/synced.json" 'f["offset_ns"]') ns"

node_alive X || die "X died"
timeout 20 "$NTPPROBE" --count 6 --interval-ms 100 --timeout-ms 300 --json \
  "127.0.0.1:$px" >"$T/probe.json" || die "X no longer answers ntpprobe"
clockcheck spread "$T/probe.json" --li 0 --stratum-max 1 --slack 1000000 >/dev/null ||
  die "X's answers to ntpprobe are wrong: $(cat "$T/probe.json")"

# TCP and time exchange with a second node still work.
node_start Y --id Y --listen "127.0.0.1:$py" --events "$T/Y.jsonl" \
  --control "$T/Y.sock" --peer "X@127.0.0.1:$px" --clock-offset -0.1
wait_up 10 "$T/Y.sock"
ctl wait 20 's["peers_up"] == 1' "$T/X.sock" "$T/Y.sock" ||
  die "X and Y did not see each other up within 20 s"
clockcheck wait 15 't["synced"] and t["ref"] == "X"' "$T/X.sock" "$T/Y.sock" \
  >/dev/null || die "Y did not sync to X within 15 s"
client send "$T/X.sock" Y "from X" >/dev/null || die "X refused to send to Y"
client send "$T/Y.sock" X "from Y" >/dev/null || die "Y refused to send to X"
ctl wait 10 's["delivered"] >= 1' "$T/X.sock" "$T/Y.sock" ||
  die "X and Y did not exchange a message"
log "Y connected, synced to X, messages delivered both ways"
node_stop Y "$T/Y.sock"
node_stop X "$T/X.sock"
sys_pass
