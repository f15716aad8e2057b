"""Storm control and MAC move damping (issue 4).

Storm control: a per-port token bucket on flooded frames (broadcast, multicast, unknown unicast), in frames
per second, off by default, set with `switchctl set-port PORT storm-limit PPS|off`; dropped frames are
counted. A broadcast storm from one namespace at full speed is held to the limit while unicast between the
others is unaffected; with the limit off the same storm passes many more frames.

Move damping: a MAC seen on two ports at once does not flap between them; it moves only once it has been
quiet on its own port for the hold time (1 s).
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import rawsend  # noqa: E402

LIMIT = 1000  # frames per second
BURST = LIMIT // 10  # the bucket holds a tenth of a second of frames
NOISE = 20  # unrelated frames a host may see during a measurement (ARP refreshes ...)
SLACK = 1.2  # the admitted rate may exceed the limit by this factor (timing of a loaded machine)
STORM_FRAMES = 10000000  # "full speed": the duration ends the storm, never the count
UNKNOWN_MAC = "02:5e:00:00:99:01"  # a unicast MAC nobody has


class StormTest(harness.SwitchTestCase):
    def setup_hosts(self):
        stormer, a, b, watcher = self.hosts(4)
        self.ping_ok(a, b.ip, count=2, interval=0.05)
        self.ping_ok(b, a.ip, count=2, interval=0.05)
        self.ping_ok(watcher, stormer.ip, count=2, interval=0.05)  # both MACs learned
        return stormer, a, b, watcher

    def storm(self, stormer, watcher, seconds, dst, ping=None):
        """`stormer` sends frames to `dst` as fast as it can for `seconds`; `watcher` counts what reaches
        it. With `ping` = (a, b), a pings b every 10 ms meanwhile. Returns a dict of figures."""
        ports0, stats0 = self.ports(), self.stats()
        rx0 = watcher.rx_packets()
        bg = None
        if ping:
            bg = rawsend.BackgroundPing(ping[0].ns, ping[1].ip, interval=0.01, max_seconds=seconds + 20)
            time.sleep(0.2)
        sent = rawsend.send(stormer.ns, stormer.ifname, STORM_FRAMES, duration=seconds, dst=dst)
        ping_result = bg.stop() if bg else None
        time.sleep(0.1)  # the last frames through the switch
        rx1 = watcher.rx_packets()
        ports1, stats1 = self.ports(), self.stats()
        self.assertTrue(self.daemon.running(), "switchd died during the storm\n%s" % self.daemon.log_tail())
        p0, p1 = ports0[stormer.port], ports1[stormer.port]
        fig = {
            "dst": dst,
            "sent": sent["sent"],
            "span": sent["span"],
            "pps": sent["pps"],
            "switch_rx": p1["rx_packets"] - p0["rx_packets"],
            "watcher_rx": rx1 - rx0,
            "watcher_tx": ports1[watcher.port]["tx_packets"] - ports0[watcher.port]["tx_packets"],
            "storm_dropped": p1["storm_dropped"] - p0["storm_dropped"],
            "stats_storm_dropped": stats1["frames"]["storm_dropped"] - stats0["frames"]["storm_dropped"],
            "rx_dropped": p1["rx_dropped"] - p0["rx_dropped"],
            "allowed": int(SLACK * LIMIT * sent["span"]) + BURST + NOISE,
            "ping": ping_result[:2] if ping_result else None,
        }
        sys.stderr.write(
            "\n  storm to %s: %d frames sent in %.2f s (%d/s), switch received %d, dropped by storm control %d, "
            "watcher received %d (allowed %d)%s\n"
            % (dst, fig["sent"], fig["span"], fig["pps"], fig["switch_rx"], fig["storm_dropped"], fig["watcher_rx"],
               fig["allowed"], "; ping %d/%d" % fig["ping"] if ping_result else "")
        )
        if ping_result:
            transmitted, received, out = ping_result
            self.assertGreaterEqual(transmitted, 50, "ping ran too briefly during the storm:\n%s" % out)
            self.assertLessEqual(transmitted - received, transmitted // 100,
                                 "unicast ping %s -> %s lost %d of %d during the storm:\n%s"
                                 % (ping[0].ns, ping[1].ip, transmitted - received, transmitted, out))
        return fig

    def assert_limited(self, fig):
        # The storm really exceeded the limit at the switch, so the limit, not the sender, held it.
        self.assertGreaterEqual(fig["switch_rx"], 3 * LIMIT * fig["span"], "the storm was too weak to test: %r" % fig)
        self.assertLessEqual(fig["watcher_rx"], fig["allowed"], "storm not held to %d/s: %r" % (LIMIT, fig))
        self.assertLessEqual(fig["watcher_tx"], fig["allowed"], fig)
        # ... but the limit lets its share through.
        self.assertGreaterEqual(fig["watcher_rx"], int(0.5 * LIMIT * fig["span"]), "storm control let too little through: %r" % fig)
        self.assertGreater(fig["storm_dropped"], 0, fig)
        self.assertEqual(fig["storm_dropped"], fig["stats_storm_dropped"], fig)
        self.assertGreaterEqual(fig["rx_dropped"], fig["storm_dropped"], fig)
        # Every frame received from the stormer was either flooded to the watcher or dropped by storm control.
        self.assertLessEqual(abs(fig["switch_rx"] - fig["storm_dropped"] - fig["watcher_tx"]), NOISE, fig)

    def test_broadcast_storm_held_to_limit_unicast_unaffected(self):
        stormer, a, b, watcher = self.setup_hosts()
        self.assertEqual(self.ports()[stormer.port]["storm_limit"], 0, "storm control is not off by default")
        port = self.ctl_json("set-port", stormer.port, "storm-limit", LIMIT)
        self.assertEqual(port["storm_limit"], LIMIT, port)
        self.assertEqual(self.ports()[stormer.port]["storm_limit"], LIMIT)

        limited = self.storm(stormer, watcher, 3.0, "broadcast", ping=(a, b))
        self.assert_limited(limited)
        self.ping_ok(a, b.ip, count=5, interval=0.05)

        # The same storm with the limit off: many more frames get through.
        port = self.ctl_json("set-port", stormer.port, "storm-limit", "off")
        self.assertEqual(port["storm_limit"], 0, port)
        free = self.storm(stormer, watcher, 2.0, "broadcast")
        self.assertEqual(free["storm_dropped"], 0, free)
        self.assertGreaterEqual(
            free["watcher_rx"] / max(free["span"], 0.1), 5 * limited["watcher_rx"] / max(limited["span"], 0.1),
            "without storm control the storm passed %d frames in %.2f s, with it %d in %.2f s"
            % (free["watcher_rx"], free["span"], limited["watcher_rx"], limited["span"]),
        )

    def test_multicast_and_unknown_unicast_storms_limited_known_unicast_not(self):
        stormer, a, b, watcher = self.setup_hosts()
        self.ctl_ok("set-port", stormer.port, "storm-limit", LIMIT)
        self.assert_limited(self.storm(stormer, watcher, 1.0, "multicast"))
        time.sleep(0.2)  # the bucket refills (to its burst only)
        self.assert_limited(self.storm(stormer, watcher, 1.0, UNKNOWN_MAC))
        # Known unicast is never limited: a storm of frames to the watcher's own MAC all reach it.
        known = self.storm(stormer, watcher, 1.0, watcher.mac())
        self.assertEqual(known["storm_dropped"], 0, known)
        self.assertGreaterEqual(known["watcher_rx"], 3 * LIMIT * known["span"], known)
        self.assertGreaterEqual(known["watcher_tx"], known["switch_rx"] - NOISE, known)
        self.ping_ok(a, b.ip, count=3, interval=0.05)


class MoveDampingTest(harness.SwitchTestCase):
    FRAMES_EACH = 200

    def entry(self, mac):
        found = [e for e in self.macs() if e["mac"] == mac]
        self.assertLessEqual(len(found), 1, found)
        return found[0] if found else None

    def test_mac_seen_on_two_ports_does_not_flap(self):
        p1, p2, watcher = self.hosts(3)
        self.ping_ok(p1, watcher.ip, count=1)
        self.ping_ok(p2, watcher.ip, count=1)
        mac = "02:5e:00:00:77:%02x" % (os.getpid() % 256)
        stats0 = self.stats()["macs"]

        # Both senders use the same source MAC, 200 frames each, interleaved within one second.
        start_at = time.monotonic() + 0.5
        senders = [
            rawsend.start(h.ns, h.ifname, self.FRAMES_EACH, interval=1.0 / self.FRAMES_EACH, duration=5,
                          src=mac, dst="broadcast", start_at=start_at)
            for h in (p1, p2)
        ]
        results = [rawsend.finish(s) for s in senders]
        stats1 = self.stats()["macs"]
        e = self.entry(mac)
        sys.stderr.write(
            "\n  flap: senders %s; entry %r; moved %d, move_damped %d\n"
            % ([(r["sent"], r["first"], r["last"]) for r in results], e,
               stats1["moved"] - stats0["moved"], stats1["move_damped"] - stats0["move_damped"])
        )
        for r in results:
            self.assertEqual(r["sent"], self.FRAMES_EACH, r)
        # The two senders overlapped for most of the second (else there was nothing to damp).
        overlap = min(r["last"] for r in results) - max(r["first"] for r in results)
        self.assertGreater(overlap, 0.5, results)
        self.assertIsNotNone(e, "the flapping MAC %s is not in the table" % mac)
        self.assertIn("moves", e, e)
        self.assertLessEqual(e["moves"], 2, "the MAC flapped between the ports: %r" % e)
        self.assertLessEqual(stats1["moved"] - stats0["moved"], 2, (stats0, stats1))
        self.assertGreater(stats1["move_damped"] - stats0["move_damped"], 50, (stats0, stats1))
        self.assertIn(e["port"], (p1.port, p2.port), e)

        # Once the owner has been quiet for more than the hold time (1 s), the other port's next frame moves
        # the entry ...
        owner, other = (p1, p2) if e["port"] == p1.port else (p2, p1)
        time.sleep(1.5)
        moves0 = e["moves"]
        rawsend.send(other.ns, other.ifname, 1, src=mac, dst="broadcast")
        e = harness.wait_until(lambda: [x for x in [self.entry(mac)] if x and x["port"] == other.port], 2)
        self.assertTrue(e, "MAC %s did not move to %s after %s was quiet for 1.5 s: %r"
                        % (mac, other.port, owner.port, self.entry(mac)))
        e = e[0]
        self.assertEqual(e["moves"], moves0 + 1, e)
        # ... while a frame from the old port right after it is damped: the entry stays.
        damped0 = self.stats()["macs"]["move_damped"]
        rawsend.send(owner.ns, owner.ifname, 1, src=mac, dst="broadcast")
        harness.wait_until(lambda: self.stats()["macs"]["move_damped"] > damped0, 2)
        self.assertEqual(self.stats()["macs"]["move_damped"], damped0 + 1)
        e2 = self.entry(mac)
        self.assertEqual(e2["port"], other.port, e2)
        self.assertEqual(e2["moves"], moves0 + 1, e2)


if __name__ == "__main__":
    unittest.main()
