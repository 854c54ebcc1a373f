#!/bin/sh
# The test cluster's network: a switch namespace PREFIX-sw holding a bridge, and one namespace
# per host (PREFIX-NAME) with eth0 = ADDRESS/24 on it. Nothing is added to the host's own
# namespace. Prints what it did, so Ansible can tell a change from none.
#   up PREFIX NAME ADDRESS   -> created | exists
#   down PREFIX              -> removed N (every namespace named PREFIX-*, processes killed)
set -eu
action=$1
prefix=$2
sw="$prefix-sw"
case "$action" in
up)
  name=$3
  addr=$4
  ns="$prefix-$name"
  if ip netns list | cut -d' ' -f1 | grep -qx "$ns"; then
    echo exists
    exit 0
  fi
  if ! ip netns list | cut -d' ' -f1 | grep -qx "$sw"; then
    ip netns add "$sw"
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge
    ip -n "$sw" link set br0 up
  fi
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add eth0 type veth peer name "$name" netns "$sw"
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$sw" link set "$name" master br0
  ip -n "$sw" link set "$name" up
  echo created
  ;;
down)
  n=0
  for ns in $(ip netns list | cut -d' ' -f1 | grep "^$prefix-" || true); do
    for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
    n=$((n + 1))
  done
  echo "removed $n"
  ;;
*)
  echo "usage: netns.sh up PREFIX NAME ADDRESS | down PREFIX" >&2
  exit 2
  ;;
esac
