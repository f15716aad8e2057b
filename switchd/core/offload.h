// Offloads: the virtio-net header that TAPs opened with IFF_VNET_HDR put before each frame, and
// what the switch does for a port that cannot take an offloaded frame.
//
// With offloads on, a namespace's stack hands the switch whole 64 KiB TCP segments (GSO) whose
// checksums are still to be computed (NEEDS_CSUM). The switch forwards them whole, header and all,
// to ports that accept offloads, and to any other port completes the checksum (CompleteChecksum)
// or cuts the frame into MSS-sized frames with finished checksums (SegmentGso), as the kernel's
// software GSO would. Pure functions: no allocation; the caller provides the scratch buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "switchd/core/function_ref.h"

namespace switchd {

// struct virtio_net_hdr (linux/virtio_net.h), in host byte order as TAPs use by default.
struct VnetHeader {
  static constexpr uint8_t kNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr uint8_t kDataValid = 2;      // VIRTIO_NET_HDR_F_DATA_VALID
  static constexpr uint8_t kGsoNone = 0;
  static constexpr uint8_t kGsoTcpv4 = 1;
  static constexpr uint8_t kGsoUdp = 3;  // UFO: IP fragmentation; never enabled by the switch
  static constexpr uint8_t kGsoTcpv6 = 4;
  static constexpr uint8_t kGsoUdpL4 = 5;  // USO
  static constexpr uint8_t kGsoEcn = 0x80;

  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;      // bytes of headers before the payload (a hint)
  uint16_t gso_size = 0;     // payload bytes per segment (the MSS)
  uint16_t csum_start = 0;   // where checksumming starts, from the frame's first byte
  uint16_t csum_offset = 0;  // where the checksum goes, from csum_start

  uint8_t gso_kind() const { return gso_type & static_cast<uint8_t>(~kGsoEcn); }
  bool IsGso() const { return gso_kind() != kGsoNone; }
  bool NeedsChecksum() const { return (flags & kNeedsChecksum) != 0; }
  // Nothing for a port without offloads to do: a complete frame with a valid checksum.
  bool IsPlain() const { return !IsGso() && !NeedsChecksum(); }
};

inline constexpr size_t kVnetHeaderSize = 10;  // sizeof(struct virtio_net_hdr)
// The largest frame a TAP hands over: an IP packet of 64 KiB behind an Ethernet header and a tag.
inline constexpr size_t kMaxFrameSize = 65535 + 14 + 4;

// Reads a header from the first kVnetHeaderSize bytes of `bytes` (which must hold them).
VnetHeader ReadVnetHeader(std::span<const std::byte> bytes);
// Writes `header` into the first kVnetHeaderSize bytes of `out`.
void WriteVnetHeader(const VnetHeader& header, std::span<std::byte> out);

// The 16-bit ones' complement sum of `bytes` added to `sum` (not folded, not inverted).
uint32_t ChecksumAdd(std::span<const std::byte> bytes, uint32_t sum = 0);
// Folds a 32-bit sum to 16 bits and inverts it: the value stored in a checksum field.
uint16_t ChecksumFinish(uint32_t sum);

// Completes the partial checksum of `frame` in place: sums from csum_start to the end (the field
// holds the pseudo-header sum, as the kernel leaves it) and stores the result at csum_start +
// csum_offset. Returns false, leaving `frame` unchanged, when the offsets do not fit the frame.
bool CompleteChecksum(std::span<std::byte> frame, const VnetHeader& header);

// Cuts a GSO frame (TCP over IPv4 or IPv6, or USO UDP) into frames carrying at most gso_size
// payload bytes each, with correct IP lengths, TCP sequence numbers and flags, and complete IP,
// TCP and UDP checksums; calls `emit` with each, built in `scratch` (at least kMaxFrameSize
// bytes; reused between segments). Returns the number of frames emitted, or 0 when the frame
// cannot be segmented (headers malformed, unsupported type, or gso_size 0), having emitted none.
size_t SegmentGso(std::span<const std::byte> frame, const VnetHeader& header,
                  std::span<std::byte> scratch, FunctionRef<void(std::span<const std::byte>)> emit);

}  // namespace switchd
