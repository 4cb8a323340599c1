#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/sim_scale: what it costs to simulate a large mesh, and what the
# protocol does at that size. Wall time and peak memory to simulate 1,000
# and 10,000 nodes (k-regular, k = 8) for 10 virtual minutes; clock error
# (spread, p99 error) at those sizes; causal-metadata bytes per message
# over time at 1,000 nodes with traffic, and as N grows (100, 300, 1,000
# nodes, a short run each: SES metadata grows with N, which is why 10,000
# nodes run without traffic). Target: 10,000 nodes x 10 virtual minutes in
# under 10 wall minutes on a 2-core machine, in under 8 GiB. Benchmark
# figures, not a pass/fail test: the exit status says only whether every
# run completed (a run stopped by its --timeout is reported, not failed;
# 77: BUILD_DIR/p2pclock has no `sim` command).
#
#   bench/sim_scale/run.sh [--quick] [--seed N] [--duration S]
#       [--growth-duration S] [--timeout S] [--mem-limit SIZE]
#       [--no-10k] [--results FILE] [BUILD_DIR]
#
# BUILD_DIR (default build/) is a configured and built tree; this script
# builds nothing. It runs BUILD_DIR/p2pclock sim, one process per run, each
# under `timeout` (--timeout S, default 2400; --quick 60) inside GNU time
# (/usr/bin/time -f '%e %M %U %S': wall seconds, peak RSS, and CPU
# seconds: the simulator is single-threaded, so on a busy machine its CPU
# time is the better measure of its cost, and wall > CPU shows the load),
# with a memory budget: --mem-limit SIZE is passed to `p2pclock sim
# --mem-limit` and means what it means there (512M, 6G, 1.5G: K, M, G, T
# powers of 1024; 0 or unlimited: none; default 6G), and each run's
# address space is capped by `ulimit -v` at 4/3 of it (8 GiB for the
# default 6G, the target's figure), the headroom being what the budget
# does not count: code, stacks, malloc's overhead. A run whose causal
# metadata outgrows the budget stops there, cleanly (exit 3: "stopped at
# the memory budget"), reported with how far it got, instead of taking
# the machine's memory from everything else on it; the cap stays as the
# backstop ("out of memory at the cap"). --mem-limit 0: neither budget
# nor cap (a sanitizer build reserves terabytes of address space).
# --max-memory SIZE is another name for --mem-limit. (Before, --mem-limit
# took the cap in GiB; a bare number other than 0 is refused.)
# --seed (or P2PC_SEED; default 1): the same seed gives the same virtual
# run, so only wall time and memory vary between runs of one build;
# --duration: virtual seconds of the scale runs (600); --growth-duration:
# of the N-growth runs (60); --no-10k: leave out the 10,000-node run;
# --results FILE: the markdown (default /tmp/sim-scale-DATE.md; the raw
# CSVs, outputs and the charts go to the directory of the same name);
# --quick: 100 nodes for 10 s, growth 30/100 nodes, no 10k (a few seconds:
# the ctest smoke run).
#
# Runs, one after the other (reference clock mode, kregular:8):
#   growth  N = 100, 300, 1000 at 0.05 msgs/s per node, --growth-duration
#   scale   1000 nodes, rate 0 (clock sync and membership only)
#   scale   1000 nodes, rate 0.5 msgs/s per node (issue 10's target)
#   scale   10000 nodes, rate 0.05 msgs/s per node (issue 10's target)
#   overlay scenarios/scale10k.scn (issue 12's target: 10,000 nodes,
#           0.05 msgs/s per node to any node, one network-wide broadcast
#           a second, --duration), unless --no-10k; --quick runs
#           scenarios/overlay_short.scn instead. Its row: wall, CPU, peak
#           RSS, broadcasts judged / missing / duplicate, broadcast hops
#           p99 and latency p99, message latency p99, final and worst
#           spread, from the run's --json.
# Traffic is unicast (--bcast 0): rates are messages a node sends.
# The tables come from the runs' CSVs (simstats.py says how each figure is
# computed); one chart per scale run from scripts/plot_sim.py.
# Run it on a quiet machine: the figures are wall-clock times. The machine,
# the build type and the load average before and after are printed with
# them.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PLOT=$SRC/scripts/plot_sim.py
STATS=$HERE/simstats.py
SEED=${P2PC_SEED:-1}
DURATION=600
GDURATION=60
TIMEOUT=2400
BIG=1
QUICK=0
RESULTS=""
TIMEOUT_SET=0
BUDGET=6G
num() { [[ $2 =~ ^[0-9]+$ ]] || { echo "run.sh: $1 needs an integer" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
  --seed) [ $# -ge 2 ] || usage; num "$1" "$2"; SEED=$2; shift 2 ;;
  --duration) [ $# -ge 2 ] || usage; num "$1" "$2"; DURATION=$2; shift 2 ;;
  --growth-duration) [ $# -ge 2 ] || usage; num "$1" "$2"; GDURATION=$2; shift 2 ;;
  --timeout) [ $# -ge 2 ] || usage; num "$1" "$2"; TIMEOUT=$2; TIMEOUT_SET=1; shift 2 ;;
  --mem-limit | --max-memory) [ $# -ge 2 ] || usage; BUDGET=$2; shift 2 ;;
  --no-10k) BIG=0; shift ;;
  --results) [ $# -ge 2 ] || usage; RESULTS=$2; shift 2 ;;
  --quick) QUICK=1; shift ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) break ;;
  esac
done
[ $# -le 1 ] || usage
BUILD=${1:-build}
if [ "$DURATION" -lt 1 ] || [ "$GDURATION" -lt 1 ] || [ "$TIMEOUT" -lt 1 ]; then
  echo "run.sh: durations and --timeout must be >= 1" >&2
  exit 2
fi
# The budget in bytes, as p2pclock sim reads SIZE (0: none), and the cap
# in KiB for ulimit -v: 4/3 of it (0: none).
if [[ $BUDGET =~ ^(0|unlimited)$ ]]; then
  BUDGET_BYTES=0
elif [[ $BUDGET =~ ^([0-9]+(\.[0-9]+)?)(K|M|G|T|KiB|MiB|GiB|TiB)$ ]]; then
  BUDGET_BYTES=$(awk -v v="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[3]}" \
    'BEGIN { s = index("KMGT", substr(u, 1, 1)); printf "%.0f", v * 1024 ^ s }')
else
  echo "run.sh: --mem-limit takes a size like 6G or 512M (the simulator's" \
    "budget, as p2pclock sim --mem-limit; the address space is capped at" \
    "4/3 of it), or 0 for none; got \"$BUDGET\"" >&2
  exit 2
fi
CAP_KIB=$((BUDGET_BYTES * 4 / 3 / 1024))

if [ "$QUICK" = 1 ]; then
  SCALE=(100:0 100:0.05) DURATION=10
  GROWTH=(30 100) GRATE=0.5 GDURATION=10 BIG=0
  [ "$TIMEOUT_SET" = 1 ] || TIMEOUT=60
else
  SCALE=(1000:0 1000:0.5) # nodes:rate
  GROWTH=(100 300 1000) GRATE=0.05
fi
TOPO=kregular:8
MODE=reference
# The budget is said to the simulator (under the cap it would derive 3/4
# of it itself; saying it makes the figure explicit in the results).
BUDGET_ARGS=(--mem-limit "$BUDGET")
BUDGET_SHOWN=$BUDGET
CAP_SHOWN=none
[ "$CAP_KIB" -eq 0 ] ||
  CAP_SHOWN=$(awk -v k="$CAP_KIB" 'BEGIN { printf "%.2f GiB", k / 1048576 }')

BIN=$BUILD/p2pclock
if [ ! -x "$BIN" ]; then
  echo "run.sh: $BIN not found: build first (cmake -S . -B $BUILD &&" \
    "cmake --build $BUILD)" >&2
  exit 1
fi
for t in python3 timeout; do
  command -v $t >/dev/null || { echo "run.sh: $t needed" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "run.sh: GNU time (/usr/bin/time) needed:" \
  "apt-get install time" >&2; exit 1; }
# The help is read whole before it is searched: `cmd | grep -q` under
# pipefail fails when grep stops reading first and the writer gets EPIPE.
SIM_HELP=$("$BIN" sim --help 2>&1 || true)
if ! grep -q -- '--nodes' <<<"$SIM_HELP"; then
  echo "run.sh: $BIN has no 'sim' command (p2pclock sim --help); skipped" >&2
  exit 77
fi
if ! grep -q -- '--mem-limit' <<<"$SIM_HELP"; then
  echo "run.sh: $BIN sim has no --mem-limit: build a newer p2pclock" >&2
  exit 1
fi

STAMP=$(date -u +%Y%m%d-%H%M%S)
[ -n "$RESULTS" ] || RESULTS=/tmp/sim-scale-$STAMP.md
RAW=${RESULTS%.md}
mkdir -p "$RAW"
: >"$RESULTS"
RUNS=$RAW/runs.tsv
: >"$RUNS"
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" \
  2>/dev/null || true)
rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null |
  wc -l)
[ "$dirty" = 0 ] || rev="$rev + $dirty modified files"

say "# p2pclock simulator at scale ($(date -u '+%Y-%m-%d %H:%M UTC'))"
say ""
say "- machine: $(nproc) CPUs, ${cpu:-?}, $mem RAM, $(uname -sr)"
say "- build: ${btype:-?} ($BUILD), source $rev"
say "- seed $SEED, $MODE clock mode, $TOPO; each run capped at ${TIMEOUT} s" \
  "wall and $CAP_SHOWN of address space, with a memory budget" \
  "(--mem-limit) of $BUDGET_SHOWN" \
  "$([ "$QUICK" = 1 ] && echo '— **--quick smoke run: not the real figures**')"
say "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# the simulator's heap on huge pages or not (README: huge pages)
pages=$("$BIN" sim --nodes 2 --duration 1 2>&1 >/dev/null |
  grep -o '[a-z]* pages$' || echo "unknown pages")
say "- heap: $pages (transparent huge pages: $(cat \
  /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo none))"
say "- raw data: $RAW"
say ""

# run GROUP NODES RATE DURATION_S: one simulator run, appended to runs.tsv.
FAILED=0
run() {
  local group=$1 n=$2 rate=$3 dur=$4
  local tag=$group-$n-r$rate
  local csvf=$RAW/$tag.csv
  echo "run.sh: $(date -u +%H:%M:%S) $group: $n nodes, rate $rate," \
    "${dur} virtual s ..." >&2
  local rc=0
  (
    # 0: no cap (an ASan build reserves terabytes of address space)
    [ "$CAP_KIB" -eq 0 ] || ulimit -v "$CAP_KIB"
    exec /usr/bin/time -o "$RAW/$tag.time" -f '%e %M %U %S' \
      timeout -k 10 "$TIMEOUT" "$BIN" sim --nodes "$n" --duration "$dur" \
      --seed "$SEED" --topology "$TOPO" --mode "$MODE" --rate "$rate" \
      --bcast 0 \
      ${BUDGET_ARGS[@]+"${BUDGET_ARGS[@]}"} --csv "$csvf" --quiet \
      >"$RAW/$tag.out" 2>"$RAW/$tag.err"
  ) || rc=$?
  local wall rss usr sys cpu
  # GNU time prints "Command exited with non-zero status N" first then.
  read -r wall rss usr sys < <(tail -n 1 "$RAW/$tag.time" 2>/dev/null ||
    echo "? ? ? ?")
  cpu=$(awk -v u="${usr:-x}" -v s="${sys:-x}" \
    'BEGIN { if (u ~ /^[0-9.]+$/ && s ~ /^[0-9.]+$/) printf "%.2f", u + s; else print "?" }')
  # Out of memory under the cap: a message saying so, or (the simulator
  # aborts on a failed allocation without one) SIGABRT near the cap.
  local note=""
  if [ "$rc" = 3 ] && grep -q 'reached the budget' "$RAW/$tag.err"; then
    note=budget-$BUDGET_SHOWN
  elif [ "$rc" != 0 ] && { grep -qiE 'out of memory|cannot allocate' \
    "$RAW/$tag.err" || { [ "$rc" = 134 ] && [[ ${rss:-} =~ ^[0-9]+$ ]] &&
    [ "$CAP_KIB" -gt 0 ] && [ "$rss" -ge $((CAP_KIB * 3 / 4)) ]; }; }; then
    note="oom-$CAP_SHOWN"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$group" \
    "$n" "$TOPO" "$MODE" "$rate" "$dur" "$rc" "${wall:-?}" "${rss:-?}" \
    "$csvf" "$note" "$cpu" >>"$RUNS"
  echo "run.sh:   exit $rc, ${wall:-?} s wall, $cpu s CPU, ${rss:-?} KiB" \
    "peak, load $(cut -d' ' -f1 /proc/loadavg)" >&2
  # Exit 1 after the last virtual second: the run completed, and an
  # expectation of the command's default scenario failed (it says which on
  # stdout, kept in $tag.out); the figures stand.
  local reached
  reached=$(tail -n 1 "$csvf" 2>/dev/null | cut -d, -f1)
  [[ $reached =~ ^[0-9]+$ ]] || reached=0 # no row yet: the header
  if [ "$rc" = 1 ] && [[ $reached =~ ^[0-9]+$ ]] && [ "$reached" -ge "$dur" ]; then
    echo "run.sh:   completed; the command reported:" \
      "$(grep -E 'FAIL' "$RAW/$tag.out" | head -n 3 | tr -s ' ' | tr '\n' ';')" >&2
  elif [ "${note%%-*}" = budget ]; then
    echo "run.sh:   stopped at the memory budget ($BUDGET_SHOWN), at" \
      "${reached:-0} s virtual: $(cat "$RAW/$tag.err")" >&2
  elif [ -n "$note" ]; then
    echo "run.sh:   out of memory at the $CAP_SHOWN cap, at ${reached:-0} s" \
      "virtual" >&2
  elif [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ]; then
    echo "run.sh: $tag failed (exit $rc); its stderr:" >&2
    tail -n 5 "$RAW/$tag.err" >&2 || true
    FAILED=1
  fi
}

for n in "${GROWTH[@]}"; do run growth "$n" "$GRATE" "$GDURATION"; done
for nr in "${SCALE[@]}"; do run scale "${nr%%:*}" "${nr#*:}" "$DURATION"; done
[ "$BIG" = 0 ] || run scale 10000 0.05 "$DURATION"

python3 "$STATS" "$RUNS" | tee -a "$RESULTS"

# The overlay scenario (issue 12): one run of a scenario file, its figures
# from --json --timing, one table row.
run_overlay() {
  local name=$1 scn=$2
  shift 2
  local tag=overlay-$name
  echo "run.sh: $(date -u +%H:%M:%S) overlay: $scn $* ..." >&2
  local rc=0
  (
    [ "$CAP_KIB" -eq 0 ] || ulimit -v "$CAP_KIB"
    exec /usr/bin/time -o "$RAW/$tag.time" -f '%e %M %U %S' \
      timeout -k 10 "$TIMEOUT" "$BIN" sim --scenario "$scn" --seed "$SEED" \
      ${BUDGET_ARGS[@]+"${BUDGET_ARGS[@]}"} "$@" --csv "$RAW/$tag.csv" \
      --json --timing --quiet >"$RAW/$tag.json" 2>"$RAW/$tag.err"
  ) || rc=$?
  local wall rss usr sys
  read -r wall rss usr sys < <(tail -n 1 "$RAW/$tag.time" 2>/dev/null ||
    echo "? ? ? ?")
  [ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 124 ] || [ "$rc" = 3 ] ||
    FAILED=1
  python3 - "$RAW/$tag.json" "$name" "$rc" "$wall" "$rss" "$usr" "$sys" <<'PY' |
import json, sys
path, name, rc, wall, rss, usr, sys_ = sys.argv[1:]
def ms(ns):
    return "%.2f" % (ns / 1e6)
try:
    d = json.load(open(path))
except (OSError, ValueError):
    print("| %s | exit %s | %s | - | %s | - | - | - | - | - | - |" % (name, rc, wall, rss))
    sys.exit(0)
o = d["overlay"]; b = o["broadcasts"]
try:
    cpu = "%.1f" % (float(usr) + float(sys_))
except ValueError:
    cpu = "?"
print("| %s | %s (exit %s) | %s | %s | %.0f | %d / %d / %d | %d | %s | %s | %.1f / %.1f |" % (
    name, d["result"], rc, wall, cpu, float(rss) / 1024 if rss.isdigit() else 0,
    b["judged"], b["missing"], b["duplicates"], o["hops"]["p99"],
    ms(o["bcast_latency_ns"]["p99"]), ms(o["latency_ns"]["p99"]),
    d["final_spread_ns"] / 1e3, d["worst_spread_ns"] / 1e3))
PY
    tee -a "$RESULTS"
  echo "run.sh:   exit $rc, ${wall:-?} s wall, ${rss:-?} KiB peak" >&2
}

say ""
say "### The overlay at scale (issue 12)"
say ""
say "| run | result | wall s | CPU s | peak RSS MiB | broadcasts judged / missing / dup | hops p99 | bcast latency p99 ms | msg latency p99 ms | spread final / worst us |"
say "|---|---|---|---|---|---|---|---|---|---|"
if [ "$QUICK" = 1 ]; then
  run_overlay overlay_short "$SRC/scenarios/overlay_short.scn"
elif [ "$BIG" = 1 ]; then
  run_overlay scale10k "$SRC/scenarios/scale10k.scn" --duration "$DURATION"
else
  say "| (none: --no-10k) | | | | | | | | | |"
fi
say ""

say "### The command's own summaries (stdout of p2pclock sim)"
say ""
while IFS=$'\t' read -r group n topo mode rate dur rc wall rss csvf _; do
  out=${csvf%.csv}.out
  [ -s "$out" ] || continue
  say "$group: $n nodes, $topo, rate $rate, ${dur} s (exit $rc):"
  say ""
  say '```text'
  tee -a "$RESULTS" <"$out"
  say '```'
  say ""
done <"$RUNS"

say "### Charts"
say ""
nchart=0
while IFS=$'\t' read -r group n topo mode rate dur rc wall rss csvf _; do
  if [ "$group" != scale ] || [ ! -s "$csvf" ]; then continue; fi
  svg=${csvf%.csv}.svg
  if python3 "$PLOT" "$csvf" -o "$svg" --counts --series spread,err_p99 \
    --title "$n nodes, $topo, $mode, rate $rate msgs/s per node (seed $SEED)"; then
    say "- $svg"
    nchart=$((nchart + 1))
  else
    FAILED=1
  fi
done <"$RUNS"
[ "$nchart" -gt 0 ] || say "- (none: no scale run wrote its CSV)"
say ""
say "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
say ""
echo "run.sh: results in $RESULTS" >&2
exit "$FAILED"
