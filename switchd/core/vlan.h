// VLAN membership of a port (IEEE 802.1Q): an access port carries one VLAN, untagged; a trunk
// carries a set of VLANs tagged and, optionally, a native VLAN untagged.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "switchd/core/types.h"

namespace switchd {

// A set of VLAN ids 1..4094 (512 bytes, no allocation).
class VlanSet {
 public:
  // "10", "10,20", "30-40", "1,5-7,100": ascending or not, overlapping or not; nullopt for
  // anything else (empty, 0, 4095, a reversed range "9-3", spaces).
  static std::optional<VlanSet> Parse(std::string_view text);

  bool Contains(VlanId vlan) const { return vlan >= 1 && vlan <= kMaxVlan && bits_[vlan]; }
  void Add(VlanId vlan) {
    if (vlan >= 1 && vlan <= kMaxVlan) bits_[vlan] = true;
  }
  bool empty() const { return bits_.none(); }
  size_t size() const { return bits_.count(); }
  // The canonical text: ascending, runs of three or more as ranges ("1,5-7,100").
  std::string ToString() const;
  bool operator==(const VlanSet&) const = default;

 private:
  std::bitset<kMaxVlan + 2> bits_;
};

enum class VlanMode : uint8_t { kAccess, kTrunk };

struct PortVlan {
  VlanMode mode = VlanMode::kAccess;
  VlanId access = kDefaultVlan;  // kAccess: the port's VLAN
  VlanSet trunk;                 // kTrunk: the VLANs carried tagged
  VlanId native = 0;             // kTrunk: the VLAN of untagged frames; 0: none (dropped)

  static PortVlan Access(VlanId vlan) { return PortVlan{VlanMode::kAccess, vlan, {}, 0}; }
  static PortVlan Trunk(const VlanSet& vlans, VlanId native = 0) {
    return PortVlan{VlanMode::kTrunk, 0, vlans, native};
  }

  // The VLAN an arriving frame with VLAN id `vid` (0: untagged or priority-tagged) belongs to, or
  // nullopt when the port does not admit it.
  std::optional<VlanId> Admit(VlanId vid) const {
    if (mode == VlanMode::kAccess) return vid == 0 ? std::optional<VlanId>(access) : std::nullopt;
    if (vid == 0) return native != 0 ? std::optional<VlanId>(native) : std::nullopt;
    return trunk.Contains(vid) || vid == native ? std::optional<VlanId>(vid) : std::nullopt;
  }
  // Whether frames of `vlan` may leave through the port.
  bool Carries(VlanId vlan) const {
    return mode == VlanMode::kAccess ? vlan == access : trunk.Contains(vlan) || vlan == native;
  }
  // Whether frames of `vlan` leave untagged (the access VLAN, a trunk's native VLAN).
  bool Untagged(VlanId vlan) const { return mode == VlanMode::kAccess || vlan == native; }
  bool operator==(const PortVlan&) const = default;
};

}  // namespace switchd
