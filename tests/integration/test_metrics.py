"""--metrics: the Prometheus endpoint, scraped with curl on 127.0.0.1 (and ::1), against show-stats and
show-ports while two namespaces ping each other through the switch."""

import json
import os
import re
import socket
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\d+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|\})')

# show-stats keys -> metric (and labels).
GLOBAL_COUNTERS = [
    (("frames", "rx_packets"), "switchd_rx_packets_total", {}),
    (("frames", "rx_bytes"), "switchd_rx_bytes_total", {}),
    (("frames", "tx_packets"), "switchd_tx_packets_total", {}),
    (("frames", "tx_bytes"), "switchd_tx_bytes_total", {}),
    (("frames", "unicast_forwarded"), "switchd_unicast_forwarded_total", {}),
    (("frames", "flooded"), "switchd_flooded_total", {}),
    (("frames", "unknown_unicast"), "switchd_unknown_unicast_total", {}),
    (("frames", "malformed"), "switchd_dropped_total", {"reason": "malformed"}),
    (("frames", "vlan_dropped"), "switchd_dropped_total", {"reason": "vlan"}),
    (("frames", "local_dropped"), "switchd_dropped_total", {"reason": "local"}),
    (("frames", "storm_dropped"), "switchd_dropped_total", {"reason": "storm"}),
    (("frames", "tx_failed"), "switchd_dropped_total", {"reason": "tx_failed"}),
    (("frames", "offload_dropped"), "switchd_dropped_total", {"reason": "offload"}),
    (("macs", "learned"), "switchd_mac_learned_total", {}),
    (("macs", "moved"), "switchd_mac_moved_total", {}),
    (("macs", "move_damped"), "switchd_mac_move_damped_total", {}),
    (("macs", "expired"), "switchd_mac_expired_total", {}),
    (("macs", "evicted"), "switchd_mac_evicted_total", {}),
    (("macs", "port_limited"), "switchd_mac_port_limited_total", {}),
    (("arp", "learned"), "switchd_arp_learned_total", {}),
    (("arp", "answered"), "switchd_arp_answered_total", {}),
    (("arp", "flooded"), "switchd_arp_flooded_total", {}),
]
PORT_COUNTERS = [
    ("rx_packets", "switchd_port_rx_packets_total"),
    ("tx_packets", "switchd_port_tx_packets_total"),
    ("rx_bytes", "switchd_port_rx_bytes_total"),
    ("tx_bytes", "switchd_port_tx_bytes_total"),
    ("rx_dropped", "switchd_port_rx_dropped_total"),
    ("tx_dropped", "switchd_port_tx_dropped_total"),
]


def parse_exposition(text):
    """Reads the Prometheus text format strictly. Returns (types, samples), samples keyed by
    (name, frozenset of label items); raises AssertionError on anything the format forbids."""
    if not text.endswith("\n"):
        raise AssertionError("exposition does not end with a newline")
    helps, types, samples = {}, {}, {}
    finished, current = set(), None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            name, _, rest = line[7:].partition(" ")
            if not METRIC_NAME.match(name):
                raise AssertionError("bad metric name: %r" % line)
            if name != current:
                if current:
                    finished.add(current)
                if name in finished:
                    raise AssertionError("family %s split in two blocks" % name)
                current = name
            table = helps if line[2] == "H" else types
            if name in table:
                raise AssertionError("second %s for %s" % (line[2:6], name))
            table[name] = rest
            if line[2] == "T":
                if rest not in ("counter", "gauge"):
                    raise AssertionError("unexpected type: %r" % line)
                if rest == "counter" and not name.endswith("_total"):
                    raise AssertionError("counter not named *_total: %r" % line)
                if name not in helps:
                    raise AssertionError("TYPE before HELP: %r" % line)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        name, label_text, value = m.groups()
        if name != current or name not in types:
            raise AssertionError("sample outside its family's block: %r" % line)
        labels = {}
        if label_text:
            pos = 1
            while pos < len(label_text):
                lm = LABEL.match(label_text, pos)
                if not lm:
                    raise AssertionError("bad labels: %r" % line)
                raw = lm.group(2)
                labels[lm.group(1)] = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), raw)
                pos = lm.end()
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise AssertionError("duplicate series: %r" % line)
        samples[key] = int(value)
    return types, samples


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scrape:
    """One curl of the endpoint: status, headers (lower-case names) and the parsed metrics."""

    def __init__(self, url, method="GET"):
        argv = ["curl", "-sS", "--max-time", "5", "-i", "-g", url]
        if method == "HEAD":
            argv[-2:-2] = ["-I"]
        elif method != "GET":
            argv[-2:-2] = ["-X", method]
        rc, out, err = harness.run(argv, timeout=10)
        if rc != 0:
            raise AssertionError("curl %s failed (rc %d): %s" % (url, rc, err))
        # harness.run reads text: "\r\n" arrives as "\n".
        head, _, self.body = out.partition("\n\n")
        lines = head.split("\n")
        self.status = lines[0]
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.types, self.samples = ({}, {})
        if self.status.split()[1:2] == ["200"] and method == "GET":
            self.types, self.samples = parse_exposition(self.body)

    def value(self, name, **labels):
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            raise AssertionError("no sample %s%r in:\n%s" % (name, labels, self.body[:3000]))
        return self.samples[key]


def dig(stats, path):
    for key in path:
        stats = stats[key]
    return stats


class MetricsTest(harness.SwitchTestCase):
    def start_with_metrics(self, n_ports):
        """switchd with n_ports TAPs and --metrics on a free 127.0.0.1 port; returns (hosts, url).
        The port is free when chosen; another process may take it before switchd binds it, so that
        case is retried."""
        for _ in range(3):
            port = free_port()
            taps = [harness.tap_name() for _ in range(n_ports)]
            try:
                self.start_daemon(taps, extra_args=["--metrics", "127.0.0.1:%d" % port])
            except AssertionError as e:
                if "Address already in use" in str(e):
                    continue
                raise
            hosts = [self.add_host(tap, i + 1) for i, tap in enumerate(taps)]
            return hosts, "http://127.0.0.1:%d/metrics" % port
        self.fail("could not find a free port for --metrics in 3 tries")

    def assert_between(self, low, value, high, what):
        self.assertTrue(low <= value <= high, "%s: %d not in [%d, %d]" % (what, value, low, high))

    def test_counters_match_show_stats_and_show_ports_and_grow_with_traffic(self):
        (h1, h2), url = self.start_with_metrics(2)
        self.ping_ok(h1, h2.ip, count=3)

        # Traffic may trickle in between the calls: the scrape must sit between the two snapshots.
        stats_before, ports_before = self.stats(), self.ports()
        m = Scrape(url)
        stats_after, ports_after = self.stats(), self.ports()

        self.assertEqual(m.status, "HTTP/1.1 200 OK")
        self.assertEqual(m.headers.get("content-type"), CONTENT_TYPE)
        self.assertEqual(int(m.headers["content-length"]), len(m.body.encode()))
        for path, name, labels in GLOBAL_COUNTERS:
            self.assertEqual(m.types[name], "counter", name)
            self.assert_between(dig(stats_before, path), m.value(name, **labels), dig(stats_after, path), name)
        reasons = ("malformed", "vlan", "local", "storm", "tx_failed", "offload")
        dropped = sum(m.value("switchd_dropped_total", reason=r) for r in reasons)
        self.assert_between(stats_before["frames"]["dropped"], dropped, stats_after["frames"]["dropped"], "dropped")
        self.assertEqual(m.value("switchd_mac_table_capacity"), stats_after["macs"]["max"])
        self.assertEqual(m.value("switchd_arp_table_capacity"), stats_after["arp"]["max"])
        self.assert_between(
            stats_before["macs"]["current"], m.value("switchd_mac_table_entries"), stats_after["macs"]["current"], "macs"
        )
        self.assertGreaterEqual(m.value("switchd_mac_table_entries"), 2)
        self.assertEqual(m.value("switchd_ports"), 2)
        self.assertEqual(m.value("switchd_aging_seconds"), stats_after["aging"])
        self.assertEqual(m.value("switchd_up"), 1)
        self.assertGreaterEqual(m.value("switchd_unicast_forwarded_total"), 6, "3 pings and 3 replies")

        for h in (h1, h2):
            for field, name in PORT_COUNTERS:
                self.assert_between(
                    ports_before[h.port][field], m.value(name, port=h.port), ports_after[h.port][field],
                    "%s %s" % (name, h.port),
                )
            self.assertEqual(m.value("switchd_port_up", port=h.port), 1)
            self.assertEqual(m.value("switchd_port_mac_entries", port=h.port), 1)
        # One snapshot: the totals are the ports' sums (no port was removed).
        for field, name in PORT_COUNTERS[:4]:
            total = m.value(name.replace("port_", ""))
            self.assertEqual(total, sum(m.value(name, port=h.port) for h in (h1, h2)), name)

        # More traffic: every counter it touches grows by at least what was sent.
        self.ping_ok(h1, h2.ip, count=5, interval=0.1)
        later = Scrape(url)
        grew = lambda name, **labels: later.value(name, **labels) - m.value(name, **labels)  # noqa: E731
        self.assertGreaterEqual(grew("switchd_rx_packets_total"), 10)
        self.assertGreaterEqual(grew("switchd_tx_packets_total"), 10)
        self.assertGreaterEqual(grew("switchd_rx_bytes_total"), 10 * 98)  # ICMP echo: 98-byte frames
        self.assertGreaterEqual(grew("switchd_unicast_forwarded_total"), 10)
        for h in (h1, h2):
            self.assertGreaterEqual(grew("switchd_port_rx_packets_total", port=h.port), 5)
            self.assertGreaterEqual(grew("switchd_port_tx_packets_total", port=h.port), 5)
        for (name, labels), value in later.samples.items():
            if later.types[name] == "counter":
                self.assertGreaterEqual(value, m.samples.get((name, labels), 0), "counter %s went down" % name)

    def test_head_other_paths_and_other_methods(self):
        _, url = self.start_with_metrics(1)
        head = Scrape(url, method="HEAD")
        self.assertEqual(head.status, "HTTP/1.1 200 OK")
        self.assertEqual(head.headers.get("content-type"), CONTENT_TYPE)
        self.assertEqual(head.body, "")
        self.assertGreater(int(head.headers["content-length"]), 1000)

        base = url[: -len("/metrics")]
        for path in ("/", "/metricsx", "/metrics/", "/api"):
            self.assertEqual(Scrape(base + path).status, "HTTP/1.1 404 Not Found", path)
        for method in ("POST", "PUT", "DELETE"):
            r = Scrape(url, method=method)
            self.assertEqual(r.status, "HTTP/1.1 405 Method Not Allowed", method)
            self.assertEqual(r.headers.get("allow"), "GET, HEAD", method)
        self.assertEqual(Scrape(url).status, "HTTP/1.1 200 OK")

    def test_scraping_while_forwarding_loses_no_frame(self):
        (h1, h2), url = self.start_with_metrics(2)
        self.ping_ok(h1, h2.ip, count=1)
        stop = threading.Event()
        scrapes, failures = [0], []

        def scrape_loop():
            deadline = time.monotonic() + 15
            while not stop.is_set() and time.monotonic() < deadline and scrapes[0] < 5000:
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        r.read()
                    scrapes[0] += 1
                except (OSError, urllib.error.URLError) as e:
                    failures.append(repr(e))
                    return

        scraper = threading.Thread(target=scrape_loop)
        scraper.start()
        try:
            ok, out = h1.ping(h2.ip, count=100, interval=0.01, wait=1)
        finally:
            stop.set()
            scraper.join(timeout=20)
        self.assertEqual(failures, [])
        self.assertGreater(scrapes[0], 20, "the scraper barely ran")
        self.assertTrue(ok, out)
        self.assertIn(" 0% packet loss", out, out)

    def test_bad_metrics_value_is_a_usage_error(self):
        for value in ("nonsense", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "localhost:9100", "::1:9100",
                      "[::1]9100", "1.2.3:80"):
            argv = [harness.SWITCHD, "--socket", self.socket_path, "--metrics", value]
            rc, out, err = harness.run(argv, timeout=10)
            self.assertEqual(rc, 2, "%s: rc %d\n%s" % (value, rc, err))
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn("invalid --metrics '%s' (expected ADDR:PORT" % value, err)
            self.assertFalse(os.path.exists(self.socket_path))
        # The same in the configuration file: a configuration error, exit status 1.
        config = os.path.join(self.tmp.name, "switchd.json")
        with open(config, "w") as f:
            json.dump({"metrics": "localhost:9100"}, f)
        rc, _, err = harness.run([harness.SWITCHD, "--socket", self.socket_path, "--config", config], timeout=10)
        self.assertEqual(rc, 1, err)
        self.assertIn("config: 'metrics' must be ADDR:PORT", err)

    def test_taken_port_exits_1_and_leaves_nothing_behind(self):
        tap = harness.tap_name()
        harness._root_links.append(tap)  # removed at cleanup if switchd left it after all
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            argv = [harness.SWITCHD, "--socket", self.socket_path, "--port", tap, "--metrics", "127.0.0.1:%d" % port]
            rc, _, err = harness.run(argv, timeout=10)
        self.assertEqual(rc, 1, err)
        self.assertEqual(
            err.strip().splitlines()[-1], "switchd: cannot serve metrics on 127.0.0.1:%d: Address already in use" % port
        )
        self.assertFalse(os.path.exists(self.socket_path), "control socket left behind")
        self.assertFalse(harness.link_exists(tap), "TAP %s left behind" % tap)

    def test_config_file_metrics_on_ipv6_loopback_with_a_kernel_chosen_port(self):
        config = os.path.join(self.tmp.name, "switchd.json")
        with open(config, "w") as f:
            json.dump({"metrics": "[::1]:0"}, f)
        d = self.start_daemon(extra_args=["--config", config])
        found = harness.wait_until(lambda: re.search(r"serving metrics on (http://\[::1\]:(\d+)/metrics)", d.log()), 5)
        self.assertTrue(found, d.log_tail())
        self.assertNotEqual(found.group(2), "0")
        m = Scrape(found.group(1))
        self.assertEqual(m.status, "HTTP/1.1 200 OK")
        self.assertEqual(m.value("switchd_ports"), 0)
        self.assertEqual(m.types["switchd_port_rx_packets_total"], "counter")
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    unittest.main()
