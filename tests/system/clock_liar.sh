#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One liar among seven in collaborative mode. Seven nodes (--clock-mode
# collaborative), each dialing the two started before it (peer exchange
# completes the mesh), with virtual clocks apart by up to 0.6 s (offsets
# within +-0.3 s) and drifts within +-100 ppm. All must report synced
# within 20 s, and ntpprobe from outside must find them within 1 ms of
# each other (max disagreement over the rounds with delays near their
# least). Then N3's virtual clock jumps 50 ms ahead (p2pclock vclock
# --step 0.05): a clock that lies. Within 10 s every honest node's sources
# must list N3 as "falseticker"; measured again from outside, the six
# honest nodes must stay within 1 ms of each other, their common time
# must not have been dragged towards the liar (between the two
# measurements it must move by less than 2 ms beyond what its rate,
# fitted over the first, explains), and N3 must still be far from them
# (> 10 ms: having jumped, it may slew back at most 500 ppm, 5 ms in 10 s).
#   clock_liar.sh BUILD/p2pclock SOURCE/config BUILD/ntpprobe
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init clock_liar "$@"
NTPPROBE=${3:?usage: clock_liar.sh P2PCLOCK CONFIG_DIR NTPPROBE}
[ -x "$NTPPROBE" ] || die "ntpprobe not found at $NTPPROBE"
clockcheck() { timeout 120 python3 "$SYS_DIR/clockcheck.py" "$@"; }

n=7
liar=N3
offsets=(0.12 -0.3 0.25 -0.08 0.3 -0.17 0.02)
drifts=(-100 60 25 -45 100 -70 30)
read -r -a ports <<<"$(free_ports "$n")"
socks=()
honest=()
targets=()
hon_targets=()
for ((i = 0; i < n; i++)); do
  args=(--id "N$i" --listen "127.0.0.1:${ports[$i]}" --events "$T/N$i.jsonl"
    --control "$T/N$i.sock" --clock-mode collaborative
    --clock-offset "${offsets[$i]}" --clock-drift "${drifts[$i]}")
  for ((k = i - 2; k < i; k++)); do
    [ "$k" -lt 0 ] || args+=(--peer "N$k@127.0.0.1:${ports[$k]}")
  done
  node_start "N$i" "${args[@]}"
  socks+=("$T/N$i.sock")
  targets+=("127.0.0.1:${ports[$i]}")
  if [ "N$i" != "$liar" ]; then
    honest+=("$T/N$i.sock")
    hon_targets+=("127.0.0.1:${ports[$i]}")
  else
    liar_target=127.0.0.1:${ports[$i]}
  fi
done
log "ports ${ports[*]}"
wait_up 10 "${socks[@]}"
ctl wait 20 's["peers_up"] == 6' "${socks[@]}" ||
  die "the mesh did not form within 20 s"

# probe NAME: 20 rounds 100 ms apart over all seven, into $T/NAME.json
probe() {
  timeout 30 "$NTPPROBE" --count 20 --interval-ms 100 --timeout-ms 300 \
    --json "${targets[@]}" >"$T/$1.json" ||
    die "ntpprobe failed: $(tail -n 1 "$T/$1.json")"
}
synced='t["synced"] and t["mode"] == "collaborative" and t["truechimers"] >= 6'
took=$(clockcheck wait 20 "$synced" "${socks[@]}") || {
  clockcheck show "${socks[@]}"
  die "not all 7 nodes synced within 20 s"
}
log "all synced (after ${took}s more)"
# Converged: within 1 ms from outside (bounded retries while settling).
for ((try = 1; ; try++)); do
  probe before
  if out=$(clockcheck spread "$T/before.json" --max 1000000 --li 0 \
    --stratum-max 1 2>&1); then
    break
  fi
  [ "$try" -lt 5 ] || die "not within 1 ms of each other after $try tries: $out"
  sleep 1
done
log "converged over NTP: $out"
clockcheck show "${socks[@]}"

out=$(timeout 20 "$BIN" vclock --control "$T/$liar.sock" --step 0.05 2>&1) ||
  die "vclock --step refused: $out"
log "$liar's clock stepped +50 ms: $out"
took=$(clockcheck wait 10 "src['$liar']['state'] == 'falseticker'" \
  "${honest[@]}") || {
  clockcheck show "${socks[@]}"
  die "not every honest node calls $liar a falseticker within 10 s"
}
log "every honest node calls $liar a falseticker (after ${took}s)"
clockcheck show "${socks[@]}"
sleep 2
probe_spread "$T/after.json" "${targets[*]}" \
  --only "$(IFS=,; echo "${hon_targets[*]}")" --max 1000000 --li 0
log "honest six over NTP: $SPREAD_OUT"
hon=$(IFS=,; echo "${hon_targets[*]}")
liar_off=$(clockcheck offsets "$T/after.json" "$hon" "$liar_target") ||
  die "no usable round with the liar"
log "the liar is $((liar_off / 1000)) us from the honest median"
[ "${liar_off#-}" -gt 10000000 ] ||
  die "the liar is only $liar_off ns from the honest nodes (want > 10 ms)"
# Dragged? The honest median against the probe's clock, before and after,
# less what the honest group's own rate (fitted over the first probe)
# explains: the collaborative time runs at some mean of the drifts.
moved=$(clockcheck moved "$T/before.json" "$T/after.json" "$hon") ||
  die "cannot tell how far the honest time moved"
log "the honest nodes' time against the probe's: $moved"
drag=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["unexplained_ns"])' "$moved")
[ "${drag#-}" -lt 2000000 ] ||
  die "the honest nodes' time moved by $drag ns more than their rate explains: dragged towards the liar?"
for ((i = 0; i < n; i++)); do
  node_alive "N$i" || die "N$i died"
done
sys_pass
