#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small client of a p2pclock node's control socket (docs/CONTROL.md),
Python standard library only.

  ctl_client.py SOCK send DEST TEXT     send TEXT to node DEST
  ctl_client.py SOCK send-bytes DEST HEX  send raw bytes (as "b64")
  ctl_client.py SOCK recv [--count N]   print deliveries as they come:
                                        "FROM MSGID PAYLOAD" a line (a
                                        payload that is not text as
                                        "hex:..."), until Ctrl-C, the
                                        node stopping, or N of them
  ctl_client.py SOCK watch [EV,...]     print events as JSON lines

Exit status: 0 ok, 1 the node refused, cut us off or is not running, 2
usage.
"""
import base64
import json
import socket
import sys


class NodeError(Exception):
    """The node refused a request or ended the stream with an error."""


class Control:
    """One connection to a node's control socket: requests and answers
    are JSON objects, one a line."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None  # the node closed the connection
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, **req):
        """One request; returns the answer, raises NodeError if refused."""
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        ans = self._line()
        if ans is None:
            raise NodeError("the node closed the connection")
        if not ans.get("ok"):
            raise NodeError(ans.get("error", "refused"))
        return ans

    def send(self, dest, payload):
        """Sends bytes or text to node dest; returns the message id."""
        if isinstance(payload, str):
            return self.call(cmd="send", to=dest, text=payload)["msg"]
        return self.call(cmd="send", to=dest,
                         b64=base64.b64encode(payload).decode())["msg"]

    def subscribe(self, events=None):
        """Yields the stream's events (dicts) until the node ends it. A
        stream has no timeout: it waits as long as nothing happens."""
        req = {"cmd": "subscribe"}
        if events:
            req["events"] = events
        self.call(**req)
        self.sock.settimeout(None)
        while True:
            ev = self._line()
            if ev is None:
                raise NodeError("the node closed the stream without a word")
            if "error" in ev:
                raise NodeError(ev["error"])  # e.g. "subscriber too slow"
            if "end" in ev:
                return  # the node stopped
            yield ev


def payload(ev):
    """A deliver event's payload, as bytes (None if it was too long to
    stream)."""
    if "text" in ev:
        return ev["text"].encode()
    if "b64" in ev:
        return base64.b64decode(ev["b64"], validate=True)
    return None


def show(ev):
    data = payload(ev)
    if data is None:
        text = "(too long to stream)"
    else:
        try:
            text = data.decode()
            if not text.isprintable():
                raise ValueError
        except ValueError:
            text = "hex:" + data.hex()
    sender = ev["msg"].split("~", 1)[0]
    print(sender, ev["msg"], text, flush=True)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, what, args = argv[1], argv[2], argv[3:]
    try:
        c = Control(path)
    except OSError as e:
        print("ctl_client: cannot reach the node at %s: %s (is it running?)"
              % (path, e), file=sys.stderr)
        return 1
    try:
        if what == "send" and len(args) == 2:
            print(c.send(args[0], args[1]))
        elif what == "send-bytes" and len(args) == 2:
            print(c.send(args[0], bytes.fromhex(args[1])))
        elif what == "recv" and (not args or (len(args) == 2 and
                                              args[0] == "--count")):
            left = int(args[1]) if args else -1
            if left == 0:
                return 0
            for ev in c.subscribe():
                show(ev)
                left -= 1
                if left == 0:
                    break
        elif what == "watch" and len(args) <= 1:
            for ev in c.subscribe(args[0].split(",") if args else ["*"]):
                print(json.dumps(ev), flush=True)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except NodeError as e:
        print("ctl_client: " + str(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
