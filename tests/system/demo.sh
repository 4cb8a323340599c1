#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `p2pclock demo`, as `make demo` runs it, with --json: the verdict must be
# OK with exit status 0, messages must have been held back (the demo's
# causal chains: a slow node, a relay, a receiver) with an example chain
# that the JSON spells out, the numbers must add up (every message sent is
# delivered, reported undeliverable or lost with the killed node), and the
# clocks must agree within 1 ms. Then: 2 nodes (nothing can be held back,
# and the verdict says why), an interrupted demo (exit 130, verdict
# INTERRUPTED, every node stopped cleanly), and usage errors (exit 2, no
# JSON). Nodes bind 127.0.0.1 only; every wait is bounded and the only
# process signalled is the demo, by PID. P2PC_SEED=N replays a run.
#   demo.sh BUILD/p2pclock
set -euo pipefail
bin=${1:?usage: demo.sh P2PCLOCK}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-demo.XXXXXX")
passed=0
demo_pid=
cleanup() {
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$demo_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$demo_pid" 2>/dev/null || true
  fi
  if [ "$passed" -eq 1 ]; then
    rm -rf "$tmp"
  else
    echo "demo: logs and outputs kept in $tmp" >&2
  fi
}
trap cleanup EXIT

die() {
  echo "demo: FAIL: $*" >&2
  for f in "$tmp"/*.out "$tmp"/*.err; do
    [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2
  done
  exit 1
}

# check_json FILE PYTHON: runs the python assertions on the JSON object
# in FILE (as j); dies with the failed assertion.
check_json() {
  local file=$1 code=$2
  python3 - "$file" "$code" <<'EOF' || die "$file: the assertions above failed"
import json, sys
text = open(sys.argv[1]).read()
lines = text.splitlines()
assert len(lines) == 1, f"stdout has {len(lines)} lines, want one JSON object"
j = json.loads(lines[0])
assert isinstance(j, dict), "not a JSON object"
try:
    exec(sys.argv[2], {"j": j})
except AssertionError as e:
    print(f"seed {j.get('seed')}: assertion failed: {e}", file=sys.stderr)
    sys.exit(1)
EOF
}

# ---- the default demo, with --json --------------------------------------
rc=0
timeout 300 "$bin" demo --json --keep-logs "$tmp/logs" >"$tmp/main.out" \
  2>"$tmp/main.err" || rc=$?
[ "$rc" -eq 0 ] || die "demo --json: exit $rc, want 0"
check_json "$tmp/main.out" '
assert j["ok"] is True and j["verdict"] == "OK" and j["exit_status"] == 0, \
    (j["verdict"], j["problems"])
assert j["checked"] is True
assert j["nodes"] == 5 and j["duration_s"] == 20
assert j["killed"] in ["n1", "n2", "n3", "n4", "n5"]
slow, recv = j["slow_node"], j["chains"]["receiver"]
assert slow and recv and len({slow, recv, j["killed"]}) == 3, \
    "the slow node, the receiver and the victim are three nodes"
assert j["slow_delay_ms"] == 1500 and j["other_delay_ms"] == 50
assert j["chains"]["rounds"] >= 1 and j["chains"]["sends"] > 0
assert 1 <= j["chains"]["held"] <= j["chains"]["rounds"]
# causal order and exactly once, and the numbers add up
assert j["order_violations"] == 0 and j["delivered_twice"] == 0
assert j["never_delivered"] == 0 and j["other_violations"] == 0
lost = j["lost_with_killed"]
assert j["messages"] > 0 and j["messages"] == j["delivered"] + \
    j["undeliverable"] + j["expired"] + lost["received_not_delivered"] + \
    lost["sent_not_out"]
assert j["to_self"] <= j["messages"] and j["first_violations"] == []
# hold-back happened, with a plausible distribution and an example chain
h = j["held_back"]
assert h["count"] > 0, "no message was held back"
assert 0 < h["median_ns"] <= h["p99_ns"] <= h["max_ns"]
assert h["max_ns"] < 60e9, "a hold of a minute or more"
# (the example is a chain'"'"'s whenever one of its rounds was held back, so
# this also checks the chains themselves, not just chance reordering)
x = h["example"]
assert x is not None, "no example"
assert x["chain"] is True, "no message of a causal chain was held back"
assert x["receiver"] == recv and x["waited_ns"] > 0
assert x["held"].startswith(x["from"] + "~")
assert x["relay"] == x["from"] and x["released_by"] == x["slow_last"]
for k in ("relay_got", "slow_first", "slow_last", "released_by"):
    assert x[k].startswith(slow + "~"), (k, x[k])
assert x["text"]
# the clocks
c = j["clocks"]
assert c["ok"] is True and c["measured"] is True and c["synced"] == 5
assert c["mode"] == "reference" and c["ref"] in ["n1", "n2", "n3", "n4", "n5"]
assert 0 <= c["median_disagreement_ns"] <= c["max_disagreement_ns"] < 1e6
assert 0 < c["rounds_used"] <= c["rounds"]
r = j["requests"]
assert r["sends"] + r["broadcasts"] > 0
assert j["problems"] == [] and j["logs"]
'
# the live view went to stderr, and told holds and their causes
grep -Eq 'holds n[0-9]+:[0-9]+ back: it waits for ' "$tmp/main.err" ||
  die "the live view did not show a hold and what it waits for"
grep -Eq 'delivers n[0-9]+:[0-9]+ after .*, right after n[0-9]+' \
  "$tmp/main.err" || die "the live view did not show a release"
grep -q '^verdict: OK' "$tmp/main.err" || die "no verdict in words on stderr"
grep -Eq '^ +e\.g\. ' "$tmp/main.err" || die "no example in the verdict"
grep -q 'reported undeliverable .*not loss' "$tmp/main.err" ||
  die "the verdict does not say what undeliverable means"
# the logs kept show the hold the example names
held=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["held_back"]["example"]["held"])' "$tmp/main.out")
grep -q "\"ev\":\"buffer\",.*\"msg\":\"$held\"" "$tmp/logs"/n*.events ||
  die "no buffer line for $held in the logs"

# ---- 2 nodes: nothing can be held back ----------------------------------
rc=0
timeout 300 "$bin" demo --json --nodes 2 --duration 2 --no-kill \
  >"$tmp/two.out" 2>"$tmp/two.err" || rc=$?
[ "$rc" -eq 0 ] || die "demo --nodes 2: exit $rc, want 0"
check_json "$tmp/two.out" '
assert j["ok"] is True and j["verdict"] == "OK"
assert j["killed"] is None and j["slow_node"] is None
assert j["chains"]["receiver"] is None and j["chains"]["rounds"] == 0
assert j["chains"]["held"] == 0
assert j["held_back"]["count"] == 0 and j["held_back"]["example"] is None
assert j["undeliverable"] == 0 and j["messages"] == j["delivered"]
assert j["clocks"]["synced"] == 2 and j["logs"] is None
'
grep -q 'with 2 nodes' "$tmp/two.err" || die "2 nodes: no word on why"

# ---- interrupted: exit 130, the verdict says so, the nodes stopped ------
"$bin" demo --json --nodes 3 --duration 60 --keep-logs "$tmp/int" \
  >"$tmp/int.out" 2>"$tmp/int.err" &
demo_pid=$!
for _ in $(seq 1 600); do
  grep -q 'causal chain 1' "$tmp/int.err" 2>/dev/null && break
  kill -0 "$demo_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q 'causal chain 1' "$tmp/int.err" || die "interrupt: the demo never got to its traffic"
kill -INT "$demo_pid"
rc=
for _ in $(seq 1 600); do
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    rc=0
    wait "$demo_pid" || rc=$?
    break
  fi
  sleep 0.1
done
[ -n "$rc" ] || die "interrupt: the demo did not end within 60 s of SIGINT"
demo_pid=
[ "$rc" -eq 130 ] || die "interrupt: exit $rc, want 130"
check_json "$tmp/int.out" '
assert j["ok"] is False and j["verdict"] == "INTERRUPTED"
assert j["exit_status"] == 130 and j["checked"] is False
assert j["messages"] is None and j["held_back"] is None
'
for f in "$tmp/int"/n*.events; do
  tail -n 1 "$f" | grep -q '"ev":"stop"' || die "interrupt: $f does not end with a stop"
done

# ---- usage errors: exit 2, one line on stderr, nothing on stdout -------
for args in "--nodes 1" "--duration 0" "--rate x" "--bogus" "--clock-mode y" \
  "--nodes"; do
  rc=0
  # shellcheck disable=SC2086
  timeout 20 "$bin" demo --json $args >"$tmp/usage.out" 2>"$tmp/usage.err" ||
    rc=$?
  [ "$rc" -eq 2 ] || die "demo $args: exit $rc, want 2"
  [ ! -s "$tmp/usage.out" ] || die "demo $args: printed on stdout"
  [ "$(wc -l <"$tmp/usage.err")" -eq 1 ] || die "demo $args: not one line"
done
demo_help=$(timeout 20 "$bin" demo --help) || die "demo --help failed"
grep -q -- '--json' <<<"$demo_help" || die "--help lacks --json"

passed=1
echo "demo: ok"
