#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/: a few small, well-formed inputs per fuzz
target, from which libFuzzer mutates. Run it after changing an input format; scripts/fuzz only
reads the seeds (what the fuzzer finds goes to build-fuzz/corpus/, never into the repo).

frame_fuzz and datapath_fuzz frames carry a 10-byte virtio-net header (host byte order) as TAPs
with IFF_VNET_HDR do; datapath_fuzz inputs are programs in the format datapath_fuzz.cc describes.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

BCAST = bytes.fromhex("ffffffffffff")
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
MAC_C = bytes.fromhex("020000000003")
IP_A = bytes([198, 18, 0, 1])
IP_B = bytes([198, 18, 0, 2])
IP6_A = bytes.fromhex("20010db8000000000000000000000001")
IP6_B = bytes.fromhex("20010db8000000000000000000000002")

# virtio-net header constants (linux/virtio_net.h)
NEEDS_CSUM = 1
GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4 = 1, 4, 5


def csum(data, start=0):
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ether(dst, src, ethertype, payload, tci=None):
    tag = struct.pack("!HH", 0x8100, tci) if tci is not None else b""
    return dst + src + tag + struct.pack("!H", ethertype) + payload


def arp(op, smac, sip, tmac, tip):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + smac + sip + tmac + tip


def arp_request(smac, sip, tip):
    return ether(BCAST, smac, 0x0806, arp(1, smac, sip, b"\0" * 6, tip))


def ipv4(src, dst, proto, l4):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1234, 0, 64, proto, 0, src, dst)
    header = header[:10] + struct.pack("!H", 0xFFFF ^ csum(header)) + header[12:]
    return header + l4


def ipv6(src, dst, proto, l4):
    return struct.pack("!IHBB", 0x60000000, len(l4), proto, 64) + src + dst + l4


def partial(l4, pseudo, at):
    """`l4` with its checksum field holding the folded pseudo-header sum, as the kernel leaves it."""
    return l4[:at] + struct.pack("!H", csum(pseudo)) + l4[at + 2 :]


def tcp_frame(v6, payload_size, tci=None):
    payload = bytes((i * 7 + 3) & 0xFF for i in range(payload_size))
    tcp = struct.pack("!HHIIBBHHH", 40000, 5201, 0x01020304, 0, 5 << 4, 0x18, 65535, 0, 0) + payload
    if v6:
        pseudo = IP6_A + IP6_B + struct.pack("!IxxxB", len(tcp), 6)
        return ether(MAC_B, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 6, partial(tcp, pseudo, 16)), tci)
    pseudo = IP_A + IP_B + struct.pack("!BBH", 0, 6, len(tcp))
    return ether(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, 6, partial(tcp, pseudo, 16)), tci)


def udp_frame(payload_size):
    payload = bytes((i * 5 + 1) & 0xFF for i in range(payload_size))
    udp = struct.pack("!HHHH", 5000, 5001, 8 + payload_size, 0) + payload
    pseudo = IP_A + IP_B + struct.pack("!BBH", 0, 17, len(udp))
    return ether(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, 17, partial(udp, pseudo, 6)))


def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def gso_header(frame_kind, gso_size, l3=14):
    l4 = l3 + (40 if frame_kind == GSO_TCPV6 else 20)
    csum_offset = 6 if frame_kind == GSO_UDP_L4 else 16
    hdr_len = l4 + (8 if frame_kind == GSO_UDP_L4 else 20)
    return vnet(NEEDS_CSUM, frame_kind, hdr_len, gso_size, l4, csum_offset)


# ---- datapath_fuzz programs (see datapath_fuzz.cc for the format)


def rx(port, frame, header=None, refuse=False):
    flags = (1 if header is not None else 0) | (2 if refuse else 0)
    return bytes([0, port, flags]) + (header or b"") + struct.pack("!H", len(frame)) + frame


def advance(step):
    return bytes([3, step])


RUN = bytes([4])


def add_port(slot, offloads=False):
    return bytes([5, slot | (0x80 if offloads else 0)])


def del_port(slot):
    return bytes([6, slot])


def add_static(mac, slot, vlan=1):
    return bytes([7, 0]) + mac + bytes([slot, vlan])


def set_aging(seconds):
    return bytes([7, 3, seconds - 1])


def add_static_arp(ip, mac, vlan=1):
    return bytes([7, 4]) + ip + mac + bytes([vlan])


def configure(slot, max_macs, storm_index):
    """Port settings: MAC limit max_macs (0..7), storm limit kStormLimits[storm_index]."""
    return bytes([7, 5, slot, max_macs, storm_index])


def udp_to(dst, src):
    return ether(dst, src, 0x0800, ipv4(IP_A, IP_B, 17, struct.pack("!HHHH", 1, 2, 8, 0)))


def seeds():
    frame = {
        "arp_request": vnet() + arp_request(MAC_A, IP_A, IP_B),
        "arp_reply_tagged": vnet() + ether(MAC_A, MAC_B, 0x0806, arp(2, MAC_B, IP_B, MAC_A, IP_A), tci=5),
        "tagged_udp": vnet() + ether(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, 17, bytes(26)), tci=0x2007),
        "tcp4_gso": gso_header(GSO_TCPV4, 100) + tcp_frame(False, 450),
        "tcp6_gso": gso_header(GSO_TCPV6, 200) + tcp_frame(True, 700),
        "tcp4_gso_tagged": gso_header(GSO_TCPV4, 64, l3=18) + tcp_frame(False, 300, tci=1),
        "udp_uso": gso_header(GSO_UDP_L4, 120) + udp_frame(500),
        "tcp4_csum_partial": vnet(NEEDS_CSUM, 0, 0, 0, 34, 16) + tcp_frame(False, 60),
    }
    datapath = {
        # A learns on p0 and asks for B; B, on p1, asks for A: the switch answers B out of p1.
        "arp_answer": bytes([1])
        + rx(0, arp_request(MAC_A, IP_A, IP_B))
        + advance(10)
        + rx(1, arp_request(MAC_B, IP_B, IP_A))
        + add_static_arp(bytes([198, 18, 0, 9]), MAC_C)
        + rx(1, arp_request(MAC_B, IP_B, bytes([198, 18, 0, 9])))
        + advance(220)
        + RUN
        + rx(1, arp_request(MAC_B, IP_B, IP_A)),
        # Flood, learn, forward known unicast, drop a tagged frame, age out.
        "learn_forward": bytes([0])
        + rx(0, udp_to(BCAST, MAC_A))
        + rx(1, udp_to(MAC_A, MAC_B))
        + rx(2, udp_to(MAC_B, MAC_C), refuse=True)
        + rx(2, ether(MAC_A, MAC_C, 0x0800, bytes(30), tci=7))
        + rx(0, udp_to(MAC_A, MAC_A)[:13])
        + set_aging(10)
        + advance(201)
        + RUN
        + rx(1, udp_to(MAC_A, MAC_B)),
        # p0 and p2 take offloads. A GSO frame from p0 floods whole to p2 and segmented to p1;
        # once B is known on p1 it goes there only, segmented.
        "gso_flood": bytes([0b1011])
        + rx(0, tcp_frame(False, 450), header=gso_header(GSO_TCPV4, 100))
        + rx(1, udp_to(BCAST, MAC_B))
        + rx(0, tcp_frame(True, 450), header=gso_header(GSO_TCPV6, 100))
        + rx(0, tcp_frame(False, 60), header=vnet(NEEDS_CSUM, 0, 0, 0, 34, 16))
        + rx(0, udp_frame(300), header=gso_header(GSO_UDP_L4, 100)),
        # Ports come and go; static entries; a port floods source MACs and fills the table.
        "ports_churn": bytes([1])
        + add_port(3, offloads=True)
        + add_static(MAC_C, 3)
        + b"".join(rx(3, udp_to(BCAST, bytes([2, 0, 0, 1, 0, i]))) for i in range(70))
        + rx(0, udp_to(MAC_C, MAC_A))
        + del_port(3)
        + rx(0, udp_to(MAC_C, MAC_A))
        + add_port(3)
        + advance(210)
        + RUN,
    }
    # p0 may hold 2 MACs and flood 10 frames a second (a burst of 1): most of a burst of new
    # sources is neither learned nor flooded; a MAC moving to p1 is damped, then moves.
    datapath["limits"] = (
        bytes([1])
        + configure(0, 2, 3)
        + b"".join(rx(0, udp_to(BCAST, bytes([2, 0, 0, 2, 0, i]))) for i in range(5))
        + advance(50)
        + rx(0, udp_to(MAC_C, MAC_A))
        + rx(1, udp_to(BCAST, bytes([2, 0, 0, 2, 0, 0])))
        + advance(150)
        + rx(1, udp_to(BCAST, bytes([2, 0, 0, 2, 0, 0])))
        + configure(0, 0, 0)
        + rx(0, udp_to(BCAST, MAC_A))
    )
    lines = lambda *ls: ("\n".join(ls) + "\n").encode()  # noqa: E731
    req = lambda i, m, p=None: (  # noqa: E731
        '{"jsonrpc":"2.0","id":%d,"method":"%s"%s}' % (i, m, ',"params":' + p if p else "")
    )
    json_rpc = {
        "show": lines(
            req(1, "show-ports"), req(2, "show-macs", '{"port":"p0"}'), req(3, "show-arp", '{"vlan":1}'),
            req(4, "show-stats"), req(5, "version"), req(6, "help"),
        ),
        "ports": lines(
            req(1, "add-port", '{"name":"p2","kind":"tap","offload":true}'),
            req(2, "add-mac", '{"mac":"02:00:00:00:00:09","port":"p2","vlan":1}'),
            req(3, "set-port", '{"port":"p2","max_macs":2,"storm_limit":100}'),
            req(4, "show-macs", '{"port":"p2"}'),
            req(5, "del-port", '{"name":"p2"}'),
            req(6, "flush-macs", '{"port":"p0"}'),
        ),
        "tables": lines(
            req(1, "add-arp", '{"ip":"198.18.0.9","mac":"02:00:00:00:00:09"}'),
            req(2, "del-arp", '{"ip":"198.18.0.1","vlan":1}'),
            req(3, "del-mac", '{"mac":"02:00:00:00:00:01"}'),
            req(4, "set-aging", '{"seconds":10}'),
            req(5, "show-arp"),
        ),
        "batch": lines(
            '[%s,%s,{"jsonrpc":"2.0","method":"version"}]'
            % (req(1, "show-stats"), req(2, "add-port", '{"name":"x/y"}'))
        ),
        "errors": lines(
            '{"jsonrpc":"2.0","id":"a","method":"add-mac","params":{"mac":"zz:00","port":1}}',
            '{"jsonrpc":"2.0","id":null,"method":"nope"}',
            '{"jsonrpc":"1.0","id":1,"method":"version"}',
            '{"jsonrpc":"2.0","id":1,"method":"show-macs","params":[1]}',
            "[]",
            '{"jsonrpc":"2.0","id":1,',
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]",
        ),
    }
    return {"frame_fuzz": frame, "datapath_fuzz": datapath, "json_rpc_fuzz": json_rpc}


def main():
    for target, files in seeds().items():
        folder = os.path.join(HERE, "corpus", target)
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        for name, data in files.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (folder, len(files)))


if __name__ == "__main__":
    main()
