#include "switchd/core/mac_table.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/helpers/frames.h"

namespace switchd {
namespace {

using test::At;
using test::Mac;
using Kind = LearnOutcome::Kind;

constexpr PortId kPort0{0};
constexpr PortId kPort1{1};
constexpr PortId kPort2{2};

TEST(MacTableTest, LearnsNewMac) {
  MacTable table(16);
  const LearnOutcome outcome = table.Learn(Mac(1), 1, kPort0, At(5));
  EXPECT_EQ(outcome.kind, Kind::kLearned);
  EXPECT_FALSE(outcome.evicted.has_value());
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort0);
  const auto entry = table.Find(Mac(1), 1);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->port, kPort0);
  EXPECT_FALSE(entry->is_static);
  EXPECT_EQ(entry->last_seen, At(5));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.CountOnPort(kPort0), 1u);
  EXPECT_EQ(table.stats().learned, 1u);
}

TEST(MacTableTest, LookupOfUnknownMacFindsNothing) {
  MacTable table(16);
  EXPECT_FALSE(table.Lookup(Mac(1), 1).has_value());
  EXPECT_FALSE(table.Find(Mac(1), 1).has_value());
  EXPECT_EQ(table.CountOnPort(PortId{7}), 0u);
}

TEST(MacTableTest, KeepsSameMacInDifferentVlansApart) {
  MacTable table(16);
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(1), 2, kPort1, At(0));
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort0);
  EXPECT_EQ(table.Lookup(Mac(1), 2), kPort1);
  EXPECT_FALSE(table.Lookup(Mac(1), 3).has_value());
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.stats().moved, 0u);
}

TEST(MacTableTest, RefreshesKnownMacOnSamePort) {
  MacTable table(16);
  table.Learn(Mac(1), 1, kPort0, At(0));
  const LearnOutcome outcome = table.Learn(Mac(1), 1, kPort0, At(10));
  EXPECT_EQ(outcome.kind, Kind::kRefreshed);
  EXPECT_EQ(table.Find(Mac(1), 1)->last_seen, At(10));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.stats().learned, 1u);
}

TEST(MacTableTest, MovesMacSeenOnAnotherPort) {
  MacTable table(16);
  table.Learn(Mac(1), 1, kPort0, At(0));
  const LearnOutcome outcome = table.Learn(Mac(1), 1, kPort1, At(1));
  EXPECT_EQ(outcome.kind, Kind::kMoved);
  EXPECT_EQ(outcome.previous_port, kPort0);
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort1);
  EXPECT_EQ(table.CountOnPort(kPort0), 0u);
  EXPECT_EQ(table.CountOnPort(kPort1), 1u);
  EXPECT_EQ(table.stats().moved, 1u);
}

TEST(MacTableTest, AgesOutDynamicEntriesAfterAgingTime) {
  MacTable table(16);
  table.set_aging_time(std::chrono::seconds(300));
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(2), 1, kPort1, At(100));
  EXPECT_EQ(table.Expire(At(299)), 0u);
  EXPECT_TRUE(table.Lookup(Mac(1), 1).has_value());

  std::vector<MacEntry> expired;
  EXPECT_EQ(table.Expire(At(300), [&](const MacEntry& e) { expired.push_back(e); }), 1u);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].mac, Mac(1));
  EXPECT_EQ(expired[0].port, kPort0);
  EXPECT_FALSE(table.Lookup(Mac(1), 1).has_value());
  EXPECT_TRUE(table.Lookup(Mac(2), 1).has_value());
  EXPECT_EQ(table.stats().expired, 1u);
  EXPECT_EQ(table.CountOnPort(kPort0), 0u);
}

TEST(MacTableTest, RefreshPostponesAging) {
  MacTable table(16);
  table.set_aging_time(std::chrono::seconds(60));
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(2), 1, kPort0, At(10));
  table.Learn(Mac(1), 1, kPort0, At(50));
  EXPECT_EQ(table.Expire(At(70)), 1u);  // Mac(2), now the least recently seen
  EXPECT_TRUE(table.Lookup(Mac(1), 1).has_value());
  EXPECT_FALSE(table.Lookup(Mac(2), 1).has_value());
  EXPECT_EQ(table.Expire(At(110)), 1u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(MacTableTest, ExpiresOldestFirstWithinAPort) {
  MacTable table(16);
  table.set_aging_time(std::chrono::seconds(10));
  for (uint16_t i = 1; i <= 4; ++i) table.Learn(Mac(i), 1, kPort0, At(i));
  table.Learn(Mac(1), 1, kPort0, At(5));  // Mac(1) becomes the newest
  std::vector<MacAddress> order;
  table.Expire(At(100), [&](const MacEntry& e) { order.push_back(e.mac); });
  EXPECT_EQ(order, (std::vector<MacAddress>{Mac(2), Mac(3), Mac(4), Mac(1)}));
}

TEST(MacTableTest, MoveCountsAsSeenForAging) {
  MacTable table(16);
  table.set_aging_time(std::chrono::seconds(10));
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(1), 1, kPort1, At(8));
  EXPECT_EQ(table.Expire(At(12)), 0u);
  EXPECT_EQ(table.Expire(At(18)), 1u);
}

TEST(MacTableTest, StaticEntriesNeverAge) {
  MacTable table(16);
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort0, At(0)).ok());
  EXPECT_EQ(table.Expire(At(1'000'000)), 0u);
  const auto entry = table.Find(Mac(1), 1);
  ASSERT_TRUE(entry.has_value());
  EXPECT_TRUE(entry->is_static);
  EXPECT_EQ(table.static_count(), 1u);
}

TEST(MacTableTest, StaticEntriesNeverMoveOnLearning) {
  MacTable table(16);
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort0, At(0)).ok());
  const LearnOutcome outcome = table.Learn(Mac(1), 1, kPort1, At(7));
  EXPECT_EQ(outcome.kind, Kind::kStatic);
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort0);
  EXPECT_EQ(table.stats().moved, 0u);
  EXPECT_EQ(table.CountOnPort(kPort1), 0u);
  // A frame from the MAC still counts as seen, for the age shown to users.
  EXPECT_EQ(table.Find(Mac(1), 1)->last_seen, At(7));
}

TEST(MacTableTest, StaticEntryReplacesDynamicOne) {
  MacTable table(16);
  table.Learn(Mac(1), 1, kPort0, At(0));
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort1, At(3)).ok());
  const auto entry = table.Find(Mac(1), 1);
  EXPECT_TRUE(entry->is_static);
  EXPECT_EQ(entry->port, kPort1);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.static_count(), 1u);
  EXPECT_EQ(table.CountOnPort(kPort0), 0u);
  EXPECT_EQ(table.Expire(At(1000)), 0u);
}

TEST(MacTableTest, AddStaticAgainChangesPort) {
  MacTable table(16);
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort0, At(0)).ok());
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort2, At(1)).ok());
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort2);
  EXPECT_EQ(table.static_count(), 1u);
  EXPECT_EQ(table.size(), 1u);
}

TEST(MacTableTest, AddStaticRejectsBadVlanAndMissingPort) {
  MacTable table(16);
  EXPECT_EQ(table.AddStatic(Mac(1), 0, kPort0, At(0)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(table.AddStatic(Mac(1), 4095, kPort0, At(0)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(table.AddStatic(Mac(1), 1, kNoPort, At(0)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(table.size(), 0u);
}

TEST(MacTableTest, NeverHoldsMoreThanCapacity) {
  MacTable table(8);
  for (uint16_t i = 0; i < 100; ++i) {
    table.Learn(Mac(i), 1, PortId{i % 3u}, At(i));
    EXPECT_LE(table.size(), 8u);
  }
  EXPECT_EQ(table.size(), 8u);
  EXPECT_EQ(table.stats().learned, 100u);
  EXPECT_EQ(table.stats().evicted, 92u);
}

TEST(MacTableTest, EvictsFromBusiestPortWhenFull) {
  MacTable table(10);
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(2), 1, kPort0, At(0));
  table.Learn(Mac(3), 1, kPort1, At(0));
  // Port 2 floods new source MACs, far more than the table holds.
  for (uint16_t i = 100; i < 1100; ++i) table.Learn(Mac(i), 1, kPort2, At(1));
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort0);
  EXPECT_EQ(table.Lookup(Mac(2), 1), kPort0);
  EXPECT_EQ(table.Lookup(Mac(3), 1), kPort1);
  EXPECT_EQ(table.CountOnPort(kPort2), 7u);
  // The flood keeps only its newest entries.
  EXPECT_TRUE(table.Lookup(Mac(1099), 1).has_value());
  EXPECT_FALSE(table.Lookup(Mac(100), 1).has_value());
}

TEST(MacTableTest, EvictsLeastRecentlySeenEntryOfBusiestPort) {
  MacTable table(4);
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(2), 1, kPort0, At(1));
  table.Learn(Mac(3), 1, kPort0, At(2));
  table.Learn(Mac(4), 1, kPort1, At(3));
  table.Learn(Mac(1), 1, kPort0, At(4));  // refreshed: Mac(2) is now port 0's oldest
  const LearnOutcome outcome = table.Learn(Mac(5), 1, kPort1, At(5));
  EXPECT_EQ(outcome.kind, Kind::kLearned);
  ASSERT_TRUE(outcome.evicted.has_value());
  EXPECT_EQ(outcome.evicted->mac, Mac(2));
  EXPECT_EQ(outcome.evicted->port, kPort0);
  EXPECT_FALSE(table.Lookup(Mac(2), 1).has_value());
  EXPECT_EQ(table.stats().evicted, 1u);
}

TEST(MacTableTest, NeverEvictsStaticEntries) {
  MacTable table(3);
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort0, At(0)).ok());
  ASSERT_TRUE(table.AddStatic(Mac(2), 1, kPort0, At(0)).ok());
  for (uint16_t i = 10; i < 50; ++i) table.Learn(Mac(i), 1, kPort1, At(i));
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort0);
  EXPECT_EQ(table.Lookup(Mac(2), 1), kPort0);
  EXPECT_EQ(table.Lookup(Mac(49), 1), kPort1);
  EXPECT_EQ(table.size(), 3u);
}

TEST(MacTableTest, DoesNotLearnWhenFullOfStaticEntries) {
  MacTable table(2);
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort0, At(0)).ok());
  ASSERT_TRUE(table.AddStatic(Mac(2), 1, kPort0, At(0)).ok());
  const LearnOutcome outcome = table.Learn(Mac(3), 1, kPort1, At(0));
  EXPECT_EQ(outcome.kind, Kind::kNotLearned);
  EXPECT_FALSE(table.Lookup(Mac(3), 1).has_value());
  EXPECT_EQ(table.stats().not_learned, 1u);
  EXPECT_EQ(table.stats().learned, 0u);
}

TEST(MacTableTest, AddStaticFailsWhenFullOfStaticEntries) {
  MacTable table(2);
  ASSERT_TRUE(table.AddStatic(Mac(1), 1, kPort0, At(0)).ok());
  ASSERT_TRUE(table.AddStatic(Mac(2), 1, kPort0, At(0)).ok());
  const Status status = table.AddStatic(Mac(3), 1, kPort0, At(0));
  EXPECT_EQ(status.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "MAC table is full of static entries (2)");
  // Replacing an existing static entry needs no room.
  EXPECT_TRUE(table.AddStatic(Mac(2), 1, kPort1, At(0)).ok());
}

TEST(MacTableTest, AddStaticEvictsDynamicEntryWhenFull) {
  MacTable table(2);
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(2), 1, kPort1, At(1));
  ASSERT_TRUE(table.AddStatic(Mac(3), 1, kPort1, At(2)).ok());
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.stats().evicted, 1u);
  EXPECT_TRUE(table.Find(Mac(3), 1)->is_static);
}

TEST(MacTableTest, RemovesOneEntry) {
  MacTable table(16);
  table.Learn(Mac(1), 1, kPort0, At(0));
  ASSERT_TRUE(table.AddStatic(Mac(2), 1, kPort0, At(0)).ok());
  EXPECT_TRUE(table.Remove(Mac(1), 1));
  EXPECT_TRUE(table.Remove(Mac(2), 1));
  EXPECT_FALSE(table.Remove(Mac(1), 1));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.static_count(), 0u);
  EXPECT_EQ(table.CountOnPort(kPort0), 0u);
}

TEST(MacTableTest, RemoveMacRemovesItInEveryVlan) {
  MacTable table(16);
  table.Learn(Mac(1), 1, kPort0, At(0));
  table.Learn(Mac(1), 2, kPort1, At(0));
  ASSERT_TRUE(table.AddStatic(Mac(1), 3, kPort0, At(0)).ok());
  table.Learn(Mac(2), 1, kPort0, At(0));
  EXPECT_EQ(table.RemoveMac(Mac(1)), 3u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_TRUE(table.Lookup(Mac(2), 1).has_value());
}

class MacTableFlushTest : public ::testing::Test {
 protected:
  MacTableFlushTest() : table_(16) {
    table_.Learn(Mac(1), 1, kPort0, At(0));
    table_.Learn(Mac(2), 1, kPort0, At(0));
    table_.Learn(Mac(3), 1, kPort1, At(0));
    EXPECT_TRUE(table_.AddStatic(Mac(4), 1, kPort0, At(0)).ok());
    EXPECT_TRUE(table_.AddStatic(Mac(5), 1, kPort1, At(0)).ok());
  }
  MacTable table_;
};

TEST_F(MacTableFlushTest, FlushesAllDynamicEntries) {
  EXPECT_EQ(table_.Flush(std::nullopt, false), 3u);
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_EQ(table_.static_count(), 2u);
}

TEST_F(MacTableFlushTest, FlushesOnePortsDynamicEntries) {
  EXPECT_EQ(table_.Flush(kPort0, false), 2u);
  EXPECT_TRUE(table_.Lookup(Mac(3), 1).has_value());
  EXPECT_TRUE(table_.Lookup(Mac(4), 1).has_value());
  EXPECT_EQ(table_.CountOnPort(kPort0), 0u);
}

TEST_F(MacTableFlushTest, FlushesOnePortsStaticEntriesToo) {
  EXPECT_EQ(table_.Flush(kPort0, true), 3u);
  EXPECT_FALSE(table_.Lookup(Mac(4), 1).has_value());
  EXPECT_TRUE(table_.Lookup(Mac(5), 1).has_value());
  EXPECT_EQ(table_.static_count(), 1u);
}

TEST_F(MacTableFlushTest, FlushesEverything) {
  EXPECT_EQ(table_.Flush(std::nullopt, true), 5u);
  EXPECT_EQ(table_.size(), 0u);
  EXPECT_EQ(table_.static_count(), 0u);
  EXPECT_TRUE(table_.Entries().empty());
}

TEST_F(MacTableFlushTest, FlushOfUnknownPortRemovesNothing) {
  EXPECT_EQ(table_.Flush(PortId{42}, false), 0u);
  EXPECT_EQ(table_.Flush(PortId{42}, true), 0u);
  EXPECT_EQ(table_.size(), 5u);
}

TEST(MacTableTest, WorksWithCapacityOne) {
  MacTable table(1);
  EXPECT_EQ(table.Learn(Mac(1), 1, kPort0, At(0)).kind, Kind::kLearned);
  const LearnOutcome outcome = table.Learn(Mac(2), 1, kPort1, At(1));
  EXPECT_EQ(outcome.kind, Kind::kLearned);
  ASSERT_TRUE(outcome.evicted.has_value());
  EXPECT_EQ(outcome.evicted->mac, Mac(1));
  EXPECT_EQ(table.Lookup(Mac(2), 1), kPort1);
  EXPECT_EQ(table.size(), 1u);
  ASSERT_TRUE(table.AddStatic(Mac(3), 1, kPort0, At(2)).ok());
  EXPECT_EQ(table.Learn(Mac(4), 1, kPort0, At(3)).kind, Kind::kNotLearned);
  EXPECT_TRUE(table.Remove(Mac(3), 1));
  EXPECT_EQ(table.Learn(Mac(4), 1, kPort0, At(3)).kind, Kind::kLearned);
}

TEST(MacTableTest, TreatsCapacityZeroAsOne) {
  MacTable table(0);
  EXPECT_EQ(table.capacity(), 1u);
  EXPECT_EQ(table.Learn(Mac(1), 1, kPort0, At(0)).kind, Kind::kLearned);
}

TEST(MacTableTest, ListsEveryEntry) {
  MacTable table(16);
  table.Learn(Mac(1), 1, kPort0, At(1));
  ASSERT_TRUE(table.AddStatic(Mac(2), 5, kPort1, At(2)).ok());
  std::vector<MacEntry> entries = table.Entries();
  std::sort(entries.begin(), entries.end(),
            [](const MacEntry& a, const MacEntry& b) { return a.mac < b.mac; });
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].mac, Mac(1));
  EXPECT_EQ(entries[0].vlan, 1);
  EXPECT_FALSE(entries[0].is_static);
  EXPECT_EQ(entries[1].mac, Mac(2));
  EXPECT_EQ(entries[1].vlan, 5);
  EXPECT_EQ(entries[1].port, kPort1);
  EXPECT_TRUE(entries[1].is_static);
  EXPECT_EQ(entries[1].last_seen, At(2));
}

TEST(MacTableTest, UsesWellUnderHundredBytesPerEntry) {
  const size_t bytes = MacTable::BytesPerEntry();
  RecordProperty("bytes_per_entry", static_cast<int>(bytes));
  EXPECT_LT(bytes, 100u);
  EXPECT_GT(bytes, 0u);
}

// A straightforward model of the table (std::map, an ordered LRU per port) to check the real one
// against.
class MacTableModel {
 public:
  using Key = std::pair<MacAddress, VlanId>;

  explicit MacTableModel(size_t capacity) : capacity_(capacity) {}

  void Learn(MacAddress mac, VlanId vlan, PortId port, Time now) {
    auto it = entries_.find({mac, vlan});
    if (it != entries_.end()) {
      it->second.last_seen = now;
      if (!it->second.is_static) {
        Untouch(it->second);
        it->second.port = port;
        Touch(it->first, it->second);
      }
      return;
    }
    if (entries_.size() == capacity_ && !EvictOne()) return;
    Entry& e = entries_[{mac, vlan}] = Entry{port, false, now, 0};
    Touch({mac, vlan}, e);
  }

  bool AddStatic(MacAddress mac, VlanId vlan, PortId port, Time now) {
    auto it = entries_.find({mac, vlan});
    if (it == entries_.end()) {
      if (entries_.size() == capacity_ && !EvictOne()) return false;
    } else if (!it->second.is_static) {
      Untouch(it->second);
    }
    entries_[{mac, vlan}] = Entry{port, true, now, 0};
    return true;
  }

  void Remove(MacAddress mac, VlanId vlan) {
    auto it = entries_.find({mac, vlan});
    if (it == entries_.end()) return;
    if (!it->second.is_static) Untouch(it->second);
    entries_.erase(it);
  }

  void Expire(Time cutoff) {
    RemoveIf([&](const Entry& e) { return !e.is_static && e.last_seen <= cutoff; });
  }

  void FlushPort(PortId port) {
    RemoveIf([&](const Entry& e) { return e.port == port; });
  }

  std::optional<PortId> Lookup(MacAddress mac, VlanId vlan) const {
    auto it = entries_.find({mac, vlan});
    if (it == entries_.end()) return std::nullopt;
    return it->second.port;
  }

  size_t CountOnPort(PortId port) const {
    auto it = lru_.find(ToIndex(port));
    return it == lru_.end() ? 0 : it->second.size();
  }

  size_t size() const { return entries_.size(); }

  std::vector<std::tuple<MacAddress, VlanId, PortId, bool, Time>> Rows() const {
    std::vector<std::tuple<MacAddress, VlanId, PortId, bool, Time>> rows;
    for (const auto& [key, e] : entries_) {
      rows.emplace_back(key.first, key.second, e.port, e.is_static, e.last_seen);
    }
    return rows;
  }

 private:
  struct Entry {
    PortId port;
    bool is_static;
    Time last_seen;
    uint64_t touched;  // when it was last learned: its place in its port's LRU
  };

  void Touch(const Key& key, Entry& e) {
    e.touched = ++clock_;
    lru_[ToIndex(e.port)][e.touched] = key;
  }
  void Untouch(const Entry& e) { lru_[ToIndex(e.port)].erase(e.touched); }

  template <typename Pred>
  void RemoveIf(Pred pred) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (pred(it->second)) {
        if (!it->second.is_static) Untouch(it->second);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // The busiest port (lowest id on a tie) loses its least recently learned dynamic entry.
  bool EvictOne() {
    std::map<uint64_t, Key>* busiest = nullptr;
    for (auto& [port, lru] : lru_) {
      if (!lru.empty() && (busiest == nullptr || lru.size() > busiest->size())) busiest = &lru;
    }
    if (busiest == nullptr) return false;
    const Key victim = busiest->begin()->second;
    busiest->erase(busiest->begin());
    entries_.erase(victim);
    return true;
  }

  size_t capacity_;
  uint64_t clock_ = 0;
  std::map<Key, Entry> entries_;
  std::map<uint32_t, std::map<uint64_t, Key>> lru_;  // port -> touched -> key
};

std::vector<std::tuple<MacAddress, VlanId, PortId, bool, Time>> Rows(const MacTable& table) {
  std::vector<std::tuple<MacAddress, VlanId, PortId, bool, Time>> rows;
  for (const MacEntry& e : table.Entries()) {
    rows.emplace_back(e.mac, e.vlan, e.port, e.is_static, e.last_seen);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Runs `operations` random learns, static adds, removals, expiries and flushes against both the
// table and the model, checking that they agree. Leaves the table's counters in `stats`.
void CheckAgainstModel(size_t capacity, int operations, uint32_t seed,
                       MacTableStats* stats = nullptr) {
  SCOPED_TRACE("capacity " + std::to_string(capacity));
  constexpr int kPorts = 6;
  MacTable table(capacity);
  table.set_aging_time(std::chrono::seconds(60));
  MacTableModel model(capacity);
  std::mt19937 random(seed);
  // More distinct MACs than the table holds, with port 0 a heavy hitter so eviction is unfair
  // unless the table is fair.
  std::uniform_int_distribution<uint16_t> mac_number(0, static_cast<uint16_t>(6 * capacity - 1));
  const uint16_t narrow = static_cast<uint16_t>(std::max<size_t>(1, capacity / 6));
  std::uniform_int_distribution<int> port_number(0, kPorts - 1);
  std::uniform_int_distribution<int> vlan_number(1, 3);
  std::uniform_int_distribution<int> action(0, 999);

  for (int i = 0; i < operations; ++i) {
    const Time now = At(i / 50);
    // Phases alternate between more MACs than fit (eviction) and few MACs (the rest age out).
    const bool wide = (i / 10'000) % 2 == 0;
    const MacAddress mac = Mac(wide ? mac_number(random) : mac_number(random) % narrow);
    const VlanId vlan = static_cast<VlanId>(vlan_number(random));
    const int a = action(random);
    const PortId port{static_cast<uint32_t>(a < 400 ? 0 : port_number(random))};
    if (a < 970) {
      table.Learn(mac, vlan, port, now);
      model.Learn(mac, vlan, port, now);
    } else if (a < 980) {
      const bool ok = table.AddStatic(mac, vlan, port, now).ok();
      EXPECT_EQ(ok, model.AddStatic(mac, vlan, port, now));
    } else if (a < 995) {
      table.Remove(mac, vlan);
      model.Remove(mac, vlan);
    } else if (a < 999) {
      table.Expire(now);
      model.Expire(now - table.aging_time());
    } else {
      table.Flush(port, true);
      model.FlushPort(port);
    }
    ASSERT_LE(table.size(), capacity);
    ASSERT_EQ(table.size(), model.size()) << "after operation " << i;
    ASSERT_EQ(table.Lookup(mac, vlan), model.Lookup(mac, vlan)) << "after operation " << i;
    if (i % 5000 == 0) {
      ASSERT_EQ(Rows(table), model.Rows()) << "after operation " << i;
      for (int p = 0; p < kPorts; ++p) {
        ASSERT_EQ(table.CountOnPort(PortId{static_cast<uint32_t>(p)}),
                  model.CountOnPort(PortId{static_cast<uint32_t>(p)}));
      }
    }
  }
  EXPECT_EQ(Rows(table), model.Rows());
  if (stats != nullptr) *stats = table.stats();
}

TEST(MacTableTest, StaysWithinBoundAndAgreesWithModelUnderChurn) {
  MacTableStats stats;
  CheckAgainstModel(512, 100'000, 12345, &stats);
  // The run exercised every way an entry leaves or changes.
  EXPECT_GT(stats.evicted, 0u);
  EXPECT_GT(stats.expired, 0u);
  EXPECT_GT(stats.moved, 0u);
}

TEST(MacTableTest, SmallTablesAgreeWithModelUnderChurn) {
  for (size_t capacity : {1, 2, 3, 7, 64}) CheckAgainstModel(capacity, 20'000, 7);
}

TEST(MacTableTest, StopsLearningOnAPortAtItsLimitWithoutTouchingOthers) {
  MacTable table(100);
  table.SetPortLimit(kPort0, 3);
  for (uint32_t i = 0; i < 10; ++i) table.Learn(Mac(i), 1, kPort0, At(i));
  EXPECT_EQ(table.CountOnPort(kPort0), 3u);
  EXPECT_EQ(table.stats().port_limited, 7u);
  EXPECT_EQ(table.Learn(Mac(50), 1, kPort0, At(20)).kind, Kind::kLimited);
  // Known MACs of the limited port still refresh, and other ports learn freely.
  EXPECT_EQ(table.Learn(Mac(0), 1, kPort0, At(20)).kind, Kind::kRefreshed);
  EXPECT_EQ(table.Learn(Mac(60), 1, kPort1, At(20)).kind, Kind::kLearned);
  EXPECT_EQ(table.PortLimit(kPort0), 3u);
  table.SetPortLimit(kPort0, 0);
  EXPECT_EQ(table.Learn(Mac(50), 1, kPort0, At(21)).kind, Kind::kLearned);
}

TEST(MacTableTest, AMoveOntoAPortAtItsLimitIsRefused) {
  MacTable table(100);
  table.SetPortLimit(kPort1, 2);
  for (uint32_t i = 0; i < 5; ++i) table.Learn(Mac(i), 1, kPort0, At(0));
  for (uint32_t i = 0; i < 5; ++i) table.Learn(Mac(i), 1, kPort1, At(10));
  EXPECT_EQ(table.CountOnPort(kPort1), 2u);
  EXPECT_EQ(table.CountOnPort(kPort0), 3u);
  EXPECT_EQ(table.stats().moved, 2u);
  EXPECT_EQ(table.stats().port_limited, 3u);
  EXPECT_EQ(table.Lookup(Mac(4), 1), kPort0);
}

TEST(MacTableTest, MovesOnlyAfterTheHoldTimeAndCountsMoves) {
  MacTable table(16);
  table.set_move_hold(std::chrono::seconds(1));
  table.Learn(Mac(1), 1, kPort0, At(0));
  LearnOutcome damped = table.Learn(Mac(1), 1, kPort1, At(0));
  EXPECT_EQ(damped.kind, Kind::kDamped);
  EXPECT_EQ(damped.previous_port, kPort0);
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort0);
  EXPECT_EQ(table.Find(Mac(1), 1)->last_seen, At(0));  // the other port does not refresh it
  EXPECT_EQ(table.Learn(Mac(1), 1, kPort1, At(1)).kind, Kind::kMoved);
  EXPECT_EQ(table.Lookup(Mac(1), 1), kPort1);
  EXPECT_EQ(table.Learn(Mac(1), 1, kPort0, At(3)).kind, Kind::kMoved);
  EXPECT_EQ(table.Find(Mac(1), 1)->moves, 2);
  EXPECT_EQ(table.stats().move_damped, 1u);
  EXPECT_EQ(table.stats().moved, 2u);
}

}  // namespace
}  // namespace switchd
