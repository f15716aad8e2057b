"""Hardening: who may use the control socket, control-socket limits while traffic flows, and writes
to a port whose TAP is down.

The socket tests create a throwaway system user and group (named after this process's pid,
deleted in cleanup) and connect as that user with setpriv.
"""

import atexit
import grp
import json
import os
import pwd
import re
import select
import socket
import stat
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import stress  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Throwaway accounts.

_users = []
_groups = []


def _exists(kind, name):
    try:
        (pwd.getpwnam if kind == "user" else grp.getgrnam)(name)
        return True
    except KeyError:
        return False


def _delete_accounts():
    for name in list(_users):
        if _exists("user", name):
            harness.run(["userdel", name], timeout=10)
        _users.remove(name)
    for name in list(_groups):
        if _exists("group", name):
            harness.run(["groupdel", name], timeout=10)
        _groups.remove(name)


atexit.register(_delete_accounts)


def _sweep_stale_accounts():
    """Deletes accounts left by earlier runs that were killed (their pid is gone)."""
    for entry in pwd.getpwall():
        m = re.match(r"^swu(\d+)x\d+$", entry.pw_name)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            harness.run(["userdel", entry.pw_name], timeout=10)
    for entry in grp.getgrall():
        m = re.match(r"^sw[gu](\d+)x\d+$", entry.gr_name)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            harness.run(["groupdel", entry.gr_name], timeout=10)


def new_group():
    name = "swg%dx%d" % (harness.PID, harness._next())
    _groups.append(name)
    harness.run(["groupadd", "--system", name], timeout=10, check=True)
    return name


def new_user():
    """A system user with no home and no login shell, in its own group only."""
    name = "swu%dx%d" % (harness.PID, harness._next())
    _users.append(name)
    _groups.append(name)  # --user-group creates it; userdel usually removes it
    harness.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name],
                timeout=10, check=True)
    return name


_CONNECT = r"""
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("ERRNO %s" % errno.errorcode.get(e.errno, e.errno))
    sys.exit(3)
s.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "version"}\n')
buf = b""
while b"\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
print("REPLY %s" % buf.decode().strip())
"""


def as_user(user, argv, groups="clear"):
    """Runs argv as `user`: groups "clear" (no supplementary groups), "init" (those /etc/group gives
    the user) or a list of group names. Returns (rc, stdout, stderr)."""
    entry = pwd.getpwnam(user)
    prefix = ["setpriv", "--reuid=%d" % entry.pw_uid, "--regid=%d" % entry.pw_gid]
    if groups == "clear":
        prefix.append("--clear-groups")
    elif groups == "init":
        prefix.append("--init-groups")
    else:
        prefix.append("--groups=" + ",".join(str(grp.getgrnam(g).gr_gid) for g in groups))
    p = subprocess.run(prefix + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=15, cwd="/", preexec_fn=harness._set_pdeathsig)
    return p.returncode, p.stdout, p.stderr


class SocketAccessTest(harness.SwitchTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _sweep_stale_accounts()

    def setUp(self):
        super().setUp()
        self.addCleanup(_delete_accounts)
        # Traversable by anyone, so that only the socket's own mode decides who connects.
        os.chmod(self.tmp.name, 0o755)

    def connect_as(self, user, groups="clear"):
        return as_user(user, ["python3", "-c", _CONNECT, self.socket_path], groups=groups)

    def assertRefused(self, user, groups="clear"):
        rc, out, err = self.connect_as(user, groups)
        self.assertEqual((rc, out.strip()), (3, "ERRNO EACCES"), "connect as %s (groups %s): %s%s" % (user, groups, out, err))
        rc, out, err = as_user(user, [harness.SWITCHCTL, "--socket", self.socket_path, "version"], groups=groups)
        self.assertEqual(rc, 1, "switchctl as %s: rc %d\n%s%s" % (user, rc, out, err))
        self.assertIn("Permission denied", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def assertAllowed(self, user, groups):
        rc, out, err = self.connect_as(user, groups)
        self.assertEqual(rc, 0, "connect as %s (groups %s): %s%s" % (user, groups, out, err))
        reply = json.loads(out.strip().split(" ", 1)[1])
        self.assertEqual(reply.get("result"), {"version": "0.1.0"}, reply)
        rc, out, err = as_user(user, [harness.SWITCHCTL, "--socket", self.socket_path, "version"], groups=groups)
        self.assertEqual(rc, 0, "switchctl as %s: %s%s" % (user, out, err))

    def assertSocketOwned(self, group_name):
        st = os.stat(self.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660, oct(st.st_mode))
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(st.st_gid, grp.getgrnam(group_name).gr_gid)

    def test_default_socket_is_for_root_only(self):
        user = new_user()
        self.start_daemon([harness.tap_name()])
        self.assertSocketOwned("root")
        self.assertRefused(user)
        self.assertRefused(user, groups="init")
        self.assertTrue(self.daemon.running())

    def test_socket_group_flag_admits_members_only(self):
        group = new_group()
        user = new_user()
        self.start_daemon([harness.tap_name()], extra_args=["--socket-group", group])
        self.assertSocketOwned(group)
        self.assertRefused(user)
        self.assertRefused(user, groups="init")  # not a member yet
        harness.run(["usermod", "--append", "--groups", group, user], timeout=10, check=True)
        self.assertAllowed(user, "init")
        # Started with the group rather than added to it: the same.
        self.assertAllowed(user, [group])
        self.assertRefused(user)  # and without it, refused again
        self.assertIn("(group %s)" % group, self.daemon.log())

    def test_socket_group_from_config_file(self):
        group = new_group()
        user = new_user()
        config = os.path.join(self.tmp.name, "switchd.json")
        tap = harness.tap_name()
        harness._root_links.append(tap)
        with open(config, "w") as f:
            json.dump({"socket_group": group, "ports": [tap]}, f)
        self.start_daemon(extra_args=["--config", config])
        self.assertSocketOwned(group)
        self.assertRefused(user)
        self.assertAllowed(user, [group])

    def test_unknown_group_refused_at_start(self):
        tap = harness.tap_name()
        harness._root_links.append(tap)
        bogus = "nosuchgrp%d" % harness.PID
        rc, out, err = harness.run([harness.SWITCHD, "--socket", self.socket_path, "--port", tap,
                                    "--socket-group", bogus], timeout=10)
        self.assertEqual(rc, 1, "rc %d\n%s%s" % (rc, out, err))
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("unknown group '%s'" % bogus, err)
        self.assertFalse(os.path.exists(self.socket_path), "socket left behind")
        self.assertFalse(harness.link_exists(tap), "TAP created although switchd could not start")


# ---------------------------------------------------------------------------------------------
# Control-socket limits, while a ping runs through the switch.

def request(method, params=None, id_=1):
    req = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        req["params"] = params
    return (json.dumps(req) + "\n").encode()


class LimitsUnderTrafficTest(harness.SwitchTestCase):
    def setUp(self):
        super().setUp()
        self.h1, self.h2 = self.hosts(2)
        self.ping_ok(self.h1, self.h2.ip, count=2, interval=0.1)  # learned both ways
        self.pinger = None

    def start_ping(self):
        self.pinger = stress.Pinger(self.h1, self.h2.ip, interval=0.01)

    def stop_ping(self, what, min_seconds=3.0, **bounds):
        left = min_seconds - (time.monotonic() - self.pinger.started)
        if left > 0:
            time.sleep(left)
        summary = self.pinger.stop()
        sys.stderr.write("\n  %s: ping %d/%d, RTT min/avg/max %s/%s/%s ms\n" % (
            what, summary["received"], summary["sent"], summary["min"], summary["avg"], summary["max"]))
        stress.assert_ping_healthy(self, summary, what, **bounds)
        self.assertTrue(self.daemon.running(), self.daemon.log_tail())

    def add_static_macs(self, count):
        """Enough static entries that each show-macs reply is large (80 bytes an entry)."""
        with harness.RpcConn(self.socket_path, timeout=10) as c:
            for batch in range(count // 64):
                reqs = [{"jsonrpc": "2.0", "id": i, "method": "add-mac",
                         "params": {"mac": "02:5e:00:00:%02x:%02x" % (batch, i), "port": self.h1.port}}
                        for i in range(64)]
                c.send_raw(json.dumps(reqs) + "\n")
                replies = json.loads(c.recv_line())
                self.assertTrue(all("result" in r for r in replies), replies[:3])

    def assertControlResponsive(self, what, limit=1.0):
        t0 = time.monotonic()
        rc, _, err = self.ctl("version", timeout=5)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, "%s: switchctl version failed: %s" % (what, err))
        self.assertLess(took, limit, "%s: switchctl version took %.2f s" % (what, took))

    def test_stalled_and_oversized_clients(self):
        self.start_ping()
        conns = []
        try:
            # Half a request each, then silence.
            for i in range(20):
                c = harness.RpcConn(self.socket_path)
                c.send_raw('{"jsonrpc": "2.0", "id": %d, "meth' % i)
                conns.append(c)
            # Most of a maximum-size line, never finished.
            for _ in range(3):
                c = harness.RpcConn(self.socket_path, timeout=10)
                c.send_raw(b'{"jsonrpc": "2.0", "id": 1, "method": "version", "params": {"x": "' + b"a" * 900000)
                conns.append(c)
            self.assertControlResponsive("with stalled clients")
            # An oversized line: error, then closed, while the ping goes on.
            with harness.RpcConn(self.socket_path, timeout=10) as big:
                try:
                    for _ in range(32):
                        big.sock.sendall(b"b" * 65536)
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    pass
                self.assertEqual(big.recv_obj(timeout=5).get("error", {}).get("code"), -32600)
            for _ in range(5):
                self.assertControlResponsive("after an oversized line")
                time.sleep(0.2)
            self.stop_ping("stalled and oversized clients")
            # The stalled clients can still finish their requests.
            for i, c in enumerate(conns[:20]):
                c.send_raw('od": "version"}\n')
                self.assertEqual(c.recv_obj().get("id"), i)
        finally:
            for c in conns:
                c.close()

    def test_client_that_never_reads_its_replies(self):
        self.add_static_macs(1024)
        pid = self.daemon.proc.pid
        rss_before = stress.rss_kib(pid)
        self.start_ping()
        greedy = harness.RpcConn(self.socket_path)
        try:
            greedy.sock.settimeout(2)
            sent = 0
            try:
                for _ in range(50):
                    greedy.sock.sendall(request("show-macs") * 500)
                    sent += 500
            except (socket.timeout, BrokenPipeError, ConnectionResetError):
                pass
            for _ in range(5):
                self.assertControlResponsive("while a client does not read its replies")
                time.sleep(0.3)
            self.stop_ping("a client that never reads (%d show-macs sent)" % sent)
            rss_growth = stress.rss_kib(pid) - rss_before
            sys.stderr.write("  RSS growth with the unread replies: %d KiB\n" % rss_growth)
            # Bounded by the 4 MiB of unread replies, a 1 MiB input line and buffers, not by `sent`.
            self.assertLess(rss_growth, 24 * 1024 + stress.rss_slack_kib(pid), "RSS grew by %d KiB" % rss_growth)
        finally:
            greedy.close()
        self.assertControlResponsive("after the greedy client left")

    def test_client_that_sends_a_burst_and_shuts_its_sending_side(self):
        # Once a client's input ends, its buffered requests are still answered under the limits,
        # a few per loop iteration, not all at once.
        self.start_ping()
        burst = harness.RpcConn(self.socket_path, timeout=10)
        try:
            line = request("version", id_=7)
            count = (1 << 20) // len(line)
            burst.sock.sendall(line * count)
            burst.sock.shutdown(socket.SHUT_WR)
            for _ in range(5):
                self.assertControlResponsive("after a burst of requests and end of input")
                time.sleep(0.3)
            self.stop_ping("a megabyte of requests, then end of input")
            # Every request is answered, then the connection is closed.
            answered = 0
            for _ in range(count):
                reply = burst.recv_obj(timeout=10)
                self.assertEqual(reply.get("id"), 7, reply)
                answered += 1
            self.assertIsNone(burst.recv_line(timeout=5))
            self.assertEqual(answered, count)
        finally:
            burst.close()

    def test_expensive_notifications_then_end_of_input(self):
        # Notifications get no response, so no back-pressure applies: only the per-iteration
        # bounds keep 100 show-macs of a large table (milliseconds each) from running back to back,
        # before and after the client shuts its sending side.
        self.add_static_macs(1024)
        self.start_ping()
        client = harness.RpcConn(self.socket_path, timeout=30)
        try:
            notification = (json.dumps({"jsonrpc": "2.0", "method": "show-macs"}) + "\n").encode()
            client.sock.sendall(notification * 100 + request("version", id_=9))
            client.sock.shutdown(socket.SHUT_WR)
            self.assertControlResponsive("while a client's notifications are handled")
            reply = client.recv_obj(timeout=60)
            self.assertEqual(reply.get("id"), 9, reply)
            self.assertIsNone(client.recv_line(timeout=5))
            # Each show-macs is handled whole (tens of milliseconds in a debug build), so the
            # average RTT is higher than elsewhere; the bound is on stalls.
            self.stop_ping("100 show-macs notifications, then end of input", max_avg_ms=50.0)
        finally:
            client.close()

    def test_many_clients_with_expensive_requests(self):
        # Ten clients asking for a large table at once share one budget per loop iteration: the
        # loop does not wait for ten show-macs back to back between two polls of the ports.
        self.add_static_macs(1024)
        self.start_ping()
        clients = [harness.RpcConn(self.socket_path, timeout=60) for _ in range(10)]
        try:
            for c in clients:
                c.send_raw(b"".join(request("show-macs", id_=i) for i in range(10)))
            for c in clients:
                for i in range(10):
                    reply = c.recv_obj(timeout=60)
                    self.assertEqual(reply.get("id"), i, str(reply)[:200])
                    self.assertGreaterEqual(len(reply["result"]), 1024)
            self.stop_ping("10 clients x 10 show-macs of 1024 entries", max_avg_ms=50.0)
        finally:
            for c in clients:
                c.close()

    def test_200_clients_at_once(self):
        self.start_ping()
        clients = []
        try:
            for _ in range(200):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(5)
                s.connect(self.socket_path)
                clients.append(s)
            for i, s in enumerate(clients):
                s.sendall(request("version", id_=i))
            answers = {}
            buffers = {s.fileno(): b"" for s in clients}
            by_fd = {s.fileno(): s for s in clients}
            deadline = time.monotonic() + 10
            while len(answers) < len(clients) and time.monotonic() < deadline:
                ready, _, _ = select.select([s for s in clients if s.fileno() not in answers], [], [], 0.5)
                for s in ready:
                    chunk = s.recv(4096)
                    if not chunk:
                        answers[s.fileno()] = None
                        continue
                    buffers[s.fileno()] += chunk
                    if b"\n" in buffers[s.fileno()]:
                        answers[s.fileno()] = json.loads(buffers[s.fileno()].split(b"\n", 1)[0])
            good = [fd for fd, a in answers.items() if a and a.get("result") == {"version": "0.1.0"}]
            self.assertEqual(len(good), 200, "only %d of 200 clients answered; %d closed" % (
                len(good), sum(1 for a in answers.values() if a is None)))
            ids = sorted(answers[fd]["id"] for fd in good)
            self.assertEqual(ids, list(range(200)))
            self.assertTrue(all(by_fd[fd] for fd in good))

            # Up to 256 clients: the 257th is refused (closed at once), and the rest still served.
            for i in range(56):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(5)
                s.connect(self.socket_path)
                clients.append(s)
                s.sendall(request("version", id_=1000 + i))
            for i, s in enumerate(clients[200:]):  # all 256 accepted
                self.assertIn(b'"id":%d' % (1000 + i), s.recv(4096))
            extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            clients.append(extra)
            extra.settimeout(5)
            extra.connect(self.socket_path)
            try:
                extra.sendall(request("version"))
                refused = extra.recv(4096) == b""
            except (ConnectionResetError, BrokenPipeError):
                refused = True
            self.assertTrue(refused, "a 257th client was served")
            clients[0].sendall(request("version", id_=999))
            self.assertIn(b'"id":999', clients[0].recv(4096))
            self.assertIn("refusing a client", self.daemon.log())
            self.stop_ping("200 clients at once, then 256")
        finally:
            for s in clients:
                s.close()
        self.assertTrue(harness.wait_until(lambda: self.ctl("version", timeout=5)[0] == 0, 5),
                        "switchctl refused after the clients left")


# ---------------------------------------------------------------------------------------------
# Writes that fail.


class TxDropTest(harness.SwitchTestCase):
    def test_port_whose_tap_is_down_counts_tx_drops(self):
        h1, h2 = self.hosts(2)
        down = harness.tap_name()
        harness._root_links.append(down)
        self.ctl_ok("add-port", down)
        ns = harness.ns_name()
        harness.setup_namespace(ns)
        harness.ip("link", "set", "dev", down, "netns", ns)  # moved, and left down there
        self.ping_ok(h1, h2.ip, count=2, interval=0.1)
        before = self.ports()

        pinger = stress.Pinger(h1, h2.ip, interval=0.01)
        blaster = stress.FrameBlaster(h1.ns, h1.ifname, "02:5d:00:00:00:01", rate=500)
        time.sleep(2.5)
        sent, _ = blaster.stop()
        summary = pinger.stop()
        stress.assert_ping_healthy(self, summary, "ping while flooding a down port")
        self.assertTrue(self.daemon.running(), self.daemon.log_tail())

        after = self.ports()
        dropped = after[down]["tx_dropped"] - before[down]["tx_dropped"]
        sys.stderr.write("\n  %d frames flooded, %d counted as tx drops on the down port\n" % (sent, dropped))
        self.assertGreaterEqual(dropped, sent, (sent, after[down]))
        self.assertEqual(after[down]["tx_packets"], before[down]["tx_packets"], after[down])
        self.assertFalse(after[down]["up"], after[down])
        self.assertGreaterEqual(after[h2.port]["tx_packets"] - before[h2.port]["tx_packets"], sent)

        # Once the link is up, the same port takes frames again.
        harness.ip("-n", ns, "link", "set", "dev", down, "up")
        blaster = stress.FrameBlaster(h1.ns, h1.ifname, "02:5d:00:00:00:01", rate=200)
        time.sleep(1)
        blaster.stop()
        final = self.ports()[down]
        self.assertGreater(final["tx_packets"], after[down]["tx_packets"], final)


if __name__ == "__main__":
    unittest.main()
