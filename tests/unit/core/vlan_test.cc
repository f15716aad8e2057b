// VlanSet (the VLAN lists of trunks: parsing and canonical text) and PortVlan (which VLAN an
// arriving frame belongs to, and how a VLAN leaves a port).
#include "switchd/core/vlan.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace switchd {
namespace {

// The members of `set`, ascending.
std::vector<VlanId> Members(const VlanSet& set) {
  std::vector<VlanId> members;
  for (unsigned vlan = 0; vlan <= 4095; ++vlan) {
    if (set.Contains(static_cast<VlanId>(vlan))) members.push_back(static_cast<VlanId>(vlan));
  }
  return members;
}

VlanSet Set(const char* text) {
  const std::optional<VlanSet> set = VlanSet::Parse(text);
  EXPECT_TRUE(set.has_value()) << "'" << text << "' did not parse";
  return set.value_or(VlanSet());
}

// --- VlanSet::Parse --------------------------------------------------------------------------

TEST(VlanSetTest, ParsesOneVlan) {
  EXPECT_EQ(Members(Set("10")), std::vector<VlanId>{10});
  EXPECT_EQ(Members(Set("1")), std::vector<VlanId>{1});
  EXPECT_EQ(Members(Set("4094")), std::vector<VlanId>{4094});
}

TEST(VlanSetTest, ParsesAList) { EXPECT_EQ(Members(Set("10,20")), (std::vector<VlanId>{10, 20})); }

TEST(VlanSetTest, ParsesARangeWithBothEnds) {
  const VlanSet set = Set("30-40");
  EXPECT_EQ(set.size(), 11u);
  EXPECT_FALSE(set.Contains(29));
  EXPECT_TRUE(set.Contains(30));
  EXPECT_TRUE(set.Contains(40));
  EXPECT_FALSE(set.Contains(41));
  EXPECT_EQ(Members(Set("7-7")), std::vector<VlanId>{7});
  EXPECT_EQ(Set("1-4094").size(), 4094u);
}

TEST(VlanSetTest, ParsesListsOfVlansAndRanges) {
  EXPECT_EQ(Members(Set("1,5-7,100")), (std::vector<VlanId>{1, 5, 6, 7, 100}));
}

TEST(VlanSetTest, ParsesUnsortedAndOverlappingLists) {
  EXPECT_EQ(Members(Set("100,5-7,1")), (std::vector<VlanId>{1, 5, 6, 7, 100}));
  EXPECT_EQ(Members(Set("5-8,6-10,7,10")), (std::vector<VlanId>{5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(Set("3,3,3").size(), 1u);
  EXPECT_EQ(Set("100,5-7,1"), Set("1,5-7,100"));
}

TEST(VlanSetTest, RejectsAnythingElse) {
  for (const char* text : {"",      "0",   "4095",   "65536", "99999999999", "9-3",   " 10", "10 ",
                           "10,",   ",10", "10,,20", "a",     "10a",         "-",     "-5",  "5-",
                           "1-2-3", "0-5", "5-4095", "+10",   "0x10",        "10;20", "1, 2"}) {
    EXPECT_FALSE(VlanSet::Parse(text).has_value()) << "'" << text << "' parsed";
  }
}

// --- VlanSet::ToString -----------------------------------------------------------------------

TEST(VlanSetTest, WritesCanonicalText) {
  EXPECT_EQ(Set("1,5-7,100").ToString(), "1,5-7,100");
  EXPECT_EQ(Set("100,7,6,5,1").ToString(), "1,5-7,100");
  EXPECT_EQ(Set("10").ToString(), "10");
  EXPECT_EQ(Set("1-4094").ToString(), "1-4094");
  EXPECT_EQ(Set("4093,4094").ToString(), "4093,4094");
  EXPECT_EQ(Set("1,2,4094").ToString(), "1,2,4094");
  EXPECT_EQ(Set("5-8,6-10").ToString(), "5-10");
}

TEST(VlanSetTest, WritesRunsOfTwoAsTwoVlans) {
  EXPECT_EQ(Set("5-6").ToString(), "5,6");
  EXPECT_EQ(Set("1,2,10-12,20,21").ToString(), "1,2,10-12,20,21");
}

TEST(VlanSetTest, EmptySetWritesNothing) {
  EXPECT_EQ(VlanSet().ToString(), "");
  EXPECT_TRUE(VlanSet().empty());
  EXPECT_EQ(VlanSet().size(), 0u);
}

TEST(VlanSetTest, CanonicalTextParsesBackToTheSameSet) {
  for (const char* text : {"1", "1,5-7,100", "2,3", "1-4094", "4094", "1,3,5-6,8-10,4000-4094"}) {
    const VlanSet set = Set(text);
    EXPECT_EQ(Set(set.ToString().c_str()), set) << text;
  }
}

// --- VlanSet::Add and Contains ---------------------------------------------------------------

TEST(VlanSetTest, AddsOnlyUsableVlans) {
  VlanSet set;
  set.Add(0);
  set.Add(4095);
  set.Add(65535);
  EXPECT_TRUE(set.empty());
  set.Add(1);
  set.Add(4094);
  set.Add(1);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.ToString(), "1,4094");
  EXPECT_FALSE(set.Contains(0));
  EXPECT_FALSE(set.Contains(4095));
  EXPECT_FALSE(set.Contains(65535));
}

// --- PortVlan --------------------------------------------------------------------------------

TEST(PortVlanTest, EveryPortIsAnAccessPortInVlan1ByDefault) {
  const PortVlan vlan;
  EXPECT_EQ(vlan.mode, VlanMode::kAccess);
  EXPECT_EQ(vlan.access, kDefaultVlan);
  EXPECT_EQ(vlan, PortVlan::Access(1));
  EXPECT_EQ(vlan.Admit(0), std::optional<VlanId>(1));
}

TEST(PortVlanTest, AccessPortAdmitsUntaggedAndPriorityTaggedFramesOnly) {
  const PortVlan vlan = PortVlan::Access(10);
  // 0 stands for both an untagged and a priority-tagged frame.
  EXPECT_EQ(vlan.Admit(0), std::optional<VlanId>(10));
  for (VlanId vid : {1, 10, 20, 4094, 4095}) {
    EXPECT_EQ(vlan.Admit(vid), std::nullopt) << "VID " << vid;
  }
}

TEST(PortVlanTest, AccessPortCarriesItsVlanOnlyAndAlwaysUntagged) {
  const PortVlan vlan = PortVlan::Access(10);
  EXPECT_TRUE(vlan.Carries(10));
  EXPECT_FALSE(vlan.Carries(1));
  EXPECT_FALSE(vlan.Carries(11));
  EXPECT_FALSE(vlan.Carries(0));
  EXPECT_TRUE(vlan.Untagged(10));
}

TEST(PortVlanTest, TrunkAdmitsTaggedFramesOfItsVlansOnly) {
  const PortVlan vlan = PortVlan::Trunk(Set("10,20-22"));
  EXPECT_EQ(vlan.Admit(10), std::optional<VlanId>(10));
  EXPECT_EQ(vlan.Admit(21), std::optional<VlanId>(21));
  for (VlanId vid : {1, 11, 23, 4094, 4095}) {
    EXPECT_EQ(vlan.Admit(vid), std::nullopt) << "VID " << vid;
  }
}

TEST(PortVlanTest, TrunkWithoutNativeVlanDropsUntaggedFrames) {
  const PortVlan vlan = PortVlan::Trunk(Set("10"));
  EXPECT_EQ(vlan.native, 0);
  EXPECT_EQ(vlan.Admit(0), std::nullopt);
  EXPECT_FALSE(vlan.Carries(1));
}

TEST(PortVlanTest, TrunkPutsUntaggedFramesInItsNativeVlan) {
  const PortVlan vlan = PortVlan::Trunk(Set("10,20"), 5);
  EXPECT_EQ(vlan.Admit(0), std::optional<VlanId>(5));
  // A frame tagged with the native VLAN is in it too.
  EXPECT_EQ(vlan.Admit(5), std::optional<VlanId>(5));
  EXPECT_EQ(vlan.Admit(6), std::nullopt);
}

TEST(PortVlanTest, TrunkCarriesItsVlansTaggedAndItsNativeVlanUntagged) {
  const PortVlan vlan = PortVlan::Trunk(Set("10,20"), 5);
  EXPECT_TRUE(vlan.Carries(5));
  EXPECT_TRUE(vlan.Carries(10));
  EXPECT_TRUE(vlan.Carries(20));
  EXPECT_FALSE(vlan.Carries(1));
  EXPECT_FALSE(vlan.Carries(15));
  EXPECT_TRUE(vlan.Untagged(5));
  EXPECT_FALSE(vlan.Untagged(10));
  EXPECT_FALSE(vlan.Untagged(20));
}

TEST(PortVlanTest, NativeVlanAlsoListedAsTaggedLeavesUntagged) {
  const PortVlan vlan = PortVlan::Trunk(Set("5,10"), 5);
  EXPECT_TRUE(vlan.Untagged(5));
  EXPECT_EQ(vlan.Admit(0), std::optional<VlanId>(5));
  EXPECT_EQ(vlan.Admit(5), std::optional<VlanId>(5));
}

TEST(PortVlanTest, TrunkWithOnlyANativeVlanCarriesItUntagged) {
  const PortVlan vlan = PortVlan::Trunk(VlanSet(), 7);
  EXPECT_EQ(vlan.Admit(0), std::optional<VlanId>(7));
  EXPECT_TRUE(vlan.Carries(7));
  EXPECT_TRUE(vlan.Untagged(7));
  EXPECT_FALSE(vlan.Carries(8));
}

TEST(PortVlanTest, ComparesEveryField) {
  EXPECT_EQ(PortVlan::Access(10), PortVlan::Access(10));
  EXPECT_NE(PortVlan::Access(10), PortVlan::Access(20));
  EXPECT_NE(PortVlan::Trunk(Set("10")), PortVlan::Trunk(Set("10"), 1));
  EXPECT_NE(PortVlan::Trunk(Set("10")), PortVlan::Trunk(Set("10,11")));
  EXPECT_EQ(PortVlan::Trunk(Set("10,11")), PortVlan::Trunk(Set("11,10")));
  EXPECT_NE(PortVlan::Access(1), PortVlan::Trunk(VlanSet(), 1));
}

}  // namespace
}  // namespace switchd
