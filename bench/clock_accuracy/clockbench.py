#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helpers of bench/clock_accuracy/run.sh (python3, standard library only).

  clockbench.py ports N             N free 127.0.0.1 ports (TCP and UDP both)
  clockbench.py plan SEED N         the seeded virtual clocks of N mesh nodes
                                    and the node whose drift steps
  clockbench.py poll OUT DURATION INTERVAL [--fast S FAST_INTERVAL]
                    [--cmd NAME EVERY CMD]...
                                    runs each CMD every EVERY-th INTERVAL
                                    (FAST_INTERVAL for the first S s) for
                                    DURATION s, one JSON line per call in OUT
  clockbench.py analyze DIR         the figures of one run (DIR/meta.env,
                                    probe.jsonl, poll.jsonl...) as markdown
  clockbench.py header              machine, CPU and load average (markdown)

run.sh documents the method; the comments here say how each figure is
computed.
"""
import json
import math
import os
import random
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

NS = 1_000_000_000


# ---- ports -----------------------------------------------------------------

def cmd_ports(n):
    """Binds N TCP sockets to port 0 on 127.0.0.1, keeps only ports whose
    UDP twin is free too (a node's time port is its TCP port), holds them
    all until every one is chosen so none repeats, then releases them."""
    held, ports = [], []
    tries = 0
    while len(ports) < n:
        tries += 1
        if tries > 50 * n:
            sys.exit("clockbench: cannot find %d free ports" % n)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            u.close()
            continue
        held += [t, u]
        ports.append(port)
    for s in held:
        s.close()
    print(" ".join(map(str, ports)))


# ---- plan ------------------------------------------------------------------

def cmd_plan(seed, n):
    """Offsets uniform in [-1, 1] s and drifts in [-200, 200] ppm, from the
    seed alone, so a run can be replayed (P2PC_SEED / --seed)."""
    rng = random.Random(seed)
    for i in range(n):
        print("n%d %.9f %.3f" % (i, rng.uniform(-1, 1), rng.uniform(-200, 200)))
    print("step n%d" % rng.randrange(n))


# ---- poll ------------------------------------------------------------------

def cmd_poll(out, duration, interval, cmds, fast_s=0.0, fast_interval=None):
    """Runs the commands on a fixed schedule, every fast_interval for the
    first fast_s seconds (when convergence times are decided) and every
    interval after; each call is bounded (2 s) and logged with the realtime
    just before and after it."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    start = nxt = time.monotonic()
    i = 0
    with open(out, "a") as f:
        while not stop and time.monotonic() - start < duration:
            for name, every, argv in cmds:
                if i % every:
                    continue
                t0 = time.time_ns()
                try:
                    r = subprocess.run(argv, capture_output=True, text=True,
                                       timeout=2)
                    rc, text = r.returncode, r.stdout
                except (subprocess.TimeoutExpired, OSError) as e:
                    rc, text = -1, str(e)
                t1 = time.time_ns()
                f.write(json.dumps({"name": name, "t0": t0, "t1": t1,
                                    "rc": rc, "out": text}) + "\n")
            f.flush()
            i += 1
            fast = fast_interval and nxt - start < fast_s
            nxt += fast_interval if fast else interval
            while not stop and time.monotonic() < nxt:
                time.sleep(min(0.05, max(0.0, nxt - time.monotonic())))


# ---- statistics helpers ----------------------------------------------------

def pct(xs, p):
    """The p-th percentile (nearest rank) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def fmt_us(ns, signed=False):
    if ns is None:
        return "n/a"
    v = ns / 1e3
    if abs(v) >= 100000:
        return ("%+.3f s" if signed else "%.3f s") % (v / 1e6)
    if abs(v) >= 1000:
        return ("%+.2f ms" if signed else "%.2f ms") % (v / 1e3)
    return ("%+.1f µs" if signed else "%.1f µs") % v


def fmt_s(sec):
    return "n/a" if sec is None else "%.1f s" % sec


def first_below(series, limit, hold, t_from=0.0, end=None):
    """series: [(t_seconds, value or None)] in time order; None = a point
    that breaks the hold (unsynchronized); points filtered out must not be
    in the series. Returns the first t >= t_from with |value| < limit at t
    and at every point up to t + hold (hold = 0: just the first point below),
    provided the data extends to t + hold; else None."""
    end = series[-1][0] if end is None and series else end
    pts = [(t, v) for t, v in series if t >= t_from]
    for i, (t, v) in enumerate(pts):
        if v is None or abs(v) >= limit:
            continue
        if hold <= 0:
            return t
        if end is None or t + hold > end:
            return None
        ok = True
        for t2, v2 in pts[i + 1:]:
            if t2 > t + hold:
                break
            if v2 is None or abs(v2) >= limit:
                ok = False
                break
        if ok:
            return t
    return None


# ---- analyze ---------------------------------------------------------------

def read_meta(d):
    meta = {}
    with open(os.path.join(d, "meta.env")) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                meta[k] = v
    return meta


def read_jsonl(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass  # a line cut short by a stop
    return rows


def find_key(obj, key):
    """The first value of key anywhere in a JSON tree, or None."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def find_source(obj, peer):
    """The source entry (a dict with "id" == peer) in a sources answer."""
    if isinstance(obj, dict):
        if obj.get("id") == peer and ("offset_ns" in obj
                                      or "raw_offset_ns" in obj):
            return obj
        for v in obj.values():
            r = find_source(v, peer)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_source(v, peer)
            if r is not None:
                return r
    return None


def probe_rounds(d):
    return [r for r in read_jsonl(os.path.join(d, "probe.jsonl"))
            if "round" in r]


def min_delays(rounds, idx):
    mins = {}
    for r in rounds:
        for i in idx:
            t = r["targets"][i]
            if "delay_ns" in t and t["delay_ns"] > 0:
                mins[i] = min(mins.get(i, t["delay_ns"]), t["delay_ns"])
    return mins


def delay_ok(t, mn):
    """The probe's own noise filter: a sample whose delay exceeds three
    times the target's minimum plus 20 µs is thrown away."""
    return "delay_ns" in t and mn is not None and \
        t["delay_ns"] <= 3 * mn + 20000


def analyze_mesh(meta, rounds, out):
    """(a): per probe round, the spread (max - min offset) of the N mesh
    nodes' answers, which cancels the probe's own clock."""
    n = int(meta["nodes"])
    t0 = int(meta["t0_ns"])
    step_t = (int(meta["step_t_ns"]) - t0) / NS if meta.get("step_t_ns") \
        else None
    warm = float(meta["warmup"])
    steady = float(meta["steady"])
    end_t = (int(meta["end_ns"]) - t0) / NS if meta.get("end_ns") else None
    idx = list(range(n))
    mins = min_delays(rounds, idx)
    series = []  # (t, spread or None) of kept rounds
    raw = []  # the same, whatever the LI (all N answer): the clocks' truth
    n_sync = n_drop = n_unsync = 0
    first_sync = None
    per_node_dev = {i: [] for i in idx}
    for r in rounds:
        t = (r["t_ns"] - t0) / NS
        tg = r["targets"][:n]
        if all("error" not in x for x in tg):
            if all(delay_ok(tg[i], mins.get(i)) for i in idx):
                offs = [x["offset_ns"] for x in tg]
                raw.append((t, max(offs) - min(offs)))
        elif raw:
            raw.append((t, None))
        synced = all("error" not in x and x["li"] != 3 for x in tg)
        if not synced:
            n_unsync += 1
            if first_sync is not None:
                series.append((t, None))
            continue
        if first_sync is None:
            first_sync = t
        n_sync += 1
        if not all(delay_ok(tg[i], mins.get(i)) for i in idx):
            n_drop += 1
            continue
        offs = [x["offset_ns"] for x in tg]
        series.append((t, max(offs) - min(offs)))
        if step_t is not None and step_t - steady <= t < step_t:
            med = statistics.median(offs)
            for i in idx:
                per_node_dev[i].append(offs[i] - med)

    def window(a, b):
        return [v for t, v in series if a <= t < b and v is not None]

    hold = 5.0
    out.append("")
    out.append("**(a) %d-node mesh, %s mode** — probe rounds every %s ms: "
               "%d synced (all %d answer, LI != 3), %d before or while not "
               "all synced; %d synced rounds (%.1f %%) discarded by the delay "
               "filter (any delay > 3 × that node's minimum + 20 µs)."
               % (n, meta["mode"], meta["interval_ms"], n_sync, n,
                  n_unsync, n_drop, 100.0 * n_drop / max(1, n_sync)))
    rows = []
    rows.append(("all %d nodes answer synced" % n, fmt_s(first_sync)))
    for lim in (1e6, 1e5, 2e4):
        t = first_below(series, lim, hold, end=end_t)
        rows.append(("spread < %s, and stays < for ≥ 5 s" % fmt_us(lim),
                     fmt_s(t)))
    # What the clocks do before the nodes call themselves synced.
    rows.append(("same, counting LI 3 answers too (< 1 ms / 100 µs / 20 µs)",
                 " / ".join(fmt_s(first_below(raw, lim, hold, end=end_t))
                            for lim in (1e6, 1e5, 2e4))))
    sw = window(step_t - steady, step_t) if step_t is not None else \
        window(warm, float("inf"))
    if sw:
        rows.append(("steady spread (%.0f s before the step): median / p95 "
                     "/ max" % steady, "%s / %s / %s" % (
                         fmt_us(statistics.median(sw)), fmt_us(pct(sw, 95)),
                         fmt_us(max(sw)))))
    else:
        rows.append(("steady spread", "n/a (no synced rounds)"))
    if step_t is not None:
        aw = window(step_t, float("inf"))
        rows.append(("drift step: %s %+.3f → %+.3f ppm at" % (
            meta["step_node"], float(meta["step_old"]),
            float(meta["step_new"])), "%.1f s" % step_t))
        rows.append(("after the step: peak spread",
                     fmt_us(max(aw)) if aw else "n/a"))
        for lim in (1e5, 2e4):
            t = first_below(series, lim, hold, t_from=step_t, end=end_t)
            rows.append(("after the step: back < %s (≥ 5 s)" % fmt_us(lim),
                         "n/a" if t is None else "%.1f s after" % (t - step_t)))
        tail = window(end_t - 30, end_t + 1) if end_t else []
        if tail:
            rows.append(("last 30 s: median / p95 / max", "%s / %s / %s" % (
                fmt_us(statistics.median(tail)), fmt_us(pct(tail, 95)),
                fmt_us(max(tail)))))
    elif meta.get("step_error"):
        rows.append(("drift step", "not done: " + meta["step_error"]))
    out.append("")
    out.append("| (a) %s mode | |" % meta["mode"])
    out.append("|---|---|")
    for k, v in rows:
        out.append("| %s | %s |" % (k, v))
    # Which nodes make the spread: each node's median deviation from the
    # round's median offset over the steady window.
    devs = [(i, statistics.median(v)) for i, v in per_node_dev.items() if v]
    if devs and mins:
        devs.sort(key=lambda x: -abs(x[1]))
        out.append("")
        out.append("Steady window, node offset − round median (median, "
                   "largest first): %s; the probe's minimum delay per node "
                   "%s–%s." % (", ".join("n%d %s" % (i, fmt_us(v, True))
                                         for i, v in devs[:5]),
                               fmt_us(min(mins.values())),
                               fmt_us(max(mins.values()))))
    return series


def truth_model(meta, polls, d):
    """K's network time − real time, as a function of real time (ns).
    K is the reference, so its network time is its local (virtual) clock:
    local = real + offset(t) with offset(t) = offset(t_ref) + drift × (t −
    t_ref). Each `tracking --json` answer of K carries virtual_clock
    {offset_s (now), drift_ppm} and local_ns: real = local_ns − offset, so
    every answer is one exact point of the line; the median intercept of all
    of them is used. Without any, the fallback is K's event log: its `start`
    line's local clock minus the configured offset is the real time at which
    the drift started (the runtime's base), to within the start-up time."""
    pts = []
    drift = None
    for p in polls:
        if p["name"] != "K.tracking" or p["rc"] != 0:
            continue
        try:
            a = json.loads(p["out"])
        except ValueError:
            continue
        vc = find_key(a, "virtual_clock")
        loc = find_key(a, "local_ns")
        if not isinstance(vc, dict) or "offset_s" not in vc or loc is None:
            continue
        off = vc["offset_s"] * NS
        drift = vc.get("drift_ppm", float(meta["k_drift"]))
        pts.append((loc - off, off))
    if pts:
        t_ref = pts[0][0]
        a0 = statistics.median(off - drift * 1e-6 * (t - t_ref)
                               for t, off in pts)
        spread = max(abs(off - drift * 1e-6 * (t - t_ref) - a0)
                     for t, off in pts)
        src = ("K's `tracking --json` virtual_clock (%d answers, they agree "
               "to %s)" % (len(pts), fmt_us(spread)))
        return (lambda t: a0 + drift * 1e-6 * (t - t_ref)), src
    off0 = float(meta["k_offset"]) * NS
    drift = float(meta["k_drift"])
    ev = os.path.join(d, "K.events")
    for line in open(ev) if os.path.exists(ev) else []:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("ev") == "start":
            base = e["local"] - off0
            return (lambda t: off0 + drift * 1e-6 * (t - base)), \
                "K's event log `start` line (local − configured offset)"
    base = int(meta["t0_ns"])
    return (lambda t: off0 + drift * 1e-6 * (t - base)), \
        "the harness's start time (no K tracking, no K start event)"


def error_stats(series, origin, steady_from):
    """series: [(real t ns, error ns)] -> dict of figures; convergence times
    in s from origin (ns), the steady window from steady_from (ns) on."""
    s = sorted(((t - origin) / NS, e) for t, e in series)
    w = [e for t, e in s if t * NS + origin >= steady_from]
    r = {"n": len(s), "first100": first_below(s, 1e5, 0),
         "first10": first_below(s, 1e4, 0),
         "hold10": first_below(s, 1e4, 5.0)}
    if w:
        r.update(med=statistics.median(abs(e) for e in w),
                 p95=pct([abs(e) for e in w], 95), max=max(abs(e) for e in w),
                 bias=statistics.median(w))
    return r


def chrony_modes(path):
    """From chrony's measurements.log: how many measurements, how many in
    interleaved mode, and the local TX/RX timestamp sources (D/K/H)."""
    n = inter = 0
    tx, rx = {}, {}
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            x = line.split()
            if len(x) < 20 or not x[0][:1].isdigit():
                continue
            n += 1
            inter += "I" in x[17]
            tx[x[18]] = tx.get(x[18], 0) + 1
            rx[x[19]] = rx.get(x[19], 0) + 1
    if n == 0:
        return None

    def share(d):
        return "/".join("%s %.0f %%" % (k, 100.0 * v / n)
                        for k, v in sorted(d.items()))
    return "%d measurements, interleaved %.0f %%, local TX stamps %s, RX %s" \
        % (n, 100.0 * inter / n, share(tx), share(rx))


def analyze_truth(meta, rounds, polls, d, out):
    """(b): errors against truth of P (p2pclock) and of each chrony client,
    both from their own reports and as seen from outside by the probe."""
    truth, src = truth_model(meta, polls, d)
    t0 = int(meta["t0_ns"])
    w_from = float(meta["warmup"])
    names = meta.get("truth_targets", "").split()
    n = int(meta["nodes"])
    col_idx = {name: n + k for k, name in enumerate(names)}
    mins = min_delays(rounds, col_idx.values())
    cols = []  # (label, stats)
    # Nobody can follow K before K calls itself synced (it answers LI 3
    # until its election is over): convergence counts from K's first synced
    # answer to the probe, which both p2pclock and chrony wait for alike.
    t_k = None
    for r in rounds:
        k = r["targets"][col_idx["K"]] if "K" in col_idx else {}
        if "error" not in k and k.get("li", 3) != 3:
            t_k = r["t_ns"]
            break
    origin = t_k if t_k is not None else t0
    steady_from = t0 + w_from * NS

    def probe_series(name):
        i = col_idx[name]
        s = []
        for r in rounds:
            t = r["targets"][i]
            if delay_ok(t, mins.get(i)):
                s.append((r["t_ns"], t["offset_ns"] - truth(r["t_ns"])))
        return s

    # P, from its own tracking: P's local clock is the real clock, so its
    # offset_ns (network time − local) is its estimate of K − real.
    sp, sraw = [], []
    for p in polls:
        if p["rc"] != 0 or not p["name"].startswith("P."):
            continue
        try:
            a = json.loads(p["out"])
        except ValueError:
            continue
        if p["name"] == "P.tracking":
            off, loc = find_key(a, "offset_ns"), find_key(a, "local_ns")
            if off is not None and loc is not None:
                sp.append((loc, off - truth(loc)))
        elif p["name"] == "P.sources":
            k = find_source(a, "K")
            if k is not None and k.get("raw_offset_ns") is not None:
                tm = (p["t0"] + p["t1"]) // 2
                sraw.append((tm, k["raw_offset_ns"] - truth(tm)))
    if sp:
        cols.append(("p2pclock P: own tracking", error_stats(sp, origin, steady_from)))
    if "P" in col_idx:
        cols.append(("p2pclock P: probed",
                     error_stats(probe_series("P"), origin, steady_from)))
    if sraw:
        cols.append(("p2pclock P: sources raw_offset of K",
                     error_stats(sraw, origin, steady_from)))
    for c in meta.get("chronys", "").split():
        sc = []
        for p in polls:
            if p["name"] != c + ".tracking" or p["rc"] != 0:
                continue
            f = p["out"].strip().split(",")
            if len(f) < 14:
                continue
            # chronyc -c tracking, field 5: "System time", the correction
            # chrony would apply: positive = local clock slow of NTP time,
            # i.e. its estimate of server − local (checked against a faked
            # server: +0.2646 s for a server 0.2646 s ahead). With -x the
            # local clock is the real one, untouched.
            tm = (p["t0"] + p["t1"]) // 2
            sc.append((tm, float(f[4]) * NS - truth(tm)))
        label = "chrony %s (%s)" % (c, meta.get(c + "_desc", ""))
        if sc:
            cols.append((label + ": chronyc tracking",
                         error_stats(sc, origin, steady_from)))
        if c in col_idx:
            cols.append((label + ": probed",
                         error_stats(probe_series(c), origin, steady_from)))
    out.append("")
    out.append("**(b) truth known: K = reference, +%s s and %+g ppm; P "
               "(real clock) follows K.** Truth from %s. Error = estimate of "
               "K − real − truth; steady window from %.0f s to the end. "
               "\"probed\" = ntpprobe's offset of that node's NTP port "
               "(delay-filtered), the same external yardstick for all."
               % (meta["k_offset"], float(meta["k_drift"]), src, w_from))
    if "K" in col_idx:
        kc = error_stats(probe_series("K"), origin, steady_from)
        if "med" in kc:
            out.append("")
            out.append("Yardstick check, K probed − truth: median %s (bias), "
                       "p95 |.| %s — the probe's own error on this machine."
                       % (fmt_us(kc["bias"], True), fmt_us(kc["p95"])))
    out.append("")
    out.append("K answers synced (LI != 3) from %s after the start; the "
               "convergence times below count from then." % (
                   fmt_s((t_k - t0) / NS) if t_k else "never (times from "
                   "the start)"))
    last_t = last_s = None
    for p in polls:
        if p["rc"] == 0 and p["name"] == "P.tracking":
            last_t = p
        elif p["rc"] == 0 and p["name"] == "P.sources":
            last_s = p
    try:
        a = json.loads(last_t["out"]) if last_t else {}
        k = find_source(json.loads(last_s["out"]), "K") if last_s else None
        out.append("P at the end: synced %s, ref %s, source %s; K in P's "
                   "sources: %s%s." % (
                       a.get("synced"), a.get("ref"), a.get("source"),
                       k.get("state") if k else "absent",
                       "" if not k else ", interleaved %s, kernel stamps %s"
                       % (k.get("interleaved"), k.get("kernel"))))
    except (ValueError, AttributeError):
        pass
    for c in meta.get("chronys", "").split():
        m = chrony_modes(os.path.join(d, c + ".log", "measurements.log"))
        if m:
            out.append("chrony %s: %s." % (c, m))
    if not cols:
        out.append("")
        out.append("(no data for (b))")
        return
    out.append("")
    out.append("| (b) %s run: error of | first < 100 µs | first < 10 µs "
               "| < 10 µs for ≥ 5 s | steady abs. error median / p95 / max "
               "| steady bias | samples |" % meta["mode"])
    out.append("|---|---|---|---|---|---|---|")
    for label, s in cols:
        out.append("| %s | %s | %s | %s | %s / %s / %s | %s | %d |" % (
            label, fmt_s(s["first100"]), fmt_s(s["first10"]),
            fmt_s(s["hold10"]), fmt_us(s.get("med")), fmt_us(s.get("p95")),
            fmt_us(s.get("max")), fmt_us(s.get("bias"), True), s["n"]))
    # The ratio the issue asks about: ours over chrony's, own reports.
    ours = next((s for l, s in cols if l.startswith("p2pclock P: own")), None)
    for l, s in cols:
        if l.startswith("chrony") and l.endswith("chronyc tracking") and ours:
            def ratio(a, b):
                return "n/a" if a is None or b in (None, 0) else \
                    "%.2f" % (a / b)
            out.append("")
            out.append("Ratio p2pclock P / %s (own reports): time to "
                       "< 100 µs %s, to < 10 µs %s; steady median abs. error "
                       "%s (< 1: p2pclock better)." % (
                           l.split(":")[0], ratio(ours["first100"],
                                                  s["first100"]),
                           ratio(ours["first10"], s["first10"]),
                           ratio(ours.get("med"), s.get("med"))))


def cmd_analyze(d):
    meta = read_meta(d)
    rounds = probe_rounds(d)
    polls = read_jsonl(os.path.join(d, "poll.jsonl"))
    out = []
    out.append("### %s mode (seed %s)" % (meta["mode"], meta["seed"]))
    if not rounds:
        out.append("")
        out.append("no probe rounds recorded")
    else:
        analyze_mesh(meta, rounds, out)
        if meta.get("truth_targets"):
            analyze_truth(meta, rounds, polls, d, out)
    print("\n".join(out))


def cmd_header():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print("nproc %d, %s, load average %s" % (os.cpu_count() or 0, cpu, load))


def main(argv):
    if len(argv) >= 2 and argv[1] == "ports" and len(argv) == 3:
        cmd_ports(int(argv[2]))
    elif len(argv) >= 2 and argv[1] == "plan" and len(argv) == 4:
        cmd_plan(int(argv[2]), int(argv[3]))
    elif len(argv) >= 5 and argv[1] == "poll":
        cmds, rest, fast = [], argv[5:], (0.0, None)
        if rest[:1] == ["--fast"] and len(rest) >= 3:
            fast = (float(rest[1]), float(rest[2]))
            rest = rest[3:]
        while rest:
            if rest[0] != "--cmd" or len(rest) < 4:
                sys.exit(__doc__)
            cmds.append((rest[1], max(1, int(rest[2])), shlex.split(rest[3])))
            rest = rest[4:]
        cmd_poll(argv[2], float(argv[3]), float(argv[4]), cmds, *fast)
    elif len(argv) == 3 and argv[1] == "analyze":
        cmd_analyze(argv[2])
    elif len(argv) == 2 and argv[1] == "header":
        cmd_header()
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
