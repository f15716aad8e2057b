"""Shared harness for switchd's integration tests: the real binaries on real TAPs in real namespaces.

Each test process names its namespaces `swt<pid>_<n>` and its TAPs `st<pid % 100000>x<n>` (at most 15
characters), keeps its control socket in a fresh temporary directory, and uses only addresses in
198.18.0.0/15 inside its own namespaces. Everything it creates is removed in tearDown, by cleanups,
at exit and on SIGTERM/SIGHUP. Every loop is bounded in count and time; every subprocess has a timeout.

The tests need root. Without it they fail (they never skip): CI runs them as root.

Environment: SWITCHD and SWITCHCTL name the binaries (default: <repo>/build/bin/switchd and switchctl).
"""

import atexit
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SWITCHD = os.environ.get("SWITCHD") or os.path.join(REPO, "build", "bin", "switchd")
SWITCHCTL = os.environ.get("SWITCHCTL") or os.path.join(REPO, "build", "bin", "switchctl")

PID = os.getpid()
SUBNET = "198.18.0"  # every address the tests configure lives in 198.18.0.0/24 (inside 198.18.0.0/15)

_counter = 0
_namespaces = []  # names of namespaces we created (still to delete)
_root_links = []  # link names we may have left in switchd's (root) namespace
_daemons = []  # Daemon objects still possibly running
_tempdirs = []
_children = []  # other Popen objects (tcpdump ...)


def _next():
    global _counter
    _counter += 1
    return _counter


def ns_name():
    return "swt%d_%d" % (PID, _next())


def tap_name():
    name = "st%dx%d" % (PID % 100000, _next())
    assert len(name) <= 15, name
    return name


def _set_pdeathsig():
    """Runs in the child before exec: get SIGTERM if the test process dies (even by SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


def run(argv, timeout=10, check=False, input=None):
    """Runs argv; returns (rc, stdout, stderr) as text. Never hangs longer than `timeout`."""
    try:
        p = subprocess.run(
            argv,
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            preexec_fn=_set_pdeathsig,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise AssertionError("timed out after %ss: %s\nstdout: %s\nstderr: %s" % (timeout, " ".join(argv), out, err))
    if check and p.returncode != 0:
        raise AssertionError(
            "command failed (rc %d): %s\nstdout: %s\nstderr: %s" % (p.returncode, " ".join(argv), p.stdout, p.stderr)
        )
    return p.returncode, p.stdout, p.stderr


def ip(*args, timeout=10, check=True):
    return run(["ip"] + list(args), timeout=timeout, check=check)


def link_exists(name, ns=None):
    argv = ["ip"] + (["-n", ns] if ns else []) + ["link", "show", "dev", name]
    rc, _, _ = run(argv, timeout=5)
    return rc == 0


def wait_until(predicate, timeout, interval=0.1):
    """Polls predicate() until it is truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    for _ in range(int(timeout / interval) + 2):
        if value or time.monotonic() >= deadline:
            break
        time.sleep(interval)
        value = predicate()
    return value


# ---------------------------------------------------------------------------------------------
# Cleanup: always, whatever happens.


def cleanup_all():
    for d in list(_daemons):
        try:
            d.kill()
        except Exception:  # noqa: BLE001
            pass
    for p in list(_children):
        try:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=3)
        except Exception:  # noqa: BLE001
            pass
        _children.remove(p)
    for ns in list(_namespaces):
        delete_namespace(ns)
    for name in list(_root_links):
        if link_exists(name):
            run(["ip", "link", "del", "dev", name], timeout=5)
        _root_links.remove(name)
    for d in list(_tempdirs):
        try:
            d.cleanup()
        except Exception:  # noqa: BLE001
            pass
        _tempdirs.remove(d)


def delete_namespace(ns):
    # Deleting a namespace deletes the TAPs inside it (checked: persistent ones too).
    run(["ip", "netns", "del", ns], timeout=10)
    if ns in _namespaces:
        _namespaces.remove(ns)


def _sweep_stale():
    """Removes namespaces/TAPs left behind by earlier runs that were killed (their pid is gone)."""
    rc, out, _ = run(["ip", "netns", "list"], timeout=5)
    if rc == 0:
        for line in out.splitlines():
            m = re.match(r"^swt(\d+)_\d+\b", line)
            if m and not os.path.exists("/proc/%s" % m.group(1)):
                run(["ip", "netns", "del", line.split()[0]], timeout=10)
    rc, out, _ = run(["ip", "-j", "link", "show"], timeout=5)
    if rc == 0:
        try:
            links = json.loads(out)
        except ValueError:
            links = []
        residues = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                residues.add(int(entry) % 100000)
        for link in links:
            m = re.match(r"^st(\d+)x\d+$", link.get("ifname", ""))
            if m and int(m.group(1)) not in residues:
                run(["ip", "link", "del", "dev", link["ifname"]], timeout=5)


def _on_signal(signum, _frame):
    cleanup_all()
    sys.stderr.write("integration harness: got signal %d, cleaned up\n" % signum)
    os._exit(128 + signum)


atexit.register(cleanup_all)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


# ---------------------------------------------------------------------------------------------
# JSON-RPC over the control socket, for protocol tests and for the readiness check.


class RpcConn:
    """One raw connection to the control socket. Lines in, lines out."""

    def __init__(self, path, timeout=5):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise
        self.buf = b""
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_obj(self, obj):
        self.send_raw(json.dumps(obj) + "\n")

    def recv_line(self, timeout=None):
        """Returns one line (bytes, without the newline), or None on EOF. Raises socket.timeout."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        for _ in range(100000):
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete line within the timeout (have %r...)" % self.buf[:200])
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        raise AssertionError("recv_line: too many chunks")

    def recv_obj(self, timeout=None):
        line = self.recv_line(timeout)
        if line is None:
            raise AssertionError("connection closed by switchd, expected a response")
        try:
            return json.loads(line)
        except ValueError:
            raise AssertionError("switchd sent a line that is not JSON: %r" % line[:500])

    def call(self, method, params=None, id=1):
        req = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            req["params"] = params
        self.send_obj(req)
        return self.recv_obj()


def rpc(path, method, params=None, timeout=5):
    with RpcConn(path, timeout=timeout) as c:
        return c.call(method, params)


# ---------------------------------------------------------------------------------------------
# The daemon.


class Daemon:
    def __init__(self, socket_path, ports=(), extra_args=(), log_level="debug"):
        self.socket_path = socket_path
        self.ports = list(ports)
        self.argv = [SWITCHD, "--socket", socket_path]
        for p in self.ports:
            self.argv += ["--port", p]
        self.argv += list(extra_args)
        if log_level:
            self.argv += ["--log-level", log_level]
        self.logfile = tempfile.NamedTemporaryFile(prefix="switchd-", suffix=".log", delete=False)
        self.proc = None
        self.returncode = None

    def start(self, wait=True, ready_timeout=5):
        for p in self.ports:
            _root_links.append(p)
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self.logfile,
            stderr=self.logfile,
            preexec_fn=_set_pdeathsig,
        )
        self.logfile.close()  # the child has its own descriptor
        _daemons.append(self)
        if wait:
            self.wait_ready(ready_timeout)
        return self

    def answers(self):
        try:
            resp = rpc(self.socket_path, "version", timeout=1)
            return "result" in resp
        except (OSError, AssertionError, ValueError):
            return False

    def wait_ready(self, timeout=5):
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 2):
            if self.proc.poll() is not None:
                raise AssertionError(
                    "switchd exited with status %s before answering on %s\n%s"
                    % (self.proc.returncode, self.socket_path, self.log_tail())
                )
            if self.answers():
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        raise AssertionError(
            "switchd did not answer 'version' on %s within %ss\n%s" % (self.socket_path, timeout, self.log_tail())
        )

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5):
        """Sends `sig` and waits; returns the exit status, or raises if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                self._forget()
                raise AssertionError("switchd did not exit within %ss of signal %d\n%s" % (timeout, sig, self.log_tail()))
        self.returncode = self.proc.returncode
        self._forget()
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._forget()

    def _forget(self):
        if self in _daemons:
            _daemons.remove(self)

    def log(self):
        try:
            with open(self.logfile.name, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=60):
        text = self.log().splitlines()
        return "---- switchd stderr (%s, last %d lines) ----\n%s\n---- end ----" % (
            " ".join(self.argv),
            lines,
            "\n".join(text[-lines:]),
        )

    def remove_log(self):
        try:
            os.unlink(self.logfile.name)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Hosts: one namespace holding one switch port's TAP.


class Host:
    def __init__(self, ns, ifname, ip_addr, port):
        self.ns = ns
        self.ifname = ifname  # the TAP's current name inside the namespace
        self.ip = ip_addr
        self.port = port  # the switch's name for the port

    def exec(self, *argv, timeout=10, check=False):
        return ns_exec(self.ns, *argv, timeout=timeout, check=check)

    def ping(self, dst, count=3, interval=0.2, wait=1):
        """Returns (ok, output)."""
        rc, out, err = self.exec(
            "ping", "-n", "-c", str(count), "-W", str(wait), "-i", str(interval), dst,
            timeout=count * interval + wait + 10,
        )
        return rc == 0, out + err

    def link(self):
        rc, out, err = run(["ip", "-n", self.ns, "-s", "-j", "link", "show", "dev", self.ifname], timeout=5)
        if rc != 0:
            raise AssertionError("cannot read link %s in %s: %s" % (self.ifname, self.ns, err))
        return json.loads(out)[0]

    def mac(self):
        return mac_of(self.ns, self.ifname)

    def rx_packets(self):
        return self.link()["stats64"]["rx"]["packets"]

    def neigh(self, dst):
        rc, out, _ = run(["ip", "-n", self.ns, "-j", "neigh", "show", dst, "dev", self.ifname], timeout=5)
        if rc != 0 or not out.strip():
            return []
        return json.loads(out)

    def flush_neigh(self):
        run(["ip", "-n", self.ns, "neigh", "flush", "dev", self.ifname], timeout=5)

    def arping(self, dst, count=1, deadline=2, extra=()):
        """Thomas Habets' arping (Debian package arping, installed by scripts/deps); returns
        (rc, output, replied MACs)."""
        rc, out, err = self.exec(
            "arping", "-c", str(count), "-w", str(deadline), "-i", self.ifname, *extra, dst,
            timeout=deadline + 10,
        )
        macs = [m.lower() for m in re.findall(r"bytes from ([0-9a-fA-F:]{17})", out)]
        return rc, out + err, macs


def ns_exec(ns, *argv, timeout=10, check=False):
    """Runs argv inside namespace ns; returns (rc, stdout, stderr)."""
    return run(["ip", "netns", "exec", ns] + list(argv), timeout=timeout, check=check)


def mac_of(ns, ifname):
    """The MAC address of interface ifname inside namespace ns (lower case)."""
    rc, out, err = run(["ip", "-n", ns, "-j", "link", "show", "dev", ifname], timeout=5)
    if rc != 0:
        raise AssertionError("cannot read link %s in %s: %s" % (ifname, ns, err))
    return json.loads(out)[0]["address"].lower()


def setup_namespace(ns):
    ip("netns", "add", ns)
    _namespaces.append(ns)
    # Disable IPv6 so that router solicitations, MLD and DAD do not add noise to frame counts.
    for key in ("all", "default"):
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % key], timeout=5)
    ip("-n", ns, "link", "set", "lo", "up")


def move_into_namespace(tap, ns, ip_addr, rename=None):
    """Moves switchd's TAP into `ns`, optionally renames it, gives it ip_addr/24 and brings it up."""
    ip("link", "set", "dev", tap, "netns", ns)
    ifname = tap
    if rename:
        ip("-n", ns, "link", "set", "dev", tap, "name", rename)
        ifname = rename
    ip("-n", ns, "addr", "add", "%s/24" % ip_addr, "dev", ifname)
    ip("-n", ns, "link", "set", "dev", ifname, "up")
    return ifname


# ---------------------------------------------------------------------------------------------
# Packet capture inside a namespace.


def read_text(path):
    """A file's text so far (a child's output), or "" if it cannot be read."""
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def interrupt(proc, timeout=5):
    """Stops a child started by the tests with SIGINT (tcpdump and ping print their summary on it),
    kills it if it does not exit within `timeout`, and forgets it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    if proc in _children:
        _children.remove(proc)


class Capture:
    """tcpdump -l -n -e on an interface inside a namespace; text lines, bounded by `timeout`."""

    def __init__(self, ns, ifname, filt="", max_seconds=30):
        self.out = tempfile.NamedTemporaryFile(prefix="switchd-cap-", suffix=".txt", delete=False)
        self.err = tempfile.NamedTemporaryFile(prefix="switchd-cap-", suffix=".err", delete=False)
        argv = ["ip", "netns", "exec", ns, "timeout", str(max_seconds), "tcpdump", "-l", "-n", "-e", "-i", ifname]
        if filt:
            argv += filt.split()
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=self.err, preexec_fn=_set_pdeathsig)
        _children.append(self.proc)
        ok = wait_until(lambda: "listening on" in read_text(self.err.name) or self.proc.poll() is not None, 5)
        if not ok or self.proc.poll() is not None:
            raise AssertionError("tcpdump did not start: %s" % read_text(self.err.name))

    def stop(self):
        """Stops tcpdump (SIGINT flushes it) and returns the captured lines."""
        interrupt(self.proc)
        lines = [l for l in read_text(self.out.name).splitlines() if l.strip()]
        for f in (self.out.name, self.err.name):
            try:
                os.unlink(f)
            except OSError:
                pass
        return lines


# ---------------------------------------------------------------------------------------------
# The test case base.


class SwitchTestCase(unittest.TestCase):
    """Base class: root check, per-test daemon/namespaces and guaranteed cleanup."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("switchd integration tests need root (CI runs them as root); refusing to skip")
        for path in (SWITCHD, SWITCHCTL):
            if not os.access(path, os.X_OK):
                raise AssertionError("binary not found or not executable: %s (set SWITCHD/SWITCHCTL)" % path)
        _sweep_stale()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="switchd-it-")
        _tempdirs.append(self.tmp)
        self.socket_path = os.path.join(self.tmp.name, "switchd.sock")
        self.daemon = None
        self._my_daemons = []
        self.addCleanup(self._cleanup)

    def _failed(self):
        # Inside tearDown and cleanups `_outcome.success` reads True again, but failures and errors are
        # already recorded in the result.
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return True
        return any(test is self for test, _ in list(result.failures) + list(result.errors))

    def _cleanup(self):
        failed = self._failed()
        for d in self._my_daemons:
            d.kill()
            if failed:
                sys.stderr.write("\n%s\n" % d.log_tail(120))
            if not failed:
                d.remove_log()
        cleanup_all()

    def tearDown(self):
        pass

    # -- daemon --------------------------------------------------------------------------------

    def start_daemon(self, ports=(), socket_path=None, extra_args=(), wait=True):
        d = Daemon(socket_path or self.socket_path, ports, extra_args)
        self._my_daemons.append(d)
        d.start(wait=wait)
        if self.daemon is None:
            self.daemon = d
        return d

    def hosts(self, n, rename=None):
        """Starts switchd with n new TAP ports and puts each in its own namespace with 198.18.0.<i+1>."""
        taps = [tap_name() for _ in range(n)]
        self.start_daemon(taps)
        hosts = []
        for i, tap in enumerate(taps):
            ns = ns_name()
            setup_namespace(ns)
            ifname = move_into_namespace(tap, ns, "%s.%d" % (SUBNET, i + 1), rename=rename)
            hosts.append(Host(ns, ifname, "%s.%d" % (SUBNET, i + 1), tap))
        return hosts

    def add_host(self, port, index, rename=None):
        """Puts the existing switchd TAP `port` into a new namespace with 198.18.0.<index>."""
        ns = ns_name()
        setup_namespace(ns)
        ip_addr = "%s.%d" % (SUBNET, index)
        ifname = move_into_namespace(port, ns, ip_addr, rename=rename)
        return Host(ns, ifname, ip_addr, port)

    # -- switchctl -----------------------------------------------------------------------------

    def ctl(self, *args, socket_path=None, json_out=False, timeout=10):
        argv = [SWITCHCTL, "--socket", socket_path or self.socket_path]
        if json_out:
            argv.append("--json")
        argv += [str(a) for a in args]
        return run(argv, timeout=timeout)

    def ctl_ok(self, *args, **kw):
        rc, out, err = self.ctl(*args, **kw)
        self.assertEqual(rc, 0, "switchctl %s failed (rc %d)\nstdout: %s\nstderr: %s" % (" ".join(map(str, args)), rc, out, err))
        return out

    def ctl_json(self, *args, socket_path=None):
        rc, out, err = self.ctl(*args, socket_path=socket_path, json_out=True)
        self.assertEqual(
            rc, 0, "switchctl --json %s failed (rc %d)\nstdout: %s\nstderr: %s" % (" ".join(map(str, args)), rc, out, err)
        )
        try:
            return json.loads(out)
        except ValueError:
            self.fail("switchctl --json %s printed something that is not JSON: %r" % (" ".join(map(str, args)), out[:1000]))

    def ports(self):
        return {p["name"]: p for p in self.ctl_json("show-ports")}

    def macs(self):
        return self.ctl_json("show-macs")

    def stats(self):
        return self.ctl_json("show-stats")

    def ping_ok(self, src, dst_ip, count=3, interval=0.2):
        ok, out = src.ping(dst_ip, count=count, interval=interval)
        self.assertTrue(ok, "ping %s -> %s failed:\n%s" % (src.ns, dst_ip, out))
