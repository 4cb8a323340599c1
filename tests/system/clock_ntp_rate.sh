#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The rate limit of the answers to standard NTP clients, end to end, from
# addresses that are not loopback (loopback is never limited, so this runs
# in a network namespace the test creates, whose lo carries 10.231.99.1..3;
# nothing in the root namespace is touched). A node R listens on
# 10.231.99.1; a client on 10.231.99.2 sends 50 standard requests back to
# back from one socket: at most the burst (8) plus what the leak lets
# through (1 in 4 of the other 42: 30 in all is 4 standard deviations
# above) are answered, at least the burst, and at least one but at most 2
# kiss-o'-death RATE (stratum 0, refid RATE, 48 bytes: never more than the
# request); R's tracking says rate_limited 42 and counts the same answers
# and KoDs. Then a client on 10.231.99.3 is answered at once, and the
# flooded address, silent for 9 s, is answered again.
# Needs root (fails, never skips, without it).
#   clock_ntp_rate.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init clock_ntp_rate "$@"

[ "$(id -u)" -eq 0 ] || die "needs root and network namespaces (uid $(id -u))"
command -v ip >/dev/null 2>&1 || die "needs ip (iproute2)"

NS=p2pc-$$-rate
ip netns add "$NS" || die "cannot create network namespace $NS"
# The namespace goes first (its node is still killed by PID), then lib.sh's
# cleanup with the test's status.
ns_cleanup() {
  local rc=$?
  ip netns del "$NS" 2>/dev/null || true
  (exit "$rc")
  sys_cleanup
}
trap ns_cleanup EXIT
ip -n "$NS" link set lo up
for a in 1 2 3; do
  ip -n "$NS" addr add "10.231.99.$a/32" dev lo
done

# The node runs inside the namespace; its control socket is a path, which
# the helpers reach from outside.
cat >"$T/p2pclock-ns" <<EOF
#!/bin/sh
exec ip netns exec $NS $BIN "\$@"
EOF
chmod +x "$T/p2pclock-ns"
BIN=$T/p2pclock-ns
port=7123
node_start R --id R --listen "10.231.99.1:$port" --events "$T/R.jsonl" \
  --control "$T/R.sock"
wait_up 10 "$T/R.sock"

counters() {
  ctl call "$T/R.sock" '{"cmd":"tracking"}' | python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["counters"]))'
}
c0=$(counters)

# client SRC N GAP: N requests GAP s apart from one socket on SRC, then 1 s
# for the replies; prints {"answers":A,"kods":K,"bad":B}.
client_run() {
  ip netns exec "$NS" timeout 60 python3 - "$1" "$port" "$2" "$3" <<'EOF'
import json, random, socket, struct, sys, time
src, port, n, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
sent = {}
for i in range(n):
    xmt = random.getrandbits(64) | 1
    sent[xmt] = True
    s.sendto(struct.pack(">BBbb", 0x23, 0, 6, -20) + bytes(36) +
             struct.pack(">Q", xmt), ("10.231.99.1", port))
    if gap:
        time.sleep(gap)
out = {"answers": 0, "kods": 0, "bad": 0}
end = time.monotonic() + 1.0
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        b = s.recv(4096)
    except socket.timeout:
        break
    org = struct.unpack(">Q", b[24:32])[0] if len(b) >= 48 else None
    if len(b) != 48 or b[0] & 7 != 4 or not sent.pop(org, False):
        out["bad"] += 1
    elif b[1] == 0:
        ok = b[12:16] == b"RATE"
        out["kods" if ok else "bad"] += 1
    else:
        out["answers"] += 1
print(json.dumps(out))
EOF
}

got=$(client_run 10.231.99.2 50 0) || die "the flooding client failed"
log "50 back to back from 10.231.99.2: $got"
c1=$(counters)
python3 - "$got" "$c0" "$c1" <<'EOF' || die "the flood was not limited as it should be: $got; counters $c0 -> $c1"
import json, sys
g, c0, c1 = (json.loads(a) for a in sys.argv[1:4])
d = {k: c1[k] - c0[k] for k in c0}
ok = (g["bad"] == 0 and 8 <= g["answers"] <= 30 and 1 <= g["kods"] <= 2
      and d["rate_limited"] == 42 and d["answered_std"] == g["answers"]
      and d["rate_kod"] == g["kods"]
      and d["rate_leaked"] == g["answers"] - 8)
print("counters grew by", json.dumps({k: d[k] for k in (
    "rx", "answered_std", "rate_limited", "rate_kod", "rate_leaked")}))
sys.exit(0 if ok else 1)
EOF

got=$(client_run 10.231.99.3 1 0) || die "the second client failed"
[ "$(echo "$got" | python3 -c 'import json,sys; print(json.load(sys.stdin)["answers"])')" = 1 ] ||
  die "another address was not answered at once: $got"
log "10.231.99.3 answered at once: $got"

sleep 9 # one token back for 10.231.99.2 (one per 8 s)
got=$(client_run 10.231.99.2 1 0) || die "the flooding client failed"
[ "$(echo "$got" | python3 -c 'import json,sys; print(json.load(sys.stdin)["answers"])')" = 1 ] ||
  die "the flooded address was not answered 9 s later: $got"
log "10.231.99.2 answered again 9 s later"

node_stop R "$T/R.sock"
sys_pass
