#include "switchd/core/vxlan.h"

#include <vector>

#include <gtest/gtest.h>

#include "tests/helpers/frames.h"

namespace switchd {
namespace {

using test::Bytes;
using test::Ip;
using test::Mac;

Bytes Packet(uint8_t flags, uint32_t vni, size_t inner_size) {
  Bytes packet = {std::byte{flags},     std::byte{0},        std::byte{0},   std::byte{0},
                  std::byte(vni >> 16), std::byte(vni >> 8), std::byte(vni), std::byte{0}};
  for (size_t i = 0; i < inner_size; ++i) packet.push_back(std::byte(i));
  return packet;
}

TEST(VxlanTest, HeaderIsTheIFlagAndTheVni) {
  const auto header = VxlanHeader(0x123456);
  EXPECT_EQ(Bytes(header.begin(), header.end()), Packet(0x08, 0x123456, 0));
}

TEST(VxlanTest, ParsesAWellFormedPacketForItsVni) {
  const Bytes packet = Packet(0x08, 42, 60);
  VxlanError error = VxlanError::kShort;
  const std::span<const std::byte> inner = ParseVxlan(packet, 42, error);
  EXPECT_EQ(error, VxlanError::kNone);
  ASSERT_EQ(inner.size(), 60u);
  EXPECT_EQ(inner.data(), packet.data() + 8);
}

TEST(VxlanTest, RefusesShortPacketsWrongFlagsAndOtherVnis) {
  VxlanError error = VxlanError::kNone;
  EXPECT_TRUE(ParseVxlan(Packet(0x08, 42, 13), 42, error).empty());
  EXPECT_EQ(error, VxlanError::kShort);
  EXPECT_TRUE(ParseVxlan(Bytes(3, std::byte{0x08}), 42, error).empty());
  EXPECT_EQ(error, VxlanError::kShort);
  EXPECT_TRUE(ParseVxlan(Packet(0x00, 42, 60), 42, error).empty());  // no I flag
  EXPECT_EQ(error, VxlanError::kFlags);
  EXPECT_TRUE(ParseVxlan(Packet(0x0c, 42, 60), 42, error).empty());  // a reserved flag
  EXPECT_EQ(error, VxlanError::kFlags);
  EXPECT_TRUE(ParseVxlan(Packet(0x08, 43, 60), 42, error).empty());
  EXPECT_EQ(error, VxlanError::kVni);
}

TEST(VxlanTest, CacheRemembersTheLastRemoteOfEachMac) {
  VtepCache cache;
  EXPECT_FALSE(cache.Lookup(Mac(1)));
  cache.Learn(Mac(1), Ip("198.19.0.2"));
  cache.Learn(Mac(2), Ip("198.19.0.3"));
  EXPECT_EQ(cache.Lookup(Mac(1)), Ip("198.19.0.2"));
  cache.Learn(Mac(1), Ip("198.19.0.4"));  // moved to another site
  EXPECT_EQ(cache.Lookup(Mac(1)), Ip("198.19.0.4"));
  cache.Forget(Ip("198.19.0.4"));
  EXPECT_FALSE(cache.Lookup(Mac(1)));
  EXPECT_EQ(cache.Lookup(Mac(2)), Ip("198.19.0.3"));
}

TEST(VxlanTest, CacheNeverConfusesTwoMacsThatShareASlot) {
  VtepCache cache;
  // More MACs than slots: some collide; a lookup is right or a miss, never another MAC's remote.
  for (uint32_t i = 0; i < 3 * VtepCache::kSlots; ++i) {
    cache.Learn(Mac(0x10000 + i), Ipv4Address(0xc6130000 + i));
  }
  size_t hits = 0;
  for (uint32_t i = 0; i < 3 * VtepCache::kSlots; ++i) {
    if (std::optional<Ipv4Address> remote = cache.Lookup(Mac(0x10000 + i))) {
      EXPECT_EQ(*remote, Ipv4Address(0xc6130000 + i));
      ++hits;
    }
  }
  EXPECT_GT(hits, VtepCache::kSlots / 2);
}

}  // namespace
}  // namespace switchd
