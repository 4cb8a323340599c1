#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input on a node's NTP time port. One node X runs alone (reference
# mode, virtual clock +0.25 s) and a hostile client (clockcheck.py
# badinput) sends its time port, twice: first right after X starts (X
# must still be unsynchronized: it takes the reference role only after ~2
# s of listening, so its answers carry LI 3 and stratum 16), then once X
# reports synced (its own reference: LI 0, stratum 1, and the offset the
# client measures must be X's virtual offset, 0.25 s, within 20 ms). Each
# time: a valid 48-byte mode-3 request (exactly one 48-byte mode-4 reply,
# origin = our transmit timestamp), garbage of 0..600 bytes, a broken
# extension chain, ntpq's mode-6 and ntpdc's mode-7 requests, NTPv4
# headers of modes 0, 1, 2, 5, 6 and 7, a mode-4 reply to nothing (none of
# these answered), the valid request replayed (answered again: the server
# is stateless), requests with unknown 16- and 28-byte extension fields
# (answered with 48 bytes) and an NTPv3 request (answered as v3). No reply
# may be longer than its request, and X's tracking counters rx,
# rx_malformed, rx_mode, rx_bogus and answered_std must grow by exactly
# what was sent. Afterwards X must still answer ntpprobe, and a second
# node Y must connect to it over TCP, sync its clock to X and exchange a
# message each way with it.
#   clock_ntp_input.sh BUILD/p2pclock SOURCE/config BUILD/ntpprobe
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init clock_ntp_input "$@"
NTPPROBE=${3:?usage: clock_ntp_input.sh P2PCLOCK CONFIG_DIR NTPPROBE}
[ -x "$NTPPROBE" ] || die "ntpprobe not found at $NTPPROBE"
clockcheck() { timeout 120 python3 "$SYS_DIR/clockcheck.py" "$@"; }

read -r px py <<<"$(free_ports 2)"
t_start=$(date +%s%N)
node_start X --id X --listen "127.0.0.1:$px" --events "$T/X.jsonl" \
  --control "$T/X.sock" --clock-offset 0.25 --clock-drift 30
log "port $px"
wait_up 10 "$T/X.sock"

# reply_field FILE EXPR: python EXPR over f = the first reply's fields
reply_field() {
  python3 -c 'import json,sys
f = json.loads(open(sys.argv[1]).read().splitlines()[-1])["first"]
print(eval(sys.argv[2]))' "$1" "$2"
}

out=$(clockcheck badinput "$px" "$T/X.sock" 2>&1) || {
  echo "$out"
  die "bad input before sync"
}
echo "$out" | grep -v '^{'
echo "$out" | tail -n 1 >"$T/unsynced.json"
# The role is taken after listening ~2 s. An answer with LI 3, however
# late, shows X unsynchronized; any other answer is wrong if it came
# within 1.5 s of X's start, and otherwise this machine was too slow to
# see X unsynchronized (a failure either way, never a skip).
ms=$((($(reply_field "$T/unsynced.json" 'f["t4"]') - t_start) / 1000000))
if [ "$(reply_field "$T/unsynced.json" 'f["li"], f["stratum"]')" != "(3, 16)" ]; then
  [ "$ms" -lt 1500 ] ||
    die "the first answer came ${ms} ms after X's start: cannot check LI 3"
  die "unsynchronized X answered $(reply_field "$T/unsynced.json" 'f') (want LI 3, stratum 16)"
fi
log "before sync (first answer ${ms} ms after start): LI 3, stratum 16"

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
