#!/usr/bin/env python3
"""Declarative labs: ports that switchd moves into namespaces (created if asked) with addresses,
MTUs and MACs; a lab file bringing a whole lab up; and the round trip: a lab built by hand with
switchctl, saved with `switchctl save`, switchd restarted with the saved file, the same lab."""

import os
import re
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

EXAMPLE = os.path.join(harness.REPO, "examples", "three-hosts.json")


def namespaces():
    rc, out, _ = harness.run(["ip", "netns", "list"], timeout=5)
    return {line.split()[0] for line in out.splitlines() if line.strip()} if rc == 0 else set()


def link(ns, ifname):
    rc, out, err = harness.run(["ip", "-n", ns, "-o", "link", "show", "dev", ifname], timeout=5)
    if rc != 0:
        raise AssertionError("no %s in %s: %s" % (ifname, ns, err))
    return out


def addresses(ns, ifname):
    rc, out, _ = harness.run(["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", ifname], timeout=5)
    return re.findall(r"inet (\S+)", out)


class LabTest(harness.SwitchTestCase):
    def new_namespace_name(self):
        """A name for a namespace switchd is to create; deleted by the harness if switchd does not."""
        ns = harness.ns_name()
        harness._namespaces.append(ns)
        return ns

    def ping_all(self, hosts):
        for src in hosts:
            for dst in hosts:
                if src is not dst:
                    self.ping_ok(src, dst.ip, count=2)

    def test_example_lab_comes_up_from_its_file_and_goes_with_switchd(self):
        with open(EXAMPLE) as f:
            text = f.read()
        ns = {i: self.new_namespace_name() for i in (1, 2, 3)}
        taps = {i: harness.tap_name() for i in (1, 2, 3)}
        for i in (1, 2, 3):
            text = text.replace('"lab-h%d"' % i, '"%s"' % ns[i]).replace('"h%d"' % i, '"%s"' % taps[i])
        path = os.path.join(self.tmp.name, "lab.json")
        with open(path, "w") as f:
            f.write(text)
        self.start_daemon(extra_args=["--config", path])

        hosts = [harness.Host(ns[i], taps[i], "%s.%d" % (harness.SUBNET, i), taps[i]) for i in (1, 2, 3)]
        for host in hosts:
            self.assertEqual(addresses(host.ns, host.ifname), [host.ip + "/24"])
            self.assertIn(",UP,LOWER_UP>", link(host.ns, host.ifname))
            self.assertIn("<LOOPBACK,UP,LOWER_UP>", link(host.ns, "lo"), "a created namespace gets lo up")
        self.assertIn("link/ether 02:00:00:00:01:01", link(ns[1], taps[1]))
        self.assertIn(" mtu 1400 ", link(ns[2], taps[2]))
        self.ping_all(hosts)

        ports = self.ports()
        self.assertEqual({p["netns"] for p in ports.values()}, set(ns.values()))
        self.assertEqual(ports[taps[2]]["max_macs"], 16)
        self.assertEqual(ports[taps[3]]["storm_limit"], 1000)
        self.assertEqual(self.stats()["aging"], 120)
        self.assertEqual(self.stats()["macs"]["max"], 4096)
        static = [m for m in self.macs() if m["type"] == "static"]
        self.assertEqual(static, [{"mac": "02:00:00:00:01:01", "port": taps[1], "vlan": 1, "type": "static",
                                   "age": static[0]["age"] if static else 0, "moves": 0}])

        self.daemon.stop()
        self.assertFalse(set(ns.values()) & namespaces(), "switchd left the namespaces it created")

    def test_lab_built_by_hand_is_saved_and_restored(self):
        ns1, ns2 = self.new_namespace_name(), self.new_namespace_name()
        p1, p2 = harness.tap_name(), harness.tap_name()
        self.start_daemon()
        self.ctl_ok("add-port", p1, "--netns", ns1, "--create-netns", "--address", "198.18.0.1/24",
                    "--mac", "02:00:00:00:0a:01")
        self.ctl_ok("add-port", p2, "--netns", ns2, "--create-netns", "--address", "198.18.0.2/24", "--mtu", "1400")
        self.ctl_ok("set-port", p2, "max-macs", "8", "storm-limit", "500")
        self.ctl_ok("add-mac", "02:00:00:00:0a:01", p1)
        self.ctl_ok("add-arp", "198.18.0.1", "02:00:00:00:0a:01")
        self.ctl_ok("set-aging", "77")
        hosts = [harness.Host(ns1, p1, "198.18.0.1", p1), harness.Host(ns2, p2, "198.18.0.2", p2)]
        self.ping_all(hosts)

        saved = os.path.join(self.tmp.name, "saved.json")
        self.assertEqual(self.ctl_ok("save", saved), "", "save prints nothing when it writes a file")
        before = self.ctl_json("show-config")
        with open(saved) as f:
            saved_text = f.read()
        self.assertEqual(harness.json.loads(saved_text), before)
        self.assertEqual(before["aging"], 77)
        self.assertEqual(
            before["ports"],
            [
                {"name": p1, "kind": "tap", "netns": ns1, "create_netns": True, "address": "198.18.0.1/24",
                 "mac": "02:00:00:00:0a:01"},
                {"name": p2, "kind": "tap", "netns": ns2, "create_netns": True, "address": "198.18.0.2/24",
                 "mtu": 1400, "max_macs": 8, "storm_limit": 500},
            ],
        )
        self.assertEqual(before["macs"], [{"mac": "02:00:00:00:0a:01", "port": p1, "vlan": 1}])
        self.assertEqual(before["arp"], [{"ip": "198.18.0.1", "mac": "02:00:00:00:0a:01", "vlan": 1}])

        self.daemon.stop()
        self.assertFalse({ns1, ns2} & namespaces(), "the namespaces should go with switchd")

        self.daemon = None
        restored = self.start_daemon(extra_args=["--config", saved])
        self.assertEqual(self.ctl_json("show-config"), before)
        self.ping_all(hosts)
        self.assertIn(" mtu 1400 ", link(ns2, p2))
        self.assertIn("link/ether 02:00:00:00:0a:01", link(ns1, p1))
        again = os.path.join(self.tmp.name, "again.json")
        self.ctl_ok("save", again)
        with open(again) as f:
            self.assertEqual(f.read(), saved_text, "saving the restored lab gives the same file")
        restored.stop()

    def test_missing_namespace_is_refused_and_leaves_nothing_behind(self):
        self.start_daemon()
        ns, tap = self.new_namespace_name(), harness.tap_name()
        rc, out, err = self.ctl("add-port", tap, "--netns", ns, "--address", "198.18.0.1/24")
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(
            err.strip(),
            "switchctl: port '%s': network namespace '%s' does not exist (create it with ip netns add, or ask "
            "switchd to: --create-netns)" % (tap, ns),
        )
        self.assertEqual(self.ports(), {})
        self.assertFalse(harness.link_exists(tap), "a refused port left its TAP")
        self.assertNotIn(ns, namespaces())

    def test_bad_lab_file_stops_switchd_before_anything_is_created(self):
        ns, tap = self.new_namespace_name(), harness.tap_name()
        path = os.path.join(self.tmp.name, "bad.json")
        with open(path, "w") as f:
            f.write('{"ports": [{"name": "%s", "netns": "%s", "create_netns": true, "address": "198.18.0.1"}]}'
                    % (tap, ns))
        d = harness.Daemon(self.socket_path, extra_args=["--config", path])
        self._my_daemons.append(d)
        d.start(wait=False)
        self.assertTrue(harness.wait_until(lambda: not d.running(), 5))
        self.assertEqual(d.proc.returncode, 1)
        self.assertIn("ports[0]: invalid address '198.18.0.1' (expected ADDRESS/PREFIX", d.log())
        self.assertNotIn(ns, namespaces())
        self.assertFalse(harness.link_exists(tap))

    def test_created_namespace_goes_with_the_last_port_in_it_and_others_stay(self):
        shared, tap1, tap2 = self.new_namespace_name(), harness.tap_name(), harness.tap_name()
        theirs, tap3 = harness.ns_name(), harness.tap_name()
        harness.setup_namespace(theirs)  # the user's: never deleted by switchd
        self.start_daemon()
        self.ctl_ok("add-port", tap1, "--netns", shared, "--create-netns", "--address", "198.18.0.1/24")
        self.ctl_ok("add-port", tap2, "--netns", shared, "--create-netns", "--address", "198.18.0.2/24")
        self.ctl_ok("add-port", tap3, "--netns", theirs, "--address", "198.18.0.3/24")
        self.assertEqual(addresses(theirs, tap3), ["198.18.0.3/24"])
        self.ctl_ok("del-port", tap1)
        self.assertIn(shared, namespaces(), "deleted while a port was still in it")
        self.ctl_ok("del-port", tap2)
        self.assertNotIn(shared, namespaces(), "a namespace switchd created outlived its last port")
        self.ctl_ok("del-port", tap3)
        self.assertIn(theirs, namespaces(), "switchd deleted a namespace it did not create")
        self.assertFalse(harness.link_exists(tap3, ns=theirs), "del-port left the TAP in the namespace")


if __name__ == "__main__":
    unittest.main()
