#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An attacker on the LAN for the security tests (issue 13), standard
library only: it speaks the node's frames (docs/PROTOCOL.md) as a peer
would, and reports what the node did. Every wait is bounded.

  intruder.py reflect HOST PORT FRAMES [RECORDS [VICTIMS]]
      Links to the node at HOST:PORT as a peer "mallory" and, every 200 ms
      sends it FRAMES PEERS frames, 200 ms apart, of RECORDS (default 32)
      records of made-up nodes at the addresses of VICTIMS (default 1)
      ports of 127.0.0.1 this script listens on, in turn. Prints how many
      connections the node opened to them, as JSON:
        {"frames": F, "records": R, "victim_connections": C, "linked": true}
      A node that dials whatever it hears is a reflector: C grows with F.

  intruder.py takeover HOST PORT VICTIM_ID [HOLD]
      Identity takeover: links as a stranger, reads the node's PEERS for
      VICTIM_ID's incarnation, then links again as VICTIM_ID with that
      incarnation + 1 and holds the link up to HOLD s (default 3, answering
      the node's probes). Prints
        {"linked": true, "victim_incarnation": I, "claimed": C,
         "answer": "HELLO" or "ERROR code: reason" or "closed",
         "held_s": S, "closed_by_node": B, "data_frames": D}
      C is true if the node took the claim (answered HELLO).

  intruder.py evict HOST PORT N [JOINS]
      Eviction: up to N links with fresh IDs (until the node says its table
      is full); then it ends the session of each of them with a LEAVE that
      names a last message it never sends, so that the node, waiting for
      it (up to 30 s), never picks these links to give up; then JOINS
      (default 10) links with fresh IDs and the JOIN flag, one at a time,
      300 ms apart, each parked the same way once up. For each JOIN a full
      node gives up a link with LEAVE: with ours parked, a real peer's.
      Prints
        {"linked": true, "fresh": F, "full": B, "joins": J,
         "joins_refused": R, "leaves_to_us": L, "taken": J - L,
         "real_peers": [...]}
      (leaves_to_us: links of ours the node gave up before they were
      parked; real_peers: the others its first PEERS named). A real peer
      the node let go may link again, and be given up again.

  intruder.py announce HOST PORT [GO_FILE]
      Time: links as a stranger "mallory" (with a listen address and a time
      port, so the node takes it as a time source), reads the node's
      ANNOUNCE for the reference R, then every 500 ms announces itself as
      the reference (priority 0, class 0, hops 0, active, synced) until
      GO_FILE exists (at most 20 s; without GO_FILE, 4 s), then sends one
      ANNOUNCE naming R with ref_seq 2^62 and holds the link 1 s more.
      Prints {"linked": true, "still_linked": B, "claimed_ref": ID,
      "ref": R, "ref_seq": N (R's, as the node announced it), "claims": C}.

  intruder.py leave HOST PORT [SECS]
      Redirect: links as a stranger and ends its session at once with a
      LEAVE that names the node to link to instead: "lure<pid>" at a port
      of 127.0.0.1 this script listens on. Prints, once the node has
      dialed it or after SECS (default 5) s,
        {"linked": true, "closed_with": "ERROR 6: ..." or null,
         "lure_connections": C}
      A node that links wherever a LEAVE sends it dials the lure: C is 1.

Every mode links first; against a node that will not link (a closed one:
docs/SECURITY.md) it prints {"linked": false, ...} and exits 1.

Exit status: 0 ran (the verdict is the caller's), 1 the node would not
link, 2 usage.
"""
import json
import os
import select
import socket
import struct
import sys
import time

MAGIC = 0x50325043
VERSION = 3
HELLO, ERROR, DATA, PEERS, PING, PONG, ANNOUNCE, LEAVE = 1, 2, 3, 5, 6, 7, 8, 9
JOIN = 1  # HELLO flag
SYNCED, REF_ACTIVE = 1, 2  # ANNOUNCE flags
E_FULL = 5  # ERROR code: peer table full


def frame(ftype, body):
    return struct.pack(">IB", len(body) + 1, ftype) + body


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def node_id(s):
    b = s.encode()
    return bytes([len(b)]) + b


def addr4(host, port):
    return b"\x04" + socket.inet_aton(host) + struct.pack(">H", port)


def record(rid, inc, host, port):
    # id, be64 incarnation, addr, be16 time_port, varint sig_len (0)
    return node_id(rid) + struct.pack(">Q", inc) + addr4(host, port) + \
        struct.pack(">H", 0) + varint(0)


def hello(rid, inc, flags=0, listen=None):
    addr = addr4(*listen) if listen else b"\x00"
    return frame(HELLO, struct.pack(">IHH", MAGIC, VERSION, flags) +
                 node_id(rid) + struct.pack(">Q", inc) + addr)


def read_frames(sock, buf):
    """Reads what is there (non-blocking); returns (types, rest, closed)."""
    closed = False
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            buf += chunk
    except (BlockingIOError, InterruptedError):
        pass
    except ConnectionError:
        closed = True
    types = []
    while len(buf) >= 4:
        (length,) = struct.unpack_from(">I", buf, 0)
        if len(buf) < 4 + length:
            break
        types.append(buf[4])
        buf = buf[4 + length:]
    return types, buf, closed


def reflect(host, port, nframes, nrec, nvictims):
    victims = []
    for _ in range(nvictims):
        v = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v.bind(("127.0.0.1", 0))
        v.listen(256)
        v.setblocking(False)
        victims.append(v)
    vports = [v.getsockname()[1] for v in victims]

    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(hello("mallory", int(time.time())))
    sock.setblocking(False)
    buf = b""
    got_hello = False
    deadline = time.monotonic() + 5
    while not got_hello and time.monotonic() < deadline:
        select.select([sock], [], [], 0.1)
        types, buf, closed = read_frames(sock, buf)
        got_hello = HELLO in types
        if closed:
            break
    if not got_hello:
        print(json.dumps({"linked": False}))
        return 1

    conns = frames = records = serial = 0
    # Every frame goes, however slow the machine; the connections they
    # cause are counted until 0.5 s after the last.
    end = None
    next_send = time.monotonic()
    while end is None or time.monotonic() < end:
        now = time.monotonic()
        if end is None and now >= next_send:
            body = varint(nrec)
            for _ in range(nrec):
                body += record("fake%d" % serial, 1, "127.0.0.1",
                               vports[serial % len(vports)])
                serial += 1
            try:
                sock.settimeout(5)
                sock.sendall(frame(PEERS, body))
                sock.setblocking(False)
            except (OSError, ConnectionError):
                break
            frames += 1
            records += nrec
            next_send = now + 0.2
            if frames == nframes:
                end = time.monotonic() + 0.5
        r, _, _ = select.select(victims + [sock], [], [], 0.05)
        for v in victims:
            if v not in r:
                continue
            while True:
                try:
                    c, _ = v.accept()
                except (BlockingIOError, InterruptedError):
                    break
                conns += 1
                c.close()
        if sock in r:
            _, buf, closed = read_frames(sock, buf)
            buf = b""
            if closed:
                break
    sock.close()
    for v in victims:
        v.close()
    print(json.dumps({"linked": True, "frames": frames, "records": records,
                      "victim_connections": conns}))
    return 0


class Reader:
    """Reads the fields of a frame's body; IndexError or struct.error if
    it is short (the node is ours to test, not to trust)."""

    def __init__(self, b):
        self.b, self.off = b, 0

    def take(self, n):
        if self.off + n > len(self.b):
            raise IndexError("short frame")
        v = self.b[self.off:self.off + n]
        self.off += n
        return v

    def u8(self):
        return self.take(1)[0]

    def be16(self):
        return struct.unpack(">H", self.take(2))[0]

    def be64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def varint(self):
        v = shift = 0
        while True:
            b = self.u8()
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    def ident(self):
        return self.take(self.u8()).decode()

    def addr(self):
        fam = self.u8()
        if fam == 4:
            self.take(6)
        elif fam == 6:
            self.take(18)

    def record(self):
        rid, inc = self.ident(), self.be64()
        self.addr()
        self.be16()
        self.take(self.varint())
        return rid, inc


def parse_peers(body):
    r = Reader(body)
    return [r.record() for _ in range(r.varint())]


def parse_announce(body):
    r = Reader(body)
    r.be16()  # time_port
    r.u8()  # mode
    r.u8()  # flags
    ref = r.ident()  # length 0: none
    prio, cls = r.u8(), r.u8()
    return {"ref": ref, "priority": prio, "class": cls, "seq": r.varint()}


def announce(ref, prio, cls, seq, hops, time_port):
    return frame(ANNOUNCE, struct.pack(">HBB", time_port, 0,
                                       SYNCED | REF_ACTIVE) +
                 node_id(ref) + bytes([prio, cls]) + varint(seq) +
                 bytes([hops, 0, 0]))  # tier 0, no hints


class Link:
    """One link to the node, as a peer: sends HELLO at once, then answers
    the node's probes (PING) so that it is not declared down, and keeps
    every other frame for the caller."""

    def __init__(self, host, port, rid, inc, flags=0, listen=None):
        self.rid = rid
        self.frames = []
        self.buf = b""
        self.up = self.closed = False
        self.error = None
        self.t0 = time.monotonic()
        self.t_closed = None
        try:
            self.sock = socket.create_connection((host, port), timeout=5)
            self.sock.sendall(hello(rid, inc, flags, listen))
            self.sock.setblocking(False)
        except OSError:
            self.sock = None
            self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            self.t_closed = time.monotonic()
            if self.sock:
                self.sock.close()

    def send(self, data):
        if self.closed:
            return False
        try:
            self.sock.settimeout(5)
            self.sock.sendall(data)
            self.sock.setblocking(False)
            return True
        except OSError:
            self.close()
            return False

    def poll(self):
        if self.closed:
            return
        gone = False
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    gone = True
                    break
                self.buf += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            gone = True
        while len(self.buf) >= 4:
            (length,) = struct.unpack_from(">I", self.buf, 0)
            if len(self.buf) < 4 + length:
                break
            ftype, body = self.buf[4], self.buf[5:4 + length]
            self.buf = self.buf[4 + length:]
            if ftype == HELLO:
                self.up = True
            elif ftype == ERROR:
                r = Reader(body)
                try:
                    code = r.be16()
                    self.error = (code, r.take(r.varint()).decode(
                        errors="replace"))
                except (IndexError, struct.error):
                    self.error = (0, "?")
            elif ftype == PING:
                self.send(frame(PONG, body))
            self.frames.append((ftype, body))
        if gone:
            self.close()

    def answer(self):
        if self.up:
            return "HELLO"
        if self.error:
            return "ERROR %d: %s" % self.error
        return "closed" if self.closed else "nothing"


def pump(links, secs, until=None):
    """Reads every link for at most secs seconds, or until until() holds;
    pings the links that are up every 500 ms (a sign of life)."""
    end = time.monotonic() + secs
    next_ping = 0.0
    while True:
        for lk in links:
            lk.poll()
        if until and until():
            return True
        now = time.monotonic()
        if now >= end:
            return False
        if now >= next_ping:
            for lk in links:
                if lk.up and not lk.closed:
                    lk.send(frame(PING, struct.pack(">Q", int(now * 1e6))))
            next_ping = now + 0.5
        socks = [lk.sock for lk in links if not lk.closed]
        if not socks:
            time.sleep(min(0.05, max(0.0, end - now)))
            continue
        select.select(socks, [], [], min(0.05, max(0.0, end - now)))


def stranger(host, port, listen=None):
    """A link as a newcomer nobody knows; None if the node would not take
    it (its answer printed as the report)."""
    lk = Link(host, port, "mallory%d" % os.getpid(), time.time_ns(),
              listen=listen)
    pump([lk], 5, lambda: lk.up or lk.closed)
    if not lk.up:
        print(json.dumps({"linked": False, "answer": lk.answer()}))
        lk.close()
        return None
    return lk


def frames_of(lk, ftype):
    got = [b for t, b in lk.frames if t == ftype]
    lk.frames = [(t, b) for t, b in lk.frames if t != ftype]
    return got


def takeover(host, port, victim, hold):
    lk = stranger(host, port)
    if not lk:
        return 1
    inc = None

    def learned():
        nonlocal inc
        for body in frames_of(lk, PEERS):
            for rid, rinc in parse_peers(body):
                if rid == victim:
                    inc = rinc
        return inc is not None

    pump([lk], 5, learned)
    lk.close()
    if inc is None:
        print(json.dumps({"linked": True, "victim_incarnation": None,
                          "claimed": False}))
        return 0
    imp = Link(host, port, victim, inc + 1)
    pump([imp], 5, lambda: imp.up or imp.closed)
    answer = imp.answer()
    if imp.up:
        pump([imp], hold, lambda: imp.closed)
    data = len(frames_of(imp, DATA))
    closed_by_node = imp.closed
    held = (imp.t_closed if imp.closed else time.monotonic()) - imp.t0
    imp.close()
    print(json.dumps({"linked": True, "victim_incarnation": inc,
                      "claimed": answer == "HELLO", "answer": answer,
                      "held_s": round(held, 3),
                      "closed_by_node": closed_by_node,
                      "data_frames": data}))
    return 0


def evict(host, port, nfresh, njoins):
    first = stranger(host, port)
    if not first:
        return 1
    links = [first]
    real = set()
    me = None

    def learned():
        nonlocal me
        for body in frames_of(first, PEERS):
            recs = parse_peers(body)
            if recs and me is None:
                me = recs[0][0]  # the node's own record comes first
            real.update(r for r, _ in recs[1:])
        return me is not None

    pump(links, 5, learned)
    full = False
    serial = 0
    # Fresh IDs until the table is full.
    for _ in range(nfresh - 1):
        serial += 1
        lk = Link(host, port, "mallory%d-f%d" % (os.getpid(), serial),
                  time.time_ns())
        pump(links + [lk], 5, lambda: lk.up or lk.closed)
        if not lk.up:
            full = lk.error is not None and lk.error[0] == E_FULL
            lk.close()
            if full:
                break
            continue
        links.append(lk)
    real -= {me} | {lk.rid for lk in links}
    leaves = 0  # LEAVEs the node sent to give up a link of ours
    parked = set()

    def park():
        """Ends the session of each of our links by LEAVE, naming a last
        message that never comes: the node answers, waits for it (30 s)
        and meanwhile never picks that link to give up."""
        nonlocal leaves
        for lk in links:
            got = frames_of(lk, LEAVE)
            if lk.rid in parked:
                continue
            leaves += len(got)
            if lk.up and not lk.closed:
                lk.send(frame(LEAVE, varint(1 << 40) + varint(0)))
                parked.add(lk.rid)

    pump(links, 0.3)
    park()
    # Then JOINs: the node must give up a link for each, and ours are all
    # leaving already.
    joins = refused = 0
    for _ in range(njoins):
        serial += 1
        lk = Link(host, port, "mallory%d-j%d" % (os.getpid(), serial),
                  time.time_ns(), flags=JOIN)
        pump(links + [lk], 5, lambda: lk.up or lk.closed)
        if lk.up:
            joins += 1
            links.append(lk)
        else:
            refused += 1
            lk.close()
        park()
        pump(links, 0.3)
        park()
    for lk in links:
        lk.close()
    print(json.dumps({"linked": True, "fresh": len(links) - 1 - joins,
                      "full": full, "joins": joins, "joins_refused": refused,
                      "leaves_to_us": leaves, "taken": joins - leaves,
                      "real_peers": sorted(real)}))
    return 0


def announce_attack(host, port, go_file):
    ts = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ts.bind(("127.0.0.1", 0))  # a time port that never answers
    tport = ts.getsockname()[1]
    lk = stranger(host, port, listen=("127.0.0.1", tport))
    if not lk:
        ts.close()
        return 1
    seen = None

    def heard():
        nonlocal seen
        for body in frames_of(lk, ANNOUNCE):
            a = parse_announce(body)
            if a["ref"]:
                seen = a
        return seen is not None

    pump([lk], 5, heard)
    claims = 0
    end = time.monotonic() + (20 if go_file else 4)
    while time.monotonic() < end and not lk.closed:
        if go_file and os.path.exists(go_file):
            break
        claims += 1
        lk.send(announce("mallory%d" % os.getpid(), 0, 0, claims, 0, tport))
        pump([lk], 0.5)
    if seen:
        lk.send(announce(seen["ref"], seen["priority"], seen["class"],
                         1 << 62, 1, tport))
    pump([lk], 1)
    linked = not lk.closed
    lk.close()
    ts.close()
    print(json.dumps({"linked": True, "still_linked": linked,
                      "claimed_ref": "mallory%d" % os.getpid(),
                      "ref": seen and seen["ref"],
                      "ref_seq": seen and seen["seq"], "claims": claims}))
    return 0


def leave_attack(host, port, secs):
    lure = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lure.bind(("127.0.0.1", 0))
    lure.listen(16)
    lure.setblocking(False)
    lport = lure.getsockname()[1]
    lk = stranger(host, port)
    if not lk:
        lure.close()
        return 1
    pump([lk], 0.3)
    lk.send(frame(LEAVE, varint(0) + varint(1) +
                  record("lure%d" % os.getpid(), 1, "127.0.0.1", lport)))
    conns = 0
    end = time.monotonic() + secs
    while time.monotonic() < end and not conns:
        pump([lk], 0.05)
        try:
            c, _ = lure.accept()
            conns += 1
            c.close()
        except (BlockingIOError, InterruptedError):
            pass
    answer = "ERROR %d: %s" % lk.error if lk.error else None
    lk.close()
    lure.close()
    print(json.dumps({"linked": True, "closed_with": answer,
                      "lure_connections": conns}))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) in (4, 5) and a[0] == "takeover":
        sys.exit(takeover(a[1], int(a[2]), a[3],
                          float(a[4]) if len(a) == 5 else 3.0))
    if len(a) in (4, 5) and a[0] == "evict":
        sys.exit(evict(a[1], int(a[2]), int(a[3]),
                       int(a[4]) if len(a) == 5 else 10))
    if len(a) in (3, 4) and a[0] == "announce":
        sys.exit(announce_attack(a[1], int(a[2]),
                                 a[3] if len(a) == 4 else None))
    if 4 <= len(a) <= 6 and a[0] == "reflect":
        sys.exit(reflect(a[1], int(a[2]), int(a[3]),
                         int(a[4]) if len(a) >= 5 else 32,
                         int(a[5]) if len(a) == 6 else 1))
    if len(a) in (3, 4) and a[0] == "leave":
        sys.exit(leave_attack(a[1], int(a[2]),
                              float(a[3]) if len(a) == 4 else 5.0))
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
