#!/bin/sh
# SPDX-License-Identifier: MIT
# `p2pclock sim` as a user meets it: --help (and `help sim`), the exit
# status of a passing and of a failing expectation, a bad scenario refused
# with FILE:LINE and status 2, a bad flag with status 2, and determinism:
# the same scenario and seed twice give byte-identical stdout and CSV, and
# another seed gives another CSV; the causal figures (metadata and entries
# a message, against the nodes' own `send` lines; causal state; expiry
# reports) and --causal-lifetime, which reaches the nodes: a partition
# longer than the lifetime makes them expire messages, `expect expired 0`
# then fails, and an infinite lifetime expires none.
# Usage: cli.sh P2PCLOCK SCENARIO_DIR [sanitize]
set -u
bin=$1
scn=$2
san=${3:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-sim-cli-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

"$bin" sim --help >"$tmp/help" 2>&1 || fail "--help exits $?"
grep -q "^usage: p2pclock sim" "$tmp/help" || fail "--help has no usage line"
"$bin" help sim >"$tmp/help2" 2>&1 || fail "help sim exits $?"
cmp -s "$tmp/help" "$tmp/help2" || fail "help sim differs from sim --help"

# determinism: twice the same, byte for byte; another seed differs
for run in 1 2; do
  "$bin" sim --scenario "$scn/proto10.scn" --duration 20 --quiet \
    --csv "$tmp/run$run.csv" >"$tmp/run$run.out" 2>"$tmp/run$run.err"
  st=$?
  [ $st -eq 0 ] || fail "proto10 run $run exits $st: $(cat "$tmp/run$run.out")"
done
cmp "$tmp/run1.out" "$tmp/run2.out" || fail "stdout differs between runs"
cmp "$tmp/run1.csv" "$tmp/run2.csv" || fail "CSV differs between runs"
# huge pages (the command starts itself again with them where it can)
# change no byte; the line on stderr says which pages a run had
P2PC_SIM_HUGEPAGES=0 "$bin" sim --scenario "$scn/proto10.scn" --duration 20 \
  --quiet --csv "$tmp/small.csv" >"$tmp/small.out" 2>/dev/null ||
  fail "proto10 on small pages exits $?"
cmp "$tmp/run1.out" "$tmp/small.out" || fail "stdout differs on small pages"
cmp "$tmp/run1.csv" "$tmp/small.csv" || fail "CSV differs on small pages"
P2PC_SIM_HUGEPAGES=0 "$bin" sim --scenario "$scn/proto10.scn" --duration 2 \
  >/dev/null 2>"$tmp/small.err"
grep -q "small pages" "$tmp/small.err" ||
  fail "P2PC_SIM_HUGEPAGES=0: stderr does not say small pages"
if grep -qs '\[\(always\|madvise\)\]' /sys/kernel/mm/transparent_hugepage/enabled &&
  ldd "$bin" 2>/dev/null | grep -q 'libc\.so\.6' && [ "$san" != sanitize ]; then
  env -u GLIBC_TUNABLES "$bin" sim --scenario "$scn/proto10.scn" \
    --duration 2 >/dev/null 2>"$tmp/huge.err"
  grep -q "huge pages" "$tmp/huge.err" ||
    fail "THP available, but the run says: $(cat "$tmp/huge.err")"
fi
[ "$(head -1 "$tmp/run1.csv")" = "t_s,alive,synced,err_p50_ns,err_p99_ns,\
err_max_ns,spread_ns,bound_violations,msgs_sent,msgs_delivered,\
meta_per_msg,buffered,bytes,events,meta_p99,meta_max,deps_p99,state_mean,\
state_max,expired,lat_p99_ns,bcast_lat_p99_ns,hops_p99,unaddressable,tier_p99,tier_max" ] || fail "CSV header"
[ "$(wc -l <"$tmp/run1.csv")" -eq 21 ] || fail "CSV: not 20 rows"
[ -s "$tmp/run1.err" ] && fail "--quiet, yet stderr: $(cat "$tmp/run1.err")"
"$bin" sim --scenario "$scn/proto10.scn" --duration 20 --seed 2 --quiet \
  --csv "$tmp/seed2.csv" >/dev/null 2>&1
cmp -s "$tmp/run1.csv" "$tmp/seed2.csv" && fail "seed 2 gives seed 1's CSV"

# --duration takes the scenario's units: 20s and 20000ms are --duration 20
for d in 20s 20000ms; do
  "$bin" sim --scenario "$scn/proto10.scn" --duration $d --quiet \
    --csv "$tmp/d.csv" >"$tmp/d.out" 2>&1 || fail "--duration $d exits $?"
  cmp -s "$tmp/run1.out" "$tmp/d.out" || fail "--duration $d: another run"
  cmp -s "$tmp/run1.csv" "$tmp/d.csv" || fail "--duration $d: another CSV"
done
"$bin" sim --duration 20x >/dev/null 2>"$tmp/d.err"
st=$?
[ $st -eq 2 ] || fail "--duration 20x exits $st"
[ "$(cat "$tmp/d.err")" = "p2pclock sim: --duration must be a time 1s..30 \
days (600, 600s, 10min; no unit: seconds), got \"20x\" (try p2pclock sim \
--help)" ] || fail "--duration 20x says: $(cat "$tmp/d.err")"

# a killed run keeps its CSV rows, each one whole (a row is flushed each
# virtual second, not left in stdio's buffer to be cut off at 4 KiB)
printf 'nodes 3\n' >"$tmp/k.scn"
"$bin" sim --scenario "$tmp/k.scn" --duration 2592000 --quiet \
  --csv "$tmp/k.csv" >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 30 ]; do
  sleep 1
  [ "$(wc -l <"$tmp/k.csv" 2>/dev/null || echo 0)" -ge 3 ] && break
  i=$((i + 1))
done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
[ "$(wc -l <"$tmp/k.csv")" -ge 3 ] || fail "killed run: CSV has no rows"
[ "$(tail -c 1 "$tmp/k.csv" | od -An -c | tr -d ' ')" = '\n' ] ||
  fail "killed run: the CSV ends mid-row"
awk -F, 'NF != 26 { bad = 1 } END { exit bad }' "$tmp/k.csv" ||
  fail "killed run: a CSV row without its 26 fields"

# a failing expectation: status 1, and the verdict says FAIL
printf 'nodes 3\nduration 5s\nexpect spread < 1ns after 4s\n' >"$tmp/f.scn"
"$bin" sim --scenario "$tmp/f.scn" --quiet >"$tmp/f.out" 2>&1
st=$?
[ $st -eq 1 ] || fail "failing expectation exits $st"
grep -q "^  FAIL  spread < 1ns after 4s" "$tmp/f.out" ||
  fail "no FAIL line: $(cat "$tmp/f.out")"
grep -q "^result: FAIL" "$tmp/f.out" || fail "no FAIL result"

# the falseticker oracle can fail: naming an honest node of liar.scn fails,
# and so does naming the liar at the end, when it is back with the others
# (--duration 60 ends while it still lies: then the end passes)
cp "$scn/liar.scn" "$tmp/l.scn"
printf 'expect falseticker 2 after 30s until 100s\nexpect falseticker 3\n' \
  >>"$tmp/l.scn"
"$bin" sim --scenario "$tmp/l.scn" --quiet >"$tmp/l.out" 2>&1
st=$?
[ $st -eq 1 ] || fail "falseticker on an honest node exits $st"
grep -q "^  PASS  falseticker 3 after 30s until 100s n3 rejected by 6 of 6 \
synced nodes, 6 as falseticker, at 99 s" "$tmp/l.out" ||
  fail "liar.scn: no PASS for node 3: $(cat "$tmp/l.out")"
grep -q "^  FAIL  falseticker 2 after 30s until 100s at 30 s: n2 used by 5 \
of 5 synced nodes (n0 first); 70 s in all" "$tmp/l.out" ||
  fail "no FAIL for honest node 2: $(cat "$tmp/l.out")"
grep -q "^  FAIL  falseticker 3 .*n3 used by 6 of 6 synced nodes" \
  "$tmp/l.out" || fail "no FAIL for node 3 at the end: $(cat "$tmp/l.out")"
grep -q "^result: FAIL, 8 of 10 expectations" "$tmp/l.out" ||
  fail "liar + 2 expectations: $(grep result "$tmp/l.out")"
"$bin" sim --scenario "$tmp/l.scn" --quiet --duration 60 >"$tmp/l60.out" 2>&1
grep -q "^  PASS  falseticker 3 .*n3 rejected by 6 of 6 synced nodes" \
  "$tmp/l60.out" || fail "no PASS for node 3 at 60 s: $(cat "$tmp/l60.out")"

# looking at the nodes does not change the run, even with read noise on
# the clocks (a noisy reading would draw from the run's random stream)
for x in a b; do
  cp "$scn/liar.scn" "$tmp/$x.scn"
  echo "clocks noise 100ns" >>"$tmp/$x.scn"
done
echo "expect falseticker 3 after 30s" >>"$tmp/b.scn"
"$bin" sim --scenario "$tmp/a.scn" --quiet --csv "$tmp/a.csv" >/dev/null 2>&1
"$bin" sim --scenario "$tmp/b.scn" --quiet --csv "$tmp/b.csv" >/dev/null 2>&1
cmp -s "$tmp/a.csv" "$tmp/b.csv" ||
  fail "a falseticker expectation changes the run"

# a bad scenario: one line naming file and line, status 2
printf 'nodes 3\n\nduration 5\n' >"$tmp/b.scn"
"$bin" sim --scenario "$tmp/b.scn" >"$tmp/b.out" 2>"$tmp/b.err"
st=$?
[ $st -eq 2 ] || fail "bad scenario exits $st"
[ "$(cat "$tmp/b.err")" = "$tmp/b.scn:3: duration must be a time 1s..30 \
days, like 120s, got \"5\"" ] || fail "bad scenario says: $(cat "$tmp/b.err")"
[ -s "$tmp/b.out" ] && fail "bad scenario writes stdout"

# a node range beyond --nodes: the scenario's line, status 2
"$bin" sim --scenario "$scn/partition.scn" --nodes 12 >/dev/null 2>"$tmp/n.err"
st=$?
[ $st -eq 2 ] || fail "--nodes below the scenario's ranges exits $st"
grep -q "partition.scn:14: node 19 is beyond the 12 nodes" "$tmp/n.err" ||
  fail "--nodes 12 says: $(cat "$tmp/n.err")"

# the causal figures against the nodes' own lines: every `send` line a
# message sent; those to another node (a message to self carries no
# metadata) measured exactly (mean, max, entries) or to the histogram's
# 8-byte bin (p99: the top of the bin of the exact p99, or the max)
mkdir "$tmp/ev"
P2PC_SIM_EVENTS_DIR="$tmp/ev" "$bin" sim --scenario "$scn/proto10.scn" \
  --duration 20 --quiet --json --csv "$tmp/m.csv" >"$tmp/m.json" 2>&1 ||
  fail "proto10 with the event lines exits $?"
python3 - "$tmp/m.json" "$tmp/ev" "$tmp/m.csv" <<'EOF' ||
import csv, glob, json, sys
d = json.load(open(sys.argv[1]))
meta, deps, sent = [], [], 0
for f in glob.glob(sys.argv[2] + "/*.jsonl"):
    for line in open(f):
        e = json.loads(line)
        if e["ev"] != "send":
            continue
        sent += 1
        if e["to"] != e["msg"].rsplit(":", 1)[0]:
            meta.append(e["meta"])
            deps.append(e["deps"])
meta.sort()
deps.sort()
n = len(meta)
k = (n * 99 + 99) // 100 - 1  # nearest rank
rows = list(csv.DictReader(open(sys.argv[3])))
c = d["causal"]
checks = {
    "sent": d["messages"]["sent"] == sent,
    "some to self": 0 < n < sent,
    "messages": c["meta_bytes"]["messages"] == n,
    "max": c["meta_bytes"]["max"] == meta[-1],
    "mean": abs(c["meta_bytes"]["mean"] - sum(meta) / n) < 1e-9 * meta[-1],
    "p99": c["meta_bytes"]["p99"] == min(meta[k] // 8 * 8 + 7, meta[-1]),
    "deps p99": c["deps"]["p99"] == deps[k],
    "deps max": c["deps"]["max"] == deps[-1],
    # rows count what came since the previous row: what happens at the
    # last instant after the last row is in the totals only
    "CSV sent": sum(int(r["msgs_sent"]) for r in rows) <= sent,
    "CSV meta_max": max(int(r["meta_max"]) for r in rows) == meta[-1],
    "CSV p99 <= max": all(int(r["meta_p99"]) <= int(r["meta_max"]) for r in rows),
    "CSV state": all(0 < float(r["state_mean"]) <= int(r["state_max"]) for r in rows),
    "CSV state peak": max(int(r["state_max"]) for r in rows) == c["state_bytes"]["peak"],
    "CSV expired": sum(int(r["expired"]) for r in rows) == 0,
}
bad = [k for k, ok in checks.items() if not ok]
print("cli.sh: causal figures: %d sends, %d measured; mismatched: %s" % (sent, n, bad or "none"))
sys.exit(1 if bad else 0)
EOF
  fail "the causal figures disagree with the event lines"
grep -Eq "^  causal metadata      [0-9.]+ bytes/msg mean, p99 [0-9]+, max [0-9]+ \([0-9]+ to other nodes\)$" \
  "$tmp/run1.out" || fail "no causal metadata line: $(cat "$tmp/run1.out")"
grep -q "^  causal lifetime      60 s$" "$tmp/run1.out" ||
  fail "no causal lifetime line"
grep -Eq "^  expired              0 at receivers, 0 at senders; [0-9]+ refused \(stamp ahead\)$" \
  "$tmp/run1.out" || fail "no expired line: $(cat "$tmp/run1.out")"

# --causal-lifetime reaches the nodes: 20 nodes cut in two for 20 s with a
# lifetime of 5 s expire messages (and `expect expired 0` fails, saying
# how many); with an infinite lifetime, none (and it passes)
grep -v '^expect' "$scn/partition.scn" >"$tmp/x.scn"
echo "expect expired 0" >>"$tmp/x.scn"
"$bin" sim --scenario "$tmp/x.scn" --causal-lifetime 5 --quiet --json \
  >"$tmp/x5.json" 2>&1
st=$?
[ $st -eq 1 ] || fail "a 20 s partition, lifetime 5 s: exits $st"
python3 - "$tmp/x5.json" <<'EOF' || fail "lifetime 5 s: $(cat "$tmp/x5.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c, e = d["causal"], d["expectations"][0]
n = c["expired"]["receivers"] + c["expired"]["senders"]
sys.exit(0 if c["lifetime_s"] == 5 and n > 0 and e["verdict"] == "FAIL" and
         e["detail"] == "%d at receivers, %d at senders" % (
             c["expired"]["receivers"], c["expired"]["senders"]) else 1)
EOF
"$bin" sim --scenario "$tmp/x.scn" --causal-lifetime inf --quiet --json \
  --csv "$tmp/xi.csv" >"$tmp/xi.json" 2>&1 || fail "lifetime inf: exits $?"
python3 - "$tmp/xi.json" <<'EOF' || fail "lifetime inf: $(cat "$tmp/xi.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["causal"]
sys.exit(0 if c["lifetime_s"] == "inf" and c["expired"] == {
    "receivers": 0, "senders": 0} and d["result"] == "PASS" else 1)
EOF
# the file's `lifetime` line, and the flag over it
echo "lifetime 5s" >>"$tmp/x.scn"
"$bin" sim --scenario "$tmp/x.scn" --quiet --json >"$tmp/xf.json" 2>&1
cmp -s "$tmp/x5.json" "$tmp/xf.json" ||
  fail "lifetime 5s in the file is not --causal-lifetime 5"
"$bin" sim --scenario "$tmp/x.scn" --causal-lifetime inf --quiet --json \
  --csv "$tmp/xo.csv" >/dev/null 2>&1 || fail "the flag over the file: exits $?"
cmp -s "$tmp/xi.csv" "$tmp/xo.csv" || fail "--causal-lifetime inf over the file"

# bad flags
for args in "--nodes 0" "--topology kregular:1" "--mode x" "--bogus" \
  "--seed -3" "--duration" "--duration 0" "--duration 999ms" \
  "--duration 31days" "--rate 5/s" "--scenario $tmp/none.scn" \
  "--causal-lifetime 0" "--causal-lifetime never" "--causal-lifetime -1" \
  "--causal-lifetime 2000000" "--causal-lifetime"; do
  # shellcheck disable=SC2086
  "$bin" sim $args >/dev/null 2>"$tmp/flag.err"
  st=$?
  [ $st -eq 2 ] || fail "sim $args exits $st"
  [ "$(wc -l <"$tmp/flag.err")" -eq 1 ] || fail "sim $args: not one line"
done

# numbers as in scenario files: no leading blank, no hexadecimal
for v in " 5" "0x5"; do
  "$bin" sim --rate "$v" >/dev/null 2>"$tmp/flag.err"
  st=$?
  [ $st -eq 2 ] || fail "sim --rate '$v' exits $st"
done
"$bin" sim --duration 0x10s >/dev/null 2>"$tmp/flag.err"
st=$?
[ $st -eq 2 ] || fail "sim --duration 0x10s exits $st"

[ $fails -eq 0 ] && echo "cli.sh: all passed"
exit $((fails > 0))
