"""SIGHUP rereads the configuration file: ports and static entries follow the file, learned state
stays, ports that are not the file's stay, and an invalid file changes nothing."""

import json
import os
import signal
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


class ReloadTest(harness.SwitchTestCase):
    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.tmp.name, "switchd.json")

    def write_config(self, document):
        # Written whole and renamed, as an editor or a config manager would.
        text = document if isinstance(document, str) else json.dumps(document, indent=2)
        with open(self.config + ".new", "w") as f:
            f.write(text)
        os.rename(self.config + ".new", self.config)

    def reload(self, expect="reload: "):
        """Sends SIGHUP and waits for the next reload line in the log; returns it."""
        before = self.daemon.log().count(expect)
        self.daemon.proc.send_signal(signal.SIGHUP)
        ok = harness.wait_until(lambda: self.daemon.log().count(expect) > before, 5, interval=0.05)
        self.assertTrue(ok, "no %r line after SIGHUP\n%s" % (expect, self.daemon.log_tail()))
        self.assertTrue(self.daemon.running(), self.daemon.log_tail())
        lines = [l for l in self.daemon.log().splitlines() if expect in l]
        return lines[-1]

    def static_macs(self):
        return sorted((e["mac"], e["port"], e["vlan"]) for e in self.macs() if e["type"] == "static")

    def static_arp(self):
        return sorted((e["ip"], e["mac"], e["vlan"]) for e in self.ctl_json("show-arp") if e["type"] == "static")

    def dynamic_macs(self):
        return {e["mac"]: e["port"] for e in self.macs() if e["type"] == "dynamic"}

    def test_reload_follows_the_file_and_keeps_learned_state(self):
        file_a, file_b, gone, new = (harness.tap_name() for _ in range(4))
        cli, runtime = harness.tap_name(), harness.tap_name()
        harness._root_links.extend([file_a, file_b, gone, new, runtime])
        self.write_config({
            "ports": [file_a, file_b, gone],
            "aging": 100,
            "max_macs": 1024,
            "macs": [{"mac": "02:aa:00:00:00:01", "port": file_a},
                     {"mac": "02:aa:00:00:00:02", "port": gone},
                     {"mac": "02:aa:00:00:00:03", "port": file_b, "vlan": 1}],
            "arp": [{"ip": "198.18.0.201", "mac": "02:aa:00:00:00:01"},
                    {"ip": "198.18.0.202", "mac": "02:aa:00:00:00:02"}],
        })
        self.start_daemon([cli], extra_args=["--config", self.config])
        self.ctl_ok("add-port", runtime)
        h1 = self.add_host(file_a, 1)
        h2 = self.add_host(file_b, 2)
        h3 = self.add_host(cli, 3)
        self.ping_ok(h1, h2.ip)
        self.ping_ok(h3, h2.ip)
        learned = self.dynamic_macs()
        self.assertEqual(learned.get(h1.mac()), file_a)
        self.assertEqual(learned.get(h2.mac()), file_b)
        arp_learned = {e["ip"]: e["mac"] for e in self.ctl_json("show-arp") if e["type"] == "dynamic"}
        self.assertIn(h1.ip, arp_learned)

        # The file drops `gone`, adds `new`, moves and adds static entries, changes the aging time
        # and the table size (which needs a restart).
        self.write_config({
            "ports": [file_a, file_b, new],
            "aging": 60,
            "max_macs": 2048,
            "macs": [{"mac": "02:AA:00:00:00:01", "port": file_a, "vlan": 1},  # same entry, spelled otherwise
                     {"mac": "02:aa:00:00:00:03", "port": new},               # moved
                     {"mac": "02:aa:00:00:00:04", "port": cli},               # on a --port port
                     {"mac": "02:aa:00:00:00:05", "port": runtime}],          # on a switchctl port
            "arp": [{"ip": "198.18.0.201", "mac": "02:aa:00:00:00:01"},
                    {"ip": "198.18.0.203", "mac": "02:aa:00:00:00:03"}],
        })
        line = self.reload()
        self.assertIn("ports +1 -1", line)
        self.assertIn("static MAC entries +3 -1", line)
        self.assertIn("static ARP bindings +1 -1", line)
        self.assertIn("aging 60 s", line)
        self.assertIn("'max_macs' cannot change without a restart", self.daemon.log())

        ports = self.ports()
        self.assertEqual(sorted(ports), sorted([file_a, file_b, new, cli, runtime]))
        self.assertFalse(harness.link_exists(gone), "the TAP of the removed port %s is still there" % gone)
        self.assertEqual(self.static_macs(), sorted([
            ("02:aa:00:00:00:01", file_a, 1), ("02:aa:00:00:00:03", new, 1),
            ("02:aa:00:00:00:04", cli, 1), ("02:aa:00:00:00:05", runtime, 1)]))
        self.assertEqual(self.static_arp(), sorted([
            ("198.18.0.201", "02:aa:00:00:00:01", 1), ("198.18.0.203", "02:aa:00:00:00:03", 1)]))
        self.assertEqual(self.stats()["aging"], 60)
        self.assertEqual(self.stats()["macs"]["max"], 1024)
        # Learned state is untouched, and forwarding goes on.
        after = self.dynamic_macs()
        for mac, port in learned.items():
            if port != gone:  # went with its port
                self.assertEqual(after.get(mac), port, "learned entry %s changed: %r" % (mac, after))
        arp_after = {e["ip"]: e["mac"] for e in self.ctl_json("show-arp") if e["type"] == "dynamic"}
        for ip_addr, mac in arp_learned.items():
            self.assertEqual(arp_after.get(ip_addr), mac)
        self.ping_ok(h1, h2.ip)

        # Reloading the same file changes nothing.
        line = self.reload()
        self.assertIn("ports +0 -0, static MAC entries +0 -0, static ARP bindings +0 -0", line)
        self.assertNotIn("aging", line)

        # A port of the file deleted since comes back with its static entries on the next reload.
        harness.ip("link", "set", "dev", new, "netns", h2.ns)
        harness.delete_namespace(h2.ns)  # takes file_b and new with it
        self.assertTrue(harness.wait_until(lambda: new not in self.ports() and file_b not in self.ports(), 5),
                        self.ports())
        line = self.reload()
        self.assertIn("ports +2 -0", line)
        self.assertIn("02:aa:00:00:00:03", [m for m, _, _ in self.static_macs()])
        self.assertIn(new, self.ports())

    def test_invalid_file_changes_nothing(self):
        taps = [harness.tap_name() for _ in range(2)]
        harness._root_links.extend(taps)
        good = {"ports": taps, "aging": 100, "macs": [{"mac": "02:bb:00:00:00:01", "port": taps[0]}]}
        self.write_config(good)
        self.start_daemon(extra_args=["--config", self.config])
        before = (sorted(self.ports()), self.static_macs(), self.static_arp(), self.stats()["aging"])

        extra = harness.tap_name()
        harness._root_links.append(extra)
        bad_files = [
            ('{"ports": [', "not valid JSON"),
            ({"ports": taps, "agin": 5}, "unknown key 'agin'"),
            ({"ports": taps + ["bad/name"]}, "invalid port name 'bad/name'"),
            ({"ports": taps + [extra], "aging": 5,
              "macs": [{"mac": "02:bb:00:00:00:01", "port": "nosuch0"}]}, "macs[0]: unknown port 'nosuch0'"),
            ({"ports": [taps[0], extra], "arp": [{"ip": "198.18.0.300", "mac": "02:bb:00:00:00:01"}]},
             "arp[0]: invalid IPv4 address '198.18.0.300'"),
            ({"ports": [taps[0], taps[0]]}, "already exists"),
            ({"log_level": "loud"}, "'log_level'"),
        ]
        for document, message in bad_files:
            self.write_config(document)
            line = self.reload(expect="keeping the running configuration")
            self.assertIn("reload: %s: " % self.config, line)
            self.assertIn(message, line)
            self.assertIn(" error: ", line)
            after = (sorted(self.ports()), self.static_macs(), self.static_arp(), self.stats()["aging"])
            self.assertEqual(after, before, "an invalid file (%s) changed the switch" % message)
            self.assertFalse(harness.link_exists(extra), "an invalid file created TAP %s" % extra)

        os.unlink(self.config)
        line = self.reload(expect="keeping the running configuration")
        self.assertIn("cannot read: No such file or directory", line)

        # The next valid file is diffed against the last one that was applied.
        good["ports"] = [taps[0]]
        self.write_config(good)
        line = self.reload()
        self.assertIn("ports +0 -1", line)
        self.assertEqual(sorted(self.ports()), [taps[0]])

    def test_sighup_without_config_file(self):
        tap = harness.tap_name()
        self.start_daemon([tap])
        line = self.reload(expect="reload: ")
        self.assertIn("without --config", line)
        self.assertEqual(list(self.ports()), [tap])
        self.assertTrue(self.daemon.running())

    def test_command_line_scalars_win_over_the_file(self):
        tap = harness.tap_name()
        harness._root_links.append(tap)
        self.write_config({"ports": [tap], "aging": 100})
        self.start_daemon(extra_args=["--config", self.config, "--aging", "42"])
        self.assertEqual(self.stats()["aging"], 42)
        self.write_config({"ports": [tap], "aging": 7})
        self.reload()
        self.assertEqual(self.stats()["aging"], 42)
        self.assertIn("'aging' is set by --aging", self.daemon.log())
        # set-aging at runtime is kept by a reload that does not change the file's aging.
        self.ctl_ok("set-aging", 33)
        self.reload()
        self.assertEqual(self.stats()["aging"], 33)

    def test_bad_file_at_start_names_the_entry(self):
        tap = harness.tap_name()
        harness._root_links.append(tap)
        self.write_config({"ports": [tap], "macs": [{"mac": "02:00:00:00:00:01", "port": "nosuch0"}]})
        rc, out, err = harness.run([harness.SWITCHD, "--socket", self.socket_path, "--config", self.config],
                                   timeout=10)
        self.assertEqual(rc, 1, err)
        self.assertEqual(err.strip(), "switchd: %s: config: macs[0]: unknown port 'nosuch0'" % self.config)
        self.assertFalse(harness.link_exists(tap), "a TAP was created although the config is invalid")
        self.assertFalse(os.path.exists(self.socket_path))


if __name__ == "__main__":
    unittest.main()
