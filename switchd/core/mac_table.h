// MacTable: the switch's forwarding database, keyed by (MAC, VLAN).
//
// Design, after Open vSwitch's lib/mac-learning:
// - Bounded. The capacity is fixed at construction and all storage is allocated then: learning,
//   lookup and aging never allocate (the per-port lists grow when a port id is first seen, or
//   up front with ReservePorts). Learn and Lookup are O(1): open addressing (flat_index.h) over
//   a preallocated slab, with backward-shift deletion so churn leaves no tombstones.
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

#include "switchd/core/flat_index.h"
#include "switchd/core/status.h"
#include "switchd/core/types.h"

namespace switchd {

struct MacEntry {
  MacAddress mac;
  VlanId vlan = kDefaultVlan;
  PortId port = kNoPort;
  bool is_static = false;
  Time last_seen{};
  uint16_t moves = 0;  // times this entry changed port (saturates)
};

struct MacTableStats {
  uint64_t learned = 0;       // new dynamic entries
  uint64_t moved = 0;         // dynamic entries that changed port
  uint64_t expired = 0;       // dynamic entries removed by aging
  uint64_t evicted = 0;       // dynamic entries removed to make room
  uint64_t not_learned = 0;   // new MACs dropped from learning (table full of static entries)
  uint64_t move_damped = 0;   // moves refused: the MAC was still active on its port
  uint64_t port_limited = 0;  // new MACs not learned: their port reached its MAC limit
};

struct LearnOutcome {
  // kDamped: seen on another port while still active on its own (within the move hold time),
  // so not moved. kLimited: a new MAC on a port at its MAC limit, not learned.
  enum class Kind { kRefreshed, kLearned, kMoved, kStatic, kNotLearned, kDamped, kLimited };
  Kind kind = Kind::kRefreshed;
  PortId previous_port = kNoPort;   // for kMoved; for kDamped, the port the entry stays on
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
  // moves a dynamic entry. A static entry keeps its port (kStatic); only its last_seen is
  // refreshed. kNotLearned when the table is full of static entries (or `port` is kNoPort);
  // kLimited when `port` holds its MAC limit; kDamped when the entry was seen on its own port
  // less than the move hold time ago (it stays there, unrefreshed by the other port).
  // Hot path: O(1) but for finding the busiest port when evicting; no allocation.
  LearnOutcome Learn(MacAddress mac, VlanId vlan, PortId port, Time now);

  // The port `mac` in `vlan` was learned on, if any. Hot path: O(1), no allocation.
  std::optional<PortId> Lookup(MacAddress mac, VlanId vlan) const;
  // The whole entry, if any.
  std::optional<MacEntry> Find(MacAddress mac, VlanId vlan) const;

  // Adds or replaces a static entry (replacing a dynamic one for the same key); when the table is
  // full it evicts a dynamic entry as Learn does. Fails with kResourceExhausted when the table is
  // full of static entries, kInvalidArgument for a VLAN outside 1..4094 or kNoPort.
  Status AddStatic(MacAddress mac, VlanId vlan, PortId port, Time now);
  // Removes the entry for (mac, vlan), static or dynamic. False if there was none.
  bool Remove(MacAddress mac, VlanId vlan);
  // Removes `mac` in every VLAN. Returns how many entries were removed.
  size_t RemoveMac(MacAddress mac);
  // Removes dynamic entries (and static ones too with `include_static`), of `port` only if given.
  // Returns how many were removed.
  size_t Flush(std::optional<PortId> port, bool include_static);

  // Removes dynamic entries last seen at or before `now - aging_time()`, oldest first within each
  // port, calling `on_expired` for each (after its removal). Returns how many were removed.
  size_t Expire(Time now, const std::function<void(const MacEntry&)>& on_expired = {});

  // Dynamic entries `port` may hold; 0 means no limit beyond the table's. Lowering it below the
  // current count removes nothing: new MACs wait until entries age out.
  void SetPortLimit(PortId port, size_t limit);
  size_t PortLimit(PortId port) const;
  // A dynamic entry moves to another port only once it has been quiet on its own for this long
  // (0, the default, moves on every frame).
  void set_move_hold(Duration hold) { move_hold_ = hold; }
  Duration move_hold() const { return move_hold_; }

  void set_aging_time(Duration aging) { aging_time_ = aging; }
  Duration aging_time() const { return aging_time_; }

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t static_count() const { return static_count_; }
  // Dynamic entries currently learned on `port`.
  size_t CountOnPort(PortId port) const;
  // Sizes the per-port lists for port ids below `count`, so that even the first entry learned on
  // such a port allocates nothing. Optional (Learn sizes them on first sight otherwise); the
  // datapath calls it when a port is added.
  void ReservePorts(size_t count);
  const MacTableStats& stats() const { return stats_; }

  // Every entry, in no particular order.
  std::vector<MacEntry> Entries() const;

  // Bytes of table storage per entry of capacity (slab plus index) at kDefaultCapacity, for sizing
  // and the benchmark. Other capacities round the index up to a power of two.
  static size_t BytesPerEntry();

 private:
  static constexpr uint32_t kNil = UINT32_MAX;

  // One entry of the slab: 32 bytes. A free slot has port == kNoPort and sits on the free list
  // (through `next`); a dynamic entry sits on its port's LRU list; a static entry on no list.
  struct Slot {
    MacAddress mac;
    VlanId vlan = 0;
    PortId port = kNoPort;
    uint32_t prev = kNil;
    uint32_t next = kNil;
    bool is_static = false;
    uint16_t moves = 0;
    Time last_seen{};
  };
  // A port's dynamic entries, least recently seen first, linked through Slot::prev/next.
  struct PortList {
    uint32_t head = kNil;  // least recently seen
    uint32_t tail = kNil;  // most recently seen
    uint32_t count = 0;
    uint32_t limit = 0;  // 0: none
  };

  static uint64_t Key(MacAddress mac, VlanId vlan) {
    return mac.ToU64() | static_cast<uint64_t>(vlan) << 48;
  }
  uint32_t FindSlot(MacAddress mac, VlanId vlan) const;
  MacEntry ToEntry(uint32_t slot) const;
  PortList& PortListFor(PortId port);
  void LinkTail(uint32_t slot);
  void Unlink(uint32_t slot);
  // Takes a free slot for (mac, vlan) and indexes it; the caller fills in the rest. Precondition:
  // size_ < capacity_.
  uint32_t Allocate(MacAddress mac, VlanId vlan, PortId port);
  void Release(uint32_t slot);
  // Evicts the least recently seen dynamic entry of the port holding the most dynamic entries.
  // Nullopt when there is no dynamic entry.
  std::optional<MacEntry> EvictOne();

  size_t capacity_;
  Duration aging_time_ = kDefaultAgingTime;
  Duration move_hold_{0};
  size_t size_ = 0;
  size_t static_count_ = 0;
  MacTableStats stats_;
  std::vector<Slot> slots_;      // the slab: `capacity_` entries
  FlatIndex index_;              // (MAC, VLAN) -> slot
  std::vector<PortList> ports_;  // per-port LRU of dynamic entries, indexed by PortId
  uint32_t free_head_ = kNil;
};

}  // namespace switchd
