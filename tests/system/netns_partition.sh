#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Four p2pclock nodes as four hosts: each node runs in its own network
# namespace, joined by veth pairs to two bridges ("switches": h1,h2 on swA,
# h3,h4 on swB, the switches joined by a veth "cable") that live in a fifth
# namespace. Everything the test creates (namespaces, bridges, veths,
# 10.231.x.y addresses) exists only inside the test's own namespaces, so
# nothing in the root namespace is touched; deleting the namespaces on exit
# deletes all of it.
#
#   1. start h1..h4 (h2..h4 know only h1's address), wait for a full mesh;
#   2. every node sends 10 messages to every other node; wait for delivery;
#   3. partition {h1,h2} | {h3,h4} (the cable between the switches down): inside
#      each side messages are delivered, messages across are queued, and
#      each node declares the other side down (dead timeout 5 s);
#   4. heal; every node sees 3 peers up again and every message, including
#      those sent across the partition, is delivered exactly once;
#   5. stop every node through its control socket, then verify the event
#      logs with `p2pclock check` and with an independent exactly-once check
#      of the message ids the control socket handed out.
#
# Needs root (CI runs as root). Without root or network namespaces it fails
# with one line; it never skips silently. Every wait is bounded.
#   netns_partition.sh BUILD/p2pclock
# Env: P2PC_LOG_LEVEL (default info) for the nodes; P2PC_KEEP=1 keeps the
# work directory (logs, events) even on success.
set -euo pipefail

bin=${1:?usage: netns_partition.sh P2PCLOCK}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
loglevel=${P2PC_LOG_LEVEL:-info}
port=7000
nodes=(h1 h2 h3 h4)

t_start=$(date +%s)
log() { printf 'netns_partition: [%3ds] %s\n' "$(($(date +%s) - t_start))" "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "netns_partition: needs root and network namespaces (not root: uid $(id -u))" >&2
  exit 1
fi
if ! command -v ip >/dev/null 2>&1; then
  echo "netns_partition: needs root and network namespaces (ip not found: install iproute2)" >&2
  exit 1
fi
if [ ! -x "$bin" ]; then
  echo "netns_partition: $bin is not an executable" >&2
  exit 1
fi

# Namespaces left by an earlier run that was killed before its cleanup
# (SIGKILL from a test timeout): p2pc-PID-* whose PID is gone.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^p2pc-[0-9]+-' || true); do
  owner=${ns#p2pc-}
  owner=${owner%%-*}
  kill -0 "$owner" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
done

pfx=p2pc-$$
brns=$pfx-br
subnet=10.231.$((RANDOM % 200 + 20))
dir=
created_ns=()
declare -A pid=()
ok=0

cleanup() {
  local n ns i
  set +e
  for n in "${!pid[@]}"; do
    kill -TERM "${pid[$n]}" 2>/dev/null
  done
  for i in $(seq 1 20); do
    local alive=0
    for n in "${!pid[@]}"; do
      kill -0 "${pid[$n]}" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for n in "${!pid[@]}"; do
    kill -KILL "${pid[$n]}" 2>/dev/null
    wait "${pid[$n]}" 2>/dev/null
  done
  for ns in "${created_ns[@]}"; do
    ip netns del "$ns" 2>/dev/null
  done
  if [ -z "$dir" ]; then
    :
  elif [ "$ok" -eq 1 ] && [ "${P2PC_KEEP:-0}" != 1 ]; then
    rm -rf "$dir"
  else
    for n in "${nodes[@]}"; do
      if [ -s "$dir/$n.log" ]; then
        echo "---- last lines of $n's log ($dir/$n.log):" >&2
        tail -n 25 "$dir/$n.log" >&2
      fi
    done
    echo "netns_partition: logs and event files kept in $dir" >&2
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
  log "FAIL: $*" >&2
  exit 1
}

# The one probe of privileges that matters: a namespace. Its failure is one
# line and exit 1, nothing else.
if ! err=$(ip netns add "$brns" 2>&1); then
  echo "netns_partition: needs root and network namespaces (ip netns add failed: $err)" >&2
  exit 1
fi
created_ns+=("$brns")
dir=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-netns.XXXXXX")

# ---- the control-socket client and the independent checker ----------------
cat >"$dir/ctl.py" <<'EOF'
import json, signal, socket, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s, s.makefile("rwb")

def rpc(f, obj):
    f.write((json.dumps(obj) + "\n").encode())
    f.flush()
    line = f.readline()
    if not line:
        raise OSError("control connection closed")
    return json.loads(line)

def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "status":          # status SOCK...: "peers_up delivered" each
        for path in args:
            try:
                s, f = connect(path)
                r = rpc(f, {"cmd": "status"})
                s.close()
                print(r["peers_up"], r["delivered"])
            except (OSError, ValueError, KeyError):
                print("- -")
    elif cmd == "peers":         # peers SOCK: "ID STATE" per peer
        try:
            s, f = connect(args[0])
            r = rpc(f, {"cmd": "peers"})
            s.close()
            for p in r["peers"]:
                print(p["id"], p["state"])
        except (OSError, ValueError, KeyError):
            pass
    elif cmd == "send":          # send SOCK FROM TO COUNT TAG LOG
        path, frm, to, count, tag, logf = args
        s, f = connect(path)
        with open(logf, "a") as out:
            for i in range(int(count)):
                text = "%s %s->%s #%d" % (tag, frm, to, i)
                r = rpc(f, {"cmd": "send", "to": to, "text": text})
                if not r.get("ok"):
                    sys.exit("send %s->%s refused: %s" % (frm, to, r))
                out.write("%s %s %s %s\n" % (r["msg"], frm, to, tag))
        s.close()
    elif cmd == "stop":          # stop SOCK
        s, f = connect(args[0])
        r = rpc(f, {"cmd": "stop"})
        s.close()
        if not r.get("ok"):
            sys.exit("stop refused: %s" % r)
    elif cmd == "verify":        # verify SENTLOG EVENTS...: exactly once
        sent = {}
        for line in open(args[0]):
            msg, frm, to, tag = line.split()
            if msg in sent:
                sys.exit("control socket gave out %s twice" % msg)
            sent[msg] = (frm, to)
        got = {}
        bad = []
        for ev in args[1:]:
            for line in open(ev):
                e = json.loads(line)
                if e.get("ev") != "deliver":
                    continue
                msg = e["msg"]
                if msg not in sent:
                    bad.append("%s delivered at %s but never sent" % (msg, e["node"]))
                    continue
                if e["node"] != sent[msg][1]:
                    bad.append("%s (to %s) delivered at %s" % (msg, sent[msg][1], e["node"]))
                got[msg] = got.get(msg, 0) + 1
        for msg, (frm, to) in sorted(sent.items()):
            k = got.get(msg, 0)
            if k != 1:
                bad.append("%s %s->%s delivered %d times" % (msg, frm, to, k))
        for b in bad[:20]:
            print("  " + b)
        if bad:
            sys.exit("exactly-once: %d violations of %d messages" % (len(bad), len(sent)))
        print("exactly-once: OK (%d messages, each delivered once at its destination)" % len(sent))
    else:
        sys.exit("ctl.py: unknown command " + cmd)

main()
EOF
ctl() { timeout 20 python3 "$dir/ctl.py" "$@"; }
sock() { echo "$dir/$1.sock"; }

# ---- the network ------------------------------------------------------------
ip -n "$brns" link set lo up
# Two switches joined by one cable: h1,h2 on swA, h3,h4 on swB. Cutting the
# cable (its swA end down) is the partition; h3 and h4 still reach each
# other through swB.
ip -n "$brns" link add swA type bridge
ip -n "$brns" link add swB type bridge
ip -n "$brns" link add cableA type veth peer name cableB
ip -n "$brns" link set cableA master swA
ip -n "$brns" link set cableB master swB
for l in swA swB cableA cableB; do ip -n "$brns" link set "$l" up; done
for i in 1 2 3 4; do
  ns=$pfx-$i
  sw=swA
  [ "$i" -ge 3 ] && sw=swB
  ip netns add "$ns"
  created_ns+=("$ns")
  ip -n "$ns" link set lo up
  # Created inside the bridge namespace, the host end moved straight into
  # the host namespace: the pair never exists in the root namespace.
  ip -n "$brns" link add "port$i" type veth peer name eth0 netns "$ns"
  ip -n "$brns" link set "port$i" master "$sw"
  ip -n "$brns" link set "port$i" up
  ip -n "$ns" addr add "$subnet.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
done
log "namespaces $pfx-{br,1..4}, subnet $subnet.0/24, work dir $dir"

# ---- the nodes --------------------------------------------------------------
for i in 1 2 3 4; do
  n=h$i
  peerargs=()
  [ "$i" -ne 1 ] && peerargs=(--peer "$subnet.1:$port")
  ip netns exec "$pfx-$i" "$bin" node --id "$n" --listen "$subnet.$i:$port" --open \
    "${peerargs[@]}" --events "$dir/$n.events" --control "$(sock "$n")" \
    --log-level "$loglevel" >"$dir/$n.log" 2>&1 &
  pid[$n]=$!
done

# wait_for DESC SECONDS CMD...: runs CMD every 0.2 s until it succeeds.
# SECONDS is what it takes on an idle machine; the wait is bounded by 3 x
# SECONDS of wall time and SECONDS*15 tries, because on a machine whose
# cores are busy every node and every ctl.py call is slower, not wrong.
wait_for() {
  local desc=$1 secs=$2 tries=0 deadline
  shift 2
  deadline=$(($(date +%s) + 3 * secs))
  until "$@"; do
    tries=$((tries + 1))
    if [ "$tries" -ge $((secs * 15)) ] || [ "$(date +%s)" -ge "$deadline" ]; then
      show_status
      fail "timed out after ${secs}s waiting for $desc"
    fi
    for n in "${nodes[@]}"; do
      kill -0 "${pid[$n]}" 2>/dev/null || fail "node $n exited while waiting for $desc"
    done
    sleep 0.2
  done
}

# all_up: every node sees its 3 peers in state "up".
all_up() {
  local n k
  for n in "${nodes[@]}"; do
    k=$(ctl peers "$(sock "$n")" | awk '$2 == "up"' | wc -l)
    [ "$k" -eq 3 ] || return 1
  done
}

# side_view: h1,h2 see each other up and h3,h4 down (or being redialled);
# h3,h4 likewise.
side_view() {
  local n own other st
  for n in "${nodes[@]}"; do
    case $n in h1 | h2) own="h1 h2" other="h3 h4" ;; *) own="h3 h4" other="h1 h2" ;; esac
    st=$(ctl peers "$(sock "$n")")
    for p in $own; do
      [ "$p" = "$n" ] && continue
      grep -qx "$p up" <<<"$st" || return 1
    done
    for p in $other; do
      grep -Eqx "$p (down|dialing)" <<<"$st" || return 1
    done
  done
}

# expect[N]: messages sent to N so far; held[N]: those of them that cannot
# arrive yet (sent across the partition). N must have delivered exactly
# expect[N] - held[N].
declare -A expect=([h1]=0 [h2]=0 [h3]=0 [h4]=0)
declare -A held=([h1]=0 [h2]=0 [h3]=0 [h4]=0)
sent=$dir/sent.txt
: >"$sent"

# send FROM TO COUNT TAG
send() {
  ctl send "$(sock "$1")" "$1" "$2" "$3" "$4" "$sent" || fail "sending $4 $1->$2"
  expect[$2]=$((expect[$2] + $3))
}

# delivered_is: every node's "delivered" equals expect[node] exactly.
delivered_is() {
  local i st n
  mapfile -t st < <(ctl status "$(sock h1)" "$(sock h2)" "$(sock h3)" "$(sock h4)")
  [ "${#st[@]}" -eq 4 ] || return 1
  for i in 0 1 2 3; do
    n=${nodes[$i]}
    [ "${st[$i]#* }" = "$((expect[$n] - held[$n]))" ] || return 1
  done
}

show_status() {
  local i st n
  mapfile -t st < <(ctl status "$(sock h1)" "$(sock h2)" "$(sock h3)" "$(sock h4)")
  for i in 0 1 2 3; do
    n=${nodes[$i]}
    log "  $n: peers_up delivered = ${st[$i]:-?} (want delivered $((expect[$n] - held[$n])))," \
      "peers: $(ctl peers "$(sock "$n")" | tr '\n' ' ')"
  done
}

wait_for "a full mesh (every node sees 3 peers up)" 15 all_up
log "full mesh up"

# ---- phase 1: everyone to everyone -------------------------------------------
for a in "${nodes[@]}"; do
  for b in "${nodes[@]}"; do
    [ "$a" = "$b" ] || send "$a" "$b" 10 mesh
  done
done
wait_for "delivery of the mesh traffic" 10 delivered_is
log "mesh traffic delivered (120 messages)"

# ---- phase 2: partition {h1,h2} | {h3,h4} ------------------------------------
ip -n "$brns" link set cableA down
log "partitioned {h1,h2} | {h3,h4}"

cross() { # cross COUNT TAG: every node to both nodes of the other side
  local a b
  for a in h1 h2; do for b in h3 h4; do send "$a" "$b" "$1" "$2"; done; done
  for a in h3 h4; do for b in h1 h2; do send "$a" "$b" "$1" "$2"; done; done
  for b in "${nodes[@]}"; do held[$b]=$((held[$b] + 2 * $1)); done
}
within() { # within COUNT TAG: inside each side, both ways
  send h1 h2 "$1" "$2"; send h2 h1 "$1" "$2"
  send h3 h4 "$1" "$2"; send h4 h3 "$1" "$2"
}
# Cross messages sent at once (the links still look up: the frames go into
# TCP connections that are about to die) and again once the other side is
# declared down; each time followed by traffic inside the sides, which
# carries the cross messages in its causal past.
cross 5 cross-early
within 5 within-early
wait_for "delivery inside each side (links to the other side still look up)" 8 delivered_is
log "inside each side delivered; the cross messages wait"

wait_for "each side to declare the other down" 15 side_view
log "each side declared the other down"

cross 5 cross-late
within 5 within-late
wait_for "delivery inside each side while the other is down" 8 delivered_is
# Nothing from across may have slipped through: the counts must stay put.
sleep 1
delivered_is || { show_status; fail "delivered counts moved during the partition (a cross message got through?)"; }
side_view || fail "the partition view changed while partitioned"
log "inside each side delivered; nothing crossed the partition"

# ---- phase 3: heal -------------------------------------------------------------
ip -n "$brns" link set cableA up
log "healed"
for n in "${nodes[@]}"; do held[$n]=0; done
heal_done() { all_up && delivered_is; }
wait_for "all peers up again and every queued message delivered" 30 heal_done
log "every node sees 3 peers up; all messages delivered"
sleep 1
delivered_is || { show_status; fail "delivered counts changed after the heal settled"; }

# ---- phase 4: stop and check the logs -------------------------------------------
for n in "${nodes[@]}"; do
  ctl stop "$(sock "$n")" || fail "stop $n through its control socket"
done
for n in "${nodes[@]}"; do
  for _ in $(seq 1 50); do
    kill -0 "${pid[$n]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "${pid[$n]}" 2>/dev/null && fail "node $n still running 5 s after stop"
  rc=0
  wait "${pid[$n]}" || rc=$?
  unset "pid[$n]"
  [ "$rc" -eq 0 ] || fail "node $n exited with status $rc after stop"
done
log "all nodes stopped cleanly"

events=()
for n in "${nodes[@]}"; do events+=("$dir/$n.events"); done
python3 "$dir/ctl.py" verify "$sent" "${events[@]}" || fail "exactly-once check of the event logs"
if "$bin" check --help >/dev/null 2>&1; then
  "$bin" check "${events[@]}" || fail "p2pclock check ${events[*]}"
else
  log "p2pclock check not available; the exactly-once check above stands alone"
fi

ok=1
log "PASS"
