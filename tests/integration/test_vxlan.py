"""VXLAN ports (issue 7) end to end: switchd in one "host" namespace, linked over a veth underlay to the
Linux kernel's vxlan device (or to another switchd) in another.

    A1 --tap--+                                                       +--veth-- B1
              | switchd (in hostA)   198.19.0.1 ==underlay== 198.19.0.2   | br0 + vxlan42 (kernel, in hostB)
    A2 --tap--+  port vx42, VNI 42                                    |

switchd runs inside hostA (`ip netns exec hostA switchd ...`): its UDP socket is bound to hostA's underlay
address, and the TAPs it creates there are moved into the end namespaces A1, A2 (`add-port --netns`).
End hosts use 198.18.0.0/24, the underlay 198.19.0.0/24 (both inside 198.18.0.0/15), every address inside
namespaces this test creates. The underlay veths have tx checksumming off: a kernel vxlan over a veth otherwise
hands on inner TCP segments with unfinished checksums, which no userspace endpoint can finish.

The failure modes these tests are here to catch: a header the kernel does not accept (wrong flags, VNI, UDP
port), MACs learned behind the wrong remote, flooding that misses a remote or keeps going to a removed one,
"ping works, TCP breaks" (checksums, GSO frames not segmented before encapsulation), frames too big for the
underlay sent anyway or fragmented, and bad packets from the underlay that get in or stop the switch.
"""

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import rawsend  # noqa: E402
import test_offload  # noqa: E402  (its TCP sender and receiver)

VNI = 42
DSTPORT = 4789
NET = harness.SUBNET  # end hosts: 198.18.0.0/24
UNDERLAY = "198.19.0"  # host namespaces' underlay addresses: 198.19.0.0/24
U1, U2, U3 = UNDERLAY + ".1", UNDERLAY + ".2", UNDERLAY + ".3"
STRANGER = UNDERLAY + ".9"  # an underlay address that is nobody's configured remote
OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14
TRANSFER_SIZE = 8 * 1024 * 1024
TCP_PORT = 5201
COUNTERS = ("encapsulated", "decapsulated", "malformed", "unknown_source", "too_big")

# Sends UDP datagrams (hex-encoded payloads, "" for an empty one) from a bound source address.
# argv: source address, destination address, destination port, payloads...
UDP_SENDER = r"""
import socket, sys, time
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for payload in sys.argv[4:]:
    s.sendto(bytes.fromhex(payload), (dst, port))
    time.sleep(0.01)
"""

# Sends one UDP payload (hex) to DST:PORT from COUNT spoofed source addresses 198.19.8.1, 198.19.8.2, ...
# (a raw IPv4 socket; the kernel fills in the IP checksum, the UDP checksum is 0: none).
# argv: destination address, destination port, count, payload.
SPOOFER = r"""
import socket, struct, sys
dst, port, count, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), bytes.fromhex(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(count):
    src = socket.inet_aton("198.19.%d.%d" % (8 + i // 250, 1 + i % 250))
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0, src, socket.inet_aton(dst))
    s.sendto(ip + udp, (dst, 0))
"""


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def vxlan_header(vni=VNI, flags=0x08):
    """RFC 7348: flags (0x08: the VNI is valid), 24 reserved bits, the 24-bit VNI, 8 reserved bits."""
    return struct.pack("!BxxxI", flags, vni << 8)


def probe_frame(src_mac, dst_mac="ff:ff:ff:ff:ff:ff"):
    """A 60-byte frame with EtherType 88b5 (IEEE local experimental: every stack ignores it)."""
    payload = b"switchd-vxlan-test".ljust(46, b".")
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x88\xb5" + payload


def packets(lines):
    """tcpdump's lines as one string per packet: it prints a VXLAN packet's inner frame on a line of its own."""
    out = []
    for line in lines:
        if out and not re.match(r"^\d\d:\d\d:\d\d\.\d+ ", line):
            out[-1] += " | " + line.strip()
        else:
            out.append(line)
    return out


def ip_re(addr):
    """A regex for `addr` that does not also match a longer address (198.19.0.1 vs 198.19.0.12)."""
    return re.escape(addr) + r"(?![0-9])"


class VxlanTestCase(harness.SwitchTestCase):
    """Builds host namespaces, underlays, switchd instances inside host namespaces, end hosts on either side."""

    def setUp(self):
        super().setUp()
        self.file = os.path.join(self.tmp.name, "random.bin")
        self.data = os.urandom(TRANSFER_SIZE)
        with open(self.file, "wb") as f:
            f.write(self.data)

    # -- namespaces and links ------------------------------------------------------------------

    def new_ns(self):
        ns = harness.ns_name()
        harness.setup_namespace(ns)
        return ns

    def underlay_end(self, ns, ifname, addr, mtu):
        harness.ip("-n", ns, "link", "set", "dev", ifname, "mtu", str(mtu))
        harness.ip("-n", ns, "addr", "add", "%s/24" % addr, "dev", ifname)
        harness.ns_exec(ns, "ethtool", "-K", ifname, "tx", "off", timeout=10, check=True)
        harness.ip("-n", ns, "link", "set", "dev", ifname, "up")

    def underlay_pair(self, ns_a, addr_a, ns_b, addr_b, mtu=1500):
        """A veth pair between two host namespaces with an address on each end; returns the two names."""
        a, b = harness.tap_name(), harness.tap_name()
        harness.ip("-n", ns_a, "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b)
        self.underlay_end(ns_a, a, addr_a, mtu)
        self.underlay_end(ns_b, b, addr_b, mtu)
        return a, b

    def underlay_switch(self, members, mtu=1500):
        """One underlay segment for several host namespaces: a kernel bridge in a namespace of its own.
        members: [(ns, addr)]; returns each member's underlay interface name, in order."""
        hub = self.new_ns()
        harness.ip("-n", hub, "link", "add", "br0", "type", "bridge")
        harness.ip("-n", hub, "link", "set", "dev", "br0", "up")
        names = []
        for ns, addr in members:
            h, u = harness.tap_name(), harness.tap_name()
            harness.ip("-n", ns, "link", "add", h, "type", "veth", "peer", "name", u, "netns", hub)
            harness.ip("-n", hub, "link", "set", "dev", u, "mtu", str(mtu))
            harness.ip("-n", hub, "link", "set", "dev", u, "master", "br0")
            harness.ip("-n", hub, "link", "set", "dev", u, "up")
            self.underlay_end(ns, h, addr, mtu)
            names.append(h)
        return names

    # -- switchd inside a host namespace -------------------------------------------------------

    def start_switchd_in(self, ns, extra_args=()):
        """Starts switchd inside namespace ns (`ip netns exec NS switchd ...`); returns its socket path."""
        path = os.path.join(self.tmp.name, "%s.sock" % ns)
        d = harness.Daemon(path, (), extra_args)
        d.argv = ["ip", "netns", "exec", ns] + d.argv
        self._my_daemons.append(d)
        d.start()
        return path

    def local_host(self, sock, index, mtu=None):
        """A TAP port on the switchd at `sock`, moved into a new end namespace with 198.18.0.<index>."""
        ns = self.new_ns()
        port = harness.tap_name()
        args = ["add-port", port, "--netns", ns, "--address", "%s.%d/24" % (NET, index)]
        if mtu:
            args += ["--mtu", str(mtu)]
        self.ctl_ok(*args, socket_path=sock)
        host = harness.Host(ns, port, "%s.%d" % (NET, index), port)
        up = harness.wait_until(lambda: "UP" in host.link().get("flags", []), 5)
        self.assertTrue(up, "port %s is not up in %s: %r" % (port, ns, host.link()))
        return host

    def kernel_vtep(self, host_ns, underlay_if, local, remotes, index, mtu=None, learning=True):
        """The Linux side: vxlan42 (local, remotes, dstport 4789) and a veth to a new end namespace with
        198.18.0.<index>, bridged by br0 in host_ns. Returns the end host."""
        args = ["-n", host_ns, "link", "add", "vxlan%d" % VNI, "type", "vxlan", "id", str(VNI), "local", local,
                "remote", remotes[0], "dev", underlay_if, "dstport", str(DSTPORT)]
        if not learning:
            args.append("nolearning")
        harness.ip(*args)
        for remote in remotes[1:]:
            self.bridge_fdb(host_ns, "append", remote)
        harness.ip("-n", host_ns, "link", "add", "br0", "type", "bridge")
        end_ns = self.new_ns()
        here, there = harness.tap_name(), harness.tap_name()
        harness.ip("-n", host_ns, "link", "add", here, "type", "veth", "peer", "name", there, "netns", end_ns)
        for dev in ("vxlan%d" % VNI, here):
            harness.ip("-n", host_ns, "link", "set", "dev", dev, "master", "br0")
            harness.ip("-n", host_ns, "link", "set", "dev", dev, "up")
        harness.ip("-n", host_ns, "link", "set", "dev", "br0", "up")
        if mtu:
            harness.ip("-n", end_ns, "link", "set", "dev", there, "mtu", str(mtu))
        harness.ip("-n", end_ns, "addr", "add", "%s.%d/24" % (NET, index), "dev", there)
        harness.ip("-n", end_ns, "link", "set", "dev", there, "up")
        return harness.Host(end_ns, there, "%s.%d" % (NET, index), None)

    def bridge_fdb(self, host_ns, verb, remote):
        """Adds (append) or removes (del) a flooding destination of the kernel's vxlan42."""
        harness.run(["bridge", "-n", host_ns, "fdb", verb, "00:00:00:00:00:00", "dev", "vxlan%d" % VNI,
                     "dst", remote], timeout=10, check=True)

    def kernel_fdb(self, host_ns):
        rc, out, err = harness.run(["bridge", "-n", host_ns, "-j", "fdb", "show", "dev", "vxlan%d" % VNI], timeout=5)
        self.assertEqual(rc, 0, err)
        return json.loads(out or "[]")

    # -- reading switchd -----------------------------------------------------------------------

    def port(self, sock, name):
        ports = {p["name"]: p for p in self.ctl_json("show-ports", socket_path=sock)}
        self.assertIn(name, ports, "no port %r in show-ports: %r" % (name, sorted(ports)))
        return ports[name]

    def vxlan(self, sock, name):
        """show-ports' "vxlan" object of port `name`, checking that the port is a VXLAN port."""
        p = self.port(sock, name)
        self.assertEqual(p.get("kind"), "vxlan", p)
        self.assertIsInstance(p.get("vxlan"), dict, p)
        return p["vxlan"]

    def counters(self, sock, name):
        v = self.vxlan(sock, name)
        missing = [c for c in COUNTERS if not isinstance(v.get(c), int)]
        self.assertEqual(missing, [], "show-ports vxlan object lacks counters: %r" % v)
        return {c: v[c] for c in COUNTERS}

    def delta(self, before, after):
        return {c: after[c] - before[c] for c in COUNTERS}

    def macs_on(self, sock, **match):
        return [e for e in self.ctl_json("show-macs", socket_path=sock)
                if all(e.get(k) == v for k, v in match.items())]

    def add_vxlan(self, sock, name, local, remotes, *extra):
        args = ["add-vxlan", name, "--vni", VNI, "--local", local]
        for r in remotes:
            args += ["--remote", r]
        args += ["--dstport", DSTPORT] + list(extra)
        return self.ctl_ok(*args, socket_path=sock)

    # -- traffic -------------------------------------------------------------------------------

    def pings(self, pairs, count=3):
        for src, dst in pairs:
            ok, out = src.ping(dst.ip, count=count)
            self.assertTrue(ok, "ping %s (%s) -> %s (%s) failed:\n%s" % (src.ip, src.ns, dst.ip, dst.ns, out))

    def no_ping(self, src, dst, count=3):
        src.flush_neigh()
        ok, out = src.ping(dst.ip, count=count)
        self.assertFalse(ok, "ping %s -> %s should fail but got replies:\n%s" % (src.ip, dst.ip, out))

    def ping_size(self, src, dst, size, count=3):
        """ping -M do -s SIZE; returns (ok, output)."""
        rc, out, err = src.exec("ping", "-n", "-c", str(count), "-W", "1", "-i", "0.2", "-M", "do", "-s", str(size),
                                dst.ip, timeout=count + 10)
        return rc == 0, out + err

    def transfer(self, src, dst):
        """Sends the random file from src to dst over TCP and checks that exactly those bytes arrived."""
        argv = ["ip", "netns", "exec", dst.ns, "python3", "-c", test_offload.RECEIVER, dst.ip, str(TCP_PORT),
                str(test_offload.STALL)]
        receiver = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    preexec_fn=harness._set_pdeathsig)
        harness._children.append(receiver)
        try:
            rc, out, err = src.exec("python3", "-c", test_offload.SENDER, dst.ip, str(TCP_PORT), self.file, "0",
                                    str(test_offload.STALL), timeout=4 * test_offload.STALL + 10)
            try:
                r_out, r_err = receiver.communicate(timeout=test_offload.STALL + 10)
            except subprocess.TimeoutExpired:
                receiver.kill()
                r_out, r_err = receiver.communicate(timeout=5)
        finally:
            if receiver.poll() is None:
                receiver.kill()
                receiver.wait(timeout=5)
            if receiver in harness._children:
                harness._children.remove(receiver)
        what = "TCP transfer %s -> %s" % (src.ip, dst.ip)
        self.assertEqual(rc, 0, "%s: sender failed (rc %d)\nstdout: %s\nstderr: %s\nreceiver: %s%s"
                         % (what, rc, out, err, r_out, r_err))
        self.assertEqual(receiver.returncode, 0, "%s: receiver failed\nstdout: %s\nstderr: %s" % (what, r_out, r_err))
        sent, got = test_offload.last_json_line(out), test_offload.last_json_line(r_out)
        self.assertIsNotNone(got, "%s: receiver printed no report: %r" % (what, r_out))
        expected = hashlib.sha256()
        for _ in range(sent["reps"]):
            expected.update(self.data)
        self.assertEqual(got["bytes"], sent["reps"] * len(self.data), "%s: byte count" % what)
        self.assertEqual(got["sha256"], expected.hexdigest(), "%s: SHA-256 differs: data corrupted" % what)
        return got

    def udp_send(self, ns, src, payloads, dst=U1, port=DSTPORT):
        harness.ns_exec(ns, "python3", "-c", UDP_SENDER, src, dst, str(port), *[p.hex() for p in payloads],
                        timeout=20, check=True)

    def flood_from(self, host, count=20):
        """Sends `count` broadcast frames (EtherType 88b5) from an end host."""
        summary = rawsend.send(host.ns, host.ifname, count, rate=200, duration=10)
        self.assertEqual(summary["sent"], count, summary)

    def flood_and_count(self, src, outer_src, where):
        """Broadcasts 20 frames (EtherType 88b5) from end host src; returns, for each (ns, underlay interface)
        in `where`, how many of them arrived there in VXLAN packets from underlay address outer_src."""
        filt = "udp dst port %d and src host %s" % (DSTPORT, outer_src)
        captures = [harness.Capture(ns, ifname, filt) for ns, ifname in where]
        try:
            self.flood_from(src, 20)
            self.settle()
        finally:
            lines = [packets(c.stop()) for c in captures]
        return [len([l for l in ls if "0x88b5" in l and src.mac() in l]) for ls in lines]

    def settle(self):
        time.sleep(0.5)  # frames in flight reach the capture before it stops


class VxlanToolingTest(VxlanTestCase):
    """The test's own tooling, kernel to kernel (no switchd): what the switchd tests expect of tcpdump, the
    kernel's vxlan device and the underlay must hold without switchd."""

    def test_kernel_to_kernel_over_the_helpers(self):
        host_a, host_b = self.new_ns(), self.new_ns()
        ua, ub = self.underlay_pair(host_a, U1, host_b, U2)
        a1 = self.kernel_vtep(host_a, ua, U1, [U2], 1, mtu=1500 - OVERHEAD)
        b1 = self.kernel_vtep(host_b, ub, U2, [U1], 2, mtu=1500 - OVERHEAD)
        capture = harness.Capture(host_a, ua, "udp dst port %d" % DSTPORT)
        try:
            self.pings([(a1, b1)], count=2)
            self.settle()
        finally:
            lines = packets(capture.stop())
        self.assertTrue([l for l in lines if re.search(r"VXLAN, flags \[I\] \(0x08\), vni %d\b" % VNI, l)
                         and re.search(r"%s > %s: ICMP echo request" % (ip_re(a1.ip), ip_re(b1.ip)), l)],
                        "\n".join(lines))
        learned = {e.get("mac"): e.get("dst") for e in self.kernel_fdb(host_b) if e.get("dst")}
        self.assertEqual(learned.get(a1.mac()), U1, learned)
        self.assertEqual(self.flood_and_count(a1, U1, [(host_b, ub)]), [20])
        self.assertEqual(self.flood_and_count(a1, U2, [(host_b, ub)]), [0])
        self.transfer(a1, b1)
        self.transfer(b1, a1)

        # A raw VXLAN packet from the UDP sender is taken by the kernel like its peer's (and seen by B1).
        cap = harness.Capture(b1.ns, b1.ifname, "ether proto 0x88b5")
        try:
            self.udp_send(host_a, U1, [vxlan_header() + probe_frame("02:00:00:00:0b:01"),
                                       vxlan_header(vni=VNI + 1) + probe_frame("02:00:00:00:0b:ad")], dst=U2)
            self.settle()
        finally:
            lines = packets(cap.stop())
        self.assertEqual(len([l for l in lines if "02:00:00:00:0b:01" in l]), 1, lines)
        self.assertEqual([l for l in lines if "02:00:00:00:0b:ad" in l], [], lines)


class KernelInteropTest(VxlanTestCase):
    """switchd <-> the Linux kernel's vxlan device, the interop every user of a mixed network relies on."""

    def build(self, underlay_mtu=1500, host_mtu=1500 - OVERHEAD, learning=True, vxlan_options=()):
        self.host_a, self.host_b = self.new_ns(), self.new_ns()
        self.ua, self.ub = self.underlay_pair(self.host_a, U1, self.host_b, U2, mtu=underlay_mtu)
        self.sock = self.start_switchd_in(self.host_a)
        self.add_vxlan(self.sock, "vx42", U1, [U2], *vxlan_options)
        self.a1 = self.local_host(self.sock, 1, mtu=host_mtu)
        self.a2 = self.local_host(self.sock, 2, mtu=host_mtu)
        self.b1 = self.kernel_vtep(self.host_b, self.ub, U2, [U1], 3, mtu=host_mtu, learning=learning)

    def test_switchd_and_kernel_vxlan_carry_ping_and_tcp(self):
        self.build()
        a1, a2, b1 = self.a1, self.a2, self.b1
        v = self.vxlan(self.sock, "vx42")
        self.assertEqual((v.get("vni"), v.get("local"), v.get("dstport"), v.get("remotes"), v.get("learn_remotes")),
                         (VNI, U1, DSTPORT, [U2], False), v)
        self.assertEqual(self.counters(self.sock, "vx42")["malformed"], 0)

        # What goes over the underlay is RFC 7348 as tcpdump reads it: UDP to 4789, flags [I] (0x08), vni 42.
        capture = harness.Capture(self.host_a, self.ua, "udp dst port %d" % DSTPORT)
        try:
            self.pings([(a1, b1)])
            self.settle()
        finally:
            lines = packets(capture.stop())
        text = "\n".join(lines)
        out_req = [l for l in lines if re.search(r"%s\.\d+ > %s\.%d:" % (re.escape(U1), re.escape(U2), DSTPORT), l)
                   and "VXLAN" in l and re.search(r"%s > %s: ICMP echo request" % (ip_re(a1.ip), ip_re(b1.ip)), l)]
        self.assertTrue(out_req, "no encapsulated echo request from %s to %s on the underlay:\n%s" % (U1, U2, text))
        for l in out_req:
            self.assertRegex(l, r"VXLAN, flags \[I\] \(0x08\), vni %d\b" % VNI)
        back = [l for l in lines if re.search(r"%s\.\d+ > %s\.%d:" % (re.escape(U2), re.escape(U1), DSTPORT), l)
                and re.search(r"%s > %s: ICMP echo reply" % (ip_re(b1.ip), ip_re(a1.ip)), l)]
        self.assertTrue(back, "no encapsulated echo reply from the kernel on the underlay:\n%s" % text)

        # Every end host reaches every other, both ways.
        self.pings([(a1, a2), (a2, a1), (a2, b1), (b1, a1), (b1, a2)])

        # B1 is learned behind the VXLAN port, behind hostB's underlay address; the kernel learned A1
        # behind ours (it saw our outer source address).
        entries = self.macs_on(self.sock, mac=b1.mac())
        self.assertEqual(len(entries), 1, entries)
        self.assertEqual((entries[0].get("port"), entries[0].get("vlan"), entries[0].get("remote"),
                          entries[0].get("type")), ("vx42", 1, U2, "dynamic"), entries[0])
        self.assertEqual([e.get("port") for e in self.macs_on(self.sock, mac=a1.mac())], [a1.port])
        learned = {e.get("mac"): e.get("dst") for e in self.kernel_fdb(self.host_b) if e.get("dst")}
        self.assertEqual(learned.get(a1.mac()), U1, "kernel vxlan fdb: %r" % learned)
        self.assertEqual(learned.get(a2.mac()), U1, "kernel vxlan fdb: %r" % learned)

        text = self.ctl_ok("show-macs", socket_path=self.sock)
        header = text.splitlines()[0].split()
        self.assertIn("REMOTE", header, text)
        line = [l for l in text.splitlines() if b1.mac() in l]
        self.assertEqual(len(line), 1, text)
        cells = line[0].split()
        self.assertEqual(cells[header.index("PORT")], "vx42", text)
        self.assertEqual(cells[header.index("REMOTE")], U2, text)

        # TCP both ways across the tunnel, checked end to end: A1's TAP hands over GSO frames with partial
        # checksums, which must be segmented and finished before they are encapsulated.
        self.assertEqual(test_offload.ethtool_features(a1).get("tcp-segmentation-offload"), "on")
        frames = self.ctl_json("show-stats", socket_path=self.sock)["frames"]
        self.transfer(a1, b1)
        self.transfer(b1, a2)
        self.transfer(a2, b1)
        after = self.ctl_json("show-stats", socket_path=self.sock)["frames"]
        self.assertGreater(after["gso_segmented"], frames["gso_segmented"],
                           "A1's TSO frames reached the tunnel without being segmented by the switch: %r" % after)
        self.assertEqual(after["offload_dropped"], frames["offload_dropped"], after)
        c = self.counters(self.sock, "vx42")
        self.assertGreater(c["encapsulated"], TRANSFER_SIZE // 1500, c)
        self.assertGreater(c["decapsulated"], TRANSFER_SIZE // 1500, c)
        self.assertEqual((c["malformed"], c["unknown_source"], c["too_big"]), (0, 0, 0), c)
        p = self.port(self.sock, "vx42")
        self.assertGreater(p["rx_packets"], 0, p)
        self.assertGreater(p["tx_packets"], 0, p)

    def test_vni_mapped_to_a_vlan(self):
        self.build()
        a1, a2, b1 = self.a1, self.a2, self.b1
        self.ctl_ok("set-port", "vx42", "access", 10, socket_path=self.sock)
        self.ctl_ok("set-port", a1.port, "access", 10, socket_path=self.sock)
        self.assertEqual(self.port(self.sock, "vx42").get("vlan"), 10)
        self.pings([(a1, b1), (b1, a1)])
        self.no_ping(a2, b1)
        self.no_ping(b1, a2)
        entries = self.macs_on(self.sock, mac=b1.mac())
        self.assertEqual([(e.get("port"), e.get("vlan"), e.get("remote")) for e in entries], [("vx42", 10, U2)])
        # Frames from VLAN 10 leave untagged inside the tunnel: the kernel bridge (no VLAN filtering) and B1
        # took them above; check the underlay carries no 802.1Q tag inside VXLAN either.
        capture = harness.Capture(self.host_a, self.ua, "udp dst port %d" % DSTPORT)
        try:
            self.pings([(a1, b1)], count=2)
            self.settle()
        finally:
            lines = packets(capture.stop())
        vx = [l for l in lines if "VXLAN" in l]
        self.assertTrue(vx, lines)
        self.assertFalse([l for l in vx if "802.1Q" in l or "vlan 10" in l], "\n".join(vx))

    def test_frames_too_big_for_the_underlay_are_dropped_and_counted(self):
        # The underlay carries 1400 bytes; the hosts start at 1500, as users' hosts would.
        underlay = 1400
        self.build(underlay_mtu=underlay, host_mtu=1500)
        a1, b1 = self.a1, self.b1
        self.pings([(a1, b1)], count=2)

        # The largest ICMP payload that fits: IP 20 + ICMP 8 + payload + 50 = underlay MTU.
        fits = underlay - OVERHEAD - 28
        before = self.counters(self.sock, "vx42")
        ok, out = self.ping_size(a1, b1, fits)
        self.assertTrue(ok, "ping -M do -s %d (outer packet exactly %d bytes) failed:\n%s" % (fits, underlay, out))
        self.assertEqual(self.delta(before, self.counters(self.sock, "vx42"))["too_big"], 0)

        for size in (fits + 1, 1400):
            before = self.counters(self.sock, "vx42")
            frags = harness.Capture(self.host_a, self.ua, "( ip[6:2] & 0x3fff != 0 ) or greater %d" % (underlay + 15))
            arrived = harness.Capture(b1.ns, b1.ifname, "icmp")
            try:
                ok, out = self.ping_size(a1, b1, size)
                self.settle()
            finally:
                frag_lines = frags.stop()
                b1_lines = arrived.stop()
            self.assertFalse(ok, "ping -M do -s %d got replies through a %d-byte underlay:\n%s" % (size, underlay, out))
            d = self.delta(before, self.counters(self.sock, "vx42"))
            self.assertEqual(d["too_big"], 3, "3 echo requests of %d bytes should count as too_big: %r" % (size, d))
            self.assertEqual(frag_lines, [], "fragments or oversized packets on the underlay")
            self.assertFalse([l for l in b1_lines if "echo request" in l], "B1 got the oversized requests:\n%s"
                             % "\n".join(b1_lines))

        # Hosts at underlay MTU - 50: TCP works both ways (A1's GSO frames segmented to fit), nothing too big.
        for host in (a1, b1):
            harness.ip("-n", host.ns, "link", "set", "dev", host.ifname, "mtu", str(underlay - OVERHEAD))
        before = self.counters(self.sock, "vx42")
        self.transfer(a1, b1)
        self.transfer(b1, a1)
        d = self.delta(before, self.counters(self.sock, "vx42"))
        self.assertEqual(d["too_big"], 0, d)
        self.assertGreater(d["encapsulated"], TRANSFER_SIZE // underlay, d)

    def test_malformed_packets_and_unknown_sources_are_dropped_and_counted(self):
        self.build()
        a1, b1 = self.a1, self.b1
        self.pings([(a1, b1)], count=2)
        stats_before = self.ctl_json("show-stats", socket_path=self.sock)["frames"]
        before = self.counters(self.sock, "vx42")

        good = "02:00:00:00:0b:01"
        bad = "02:00:00:00:0b:ad"
        capture = harness.Capture(a1.ns, a1.ifname, "ether proto 0x88b5")
        try:
            # A well-formed packet from the configured remote, then the malformed ones.
            self.udp_send(self.host_b, U2, [vxlan_header() + probe_frame(good)])
            vxlan_only = [b"", bytes(3), vxlan_header()[:7],  # shorter than the VXLAN header
                          vxlan_header(flags=0x00) + probe_frame(bad),  # I flag clear
                          vxlan_header(vni=VNI + 1) + probe_frame(bad)]  # another VNI
            runts = [vxlan_header(), vxlan_header() + probe_frame(bad)[:10]]  # no or a truncated inner frame
            self.udp_send(self.host_b, U2, vxlan_only + runts)
            self.settle()
        finally:
            lines = packets(capture.stop())
        # (decapsulated counts are lower bounds: B1's kernel may send an IGMP report of its own meanwhile)
        d = self.delta(before, self.counters(self.sock, "vx42"))
        self.assertGreaterEqual(d["decapsulated"], 1, d)
        self.assertEqual(d["malformed"], len(vxlan_only) + len(runts) - self.delta_malformed(stats_before), d)
        self.assertGreaterEqual(d["malformed"], len(vxlan_only), d)
        self.assertEqual(d["unknown_source"], 0, d)
        self.assertTrue(self.daemon_alive())
        self.assertEqual([l for l in lines if bad in l], [], "a malformed packet got through:\n%s" % "\n".join(lines))
        self.assertEqual(len([l for l in lines if good in l]), 1, "A1 should see the good probe once:\n%s"
                         % "\n".join(lines))
        self.assertEqual([e.get("remote") for e in self.macs_on(self.sock, mac=good)], [U2])
        self.assertEqual(self.macs_on(self.sock, mac=bad), [])
        self.pings([(a1, b1), (b1, a1)], count=2)

        # A well-formed packet from an underlay address that is not a remote: dropped and counted.
        harness.ip("-n", self.host_b, "addr", "add", "%s/24" % STRANGER, "dev", self.ub)
        stranger = "02:00:00:00:0b:09"
        before = self.counters(self.sock, "vx42")
        capture = harness.Capture(a1.ns, a1.ifname, "ether proto 0x88b5")
        try:
            self.udp_send(self.host_b, STRANGER, [vxlan_header() + probe_frame(stranger)])
            self.settle()
        finally:
            lines = packets(capture.stop())
        d = self.delta(before, self.counters(self.sock, "vx42"))
        self.assertEqual(d["unknown_source"], 1, d)
        self.assertEqual(lines, [], "a packet from a non-remote got through")
        self.assertEqual(self.macs_on(self.sock, mac=stranger), [])

        # With --learn-remotes the same packet gets in, its source MAC is learned behind that address,
        # and unicast to it goes back there.
        self.ctl_ok("del-port", "vx42", socket_path=self.sock)
        self.assertNotIn("vx42", {p["name"] for p in self.ctl_json("show-ports", socket_path=self.sock)})
        self.add_vxlan(self.sock, "vx42", U1, [U2], "--learn-remotes")
        self.assertIs(self.vxlan(self.sock, "vx42").get("learn_remotes"), True)
        capture = harness.Capture(a1.ns, a1.ifname, "ether proto 0x88b5")
        try:
            self.udp_send(self.host_b, STRANGER, [vxlan_header() + probe_frame(stranger)])
            self.settle()
        finally:
            lines = packets(capture.stop())
        c = self.counters(self.sock, "vx42")
        self.assertEqual(c["unknown_source"], 0, c)
        self.assertGreaterEqual(c["decapsulated"], 1, c)
        self.assertEqual(len([l for l in lines if stranger in l]), 1, lines)
        self.assertEqual([e.get("remote") for e in self.macs_on(self.sock, mac=stranger)], [STRANGER])
        back = harness.Capture(self.host_b, self.ub, "udp dst port %d and dst host %s" % (DSTPORT, STRANGER))
        try:
            summary = rawsend.send(a1.ns, a1.ifname, 3, dst=stranger, rate=50, duration=5)
            self.assertEqual(summary["sent"], 3, summary)
            self.settle()
        finally:
            lines = packets(back.stop())
        self.assertEqual(len(lines), 3, "unicast to a MAC learned behind %s should go there:\n%s"
                         % (STRANGER, "\n".join(lines)))
        self.pings([(a1, b1), (b1, a1)], count=2)

    def test_learn_remotes_takes_only_well_formed_packets_and_stays_bounded(self):
        self.build(vxlan_options=["--learn-remotes"])
        a1, b1 = self.a1, self.b1
        self.pings([(a1, b1)], count=2)
        harness.ip("-n", self.host_b, "addr", "add", "%s/24" % STRANGER, "dev", self.ub)

        # Garbage from an unknown address is malformed, not a new remote.
        before = self.counters(self.sock, "vx42")
        garbage = [b"\x00\x01", vxlan_header(vni=VNI + 1) + probe_frame("02:00:00:00:0b:ad")]
        self.udp_send(self.host_b, STRANGER, garbage)
        time.sleep(0.3)
        d = self.delta(before, self.counters(self.sock, "vx42"))
        self.assertEqual(d["malformed"] + d["unknown_source"], 2, d)
        self.assertEqual(self.macs_on(self.sock, mac="02:00:00:00:0b:ad"), [])
        self.assertEqual(self.vxlan(self.sock, "vx42").get("remotes"), [U2],
                         "a malformed packet from %s made it a remote" % STRANGER)

        # Well-formed packets from SPRAY spoofed sources (anyone on the underlay can send them): the switch's
        # memory and its head-end replication stay bounded. hostA has a route to them, so that sends to them
        # would succeed (and count) if they became flood targets.
        spray = 2000
        harness.ip("-n", self.host_a, "route", "add", "198.19.8.0/21", "dev", self.ua)
        harness.ns_exec(self.host_b, "python3", "-c", SPOOFER, U1, str(DSTPORT), str(spray),
                        (vxlan_header() + probe_frame("02:00:00:00:0b:0f")).hex(), timeout=30, check=True)
        time.sleep(0.5)
        remotes = self.vxlan(self.sock, "vx42").get("remotes")
        self.assertLess(len(remotes), spray, "every spoofed source became a remote (%d remotes)" % len(remotes))
        before = self.counters(self.sock, "vx42")
        self.flood_from(a1, 1)
        time.sleep(0.3)
        d = self.delta(before, self.counters(self.sock, "vx42"))
        self.assertLess(d["encapsulated"], spray, "one broadcast from A1 went out %d times" % d["encapsulated"])
        self.assertTrue(self.daemon_alive())
        self.pings([(a1, b1), (b1, a1)], count=2)

    def delta_malformed(self, stats_before):
        """Runt inner frames may be counted by the VXLAN port or by the switch's malformed-frame counter."""
        return self.ctl_json("show-stats", socket_path=self.sock)["frames"]["malformed"] - stats_before["malformed"]

    def daemon_alive(self):
        return all(d.running() for d in self._my_daemons)


class RuntimeRemotesTest(VxlanTestCase):
    """Two switchd instances linked by VXLAN, and a third site (the kernel's vxlan) added and removed at
    runtime: head-end replication must follow the remote list in both directions."""

    def test_add_and_del_remote_at_runtime(self):
        host_a, host_b, host_c = self.new_ns(), self.new_ns(), self.new_ns()
        ua, ub, uc = self.underlay_switch([(host_a, U1), (host_b, U2), (host_c, U3)])
        mtu = 1500 - OVERHEAD

        # hostA: switchd, the VXLAN port added at runtime.
        sock_a = self.start_switchd_in(host_a)
        self.add_vxlan(sock_a, "vx42", U1, [U2])
        a1 = self.local_host(sock_a, 1, mtu=mtu)

        # hostB: switchd with the VXLAN port in its configuration file.
        b1_ns = self.new_ns()
        b1_port = harness.tap_name()
        config = {"ports": [{"name": b1_port, "netns": b1_ns, "address": "%s.2/24" % NET, "mtu": mtu},
                            {"name": "vx42", "kind": "vxlan", "vni": VNI, "local": U2, "remotes": [U1],
                             "dstport": DSTPORT}]}
        config_path = os.path.join(self.tmp.name, "b.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        sock_b = self.start_switchd_in(host_b, ["--config", config_path])
        b1 = harness.Host(b1_ns, b1_port, "%s.2" % NET, b1_port)
        self.assertEqual(self.vxlan(sock_b, "vx42").get("remotes"), [U1])
        shown = [p for p in self.ctl_json("show-config", socket_path=sock_b)["ports"]
                 if isinstance(p, dict) and p.get("name") == "vx42"]
        self.assertEqual(len(shown), 1, shown)
        defaults = {"dstport": DSTPORT, "learn_remotes": False}  # show-config leaves defaults out
        for key, value in config["ports"][1].items():
            self.assertEqual(shown[0].get(key, defaults.get(key)), value, "show-config: %r" % shown[0])

        # hostC: the kernel, flooding to both switchd hosts.
        c1 = self.kernel_vtep(host_c, uc, U3, [U1, U2], 3, mtu=mtu)

        self.pings([(a1, b1), (b1, a1)])
        self.no_ping(a1, c1)
        self.assertGreater(self.counters(sock_a, "vx42")["unknown_source"], 0,
                           "hostC's packets to hostA should count as unknown_source")

        # Add hostC on both switches: reachable from both, and floods reach it.
        self.ctl_ok("add-remote", "vx42", U3, socket_path=sock_a)
        self.ctl_ok("add-remote", "vx42", U3, socket_path=sock_b)
        self.assertEqual(sorted(self.vxlan(sock_a, "vx42").get("remotes")), [U2, U3])
        self.assertEqual(sorted(self.vxlan(sock_b, "vx42").get("remotes")), [U1, U3])
        shown = [p for p in self.ctl_json("show-config", socket_path=sock_b)["ports"]
                 if isinstance(p, dict) and p.get("name") == "vx42"]
        self.assertEqual(sorted(shown[0].get("remotes", [])), [U1, U3], shown)
        self.pings([(a1, c1), (c1, a1), (b1, c1), (c1, b1)])
        entries = self.macs_on(sock_a, mac=c1.mac())
        self.assertEqual([(e.get("port"), e.get("remote")) for e in entries], [("vx42", U3)])
        entries = self.macs_on(sock_a, mac=b1.mac())
        self.assertEqual([(e.get("port"), e.get("remote")) for e in entries], [("vx42", U2)])
        # Head-end replication: each of A1's broadcasts goes once to each remote.
        at_b, at_c = self.flood_and_count(a1, U1, [(host_b, ub), (host_c, uc)])
        self.assertEqual((at_b, at_c), (20, 20), "A1's 20 broadcasts as received by hostB and hostC")
        # Split horizon: what came in from hostC's tunnel does not go back out to hostB through hostA (nor
        # through hostB to hostA): hostB and hostA each get C1's broadcasts once, from hostC only.
        from_a = self.flood_and_count(c1, U1, [(host_b, ub)])[0]
        from_b = self.flood_and_count(c1, U2, [(host_a, ua)])[0]
        self.assertEqual((from_a, from_b), (0, 0), "C1's broadcasts reflected by hostA to hostB / hostB to hostA")
        at_a, at_b = self.flood_and_count(c1, U3, [(host_a, ua), (host_b, ub)])
        self.assertEqual((at_a, at_b), (20, 20), "C1's 20 broadcasts as received by hostA and hostB")

        # Remove hostC again: unreachable, no floods to it, its MACs gone, its packets unknown_source again.
        self.ctl_ok("del-remote", "vx42", U3, socket_path=sock_a)
        self.ctl_ok("del-remote", "vx42", U3, socket_path=sock_b)
        self.assertEqual(self.vxlan(sock_a, "vx42").get("remotes"), [U2])
        self.assertEqual(self.vxlan(sock_b, "vx42").get("remotes"), [U1])
        self.assertEqual(self.macs_on(sock_a, remote=U3), [], "MAC entries behind a removed remote remain")
        self.assertEqual(self.macs_on(sock_b, remote=U3), [], "MAC entries behind a removed remote remain")
        at_b, at_c = self.flood_and_count(a1, U1, [(host_b, ub), (host_c, uc)])
        self.assertEqual(at_b, 20, "hostB got %d of A1's 20 broadcasts" % at_b)
        self.assertEqual(at_c, 0, "hostA still floods to the removed remote %s" % U3)
        self.no_ping(a1, c1)
        self.no_ping(b1, c1)
        before = self.counters(sock_a, "vx42")["unknown_source"]
        self.no_ping(c1, a1)
        self.assertGreater(self.counters(sock_a, "vx42")["unknown_source"], before)
        self.pings([(a1, b1), (b1, a1)])
        self.transfer(a1, b1)



class VxlanControlTest(VxlanTestCase):
    """Bad add-vxlan/add-remote/del-remote requests fail with one line and leave the switch as it was."""

    def test_errors_and_del_port(self):
        host_a, host_b = self.new_ns(), self.new_ns()
        self.underlay_pair(host_a, U1, host_b, U2)
        sock = self.start_switchd_in(host_a)
        a1 = self.local_host(sock, 1)

        def fails(*args):
            rc, out, err = self.ctl(*args, socket_path=sock)
            self.assertEqual(rc, 1, "switchctl %s: expected status 1, got %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, args)), rc, out, err))
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertTrue(err.startswith("switchctl: "), err)
            return err

        base = ["add-vxlan", "vx42", "--vni", VNI, "--local", U1, "--remote", U2]
        fails("add-vxlan", "vx42", "--vni", 1 << 24, "--local", U1, "--remote", U2)
        fails("add-vxlan", "vx42", "--vni", "4x2", "--local", U1, "--remote", U2)
        fails("add-vxlan", "vx42", "--vni", VNI, "--local", "198.19.0.300", "--remote", U2)
        fails("add-vxlan", "vx42", "--vni", VNI, "--local", U1, "--remote", "nonsense")
        fails(*(base + ["--dstport", 70000]))
        err = fails("add-vxlan", "vx42", "--vni", VNI, "--local", "198.19.0.77", "--remote", U2)
        self.assertIn("198.19.0.77", err)  # not an address of hostA: the bind fails, quoting the address
        fails("add-vxlan", a1.port, "--vni", VNI, "--local", U1, "--remote", U2)  # name taken
        self.assertEqual(sorted(p["name"] for p in self.ctl_json("show-ports", socket_path=sock)), [a1.port])

        self.ctl_ok(*base, socket_path=sock)
        fails(*base)  # twice
        fails("add-remote", "vx99", U3)
        fails("add-remote", a1.port, U3)  # not a VXLAN port
        fails("add-remote", "vx42", "198.19.0.256")
        fails("del-remote", "vx42", U3)  # not a remote
        self.assertEqual(self.vxlan(sock, "vx42").get("remotes"), [U2])

        # del-port closes the socket: the port can be added again at once.
        listening = lambda: harness.ns_exec(host_a, "ss", "-Hlun", "sport = :%d" % DSTPORT, timeout=5)[1].strip()
        self.assertIn(U1, listening())
        self.ctl_ok("del-port", "vx42", socket_path=sock)
        self.assertEqual(listening(), "")
        self.assertEqual(sorted(p["name"] for p in self.ctl_json("show-ports", socket_path=sock)), [a1.port])
        self.ctl_ok(*base, socket_path=sock)
        self.assertEqual(self.vxlan(sock, "vx42").get("remotes"), [U2])

    def test_addresses_that_cannot_work_are_refused(self):
        host_a, host_b = self.new_ns(), self.new_ns()
        self.underlay_pair(host_a, U1, host_b, U2)
        sock = self.start_switchd_in(host_a)
        refused = {
            "its own local address as a remote (a loop to itself)": ("--local", U1, "--remote", U1),
            "the broadcast address as a remote": ("--local", U1, "--remote", "255.255.255.255"),
            "a multicast address as the local address": ("--local", "224.0.0.1", "--remote", U2),
        }
        for what, args in refused.items():
            rc, out, err = self.ctl("add-vxlan", "vxq", "--vni", VNI, *args, socket_path=sock)
            self.assertEqual(rc, 1, "%s: expected status 1, got %d\nstdout: %s\nstderr: %s" % (what, rc, out, err))
            self.assertEqual(len(err.strip().splitlines()), 1, err)
        rc, out, err = self.ctl("add-vxlan", "vxq", "--vni", VNI, "--local", U1, "--remote", "0.0.0.0",
                                socket_path=sock)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("0.0.0.0", err, "the error should quote the bad remote")
        self.assertEqual(self.ctl_json("show-ports", socket_path=sock), [])
        self.ctl_ok("add-vxlan", "vxq", "--vni", VNI, "--local", U1, "--remote", U2, socket_path=sock)
        for bad in (U1, "255.255.255.255"):
            rc, out, err = self.ctl("add-remote", "vxq", bad, socket_path=sock)
            self.assertEqual(rc, 1, "add-remote %s: %s%s" % (bad, out, err))
        self.assertEqual(self.vxlan(sock, "vxq").get("remotes"), [U2])


if __name__ == "__main__":
    unittest.main()
