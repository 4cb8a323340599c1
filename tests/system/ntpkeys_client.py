#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A standard NTP client with RFC 8573 symmetric keys, for ntp_keys.sh.

  ntpkeys_client.py PORT SOCK KEYFILE

Sends the node at 127.0.0.1:PORT hand-made NTPv4 requests: with a good
AES-CMAC under each key of KEYFILE (each answered with 48 + 20 bytes whose
MAC, under the same key ID, verifies over the answer, echoing our transmit
timestamp), with a digest one bit wrong, under an unknown key ID, with a
SHA1-sized MAC (24 bytes) and with a 4-byte crypto-NAK (none answered), and
a bare 48-byte request (answered with 48 bytes, no MAC). Then the node's
tracking counters (control socket SOCK) must have grown by exactly that:
answered_auth, rx_bad_mac, rx_unverified, answered_std. AES-CMAC is
python3-cryptography's (the standard library has no AES); the node's is
nettle's: two implementations that must agree.
"""
import os
import socket
import struct
import sys

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctl  # noqa: E402


def die(msg):
    print("ntpkeys_client: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def cmac(key, data):
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def request(xmt):
    # LI 0, version 4, mode 3; poll 6; the transmit timestamp our cookie
    return struct.pack("!BBbb11I", 0x23, 0, 6, -20, *([0] * 9), xmt >> 32,
                       xmt & 0xFFFFFFFF)


def counters(sock):
    t = ctl.call_once(sock, {"cmd": "tracking"})
    if not t.get("ok"):
        die("tracking refused: %s" % t)
    return t["counters"]


def main():
    port, sock_path, keyfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    keys = {}
    for line in open(keyfile):
        w = line.split("#")[0].split()
        if w:
            keys[int(w[0])] = bytes.fromhex(w[2][4:])
    before = counters(sock_path)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)

    def ask(pkt):
        s.sendto(pkt, ("127.0.0.1", port))
        try:
            return s.recv(1024)
        except socket.timeout:
            return None

    def silent(what, pkt):
        r = ask(pkt)
        if r is not None:
            die("%s answered (%d bytes)" % (what, len(r)))
        print("ntpkeys_client: %s: no answer" % what)

    xmt = 0x1234567800000000
    for kid, key in sorted(keys.items()):
        xmt += 1
        rq = request(xmt)
        r = ask(rq + struct.pack("!I", kid) + cmac(key, rq))
        if r is None:
            die("no answer to a request signed with key %d" % kid)
        if len(r) != 68:
            die("answer of %d bytes to key %d, want 48 + 20" % (len(r), kid))
        mode, org = r[0] & 7, struct.unpack("!Q", r[24:32])[0]
        if mode != 4 or org != xmt:
            die("answer to key %d: mode %d, origin %x" % (kid, mode, org))
        rid = struct.unpack("!I", r[48:52])[0]
        if rid != kid:
            die("answer to key %d signed with key ID %d" % (kid, rid))
        if cmac(key, r[:48]) != r[52:68]:
            die("the answer's MAC under key %d does not verify" % kid)
        print("ntpkeys_client: key %d (AES-%d): answered, MAC verifies, "
              "stratum %d" % (kid, 8 * len(key), r[1]))
    kid, key = sorted(keys.items())[0]
    rq = request(xmt + 100)
    mac = bytearray(cmac(key, rq))
    mac[15] ^= 1
    silent("a digest one bit wrong", rq + struct.pack("!I", kid) + bytes(mac))
    unknown = max(keys) + 1
    silent("unknown key ID %d" % unknown,
           rq + struct.pack("!I", unknown) + cmac(key, rq))
    silent("a SHA1-sized MAC", rq + struct.pack("!I", kid) + bytes(20))
    silent("a crypto-NAK", rq + bytes(4))
    r = ask(request(xmt + 200))
    if r is None or len(r) != 48:
        die("a bare request got %s" % (len(r) if r else "no answer"))
    print("ntpkeys_client: a bare request: answered, 48 bytes")
    after = counters(sock_path)
    want = {"answered_auth": len(keys), "rx_bad_mac": 2, "rx_unverified": 2,
            "answered_std": len(keys) + 1, "rate_limited": 0}
    for k, v in want.items():
        got = after[k] - before[k]
        if got != v:
            die("counter %s grew by %d, want %d" % (k, got, v))
    print("ntpkeys_client: counters OK: %s" % want)


if __name__ == "__main__":
    main()
