#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's two commands on a fresh machine: builds a minimal Debian
# bookworm root (mmdebstrap, variant minbase), installs ONLY git and make
# in it, clones the commit under test from this repository, and runs, as
# root in the clone, `make demo` then `make test` (each must install what
# it needs), showing their output. Exit 0 only if both pass.
#
#   usage: .ci/fresh-debian.sh [REPO [COMMIT]]   (default: this repo, HEAD)
#
# The Debian mirror is the one this machine's apt uses
# (/etc/apt/sources.list*, Debian's own bookworm entries only). The root
# gets /proc, /sys, /dev, /run and /tmp (tmpfs) mounted inside a private
# mount and PID namespace (unshare), so every mount and every process
# left behind goes away with it; the network is the host's (apt needs
# the mirror; the tests bind 127.0.0.x and make their own network
# namespaces). Needs root.
#
# Env:
#   P2PC_FRESH_CACHE       where the bootstrapped root's tarball and the
#                          .debs the root downloads are kept
#                          [/var/cache/p2pclock-ci]; empty: no cache
#   P2PC_FRESH_CACHE_DAYS  a tarball older than this is rebuilt [7]
#   P2PC_FRESH_TIMEOUT     seconds for everything inside the root [1800]
#   P2PC_FRESH_STEPS       the commands run in the clone, in order
#                          ["make demo; make test"]
#   P2PC_FRESH_KEEP=1      keep the root (its path is printed)
set -euo pipefail

SUITE=bookworm
VARIANT=minbase

# ---- inside: called back by unshare, in a new mount + PID namespace ----
if [ "${1:-}" = --inside ]; then
  root=$2
  steps=$3
  debs=$4
  trap 'umount -R "$root" 2>/dev/null || true' EXIT
  mount --make-rprivate /
  # The root is a mount point, as / is on a machine (`ip netns exec`
  # remounts / as a slave, which fails on a plain directory).
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=755,size=64m tmpfs "$root/run"
  mount -t tmpfs -o mode=1777,size=4g tmpfs "$root/tmp"
  [ -z "$debs" ] || mount --bind "$debs" "$root/var/cache/apt/archives"
  # What a person on a fresh machine types, as root, with nothing else:
  # a login-like environment and a default PATH.
  set +e
  # shellcheck disable=SC2016 # expanded by the shell in the root
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -euo pipefail -c '
      step() { printf "\n=== [fresh %ss] # %s\n" "$SECONDS" "$*"; }
      step "apt-get update && apt-get install git make"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends git make >/dev/null
      dpkg-query -W -f="\${Package} \${Version}\n" git make
      step git clone /srv/p2pclock.git p2pclock
      cd /root && git clone -q /srv/p2pclock.git p2pclock && cd p2pclock
      git log -1 --format="%h %s"
      IFS=";" read -ra steps <<<"$1"
      for s in "${steps[@]}"; do
        s=$(echo "$s" | sed "s/^ *//; s/ *$//")
        [ -n "$s" ] || continue
        step "$s"
        start=$SECONDS
        if ! eval "$s"; then
          printf "=== [fresh %ss] FAILED: %s (after %ss)\n" "$SECONDS" "$s" $((SECONDS - start))
          exit 1
        fi
        printf "=== [fresh %ss] ok: %s (%ss)\n" "$SECONDS" "$s" $((SECONDS - start))
      done' fresh "$steps"
  rc=$?
  set -e
  exit $rc
fi

# ---- outside ------------------------------------------------------------
say() { echo "fresh-debian: $*"; }
die() {
  echo "fresh-debian: $*" >&2
  exit 2
}
[ $# -le 2 ] || die "usage: .ci/fresh-debian.sh [REPO [COMMIT]]"
[ "$(id -u)" -eq 0 ] || die "needs root (mounts, chroot, apt-get); run it as root"
here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-$here/..}
commit=$(git -C "$repo" rev-parse --verify "${2:-HEAD}^{commit}") ||
  die "no commit ${2:-HEAD} in $repo"
cache=${P2PC_FRESH_CACHE-/var/cache/p2pclock-ci}
cache_days=${P2PC_FRESH_CACHE_DAYS:-7}
limit=${P2PC_FRESH_TIMEOUT:-1800}
steps=${P2PC_FRESH_STEPS:-make demo; make test}
case $limit$cache_days in
  '' | *[!0-9]*) die "P2PC_FRESH_TIMEOUT and P2PC_FRESH_CACHE_DAYS must be whole numbers" ;;
esac
for t in unshare chroot timeout tar findmnt; do
  command -v $t >/dev/null || die "$t not found (util-linux, coreutils, tar)"
done
t0=$SECONDS

# This machine's Debian entries for the suite (bookworm, -updates,
# -security), as one-line sources for the root.
debian_sources() {
  # shellcheck disable=SC2016 # apt's own $(FIELD) syntax
  apt-get indextargets --format '$(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT) $(ORIGIN) $(CODENAME)' \
    'Identifier: Packages' 2>/dev/null |
    awk -v s=$SUITE '$1 == "deb" && $5 == "Debian" &&
      ($6 == s || $6 == s "-updates" || $6 == s "-security") {
        print "deb " $2 " " $3 " " $4 }' | sort -u
}
sources=$(debian_sources)
if [ -z "$sources" ] || ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq
  sources=$(debian_sources)
fi
[ -n "$sources" ] ||
  die "no Debian $SUITE entry in /etc/apt/sources.list*: add one (deb URL $SUITE main)"
if ! command -v mmdebstrap >/dev/null; then
  say "installing mmdebstrap (Debian package) on this machine"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/p2pclock-fresh.XXXXXX")
root=$work/root
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local rc=$?
  if [ "${P2PC_FRESH_KEEP:-0}" = 1 ]; then
    say "kept the root in $root"
  elif findmnt -rn -o TARGET | grep -q "^$work/"; then
    # Never reached in practice (the mounts live in the namespace), but
    # never delete through a mount.
    echo "fresh-debian: something is still mounted under $work; not removing it" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bootstrapped root, from the cache when it is there and fresh: the
# key is the sources, suite, variant, options and mmdebstrap's version.
key=$(printf '%s\n' "$SUITE $VARIANT unsafe-io $(mmdebstrap --version 2>&1)" "$sources" |
  sha256sum | cut -c1-12)
tarball=
if [ -n "$cache" ]; then
  tarball=$cache/$SUITE-$VARIANT-$key.tar
  if [ -f "$tarball" ] && [ -n "$(find "$tarball" -mtime -"$cache_days")" ]; then
    say "root from the cache: $tarball"
  else
    tarball=
  fi
fi
if [ -z "$tarball" ]; then
  say "bootstrapping Debian $SUITE ($VARIANT) from:"
  printf '  %s\n' "$sources"
  mapfile -t mirrors <<<"$sources"
  # dpkg's fsyncs cost ~30 s here and buy nothing in a throwaway root.
  timeout -k 10 900 mmdebstrap --quiet --mode=root --variant=$VARIANT \
    --dpkgopt=force-unsafe-io $SUITE "$work/root.tar" "${mirrors[@]}"
  tarball=$work/root.tar
  if [ -n "$cache" ] && mkdir -p "$cache" 2>/dev/null; then
    # Old tarballs of this suite and variant go; the new one lands whole.
    find "$cache" -maxdepth 1 -name "$SUITE-$VARIANT-*.tar" -delete
    if cp "$tarball" "$cache/.new.$$" && mv "$cache/.new.$$" "$cache/$SUITE-$VARIANT-$key.tar"; then
      say "cached the root as $cache/$SUITE-$VARIANT-$key.tar"
    else
      rm -f "$cache/.new.$$"
    fi
  fi
fi
mkdir "$root"
tar -C "$root" -xf "$tarball"
rm -f "$work/root.tar"
# A machine has /etc/hosts (localhost); minbase leaves it to the installer.
[ -e "$root/etc/hosts" ] || cp /etc/hosts "$root/etc/hosts"
# Downloaded .debs are kept beside the root's tarball and lent to the root
# as apt's archive cache: apt checks them against the fresh indexes, so
# the root installs exactly what it would download. Over 1 GiB: emptied.
debs=
if [ -n "$cache" ] && mkdir -p "$cache/debs/partial" 2>/dev/null; then
  debs=$cache/debs
  if [ "$(du -sm "$debs" | cut -f1)" -gt 1024 ]; then
    find "$debs" -maxdepth 1 -name '*.deb' -delete
  fi
fi
say "root ready in $((SECONDS - t0))s"

# The commit under test, as a repository the tester clones from.
git init -q --bare "$root/srv/p2pclock.git"
git -C "$root/srv/p2pclock.git" config receive.shallowUpdate true # a shallow CI clone
git -C "$repo" push -q "$root/srv/p2pclock.git" "$commit:refs/heads/main"
git -C "$root/srv/p2pclock.git" symbolic-ref HEAD refs/heads/main

say "running in the root (at most ${limit}s): $steps"
set +e
timeout -k 30 "$limit" unshare --mount --pid --fork --kill-child -- \
  bash "$here/fresh-debian.sh" --inside "$root" "$steps" "$debs"
rc=$?
set -e
case $rc in
  0) say "passed in $((SECONDS - t0))s" ;;
  124 | 137) say "FAILED: took longer than ${limit}s (P2PC_FRESH_TIMEOUT)" ;;
  *) say "FAILED (exit $rc) after $((SECONDS - t0))s" ;;
esac
exit $rc
