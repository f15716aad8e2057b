// Offloaded frames for tests: TCP and UDP over IPv4 and IPv6 as a namespace's stack hands them to
// a TAP with IFF_VNET_HDR (a GSO frame of many MSS, or a frame whose transport checksum is still
// to be completed), and checks of the frames the switch makes from them.
//
// The checks do not use switchd/core/offload.h: they sum and parse on their own, so that a bug in
// the code under test cannot hide itself by being on both sides of a comparison.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "switchd/core/offload.h"
#include "switchd/core/types.h"
#include "tests/helpers/frames.h"

namespace switchd::test {

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

struct IpFrameSpec {
  MacAddress dst = Mac(0xb);
  MacAddress src = Mac(0xa);
  std::optional<uint16_t> vlan_tci;
  bool ipv6 = false;
  bool udp = false;         // UDP instead of TCP
  size_t payload_size = 0;  // transport payload bytes (a pattern, see PayloadByte)
  size_t ip_options = 0;    // IPv4 option bytes (a multiple of 4; NOPs)
  size_t tcp_options = 0;   // TCP option bytes (a multiple of 4; NOPs)
  uint8_t tcp_flags = kTcpAck | kTcpPsh;
  uint32_t seq = 0x01020304;
  uint16_t ip_id = 0x1234;
};

// Byte `i` of every test payload: not periodic in any MSS, so a misplaced chunk shows.
uint8_t PayloadByte(size_t i);

// An Ethernet (optionally 802.1Q-tagged) IPv4 or IPv6 frame with a TCP or UDP header and
// `payload_size` pattern bytes, as the kernel hands a CHECKSUM_PARTIAL frame over: IP lengths
// cover the whole frame, the IPv4 header checksum is valid, and the transport checksum field
// holds the folded, not inverted, pseudo-header sum.
Bytes MakeIpFrame(const IpFrameSpec& spec);

// The virtio-net header for a frame from MakeIpFrame with NEEDS_CSUM and the checksum offsets.
VnetHeader PartialChecksumHeader(const IpFrameSpec& spec);
// The same plus GSO of `gso_type` with `gso_size` (and hdr_len).
VnetHeader GsoHeader(const IpFrameSpec& spec, uint8_t gso_type, uint16_t gso_size);

// Where the headers of an Ethernet/IP/TCP-or-UDP frame are (own parser; one 802.1Q tag).
struct IpLayout {
  bool ok = false;
  std::string error;
  size_t l3 = 0;
  bool ipv6 = false;
  size_t ip_header = 0;
  uint8_t protocol = 0;
  size_t l4 = 0;
  size_t l4_header = 0;
  size_t payload() const { return l4 + l4_header; }
};
IpLayout ParseIpLayout(std::span<const std::byte> frame);

// Big-endian loads and stores.
uint16_t Get16(std::span<const std::byte> b, size_t at);
uint32_t Get32(std::span<const std::byte> b, size_t at);
void Put16(std::span<std::byte> b, size_t at, uint16_t v);

// Ones' complement sum of 16-bit big-endian words (an odd last byte padded with zero), folded to
// 16 bits and not inverted.
uint16_t FoldedSum(std::span<const std::byte> bytes, uint64_t sum = 0);

// Success when the IPv4 header checksum of `frame` verifies (sums to 0xffff), its total length
// matches the frame, and (IPv6) the payload length matches the frame.
::testing::AssertionResult IpHeaderValid(std::span<const std::byte> frame);
// Success when the TCP or UDP checksum of `frame` verifies: pseudo-header plus segment sums to
// 0xffff (and a UDP checksum is not 0, which would mean "none"), and the UDP length matches.
::testing::AssertionResult TransportChecksumValid(std::span<const std::byte> frame);

// Checks what every correct segmentation of `spec`'s frame `frame` (from MakeIpFrame) into `mss`
// payload bytes per segment must satisfy: the number and sizes of `segments`; the Ethernet header
// (and tag) as it was; IP and transport fields kept (TTL, flags, options, ports, ack, window) or
// rewritten as they must be (IP lengths and ids, TCP sequence numbers and flags, UDP lengths);
// valid checksums; and payloads adding up to the original's. Reports failures with gtest
// assertions.
void ExpectSegmentsOf(const IpFrameSpec& spec, std::span<const std::byte> frame, size_t mss,
                      const std::vector<Bytes>& segments);

}  // namespace switchd::test
