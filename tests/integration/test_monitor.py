"""switchctl monitor: a live stream of events (ports, MAC table, ARP table), one line each or JSON lines.

The real binaries: switchd with TAP ports in namespaces, `switchctl monitor` (and `--json`) as a subprocess whose
output goes to a file, pings and raw frames between the namespaces. Covers port added/removed (also a TAP deleted
behind the switch's back), MAC learned/moved/aged, ARP learned/aged, filters, the exit statuses (SIGINT and SIGTERM:
0; the daemon going away: 1 with one line), and a subscriber that never reads while a flood of new source MACs goes
through: forwarding does not stall (ping keeps working) and every event is either delivered or counted in an
events-lost notification.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import rawsend  # noqa: E402

TIME = r"\d\d:\d\d:\d\d\.\d{3}"
JSON_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FLOOD_FRAMES = 60000
FLOOD_RATE = 20000  # frames per second: 3 s of flood
MAX_PING_LOSS = 0.01


class Monitor:
    """`switchctl monitor` as a subprocess, its stdout and stderr in files read as it runs."""

    def __init__(self, socket_path, *args, json_out=False):
        self.argv = [harness.SWITCHCTL, "--socket", socket_path] + (["--json"] if json_out else [])
        self.argv += ["monitor"] + list(args)
        self.json_out = json_out
        self.out = tempfile.NamedTemporaryFile(prefix="switchd-mon-", suffix=".out", delete=False)
        self.err = tempfile.NamedTemporaryFile(prefix="switchd-mon-", suffix=".err", delete=False)
        self.proc = subprocess.Popen(self.argv, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     preexec_fn=harness._set_pdeathsig)
        harness._children.append(self.proc)
        self.out.close()
        self.err.close()

    def lines(self):
        return [l for l in harness.read_text(self.out.name).splitlines() if l.strip()]

    def events(self):
        """The JSON objects printed so far (--json)."""
        events = []
        for line in self.lines():
            try:
                events.append(json.loads(line))
            except ValueError:
                raise AssertionError("switchctl monitor --json printed a line that is not JSON: %r" % line)
        return events

    def stderr(self):
        return harness.read_text(self.err.name)

    def wait_for(self, predicate, timeout):
        """Waits until predicate(line) holds for a printed line (a parsed object with --json); returns it."""

        def find():
            for item in (self.events() if self.json_out else self.lines()):
                if predicate(item):
                    return item
            return None

        return harness.wait_until(find, timeout, interval=0.05)

    def wait_for_line(self, pattern, timeout=5):
        regex = re.compile(pattern)
        return self.wait_for(lambda line: regex.search(line), timeout)

    def running(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGINT, timeout=5):
        """Stops it with `sig`; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("switchctl monitor did not exit within %ss of signal %d" % (timeout, sig))
        finally:
            if self.proc in harness._children:
                harness._children.remove(self.proc)
        return self.proc.returncode

    def wait_exit(self, timeout=5):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc in harness._children:
            harness._children.remove(self.proc)
        for path in (self.out.name, self.err.name):
            try:
                os.unlink(path)
            except OSError:
                pass

    def dump(self):
        return "---- %s ----\nstdout:\n%s\nstderr:\n%s" % (" ".join(self.argv), "\n".join(self.lines()[-80:]),
                                                          self.stderr())


class MonitorTest(harness.SwitchTestCase):
    def monitor(self, *args, json_out=False):
        m = Monitor(self.socket_path, *args, json_out=json_out)
        self.addCleanup(m.cleanup)
        return m

    def sync(self, mon):
        """Adds a probe port until `mon` reports it: then its subscription is in place. Returns the port's name."""
        for _ in range(20):
            name = harness.tap_name()
            harness._root_links.append(name)
            self.ctl_ok("add-port", name)
            if mon.json_out:
                seen = mon.wait_for(lambda e: e.get("event") == "port-added" and e.get("port") == name, 0.5)
            else:
                seen = mon.wait_for_line(r"^%s port added %s \(tap\)$" % (TIME, name), 0.5)
            if seen:
                return name
            self.assertTrue(mon.running(), "switchctl monitor exited early\n%s" % mon.dump())
            self.ctl_ok("del-port", name)
        self.fail("switchctl monitor never reported a port added\n%s" % mon.dump())

    def expect_line(self, mon, pattern, timeout=5, what=""):
        line = mon.wait_for_line(pattern, timeout)
        self.assertTrue(line, "no line matching %r%s\n%s" % (pattern, (" (" + what + ")") if what else "", mon.dump()))
        return line

    def test_text_lines_for_ports_macs_arp_moves_and_aging(self):
        h1, h2 = self.hosts(2)
        mon = self.monitor()
        probe = self.sync(mon)
        m1, m2 = h1.mac(), h2.mac()

        # The TAPs spoke before they were moved into the namespaces: start from an empty table.
        self.ctl_ok("flush-macs")
        self.ping_ok(h1, h2.ip, count=2)
        self.expect_line(mon, r"^%s mac learned %s vlan 1 port %s$" % (TIME, m1, h1.port))
        self.expect_line(mon, r"^%s mac learned %s vlan 1 port %s$" % (TIME, m2, h2.port))
        self.expect_line(mon, r"^%s arp learned %s at %s vlan 1 port %s$" % (TIME, re.escape(h1.ip), m1, h1.port))
        self.expect_line(mon, r"^%s arp learned %s at %s vlan 1 port %s$" % (TIME, re.escape(h2.ip), m2, h2.port))

        # h1's MAC seen on h2's port once h1 has been quiet for longer than the move hold time (1 s).
        time.sleep(1.5)
        rawsend.send(h2.ns, h2.ifname, 1, src=m1, dst="broadcast")
        self.expect_line(mon, r"^%s mac moved %s vlan 1 from %s to %s$" % (TIME, m1, h1.port, h2.port))

        # Aging: every dynamic MAC entry and ARP binding goes within a couple of seconds.
        self.ctl_ok("set-aging", "1")
        self.expect_line(mon, r"^%s mac aged %s vlan 1 port %s$" % (TIME, m2, h2.port), timeout=6)
        self.expect_line(mon, r"^%s mac aged %s vlan 1 port %s$" % (TIME, m1, h2.port), timeout=6)
        self.expect_line(mon, r"^%s arp aged %s at %s vlan 1 port %s$" % (TIME, re.escape(h1.ip), m1, h1.port),
                         timeout=6)

        self.ctl_ok("del-port", probe)
        self.expect_line(mon, r"^%s port removed %s$" % (TIME, probe))

        self.assertEqual(mon.stop(signal.SIGINT), 0, mon.dump())
        self.assertEqual(mon.stderr(), "")
        for line in mon.lines():
            self.assertRegex(line, r"^%s (port|mac|arp) [a-z]+ \S+" % TIME)
        sys.stderr.write("\n  switchctl monitor printed:\n    %s\n" % "\n    ".join(mon.lines()))

    def test_json_lines_with_a_filter_and_a_tap_deleted_behind_the_switch(self):
        h1, h2 = self.hosts(2)
        mon = self.monitor("port,arp", json_out=True)
        probe = self.sync(mon)
        added = [e for e in mon.events() if e["event"] == "port-added" and e["port"] == probe][0]
        self.assertEqual(set(added), {"event", "kind", "port", "time"}, added)
        self.assertEqual(added["kind"], "tap")
        self.assertRegex(added["time"], JSON_TIME)

        self.ping_ok(h1, h2.ip, count=2)
        arp = mon.wait_for(lambda e: e["event"] == "arp-learned" and e["ip"] == h1.ip, 5)
        self.assertTrue(arp, mon.dump())
        self.assertEqual(arp, {"event": "arp-learned", "ip": h1.ip, "mac": h1.mac(), "port": h1.port,
                               "time": arp["time"], "vlan": 1})
        self.assertRegex(arp["time"], JSON_TIME)

        # The TAP deleted with `ip link del`: the port goes, and its event still names it.
        harness.ip("link", "del", "dev", probe)
        removed = mon.wait_for(lambda e: e["event"] == "port-removed", 5)
        self.assertTrue(removed, mon.dump())
        self.assertEqual(removed["port"], probe)

        self.assertEqual(mon.stop(signal.SIGTERM), 0, mon.dump())
        self.assertEqual(mon.stderr(), "")
        kinds = {e["event"] for e in mon.events()}
        self.assertFalse({k for k in kinds if k.startswith("mac-")}, "the filter let MAC events through: %r" % kinds)
        self.assertIn("arp-learned", kinds)

    def test_daemon_going_away_ends_monitor_with_status_1_and_one_line(self):
        self.start_daemon([harness.tap_name()])
        mon = self.monitor()
        self.sync(mon)
        self.assertEqual(self.daemon.stop(), 0)
        rc = mon.wait_exit(5)
        self.assertEqual(rc, 1, mon.dump())
        err = mon.stderr()
        self.assertEqual(err, "switchctl: %s closed the connection\n" % self.socket_path, err)

    def test_bad_filter_is_refused_and_no_daemon_is_reported(self):
        self.start_daemon([harness.tap_name()])
        rc, out, err = self.ctl("monitor", "mac,fdb", timeout=10)
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("switchctl: unknown event 'fdb' (expected all, port, mac, arp, "), err)
        self.assertEqual(err.count("\n"), 1, err)
        rc, out, err = self.ctl("monitor", socket_path=os.path.join(self.tmp.name, "nobody.sock"), timeout=10)
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("(is switchd running?)", err)

    def test_a_subscriber_that_never_reads_does_not_stall_forwarding_and_hears_what_it_lost(self):
        flooder, a, b = self.hosts(3)
        self.ping_ok(a, b.ip, count=2, interval=0.05)
        self.ping_ok(flooder, a.ip, count=1)
        reader = self.monitor("mac", json_out=True)
        self.sync_mac(reader, a, b)

        # A raw subscriber that reads its reply, then nothing until the flood is over.
        sleeper = harness.RpcConn(self.socket_path, timeout=5)
        self.addCleanup(sleeper.close)
        reply = sleeper.call("monitor", {"events": ["mac"]})
        self.assertEqual(reply.get("result"), {"events": ["mac-learned", "mac-moved", "mac-aged", "mac-evicted"]},
                         reply)
        stats0 = self.stats()["macs"]

        ping = rawsend.BackgroundPing(a.ns, b.ip, interval=0.01, max_seconds=40)
        time.sleep(0.2)
        sent = rawsend.send(flooder.ns, flooder.ifname, FLOOD_FRAMES, rate=FLOOD_RATE, duration=30, src="random",
                            dst="random")
        transmitted, received, ping_out = ping.stop()
        self.assertTrue(self.daemon.running(), "switchd died during the flood\n%s" % self.daemon.log_tail())
        stats1 = self.stats()["macs"]
        expected = sum(stats1[k] - stats0[k] for k in ("learned", "moved", "expired", "evicted"))
        rx = self.ports()[flooder.port]["rx_packets"]
        sys.stderr.write("\n  flood: %d frames sent (%d/s), %d received by switchd; %d MAC events; ping %d/%d\n"
                         % (sent["sent"], sent["pps"], rx, expected, received, transmitted))
        self.assertGreater(expected, FLOOD_FRAMES // 2, "the flood made few MAC events: %r -> %r" % (stats0, stats1))
        # Forwarding kept going.
        self.assertGreaterEqual(transmitted, 100, "ping ran too briefly during the flood:\n%s" % ping_out)
        self.assertLessEqual(transmitted - received, int(transmitted * MAX_PING_LOSS),
                             "ping %s -> %s lost %d of %d during the flood:\n%s"
                             % (a.ns, b.ip, transmitted - received, transmitted, ping_out))
        self.ping_ok(a, b.ip, count=2, interval=0.05)

        # Now the sleeper reads: what fitted, then how many it lost; together, every event.
        delivered, lost, notices = 0, 0, []
        deadline = time.monotonic() + 60
        for _ in range(10000000):
            if time.monotonic() > deadline:
                self.fail("the sleeper was still reading after 60 s (%d events, lost %d)" % (delivered, lost))
            try:
                line = sleeper.recv_line(timeout=1.5)
            except socket.timeout:
                break
            self.assertIsNotNone(line, "switchd closed the sleeper's connection")
            message = json.loads(line)
            self.assertEqual(message.get("method"), "event", message)
            params = message["params"]
            if params["event"] == "events-lost":
                lost += params["count"]
                notices.append(params)
            else:
                self.assertTrue(params["event"].startswith("mac-"), params)
                delivered += 1
        sys.stderr.write("  sleeper: %d events delivered, %d lost (notices: %r)\n" % (delivered, lost, notices))
        self.assertGreater(lost, 0, "a subscriber that did not read lost nothing")
        self.assertTrue(notices and all(n["count"] > 0 and JSON_TIME.match(n["time"]) for n in notices), notices)
        self.assertEqual(delivered + lost, expected, "events delivered + lost != MAC events of the flood")

        # The reading subscriber (switchctl) accounts for every event too.
        def settled():
            before = len(reader.lines())
            time.sleep(1.0)
            return len(reader.lines()) == before

        harness.wait_until(settled, 30, interval=0.01)
        self.assertEqual(reader.stop(signal.SIGINT), 0, reader.dump())
        events = reader.events()
        read_lost = sum(e["count"] for e in events if e["event"] == "events-lost")
        read_delivered = sum(1 for e in events if e["event"].startswith("mac-")) - self.synced_events
        sys.stderr.write("  switchctl monitor: %d events printed, %d lost\n" % (read_delivered, read_lost))
        self.assertEqual(read_delivered + read_lost, expected)
        self.assertGreater(read_delivered, 0)

    def sync_mac(self, mon, a, b):
        """Waits until `mon` (subscribed to MAC events) reports something: flushes a's and b's entries and pings
        until they are learned again. Records how many MAC events that took (self.synced_events)."""
        for _ in range(20):
            self.ctl_ok("flush-macs", b.port)
            self.ping_ok(a, b.ip, count=1)
            if mon.wait_for(lambda e: e.get("event") == "mac-learned" and e.get("port") == b.port, 1):
                time.sleep(0.3)  # let the last events of the ping through
                self.synced_events = sum(1 for e in mon.events() if e["event"].startswith("mac-"))
                return
        self.fail("switchctl monitor mac never reported a MAC learned\n%s" % mon.dump())


if __name__ == "__main__":
    unittest.main()
