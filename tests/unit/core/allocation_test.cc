// Checks the hot-path promise of the core: once ports are known, learning, lookup, aging and
// handling frames never allocate. This file replaces the global operator new of the core test
// binary with one that counts calls (and otherwise behaves as the standard one).
#include <atomic>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "switchd/core/arp_table.h"
#include "switchd/core/datapath.h"
#include "switchd/core/mac_table.h"
#include "switchd/core/vlan.h"
#include "tests/helpers/frames.h"
#include "tests/helpers/offload_frames.h"

namespace {
std::atomic<size_t> allocations{0};
}  // namespace

void* operator new(size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace switchd {
namespace {

using test::At;
using test::Bytes;
using test::Ip;
using test::Mac;

// Counts the allocations made while it is alive.
class AllocationCounter {
 public:
  AllocationCounter() : start_(allocations.load()) {}
  size_t count() const { return allocations.load() - start_; }

 private:
  size_t start_;
};

// Sends nothing anywhere, without allocating.
class NullSink : public FrameSink {
 public:
  bool Send(PortId /*port*/, std::span<const std::byte> /*frame*/,
            const VnetHeader& /*vnet*/) override {
    return true;
  }
};

TEST(AllocationTest, MacTableLearnsLooksUpEvictsAndAgesWithoutAllocating) {
  MacTable table(64);
  table.ReservePorts(4);
  AllocationCounter counter;
  for (uint16_t i = 0; i < 1000; ++i) {
    table.Learn(Mac(i), 1, PortId{i % 4u}, At(i / 10));
    (void)table.Lookup(Mac(i / 2), 1);
    if (i % 100 == 0) table.Expire(At(i / 10));
  }
  table.Remove(Mac(999), 1);
  table.Flush(PortId{1}, false);
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_GT(table.stats().evicted, 0u);
}

TEST(AllocationTest, ArpTableLearnsLooksUpEvictsAndAgesWithoutAllocating) {
  ArpTable table(64);
  AllocationCounter counter;
  for (uint32_t i = 0; i < 1000; ++i) {
    table.Learn(Ipv4Address(0x0a000000 + i), 1, Mac(static_cast<uint16_t>(i % 50)), PortId{0},
                At(i / 10));
    (void)table.Lookup(Ipv4Address(0x0a000000 + i / 2), 1);
    if (i % 100 == 0) table.Expire(At(i / 10), std::chrono::seconds(30));
  }
  table.RemovePort(PortId{0});
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_GT(table.stats().evicted, 0u);
}

TEST(AllocationTest, DatapathHandlesFramesWithoutAllocating) {
  NullSink sink;
  DatapathEvents events;  // does nothing, but makes the datapath build its events
  Datapath datapath(sink, DatapathConfig{.max_macs = 16, .max_arp = 16}, &events);
  const PortId p0 = *datapath.AddPort("tap0");
  const PortId p1 = *datapath.AddPort("tap1");
  const PortId p2 = *datapath.AddPort("tap2");
  const MacAddress a = Mac(0xa);
  const MacAddress b = Mac(0xb);
  // Frames are built up front: only the datapath is measured.
  const Bytes from_b = test::MakeGratuitousArp(b, Ip("198.18.0.11"));
  const Bytes request = test::MakeArpRequest(a, Ip("198.18.0.10"), Ip("198.18.0.11"));
  const Bytes unknown_request = test::MakeArpRequest(a, Ip("198.18.0.10"), Ip("198.18.0.99"));
  const Bytes unicast = test::MakeIpv4(b, a, Ip("198.18.0.10"), Ip("198.18.0.11"));
  const Bytes broadcast = test::MakeIpv4(MacAddress::Broadcast(), a, Ipv4Address(), Ipv4Address());
  const Bytes runt = test::Truncated(unicast, 10);
  const Bytes tagged = test::MakeIpv4(b, a, Ipv4Address(), Ipv4Address(), 18, 0x0005);
  std::vector<Bytes> flood_sources;
  for (uint16_t i = 0; i < 64; ++i) {
    flood_sources.push_back(
        test::MakeIpv4(MacAddress::Broadcast(), Mac(1000 + i), Ipv4Address(), Ipv4Address()));
  }

  AllocationCounter counter;
  for (int round = 0; round < 10; ++round) {
    const Time now = At(round * 100);
    datapath.Receive(p1, from_b, now);
    datapath.Receive(p0, request, now);
    datapath.Receive(p0, unknown_request, now);
    datapath.Receive(p0, unicast, now);
    datapath.Receive(p0, broadcast, now);
    datapath.Receive(p0, runt, now);
    datapath.Receive(p0, tagged, now);
    for (const Bytes& frame : flood_sources) datapath.Receive(p2, frame, now);  // evictions
    datapath.Run(now + std::chrono::seconds(50));
  }
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_GT(datapath.stats().arp_answered, 0u);
  EXPECT_GT(datapath.stats().unicast_forwarded, 0u);
  EXPECT_GT(datapath.mac_table().stats().evicted, 0u);
}

TEST(AllocationTest, DatapathHandlesOffloadedFramesWithoutAllocating) {
  NullSink sink;
  DatapathEvents events;
  Datapath datapath(sink, DatapathConfig{.max_macs = 16, .max_arp = 16}, &events);
  const PortId off0 = *datapath.AddPort("off0", PortOptions{.offloads = true});
  const PortId off1 = *datapath.AddPort("off1", PortOptions{.offloads = true});
  const PortId plain2 = *datapath.AddPort("plain2", PortOptions{.offloads = false});
  const MacAddress a = Mac(0xa);
  const MacAddress b = Mac(0xb);
  const MacAddress c = Mac(0xc);
  // Frames are built up front: only the datapath is measured.
  const Bytes from_b = test::MakeIpv4(a, b, Ipv4Address(), Ipv4Address());
  const Bytes from_c = test::MakeIpv4(a, c, Ipv4Address(), Ipv4Address());
  test::IpFrameSpec gso_spec;
  gso_spec.src = a;
  gso_spec.dst = Mac(0xee);  // unknown: flooded whole to off1, segmented for plain2
  gso_spec.payload_size = 65535 - 40;
  const Bytes gso = test::MakeIpFrame(gso_spec);
  const VnetHeader gso_header = test::GsoHeader(gso_spec, VnetHeader::kGsoTcpv4, 1448);
  test::IpFrameSpec to_c = gso_spec;
  to_c.dst = c;
  const Bytes gso_to_c = test::MakeIpFrame(to_c);
  test::IpFrameSpec udp = gso_spec;
  udp.udp = true;
  udp.ipv6 = true;
  udp.payload_size = 20000;
  const Bytes uso = test::MakeIpFrame(udp);
  const VnetHeader uso_header = test::GsoHeader(udp, VnetHeader::kGsoUdpL4, 1452);
  test::IpFrameSpec small = to_c;
  small.payload_size = 1000;
  const Bytes partial = test::MakeIpFrame(small);
  const VnetHeader partial_header = test::PartialChecksumHeader(small);
  Bytes malformed = gso_to_c;
  malformed[14 + 20 + 12] = std::byte{0x40};  // TCP data offset 4: dropped for plain2

  AllocationCounter counter;
  for (int round = 0; round < 10; ++round) {
    const Time now = At(round);
    datapath.Receive(off1, from_b, now);
    datapath.Receive(plain2, from_c, now);
    datapath.Receive(off0, gso, now, gso_header);
    datapath.Receive(off0, gso_to_c, now, gso_header);
    datapath.Receive(off0, uso, now, uso_header);
    datapath.Receive(off0, partial, now, partial_header);
    datapath.Receive(off0, malformed, now, gso_header);
  }
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_EQ(datapath.stats().gso_segmented, 30u);
  EXPECT_EQ(datapath.stats().checksums_completed, 10u);
  EXPECT_EQ(datapath.stats().offload_dropped, 10u);
}

TEST(AllocationTest, DatapathTranslatesVlansAndMirrorsWithoutAllocating) {
  NullSink sink;
  DatapathEvents events;
  Datapath datapath(sink, DatapathConfig{.max_macs = 16, .max_arp = 16}, &events);
  const PortId access = *datapath.AddPort("access");
  const PortId access_off = *datapath.AddPort("access-off", PortOptions{.offloads = true});
  const PortId trunk = *datapath.AddPort("trunk");
  const PortId trunk_off = *datapath.AddPort("trunk-off", PortOptions{.offloads = true});
  const PortId mirror = *datapath.AddPort("mirror");
  const PortId mirror_off = *datapath.AddPort("mirror-off", PortOptions{.offloads = true});
  // Configuration may allocate; only frames are measured.
  auto configure = [&](PortId port, const PortVlan& vlan, bool isolated = false) {
    PortSettings settings;
    settings.vlan = vlan;
    settings.isolated = isolated;
    ASSERT_TRUE(datapath.ConfigurePort(port, settings).ok());
  };
  configure(access, PortVlan::Access(10));
  configure(access_off, PortVlan::Access(10), /*isolated=*/true);
  configure(trunk, PortVlan::Trunk(*VlanSet::Parse("10,20"), 1));
  configure(trunk_off, PortVlan::Trunk(*VlanSet::Parse("10,20"), 1));
  ASSERT_TRUE(datapath.AddMirror("rx", access_off, mirror, Mirror::kBoth).ok());
  ASSERT_TRUE(datapath.AddMirror("tx", trunk, mirror_off, Mirror::kTx).ok());
  ASSERT_TRUE(datapath.AddMirror("both", trunk_off, mirror, Mirror::kBoth).ok());
  const MacAddress a = Mac(0xa);
  const MacAddress b = Mac(0xb);
  // Frames are built up front: only the datapath is measured.
  // A's announcement on the access port: tag pushed for both trunks, mirrored.
  const Bytes from_a = test::MakeGratuitousArp(a, Ip("198.18.0.10"));
  // B's announcement, tagged with a priority on a trunk: popped for the access ports.
  const ArpPacket announce{ArpOp::kRequest, b, Ip("198.18.0.11"), MacAddress(), Ip("198.18.0.11")};
  const Bytes from_b = test::MakeArp(MacAddress::Broadcast(), b, announce, test::Tci(10, 5));
  // B asks for A: answered by the switch, tagged, out of the trunk (and mirrored).
  const ArpPacket ask{ArpOp::kRequest, b, Ip("198.18.0.11"), MacAddress(), Ip("198.18.0.10")};
  const Bytes request = test::MakeArp(MacAddress::Broadcast(), b, ask, test::Tci(10, 5));
  // Priority-tagged on the access port: the tag is popped for one port, rewritten for others.
  const Bytes priority =
      test::MakeIpv4(MacAddress::Broadcast(), a, Ipv4Address(), Ipv4Address(), 18, test::Tci(0, 3));
  // Untagged on a trunk: its native VLAN.
  const Bytes native = test::MakeIpv4(Mac(0xee), b, Ipv4Address(), Ipv4Address());
  // Refused by the access port's VLAN setting (and mirrored all the same).
  const Bytes dropped = test::MakeIpv4(b, a, Ipv4Address(), Ipv4Address(), 18, test::Tci(20));
  // 802.1ad on a trunk: carried unchanged to the other trunk.
  Bytes qinq = test::MakeIpv4(MacAddress::Broadcast(), b, Ipv4Address(), Ipv4Address());
  qinq[12] = std::byte{0x88};
  qinq[13] = std::byte{0xa8};
  // The largest GSO frame, untagged and unknown: flooded, pushed for the trunks and segmented for
  // the one without offloads; then one tagged, popped for the access ports.
  test::IpFrameSpec spec;
  spec.src = Mac(0x1a);
  spec.dst = Mac(0xee);
  spec.payload_size = 65535 - 40 - 4;
  const Bytes gso = test::MakeIpFrame(spec);
  const VnetHeader gso_header = test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448);
  test::IpFrameSpec tagged_spec = spec;
  tagged_spec.src = Mac(0x2b);
  tagged_spec.vlan_tci = test::Tci(10, 1);
  const Bytes tagged_gso = test::MakeIpFrame(tagged_spec);
  const VnetHeader tagged_header = test::GsoHeader(tagged_spec, VnetHeader::kGsoTcpv4, 1448);

  AllocationCounter counter;
  for (int round = 0; round < 10; ++round) {
    const Time now = At(round * 100);
    datapath.Receive(access, from_a, now);
    datapath.Receive(trunk, from_b, now);
    datapath.Receive(trunk, request, now);
    datapath.Receive(access, priority, now);
    datapath.Receive(trunk_off, native, now);
    datapath.Receive(access, dropped, now);
    datapath.Receive(trunk_off, qinq, now);
    datapath.Receive(mirror, from_a, now);
    datapath.Receive(access_off, gso, now, gso_header);
    datapath.Receive(trunk_off, tagged_gso, now, tagged_header);
    datapath.Run(now + std::chrono::seconds(50));
  }
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_GT(datapath.stats().mirrored, 0u);
  EXPECT_GT(datapath.stats().arp_answered, 0u);
  EXPECT_GT(datapath.stats().gso_segmented, 0u);
  EXPECT_GT(datapath.stats().vlan_dropped, 0u);
  EXPECT_GT(datapath.stats().mirror_port_dropped, 0u);
}

}  // namespace
}  // namespace switchd
