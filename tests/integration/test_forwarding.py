"""Forwarding: learning, known unicast to one port only, flooding, per-port counters."""

import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


class ForwardingTest(harness.SwitchTestCase):
    def test_all_pairs_ping_and_macs_learned_per_port(self):
        hosts = self.hosts(3)
        for a in hosts:
            for b in hosts:
                if a is not b:
                    self.ping_ok(a, b.ip, count=2)

        macs = self.macs()
        self.assertIsInstance(macs, list)
        by_mac = {}
        for e in macs:
            for field in ("mac", "port", "vlan", "type", "age"):
                self.assertIn(field, e, "show-macs entry without %r: %r" % (field, e))
            by_mac.setdefault(e["mac"], []).append(e)
        for h in hosts:
            mac = h.mac()
            self.assertIn(mac, by_mac, "MAC %s of %s (port %s) not in show-macs: %r" % (mac, h.ns, h.port, macs))
            entries = by_mac[mac]
            self.assertEqual(len(entries), 1, "MAC %s listed more than once: %r" % (mac, entries))
            e = entries[0]
            self.assertEqual(e["port"], h.port, e)
            self.assertEqual(e["vlan"], 1, e)
            self.assertEqual(e["type"], "dynamic", e)
            self.assertIsInstance(e["age"], int, e)
            self.assertGreaterEqual(e["age"], 0, e)

        # The text output names the same MACs and ports.
        out = self.ctl_ok("show-macs")
        for h in hosts:
            self.assertIn(h.mac(), out.lower())
            self.assertIn(h.port, out)

    def test_known_unicast_not_seen_by_third_port(self):
        h1, h2, h3 = self.hosts(3)
        # Learn both MACs (and let every host resolve the others).
        self.ping_ok(h1, h2.ip, count=2)
        self.ping_ok(h2, h1.ip, count=2)
        macs = {e["mac"]: e["port"] for e in self.macs()}
        self.assertEqual(macs.get(h1.mac()), h1.port, macs)
        self.assertEqual(macs.get(h2.mac()), h2.port, macs)

        before = h3.rx_packets()
        log_lines = len(self.daemon.log().splitlines())
        self.ping_ok(h1, h2.ip, count=50, interval=0.01)
        after = h3.rx_packets()
        logged = self.daemon.log().splitlines()[log_lines:]
        self.assertLess(len(logged), 10, "switchd --log-level debug logs per frame:\n%s" % "\n".join(logged[:20]))
        # 50 requests + 50 replies passed the switch; allow a couple of frames of unrelated noise.
        self.assertLessEqual(
            after - before, 3,
            "third port %s received %d frames while h1 and h2 exchanged 100 known-unicast frames"
            % (h3.port, after - before),
        )

        # Control: a broadcast from h1 (ARP for an address nobody has) does reach h3, so the counter works.
        before = h3.rx_packets()
        h1.arping("%s.77" % harness.SUBNET, count=2, deadline=1)
        after = h3.rx_packets()
        self.assertGreaterEqual(after - before, 1, "flooded ARP request did not reach the third port")

    def test_known_unicast_not_captured_by_third_namespace(self):
        h1, h2, h3 = self.hosts(3)
        self.ping_ok(h1, h2.ip, count=2)
        cap = harness.Capture(h3.ns, h3.ifname, "icmp")
        try:
            self.ping_ok(h1, h2.ip, count=20, interval=0.01)
            # Control: a broadcast ICMP echo from h1 is flooded, so the capture does see h1's frames.
            h1.exec("ping", "-n", "-b", "-c", "1", "-W", "1", "%s.255" % harness.SUBNET, timeout=10)
            time.sleep(0.2)
        finally:
            lines = cap.stop()
        leaked = [l for l in lines if re.search(re.escape(h2.ip) + r"\b", l)]
        self.assertEqual(leaked, [], "third namespace captured known-unicast ICMP between h1 and h2:\n%s" % "\n".join(leaked[:10]))
        self.assertTrue(
            [l for l in lines if "%s.255" % harness.SUBNET in l],
            "control failed: the third namespace did not capture h1's broadcast ping:\n%s" % "\n".join(lines),
        )

    def test_port_counters_increase(self):
        h1, h2 = self.hosts(2)
        before = self.ports()
        for h in (h1, h2):
            self.assertIn(h.port, before)
            for field in ("name", "index", "mac", "up", "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "drops"):
                self.assertIn(field, before[h.port], "show-ports entry without %r: %r" % (field, before[h.port]))
        self.assertNotEqual(before[h1.port]["index"], before[h2.port]["index"])
        self.assertEqual(before[h1.port]["mac"].lower(), h1.mac())
        self.ping_ok(h1, h2.ip, count=10, interval=0.02)
        after = self.ports()
        for h in (h1, h2):
            for field in ("rx_packets", "tx_packets"):
                self.assertGreaterEqual(
                    after[h.port][field] - before[h.port][field], 10,
                    "%s.%s: %d -> %d after 10 pings" % (h.port, field, before[h.port][field], after[h.port][field]),
                )
            for field in ("rx_bytes", "tx_bytes"):
                self.assertGreaterEqual(
                    after[h.port][field] - before[h.port][field], 10 * 98,
                    "%s.%s: %d -> %d after 10 pings" % (h.port, field, before[h.port][field], after[h.port][field]),
                )
        self.assertTrue(after[h1.port]["up"], after[h1.port])
        # The switch's rx on a port is the kernel's tx on that TAP (and the other way round).
        link = h1.link()["stats64"]
        self.assertLessEqual(abs(link["tx"]["packets"] - after[h1.port]["rx_packets"]), 5, (link, after[h1.port]))

    def test_frame_never_sent_back_to_ingress_port(self):
        h1, h2 = self.hosts(2)
        self.ping_ok(h1, h2.ip, count=2)
        before = h1.rx_packets()
        # Broadcast ARP requests from h1: they are flooded to h2 only, never back to h1.
        h1.arping("%s.78" % harness.SUBNET, count=5, deadline=2, extra=("-W", "0.1"))
        after = h1.rx_packets()
        self.assertLessEqual(after - before, 1, "ingress port %s received %d frames back" % (h1.port, after - before))


if __name__ == "__main__":
    unittest.main()
