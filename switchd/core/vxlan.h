// VXLAN (RFC 7348) framing and the remote-VTEP cache of a VXLAN port: pure, no sockets.
//
// A VXLAN packet's UDP payload is an 8-byte header (flags with the I bit, 0x08; 24 reserved bits;
// a 24-bit VNI; 8 reserved bits) and the inner Ethernet frame.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "switchd/core/types.h"

namespace switchd {

inline constexpr size_t kVxlanHeaderSize = 8;
inline constexpr uint16_t kVxlanPort = 4789;  // IANA
inline constexpr uint32_t kMaxVni = (1u << 24) - 1;
// Outer Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8): what encapsulation adds on the wire.
inline constexpr size_t kVxlanOverhead = 50;

enum class VxlanError { kNone, kShort, kFlags, kVni };

// The inner frame of `packet` (a UDP payload) if it is a well-formed VXLAN packet for `vni`:
// at least a header and an Ethernet header, the I flag and no other flag set. Otherwise an empty
// span and `error` says why.
std::span<const std::byte> ParseVxlan(std::span<const std::byte> packet, uint32_t vni,
                                      VxlanError& error);

// The 8-byte header for `vni`.
std::array<std::byte, kVxlanHeaderSize> VxlanHeader(uint32_t vni);

// Which remote VTEP each MAC was last seen behind: a direct-mapped cache (no allocation after
// construction). A MAC that collided out of the cache is simply unknown: its frames go to every
// remote, as unknown unicast would.
class VtepCache {
 public:
  static constexpr size_t kSlots = 4096;
  VtepCache() = default;
  void Learn(MacAddress mac, Ipv4Address remote);
  std::optional<Ipv4Address> Lookup(MacAddress mac) const;
  // Forgets every MAC behind `remote` (a remote deleted).
  void Forget(Ipv4Address remote);

 private:
  struct Slot {
    uint64_t mac = 0;  // 48 bits, plus bit 48 set when used
    Ipv4Address remote;
  };
  static size_t SlotOf(uint64_t key);
  std::array<Slot, kSlots> slots_{};
};

}  // namespace switchd
