#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Control-socket helper of the system tests (docs/CONTROL.md), standard
library only. Every wait has a deadline; every socket operation a timeout.

  ctl.py ports N                     N free 127.0.0.1 ports (TCP and UDP),
                                     below the ephemeral range, never the
                                     same for two tests running at once
  ctl.py call SOCK JSON              one request; prints the answer; exit 1
                                     unless it is {"ok":true,...}
  ctl.py wait SECS EXPR SOCK...      polls until EXPR holds at every node:
                                     s = its status, p = its peers list
  ctl.py quiet SECS SOCK...          waits until no node has a message
                                     buffered or unacknowledged and the
                                     delivered counts stay put
  ctl.py simulate SECS COUNT SOCK    makes the node send COUNT messages,
                                     asking again after back-pressure
  ctl.py traffic SECS PERIOD N SOCK...  every PERIOD s asks each node to
                                     simulate N messages, for SECS s; nodes
                                     that are down are skipped (counted)
  ctl.py rewrite SRC DST MAP EVENTS CONTROL  a config file with ports mapped
                                     (MAP "9000=41234,9001=..."), "events"
                                     and "control" set

Exit status: 0 ok, 1 failed or timed out (with the reason on stderr), 2
usage.
"""
import json
import os
import socket
import sys
import time

IO_TIMEOUT = 5.0


class Ctl:
    """One connection to a node's control socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect(path)
        self.buf = b""

    def call(self, req):
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("control socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.sock.close()


def call_once(path, req):
    c = Ctl(path)
    try:
        return c.call(req)
    finally:
        c.close()


def die(msg):
    print("ctl.py: " + msg, file=sys.stderr)
    sys.exit(1)


PORTS_LEASE = 600  # seconds a port stays handed out (a test takes <= 120)


def port_free(port):
    """True if 127.0.0.1:port can be bound now, for TCP and for UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def port_range():
    """Ports below the kernel's ephemeral range, which outgoing connections
    and bind(0) draw from: a port picked there cannot be taken meanwhile by
    a connection's local end or another test's bind(0)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        lo = 32768
    if lo < 12000:
        return 50000, 60000  # an unusual kernel setting: take our chances
    return 10000, lo - 1


def cmd_ports(args):
    """N free ports, never the same two in concurrent tests: a lease file
    under a lock remembers what was handed out in the last PORTS_LEASE s."""
    import fcntl
    import random
    import tempfile

    n = int(args[0])
    base = os.path.join(tempfile.gettempdir(), "p2pc-test-ports")
    lo, hi = port_range()
    with open(base + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        now = time.time()
        try:
            with open(base + ".json") as f:
                leases = {int(k): v for k, v in json.load(f).items()
                          if v > now}
        except (OSError, ValueError, AttributeError):
            leases = {}
        ports = []
        for _ in range(20 * n + 1000):
            if len(ports) == n:
                break
            port = random.randint(lo, hi)
            if port in leases or port in ports or not port_free(port):
                continue
            ports.append(port)
        if len(ports) < n:
            die("found only %d free ports in %d..%d" % (len(ports), lo, hi))
        for port in ports:
            leases[port] = now + PORTS_LEASE
        tmp = base + ".json.tmp"
        with open(tmp, "w") as f:
            json.dump({str(k): v for k, v in leases.items()}, f)
        os.replace(tmp, base + ".json")
    print(" ".join(map(str, ports)))


def cmd_call(args):
    path, req = args[0], json.loads(args[1])
    try:
        ans = call_once(path, req)
    except (OSError, ValueError) as e:
        die("%s: %s" % (path, e))
    print(json.dumps(ans))
    if not ans.get("ok"):
        sys.exit(1)


def snapshot(path):
    c = Ctl(path)
    try:
        s = c.call({"cmd": "status"})
        p = c.call({"cmd": "peers"})
    finally:
        c.close()
    if not s.get("ok") or not p.get("ok"):
        raise ValueError("answer not ok: %s %s" % (s, p))
    return s, p["peers"]


def cmd_wait(args):
    secs, expr, paths = float(args[0]), args[1], args[2:]
    code = compile(expr, "EXPR", "eval")
    deadline = time.monotonic() + secs
    last = {}
    while True:
        pending = []
        for path in paths:
            try:
                s, p = snapshot(path)
                last[path] = (s, p)
                if not eval(code, {}, {"s": s, "p": p}):
                    pending.append(path)
            except (OSError, ValueError) as e:
                last[path] = str(e)
                pending.append(path)
        if not pending:
            return
        if time.monotonic() > deadline:
            for path in pending:
                print("ctl.py: %s: still not %s: %s"
                      % (path, expr, json.dumps(last.get(path))),
                      file=sys.stderr)
            die("timed out after %gs waiting for %s" % (secs, expr))
        time.sleep(0.1)


def cmd_quiet(args):
    secs, paths = float(args[0]), args[1:]
    deadline = time.monotonic() + secs
    prev = None
    stable = 0
    while True:
        state, busy = [], []
        for path in paths:
            try:
                s, p = snapshot(path)
            except (OSError, ValueError) as e:
                busy.append("%s: %s" % (path, e))
                state.append(None)
                continue
            state.append(s["delivered"])
            unacked = sum(x.get("unacked", 0) for x in p)
            if s.get("buffered", 0) or unacked:
                busy.append("%s: buffered %s, unacked %s"
                            % (path, s.get("buffered"), unacked))
        if not busy and state == prev:
            stable += 1
            if stable >= 3:
                print(" ".join(map(str, state)))
                return
        else:
            stable = 0
        prev = state
        if time.monotonic() > deadline:
            for b in busy:
                print("ctl.py: " + b, file=sys.stderr)
            die("timed out after %gs waiting for quiet" % secs)
        time.sleep(0.2)


def cmd_simulate(args):
    secs, count, path = float(args[0]), int(args[1]), args[2]
    deadline = time.monotonic() + secs
    sent = 0
    c = Ctl(path)
    while sent < count:
        ans = c.call({"cmd": "simulate", "count": count - sent})
        if ans.get("ok"):
            sent += ans.get("sent", 0)
        if sent < count:
            if time.monotonic() > deadline:
                die("%s: only %d of %d sent in %gs (last answer %s)"
                    % (path, sent, count, secs, json.dumps(ans)))
            time.sleep(0.05)
    c.close()
    print(sent)


def cmd_traffic(args):
    secs, period, n = float(args[0]), float(args[1]), int(args[2])
    paths = args[3:]
    conns = {}
    sent = refused = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for path in paths:
            try:
                if path not in conns:
                    conns[path] = Ctl(path)
                ans = conns[path].call({"cmd": "simulate", "count": n})
                if ans.get("ok"):
                    sent += ans.get("sent", 0)
            except (OSError, ValueError):
                refused += 1
                c = conns.pop(path, None)
                if c:
                    c.close()
        time.sleep(period)
    for c in conns.values():
        c.close()
    print("traffic: %d messages asked for, %d calls to a down node"
          % (sent, refused))


def cmd_rewrite(args):
    src, dst, mapping, events, control = args
    ports = {}
    for kv in mapping.split(","):
        k, v = kv.split("=")
        ports[int(k)] = int(v)
    with open(src) as f:
        cfg = json.load(f)
    cfg["nodePort"] = ports[cfg["nodePort"]]
    for peer in cfg.get("connectTo", []):
        peer["nodePort"] = ports[peer["nodePort"]]
    cfg["events"] = events
    cfg["control"] = control
    tmp = dst + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(tmp, dst)


COMMANDS = {
    "ports": (cmd_ports, 1, 1),
    "call": (cmd_call, 2, 2),
    "wait": (cmd_wait, 3, None),
    "quiet": (cmd_quiet, 2, None),
    "simulate": (cmd_simulate, 3, 3),
    "traffic": (cmd_traffic, 4, None),
    "rewrite": (cmd_rewrite, 5, 5),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    fn, lo, hi = COMMANDS[sys.argv[1]]
    args = sys.argv[2:]
    if len(args) < lo or (hi is not None and len(args) > hi):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    fn(args)


if __name__ == "__main__":
    main()
