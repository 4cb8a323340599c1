#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A send to a node that is not a neighbour waits for the lookup of its
# address (docs/CONTROL.md, "Sends to any node"): four nodes in a line,
# A - B - C - D (A and D take one link, B and C two), so A is no
# neighbour of D. At A:
#   - `p2pclock send D hello` succeeds and D delivers it;
#   - a send to an ID no node has answers "no node with ID ... is known"
#     (the lookup's not-found, not the time-out error);
#   - on one connection, requests pipelined behind a held send are
#     answered in order, after it (their effects too: the message behind
#     the held send reaches D);
#   - a client that goes away while its send is held costs nothing: the
#     node goes on answering.
#   ctl_lookup.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init ctl_lookup "$@"

# from_a: how many deliveries from A D's event log holds.
from_a() {
  python3 -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if (e := json.loads(l))["ev"] ==
          "deliver" and e["from"].startswith("A~")))' "$T/D.ev"
}

read -r pa pb pc pd <<<"$(free_ports 4)"
# Time sync is off: the lookup runs over the UDP socket all the same.
common=(--log-level debug --no-time-sync)
# A joins last, and sends at once: it has heard of B alone, so D must be
# looked up (usually: if B's first records already named D, no lookup is
# needed, and the log says so).
node_start B --id B --listen "127.0.0.1:$pb" --control "$T/B.sock" \
  --max-peers 2 --events "$T/B.ev" "${common[@]}"
node_start C --id C --listen "127.0.0.1:$pc" --control "$T/C.sock" \
  --max-peers 2 --events "$T/C.ev" --peer "B@127.0.0.1:$pb" "${common[@]}"
node_start D --id D --listen "127.0.0.1:$pd" --control "$T/D.sock" \
  --max-peers 1 --events "$T/D.ev" --peer "C@127.0.0.1:$pc" "${common[@]}"
wait_up 10 "$T/B.sock" "$T/C.sock" "$T/D.sock"
ctl wait 20 's["peers_up"] == 1' "$T/D.sock" ||
  die "D did not link to C within 20 s"
ctl wait 20 '[x["id"] for x in p if x["state"] == "up"] == ["C"]' \
  "$T/D.sock" || die "D's links are not just C"
node_start A --id A --listen "127.0.0.1:$pa" --control "$T/A.sock" \
  --max-peers 1 --events "$T/A.ev" --peer "B@127.0.0.1:$pb" "${common[@]}"
wait_up 10 "$T/A.sock"
# The line: A's one link is B, D's one link is C.
ctl wait 20 '[x["id"] for x in p if x["state"] == "up"] == ["B"]' \
  "$T/A.sock" || die "A's links are not just B"
log "the line A - B - C - D is up"

# 1. A send to D, which is no neighbour of A. D is found once it has made
# itself known (its bootstrap lookup, 1 s after its first link); a lookup
# before that rightly finds nothing, and the answer stays so for 10 s (the
# negative cache): then try again, a bounded number of times.
for try in 1 2 3 4; do
  rc=0
  out=$(timeout 20 "$BIN" send --control "$T/A.sock" --json D hello 2>&1) ||
    rc=$?
  [ "$rc" -eq 0 ] && break
  case $out in
  *"no node with ID D is known"*)
    log "try $try: $out; again after the negative cache"
    sleep 10.5
    ;;
  *) die "A: send D hello failed: $out" ;;
  esac
done
[ "$rc" -eq 0 ] || die "A: send D hello failed 4 times: $out"
log "A: send D hello: $out"
ctl wait 20 's["delivered"] >= 1' "$T/D.sock" ||
  die "D did not deliver A's message within 20 s"
[ "$(from_a)" -eq 1 ] || die "D's event log has $(from_a) deliveries from A"
if grep '"resolved"' "$T/A.ev" | grep '"peer":"D"' | grep -q '"ok":true' ; then
  log "A looked D up (the send was held until the lookup ended)"
else
  log "A knew D's record already (no lookup was needed)"
fi

# 2. A send to an ID no node has: the lookup's answer, in bounded time.
rc=0
out=$(timeout 20 "$BIN" send --control "$T/A.sock" nosuchnode hi 2>&1) ||
  rc=$?
[ "$rc" -eq 1 ] || die "send to nosuchnode: exit $rc, not 1: $out"
case $out in
*"no node with ID nosuchnode is known"*) ;;
*) die "send to nosuchnode: not the not-known error: $out" ;;
esac
grep '"resolved"' "$T/A.ev" | grep '"peer":"nosuchnode"' |
  grep -q '"ok":false' ||
  die "A's event log has no failed lookup of nosuchnode"
log "A: send nosuchnode: $out"

# 3. Pipelined behind a held send (a lookup of another unknown ID, held
# until it fails), a send to D and a status: answered in order; and a
# client that leaves while its send is held.
timeout 60 python3 - "$T/A.sock" <<'PY' || die "pipelined answers (above)"
import json, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(path)
reqs = [{"cmd": "send", "to": "ghost", "text": "lost"},
        {"cmd": "send", "to": "D", "text": "after the held one"},
        {"cmd": "status"},
        {"cmd": "send", "to": "ghost", "text": "negative cache"}]
s.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
buf = b""
while buf.count(b"\n") < len(reqs):
    chunk = s.recv(65536)
    assert chunk, "connection closed after %r" % buf
    buf += chunk
ans = [json.loads(l) for l in buf.splitlines()]
print("pipelined:", ans[0], ans[1], {"ok": ans[2]["ok"], "id": ans[2]["id"]},
      ans[3])
assert not ans[0]["ok"] and ans[0]["error"] == "no node with ID ghost is known", ans[0]
assert ans[1]["ok"] and ans[1]["msg"].startswith("A~"), ans[1]
assert ans[2]["ok"] and ans[2]["id"] == "A" and "peers_up" in ans[2], ans[2]
assert not ans[3]["ok"] and "no node with ID ghost is known" in ans[3]["error"], ans[3]
s.close()
# A client gone while its send is held.
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(path)
s.sendall(b'{"cmd":"send","to":"phantom","text":"x"}\n{"cmd":"status"}\n')
s.close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(path)
s.sendall(b'{"cmd":"status"}\n')
line = s.makefile().readline()
assert json.loads(line)["ok"], line
PY
ctl wait 20 's["delivered"] >= 2' "$T/D.sock" ||
  die "D did not deliver the message sent behind the held one"
[ "$(from_a)" -eq 2 ] ||
  die "D's event log has $(from_a) deliveries from A, not 2"

node_stop D "$T/D.sock"
node_stop C "$T/C.sock"
node_stop A "$T/A.sock"
node_stop B "$T/B.sock"
sys_pass
