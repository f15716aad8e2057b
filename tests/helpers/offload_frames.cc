#include "tests/helpers/offload_frames.h"

#include <algorithm>
#include <array>

namespace switchd::test {

namespace {

constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr std::array<uint8_t, 4> kIpv4Src = {198, 18, 0, 10};
constexpr std::array<uint8_t, 4> kIpv4Dst = {198, 18, 0, 11};
// 2001:2::a and 2001:2::b (the IPv6 benchmarking prefix, RFC 5180).
constexpr std::array<uint8_t, 16> kIpv6Src = {0x20, 0x01, 0, 2, 0, 0, 0, 0,
                                              0,    0,    0, 0, 0, 0, 0, 0xa};
constexpr std::array<uint8_t, 16> kIpv6Dst = {0x20, 0x01, 0, 2, 0, 0, 0, 0,
                                              0,    0,    0, 0, 0, 0, 0, 0xb};

void Append16(Bytes& out, uint16_t v) {
  out.push_back(std::byte(v >> 8));
  out.push_back(std::byte(v & 0xff));
}
void Append32(Bytes& out, uint32_t v) {
  Append16(out, static_cast<uint16_t>(v >> 16));
  Append16(out, static_cast<uint16_t>(v & 0xffff));
}
template <size_t N>
void AppendBytes(Bytes& out, const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) out.push_back(std::byte(b));
}

uint64_t RawSum(std::span<const std::byte> bytes, uint64_t sum) {
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += Get16(bytes, i);
  if (bytes.size() % 2 != 0) sum += std::to_integer<uint64_t>(bytes.back()) << 8;
  return sum;
}

uint16_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The pseudo-header sum (not folded) for a transport segment of `l4_length` bytes.
uint64_t PseudoHeaderSum(std::span<const std::byte> frame, const IpLayout& layout,
                         size_t l4_length) {
  uint64_t sum = 0;
  if (layout.ipv6) {
    sum = RawSum(frame.subspan(layout.l3 + 8, 32), 0);
    sum += (l4_length >> 16) + (l4_length & 0xffff);
  } else {
    sum = RawSum(frame.subspan(layout.l3 + 12, 8), 0);
    sum += l4_length;
  }
  return sum + layout.protocol;
}

size_t HeaderSizes(const IpFrameSpec& spec, size_t* l4_offset) {
  const size_t l3 = 14 + (spec.vlan_tci ? 4 : 0);
  const size_t ip = spec.ipv6 ? 40 : 20 + spec.ip_options;
  *l4_offset = l3 + ip;
  return *l4_offset + (spec.udp ? 8 : 20 + spec.tcp_options);
}

}  // namespace

uint8_t PayloadByte(size_t i) {
  // A cheap hash of the position.
  uint32_t x = static_cast<uint32_t>(i) * 2654435761u;
  x ^= x >> 15;
  return static_cast<uint8_t>(x ^ (x >> 8));
}

Bytes MakeIpFrame(const IpFrameSpec& spec) {
  const size_t l4_header = spec.udp ? 8 : 20 + spec.tcp_options;
  const size_t l4_length = l4_header + spec.payload_size;
  Bytes ip;
  if (spec.ipv6) {
    Append32(ip, 0x60000000);
    Append16(ip, static_cast<uint16_t>(l4_length));
    ip.push_back(std::byte(spec.udp ? kProtoUdp : kProtoTcp));
    ip.push_back(std::byte{64});
    AppendBytes(ip, kIpv6Src);
    AppendBytes(ip, kIpv6Dst);
  } else {
    const size_t header = 20 + spec.ip_options;
    ip.push_back(std::byte(0x40 | (header / 4)));
    ip.push_back(std::byte{0});
    Append16(ip, static_cast<uint16_t>(header + l4_length));
    Append16(ip, spec.ip_id);
    Append16(ip, 0x4000);  // don't fragment
    ip.push_back(std::byte{64});
    ip.push_back(std::byte(spec.udp ? kProtoUdp : kProtoTcp));
    Append16(ip, 0);
    AppendBytes(ip, kIpv4Src);
    AppendBytes(ip, kIpv4Dst);
    for (size_t i = 0; i < spec.ip_options; ++i) ip.push_back(std::byte{1});  // NOP
    Put16(ip, 10, static_cast<uint16_t>(~FoldedSum(std::span(ip).first(header))));
  }
  Append16(ip, 40000);
  Append16(ip, 5201);
  if (spec.udp) {
    Append16(ip, static_cast<uint16_t>(l4_length));
    Append16(ip, 0);
  } else {
    Append32(ip, spec.seq);
    Append32(ip, 0x0a0b0c0d);
    ip.push_back(std::byte(((20 + spec.tcp_options) / 4) << 4));
    ip.push_back(std::byte(spec.tcp_flags));
    Append16(ip, 0xffff);                                                      // window
    Append16(ip, 0);                                                           // checksum
    Append16(ip, 0);                                                           // urgent pointer
    for (size_t i = 0; i < spec.tcp_options; ++i) ip.push_back(std::byte{1});  // NOP
  }
  for (size_t i = 0; i < spec.payload_size; ++i) ip.push_back(std::byte(PayloadByte(i)));
  Bytes frame = MakeEthernet(spec.dst, spec.src, spec.ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4, ip,
                             spec.vlan_tci);
  const IpLayout layout = ParseIpLayout(frame);
  if (!layout.ok) {
    ADD_FAILURE() << "MakeIpFrame built a frame its own parser rejects: " << layout.error;
    return frame;
  }
  // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, not inverted.
  const size_t field = layout.l4 + (spec.udp ? 6 : 16);
  Put16(frame, field, Fold(PseudoHeaderSum(frame, layout, l4_length)));
  return frame;
}

VnetHeader PartialChecksumHeader(const IpFrameSpec& spec) {
  size_t l4 = 0;
  const size_t headers = HeaderSizes(spec, &l4);
  VnetHeader h;
  h.flags = VnetHeader::kNeedsChecksum;
  h.hdr_len = static_cast<uint16_t>(headers);
  h.csum_start = static_cast<uint16_t>(l4);
  h.csum_offset = spec.udp ? 6 : 16;
  return h;
}

VnetHeader GsoHeader(const IpFrameSpec& spec, uint8_t gso_type, uint16_t gso_size) {
  VnetHeader h = PartialChecksumHeader(spec);
  h.gso_type = gso_type;
  h.gso_size = gso_size;
  return h;
}

IpLayout ParseIpLayout(std::span<const std::byte> frame) {
  IpLayout layout;
  if (frame.size() < 14) {
    layout.error = "runt";
    return layout;
  }
  size_t at = 12;
  uint16_t ethertype = Get16(frame, at);
  if (ethertype == kEtherTypeVlan) {
    if (frame.size() < 18) {
      layout.error = "cut tag";
      return layout;
    }
    at += 4;
    ethertype = Get16(frame, at);
  }
  layout.l3 = at + 2;
  if (ethertype == kEtherTypeIpv4) {
    if (frame.size() < layout.l3 + 20) {
      layout.error = "short IPv4 header";
      return layout;
    }
    layout.ip_header = (std::to_integer<size_t>(frame[layout.l3]) & 0xf) * 4;
    layout.protocol = std::to_integer<uint8_t>(frame[layout.l3 + 9]);
  } else if (ethertype == kEtherTypeIpv6) {
    if (frame.size() < layout.l3 + 40) {
      layout.error = "short IPv6 header";
      return layout;
    }
    layout.ipv6 = true;
    layout.ip_header = 40;
    layout.protocol = std::to_integer<uint8_t>(frame[layout.l3 + 6]);
  } else {
    layout.error = "not IP";
    return layout;
  }
  layout.l4 = layout.l3 + layout.ip_header;
  if (layout.protocol == kProtoTcp) {
    if (frame.size() < layout.l4 + 20) {
      layout.error = "short TCP header";
      return layout;
    }
    layout.l4_header = (std::to_integer<size_t>(frame[layout.l4 + 12]) >> 4) * 4;
  } else if (layout.protocol == kProtoUdp) {
    layout.l4_header = 8;
  } else {
    layout.error = "not TCP or UDP";
    return layout;
  }
  if (frame.size() < layout.payload()) {
    layout.error = "short transport header";
    return layout;
  }
  layout.ok = true;
  return layout;
}

uint16_t Get16(std::span<const std::byte> b, size_t at) {
  return static_cast<uint16_t>(std::to_integer<unsigned>(b[at]) << 8 |
                               std::to_integer<unsigned>(b[at + 1]));
}

uint32_t Get32(std::span<const std::byte> b, size_t at) {
  return uint32_t{Get16(b, at)} << 16 | Get16(b, at + 2);
}

void Put16(std::span<std::byte> b, size_t at, uint16_t v) {
  b[at] = std::byte(v >> 8);
  b[at + 1] = std::byte(v & 0xff);
}

uint16_t FoldedSum(std::span<const std::byte> bytes, uint64_t sum) {
  return Fold(RawSum(bytes, sum));
}

::testing::AssertionResult IpHeaderValid(std::span<const std::byte> frame) {
  const IpLayout layout = ParseIpLayout(frame);
  if (!layout.ok) return ::testing::AssertionFailure() << "unparsable frame: " << layout.error;
  if (layout.ipv6) {
    const size_t length = Get16(frame, layout.l3 + 4);
    if (length != frame.size() - layout.l4) {
      return ::testing::AssertionFailure() << "IPv6 payload length " << length << ", but "
                                           << frame.size() - layout.l4 << " bytes follow";
    }
    return ::testing::AssertionSuccess();
  }
  const size_t length = Get16(frame, layout.l3 + 2);
  if (length != frame.size() - layout.l3) {
    return ::testing::AssertionFailure()
           << "IPv4 total length " << length << ", but the packet has " << frame.size() - layout.l3
           << " bytes";
  }
  const uint16_t sum = FoldedSum(frame.subspan(layout.l3, layout.ip_header));
  if (sum != 0xffff) {
    return ::testing::AssertionFailure()
           << "IPv4 header checksum " << std::hex << Get16(frame, layout.l3 + 10)
           << " does not verify (sum " << sum << ")";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult TransportChecksumValid(std::span<const std::byte> frame) {
  const IpLayout layout = ParseIpLayout(frame);
  if (!layout.ok) return ::testing::AssertionFailure() << "unparsable frame: " << layout.error;
  const size_t l4_length = frame.size() - layout.l4;
  const bool udp = layout.protocol == kProtoUdp;
  const uint16_t field = Get16(frame, layout.l4 + (udp ? 6 : 16));
  if (udp) {
    if (Get16(frame, layout.l4 + 4) != l4_length) {
      return ::testing::AssertionFailure() << "UDP length " << Get16(frame, layout.l4 + 4)
                                           << ", but the datagram has " << l4_length << " bytes";
    }
    if (field == 0) return ::testing::AssertionFailure() << "UDP checksum 0 (none)";
  }
  const uint16_t sum =
      FoldedSum(frame.subspan(layout.l4), PseudoHeaderSum(frame, layout, l4_length));
  if (sum != 0xffff) {
    return ::testing::AssertionFailure()
           << (udp ? "UDP" : "TCP") << " checksum " << std::hex << field
           << " does not verify (pseudo-header + segment sum to " << sum << ", expected ffff)";
  }
  return ::testing::AssertionSuccess();
}

void ExpectSegmentsOf(const IpFrameSpec& spec, std::span<const std::byte> frame, size_t mss,
                      const std::vector<Bytes>& segments) {
  const IpLayout in = ParseIpLayout(frame);
  ASSERT_TRUE(in.ok) << in.error;
  const size_t headers = in.payload();
  const size_t payload = spec.payload_size;
  const size_t expected_count = payload == 0 ? 1 : (payload + mss - 1) / mss;
  ASSERT_EQ(segments.size(), expected_count);
  Bytes joined;
  for (size_t i = 0; i < segments.size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i) + " of " + std::to_string(expected_count));
    const Bytes& s = segments[i];
    const IpLayout out = ParseIpLayout(s);
    ASSERT_TRUE(out.ok) << out.error;
    ASSERT_EQ(out.payload(), headers);
    const size_t length = std::min(mss, payload - i * mss);
    ASSERT_EQ(s.size(), headers + length);
    // Ethernet header (and tag) as they were.
    EXPECT_TRUE(
        std::equal(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(in.l3), s.begin()));
    EXPECT_TRUE(IpHeaderValid(s));
    EXPECT_TRUE(TransportChecksumValid(s));
    if (!spec.ipv6) {
      EXPECT_EQ(Get16(s, in.l3 + 4), static_cast<uint16_t>(spec.ip_id + i)) << "IPv4 id";
      EXPECT_EQ(Get16(s, in.l3 + 6), Get16(frame, in.l3 + 6)) << "IPv4 flags and fragment offset";
      EXPECT_EQ(s[in.l3 + 8], frame[in.l3 + 8]) << "TTL";
      // IPv4 options are copied.
      EXPECT_TRUE(std::equal(frame.begin() + static_cast<ptrdiff_t>(in.l3 + 20),
                             frame.begin() + static_cast<ptrdiff_t>(in.l4),
                             s.begin() + static_cast<ptrdiff_t>(in.l3 + 20)));
    } else {
      EXPECT_EQ(Get32(s, in.l3), Get32(frame, in.l3)) << "version, class, flow label";
    }
    if (spec.udp) {
      EXPECT_EQ(Get16(s, in.l4 + 4), 8 + length) << "UDP length";
      EXPECT_EQ(Get32(s, in.l4), Get32(frame, in.l4)) << "ports";
    } else {
      EXPECT_EQ(Get32(s, in.l4 + 4), static_cast<uint32_t>(spec.seq + i * mss)) << "sequence";
      EXPECT_EQ(Get32(s, in.l4 + 8), Get32(frame, in.l4 + 8)) << "acknowledgement";
      const uint8_t flags = std::to_integer<uint8_t>(s[in.l4 + 13]);
      const bool first = i == 0;
      const bool last = i + 1 == expected_count;
      const uint8_t kept = spec.tcp_flags & ~(kTcpFin | kTcpPsh | kTcpCwr);
      uint8_t expected_flags = kept;
      if (last) expected_flags |= spec.tcp_flags & (kTcpFin | kTcpPsh);
      if (first) expected_flags |= spec.tcp_flags & kTcpCwr;
      EXPECT_EQ(flags, expected_flags) << std::hex << "TCP flags " << unsigned{flags}
                                       << ", expected " << unsigned{expected_flags};
      EXPECT_EQ(Get16(s, in.l4 + 14), Get16(frame, in.l4 + 14)) << "window";
      // TCP options are copied.
      EXPECT_TRUE(std::equal(frame.begin() + static_cast<ptrdiff_t>(in.l4 + 20),
                             frame.begin() + static_cast<ptrdiff_t>(headers),
                             s.begin() + static_cast<ptrdiff_t>(in.l4 + 20)));
    }
    joined.insert(joined.end(), s.begin() + static_cast<ptrdiff_t>(headers), s.end());
  }
  const Bytes original_payload(frame.begin() + static_cast<ptrdiff_t>(headers), frame.end());
  EXPECT_TRUE(joined == original_payload) << "the segments' payloads do not add up to the original";
}

}  // namespace switchd::test
