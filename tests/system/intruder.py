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

Exit status: 0 ran (the verdict is the caller's), 1 the node would not
link, 2 usage.
"""
import json
import select
import socket
import struct
import sys
import time

MAGIC = 0x50325043
VERSION = 3
HELLO, PEERS = 1, 5


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


def hello(rid, inc):
    return frame(HELLO, struct.pack(">IHH", MAGIC, VERSION, 0) + node_id(rid) +
                 struct.pack(">Q", inc) + b"\x00")


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


def main():
    a = sys.argv[1:]
    if 4 <= len(a) <= 6 and a[0] == "reflect":
        sys.exit(reflect(a[1], int(a[2]), int(a[3]),
                         int(a[4]) if len(a) >= 5 else 32,
                         int(a[5]) if len(a) == 6 else 1))
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
