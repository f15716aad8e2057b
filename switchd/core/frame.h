// Ethernet and ARP frame views and builders.
//
// Parsing never copies and never allocates: an EthernetFrame holds spans into the caller's buffer,
// valid as long as that buffer is. Parsers return nullopt for runts and truncated or malformed
// headers; they never read past the span they are given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "switchd/core/types.h"

namespace switchd {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // IEEE 802.1Q C-tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // IEEE 802.1ad S-tag
inline constexpr size_t kEthernetHeaderSize = 14;
inline constexpr size_t kVlanTagSize = 4;
inline constexpr size_t kArpPayloadSize = 28;  // Ethernet/IPv4 ARP
inline constexpr size_t kMaxArpFrameSize = kEthernetHeaderSize + kVlanTagSize + kArpPayloadSize;

struct EthernetFrame {
  MacAddress dst;
  MacAddress src;
  // The 802.1Q tag control information (PCP, DEI, VID) when the outer ethertype is 0x8100.
  std::optional<uint16_t> vlan_tci;
  // The ethertype after the 802.1Q tag, if any (0x88a8 and others are left as they are).
  uint16_t ethertype = 0;
  size_t header_size = 0;  // 14, or 18 with an 802.1Q tag
  std::span<const std::byte> payload;

  VlanId vid() const { return vlan_tci ? static_cast<VlanId>(*vlan_tci & 0x0fff) : 0; }
};

// Parses the Ethernet header (and one 802.1Q tag). Nullopt when `frame` is shorter than the
// header it announces (a runt, or a tag cut short).
std::optional<EthernetFrame> ParseEthernet(std::span<const std::byte> frame);

enum class ArpOp : uint16_t { kRequest = 1, kReply = 2 };

struct ArpPacket {
  ArpOp op = ArpOp::kRequest;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;
  Ipv4Address target_ip;

  // Gratuitous ARP (an announcement, request or reply) names the same IP as sender and target.
  bool IsGratuitous() const { return sender_ip == target_ip; }
};

// Parses an Ethernet/IPv4 ARP payload (htype 1, ptype 0x0800, hlen 6, plen 4, op 1 or 2).
// Nullopt when the payload is shorter than 28 bytes or any of those fields differ. Trailing bytes
// (Ethernet padding) are ignored.
std::optional<ArpPacket> ParseArp(std::span<const std::byte> payload);

// Writes a complete ARP reply frame answering `request` on behalf of `answer_mac`: Ethernet
// source `answer_mac`, destination the requester, sender (answer_mac, request.target_ip), target
// (request.sender_mac, request.sender_ip). With `vlan_tci` the frame carries that 802.1Q tag.
// `out` should hold kMaxArpFrameSize bytes. Returns the number of bytes written (42 or 46), or 0
// (writing nothing) when `out` is too small for the frame.
size_t BuildArpReply(std::span<std::byte> out, const ArpPacket& request, MacAddress answer_mac,
                     std::optional<uint16_t> vlan_tci);

// Writes an Ethernet/IPv4 ARP frame with the given fields (used by tests and by the daemon for
// gratuitous announcements). Same size rules as BuildArpReply.
size_t BuildArp(std::span<std::byte> out, MacAddress eth_dst, MacAddress eth_src,
                std::optional<uint16_t> vlan_tci, const ArpPacket& arp);

}  // namespace switchd
