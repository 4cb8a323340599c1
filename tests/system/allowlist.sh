#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The allowlist (docs/SECURITY.md): A, B and C share a cluster key and an
# allowlist that gives only A the reference role; C runs --priority 0 (the
# best dataset: without the list it would be elected, as the first run
# below shows) and D holds the cluster key but is not listed. A, B and C
# link; D never links (A logs why); every node follows A, not C. A node
# not on its own list, and a list writable by others, are refused at
# start with a clear message.
#   allowlist.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init allowlist "$@"
clockcheck() { timeout 120 python3 "$SYS_DIR/clockcheck.py" "$@"; }

"$BIN" keygen --cluster --out "$T/c.key" 2>/dev/null || die "keygen cluster"
for x in A B C D; do
  "$BIN" keygen --key "$T/$x.key" >"$T/$x.pub" 2>/dev/null || die "keygen $x"
done
pub() { tr -d '\n' <"$T/$1.pub"; }
{
  echo "# who may join, and who may be the clock's reference"
  echo "A $(pub A) reference"
  echo "B $(pub B)"
  echo "C	$(pub C)   # the best priority, but not the role"
} >"$T/allow"
chmod 644 "$T/allow"
read -r pa pb pc pd <<<"$(free_ports 4)"

start_all() { # start_all [ARGS...]: A, B, C with ARGS, and D unlisted
  node_start A --id A --listen "127.0.0.1:$pa" --control "$T/A.sock" \
    --cluster-key-file "$T/c.key" --key "$T/A.key" "$@"
  node_start B --id B --listen "127.0.0.1:$pb" --control "$T/B.sock" \
    --cluster-key-file "$T/c.key" --key "$T/B.key" \
    --peer "A@127.0.0.1:$pa" "$@"
  node_start C --id C --listen "127.0.0.1:$pc" --control "$T/C.sock" \
    --cluster-key-file "$T/c.key" --key "$T/C.key" --priority 0 \
    --peer "A@127.0.0.1:$pa" --peer "B@127.0.0.1:$pb" "$@"
  wait_up 10 "$T/A.sock" "$T/B.sock" "$T/C.sock"
}
stop_all() { for x in "$@"; do node_stop "$x" "$T/$x.sock"; done; }
follows() { echo "t['synced'] and t['ref'] == '$1'"; }

# Without the list, C's priority wins: the check below can fail.
start_all
clockcheck wait 30 "$(follows C)" "$T/A.sock" "$T/B.sock" "$T/C.sock" \
  >/dev/null || {
  clockcheck show "$T/A.sock" "$T/B.sock" "$T/C.sock"
  die "without an allowlist the mesh did not follow C (--priority 0)"
}
stop_all A B C
log "without the allowlist: every node follows C"

# With it: only A may be the reference, and D never links.
start_all --allowlist "$T/allow"
node_start D --id D --listen "127.0.0.1:$pd" --control "$T/D.sock" \
  --cluster-key-file "$T/c.key" --key "$T/D.key" --peer "A@127.0.0.1:$pa"
wait_up 10 "$T/D.sock"
ctl wait 20 's["peers_up"] == 2' "$T/A.sock" "$T/B.sock" "$T/C.sock" ||
  die "A, B and C (listed) did not link within 20 s"
clockcheck wait 30 "$(follows A)" "$T/A.sock" "$T/B.sock" "$T/C.sock" \
  >/dev/null || {
  clockcheck show "$T/A.sock" "$T/B.sock" "$T/C.sock"
  die "with the allowlist the mesh did not follow A"
}
grep -q "allowlist $T/allow: 3 members, 1 may be the reference (not this node" \
  "$T/C.err" || die "C did not say it may not be the reference"
ctl wait 5 's["peers_up"] == 0' "$T/D.sock" || die "D (not listed) linked"
grep -q "secure handshake failed: the peer's key is not on the allowlist" \
  "$T/A.err" || die "A did not log why D was refused"
client send "$T/B.sock" C "listed" >/dev/null || die "B: send refused"
ctl wait 20 's["delivered"] >= 1' "$T/C.sock" || die "B's message to C"

# C removed from the list, which A and B read again (SIGHUP): cut off at
# once, and kept out; put back, it links again. A bad list changes
# nothing.
cp "$T/allow" "$T/allow.all"
grep -v '^C' "$T/allow.all" >"$T/allow"
kill -HUP "${PID[A]}" "${PID[B]}"
ctl wait 20 's["peers_up"] == 0' "$T/C.sock" || die "C was not cut off"
ctl wait 5 's["peers_up"] == 1' "$T/A.sock" "$T/B.sock" ||
  die "A and B did not keep each other"
grep -q "C is no longer on the allowlist: closed" "$T/A.err" ||
  die "A did not say why C was cut off"
sleep 2
ctl wait 5 's["peers_up"] == 0' "$T/C.sock" || die "C linked again"
echo "garbage" >"$T/allow"
kill -HUP "${PID[A]}"
sleep 1
grep -q "allowlist not reloaded: $T/allow:1:" "$T/A.err" ||
  die "A did not refuse a bad list: $(tail -3 "$T/A.err")"
cp "$T/allow.all" "$T/allow"
kill -HUP "${PID[A]}" "${PID[B]}"
ctl wait 30 's["peers_up"] == 2' "$T/C.sock" ||
  die "C, listed again, did not link again within 30 s"
stop_all A B C D

# Refused at start: a node not on its list, or listed with another key,
# and a list others could write.
refused() { # refused WHAT PATTERN ARGS...
  local what=$1 pat=$2 rc=0
  shift 2
  timeout 20 "$BIN" node --listen "127.0.0.1:$pd" --control "$T/E.sock" \
    --cluster-key-file "$T/c.key" "$@" </dev/null >"$T/E.out" 2>"$T/E.err" ||
    rc=$?
  [ "$rc" -eq 1 ] && grep -q "$pat" "$T/E.err" ||
    die "$what: exit $rc, $(cat "$T/E.err")"
}
refused "D, not listed" "this node is not on it; add the line 'D " \
  --id D --key "$T/D.key" --allowlist "$T/allow"
refused "B with D's key" "this node is listed with another key" \
  --id B --key "$T/D.key" --allowlist "$T/allow"
refused "with --open" "needs secure links" --id A --key "$T/A.key" \
  --allowlist "$T/allow" --open
chmod 666 "$T/allow"
refused "a list others can write" "writable by group or others" \
  --id A --key "$T/A.key" --allowlist "$T/allow"
chmod 644 "$T/allow"
echo "A $(pub A) referee" >"$T/bad"
refused "an unknown role" "bad:1: unknown word 'referee'" \
  --id A --key "$T/A.key" --allowlist "$T/bad"
sys_pass
