#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The driver and the report of bench/real_mesh/run.sh (read its header
first). Standard library only; every wait has a deadline and every socket
operation a timeout.

  real_mesh.py drive NODES_TSV OUT_JSON --rate R --duration D
      [--sample S] [--mesh-timeout S] [--quiet-timeout S]
      [--max-log-mib M] [--seed N]
    NODES_TSV: one line per node, "NAME<TAB>PID<TAB>SOCK<TAB>EVENTS<TAB>ERR".
    Waits until every node sees the other N-1 peers up; then sends R
    messages a second in all (message k from node k mod N to a random
    other node, at t0 + k/R) for D seconds over one persistent control
    connection per node, pipelined; every S seconds reads each node's
    VmRSS and RssAnon (/proc/PID/status) and asks for its status and
    peers; then waits until nothing is in flight (nothing buffered or
    unacknowledged anywhere, delivered counts steady). Writes everything
    to OUT_JSON. Exit 0, or 1 if the mesh never formed or a node died.

  real_mesh.py report OUT_JSON CHECK_JSON [--stop STOP_TSV]
      [--load-before L] [--load-after L] [--mark S] [--header TEXT]
    Reads the event logs named in OUT_JSON and prints the summary table.
    Exit 0 if the check said OK, every node stopped with status 0 and no
    node died; else 1.
"""
import argparse
import json
import os
import random
import selectors
import socket
import sys
import time
from collections import Counter, deque

IO_TIMEOUT = 10.0
STATUS_KEYS = ("peers_up", "sent", "delivered", "buffered", "duplicates",
               "undeliverable", "entries", "entries_max", "causal_bytes",
               "expired_tx", "expired_rx", "expired_deps", "stable_deps")


def log(msg):
    print("real_mesh: [%s] %s" % (time.strftime("%H:%M:%S"), msg),
          file=sys.stderr, flush=True)


def proc_mem(pid):
    """(VmRSS, RssAnon) in KiB, or None if the process is gone."""
    rss = anon = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
    except OSError:
        return None
    return rss, anon


def proc_cpu_s(pid):
    """User + system CPU seconds of the process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Conn:
    """One pipelined control connection: requests go out as soon as they
    are queued; the answers come back in order and are matched to the
    queue of what was asked."""

    def __init__(self, idx, path):
        self.idx = idx
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect(path)
        self.sock.setblocking(False)
        self.wbuf = bytearray()
        self.rbuf = b""
        self.pending = deque()  # (kind, ctx, time asked)
        self.dead = None

    def ask(self, req, kind, ctx=None):
        if self.dead:
            return False
        self.wbuf += json.dumps(req, separators=(",", ":")).encode() + b"\n"
        self.pending.append((kind, ctx, time.monotonic()))
        self.flush()
        return True

    def flush(self):
        while self.wbuf and not self.dead:
            try:
                n = self.sock.send(self.wbuf)
            except BlockingIOError:
                return
            except OSError as e:
                self.dead = "write: %s" % e
                return
            del self.wbuf[:n]

    def read(self):
        """The answers that arrived: [(kind, ctx, asked, answer)]."""
        out = []
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return out
        except OSError as e:
            self.dead = "read: %s" % e
            return out
        if not chunk:
            self.dead = "control socket closed"
            return out
        self.rbuf += chunk
        while b"\n" in self.rbuf:
            line, self.rbuf = self.rbuf.split(b"\n", 1)
            if not self.pending:
                self.dead = "an answer to nothing asked"
                break
            kind, ctx, asked = self.pending.popleft()
            try:
                ans = json.loads(line)
            except ValueError:
                ans = {"ok": False, "error": "unparsable answer"}
            out.append((kind, ctx, asked, ans))
        return out


class Driver:
    def __init__(self, nodes, args):
        self.nodes = nodes
        self.args = args
        self.n = len(nodes)
        self.rng = random.Random(args.seed)
        self.sel = selectors.DefaultSelector()
        self.conns = []
        for i, nd in enumerate(nodes):
            c = Conn(i, nd["sock"])
            self.conns.append(c)
            self.sel.register(c.sock, selectors.EVENT_READ, c)
        self.sent = [0] * self.n  # accepted by the node
        self.bcasts = 0  # network-wide broadcasts accepted
        self.refused = [0] * self.n  # back-pressure
        self.failed = Counter()  # other errors, by text
        self.asked = 0
        self.lag = []  # seconds each send went out after its due time
        self.rtt = []  # seconds from asking to the answer, sends
        self.samples = []
        self.died = {}
        self.quiet = {}

    # -- the event loop -------------------------------------------------
    def pump(self, timeout):
        """Waits up to timeout for answers, and handles them."""
        for c in self.conns:
            if c.wbuf and not c.dead:
                c.flush()
        for key, ev in self.sel.select(max(0.0, timeout)):
            c = key.data
            if ev & selectors.EVENT_READ:
                for kind, ctx, asked, ans in c.read():
                    self.answer(c, kind, ctx, asked, ans)
            if c.dead and c.idx not in self.died:
                self.died[c.idx] = c.dead
                log("node %s: %s" % (self.nodes[c.idx]["name"], c.dead))
                self.sel.unregister(c.sock)

    def answer(self, c, kind, ctx, asked, ans):
        if kind == "broadcast":
            if ans.get("ok"):
                self.bcasts += 1
            else:
                self.failed["broadcast: " + ans.get("error", "?")] += 1
        elif kind == "send":
            self.rtt.append(time.monotonic() - asked)
            if ans.get("ok"):
                self.sent[c.idx] += 1
            elif "back-pressure" in ans.get("error", ""):
                self.refused[c.idx] += 1
            else:
                self.failed[ans.get("error", "?")] += 1
        elif kind == "status":
            ctx["status"][c.idx] = ({k: ans.get(k) for k in STATUS_KEYS}
                                    if ans.get("ok") else None)
        elif kind == "links":
            ctx["links"][c.idx] = ans.get("peers") if ans.get("ok") else None
        elif kind == "peers":
            ctx["unacked"][c.idx] = (sum(p.get("unacked", 0)
                                         for p in ans.get("peers", []))
                                     if ans.get("ok") else None)

    def outstanding(self):
        return sum(len(c.pending) for c in self.conns if not c.dead)

    def settle(self, secs):
        """Until every question asked has its answer (bounded)."""
        end = time.monotonic() + secs
        while self.outstanding() and time.monotonic() < end:
            self.pump(0.1)
        return self.outstanding() == 0

    def alive(self):
        """Checks every node's process; records the dead ones."""
        for i, nd in enumerate(self.nodes):
            if i not in self.died and proc_mem(nd["pid"]) is None:
                self.died[i] = "process gone"
                log("node %s: process gone" % nd["name"])
        return not self.died

    # -- phases ---------------------------------------------------------
    def poll_all(self, kinds=("status",)):
        ctx = {"status": [None] * self.n, "unacked": [None] * self.n}
        for c in self.conns:
            for k in kinds:
                c.ask({"cmd": k}, k, ctx)
        self.settle(IO_TIMEOUT)
        return ctx

    def connected(self):
        """Whether the links reported by `peers` (state up) join every
        node into one component (a `peers` poll of every node)."""
        ctx = {"links": [None] * self.n}
        for c in self.conns:
            c.ask({"cmd": "peers"}, "links", ctx)
        self.settle(IO_TIMEOUT)
        idx = {nd["name"]: i for i, nd in enumerate(self.nodes)}
        adj = [set() for _ in range(self.n)]
        for i, ps in enumerate(ctx["links"]):
            for p in ps or []:
                j = idx.get(p.get("id"))
                if j is not None and p.get("state") == "up":
                    adj[i].add(j)
                    adj[j].add(i)
        seen, todo = {0}, [0]
        while todo:
            for j in adj[todo.pop()]:
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return len(seen) == self.n

    def wait_mesh(self, secs):
        """Until every node has its links: a full mesh (N-1 peers up
        each), or with --max-peers K below N-1, at least one link each and
        the links joining all nodes into one network."""
        end = time.monotonic() + secs
        k = self.args.max_peers
        full = not k or k >= self.n - 1
        want = self.n - 1
        while True:
            ctx = self.poll_all()
            ups = [s["peers_up"] if s else -1 for s in ctx["status"]]
            if full and all(u == want for u in ups):
                return True
            if not full and all(u >= 1 for u in ups) and self.connected():
                return True
            if not self.alive() or time.monotonic() > end:
                short = ["%s:%s" % (self.nodes[i]["name"], u)
                         for i, u in enumerate(ups) if u != want]
                log("mesh not full after %gs (want %d peers up; "
                    "node:peers_up %s)" % (secs, want, " ".join(short[:20])))
                return False
            time.sleep(0.5)

    def sample(self, t, phase):
        """RSS now (synchronously), status and peers asked (answered
        within the loop)."""
        rss, anon, cpu = [], [], []
        for nd in self.nodes:
            m = proc_mem(nd["pid"])
            rss.append(m[0] if m else None)
            anon.append(m[1] if m else None)
            cpu.append(proc_cpu_s(nd["pid"]))
        logs = 0
        for nd in self.nodes:
            for key in ("events", "err"):
                try:
                    logs += os.path.getsize(nd[key])
                except OSError:
                    pass
        s = {"t": round(t, 3), "phase": phase, "wall_ns": time.time_ns(),
             "rss": rss, "anon": anon, "cpu_s": cpu, "log_bytes": logs,
             "status": [None] * self.n, "unacked": [None] * self.n,
             "sent_ok": sum(self.sent), "refused": sum(self.refused),
             "loadavg": os.getloadavg()[0]}
        for c in self.conns:
            c.ask({"cmd": "status"}, "status", s)
            if self.args.peers:
                c.ask({"cmd": "peers"}, "peers", s)
        self.samples.append(s)
        return s

    def traffic(self, rate, dur, every):
        n = self.n
        total = int(round(rate * dur))
        brate = self.args.bcast_rate
        btotal = int(round(brate * dur))
        kb = 0
        t0 = time.monotonic()
        self.t0_wall_ns = time.time_ns()
        self.sample(0.0, "traffic")
        next_sample = every
        k = 0
        cap = self.args.max_log_mib << 20
        self.stopped_early = None
        last_log = t0
        while True:
            now = time.monotonic() - t0
            while k < total and k / rate <= now:
                src = k % n
                dst = self.rng.randrange(n - 1)
                dst += dst >= src
                if self.conns[src].ask(
                        {"cmd": "send", "to": self.nodes[dst]["name"],
                         "text": "rm %d" % k}, "send"):
                    self.asked += 1
                    self.lag.append(now - k / rate)
                k += 1
            while kb < btotal and kb / brate <= now:
                src = self.rng.randrange(n)
                if self.conns[src].ask(
                        {"cmd": "broadcast", "text": "rb %d" % kb},
                        "broadcast"):
                    self.asked += 1
                kb += 1
            if now >= next_sample - 1e-9 and next_sample <= dur + 1e-9:
                s = self.sample(next_sample, "traffic")
                next_sample += every
                if not self.alive():
                    self.stopped_early = "a node died"
                    break
                if s["log_bytes"] > cap:
                    self.stopped_early = ("the logs passed --max-log-mib %d"
                                          % self.args.max_log_mib)
                    break
                if time.monotonic() - last_log >= 60:
                    last_log = time.monotonic()
                    ok = [r for r in s["rss"] if r]
                    log("t=%.0fs: %d asked, %d sent, %d refused; RSS median "
                        "%d KiB; load %.2f" % (
                            now, self.asked, sum(self.sent),
                            sum(self.refused),
                            sorted(ok)[len(ok) // 2] if ok else -1,
                            s["loadavg"]))
            if k >= total and kb >= btotal and next_sample > dur + 1e-9:
                break
            due = min(k / rate if k < total else dur,  # (rate 0: total 0)
                      kb / brate if kb < btotal else dur,
                      next_sample if next_sample <= dur + 1e-9 else dur)
            self.pump(min(0.05, max(0.0, due - (time.monotonic() - t0))))
        if self.stopped_early:
            log("traffic stopped early: " + self.stopped_early)
        self.traffic_s = time.monotonic() - t0
        self.settle(30)

    def wait_quiet(self, secs):
        """Until nothing is in flight: nothing buffered anywhere, and the
        delivered counts steady for 3 polls in a row with every message
        sent delivered (or, if some never will be, steady for 20 polls).
        Status only: a `peers` answer is itself a sizeable transient
        allocation in a node (see run.sh). Bounded."""
        t1 = time.monotonic()
        end = t1 + secs
        prev, stable, ok = None, 0, False
        while True:
            st = self.poll_all(("status",))["status"]
            live = [i for i in range(self.n) if i not in self.died]
            busy = [i for i in live if st[i] is None or st[i]["buffered"]]
            deliv = [x["delivered"] if x else None for x in st]
            # a broadcast is sent once and delivered at every node (its
            # sender too); a message once and once
            want = (sum(st[i]["sent"] for i in live) - self.bcasts +
                    self.bcasts * len(live)) if not busy else None
            all_in = not busy and (sum(st[i]["delivered"] for i in live) ==
                                   want)
            if not busy and deliv == prev:
                stable += 1
                if stable >= (3 if all_in else 20):
                    ok = True
                    break
            else:
                stable = 0
            prev = deliv
            if time.monotonic() > end:
                log("not quiet after %gs: buffered at %s" % (secs, [
                    self.nodes[i]["name"] for i in busy[:10]]))
                break
            time.sleep(0.5)
        self.quiet = {"ok": ok, "secs": round(time.monotonic() - t1, 1),
                      "all_delivered": all_in,
                      "buffered": [self.nodes[i]["name"] for i in busy[:10]]}
        return ok

    def link_queues(self):
        """One `peers` poll: frames sent and not yet acknowledged, summed
        over each node's peers (None where a node did not answer)."""
        un = self.poll_all(("peers",))["unacked"]
        self.quiet["unacked"] = sum(x for x in un if x is not None)
        self.quiet["unacked_unknown"] = sum(x is None for x in un)


def cpu_per_node(samples):
    """Each node's CPU (% of one core) between the first and the last
    sample of the traffic phase, or None without two such samples."""
    tr = [x for x in samples if x.get("phase") == "traffic"]
    if len(tr) < 2:
        return None
    a, b = tr[0], tr[-1]
    secs = (b["wall_ns"] - a["wall_ns"]) / 1e9
    if secs <= 0:
        return None
    pct_ = [100.0 * (y - x) / secs for x, y in zip(a["cpu_s"], b["cpu_s"])
            if x is not None and y is not None]
    return {"secs": secs, "pct": pct_} if pct_ else None


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def cmd_drive(argv):
    ap = argparse.ArgumentParser(prog="real_mesh.py drive")
    ap.add_argument("nodes_tsv")
    ap.add_argument("out_json")
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--mesh-timeout", type=float, default=120)
    ap.add_argument("--quiet-timeout", type=float, default=90)
    ap.add_argument("--max-log-mib", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bcast-rate", type=float, default=0,
                    help="network-wide broadcasts a second, from random "
                    "nodes, besides --rate messages")
    ap.add_argument("--max-peers", type=int, default=0,
                    help="the nodes' --max-peers; below N-1 the driver "
                    "waits for one connected network, not a full mesh")
    ap.add_argument("--peers", action="store_true",
                    help="samples ask for peers too (link queues)")
    ap.add_argument("--started", type=float, default=None,
                    help="when the first node was started (s since 1970)")
    a = ap.parse_args(argv)
    nodes = []
    with open(a.nodes_tsv) as f:
        for line in f:
            name, pid, sock, events, err = line.rstrip("\n").split("\t")
            nodes.append({"name": name, "pid": int(pid), "sock": sock,
                          "events": events, "err": err})
    if len(nodes) < 2 or a.rate < 0 or a.duration <= 0:
        sys.exit("real_mesh.py: need 2 nodes or more, rate >= 0 (0: no"
                 " traffic, the idle baseline) and duration > 0")

    # The control sockets, bounded.
    end = time.monotonic() + 30
    while not all(os.path.exists(nd["sock"]) for nd in nodes):
        if time.monotonic() > end:
            sys.exit("real_mesh.py: control sockets not up within 30 s")
        time.sleep(0.1)
    drv = None
    for _ in range(50):
        try:
            drv = Driver(nodes, a)
            break
        except OSError:
            time.sleep(0.2)
    if drv is None:
        sys.exit("real_mesh.py: cannot connect to every control socket")

    res = {"nodes": nodes, "rate": a.rate, "duration": a.duration,
           "sample_s": a.sample, "seed": a.seed, "max_peers": a.max_peers}
    rc = 0
    t_mesh = time.monotonic()
    if a.started:  # count from the first node's start
        t_mesh -= max(0.0, time.time() - a.started)
    log("waiting for the full mesh (%d nodes, %d peers each)"
        % (len(nodes), len(nodes) - 1))
    if drv.wait_mesh(a.mesh_timeout):
        res["mesh_s"] = round(time.monotonic() - t_mesh, 1)
        log("full mesh in %.1f s; traffic: %g msgs/s for %g s"
            % (res["mesh_s"], a.rate, a.duration))
        drv.traffic(a.rate, a.duration, a.sample)
        res["t0_wall_ns"] = drv.t0_wall_ns
        res["traffic_s"] = round(drv.traffic_s, 1)
        res["stopped_early"] = drv.stopped_early
        log("traffic done; waiting for quiet (up to %g s)" % a.quiet_timeout)
        drv.wait_quiet(a.quiet_timeout)
        drv.alive()
        drv.sample(drv.traffic_s + drv.quiet.get("secs", 0), "quiet")
        drv.settle(IO_TIMEOUT)
        drv.link_queues()
        if drv.died or drv.stopped_early:
            rc = 1
    else:
        res["mesh_s"] = None
        rc = 1
    res.update({
        "asked": drv.asked, "sent": sum(drv.sent), "bcasts": drv.bcasts,
        "bcast_rate": a.bcast_rate,
        "refused": sum(drv.refused), "failed": dict(drv.failed),
        "unanswered": drv.outstanding(),
        "sent_per_node": drv.sent, "refused_per_node": drv.refused,
        "lag_s": {"p50": median(drv.lag), "p99": pct(drv.lag, 0.99),
                  "max": max(drv.lag) if drv.lag else None,
                  "over_1s": sum(x > 1 for x in drv.lag)},
        "rtt_s": {"p50": median(drv.rtt), "p99": pct(drv.rtt, 0.99),
                  "max": max(drv.rtt) if drv.rtt else None},
        "quiet": drv.quiet, "samples": drv.samples,
        "died": {nodes[i]["name"]: why for i, why in drv.died.items()},
    })
    tmp = a.out_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f)
    os.replace(tmp, a.out_json)
    sys.exit(rc)


# ---- the report --------------------------------------------------------

def scan_events(nodes, t0_ns):
    """Per event log: the meta of each send (and its minute since t0 by
    network time), the delivers, the expiries."""
    meta, by_min = [], {}
    counts = Counter()
    for nd in nodes:
        try:
            f = open(nd["events"], "rb")
        except OSError:
            counts["unreadable logs"] += 1
            continue
        with f:
            for line in f:
                if b'"ev":"send"' in line:
                    j = json.loads(line)
                    m = j.get("meta", 0)
                    meta.append(m)
                    if t0_ns:
                        k = max(0, int((j.get("net", t0_ns) - t0_ns) // 60e9))
                        by_min.setdefault(k, []).append(m)
                    counts["send"] += 1
                elif b'"ev":"deliver"' in line:
                    counts["deliver"] += 1
                elif b'"ev":"undeliverable"' in line:
                    j = json.loads(line)
                    side = "at sender" if "to" in j else "at destination"
                    counts["undeliverable %s (%s)"
                           % (side, j.get("reason", "?"))] += 1
                elif b'"ev":"buffer"' in line:
                    counts["buffer"] += 1
                elif b'"ev":"refuse"' in line:
                    counts["refuse"] += 1
    return meta, by_min, counts


def fmt(x, nd=0):
    if x is None:
        return "-"
    if isinstance(x, float) and nd:
        return "%.*f" % (nd, x)
    return "%d" % round(x)


def cmd_report(argv):
    ap = argparse.ArgumentParser(prog="real_mesh.py report")
    ap.add_argument("out_json")
    ap.add_argument("check_json")
    ap.add_argument("--stop", default=None)
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--mark", type=float, default=60)
    ap.add_argument("--header", default="")
    a = ap.parse_args(argv)
    with open(a.out_json) as f:
        r = json.load(f)
    try:
        with open(a.check_json) as f:
            chk = json.load(f)
    except (OSError, ValueError):
        chk = None
    stops = []
    if a.stop:
        with open(a.stop) as f:
            stops = [ln.rstrip("\n").split("\t") for ln in f if ln.strip()]

    n = len(r["nodes"])
    out = []
    p = out.append
    if a.header:
        p(a.header)
    p("## Real processes: %d nodes, full mesh, %g msgs/s for %g s"
      % (n, r["rate"], r["duration"]))
    p("")
    p("- load average (1, 5, 15 min) before: %s; after: %s"
      % (a.load_before, a.load_after))
    k = r.get("max_peers") or 0
    full = not k or k >= n - 1
    if r.get("mesh_s") is None:
        p("- **the mesh never formed**: no traffic")
    elif full:
        p("- full mesh (every node %d peers up) in %.1f s" % (n - 1, r["mesh_s"]))
    else:
        p("- one network (--max-peers %d: every node linked, the links "
          "connecting all %d) in %.1f s" % (k, n, r["mesh_s"]))
    cpu = cpu_per_node(r["samples"])
    if cpu:
        p("- CPU per node during the traffic phase (%% of one core, "
          "utime+stime over %.0f s): median %.2f, max %.2f, all nodes %.1f"
          % (cpu["secs"], median(cpu["pct"]), max(cpu["pct"]),
             sum(cpu["pct"])))
    if r.get("stopped_early"):
        p("- **traffic stopped early: %s**" % r["stopped_early"])
    if r.get("died"):
        p("- **nodes died: %s**" % r["died"])

    tr = [s for s in r["samples"] if s["phase"] == "traffic"]
    qs = [s for s in r["samples"] if s["phase"] == "quiet"]

    def col(s, key):
        return [x for x in s[key] if x is not None]

    def st(s, key):
        return [x[key] for x in s["status"] if x and x.get(key) is not None]

    # The marks: every --mark seconds of traffic, and its end.
    marks = []
    t = a.mark
    while t <= r["duration"] + 1e-6:
        marks.append(t)
        t += a.mark
    if not marks or abs(marks[-1] - r["duration"]) > 1e-6:
        marks.append(r["duration"])

    def at(t):
        best = None
        for s in tr:
            if s["t"] <= t + 1e-6:
                best = s
        return best

    p("")
    p("RSS in KiB (VmRSS of each node; RssAnon is its heap/stack part);"
      " causal state from each node's status; unacked = link queues"
      " (frames sent, not yet acknowledged, over all its peers; asked"
      " only with --peers):")
    p("")
    hdr = ("| t (s) | sent so far | RSS median | RSS max | RSS sum (MiB) |"
           " RssAnon median | entries median / max | causal_bytes median /"
           " max | buffered sum | unacked sum | meta B/msg mean (its"
           " minute of traffic) | load |")
    p(hdr)
    p("|" + "|".join("---" for _ in range(hdr.count("|") - 1)) + "|")
    meta, by_min, counts = scan_events(r["nodes"], r.get("t0_wall_ns"))
    rows = [(0.0, tr[0])] if tr else []
    rows += [(t, at(t)) for t in marks]
    rows += [("quiet +%gs" % r["quiet"].get("secs", 0), q) for q in qs]
    for t, s in rows:
        if s is None:
            continue
        rss = col(s, "rss")
        mm = None
        if not isinstance(t, str) and t > 0:
            mins = by_min.get(int((t - 1e-6) // 60))
            mm = sum(mins) / len(mins) if mins else None
        ent, cb = st(s, "entries"), st(s, "causal_bytes")
        un = col(s, "unacked")
        p("| %s | %d | %s | %s | %.1f | %s | %s / %s | %s / %s | %d | %s | %s"
          " | %.2f |" % (
              fmt(s["t"]) if not isinstance(t, str) else t, s["sent_ok"],
              fmt(median(rss)), fmt(max(rss) if rss else None),
              sum(rss) / 1024, fmt(median(col(s, "anon"))),
              fmt(median(ent)), fmt(max(ent) if ent else None),
              fmt(median(cb)), fmt(max(cb) if cb else None),
              sum(st(s, "buffered")), fmt(sum(un) if un else None), fmt(mm, 1),
              s["loadavg"]))

    # Growth from the first mark to the end of the traffic.
    base, last = at(marks[0]), at(r["duration"])
    p("")
    if base and last and base is not last:
        def growth(f):
            b, e = f(base), f(last)
            return "%+d KiB (%+.1f%%)" % (e - b, 100.0 * (e - b) / b)
        p("Growth from t=%gs to the end of the traffic (t=%gs):"
          % (base["t"], last["t"]))
        p("")
        p("- RSS median: %s" % growth(lambda s: median(col(s, "rss"))))
        p("- RSS max:    %s" % growth(lambda s: max(col(s, "rss"))))
        p("- RSS sum:    %s" % growth(lambda s: sum(col(s, "rss"))))
        p("- RssAnon median: %s" % growth(lambda s: median(col(s, "anon"))))
        pn = []
        for i in range(n):
            b, e = base["rss"][i], last["rss"][i]
            if b and e:
                pn.append(100.0 * (e - b) / b)
        if pn:
            p("- per node: median %+.1f%%, max %+.1f%%, min %+.1f%%"
              % (median(pn), max(pn), min(pn)))
        bc, lc = st(base, "causal_bytes"), st(last, "causal_bytes")
        if bc and lc:
            p("- causal_bytes sum: %d -> %d bytes" % (sum(bc), sum(lc)))
    else:
        p("(no growth figure: too few samples)")

    p("")
    p("Messages and metadata:")
    p("")
    p("- asked %d, sent (accepted) %d, refused by back-pressure %d, other"
      " errors %s, unanswered %d" % (
          r["asked"], r["sent"], r["refused"],
          sum(r["failed"].values()) if r["failed"] else 0,
          r.get("unanswered", 0)))
    if r.get("bcast_rate"):
        p("- network-wide broadcasts asked at %g/s, accepted %d (each "
          "delivered at every node)" % (r["bcast_rate"], r.get("bcasts", 0)))
    for err, k in sorted(r["failed"].items(), key=lambda x: -x[1]):
        p("  - %d x %s" % (k, err))
    if r.get("traffic_s") and r["rate"] > 0:
        p("- achieved %.1f msgs/s accepted over %.1f s of traffic"
          % (r["sent"] / r["traffic_s"], r["traffic_s"]))
    lag, rtt = r["lag_s"], r["rtt_s"]
    if lag["p50"] is not None:
        p("- schedule lag (send asked after its due time): p50 %.1f ms, p99"
          " %.1f ms, max %.1f ms, %d over 1 s; control round trip p50 %.1f"
          " ms, p99 %.1f ms, max %.1f ms" % (
              lag["p50"] * 1e3, lag["p99"] * 1e3, lag["max"] * 1e3,
              lag["over_1s"], rtt["p50"] * 1e3, rtt["p99"] * 1e3,
              rtt["max"] * 1e3))
    fin = qs[-1] if qs else (tr[-1] if tr else None)
    if fin:
        p("- status at the end (sums over the nodes): sent %d, delivered %d,"
          " duplicates %d, undeliverable %d, expired_tx %d, expired_rx %d,"
          " expired_deps %d, stable_deps %d, entries %d (most ever held by"
          " one node: %d)" % tuple(
              [sum(st(fin, k)) for k in (
                  "sent", "delivered", "duplicates", "undeliverable",
                  "expired_tx", "expired_rx", "expired_deps", "stable_deps",
                  "entries")] + [max(st(fin, "entries_max") or [0])]))
    q = r["quiet"]
    p("- quiet after the traffic (nothing buffered, delivered counts steady%s):"
      " %s; then %s frames unacknowledged in the link queues%s" % (
          ", every message sent delivered" if q.get("all_delivered") else
          " — NOT every message sent delivered",
          "yes, in %.1f s" % q["secs"] if q.get("ok") else "NO: %s" % q,
          q.get("unacked", "?"),
          " (%d nodes did not answer)" % q["unacked_unknown"]
          if q.get("unacked_unknown") else ""))
    p("- event logs: %d send lines, %d deliver, %d buffer, %d refuse%s" % (
        counts["send"], counts["deliver"], counts["buffer"], counts["refuse"],
        "".join(", %d %s" % (v, k) for k, v in sorted(counts.items())
                if k.startswith("undeliverable") or k.startswith("unread"))))
    if meta:
        p("- causal metadata per message (meta of send): mean %.1f B, p99 %d"
          " B, max %d B (%d messages)" % (
              sum(meta) / len(meta), pct(meta, 0.99), max(meta), len(meta)))
        if by_min:
            p("- meta mean by minute of traffic: " + ", ".join(
                "%d: %.1f B" % (k, sum(v) / len(v))
                for k, v in sorted(by_min.items())))
    bad_stop = [s for s in stops if len(s) >= 2 and s[1] != "0"]
    if stops:
        p("- stop (SIGTERM, then a bounded wait): %d of %d exited 0%s" % (
            len(stops) - len(bad_stop), len(stops),
            "".join("; %s: %s" % (s[0], s[1]) for s in bad_stop[:10])))
    p("")
    if chk is None:
        p("**check: no verdict (p2pclock check gave no JSON)**")
    else:
        p("check: %s (%d files, %d messages, %d delivered, %d expired, %d"
          " undeliverable, %d duplicates dropped, %d waited: p99 %.1f ms,"
          " max %.1f ms, %d violations, %d warnings)" % (
              "OK" if chk["ok"] else "**FAILED**", chk["files"],
              chk["messages"], chk["delivered"], chk["expired"],
              chk["undeliverable"], chk["duplicates"], chk["waited"],
              chk["waited_ns"]["p99"] / 1e6, chk["waited_ns"]["max"] / 1e6,
              chk["violations"], chk["warnings"]))
        for v in chk.get("first_violations", [])[:10]:
            p("  - " + v)
    print("\n".join(out))
    ok = (chk is not None and chk["ok"] and not bad_stop and not r.get("died")
          and r.get("mesh_s") is not None and not r.get("stopped_early"))
    sys.exit(0 if ok else 1)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("drive", "report"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    (cmd_drive if sys.argv[1] == "drive" else cmd_report)(sys.argv[2:])


if __name__ == "__main__":
    main()
