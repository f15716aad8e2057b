"""Soak: mixed traffic between four namespaces plus control churn (ports added and deleted, flushes,
static entries, aging changes, bad requests, configuration reloads) for SWITCHD_SOAK_SECONDS
(default 60). The switch must report no sanitizer error (run it against an AddressSanitizer
build: SWITCHD=build-asan/bin/switchd), lose no pings, and keep its descriptor count and RSS
stable after a warm-up.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import stress  # noqa: E402

SECONDS = float(os.environ.get("SWITCHD_SOAK_SECONDS", "60"))
WARMUP = min(15.0, SECONDS / 4)
# RSS may still settle after the warm-up (allocator arenas, a sanitizer's quarantine: see stress.py),
# but must not keep growing: growth over the second half of the run is bounded tighter than over
# the whole.
MAX_RSS_GROWTH_KIB = 8 * 1024
MAX_RSS_GROWTH_SECOND_HALF_KIB = 3 * 1024



class SoakTest(harness.SwitchTestCase):
    def setUp(self):
        super().setUp()
        self.rng = random.Random(int(os.environ.get("SWITCHD_SOAK_SEED", str(os.getpid()))))
        self.conn = None
        self.counts = {}

    def call(self, method, params=None, expect_error=False):
        if self.conn is None:
            self.conn = harness.RpcConn(self.socket_path, timeout=10)
        resp = self.conn.call(method, params)
        self.counts[method] = self.counts.get(method, 0) + 1
        if expect_error:
            self.assertIn("error", resp, "%s %r: %r" % (method, params, resp))
        else:
            self.assertIn("result", resp, "%s %r: %r" % (method, params, resp))
        return resp.get("result")

    def write_config(self, path, document):
        with open(path + ".new", "w") as f:
            json.dump(document, f)
        os.rename(path + ".new", path)

    def test_soak(self):
        taps = [harness.tap_name() for _ in range(4)]
        extras = [harness.tap_name() for _ in range(3)]  # added and deleted over and over
        reloaded = harness.tap_name()  # the config file adds and drops it
        harness._root_links.extend(taps + extras + [reloaded])
        config = os.path.join(self.tmp.name, "switchd.json")
        base_config = {
            "ports": taps,
            "aging": 120,
            "macs": [{"mac": "02:50:00:00:00:01", "port": taps[0]}],
            "arp": [{"ip": "198.18.0.201", "mac": "02:50:00:00:00:01"}],
        }
        self.write_config(config, base_config)
        # info, not debug: at debug every learned MAC is a log line.
        d = harness.Daemon(self.socket_path, extra_args=["--config", config, "--log-level", "info"], log_level=None)
        self._my_daemons.append(d)
        self.daemon = d.start(ready_timeout=20)
        pid = d.proc.pid
        hosts = [self.add_host(tap, i + 1) for i, tap in enumerate(taps)]
        for h in hosts[1:]:
            self.ping_ok(hosts[0], h.ip, count=1)

        traffic = [
            stress.Pinger(hosts[0], hosts[1].ip, interval=0.005, size=1000, max_seconds=SECONDS + 60),
            stress.Pinger(hosts[2], hosts[3].ip, interval=0.005, size=1000, max_seconds=SECONDS + 60),
            stress.Pinger(hosts[1], hosts[2].ip, interval=0.01, max_seconds=SECONDS + 60),
            stress.Pinger(hosts[3], hosts[0].ip, interval=0.01, max_seconds=SECONDS + 60),
        ]
        blasters = [stress.FrameBlaster(hosts[1].ns, hosts[1].ifname, "02:51:00:00:00:02", rate=300,
                                        max_seconds=SECONDS + 60)]
        iperf = self.start_iperf(hosts[2], hosts[0])

        samples = []  # (elapsed, fds, rss) at quiet points: no extra port, no extra client
        started = time.monotonic()
        deadline = started + SECONDS
        reload_at = started + 5
        rounds = 0
        try:
            while time.monotonic() < deadline:
                rounds += 1
                self.churn_round(taps, extras)
                if time.monotonic() >= reload_at:
                    self.reload_round(d, config, base_config, reloaded)
                    reload_at = time.monotonic() + 5
                self.assertTrue(d.running(), "switchd died\n%s" % d.log_tail())
                elapsed = time.monotonic() - started
                if elapsed >= WARMUP:
                    # Each port holds one descriptor (its TAP), and the reloads add and remove one:
                    # what must stay constant is the count besides the ports'.
                    ports = len(self.call("show-ports"))
                    self.conn.close()
                    self.conn = None
                    expected = samples[0][1] + ports if samples else None
                    fds = stress.settled_fd_count(pid, expected=expected) - ports
                    samples.append((elapsed, fds, stress.rss_kib(pid), stress.fd_targets(pid)))
        finally:
            summaries = [p.stop() for p in traffic]
            for b in blasters:
                b.stop()
            self.stop_iperf(iperf)

        sys.stderr.write("\n  soak: %.0f s, %d rounds, %s\n" % (
            time.monotonic() - started, rounds, ", ".join("%s %d" % kv for kv in sorted(self.counts.items()))))
        for p, s in zip(traffic, summaries):
            slow = sorted((rtt for _, rtt in s["rtts"]), reverse=True)
            sys.stderr.write("  %s: %d/%d, RTT avg %s ms, max %s ms, %d over 50 ms\n" % (
                p.describe, s["received"], s["sent"], s["avg"], s["max"], sum(1 for r in slow if r > 50)))
            lost = s["sent"] - s["received"]
            self.assertLessEqual(lost, 2 + s["sent"] // 1000, "%s lost %d of %d" % (p.describe, lost, s["sent"]))

        self.assertGreaterEqual(len(samples), 3, "too few samples after the warm-up")
        first, mid, last = samples[0], samples[len(samples) // 2], samples[-1]
        sys.stderr.write("  after warm-up: fds besides the ports' %d -> %d; RSS %d -> %d -> %d KiB (%d samples)\n" % (
            first[1], last[1], first[2], mid[2], last[2], len(samples)))
        self.assertEqual(last[1], first[1], "descriptors leaked:\n%s" % stress.describe_fd_change(first[3], last[3]))
        slack = stress.rss_slack_kib(pid)
        self.assertLess(last[2] - first[2], MAX_RSS_GROWTH_KIB + slack,
                        "RSS grew from %d to %d KiB" % (first[2], last[2]))
        self.assertLess(last[2] - mid[2], MAX_RSS_GROWTH_SECOND_HALF_KIB,
                        "RSS still growing in the second half: %d -> %d KiB" % (mid[2], last[2]))

        # A clean exit: leak checks run at exit in a sanitizer build.
        rc = d.stop(signal.SIGTERM, timeout=20)
        reports = stress.sanitizer_reports(d.log())
        self.assertEqual(reports, [], "sanitizer reports:\n%s" % d.log_tail(200))
        self.assertEqual(rc, 0, d.log_tail())

    # -- churn -----------------------------------------------------------------------------------

    def churn_round(self, taps, extras):
        """One round of control operations; ends with no extra port and static entries as before."""
        rng = self.rng
        added = []
        for name in extras:
            if rng.random() < 0.7:
                port = self.call("add-port", {"name": name, "offload": rng.random() < 0.5})
                added.append(port["name"])
        ports = taps + added
        statics = []
        for _ in range(rng.randint(5, 20)):
            op = rng.random()
            if op < 0.25:
                mac = "02:52:00:00:%02x:%02x" % (rng.randrange(256), rng.randrange(256))
                self.call("add-mac", {"mac": mac, "port": rng.choice(ports), "vlan": rng.choice([1, 1, 7])})
                # del-mac without a VLAN removes the MAC from every VLAN: list it once.
                if mac not in statics:
                    statics.append(mac)
            elif op < 0.35 and statics:
                self.call("del-mac", {"mac": statics.pop()})
            elif op < 0.45:
                ip_addr = "198.18.1.%d" % rng.randrange(1, 255)
                self.call("add-arp", {"ip": ip_addr, "mac": "02:53:00:00:00:%02x" % rng.randrange(256)})
                self.call("del-arp", {"ip": ip_addr})
            elif op < 0.55:
                self.call("flush-macs", {"port": rng.choice(ports)} if rng.random() < 0.5 else None)
            elif op < 0.62:
                self.call("set-aging", {"seconds": rng.choice([1, 5, 60, 300])})
            elif op < 0.80:
                self.call(rng.choice(["show-macs", "show-ports", "show-arp", "show-stats", "help", "version"]))
            elif op < 0.88:
                self.call(rng.choice(["add-mac", "del-port", "set-aging", "no-such-method"]),
                          {"mac": "zz", "name": "nosuch0", "seconds": -1}, expect_error=True)
            elif op < 0.94:
                self.abrupt_client(rng)
            else:
                self.call("show-macs", {"port": rng.choice(ports)})
        for mac in statics:
            self.call("del-mac", {"mac": mac})
        for name in added:
            self.call("del-port", {"name": name})
        self.call("set-aging", {"seconds": 120})

    def abrupt_client(self, rng):
        """A client that goes away mid-request, or after requests it does not wait for."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.socket_path)
            if rng.random() < 0.5:
                s.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "show-')
            else:
                s.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "show-macs"}\n' * 50 + b"[1, {")
        finally:
            s.close()
        self.counts["abrupt-client"] = self.counts.get("abrupt-client", 0) + 1

    def reload_round(self, daemon, config, base_config, reloaded):
        """Rewrites the config file (an extra port and static entries in or out, sometimes invalid)
        and sends SIGHUP; waits for the reload's log line."""
        rng = self.rng
        document = json.loads(json.dumps(base_config))
        if rng.random() < 0.5:
            document["ports"].append(reloaded)
            document["macs"].append({"mac": "02:50:00:00:00:02", "port": reloaded})
        document["aging"] = rng.choice([60, 120])
        if rng.random() < 0.2:
            document["macs"].append({"mac": "02:50:00:00:00:03", "port": "nosuch0"})  # refused whole
        self.write_config(config, document)
        before = daemon.log().count("reload: ")
        daemon.proc.send_signal(signal.SIGHUP)
        ok = harness.wait_until(lambda: daemon.log().count("reload: ") > before, 5, interval=0.05)
        self.assertTrue(ok, "no reload line after SIGHUP\n%s" % daemon.log_tail())
        self.counts["reload"] = self.counts.get("reload", 0) + 1

    # -- TCP load ----------------------------------------------------------------------------------

    def start_iperf(self, client, server):
        """iperf3 between two hosts for the whole run (TCP through the switch), if installed."""
        if subprocess.run(["which", "iperf3"], stdout=subprocess.DEVNULL).returncode != 0:
            return None
        srv = subprocess.Popen(["ip", "netns", "exec", server.ns, "iperf3", "-s", "-1", "-B", server.ip],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=harness._set_pdeathsig)
        harness._children.append(srv)
        time.sleep(0.3)
        cli = subprocess.Popen(["ip", "netns", "exec", client.ns, "iperf3", "-c", server.ip, "-t",
                                str(int(SECONDS) + 30), "-b", "20M"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=harness._set_pdeathsig)
        harness._children.append(cli)
        return (srv, cli)

    def stop_iperf(self, procs):
        for p in procs or ():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
            if p in harness._children:
                harness._children.remove(p)


if __name__ == "__main__":
    unittest.main()
