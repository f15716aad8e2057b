#include "switchd/core/arp_table.h"

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/helpers/frames.h"

namespace switchd {
namespace {

using test::At;
using test::Ip;
using test::Mac;
using Learn = ArpTable::LearnResult;

constexpr PortId kPort0{0};
constexpr PortId kPort1{1};
constexpr Duration kAging = std::chrono::seconds(300);

TEST(ArpTableTest, LearnsNewBinding) {
  ArpTable table(16);
  EXPECT_EQ(table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(3)), Learn::kLearned);
  const auto binding = table.Lookup(Ip("198.18.0.1"), 1);
  ASSERT_TRUE(binding.has_value());
  EXPECT_EQ(binding->ip, Ip("198.18.0.1"));
  EXPECT_EQ(binding->vlan, 1);
  EXPECT_EQ(binding->mac, Mac(1));
  EXPECT_EQ(binding->port, kPort0);
  EXPECT_FALSE(binding->is_static);
  EXPECT_EQ(binding->last_seen, At(3));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.stats().learned, 1u);
}

TEST(ArpTableTest, KeepsSameIpInDifferentVlansApart) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  table.Learn(Ip("198.18.0.1"), 2, Mac(2), kPort1, At(0));
  EXPECT_EQ(table.Lookup(Ip("198.18.0.1"), 1)->mac, Mac(1));
  EXPECT_EQ(table.Lookup(Ip("198.18.0.1"), 2)->mac, Mac(2));
  EXPECT_FALSE(table.Lookup(Ip("198.18.0.1"), 3).has_value());
  EXPECT_FALSE(table.Lookup(Ip("198.18.0.2"), 1).has_value());
}

TEST(ArpTableTest, RefreshesBindingSeenAgain) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  EXPECT_EQ(table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort1, At(9)), Learn::kRefreshed);
  const auto binding = table.Lookup(Ip("198.18.0.1"), 1);
  EXPECT_EQ(binding->last_seen, At(9));
  EXPECT_EQ(binding->port, kPort1);
  EXPECT_EQ(table.stats().learned, 1u);
  EXPECT_EQ(table.stats().changed, 0u);
}

TEST(ArpTableTest, ChangesBindingToNewMac) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  EXPECT_EQ(table.Learn(Ip("198.18.0.1"), 1, Mac(2), kPort0, At(1)), Learn::kChanged);
  EXPECT_EQ(table.Lookup(Ip("198.18.0.1"), 1)->mac, Mac(2));
  EXPECT_EQ(table.stats().changed, 1u);
  EXPECT_EQ(table.size(), 1u);
}

TEST(ArpTableTest, AgesOutDynamicBindings) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  table.Learn(Ip("198.18.0.2"), 1, Mac(2), kPort0, At(50));
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(100));  // refreshed
  EXPECT_EQ(table.Expire(At(349), kAging), 0u);
  std::vector<Ipv4Address> expired;
  EXPECT_EQ(table.Expire(At(350), kAging, [&](const ArpBinding& b) { expired.push_back(b.ip); }),
            1u);
  EXPECT_EQ(expired, std::vector<Ipv4Address>{Ip("198.18.0.2")});
  EXPECT_TRUE(table.Lookup(Ip("198.18.0.1"), 1).has_value());
  EXPECT_EQ(table.Expire(At(400), kAging), 1u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.stats().expired, 2u);
}

TEST(ArpTableTest, StaticBindingsNeverAgeAndAreNotReplacedByLearning) {
  ArpTable table(16);
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.1"), 1, Mac(1), At(0)).ok());
  EXPECT_EQ(table.Learn(Ip("198.18.0.1"), 1, Mac(2), kPort1, At(1)), Learn::kStatic);
  EXPECT_EQ(table.Expire(At(1'000'000), kAging), 0u);
  const auto binding = table.Lookup(Ip("198.18.0.1"), 1);
  ASSERT_TRUE(binding.has_value());
  EXPECT_TRUE(binding->is_static);
  EXPECT_EQ(binding->mac, Mac(1));
  EXPECT_EQ(binding->port, kNoPort);
  EXPECT_EQ(table.static_count(), 1u);
}

TEST(ArpTableTest, StaticBindingReplacesDynamicOne) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.1"), 1, Mac(2), At(1)).ok());
  const auto binding = table.Lookup(Ip("198.18.0.1"), 1);
  EXPECT_TRUE(binding->is_static);
  EXPECT_EQ(binding->mac, Mac(2));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.static_count(), 1u);
  EXPECT_EQ(table.Expire(At(1000), kAging), 0u);
  EXPECT_EQ(table.RemovePort(kPort0), 0u);
}

TEST(ArpTableTest, AddStaticRejectsBadVlan) {
  ArpTable table(16);
  EXPECT_EQ(table.AddStatic(Ip("198.18.0.1"), 0, Mac(1), At(0)).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(table.AddStatic(Ip("198.18.0.1"), 4095, Mac(1), At(0)).code(),
            ErrorCode::kInvalidArgument);
}

TEST(ArpTableTest, EvictsLeastRecentlyRefreshedBindingWhenFull) {
  ArpTable table(3);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  table.Learn(Ip("198.18.0.2"), 1, Mac(2), kPort0, At(1));
  table.Learn(Ip("198.18.0.3"), 1, Mac(3), kPort1, At(2));
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(3));  // refreshed
  EXPECT_EQ(table.Learn(Ip("198.18.0.4"), 1, Mac(4), kPort1, At(4)), Learn::kLearned);
  EXPECT_FALSE(table.Lookup(Ip("198.18.0.2"), 1).has_value());
  EXPECT_TRUE(table.Lookup(Ip("198.18.0.1"), 1).has_value());
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.stats().evicted, 1u);
}

TEST(ArpTableTest, NeverEvictsStaticBindings) {
  ArpTable table(2);
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.1"), 1, Mac(1), At(0)).ok());
  for (uint32_t i = 10; i < 30; ++i) {
    table.Learn(Ipv4Address(0xc6120000 + i), 1, Mac(static_cast<uint16_t>(i)), kPort0, At(i));
  }
  EXPECT_TRUE(table.Lookup(Ip("198.18.0.1"), 1).has_value());
  EXPECT_EQ(table.size(), 2u);
}

TEST(ArpTableTest, DoesNotLearnWhenFullOfStaticBindings) {
  ArpTable table(1);
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.1"), 1, Mac(1), At(0)).ok());
  EXPECT_EQ(table.Learn(Ip("198.18.0.2"), 1, Mac(2), kPort0, At(0)), Learn::kNotLearned);
  EXPECT_EQ(table.stats().not_learned, 1u);
  const Status status = table.AddStatic(Ip("198.18.0.3"), 1, Mac(3), At(0));
  EXPECT_EQ(status.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "ARP table is full of static entries (1)");
}

TEST(ArpTableTest, AddStaticEvictsDynamicBindingWhenFull) {
  ArpTable table(1);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.2"), 1, Mac(2), At(0)).ok());
  EXPECT_FALSE(table.Lookup(Ip("198.18.0.1"), 1).has_value());
  EXPECT_EQ(table.stats().evicted, 1u);
}

TEST(ArpTableTest, RemovesBindings) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  table.Learn(Ip("198.18.0.1"), 2, Mac(1), kPort0, At(0));
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.1"), 3, Mac(1), At(0)).ok());
  table.Learn(Ip("198.18.0.2"), 1, Mac(2), kPort0, At(0));
  EXPECT_TRUE(table.Remove(Ip("198.18.0.2"), 1));
  EXPECT_FALSE(table.Remove(Ip("198.18.0.2"), 1));
  EXPECT_EQ(table.RemoveIp(Ip("198.18.0.1")), 3u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.static_count(), 0u);
}

TEST(ArpTableTest, RemovePortRemovesOnlyThatPortsDynamicBindings) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  table.Learn(Ip("198.18.0.2"), 1, Mac(2), kPort1, At(1));
  table.Learn(Ip("198.18.0.3"), 1, Mac(3), kPort0, At(2));
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.4"), 1, Mac(4), At(0)).ok());
  EXPECT_EQ(table.RemovePort(kPort0), 2u);
  EXPECT_TRUE(table.Lookup(Ip("198.18.0.2"), 1).has_value());
  EXPECT_TRUE(table.Lookup(Ip("198.18.0.4"), 1).has_value());
  EXPECT_EQ(table.size(), 2u);
  // The LRU stays intact: the remaining dynamic binding still ages.
  EXPECT_EQ(table.Expire(At(1000), kAging), 1u);
}

TEST(ArpTableTest, ListsEveryBinding) {
  ArpTable table(16);
  table.Learn(Ip("198.18.0.1"), 1, Mac(1), kPort0, At(0));
  ASSERT_TRUE(table.AddStatic(Ip("198.18.0.2"), 1, Mac(2), At(0)).ok());
  std::vector<ArpBinding> entries = table.Entries();
  std::sort(entries.begin(), entries.end(),
            [](const ArpBinding& a, const ArpBinding& b) { return a.ip < b.ip; });
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_FALSE(entries[0].is_static);
  EXPECT_TRUE(entries[1].is_static);
  EXPECT_EQ(table.capacity(), 16u);
}

TEST(ArpTableTest, StaysWithinBoundAndConsistentUnderChurn) {
  constexpr size_t kCapacity = 256;
  ArpTable table(kCapacity);
  // The model: (ip, vlan) -> mac, for whatever the table still holds. Every binding the table
  // holds must match the last one learned for its key.
  std::map<std::pair<uint32_t, VlanId>, MacAddress> last_learned;
  std::mt19937 random(99);
  std::uniform_int_distribution<uint32_t> host(1, 1000);
  std::uniform_int_distribution<int> vlan(1, 2);
  std::uniform_int_distribution<uint16_t> mac(1, 50);
  for (int i = 0; i < 50'000; ++i) {
    const Ipv4Address ip(0x0a000000 + host(random));
    const VlanId v = static_cast<VlanId>(vlan(random));
    const MacAddress m = Mac(mac(random));
    if (i % 10 == 9) {
      table.Remove(ip, v);
      last_learned.erase({ip.value(), v});
    } else {
      table.Learn(ip, v, m, PortId{static_cast<uint32_t>(i % 4)}, At(i / 100));
      last_learned[{ip.value(), v}] = m;
    }
    if (i % 1000 == 0) table.Expire(At(i / 100), std::chrono::seconds(60));
    ASSERT_LE(table.size(), kCapacity);
  }
  const std::vector<ArpBinding> entries = table.Entries();
  EXPECT_EQ(entries.size(), table.size());
  for (const ArpBinding& b : entries) {
    auto it = last_learned.find({b.ip.value(), b.vlan});
    ASSERT_NE(it, last_learned.end()) << b.ip.ToString();
    EXPECT_EQ(b.mac, it->second);
    EXPECT_EQ(table.Lookup(b.ip, b.vlan)->mac, b.mac);
  }
}

}  // namespace
}  // namespace switchd
