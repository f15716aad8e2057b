// libFuzzer target: the frame parsers and the software offloads on arbitrary bytes.
//
// The input is what a TAP opened with IFF_VNET_HDR hands over: a 10-byte virtio-net header, then
// the frame (an input shorter than the header is a frame with an all-zero header). Each input goes
// through ParseEthernet, ParseArp (of the payload and of the raw bytes), the ARP builders (parsed
// back), SegmentGso and CompleteChecksum, checking what their comments promise: parsers stay
// inside the span, builders round-trip, segments carry the frame's payload in order in pieces of
// at most gso_size bytes, and CompleteChecksum touches the checksum field only.
// The low bit of hdr_len (only a hint to SegmentGso) picks a scratch buffer that is just big
// enough or half that, so both the "does not fit" path and overruns are seen by ASan.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "fuzz/check.h"
#include "switchd/core/frame.h"
#include "switchd/core/offload.h"
#include "switchd/core/types.h"

namespace switchd {
namespace {

uint16_t Load16(std::span<const std::byte> b, size_t at) {
  return static_cast<uint16_t>(std::to_integer<unsigned>(b[at]) << 8 |
                               std::to_integer<unsigned>(b[at + 1]));
}

bool SameArp(const ArpPacket& a, const ArpPacket& b) {
  return a.op == b.op && a.sender_mac == b.sender_mac && a.sender_ip == b.sender_ip &&
         a.target_mac == b.target_mac && a.target_ip == b.target_ip;
}

void CheckEthernet(std::span<const std::byte> frame) {
  const std::optional<EthernetFrame> eth = ParseEthernet(frame);
  if (frame.size() < kEthernetHeaderSize) {
    FUZZ_CHECK(!eth, "a runt parsed");
    return;
  }
  const bool tagged = Load16(frame, 12) == kEtherTypeVlan;
  if (tagged && frame.size() < kEthernetHeaderSize + kVlanTagSize) {
    FUZZ_CHECK(!eth, "a cut 802.1Q tag parsed");
    return;
  }
  FUZZ_CHECK(eth, "a whole Ethernet header did not parse");
  FUZZ_CHECK(eth->vlan_tci.has_value() == tagged, "802.1Q tag mismatch");
  FUZZ_CHECK(eth->header_size == (tagged ? 18u : 14u), "wrong header size");
  FUZZ_CHECK(eth->payload.data() == frame.data() + eth->header_size, "payload not after header");
  FUZZ_CHECK(eth->payload.size() == frame.size() - eth->header_size, "payload size");
  FUZZ_CHECK(eth->ethertype == Load16(frame, eth->header_size - 2), "ethertype");
  FUZZ_CHECK(eth->dst == MacAddress::FromBytes(frame.first(6)), "destination MAC");
  FUZZ_CHECK(MacAddress::Parse(eth->src.ToString()) == eth->src, "MAC text round trip");

  std::optional<ArpPacket> arp = ParseArp(eth->payload);
  if (!arp) return;
  // What was parsed builds back into a frame that parses to the same fields.
  std::array<std::byte, kMaxArpFrameSize> out{};
  const size_t size = BuildArp(out, eth->dst, eth->src, eth->vlan_tci, *arp);
  FUZZ_CHECK(size == kEthernetHeaderSize + (tagged ? kVlanTagSize : 0) + kArpPayloadSize,
             "BuildArp size");
  const std::optional<EthernetFrame> built = ParseEthernet(std::span(out).first(size));
  FUZZ_CHECK(built && built->ethertype == kEtherTypeArp && built->vlan_tci == eth->vlan_tci,
             "built ARP frame header");
  const std::optional<ArpPacket> reparsed = ParseArp(built->payload);
  FUZZ_CHECK(reparsed && SameArp(*reparsed, *arp), "ARP round trip");

  const size_t reply_size = BuildArpReply(out, *arp, eth->dst, std::nullopt);
  FUZZ_CHECK(reply_size == kEthernetHeaderSize + kArpPayloadSize, "BuildArpReply size");
  const std::optional<EthernetFrame> reply_eth = ParseEthernet(std::span(out).first(reply_size));
  FUZZ_CHECK(reply_eth && reply_eth->dst == arp->sender_mac && reply_eth->src == eth->dst,
             "ARP reply addresses");
  const std::optional<ArpPacket> reply = ParseArp(reply_eth->payload);
  FUZZ_CHECK(reply && reply->op == ArpOp::kReply && reply->sender_ip == arp->target_ip &&
                 reply->target_mac == arp->sender_mac && reply->target_ip == arp->sender_ip,
             "ARP reply fields");

  // Too small a buffer: nothing written.
  std::array<std::byte, kMaxArpFrameSize> small{};
  FUZZ_CHECK(
      BuildArp(std::span(small).first(size - 1), eth->dst, eth->src, eth->vlan_tci, *arp) == 0 &&
          std::all_of(small.begin(), small.end(), [](std::byte b) { return b == std::byte{0}; }),
      "BuildArp wrote into too small a buffer");
}

void CheckSegments(std::span<const std::byte> frame, const VnetHeader& header) {
  // Exactly sized heap buffers, so that ASan sees a write past the end.
  const size_t scratch_size = (header.hdr_len & 1) ? frame.size() / 2 : frame.size();
  std::vector<std::byte> scratch(scratch_size);
  std::vector<std::vector<std::byte>> segments;
  const size_t count = SegmentGso(frame, header, scratch, [&](std::span<const std::byte> segment) {
    FUZZ_CHECK(segment.data() == scratch.data(), "segment not built in scratch");
    segments.emplace_back(segment.begin(), segment.end());
  });
  FUZZ_CHECK(count == segments.size(), "SegmentGso count differs from frames emitted");
  if (count == 0) return;
  FUZZ_CHECK(header.gso_size != 0, "segmented with gso_size 0");
  if (count == 1) {
    FUZZ_CHECK(segments[0].size() == frame.size(), "a single segment is not the whole frame");
    return;
  }
  // Each segment is the same headers (h bytes) followed by the next piece of the payload.
  size_t total = 0;
  for (const auto& s : segments) total += s.size();
  FUZZ_CHECK(total > frame.size() && (total - frame.size()) % (count - 1) == 0,
             "segment sizes do not add up to one header per segment");
  const size_t h = (total - frame.size()) / (count - 1);
  FUZZ_CHECK(h >= kEthernetHeaderSize && h < frame.size(), "segment header size");
  size_t offset = h;
  for (size_t i = 0; i < count; ++i) {
    const std::vector<std::byte>& s = segments[i];
    FUZZ_CHECK(s.size() > h || (s.size() == h && frame.size() == h), "empty segment");
    const size_t piece = s.size() - h;
    FUZZ_CHECK(piece <= header.gso_size, "segment over gso_size");
    FUZZ_CHECK(i + 1 == count || piece == header.gso_size, "short segment before the last");
    FUZZ_CHECK(std::equal(s.begin(), s.begin() + 12, frame.begin()), "segment MACs");
    FUZZ_CHECK(std::memcmp(s.data() + h, frame.data() + offset, piece) == 0,
               "segment payload is not the frame's");
    offset += piece;
    const std::optional<EthernetFrame> eth = ParseEthernet(s);
    FUZZ_CHECK(eth, "segment does not parse");
    if (eth->ethertype == kEtherTypeIpv4) {
      const size_t ihl = (std::to_integer<size_t>(s[eth->header_size]) & 0x0f) * 4;
      const auto ip = std::span<const std::byte>(s).subspan(eth->header_size, ihl);
      FUZZ_CHECK(ChecksumFinish(ChecksumAdd(ip)) == 0, "segment IPv4 header checksum");
      FUZZ_CHECK(Load16(s, eth->header_size + 2) == s.size() - eth->header_size,
                 "segment IPv4 total length");
    }
  }
  FUZZ_CHECK(offset == frame.size(), "segments do not carry the whole payload");
}

void CheckCompleteChecksum(std::span<const std::byte> frame, const VnetHeader& header) {
  std::vector<std::byte> copy(frame.begin(), frame.end());
  const bool done = CompleteChecksum(copy, header);
  const size_t field = size_t{header.csum_start} + header.csum_offset;
  FUZZ_CHECK(done == (header.csum_start <= frame.size() && field + 2 <= frame.size()),
             "CompleteChecksum accepted offsets outside the frame, or refused good ones");
  for (size_t i = 0; i < copy.size(); ++i) {
    if (done && (i == field || i == field + 1)) continue;
    FUZZ_CHECK(copy[i] == frame[i], "CompleteChecksum changed a byte outside the field");
  }
}

}  // namespace
}  // namespace switchd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchd;
  const auto bytes = std::as_bytes(std::span(data, size));
  VnetHeader header;
  std::span<const std::byte> rest = bytes;
  if (bytes.size() >= kVnetHeaderSize) {
    header = ReadVnetHeader(bytes);
    std::array<std::byte, kVnetHeaderSize> written{};
    WriteVnetHeader(header, written);
    FUZZ_CHECK(std::equal(written.begin(), written.end(), bytes.begin()), "vnet header round trip");
    rest = bytes.subspan(kVnetHeaderSize);
  }
  // The frame in a buffer of its own size: reads past its end are ASan errors, not fuzzer data.
  const std::vector<std::byte> frame(rest.begin(), rest.end());

  CheckEthernet(frame);
  const std::optional<ArpPacket> raw_arp = ParseArp(frame);
  FUZZ_CHECK(!raw_arp || frame.size() >= kArpPayloadSize, "ARP parsed from a short payload");
  // A TAP never hands over more than kMaxFrameSize bytes; the offloads may assume it.
  if (frame.size() <= kMaxFrameSize) {
    CheckSegments(frame, header);
    CheckCompleteChecksum(frame, header);
  }
  return 0;
}
