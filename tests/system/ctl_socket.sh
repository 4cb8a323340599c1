#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control socket is the node's owner's alone (issue 13): created 0600
# even under umask 000; a path that is not a socket, or a socket that
# belongs to another user, is refused with a clear message and left as it
# was (root included: the owner case needs root to set up, and CI runs as
# root, so there it must run); a stale socket of our own is replaced.
#   ctl_socket.sh BUILD/p2pclock SOURCE/config
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sys_init ctl_socket "$@"

read -r pa <<<"$(free_ports 1)"

# refused NAME SOCK PATTERN: the node must exit 1 at once, saying PATTERN.
refused() {
  node_start "$1" --id "$1" --listen "127.0.0.1:$pa" --control "$2" \
    --no-time-sync
  node_wait_exit "$1" 10 || die "$1 did not exit with control path $2"
  [ "$NODE_RC" -eq 1 ] || die "$1 exited $NODE_RC with control path $2"
  grep -q "$3" "$T/$1.err" || die "$1 did not say \"$3\": $(cat "$T/$1.err")"
}

# A regular file: refused, untouched.
echo "keep me" >"$T/file.sock"
refused F "$T/file.sock" "exists and is not a socket"
[ "$(cat "$T/file.sock")" = "keep me" ] || die "the file was changed"

# A socket of another user's (uid 65534): refused, left in place.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$T/other.sock"
if [ "$(id -u)" -eq 0 ]; then
  chown 65534 "$T/other.sock"
  refused O "$T/other.sock" "belongs to user 65534, not to this one"
  [ -S "$T/other.sock" ] && [ "$(stat -c %u "$T/other.sock")" -eq 65534 ] ||
    die "the other user's socket was replaced"
elif [ -n "${CI:-}" ]; then
  die "CI runs as root, and this case needs root"
else
  log "NOT CHECKED: a socket of another user's (needs root to set up)"
fi

# A stale socket of our own: replaced; and 0600 whatever the umask.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$T/A.sock"
mask=$(umask)
umask 000
node_start A --id A --listen "127.0.0.1:$pa" --control "$T/A.sock" \
  --no-time-sync
umask "$mask"
wait_up 10 "$T/A.sock"
mode=$(stat -c %a "$T/A.sock")
[ "$mode" = 600 ] || die "the control socket is mode $mode under umask 000"
node_stop A "$T/A.sock"
sys_pass
