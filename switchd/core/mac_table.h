// MacTable: the switch's forwarding database, keyed by (MAC, VLAN).
//
// Design, after Open vSwitch's lib/mac-learning:
// - Bounded. The capacity is fixed at construction and all storage is allocated then: learning,
//   lookup and aging never allocate. Lookup is O(1) (open addressing over a preallocated slab).
// - Dynamic entries live on a per-port LRU list. Expire(now) walks the list heads and removes
//   entries not seen for the aging time. The table owns no timer: the caller calls Expire.
// - Static entries never age, never move on learning and are never evicted.
// - When the table is full, learning a new MAC evicts the least recently used dynamic entry of the
//   port that holds the most dynamic entries, so a flood of source MACs from one port cannot push
//   out the other ports' entries. If no dynamic entry exists, the new MAC is not learned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "switchd/core/status.h"
#include "switchd/core/types.h"

namespace switchd {

struct MacEntry {
  MacAddress mac;
  VlanId vlan = kDefaultVlan;
  PortId port = kNoPort;
  bool is_static = false;
  Time last_seen{};
};

struct MacTableStats {
  uint64_t learned = 0;  // new dynamic entries
  uint64_t moved = 0;    // dynamic entries that changed port
  uint64_t expired = 0;  // dynamic entries removed by aging
  uint64_t evicted = 0;  // dynamic entries removed to make room
  uint64_t not_learned = 0;  // new MACs dropped from learning (table full of static entries)
};

struct LearnOutcome {
  enum class Kind { kRefreshed, kLearned, kMoved, kStatic, kNotLearned };
  Kind kind = Kind::kRefreshed;
  PortId previous_port = kNoPort;   // for kMoved
  std::optional<MacEntry> evicted;  // the entry evicted to make room, if any
};

class MacTable {
 public:
  static constexpr size_t kDefaultCapacity = 8192;
  static constexpr Duration kDefaultAgingTime = std::chrono::seconds(300);

  // `capacity` >= 1: the most entries (static and dynamic) the table will ever hold.
  explicit MacTable(size_t capacity = kDefaultCapacity);

  MacTable(const MacTable&) = delete;
  MacTable& operator=(const MacTable&) = delete;

  // Records that `mac` in `vlan` was seen as a source on `port` at `now`: refreshes, learns, or
  // moves a dynamic entry. A static entry is left as it is (kStatic). Hot path: O(1), no allocation.
  LearnOutcome Learn(MacAddress mac, VlanId vlan, PortId port, Time now);

  // The port `mac` in `vlan` was learned on, if any. Hot path: O(1), no allocation.
  std::optional<PortId> Lookup(MacAddress mac, VlanId vlan) const;
  // The whole entry, if any.
  std::optional<MacEntry> Find(MacAddress mac, VlanId vlan) const;

  // Adds or replaces a static entry (replacing a dynamic one for the same key). Fails with
  // kResourceExhausted when the table is full of static entries.
  Status AddStatic(MacAddress mac, VlanId vlan, PortId port, Time now);
  // Removes the entry for (mac, vlan), static or dynamic. False if there was none.
  bool Remove(MacAddress mac, VlanId vlan);
  // Removes `mac` in every VLAN. Returns how many entries were removed.
  size_t RemoveMac(MacAddress mac);
  // Removes dynamic entries (and static ones too with `include_static`), of `port` only if given.
  // Returns how many were removed.
  size_t Flush(std::optional<PortId> port, bool include_static);

  // Removes dynamic entries last seen at or before `now - aging_time()`, oldest first, calling
  // `on_expired` for each. Returns how many were removed.
  size_t Expire(Time now, const std::function<void(const MacEntry&)>& on_expired = {});

  void set_aging_time(Duration aging) { aging_time_ = aging; }
  Duration aging_time() const { return aging_time_; }

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t static_count() const { return static_count_; }
  // Dynamic entries currently learned on `port`.
  size_t CountOnPort(PortId port) const;
  const MacTableStats& stats() const { return stats_; }

  // Every entry, in no particular order.
  std::vector<MacEntry> Entries() const;

  // Bytes of table storage per entry of capacity (slab plus index), for sizing and the benchmark.
  static size_t BytesPerEntry();

 private:
  // Implementation-defined; see mac_table.cc. Kept here so that the table is one object with no
  // per-entry allocation.
  struct Slot;
  struct PortList {
    uint32_t head = UINT32_MAX;  // least recently used
    uint32_t tail = UINT32_MAX;  // most recently used
    uint32_t count = 0;
  };

  size_t capacity_;
  Duration aging_time_ = kDefaultAgingTime;
  size_t size_ = 0;
  size_t static_count_ = 0;
  MacTableStats stats_;
  std::vector<Slot> slots_;        // the slab: `capacity_` entries
  std::vector<uint32_t> index_;    // open-addressing hash index into slots_ (power of two)
  std::vector<PortList> ports_;    // per-port LRU of dynamic entries, indexed by PortId
  uint32_t free_head_ = UINT32_MAX;
};

}  // namespace switchd
