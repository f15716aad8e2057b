"""VLANs (issue 6) end to end: access and trunk ports on real TAPs in real namespaces.

Every access host lives in 198.18.0.0/24, whatever its VLAN: only the switch's VLANs keep VLAN 10 and VLAN 20
apart, so a switch that leaked between them would let the pings that must fail succeed.

Hosts behind a trunk port are Linux VLAN sub-interfaces where the kernel has 802.1Q, and software hosts on raw
packet sockets where it does not (vlanraw.vlan_method() probes once; SWITCHD_VLAN_METHOD=raw|kernel forces one).
Checks on the tags themselves always read the frames as they were on the wire (vlanraw.Sniffer), and tcpdump
confirms what the raw sockets see.
"""

import json
import os
import re
import struct
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import vlanraw  # noqa: E402
from vlanraw import TPID_8021AD, TPID_8021Q, local_mac, probe, q, tci  # noqa: E402

NET = harness.SUBNET
A10, B10, A20 = NET + ".1", NET + ".2", NET + ".3"  # access hosts: VLAN 10, VLAN 10, VLAN 20
E10, E20 = NET + ".101", NET + ".102"  # hosts behind the trunk in VLAN 10 and VLAN 20
R10, R20 = NET + ".111", NET + ".112"  # raw probes behind the trunk


def ip_re(addr):
    """A regex for `addr` that does not also match a longer address (198.18.0.1 vs 198.18.0.101)."""
    return re.escape(addr) + r"(?![0-9])"


class VlanToolingTest(harness.SwitchTestCase):
    """The raw-frame tooling itself, over a veth pair (no switch): what the switch tests rely on must be right."""

    def test_raw_hosts_and_sniffer_over_veth(self):
        a, b = harness.ns_name(), harness.ns_name()
        harness.setup_namespace(a)
        harness.setup_namespace(b)
        harness.ip("-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b)
        harness.ip("-n", a, "link", "set", "dev", "va", "up")
        harness.ip("-n", b, "link", "set", "dev", "vb", "up")
        x = vlanraw.RawVlanHost(a, "va", 10, A10, local_mac(1))
        self.addCleanup(x.close)
        y = vlanraw.RawVlanHost(b, "vb", 10, B10, local_mac(2))
        self.addCleanup(y.close)
        z = vlanraw.RawVlanHost(b, "vb", 20, A20, local_mac(3))
        self.addCleanup(z.close)
        sniff = vlanraw.Sniffer(b, "vb")
        self.addCleanup(sniff.close)
        cap = vlanraw.Capture(b, "vb", "")
        try:
            ok, replies, text = x.ping_frames(B10, count=2)
            self.assertTrue(ok, text)
            for f in replies:
                self.assertEqual(f.tags, [(TPID_8021Q, 10)], text)
            # A host answers in its own VLAN only: the tooling would see a leak.
            ok, text = x.ping(A20, count=1)
            self.assertFalse(ok, text)
            # Frames come back exactly as sent, double tags and priorities included.
            qinq = probe(local_mac(9), tags=[(TPID_8021AD, tci(100, 3)), (TPID_8021Q, tci(10, 5))], note="qinq")
            x.send(qinq)
            got = sniff.wait_for(lambda f: f.src == local_mac(9))
            self.assertIsNotNone(got, "the 802.1ad frame did not arrive")
            self.assertEqual(got.raw, qinq, got)
        finally:
            lines = cap.stop()
        text = "\n".join(lines)
        self.assertRegex(text, r"vlan 10, p 0, ethertype ARP.*Request who-has " + ip_re(B10), text)
        self.assertRegex(text, r"vlan 10, p 0, ethertype IPv4.*" + ip_re(B10) + " > " + ip_re(A10)
                         + ": ICMP echo reply", text)
        self.assertRegex(text, r"802\.1Q-QinQ \(0x88a8\).*vlan 100, p 3, ethertype 802\.1Q.*vlan 10, p 5", text)


class VlanTest(vlanraw.FramesTestCase):
    def standard(self, **trunk):
        """a10 and b10 in VLAN 10, a20 in VLAN 20 (all three in one IP subnet), t a trunk for 10 and 20."""
        t = {"trunk": "10,20"}
        t.update(trunk)
        return self.switch({"a10": {"vlan": 10, "ip": A10}, "b10": {"vlan": 10, "ip": B10},
                            "a20": {"vlan": 20, "ip": A20}, "t": t})

    def mac_entries(self, mac):
        return sorted(((e["vlan"], e["port"]) for e in self.macs() if e["mac"] == mac))

    # -- configuration -------------------------------------------------------------------------

    def test_set_port_vlan_modes_in_show_ports(self):
        p = self.switch({"a": {}, "b": {}, "c": {}})
        a, b, c = p["a"].port, p["b"].port, p["c"].port
        self.assert_json_port(a, vlan_mode="access", vlan=1, trunk=None, native=None)  # the default
        self.ctl_ok("set-port", a, "access", 10)
        self.ctl_ok("set-port", b, "trunk", "30-40,10,20", "native", 5)
        self.ctl_ok("set-port", c, "trunk", "4094")
        self.assert_json_port(a, vlan_mode="access", vlan=10, trunk=None, native=None)
        self.assert_json_port(b, vlan_mode="trunk", vlan=None, trunk="10,20,30-40", native=5)
        self.assert_json_port(c, vlan_mode="trunk", vlan=None, trunk="4094", native=None)
        rc, out, err = self.ctl("show-ports")  # the text form is not pinned down beyond working
        self.assertEqual(rc, 0, err)
        self.assertIn(b, out)
        # Back to an access port: the trunk settings are gone.
        self.ctl_ok("set-port", b, "access", 20)
        self.assert_json_port(b, vlan_mode="access", vlan=20, trunk=None, native=None)

        before = self.ports()
        for args in (("access", 0), ("access", 4095), ("access", "ten"), ("trunk", "9-3"), ("trunk", "10,,20"),
                     ("trunk", "0"), ("trunk", "10", "native", 4095), ("trunk", "10", "native")):
            rc, out, err = self.ctl("set-port", a, *args)
            self.assertIn(rc, (1, 2), "set-port %s %s: rc %d, %r %r" % (a, args, rc, out, err))
            self.assertEqual(len(err.strip().splitlines()), 1, "not a one-line error: %r" % err)
            self.assertNotIn("Traceback", err)
        rc, _, err = self.ctl("set-port", "nosuchport", "access", 10)
        self.assertEqual(rc, 1, err)
        after = self.ports()
        for port in (a, b, c):
            for k in ("vlan_mode", "vlan", "trunk", "native"):
                self.assertEqual(after[port][k], before[port][k], "a refused set-port changed %s.%s" % (port, k))

    def test_vlan_settings_saved_and_restored(self):
        taps = [harness.tap_name() for _ in range(3)]
        self.start_daemon(taps)
        self.ctl_ok("set-port", taps[0], "access", 10)
        self.ctl_ok("set-port", taps[1], "trunk", "10,20,30-40", "native", 5)
        want = {p: {k: self.ports()[p][k] for k in ("vlan_mode", "vlan", "trunk", "native")} for p in taps}
        path = os.path.join(self.tmp.name, "saved.json")
        self.ctl_ok("save", path)
        with open(path) as f:
            text = f.read()
        saved = json.loads(text)
        entries = {}
        for entry in saved["ports"]:
            entries[entry if isinstance(entry, str) else entry["name"]] = entry
        self.assertEqual(set(entries), set(taps), text)
        for port in taps[:2]:
            self.assertIsInstance(entries[port], dict, "the VLAN setting of %s was not saved:\n%s" % (port, text))
        self.assertEqual(entries[taps[0]].get("access"), 10, text)
        self.assertEqual((entries[taps[1]].get("trunk"), entries[taps[1]].get("native")), ("10,20,30-40", 5), text)
        for port in (taps[0],):
            self.assertNotIn("trunk", entries[port], text)
            self.assertNotIn("native", entries[port], text)
        self.assertNotIn("access", entries[taps[1]], text)
        if isinstance(entries[taps[2]], dict):  # the default is left out
            for key in ("access", "trunk", "native"):
                self.assertNotIn(key, entries[taps[2]], text)

        self.assertEqual(self.daemon.stop(), 0)
        self.start_daemon(extra_args=["--config", path])
        for port in taps:
            self.assert_json_port(port, **want[port])

    # -- access ports --------------------------------------------------------------------------

    def test_access_ports_same_vlan_talk_other_vlan_isolated(self):
        h = self.standard()
        self.assert_json_port(h["a10"].port, vlan_mode="access", vlan=10, trunk=None, native=None)
        self.assert_json_port(h["a20"].port, vlan_mode="access", vlan=20, trunk=None, native=None)
        self.ping_ok(h["a10"], B10)
        self.ping_ok(h["b10"], A10)
        # Same subnet, other VLAN: nothing gets through.
        for src, dst in ((h["a10"], A20), (h["a20"], A10), (h["a20"], B10)):
            ok, out = src.ping(dst, count=2, wait=1)
            self.assertFalse(ok, "ping %s -> %s crossed from one VLAN to the other:\n%s" % (src.ip, dst, out))
        self.assertEqual(self.mac_entries(h["a10"].mac()), [(10, h["a10"].port)])
        self.assertEqual(self.mac_entries(h["b10"].mac()), [(10, h["b10"].port)])
        self.assertEqual(self.mac_entries(h["a20"].mac()), [(20, h["a20"].port)])
        # The text output has a VLAN column, with 10 on a10's row.
        out = self.ctl_ok("show-macs")
        lines = out.splitlines()
        self.assertIn("VLAN", lines[0].split(), out)
        col = lines[0].split().index("VLAN")
        rows = [l.split() for l in lines[1:] if h["a10"].mac() in l.lower()]
        self.assertEqual(len(rows), 1, out)
        self.assertEqual(rows[0][col], "10", out)
        arp = {(e["ip"], e["vlan"]): e for e in self.ctl_json("show-arp")}
        self.assertEqual(arp.get((A10, 10), {}).get("mac"), h["a10"].mac(), arp)
        self.assertNotIn((A10, 20), arp)

    def test_tagged_frames_on_access_port_dropped(self):
        h = self.standard()
        sn = self.sniffers(h)
        s0 = self.frame_stats()
        p0 = self.ports()[h["a10"].port]
        others = {k: sn[k] for k in ("b10", "a20", "t")}
        for i, vid in enumerate((10, 20, 1)):  # its own VLAN, another one, the default one
            got = self.deliver(sn["a10"], probe(local_mac(40 + i), tags=q(vid), note="tagged-on-access"), others)
            self.assertEqual(got, {"b10": [], "a20": [], "t": []}, "a frame tagged %d on an access port went on" % vid)
        s1 = self.frame_stats()
        self.assertGreaterEqual(s1["vlan_dropped"] - s0["vlan_dropped"], 3, (s0, s1))
        self.assertGreaterEqual(self.ports()[h["a10"].port]["rx_dropped"] - p0["rx_dropped"], 3)
        # Control: the same frame untagged goes to the VLAN, tagged on the trunk.
        got = self.deliver(sn["a10"], probe(local_mac(43), note="untagged-on-access"), others)
        self.assertEqual([f.tags for f in got["b10"]], [[]], got)
        self.assertEqual([f.tags for f in got["t"]], [[(TPID_8021Q, 10)]], got)
        self.assertEqual(got["a20"], [], got)

    def test_broadcast_stays_in_its_vlan(self):
        h = self.standard()
        sn = self.sniffers({k: h[k] for k in ("a10", "b10", "a20", "t")})
        caps = {k: vlanraw.Capture(h[k].ns, h[k].ifname, "") for k in ("a10", "b10", "a20", "t")}
        try:
            h["a10"].arping(NET + ".77", count=2, deadline=1)
            e20 = self.raw_host(h["t"], 20, E20, 2)
            e20.arp(NET + ".78", timeout=0.5)
            e20.arp(NET + ".78", timeout=0.5)
        finally:
            lines = {k: c.stop() for k, c in caps.items()}
        who77 = {k: [l for l in v if re.search("who-has " + ip_re(NET + ".77"), l)] for k, v in lines.items()}
        who78 = {k: [l for l in v if re.search("who-has " + ip_re(NET + ".78"), l)] for k, v in lines.items()}
        dump = "\n".join("%s:\n  %s" % (k, "\n  ".join(v)) for k, v in lines.items())
        # VLAN 10's broadcast: on b10 (untagged) and on the trunk tagged 10; never on a20.
        self.assertTrue(who77["b10"], dump)
        self.assertEqual(who77["a20"], [], dump)
        self.assertTrue(who77["t"], dump)
        for line in who77["t"]:
            self.assertIn("vlan 10,", line, dump)
        for line in who77["b10"]:
            self.assertNotIn("802.1Q", line, dump)
        # VLAN 20's broadcast from the trunk: on a20 untagged; never on a10 or b10.
        self.assertTrue(who78["a20"], dump)
        for line in who78["a20"]:
            self.assertNotIn("802.1Q", line, dump)
        self.assertEqual(who78["a10"], [], dump)
        self.assertEqual(who78["b10"], [], dump)
        # The raw sockets agree with tcpdump.
        on_t = [f for f in sn["t"].collect(0.2) if f.arp and f.arp["target_ip"] == NET + ".77"]
        self.assertTrue(on_t)
        self.assertEqual({tuple(f.tags) for f in on_t}, {((TPID_8021Q, 10),)}, on_t)
        on_a20 = [f for f in sn["a20"].collect(0.2) if f.arp and f.arp["target_ip"] == NET + ".78"]
        self.assertTrue(on_a20)
        self.assertEqual({tuple(f.tags) for f in on_a20}, {()}, on_a20)

    # -- trunk ports ---------------------------------------------------------------------------

    def test_hosts_behind_trunk_talk_to_their_vlan_only(self):
        h = self.standard()
        e10 = self.vlan_host(h["t"], 10, E10, 1)
        e20 = self.vlan_host(h["t"], 20, E20, 2)
        cap = vlanraw.Capture(h["t"].ns, h["t"].ifname, "")
        try:
            for host, dst in ((e10, A10), (e10, B10), (e20, A20)):
                ok, out = host.ping(dst, count=2)
                self.assertTrue(ok, out)
            self.ping_ok(h["a10"], E10)
            self.ping_ok(h["b10"], E10)
            self.ping_ok(h["a20"], E20)
            for src, dst in ((e10, A20), (e20, A10), (h["a20"], E10), (h["a10"], E20)):
                ok, out = src.ping(dst, count=1, wait=1)
                self.assertFalse(ok, "%r reached %s across VLANs:\n%s" % (src, dst, out))
        finally:
            lines = cap.stop()
        dump = "\n".join(lines)
        # On the trunk, VLAN 10's hosts' frames are tagged 10 and VLAN 20's tagged 20; nothing untagged.
        checked = 0
        for line in lines:
            if not re.search(r"ARP|ICMP", line):
                continue
            self.assertIn("ethertype 802.1Q (0x8100)", line, dump)
            vlan10 = any(re.search(ip_re(a), line) for a in (A10, B10, E10))
            vlan20 = any(re.search(ip_re(a), line) for a in (A20, E20))
            if vlan10 and not vlan20:
                self.assertIn("vlan 10,", line, dump)
                checked += 1
            elif vlan20 and not vlan10:
                self.assertIn("vlan 20,", line, dump)
                checked += 1
        self.assertGreaterEqual(checked, 20, dump)
        self.assertEqual(self.mac_entries(e10.mac), [(10, h["t"].port)])
        self.assertEqual(self.mac_entries(e20.mac), [(20, h["t"].port)])
        self.assertEqual(self.mac_entries(h["a10"].mac()), [(10, h["a10"].port)])

        # A raw, tagged echo request in VLAN 10 gets a reply tagged 10 (the ARP reply too).
        r10 = self.raw_host(h["t"], 10, R10, 11)
        ok, replies, text = r10.ping_frames(A10, count=3)
        self.assertTrue(ok, text)
        for f in replies:
            self.assertEqual(f.tags, [(TPID_8021Q, 10)], text)
            self.assertEqual(f.src, h["a10"].mac(), text)

    def test_same_mac_in_two_vlans(self):
        h = self.standard()
        mac = h["a10"].mac()
        harness.ip("-n", h["a20"].ns, "link", "set", "dev", h["a20"].ifname, "address", mac)
        self.assertEqual(h["a20"].mac(), mac)
        e20 = self.vlan_host(h["t"], 20, E20, 2)
        for _ in range(2):
            self.ping_ok(h["a10"], B10, count=2)
            self.ping_ok(h["a20"], E20, count=2)
            ok, out = e20.ping(A20, count=2)
            self.assertTrue(ok, out)
        self.assertEqual(self.mac_entries(mac), [(10, h["a10"].port), (20, h["a20"].port)])
        for e in self.macs():
            if e["mac"] == mac:
                self.assertEqual(e.get("moves", 0), 0, e)
        # Both behind the trunk too: one MAC, two VLANs, one port.
        x10 = self.raw_host(h["t"], 10, R10, 50)
        x20 = self.raw_host(h["t"], 20, R20, 50)
        self.assertEqual(x10.mac, x20.mac)
        ok, text = x10.ping(A10, count=1)
        self.assertTrue(ok, text)
        ok, text = x20.ping(A20, count=1)
        self.assertTrue(ok, text)
        self.assertEqual(self.mac_entries(x10.mac), [(10, h["t"].port), (20, h["t"].port)])

    def test_arp_bindings_per_vlan_answered_within_it(self):
        h = self.standard()
        e20 = self.raw_host(h["t"], 20, E20, 2)
        self.ping_ok(h["a10"], B10, count=2)
        self.ping_ok(h["a20"], E20, count=2)
        arp = {(e["ip"], e["vlan"]): e for e in self.ctl_json("show-arp")}
        self.assertEqual(arp.get((A10, 10), {}).get("mac"), h["a10"].mac(), arp)
        self.assertEqual(arp.get((A20, 20), {}).get("mac"), h["a20"].mac(), arp)
        self.assertNotIn((A20, 10), arp)

        sn = self.sniffers({k: h[k] for k in ("a10", "a20")})
        r10 = self.raw_host(h["t"], 10, R10, 11)
        answered0 = self.stats()["arp"]["answered"]
        # The switch answers for A10 in VLAN 10 itself, out of the trunk, tagged 10.
        reply = r10.arp(A10)
        self.assertIsNotNone(reply, "no ARP reply for %s in VLAN 10 on the trunk" % A10)
        self.assertEqual(reply.tags, [(TPID_8021Q, 10)], reply)
        self.assertEqual(reply.arp["sender_mac"], h["a10"].mac(), reply)
        self.assertEqual(reply.dst, r10.mac, reply)
        self.assertGreaterEqual(self.stats()["arp"]["answered"] - answered0, 1)
        # The switch knows A20, but in VLAN 20: asked in VLAN 10, nobody answers and a20 never hears it.
        self.assertIsNone(r10.arp(A20, timeout=1.5), "an ARP request in VLAN 10 was answered for VLAN 20's %s" % A20)
        leaked = [f for f in sn["a20"].collect(0.2) if f.arp and f.arp["sender_mac"] == r10.mac]
        self.assertEqual(leaked, [])
        # Asked in VLAN 20, it is answered, tagged 20.
        reply = e20.arp(A20)
        self.assertIsNotNone(reply, "no ARP reply for %s in VLAN 20 on the trunk" % A20)
        self.assertEqual(reply.tags, [(TPID_8021Q, 20)], reply)
        self.assertEqual(reply.arp["sender_mac"], h["a20"].mac(), reply)

        # One IP in two VLANs: a host behind the trunk takes A10's address in VLAN 20.
        z20 = self.raw_host(h["t"], 20, A10, 21)
        z20.announce()
        self.assertTrue(harness.wait_until(
            lambda: any(e["ip"] == A10 and e["vlan"] == 20 for e in self.ctl_json("show-arp")), 3))
        arp = {(e["ip"], e["vlan"]): e for e in self.ctl_json("show-arp")}
        self.assertEqual(arp[(A10, 10)]["mac"], h["a10"].mac(), arp)
        self.assertEqual(arp[(A10, 20)]["mac"], z20.mac, arp)
        self.assertEqual(arp[(A10, 20)]["port"], h["t"].port, arp)
        sn["a10"].collect(0)
        rc, out, macs = h["a20"].arping(A10, count=2, deadline=2)
        self.assertTrue(macs, out)
        self.assertEqual(set(macs), {z20.mac}, out)
        asked = [f for f in sn["a10"].collect(0.2) if f.arp and f.arp["sender_mac"] == h["a20"].mac()]
        self.assertEqual(asked, [], "a20's ARP request reached a10 in the other VLAN")

    def test_trunk_drops_untagged_without_native_and_vlans_it_does_not_carry(self):
        h = self.standard()
        sn = self.sniffers(h)
        access = {k: sn[k] for k in ("a10", "b10", "a20")}
        s0 = self.frame_stats()
        p0 = self.ports()[h["t"].port]
        for i, tags in enumerate(([], q(30), q(4094), q(1))):
            got = self.deliver(sn["t"], probe(local_mac(60 + i), tags=tags, note="not-carried"), access)
            self.assertEqual(got, {"a10": [], "b10": [], "a20": []}, "trunk frame %r went on" % (tags,))
        s1 = self.frame_stats()
        self.assertGreaterEqual(s1["vlan_dropped"] - s0["vlan_dropped"], 4, (s0, s1))
        self.assertGreaterEqual(self.ports()[h["t"].port]["rx_dropped"] - p0["rx_dropped"], 4)
        # Control: tagged 10 reaches VLAN 10's ports untagged, tagged 20 VLAN 20's.
        got = self.deliver(sn["t"], probe(local_mac(70), tags=q(10), note="vlan10"), access)
        self.assertEqual({k: [f.tags for f in v] for k, v in got.items()}, {"a10": [[]], "b10": [[]], "a20": []})
        got = self.deliver(sn["t"], probe(local_mac(71), tags=q(20), note="vlan20"), access)
        self.assertEqual({k: [f.tags for f in v] for k, v in got.items()}, {"a10": [], "b10": [], "a20": [[]]})

    def test_trunk_native_vlan_is_untagged(self):
        h = self.switch({"a10": {"vlan": 10, "ip": A10}, "a20": {"vlan": 20, "ip": A20},
                         "t": {"trunk": "10", "native": 20}})
        self.assert_json_port(h["t"].port, vlan_mode="trunk", vlan=None, trunk="10", native=20)
        sn = self.sniffers(h)
        access = {k: sn[k] for k in ("a10", "a20")}
        got = self.deliver(sn["t"], probe(local_mac(80), note="untagged-native"), access)
        self.assertEqual({k: [f.tags for f in v] for k, v in got.items()}, {"a10": [], "a20": [[]]})
        # Out of the trunk: VLAN 20 (native) untagged, VLAN 10 tagged.
        got = self.deliver(sn["a20"], probe(local_mac(81), note="from-native"), {"t": sn["t"]})
        self.assertEqual([f.tags for f in got["t"]], [[]], got)
        got = self.deliver(sn["a10"], probe(local_mac(82), note="from-10"), {"t": sn["t"]})
        self.assertEqual([f.tags for f in got["t"]], [[(TPID_8021Q, 10)]], got)
        # An untagged host behind the trunk is in VLAN 20.
        u = self.raw_host(h["t"], None, E20, 3)
        ok, replies, text = u.ping_frames(A20, count=2)
        self.assertTrue(ok, text)
        for f in replies:
            self.assertEqual(f.tags, [], text)
        self.ping_ok(h["a20"], E20)
        ok, out = h["a10"].ping(E20, count=1)
        self.assertFalse(ok, out)
        self.assertEqual(self.mac_entries(u.mac), [(20, h["t"].port)])

    def test_priority_preserved_trunk_to_trunk(self):
        h = self.switch({"t1": {"trunk": "10,20"}, "t2": {"trunk": "10,20"}, "a10": {"vlan": 10}})
        sn = self.sniffers(h)
        for i, (vid, pcp) in enumerate(((10, 5), (20, 2), (10, 7))):
            f = probe(local_mac(90 + i), tags=q(vid, pcp), note="pcp")
            got = self.deliver(sn["t1"], f, {"t2": sn["t2"], "a10": sn["a10"]})
            self.assertEqual([g.raw for g in got["t2"]], [f], "VLAN %d priority %d: %r" % (vid, pcp, got["t2"]))
            if vid == 10:
                self.assertEqual([g.raw for g in got["a10"]], [f[:12] + f[16:]], got["a10"])  # tag popped
            else:
                self.assertEqual(got["a10"], [])
        # Known unicast keeps its priority too: a MAC learned behind t2 in VLAN 10.
        m2 = local_mac(99)
        self.deliver(sn["t2"], probe(m2, tags=q(10), note="learn"), {})
        self.assertTrue(harness.wait_until(lambda: (10, h["t2"].port) in self.mac_entries(m2), 2))
        f = probe(local_mac(98), dst=m2, tags=q(10, 6), note="unicast-pcp")
        got = self.deliver(sn["t1"], f, {"t2": sn["t2"], "a10": sn["a10"]})
        self.assertEqual([g.raw for g in got["t2"]], [f], got)
        self.assertEqual(got["a10"], [])
        # Untagged in, tagged out: the tag is pushed with priority 0 and nothing else changes.
        f = probe(local_mac(97), note="push")
        got = self.deliver(sn["a10"], f, {"t1": sn["t1"], "t2": sn["t2"]})
        pushed = f[:12] + struct.pack("!HH", TPID_8021Q, 10) + f[12:]
        self.assertEqual([g.raw for g in got["t1"]], [pushed], got)
        self.assertEqual([g.raw for g in got["t2"]], [pushed], got)

    def test_8021ad_dropped_on_access_carried_unchanged_between_trunks(self):
        # 802.1ad frames travel in a trunk's native VLAN (they carry no 802.1Q tag of their own).
        h = self.switch({"t1": {"trunk": "10,20", "native": 1}, "t2": {"trunk": "10,20", "native": 1},
                         "a10": {"vlan": 10}, "a1": {}})
        sn = self.sniffers(h)
        frames = [
            probe(local_mac(110), tags=[(TPID_8021AD, tci(100, 3)), (TPID_8021Q, tci(10, 5))], note="qinq"),
            probe(local_mac(111), tags=[(TPID_8021AD, tci(200))], note="s-tag-only"),
        ]
        for f in frames:
            got = self.deliver(sn["t1"], f, {"t2": sn["t2"], "a10": sn["a10"], "a1": sn["a1"]})
            self.assertEqual([g.raw for g in got["t2"]], [f], got)
            self.assertEqual(got["a10"], [], got)
            self.assertEqual(got["a1"], [], got)
        s0 = self.frame_stats()
        for i, tags in enumerate(([(TPID_8021AD, tci(100)), (TPID_8021Q, tci(10))], [(TPID_8021AD, tci(10))])):
            f = probe(local_mac(112 + i), tags=tags, note="qinq-on-access")
            got = self.deliver(sn["a10"], f, {"t1": sn["t1"], "t2": sn["t2"], "a1": sn["a1"]})
            self.assertEqual(got, {"t1": [], "t2": [], "a1": []}, "an 802.1ad frame on an access port went on")
        s1 = self.frame_stats()
        self.assertGreaterEqual(s1["vlan_dropped"] - s0["vlan_dropped"], 2, (s0, s1))


if __name__ == "__main__":
    unittest.main()
