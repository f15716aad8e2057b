"""Per-port controls (issue 6): learning, flood (unknown unicast), bcast-flood, mcast-flood, isolated and max-macs,
each set with `switchctl set-port`, shown by show-ports, saved by `switchctl save` and restored by
`switchd --config`, and proven on real TAPs in real namespaces (tcpdump in the receiving namespace)."""

import json
import os
import re
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import vlanraw  # noqa: E402
from vlanraw import BROADCAST, MULTICAST, local_mac, probe  # noqa: E402

CONTROLS = ("learning", "flood", "bcast_flood", "mcast_flood", "isolated")
DEFAULTS = {"learning": True, "flood": True, "bcast_flood": True, "mcast_flood": True, "isolated": False,
            "max_macs": 0, "mirror_destination": False}
UNKNOWN = "02:5e:00:00:00:99"  # a unicast MAC no one has


class PortControlsTest(vlanraw.FramesTestCase):
    def seen_by(self, sender, frames, receivers):
        """Sends each raw frame from `sender` (a harness.Host) while tcpdump runs on every host of `receivers`
        ({key: Host}); returns {key: {src MAC of a frame: [tcpdump lines with that source]}}."""
        caps = {k: vlanraw.Capture(h.ns, h.ifname, "") for k, h in receivers.items()}
        try:
            s = self.sniffer(sender)
            for f in frames:
                s.send(f)
        finally:
            lines = {k: c.stop() for k, c in caps.items()}
        out = {}
        for k, ls in lines.items():
            out[k] = {}
            for f in frames:
                src = vlanraw.mac_str(f[6:12])
                out[k][src] = [l for l in ls if l.split()[1:2] == [src]]
        return out

    # -- show-ports and set-port ---------------------------------------------------------------

    def test_controls_shown_set_together_and_checked(self):
        p = self.switch({"a": {}, "b": {}})
        a, b = p["a"].port, p["b"].port
        self.assert_json_port(a, **DEFAULTS)
        self.ctl_ok("set-port", a, "learning", "off", "flood", "off", "bcast-flood", "off", "mcast-flood", "off",
                    "isolated", "on", "max-macs", 7)
        self.assert_json_port(a, learning=False, flood=False, bcast_flood=False, mcast_flood=False, isolated=True,
                              max_macs=7)
        self.assert_json_port(b, **DEFAULTS)  # the other port untouched
        # One at a time, back on: each changes only itself.
        expect = {"learning": False, "flood": False, "bcast_flood": False, "mcast_flood": False, "isolated": True}
        for name, value in (("learning", "on"), ("flood", "on"), ("bcast-flood", "on"), ("mcast-flood", "on"),
                            ("isolated", "off")):
            port = self.ctl_json("set-port", a, name, value)
            key = name.replace("-", "_")
            expect[key] = value == "on"
            self.assertEqual(port.get(key), expect[key], port)
            self.assert_json_port(a, **expect)
        self.ctl_ok("set-port", a, "max-macs", 0)
        self.assert_json_port(a, **DEFAULTS)
        # The VLAN settings combine with the controls.
        self.ctl_ok("set-port", b, "access", 30, "learning", "off")
        self.assert_json_port(b, vlan_mode="access", vlan=30, learning=False)

        before = self.ports()
        for args in (("learning", "maybe"), ("flood", "1"), ("isolated",), ("bcast-flood", ""), ("max-macs", "-1"),
                     ("max-macs", "many"), ("mcast-flood", "on", "learning", "nope"), ("colour", "red")):
            rc, out, err = self.ctl("set-port", a, *args)
            self.assertIn(rc, (1, 2), "set-port %s %s: rc %d, %r %r" % (a, args, rc, out, err))
            self.assertEqual(len(err.strip().splitlines()), 1, "not a one-line error: %r" % err)
            self.assertNotIn("Traceback", err)
        rc, _, err = self.ctl("set-port", "nosuchport", "learning", "off")
        self.assertEqual(rc, 1, err)
        after = self.ports()
        for k in CONTROLS + ("max_macs",):
            self.assertEqual(after[a][k], before[a][k], "a refused set-port changed %s" % k)

    def test_controls_saved_and_restored(self):
        taps = [harness.tap_name() for _ in range(3)]
        self.start_daemon(taps)
        self.ctl_ok("set-port", taps[0], "learning", "off", "flood", "off")
        self.ctl_ok("set-port", taps[1], "bcast-flood", "off", "mcast-flood", "off", "isolated", "on", "max-macs", 7)
        set0 = {"learning": False, "flood": False}
        set1 = {"bcast_flood": False, "mcast_flood": False, "isolated": True, "max_macs": 7}
        path = os.path.join(self.tmp.name, "saved.json")
        self.ctl_ok("save", path)
        with open(path) as f:
            text = f.read()
        entries = {}
        for entry in json.loads(text)["ports"]:
            entries[entry if isinstance(entry, str) else entry["name"]] = entry
        self.assertEqual(set(entries), set(taps), text)
        for port, settings in ((taps[0], set0), (taps[1], set1)):
            self.assertIsInstance(entries[port], dict, "%s's settings were not saved:\n%s" % (port, text))
            for k, v in settings.items():
                self.assertEqual(entries[port].get(k), v, "%s: %s not saved as %r:\n%s" % (port, k, v, text))
        # Defaults are left out.
        if isinstance(entries[taps[2]], dict):
            for k in CONTROLS:
                self.assertNotIn(k, entries[taps[2]], text)

        self.assertEqual(self.daemon.stop(), 0)
        self.start_daemon(extra_args=["--config", path])
        self.assert_json_port(taps[0], **dict(DEFAULTS, **set0))
        self.assert_json_port(taps[1], **dict(DEFAULTS, **set1))
        self.assert_json_port(taps[2], **DEFAULTS)

    # -- behaviour -----------------------------------------------------------------------------

    def test_learning_off(self):
        h1, h2, h3 = self.hosts(3)
        self.ctl_ok("set-port", h1.port, "learning", "off")
        # What the TAP sent before its move (IPv6 noise in the root namespace) may have been learned already.
        self.ctl_ok("flush-macs", h1.port)
        cap = vlanraw.Capture(h3.ns, h3.ifname, "icmp")
        try:
            stats0 = self.frame_stats()
            self.ping_ok(h1, h2.ip, count=5, interval=0.05)
            self.ping_ok(h2, h1.ip, count=2, interval=0.05)
            stats1 = self.frame_stats()
        finally:
            lines = cap.stop()
        macs = {e["mac"]: e for e in self.macs()}
        self.assertNotIn(h1.mac(), macs, "learned on a port with learning off: %r" % macs.get(h1.mac()))
        self.assertEqual(macs.get(h2.mac(), {}).get("port"), h2.port, macs)
        self.assertEqual(self.ports()[h1.port]["macs"], 0)
        # Frames to h1 are unknown unicast: flooded, so h3 sees h2's replies to h1.
        replies = [l for l in lines if re.search(re.escape(h2.ip) + " > " + re.escape(h1.ip) + ": ICMP echo reply", l)]
        self.assertGreaterEqual(len(replies), 5, "\n".join(lines))
        self.assertGreaterEqual(stats1["unknown_unicast"] - stats0["unknown_unicast"], 5, (stats0, stats1))
        # Learning back on: h1 is learned and its unicast no longer floods.
        self.ctl_ok("set-port", h1.port, "learning", "on")
        self.ping_ok(h1, h2.ip, count=2, interval=0.05)
        self.assertEqual({e["mac"]: e["port"] for e in self.macs()}.get(h1.mac()), h1.port)

    def test_flood_off_stops_unknown_unicast_only(self):
        h1, h2, h3 = self.hosts(3)
        self.ctl_ok("set-port", h3.port, "flood", "off")
        uu, bc, mc = local_mac(1), local_mac(2), local_mac(3)
        seen = self.seen_by(h1, [probe(uu, dst=UNKNOWN, note="uu"), probe(bc, dst=BROADCAST, note="bc"),
                                 probe(mc, dst=MULTICAST, note="mc")], {"h2": h2, "h3": h3})
        self.assertEqual(len(seen["h2"][uu]), 1, seen)
        self.assertEqual(seen["h3"][uu], [], "unknown unicast reached a port with flood off: %r" % seen["h3"])
        self.assertEqual(len(seen["h3"][bc]), 1, seen)
        self.assertEqual(len(seen["h3"][mc]), 1, seen)
        # Known unicast still gets there.
        self.ping_ok(h1, h3.ip)

    def test_bcast_flood_off(self):
        h1, h2, h3 = self.hosts(3)
        self.ctl_ok("set-port", h3.port, "bcast-flood", "off")
        uu, bc, mc = local_mac(1), local_mac(2), local_mac(3)
        seen = self.seen_by(h1, [probe(uu, dst=UNKNOWN, note="uu"), probe(bc, dst=BROADCAST, note="bc"),
                                 probe(mc, dst=MULTICAST, note="mc")], {"h2": h2, "h3": h3})
        self.assertEqual(len(seen["h2"][bc]), 1, seen)
        self.assertEqual(seen["h3"][bc], [], "broadcast reached a port with bcast-flood off: %r" % seen["h3"])
        self.assertEqual(len(seen["h3"][uu]), 1, seen)
        self.assertEqual(len(seen["h3"][mc]), 1, seen)
        # h3 no longer hears ARP requests, so h1 cannot resolve it ...
        ok, out = h1.ping(h3.ip, count=1, wait=1)
        self.assertFalse(ok, out)
        # ... but h3 still reaches h1 (its own broadcasts go out; the reply is unicast).
        self.ping_ok(h3, h1.ip)

    def test_mcast_flood_off(self):
        h1, h2, h3 = self.hosts(3)
        self.ctl_ok("set-port", h3.port, "mcast-flood", "off")
        uu, bc, mc = local_mac(1), local_mac(2), local_mac(3)
        seen = self.seen_by(h1, [probe(uu, dst=UNKNOWN, note="uu"), probe(bc, dst=BROADCAST, note="bc"),
                                 probe(mc, dst=MULTICAST, note="mc")], {"h2": h2, "h3": h3})
        self.assertEqual(len(seen["h2"][mc]), 1, seen)
        self.assertEqual(seen["h3"][mc], [], "multicast reached a port with mcast-flood off: %r" % seen["h3"])
        self.assertEqual(len(seen["h3"][bc]), 1, seen)  # broadcast is not multicast here
        self.assertEqual(len(seen["h3"][uu]), 1, seen)
        self.ping_ok(h1, h3.ip)

    def test_isolated_ports(self):
        h1, h2, h3 = self.hosts(3)
        self.ctl_ok("set-port", h1.port, "isolated", "on")
        self.ctl_ok("set-port", h2.port, "isolated", "on")
        self.assert_json_port(h1.port, isolated=True)
        self.assert_json_port(h3.port, isolated=False)
        self.ping_ok(h1, h3.ip)
        self.ping_ok(h2, h3.ip)
        self.ping_ok(h3, h1.ip)
        self.ping_ok(h3, h2.ip)
        for src, dst in ((h1, h2), (h2, h1)):
            ok, out = src.ping(dst.ip, count=2, wait=1)
            self.assertFalse(ok, "isolated %s reached isolated %s:\n%s" % (src.port, dst.port, out))
        # Known unicast between isolated ports is dropped and counted; a broadcast skips h2 but reaches h3.
        self.assertEqual({e["mac"]: e["port"] for e in self.macs()}.get(h2.mac()), h2.port)
        s0 = self.frame_stats()
        uc, bc = local_mac(1), local_mac(2)
        seen = self.seen_by(h1, [probe(uc, dst=h2.mac(), note="uc"), probe(bc, note="bc")], {"h2": h2, "h3": h3})
        s1 = self.frame_stats()
        self.assertEqual(seen["h2"][uc], [], seen)
        self.assertEqual(seen["h2"][bc], [], seen)
        self.assertEqual(len(seen["h3"][bc]), 1, seen)
        self.assertGreaterEqual(s1["isolated_dropped"] - s0["isolated_dropped"], 1, (s0, s1))
        # Isolation off again: they talk (once their stacks give up the resolutions that failed: the switch now
        # answers their ARP requests itself, so neither hears the other's).
        self.ctl_ok("set-port", h2.port, "isolated", "off")
        h1.flush_neigh()
        h2.flush_neigh()
        self.ping_ok(h1, h2.ip)
        self.ping_ok(h2, h1.ip)

    def test_max_macs(self):
        h = self.switch({"h1": {}, "h2": {}})  # no addresses: the only sources on h1 are the probes ...
        h1, h2 = h["h1"], h["h2"]
        self.ctl_ok("flush-macs", h1.port)  # ... once what the TAP said before its move is forgotten
        self.ctl_ok("set-port", h1.port, "max-macs", 2)
        self.assert_json_port(h1.port, max_macs=2)
        sources = [local_mac(10 + i) for i in range(6)]
        p0 = self.ports()[h1.port]
        seen = self.seen_by(h1, [probe(m, note="limit") for m in sources], {"h2": h2})
        # Every frame is forwarded, only two sources are learned.
        for m in sources:
            self.assertEqual(len(seen["h2"][m]), 1, "frame from %s not forwarded: %r" % (m, seen))
        learned = [e for e in self.macs() if e["port"] == h1.port]
        self.assertLessEqual(len(learned), 2, learned)
        self.assertEqual({e["mac"] for e in learned}, set(sources[:2]), learned)
        p1 = self.ports()[h1.port]
        self.assertLessEqual(p1["macs"], 2, p1)
        self.assertGreaterEqual(p1["unlearned"] - p0["unlearned"], 4, (p0, p1))


if __name__ == "__main__":
    unittest.main()
