#!/usr/bin/env bash
# Three hosts on one switch: namespaces h1, h2 and h3, each with one TAP port of switchd and an
# address in 198.18.0.0/24, set up by switchd itself (add-port --netns --create-netns --address).
# Pings every pair, shows the switch's tables and the configuration `switchctl save` would write,
# and tears it all down.
#
#   examples/three-hosts.sh            # from the repository root, after scripts/build, as root
#   SWITCHD=/usr/local/bin/switchd SWITCHCTL=/usr/local/bin/switchctl examples/three-hosts.sh
#
# Names carry the shell's PID so that two runs never collide; everything is removed on exit,
# including on Ctrl-C or a failed step.
set -euo pipefail

SWITCHD=${SWITCHD:-build/bin/switchd}
SWITCHCTL=${SWITCHCTL:-build/bin/switchctl}
tag=$$
socket=/run/switchd/demo-$tag.sock
ctl() { "$SWITCHCTL" --socket "$socket" "$@"; }

switchd_pid=
cleanup() {
  [ -n "$switchd_pid" ] && kill "$switchd_pid" 2>/dev/null && wait "$switchd_pid" 2>/dev/null
  for i in 1 2 3; do ip netns del "demo$tag-h$i" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# 1. The switch.
"$SWITCHD" --socket "$socket" --log-level warn &
switchd_pid=$!
for _ in $(seq 50); do ctl version >/dev/null 2>&1 && break; sleep 0.1; done
ctl version >/dev/null

# 2. Three hosts: switchd creates each namespace, moves the port's TAP into it and gives it its
#    address (the same as ip netns add, ip link set netns, ip addr add and ip link set up).
for i in 1 2 3; do
  ctl add-port "d${tag}p$i" --netns "demo$tag-h$i" --create-netns --address "198.18.0.$i/24" >/dev/null
done

# 3. Every host pings every other one through the switch.
for i in 1 2 3; do
  for j in 1 2 3; do
    [ "$i" = "$j" ] && continue
    ip netns exec "demo$tag-h$i" ping -c 2 -i 0.2 -W 2 -q "198.18.0.$j" | grep -E "packets transmitted" |
      sed "s/^/h$i -> h$j: /"
  done
done

# 4. What the switch learned.
echo; echo "\$ switchctl show-ports"; ctl show-ports
echo; echo "\$ switchctl show-macs"; ctl show-macs
echo; echo "\$ switchctl show-arp"; ctl show-arp
echo; echo "\$ switchctl show-stats"; ctl show-stats
echo; echo "\$ switchctl save -"; ctl save -
