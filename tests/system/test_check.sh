#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `p2pclock check` on hand-written event logs (fixtures/check/<case>/*.jsonl,
# one file per node): each case must give its exit status, its verdict line
# and, where it matters, the violation or count that decides it. A good run,
# an order violation, a double delivery, a missing delivery, the excused
# losses (crashed receiver, crashed sender, undeliverable) and the excuse
# that does not hold, wrong destination and unknown messages, torn lines of
# a killed node, malformed and oversized input; expiries: honest (excused,
# and its successor's delivery is no ORDER), early, with Δ infinite, at a
# destination that delivered the message, at a sender whose message got
# through, and one within the network-time tolerance but not within a
# tighter --expiry-tolerance. Touches no network.
#   test_check.sh BUILD/p2pclock FIXTURE_DIR
set -euo pipefail
bin=${1:?usage: test_check.sh P2PCLOCK FIXTURE_DIR}
fix=${2:?usage: test_check.sh P2PCLOCK FIXTURE_DIR}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $fix in /*) ;; *) fix=$PWD/$fix ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cases=0
failed=0

fail() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
  sed 's/^/  stdout: /' "$tmp/out" >&2
  sed 's/^/  stderr: /' "$tmp/err" >&2
}

# run ARGS...: runs p2pclock check ARGS (bounded in time); sets $rc.
run() {
  cases=$((cases + 1))
  rc=0
  timeout 20 "$bin" check "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

# expect CASE RC VERDICT_REGEX [GREP_REGEX...]: checks the case's logs give
# exit RC, a last line matching VERDICT_REGEX, and each GREP_REGEX in stdout.
expect() {
  local name=$1 want_rc=$2 verdict=$3
  shift 3
  run "$fix/$name"/*.jsonl
  if [ "$rc" -ne "$want_rc" ]; then
    fail "$name: exit $rc, want $want_rc"
    return
  fi
  if ! tail -n 1 "$tmp/out" | grep -Eq -- "$verdict"; then
    fail "$name: verdict is not /$verdict/"
    return
  fi
  local re
  for re in "$@"; do
    if ! grep -Eq -- "$re" "$tmp/out"; then
      fail "$name: no /$re/ in the output"
      return
    fi
  done
}

# ---- the verdicts ---------------------------------------------------------
expect good 0 '^check: OK \(4 messages, 4 delivered, 0 excused\)$' \
  '4 messages sent \(1 to self\), 4 delivered; 1 waited in a buffer: p50 2.5 ms' \
  '^check: 1 duplicates dropped, 0 drops'
expect order 1 '^check: FAILED: 1 violations$' \
  '^  ORDER: C~c1 delivered B~b1:1 before A~a1:1 '
expect double 1 '^check: FAILED: 1 violations$' \
  '^  DUPLICATE: B~b1 delivered A~a1:1 again'
expect missing 1 '^check: FAILED: 1 violations$' \
  '^  MISSING: A~a1:2 \(to B~b1\) was never delivered$'
expect crashed_receiver 0 '^check: OK \(2 messages, 1 delivered, 1 excused\)$' \
  ' 1 lost with a crashed receiver,' '2 incarnations \(1 crashed\)'
expect crashed_sender 0 '^check: OK \(4 messages, 3 delivered, 1 excused\)$' \
  ' 1 lost with a crashed or restarted sender, 0 expired' '1 drops'
expect undeliverable 0 '^check: OK \(2 messages, 1 delivered, 1 excused\)$' \
  ' 1 undeliverable,'
expect undeliverable_false 1 '^check: FAILED: 1 violations$' \
  'MISSING: A~a1:1 \(to B~b1\) .*never restarted'
expect wrong_dest 1 '^check: FAILED: 2 violations$' \
  '^  WRONG_DEST: C~c1 delivered A~a1:1, which was sent to B~b1$' \
  '^  UNKNOWN: C~c1 delivered A~a1:7, which was never sent$'
expect log_errors 1 '^check: FAILED: 2 violations$' \
  'A.jsonl:5: "peer_down" after the "stop" of A~a1' \
  'A~a1:2 was sent to D~d1, whose log is not among the files'
expect torn 0 '^check: OK \(3 messages, 2 delivered, 1 excused\)$'
grep -q 'warning: .*torn/A.jsonl:3: torn line before a restart' "$tmp/err" ||
  fail "torn: no warning for line 3"
grep -q 'warning: .*torn/A.jsonl:5: torn last line' "$tmp/err" ||
  fail "torn: no warning for line 5"

# ---- broadcasts ("to":"*") -------------------------------------------------
expect bcast_good 0 '^check: OK \(3 messages, 3 delivered, 0 excused\)$' \
  '1 duplicates dropped, 1 drops'
expect bcast_order 1 '^check: FAILED: 1 violations$' \
  '^  ORDER: C~c1 delivered B~b1:1 before A~a1:1 '
expect bcast_early 1 '^check: FAILED: 1 violations$' \
  '^  ORDER: C~c1 delivered B~b1:2 before A~a1:1 \(a broadcast\)'
expect bcast_twice 1 '^check: FAILED: 1 violations$' \
  '^  DUPLICATE: B~b1 delivered broadcast A~a1:1 again'
expect bcast_missing 1 '^check: FAILED: 1 violations$' \
  '^  MISSING: broadcast B~b1:2 was never delivered at C~c1$'
expect bcast_before_birth 1 '^check: FAILED: 1 violations$' \
  '^  WRONG_DEST: broadcast A~a1:1 \(stamp 1700000002000000000\) was delivered at D~d1, born after it \(birth 1700000003000000000\)$'

# ---- expiries --------------------------------------------------------------
expect expired 0 '^check: OK \(3 messages, 2 delivered, 1 excused\)$' \
  ', 1 expired \(2 expiry reports\)$' '1 waited in a buffer: p50 56.00 s'
expect expired_early 1 '^check: FAILED: 1 violations$' \
  '^  EXPIRED_EARLY: .*expired_early/A.jsonl:4: A~a1 reported A~a1:1 expired at HLC 1700000018100000000, 15.100 s after its stamp \(lifetime 60.000 s\)$'
expect expired_delivered 1 '^check: FAILED: 1 violations$' \
  '^  EXPIRED_DELIVERED: .*expired_delivered/B.jsonl:4: B~b1 reported A~a1:1 expired, and delivered it$'
expect expired_sender_delivered 0 \
  '^check: OK \(1 messages, 1 delivered, 0 excused\)$' \
  ', 0 expired \(1 expiry reports\)$'
expect expired_infinite 1 '^check: FAILED: 1 violations$' \
  '^  EXPIRED_EARLY: .*expired_infinite/A.jsonl:3: A~a1 reported A~a1:1 expired though its causal lifetime is infinite$'
expect expired_skew 0 '^check: OK \(1 messages, 0 delivered, 1 excused\)$'
# B's report is 0.5 s short of send.net + Δ by network time.
run --expiry-tolerance 0.2 "$fix"/expired_skew/*.jsonl
if [ "$rc" -ne 1 ] || ! grep -q '^  EXPIRED_EARLY: .*expired_skew/B.jsonl:3: B~b1 reported A~a1:1 expired at network time 59.500 s after its send (lifetime 60.000 s, tolerance 0.200 s)$' "$tmp/out"; then
  fail "expired_skew --expiry-tolerance 0.2: exit $rc"
fi
run "$fix"/expired_skew/*.jsonl --expiry-tolerance=0.5
[ "$rc" -eq 0 ] || fail "expired_skew --expiry-tolerance=0.5: exit $rc"

# The files may come in any order: the offline checker waits for sends.
run "$fix"/order/C.jsonl "$fix"/order/B.jsonl "$fix"/order/A.jsonl
if [ "$rc" -ne 1 ] || ! grep -q '^  ORDER: C~c1 delivered B~b1:1' "$tmp/out"; then
  fail "order, files reversed: exit $rc"
fi
run "$fix"/good/C.jsonl "$fix"/good/A.jsonl "$fix"/good/B.jsonl
[ "$rc" -eq 0 ] || fail "good, files shuffled: exit $rc"

# ---- --json ---------------------------------------------------------------
json_check() { # CASE PYTHON_EXPR: the one JSON line j must satisfy EXPR
  python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, "not one line"
j = json.loads(lines[0])
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$tmp/out" "$2" || fail "$1 --json: not $2"
}
run --json "$fix"/good/*.jsonl
[ "$rc" -eq 0 ] || fail "good --json: exit $rc"
json_check good 'j["ok"] and j["messages"] == 4 and j["delivered"] == 4 and
  j["self_sends"] == 1 and j["waited"] == 1 and
  j["waited_ns"]["max"] == 2500000 and j["duplicates"] == 1 and
  j["violations"] == 0 and j["first_violations"] == []'
run "$fix"/order/*.jsonl --json
[ "$rc" -eq 1 ] || fail "order --json: exit $rc"
json_check order 'not j["ok"] and j["violations"] == 1 and
  j["by_kind"]["ORDER"] == 1 and j["first_violations"][0].startswith("ORDER")'
run --json "$fix"/crashed_sender/*.jsonl
json_check crashed_sender 'j["ok"] and j["lost_crashed_sender"] == 1 and
  j["incarnations"] == 4 and j["crashed"] == 1 and j["nodes"] == 3'
run --json "$fix"/expired/*.jsonl
json_check expired 'j["ok"] and j["expired"] == 1 and
  j["expiry_reports"] == 2 and j["delivered"] == 2 and
  j["by_kind"]["EXPIRED_EARLY"] == 0 and j["by_kind"]["ORDER"] == 0'
run --json "$fix"/expired_delivered/*.jsonl
json_check expired_delivered 'not j["ok"] and j["expired"] == 0 and
  j["by_kind"]["EXPIRED_DELIVERED"] == 1 and j["violations"] == 1'

# ---- bad input: exit 2, file:line on stderr, nothing on stdout -------------
bad() { # NAME STDERR_REGEX ARGS...
  local name=$1 re=$2
  shift 2
  run "$@"
  if [ "$rc" -ne 2 ]; then
    fail "$name: exit $rc, want 2"
  elif [ -s "$tmp/out" ]; then
    fail "$name: wrote to stdout"
  elif ! grep -Eq -- "$re" "$tmp/err"; then
    fail "$name: no /$re/ on stderr"
  fi
}
bad malformed 'malformed/A.jsonl:2: not a JSON object' "$fix"/malformed/*.jsonl
grep -q 'malformed/A.jsonl:4: "deliver": "msg" must be' "$tmp/err" ||
  fail "malformed: line 4 not reported"
grep -q 'malformed/A.jsonl:5: "send" line without a string "msg"' "$tmp/err" ||
  fail "malformed: line 5 not reported"
grep -q 'malformed/B.jsonl:1: "deliver" before the first "start" line' \
  "$tmp/err" || fail "malformed: B line 1 not reported"
bad missing-file 'nope.jsonl: cannot open: No such file' "$tmp/nope.jsonl"
bad no-files 'no log files given'
bad bad-option 'unknown option "--frob"' --frob "$fix"/good/A.jsonl
bad bad-tolerance '--expiry-tolerance must be a number of seconds 0\.\.1000000, got "-1"' \
  --expiry-tolerance -1 "$fix"/good/A.jsonl
bad nan-tolerance '--expiry-tolerance must be a number of seconds 0\.\.1000000, got "nan"' \
  --expiry-tolerance=nan "$fix"/good/A.jsonl
bad no-tolerance '--expiry-tolerance: missing value \(try p2pclock check --help\)' \
  "$fix"/good/A.jsonl --expiry-tolerance
bad same-file-twice 'A~a1 already started at .*given twice' \
  "$fix"/good/A.jsonl "$fix"/good/A.jsonl "$fix"/good/B.jsonl
# A line past 1 MiB is refused (and not kept in memory).
{
  head -n 1 "$fix"/good/A.jsonl
  printf '{"node":"A","ev":"peer_up","mono":1,"local":1,"net":1,"addr":"'
  head -c 1100000 /dev/zero | tr '\0' x
  printf '"}\n'
} >"$tmp/long.jsonl"
bad long-line 'long.jsonl:2: line longer than 1048576 bytes' "$tmp/long.jsonl"
printf '{"node":"A","ev":"start","mono":1,"local":1,"net":1,"sesid":"A~1"}\n[1]\n' \
  >"$tmp/array.jsonl"
bad array 'array.jsonl:2: not a JSON object' "$tmp/array.jsonl"
printf '{"node":"A","ev":"start","mono":1,"local":1,"net":1,"sesid":"B~1"}\n' \
  >"$tmp/sesid.jsonl"
bad foreign-sesid 'sesid.jsonl:1: "start": "sesid" must be "A" or "A~TAG"' \
  "$tmp/sesid.jsonl"
printf '{"node":"A","ev":"start","local":1,"net":1}\n' >"$tmp/nomono.jsonl"
bad no-mono 'nomono.jsonl:1: "start" line without a number "mono"' \
  "$tmp/nomono.jsonl"

run --help
if [ "$rc" -ne 0 ] || ! grep -q '^usage: p2pclock check' "$tmp/out"; then
  fail "--help: exit $rc"
fi

echo "test_check: $cases cases, $failed failed"
[ "$failed" -eq 0 ]
