"""Offloads: TSO/checksum offload on the default ports, software GSO and checksum completion for
ports added with --offload off, and GSO frames flooded to both kinds.

The failure these tests are here to catch is "ping works, TCP breaks": a frame the switch finishes
wrongly (a bad checksum, a wrong length) is dropped silently by the receiving kernel, so ICMP still
answers while a TCP transfer stalls. Every transfer therefore runs under a stall timeout (no data
for STALL seconds fails the test instead of hanging it) and is checked end to end with SHA-256.

Needs ethtool and iperf3 besides what the other integration tests use.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

STALL = 8  # seconds without progress that fail a transfer
FILE_SIZE = 20 * 1024 * 1024
PORT = 5201

# Receives one TCP connection until EOF and prints the SHA-256 and length of what came.
# argv: bind address, port, stall timeout.
RECEIVER = r"""
import hashlib, json, socket, sys, time
ip, port, stall = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((ip, port))
srv.listen(1)
srv.settimeout(stall + 5)
print("listening", flush=True)
conn, _ = srv.accept()
conn.settimeout(stall)
h = hashlib.sha256()
n = 0
start = time.monotonic()
while True:
    try:
        chunk = conn.recv(1 << 20)
    except socket.timeout:
        print(json.dumps({"error": "stalled: nothing for %ss after %d bytes" % (stall, n)}), flush=True)
        sys.exit(1)
    if not chunk:
        break
    h.update(chunk)
    n += len(chunk)
conn.close()
print(json.dumps({"sha256": h.hexdigest(), "bytes": n, "seconds": time.monotonic() - start}), flush=True)
"""

# Connects (retrying while the receiver is not listening yet), sends the file, again and again
# until at least `min_seconds` have passed (at least once), closes its side and waits for the
# receiver to close. argv: address, port, file, min_seconds, stall timeout.
SENDER = r"""
import json, socket, sys, time
ip, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
min_seconds, stall = float(sys.argv[4]), float(sys.argv[5])
data = open(path, "rb").read()
deadline = time.monotonic() + 5
while True:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(stall)
    try:
        s.connect((ip, port))
        break
    except (ConnectionRefusedError, socket.timeout):
        s.close()
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
start = time.monotonic()
reps = 0
try:
    while True:
        s.sendall(data)
        reps += 1
        if time.monotonic() - start >= min_seconds:
            break
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # EOF once the receiver has read everything
except socket.timeout:
    print(json.dumps({"error": "stalled: sendall/close made no progress for %ss (rep %d)" % (stall, reps)}))
    sys.exit(1)
print(json.dumps({"reps": reps, "seconds": time.monotonic() - start}))
"""


def ethtool_features(host):
    """`ethtool -k` of the host's interface as {feature: "on"/"off"}."""
    rc, out, err = host.exec("ethtool", "-k", host.ifname, timeout=10)
    if rc != 0:
        raise AssertionError("ethtool -k %s in %s failed (rc %d): %s%s" % (host.ifname, host.ns, rc, out, err))
    features = {}
    for line in out.splitlines()[1:]:
        key, sep, value = line.strip().partition(":")
        if sep and value.split():
            features[key.strip()] = value.split()[0]
    return features


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


class OffloadTest(harness.SwitchTestCase):
    def setUp(self):
        super().setUp()
        self.file = os.path.join(self.tmp.name, "random.bin")
        self.data = os.urandom(FILE_SIZE)
        with open(self.file, "wb") as f:
            f.write(self.data)

    # -- helpers -------------------------------------------------------------------------------

    def add_plain_host(self, index):
        """Adds a port with --offload off at runtime and puts it in a new namespace."""
        name = harness.tap_name()
        harness._root_links.append(name)
        self.ctl_ok("add-port", name, "--offload", "off")
        port = self.ports()[name]
        self.assertIs(port.get("offload"), False, port)
        return self.add_host(name, index)

    def frames(self):
        return self.stats()["frames"]

    def transfer(self, src, dst, min_seconds=0.0):
        """Sends the random file from src to dst over TCP (repeatedly for min_seconds) and checks
        that exactly those bytes arrived. Returns the sender's report."""
        argv = ["ip", "netns", "exec", dst.ns, "python3", "-c", RECEIVER, dst.ip, str(PORT), str(STALL)]
        receiver = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=harness._set_pdeathsig
        )
        harness._children.append(receiver)
        try:
            limit = min_seconds + 4 * STALL + 10
            rc, out, err = src.exec(
                "python3", "-c", SENDER, dst.ip, str(PORT), self.file, str(min_seconds), str(STALL), timeout=limit
            )
            try:
                r_out, r_err = receiver.communicate(timeout=STALL + 10)
            except subprocess.TimeoutExpired:
                receiver.kill()
                r_out, r_err = receiver.communicate(timeout=5)
                self.fail("receiver in %s did not finish\nstdout: %s\nstderr: %s" % (dst.ns, r_out, r_err))
        finally:
            if receiver.poll() is None:
                receiver.kill()
                receiver.wait(timeout=5)
            if receiver in harness._children:
                harness._children.remove(receiver)
        what = "TCP transfer %s (%s) -> %s (%s)" % (src.ip, src.port, dst.ip, dst.port)
        sent = last_json_line(out)
        self.assertEqual(rc, 0, "%s: sender failed (rc %d)\nstdout: %s\nstderr: %s\nreceiver: %s%s"
                         % (what, rc, out, err, r_out, r_err))
        got = last_json_line(r_out)
        self.assertEqual(receiver.returncode, 0, "%s: receiver failed (rc %s)\nstdout: %s\nstderr: %s"
                         % (what, receiver.returncode, r_out, r_err))
        self.assertIsNotNone(sent, "%s: sender printed no report: %r" % (what, out))
        self.assertIsNotNone(got, "%s: receiver printed no report: %r" % (what, r_out))
        reps = sent["reps"]
        expected = hashlib.sha256()
        for _ in range(reps):
            expected.update(self.data)
        self.assertEqual(got["bytes"], reps * len(self.data), "%s: byte count" % what)
        self.assertEqual(got["sha256"], expected.hexdigest(), "%s: SHA-256 differs: data corrupted" % what)
        return sent

    def assert_no_offload_drops(self):
        frames = self.frames()
        self.assertEqual(frames["offload_dropped"], 0, frames)

    # -- tests ---------------------------------------------------------------------------------

    def test_offload_ports_carry_tso_frames_intact(self):
        h1, h2 = self.hosts(2)
        for h in (h1, h2):
            features = ethtool_features(h)
            self.assertEqual(features.get("tcp-segmentation-offload"), "on", (h.ns, features))
            self.assertEqual(features.get("tx-checksumming"), "on", (h.ns, features))
            self.assertIs(self.ports()[h.port].get("offload"), True)
        self.ping_ok(h1, h2.ip, count=2)

        # iperf3 for about 3 s.
        server = subprocess.Popen(
            ["ip", "netns", "exec", h2.ns, "iperf3", "-s", "-1", "-B", h2.ip, "-p", str(PORT + 1),
             "--rcv-timeout", str(STALL * 1000)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=harness._set_pdeathsig,
        )
        harness._children.append(server)
        try:
            listening = harness.wait_until(
                lambda: h2.exec("ss", "-Hltn", "sport = :%d" % (PORT + 1), timeout=5)[1].strip(), 5, interval=0.05
            )
            self.assertTrue(listening, "iperf3 server did not start in %s" % h2.ns)
            rc, out, err = h1.exec(
                "iperf3", "-c", h2.ip, "-p", str(PORT + 1), "-t", "3", "-J", "--connect-timeout", "3000",
                "--snd-timeout", str(STALL * 1000), timeout=30,
            )
            try:
                server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate(timeout=5)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=5)
            if server in harness._children:
                harness._children.remove(server)
        try:
            report = json.loads(out)
        except ValueError:
            self.fail("iperf3 printed no JSON (rc %d): %s%s" % (rc, out[:2000], err))
        self.assertEqual(rc, 0, "iperf3 failed: %s\n%s" % (report.get("error"), err))
        self.assertNotIn("error", report, report.get("error"))
        received = report["end"]["sum_received"]
        self.assertGreater(received["bytes"], 0, received)
        self.assertGreater(received["bits_per_second"], 0, received)

        before = self.frames()
        self.transfer(h1, h2)
        self.transfer(h2, h1)
        after = self.frames()
        # Between two offload ports nothing is finished in software.
        self.assertEqual(after["gso_segmented"], before["gso_segmented"], after)
        self.assertEqual(after["checksums_completed"], before["checksums_completed"], after)
        self.assert_no_offload_drops()

    def test_port_without_offloads_gets_segments_with_valid_checksums(self):
        h1, h2 = self.hosts(2)
        h3 = self.add_plain_host(3)
        features = ethtool_features(h3)
        self.assertEqual(features.get("tcp-segmentation-offload"), "off", (h3.ns, features))
        self.ping_ok(h1, h3.ip, count=2)

        before = self.frames()
        # From an offload port: GSO frames, segmented for h3.
        self.transfer(h1, h3)
        middle = self.frames()
        self.assertGreater(
            middle["gso_segmented"], before["gso_segmented"],
            "no GSO frame was segmented for the port without offloads: %r" % middle,
        )
        # To an offload port: h1's ACKs carry partial checksums, completed for h3.
        self.transfer(h3, h1)
        after = self.frames()
        self.assertGreater(
            after["checksums_completed"], before["checksums_completed"],
            "no partial checksum was completed for the port without offloads: %r" % after,
        )
        self.assert_no_offload_drops()

    def test_flooded_gso_frames_reach_both_kinds_of_port(self):
        h1, h2 = self.hosts(2)
        h3 = self.add_plain_host(3)
        self.ping_ok(h1, h2.ip, count=2)
        self.ping_ok(h1, h3.ip, count=1)

        before = self.frames()
        h3_before = h3.rx_packets()
        # h3 is not the destination, so a bad segment would not stall the transfer: let tcpdump
        # verify the checksums of what reaches h3 (-v prints "(correct)" or "(incorrect -> ...)").
        capture = harness.Capture(h3.ns, h3.ifname, "-v -c 3000 tcp")
        stop = threading.Event()
        flushes = []
        failures = []

        def flush():
            # Forget every MAC every 20 ms: until h2 (or h1) sends again, frames to it are unknown
            # unicast and flooded, to h3 too. Bounded in count as well as by the transfer.
            for _ in range(1000):
                if stop.is_set():
                    return
                rc, out, err = self.ctl("flush-macs", timeout=5)
                (flushes if rc == 0 else failures).append(rc if rc == 0 else out + err)
                time.sleep(0.02)

        flusher = threading.Thread(target=flush, daemon=True)
        flusher.start()
        try:
            self.transfer(h1, h2, min_seconds=2.0)
        finally:
            stop.set()
            flusher.join(timeout=10)
            lines = capture.stop()
        self.assertFalse(flusher.is_alive(), "flush-macs loop did not stop")
        self.assertEqual(failures, [], "switchctl flush-macs failed")
        self.assertGreater(len(flushes), 10, "too few flushes during the transfer")

        after = self.frames()
        h3_after = h3.rx_packets()
        self.assertGreater(after["unknown_unicast"], before["unknown_unicast"], after)
        self.assertGreater(
            after["gso_segmented"], before["gso_segmented"],
            "flooded GSO frames were not segmented for the port without offloads: %r" % after,
        )
        self.assertGreater(h3_after, h3_before, "h3 received nothing of the flooded transfer")
        captured = "\n".join(lines)
        bad = [l for l in lines if "incorrect" in l or "bad cksum" in l or "bad-len" in l or "truncated" in l]
        if bad:
            self.fail("h3 captured %d frames with bad checksums or lengths, e.g.:\n%s" % (len(bad), "\n".join(bad[:10])))
        from_h1 = [l for l in lines if re.search(r"\b%s\.\d+ > %s\.\d+" % (re.escape(h1.ip), re.escape(h2.ip)), l)]
        self.assertTrue(from_h1, "h3 captured none of the flooded h1 -> h2 segments:\n%s" % captured[:3000])
        self.assertIn("(correct)", captured, "tcpdump verified no TCP checksum:\n%s" % captured[:3000])
        self.assert_no_offload_drops()

        # And the switch still carries TCP both ways afterwards.
        self.transfer(h2, h1)

    def test_udp_segmentation_for_a_port_without_offloads(self):
        h1, _ = self.hosts(2)
        h3 = self.add_plain_host(3)
        self.ping_ok(h1, h3.ip, count=2)
        uso = ethtool_features(h1).get("tx-udp-segmentation") == "on"

        # h1 sends 50 UDP GSO buffers of 10 datagrams (UDP_SEGMENT) to h3; each datagram carries
        # its number and a pattern, which h3 checks.
        receiver_script = r"""
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(3)
print("listening", flush=True)
seen, bad = set(), 0
while len(seen) < 500:
    try:
        data = s.recv(65535)
    except socket.timeout:
        break
    n = int.from_bytes(data[:4], "big")
    if len(data) != 1200 or data[4:] != bytes((n + i) & 0xff for i in range(1196)):
        bad += 1
    else:
        seen.add(n)
print(json.dumps({"received": len(seen), "bad": bad}), flush=True)
"""
        sender_script = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(17, 103, 1200)  # SOL_UDP, UDP_SEGMENT: 1200-byte datagrams
for k in range(50):
    buf = b"".join((k * 10 + j).to_bytes(4, "big") + bytes(((k * 10 + j) + i) & 0xff for i in range(1196))
                   for j in range(10))
    s.sendto(buf, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.005)
"""
        receiver = subprocess.Popen(
            ["ip", "netns", "exec", h3.ns, "python3", "-c", receiver_script, h3.ip, str(PORT)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=harness._set_pdeathsig,
        )
        harness._children.append(receiver)
        try:
            line = receiver.stdout.readline()  # "listening" (the receiver's own timeout bounds this)
            self.assertEqual(line.strip(), "listening", receiver.stderr.read() if receiver.poll() is not None else "")
            before = self.frames()
            rc, out, err = h1.exec("python3", "-c", sender_script, h3.ip, str(PORT), timeout=20)
            self.assertEqual(rc, 0, "UDP sender failed: %s%s" % (out, err))
            r_out, r_err = receiver.communicate(timeout=15)
        finally:
            if receiver.poll() is None:
                receiver.kill()
                receiver.wait(timeout=5)
            if receiver in harness._children:
                harness._children.remove(receiver)
        report = last_json_line(r_out)
        self.assertIsNotNone(report, "UDP receiver printed no report: %s%s" % (r_out, r_err))
        self.assertEqual(report["bad"], 0, report)
        # Datagrams may be lost under load, but not many: a bad UDP length or checksum loses all.
        self.assertGreaterEqual(report["received"], 450, report)
        after = self.frames()
        if uso:
            self.assertGreater(
                after["gso_segmented"], before["gso_segmented"],
                "h1's TAP has tx-udp-segmentation on, but no UDP GSO frame was segmented: %r" % after,
            )
        else:
            sys.stderr.write("note: tx-udp-segmentation is off on this kernel; USO was done by the sender\n")
        self.assert_no_offload_drops()


if __name__ == "__main__":
    unittest.main()
