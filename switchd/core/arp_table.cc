#include "switchd/core/arp_table.h"

#include <string>

namespace switchd {

ArpTable::ArpTable(size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity), slots_(capacity_), index_(capacity_) {
  for (size_t i = capacity_; i-- > 0;) {
    slots_[i].next = free_head_;
    free_head_ = static_cast<uint32_t>(i);
  }
}

uint32_t ArpTable::FindSlot(Ipv4Address ip, VlanId vlan) const {
  return index_.FindSlot(Key(ip, vlan));
}

ArpBinding ArpTable::ToBinding(uint32_t slot) const {
  const Slot& s = slots_[slot];
  return ArpBinding{s.ip, s.vlan, s.mac, s.port, s.state == SlotState::kStatic, s.last_seen};
}

void ArpTable::LinkTail(uint32_t slot) {
  Slot& s = slots_[slot];
  s.prev = lru_tail_;
  s.next = kNil;
  if (lru_tail_ != kNil) {
    slots_[lru_tail_].next = slot;
  } else {
    lru_head_ = slot;
  }
  lru_tail_ = slot;
}

void ArpTable::Unlink(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.prev != kNil) {
    slots_[s.prev].next = s.next;
  } else {
    lru_head_ = s.next;
  }
  if (s.next != kNil) {
    slots_[s.next].prev = s.prev;
  } else {
    lru_tail_ = s.prev;
  }
  s.prev = s.next = kNil;
}

uint32_t ArpTable::Allocate(Ipv4Address ip, VlanId vlan) {
  const uint32_t slot = free_head_;
  Slot& s = slots_[slot];
  free_head_ = s.next;
  s.ip = ip;
  s.vlan = vlan;
  s.prev = s.next = kNil;
  index_.Insert(Key(ip, vlan), slot, /*value=*/0);
  ++size_;
  return slot;
}

void ArpTable::Release(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.state == SlotState::kStatic) {
    --static_count_;
  } else {
    Unlink(slot);
  }
  index_.Erase(Key(s.ip, s.vlan));
  s = Slot{};
  s.next = free_head_;
  free_head_ = slot;
  --size_;
}

bool ArpTable::EvictOne() {
  if (lru_head_ == kNil) return false;
  Release(lru_head_);
  ++stats_.evicted;
  return true;
}

ArpTable::LearnResult ArpTable::Learn(Ipv4Address ip, VlanId vlan, MacAddress mac, PortId port,
                                      Time now) {
  uint32_t slot = FindSlot(ip, vlan);
  LearnResult result = LearnResult::kLearned;
  if (slot != FlatIndex::kNone) {
    Slot& s = slots_[slot];
    if (s.state == SlotState::kStatic) return LearnResult::kStatic;
    if (s.mac == mac) {
      result = LearnResult::kRefreshed;
    } else {
      result = LearnResult::kChanged;
      ++stats_.changed;
    }
    Unlink(slot);
  } else {
    if (size_ == capacity_ && !EvictOne()) {
      ++stats_.not_learned;
      return LearnResult::kNotLearned;
    }
    slot = Allocate(ip, vlan);
    ++stats_.learned;
  }
  Slot& s = slots_[slot];
  s.mac = mac;
  s.port = port;
  s.state = SlotState::kDynamic;
  s.last_seen = now;
  LinkTail(slot);
  return result;
}

std::optional<ArpBinding> ArpTable::Lookup(Ipv4Address ip, VlanId vlan) const {
  const uint32_t slot = FindSlot(ip, vlan);
  if (slot == FlatIndex::kNone) return std::nullopt;
  return ToBinding(slot);
}

Status ArpTable::AddStatic(Ipv4Address ip, VlanId vlan, MacAddress mac, Time now) {
  if (vlan < 1 || vlan > kMaxVlan) {
    return Status::InvalidArgument("invalid VLAN " + std::to_string(vlan) + " (expected 1..4094)");
  }
  uint32_t slot = FindSlot(ip, vlan);
  if (slot == FlatIndex::kNone) {
    if (size_ == capacity_ && !EvictOne()) {
      return Status::ResourceExhausted("ARP table is full of static entries (" +
                                       std::to_string(capacity_) + ")");
    }
    slot = Allocate(ip, vlan);
    ++static_count_;
  } else if (slots_[slot].state == SlotState::kDynamic) {
    Unlink(slot);
    ++static_count_;
  }
  Slot& s = slots_[slot];
  s.mac = mac;
  s.port = kNoPort;
  s.state = SlotState::kStatic;
  s.last_seen = now;
  return Status::Ok();
}

bool ArpTable::Remove(Ipv4Address ip, VlanId vlan) {
  const uint32_t slot = FindSlot(ip, vlan);
  if (slot == FlatIndex::kNone) return false;
  Release(slot);
  return true;
}

size_t ArpTable::RemoveIp(Ipv4Address ip) {
  size_t removed = 0;
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].state != SlotState::kFree && slots_[i].ip == ip) {
      Release(i);
      ++removed;
    }
  }
  return removed;
}

size_t ArpTable::RemovePort(PortId port) {
  // The LRU list holds exactly the dynamic bindings.
  size_t removed = 0;
  for (uint32_t slot = lru_head_; slot != kNil;) {
    const uint32_t next = slots_[slot].next;
    if (slots_[slot].port == port) {
      Release(slot);
      ++removed;
    }
    slot = next;
  }
  return removed;
}

size_t ArpTable::Expire(Time now, Duration aging,
                        const std::function<void(const ArpBinding&)>& on_expired) {
  const Time cutoff = now - aging;
  size_t removed = 0;
  while (lru_head_ != kNil && slots_[lru_head_].last_seen <= cutoff) {
    const ArpBinding binding = ToBinding(lru_head_);
    Release(lru_head_);
    ++stats_.expired;
    ++removed;
    if (on_expired) on_expired(binding);
  }
  return removed;
}

size_t ArpTable::size() const { return size_; }
size_t ArpTable::capacity() const { return capacity_; }
size_t ArpTable::static_count() const { return static_count_; }
const ArpTableStats& ArpTable::stats() const { return stats_; }

std::vector<ArpBinding> ArpTable::Entries() const {
  std::vector<ArpBinding> entries;
  entries.reserve(size_);
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].state != SlotState::kFree) entries.push_back(ToBinding(i));
  }
  return entries;
}

}  // namespace switchd
