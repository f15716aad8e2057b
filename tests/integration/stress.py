"""Helpers for the hardening, fault and soak tests: the daemon's descriptors and memory, background
ping with loss and RTT, and a raw-frame generator inside a namespace.

Every background process is registered with the harness, so that it is killed at cleanup; every
wait is bounded.
"""

import atexit
import os
import re
import signal
import subprocess
import tempfile
import time

import harness

_files = []  # output files of background processes, removed at exit whatever happened


def _remove_files():
    for path in list(_files):
        try:
            os.unlink(path)
        except OSError:
            pass
        _files.remove(path)


atexit.register(_remove_files)


def _output_file(prefix):
    f = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".txt", delete=False)
    _files.append(f.name)
    return f


# ---------------------------------------------------------------------------------------------
# Sanitizer builds.

# An AddressSanitizer build keeps freed memory in a quarantine (256 MiB by default) before reusing
# it, so its RSS grows for a long time whatever the program does. A small quarantine lets RSS
# settle, and RSS checks allow for it (rss_slack_kib). Leaks are LeakSanitizer's job, at exit.
ASAN_QUARANTINE_MB = 8
_asan = os.environ.get("ASAN_OPTIONS", "")
_quarantine = re.search(r"quarantine_size_mb=(\d+)", _asan)
if _quarantine:
    ASAN_QUARANTINE_MB = int(_quarantine.group(1))  # the caller's choice
else:
    os.environ["ASAN_OPTIONS"] = (_asan + ":" if _asan else "") + "quarantine_size_mb=%d" % ASAN_QUARANTINE_MB
os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")


def is_sanitized(pid):
    """True if the process runs with AddressSanitizer (its runtime is mapped)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            maps = f.read()
    except OSError:
        return False
    return "libasan" in maps or "libclang_rt.asan" in maps


def rss_slack_kib(pid):
    """RSS growth to allow on top of a plain build's bound: the quarantine and allocator caches of
    an AddressSanitizer build."""
    return (ASAN_QUARANTINE_MB + 8) * 1024 if is_sanitized(pid) else 0


# ---------------------------------------------------------------------------------------------
# The daemon's resources, from /proc.


def fd_targets(pid):
    """The daemon's open descriptors as {fd: target}, e.g. {3: 'anon_inode:[eventpoll]'}."""
    targets = {}
    path = "/proc/%d/fd" % pid
    for name in os.listdir(path):
        try:
            targets[int(name)] = os.readlink(os.path.join(path, name))
        except OSError:  # closed while we looked
            pass
    return targets


def fd_count(pid):
    return len(fd_targets(pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def settled_fd_count(pid, expected=None, timeout=3.0):
    """The descriptor count once it stops changing (clients we closed may still be closing on the
    daemon's side) or reaches `expected`; bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    last = fd_count(pid)
    stable = 0
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = fd_count(pid)
        if expected is not None and now == expected:
            return now
        stable = stable + 1 if now == last else 0
        last = now
        if expected is None and stable >= 4:
            return now
    return last


def describe_fd_change(before, after):
    """Lines naming the descriptors opened and closed between two fd_targets() snapshots."""
    lines = []
    for fd in sorted(set(before) | set(after)):
        if before.get(fd) != after.get(fd):
            lines.append("  fd %d: %s -> %s" % (fd, before.get(fd, "(closed)"), after.get(fd, "(closed)")))
    return "\n".join(lines) or "  (same descriptors)"


SANITIZER_PATTERNS = (
    re.compile(r"ERROR: (Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer"),
    re.compile(r"runtime error:"),
    re.compile(r"WARNING: .*Sanitizer"),
)


def sanitizer_reports(log_text):
    """Lines of a sanitizer report in a daemon's stderr (empty for a clean run or a plain build)."""
    return [line for line in log_text.splitlines() if any(p.search(line) for p in SANITIZER_PATTERNS)]


# ---------------------------------------------------------------------------------------------
# Background ping.


class Pinger:
    """`ping -i INTERVAL` from a host to an address until stop(); stop() returns the summary:
    {"sent", "received", "loss", "min", "avg", "max"} (loss in percent, RTTs in ms)."""

    def __init__(self, host, dst, interval=0.01, max_seconds=120, size=56):
        self.out = _output_file("switchd-ping-")
        argv = ["ip", "netns", "exec", host.ns, "ping", "-n", "-i", str(interval), "-W", "1",
                "-w", str(int(max_seconds)), "-s", str(size), dst]
        self.describe = "ping %s -> %s every %ss" % (host.ns, dst, interval)
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     preexec_fn=harness._set_pdeathsig)
        harness._children.append(self.proc)
        self.started = time.monotonic()

    def stop(self):
        harness.interrupt(self.proc)  # ping prints its summary on SIGINT
        with open(self.out.name, errors="replace") as f:
            text = f.read()
        os.unlink(self.out.name)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
        if not m:
            raise AssertionError("%s: no summary in its output:\n%s" % (self.describe, text[-2000:]))
        summary = {"sent": int(m.group(1)), "received": int(m.group(2)), "text": text[-600:],
                   "rtts": [(int(seq), float(rtt)) for seq, rtt in
                            re.findall(r"icmp_seq=(\d+) ttl=\d+ time=([\d.]+)", text)]}
        summary["loss"] = 100.0 * (summary["sent"] - summary["received"]) / max(1, summary["sent"])
        r = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", text)
        summary.update(dict(zip(("min", "avg", "max"), map(float, r.groups()))) if r else
                       {"min": None, "avg": None, "max": None})
        return summary


def assert_ping_healthy(test, summary, what, max_loss_packets=2, max_rtt_ms=250.0, max_avg_ms=20.0):
    """Near-0 loss (at most `max_loss_packets`: the one in flight at SIGINT and a spare) and
    bounded RTT (three times the bounds for a sanitizer build of `test.daemon`)."""
    daemon = getattr(test, "daemon", None)
    if daemon is not None and daemon.proc is not None and is_sanitized(daemon.proc.pid):
        max_rtt_ms *= 3
        max_avg_ms *= 3
    detail = "%s: %d sent, %d received, RTT min/avg/max %s/%s/%s ms\n%s" % (
        what, summary["sent"], summary["received"], summary["min"], summary["avg"], summary["max"],
        summary["text"])
    test.assertGreater(summary["sent"], 10, detail)
    test.assertLessEqual(summary["sent"] - summary["received"], max_loss_packets, "packets lost: " + detail)
    test.assertLess(summary["max"], max_rtt_ms, "RTT not bounded: " + detail)
    test.assertLess(summary["avg"], max_avg_ms, "average RTT too high: " + detail)


# ---------------------------------------------------------------------------------------------
# Raw frames from inside a namespace.

_BLASTER = r"""
import signal, socket, sys, time
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
ifname, rate, seconds, src = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
dst = bytes.fromhex(sys.argv[5].replace(":", ""))
frame = dst + bytes.fromhex(src.replace(":", "")) + b"\x88\xb5" + b"switchd-test".ljust(46, b".")
end = time.monotonic() + seconds
gap = 1.0 / rate
s = None
sent = errors = 0
while not stop and time.monotonic() < end:
    try:
        if s is None:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind((ifname, 0))
        s.send(frame)
        sent += 1
    except OSError:
        # The interface went down or away (the test deletes and recreates it): try again soon.
        errors += 1
        if s is not None:
            s.close()
            s = None
        time.sleep(0.005)
    time.sleep(gap)
print("sent %d errors %d" % (sent, errors))
"""


class FrameBlaster:
    """Sends Ethernet frames (ethertype 0x88b5, to `dst`, broadcast by default) out of `ifname`
    in namespace `ns` at about `rate` per second, until stop() or `max_seconds`. Survives the
    interface disappearing and coming back."""

    def __init__(self, ns, ifname, src_mac, rate=500, max_seconds=120, dst="ff:ff:ff:ff:ff:ff"):
        argv = ["ip", "netns", "exec", ns, "python3", "-c", _BLASTER, ifname, str(rate), str(max_seconds),
                src_mac, dst]
        self.out = _output_file("switchd-blast-")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     preexec_fn=harness._set_pdeathsig)
        harness._children.append(self.proc)

    def stop(self):
        """Returns (sent, errors)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc in harness._children:
            harness._children.remove(self.proc)
        with open(self.out.name, errors="replace") as f:
            text = f.read()
        os.unlink(self.out.name)
        m = re.search(r"sent (\d+) errors (\d+)", text)
        return (int(m.group(1)), int(m.group(2))) if m else (None, None)
