#include "switchd/core/frame.h"

#include <array>
#include <cstddef>

#include <gtest/gtest.h>

#include "tests/helpers/frames.h"

namespace switchd {
namespace {

using test::Bytes;
using test::Hex;
using test::Ip;
using test::Mac;
using test::MakeArp;
using test::MakeArpRequest;
using test::MakeEthernet;
using test::Truncated;

constexpr size_t kArpOffset = kEthernetHeaderSize;  // where the ARP payload starts, untagged

TEST(ParseEthernetTest, ReadsAddressesAndEthertype) {
  const Bytes frame =
      Hex("ff ff ff ff ff ff  02 00 00 00 00 01  08 00"
          "45 00 00 14");
  const auto eth = ParseEthernet(frame);
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->dst, MacAddress::Broadcast());
  EXPECT_EQ(eth->src, Mac(1));
  EXPECT_EQ(eth->ethertype, kEtherTypeIpv4);
  EXPECT_FALSE(eth->vlan_tci.has_value());
  EXPECT_EQ(eth->vid(), 0);
  EXPECT_EQ(eth->header_size, 14u);
  ASSERT_EQ(eth->payload.size(), 4u);
  EXPECT_EQ(eth->payload.data(), frame.data() + 14);
}

TEST(ParseEthernetTest, AcceptsHeaderWithNoPayload) {
  const auto eth = ParseEthernet(MakeEthernet(Mac(2), Mac(1), 0x88b5));
  ASSERT_TRUE(eth.has_value());
  EXPECT_TRUE(eth->payload.empty());
}

TEST(ParseEthernetTest, RejectsRunts) {
  const Bytes frame = MakeEthernet(Mac(2), Mac(1), kEtherTypeIpv4);
  for (size_t size = 0; size < kEthernetHeaderSize; ++size) {
    EXPECT_FALSE(ParseEthernet(Truncated(frame, size)).has_value()) << size << " bytes";
  }
}

TEST(ParseEthernetTest, ReadsOne8021QTag) {
  const Bytes frame = MakeEthernet(Mac(2), Mac(1), kEtherTypeArp, Hex("aa bb"), 0xa00a);
  const auto eth = ParseEthernet(frame);
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->vlan_tci, 0xa00a);
  EXPECT_EQ(eth->vid(), 10);
  EXPECT_EQ(eth->ethertype, kEtherTypeArp);
  EXPECT_EQ(eth->header_size, 18u);
  EXPECT_EQ(eth->payload.size(), 2u);
}

TEST(ParseEthernetTest, ReadsPriorityTagAsVidZero) {
  const auto eth = ParseEthernet(MakeEthernet(Mac(2), Mac(1), kEtherTypeIpv4, {}, 0xe000));
  ASSERT_TRUE(eth.has_value());
  ASSERT_TRUE(eth->vlan_tci.has_value());
  EXPECT_EQ(eth->vid(), 0);
}

TEST(ParseEthernetTest, RejectsTruncatedTag) {
  const Bytes frame = MakeEthernet(Mac(2), Mac(1), kEtherTypeIpv4, {}, 0x0005);
  ASSERT_EQ(frame.size(), 18u);
  for (size_t size = 14; size < 18; ++size) {
    EXPECT_FALSE(ParseEthernet(Truncated(frame, size)).has_value()) << size << " bytes";
  }
  EXPECT_TRUE(ParseEthernet(frame).has_value());
}

TEST(ParseEthernetTest, LeavesQinQOuterTagAsEthertype) {
  const auto eth = ParseEthernet(MakeEthernet(Mac(2), Mac(1), kEtherTypeQinQ, Hex("00 0a 81 00")));
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->ethertype, kEtherTypeQinQ);
  EXPECT_FALSE(eth->vlan_tci.has_value());
  EXPECT_EQ(eth->payload.size(), 4u);
}

TEST(ParseEthernetTest, NeverReadsPastTheSpan) {
  // A tagged header in a larger buffer, viewed through spans that stop short: the bytes past the
  // span say "valid", so reading them would turn a failure into a success.
  const Bytes frame = MakeEthernet(Mac(2), Mac(1), kEtherTypeArp, {}, 0x0001);
  for (size_t size = 0; size < frame.size(); ++size) {
    EXPECT_FALSE(ParseEthernet(std::span(frame).first(size)).has_value()) << size << " bytes";
  }
}

ArpPacket SampleArp() {
  return ArpPacket{ArpOp::kRequest, Mac(1), Ip("198.18.0.1"), MacAddress(), Ip("198.18.0.2")};
}

std::span<const std::byte> ArpPayload(const Bytes& frame) {
  return std::span(frame).subspan(kArpOffset);
}

TEST(ParseArpTest, ReadsRequest) {
  const Bytes frame = MakeArpRequest(Mac(1), Ip("198.18.0.1"), Ip("198.18.0.2"));
  const auto arp = ParseArp(ArpPayload(frame));
  ASSERT_TRUE(arp.has_value());
  EXPECT_EQ(arp->op, ArpOp::kRequest);
  EXPECT_EQ(arp->sender_mac, Mac(1));
  EXPECT_EQ(arp->sender_ip, Ip("198.18.0.1"));
  EXPECT_EQ(arp->target_mac, MacAddress());
  EXPECT_EQ(arp->target_ip, Ip("198.18.0.2"));
  EXPECT_FALSE(arp->IsGratuitous());
}

TEST(ParseArpTest, ReadsWireBytes) {
  // A reply captured by hand: 198.18.0.2 is at 02:00:00:00:00:02, to 198.18.0.1.
  const Bytes payload =
      Hex("0001 0800 06 04 0002"
          "02 00 00 00 00 02  c6 12 00 02"
          "02 00 00 00 00 01  c6 12 00 01");
  const auto arp = ParseArp(payload);
  ASSERT_TRUE(arp.has_value());
  EXPECT_EQ(arp->op, ArpOp::kReply);
  EXPECT_EQ(arp->sender_mac, Mac(2));
  EXPECT_EQ(arp->sender_ip, Ipv4Address(0xc6120002));
  EXPECT_EQ(arp->target_mac, Mac(1));
  EXPECT_EQ(arp->target_ip, Ipv4Address(0xc6120001));
}

TEST(ParseArpTest, IgnoresEthernetPadding) {
  Bytes frame = MakeArpRequest(Mac(1), Ip("198.18.0.1"), Ip("198.18.0.2"));
  frame.resize(60);
  EXPECT_TRUE(ParseArp(ArpPayload(frame)).has_value());
}

TEST(ParseArpTest, DetectsGratuitousArp) {
  const Bytes frame = test::MakeGratuitousArp(Mac(1), Ip("198.18.0.1"));
  const auto arp = ParseArp(ArpPayload(frame));
  ASSERT_TRUE(arp.has_value());
  EXPECT_TRUE(arp->IsGratuitous());
}

TEST(ParseArpTest, RejectsTruncatedPayload) {
  const Bytes frame = MakeArpRequest(Mac(1), Ip("198.18.0.1"), Ip("198.18.0.2"));
  for (size_t size = 0; size < kArpPayloadSize; ++size) {
    EXPECT_FALSE(ParseArp(ArpPayload(frame).first(size)).has_value()) << size << " bytes";
  }
}

// Writes `value` at byte `offset` of the ARP payload of an otherwise valid ARP frame.
Bytes CorruptArp(size_t offset, std::initializer_list<uint8_t> value) {
  Bytes frame = MakeArp(MacAddress::Broadcast(), Mac(1), SampleArp());
  size_t at = kArpOffset + offset;
  for (uint8_t b : value) frame[at++] = std::byte{b};
  return frame;
}

TEST(ParseArpTest, RejectsOtherHardwareTypes) {
  EXPECT_FALSE(ParseArp(ArpPayload(CorruptArp(0, {0x00, 0x06}))).has_value());  // IEEE 802
}

TEST(ParseArpTest, RejectsOtherProtocolTypes) {
  EXPECT_FALSE(ParseArp(ArpPayload(CorruptArp(2, {0x86, 0xdd}))).has_value());
}

TEST(ParseArpTest, RejectsBadHardwareLength) {
  EXPECT_FALSE(ParseArp(ArpPayload(CorruptArp(4, {8}))).has_value());
  EXPECT_FALSE(ParseArp(ArpPayload(CorruptArp(4, {0}))).has_value());
}

TEST(ParseArpTest, RejectsBadProtocolLength) {
  EXPECT_FALSE(ParseArp(ArpPayload(CorruptArp(5, {16}))).has_value());
}

TEST(ParseArpTest, RejectsOpcodesOtherThanRequestAndReply) {
  for (uint8_t op : {0, 3, 4, 8, 255}) {
    EXPECT_FALSE(ParseArp(ArpPayload(CorruptArp(6, {0x00, op}))).has_value()) << int{op};
  }
  EXPECT_FALSE(ParseArp(ArpPayload(CorruptArp(6, {0x01, 0x01}))).has_value());
}

TEST(BuildArpTest, WritesUntaggedFrame) {
  std::array<std::byte, kMaxArpFrameSize> out{};
  const size_t size = BuildArp(out, MacAddress::Broadcast(), Mac(1), std::nullopt, SampleArp());
  EXPECT_EQ(size, 42u);
  EXPECT_EQ(test::ToHex(std::span(out).first(size)),
            test::ToHex(Hex("ff ff ff ff ff ff  02 00 00 00 00 01  08 06"
                            "0001 0800 06 04 0001"
                            "02 00 00 00 00 01  c6 12 00 01"
                            "00 00 00 00 00 00  c6 12 00 02")));
}

TEST(BuildArpTest, WritesTaggedFrame) {
  std::array<std::byte, kMaxArpFrameSize> out{};
  const size_t size = BuildArp(out, MacAddress::Broadcast(), Mac(1), 0x2064, SampleArp());
  ASSERT_EQ(size, 46u);
  const auto eth = ParseEthernet(std::span(out).first(size));
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->vlan_tci, 0x2064);
  EXPECT_EQ(eth->ethertype, kEtherTypeArp);
  const auto arp = ParseArp(eth->payload);
  ASSERT_TRUE(arp.has_value());
  EXPECT_EQ(arp->sender_ip, Ip("198.18.0.1"));
}

TEST(BuildArpTest, WritesNothingWhenBufferIsTooSmall) {
  std::array<std::byte, 45> out{};
  EXPECT_EQ(BuildArp(out, MacAddress::Broadcast(), Mac(1), 0x0001, SampleArp()), 0u);
  EXPECT_EQ(out, (std::array<std::byte, 45>{}));
  EXPECT_EQ(BuildArp(std::span(out).first(41), MacAddress::Broadcast(), Mac(1), std::nullopt,
                     SampleArp()),
            0u);
}

TEST(BuildArpReplyTest, AnswersTheRequesterOnBehalfOfTheTarget) {
  const ArpPacket request = SampleArp();
  std::array<std::byte, kMaxArpFrameSize> out{};
  const size_t size = BuildArpReply(out, request, Mac(2), std::nullopt);
  ASSERT_EQ(size, 42u);
  const auto eth = ParseEthernet(std::span(out).first(size));
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->dst, Mac(1));
  EXPECT_EQ(eth->src, Mac(2));
  const auto reply = ParseArp(eth->payload);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->op, ArpOp::kReply);
  EXPECT_EQ(reply->sender_mac, Mac(2));
  EXPECT_EQ(reply->sender_ip, Ip("198.18.0.2"));
  EXPECT_EQ(reply->target_mac, Mac(1));
  EXPECT_EQ(reply->target_ip, Ip("198.18.0.1"));
}

TEST(BuildArpReplyTest, CarriesTheGivenTag) {
  std::array<std::byte, kMaxArpFrameSize> out{};
  const size_t size = BuildArpReply(out, SampleArp(), Mac(2), 0x0007);
  ASSERT_EQ(size, 46u);
  const auto eth = ParseEthernet(std::span(out).first(size));
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->vid(), 7);
}

}  // namespace
}  // namespace switchd
