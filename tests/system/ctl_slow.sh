#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Back-pressure on the control socket: a subscriber that never reads must
# be cut off, and the node's memory must not grow with what it was not
# sent. One node; a client subscribes and reads nothing while another
# broadcasts 48 KiB messages (each delivered to the node itself, so each
# one a 48 KiB line for the subscriber) — 160 MiB in all, far past the
# 4 MiB a connection may hold. The node must report the subscriber gone
# (status "subscribers" 0) and its RSS must stay within 64 MiB of where
# it started; the subscriber, reading at last, must find the end of the
# stream after what the kernel held. Bounded loops only; no timing.
#   ctl_slow.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init ctl_slow "$@"

read -r pa <<<"$(free_ports 1)"
# A sanitizer build's quarantine would hold freed lines (256 MiB by
# default) and blur what is measured: keep it small for this node.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" \
  node_start A --id A --listen "127.0.0.1:$pa" --control "$T/A.sock" \
  --no-time-sync
wait_up 10 "$T/A.sock"

timeout 240 python3 - "$T/A.sock" "${PID[A]}" <<'PY' || die "see above"
import json, socket, sys, time
path, pid = sys.argv[1], sys.argv[2]

def rss_kib():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS for the node")

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s

ctl = connect()
buf = b""
def call(req):
    global buf
    ctl.sendall(json.dumps(req).encode() + b"\n")
    while b"\n" not in buf:
        chunk = ctl.recv(65536)
        assert chunk, "the node closed the control connection"
        buf += chunk
    line, buf = buf.split(b"\n", 1)
    return json.loads(line)

slow = connect()
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow.sendall(b'{"cmd":"subscribe"}\n')
for _ in range(200):  # the node reads the two connections in its order
    if call({"cmd": "status"})["subscribers"] == 1:
        break
    time.sleep(0.05)
else:
    raise SystemExit("the subscriber did not subscribe within 10 s")
base = rss_kib()
text = "x" * (48 * 1024)
total = 160 * 1024 * 1024
sent = cut_at = 0
peak = base
for i in range(total // len(text)):
    a = call({"cmd": "broadcast", "text": text, "scope": "neighbours"})
    assert a["ok"], a
    sent += len(text)
    if i % 50 == 0:
        peak = max(peak, rss_kib())
        if not cut_at and call({"cmd": "status"})["subscribers"] == 0:
            cut_at = sent
peak = max(peak, rss_kib())
st = call({"cmd": "status"})
print("ctl_slow: %d MiB broadcast; cut off after %.1f MiB; RSS %d -> peak "
      "%d KiB; delivered %d" % (sent >> 20, cut_at / 2**20, base, peak,
                                st["delivered"]))
assert cut_at, "the subscriber was never cut off"
assert st["subscribers"] == 0, st
assert st["delivered"] == total // len(text), st
assert peak - base < 64 * 1024, "the node's RSS grew by %d KiB" % (peak - base)
# Reading at last: what the kernel held, then the end (bounded reads).
slow.settimeout(10)
got = b""
for _ in range(100000):
    chunk = slow.recv(65536)
    if not chunk:
        break
    got += chunk
else:
    raise SystemExit("the stream never ended")
lines = got.split(b"\n")
first = json.loads(lines[0])
assert first == {"ok": True, "events": ["deliver"]}, first
assert len(got) < 16 * 1024 * 1024, "the node sent %d bytes" % len(got)
print("ctl_slow: the subscriber read %d bytes, then the end" % len(got))
PY
node_stop A "$T/A.sock"
sys_pass
