#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A misbehaving peer for bad_input.sh, standard library only: connects to
a node's TCP port, sends one kind of bad input (frames per docs/PROTOCOL.md)
and reports how the node answered. Every read has a deadline.

  badpeer.py garbage HOST PORT     bytes that are no HELLO: a frame of an
                                   unknown type, then an HTTP request
  badpeer.py toobig HOST PORT      a length prefix of 0x7fffffff
  badpeer.py version HOST PORT V   a well-formed HELLO naming version V; the
                                   answer must hold an ERROR frame whose
                                   reason says "unsupported protocol
                                   version V"
  badpeer.py halfopen HOST PORT S  connects and sends nothing; the node must
                                   close the connection within S seconds
  badpeer.py flood HOST PORT N     N garbage connections, one after the
                                   other, as fast as the node closes them;
                                   each must be closed within 5 s

Each prints what the node sent back (frame types, the ERROR's code and
reason) and whether and when it closed the connection. Exit status: 0 as
expected, 1 not (the node kept the connection open past the deadline, or
no such ERROR), 2 usage.
"""
import socket
import struct
import sys
import time

FRAME_NAMES = {1: "HELLO", 2: "ERROR", 3: "DATA", 4: "ACK", 5: "PEERS",
               6: "PING", 7: "PONG"}


def frame(ftype, body):
    return struct.pack(">IB", len(body) + 1, ftype) + body


def hello(version, node_id=b"intruder", incarnation=1):
    body = b"P2PC" + struct.pack(">HH", version, 0)
    body += bytes([len(node_id)]) + node_id
    body += struct.pack(">Q", incarnation)
    body += b"\x00"  # addr family 0: accepts no connections
    return frame(1, body)


def read_until_closed(sock, secs):
    """All bytes until the node closes; (bytes, seconds, closed?)."""
    data = b""
    t0 = time.monotonic()
    deadline = t0 + secs
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, time.monotonic() - t0, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, time.monotonic() - t0, False
        except ConnectionResetError:
            return data, time.monotonic() - t0, True
        if not chunk:
            return data, time.monotonic() - t0, True
        data += chunk


def varint(b, off):
    v = shift = 0
    while True:
        if off >= len(b) or shift > 63:
            raise ValueError("truncated varint")
        c = b[off]
        off += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, off


def frames(data):
    """(type, body) of each whole frame in data."""
    out = []
    off = 0
    while off + 4 <= len(data):
        (length,) = struct.unpack_from(">I", data, off)
        if length < 1 or off + 4 + length > len(data):
            break
        out.append((data[off + 4], data[off + 5:off + 4 + length]))
        off += 4 + length
    return out


def describe(data):
    parts = []
    errors = []
    for ftype, body in frames(data):
        name = FRAME_NAMES.get(ftype, "type%d" % ftype)
        if ftype == 2 and len(body) >= 2:
            (code,) = struct.unpack_from(">H", body, 0)
            try:
                n, off = varint(body, 2)
                reason = body[off:off + n].decode("utf-8", "replace")
            except ValueError:
                reason = "?"
            errors.append((code, reason))
            name += "(%d, %r)" % (code, reason)
        parts.append(name)
    return parts, errors


def flood(host, port, n):
    t0 = time.monotonic()
    for i in range(n):
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(frame(0x99, b"\xde\xad\xbe\xef" * 4))
        _, _, closed = read_until_closed(sock, 5.0)
        sock.close()
        if not closed:
            print("flood: connection %d STILL OPEN after 5 s" % (i + 1))
            sys.exit(1)
    print("flood: %d garbage connections, each closed, in %.2fs"
          % (n, time.monotonic() - t0))
    sys.exit(0)


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "flood" and len(sys.argv) == 5:
        flood(host, port, int(sys.argv[4]))
        return
    sock = socket.create_connection((host, port), timeout=5)
    want_error = None
    wait = 6.0
    if kind == "garbage":
        sock.sendall(frame(0x99, b"\xde\xad\xbe\xef" * 4) +
                     b"GET / HTTP/1.0\r\n\r\n")
    elif kind == "toobig":
        sock.sendall(b"\x7f\xff\xff\xff\x01")
    elif kind == "version" and len(sys.argv) == 5:
        v = int(sys.argv[4])
        sock.sendall(hello(v))
        want_error = "unsupported protocol version %d" % v
    elif kind == "halfopen" and len(sys.argv) == 5:
        wait = float(sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    data, secs, closed = read_until_closed(sock, wait)
    sock.close()
    parts, errors = describe(data)
    print("%s: node sent %d bytes [%s]; %s after %.2fs"
          % (kind, len(data), " ".join(parts) or "nothing",
             "closed" if closed else "STILL OPEN", secs))
    ok = closed
    if want_error is not None and not any(
            want_error in reason for _, reason in errors):
        print("%s: no ERROR frame with %r" % (kind, want_error))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
