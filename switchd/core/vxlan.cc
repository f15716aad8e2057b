#include "switchd/core/vxlan.h"

#include "switchd/core/frame.h"

namespace switchd {
namespace {

constexpr std::byte kFlagI{0x08};
constexpr uint64_t kUsed = uint64_t{1} << 48;

uint64_t Key(MacAddress mac) {
  uint64_t key = 0;
  for (uint8_t byte : mac.bytes()) key = key << 8 | byte;
  return key | kUsed;
}

}  // namespace

std::span<const std::byte> ParseVxlan(std::span<const std::byte> packet, uint32_t vni,
                                      VxlanError& error) {
  error = VxlanError::kNone;
  if (packet.size() < kVxlanHeaderSize + kEthernetHeaderSize) {
    error = VxlanError::kShort;
    return {};
  }
  if (packet[0] != kFlagI) {  // the I flag, and none of the reserved ones
    error = VxlanError::kFlags;
    return {};
  }
  const uint32_t got = std::to_integer<uint32_t>(packet[4]) << 16 |
                       std::to_integer<uint32_t>(packet[5]) << 8 |
                       std::to_integer<uint32_t>(packet[6]);
  if (got != vni) {
    error = VxlanError::kVni;
    return {};
  }
  return packet.subspan(kVxlanHeaderSize);
}

std::array<std::byte, kVxlanHeaderSize> VxlanHeader(uint32_t vni) {
  return {kFlagI,         std::byte{0},         std::byte{0},
          std::byte{0},   std::byte(vni >> 16), std::byte(vni >> 8),
          std::byte(vni), std::byte{0}};
}

size_t VtepCache::SlotOf(uint64_t key) {
  key ^= key >> 29;
  key *= 0xbf58476d1ce4e5b9ULL;
  key ^= key >> 32;
  return key % kSlots;
}

void VtepCache::Learn(MacAddress mac, Ipv4Address remote) {
  const uint64_t key = Key(mac);
  slots_[SlotOf(key)] = Slot{key, remote};
}

std::optional<Ipv4Address> VtepCache::Lookup(MacAddress mac) const {
  const uint64_t key = Key(mac);
  const Slot& slot = slots_[SlotOf(key)];
  if (slot.mac != key) return std::nullopt;
  return slot.remote;
}

void VtepCache::Forget(Ipv4Address remote) {
  for (Slot& slot : slots_) {
    if (slot.mac != 0 && slot.remote == remote) slot = Slot{};
  }
}

}  // namespace switchd
