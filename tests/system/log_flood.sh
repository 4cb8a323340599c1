#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A stranger cannot flood the node's log (issue 13): 600 connections that
# each send garbage cost the node 600 WARN lines of one kind, of which it
# writes the first 20 and then about one a second, and says how many it
# held back — the lines written plus the counts said must be exactly 600,
# nothing dropped unsaid. The node keeps answering its control socket and
# stops cleanly.
#   log_flood.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init log_flood "$@"

N=600
KIND="link: dropping a connection: first frame is not HELLO"
read -r px <<<"$(free_ports 1)"
node_start X --id X --listen "127.0.0.1:$px" --control "$T/X.sock" \
  --no-time-sync
wait_up 10 "$T/X.sock"

start=$SECONDS
timeout 120 python3 "$SYS_DIR/badpeer.py" flood 127.0.0.1 "$px" "$N" ||
  die "the flood's connections were not all closed"
secs=$((SECONDS - start + 1))
log "$N garbage connections in about $secs s"
# The count of the last ones held back is said within a second.
sleep 1.5
client status "$T/X.sock" >/dev/null || die "X does not answer after the flood"
node_stop X "$T/X.sock"

written=$(grep -cF "WARN $KIND" "$T/X.err" || true)
held=$(python3 - "$T/X.err" "$KIND" <<'PY'
import re, sys
kind = sys.argv[2]
total = 0
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.search(r" log: (\d+) lines? of one kind held back over [\d.]+ s "
                  r"\(rate limit\), the last: (.*)$", line.rstrip("\n"))
    if m and m.group(2) == kind:
        total += int(m.group(1))
print(total)
PY
)
log "written $written, held back and counted $held"
[ $((written + held)) -eq "$N" ] ||
  die "written $written + held back $held is not the $N lines meant"
[ "$written" -le $((20 + secs + 2)) ] ||
  die "$written lines of one kind written in about $secs s (want at most 20 + 1 a second)"
[ "$held" -gt 0 ] || die "nothing was held back: the flood was not limited"
sys_pass
