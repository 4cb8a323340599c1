#!/bin/sh
# SPDX-License-Identifier: MIT
# The real p2pclock command refusing bad configs and flags: for each case,
# `p2pclock node ... --check-config` must exit 2 with exactly one line on
# stderr (the one a user would see) and nothing on stdout; the prototype's
# configs must pass with one JSON line on stdout; `help [COMMAND]` must
# print what --help and COMMAND --help print. No network is touched:
# --check-config stops after resolving the config. Every run is time-bound.
#   test_bad_config.sh BUILD/p2pclock SOURCE/config
set -u
bin=${1:?usage: test_bad_config.sh P2PCLOCK CONFIG_DIR}
confdir=${2:?usage: test_bad_config.sh P2PCLOCK CONFIG_DIR}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $confdir in /*) ;; *) confdir=$PWD/$confdir ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-bad-config.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
cd "$tmp" || exit 1

cases=0
failed=0

fail() {
  failed=$((failed + 1))
  echo "FAIL: p2pclock $*" >&2
}

# check STATUS STDERR ARGS...: runs p2pclock ARGS, wants exit STATUS and
# stderr exactly the line STDERR (or empty if STDERR is ""). Leaves the
# output in ./out.
check() {
  want_rc=$1
  want_err=$2
  shift 2
  cases=$((cases + 1))
  timeout 10 "$bin" "$@" >out 2>err
  rc=$?
  if [ -n "$want_err" ]; then
    printf '%s\n' "$want_err" >want
  else
    : >want
  fi
  if [ "$rc" -ne "$want_rc" ]; then
    fail "$*: exit $rc, want $want_rc"
    sed 's/^/  stderr: /' err >&2
  elif ! cmp -s want err; then
    fail "$*: wrong stderr"
    sed 's/^/  want: /' want >&2
    sed 's/^/  got:  /' err >&2
  fi
}

# bad_file NAME CONTENT MESSAGE: a config file that must be refused.
bad_file() {
  printf '%s' "$2" >"$1"
  check 2 "$1: $3" node --config "$1" --check-config
  [ -s out ] && fail "node --config $1: wrote to stdout"
  rm -f "$1"
}

# bad_flags MESSAGE ARGS...: node flags that must be refused.
bad_flags() {
  msg=$1
  shift
  check 2 "$msg" node --check-config "$@"
  [ -s out ] && fail "node $*: wrote to stdout"
}

# ---- the prototype's configs pass ------------------------------------------
for f in "$confdir"/node?.json; do
  check 0 "" node --config "$f" --check-config
  [ "$(wc -l <out)" -eq 1 ] || fail "node --config $f: not one line"
done
check 0 "" node --check-config --config "$confdir/nodeJ.json"
printf '%s\n' '{"nodeID":"J","nodeIP":"127.0.0.1","nodePort":9009,"connectTo":[],"control":"/tmp/p2pclock-J.sock","logLevel":"info","maxPeers":64,"causalLifetime":60,"chaosDelay":"0:0","chaosDrop":0,"timePort":9009,"timeSync":true,"clockMode":"reference","priority":128,"clockClass":248,"pollMin":-3,"pollMax":1,"maxSlewPpm":500,"stepThreshold":0.001,"timestamping":"auto","maxOnDemand":16,"maxSessions":1024,"onDemandIdle":60,"probeInterval":0.2,"probeTimeout":0.1,"passiveMax":32,"peersSample":32,"shuffleInterval":10,"secure":true}' >want
cmp -s want out || fail "node --config nodeJ.json: wrong JSON: $(cat out)"
check 0 "" node --config "$confdir/nodeA.json" --id Z --listen '[::1]:9100' \
  --peer B@127.0.0.1:9001 --log-level debug --check-config
printf '%s\n' '{"nodeID":"Z","nodeIP":"::1","nodePort":9100,"connectTo":[{"nodeID":"B","nodeIP":"127.0.0.1","nodePort":9001}],"control":"/tmp/p2pclock-Z.sock","logLevel":"debug","maxPeers":64,"causalLifetime":60,"chaosDelay":"0:0","chaosDrop":0,"timePort":9100,"timeSync":true,"clockMode":"reference","priority":128,"clockClass":248,"pollMin":-3,"pollMax":1,"maxSlewPpm":500,"stepThreshold":0.001,"timestamping":"auto","maxOnDemand":16,"maxSessions":1024,"onDemandIdle":60,"probeInterval":0.2,"probeTimeout":0.1,"passiveMax":32,"peersSample":32,"shuffleInterval":10,"secure":true}' >want
cmp -s want out || fail "node with overriding flags: wrong JSON: $(cat out)"
# The clock flags: a virtual clock iff an offset or a drift is given, the
# one switch (--no-time-sync) takes no value, negative values as words.
check 0 "" node --id A --listen 127.0.0.1:9000 --clock-offset -0.5 \
  --clock-drift 100 --no-time-sync --time-port 9123 --clock-mode collaborative \
  --priority 1 --clock-class 2 --poll-min -6 --poll-max=10 --max-slew 100000 \
  --step-threshold 0 --timestamping user --causal-lifetime inf --check-config
printf '%s\n' '{"nodeID":"A","nodeIP":"127.0.0.1","nodePort":9000,"connectTo":[],"control":"/tmp/p2pclock-A.sock","logLevel":"info","maxPeers":64,"causalLifetime":"inf","chaosDelay":"0:0","chaosDrop":0,"clockOffset":-0.5,"clockDriftPpm":100,"timePort":9123,"timeSync":false,"clockMode":"collaborative","priority":1,"clockClass":2,"pollMin":-6,"pollMax":10,"maxSlewPpm":100000,"stepThreshold":0,"timestamping":"user","maxOnDemand":16,"maxSessions":1024,"onDemandIdle":60,"probeInterval":0.2,"probeTimeout":0.1,"passiveMax":32,"peersSample":32,"shuffleInterval":10,"secure":true}' >want
cmp -s want out || fail "node with clock flags: wrong JSON: $(cat out)"
printf '%s' '{"nodeID":"A","nodePort":9000,"clockDriftPpm":0,"timeSync":false}' >clock.json
check 0 "" node --config clock.json --check-config
grep -q '"clockOffset":0,"clockDriftPpm":0,"timePort":9000,"timeSync":false' out ||
  fail "node --config clock.json: wrong JSON: $(cat out)"
rm -f clock.json
check 0 "" node --help
grep -q -- '--clock-offset S' out || fail "node --help: no --clock-offset"
grep -q 'host name' out || fail "node --help: does not mention host names"
# Host names are taken as written (the node resolves them, not the config).
check 0 "" node --id A --listen node-a.lan:9000 --peer B@node-b:9001 \
  --peer localhost:9002 --check-config
grep -q '"nodeIP":"node-a.lan","nodePort":9000,"connectTo":\[{"nodeID":"B","nodeIP":"node-b","nodePort":9001},{"nodeIP":"localhost","nodePort":9002}\]' out ||
  fail "node with host names: wrong JSON: $(cat out)"

# ---- bad files -------------------------------------------------------------
bad_file port-string.json '{"nodeID":"A","nodeIP":"127.0.0.1","nodePort":"90x0"}' \
  '"nodePort" must be an integer 1..65535, got "90x0"'
bad_file port-fraction.json '{"nodeID":"A","nodePort":9000.5}' \
  '"nodePort" must be an integer 1..65535, got 9000.5'
bad_file port-quoted.json '{"nodeID":"A","nodePort":"9000"}' \
  '"nodePort" must be an integer 1..65535, got "9000"'
bad_file port-range.json '{"nodeID":"A","nodePort":70000}' \
  '"nodePort" must be an integer 1..65535, got 70000'
bad_file typo.json '{"nodeID":"A","nodePort":9000,"conectTo":[]}' \
  'unknown key "conectTo" (did you mean "connectTo"?)'
bad_file twice.json '{"nodeID":"A","nodeID":"B","nodePort":9000}' \
  '"nodeID" appears twice'
bad_file id.json '{"nodeID":"node A","nodePort":9000}' \
  '"nodeID" must be 1..64 characters of [A-Za-z0-9._-], got "node A"'
bad_file ip.json '{"nodeID":"A","nodeIP":"1.2.3","nodePort":9000}' \
  '"nodeIP" must be a valid IPv4 address (a host name cannot end in a label of digits only), got "1.2.3"'
bad_file host.json '{"nodeID":"A","nodeIP":"node_a","nodePort":9000}' \
  "\"nodeIP\" must be an IP address or a host name of letters, digits, '-' and '.', got \"node_a\""
bad_file peer-host.json '{"nodeID":"A","nodePort":9000,"connectTo":[{"nodeIP":"node-b-","nodePort":9001}]}' \
  "\"connectTo[0].nodeIP\" must not start or end a label with '-', got \"node-b-\""
bad_file peers-object.json '{"nodeID":"A","nodePort":9000,"connectTo":{"nodeID":"B"}}' \
  '"connectTo" must be an array of {"nodeID", "nodeIP", "nodePort"} objects, got {"nodeID":"B"}'
bad_file peer-port.json '{"nodeID":"A","nodePort":9000,"connectTo":[
  {"nodeID":"B","nodeIP":"127.0.0.1","nodePort":9001},
  {"nodeID":"C","nodeIP":"127.0.0.1","nodePort":"9002"}]}' \
  '"connectTo[1].nodePort" must be an integer 1..65535, got "9002"'
bad_file peer-missing.json '{"nodeID":"A","nodePort":9000,"connectTo":[{"nodeID":"B","nodePort":9001}]}' \
  '"connectTo[0].nodeIP" is required'
bad_file peer-self.json '{"nodeID":"A","nodePort":9000,"connectTo":[{"nodeID":"A","nodeIP":"127.0.0.1","nodePort":9001}]}' \
  '"connectTo[0].nodeID" is this node'"'"'s own ID, got "A"'
bad_file level.json '{"nodeID":"A","nodePort":9000,"logLevel":"trace"}' \
  '"logLevel" must be one of "error", "warn", "info", "debug", got "trace"'
bad_file max-peers.json '{"nodeID":"A","nodePort":9000,"maxPeers":2000}' \
  '"maxPeers" must be an integer 1..1024, got 2000'
# The overlay's keys and flags (p2pc_settings' defaults, checked ranges).
check 0 "" node --id A --listen 127.0.0.1:9000 --max-on-demand 4 \
  --max-sessions 64 --on-demand-idle 5 --probe-interval 1 --probe-timeout 0.5 \
  --passive-max 128 --peers-sample 16 --shuffle-interval 30 --check-config
grep -q '"maxOnDemand":4,"maxSessions":64,"onDemandIdle":5,"probeInterval":1,"probeTimeout":0.5,"passiveMax":128,"peersSample":16,"shuffleInterval":30,"secure":true}$' out ||
  fail "node with overlay flags: wrong JSON: $(cat out)"
bad_file ondemand.json '{"nodeID":"A","nodePort":9000,"maxOnDemand":0}' \
  '"maxOnDemand" must be an integer 1..4096, got 0'
bad_file sessions.json '{"nodeID":"A","nodePort":9000,"maxSessions":2000000}' \
  '"maxSessions" must be an integer 1..1048576, got 2000000'
bad_file idle.json '{"nodeID":"A","nodePort":9000,"onDemandIdle":"60"}' \
  '"onDemandIdle" must be a number of seconds, 0.001..86400, got "60"'
bad_file probe.json '{"nodeID":"A","nodePort":9000,"probeInterval":0}' \
  '"probeInterval" must be a number of seconds, 0.001..60, got 0'
bad_file passive.json '{"nodeID":"A","nodePort":9000,"passiveMax":1.5}' \
  '"passiveMax" must be an integer 1..1024, got 1.5'
bad_file sample.json '{"nodeID":"A","nodePort":9000,"peersSample":65}' \
  '"peersSample" must be an integer 1..64, got 65'
bad_file shuffle.json '{"nodeID":"A","nodePort":9000,"shuffleInterval":-1}' \
  '"shuffleInterval" must be a number of seconds, 0.001..3600, got -1'
bad_file lifetime.json '{"nodeID":"A","nodePort":9000,"causalLifetime":0}' \
  '"causalLifetime" must be a number of seconds 0.001..1e6, or "inf" (never expire), got 0'
bad_file lifetime-str.json '{"nodeID":"A","nodePort":9000,"causalLifetime":"forever"}' \
  '"causalLifetime" must be a number of seconds 0.001..1e6, or "inf" (never expire), got "forever"'
bad_file delay.json '{"nodeID":"A","nodePort":9000,"chaosDelay":"100:10"}' \
  '"chaosDelay" must be "MIN:MAX" milliseconds with 0 <= MIN <= MAX <= 60000, got "100:10"'
bad_file drop.json '{"nodeID":"A","nodePort":9000,"chaosDrop":1.5}' \
  '"chaosDrop" must be a number 0 <= P < 1, got 1.5'
bad_file offset.json '{"nodeID":"A","nodePort":9000,"clockOffset":2e6}' \
  '"clockOffset" must be a number of seconds, -1e6..1e6, got 2000000'
bad_file drift.json '{"nodeID":"A","nodePort":9000,"clockDriftPpm":"100"}' \
  '"clockDriftPpm" must be a number of ppm, -1000..1000, got "100"'
bad_file time-port.json '{"nodeID":"A","nodePort":9000,"timePort":70000}' \
  '"timePort" must be an integer 1..65535, got 70000'
bad_file time-sync.json '{"nodeID":"A","nodePort":9000,"timeSync":"off"}' \
  '"timeSync" must be true or false, got "off"'
bad_file mode.json '{"nodeID":"A","nodePort":9000,"clockMode":"leader"}' \
  '"clockMode" must be "reference" or "collaborative", got "leader"'
bad_file priority.json '{"nodeID":"A","nodePort":9000,"priority":300}' \
  '"priority" must be an integer 0..255, got 300'
bad_file class.json '{"nodeID":"A","nodePort":9000,"clockClass":-1}' \
  '"clockClass" must be an integer 0..255, got -1'
bad_file poll-min.json '{"nodeID":"A","nodePort":9000,"pollMin":-10}' \
  '"pollMin" must be an integer -6..10 (log2 seconds), got -10'
bad_file poll-order.json '{"nodeID":"A","nodePort":9000,"pollMin":4,"pollMax":3}' \
  '"pollMin" must not exceed pollMax (3), got 4'
bad_file slew.json '{"nodeID":"A","nodePort":9000,"maxSlewPpm":0}' \
  '"maxSlewPpm" must be a number of ppm, 1..100000, got 0'
bad_file tstamp.json '{"nodeID":"A","nodePort":9000,"timestamping":"kernel"}' \
  '"timestamping" must be "auto", "kernel-rx" or "user", got "kernel"'
bad_file step.json '{"nodeID":"A","nodePort":9000,"stepThreshold":-1}' \
  '"stepThreshold" must be a number of seconds, 0..1000, got -1'
bad_file clock-typo.json '{"nodeID":"A","nodePort":9000,"clockDriftPPM":5}' \
  'unknown key "clockDriftPPM" (did you mean "clockDriftPpm"?)'
bad_file no-id.json '{"nodeIP":"127.0.0.1","nodePort":9000}' \
  '"nodeID" is required (or give --id)'
bad_file no-port.json '{"nodeID":"A","nodeIP":"127.0.0.1"}' \
  '"nodePort" is required (or give --listen HOST:PORT)'
bad_file syntax.json '{
  "nodeID": "A",
  "nodePort": 9000,
}' 'invalid JSON at line 4, column 1'
bad_file truncated.json '{"nodeID": "A",' \
  'invalid JSON at line 1, column 15'
bad_file empty.json '' 'file is empty, expected a JSON object'
bad_file array.json '[]' 'must hold a JSON object, got []'
check 2 "missing.json: cannot open: No such file or directory" \
  node --config missing.json --check-config
[ -s out ] && fail "node --config missing.json: wrote to stdout"

# ---- bad flags -------------------------------------------------------------
bad_flags '--causal-lifetime: must be a number of seconds 0.001..1e6, or "inf" (never expire), got "60x"' \
  --id A --causal-lifetime 60x
bad_flags '--causal-lifetime: must be a number of seconds 0.001..1e6, or "inf" (never expire), got "-1"' \
  --id A --causal-lifetime -1
bad_flags '--listen: PORT must be an integer 1..65535, got "127.0.0.1:90x0"' \
  --id A --listen 127.0.0.1:90x0
bad_flags '--listen: must be HOST:PORT (an IPv6 HOST in brackets), got "::1:9000"' \
  --id A --listen ::1:9000
bad_flags '--id: must be 1..64 characters of [A-Za-z0-9._-], got "a/b"' \
  --id a/b --listen 127.0.0.1:9000
bad_flags '--peer: must be [ID@]HOST:PORT (an IPv6 HOST in brackets), got "B"' \
  --id A --listen 127.0.0.1:9000 --peer B
bad_flags '--chaos-delay: must be "MIN:MAX" milliseconds with 0 <= MIN <= MAX <= 60000, got "0:70000"' \
  --id A --listen 127.0.0.1:9000 --chaos-delay 0:70000
bad_flags '--chaos-drop: must be a number 0 <= P < 1, got "1"' \
  --id A --listen 127.0.0.1:9000 --chaos-drop 1
bad_flags '--log-level: must be one of "error", "warn", "info", "debug", got "loud"' \
  --id A --listen 127.0.0.1:9000 --log-level loud
bad_flags '--max-peers: must be an integer 1..1024, got "-1"' \
  --id A --listen 127.0.0.1:9000 --max-peers -1
bad_flags '--probe-timeout: must be a number of seconds, 0.001..60, got "61"' \
  --id A --listen 127.0.0.1:9000 --probe-timeout 61
bad_flags '--shuffle-interval: must be a number of seconds, 0.001..3600, got "-5"' \
  --id A --listen 127.0.0.1:9000 --shuffle-interval=-5
bad_flags '--max-on-demand: must be an integer 1..4096, got "lots"' \
  --id A --listen 127.0.0.1:9000 --max-on-demand lots
bad_flags '--events: must be a non-empty path of at most 4095 bytes, got ""' \
  --id A --listen 127.0.0.1:9000 --events=
bad_flags '--clock-offset: must be a number of seconds, -1e6..1e6, got "1e9"' \
  --id A --listen 127.0.0.1:9000 --clock-offset 1e9
bad_flags '--clock-offset: missing value (see p2pclock node --help)' \
  --id A --listen 127.0.0.1:9000 --clock-offset
bad_flags '--clock-drift: must be a number of ppm, -1000..1000, got "-2000"' \
  --id A --listen 127.0.0.1:9000 --clock-drift -2000
bad_flags '--time-port: must be an integer 1..65535, got "0"' \
  --id A --listen 127.0.0.1:9000 --time-port 0
bad_flags '--no-time-sync: takes no value (see p2pclock node --help)' \
  --id A --listen 127.0.0.1:9000 --no-time-sync=1
bad_flags 'unexpected argument "false" (see p2pclock node --help)' \
  --id A --listen 127.0.0.1:9000 --no-time-sync false
bad_flags '--clock-mode: must be "reference" or "collaborative", got "peer"' \
  --id A --listen 127.0.0.1:9000 --clock-mode peer
bad_flags '--priority: must be an integer 0..255, got "x"' \
  --id A --listen 127.0.0.1:9000 --priority x
bad_flags '--clock-class: must be an integer 0..255, got "1000"' \
  --id A --listen 127.0.0.1:9000 --clock-class 1000
bad_flags '--poll-max: must be an integer -6..10 (log2 seconds), got "11"' \
  --id A --listen 127.0.0.1:9000 --poll-max 11
bad_flags '--poll-min: must not exceed pollMax (1), got "2"' \
  --id A --listen 127.0.0.1:9000 --poll-min 2
bad_flags '--max-slew: must be a number of ppm, 1..100000, got "1e6"' \
  --id A --listen 127.0.0.1:9000 --max-slew 1e6
bad_flags '--step-threshold: must be a number of seconds, 0..1000, got "-0.1"' \
  --id A --listen 127.0.0.1:9000 --step-threshold -0.1
bad_flags '--port: unknown flag (see p2pclock node --help)' \
  --id A --port 9000
bad_flags '--id: missing value (see p2pclock node --help)' --id
bad_flags "--peer: HOST must be an IP address or a host name of letters, digits, '-' and '.', got \"B@node_b:9001\"" \
  --id A --listen 127.0.0.1:9000 --peer B@node_b:9001
bad_flags '--listen: HOST must be labels of 1..63 characters between dots, got "node..a:9000"' \
  --id A --listen node..a:9000
bad_flags '--listen: HOST must be a valid IPv4 address (a host name cannot end in a label of digits only), got "10.0.0.256:9000"' \
  --id A --listen 10.0.0.256:9000
bad_flags 'unexpected argument "nodeA.json" (see p2pclock node --help)' \
  nodeA.json
bad_flags '--id is required (or --config FILE with "nodeID")' \
  --listen 127.0.0.1:9000
bad_flags '--listen HOST:PORT is required (or --config FILE with "nodePort")' \
  --id A
bad_flags "$confdir/nodeA.json: \"connectTo[0].nodeID\" is this node's own ID, got \"B\"" \
  --config "$confdir/nodeA.json" --id B

# ---- the command line itself -----------------------------------------------
check 2 'p2pclock: no command given (try p2pclock --help)'
check 2 'p2pclock: unknown command "frob" (try p2pclock --help)' frob
check 2 'p2pclock: unknown option "--frob" (try p2pclock --help)' --frob
check 0 "" --help
grep -q -- '--chaos-drop P' out || fail "--help: no --chaos-drop"
grep -q -- '--no-time-sync' out || fail "--help: no --no-time-sync"
grep -q 'tracking' out || fail "--help: no tracking command"
check 2 'p2pclock vclock: --step must be a number of seconds, -1e6..1e6, got "2e6" (try p2pclock vclock --help)' \
  vclock --id A --step 2e6
check 2 'p2pclock vclock: --drift must be a number of ppm, -1000..1000, got "fast" (try p2pclock vclock --help)' \
  vclock --id A --drift fast
check 2 'p2pclock tracking: unknown option "--step" (try p2pclock tracking --help)' \
  tracking --id A --step 1
check 0 "" --version
grep -q '^p2pclock [0-9]' out || fail "--version: $(cat out)"

# ---- help [COMMAND] ----------------------------------------------------------
# `help` is --help; `help CMD` is CMD --help, for every command the usage
# lists (the list is read from the usage, so a new command is covered).
check 0 "" --help
cp out usage
check 0 "" help
cmp -s usage out || fail "help: differs from --help"
grep -q '^       p2pclock help \[COMMAND\]$' usage || fail "--help: no help line"
commands=$(awk 'in_list && !/^  [a-z]/ { exit }
  in_list { print $1 }
  /^commands:$/ { in_list = 1 }' usage)
ncommands=$(printf '%s\n' "$commands" | grep -c .)
[ "$ncommands" -ge 14 ] || fail "--help lists $ncommands commands: $commands"
for c in $commands; do
  check 0 "" help "$c"
  grep -q '^usage: p2pclock' out || fail "help $c: no usage line: $(head -n 1 out)"
  cp out help.out
  check 0 "" "$c" --help
  cmp -s help.out out || fail "help $c: differs from $c --help"
done
for c in node demo status send vclock check sim help; do
  printf '%s\n' "$commands" | grep -qx "$c" || fail "--help does not list $c"
done
check 0 "" help status
grep -q '^usage: p2pclock status ' out || fail "help status: $(head -n 1 out)"
check 2 'p2pclock help: unknown command "frob" (p2pclock --help lists them)' \
  help frob
check 2 'p2pclock help: unexpected argument "extra" (usage: p2pclock help [COMMAND])' \
  help status extra

echo "test_bad_config: $cases cases, $failed failed"
[ "$failed" -eq 0 ]
