"""MAC flooding (issue 4): one namespace sends 100,000 frames with random source MACs; switchd's RSS grows
by less than 32 MiB, the MAC table stays within its bounds, the other ports' entries stay, and the other
namespaces keep pinging each other during and after the flood.

Twice: with the defaults (the table's global bound, 8192, with fair eviction: the flooding port recycles
only its own entries) and with a per-port limit (`set-port FLOODER max-macs 100`: the rest is not learned,
but still forwarded).

The flood is paced (20,000 frames/s, about 5 s) so that the flooder's TAP queue does not overflow on a
loaded machine and switchd really receives (almost) every frame; the figures go to stderr.
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import rawsend  # noqa: E402

FRAMES = 100000
RATE = 20000  # frames per second
RSS_GROWTH_LIMIT = 32 << 20
PORT_LIMIT = 100
MAX_PING_LOSS = 0.01


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


class FloodTest(harness.SwitchTestCase):
    def setup_hosts(self):
        """Four hosts: the flooder, two that ping each other throughout, and one that stays quiet during
        the flood (with a global LRU its entry would be the first to go)."""
        flooder, a, b, quiet = self.hosts(4)
        self.ping_ok(a, b.ip, count=2, interval=0.05)
        self.ping_ok(quiet, a.ip, count=2, interval=0.05)
        self.ping_ok(quiet, b.ip, count=2, interval=0.05)
        others = {h.mac(): h for h in (a, b, quiet)}
        macs = {e["mac"]: e for e in self.macs()}
        for mac, h in others.items():
            if mac not in macs:
                self.fail("%s's MAC %s not learned before the flood: %r" % (h.ns, mac, sorted(macs.values(), key=str)))
            self.assertEqual(macs[mac]["port"], h.port, macs[mac])
        return flooder, a, b, quiet

    def flood(self, flooder, a, b):
        """Floods from `flooder` while `a` pings `b` every 10 ms; returns a dict of figures."""
        pid = self.daemon.proc.pid
        ports0, stats0 = self.ports(), self.stats()
        rss0 = rss_bytes(pid)
        ping = rawsend.BackgroundPing(a.ns, b.ip, interval=0.01, max_seconds=40)
        time.sleep(0.2)  # ping is running before the first flood frame
        sent = rawsend.send(
            flooder.ns, flooder.ifname, FRAMES, rate=RATE, duration=30, src="random", dst="random",
        )
        transmitted, received, ping_out = ping.stop()
        rss1 = rss_bytes(pid)
        ports1, stats1 = self.ports(), self.stats()
        self.assertTrue(self.daemon.running(), "switchd died during the flood\n%s" % self.daemon.log_tail())
        fig = {
            "sent": sent["sent"],
            "send_seconds": sent["span"],
            "send_pps": sent["pps"],
            "switch_rx": ports1[flooder.port]["rx_packets"] - ports0[flooder.port]["rx_packets"],
            "rss_before": rss0,
            "rss_after": rss1,
            "ping_tx": transmitted,
            "ping_rx": received,
            "ports0": ports0,
            "ports1": ports1,
            "stats0": stats0,
            "stats1": stats1,
        }
        sys.stderr.write(
            "\n  flood: %d frames sent in %.2f s (%d/s), %d received by switchd; RSS %.1f -> %.1f MiB (+%d KiB); "
            "ping during flood: %d/%d received (%.2f%% loss)\n"
            % (fig["sent"], fig["send_seconds"], fig["send_pps"], fig["switch_rx"], rss0 / 1048576.0,
               rss1 / 1048576.0, (rss1 - rss0) // 1024, received, transmitted,
               100.0 * (transmitted - received) / max(1, transmitted))
        )
        # The flood really happened: (nearly) every frame reached the switch.
        self.assertEqual(sent["sent"], FRAMES, sent)
        self.assertGreaterEqual(
            fig["switch_rx"], int(FRAMES * 0.9),
            "switchd received only %d of the %d flood frames (%r)" % (fig["switch_rx"], FRAMES, sent),
        )
        # Memory stays bounded.
        self.assertLess(
            rss1 - rss0, RSS_GROWTH_LIMIT, "switchd's RSS grew from %d to %d bytes during the flood" % (rss0, rss1)
        )
        # The other hosts kept talking during the flood.
        self.assertGreaterEqual(transmitted, 100, "ping ran too briefly during the flood:\n%s" % ping_out)
        self.assertLessEqual(
            transmitted - received, int(transmitted * MAX_PING_LOSS),
            "ping %s -> %s lost %d of %d during the flood:\n%s" % (a.ns, b.ip, transmitted - received, transmitted,
                                                                   ping_out),
        )
        return fig

    def check_others_stay(self, others):
        macs = {e["mac"]: e for e in self.macs()}
        for h in others:
            mac = h.mac()
            if mac not in macs:
                on_port = [e for e in macs.values() if e["port"] == h.port]
                self.fail("%s's MAC %s (port %s) was pushed out of the table by the flood (%d entries, of which on "
                          "that port: %r)" % (h.ns, mac, h.port, len(macs), on_port))
            self.assertEqual(macs[mac]["port"], h.port, macs[mac])
            self.assertEqual(macs[mac]["type"], "dynamic", macs[mac])

    def check_after(self, flooder, a, b, quiet):
        # Everyone still reaches everyone, and the flooder is not cut off either.
        self.ping_ok(a, b.ip, count=5, interval=0.05)
        self.ping_ok(b, a.ip, count=2, interval=0.05)
        self.ping_ok(quiet, a.ip, count=2, interval=0.05)
        self.ping_ok(b, quiet.ip, count=2, interval=0.05)
        self.ping_ok(flooder, quiet.ip, count=2, interval=0.05)

    def test_flood_with_default_bound_and_fair_eviction(self):
        flooder, a, b, quiet = self.setup_hosts()
        fig = self.flood(flooder, a, b)
        self.check_others_stay((a, b, quiet))  # before any other traffic refreshes them

        s0, s1 = fig["stats0"]["macs"], fig["stats1"]["macs"]
        self.assertEqual(s1["max"], 8192, s1)
        self.assertLessEqual(s1["current"], s1["max"], s1)
        self.assertGreater(s1["evicted"] - s0["evicted"], 0, "the table never filled: %r" % s1)
        # The flooder's port filled the table with its own entries ...
        p1 = fig["ports1"][flooder.port]
        self.assertLessEqual(p1["macs"], s1["max"], p1)
        self.assertGreaterEqual(p1["macs"], s1["max"] - 16, "the flooder holds only %d entries" % p1["macs"])
        # ... and every eviction was one of them: learned minus evicted is what the table gained.
        self.assertEqual(
            s1["current"] - s0["current"], (s1["learned"] - s0["learned"]) - (s1["evicted"] - s0["evicted"]), (s0, s1)
        )
        for h in (a, b, quiet):
            self.assertEqual(fig["ports1"][h.port]["macs"], fig["ports0"][h.port]["macs"],
                             "port %s lost entries: %r -> %r" % (h.port, fig["ports0"][h.port], fig["ports1"][h.port]))
        self.check_after(flooder, a, b, quiet)
        self.check_others_stay((a, b, quiet))
        self.assertLessEqual(self.stats()["macs"]["current"], 8192)

    def test_flood_with_port_mac_limit(self):
        flooder, a, b, quiet = self.setup_hosts()
        port = self.ctl_json("set-port", flooder.port, "max-macs", PORT_LIMIT)
        self.assertEqual(port["max_macs"], PORT_LIMIT, port)
        self.assertEqual(self.ports()[flooder.port]["max_macs"], PORT_LIMIT)

        fig = self.flood(flooder, a, b)
        self.check_others_stay((a, b, quiet))

        s0, s1 = fig["stats0"]["macs"], fig["stats1"]["macs"]
        p0, p1 = fig["ports0"][flooder.port], fig["ports1"][flooder.port]
        self.assertLessEqual(p1["macs"], PORT_LIMIT, "the flooder's port holds %d entries over its limit" % p1["macs"])
        self.assertGreaterEqual(p1["macs"], PORT_LIMIT - 2, p1)
        self.assertLessEqual(s1["current"], PORT_LIMIT + 16, s1)
        self.assertEqual(s1["evicted"] - s0["evicted"], 0, "entries were evicted: %r" % s1)
        limited = s1["port_limited"] - s0["port_limited"]
        unlearned = p1["unlearned"] - p0["unlearned"]
        self.assertGreater(limited, 0, s1)
        # Every received flood frame beyond the first hundred or so new MACs was kept out of the table, and
        # counted on its port.
        self.assertGreaterEqual(unlearned, fig["switch_rx"] - PORT_LIMIT - 16, (p0, p1, fig["switch_rx"]))
        self.assertEqual(unlearned, limited, (p0, p1, s0, s1))
        # ... but still forwarded: flooded (unknown unicast) to the other ports.
        pa0, pa1 = fig["ports0"][a.port], fig["ports1"][a.port]
        out_a = (pa1["tx_packets"] + pa1["tx_dropped"]) - (pa0["tx_packets"] + pa0["tx_dropped"])
        self.assertGreaterEqual(out_a, int(fig["switch_rx"] * 0.95),
                                "only %d of %d flood frames went out of %s" % (out_a, fig["switch_rx"], a.port))
        self.check_after(flooder, a, b, quiet)
        self.check_others_stay((a, b, quiet))
        self.assertLessEqual(self.ports()[flooder.port]["macs"], PORT_LIMIT)


if __name__ == "__main__":
    unittest.main()
