"""Scale: one loop serves 256 ports; forwarding between two of them works and a broadcast reaches
every other port."""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

PORTS = 256


class ScaleTest(harness.SwitchTestCase):
    def test_256_ports(self):
        taps = [harness.tap_name() for _ in range(PORTS)]
        harness._root_links.extend(taps)
        started = time.monotonic()
        self.start_daemon(taps)
        ports = self.ctl_json("show-ports")
        self.assertEqual(len(ports), PORTS)
        self.assertEqual(sorted(p["index"] for p in ports), list(range(1, PORTS + 1)))
        sys.stderr.write("\n  %d ports up in %.2f s\n" % (PORTS, time.monotonic() - started))

        first = self.add_host(taps[0], 1)
        last = self.add_host(taps[-1], 2)
        self.ping_ok(first, last.ip)
        self.ping_ok(last, first.ip)

        def sent_everywhere():
            # Frames out of every port: the other 254 TAPs are down in the root namespace, so the
            # kernel refuses the write (EIO) and the frame counts as a tx drop there.
            return sum(p["tx_packets"] + p["tx_dropped"] for p in self.ctl_json("show-ports"))

        before_sent = sent_everywhere()
        before_flooded = self.stats()["frames"]["flooded"]
        first.arping("198.18.0.250", count=1, deadline=1)  # nobody has it: flooded
        flooded = self.stats()["frames"]["flooded"] - before_flooded
        self.assertGreaterEqual(flooded, 1)
        self.assertGreaterEqual(sent_everywhere() - before_sent, flooded * (PORTS - 1))

        # Known unicast still goes to one port only, whatever the number of ports.
        before = self.stats()["frames"]["unicast_forwarded"]
        self.ping_ok(first, last.ip, count=5, interval=0.05)
        self.assertGreaterEqual(self.stats()["frames"]["unicast_forwarded"] - before, 10)


if __name__ == "__main__":
    unittest.main()
