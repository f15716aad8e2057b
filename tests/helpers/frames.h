// Frame builders for tests: Ethernet, IPv4 and ARP frames as byte vectors, plus short ways to
// write addresses and times.
//
// Everything here builds well-formed frames unless asked otherwise; tests that need a malformed
// frame build a good one and cut or corrupt it (Truncated, or write into the bytes). Frames are
// not padded to the 60-byte Ethernet minimum unless a size is asked for, since the switch must
// handle both. Shared by the core, control and I/O tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchd/core/frame.h"
#include "switchd/core/types.h"

namespace switchd::test {

using Bytes = std::vector<std::byte>;

// The time `seconds` after the epoch of the test's clock: `At(300)` is Time{} + 300 s.
inline Time At(int64_t seconds) { return Time{} + std::chrono::seconds(seconds); }

// A locally administered unicast MAC 02:00:00:00:hh:ll for a small number `n`.
MacAddress Mac(uint16_t n);
// Parses "aa:bb:cc:dd:ee:ff"; a malformed string fails the current test and returns 00:...:00.
MacAddress Mac(std::string_view text);
// Parses "198.18.0.1"; a malformed string fails the current test and returns 0.0.0.0.
Ipv4Address Ip(std::string_view text);

// Bytes from hex text, ignoring spaces, colons and newlines: Hex("ff ff 00:01").
Bytes Hex(std::string_view text);
// Lower-case hex of `bytes`, space separated, for failure messages.
std::string ToHex(std::span<const std::byte> bytes);
// The first `size` bytes of `frame` (all of it when shorter).
Bytes Truncated(const Bytes& frame, size_t size);

// An 802.1Q tag control information field: priority `pcp` (0..7), drop eligible `dei`, `vid`.
inline uint16_t Tci(VlanId vid, uint8_t pcp = 0, bool dei = false) {
  return static_cast<uint16_t>(pcp << 13 | (dei ? 0x1000 : 0) | (vid & 0x0fff));
}

// An Ethernet frame: dst, src, an optional 802.1Q tag, `ethertype`, then `payload`, padded with
// zeros to at least `min_size` bytes.
Bytes MakeEthernet(MacAddress dst, MacAddress src, uint16_t ethertype,
                   std::span<const std::byte> payload = {},
                   std::optional<uint16_t> vlan_tci = std::nullopt, size_t min_size = 0);

// An IPv4/UDP frame from (src, src_ip) to (dst, dst_ip) with `payload_size` zero bytes of UDP
// payload and a correct IPv4 header checksum.
Bytes MakeIpv4(MacAddress dst, MacAddress src, Ipv4Address src_ip, Ipv4Address dst_ip,
               size_t payload_size = 18, std::optional<uint16_t> vlan_tci = std::nullopt);

// An Ethernet/IPv4 ARP frame with the given Ethernet addresses and ARP fields.
Bytes MakeArp(MacAddress eth_dst, MacAddress eth_src, const ArpPacket& arp,
              std::optional<uint16_t> vlan_tci = std::nullopt);
// A broadcast who-has `target_ip` request from (sender_mac, sender_ip); the Ethernet source is
// `sender_mac`.
Bytes MakeArpRequest(MacAddress sender_mac, Ipv4Address sender_ip, Ipv4Address target_ip);
// A unicast reply telling (target_mac, target_ip) that `sender_ip` is at `sender_mac`.
Bytes MakeArpReply(MacAddress sender_mac, Ipv4Address sender_ip, MacAddress target_mac,
                   Ipv4Address target_ip);
// A broadcast gratuitous ARP request announcing that `ip` is at `mac`.
Bytes MakeGratuitousArp(MacAddress mac, Ipv4Address ip);

}  // namespace switchd::test
