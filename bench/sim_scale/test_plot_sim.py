#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Test of scripts/plot_sim.py: it is given CSVs made here (the header of
`p2pclock sim --csv`) and must write SVG that parses as XML, with one
polyline per series segment, the same bytes for the same input, and the
documented handling of empty input, zeros on the log axis, unsynced
seconds, truncated rows and bad options.

  test_plot_sim.py [PLOT_SIM_PY]
"""

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    HERE, "..", "..", "scripts", "plot_sim.py")
NS = "{http://www.w3.org/2000/svg}"
HEADER = ("t_s,alive,synced,err_p50_ns,err_p99_ns,err_max_ns,spread_ns,"
          "bound_violations,msgs_sent,msgs_delivered,meta_per_msg,buffered,"
          "bytes,events")

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


def write_csv(path, rows, header=HEADER, tail=""):
    with open(path, "w") as f:
        if header is not None:
            f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
        f.write(tail)


def row(t, synced, spread, p99=970000000, alive=50, buffered=0):
    return [t, alive, synced, p99 // 2, p99, p99 + 1000, spread, 0, 10, 10,
            120.5, buffered, 4000, 20000]


def plot(csv, svg, *opts):
    p = subprocess.run([sys.executable, PLOT, csv, "-o", svg] + list(opts),
                       capture_output=True, text=True)
    return p.returncode, p.stderr


def polylines(svg):
    root = ET.parse(svg).getroot()
    return root, [e.get("class") for e in root.iter(NS + "polyline")]


def texts(root):
    return [e.text or "" for e in root.iter(NS + "text")]


def main():
    with tempfile.TemporaryDirectory() as d:
        def f(name):
            return os.path.join(d, name)

        # 3 unsynced seconds, then 57 synced: the series start at t = 4.
        good = [row(t, 0 if t <= 3 else 50, 0 if t <= 3 else 30000 + 100 * t,
                    buffered=t) for t in range(1, 61)]
        good[10][6] = 0  # a 0 ns spread on the log axis: clamped, kept
        write_csv(f("good.csv"), good)

        rc, err = plot(f("good.csv"), f("a.svg"))
        root, pl = polylines(f("a.svg"))
        check("default: one series", rc == 0 and pl == ["spread"], (rc, err, pl))
        pts = root.find(".//%spolyline" % NS).get("points").split()
        check("unsynced seconds left out", len(pts) == 57, len(pts))
        t = texts(root)
        check("title is the file name", "good.csv" in t, t[:2])
        check("log axis labels in units", "10 µs" in t and "100 µs" in t
              and "1 ns" in t, t)

        rc, err = plot(f("good.csv"), f("b.svg"), "--series",
                       "spread,err_p50,err_p99,err_max", "--counts",
                       "--title", "T <&>")
        root, pl = polylines(f("b.svg"))
        check("4 series + 3 counts", rc == 0 and pl == [
            "spread", "err_p50", "err_p99", "err_max", "alive", "synced",
            "buffered"], (rc, err, pl))
        check("title escaped", "T <&>" in texts(root))

        rc, _ = plot(f("good.csv"), f("b2.svg"), "--series",
                     "spread,err_p50,err_p99,err_max", "--counts",
                     "--title", "T <&>")
        with open(f("b.svg"), "rb") as x, open(f("b2.svg"), "rb") as y:
            check("deterministic", rc == 0 and x.read() == y.read())

        rc, _ = plot(f("good.csv"), f("lin.svg"), "--linear")
        root, pl = polylines(f("lin.svg"))
        check("linear", rc == 0 and pl == ["spread"] and "0" in texts(root))

        # Nobody synced for 5 s in the middle: the series has two pieces.
        gap = [row(t, 0 if 20 <= t < 25 else 50, 40000) for t in range(1, 41)]
        write_csv(f("gap.csv"), gap)
        rc, _ = plot(f("gap.csv"), f("gap.svg"), "--series", "spread,err_p99")
        _, pl = polylines(f("gap.svg"))
        check("gap splits series", rc == 0 and pl == [
            "spread", "spread", "err_p99", "err_p99"], pl)

        # Empty, header only, a single row, a truncated last line.
        write_csv(f("empty.csv"), [], header=None)
        write_csv(f("hdr.csv"), [])
        write_csv(f("one.csv"), [row(1, 50, 0)])
        write_csv(f("trunc.csv"), [row(t, 50, 5000) for t in range(1, 6)],
                  tail="6,50,50,12")
        for name, want, counts in (("empty", 0, 0), ("hdr", 0, 0),
                                   ("one", 1, 3), ("trunc", 1, 3)):
            rc, err = plot(f(name + ".csv"), f(name + ".svg"), "--counts")
            ok = rc == 0
            try:
                root, pl = polylines(f(name + ".svg"))
            except ET.ParseError as e:
                ok, pl, root = False, [e], None
            check("%s: parses, %d+%d polylines" % (name, want, counts),
                  ok and len(pl) == want + counts, (rc, err, pl))
            if name in ("empty", "hdr"):
                check("%s says no data" % name, root is not None
                      and "no data" in texts(root))
            if name == "trunc":
                check("trunc warns", "skipped 1 malformed" in err, err)

        rc, err = plot(f("good.csv"), f("x.svg"), "--series", "bogus")
        check("unknown series is a usage error", rc == 2, (rc, err))
        write_csv(f("cols.csv"), [[1, 2]], header="t_s,alive")
        rc, err = plot(f("cols.csv"), f("x.svg"))
        check("missing column named", rc == 1 and "spread_ns" in err, (rc, err))
        rc, err = plot(f("nonexistent.csv"), f("x.svg"))
        check("missing file", rc == 1, (rc, err))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
