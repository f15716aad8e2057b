#include "switchd/core/types.h"

#include <cstdio>

namespace switchd {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

MacAddress MacAddress::FromBytes(std::span<const std::byte> bytes) {
  std::array<uint8_t, 6> b;
  for (size_t i = 0; i < b.size(); ++i) b[i] = std::to_integer<uint8_t>(bytes[i]);
  return MacAddress(b);
}

std::optional<MacAddress> MacAddress::Parse(std::string_view text) {
  // Exactly "xx:xx:xx:xx:xx:xx": 6 pairs of hex digits and 5 colons, nothing else.
  if (text.size() != 17) return std::nullopt;
  std::array<uint8_t, 6> b;
  for (size_t i = 0; i < 6; ++i) {
    const size_t pos = i * 3;
    if (i > 0 && text[pos - 1] != ':') return std::nullopt;
    const int hi = HexDigit(text[pos]);
    const int lo = HexDigit(text[pos + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return MacAddress(b);
}

std::string MacAddress::ToString() const {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", bytes_[0], bytes_[1], bytes_[2],
                bytes_[3], bytes_[4], bytes_[5]);
  return std::string(buf, 17);
}

void MacAddress::CopyTo(std::span<std::byte> out) const {
  for (size_t i = 0; i < bytes_.size(); ++i) out[i] = std::byte{bytes_[i]};
}

Ipv4Address Ipv4Address::FromBytes(std::span<const std::byte> bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | std::to_integer<uint8_t>(bytes[i]);
  return Ipv4Address(v);
}

std::optional<Ipv4Address> Ipv4Address::Parse(std::string_view text) {
  uint32_t value = 0;
  size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const size_t start = pos;
    uint32_t octet = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      octet = octet * 10 + static_cast<uint32_t>(text[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - start;
    if (digits == 0 || octet > 255) return std::nullopt;
    if (digits > 1 && text[start] == '0') return std::nullopt;  // no leading zeros (octal-looking)
    value = (value << 8) | octet;
  }
  // Anything left over (a fourth digit, a fifth part, trailing text) makes the input invalid.
  if (pos != text.size()) return std::nullopt;
  return Ipv4Address(value);
}

std::string Ipv4Address::ToString() const {
  char buf[16];
  const int n = std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", value_ >> 24, (value_ >> 16) & 0xff,
                              (value_ >> 8) & 0xff, value_ & 0xff);
  return std::string(buf, static_cast<size_t>(n));
}

void Ipv4Address::CopyTo(std::span<std::byte> out) const {
  out[0] = std::byte(value_ >> 24);
  out[1] = std::byte((value_ >> 16) & 0xff);
  out[2] = std::byte((value_ >> 8) & 0xff);
  out[3] = std::byte(value_ & 0xff);
}

}  // namespace switchd
