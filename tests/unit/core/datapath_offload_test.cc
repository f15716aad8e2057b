// The datapath with offloaded frames: GSO frames and partial checksums go whole, header and all,
// to ports with offloads, and are finished in software (segmented, checksummed) for the others.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "switchd/core/datapath.h"
#include "switchd/core/offload.h"
#include "tests/helpers/frames.h"
#include "tests/helpers/offload_frames.h"
#include "tests/helpers/recording_sink.h"

namespace switchd {
namespace {

using test::At;
using test::Bytes;
using test::Get16;
using test::Get32;
using test::Ip;
using test::IpFrameSpec;
using test::IpHeaderValid;
using test::IpLayout;
using test::Mac;
using test::MakeIpFrame;
using test::ParseIpLayout;
using test::RecordingSink;
using test::TransportChecksumValid;

const MacAddress kMacA = Mac(0xa);  // behind p0 (offloads)
const MacAddress kMacB = Mac(0xb);  // behind p1 (offloads)
const MacAddress kMacC = Mac(0xc);  // behind p2 (no offloads)
const MacAddress kMacD = Mac(0xd);  // behind p3 (no offloads)
const MacAddress kMacUnknown = Mac(0xee);

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

::testing::AssertionResult ZeroHeader(const VnetHeader& h) { return SameHeader(h, VnetHeader{}); }

IpFrameSpec TcpSpec(MacAddress dst, size_t payload, bool ipv6 = false) {
  IpFrameSpec spec;
  spec.src = kMacA;
  spec.dst = dst;
  spec.ipv6 = ipv6;
  spec.payload_size = payload;
  spec.tcp_flags = test::kTcpAck | test::kTcpPsh;
  return spec;
}

class DatapathOffloadTest : public ::testing::Test {
 protected:
  DatapathOffloadTest() : datapath_(sink_, DatapathConfig{}) {
    p0_ = *datapath_.AddPort("off0", PortOptions{.offloads = true});
    p1_ = *datapath_.AddPort("off1", PortOptions{.offloads = true});
    p2_ = *datapath_.AddPort("plain2", PortOptions{.offloads = false});
    p3_ = *datapath_.AddPort("plain3");  // the default: no offloads
    Announce(p0_, kMacA);
    Announce(p1_, kMacB);
    Announce(p2_, kMacC);
    Announce(p3_, kMacD);
    sink_.Clear();
    baseline_ = datapath_.stats();
  }

  void Announce(PortId port, MacAddress mac) {
    datapath_.Receive(
        port, test::MakeIpv4(MacAddress::Broadcast(), mac, Ipv4Address(), Ipv4Address()), At(0));
  }

  std::vector<RecordingSink::Sent> SentTo(PortId port) const {
    std::vector<RecordingSink::Sent> out;
    for (const auto& sent : sink_.sent()) {
      if (sent.port == port) out.push_back(sent);
    }
    return out;
  }

  // Checks that `sent` are the segments of `frame` (payload `payload`, `mss` per segment): plain
  // headers, valid checksums, payloads adding up to the original.
  void ExpectSegmentsOf(const Bytes& frame, size_t payload, size_t mss,
                        const std::vector<RecordingSink::Sent>& sent) {
    const IpLayout layout = ParseIpLayout(frame);
    ASSERT_TRUE(layout.ok) << layout.error;
    ASSERT_EQ(sent.size(), (payload + mss - 1) / mss);
    Bytes joined;
    for (size_t i = 0; i < sent.size(); ++i) {
      SCOPED_TRACE("segment " + std::to_string(i));
      EXPECT_TRUE(ZeroHeader(sent[i].vnet));
      EXPECT_LE(sent[i].frame.size(), layout.payload() + mss);
      EXPECT_TRUE(IpHeaderValid(sent[i].frame));
      EXPECT_TRUE(TransportChecksumValid(sent[i].frame));
      joined.insert(joined.end(), sent[i].frame.begin() + static_cast<ptrdiff_t>(layout.payload()),
                    sent[i].frame.end());
    }
    EXPECT_TRUE(std::equal(joined.begin(), joined.end(),
                           frame.begin() + static_cast<ptrdiff_t>(layout.payload()), frame.end()) &&
                joined.size() == payload)
        << "segment payloads do not add up to the original";
  }

  RecordingSink sink_;
  Datapath datapath_;
  PortId p0_{}, p1_{}, p2_{}, p3_{};
  DatapathStats baseline_;
};

TEST_F(DatapathOffloadTest, PortsRememberTheirOffloadSetting) {
  std::vector<bool> offloads;
  for (const PortInfo& port : datapath_.Ports()) offloads.push_back(port.offloads);
  EXPECT_EQ(offloads, (std::vector<bool>{true, true, false, false}));
}

TEST_F(DatapathOffloadTest, GsoFrameToAnOffloadPortIsSentWholeWithItsHeader) {
  for (bool ipv6 : {false, true}) {
    SCOPED_TRACE(ipv6 ? "IPv6" : "IPv4");
    sink_.Clear();
    const IpFrameSpec spec = TcpSpec(kMacB, 30000, ipv6);
    const Bytes frame = MakeIpFrame(spec);
    const VnetHeader header =
        test::GsoHeader(spec, ipv6 ? VnetHeader::kGsoTcpv6 : VnetHeader::kGsoTcpv4, 1448);
    datapath_.Receive(p0_, frame, At(1), header);
    ASSERT_EQ(sink_.sent().size(), 1u);
    EXPECT_EQ(sink_.sent()[0].port, p1_);
    EXPECT_TRUE(sink_.sent()[0].frame == frame) << "the frame was changed";
    EXPECT_TRUE(SameHeader(sink_.sent()[0].vnet, header));
  }
  EXPECT_EQ(datapath_.stats().gso_segmented, 0u);
  EXPECT_EQ(datapath_.stats().checksums_completed, 0u);
  EXPECT_EQ(datapath_.stats().unicast_forwarded - baseline_.unicast_forwarded, 2u);
}

TEST_F(DatapathOffloadTest, GsoFrameToAPortWithoutOffloadsIsSegmented) {
  const IpFrameSpec spec = TcpSpec(kMacC, 10000);
  const Bytes frame = MakeIpFrame(spec);
  const PortCounters rx_before = datapath_.counters(p0_);
  const PortCounters tx_before = datapath_.counters(p2_);
  datapath_.Receive(p0_, frame, At(1), test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448));

  const auto sent = SentTo(p2_);
  EXPECT_EQ(sent.size(), sink_.sent().size()) << "frames went to other ports too";
  ExpectSegmentsOf(frame, 10000, 1448, sent);
  EXPECT_EQ(sent.size(), 7u);
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(Get32(sent[i].frame, 14 + 20 + 4), spec.seq + i * 1448) << "segment " << i;
  }
  EXPECT_EQ(datapath_.stats().gso_segmented, 1u);
  EXPECT_EQ(datapath_.stats().offload_dropped, 0u);
  EXPECT_EQ(datapath_.stats().unicast_forwarded - baseline_.unicast_forwarded, 1u);
  // The ingress counts the one GSO frame; the egress counts what it sent.
  EXPECT_EQ(datapath_.counters(p0_).rx_packets - rx_before.rx_packets, 1u);
  EXPECT_EQ(datapath_.counters(p0_).rx_bytes - rx_before.rx_bytes, frame.size());
  size_t bytes = 0;
  for (const auto& s : sent) bytes += s.frame.size();
  EXPECT_EQ(datapath_.counters(p2_).tx_packets - tx_before.tx_packets, 7u);
  EXPECT_EQ(datapath_.counters(p2_).tx_bytes - tx_before.tx_bytes, bytes);
  EXPECT_EQ(datapath_.counters(p2_).tx_dropped, 0u);
}

TEST_F(DatapathOffloadTest, Ipv6AndUdpGsoFramesAreSegmentedToo) {
  struct Case {
    const char* name;
    bool ipv6;
    bool udp;
    uint8_t type;
    uint16_t mss;
  };
  size_t segmented = 0;
  for (const Case c : {Case{"TCPv6", true, false, VnetHeader::kGsoTcpv6, 1428},
                       Case{"USO IPv4", false, true, VnetHeader::kGsoUdpL4, 1472},
                       Case{"USO IPv6", true, true, VnetHeader::kGsoUdpL4, 1452}}) {
    SCOPED_TRACE(c.name);
    sink_.Clear();
    IpFrameSpec spec = TcpSpec(kMacD, 20000, c.ipv6);
    spec.udp = c.udp;
    const Bytes frame = MakeIpFrame(spec);
    datapath_.Receive(p0_, frame, At(1), test::GsoHeader(spec, c.type, c.mss));
    ExpectSegmentsOf(frame, 20000, c.mss, SentTo(p3_));
    EXPECT_EQ(datapath_.stats().gso_segmented, ++segmented);
  }
}

TEST_F(DatapathOffloadTest, PartialChecksumToAPortWithoutOffloadsIsCompleted) {
  for (bool udp : {false, true}) {
    SCOPED_TRACE(udp ? "UDP" : "TCP");
    sink_.Clear();
    IpFrameSpec spec = TcpSpec(kMacC, 1001);
    spec.udp = udp;
    const Bytes frame = MakeIpFrame(spec);
    const VnetHeader header = test::PartialChecksumHeader(spec);
    datapath_.Receive(p0_, frame, At(1), header);
    ASSERT_EQ(sink_.sent().size(), 1u);
    const auto& sent = sink_.sent()[0];
    EXPECT_EQ(sent.port, p2_);
    EXPECT_TRUE(ZeroHeader(sent.vnet));
    ASSERT_EQ(sent.frame.size(), frame.size());
    EXPECT_TRUE(TransportChecksumValid(sent.frame));
    const size_t field = header.csum_start + header.csum_offset;
    for (size_t i = 0; i < frame.size(); ++i) {
      if (i != field && i != field + 1) {
        ASSERT_EQ(sent.frame[i], frame[i]) << "byte " << i;
      }
    }
  }
  EXPECT_EQ(datapath_.stats().checksums_completed, 2u);
  EXPECT_EQ(datapath_.stats().gso_segmented, 0u);
}

TEST_F(DatapathOffloadTest, PartialChecksumToAnOffloadPortKeepsItsHeader) {
  const IpFrameSpec spec = TcpSpec(kMacB, 1001);
  const Bytes frame = MakeIpFrame(spec);
  const VnetHeader header = test::PartialChecksumHeader(spec);
  datapath_.Receive(p0_, frame, At(1), header);
  ASSERT_EQ(sink_.sent().size(), 1u);
  EXPECT_EQ(sink_.sent()[0].port, p1_);
  EXPECT_TRUE(sink_.sent()[0].frame == frame);
  EXPECT_TRUE(SameHeader(sink_.sent()[0].vnet, header));
  EXPECT_EQ(datapath_.stats().checksums_completed, 0u);
}

TEST_F(DatapathOffloadTest, FloodedGsoFrameGoesWholeToOffloadPortsAndInSegmentsToTheOthers) {
  const IpFrameSpec spec = TcpSpec(kMacUnknown, 10000);
  const Bytes frame = MakeIpFrame(spec);
  const Bytes copy = frame;
  const VnetHeader header = test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448);
  datapath_.Receive(p0_, frame, At(1), header);

  EXPECT_TRUE(SentTo(p0_).empty()) << "flooded back out of the ingress port";
  const auto whole = SentTo(p1_);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_TRUE(whole[0].frame == frame);
  EXPECT_TRUE(SameHeader(whole[0].vnet, header));
  {
    SCOPED_TRACE("plain2");
    ExpectSegmentsOf(frame, 10000, 1448, SentTo(p2_));
  }
  {
    SCOPED_TRACE("plain3");
    ExpectSegmentsOf(frame, 10000, 1448, SentTo(p3_));
  }
  // Both ports without offloads got identical segments.
  const auto a = SentTo(p2_);
  const auto b = SentTo(p3_);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].frame == b[i].frame) << "segment " << i;
  EXPECT_TRUE(frame == copy) << "the received frame was modified";
  EXPECT_EQ(datapath_.stats().gso_segmented, 2u);
  EXPECT_EQ(datapath_.stats().flooded - baseline_.flooded, 1u);
  EXPECT_EQ(datapath_.stats().unknown_unicast - baseline_.unknown_unicast, 1u);
}

TEST_F(DatapathOffloadTest, FloodedPartialChecksumIsCompletedForEachPortWithoutOffloads) {
  const IpFrameSpec spec = TcpSpec(MacAddress::Broadcast(), 300);
  const Bytes frame = MakeIpFrame(spec);
  const VnetHeader header = test::PartialChecksumHeader(spec);
  datapath_.Receive(p0_, frame, At(1), header);
  ASSERT_EQ(SentTo(p1_).size(), 1u);
  EXPECT_TRUE(SameHeader(SentTo(p1_)[0].vnet, header));
  EXPECT_TRUE(SentTo(p1_)[0].frame == frame) << "the offload port got a modified frame";
  for (PortId port : {p2_, p3_}) {
    const auto sent = SentTo(port);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(ZeroHeader(sent[0].vnet));
    EXPECT_TRUE(TransportChecksumValid(sent[0].frame));
  }
  EXPECT_EQ(datapath_.stats().checksums_completed, 2u);
}

TEST_F(DatapathOffloadTest, MalformedGsoFrameIsDroppedForPortsWithoutOffloadsOnly) {
  IpFrameSpec spec = TcpSpec(kMacUnknown, 10000);
  Bytes frame = MakeIpFrame(spec);
  frame[14 + 20 + 12] = std::byte{0x40};  // TCP data offset 4
  const VnetHeader header = test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448);
  datapath_.Receive(p0_, frame, At(1), header);

  // The offload port gets it as it came: the receiving kernel decides.
  ASSERT_EQ(SentTo(p1_).size(), 1u);
  EXPECT_TRUE(SentTo(p1_)[0].frame == frame);
  EXPECT_TRUE(SameHeader(SentTo(p1_)[0].vnet, header));
  EXPECT_TRUE(SentTo(p2_).empty());
  EXPECT_TRUE(SentTo(p3_).empty());
  EXPECT_EQ(datapath_.stats().offload_dropped, 2u);
  EXPECT_EQ(datapath_.stats().gso_segmented, 0u);
  EXPECT_EQ(datapath_.counters(p1_).tx_dropped, 0u);
  EXPECT_EQ(datapath_.counters(p2_).tx_dropped, 1u);
  EXPECT_EQ(datapath_.counters(p3_).tx_dropped, 1u);
  EXPECT_EQ(datapath_.counters(p0_).rx_dropped, 0u) << "received fine; only the egress failed";
}

TEST_F(DatapathOffloadTest, UnsupportedGsoTypesAreDroppedForPortsWithoutOffloads) {
  IpFrameSpec spec = TcpSpec(kMacC, 10000);
  spec.udp = true;
  const Bytes frame = MakeIpFrame(spec);
  datapath_.Receive(p0_, frame, At(1), test::GsoHeader(spec, VnetHeader::kGsoUdp, 1448));  // UFO
  const IpFrameSpec tcp = TcpSpec(kMacC, 10000);
  datapath_.Receive(p0_, MakeIpFrame(tcp), At(1), test::GsoHeader(tcp, VnetHeader::kGsoTcpv4, 0));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().offload_dropped, 2u);
  EXPECT_EQ(datapath_.counters(p2_).tx_dropped, 2u);
}

TEST_F(DatapathOffloadTest, PartialChecksumOutsideTheFrameIsDroppedForPortsWithoutOffloads) {
  const IpFrameSpec spec = TcpSpec(kMacC, 100);
  const Bytes frame = MakeIpFrame(spec);
  VnetHeader header = test::PartialChecksumHeader(spec);
  header.csum_offset = static_cast<uint16_t>(frame.size());
  datapath_.Receive(p0_, frame, At(1), header);
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().offload_dropped, 1u);
  EXPECT_EQ(datapath_.stats().checksums_completed, 0u);
  EXPECT_EQ(datapath_.counters(p2_).tx_dropped, 1u);
}

TEST_F(DatapathOffloadTest, SegmentsTheSinkRefusesAreCountedAsTxDropped) {
  sink_.FailPort(p2_);
  const PortCounters before = datapath_.counters(p2_);
  const IpFrameSpec spec = TcpSpec(kMacC, 10000);
  datapath_.Receive(p0_, MakeIpFrame(spec), At(1),
                    test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448));
  EXPECT_EQ(sink_.refused().size(), 7u);
  EXPECT_EQ(datapath_.counters(p2_).tx_dropped - before.tx_dropped, 7u);
  EXPECT_EQ(datapath_.counters(p2_).tx_packets, before.tx_packets);
  EXPECT_EQ(datapath_.stats().offload_dropped, 0u) << "segmented fine; the port refused them";
}

TEST_F(DatapathOffloadTest, PriorityTaggedGsoFrameLeavesAnAccessPortUntaggedAndSegmented) {
  IpFrameSpec spec = TcpSpec(kMacC, 5000);
  spec.vlan_tci = 0x2000;  // PCP 1, VID 0: admitted on an access port
  const Bytes frame = MakeIpFrame(spec);
  datapath_.Receive(p0_, frame, At(1), test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448));
  // An access port sends untagged: the tag is popped, and the offsets of the virtio-net header
  // move with the headers, so the segments are those of the untagged frame, checksums right.
  IpFrameSpec untagged = spec;
  untagged.vlan_tci.reset();
  ExpectSegmentsOf(MakeIpFrame(untagged), 5000, 1448, SentTo(p2_));
}

TEST_F(DatapathOffloadTest, GsoFrameToItsOwnPortIsNotSent) {
  IpFrameSpec spec = TcpSpec(kMacA, 5000);
  spec.src = Mac(0x1a);
  datapath_.Receive(p0_, MakeIpFrame(spec), At(1),
                    test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448));
  EXPECT_TRUE(sink_.sent().empty());
  EXPECT_EQ(datapath_.stats().local_dropped - baseline_.local_dropped, 1u);
  EXPECT_EQ(datapath_.stats().gso_segmented, 0u);
}

TEST_F(DatapathOffloadTest, PlainFramesCarryAZeroHeaderEverywhere) {
  // From a port without offloads to one with: a complete frame, a zero header.
  const Bytes frame = test::MakeIpv4(kMacB, kMacC, Ip("198.18.0.12"), Ip("198.18.0.11"), 100);
  datapath_.Receive(p2_, frame, At(1));
  ASSERT_EQ(sink_.sent().size(), 1u);
  EXPECT_EQ(sink_.sent()[0].port, p1_);
  EXPECT_TRUE(ZeroHeader(sink_.sent()[0].vnet));
  // A frame whose checksum the sending kernel already verified (DATA_VALID) needs nothing done.
  sink_.Clear();
  VnetHeader valid;
  valid.flags = VnetHeader::kDataValid;
  const Bytes to_c = test::MakeIpv4(kMacC, kMacA, Ip("198.18.0.10"), Ip("198.18.0.12"), 100);
  datapath_.Receive(p0_, to_c, At(1), valid);
  ASSERT_EQ(sink_.sent().size(), 1u);
  EXPECT_EQ(sink_.sent()[0].port, p2_);
  EXPECT_TRUE(sink_.sent()[0].frame == to_c);
  EXPECT_EQ(datapath_.stats().checksums_completed, 0u);
  EXPECT_EQ(datapath_.stats().offload_dropped, 0u);
}

TEST_F(DatapathOffloadTest, ArpRepliesCarryAZeroHeader) {
  // B's binding is learned from its gratuitous ARP on p1; requests for it are answered.
  datapath_.Receive(p1_, test::MakeGratuitousArp(kMacB, Ip("198.18.0.11")), At(1));
  for (PortId asking : {p0_, p2_}) {
    SCOPED_TRACE(datapath_.port_name(asking));
    sink_.Clear();
    VnetHeader request_header;
    if (datapath_.Ports()[ToIndex(asking)].offloads) request_header.flags = VnetHeader::kDataValid;
    const MacAddress asker = asking == p0_ ? kMacA : kMacC;
    datapath_.Receive(asking, test::MakeArpRequest(asker, Ip("198.18.0.99"), Ip("198.18.0.11")),
                      At(2), request_header);
    ASSERT_EQ(sink_.sent().size(), 1u);
    EXPECT_EQ(sink_.sent()[0].port, asking);
    EXPECT_TRUE(ZeroHeader(sink_.sent()[0].vnet));
  }
  EXPECT_EQ(datapath_.stats().arp_answered, 2u);
}

}  // namespace
}  // namespace switchd
