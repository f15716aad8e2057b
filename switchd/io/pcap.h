// PcapWriter: frames to a pcap file (the classic libpcap format, nanosecond timestamps, Ethernet
// link type) that tcpdump -r, tshark and Wireshark read.
//
// Records go into a buffer flushed with one write() when it fills (and on Flush/Close), so the
// loop pays a memcpy per frame and a write per 256 KiB. Frames are recorded whole (the snapshot
// length is 262144, above the largest GSO frame): what the port carried, offloaded frames
// included, as tcpdump on the interface would show them.
#pragma once

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "switchd/core/status.h"
#include "switchd/io/unique_fd.h"

namespace switchd {

class PcapWriter {
 public:
  static constexpr uint32_t kMagicNanoseconds = 0xa1b23c4d;
  static constexpr uint32_t kSnapLength = 262144;
  static constexpr uint32_t kLinkTypeEthernet = 1;
  static constexpr size_t kBufferSize = 256 * 1024;

  // Takes `fd` (open for writing, empty) and writes the file header.
  static Result<PcapWriter> Create(UniqueFd fd);

  // Adds one record. False once a write has failed (the file is then left as it is).
  bool Write(const timespec& time, std::span<const std::byte> frame);
  // Writes what is buffered. An error names the cause ("No space left on device").
  Status Flush();
  uint64_t records() const { return records_; }
  uint64_t bytes() const { return bytes_; }

 private:
  explicit PcapWriter(UniqueFd fd);
  void Append(const void* data, size_t size);

  UniqueFd fd_;
  std::vector<std::byte> buffer_;
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
  int error_ = 0;  // errno of the first failed write
};

}  // namespace switchd
