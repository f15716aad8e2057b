"""Aging: dynamic MAC entries (and ARP bindings) expire after set-aging; static entries never do."""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

STATIC_MAC = "02:00:00:00:00:42"


class AgingTest(harness.SwitchTestCase):
    def test_dynamic_entries_age_out_static_stays(self):
        h1, h2, h3 = self.hosts(3)
        self.assertEqual(self.stats()["aging"], 300, "default aging is not 300 s")
        self.ctl_ok("add-mac", STATIC_MAC, h3.port)
        self.ping_ok(h1, h2.ip, count=2)
        macs = self.macs()
        dynamic = {e["mac"] for e in macs if e["type"] == "dynamic"}
        self.assertIn(h1.mac(), dynamic, macs)
        self.assertIn(h2.mac(), dynamic, macs)
        static = [e for e in macs if e["mac"] == STATIC_MAC]
        self.assertEqual(len(static), 1, macs)
        self.assertEqual(static[0]["type"], "static")
        self.assertEqual(static[0]["port"], h3.port)
        self.assertEqual(static[0]["vlan"], 1)

        result = self.ctl_json("set-aging", "1")
        self.assertEqual(result, {"aging": 1})
        t0 = time.monotonic()
        self.assertEqual(self.stats()["aging"], 1)

        def no_dynamic():
            m = self.macs()
            return m if not [e for e in m if e["type"] == "dynamic"] else None

        left = harness.wait_until(no_dynamic, 4, interval=0.2)
        elapsed = time.monotonic() - t0
        self.assertTrue(left is not None, "dynamic entries still present %.1f s after set-aging 1: %r" % (elapsed, self.macs()))
        self.assertLessEqual(elapsed, 3.5, "dynamic entries took %.1f s to expire with aging 1 s" % elapsed)
        static = [e for e in left if e["mac"] == STATIC_MAC]
        self.assertEqual(len(static), 1, "static entry aged out: %r" % left)
        self.assertEqual(static[0]["port"], h3.port)
        self.assertGreaterEqual(self.stats()["macs"]["expired"], 2)

        # A few more seconds later the static entry is still there.
        time.sleep(1.5)
        self.assertIn(STATIC_MAC, [e["mac"] for e in self.macs()])

        # Traffic re-learns the MACs.
        self.ping_ok(h1, h2.ip, count=1)
        self.assertIn(h1.mac(), [e["mac"] for e in self.macs() if e["type"] == "dynamic"])

    def test_arp_bindings_age_out(self):
        h1, h2 = self.hosts(2)
        self.ctl_ok("add-arp", "198.18.0.99", "02:00:00:00:00:99")
        self.ping_ok(h1, h2.ip, count=2)
        ips = {e["ip"] for e in self.ctl_json("show-arp") if e["type"] == "dynamic"}
        self.assertIn(h1.ip, ips)
        self.ctl_ok("set-aging", "1")

        def no_dynamic():
            a = self.ctl_json("show-arp")
            return a if not [e for e in a if e["type"] == "dynamic"] else None

        left = harness.wait_until(no_dynamic, 4, interval=0.2)
        self.assertTrue(left is not None, "dynamic ARP bindings still present after set-aging 1: %r" % self.ctl_json("show-arp"))
        self.assertIn("198.18.0.99", [e["ip"] for e in left], "static ARP binding aged out: %r" % left)

    def test_set_aging_rejects_bad_values(self):
        self.start_daemon([harness.tap_name()])
        for bad in ("0", "-1", "abc", "1000001"):
            rc, out, err = self.ctl("set-aging", bad)
            self.assertIn(rc, (1, 2), "set-aging %s: rc %d, stdout %r" % (bad, rc, out))
            self.assertTrue(err.strip(), "set-aging %s failed without a message" % bad)
        self.assertEqual(self.stats()["aging"], 300)


if __name__ == "__main__":
    unittest.main()
