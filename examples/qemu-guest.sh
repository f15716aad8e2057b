#!/usr/bin/env bash
# A QEMU guest on switchd: a vm port for the guest's virtio-net NIC and a tap port for a host in a
# network namespace. Boots the tiny test guest (tests/vm/build-guest), pings both ways through the
# switch, shows the switch's tables, powers the guest off and tears it all down.
#
#   examples/qemu-guest.sh             # from the repository root, after scripts/build, as root
#   SWITCHD=/usr/local/bin/switchd SWITCHCTL=/usr/local/bin/switchctl examples/qemu-guest.sh
#
# Needs qemu-system-x86 and busybox-static (scripts/deps); the first run downloads Debian's cloud
# kernel package into build/vm-guest (SWITCHD_VM_GUEST). No KVM needed: the guest boots under TCG
# in a few seconds. Names carry the shell's PID so that two runs never collide; everything is
# removed on exit, including on Ctrl-C or a failed step.
set -euo pipefail

SWITCHD=${SWITCHD:-build/bin/switchd}
SWITCHCTL=${SWITCHCTL:-build/bin/switchctl}
guest_dir=${SWITCHD_VM_GUEST:-build/vm-guest}
tag=$$
socket=/run/switchd/qemu-$tag.sock
ns=qemu$tag-h1
host_port=q${tag}h1 # the host's TAP
vm_port=q${tag}vm   # the guest's TAP: switchd creates it, QEMU opens it
ctl() { "$SWITCHCTL" --socket "$socket" "$@"; }

switchd_pid=
qemu_pid=
work=$(mktemp -d)
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
  [ -n "$switchd_pid" ] && kill "$switchd_pid" 2>/dev/null && wait "$switchd_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# 1. The guest's kernel and initramfs (cached after the first run).
tests/vm/build-guest "$guest_dir"

# 2. The switch: a tap port for the host, a vm port for the guest.
"$SWITCHD" --socket "$socket" --port "$host_port" --port "$vm_port:vm" --log-level warn &
switchd_pid=$!
for _ in $(seq 50); do ctl version >/dev/null 2>&1 && break; sleep 0.1; done
ctl version >/dev/null

# 3. The host: its TAP moved into a namespace, with 198.18.0.1.
ip netns add "$ns"
ip link set "$host_port" netns "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 198.18.0.1/24 dev "$host_port"
ip -n "$ns" link set "$host_port" up

# 4. The guest: QEMU opens the vm port's TAP with vnet_hdr=on (offloads) behind a virtio-net NIC.
#    Its console is QEMU's stdin/stdout: commands in through a FIFO, output into a log.
mkfifo "$work/console-in"
echo "\$ qemu-system-x86_64 ... -netdev tap,id=n0,ifname=$vm_port,script=no,downscript=no,vnet_hdr=on" \
  "-device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:02"
qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot -machine pc -accel tcg -m 256 \
  -kernel "$guest_dir/vmlinuz" -initrd "$guest_dir/initramfs.cpio.gz" \
  -append "console=ttyS0 quiet panic=-1 switchd.ip=198.18.0.2/24 switchd.peer=198.18.0.1" \
  -chardev stdio,id=con,signal=off -serial chardev:con \
  -netdev "tap,id=n0,ifname=$vm_port,script=no,downscript=no,vnet_hdr=on" \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:02,romfile= \
  <"$work/console-in" >"$work/console.log" 2>&1 &
qemu_pid=$!
exec 3>"$work/console-in"
for _ in $(seq 600); do grep -q "switchd-guest: ready" "$work/console.log" && break; sleep 0.1; done
grep "switchd-guest:" "$work/console.log" || { cat "$work/console.log"; exit 1; }

# Runs one command in the guest and prints its output (tests/vm/init: "ID COMMAND" -> "@@ID rc=N@@").
guest_id=0
guest() {
  local from
  guest_id=$((guest_id + 1))
  from=$(($(wc -l <"$work/console.log") + 1))
  echo "$guest_id $*" >&3
  for _ in $(seq 300); do grep -q "@@$guest_id rc=" "$work/console.log" && break; sleep 0.1; done
  tail -n +"$from" "$work/console.log" | tr -d '\r' | sed "s/@@$guest_id rc=\([0-9]*\)@@/(exit status \1)/"
}

# 5. Ping both ways through the switch.
echo; echo "h1\$ ping -c 3 198.18.0.2"
ip netns exec "$ns" ping -c 3 -i 0.2 -W 2 198.18.0.2
echo; echo "guest\$ ping -c 3 198.18.0.1"
guest ping -c 3 -i 0.2 198.18.0.1

# 6. What the switch learned: the guest's MAC on the vm port.
echo; echo "\$ switchctl show-ports"; ctl show-ports
echo; echo "\$ switchctl show-macs"; ctl show-macs

# 7. The guest powers off: QEMU exits; the vm port and its TAP stay (NO-CARRIER) for the next boot.
echo poweroff >&3
wait "$qemu_pid" && qemu_pid=
echo; echo "guest powered off; the port and its TAP stay for the next boot"
echo "\$ ip link show $vm_port"; ip link show "$vm_port"
echo "\$ switchctl show-ports"; ctl show-ports
