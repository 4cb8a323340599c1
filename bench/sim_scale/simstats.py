#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/sim_scale: turn the runs of run.sh into its markdown tables.

  simstats.py RUNS.tsv

RUNS.tsv (written by run.sh, one line per simulator run, tab-separated):
group, nodes, topology, mode, rate, duration_s, exit status (124 =
stopped by `timeout`), wall seconds and peak RSS in KiB (GNU time %e, %M),
the run's CSV (`p2pclock sim --csv`), a note ("oom-CAP": it ran out of
memory under run.sh's address-space cap CAP; "budget-SIZE": the simulator stopped
it at its memory budget, exit 3), CPU seconds (user + system). Every
figure below comes from those columns and the CSVs, never from the
command's human summary, so a change in its wording cannot change the
numbers.

Definitions (all over the CSV's one row per virtual second):
- events: the sum of the events column; events/s is per CPU second (the
  simulator is single-threaded: on a quiet machine CPU time = wall time;
  on a busy one wall time grows and CPU time does not).
- spread: max - min network time over synced nodes. "final" is the last
  row; "p50 / max, 2nd half" are over the rows of the second half of the
  virtual seconds reached.
- err p99: |network time - true time|, 99th percentile over synced nodes,
  last row. In reference mode this includes the reference's own offset from
  true time, so it measures the clock model more than the protocol.
- conv: the first second from which spread < 100 us held, with every alive
  node synced, to the last row (the simulator's own definition).
- B/msg: causal metadata bytes per message sent, averaged over messages
  (the per-second meta_per_msg weighted by msgs_sent).
"""

import csv
import math
import sys


def fmt_ns(v):
    if v is None:
        return "–"
    a = abs(v)
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if a >= scale:
            return "%.3g %s" % (v / scale, unit)
    return "%.3g ns" % v


def fmt_si(v):
    if v is None:
        return "–"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return "%.3g%s" % (v / scale, unit)
    return "%.3g" % v


def fmt_mem(kib):
    if kib is None:
        return "–"
    if kib >= 1024 * 1024:
        return "%.2f GiB" % (kib / 1024 / 1024)
    return "%.0f MiB" % (kib / 1024)


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, int(q * len(sorted_vals)))
    return sorted_vals[k]


def read_rows(path):
    rows = []
    try:
        with open(path, newline="") as f:
            r = csv.DictReader(f)
            for rec in r:
                try:
                    rows.append({k: float(v) for k, v in rec.items()})
                except (TypeError, ValueError):
                    pass  # a run stopped while writing its last line
    except OSError:
        pass
    return rows


def meta_avg(rows):
    sent = sum(r["msgs_sent"] for r in rows)
    if not sent:
        return None
    return sum(r["meta_per_msg"] * r["msgs_sent"] for r in rows) / sent


def conv(rows):
    start = None
    for r in rows:
        ok = r["synced"] >= 2 and r["synced"] == r["alive"] and r["spread_ns"] < 1e5
        if ok and start is None:
            start = r["t_s"]
        elif not ok:
            start = None
    return start


class Run:
    def __init__(self, f):
        (self.group, n, self.topo, self.mode, rate, dur, rc, wall, rss,
         self.csv) = f[:10]
        self.note = f[10] if len(f) > 10 else ""
        self.cpu = (float(f[11]) if len(f) > 11 and f[11] not in ("", "?")
                    else None)
        self.nodes, self.rate, self.dur = int(n), float(rate), float(dur)
        self.rc = int(rc)
        self.wall = float(wall) if wall not in ("", "?") else None
        self.rss = float(rss) if rss not in ("", "?") else None
        self.rows = read_rows(self.csv)
        rows = self.rows
        self.reached = rows[-1]["t_s"] if rows else 0
        self.events = sum(r["events"] for r in rows) if rows else None
        self.sent = sum(r["msgs_sent"] for r in rows)
        self.deliv = sum(r["msgs_delivered"] for r in rows)
        self.meta = meta_avg(rows)
        last = rows[-1] if rows else None
        self.final_spread = last["spread_ns"] if last and last["synced"] else None
        self.err_p99 = last["err_p99_ns"] if last and last["synced"] else None
        self.alive = int(last["alive"]) if last else 0
        self.synced = int(last["synced"]) if last else 0
        self.buffered = int(last["buffered"]) if last else 0
        self.bviol = int(sum(r["bound_violations"] for r in rows))
        half = [r["spread_ns"] for r in rows
                if r["t_s"] > self.reached / 2 and r["synced"] > 0]
        half.sort()
        self.sp50, self.spmax = pct(half, 0.5), (half[-1] if half else None)
        self.conv = conv(rows)

    def status(self):
        if self.rc == 0:
            return "ok"
        if self.note.startswith("oom-"):
            return "**out of memory** at the %s cap, at %.0f s virtual" % (
                self.note[4:], self.reached)
        if self.note.startswith("budget-"):
            return "**stopped at the memory budget** (%s), at %.0f s virtual" % (
                self.note[7:], self.reached)
        if self.rc == 1 and self.reached >= self.dur:
            return "ok (an expectation failed: see its .out)"
        if self.rc in (124, 137):
            return "**timed out** at %.0f s virtual" % self.reached
        return "**failed** (exit %d)" % self.rc

    def label(self):
        return "%s nodes, %s, rate %g" % (fmt_si(self.nodes), self.topo, self.rate)


def main():
    runs = []
    with open(sys.argv[1]) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 10:
                runs.append(Run(fields))
    out = []
    p = out.append

    scale = [r for r in runs if r.group == "scale"]
    if scale:
        p("### Cost: wall time and peak memory\n")
        p("| run | virtual s | wall s | CPU s | virtual s per CPU s | events | "
          "events/s (CPU) | peak RSS | status |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in scale:
            eps = r.events / r.cpu if r.events and r.cpu else None
            p("| %s | %.0f / %.0f | %s | %s | %s | %s | %s | %s | %s |" % (
                r.label(), r.reached, r.dur,
                "%.1f" % r.wall if r.wall is not None else "–",
                "%.1f" % r.cpu if r.cpu is not None else "–",
                "%.2f" % (r.reached / r.cpu) if r.cpu else "–",
                fmt_si(r.events), fmt_si(eps), fmt_mem(r.rss), r.status()))
        p("")
        p("### Clock error and messages\n")
        p("| run | synced / alive at end | conv | final spread | spread p50 / max, "
          "2nd half | err p99 vs true (end) | bound violations | msgs sent / "
          "delivered | buffered at end | metadata B/msg |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in scale:
            p("| %s | %d / %d | %s | %s | %s / %s | %s | %d | %s / %s | %d | %s |" % (
                r.label(), r.synced, r.alive,
                "%.0f s" % r.conv if r.conv is not None else "never",
                fmt_ns(r.final_spread), fmt_ns(r.sp50), fmt_ns(r.spmax),
                fmt_ns(r.err_p99), r.bviol, fmt_si(r.sent), fmt_si(r.deliv),
                r.buffered, "%.0f" % r.meta if r.meta is not None else "–"))
        p("")
        big = [r for r in scale if r.nodes >= 10000 and r.rate == 0]
        for r in big:
            if r.rc == 0 and r.wall is not None and r.rss is not None:
                # On a busy machine wall time is inflated; the CPU time is
                # what the same run takes on a quiet one.
                t = r.cpu if r.cpu is not None else r.wall
                p("Target (10,000 nodes × %.0f virtual s in < 600 wall s, < 8 GiB): "
                  "%.0f s wall, %s s CPU (%.2f× the time budget), %s peak "
                  "(%.2f× the memory budget): %s.\n" % (
                      r.dur, r.wall, "%.0f" % r.cpu if r.cpu is not None else "?",
                      t / 600, fmt_mem(r.rss), r.rss / (8 * 1024 * 1024),
                      "**met**" if t < 600 and r.rss < 8 * 1024 * 1024
                      else "**missed**"))
            else:
                t = r.cpu if r.cpu else r.wall
                v = r.reached / t if t else 0
                p("Target (10,000 nodes × %.0f virtual s in < 600 wall s, < 8 GiB): "
                  "**missed** — %s after %.0f s wall, %.0f virtual s reached "
                  "(%.2f virtual s per CPU s: the whole run would take ~%.0f s), "
                  "%s peak so far.\n" % (
                      r.dur, r.status(), r.wall or 0, r.reached, v,
                      r.dur / v if v else float("nan"), fmt_mem(r.rss)))

    growth = [r for r in runs if r.group == "growth"]
    if growth:
        p("### Causal metadata per message as N grows\n")
        p("| nodes | topology | rate | virtual s | msgs sent | metadata B/msg | "
          "B/msg in the last 10 s | B/msg per node | CPU s | status |")
        p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in growth:
            tail = meta_avg([x for x in r.rows if x["t_s"] > r.reached - 10])
            p("| %d | %s | %g | %.0f | %s | %s | %s | %s | %s | %s |" % (
                r.nodes, r.topo, r.rate, r.reached, fmt_si(r.sent),
                "%.0f" % r.meta if r.meta is not None else "–",
                "%.0f" % tail if tail is not None else "–",
                "%.2f" % (r.meta / r.nodes) if r.meta is not None else "–",
                "%.1f" % r.cpu if r.cpu is not None else "–", r.status()))
        p("")

    # Metadata over time: the longest run with traffic.
    traffic = [r for r in scale if r.rate > 0 and r.sent]
    if traffic:
        r = max(traffic, key=lambda x: (x.nodes, x.reached))
        step = 60 if r.reached >= 120 else max(1, int(r.reached // 10) or 1)
        p("### Metadata over time: %s\n" % r.label())
        p("| virtual s | msgs sent | delivered | metadata B/msg | buffered at end |")
        p("|---|---:|---:|---:|---:|")
        t = 0
        while t < r.reached:
            win = [x for x in r.rows if t < x["t_s"] <= t + step]
            if win:
                m = meta_avg(win)
                p("| %d–%d | %s | %s | %s | %d |" % (
                    t, min(t + step, r.reached), fmt_si(sum(x["msgs_sent"] for x in win)),
                    fmt_si(sum(x["msgs_delivered"] for x in win)),
                    "%.0f" % m if m is not None else "–", int(win[-1]["buffered"])))
            t += step
        p("")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
