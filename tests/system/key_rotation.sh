#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rotating the cluster key without downtime (docs/SECURITY.md, "Rotating
# the cluster key"): A, B and C run on one key (each its own copy of the
# file) and rotate to a new one with `p2pclock keys` — install on every
# node, use on every node, remove on every node — with no peer_down among
# them; a node given the ring of phase 2 (the new key first, then the old)
# joins mid-rotation; the files
# follow every change and hold only the new key at the end; the refusals
# (a fifth key, the primary removed, a key not installed) change nothing;
# no output shows a key. Their clocks stay synced over sealed time
# exchanges all along, and none of them drops a datagram of another
# (rx_unauth 0). A stranger's p2pclock time request (no MAC, or junk where
# the MAC goes) gets no answer and is counted; a standard 48-byte NTP
# request is answered. Then a node holding only the old key is refused,
# and a restarted A links again on what its file holds.
#   key_rotation.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init key_rotation "$@"

keys() { timeout 20 "$BIN" keys --control "$@"; }

"$BIN" keygen --cluster --out "$T/old.key" 2>/dev/null || die "keygen old"
"$BIN" keygen --cluster --out "$T/new.key" 2>/dev/null || die "keygen new"
for x in A B C E; do cp "$T/old.key" "$T/$x.ring"; done
cat "$T/new.key" "$T/old.key" >"$T/D.ring" # phase 2's ring
chmod 600 "$T"/*.ring
old_b64=$(cut -d' ' -f2 "$T/old.key")
new_b64=$(cut -d' ' -f2 "$T/new.key")
read -r pa pb pc pd pe <<<"$(free_ports 5)"
start() { # start NAME PORT PEERS...
  local x=$1 p=$2 a=()
  shift 2
  for q in "$@"; do a+=(--peer "$q"); done
  node_start "$x" --id "$x" --listen "127.0.0.1:$p" --control "$T/$x.sock" \
    --cluster-key-file "$T/$x.ring" --key "$T/$x.key" \
    --events "$T/$x.jsonl" ${a[@]+"${a[@]}"}
}
start A "$pa"
start B "$pb" "A@127.0.0.1:$pa"
start C "$pc" "A@127.0.0.1:$pa" "B@127.0.0.1:$pb"
wait_up 10 "$T/A.sock" "$T/B.sock" "$T/C.sock"
ctl wait 20 's["peers_up"] == 2' "$T/A.sock" "$T/B.sock" "$T/C.sock" ||
  die "A, B and C did not link within 20 s"

fp_old=$(keys "$T/A.sock" list | awk '/primary/ {print $1}')
[[ $fp_old =~ ^[0-9a-f]{16}$ ]] || die "keys list: no primary: $fp_old"

# 1. install the new key everywhere (from its file: no key on a command line)
for x in A B C; do
  keys "$T/$x.sock" install "$T/new.key" >"$T/$x.list" ||
    die "$x: keys install refused"
done
fp_new=$(awk '!/primary/ {print $1}' "$T/A.list")
[[ $fp_new =~ ^[0-9a-f]{16}$ && $(wc -l <"$T/A.list") -eq 2 ]] ||
  die "after install, A's ring: $(cat "$T/A.list")"
[ "$(wc -l <"$T/B.ring")" -eq 2 ] && [ "$(head -1 "$T/B.ring")" = "$(cat "$T/old.key")" ] ||
  die "B's file after install is not old then new"
[ "$(stat -c %a "$T/B.ring")" = 600 ] || die "B's keyring file is not 0600"

# 2. use it everywhere, one node at a time (by fingerprint, and by key)
keys "$T/A.sock" use "$fp_new" >/dev/null || die "A: keys use refused"
# a node joins mid-rotation with phase 2's ring, and links to A and to B
start D "$pd" "A@127.0.0.1:$pa" "B@127.0.0.1:$pb"
wait_up 10 "$T/D.sock"
ctl wait 20 's["peers_up"] >= 2' "$T/D.sock" ||
  die "D did not link mid-rotation"
keys "$T/B.sock" use "$new_b64" >/dev/null || die "B: keys use refused"
keys "$T/C.sock" use "$T/new.key" >/dev/null || die "C: keys use refused"
[ "$(head -1 "$T/C.ring")" = "$(cat "$T/new.key")" ] ||
  die "C's file does not start with the new key"

# 3. remove the old key everywhere; refusals on the way
rc=0
keys "$T/A.sock" remove "$fp_new" 2>"$T/err.txt" || rc=$?
[ "$rc" -eq 1 ] && grep -q "is the primary" "$T/err.txt" ||
  die "removing the primary: exit $rc, $(cat "$T/err.txt")"
for x in A B C D; do
  keys "$T/$x.sock" remove "$fp_old" >/dev/null || die "$x: keys remove refused"
  cmp -s "$T/$x.ring" "$T/new.key" || die "$x's file is not the new key alone"
done
rc=0
keys "$T/A.sock" use "$fp_old" 2>"$T/err.txt" || rc=$?
[ "$rc" -eq 1 ] && grep -q "is not installed" "$T/err.txt" ||
  die "using a removed key: exit $rc, $(cat "$T/err.txt")"
for i in 1 2 3 4; do
  "$BIN" keygen --cluster --out "$T/x$i.key" 2>/dev/null || die "keygen x$i"
done
for i in 1 2 3; do
  keys "$T/A.sock" install "$T/x$i.key" >/dev/null || die "A: install x$i"
done
rc=0
keys "$T/A.sock" install "$T/x4.key" 2>"$T/err.txt" || rc=$?
[ "$rc" -eq 1 ] && grep -q "the keyring is full" "$T/err.txt" ||
  die "a fifth key: exit $rc, $(cat "$T/err.txt")"
[ "$(wc -l <"$T/A.ring")" -eq 4 ] || die "A's file does not hold 4 keys"
for i in 1 2 3; do
  keys "$T/A.sock" remove "$T/x$i.key" >/dev/null || die "A: remove x$i"
done
cmp -s "$T/A.ring" "$T/new.key" || die "A's file is not the new key alone"

# no link among A, B, C (and D) went down; no key was ever shown
sleep 2
for x in A B C D; do
  if grep -q '"peer_down"' "$T/$x.jsonl"; then
    die "$x: a peer went down during the rotation: $(grep '"peer_down"' "$T/$x.jsonl")"
  fi
done
ctl wait 10 's["peers_up"] >= 2' "$T/A.sock" "$T/B.sock" "$T/C.sock" ||
  die "a link was lost"
for f in "$T"/*.err "$T"/*.out "$T"/*.list "$T/err.txt"; do
  if grep -qF -e "$old_b64" -e "$new_b64" "$f"; then die "$f shows a key"; fi
done
grep -q "keys: removed key $fp_old" "$T/A.err" || die "A did not log the removal"

# the clocks: synced over sealed exchanges, no datagram refused among them
ctl wait 20 's["peers_up"] >= 2' "$T/A.sock" >/dev/null
for x in A B C D; do
  j=$(timeout 20 "$BIN" tracking --control "$T/$x.sock" --json) ||
    die "$x: tracking refused"
  python3 -c 'import json, sys
j = json.loads(sys.argv[1])
assert j["synced"], "not synced"
assert j["counters"]["rx_unauth"] == 0, j["counters"]
assert j["counters"]["answered"] > 0, j["counters"]' "$j" ||
    die "$x after the rotation: $j"
done

# a stranger on the time port: its p2pclock requests are not answered
# (and counted), a standard client's is
out=$(timeout 30 python3 - "$pa" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
def ask(pkt):
    s.sendto(pkt, ("127.0.0.1", port))
    try:
        return len(s.recv(2048))
    except socket.timeout:
        return 0
hdr = bytes([0x23]) + bytes(39) + struct.pack(">Q", 0x1122334455667788)
field = struct.pack(">HH", 0xF5C1, 196) + b"p2pc" + bytes([1, 1, 0, 0, 1]) + b"Z"
field += bytes(196 - len(field))
print(ask(hdr), ask(hdr + field), ask(hdr + field + bytes(16)),
      ask(hdr + field[:180] + bytes(16)))
PY
) || die "the stranger's probe failed: $out"
[ "$out" = "48 0 0 0" ] || die "time port answers (std, no MAC, junk MAC, short field): $out"
ctl wait 10 's["peers_up"] >= 2' "$T/A.sock" >/dev/null
j=$(timeout 20 "$BIN" tracking --control "$T/A.sock" --json)
python3 -c 'import json, sys
assert json.loads(sys.argv[1])["counters"]["rx_unauth"] == 3' "$j" ||
  die "A did not count the stranger's 3 requests: $j"
grep -q "without a valid authenticator" "$T/A.err" ||
  die "A did not log the stranger's requests"

# E holds only the old key: refused
start E "$pe" "A@127.0.0.1:$pa"
wait_up 10 "$T/E.sock"
sleep 3
ctl wait 5 's["peers_up"] == 0' "$T/E.sock" || die "E (old key) linked"
grep -q "secure handshake failed" "$T/A.err" ||
  die "A did not log E's refused handshake"

# A restarts on its file (the new key alone) and links again
node_stop A "$T/A.sock"
start A "$pa"
wait_up 10 "$T/A.sock"
grep -q "1 key, primary $fp_new" "$T/A.err" || die "A did not load the new key"
ctl wait 30 's["peers_up"] >= 3' "$T/A.sock" ||
  die "the restarted A did not link with B, C and D within 30 s"
for x in A B C D E; do node_stop "$x" "$T/$x.sock"; done
sys_pass
