"""Boots and drives the tiny guest of tests/vm (tests/vm/build-guest) under QEMU, for the tests.

    g = Guest(guest_dir, tap="vm0", mac="52:54:00:..", ip_cidr="198.18.1.2/24", peer="198.18.1.1")
    g.start(); g.wait_ready(60)
    rc, out = g.run("ping -c 1 198.18.1.1", timeout=20)
    g.poweroff(30)          # or g.kill(); both always leave no QEMU behind

The guest's console (ttyS0) is QEMU's stdin/stdout: a reader thread collects its lines (and copies
them to a log file), commands go in as "ID COMMAND" lines and end with "@@ID rc=N@@" (tests/vm/init).
Every wait is bounded; QEMU gets SIGTERM if the Python process dies (PR_SET_PDEATHSIG).

Environment: SWITCHD_VM_GUEST is the guest directory (default <repo>/build/vm-guest),
SWITCHD_VM_ACCEL the QEMU accelerator (default tcg: CI machines have no usable KVM).
"""

import os
import re
import signal
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD_GUEST = os.path.join(HERE, "build-guest")
QEMU = os.environ.get("QEMU") or "qemu-system-x86_64"
ACCEL = os.environ.get("SWITCHD_VM_ACCEL") or "tcg"


def guest_dir():
    return os.environ.get("SWITCHD_VM_GUEST") or os.path.join(REPO, "build", "vm-guest")


def ensure_built(outdir=None, timeout=900):
    """Runs tests/vm/build-guest OUTDIR (cached: fast when already built); returns OUTDIR.
    Raises AssertionError with the builder's output when it fails."""
    outdir = outdir or guest_dir()
    try:
        p = subprocess.run(
            [BUILD_GUEST, outdir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("tests/vm/build-guest %s did not finish within %ss" % (outdir, timeout))
    if p.returncode != 0:
        raise AssertionError("tests/vm/build-guest %s failed (rc %d):\n%s" % (outdir, p.returncode, p.stdout))
    return outdir


def _set_pdeathsig():
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


class Guest:
    """One QEMU process running the tiny guest on an existing TAP `tap`, opened with vnet_hdr=on
    (offloads: the guest sends and takes partial checksums and TSO/GSO frames) unless vnet_hdr=False."""

    def __init__(self, directory, tap, mac, ip_cidr, peer=None, log_path=None, memory_mb=256, vnet_hdr=True):
        self.dir = directory
        self.tap = tap
        self.mac = mac
        self.ip_cidr = ip_cidr
        self.peer = peer
        self.log_path = log_path
        self.memory_mb = memory_mb
        self.vnet_hdr = vnet_hdr
        self.proc = None
        self.lines = []  # console lines so far, without line ends
        self._cond = threading.Condition()
        self._reader = None
        self._next_id = 0
        self.started_at = None
        self.ready_after = None  # seconds from start() to the ready line

    def argv(self):
        append = "console=ttyS0 quiet panic=-1 switchd.ip=%s" % self.ip_cidr
        if self.peer:
            append += " switchd.peer=%s" % self.peer
        return [
            QEMU,
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-machine", "pc", "-accel", ACCEL, "-m", str(self.memory_mb),
            "-kernel", os.path.join(self.dir, "vmlinuz"),
            "-initrd", os.path.join(self.dir, "initramfs.cpio.gz"),
            "-append", append,
            "-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
            "-netdev",
            "tap,id=n0,ifname=%s,script=no,downscript=no,vnet_hdr=%s" % (self.tap, "on" if self.vnet_hdr else "off"),
            # romfile=: no iPXE option ROM, the kernel is booted directly.
            "-device", "virtio-net-pci,netdev=n0,mac=%s,romfile=" % self.mac,
        ]

    def start(self):
        for name in ("vmlinuz", "initramfs.cpio.gz"):
            path = os.path.join(self.dir, name)
            if not os.path.exists(path):
                raise AssertionError("guest file %s is missing (run tests/vm/build-guest %s)" % (path, self.dir))
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_set_pdeathsig,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        log = open(self.log_path, "ab") if self.log_path else None
        try:
            for raw in iter(self.proc.stdout.readline, b""):
                if log:
                    log.write(raw)
                    log.flush()
                line = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
        finally:
            if log:
                log.close()
            with self._cond:
                self._cond.notify_all()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def console(self, last=80):
        with self._cond:
            return "\n".join(self.lines[-last:])

    def wait_for(self, pattern, timeout, start_line=0):
        """Waits for a console line (from index start_line on) matching regex `pattern`; returns
        (match, index). Raises AssertionError on timeout or when QEMU exits first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start_line
        with self._cond:
            for _ in range(1000000):
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m, i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if not self._reader.is_alive():
                    raise AssertionError(
                        "QEMU exited (status %s) before the guest printed /%s/\n%s"
                        % (self.proc.poll(), pattern, self._tail_locked())
                    )
                self._cond.wait(min(left, 1.0))
        raise AssertionError("guest did not print /%s/ within %ss\n%s" % (pattern, timeout, self.console()))

    def _tail_locked(self, last=80):
        return "---- guest console (last %d lines) ----\n%s\n---- end ----" % (last, "\n".join(self.lines[-last:]))

    def wait_ready(self, timeout=60):
        """Waits for the guest's ready line; returns its fields (mac, ip, features)."""
        m, _ = self.wait_for(r"switchd-guest: ready mac=(\S+) ip=(\S*) features=([01]*)", timeout)
        self.ready_after = time.monotonic() - self.started_at
        return {"mac": m.group(1), "ip": m.group(2), "features": m.group(3)}

    def run(self, command, timeout=30):
        """Runs `command` (one line, sh syntax) in the guest; returns (rc, output)."""
        if "\n" in command:
            raise ValueError("guest commands are one line")
        with self._cond:
            self._next_id += 1
            cid = self._next_id
            first = len(self.lines)
        self._send("%d %s\n" % (cid, command))
        m, end = self.wait_for(r"@@%d rc=(\d+)@@" % cid, timeout, start_line=first)
        with self._cond:
            out = self.lines[first:end] + [self.lines[end][: m.start()]]
        return int(m.group(1)), "\n".join(l for l in out if l)

    def _send(self, text):
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise AssertionError("cannot write to the guest console (QEMU status %s): %s" % (self.proc.poll(), e))

    def poweroff(self, timeout=30):
        """Asks the guest to power off and waits for QEMU to exit; returns QEMU's exit status.
        Kills QEMU and raises AssertionError when it does not exit in time."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self._send("poweroff\n")
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("QEMU did not exit within %ss of poweroff\n%s" % (timeout, self.console()))
        self._join()
        return rc

    def kill(self):
        """Kills QEMU (SIGTERM, then SIGKILL) if it runs. Always safe to call."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._join()

    def _join(self):
        if self._reader is not None:
            self._reader.join(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, BrokenPipeError):
                pass
