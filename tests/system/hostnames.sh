#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host names instead of addresses, and a peer that moves to a new address.
# The test runs in its own mount namespace, where a hosts file it owns is
# bind-mounted over /etc/hosts (and "hosts: files" over /etc/nsswitch.conf,
# so no lookup leaves the machine and nscd is not asked), so it can say
# what a name means and change it while the nodes run; rewriting the file
# in place keeps its inode, which the bind mount shows at once. All the
# names map into 127.0.0.0/8; nothing outside the namespace changes.
#
#   1. B listens on node-b (127.0.0.2), A on localhost and dials B@node-b
#      (a seed with an ID) and node-x (no ID, not in the hosts file yet),
#      C listens on node-c (127.0.0.4) and dials node-b (no ID). Each sees
#      the others at the addresses the names stand for; messages flow.
#      A says once (WARN) that node-x does not resolve, however often it
#      tries again; once node-x is in the file and a node X listens there,
#      A reaches it. A listen name that does not resolve stops the node
#      with one line naming it.
#   2. C stops; B is killed and started again on node-b, which now means
#      127.0.0.3: only A can find B (B knows no one), by resolving node-b
#      again before a re-dial. A must link to B at 127.0.0.3 and messages
#      must flow both ways.
#   3. C starts again (it finds B at 127.0.0.3 and links), A stops, and B
#      moves back to 127.0.0.2: now only C can find it, through its seed
#      without an ID, whose dials the runtime recognizes by the address the
#      name last took it to.
#   4. A clean stop of everyone; `p2pclock check` on the event logs.
#
# Needs root for the mount namespace (CI runs as root): without it the test
# fails with one line; it never skips. Every wait is bounded.
#   hostnames.sh BUILD/p2pclock SOURCE/config
set -euo pipefail

if [ "${P2PC_HOSTNAMES_NS:-}" != 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "hostnames: needs root for a private mount namespace (unshare --mount); uid $(id -u)" >&2
    exit 1
  fi
  if ! command -v unshare >/dev/null 2>&1; then
    echo "hostnames: needs unshare (util-linux) for a private mount namespace" >&2
    exit 1
  fi
  if ! err=$(unshare --mount --propagation private true 2>&1); then
    echo "hostnames: cannot create a mount namespace: $err" >&2
    exit 1
  fi
  P2PC_HOSTNAMES_NS=1 exec unshare --mount --propagation private -- \
    bash "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
sys_init hostnames "$@"

# ---- the namespace's own name service --------------------------------------
[ -e /etc/nsswitch.conf ] || die "no /etc/nsswitch.conf to bind over"
# write_hosts NODE_B_IP [NODE_X_IP]: rewrites the hosts file in place.
write_hosts() {
  {
    echo "127.0.0.1 localhost"
    echo "$1 node-b"
    echo "127.0.0.4 node-c"
    [ -z "${2:-}" ] || echo "$2 node-x"
  } >"$T/hosts"
}
write_hosts 127.0.0.2
echo "hosts: files" >"$T/nsswitch.conf"
mount --bind "$T/hosts" /etc/hosts || die "cannot bind-mount /etc/hosts"
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf ||
  die "cannot bind-mount /etc/nsswitch.conf"
for d in /run/nscd /var/run/nscd; do
  if [ -S "$d/socket" ]; then
    mount -t tmpfs none "$d" || die "cannot hide nscd's socket $d"
  fi
done
# resolves NAME IP: the name service in here says NAME is IP.
resolves() {
  local got
  got=$(getent ahostsv4 "$1" | awk 'NR == 1 { print $1 }') || true
  [ "$got" = "$2" ] || die "the test's hosts file does not work: $1 is \"$got\", not $2"
}
resolves node-b 127.0.0.2
resolves node-c 127.0.0.4
getent hosts node-x >/dev/null && die "node-x resolves before it should"

read -r -a ports <<<"$(free_ports 4)"
PA=${ports[0]} PB=${ports[1]} PC=${ports[2]} PX=${ports[3]}
log "ports A $PA, B $PB, C $PC, X $PX"
declare -A ARGS=(
  [A]="--id A --listen localhost:$PA --peer B@node-b:$PB --peer node-x:$PX --log-level debug"
  [B]="--id B --listen node-b:$PB"
  [C]="--id C --listen node-c:$PC --peer node-b:$PB"
  [X]="--id X --listen node-x:$PX"
)
start() {
  # shellcheck disable=SC2086 # the flags are words without blanks
  node_start "$1" ${ARGS[$1]} --events "$T/$1.jsonl" --control "$T/$1.sock"
}
sock() { echo "$T/$1.sock"; }

# peers_at NODE SECS PEER=ADDR...: NODE sees each PEER up at its ADDR.
peers_at() {
  local node=$1 secs=$2 expr="True" pa
  shift 2
  for pa in "$@"; do
    expr+=" and any(x['id'] == '${pa%%=*}' and x['state'] == 'up' and
      x['addr'] == '${pa#*=}' for x in p)"
  done
  ctl wait "$secs" "$expr" "$(sock "$node")" ||
    die "$node does not see $* within $secs s"
}

# delivered NODE: how many messages NODE has delivered so far.
delivered() {
  timeout 20 "$BIN" status --control "$(sock "$1")" --json |
    grep -o '"delivered":[0-9]*' | cut -d: -f2
}

# flows FROM TO: a message from FROM is delivered at TO.
flows() {
  local before
  before=$(delivered "$2")
  client send "$(sock "$1")" "$2" "from $1 to $2" >/dev/null ||
    die "$1 cannot send to $2"
  ctl wait 20 "s['delivered'] > $before" "$(sock "$2")" ||
    die "$1's message to $2 was not delivered"
}

# ---- 1. names, localhost, a name that does not resolve yet ----------------
start B
wait_up 10 "$(sock B)"
start A
start C
wait_up 10 "$(sock A)" "$(sock C)"
peers_at A 20 "B=127.0.0.2:$PB" "C=127.0.0.4:$PC"
peers_at B 20 "A=127.0.0.1:$PA"
peers_at C 20 "B=127.0.0.2:$PB"
flows A B
flows B A
flows C B
flows A C
log "A (localhost), B (node-b) and C (node-c) linked at the names' addresses"

# node-x: every dial fails to resolve; one WARN, then DEBUG only.
for ((i = 0; i < 300; i++)); do
  [ "$(grep -c 'cannot resolve node-x' "$T/A.err" || true)" -ge 4 ] && break
  sleep 0.1
done
n=$(grep -c 'cannot resolve node-x' "$T/A.err" || true)
[ "$n" -ge 4 ] || die "A tried to resolve node-x only $n times in 30 s"
w=$(grep -c ' WARN link: cannot resolve node-x: ' "$T/A.err" || true)
[ "$w" -eq 1 ] || die "A warned $w times about node-x, want once in $n tries"
node_alive A || die "A died of an unresolvable peer"
write_hosts 127.0.0.2 127.0.0.5
resolves node-x 127.0.0.5
start X
wait_up 10 "$(sock X)"
peers_at A 30 "X=127.0.0.5:$PX"
grep -q 'INFO link: node-x resolves again, to 127.0.0.5' "$T/A.err" ||
  die "A did not say that node-x resolves again"
log "node-x: one warning in $n failed lookups, then found at 127.0.0.5"

# A listen host that does not resolve: exit 1, one line naming it.
rc=0
timeout 20 "$BIN" node --id Q --listen "nowhere-q:$PX" --control "$T/Q.sock" --open \
  </dev/null >"$T/Q.out" 2>"$T/Q.err" || rc=$?
[ "$rc" -eq 1 ] || die "a listen name that does not resolve: exit $rc, want 1"
if [ "$(wc -l <"$T/Q.err")" -ne 1 ] ||
  ! grep -q '^p2pclock node: cannot resolve the listen host nowhere-q: ' \
    "$T/Q.err"; then
  die "listen nowhere-q says: $(cat "$T/Q.err")"
fi
rm -f "$T/Q.err" # not a node log: keep the failure report to the nodes

# ---- 2. B moves to 127.0.0.3; only A can find it --------------------------
node_stop X "$(sock X)"
node_stop C "$(sock C)"
node_kill B KILL
write_hosts 127.0.0.3
resolves node-b 127.0.0.3
start B
wait_up 10 "$(sock B)"
grep -q "listening on node-b:$PB (127.0.0.3:$PB)" "$T/B.err" ||
  die "B did not listen on 127.0.0.3"
peers_at A 30 "B=127.0.0.3:$PB"
peers_at B 10 "A=127.0.0.1:$PA"
# (A lookup that meets the file half rewritten fails: then A warns, and
# says "resolves again, now to" instead of "now resolves to".)
grep -Eq "link: node-b (now resolves|resolves again, now) to 127.0.0.3:$PB \(was 127.0.0.2:$PB\)" \
  "$T/A.err" || die "A did not log that node-b moved"
flows A B
flows B A
log "B moved to 127.0.0.3: A found it again by name"

# ---- 3. B moves back; only C (a seed without an ID) can find it ----------
start C
wait_up 10 "$(sock C)"
peers_at C 20 "B=127.0.0.3:$PB" "A=127.0.0.1:$PA"
node_stop A "$(sock A)"
node_kill B KILL
write_hosts 127.0.0.2
resolves node-b 127.0.0.2
start B
wait_up 10 "$(sock B)"
peers_at C 30 "B=127.0.0.2:$PB"
grep -Eq "link: node-b (now resolves|resolves again, now) to 127.0.0.2:$PB \(was 127.0.0.3:$PB\)" \
  "$T/C.err" || die "C did not log that node-b moved"
flows C B
flows B C
log "B moved back to 127.0.0.2: C found it again by name"

# ---- 4. the event logs -----------------------------------------------------
ctl quiet 30 "$(sock B)" "$(sock C)" >/dev/null || die "B and C not quiet"
node_stop B "$(sock B)"
node_stop C "$(sock C)"
run_check "$T/A.jsonl" "$T/B.jsonl" "$T/C.jsonl" "$T/X.jsonl"
check_json 'j["ok"]'
sys_pass
