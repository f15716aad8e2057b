"""Lifecycle: SIGTERM and SIGINT give a clean exit (status 0, socket removed, created TAPs removed)."""

import os
import signal
import socket
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


class LifecycleTest(harness.SwitchTestCase):
    def check_clean_exit(self, sig):
        in_root = harness.tap_name()
        moved = harness.tap_name()
        runtime = harness.tap_name()
        harness._root_links.append(runtime)
        d = self.start_daemon([in_root, moved])
        self.assertTrue(os.path.exists(self.socket_path))
        self.assertTrue(harness.link_exists(in_root), "--port %s did not create the TAP" % in_root)
        self.ctl_ok("add-port", runtime)
        self.assertTrue(harness.link_exists(runtime))
        host = self.add_host(moved, 1, rename="eth3")

        rc = d.stop(sig, timeout=5)
        self.assertEqual(rc, 0, "exit status after signal %d\n%s" % (sig, d.log_tail()))
        self.assertFalse(os.path.exists(self.socket_path), "socket file left behind after signal %d" % sig)
        self.assertFalse(harness.link_exists(in_root), "TAP %s left behind" % in_root)
        self.assertFalse(harness.link_exists(runtime), "TAP %s (add-port) left behind" % runtime)
        self.assertFalse(harness.link_exists("eth3", ns=host.ns), "TAP %s moved to a namespace left behind" % moved)
        self.assertNotIn("Traceback", d.log())

    def test_sigterm(self):
        self.check_clean_exit(signal.SIGTERM)

    def test_sigint(self):
        self.check_clean_exit(signal.SIGINT)

    def test_sigterm_with_clients_connected(self):
        d = self.start_daemon([harness.tap_name()])
        conns = [harness.RpcConn(self.socket_path) for _ in range(3)]
        conns[0].send_raw('{"jsonrpc": "2.0", "id": 1, "meth')  # a request in progress
        # A client that never reads its responses.
        conns[1].sock.settimeout(2)
        try:
            for _ in range(20):
                conns[1].sock.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "show-ports"}\n' * 2000)
        except (OSError, socket.timeout):
            pass
        try:
            rc = d.stop(signal.SIGTERM, timeout=5)
        finally:
            for c in conns:
                c.close()
        self.assertEqual(rc, 0, d.log_tail())
        self.assertFalse(os.path.exists(self.socket_path))

    def test_logs_to_stderr(self):
        d = self.start_daemon([harness.tap_name()])
        d.stop(signal.SIGTERM)
        self.assertTrue(d.log().strip(), "switchd --log-level debug wrote nothing to stderr")


if __name__ == "__main__":
    unittest.main()
