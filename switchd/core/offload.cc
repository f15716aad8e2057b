#include "switchd/core/offload.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "switchd/core/frame.h"

namespace switchd {
namespace {

constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;

uint16_t Load16(std::span<const std::byte> b, size_t at) {
  return static_cast<uint16_t>((std::to_integer<unsigned>(b[at]) << 8) |
                               std::to_integer<unsigned>(b[at + 1]));
}
uint32_t Load32(std::span<const std::byte> b, size_t at) {
  return (uint32_t{Load16(b, at)} << 16) | Load16(b, at + 2);
}
void Store16(std::span<std::byte> b, size_t at, uint16_t v) {
  b[at] = std::byte(v >> 8);
  b[at + 1] = std::byte(v & 0xff);
}
void Store32(std::span<std::byte> b, size_t at, uint32_t v) {
  Store16(b, at, static_cast<uint16_t>(v >> 16));
  Store16(b, at + 2, static_cast<uint16_t>(v & 0xffff));
}

// Where a frame's IP and transport headers are, as far as segmentation needs to know.
struct Layout {
  size_t l3 = 0;         // IP header
  size_t ip_header = 0;  // its length (IPv4 IHL; 40 for IPv6)
  size_t l4 = 0;         // TCP or UDP header
  size_t l4_header = 0;  // its length
  bool ipv4 = false;
  uint8_t protocol = 0;
  size_t headers_end() const { return l4 + l4_header; }
};

std::optional<Layout> ParseLayout(std::span<const std::byte> frame) {
  std::optional<EthernetFrame> eth = ParseEthernet(frame);
  if (!eth) return std::nullopt;
  Layout layout;
  layout.l3 = eth->header_size;
  if (eth->ethertype == kEtherTypeIpv4) {
    if (frame.size() < layout.l3 + 20) return std::nullopt;
    const unsigned version_ihl = std::to_integer<unsigned>(frame[layout.l3]);
    layout.ip_header = (version_ihl & 0x0f) * 4;
    if ((version_ihl >> 4) != 4 || layout.ip_header < 20) return std::nullopt;
    layout.ipv4 = true;
    layout.protocol = std::to_integer<uint8_t>(frame[layout.l3 + 9]);
  } else if (eth->ethertype == kEtherTypeIpv6) {
    if (frame.size() < layout.l3 + 40) return std::nullopt;
    if ((std::to_integer<unsigned>(frame[layout.l3]) >> 4) != 6) return std::nullopt;
    layout.ip_header = 40;
    layout.protocol = std::to_integer<uint8_t>(frame[layout.l3 + 6]);  // no extension headers
  } else {
    return std::nullopt;
  }
  layout.l4 = layout.l3 + layout.ip_header;
  if (layout.protocol == kProtoTcp) {
    if (frame.size() < layout.l4 + 20) return std::nullopt;
    layout.l4_header = (std::to_integer<unsigned>(frame[layout.l4 + 12]) >> 4) * 4;
    if (layout.l4_header < 20) return std::nullopt;
  } else if (layout.protocol == kProtoUdp) {
    layout.l4_header = 8;
  } else {
    return std::nullopt;
  }
  if (frame.size() < layout.headers_end()) return std::nullopt;
  return layout;
}

// The transport checksum of `segment` (whose headers follow `layout`), pseudo-header included.
uint16_t TransportChecksum(std::span<const std::byte> segment, const Layout& layout) {
  const size_t l4_length = segment.size() - layout.l4;
  uint32_t sum = layout.ipv4 ? ChecksumAdd(segment.subspan(layout.l3 + 12, 8))
                             : ChecksumAdd(segment.subspan(layout.l3 + 8, 32));
  sum += layout.protocol;
  sum += static_cast<uint32_t>(l4_length >> 16) + static_cast<uint32_t>(l4_length & 0xffff);
  uint16_t checksum = ChecksumFinish(ChecksumAdd(segment.subspan(layout.l4), sum));
  // A UDP checksum that computes to 0 is sent as 0xffff (0 means "none"); same value for TCP.
  return checksum == 0 ? 0xffff : checksum;
}

}  // namespace

VnetHeader ReadVnetHeader(std::span<const std::byte> bytes) {
  VnetHeader h;
  h.flags = std::to_integer<uint8_t>(bytes[0]);
  h.gso_type = std::to_integer<uint8_t>(bytes[1]);
  std::memcpy(&h.hdr_len, bytes.data() + 2, 2);
  std::memcpy(&h.gso_size, bytes.data() + 4, 2);
  std::memcpy(&h.csum_start, bytes.data() + 6, 2);
  std::memcpy(&h.csum_offset, bytes.data() + 8, 2);
  return h;
}

void WriteVnetHeader(const VnetHeader& h, std::span<std::byte> out) {
  out[0] = std::byte(h.flags);
  out[1] = std::byte(h.gso_type);
  std::memcpy(out.data() + 2, &h.hdr_len, 2);
  std::memcpy(out.data() + 4, &h.gso_size, 2);
  std::memcpy(out.data() + 6, &h.csum_start, 2);
  std::memcpy(out.data() + 8, &h.csum_offset, 2);
}

uint32_t ChecksumAdd(std::span<const std::byte> bytes, uint32_t sum) {
  uint64_t total = sum;
  const size_t even = bytes.size() & ~size_t{1};
  for (size_t i = 0; i < even; i += 2) total += Load16(bytes, i);
  if (even != bytes.size()) total += std::to_integer<uint32_t>(bytes[even]) << 8;
  while (total >> 32) total = (total & 0xffffffff) + (total >> 32);
  return static_cast<uint32_t>(total);
}

uint16_t ChecksumFinish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

bool CompleteChecksum(std::span<std::byte> frame, const VnetHeader& header) {
  const size_t start = header.csum_start;
  const size_t field = start + header.csum_offset;
  if (start > frame.size() || field + 2 > frame.size()) return false;
  uint16_t checksum = ChecksumFinish(ChecksumAdd(frame.subspan(start)));
  Store16(frame, field, checksum == 0 ? 0xffff : checksum);
  return true;
}

size_t SegmentGso(std::span<const std::byte> frame, const VnetHeader& header,
                  std::span<std::byte> scratch,
                  FunctionRef<void(std::span<const std::byte>)> emit) {
  std::optional<Layout> layout = ParseLayout(frame);
  if (!layout || header.gso_size == 0) return 0;
  const uint8_t kind = header.gso_kind();
  const bool tcp = layout->protocol == kProtoTcp;
  if ((kind == VnetHeader::kGsoTcpv4 && !(tcp && layout->ipv4)) ||
      (kind == VnetHeader::kGsoTcpv6 && !(tcp && !layout->ipv4)) ||
      (kind == VnetHeader::kGsoUdpL4 && tcp) ||
      (kind != VnetHeader::kGsoTcpv4 && kind != VnetHeader::kGsoTcpv6 &&
       kind != VnetHeader::kGsoUdpL4)) {
    return 0;
  }
  const size_t headers = layout->headers_end();
  const size_t payload = frame.size() - headers;
  const size_t mss = header.gso_size;
  if (scratch.size() < headers + std::min(mss, payload)) return 0;

  const size_t count = payload == 0 ? 1 : (payload + mss - 1) / mss;
  const uint32_t first_seq = tcp ? Load32(frame, layout->l4 + 4) : 0;
  const uint16_t first_id = layout->ipv4 ? Load16(frame, layout->l3 + 4) : 0;
  const size_t l3 = layout->l3;
  const size_t l4 = layout->l4;
  for (size_t i = 0; i < count; ++i) {
    const size_t offset = i * mss;
    const size_t length = std::min(mss, payload - offset);
    std::span<std::byte> segment = scratch.first(headers + length);
    std::copy_n(frame.begin(), headers, segment.begin());
    std::copy_n(frame.begin() + static_cast<ptrdiff_t>(headers + offset), length,
                segment.begin() + static_cast<ptrdiff_t>(headers));
    if (layout->ipv4) {
      Store16(segment, l3 + 2, static_cast<uint16_t>(segment.size() - l3));
      Store16(segment, l3 + 4, static_cast<uint16_t>(first_id + i));
      Store16(segment, l3 + 10, 0);
      Store16(segment, l3 + 10,
              ChecksumFinish(ChecksumAdd(segment.subspan(l3, layout->ip_header))));
    } else {
      Store16(segment, l3 + 4, static_cast<uint16_t>(segment.size() - l4));
    }
    size_t checksum_field;
    if (tcp) {
      Store32(segment, l4 + 4, first_seq + static_cast<uint32_t>(offset));
      uint8_t flags = std::to_integer<uint8_t>(segment[l4 + 13]);
      if (i + 1 != count) flags &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
      if (i != 0) flags &= static_cast<uint8_t>(~kTcpCwr);
      segment[l4 + 13] = std::byte(flags);
      checksum_field = l4 + 16;
    } else {
      Store16(segment, l4 + 4, static_cast<uint16_t>(segment.size() - l4));
      checksum_field = l4 + 6;
    }
    Store16(segment, checksum_field, 0);
    Store16(segment, checksum_field, TransportChecksum(segment, *layout));
    emit(segment);
  }
  return count;
}

}  // namespace switchd
