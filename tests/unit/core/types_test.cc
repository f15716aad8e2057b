#include "switchd/core/types.h"

#include <array>
#include <cstddef>

#include <gtest/gtest.h>

namespace switchd {
namespace {

TEST(MacAddressTest, ParsesLowerAndUpperCase) {
  auto mac = MacAddress::Parse("aa:BB:0c:Dd:ee:0F");
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(*mac, MacAddress({0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0x0f}));
}

TEST(MacAddressTest, PrintsLowerCaseWithLeadingZeros) {
  EXPECT_EQ(MacAddress({0x0a, 0xbb, 0x00, 0x01, 0xee, 0xff}).ToString(), "0a:bb:00:01:ee:ff");
  EXPECT_EQ(MacAddress().ToString(), "00:00:00:00:00:00");
  EXPECT_EQ(MacAddress::Broadcast().ToString(), "ff:ff:ff:ff:ff:ff");
}

TEST(MacAddressTest, RoundTripsThroughText) {
  const MacAddress mac({0x02, 0x42, 0xac, 0x11, 0x00, 0x02});
  EXPECT_EQ(MacAddress::Parse(mac.ToString()), mac);
}

TEST(MacAddressTest, RejectsAnythingButTheCanonicalForm) {
  for (const char* text :
       {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:", "aa:bb:cc:dd:ee:ff:00", "aa-bb-cc-dd-ee-ff",
        "aabb.ccdd.eeff", "a:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:f", "zz:bb:cc:dd:ee:ff",
        "aa:bb:cc:dd:ee:fg", " aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff ", "aa:bb:cc:dd:ee:+f",
        "aabbccddeeff00000"}) {
    EXPECT_FALSE(MacAddress::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(MacAddressTest, ClassifiesMulticastBroadcastAndZero) {
  EXPECT_TRUE(MacAddress::Broadcast().IsMulticast());
  EXPECT_TRUE(MacAddress::Broadcast().IsBroadcast());
  EXPECT_TRUE(MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}).IsMulticast());
  EXPECT_FALSE(MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}).IsBroadcast());
  EXPECT_FALSE(MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01}).IsMulticast());
  EXPECT_TRUE(MacAddress().IsZero());
  EXPECT_FALSE(MacAddress({0, 0, 0, 0, 0, 1}).IsZero());
}

TEST(MacAddressTest, ConvertsToAndFromNetworkOrderBytes) {
  const std::array<std::byte, 6> wire = {std::byte{0x02}, std::byte{0x01}, std::byte{0x02},
                                         std::byte{0x03}, std::byte{0x04}, std::byte{0x05}};
  const MacAddress mac = MacAddress::FromBytes(wire);
  EXPECT_EQ(mac.ToString(), "02:01:02:03:04:05");
  EXPECT_EQ(mac.ToU64(), 0x020102030405u);
  std::array<std::byte, 6> out{};
  mac.CopyTo(out);
  EXPECT_EQ(out, wire);
}

TEST(MacAddressTest, OrdersLikeItsBytes) {
  EXPECT_LT(MacAddress({0, 0, 0, 0, 0, 1}), MacAddress({0, 0, 0, 0, 1, 0}));
  EXPECT_LT(MacAddress({0, 0, 0, 0, 0, 0xff}), MacAddress({1, 0, 0, 0, 0, 0}));
}

TEST(Ipv4AddressTest, ParsesDottedQuad) {
  auto ip = Ipv4Address::Parse("198.18.0.1");
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->value(), 0xc6120001u);
  EXPECT_EQ(Ipv4Address::Parse("0.0.0.0"), Ipv4Address(0));
  EXPECT_EQ(Ipv4Address::Parse("255.255.255.255"), Ipv4Address(0xffffffff));
}

TEST(Ipv4AddressTest, PrintsDottedQuad) {
  EXPECT_EQ(Ipv4Address(0xc6120002).ToString(), "198.18.0.2");
  EXPECT_EQ(Ipv4Address().ToString(), "0.0.0.0");
  EXPECT_EQ(Ipv4Address(0xffffffff).ToString(), "255.255.255.255");
}

TEST(Ipv4AddressTest, RejectsMalformedText) {
  for (const char* text :
       {"",          "1",         "1.2.3",    "1.2.3.4.5", "1.2.3.",     ".1.2.3",   "1..2.3",
        "256.0.0.1", "1.2.3.256", "01.2.3.4", "1.2.3.04",  "1.2.3.0004", "1.2.3.4 ", " 1.2.3.4",
        "1.2.3.a",   "1.2.3.-4",  "1.2.3.+4", "1,2,3,4",   "1.2.3.1000", "1.2.3.4x"}) {
    EXPECT_FALSE(Ipv4Address::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(Ipv4AddressTest, ConvertsToAndFromNetworkOrderBytes) {
  const std::array<std::byte, 4> wire = {std::byte{198}, std::byte{18}, std::byte{0}, std::byte{7}};
  const Ipv4Address ip = Ipv4Address::FromBytes(wire);
  EXPECT_EQ(ip, Ipv4Address(0xc6120007));
  std::array<std::byte, 4> out{};
  ip.CopyTo(out);
  EXPECT_EQ(out, wire);
  EXPECT_TRUE(Ipv4Address().IsZero());
  EXPECT_FALSE(ip.IsZero());
}

}  // namespace
}  // namespace switchd
