"""Ports: add/del at runtime, TAPs moved and renamed in namespaces, deleted TAPs, persistent TAPs."""

import os
import signal
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


class PortsTest(harness.SwitchTestCase):
    def test_add_and_del_port_at_runtime(self):
        h1, h2 = self.hosts(2)
        new = harness.tap_name()
        harness._root_links.append(new)
        rc, out, err = self.ctl("add-port", new)
        self.assertEqual(rc, 0, "add-port %s: rc %d\n%s%s" % (new, rc, out, err))
        self.assertTrue(harness.link_exists(new), "add-port %s did not create the TAP" % new)
        ports = self.ports()
        self.assertIn(new, ports)
        self.assertEqual(len({p["index"] for p in ports.values()}), 3, ports)

        # Adding it again is refused.
        rc, _, err = self.ctl("add-port", new)
        self.assertEqual(rc, 1, "second add-port %s: rc %d" % (new, rc))
        self.assertIn(new, err)

        h3 = self.add_host(new, 3)
        self.ping_ok(h1, h3.ip)
        self.ping_ok(h3, h2.ip)
        macs = {e["mac"]: e["port"] for e in self.macs()}
        self.assertEqual(macs.get(h3.mac()), new)

        self.ctl_ok("add-mac", "02:00:00:00:00:33", new)
        self.assertIn(h3.ip, [e["ip"] for e in self.ctl_json("show-arp")])
        self.ctl_ok("del-port", new)
        self.assertNotIn(new, self.ports())
        macs = self.macs()
        self.assertNotIn(new, [e["port"] for e in macs], "MAC entries of the deleted port remain: %r" % macs)
        self.assertNotIn("02:00:00:00:00:33", [e["mac"] for e in macs], "static MAC entry of the deleted port remains")
        arp = self.ctl_json("show-arp")
        self.assertNotIn(h3.ip, [e["ip"] for e in arp], "dynamic ARP binding of the deleted port remains: %r" % arp)
        gone = harness.wait_until(lambda: not harness.link_exists(new, ns=h3.ns) and not harness.link_exists(new), 3)
        self.assertTrue(gone, "TAP %s still exists after del-port" % new)
        ok, _ = h1.ping(h3.ip, count=1, wait=1)
        self.assertFalse(ok, "h3 still reachable after del-port")
        self.ping_ok(h1, h2.ip, count=1)

        rc, _, err = self.ctl("del-port", new)
        self.assertEqual(rc, 1, "del-port of a removed port: rc %d" % rc)
        self.assertIn(new, err)

    def test_add_port_bad_name(self):
        self.start_daemon([harness.tap_name()])
        for bad in ("x" * 16, "a/b", "a:b"):
            rc, out, err = self.ctl("add-port", bad)
            self.assertEqual(rc, 1, "add-port %r: rc %d, %s%s" % (bad, rc, out, err))
            self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(len(self.ports()), 1)

    def test_tap_moved_and_renamed_keeps_forwarding(self):
        taps = [harness.tap_name() for _ in range(2)]
        self.start_daemon(taps)
        h1 = self.add_host(taps[0], 1, rename="eth1")
        h2 = self.add_host(taps[1], 2)
        self.ping_ok(h1, h2.ip)
        # Rename again while running (must be down to rename), after traffic has flowed.
        harness.ip("-n", h2.ns, "link", "set", "dev", h2.ifname, "down")
        harness.ip("-n", h2.ns, "link", "set", "dev", h2.ifname, "name", "eth7")
        harness.ip("-n", h2.ns, "link", "set", "dev", "eth7", "up")
        h2.ifname = "eth7"
        self.ping_ok(h1, h2.ip)
        self.ping_ok(h2, h1.ip)
        ports = self.ports()
        self.assertIn(taps[0], ports, "port renamed in the namespace lost its name: %r" % list(ports))
        self.assertIn(taps[1], ports)
        macs = {e["mac"]: e["port"] for e in self.macs()}
        self.assertEqual(macs.get(h1.mac()), taps[0])
        self.assertEqual(macs.get(h2.mac()), taps[1])
        self.assertEqual(ports[taps[0]].get("ifname"), "eth1", ports[taps[0]])
        self.assertEqual(ports[taps[1]].get("ifname"), "eth7", ports[taps[1]])
        self.assertIsNone(ports[taps[0]].get("ifindex", "missing"), ports[taps[0]])

    def test_deleted_tap_removed_from_switch(self):
        h1, h2, h3 = self.hosts(3)
        self.ping_ok(h1, h2.ip)
        self.ping_ok(h3, h2.ip)
        self.assertEqual(len(self.ports()), 3)

        harness.ip("-n", h1.ns, "link", "del", "dev", h1.ifname)
        gone = harness.wait_until(lambda: h1.port not in self.ports(), 5, interval=0.2)
        self.assertTrue(gone, "port %s still in show-ports 5 s after its TAP was deleted: %r" % (h1.port, self.ports()))
        self.assertNotIn(h1.port, [e["port"] for e in self.macs()], "MAC entries of the deleted TAP remain")
        arp = self.ctl_json("show-arp")
        self.assertNotIn(h1.ip, [e["ip"] for e in arp], "ARP binding of the deleted TAP's host remains: %r" % arp)
        self.assertIn(h2.ip, [e["ip"] for e in arp], "ARP binding of another port was removed: %r" % arp)

        harness.delete_namespace(h3.ns)
        gone = harness.wait_until(lambda: h3.port not in self.ports(), 5, interval=0.2)
        self.assertTrue(gone, "port %s still in show-ports 5 s after its namespace was deleted" % h3.port)
        self.assertNotIn(h3.port, [e["port"] for e in self.macs()])
        self.assertNotIn(h3.ip, [e["ip"] for e in self.ctl_json("show-arp")])

        self.assertIn(h2.port, self.ports())
        self.assertTrue(self.daemon.running(), "switchd died:\n%s" % self.daemon.log_tail())
        # A port of the same name can be added again.
        self.ctl_ok("add-port", h1.port)
        self.assertIn(h1.port, self.ports())

    def test_persistent_tap_attached_and_kept(self):
        pers = harness.tap_name()
        harness._root_links.append(pers)
        harness.ip("tuntap", "add", "dev", pers, "mode", "tap")
        other = harness.tap_name()
        d = self.start_daemon([pers, other])
        self.assertIn(pers, self.ports())
        h1 = self.add_host(pers, 1)
        h2 = self.add_host(other, 2)
        self.ping_ok(h1, h2.ip)

        # A second persistent TAP added and removed at runtime survives del-port.
        pers2 = harness.tap_name()
        harness._root_links.append(pers2)
        harness.ip("tuntap", "add", "dev", pers2, "mode", "tap")
        self.ctl_ok("add-port", pers2)
        self.assertIn(pers2, self.ports())
        self.ctl_ok("del-port", pers2)
        self.assertNotIn(pers2, self.ports())
        self.assertTrue(harness.link_exists(pers2), "del-port deleted the pre-existing persistent TAP %s" % pers2)

        rc = d.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, d.log_tail())
        self.assertTrue(harness.link_exists(pers, ns=h1.ns), "switchd deleted the pre-existing persistent TAP %s at exit" % pers)
        self.assertFalse(harness.link_exists(other, ns=h2.ns), "switchd left the TAP it created (%s)" % other)
        self.assertTrue(harness.link_exists(pers2))


if __name__ == "__main__":
    unittest.main()
