#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Clock helper of the clock_*.sh system tests, standard library only:
waits on the nodes' clock state (the control socket's "tracking" and
"sources"), judges what ntpprobe measured from outside, checks event logs
for a network time that went backwards, and plays a hostile NTP client.
Every wait has a deadline; every socket operation a timeout.

  clockcheck.py wait SECS EXPR SOCK...
      polls until EXPR holds at every node: t = its tracking answer,
      src = {id: source} from its sources answer, me = the socket's file
      name without its extension (the node ID); on timeout prints each
      pending node's state
  clockcheck.py show SOCK...
      one line per node: synced, ref, source, stratum, offset, err
  clockcheck.py spread FILE [--only ADDR,...] [--median-max NS]
                            [--max NS] [--li L] [--stratum-max S]
                            [--slack NS] [--min-kept K]
      reads ntpprobe --json output; per round, the disagreement of the
      targets (max offset - min offset) over the rounds where every target
      answered with a delay <= 3 x its least delay + 20 us (--slack); prints
      a JSON summary, fails if a bound is exceeded, a target's LI is not L
      in every kept round or its stratum above S, or too few rounds are
      kept: fewer than K with --min-kept, else fewer than a third. Exit
      status 3 (not 1) when too few rounds were kept and nothing else is
      wrong, so a caller can probe more rounds (lib.sh probe_spread): on a
      busy machine fast rounds are rarer, the clocks no worse.
  clockcheck.py offsets FILE GROUP_ADDRS OTHER_ADDR
      the median (over usable rounds) of OTHER's offset minus the median of
      GROUP's offsets in the same round, in ns
  clockcheck.py moved BEFORE AFTER GROUP_ADDRS
      how far GROUP's median offset moved from the ntpprobe file BEFORE
      to AFTER, and how much of it GROUP's rate (fitted over BEFORE)
      does not explain; JSON
  clockcheck.py monotonic LOG...
      the network time ("net") of consecutive lines never decreases after
      the log's first clock line with synced true (per incarnation: a new
      "start" line begins again); prints what it checked
  clockcheck.py badinput PORT SOCK
      hostile NTP client against 127.0.0.1:PORT (see cmd_badinput)

Exit status: 0 ok, 1 failed or timed out (reason on stderr), 2 usage,
3 spread: too few usable rounds (and nothing else wrong).
"""
import json
import os
import random
import socket
import statistics
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctl  # noqa: E402  (the control-socket helper next to this file)

NTP_UNIX = 2208988800
SLACK_NS = 20000
DELAY_FACTOR = 3


def die(msg):
    print("clockcheck.py: " + msg, file=sys.stderr)
    sys.exit(1)


def clock_state(path):
    c = ctl.Ctl(path)
    try:
        t = c.call({"cmd": "tracking"})
        s = c.call({"cmd": "sources"})
    finally:
        c.close()
    if not t.get("ok") or not s.get("ok"):
        raise ValueError("answer not ok: %s %s" % (t, s))
    return t, {x["id"]: x for x in s.get("sources", [])}


def brief(t, src=None):
    out = ("synced=%s ref=%s%s source=%s stratum=%s offset=%.0fns "
           "err=%.0fns steps=%s" % (
               t.get("synced"), t.get("ref"),
               " (this node)" if t.get("reference") else "", t.get("source"),
               t.get("stratum"), t.get("offset_ns", 0), t.get("err_ns", 0),
               t.get("steps")))
    if src is not None:
        out += " sources=" + ",".join(
            "%s:%s" % (k, v.get("state")) for k, v in sorted(src.items()))
    return out


def cmd_wait(args):
    secs, expr, paths = float(args[0]), args[1], args[2:]
    code = compile("(" + expr + ")", "EXPR", "eval")
    deadline = time.monotonic() + secs
    t0 = time.monotonic()
    last = {}
    while True:
        pending = []
        for path in paths:
            try:
                t, src = clock_state(path)
                last[path] = brief(t, src)
                me = os.path.basename(path).rsplit(".", 1)[0]
                if not eval(code, {}, {"t": t, "src": src, "me": me}):
                    pending.append(path)
            except (OSError, ValueError, KeyError, TypeError) as e:
                last[path] = repr(e)
                pending.append(path)
        if not pending:
            print("%.1f" % (time.monotonic() - t0))
            return
        if time.monotonic() > deadline:
            for path in pending:
                print("clockcheck.py: %s: still not %s: %s"
                      % (os.path.basename(path), expr, last.get(path)),
                      file=sys.stderr)
            die("timed out after %gs waiting for %s" % (secs, expr))
        time.sleep(0.1)


def cmd_show(args):
    for path in args:
        try:
            t, src = clock_state(path)
            print("  %s: %s" % (os.path.basename(path), brief(t, src)))
        except (OSError, ValueError) as e:
            print("  %s: %r" % (os.path.basename(path), e))


def read_rounds(path):
    rounds = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            j = json.loads(line)
            if "round" in j:
                rounds.append(j)
    return rounds


def usable(rounds, only, slack=None):
    """Rounds where every target of `only` answered, and the subset of
    those whose delays are all near each target's least delay."""
    slack = SLACK_NS if slack is None else slack
    full = []
    for r in rounds:
        tg = {x["addr"]: x for x in r["targets"]}
        if all(a in tg and "offset_ns" in tg[a] for a in only):
            full.append({a: tg[a] for a in only})
    if not full:
        return [], []
    mind = {a: min(r[a]["delay_ns"] for r in full) for a in only}
    kept = [r for r in full
            if all(r[a]["delay_ns"] <= DELAY_FACTOR * mind[a] + slack
                   for a in only)]
    return full, kept


def cmd_spread(args):
    path, opts = args[0], {}
    i = 1
    while i < len(args):
        if i + 1 >= len(args):
            die("usage: spread FILE [--only A,B] [--median-max NS] ...")
        opts[args[i]] = args[i + 1]
        i += 2
    rounds = read_rounds(path)
    if not rounds:
        die("%s: no rounds" % path)
    addrs = [x["addr"] for x in rounds[0]["targets"]]
    only = opts["--only"].split(",") if "--only" in opts else addrs
    full, kept = usable(rounds, only,
                        int(opts["--slack"]) if "--slack" in opts else None)
    problems = []
    want = int(opts["--min-kept"]) if "--min-kept" in opts else \
        max(min(3, len(rounds)), len(rounds) // 3)
    too_few = len(kept) < want
    spreads = sorted(max(r[a]["offset_ns"] for a in only) -
                     min(r[a]["offset_ns"] for a in only) for r in kept)
    summ = {"rounds": len(rounds), "answered_all": len(full),
            "kept": len(kept)}
    if spreads:
        summ.update(median_ns=int(statistics.median(spreads)),
                    p90_ns=spreads[int(0.9 * (len(spreads) - 1))],
                    max_ns=spreads[-1])
    summ["targets"] = {}
    for a in only:
        li = sorted({r[a]["li"] for r in kept})
        st = sorted({r[a]["stratum"] for r in kept})
        summ["targets"][a] = {
            "li": li, "stratum": st,
            "min_delay_ns": min((r[a]["delay_ns"] for r in full), default=0),
            "median_offset_ns": int(statistics.median(
                r[a]["offset_ns"] for r in kept)) if kept else None}
        if not kept:  # too_few says it; no LI or stratum to judge
            continue
        if "--li" in opts and li != [int(opts["--li"])]:
            problems.append("%s: LI %s, want %s" % (a, li, opts["--li"]))
        if "--stratum-max" in opts and (
                not st or max(st) > int(opts["--stratum-max"])):
            problems.append("%s: stratum %s, want <= %s"
                            % (a, st, opts["--stratum-max"]))
    if spreads and "--median-max" in opts and \
            summ["median_ns"] >= float(opts["--median-max"]):
        problems.append("median disagreement %d ns >= %s ns"
                        % (summ["median_ns"], opts["--median-max"]))
    if spreads and "--max" in opts and summ["max_ns"] >= float(opts["--max"]):
        problems.append("max disagreement %d ns >= %s ns"
                        % (summ["max_ns"], opts["--max"]))
    print(json.dumps(summ))
    if problems:
        die("; ".join(problems + (["only %d of %d rounds usable (%d with "
                                   "every answer)" % (len(kept), len(rounds),
                                                      len(full))]
                                  if too_few else [])))
    if too_few:
        print("clockcheck.py: only %d of %d rounds usable (%d with every "
              "answer), want %d" % (len(kept), len(rounds), len(full), want),
              file=sys.stderr)
        sys.exit(3)


def cmd_offsets(args):
    path, group, other = args[0], args[1].split(","), args[2]
    full, kept = usable(read_rounds(path), group + [other])
    if not kept:
        die("%s: no usable round" % path)
    d = [r[other]["offset_ns"] -
         statistics.median(r[a]["offset_ns"] for a in group) for r in kept]
    print(int(statistics.median(d)))


def group_track(path, group):
    """(t_ns, median offset of GROUP) over the usable rounds of FILE."""
    full = []
    for r in read_rounds(path):
        tg = {x["addr"]: x for x in r["targets"]}
        if all(a in tg and "offset_ns" in tg[a] for a in group):
            full.append((r["t_ns"], {a: tg[a] for a in group}))
    if not full:
        return []
    mind = {a: min(x[a]["delay_ns"] for _, x in full) for a in group}
    return [(t, statistics.median(x[a]["offset_ns"] for a in group))
            for t, x in full
            if all(x[a]["delay_ns"] <= DELAY_FACTOR * mind[a] + SLACK_NS
                   for a in group)]


def cmd_moved(args):
    """How far GROUP's median time moved against the probe's clock from
    BEFORE to AFTER, less what its rate measured in BEFORE explains."""
    before = group_track(args[0], args[2].split(","))
    after = group_track(args[1], args[2].split(","))
    if len(before) < 3 or not after:
        die("too few usable rounds (%d before, %d after)"
            % (len(before), len(after)))
    n = len(before)
    mt = sum(t for t, _ in before) / n
    mo = sum(o for _, o in before) / n
    var = sum((t - mt) ** 2 for t, _ in before)
    rate = sum((t - mt) * (o - mo) for t, o in before) / var if var else 0.0
    ta = statistics.median(t for t, _ in after)
    oa = statistics.median(o for _, o in after)
    moved = oa - mo
    predicted = rate * (ta - mt)
    print(json.dumps({"rate_ppm": round(rate * 1e6, 3),
                      "interval_s": round((ta - mt) / 1e9, 3),
                      "moved_ns": int(moved), "by_rate_ns": int(predicted),
                      "unexplained_ns": int(moved - predicted)}))


def cmd_monotonic(args):
    bad = []
    for path in args:
        prev = None
        armed = False
        checked = incarn = 0
        first_net = None
        with open(path) as f:
            for n, line in enumerate(f, 1):
                try:
                    j = json.loads(line)
                except ValueError:
                    bad.append("%s:%d: not JSON" % (path, n))
                    continue
                if j.get("ev") == "start":
                    armed, prev = False, None
                    incarn += 1
                if not armed and j.get("ev") == "clock" and j.get("synced"):
                    armed = True
                    if first_net is None:
                        first_net = j["net"]
                if not armed:
                    continue
                if prev is not None and j["net"] < prev[1]:
                    bad.append("%s:%d: net went back %d ns (line %d: %d, "
                               "now %d, ev %s)" % (
                                   path, n, prev[1] - j["net"], prev[0],
                                   prev[1], j["net"], j.get("ev")))
                prev = (n, j["net"])
                checked += 1
        print("  %s: %d line(s) after sync checked, %d incarnation(s)"
              % (os.path.basename(path), checked, incarn))
        if checked == 0:
            bad.append("%s: no clock line with synced true" % path)
    if bad:
        for b in bad[:10]:
            print("clockcheck.py: " + b, file=sys.stderr)
        die("%d problem(s) in the event logs" % len(bad))


# ---- the hostile NTP client ----------------------------------------------

def ntp_ts(unix_ns):
    s, ns = divmod(unix_ns, 10**9)
    return ((s + NTP_UNIX) << 32) | ((ns << 32) // 10**9)


def ts_ns(ts):
    return ((ts >> 32) - NTP_UNIX) * 10**9 + (((ts & 0xffffffff) * 10**9) >> 32)


def request(li=0, vn=4, mode=3, xmt=None, ext=b""):
    xmt = xmt if xmt is not None else random.getrandbits(64) | 1
    hdr = struct.pack(">BBbb", (li << 6) | (vn << 3) | mode, 0, 6, -20)
    hdr += b"\0" * 12 + b"\0" * 24 + struct.pack(">Q", xmt)
    return hdr + ext, xmt


def parse_reply(b):
    if len(b) < 48:
        return None
    li_vn_mode, stratum = b[0], b[1]
    org, rec, xmt = struct.unpack(">QQQ", b[24:48])
    return {"li": li_vn_mode >> 6, "vn": (li_vn_mode >> 3) & 7,
            "mode": li_vn_mode & 7, "stratum": stratum, "org": org,
            "rec": rec, "xmt": xmt, "len": len(b)}


class Client:
    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.sent = 0

    def drain(self, secs, first_only=False):
        """What arrives within secs (with first_only: until the first
        datagram, then 30 ms more for any second one)."""
        got = []
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got
            self.s.settimeout(left)
            try:
                data, _ = self.s.recvfrom(4096)
            except socket.timeout:
                return got
            got.append((data, time.time_ns()))
            if first_only and len(got) == 1:
                end = time.monotonic() + 0.03

    def send(self, data):
        t1 = time.time_ns()
        self.s.sendto(data, self.addr)
        self.sent += 1
        return t1


def counters(sock):
    t = ctl.call_once(sock, {"cmd": "tracking"})
    if not t.get("ok"):
        die("tracking refused: %s" % t)
    return t["counters"]


def cmd_badinput(args):
    """Against a lone node (no time peers, so every datagram its time
    socket counts is ours): a valid request, garbage, modes we do not
    serve, a reply to nothing, replays, extension fields and MACs (never
    answered: the node verifies none), a burst of 50 (loopback is not
    rate limited). Exactly the valid mode-3 requests are answered, each
    with one 48-byte mode-4 reply carrying our transmit timestamp as
    origin; nothing else gets an answer; no reply is longer than its
    request; rx_malformed, rx_mode, rx_bogus, rx_unverified and
    answered_std grow by exactly what was sent, rate_limited not at all.
    Prints the reply seen first (LI, stratum) so the caller can check the
    sync state."""
    port, sock = int(args[0]), args[1]
    seed = int(os.environ.get("P2PC_SEED") or random.randrange(1 << 32))
    print("  badinput: seed %d (P2PC_SEED replays it)" % seed)
    random.seed(seed)
    c0 = counters(sock)
    cl = Client(port)
    want = {"rx": 0, "rx_malformed": 0, "rx_mode": 0, "rx_bogus": 0,
            "rx_unverified": 0, "answered_std": 0, "rate_limited": 0}

    def expect_answer(what, data, xmt):
        t1 = cl.send(data)
        rs = cl.drain(2.0, first_only=True)
        want["rx"] += 1
        want["answered_std"] += 1
        if len(rs) != 1:
            die("%s: %d replies, want 1" % (what, len(rs)))
        r = parse_reply(rs[0][0])
        t4 = rs[0][1]
        if r is None or r["len"] != 48 or r["mode"] != 4:
            die("%s: reply %r is no 48-byte mode-4 packet" % (what, rs[0][0]))
        if r["org"] != xmt:
            die("%s: origin %#x, want our transmit %#x" % (what, r["org"],
                                                           xmt))
        if r["vn"] != (data[0] >> 3) & 7:
            die("%s: reply version %d, want the request's" % (what, r["vn"]))
        off = ((ts_ns(r["rec"]) - t1) + (ts_ns(r["xmt"]) - t4)) // 2
        r["offset_ns"] = off
        r["delay_ns"] = (t4 - t1) - (ts_ns(r["xmt"]) - ts_ns(r["rec"]))
        r["t4"] = t4
        return r

    # Datagrams that must go unanswered are sent back to back, the
    # silence checked once after each batch: a reply to any of them would
    # arrive within microseconds on loopback, and 0.3 s is plenty even
    # for a sanitizer build.
    silent = []

    def expect_silence(what, data, counter):
        cl.send(data)
        silent.append((what, len(data)))
        want["rx"] += 1
        want[counter] += 1

    def check_silence():
        rs = cl.drain(0.3)
        if rs:
            die("%d unexpected replies (lengths %s) to %s" % (
                len(rs), [len(r[0]) for r in rs], silent))
        silent.clear()

    # 1. a valid standard request
    data, xmt = request()
    first = expect_answer("valid request", data, xmt)
    print("  badinput: valid request -> LI %d stratum %d offset %.6f s "
          "delay %d ns" % (first["li"], first["stratum"],
                           first["offset_ns"] / 1e9, first["delay_ns"]))
    # 2. garbage of many lengths: shorter than a header, or with a version
    #    other than 3 and 4 (so it cannot parse as NTP whatever follows)
    lengths = [0, 1, 2, 3, 4, 8, 12, 20, 47, 48, 49, 60, 64, 68, 100, 128,
               200, 244, 300, 400, 512, 576, 600]
    for n in lengths:
        b = bytearray(random.getrandbits(8) for _ in range(n))
        if n:
            vn = random.choice([0, 1, 2, 5, 6, 7])
            b[0] = (b[0] & 0xC7) | (vn << 3)
        expect_silence("garbage %d bytes" % n, bytes(b), "rx_malformed")
    # a p2pclock-looking header with a broken extension chain: a field
    # that claims more bytes than follow (40 > the 24-byte MAC allowance)
    ext = struct.pack(">HH", 0x1234, 1000) + bytes(36)
    data, _ = request(ext=ext)
    expect_silence("extension longer than the datagram", data, "rx_malformed")
    # what ntpq and ntpdc send: a 12-byte mode-6 READVAR (version 2) and
    # the 8-byte-header mode-7 MON_GETLIST padded to 48 (version 2): no NTP
    expect_silence("ntpq mode 6 readvar",
                   struct.pack(">BBHHHHH", 0x16, 2, 1, 0, 0, 0, 0),
                   "rx_malformed")
    expect_silence("ntpdc mode 7 monlist",
                   bytes([0x17, 0x00, 0x03, 0x2a]) + bytes(44),
                   "rx_malformed")
    # 3. well-formed NTPv4 headers of modes we do not serve
    for mode in (6, 7, 0, 1, 2, 5):
        data, _ = request(mode=mode)
        expect_silence("mode %d, 48 bytes" % mode, data, "rx_mode")
    check_silence()
    # 4. a server reply (mode 4) to a request never sent
    data, _ = request(mode=4)
    expect_silence("mode 4 reply to nothing", data, "rx_bogus")
    check_silence()
    # 5. the first request again, same bytes: a stateless server answers
    data, xmt = request(xmt=xmt)
    again = expect_answer("replayed request", data, xmt)
    # 6. requests asking for authentication the node cannot give: unknown
    #    extension fields of 16 bytes (which RFC 7822 also lets pass for a
    #    legacy MAC) and 28, legacy MACs (MD5 4 + 16, SHA1 4 + 20, a 4-byte
    #    crypto-NAK, NTPv3 with MD5) and NTS's fields (unique identifier,
    #    cookie, authenticator): no answer at all (docs/CLOCK.md)
    for size in (16, 28):
        ext = struct.pack(">HH", 0x2005, size) + bytes(size - 4)
        data, _ = request(ext=ext)
        expect_silence("request with a %d-byte unknown extension" % size,
                       data, "rx_unverified")
    for vn, mac in ((4, struct.pack(">I", 7) + bytes(16)),
                    (4, struct.pack(">I", 7) + bytes(20)),
                    (4, bytes(4)), (3, struct.pack(">I", 1) + bytes(16))):
        data, _ = request(vn=vn, ext=mac)
        expect_silence("NTPv%d request with a %d-byte MAC" % (vn, len(mac)),
                       data, "rx_unverified")
    nts = (struct.pack(">HH", 0x0104, 36) + bytes(32) +
           struct.pack(">HH", 0x0204, 104) + bytes(100) +
           struct.pack(">HH", 0x0404, 40) + bytes(36))
    data, _ = request(ext=nts)
    expect_silence("NTS request", data, "rx_unverified")
    check_silence()
    # 7. a version-3 request still gets an answer, as version 3
    data, xmt = request(vn=3)
    expect_answer("NTPv3 request", data, xmt)
    # 8. a burst of 50 from one socket: loopback clients are not rate
    #    limited (docs/CLOCK.md), so all 50 are answered, none a KoD
    for i in range(50):
        data, xmt = request()
        r = expect_answer("burst request %d" % i, data, xmt)
        if r["stratum"] == 0:
            die("burst request %d: a kiss-o'-death from loopback" % i)
    # 9. nothing late: no reply to anything after all
    late = cl.drain(0.5)
    if late:
        die("%d late replies" % len(late))
    c1 = counters(sock)
    for k, v in want.items():
        got = c1[k] - c0[k]
        if got != v:
            die("counter %s grew by %d, want %d (before %s, after %s)"
                % (k, got, v, json.dumps(c0), json.dumps(c1)))
    print("  badinput: %d datagrams; counters grew by %s" % (
        cl.sent, json.dumps({k: c1[k] - c0[k] for k in want})))
    print(json.dumps({"first": first, "replayed": again}))


COMMANDS = {
    "wait": (cmd_wait, 3, None),
    "show": (cmd_show, 1, None),
    "spread": (cmd_spread, 1, None),
    "offsets": (cmd_offsets, 3, 3),
    "moved": (cmd_moved, 3, 3),
    "monotonic": (cmd_monotonic, 1, None),
    "badinput": (cmd_badinput, 2, 2),
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
