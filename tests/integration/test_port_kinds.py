#!/usr/bin/env python3
"""Port kinds beyond tap: `vm` (a persistent TAP left free for a hypervisor) and `attach` (an
existing interface), both switched through the interface's kernel side with a packet socket.

The "hypervisor" here is this test: it opens the vm port's TAP the way QEMU does (TUNSETIFF with
IFF_VNET_HDR), which only works if switchd does not hold it, and speaks ARP and ICMP through it
with hand-built frames. tests/integration/test_vm.py boots a real QEMU guest.
"""

import fcntl
import os
import select
import struct
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import test_offload  # noqa: E402  (its TCP sender and receiver)

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
VNET_HEADER = bytes(10)  # no offload: a complete frame

GUEST_MAC = bytes.fromhex("020000aa0001")
GUEST_IP = "198.18.0.50"


def ip_bytes(text):
    return bytes(int(x) for x in text.split("."))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def arp_request(src_mac, src_ip, target_ip):
    eth = b"\xff" * 6 + src_mac + b"\x08\x06"
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src_mac + ip_bytes(src_ip) + b"\0" * 6 + ip_bytes(target_ip)
    return eth + arp


def echo_request(src_mac, dst_mac, src_ip, dst_ip, ident, seq):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"switchd-vm-port-test"
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), ident, 0, 64, 1, 0, ip_bytes(src_ip), ip_bytes(dst_ip))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return dst_mac + src_mac + b"\x08\x00" + header + icmp


class Hypervisor:
    """Holds a vm port's TAP open as QEMU would, and exchanges frames through it."""

    def __init__(self, name):
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        try:
            fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
        except OSError:
            os.close(self.fd)
            raise

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def send(self, frame):
        os.write(self.fd, VNET_HEADER + frame)

    def receive(self, predicate, timeout=3):
        """Frames (without the virtio-net header) until one satisfies predicate; None on timeout."""
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            try:
                data = os.read(self.fd, 70000)
            except BlockingIOError:
                continue
            frame = data[10:]
            if predicate(frame):
                return frame
        return None

    def resolve(self, target_ip):
        """ARP for target_ip; returns its MAC, or None."""
        want = ip_bytes(target_ip)
        for _ in range(3):
            self.send(arp_request(GUEST_MAC, GUEST_IP, target_ip))
            reply = self.receive(lambda f: f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02" and f[28:32] == want, 1)
            if reply:
                return reply[22:28]
        return None

    def ping(self, target_ip, target_mac, seq):
        self.send(echo_request(GUEST_MAC, target_mac, GUEST_IP, target_ip, 0x5D, seq))
        return self.receive(
            lambda f: f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 0 and struct.unpack("!H", f[40:42])[0] == seq, 3
        )


class PortKindsTest(harness.SwitchTestCase):
    def setUp(self):
        super().setUp()
        self.file = os.path.join(self.tmp.name, "random.bin")
        self.data = os.urandom(4 * 1024 * 1024)
        with open(self.file, "wb") as f:
            f.write(self.data)

    def veth_into_namespace(self, index):
        """A veth pair: one end left in switchd's namespace (returned name), the other in a new
        namespace with 198.18.0.<index>/24. Returns (switch_end, Host)."""
        end, peer = harness.tap_name(), harness.tap_name()
        harness._root_links.append(end)
        harness.ip("link", "add", end, "type", "veth", "peer", "name", peer)
        ns = harness.ns_name()
        harness.setup_namespace(ns)
        addr = "%s.%d" % (harness.SUBNET, index)
        harness.ip("link", "set", peer, "netns", ns)
        harness.ip("-n", ns, "addr", "add", addr + "/24", "dev", peer)
        harness.ip("-n", ns, "link", "set", peer, "up")
        return end, harness.Host(ns, peer, addr, end)

    def transfer(self, src, dst):
        """TCP from src to dst through the switch; the bytes that arrive must be the file's."""
        return test_offload.OffloadTest.transfer(self, src, dst)

    # -- attach ---------------------------------------------------------------------------------

    def test_attached_veth_forwards_ping_and_tcp_with_offloads(self):
        [tap_host] = self.hosts(1)  # 198.18.0.1
        end, veth_host = self.veth_into_namespace(2)
        port = self.ctl_json("add-port", end, "--kind", "attach")
        self.assertEqual(port["kind"], "attach")
        self.assertTrue(port["up"])
        self.ping_ok(veth_host, tap_host.ip)
        self.ping_ok(tap_host, veth_host.ip)
        # veth hands over 64 KiB TSO frames with partial checksums: they must arrive intact both ways.
        self.transfer(veth_host, tap_host)
        self.transfer(tap_host, veth_host)
        ports = self.ports()
        self.assertGreater(ports[end]["rx_bytes"], 4 * 1024 * 1024)
        self.assertGreater(ports[end]["tx_bytes"], 4 * 1024 * 1024)
        # Fewer frames than 1500-byte segments: GSO frames crossed whole.
        self.assertLess(ports[end]["rx_packets"], ports[end]["rx_bytes"] // 1500)
        macs = {(m["mac"], m["port"]) for m in self.macs()}
        self.assertIn((veth_host.mac(), end), macs)

    def test_attach_needs_an_existing_interface(self):
        self.start_daemon()
        missing = harness.tap_name()
        rc, out, err = self.ctl("add-port", missing, "--kind", "attach")
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(
            err.strip(),
            "switchctl: no interface '%s' to attach (attach takes an existing interface, e.g. a veth end: "
            "ip link add %s type veth peer name PEER)" % (missing, missing),
        )
        self.assertEqual(self.ports(), {})
        self.assertFalse(harness.link_exists(missing), "attach must never create an interface")

    def test_deleting_an_attached_interface_removes_the_port(self):
        end, _ = self.veth_into_namespace(1)
        self.start_daemon([end + ":attach"])
        self.assertIn(end, self.ports())
        harness.ip("link", "del", end)
        self.assertTrue(harness.wait_until(lambda: end not in self.ports(), 5), self.ports())
        self.assertIn("removed", self.daemon.log())

    def test_del_port_leaves_an_attached_interface_alone(self):
        end, _ = self.veth_into_namespace(1)
        self.start_daemon([end + ":attach"])
        self.ctl_ok("del-port", end)
        self.assertTrue(harness.link_exists(end), "del-port of an attach port deleted the interface")

    # -- vm -------------------------------------------------------------------------------------

    def test_vm_port_leaves_the_tap_to_the_hypervisor_which_may_come_and_go(self):
        vm = harness.tap_name()
        harness._root_links.append(vm)
        [host] = self.hosts(1)
        self.ctl_ok("add-port", vm, "--kind", "vm")
        port = self.ports()[vm]
        self.assertEqual(port["kind"], "vm")
        rc, out, _ = harness.run(["ip", "-d", "link", "show", vm])
        self.assertEqual(rc, 0)
        self.assertIn("persist on", out)

        for run_no in range(1, 3):  # the guest starts, stops, starts again
            hv = Hypervisor(vm)  # fails with EBUSY if switchd held the TAP
            try:
                host_mac = hv.resolve(host.ip)
                self.assertIsNotNone(host_mac, "run %d: no ARP reply from %s through the vm port" % (run_no, host.ip))
                self.assertEqual(host_mac.hex(":"), host.mac())
                reply = hv.ping(host.ip, host_mac, seq=run_no)
                self.assertIsNotNone(reply, "run %d: no echo reply from %s through the vm port" % (run_no, host.ip))
            finally:
                hv.close()
        self.assertIn((GUEST_MAC.hex(":"), vm), {(m["mac"], m["port"]) for m in self.macs()})
        self.assertEqual(self.ports()[vm]["name"], vm)

    def test_vm_port_tap_is_deleted_with_the_port_and_at_exit(self):
        vm1, vm2 = harness.tap_name(), harness.tap_name()
        harness._root_links.extend([vm1, vm2])
        self.start_daemon([vm1 + ":vm", vm2 + ":vm"])
        self.assertTrue(harness.link_exists(vm1) and harness.link_exists(vm2))
        self.ctl_ok("del-port", vm1)
        self.assertFalse(harness.link_exists(vm1), "del-port left the vm port's TAP")
        self.daemon.stop()
        self.assertFalse(harness.link_exists(vm2), "switchd's exit left the vm port's TAP")

    def test_vm_port_reuses_an_existing_persistent_tap_and_leaves_it(self):
        vm = harness.tap_name()
        harness._root_links.append(vm)
        harness.ip("tuntap", "add", "dev", vm, "mode", "tap")
        self.start_daemon([vm + ":vm"])
        self.assertIn("existing TAP", self.daemon.log())
        self.ctl_ok("del-port", vm)
        self.assertTrue(harness.link_exists(vm), "del-port deleted a TAP switchd did not create")

    def test_vm_port_refuses_a_tap_another_program_holds(self):
        vm = harness.tap_name()
        harness._root_links.append(vm)
        self.start_daemon()
        hv = Hypervisor(vm)  # a non-persistent TAP, held open
        try:
            rc, out, err = self.ctl("add-port", vm, "--kind", "vm")
            self.assertEqual(rc, 1, out + err)
            self.assertIn("Device or resource busy (another program holds the TAP open)", err)
            self.assertEqual(self.ports(), {})
        finally:
            hv.close()

    def test_tap_options_are_refused_for_other_kinds(self):
        self.start_daemon()
        rc, _, err = self.ctl("add-port", "vmx0", "--kind", "vm", "--netns", "x")
        self.assertEqual(rc, 1)
        self.assertIn("netns applies to tap ports only", err)
        self.assertFalse(harness.link_exists("vmx0"))


if __name__ == "__main__":
    unittest.main()
