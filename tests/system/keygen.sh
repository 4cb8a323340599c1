#!/bin/sh
# SPDX-License-Identifier: MIT
# `p2pclock keygen` as a user runs it (docs/SECURITY.md), in a scratch
# directory under umask 000: an identity key file created 0600 in a 0700
# directory, its public key printed (44 characters of base64, 32 bytes);
# a second run refused with exit 1; --force replacing it (the public key
# changes) after saying so; --show printing the public key creation
# printed; --cluster printing 32 random bytes as base64, a new key each
# run, or writing a 0600 file with --out; a world-readable key file, a
# malformed one and a directory refused by --show with their lines; usage
# errors with exit 2; --id writing the default path of a user (run as
# nobody, with XDG_STATE_HOME, when root). Binds nothing.
#   keygen.sh BUILD/p2pclock [CONFIG_DIR]
set -u
bin=${1:?usage: keygen.sh P2PCLOCK [CONFIG_DIR]}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pc-keygen.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
cd "$tmp" || exit 1
umask 000

cases=0
failed=0
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
}

# check STATUS STDERR ARGS...: runs p2pclock ARGS, wants exit STATUS and
# stderr exactly the line STDERR ("" for none, "*" for anything). Leaves
# the output in ./out and ./err.
check() {
  want_rc=$1
  want_err=$2
  shift 2
  cases=$((cases + 1))
  timeout 10 "$bin" "$@" >out 2>err
  rc=$?
  if [ "$rc" -ne "$want_rc" ]; then
    fail "p2pclock $*: exit $rc, want $want_rc"
    sed 's/^/  stderr: /' err >&2
    return
  fi
  [ "$want_err" = "*" ] && return
  if [ -n "$want_err" ]; then printf '%s\n' "$want_err" >want; else : >want; fi
  if ! cmp -s want err; then
    fail "p2pclock $*: wrong stderr"
    sed 's/^/  want: /' want >&2
    sed 's/^/  got:  /' err >&2
  fi
}

mode() { stat -c %a "$1"; }

# is_key TEXT: 44 characters of base64 that decode to 32 bytes.
is_key() {
  printf '%s' "$1" | grep -qE '^[A-Za-z0-9+/]{43}=$' &&
    [ "$(printf '%s' "$1" | base64 -d 2>/dev/null | wc -c)" -eq 32 ]
}

# ---- an identity key ---------------------------------------------------
check 0 "p2pclock keygen: created identity key keys/a.key" keygen --key keys/a.key
pk1=$(cat out)
is_key "$pk1" || fail "keygen: not a public key: $pk1"
[ "$(wc -l <out)" -eq 1 ] || fail "keygen: not one line on stdout"
[ "$(mode keys/a.key)" = 600 ] || fail "keygen: key file mode $(mode keys/a.key)"
[ "$(mode keys)" = 700 ] || fail "keygen: directory mode $(mode keys)"
head -c 29 keys/a.key | grep -qx 'p2pclock-identity-v1 ed25519 ' ||
  fail "keygen: wrong header: $(head -c 29 keys/a.key)"
[ "$(wc -c <keys/a.key)" -eq 74 ] || fail "keygen: key file not 74 bytes"
grep -q "$(cut -c 30-73 keys/a.key)" out err && fail "keygen: printed the secret"
[ "$(ls -A keys)" = a.key ] || fail "keygen: left $(ls -A keys)"

check 0 "" keygen --show keys/a.key
[ "$(cat out)" = "$pk1" ] || fail "keygen --show: $(cat out), created $pk1"

cp keys/a.key before
check 1 "p2pclock keygen: keys/a.key: already exists (--force replaces it)" \
  keygen --key keys/a.key
[ -s out ] && fail "keygen on an existing key: wrote to stdout"
cmp -s before keys/a.key || fail "keygen without --force changed the key"
[ "$(ls -A keys)" = a.key ] || fail "keygen refused: left $(ls -A keys)"

check 0 "*" keygen --key keys/a.key --force
printf '%s\n' "p2pclock keygen: replacing the identity key keys/a.key" \
  "p2pclock keygen: created identity key keys/a.key" >want
cmp -s want err || fail "keygen --force: stderr $(cat err)"
pk2=$(cat out)
is_key "$pk2" || fail "keygen --force: not a public key: $pk2"
[ "$pk2" != "$pk1" ] || fail "keygen --force: the public key did not change"
[ "$(mode keys/a.key)" = 600 ] || fail "keygen --force: mode $(mode keys/a.key)"
check 0 "" keygen --show keys/a.key
[ "$(cat out)" = "$pk2" ] || fail "keygen --show after --force: $(cat out)"

# ---- refused by --show -------------------------------------------------
chmod 644 keys/a.key
check 1 "p2pclock keygen: permissions 0644 for 'keys/a.key' are too open; chmod 600 it" \
  keygen --show keys/a.key
[ -s out ] && fail "keygen --show of a 0644 key: wrote to stdout"
chmod 604 keys/a.key
check 1 "p2pclock keygen: permissions 0604 for 'keys/a.key' are too open; chmod 600 it" \
  keygen --show keys/a.key
chmod 600 keys/a.key
printf 'p2pclock-identity-v1 ed25519 AAAA\n' >short.key
chmod 600 short.key
check 1 "p2pclock keygen: short.key: the key is 3 bytes, want 32" \
  keygen --show short.key
check 1 "p2pclock keygen: keys: not a regular file" keygen --show keys
check 1 "p2pclock keygen: none.key: no such file" keygen --show none.key

# ---- cluster keys ------------------------------------------------------
check 0 "" keygen --cluster
c1=$(cat out)
is_key "$c1" || fail "keygen --cluster: not a key: $c1"
[ "$(wc -l <out)" -eq 1 ] || fail "keygen --cluster: not one line"
check 0 "" keygen --cluster
c2=$(cat out)
is_key "$c2" || fail "keygen --cluster: not a key: $c2"
[ "$c1" != "$c2" ] || fail "keygen --cluster: the same key twice"
check 0 "p2pclock keygen: wrote cluster key c/cluster.key" \
  keygen --cluster --out c/cluster.key
[ -s out ] && fail "keygen --cluster --out: wrote to stdout"
[ "$(mode c/cluster.key)" = 600 ] || fail "cluster key mode $(mode c/cluster.key)"
grep -qE '^p2pclock-cluster-v1 [A-Za-z0-9+/]{43}=$' c/cluster.key ||
  fail "cluster key file: wrong line"
check 1 "p2pclock keygen: c/cluster.key: already exists (--force replaces it)" \
  keygen --cluster --out c/cluster.key
check 1 "p2pclock keygen: c/cluster.key: a cluster key file, not an identity key file" \
  keygen --show c/cluster.key

# ---- usage -------------------------------------------------------------
u='(try p2pclock keygen --help)'
check 2 "p2pclock keygen: give --key FILE, --id ID, --cluster or --show FILE $u" keygen
check 2 "p2pclock keygen: give --key FILE or --id ID, not both $u" \
  keygen --key x.key --id A
check 2 "p2pclock keygen: --show FILE takes no other flag $u" \
  keygen --show x.key --force
check 2 "p2pclock keygen: --out goes with --cluster $u" keygen --out x.key
check 2 "p2pclock keygen: --cluster takes no --key or --id (--out FILE writes it) $u" \
  keygen --cluster --key x.key
check 2 "p2pclock keygen: --id must be 1..64 characters of [A-Za-z0-9._-], got \"a/b\" $u" \
  keygen --id a/b
check 2 "p2pclock keygen: unknown option \"--frob\" $u" keygen --frob
check 2 "p2pclock keygen: unexpected argument \"x.key\" $u" keygen x.key
[ -e x.key ] && fail "a usage error wrote x.key"
check 0 "" keygen --help
grep -q '^usage: p2pclock keygen ' out || fail "keygen --help: $(head -n 1 out)"
check 0 "" help keygen
grep -q '^usage: p2pclock keygen ' out || fail "help keygen: $(head -n 1 out)"

# ---- --id: the default path of a user other than root ------------------
# As root, --id would write /var/lib/p2pclock: run it as nobody instead.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  mkdir state
  chown 65534:65534 state
  cases=$((cases + 1))
  chmod 755 "$tmp"
  XDG_STATE_HOME=$tmp/state timeout 10 setpriv --reuid=65534 --regid=65534 \
    --clear-groups "$bin" keygen --id A >out 2>err ||
    fail "keygen --id A as nobody: $(cat err)"
  f=$tmp/state/p2pclock/A.key
  [ "$(cat err)" = "p2pclock keygen: created identity key $f" ] ||
    fail "keygen --id A: stderr $(cat err)"
  [ "$(stat -c '%a %u' "$f" 2>/dev/null)" = "600 65534" ] ||
    fail "keygen --id A: $f: $(stat -c '%a %u' "$f" 2>&1)"
  [ "$(mode state/p2pclock)" = 700 ] || fail "--id: directory mode"
  is_key "$(cat out)" || fail "keygen --id A: $(cat out)"
  # root may not read a key that is not its own
  check 1 "p2pclock keygen: $f: owned by uid 65534, not by this user (uid 0)" \
    keygen --show "$f"
fi

echo "keygen: $cases cases, $failed failed"
[ "$failed" -eq 0 ]
