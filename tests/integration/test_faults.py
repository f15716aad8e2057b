"""Faults, 100 cycles each: a TAP deleted and recreated with the same name, a TAP moved into a
namespace and back, the namespace holding a TAP deleted, del-port during traffic. The switch keeps
running, its state stays consistent, and it leaks neither descriptors nor memory: the descriptor
count is the same and RSS grows by less than 2 MiB between a warm-up and the end of the cycles.
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import stress  # noqa: E402

CYCLES = 100
WARMUP = 10
MAX_RSS_GROWTH_KIB = 2048
CYCLE_SECONDS = 0.4  # a generous bound on one cycle; the whole loop must fit CYCLES of them


class FaultsTest(harness.SwitchTestCase):
    def setUp(self):
        super().setUp()
        self.conn = None

    def tearDown(self):
        if self.conn is not None:
            self.conn.close()
        super().tearDown()

    # -- helpers -----------------------------------------------------------------------------

    def call(self, method, params=None):
        """One request on the test's own connection (kept open: the descriptor count counts it)."""
        if self.conn is None:
            self.conn = harness.RpcConn(self.socket_path, timeout=5)
        resp = self.conn.call(method, params)
        self.assertIn("result", resp, "%s %r: %r" % (method, params, resp))
        return resp["result"]

    def port_names(self):
        return {p["name"] for p in self.call("show-ports")}

    def wait_port(self, name, present, timeout=3):
        ok = harness.wait_until(lambda: (name in self.port_names()) == present, timeout, interval=0.01)
        self.assertTrue(ok, "port %s %s after %ss\n%s" % (name, "missing" if present else "still there", timeout,
                                                         self.daemon.log_tail()))

    def check_consistent(self, gone=()):
        """No MAC entry or ARP binding names a port that is not in show-ports."""
        ports = self.port_names()
        for entry in self.call("show-macs"):
            self.assertIn(entry["port"], ports, "MAC entry on a removed port: %r" % entry)
        for gone_port in gone:
            self.assertNotIn(gone_port, ports)
        arp_ports = {e["port"] for e in self.call("show-arp")} - {None}
        self.assertLessEqual(arp_ports, ports)

    def run_cycles(self, what, cycle):
        """Runs `cycle(i)` WARMUP times, snapshots the daemon, runs it CYCLES times, and compares."""
        pid = self.daemon.proc.pid
        for i in range(WARMUP):
            cycle(i)
        fds_before = stress.fd_targets(pid)
        count_before = stress.settled_fd_count(pid, expected=len(fds_before))
        fds_before = stress.fd_targets(pid)
        rss_before = stress.rss_kib(pid)
        started = time.monotonic()
        for i in range(CYCLES):
            cycle(WARMUP + i)
        took = time.monotonic() - started
        count_after = stress.settled_fd_count(pid, expected=count_before)
        fds_after = stress.fd_targets(pid)
        rss_after = stress.rss_kib(pid)
        sys.stderr.write("\n  %s: %d cycles in %.1f s; fds %d -> %d; RSS %d -> %d KiB (%+d)\n" % (
            what, CYCLES, took, count_before, count_after, rss_before, rss_after, rss_after - rss_before))
        self.assertTrue(self.daemon.running(), self.daemon.log_tail())
        self.assertEqual(count_after, count_before,
                         "%s: descriptors leaked:\n%s" % (what, stress.describe_fd_change(fds_before, fds_after)))
        self.assertLess(rss_after - rss_before, MAX_RSS_GROWTH_KIB + stress.rss_slack_kib(pid),
                        "%s: RSS grew from %d to %d KiB" % (what, rss_before, rss_after))
        self.assertLess(took, CYCLES * CYCLE_SECONDS, "%s: %d cycles took %.1f s" % (what, CYCLES, took))
        self.assertEqual(stress.sanitizer_reports(self.daemon.log()), [])

    def stop_cleanly(self):
        """SIGTERM: exit status 0 and, in a sanitizer build, no report (leaks are checked at exit)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        rc = self.daemon.stop(timeout=20)
        self.assertEqual(stress.sanitizer_reports(self.daemon.log()), [], self.daemon.log_tail(200))
        self.assertEqual(rc, 0, self.daemon.log_tail())

    # -- the faults --------------------------------------------------------------------------

    def test_tap_deleted_and_recreated_with_the_same_name(self):
        h1, h2 = self.hosts(2)
        name = harness.tap_name()
        harness._root_links.append(name)

        def cycle(_):
            # Created by switchd, deleted under it.
            self.call("add-port", {"name": name})
            harness.ip("link", "del", "dev", name)
            self.wait_port(name, False)
            # Recreated by someone else with the same name (persistent), attached, deleted again.
            harness.ip("tuntap", "add", "dev", name, "mode", "tap")
            port = self.call("add-port", {"name": name})
            self.assertIsNotNone(port["ifindex"], port)
            harness.ip("link", "del", "dev", name)
            self.wait_port(name, False)

        self.run_cycles("TAP deleted and recreated", cycle)
        self.check_consistent(gone=[name])
        self.ping_ok(h1, h2.ip, count=2, interval=0.1)
        self.stop_cleanly()

    def test_tap_moved_into_a_namespace_and_back(self):
        h1, h2 = self.hosts(2)
        name = harness.tap_name()
        harness._root_links.append(name)
        self.call("add-port", {"name": name})
        ns = harness.ns_name()
        harness.setup_namespace(ns)

        def ifindex():
            return {p["name"]: p for p in self.call("show-ports")}[name]["ifindex"]

        def cycle(_):
            harness.ip("link", "set", "dev", name, "netns", ns)
            self.assertTrue(harness.wait_until(lambda: ifindex() is None, 3, interval=0.01),
                            "ifindex of %s not cleared after the move" % name)
            harness.ip("-n", ns, "link", "set", "dev", name, "netns", str(os.getpid()))
            self.assertTrue(harness.wait_until(lambda: ifindex() is not None, 3, interval=0.01),
                            "ifindex of %s not back after the return" % name)

        self.run_cycles("TAP moved into a namespace and back", cycle)
        # Back home, the port's ifindex is the TAP's; in a namespace again, it still forwards.
        with open("/sys/class/net/%s/ifindex" % name) as f:
            real = int(f.read())
        self.assertEqual(ifindex(), real)
        h3 = self.add_host(name, 3)
        self.ping_ok(h3, h1.ip, count=2, interval=0.1)
        self.ping_ok(h2, h3.ip, count=2, interval=0.1)
        self.check_consistent()
        self.stop_cleanly()

    def test_namespace_holding_a_tap_deleted(self):
        h1, h2 = self.hosts(2)
        name = harness.tap_name()
        harness._root_links.append(name)

        def cycle(_):
            self.call("add-port", {"name": name})
            ns = harness.ns_name()
            harness.setup_namespace(ns)
            harness.ip("link", "set", "dev", name, "netns", ns)
            harness.delete_namespace(ns)
            self.wait_port(name, False)

        self.run_cycles("namespace holding the TAP deleted", cycle)
        self.check_consistent(gone=[name])
        self.ping_ok(h1, h2.ip, count=2, interval=0.1)
        self.stop_cleanly()

    def test_del_port_during_traffic(self):
        h1, h2 = self.hosts(2)
        name = harness.tap_name()
        harness._root_links.append(name)
        ns = harness.ns_name()
        harness.setup_namespace(ns)
        ip3 = "%s.3" % harness.SUBNET
        # Traffic to the port (ping from h1, flooded while unknown) and from it (broadcast frames,
        # flooded to the others), running across every cycle; plus a ping that must not suffer.
        to_port = stress.Pinger(h1, ip3, interval=0.005, max_seconds=100)
        from_port = stress.FrameBlaster(ns, name, "02:5f:00:00:00:03", rate=1000, max_seconds=100)
        steady = stress.Pinger(h2, h1.ip, interval=0.01, max_seconds=100)

        def cycle(_):
            self.call("add-port", {"name": name})
            harness.ip("link", "set", "dev", name, "netns", ns)
            harness.run(["ip", "-n", ns, "-b", "-"], timeout=10, check=True,
                        input="addr add %s/24 dev %s\nlink set dev %s up\n" % (ip3, name, name))
            time.sleep(0.03)  # frames both ways
            self.call("del-port", {"name": name})
            self.assertNotIn(name, self.port_names())
            self.assertTrue(harness.wait_until(lambda: not harness.link_exists(name, ns=ns), 3, interval=0.01),
                            "TAP %s not deleted by del-port" % name)

        try:
            self.run_cycles("del-port during traffic", cycle)
        finally:
            from_port.stop()
            to_port.stop()
            summary = steady.stop()
        self.assertGreater(self.stats()["frames"]["flooded"], CYCLES)
        self.check_consistent(gone=[name])
        self.assertNotIn("02:5f:00:00:00:03", [e["mac"] for e in self.call("show-macs")])
        stress.assert_ping_healthy(self, summary, "h2 -> h1 during the del-port cycles")
        self.stop_cleanly()


if __name__ == "__main__":
    unittest.main()
