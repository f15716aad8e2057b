#include "switchd/core/mac_table.h"

#include <algorithm>
#include <string>

namespace switchd {

static_assert(sizeof(MacAddress) == 6, "the slab layout relies on a 6-byte MacAddress");

MacTable::MacTable(size_t capacity)
    // A zero capacity would make every Learn a corner case; one slot is the smallest real table.
    : capacity_(capacity == 0 ? 1 : capacity), slots_(capacity_), index_(capacity_) {
  // Thread every slot onto the free list, lowest index first.
  for (size_t i = capacity_; i-- > 0;) {
    slots_[i].next = free_head_;
    free_head_ = static_cast<uint32_t>(i);
  }
}

size_t MacTable::BytesPerEntry() {
  return (sizeof(Slot) * kDefaultCapacity +
          FlatIndex::kBucketSize * FlatIndex::BucketCount(kDefaultCapacity)) /
         kDefaultCapacity;
}

uint32_t MacTable::FindSlot(MacAddress mac, VlanId vlan) const {
  return index_.FindSlot(Key(mac, vlan));
}

MacEntry MacTable::ToEntry(uint32_t slot) const {
  const Slot& s = slots_[slot];
  return MacEntry{s.mac, s.vlan, s.port, s.is_static, s.last_seen, s.moves};
}

MacTable::PortList& MacTable::PortListFor(PortId port) {
  const uint32_t i = ToIndex(port);
  // Grows once per new port id (port ids are small and dense), never for a known port.
  if (i >= ports_.size()) ports_.resize(i + 1);
  return ports_[i];
}

void MacTable::LinkTail(uint32_t slot) {
  Slot& s = slots_[slot];
  PortList& list = PortListFor(s.port);
  s.prev = list.tail;
  s.next = kNil;
  if (list.tail != kNil) {
    slots_[list.tail].next = slot;
  } else {
    list.head = slot;
  }
  list.tail = slot;
  ++list.count;
}

void MacTable::Unlink(uint32_t slot) {
  Slot& s = slots_[slot];
  PortList& list = ports_[ToIndex(s.port)];
  if (s.prev != kNil) {
    slots_[s.prev].next = s.next;
  } else {
    list.head = s.next;
  }
  if (s.next != kNil) {
    slots_[s.next].prev = s.prev;
  } else {
    list.tail = s.prev;
  }
  s.prev = s.next = kNil;
  --list.count;
}

uint32_t MacTable::Allocate(MacAddress mac, VlanId vlan, PortId port) {
  const uint32_t slot = free_head_;
  Slot& s = slots_[slot];
  free_head_ = s.next;
  s.mac = mac;
  s.vlan = vlan;
  s.port = port;
  s.prev = s.next = kNil;
  index_.Insert(Key(mac, vlan), slot, ToIndex(port));
  ++size_;
  return slot;
}

void MacTable::Release(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.is_static) {
    --static_count_;
  } else {
    Unlink(slot);
  }
  index_.Erase(Key(s.mac, s.vlan));
  s = Slot{};
  s.next = free_head_;
  free_head_ = slot;
  --size_;
}

std::optional<MacEntry> MacTable::EvictOne() {
  // OVS-style fairness: the victim comes from whichever port holds the most dynamic entries, so
  // a port flooding new source MACs only ever recycles its own entries once it is the busiest.
  const PortList* busiest = nullptr;
  for (const PortList& list : ports_) {
    if (list.count > 0 && (busiest == nullptr || list.count > busiest->count)) busiest = &list;
  }
  if (busiest == nullptr) return std::nullopt;
  const uint32_t victim = busiest->head;
  MacEntry entry = ToEntry(victim);
  Release(victim);
  ++stats_.evicted;
  return entry;
}

void MacTable::SetPortLimit(PortId port, size_t limit) {
  PortListFor(port).limit = static_cast<uint32_t>(std::min<size_t>(limit, UINT32_MAX));
}

size_t MacTable::PortLimit(PortId port) const {
  return ToIndex(port) < ports_.size() ? ports_[ToIndex(port)].limit : 0;
}

LearnOutcome MacTable::Learn(MacAddress mac, VlanId vlan, PortId port, Time now) {
  LearnOutcome outcome;
  if (port == kNoPort) {
    outcome.kind = LearnOutcome::Kind::kNotLearned;
    ++stats_.not_learned;
    return outcome;
  }
  if (FlatIndex::Bucket* bucket = index_.Find(Key(mac, vlan))) {
    const uint32_t found = bucket->slot;
    Slot& s = slots_[found];
    if (s.is_static) {
      s.last_seen = now;
      outcome.kind = LearnOutcome::Kind::kStatic;
      return outcome;
    }
    if (s.port != port && now - s.last_seen < move_hold_) {
      // Still active where it is: a flapping or spoofed source does not drag it back and forth,
      // and does not keep it fresh either.
      outcome.kind = LearnOutcome::Kind::kDamped;
      outcome.previous_port = s.port;
      ++stats_.move_damped;
      return outcome;
    }
    if (s.port != port) {
      // Moving in counts against the new port's MAC limit like learning does.
      if (const PortList& list = PortListFor(port); list.limit != 0 && list.count >= list.limit) {
        outcome.kind = LearnOutcome::Kind::kLimited;
        ++stats_.port_limited;
        return outcome;
      }
    }
    s.last_seen = now;
    Unlink(found);
    if (s.port == port) {
      outcome.kind = LearnOutcome::Kind::kRefreshed;
    } else {
      outcome.kind = LearnOutcome::Kind::kMoved;
      outcome.previous_port = s.port;
      s.port = port;
      bucket->value = ToIndex(port);  // Lookup reads the port from the index
      if (s.moves != UINT16_MAX) ++s.moves;
      ++stats_.moved;
    }
    LinkTail(found);
    return outcome;
  }

  if (const PortList& list = PortListFor(port); list.limit != 0 && list.count >= list.limit) {
    outcome.kind = LearnOutcome::Kind::kLimited;
    ++stats_.port_limited;
    return outcome;
  }
  if (size_ == capacity_) {
    outcome.evicted = EvictOne();
    if (!outcome.evicted) {
      outcome.kind = LearnOutcome::Kind::kNotLearned;
      ++stats_.not_learned;
      return outcome;
    }
  }
  const uint32_t slot = Allocate(mac, vlan, port);
  Slot& s = slots_[slot];
  s.is_static = false;
  s.last_seen = now;
  LinkTail(slot);
  ++stats_.learned;
  outcome.kind = LearnOutcome::Kind::kLearned;
  return outcome;
}

std::optional<PortId> MacTable::Lookup(MacAddress mac, VlanId vlan) const {
  // The index carries the port: one cache line, never the slab.
  const FlatIndex::Bucket* bucket = index_.Find(Key(mac, vlan));
  if (bucket == nullptr) return std::nullopt;
  return PortId{bucket->value};
}

std::optional<MacEntry> MacTable::Find(MacAddress mac, VlanId vlan) const {
  const uint32_t slot = FindSlot(mac, vlan);
  if (slot == FlatIndex::kNone) return std::nullopt;
  return ToEntry(slot);
}

Status MacTable::AddStatic(MacAddress mac, VlanId vlan, PortId port, Time now) {
  if (vlan < 1 || vlan > kMaxVlan) {
    return Status::InvalidArgument("invalid VLAN " + std::to_string(vlan) + " (expected 1..4094)");
  }
  if (port == kNoPort) return Status::InvalidArgument("a static MAC entry needs a port");
  uint32_t slot = FindSlot(mac, vlan);
  if (slot == FlatIndex::kNone) {
    if (size_ == capacity_ && !EvictOne()) {
      return Status::ResourceExhausted("MAC table is full of static entries (" +
                                       std::to_string(capacity_) + ")");
    }
    slot = Allocate(mac, vlan, port);
    ++static_count_;
  } else if (!slots_[slot].is_static) {
    Unlink(slot);
    ++static_count_;
  }
  Slot& s = slots_[slot];
  s.port = port;
  index_.Find(Key(mac, vlan))->value = ToIndex(port);
  s.is_static = true;
  s.last_seen = now;
  return Status::Ok();
}

bool MacTable::Remove(MacAddress mac, VlanId vlan) {
  const uint32_t slot = FindSlot(mac, vlan);
  if (slot == FlatIndex::kNone) return false;
  Release(slot);
  return true;
}

size_t MacTable::RemoveMac(MacAddress mac) {
  // Control-plane only: a scan of the slab is simpler than 4094 lookups and as cheap.
  size_t removed = 0;
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].port != kNoPort && slots_[i].mac == mac) {
      Release(i);
      ++removed;
    }
  }
  return removed;
}

size_t MacTable::Flush(std::optional<PortId> port, bool include_static) {
  size_t removed = 0;
  if (port && !include_static) {
    // Only the port's dynamic entries: its LRU list has exactly those.
    if (ToIndex(*port) >= ports_.size()) return 0;
    while (ports_[ToIndex(*port)].head != kNil) {
      Release(ports_[ToIndex(*port)].head);
      ++removed;
    }
    return removed;
  }
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.port == kNoPort || (port && s.port != *port) || (s.is_static && !include_static)) {
      continue;
    }
    Release(i);
    ++removed;
  }
  return removed;
}

size_t MacTable::Expire(Time now, const std::function<void(const MacEntry&)>& on_expired) {
  const Time cutoff = now - aging_time_;
  size_t removed = 0;
  // Indexes rather than references: `on_expired` may learn on a new port and grow ports_.
  for (size_t p = 0; p < ports_.size(); ++p) {
    // Each list is ordered by last_seen, so the expired entries are a prefix of it.
    while (ports_[p].head != kNil && slots_[ports_[p].head].last_seen <= cutoff) {
      const uint32_t slot = ports_[p].head;
      const MacEntry entry = ToEntry(slot);
      Release(slot);
      ++stats_.expired;
      ++removed;
      if (on_expired) on_expired(entry);
    }
  }
  return removed;
}

size_t MacTable::CountOnPort(PortId port) const {
  return ToIndex(port) < ports_.size() ? ports_[ToIndex(port)].count : 0;
}

void MacTable::ReservePorts(size_t count) {
  if (count > ports_.size()) ports_.resize(count);
}

std::vector<MacEntry> MacTable::Entries() const {
  std::vector<MacEntry> entries;
  entries.reserve(size_);
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].port != kNoPort) entries.push_back(ToEntry(i));
  }
  return entries;
}

}  // namespace switchd
