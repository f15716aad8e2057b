// Port mirrors: copies of what a source port receives (as received, even frames then dropped)
// and sends (as sent, after tag shaping) go out of a destination port that carries nothing else;
// mirrors never loop, and they go away with their ports.
#include <algorithm>
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
using test::Ip;
using test::Mac;
using test::MakeIpv4;
using test::RecordingSink;
using test::SentExactly;
using test::Tci;

const MacAddress kBroadcast = MacAddress::Broadcast();
const MacAddress kMacA = Mac(0xa);  // behind src
const MacAddress kMacB = Mac(0xb);  // behind peer
const MacAddress kMacC = Mac(0xc);  // behind trunk
const MacAddress kMacD = Mac(0xd);  // behind dst, before it becomes a mirror destination
const MacAddress kUnknown = Mac(0xee);

Bytes Frame(MacAddress dst, MacAddress src, std::optional<uint16_t> tci = std::nullopt) {
  return MakeIpv4(dst, src, Ip("198.18.0.10"), Ip("198.18.0.11"), 18, tci);
}

// src and peer: access ports of VLAN 10; trunk: a trunk carrying 10 and 20; dst and dst2: ports
// to mirror to, in VLAN 10 too, so that only being a mirror destination keeps frames from them.
class DatapathMirrorTest : public ::testing::Test {
 protected:
  DatapathMirrorTest() : datapath_(sink_, DatapathConfig{}) {
    src_ = Add("src", PortVlan::Access(10));
    peer_ = Add("peer", PortVlan::Access(10));
    trunk_ = Add("trunk", PortVlan::Trunk(*VlanSet::Parse("10,20")));
    dst_ = Add("dst", PortVlan::Access(10));
    dst2_ = Add("dst2", PortVlan::Access(10));
    Receive(src_, Frame(kBroadcast, kMacA));
    Receive(peer_, Frame(kBroadcast, kMacB));
    Receive(trunk_, Frame(kBroadcast, kMacC, Tci(10)));
    sink_.Clear();
    baseline_ = datapath_.stats();
  }

  PortId Add(const char* name, const PortVlan& vlan) {
    const PortId port = *datapath_.AddPort(name);
    PortSettings settings;
    settings.vlan = vlan;
    EXPECT_TRUE(datapath_.ConfigurePort(port, settings).ok());
    return port;
  }
  void Receive(PortId port, const Bytes& frame, int64_t seconds = 0) {
    datapath_.Receive(port, frame, At(seconds));
  }
  void AddMirror(const char* name, PortId source, PortId destination, Mirror::Direction direction) {
    const Status status = datapath_.AddMirror(name, source, destination, direction);
    ASSERT_TRUE(status.ok()) << status.message();
  }
  const Mirror* Find(const std::string& name) const {
    for (const Mirror& m : datapath_.mirrors()) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }
  uint64_t Copies(const std::string& name) const {
    const Mirror* m = Find(name);
    EXPECT_NE(m, nullptr) << "no mirror " << name;
    return m != nullptr ? m->frames : 0;
  }
  bool IsMirrorDestination(PortId port) const {
    for (const PortInfo& info : datapath_.Ports()) {
      if (info.id == port) return info.mirror_destination;
    }
    ADD_FAILURE() << "no port " << ToIndex(port);
    return false;
  }
  uint64_t Mirrored() const { return datapath_.stats().mirrored - baseline_.mirrored; }

  RecordingSink sink_;
  Datapath datapath_;
  PortId src_{}, peer_{}, trunk_{}, dst_{}, dst2_{};
  DatapathStats baseline_;
};

// --- What is copied --------------------------------------------------------------------------

TEST_F(DatapathMirrorTest, RxMirrorCopiesWhatTheSourceReceivesAsReceived) {
  AddMirror("m", src_, dst_, Mirror::kRx);
  const Bytes frame = Frame(kBroadcast, kMacA, Tci(0, 5));  // priority-tagged
  Receive(src_, frame);
  // The copy first, as it came (with its tag); then the flood, shaped for each port (dst2 is an
  // ordinary port of VLAN 10 here).
  EXPECT_TRUE(SentExactly(sink_, {{dst_, frame},
                                  {peer_, Frame(kBroadcast, kMacA)},
                                  {trunk_, Frame(kBroadcast, kMacA, Tci(10, 5))},
                                  {dst2_, Frame(kBroadcast, kMacA)}}));
  EXPECT_EQ(Copies("m"), 1u);
  EXPECT_EQ(Mirrored(), 1u);
  // Not what it sends.
  sink_.Clear();
  Receive(peer_, Frame(kMacA, kMacB));
  EXPECT_TRUE(SentExactly(sink_, {{src_, Frame(kMacA, kMacB)}}));
  EXPECT_EQ(Copies("m"), 1u);
}

TEST_F(DatapathMirrorTest, RxMirrorCopiesEvenFramesThatAreThenDropped) {
  AddMirror("m", src_, dst_, Mirror::kRx);
  const std::vector<Bytes> dropped = {
      test::Truncated(Frame(kBroadcast, kMacA), 10),  // a runt
      Frame(kBroadcast, kMacA, Tci(20)),              // tagged, on an access port
      Frame(kMacA, Mac(0x1a)),                        // to a MAC behind src itself
      Frame(kBroadcast, kBroadcast),                  // a multicast source
  };
  std::vector<test::Expected> expected;
  for (const Bytes& frame : dropped) {
    Receive(src_, frame);
    expected.push_back({dst_, frame});
  }
  EXPECT_TRUE(SentExactly(sink_, expected));
  EXPECT_EQ(Copies("m"), 4u);
  EXPECT_EQ(datapath_.counters(src_).rx_dropped, 3u);  // filtering is not a drop
  // And frames storm control keeps out.
  sink_.Clear();
  PortSettings settings = datapath_.port_settings(src_);
  settings.storm_limit = 1;
  ASSERT_TRUE(datapath_.ConfigurePort(src_, settings).ok());
  Receive(src_, Frame(kBroadcast, kMacA), 10);
  Receive(src_, Frame(kBroadcast, kMacA), 10);
  ASSERT_EQ(datapath_.counters(src_).storm_dropped, 1u);
  EXPECT_EQ(sink_.FramesTo(dst_).size(), 2u);
  EXPECT_EQ(Copies("m"), 6u);
}

TEST_F(DatapathMirrorTest, TxMirrorCopiesWhatTheSourceSendsAsSent) {
  AddMirror("m", src_, dst_, Mirror::kTx);
  // Arrives tagged on the trunk, leaves src untagged: the copy is untagged.
  Receive(trunk_, Frame(kBroadcast, kMacC, Tci(10, 3)));
  const Bytes untagged = Frame(kBroadcast, kMacC);
  EXPECT_TRUE(SentExactly(
      sink_, {{src_, untagged}, {dst_, untagged}, {peer_, untagged}, {dst2_, untagged}}));
  EXPECT_EQ(Copies("m"), 1u);
  // Not what it receives.
  sink_.Clear();
  Receive(src_, Frame(kMacB, kMacA));
  EXPECT_TRUE(SentExactly(sink_, {{peer_, Frame(kMacB, kMacA)}}));
  EXPECT_EQ(Copies("m"), 1u);
}

TEST_F(DatapathMirrorTest, TxMirrorOfATrunkCopiesFramesWithTheTagTheyLeftWith) {
  AddMirror("m", trunk_, dst_, Mirror::kTx);
  Receive(src_, Frame(kMacC, kMacA));
  const Bytes tagged = Frame(kMacC, kMacA, Tci(10));
  EXPECT_TRUE(SentExactly(sink_, {{trunk_, tagged}, {dst_, tagged}}));
}

TEST_F(DatapathMirrorTest, TxMirrorCopiesArpRepliesTheSwitchSends) {
  Receive(peer_, test::MakeGratuitousArp(kMacB, Ip("198.18.0.11")));
  AddMirror("m", src_, dst_, Mirror::kTx);
  sink_.Clear();
  Receive(src_, test::MakeArpRequest(kMacA, Ip("198.18.0.10"), Ip("198.18.0.11")));
  ASSERT_EQ(datapath_.stats().arp_answered, 1u);
  ASSERT_EQ(sink_.FramesTo(src_).size(), 1u);
  EXPECT_TRUE(
      SentExactly(sink_, {{src_, sink_.FramesTo(src_)[0]}, {dst_, sink_.FramesTo(src_)[0]}}));
  EXPECT_EQ(Copies("m"), 1u);
}

TEST_F(DatapathMirrorTest, BothDirectionsCopyWhatIsReceivedAndWhatIsSent) {
  AddMirror("m", src_, dst_, Mirror::kBoth);
  Receive(src_, Frame(kMacB, kMacA));
  Receive(peer_, Frame(kMacA, kMacB));
  EXPECT_TRUE(SentExactly(sink_, {{dst_, Frame(kMacB, kMacA)},
                                  {peer_, Frame(kMacB, kMacA)},
                                  {src_, Frame(kMacA, kMacB)},
                                  {dst_, Frame(kMacA, kMacB)}}));
  EXPECT_EQ(Copies("m"), 2u);
  EXPECT_EQ(Mirrored(), 2u);
}

TEST_F(DatapathMirrorTest, CopiesIgnoreTheDestinationsVlanAndFloodControls) {
  PortSettings settings;
  settings.vlan = PortVlan::Access(99);
  settings.flood = settings.bcast_flood = settings.mcast_flood = false;
  ASSERT_TRUE(datapath_.ConfigurePort(dst_, settings).ok());
  AddMirror("m", trunk_, dst_, Mirror::kRx);
  const Bytes frame = Frame(kBroadcast, kMacC, Tci(20));
  Receive(trunk_, frame);
  EXPECT_EQ(sink_.FramesTo(dst_), std::vector<Bytes>{frame});
}

// --- The destination ---------------------------------------------------------------------------

TEST_F(DatapathMirrorTest, DestinationDropsWhatArrivesOnIt) {
  AddMirror("m", src_, dst_, Mirror::kRx);
  Receive(dst_, Frame(kBroadcast, kMacD));
  Receive(dst_, Frame(kMacB, kMacD));
  Receive(dst_, test::MakeGratuitousArp(kMacD, Ip("198.18.0.13")));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().mirror_port_dropped, 3u);
  EXPECT_EQ(datapath_.counters(dst_).rx_packets, 3u);
  EXPECT_EQ(datapath_.counters(dst_).rx_dropped, 3u);
  EXPECT_FALSE(datapath_.mac_table().Lookup(kMacD, 10).has_value());
  EXPECT_FALSE(datapath_.arp_table().Lookup(Ip("198.18.0.13"), 10).has_value());
  EXPECT_EQ(Mirrored(), 0u);
}

TEST_F(DatapathMirrorTest, DestinationGetsNoFloodsAndNoUnicast) {
  Receive(dst_, Frame(kBroadcast, kMacD));  // D learned behind dst
  ASSERT_TRUE(datapath_.mac_table().AddStatic(Mac(0x5d), 10, dst_, At(0)).ok());
  AddMirror("m", trunk_, dst2_, Mirror::kRx);
  AddMirror("n", peer_, dst_, Mirror::kTx);
  sink_.Clear();
  Receive(src_, Frame(kBroadcast, kMacA));
  Receive(src_, Frame(kUnknown, kMacA));
  Receive(src_, Frame(kMacD, kMacA));      // learned behind dst before: forgotten
  Receive(src_, Frame(Mac(0x5d), kMacA));  // a static entry naming dst
  // Everything reached peer and trunk; dst got copies of what peer sent, dst2 nothing (trunk
  // received nothing).
  EXPECT_EQ(sink_.FramesTo(peer_).size(), 4u);
  EXPECT_EQ(sink_.FramesTo(trunk_).size(), 4u);
  EXPECT_EQ(sink_.FramesTo(dst_), sink_.FramesTo(peer_));
  EXPECT_TRUE(sink_.FramesTo(dst2_).empty());
  EXPECT_EQ(datapath_.stats().unknown_unicast - baseline_.unknown_unicast, 3u);
}

TEST_F(DatapathMirrorTest, DestinationForgetsWhatItLearned) {
  Receive(dst_, Frame(kBroadcast, kMacD));
  Receive(dst_, Frame(kBroadcast, Mac(0x1d)));
  ASSERT_EQ(datapath_.mac_table().CountOnPort(dst_), 2u);
  AddMirror("m", src_, dst_, Mirror::kRx);
  EXPECT_EQ(datapath_.mac_table().CountOnPort(dst_), 0u);
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacA, 10), src_) << "other ports' entries stay";
}

TEST_F(DatapathMirrorTest, PortsReportWhichAreMirrorDestinations) {
  AddMirror("m", src_, dst_, Mirror::kRx);
  for (const PortInfo& info : datapath_.Ports()) {
    EXPECT_EQ(info.mirror_destination, info.id == dst_) << info.name;
  }
  const std::vector<Mirror>& mirrors = datapath_.mirrors();
  ASSERT_EQ(mirrors.size(), 1u);
  EXPECT_EQ(mirrors[0].name, "m");
  EXPECT_EQ(mirrors[0].source, src_);
  EXPECT_EQ(mirrors[0].destination, dst_);
  EXPECT_EQ(mirrors[0].direction, Mirror::kRx);
  EXPECT_EQ(mirrors[0].frames, 0u);
}

TEST_F(DatapathMirrorTest, SeveralSourcesShareADestination) {
  AddMirror("from-src", src_, dst_, Mirror::kRx);
  AddMirror("to-peer", peer_, dst_, Mirror::kTx);
  AddMirror("trunk", trunk_, dst_, Mirror::kBoth);
  Receive(src_, Frame(kMacB, kMacA));  // received by src, sent by peer: two copies
  EXPECT_TRUE(SentExactly(
      sink_,
      {{dst_, Frame(kMacB, kMacA)}, {peer_, Frame(kMacB, kMacA)}, {dst_, Frame(kMacB, kMacA)}}));
  sink_.Clear();
  Receive(trunk_, Frame(kMacA, kMacC, Tci(10)));  // received by trunk, sent by src: one copy
  EXPECT_TRUE(
      SentExactly(sink_, {{dst_, Frame(kMacA, kMacC, Tci(10))}, {src_, Frame(kMacA, kMacC)}}));
  EXPECT_EQ(Copies("from-src"), 1u);
  EXPECT_EQ(Copies("to-peer"), 1u);
  EXPECT_EQ(Copies("trunk"), 1u);
  EXPECT_EQ(Mirrored(), 3u);
}

TEST_F(DatapathMirrorTest, OneSourceMayFeedSeveralDestinations) {
  AddMirror("rx", src_, dst_, Mirror::kRx);
  AddMirror("both", src_, dst2_, Mirror::kBoth);
  Receive(src_, Frame(kMacB, kMacA));
  EXPECT_TRUE(SentExactly(
      sink_,
      {{dst_, Frame(kMacB, kMacA)}, {dst2_, Frame(kMacB, kMacA)}, {peer_, Frame(kMacB, kMacA)}}));
}

// --- Mirror copies of offloaded frames --------------------------------------------------------

TEST(DatapathMirrorOffloadTest, CopiesOfGsoFramesAreSegmentedForADestinationWithoutOffloads) {
  RecordingSink sink;
  Datapath datapath(sink, DatapathConfig{});
  const PortId in = *datapath.AddPort("in", PortOptions{.offloads = true});
  const PortId out = *datapath.AddPort("out", PortOptions{.offloads = false});
  const PortId whole = *datapath.AddPort("whole", PortOptions{.offloads = true});
  const PortId cut = *datapath.AddPort("cut", PortOptions{.offloads = false});
  ASSERT_TRUE(datapath.AddMirror("rx-whole", in, whole, Mirror::kRx).ok());
  ASSERT_TRUE(datapath.AddMirror("rx-cut", in, cut, Mirror::kRx).ok());
  ASSERT_TRUE(datapath.AddMirror("tx-cut", out, cut, Mirror::kTx).ok());
  test::IpFrameSpec spec;
  spec.src = kMacA;
  spec.dst = kUnknown;
  spec.payload_size = 5000;
  const Bytes frame = test::MakeIpFrame(spec);
  const VnetHeader header = test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448);
  datapath.Receive(in, frame, At(0), header);

  std::vector<Bytes> to_whole, to_out, to_cut;
  for (const RecordingSink::Sent& sent : sink.sent()) {
    if (sent.port == whole) {
      to_whole.push_back(sent.frame);
      EXPECT_EQ(sent.vnet.gso_size, header.gso_size) << "the copy lost its header";
    } else if (sent.port == out) {
      to_out.push_back(sent.frame);
    } else if (sent.port == cut) {
      to_cut.push_back(sent.frame);
      EXPECT_TRUE(sent.vnet.IsPlain());
    }
  }
  EXPECT_EQ(to_whole, std::vector<Bytes>{frame});
  test::ExpectSegmentsOf(spec, frame, 1448, to_out);
  // cut got the segments twice: the rx copy of the GSO frame, cut for it, then the tx copies of
  // the segments out sent (interleaved: each segment out sent is copied as it goes).
  ASSERT_EQ(to_cut.size(), 2 * to_out.size());
  const std::vector<Bytes> rx_copies(to_cut.begin(), to_cut.begin() + to_out.size());
  test::ExpectSegmentsOf(spec, frame, 1448, rx_copies);
  const std::vector<Bytes> tx_copies(to_cut.begin() + to_out.size(), to_cut.end());
  EXPECT_EQ(tx_copies, to_out);
}

// --- Rules -------------------------------------------------------------------------------------

TEST_F(DatapathMirrorTest, RefusesMirrorsThatWouldLoop) {
  EXPECT_EQ(datapath_.AddMirror("self", src_, src_, Mirror::kBoth).code(),
            ErrorCode::kInvalidArgument);
  AddMirror("m", src_, dst_, Mirror::kBoth);
  // A destination cannot be a source...
  EXPECT_EQ(datapath_.AddMirror("from-dst", dst_, dst2_, Mirror::kRx).code(),
            ErrorCode::kInvalidArgument);
  // ...and a source cannot be a destination.
  EXPECT_EQ(datapath_.AddMirror("to-src", peer_, src_, Mirror::kRx).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(datapath_.AddMirror("back", dst_, src_, Mirror::kTx).code(),
            ErrorCode::kInvalidArgument);
  ASSERT_EQ(datapath_.mirrors().size(), 1u);
  // So a copy never comes back: one frame, one copy.
  Receive(src_, Frame(kMacB, kMacA));
  EXPECT_EQ(sink_.FramesTo(dst_).size(), 1u);
  EXPECT_EQ(Mirrored(), 1u);
}

TEST_F(DatapathMirrorTest, RefusesTakenNamesAndUnknownPorts) {
  AddMirror("m", src_, dst_, Mirror::kRx);
  const Status taken = datapath_.AddMirror("m", peer_, dst2_, Mirror::kRx);
  EXPECT_EQ(taken.code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(taken.message().find("'m'"), std::string::npos) << taken.message();
  EXPECT_EQ(datapath_.AddMirror("x", PortId{42}, dst2_, Mirror::kRx).code(), ErrorCode::kNotFound);
  EXPECT_EQ(datapath_.AddMirror("x", peer_, PortId{42}, Mirror::kRx).code(), ErrorCode::kNotFound);
  EXPECT_EQ(datapath_.AddMirror("", peer_, dst2_, Mirror::kRx).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(datapath_.mirrors().size(), 1u);
  for (const PortInfo& info : datapath_.Ports()) {
    EXPECT_EQ(info.mirror_destination, info.id == dst_) << info.name;
  }
}

TEST_F(DatapathMirrorTest, DeletingAMirrorStopsCopiesAndGivesTheDestinationBack) {
  AddMirror("m", src_, dst_, Mirror::kBoth);
  const Status unknown = datapath_.DelMirror("nope");
  EXPECT_EQ(unknown.code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.message().find("'nope'"), std::string::npos) << unknown.message();
  ASSERT_TRUE(datapath_.DelMirror("m").ok());
  EXPECT_TRUE(datapath_.mirrors().empty());
  EXPECT_EQ(datapath_.DelMirror("m").code(), ErrorCode::kNotFound);
  // dst is an ordinary port of VLAN 10 again.
  Receive(src_, Frame(kBroadcast, kMacA));
  EXPECT_EQ(sink_.ports(), (std::vector<PortId>{peer_, trunk_, dst_, dst2_}));
  sink_.Clear();
  Receive(dst_, Frame(kMacA, kMacD));
  EXPECT_TRUE(SentExactly(sink_, {{src_, Frame(kMacA, kMacD)}}));
  EXPECT_EQ(datapath_.mac_table().Lookup(kMacD, 10), dst_);
  EXPECT_EQ(Mirrored(), 0u);
  // The name is free again.
  EXPECT_TRUE(datapath_.AddMirror("m", peer_, dst2_, Mirror::kRx).ok());
}

TEST_F(DatapathMirrorTest, RemovingAPortRemovesItsMirrors) {
  AddMirror("from-src", src_, dst_, Mirror::kRx);
  AddMirror("from-peer", peer_, dst_, Mirror::kRx);
  AddMirror("trunk", trunk_, dst2_, Mirror::kRx);
  AddMirror("to-src", src_, dst2_, Mirror::kTx);
  datapath_.RemovePort(dst_);
  ASSERT_EQ(datapath_.mirrors().size(), 2u);
  EXPECT_EQ(Find("from-src"), nullptr);
  EXPECT_EQ(Find("from-peer"), nullptr);
  // A port that takes the destination's id is an ordinary port.
  const PortId again = Add("again", PortVlan::Access(10));
  ASSERT_EQ(again, dst_);
  EXPECT_FALSE(IsMirrorDestination(again));
  // The remaining mirrors still copy (they moved in the list): src's sent frames go to dst2.
  Receive(peer_, Frame(kBroadcast, kMacB));
  const Bytes untagged = Frame(kBroadcast, kMacB);
  EXPECT_TRUE(SentExactly(sink_, {{src_, untagged},
                                  {dst2_, untagged},
                                  {trunk_, Frame(kBroadcast, kMacB, Tci(10))},
                                  {again, untagged}}));
  EXPECT_EQ(Copies("to-src"), 1u);
  // Removing a source removes its mirrors; with none left, dst2 is an ordinary port again.
  datapath_.RemovePort(trunk_);
  ASSERT_EQ(datapath_.mirrors().size(), 1u);
  EXPECT_EQ(datapath_.mirrors()[0].name, "to-src");
  datapath_.RemovePort(src_);
  EXPECT_TRUE(datapath_.mirrors().empty());
  EXPECT_FALSE(IsMirrorDestination(dst2_));
  sink_.Clear();
  Receive(peer_, Frame(kBroadcast, kMacB));
  EXPECT_TRUE(SentExactly(sink_, {{again, untagged}, {dst2_, untagged}}));
}

TEST_F(DatapathMirrorTest, WhatCouldNotLeaveIsNotMirrored) {
  AddMirror("m", src_, dst_, Mirror::kTx);
  sink_.FailPort(src_);  // src's reader is gone
  Receive(peer_, Frame(kMacA, kMacB), 1);
  const std::vector<PortId> refused = sink_.ports();
  EXPECT_EQ(std::count(refused.begin(), refused.end(), dst_), 0);
  EXPECT_EQ(Find("m")->frames, 0u);
  sink_.FailPort(src_, false);
  Receive(peer_, Frame(kMacA, kMacB), 2);
  const std::vector<PortId> sent = sink_.ports();
  EXPECT_EQ(std::count(sent.begin(), sent.end(), dst_), 1);
}

}  // namespace
}  // namespace switchd
