#include "switchd/core/offload.h"

#include <cstddef>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/helpers/frames.h"
#include "tests/helpers/offload_frames.h"

namespace switchd {
namespace {

using test::Bytes;
using test::FoldedSum;
using test::Get16;
using test::Get32;
using test::Hex;
using test::IpFrameSpec;
using test::IpHeaderValid;
using test::IpLayout;
using test::MakeIpFrame;
using test::ParseIpLayout;
using test::PayloadByte;
using test::Put16;
using test::TransportChecksumValid;

// --- Checksums ------------------------------------------------------------------------------

TEST(ChecksumTest, AddsTheRfc1071Example) {
  // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to 2ddf0, which folds to ddf2.
  const Bytes bytes = Hex("00 01 f2 03 f4 f5 f6 f7");
  EXPECT_EQ(ChecksumAdd(bytes), 0x2ddf0u);
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(bytes)), 0x220d);  // ~ddf2
}

TEST(ChecksumTest, PadsAnOddLastByteWithZero) {
  EXPECT_EQ(ChecksumAdd(Hex("01 02 03")), 0x0102u + 0x0300u);
  EXPECT_EQ(ChecksumAdd(Hex("ab")), 0xab00u);
  EXPECT_EQ(ChecksumAdd({}), 0u);
  EXPECT_EQ(ChecksumAdd({}, 0x1234), 0x1234u);
}

TEST(ChecksumTest, ChainsPartialSums) {
  const Bytes a = Hex("45 00 00 73 00 00 40 00");
  const Bytes b = Hex("40 11 00 00 c0 a8 00 01 c0 a8 00 c7");
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(b, ChecksumAdd(a))), ChecksumFinish(ChecksumAdd(both)));
}

TEST(ChecksumTest, FinishesAKnownIpv4Header) {
  // The header from Wikipedia's IPv4 checksum example: its checksum is b861.
  Bytes header = Hex("45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7");
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(header)), 0) << "a valid header sums to ffff";
  header[10] = std::byte{0};
  header[11] = std::byte{0};
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(header)), 0xb861);
}

TEST(ChecksumTest, FoldsEveryCarry) {
  // 0xffff + 0xffff = 0x1fffe folds to 0xffff (one carry creates another).
  EXPECT_EQ(ChecksumFinish(0x1fffe), 0x0000);
  EXPECT_EQ(ChecksumFinish(0xffffffff), 0x0000);
  EXPECT_EQ(ChecksumFinish(0), 0xffff);
  // A 64 KiB run of ff bytes: 32768 words of ffff must not overflow and must fold to ffff.
  const Bytes ones(65536, std::byte{0xff});
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(ones)), 0x0000);
  // Starting from a large sum carries out of 32 bits.
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(Hex("ff ff"), 0xffffffff)), 0x0000);
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(Hex("00 01"), 0xffffffff)), 0xfffe);
}

TEST(ChecksumTest, AgreesWithAnIndependentSumOnRandomishData) {
  Bytes data(9001);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(PayloadByte(i));
  for (size_t size : {0, 1, 2, 3, 1447, 1448, 9001}) {
    const std::span<const std::byte> part(data.data(), size);
    EXPECT_EQ(ChecksumFinish(ChecksumAdd(part)), static_cast<uint16_t>(~FoldedSum(part)))
        << size << " bytes";
  }
}

// --- The virtio-net header --------------------------------------------------------------------

// struct virtio_net_hdr as linux/virtio_net.h declares it (that header is not valid C++: it has a
// member named `class`), and its constants.
struct KernelVnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(KernelVnetHdr) == 10 && offsetof(KernelVnetHdr, csum_offset) == 8);

TEST(VnetHeaderTest, HasTheKernelsLayoutAndConstants) {
  static_assert(kVnetHeaderSize == sizeof(KernelVnetHdr));
  static_assert(VnetHeader::kNeedsChecksum == 1);  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static_assert(VnetHeader::kDataValid == 2);      // VIRTIO_NET_HDR_F_DATA_VALID
  static_assert(VnetHeader::kGsoNone == 0);        // VIRTIO_NET_HDR_GSO_NONE
  static_assert(VnetHeader::kGsoTcpv4 == 1);       // VIRTIO_NET_HDR_GSO_TCPV4
  static_assert(VnetHeader::kGsoUdp == 3);         // VIRTIO_NET_HDR_GSO_UDP
  static_assert(VnetHeader::kGsoTcpv6 == 4);       // VIRTIO_NET_HDR_GSO_TCPV6
  static_assert(VnetHeader::kGsoUdpL4 == 5);       // VIRTIO_NET_HDR_GSO_UDP_L4
  static_assert(VnetHeader::kGsoEcn == 0x80);      // VIRTIO_NET_HDR_GSO_ECN

  // A TAP's header is in host byte order (no TUNSETVNETLE/BE).
  KernelVnetHdr kernel{};
  kernel.flags = 1;
  kernel.gso_type = 4 | 0x80;
  kernel.hdr_len = 86;
  kernel.gso_size = 1428;
  kernel.csum_start = 54;
  kernel.csum_offset = 16;
  Bytes bytes(kVnetHeaderSize);
  std::memcpy(bytes.data(), &kernel, sizeof kernel);

  const VnetHeader h = ReadVnetHeader(bytes);
  EXPECT_EQ(h.flags, VnetHeader::kNeedsChecksum);
  EXPECT_EQ(h.gso_type, VnetHeader::kGsoTcpv6 | VnetHeader::kGsoEcn);
  EXPECT_EQ(h.hdr_len, 86);
  EXPECT_EQ(h.gso_size, 1428);
  EXPECT_EQ(h.csum_start, 54);
  EXPECT_EQ(h.csum_offset, 16);

  Bytes written(kVnetHeaderSize, std::byte{0xee});
  WriteVnetHeader(h, written);
  EXPECT_EQ(written, bytes);
}

TEST(VnetHeaderTest, RoundTripsEveryFieldAndWritesTenBytesOnly) {
  VnetHeader h;
  h.flags = 0x81;
  h.gso_type = 0x85;
  h.hdr_len = 0x0102;
  h.gso_size = 0xfffe;
  h.csum_start = 0x8001;
  h.csum_offset = 0x7f10;
  Bytes buffer(kVnetHeaderSize + 4, std::byte{0xaa});
  WriteVnetHeader(h, buffer);
  for (size_t i = kVnetHeaderSize; i < buffer.size(); ++i) {
    EXPECT_EQ(buffer[i], std::byte{0xaa}) << "byte " << i << " written";
  }
  const VnetHeader back = ReadVnetHeader(buffer);
  EXPECT_EQ(back.flags, h.flags);
  EXPECT_EQ(back.gso_type, h.gso_type);
  EXPECT_EQ(back.hdr_len, h.hdr_len);
  EXPECT_EQ(back.gso_size, h.gso_size);
  EXPECT_EQ(back.csum_start, h.csum_start);
  EXPECT_EQ(back.csum_offset, h.csum_offset);

  // An all-zero header reads as a plain frame.
  const VnetHeader zero = ReadVnetHeader(Bytes(kVnetHeaderSize));
  EXPECT_TRUE(zero.IsPlain());
}

TEST(VnetHeaderTest, ClassifiesFrames) {
  VnetHeader h;
  EXPECT_TRUE(h.IsPlain());
  h.flags = VnetHeader::kDataValid;
  EXPECT_TRUE(h.IsPlain()) << "a verified checksum needs nothing done";
  h.flags = VnetHeader::kNeedsChecksum;
  EXPECT_FALSE(h.IsPlain());
  EXPECT_FALSE(h.IsGso());
  h.gso_type = VnetHeader::kGsoEcn;
  EXPECT_FALSE(h.IsGso()) << "the ECN bit alone is not a GSO type";
  h.gso_type = VnetHeader::kGsoTcpv4 | VnetHeader::kGsoEcn;
  EXPECT_TRUE(h.IsGso());
  EXPECT_EQ(h.gso_kind(), VnetHeader::kGsoTcpv4);
}

// --- CompleteChecksum -----------------------------------------------------------------------

struct CompleteCase {
  std::string name;
  IpFrameSpec spec;
};
void PrintTo(const CompleteCase& c, std::ostream* os) { *os << c.name; }

class CompleteChecksumTest : public ::testing::TestWithParam<CompleteCase> {};

TEST_P(CompleteChecksumTest, LeavesAChecksumThatVerifies) {
  const IpFrameSpec& spec = GetParam().spec;
  const Bytes original = MakeIpFrame(spec);
  const VnetHeader header = test::PartialChecksumHeader(spec);
  ASSERT_FALSE(TransportChecksumValid(original)) << "the partial sum must not verify already";
  Bytes frame = original;
  ASSERT_TRUE(CompleteChecksum(frame, header));
  EXPECT_TRUE(TransportChecksumValid(frame));
  EXPECT_TRUE(IpHeaderValid(frame));
  // Only the two bytes of the checksum field changed.
  const size_t field = header.csum_start + header.csum_offset;
  for (size_t i = 0; i < frame.size(); ++i) {
    if (i == field || i == field + 1) continue;
    ASSERT_EQ(frame[i], original[i]) << "byte " << i << " changed";
  }
}

IpFrameSpec Spec(bool ipv6, bool udp, size_t payload, std::optional<uint16_t> tci = std::nullopt) {
  IpFrameSpec spec;
  spec.ipv6 = ipv6;
  spec.udp = udp;
  spec.payload_size = payload;
  spec.vlan_tci = tci;
  return spec;
}

INSTANTIATE_TEST_SUITE_P(
    Frames, CompleteChecksumTest,
    ::testing::Values(CompleteCase{"TcpIpv4", Spec(false, false, 1000)},
                      CompleteCase{"TcpIpv4OddPayload", Spec(false, false, 999)},
                      CompleteCase{"TcpIpv4NoPayload", Spec(false, false, 0)},
                      CompleteCase{"TcpIpv6", Spec(true, false, 1440)},
                      CompleteCase{"UdpIpv4", Spec(false, true, 512)},
                      CompleteCase{"UdpIpv4OddPayload", Spec(false, true, 33)},
                      CompleteCase{"UdpIpv6", Spec(true, true, 1232)},
                      CompleteCase{"TcpIpv4PriorityTagged", Spec(false, false, 700, 0x0000)},
                      CompleteCase{"UdpIpv4Tagged", Spec(false, true, 100, 0x2005)}),
    [](const ::testing::TestParamInfo<CompleteCase>& info) { return info.param.name; });

TEST(CompleteChecksumEdgeTest, ReplacesWhateverTheFieldHeldWithAVerifyingChecksum) {
  // The kernel's partial sum is the starting point; a frame whose field holds it completes to the
  // same checksum as an independent computation over the pseudo-header.
  const IpFrameSpec spec = Spec(false, false, 1448);
  Bytes frame = MakeIpFrame(spec);
  const VnetHeader header = test::PartialChecksumHeader(spec);
  ASSERT_TRUE(CompleteChecksum(frame, header));
  const size_t field = header.csum_start + header.csum_offset;
  const uint16_t completed = Get16(frame, field);
  // Independently: zero the field and put the pseudo-header sum in it via the verifier's sums.
  Bytes zeroed = frame;
  Put16(zeroed, field, 0);
  const IpLayout layout = ParseIpLayout(zeroed);
  uint64_t pseudo = FoldedSum(std::span(zeroed).subspan(layout.l3 + 12, 8));
  pseudo += 6 + (zeroed.size() - layout.l4);
  const uint16_t expected =
      static_cast<uint16_t>(~FoldedSum(std::span(zeroed).subspan(layout.l4), pseudo));
  EXPECT_EQ(completed, expected == 0 ? 0xffff : expected);
}

TEST(CompleteChecksumEdgeTest, RefusesOffsetsOutsideTheFrameAndLeavesItUntouched) {
  const IpFrameSpec spec = Spec(false, true, 20);
  const Bytes original = MakeIpFrame(spec);
  const uint16_t size = static_cast<uint16_t>(original.size());
  struct Bad {
    uint16_t start;
    uint16_t offset;
  };
  for (const Bad bad :
       {Bad{static_cast<uint16_t>(size + 1), 0}, Bad{size, 0},
        Bad{static_cast<uint16_t>(size - 1), 0}, Bad{static_cast<uint16_t>(size - 2), 1},
        Bad{34, static_cast<uint16_t>(size - 34 - 1)}, Bad{0xffff, 0xffff}, Bad{34, 0xffff},
        Bad{0xffff, 6}}) {
    VnetHeader header = test::PartialChecksumHeader(spec);
    header.csum_start = bad.start;
    header.csum_offset = bad.offset;
    Bytes frame = original;
    EXPECT_FALSE(CompleteChecksum(frame, header)) << "csum_start " << bad.start << " csum_offset "
                                                  << bad.offset << " in " << size << " bytes";
    EXPECT_EQ(frame, original) << "csum_start " << bad.start << " csum_offset " << bad.offset;
  }
  // The field in the last two bytes fits.
  VnetHeader header = test::PartialChecksumHeader(spec);
  header.csum_offset = static_cast<uint16_t>(size - header.csum_start - 2);
  Bytes frame = original;
  EXPECT_TRUE(CompleteChecksum(frame, header));
}

TEST(CompleteChecksumEdgeTest, RefusesAnEmptyFrame) {
  Bytes empty;
  EXPECT_FALSE(CompleteChecksum(empty, VnetHeader{.flags = VnetHeader::kNeedsChecksum}));
}

// --- SegmentGso -----------------------------------------------------------------------------

// Runs SegmentGso and keeps copies of what it emits.
struct Segmented {
  size_t returned = 0;
  std::vector<Bytes> segments;
};

Segmented Segment(const Bytes& frame, const VnetHeader& header,
                  size_t scratch_size = kMaxFrameSize) {
  Segmented out;
  std::vector<std::byte> scratch(scratch_size);
  auto emit = [&](std::span<const std::byte> segment) {
    out.segments.emplace_back(segment.begin(), segment.end());
  };
  out.returned = SegmentGso(frame, header, scratch, emit);
  return out;
}

// Checks what every correct segmentation of `spec`'s frame into `mss` chunks must satisfy.
void CheckSegments(const IpFrameSpec& spec, const Bytes& frame, const Segmented& result,
                   size_t mss) {
  EXPECT_EQ(result.returned, result.segments.size());
  test::ExpectSegmentsOf(spec, frame, mss, result.segments);
}

TEST(SegmentGsoTest, CutsTcpIpv4IntoMssSegments) {
  IpFrameSpec spec;
  spec.payload_size = 10000;
  spec.tcp_flags = test::kTcpAck | test::kTcpPsh | test::kTcpFin | test::kTcpCwr | test::kTcpEce;
  const Bytes frame = MakeIpFrame(spec);
  const Segmented result =
      Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4 | VnetHeader::kGsoEcn, 1448));
  ASSERT_EQ(result.returned, 7u);  // 6 x 1448 + 1312
  CheckSegments(spec, frame, result, 1448);
  EXPECT_EQ(result.segments.back().size(), 14u + 20 + 20 + 1312);
}

TEST(SegmentGsoTest, CutsTcpIpv4WithoutEcnFlag) {
  IpFrameSpec spec;
  spec.payload_size = 4000;
  spec.tcp_flags = test::kTcpAck | test::kTcpPsh;
  const Bytes frame = MakeIpFrame(spec);
  CheckSegments(spec, frame, Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448)),
                1448);
}

TEST(SegmentGsoTest, CopiesIpAndTcpOptions) {
  IpFrameSpec spec;
  spec.payload_size = 5000;
  spec.ip_options = 8;
  spec.tcp_options = 12;  // the size of the timestamp option with its NOPs
  const Bytes frame = MakeIpFrame(spec);
  CheckSegments(spec, frame, Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1436)),
                1436);
}

TEST(SegmentGsoTest, CutsTcpIpv6) {
  IpFrameSpec spec;
  spec.ipv6 = true;
  spec.payload_size = 10000;
  spec.tcp_flags = test::kTcpAck | test::kTcpPsh | test::kTcpFin;
  const Bytes frame = MakeIpFrame(spec);
  const Segmented result = Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv6, 1428));
  EXPECT_EQ(result.returned, 8u);
  CheckSegments(spec, frame, result, 1428);
}

TEST(SegmentGsoTest, CutsUdpIpv4PerDatagram) {
  IpFrameSpec spec;
  spec.udp = true;
  spec.payload_size = 6000;
  const Bytes frame = MakeIpFrame(spec);
  const Segmented result = Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoUdpL4, 1400));
  EXPECT_EQ(result.returned, 5u);
  CheckSegments(spec, frame, result, 1400);
}

TEST(SegmentGsoTest, CutsUdpIpv6PerDatagram) {
  IpFrameSpec spec;
  spec.ipv6 = true;
  spec.udp = true;
  spec.payload_size = 3001;
  const Bytes frame = MakeIpFrame(spec);
  CheckSegments(spec, frame, Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoUdpL4, 1000)),
                1000);
}

TEST(SegmentGsoTest, HandlesOddMssAndOddPayload) {
  IpFrameSpec spec;
  spec.payload_size = 3333;
  const Bytes frame = MakeIpFrame(spec);
  CheckSegments(spec, frame, Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1001)),
                1001);
}

TEST(SegmentGsoTest, CutsAnExactMultipleOfMssWithoutAnEmptyTail) {
  IpFrameSpec spec;
  spec.payload_size = 2 * 1448;
  const Bytes frame = MakeIpFrame(spec);
  const Segmented result = Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448));
  EXPECT_EQ(result.returned, 2u);
  CheckSegments(spec, frame, result, 1448);
}

TEST(SegmentGsoTest, CutsTheLargestFrame) {
  IpFrameSpec spec;
  spec.payload_size = 65535 - 20 - 20;  // an IPv4 packet of 64 KiB
  spec.vlan_tci = 0x0000;
  const Bytes frame = MakeIpFrame(spec);
  ASSERT_EQ(frame.size(), kMaxFrameSize);
  const Segmented result = Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448));
  EXPECT_EQ(result.returned, 46u);
  CheckSegments(spec, frame, result, 1448);
}

TEST(SegmentGsoTest, WrapsSequenceNumbersAndIpIds) {
  IpFrameSpec spec;
  spec.payload_size = 5000;
  spec.seq = 0xfffffa00;
  spec.ip_id = 0xfffe;
  const Bytes frame = MakeIpFrame(spec);
  CheckSegments(spec, frame, Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448)),
                1448);
}

TEST(SegmentGsoTest, PayloadSmallerThanMssIsOneSegmentWithItsChecksumCompleted) {
  IpFrameSpec spec;
  spec.payload_size = 500;
  spec.tcp_flags = test::kTcpAck | test::kTcpPsh | test::kTcpFin | test::kTcpCwr;
  const Bytes frame = MakeIpFrame(spec);
  const VnetHeader header = test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448);
  const Segmented result = Segment(frame, header);
  CheckSegments(spec, frame, result, 1448);
  ASSERT_EQ(result.segments.size(), 1u);
  Bytes completed = frame;
  ASSERT_TRUE(CompleteChecksum(completed, header));
  EXPECT_EQ(result.segments[0], completed) << "one segment is the frame with its checksum done";
}

TEST(SegmentGsoTest, ZeroPayloadIsOneHeaderOnlySegment) {
  IpFrameSpec spec;
  spec.payload_size = 0;
  spec.tcp_flags = test::kTcpAck | test::kTcpFin;
  const Bytes frame = MakeIpFrame(spec);
  const Segmented result = Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1448));
  CheckSegments(spec, frame, result, 1448);
  ASSERT_EQ(result.segments.size(), 1u);
  EXPECT_EQ(result.segments[0].size(), frame.size());
}

TEST(SegmentGsoTest, KeepsAn8021QTag) {
  for (bool ipv6 : {false, true}) {
    SCOPED_TRACE(ipv6 ? "IPv6" : "IPv4");
    IpFrameSpec spec;
    spec.ipv6 = ipv6;
    spec.vlan_tci = 0x6005;  // PCP 3, VID 5
    spec.payload_size = 4000;
    const Bytes frame = MakeIpFrame(spec);
    const Segmented result = Segment(
        frame, test::GsoHeader(spec, ipv6 ? VnetHeader::kGsoTcpv6 : VnetHeader::kGsoTcpv4, 1448));
    CheckSegments(spec, frame, result, 1448);
    for (const Bytes& s : result.segments) {
      EXPECT_EQ(Get16(s, 12), kEtherTypeVlan);
      EXPECT_EQ(Get16(s, 14), 0x6005);
    }
  }
}

TEST(SegmentGsoTest, ReusesScratchOfExactlyOneSegment) {
  IpFrameSpec spec;
  spec.payload_size = 3000;
  const Bytes frame = MakeIpFrame(spec);
  const Segmented result =
      Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1000), 14 + 20 + 20 + 1000);
  CheckSegments(spec, frame, result, 1000);
}

TEST(SegmentGsoTest, RefusesScratchTooSmallForOneSegment) {
  IpFrameSpec spec;
  spec.payload_size = 3000;
  const Bytes frame = MakeIpFrame(spec);
  const Segmented result =
      Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1000), 14 + 20 + 20 + 999);
  EXPECT_EQ(result.returned, 0u);
  EXPECT_TRUE(result.segments.empty());
  EXPECT_EQ(Segment(frame, test::GsoHeader(spec, VnetHeader::kGsoTcpv4, 1000), 0).returned, 0u);
}

// A malformed or unsupported GSO frame: SegmentGso returns 0 and emits nothing.
struct MalformedCase {
  std::string name;
  Bytes frame;
  VnetHeader header;
};
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

std::vector<MalformedCase> MalformedCases() {
  std::vector<MalformedCase> cases;
  IpFrameSpec tcp4;
  tcp4.payload_size = 4000;
  IpFrameSpec tcp6 = tcp4;
  tcp6.ipv6 = true;
  IpFrameSpec udp4 = tcp4;
  udp4.udp = true;
  const Bytes good4 = MakeIpFrame(tcp4);
  const VnetHeader gso4 = test::GsoHeader(tcp4, VnetHeader::kGsoTcpv4, 1448);

  cases.push_back({"TruncatedIpv4Header", test::Truncated(good4, 14 + 10), gso4});
  cases.push_back({"TruncatedEthernetHeader", test::Truncated(good4, 10), gso4});
  cases.push_back({"TruncatedTcpHeader", test::Truncated(good4, 14 + 20 + 10), gso4});
  cases.push_back({"TruncatedIpv6Header", test::Truncated(MakeIpFrame(tcp6), 14 + 30),
                   test::GsoHeader(tcp6, VnetHeader::kGsoTcpv6, 1428)});
  {
    Bytes f = good4;
    f[14 + 20 + 12] = std::byte{0x40};  // doff 4
    cases.push_back({"TcpDataOffsetBelowFive", f, gso4});
  }
  {
    Bytes f = good4;
    f[14 + 20 + 12] = std::byte{0x00};  // doff 0
    cases.push_back({"TcpDataOffsetZero", f, gso4});
  }
  {
    // doff 15 (60 bytes of header) in a frame that ends after 40.
    Bytes f = test::Truncated(good4, 14 + 20 + 40);
    f[14 + 20 + 12] = std::byte{0xf0};
    cases.push_back({"TcpDataOffsetPastTheEnd", f, gso4});
  }
  {
    Bytes f = good4;
    f[14] = std::byte{0x44};  // IHL 4
    cases.push_back({"Ipv4HeaderLengthBelowFive", f, gso4});
  }
  {
    Bytes f = good4;
    f[14] = std::byte{0x65};  // version 6 in an IPv4 ethertype
    cases.push_back({"WrongIpVersion", f, gso4});
  }
  {
    Bytes f = good4;
    f[14 + 9] = std::byte{1};  // ICMP
    cases.push_back({"NeitherTcpNorUdp", f, gso4});
  }
  {
    Bytes f = MakeIpFrame(tcp6);
    f[14 + 6] = std::byte{0};  // a hop-by-hop extension header
    cases.push_back({"Ipv6ExtensionHeader", f, test::GsoHeader(tcp6, VnetHeader::kGsoTcpv6, 1428)});
  }
  {
    Bytes f = good4;
    f[12] = std::byte{0x08};
    f[13] = std::byte{0x06};  // ARP
    cases.push_back({"NotIp", f, gso4});
  }
  cases.push_back({"GsoSizeZero", good4, test::GsoHeader(tcp4, VnetHeader::kGsoTcpv4, 0)});
  cases.push_back({"Tcpv6TypeOnIpv4", good4, test::GsoHeader(tcp4, VnetHeader::kGsoTcpv6, 1448)});
  cases.push_back(
      {"Tcpv4TypeOnIpv6", MakeIpFrame(tcp6), test::GsoHeader(tcp6, VnetHeader::kGsoTcpv4, 1428)});
  cases.push_back({"UdpL4TypeOnTcp", good4, test::GsoHeader(tcp4, VnetHeader::kGsoUdpL4, 1448)});
  cases.push_back(
      {"TcpTypeOnUdp", MakeIpFrame(udp4), test::GsoHeader(udp4, VnetHeader::kGsoTcpv4, 1448)});
  cases.push_back(
      {"UfoType3", MakeIpFrame(udp4), test::GsoHeader(udp4, VnetHeader::kGsoUdp, 1448)});
  cases.push_back({"UnknownType", good4, test::GsoHeader(tcp4, 2, 1448)});
  cases.push_back({"TypeNone", good4, test::GsoHeader(tcp4, VnetHeader::kGsoNone, 1448)});
  cases.push_back({"EcnBitAlone", good4, test::GsoHeader(tcp4, VnetHeader::kGsoEcn, 1448)});
  return cases;
}

class SegmentGsoMalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(SegmentGsoMalformedTest, ReturnsZeroAndEmitsNothing) {
  const Segmented result = Segment(GetParam().frame, GetParam().header);
  EXPECT_EQ(result.returned, 0u);
  EXPECT_TRUE(result.segments.empty()) << result.segments.size() << " segments emitted";
}

INSTANTIATE_TEST_SUITE_P(Frames, SegmentGsoMalformedTest, ::testing::ValuesIn(MalformedCases()),
                         [](const ::testing::TestParamInfo<MalformedCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace switchd
