"""802.1Q/802.1ad frames by hand for switchd's VLAN, port-control and mirror tests (Python stdlib only).

Why not scapy: the tests run under whatever `python3` ctest finds (a pyenv interpreter does not see Debian's
python3-scapy), and all they need is a few headers packed with struct.

What is here:
- frame building and parsing: Ethernet with any stack of 802.1Q (0x8100) / 802.1ad (0x88a8) tags, ARP, IPv4 ICMP
  echo;
- `in_netns(ns)`: runs a block with the calling thread in a network namespace (setns), so the test process itself
  holds AF_PACKET sockets inside the namespaces it made;
- `Sniffer`: an AF_PACKET socket on one interface that gives back each frame exactly as it was on the wire. The
  kernel takes the outer VLAN tag off every frame it receives (into skb metadata), whether or not it has 802.1Q
  support; the socket asks for that metadata (PACKET_AUXDATA) and puts the tag back, as tcpdump does;
- `RawVlanHost`: a "host" on a trunk port that lives in software: a thread that owns an IP and a MAC in one VLAN
  (or untagged), answers ARP and ICMP echo for them in its VLAN, and pings from there;
- `KernelVlanHost`: the same host as a Linux VLAN sub-interface moved into a namespace of its own, where the kernel
  has 802.1Q;
- `vlan_method()`: probes once which of the two this kernel allows ("kernel" or "raw"; SWITCHD_VLAN_METHOD
  overrides) and `vlan_host()` makes the right one.

Every wait is bounded in time; every thread stops on close() and by itself after `max_seconds`.
"""

import contextlib
import ctypes
import os
import select
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True

import harness  # noqa: E402

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
TPID_8021Q = 0x8100
TPID_8021AD = 0x88A8
ETHERTYPE_EXPERIMENTAL = 0x88B5  # IEEE local experimental: every host's stack ignores it

SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
CLONE_NEWNET = 0x40000000

BROADCAST = "ff:ff:ff:ff:ff:ff"
MULTICAST = "01:00:5e:7f:00:01"


# ---------------------------------------------------------------------------------------------
# Addresses.


def mac_bytes(mac):
    if isinstance(mac, bytes):
        return mac
    parts = mac.split(":")
    if len(parts) != 6:
        raise ValueError("bad MAC %r" % mac)
    return bytes(int(p, 16) for p in parts)


def mac_str(raw):
    return ":".join("%02x" % b for b in raw)


def ip_bytes(addr):
    return socket.inet_aton(addr)


def ip_str(raw):
    return socket.inet_ntoa(raw)


def local_mac(seed):
    """A locally administered unicast MAC, 02:5d:xx:xx:xx:xx, distinct per `seed` and per test process."""
    value = (harness.PID & 0xFFFF) << 16 | (seed & 0xFFFF)
    return mac_str(b"\x02\x5d" + value.to_bytes(4, "big"))


def tci(vid, pcp=0, dei=0):
    return (pcp & 7) << 13 | (dei & 1) << 12 | (vid & 0xFFF)


# ---------------------------------------------------------------------------------------------
# Frames.


def ethernet(dst, src, ethertype, payload, tags=()):
    """An Ethernet frame (no FCS) padded to 60 bytes; `tags` is a list of (tpid, tci), outermost first."""
    frame = mac_bytes(dst) + mac_bytes(src)
    for tpid, value in tags:
        frame += struct.pack("!HH", tpid, value)
    frame += struct.pack("!H", ethertype) + payload
    return frame.ljust(60, b"\0")


def probe(src, dst=BROADCAST, tags=(), note="probe", ethertype=ETHERTYPE_EXPERIMENTAL):
    """A test frame that no host's stack reacts to: EtherType 0x88b5 and a recognisable payload."""
    return ethernet(dst, src, ethertype, b"switchd-test " + note.encode(), tags)


def q(vid, pcp=0):
    """One 802.1Q tag, for ethernet(tags=...)."""
    return [(TPID_8021Q, tci(vid, pcp))]


class Frame:
    """A parsed frame: dst, src (strings), tags [(tpid, tci)], ethertype, payload, raw; arp/icmp when it is one."""

    def __init__(self, raw):
        if len(raw) < 14:
            raise ValueError("runt frame (%d bytes)" % len(raw))
        self.raw = bytes(raw)
        self.dst = mac_str(raw[0:6])
        self.src = mac_str(raw[6:12])
        self.tags = []
        off = 12
        (ethertype,) = struct.unpack_from("!H", raw, off)
        while ethertype in (TPID_8021Q, TPID_8021AD) and len(raw) >= off + 6 and len(self.tags) < 4:
            (value,) = struct.unpack_from("!H", raw, off + 2)
            self.tags.append((ethertype, value))
            off += 4
            (ethertype,) = struct.unpack_from("!H", raw, off)
        self.ethertype = ethertype
        self.payload = raw[off + 2:]
        self.arp = parse_arp(self.payload) if ethertype == ETH_P_ARP else None
        self.icmp = parse_icmp(self.payload) if ethertype == ETH_P_IP else None

    @property
    def vid(self):
        """The VLAN id of the outer tag, None when untagged."""
        return self.tags[0][1] & 0xFFF if self.tags else None

    @property
    def pcp(self):
        return self.tags[0][1] >> 13 if self.tags else None

    def describe(self):
        tags = " ".join("%s %d p%d" % ("Q" if t == TPID_8021Q else "AD", v & 0xFFF, v >> 13) for t, v in self.tags)
        what = "ethertype 0x%04x" % self.ethertype
        if self.arp:
            what = "ARP %s %s(%s) -> %s(%s)" % (self.arp["op_name"], self.arp["sender_ip"], self.arp["sender_mac"],
                                                self.arp["target_ip"], self.arp["target_mac"])
        elif self.icmp:
            what = "ICMP %s %s -> %s id %d seq %d" % (self.icmp["type_name"], self.icmp["src"], self.icmp["dst"],
                                                      self.icmp["id"], self.icmp["seq"])
        return "%s > %s [%s] %s (%d bytes)" % (self.src, self.dst, tags or "untagged", what, len(self.raw))

    __repr__ = describe


def arp_payload(op, sender_mac, sender_ip, target_mac, target_ip):
    return struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, op) + mac_bytes(sender_mac) + ip_bytes(sender_ip) + \
        mac_bytes(target_mac) + ip_bytes(target_ip)


def arp_request(src_mac, src_ip, target_ip, tags=()):
    return ethernet(BROADCAST, src_mac, ETH_P_ARP,
                    arp_payload(1, src_mac, src_ip, "00:00:00:00:00:00", target_ip), tags)


def gratuitous_arp(src_mac, src_ip, tags=()):
    return ethernet(BROADCAST, src_mac, ETH_P_ARP, arp_payload(1, src_mac, src_ip, "00:00:00:00:00:00", src_ip), tags)


def parse_arp(p):
    if len(p) < 28:
        return None
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", p, 0)
    if htype != 1 or ptype != ETH_P_IP or hlen != 6 or plen != 4:
        return None
    return {
        "op": op,
        "op_name": {1: "request", 2: "reply"}.get(op, str(op)),
        "sender_mac": mac_str(p[8:14]),
        "sender_ip": ip_str(p[14:18]),
        "target_mac": mac_str(p[18:24]),
        "target_ip": ip_str(p[24:28]),
    }


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmp_echo(dst_mac, src_mac, src_ip, dst_ip, ident, seq, reply=False, tags=(), data=b"switchd-vlanraw"):
    icmp = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + data
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), ident & 0xFFFF, 0x4000, 64, 1, 0,
                         ip_bytes(src_ip), ip_bytes(dst_ip))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return ethernet(dst_mac, src_mac, ETH_P_IP, header + icmp, tags)


def parse_icmp(p):
    if len(p) < 28 or p[0] >> 4 != 4:
        return None
    ihl = (p[0] & 0xF) * 4
    total = struct.unpack_from("!H", p, 2)[0]
    if p[9] != 1 or len(p) < ihl + 8 or total < ihl + 8:
        return None
    icmp = p[ihl:total]
    kind, code, _, ident, seq = struct.unpack_from("!BBHHH", icmp, 0)
    if kind not in (0, 8):
        return None
    return {
        "type": kind,
        "type_name": "echo-request" if kind == 8 else "echo-reply",
        "src": ip_str(p[12:16]),
        "dst": ip_str(p[16:20]),
        "id": ident,
        "seq": seq,
        "data": bytes(icmp[8:]),
    }


# ---------------------------------------------------------------------------------------------
# Sockets inside namespaces.

_libc = ctypes.CDLL(None, use_errno=True)
_netns_lock = threading.Lock()


@contextlib.contextmanager
def in_netns(ns):
    """Runs the block with the calling thread in namespace `ns` (None: stay). Sockets made in the block stay
    in `ns` for good. Only threads that fork nothing may use this (the tests' main thread does)."""
    if ns is None:
        yield
        return
    with _netns_lock:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(os.path.join("/run/netns", ns), os.O_RDONLY)
            try:
                if _libc.setns(target, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, "setns(%s): %s" % (ns, os.strerror(err)))
            finally:
                os.close(target)
            try:
                yield
            finally:
                if _libc.setns(own, CLONE_NEWNET) != 0:
                    # Carrying on in the wrong namespace would send test traffic where it must not go.
                    sys.stderr.write("vlanraw: cannot return to the test's own network namespace; aborting\n")
                    os._exit(70)
        finally:
            os.close(own)


def packet_socket(ns, ifname):
    """An AF_PACKET socket bound to `ifname` in namespace `ns`, with PACKET_AUXDATA on."""
    with in_netns(ns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((ifname, ETH_P_ALL))
        except BaseException:
            s.close()
            raise
    return s


def receive(s):
    """One frame from packet socket `s` as it was on the wire: (raw bytes, incoming?)."""
    data, ancdata, _flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(AUXDATA.size))
    for level, kind, value in ancdata:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(value) >= AUXDATA.size:
            status, _len, _snap, _mac, _net, vlan_tci, vlan_tpid = AUXDATA.unpack_from(value)
            if status & TP_STATUS_VLAN_VALID:
                tpid = vlan_tpid if status & TP_STATUS_VLAN_TPID_VALID else TPID_8021Q
                data = data[:12] + struct.pack("!HH", tpid, vlan_tci) + data[12:]
    return data, addr[2] != PACKET_OUTGOING


class Sniffer:
    """Frames arriving on one interface (from the switch), each as it was on the wire; sends frames too.

    It listens from the moment it is made: make it before the traffic it is to see."""

    def __init__(self, ns, ifname):
        self.ns = ns
        self.ifname = ifname
        self.sock = packet_socket(ns, ifname)
        self.seen = []  # every incoming Frame read so far

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, frame):
        self.sock.send(frame)

    def _read(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return None
        raw, incoming = receive(self.sock)
        if not incoming:
            return False
        try:
            frame = Frame(raw)
        except ValueError:
            return False
        if len(self.seen) < 100000:
            self.seen.append(frame)
        return frame

    def collect(self, seconds, match=None):
        """Reads for `seconds`; returns the incoming frames (those `match` accepts, if given)."""
        out = []
        deadline = time.monotonic() + seconds
        for _ in range(200000):
            left = deadline - time.monotonic()
            frame = self._read(left)
            if frame is None and left <= 0:
                break  # the time is up and nothing more is queued
            if frame and (match is None or match(frame)):
                out.append(frame)
        return out

    def wait_for(self, match, timeout=2.0):
        """The first incoming frame `match` accepts within `timeout`, else None."""
        deadline = time.monotonic() + timeout
        for _ in range(200000):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            frame = self._read(left)
            if frame and match(frame):
                return frame
        return None


# ---------------------------------------------------------------------------------------------
# Hosts in a VLAN behind a trunk.


class RawVlanHost:
    """A host in VLAN `vid` (None: untagged) on the trunk interface `ifname` of namespace `ns`, in software.

    A thread owns the socket: it answers ARP requests for `ip` and ICMP echo requests to `ip` in its VLAN (tagged
    with `vid`, priority 0), remembers the ARP replies and echo replies addressed to it, and records every frame
    of its VLAN that it sees (`frames`)."""

    method = "raw"

    def __init__(self, ns, ifname, vid, ip, mac, max_seconds=300):
        self.ns, self.ifname, self.vid, self.ip, self.mac = ns, ifname, vid, ip, mac.lower()
        self.tags = q(vid) if vid is not None else []
        self.sock = packet_socket(ns, ifname)
        self.cond = threading.Condition()
        self.arp_cache = {}  # ip -> (mac, Frame) from replies addressed to us
        self.echo_replies = {}  # (id, seq) -> Frame
        self.frames = []  # every frame of our VLAN seen (bounded)
        self.answered = {"arp": 0, "icmp": 0}
        self.error = None
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._thread = threading.Thread(target=self._run, name="vlanraw-%s-%s" % (vid, ip), daemon=True)
        self._thread.start()

    def __repr__(self):
        return "RawVlanHost(%s in VLAN %s on %s/%s, %s)" % (self.ip, self.vid, self.ns, self.ifname, self.mac)

    def ours(self, frame):
        """Whether a frame belongs to our VLAN: one 802.1Q tag with our VID, or untagged for an untagged host."""
        if self.vid is None:
            return not frame.tags
        return len(frame.tags) == 1 and frame.tags[0][0] == TPID_8021Q and frame.vid == self.vid

    def _run(self):
        try:
            for _ in range(10 ** 7):
                if self._stop.is_set() or time.monotonic() > self._deadline:
                    break
                r, _, _ = select.select([self.sock], [], [], 0.05)
                if not r:
                    continue
                raw, incoming = receive(self.sock)
                if not incoming:
                    continue
                try:
                    frame = Frame(raw)
                except ValueError:
                    continue
                if self.ours(frame):
                    self._handle(frame)
        except Exception as e:  # noqa: BLE001 - reported by close() and the waits
            self.error = e
            with self.cond:
                self.cond.notify_all()

    def _handle(self, frame):
        with self.cond:
            if len(self.frames) < 10000:
                self.frames.append(frame)
        arp, icmp = frame.arp, frame.icmp
        if arp:
            if arp["op"] == 1 and arp["target_ip"] == self.ip and arp["sender_ip"] != self.ip:
                self.sock.send(ethernet(arp["sender_mac"], self.mac, ETH_P_ARP,
                                        arp_payload(2, self.mac, self.ip, arp["sender_mac"], arp["sender_ip"]),
                                        self.tags))
                self.answered["arp"] += 1
            elif arp["op"] == 2 and arp["target_ip"] == self.ip and frame.dst in (self.mac, BROADCAST):
                with self.cond:
                    self.arp_cache[arp["sender_ip"]] = (arp["sender_mac"], frame)
                    self.cond.notify_all()
        elif icmp and icmp["dst"] == self.ip and frame.dst == self.mac:
            if icmp["type"] == 8:
                self.sock.send(icmp_echo(frame.src, self.mac, self.ip, icmp["src"], icmp["id"], icmp["seq"],
                                         reply=True, tags=self.tags, data=icmp["data"]))
                self.answered["icmp"] += 1
            else:
                with self.cond:
                    self.echo_replies[(icmp["id"], icmp["seq"])] = frame
                    self.cond.notify_all()

    def _wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            for _ in range(10000):
                value = predicate()
                left = deadline - time.monotonic()
                if value or left <= 0 or self.error:
                    break
                self.cond.wait(min(left, 0.2))
            if self.error:
                raise AssertionError("%r: receive thread failed: %r" % (self, self.error))
            return predicate()

    def send(self, frame):
        self.sock.send(frame)

    def announce(self):
        """A gratuitous ARP in our VLAN (the switch learns our MAC and IP from it)."""
        self.sock.send(gratuitous_arp(self.mac, self.ip, self.tags))

    def arp(self, target_ip, timeout=1.5, tags=None):
        """Asks for `target_ip` (in our VLAN, or with `tags`); returns the reply Frame or None."""
        with self.cond:
            self.arp_cache.pop(target_ip, None)
        self.sock.send(arp_request(self.mac, self.ip, target_ip, self.tags if tags is None else tags))
        got = self._wait(lambda: self.arp_cache.get(target_ip), timeout)
        return got[1] if got else None

    def ping(self, dst_ip, count=3, interval=0.2, wait=1):
        """Like harness.Host.ping: returns (ok, output). ok when every echo request got its reply; the output
        lists the replies with their tags (every reply must be in our VLAN to count)."""
        ok, replies, text = self.ping_frames(dst_ip, count, interval, wait)
        return ok, text

    def ping_frames(self, dst_ip, count=3, interval=0.2, wait=1):
        """Returns (ok, [reply Frame or None per request], text)."""
        lines = []
        reply = self.arp(dst_ip, timeout=wait + 0.5)
        if reply is None:
            return False, [], "%r: no ARP reply for %s" % (self, dst_ip)
        dst_mac = reply.arp["sender_mac"]
        lines.append("ARP reply: %s" % reply.describe())
        ident = (os.getpid() + self.vid if self.vid else os.getpid()) & 0xFFFF
        got = []
        for seq in range(1, count + 1):
            self.sock.send(icmp_echo(dst_mac, self.mac, self.ip, dst_ip, ident, seq, tags=self.tags))
            frame = self._wait(lambda: self.echo_replies.get((ident, seq)), wait)
            got.append(frame)
            lines.append("seq %d: %s" % (seq, frame.describe() if frame else "no reply"))
            if seq < count:
                time.sleep(interval)
        ok = all(f is not None for f in got)
        return ok, got, "%r ping %s: %d/%d replies\n%s" % (self, dst_ip, sum(1 for f in got if f), count,
                                                            "\n".join(lines))

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class KernelVlanHost:
    """A host in VLAN `vid` behind trunk interface `ifname` of namespace `ns`: a Linux VLAN sub-interface with
    `mac`, moved into a namespace of its own where it gets `ip`/24. Needs a kernel with 802.1Q."""

    method = "kernel"

    def __init__(self, ns, ifname, vid, ip, mac):
        self.ns, self.ifname, self.vid, self.ip, self.mac = ns, ifname, vid, ip, mac.lower()
        self.host_ns = harness.ns_name()
        harness.setup_namespace(self.host_ns)
        self.dev = "v%dx%d" % (vid, harness._next())
        harness.ip("-n", ns, "link", "add", "link", ifname, "name", self.dev, "address", self.mac,
                   "type", "vlan", "id", str(vid))
        harness.ip("-n", ns, "link", "set", "dev", self.dev, "netns", self.host_ns)
        harness.ip("-n", self.host_ns, "addr", "add", "%s/24" % ip, "dev", self.dev)
        harness.ip("-n", self.host_ns, "link", "set", "dev", self.dev, "up")

    def __repr__(self):
        return "KernelVlanHost(%s in VLAN %s behind %s/%s, %s in %s)" % (self.ip, self.vid, self.ns, self.ifname,
                                                                       self.mac, self.host_ns)

    def exec(self, *argv, timeout=10):
        return harness.ns_exec(self.host_ns, *argv, timeout=timeout)

    def announce(self):
        self.exec("arping", "-c", "1", "-w", "1", "-U", "-S", self.ip, "-i", self.dev, self.ip, timeout=10)

    def ping(self, dst_ip, count=3, interval=0.2, wait=1):
        rc, out, err = self.exec("ping", "-n", "-c", str(count), "-W", str(wait), "-i", str(interval), dst_ip,
                                 timeout=count * interval + wait + 10)
        return rc == 0, "%r: %s%s" % (self, out, err)

    def close(self):
        harness.delete_namespace(self.host_ns)


_method = None


def vlan_method():
    """'kernel' when this kernel can make 802.1Q sub-interfaces, else 'raw'. Probed once, in a scratch namespace;
    SWITCHD_VLAN_METHOD=raw|kernel overrides."""
    global _method
    forced = os.environ.get("SWITCHD_VLAN_METHOD", "")
    if forced in ("raw", "kernel"):
        return forced
    if _method is None:
        ns = harness.ns_name()
        harness.setup_namespace(ns)
        try:
            harness.ip("-n", ns, "link", "add", "vp0", "type", "veth", "peer", "name", "vp1")
            rc, _, err = harness.run(["ip", "-n", ns, "link", "add", "link", "vp0", "name", "vp0.10",
                                      "type", "vlan", "id", "10"], timeout=10)
            _method = "kernel" if rc == 0 else "raw"
            sys.stderr.write("\n  vlanraw: hosts behind trunks are %s (%s)\n" % (
                "Linux VLAN sub-interfaces" if _method == "kernel" else "software hosts on raw sockets",
                "802.1Q sub-interfaces work" if rc == 0 else "no 802.1Q in this kernel: " + err.strip()))
        finally:
            harness.delete_namespace(ns)
    return _method


def vlan_host(ns, ifname, vid, ip, mac):
    """A host in VLAN `vid` behind the trunk interface `ifname` in `ns`, made the way this kernel allows."""
    if vlan_method() == "kernel":
        return KernelVlanHost(ns, ifname, vid, ip, mac)
    return RawVlanHost(ns, ifname, vid, ip, mac)


class Capture(harness.Capture):
    """harness.Capture (tcpdump -l -n -e) in immediate mode, whose stop() first gives tcpdump a moment to print
    what it has: without both, the last frames can sit in the capture ring when tcpdump gets SIGINT."""

    def __init__(self, ns, ifname, filt="", max_seconds=30):
        super().__init__(ns, ifname, ("--immediate-mode " + filt).strip(), max_seconds)

    def stop(self, settle=0.3):
        time.sleep(settle)
        return super().stop()


# ---------------------------------------------------------------------------------------------
# The test case base for the VLAN, port-control and mirror tests.


class FramesTestCase(harness.SwitchTestCase):
    """A switch whose ports are set up by name, each in a namespace of its own, plus raw sockets on them."""

    def switch(self, spec):
        """Starts switchd with one new TAP per key of `spec` and returns {key: harness.Host}. Each value is a dict:
        "vlan": N (set-port access N), or "trunk": "10,20" with optional "native": N (set-port trunk ...), and
        "ip": an address in 198.18.0.0/24 (the TAP gets it, /24, in its namespace; without one the namespace
        has no address and its stack stays silent). Nothing set: an access port in VLAN 1."""
        names = {key: harness.tap_name() for key in spec}
        self.start_daemon(list(names.values()))
        hosts = {}
        for key, opts in spec.items():
            port = names[key]
            if "trunk" in opts:
                args = ["trunk", opts["trunk"]] + (["native", opts["native"]] if opts.get("native") else [])
                self.ctl_ok("set-port", port, *args)
            elif "vlan" in opts:
                self.ctl_ok("set-port", port, "access", opts["vlan"])
            ns = harness.ns_name()
            harness.setup_namespace(ns)
            if opts.get("ip"):
                ifname = harness.move_into_namespace(port, ns, opts["ip"])
            else:
                harness.ip("link", "set", "dev", port, "netns", ns)
                harness.ip("-n", ns, "link", "set", "dev", port, "up")
                ifname = port
            hosts[key] = harness.Host(ns, ifname, opts.get("ip"), port)
        return hosts

    def sniffer(self, host):
        s = Sniffer(host.ns, host.ifname)
        self.addCleanup(s.close)
        return s

    def sniffers(self, hosts):
        return {key: self.sniffer(h) for key, h in hosts.items()}

    def raw_host(self, trunk, vid, ip, seed):
        """A software host in VLAN `vid` (None: untagged) behind `trunk` (a harness.Host)."""
        h = RawVlanHost(trunk.ns, trunk.ifname, vid, ip, local_mac(seed))
        self.addCleanup(h.close)
        return h

    def vlan_host(self, trunk, vid, ip, seed):
        """A host in VLAN `vid` behind `trunk`, a Linux VLAN sub-interface where the kernel has 802.1Q, else in
        software (vlan_method())."""
        h = vlan_host(trunk.ns, trunk.ifname, vid, ip, local_mac(seed))
        self.addCleanup(h.close)
        return h

    def frame_stats(self):
        return self.stats()["frames"]

    def deliver(self, sender, frame, receivers, seconds=0.7):
        """Sends `frame` from Sniffer `sender` and returns {key: [frames with the same source MAC and
        EtherType]} seen by each Sniffer of `receivers` within `seconds`."""
        probe = Frame(frame)
        marker = probe.payload.rstrip(b"\0")

        def same(f):
            return f.src == probe.src and f.ethertype == probe.ethertype and f.payload.startswith(marker)

        for s in receivers.values():
            s.collect(0)  # nothing queued from before counts
        sender.send(frame)
        got = {key: [] for key in receivers}
        deadline = time.monotonic() + seconds
        for key, s in receivers.items():
            got[key] = s.collect(max(0.0, deadline - time.monotonic()), same)
        return got

    def assert_json_port(self, port, **fields):
        entry = self.ports()[port]
        for k, v in fields.items():
            self.assertIn(k, entry, "show-ports entry of %s has no %r: %r" % (port, k, entry))
            self.assertEqual(entry[k], v, "show-ports %s.%s: %r, expected %r (%r)" % (port, k, entry[k], v, entry))
        return entry
