#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RFC 8573 symmetric keys for standard NTP clients (--ntp-keys). A node in
# secure mode (a cluster key: its own datagrams carry their MAC, which
# must not be added to these answers) with a key file of an AES128 and an
# AES256 key is asked by ntpkeys_client.py (python3-cryptography's
# AES-CMAC): signed requests answered with a MAC that verifies, bad MAC,
# unknown key ID, SHA1-sized MAC and crypto-NAK unanswered, a bare request
# answered as before; the tracking counters say so, and `p2pclock
# tracking` prints them. Then key files the node must refuse at start
# (exit 2 or 1, one line naming the file): one readable by others, one
# with an MD5 key.
#   ntp_keys.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init ntp_keys "$@"
python3 -c 'import cryptography' 2>/dev/null ||
  die "python3-cryptography is missing (scripts/deps.sh test installs it)"

"$BIN" keygen --cluster --out "$T/cluster.key" 2>/dev/null || die "keygen"
umask 077
cat >"$T/ntp.keys" <<KEYS
# chrony's format, RFC 8573's types
1 AES128 HEX:$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
4000000000 AES256 HEX:$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
KEYS
read -r px <<<"$(free_ports 1)"
node_start X --id X --listen "127.0.0.1:$px" --control "$T/X.sock" \
  --cluster-key-file "$T/cluster.key" --key "$T/X.key" \
  --ntp-keys "$T/ntp.keys"
wait_up 10 "$T/X.sock"
grep -q "NTP symmetric keys (RFC 8573) for standard clients: 2 from" \
  "$T/X.err" || die "X did not say it loaded 2 NTP keys"
timeout 60 python3 "$SYS_DIR/ntpkeys_client.py" "$px" "$T/X.sock" \
  "$T/ntp.keys" || die "the NTP client with keys"
timeout 20 "$BIN" tracking --control "$T/X.sock" >"$T/tracking.txt" ||
  die "p2pclock tracking refused"
grep -q "2 with a MAC" "$T/tracking.txt" &&
  grep -q "bad MAC 2" "$T/tracking.txt" ||
  die "tracking does not show the MACs: $(cat "$T/tracking.txt")"
node_stop X "$T/X.sock"
log "signed requests answered and signed; bad ones unanswered"

# refused: refused NAME WANT: the node must exit non-zero saying WANT
refused() {
  local rc=0
  timeout 20 "$BIN" node --id R --listen "127.0.0.1:$px" --open \
    --ntp-keys "$T/$1" </dev/null >/dev/null 2>"$T/$1.err" || rc=$?
  [ "$rc" -ne 0 ] || die "a node started with the key file $1"
  grep -q "$2" "$T/$1.err" || die "$1: want \"$2\", got: $(cat "$T/$1.err")"
  log "$1 refused: $(head -n 1 "$T/$1.err")"
}
cp "$T/ntp.keys" "$T/open.keys"
chmod 644 "$T/open.keys"
refused open.keys "too open; chmod 600 it"
printf '1 AES128 HEX:00112233445566778899aabbccddeeff\n2 MD5 HEX:00\n' \
  >"$T/md5.keys"
refused md5.keys 'md5.keys line 2: key type "MD5" is not allowed'
sys_pass
