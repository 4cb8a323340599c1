#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ctest for tools/ntpprobe, with fake NTP servers on 127.0.0.1 (no real
server needed): the exit codes of usage errors; offset, delay and header
fields of a well-formed reply whose server clock is 0.5 s ahead; and that
garbage, wrong-mode, wrong-origin, duplicate and kiss-o'-death replies, an
unsynchronized server (stratum 0, LI 3, no kiss code: measured), a closed
port and a silent server are all reported, counted and survived.

    test_ntpprobe.py PATH/TO/ntpprobe
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

NTP_EPOCH = 2208988800
SERVER_AHEAD = 0.5  # seconds: the fake server's clock minus real time


def ntp_ts(t):
    secs = int(t)
    frac = int((t - secs) * 2**32)
    return ((secs + NTP_EPOCH) & 0xFFFFFFFF) << 32 | frac


def reply(org, stratum=2, refid=0x0A000001, ahead=SERVER_AHEAD, t2=None,
          li=0):
    now = time.time() + ahead
    t2 = now if t2 is None else t2
    return struct.pack(
        "!BBbbIII4Q",
        (li << 6) | (4 << 3) | 4,  # VN 4, mode 4
        stratum, 4, -20,
        0x00000001,  # root delay 2^-16 s = 15258 ns
        0x00010000,  # root dispersion 1 s
        refid,
        ntp_ts(now), org, ntp_ts(t2), ntp_ts(now))


def serve(sock, behaviour, stop):
    sock.settimeout(0.05)
    rng = random.Random(1)
    while not stop.is_set():
        try:
            req, peer = sock.recvfrom(1024)
        except socket.timeout:
            continue
        if len(req) < 48:
            continue
        xmt = req[40:48]
        org = struct.unpack("!Q", xmt)[0]
        if behaviour == "good":
            t2 = time.time() + SERVER_AHEAD
            sock.sendto(b"", peer)  # bad: empty
            sock.sendto(bytes(rng.randrange(256) for _ in range(10)), peer)
            bad = bytearray(reply(org, t2=t2))
            bad[0] = (4 << 3) | 3  # bad: mode 3
            sock.sendto(bytes(bad), peer)
            sock.sendto(reply(org ^ 1, t2=t2), peer)  # stale: wrong origin
            good = reply(org, t2=t2)
            sock.sendto(good, peer)
            sock.sendto(good, peer)  # duplicate
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(600)))
            sock.sendto(junk, peer)  # random: bad, stale or dup, never a crash
        elif behaviour == "kod":
            sock.sendto(reply(org, stratum=0, refid=0x52415445), peer)  # RATE
        elif behaviour == "unsync":  # what chrony answers before it syncs
            sock.sendto(reply(org, stratum=0, refid=0, li=3), peer)
        # "silent": never answers


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def run(argv, timeout=20):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    probe = sys.argv[1]

    r = run([probe, "--help"])
    if r.returncode != 0 or "usage: ntpprobe" not in r.stdout:
        fail("--help: exit %d, stdout %r" % (r.returncode, r.stdout))
    for bad in (["--bogus", "127.0.0.1:1"], ["127.0.0.1"],
                ["--count", "x", "127.0.0.1:1"], [],
                ["--timeout-ms", "0", "127.0.0.1:1"], ["127.0.0.1:0"],
                ["[::1:123"], ["--count"]):
        r = run([probe] + bad)
        if r.returncode != 2 or not r.stderr.startswith("ntpprobe: "):
            fail("%s: want exit 2 and a message, got %d %r"
                 % (bad, r.returncode, r.stderr))

    stop = threading.Event()
    socks, threads = {}, []
    for name in ("good", "kod", "silent", "unsync"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks[name] = s
        th = threading.Thread(target=serve, args=(s, name, stop), daemon=True)
        th.start()
        threads.append(th)
    # A port that nobody listens on: bind, read the number, close.
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(("127.0.0.1", 0))
    closed = c.getsockname()[1]
    c.close()

    addr = {n: "127.0.0.1:%d" % s.getsockname()[1] for n, s in socks.items()}
    addr["closed"] = "127.0.0.1:%d" % closed
    order = ["good", "kod", "closed", "silent", "unsync"]
    rounds = 4
    t0 = time.monotonic()
    try:
        r = run([probe, "--json", "--count", str(rounds), "--interval-ms",
                 "50", "--timeout-ms", "150"] + [addr[n] for n in order])
    finally:
        stop.set()
        for th in threads:
            th.join(2)
    took = time.monotonic() - t0
    if r.returncode != 1:  # the silent and closed targets never answered
        fail("want exit 1, got %d; stderr %r" % (r.returncode, r.stderr))
    if took > 5:
        fail("4 rounds with a 150 ms timeout took %.1f s" % took)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    if len(lines) != rounds + 1 or "summary" not in lines[-1]:
        fail("want %d round lines and a summary:\n%s" % (rounds, r.stdout))
    for i, ln in enumerate(lines[:-1]):
        if ln["round"] != i + 1 or abs(ln["t_ns"] / 1e9 - time.time()) > 60:
            fail("round %d: bad round/t_ns: %s" % (i + 1, ln))
        tg = {n: ln["targets"][k] for k, n in enumerate(order)}
        for k, n in enumerate(order):
            if tg[n]["addr"] != addr[n]:
                fail("round %d: target %d is %s" % (i + 1, k, tg[n]["addr"]))
        g = tg["good"]
        if "error" in g:
            fail("round %d: good server: %s" % (i + 1, g))
        off = g["offset_ns"] / 1e9
        if abs(off - SERVER_AHEAD) > 0.005:
            fail("round %d: offset %.6f s, want %.3f" % (i + 1, off,
                                                         SERVER_AHEAD))
        if not 0 <= g["delay_ns"] < 50e6:
            fail("round %d: delay %d ns" % (i + 1, g["delay_ns"]))
        if (g["stratum"], g["li"], g["refid"]) != (2, 0, "10.0.0.1"):
            fail("round %d: header fields %s" % (i + 1, g))
        if (g["root_delay_ns"], g["root_disp_ns"]) != (15258, 10**9) or \
                g["ts"] not in ("kk", "ku", "uk", "uu"):
            fail("round %d: root delay / ts %s" % (i + 1, g))
        u = tg["unsync"]
        if (u.get("li"), u.get("stratum")) != (3, 0) or \
                abs(u["offset_ns"] / 1e9 - SERVER_AHEAD) > 0.005:
            fail("round %d: unsynchronized server: %s" % (i + 1, u))
        for n, want in (("kod", "kod:RATE"), ("closed", "refused"),
                        ("silent", "timeout")):
            if tg[n].get("error") != want:
                fail("round %d: %s: want error %s, got %s"
                     % (i + 1, n, want, tg[n]))
    summ = {t["addr"]: t for t in lines[-1]["summary"]["targets"]}
    g = summ[addr["good"]]
    if g["answered"] != rounds or g["sent"] != rounds:
        fail("summary: %s" % g)
    # Per request: an empty datagram, 10 random bytes and a mode-3 packet
    # are bad; the wrong origin is stale; the duplicate is a dup (or stale,
    # if it is read in the next round; the last round's may never be read);
    # the random junk is any of those.
    if g["bad"] < 3 * rounds or g["stale"] + g["dup"] < 2 * rounds - 1:
        fail("summary counters: %s" % g)
    if abs(g["median_offset_ns"] / 1e9 - SERVER_AHEAD) > 0.005:
        fail("summary median offset: %s" % g)
    if summ[addr["silent"]]["timeouts"] != rounds:
        fail("summary: %s" % summ[addr["silent"]])
    if summ[addr["closed"]]["errors"] != rounds:
        fail("summary: %s" % summ[addr["closed"]])
    print("ok: ntpprobe (%d rounds, good server offset %.6f s, ts %s)"
          % (rounds, g["median_offset_ns"] / 1e9, lines[0]["targets"][0]["ts"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
