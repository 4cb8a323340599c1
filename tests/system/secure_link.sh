#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Secure links from the command (docs/SECURITY.md): A and B hold one
# cluster key (p2pclock keygen --cluster --out), C another, D none (it runs
# --open, and says so). A node with neither is refused: closed by default. A and
# B link and deliver a message each way; C and D never link with A (A
# ends with one peer); a stranger speaking plain frames (intruder.py)
# cannot link to A either, so its PEERS frames never reach it. A creates
# its identity key on first start (0600, said on stderr) and loads the
# same one after a restart, and B links with it again.
#   secure_link.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init secure_link "$@"

"$BIN" keygen --cluster --out "$T/c1.key" 2>/dev/null || die "keygen c1"
"$BIN" keygen --cluster --out "$T/c2.key" 2>/dev/null || die "keygen c2"
read -r pa pb pc pd <<<"$(free_ports 4)"
node_start A --id A --listen "127.0.0.1:$pa" --control "$T/A.sock" \
  --no-time-sync --cluster-key-file "$T/c1.key" --key "$T/A.key"
node_start B --id B --listen "127.0.0.1:$pb" --control "$T/B.sock" \
  --no-time-sync --cluster-key-file "$T/c1.key" --key "$T/B.key" \
  --peer "A@127.0.0.1:$pa"
node_start C --id C --listen "127.0.0.1:$pc" --control "$T/C.sock" \
  --no-time-sync --cluster-key-file "$T/c2.key" --key "$T/C.key" \
  --peer "A@127.0.0.1:$pa"
node_start D --id D --listen "127.0.0.1:$pd" --control "$T/D.sock" \
  --no-time-sync --peer "A@127.0.0.1:$pa"
wait_up 10 "$T/A.sock" "$T/B.sock" "$T/C.sock" "$T/D.sock"
ctl wait 20 's["peers_up"] == 1' "$T/A.sock" "$T/B.sock" ||
  die "A and B (one cluster key) did not link within 20 s"
grep -q "created identity key $T/A.key" "$T/A.err" ||
  die "A did not say it created its identity key: $(cat "$T/A.err")"
[ "$(stat -c %a "$T/A.key")" = 600 ] || die "A's key file is not 0600"
pub=$(grep -o "identity $T/A.key (public key [^)]*)" "$T/A.err" | head -1)
[ -n "$pub" ] || die "A did not log its public key"

client send "$T/B.sock" A "sealed hello" >/dev/null || die "B: send refused"
client send "$T/A.sock" B "sealed answer" >/dev/null || die "A: send refused"
ctl wait 20 's["delivered"] >= 1' "$T/A.sock" "$T/B.sock" ||
  die "the messages between A and B were not delivered"

# C (another key) and D (none) have been dialing A all along.
sleep 3
ctl wait 5 's["peers_up"] == 1' "$T/A.sock" ||
  die "A has a peer other than B"
ctl wait 5 's["peers_up"] == 0' "$T/C.sock" "$T/D.sock" ||
  die "C or D linked to A"
grep -q "secure handshake failed" "$T/A.err" ||
  die "A did not log the refused handshakes"

# A stranger's plain frames: no link, so no reflection either.
out=$(timeout 30 python3 "$SYS_DIR/intruder.py" reflect 127.0.0.1 "$pa" 10) &&
  die "the intruder ran against A: $out"
log "intruder: $out"
echo "$out" | grep -q '"linked": false' || die "intruder: $out"

# Closed by default: no cluster key and no --open is refused at once,
# and so is a node asked to be both.
rc=0
timeout 20 "$BIN" node --id E --listen "127.0.0.1:$pa" --control "$T/E.sock" \
  </dev/null >"$T/E.out" 2>"$T/E.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "no cluster key: a network is closed to strangers" \
  "$T/E.err" || die "a node with no key and no --open: exit $rc, $(cat "$T/E.err")"
rc=0
timeout 20 "$BIN" node --id E --listen "127.0.0.1:$pa" --control "$T/E.sock" \
  --open --cluster-key-file "$T/c1.key" </dev/null >"$T/E.out" \
  2>"$T/E.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "exclude each other" "$T/E.err" ||
  die "--open with a cluster key: exit $rc, $(cat "$T/E.err")"
grep -q "links in clear, open to anyone (--open)" "$T/D.err" ||
  die "D (--open) did not warn that its links are in clear"

# A restarts: the same identity, and B links with it again.
node_stop A "$T/A.sock"
node_start A --id A --listen "127.0.0.1:$pa" --control "$T/A.sock" \
  --no-time-sync --cluster-key-file "$T/c1.key" --key "$T/A.key"
wait_up 10 "$T/A.sock"
[ "$(grep -c "created identity key" "$T/A.err")" -eq 1 ] ||
  die "A created a second identity key"
[ "$(grep -c "$pub" "$T/A.err")" -eq 2 ] ||
  die "A's public key changed across the restart"
ctl wait 30 's["peers_up"] == 1' "$T/A.sock" ||
  die "B did not link with the restarted A within 30 s"
for x in A B C D; do node_stop "$x" "$T/$x.sock"; done
sys_pass
