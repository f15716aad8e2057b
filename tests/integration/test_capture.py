#!/usr/bin/env python3
"""switchctl capture: a port's frames, both directions, into a pcap file that tcpdump reads back.

The daemon writes the file with the file permissions of the user who asked (not root's), and the
command returns when the frame count or the time is reached."""

import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def read_pcap(path):
    """tcpdump -r of the file: (exit status, lines)."""
    rc, out, err = harness.run(["tcpdump", "-nn", "-e", "-r", path], timeout=10)
    return rc, [l for l in out.splitlines() if l.strip()], err


class CaptureTest(harness.SwitchTestCase):
    def start_ping(self, src, dst_ip, count, interval=0.1):
        proc = subprocess.Popen(
            ["ip", "netns", "exec", src.ns, "ping", "-c", str(count), "-i", str(interval), "-W", "1", dst_ip],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=harness._set_pdeathsig)
        harness._children.append(proc)
        return proc

    def test_count_capture_holds_both_directions_of_a_ping(self):
        h1, h2, h3 = self.hosts(3)
        self.ping_ok(h1, h2.ip, count=1)  # ARP settled: the capture sees ICMP only
        path = os.path.join(self.tmp.name, "h1.pcap")
        ping = self.start_ping(h1, h2.ip, count=30)
        rc, out, err = self.ctl("capture", h1.port, path, "--count", "10", timeout=20)
        harness.interrupt(ping)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"^captured 10 frames \(\d+ bytes\) of %s to %s: count reached\n$" % (h1.port, path))
        rc, lines, err = read_pcap(path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(lines), 10, "\n".join(lines))
        requests = [l for l in lines if "ICMP echo request" in l and "%s > %s" % (h1.ip, h2.ip) in l]
        replies = [l for l in lines if "ICMP echo reply" in l and "%s > %s" % (h2.ip, h1.ip) in l]
        self.assertGreaterEqual(len(requests), 4, "\n".join(lines))  # received from h1
        self.assertGreaterEqual(len(replies), 4, "\n".join(lines))  # sent to h1
        self.assertFalse([l for l in lines if h3.ip in l], "another port's traffic in the capture")
        self.assertEqual(self.ports()[h1.port]["rx_dropped"], 0)

    def test_time_capture_ends_on_time_and_keeps_forwarding(self):
        h1, h2 = self.hosts(2)
        path = os.path.join(self.tmp.name, "h2.pcap")
        ping = self.start_ping(h1, h2.ip, count=20, interval=0.1)
        start = time.monotonic()
        rc, out, err = self.ctl("capture", h2.port, path, "--seconds", "1", timeout=20)
        elapsed = time.monotonic() - start
        ping.wait(timeout=10)
        self.assertEqual(ping.returncode, 0, "ping lost replies during the capture")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("time is up", out)
        self.assertGreater(elapsed, 0.9)
        self.assertLess(elapsed, 5)
        rc, lines, err = read_pcap(path)
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(len([l for l in lines if "ICMP echo" in l]), 10, "\n".join(lines))

    def test_interrupted_capture_leaves_a_readable_file(self):
        h1, h2 = self.hosts(2)
        path = os.path.join(self.tmp.name, "open.pcap")
        ping = self.start_ping(h1, h2.ip, count=40, interval=0.05)
        proc = subprocess.Popen([harness.SWITCHCTL, "--socket", self.socket_path, "capture", h1.port, path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=harness._set_pdeathsig)
        harness._children.append(proc)
        time.sleep(1)
        harness.interrupt(proc)
        harness.interrupt(ping)
        self.assertEqual(proc.returncode, 0)
        # The daemon closes the capture when the client goes; the file is whole once it has.
        ok = harness.wait_until(lambda: "ended (the client went away)" in self.daemon.log(), 5)
        self.assertTrue(ok, self.daemon.log_tail())
        rc, lines, err = read_pcap(path)
        self.assertEqual(rc, 0, err)
        self.assertGreater(len(lines), 5)

    def test_removing_the_port_ends_the_capture(self):
        h1, _ = self.hosts(2)
        path = os.path.join(self.tmp.name, "gone.pcap")
        proc = subprocess.Popen([harness.SWITCHCTL, "--socket", self.socket_path, "capture", h1.port, path,
                                 "--seconds", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=harness._set_pdeathsig)
        harness._children.append(proc)
        self.assertTrue(harness.wait_until(lambda: "started" in self.daemon.log(), 5))
        self.ctl_ok("del-port", h1.port)
        out, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("the port was removed", out)

    def test_file_is_written_with_the_callers_permissions(self):
        # The socket's group may use switchd without being root: a capture must not let them write
        # where they could not (the daemon takes their file permissions for the open).
        sock_dir = os.path.join(self.tmp.name, "sock")
        os.mkdir(sock_dir)
        os.chmod(self.tmp.name, 0o755)
        os.chmod(sock_dir, 0o755)
        socket_path = os.path.join(sock_dir, "switchd.sock")
        tap = harness.tap_name()
        self.start_daemon([tap], socket_path=socket_path, extra_args=["--socket-group", "nogroup"])
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", harness.SWITCHCTL,
                     "--socket", socket_path, "capture", tap]
        mine = os.path.join(self.tmp.name, "nobody-dir")
        os.mkdir(mine)
        os.chown(mine, 65534, 65534)
        rc, out, err = harness.run(as_nobody + [os.path.join(mine, "ok.pcap"), "--seconds", "1"], timeout=10)
        self.assertEqual(rc, 0, out + err)
        st = os.stat(os.path.join(mine, "ok.pcap"))
        self.assertEqual((st.st_uid, st.st_gid), (65534, 65534), "the file is the caller's, not root's")
        forbidden = os.path.join(self.tmp.name, "root-only.pcap")  # the tmp dir: root's, 0755
        rc, out, err = harness.run(as_nobody + [forbidden, "--count", "1"], timeout=10)
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(err.strip(), "switchctl: cannot write '%s': Permission denied" % forbidden)
        self.assertFalse(os.path.exists(forbidden))


if __name__ == "__main__":
    unittest.main()
