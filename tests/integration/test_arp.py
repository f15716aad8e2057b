"""ARP: the switch learns IP-to-MAC bindings, answers requests itself, static bindings, show-arp."""

import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

STATIC_IP = "198.18.0.99"
STATIC_MAC = "02:00:00:00:00:99"


def who_has(lines, target, sender):
    """Captured ARP requests 'who-has TARGET tell SENDER'."""
    pat = re.compile(r"Request who-has %s (\([^)]*\) )?tell %s\b" % (re.escape(target), re.escape(sender)))
    return [l for l in lines if pat.search(l)]


class ArpTest(harness.SwitchTestCase):
    def learn(self, h1, h2):
        self.ping_ok(h1, h2.ip, count=2)
        self.ping_ok(h2, h1.ip, count=1)

    def arp_by_ip(self):
        return {e["ip"]: e for e in self.ctl_json("show-arp")}

    def test_show_arp_lists_learned_bindings_with_ports(self):
        h1, h2, h3 = self.hosts(3)
        self.learn(h1, h2)
        arp = self.arp_by_ip()
        for h in (h1, h2):
            self.assertIn(h.ip, arp, "binding for %s not learned: %r" % (h.ip, arp))
            e = arp[h.ip]
            for field in ("ip", "mac", "port", "type", "age"):
                self.assertIn(field, e, e)
            self.assertEqual(e["mac"].lower(), h.mac(), e)
            self.assertEqual(e["port"], h.port, e)
            self.assertEqual(e["type"], "dynamic", e)
        self.assertNotIn(h3.ip, arp, "h3 sent no ARP yet, but a binding exists: %r" % arp)
        out = self.ctl_ok("show-arp")
        self.assertIn(h1.ip, out)
        self.assertIn(h1.port, out)

    def test_request_answered_by_switch_not_flooded(self):
        h1, h2, h3 = self.hosts(3)
        self.learn(h1, h2)
        self.assertIn(h2.ip, self.arp_by_ip())
        answered_before = self.stats()["arp"]["answered"]

        cap = harness.Capture(h2.ns, h2.ifname, "arp")
        try:
            rc, out, replies = h3.arping(h2.ip, count=1, deadline=2)
            # Control: a request for an unknown IP is flooded, so the capture does see h3's requests.
            h3.arping("%s.77" % harness.SUBNET, count=1, deadline=1)
            time.sleep(0.2)
        finally:
            lines = cap.stop()

        self.assertEqual(rc, 0, "arping %s from %s got no reply:\n%s" % (h2.ip, h3.ns, out))
        self.assertIn(h2.mac(), replies, "ARP reply for %s does not carry h2's MAC: %s" % (h2.ip, out))
        self.assertTrue(
            who_has(lines, "%s.77" % harness.SUBNET, h3.ip),
            "control failed: h2 did not capture h3's flooded request for an unknown IP:\n%s" % "\n".join(lines),
        )
        leaked = who_has(lines, h2.ip, h3.ip)
        self.assertEqual(leaked, [], "the switch flooded a request it should have answered:\n%s" % "\n".join(leaked))
        answered_after = self.stats()["arp"]["answered"]
        self.assertGreater(answered_after, answered_before, "show-stats arp.answered did not increase")

    def test_kernel_resolution_through_switch_answer(self):
        h1, h2, h3 = self.hosts(3)
        self.learn(h1, h2)
        h3.flush_neigh()
        cap = harness.Capture(h2.ns, h2.ifname, "arp")
        try:
            self.ping_ok(h3, h2.ip, count=2)
        finally:
            lines = cap.stop()
        neigh = h3.neigh(h2.ip)
        self.assertTrue(neigh and neigh[0].get("lladdr", "").lower() == h2.mac(), "h3's neighbour for h2: %r" % neigh)
        leaked = who_has(lines, h2.ip, h3.ip)
        self.assertEqual(leaked, [], "h3's request for h2 reached h2:\n%s" % "\n".join(leaked))

    def test_static_binding_answered(self):
        h1, h2 = self.hosts(2)
        self.ctl_ok("add-arp", STATIC_IP, STATIC_MAC)
        arp = self.arp_by_ip()
        self.assertIn(STATIC_IP, arp, arp)
        self.assertEqual(arp[STATIC_IP]["mac"].lower(), STATIC_MAC)
        self.assertEqual(arp[STATIC_IP]["type"], "static")

        # The kernel in h1 resolves the static IP through the switch's answer.
        h1.flush_neigh()
        h1.ping(STATIC_IP, count=1, wait=1)  # nothing answers the ICMP; only the ARP matters
        neigh = harness.wait_until(lambda: [n for n in h1.neigh(STATIC_IP) if n.get("lladdr")], 2)
        self.assertTrue(neigh, "h1 has no neighbour entry for %s after pinging it" % STATIC_IP)
        self.assertEqual(neigh[0]["lladdr"].lower(), STATIC_MAC, neigh)

        rc, out, replies = h2.arping(STATIC_IP, count=1, deadline=2)
        self.assertEqual(rc, 0, "arping %s got no reply:\n%s" % (STATIC_IP, out))
        self.assertEqual(replies[:1], [STATIC_MAC], out)

        self.ctl_ok("del-arp", STATIC_IP)
        self.assertNotIn(STATIC_IP, self.arp_by_ip())
        rc, out, replies = h2.arping(STATIC_IP, count=1, deadline=1)
        self.assertNotEqual(rc, 0, "%s still answered after del-arp:\n%s" % (STATIC_IP, out))

    def test_gratuitous_arp_learned_and_flooded(self):
        h1, h2, h3 = self.hosts(3)
        self.learn(h1, h2)
        cap = harness.Capture(h1.ns, h1.ifname, "arp")
        try:
            # Unsolicited ARP: sender IP == target IP == h3's IP.
            h3.exec("arping", "-U", "-c", "1", "-w", "1", "-i", h3.ifname, h3.ip, timeout=10)
            time.sleep(0.2)
        finally:
            lines = cap.stop()
        garp = who_has(lines, h3.ip, h3.ip)
        self.assertTrue(garp, "h3's gratuitous ARP was not flooded to h1:\n%s" % "\n".join(lines))
        arp = self.arp_by_ip()
        self.assertIn(h3.ip, arp, "gratuitous ARP not learned: %r" % arp)
        self.assertEqual(arp[h3.ip]["mac"].lower(), h3.mac())
        self.assertEqual(arp[h3.ip]["port"], h3.port)


if __name__ == "__main__":
    unittest.main()
