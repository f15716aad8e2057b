"""The control socket and switchctl: JSON-RPC errors, oversized and stalled clients, exit statuses."""

import json
import os
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


class ProtocolTest(harness.SwitchTestCase):
    def setUp(self):
        super().setUp()
        self.tap = harness.tap_name()
        self.start_daemon([self.tap])

    def assertError(self, resp, code, id_=..., quote=None):
        self.assertIsInstance(resp, dict, resp)
        self.assertEqual(resp.get("jsonrpc"), "2.0", resp)
        self.assertIn("error", resp, resp)
        self.assertNotIn("result", resp, resp)
        self.assertEqual(resp["error"].get("code"), code, resp)
        msg = resp["error"].get("message")
        self.assertIsInstance(msg, str, resp)
        self.assertTrue(msg and "\n" not in msg, resp)
        if quote is not None:
            self.assertIn(quote, msg, resp)
        if id_ is not ...:
            self.assertIn("id", resp, resp)
            self.assertEqual(resp["id"], id_, resp)

    def assertStillUsable(self, conn, id_):
        resp = conn.call("version", id=id_)
        self.assertEqual(resp.get("id"), id_, resp)
        self.assertEqual(resp.get("result"), {"version": "0.1.0"}, resp)

    def test_errors_keep_connection_usable(self):
        with harness.RpcConn(self.socket_path) as c:
            self.assertStillUsable(c, 1)

            c.send_raw("not json\n")
            self.assertError(c.recv_obj(), -32700, None)
            self.assertStillUsable(c, 2)

            c.send_raw('{"foo": 1}\n')
            self.assertError(c.recv_obj(), -32600, None)
            self.assertStillUsable(c, 3)

            c.send_raw('{"jsonrpc": "1.0", "id": 4, "method": "version"}\n')
            self.assertError(c.recv_obj(), -32600)
            self.assertStillUsable(c, 5)

            c.send_raw('{"jsonrpc": "2.0", "id": 6, "method": 42}\n')
            self.assertError(c.recv_obj(), -32600)
            self.assertStillUsable(c, 7)

            c.send_raw("[]\n")
            self.assertError(c.recv_obj(), -32600, None)
            self.assertStillUsable(c, 8)

            self.assertError(c.call("show-mac", id=9), -32601, 9, quote="show-mac")
            self.assertStillUsable(c, 10)

            self.assertError(c.call("add-mac", {"mac": "zz:00", "port": self.tap}, id=11), -32602, 11, quote="zz:00")
            self.assertStillUsable(c, 12)

            self.assertError(c.call("add-mac", {"port": self.tap}, id=13), -32602, 13)
            self.assertError(c.call("set-aging", {"seconds": "ten"}, id=14), -32602, 14)
            self.assertError(c.call("set-aging", {"seconds": 0}, id=15), -32602, 15)
            self.assertError(c.call("add-mac", {"mac": "01:00:5e:00:00:01", "port": self.tap}, id=16), -32602, 16)
            self.assertError(c.call("add-arp", {"ip": "198.18.0.300", "mac": "02:00:00:00:00:01"}, id=17), -32602, 17,
                             quote="198.18.0.300")
            self.assertStillUsable(c, 18)

            self.assertError(c.call("add-mac", {"mac": "02:00:00:00:00:01", "port": "nosuch0"}, id=19), -32001, 19,
                             quote="nosuch0")
            self.assertError(c.call("del-port", {"name": "nosuch0"}, id=20), -32001, 20, quote="nosuch0")
            self.assertError(c.call("del-mac", {"mac": "02:00:00:00:00:77"}, id=21), -32001, 21)
            self.assertError(c.call("add-port", {"name": self.tap}, id=22), -32002, 22, quote=self.tap)
            self.assertStillUsable(c, 23)

            # String ids are echoed; upper-case MACs are accepted and printed lower case.
            resp = c.call("add-mac", {"mac": "02:AB:00:00:00:01", "port": self.tap}, id="abc")
            self.assertEqual(resp.get("id"), "abc", resp)
            self.assertIn("result", resp, resp)
            macs = c.call("show-macs", id=24)["result"]
            self.assertIn({"mac": "02:ab:00:00:00:01", "port": self.tap, "vlan": 1, "type": "static"},
                          [{k: e[k] for k in ("mac", "port", "vlan", "type")} for e in macs])

    def test_notifications_and_batches(self):
        with harness.RpcConn(self.socket_path) as c:
            # A notification gets no response: the next line answers the next request.
            c.send_raw('{"jsonrpc": "2.0", "method": "add-mac", "params": {"mac": "02:00:00:00:00:05", "port": "%s"}}\n'
                       % self.tap)
            resp = c.call("show-macs", id=1)
            self.assertEqual(resp.get("id"), 1, resp)
            self.assertIn("02:00:00:00:00:05", [e["mac"] for e in resp["result"]])

            c.send_raw(json.dumps([
                {"jsonrpc": "2.0", "id": 2, "method": "version"},
                {"jsonrpc": "2.0", "id": 3, "method": "nope"},
            ]) + "\n")
            line = c.recv_line()
            self.assertIsNotNone(line)
            batch = json.loads(line)
            self.assertIsInstance(batch, list, batch)
            by_id = {r["id"]: r for r in batch}
            self.assertEqual(by_id[2]["result"], {"version": "0.1.0"})
            self.assertEqual(by_id[3]["error"]["code"], -32601)

            # Several requests in one write: responses in order.
            c.send_raw("".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "version"}) + "\n" for i in range(10, 15)))
            ids = [c.recv_obj()["id"] for _ in range(5)]
            self.assertEqual(ids, list(range(10, 15)))

    def test_oversized_line_gets_error_and_close(self):
        c = harness.RpcConn(self.socket_path, timeout=10)
        try:
            # 2 MiB of one unfinished line: switchd must give up at 1 MiB, not wait for a newline that never comes.
            payload = b'{"jsonrpc": "2.0", "id": 1, "method": "version", "params": {"x": "' + b"a" * (2 << 20)
            sent = 0
            try:
                for off in range(0, len(payload), 65536):
                    c.sock.sendall(payload[off:off + 65536])
                    sent = off
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass  # switchd may close before reading it all
            resp = c.recv_obj(timeout=5)
            self.assertEqual(resp.get("error", {}).get("code"), -32600, resp)
            self.assertIn("id", resp, resp)
            self.assertIsNone(resp["id"], resp)
            closed = False
            try:
                closed = c.recv_line(timeout=5) is None
            except ConnectionResetError:
                closed = True
            except socket.timeout:
                closed = False
            self.assertTrue(closed, "connection not closed after an oversized line (sent %d bytes)" % sent)
        finally:
            c.close()
        self.assertTrue(self.daemon.running(), self.daemon.log_tail())
        with harness.RpcConn(self.socket_path) as c2:
            self.assertStillUsable(c2, 1)
        # Just under the limit is fine.
        with harness.RpcConn(self.socket_path, timeout=10) as c3:
            c3.send_raw('{"jsonrpc": "2.0", "id": 7, "method": "version", "params": {}}' + " " * 500000 + "\n")
            self.assertEqual(c3.recv_obj(timeout=10).get("id"), 7)

    def test_stalled_and_many_clients_do_not_block_others(self):
        conns = []
        try:
            half = harness.RpcConn(self.socket_path)
            conns.append(half)
            half.send_raw('{"jsonrpc": "2.0", "id": 1, "meth')
            for _ in range(50):
                conns.append(harness.RpcConn(self.socket_path))
            t0 = time.monotonic()
            rc, out, err = self.ctl("version", timeout=5)
            self.assertEqual(rc, 0, err)
            self.assertLess(time.monotonic() - t0, 2.0, "switchctl version slow while clients stall")

            # A client that writes requests and never reads its responses.
            greedy = harness.RpcConn(self.socket_path)
            conns.append(greedy)
            fill_without_reading(greedy)
            for i in range(3):
                t0 = time.monotonic()
                with harness.RpcConn(self.socket_path, timeout=3) as other:
                    self.assertStillUsable(other, 100 + i)
                self.assertLess(time.monotonic() - t0, 2.0)
            # The half-line client can still finish its request.
            half.send_raw('od": "version"}\n')
            self.assertEqual(half.recv_obj().get("result"), {"version": "0.1.0"})
        finally:
            for c in conns:
                c.close()
        self.assertTrue(self.daemon.running(), self.daemon.log_tail())


def fill_without_reading(conn, rounds=40):
    """Writes show-ports requests and never reads the responses; returns the bytes written."""
    conn.sock.settimeout(2)
    req = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "show-ports"}) + "\n").encode() * 2000
    sent = 0
    try:
        for _ in range(rounds):
            conn.sock.sendall(req)
            sent += len(req)
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    return sent


class StalledClientForwardingTest(harness.SwitchTestCase):
    def test_forwarding_continues_while_clients_stall(self):
        h1, h2 = self.hosts(2)
        self.ping_ok(h1, h2.ip, count=1)
        conns = []
        try:
            half = harness.RpcConn(self.socket_path)
            conns.append(half)
            half.send_raw('{"jsonrpc": "2.0", "id": 1, "method": "vers')
            greedy = harness.RpcConn(self.socket_path)
            conns.append(greedy)
            fill_without_reading(greedy)
            ok, out = h1.ping(h2.ip, count=20, interval=0.05)
            self.assertTrue(ok, out)
            self.assertIn(" 0% packet loss", out, "frames lost while control clients stall:\n%s" % out)
            self.assertEqual(self.ctl_json("version"), {"version": "0.1.0"})
        finally:
            for c in conns:
                c.close()
        self.assertTrue(self.daemon.running(), self.daemon.log_tail())


class SwitchctlTest(harness.SwitchTestCase):
    def test_no_daemon(self):
        path = os.path.join(self.tmp.name, "nothing.sock")
        rc, out, err = self.ctl("show-ports", socket_path=path)
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(
            err.strip(), "switchctl: cannot connect to %s: No such file or directory (is switchd running?)" % path
        )
        self.assertEqual(out, "")

    def test_nothing_listening(self):
        path = os.path.join(self.tmp.name, "dead.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        rc, out, err = self.ctl("version", socket_path=path)
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn(path, err)

    def test_version_and_json(self):
        self.start_daemon([harness.tap_name()])
        self.assertEqual(self.ctl_json("version"), {"version": "0.1.0"})
        self.assertIn("0.1.0", self.ctl_ok("version"))

    def test_bad_mac_unknown_port_usage_errors(self):
        tap = harness.tap_name()
        self.start_daemon([tap])
        rc, out, err = self.ctl("add-mac", "zz:00", tap)
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("zz:00", err)
        self.assertNotIn("Traceback", err)

        rc, out, err = self.ctl("add-mac", "02:00:00:00:00:01", "nosuch0")
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("nosuch0", err)

        rc, out, err = self.ctl("frobnicate")
        self.assertEqual(rc, 2, (out, err))
        self.assertTrue(err.strip(), "unknown command without a message")

        rc, out, err = self.ctl("add-mac")
        self.assertEqual(rc, 2, "add-mac without arguments: rc %d (%s%s)" % (rc, out, err))

        rc, out, err = run_plain([harness.SWITCHCTL, "--socket", self.socket_path, "--bogus-option", "version"])
        self.assertEqual(rc, 2, (out, err))

        # The daemon is unharmed.
        self.assertEqual(self.ctl_json("version"), {"version": "0.1.0"})


def run_plain(argv):
    return harness.run(argv, timeout=10)


class DaemonStartupTest(harness.SwitchTestCase):
    def test_second_daemon_on_same_socket_refused(self):
        first = self.start_daemon([harness.tap_name()])
        second = harness.Daemon(self.socket_path, ports=())
        self._my_daemons.append(second)
        second.start(wait=False)
        try:
            rc = second.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("second switchd on %s did not exit\n%s" % (self.socket_path, second.log_tail()))
        second._forget()
        self.assertEqual(rc, 1, second.log_tail())
        msg = second.log().strip()
        self.assertTrue(msg, "second switchd exited without a message")
        self.assertIn(self.socket_path, msg, "message does not name the socket: %r" % msg)
        self.assertTrue(first.running(), first.log_tail())
        self.assertTrue(os.path.exists(self.socket_path), "second switchd removed the first one's socket")
        self.assertEqual(self.ctl_json("version"), {"version": "0.1.0"})

    def test_stale_socket_replaced(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.socket_path)
        s.close()  # leaves the file with nothing listening
        self.assertTrue(os.path.exists(self.socket_path))
        self.start_daemon([harness.tap_name()])
        self.assertEqual(self.ctl_json("version"), {"version": "0.1.0"})

    def test_socket_directory_created(self):
        path = os.path.join(self.tmp.name, "sub", "switchd.sock")
        self.start_daemon([harness.tap_name()], socket_path=path)
        self.assertEqual(self.ctl_json("version", socket_path=path), {"version": "0.1.0"})


if __name__ == "__main__":
    unittest.main()
