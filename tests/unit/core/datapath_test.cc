#include "switchd/core/datapath.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/helpers/frames.h"
#include "tests/helpers/recording_events.h"
#include "tests/helpers/recording_sink.h"

namespace switchd {
namespace {

using test::At;
using test::Bytes;
using test::Ip;
using test::Mac;
using test::MakeArp;
using test::MakeArpReply;
using test::MakeArpRequest;
using test::MakeEthernet;
using test::MakeGratuitousArp;
using test::MakeIpv4;
using test::RecordingEvents;
using test::RecordingSink;
using test::Truncated;

// Three hosts, one behind each of three ports.
const MacAddress kMacA = Mac(0xa);
const MacAddress kMacB = Mac(0xb);
const MacAddress kMacC = Mac(0xc);
const Ipv4Address kIpA = Ipv4Address(0xc612000a);  // 198.18.0.10
const Ipv4Address kIpB = Ipv4Address(0xc612000b);
const Ipv4Address kIpC = Ipv4Address(0xc612000c);

class DatapathTest : public ::testing::Test {
 protected:
  DatapathTest() : datapath_(sink_, DatapathConfig{}, &events_) {
    p0_ = *datapath_.AddPort("tap0");
    p1_ = *datapath_.AddPort("tap1");
    p2_ = *datapath_.AddPort("tap2");
  }

  void Receive(PortId port, const Bytes& frame, int64_t seconds = 0) {
    datapath_.Receive(port, frame, At(seconds));
  }
  // Sends a frame from `mac` on `port` so that the switch learns where it is, then forgets what
  // was sent and what happened.
  void Announce(PortId port, MacAddress mac, int64_t seconds = 0) {
    Receive(port, MakeIpv4(MacAddress::Broadcast(), mac, Ipv4Address(), Ipv4Address()), seconds);
    Forget();
  }
  // Makes the switch learn that `ip` is at `mac` behind `port`, from a gratuitous ARP.
  void AnnounceArp(PortId port, MacAddress mac, Ipv4Address ip, int64_t seconds = 0) {
    Receive(port, MakeGratuitousArp(mac, ip), seconds);
    Forget();
  }
  void Forget() {
    sink_.Clear();
    events_.Clear();
  }

  RecordingSink sink_;
  RecordingEvents events_;
  Datapath datapath_;
  PortId p0_{}, p1_{}, p2_{};
};

// --- Forwarding -----------------------------------------------------------------------------

TEST_F(DatapathTest, FloodsBroadcastToEveryOtherPort) {
  const Bytes frame = MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, Ipv4Address(0xffffffff));
  Receive(p0_, frame);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  for (const auto& sent : sink_.sent()) EXPECT_EQ(sent.frame, frame);
  EXPECT_EQ(datapath_.stats().flooded, 1u);
  EXPECT_EQ(datapath_.stats().unknown_unicast, 0u);
}

TEST_F(DatapathTest, FloodsMulticast) {
  Receive(p1_, MakeIpv4(Mac("01:00:5e:00:00:fb"), kMacB, kIpB, Ip("224.0.0.251")));
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p0_, p2_}));
  EXPECT_EQ(datapath_.stats().flooded, 1u);
}

TEST_F(DatapathTest, FloodsUnknownUnicast) {
  Receive(p0_, MakeIpv4(kMacB, kMacA, kIpA, kIpB));
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  EXPECT_EQ(datapath_.stats().flooded, 1u);
  EXPECT_EQ(datapath_.stats().unknown_unicast, 1u);
}

TEST_F(DatapathTest, ForwardsKnownUnicastOutOfLearnedPortOnly) {
  Announce(p1_, kMacB);
  const Bytes frame = MakeIpv4(kMacB, kMacA, kIpA, kIpB);
  Receive(p0_, frame);
  ASSERT_EQ(sink_.sent().size(), 1u);
  EXPECT_EQ(sink_.sent()[0].port, p1_);
  EXPECT_EQ(sink_.sent()[0].frame, frame);
  EXPECT_EQ(datapath_.stats().unicast_forwarded, 1u);
  EXPECT_EQ(datapath_.stats().unknown_unicast, 0u);
}

TEST_F(DatapathTest, AnswerTrafficGoesStraightBackToTheLearnedPort) {
  Receive(p0_, MakeIpv4(kMacB, kMacA, kIpA, kIpB));  // flooded, A learned on tap0
  sink_.Clear();
  Receive(p1_, MakeIpv4(kMacA, kMacB, kIpB, kIpA));
  EXPECT_EQ(sink_.ports(), std::vector<PortId>{p0_});
}

TEST_F(DatapathTest, NeverSendsFrameBackOutIngressPort) {
  Announce(p1_, kMacB);
  Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB));
  Receive(p0_, MakeIpv4(kMacC, kMacA, kIpA, kIpC));  // unknown unicast
  Receive(p0_, MakeIpv4(kMacB, kMacA, kIpA, kIpB));  // known unicast
  Receive(p0_, MakeIpv4(kMacA, kMacA, kIpA, kIpA));  // to itself
  ASSERT_FALSE(sink_.sent().empty());
  for (const auto& sent : sink_.sent()) EXPECT_NE(sent.port, p0_);
}

TEST_F(DatapathTest, DropsUnicastToMacLearnedOnIngressPort) {
  Announce(p0_, kMacB);  // B is behind tap0 too (e.g. a hub or a VM host)
  Receive(p0_, MakeIpv4(kMacB, kMacA, kIpA, kIpB));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().local_dropped, 1u);
  // Filtering is not a drop of the port's frames.
  EXPECT_EQ(datapath_.counters(p0_).rx_dropped, 0u);
}

TEST_F(DatapathTest, FollowsMacThatMovedToAnotherPort) {
  Announce(p1_, kMacB);
  Announce(p2_, kMacB, 1);
  Receive(p0_, MakeIpv4(kMacB, kMacA, kIpA, kIpB), 2);
  EXPECT_EQ(sink_.ports(), std::vector<PortId>{p2_});
}

TEST_F(DatapathTest, ForwardsFramesFromUnlearnedMacsWhenTableIsFull) {
  RecordingSink sink;
  Datapath datapath(sink, DatapathConfig{.max_macs = 1});
  const PortId a = *datapath.AddPort("a");
  const PortId b = *datapath.AddPort("b");
  ASSERT_TRUE(datapath.mac_table().AddStatic(kMacC, 1, b, At(0)).ok());
  datapath.Receive(a, MakeIpv4(kMacB, kMacA, kIpA, kIpB), At(0));
  EXPECT_EQ(sink.ports(), std::vector<PortId>{b});
  EXPECT_FALSE(datapath.mac_table().Lookup(kMacA, 1).has_value());
  EXPECT_EQ(datapath.mac_table().stats().not_learned, 1u);
}

TEST_F(DatapathTest, FloodsWhenStaticEntryNamesAPortThatIsGone) {
  ASSERT_TRUE(datapath_.mac_table().AddStatic(kMacC, 1, PortId{9}, At(0)).ok());
  Receive(p0_, MakeIpv4(kMacC, kMacA, kIpA, kIpC));
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  EXPECT_EQ(datapath_.stats().unknown_unicast, 1u);
}

TEST_F(DatapathTest, ForwardsToStaticEntry) {
  ASSERT_TRUE(datapath_.mac_table().AddStatic(kMacC, 1, p2_, At(0)).ok());
  Receive(p0_, MakeIpv4(kMacC, kMacA, kIpA, kIpC));
  EXPECT_EQ(sink_.ports(), std::vector<PortId>{p2_});
}

// --- Learning -------------------------------------------------------------------------------

TEST_F(DatapathTest, LearnsSourceMacOnIngressPort) {
  Receive(p1_, MakeIpv4(kMacA, kMacB, kIpB, kIpA), 4);
  const auto entry = datapath_.mac_table().Find(kMacB, 1);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->port, p1_);
  EXPECT_EQ(entry->last_seen, At(4));
  EXPECT_EQ(events_.events(),
            std::vector<std::string>{"mac learned 02:00:00:00:00:0b vlan 1 port 1"});
}

TEST_F(DatapathTest, ReportsMovedMac) {
  Announce(p1_, kMacB);
  // Quiet on tap1 for longer than the move hold time (1 s), then seen on tap2: a real move.
  Receive(p2_, MakeIpv4(kMacA, kMacB, kIpB, kIpA), 2);
  EXPECT_EQ(events_.events(),
            std::vector<std::string>{"mac moved 02:00:00:00:00:0b vlan 1 port 2 from 1"});
}

TEST_F(DatapathTest, DampsAMacFlappingBetweenPortsWithinTheHoldTime) {
  Announce(p1_, kMacB);
  // Seen on tap2 while still active on tap1: it stays on tap1, and frames to it go there.
  Receive(p2_, MakeIpv4(kMacA, kMacB, kIpB, kIpA));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacB, 1), p1_);
  EXPECT_EQ(datapath_.mac_table().stats().move_damped, 1u);
  EXPECT_EQ(datapath_.mac_table().stats().moved, 0u);
  Forget();
  Receive(p0_, MakeIpv4(kMacB, kMacC, kIpC, kIpB));
  EXPECT_EQ(sink_.ports(), std::vector<PortId>{p1_});
  // Flapping frames from tap2 do not keep the entry fresh: once tap1 is quiet for the hold
  // time, tap2 wins.
  Receive(p2_, MakeIpv4(kMacA, kMacB, kIpB, kIpA), 1);
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacB, 1), p2_);
  EXPECT_EQ(datapath_.mac_table().stats().moved, 1u);
}

TEST_F(DatapathTest, ReportsDampedMove) {
  Announce(p1_, kMacB);
  Receive(p2_, MakeIpv4(kMacA, kMacB, kIpB, kIpA));
  EXPECT_EQ(events_.events(),
            std::vector<std::string>{"mac move damped 02:00:00:00:00:0b vlan 1 port 1 seen on 2"});
}

TEST_F(DatapathTest, ReportsEvictedMac) {
  RecordingSink sink;
  RecordingEvents events;
  Datapath datapath(sink, DatapathConfig{.max_macs = 1}, &events);
  const PortId a = *datapath.AddPort("a");
  datapath.Receive(a, MakeIpv4(kMacC, kMacA, kIpA, kIpC), At(0));
  datapath.Receive(a, MakeIpv4(kMacC, kMacB, kIpB, kIpC), At(1));
  EXPECT_EQ(events.events(), (std::vector<std::string>{
                                 "mac learned 02:00:00:00:00:0a vlan 1 port 0",
                                 "mac evicted 02:00:00:00:00:0a vlan 1 port 0",
                                 "mac learned 02:00:00:00:00:0b vlan 1 port 0",
                             }));
}

TEST_F(DatapathTest, AgesOutMacsOnRun) {
  datapath_.set_aging_time(std::chrono::seconds(30));
  EXPECT_EQ(datapath_.aging_time(), std::chrono::seconds(30));
  Announce(p1_, kMacB, 0);
  datapath_.Run(At(29));
  EXPECT_TRUE(datapath_.mac_table().Lookup(kMacB, 1).has_value());
  datapath_.Run(At(30));
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacB, 1).has_value());
  EXPECT_EQ(events_.events(),
            std::vector<std::string>{"mac expired 02:00:00:00:00:0b vlan 1 port 1"});
  // Unknown again, so flooded.
  Receive(p0_, MakeIpv4(kMacB, kMacA, kIpA, kIpB), 31);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
}

TEST_F(DatapathTest, UsesConfiguredAgingTime) {
  RecordingSink sink;
  Datapath datapath(sink, DatapathConfig{.aging_time = std::chrono::seconds(10)});
  const PortId a = *datapath.AddPort("a");
  datapath.Receive(a, MakeIpv4(kMacC, kMacA, kIpA, kIpC), At(0));
  datapath.Run(At(10));
  EXPECT_EQ(datapath.mac_table().size(), 0u);
}

// --- Malformed frames and VLANs ---------------------------------------------------------------

TEST_F(DatapathTest, DropsRuntsAndCountsThemMalformed) {
  const Bytes frame = MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB);
  for (size_t size : {0, 1, 6, 12, 13}) Receive(p0_, Truncated(frame, size));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().malformed, 5u);
  EXPECT_EQ(datapath_.counters(p0_).rx_packets, 5u);
  EXPECT_EQ(datapath_.counters(p0_).rx_dropped, 5u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
}

TEST_F(DatapathTest, DropsFrameWithTruncatedVlanTag) {
  const Bytes frame = MakeEthernet(MacAddress::Broadcast(), kMacA, kEtherTypeIpv4, {}, 0x0000);
  Receive(p0_, Truncated(frame, 16));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().malformed, 1u);
  EXPECT_EQ(datapath_.counters(p0_).rx_dropped, 1u);
}

TEST_F(DatapathTest, DropsFramesFromMulticastOrZeroSource) {
  Receive(p0_, MakeIpv4(kMacB, MacAddress::Broadcast(), kIpA, kIpB));
  Receive(p0_, MakeIpv4(kMacB, Mac("01:00:5e:00:00:01"), kIpA, kIpB));
  Receive(p0_, MakeIpv4(kMacB, MacAddress(), kIpA, kIpB));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().malformed, 3u);
  EXPECT_EQ(datapath_.counters(p0_).rx_dropped, 3u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
}

TEST_F(DatapathTest, DropsTaggedFramesOnAccessPort) {
  Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB, 18, 0x0001));
  Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB, 18, 0x0064));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().vlan_dropped, 2u);
  EXPECT_EQ(datapath_.stats().malformed, 0u);
  EXPECT_EQ(datapath_.counters(p0_).rx_dropped, 2u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
}

TEST_F(DatapathTest, AdmitsPriorityTaggedFramesIntoAccessVlan) {
  Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB, 18, 0xa000));  // PCP 5, VID 0
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, kDefaultVlan), p0_);
  EXPECT_EQ(datapath_.stats().vlan_dropped, 0u);
}

TEST_F(DatapathTest, IgnoresFramesOnUnknownPort) {
  Receive(PortId{42}, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
}

// --- Counters --------------------------------------------------------------------------------

TEST_F(DatapathTest, CountsReceivedAndSentFramesAndBytes) {
  const Bytes frame = MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB, 50);
  Receive(p0_, frame);
  Receive(p0_, frame);
  EXPECT_EQ(datapath_.counters(p0_).rx_packets, 2u);
  EXPECT_EQ(datapath_.counters(p0_).rx_bytes, 2 * frame.size());
  EXPECT_EQ(datapath_.counters(p0_).tx_packets, 0u);
  EXPECT_EQ(datapath_.counters(p1_).tx_packets, 2u);
  EXPECT_EQ(datapath_.counters(p1_).tx_bytes, 2 * frame.size());
  EXPECT_EQ(datapath_.counters(p2_).tx_packets, 2u);
  EXPECT_EQ(datapath_.counters(p1_).rx_packets, 0u);
}

TEST_F(DatapathTest, CountsFramesTheSinkRefusesAsTxDropped) {
  sink_.FailPort(p2_);
  const Bytes frame = MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB);
  Receive(p0_, frame);
  EXPECT_EQ(datapath_.counters(p1_).tx_packets, 1u);
  EXPECT_EQ(datapath_.counters(p2_).tx_packets, 0u);
  EXPECT_EQ(datapath_.counters(p2_).tx_bytes, 0u);
  EXPECT_EQ(datapath_.counters(p2_).tx_dropped, 1u);
  EXPECT_EQ(datapath_.counters(p2_).drops(), 1u);
  EXPECT_EQ(sink_.refused().size(), 1u);
}

TEST_F(DatapathTest, CountsSinkRefusalsAsTxFailed) {
  sink_.FailPort(p2_);
  Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB));
  Receive(p1_, MakeIpv4(MacAddress::Broadcast(), kMacB, kIpB, kIpA));
  EXPECT_EQ(datapath_.stats().tx_failed, 2u);
  EXPECT_EQ(datapath_.stats().offload_dropped, 0u);
}

TEST_F(DatapathTest, TotalCountersAddUpEveryPortAndKeepRemovedPorts) {
  sink_.FailPort(p2_);
  const Bytes frame = MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB, 50);
  Receive(p0_, frame);
  Receive(p1_, Truncated(frame, 10));  // malformed: rx_dropped on tap1
  PortCounters totals = datapath_.TotalCounters();
  EXPECT_EQ(totals.rx_packets, 2u);
  EXPECT_EQ(totals.rx_bytes, frame.size() + 10);
  EXPECT_EQ(totals.tx_packets, 1u);  // to tap1; tap2 refused
  EXPECT_EQ(totals.tx_bytes, frame.size());
  EXPECT_EQ(totals.rx_dropped, 1u);
  EXPECT_EQ(totals.tx_dropped, 1u);

  // Removing ports never makes a total go down: their counters stay in it.
  datapath_.RemovePort(p0_);
  datapath_.RemovePort(p2_);
  const PortCounters after = datapath_.TotalCounters();
  EXPECT_EQ(after.rx_packets, totals.rx_packets);
  EXPECT_EQ(after.rx_bytes, totals.rx_bytes);
  EXPECT_EQ(after.tx_packets, totals.tx_packets);
  EXPECT_EQ(after.tx_dropped, totals.tx_dropped);
  EXPECT_EQ(datapath_.counters(p1_).rx_packets, 1u);

  // A port added again (with the reused id) starts from zero, and the total goes on from there.
  const PortId again = *datapath_.AddPort("tap0");
  Receive(again, frame);
  EXPECT_EQ(datapath_.counters(again).rx_packets, 1u);
  EXPECT_EQ(datapath_.TotalCounters().rx_packets, 3u);
}

// --- ARP ------------------------------------------------------------------------------------

TEST_F(DatapathTest, LearnsArpBindingFromRequestSender) {
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpB), 7);
  const auto binding = datapath_.arp_table().Lookup(kIpA, 1);
  ASSERT_TRUE(binding.has_value());
  EXPECT_EQ(binding->mac, kMacA);
  EXPECT_EQ(binding->port, p0_);
  EXPECT_EQ(binding->last_seen, At(7));
  EXPECT_EQ(events_.events(), (std::vector<std::string>{
                                  "mac learned 02:00:00:00:00:0a vlan 1 port 0",
                                  "arp learned 198.18.0.10 vlan 1 02:00:00:00:00:0a port 0",
                              }));
}

TEST_F(DatapathTest, LearnsArpBindingFromReplyAndForwardsIt) {
  Announce(p0_, kMacA);
  Receive(p1_, MakeArpReply(kMacB, kIpB, kMacA, kIpA));
  EXPECT_EQ(datapath_.arp_table().Lookup(kIpB, 1)->mac, kMacB);
  EXPECT_EQ(sink_.ports(), std::vector<PortId>{p0_});
  EXPECT_EQ(datapath_.stats().arp_flooded, 0u);
}

TEST_F(DatapathTest, ReportsChangedArpBinding) {
  AnnounceArp(p1_, kMacB, kIpB);
  Receive(p2_, MakeGratuitousArp(kMacC, kIpB));
  EXPECT_EQ(datapath_.arp_table().Lookup(kIpB, 1)->mac, kMacC);
  EXPECT_EQ(events_.events(),
            (std::vector<std::string>{
                "mac learned 02:00:00:00:00:0c vlan 1 port 2",
                "arp changed 198.18.0.11 vlan 1 02:00:00:00:00:0c port 2 was 02:00:00:00:00:0b",
            }));
}

TEST_F(DatapathTest, DoesNotLearnArpBindingWhenSenderMacDiffersFromSource) {
  const ArpPacket arp{ArpOp::kRequest, kMacC, kIpC, MacAddress(), kIpB};
  Receive(p0_, MakeArp(MacAddress::Broadcast(), kMacA, arp));
  EXPECT_FALSE(datapath_.arp_table().Lookup(kIpC, 1).has_value());
  EXPECT_EQ(datapath_.arp_table().size(), 0u);
  // The frame itself is fine: learned and flooded.
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 1), p0_);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
}

TEST_F(DatapathTest, DoesNotLearnArpBindingForZeroSenderIp) {
  Receive(p0_, MakeArpRequest(kMacA, Ipv4Address(), kIpB));  // an RFC 5227 probe
  EXPECT_EQ(datapath_.arp_table().size(), 0u);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
}

TEST_F(DatapathTest, AnswersRequestForIpKnownOnAnotherPort) {
  AnnounceArp(p1_, kMacB, kIpB);
  const DatapathStats before = datapath_.stats();
  const PortCounters p0_before = datapath_.counters(p0_);
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpB));
  ASSERT_EQ(sink_.sent().size(), 1u);
  EXPECT_EQ(sink_.sent()[0].port, p0_);
  // The answer is exactly what B would have sent.
  EXPECT_EQ(sink_.sent()[0].frame, MakeArpReply(kMacB, kIpB, kMacA, kIpA));
  EXPECT_EQ(datapath_.stats().arp_answered, 1u);
  EXPECT_EQ(datapath_.stats().arp_flooded, 0u);
  EXPECT_EQ(datapath_.stats().flooded, before.flooded);
  EXPECT_EQ(datapath_.counters(p0_).tx_packets, p0_before.tx_packets + 1);
  EXPECT_EQ(datapath_.counters(p0_).tx_bytes, p0_before.tx_bytes + 42);
  // The asker is learned all the same.
  EXPECT_EQ(datapath_.arp_table().Lookup(kIpA, 1)->mac, kMacA);
}

TEST_F(DatapathTest, FloodsRequestForUnknownIp) {
  const Bytes request = MakeArpRequest(kMacA, kIpA, kIpB);
  Receive(p0_, request);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  for (const auto& sent : sink_.sent()) EXPECT_EQ(sent.frame, request);
  EXPECT_EQ(datapath_.stats().arp_flooded, 1u);
  EXPECT_EQ(datapath_.stats().arp_answered, 0u);
}

TEST_F(DatapathTest, FloodsRequestWhenBindingMacIsNoLongerInMacTable) {
  AnnounceArp(p1_, kMacB, kIpB);
  datapath_.mac_table().Flush(std::nullopt, false);  // B's MAC aged or flushed; its binding stays
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpB));
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  EXPECT_EQ(datapath_.stats().arp_flooded, 1u);
  EXPECT_EQ(datapath_.stats().arp_answered, 0u);
}

TEST_F(DatapathTest, FloodsRequestOnceBindingHasAgedOut) {
  datapath_.set_aging_time(std::chrono::seconds(60));
  AnnounceArp(p1_, kMacB, kIpB, 0);
  Announce(p1_, kMacB, 50);  // keeps the MAC, not the binding
  datapath_.Run(At(60));
  EXPECT_FALSE(datapath_.arp_table().Lookup(kIpB, 1).has_value());
  EXPECT_EQ(events_.events(),
            std::vector<std::string>{"arp expired 198.18.0.11 vlan 1 02:00:00:00:00:0b port 1"});
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpB), 61);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  EXPECT_EQ(datapath_.stats().arp_flooded, 1u);
}

TEST_F(DatapathTest, FloodsRequestWhenBindingMacWasEvicted) {
  RecordingSink sink;
  Datapath datapath(sink, DatapathConfig{.max_macs = 2});
  const PortId a = *datapath.AddPort("a");
  const PortId b = *datapath.AddPort("b");
  const PortId c = *datapath.AddPort("c");
  datapath.Receive(b, MakeGratuitousArp(kMacB, kIpB), At(0));
  // Port c's stations push B's MAC out (the table holds two), not the binding.
  datapath.Receive(c, MakeIpv4(MacAddress::Broadcast(), Mac(100), kIpC, kIpA), At(1));
  datapath.Receive(c, MakeIpv4(MacAddress::Broadcast(), Mac(101), kIpC, kIpA), At(2));
  datapath.Receive(c, MakeIpv4(MacAddress::Broadcast(), Mac(102), kIpC, kIpA), At(3));
  ASSERT_FALSE(datapath.mac_table().Lookup(kMacB, 1).has_value());
  ASSERT_TRUE(datapath.arp_table().Lookup(kIpB, 1).has_value());
  sink.Clear();
  datapath.Receive(a, MakeArpRequest(kMacA, kIpA, kIpB), At(4));
  EXPECT_EQ(sink.ports(), (std::vector<PortId>{b, c}));
  EXPECT_EQ(datapath.stats().arp_answered, 0u);
}

TEST_F(DatapathTest, DoesNotAnswerWhenBindingMacIsOnIngressPort) {
  AnnounceArp(p0_, kMacB, kIpB);  // B sits behind the asking port: it answers itself
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpB));
  EXPECT_EQ(datapath_.stats().arp_answered, 0u);
  EXPECT_EQ(datapath_.stats().arp_flooded, 1u);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
}

TEST_F(DatapathTest, AnswersStaticBindingEvenWhenMacIsUnknown) {
  ASSERT_TRUE(datapath_.arp_table().AddStatic(kIpC, 1, kMacC, At(0)).ok());
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpC));
  ASSERT_EQ(sink_.sent().size(), 1u);
  EXPECT_EQ(sink_.sent()[0].port, p0_);
  EXPECT_EQ(sink_.sent()[0].frame, MakeArpReply(kMacC, kIpC, kMacA, kIpA));
  EXPECT_EQ(datapath_.stats().arp_answered, 1u);
}

TEST_F(DatapathTest, AnswersStaticBindingWhoseMacIsOnAnotherPort) {
  ASSERT_TRUE(datapath_.arp_table().AddStatic(kIpC, 1, kMacC, At(0)).ok());
  Announce(p2_, kMacC);
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpC));
  EXPECT_EQ(sink_.ports(), std::vector<PortId>{p0_});
  EXPECT_EQ(datapath_.stats().arp_answered, 1u);
}

TEST_F(DatapathTest, DoesNotAnswerStaticBindingWhoseMacIsOnIngressPort) {
  ASSERT_TRUE(datapath_.arp_table().AddStatic(kIpC, 1, kMacC, At(0)).ok());
  Announce(p0_, kMacC);
  Receive(p0_, MakeArpRequest(kMacA, kIpA, kIpC));
  EXPECT_EQ(datapath_.stats().arp_answered, 0u);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
}

TEST_F(DatapathTest, NeverAnswersGratuitousArp) {
  AnnounceArp(p1_, kMacB, kIpB);
  const Bytes announcement = MakeGratuitousArp(kMacA, kIpB);  // A claims B's address
  Receive(p0_, announcement);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
  for (const auto& sent : sink_.sent()) EXPECT_EQ(sent.frame, announcement);
  EXPECT_EQ(datapath_.stats().arp_answered, 0u);
  EXPECT_EQ(datapath_.stats().arp_flooded, 0u);
  EXPECT_EQ(datapath_.arp_table().Lookup(kIpB, 1)->mac, kMacA);
}

TEST_F(DatapathTest, NeverAnswersArpReplies) {
  AnnounceArp(p2_, kMacC, kIpC);
  Receive(p0_, MakeArpReply(kMacA, kIpA, MacAddress::Broadcast(), kIpC));
  EXPECT_EQ(datapath_.stats().arp_answered, 0u);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
}

TEST_F(DatapathTest, DoesNotAnswerRequestWhoseSenderIsNotTheSource) {
  // The answer would go to the sender MAC out of the ingress port, where it may not be.
  AnnounceArp(p1_, kMacB, kIpB);
  const ArpPacket arp{ArpOp::kRequest, kMacC, kIpC, MacAddress(), kIpB};
  Receive(p0_, MakeArp(MacAddress::Broadcast(), kMacA, arp));
  EXPECT_EQ(datapath_.stats().arp_answered, 0u);
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{p1_, p2_}));
}

TEST_F(DatapathTest, DropsTruncatedArpWithoutLearning) {
  const Bytes request = MakeArpRequest(kMacA, kIpA, kIpB);
  Receive(p0_, Truncated(request, request.size() - 1));
  Receive(p0_, Truncated(request, kEthernetHeaderSize));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().malformed, 2u);
  EXPECT_EQ(datapath_.counters(p0_).rx_dropped, 2u);
  EXPECT_EQ(datapath_.mac_table().size(), 0u);
  EXPECT_EQ(datapath_.arp_table().size(), 0u);
}

TEST_F(DatapathTest, DropsArpWithBadFields) {
  Bytes request = MakeArpRequest(kMacA, kIpA, kIpB);
  request[kEthernetHeaderSize + 7] = std::byte{9};  // op 9
  Receive(p0_, request);
  Bytes wrong_hlen = MakeArpRequest(kMacA, kIpA, kIpB);
  wrong_hlen[kEthernetHeaderSize + 4] = std::byte{8};
  Receive(p0_, wrong_hlen);
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().malformed, 2u);
}

TEST_F(DatapathTest, AgesOutArpBindingsOnRun) {
  datapath_.set_aging_time(std::chrono::seconds(100));
  AnnounceArp(p1_, kMacB, kIpB, 0);
  datapath_.Run(At(99));
  EXPECT_TRUE(datapath_.arp_table().Lookup(kIpB, 1).has_value());
  datapath_.Run(At(100));
  EXPECT_FALSE(datapath_.arp_table().Lookup(kIpB, 1).has_value());
  EXPECT_EQ(events_.events(), (std::vector<std::string>{
                                  "mac expired 02:00:00:00:00:0b vlan 1 port 1",
                                  "arp expired 198.18.0.11 vlan 1 02:00:00:00:00:0b port 1",
                              }));
}

// --- Ports ----------------------------------------------------------------------------------

TEST_F(DatapathTest, NamesAndFindsPorts) {
  EXPECT_EQ(datapath_.FindPort("tap1"), p1_);
  EXPECT_FALSE(datapath_.FindPort("tap9").has_value());
  EXPECT_EQ(datapath_.port_name(p2_), "tap2");
  EXPECT_TRUE(datapath_.HasPort(p0_));
  EXPECT_FALSE(datapath_.HasPort(PortId{3}));
  EXPECT_FALSE(datapath_.HasPort(kNoPort));
  const std::vector<PortInfo> ports = datapath_.Ports();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].id, p0_);
  EXPECT_EQ(ports[0].name, "tap0");
  EXPECT_EQ(ports[0].settings.vlan, PortVlan::Access(kDefaultVlan));
  EXPECT_EQ(ports[2].name, "tap2");
}

TEST_F(DatapathTest, RejectsEmptyOrDuplicatePortName) {
  const Result<PortId> empty = datapath_.AddPort("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
  const Result<PortId> duplicate = datapath_.AddPort("tap1");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(duplicate.status().message(), "port 'tap1' already exists");
  EXPECT_EQ(datapath_.Ports().size(), 3u);
}

TEST_F(DatapathTest, ReusesSmallestFreePortId) {
  datapath_.RemovePort(p1_);
  datapath_.RemovePort(p0_);
  EXPECT_EQ(*datapath_.AddPort("new0"), p0_);
  EXPECT_EQ(*datapath_.AddPort("new1"), p1_);
  EXPECT_EQ(*datapath_.AddPort("new3"), PortId{3});
  EXPECT_EQ(datapath_.port_name(p0_), "new0");
}

TEST_F(DatapathTest, RemovePortFlushesItsMacsAndDynamicArpBindings) {
  AnnounceArp(p1_, kMacB, kIpB);
  ASSERT_TRUE(datapath_.mac_table().AddStatic(kMacC, 1, p1_, At(0)).ok());
  ASSERT_TRUE(datapath_.arp_table().AddStatic(kIpC, 1, kMacC, At(0)).ok());
  AnnounceArp(p0_, kMacA, kIpA);

  datapath_.RemovePort(p1_);
  EXPECT_FALSE(datapath_.HasPort(p1_));
  EXPECT_FALSE(datapath_.FindPort("tap1").has_value());
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacB, 1).has_value());
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacC, 1).has_value());
  EXPECT_FALSE(datapath_.arp_table().Lookup(kIpB, 1).has_value());
  EXPECT_TRUE(datapath_.arp_table().Lookup(kIpC, 1).has_value());  // static: stays
  EXPECT_TRUE(datapath_.mac_table().Lookup(kMacA, 1).has_value());
  EXPECT_TRUE(datapath_.arp_table().Lookup(kIpA, 1).has_value());
}

TEST_F(DatapathTest, RemovedPortGetsNoFramesAndItsFramesAreIgnored) {
  datapath_.RemovePort(p1_);
  Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB));
  EXPECT_EQ(sink_.ports(), std::vector<PortId>{p2_});
  sink_.Clear();
  Receive(p1_, MakeIpv4(MacAddress::Broadcast(), kMacB, kIpB, kIpA));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacB, 1).has_value());
}

TEST_F(DatapathTest, ReaddedPortStartsWithFreshCounters) {
  Receive(p1_, MakeIpv4(MacAddress::Broadcast(), kMacB, kIpB, kIpA));
  datapath_.RemovePort(p1_);
  const PortId again = *datapath_.AddPort("tap1");
  EXPECT_EQ(again, p1_);
  EXPECT_EQ(datapath_.counters(again).rx_packets, 0u);
  EXPECT_EQ(datapath_.mac_table().CountOnPort(again), 0u);
}

TEST_F(DatapathTest, RemovingUnknownPortDoesNothing) {
  datapath_.RemovePort(PortId{17});
  datapath_.RemovePort(kNoPort);
  EXPECT_EQ(datapath_.Ports().size(), 3u);
}

TEST_F(DatapathTest, SurvivesRandomFrames) {
  // Random bytes, biased towards the interesting ethertypes, in buffers of exactly their size (so
  // a sanitizer build catches any read past the end).
  std::mt19937 random(2024);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 80);
  std::uniform_int_distribution<int> port(0, 2);
  const uint16_t ethertypes[] = {kEtherTypeArp, kEtherTypeVlan, kEtherTypeIpv4, kEtherTypeQinQ};
  constexpr int kFrames = 20'000;
  for (int i = 0; i < kFrames; ++i) {
    Bytes frame(length(random));
    for (std::byte& b : frame) b = std::byte(byte(random));
    if (frame.size() >= 14 && i % 2 == 0) {
      const uint16_t type = ethertypes[i / 2 % 4];
      frame[12] = std::byte(type >> 8);
      frame[13] = std::byte(type & 0xff);
      if (frame.size() >= 22 && type == kEtherTypeArp && i % 4 == 0) {
        const Bytes header = test::Hex("0001 0800 06 04 00");
        std::copy(header.begin(), header.end(), frame.begin() + 14);
      }
    }
    const PortId ingress{static_cast<uint32_t>(port(random))};
    sink_.Clear();
    Receive(ingress, frame, i / 100);
    for (const auto& sent : sink_.sent()) {
      // Only ARP answers (42 bytes, built by the switch) go back out of the ingress port.
      if (sent.port == ingress) {
        EXPECT_EQ(sent.frame.size(), 42u);
      }
    }
    if (i % 1000 == 0) datapath_.Run(At(i / 100));
  }
  uint64_t received = 0;
  for (const PortInfo& info : datapath_.Ports()) received += info.counters.rx_packets;
  EXPECT_EQ(received, static_cast<uint64_t>(kFrames));
  EXPECT_GT(datapath_.stats().malformed, 0u);
  EXPECT_LE(datapath_.mac_table().size(), datapath_.mac_table().capacity());
}

TEST(DatapathAlonePortTest, FloodsToNobodyWithOnePort) {
  RecordingSink sink;
  Datapath datapath(sink, DatapathConfig{});
  const PortId only = *datapath.AddPort("only");
  datapath.Receive(only, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB), At(0));
  EXPECT_TRUE(sink.sent().empty());
  EXPECT_EQ(datapath.stats().flooded, 1u);
}

TEST_F(DatapathTest, PortMacLimitKeepsNewSourcesOutButStillForwardsTheirFrames) {
  ASSERT_TRUE(datapath_.ConfigurePort(p0_, test::PortLimits(2, 0)).ok());
  for (uint32_t i = 0; i < 5; ++i) {
    Receive(p0_, MakeIpv4(MacAddress::Broadcast(), Mac(0x100 + i), kIpA, kIpB));
  }
  EXPECT_EQ(datapath_.mac_table().CountOnPort(p0_), 2u);
  EXPECT_EQ(datapath_.counters(p0_).unlearned, 3u);
  // Every frame was still flooded to the other two ports.
  EXPECT_EQ(datapath_.counters(p1_).tx_packets, 5u);
  EXPECT_EQ(datapath_.counters(p2_).tx_packets, 5u);
  EXPECT_EQ(datapath_.port_settings(p0_).max_macs, 2u);
}

TEST_F(DatapathTest, RemovedPortsLimitDoesNotStickToItsReusedId) {
  ASSERT_TRUE(datapath_.ConfigurePort(p0_, test::PortLimits(1, 0)).ok());
  datapath_.RemovePort(p0_);
  const PortId again = *datapath_.AddPort("tap9");
  ASSERT_EQ(again, p0_);
  Receive(again, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB));
  Receive(again, MakeIpv4(MacAddress::Broadcast(), kMacB, kIpA, kIpB));
  EXPECT_EQ(datapath_.mac_table().CountOnPort(again), 2u);
}

TEST_F(DatapathTest, StormControlHoldsFloodedFramesToTheLimit) {
  ASSERT_TRUE(datapath_.ConfigurePort(p0_, test::PortLimits(0, 100)).ok());
  Announce(p1_, kMacB);
  const uint64_t before_storm = datapath_.counters(p2_).tx_packets;
  // 10 seconds of a broadcast storm at 10,000 frames a second.
  for (int i = 0; i < 100000; ++i) {
    datapath_.Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB),
                      At(0) + std::chrono::microseconds(100 * i));
  }
  const uint64_t flooded = datapath_.counters(p2_).tx_packets - before_storm;
  EXPECT_GE(flooded, 1000u);
  EXPECT_LE(flooded, 1000u + 10u + 1u);  // the rate, plus one bucket (a tenth of a second)
  EXPECT_EQ(datapath_.counters(p0_).storm_dropped, 100000u - flooded);
  EXPECT_EQ(datapath_.stats().storm_dropped, 100000u - flooded);
  // Known unicast from the same port is not limited.
  const uint64_t before = datapath_.counters(p1_).tx_packets;
  for (int i = 0; i < 1000; ++i) {
    datapath_.Receive(p0_, MakeIpv4(kMacB, kMacA, kIpA, kIpB), At(10));
  }
  EXPECT_EQ(datapath_.counters(p1_).tx_packets - before, 1000u);
}

TEST_F(DatapathTest, StormControlIsOffByDefault) {
  for (int i = 0; i < 1000; ++i) {
    Receive(p0_, MakeIpv4(MacAddress::Broadcast(), kMacA, kIpA, kIpB));
  }
  EXPECT_EQ(datapath_.counters(p1_).tx_packets, 1000u);
  EXPECT_EQ(datapath_.counters(p0_).storm_dropped, 0u);
}

}  // namespace
}  // namespace switchd
