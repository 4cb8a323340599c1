#!/bin/sh
# SPDX-License-Identifier: MIT
# `p2pclock sim` and its memory budget, as a user meets them: the run
# that used to take the machine's memory (1000 nodes, full mesh, 1 msg/s
# a node) stops on its own at --mem-limit 300M with one clear line and
# exit status 3, its CSV intact, and, with no flag, at the budget it
# derives from `ulimit -v`; a run whose start alone cannot fit is refused
# at once; --mem-limit's values, and --max-memory, its old name, still
# taken; --json: one object that parses, with its fields
# and sane values, for a stopped run and for a passing one (byte-identical
# from run to run); and the count is honest: the peak the budget counts is
# within a sane factor of the process's peak RSS.
#
# The start is small: a node's tables grow as they fill, so 1000 nodes
# start in ~18 MiB (13 KiB a node, the causal oracle's 4 MB besides); the
# bound on start_bytes catches tables allocated whole at start again (they
# took 262 MB, and the run stopped before any message).
#
# Every run is bounded in wall time (timeout) and in memory: under
# `ulimit -v` (or, in a sanitizer build, which reserves terabytes of
# address space, under ASan's hard_rss_limit_mb), so a regression that
# no longer stops cannot exhaust the machine.
# Usage: budget.sh P2PCLOCK SCENARIO_DIR [sanitize]
# (ulimit -v is not POSIX, but dash, bash and busybox sh have it; where
# it fails, the capped run does not run at all and the test fails.)
# shellcheck disable=SC3045
set -u
bin=$1
scn=$2
san=${3:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-sim-budget-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
command -v python3 >/dev/null || {
  echo "FAIL: python3 is needed to read --json"
  exit 1
}
command -v timeout >/dev/null || {
  echo "FAIL: timeout (coreutils) is needed to bound the runs"
  exit 1
}

# capped CAP_KIB CMD...: CMD under a memory cap and a wall-time bound.
capped() {
  cap=$1
  shift
  if [ "$san" = sanitize ]; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=$((cap / 1024))" \
      timeout -k 5 300 "$@"
  else
    (ulimit -v "$cap" && exec timeout -k 5 300 "$@")
  fi
}

# json FILE PYTHON-EXPR...: each expression, with d the object, is true.
json() {
  f=$1
  shift
  python3 - "$f" "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [e for e in sys.argv[2:] if not eval(e, {"d": d})]
for e in bad:
    print("  not true: %s" % e)
sys.exit(1 if bad else 0)
EOF
}

# ---- the run that took the machine: stopped at --mem-limit 300M ---------
capped 2000000 "$bin" sim --nodes 1000 --mem-limit 300M --quiet --json \
  --timing --csv "$tmp/big.csv" >"$tmp/big.json" 2>"$tmp/big.err"
st=$?
[ $st -eq 3 ] || fail "1000 nodes at --mem-limit 300M exits $st: $(cat "$tmp/big.err")"
[ "$(wc -l <"$tmp/big.err")" -eq 1 ] ||
  fail "1000 nodes: not one line on stderr: $(cat "$tmp/big.err")"
grep -Eq '^p2pclock sim: stopped at virtual t=[0-9]+\.[0-9] s: memory 3[0-9]{2} MiB reached the budget of 300 MiB \(--mem-limit\); causal metadata averaged [0-9.]+ [KM]?i?B a message: fewer nodes, a sparser topology \(--topology kregular:8\) or a lower --rate fit in less$' \
  "$tmp/big.err" || fail "1000 nodes says: $(cat "$tmp/big.err")"
[ "$(head -1 "$tmp/big.csv")" = "t_s,alive,synced,err_p50_ns,err_p99_ns,\
err_max_ns,spread_ns,bound_violations,msgs_sent,msgs_delivered,\
meta_per_msg,buffered,bytes,events,meta_p99,meta_max,deps_p99,state_mean,\
state_max,expired,lat_p99_ns,bcast_lat_p99_ns,hops_p99,unaddressable,tier_p99,tier_max" ] || fail "1000 nodes: no CSV header"
# the CSV intact: a whole row for every second before the stop
awk -F, 'NF != 26 { bad = 1 } END { exit bad }' "$tmp/big.csv" ||
  fail "1000 nodes: a CSV row without its 26 fields"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
rows = sum(1 for _ in open(sys.argv[2])) - 1
sys.exit(0 if rows == int(d["virtual_s"]) else 1)' "$tmp/big.json" \
  "$tmp/big.csv" || fail "1000 nodes: not a CSV row for each second"
json "$tmp/big.json" 'd["stop"] == "budget"' 'd["result"] == "STOPPED"' \
  'd["exit_status"] == 3' 'd["nodes"] == 1000' 'd["topology"] == "full"' \
  '0 < d["virtual_s"] < d["duration_s"] == 60' \
  'd["memory"]["budget_bytes"] == 300 * 2**20' \
  'd["memory"]["budget_from"] == "flag"' \
  'd["memory"]["peak_bytes"] >= 300 * 2**20' \
  'd["memory"]["counted_peak_bytes"] + d["memory"]["oracle_bytes"] <= 301 * 2**20' \
  '8 * 2**20 < d["memory"]["start_bytes"] < 40 * 2**20' \
  'd["messages"]["sent"] > 0 and d["meta_bytes_per_msg"] > 0' \
  'd["causal"]["meta_bytes"]["mean"] == d["meta_bytes_per_msg"]' \
  '0 < d["causal"]["meta_bytes"]["p99"] <= d["causal"]["meta_bytes"]["max"]' \
  '0 < d["causal"]["state_bytes"]["peak"]' \
  'd["causal_oracle"]["run"] and d["causal_oracle"]["violations"] == 0' \
  'd["causal_oracle"]["missing"] == 0' \
  'd["peak_rss_kib"] > 0 and d["wall_s"] > 0' \
  'sum(d["events_by_kind"].values()) == d["events"]' \
  'min(d["events_by_kind"][k] for k in ("timer", "tcp", "datagram")) > 0' ||
  fail "1000 nodes: the JSON: $(cat "$tmp/big.json")"
# The count is honest: what it counted is memory the process touched
# (RSS at least 80% of it), and the process holds little it did not
# count (ASan's redzones and quarantine are such: not checked there).
rss_lo='d["peak_rss_kib"] * 1024 >= 0.8 * d["memory"]["counted_peak_bytes"]'
rss_hi='d["peak_rss_kib"] * 1024 <= 1.3 * d["memory"]["peak_bytes"] + 64 * 2**20'
[ "$san" = sanitize ] && rss_hi=True
json "$tmp/big.json" "$rss_lo" "$rss_hi" ||
  fail "1000 nodes: counted vs RSS: $(cat "$tmp/big.json")"
python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print("budget.sh: 1000 nodes, --mem-limit 300M: stopped at %.2f s; counted peak %.1f MiB + oracle estimate %.1f MiB; process peak RSS %.1f MiB" % (m["virtual_s"], m["memory"]["counted_peak_bytes"] / 2**20, m["memory"]["oracle_bytes"] / 2**20, m["peak_rss_kib"] / 1024))' \
  "$tmp/big.json"

# ---- no flag: the budget comes from ulimit -v (3/4 of it) -----------------
if [ "$san" != sanitize ]; then
  (ulimit -v 400000 && exec timeout -k 5 300 "$bin" sim --nodes 1000 --quiet \
    --json) >"$tmp/ul.json" 2>"$tmp/ul.err"
  st=$?
  [ $st -eq 3 ] || fail "1000 nodes under ulimit -v 400000 exits $st: \
$(cat "$tmp/ul.err")"
  if json "$tmp/ul.json" 'd["memory"]["budget_from"] == "rlimit_as"'; then
    json "$tmp/ul.json" 'd["memory"]["budget_bytes"] == 400000 * 1024 // 4 * 3' \
      'd["stop"] == "budget"' || fail "ulimit -v: $(cat "$tmp/ul.json")"
    grep -q "reached the budget of 293 MiB (3/4 of the address space \
limit (ulimit -v) of 391 MiB; --mem-limit SIZE sets it)" "$tmp/ul.err" ||
      fail "ulimit -v says: $(cat "$tmp/ul.err")"
  else # a cgroup may allow less still
    json "$tmp/ul.json" 'd["memory"]["budget_bytes"] <= 400000 * 1024 // 4 * 3' \
      'd["memory"]["budget_from"] == "cgroup"' ||
      fail "ulimit -v: $(cat "$tmp/ul.json")"
  fi
fi

# ---- the machine's default: half the RAM at most ---------------------------
ram=$(awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo)
capped 2000000 "$bin" sim --scenario "$scn/proto10.scn" --duration 20 \
  --quiet --json >"$tmp/def.json" 2>&1 ||
  fail "proto10 with the default budget exits $?"
json "$tmp/def.json" \
  'd["memory"]["budget_from"] in ("ram", "cgroup", "rlimit_as", "rlimit_data")' \
  "0 < d[\"memory\"][\"budget_bytes\"] <= $ram // 2 + 4096" ||
  fail "the default budget: $(cat "$tmp/def.json")"

# ---- refused before it starts: the nodes alone do not fit ------------------
capped 2000000 "$bin" sim --nodes 100000 --mem-limit 1G --csv "$tmp/r.csv" \
  >"$tmp/r.out" 2>"$tmp/r.err"
st=$?
[ $st -eq 3 ] || fail "100000 nodes at 1G exits $st"
grep -Eq '^p2pclock sim: 100000 nodes need at least [0-9.]+ GiB to start \([0-9.]+ KiB a node\), over the memory budget of 1.00 GiB \(--mem-limit\): fewer nodes or a sparser topology \(--topology kregular:8\) fit in less$' \
  "$tmp/r.err" || fail "100000 nodes says: $(cat "$tmp/r.err")"
[ "$(wc -l <"$tmp/r.err")" -eq 1 ] || fail "refusal: not one line"
[ -s "$tmp/r.out" ] && fail "refusal writes stdout: $(cat "$tmp/r.out")"
[ -e "$tmp/r.csv" ] && fail "refusal creates the CSV"
capped 2000000 "$bin" sim --nodes 100000 --topology ring --mem-limit 1G \
  >/dev/null 2>"$tmp/r.err"
if ! grep -q "fit in less$" "$tmp/r.err" || grep -q "sparser" "$tmp/r.err"; then
  fail "ring: a sparser topology than a ring? $(cat "$tmp/r.err")"
fi

# ---- stopped: the rows so far, the summary so far -----------------------
capped 2000000 "$bin" sim --nodes 60 --rate 2 --duration 12 \
  --mem-limit 30M --csv "$tmp/s.csv" >"$tmp/s.out" 2>"$tmp/s.err"
st=$?
[ $st -eq 3 ] || fail "60 nodes at 30M exits $st: $(cat "$tmp/s.err")"
secs=$(sed -n 's/^  stopped              at \([0-9]*\)\.[0-9] s: memory reached the budget$/\1/p' \
  "$tmp/s.out")
if [ -z "$secs" ] || [ "$secs" -lt 1 ]; then
  fail "60 nodes: no stop after 1 s in the summary: $(cat "$tmp/s.out")"
fi
grep -Eq "^  memory               3[0-9]\.?[0-9]? MiB held, budget 30.0 MiB$" \
  "$tmp/s.out" || fail "60 nodes: no memory line: $(cat "$tmp/s.out")"
grep -Eq "^result: STOPPED at [0-9]+\.[0-9] s of 12 s \(memory\), 0 of 0 \
expectations passed so far$" "$tmp/s.out" ||
  fail "60 nodes: result line: $(grep result "$tmp/s.out")"
# a row for every whole second before the stop; the summary rounds the
# stop to 0.1 s, so "3.0 s" may be 2.95..3.05 s: 2 or 3 rows
rows=$(($(wc -l <"$tmp/s.csv") - 1))
[ "$rows" -eq "${secs:-0}" ] || [ "$rows" -eq $((${secs:-0} - 1)) ] ||
  fail "60 nodes: $rows CSV rows for ${secs:-?} s"
awk -F, 'NF != 26 { bad = 1 } END { exit bad }' "$tmp/s.csv" ||
  fail "60 nodes: a CSV row without its 26 fields"
grep -q "^  causal oracle        0 violations, 0 missing$" "$tmp/s.out" ||
  fail "60 nodes: the oracle so far: $(grep causal "$tmp/s.out")"

# ---- --mem-limit's values -------------------------------------------------
for v in 300 1.5 -1G 1X G . 1e3M 2P 2048T 1.5.5G " 1G" 0x10M ""; do
  "$bin" sim --mem-limit "$v" >/dev/null 2>"$tmp/v.err"
  st=$?
  [ $st -eq 2 ] || fail "--mem-limit '$v' exits $st"
  [ "$(wc -l <"$tmp/v.err")" -eq 1 ] || fail "--mem-limit '$v': not one line"
done
grep -q '^p2pclock sim: --mem-limit must be a size like 512M or 4G' \
  "$tmp/v.err" || fail "--mem-limit '': $(cat "$tmp/v.err")"
for v in "1.5G 1610612736 flag" "8192KiB 8388608 flag" "30M 31457280 flag" \
  "1T 1099511627776 flag" "0 None none" "unlimited None none"; do
  # shellcheck disable=SC2086
  set -- $v
  capped 2000000 "$bin" sim --duration 2 --mem-limit "$1" --json --quiet \
    >"$tmp/v.json" 2>&1 || fail "--mem-limit $1 exits $?: $(cat "$tmp/v.json")"
  json "$tmp/v.json" "d[\"memory\"][\"budget_bytes\"] == $2" \
    "d[\"memory\"][\"budget_from\"] == \"$3\"" ||
    fail "--mem-limit $1: $(cat "$tmp/v.json")"
done
# --max-memory, the old name: the same budget, and its messages name it
capped 2000000 "$bin" sim --duration 2 --max-memory 30M --json --quiet \
  >"$tmp/v.json" 2>&1 || fail "--max-memory 30M exits $?: $(cat "$tmp/v.json")"
json "$tmp/v.json" 'd["memory"]["budget_bytes"] == 31457280' \
  'd["memory"]["budget_from"] == "flag"' ||
  fail "--max-memory 30M: $(cat "$tmp/v.json")"
"$bin" sim --max-memory 30X >/dev/null 2>"$tmp/v.err"
st=$?
[ $st -eq 2 ] || fail "--max-memory 30X exits $st"
grep -q '^p2pclock sim: --max-memory must be a size like 512M or 4G' \
  "$tmp/v.err" || fail "--max-memory 30X: $(cat "$tmp/v.err")"
capped 2000000 "$bin" sim --nodes 60 --rate 2 --duration 12 \
  --max-memory 26M >/dev/null 2>"$tmp/a.err"
st=$?
[ $st -eq 3 ] || fail "60 nodes at --max-memory 26M exits $st"
grep -q "reached the budget of 26.0 MiB (--max-memory)" "$tmp/a.err" ||
  fail "--max-memory: the stop says $(cat "$tmp/a.err")"

# the topology's parameter, only with its topology
for t in "kregular:4 k 4" "clusters:2 clusters 2"; do
  # shellcheck disable=SC2086
  set -- $t
  "$bin" sim --nodes 10 --topology "$1" --duration 2 --quiet --json \
    >"$tmp/t.json" 2>&1 || fail "--topology $1 --json exits $?"
  json "$tmp/t.json" "d[\"topology\"] == \"${1%%:*}\"" "d[\"$2\"] == $3" \
    '("k" in d) + ("clusters" in d) == 1' ||
    fail "--topology $1 --json: $(cat "$tmp/t.json")"
done

# ---- --json on a passing run: its oracles, byte for byte ------------------
for run in 1 2; do
  capped 2000000 "$bin" sim --scenario "$scn/proto10.scn" --duration 20 \
    --quiet --json --mem-limit 1G >"$tmp/p$run.json" 2>"$tmp/p$run.err"
  st=$?
  [ $st -eq 0 ] || fail "proto10 --json run $run exits $st"
  [ -s "$tmp/p$run.err" ] && fail "proto10 --json: stderr $(cat "$tmp/p$run.err")"
done
cmp -s "$tmp/p1.json" "$tmp/p2.json" || fail "--json differs between runs"
[ "$(wc -l <"$tmp/p1.json")" -eq 1 ] || fail "--json: not one line"
json "$tmp/p1.json" 'd["result"] == "PASS"' 'd["exit_status"] == 0' \
  'd["stop"] == "end"' 'd["virtual_s"] == d["duration_s"] == 20' \
  'd["scenario"].endswith("proto10.scn")' 'd["seed"] == "1"' \
  'd["nodes"] == d["nodes_at_start"] == 10' \
  'd["failed"] == 0 and d["passed"] == len(d["expectations"]) > 0' \
  'all(e["verdict"] == "PASS" and e["text"] and e["detail"] for e in d["expectations"])' \
  'all(isinstance(e["line"], int) and e["line"] > 0 for e in d["expectations"])' \
  'd["causal_oracle"]["run"] and d["causal_oracle"]["violations"] == 0' \
  'd["causal_oracle"]["first_violation"] is None' \
  'd["messages"]["sent"] == d["messages"]["delivered"] > 0' \
  'd["messages"]["sends_refused"] == 0' \
  'd["causal"]["lifetime_s"] == 60' \
  'd["causal"]["expired"] == {"receivers": 0, "senders": 0}' \
  'd["causal"]["refused_ahead"] >= 0' \
  '0 < d["causal"]["meta_bytes"]["messages"] < d["messages"]["sent"]' \
  '0 < d["causal"]["meta_bytes"]["mean"] <= d["causal"]["meta_bytes"]["max"]' \
  'd["causal"]["meta_bytes"]["p99"] <= d["causal"]["meta_bytes"]["max"]' \
  '0 < d["causal"]["deps"]["p99"] <= d["causal"]["deps"]["max"]' \
  '0 < d["causal"]["state_bytes"]["mean"] <= d["causal"]["state_bytes"]["max"]' \
  'd["causal"]["state_bytes"]["max"] <= d["causal"]["state_bytes"]["peak"]' \
  'd["causal"]["state_bytes"]["peak_mean"] <= d["causal"]["state_bytes"]["peak"]' \
  'd["alive"] == d["synced"] == 10 and d["membership_ok"]' \
  '0 <= d["convergence_s"] < 20' \
  '0 <= d["final_spread_ns"] <= d["worst_spread_ns"]' \
  'd["memory"]["budget_bytes"] == 2**30' \
  '0 < d["memory"]["start_bytes"] <= d["memory"]["counted_peak_bytes"]' \
  'd["memory"]["counted_peak_bytes"] <= d["memory"]["peak_bytes"] < 2**30' \
  '"wall_s" not in d and "peak_rss_kib" not in d' ||
  fail "proto10 --json: $(cat "$tmp/p1.json")"
# the verdicts are those of the table
"$bin" sim --scenario "$scn/proto10.scn" --duration 20 --quiet \
  --mem-limit 1G >"$tmp/p.out" 2>&1
python3 - "$tmp/p1.json" "$tmp/p.out" <<'EOF' || fail "--json and the table disagree"
import json, sys
d = json.load(open(sys.argv[1]))
table = [l.split()[0] for l in open(sys.argv[2]) if l.startswith("  PASS") or
         l.startswith("  FAIL") or l.startswith("  SKIP")]
sys.exit(0 if table == [e["verdict"] for e in d["expectations"]] else 1)
EOF
# a failing expectation: status 1 in the object too
printf 'nodes 3\nduration 5s\nexpect spread < 1ns after 4s\n' >"$tmp/f.scn"
"$bin" sim --scenario "$tmp/f.scn" --quiet --json >"$tmp/f.json" 2>&1
st=$?
[ $st -eq 1 ] || fail "failing expectation --json exits $st"
json "$tmp/f.json" 'd["result"] == "FAIL"' 'd["exit_status"] == 1' \
  'd["failed"] == 1' 'd["expectations"][0]["verdict"] == "FAIL"' \
  'd["expectations"][0]["line"] == 3' ||
  fail "failing --json: $(cat "$tmp/f.json")"

[ $fails -eq 0 ] && echo "budget.sh: all passed"
exit $((fails > 0))
