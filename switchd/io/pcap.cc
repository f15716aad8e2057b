#include "switchd/io/pcap.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace switchd {
namespace {

struct FileHeader {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  int32_t thiszone;
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t linktype;
};

struct RecordHeader {
  uint32_t seconds;
  uint32_t nanoseconds;
  uint32_t captured_length;
  uint32_t original_length;
};

static_assert(sizeof(FileHeader) == 24 && sizeof(RecordHeader) == 16);

}  // namespace

PcapWriter::PcapWriter(UniqueFd fd) : fd_(std::move(fd)) { buffer_.reserve(kBufferSize); }

Result<PcapWriter> PcapWriter::Create(UniqueFd fd) {
  PcapWriter writer(std::move(fd));
  // Written in the host's byte order, which the magic number tells readers.
  const FileHeader header{kMagicNanoseconds, 2, 4, 0, 0, kSnapLength, kLinkTypeEthernet};
  writer.Append(&header, sizeof header);
  if (Status flushed = writer.Flush(); !flushed.ok()) return flushed;
  return writer;
}

void PcapWriter::Append(const void* data, size_t size) {
  const auto* bytes = static_cast<const std::byte*>(data);
  buffer_.insert(buffer_.end(), bytes, bytes + size);
}

bool PcapWriter::Write(const timespec& time, std::span<const std::byte> frame) {
  if (error_ != 0) return false;
  const size_t captured = std::min<size_t>(frame.size(), kSnapLength);
  if (buffer_.size() + sizeof(RecordHeader) + captured > kBufferSize && !Flush().ok()) {
    return false;
  }
  const RecordHeader record{static_cast<uint32_t>(time.tv_sec), static_cast<uint32_t>(time.tv_nsec),
                            static_cast<uint32_t>(captured), static_cast<uint32_t>(frame.size())};
  Append(&record, sizeof record);
  Append(frame.data(), captured);  // a frame larger than the buffer makes it grow, once
  ++records_;
  bytes_ += frame.size();
  return true;
}

Status PcapWriter::Flush() {
  if (error_ != 0) return Status::System(strerror(error_));
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_.get(), buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? errno : ENOSPC;
      return Status::System(strerror(error_));
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Status::Ok();
}

}  // namespace switchd
