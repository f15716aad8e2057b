// The datapath with VLANs (IEEE 802.1Q): access and trunk ports, what each admits, the shape each
// frame leaves in (tag pushed, popped, kept), learning, flooding, aging and ARP per VLAN, 802.1ad
// frames, offloaded frames crossing a tag push or pop, and the per-port controls (learning,
// flood, bcast-flood, mcast-flood, isolated).
#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "switchd/core/datapath.h"
#include "switchd/core/offload.h"
#include "switchd/core/vlan.h"
#include "tests/helpers/frames.h"
#include "tests/helpers/offload_frames.h"
#include "tests/helpers/recording_sink.h"

namespace switchd {
namespace {

using test::At;
using test::Bytes;
using test::Expected;
using test::Ip;
using test::Mac;
using test::MakeArp;
using test::MakeEthernet;
using test::MakeGratuitousArp;
using test::MakeIpv4;
using test::RecordingSink;
using test::SentExactly;
using test::Tci;

const MacAddress kBroadcast = MacAddress::Broadcast();
const MacAddress kMulticast = Mac("01:00:5e:00:00:fb");
const MacAddress kMacA = Mac(0xa);
const MacAddress kMacB = Mac(0xb);
const MacAddress kMacC = Mac(0xc);
const MacAddress kMacX = Mac(0x1);
const MacAddress kUnknown = Mac(0xee);
const Ipv4Address kIpA = Ip("198.18.0.10");
const Ipv4Address kIpB = Ip("198.18.0.11");
const Ipv4Address kIpC = Ip("198.18.0.12");
const Ipv4Address kIpX = Ip("198.18.0.1");

VlanSet Vlans(const char* text) {
  const std::optional<VlanSet> set = VlanSet::Parse(text);
  EXPECT_TRUE(set.has_value()) << text;
  return set.value_or(VlanSet());
}

// A small IPv4/UDP frame, untagged or with the 802.1Q tag `tci`.
Bytes Frame(MacAddress dst, MacAddress src, std::optional<uint16_t> tci = std::nullopt,
            size_t payload = 18) {
  return MakeIpv4(dst, src, kIpA, kIpB, payload, tci);
}

// An 802.1ad frame: an S-tag (VID 100) over a C-tag (VID 10) over IPv4.
Bytes QinQ(MacAddress dst, MacAddress src) {
  return MakeEthernet(dst, src, kEtherTypeQinQ,
                      test::Hex("00 64 81 00 00 0a 08 00 45 00 00 14 00 00 00 00 40 11"), {}, 60);
}

ArpPacket Request(MacAddress sender, Ipv4Address sender_ip, Ipv4Address target_ip) {
  return ArpPacket{ArpOp::kRequest, sender, sender_ip, MacAddress(), target_ip};
}

// The reply the switch must send on behalf of `answer` to `request`, tagged with `tci` if given.
Bytes Reply(const ArpPacket& request, MacAddress answer, std::optional<uint16_t> tci) {
  const ArpPacket reply{ArpOp::kReply, answer, request.target_ip, request.sender_mac,
                        request.sender_ip};
  return MakeArp(request.sender_mac, answer, reply, tci);
}

// Six ports: three access ports (VLAN 10, 10, 20), one left at the default (access, VLAN 1), a
// trunk carrying 10 and 20 tagged with native VLAN 1, and a trunk carrying 1, 10, 20 and 30
// tagged with no native VLAN.
class DatapathVlanTest : public ::testing::Test {
 protected:
  DatapathVlanTest() : datapath_(sink_, DatapathConfig{}) {
    a10_ = Add("a10", PortVlan::Access(10));
    b10_ = Add("b10", PortVlan::Access(10));
    a20_ = Add("a20", PortVlan::Access(20));
    v1_ = *datapath_.AddPort("v1");
    t1_ = Add("t1", PortVlan::Trunk(Vlans("10,20"), 1));
    t2_ = Add("t2", PortVlan::Trunk(Vlans("1,10,20,30")));
  }

  PortId Add(const char* name, const PortVlan& vlan) {
    const PortId port = *datapath_.AddPort(name);
    SetVlan(port, vlan);
    return port;
  }
  void SetVlan(PortId port, const PortVlan& vlan) {
    PortSettings settings = datapath_.port_settings(port);
    settings.vlan = vlan;
    ASSERT_TRUE(datapath_.ConfigurePort(port, settings).ok());
  }
  void Receive(PortId port, const Bytes& frame, int64_t seconds = 0) {
    datapath_.Receive(port, frame, At(seconds));
  }
  // Receives `frame` on `port` and forgets what it made the switch send.
  void Learn(PortId port, const Bytes& frame, int64_t seconds = 0) {
    Receive(port, frame, seconds);
    sink_.Clear();
  }
  std::vector<PortId> SortedPorts() const {
    std::vector<PortId> ports = sink_.ports();
    std::sort(ports.begin(), ports.end());
    return ports;
  }

  RecordingSink sink_;
  Datapath datapath_;
  PortId a10_{}, b10_{}, a20_{}, v1_{}, t1_{}, t2_{};
};

// --- Access ports ----------------------------------------------------------------------------

TEST(DatapathVlanDefaultTest, EveryPortIsAnAccessPortInVlan1UntilConfigured) {
  RecordingSink sink;
  Datapath datapath(sink, DatapathConfig{});
  const PortId p0 = *datapath.AddPort("p0");
  const PortId p1 = *datapath.AddPort("p1");
  const PortId p2 = *datapath.AddPort("p2", PortOptions{.offloads = true});
  for (const PortInfo& info : datapath.Ports()) {
    EXPECT_EQ(info.settings.vlan, PortVlan::Access(1)) << info.name;
  }
  const Bytes frame = Frame(kBroadcast, kMacA);
  datapath.Receive(p0, frame, At(0));
  EXPECT_TRUE(SentExactly(sink, {{p1, frame}, {p2, frame}}));
  EXPECT_EQ(datapath.mac_table().Lookup(kMacA, 1), p0);
}

TEST_F(DatapathVlanTest, AccessPortFloodsUntaggedInItsVlanAndTaggedToTrunksCarryingIt) {
  const Bytes frame = Frame(kBroadcast, kMacA);
  Receive(a10_, frame);
  const Bytes tagged = Frame(kBroadcast, kMacA, Tci(10));
  EXPECT_TRUE(SentExactly(sink_, {{b10_, frame}, {t1_, tagged}, {t2_, tagged}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 10), a10_);
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacA, 1).has_value());
  EXPECT_EQ(datapath_.stats().flooded, 1u);
}

TEST_F(DatapathVlanTest, FramesOfAVlanNeverReachAPortOutsideIt) {
  struct Ingress {
    PortId port;
    std::optional<uint16_t> tci;
  };
  const std::vector<PortId> vlan10 = {a10_, b10_, t1_, t2_};
  for (const Ingress in : {Ingress{a10_, std::nullopt}, Ingress{b10_, Tci(0, 3)},
                           Ingress{t1_, Tci(10)}, Ingress{t2_, Tci(10, 6)}}) {
    for (const MacAddress dst : {kBroadcast, kMulticast, kUnknown}) {
      SCOPED_TRACE(datapath_.port_name(in.port) + " to " + dst.ToString());
      sink_.Clear();
      Receive(in.port, Frame(dst, kMacA, in.tci));
      std::vector<PortId> expected = vlan10;
      std::erase(expected, in.port);
      EXPECT_EQ(SortedPorts(), expected);
      for (const RecordingSink::Sent& sent : sink_.sent()) {
        const std::optional<EthernetFrame> eth = ParseEthernet(sent.frame);
        ASSERT_TRUE(eth.has_value());
        const bool trunk = sent.port == t1_ || sent.port == t2_;
        EXPECT_EQ(eth->vlan_tci.has_value(), trunk) << datapath_.port_name(sent.port);
        EXPECT_EQ(eth->vid(), trunk ? 10 : 0) << datapath_.port_name(sent.port);
      }
    }
  }
}

TEST_F(DatapathVlanTest, AccessPortDropsTaggedFramesAndCountsThem) {
  // Even a tag naming the port's own VLAN: an access port takes untagged frames only.
  for (VlanId vid : {10, 20, 1, 4095}) Receive(a10_, Frame(kBroadcast, kMacA, Tci(vid)));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().vlan_dropped, 4u);
  EXPECT_EQ(datapath_.stats().malformed, 0u);
  EXPECT_EQ(datapath_.stats().flooded, 0u);
  EXPECT_EQ(datapath_.counters(a10_).rx_packets, 4u);
  EXPECT_EQ(datapath_.counters(a10_).rx_dropped, 4u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u) << "a dropped frame must not be learned";
}

TEST_F(DatapathVlanTest, AccessPortAdmitsPriorityTaggedFramesWhichLeaveUntagged) {
  Receive(a10_, Frame(kBroadcast, kMacA, Tci(0, 5, true)));
  // Trunks get the VLAN's tag with the priority and drop eligibility the frame came with.
  const Bytes tagged = Frame(kBroadcast, kMacA, Tci(10, 5, true));
  EXPECT_TRUE(SentExactly(sink_, {{b10_, Frame(kBroadcast, kMacA)}, {t1_, tagged}, {t2_, tagged}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 10), a10_);
  EXPECT_EQ(datapath_.stats().vlan_dropped, 0u);
  EXPECT_EQ(datapath_.counters(a10_).rx_dropped, 0u);
}

// --- Trunks ----------------------------------------------------------------------------------

TEST_F(DatapathVlanTest, TrunkAdmitsFramesTaggedWithItsVlans) {
  const Bytes frame = Frame(kBroadcast, kMacA, Tci(20, 6));
  Receive(t2_, frame);
  EXPECT_TRUE(SentExactly(sink_, {{a20_, Frame(kBroadcast, kMacA)}, {t1_, frame}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 20), t2_);
  // VLAN 30 is carried by t2 alone: admitted and learned, flooded to nobody.
  sink_.Clear();
  Receive(t2_, Frame(kBroadcast, kMacB, Tci(30)));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacB, 30), t2_);
  EXPECT_EQ(datapath_.stats().vlan_dropped, 0u);
}

TEST_F(DatapathVlanTest, TrunkDropsFramesTaggedWithAVlanItDoesNotCarry) {
  Receive(t1_, Frame(kBroadcast, kMacA, Tci(30)));  // t1 carries 10 and 20 (and 1 untagged)
  Receive(t1_, Frame(kBroadcast, kMacA, Tci(4095)));
  Receive(t2_, Frame(kBroadcast, kMacB, Tci(40)));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().vlan_dropped, 3u);
  EXPECT_EQ(datapath_.counters(t1_).rx_dropped, 2u);
  EXPECT_EQ(datapath_.counters(t2_).rx_dropped, 1u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
}

TEST_F(DatapathVlanTest, TrunkWithoutNativeVlanDropsUntaggedAndPriorityTaggedFrames) {
  Receive(t2_, Frame(kBroadcast, kMacA));
  Receive(t2_, Frame(kBroadcast, kMacA, Tci(0, 3)));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().vlan_dropped, 2u);
  EXPECT_EQ(datapath_.counters(t2_).rx_dropped, 2u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
}

TEST_F(DatapathVlanTest, UntaggedFramesOnATrunkBelongToItsNativeVlan) {
  Receive(t1_, Frame(kBroadcast, kMacA));
  EXPECT_TRUE(SentExactly(
      sink_, {{v1_, Frame(kBroadcast, kMacA)}, {t2_, Frame(kBroadcast, kMacA, Tci(1))}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 1), t1_);
  // Priority-tagged: the native VLAN too, the priority kept where the frame leaves tagged.
  sink_.Clear();
  Receive(t1_, Frame(kBroadcast, kMacB, Tci(0, 3)));
  EXPECT_TRUE(SentExactly(
      sink_, {{v1_, Frame(kBroadcast, kMacB)}, {t2_, Frame(kBroadcast, kMacB, Tci(1, 3))}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacB, 1), t1_);
}

TEST_F(DatapathVlanTest, NativeVlanLeavesATrunkUntagged) {
  Receive(v1_, Frame(kBroadcast, kMacA));
  EXPECT_TRUE(SentExactly(
      sink_, {{t1_, Frame(kBroadcast, kMacA)}, {t2_, Frame(kBroadcast, kMacA, Tci(1))}}));
  // VLAN 1 arriving tagged on t2: popped for v1 and for t1, whose native VLAN it is.
  sink_.Clear();
  Receive(t2_, Frame(kBroadcast, kMacB, Tci(1, 2)));
  EXPECT_TRUE(
      SentExactly(sink_, {{v1_, Frame(kBroadcast, kMacB)}, {t1_, Frame(kBroadcast, kMacB)}}));
  // A frame tagged with its native VLAN is admitted by the trunk, and kept tagged for t2.
  sink_.Clear();
  const Bytes tagged = Frame(kBroadcast, kMacC, Tci(1, 4));
  Receive(t1_, tagged);
  EXPECT_TRUE(SentExactly(sink_, {{v1_, Frame(kBroadcast, kMacC)}, {t2_, tagged}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacC, 1), t1_);
}

// --- Tag shapes ------------------------------------------------------------------------------

TEST_F(DatapathVlanTest, KnownUnicastLeavesInItsEgressPortsShape) {
  Learn(a10_, Frame(kBroadcast, kMacA));
  Learn(t2_, Frame(kBroadcast, kMacB, Tci(10, 4)));
  // Access to trunk: a tag pushed.
  Receive(a10_, Frame(kMacB, kMacA));
  EXPECT_TRUE(SentExactly(sink_, {{t2_, Frame(kMacB, kMacA, Tci(10))}}));
  // Trunk to access: popped.
  sink_.Clear();
  Receive(t2_, Frame(kMacA, kMacB, Tci(10, 4)));
  EXPECT_TRUE(SentExactly(sink_, {{a10_, Frame(kMacA, kMacB)}}));
  // Trunk to trunk: kept as it came, priority and drop eligibility too.
  sink_.Clear();
  const Bytes tagged = Frame(kMacB, kMacC, Tci(10, 7, true));
  Receive(t1_, tagged);
  EXPECT_TRUE(SentExactly(sink_, {{t2_, tagged}}));
  EXPECT_EQ(datapath_.stats().unicast_forwarded, 3u);
}

TEST_F(DatapathVlanTest, ShapesFullSizedFramesWhole) {
  Receive(a10_, Frame(kBroadcast, kMacA, std::nullopt, 1472));
  const Bytes tagged = Frame(kBroadcast, kMacA, Tci(10), 1472);
  EXPECT_TRUE(SentExactly(
      sink_, {{b10_, Frame(kBroadcast, kMacA, std::nullopt, 1472)}, {t1_, tagged}, {t2_, tagged}}));
  sink_.Clear();
  Receive(t2_, Frame(kBroadcast, kMacB, Tci(20, 1), 1472));
  EXPECT_TRUE(SentExactly(sink_, {{a20_, Frame(kBroadcast, kMacB, std::nullopt, 1472)},
                                  {t1_, Frame(kBroadcast, kMacB, Tci(20, 1), 1472)}}));
}

TEST_F(DatapathVlanTest, TheReceivedFrameIsNeverModified) {
  const Bytes tagged = Frame(kBroadcast, kMacA, Tci(0, 5));
  Bytes frame = tagged;
  Receive(a10_, frame);  // popped for b10, re-tagged for the trunks
  EXPECT_EQ(frame, tagged);
  const Bytes untagged = Frame(kBroadcast, kMacB);
  frame = untagged;
  Receive(t1_, frame);  // pushed for t2
  EXPECT_EQ(frame, untagged);
}

// --- Learning, flooding and aging per VLAN ----------------------------------------------------

TEST_F(DatapathVlanTest, LearnsTheSameMacInTwoVlansOnDifferentPorts) {
  Learn(a10_, Frame(kBroadcast, kMacX));
  Learn(a20_, Frame(kBroadcast, kMacX));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacX, 10), a10_);
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacX, 20), a20_);
  EXPECT_EQ(datapath_.mac_table().stats().moved, 0u);
  EXPECT_EQ(datapath_.mac_table().stats().move_damped, 0u);
  Receive(b10_, Frame(kMacX, kMacB));
  EXPECT_TRUE(SentExactly(sink_, {{a10_, Frame(kMacX, kMacB)}}));
  sink_.Clear();
  Receive(t1_, Frame(kMacX, kMacC, Tci(20)));
  EXPECT_TRUE(SentExactly(sink_, {{a20_, Frame(kMacX, kMacC)}}));
}

TEST_F(DatapathVlanTest, UnicastToAMacKnownOnlyInAnotherVlanIsFloodedInItsOwnVlan) {
  Learn(a20_, Frame(kBroadcast, kMacX));
  Receive(a10_, Frame(kMacX, kMacA));
  const Bytes tagged = Frame(kMacX, kMacA, Tci(10));
  EXPECT_TRUE(SentExactly(sink_, {{b10_, Frame(kMacX, kMacA)}, {t1_, tagged}, {t2_, tagged}}));
  EXPECT_EQ(datapath_.stats().unknown_unicast, 1u);
  EXPECT_EQ(datapath_.stats().unicast_forwarded, 0u);
}

TEST_F(DatapathVlanTest, StaticEntryNeverTakesAFrameOutOfAPortOutsideItsVlan) {
  // A static entry for VLAN 20 naming a port of VLAN 10: as good as none.
  ASSERT_TRUE(datapath_.mac_table().AddStatic(kMacX, 20, a10_, At(0)).ok());
  Receive(t1_, Frame(kMacX, kMacA, Tci(20)));
  EXPECT_TRUE(
      SentExactly(sink_, {{a20_, Frame(kMacX, kMacA)}, {t2_, Frame(kMacX, kMacA, Tci(20))}}));
  EXPECT_EQ(datapath_.stats().unknown_unicast, 1u);
}

TEST_F(DatapathVlanTest, AgesEntriesPerVlan) {
  Learn(a10_, Frame(kBroadcast, kMacX), 0);
  Learn(a20_, Frame(kBroadcast, kMacX), 200);
  datapath_.Run(At(300));  // the default aging time: 300 s
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacX, 10).has_value());
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacX, 20), a20_);
  datapath_.Run(At(500));
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacX, 20).has_value());
}

// --- ARP per VLAN ----------------------------------------------------------------------------

TEST_F(DatapathVlanTest, ArpBindingsArePerVlan) {
  Learn(a10_, MakeGratuitousArp(kMacA, kIpX));
  Learn(a20_, MakeGratuitousArp(kMacB, kIpX));
  const std::optional<ArpBinding> in10 = datapath_.arp_table().Lookup(kIpX, 10);
  const std::optional<ArpBinding> in20 = datapath_.arp_table().Lookup(kIpX, 20);
  ASSERT_TRUE(in10.has_value());
  ASSERT_TRUE(in20.has_value());
  EXPECT_EQ(in10->mac, kMacA);
  EXPECT_EQ(in10->port, a10_);
  EXPECT_EQ(in20->mac, kMacB);
  EXPECT_EQ(in20->port, a20_);
  EXPECT_FALSE(datapath_.arp_table().Lookup(kIpX, 1).has_value());
}

TEST_F(DatapathVlanTest, AnswersArpOnlyWithinTheVlan) {
  Learn(a10_, MakeGratuitousArp(kMacA, kIpX));
  // Asked in VLAN 10: answered.
  const ArpPacket in10 = Request(kMacB, kIpB, kIpX);
  Receive(b10_, MakeArp(kBroadcast, kMacB, in10));
  EXPECT_TRUE(SentExactly(sink_, {{b10_, Reply(in10, kMacA, std::nullopt)}}));
  EXPECT_EQ(datapath_.stats().arp_answered, 1u);
  // Asked in VLAN 1 and in VLAN 20: the switch knows no binding there, the request is flooded in
  // that VLAN only.
  sink_.Clear();
  const Bytes in1 = MakeArp(kBroadcast, kMacC, Request(kMacC, kIpC, kIpX));
  Receive(v1_, in1);
  EXPECT_TRUE(SentExactly(
      sink_, {{t1_, in1}, {t2_, MakeArp(kBroadcast, kMacC, Request(kMacC, kIpC, kIpX), Tci(1))}}));
  sink_.Clear();
  const Bytes in20 = MakeArp(kBroadcast, kMacC, Request(kMacC, kIpC, kIpX), Tci(20));
  Receive(t2_, in20);
  EXPECT_TRUE(SentExactly(
      sink_, {{a20_, MakeArp(kBroadcast, kMacC, Request(kMacC, kIpC, kIpX))}, {t1_, in20}}));
  EXPECT_EQ(datapath_.stats().arp_answered, 1u);
  EXPECT_EQ(datapath_.stats().arp_flooded, 2u);
}

TEST_F(DatapathVlanTest, ArpReplyLeavesATrunkTaggedWithTheRequestsPriority) {
  Learn(a10_, MakeGratuitousArp(kMacA, kIpX));
  const ArpPacket request = Request(kMacB, kIpB, kIpX);
  Receive(t2_, MakeArp(kBroadcast, kMacB, request, Tci(10, 5, true)));
  EXPECT_TRUE(SentExactly(sink_, {{t2_, Reply(request, kMacA, Tci(10, 5, true))}}));
  EXPECT_EQ(datapath_.stats().arp_answered, 1u);
}

TEST_F(DatapathVlanTest, ArpReplyIsUntaggedInATrunksNativeVlanAndOnAccessPorts) {
  Learn(v1_, MakeGratuitousArp(kMacA, kIpX));
  // Native VLAN of t1: untagged, whether the request was untagged or tagged.
  const ArpPacket untagged = Request(kMacB, kIpB, kIpX);
  Receive(t1_, MakeArp(kBroadcast, kMacB, untagged));
  EXPECT_TRUE(SentExactly(sink_, {{t1_, Reply(untagged, kMacA, std::nullopt)}}));
  sink_.Clear();
  const ArpPacket tagged = Request(kMacC, kIpC, kIpX);
  Receive(t1_, MakeArp(kBroadcast, kMacC, tagged, Tci(1, 6)));
  EXPECT_TRUE(SentExactly(sink_, {{t1_, Reply(tagged, kMacA, std::nullopt)}}));
  // VLAN 1 is tagged on t2.
  sink_.Clear();
  const ArpPacket on_t2 = Request(Mac(0x2b), kIpB, kIpX);
  Receive(t2_, MakeArp(kBroadcast, Mac(0x2b), on_t2, Tci(1, 6)));
  EXPECT_TRUE(SentExactly(sink_, {{t2_, Reply(on_t2, kMacA, Tci(1, 6))}}));
  // A priority-tagged request on an access port.
  sink_.Clear();
  Learn(a10_, MakeGratuitousArp(Mac(0x1a), kIpA));
  const ArpPacket priority = Request(kMacB, kIpB, kIpA);
  Receive(b10_, MakeArp(kBroadcast, kMacB, priority, Tci(0, 2)));
  EXPECT_TRUE(SentExactly(sink_, {{b10_, Reply(priority, Mac(0x1a), std::nullopt)}}));
  EXPECT_EQ(datapath_.stats().arp_answered, 4u);
}

// --- 802.1ad ---------------------------------------------------------------------------------

TEST_F(DatapathVlanTest, QinQFramesAreDroppedOnAccessPorts) {
  Receive(a10_, QinQ(kBroadcast, kMacA));
  Receive(v1_, QinQ(kBroadcast, kMacA));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().vlan_dropped, 2u);
  EXPECT_EQ(datapath_.counters(a10_).rx_dropped, 1u);
  EXPECT_EQ(datapath_.counters(v1_).rx_dropped, 1u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
}

TEST_F(DatapathVlanTest, QinQFramesCrossTrunksUnchangedInTheNativeVlan) {
  const PortId t3 = Add("t3", PortVlan::Trunk(Vlans("20"), 1));
  const Bytes frame = QinQ(kBroadcast, kMacA);
  Receive(t1_, frame);
  // Not to v1, an access port of VLAN 1; nor to t2, where VLAN 1 is tagged.
  EXPECT_TRUE(SentExactly(sink_, {{t3, frame}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 1), t1_);
  EXPECT_EQ(datapath_.stats().vlan_dropped, 0u);
}

TEST_F(DatapathVlanTest, QinQFramesNeverLeaveUntaggedWhereTheirVlanTravelsTagged) {
  // Sent as they are out of t2, which carries VLAN 1 tagged, they would land in whatever VLAN
  // the far end gives untagged frames: out of VLAN 1.
  Receive(t1_, QinQ(kBroadcast, kMacA));
  Learn(t2_, Frame(kBroadcast, kMacB, Tci(1)));
  Receive(t1_, QinQ(kMacB, kMacA));
  for (const RecordingSink::Sent& sent : sink_.sent()) {
    EXPECT_NE(sent.port, t2_) << test::ToHex(sent.frame);
  }
}

TEST_F(DatapathVlanTest, QinQFramesAreDroppedOnATrunkWithoutNativeVlan) {
  Receive(t2_, QinQ(kBroadcast, kMacA));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().vlan_dropped, 1u);
  EXPECT_EQ(datapath_.counters(t2_).rx_dropped, 1u);
}

TEST_F(DatapathVlanTest, QinQFramesAreNeverDeliveredToAccessPortsEvenAsKnownUnicast) {
  Learn(v1_, Frame(kBroadcast, kMacX));
  Receive(t1_, QinQ(kMacX, kMacA));
  EXPECT_TRUE(sink_.sent().empty());
}

// --- Configuration ---------------------------------------------------------------------------

TEST_F(DatapathVlanTest, ChangingAPortsVlanFlushesItsDynamicEntries) {
  Learn(a10_, Frame(kBroadcast, kMacA));
  Learn(a10_, Frame(kBroadcast, kMacB));
  Learn(b10_, Frame(kBroadcast, kMacC));
  ASSERT_TRUE(datapath_.mac_table().AddStatic(kMacX, 10, a10_, At(0)).ok());
  SetVlan(a10_, PortVlan::Access(20));
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacA, 10).has_value());
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacB, 10).has_value());
  EXPECT_EQ(datapath_.mac_table().CountOnPort(a10_), 0u);
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacC, 10), b10_) << "another port's entry";
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacX, 10), a10_) << "a static entry";
  // The port is now in VLAN 20, and out of VLAN 10.
  Receive(a10_, Frame(kBroadcast, kMacA));
  const Bytes tagged20 = Frame(kBroadcast, kMacA, Tci(20));
  EXPECT_TRUE(
      SentExactly(sink_, {{a20_, Frame(kBroadcast, kMacA)}, {t1_, tagged20}, {t2_, tagged20}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 20), a10_);
  sink_.Clear();
  Receive(b10_, Frame(kMacX, kMacC));  // the static entry names a port no longer in VLAN 10
  const Bytes tagged10 = Frame(kMacX, kMacC, Tci(10));
  EXPECT_TRUE(SentExactly(sink_, {{t1_, tagged10}, {t2_, tagged10}}));
  // A trunk whose VLANs change forgets too.
  Learn(t2_, Frame(kBroadcast, kMacB, Tci(30)));
  SetVlan(t2_, PortVlan::Trunk(Vlans("1,10,20,30"), 30));
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacB, 30).has_value());
}

TEST_F(DatapathVlanTest, ChangingOtherSettingsKeepsLearnedEntries) {
  Learn(a10_, Frame(kBroadcast, kMacA));
  Learn(t2_, Frame(kBroadcast, kMacB, Tci(30)));
  PortSettings settings = datapath_.port_settings(a10_);
  settings.flood = false;
  settings.max_macs = 100;
  ASSERT_TRUE(datapath_.ConfigurePort(a10_, settings).ok());
  SetVlan(a10_, PortVlan::Access(10));
  SetVlan(t2_, PortVlan::Trunk(Vlans("30,20,10,1")));  // the same VLANs
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 10), a10_);
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacB, 30), t2_);
}

TEST_F(DatapathVlanTest, ConfigurePortRefusesAVlanSettingThatCarriesNothingOrIsOutOfRange) {
  Learn(t1_, Frame(kBroadcast, kMacA));
  const PortSettings before = datapath_.port_settings(t1_);
  struct Case {
    const char* name;
    PortVlan vlan;
  };
  for (const Case& c : {Case{"trunk of nothing", PortVlan::Trunk(VlanSet())},
                        Case{"access VLAN 0", PortVlan::Access(0)},
                        Case{"access VLAN 4095", PortVlan::Access(4095)},
                        Case{"native VLAN 4095", PortVlan::Trunk(Vlans("10"), 4095)}}) {
    SCOPED_TRACE(c.name);
    PortSettings settings = before;
    settings.vlan = c.vlan;
    const Status status = datapath_.ConfigurePort(t1_, settings);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.message();
    EXPECT_FALSE(status.message().empty());
    EXPECT_EQ(datapath_.port_settings(t1_), before) << "a refused setting must change nothing";
  }
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 1), t1_) << "a refused setting must flush nothing";
  // A trunk of only a native VLAN carries something.
  PortSettings native_only = before;
  native_only.vlan = PortVlan::Trunk(VlanSet(), 5);
  EXPECT_TRUE(datapath_.ConfigurePort(t1_, native_only).ok());
  EXPECT_EQ(datapath_.ConfigurePort(PortId{99}, before).code(), ErrorCode::kNotFound);
}

TEST_F(DatapathVlanTest, PortsReportTheirVlanSetting) {
  const std::vector<PortInfo> ports = datapath_.Ports();
  ASSERT_EQ(ports.size(), 6u);
  EXPECT_EQ(ports[ToIndex(a10_)].settings.vlan, PortVlan::Access(10));
  EXPECT_EQ(ports[ToIndex(v1_)].settings.vlan, PortVlan::Access(1));
  EXPECT_EQ(ports[ToIndex(t1_)].settings.vlan, PortVlan::Trunk(Vlans("10,20"), 1));
  EXPECT_EQ(ports[ToIndex(t2_)].settings.vlan.trunk.ToString(), "1,10,20,30");
}

// --- Robustness ------------------------------------------------------------------------------

TEST_F(DatapathVlanTest, FramesLargerThanATapHandsOverAreDroppedNotShaped) {
  // The shapes are built in scratch buffers sized for the largest frame a TAP hands over; a
  // larger frame must not be copied into them.
  const Bytes huge =
      MakeEthernet(kBroadcast, kMacA, kEtherTypeIpv4, {}, std::nullopt, kMaxFrameSize + 100);
  Receive(a10_, huge);  // would be tagged for the trunks
  const Bytes huge_tagged =
      MakeEthernet(kBroadcast, kMacB, kEtherTypeIpv4, {}, Tci(10), kMaxFrameSize + 100);
  Receive(t1_, huge_tagged);  // would be popped for the access ports
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().malformed, 2u);
  EXPECT_EQ(datapath_.counters(a10_).rx_dropped, 1u);
  EXPECT_EQ(datapath_.counters(t1_).rx_dropped, 1u);
  // The largest frames are fine: an IP packet of 64 KiB, untagged (pushed) and tagged (popped).
  const Bytes largest = MakeEthernet(kBroadcast, kMacA, kEtherTypeIpv4, {}, std::nullopt,
                                     kMaxFrameSize - kVlanTagSize);
  Receive(a10_, largest);
  const Bytes largest_tagged =
      MakeEthernet(kBroadcast, kMacA, kEtherTypeIpv4, {}, Tci(10), kMaxFrameSize);
  EXPECT_TRUE(SentExactly(sink_, {{b10_, largest}, {t1_, largest_tagged}, {t2_, largest_tagged}}));
  sink_.Clear();
  Receive(t2_, MakeEthernet(kBroadcast, kMacB, kEtherTypeIpv4, {}, Tci(20), kMaxFrameSize));
  EXPECT_TRUE(SentExactly(
      sink_, {{a20_, MakeEthernet(kBroadcast, kMacB, kEtherTypeIpv4, {}, std::nullopt,
                                  kMaxFrameSize - kVlanTagSize)},
              {t1_, MakeEthernet(kBroadcast, kMacB, kEtherTypeIpv4, {}, Tci(20), kMaxFrameSize)}}));
  EXPECT_EQ(datapath_.stats().malformed, 2u);
}

// --- Offloaded frames across a tag push or pop ------------------------------------------------

Bytes HeaderBytes(const VnetHeader& h) {
  Bytes bytes(kVnetHeaderSize);
  WriteVnetHeader(h, bytes);
  return bytes;
}

::testing::AssertionResult SameHeader(const VnetHeader& actual, const VnetHeader& expected) {
  if (HeaderBytes(actual) == HeaderBytes(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "virtio-net header " << test::ToHex(HeaderBytes(actual))
                                       << ", expected " << test::ToHex(HeaderBytes(expected));
}

// Ports with and without offloads, access ports and trunks, all in VLAN 10.
class DatapathVlanOffloadTest : public ::testing::Test {
 protected:
  DatapathVlanOffloadTest() : datapath_(sink_, DatapathConfig{}) {
    off_access_ = Add("off-access", true, PortVlan::Access(10));
    off_trunk_ = Add("off-trunk", true, PortVlan::Trunk(Vlans("10")));
    off_trunk2_ = Add("off-trunk2", true, PortVlan::Trunk(Vlans("10,20")));
    plain_access_ = Add("plain-access", false, PortVlan::Access(10));
    plain_trunk_ = Add("plain-trunk", false, PortVlan::Trunk(Vlans("10")));
  }

  PortId Add(const char* name, bool offloads, const PortVlan& vlan) {
    const PortId port = *datapath_.AddPort(name, PortOptions{.offloads = offloads});
    PortSettings settings;
    settings.vlan = vlan;
    EXPECT_TRUE(datapath_.ConfigurePort(port, settings).ok());
    return port;
  }
  std::vector<RecordingSink::Sent> SentTo(PortId port) const {
    std::vector<RecordingSink::Sent> out;
    for (const RecordingSink::Sent& sent : sink_.sent()) {
      if (sent.port == port) out.push_back(sent);
    }
    return out;
  }
  // The frames `port` got, each checked to carry a zero header (complete frames only).
  std::vector<Bytes> CompleteFramesTo(PortId port) const {
    std::vector<Bytes> frames;
    for (const RecordingSink::Sent& sent : SentTo(port)) {
      EXPECT_TRUE(SameHeader(sent.vnet, VnetHeader{})) << datapath_.port_name(port);
      frames.push_back(sent.frame);
    }
    return frames;
  }
  // Checks that `port` got `frame` whole, with `vnet`.
  void ExpectWhole(PortId port, const Bytes& frame, const VnetHeader& vnet) const {
    SCOPED_TRACE(datapath_.port_name(port));
    const std::vector<RecordingSink::Sent> sent = SentTo(port);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(sent[0].frame == frame) << "not the frame in its egress shape";
    EXPECT_TRUE(SameHeader(sent[0].vnet, vnet));
  }

  RecordingSink sink_;
  Datapath datapath_;
  PortId off_access_{}, off_trunk_{}, off_trunk2_{}, plain_access_{}, plain_trunk_{};
};

struct GsoCase {
  const char* name;
  bool ipv6;
  bool udp;
  uint8_t type;
  uint16_t mss;
};
const GsoCase kGsoCases[] = {{"TCPv4", false, false, VnetHeader::kGsoTcpv4, 1448},
                             {"TCPv6", true, false, VnetHeader::kGsoTcpv6, 1428},
                             {"USO IPv4", false, true, VnetHeader::kGsoUdpL4, 1472},
                             {"USO IPv6", true, true, VnetHeader::kGsoUdpL4, 1452}};

test::IpFrameSpec Spec(const GsoCase& c, std::optional<uint16_t> tci, size_t payload = 10000) {
  test::IpFrameSpec spec;
  spec.dst = kUnknown;  // flooded to every port of the VLAN
  spec.src = kMacA;
  spec.ipv6 = c.ipv6;
  spec.udp = c.udp;
  spec.payload_size = payload;
  spec.vlan_tci = tci;
  return spec;
}

TEST_F(DatapathVlanOffloadTest, GsoFrameGetsATagPushedAndItsHeaderShifted) {
  for (const GsoCase& c : kGsoCases) {
    SCOPED_TRACE(c.name);
    sink_.Clear();
    const test::IpFrameSpec untagged = Spec(c, std::nullopt);
    const test::IpFrameSpec tagged = Spec(c, Tci(10));
    datapath_.Receive(off_access_, test::MakeIpFrame(untagged), At(1),
                      test::GsoHeader(untagged, c.type, c.mss));
    // Offload trunks: the tagged frame whole, csum_start and hdr_len 4 bytes further on.
    const VnetHeader shifted = test::GsoHeader(tagged, c.type, c.mss);
    ExpectWhole(off_trunk_, test::MakeIpFrame(tagged), shifted);
    ExpectWhole(off_trunk2_, test::MakeIpFrame(tagged), shifted);
    // Ports without offloads: exactly the segments of the frame in their shape.
    {
      SCOPED_TRACE("plain-trunk");
      test::ExpectSegmentsOf(tagged, test::MakeIpFrame(tagged), c.mss,
                             CompleteFramesTo(plain_trunk_));
    }
    {
      SCOPED_TRACE("plain-access");
      test::ExpectSegmentsOf(untagged, test::MakeIpFrame(untagged), c.mss,
                             CompleteFramesTo(plain_access_));
    }
  }
  EXPECT_EQ(datapath_.stats().offload_dropped, 0u);
}

TEST_F(DatapathVlanOffloadTest, GsoFrameGetsItsTagPoppedAndItsHeaderShiftedBack) {
  for (const GsoCase& c : kGsoCases) {
    SCOPED_TRACE(c.name);
    sink_.Clear();
    const test::IpFrameSpec untagged = Spec(c, std::nullopt);
    const test::IpFrameSpec tagged = Spec(c, Tci(10, 5));
    const VnetHeader header = test::GsoHeader(tagged, c.type, c.mss);
    datapath_.Receive(off_trunk_, test::MakeIpFrame(tagged), At(1), header);
    ExpectWhole(off_access_, test::MakeIpFrame(untagged), test::GsoHeader(untagged, c.type, c.mss));
    // Trunk to trunk: tag, priority and header as they came.
    ExpectWhole(off_trunk2_, test::MakeIpFrame(tagged), header);
    {
      SCOPED_TRACE("plain-access");
      test::ExpectSegmentsOf(untagged, test::MakeIpFrame(untagged), c.mss,
                             CompleteFramesTo(plain_access_));
    }
    {
      SCOPED_TRACE("plain-trunk");
      test::ExpectSegmentsOf(tagged, test::MakeIpFrame(tagged), c.mss,
                             CompleteFramesTo(plain_trunk_));
    }
  }
  EXPECT_EQ(datapath_.stats().offload_dropped, 0u);
}

TEST_F(DatapathVlanOffloadTest, PriorityTagRewrittenInPlaceKeepsTheHeaderAsItIs) {
  const GsoCase& c = kGsoCases[0];
  const test::IpFrameSpec priority = Spec(c, Tci(0, 4));
  const VnetHeader header = test::GsoHeader(priority, c.type, c.mss);
  datapath_.Receive(off_access_, test::MakeIpFrame(priority), At(1), header);
  const test::IpFrameSpec tagged = Spec(c, Tci(10, 4));
  ExpectWhole(off_trunk_, test::MakeIpFrame(tagged), header);
  test::ExpectSegmentsOf(tagged, test::MakeIpFrame(tagged), c.mss, CompleteFramesTo(plain_trunk_));
}

// Checks that `port` got one complete frame: `shape` with its transport checksum completed.
void ExpectCompleted(const std::vector<Bytes>& frames, const Bytes& shape,
                     const test::IpFrameSpec& spec) {
  ASSERT_EQ(frames.size(), 1u);
  const Bytes& frame = frames[0];
  ASSERT_EQ(frame.size(), shape.size());
  EXPECT_TRUE(test::TransportChecksumValid(frame));
  const test::IpLayout layout = test::ParseIpLayout(shape);
  ASSERT_TRUE(layout.ok) << layout.error;
  const size_t field = layout.l4 + (spec.udp ? 6 : 16);
  for (size_t i = 0; i < frame.size(); ++i) {
    if (i != field && i != field + 1) {
      ASSERT_EQ(frame[i], shape[i]) << "byte " << i;
    }
  }
}

TEST_F(DatapathVlanOffloadTest, PartialChecksumIsCompletedWhereTheTagMovedIt) {
  for (bool udp : {false, true}) {
    SCOPED_TRACE(udp ? "UDP" : "TCP");
    GsoCase c = kGsoCases[0];
    c.udp = udp;
    const test::IpFrameSpec untagged = Spec(c, std::nullopt, 1001);
    const test::IpFrameSpec tagged = Spec(c, Tci(10, 3), 1001);
    // Pushed.
    sink_.Clear();
    datapath_.Receive(off_access_, test::MakeIpFrame(untagged), At(1),
                      test::PartialChecksumHeader(untagged));
    ExpectWhole(off_trunk_, test::MakeIpFrame(Spec(c, Tci(10), 1001)),
                test::PartialChecksumHeader(tagged));
    {
      SCOPED_TRACE("pushed, plain-trunk");
      ExpectCompleted(CompleteFramesTo(plain_trunk_), test::MakeIpFrame(Spec(c, Tci(10), 1001)),
                      tagged);
    }
    // Popped.
    sink_.Clear();
    datapath_.Receive(off_trunk_, test::MakeIpFrame(tagged), At(1),
                      test::PartialChecksumHeader(tagged));
    ExpectWhole(off_access_, test::MakeIpFrame(untagged), test::PartialChecksumHeader(untagged));
    {
      SCOPED_TRACE("popped, plain-access");
      ExpectCompleted(CompleteFramesTo(plain_access_), test::MakeIpFrame(untagged), untagged);
    }
  }
  // Two ports without offloads, two frames, two protocols.
  EXPECT_EQ(datapath_.stats().checksums_completed, 8u);
  EXPECT_EQ(datapath_.stats().offload_dropped, 0u);
}

// --- Per-port controls -----------------------------------------------------------------------

// Four ports in VLAN 1; p0 learns A, p1 B, p2 C, p3 nobody.
class DatapathPortControlTest : public ::testing::Test {
 protected:
  DatapathPortControlTest() : datapath_(sink_, DatapathConfig{}) {
    for (const char* name : {"p0", "p1", "p2", "p3"}) ports_.push_back(*datapath_.AddPort(name));
  }

  PortId p(size_t i) const { return ports_[i]; }
  void Set(size_t i, void (*change)(PortSettings&)) {
    PortSettings settings = datapath_.port_settings(p(i));
    change(settings);
    ASSERT_TRUE(datapath_.ConfigurePort(p(i), settings).ok());
    EXPECT_EQ(datapath_.port_settings(p(i)), settings);
  }
  void LearnHosts() {
    for (size_t i = 0; i < 3; ++i) {
      datapath_.Receive(p(i), Frame(kBroadcast, Mac(static_cast<uint16_t>(0xa + i))), At(0));
    }
    sink_.Clear();
  }
  // The ports a frame from port `from` to `dst` goes out of.
  std::vector<PortId> Out(size_t from, MacAddress dst) {
    sink_.Clear();
    datapath_.Receive(p(from), Frame(dst, Mac(static_cast<uint16_t>(0xa + from))), At(1));
    std::vector<PortId> out = sink_.ports();
    sink_.Clear();
    return out;
  }
  std::vector<PortId> Ports(std::initializer_list<size_t> indexes) const {
    std::vector<PortId> out;
    for (size_t i : indexes) out.push_back(p(i));
    return out;
  }

  RecordingSink sink_;
  Datapath datapath_;
  std::vector<PortId> ports_;
};

TEST_F(DatapathPortControlTest, LearningOffKeepsSourceMacsOutButStillForwardsTheirFrames) {
  Set(0, [](PortSettings& s) { s.learning = false; });
  LearnHosts();
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacA, 1).has_value());
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacB, 1), p(1));
  // p0's frames go on: flooded, and known unicast to B.
  EXPECT_EQ(Out(0, kBroadcast), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kMacB), Ports({1}));
  // Frames to A are unknown unicast, so flooded (to p0 too).
  EXPECT_EQ(Out(1, kMacA), Ports({0, 2, 3}));
  EXPECT_EQ(datapath_.mac_table().CountOnPort(p(0)), 0u);
}

TEST_F(DatapathPortControlTest, FloodOffStopsOnlyUnknownUnicastToThePort) {
  Set(1, [](PortSettings& s) { s.flood = false; });
  LearnHosts();
  EXPECT_EQ(Out(0, kUnknown), Ports({2, 3}));
  EXPECT_EQ(Out(0, kBroadcast), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kMulticast), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kMacB), Ports({1})) << "known unicast still goes to the port";
  EXPECT_EQ(Out(1, kUnknown), Ports({0, 2, 3})) << "the port still floods its own";
}

TEST_F(DatapathPortControlTest, BcastFloodOffStopsOnlyBroadcastToThePort) {
  Set(1, [](PortSettings& s) { s.bcast_flood = false; });
  LearnHosts();
  EXPECT_EQ(Out(0, kBroadcast), Ports({2, 3}));
  EXPECT_EQ(Out(0, kMulticast), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kUnknown), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kMacB), Ports({1}));
  EXPECT_EQ(Out(1, kBroadcast), Ports({0, 2, 3}));
  // A flooded ARP request is a broadcast.
  datapath_.Receive(p(0), test::MakeArpRequest(kMacA, kIpA, kIpX), At(1));
  EXPECT_EQ(sink_.ports(), Ports({2, 3}));
}

TEST_F(DatapathPortControlTest, McastFloodOffStopsOnlyMulticastToThePort) {
  Set(1, [](PortSettings& s) { s.mcast_flood = false; });
  LearnHosts();
  EXPECT_EQ(Out(0, kMulticast), Ports({2, 3}));
  EXPECT_EQ(Out(0, Mac("33:33:00:00:00:01")), Ports({2, 3}));
  EXPECT_EQ(Out(0, kBroadcast), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kUnknown), Ports({1, 2, 3}));
  EXPECT_EQ(Out(1, kMulticast), Ports({0, 2, 3}));
}

TEST_F(DatapathPortControlTest, FloodControlsFilterWhatLeavesAPortNotWhatArrives) {
  Set(0, [](PortSettings& s) { s.flood = s.bcast_flood = s.mcast_flood = false; });
  LearnHosts();
  EXPECT_EQ(Out(0, kBroadcast), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kMulticast), Ports({1, 2, 3}));
  EXPECT_EQ(Out(0, kUnknown), Ports({1, 2, 3}));
  EXPECT_EQ(Out(1, kBroadcast), Ports({2, 3}));
  EXPECT_EQ(Out(1, kMacA), Ports({0}));
}

TEST_F(DatapathPortControlTest, IsolatedPortsNeverFloodToEachOther) {
  Set(0, [](PortSettings& s) { s.isolated = true; });
  Set(1, [](PortSettings& s) { s.isolated = true; });
  LearnHosts();
  for (MacAddress dst : {kBroadcast, kMulticast, kUnknown}) {
    SCOPED_TRACE(dst.ToString());
    EXPECT_EQ(Out(0, dst), Ports({2, 3}));
    EXPECT_EQ(Out(1, dst), Ports({2, 3}));
    EXPECT_EQ(Out(2, dst), Ports({0, 1, 3}));
  }
  EXPECT_EQ(datapath_.stats().isolated_dropped, 0u) << "counts known unicast only";
}

TEST_F(DatapathPortControlTest, ArpBetweenIsolatedPortsIsNotAnsweredByTheSwitch) {
  Set(0, [](PortSettings& s) { s.isolated = true; });
  Set(1, [](PortSettings& s) { s.isolated = true; });
  // Static bindings for hosts behind p1 (isolated) and p2 (not).
  datapath_.Receive(p(1), Frame(kBroadcast, Mac(0xb)), At(0));
  datapath_.Receive(p(2), Frame(kBroadcast, Mac(0xc)), At(0));
  ASSERT_TRUE(datapath_.arp_table().AddStatic(Ip("198.18.0.11"), 1, Mac(0xb), At(0)).ok());
  ASSERT_TRUE(datapath_.arp_table().AddStatic(Ip("198.18.0.12"), 1, Mac(0xc), At(0)).ok());
  sink_.Clear();
  const uint64_t answered = datapath_.stats().arp_answered;
  datapath_.Receive(p(0), test::MakeArpRequest(Mac(0xa), Ip("198.18.0.10"), Ip("198.18.0.11")),
                    At(1));
  EXPECT_EQ(datapath_.stats().arp_answered, answered) << "isolated asking about isolated";
  const std::vector<PortId> out = sink_.ports();
  EXPECT_EQ(std::count(out.begin(), out.end(), p(1)), 0);
  datapath_.Receive(p(0), test::MakeArpRequest(Mac(0xa), Ip("198.18.0.10"), Ip("198.18.0.12")),
                    At(1));
  EXPECT_EQ(datapath_.stats().arp_answered, answered + 1) << "isolated asking about a shared host";
}

TEST_F(DatapathPortControlTest, KnownUnicastBetweenIsolatedPortsIsDroppedAndCounted) {
  Set(0, [](PortSettings& s) { s.isolated = true; });
  Set(1, [](PortSettings& s) { s.isolated = true; });
  LearnHosts();
  EXPECT_TRUE(Out(0, kMacB).empty());
  EXPECT_TRUE(Out(1, kMacA).empty());
  EXPECT_EQ(datapath_.stats().isolated_dropped, 2u);
  EXPECT_EQ(Out(0, kMacC), Ports({2}));
  EXPECT_EQ(Out(2, kMacA), Ports({0}));
  EXPECT_EQ(Out(2, kMacB), Ports({1}));
  EXPECT_EQ(datapath_.stats().isolated_dropped, 2u);
  EXPECT_EQ(datapath_.stats().unicast_forwarded, 3u);
  // No longer isolated: forwarded again.
  Set(1, [](PortSettings& s) { s.isolated = false; });
  EXPECT_EQ(Out(0, kMacB), Ports({1}));
}

}  // namespace
}  // namespace switchd
