// Value types shared by every layer: time, port and VLAN identifiers, MAC and IPv4 addresses.
//
// The core never reads a clock: callers pass `Time` in. Addresses are small value types that parse
// strictly (Parse returns nullopt on anything but the canonical form) and print canonically.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace switchd {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;
using Duration = Clock::duration;

// A port's identity inside the switch: a small dense number, stable while the port exists.
enum class PortId : uint32_t {};
inline constexpr PortId kNoPort{UINT32_MAX};
inline constexpr uint32_t ToIndex(PortId id) { return static_cast<uint32_t>(id); }

// An IEEE 802.1Q VLAN identifier (1..4094 are usable; 0 means "priority tag only").
using VlanId = uint16_t;
inline constexpr VlanId kDefaultVlan = 1;
inline constexpr VlanId kMaxVlan = 4094;

class MacAddress {
 public:
  constexpr MacAddress() = default;
  constexpr explicit MacAddress(const std::array<uint8_t, 6>& bytes) : bytes_(bytes) {}

  // Reads six bytes in network order. `bytes` must hold at least six bytes.
  static MacAddress FromBytes(std::span<const std::byte> bytes);
  // Accepts "aa:bb:cc:dd:ee:ff" (either case). Returns nullopt for anything else.
  static std::optional<MacAddress> Parse(std::string_view text);
  static constexpr MacAddress Broadcast() {
    return MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }

  // Lower-case "aa:bb:cc:dd:ee:ff".
  std::string ToString() const;
  // Writes the six bytes in network order into `out` (at least six bytes).
  void CopyTo(std::span<std::byte> out) const;

  constexpr bool IsMulticast() const { return (bytes_[0] & 0x01) != 0; }  // includes broadcast
  constexpr bool IsBroadcast() const { return *this == Broadcast(); }
  constexpr bool IsZero() const { return *this == MacAddress(); }
  constexpr uint64_t ToU64() const {
    uint64_t v = 0;
    for (uint8_t b : bytes_) v = (v << 8) | b;
    return v;
  }
  constexpr const std::array<uint8_t, 6>& bytes() const { return bytes_; }

  constexpr auto operator<=>(const MacAddress&) const = default;

 private:
  std::array<uint8_t, 6> bytes_{};
};

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  // `value` in host byte order: 198.18.0.1 is 0xc6120001.
  constexpr explicit Ipv4Address(uint32_t value) : value_(value) {}

  // Reads four bytes in network order. `bytes` must hold at least four bytes.
  static Ipv4Address FromBytes(std::span<const std::byte> bytes);
  // Accepts dotted-quad "198.18.0.1" (no leading zeros, each part 0..255). Nullopt otherwise.
  static std::optional<Ipv4Address> Parse(std::string_view text);

  std::string ToString() const;
  void CopyTo(std::span<std::byte> out) const;

  constexpr bool IsZero() const { return value_ == 0; }
  constexpr uint32_t value() const { return value_; }
  constexpr auto operator<=>(const Ipv4Address&) const = default;

 private:
  uint32_t value_ = 0;
};

}  // namespace switchd
