#include "switchd/core/frame.h"

namespace switchd {

namespace {

uint16_t ReadU16(std::span<const std::byte> bytes, size_t offset) {
  return static_cast<uint16_t>(std::to_integer<uint16_t>(bytes[offset]) << 8 |
                               std::to_integer<uint16_t>(bytes[offset + 1]));
}

void WriteU16(std::span<std::byte> bytes, size_t offset, uint16_t value) {
  bytes[offset] = std::byte(value >> 8);
  bytes[offset + 1] = std::byte(value & 0xff);
}

// ARP header constants for Ethernet/IPv4 (RFC 826).
constexpr uint16_t kArpHardwareEthernet = 1;
constexpr uint8_t kArpHardwareSize = 6;
constexpr uint8_t kArpProtocolSize = 4;

}  // namespace

std::optional<EthernetFrame> ParseEthernet(std::span<const std::byte> frame) {
  if (frame.size() < kEthernetHeaderSize) return std::nullopt;
  EthernetFrame eth;
  eth.dst = MacAddress::FromBytes(frame.subspan(0, 6));
  eth.src = MacAddress::FromBytes(frame.subspan(6, 6));
  eth.ethertype = ReadU16(frame, 12);
  eth.header_size = kEthernetHeaderSize;
  if (eth.ethertype == kEtherTypeVlan) {
    if (frame.size() < kEthernetHeaderSize + kVlanTagSize) return std::nullopt;
    eth.vlan_tci = ReadU16(frame, 14);
    eth.ethertype = ReadU16(frame, 16);
    eth.header_size = kEthernetHeaderSize + kVlanTagSize;
  }
  eth.payload = frame.subspan(eth.header_size);
  return eth;
}

std::optional<ArpPacket> ParseArp(std::span<const std::byte> payload) {
  if (payload.size() < kArpPayloadSize) return std::nullopt;
  if (ReadU16(payload, 0) != kArpHardwareEthernet || ReadU16(payload, 2) != kEtherTypeIpv4 ||
      std::to_integer<uint8_t>(payload[4]) != kArpHardwareSize ||
      std::to_integer<uint8_t>(payload[5]) != kArpProtocolSize) {
    return std::nullopt;
  }
  const uint16_t op = ReadU16(payload, 6);
  if (op != static_cast<uint16_t>(ArpOp::kRequest) && op != static_cast<uint16_t>(ArpOp::kReply)) {
    return std::nullopt;
  }
  ArpPacket arp;
  arp.op = static_cast<ArpOp>(op);
  arp.sender_mac = MacAddress::FromBytes(payload.subspan(8, 6));
  arp.sender_ip = Ipv4Address::FromBytes(payload.subspan(14, 4));
  arp.target_mac = MacAddress::FromBytes(payload.subspan(18, 6));
  arp.target_ip = Ipv4Address::FromBytes(payload.subspan(24, 4));
  return arp;
}

size_t BuildArp(std::span<std::byte> out, MacAddress eth_dst, MacAddress eth_src,
                std::optional<uint16_t> vlan_tci, const ArpPacket& arp) {
  const size_t header_size = kEthernetHeaderSize + (vlan_tci ? kVlanTagSize : 0);
  const size_t frame_size = header_size + kArpPayloadSize;
  if (out.size() < frame_size) return 0;
  eth_dst.CopyTo(out.subspan(0, 6));
  eth_src.CopyTo(out.subspan(6, 6));
  if (vlan_tci) {
    WriteU16(out, 12, kEtherTypeVlan);
    WriteU16(out, 14, *vlan_tci);
  }
  WriteU16(out, header_size - 2, kEtherTypeArp);
  std::span<std::byte> p = out.subspan(header_size, kArpPayloadSize);
  WriteU16(p, 0, kArpHardwareEthernet);
  WriteU16(p, 2, kEtherTypeIpv4);
  p[4] = std::byte{kArpHardwareSize};
  p[5] = std::byte{kArpProtocolSize};
  WriteU16(p, 6, static_cast<uint16_t>(arp.op));
  arp.sender_mac.CopyTo(p.subspan(8, 6));
  arp.sender_ip.CopyTo(p.subspan(14, 4));
  arp.target_mac.CopyTo(p.subspan(18, 6));
  arp.target_ip.CopyTo(p.subspan(24, 4));
  return frame_size;
}

size_t BuildArpReply(std::span<std::byte> out, const ArpPacket& request, MacAddress answer_mac,
                     std::optional<uint16_t> vlan_tci) {
  ArpPacket reply;
  reply.op = ArpOp::kReply;
  reply.sender_mac = answer_mac;
  reply.sender_ip = request.target_ip;
  reply.target_mac = request.sender_mac;
  reply.target_ip = request.sender_ip;
  return BuildArp(out, request.sender_mac, answer_mac, vlan_tci, reply);
}

}  // namespace switchd
