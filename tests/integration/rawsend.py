"""Raw Ethernet frame generator for switchd's integration tests (Python stdlib only, no scapy).

Run it inside a test namespace, as root:

    ip netns exec NS python3 tests/integration/rawsend.py --iface IF [options]

It sends frames through an AF_PACKET/SOCK_RAW socket bound to IF and prints one JSON line on stdout:
{"sent": N, "failed": F, "seconds": S, "span": D, "pps": R, "first": T0, "last": T1}, where `sent` counts frames
the kernel accepted, `failed` the sends it refused (ENOBUFS and the like), `seconds` the whole run, and
`first`/`last` are the CLOCK_MONOTONIC times (shared by every namespace) of the first and last accepted frame,
`span` the time between them and `pps` sent / span. Accepted is not delivered: a TAP whose reader (switchd)
falls behind drops frames silently once its queue is full, so tests count what switchd received (show-ports).

Options:
  --count N         frames to send (at most; default 1000)
  --duration S      stop after S seconds whatever the count (default 10; hard cap 60)
  --rate PPS        pace to about PPS frames per second (default 0: as fast as possible)
  --src random|MAC  source MAC: a fresh random locally administered unicast MAC per frame, or a fixed one
                    (default: the interface's own MAC)
  --dst broadcast|multicast|random|MAC
                    destination: ff:ff:ff:ff:ff:ff, 01:00:5e:7f:00:01, a random locally administered unicast
                    MAC per frame (unknown unicast), or a fixed MAC (default broadcast)
  --ethertype HEX   EtherType (default 88b5, IEEE local experimental: every host's stack ignores it)
  --size BYTES      frame size without FCS, 60..1514 (default 60)
  --start-at T      wait until CLOCK_MONOTONIC reaches T before the first frame (bounded by 10 s), so
                    that senders in several namespaces can start together
  --interval S      alternative to --rate: one frame every S seconds
  --seed N          seed for the random MACs (default: from os.urandom)

Every loop is bounded by --count and --duration.
"""

import argparse
import errno
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

HARD_CAP_SECONDS = 60.0
BROADCAST = b"\xff" * 6
MULTICAST = bytes.fromhex("01005e7f0001")


def parse_mac(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise argparse.ArgumentTypeError("bad MAC %r" % text)
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError("bad MAC %r" % text)


def iface_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return parse_mac(f.read().strip())


class RandomMacs:
    """Random locally administered unicast MACs (first octet x2/x6/xa/xe), from a fast PRNG."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def next(self):
        value = self.rng.getrandbits(48)
        first = ((value >> 40) & 0xFC) | 0x02  # unicast, locally administered
        return bytes([first]) + (value & 0xFFFFFFFFFF).to_bytes(5, "big")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iface", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--src", default="")
    ap.add_argument("--dst", default="broadcast")
    ap.add_argument("--ethertype", default="88b5")
    ap.add_argument("--size", type=int, default=60)
    ap.add_argument("--start-at", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)

    duration = max(0.0, min(args.duration, HARD_CAP_SECONDS))
    size = max(60, min(args.size, 1514))
    ethertype = struct.pack("!H", int(args.ethertype, 16))
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(8), "big")
    macs = RandomMacs(seed)

    random_src = args.src == "random"
    src = None if random_src else (parse_mac(args.src) if args.src else iface_mac(args.iface))
    random_dst = args.dst == "random"
    dst = {"broadcast": BROADCAST, "multicast": MULTICAST, "random": None}.get(args.dst, None)
    if dst is None and not random_dst:
        dst = parse_mac(args.dst)
    payload = b"switchd-rawsend".ljust(size - 14, b"\0")

    interval = args.interval if args.interval > 0 else (1.0 / args.rate if args.rate > 0 else 0.0)

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((args.iface, 0))
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    except OSError:
        pass

    if args.start_at > 0:
        wait = args.start_at - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 10.0))

    # Frames with fixed addresses are built once.
    fixed = None
    if not random_src and not random_dst:
        fixed = dst + src + ethertype + payload
    tail = ethertype + payload

    sent = failed = 0
    first = last = None
    start = time.monotonic()
    deadline = start + duration
    nxt = start
    send = s.send
    # Bounded: at most `count` successful sends, at most `count` failures (each followed by a short
    # back-off), and never past the deadline.
    for _ in range(2 * max(0, args.count)):
        if sent >= args.count:
            break
        now = time.monotonic()
        if now >= deadline:
            break
        if interval:
            if now < nxt:
                time.sleep(min(nxt - now, deadline - now))
            nxt += interval
        if fixed is not None:
            frame = fixed
        else:
            frame = (macs.next() if random_dst else dst) + (macs.next() if random_src else src) + tail
        try:
            send(frame)
        except OSError as e:
            if e.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN):
                raise
            failed += 1
            time.sleep(0.0005)
            continue
        sent += 1
        if first is None:
            first = time.monotonic()
        # Reading the clock on every frame costs little next to the send() syscall.
        last = time.monotonic()
    end = time.monotonic()
    s.close()
    secs = (last - first) if (first is not None and last is not None) else 0.0
    print(json.dumps({
        "sent": sent,
        "failed": failed,
        "seconds": round(end - start, 4),
        "span": round(secs, 4),
        "pps": round(sent / secs) if secs > 0 else 0,
        "first": first,
        "last": last,
    }))
    return 0


# ---------------------------------------------------------------------------------------------
# Helpers for the tests (imported, not run): start this script in a namespace, and ping in the
# background. Both register their processes with the harness, so cleanup kills them whatever happens.


def start(ns, iface, count, duration=10.0, rate=0.0, interval=0.0, src=None, dst="broadcast", start_at=0.0,
          size=60, seed=None):
    """Starts a sender in namespace `ns` (not waiting); returns its Popen. Pass it to `finish`."""
    import harness

    argv = ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "--iface", iface,
            "--count", str(int(count)), "--duration", str(duration), "--dst", dst, "--size", str(size)]
    if rate:
        argv += ["--rate", str(rate)]
    if interval:
        argv += ["--interval", str(interval)]
    if src:
        argv += ["--src", src]
    if start_at:
        argv += ["--start-at", repr(start_at)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(argv, stdout=out, stderr=err, preexec_fn=harness._set_pdeathsig)
    p.rawsend_files = (out, err, argv, duration)
    harness._children.append(p)
    return p


def finish(p, timeout=None):
    """Waits for a sender started by `start` and returns its JSON summary (a dict)."""
    import harness

    out, err, argv, duration = p.rawsend_files
    try:
        p.wait(timeout=timeout if timeout is not None else min(duration, HARD_CAP_SECONDS) + 20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)
    finally:
        if p in harness._children:
            harness._children.remove(p)
    out.seek(0)
    err.seek(0)
    text, errors = out.read(), err.read()
    out.close()
    err.close()
    if p.returncode != 0:
        raise AssertionError("rawsend failed (rc %s): %s\nstdout: %s\nstderr: %s"
                             % (p.returncode, " ".join(argv), text, errors))
    try:
        return json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError("rawsend printed no summary: %s\nstdout: %r\nstderr: %s" % (" ".join(argv), text, errors))


def send(ns, iface, count, **kw):
    """Runs a sender to completion; returns its summary."""
    return finish(start(ns, iface, count, **kw))


class BackgroundPing:
    """`ping -i INTERVAL` from namespace `ns` to `dst` until stop() (or `max_seconds`, as a bound).

    stop() sends SIGINT, which makes ping print its summary, and returns (transmitted, received, output).
    """

    def __init__(self, ns, dst, interval=0.01, max_seconds=30):
        import harness

        self.out = tempfile.TemporaryFile(mode="w+")
        count = int(max_seconds / interval) + 1
        self.argv = ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-i", str(interval), "-W", "1",
                     "-c", str(count), "-w", str(int(max_seconds) + 1), dst]
        self.proc = subprocess.Popen(self.argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     preexec_fn=harness._set_pdeathsig)
        harness._children.append(self.proc)

    def stop(self, linger=0.3):
        """Waits `linger` seconds for the last replies, stops ping and parses its summary."""
        import harness

        time.sleep(linger)
        harness.interrupt(self.proc)
        self.out.seek(0)
        text = self.out.read()
        self.out.close()
        m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", text)
        if not m:
            raise AssertionError("no ping summary from %s:\n%s" % (" ".join(self.argv), text))
        return int(m.group(1)), int(m.group(2)), text


if __name__ == "__main__":
    sys.exit(main())
