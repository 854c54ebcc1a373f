#!/bin/sh
# A throwaway systemd for test/deploy/systemd.test.ts, run as
#   unshare --mount --fork --kill-child sh systemd-boot.sh WORKDIR MACHINE [REPO]
# systemd-nspawn boots the host's own Debian as a container: its root is an overlay of the host's
# root filesystem with a tmpfs upper layer (so the role's user, units and data never reach the
# host), with nspawn's isolation (private /tmp and network, read-only /sys, reduced
# capabilities). systemd starts augur-test.target, not the host's default target, so none of the
# host's own services start. Every mount is made in this script's mount namespace and goes with
# it. WORKDIR must exist on the root filesystem, outside /tmp (the container has its own /tmp).
# REPO, the checkout the test runs from, is bound read-only at /opt/augur-repo: at its own path
# a checkout under /tmp would be hidden by the container's /tmp and the agent unit's PrivateTmp.
set -eu
work=$1
machine=$2
repo=${3:-}
bind=
[ -n "$repo" ] && bind="--bind-ro=$repo:/opt/augur-repo"
mount --make-rprivate /
# nspawn keeps state under /run/systemd/nspawn: a private /run keeps that off the host.
mount -t tmpfs -o mode=0755 augur-test-run /run
mkdir -p "$work/t"
mount -t tmpfs -o mode=0755 augur-test-upper "$work/t"
mkdir -p "$work/t/upper" "$work/t/work" "$work/root"
mount -t overlay augur-test-root -o "lowerdir=/,upperdir=$work/t/upper,workdir=$work/t/work" "$work/root"
printf '[Unit]\nDescription=augur systemd test\n' >"$work/t/augur-test.target"
# --register=no --keep-unit: no machined and no systemd on the host to ask for a scope.
exec systemd-nspawn --quiet --register=no --keep-unit --link-journal=no --private-network \
  --directory="$work/root" --machine="$machine" \
  ${bind:+"$bind"} \
  --bind-ro="$work/t/augur-test.target:/etc/systemd/system/augur-test.target" \
  -b systemd.unit=augur-test.target
