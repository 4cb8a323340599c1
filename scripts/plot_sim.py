#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Chart one simulator run: clock error over virtual time, as an SVG.

Reads the CSV that `p2pclock sim --csv FILE` writes (one row per virtual
second; header t_s,alive,synced,err_p50_ns,err_p99_ns,err_max_ns,spread_ns,
bound_violations,msgs_sent,msgs_delivered,meta_per_msg,buffered,bytes,events,
then meta_p99,meta_max,deps_p99,state_mean,state_max,expired,lat_p99_ns,
bcast_lat_p99_ns,hops_p99,unaddressable, not charted)
and writes a self-contained SVG with the standard library only (no gnuplot,
no matplotlib), so a chart can be made wherever the simulator runs.

  scripts/plot_sim.py run.csv -o chart.svg [--title T]
      [--series spread,err_p99] [--linear] [--counts]

The main series is spread_ns: the largest disagreement between two synced
nodes' network times, what the protocol promises to keep small. err_* are
|network time - true time| over synced nodes; in reference mode network
time follows the reference's own clock, so they include the reference's
offset from true time (often most of a second) and are off by default.
--series picks from spread, err_p50, err_p99, err_max. The y axis is
logarithmic (values below 1 ns are drawn at 1 ns) unless --linear. Seconds
where no node is synced carry no error figure and are left out: a series
is broken there instead of diving to zero. --counts adds a second panel
with the alive and synced node counts and the messages held back by causal
delivery (buffered, right axis).

The output depends only on the input and the options (no timestamps, fixed
number formatting): the same CSV gives the same SVG, byte for byte. An
empty or header-only CSV gives a chart that says "no data"; malformed rows
(a run still writing its last line) are skipped with one warning.
Exit status: 0 written, 1 unreadable input, 2 usage.
"""

import argparse
import csv
import math
import os
import sys
from xml.sax.saxutils import escape

SERIES = {
    # name: (column, legend label, colour, dash)
    "spread": ("spread_ns", "spread (max pairwise disagreement)", "#1f77b4", ""),
    "err_p50": ("err_p50_ns", "|error| p50 vs true time", "#2ca02c", "6,3"),
    "err_p99": ("err_p99_ns", "|error| p99 vs true time", "#ff7f0e", "6,3"),
    "err_max": ("err_max_ns", "|error| max vs true time", "#d62728", "2,3"),
}
FLOOR_NS = 1.0  # log axis floor: a 0 ns spread is drawn at 1 ns

W = 860
ML, MR, MT = 78, 70, 58  # margins: left, right (room for a right axis), top
PANEL_H = 300  # main panel plot height
COUNTS_H = 150  # counts panel plot height
GAP = 62  # between panels: the main panel's x labels and the next title
MB = 52  # bottom margin: x labels and axis title
FONT = "font-family=\"DejaVu Sans,Helvetica,Arial,sans-serif\""


def fmt_num(v):
    """Short, deterministic number text: 1, 2.5, 10, 0.2."""
    if v == 0:
        return "0"
    s = "%.3g" % v
    if "e" in s:
        s = "%.0f" % v
    return s


def fmt_ns(v):
    """A duration in ns as ns, µs, ms or s."""
    if v == 0:
        return "0"
    a = abs(v)
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("\u00b5s", 1e3)):
        if a >= scale:
            return "%s %s" % (fmt_num(v / scale), unit)
    return "%s ns" % fmt_num(v)


def nice_step(span, target):
    """A 1-2-5 step that cuts span into about target pieces."""
    if span <= 0:
        return 1.0
    raw = span / max(target, 1)
    p = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * p >= raw * 0.999:
            return m * p
    return 10 * p


def lin_ticks(lo, hi, target):
    step = nice_step(hi - lo, target)
    t = math.ceil(lo / step - 1e-9) * step
    out = []
    while t <= hi + step * 1e-9:
        out.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return out


def up_ticks(hi, target, integer=False):
    """Ticks 0, step, ... up to the first one at or above hi."""
    step = nice_step(hi, target)
    if integer:
        step = max(step, 1.0)  # counts: no 0.5 of a node
    n = max(1, int(math.ceil(hi / step - 1e-9)))
    return [k * step for k in range(n + 1)]


def c(v):
    """A coordinate: one decimal, so output is stable and small."""
    return "%.1f" % v


def read_csv(path):
    """Returns (rows as dicts of floats, skipped row count, columns)."""
    rows, skipped = [], 0
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if not header:
            return [], 0, []
        header = [h.strip() for h in header]
        for rec in r:
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if len(rec) != len(header):
                skipped += 1
                continue
            try:
                vals = [float(x) for x in rec]
            except ValueError:
                skipped += 1
                continue
            if not all(math.isfinite(v) for v in vals):
                skipped += 1
                continue
            rows.append(dict(zip(header, vals)))
    return rows, skipped, header


class Svg:
    def __init__(self):
        self.out = []

    def add(self, s):
        self.out.append(s)

    def text(self, x, y, s, size=12, anchor="start", extra=""):
        self.add(
            '<text x="%s" y="%s" font-size="%d" text-anchor="%s"%s>%s</text>'
            % (c(x), c(y), size, anchor, extra, escape(s))
        )

    def line(self, x1, y1, x2, y2, stroke="#000", width=1, dash=""):
        d = ' stroke-dasharray="%s"' % dash if dash else ""
        self.add(
            '<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" '
            'stroke-width="%s"%s/>' % (c(x1), c(y1), c(x2), c(y2), stroke, width, d)
        )

    def polyline(self, pts, stroke, dash="", width=1.6, cls=""):
        d = ' stroke-dasharray="%s"' % dash if dash else ""
        k = ' class="%s"' % cls if cls else ""
        self.add(
            '<polyline%s fill="none" stroke="%s" stroke-width="%s"%s '
            'stroke-linejoin="round" points="%s"/>'
            % (k, stroke, width, d, " ".join("%s,%s" % (c(x), c(y)) for x, y in pts))
        )


def segments(rows, key, ok):
    """Runs of consecutive rows where ok(row) holds: (t, value) lists."""
    segs, cur = [], []
    for r in rows:
        if ok(r):
            cur.append((r["t_s"], r[key]))
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    return segs


def legend(svg, x_right, y_top, items):
    """items: (label, colour, dash); a boxed legend, top right."""
    if not items:
        return
    wid = 28 + max(len(lbl) for lbl, _, _ in items) * 6.6
    h = 8 + 17 * len(items)
    x0 = x_right - wid - 8
    svg.add(
        '<rect x="%s" y="%s" width="%s" height="%s" fill="#fff" '
        'fill-opacity="0.85" stroke="#bbb"/>' % (c(x0), c(y_top + 8), c(wid), c(h))
    )
    for k, (lbl, col, dash) in enumerate(items):
        y = y_top + 8 + 13 + 17 * k
        svg.line(x0 + 6, y - 4, x0 + 24, y - 4, col, 2, dash)
        svg.text(x0 + 28, y, lbl, 11)


def x_axis(svg, x0, x1, y, tx, tmin, tmax, label):
    svg.line(x0, y, x1, y)
    for t in lin_ticks(tmin, tmax, 8):
        x = tx(t)
        svg.line(x, y, x, y + 5)
        svg.text(x, y + 18, fmt_num(t), 11, "middle")
    if label:
        svg.text((x0 + x1) / 2, y + 38, label, 12, "middle")


def main_panel(svg, rows, names, linear, top, tmin, tmax, tx, has_synced):
    x0, x1 = ML, W - MR
    y0, y1 = top, top + PANEL_H  # y0 top edge, y1 bottom edge
    svg.add('<rect x="%s" y="%s" width="%s" height="%s" fill="none" '
            'stroke="#888"/>' % (c(x0), c(y0), c(x1 - x0), c(y1 - y0)))

    def ok(r):
        return not has_synced or r["synced"] > 0

    series = []
    for n in names:
        col, lbl, colour, dash = SERIES[n]
        segs = segments(rows, col, ok)
        if linear:
            segs = [[(t, max(v, 0.0)) for t, v in s] for s in segs]
        else:
            segs = [[(t, max(v, FLOOR_NS)) for t, v in s] for s in segs]
        series.append((n, lbl, colour, dash, segs))
    vals = [v for *_, segs in series for s in segs for _, v in s]

    if linear:
        vmax = max(vals) if vals else 1.0
        ticks = up_ticks((vmax if vmax > 0 else 1.0) * 1.15, 6)
        lo, hi = 0.0, ticks[-1]

        def ty(v):
            return y1 - (v - lo) / (hi - lo) * (y1 - y0)

        minor = []
    else:
        vmin = min(vals) if vals else FLOOR_NS
        vmax = max(vals) if vals else 1e6
        dlo = math.floor(math.log10(vmin) + 1e-9)
        dhi = math.ceil(math.log10(vmax) - 1e-9)
        # headroom for the legend: the top series stays clear of the frame
        if math.log10(vmax) > dhi - 0.3:
            dhi += 1
        if dhi <= dlo:
            dhi = dlo + 1
        lo, hi = float(dlo), float(dhi)

        def ty(v):
            return y1 - (math.log10(v) - lo) / (hi - lo) * (y1 - y0)

        every = 1 if dhi - dlo <= 10 else 2
        ticks = [10.0 ** d for d in range(dlo, dhi + 1) if (d - dlo) % every == 0]
        minor = [m * 10.0 ** d for d in range(dlo, dhi) for m in range(2, 10)]
        if dhi - dlo <= 2:  # few decades: label 2x and 5x too
            ticks = sorted(ticks + [m * 10.0 ** d for d in range(dlo, dhi)
                                    for m in (2, 5)])

    for v in minor:
        y = ty(v)
        svg.line(x0, y, x1, y, "#eee", 1)
    for v in ticks:
        y = ty(v)
        svg.line(x0, y, x1, y, "#ddd", 1)
        svg.line(x0 - 5, y, x0, y)
        svg.text(x0 - 8, y + 4, fmt_ns(v), 11, "end")
    for t in lin_ticks(tmin, tmax, 8):
        svg.line(tx(t), y0, tx(t), y1, "#f0f0f0", 1)
    svg.add(
        '<text x="%s" y="%s" font-size="12" text-anchor="middle" '
        'transform="rotate(-90 %s %s)">%s</text>'
        % (c(16), c((y0 + y1) / 2), c(16), c((y0 + y1) / 2),
           "clock error" + ("" if linear else " (log scale)"))
    )
    x_axis(svg, x0, x1, y1, tx, tmin, tmax, "virtual time, s")

    for n, lbl, colour, dash, segs in series:
        for s in segs:
            svg.polyline([(tx(t), ty(v)) for t, v in s], colour, dash, cls=n)
    legend(svg, x1, y0, [(lbl, colour, dash) for _, lbl, colour, dash, _ in series])
    if not vals:
        svg.text((x0 + x1) / 2, (y0 + y1) / 2, "no synced seconds", 14, "middle",
                 ' fill="#888"')


def counts_panel(svg, rows, top, tmin, tmax, tx):
    x0, x1 = ML, W - MR
    y0, y1 = top, top + COUNTS_H
    svg.add('<rect x="%s" y="%s" width="%s" height="%s" fill="none" '
            'stroke="#888"/>' % (c(x0), c(y0), c(x1 - x0), c(y1 - y0)))
    nmax = max([r.get("alive", 0) for r in rows] + [r.get("synced", 0) for r in rows]
               + [1])
    nt = up_ticks(nmax * 1.3, 4, True)  # headroom for the legend
    nhi = nt[-1]
    bmax = max([r.get("buffered", 0) for r in rows] + [1])
    bt = up_ticks(bmax * 1.3, 4, True)
    bhi = bt[-1]

    def tyn(v):
        return y1 - v / nhi * (y1 - y0)

    def tyb(v):
        return y1 - v / bhi * (y1 - y0)

    for v in nt:
        svg.line(x0, tyn(v), x1, tyn(v), "#ddd", 1)
        svg.line(x0 - 5, tyn(v), x0, tyn(v))
        svg.text(x0 - 8, tyn(v) + 4, fmt_num(v), 11, "end")
    for v in bt:
        svg.line(x1, tyb(v), x1 + 5, tyb(v), "#9467bd")
        svg.text(x1 + 8, tyb(v) + 4, fmt_num(v), 11, "start", ' fill="#9467bd"')
    svg.add(
        '<text x="%s" y="%s" font-size="12" text-anchor="middle" '
        'transform="rotate(-90 %s %s)">nodes</text>'
        % (c(16), c((y0 + y1) / 2), c(16), c((y0 + y1) / 2))
    )
    xr = W - 10
    svg.add(
        '<text x="%s" y="%s" font-size="12" text-anchor="middle" fill="#9467bd" '
        'transform="rotate(90 %s %s)">buffered messages</text>'
        % (c(xr), c((y0 + y1) / 2), c(xr), c((y0 + y1) / 2))
    )
    x_axis(svg, x0, x1, y1, tx, tmin, tmax, "virtual time, s")
    items = []
    for key, lbl, colour, dash, ty in (
        ("alive", "alive nodes", "#555", "", tyn),
        ("synced", "synced nodes", "#17becf", "5,3", tyn),
        ("buffered", "buffered messages (right axis)", "#9467bd", "", tyb),
    ):
        if key not in rows[0]:
            continue
        pts = [(tx(r["t_s"]), ty(r[key])) for r in rows]
        svg.polyline(pts, colour, dash, cls=key)
        items.append((lbl, colour, dash))
    legend(svg, x1, y0, items)


def render(rows, names, title, linear, counts, subtitle):
    has_synced = bool(rows) and "synced" in rows[0]
    h = MT + PANEL_H + MB
    if counts and rows:
        h += GAP + COUNTS_H
    svg = Svg()
    svg.add('<?xml version="1.0" encoding="UTF-8"?>')
    svg.add(
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
        'viewBox="0 0 %d %d" %s>' % (W, h, W, h, FONT)
    )
    svg.add('<rect width="100%" height="100%" fill="#fff"/>')
    svg.text(W / 2, 22, title, 15, "middle", ' font-weight="bold"')
    svg.text(W / 2, 40, subtitle, 11, "middle", ' fill="#555"')
    if not rows:
        x0, x1 = ML, W - MR
        svg.add('<rect x="%s" y="%s" width="%s" height="%s" fill="none" '
                'stroke="#888"/>' % (c(x0), c(MT), c(x1 - x0), c(PANEL_H)))
        svg.text(W / 2, MT + PANEL_H / 2, "no data", 14, "middle", ' fill="#888"')
    else:
        tmin = min(r["t_s"] for r in rows)
        tmax = max(r["t_s"] for r in rows)
        if tmax - tmin < 1e-9:
            tmin, tmax = tmin - 0.5, tmax + 0.5
        x0, x1 = ML, W - MR

        def tx(t):
            return x0 + (t - tmin) / (tmax - tmin) * (x1 - x0)

        main_panel(svg, rows, names, linear, MT, tmin, tmax, tx, has_synced)
        if counts:
            counts_panel(svg, rows, MT + PANEL_H + GAP, tmin, tmax, tx)
    svg.add("</svg>")
    return "\n".join(svg.out) + "\n"


def summary(rows, names):
    if not rows:
        return "0 seconds"
    last = rows[-1]
    parts = ["t = %s..%s s" % (fmt_num(rows[0]["t_s"]), fmt_num(last["t_s"]))]
    if "alive" in last and "synced" in last:
        parts.append("at the end %d alive, %d synced"
                     % (int(last["alive"]), int(last["synced"])))
    for n in names:
        col = SERIES[n][0]
        parts.append("%s %s" % (n, fmt_ns(last[col])))
    return "; ".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Chart a `p2pclock sim --csv` run as an SVG "
        "(clock error over virtual time).")
    ap.add_argument("csv", help="the CSV from p2pclock sim --csv")
    ap.add_argument("-o", "--output", required=True, help="SVG file to write ('-': stdout)")
    ap.add_argument("--title", help="chart title (default: the CSV's file name)")
    ap.add_argument("--series", default="spread",
                    help="comma list of %s (default: spread)" % ",".join(SERIES))
    ap.add_argument("--linear", action="store_true", help="linear y axis")
    ap.add_argument("--counts", action="store_true",
                    help="add a panel: alive, synced, buffered messages")
    a = ap.parse_args(argv)

    names = []
    for n in a.series.split(","):
        n = n.strip()
        if n.endswith("_ns"):
            n = n[:-3]
        if n not in SERIES:
            ap.error("--series: unknown series %r (one of %s)" % (n, ",".join(SERIES)))
        if n not in names:
            names.append(n)

    try:
        rows, skipped, header = read_csv(a.csv)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        print("plot_sim.py: %s: %s" % (a.csv, e), file=sys.stderr)
        return 1
    if header:
        need = ["t_s"] + [SERIES[n][0] for n in names]
        if a.counts:
            need += ["alive", "synced", "buffered"]
        missing = [k for k in need if k not in header]
        if missing:
            print("plot_sim.py: %s: no column %s (header: %s)"
                  % (a.csv, ",".join(missing), ",".join(header)), file=sys.stderr)
            return 1
    if skipped:
        print("plot_sim.py: %s: skipped %d malformed row(s)" % (a.csv, skipped),
              file=sys.stderr)
    rows.sort(key=lambda r: r["t_s"])
    title = a.title if a.title is not None else os.path.basename(a.csv)
    out = render(rows, names, title, a.linear, a.counts, summary(rows, names))
    if a.output == "-":
        sys.stdout.write(out)
    else:
        with open(a.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
