#include "tests/helpers/frames.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace switchd::test {

namespace {

void PutU16(Bytes& out, uint16_t value) {
  out.push_back(std::byte(value >> 8));
  out.push_back(std::byte(value & 0xff));
}

void PutIp(Bytes& out, Ipv4Address ip) {
  const size_t at = out.size();
  out.resize(at + 4);
  ip.CopyTo(std::span(out).subspan(at, 4));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

MacAddress Mac(uint16_t n) {
  return MacAddress(
      {0x02, 0x00, 0x00, 0x00, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n & 0xff)});
}

MacAddress Mac(std::string_view text) {
  const std::optional<MacAddress> mac = MacAddress::Parse(text);
  if (!mac) ADD_FAILURE() << "bad MAC in test: '" << text << "'";
  return mac.value_or(MacAddress());
}

Ipv4Address Ip(std::string_view text) {
  const std::optional<Ipv4Address> ip = Ipv4Address::Parse(text);
  if (!ip) ADD_FAILURE() << "bad IPv4 address in test: '" << text << "'";
  return ip.value_or(Ipv4Address());
}

Bytes Hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == ':' || c == '\n') continue;
    const int value = HexValue(c);
    if (value < 0) {
      ADD_FAILURE() << "bad hex digit '" << c << "' in '" << text << "'";
      return out;
    }
    if (high < 0) {
      high = value;
    } else {
      out.push_back(std::byte(high << 4 | value));
      high = -1;
    }
  }
  if (high >= 0) ADD_FAILURE() << "odd number of hex digits in '" << text << "'";
  return out;
}

std::string ToHex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::byte b : bytes) {
    if (!out.empty()) out += ' ';
    out += kDigits[std::to_integer<int>(b) >> 4];
    out += kDigits[std::to_integer<int>(b) & 0xf];
  }
  return out;
}

Bytes Truncated(const Bytes& frame, size_t size) {
  return Bytes(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(std::min(size, frame.size())));
}

Bytes MakeEthernet(MacAddress dst, MacAddress src, uint16_t ethertype,
                   std::span<const std::byte> payload, std::optional<uint16_t> vlan_tci,
                   size_t min_size) {
  Bytes out(12);
  dst.CopyTo(std::span(out).subspan(0, 6));
  src.CopyTo(std::span(out).subspan(6, 6));
  if (vlan_tci) {
    PutU16(out, kEtherTypeVlan);
    PutU16(out, *vlan_tci);
  }
  PutU16(out, ethertype);
  out.insert(out.end(), payload.begin(), payload.end());
  if (out.size() < min_size) out.resize(min_size);
  return out;
}

Bytes MakeIpv4(MacAddress dst, MacAddress src, Ipv4Address src_ip, Ipv4Address dst_ip,
               size_t payload_size, std::optional<uint16_t> vlan_tci) {
  const size_t udp_size = 8 + payload_size;
  const size_t total = 20 + udp_size;
  Bytes ip;
  ip.push_back(std::byte{0x45});  // version 4, 20-byte header
  ip.push_back(std::byte{0});
  PutU16(ip, static_cast<uint16_t>(total));
  PutU16(ip, 0);                // identification
  PutU16(ip, 0x4000);           // don't fragment
  ip.push_back(std::byte{64});  // TTL
  ip.push_back(std::byte{17});  // UDP
  PutU16(ip, 0);                // checksum, filled in below
  PutIp(ip, src_ip);
  PutIp(ip, dst_ip);
  uint32_t sum = 0;
  for (size_t i = 0; i < 20; i += 2) {
    sum += std::to_integer<uint32_t>(ip[i]) << 8 | std::to_integer<uint32_t>(ip[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t checksum = static_cast<uint16_t>(~sum);
  ip[10] = std::byte(checksum >> 8);
  ip[11] = std::byte(checksum & 0xff);
  PutU16(ip, 40000);  // UDP source port
  PutU16(ip, 9);      // UDP destination port (discard)
  PutU16(ip, static_cast<uint16_t>(udp_size));
  PutU16(ip, 0);  // no UDP checksum
  ip.resize(ip.size() + payload_size);
  return MakeEthernet(dst, src, kEtherTypeIpv4, ip, vlan_tci);
}

Bytes MakeArp(MacAddress eth_dst, MacAddress eth_src, const ArpPacket& arp,
              std::optional<uint16_t> vlan_tci) {
  Bytes out(kMaxArpFrameSize);
  out.resize(BuildArp(out, eth_dst, eth_src, vlan_tci, arp));
  return out;
}

Bytes MakeArpRequest(MacAddress sender_mac, Ipv4Address sender_ip, Ipv4Address target_ip) {
  const ArpPacket arp{ArpOp::kRequest, sender_mac, sender_ip, MacAddress(), target_ip};
  return MakeArp(MacAddress::Broadcast(), sender_mac, arp);
}

Bytes MakeArpReply(MacAddress sender_mac, Ipv4Address sender_ip, MacAddress target_mac,
                   Ipv4Address target_ip) {
  const ArpPacket arp{ArpOp::kReply, sender_mac, sender_ip, target_mac, target_ip};
  return MakeArp(target_mac, sender_mac, arp);
}

Bytes MakeGratuitousArp(MacAddress mac, Ipv4Address ip) {
  const ArpPacket arp{ArpOp::kRequest, mac, ip, MacAddress(), ip};
  return MakeArp(MacAddress::Broadcast(), mac, arp);
}

}  // namespace switchd::test
