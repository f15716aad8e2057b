"""Port mirroring (issue 6): `switchctl add-mirror NAME SRC DEST [rx|tx|both]`, del-mirror, show-mirrors.

tcpdump on the mirror destination's namespace sees exactly the mirrored flow and nothing else; what is sent into
the destination goes nowhere. The destination's namespace has no address, so its own stack stays silent and every
frame tcpdump shows there came from the switch."""

import json
import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import vlanraw  # noqa: E402
from vlanraw import BROADCAST, local_mac, probe  # noqa: E402

NET = harness.SUBNET
H1, H2, H3 = NET + ".1", NET + ".2", NET + ".3"


def src_of(line):
    return line.split()[1] if len(line.split()) > 1 else ""


def dst_of(line):
    parts = line.split()
    return parts[3].rstrip(",") if len(parts) > 3 else ""


class MirrorTest(vlanraw.FramesTestCase):
    def setup(self):
        h = self.switch({"h1": {"ip": H1}, "h2": {"ip": H2}, "h3": {"ip": H3}, "m": {}})
        # Everyone resolves everyone first, so that the flows below are just the pings.
        for a, b in (("h1", "h2"), ("h1", "h3"), ("h2", "h3")):
            self.ping_ok(h[a], h[b].ip, count=1)
        return h

    def mirrors(self):
        return {m["name"]: m for m in self.ctl_json("show-mirrors")}

    def mirrored(self, h, name, work):
        """Runs work() with tcpdump on the destination; returns (lines, show-mirrors delta of `name`,
        h1's port counters before, after)."""
        cap = vlanraw.Capture(h["m"].ns, h["m"].ifname, "")
        try:
            f0 = self.mirrors()[name]["frames"]
            p0 = self.ports()[h["h1"].port]
            work()
            time.sleep(0.3)
            f1 = self.mirrors()[name]["frames"]
            p1 = self.ports()[h["h1"].port]
        finally:
            lines = cap.stop()
        return lines, f1 - f0, p0, p1

    def test_rx_tx_both(self):
        h = self.setup()
        h1mac = h["h1"].mac()
        requests = re.compile(re.escape(H1) + " > " + re.escape(H2) + ": ICMP echo request")
        replies = re.compile(re.escape(H2) + " > " + re.escape(H1) + ": ICMP echo reply")

        def work():
            self.ping_ok(h["h1"], H2, count=5, interval=0.05)
            self.ping_ok(h["h2"], H3, count=3, interval=0.05)  # not h1's: never mirrored
            h["h3"].arping(NET + ".77", count=1, deadline=1)  # flooded: out of h1 (tx), not into it (rx)

        m0 = self.stats()["frames"]["mirrored"]
        for direction in ("rx", "tx", "both"):
            self.ctl_ok("add-mirror", "span", h["h1"].port, h["m"].port, direction)
            mirror = self.mirrors()["span"]
            self.assertEqual(mirror["source"], h["h1"].port, mirror)
            self.assertEqual(mirror["destination"], h["m"].port, mirror)
            self.assertEqual(mirror["direction"], direction, mirror)
            lines, copies, p0, p1 = self.mirrored(h, "span", work)
            dump = "%s:\n%s" % (direction, "\n".join(lines))
            n_req = len([l for l in lines if requests.search(l)])
            n_rep = len([l for l in lines if replies.search(l)])
            other = [l for l in lines if re.search(re.escape(H2) + " > " + re.escape(H3) + "|"
                                                   + re.escape(H3) + " > " + re.escape(H2), l)]
            who77 = [l for l in lines if "who-has %s.77" % NET in l]
            self.assertEqual(other, [], "h2<->h3 traffic on the mirror destination\n" + dump)
            rx = p1["rx_packets"] - p0["rx_packets"]
            tx = p1["tx_packets"] - p0["tx_packets"]
            if direction == "rx":
                self.assertEqual((n_req, n_rep), (5, 0), dump)
                self.assertEqual(who77, [], dump)
                for line in lines:
                    self.assertEqual(src_of(line), h1mac, "not a frame h1 sent\n" + dump)
                self.assertEqual(len(lines), rx, dump)
            elif direction == "tx":
                self.assertEqual((n_req, n_rep), (0, 5), dump)
                self.assertEqual(len(who77), 1, dump)
                for line in lines:
                    self.assertIn(dst_of(line), (h1mac, BROADCAST), "not a frame sent to h1\n" + dump)
                self.assertEqual(len(lines), tx, dump)
            else:
                self.assertEqual((n_req, n_rep), (5, 5), dump)
                self.assertEqual(len(who77), 1, dump)
                self.assertEqual(len(lines), rx + tx, dump)
            self.assertEqual(copies, len(lines), dump)
            self.ctl_ok("del-mirror", "span")
            self.assertEqual(self.mirrors(), {})
        self.assertGreater(self.stats()["frames"]["mirrored"] - m0, 20)

    def test_destination_gets_nothing_else_and_drops_what_it_sends(self):
        h = self.setup()
        self.ctl_ok("add-mirror", "span", h["h1"].port, h["m"].port)
        self.assertEqual(self.mirrors()["span"]["direction"], "both")  # the default
        self.assert_json_port(h["m"].port, mirror_destination=True)
        self.assert_json_port(h["h1"].port, mirror_destination=False)
        # h1's received frames only: then whatever else reaches the destination is a leak (with tx, the frames
        # flooded out of h1 would be copied too).
        self.ctl_ok("del-mirror", "span")
        self.ctl_ok("add-mirror", "span", h["h1"].port, h["m"].port, "rx")
        sn = self.sniffers({k: h[k] for k in ("h2", "h3")})
        cap = vlanraw.Capture(h["m"].ns, h["m"].ifname, "")
        try:
            self.ping_ok(h["h2"], H3, count=3, interval=0.05)
            h["h3"].arping(NET + ".77", count=1, deadline=1)
            self.sniffer(h["h2"]).send(probe(local_mac(1), dst="02:5e:00:00:00:99", note="unknown-unicast"))
            self.sniffer(h["h2"]).send(probe(local_mac(2), dst="01:00:5e:7f:00:01", note="multicast"))
        finally:
            lines = cap.stop()
        self.assertEqual(lines, [], "the mirror destination got frames that h1 did not send")
        # Frames sent into the destination are dropped (and not learned), whatever their address.
        s0 = self.frame_stats()
        receivers = {"h2": sn["h2"], "h3": sn["h3"]}
        sm = self.sniffer(h["m"])
        for i, dst in enumerate((BROADCAST, h["h2"].mac(), "02:5e:00:00:00:99")):
            got = self.deliver(sm, probe(local_mac(10 + i), dst=dst, note="into-destination"), receivers)
            self.assertEqual(got, {"h2": [], "h3": []}, "a frame sent into the destination went on (to %s)" % dst)
        s1 = self.frame_stats()
        self.assertGreaterEqual(s1["mirror_port_dropped"] - s0["mirror_port_dropped"], 3, (s0, s1))
        self.assertEqual([e for e in self.macs() if e["port"] == h["m"].port], [])

    def test_two_sources_share_a_destination_and_del_mirror_stops_copies(self):
        h = self.setup()
        self.ctl_ok("add-mirror", "from1", h["h1"].port, h["m"].port, "rx")
        self.ctl_ok("add-mirror", "from2", h["h2"].port, h["m"].port, "rx")
        self.assertEqual(set(self.mirrors()), {"from1", "from2"})
        req = {k: re.compile(re.escape(h[k].ip) + " > " + re.escape(H3) + ": ICMP echo request") for k in ("h1", "h2")}

        def capture():
            cap = vlanraw.Capture(h["m"].ns, h["m"].ifname, "")
            try:
                self.ping_ok(h["h1"], H3, count=3, interval=0.05)
                self.ping_ok(h["h2"], H3, count=3, interval=0.05)
            finally:
                lines = cap.stop()
            return {k: len([l for l in lines if r.search(l)]) for k, r in req.items()}, lines

        counts, lines = capture()
        self.assertEqual(counts, {"h1": 3, "h2": 3}, "\n".join(lines))
        self.assertGreaterEqual(self.mirrors()["from1"]["frames"], 3)
        self.assertGreaterEqual(self.mirrors()["from2"]["frames"], 3)

        self.ctl_ok("del-mirror", "from1")
        self.assertEqual(set(self.mirrors()), {"from2"})
        counts, lines = capture()
        self.assertEqual(counts, {"h1": 0, "h2": 3}, "\n".join(lines))

        self.ctl_ok("del-mirror", "from2")
        self.assertEqual(self.mirrors(), {})
        counts, lines = capture()
        self.assertEqual(counts, {"h1": 0, "h2": 0}, "\n".join(lines))
        # No mirror left: the destination is an ordinary port again.
        self.assert_json_port(h["m"].port, mirror_destination=False)
        got = self.deliver(self.sniffer(h["m"]), probe(local_mac(5), note="ordinary-again"),
                           {"h1": self.sniffer(h["h1"])})
        self.assertEqual(len(got["h1"]), 1, got)

    def test_invalid_mirrors_rejected(self):
        h = self.switch({"a": {}, "b": {}, "c": {}})
        a, b, c = h["a"].port, h["b"].port, h["c"].port

        def refused(*args, rcs=(1,)):
            rc, out, err = self.ctl(*args)
            self.assertIn(rc, rcs, "switchctl %s: rc %d, %r %r" % (" ".join(map(str, args)), rc, out, err))
            self.assertEqual(len(err.strip().splitlines()), 1, "not a one-line error: %r" % err)
            self.assertNotIn("Traceback", err)

        refused("add-mirror", "self", a, a)
        self.ctl_ok("add-mirror", "ok", a, b, "tx")
        refused("add-mirror", "dest-as-source", b, c)  # b is a destination: it cannot be mirrored
        refused("add-mirror", "source-as-dest", c, a)  # a is mirrored: it cannot be a destination
        refused("add-mirror", "ok", c, b)  # the name is taken
        refused("add-mirror", "ghost", "nosuchport", b)
        refused("add-mirror", "ghost", c, "nosuchport")
        refused("add-mirror", "sideways", c, b, "sideways", rcs=(1, 2))
        refused("del-mirror", "nosuchmirror")
        refused("add-mirror", "short", c, rcs=(2,))
        self.assertEqual(list(self.mirrors()), ["ok"])
        mirror = self.mirrors()["ok"]
        self.assertEqual((mirror["source"], mirror["destination"], mirror["direction"]), (a, b, "tx"), mirror)
        # Several sources may share the destination.
        self.ctl_ok("add-mirror", "second", c, b, "rx")
        self.assertEqual(set(self.mirrors()), {"ok", "second"})
        self.assert_json_port(b, mirror_destination=True)
        # Removing a port removes its mirrors.
        self.ctl_ok("del-port", c)
        self.assertEqual(set(self.mirrors()), {"ok"})

    def test_mirrors_saved_and_restored(self):
        taps = [harness.tap_name() for _ in range(4)]
        self.start_daemon(taps)
        self.ctl_ok("add-mirror", "span-rx", taps[0], taps[3], "rx")
        self.ctl_ok("add-mirror", "span-both", taps[1], taps[3])
        want = {m["name"]: (m["source"], m["destination"], m["direction"]) for m in self.ctl_json("show-mirrors")}
        self.assertEqual(want, {"span-rx": (taps[0], taps[3], "rx"), "span-both": (taps[1], taps[3], "both")})
        path = os.path.join(self.tmp.name, "saved.json")
        self.ctl_ok("save", path)
        with open(path) as f:
            text = f.read()
        saved = {m["name"]: (m["source"], m["destination"], m.get("direction", "both"))
                 for m in json.loads(text).get("mirrors", [])}
        self.assertEqual(saved, want, text)
        self.assertEqual(self.daemon.stop(), 0)
        self.start_daemon(extra_args=["--config", path])
        got = {m["name"]: (m["source"], m["destination"], m["direction"]) for m in self.ctl_json("show-mirrors")}
        self.assertEqual(got, want)
        self.assert_json_port(taps[3], mirror_destination=True)


if __name__ == "__main__":
    unittest.main()
