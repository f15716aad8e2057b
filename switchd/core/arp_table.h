// ArpTable: IP-to-MAC bindings per VLAN, learned by snooping ARP and configured statically.
//
// Bounded like the MAC table: storage is allocated at construction and learning never allocates.
// Dynamic bindings age (the caller passes the aging time to Expire); static bindings never do and
// are never replaced by learning. When the table is full, learning a new binding replaces the
// least recently refreshed dynamic binding; if none exists the binding is not learned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "switchd/core/flat_index.h"
#include "switchd/core/status.h"
#include "switchd/core/types.h"

namespace switchd {

struct ArpBinding {
  Ipv4Address ip;
  VlanId vlan = kDefaultVlan;
  MacAddress mac;
  PortId port = kNoPort;  // the port a dynamic binding was learned on; kNoPort for static
  bool is_static = false;
  Time last_seen{};
};

struct ArpTableStats {
  uint64_t learned = 0;  // new dynamic bindings
  uint64_t changed = 0;  // dynamic bindings whose MAC changed
  uint64_t expired = 0;
  uint64_t evicted = 0;
  uint64_t not_learned = 0;  // table full of static bindings
};

class ArpTable {
 public:
  static constexpr size_t kDefaultCapacity = 8192;

  explicit ArpTable(size_t capacity = kDefaultCapacity);

  ArpTable(const ArpTable&) = delete;
  ArpTable& operator=(const ArpTable&) = delete;

  enum class LearnResult { kRefreshed, kLearned, kChanged, kStatic, kNotLearned };
  // Records that `ip` in `vlan` is at `mac`, seen on `port` at `now`: refreshes (kRefreshed),
  // learns (kLearned, evicting the least recently refreshed dynamic binding when full) or
  // rebinds to a new MAC (kChanged). Leaves static bindings as they are (kStatic); kNotLearned
  // when the table is full of static bindings. O(1), no allocation.
  LearnResult Learn(Ipv4Address ip, VlanId vlan, MacAddress mac, PortId port, Time now);

  // The binding for (ip, vlan), if any. O(1), no allocation.
  std::optional<ArpBinding> Lookup(Ipv4Address ip, VlanId vlan) const;

  // Adds or replaces a static binding (replacing a dynamic one for the same key; when full it
  // evicts a dynamic binding). kResourceExhausted when full of static bindings, kInvalidArgument
  // for a VLAN outside 1..4094.
  Status AddStatic(Ipv4Address ip, VlanId vlan, MacAddress mac, Time now);
  // Removes the binding for (ip, vlan). False if there was none.
  bool Remove(Ipv4Address ip, VlanId vlan);
  // Removes `ip` in every VLAN; returns how many bindings were removed.
  size_t RemoveIp(Ipv4Address ip);
  // Removes the dynamic bindings learned on `port`; returns how many.
  size_t RemovePort(PortId port);

  // Removes dynamic bindings last refreshed at or before `now - aging`, oldest first, calling
  // `on_expired` for each (after its removal). Returns how many were removed.
  size_t Expire(Time now, Duration aging,
                const std::function<void(const ArpBinding&)>& on_expired = {});

  size_t size() const;
  size_t capacity() const;
  size_t static_count() const;
  const ArpTableStats& stats() const;
  std::vector<ArpBinding> Entries() const;

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  enum class SlotState : uint8_t { kFree, kDynamic, kStatic };

  // One binding of the slab. Dynamic bindings sit on the LRU list, free slots on the free list
  // (through `next`), static bindings on no list.
  struct Slot {
    Ipv4Address ip;
    MacAddress mac;
    VlanId vlan = 0;
    PortId port = kNoPort;
    uint32_t prev = kNil;
    uint32_t next = kNil;
    SlotState state = SlotState::kFree;
    Time last_seen{};
  };

  static uint64_t Key(Ipv4Address ip, VlanId vlan) {
    return static_cast<uint64_t>(vlan) << 32 | ip.value();
  }
  uint32_t FindSlot(Ipv4Address ip, VlanId vlan) const;
  ArpBinding ToBinding(uint32_t slot) const;
  void LinkTail(uint32_t slot);
  void Unlink(uint32_t slot);
  // Takes a free slot for (ip, vlan) and indexes it. Precondition: size_ < capacity_.
  uint32_t Allocate(Ipv4Address ip, VlanId vlan);
  void Release(uint32_t slot);
  // Evicts the least recently refreshed dynamic binding. False when there is none.
  bool EvictOne();

  size_t capacity_;
  size_t size_ = 0;
  size_t static_count_ = 0;
  ArpTableStats stats_;
  std::vector<Slot> slots_;   // the slab: `capacity_` bindings
  FlatIndex index_;           // (IP, VLAN) -> slot
  uint32_t lru_head_ = kNil;  // least recently refreshed dynamic binding
  uint32_t lru_tail_ = kNil;  // most recently refreshed
  uint32_t free_head_ = kNil;
};

}  // namespace switchd
